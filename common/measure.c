/* measure.c - the claims table, and the smaps_rollup reader (see measure.h). */
#define _POSIX_C_SOURCE 200809L

#include "measure.h"
#include "kit.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

bool claim_set(struct claim *row, bool held, const char *verdict, const char *measured, ...)
{
    va_list args;
    va_start(args, measured);
    vsnprintf(row->measured, sizeof row->measured, measured, args);
    va_end(args);
    snprintf(row->verdict, sizeof row->verdict, "%s", held ? verdict : "FALSE");
    return held;
}

void claims_print(const struct claim *rows, int n)
{
    enum { CLAIM = 46, MEASURED = 76, VERDICT = 16 };
    static const char dashes[] = "------------------------------------------------------------"
                                 "------------------------------------------------------------";
    say("\n== the seed's claims, measured on this machine ==");
    say("| # | %-*s | %-*s | %-*s |", CLAIM, "claim (seed)", MEASURED, "measured here", VERDICT,
        "verdict");
    say("|---|-%.*s-|-%.*s-|-%.*s-|", CLAIM, dashes, MEASURED, dashes, VERDICT, dashes);
    for (int i = 0; i < n; i++)
        say("| %d | %-*s | %-*s | %-*s |", i + 1, CLAIM, rows[i].claim, MEASURED, rows[i].measured,
            VERDICT, rows[i].verdict);
    say("%s", "");
    for (int i = 0; i < n; i++)
        if (rows[i].note && strcmp(rows[i].verdict, "FALSE") != 0)
            say("(%d) %s", i + 1, rows[i].note);
}

long proc_smaps_field(pid_t pid, const char *field)
{
    char path[64], buf[4096], key[64];
    if (pid == 0)
        snprintf(path, sizeof path, "/proc/self/smaps_rollup");
    else
        snprintf(path, sizeof path, "/proc/%ld/smaps_rollup", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    buf[n > 0 ? n : 0] = '\0';
    snprintf(key, sizeof key, "\n%s:", field); /* the first line is the mapping's range */
    const char *at = strstr(buf, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

long proc_private_kib(pid_t pid)
{
    long dirty = proc_smaps_field(pid, "Private_Dirty"), tables = proc_status_field(pid, "VmPTE");
    return dirty < 0 || tables < 0 ? -1 : dirty + tables;
}
