/* pid_name.c - many workers, each with its own pid, name and random sleep
 * (seed example 2).
 *
 * Python                                       C, in this file
 *   os.getpid()                                  getpid()
 *   (the parent's pid, seen from a child)        getppid()
 *   Process(name=str(i), target=square, ...)     fork(); the child names itself
 *   current_process().name                       prctl(PR_SET_NAME): ps shows it
 *   random.randint(1, 3) in each child           srand(seed mixed with i) in each child
 *   time.sleep(...)                              sleep_seconds(...)
 *   for process in processes: process.join()     waitpid() each worker, in order
 *
 * Run:   make && ./pid_name                 the seed: 49 workers, sleeps of 1-3 s
 *        ./pid_name --count 5 --seed 7      five workers; run it twice: same sleeps
 *        ./pid_name --inherit-random        the classic mistake: all sleep alike
 * Watch: in another terminal, while the workers sleep:
 *        ps -o pid,ppid,stat,comm --ppid "$(pgrep -d, -x pid_name)"
 *        every worker shows its own name ("1", "2", ...) and the parent's pid.
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h> /* Linux only; it declares prctl() without _GNU_SOURCE */
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { MAX_COUNT = 4096, MAX_PREFIX = 64, MAX_SEED = 2147483647 };

struct options {
    long count;
    double min_sleep, max_sleep;
    long seed; /* < 0: none given, pick one */
    const char *prefix;
    bool inherit_random;
};

/* What the parent remembers about each worker. pid is 0 once the worker
 * has been reaped: from then on the kernel may give that pid to someone
 * else, so the signal handler must not kill it any more. */
struct worker {
    long number;
    volatile sig_atomic_t pid;
};

/* For the Ctrl-C handler: the workers started so far. */
static struct worker *workers;
static volatile sig_atomic_t started;

/* ---- In the worker ------------------------------------------------------ */

/* Turn (seed, worker number) into a seed for srand(). Mixing the bits
 * well (the "splitmix64" finaliser) keeps workers 1, 2, 3 from getting
 * seeds that differ by one, which some rand() implementations turn into
 * similar first numbers. */
static unsigned worker_seed(long seed, long number)
{
    unsigned long long z = (unsigned long long)seed * 0x9E3779B97F4A7C15ULL + (unsigned long long)number;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (unsigned)(z ^ (z >> 31));
}

/* A random sleep between min and max, from rand(). When both ends are
 * whole seconds it is a whole number, like Python's random.randint(1, 3);
 * otherwise any value in between, to the millisecond. */
static double random_sleep(double min, double max)
{
    if (min == (long)min && max == (long)max) {
        long span = (long)max - (long)min + 1;
        return (double)((long)min + rand() % span);
    }
    long span_ms = (long)((max - min) * 1000.0 + 0.5) + 1;
    return min + (double)(rand() % span_ms) / 1000.0;
}

/* The name Python's Process(name=str(i)) would carry, given to the
 * kernel so that ps, top and /proc/<pid>/comm show it. The kernel keeps
 * at most 15 bytes (TASK_COMM_LEN is 16, with the final '\0') and cuts
 * a longer name without a word. */
static void set_process_name(const char *name)
{
    if (prctl(PR_SET_NAME, name, 0, 0, 0) != 0) {
        warn_msg("prctl(PR_SET_NAME, \"%s\"): %s", name, strerror(errno));
        _exit(1); /* a worker ends with _exit, never exit: see below */
    }
}

/* The target function: what each worker runs. */
static void square(const struct options *opt, long n)
{
    char name[MAX_PREFIX + 24];
    snprintf(name, sizeof name, "%s%ld", opt->prefix, n);
    set_process_name(name);

    /* fork() copied the parent's whole memory, rand()'s hidden state too.
     * Without a seed of its own, every worker would draw the same number. */
    if (!opt->inherit_random)
        srand(worker_seed(opt->seed, n));
    double seconds = random_sleep(opt->min_sleep, opt->max_sleep);

    say("Worker %s: pid %ld, parent pid %ld, sleeping %.3f s",
        name, (long)getpid(), (long)getppid(), seconds);
    sleep_seconds(seconds);
    say("Process ID: %ld, Process Name: %s", (long)getpid(), name);
    say("Result of %ld squared: %ld", n, n * n);
}

/* ---- In the parent ------------------------------------------------------ */

/* Stop every worker still there with SIGTERM and reap it, so that no
 * worker is left running or as a zombie. SIGCONT after SIGTERM: a worker
 * stopped with kill -STOP (or Ctrl-Z) would otherwise keep the SIGTERM
 * pending, never end, and waitpid would wait for ever. Async-signal-safe:
 * the Ctrl-C handler calls it too. */
static void stop_workers(void)
{
    for (long i = 0; i < started; i++)
        if (workers[i].pid > 0) {
            kill((pid_t)workers[i].pid, SIGTERM);
            kill((pid_t)workers[i].pid, SIGCONT);
        }
    for (long i = 0; i < started; i++)
        if (workers[i].pid > 0) {
            while (waitpid((pid_t)workers[i].pid, NULL, 0) < 0 && errno == EINTR)
                continue;
            workers[i].pid = 0;
        }
}

/* Ctrl-C or kill of the parent: leave nothing behind, then die of the
 * same signal. */
static void on_stop_signal(int sig)
{
    stop_workers();
    die_of_signal(sig);
}

/* p.start() for worker N. Returns false when fork fails (errno says why). */
static bool start_worker(const struct options *opt, long n)
{
    block_stop_signals(); /* until the pid is recorded */
    pid_t pid = fork();
    if (pid < 0) {
        int saved = errno;
        unblock_stop_signals();
        errno = saved;
        return false;
    }
    if (pid == 0) {
        child_default_signals();
        square(opt, n);
        _exit(0); /* _exit: the child must not run the parent's exit-time code */
    }
    workers[started].number = n;
    workers[started].pid = pid;
    started++;
    unblock_stop_signals();
    return true;
}

/* p.join() for one worker: wait until it has ended, reap it, and say
 * whether it ended well. The wait and the reap are two steps: waitid()
 * with WNOWAIT waits but leaves the worker a zombie, which keeps its pid
 * reserved; the reap and forgetting the pid then happen with Ctrl-C held
 * back, so the handler never kills a pid the kernel has already reused. */
static bool join_worker(struct worker *w)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t)w->pid, &info, WEXITED | WNOWAIT) < 0)
        if (errno != EINTR)
            die_errno("waitid");

    int status;
    block_stop_signals();
    if (waitpid((pid_t)w->pid, &status, 0) < 0)
        die_errno("waitpid");
    pid_t pid = (pid_t)w->pid;
    w->pid = 0;
    unblock_stop_signals();

    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFEXITED(status))
        warn_msg("worker %ld (pid %ld) failed with exit status %d",
                 w->number, (long)pid, WEXITSTATUS(status));
    else
        warn_msg("worker %ld (pid %ld) was killed by signal %d (%s)",
                 w->number, (long)pid, WTERMSIG(status), strsignal(WTERMSIG(status)));
    return false;
}

/* No --seed: take one from the clock and the pid, and print it, so that
 * this very run can be repeated. */
static long pick_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long mix = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 16) ^ (unsigned long)getpid();
    return (long)(mix % ((unsigned long)MAX_SEED + 1));
}

static void usage(void)
{
    fputs("usage: pid_name [--count N] [--min-sleep SECONDS] [--max-sleep SECONDS]\n"
          "                [--seed S] [--name-prefix TEXT] [--inherit-random]\n"
          "\n"
          "Start N workers named \"1\" to \"N\"; each sleeps a random time, then prints\n"
          "its pid, its name and the square of its number (seed example 2).\n"
          "\n"
          "  --count N              how many workers (default 49; 1 to 4096)\n"
          "  --min-sleep SECONDS    shortest sleep (default 1; 0 to 3600)\n"
          "  --max-sleep SECONDS    longest sleep (default 3; 0 to 3600, at least --min-sleep)\n"
          "                         both whole: whole seconds, like random.randint(1, 3);\n"
          "                         otherwise any time in between, to the millisecond\n"
          "  --seed S               the same S gives each worker the same sleep again\n"
          "                         (0 to 2147483647; default: picked and printed)\n"
          "  --name-prefix TEXT     name the workers TEXT1, TEXT2, ... (1 to 64 characters);\n"
          "                         ps shows only the first 15 bytes of a name\n"
          "  --inherit-random       the mistake: workers do not seed their own random\n"
          "                         numbers, and all sleep exactly as long\n"
          "  -h, --help             show this help\n",
          stdout);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {.count = 49, .min_sleep = 1, .max_sleep = 3, .seed = -1, .prefix = ""};
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (is_help_flag(argv[i])) {
            usage();
            exit(0);
        } else if ((value = flag_value(argc, argv, &i, "--count"))) {
            opt.count = parse_long("--count", value, 1, MAX_COUNT);
        } else if ((value = flag_value(argc, argv, &i, "--min-sleep"))) {
            opt.min_sleep = parse_seconds("--min-sleep", value, 0, 3600);
        } else if ((value = flag_value(argc, argv, &i, "--max-sleep"))) {
            opt.max_sleep = parse_seconds("--max-sleep", value, 0, 3600);
        } else if ((value = flag_value(argc, argv, &i, "--seed"))) {
            opt.seed = parse_long("--seed", value, 0, MAX_SEED);
        } else if ((value = flag_value(argc, argv, &i, "--name-prefix"))) {
            size_t len = strlen(value);
            if (len < 1 || len > MAX_PREFIX)
                usage_error("--name-prefix: must be 1 to %d characters", MAX_PREFIX);
            opt.prefix = value;
        } else if (strcmp(argv[i], "--inherit-random") == 0) {
            opt.inherit_random = true;
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    if (opt.min_sleep > opt.max_sleep)
        usage_error("--min-sleep (%g) must not be more than --max-sleep (%g)",
                    opt.min_sleep, opt.max_sleep);
    return opt;
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    /* Had whoever started us set SIGCHLD to "ignore", the kernel would reap
     * the workers itself and waitid() would find none to wait for (ECHILD). */
    signal(SIGCHLD, SIG_DFL);
    struct options opt = parse_options(argc, argv);
    workers = calloc((size_t)opt.count, sizeof *workers);
    if (!workers)
        die_errno("calloc");
    if (opt.seed < 0)
        opt.seed = pick_seed();
    if (opt.inherit_random)
        srand(worker_seed(opt.seed, 0)); /* once, in the parent only */
    catch_stop_signals(on_stop_signal);
    on_die(stop_workers); /* an error in the parent stops and reaps the children first */

    say("Parent process ID: %ld", (long)getpid());
    say("Random seed: %ld (run again with --seed %ld for the same sleeps)", opt.seed, opt.seed);

    for (long n = 1; n <= opt.count; n++) {
        if (!start_worker(&opt, n)) {
            int saved = errno;
            warn_msg("fork for worker %ld of %ld failed: %s; stopping the %ld workers already started",
                     n, opt.count, strerror(saved), (long)started);
            block_stop_signals();
            stop_workers();
            warn_msg("stopped and reaped %ld workers; nothing is left running", (long)started);
            return 1;
        }
    }

    bool all_well = true;
    for (long i = 0; i < opt.count; i++)
        if (!join_worker(&workers[i]))
            all_well = false;

    say("Main-Process Done.");
    /* The handler reads the table: make it see no worker before the table
     * goes. Every worker is reaped, so there is nothing left to stop. */
    started = 0;
    free(workers);
    return all_well ? 0 : 1;
}
