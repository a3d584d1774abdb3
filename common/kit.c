/* kit.c - whole-line output, error exits, clocks, /proc readers, tables.
 * See kit.h for what each call promises. */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include "kit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* One line is at most this long; longer text is cut, never split. */
enum { LINE_MAX_BYTES = 1024 };

const char *kit_program_name = "kit";

/* Write all LEN bytes to FD, going on after a partial write or EINTR.
 * Returns 0, or the errno of the write that failed. */
static int write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errno;
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

/* Build "PREFIX<text>SUFFIX\n" in one buffer and write it once. The text
 * is cut if need be, never the suffix (an errno text, say). With ONE_LINE
 * a control character in the text (from a bad argument) is shown as '?',
 * so that a message stays one line. Returns what write_all returns. */
static int emit(int fd, const char *prefix, const char *suffix, int one_line,
                const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t room = sizeof line - 1 - strlen(suffix); /* room for suffix and '\n' */
    int len = snprintf(line, room, "%s", prefix);
    if (len < 0)
        return 0;
    size_t used = (size_t)len < room ? (size_t)len : room - 1;

    len = vsnprintf(line + used, room - used, fmt, ap);
    size_t text = len < 0 ? 0 : (size_t)len < room - used ? (size_t)len : room - used - 1;
    for (size_t k = used; one_line && k < used + text; k++)
        if ((unsigned char)line[k] < ' ' && line[k] != '\t')
            line[k] = '?';
    used += text;

    memcpy(line + used, suffix, strlen(suffix));
    used += strlen(suffix);
    line[used++] = '\n';
    return write_all(fd, line, used);
}

/* "prog: " for messages on stderr. */
static void name_prefix(char *buf, size_t size)
{
    snprintf(buf, size, "%s: ", kit_program_name);
}

static void stderr_line(const char *suffix, const char *fmt, va_list ap)
{
    char prefix[128];
    name_prefix(prefix, sizeof prefix);
    emit(STDERR_FILENO, prefix, suffix, 1, fmt, ap);
}

void warn_msg(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stderr_line("", fmt, ap);
    va_end(ap);
}

/* stdout failed with error ERR. A closed pipe ends the run as quietly as
 * it ends `cat`; anything else is worth a line on stderr. Either way the
 * children are stopped first (in the process that registered them). */
static noreturn void stdout_failed(int err)
{
    kit_stop_children();
    if (err == EPIPE)
        kit_die_of_signal(SIGPIPE);
    char prefix[128];
    name_prefix(prefix, sizeof prefix);
    const char *text = strerror(err);
    write_all(STDERR_FILENO, prefix, strlen(prefix));
    write_all(STDERR_FILENO, "cannot write to stdout: ", 24);
    write_all(STDERR_FILENO, text, strlen(text));
    write_all(STDERR_FILENO, "\n", 1);
    kit_exit_now(EXIT_FAILURE);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int err = emit(STDOUT_FILENO, "", "", 0, fmt, ap);
    va_end(ap);
    if (err)
        stdout_failed(err);
}

void log_info(const char *fmt, ...)
{
    char stamp[16] = "??:??:??: ";
    time_t now = time(NULL);
    struct tm local;
    if (localtime_r(&now, &local))
        strftime(stamp, sizeof stamp, "%H:%M:%S: ", &local);

    va_list ap;
    va_start(ap, fmt);
    int err = emit(STDOUT_FILENO, stamp, "", 0, fmt, ap);
    va_end(ap);
    if (err)
        stdout_failed(err);
}

void die_errno(const char *fmt, ...)
{
    int saved = errno;
    kit_stop_children();
    char suffix[128];
    snprintf(suffix, sizeof suffix, ": %s", strerror(saved));
    va_list ap;
    va_start(ap, fmt);
    stderr_line(suffix, fmt, ap);
    va_end(ap);
    kit_exit_now(EXIT_FAILURE);
}

void die_msg(const char *fmt, ...)
{
    kit_stop_children();
    va_list ap;
    va_start(ap, fmt);
    stderr_line("", fmt, ap);
    va_end(ap);
    kit_exit_now(EXIT_FAILURE);
}

void usage_error(const char *fmt, ...)
{
    kit_stop_children();
    va_list ap;
    va_start(ap, fmt);
    stderr_line(" (try --help)", fmt, ap);
    va_end(ap);
    kit_exit_now(2);
}

/* _exit, not exit: safe in a child too, where exit() would run the
 * parent's atexit handlers and flush its stdio buffers a second time. */
void kit_exit_now(int status)
{
    kit_timeline_abandon();
    _exit(status);
}

void kit_die_of_signal(int sig)
{
    kit_timeline_abandon();
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action ends the process */
}

/* ---- Time ---------------------------------------------------------------- */

double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void sleep_seconds(double seconds)
{
    if (!(seconds > 0))
        return;
    struct timespec left;
    left.tv_sec = (time_t)seconds;
    left.tv_nsec = (long)((seconds - (double)left.tv_sec) * 1e9);
    if (left.tv_nsec >= 1000000000L)
        left.tv_nsec = 999999999L;
    /* nanosleep() stores the time still to sleep when a signal cuts it short. */
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        continue;
}

double cpu_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- /proc ----------------------------------------------------------------- */

/* Read a small /proc file into BUF ("" if it cannot be read). */
static void read_small_file(const char *path, char *buf, size_t size)
{
    buf[0] = '\0';
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t n = read(fd, buf, size - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

long proc_status_field(pid_t pid, const char *field)
{
    char path[64], buf[4096];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/status");
    else
        snprintf(path, sizeof path, "/proc/%ld/status", (long)pid);
    read_small_file(path, buf, sizeof buf);
    size_t len = strlen(field);
    for (char *line = buf; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            return strtol(line + len + 1, NULL, 10);
    return -1;
}

char proc_state(pid_t pid)
{
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    read_small_file(path, buf, sizeof buf);
    /* "pid (command name) S ...": the name may hold ')', so find the last. */
    char *close_paren = strrchr(buf, ')');
    return close_paren && close_paren[1] == ' ' && close_paren[2] ? close_paren[2] : '?';
}

/* ---- Tables ------------------------------------------------------------------ */

const char *bar(double fraction, int width, char *buf, size_t size)
{
    if (width < 0 || (size_t)width >= size)
        width = (int)size - 1;
    if (!(fraction > 0))
        fraction = 0;
    if (fraction > 1)
        fraction = 1;
    int filled = (int)(fraction * width + 0.5);
    for (int k = 0; k < width; k++)
        buf[k] = k < filled ? '#' : '.';
    buf[width] = '\0';
    return buf;
}

static int compare_doubles(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double median(double *values, int n)
{
    if (n <= 0)
        return 0;
    qsort(values, (size_t)n, sizeof *values, compare_doubles);
    return n % 2 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}
