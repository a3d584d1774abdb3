/* measure.h - measuring the seed's claims: a table of claims, each with what
 * was measured and a verdict; and a reader for /proc/PID/smaps_rollup.
 *
 * Lessons 05 and 05b check the seed's "Process vs Thread" list and print
 * it as a Markdown table (it pastes into notes as it is), then a note
 * under the table for each row whose claim is too simple:
 *
 *   static struct claim table[] = {{"own memory (process)...", NULL}, ...};
 *   ok = claim_set(&table[0], child_ok, "TRUE", "parent kept %d", value) && ok;
 *   claims_print(table, 1);
 */
#ifndef MEASURE_H
#define MEASURE_H

#include <stdbool.h>
#include <sys/types.h>

struct claim {
    const char *claim; /* the seed's words */
    const char *note;  /* why the verdict is what it is, or NULL */
    char measured[96]; /* filled in by claim_set */
    char verdict[32];
};

/* Fill in ROW. HELD is a check that cannot depend on luck: when it is
 * false the verdict is FALSE whatever VERDICT says. Returns HELD. */
bool claim_set(struct claim *row, bool held, const char *verdict, const char *measured, ...)
    __attribute__((format(printf, 4, 5)));

/* The table under a heading line, then "(n) note" for each row that has
 * a note and a verdict other than FALSE. */
void claims_print(const struct claim *rows, int n);

/* A field of /proc/PID/smaps_rollup ("Private_Dirty", "Pss"), in kB: the
 * process's mappings added up (Linux 4.14 and later). -1 if it cannot be
 * read. PID 0 means this process. Read with open/read, not stdio, so the
 * reading does not allocate memory in the process it measures. */
long proc_smaps_field(pid_t pid, const char *field);

/* The memory that is PID's alone, in KiB: its written pages that no other
 * process maps (Private_Dirty) plus its page tables (VmPTE of
 * /proc/PID/status); what would be freed if it exited. -1 if /proc lacks
 * either. PID 0 means this process. */
long proc_private_kib(pid_t pid);

#endif
