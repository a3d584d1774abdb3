/* speedup.c - parallelism needs more than one core: one CPU-bound job split among
 * 1, 2, ... W worker processes, free on every core, then all pinned to one core.
 *
 * Python                                    C, in this file
 *   os.sched_setaffinity(0, {cpu})            sched_setaffinity(0, sizeof set, &set)
 *   len(os.sched_getaffinity(0))              allowed_cpus() (CPU_COUNT of sched_getaffinity)
 *   Process(target=work, args=(k,)).start()   fork(); the child sums its slice, then _exit
 *   q.put(part) / total += q.get()            write() / read() of one record on a pipe
 *   p.join() for every p                      waitpid(-1, ...): whichever worker ends first
 *   time.time(), time.process_time()          now_seconds(), cpu_seconds()
 */
#define _GNU_SOURCE /* sched_setaffinity, sched_getcpu, CPU_SET: Linux, not POSIX; also POSIX.1-2008 */
#include "kit.h"
#include <inttypes.h>
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_WORKERS = 16, MAX_REPEAT = 10 };
static long work = 1500, max_workers = 0, repeat = 3;
static const struct flag flags[] = {
    {"--work", FLAG_INT, &work, 1, 100000, "millions of items in the job (1000: about 1 s for one worker)", NULL},
    {"--max-workers", FLAG_INT, &max_workers, 1, MAX_WORKERS, "runs use 1 to N workers (default: twice the cores allowed)", NULL},
    {"--repeat", FLAG_INT, &repeat, 1, MAX_REPEAT, "rounds through all the runs, interleaved; the table shows medians", NULL},
    {0},
};

struct report { uint64_t sum; double cpu, wall; int cpu_id, allowed; }; /* < PIPE_BUF: arrives whole */

/* The worker: pin itself when asked, sum slice K of W, report, end. */
static noreturn void worker(int k, int workers, int pin_cpu, int fd, double start)
{
    /* EXERCISE 06.1: when PIN_CPU >= 0, let this worker run on core PIN_CPU only
     * HINT: a cpu_set_t is a set of cores: CPU_ZERO(&set) empties it, CPU_SET(pin_cpu, &set) adds one.
     * HINT: sched_setaffinity(0, sizeof set, &set) applies it to this process; on -1, die_errno(...).
     */
    if (pin_cpu >= 0) {
        cpu_set_t set;
        CPU_ZERO(&set);
        CPU_SET(pin_cpu, &set);
        if (sched_setaffinity(0, sizeof set, &set) < 0)
            die_errno("worker %d: sched_setaffinity to core %d", k + 1, pin_cpu);
    }
    /* STUB 06.1
    (void)pin_cpu;
     */
    /* END EXERCISE 06.1 */
    /* The job: a sum of hashes (splitmix64); no formula gives it; every split adds up the same. */
    uint64_t items = (uint64_t)work * 1000000u, w = (uint64_t)workers, sum = 0;
    for (uint64_t i = items * (uint64_t)k / w; i < items * (uint64_t)(k + 1) / w; i++) {
        uint64_t z = i + 0x9e3779b97f4a7c15u;
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
        sum += z ^ (z >> 31);
    }
    /* It cannot see when it waits for a core; its CPU time against the run's time says how long. */
    struct report r = {sum, cpu_seconds(), now_seconds() - start, sched_getcpu(), allowed_cpus()};
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        die_errno("worker %d: write", k + 1);
    kit_child_end();
    _exit(0);
}

/* p.join() for every worker, in the order they end: a worker killed by someone else is noticed at once. */
static bool join_workers(int workers)
{
    /* EXERCISE 06.2: reap WORKERS workers in the order they end; a child you did not start is no worker
     * HINT: waitpid(-1, &status, 0) returns whichever child ended; kit_is_registered(pid) says if it is yours.
     * HINT: kit_child_reaped(pid, status) at once; not WIFEXITED with 0: warn_msg, kit_stop_children(), false.
     */
    for (int left = workers, status; left > 0;) {
        kit_phase("waitpid");
        pid_t pid = waitpid(-1, &status, 0);
        if (pid < 0)
            die_errno("waitpid");
        if (!kit_is_registered(pid))
            continue; /* left by whoever exec'ed this program: reaped, not counted */
        kit_child_reaped(pid, status);
        left--;
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        char text[64];
        warn_msg("a worker (pid %ld) failed: %s", (long)pid, status_text(status, text, sizeof text));
        kit_stop_children(); /* the others: SIGTERM, SIGCONT, reap */
        return false;
    }
    /* STUB 06.2
    for (int k = 0, status; k < workers; k++)
        kit_child_reaped(waitpid(-1, &status, 0), 0);
     */
    /* END EXERCISE 06.2 */
    return true;
}

/* Split the job among WORKERS processes (pinned to PIN_CPU unless -1), join, combine. */
static bool run_once(int workers, int pin_cpu, double *wall, double *busy, uint64_t *sum)
{
    int fds[2], reports = 0, allowed = 0, seen = -1; /* seen: the core all ended on, or -2 */
    if (pipe(fds) < 0)
        die_errno("pipe");
    double start = now_seconds(), cpu = 0, walls = 0;
    for (int k = 0; k < workers; k++) {
        char name[32];
        snprintf(name, sizeof name, "%s %d of %d", pin_cpu >= 0 ? "pinned" : "free", k + 1, workers);
        pid_t pid = fork();
        if (pid < 0)
            die_errno("fork");
        if (pid == 0) {
            kit_child_begin(name);
            close(fds[0]);
            worker(k, workers, pin_cpu, fds[1], start);
        }
        kit_child_started(pid, name);
    }
    close(fds[1]); /* now the pipe ends (EOF) when the last worker has exited */
    bool ok = join_workers(workers);
    *wall = now_seconds() - start;
    struct report r; /* combine: every worker has ended, its record waits in the pipe */
    for (*sum = 0; read(fds[0], &r, sizeof r) == (ssize_t)sizeof r; reports++) {
        *sum += r.sum, cpu += r.cpu, walls += r.wall;
        allowed = r.allowed > allowed ? r.allowed : allowed;
        seen = seen == -1 || seen == r.cpu_id ? r.cpu_id : -2;
    }
    close(fds[0]);
    if (!ok || reports != workers)
        return ok ? (warn_msg("%d of %d workers reported", reports, workers), false) : false;
    char where[32] = "more than one core";
    if (seen >= 0)
        snprintf(where, sizeof where, "core %d", seen);
    *busy = cpu / *wall; /* how many cores' worth of work it got, on average */
    say("run: %d worker%s, %s: %.3f s, cpu %.3f s, on a core %.0f%% of their time, result %016" PRIx64
        ", each allowed %d core%s, ended on %s", workers, workers == 1 ? "" : "s",
        pin_cpu >= 0 ? "pinned to one core" : "all cores", *wall, cpu, 100 * cpu / walls, *sum,
        allowed, allowed == 1 ? "" : "s", where);
    return true;
}

/* Wall time and busy cores of each round of run I: I % per + 1 workers, pinned from pinned_from on. */
static double walls[2 * MAX_WORKERS][MAX_REPEAT], busy[2 * MAX_WORKERS][MAX_REPEAT];
static int per, pinned_from;

/* Medians, spreads, speedups against the 1-worker runs on the same cores; then the verdicts. */
static void print_results(int rows, int all)
{
    double base = 1, best[2] = {0, 0}, busiest[2] = {0, 0}; /* [1]: one core */
    int best_w[2] = {0, 0};
    char cells[32];
    say("\n== medians of %ld rounds; speedup = time of 1 worker / time of W workers, same cores ==", repeat);
    say("cores  workers  time (s)  spread (s)  speedup  efficiency  busy cores  bar (full = %dx)", all);
    for (int i = 0; i < rows; i++) {
        int w = i % per + 1, c = i >= pinned_from ? 1 : all, one = c == 1;
        double t = median(walls[i], (int)repeat), b = median(busy[i], (int)repeat); /* both sorted */
        base = w == 1 ? t : base;
        double s = base / t; /* above C cores, or a gain on one core: the 1-worker runs were slowed */
        bool noise = s >= c + 0.005;
        say("%5d  %7d  %8.3f  %10.3f  %6.2fx  %9.0f%%  %10.2f  |%s|%s", c, w, t,
            walls[i][repeat - 1] - walls[i][0], s, 100 * s / w, b, bar(s / all, 20, cells, sizeof cells),
            noise ? "  noise: the 1-worker runs were slowed" : "");
        busiest[one] = w > 1 && busy[i][repeat - 1] > busiest[one] ? busy[i][repeat - 1] : busiest[one];
        if (w > 1 && !noise && s > best[one])
            best[one] = s, best_w[one] = w;
    }
    if (best_w[0]) /* none when there is one core, one worker, or only noise */
        say("verdict: %d cores: at best %.2fx with %d workers, busy on up to %.2f cores (%d cores can"
            " give %dx at most)", all, best[0], best_w[0], busiest[0], all, all);
    if (per > 1)
        say("verdict: one core: 2 or more workers were never busy on more than %.2f cores: %s", busiest[1],
            busiest[1] <= 1.05 ? "no speedup; the seed is right, parallelism needs more than one core"
                               : "MORE THAN ONE CORE: the pinning did not work");
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        "Time one CPU-bound job split among 1 to N worker processes, free on every core and\n"
        "all pinned to one core, in interleaved rounds; print medians and verdicts.", flags, true, NULL, NULL};
    kit_start(argc, argv, &prog);
    int all = allowed_cpus(), pin_to = sched_getcpu(); /* the core we are on: one we may use */
    if (pin_to < 0)
        die_errno("sched_getcpu");
    per = max_workers ? (int)max_workers : all < 2 ? 2 : all > 8 ? 16 : 2 * all;
    pinned_from = all > 1 ? per : 0; /* on one core, free runs would repeat the pinned ones */
    int rows = pinned_from + per;
    say("speedup: %ld million items, workers 1 to %d, rounds %ld (interleaved); this machine lets us"
        " use %d core%s; pinned runs use core %d", work, per, repeat, all, all == 1 ? "" : "s", pin_to);
    uint64_t expected = 0, sum;
    for (long round = 0; round < repeat; round++)
        for (int i = 0; i < rows; i++) {
            if (!run_once(i % per + 1, i >= pinned_from ? pin_to : -1, &walls[i][round],
                          &busy[i][round], &sum))
                return 1;
            expected = round == 0 && i == 0 ? sum : expected;
            if (sum != expected)
                die_msg("result %016" PRIx64 " differs from the first run's %016" PRIx64, sum, expected);
        }
    print_results(rows, all);
    say("every run combined to the same result: %016" PRIx64, expected);
    return 0;
}
