#!/usr/bin/env bats
# Lesson 04: workers count, sub-totals through a queue, the parent adds them
# up (seed example 4); the join-before-drain deadlock; nothing left behind.

# shellcheck disable=SC2154 # stderr and stderr_lines are set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 04-queue-reduction/queue_sum)

# Check the output of a successful run of W workers counting to C each.
assert_sum_story() {
    local workers=$1 count=$2
    assert_success
    assert_line --regexp '^Parent process id: [0-9]+$'
    local parent
    parent=$(sed -n 's/^Parent process id: //p' <<<"$output")
    # One "Process ID" line per worker, ids 0..W-1 once each, pids distinct
    # and not the parent's; each followed at once by its "Result" line.
    local i id_lines=0 pids=() ids=()
    for i in "${!lines[@]}"; do
        if [[ ${lines[i]} =~ ^Process\ ID:\ ([0-9]+),\ Process\ name:\ ([0-9]+),\ ID:\ ([0-9]+)$ ]]; then
            id_lines=$((id_lines + 1))
            pids+=("${BASH_REMATCH[1]}")
            ids+=("${BASH_REMATCH[3]}")
            [[ ${BASH_REMATCH[2]} == "${BASH_REMATCH[3]}" ]] || fail "name differs from id: ${lines[i]}"
            [[ ${BASH_REMATCH[1]} != "$parent" ]] || fail "a worker has the parent's pid: ${lines[i]}"
            [[ ${lines[i + 1]} == "Result: $count" ]] || fail "line after '${lines[i]}' is '${lines[i + 1]}', expected 'Result: $count'"
        fi
    done
    assert_equal "$id_lines" "$workers"
    assert_equal "$(printf '%s\n' "${pids[@]}" | sort -u | wc -l)" "$workers"
    assert_equal "$(printf '%s\n' "${ids[@]}" | sort -n | paste -sd' ')" "$(seq 0 $((workers - 1)) | paste -sd' ')"
    assert_line --regexp '^--- [0-9]+\.[0-9]+ seconds ---$'
    assert_line "Main-Processing Total Count=$((workers * count))"
    assert_equal "${lines[${#lines[@]} - 1]}" "Main-Processing Done."
    assert_line_before '^Result: ' '^--- [0-9.]+ seconds ---$'
    assert_line_before '^--- [0-9.]+ seconds ---$' '^Main-Processing Total Count='
    assert_equal "$stderr" ""
}

# The queue name queue_sum printed in $BG_OUT must not exist any more.
# (Linux also lists queues as files where an mqueue file system is mounted,
# usually /dev/mqueue; opening the name works without one.)
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

@test "pipe, the seed's order: totals for several worker counts and counts" {
    local w c
    local -a cases=("1 0" "1 1000000" "2 1" "2 1000000" "5 0" "5 1000000" "8 1000000")
    local case
    for case in "${cases[@]}"; do
        read -r w c <<<"$case"
        run_prog --workers "$w" --count "$c"
        assert_sum_story "$w" "$c"
    done
}

@test "message queue, the seed's order: totals for several worker counts and counts" {
    local w c
    for w in 1 3 8; do
        for c in 0 1000000; do
            run_prog --queue mqueue --workers "$w" --count "$c"
            assert_sum_story "$w" "$c"
            assert_line --regexp '^Queue: POSIX message queue /queue_sum-[0-9]+-[0-9]+ '
        done
    done
}

@test "drain, then join: totals with both queue kinds" {
    local q
    for q in pipe mqueue; do
        run_prog --queue "$q" --order drain-then-join --workers 4 --count 1000000
        assert_sum_story 4 1000000
        refute_line --partial "'exit'"
    done
}

@test "the sentinel: put after the joins, before the total" {
    local q
    for q in pipe mqueue; do
        run_prog --queue "$q" --workers 3 --count 1000
        assert_success
        assert_equal "$(grep -c "^Main-Processing: put 'exit' on the queue$" <<<"$output")" 1
        assert_line_before '^--- [0-9.]+ seconds ---$' "^Main-Processing: put 'exit' on the queue$"
        assert_line_before "^Main-Processing: put 'exit' on the queue$" '^Main-Processing Total Count=3000$'
    done
}

@test "a worker's two lines and every other line are whole when stdout is a pipe" {
    run_piped --workers 8 --count 100000
    assert_sum_story 8 100000
    local dups # every "Result: 100000" is the same line; all others are unique
    dups=$(grep -v '^Result: ' <<<"$output" | sort | uniq -d)
    [[ -z $dups ]] || fail "lines printed more than once: $dups"
}

@test "deadlock: items bigger than the pipe, join before drain: caught, explained, cleaned up" {
    local start end
    start=$(date +%s%N)
    KIT_RUN_TIMEOUT=15 run_prog --workers 2 --count 1000 --item-bytes 100000 --watchdog 0.5
    end=$(date +%s%N)
    assert_equal "$status" 3 # not 124: the watchdog, not the test's timeout, ended it
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" 'deadlock: .*full pipe.*drain before join'
    refute_line --partial "Total Count"
    # It waited the whole watchdog time before it gave up (a lower bound only).
    (((end - start) / 1000000 >= 500)) || fail "gave up after $(((end - start) / 1000000)) ms, before the 0.5 s watchdog"
    assert_nothing_left
}

@test "deadlock: the same big items, drained before the join, work" {
    run_prog --workers 3 --count 1000 --item-bytes 100000 --order drain-then-join --watchdog 0.5
    assert_sum_story 3 1000
    assert_line --partial "over PIPE_BUF"
}

@test "deadlock: items that just fill the pipe leave no room for the sentinel: caught" {
    run_prog --workers 4 --count 1000 --item-bytes 16384 --watchdog 0.5
    assert_equal "$status" 3
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" "deadlock: .*sentinel.*drain before join"
    refute_line --partial "Total Count"
}

@test "deadlock with a message queue: more workers than messages it holds" {
    local max workers
    max=$(cat /proc/sys/fs/mqueue/msg_max 2>/dev/null) || skip "no /proc/sys/fs/mqueue/msg_max"
    ((max <= 32)) || skip "msg_max is $max: too many workers for a quick test"
    workers=$((max + 2))
    run_prog --queue mqueue --workers "$workers" --count 10 --watchdog 0.3
    assert_equal "$status" 3
    assert_regex "$stderr" 'deadlock: .*full message queue.*drain before join'
    refute_line --partial "Total Count"
    run_prog --queue mqueue --workers "$workers" --count 10 --order drain-then-join
    assert_sum_story "$workers" 10
    # Exactly as many workers as messages: all results fit, the sentinel does not.
    run_prog --queue mqueue --workers "$max" --count 10 --watchdog 0.3
    assert_equal "$status" 3
    assert_regex "$stderr" "deadlock: .*message queue.*sentinel.*drain before join"
}

@test "the count is real work: counting to 10^9 takes far longer than counting to 0" {
    # A loop folded by the compiler into `sum = n` takes no time at all.
    # Compare two runs of the same program (a ratio, not an absolute time).
    local zero big
    run_prog --workers 1 --count 0
    assert_success
    zero=$(sed -n 's/^--- \([0-9.]*\) seconds ---$/\1/p' <<<"$output")
    run_prog --workers 1 --count 1000000000
    assert_sum_story 1 1000000000
    big=$(sed -n 's/^--- \([0-9.]*\) seconds ---$/\1/p' <<<"$output")
    awk -v z="$zero" -v b="$big" 'BEGIN { exit !(b > 20 * z) }' ||
        fail "counting to 10^9 took $big s, to 0 took $zero s: is the loop folded away?"
}

@test "the watchdog does not fire while workers are still counting" {
    # Counting takes longer than the watchdog; the stall clock starts only
    # when every worker has finished counting.
    run_prog --workers 2 --count 700000000 --watchdog 0.1
    assert_sum_story 2 700000000
    local seconds
    seconds=$(sed -n 's/^--- \([0-9.]*\) seconds ---$/\1/p' <<<"$output")
    awk -v s="$seconds" 'BEGIN { exit !(s > 0.1) }' || skip "counting took only $seconds s here: not longer than the watchdog"
}

@test "a join never waits for the watchdog when the workers end" {
    # The parent sleeps until a worker ends or the watchdog's time is up. A
    # worker that ends just before the parent starts sleeping must wake it
    # too: a lost wake-up means 60 s, then a false deadlock. One run in a few
    # hits that moment, so make 30 (a few ms each).
    # shellcheck disable=SC2016 # "$0" belongs to the inner bash
    KIT_RUN_TIMEOUT=10 run --separate-stderr run_bounded bash -c \
        'for i in {1..30}; do "$0" --workers 5 --count 0 --watchdog 60 >/dev/null || exit; done' "$PROG"
    assert_success
    assert_equal "$stderr" ""
}

@test "a SIGCHLD ignored by whoever started it does not stop the join" {
    # With SIGCHLD ignored the kernel reaps the workers itself, and a parent
    # that kept that setting would find nothing to wait for (ECHILD).
    local order
    for order in join-then-drain drain-then-join; do
        # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
        run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" \
            --workers 3 --count 1000 --order "$order"
        assert_sum_story 3 1000
    done
}

@test "SIGTERM to the parent while a worker is stopped (kill -STOP): nothing left" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    local worker
    worker=$(children_of "$BG_PID" | head -1)
    stop_process "$worker"
    kill -TERM "$BG_PID"
    wait_bg 5
    assert_equal "$BG_STATUS" 143
    assert_gone "$worker"
    assert_nothing_left
}

@test "a worker killed by someone else: its result is missing and the exit status is 1" {
    start_bg --workers 1 --count 1000000000000
    wait_for_children 1
    kill -KILL "$(children_of "$BG_PID")"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -q "worker 0 (pid [0-9]*) was killed by signal 9" "$BG_OUT" || fail "no warning: $(show_output "$BG_OUT")"
    grep -qx "Main-Processing Total Count=0" "$BG_OUT" || fail "total: $(show_output "$BG_OUT")"
}

@test "SIGTERM to the parent while workers count: nothing left, queue kind pipe" {
    start_bg --workers 3 --count 1000000000000
    wait_for_children 3
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143
    assert_nothing_left
}

@test "SIGINT to the parent while workers count: no process and no message queue left" {
    start_bg --queue mqueue --workers 3 --count 1000000000000
    wait_for_children 3
    kill -INT "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 130
    assert_nothing_left
    assert_queue_gone
}

@test "Ctrl-C (SIGINT to the process group): no process and no message queue left" {
    start_bg --queue mqueue --workers 2 --count 1000000000000
    wait_for_children 2
    kill -INT -- "-$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 130
    assert_nothing_left
    assert_queue_gone
}

@test "SIGTERM during the deadlock (workers stuck in write): nothing left" {
    start_bg --workers 2 --count 0 --item-bytes 100000 --watchdog 60
    wait_for_children 2
    wait_for_line '^Order: '
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143
    assert_nothing_left
}

@test "the message queue's name is gone while the workers still run" {
    start_bg --queue mqueue --workers 2 --count 1000000000000
    wait_for_children 2
    wait_for_line '^Queue: POSIX message queue '
    assert_queue_gone
    kill -TERM "$BG_PID"
    wait_bg 10
}

@test "no message queues on this system: a clear message, exit 1, nothing started" {
    run_prog_injected FAIL_MQ_OPEN=1 -- --queue mqueue --count 10
    assert_equal "$status" 1
    assert_equal "${#stderr_lines[@]}" 1
    assert_regex "$stderr" 'not available.*--queue pipe'
    refute_line --partial "Process ID"
}

@test "fork fails after 2 workers: a clear message, the 2 are stopped, exit 1" {
    run_prog_injected FAIL_FORK_AFTER=2 -- --workers 5 --count 1000000000000
    assert_equal "$status" 1
    assert_regex "$stderr" 'fork.*Resource temporarily unavailable'
    refute_line --partial "Total Count"
    assert_forks_gone 2
}

@test "--help prints usage on stdout and exits 0" {
    local flag
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: queue_sum"
        local f
        for f in --workers --count --queue --order --item-bytes --watchdog; do
            assert_output --partial -- "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--workers|0" "--workers|1025" "--workers|abc" "--workers|2x" "--workers|" \
        "--workers|-1" "--count|-1" "--count|1e3" "--count|1000000000001" "--count|0x10" \
        "--count| 5" "--queue|fifo" "--queue|" "--order|sideways" "--item-bytes|31" \
        "--item-bytes|16777217" "--watchdog|0" "--watchdog|-1" "--watchdog|soon" "--watchdog|4000"
}

@test "an unknown flag, a flag without its value, --item-bytes with mqueue: exit 2" {
    assert_bad_command_lines "--bogus" "--count" "extra" "--queue mqueue --item-bytes 100"
}
