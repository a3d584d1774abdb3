/* named_ipc.c - names and deadlines for lessons with named IPC objects. */
#define _POSIX_C_SOURCE 200809L

#include "named_ipc.h"
#include "kit.h"

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

