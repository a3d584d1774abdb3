/* mqueue_sum.c - seed example 4 over a POSIX message queue: one message per sub-total.
 *
 * Python                                       C, in this file
 *   q = Queue()                                  mq_open(unique name, O_CREAT|O_EXCL, 0600); mq_unlink()
 *   Process(target=worker, args=(i, n, q))       fork(); the child inherits the open queue
 *   q.put(sub_total)                             mq_timedsend(): one message; waits --watchdog s at most
 *   process.join()                               waitpid() for each worker
 *   q.put('exit'); q.get() until 'exit'          a RECORD_EXIT message; mq_receive() until it
 *   (--order drain-then-join)                    mq_timedreceive() until every result is in
 */
#define _POSIX_C_SOURCE 200809L
#include "kit.h"
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_DEADLOCK = 3, RECORD_RESULT = 1, RECORD_EXIT = 2 };
struct record { int64_t kind, worker, pid, subtotal; };

static long workers = 5, count = 100000000, results, capacity, stuck; /* stuck: found it full */
static const char *order = "join-then-drain";
static double watchdog = 3;
static pid_t pids[1024];
static bool reaped[1024], worker_failed;

static const struct flag flags[] = {
    {"--workers", FLAG_INT, &workers, 1, 1024, "how many worker processes", NULL},
    {"--count", FLAG_INT, &count, 0, 1e12, "how far each worker counts", NULL},
    {"--order", FLAG_CHOICE, &order, 0, 0, "join, then read (the seed's), or read first", "join-then-drain|drain-then-join"},
    {"--watchdog", FLAG_SECONDS, &watchdog, 0.05, 3600, "how long a put waits for room on a full queue", NULL},
    {0},
};

/* A message queue has a name, like a file: unique to this run, created only
 * if new (O_EXCL), ours alone (0600), and unlinked at once. The queue lives
 * on while a descriptor is open, and fork() gives each worker one. Signals
 * wait meanwhile, so even Ctrl-C cannot leave the name behind. */
static mqd_t open_queue(char *name, size_t size)
{
    double now = now_seconds();
    snprintf(name, size, "/mqueue_sum-%ld-%ld", (long)getpid(), (long)((now - (long)now) * 1e9));
    struct mq_attr attr = {.mq_maxmsg = capacity, .mq_msgsize = sizeof(struct record)};
    sigset_t all, old;
    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, &old);
    mqd_t q = mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (q == (mqd_t)-1 && (errno == ENOSYS || errno == EACCES || errno == ENOENT))
        die_errno("POSIX message queues are not available here (queue_sum in lesson 04 uses a pipe); mq_open");
    if (q == (mqd_t)-1)
        die_errno("mq_open %s", name);
    if (mq_unlink(name) < 0)
        die_errno("mq_unlink %s", name);
    sigprocmask(SIG_SETMASK, &old, NULL);
    return q;
}

/* An absolute CLOCK_REALTIME time SECONDS from now, as mq_timed* want it. */
static struct timespec deadline(double seconds)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    long ns = t.tv_nsec + (long)((seconds - (double)(long)seconds) * 1e9);
    t.tv_sec += (time_t)seconds + ns / 1000000000L, t.tv_nsec = ns % 1000000000L;
    return t;
}

static noreturn void worker(int id, mqd_t q)
{
    long long sub_total = 0;
    for (long i = 0; i < count; i++) {
        sub_total += 1;
        __asm__ volatile("" : "+r"(sub_total)); /* a real loop: see lesson 04's count_to() */
    }
    struct record r = {RECORD_RESULT, id, getpid(), sub_total};
    kit_phase("write");
    /* EXERCISE 04b.1: put r on the queue as one message, waiting at most `watchdog` seconds for room
     * HINT: mq_timedsend(q, (const char *)&r, sizeof r, 0, &until) takes an absolute time: deadline(watchdog).
     * HINT: On ETIMEDOUT the queue stayed full: warn_msg(...) and _exit(EXIT_DEADLOCK); other errors: die_errno. */
    struct timespec until = deadline(watchdog);
    if (mq_timedsend(q, (const char *)&r, sizeof r, 0, &until) < 0) {
        if (errno != ETIMEDOUT)
            die_errno("worker %d: mq_send", id);
        warn_msg("worker %d: the queue stayed full for %g s: nobody reads it", id, watchdog);
        _exit(EXIT_DEADLOCK);
    }
    /* STUB 04b.1
    (void)q, (void)r;
     */
    /* END EXERCISE 04b.1 */
    say("Process ID: %ld, Process name: %d, ID: %d\nResult: %lld", (long)getpid(), id, id, sub_total);
    kit_child_end();
    _exit(0);
}

/* Reap worker I if it has ended (WNOHANG) or once it ends (0); true if
 * reaped. Our own pids only: a child someone else started is not ours. */
static bool reap(long i, int options)
{
    int status;
    if (options == 0)
        kit_phase("waitpid");
    pid_t got = waitpid(pids[i], &status, options);
    if (got < 0)
        die_errno("waitpid for worker %ld", i);
    if (got == 0)
        return false;
    kit_child_reaped(pids[i], status);
    reaped[i] = true;
    if (WIFEXITED(status) && WEXITSTATUS(status) == EXIT_DEADLOCK)
        stuck++;
    else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        char text[64];
        warn_msg("worker %ld (pid %ld) failed: %s", i, (long)pids[i], status_text(status, text, sizeof text));
        worker_failed = true;
    }
    return true;
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Workers count and send their sub-totals through a POSIX message queue.",
        .flags = flags, .timeline = true,
    };
    kit_start(argc, argv, &prog);
    bool seed_order = choice_index("join-then-drain|drain-then-join", order) == 0;
    capacity = workers + 1 < 10 ? workers + 1 : 10; /* results and 'exit'; 10: Linux's msg_max */
    say("Parent process id: %ld", (long)getpid());
    double start_time = now_seconds();
    char name[64];
    mqd_t q = open_queue(name, sizeof name);
    say("Queue: POSIX message queue %s (%ld messages of %zu bytes; name unlinked at once, the workers "
        "inherit the open queue)", name, capacity, sizeof(struct record));
    say("Order: %s", seed_order ? "join, then drain (the seed's)" : "drain, then join");
    for (long i = 0; i < workers; i++) {
        char id[16];
        snprintf(id, sizeof id, "%ld", i);
        pid_t pid = fork();
        if (pid < 0)
            die_errno("fork for worker %ld of %ld", i, workers);
        if (pid == 0) {
            kit_child_begin(id);
            worker((int)i, q);
        }
        kit_child_started(pid, id);
        pids[i] = pid;
    }
    long long total = 0;
    struct record r; /* one message */
    if (seed_order) {
        for (long i = 0; i < workers; i++)
            reap(i, 0);
        say("--- %.6f seconds ---", now_seconds() - start_time);
        struct record sentinel = {RECORD_EXIT, -1, getpid(), 0}; /* put at once or fail: deadline 0 */
        if (stuck || mq_timedsend(q, (const char *)&sentinel, sizeof sentinel, 0, &(struct timespec){0, 0}) < 0) {
            warn_msg("deadlock: %s; drain before join (--order drain-then-join)", stuck
                     ? "workers found a full message queue while the parent waited to join them"
                     : "the message queue is full, so the 'exit' sentinel does not fit and nobody reads yet");
            return EXIT_DEADLOCK;
        }
        say("Main-Processing: put 'exit' on the queue");
        kit_phase("read");
        while (mq_receive(q, (char *)&r, sizeof r, NULL) >= 0 && r.kind != RECORD_EXIT)
            total += r.subtotal, results++;
    } else {
        /* No end of file here: wait 0.1 s at a time; all workers gone, take the rest. */
        for (bool gone = false; results < workers;) {
            kit_phase("read");
            struct timespec until = deadline(gone ? 0 : 0.1);
            if (mq_timedreceive(q, (char *)&r, sizeof r, NULL, &until) >= 0) {
                total += r.subtotal, results++;
                continue;
            }
            if (errno != ETIMEDOUT)
                die_errno("mq_receive");
            if (gone)
                break;
            gone = true;
            for (long i = 0; i < workers; i++)
                gone = (reaped[i] || reap(i, WNOHANG)) && gone;
        }
        for (long i = 0; i < workers; i++)
            if (!reaped[i])
                reap(i, 0);
        say("--- %.6f seconds ---", now_seconds() - start_time);
    }
    say("Main-Processing Total Count=%lld", total);
    say("Main-Processing Done.");
    long long expected = (long long)workers * count;
    if (!worker_failed && results == workers && total == expected)
        return 0;
    warn_msg("%ld of %ld results arrived, adding up to %lld (expected %lld)", results, workers, total, expected);
    return 1;
}
