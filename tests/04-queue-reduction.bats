#!/usr/bin/env bats
# Lesson 04: workers count, their sub-totals go through a pipe used as a
# queue, the parent adds them up (seed example 4); nothing left behind.

# shellcheck disable=SC2154 # stderr and stderr_lines are set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 04-queue-reduction/queue_sum)

# Check the output of a successful run of W workers counting to C each.
assert_sum_story() {
    local workers=$1 count=$2
    assert_success
    assert_line --index 0 --regexp '^Parent process id: [0-9]+$'
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

# The seconds of the `--- S seconds ---` line of $output.
seconds_line() {
    sed -n 's/^--- \([0-9.]*\) seconds ---$/\1/p' <<<"$output"
}

# From the trace FILE: the start (microseconds) of the parent's first phase
# named $2 ("read", "waitpid"); fails if it has none.
first_parent_phase() {
    python3 -c '
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
parent = [e["pid"] for e in events if e.get("name") == "process_name" and e["args"]["name"].startswith("parent ")][0]
starts = [e["ts"] for e in events if e["ph"] == "X" and e["pid"] == parent and e["name"] == sys.argv[2]]
print(min(starts)) if starts else sys.exit(1)
' "$1" "$2"
}

# The (fd, flags) of every descriptor of process $1 open on pipe inode $2.
fds_on_pipe() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    as_program bash -c 'for fd in /proc/"$1"/fd/*; do
        [[ $(readlink "$fd") == "pipe:[$2]" ]] || continue
        printf "%s %s\n" "${fd##*/}" "$(sed -n "s/^flags:[[:space:]]*//p" "/proc/$1/fdinfo/${fd##*/}")"
    done' _ "$1" "$2"
}

# The inodes of the pipes process $1 has open, one per descriptor.
pipe_inodes() {
    # shellcheck disable=SC2016 # expanded by the inner bash
    as_program bash -c 'for fd in /proc/"$1"/fd/*; do readlink "$fd"; done' _ "$1" |
        sed -n 's/^pipe:\[\([0-9]*\)\]$/\1/p'
}

@test "with no flags it is the seed's example: 5 workers x 100,000,000" {
    run_prog
    assert_sum_story 5 100000000
    assert_line "Order: join, then drain (the seed's)"
    assert_line "Queue: pipe, items of 32 bytes (at most PIPE_BUF = 4096: one atomic write each)"
}

@test "[04.1] every worker's sub-total reaches the parent, in both orders" {
    local w c order
    for order in join-then-drain drain-then-join; do
        for w_c in "1 0" "1 1000000" "2 1" "5 0" "5 1000000" "8 100000" "64 10"; do
            read -r w c <<<"$w_c"
            run_prog --workers "$w" --count "$c" --order "$order"
            assert_sum_story "$w" "$c"
        done
    done
}

@test "the seed's order: the parent puts 'exit' after the joins, and reads up to it" {
    run_prog --workers 3 --count 1000
    assert_equal "$(grep -c "^Main-Processing: put 'exit' on the queue$" <<<"$output")" 1
    assert_line_before '^--- [0-9.]+ seconds ---$' "^Main-Processing: put 'exit' on the queue$"
    assert_line_before "^Main-Processing: put 'exit' on the queue$" '^Main-Processing Total Count='
    assert_equal "${lines[-1]}" "Main-Processing Done."
}

@test "[04.2] a worker killed before it puts: the parent stops at the sentinel, one result short" {
    start_bg --workers 1 --count 1000000000000
    wait_for_children 1
    kill -KILL "$(children_of "$BG_PID")"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -q "worker 0 (pid [0-9]*) failed: killed by signal 9" "$BG_OUT" || fail "no warning: $(show_output "$BG_OUT")"
    grep -qx "Main-Processing Total Count=0" "$BG_OUT" || fail "total: $(show_output "$BG_OUT")"
    # The sentinel is not a result: none of the 1 arrived.
    grep -q "0 of 1 results arrived" "$BG_OUT" || fail "the sentinel was counted: $(show_output "$BG_OUT")"
}

@test "a worker killed before it puts, drain then join: end of file ends the reading" {
    start_bg --workers 2 --count 1000000000000 --order drain-then-join
    wait_for_children 2
    kill -KILL $(children_of "$BG_PID")
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qx "Main-Processing Total Count=0" "$BG_OUT" || fail "total: $(show_output "$BG_OUT")"
    grep -q "0 of 2 results arrived" "$BG_OUT" || fail "$(show_output "$BG_OUT")"
}

@test "[04.3] drain then join reads before it joins and puts no sentinel; the seed's order joins first" {
    command -v python3 >/dev/null || skip "python3 is needed to read the trace"
    local trace="$BATS_TEST_TMPDIR/t.json" read_at wait_at
    run_prog --workers 3 --count 2000000 --order drain-then-join --trace "$trace"
    refute_line --partial "'exit'"
    assert_line "Order: drain, then join"
    read_at=$(first_parent_phase "$trace" read) || fail "the parent never read the queue"
    wait_at=$(first_parent_phase "$trace" waitpid) || fail "the parent never joined"
    awk -v r="$read_at" -v w="$wait_at" 'BEGIN { exit !(r < w) }' || fail "drain-then-join: joined at $wait_at us, read at $read_at us"

    rm -f "$trace"
    run_prog --workers 3 --count 2000000 --trace "$trace"
    read_at=$(first_parent_phase "$trace" read) || fail "the parent never read the queue"
    wait_at=$(first_parent_phase "$trace" waitpid) || fail "the parent never joined"
    awk -v r="$read_at" -v w="$wait_at" 'BEGIN { exit !(w < r) }' || fail "the seed's order: read at $read_at us, joined at $wait_at us"
}

@test "[04.4] a worker holds only the write end of the queue" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    # The queue is the pipe the parent holds both ends of (the seed's order).
    local inode candidate worker ends
    for candidate in $(pipe_inodes "$BG_PID" | sort -u); do
        (($(fds_on_pipe "$BG_PID" "$candidate" | wc -l) == 2)) && inode=$candidate
    done
    [[ -n $inode ]] || fail "the parent holds no pipe with both ends"
    for worker in $(children_of "$BG_PID"); do
        ends=$(fds_on_pipe "$worker" "$inode")
        assert_equal "$(wc -l <<<"$ends")" 1
        # Open for writing only: O_WRONLY is 1 in the low bits of the octal flags.
        [[ $(((8#${ends#* }) & 3)) == 1 ]] || fail "worker $worker holds the read end: $ends"
    done
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143
}

@test "a worker's two lines and every other line are whole when stdout is a pipe" {
    run_piped --workers 8 --count 100000
    assert_sum_story 8 100000
    local dups # every "Result: 100000" is the same line; all others are unique
    dups=$(grep -v '^Result: ' <<<"$output" | sort | uniq -d)
    [[ -z $dups ]] || fail "lines printed more than once: $dups"
}

@test "the count is real work: counting to 10^9 takes far longer than counting to 0" {
    # A loop folded by the compiler into `sum = n` takes no time at all.
    local zero big
    run_prog --workers 1 --count 0
    assert_success
    zero=$(seconds_line)
    run_prog --workers 1 --count 1000000000
    assert_sum_story 1 1000000000
    big=$(seconds_line)
    awk -v z="$zero" -v b="$big" 'BEGIN { exit !(b > 20 * z) }' ||
        fail "counting to 10^9 took $big s, to 0 took $zero s: is the loop folded away?"
}

@test "a child it did not start (sh -c 'sleep & exec queue_sum') is not waited for or counted" {
    local pidfile="$BATS_TEST_TMPDIR/sleep.pid" order
    for order in join-then-drain drain-then-join; do
        # shellcheck disable=SC2016 # $! and $1 belong to the inner sh
        KIT_RUN_TIMEOUT=10 run --separate-stderr run_bounded sh -c 'sleep 5 & echo $! >"$1"; exec "$0" --workers 3 --count 1000 --order "$2"' \
            "$PROG" "$pidfile" "$order"
        kill "$(cat "$pidfile")" 2>/dev/null || fail "the foreign child was waited for (it is gone)"
        assert_sum_story 3 1000
    done
}

@test "a SIGCHLD ignored by whoever started it does not stop the join" {
    local order
    for order in join-then-drain drain-then-join; do
        # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
        run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" \
            --workers 3 --count 1000 --order "$order"
        assert_sum_story 3 1000
    done
}

@test "stdout on a full disk (>/dev/full): a message and exit 1; | head -1 ends quietly" {
    [[ -w /dev/full ]] || skip "no /dev/full here"
    run_prog_to_full_disk --workers 3 --count 1000
    assert_equal "$status" 1
    [[ $stderr == *"cannot write to stdout"* ]] || fail "no message: $stderr"
    run_prog_into_head --workers 3 --count 100000
    assert_success
    assert_equal "${#lines[@]}" 1
    assert_equal "$stderr" ""
}

@test "--timeline: one row per process; --trace: valid JSON; --timeline=bogus: exit 2" {
    run_prog --workers 3 --count 20000000 --timeline
    assert_success
    assert_line --regexp '^timeline: 4 processes '
    assert_line --regexp '^parent +\|.*w.*\|$'
    local id
    for id in 0 1 2; do
        assert_line --regexp "^$id +\|.*#.*\|\$"
    done
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --workers 2 --count 1000 --trace "$trace"
    assert_success
    assert_valid_json "$trace"
    run_prog --workers 2 --count 10 --timeline=bogus
    assert_equal "$status" 2
    assert_equal "$output" ""
}

@test "SIGTERM to the parent while a worker is stopped (kill -STOP): nothing left" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    stop_process "$(children_of "$BG_PID" | head -1)"
    signal_bg_and_check TERM
}

@test "SIGTERM to the parent alone while workers count: nothing left" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    signal_bg_and_check TERM
}

@test "SIGINT to the parent alone while it drains: nothing left" {
    start_bg --workers 2 --count 1000000000000 --order drain-then-join
    wait_for_children 2
    signal_bg_and_check INT
}

@test "Ctrl-C (SIGINT to the process group): nothing left" {
    start_bg --workers 2 --count 1000000000000
    wait_for_children 2
    signal_bg_and_check INT group
}

@test "fork fails after 2 workers: a clear message, the 2 are stopped, exit 1" {
    run_prog_injected FAIL_FORK_AFTER=2 -- --workers 5 --count 1000000000000
    assert_equal "$status" 1
    assert_regex "$stderr" 'fork for worker 2 of 5.*Resource temporarily unavailable'
    refute_line --partial "Total Count"
    assert_forks_gone 2
}

@test "--help prints usage on stdout and exits 0" {
    local flag f
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: queue_sum"
        for f in --workers --count --order --timeline --trace; do
            assert_output --partial -- "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--workers|0" "--workers|1025" "--workers|abc" "--workers|2x" "--workers|" \
        "--workers|-1" "--count|-1" "--count|1e3" "--count|1000000000001" "--count|0x10" \
        "--count| 5" "--order|sideways" "--order|"
}

@test "an unknown flag, a flag without its value, a stray argument: exit 2" {
    assert_bad_command_lines "--bogus" "--count" "extra" "--queue mqueue"
}
