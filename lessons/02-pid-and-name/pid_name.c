/* pid_name.c - many workers, each with its own pid, name and random sleep
 * (seed example 2).
 *
 * Python                                       C, in this file
 *   os.getpid(), os.getppid()                    getpid(), getppid()
 *   Process(name=str(i), target=square, ...)     fork(); the child names itself
 *   current_process().name                       prctl(PR_SET_NAME): ps shows it
 *   random.randint(1, 3) in each child           srand(seed mixed with i) in each child
 *   for process in processes: process.join()     waitpid() each worker, in order
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h> /* Linux only; declares prctl() without _GNU_SOURCE */
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long count = 49, seed = -1;
static double min_sleep = 1, max_sleep = 3;
static const char *prefix = "";
static bool inherit_random;

static const struct flag flags[] = {
    {"--count", FLAG_INT, &count, 1, 4096, "how many workers", NULL},
    {"--min-sleep", FLAG_SECONDS, &min_sleep, 0, 3600, "shortest sleep", NULL},
    {"--max-sleep", FLAG_SECONDS, &max_sleep, 0, 3600, "longest sleep (at least --min-sleep)", NULL},
    {"--seed", FLAG_INT, &seed, 0, 2147483647, "same seed, same sleeps (default: picked and printed)", NULL},
    {"--name-prefix", FLAG_TEXT, &prefix, 1, 64, "name the workers TEXT1, TEXT2, ...", NULL},
    {"--inherit-random", FLAG_SWITCH, &inherit_random, 0, 0, "the mistake: no seed of their own, all sleep alike", NULL},
    {0},
};

static void square(long n);

/* p.start() for worker N: fork() copies this process; the copy (where
 * fork returns 0) runs the target and ends with _exit, never exit. */
static pid_t start_worker(long n, char *name)
{
    /* EXERCISE 02.1: start worker N: fork(), and in the child run square(n), then _exit(0)
     * HINT: fork() returns twice: 0 in the child, the child's pid in the parent, -1 if it failed.
     * HINT: In the child: kit_child_begin(name); square(n); kit_child_end(); _exit(0);
     */
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork for worker %ld of %ld failed", n, count);
    if (pid == 0) {
        kit_child_begin(name);
        square(n);
        kit_child_end();
        _exit(0);
    }
    /* STUB 02.1
    (void)square;
    (void)n;
    pid_t pid = -1;
    die_msg("exercise 02.1: start_worker() does not fork yet");
     */
    /* END EXERCISE 02.1 */
    kit_child_started(pid, name);
    return pid;
}

/* p.join(): wait for the worker and reap it. Until then an ended worker
 * is a zombie: its exit status waits in the kernel for this call. */
static bool join_worker(pid_t pid, long n)
{
    int status;
    kit_phase("waitpid");
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid for worker %ld", n);
    kit_child_reaped(pid, status);
    /* EXERCISE 02.2: decide from STATUS whether worker N worked; if not, say why on stderr
     * HINT: Only a worker that exited (WIFEXITED) with code 0 (WEXITSTATUS) worked; a kill is a failure too.
     * HINT: Otherwise: char text[64]; warn_msg("worker %ld (pid %ld) failed: %s", n, (long)pid, status_text(status, text, sizeof text));
     * NEEDS: 02.1
     */
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    char text[64];
    warn_msg("worker %ld (pid %ld) failed: %s", n, (long)pid, status_text(status, text, sizeof text));
    return false;
    /* STUB 02.2
    return true;
     */
    /* END EXERCISE 02.2 */
}

/* Mix (seed, worker number) into a seed for srand() (the splitmix64
 * finaliser), so that workers 1, 2, 3 do not get seeds one apart. */
static unsigned worker_seed(long n)
{
    unsigned long long z = (unsigned long long)seed * 0x9E3779B97F4A7C15ULL + (unsigned long long)n;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return (unsigned)(z ^ (z >> 31));
}

/* Whole seconds when both ends are whole (like random.randint(1, 3)),
 * otherwise any time in between, to the millisecond. */
static double random_sleep(void)
{
    if (min_sleep == (long)min_sleep && max_sleep == (long)max_sleep)
        return (double)((long)min_sleep + rand() % ((long)max_sleep - (long)min_sleep + 1));
    long span_ms = (long)((max_sleep - min_sleep) * 1000.0 + 0.5) + 1;
    return min_sleep + (double)(rand() % span_ms) / 1000.0;
}

/* The target: what each worker runs. */
static void square(long n)
{
    char name[80];
    snprintf(name, sizeof name, "%s%ld", prefix, n);
    /* EXERCISE 02.3: give this process the name NAME, so that ps and /proc/PID/comm show it
     * HINT: Python keeps current_process().name to itself; here the kernel must be told: prctl(2).
     * HINT: if (prctl(PR_SET_NAME, name, 0, 0, 0) != 0) die_errno("prctl(PR_SET_NAME, \"%s\")", name);
     * NEEDS: 02.1
     */
    /* The kernel keeps 15 bytes of a name (TASK_COMM_LEN 16, with '\0'). */
    if (prctl(PR_SET_NAME, name, 0, 0, 0) != 0)
        die_errno("prctl(PR_SET_NAME, \"%s\")", name);
    /* STUB 02.3
    (void)name;
     */
    /* END EXERCISE 02.3 */
    /* EXERCISE 02.4: seed this worker's rand() with a seed of its own (unless --inherit-random)
     * HINT: fork() copied rand()'s hidden state: every worker would draw the parent's next number.
     * HINT: if (!inherit_random) srand(worker_seed(n));
     * NEEDS: 02.1
     */
    if (!inherit_random) /* without it, every worker would draw the same number */
        srand(worker_seed(n));
    /* STUB 02.4
    (void)worker_seed;
     */
    /* END EXERCISE 02.4 */
    double seconds = random_sleep();
    say("Worker %s: pid %ld, parent pid %ld, sleeping %.3f s", name, (long)getpid(),
        (long)getppid(), seconds);
    kit_phase("sleep");
    sleep_seconds(seconds);
    kit_phase("run");
    say("Process ID: %ld, Process Name: %s", (long)getpid(), name);
    say("Result of %ld squared: %ld", n, n * n);
}

/* No --seed: one from the clock and the pid, printed so the run can be repeated. */
static long pick_seed(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    unsigned long mix = (unsigned long)ts.tv_nsec ^ ((unsigned long)ts.tv_sec << 16) ^ (unsigned long)getpid();
    return (long)(mix % 2147483648UL);
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Start N workers named 1 to N; each sleeps a random time, then prints its pid,\n"
                   "its name and the square of its number (seed example 2).",
        .flags = flags,
        .timeline = true,
    };
    kit_start(argc, argv, &prog);
    if (min_sleep > max_sleep)
        usage_error("--min-sleep (%g) must not be more than --max-sleep (%g)", min_sleep, max_sleep);
    if (seed < 0)
        seed = pick_seed();

    pid_t *pids = calloc((size_t)count, sizeof *pids);
    if (!pids)
        die_errno("calloc");
    say("Parent process ID: %ld", (long)getpid());
    say("Random seed: %ld (run again with --seed %ld for the same sleeps)", seed, seed);

    for (long i = 0; i < count; i++) {
        char name[80];
        snprintf(name, sizeof name, "%s%ld", prefix, i + 1);
        pids[i] = start_worker(i + 1, name);
    }
    bool all_ok = true;
    for (long i = 0; i < count; i++) /* join in start order, as the seed does */
        all_ok = join_worker(pids[i], i + 1) && all_ok;
    free(pids);
    say("Main-Process Done.");
    return all_ok ? 0 : 1;
}
