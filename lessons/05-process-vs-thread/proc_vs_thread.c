/* proc_vs_thread.c - memory and sharing: what a child process and a thread
 * each see of their parent's memory, and what one more of each costs.
 *
 *   Python                               C, in this file
 *   Process(target=f).start(), p.join()  fork(); the child runs f, _exit(); waitpid()
 *   Thread(target=f).start(), t.join()   pthread_create(); pthread_join()
 *   a module-level variable              static int global_value (the seed's "data")
 *   (memory use: not visible)            Private_Dirty in /proc/self/smaps_rollup
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include "measure.h"

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static long thread_count = 4, buffer_mb = 32;
static double hold;
static const struct flag flags[] = {
    {"--threads", FLAG_INT, &thread_count, 2, 64, "threads that show their stacks", NULL},
    {"--buffer-mb", FLAG_INT, &buffer_mb, 1, 1024, "MiB a child inherits, then writes", NULL},
    {"--hold", FLAG_SECONDS, &hold, 0, 3600, "keep that child this long, to read its /proc", NULL},
    {0},
};
static int global_value;
static bool passed = true; /* the checks that cannot depend on luck */
static bool join_child(pid_t pid);
enum { ISOLATION, MEMORY, PROCESS_OWN, THREAD_OWN, ROWS };
static struct claim table[ROWS] = {
    {"own memory (process), shared memory (thread)", NULL, "", ""},
    {"more memory (process), less (thread)", "only once the child writes: copy-on-write", "", ""},
    {"process: own code, data, heap and stack", "copied page by page when written; code never", "", ""},
    {"thread: own stack; code, data, heap shared", "own, not private: any thread can reach it", "", ""},
};

/* 1. A child writes 42 through the parent's own pointers: the parent still reads 1. */
static void child_process_memory(void)
{
    say("\n== 1. a child process: fork() gives it a copy of everything ==");
    int local = 1, *heap = malloc(sizeof *heap);
    if (!heap)
        die_errno("malloc");
    *heap = global_value = 1;
    say("parent %ld: global %p, heap %p, stack %p, each holding 1", (long)getpid(),
        (void *)&global_value, (void *)heap, (void *)&local);
    /* EXERCISE 05.1: fork; the child writes 42 to global_value, *heap and local, says so, _exits
     * HINT: fork() returns 0 in the child: kit_child_begin("child"), the writes, the say, _exit.
     * HINT: global_value = *heap = local = 42; then say the line with the three addresses.
     */
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) {
        kit_child_begin("child");
        global_value = *heap = local = 42; /* through the addresses the parent printed */
        say("child %ld: global %p, heap %p, stack %p, each holding %d", (long)getpid(),
            (void *)&global_value, (void *)heap, (void *)&local, global_value);
        kit_child_end();
        _exit(0);
    }
    kit_child_started(pid, "child");
    bool child_ok = join_child(pid);
    /* STUB 05.1
    bool child_ok = false;
    warn_msg("exercise 05.1: no child is forked yet");
     */
    /* END EXERCISE 05.1 */
    bool unchanged = global_value == 1 && *heap == 1 && local == 1;
    say("parent after waitpid: global %d, heap %d, stack %d: %s", global_value, *heap, local,
        unchanged ? "unchanged, the child wrote to its own copies" : "CHANGED");
    free(heap);
    passed &= claim_set(&table[PROCESS_OWN], child_ok && unchanged, "TOO SIMPLE",
                        "child: same addresses, own values (parent kept %d)", global_value);
}

/* p.join(): waitpid() for the child; true if it exited with status 0. */
static bool join_child(pid_t pid)
{
    int status;
    kit_phase("waitpid");
    if (waitpid(pid, &status, 0) < 0)
        die_errno("waitpid");
    kit_child_reaped(pid, status);
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* 2. Threads: each has its own stack; the global is one for all. */
static uintptr_t stacks[64]; /* where each thread's local variable was */
static void *share(void *arg)
{
    int i = (int)(intptr_t)arg, local = i; /* on this thread's stack */
    stacks[i] = (uintptr_t)&local;
    if (i == 0)
        global_value = 42; /* main reads it only after pthread_join */
    return NULL;
}

/* Returns the KiB one thread adds: measured before the joins (until then its stack
 * stays mapped), in the run's first threads (glibc reuses the stacks of joined ones). */
static long threads_share(int parent_after_child)
{
    int n = (int)thread_count;
    say("\n== 2. threads in one process: what each has of its own, what they share ==");
    long before = proc_private_kib(0), space = proc_status_field(0, "VmSize"), kib = -1;
    pthread_t threads[64];
    /* EXERCISE 05.2: start N threads, thread i running share((void *)i); join them all
     * HINT: pthread_create() returns an error number (0 if it worked); it does not set errno.
     * HINT: pthread_create(&threads[i], NULL, share, (void *)(intptr_t)i), later pthread_join.
     */
    for (int i = 0; i < n; i++) {
        int err = pthread_create(&threads[i], NULL, share, (void *)(intptr_t)i);
        if (err)
            errno = err, die_errno("pthread_create");
    }
    kib = before < 0 ? -1 : (proc_private_kib(0) - before) / n;
    space = (proc_status_field(0, "VmSize") - space) / n;
    for (int i = 0; i < n; i++)
        pthread_join(threads[i], NULL);
    /* STUB 05.2
    (void)threads, (void)before, (void)share;
     */
    /* END EXERCISE 05.2 */
    say("one more thread: +%ld KiB private memory, +%ld KiB address space (its stack)", kib, space);
    for (int i = 0; i < n; i++)
        say("thread %d: stack %p", i, (void *)stacks[i]);
    say("main thread after join: global %d (thread 0 wrote 42)", global_value);
    passed &= claim_set(&table[THREAD_OWN], stacks[n - 1] && space > 0, "TRUE", /* a new mapping */
                        "%d threads, each its own stack: +%ld KiB of space each", n, space);
    passed &= claim_set(&table[ISOLATION], parent_after_child == 1 && global_value == 42, "TRUE",
        "child's 42 unseen (parent has %d); thread's 42 seen (main has %d)", parent_after_child, global_value);
    return kib;
}

/* 3. What fork copies: page tables at once, each page only when first written. */
static void fork_copies(long thread_kib)
{
    say("\n== 3. memory: one more process against one more thread ==");
    size_t size = (size_t)buffer_mb << 20;
    volatile unsigned char *buf = malloc(size); /* volatile: no store nobody reads is dropped */
    int fds[2];
    if (!buf || pipe(fds) < 0)
        die_errno("malloc or pipe");
    for (size_t i = 0; i < size; i += 4096) /* a byte in every page: now each page exists */
        buf[i] = 1;
    pid_t pid = fork();
    if (pid < 0)
        die_errno("fork");
    if (pid == 0) { /* measures itself, writes the buffer, measures again */
        kit_child_begin("writer");
        long kib[2] = {proc_private_kib(0), 0};
        for (size_t i = 0; i < size; i += 4096) /* each page it writes, the kernel copies first */
            buf[i] = 2;
        kib[1] = proc_private_kib(0);
        bool sent = write(fds[1], kib, sizeof kib) == (ssize_t)sizeof kib;
        if (hold > 0) {
            say("child %ld holds %g s; see /proc/%ld/smaps_rollup", (long)getpid(), hold, (long)getpid());
            kit_phase("sleep");
            sleep_seconds(hold);
        }
        kit_child_end();
        _exit(sent ? 0 : 1);
    }
    kit_child_started(pid, "writer");
    close(fds[1]);
    long kib[2] = {-1, -1}; /* the child's: just after fork, after writing */
    kit_phase("read");  /* until the child has measured */
    bool got = read(fds[0], kib, sizeof kib) == (ssize_t)sizeof kib;
    close(fds[0]);
    passed &= join_child(pid) && got;
    free((void *)buf);
    say("one more process: %ld KiB private memory (page tables, first pages) just after fork", kib[0]);
    say("the child wrote the %ld MiB buffer it inherited: its private memory grew to %ld KiB"
        " (copy-on-write)", buffer_mb, kib[1]);
    char verdict[32] = "NOT MEASURED"; /* no smaps_rollup: Linux before 4.14 */
    if (thread_kib >= 0 && kib[0] >= 0) /* in the ratio a thread counts at least 4 KiB */
        snprintf(verdict, sizeof verdict, "%s here: %.0fx", kib[0] > thread_kib ? "TRUE" : "NOT SEEN",
                 (double)kib[0] / (double)(thread_kib > 4 ? thread_kib : 4));
    claim_set(&table[MEMORY], true, verdict, "process %ld KiB, thread %ld KiB; child +%ld KiB once it wrote",
              kib[0], thread_kib, kib[1] - kib[0]);
}

int main(int argc, char **argv)
{
    static const struct program prog = {.flags = flags, .timeline = true,
        .purpose = "Memory and sharing, process against thread: who sees a change, what fork\n"
                   "copies, what one more of each costs; the seed's claims, each measured."};
    kit_start(argc, argv, &prog);
    say("proc_vs_thread: pid %ld; the seed's Process vs Thread list, measured here", (long)getpid());
    child_process_memory();
    fork_copies(threads_share(global_value));
    claims_print(table, ROWS);
    say("\nchecks that do not depend on timing: %s", passed ? "all passed" : "SOME FAILED");
    return passed ? 0 : 1;
}
