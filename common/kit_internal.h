/* kit_internal.h - what the parts of common/ share among themselves.
 * Lessons include kit.h only. */
#ifndef KIT_INTERNAL_H
#define KIT_INTERNAL_H

#include <stdbool.h>
#include <stdnoreturn.h>
#include <sys/types.h>

extern const char *kit_program_name;

/* Die of SIG itself, so that the shell sees "killed by SIGINT" (status
 * 130) and not a normal exit. */
noreturn void kit_die_of_signal(int sig);

/* _exit(STATUS) without drawing the timeline (async-signal-safe). */
noreturn void kit_exit_now(int status);

/* children.c: take over SIGINT, SIGTERM, SIGPIPE and SIGCHLD for this process. */
void kit_registry_init(void);

/* timeline.c */
void kit_timeline_open(const char *trace_file, bool show, bool color);
void kit_timeline_fork(pid_t child, const char *name, double fork_time);
void kit_timeline_child_begin(const char *name, double fork_time);
void kit_timeline_exit(void);
void kit_timeline_reap(pid_t child, int status);
/* An early end: remove the unfinished trace file (async-signal-safe). */
void kit_timeline_abandon(void);

#endif
