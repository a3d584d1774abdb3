#!/usr/bin/env bash
# bench.sh - lesson 04's benchmark (`make bench`). Not a test: it prints
# timings of this machine, in one run, and sums them up at the end.
#
#   (a) speedup: the same total work split over 1, 2, ... 2 x cores workers
#   (b) C against Python: the seed's workload (5 workers x 100,000,000) in
#       queue_sum and in seed_example.py
#   (c) fixed cost: a run with no work (--count 0): processes and queue alone
#
# Every time is the one the program prints itself (`--- S seconds ---`: from
# before the queue is made to after the last join), the median of a few runs.
#
# Settings (environment):
#   BENCH_TOTAL=4000000000  adds in (a), split over the workers
#   BENCH_REPEATS=5         runs per median in (a) and for C in (b)
#   BENCH_PY_COUNT=100000000  the Python version's count per worker in (b);
#                           below the seed's, its time is scaled up linearly
#                           (and the output says so)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")"

total=${BENCH_TOTAL:-4000000000}
repeats=${BENCH_REPEATS:-5}
py_count=${BENCH_PY_COUNT:-100000000}
seed_workers=5 seed_count=100000000
cores=$(getconf _NPROCESSORS_ONLN)

[[ -x ./queue_sum ]] || { echo "bench.sh: ./queue_sum is not built: run make first" >&2; exit 1; }

# The seconds one run prints: `--- S seconds ---`.
seconds_of() {
    local out
    out=$("$@") || { echo "bench.sh: failed: $*" >&2; exit 1; }
    sed -n 's/^--- \([0-9.]*\) seconds ---$/\1/p' <<<"$out"
}

# Median of the numbers on stdin, one a line.
median() {
    sort -g | awk '{ t[NR] = $1 } END { print (NR % 2) ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2 }'
}

# Median of N runs of a command.
median_of() {
    local n=$1 i
    shift
    for ((i = 0; i < n; i++)); do
        seconds_of "$@"
    done | median
}

# CPU time, in clock ticks, used by the whole machine (busy, not idle) and
# by the processes this script has run and waited for (fields 16 and 17 of
# /proc/PID/stat). The difference is what other work took meanwhile.
machine_busy() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat; }
our_ticks() { awk '{ sub(/.*\) /, ""); print $14 + $15 }' "/proc/$$/stat"; }

# Cores kept busy by other processes, on average, since mark_start.
mark_start() { busy0=$(machine_busy) ours0=$(our_ticks) wall0=$(date +%s.%N); }
others_busy() {
    awk -v b=$(($(machine_busy) - busy0)) -v o=$(($(our_ticks) - ours0)) -v hz="$(getconf CLK_TCK)" \
        -v w0="$wall0" -v w1="$(date +%s.%N)" 'BEGIN { x = (b - o) / hz / (w1 - w0); printf "%.2f", x < 0 ? 0 : x }'
}

calc() { awk "BEGIN { printf \"$1\", $2 }"; }

echo "queue_sum benchmark, $(date '+%Y-%m-%d %H:%M:%S')"
echo "machine: $cores cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), $(uname -sr)"
echo "load average at the start: $(cut -d' ' -f1-3 /proc/loadavg) (other work on the machine slows the runs down)"
echo

# ---- (a) ----------------------------------------------------------------
echo "(a) speedup: $total adds in all, split over the workers (median of $repeats runs;"
echo "    the runs go round all worker counts in turn, so a burst of other work hits all alike)"
declare -A times=()
mark_start
for ((r = 0; r < repeats; r++)); do
    for ((w = 1; w <= 2 * cores; w++)); do
        times[$w]+="$(seconds_of ./queue_sum --workers "$w" --count $((total / w))) "
    done
done
others=$(others_busy)
printf '%8s %14s %10s %8s %11s\n' workers "count each" seconds speedup efficiency
t1=
for ((w = 1; w <= 2 * cores; w++)); do
    t=$(tr ' ' '\n' <<<"${times[$w]}" | grep . | median)
    [[ -n $t1 ]] || t1=$t
    speedup=$(calc %.2f "$t1 / $t")
    printf '%8d %14d %10.3f %8.2f %10.0f%%\n' "$w" $((total / w)) "$t" "$speedup" "$(calc %.1f "100 * $t1 / $t / $w")"
    ((w == 2)) && speedup2=$speedup
done
echo "Other processes kept $others of the $cores cores busy, on average, during (a)."
echo "No speedup can pass $cores, the number of cores; other work on them lowers it further."
echo

# ---- (b) ----------------------------------------------------------------
echo "(b) the seed's workload, $seed_workers workers x $seed_count, C against Python"
mark_start
c_time=$(median_of "$repeats" ./queue_sum --workers "$seed_workers" --count "$seed_count")
printf '  C       ./queue_sum                         %9.3f s (median of %d runs)\n' "$c_time" "$repeats"
if command -v python3 >/dev/null; then
    py_raw=$(seconds_of python3 seed_example.py --workers "$seed_workers" --count "$py_count")
    if ((py_count == seed_count)); then
        py_time=$py_raw
        printf '  Python  python3 seed_example.py             %9.3f s (one run, the full workload)\n' "$py_time"
    else
        py_time=$(calc %.3f "$py_raw * $seed_count / $py_count")
        printf '  Python  python3 seed_example.py --count %d: %.3f s,\n' "$py_count" "$py_raw"
        printf '          SCALED linearly to the seed'"'"'s count: %9.3f s (an estimate, not a measurement)\n' "$py_time"
    fi
    ratio=$(calc %.0f "$py_time / $c_time")
    echo "  C is ${ratio}x faster than Python on this workload."
    echo "  Other processes kept $(others_busy) of the $cores cores busy, on average, during (b)."
else
    echo "  python3 not found: Python side skipped"
    ratio=
fi
echo

# ---- (c) ----------------------------------------------------------------
echo "(c) fixed cost of a run with no work (--count 0), median of 21 runs"
for args in "--workers 1" "--workers $seed_workers" "--workers $seed_workers --order drain-then-join"; do
    # shellcheck disable=SC2086 # split the arguments
    t=$(median_of 21 ./queue_sum $args --count 0)
    printf '  ./queue_sum %-46s %8.2f ms\n' "$args --count 0" "$(calc %.3f "$t * 1000")"
done
# The same through a POSIX message queue (lesson 04b), when it is built.
mq=../04b-message-queue/mqueue_sum
if [[ -x $mq ]]; then
    t=$(median_of 21 "$mq" --workers "$seed_workers" --count 0)
    printf '  %-58s %8.2f ms\n' "$mq --workers $seed_workers --count 0" "$(calc %.3f "$t * 1000")"
fi
if command -v python3 >/dev/null; then
    t=$(median_of 3 python3 seed_example.py --workers "$seed_workers" --count 0)
    printf '  python3 seed_example.py %-34s %8.2f ms (median of 3)\n' "--workers $seed_workers --count 0" "$(calc %.3f "$t * 1000")"
fi
echo

# ---- in short -----------------------------------------------------------
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "in short:"
if ((cores >= 2)); then
    echo "  speedup from 1 to 2 workers: $speedup2 (2 at best; other processes kept $others cores busy meanwhile)"
else
    echo "  speedup from 1 to 2 workers: none possible, this machine has one core"
fi
[[ -z $ratio ]] || echo "  C against Python on the seed's workload: ${ratio}x faster"

