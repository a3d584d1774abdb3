/* named_ipc.h - helpers for lessons whose objects have names in /dev/shm
 * (shm_open, sem_open, mq_open): none of them is such a call itself.
 *
 *   ipc_unique_name("shm_named", name, sizeof name);    "/shm_named-4242-123456"
 *   ipc_check_name("--name", text, name, sizeof name);   exit 2 unless a good name
 * (kit_on_stop_signal in kit.h unlinks them on Ctrl-C and SIGTERM too.)
 */
#ifndef NAMED_IPC_H
#define NAMED_IPC_H

#include <stddef.h>
#include <time.h>

/* "/PREFIX-PID-MICROSECONDS" into BUF: unique to this run, as two runs
 * at once never share a pid. */
void ipc_unique_name(const char *prefix, char *buf, size_t size);

/* TEXT as a portable POSIX IPC name, with or without its leading "/"
 * (Python's SharedMemory names come without): 1 to 251 letters, digits,
 * '.', '_' or '-', not "." or "..". 251: a semaphore's file in /dev/shm is
 * "sem.NAME", and a file name has at most 255 bytes. Writes "/NAME" to
 * BUF; anything else is a usage_error naming WHAT (exit 2). */
void ipc_check_name(const char *what, const char *text, char *buf, size_t size);

/* An absolute CLOCK_REALTIME time SECONDS from now, the form that
 * sem_timedwait, mq_timedsend and mq_timedreceive want. */
struct timespec realtime_after(double seconds);

/* Run FN first when SIGINT or SIGTERM ends the program, then the kit's own
 * handling (stop and reap the registered children, die of the signal).
 * For what the program made that is not a child: a name in /dev/shm
 * nobody else would remove. FN runs in a signal handler: only
 * async-signal-safe calls. Call after kit_start(); a child that calls
 * kit_child_begin() goes back to the default action and does not run FN. */

#endif
