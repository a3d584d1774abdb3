#!/usr/bin/env bats
# Lesson 04c: join before drain with a result bigger than the pipe: the
# deadlock, caught by a watchdog, explained, cleaned up; --fix works.

# shellcheck disable=SC2154 # stderr and stderr_lines are set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 04c-queue-deadlock/queue_deadlock)

# How many bytes a pipe holds here, as the program says ("Pipe: holds N bytes").
pipe_capacity() {
    run_prog --bytes 1 --fix
    sed -n 's/^Pipe: holds \([0-9]*\) bytes.*/\1/p' <<<"$output"
}

@test "[04c.1] a result bigger than the pipe, join before drain: caught, explained, cleaned up" {
    local start end
    start=$(date +%s%N)
    KIT_RUN_TIMEOUT=15 run_prog --watchdog 0.5
    end=$(date +%s%N)
    assert_equal "$status" 3 # not 124: the watchdog, not the test's timeout, ended it
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" 'deadlock: .*blocked writing to a full pipe.*waits in waitpid.*drain before join \(--fix\)'
    assert_line --regexp '^Pipe: holds [0-9]+ bytes; the worker.s result is 1000000 bytes \(it does not fit\)$'
    refute_line --partial "got"
    # It waited the whole watchdog time before it gave up (a lower bound only).
    (((end - start) / 1000000 >= 500)) || fail "gave up after $(((end - start) / 1000000)) ms, before the 0.5 s watchdog"
    assert_nothing_left
}

@test "[04c.1] the deadlock is caught on every run (10 runs, a short watchdog)" {
    local i
    for i in {1..10}; do
        KIT_RUN_TIMEOUT=10 run_prog --bytes 200000 --watchdog 0.05
        assert_equal "$status" 3
        assert_regex "$stderr" 'deadlock: '
    done
}

@test "--fix (drain, then join): the same result gets through, whole" {
    run_prog --fix --watchdog 0.5
    assert_success
    assert_line "Order: drain, then join (--fix)"
    assert_line --regexp '^Worker \(pid [0-9]+\): put 1000000 bytes on the queue$'
    assert_line "Main-Processing: got 1000000 bytes"
    assert_equal "${lines[-1]}" "Main-Processing Done."
    refute_line --partial "'exit'"
    assert_equal "$stderr" ""
}

@test "a result that fits: the seed's order works, and the join never waits for the watchdog" {
    local i start end
    start=$(date +%s%N)
    for i in {1..10}; do
        run_prog --bytes 1000 --watchdog 60
        assert_success
        assert_line "Main-Processing: put 'exit' on the queue"
        assert_line "Main-Processing: got 1000 bytes"
    done
    end=$(date +%s%N)
    (((end - start) / 1000000 < 30000)) || fail "10 runs took $(((end - start) / 1000000)) ms"
}

@test "a result that exactly fills the pipe: every byte gets in, the sentinel does not: caught" {
    local capacity
    capacity=$(pipe_capacity)
    [[ $capacity =~ ^[0-9]+$ ]] || fail "no pipe size in the output"
    run_prog --bytes "$capacity" --watchdog 0.5
    assert_equal "$status" 3
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "deadlock: .*sentinel.*drain before join"
    run_prog --bytes "$capacity" --fix
    assert_success
    assert_line "Main-Processing: got $capacity bytes"
}

@test "--timeline shows the two blocked rows: the worker in write, the parent in waitpid" {
    run_prog --watchdog 0.3 --timeline
    assert_equal "$status" 3
    assert_line --regexp '^timeline: 2 processes '
    assert_line --regexp '^parent +\|.*w{20,}.*\|$'
    assert_line --regexp '^worker +\|.*>{20,}.*\|$'
    assert_line --regexp '^legend: '
    assert_output --partial 'w blocked in waitpid'
    assert_output --partial '> blocked in write'
}

@test "--trace gives valid JSON with the blocked phases; --timeline=bogus exits 2" {
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --watchdog 0.2 --trace "$trace"
    assert_equal "$status" 3
    if command -v python3 >/dev/null; then
        python3 -c '
import json, sys
ev = json.load(open(sys.argv[1]))["traceEvents"]
names = {e["name"] for e in ev if e["ph"] == "X"}
sys.exit(0 if {"write", "waitpid"} <= names else 1)' "$trace" || fail "no write and waitpid phases in the trace"
    elif command -v jq >/dev/null; then
        jq . "$trace" >/dev/null || fail "not JSON"
    else
        skip "neither python3 nor jq to check the JSON"
    fi
    run_prog --timeline=bogus
    assert_equal "$status" 2
    assert_equal "$output" ""
}

@test "SIGTERM during the deadlock (worker stuck in write): nothing left" {
    start_bg --watchdog 60
    wait_for_children 1
    wait_for_line '^Order: '
    signal_bg_and_check TERM
}

@test "Ctrl-C during the deadlock: nothing left" {
    start_bg --watchdog 60
    wait_for_children 1
    wait_for_line '^Order: '
    signal_bg_and_check INT group
}

@test "SIGTERM during the deadlock with the worker stopped (kill -STOP): nothing left" {
    start_bg --watchdog 60
    wait_for_children 1
    stop_process "$(children_of "$BG_PID")"
    signal_bg_and_check TERM
}

@test "a child it did not start (sh -c 'sleep & exec queue_deadlock') is not waited for" {
    local pidfile="$BATS_TEST_TMPDIR/sleep.pid"
    # shellcheck disable=SC2016 # $! and $1 belong to the inner sh
    KIT_RUN_TIMEOUT=10 run --separate-stderr run_bounded sh -c 'sleep 5 & echo $! >"$1"; exec "$0" --fix' "$PROG" "$pidfile"
    kill "$(cat "$pidfile")" 2>/dev/null || fail "the foreign child was waited for (it is gone)"
    assert_success
    assert_line "Main-Processing: got 1000000 bytes"
}

@test "fork fails: a clear message, exit 1; >/dev/full: exit 1; | head -1 ends quietly" {
    run_prog_injected FAIL_FORK_AFTER=0 -- --fix
    assert_equal "$status" 1
    assert_regex "$stderr" 'fork.*Resource temporarily unavailable'
    if [[ -w /dev/full ]]; then
        run_prog_to_full_disk --fix
        assert_equal "$status" 1
        [[ $stderr == *"cannot write to stdout"* ]] || fail "no message: $stderr"
    fi
    run_prog_into_head --fix
    assert_success
    assert_equal "${#lines[@]}" 1
    assert_equal "$stderr" ""
}

@test "--help names every flag; bad input exits 2 with one line naming the flag" {
    run_prog --help
    assert_success
    local f
    for f in --bytes --watchdog --fix --timeline --trace; do
        assert_output --partial -- "$f"
    done
    assert_bad_values "--bytes|0" "--bytes|-1" "--bytes|abc" "--bytes|100000001" "--watchdog|0" \
        "--watchdog|-1" "--watchdog|soon" "--watchdog|4000"
    assert_bad_command_lines "--bogus" "--bytes" "extra" "-x"
}
