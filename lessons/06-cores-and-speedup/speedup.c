/* speedup.c - split, compute, combine: how much do more workers help?
 *
 * The seed says parallelism runs the parts of a task at the same moment,
 * split and then combined, and that with one CPU core this does not happen.
 * This program times one CPU-bound job split among 1, 2, ... W worker
 * processes, first with every core allowed, then with every worker pinned
 * to one core, and prints a table and a bar chart of the speedup.
 *
 * Python                                   C, in this file
 *   Process(target=work, args=(part,))       fork(); the child computes its part
 *   q.put(result) / q.get()                  write() / read() on a pipe
 *   p.join()                                 waitid(WNOWAIT), then waitpid()
 *   os.sched_setaffinity(0, {cpu})           sched_setaffinity(0, size, &set)
 *   os.sched_getaffinity(0)                  sched_getaffinity(0, size, &set)
 *   time.time() (seed example 4)             clock_gettime(CLOCK_MONOTONIC)
 *
 * Run:   make && ./speedup                  about 10 s on two idle cores
 *        ./speedup --work 300 --max-workers 3      a short one
 * Watch: with every core allowed, the time halves from 1 worker to 2 on a
 *        two-core machine and stops there; pinned to one core, it never
 *        goes down, however many workers. In another terminal, `top` (press
 *        1 for one line per CPU) shows which cores are busy.
 */
/* _GNU_SOURCE: sched_setaffinity, sched_getaffinity, sched_getcpu and the
 * CPU_SET macros are Linux calls, not POSIX. It also gives POSIX.1-2008. */
#define _GNU_SOURCE

#include "kit.h"

#include <errno.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

enum { MAX_WORKERS = 64 };

enum cores_mode { ALL_AND_ONE, ALL_ONLY, ONE_ONLY };

struct options {
    long work;        /* millions of items in the whole job */
    long max_workers; /* runs use 1, 2, ..., max_workers workers */
    long repeat;      /* each run this many times; the best time counts */
    long cpu;         /* the core pinned runs use; -1: the first allowed */
    enum cores_mode cores;
};

/* What a worker sends back through the pipe: one record, far below
 * PIPE_BUF, so it arrives whole even when workers write at once. */
struct report {
    uint64_t sum; /* its part of the result */
    int cpu;      /* the core it was on when it finished */
    int allowed;  /* how many cores it was allowed to run on */
};

/* What one run of W workers gave. */
struct run {
    double wall;     /* seconds, from the first fork to the last reap */
    double cpu_time; /* CPU time the workers used */
    uint64_t sum;    /* the parts, combined */
    cpu_set_t seen;  /* cores the workers finished on */
    int allowed;     /* cores a worker was allowed (the largest reported) */
};

/* One line of the table: a number of workers on a number of cores. */
struct result {
    int workers, cores;
    bool pinned;     /* all workers on one core */
    double best;     /* wall time of the fastest repeat, seconds */
    double cpu_time; /* CPU time the workers used in that repeat */
};

/* The cores this program may use (the whole machine, unless taskset or a
 * container's cpuset says otherwise). */
static cpu_set_t machine;

/* Workers of the run in progress, for the Ctrl-C handler; 0 once reaped.
 * Written only while SIGINT and SIGTERM are blocked. */
static pid_t running[MAX_WORKERS];

/* ---- the job ----------------------------------------------------------- */

/* A hash of i: a few multiplies, shifts and xors (splitmix64's finaliser).
 * Nothing to look up in memory: the job is pure CPU work. */
static uint64_t mix(uint64_t x)
{
    x += 0x9e3779b97f4a7c15u;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
    return x ^ (x >> 31);
}

/* The sum of mix(i) for i in [from, to), modulo 2^64. No formula gives it,
 * so the compiler must run the loop; the sum does not depend on how the
 * range is split, so every split must combine to the same result. */
static uint64_t work(uint64_t from, uint64_t to)
{
    uint64_t sum = 0;
    for (uint64_t i = from; i < to; i++)
        sum += mix(i);
    return sum;
}

/* ---- one run: W workers, all cores or one ------------------------------ */

/* The worker: pin itself (when asked), compute its slice, report, exit. */
static noreturn void worker(int index, int workers, uint64_t items, const cpu_set_t *pin,
                            int fd)
{
    if (pin && sched_setaffinity(0, sizeof *pin, pin) < 0) {
        warn_msg("worker %d: sched_setaffinity: %s", index, strerror(errno));
        _exit(1);
    }
    /* Slice k of W: [items*k/W, items*(k+1)/W); the slices cover all items. */
    uint64_t from = items * (uint64_t)index / (uint64_t)workers;
    uint64_t to = items * (uint64_t)(index + 1) / (uint64_t)workers;
    struct report r = {.sum = work(from, to), .cpu = sched_getcpu()};
    cpu_set_t allowed;
    r.allowed = sched_getaffinity(0, sizeof allowed, &allowed) == 0 ? CPU_COUNT(&allowed) : -1;
    if (write(fd, &r, sizeof r) != (ssize_t)sizeof r)
        _exit(1);
    _exit(0);
}

static double cpu_seconds_of_children(void)
{
    struct rusage usage;
    getrusage(RUSAGE_CHILDREN, &usage); /* children already reaped, in total */
    return (double)usage.ru_utime.tv_sec + (double)usage.ru_utime.tv_usec / 1e6 +
           (double)usage.ru_stime.tv_sec + (double)usage.ru_stime.tv_usec / 1e6;
}

/* Stop every worker still there and reap it. SIGCONT: a stopped worker
 * (kill -STOP) must run to die of the SIGTERM. Async-signal-safe: the
 * Ctrl-C handler calls it; elsewhere, call it with the stop signals blocked. */
static void stop_workers(void)
{
    for (int k = 0; k < MAX_WORKERS; k++)
        if (running[k] > 0) {
            kill(running[k], SIGTERM);
            kill(running[k], SIGCONT);
        }
    for (int k = 0; k < MAX_WORKERS; k++)
        if (running[k] > 0) {
            waitpid(running[k], NULL, 0);
            running[k] = 0;
        }
}

/* p.join() for every worker, in the order they end: a worker killed by
 * someone else is noticed at once, and the others are stopped. Wait and
 * reap are two steps: waitid(WNOWAIT) leaves the worker a zombie, so its
 * pid stays ours; the reap and clearing running[k] happen with Ctrl-C
 * held back, so the handler never kills a pid the kernel has reused.
 * (No EINTR: our handlers never return.) False if a worker failed. */
static bool join_workers(int workers)
{
    for (int left = workers; left > 0; left--) {
        siginfo_t info;
        if (waitid(P_ALL, 0, &info, WEXITED | WNOWAIT) < 0)
            die_errno("waitid");
        int k = 0, status;
        while (k < workers && running[k] != info.si_pid)
            k++; /* found: our only children are this run's workers */
        block_stop_signals();
        if (waitpid(info.si_pid, &status, 0) < 0)
            die_errno("waitpid");
        if (k < workers)
            running[k] = 0;
        unblock_stop_signals();
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            continue;
        if (WIFSIGNALED(status))
            warn_msg("worker %d (pid %ld) was killed by signal %d", k, (long)info.si_pid,
                     WTERMSIG(status));
        else
            warn_msg("worker %d (pid %ld) exited with status %d", k, (long)info.si_pid,
                     WEXITSTATUS(status));
        block_stop_signals();
        stop_workers();
        unblock_stop_signals();
        return false;
    }
    return true;
}

/* Split the job among WORKERS processes, pinned to PIN if not NULL; wait
 * for all; combine. False if a worker failed. */
static bool run_once(uint64_t items, int workers, const cpu_set_t *pin, struct run *out)
{
    int fds[2];
    if (pipe(fds) < 0)
        die_errno("pipe");
    double cpu_before = cpu_seconds_of_children();
    double start = now_seconds();

    for (int k = 0; k < workers; k++) {
        block_stop_signals(); /* until the pid is in running[] */
        pid_t pid = fork();
        if (pid < 0) {
            warn_msg("fork: %s", strerror(errno));
            stop_workers(); /* the workers already started */
            unblock_stop_signals();
            close(fds[1]);
            close(fds[0]);
            return false;
        }
        if (pid == 0) {
            child_default_signals();
            close(fds[0]);
            worker(k, workers, items, pin, fds[1]);
        }
        running[k] = pid;
        unblock_stop_signals();
    }
    close(fds[1]); /* now the pipe ends (EOF) when the last worker exits */

    bool ok = join_workers(workers);
    out->wall = now_seconds() - start;
    out->cpu_time = cpu_seconds_of_children() - cpu_before;

    /* Combine: add up the parts, in any order. Every worker has ended, so
     * its record waits in the pipe (64 records of 16 bytes fit in it: no
     * worker ever had to wait to write). */
    int reports = 0;
    struct report r;
    out->sum = 0;
    CPU_ZERO(&out->seen);
    out->allowed = 0;
    while (read(fds[0], &r, sizeof r) == (ssize_t)sizeof r) {
        out->sum += r.sum;
        if (r.cpu >= 0)
            CPU_SET(r.cpu, &out->seen);
        if (r.allowed > out->allowed)
            out->allowed = r.allowed;
        reports++;
    }
    close(fds[0]);
    if (ok && reports != workers) {
        warn_msg("%d of %d workers reported", reports, workers);
        ok = false;
    }
    return ok;
}

/* ---- printing ---------------------------------------------------------- */

/* "0,1" or "0-3": the cores in SET, as taskset and /proc write them. */
static const char *cpu_list(const cpu_set_t *set, char *buf, size_t size)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int cpu = 0; cpu < CPU_SETSIZE && used < size; cpu++) {
        if (!CPU_ISSET(cpu, set))
            continue;
        int last = cpu;
        while (last + 1 < CPU_SETSIZE && CPU_ISSET(last + 1, set))
            last++;
        int len = last > cpu + 1
                      ? snprintf(buf + used, size - used, "%s%d-%d", used ? "," : "", cpu, last)
                  : last == cpu + 1
                      ? snprintf(buf + used, size - used, "%s%d,%d", used ? "," : "", cpu, last)
                      : snprintf(buf + used, size - used, "%s%d", used ? "," : "", cpu);
        used += len > 0 ? (size_t)len : 0;
        cpu = last;
    }
    return buf;
}

static const char *plural(int n, const char *one, const char *many)
{
    return n == 1 ? one : many;
}

/* Speedup of a result: the 1-worker time on the same cores over its time. */
static double speedup(const struct result *res, const struct result *first)
{
    return res->best > 0 ? first->best / res->best : 0;
}

/* How many cores' worth of work the workers did per second of the run.
 * Unlike the speedup, this does not depend on how busy the machine was
 * during another run: it can never exceed the cores allowed. */
static double busy_cores(const struct result *res)
{
    return res->best > 0 ? res->cpu_time / res->best : 0;
}

static void print_table(const struct result *res, int count, int per_mode)
{
    say("%s", "");
    say("== results (best of each); speedup = time of 1 worker / time of W workers, same cores ==");
    say("cores  workers  time (s)  speedup  efficiency  busy cores");
    for (int i = 0; i < count; i++) {
        const struct result *first = &res[i - i % per_mode];
        double s = speedup(&res[i], first);
        say("%5d  %7d  %8.3f  %6.2fx  %9.0f%%  %10.2f", res[i].cores, res[i].workers,
            res[i].best, s, 100 * s / res[i].workers,
            busy_cores(&res[i]));
    }
    say("efficiency = speedup / workers; busy cores = CPU time of the workers / time");
}

/* An axis over the bars: "0x", "1x", ... every SCALE characters. */
static void print_axis(int max_cores, int scale, int indent)
{
    char labels[256], ticks[256];
    int width = max_cores * scale + 1;
    if (width + indent + 4 > (int)sizeof labels || scale < 4)
        return; /* too many cores for labels that fit: bars and figures only */
    memset(labels, ' ', sizeof labels);
    memset(ticks, '-', (size_t)width);
    int end = 0;
    for (int k = 0; k <= max_cores; k++) {
        char label[8];
        int len = snprintf(label, sizeof label, "%dx", k);
        memcpy(labels + indent + k * scale, label, (size_t)len);
        end = indent + k * scale + len;
        ticks[k * scale] = '|';
    }
    labels[end] = '\0';
    ticks[width] = '\0';
    say("%s", labels);
    say("%*s%s", indent, "", ticks);
}

/* One bar per run: its speedup drawn with '#', SCALE characters per 1x. */
static void print_chart(const struct result *res, int count, int per_mode, int max_cores)
{
    int scale = 48 / (max_cores > 0 ? max_cores : 1);
    if (scale > 24)
        scale = 24;
    if (scale < 1)
        scale = 1;
    say("%s", "");
    say("== speedup, as a bar per run (%d # = 1x) ==", scale);
    print_axis(max_cores, scale, 20);
    char bar[256];
    for (int i = 0; i < count; i++) {
        double s = speedup(&res[i], &res[i - i % per_mode]);
        int len = (int)(s * scale + 0.5);
        if (len > (int)sizeof bar - 1)
            len = (int)sizeof bar - 1;
        memset(bar, '#', (size_t)len);
        bar[len] = '\0';
        say("%2d %-5s %2d %-7s |%-*s %.2fx", res[i].cores, plural(res[i].cores, "core", "cores"),
            res[i].workers, plural(res[i].workers, "worker", "workers"), max_cores * scale,
            bar, s);
    }
}

/* What the class should take away, computed from this run's figures. */
static void print_verdicts(const struct result *res, int count, int per_mode)
{
    if (per_mode < 2)
        return; /* one worker only: nothing to compare */
    say("%s", "");
    for (int m = 0; m < count / per_mode; m++) {
        const struct result *first = &res[m * per_mode];
        int cores = first->cores;
        double best = 0, at_cores = 0, beyond = 0, busiest = 0;
        int best_w = 2;
        for (int i = 1; i < per_mode; i++) { /* 2 workers and more */
            double s = speedup(&first[i], first);
            if (s > best) {
                best = s;
                best_w = first[i].workers;
            }
            if (first[i].workers == cores)
                at_cores = s;
            if (first[i].workers > cores && s > beyond)
                beyond = s;
            if (busy_cores(&first[i]) > busiest)
                busiest = busy_cores(&first[i]);
        }
        if (cores == 1) {
            /* 1.05: the workers run a few microseconds before they pin themselves. */
            char workers[32];
            snprintf(workers, sizeof workers, per_mode == 2 ? "2 workers" : "2 to %d workers",
                     per_mode);
            say("verdict: one core: %s were never busy on more than %.2f cores: %s", workers,
                busiest,
                busiest <= 1.05 ? "no speedup; the seed is right, parallelism needs more than"
                                  " one core"
                                : "MORE THAN ONE CORE: the pinning did not work");
            if (best >= 1.3)
                say("verdict: one core: the %.2fx above is not parallelism: other programs"
                    " slowed the 1-worker run (and on a shared core, more workers can get a"
                    " bigger share of it)",
                    best);
            continue;
        }
        say("verdict: %d cores: at best %.2fx with %d workers, busy on up to %.2f cores"
            " (%d cores can give %dx at most)",
            cores, best, best_w, busiest, cores, cores);
        if (best > cores * 1.05)
            say("verdict: %d cores: %.2fx is more than %d cores can give: other programs slowed"
                " the 1-worker run", cores, best, cores);
        if (at_cores > 0 && beyond > 0)
            say("verdict: %d cores: more workers than cores: at best %.2fx, against %.2fx"
                " with %d: %s",
                cores, beyond, at_cores, cores,
                beyond < at_cores * 1.1 ? "no gain"
                                        : "better, so other programs slowed the run with fewer");
    }
}

/* ---- command line, signals, main ---------------------------------------- */

/* Ctrl-C or kill: stop the workers, reap every child, die of the signal. */
static void on_stop_signal(int sig)
{
    stop_workers();
    die_of_signal(sig);
}

static void usage(void)
{
    fputs("usage: speedup [--work MILLIONS] [--max-workers N] [--cores all|one|both]\n"
          "               [--cpu N] [--repeat N]\n"
          "\n"
          "Time one CPU-bound job split among 1..N worker processes, with every core\n"
          "allowed and with all workers pinned to one core; print a table and a chart.\n"
          "\n"
          "  --work MILLIONS    size of the whole job, in millions of items\n"
          "                     (default 1500, about 1.5 s for one worker; 1 to 100000)\n"
          "  --max-workers N    largest number of workers (default: twice the cores\n"
          "                     allowed, at most 16; 1 to 64)\n"
          "  --cores all|one|both  every core allowed, all workers on one core, or both\n"
          "                     (default both)\n"
          "  --cpu N            the core pinned runs use (default: the first allowed;\n"
          "                     0 to 1023, and one this program may use)\n"
          "  --repeat N         time each run N times and keep the best (default 1; 1 to 20)\n"
          "  -h, --help         show this help\n"
          "\n"
          "Exit status: 0 when every worker ended well and every run combined to the\n"
          "same result; 1 if a worker failed or a result differed; 2 for a bad\n"
          "command line.\n",
          stdout);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {.work = 1500, .max_workers = 0, .repeat = 1, .cpu = -1,
                          .cores = ALL_AND_ONE};
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (is_help_flag(argv[i])) {
            usage();
            exit(0);
        } else if ((value = flag_value(argc, argv, &i, "--work"))) {
            opt.work = parse_long("--work", value, 1, 100000);
        } else if ((value = flag_value(argc, argv, &i, "--max-workers"))) {
            opt.max_workers = parse_long("--max-workers", value, 1, MAX_WORKERS);
        } else if ((value = flag_value(argc, argv, &i, "--repeat"))) {
            opt.repeat = parse_long("--repeat", value, 1, 20);
        } else if ((value = flag_value(argc, argv, &i, "--cpu"))) {
            opt.cpu = parse_long("--cpu", value, 0, CPU_SETSIZE - 1);
        } else if ((value = flag_value(argc, argv, &i, "--cores"))) {
            if (strcmp(value, "both") == 0)
                opt.cores = ALL_AND_ONE;
            else if (strcmp(value, "all") == 0)
                opt.cores = ALL_ONLY;
            else if (strcmp(value, "one") == 0)
                opt.cores = ONE_ONLY;
            else
                usage_error("--cores: '%s' is not one of: all, one, both", value);
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    /* Checks that need the machine: still before anything starts. */
    if (sched_getaffinity(0, sizeof machine, &machine) < 0)
        die_errno("sched_getaffinity");
    char list[256];
    if (opt.cpu >= 0 && !CPU_ISSET(opt.cpu, &machine))
        usage_error("--cpu: core %ld is not one this program may use (allowed: %s)", opt.cpu,
                    cpu_list(&machine, list, sizeof list));
    if (opt.max_workers == 0) {
        int twice = 2 * CPU_COUNT(&machine);
        opt.max_workers = twice < 2 ? 2 : twice > 16 ? 16 : twice;
    }
    return opt;
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    struct options opt = parse_options(argc, argv);
    catch_stop_signals(on_stop_signal);
    on_die(stop_workers); /* an error in the parent stops and reaps the children first */
    /* Had whoever started us set SIGCHLD to "ignore", the kernel would reap
     * the workers itself and waitid() would find none to wait for. */
    signal(SIGCHLD, SIG_DFL);

    int cpu = (int)opt.cpu;
    for (int c = 0; cpu < 0; c++) /* the first core this program may use */
        if (CPU_ISSET(c, &machine))
            cpu = c;
    cpu_set_t one_core;
    CPU_ZERO(&one_core);
    CPU_SET(cpu, &one_core);

    int all_cores = CPU_COUNT(&machine);
    uint64_t items = (uint64_t)opt.work * 1000000u;
    int per_mode = (int)opt.max_workers;
    char list[256], pinned_core[48] = "";
    if (opt.cores != ALL_ONLY)
        snprintf(pinned_core, sizeof pinned_core, "; pinned runs use core %d", cpu);
    say("speedup: %ld million items, split among %s%d %s; this machine lets us use %d %s (%s)%s",
        opt.work, per_mode > 1 ? "1 to " : "", per_mode, plural(per_mode, "worker", "workers"),
        all_cores, plural(all_cores, "core", "cores"), cpu_list(&machine, list, sizeof list),
        pinned_core);
    if (all_cores == 1 && opt.cores == ALL_AND_ONE) {
        say("only 1 core allowed: the all-core runs would repeat the pinned ones, so only the"
            " pinned runs follow");
        opt.cores = ONE_ONLY;
    }

    int modes = opt.cores == ALL_AND_ONE ? 2 : 1;
    struct result *res = calloc((size_t)(modes * per_mode), sizeof *res);
    if (!res)
        die_errno("calloc");
    for (int m = 0; m < modes; m++)
        for (int w = 0; w < per_mode; w++) {
            struct result *r = &res[m * per_mode + w];
            r->pinned = opt.cores == ONE_ONLY || m == 1;
            r->workers = w + 1;
            r->cores = r->pinned ? 1 : all_cores;
        }

    /* The repeats go round all runs in turn, so that a moment when the
     * machine is busy does not fall on one run only. */
    bool ok = true;
    uint64_t expected = 0;
    for (long rep = 0; rep < opt.repeat && ok; rep++) {
        for (int i = 0; i < modes * per_mode && ok; i++) {
            struct result *r = &res[i];
            struct run run;
            ok = run_once(items, r->workers, r->pinned ? &one_core : NULL, &run);
            if (!ok)
                break;
            if (rep == 0 && i == 0)
                expected = run.sum;
            if (rep == 0 || run.wall < r->best) {
                r->best = run.wall;
                r->cpu_time = run.cpu_time;
            }
            say("run: %d %s, %s: %.3f s, cpu %.3f s, result %016" PRIx64
                ", each allowed %d %s, finished on %s %s",
                r->workers, plural(r->workers, "worker", "workers"),
                r->pinned ? "pinned to one core" : "all cores", run.wall, run.cpu_time, run.sum,
                run.allowed, plural(run.allowed, "core", "cores"),
                plural(CPU_COUNT(&run.seen), "core", "cores"),
                cpu_list(&run.seen, list, sizeof list));
            if (run.sum != expected) {
                warn_msg("result %016" PRIx64 " differs from the first run's %016" PRIx64, run.sum,
                         expected);
                ok = false;
            }
        }
    }
    if (ok) {
        print_table(res, modes * per_mode, per_mode);
        print_chart(res, modes * per_mode, per_mode, all_cores);
        print_verdicts(res, modes * per_mode, per_mode);
        say("every run combined to the same result: %016" PRIx64, expected);
    }
    free(res);
    return ok ? 0 : 1;
}
