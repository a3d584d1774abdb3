/* children.c - the child registry: nothing is left behind.
 *
 * A lesson tells the registry about each child right after its own fork()
 * and after its own waitpid(). On SIGINT or SIGTERM, on an error exit and
 * on a stdout error, the registry stops (SIGTERM, then SIGCONT so that a
 * stopped child can act on it) and reaps every child still registered.
 *
 * Why pidfds: once a child is reaped its pid is free, and the kernel may
 * give it to an unrelated process. A handler that ran between the lesson's
 * waitpid() and kit_child_reaped() would signal that stranger with kill().
 * A pidfd names the process itself, not its number: signalling a reaped
 * child through it fails with ESRCH and harms no one. pidfd_open() came
 * with Linux 5.3; where it is missing (ENOSYS) the registry signals by pid,
 * but only a process whose parent is still this one, which a recycled pid
 * can never be.
 *
 * _GNU_SOURCE: syscall() for pidfd_open and pidfd_send_signal, which
 * glibc before 2.36 does not wrap, and sched_getaffinity for allowed_cpus.
 */
#define _GNU_SOURCE

#include "kit.h"
#include "kit_internal.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

enum { MAX_CHILDREN = 4096 };

struct child {
    pid_t pid;
    int pidfd; /* -1 where pidfd_open is not available */
    volatile sig_atomic_t reaped;
};

/* The handler reads entries [0, count); an entry is filled in before count
 * grows, so it never sees half of one. */
static struct child children[MAX_CHILDREN];
static volatile sig_atomic_t count;
static volatile sig_atomic_t running;
static pid_t owner; /* the process whose children these are */
static double fork_time; /* when the last fork() began, from pthread_atfork */

/* pthread_atfork: just before fork() the stop signals are blocked, and they
 * stay blocked until kit_child_started() (parent) or kit_child_begin()
 * (child). A Ctrl-C in between waits that long instead of finding a child
 * the registry does not know yet. */
static sigset_t mask_before_fork;
static volatile sig_atomic_t fork_blocked;

static void before_fork(void)
{
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    sigprocmask(SIG_BLOCK, &stop, &mask_before_fork);
    fork_blocked = 1;
    fork_time = now_seconds();
}

static void unblock_after_fork(void)
{
    if (fork_blocked) {
        fork_blocked = 0;
        sigprocmask(SIG_SETMASK, &mask_before_fork, NULL);
    }
}

static int signal_child(const struct child *c, int sig)
{
    if (c->pidfd >= 0)
        return (int)syscall(SYS_pidfd_send_signal, c->pidfd, sig, NULL, 0);
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)c->pid);
    FILE *f = NULL;
    long ppid = -1;
    /* Fallback: only a process that is still our child. fopen is not
     * async-signal-safe; this path runs only on kernels before 5.3. */
    if ((f = fopen(path, "r"))) {
        if (fgets(buf, sizeof buf, f)) {
            char *p = strrchr(buf, ')');
            if (p)
                sscanf(p + 2, "%*c %ld", &ppid);
        }
        fclose(f);
    }
    return ppid == (long)getpid() ? kill(c->pid, sig) : -1;
}

/* Wait for one registered child and close its pidfd. */
static void reap_child(struct child *c)
{
    if (c->pidfd >= 0) {
        siginfo_t info;
        int r;
        while ((r = waitid((idtype_t)P_PIDFD, (id_t)c->pidfd, &info, WEXITED)) < 0 && errno == EINTR)
            continue;
        if (r == 0 || errno == ECHILD)
            return; /* reaped now, or already by the lesson */
        /* EINVAL: Linux 5.3 has pidfds but cannot wait on them (5.4 can). */
    }
    while (waitpid(c->pid, NULL, 0) < 0 && errno == EINTR)
        continue;
}

void kit_stop_children(void)
{
    if (getpid() != owner)
        return; /* a child that never called kit_child_begin(): not its children */
    int saved = errno;
    unblock_after_fork(); /* a fork that failed: nothing more to wait for */
    int n = count;
    for (int k = 0; k < n; k++) {
        if (children[k].reaped)
            continue;
        signal_child(&children[k], SIGTERM);
        signal_child(&children[k], SIGCONT);
    }
    for (int k = 0; k < n; k++) {
        if (children[k].reaped)
            continue;
        reap_child(&children[k]);
        children[k].reaped = 1;
        if (children[k].pidfd >= 0)
            close(children[k].pidfd);
    }
    running = 0;
    errno = saved;
}

static void (*before_stop)(void);

void kit_on_stop_signal(void (*fn)(void))
{
    before_stop = fn;
}

static void on_stop_signal(int sig)
{
    if (before_stop && getpid() == owner)
        before_stop();
    kit_stop_children();
    kit_die_of_signal(sig);
}

/* One pidfd per child: allow as many descriptors as the hard limit lets us
 * (the usual soft limit, 1024, is less than a lesson's largest --count). */
static void raise_fd_limit(void)
{
    struct rlimit lim;
    if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max < 65536 ? lim.rlim_max : 65536;
        setrlimit(RLIMIT_NOFILE, &lim);
    }
}

void kit_registry_init(void)
{
    raise_fd_limit();
    owner = getpid();
    count = 0;
    running = 0;
    static bool atfork_done;
    if (!atfork_done) {
        pthread_atfork(before_fork, NULL, NULL);
        atfork_done = true;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT); /* while one runs, the other waits */
    sigaddset(&sa.sa_mask, SIGTERM);
    /* Also when SIGINT was ignored at start (a background job of a script):
     * the kit's programs clean up on every SIGINT they get, by design. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A write to a closed pipe returns EPIPE instead of killing us before
     * the children are stopped; say() then ends the run quietly. */
    signal(SIGPIPE, SIG_IGN);
    /* Had whoever started us set SIGCHLD to "ignore", the kernel would reap
     * our children itself and waitpid() would fail with ECHILD. */
    signal(SIGCHLD, SIG_DFL);
}

/* A free entry: one whose child was reaped, or a new one at the end. */
static struct child *free_entry(void)
{
    static int hint;
    for (int k = 0; k < count; k++) {
        int at = (hint + k) % count;
        if (children[at].reaped) {
            hint = at + 1;
            return &children[at];
        }
    }
    return count < MAX_CHILDREN ? &children[count] : NULL;
}

void kit_child_started(pid_t pid, const char *name)
{
    struct child *c = free_entry();
    if (!c) {
        kill(pid, SIGKILL); /* cannot be tracked: do not let it run */
        waitpid(pid, NULL, 0);
        unblock_after_fork();
        die_msg("more than %d children at once", MAX_CHILDREN);
    }
    bool is_new = c == &children[count];
    c->reaped = 1; /* the handler skips it while it is filled in */
    c->pid = pid;
    c->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    /* Out of descriptors (EMFILE): this child is tracked by its pid, with
     * the same parent check as on old kernels. */
    if (c->pidfd < 0 && errno != ENOSYS && errno != EMFILE && errno != ENFILE)
        die_errno("pidfd_open for child %ld", (long)pid);
    c->reaped = 0;
    if (is_new)
        count = count + 1;
    running = running + 1;
    kit_timeline_fork(pid, name, fork_time);
    unblock_after_fork();
}

static struct child *find_child(pid_t pid)
{
    for (int k = count - 1; k >= 0; k--)
        if (children[k].pid == pid && !children[k].reaped)
            return &children[k];
    return NULL;
}

bool kit_is_registered(pid_t pid)
{
    return find_child(pid) != NULL;
}

int kit_children_running(void)
{
    return running;
}

void kit_child_reaped(pid_t pid, int status)
{
    struct child *c = find_child(pid);
    if (!c)
        return;
    c->reaped = 1; /* first: from now on the handler leaves it alone */
    running = running - 1;
    if (c->pidfd >= 0)
        close(c->pidfd);
    c->pidfd = -1;
    kit_timeline_reap(pid, status);
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE) {
        /* It wrote to a closed stdout pipe (`| head`): so would we. */
        kit_stop_children();
        kit_die_of_signal(SIGPIPE);
    }
}

void kit_child_begin(const char *name)
{
    pid_t parent = owner;
    for (int k = 0; k < count; k++)
        if (!children[k].reaped && children[k].pidfd >= 0)
            close(children[k].pidfd); /* the parent's, not ours */
    owner = getpid(); /* this process may register children of its own */
    before_stop = NULL; /* the parent's cleanup is not ours */
    count = 0;
    running = 0;
    signal(SIGINT, SIG_DFL);
    signal(SIGTERM, SIG_DFL);
    signal(SIGPIPE, SIG_DFL); /* a closed stdout pipe ends a child at once */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigprocmask(SIG_UNBLOCK, &set, NULL);
    /* If the parent dies before it could register us, we get SIGTERM. It
     * may already have died: then our parent is no longer it. */
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent)
        _exit(1);
    fork_blocked = 0; /* the unblock above has done it */
    kit_timeline_child_begin(name, fork_time);
}

void kit_child_end(void)
{
    kit_timeline_exit();
}

const char *status_text(int status, char *buf, size_t size)
{
    if (WIFEXITED(status))
        snprintf(buf, size, "exit code %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, size, "killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        snprintf(buf, size, "wait status %#x", (unsigned)status);
    return buf;
}

int exitcode_of(int status)
{
    return WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? -WTERMSIG(status) : status;
}

int allowed_cpus(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) != 0)
        return 1;
    return CPU_COUNT(&set);
}
