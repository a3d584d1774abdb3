/* start_methods.c - one small job started the three ways Python starts a process:
 * what each child sees of its parent, and what each start costs (threads: lesson 10b).
 *
 * Python                                   C, in this file
 *   get_context("fork").Process(...)         fork(); the copy runs the job
 *   get_context("spawn").Process(...)        fork() + execv() of this program --spawned; the job via a pipe
 *   get_context("forkserver").Process(...)   a server forked first forks a worker per job sent on a socketpair
 *   p.join(), p.exitcode                     waitpid() (by the server, for its workers)
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum method { FORK, SPAWN, FORKSERVER, METHODS };
static const char *const method_name[METHODS] = {"fork", "spawn", "forkserver"};
struct job { long n; };
struct answer { long pid, global_seen, result; };

static long global_value = 1; /* the parent sets 42 once the fork server runs */
static int answers[2];        /* every child writes its answer here, however it was started */
static int server_sock = -1;  /* the parent's end of the fork server's socketpair */
static long starts = 100;
static bool spawned;

static const struct flag flags[] = {
    {"--starts", FLAG_INT, &starts, 1, 10000, "starts of each method for the cost (interleaved)", NULL},
    {"--spawned", FLAG_SWITCH, &spawned, 0, 0, "how spawn runs this program: a job on stdin, its answer on stdout", NULL},
    {0},
};

/* The job, whichever way the process began: answer with what it sees. */
static noreturn void run_job(long n, int out)
{
    struct answer answer = {(long)getpid(), global_value, n * n};
    if (write(out, &answer, sizeof answer) != sizeof answer)
        die_errno("write the answer");
    kit_child_end();
    _exit(0);
}

/* fork: the child is a copy of the parent as it is now (its calling thread
 * only). spawn: that copy at once becomes a fresh run of this program
 * (Python's, a fresh interpreter); it gets argv and the job pipe, nothing more. */
static pid_t start_child(enum method m, long n)
{
    int job_pipe[2];
    if (m == SPAWN && pipe(job_pipe) != 0)
        die_errno("pipe");
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        kit_child_begin(method_name[m]);
        if (m == FORK)
            run_job(n, answers[1]);
        /* EXERCISE 10.1: make this copy a fresh run of this program, with --spawned, the job pipe as its stdin and the answer pipe as its stdout
         * HINT: dup2() puts a descriptor on 0 or 1; execv() replaces the program; it returns only on failure.
         * HINT: dup2(job_pipe[0], 0); dup2(answers[1], 1); char *args[] = {"start_methods", "--spawned", NULL}; execv("/proc/self/exe", args);
         */
        if (dup2(job_pipe[0], 0) < 0 || dup2(answers[1], 1) < 0)
            die_errno("dup2");
        char *args[] = {"start_methods", "--spawned", NULL};
        execv("/proc/self/exe", args); /* Linux: this very program, wherever it lies */
        die_errno("execv /proc/self/exe");
        /* STUB 10.1
        run_job(n, answers[1]);
         */
        /* END EXERCISE 10.1 */
    }
    kit_child_started(pid, method_name[m]);
    if (m == FORK)
        return pid;
    if (write(job_pipe[1], &(struct job){n}, sizeof(struct job)) != sizeof(struct job))
        die_errno("write the job to the spawned child");
    close(job_pipe[0]);
    close(job_pipe[1]);
    return pid;
}

/* forkserver: forked first, while the parent had one thread and global_value
 * held 1; each worker is a copy of the server. Signals wait while a worker
 * lives: the server never dies and leaves it an orphan nobody reaps. */
static void serve(int sock)
{
    sigset_t stop;
    sigfillset(&stop);
    struct job job;
    for (kit_phase("read"); read(sock, &job, sizeof job) == sizeof job; kit_phase("read")) { /* until end of file */
        sigprocmask(SIG_BLOCK, &stop, NULL);
        pid_t pid = fork();
        if (pid < 0)
            die_errno("fork server: fork");
        if (pid == 0) {
            kit_child_begin("worker");
            run_job(job.n, answers[1]);
        }
        kit_child_started(pid, "worker");
        int status;
        if (waitpid(pid, &status, 0) < 0)
            die_errno("fork server: waitpid");
        kit_child_reaped(pid, status);
        if (write(sock, &status, sizeof status) != sizeof status) /* Python's forkserver reports it too */
            die_errno("fork server: report");
        sigprocmask(SIG_UNBLOCK, &stop, NULL);
    }
}

/* Start one child by method M, read its answer, reap it (the server reaps
 * its workers and reports). Returns the seconds from start to answer. */
static double run_one(enum method m, long n, struct answer *answer)
{
    double began = now_seconds();
    pid_t pid = m == FORKSERVER ? 0 : start_child(m, n); /* a worker's pid comes with its answer */
    if (m == FORKSERVER && write(server_sock, &(struct job){n}, sizeof(struct job)) != sizeof(struct job))
        die_errno("write the job to the fork server");
    if (read(answers[0], answer, sizeof *answer) != sizeof *answer)
        die_errno("read an answer");
    double cost = now_seconds() - began;
    int status;
    if (m == FORKSERVER ? read(server_sock, &status, sizeof status) != sizeof status : waitpid(pid, &status, 0) < 0)
        die_errno("reap the %s child", method_name[m]);
    if (m != FORKSERVER)
        kit_child_reaped(pid, status);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || answer->result != n * n)
        die_msg("%s child %ld failed", method_name[m], answer->pid);
    return cost;
}

/* Interleaved: fork, spawn, forkserver, then spawn, forkserver, fork...:
 * a busy moment of the machine slows all three alike. */
static void measure_costs(void)
{
    double cost[METHODS][starts];
    struct answer unused;
    for (long s = 0; s < starts; s++)
        for (int k = 0; k < METHODS; k++)
            cost[(s + k) % METHODS][s] = 1e6 * run_one((s + k) % METHODS, s, &unused);
    say("start to answer, per process, %ld starts each: median, and the spread of the middle 80%%", starts);
    for (int m = 0; m < METHODS; m++) {
        double *mine = cost[m], mid = median(mine, (int)starts); /* sorts MINE */
        say("  %-10s %8.0f us  spread %6.0f us", method_name[m], mid, mine[starts * 9 / 10] - mine[starts / 10]);
    }
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "One job started by fork, spawn and forkserver: what each child sees, what each costs.",
        .flags = flags, .timeline = true};
    kit_start(argc, argv, &prog);
    struct job job;
    if (spawned && read(0, &job, sizeof job) != sizeof job)
        die_msg("--spawned: no job on stdin");
    if (spawned) /* a fresh run: the job on stdin is all it knows of the parent */
        run_job(job.n, 1);
    if (pipe(answers) != 0)
        die_errno("pipe");
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        die_errno("socketpair");
    pid_t server = fork(); /* first: one thread, global_value still 1 */
    if (server < 0)
        die_errno("fork for the fork server");
    if (server == 0) {
        kit_child_begin("fork-server");
        close(pair[0]);
        serve(pair[1]);
        kit_child_end();
        _exit(0);
    }
    kit_child_started(server, "fork-server");
    close(pair[1]);
    server_sock = pair[0];
    global_value = 42;
    say("start_methods: parent %ld started the fork server %ld, then set global_value from 1 to 42", (long)getpid(), (long)server);
    static const char *const made[METHODS] = {"a copy of the parent, made now", "a fresh program: argv and the job pipe",
                                              "a copy of the fork server, made before the change"};
    bool as_expected = true;
    for (int m = 0; m < METHODS; m++) {
        struct answer answer;
        run_one(m, m + 1, &answer);
        say("%-10s child %ld sees global_value = %ld: %s (%s)", method_name[m], answer.pid, answer.global_seen,
            answer.global_seen == 42 ? "the change is seen" : "not seen", made[m]);
        as_expected = as_expected && (answer.global_seen == 42) == (m == FORK);
    }
    measure_costs();
    close(server_sock); /* end of file: the server ends */
    int status;
    if (waitpid(server, &status, 0) < 0)
        die_errno("waitpid for the fork server");
    kit_child_reaped(server, status);
    say(as_expected ? "as expected: only fork's child saw the change" : "NOT AS EXPECTED: see the lines above");
    return as_expected && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
