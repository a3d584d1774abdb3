/* duplex_pipe.c - a parent talks with each child over its own two-way socketpair, waiting on all with poll().
 *
 * Python                                   C, in this file
 *   parent_end, child_end = Pipe()           socketpair(AF_UNIX, SOCK_STREAM): both ends read and write
 *   Pipe(duplex=False)                       pipe(): fd[0] only reads, fd[1] only writes
 *   conn.send(n); conn.recv()                send(), recv() of one fixed-size message on the same end
 *   child_end.close() in the parent          close(): only the child holds its end, so it closes as it dies
 *   multiprocessing.connection.wait(ends)    poll() on every parent end at once
 *   EOFError from conn.recv()                recv() returns 0 (or fails with ECONNRESET): that child is gone
 */
#define _POSIX_C_SOURCE 200809L
#include "kit.h"
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_CHILDREN = 64 };
struct message { long id, value; }; /* a request (id, n), or its answer (id, n*n) */

static long children = 3, requests = 3, eof_child, size = 1 << 20;
static double delay = 0.2, patience = 2;
static const char *swap_mode = "none";
static struct pollfd ends[MAX_CHILDREN]; /* the parent's end of each pair, as poll() takes them; fd -1: gone */
static pid_t pids[MAX_CHILDREN];

static void start_child(int k, void (*body)(int k, int end))
{ /* Pipe(), then Process(...).start(): the child keeps one end, the parent the other */
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) < 0)
        die_errno("socketpair");
    char name[32];
    snprintf(name, sizeof name, "Child-%d", k + 1);
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork for Child-%d", k + 1);
    if (pid == 0) {
        kit_child_begin(name);
        for (int j = 0; j < k; j++) /* its siblings' parent ends: held here, they would hide EOF from them */
            close(ends[j].fd);
        close(pair[0]);
        body(k, pair[1]);
        kit_child_end();
        _exit(0);
    }
    kit_child_started(pid, name);
    close(pair[1]); /* now only the child holds it */
    ends[k] = (struct pollfd){.fd = pair[0], .events = POLLIN}, pids[k] = pid;
}

static void serve(int k, int end)
{ /* the child: take a request, answer on the same end, until EOF */
    struct message m;
    for (long answered = 0;; answered++) {
        /* EXERCISE 08.1: receive one request on END (return at EOF), then send its answer (id, value squared) back on the same END
         * HINT: recv(end, &m, sizeof m, MSG_WAITALL) returns 0 once the parent has closed its end: the child's EOFError.
         * HINT: m.value *= m.value; then send(end, &m, sizeof m, 0) must return sizeof m, or die_errno.
         */
        kit_phase("read");
        ssize_t n = recv(end, &m, sizeof m, MSG_WAITALL); /* a stream has no boundaries: wait for all of it */
        if (n == 0 || (answered == 1 && k + 1 == eof_child))
            return; /* EOFError: the parent is done with us; or --eof-child: we close first */
        if (n != (ssize_t)sizeof m)
            die_errno("Child-%d: recv", k + 1);
        kit_phase("sleep");
        sleep_seconds(delay * (double)((2 * k + m.id) % children) / (double)children); /* answers come in any order */
        m.value *= m.value;
        kit_phase("write");
        if (send(end, &m, sizeof m, 0) != (ssize_t)sizeof m)
            die_errno("Child-%d: send", k + 1);
        /* STUB 08.1
        (void)k, (void)end, (void)m, (void)answered;
        return;
         */
        /* END EXERCISE 08.1 */
    }
}

static void ask(int k, long r)
{
    struct message m = {k * requests + r + 1, k * requests + r + 1}; /* every request is unique */
    if (send(ends[k].fd, &m, sizeof m, 0) != (ssize_t)sizeof m && errno != EPIPE) /* EPIPE: gone; poll says so */
        die_errno("send to Child-%d", k + 1);
}

static bool join_child(int k, long answered)
{ /* close our end (the child reads EOF), then reap the child */
    int status;
    char text[64];
    close(ends[k].fd), ends[k].fd = -1;
    kit_phase("waitpid");
    if (waitpid(pids[k], &status, 0) < 0)
        die_errno("waitpid for Child-%d", k + 1);
    kit_child_reaped(pids[k], status);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    warn_msg("Child-%d died after %ld of %ld answers: %s", k + 1, answered, requests, status_text(status, text, sizeof text));
    return false;
}

static bool talk(void)
{ /* connection.wait(): sleep in poll() until any child's end has something */
    long answered[MAX_CHILDREN] = {0}, total = 0, open = children;
    bool all_ok = true;
    while (open > 0) {
        kit_phase("wait");
        if (poll(ends, (nfds_t)children, -1) < 0)
            die_errno("poll");
        kit_phase("run");
        for (int k = 0; k < children; k++) {
            struct message m;
            long want = k * requests + answered[k] + 1;
            ssize_t n = ends[k].revents ? recv(ends[k].fd, &m, sizeof m, MSG_WAITALL) : -2;
            if (n == -1 && errno != ECONNRESET) /* ECONNRESET: it left with our request unread */
                die_errno("recv from Child-%d", k + 1);
            if (n == 0 || n == -1)
                say("Child-%d closed its end (EOF) after %ld of %ld answers", k + 1, answered[k], requests);
            else if (n > 0 && (n != (ssize_t)sizeof m || m.id != want || m.value != want * want))
                die_msg("Child-%d: a wrong answer to request %ld", k + 1, want);
            else if (n > 0)
                say("Child-%d answered request %ld: %ld squared is %ld", k + 1, m.id, m.id, m.value), total++;
            if (n > 0 && ++answered[k] < requests)
                ask(k, answered[k]);
            else if (n != -2) /* all answered, or gone: close our end, reap it */
                all_ok = join_child(k, answered[k]) && all_ok, open--;
        }
    }
    say("%ld answers, each matched to its request", total);
    return all_ok;
}

static void swap_child(int k, int end)
{ /* both send --size bytes, then receive as many: the child always does it in this order */
    char *buf = calloc(1, (size_t)size);
    kit_phase("write");
    if (!buf || send(end, buf, (size_t)size, 0) != (ssize_t)size)
        die_errno("Child-%d: send", k + 1);
    kit_phase("read");
    if (recv(end, buf, (size_t)size, MSG_WAITALL) != (ssize_t)size)
        die_msg("Child-%d: the parent's message did not arrive whole", k + 1);
}

/* The parent's send gives up after --patience s without progress (SO_SNDTIMEO): caught, not hung. */
static int swap(bool fixed)
{
    start_child(0, swap_child);
    char *buf = calloc(1, (size_t)size);
    struct timeval limit = {(time_t)patience, (suseconds_t)((patience - (double)(time_t)patience) * 1e6)};
    if (!buf || setsockopt(ends[0].fd, SOL_SOCKET, SO_SNDTIMEO, &limit, sizeof limit) < 0)
        die_errno("calloc or setsockopt");
    kit_phase("read");
    if (fixed && recv(ends[0].fd, buf, (size_t)size, MSG_WAITALL) != (ssize_t)size) /* the fix: one side reads first */
        die_msg("the child's message did not arrive whole");
    kit_phase("write");
    ssize_t sent = send(ends[0].fd, buf, (size_t)size, 0);
    kit_phase(sent < (ssize_t)size ? "run" : "read");
    if (sent < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
        die_errno("send to Child-1");
    if (sent < (ssize_t)size) {
        say("deadlock: for %g s nothing moved: the parent's send stopped at %ld of %ld bytes, the child (state %c)"
            " is stuck in its own; neither reads", patience, sent > 0 ? (long)sent : 0L, size, proc_state(pids[0]));
        free(buf), kit_stop_children();
        return 3;
    }
    if (!fixed && recv(ends[0].fd, buf, (size_t)size, MSG_WAITALL) != (ssize_t)size)
        die_msg("the child's message did not arrive whole");
    free(buf);
    say("the parent sent and received %ld bytes%s", size, fixed ? ": it received first, so the child's send could end" : "");
    return join_child(0, 1) ? 0 : 1; /* the child exits 0 once it has received the parent's bytes */
}

int main(int argc, char **argv)
{
    static const struct flag flags[] = {
        {"--children", FLAG_INT, &children, 1, MAX_CHILDREN, "children, each on its own socketpair", NULL},
        {"--requests", FLAG_INT, &requests, 1, 100000, "requests to each child, an answer back each time", NULL},
        {"--delay", FLAG_SECONDS, &delay, 0, 3600, "a child takes up to this long to answer", NULL},
        {"--eof-child", FLAG_INT, &eof_child, 1, MAX_CHILDREN, "child K closes its end instead of answering twice", NULL},
        {"--swap", FLAG_CHOICE, &swap_mode, 0, 0, "instead: parent and child both send --size bytes,"
         " then receive (deadlock), or the parent receives first (fixed)", "none|deadlock|fixed"},
        {"--size", FLAG_INT, &size, 1, 1 << 26, "bytes each side sends in the swap", NULL},
        {"--patience", FLAG_SECONDS, &patience, 0.01, 3600, "this long with no progress is a deadlock", NULL},
        {0}};
    static const struct program prog = {
        .purpose = "A parent asks each child for squares over its own socketpair (Python's Pipe()).",
        .flags = flags, .timeline = true};
    kit_start(argc, argv, &prog);
    if (eof_child > children)
        usage_error("--eof-child %ld: there are only %ld children", eof_child, children);
    if (choice_index("none|deadlock|fixed", swap_mode) > 0)
        return swap(choice_index("none|deadlock|fixed", swap_mode) == 2);
    say("Parent (pid %ld) talks with %ld children, one socketpair each, %ld requests each", (long)getpid(), children, requests);
    for (int k = 0; k < children; k++)
        start_child(k, serve), ask(k, 0);
    return talk() ? 0 : 1;
}
