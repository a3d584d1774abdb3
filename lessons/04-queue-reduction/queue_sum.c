/* queue_sum.c - workers count, a pipe carries their sub-totals, the parent adds them up (seed example 4).
 *
 * Python                                       C, in this file
 *   q = Queue()                                  pipe(fds): a queue of 32-byte records
 *   Process(target=worker, args=(i, n, q))       fork(); the child runs worker()
 *   for i in range(baseNum): sub_total += 1      count_to(): a real loop, one pass per step
 *   q.put(sub_total)                             write(2) of one record: <= PIPE_BUF, so atomic
 *   process.join()                               waitpid() for each worker, in start order
 *   q.put('exit'); q.get() until 'exit'          a RECORD_EXIT record, then read(2) until it
 *   (--order drain-then-join)                    read(2) until end of file, then waitpid()
 *   time.time() - start_time                     now_seconds() (CLOCK_MONOTONIC)
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include <limits.h> /* PIPE_BUF */
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static long workers = 5, count = 100000000, results; /* results: records read */
static const char *order = "join-then-drain";
static double start_time; /* before the queue is made, as in the seed */

static const struct flag flags[] = {
    {"--workers", FLAG_INT, &workers, 1, 1024, "how many worker processes", NULL},
    {"--count", FLAG_INT, &count, 0, 1e12, "how far each worker counts", NULL},
    {"--order", FLAG_CHOICE, &order, 0, 0, "join then read the queue (the seed's), or read first",
     "join-then-drain|drain-then-join"},
    {0},
};

/* What goes through the pipe: Python pickles objects, C sends plain bytes. */
enum { RECORD_RESULT = 1, RECORD_EXIT = 2 };
struct record { int64_t kind, worker, pid, subtotal; }; /* worker -1: the parent's 'exit' */
/* POSIX: a write of at most PIPE_BUF bytes to a pipe is atomic (never mixed). */
_Static_assert(sizeof(struct record) <= PIPE_BUF, "a record must fit in one atomic write");

static long long count_to(long n);
static noreturn void worker(int id, int wr);

/* p.start() for worker ID: fork() copies this process, the pipe included. */
static pid_t start_worker(int id, const int fds[2])
{
    char name[16];
    snprintf(name, sizeof name, "%d", id); /* the seed's name=str(i) */
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork for worker %d of %ld", id, workers);
    if (pid == 0) {
        kit_child_begin(name);
        /* EXERCISE 04.4: a worker only writes: close the end of the pipe it never uses
         * HINT: fds[0] is the read end, fds[1] the write end; both were copied by fork().
         * HINT: close(fds[0]); (then a worker whose parent died gets EPIPE, never waits for ever) */
        close(fds[0]);
        /* END EXERCISE 04.4 */
        worker(id, fds[1]);
    }
    kit_child_started(pid, name);
    return pid;
}

static noreturn void worker(int id, int wr) /* count, put the sub-total, say so */
{
    long long sub_total = count_to(count);
    struct record r = {RECORD_RESULT, id, getpid(), sub_total};
    kit_phase("write");
    /* EXERCISE 04.1: put the record r on the queue: one write(2) of the whole record to wr
     * HINT: One write of sizeof r bytes is atomic (sizeof r <= PIPE_BUF): it cannot tear.
     * HINT: if (write(wr, &r, sizeof r) != (ssize_t)sizeof r) die_errno("write to the queue"); */
    if (write(wr, &r, sizeof r) != (ssize_t)sizeof r)
        die_errno("worker %d: write to the queue", id);
    /* STUB 04.1
    (void)wr, (void)r;
     */
    /* END EXERCISE 04.1 */
    kit_mark("put"); /* an instant on the timeline; then back to "run" */
    kit_phase("run");
    /* Both lines in one write(2): they stay together in the output. */
    say("Process ID: %ld, Process name: %d, ID: %d\nResult: %lld", (long)getpid(), id, id, sub_total);
    kit_child_end();
    _exit(0);
}

/* for process in processes: process.join(), then the time, as the seed.
 * Our own pids only: a child someone else started is none of our business. */
static bool join_all(const pid_t *pids)
{
    bool all_ok = true;
    for (long i = 0; i < workers; i++) {
        int status;
        kit_phase("waitpid");
        if (waitpid(pids[i], &status, 0) < 0)
            die_errno("waitpid for worker %ld", i);
        kit_child_reaped(pids[i], status); /* first: a worker dead of SIGPIPE ends us quietly */
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        char text[64];
        warn_msg("worker %ld (pid %ld) failed: %s", i, (long)pids[i], status_text(status, text, sizeof text));
        all_ok = false;
    }
    say("--- %.6f seconds ---", now_seconds() - start_time);
    return all_ok;
}

/* q.get() until the end: the 'exit' sentinel (the seed's order), or end of
 * file, which read() reports once every write end of the pipe is closed. */
static long long drain(int rd)
{
    long long total = 0;
    struct record r;
    kit_phase("read");
    /* EXERCISE 04.2: read records from rd until the 'exit' sentinel or end of file; add up the results
     * HINT: read() returns sizeof r for a record (one atomic write each), 0 at end of file, -1 on error.
     * HINT: for (;;) { n = read(rd, &r, sizeof r); stop on 0 or r.kind == RECORD_EXIT; total += r.subtotal; results++; } */
    ssize_t n; /* 0: end of file */
    while ((n = read(rd, &r, sizeof r)) > 0 && r.kind != RECORD_EXIT) {
        total += r.subtotal; /* a whole record: it went in with one atomic write */
        results++;
    }
    if (n < 0)
        die_errno("read from the queue");
    /* STUB 04.2
    for (long i = 0; i < workers && read(rd, &r, sizeof r) > 0; i++, results++)
        total += r.subtotal; // one record per worker: but what if one died?
     */
    /* END EXERCISE 04.2 */
    kit_phase("run");
    return total;
}

/* q.put('exit'): every result is in the pipe ahead of it (1025 records fill 32 of its 64 KiB). */
static void put_sentinel(int wr)
{
    struct record r = {RECORD_EXIT, -1, getpid(), 0};
    if (write(wr, &r, sizeof r) != (ssize_t)sizeof r)
        die_errno("put 'exit' on the queue");
    say("Main-Processing: put 'exit' on the queue");
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Workers count and put their sub-totals on a pipe; the parent adds them up.",
        .flags = flags, .timeline = true,
    };
    kit_start(argc, argv, &prog);
    bool seed_order = choice_index("join-then-drain|drain-then-join", order) == 0;
    static pid_t pids[1024];
    say("Parent process id: %ld", (long)getpid());
    start_time = now_seconds();
    int fds[2];
    if (pipe(fds) < 0)
        die_errno("pipe");
    say("Queue: pipe, items of %zu bytes (at most PIPE_BUF = %d: one atomic write each)", sizeof(struct record), PIPE_BUF);
    say("Order: %s", seed_order ? "join, then drain (the seed's)" : "drain, then join");
    for (long i = 0; i < workers; i++)
        pids[i] = start_worker((int)i, fds);
    long long total;
    bool all_ok;
    /* EXERCISE 04.3: the order: join all, put 'exit', drain (seed_order); or close fds[1], drain, join all
     * HINT: The seed joins first and then drains to its own sentinel; the other order needs no sentinel.
     * HINT: Draining first, the parent must close its own write end, or end of file never comes. */
    if (seed_order) {
        all_ok = join_all(pids);
        put_sentinel(fds[1]);
        total = drain(fds[0]);
    } else {
        close(fds[1]); /* the workers' copies are the last: end of file when they are gone */
        total = drain(fds[0]);
        all_ok = join_all(pids);
    }
    /* STUB 04.3
    (void)seed_order;
    all_ok = join_all(pids);
    put_sentinel(fds[1]);
    total = drain(fds[0]);
     */
    /* END EXERCISE 04.3 */
    say("Main-Processing Total Count=%lld", total);
    say("Main-Processing Done.");
    long long expected = (long long)workers * count;
    if (all_ok && results == workers && total == expected)
        return 0;
    warn_msg("%ld of %ld results arrived, adding up to %lld (expected %lld)", results, workers, total, expected);
    return 1;
}

/* sub_total += 1, for real: the empty asm says "sum may change here unseen",
 * so -O2 cannot fold the loop. Aligned: where a loop lands sets its speed. */
__attribute__((noinline, aligned(64))) static long long count_to(long n)
{
    long long sum = 0;
    for (long i = 0; i < n; i++) {
        sum += 1;
        __asm__ volatile("" : "+r"(sum));
    }
    return sum;
}
