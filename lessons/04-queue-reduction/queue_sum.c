/* queue_sum.c - workers count, put sub-totals on a queue, the parent adds
 * them up (seed example 4).
 *
 * Python                                    C, in this file
 *   q = Queue()                               pipe(fds), or mq_open(name, O_CREAT | O_EXCL, 0600)
 *   Process(name=str(i), target=worker,       fork(); the child runs worker()
 *           args=(i, 100000000, q)).start()
 *   for i in range(baseNum): sub_total += 1   count_to(): a real loop, one add per step
 *   q.put(sub_total)                          one write(2) of a fixed record, or mq_send()
 *   process.join()                            waitpid(), with a watchdog for the deadlock
 *   q.put('exit')                             a record of kind RECORD_EXIT: the sentinel
 *   q.get()                                   read(2) of one record, or mq_receive()
 *   time.time() - start_time                  now_seconds() (CLOCK_MONOTONIC)
 *
 * Run:   make && ./queue_sum                 the seed: 5 workers x 100,000,000
 *        ./queue_sum --queue mqueue          the same through a POSIX message queue
 *        ./queue_sum --workers 2 --count 1000 --item-bytes 100000
 *                                            join before drain, with items too big
 *                                            for the pipe: the deadlock, caught
 *        ... --order drain-then-join         the same items, in the right order
 * Watch: `top` while `./queue_sum --count 2000000000` runs: one busy process
 *        per core, and the time it prints barely grows from 1 to 2 workers.
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <assert.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_WORKERS = 1024, MAX_ITEM_BYTES = 16 * 1024 * 1024 };
enum { EXIT_DEADLOCK = 3 };

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

/* What goes through the queue: a fixed-size record. Python pickles any
 * object; C sends plain bytes, so both sides agree on this layout. */
enum { RECORD_RESULT = 1, RECORD_EXIT = 2 };
struct record {
    int32_t kind;       /* RECORD_RESULT, or RECORD_EXIT: the sentinel */
    int32_t worker;     /* the worker's id, 0 .. workers-1 */
    int64_t pid;
    int64_t subtotal;
    int64_t item_bytes; /* the whole item: this record plus filler after it */
};
/* POSIX: a write of at most PIPE_BUF bytes to a pipe is atomic. It is
 * never split, and never mixed with another process's write. */
static_assert(sizeof(struct record) <= PIPE_BUF, "a record must fit in one atomic pipe write");

/* The queue, one of two kinds. */
struct queue {
    enum queue_kind kind;
    int rd, wr;            /* the pipe's ends; -1 once closed */
    int lock_rd, lock_wr;  /* a pipe holding one byte: the write lock for big items */
    mqd_t mq;
    long capacity;         /* how many messages the message queue holds */
    char name[64];         /* the message queue's name, for the story only */
};

/* What the parent knows about each worker. */
struct worker {
    pid_t pid;
    bool counted; /* it said it has finished counting (see worker()) */
    bool reaped;
    int status;
};

/* Pids of the workers not yet reaped, for the stop-signal handler; 0 = none. */
static volatile sig_atomic_t live_pid[MAX_WORKERS];
static volatile sig_atomic_t started;

/* ---- the work ------------------------------------------------------- */

/* `for i in range(baseNum): sub_total += 1`, as real work. At -O2 a
 * compiler sees that this loop computes n and replaces it with `return n`
 * (see the README). The empty asm statement tells it "sum may have changed
 * here in a way you cannot see", so every add must really happen. It emits
 * no instruction and sum stays in a register: about one add per cycle. */
static long long count_to(long n)
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

static void write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_errno("write");
        p += n;
        len -= (size_t)n;
    }
}

/* Read exactly LEN bytes; false at end of file. */
static bool read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die_errno("read");
        if (n == 0)
            return false;
        p += n;
        len -= (size_t)n;
    }
    return true;
}

/* A message queue needs a name, like a file. This one is unique to the run
 * (pid and clock), created only if it does not exist (O_EXCL), readable
 * by us alone (0600), and unlinked at once: the queue itself lives on
 * while a descriptor is open, and fork() gives each worker a copy of the
 * descriptor. So no name is left behind, whatever happens next. */
static void open_mqueue(struct queue *q, int workers)
{
    struct mq_attr attr = {0};
    /* Room for every result and the sentinel, as far as the system allows
     * ordinary users (Linux: msg_max, 10 by default). Past that, the
     * seed's order deadlocks here too, and the watchdog says so. */
    long limit = 10;
    FILE *f = fopen("/proc/sys/fs/mqueue/msg_max", "r");
    if (f) {
        if (fscanf(f, "%ld", &limit) != 1 || limit < 1)
            limit = 10;
        fclose(f);
    }
    attr.mq_maxmsg = workers + 1 < limit ? workers + 1 : limit;
    attr.mq_msgsize = sizeof(struct record);
    q->capacity = attr.mq_maxmsg;

    block_stop_signals(); /* no Ctrl-C between mq_open and mq_unlink */
    for (int attempt = 0;; attempt++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        snprintf(q->name, sizeof q->name, "/queue_sum-%ld-%ld",
                 (long)getpid(), (long)ts.tv_nsec);
        q->mq = mq_open(q->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
        if (q->mq != (mqd_t)-1)
            break;
        if (errno == EEXIST && attempt < 10)
            continue;
        if (errno == ENOSYS || errno == EACCES || errno == ENOENT)
            die_errno("--queue mqueue: POSIX message queues are not available here "
                      "(use --queue pipe); mq_open");
        die_errno("mq_open %s", q->name);
    }
    if (mq_unlink(q->name) < 0)
        die_errno("mq_unlink %s", q->name);
    unblock_stop_signals();
}

static void open_queue(struct queue *q, const struct options *opt)
{
    q->kind = opt->queue;
    q->rd = q->wr = q->lock_rd = q->lock_wr = -1;
    if (q->kind == QUEUE_MQUEUE) {
        open_mqueue(q, opt->workers);
        return;
    }
    int fds[2];
    if (pipe(fds) < 0)
        die_errno("pipe");
    q->rd = fds[0];
    q->wr = fds[1];
    /* Items bigger than PIPE_BUF are written in pieces, and two workers'
     * pieces could mix. Python's Queue takes a lock around each write;
     * here the lock is a pipe holding one byte: read it to take the lock,
     * write it back to give it up. */
    if (opt->item_bytes > PIPE_BUF) {
        if (pipe(fds) < 0)
            die_errno("pipe");
        q->lock_rd = fds[0];
        q->lock_wr = fds[1];
        write_all(q->lock_wr, "L", 1);
    }
}

static void close_fd(int *fd)
{
    if (*fd >= 0)
        close(*fd);
    *fd = -1;
}

/* q.put(): one item, the record followed by filler up to ITEM_BYTES. */
static void put(struct queue *q, const struct record *r)
{
    if (q->kind == QUEUE_MQUEUE) {
        while (mq_send(q->mq, (const char *)r, sizeof *r, 0) < 0)
            if (errno != EINTR)
                die_errno("mq_send");
        return;
    }
    size_t len = (size_t)r->item_bytes;
    char *item = calloc(1, len);
    if (!item)
        die_errno("calloc %zu bytes", len);
    memcpy(item, r, sizeof *r);
    if (q->lock_rd < 0) {
        write_all(q->wr, item, len); /* <= PIPE_BUF: one atomic write */
    } else {
        char token;
        if (!read_all(q->lock_rd, &token, 1))
            die_errno("lock pipe closed");
        write_all(q->wr, item, len);
        write_all(q->lock_wr, &token, 1);
    }
    free(item);
}

/* q.get(): the next record, skipping its filler. Waits at most TIMEOUT
 * seconds (< 0: for ever). Returns 1 for a record, 0 when the time is up,
 * -1 at end of file (every write end of the pipe is closed). */
static int get(struct queue *q, struct record *r, double timeout)
{
    if (q->kind == QUEUE_MQUEUE) {
        ssize_t n;
        if (timeout < 0) {
            n = mq_receive(q->mq, (char *)r, sizeof *r, NULL);
        } else {
            struct timespec until;
            clock_gettime(CLOCK_REALTIME, &until); /* mq_timedreceive's clock */
            long ns = until.tv_nsec + (long)(timeout * 1e9);
            until.tv_sec += ns / 1000000000L;
            until.tv_nsec = ns % 1000000000L;
            n = mq_timedreceive(q->mq, (char *)r, sizeof *r, NULL, &until);
        }
        if (n < 0 && (errno == ETIMEDOUT || errno == EINTR))
            return 0;
        if (n < 0)
            die_errno("mq_receive");
        if ((size_t)n != sizeof *r) {
            warn_msg("mq_receive: a message of %zd bytes, expected %zu", n, sizeof *r);
            exit(1);
        }
        return 1;
    }
    if (timeout >= 0) {
        struct pollfd p = {.fd = q->rd, .events = POLLIN};
        int ready = poll(&p, 1, (int)(timeout * 1000));
        if (ready < 0 && errno != EINTR)
            die_errno("poll");
        if (ready <= 0)
            return 0;
    }
    if (!read_all(q->rd, r, sizeof *r))
        return -1;
    char skip[4096];
    for (int64_t left = r->item_bytes - (int64_t)sizeof *r; left > 0;) {
        size_t n = left < (int64_t)sizeof skip ? (size_t)left : sizeof skip;
        if (!read_all(q->rd, skip, n))
            return -1;
        left -= (int64_t)n;
    }
    return 1;
}

/* ---- the workers ---------------------------------------------------- */

/* The child's whole life: count, put the sub-total on the queue, print.
 * Before it puts, it writes its id to STATUS_FD: "counting done". That lets
 * the parent's watchdog tell a worker still counting from one stuck in put. */
static noreturn void worker(int id, long count, struct queue *q, int status_fd, long item_bytes)
{
    pid_t pid = getpid();
    long long sub_total = count_to(count);

    int32_t me = id;
    write_all(status_fd, &me, sizeof me);

    struct record r = {.kind = RECORD_RESULT, .worker = id, .pid = pid,
                       .subtotal = sub_total, .item_bytes = item_bytes};
    put(q, &r);

    /* Both lines in one write(2): they stay together in the output. */
    say("Process ID: %ld, Process name: %d, ID: %d\nResult: %lld", (long)pid, id, id, sub_total);
    _exit(0);
}

/* Stop and reap every worker still there. Async-signal-safe (kill and
 * waitpid only), so the stop-signal handler uses it too. */
static void stop_workers(void)
{
    for (int i = 0; i < started; i++)
        if (live_pid[i] > 0)
            kill(live_pid[i], SIGTERM);
    for (int i = 0; i < started; i++)
        if (live_pid[i] > 0) {
            waitpid(live_pid[i], NULL, 0);
            live_pid[i] = 0;
        }
}

static void start_workers(struct worker *ws, const struct options *opt,
                          struct queue *q, int status[2])
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
            /* Close the ends this worker never uses. With the read end
             * closed, a worker whose parent has died gets EPIPE instead of
             * waiting for ever on a full pipe. */
            close_fd(&q->rd);
            close(status[0]);
            worker(i, opt->count, q, status[1], opt->item_bytes);
        }
        ws[i].pid = pid;
        live_pid[i] = pid;
        started = i + 1;
        unblock_stop_signals();
    }
}

/* Remember how worker W ended. */
static void record_end(struct worker *w, int index, int status)
{
    w->reaped = true;
    w->status = status;
    live_pid[index] = 0;
}

static int index_of(struct worker *ws, int n, pid_t pid)
{
    for (int i = 0; i < n; i++)
        if (ws[i].pid == pid)
            return i;
    return -1;
}

/* Reap, without waiting, the workers that have ended. Returns how many. */
static int reap_ended(struct worker *ws, int n)
{
    int count = 0;
    for (int i = 0; i < n; i++) {
        int status;
        if (ws[i].reaped || waitpid(ws[i].pid, &status, WNOHANG) <= 0)
            continue;
        record_end(&ws[i], i, status);
        count++;
    }
    return count;
}

/* Read the "counting done" ids the workers have sent so far (the fd is
 * non-blocking). Returns how many arrived. */
static int read_counted(int fd, struct worker *ws, int n)
{
    int32_t ids[256];
    int got = 0;
    ssize_t len;
    while ((len = read(fd, ids, sizeof ids)) > 0)
        for (size_t k = 0; k < (size_t)len / sizeof ids[0]; k++, got++)
            if (ids[k] >= 0 && ids[k] < n)
                ws[ids[k]].counted = true;
    return got;
}

static void on_alarm(int sig)
{
    (void)sig; /* nothing to do: it only makes waitpid return with EINTR */
}

/* A timer that interrupts waitpid every 50 ms, so that the watchdog can
 * look around. No SA_RESTART: the interrupted call must return. */
static void tick(bool on)
{
    struct itimerval every = {{0, on ? 50000 : 0}, {0, on ? 50000 : 0}};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    if (on) {
        sa.sa_handler = on_alarm;
        sigaction(SIGALRM, &sa, NULL);
        setitimer(ITIMER_REAL, &every, NULL);
    } else {
        setitimer(ITIMER_REAL, &every, NULL); /* stop the timer, then */
        sa.sa_handler = SIG_IGN;              /* drop a tick still pending */
        sigaction(SIGALRM, &sa, NULL);
    }
}

/* `for process in processes: process.join()`, with a watchdog. Returns
 * false on a deadlock: every worker has finished counting, so the ones
 * still alive can only be stuck putting their item on a full queue, and
 * none has ended for WATCHDOG seconds. Nobody reads the queue until the
 * joins are done, so none ever will. */
static bool join_all(struct worker *ws, int n, int status_fd, double watchdog)
{
    int ended = 0;
    double last_progress = now_seconds();
    tick(true);
    while (ended < n) {
        int status;
        pid_t pid = waitpid(-1, &status, 0); /* any worker */
        if (pid > 0) {
            int i = index_of(ws, n, pid);
            if (i >= 0 && !ws[i].reaped) {
                record_end(&ws[i], i, status);
                ended++;
                last_progress = now_seconds();
            }
            continue;
        }
        if (errno != EINTR)
            die_errno("waitpid");
        /* The timer ticked: look at what changed. */
        if (read_counted(status_fd, ws, n) > 0)
            last_progress = now_seconds();
        bool all_counted = true;
        for (int i = 0; i < n; i++)
            if (!ws[i].reaped && !ws[i].counted)
                all_counted = false;
        if (all_counted && now_seconds() - last_progress > watchdog) {
            tick(false);
            return false;
        }
    }
    tick(false);
    return true;
}

/* Join what the drain has not reaped yet: they have all put their item. */
static void join_rest(struct worker *ws, int n)
{
    for (int i = 0; i < n; i++) {
        while (!ws[i].reaped) {
            int status;
            if (waitpid(ws[i].pid, &status, 0) > 0)
                record_end(&ws[i], i, status);
            else if (errno != EINTR)
                die_errno("waitpid");
        }
    }
}

/* Add up the results on the queue. The seed's order: after the joins, put
 * the 'exit' sentinel and take items until it comes back out. */
static long long drain_to_sentinel(struct queue *q, int *results)
{
    struct record r = {.kind = RECORD_EXIT, .worker = -1, .pid = getpid(),
                       .item_bytes = sizeof r};
    /* Even the sentinel can find the queue full (items that just fit):
     * a put that waits would hang the parent itself, since the parent is
     * the only reader. So it does not wait. */
    int rc;
    if (q->kind == QUEUE_PIPE) {
        fcntl(q->wr, F_SETFL, fcntl(q->wr, F_GETFL) | O_NONBLOCK);
        rc = (int)write(q->wr, &r, sizeof r); /* <= PIPE_BUF: all or nothing */
    } else {
        struct timespec already = {0, 0}; /* a deadline in the past: fail at once if full */
        rc = mq_timedsend(q->mq, (const char *)&r, sizeof r, 0, &already);
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
        int got = get(q, &r, -1);
        if (got == 0)
            continue; /* interrupted by a signal: try again */
        if (got < 0) {
            warn_msg("the queue ended before the 'exit' sentinel");
            exit(1);
        }
        if (r.kind == RECORD_EXIT)
            return total;
        total += r.subtotal;
        ++*results;
    }
}

/* The right order: take results while the workers run, until every worker
 * has sent one, or none is left that could. The pipe needs no sentinel:
 * end of file says that every writer is gone. */
static long long drain_while_running(struct queue *q, struct worker *ws, int n, int *results)
{
    long long total = 0;
    bool all_ended = false;
    while (*results < n) {
        struct record r;
        int got = get(q, &r, all_ended ? 0 : 0.1);
        if (got > 0) {
            total += r.subtotal;
            ++*results;
        } else if (got < 0 || all_ended) {
            break; /* nothing more can come */
        } else {
            all_ended = true;
            reap_ended(ws, n);
            for (int i = 0; i < n; i++)
                if (!ws[i].reaped)
                    all_ended = false;
        }
    }
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
          "                      result; 32 to 16777216; pipe only). From 65536 on, one\n"
          "                      item fills a Linux pipe: join-then-drain deadlocks\n"
          "  --watchdog SECONDS  declare a deadlock when every worker has finished counting\n"
          "                      and none has ended for this long (default 3; 0.05 to 3600)\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 all went well, 1 an error or a worker failed, 2 bad command\n"
          "line, 3 deadlock detected (the workers were stopped).\n",
          stdout);
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
            if (strcmp(value, "pipe") == 0)
                opt.queue = QUEUE_PIPE;
            else if (strcmp(value, "mqueue") == 0)
                opt.queue = QUEUE_MQUEUE;
            else
                usage_error("--queue: '%s' is not a queue kind (allowed: pipe, mqueue)", value);
        } else if ((value = flag_value(argc, argv, &i, "--order"))) {
            if (strcmp(value, "join-then-drain") == 0)
                opt.order = JOIN_THEN_DRAIN;
            else if (strcmp(value, "drain-then-join") == 0)
                opt.order = DRAIN_THEN_JOIN;
            else
                usage_error("--order: '%s' is not an order (allowed: join-then-drain, "
                            "drain-then-join)", value);
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

static void describe_queue(const struct queue *q, const struct options *opt)
{
    if (q->kind == QUEUE_MQUEUE)
        say("Queue: POSIX message queue %s (%ld messages of %zu bytes; name unlinked at "
            "once, the workers inherit the open queue)", q->name, q->capacity,
            sizeof(struct record));
    else if (opt->item_bytes <= PIPE_BUF)
        say("Queue: pipe, items of %ld bytes (at most PIPE_BUF = %d: one atomic write each)",
            opt->item_bytes, PIPE_BUF);
    else
        say("Queue: pipe, items of %ld bytes (over PIPE_BUF = %d: written under a lock)",
            opt->item_bytes, PIPE_BUF);
    say("Order: %s", opt->order == JOIN_THEN_DRAIN ? "join, then drain (the seed's)"
                                                    : "drain, then join");
}

/* Report workers that did not end well; true if all did. */
static bool check_workers(const struct worker *ws, int n)
{
    bool ok = true;
    for (int i = 0; i < n; i++) {
        int st = ws[i].status;
        if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
            continue;
        ok = false;
        if (WIFSIGNALED(st))
            warn_msg("worker %d (pid %ld) was killed by signal %d", i, (long)ws[i].pid,
                     WTERMSIG(st));
        else
            warn_msg("worker %d (pid %ld) exited with status %d", i, (long)ws[i].pid,
                     WEXITSTATUS(st));
    }
    return ok;
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    struct options opt = parse_options(argc, argv);
    catch_stop_signals(on_stop_signal);
    signal(SIGPIPE, SIG_IGN); /* a closed pipe is an error to report (EPIPE), not a death */

    say("Parent process id: %ld", (long)getpid());
    double start_time = now_seconds();

    struct queue q;
    open_queue(&q, &opt);
    describe_queue(&q, &opt);

    int status[2]; /* workers -> parent: "I have finished counting" */
    if (pipe(status) < 0)
        die_errno("pipe");

    static struct worker ws[MAX_WORKERS];
    start_workers(ws, &opt, &q, status);
    close(status[1]);
    fcntl(status[0], F_SETFL, fcntl(status[0], F_GETFL) | O_NONBLOCK);
    close_fd(&q.lock_rd);
    close_fd(&q.lock_wr);

    long long total;
    int results = 0;
    if (opt.order == JOIN_THEN_DRAIN) {
        if (!join_all(ws, opt.workers, status[0], opt.watchdog)) {
            warn_msg("deadlock: workers blocked writing to a full %s while the parent waits "
                     "to join them; drain before join (--order drain-then-join)",
                     q.kind == QUEUE_PIPE ? "pipe" : "message queue");
            stop_workers();
            return EXIT_DEADLOCK;
        }
        say("--- %.6f seconds ---", now_seconds() - start_time);
        total = drain_to_sentinel(&q, &results);
    } else {
        close_fd(&q.wr); /* so that the pipe ends (EOF) when the workers have */
        total = drain_while_running(&q, ws, opt.workers, &results);
        join_rest(ws, opt.workers);
        say("--- %.6f seconds ---", now_seconds() - start_time);
    }

    say("Main-Processing Total Count=%lld", total);
    say("Main-Processing Done.");

    bool ok = check_workers(ws, opt.workers);
    long long expected = (long long)opt.workers * opt.count;
    if (ok && (results != opt.workers || total != expected)) {
        warn_msg("expected %d results adding up to %lld, got %d adding up to %lld",
                 opt.workers, expected, results, total);
        ok = false;
    }
    return ok ? 0 : 1;
}
