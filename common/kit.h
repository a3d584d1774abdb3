/* kit.h - the kit's small helper module.
 *
 * It handles what is NOT the subject of any lesson: whole-line output,
 * error exits, strict flag parsing, a monotonic clock and a sleep that
 * survives signals, and the boilerplate of catching Ctrl-C.
 * It never wraps fork, waitpid, kill, mmap, locks or pipes: those stay
 * in the lessons, where the student reads them.
 */
#ifndef KIT_H
#define KIT_H

#include <signal.h>
#include <stdnoreturn.h>

/* Call first in main(): the program's name for error messages. */
void kit_init(const char *argv0);

/* ---- Output: every line goes out in ONE write(2) on an unbuffered fd,
 * so nothing sits in a stdio buffer when fork() copies the process, and
 * lines of different processes never tear or mix: on a pipe because a
 * write of at most PIPE_BUF bytes is atomic (POSIX), on a file because
 * Linux (3.14 and later) serialises writes that share one open file
 * description, as the processes of one run do (see notes/pitfalls.md). */

/* A plain story line on stdout, like Python's print(). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* A log line "HH:MM:SS: message" on stdout, like Python's logging with
 * format="%(asctime)s: %(message)s" and datefmt="%H:%M:%S". */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message" on stderr. */
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message: <errno text>" on stderr, then _exit(1): usable in a
 * child as well as in the parent. If on_die() named a cleanup, it runs
 * first, with SIGINT and SIGTERM blocked. */
noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* From now on, die_errno() in this process first calls CLEANUP: a
 * lesson's own "stop and reap my children", so that an error in the
 * parent never leaves them behind. A new child drops it
 * (child_default_signals). */
void on_die(void (*cleanup)(void));

/* "prog: message" on stderr, then exit(2): a bad command line. */
noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ---- Command line -------------------------------------------------- */

/* True for -h and --help. */
int is_help_flag(const char *arg);

/* If argv[*i] is FLAG ("--sleep 2" or "--sleep=2"), return its value and
 * step *i past it; a flag with no value is a usage error. Otherwise NULL. */
const char *flag_value(int argc, char **argv, int *i, const char *flag);

/* Strict numbers: digits only (a leading '-' for integers), nothing
 * trailing, within [min, max]; anything else is a usage error naming FLAG
 * and the range. Seconds may have a fraction: "2", "0.25", ".5". */
long parse_long(const char *flag, const char *text, long min, long max);
double parse_seconds(const char *flag, const char *text, double min, double max);

/* ---- Time -------------------------------------------------------------- */

/* Seconds on CLOCK_MONOTONIC: for measuring intervals, immune to clock
 * changes. */
double now_seconds(void);

/* Sleep for SECONDS (fractions allowed), resuming after a signal handler
 * interrupts it (EINTR), so the full time always passes. */
void sleep_seconds(double seconds);

/* ---- Ctrl-C and kill: the boilerplate around a lesson's own handler -- */

/* Install HANDLER for SIGINT and SIGTERM. */
void catch_stop_signals(void (*handler)(int));

/* Block / unblock SIGINT and SIGTERM, e.g. around fork() and recording
 * the child's pid, so a handler never sees a half-recorded child. */
void block_stop_signals(void);
void unblock_stop_signals(void);

/* In a new child: SIGINT and SIGTERM back to their default action
 * (a handler inherited from the parent is not the child's business),
 * then unblocked; and no on_die() cleanup (the children are not its). */
void child_default_signals(void);

/* At the end of a stop-signal handler: die of SIG itself, so the shell
 * sees "killed by SIGINT" (status 130) and not a normal exit. */
noreturn void die_of_signal(int sig);

#endif
