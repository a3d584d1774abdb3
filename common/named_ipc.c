/* named_ipc.c - names, deadlines and stop-signal cleanup for lessons with named IPC objects. */
#define _POSIX_C_SOURCE 200809L

#include "named_ipc.h"
#include "kit.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void ipc_unique_name(const char *prefix, char *buf, size_t size)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(buf, size, "/%s-%ld-%06ld", prefix, (long)getpid(), now.tv_nsec / 1000);
}

void ipc_check_name(const char *what, const char *text, char *buf, size_t size)
{
    static const char allowed[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-";
    const char *bare = text[0] == '/' ? text + 1 : text;
    size_t n = strlen(bare);
    if (n == 0 || n > 251 || strspn(bare, allowed) != n || !strcmp(bare, ".") || !strcmp(bare, ".."))
        usage_error("%s '%s': a name is 1 to 251 letters, digits, '.', '_' or '-' after an optional '/' "
                    "(not . or ..)", what, text);
    snprintf(buf, size, "/%s", bare);
}

struct timespec realtime_after(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    long ns = t.tv_nsec + (long)((seconds - (double)(long)seconds) * 1e9);
    t.tv_sec += (time_t)seconds + ns / 1000000000L;
    t.tv_nsec = ns % 1000000000L;
    return t;
}

static void (*before_stop)(void);
static struct sigaction kit_int, kit_term; /* the kit's handlers, run after FN */

static void on_stop_signal(int sig)
{
    int saved = errno;
    if (before_stop)
        before_stop();
    errno = saved;
    const struct sigaction *next = sig == SIGINT ? &kit_int : &kit_term;
    if (next->sa_handler != SIG_DFL && next->sa_handler != SIG_IGN) {
        next->sa_handler(sig); /* the kit's: stops the children, dies of SIG */
        return;
    }
    signal(sig, SIG_DFL); /* no kit handler (kit_start not called): die of SIG */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, sig);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    raise(sig);
}

void kit_on_stop_signal(void (*fn)(void))
{
    before_stop = fn;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT); /* while one runs, the other waits */
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaction(SIGINT, &sa, &kit_int);
    sigaction(SIGTERM, &sa, &kit_term);
}
