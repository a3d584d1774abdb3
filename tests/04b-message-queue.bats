#!/usr/bin/env bats
# Lesson 04b: seed example 4 over a POSIX message queue: a unique name,
# O_EXCL, 0600, unlinked at once; nothing left behind, no name either.

# shellcheck disable=SC2154 # stderr and stderr_lines are set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 04b-message-queue/mqueue_sum)

# Check the output of a successful run of W workers counting to C each.
assert_sum_story() {
    local workers=$1 count=$2
    assert_success
    assert_line --index 0 --regexp '^Parent process id: [0-9]+$'
    assert_line --regexp '^Queue: POSIX message queue /mqueue_sum-[0-9]+-[0-9]+ '
    assert_equal "$(grep -c '^Process ID: [0-9]*, Process name: [0-9]*, ID: [0-9]*$' <<<"$output")" "$workers"
    assert_equal "$(grep -A1 '^Process ID: ' <<<"$output" | grep -c "^Result: $count$")" "$workers"
    assert_equal "$(sed -n 's/^Process ID: [0-9]*, Process name: \([0-9]*\),.*/\1/p' <<<"$output" | sort -n | paste -sd' ')" \
        "$(seq 0 $((workers - 1)) | paste -sd' ')"
    assert_equal "$(sed -n 's/^Process ID: \([0-9]*\),.*/\1/p' <<<"$output" | sort -u | wc -l)" "$workers"
    assert_line --regexp '^--- [0-9]+\.[0-9]+ seconds ---$'
    assert_line "Main-Processing Total Count=$((workers * count))"
    assert_equal "${lines[-1]}" "Main-Processing Done."
    assert_equal "$stderr" ""
}

# The queue name the program printed in $BG_OUT must not exist. Opening the
# name works without an mqueue file system mounted on /dev/mqueue.
assert_queue_gone() {
    local name status=0
    name=$(sed -n 's|^Queue: POSIX message queue \(/[^ ]*\) .*|\1|p' "$BG_OUT")
    [[ -n $name ]] || fail "no queue name in the output: $(show_output "$BG_OUT")"
    "$(fixture mq_exists)" "$name" || status=$?
    case $status in
    0) fail "message queue $name was left behind" ;;
    1) ;;
    *) fail "cannot tell whether message queue $name exists" ;;
    esac
}

@test "with no flags it is the seed's example: 5 workers x 100,000,000" {
    run_prog
    assert_sum_story 5 100000000
}

@test "[04b.1] every worker's sub-total arrives as one message, in both orders" {
    local w c order
    for order in join-then-drain drain-then-join; do
        for w in 1 3 8; do
            for c in 0 1000000; do
                run_prog --workers "$w" --count "$c" --order "$order"
                assert_sum_story "$w" "$c"
            done
        done
    done
}

@test "the seed's order puts 'exit' once, after the joins; drain then join puts none" {
    run_prog --workers 3 --count 1000
    assert_equal "$(grep -c "^Main-Processing: put 'exit' on the queue$" <<<"$output")" 1
    assert_line_before '^--- [0-9.]+ seconds ---$' "^Main-Processing: put 'exit' on the queue$"
    assert_line_before "^Main-Processing: put 'exit' on the queue$" '^Main-Processing Total Count=3000$'
    run_prog --workers 3 --count 1000 --order drain-then-join
    assert_sum_story 3 1000
    refute_line --partial "'exit'"
}

@test "[04b.1] more workers than messages the queue holds: the seed's order is caught, drain then join works" {
    run_prog --workers 12 --count 10 --watchdog 0.3
    assert_equal "$status" 3
    assert_regex "$stderr" 'deadlock: .*full message queue.*drain before join'
    refute_line --partial "Total Count"
    run_prog --workers 12 --count 10 --order drain-then-join
    assert_sum_story 12 10
}

@test "exactly as many workers as messages: every result fits, the sentinel does not: caught" {
    run_prog --workers 10 --count 10 --watchdog 0.3
    assert_equal "$status" 3
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "deadlock: .*message queue.*sentinel.*drain before join"
}

@test "the queue's name is gone while the workers still run" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    wait_for_line '^Queue: POSIX message queue '
    assert_queue_gone
    signal_bg_and_check TERM
}

@test "a worker killed by someone else: its result is missing and the exit status is 1" {
    local order
    for order in join-then-drain drain-then-join; do
        start_bg --workers 1 --count 1000000000000 --order "$order"
        wait_for_children 1
        kill -KILL "$(children_of "$BG_PID")"
        wait_bg 10
        assert_equal "$BG_STATUS" 1
        grep -q "worker 0 (pid [0-9]*) failed: killed by signal 9" "$BG_OUT" || fail "no warning: $(show_output "$BG_OUT")"
        grep -qx "Main-Processing Total Count=0" "$BG_OUT" || fail "total: $(show_output "$BG_OUT")"
    done
}

@test "SIGINT to the parent alone while workers count: no process and no message queue left" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    signal_bg_and_check INT
    assert_queue_gone
}

@test "Ctrl-C (SIGINT to the process group): no process and no message queue left" {
    start_bg --workers 2 --count 1000000000000 --order drain-then-join
    wait_for_children 2
    signal_bg_and_check INT group
    assert_queue_gone
}

@test "SIGTERM to the parent while a worker is stopped (kill -STOP): nothing left" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    stop_process "$(children_of "$BG_PID" | head -1)"
    signal_bg_and_check TERM
    assert_queue_gone
}

@test "no message queues on this system: a clear message, exit 1, nothing started" {
    run_prog_injected FAIL_MQ_OPEN=1 -- --count 10
    assert_equal "$status" 1
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" 'not available.*mq_open'
    refute_line --partial "Process ID"
    assert_forks_gone 0
}

@test "fork fails after 2 workers: a clear message, the 2 are stopped, exit 1" {
    run_prog_injected FAIL_FORK_AFTER=2 -- --workers 5 --count 1000000000000
    assert_equal "$status" 1
    assert_regex "$stderr" 'fork.*Resource temporarily unavailable'
    refute_line --partial "Total Count"
    assert_forks_gone 2
}

@test "a child it did not start (sh -c 'sleep & exec mqueue_sum') is not waited for or counted" {
    local pidfile="$BATS_TEST_TMPDIR/sleep.pid" order
    for order in join-then-drain drain-then-join; do
        # shellcheck disable=SC2016 # $! and $1 belong to the inner sh
        KIT_RUN_TIMEOUT=10 run --separate-stderr run_bounded sh -c 'sleep 5 & echo $! >"$1"; exec "$0" --workers 3 --count 1000 --order "$2"' \
            "$PROG" "$pidfile" "$order"
        kill "$(cat "$pidfile")" 2>/dev/null || fail "the foreign child was waited for (it is gone)"
        assert_sum_story 3 1000
    done
}

@test "whole lines through a pipe; >/dev/full: a message and exit 1; | head -1 ends quietly" {
    run_piped --workers 8 --count 1000
    assert_sum_story 8 1000
    [[ -z $(grep -v '^Result: ' <<<"$output" | sort | uniq -d) ]] || fail "lines printed twice"
    if [[ -w /dev/full ]]; then
        run_prog_to_full_disk --workers 3 --count 1000
        assert_equal "$status" 1
        [[ $stderr == *"cannot write to stdout"* ]] || fail "no message: $stderr"
    fi
    run_prog_into_head --workers 3 --count 1000
    assert_success
    assert_equal "${#lines[@]}" 1
    assert_equal "$stderr" ""
}

@test "--timeline: one row per process, a worker blocked on the full queue; --trace is JSON; bogus: exit 2" {
    run_prog --workers 11 --count 10 --watchdog 0.2 --timeline
    assert_equal "$status" 3
    assert_line --regexp '^timeline: 12 processes '
    assert_line --regexp '^parent +\|.*w.*\|$'
    assert_line --regexp '^[0-9]+ +\|.*>>>.*\|$' # a worker that found the queue full
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --workers 2 --count 1000 --trace "$trace"
    assert_success
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$trace" >/dev/null || fail "not JSON"
    elif command -v jq >/dev/null; then
        jq . "$trace" >/dev/null || fail "not JSON"
    fi
    run_prog --timeline=bogus
    assert_equal "$status" 2
}

@test "--help prints usage on stdout and exits 0" {
    local f
    run_prog --help
    assert_success
    assert_output --partial "usage: mqueue_sum"
    for f in --workers --count --order --watchdog --timeline; do
        assert_output --partial -- "$f"
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--workers|0" "--workers|1025" "--workers|abc" "--count|-1" "--count|1e3" \
        "--count|1000000000001" "--order|sideways" "--watchdog|0" "--watchdog|-1" "--watchdog|soon" \
        "--watchdog|4000"
    assert_bad_command_lines "--bogus" "--count" "extra" "--item-bytes 100"
}
