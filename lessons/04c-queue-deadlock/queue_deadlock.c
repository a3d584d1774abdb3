/* queue_deadlock.c - join before drain deadlocks when a result is bigger than the pipe; a watchdog
 * catches it, and --fix (drain, then join) works.
 *
 * Python (the multiprocessing docs' example)   C, in this file
 *   q = Queue()                                  pipe(fds); F_GETPIPE_SZ: how much it holds
 *   p = Process(target=f, args=(q,)); p.start()  fork(); the child runs worker()
 *   q.put('X' * 1000000)   (in the worker)       write(2) of --bytes 'X's: blocks while the pipe is full
 *   p.join()               # this deadlocks      waitpid(): blocks until the worker ends
 *   obj = q.get()                                read(2) until the sentinel, or end of file
 *   (nothing: it hangs for ever)                 a timer (timer_create) interrupts the waitpid
 */
#define _GNU_SOURCE /* F_GETPIPE_SZ: how many bytes a Linux pipe holds */

#include "kit.h"
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

enum { EXIT_DEADLOCK = 3, SENTINEL = '\n' }; /* the 'exit' sentinel: one byte that is not 'X' */

static long bytes = 1000000;
static double watchdog = 2;
static bool fix;

static const struct flag flags[] = {
    {"--bytes", FLAG_INT, &bytes, 1, 100000000, "size of the worker's result (the docs' 1000000)", NULL},
    {"--watchdog", FLAG_SECONDS, &watchdog, 0.05, 3600, "how long the join may take before it is a deadlock", NULL},
    {"--fix", FLAG_SWITCH, &fix, 0, 0, "drain, then join (the right order)", NULL},
    {0},
};

static volatile sig_atomic_t watchdog_fired;
static void on_watchdog(int sig) { (void)sig; watchdog_fired = 1; }

static timer_t arm_watchdog(void);

/* p.join() under the watchdog. Returns false on a deadlock, after saying
 * what each side was doing and stopping the worker. */
static bool join(pid_t pid, int rd)
{
    int status;
    timer_t timer = arm_watchdog();
    kit_phase("waitpid");
    /* EXERCISE 04c.1: join the worker: waitpid() for it; on EINTR with watchdog_fired, report the deadlock
     * HINT: waitpid(pid, &status, 0) returns -1 with errno EINTR when the watchdog's signal comes.
     * HINT: while (waitpid(...) < 0) { if (errno != EINTR) die_errno(...); if (watchdog_fired) break; } */
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die_errno("waitpid");
        if (watchdog_fired)
            break;
    }
    /* STUB 04c.1
    if (waitpid(pid, &status, 0) < 0) // and when the watchdog's signal interrupts it?
        die_errno("waitpid");
     */
    /* END EXERCISE 04c.1 */
    timer_delete(timer);
    if (!watchdog_fired) {
        kit_child_reaped(pid, status);
        return WIFEXITED(status) && WEXITSTATUS(status) == 0;
    }
    kit_mark("watchdog");
    int unread = -1;
    ioctl(rd, FIONREAD, &unread); /* bytes waiting in the pipe */
    warn_msg("deadlock: after %g s the worker (pid %ld, state %c) is still blocked writing to a full pipe "
             "(%d of its %ld bytes wait unread) while the parent waits in waitpid to join it; the watchdog "
             "stops it; drain before join (--fix)", watchdog, (long)pid, proc_state(pid), unread, bytes);
    kill(pid, SIGKILL); /* still our unreaped child: its pid cannot belong to anyone else */
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid");
    kit_child_reaped(pid, status);
    return false;
}

/* The child: put one big result on the queue, then end. */
static noreturn void worker(int wr)
{
    char *result = malloc((size_t)bytes);
    if (!result)
        die_errno("worker: malloc %ld bytes", bytes);
    memset(result, 'X', (size_t)bytes);
    kit_phase("write"); /* blocks while the pipe is full: until someone reads */
    for (long done = 0; done < bytes;) {
        ssize_t n = write(wr, result + done, (size_t)(bytes - done));
        if (n < 0)
            die_errno("worker: write to the queue");
        done += n;
    }
    kit_phase("run");
    say("Worker (pid %ld): put %ld bytes on the queue", (long)getpid(), bytes);
    kit_child_end();
    _exit(0);
}

/* The watchdog: SIGALRM every WATCHDOG seconds, until disarmed. A signal
 * (no SA_RESTART) makes a blocked waitpid() return with EINTR. It repeats:
 * had the first tick come just before waitpid() began, the next one
 * interrupts it. No sleep, no guess about how long anything takes. */
static timer_t arm_watchdog(void)
{
    struct sigaction sa = {0};
    sa.sa_handler = on_watchdog;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGALRM, &sa, NULL);
    struct sigevent ev = {0};
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGALRM;
    timer_t timer;
    if (timer_create(CLOCK_MONOTONIC, &ev, &timer) < 0)
        die_errno("timer_create");
    struct timespec every = {(time_t)watchdog, (long)((watchdog - (double)(time_t)watchdog) * 1e9)};
    struct itimerspec spec = {every, every};
    if (timer_settime(timer, 0, &spec, NULL) < 0)
        die_errno("timer_settime");
    return timer;
}

/* q.get() until the sentinel byte (the seed's order) or end of file (--fix). */
static long drain(int rd)
{
    char buf[4096];
    long got = 0;
    kit_phase("read");
    for (;;) {
        ssize_t n = read(rd, buf, sizeof buf);
        if (n < 0)
            die_errno("read from the queue");
        char *end = memchr(buf, SENTINEL, (size_t)n);
        got += end ? end - buf : n;
        if (n == 0 || end)
            return got;
    }
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "A worker puts a result bigger than the pipe on it; the parent joins before it\n"
                   "drains: a deadlock, caught by a watchdog. --fix drains first.",
        .flags = flags, .timeline = true,
    };
    kit_start(argc, argv, &prog);
    say("Parent process id: %ld", (long)getpid());
    int fds[2];
    if (pipe(fds) < 0)
        die_errno("pipe");
    long capacity = fcntl(fds[0], F_GETPIPE_SZ);
    say("Pipe: holds %ld bytes; the worker's result is %ld bytes (%s)", capacity, bytes,
        bytes > capacity ? "it does not fit" : "it fits");
    say("Order: %s", fix ? "drain, then join (--fix)" : "join, then drain (the seed's)");

    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        kit_child_begin("worker");
        close(fds[0]);
        worker(fds[1]);
    }
    kit_child_started(pid, "worker");

    long got;
    bool ok;
    if (fix) {
        close(fds[1]); /* the worker's copy is the last: end of file when it is gone */
        got = drain(fds[0]);
        ok = join(pid, fds[0]);
    } else {
        if (!join(pid, fds[0]))
            return EXIT_DEADLOCK;
        /* q.put('exit'), but never waiting: if the result filled the pipe
         * exactly, a blocking write would wait for a reader, and we are it. */
        fcntl(fds[1], F_SETFL, O_NONBLOCK);
        char sentinel = SENTINEL;
        if (write(fds[1], &sentinel, 1) < 0) {
            if (errno != EAGAIN)
                die_errno("put 'exit' on the queue");
            warn_msg("deadlock: the pipe is full, so the 'exit' sentinel does not fit and nobody reads "
                     "yet; drain before join (--fix)");
            return EXIT_DEADLOCK;
        }
        say("Main-Processing: put 'exit' on the queue");
        got = drain(fds[0]);
        ok = true;
    }
    say("Main-Processing: got %ld bytes", got);
    say("Main-Processing Done.");
    return ok && got == bytes ? 0 : 1;
}
