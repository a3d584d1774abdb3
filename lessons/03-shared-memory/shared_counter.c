/* shared_counter.c - 9 processes share a Value and an Array; without a lock
 * they lose updates of the Value (seed example 3).
 *
 * Python                                   C, in this file
 *   Value('i', 0), Array('i', range(50))     struct shared, in mmap(MAP_SHARED | MAP_ANONYMOUS)
 *   Process(target=..., args=(v,)).start()   fork(); the child counts, then _exit(0)
 *   v.value += 1                             add_one(): a load, then a store (--lock none)
 *   with v.get_lock(): v.value += 1          a process-shared mutex, sem_init(pshared=1), or
 *                                            atomic_fetch_add (no Python equivalent)
 *   current_process().name, p.join()         "Process-1".."Process-9"; waitpid() each
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* for MAP_ANONYMOUS only: POSIX.1-2024 has it, glibc shows it with this */

#include "kit.h"
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_PROCS = 50, ARRAY_LEN = 50 };
_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "a shared atomic must not hide a lock private to one process");

struct shared {                    /* everything the processes share */
    atomic_int value;              /* Value('i', 0) */
    atomic_int numbers[ARRAY_LEN]; /* Array('i', range(50)) */
    pthread_mutex_t mutex;         /* --lock mutex */
    sem_t sem, start_gate;         /* --lock semaphore; the gate the workers wait at until all exist */
};
static long procs = 9, iters = 50;
static bool private_memory, widen;

/* One block, mapped before fork, that every child inherits: MAP_SHARED, all see the same pages;
 * MAP_PRIVATE (--private), each gets a copy-on-write copy, like a global. No file, no name. */
static struct shared *map_shared_block(void)
{
    /* EXERCISE 03.1: map one block of sizeof(struct shared) bytes that parent and children share
     * HINT: mmap(NULL, size, PROT_READ | PROT_WRITE, flags, -1, 0); no file, so fd -1; check MAP_FAILED.
     * HINT: flags: (private_memory ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS
     */
    int sharing = (private_memory ? MAP_PRIVATE : MAP_SHARED) | MAP_ANONYMOUS;
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, sharing, -1, 0);
    if (s == MAP_FAILED)
        die_errno("mmap");
    return s;
    /* STUB 03.1
    die_msg("exercise 03.1: the shared block is not mapped yet");
     */
    /* END EXERCISE 03.1 */
}

static const char *lock = "none", *const LOCKS = "none|mutex|semaphore|atomic";
enum { NONE, MUTEX, SEMAPHORE, ATOMIC }; /* the order of LOCKS */
static const struct flag flags[] = {
    {"--procs", FLAG_INT, &procs, 1, MAX_PROCS, "worker processes, each owning a slice of the array", NULL},
    {"--iters", FLAG_INT, &iters, 1, 10000000, "increments per worker", NULL},
    {"--lock", FLAG_CHOICE, &lock, 0, 0, "what protects the increment (none: the seed)", "none|mutex|semaphore|atomic"},
    {"--private", FLAG_SWITCH, &private_memory, 0, 0, "MAP_PRIVATE: each child changes its own copy, like a global", NULL},
    {"--widen", FLAG_SWITCH, &widen, 0, 0, "sched_yield() inside each increment: updates lost on every run", NULL},
    {0},
};

/* v.value += 1 as the CPU does it: a load, then a store of that value + 1.
 * Each step is indivisible, the pair is not: what others store in between
 * is overwritten. --widen yields the CPU in that gap: others run there, even on one core. */
static int add_one(atomic_int *v, bool yield_between)
{
    int seen = atomic_load_explicit(v, memory_order_relaxed);
    if (yield_between)
        sched_yield();
    atomic_store_explicit(v, seen + 1, memory_order_relaxed);
    return seen + 1;
}

/* A pthread call returns its error number instead of setting errno. */
static void check(int err, const char *what) { if (err != 0) errno = err, die_errno("%s", what); }
static void init_mutex(pthread_mutex_t *m)
{
    /* EXERCISE 03.2: the workers hang in pthread_mutex_lock: make the mutex usable by several processes
     * HINT: A waiter in one process is never woken by an unlock in another unless the mutex is process-shared.
     * HINT: pthread_mutexattr_t attr; pthread_mutexattr_init(&attr); pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED); then init with &attr.
     * NEEDS: 03.1
     */
    pthread_mutexattr_t attr;
    check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
    check(pthread_mutex_init(m, &attr), "pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
    /* STUB 03.2
    check(pthread_mutex_init(m, NULL), "pthread_mutex_init");
     */
    /* END EXERCISE 03.2 */
}

/* Take the lock, add, give it back; returns what the last add left. atomic_fetch_add loads, adds
 * and stores in ONE instruction: no gap, no lock. (No handler in a worker, so no EINTR.) */
static int count(struct shared *s, int mode)
{
    int seen = 0;
    for (long i = 0; i < iters; i++) {
        if (mode == MUTEX)
            check(pthread_mutex_lock(&s->mutex), "pthread_mutex_lock");
        if (mode == SEMAPHORE && sem_wait(&s->sem) != 0) /* initial value 1: one holder at a time */
            die_errno("sem_wait");
        seen = mode == ATOMIC ? atomic_fetch_add(&s->value, 1) + 1 : add_one(&s->value, widen);
        if (mode == MUTEX)
            check(pthread_mutex_unlock(&s->mutex), "pthread_mutex_unlock");
        if (mode == SEMAPHORE && sem_post(&s->sem) != 0)
            die_errno("sem_post");
    }
    return seen;
}

/* p.start() for each: wait at the gate until all exist (fork is slower than 50 adds), count,
 * then add ITERS to its own slice with the unlocked add_one(): no one else touches it. */
static void start_workers(struct shared *s, int mode, pid_t *pids)
{
    char name[32];
    for (int k = 0; k < procs; k++) {
        snprintf(name, sizeof name, "Process-%d", k + 1); /* Python's default names */
        if ((pids[k] = fork()) < 0)
            die_errno("fork for Process-%d of %ld", k + 1, procs); /* stops the others too */
        if (pids[k] == 0) {
            kit_child_begin(name);
            kit_phase("wait");
            if (!private_memory && sem_wait(&s->start_gate) != 0) /* no post reaches a private copy */
                die_errno("sem_wait (start gate)");
            kit_phase("run");
            say("%s data: %d", name, count(s, mode));
            for (long i = 0; i < iters; i++)
                for (int j = k * ARRAY_LEN / (int)procs; j < (k + 1) * ARRAY_LEN / (int)procs; j++)
                    add_one(&s->numbers[j], false);
            kit_child_end();
            _exit(0);
        }
        kit_child_started(pids[k], name);
    }
    for (int k = 0; k < procs && !private_memory; k++)
        if (sem_post(&s->start_gate) != 0)
            die_errno("sem_post (start gate)");
}

/* p.join() for each worker, in start order; false if one did not end well. */
static bool join_workers(const pid_t *pids)
{
    bool ok = true;
    for (int k = 0; k < procs; k++) {
        int status;
        char text[64];
        kit_phase("waitpid");
        if (waitpid(pids[k], &status, 0) < 0)
            die_errno("waitpid for Process-%d", k + 1);
        kit_child_reaped(pids[k], status);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            ok = false, warn_msg("Process-%d %s: its updates are missing", k + 1, status_text(status, text, sizeof text));
    }
    return ok;
}

int main(int argc, char **argv)
{
    static const struct program prog = {"N processes add 1 to one shared integer, ITERS times each, and ITERS\n"
        "to their own slice of a shared 50-element array (seed example 3).", flags, true, NULL, NULL};
    kit_start(argc, argv, &prog);
    int mode = choice_index(LOCKS, lock);
    struct shared *s = map_shared_block(); /* all zeros: value 0 */
    for (int i = 0; i < ARRAY_LEN; i++)
        atomic_init(&s->numbers[i], i); /* range(50) */
    init_mutex(&s->mutex);
    if (sem_init(&s->sem, 1, 1) != 0 || sem_init(&s->start_gate, 1, 0) != 0)
        die_errno("sem_init"); /* pshared = 1: used by several processes */
    say("Parent process ID: %ld", (long)getpid());
    say("%ld processes x %ld increments, --lock %s, %s memory%s", procs, iters, lock,
        private_memory ? "private" : "shared", widen ? ", widened" : "");

    pid_t pids[MAX_PROCS];
    start_workers(s, mode, pids);
    bool ok = join_workers(pids), array_ok = true;
    for (int i = 0; i < ARRAY_LEN; i++) /* private: the parent's copy was never touched */
        array_ok = array_ok && s->numbers[i] == i + (private_memory ? 0 : (int)iters);
    say("Final array in parent process: [%d, %d, %d, ..., %d, %d]", (int)s->numbers[0], (int)s->numbers[1],
        (int)s->numbers[2], (int)s->numbers[ARRAY_LEN - 2], (int)s->numbers[ARRAY_LEN - 1]);
    say("array check: %s", !array_ok ? "FAILED" : private_memory ? "ok (unchanged: each child changed only its own copy)"
        : "ok (each element grew by --iters: every worker owned its own slice, no lock)");

    int final = s->value, expected = (int)(procs * iters);
    if (private_memory) /* nothing was shared, so nothing could be lost */
        say("Final data in parent process: %d (private memory: each child added %ld to its own copy, nothing was lost)", final, iters);
    else
        say("Final data in parent process: %d (expected %d, lost %d)", final, expected, expected - final);
    bool right = private_memory ? final == 0 : mode == NONE ? final <= expected : final == expected;
    if (ok && !right)
        warn_msg("the final value is wrong for --lock %s", lock);
    return ok && right && array_ok ? 0 : 1;
}
