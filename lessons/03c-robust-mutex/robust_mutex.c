/* robust_mutex.c - a process dies holding a process-shared mutex: what the
 * next process to lock it is told, and what it must do.
 *
 * Python                                   C, in this file
 *   v = Value('i', 0); v.get_lock()          a pthread mutex in mmap(MAP_SHARED) memory
 *   with v.get_lock(): ... (then killed)     pthread_mutex_lock, then SIGKILL while holding it
 *   (Python's lock: the next one waits       PTHREAD_MUTEX_ROBUST: the next locker gets
 *    for ever)                                EOWNERDEAD, repairs, pthread_mutex_consistent
 *   (no equivalent)                          ENOTRECOVERABLE when no one said consistent
 */
#define _POSIX_C_SOURCE 200809L
#define _DEFAULT_SOURCE /* for MAP_ANONYMOUS only: POSIX.1-2024 has it, glibc shows it with this */

#include "kit.h"
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { START = 1000, AMOUNT = 100 };

struct shared {          /* the lock and the data it protects, shared by every process */
    pthread_mutex_t mutex;
    int a, b;            /* two accounts; the lock keeps a + b = 2000 */
    int pending;         /* a journal: what a transfer took from a and still owes b */
};

static bool not_robust, no_consistent;
static double wait_limit = 1;
static const struct flag flags[] = {
    {"--no-consistent", FLAG_SWITCH, &no_consistent, 0, 0, "the next locker repairs but never calls pthread_mutex_consistent", NULL},
    {"--not-robust", FLAG_SWITCH, &not_robust, 0, 0, "an ordinary mutex: the next locker waits, for ever", NULL},
    {"--wait", FLAG_SECONDS, &wait_limit, 0.01, 60, "how long a locker waits before it gives up", NULL},
    {0},
};

/* A pthread call returns its error number instead of setting errno. */
static void check(int err, const char *what) { if (err != 0) errno = err, die_errno("%s", what); }

static struct shared *map_shared_mutex(void)
{
    struct shared *s = mmap(NULL, sizeof *s, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (s == MAP_FAILED)
        die_errno("mmap");
    pthread_mutexattr_t attr;
    check(pthread_mutexattr_init(&attr), "pthread_mutexattr_init");
    check(pthread_mutexattr_setpshared(&attr, PTHREAD_PROCESS_SHARED), "pthread_mutexattr_setpshared");
    /* EXERCISE 03c.1: make the mutex robust (unless --not-robust), so that its owner's death is reported
     * HINT: Without it, a mutex whose owner died stays locked for ever: the kernel tells no one.
     * HINT: if (!not_robust) check(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
     */
    if (!not_robust)
        check(pthread_mutexattr_setrobust(&attr, PTHREAD_MUTEX_ROBUST), "pthread_mutexattr_setrobust");
    /* STUB 03c.1
     */
    /* END EXERCISE 03c.1 */
    check(pthread_mutex_init(&s->mutex, &attr), "pthread_mutex_init");
    pthread_mutexattr_destroy(&attr);
    s->a = s->b = START;
    return s;
}

/* pthread_mutex_lock, but giving up after --wait seconds (ETIMEDOUT), so
 * that a lock no one will ever unlock shows instead of hanging the lesson. */
static int lock_or_give_up(pthread_mutex_t *m, const char *who)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until); /* timedlock's deadline is on this clock */
    long ns = until.tv_nsec + (long)((wait_limit - (long)wait_limit) * 1e9);
    until.tv_sec += (time_t)wait_limit + ns / 1000000000L;
    until.tv_nsec = ns % 1000000000L;
    kit_phase("lock");
    int err = pthread_mutex_timedlock(m, &until);
    kit_phase("run");
    if (err != 0 && err != EOWNERDEAD && err != ETIMEDOUT && err != ENOTRECOVERABLE)
        check(err, "pthread_mutex_timedlock");
    if (err == ETIMEDOUT)
        say("%s: still waiting for the mutex after %g s: its owner is dead and no one will ever unlock it", who, wait_limit);
    return err;
}

static void say_accounts(const char *who, const struct shared *s)
{
    say("%s: a = %d, b = %d, total %d, pending %d", who, s->a, s->b, s->a + s->b, s->pending);
}

/* The owner: starts a transfer under the lock and is killed halfway,
 * as kill -9 or the OOM killer would do it: no cleanup code runs. */
static void owner(struct shared *s)
{
    check(pthread_mutex_lock(&s->mutex), "pthread_mutex_lock");
    s->pending = AMOUNT; /* the journal first, so a successor can finish the transfer */
    s->a -= AMOUNT;
    say("Owner: locked the mutex, took %d from a; killed before it adds them to b", AMOUNT);
    kit_mark("killed holding the lock");
    raise(SIGKILL);
}

/* EOWNERDEAD: we hold the lock, and the data may be half-changed. Repair it
 * from the journal, then say the state is consistent again. */
static void recover(struct shared *s)
{
    /* EXERCISE 03c.2: finish the dead owner's transfer, then mark the mutex consistent (unless --no-consistent)
     * HINT: The journal (s->pending) says what a lost and b has not yet got; after the repair it is 0.
     * HINT: s->b += s->pending; s->pending = 0; then, unless no_consistent, check(pthread_mutex_consistent(&s->mutex), ...).
     * NEEDS: 03c.1
     */
    s->b += s->pending;
    s->pending = 0;
    say_accounts("Next: repaired from the journal", s);
    if (!no_consistent) {
        check(pthread_mutex_consistent(&s->mutex), "pthread_mutex_consistent");
        say("Next: pthread_mutex_consistent: the mutex works again after this unlock");
    } else {
        say("Next: unlocks WITHOUT pthread_mutex_consistent (--no-consistent)");
    }
    /* STUB 03c.2
    (void)s;
     */
    /* END EXERCISE 03c.2 */
}

/* The next process to lock it, after the owner is certainly dead. */
static void next_locker(struct shared *s)
{
    int err = lock_or_give_up(&s->mutex, "Next");
    if (err == ETIMEDOUT)
        return;
    if (err == EOWNERDEAD) {
        say("Next: pthread_mutex_lock returned EOWNERDEAD: I hold the lock, its owner died inside it");
        say_accounts("Next: found", s);
        recover(s);
    }
    check(pthread_mutex_unlock(&s->mutex), "pthread_mutex_unlock");
}

/* fork() a child that runs BODY, and wait for it (one at a time: the order is the lesson). */
static int run_child(const char *name, void (*body)(struct shared *), struct shared *s)
{
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork for %s", name);
    if (pid == 0) {
        kit_child_begin(name);
        body(s);
        kit_child_end();
        _exit(0);
    }
    kit_child_started(pid, name);
    int status;
    kit_phase("waitpid");
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid for %s", name);
    kit_child_reaped(pid, status);
    char text[64];
    say("Parent: %s (pid %ld) ended: %s", name, (long)pid, status_text(status, text, sizeof text));
    return status;
}

int main(int argc, char **argv)
{
    static const struct program prog = {"A process dies holding a process-shared mutex; the next one to lock it\n"
        "is told (EOWNERDEAD), repairs the data and marks the mutex consistent.", flags, true, NULL, NULL};
    kit_start(argc, argv, &prog);
    if (not_robust && no_consistent)
        usage_error("--no-consistent needs a robust mutex: drop --not-robust");
    struct shared *s = map_shared_mutex();
    say("Parent process ID: %ld; the mutex is %s", (long)getpid(),
        not_robust ? "process-shared, NOT robust" : "process-shared and robust");
    say_accounts("Parent: before", s);

    int status = run_child("Owner", owner, s);
    bool ok = WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
    status = run_child("Next", next_locker, s);
    ok = ok && WIFEXITED(status) && WEXITSTATUS(status) == 0;

    int err = lock_or_give_up(&s->mutex, "Parent"); /* once more, to see what state the mutex is in */
    if (err == 0 || err == EOWNERDEAD) {
        say_accounts("Parent: locked it normally", s);
        check(pthread_mutex_unlock(&s->mutex), "pthread_mutex_unlock");
    } else if (err == ENOTRECOVERABLE) {
        say("Parent: pthread_mutex_lock returned ENOTRECOVERABLE: no one said consistent, the mutex is dead for good");
    }
    bool as_expected = not_robust ? err == ETIMEDOUT : no_consistent ? err == ENOTRECOVERABLE : err == 0;
    bool balanced = not_robust || s->a + s->b == 2 * START;
    if (!as_expected || !balanced)
        warn_msg("the mutex or the accounts did not end as they should: %s, total %d", strerror(err), s->a + s->b);
    return ok && as_expected && balanced ? 0 : 1;
}
