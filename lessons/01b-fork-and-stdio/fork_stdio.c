/* fork_stdio.c - a line printed with printf() before fork() comes out twice
 * when stdout is a pipe or a file, once on a terminal: fork() copies the
 * unflushed stdio buffer, and both processes flush their copy at exit().
 *
 * Python                                   C, in this file
 *   print("...") before p.start()            printf("...\n"): into stdout's buffer, not yet written
 *   sys.stdout.flush()                       fflush(stdout)            (--fix fflush)
 *   (multiprocessing's child: os._exit)      _exit(0) in the child     (--fix _exit)
 *   the kit's print: say()                   one write(2) per line     (--fix write)
 *
 * This lesson uses printf and exit() in the child on purpose: they ARE its
 * subject. Every other lesson writes with say() and ends children with _exit().
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *fix = "none";

static const struct flag flags[] = {
    {"--fix", FLAG_CHOICE, &fix, 0, 0,
     "none shows the pitfall; fflush, write or _exit each cures it (default none)",
     "none|fflush|write|_exit"},
    {0},
};

static bool fixed_by(const char *way);
static noreturn void child(void);

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Print one line with printf, then fork: count how often it comes out.",
        .flags = flags,
        .timeline = true,
        .more = "Try: ./fork_stdio | cat   (twice)   and   ./fork_stdio   on a terminal (once).",
    };
    kit_start(argc, argv, &prog);
    /* stdio decides how to buffer when it first writes: a terminal gets a
     * line buffer (flushed at each '\n'), a pipe or a file a full one
     * (flushed when full, at fflush, or at exit). */
    bool terminal = isatty(STDOUT_FILENO);
    say("stdout is %s; fix: %s", terminal ? "a terminal: line-buffered" : "a pipe or a file: fully buffered", fix);

    /* EXERCISE 01b.1: print the "before fork" line so that it comes out once, also through a pipe
     * HINT: printf() only copies the line into a buffer in this process's memory; fork() copies that.
     * HINT: with --fix write use say() (one write(2) at once); with --fix fflush, fflush(stdout) after printf
     */
    if (fixed_by("write"))
        say("before fork: printed by pid %ld", (long)getpid());
    else
        printf("before fork: printed by pid %ld\n", (long)getpid());
    if (fixed_by("fflush") && fflush(stdout) == EOF)
        die_errno("fflush(stdout)");
    /* STUB 01b.1
    printf("before fork: printed by pid %ld\n", (long)getpid());
     */
    /* END EXERCISE 01b.1 */

    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0)
        child();
    kit_child_started(pid, "child");

    int status;
    kit_phase("waitpid");
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid");
    kit_child_reaped(pid, status);
    say("parent: child %ld reaped, exit code %d", (long)pid, exitcode_of(status));
    /* The parent's copy of the buffer goes out here, at the latest; check
     * it did (a full disk), since exit() would ignore the error. */
    if (fflush(stdout) == EOF)
        die_errno("write to stdout");
    return exitcode_of(status) == 0 ? 0 : 1;
}

static bool fixed_by(const char *way)
{
    return strcmp(fix, way) == 0;
}

/* The child: says who it is, then ends. exit() flushes every stdio buffer
 * it inherited (and runs the parent's atexit handlers); _exit() does not. */
static noreturn void child(void)
{
    kit_child_begin("child");
    say("child: pid %ld, ends with %s", (long)getpid(), fixed_by("_exit") ? "_exit(0)" : "exit(0)");
    kit_child_end();
    if (fixed_by("_exit"))
        _exit(0);
    exit(0);
}
