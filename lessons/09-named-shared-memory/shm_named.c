/* shm_named.c - a shared-memory block with a name, found by a second, unrelated process.
 *
 * Python                                         C, in this file
 *   SharedMemory(create=True, size=N)              shm_open(unique name, O_CREAT|O_EXCL, 0600); ftruncate; mmap
 *   SharedMemory(name=NAME), in another process    shm_open(NAME, O_RDWR); fstat for the size; mmap
 *   subprocess.run([python, me, "attach", NAME])   fork(), then execl(this program, "attach", NAME)
 *   (no named semaphore in Python's API)           sem_open(NAME, O_CREAT|O_EXCL, 0600, 0), sem_post
 *   shm.close() / shm.unlink()                     munmap, sem_close / shm_unlink, sem_unlink
 */
#define _POSIX_C_SOURCE 200809L
#include "kit.h"
#include "named_ipc.h" /* unique and checked names, a deadline, unlink on a stop signal */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

struct block { /* the start of the block; "shm_named 1" in magic: a block made by this program */
    char magic[16], greeting[96], answer[96];
};

static const char *given_name;
static long size = 4096;
static double wait_seconds = 60;
static bool by_hand;
static char shm_name[256]; /* "/NAME"; NAME is what ls /dev/shm shows */
static volatile sig_atomic_t shm_made, sem_made; /* this run made them, so it must unlink them */

static const struct flag flags[] = {
    {"--name", FLAG_TEXT, &given_name, 1, 251, "your own name for the block (default: unique to this run)", NULL},
    {"--size", FLAG_INT, &size, sizeof(struct block), 1 << 30, "bytes in the block (ftruncate)", NULL},
    {"--by-hand", FLAG_SWITCH, &by_hand, 0, 0, "start no attacher: wait for one you run in another terminal", NULL},
    {"--wait", FLAG_SECONDS, &wait_seconds, 0.01, 3600, "with --by-hand: how long to wait for it", NULL},
    {0},
};

static void remove_names(void);
#define FAIL(...) (remove_names(), die_errno(__VA_ARGS__)) /* unlink first: die_errno exits at once */

/* SharedMemory(create=True): a new object in /dev/shm, never an old one
 * reused (O_EXCL), ours alone (0600), N bytes long (ftruncate), mapped;
 * then the greeting, then the semaphore: sem.NAME existing means ready. */
static struct block *create_block(sem_t **sem)
{
    int fd = shm_open(shm_name, O_RDWR | O_CREAT | O_EXCL, 0600);
    if (fd < 0)
        errno == EEXIST ? die_msg("%s already exists (ls /dev/shm): not ours, so it stays; choose another "
                                  "--name", shm_name + 1) : die_errno("shm_open %s", shm_name + 1);
    shm_made = 1;
    if (ftruncate(fd, (off_t)size) < 0)
        FAIL("ftruncate %s to %ld bytes", shm_name + 1, size);
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        FAIL("mmap %s", shm_name + 1);
    close(fd); /* the mapping keeps the object; the descriptor is not needed any more */
    struct block *b = p;
    snprintf(b->greeting, sizeof b->greeting, "hello from pid %ld", (long)getpid());
    memcpy(b->magic, "shm_named 1", 12);
    *sem = sem_open(shm_name, O_CREAT | O_EXCL, 0600, 0); /* 0: the attacher's turn, until its sem_post */
    if (*sem == SEM_FAILED)
        errno == EEXIST ? (remove_names(), die_msg("sem.%s already exists (ls /dev/shm): not ours; choose "
                                                   "another --name", shm_name + 1)) : FAIL("sem_open %s", shm_name + 1);
    sem_made = 1;
    return b;
}

/* shm.unlink(): the names go; the memory stays while a process maps it.
 * Also the stop-signal hook: shm_unlink and sem_unlink are not on POSIX's
 * async-signal-safe list, but glibc's build a path and call unlink(). */
static void remove_names(void)
{
    int saved = errno;
    /* EXERCISE 09.2: remove from /dev/shm the names this run created (the block's and the semaphore's)
     * HINT: shm_made and sem_made say which exist; each kind of object has its own unlink call.
     * HINT: if (shm_made) shm_unlink(shm_name); if (sem_made) sem_unlink(shm_name);
     */
    if (shm_made)
        shm_unlink(shm_name);
    if (sem_made)
        sem_unlink(shm_name);
    /* STUB 09.2
     */
    /* END EXERCISE 09.2 */
    shm_made = sem_made = 0;
    errno = saved;
}

/* `shm_named attach NAME`, run by you or by the creator: SharedMemory(name=NAME). */
static int attach(void)
{
    /* EXERCISE 09.1: find the block by its name: open it (no O_CREAT), learn its size, map it
     * HINT: shm_open(shm_name, O_RDWR, 0); fstat() gives st_size, Python's shm.size; mmap it MAP_SHARED.
     * HINT: No such block (ENOENT): die_errno("no block named %s (ls /dev/shm): shm_open", shm_name + 1).
     */
    int fd = shm_open(shm_name, O_RDWR, 0);
    if (fd < 0)
        die_errno("no block named %s (ls /dev/shm): shm_open", shm_name + 1);
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_size < (off_t)sizeof(struct block))
        die_msg("%s: %lld bytes, too small for a block made by shm_named", shm_name + 1, (long long)st.st_size);
    size_t length = (size_t)st.st_size;
    struct block *b = mmap(NULL, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (b == MAP_FAILED)
        die_errno("mmap %s", shm_name + 1);
    close(fd);
    /* STUB 09.1
    size_t length = 0;
    struct block *b = NULL;
    die_msg("exercise 09.1: attach does not open %s yet", shm_name + 1);
     */
    /* END EXERCISE 09.1 */
    if (strcmp(b->magic, "shm_named 1") != 0)
        die_msg("%s was not made by shm_named: leaving it alone", shm_name + 1);
    sem_t *s = sem_open(shm_name, 0); /* no O_CREAT: the creator's semaphore, or none */
    if (s == SEM_FAILED)
        die_errno("no semaphore sem.%s: its creator is not ready, or gone; sem_open", shm_name + 1);
    say("Attacher pid %ld: found %s by name, %zu bytes, and in it \"%s\"", (long)getpid(), shm_name + 1,
        length, b->greeting);
    snprintf(b->answer, sizeof b->answer, "hello back from pid %ld", (long)getpid());
    sem_post(s); /* the block goes back to its creator */
    say("Attacher: answered, posted sem.%s; closed it (munmap, sem_close), never unlinked: not ours", shm_name + 1);
    sem_close(s);
    munmap(b, length);
    return 0;
}

/* exec drops this program's memory and shm_open's descriptor (close-on-exec): the
 * attacher holds nothing of the block and must find it by name, as one run by hand. */
static pid_t start_attacher(void)
{
    pid_t pid = fork();
    if (pid < 0)
        FAIL("fork");
    if (pid == 0) {
        kit_child_begin("attacher");
        execl("/proc/self/exe", "shm_named", "attach", shm_name + 1, (char *)NULL); /* Linux: this program */
        die_errno("execl /proc/self/exe");
    }
    kit_child_started(pid, "attacher");
    return pid;
}

static int create(void)
{
    say("Creator pid %ld: SharedMemory(name=\"%s\", create=True, size=%ld)", (long)getpid(), shm_name + 1, size);
    if (by_hand)
        say("In another terminal, within %g s: ls /dev/shm; ./shm_named attach %s", wait_seconds, shm_name + 1);
    /* No say() until remove_names(): a failed write ends the run at once (as | head -1 does). */
    sem_t *s;
    struct block *b = create_block(&s);
    pid_t pid = by_hand ? 0 : start_attacher();
    int status = 0;
    struct timespec until = realtime_after(wait_seconds);
    kit_phase(by_hand ? "wait" : "waitpid"); /* for the attacher's sem_post, or its end */
    if (by_hand && sem_timedwait(s, &until) < 0) /* never EINTR: our signal handlers do not return */
        errno == ETIMEDOUT ? (remove_names(), die_msg("nobody attached to %s within %g s", shm_name + 1, wait_seconds))
                           : FAIL("sem_timedwait %s", shm_name + 1);
    if (!by_hand && waitpid(pid, &status, 0) < 0)
        FAIL("waitpid for the attacher");
    bool ok = WIFEXITED(status) && WEXITSTATUS(status) == 0 && (by_hand || sem_trywait(s) == 0);
    remove_names(); /* before kit_child_reaped: an attacher killed by a closed pipe ends us there */
    kit_mark("names unlinked");
    if (pid)
        kit_child_reaped(pid, status);
    sem_close(s);
    if (ok)
        say("Creator: unlinked %s and sem.%s, still mapped here: \"%s\"", shm_name + 1, shm_name + 1, b->answer);
    else
        warn_msg("the attacher did not answer: it ended with %s", status_text(status, (char[64]){""}, 64));
    munmap(b, (size_t)size); /* the last mapping: now the memory itself goes */
    say("Creator: closed and unlinked: ls /dev/shm shows neither name now");
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Create a named shared-memory block and semaphore; a second process finds them by name.",
        .flags = flags, .timeline = true, .args = "[attach NAME]",
    };
    int first = kit_start(argc, argv, &prog);
    if (argc - first == 2 && strcmp(argv[first], "attach") == 0)
        return ipc_check_name("attach NAME", argv[first + 1], shm_name, sizeof shm_name), attach();
    if (argc - first != 0)
        usage_error("%s: the only argument is \"attach NAME\"", argv[first]);
    if (given_name)
        ipc_check_name("--name", given_name, shm_name, sizeof shm_name);
    else
        ipc_unique_name("shm_named", shm_name, sizeof shm_name);
    kit_on_stop_signal(remove_names);
    return create();
}
