/* lifecycle.c - one child process from start to join (seed example 1).
 *
 * Python                                   C, in this file
 *   p = Process(target=prof_func, ...)       struct process p = {...}
 *   p.start()                                fork(); the child runs prof_func
 *   p.is_alive()                             waitpid(pid, &status, WNOHANG)
 *   p.join()                                 waitpid(pid, &status, 0)
 *   p.terminate()                            kill(pid, SIGTERM)
 *   p.exitcode                               WEXITSTATUS, or -WTERMSIG
 *
 * Run:   make && ./lifecycle              the seed: a child that sleeps 3 s
 *        ./lifecycle --terminate-after 1  stop it early: exit code -15
 * Watch: in another terminal, while it sleeps:
 *        ps -o pid,ppid,stat,comm -C lifecycle
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* What Python's Process object remembers about its child. */
struct process {
    const char *name;
    pid_t pid;
    bool reaped;  /* waitpid() has collected the exit status */
    int exitcode; /* Python's convention: the exit status, or -signal */
};

struct options {
    const char *name;
    double sleep;
    double terminate_after; /* < 0: never */
};

/* The running child, for the Ctrl-C handler; 0 when there is none. */
static volatile sig_atomic_t running_child;

/* The target function: what the child runs. */
static void prof_func(const char *name, double seconds)
{
    say("Sub-Process %s: starting", name);
    sleep_seconds(seconds);
    say("Sub-Process %s: finishing", name);
}

/* p.start(): fork() makes a copy of this process; only the copy (the
 * child, where fork returns 0) runs the target, then exits. */
static void start(struct process *p, double seconds)
{
    block_stop_signals(); /* until running_child is set */
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        child_default_signals();
        prof_func(p->name, seconds);
        _exit(0); /* _exit: the child must not run the parent's exit-time code */
    }
    p->pid = pid;
    running_child = pid;
    unblock_stop_signals();
}

/* Python's exitcode from a wait status: 0..255 for exit(), -N for signal N. */
static void record_exit(struct process *p, int status)
{
    p->reaped = true;
    running_child = 0;
    if (WIFEXITED(status))
        p->exitcode = WEXITSTATUS(status);
    else
        p->exitcode = -WTERMSIG(status);
}

/* Reap the child if it has ended (WNOHANG: never wait). The stop signals
 * are blocked meanwhile, so that the Ctrl-C handler never sees the pid of
 * a child already reaped: the kernel may give that pid to someone else.
 * Returns true if the child was reaped now. */
static bool try_reap(struct process *p)
{
    int status;
    block_stop_signals();
    pid_t r = waitpid(p->pid, &status, WNOHANG);
    if (r == p->pid)
        record_exit(p, status);
    unblock_stop_signals();
    if (r < 0)
        die_errno("waitpid");
    return r == p->pid;
}

/* p.is_alive(): ask the kernel without waiting. A child that has exited
 * but is not yet reaped is a zombie: not alive, and this call reaps it.
 * kill(pid, 0) would wrongly say "alive" for a zombie. */
static bool is_alive(struct process *p)
{
    return !p->reaped && !try_reap(p);
}

/* p.join(): block until the child has ended, then reap it. waitid() with
 * WNOWAIT waits without reaping (Ctrl-C can still interrupt it); the reap
 * itself is try_reap's, with the stop signals blocked. */
static void join(struct process *p)
{
    while (!p->reaped) {
        siginfo_t info;
        if (waitid(P_PID, (id_t)p->pid, &info, WEXITED | WNOWAIT) < 0 && errno != EINTR)
            die_errno("waitid");
        try_reap(p);
    }
}

/* Ctrl-C or kill of the parent: stop the child and reap it, so nothing
 * is left behind, then die of the same signal. SIGCONT lets a stopped
 * child (kill -STOP) act on the SIGTERM. Only async-signal-safe calls
 * here: kill, waitpid, and what die_of_signal uses. */
static void on_stop_signal(int sig)
{
    pid_t pid = running_child;
    if (pid > 0) {
        kill(pid, SIGTERM);
        kill(pid, SIGCONT);
        waitpid(pid, NULL, 0);
    }
    die_of_signal(sig);
}

static void usage(void)
{
    fputs("usage: lifecycle [--name NAME] [--sleep SECONDS] [--terminate-after SECONDS]\n"
          "\n"
          "Start one child process, watch it run, join it (seed example 1).\n"
          "\n"
          "  --name NAME                the child's name (default First; 1 to 64 characters)\n"
          "  --sleep SECONDS            how long the child sleeps (default 3; 0 to 3600)\n"
          "  --terminate-after SECONDS  send the child SIGTERM after this long (0 to 3600);\n"
          "                             its exit code is then -15, as in Python\n"
          "  -h, --help                 show this help\n",
          stdout);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {.name = "First", .sleep = 3.0, .terminate_after = -1.0};
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (is_help_flag(argv[i])) {
            usage();
            exit(0);
        } else if ((value = flag_value(argc, argv, &i, "--name"))) {
            size_t len = strlen(value);
            if (len < 1 || len > 64)
                usage_error("--name: must be 1 to 64 characters");
            opt.name = value;
        } else if ((value = flag_value(argc, argv, &i, "--sleep"))) {
            opt.sleep = parse_seconds("--sleep", value, 0, 3600);
        } else if ((value = flag_value(argc, argv, &i, "--terminate-after"))) {
            opt.terminate_after = parse_seconds("--terminate-after", value, 0, 3600);
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    return opt;
}

static const char *true_false(bool b)
{
    return b ? "True" : "False"; /* spelled as Python prints it */
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    struct options opt = parse_options(argc, argv);
    catch_stop_signals(on_stop_signal);
    /* Had whoever started us set SIGCHLD to "ignore", the kernel would reap
     * the child itself and waitpid would fail with ECHILD. */
    signal(SIGCHLD, SIG_DFL);

    struct process p = {.name = opt.name};
    bool terminated = false;

    log_info("Main-Process: before creating process");
    start(&p, opt.sleep);
    log_info("Main-Process: during process");
    say("process p is alive: %s", true_false(is_alive(&p)));

    if (opt.terminate_after >= 0) {
        sleep_seconds(opt.terminate_after);
        if (is_alive(&p)) {
            log_info("Main-Process: terminating process (SIGTERM)");
            if (kill(p.pid, SIGTERM) < 0)
                die_errno("kill");
            terminated = true;
        } else {
            log_info("Main-Process: process already finished, nothing to terminate");
        }
    }

    /* The seed logs "joined process" here, before join() has waited. */
    log_info("Main-Process: joining process");
    join(&p);
    log_info("Main-Process: joined process");
    if (terminated && p.exitcode == 0)
        log_info("Main-Process: the process had finished before SIGTERM reached it");
    say("process p is alive: %s", true_false(is_alive(&p)));
    say("process p exit code: %d", p.exitcode);

    /* Success means the child ended as asked: normally, or by our SIGTERM.
     * (A child can end in the instant between is_alive() and kill(): then
     * SIGTERM finds a zombie, changes nothing, and the exit code is 0.) */
    bool as_asked = p.exitcode == 0 || (terminated && p.exitcode == -SIGTERM);
    return as_asked ? 0 : 1;
}
