#!/usr/bin/env bats
# Lesson 08: Python's Pipe() is a socketpair: a parent talks with each child
# over its own two-way pair and waits on all with poll(); EOF, a dead child;
# two writers that both send first deadlock, and the fix.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
PROG=$(lesson 08-pipe/duplex_pipe)

# Every answer line must answer a request of that child, with the right square.
assert_answers_match() { # children requests
    local line k id v n=0
    while read -r line; do
        [[ $line =~ ^Child-([0-9]+)\ answered\ request\ ([0-9]+):\ ([0-9]+)\ squared\ is\ ([0-9]+)$ ]] ||
            fail "not an answer line: $line"
        k=${BASH_REMATCH[1]} id=${BASH_REMATCH[2]} v=${BASH_REMATCH[4]}
        [[ ${BASH_REMATCH[3]} == "$id" && $v == $((id * id)) ]] || fail "wrong square: $line"
        ((id > (k - 1) * $2 && id <= k * $2)) || fail "Child-$k answered another child's request: $line"
        n=$((n + 1))
    done < <(grep '^Child-[0-9]* answered' <<<"$output")
    echo "$n"
}

@test "[08.1] every request answered once, on the same end it went out on, each matched" {
    run_prog --children 4 --requests 5 --delay 0.01
    assert_success
    assert_equal "$(assert_answers_match 4 5)" 20
    # Each of the 20 requests answered exactly once.
    assert_equal "$(sed -n 's/^Child-[0-9]* answered request \([0-9]*\):.*/\1/p' <<<"$output" | sort -n | paste -sd' ')" \
        "$(seq 20 | paste -sd' ')"
    assert_equal "${lines[-1]}" "20 answers, each matched to its request"
}

@test "[08.1] a child that closes its end: the parent reads EOF, goes on with the others, exit 0" {
    run_prog --children 3 --requests 3 --delay 0.01 --eof-child 2
    assert_success
    assert_line "Child-2 closed its end (EOF) after 1 of 3 answers"
    assert_equal "$(assert_answers_match 3 3)" 7
    assert_equal "${lines[-1]}" "7 answers, each matched to its request"
}

@test "a child killed while it works: EOF at the parent, the death reported, the others go on, exit 1" {
    start_bg --children 2 --requests 2 --delay 30
    wait_for_children 2
    local victim
    victim=$(children_of "$BG_PID" | head -n 1)
    local -a pids
    mapfile -t pids < <(children_of "$BG_PID")
    kill -KILL "$victim"
    wait_for_line 'closed its end \(EOF\) after 0 of 2 answers'
    wait_for_line 'died after 0 of 2 answers: killed by signal 9'
    # The other child is still being waited for: end the run.
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_gone "${pids[@]}"
}

@test "--swap deadlock: both send first: caught after --patience, explained, exit 3, nothing left" {
    local start end
    start=$(date +%s%N)
    run_prog --swap deadlock --patience 0.3
    end=$(date +%s%N)
    assert_equal "$status" 3
    assert_regex "$output" '^deadlock: for 0\.3 s nothing moved: the parent.s send stopped at [0-9]+ of 1048576 bytes, the child \(state S\) is stuck in its own; neither reads$'
    (((end - start) / 1000000 >= 300)) || fail "gave up before the 0.3 s patience"
}

@test "--swap fixed: the parent receives first, and both messages go through" {
    run_prog --swap fixed --patience 0.3
    assert_success
    assert_output "the parent sent and received 1048576 bytes: it received first, so the child's send could end"
}

@test "--swap deadlock with a message that fits in the socket buffers: no deadlock" {
    run_prog --swap deadlock --size 1000 --patience 0.3
    assert_success
    assert_output "the parent sent and received 1000 bytes"
}

@test "--timeline: one row per process; in the deadlock both rows are blocked in send (>)" {
    run_prog --children 3 --requests 2 --delay 0.02 --timeline
    assert_success
    assert_equal "$(grep -cE '^(parent|Child-[0-9]+) +\|' <<<"$output")" 4
    run_prog --swap deadlock --patience 0.3 --timeline
    assert_equal "$status" 3
    assert_regex "$(grep -E '^parent +\|' <<<"$output")" '>>>>>'
    assert_regex "$(grep -E '^Child-1 +\|' <<<"$output")" '>>>>>'
}

@test "--trace writes valid JSON; --timeline=bogus exits 2" {
    local json="$BATS_TEST_TMPDIR/t.json"
    run_prog --children 2 --requests 2 --delay 0 --trace "$json"
    assert_success
    assert_valid_json "$json"
    run_prog --timeline=bogus
    assert_failure 2
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--children|0" "--children|65" "--requests|0" "--requests|x" "--delay|-1" \
        "--eof-child|0" "--swap|both" "--size|0" "--size|67108865" "--patience|0" "--patience|nan"
    run_prog --children 2 --eof-child 3
    assert_failure 2
    [[ $stderr == *--eof-child* ]] || fail "message does not name --eof-child: $stderr"
    assert_bad_command_lines "--bogus" "--children" "extra"
}

@test "whole lines through a pipe; | head -1 ends quietly; >/dev/full fails with a message" {
    run_piped --children 8 --requests 20 --delay 0
    assert_success
    assert_no_duplicate_lines
    assert_equal "$(assert_answers_match 8 20)" 160
    run_prog_into_head --children 4 --requests 100 --delay 0
    assert_success
    assert_equal "$stderr" ""
    run_prog_to_full_disk --children 2 --requests 2 --delay 0
    assert_failure
    [[ -n $stderr ]] || fail "no message for the write error"
}

@test "a child it did not start is not counted or waited for" {
    local stranger="$BATS_TEST_TMPDIR/stranger"
    # shellcheck disable=SC2016 # $0, $1 and $@ belong to the inner sh
    run --separate-stderr run_bounded sh -c 'sleep 5 & echo $! >"$1"; shift; exec "$0" "$@"' "$PROG" "$stranger" \
        --children 2 --requests 2 --delay 0
    kill -KILL "$(cat "$stranger")" 2>/dev/null
    local waited=0 pid
    pid=$(cat "$stranger")
    while [[ -e /proc/$pid && $(proc_state "$pid") != Z ]] && ((waited++ < 100)); do sleep 0.05; done
    assert_success
    assert_equal "${lines[-1]}" "4 answers, each matched to its request"
}

@test "SIGTERM to the parent alone while the children work: no child is left" {
    start_bg --children 3 --delay 30
    wait_for_children 3
    signal_bg_and_check TERM
}

@test "Ctrl-C (SIGINT to the group) while the children work, and during the deadlock: nothing left" {
    start_bg --children 3 --delay 30
    wait_for_children 3
    signal_bg_and_check INT group
    start_bg --swap deadlock --patience 30
    wait_for_children 1
    signal_bg_and_check INT group
}
