/* kit.h - the kit's helper module: everything that is NOT a lesson's subject.
 *
 * Whole-line output, error exits, the flag table and --help, clocks, the
 * child registry that cleans up on Ctrl-C, the timeline recorder, /proc
 * readers and table formatting. It never calls the fork(), waitpid(),
 * kill(), mmap(), lock, semaphore, pipe, queue or socket call a lesson
 * teaches: those stay in the lesson, where the student reads them.
 *
 * The one exception is the registry's cleanup (children.c): on Ctrl-C,
 * SIGTERM or an error exit it signals and reaps the children the lesson
 * registered, because a lesson that forgot one would leave it running.
 * It does so through pidfds, so it never signals a pid the kernel has
 * already handed to another process.
 */
#ifndef KIT_H
#define KIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdnoreturn.h>
#include <sys/types.h>

/* ==== Output =============================================================
 * Every line goes out in ONE write(2) on the unbuffered fd, so nothing
 * waits in a stdio buffer when fork() copies the process, and lines of
 * different processes never tear or mix: on a pipe because a write of at
 * most PIPE_BUF bytes is atomic (POSIX), on a file because Linux (3.14 and
 * later) serialises writes that share one open file description.
 *
 * A write error on stdout ends the program: a closed pipe (`| head`) ends
 * it quietly (it dies of SIGPIPE, as `cat` would), any other error (a full
 * disk) with one line on stderr and exit status 1. In the parent the
 * registered children are stopped and reaped first. */

/* A story line on stdout, like Python's print(). */
void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "HH:MM:SS: message" on stdout, like Python's logging with
 * format="%(asctime)s: %(message)s" and datefmt="%H:%M:%S". */
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message" on stderr. */
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message: <errno text>" on stderr, then exit status 1. In the
 * parent, the registered children are stopped and reaped first. Ends with
 * _exit(), so it is safe in a child too. */
noreturn void die_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message" on stderr, then exit status 1 (cleanup as die_errno). */
noreturn void die_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "prog: message (try --help)" on stderr, then exit status 2. */
noreturn void usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* ==== The flag table =====================================================
 * A lesson declares its flags once; --help and every exit-2 message come
 * from the table. The variable a flag points at holds its default before
 * kit_start() and the given value after.
 *
 *   static long count = 49;
 *   static const struct flag flags[] = {
 *       {"--count", FLAG_INT, &count, 1, 1000, "how many workers"},
 *       {0}
 *   };
 */
enum flag_kind {
    FLAG_INT,     /* long:        a whole number in [min, max]            */
    FLAG_SECONDS, /* double:      "2", "0.25", ".5" within [min, max]     */
    FLAG_TEXT,    /* const char*: min to max characters, no control chars */
    FLAG_CHOICE,  /* const char*: one of the words in `choices`           */
    FLAG_SWITCH,  /* bool:        present or not, takes no value          */
};

struct flag {
    const char *name; /* "--count" */
    enum flag_kind kind;
    void *value;      /* long *, double *, const char **, bool * by kind */
    double min, max;  /* range; for FLAG_TEXT the length */
    const char *help; /* one line */
    const char *choices; /* FLAG_CHOICE only: "none|mutex|semaphore" */
};

/* What a program says about itself in --help. */
struct program {
    const char *purpose;      /* one sentence */
    const struct flag *flags; /* ends with {0} */
    bool timeline;            /* accepts --timeline[=color] and --trace FILE */
    const char *args;         /* positional arguments, for the usage line: "attach NAME" */
    const char *more;         /* further text for --help, or NULL */
};

/* Call first in main(). Parses argv by the table (-h/--help prints usage
 * and exits 0; anything wrong exits 2 before anything has started), then
 * prepares the process: stdout errors end the run (see Output), SIGINT
 * and SIGTERM stop and reap the registered children and then kill the
 * program with the same signal, an inherited SIGCHLD "ignore" is reset
 * (it would make the kernel reap children itself). Returns the index of
 * the first positional argument (argc when there is none); a program with
 * no `args` rejects any. */
int kit_start(int argc, char **argv, const struct program *prog);

/* Strict numbers, also for a lesson's positional arguments: exit 2 with
 * one line naming WHAT and the range when TEXT is not one. */
long parse_long(const char *what, const char *text, long min, long max);
double parse_seconds(const char *what, const char *text, double min, double max);

/* Index of TEXT in the '|'-separated CHOICES ("none|mutex" -> 0 or 1), -1 if absent. */
int choice_index(const char *choices, const char *text);

/* ==== The child registry ==================================================
 *   pid_t pid = fork();
 *   if (pid < 0) die_errno("fork");
 *   if (pid == 0) { kit_child_begin("Worker-3"); ... kit_child_end(); _exit(0); }
 *   kit_child_started(pid, "Worker-3");
 *   ...
 *   waitpid(pid, &status, 0);
 *   kit_child_reaped(pid, status);
 */

/* In the parent, right after fork(): remember the child (a pidfd for it)
 * for the cleanup, and record its start on the timeline.
 * From just before fork() until this call (or kit_child_begin() in the
 * child) SIGINT and SIGTERM wait: a Ctrl-C in that instant would find a
 * child the registry does not know yet. So after a fork() that failed,
 * end with die_errno() (or call kit_stop_children()), as every lesson does. */
void kit_child_started(pid_t pid, const char *name);

/* In the parent, right after waitpid() collected the child: forget it
 * (closes its pidfd) and record the reap. A child that died of SIGPIPE
 * (stdout was a closed pipe) ends the program quietly, as the parent's
 * own write would. */
void kit_child_reaped(pid_t pid, int status);

/* The first call in EVERY new child, also one that will exec: SIGINT and SIGTERM back to their default
 * action, no cleanup of the parent's children, SIGTERM when the parent
 * dies (PR_SET_PDEATHSIG: a child forked in the instant before the parent
 * registered it is not left behind either). NAME is its timeline row. */
void kit_child_begin(const char *name);

/* Last thing in a child before _exit(): records the exit on the timeline
 * (from here until the parent reaps it, the child is a zombie). */
void kit_child_end(void);

/* Is PID one the lesson registered? (A process may have children it did
 * not start: a shell that exec'ed it leaves them. A lesson that waits with
 * waitpid(-1, ...) skips those.) */
bool kit_is_registered(pid_t pid);

/* How many registered children are not yet reaped. */
int kit_children_running(void);

/* Stop (SIGTERM, then SIGCONT for a stopped one) and reap every
 * registered child. Runs by itself on SIGINT, SIGTERM, die_errno(),
 * usage_error() after a start, and a stdout error; a lesson calls it
 * when it gives up on its workers. */
void kit_stop_children(void);

/* FN runs first when SIGINT or SIGTERM ends the program, before the
 * children are stopped: a lesson's own cleanup, such as unlinking the named
 * objects it made. Only async-signal-safe calls in FN. A new child drops it. */
void kit_on_stop_signal(void (*fn)(void));

/* "exit code 0", "killed by signal 9 (Killed)": a wait status in words. */
const char *status_text(int status, char *buf, size_t size);

/* Python's Process.exitcode: the exit status, or -N for signal N. */
int exitcode_of(int status);

/* ==== The timeline ========================================================
 * With --timeline or --trace FILE, every process records what it does;
 * the parent draws it (or writes the Chrome trace JSON) after the run.
 * Each call is one small write(2) to a shared append-only file: no lock,
 * and what a killed child wrote before it died is kept. Without those
 * flags each call returns at once. Phase names the timeline knows, with
 * their letter: "run" #, "sleep" s, "waitpid" w, "write" >, "read" <,
 * "lock" L, "wait" . (any other name shows its first letter). */
void kit_phase(const char *what);   /* this process now does WHAT, until the next phase */
void kit_mark(const char *what);    /* an instant event: "lock taken", "put 3" */
bool kit_timeline_on(void);

/* ==== Time ================================================================ */

/* Seconds on CLOCK_MONOTONIC: for intervals, immune to clock changes. */
double now_seconds(void);

/* Sleep SECONDS (fractions allowed), resuming after a signal handler
 * interrupts it (EINTR), so the full time always passes. */
void sleep_seconds(double seconds);

/* Seconds of CPU this process has used (user + system). */
double cpu_seconds(void);

/* ==== /proc and tables ==================================================== */

/* A number field of /proc/PID/status ("VmRSS", "Threads"), in the file's
 * unit (kB for sizes); -1 if it cannot be read. PID 0 means this process. */
long proc_status_field(pid_t pid, const char *field);

/* The one-letter state of PID (R, S, D, Z, T), '?' if there is none. */
char proc_state(pid_t pid);

/* How many CPUs this process may run on (its affinity mask). */
int allowed_cpus(void);

/* A bar of WIDTH cells, FRACTION (0..1) of them filled with '#'. */
const char *bar(double fraction, int width, char *buf, size_t size);

/* Median of N values (sorts them in place). */
double median(double *values, int n);

#endif
