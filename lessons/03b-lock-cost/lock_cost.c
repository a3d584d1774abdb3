/* lock_cost.c - what each fix of the lost update costs per update: one process
 * alone, then one process per core all updating the same counter.
 *
 * Python                                   C, in this file
 *   with v.get_lock(): v.value += 1          pthread_mutex_lock / _unlock (process-shared)
 *   (a semaphore as the lock)                sem_wait / sem_post, sem_init(pshared=1)
 *   (no Python equivalent)                   atomic_fetch_add: one instruction, no lock
 *   v.value += 1 with no lock (wrong)        a load, then a store: the baseline
 *   Process(...).start(), p.join()           fork(), waitpid()
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* for MAP_ANONYMOUS only: POSIX.1-2024 has it, glibc shows it with this */

#include "kit.h"
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_PROCS = 64, MAX_REPEATS = 99 };
enum { NONE, ATOMIC, MUTEX, SEMAPHORE, ALL }; /* the order of the --lock words */
static const char *const mode_names[] = {"none", "atomic", "mutex", "semaphore"};

struct shared {                /* one block, mapped before the first fork */
    atomic_int value;
    pthread_mutex_t mutex;     /* process-shared */
    sem_t sem, start_gate;     /* the lock (value 1); the gate (value 0) */
    double started[MAX_PROCS]; /* when each worker began (now_seconds(): one clock for all) */
    double seconds[MAX_PROCS]; /* each worker's own wall time for its updates */
    double cpu[MAX_PROCS];     /* and the CPU time it used for them (user + system) */
};

/* A pthread call returns its error number instead of setting errno. */
static void check(int err, const char *what) { if (err != 0) errno = err, die_errno("%s", what); }

/* ITERS updates of the shared counter under MODE: the code being timed. */
static void update(struct shared *s, int mode, long iters)
{
    for (long i = 0; i < iters; i++) {
        if (mode == ATOMIC) {
            atomic_fetch_add(&s->value, 1);
            continue;
        }
        if (mode == MUTEX)
            check(pthread_mutex_lock(&s->mutex), "pthread_mutex_lock");
        if (mode == SEMAPHORE && sem_wait(&s->sem) != 0) /* no handler in a worker: no EINTR */
            die_errno("sem_wait");
        /* the critical section: a load, then a store (alone, this is v.value += 1 with no lock) */
        int seen = atomic_load_explicit(&s->value, memory_order_relaxed);
        atomic_store_explicit(&s->value, seen + 1, memory_order_relaxed);
        if (mode == MUTEX)
            check(pthread_mutex_unlock(&s->mutex), "pthread_mutex_unlock");
        if (mode == SEMAPHORE && sem_post(&s->sem) != 0)
            die_errno("sem_post");
    }
}

static long procs = 0, iters = 2000000, repeats = 5;
static const char *lock = "all";
static const struct flag flags[] = {
    {"--procs", FLAG_INT, &procs, 0, MAX_PROCS, "processes in the contended run (0: one per core allowed, at least 2)", NULL},
    {"--iters", FLAG_INT, &iters, 1000, 100000000, "updates per process and run", NULL},
    {"--repeats", FLAG_INT, &repeats, 1, MAX_REPEATS, "runs of each mode, interleaved", NULL},
    {"--lock", FLAG_CHOICE, &lock, 0, 0, "which fix to time (all: each, and none as the baseline)",
     "none|atomic|mutex|semaphore|all"},
    {0},
};

/* One run: N processes wait at the gate, then all update at once, each timing
 * itself. Into OUT: the median of their wall ns per update, of their CPU ns per
 * update, and how many cores were busy at once (their CPU time / the time from
 * the first start to the last end). Returns how many updates the counter does not show. */
static long run(struct shared *s, int mode, int n, double out[3])
{
    atomic_store(&s->value, 0);
    pid_t pids[MAX_PROCS];
    for (int k = 0; k < n; k++) {
        if ((pids[k] = fork()) < 0)
            die_errno("fork"); /* the registry stops and reaps the others */
        if (pids[k] == 0) {
            kit_child_begin(n == 1 ? "alone" : "contended");
            kit_phase("wait");
            if (sem_wait(&s->start_gate) != 0)
                die_errno("sem_wait (start gate)");
            kit_phase("run");
            /* EXERCISE 03b.1: time this worker's own updates and leave the seconds in s->seconds[k]
             * HINT: Read the monotonic clock (now_seconds()) just before and just after the updates.
             * HINT: double start = now_seconds(); update(s, mode, iters); s->seconds[k] = now_seconds() - start;
             */
            double start = now_seconds(), cpu_start = cpu_seconds();
            update(s, mode, iters);
            s->seconds[k] = now_seconds() - start;
            s->cpu[k] = cpu_seconds() - cpu_start;
            s->started[k] = start;
            /* STUB 03b.1
            update(s, mode, iters);
            s->seconds[k] = s->cpu[k] = s->started[k] = 0;
             */
            /* END EXERCISE 03b.1 */
            kit_child_end();
            _exit(0);
        }
        kit_child_started(pids[k], n == 1 ? "alone" : "contended");
    }
    for (int k = 0; k < n; k++) /* all start together */
        if (sem_post(&s->start_gate) != 0)
            die_errno("sem_post (start gate)");
    double ns[MAX_PROCS], cpu[MAX_PROCS], cpu_total = 0, first = 1e300, last = 0;
    for (int k = 0; k < n; k++) {
        int status;
        char text[64];
        kit_phase("waitpid");
        if (waitpid(pids[k], &status, 0) < 0)
            die_errno("waitpid");
        kit_child_reaped(pids[k], status);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            die_msg("a worker (%s) %s", mode_names[mode], status_text(status, text, sizeof text));
        ns[k] = s->seconds[k] * 1e9 / (double)iters;
        cpu[k] = s->cpu[k] * 1e9 / (double)iters;
        cpu_total += s->cpu[k];
        first = s->started[k] < first ? s->started[k] : first;
        last = s->started[k] + s->seconds[k] > last ? s->started[k] + s->seconds[k] : last;
    }
    out[0] = median(ns, n), out[1] = median(cpu, n), out[2] = last > first ? cpu_total / (last - first) : 0;
    return (long)n * iters - atomic_load(&s->value);
}

/* "12.3 [11.9-14.0]": the median of N samples and their spread. Returns the median. */
static double spread(const double *samples, int n, char *buf, size_t size)
{
    double v[MAX_REPEATS];
    for (int i = 0; i < n; i++)
        v[i] = samples[i]; /* median() sorts: keep the samples in repeat order */
    double lo = v[0], hi = v[0];
    for (int i = 1; i < n; i++)
        lo = v[i] < lo ? v[i] : lo, hi = v[i] > hi ? v[i] : hi;
    double mid = median(v, n);
    snprintf(buf, size, "%.1f [%.1f-%.1f]", mid, lo, hi);
    return mid;
}

int main(int argc, char **argv)
{
    static const struct program prog = {"Time each fix of the lost update per update: one process alone, then\n"
        "one process per core on the same counter (repeats interleaved; medians and spread).",
        flags, true, NULL, NULL};
    kit_start(argc, argv, &prog);
    int only = choice_index("none|atomic|mutex|semaphore|all", lock), cores = allowed_cpus();
    int n = procs > 0 ? (int)procs : cores < 2 ? 2 : cores;
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        die_errno("mmap");
    pthread_mutexattr_t attr;
    check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
    check(pthread_mutex_init(&s->mutex, &attr), "pthread_mutex_init");
    if (sem_init(&s->sem, 1, 1) != 0 || sem_init(&s->start_gate, 1, 0) != 0)
        die_errno("sem_init");

    say("%ld updates per process and run, %ld repeats interleaved; contended: %d processes, %d core(s) allowed",
        iters, repeats, n, cores);
    /* [mode][0 alone wall, 1 alone cpu, 3 contended wall, 4 contended cpu, 5 cores busy][repeat] */
    static double ns[ALL][6][MAX_REPEATS];
    long lost[ALL] = {0};
    for (int r = 0; r < repeats; r++) /* mode by mode within each repeat: drift hits all alike */
        for (int m = 0; m < ALL; m++) {
            if (only != ALL && m != only)
                continue;
            double alone[3], together[3];
            long lost_alone = run(s, m, 1, alone), lost_together = run(s, m, n, together);
            for (int c = 0; c < 3; c++)
                ns[m][c][r] = alone[c], ns[m][3 + c][r] = together[c];
            if (m != NONE && (lost_alone || lost_together))
                die_msg("--lock %s lost updates: the lock does not work", mode_names[m]);
            lost[m] += lost_together;
        }
    say("%-10s %-34s %-47s %s", "", "alone (1 process): ns/update", "contended: ns/update, each process",
        "contended/alone");
    say("%-10s %-17s %-16s %-17s %-16s %-13s %s", "mode", "wall", "cpu", "wall", "cpu", "cores busy", "wall   cpu");
    for (int m = 0; m < ALL; m++) {
        if (only != ALL && m != only)
            continue;
        char cell[6][48];
        double mid[6];
        for (int c = 0; c < 6; c++)
            mid[c] = spread(ns[m][c], (int)repeats, cell[c], sizeof cell[c]);
        say("%-10s %-17s %-16s %-17s %-16s %-13s %4.1fx %4.1fx%s", mode_names[m], cell[0], cell[1], cell[3],
            cell[4], cell[5], mid[3] / mid[0], mid[4] / mid[1],
            m == NONE ? (lost[m] > 0 ? "  wrong: lost updates" : "  wrong, though none lost this time") : "");
    }
    say("each figure: the median over the repeats [min-max] of one process's own time / its own updates;");
    say("wall includes waiting (for the lock, or for a core); cpu is the work its core did;");
    say("cores busy: how many of the %d processes really ran at the same time", n);
    return 0;
}
