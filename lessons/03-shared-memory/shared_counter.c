/* shared_counter.c - a Value and an Array shared by 9 processes (seed example 3).
 *
 * Python                                   C, in this file
 *   Value('i', 0), Array('i', range(50))     struct shared, placed in memory from
 *                                            mmap(MAP_SHARED | MAP_ANONYMOUS) before fork
 *   Process(target=..., args=(v,))           fork(); the child runs the worker
 *   v.value += 1                             load, add, store: three steps (--lock none)
 *   with v.get_lock(): v.value += 1          a process-shared pthread mutex (--lock mutex)
 *                                            or a semaphore, sem_init(pshared=1) (--lock semaphore)
 *   (no Python equivalent)                   atomic_fetch_add on an _Atomic int (--lock atomic)
 *   current_process().name                   "Process-1" .. "Process-9", as Python names them
 *   p.join()                                 waitid(WNOWAIT), then waitpid()
 *
 * Run:   make && ./shared_counter                 the seed: 9 processes x 50, no lock
 *        ./shared_counter --iters 100000          now the race loses updates
 *        ./shared_counter --lock all              every mode on the same work, timed
 *        ./shared_counter --private               what a plain global would do
 *        ./shared_counter --lock mutex --die-holding-lock
 * Look:  "lost" in the Final line; the array is always exact (each worker
 *        owns its own slice); the cost of each fix in the --lock all table.
 */
#define _POSIX_C_SOURCE 200809L
/* MAP_ANONYMOUS is not in POSIX.1-2008 (POSIX.1-2024 added it); glibc's
 * <sys/mman.h> shows it only with _DEFAULT_SOURCE. Nothing else needs it. */
#define _DEFAULT_SOURCE

#include "kit.h"

#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdnoreturn.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_PROCS = 50, ARRAY_LEN = 50 };

/* An atomic that is not lock-free would be protected by a lock inside
 * this process only (libatomic), useless to the other processes. */
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int must be lock-free to be shared between processes");

enum lock_mode { LOCK_NONE, LOCK_MUTEX, LOCK_SEMAPHORE, LOCK_ATOMIC, LOCK_ALL };
static const char *const mode_names[] = {"none", "mutex", "semaphore", "atomic", "all"};

/* Everything the processes share: one block of memory, mapped before
 * fork, so that every child sees the same physical pages. */
struct shared {
    int value;                      /* Value('i', 0): none, mutex, semaphore */
    atomic_int atomic_value;        /* the same counter for --lock atomic */
    pthread_mutex_t mutex;          /* --lock mutex */
    sem_t sem;                      /* --lock semaphore */
    sem_t start_gate;               /* workers wait here until all are forked */
    int numbers[ARRAY_LEN];         /* Array('i', range(50)) */
    double started[MAX_PROCS];      /* when each worker began counting */
    double finished[MAX_PROCS];     /* and when it ended */
    int recoveries;                 /* times a dead mutex owner was found */
};

struct options {
    int procs;
    long iters;
    enum lock_mode lock;
    bool private_memory;            /* --private: MAP_PRIVATE, like a global */
    bool die_holding_lock;          /* --die-holding-lock */
    bool start_gate;                /* false with --no-start-gate */
};

/* What the parent learns from one run of one mode. */
struct result {
    int final, expected;
    double ns_per_update;
    bool array_ok, workers_ok;
};

/* The running children, for the Ctrl-C handler; 0 = none or reaped.
 * A pid is recorded, and reaped and cleared, with SIGINT/SIGTERM blocked:
 * the handler never sees a pid that the kernel may already have reused. */
static volatile pid_t children[MAX_PROCS];

/* ---- The four ways to add 1 ------------------------------------------ */

/* v.value += 1 without a lock, written out as the three steps the CPU
 * makes. Between the load and the store, another process may store its
 * own value + 1; then one of the two increments is lost.
 * volatile makes the compiler keep each step: without it, gcc and clang
 * -O2 turn a plain loop of "+= 1" into one "add 50", and the race would
 * vanish from the program, not from the world. (In C11 terms an
 * unsynchronised write is a data race, undefined behaviour: this function
 * is the bug, on purpose.) */
static void add_one_unlocked(volatile int *v)
{
    int seen = *v;     /* load: copy the shared value into a register */
    seen = seen + 1;   /* add: in the register, where no one else sees it */
    *v = seen;         /* store: overwrite whatever others stored meanwhile */
}

/* pthread_mutex_lock on a robust mutex: if the owner died holding it, we
 * get the lock with EOWNERDEAD and must say the data is consistent again. */
static void lock_mutex(struct shared *s, const char *who)
{
    int err = pthread_mutex_lock(&s->mutex);
    if (err == EOWNERDEAD) {
        /* The owner died inside the critical section. Here that section
         * is one increment whose only write is a single store: the value
         * is either updated or not, never half-written. Nothing to repair. */
        s->recoveries++;
        err = pthread_mutex_consistent(&s->mutex);
        if (err == 0)
            say("%s: the mutex's owner died holding it (EOWNERDEAD); marked consistent", who);
    }
    if (err != 0) {
        errno = err;
        die_errno("%s: pthread_mutex_lock", who);
    }
}

static void unlock_mutex(struct shared *s)
{
    int err = pthread_mutex_unlock(&s->mutex);
    if (err != 0) {
        errno = err;
        die_errno("pthread_mutex_unlock");
    }
}

static void wait_semaphore(struct shared *s)
{
    while (sem_wait(&s->sem) != 0)
        if (errno != EINTR)
            die_errno("sem_wait");
}

static void post_semaphore(struct shared *s)
{
    if (sem_post(&s->sem) != 0)
        die_errno("sem_post");
}

/* One worker's counting loop for MODE. The critical section is the same
 * add_one_unlocked() in every locked mode: only its protection differs. */
static void count(struct shared *s, enum lock_mode mode, long iters,
                  long die_at, const char *who)
{
    for (long i = 0; i < iters; i++) {
        switch (mode) {
        case LOCK_NONE:
            add_one_unlocked(&s->value);
            break;
        case LOCK_MUTEX:
            lock_mutex(s, who);
            if (i == die_at)
                raise(SIGKILL); /* die holding the lock, like kill -9 or the OOM killer */
            add_one_unlocked(&s->value);
            unlock_mutex(s);
            break;
        case LOCK_SEMAPHORE:
            wait_semaphore(s);
            add_one_unlocked(&s->value);
            post_semaphore(s);
            break;
        default: /* LOCK_ATOMIC: load, add and store as one indivisible
                  * instruction (lock add on x86-64): nothing to lose. */
            atomic_fetch_add(&s->atomic_value, 1);
            break;
        }
    }
}

/* print(v.value): even a read takes the lock in the locked modes, so it
 * never sees a value in the middle of someone's update. */
static int read_value(struct shared *s, enum lock_mode mode, const char *who)
{
    int v;
    switch (mode) {
    case LOCK_MUTEX:
        lock_mutex(s, who);
        v = s->value;
        unlock_mutex(s);
        return v;
    case LOCK_SEMAPHORE:
        wait_semaphore(s);
        v = s->value;
        post_semaphore(s);
        return v;
    case LOCK_ATOMIC:
        return atomic_load(&s->atomic_value);
    default:
        return *(volatile int *)&s->value;
    }
}

/* ---- The array: each worker owns a slice -------------------------------- */

/* Worker K's part of the array: [*first, *end). Slices never overlap. */
static void slice_of(int k, int procs, int *first, int *end)
{
    *first = k * ARRAY_LEN / procs;
    *end = (k + 1) * ARRAY_LEN / procs;
}

/* The same unlocked increment that loses counter updates, but on elements
 * no other process touches: nothing to lose, so no lock is needed. */
static void update_own_slice(struct shared *s, int k, int procs, long iters)
{
    int first, end;
    slice_of(k, procs, &first, &end);
    for (long i = 0; i < iters; i++)
        for (int j = first; j < end; j++)
            add_one_unlocked(&s->numbers[j]);
}

/* ---- Processes ---------------------------------------------------------- */

/* The start gate: a semaphore that starts at 0. Each worker waits on it;
 * the parent posts it once per worker when all are forked, so they all
 * count at the same time. Without it, fork is so slow next to 50
 * increments that each worker may be done before the next one exists:
 * no overlap, no race, which is why the seed's example hides its point. */
static void wait_at_gate(struct shared *s)
{
    while (sem_wait(&s->start_gate) != 0)
        if (errno != EINTR)
            die_errno("sem_wait (start gate)");
}

/* What child K does: count, print what it sees, update its slice, exit.
 * On an error it ends through die_errno, which ends with _exit too. */
static noreturn void worker(struct shared *s, const struct options *opt,
                            enum lock_mode mode, int k, bool quiet)
{
    char who[32];
    snprintf(who, sizeof who, "Process-%d", k + 1); /* Python's default names */
    long die_at = (opt->die_holding_lock && k == 0) ? opt->iters / 2 : -1;

    if (opt->start_gate)
        wait_at_gate(s);
    s->started[k] = now_seconds();
    count(s, mode, opt->iters, die_at, who);
    s->finished[k] = now_seconds();

    int seen = read_value(s, mode, who);
    if (!quiet)
        say("%s data: %d", who, seen);
    update_own_slice(s, k, opt->procs, opt->iters);
    _exit(0); /* _exit: the child must not run the parent's exit-time code */
}

/* Stop and reap every child still recorded. Used by the signal handler,
 * so only async-signal-safe calls: kill and waitpid. SIGCONT after
 * SIGTERM: a worker stopped with kill -STOP would keep the SIGTERM pending,
 * never end, and waitpid would wait for ever. */
static void stop_children(void)
{
    for (int k = 0; k < MAX_PROCS; k++)
        if (children[k] > 0) {
            kill(children[k], SIGTERM);
            kill(children[k], SIGCONT);
        }
    for (int k = 0; k < MAX_PROCS; k++)
        if (children[k] > 0) {
            while (waitpid(children[k], NULL, 0) < 0 && errno == EINTR)
                continue;
            children[k] = 0;
        }
}

/* Ctrl-C or kill of the parent: no child and no zombie is left behind.
 * The shared memory is anonymous: it disappears with the last process
 * that maps it, so there is nothing else to clean up. */
static void on_stop_signal(int sig)
{
    stop_children();
    die_of_signal(sig);
}

/* The parent's side of the start gate: one post per worker. */
static void open_gate(struct shared *s, int procs)
{
    for (int k = 0; k < procs; k++)
        if (sem_post(&s->start_gate) != 0)
            die_errno("sem_post (start gate)");
}

static void start_workers(struct shared *s, const struct options *opt,
                          enum lock_mode mode, bool quiet)
{
    for (int k = 0; k < opt->procs; k++) {
        block_stop_signals(); /* until children[k] is recorded */
        pid_t pid = fork();
        if (pid < 0) { /* e.g. EAGAIN: a process limit is reached */
            warn_msg("fork for Process-%d of %d failed: %s", k + 1, opt->procs, strerror(errno));
            stop_children(); /* the ones already started wait at the gate */
            warn_msg("stopped and reaped the %d worker(s) already started", k);
            exit(1);
        }
        if (pid == 0) {
            child_default_signals();
            worker(s, opt, mode, k, quiet);
        }
        children[k] = pid;
        unblock_stop_signals();
    }
    if (opt->start_gate)
        open_gate(s, opt->procs);
}

/* Join every worker. True when each ended as planned: exit status 0, or
 * killed by SIGKILL for the one --die-holding-lock chose (Process-1). */
static bool join_workers(const struct options *opt)
{
    bool ok = true;
    for (int k = 0; k < opt->procs; k++) {
        /* Wait, then reap, in two steps. waitid with WNOWAIT returns once
         * the worker has ended but leaves it a zombie, so its pid stays
         * ours; the reap and clearing the pid then happen with Ctrl-C held
         * back, so the handler never kills a pid the kernel has reused. */
        siginfo_t info;
        while (waitid(P_PID, (id_t)children[k], &info, WEXITED | WNOWAIT) < 0)
            if (errno != EINTR)
                die_errno("waitid");
        int status;
        block_stop_signals();
        if (waitpid(children[k], &status, 0) < 0) /* returns at once */
            die_errno("waitpid");
        children[k] = 0;
        unblock_stop_signals();

        bool planned = opt->die_holding_lock && k == 0;
        if (planned && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) {
            say("Process-1 was killed while holding the mutex (--die-holding-lock)");
        } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            if (WIFSIGNALED(status))
                warn_msg("Process-%d was killed by signal %d", k + 1, WTERMSIG(status));
            else
                warn_msg("Process-%d failed with exit status %d", k + 1, WEXITSTATUS(status));
            ok = false;
        }
    }
    return ok;
}

/* ---- One run of one mode ---------------------------------------------- */

static void init_lock(struct shared *s, enum lock_mode mode)
{
    int err = 0;
    if (mode == LOCK_MUTEX) {
        pthread_mutexattr_t attr;
        pthread_mutexattr_init(&attr);
        /* PROCESS_SHARED: the mutex lives in shared memory and is used by
         * several processes. ROBUST: if its owner dies, the next locker
         * gets EOWNERDEAD instead of waiting forever. */
        err = pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED);
        if (err == 0)
            err = pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST);
        if (err == 0)
            err = pthread_mutex_init(&s->mutex, &attr);
        pthread_mutexattr_destroy(&attr);
        if (err != 0) {
            errno = err;
            die_errno("pthread_mutex_init");
        }
    } else if (mode == LOCK_SEMAPHORE) {
        /* pshared = 1: shared between processes; value 1: one holder. */
        if (sem_init(&s->sem, 1, 1) != 0)
            die_errno("sem_init");
    }
}

static void destroy_lock(struct shared *s, enum lock_mode mode)
{
    if (mode == LOCK_MUTEX) {
        /* Lock it once more: it must not be stuck, and if a worker died
         * holding it and no other worker came after, we recover it here. */
        lock_mutex(s, "Parent");
        unlock_mutex(s);
        pthread_mutex_destroy(&s->mutex);
    } else if (mode == LOCK_SEMAPHORE) {
        sem_destroy(&s->sem);
    }
}

/* Did each element end where it should? In shared memory: start value
 * plus ITERS (its owner added 1 that many times). The start value where
 * the parent's copy is never touched (--private), or where the owner
 * died before it got to its slice (--die-holding-lock: Process-1). */
static bool array_is_right(const struct shared *s, const struct options *opt)
{
    for (int k = 0; k < opt->procs; k++) {
        bool untouched = opt->private_memory || (opt->die_holding_lock && k == 0);
        long add = untouched ? 0 : opt->iters;
        int first, end;
        slice_of(k, opt->procs, &first, &end);
        for (int i = first; i < end; i++)
            if (s->numbers[i] != i + add)
                return false;
    }
    return true;
}

/* Wall time of all the counting, first start to last end, per update. */
static double ns_per_update(const struct shared *s, const struct options *opt)
{
    double first = s->started[0], last = s->finished[0];
    for (int k = 1; k < opt->procs; k++) {
        if (s->started[k] < first)
            first = s->started[k];
        if (s->finished[k] > last)
            last = s->finished[k];
    }
    return (last - first) * 1e9 / ((double)opt->procs * (double)opt->iters);
}

static struct result run_mode(struct shared *s, const struct options *opt,
                              enum lock_mode mode, bool quiet)
{
    memset(s, 0, sizeof *s);
    for (int i = 0; i < ARRAY_LEN; i++)
        s->numbers[i] = i; /* range(50) */
    atomic_init(&s->atomic_value, 0);
    init_lock(s, mode);
    if (opt->start_gate && sem_init(&s->start_gate, 1, 0) != 0)
        die_errno("sem_init (start gate)");

    start_workers(s, opt, mode, quiet);
    struct result r = {.workers_ok = join_workers(opt)};
    destroy_lock(s, mode);
    if (opt->start_gate)
        sem_destroy(&s->start_gate);

    r.final = mode == LOCK_ATOMIC ? atomic_load(&s->atomic_value) : s->value;
    r.expected = opt->procs * (int)opt->iters;
    if (opt->die_holding_lock) /* Process-1 made only half its updates */
        r.expected -= (int)(opt->iters - opt->iters / 2);
    r.array_ok = array_is_right(s, opt);
    r.ns_per_update = opt->private_memory ? 0.0 : ns_per_update(s, opt);
    return r;
}

/* ---- Output ------------------------------------------------------------- */

/* "[50, 51, 52, ..., 98, 99]": the ends of the array, enough to see it. */
static void say_array(const struct shared *s)
{
    say("Final array in parent process: [%d, %d, %d, ..., %d, %d]",
        s->numbers[0], s->numbers[1], s->numbers[2],
        s->numbers[ARRAY_LEN - 2], s->numbers[ARRAY_LEN - 1]);
}

static bool report_one(struct shared *s, const struct options *opt, const struct result *r)
{
    say_array(s);
    if (!r->array_ok)
        say("array check: FAILED");
    else if (opt->private_memory)
        say("array check: ok (unchanged: each child changed only its own private copy)");
    else if (opt->die_holding_lock)
        say("array check: ok (each element is its start value + %ld, except Process-1's slice, untouched)",
            opt->iters);
    else
        say("array check: ok (each element is its start value + %ld: every worker owned its own slice, no lock)",
            opt->iters);
    if (opt->die_holding_lock)
        say("mutex recovered after its owner died: %d time(s)", s->recoveries);

    int lost = r->expected - r->final;
    say("Final data in parent process: %d (expected %d, lost %d)", r->final, r->expected, lost);

    bool counter_ok;
    if (opt->private_memory)
        counter_ok = r->final == 0;
    else if (opt->lock == LOCK_NONE)
        counter_ok = lost >= 0; /* losing is the lesson; gaining is impossible */
    else
        counter_ok = lost == 0;
    if (opt->die_holding_lock && s->recoveries != 1)
        counter_ok = false;
    if (!r->workers_ok) /* its updates are missing: no verdict on the value */
        warn_msg("a worker did not finish: the final value is incomplete");
    else if (!counter_ok)
        warn_msg("the final value is wrong for --lock %s", mode_names[opt->lock]);
    return counter_ok && r->array_ok && r->workers_ok;
}

/* --lock all: the same work in every mode, one table line each. */
static bool report_all(struct shared *s, const struct options *opt)
{
    bool ok = true;
    say("%-10s %10s %10s %10s", "mode", "final", "lost", "ns/update");
    for (enum lock_mode mode = LOCK_NONE; mode < LOCK_ALL; mode++) {
        struct result r = run_mode(s, opt, mode, true);
        int lost = r.expected - r.final;
        if (opt->private_memory) /* the workers' clocks stayed in their copies */
            say("%-10s %10d %10d %10s", mode_names[mode], r.final, lost, "-");
        else
            say("%-10s %10d %10d %10.1f", mode_names[mode], r.final, lost, r.ns_per_update);
        bool exact = opt->private_memory ? r.final == 0 : (mode == LOCK_NONE ? lost >= 0 : lost == 0);
        if (!r.workers_ok)
            warn_msg("a worker did not finish: the final value is incomplete");
        else if (!exact)
            warn_msg("the final value is wrong for --lock %s", mode_names[mode]);
        if (!r.array_ok)
            say("array check: FAILED (--lock %s)", mode_names[mode]);
        ok = ok && exact && r.array_ok && r.workers_ok;
    }
    return ok;
}

/* ---- Command line ------------------------------------------------------- */

static void usage(void)
{
    fputs("usage: shared_counter [--procs N] [--iters N] [--lock MODE] [--private]\n"
          "                      [--no-start-gate] [--die-holding-lock]\n"
          "\n"
          "N processes add 1 to one shared integer, ITERS times each, and each adds\n"
          "ITERS to its own slice of a shared 50-element array (seed example 3).\n"
          "\n"
          "  --procs N           worker processes (default 9; 1 to 50, so that each\n"
          "                      owns at least one array element)\n"
          "  --iters N           increments per worker (default 50, or 100000 with\n"
          "                      --lock all; 1 to 10000000)\n"
          "  --lock MODE         none       no lock: v.value += 1, as the seed (default)\n"
          "                      mutex      a process-shared, robust pthread mutex\n"
          "                      semaphore  a POSIX semaphore, sem_init(pshared=1)\n"
          "                      atomic     C11 atomic_fetch_add\n"
          "                      all        each of the four on the same work: a table\n"
          "  --private           map the memory MAP_PRIVATE: like a plain global\n"
          "                      variable, each child changes only its own copy\n"
          "  --no-start-gate     let each worker start counting as soon as it is\n"
          "                      forked, as the seed does, instead of all together\n"
          "  --die-holding-lock  demonstration, needs --lock mutex and 2+ processes:\n"
          "                      Process-1 is killed (SIGKILL) while it holds the\n"
          "                      mutex, halfway through; another process recovers it\n"
          "  -h, --help          show this help\n",
          stdout);
}

static enum lock_mode parse_mode(const char *text)
{
    for (enum lock_mode m = LOCK_NONE; m <= LOCK_ALL; m++)
        if (strcmp(text, mode_names[m]) == 0)
            return m;
    usage_error("--lock: '%s' is not a mode (allowed: none, mutex, semaphore, atomic, all)", text);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {.procs = 9, .iters = -1, .lock = LOCK_NONE, .start_gate = true};
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (is_help_flag(argv[i])) {
            usage();
            exit(0);
        } else if ((value = flag_value(argc, argv, &i, "--procs"))) {
            opt.procs = (int)parse_long("--procs", value, 1, MAX_PROCS);
        } else if ((value = flag_value(argc, argv, &i, "--iters"))) {
            opt.iters = parse_long("--iters", value, 1, 10000000);
        } else if ((value = flag_value(argc, argv, &i, "--lock"))) {
            opt.lock = parse_mode(value);
        } else if (strcmp(argv[i], "--private") == 0) {
            opt.private_memory = true;
        } else if (strcmp(argv[i], "--no-start-gate") == 0) {
            opt.start_gate = false;
        } else if (strcmp(argv[i], "--die-holding-lock") == 0) {
            opt.die_holding_lock = true;
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    /* The gate is a semaphore in the mapped block: in private memory the
     * parent's posts would never reach the children, who would wait forever. */
    if (opt.private_memory)
        opt.start_gate = false;
    if (opt.iters < 0)
        opt.iters = opt.lock == LOCK_ALL ? 100000 : 50;
    if (opt.die_holding_lock && opt.lock != LOCK_MUTEX)
        usage_error("--die-holding-lock: needs --lock mutex");
    if (opt.die_holding_lock && opt.private_memory)
        usage_error("--die-holding-lock: needs shared memory, not --private");
    if (opt.die_holding_lock && opt.procs < 2)
        usage_error("--die-holding-lock: needs --procs 2 or more (allowed: 2 to %d)", MAX_PROCS);
    return opt;
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    /* Had whoever started us set SIGCHLD to "ignore", the kernel would reap
     * the workers itself and waitid would fail with ECHILD. */
    signal(SIGCHLD, SIG_DFL);
    struct options opt = parse_options(argc, argv);
    catch_stop_signals(on_stop_signal);
    on_die(stop_children); /* an error in the parent stops and reaps the children first */

    /* The shared block. MAP_ANONYMOUS: memory with no file and no name,
     * so nothing can be left behind; MAP_SHARED: after fork, parent and
     * children see the same pages. MAP_PRIVATE would give each child a
     * copy-on-write copy, exactly like a global variable. */
    int sharing = opt.private_memory ? MAP_PRIVATE : MAP_SHARED;
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE,
                            sharing | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        die_errno("mmap");

    say("Parent process ID: %d", (int)getpid());
    say("%d processes x %ld increments, --lock %s, %s memory", opt.procs, opt.iters,
        mode_names[opt.lock], opt.private_memory ? "private" : "shared");

    bool ok;
    if (opt.lock == LOCK_ALL) {
        ok = report_all(s, &opt);
        if (ok)
            say("array check: ok (all modes)");
    } else {
        struct result r = run_mode(s, &opt, opt.lock, false);
        ok = report_one(s, &opt, &r);
    }
    munmap(s, sizeof *s);
    return ok ? 0 : 1;
}
