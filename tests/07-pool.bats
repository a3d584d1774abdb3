#!/usr/bin/env bats
# Lesson 07: a pool of workers started once on one task pipe (Pool.map,
# imap_unordered); a worker that dies breaks the pool, which says so.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
PROG=$(lesson 07-pool/pool)

# Stop the process $1 that a test started beside the program, and wait
# (bounded) until it has ended (gone, or a zombie nobody reaps).
kill_stranger() {
    kill -KILL "$1" 2>/dev/null
    local waited=0
    while [[ -e /proc/$1 && $(proc_state "$1") != Z ]] && ((waited++ < 100)); do sleep 0.05; done
}

# square(0) .. square(N-1), one a line, in task order.
squares() {
    local t
    for ((t = 0; t < $1; t++)); do echo "square($t) = $((t * t))"; done
}

@test "[07.1] map: every result exact and in task order, whatever order the workers finish" {
    run_prog --workers 4 --tasks 40 --task-sleep 0.002
    assert_equal "${lines[0]}" "Pool of 4 workers, 40 tasks, chunksize 1, map"
    assert_equal "$(grep '^square(' <<<"$output")" "$(squares 40)"
}

@test "[07.1] map with chunks: chunks of 7 tasks, the last one short, still exact and in order" {
    run_prog --workers 3 --tasks 50 --chunksize 7 --task-sleep 0
    assert_equal "$(grep '^square(' <<<"$output")" "$(squares 50)"
}

@test "[07.1] --unordered: every result exactly once" {
    run_prog --workers 4 --tasks 30 --task-sleep 0.002 --unordered
    assert_line --index 0 "Pool of 4 workers, 30 tasks, chunksize 1, imap_unordered"
    assert_equal "$(grep '^square(' <<<"$output" | sort)" "$(squares 30 | sort)"
}

@test "a whole run: N workers for all the tasks, sentinels, every worker joined, exit 0" {
    run_prog --workers 3 --tasks 12 --task-sleep 0.01 --verbose
    assert_success
    assert_equal "$stderr" ""
    assert_equal "${lines[-1]}" "Pool closed: 3 sentinels sent, 3 workers joined"
    # Workers are started once: at most 3 distinct pids take all 12 tasks.
    (($(sed -n 's/^Worker-[0-9]* (pid \([0-9]*\)) takes tasks .*/\1/p' <<<"$output" | sort -u | wc -l) <= 3))
    assert_equal "$(grep -c ' takes tasks ' <<<"$output")" 12
}

@test "no items: the sentinels alone end every worker" {
    run_prog --workers 4 --tasks 0
    assert_success
    assert_output "Pool of 4 workers, 0 tasks, chunksize 1, map
Pool closed: 4 sentinels sent, 4 workers joined"
}

@test "a worker that crashes mid-task: the lost task is named, the pool stops at once, exit 1" {
    run_prog --workers 3 --tasks 20 --task-sleep 0.01 --crash-on 5
    assert_failure 1
    assert_regex "${stderr_lines[0]}" '^pool: broken pool: Worker-[0-9] \(pid [0-9]+\) ended \(exit code 1\) before its sentinel; task 5\.\.5 is lost$'
    assert_equal "${stderr_lines[1]}" "pool: stopping the pool: terminating and reaping the other 2 workers"
    refute_line --partial "Pool closed"
}

@test "a worker killed from outside mid-task: its task is named lost; nothing is left" {
    start_bg --workers 2 --tasks 4 --task-sleep 30 --verbose
    wait_for_line '^Worker-1 \(pid [0-9]+\) takes tasks '
    local line pid task
    line=$(grep '^Worker-1 ' "$BG_OUT")
    [[ $line =~ pid\ ([0-9]+)\)\ takes\ tasks\ ([0-9]+)\.\. ]] || fail "no takes line: $line"
    pid=${BASH_REMATCH[1]} task=${BASH_REMATCH[2]}
    local -a pids
    mapfile -t pids < <(children_of "$BG_PID")
    kill -KILL "$pid"
    wait_bg 10 # at once: the 30 s task of the other worker is not waited for
    assert_equal "$BG_STATUS" 1
    grep -q "broken pool: Worker-1 (pid $pid) ended (killed by signal 9 (Killed)) before its sentinel; task $task\.\.$task is lost" "$BG_OUT" ||
        fail "no report of the lost task: $(cat "$BG_OUT")"
    assert_gone "${pids[@]}"
}

@test "--naive: a crash leaves the pool waiting for ever (stopped here by a timeout)" {
    KIT_RUN_TIMEOUT=0.5 run_prog --naive --workers 3 --tasks 10 --task-sleep 0 --crash-on 4
    assert_equal "$status" 124 # the test's timeout ended it: it would still be waiting
    refute_line --partial "square(9)"
}

@test "--timeline: one row per process (the parent and the N workers, not one per task)" {
    run_prog --workers 3 --tasks 12 --task-sleep 0.01 --timeline
    assert_success
    local rows
    rows=$(grep -cE '^(parent|Worker-[0-9]+) +\|' <<<"$output")
    assert_equal "$rows" 4
}

@test "--trace writes valid JSON; --timeline=bogus exits 2" {
    local json="$BATS_TEST_TMPDIR/t.json"
    run_prog --workers 2 --tasks 4 --task-sleep 0 --trace "$json"
    assert_success
    assert_valid_json "$json"
    run_prog --timeline=bogus
    assert_failure 2
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--workers|0" "--workers|65" "--workers|x" "--tasks|-1" "--tasks|1000001" \
        "--chunksize|0" "--chunksize|501" "--task-sleep|-1" "--task-sleep|abc" "--crash-on|-1"
    run_prog --tasks 5 --crash-on 5
    assert_failure 2
    [[ $stderr == *--crash-on* ]] || fail "message does not name --crash-on: $stderr"
    assert_bad_command_lines "--bogus" "--workers" "extra"
}

@test "--help names every flag" {
    run_prog --help
    assert_success
    local opt
    for opt in --workers --tasks --task-sleep --chunksize --unordered --crash-on --naive --verbose; do
        assert_output --partial "$opt"
    done
}

@test "whole lines through a pipe; | head -1 ends quietly; >/dev/full fails with a message" {
    run_piped --workers 4 --tasks 200 --task-sleep 0 --unordered --verbose
    assert_success
    assert_no_duplicate_lines
    local line
    for line in "${lines[@]}"; do
        [[ $line =~ ^(Pool\ of|Worker-[0-9]+\ \(pid|square\([0-9]+\)\ =\ [0-9]+$|Pool\ closed) ]] || fail "torn line: $line"
    done
    run_prog_into_head --workers 2 --tasks 1000 --task-sleep 0
    assert_success
    assert_equal "$stderr" ""
    run_prog_to_full_disk --workers 2 --tasks 5 --task-sleep 0
    assert_failure
    [[ -n $stderr ]] || fail "no message for the write error"
}

@test "a child it did not start is not taken for a worker" {
    local stranger="$BATS_TEST_TMPDIR/stranger"
    # shellcheck disable=SC2016 # $0, $1 and $@ belong to the inner sh
    run --separate-stderr run_bounded sh -c 'sleep 5 & echo $! >"$1"; shift; exec "$0" "$@"' "$PROG" "$stranger" \
        --workers 2 --tasks 6 --task-sleep 0.02
    kill_stranger "$(cat "$stranger")"
    assert_success
    assert_equal "$(grep -c '^square(' <<<"$output")" 6
    assert_equal "${lines[-1]}" "Pool closed: 2 sentinels sent, 2 workers joined"
}

@test "SIGTERM to the parent alone while tasks run: it dies of it, no worker is left" {
    start_bg --workers 3 --tasks 6 --task-sleep 30
    wait_for_children 3
    signal_bg_and_check TERM
}

@test "Ctrl-C (SIGINT to the group) while tasks run: nothing is left" {
    start_bg --workers 3 --tasks 6 --task-sleep 30
    wait_for_children 3
    signal_bg_and_check INT group
}
