/* mpi_sum.c - lesson 04's job with MPI: every rank counts its share, MPI_Reduce adds them up on rank 0.
 *
 * Python (seed example 4)                      C with MPI, in this file
 *   for i in range(5): Process(...).start()      mpirun -np 5 ./mpi_sum: five copies of this program
 *   id, current_process().name                   MPI_Comm_rank(): 0 to 4; MPI_Comm_size(): 5
 *   worker(id, 100000000, q)                     share_of(): the seed's 5 x 100,000,000, split over the ranks
 *   for i in range(baseNum): sub_total += 1      count_to(): lesson 04's loop
 *   q.put(sub_total); total += q.get() ...       MPI_Reduce(..., MPI_SUM, 0, ...): the sum arrives on rank 0
 *   process.join()                               MPI_Reduce returns on rank 0 once every rank gave its part
 *   time.time() - start_time                     MPI_Wtime()
 *   (mpi4py, the Python twin)                    comm.reduce(sub_total, op=MPI.SUM, root=0)
 */
#define _POSIX_C_SOURCE 200809L

#include "kit.h"
#include <mpi.h>
#include <stdio.h>
#include <unistd.h>

static long total_work = 500000000, fail_rank = -1;

static const struct flag flags[] = {
    {"--total", FLAG_INT, &total_work, 0, 1e13, "all the counting, split over the ranks (the seed's 5 x 100000000)", NULL},
    {"--fail-rank", FLAG_INT, &fail_rank, -1, 1e6, "this rank fails (exit status 1) before it gives its part; -1: none", NULL},
    {0},
};

static long long share_of(int rank, int size);
static long long count_to(long long n);
static void say_result(int rank, long long sub_total);

int main(int argc, char **argv)
{
    static const struct program prog = {
        .purpose = "Every MPI rank counts its share; MPI_Reduce adds the shares up on rank 0 (run it with mpirun -np N).",
        .flags = flags,
    };
    /* Every rank gets the same command line: each one finds a bad flag and
     * exits 2 by itself, before MPI_Init, so no rank waits for another. */
    kit_start(argc, argv, &prog);
    MPI_Init(&argc, &argv); /* joins the job mpirun started: who else is in it, and how to reach them */
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank); /* which copy am I: 0 to size-1 */
    MPI_Comm_size(MPI_COMM_WORLD, &size); /* how many copies mpirun started */
    if (fail_rank >= size) {
        MPI_Finalize(); /* every rank sees the same numbers and stops here: a clean end, then exit 2 */
        usage_error("--fail-rank %ld: this run has ranks 0 to %d", fail_rank, size - 1);
    }
    if (rank == 0) {
        say("Parent process id: %ld", (long)getppid()); /* mpirun, or the shell when run alone */
        say("Ranks: %d, all the counting: %ld, split over them", size, total_work);
    }
    MPI_Barrier(MPI_COMM_WORLD); /* start the clock when every rank is ready: the seed times the counting */
    double start_time = MPI_Wtime();
    if (rank == fail_rank) /* at once, while the others count: mpirun must stop them */
        die_msg("rank %d fails on purpose (--fail-rank): it never gives its part", rank);
    long long sub_total = count_to(share_of(rank, size));
    say_result(rank, sub_total);
    long long total = 0;
    /* EXERCISE 11.1: add up every rank's sub_total into total on rank 0 with one MPI_Reduce
     * HINT: MPI_Reduce(send buffer, receive buffer, count, type, operation, root rank, communicator).
     * HINT: MPI_Reduce(&sub_total, &total, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD); */
    MPI_Reduce(&sub_total, &total, 1, MPI_LONG_LONG, MPI_SUM, 0, MPI_COMM_WORLD);
    /* STUB 11.1
    total = sub_total; // only this rank's part: where are the others?
     */
    /* END EXERCISE 11.1 */
    int status = 0;
    if (rank == 0) {
        say("--- %.6f seconds ---", MPI_Wtime() - start_time);
        say("Main-Processing Total Count=%lld", total);
        say("Main-Processing Done.");
        if (total != total_work) {
            warn_msg("the ranks' parts add up to %lld, expected %ld", total, total_work);
            status = 1;
        }
    }
    MPI_Finalize();
    return status;
}

/* Rank R of SIZE counts TOTAL/SIZE, and the first TOTAL%SIZE ranks one more:
 * the shares differ by at most 1 and add up to exactly TOTAL. */
static long long share_of(int rank, int size)
{
    /* EXERCISE 11.2: this rank's share of total_work: equal parts, and the remainder spread one each
     * HINT: total_work / size for everyone; total_work % size is left over.
     * HINT: return total_work / size + (rank < total_work % size ? 1 : 0); */
    return total_work / size + (rank < total_work % size ? 1 : 0);
    /* STUB 11.2
    (void)rank;
    return total_work / size; // and the remainder?
     */
    /* END EXERCISE 11.2 */
}

/* The seed's two lines, and the host the rank runs on. One say(), one
 * write(2): mpirun forwards them together, whatever the other ranks print. */
static void say_result(int rank, long long sub_total)
{
    char host[MPI_MAX_PROCESSOR_NAME];
    int length;
    MPI_Get_processor_name(host, &length);
    say("Process ID: %ld, Process name: %d, ID: %d, Host: %s\nResult: %lld", (long)getpid(), rank, rank, host,
        sub_total);
}

/* sub_total += 1, for real, as in lesson 04: the empty asm says "sum may
 * change here unseen", so -O2 cannot fold the loop. */
__attribute__((noinline, aligned(64))) static long long count_to(long long n)
{
    long long sum = 0;
    for (long long i = 0; i < n; i++) {
        sum += 1;
        __asm__ volatile("" : "+r"(sum));
    }
    return sum;
}
