/* timeline.c - record what every process does; draw it after the run.
 *
 * Recording: every process appends fixed-size records to one unlinked
 * temporary file opened with O_APPEND before the first fork. Each record
 * goes out in one write(2) of 64 bytes, and O_APPEND makes the kernel put
 * each at the end of the file whole: no lock among the workers, and what a
 * child wrote before it was killed stays written.
 *
 * Drawing: at the parent's exit (atexit) the records are read back, sorted
 * by time, and drawn one row per process, or written as Chrome trace JSON
 * (to a temporary name, then renamed: a reader never sees half a file).
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include "kit_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

enum kind { EV_BEGIN, EV_PHASE, EV_MARK, EV_FORK, EV_EXIT, EV_REAP };

struct event {
    double t;      /* now_seconds() */
    int32_t pid;   /* who recorded it */
    int32_t kind;  /* enum kind */
    int32_t other; /* EV_FORK, EV_REAP: the child; EV_REAP: its wait status in `what` */
    char what[44]; /* a phase or mark name, a child's name */
};
_Static_assert(sizeof(struct event) == 64, "one record, one small write");

enum { MAX_EVENTS_PER_PROCESS = 20000, MAX_ROWS = 512 };

static int event_fd = -1;
static int events_written; /* by this process: a runaway loop cannot fill the disk */
static pid_t parent_pid;
static bool show_ascii, use_color;
static char trace_path[4096], trace_tmp[4096];

bool kit_timeline_on(void)
{
    return event_fd >= 0;
}

static void record_at(double t, enum kind kind, pid_t other, const char *what)
{
    if (event_fd < 0 || events_written >= MAX_EVENTS_PER_PROCESS)
        return;
    struct event ev;
    memset(&ev, 0, sizeof ev);
    ev.t = t;
    ev.pid = (int32_t)getpid();
    ev.kind = kind;
    ev.other = (int32_t)other;
    snprintf(ev.what, sizeof ev.what, "%s", what ? what : "");
    int saved = errno;
    if (write(event_fd, &ev, sizeof ev) == (ssize_t)sizeof ev)
        events_written++;
    errno = saved;
}

static void record(enum kind kind, pid_t other, const char *what)
{
    if (event_fd >= 0)
        record_at(now_seconds(), kind, other, what);
}

void kit_phase(const char *what) { record(EV_PHASE, 0, what); }
void kit_mark(const char *what) { record(EV_MARK, 0, what); }

void kit_timeline_fork(pid_t child, const char *name, double fork_time)
{
    if (event_fd >= 0)
        record_at(fork_time > 0 ? fork_time : now_seconds(), EV_FORK, child, name);
}

void kit_timeline_child_begin(const char *name, double fork_time)
{
    events_written = 0;
    (void)fork_time;
    record(EV_BEGIN, 0, name);
}

void kit_timeline_exit(void) { record(EV_EXIT, 0, ""); }

void kit_timeline_reap(pid_t child, int status)
{
    char text[16];
    snprintf(text, sizeof text, "%d", status);
    record(EV_REAP, child, text);
}

/* ---- After the run ---------------------------------------------------------- */

struct row {
    pid_t pid;
    char name[44];
    double fork, begin, exit, reap; /* < 0: not seen */
    int status;
};

struct run {
    struct event *ev;
    size_t n;
    struct row rows[MAX_ROWS];
    int nrows;
    double t0, t1;
};

static int by_time(const void *a, const void *b)
{
    const struct event *x = a, *y = b;
    return (x->t > y->t) - (x->t < y->t);
}

static struct row *row_of(struct run *r, pid_t pid)
{
    for (int k = 0; k < r->nrows; k++)
        if (r->rows[k].pid == pid)
            return &r->rows[k];
    if (r->nrows == MAX_ROWS)
        return NULL;
    struct row *row = &r->rows[r->nrows++];
    memset(row, 0, sizeof *row);
    row->pid = pid;
    row->fork = row->begin = row->exit = row->reap = -1;
    return row;
}

/* Read every record back and find each process's fork, begin, exit, reap. */
static bool load(struct run *r)
{
    struct stat st;
    if (fstat(event_fd, &st) != 0 || st.st_size <= 0)
        return false;
    r->n = (size_t)st.st_size / sizeof(struct event);
    r->ev = malloc(r->n * sizeof(struct event));
    if (!r->ev || pread(event_fd, r->ev, r->n * sizeof(struct event), 0) < 0)
        return false;
    qsort(r->ev, r->n, sizeof *r->ev, by_time);
    r->nrows = 0;
    struct row *parent = row_of(r, parent_pid);
    snprintf(parent->name, sizeof parent->name, "%s", "parent");
    r->t0 = r->ev[0].t;
    r->t1 = r->ev[r->n - 1].t;
    for (size_t k = 0; k < r->n; k++) {
        const struct event *e = &r->ev[k];
        struct row *row = NULL;
        if (e->kind == EV_FORK && (row = row_of(r, e->other))) {
            row->fork = e->t;
            snprintf(row->name, sizeof row->name, "%s", e->what);
        } else if (e->kind == EV_REAP && (row = row_of(r, e->other))) {
            row->reap = e->t;
            row->status = atoi(e->what);
        } else if (e->kind == EV_BEGIN && (row = row_of(r, e->pid))) {
            row->begin = e->t;
            if (!row->name[0])
                snprintf(row->name, sizeof row->name, "%s", e->what);
        } else if (e->kind == EV_EXIT && (row = row_of(r, e->pid))) {
            row->exit = e->t;
        }
    }
    return true;
}

/* The phase PID was in at time T, from its phase records ("run" at first). */
static const char *phase_at(const struct run *r, pid_t pid, double t)
{
    const char *phase = "run";
    for (size_t k = 0; k < r->n && r->ev[k].t <= t; k++)
        if (r->ev[k].pid == pid && r->ev[k].kind == EV_PHASE)
            phase = r->ev[k].what;
        else if (r->ev[k].kind == EV_REAP && pid == parent_pid)
            phase = "run"; /* a reap ends the parent's waitpid */
    return phase;
}

static const struct {
    const char *phase;
    char letter;
    const char *color;
    const char *meaning;
} legend[] = {
    {"run", '#', "32", "running (or waiting for a core)"},
    {"sleep", 's', "34", "sleeping"},
    {"waitpid", 'w', "33", "blocked in waitpid"},
    {"write", '>', "35", "blocked in write"},
    {"read", '<', "36", "blocked in read"},
    {"lock", 'L', "31", "waiting for a lock"},
    {"wait", '.', "37", "waiting"},
    {"zombie", 'Z', "41", "zombie: exited, not yet reaped"},
    {"reaped", '|', "1", "reaped by the parent"},
};
enum { LEGEND_ENTRIES = sizeof legend / sizeof legend[0] };

static char letter_of(const char *phase)
{
    for (int k = 0; k < LEGEND_ENTRIES; k++)
        if (strcmp(legend[k].phase, phase) == 0)
            return legend[k].letter;
    return phase[0] ? phase[0] : '?';
}

/* The letter of ROW at time T: ' ' outside its life. */
static char cell(const struct run *r, const struct row *row, double t)
{
    bool is_parent = row->pid == parent_pid;
    double start = row->fork >= 0 ? row->fork : row->begin;
    if (!is_parent && (start < 0 || t < start))
        return ' ';
    if (!is_parent && row->reap >= 0 && t > row->reap)
        return ' ';
    double died = row->exit >= 0 ? row->exit : -1;
    if (!is_parent && died >= 0 && t >= died)
        return 'Z';
    return letter_of(phase_at(r, row->pid, t));
}

static int terminal_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col >= 40)
        return ws.ws_col > 400 ? 400 : ws.ws_col;
    return 80;
}

static void draw(struct run *r)
{
    int width = terminal_width();
    int label = 8;
    for (int k = 0; k < r->nrows; k++) {
        int len = (int)strlen(r->rows[k].name);
        label = len > label ? len : label;
    }
    label = label > 16 ? 16 : label;
    int cells = width - label - 3;
    /* One column more than the events need: the last reap stays clear of the frame. */
    double span = (r->t1 > r->t0 ? r->t1 - r->t0 : 1e-6) * cells / (cells - 1.5);
    bool used[LEGEND_ENTRIES] = {false};
    char line[512], colored[4096];

    say("timeline: %d processes over %.3f s, one column = %.3f s", r->nrows, span, span / cells);
    for (int k = 0; k < r->nrows; k++) {
        const struct row *row = &r->rows[k];
        int reap_cell = row->reap >= 0 ? (int)((row->reap - r->t0) / span * cells) : -1;
        size_t used_c = 0;
        for (int c = 0; c < cells; c++) {
            double t = r->t0 + (c + 0.5) * span / cells;
            char ch = c == reap_cell && row->pid != parent_pid ? '|' : cell(r, row, t);
            line[c] = ch;
            for (int e = 0; e < LEGEND_ENTRIES; e++)
                used[e] = used[e] || legend[e].letter == ch;
            const char *col = NULL;
            for (int e = 0; use_color && e < LEGEND_ENTRIES; e++)
                if (legend[e].letter == ch)
                    col = legend[e].color;
            used_c += (size_t)snprintf(colored + used_c, sizeof colored - used_c,
                                       col ? "\033[%sm%c\033[0m" : "%.0s%c", col ? col : "", ch);
        }
        line[cells] = '\0';
        say("%-*.*s |%s|", label, label, row->name, use_color ? colored : line);
    }
    /* The time axis: a tick every 10 columns, its time below it. */
    char axis[512], marks[512];
    memset(axis, '-', (size_t)cells);
    memset(marks, ' ', (size_t)cells);
    for (int c = 0; c < cells; c += 10) {
        axis[c] = '+';
        char t[16];
        int len = snprintf(t, sizeof t, "%.2fs", c * span / cells);
        if (c + len <= cells - 8)
            memcpy(marks + c, t, (size_t)len);
    }
    char end[16];
    int end_len = snprintf(end, sizeof end, "%.2fs", span);
    axis[cells - 1] = '+';
    memcpy(marks + cells - end_len, end, (size_t)end_len);
    axis[cells] = marks[cells] = '\0';
    say("%-*s  %s", label, "", axis);
    say("%-*s  %s", label, "", marks);
    /* The legend: only the letters drawn, wrapped to the width. */
    char legend_line[512] = "legend:";
    size_t at = strlen(legend_line);
    for (int e = 0; e < LEGEND_ENTRIES; e++) {
        if (!used[e])
            continue;
        char item[80];
        int len = snprintf(item, sizeof item, "  %c %s", legend[e].letter, legend[e].meaning);
        if (at + (size_t)len > (size_t)width) {
            say("%s", legend_line);
            at = (size_t)snprintf(legend_line, sizeof legend_line, "       ");
        }
        at += (size_t)snprintf(legend_line + at, sizeof legend_line - at, "%s", item);
    }
    say("%s", legend_line);
}

/* ---- Chrome trace JSON ------------------------------------------------------ */

static void json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < ' ')
            fprintf(f, "\\u%04x", (unsigned char)*s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

static double us(const struct run *r, double t)
{
    return (t - r->t0) * 1e6;
}

static void json_event(FILE *f, bool *first, const char *ph, const char *name, pid_t pid,
                       double ts, double dur)
{
    fprintf(f, "%s\n{\"ph\":\"%s\",\"name\":", *first ? "" : ",", ph);
    json_string(f, name);
    fprintf(f, ",\"pid\":%d,\"tid\":%d,\"ts\":%.3f", (int)pid, (int)pid, ts);
    if (dur >= 0)
        fprintf(f, ",\"dur\":%.3f", dur);
    if (ph[0] == 'i')
        fprintf(f, ",\"s\":\"p\"");
    fputc('}', f);
    *first = false;
}

/* One process's phases as complete (X) events, then its zombie time. */
static void json_phases(FILE *f, bool *first, const struct run *r, const struct row *row)
{
    double start = row->pid == parent_pid ? r->t0 : row->begin >= 0 ? row->begin : row->fork;
    double end = row->exit >= 0 ? row->exit : row->reap >= 0 ? row->reap : r->t1;
    const char *phase = "run";
    double since = start;
    for (size_t k = 0; k < r->n; k++) {
        const struct event *e = &r->ev[k];
        bool ends_wait = row->pid == parent_pid && e->kind == EV_REAP;
        if ((e->pid != row->pid || e->kind != EV_PHASE) && !ends_wait)
            continue;
        if (e->t > since && e->t <= end)
            json_event(f, first, "X", phase, row->pid, us(r, since), us(r, e->t) - us(r, since));
        phase = ends_wait ? "run" : e->what;
        since = e->t > since ? e->t : since;
    }
    if (end > since)
        json_event(f, first, "X", phase, row->pid, us(r, since), us(r, end) - us(r, since));
    if (row->exit >= 0 && row->reap >= row->exit)
        json_event(f, first, "X", "zombie", row->pid, us(r, row->exit), us(r, row->reap) - us(r, row->exit));
}

static bool write_trace(const struct run *r)
{
    FILE *f = fopen(trace_tmp, "w");
    if (!f)
        return false;
    bool first = true;
    fputs("{\"displayTimeUnit\":\"ms\",\"traceEvents\":[", f);
    for (int k = 0; k < r->nrows; k++) {
        const struct row *row = &r->rows[k];
        char name[80];
        snprintf(name, sizeof name, "%s (pid %d)", row->name, (int)row->pid);
        fprintf(f, "%s\n{\"ph\":\"M\",\"name\":\"process_name\",\"pid\":%d,\"tid\":%d,\"args\":{\"name\":",
                first ? "" : ",", (int)row->pid, (int)row->pid);
        json_string(f, name);
        fprintf(f, "}},\n{\"ph\":\"M\",\"name\":\"process_sort_index\",\"pid\":%d,\"tid\":%d,"
                   "\"args\":{\"sort_index\":%d}}", (int)row->pid, (int)row->pid, k);
        first = false;
        json_phases(f, &first, r, row);
    }
    for (size_t k = 0; k < r->n; k++) {
        const struct event *e = &r->ev[k];
        char name[80];
        if (e->kind == EV_FORK) {
            snprintf(name, sizeof name, "fork %s", e->what);
            json_event(f, &first, "i", name, e->pid, us(r, e->t), -1);
            json_event(f, &first, "i", "fork", e->other, us(r, e->t), -1);
        } else if (e->kind == EV_REAP) {
            snprintf(name, sizeof name, "reap %d", (int)e->other);
            json_event(f, &first, "i", name, e->pid, us(r, e->t), -1);
            json_event(f, &first, "i", "reap", e->other, us(r, e->t), -1);
        } else if (e->kind == EV_EXIT) {
            json_event(f, &first, "i", "exit", e->pid, us(r, e->t), -1);
        } else if (e->kind == EV_BEGIN) {
            json_event(f, &first, "i", "start", e->pid, us(r, e->t), -1);
        } else if (e->kind == EV_MARK) {
            json_event(f, &first, "i", e->what, e->pid, us(r, e->t), -1);
        }
    }
    fputs("\n]}\n", f);
    bool ok = fflush(f) == 0 && !ferror(f);
    ok = fclose(f) == 0 && ok;
    return ok && rename(trace_tmp, trace_path) == 0;
}

void kit_timeline_abandon(void)
{
    if (getpid() == parent_pid && trace_tmp[0])
        unlink(trace_tmp);
}

static void finish(void)
{
    if (getpid() != parent_pid || event_fd < 0)
        return;
    struct run *r = calloc(1, sizeof *r);
    if (r && load(r)) {
        if (trace_path[0] && !write_trace(r))
            warn_msg("--trace: cannot write %s: %s", trace_path, strerror(errno));
        if (show_ascii)
            draw(r);
    }
    if (trace_tmp[0])
        unlink(trace_tmp); /* after a rename there is nothing left to remove */
    if (r)
        free(r->ev);
    free(r);
    close(event_fd);
    event_fd = -1;
}

void kit_timeline_open(const char *trace_file, bool show, bool color)
{
    parent_pid = getpid();
    show_ascii = show;
    use_color = color;
    if (trace_file) {
        if (snprintf(trace_path, sizeof trace_path, "%s", trace_file) >= (int)sizeof trace_path ||
            snprintf(trace_tmp, sizeof trace_tmp, "%s.tmp%ld", trace_file, (long)getpid()) >=
                (int)sizeof trace_tmp)
            usage_error("--trace: the file name is too long");
        /* Fail now, before anything starts, if the file cannot be made. */
        int fd = open(trace_tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd < 0)
            usage_error("--trace: cannot create %s: %s", trace_file, strerror(errno));
        close(fd);
    }
    const char *dir = getenv("TMPDIR");
    char path[4096];
    snprintf(path, sizeof path, "%s/kit-timeline-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    if (fd < 0) {
        snprintf(path, sizeof path, "/tmp/kit-timeline-XXXXXX");
        fd = mkstemp(path);
    }
    if (fd < 0)
        die_errno("timeline: cannot create a temporary file");
    unlink(path); /* it lives only as long as we hold it open */
    fcntl(fd, F_SETFD, FD_CLOEXEC);
    fcntl(fd, F_SETFL, O_APPEND);
    event_fd = fd;
    record(EV_BEGIN, 0, "parent");
    atexit(finish);
}
