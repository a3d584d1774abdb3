/* lifecycle.c - one child process from start to join (seed example 1).
 *
 * Python                                   C, in this file
 *   p = Process(target=prof_func, ...)       struct process p = {...}
 *   p.start()                                fork(); the child runs prof_func, then _exit(0)
 *   p.is_alive()                             waitpid(pid, &status, WNOHANG)
 *   p.join()                                 waitpid(pid, &status, 0)
 *   p.terminate()                            kill(pid, SIGTERM)
 *   p.exitcode                               WEXITSTATUS(status), or -WTERMSIG(status)
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static const char *name = "First";
static double sleep_for = 3, terminate_after = -1, zombie_for = -1; /* -1: not asked for */

static const struct flag flags[] = {
    {"--name", FLAG_TEXT, &name, 1, 64, "the child's name", NULL},
    {"--sleep", FLAG_SECONDS, &sleep_for, 0, 3600, "how long the child sleeps", NULL},
    {"--terminate-after", FLAG_SECONDS, &terminate_after, 0, 3600,
     "SIGTERM to the child after this long: exit code -15 (default never)", NULL},
    {"--zombie-for", FLAG_SECONDS, &zombie_for, 0, 3600,
     "keep the exited child a zombie this long (default no wait)", NULL},
    {0},
};

/* What Python's Process object remembers about its child. */
struct process {
    const char *name;
    pid_t pid;
    bool reaped;  /* waitpid() has collected its exit status: the pid is no longer ours */
    int exitcode; /* Python's convention: the exit status, or -N for signal N */
};

/* The target function: what the child runs. */
static void prof_func(const char *who, double seconds)
{
    say("Sub-Process %s: starting", who);
    kit_phase("sleep");
    sleep_seconds(seconds);
    kit_phase("run");
    say("Sub-Process %s: finishing", who);
}

/* p.start(): fork() makes a copy of this process. It returns twice: the
 * child's pid in the parent, 0 in the child. */
static void start(struct process *p, double seconds)
{
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        /* EXERCISE 01.1: the child's path: run the target prof_func(p->name, seconds), then leave
         * HINT: Only the child gets here. It must end with _exit(), or it would go on in main().
         * HINT: kit_child_begin(p->name); prof_func(p->name, seconds); kit_child_end(); _exit(0);
         */
        kit_child_begin(p->name);
        prof_func(p->name, seconds);
        kit_child_end();
        _exit(0);
        /* STUB 01.1
        kit_child_begin(p->name); (void)prof_func; sleep_seconds(seconds); _exit(0);
         */
        /* END EXERCISE 01.1 */
    }
    kit_child_started(pid, p->name);
    p->pid = pid;
}

/* EXERCISE 01.3: p.join(): wait for the child with waitpid(), then turn its status into the exitcode
 * HINT: waitpid(p->pid, &status, 0) blocks until the child ends; then call collected(p, status)
 * HINT: in collected(): WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status)
 */
/* The child is reaped: its pid is no longer ours. Keep Python's exitcode:
 * the exit status (0..255), or -N when signal N ended it. */
static void collected(struct process *p, int status)
{
    kit_child_reaped(p->pid, status);
    p->reaped = true;
    p->exitcode = WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status);
}

/* p.join(): block until the child has ended, then reap it. Until the
 * reap the ended child is a zombie: its status waits in the kernel. */
static void join(struct process *p)
{
    if (p->reaped) /* is_alive() already collected it: join returns at once */
        return;
    int status;
    kit_phase("waitpid");
    if (waitpid(p->pid, &status, 0) < 0)
        die_errno("waitpid");
    collected(p, status);
}
/* STUB 01.3
static void collected(struct process *p, int status) { kit_child_reaped(p->pid, status); p->reaped = true; p->exitcode = 0; }
static void join(struct process *p)
{ while (!p->reaped && proc_state(p->pid) != 'Z') sleep_seconds(0.01); if (!p->reaped) { kit_stop_children(); p->exitcode = -1; } p->reaped = true; }
 */
/* END EXERCISE 01.3 */

/* p.is_alive(): ask without waiting (WNOHANG). An exited child is a zombie
 * until reaped: not alive, and this call reaps it. kill(pid, 0) would say
 * "alive" for a zombie: it only asks whether the pid exists. */
static bool is_alive(struct process *p)
{
    if (p->reaped)
        return false;
    /* EXERCISE 01.2: is the child still running? Ask waitpid() without waiting
     * HINT: waitpid(p->pid, &status, WNOHANG) returns 0 while it runs, its pid once it has ended
     * HINT: when it returns the pid, the child is reaped now: collected(p, status); return false;
     */
    int status;
    pid_t ended = waitpid(p->pid, &status, WNOHANG);
    if (ended < 0)
        die_errno("waitpid");
    if (ended == 0)
        return true;
    collected(p, status);
    return false;
    /* STUB 01.2
    (void)collected;
    return true;
     */
    /* END EXERCISE 01.2 */
}

/* The zombie, on purpose: wait until the child has exited WITHOUT reaping
 * it (WNOWAIT), show its state, and only look at it after ZOMBIE_FOR. */
static void keep_zombie(const struct process *p)
{
    siginfo_t info;
    kit_phase("waitpid");
    if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT) < 0)
        die_errno("waitid");
    log_info("Main-Process: process p (pid %ld) has exited, not reaped yet: state %c for %g s",
             (long)p->pid, proc_state(p->pid), zombie_for);
    kit_phase("sleep");
    sleep_seconds(zombie_for);
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Start one child process, watch it run, join it (seed example 1).",
        .flags = flags,
        .timeline = true,
    };
    kit_start(argc, argv, &prog);
    struct process p = {.name = name};
    bool terminated = false;

    log_info("Main-Process: before creating process");
    start(&p, sleep_for);
    log_info("Main-Process: during process");
    if (zombie_for >= 0)
        keep_zombie(&p);
    say("process p is alive: %s", is_alive(&p) ? "True" : "False"); /* as Python spells them */

    if (terminate_after >= 0) {
        kit_phase("sleep");
        sleep_seconds(terminate_after);
        if (is_alive(&p)) {
            log_info("Main-Process: terminating process (SIGTERM)");
            /* EXERCISE 01.4: p.terminate(): send the child SIGTERM, the polite "please end"
             * HINT: kill() sends a signal to a pid (it does not kill unless the signal does)
             * HINT: if (kill(p.pid, SIGTERM) < 0) die_errno("kill");
             */
            if (kill(p.pid, SIGTERM) < 0)
                die_errno("kill");
            /* STUB 01.4
             */
            /* END EXERCISE 01.4 */
            terminated = true;
        } else {
            log_info("Main-Process: process already finished, nothing to terminate");
        }
    }

    /* The seed logs "joined process" before join() has waited; here it comes after. */
    log_info("Main-Process: joining process");
    join(&p);
    log_info("Main-Process: joined process");
    if (terminated && p.exitcode == 0)
        log_info("Main-Process: the process had finished before SIGTERM reached it");
    say("process p is alive: %s", is_alive(&p) ? "True" : "False");
    say("process p exit code: %d", p.exitcode);

    /* Success: the child ended as asked, normally or by our SIGTERM (which finds
     * a zombie and changes nothing if it ended just after is_alive()). */
    return p.exitcode == 0 || (terminated && p.exitcode == -SIGTERM) ? 0 : 1;
}
