/* queue_sum.c - workers count, put sub-totals on a queue, the parent adds
 * them up (seed example 4).
 *
 * Python                                    C, in this file
 *   q = Queue()                               pipe(fds), or mq_open(name, O_CREAT | O_EXCL, 0600)
 *   Process(name=str(i), target=worker,       fork(); the child runs worker()
 *           args=(i, 100000000, q)).start()
 *   for i in range(baseNum): sub_total += 1   count_to(): a real loop, one add per step
 *   q.put(sub_total)                          put(): write(2) of fixed-size pieces, or mq_send()
 *   process.join()                            waitpid(), with a watchdog for the deadlock
 *                                             (sigtimedwait() on SIGCHLD)
 *   q.put('exit')                             a record of kind RECORD_EXIT: the sentinel
 *   q.get()                                   get(): read(2) of one piece, or mq_receive()
 *   time.time() - start_time                  now_seconds() (CLOCK_MONOTONIC)
 *
 * Run:   make && ./queue_sum                 the seed: 5 workers x 100,000,000
 *        ./queue_sum --queue mqueue          the same through a POSIX message queue
 *        ./queue_sum --workers 2 --count 1000 --item-bytes 100000
 *                                            join before drain, with items too big
 *                                            for the pipe: the deadlock, caught
 *        ... --order drain-then-join         the same items, in the right order
 * Watch: `top` while `./queue_sum --workers 2 --count 2000000000` runs: two
 *        workers at 100%, one per core; the time it prints is about the
 *        same as with --workers 1 (on 2 cores or more).
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_WORKERS = 1024, MAX_ITEM_BYTES = 16 * 1024 * 1024, EXIT_DEADLOCK = 3 };

enum queue_kind { QUEUE_PIPE, QUEUE_MQUEUE };
enum order { JOIN_THEN_DRAIN, DRAIN_THEN_JOIN };

struct options {
    int workers;
    long count;
    enum queue_kind queue;
    enum order order;
    long item_bytes;
    double watchdog;
};

/* What goes through the queue. Python pickles any object; C sends plain
 * bytes, so both sides agree on this layout: four numbers, 32 bytes. */
enum { RECORD_RESULT = 1, RECORD_EXIT = 2, RECORD_FILLER = 3 };
struct record {
    int64_t kind;   /* a result, the 'exit' sentinel, or filler (big items) */
    int64_t worker; /* who sent it: 0 .. workers-1, or -1 for the parent */
    int64_t pid;
    int64_t subtotal;
};
/* POSIX: a write of at most PIPE_BUF bytes to a pipe is atomic. It is
 * never split, and never mixed with another process's write. */
static_assert(sizeof(struct record) <= PIPE_BUF, "a record must fit in one atomic pipe write");

/* The queue. Everything on it travels in pieces of one size, each one
 * write(2) (so at most PIPE_BUF) or one message: a record, then zeros. */
struct queue {
    enum queue_kind kind;
    int rd, wr;     /* the pipe's ends */
    mqd_t mq;
    char name[64];  /* the message queue's name, for the story only */
    long capacity;  /* how many messages the message queue holds */
    long piece;     /* bytes in one piece */
    long pieces;    /* pieces in one worker's item */
};

/* The workers' pids, 0 once reaped: the stop-signal handler reads them. */
static volatile sig_atomic_t live_pid[MAX_WORKERS];
static volatile sig_atomic_t started;
static int reaped;             /* how many workers have been reaped */
static bool a_worker_failed;   /* one was killed, or exited non-zero */

/* Stop and reap every worker still there. Async-signal-safe (kill and
 * waitpid only), so the stop-signal handler uses it too. The stop signals
 * stay blocked: a handler run in the middle would find pids already
 * reaped but not yet cleared. SIGCONT wakes a worker someone stopped
 * (kill -STOP), or SIGTERM would wait and so would waitpid. */
static void stop_workers(void)
{
    block_stop_signals();
    for (int i = 0; i < started; i++)
        if (live_pid[i] > 0) {
            kill(live_pid[i], SIGTERM);
            kill(live_pid[i], SIGCONT);
        }
    for (int i = 0; i < started; i++)
        if (live_pid[i] > 0) {
            while (waitpid(live_pid[i], NULL, 0) < 0 && errno == EINTR)
                continue;
            live_pid[i] = 0;
        }
}

/* ---- the work ------------------------------------------------------- */

/* `for i in range(baseNum): sub_total += 1`, as real work. At -O2 a
 * compiler sees that this loop computes n and replaces it with `return n`
 * (see the README). The empty asm statement says "sum may have changed
 * here in a way you cannot see", so every add must really happen. It emits
 * no instruction and sum stays in a register: about one add per cycle.
 * Where the loop lands in memory matters too: one that crossed from one
 * 64-byte block of code into the next ran at half speed on the machine the
 * kit was built on. So it has a function of its own, at a block's start. */
__attribute__((noinline, aligned(64))) static long long count_to(long n)
{
    long long sum = 0;
    for (long i = 0; i < n; i++) {
        sum += 1;
#if defined(__GNUC__) || defined(__clang__)
        __asm__ volatile("" : "+r"(sum));
#endif
    }
    return sum;
}

/* ---- the queue ------------------------------------------------------ */

/* Room for every result and the sentinel, but no more than Linux lets an
 * ordinary user ask for (msg_max, 10 by default). With more workers, the
 * seed's order deadlocks on a message queue too, and the watchdog says so. */
static long mq_capacity(int workers)
{
    long limit = 10;
    FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
    if (f) {
        if (fscanf(f, "%ld", &limit) != 1 || limit < 1)
            limit = 10;
        fclose(f);
    }
    return workers + 1 < limit ? workers + 1 : limit;
}

/* A message queue needs a name, like a file: this one is unique to the
 * run, created only if it does not exist (O_EXCL), ours alone (0600), and
 * unlinked at once. The queue lives on while a descriptor is open, and
 * each worker inherits one from fork(): no name is left, whatever happens. */
static void open_mqueue(struct queue *q, int workers)
{
    struct mq_attr attr = {0};
    attr.mq_maxmsg = q->capacity = mq_capacity(workers);
    attr.mq_msgsize = sizeof(struct record);
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    snprintf(q->name, sizeof q->name, "/queue_sum-%ld-%ld", (long)getpid(), (long)now.tv_nsec);

    block_stop_signals(); /* no Ctrl-C between mq_open and mq_unlink */
    q->mq = mq_open(q->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
    if (q->mq == (mqd_t)-1 && (errno == ENOSYS || errno == EACCES || errno == ENOENT))
        die_errno("--queue mqueue: POSIX message queues are not available here "
                  "(use --queue pipe); mq_open");
    if (q->mq == (mqd_t)-1)
        die_errno("mq_open %s", q->name);
    if (mq_unlink(q->name) < 0)
        die_errno("mq_unlink %s", q->name);
    unblock_stop_signals();
}

/* An item of up to PIPE_BUF bytes is one piece. A bigger one is sent as
 * pieces of PIPE_BUF bytes (rounded up): two workers' pieces may take
 * turns in the pipe, but none is ever torn. (Python's Queue takes a lock
 * instead, so that one writer at a time writes a whole item.) */
static void open_queue(struct queue *q, const struct options *opt)
{
    q->kind = opt->queue;
    q->rd = q->wr = -1;
    q->piece = opt->item_bytes < PIPE_BUF ? opt->item_bytes : PIPE_BUF;
    q->pieces = (opt->item_bytes + q->piece - 1) / q->piece;
    if (q->kind == QUEUE_MQUEUE) {
        open_mqueue(q, opt->workers);
        return;
    }
    int fds[2];
    if (pipe(fds) < 0)
        die_errno("pipe");
    q->rd = fds[0];
    q->wr = fds[1];
}

/* One piece: a single write(2) of the record and zeros after it, or a
 * single message. Returns 0, or -1 with errno set. */
static int put_piece(struct queue *q, const struct record *r)
{
    static char piece[PIPE_BUF];
    memcpy(piece, r, sizeof *r);
    if (q->kind == QUEUE_MQUEUE)
        return mq_send(q->mq, piece, sizeof *r, 0);
    return write(q->wr, piece, (size_t)q->piece) == q->piece ? 0 : -1;
}

/* q.put(): the item's filler pieces first, the record with the result last. */
static void put(struct queue *q, const struct record *r)
{
    struct record filler = {.kind = RECORD_FILLER, .worker = r->worker, .pid = r->pid};
    for (long k = 1; k < q->pieces; k++)
        if (put_piece(q, &filler) < 0)
            die_errno("put");
    if (put_piece(q, r) < 0)
        die_errno("put");
}

/* q.get(): the next record, skipping filler. On the message queue it
 * waits at most TIMEOUT seconds (< 0: for ever); on the pipe until a piece
 * comes, or the end of the pipe (every write end closed). Returns 1 for a
 * record, 0 when the time is up or a signal came, -1 at the end. */
static int get(struct queue *q, struct record *r, double timeout)
{
    if (q->kind == QUEUE_MQUEUE) {
        struct timespec until; /* mq_timedreceive wants a time on CLOCK_REALTIME */
        clock_gettime(CLOCK_REALTIME, &until);
        long ns = until.tv_nsec + (long)(timeout * 1e9);
        until.tv_sec += ns / 1000000000L;
        until.tv_nsec = ns % 1000000000L;
        ssize_t n;
        if (timeout < 0)
            n = mq_receive(q->mq, (char *)r, sizeof *r, NULL);
        else
            n = mq_timedreceive(q->mq, (char *)r, sizeof *r, NULL, &until);
        if (n < 0 && errno != ETIMEDOUT && errno != EINTR)
            die_errno("mq_receive");
        return n < 0 ? 0 : 1;
    }
    char piece[PIPE_BUF];
    do {
        /* Each piece went in with one atomic write: one read gets it whole. */
        ssize_t n = read(q->rd, piece, (size_t)q->piece);
        if (n < 0 && errno != EINTR)
            die_errno("read");
        if (n <= 0)
            return n < 0 ? 0 : -1;
        assert(n == q->piece);
        memcpy(r, piece, sizeof *r);
    } while (r->kind == RECORD_FILLER);
    return 1;
}

/* ---- the workers ---------------------------------------------------- */

/* The child's whole life: count, close COUNTING_FD (this tells the parent's
 * watchdog "I have finished counting"), put the sub-total on the queue. */
static noreturn void worker(int id, long count, struct queue *q, int counting_fd)
{
    pid_t pid = getpid();
    long long sub_total = count_to(count);
    close(counting_fd);

    struct record r = {.kind = RECORD_RESULT, .worker = id, .pid = pid, .subtotal = sub_total};
    put(q, &r);

    /* Both lines in one write(2): they stay together in the output. */
    say("Process ID: %ld, Process name: %d, ID: %d\nResult: %lld", (long)pid, id, id, sub_total);
    _exit(0);
}

static void start_workers(const struct options *opt, struct queue *q, int counting[2])
{
    for (int i = 0; i < opt->workers; i++) {
        block_stop_signals(); /* until live_pid[i] is recorded */
        pid_t pid = fork();
        if (pid < 0) {
            int saved = errno;
            stop_workers();
            errno = saved;
            die_errno("fork (worker %d of %d; the %d started are stopped)", i, opt->workers, i);
        }
        if (pid == 0) {
            child_default_signals();
            /* A worker only writes. With only the parent's read end open, a
             * worker outliving its parent gets EPIPE, not a wait for ever. */
            if (q->rd >= 0)
                close(q->rd);
            close(counting[0]);
            worker(i, opt->count, q, counting[1]);
        }
        live_pid[i] = pid;
        started = i + 1;
        unblock_stop_signals();
    }
}

/* Reap one worker that has ended, if any, without waiting (WNOHANG), and
 * say so if it failed. The stop signals wait meanwhile: between waitpid
 * and clearing live_pid the handler would kill a pid that is no longer
 * ours (the kernel may already have given it to a new process). Returns
 * true if it reaped one. */
static bool reap_one(void)
{
    int status, i = 0;
    block_stop_signals();
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid < 0)
        die_errno("waitpid");
    if (pid > 0) {
        while (live_pid[i] != pid) /* every child is a recorded worker */
            i++;
        live_pid[i] = 0;
        reaped++;
    }
    unblock_stop_signals();
    if (pid == 0)
        return false;
    if (WIFSIGNALED(status))
        warn_msg("worker %d (pid %ld) was killed by signal %d", i, (long)pid, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        warn_msg("worker %d (pid %ld) exited with status %d", i, (long)pid, WEXITSTATUS(status));
    a_worker_failed |= WIFSIGNALED(status) || WEXITSTATUS(status) != 0;
    return true;
}

/* Sleep until a worker ends or SECONDS pass. main() blocks SIGCHLD before
 * the first fork, so a worker that ends before we get here leaves it
 * pending, and sigtimedwait returns at once: no wake-up is ever lost. */
static void wait_for_a_child(double seconds)
{
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    struct timespec limit = {(time_t)seconds, (long)((seconds - (double)(time_t)seconds) * 1e9)};
    sigtimedwait(&chld, NULL, &limit); /* ends on SIGCHLD, the time, or EINTR */
}

/* `for process in processes: process.join()`, with a watchdog. First wait
 * until every worker has finished counting, however long that takes: each
 * closes its end of the counting pipe then, so read() returns 0 (end of
 * file) once all have. After that a worker can only be putting its item,
 * or exiting. If none ends for WATCHDOG seconds, they are stuck on a full
 * queue that nobody reads until the joins are done: a deadlock. Returns
 * false then. */
static bool join_all(int counting_fd, int n, double watchdog)
{
    char byte;
    ssize_t got;
    while ((got = read(counting_fd, &byte, 1)) != 0)
        if (got < 0 && errno != EINTR)
            die_errno("read");

    double last_end = now_seconds(); /* the watchdog starts again at every join */
    while (reaped < n) {
        if (reap_one()) {
            last_end = now_seconds();
            continue;
        }
        double left = last_end + watchdog - now_seconds();
        if (left <= 0)
            return false;
        wait_for_a_child(left);
    }
    return true;
}

/* The seed's order, after the joins: put the 'exit' sentinel, then take
 * items until it comes back out. Even the sentinel can find the queue
 * full (items that just fill it); a put that waited would hang the parent
 * for ever, as it is the only reader. So this put does not wait. */
static long long drain_to_sentinel(struct queue *q, int *results)
{
    struct record r = {.kind = RECORD_EXIT, .worker = -1, .pid = getpid()};
    int rc;
    if (q->kind == QUEUE_PIPE) {
        fcntl(q->wr, F_SETFL, fcntl(q->wr, F_GETFL) | O_NONBLOCK);
        rc = put_piece(q, &r); /* all or nothing (EAGAIN): one atomic write */
    } else {
        struct timespec past = {0, 0}; /* a deadline long gone: fail at once if full */
        rc = mq_timedsend(q->mq, (const char *)&r, sizeof r, 0, &past);
    }
    if (rc < 0 && errno != EAGAIN && errno != ETIMEDOUT)
        die_errno("put 'exit'");
    if (rc < 0) {
        warn_msg("deadlock: the %s is full, so the 'exit' sentinel does not fit and nobody "
                 "reads yet; drain before join (--order drain-then-join)",
                 q->kind == QUEUE_PIPE ? "pipe" : "message queue");
        exit(EXIT_DEADLOCK);
    }
    say("Main-Processing: put 'exit' on the queue");

    long long total = 0;
    for (;;) {
        if (get(q, &r, -1) == 0)
            continue; /* a signal: wait again (we hold a write end: no EOF) */
        if (r.kind == RECORD_EXIT)
            return total;
        total += r.subtotal;
        ++*results;
    }
}

/* The right order: take results while the workers run, until every worker
 * has sent one or none is left that could, then join them. The pipe ends
 * (EOF) when the last worker is gone (the parent has closed its own write
 * end): a sentinel for free. A message queue has no end, so the parent
 * waits 0.1 s at a time and looks whether the workers are all gone. */
static long long drain_then_join(struct queue *q, int n, int *results)
{
    long long total = 0;
    bool last_look = false;
    while (*results < n) {
        struct record r;
        int got = get(q, &r, last_look ? 0 : 0.1);
        if (got > 0) {
            total += r.subtotal;
            ++*results;
        } else if (got < 0 || last_look) {
            break; /* nothing more can come */
        } else {
            while (reaped < n && reap_one())
                ;
            last_look = reaped == n; /* all gone: one more look, not waiting */
        }
    }
    while (reaped < n)
        if (!reap_one())
            wait_for_a_child(1.0);
    return total;
}

/* ---- main ----------------------------------------------------------- */

/* Ctrl-C or kill: stop and reap the workers, then die of the signal. The
 * message queue's name is already gone (see open_mqueue). */
static void on_stop_signal(int sig)
{
    stop_workers();
    die_of_signal(sig);
}

static void usage(void)
{
    fputs("usage: queue_sum [--workers N] [--count N] [--queue pipe|mqueue]\n"
          "                 [--order join-then-drain|drain-then-join]\n"
          "                 [--item-bytes N] [--watchdog SECONDS]\n"
          "\n"
          "Workers count to N and put their sub-totals on a queue; the parent adds\n"
          "them up (seed example 4).\n"
          "\n"
          "  --workers N         how many worker processes (default 5; 1 to 1024)\n"
          "  --count N           how far each worker counts (default 100000000;\n"
          "                      0 to 1000000000000)\n"
          "  --queue KIND        pipe (default) or mqueue (a POSIX message queue)\n"
          "  --order ORDER       join-then-drain (default, the seed's: join the workers,\n"
          "                      then read the queue) or drain-then-join (read first)\n"
          "  --item-bytes N      size of each item on the queue (default 32, just the\n"
          "                      result; 32 to 16777216; pipe only). Over 4096 (PIPE_BUF)\n"
          "                      it is rounded up to whole pieces of 4096. From 65536 on,\n"
          "                      one item fills a Linux pipe: join-then-drain deadlocks\n"
          "  --watchdog SECONDS  declare a deadlock when every worker has finished counting\n"
          "                      and none has ended for this long (default 3; 0.05 to 3600)\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 all went well, 1 an error or a worker failed, 2 bad command\n"
          "line, 3 deadlock detected (the workers were stopped).\n",
          stdout);
}

/* VALUE must be A or B: returns 0 for A, 1 for B. */
static int one_of(const char *flag, const char *value, const char *a, const char *b)
{
    if (strcmp(value, a) == 0)
        return 0;
    if (strcmp(value, b) == 0)
        return 1;
    usage_error("%s: '%s' is not allowed (allowed: %s, %s)", flag, value, a, b);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {.workers = 5, .count = 100000000, .queue = QUEUE_PIPE,
                          .order = JOIN_THEN_DRAIN, .item_bytes = sizeof(struct record),
                          .watchdog = 3.0};
    bool item_bytes_given = false;
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (is_help_flag(argv[i])) {
            usage();
            exit(0);
        } else if ((value = flag_value(argc, argv, &i, "--workers"))) {
            opt.workers = (int)parse_long("--workers", value, 1, MAX_WORKERS);
        } else if ((value = flag_value(argc, argv, &i, "--count"))) {
            opt.count = parse_long("--count", value, 0, 1000000000000L);
        } else if ((value = flag_value(argc, argv, &i, "--queue"))) {
            opt.queue = one_of("--queue", value, "pipe", "mqueue") ? QUEUE_MQUEUE : QUEUE_PIPE;
        } else if ((value = flag_value(argc, argv, &i, "--order"))) {
            opt.order = one_of("--order", value, "join-then-drain", "drain-then-join")
                            ? DRAIN_THEN_JOIN : JOIN_THEN_DRAIN;
        } else if ((value = flag_value(argc, argv, &i, "--item-bytes"))) {
            opt.item_bytes = parse_long("--item-bytes", value, sizeof(struct record),
                                        MAX_ITEM_BYTES);
            item_bytes_given = true;
        } else if ((value = flag_value(argc, argv, &i, "--watchdog"))) {
            opt.watchdog = parse_seconds("--watchdog", value, 0.05, 3600);
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    if (item_bytes_given && opt.queue == QUEUE_MQUEUE)
        usage_error("--item-bytes: only with --queue pipe (a message queue item is one "
                    "message of %zu bytes)", sizeof(struct record));
    return opt;
}

static void describe_queue(const struct queue *q, enum order order)
{
    if (q->kind == QUEUE_MQUEUE)
        say("Queue: POSIX message queue %s (%ld messages of %zu bytes; name unlinked at "
            "once, the workers inherit the open queue)", q->name, q->capacity,
            sizeof(struct record));
    else if (q->pieces == 1)
        say("Queue: pipe, items of %ld bytes (at most PIPE_BUF = %d: one atomic write each)",
            q->piece, PIPE_BUF);
    else
        say("Queue: pipe, items of %ld bytes (over PIPE_BUF = %d: %ld pieces, one atomic "
            "write each)", q->piece * q->pieces, PIPE_BUF, q->pieces);
    say("Order: %s", order == JOIN_THEN_DRAIN ? "join, then drain (the seed's)"
                                              : "drain, then join");
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    struct options opt = parse_options(argc, argv);
    catch_stop_signals(on_stop_signal);
    on_die(stop_workers); /* an error in the parent stops and reaps the children first */
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error to report (EPIPE), not a death */
    /* An inherited "ignore" would make the kernel reap the workers itself,
     * and waitpid would fail (ECHILD). Blocked, SIGCHLD stays pending until
     * wait_for_a_child() takes it (Linux keeps a blocked signal, even one
     * whose default action is to ignore it). */
    signal(SIGCHLD, SIG_DFL);
    sigset_t chld;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, NULL);

    say("Parent process id: %ld", (long)getpid());
    double start_time = now_seconds();

    struct queue q;
    open_queue(&q, &opt);
    describe_queue(&q, opt.order);

    int counting[2]; /* each worker closes its write end when it has counted */
    if (pipe(counting) < 0)
        die_errno("pipe");
    start_workers(&opt, &q, counting);
    close(counting[1]);

    long long total;
    int results = 0;
    if (opt.order == JOIN_THEN_DRAIN) {
        if (!join_all(counting[0], opt.workers, opt.watchdog)) {
            warn_msg("deadlock: workers blocked writing to a full %s while the parent waits "
                     "to join them; drain before join (--order drain-then-join)",
                     q.kind == QUEUE_PIPE ? "pipe" : "message queue");
            stop_workers();
            return EXIT_DEADLOCK;
        }
        say("--- %.6f seconds ---", now_seconds() - start_time);
        total = drain_to_sentinel(&q, &results);
    } else {
        if (q.kind == QUEUE_PIPE)
            close(q.wr); /* so that the pipe ends (EOF) when the workers have */
        total = drain_then_join(&q, opt.workers, &results);
        say("--- %.6f seconds ---", now_seconds() - start_time);
    }

    say("Main-Processing Total Count=%lld", total);
    say("Main-Processing Done.");

    if (a_worker_failed)
        return 1; /* already said which, when it was reaped */
    long long expected = (long long)opt.workers * opt.count;
    if (results != opt.workers || total != expected) {
        warn_msg("expected %d results adding up to %lld, got %d adding up to %lld",
                 opt.workers, expected, results, total);
        return 1;
    }
    return 0;
}
