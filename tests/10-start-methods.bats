#!/usr/bin/env bats
# Lesson 10: one job started by fork, spawn (fork + exec) and a fork server.
# Checked: what each child sees of a global the parent changed (that does not
# depend on timing), that a cost line is printed for each method, and the
# kit's rules (signals, strangers, pipes, bad input). No test compares costs.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
PROG=$(lesson 10-start-methods/start_methods)

SEEN='^(fork|spawn|forkserver) +child ([0-9]+) sees global_value = ([0-9]+): '
COST='^  (fork|spawn|forkserver) +([0-9]+) us  spread +([0-9]+) us$'

# "method value" for each "sees global_value" line of $output.
seen_values() {
    sed -nE "s/$SEEN.*/\1 \3/p" <<<"$output"
}

# The rows of the --timeline drawing in $output: "name|cells", one a line.
timeline_rows() {
    sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|\(.*\)|$/\1|\2/p'
}

# Zombies named start_methods adopted by PID 1, before and after a run: the
# fork server's workers are grandchildren, which the end-of-test check cannot
# see once their parent is gone.
assert_no_new_orphans() {
    local after
    after=$(orphan_zombies)
    ((after <= $1)) || fail "$((after - $1)) zombie(s) left to PID 1"
}

@test "[10.1] only fork's child sees the change the parent made; spawn's and forkserver's do not" {
    run_prog --starts 2
    assert_success
    assert_equal "$stderr" ""
    assert_line --regexp '^start_methods: parent [0-9]+ started the fork server [0-9]+, then set global_value from 1 to 42$'
    assert_equal "$(seen_values | paste -sd,)" "fork 42,spawn 1,forkserver 1"
    assert_line --regexp '^fork +child [0-9]+ sees global_value = 42: the change is seen \(a copy of the parent, made now\)$'
    assert_line --regexp '^spawn +child [0-9]+ sees global_value = 1: not seen \(a fresh program: argv and the job pipe\)$'
    assert_line --regexp '^forkserver child [0-9]+ sees global_value = 1: not seen \(a copy of the fork server, made before the change\)$'
    assert_equal "${lines[-1]}" "as expected: only fork's child saw the change"
}

@test "each child is a process of its own: three pids, none the parent's or the fork server's" {
    run_prog --starts 1
    assert_success
    local parent server pids
    parent=$(sed -nE 's/^start_methods: parent ([0-9]+) .*/\1/p' <<<"$output")
    server=$(sed -nE 's/.* the fork server ([0-9]+),.*/\1/p' <<<"$output")
    pids=$(sed -nE "s/$SEEN.*/\2/p" <<<"$output")
    assert_equal "$(sort -u <<<"$pids" | wc -l)" 3
    ! grep -qx -e "$parent" -e "$server" <<<"$pids" || fail "a child has the parent's or the server's pid: $output"
}

@test "the cost: one line per method, interleaved starts, median and spread in microseconds" {
    run_prog --starts 5
    assert_success
    assert_line "start to answer, per process, 5 starts each: median, and the spread of the middle 80%"
    local costs
    costs=$(grep -E "$COST" <<<"$output")
    assert_equal "$(sed -E "s/$COST/\1/" <<<"$costs" | paste -sd' ')" "fork spawn forkserver"
    local line
    while read -r line; do
        [[ "  $line" =~ $COST ]]
        ((BASH_REMATCH[2] > 0)) || fail "a start cannot take 0 us: $line"
    done <<<"$costs"
    assert_line --index -1 "as expected: only fork's child saw the change"
}

@test "--spawned: a job on stdin, the answer on stdout (how spawn runs the program)" {
    # shellcheck disable=SC2016 # "$0" belongs to the inner bash
    run --separate-stderr run_bounded bash -c 'printf "\x06\0\0\0\0\0\0\0" | "$0" --spawned | od -An -tx8 | tr -s " \n" " "' "$PROG"
    assert_success
    # pid, global_value 1 (a fresh program), 6 squared = 0x24
    [[ $output =~ ^\ [0-9a-f]{16}\ 0000000000000001\ 0000000000000024\ $ ]] || fail "answer: '$output'"
    run_prog --spawned
    assert_failure 1
    assert_equal "$stderr" "start_methods: --spawned: no job on stdin"
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --starts 3
    assert_equal "$status" 0
    assert_no_duplicate_lines
    assert_equal "${#lines[@]}" 9
}

@test "--help prints usage on stdout and exits 0" {
    run_prog --help
    assert_success
    assert_output --partial "usage: start_methods"
    assert_output --partial "--starts"
    assert_output --partial "--spawned"
    assert_equal "$stderr" ""
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--starts|0" "--starts|10001" "--starts|x" "--starts|" "--starts|5x"
    assert_bad_command_lines "--bogus" "stray" "--starts"
}

@test "--timeline=bogus exits 2" {
    run_prog --timeline=bogus
    assert_failure 2
    assert_equal "$output" ""
}

@test "a fork that fails (EAGAIN): a message, exit 1, the fork server and every child reaped" {
    run_prog_injected FAIL_FORK_AFTER=2 -- --starts 2
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "stderr: $stderr"
    assert_forks_gone 2
}

@test "SIGTERM to the parent alone while it measures leaves no process behind" {
    local before
    before=$(orphan_zombies)
    start_bg --starts 10000
    wait_for_line '^forkserver child'
    signal_bg_and_check TERM
    assert_no_new_orphans "$before"
}

@test "SIGINT to the parent alone while it measures leaves no process behind" {
    start_bg --starts 10000
    wait_for_line '^forkserver child'
    signal_bg_and_check INT
}

@test "Ctrl-C (SIGINT to the whole group) while it measures leaves no process behind" {
    local before
    before=$(orphan_zombies)
    start_bg --starts 10000
    wait_for_line '^forkserver child'
    signal_bg_and_check INT group
    assert_no_new_orphans "$before"
}

@test "a fork server stopped with SIGSTOP does not keep SIGTERM to the parent from ending it" {
    local server
    start_bg --starts 10000
    wait_for_line '^forkserver child'
    server=$(sed -nE 's/.* the fork server ([0-9]+),.*/\1/p' "$BG_OUT")
    stop_process "$server"
    signal_bg_and_check TERM
    assert_gone "$server"
}

@test "a child it did not start (left by a shell's exec) is not waited for or counted" {
    run_prog_with_stranger --starts 3
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(seen_values | paste -sd,)" "fork 42,spawn 1,forkserver 1"
}

@test "a full disk on stdout (>/dev/full): a message on stderr and exit 1" {
    run_prog_to_full_disk --starts 2
    assert_failure 1
    assert_equal "$stderr" "start_methods: cannot write to stdout: No space left on device"
}

@test "| head -n 1 ends the run quietly: nothing on stderr, nothing left" {
    run_prog_into_head --starts 50
    assert_success
    assert_equal "$stderr" ""
    assert_output --regexp '^start_methods: parent [0-9]+ started the fork server'
    [[ $PIPE_STATUS =~ ^(0|141)$ ]] || fail "exit status $PIPE_STATUS, expected 0 or 141"
}

@test "--timeline: a row per process; the fork server waits in read, its workers come and go" {
    run_prog --starts 1 --timeline
    assert_success
    assert_line --regexp '^timeline: 8 processes over [0-9.]+ s, one column = [0-9.]+ s$'
    local rows
    rows=$(timeline_rows)
    assert_equal "$(cut -d'|' -f1 <<<"$rows" | paste -sd' ')" "parent fork-server fork spawn worker fork spawn worker"
    grep -q '^fork-server|.*<' <<<"$rows" || fail "the fork server row shows no read: $rows"
}

@test "--trace: valid JSON" {
    command -v python3 >/dev/null || command -v jq >/dev/null ||
        skip "neither python3 nor jq is installed: cannot check the JSON"
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --starts 1 --trace "$trace"
    assert_success
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$trace" >/dev/null || fail "not valid JSON: $(head -c 2000 "$trace")"
    else
        jq empty "$trace" || fail "not valid JSON: $(head -c 2000 "$trace")"
    fi
}
