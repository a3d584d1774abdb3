#!/usr/bin/env bats
# Lesson 06: one CPU-bound job split among W workers, on all cores and on one.
# What is checked does not depend on luck: the shape of the table, that the
# parts always combine to the same result, that pinning really applied, and
# that workers pinned to one core never run more than one core's worth.
# That two cores give about 2x depends on the load: it is not checked here.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 06-cores-and-speedup/speedup)

# A table row: cores, workers, time, speedup, efficiency, busy cores.
ROW='^ *([0-9]+) +([0-9]+) +([0-9]+\.[0-9]+) +([0-9]+\.[0-9]+)x +([0-9]+)% +([0-9]+\.[0-9]+)$'

# Cores this test may use, as the program sees them (taskset may narrow it).
allowed_cores() {
    grep -c . < <(taskset -pc $$ 2>/dev/null | sed 's/.*: //' | tr ',' '\n' |
        awk -F- '{ for (i = $1; i <= ($2 == "" ? $1 : $2); i++) print i }')
}

# The table rows of $output, one per line.
table_rows() {
    local line
    for line in "${lines[@]}"; do
        [[ $line =~ $ROW ]] && printf '%s\n' "$line"
    done
    return 0
}

@test "the table: a row per run, 1-worker rows at 1.00x, efficiency = speedup / workers" {
    run_prog --work 20 --max-workers 3
    assert_success
    local cores runs=6
    cores=$(allowed_cores)
    assert_line --regexp "^speedup: 20 million items, split among 1 to 3 workers; this machine lets us use $cores cores? "
    if ((cores == 1)); then # the all-core half would repeat the pinned one
        runs=3
        assert_line --regexp '^only 1 core allowed: .* only the pinned runs follow$'
    fi
    assert_line "cores  workers  time (s)  speedup  efficiency  busy cores"
    local rows
    rows=$(table_rows)
    assert_equal "$(wc -l <<<"$rows")" "$runs"
    local i=0 line
    while read -r line; do
        [[ $line =~ $ROW ]]
        local c=${BASH_REMATCH[1]} w=${BASH_REMATCH[2]} s=${BASH_REMATCH[4]} e=${BASH_REMATCH[5]}
        local want_cores=$cores
        ((i >= 3 || runs == 3)) && want_cores=1
        assert_equal "$c" "$want_cores"
        assert_equal "$w" "$((i % 3 + 1))"
        ((w == 1)) && assert_equal "$s" "1.00"
        awk -v s="$s" -v w="$w" -v e="$e" 'BEGIN { d = 100 * s / w - e; exit !(d < 1.5 && d > -1.5) }' ||
            fail "efficiency $e% is not speedup $s / $w workers: $line"
        i=$((i + 1))
    done <<<"$rows"
    # The bar chart: one bar per run, with its speedup at the end.
    assert_equal "$(grep -cE '^ ?[0-9]+ cores? +[0-9]+ workers? +\|#* +[0-9]+\.[0-9]+x$' <<<"$output")" "$runs"
    assert_line --regexp '^verdict: one core: 2 to 3 workers were never busy on more than [0-9.]+ cores: '
    if ((cores > 1)); then
        assert_line --regexp "^verdict: $cores cores: at best [0-9.]+x with [0-9]+ workers, busy on up to [0-9.]+ cores"
    fi
}

@test "split, compute, combine: every split gives the same result" {
    run_prog --work 7 --max-workers 6 --cores all # 7 million: no even split for 3 or 6
    assert_success
    local results
    results=$(grep -oE 'result [0-9a-f]{16}' <<<"$output" | sort -u)
    assert_equal "$(grep -c "^run: " <<<"$output")" 6
    assert_equal "$(wc -l <<<"$results")" 1
    assert_line "every run combined to the same result: ${results#result }"
}

@test "pinned to one core: each worker is allowed 1 core and runs on the chosen one" {
    local cpu
    cpu=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | tr '-' '\n' | tail -n 1) # the last allowed core
    run_prog --work 20 --max-workers 3 --cores one --cpu "$cpu"
    assert_success
    assert_line --regexp "; pinned runs use core $cpu$"
    assert_equal "$(grep -c '^run: .*pinned to one core: ' <<<"$output")" 3
    refute_line --regexp '^run: .*each allowed ([02-9]|[0-9][0-9]+) cores'
    local line
    while read -r line; do
        [[ $line == *", each allowed 1 core, finished on core $cpu" ]] || fail "not pinned to $cpu: $line"
    done < <(grep '^run: ' <<<"$output")
}

@test "every core allowed: each worker is allowed all the cores" {
    local cores
    cores=$(allowed_cores)
    run_prog --work 10 --max-workers 2 --cores all
    assert_success
    refute_output --partial "pinned runs use core"
    assert_equal "$(grep -c "^run: .*all cores: .*, each allowed $cores cores\?, " <<<"$output")" 2
}

@test "pinned to one core, more workers gain nothing: never above one core's worth" {
    # Not luck: on one core, the workers' CPU time can never exceed the
    # wall time of the run (busy cores <= 1), and the job needs the same CPU
    # time however it is split. So the job's CPU time with 1 worker over the
    # time W workers took stays at or below about 1, even when another suite
    # loads the same core. (The wall-time speedup in the table does not:
    # a busy moment can slow the 1-worker run, and on a shared core more
    # workers get a bigger share of it.)
    run_prog --work 50 --max-workers 2 --cores one --repeat 3
    assert_success
    assert_equal "$(table_rows | wc -l)" 2
    local line
    while read -r line; do
        [[ $line =~ $ROW ]]
        local busy=${BASH_REMATCH[6]}
        awk -v b="$busy" 'BEGIN { exit !(b <= 1.05) }' || fail "busy cores $busy > 1 on one core: $line"
    done < <(table_rows)
    local job_cpu fastest
    job_cpu=$(grep -E '^run: 1 worker, ' <<<"$output" | grep -oE 'cpu [0-9.]+' | cut -d' ' -f2 | sort -g | head -n 1)
    fastest=$(grep -E '^run: 2 workers, ' <<<"$output" | grep -oE ': [0-9.]+ s,' | tr -dc '0-9.\n' | sort -g | head -n 1)
    awk -v c="$job_cpu" -v t="$fastest" 'BEGIN { exit !(c / t < 1.3) }' ||
        fail "2 workers on one core did the job's $job_cpu s of CPU work in $fastest s"
    assert_line --regexp '^verdict: one core: 2 workers were never busy on more than [01]\.[0-9]+ cores: no speedup'
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --work 10 --max-workers 3
    assert_success
    assert_no_duplicate_lines
    local runs=6
    (($(allowed_cores) > 1)) || runs=3 # one core: only the pinned half runs
    assert_equal "$(grep -c '^run: ' <<<"$output")" "$runs"
}

@test "a SIGCHLD ignored by whoever started it does not stop the join" {
    # With SIGCHLD ignored the kernel reaps the workers itself, and a parent
    # that kept that setting would find nothing to wait for.
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" --work 10 --max-workers 2
    assert_success
    assert_line --regexp '^every run combined to the same result: [0-9a-f]{16}$'
}

@test "--help prints usage on stdout and exits 0" {
    local flag f
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: speedup"
        for f in --work --max-workers --cores --cpu --repeat; do
            assert_output --partial "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--work|0" "--work|100001" "--work|abc" "--work|-3" "--work|1.5" "--work|" \
        "--max-workers|0" "--max-workers|65" "--repeat|0" "--repeat|21" "--cores|two" "--cores|" \
        "--cpu|-1" "--cpu|99999" "--cpu|1023"
    assert_bad_command_lines "--bogus" "--work" "extra"
}

@test "a worker killed by someone else: the program says so and exits 1" {
    start_bg --work 100000 --max-workers 2 --cores one
    wait_for_children 1
    kill -KILL "$(children_of "$BG_PID" | head -n 1)"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qE 'worker 0 \(pid [0-9]+\) was killed by signal 9' "$BG_OUT" ||
        fail "no message about the killed worker: $(show_output "$BG_OUT")"
}

@test "a worker killed while its sibling is stopped: noticed at once, the sibling stopped and reaped" {
    # The old way (read the pipe until every worker has ended) would wait for
    # ever here: the stopped sibling never ends by itself. The 1-worker run
    # takes about a second; then the 2-worker run starts.
    start_bg --work 1000 --max-workers 2 --cores one
    wait_for_children 2 30
    local -a pids
    mapfile -t pids < <(children_of "$BG_PID")
    local victim=${pids[0]} sibling=${pids[1]}
    stop_process "$sibling"
    kill -KILL "$victim"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qE "worker [01] \(pid $victim\) was killed by signal 9$" "$BG_OUT" ||
        fail "no message about the killed worker: $(show_output "$BG_OUT")"
    grep -q "pid $sibling" "$BG_OUT" && fail "the sibling it stopped itself is reported: $(show_output "$BG_OUT")"
    grep -q '^every run combined' "$BG_OUT" && fail "a last line after a failure"
    assert_gone "$sibling"
}

@test "Ctrl-C (SIGINT to the process group) while workers compute leaves nothing behind" {
    local orphans
    orphans=$(orphan_zombies)
    start_bg --work 100000 --max-workers 3 --cores all
    wait_for_children 1
    signal_bg_and_check INT group
    assert_equal "$(orphan_zombies)" "$orphans"
}

@test "SIGTERM to the parent alone, with a worker stopped (kill -STOP), leaves nothing behind" {
    # A stopped worker acts on SIGTERM only once continued: the program must
    # send SIGCONT too, or it would wait for that worker for ever.
    local orphans
    orphans=$(orphan_zombies)
    start_bg --work 100000 --max-workers 3 --cores one
    wait_for_children 1
    local worker
    for worker in $(children_of "$BG_PID"); do
        stop_process "$worker"
    done
    signal_bg_and_check TERM
    assert_equal "$(orphan_zombies)" "$orphans"
}

@test "a fork that fails (EAGAIN): a clear message, exit 1, every worker reaped" {
    # Run 1 forks its 1 worker; run 2 forks one, then the next fork fails.
    run_prog_injected FAIL_FORK_AFTER=2 -- --work 30 --max-workers 2 --cores one
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    refute_line --regexp '^every run combined'
    assert_forks_gone 2
}
