#!/usr/bin/env bash
# bench.sh - mpi_sum beside lesson 04's queue_sum on the same work (`make bench`).
# Not a test: it prints this machine's timings, from one run.
#
# Rounds alternate the two programs (queue_sum, then mpirun mpi_sum), so
# that a busy moment of the machine falls on both alike; medians at the end.
# Two figures for each:
#   counting  the program's own `--- S seconds ---` line
#   command   the whole command, wall clock: for mpi_sum, mpirun's launch of
#             the ranks and their MPI_Init and MPI_Finalize too
# and the same with no work at all (the fixed cost of starting).
#
# Settings (environment): BENCH_WORKERS=5 BENCH_COUNT=100000000 (the seed's)
# BENCH_ROUNDS=5
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

workers=${BENCH_WORKERS:-5} count=${BENCH_COUNT:-100000000} rounds=${BENCH_ROUNDS:-5}
queue_sum=../04-queue-reduction/queue_sum
[[ -x $queue_sum && -x ./mpi_sum ]] || { echo "bench.sh: build first: make bench" >&2; exit 1; }
mpirun=(mpirun --oversubscribe -np "$workers")
# Open MPI refuses root unless told twice (a student never runs as root).
[[ $(id -u) == 0 ]] && mpirun+=(--allow-run-as-root)

# One timed run: prints "<counting seconds> <command seconds>".
timed() {
    local start end out
    start=$(date +%s.%N)
    out=$(timeout -k 2 120 "$@") || { echo "bench.sh: failed: $*" >&2; exit 1; }
    end=$(date +%s.%N)
    printf '%s %s\n' "$(sed -n 's/^--- \([0-9.]*\) seconds ---$/\1/p' <<<"$out")" "$(echo "$end - $start" | bc | xargs printf "%.6f")"
}
median() {
    sort -g | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

echo "$workers workers x $count, $rounds interleaved rounds, $(getconf _NPROCESSORS_ONLN) cores, $(mpirun --version | head -1)"
: >/tmp/bench11.$$
trap 'rm -f /tmp/bench11.$$' EXIT
for round in $(seq "$rounds"); do
    for work in "$count" 0; do
        read -r c w < <(timed "$queue_sum" --workers "$workers" --count "$work")
        echo "queue $work $c $w" >>/tmp/bench11.$$
        read -r c w < <(timed "${mpirun[@]}" ./mpi_sum --total $((workers * work)))
        echo "mpi $work $c $w" >>/tmp/bench11.$$
    done
    echo "round $round done"
done
printf '\n%-34s %12s %12s\n' "median of $rounds (seconds)" counting command
for work in "$count" 0; do
    for prog in queue mpi; do
        label="queue_sum --workers $workers"
        [[ $prog == mpi ]] && label="mpirun -np $workers mpi_sum"
        [[ $work == 0 ]] && label="$label, no work"
        printf '%-34s %12s %12s\n' "$label" \
            "$(awk -v p=$prog -v w="$work" '$1 == p && $2 == w { print $3 }' /tmp/bench11.$$ | median)" \
            "$(awk -v p=$prog -v w="$work" '$1 == p && $2 == w { print $4 }' /tmp/bench11.$$ | median)"
    done
done
