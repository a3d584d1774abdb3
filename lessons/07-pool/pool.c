/* pool.c - N workers, started once, take tasks from one shared pipe and send tagged results back.
 *
 * Python                                  C, in this file
 *   Pool(5)                                 fork() 5 workers once; each loops on the task pipe
 *   pool.map(square, range(20), chunksize)  a record of chunksize tasks on the pipe; results put back by index
 *   pool.imap_unordered(square, ...)        --unordered: print each result as it arrives
 *   pool.close(); pool.join()               one sentinel record per worker, then waitpid() each
 *   Process.sentinel, connection.wait()     a pipe only the worker holds open: end-of-file = it died
 *   concurrent.futures' BrokenProcessPool   a worker died mid-task: say which task, stop the pool
 */
#define _POSIX_C_SOURCE 200809L
#include "kit.h"
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_WORKERS = 64, MAX_CHUNK = 500 };
enum kind { TASK, SENTINEL, TAKEN, RESULT }; /* tasks go out as TASK; TAKEN and RESULT come back */

/* Every record of a run has one size, at most PIPE_BUF: one write() puts it in
 * the pipe whole, and one read() of that size takes exactly one, whoever reads. */
struct record {
    int kind, worker;
    long first, count, values[]; /* tasks first .. first+count-1: items out, squares back */
};
_Static_assert(offsetof(struct record, values) + MAX_CHUNK * sizeof(long) <= PIPE_BUF, "record > PIPE_BUF");

static long workers = 5, tasks = 20, chunksize = 1, crash_on = -1;
static double task_sleep = 0.1;
static bool unordered, naive, verbose;
static int task_pipe[2], result_pipe[2], life[MAX_WORKERS]; /* life[w]: EOF when worker w ends */
static pid_t pids[MAX_WORKERS];
static size_t record_size;

static void send_record(int fd, struct record *rec)
{ /* EPIPE: no reader is left; the workers' life pipes and statuses tell why */
    if (write(fd, rec, record_size) != (ssize_t)record_size && errno != EPIPE)
        die_errno("write to a pipe");
}

/* Pool(N) starts its workers once; each loops: take a record, work, answer,
 * until it takes a sentinel. Each has a life pipe that only it holds open:
 * the parent reads end-of-file on it the moment the worker ends. */
static void start_worker(int w, struct record *rec)
{
    int alive[2];
    if (pipe(alive) < 0)
        die_errno("pipe");
    char name[32];
    snprintf(name, sizeof name, "Worker-%d", w + 1);
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork for worker %d of %ld", w + 1, workers);
    if (pid == 0) {
        kit_child_begin(name);
        close(task_pipe[1]), close(result_pipe[0]), close(alive[0]); /* alive[1] closes as it dies */
        /* EXERCISE 07.1: the worker loop: read one record from the task pipe; return on a SENTINEL; else send TAKEN, square the values in place, send RESULT
         * HINT: read(task_pipe[0], rec, record_size) takes exactly one whole record; anything else (0: EOF) means the pool is gone: die_msg.
         * HINT: rec->kind = TAKEN, rec->worker = w; send_record(result_pipe[1], rec); square each value; rec->kind = RESULT; send it again.
         */
        for (;;) {
            kit_phase("read");
            ssize_t got = read(task_pipe[0], rec, record_size);
            kit_phase("run");
            if (got != (ssize_t)record_size)
                die_msg("Worker-%d: the task pipe ended before my sentinel", w + 1);
            if (rec->kind == SENTINEL)
                break;
            rec->kind = TAKEN, rec->worker = w; /* say first what it took: if it dies, the parent knows */
            send_record(result_pipe[1], rec);
            if (verbose)
                say("Worker-%d (pid %ld) takes tasks %ld..%ld", w + 1, (long)getpid(), rec->first,
                    rec->first + rec->count - 1);
            for (long k = 0; k < rec->count; k++) {
                if (rec->values[k] == crash_on)
                    _exit(1); /* a crash in the middle of a task: its result never comes */
                sleep_seconds(task_sleep); /* a slow f */
                rec->values[k] *= rec->values[k];
            }
            rec->kind = RESULT;
            send_record(result_pipe[1], rec);
        }
        /* STUB 07.1
        (void)rec;
         */
        /* END EXERCISE 07.1 */
        kit_child_end();
        _exit(0);
    }
    kit_child_started(pid, name);
    close(alive[1]), pids[w] = pid, life[w] = alive[0];
}

static int join_worker(int w)
{
    int status;
    kit_phase("waitpid");
    if (waitpid(pids[w], &status, 0) < 0)
        die_errno("waitpid for Worker-%d", w + 1);
    kit_child_reaped(pids[w], status);
    return status;
}

/* Pool.map: feed the task pipe and drain the result pipe at once (a parent
 * that only wrote would block on a full task pipe while the workers block
 * on a full result pipe), and watch every worker's life pipe. */
static void run_map(struct record *rec, long *results)
{
    long sent = 0, received = 0, taken[MAX_WORKERS][2] = {{0}}; /* the chunk each worker holds */
    struct pollfd fds[2 + MAX_WORKERS] = {{.fd = result_pipe[0], .events = POLLIN}};
    for (int w = 0; w < workers; w++) /* --naive: the life pipes are not watched (fd -1) */
        fds[2 + w] = (struct pollfd){.fd = naive ? -1 : life[w], .events = POLLIN};
    while (received < tasks) {
        fds[1] = (struct pollfd){.fd = sent < tasks ? task_pipe[1] : -1, .events = POLLOUT};
        kit_phase("wait");
        if (poll(fds, (nfds_t)(2 + workers), -1) < 0)
            die_errno("poll");
        kit_phase("run");
        if (fds[1].revents) { /* room on the task pipe: the next chunk */
            rec->kind = TASK, rec->first = sent, rec->count = tasks - sent < chunksize ? tasks - sent : chunksize;
            for (long k = 0; k < rec->count; k++)
                rec->values[k] = sent++;
            send_record(task_pipe[1], rec);
        }
        if (fds[0].revents & POLLIN) { /* results before deaths: a dead worker's last words come first */
            if (read(result_pipe[0], rec, record_size) != (ssize_t)record_size)
                die_msg("a torn record on the result pipe");
            taken[rec->worker][0] = rec->first; /* TAKEN: it holds these; RESULT: it holds none */
            taken[rec->worker][1] = rec->kind == TAKEN ? rec->count : 0;
            for (long k = 0; rec->kind == RESULT && k < rec->count; k++, received++) {
                results[rec->first + k] = rec->values[k];
                if (unordered)
                    say("square(%ld) = %ld", rec->first + k, rec->values[k]);
            }
            continue;
        }
        for (int w = 0; w < workers; w++)
            if (fds[2 + w].revents) { /* it ended before its sentinel: the pool is broken, unusable */
                int status = join_worker(w);
                char text[64], lost[64] = "no task was lost: it was waiting for one";
                if (taken[w][1] > 0)
                    snprintf(lost, sizeof lost, "task %ld..%ld is lost", taken[w][0], taken[w][0] + taken[w][1] - 1);
                warn_msg("broken pool: Worker-%d (pid %ld) ended (%s) before its sentinel; %s", w + 1,
                         (long)pids[w], status_text(status, text, sizeof text), lost);
                die_msg("stopping the pool: terminating and reaping the other %d workers", kit_children_running());
            }
    }
}

int main(int argc, char **argv)
{
    static const struct flag flags[] = {
        {"--workers", FLAG_INT, &workers, 1, MAX_WORKERS, "worker processes, started once", NULL},
        {"--tasks", FLAG_INT, &tasks, 0, 1000000, "how many items: square(0) .. square(N-1)", NULL},
        {"--task-sleep", FLAG_SECONDS, &task_sleep, 0, 3600, "each task sleeps this long first (a slow f)", NULL},
        {"--chunksize", FLAG_INT, &chunksize, 1, MAX_CHUNK, "tasks per record on the task pipe", NULL},
        {"--unordered", FLAG_SWITCH, &unordered, 0, 0, "imap_unordered: print results as they arrive", NULL},
        {"--crash-on", FLAG_INT, &crash_on, 0, 999999, "the worker that takes task N dies mid-task", NULL},
        {"--naive", FLAG_SWITCH, &naive, 0, 0, "do not watch the workers: a death hangs the pool", NULL},
        {"--verbose", FLAG_SWITCH, &verbose, 0, 0, "each worker says which tasks it takes", NULL},
        {0}};
    static const struct program prog = {
        .purpose = "Square 0 .. N-1 on a pool of workers that share one task pipe (Pool.map).",
        .flags = flags, .timeline = true};
    kit_start(argc, argv, &prog);
    if (crash_on >= tasks)
        usage_error("--crash-on %ld: there are only %ld tasks (0 to %ld)", crash_on, tasks, tasks - 1);
    record_size = offsetof(struct record, values) + (size_t)chunksize * sizeof(long);
    struct record *rec = calloc(1, record_size);
    long *results = calloc((size_t)tasks + 1, sizeof *results);
    if (!rec || !results || pipe(task_pipe) < 0 || pipe(result_pipe) < 0)
        die_errno("calloc or pipe");
    say("Pool of %ld workers, %ld tasks, chunksize %ld, %s", workers, tasks, chunksize, unordered ? "imap_unordered" : "map");
    for (int w = 0; w < workers; w++)
        start_worker(w, rec);
    if (!naive) /* like Python's queues, a naive pool keeps its own write end: it never reads end-of-file */
        close(result_pipe[1]);
    run_map(rec, results);
    for (long t = 0; t < tasks && !unordered; t++) /* map: in task order, whatever order they came in */
        say("square(%ld) = %ld", t, results[t]);
    kit_phase("write"); /* pool.close(): the sentinels queue up after every task; each worker takes one */
    rec->kind = SENTINEL, rec->count = 0;
    for (int w = 0; w < workers; w++)
        send_record(task_pipe[1], rec);
    bool all_ok = true; /* pool.join() */
    for (int w = 0; w < workers; w++) {
        int status = join_worker(w);
        char text[64];
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            all_ok = false, warn_msg("Worker-%d failed: %s", w + 1, status_text(status, text, sizeof text));
    }
    say("Pool closed: %ld sentinels sent, %ld workers joined", workers, workers);
    free(rec), free(results);
    return all_ok ? 0 : 1;
}
