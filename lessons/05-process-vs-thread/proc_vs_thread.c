/* proc_vs_thread.c - the seed's "Process vs Thread" list, each claim measured.
 *
 * The seed states differences between a process and a thread as facts. This
 * program checks each one on this machine and prints a table: claim | what
 * was measured | verdict.
 *
 *   Python                               C, in this file
 *   Process(target=f).start(), p.join()  fork(), the child runs f, _exit(); waitpid()
 *   Thread(target=f).start(), t.join()   pthread_create(); pthread_join()
 *   (memory use, zombies: not visible)   /proc/<pid>/stat, /status, /smaps_rollup
 *
 * Run:   make && ./proc_vs_thread           (under a second)
 *        ./proc_vs_thread --zombie-hold 20  and in another terminal:
 *            ps -o pid,ppid,stat,comm -C proc_vs_thread
 * Watch: the verdicts. Times and sizes change from machine to machine; the
 *        isolation, sharing and zombie verdicts do not.
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_THREADS 64
#define STATUS "/proc/self/status"

struct options {
    long count;          /* processes, then threads, for the creation cost */
    long threads;        /* threads that show their addresses */
    long buffer_mb;      /* buffer a child inherits, then writes */
    long zombie_threads; /* threads that end and are joined only later */
    double zombie_hold;  /* seconds to keep the zombie child */
};

/* A row of the final table; the note says why when the seed is too simple. */
struct row {
    const char *claim;
    const char *note;
    char measured[96];
    char verdict[32];
};

enum { ISOLATION, MEMORY, ZOMBIES, CREATION, EASE, PROCESS_OWN, THREAD_OWN, THREAD_SHARED, ROWS };

static struct row table[ROWS] = {
    [ISOLATION] = {.claim = "own memory (process), shared memory (thread)"},
    [MEMORY] = {.claim = "more memory (process), less (thread)",
                .note = "true once the child writes; until then it shares its parent's pages"
                        " (copy-on-write)"},
    [ZOMBIES] = {.claim = "zombie processes easy, zombie threads hard",
                 .note = "an ended thread nobody joined is a zombie too: its result and stack"
                         " stay until pthread_join"},
    [CREATION] = {.claim = "more overhead, slower start/end (process)",
                  .note = "a time: it changes with the machine, its load and the parent's size"},
    [EASE] = {.claim = "easier to write (process); both hard to debug",
              .note = "fork is short, but reaping, signals and passing results back are yours;"
                      " threads share everything, so shared data needs locks",
              .measured = "nothing to measure", .verdict = "OPINION"},
    [PROCESS_OWN] = {.claim = "process: own code, data, heap and stack",
                     .note = "no page is copied at fork: a page is copied when first written"
                             " (see 2), and code never is"},
    [THREAD_OWN] = {.claim = "thread: only the stack is its own"}, /* note: in section 3 */
    [THREAD_SHARED] = {.claim = "threads share code, data and heap"},
};

static bool all_checks_passed = true; /* the checks that cannot depend on luck */
static int parent_after_child;        /* global_value in the parent after section 1 */

/* The "data" of the seed's code/data/heap/stack: one global variable. */
static int global_value;
/* Each thread has its own copy (C11): the seed's "thread-specific data". */
static _Thread_local int thread_local_value;
/* The one child there may be, for the Ctrl-C handler; 0 when there is none. */
static volatile sig_atomic_t running_child;

/* Fill in a table row: its verdict, and what was measured (printf-style). */
static void __attribute__((format(printf, 3, 4)))
set_row(int row, const char *verdict, const char *measured, ...)
{
    va_list args;
    va_start(args, measured);
    vsnprintf(table[row].measured, sizeof table[row].measured, measured, args);
    va_end(args);
    snprintf(table[row].verdict, sizeof table[row].verdict, "%s", verdict);
}

/* A check that does not depend on luck: WORD if it held, else FALSE (exit 1). */
static const char *check(bool held, const char *word)
{
    if (!held)
        all_checks_passed = false;
    return held ? word : "FALSE";
}

/* Read a small /proc file into BUF: "" if there is no such file. open/read,
 * not fopen: a stdio buffer would add to the memory being measured. */
static void read_proc(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    ssize_t n = fd < 0 ? 0 : read(fd, buf, size - 1);
    if (fd >= 0)
        close(fd);
    buf[n > 0 ? n : 0] = '\0';
}

/* The number after "FIELD:" in a /proc file such as /proc/self/status
 * (sizes there are in kB); -1 if it is missing. */
static long proc_field(const char *path, const char *field)
{
    char buf[8192], key[64];
    read_proc(path, buf, sizeof buf);
    snprintf(key, sizeof key, "\n%s:", field); /* never the first line here */
    const char *at = strstr(buf, key);
    return at ? strtol(at + strlen(key), NULL, 10) : -1;
}

/* The state letter in /proc/<pid>/stat (R, S, Z for zombie), 0 if there is no
 * such process. It follows "(command name)", which may hold ")": find the last. */
static char process_state(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    read_proc(path, buf, sizeof buf);
    const char *end = strrchr(buf, ')');
    return end && end[1] == ' ' ? end[2] : 0;
}

/* Memory that is this process's alone, in KiB: the dirty (written) pages that
 * no other process maps (Private_Dirty), plus its page tables (VmPTE). -1 if
 * /proc lacks them. */
static long private_kib(void)
{
    long pages = proc_field("/proc/self/smaps_rollup", "Private_Dirty");
    long tables = proc_field(STATUS, "VmPTE");
    return pages < 0 || tables < 0 ? -1 : pages + tables;
}

/* fork(), with the pid recorded for the Ctrl-C handler before a signal can
 * run it. Returns 0 in the child, whose signals are back to default. */
static pid_t start_child(void)
{
    block_stop_signals();
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        child_default_signals();
        return 0;
    }
    running_child = pid;
    unblock_stop_signals();
    return pid;
}

/* Stop and reap the child there may be. SIGCONT: a stopped child must run
 * to die of the SIGTERM. Async-signal-safe: the Ctrl-C handler calls it. */
static void stop_child(void)
{
    pid_t pid = running_child;
    if (pid > 0) {
        kill(pid, SIGTERM);
        kill(pid, SIGCONT);
        waitpid(pid, NULL, 0);
        running_child = 0;
    }
}

/* waitpid() for the child; true if it exited with status 0. Wait, then reap:
 * waitid(WNOWAIT) leaves it a zombie, so its pid stays ours; the reap and
 * clearing running_child happen with Ctrl-C held back, so the handler never
 * kills a pid the kernel has reused. (No EINTR: our handlers never return.) */
static bool wait_child(pid_t pid)
{
    siginfo_t info;
    int status;
    if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0)
        die_errno("waitid");
    block_stop_signals();
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid");
    running_child = 0;
    unblock_stop_signals();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    warn_msg("child %ld failed (wait status %d)", (long)pid, status);
    all_checks_passed = false;
    return false;
}

static void start_thread(pthread_t *thread, const pthread_attr_t *attr, void *(*fn)(void *),
                         void *arg)
{
    int err = pthread_create(thread, attr, fn, arg);
    if (err) {
        errno = err;
        die_errno("pthread_create");
    }
}

/* ---- 1. a child process: the same addresses, its own memory --------- */

static void child_process_memory(void)
{
    say("\n== 1. a child process: fork() gives it a copy of everything ==");
    int local = 1;
    int *heap = malloc(sizeof *heap);
    if (!heap)
        die_errno("malloc");
    *heap = 1;
    global_value = 1;
    /* The parent's addresses as numbers; the child inherits this array. */
    uintptr_t parents[4] = {(uintptr_t)&global_value, (uintptr_t)heap, (uintptr_t)&local,
                            (uintptr_t)child_process_memory};
    say("parent %ld: global 0x%" PRIxPTR ", heap 0x%" PRIxPTR ", stack 0x%" PRIxPTR
        ", code 0x%" PRIxPTR ", each holding 1",
        (long)getpid(), parents[0], parents[1], parents[2], parents[3]);

    pid_t pid = start_child();
    if (pid == 0) {
        /* The child writes through the very same pointers as the parent. */
        global_value = 42;
        *heap = 42;
        local = 42;
        bool same = parents[0] == (uintptr_t)&global_value && parents[1] == (uintptr_t)heap &&
                    parents[2] == (uintptr_t)&local &&
                    parents[3] == (uintptr_t)child_process_memory;
        bool wrote = global_value == 42 && *heap == 42 && local == 42;
        say("child %ld: %s addresses; it wrote 42 to each and read %s back", (long)getpid(),
            same ? "the same 4" : "DIFFERENT", wrote ? "42" : "SOMETHING ELSE");
        _exit(same && wrote ? 0 : 1);
    }
    bool child_ok = wait_child(pid);
    bool unchanged = global_value == 1 && *heap == 1 && local == 1;
    say("parent after waitpid: global %d, heap %d, stack %d: %s", global_value, *heap, local,
        unchanged ? "unchanged, the child wrote to its own copies" : "CHANGED");
    free(heap);
    parent_after_child = global_value;
    set_row(PROCESS_OWN, check(child_ok && unchanged, "TOO SIMPLE"),
            "child: same 4 addresses, own values (parent kept %d)", global_value);
}

/* ---- 2. memory: one more process against one more thread ------------ */

/* Write one byte in every page of BUF: the kernel must then give this process
 * each page. volatile: the compiler may not drop stores nobody reads back. */
static void touch_pages(unsigned char *buf, size_t size, unsigned char value)
{
    volatile unsigned char *bytes = buf;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < size; i += page)
        bytes[i] = value;
}

/* Meets main twice: "I am running", then "you have measured". */
static void *parked_thread(void *barrier)
{
    pthread_barrier_wait(barrier);
    pthread_barrier_wait(barrier);
    return NULL;
}

/* The private memory (KiB) one more thread adds. Measured before any thread
 * has ended: glibc reuses the stacks of ended threads, which cost nothing new. */
static long one_more_thread(void)
{
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    long private_before = private_kib(), space_before = proc_field(STATUS, "VmSize");
    pthread_t thread;
    start_thread(&thread, NULL, parked_thread, &barrier);
    pthread_barrier_wait(&barrier); /* it is running */
    long added = private_before < 0 ? -1 : private_kib() - private_before;
    say("one more thread: +%ld KiB private memory, +%ld KiB address space (its stack)", added,
        proc_field(STATUS, "VmSize") - space_before);
    pthread_barrier_wait(&barrier);
    pthread_join(thread, NULL);
    pthread_barrier_destroy(&barrier);
    return added;
}

/* In the child: private memory after fork, then after writing BUF; to pipe FD. */
static noreturn void measure_child(unsigned char *buf, size_t size, int fd)
{
    long kib[2];
    kib[0] = private_kib();
    touch_pages(buf, size, 2); /* now every page is copied for the child */
    kib[1] = private_kib();
    _exit(write(fd, kib, sizeof kib) == (ssize_t)sizeof kib ? 0 : 1);
}

static void memory_cost(const struct options *opt)
{
    say("\n== 2. memory: one more process against one more thread ==");
    long thread_kib = one_more_thread();

    size_t size = (size_t)opt->buffer_mb << 20;
    unsigned char *buf = malloc(size);
    if (!buf)
        die_errno("malloc %ld MiB", opt->buffer_mb);
    touch_pages(buf, size, 1); /* now every page really exists */
    int fds[2];
    if (pipe(fds) < 0)
        die_errno("pipe");
    pid_t pid = start_child();
    if (pid == 0)
        measure_child(buf, size, fds[1]);
    close(fds[1]);
    long kib[2]; /* the child's: just after fork, after writing */
    if (read(fds[0], kib, sizeof kib) != (ssize_t)sizeof kib)
        kib[0] = kib[1] = -1;
    close(fds[0]);
    wait_child(pid);
    free(buf);
    say("one more process: %ld KiB private memory (page tables, first pages) just after fork",
        kib[0]);
    say("the child wrote the %ld MiB buffer it inherited: its private memory grew to %ld KiB"
        " (copy-on-write)", opt->buffer_mb, kib[1]);

    char verdict[32] = "NOT MEASURED"; /* a kernel older than 4.14: no smaps_rollup */
    double ratio = (double)kib[0] / (double)(thread_kib > 4 ? thread_kib : 4);
    if (thread_kib >= 0 && kib[0] >= 0)
        snprintf(verdict, sizeof verdict, "%s here: %.0fx",
                 kib[0] > thread_kib ? "TRUE" : "NOT SEEN", ratio);
    set_row(MEMORY, verdict, "process %ld KiB, thread %ld KiB; child +%ld KiB once it wrote",
            kib[0], thread_kib, kib[1] - kib[0]);
}

/* ---- 3. threads: the stack is their own, the rest is shared ---------- */

/* What thread i found: where things are, and what is on its neighbour's stack. */
struct seen {
    uintptr_t stack, thread_local, global, heap, code;
    int *local;          /* this thread's local variable, for its neighbour */
    int neighbour_value; /* what it read there */
};

static struct seen seen[MAX_THREADS];
static int *heap_block; /* one int per thread, on the heap */
static int thread_total;
static pthread_barrier_t barrier;

static void *where_is_everything(void *arg)
{
    int i = (int)(intptr_t)arg;
    int local = 100 + i; /* on this thread's stack */
    seen[i] = (struct seen){(uintptr_t)&local, (uintptr_t)&thread_local_value,
                            (uintptr_t)&global_value, (uintptr_t)heap_block,
                            (uintptr_t)where_is_everything, &local, 0};
    heap_block[i] = i + 1; /* each its own element: no race */
    if (i == 0)
        global_value = 42; /* main reads it only after pthread_join */

    /* Once all have arrived, every stack exists: read the neighbour's. */
    pthread_barrier_wait(&barrier);
    seen[i].neighbour_value = *seen[(i + 1) % thread_total].local;
    /* Nobody returns (and frees its stack) before everyone has read. */
    pthread_barrier_wait(&barrier);
    return NULL;
}

static void threads_share(const struct options *opt)
{
    int n = thread_total = (int)opt->threads;
    say("\n== 3. threads in one process: what each has of its own, what they share ==");
    global_value = 1;
    heap_block = calloc((size_t)n, sizeof *heap_block);
    if (!heap_block)
        die_errno("calloc");
    pthread_t threads[MAX_THREADS];
    pthread_barrier_init(&barrier, NULL, (unsigned)n);
    for (int i = 0; i < n; i++)
        start_thread(&threads[i], NULL, where_is_everything, (void *)(intptr_t)i);
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);

    int own_stacks = 0, own_locals = 0; /* addresses no earlier thread had */
    int shared = 0; /* threads that saw global, heap and code where thread 0 did */
    bool heap_ok = true, neighbours_ok = true;
    for (int i = 0; i < n; i++) {
        const struct seen *s = &seen[i];
        say("thread %d: stack 0x%" PRIxPTR ", thread-local 0x%" PRIxPTR ", global 0x%" PRIxPTR
            ", heap 0x%" PRIxPTR ", code 0x%" PRIxPTR,
            i, s->stack, s->thread_local, s->global, s->heap, s->code);
        bool new_stack = true, new_local = true;
        for (int j = 0; j < i; j++) {
            new_stack = new_stack && seen[j].stack != s->stack;
            new_local = new_local && seen[j].thread_local != s->thread_local;
        }
        own_stacks += new_stack;
        own_locals += new_local;
        shared += s->global == seen[0].global && s->heap == seen[0].heap &&
                  s->code == seen[0].code;
        heap_ok = heap_ok && heap_block[i] == i + 1;
        neighbours_ok = neighbours_ok && s->neighbour_value == 100 + (i + 1) % n;
    }
    free(heap_block);
    say("main thread after join: global %d (thread 0 wrote 42); heap holds what all %d wrote: %s",
        global_value, n, heap_ok ? "yes" : "NO");
    say("each thread read its neighbour's local variable through a pointer: %s",
        neighbours_ok ? "yes" : "NO");
    if (neighbours_ok) /* the note says what was just seen, nothing more */
        table[THREAD_OWN].note = "its own, but not private: each thread read its neighbour's"
                                 " stack through a pointer";

    set_row(THREAD_OWN, check(own_stacks == n && own_locals == n && neighbours_ok, "TRUE"),
            "%d threads: %d stacks, %d thread-locals", n, own_stacks, own_locals);
    set_row(THREAD_SHARED, check(shared == n && heap_ok && global_value == 42, "TRUE"),
            "global, heap block, code: one address each in all %d", n);
    set_row(ISOLATION, check(parent_after_child == 1 && global_value == 42, "TRUE"),
            "child's 42 unseen (parent has %d); thread's 42 seen (main has %d)",
            parent_after_child, global_value);
}

/* ---- 4. zombies ------------------------------------------------------- */

/* A child that exits while its parent is not waiting: state Z until waitpid. */
static bool zombie_process(double hold)
{
    pid_t pid = start_child();
    if (pid == 0)
        _exit(0);
    double end = now_seconds() + 10; /* its exit takes a moment: poll /proc */
    while (process_state(pid) != 'Z' && now_seconds() < end)
        sleep_seconds(0.001);
    bool zombie = process_state(pid) == 'Z';
    say("child %ld has exited and was not waited for: /proc/%ld/stat state %c%s", (long)pid,
        (long)pid, zombie ? 'Z' : process_state(pid), zombie ? " (zombie)" : "");
    say("kill(%ld, 0) on the zombie: %s", (long)pid, kill(pid, 0) == 0
        ? "succeeds: the pid still exists, so it cannot tell a zombie" : "fails");
    if (hold > 0) {
        say("holding the zombie %g s; look: ps -o pid,ppid,stat,comm --ppid %ld", hold,
            (long)getpid());
        sleep_seconds(hold);
    }
    bool ok = wait_child(pid);
    bool gone = process_state(pid) == 0;
    say("after waitpid: /proc/%ld %s", (long)pid, gone ? "is gone (reaped)" : "is STILL THERE");
    return ok && zombie && gone;
}

static void *return_square(void *arg)
{
    intptr_t i = (intptr_t)arg;
    return (void *)(i * i);
}

static void zombies(const struct options *opt)
{
    say("\n== 4. zombies: ended, but not yet waited for ==");
    bool ok = zombie_process(opt->zombie_hold);

    /* Joinable threads that return, and are joined only later: until then
     * each keeps its stack and return value, as a zombie its exit status.
     * Their stack size (1 MiB) is new: glibc reuses joined threads' stacks. */
    int n = (int)opt->zombie_threads;
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    long tasks_before = proc_field(STATUS, "Threads"), space_before = proc_field(STATUS, "VmSize");
    pthread_t threads[MAX_THREADS];
    for (int i = 0; i < n; i++)
        start_thread(&threads[i], &attr, return_square, (void *)(intptr_t)i);
    pthread_attr_destroy(&attr);
    double end = now_seconds() + 10; /* until the kernel has let go of them all */
    long left;
    while ((left = proc_field(STATUS, "Threads") - tasks_before) > 0 && now_seconds() < end)
        sleep_seconds(0.001);
    long kept = proc_field(STATUS, "VmSize") - space_before;
    say("%d threads returned; %ld of them still in /proc/self/task; never joined, they still"
        " hold %ld KiB of address space (their stacks)", n, left, kept);
    bool results_ok = true;
    for (int i = 0; i < n; i++) {
        void *result;
        pthread_join(threads[i], &result);
        results_ok = results_ok && (intptr_t)result == (intptr_t)i * i;
    }
    say("pthread_join, later, still got each thread's return value: %s",
        results_ok ? "yes (kept, like a zombie's exit status)" : "NO");

    set_row(ZOMBIES, check(ok, "TOO SIMPLE"),
            "child: %s; %d ended threads kept %ld KiB till joined",
            ok ? "Z until waitpid, then gone" : "NO zombie state seen", n, kept);
}

/* ---- 5. creation and teardown cost ---------------------------------- */

static void creation_cost(const struct options *opt)
{
    long n = opt->count;
    say("\n== 5. creation and teardown: one after another, start then wait ==");
    double start = now_seconds();
    for (long i = 0; i < n; i++) {
        pid_t pid = start_child();
        if (pid == 0)
            _exit(0);
        if (!wait_child(pid))
            break;
    }
    double process = (now_seconds() - start) / (double)n * 1e6; /* us each */
    say("%ld processes: fork + _exit + waitpid: %.1f us each", n, process);

    start = now_seconds();
    for (long i = 0; i < n; i++) {
        pthread_t thread;
        start_thread(&thread, NULL, return_square, NULL);
        pthread_join(thread, NULL);
    }
    double thread = (now_seconds() - start) / (double)n * 1e6;
    say("%ld threads: pthread_create + return + pthread_join: %.1f us each", n, thread);
    double ratio = thread > 0 ? process / thread : 0;
    say("a process took %.1fx the time of a thread", ratio);

    char verdict[32];
    snprintf(verdict, sizeof verdict, "%s here: %.1fx", ratio > 1 ? "TRUE" : "NOT SEEN", ratio);
    set_row(CREATION, verdict, "%ld each: process %.1f us, thread %.1f us", n, process, thread);
}

/* A Markdown table (it pastes into notes as it is), then the notes. */
static void print_table(void)
{
    enum { CLAIM = 46, MEASURED = 76, VERDICT = 16 };
    static const char dashes[] = "------------------------------------------------------------"
                                 "------------------------------------------------------------";
    say("\n== the seed's claims, measured on this machine ==");
    say("| # | %-*s | %-*s | %-*s |", CLAIM, "claim (seed)", MEASURED, "measured here", VERDICT,
        "verdict");
    say("|---|-%.*s-|-%.*s-|-%.*s-|", CLAIM, dashes, MEASURED, dashes, VERDICT, dashes);
    for (int i = 0; i < ROWS; i++)
        say("| %d | %-*s | %-*s | %-*s |", i + 1, CLAIM, table[i].claim, MEASURED,
            table[i].measured, VERDICT, table[i].verdict);
    say("%s", "");
    for (int i = 0; i < ROWS; i++)
        if (table[i].note)
            say("(%d) %s", i + 1, table[i].note);
}

/* Ctrl-C or kill: stop and reap the child there may be (the zombie too),
 * then die of the same signal. Threads end with the process. */
static void on_stop_signal(int sig)
{
    stop_child();
    die_of_signal(sig);
}

static void usage(void)
{
    fputs("usage: proc_vs_thread [--count N] [--threads N] [--buffer-mb N]\n"
          "                      [--zombie-threads N] [--zombie-hold SECONDS]\n"
          "Check the seed's Process vs Thread claims on this machine; print a table.\n"
          "  --count N             processes, then threads, to start and end (1000; 1-100000)\n"
          "  --threads N           threads that show their addresses (4; 2-64)\n"
          "  --buffer-mb N         MiB a child inherits, then writes (32; 1-1024)\n"
          "  --zombie-threads N    threads that end and are joined later (8; 1-64)\n"
          "  --zombie-hold SECONDS keep the zombie child this long, to see it in ps (0; 0-3600)\n"
          "  -h, --help            show this help\n"
          "Exit status: 0 if the checks that do not depend on timing passed, 1 if one\n"
          "failed or a child did, 2 for a bad command line.\n",
          stdout);
}

static struct options parse_options(int argc, char **argv)
{
    struct options opt = {.count = 1000, .threads = 4, .buffer_mb = 32, .zombie_threads = 8};
    for (int i = 1; i < argc; i++) {
        const char *value;
        if (is_help_flag(argv[i])) {
            usage();
            exit(0);
        } else if ((value = flag_value(argc, argv, &i, "--count"))) {
            opt.count = parse_long("--count", value, 1, 100000);
        } else if ((value = flag_value(argc, argv, &i, "--threads"))) {
            opt.threads = parse_long("--threads", value, 2, MAX_THREADS);
        } else if ((value = flag_value(argc, argv, &i, "--buffer-mb"))) {
            opt.buffer_mb = parse_long("--buffer-mb", value, 1, 1024);
        } else if ((value = flag_value(argc, argv, &i, "--zombie-threads"))) {
            opt.zombie_threads = parse_long("--zombie-threads", value, 1, MAX_THREADS);
        } else if ((value = flag_value(argc, argv, &i, "--zombie-hold"))) {
            opt.zombie_hold = parse_seconds("--zombie-hold", value, 0, 3600);
        } else {
            usage_error("unknown argument '%s'", argv[i]);
        }
    }
    return opt;
}

int main(int argc, char **argv)
{
    kit_init(argv[0]);
    struct options opt = parse_options(argc, argv);
    catch_stop_signals(on_stop_signal);
    on_die(stop_child); /* an error in the parent stops and reaps the children first */
    /* Had whoever started us set SIGCHLD to "ignore", the kernel would reap
     * each child itself: no zombie to see, and waitid() would fail. */
    signal(SIGCHLD, SIG_DFL);

    say("proc_vs_thread: pid %ld; the seed's Process vs Thread list, measured here",
        (long)getpid());
    child_process_memory();
    memory_cost(&opt);
    threads_share(&opt);
    zombies(&opt);
    creation_cost(&opt);
    print_table();
    say("\nchecks that do not depend on timing: %s",
        all_checks_passed ? "all passed" : "SOME FAILED");
    return all_checks_passed ? 0 : 1;
}
