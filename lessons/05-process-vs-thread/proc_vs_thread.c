/* proc_vs_thread.c - the seed's "Process vs Thread" list, each claim measured.
 *
 * The seed lists differences between a process and a thread as facts. This
 * program checks each one on the machine it runs on, then prints a table:
 * claim | what was measured | verdict.
 *
 * Python                                C, in this file
 *   Process(target=f).start()             fork(); the child runs f, then _exit()
 *   p.join()                              waitpid(pid, &status, 0)
 *   threading.Thread(target=f).start()    pthread_create(&t, NULL, f, arg)
 *   t.join()                              pthread_join(t, &result)
 *   (memory use, zombies: not visible)    /proc/<pid>/stat, /status, /smaps_rollup
 *
 * The experiments, in order:
 *   1. a child process writes to a global, the heap and its stack: the
 *      parent's copies do not change, though the addresses are the same;
 *   2. what one more process costs in memory against one more thread, and
 *      copy-on-write: the child pays for a page only when it writes it;
 *   3. threads: each has its own stack; global, heap and code are shared;
 *   4. zombies: an exited child stays in /proc with state Z until waited
 *      for; an exited thread that is never joined keeps its stack;
 *   5. the time to create and end N processes against N threads.
 *
 * Run:   make && ./proc_vs_thread             about a second
 *        ./proc_vs_thread --zombie-hold 20    keep the zombie 20 s, and in
 *        another terminal:  ps -o pid,ppid,stat,comm -C proc_vs_thread
 * Watch: the verdicts. Timing and memory figures change from machine to
 *        machine (and under a sanitizer); the isolation, sharing and zombie
 *        verdicts do not.
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

struct options {
    long count;          /* processes and threads for the creation cost */
    long threads;        /* threads in the sharing experiment */
    long buffer_mb;      /* buffer a child inherits and then writes */
    long zombie_threads; /* joinable threads left unjoined for a while */
    double zombie_hold;  /* seconds to keep the zombie child before reaping */
};

/* One row of the final table: a claim of the seed and what became of it.
 * The verdict is short (TRUE, TOO SIMPLE, ...); the note says why. */
struct row {
    const char *claim;
    char measured[96];
    char verdict[48];
    const char *note;
};

enum { ISOLATION, MEMORY, ZOMBIES, CREATION, EASE, PROCESS_COPIES, THREAD_OWN,
       THREAD_SHARED, ROWS };

static struct row table[ROWS] = {
    [ISOLATION] = {.claim = "own memory (process), shared memory (thread)"},
    [MEMORY] = {.claim = "more memory (process), less (thread)"},
    [ZOMBIES] = {.claim = "zombie processes easy, zombie threads hard"},
    [CREATION] = {.claim = "more overhead, slower start/end (process)"},
    [EASE] = {.claim = "easier to write (process); both hard to debug"},
    [PROCESS_COPIES] = {.claim = "process: own code, data, heap and stack"},
    [THREAD_OWN] = {.claim = "thread: only the stack is its own"},
    [THREAD_SHARED] = {.claim = "threads share code, data and heap"},
};

static bool all_checks_passed = true; /* the verdicts that cannot depend on luck */

/* The "data" of the seed's code/data/heap/stack: one global variable. */
static int global_value;

/* Each thread has its own copy of this (C11 _Thread_local): the seed's
 * "thread-specific data". */
static _Thread_local int thread_local_value;

/* The child being waited for, for the Ctrl-C handler; 0 when there is none.
 * Every experiment has at most one child at a time. */
static volatile sig_atomic_t running_child;

/* ---- small tools ----------------------------------------------------- */

/* A function's address as a number. Converting a function pointer to an
 * integer is allowed in C; to an object pointer (void *) it is not. */
static uintptr_t code_address(void *(*fn)(void *))
{
    return (uintptr_t)fn;
}

/* Read a small /proc file into BUF (always '\0'-terminated). False if it
 * cannot be opened. open/read, not fopen: no stdio buffer in the heap, so
 * the reading itself adds as little as possible to what is measured. */
static bool read_proc_file(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return false;
    size_t used = 0;
    ssize_t n;
    while (used < size - 1 && (n = read(fd, buf + used, size - 1 - used)) > 0)
        used += (size_t)n;
    close(fd);
    buf[used] = '\0';
    return true;
}

/* The number after "FIELD:" in /proc/self/status or smaps_rollup (in kB);
 * -1 when the file or the field is missing (an old kernel). */
static long proc_kib(const char *path, const char *field)
{
    char buf[8192];
    if (!read_proc_file(path, buf, sizeof buf))
        return -1;
    size_t len = strlen(field);
    for (const char *line = buf; *line;) {
        if (strncmp(line, field, len) == 0 && line[len] == ':')
            return strtol(line + len + 1, NULL, 10);
        const char *next = strchr(line, '\n');
        if (!next)
            break;
        line = next + 1;
    }
    return -1;
}

/* The state letter in /proc/<pid>/stat (R running, S sleeping, Z zombie),
 * or 0 when there is no such process. The state follows the command name,
 * which is in parentheses and may itself contain ") ", so look for the last. */
static char process_state(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    if (!read_proc_file(path, buf, sizeof buf))
        return 0;
    const char *end = strrchr(buf, ')');
    return end && end[1] == ' ' ? end[2] : 0;
}

/* Number of threads of this process: entries in /proc/self/task. */
static int thread_count(void)
{
    DIR *dir = opendir("/proc/self/task");
    if (!dir)
        die_errno("opendir /proc/self/task");
    int n = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)))
        if (entry->d_name[0] != '.')
            n++;
    closedir(dir);
    return n;
}

/* "700 KiB" or "32.0 MiB" */
static const char *size_text(long kib, char *buf, size_t size)
{
    if (kib < 0)
        snprintf(buf, size, "(not available)");
    else if (kib < 1024)
        snprintf(buf, size, "%ld KiB", kib);
    else
        snprintf(buf, size, "%.1f MiB", (double)kib / 1024);
    return buf;
}

static void section(const char *title)
{
    say("%s", "");
    say("== %s ==", title);
}

/* fork(), with the pid recorded for the Ctrl-C handler before any signal
 * can run it. Returns 0 in the child, whose signals are back to default. */
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

/* waitpid() for the child; true when it exited with status 0. */
static bool wait_child(pid_t pid)
{
    int status;
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR)
            die_errno("waitpid");
    }
    running_child = 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return true;
    if (WIFSIGNALED(status))
        warn_msg("child %ld was killed by signal %d", (long)pid, WTERMSIG(status));
    else
        warn_msg("child %ld exited with status %d", (long)pid, WEXITSTATUS(status));
    all_checks_passed = false;
    return false;
}

static void make_pipe(int fds[2])
{
    if (pipe(fds) < 0)
        die_errno("pipe");
}

/* Write one small record to a pipe: at most PIPE_BUF bytes go in one piece. */
static void send_record(int fd, const void *record, size_t size)
{
    if (write(fd, record, size) != (ssize_t)size)
        _exit(1);
}

/* Read one record sent by send_record(); false if the child sent none. */
static bool receive_record(int fd, void *record, size_t size)
{
    ssize_t n;
    do
        n = read(fd, record, size);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)size;
}

/* ---- 1. a child process: the same addresses, its own memory --------- */

struct addresses {
    uintptr_t global, heap, stack, code;
};

static void *any_function(void *arg)
{
    return arg;
}

static void child_process_memory(void)
{
    section("1. a child process: fork() gives it a copy of everything");
    int *heap_block = malloc(sizeof *heap_block);
    if (!heap_block)
        die_errno("malloc");
    int local = 1;
    *heap_block = 1;
    global_value = 1;
    struct addresses mine = {(uintptr_t)&global_value, (uintptr_t)heap_block,
                             (uintptr_t)&local, code_address(any_function)};
    say("parent %ld: global 0x%" PRIxPTR ", heap 0x%" PRIxPTR ", stack 0x%" PRIxPTR
        ", code 0x%" PRIxPTR ", each holding 1",
        (long)getpid(), mine.global, mine.heap, mine.stack, mine.code);

    int fds[2];
    make_pipe(fds);
    pid_t pid = start_child();
    if (pid == 0) {
        close(fds[0]);
        /* The child writes through the very same pointers as the parent. */
        global_value = 42;
        *heap_block = 42;
        local = 42;
        struct addresses seen = {(uintptr_t)&global_value, (uintptr_t)heap_block,
                                 (uintptr_t)&local, code_address(any_function)};
        send_record(fds[1], &seen, sizeof seen);
        _exit(global_value == 42 && *heap_block == 42 && local == 42 ? 0 : 1);
    }
    close(fds[1]);
    struct addresses theirs;
    bool got = receive_record(fds[0], &theirs, sizeof theirs);
    close(fds[0]);
    bool child_ok = wait_child(pid);
    if (!got)
        memset(&theirs, 0, sizeof theirs);

    bool same_addresses = got && memcmp(&mine, &theirs, sizeof mine) == 0;
    bool unchanged = global_value == 1 && *heap_block == 1 && local == 1;
    say("child %ld: %s addresses; it wrote 42 to each and read 42 back",
        (long)pid, same_addresses ? "the same 4" : "DIFFERENT");
    say("parent after waitpid: global %d, heap %d, stack %d: %s", global_value,
        *heap_block, local,
        unchanged ? "unchanged, the child wrote to its own copies" : "CHANGED");
    free(heap_block);

    if (!(child_ok && same_addresses && unchanged))
        all_checks_passed = false;
    struct row *row = &table[PROCESS_COPIES];
    snprintf(row->measured, sizeof row->measured,
             "child: same 4 addresses, own values (parent kept 1)");
    snprintf(row->verdict, sizeof row->verdict, "%s",
             child_ok && same_addresses && unchanged ? "TOO SIMPLE" : "FALSE");
    row->note = "the copies are made lazily, page by page, when written (copy-on-write, see"
                " 2); code is never copied";
    /* The isolation row is completed by the thread experiment. */
    snprintf(table[ISOLATION].measured, sizeof table[ISOLATION].measured,
             "child's 42 unseen (parent has %d)", global_value);
}

/* ---- 2. memory: one more process against one more thread ------------ */

/* What a fresh child owns, read by the child itself from /proc/self. */
struct child_memory {
    long private_kib;       /* pages only it maps, just after fork */
    long page_tables_kib;   /* its own page tables */
    long private_after_kib; /* after writing the buffer it inherited */
};

#define SMAPS "/proc/self/smaps_rollup"
#define STATUS "/proc/self/status"

/* Private_Dirty: pages this process has written and nobody else maps. */
static long private_kib(void)
{
    return proc_kib(SMAPS, "Private_Dirty");
}

/* Write one byte in every page of BUFFER: enough for the kernel to give
 * this process the whole page. volatile: the compiler must not drop these
 * stores, though this program never reads them back. */
static void touch_pages(unsigned char *buffer, size_t size, unsigned char value)
{
    volatile unsigned char *bytes = buffer;
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (size_t i = 0; i < size; i += page)
        bytes[i] = value;
}

static struct child_memory measure_one_more_process(unsigned char *buffer, size_t size)
{
    int fds[2];
    make_pipe(fds);
    pid_t pid = start_child();
    if (pid == 0) {
        close(fds[0]);
        struct child_memory m;
        m.private_kib = private_kib();
        m.page_tables_kib = proc_kib(STATUS, "VmPTE");
        touch_pages(buffer, size, 2); /* every page now gets copied for the child */
        m.private_after_kib = private_kib();
        send_record(fds[1], &m, sizeof m);
        _exit(0);
    }
    close(fds[1]);
    struct child_memory m = {-1, -1, -1};
    if (!receive_record(fds[0], &m, sizeof m))
        warn_msg("the memory child sent no figures");
    close(fds[0]);
    wait_child(pid);
    return m;
}

/* Two meetings with the main thread: "I exist" and "you have measured". */
static void *parked_thread(void *arg)
{
    pthread_barrier_t *barrier = arg;
    pthread_barrier_wait(barrier);
    pthread_barrier_wait(barrier);
    return NULL;
}

struct thread_memory {
    long private_kib;     /* growth of the process's private pages */
    long page_tables_kib; /* growth of its page tables */
    long virtual_kib;     /* growth of its address space (the stack) */
};

static struct thread_memory measure_one_more_thread(void)
{
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    long private_before = private_kib();
    long pte_before = proc_kib(STATUS, "VmPTE");
    long virtual_before = proc_kib(STATUS, "VmSize");

    pthread_t thread;
    int err = pthread_create(&thread, NULL, parked_thread, &barrier);
    if (err) {
        errno = err;
        die_errno("pthread_create");
    }
    pthread_barrier_wait(&barrier); /* the thread is up and running */
    struct thread_memory m = {private_kib() - private_before,
                              proc_kib(STATUS, "VmPTE") - pte_before,
                              proc_kib(STATUS, "VmSize") - virtual_before};
    if (private_before < 0 || pte_before < 0)
        m.private_kib = m.page_tables_kib = -1;
    pthread_barrier_wait(&barrier);
    pthread_join(thread, NULL);
    pthread_barrier_destroy(&barrier);
    return m;
}

static void memory_cost(const struct options *opt)
{
    char a[32], b[32], c[32];
    section("2. memory: one more process against one more thread");
    /* Measured before any other thread was made: glibc keeps the stacks of
     * ended threads for reuse, and a reused stack would cost nothing. */
    struct thread_memory t = measure_one_more_thread();
    say("one more thread: +%s private memory, +%s page tables, +%s address space (its stack)",
        size_text(t.private_kib, a, sizeof a), size_text(t.page_tables_kib, b, sizeof b),
        size_text(t.virtual_kib, c, sizeof c));

    size_t size = (size_t)opt->buffer_mb << 20;
    unsigned char *buffer = malloc(size);
    if (!buffer)
        die_errno("malloc %ld MiB", opt->buffer_mb);
    touch_pages(buffer, size, 1); /* now every page really exists */
    struct child_memory p = measure_one_more_process(buffer, size);
    free(buffer);
    say("one more process: %s private memory, %s page tables, just after fork",
        size_text(p.private_kib, a, sizeof a), size_text(p.page_tables_kib, b, sizeof b));
    say("the child wrote the %ld MiB buffer it inherited: its private memory grew to %s"
        " (copy-on-write)", opt->buffer_mb, size_text(p.private_after_kib, a, sizeof a));

    struct row *row = &table[MEMORY];
    row->note = "a child shares its parent's pages until it writes them; then each page it"
                " writes is copied for it. Kernel memory per task (not in /proc) is alike";
    if (p.private_kib < 0 || t.private_kib < 0) {
        snprintf(row->measured, sizeof row->measured, "/proc/self/smaps_rollup is missing");
        snprintf(row->verdict, sizeof row->verdict, "NOT MEASURED");
        return;
    }
    /* What is this task's alone: private pages plus its page tables. */
    long process_kib = p.private_kib + p.page_tables_kib;
    long thread_kib = t.private_kib + t.page_tables_kib;
    long floor_kib = thread_kib > 4 ? thread_kib : 4; /* one page: no division by 0 */
    double ratio = (double)process_kib / (double)floor_kib;
    snprintf(row->measured, sizeof row->measured,
             "process %s, thread %s; child +%s once it wrote", size_text(process_kib, a, sizeof a),
             size_text(thread_kib, b, sizeof b),
             size_text(p.private_after_kib - p.private_kib, c, sizeof c));
    snprintf(row->verdict, sizeof row->verdict, "%s: %.0fx",
             process_kib > thread_kib ? "TRUE here" : "NOT SEEN here", ratio);
}

/* ---- 3. threads: the stack is their own, the rest is shared ---------- */

struct seen_by_thread {
    uintptr_t stack, thread_local, global, heap, code;
    int *local;         /* for the neighbour to read */
    int neighbour_read; /* what this thread found on its neighbour's stack */
};

struct thread_arg {
    int index, count;
    int *heap_block; /* one int per thread, allocated by main */
    struct seen_by_thread *seen;
    pthread_barrier_t *barrier;
};

static void *where_is_everything(void *p)
{
    struct thread_arg *arg = p;
    int local = 100 + arg->index; /* on this thread's stack */
    struct seen_by_thread *me = &arg->seen[arg->index];
    me->stack = (uintptr_t)&local;
    me->thread_local = (uintptr_t)&thread_local_value;
    me->global = (uintptr_t)&global_value;
    me->heap = (uintptr_t)arg->heap_block;
    me->code = code_address(where_is_everything);
    me->local = &local;
    arg->heap_block[arg->index] = arg->index + 1; /* each its own element: no race */
    if (arg->index == 0)
        global_value = 42; /* read by main only after pthread_join */

    /* Wait until every thread has recorded its addresses: all stacks exist. */
    pthread_barrier_wait(arg->barrier);
    int next = (arg->index + 1) % arg->count;
    me->neighbour_read = *arg->seen[next].local; /* another thread's stack */
    /* Nobody returns (and frees its stack) before everyone has read. */
    pthread_barrier_wait(arg->barrier);
    return NULL;
}

/* How many different values are in V[0..N-1]; also the smallest distance
 * between two of them. */
static int distinct(uintptr_t *v, int n, uintptr_t *min_gap)
{
    int count = 0;
    *min_gap = UINTPTR_MAX;
    for (int i = 0; i < n; i++) {
        bool first = true;
        for (int j = 0; j < i; j++) {
            uintptr_t gap = v[i] > v[j] ? v[i] - v[j] : v[j] - v[i];
            if (gap == 0)
                first = false;
            else if (gap < *min_gap)
                *min_gap = gap;
        }
        count += first;
    }
    return count;
}

static void threads_share(const struct options *opt)
{
    int n = (int)opt->threads;
    section("3. threads in one process: what each has of its own, what they share");
    global_value = 1;
    int *heap_block = calloc((size_t)n, sizeof *heap_block);
    struct seen_by_thread *seen = calloc((size_t)n, sizeof *seen);
    struct thread_arg *args = calloc((size_t)n, sizeof *args);
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (!heap_block || !seen || !args || !threads)
        die_errno("calloc");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, (unsigned)n);

    for (int i = 0; i < n; i++) {
        args[i] = (struct thread_arg){i, n, heap_block, seen, &barrier};
        int err = pthread_create(&threads[i], NULL, where_is_everything, &args[i]);
        if (err) {
            errno = err;
            die_errno("pthread_create");
        }
    }
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&barrier);

    uintptr_t *column = calloc((size_t)n, sizeof *column);
    if (!column)
        die_errno("calloc");
    uintptr_t gap, unused;
    for (int i = 0; i < n; i++) {
        say("thread %d: stack 0x%" PRIxPTR ", thread-local 0x%" PRIxPTR ", global 0x%" PRIxPTR
            ", heap 0x%" PRIxPTR ", code 0x%" PRIxPTR,
            i, seen[i].stack, seen[i].thread_local, seen[i].global, seen[i].heap, seen[i].code);
        column[i] = seen[i].stack;
    }
    int stacks = distinct(column, n, &gap);
    for (int i = 0; i < n; i++)
        column[i] = seen[i].thread_local;
    int locals = distinct(column, n, &unused);
    int shared = 0; /* global, heap and code: one address each for all threads? */
    for (int i = 0; i < n; i++)
        shared += seen[i].global == seen[0].global && seen[i].heap == seen[0].heap &&
                  seen[i].code == seen[0].code;
    bool heap_seen = true, neighbours_ok = true;
    for (int i = 0; i < n; i++) {
        heap_seen = heap_seen && heap_block[i] == i + 1;
        neighbours_ok = neighbours_ok && seen[i].neighbour_read == 100 + (i + 1) % n;
    }

    char apart[32];
    size_text((long)(gap / 1024), apart, sizeof apart);
    say("own: %d different stacks (at least %s apart), %d different thread-locals", stacks,
        apart, locals);
    say("shared: global, heap and code have one address each in %d of %d threads", shared, n);
    say("main thread after join: global %d (thread 0 wrote 42); heap holds what all %d wrote: %s",
        global_value, n, heap_seen ? "yes" : "NO");
    say("each thread read its neighbour's local variable through a pointer: %s",
        neighbours_ok ? "yes" : "NO");

    bool own_ok = stacks == n && locals == n;
    bool shared_ok = shared == n && heap_seen && global_value == 42;
    if (!(own_ok && shared_ok && neighbours_ok))
        all_checks_passed = false;

    struct row *row = &table[THREAD_OWN];
    snprintf(row->measured, sizeof row->measured,
             "%d threads: %d stacks, %d thread-locals, %s apart or more", n, stacks, locals,
             apart);
    snprintf(row->verdict, sizeof row->verdict, "%s", own_ok && neighbours_ok ? "TRUE" : "FALSE");
    row->note = "its own, but not private: each thread read its neighbour's stack through"
                " a pointer";
    row = &table[THREAD_SHARED];
    snprintf(row->measured, sizeof row->measured,
             "global, heap block, code: one address each in all %d", n);
    snprintf(row->verdict, sizeof row->verdict, "%s", shared_ok ? "TRUE" : "FALSE");

    row = &table[ISOLATION];
    bool isolated = strstr(row->measured, "parent has 1") != NULL;
    size_t used = strlen(row->measured);
    snprintf(row->measured + used, sizeof row->measured - used,
             "; thread's 42 seen (main has %d)", global_value);
    snprintf(row->verdict, sizeof row->verdict, "%s",
             isolated && global_value == 42 ? "TRUE" : "FALSE");

    free(column);
    free(threads);
    free(args);
    free(seen);
    free(heap_block);
}

/* ---- 4. zombies ------------------------------------------------------- */

/* Wait (bounded, polling /proc) until process PID shows STATE. */
static bool wait_for_state(pid_t pid, char state, double limit)
{
    double end = now_seconds() + limit;
    while (process_state(pid) != state) {
        if (now_seconds() > end)
            return false;
        sleep_seconds(0.001);
    }
    return true;
}

static bool zombie_process(const struct options *opt, char *measured, size_t size)
{
    pid_t pid = start_child();
    if (pid == 0)
        _exit(0); /* ends at once; the parent does not wait for it yet */

    bool zombie = wait_for_state(pid, 'Z', 10);
    say("child %ld has exited and was not waited for: /proc/%ld/stat state %c%s", (long)pid,
        (long)pid, zombie ? 'Z' : process_state(pid), zombie ? " (zombie)" : "");
    say("kill(%ld, 0) on the zombie: %s", (long)pid,
        kill(pid, 0) == 0 ? "succeeds: the pid still exists, so it cannot tell a zombie"
                          : "fails");
    if (opt->zombie_hold > 0) {
        say("holding the zombie %g s; look: ps -o pid,ppid,stat,comm --ppid %ld",
            opt->zombie_hold, (long)getpid());
        sleep_seconds(opt->zombie_hold);
    }
    bool ok = wait_child(pid);
    char after = process_state(pid);
    if (after)
        say("after waitpid: /proc/%ld still there, state %c", (long)pid, after);
    else
        say("after waitpid: /proc/%ld is gone (reaped)", (long)pid);
    snprintf(measured, size, "child: %s", zombie && after == 0 ? "Z until waitpid, then gone"
                                                                : "NO zombie state seen");
    return ok && zombie && after == 0;
}

/* A joinable thread that ends keeps its stack and its return value until
 * someone joins it: the thread version of a zombie. */
static void *return_square(void *arg)
{
    intptr_t i = (intptr_t)arg;
    return (void *)(i * i);
}

static void zombie_threads(const struct options *opt, char *measured, size_t size)
{
    int n = (int)opt->zombie_threads;
    pthread_t *threads = calloc((size_t)n, sizeof *threads);
    if (!threads)
        die_errno("calloc");
    /* A stack size no thread here has used yet (1 MiB): glibc keeps the
     * stacks of joined threads to reuse them, and a reused stack would not
     * show up as new memory. */
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setstacksize(&attr, 1 << 20);
    int tasks_before = thread_count();
    long virtual_before = proc_kib(STATUS, "VmSize");
    for (int i = 0; i < n; i++) {
        int err = pthread_create(&threads[i], &attr, return_square, (void *)(intptr_t)i);
        if (err) {
            errno = err;
            die_errno("pthread_create");
        }
    }
    /* Wait (bounded) until the kernel has let go of every one of them. */
    double end = now_seconds() + 10;
    while (thread_count() > tasks_before && now_seconds() < end)
        sleep_seconds(0.001);
    pthread_attr_destroy(&attr);
    int tasks_left = thread_count() - tasks_before;
    long kept = proc_kib(STATUS, "VmSize") - virtual_before;
    char a[32];
    say("%d threads returned; %d of them still in /proc/self/task; never joined, they still"
        " hold %s of address space (their stacks)",
        n, tasks_left, size_text(kept, a, sizeof a));

    bool results_ok = true;
    for (int i = 0; i < n; i++) {
        void *result;
        pthread_join(threads[i], &result);
        results_ok = results_ok && (intptr_t)result == (intptr_t)i * i;
    }
    say("pthread_join, later, still got each thread's return value: %s",
        results_ok ? "yes (kept, like a zombie's exit status)" : "NO");
    snprintf(measured, size, "; %d ended threads kept %s till joined", n,
             size_text(kept, a, sizeof a));
    free(threads);
}

static void zombies(const struct options *opt)
{
    section("4. zombies: ended, but not yet waited for");
    struct row *row = &table[ZOMBIES];
    bool ok = zombie_process(opt, row->measured, sizeof row->measured);
    size_t used = strlen(row->measured);
    zombie_threads(opt, row->measured + used, sizeof row->measured - used);
    if (!ok)
        all_checks_passed = false;
    snprintf(row->verdict, sizeof row->verdict, "%s", ok ? "TOO SIMPLE" : "FALSE");
    row->note = "a joinable thread that ends and is never joined is a zombie thread, just as"
                " easy to make: its stack and result stay until pthread_join";
}

/* ---- 5. creation and teardown cost ---------------------------------- */

static void *do_nothing(void *arg)
{
    return arg;
}

/* Start and wait for N processes, one after another; seconds taken. */
static double time_processes(long n)
{
    double start = now_seconds();
    for (long i = 0; i < n; i++) {
        pid_t pid = start_child();
        if (pid == 0)
            _exit(0);
        if (!wait_child(pid))
            break;
    }
    return now_seconds() - start;
}

/* The same with threads: create, then join. */
static double time_threads(long n)
{
    double start = now_seconds();
    for (long i = 0; i < n; i++) {
        pthread_t thread;
        int err = pthread_create(&thread, NULL, do_nothing, NULL);
        if (err) {
            errno = err;
            die_errno("pthread_create");
        }
        pthread_join(thread, NULL);
    }
    return now_seconds() - start;
}

static void creation_cost(const struct options *opt)
{
    long n = opt->count;
    section("5. creation and teardown: one after another, start then wait");
    double processes = time_processes(n);
    double per_process = processes / (double)n * 1e6;
    say("%ld processes: fork + _exit + waitpid: %.3f s, %.1f us each", n, processes, per_process);
    double threads = time_threads(n);
    double per_thread = threads / (double)n * 1e6;
    say("%ld threads: pthread_create + return + pthread_join: %.3f s, %.1f us each", n, threads,
        per_thread);
    double ratio = per_thread > 0 ? per_process / per_thread : 0;
    say("a process took %.1fx the time of a thread", ratio);

    struct row *row = &table[CREATION];
    snprintf(row->measured, sizeof row->measured, "%ld each: process %.1f us, thread %.1f us", n,
             per_process, per_thread);
    snprintf(row->verdict, sizeof row->verdict, "%s: %.1fx",
             ratio > 1 ? "TRUE here" : "NOT SEEN here", ratio);
    row->note = "a time: the ratio changes with the machine, its load and the parent's size"
                " (fork copies the page tables)";
}

/* ---- the table -------------------------------------------------------- */

/* A row of '-' as wide as a column, for the table's second line. */
static const char *dashes(int width)
{
    static const char line[] = "--------------------------------------------------------------"
                               "--------------------------------------------------------------";
    int len = (int)sizeof line - 1;
    return line + (width < len ? len - width : 0);
}

static int wider(int width, const char *cell)
{
    int len = (int)strlen(cell);
    return len > width ? len : width;
}

/* A Markdown table (it pastes into notes as it is), then the notes. */
static void print_table(void)
{
    struct row *ease = &table[EASE];
    snprintf(ease->measured, sizeof ease->measured, "nothing to measure");
    snprintf(ease->verdict, sizeof ease->verdict, "OPINION");
    ease->note = "fork() is short to write, but reaping, signals and passing results back are"
                 " yours; threads share everything, so shared data needs locks";

    int claim = wider(0, "claim (seed)"), measured = wider(0, "measured here"),
        verdict = wider(0, "verdict");
    for (int i = 0; i < ROWS; i++) {
        claim = wider(claim, table[i].claim);
        measured = wider(measured, table[i].measured);
        verdict = wider(verdict, table[i].verdict);
    }
    section("the seed's claims, measured on this machine");
    say("| # | %-*s | %-*s | %-*s |", claim, "claim (seed)", measured, "measured here", verdict,
        "verdict");
    say("|---|-%s-|-%s-|-%s-|", dashes(claim), dashes(measured), dashes(verdict));
    for (int i = 0; i < ROWS; i++)
        say("| %d | %-*s | %-*s | %-*s |", i + 1, claim, table[i].claim, measured,
            table[i].measured, verdict, table[i].verdict);
    say("%s", "");
    for (int i = 0; i < ROWS; i++)
        if (table[i].note)
            say("(%d) %s", i + 1, table[i].note);
}

/* ---- command line, signals, main -------------------------------------- */

/* Ctrl-C or kill: stop and reap the child there may be, then die of the
 * same signal. Threads end with the process. */
static void on_stop_signal(int sig)
{
    pid_t pid = running_child;
    if (pid > 0) {
        kill(pid, SIGTERM); /* a zombie ignores it; waitpid reaps either way */
        waitpid(pid, NULL, 0);
    }
    die_of_signal(sig);
}

static void usage(void)
{
    fputs("usage: proc_vs_thread [--count N] [--threads N] [--buffer-mb N]\n"
          "                      [--zombie-threads N] [--zombie-hold SECONDS]\n"
          "\n"
          "Check the seed's Process vs Thread claims on this machine and print a table:\n"
          "claim | what was measured | verdict.\n"
          "\n"
          "  --count N             processes, then threads, to create and end for the\n"
          "                        cost comparison (default 1000; 1 to 100000)\n"
          "  --threads N           threads that show their addresses (default 4; 2 to 64)\n"
          "  --buffer-mb N         MiB a child inherits and then writes, to show\n"
          "                        copy-on-write (default 32; 1 to 1024)\n"
          "  --zombie-threads N    threads left unjoined after they end (default 8; 1 to 64)\n"
          "  --zombie-hold SECONDS keep the zombie child this long before reaping it,\n"
          "                        to look at it with ps (default 0; 0 to 3600)\n"
          "  -h, --help            show this help\n"
          "\n"
          "Exit status: 0 when the isolation, sharing and zombie checks came out as\n"
          "expected, 1 if one did not or a child failed, 2 for a bad command line.\n",
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
            opt.threads = parse_long("--threads", value, 2, 64);
        } else if ((value = flag_value(argc, argv, &i, "--buffer-mb"))) {
            opt.buffer_mb = parse_long("--buffer-mb", value, 1, 1024);
        } else if ((value = flag_value(argc, argv, &i, "--zombie-threads"))) {
            opt.zombie_threads = parse_long("--zombie-threads", value, 1, 64);
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

    say("proc_vs_thread: pid %ld; the seed's Process vs Thread list, measured here",
        (long)getpid());
    child_process_memory();
    memory_cost(&opt);
    threads_share(&opt);
    zombies(&opt);
    creation_cost(&opt);
    print_table();

    say("%s", "");
    say("checks that do not depend on timing: %s",
        all_checks_passed ? "all passed" : "SOME FAILED");
    return all_checks_passed ? 0 : 1;
}
