/* create_and_reap.c - zombies of both kinds, and what starting a process costs
 * against starting a thread, measured in interleaved rounds.
 *
 *   Python                               C, in this file
 *   Process(target=f).start()            fork(); the child runs f, then _exit()
 *   p.join(): collects the exit status   waitpid(); until then the child is a zombie
 *   Thread(target=f).start()             pthread_create()
 *   t.join() (C also gets f's result)    pthread_join(t, &result)
 *   (a zombie: not visible)              state Z in /proc/PID/stat
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include "measure.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

static long count = 500, repeats = 5, zombie_threads = 8;
static double zombie_hold;
static const struct flag flags[] = {
    {"--count", FLAG_INT, &count, 1, 4000, "processes, then threads, started in each round", NULL},
    {"--repeats", FLAG_INT, &repeats, 1, 100, "rounds, interleaved (--count x --repeats <= 4000)", NULL},
    {"--zombie-threads", FLAG_INT, &zombie_threads, 1, 64, "threads that end and are joined later", NULL},
    {"--zombie-hold", FLAG_SECONDS, &zombie_hold, 0, 3600, "keep the zombie this long, to see it in ps", NULL},
    {0},
};
static bool passed = true; /* the checks that cannot depend on luck */
enum { ZOMBIES, CREATION, EASE, ROWS };
static struct claim table[ROWS] = {
    {"zombie processes easy, zombie threads hard", "an unjoined thread is a zombie too", "", ""},
    {"more overhead, slower start/end (process)", "a time: machine, load, parent's size", "", ""},
    {"easier to write (process); both hard to debug", "reaping, signals, results: yours", "", ""},
};

/* 1. A child that has exited, not yet waited for: state Z until waitpid. */
static bool zombie_process(void)
{
    say("\n== 1. zombies: ended, but not yet waited for ==");
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        kit_child_begin("zombie");
        kit_child_end();
        _exit(0); /* from here until the parent's waitpid, a zombie */
    }
    kit_child_started(pid, "zombie");
    kit_phase("wait"); /* WNOWAIT: until it has exited, but leave it a zombie */
    if (waitid(P_PID, (id_t)pid, &(siginfo_t){0}, WEXITED | WNOWAIT) < 0)
        die_errno("waitid");
    char state = proc_state(pid);
    say("child %ld has exited and was not waited for: /proc/%ld/stat state %c%s", (long)pid,
        (long)pid, state, state == 'Z' ? " (zombie)" : "");
    say("kill(%ld, 0) on the zombie: %s", (long)pid,
        kill(pid, 0) == 0 ? "succeeds: the pid still exists, so it cannot tell a zombie" : "fails");
    if (zombie_hold > 0) {
        say("holding the zombie %g s; look: ps -o pid,ppid,stat,comm --ppid %ld", zombie_hold, (long)getpid());
        kit_phase("sleep");
        sleep_seconds(zombie_hold);
    }
    /* EXERCISE 05b.1: reap the zombie: waitpid() for it, tell the registry, say its exit status
     * HINT: waitpid(pid, &status, 0) collects the exit status the kernel kept: then it is gone.
     * HINT: after waitpid: kit_child_reaped(pid, status); exitcode_of(status) is Python's exitcode.
     */
    int status;
    kit_phase("waitpid");
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid");
    kit_child_reaped(pid, status);
    say("waitpid collected what the zombie kept: exitcode %d", exitcode_of(status));
    bool reaped = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    /* STUB 05b.1
    bool reaped = false;
    kit_stop_children(); // until then, the kit's registry reaps it
     */
    /* END EXERCISE 05b.1 */
    bool gone = proc_state(pid) == '?';
    say("after waitpid: /proc/%ld %s", (long)pid, gone ? "is gone (reaped)" : "is STILL THERE");
    return state == 'Z' && reaped && gone;
}

static void *return_square(void *arg) { return (void *)((intptr_t)arg * (intptr_t)arg); }

/* Threads that return, joined only later: until then each keeps its stack and
 * result, as a zombie its exit status. The run's first threads: no reused stack. */
static void zombie_threads_kept(bool process_ok)
{
    int n = (int)zombie_threads, err;
    long tasks = proc_status_field(0, "Threads"), space = proc_status_field(0, "VmSize"), left;
    pthread_t threads[64];
    for (int i = 0; i < n; i++) {
        if ((err = pthread_create(&threads[i], NULL, return_square, (void *)(intptr_t)i)))
            errno = err, die_errno("pthread_create");
    }
    double end = now_seconds() + 10; /* poll /proc (bounded) until the kernel let go of all */
    while ((left = proc_status_field(0, "Threads") - tasks) > 0 && now_seconds() < end)
        sleep_seconds(0.001);
    long kept = proc_status_field(0, "VmSize") - space;
    say("%d threads returned; %ld of them still in /proc/self/task; never joined, they still"
        " hold %ld KiB of address space (their stacks)", n, left, kept);
    /* EXERCISE 05b.2: join every thread now and check that each returned i * i
     * HINT: pthread_join(thread, &result) waits for it and hands over what it returned.
     * HINT: void *result; pthread_join(threads[i], &result); compare (intptr_t)result with i * i.
     */
    bool results_ok = true;
    for (int i = 0; i < n; i++) {
        void *result;
        pthread_join(threads[i], &result);
        results_ok &= (intptr_t)result == (intptr_t)i * i;
    }
    /* STUB 05b.2
    bool results_ok = false;
     */
    /* END EXERCISE 05b.2 */
    say("pthread_join, later, still got each thread's return value: %s",
        results_ok ? "yes (kept, like a zombie's exit status)" : "NO");
    passed &= claim_set(&table[ZOMBIES], process_ok && results_ok, "TOO SIMPLE", "child: %s; %d unjoined"
        " threads kept %ld KiB", process_ok ? "Z until waitpid, then gone" : "NO zombie", n, kept);
}

/* 2. N processes or N threads, each started then waited for: microseconds each. */
static double time_batch(bool processes)
{
    double start = now_seconds();
    for (long i = 0; i < count; i++) {
        int status, err;
        pthread_t thread;
        if (!processes) { /* a thread: created, then joined */
            if ((err = pthread_create(&thread, NULL, return_square, NULL)) || (err = pthread_join(thread, NULL)))
                errno = err, die_errno("pthread_create or pthread_join");
            continue;
        }
        pid_t pid = fork();
        if (pid < 0)
            die_errno("fork");
        if (pid == 0) {
            kit_child_begin("short");
            kit_child_end();
            _exit(0);
        }
        kit_child_started(pid, "short");
        if (waitpid(pid, &status, 0) < 0)
            die_errno("waitpid");
        kit_child_reaped(pid, status);
        passed &= WIFEXITED(status) && WEXITSTATUS(status) == 0; /* it only had to _exit(0) */
    }
    return (now_seconds() - start) / (double)count * 1e6;
}

/* Rounds interleaved, first kind alternating: a load that comes or goes hits both. */
static void creation_cost(void)
{
    say("\n== 2. creation and teardown: %ld of each per round, %ld rounds interleaved ==", count, repeats);
    double process[100], thread[100];
    int slower = 0; /* rounds in which a process took longer than a thread */
    for (int r = 0; r < repeats; r++) {
        if (r % 2)
            thread[r] = time_batch(false), process[r] = time_batch(true);
        else
            process[r] = time_batch(true), thread[r] = time_batch(false);
        slower += process[r] > thread[r];
        say("round %d: process %.1f us, thread %.1f us each", r + 1, process[r], thread[r]);
    }
    double p = median(process, (int)repeats), t = median(thread, (int)repeats); /* sorts them */
    say("processes: median %.1f us each (spread %.1f to %.1f)", p, process[0], process[repeats - 1]);
    say("threads:   median %.1f us each (spread %.1f to %.1f)", t, thread[0], thread[repeats - 1]);
    char cells[48], verdict[32];
    say("  process |%s| %.1f us", bar(p > t ? 1 : p / t, 40, cells, sizeof cells), p);
    say("  thread  |%s| %.1f us", bar(t > p ? 1 : t / p, 40, cells, sizeof cells), t);
    double ratio = t > 0 ? p / t : 0;
    say("a process took %.1fx the time of a thread (medians; slower in %d of %ld rounds)", ratio,
        slower, repeats);
    snprintf(verdict, sizeof verdict, "%s here: %.1fx", /* MIXED: rounds disagree */
             slower == repeats ? "TRUE" : slower == 0 ? "NOT SEEN" : "MIXED", ratio);
    claim_set(&table[CREATION], true, verdict, "%ld x %ld each: process %.1f us, thread %.1f us",
              repeats, count, p, t);
}

int main(int argc, char **argv)
{
    static const struct program prog = {.flags = flags, .timeline = true,
        .purpose = "Zombies of both kinds (an unreaped child, an unjoined thread), then what starting\n"
                   "a process costs against a thread; the seed's claims, each measured."};
    kit_start(argc, argv, &prog);
    if (count * repeats > 4000) /* the child registry keeps at most 4096 children per run */
        usage_error("--count x --repeats (%ld) must be at most 4000", count * repeats);
    say("create_and_reap: pid %ld; the seed's Process vs Thread list, measured here", (long)getpid());
    zombie_threads_kept(zombie_process());
    creation_cost();
    claim_set(&table[EASE], true, "OPINION", "nothing to measure");
    claims_print(table, ROWS);
    say("\nchecks that do not depend on timing: %s", passed ? "all passed" : "SOME FAILED");
    return passed ? 0 : 1;
}
