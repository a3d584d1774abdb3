/* fork_threads.c - fork() in a program with threads copies only the calling
 * thread: a lock another thread holds at that moment stays locked for ever in
 * the child; a spawn or forkserver child starts with the lock free.
 *
 * Python                                     C, in this file
 *   a threading.Thread holding a Lock          pthread_create(); the thread holds job_lock
 *   get_context("fork").Process(...).start()   fork() meanwhile: the child's
 *                                              pthread_mutex_lock() never returns
 *   get_context("spawn") / ("forkserver")      fork() + execv() of this program; a server
 *                                              forked before the thread existed
 *   p.join(timeout), p.is_alive(), p.kill()    poll() with a deadline, kill(SIGKILL), waitpid()
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

enum method { FORK, SPAWN, FORKSERVER, METHODS };
static const char *const method_name[METHODS] = {"fork", "spawn", "forkserver"};
struct answer { long pid, result; };
enum { JOB = 7 }; /* the job squares it */

static pthread_mutex_t job_lock = PTHREAD_MUTEX_INITIALIZER; /* as malloc's or a logger's lock */
static sem_t lock_held; /* posted by the second thread once it holds job_lock */
static int answers[2], server_sock; /* every child's answer; the parent's end of the server's socketpair */
static double timeout = 1;
static bool spawned;

static const struct flag flags[] = {
    {"--timeout", FLAG_SECONDS, &timeout, 0.01, 60, "how long to wait for each child's answer", NULL},
    {"--spawned", FLAG_SWITCH, &spawned, 0, 0, "how spawn runs this program: the job, its answer on stdout", NULL},
    {0},
};

/* The second thread: it holds job_lock from before the first start until
 * the program ends (then every thread ends). */
static void *hold_lock(void *unused)
{
    (void)unused;
    /* EXERCISE 10b.1: take job_lock, and only then let the main thread go on (it starts the children next)
     * HINT: A sleep would make it likely that the lock is held at fork(); a semaphore posted after the lock makes it certain.
     * HINT: pthread_mutex_lock(&job_lock); then sem_post(&lock_held);
     */
    pthread_mutex_lock(&job_lock);
    sem_post(&lock_held); /* from now on, fork() copies a locked job_lock */
    /* STUB 10b.1
    sem_post(&lock_held);
     */
    /* END EXERCISE 10b.1 */
    pause(); /* holding it, until the program ends (or a signal handler returns: the lock stays held) */
    return NULL;
}

/* The job, whichever way the process began: take the lock a library would
 * take, square JOB, answer on OUT. */
static noreturn void run_job(int out)
{
    kit_phase("lock");
    pthread_mutex_lock(&job_lock); /* in a copy made while another thread held it: for ever */
    kit_phase("run");
    struct answer answer = {(long)getpid(), JOB * JOB};
    pthread_mutex_unlock(&job_lock);
    if (write(out, &answer, sizeof answer) != sizeof answer)
        die_errno("write the answer");
    kit_child_end();
    _exit(0);
}

/* fork: a copy of the parent, with job_lock locked and no thread to unlock
 * it. spawn: the copy at once runs this program afresh (job_lock free). */
static pid_t start_child(enum method m)
{
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        kit_child_begin(method_name[m]);
        if (m == FORK)
            run_job(answers[1]);
        if (dup2(answers[1], 1) < 0)
            die_errno("dup2");
        char *args[] = {"fork_threads", "--spawned", NULL};
        execv("/proc/self/exe", args); /* Linux: this very program, wherever it lies */
        die_errno("execv /proc/self/exe");
    }
    kit_child_started(pid, method_name[m]);
    return pid;
}

/* forkserver: forked before the thread existed, so its job_lock is free, and
 * so is each worker's (a copy of the server). Signals wait while a worker
 * lives: the server never dies and leaves it an orphan nobody reaps. */
static void serve(int sock)
{
    sigset_t all;
    sigfillset(&all);
    char request;
    for (kit_phase("read"); read(sock, &request, 1) == 1; kit_phase("read")) { /* until end of file */
        sigprocmask(SIG_BLOCK, &all, NULL);
        pid_t pid = fork();
        if (pid < 0)
            die_errno("fork server: fork");
        if (pid == 0) {
            kit_child_begin("worker");
            run_job(answers[1]);
        }
        kit_child_started(pid, "worker");
        int status;
        if (waitpid(pid, &status, 0) < 0)
            die_errno("fork server: waitpid");
        kit_child_reaped(pid, status);
        if (write(sock, &status, sizeof status) != sizeof status)
            die_errno("fork server: report");
        sigprocmask(SIG_UNBLOCK, &all, NULL);
    }
}

/* Start the job by method M and wait, up to --timeout, for its answer. No
 * answer: the child is stuck for good; kill it (it runs no handler while it
 * waits for the lock, and SIGKILL needs none) and reap it. */
static bool try_method(enum method m)
{
    pid_t pid = m == FORKSERVER ? 0 : start_child(m); /* a worker's pid comes with its answer */
    if (m == FORKSERVER && write(server_sock, "j", 1) != 1)
        die_errno("write the job to the fork server");
    struct pollfd ready = {answers[0], POLLIN, 0};
    struct answer answer = {0, 0};
    kit_phase("wait");
    int got = poll(&ready, 1, (int)(timeout * 1000));
    kit_phase("run");
    if (got < 0 || (got > 0 && read(answers[0], &answer, sizeof answer) != sizeof answer))
        die_errno("poll or read for an answer");
    if (got == 0 && m == FORKSERVER)
        die_msg("the fork server's worker gave no answer in %.2f s", timeout);
    char state = got == 0 ? proc_state(pid) : 'R'; /* S: asleep, waiting for the lock */
    if (got == 0)
        kill(pid, SIGKILL);
    int status;
    if (m == FORKSERVER ? read(server_sock, &status, sizeof status) != sizeof status : waitpid(pid, &status, 0) < 0)
        die_errno("reap the %s child", method_name[m]);
    if (m != FORKSERVER)
        kit_child_reaped(pid, status);
    if (got == 0)
        say("%-10s child %ld: no answer after %.2f s, still in pthread_mutex_lock (state %c): the thread that held "
            "job_lock was not copied, nothing will unlock it; killed and reaped", method_name[m], (long)pid, timeout, state);
    else
        say("%-10s child %ld took job_lock and answered %ld", method_name[m], answer.pid, answer.result);
    return got > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && answer.result == JOB * JOB;
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Start a job that takes a lock by fork, spawn and forkserver while another thread holds it.",
        .flags = flags, .timeline = true};
    kit_start(argc, argv, &prog);
    if (spawned) /* a fresh run of the program: its own job_lock, free */
        run_job(1);
    int pair[2];
    if (pipe(answers) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0)
        die_errno("pipe or socketpair");
    pid_t server = fork(); /* first, while this program has one thread */
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
    pthread_t holder;
    if (sem_init(&lock_held, 0, 0) != 0 || (errno = pthread_create(&holder, NULL, hold_lock, NULL)) != 0)
        die_errno("sem_init or pthread_create");
    while (sem_wait(&lock_held) != 0)
        continue; /* EINTR */
    say("fork_threads: a second thread holds job_lock while the main thread starts each child");
    bool as_said = !try_method(FORK); /* the three, in this order */
    as_said = try_method(SPAWN) && as_said;
    as_said = try_method(FORKSERVER) && as_said;
    close(server_sock); /* end of file: the server ends */
    int status;
    if (waitpid(server, &status, 0) < 0)
        die_errno("waitpid for the fork server");
    kit_child_reaped(server, status);
    say(as_said ? "as expected: only fork's child got stuck" : "NOT AS EXPECTED: see the lines above");
    return as_said && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
