/* kit.c - the kit's helper module; see kit.h for what each call does. */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* One line is at most this long; longer text is cut, never split. */
enum { LINE_MAX_BYTES = 1024 };

static const char *program_name = "kit";

void kit_init(const char *argv0)
{
    const char *slash = strrchr(argv0, '/');
    program_name = slash ? slash + 1 : argv0;
}

/* Write all LEN bytes of BUF to FD, going on after a partial write or
 * EINTR. A line of this size goes out in one write(2) in practice. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere left to report it */
        }
        buf += n;
        len -= (size_t)n;
    }
}

/* Build "PREFIX<formatted text>SUFFIX\n" in one buffer and write it once.
 * The text is cut if need be, never the suffix (an errno text, say). With
 * ONE_LINE, a newline or other control character in the text (from a bad
 * argument, for example) is shown as '?', so a message stays one line. */
static void emit(int fd, const char *prefix, const char *suffix, int one_line,
                 const char *fmt, va_list ap)
{
    char line[LINE_MAX_BYTES];
    size_t room = sizeof line - 1 - strlen(suffix); /* keep room for suffix and '\n' */
    int len = snprintf(line, room, "%s", prefix);
    if (len < 0)
        return;
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
    write_all(fd, line, used);
}

void say(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    emit(STDOUT_FILENO, "", "", 0, fmt, ap);
    va_end(ap);
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
    emit(STDOUT_FILENO, stamp, "", 0, fmt, ap);
    va_end(ap);
}

/* "prog: " for messages on stderr. */
static void name_prefix(char *buf, size_t size)
{
    snprintf(buf, size, "%s: ", program_name);
}

void warn_msg(const char *fmt, ...)
{
    char prefix[128];
    name_prefix(prefix, sizeof prefix);
    va_list ap;
    va_start(ap, fmt);
    emit(STDERR_FILENO, prefix, "", 1, fmt, ap);
    va_end(ap);
}

static void (*die_cleanup)(void);

void on_die(void (*cleanup)(void))
{
    die_cleanup = cleanup;
}

void die_errno(const char *fmt, ...)
{
    int saved = errno;
    if (die_cleanup) {
        block_stop_signals(); /* the Ctrl-C handler cleans up the same things */
        die_cleanup();
    }
    char prefix[128], suffix[128];
    name_prefix(prefix, sizeof prefix);
    snprintf(suffix, sizeof suffix, ": %s", strerror(saved));
    va_list ap;
    va_start(ap, fmt);
    emit(STDERR_FILENO, prefix, suffix, 1, fmt, ap);
    va_end(ap);
    /* _exit, not exit: safe in a child too, where exit() would run the
     * parent's atexit handlers and flush its stdio buffers a second time. */
    _exit(EXIT_FAILURE);
}

void usage_error(const char *fmt, ...)
{
    char prefix[128];
    name_prefix(prefix, sizeof prefix);
    va_list ap;
    va_start(ap, fmt);
    emit(STDERR_FILENO, prefix, " (try --help)", 1, fmt, ap);
    va_end(ap);
    exit(2);
}

int is_help_flag(const char *arg)
{
    return strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0;
}

const char *flag_value(int argc, char **argv, int *i, const char *flag)
{
    const char *arg = argv[*i];
    size_t len = strlen(flag);
    if (strncmp(arg, flag, len) != 0)
        return NULL;
    if (arg[len] == '=')
        return arg + len + 1;
    if (arg[len] != '\0')
        return NULL; /* "--sleepy" is not "--sleep" */
    if (*i + 1 >= argc)
        usage_error("%s needs a value", flag);
    *i += 1;
    return argv[*i];
}

/* "42" or "-42": an optional minus, then digits only. No space, no '+',
 * no hex, nothing trailing. */
static int is_integer(const char *s)
{
    if (*s == '-')
        s++;
    if (*s == '\0')
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

/* "2", "0.25", ".5": digits with at most one '.'. No sign, exponent,
 * "inf" or "nan", which strtod() alone would take. */
static int is_decimal(const char *s)
{
    int digits = 0, dots = 0;
    for (; *s; s++) {
        if (*s >= '0' && *s <= '9')
            digits++;
        else if (*s == '.' && dots == 0)
            dots++;
        else
            return 0;
    }
    return digits > 0;
}

long parse_long(const char *flag, const char *text, long min, long max)
{
    if (!is_integer(text))
        usage_error("%s: '%s' is not a whole number (allowed: %ld to %ld)",
                    flag, text, min, max);
    errno = 0;
    long value = strtol(text, NULL, 10);
    if (errno == ERANGE || value < min || value > max)
        usage_error("%s: %s is out of range (allowed: %ld to %ld)",
                    flag, text, min, max);
    return value;
}

double parse_seconds(const char *flag, const char *text, double min, double max)
{
    if (!is_decimal(text))
        usage_error("%s: '%s' is not a number of seconds (allowed: %g to %g)",
                    flag, text, min, max);
    double value = strtod(text, NULL);
    if (value < min || value > max)
        usage_error("%s: %s is out of range (allowed: %g to %g seconds)",
                    flag, text, min, max);
    return value;
}

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

static void stop_signal_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

void catch_stop_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = handler;
    /* While the handler runs, the other stop signal waits its turn. */
    stop_signal_set(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    /* Also when SIGINT was ignored at start (a background job of a script):
     * the kit's programs clean up on every SIGINT they get, by design. */
    sigaction(SIGINT, &sa, NULL);
}

void block_stop_signals(void)
{
    sigset_t set;
    stop_signal_set(&set);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

void unblock_stop_signals(void)
{
    sigset_t set;
    stop_signal_set(&set);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
}

void child_default_signals(void)
{
    die_cleanup = NULL;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    unblock_stop_signals();
}

void die_of_signal(int sig)
{
    signal(sig, SIG_DFL);
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
    _exit(128 + sig); /* not reached: the default action ends the process */
}
