#!/usr/bin/env bats
# Lesson 01: one child process from start to join (seed example 1).

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 01-process-lifecycle/lifecycle)

STAMP='^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]: '
ZOMBIE_LINE="${STAMP}Main-Process: process p \\(pid [0-9]+\\) has exited, not reaped yet: state Z for "

# Wait (bounded) until the background run's child exists and sleeps.
wait_for_sleeping_child() {
    wait_until 5 "its child does not sleep" child_sleeps
}
child_sleeps() {
    local child
    child=$(children_of "$BG_PID")
    [[ -n $child && $(proc_state "$child") == S ]]
}

# How many lines of $output match the extended regex $1.
count_lines() {
    grep -Ec -- "$1" <<<"$output" || true
}

@test "story lines come in the order the processes make them" {
    run_prog --sleep 0.2
    assert_success
    assert_line_before "${STAMP}Main-Process: before creating process$" "^Sub-Process First: starting$"
    assert_line_before "${STAMP}Main-Process: before creating process$" "${STAMP}Main-Process: during process$"
    assert_line_before "^Sub-Process First: starting$" "^Sub-Process First: finishing$"
    assert_line_before "${STAMP}Main-Process: joining process$" "${STAMP}Main-Process: joined process$"
    assert_line_before "${STAMP}Main-Process: joined process$" "^process p is alive: False$"
    assert_equal "${lines[-1]}" "process p exit code: 0"
    assert_equal "${#lines[@]}" 9
}

@test "log lines carry the seed's HH:MM:SS timestamp, story lines carry none" {
    run_prog --sleep 0.1
    assert_success
    local line logs=0
    for line in "${lines[@]}"; do
        if [[ $line == *Main-Process:* ]]; then
            [[ $line =~ ${STAMP}Main-Process: ]] || fail "log line without HH:MM:SS: stamp: $line"
            logs=$((logs + 1))
        else
            [[ ! $line =~ $STAMP ]] || fail "story line with a timestamp: $line"
        fi
    done
    ((logs >= 4)) || fail "expected at least 4 log lines, saw $logs"
}

@test "the timestamp is the local wall-clock time" {
    local before after stamp
    before=$(date +%s)
    run_prog --sleep 0
    after=$(date +%s)
    stamp=$(printf '%s\n' "${lines[0]}" | cut -c1-8)
    local t
    t=$(date -d "$(date +%F) $stamp" +%s) || fail "not a time: $stamp"
    # Around midnight the date part can differ by a day; allow for it.
    ((t >= before - 1 && t <= after + 1)) || ((t + 86400 >= before - 1 && t + 86400 <= after + 1)) ||
        fail "stamp $stamp is not between $(date -d @"$before" +%T) and $(date -d @"$after" +%T)"
}

@test "is_alive is True while the child runs and False after join" {
    run_prog --sleep 0.3
    assert_success
    assert_equal "$(count_lines '^process p is alive: ')" 2
    assert_line_before "^process p is alive: True$" "${STAMP}Main-Process: joined process$"
    assert_line_before "${STAMP}Main-Process: joined process$" "^process p is alive: False$"
}

@test "[01.1] the child runs prof_func in a process of its own, a child of the parent" {
    start_bg --sleep 30 --terminate-after 30 --name Second # the parent sleeps, the child too
    wait_for_line "^Sub-Process Second: starting$" 3
    local -a kids
    mapfile -t kids < <(children_of "$BG_PID")
    assert_equal "${#kids[@]}" 1
    [[ ${kids[0]} != "$BG_PID" ]] || fail "the child has the parent's pid"
    signal_bg_and_check TERM
}
@test "[01.1] the child prints its two lines, then ends: it never runs the parent's code" {
    # --zombie-for: the parent looks only after the child has exited, so the
    # child's lines are complete by then, on every run.
    run_prog --sleep 0 --zombie-for 0 --name Second
    assert_success
    assert_line_before "^Sub-Process Second: starting$" "^Sub-Process Second: finishing$"
    assert_line_before "^Sub-Process Second: finishing$" "$ZOMBIE_LINE"
    # A child that went on in main() would print the parent's lines too.
    local parent_line
    for parent_line in "before creating process" "during process" "joining process" "joined process"; do
        assert_equal "$(count_lines "Main-Process: $parent_line\$")" 1
    done
    assert_equal "$(count_lines '^process p exit code: ')" 1
    refute_line --partial "First"
}

@test "[01.2] a zombie is not alive: is_alive says False for a child that has exited" {
    run_prog --sleep 0 --zombie-for 0
    assert_success
    assert_line --regexp "${ZOMBIE_LINE}0 s$"
    assert_line_before "$ZOMBIE_LINE" "^process p is alive: False$"
    refute_line "process p is alive: True"
}

@test "[01.2] no SIGTERM is sent to a child that has already exited" {
    run_prog --sleep 0 --zombie-for 0 --terminate-after 0
    assert_success
    assert_line --regexp "${STAMP}Main-Process: process already finished, nothing to terminate$"
    refute_line --regexp "terminating process"
}

@test "[01.3] join reaps the child that ended well: exit code 0, exit status 0" {
    run_prog --sleep 0.1
    assert_success
    assert_line_before "${STAMP}Main-Process: joining process$" "${STAMP}Main-Process: joined process$"
    assert_equal "${lines[-1]}" "process p exit code: 0"
}

@test "[01.3] a child killed from outside: exit code -9 or -15 reaches the exit status" {
    local sig
    for sig in KILL TERM; do
        start_bg --sleep 30
        wait_for_sleeping_child
        local child
        child=$(children_of "$BG_PID")
        [[ -n $child ]] || fail "no child process found"
        kill -"$sig" "$child"
        wait_bg 10
        assert_equal "$BG_STATUS" 1
        grep -qx "process p exit code: -$(kill -l "$sig")" "$BG_OUT" ||
            fail "SIG$sig: no '-$(kill -l "$sig")' exit code: $(show_output "$BG_OUT")"
    done
}

@test "[01.4] terminate: the parent's SIGTERM ends the child before its work is done" {
    # The child would sleep 30 s: the run ends within 5 s only if SIGTERM ended it.
    KIT_RUN_TIMEOUT=5 run_prog --sleep 30 --terminate-after 0.1
    ((status != 124)) || fail "still running after 5 s: the child was not terminated"
    assert_line --regexp "${STAMP}Main-Process: terminating process \\(SIGTERM\\)$"
    refute_line "Sub-Process First: finishing"
}

@test "terminate: exit code -15, exit status 0, and 9 lines" {
    run_prog --sleep 3 --terminate-after 0.1
    assert_success
    assert_line "process p exit code: -15"
    assert_line "process p is alive: False"
    refute_line "Sub-Process First: finishing"
    assert_equal "${#lines[@]}" 9
}

@test "--zombie-for: the child is in state Z in /proc until the parent looks" {
    start_bg --sleep 0 --zombie-for 30
    wait_for_line "$ZOMBIE_LINE" 5
    local child
    child=$(sed -En 's/.*process p \(pid ([0-9]+)\) has exited.*/\1/p' "$BG_OUT")
    assert_equal "$(children_of "$BG_PID")" "$child"
    assert_equal "$(proc_state "$child")" Z
    signal_bg_and_check TERM # the registry reaps a zombie too
}

@test "a SIGCHLD ignored by whoever started it does not break the join" {
    # With SIGCHLD ignored the kernel reaps the child itself, and a parent
    # that kept that setting would find nothing to wait for (ECHILD).
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" --sleep 0
    assert_success
    assert_line "process p exit code: 0"
}

@test "a child the program did not start is not waited for" {
    # The shell's `sleep` becomes lifecycle's child through exec: lifecycle
    # must end without waiting for it, and leave it alone.
    local pidfile="$BATS_TEST_TMPDIR/sleep.pid"
    # shellcheck disable=SC2016 # $! and "$@" belong to the inner sh
    run --separate-stderr run_bounded sh -c 'sleep 30 & echo $! >"$0"; exec "$@"' "$pidfile" "$PROG" --sleep 0
    local stranger
    stranger=$(cat "$pidfile")
    [[ -e /proc/$stranger ]] || fail "the program killed or reaped a child it did not start"
    kill "$stranger"
    assert_success
    assert_line "process p exit code: 0"
    assert_equal "$stderr" ""
}

@test "--help prints usage on stdout and exits 0" {
    local flag opt
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: lifecycle"
        for opt in --name --sleep --terminate-after --zombie-for --timeline --trace; do
            assert_output --partial -- "$opt"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--sleep|abc" "--sleep|-1" "--sleep|1x" "--sleep|" "--sleep|4000" \
        "--sleep|1e3" "--sleep|nan" "--sleep|0x10" "--sleep| 1" "--terminate-after|-0.5" \
        "--terminate-after|soon" "--zombie-for|-1" "--zombie-for|x" "--name|" \
        "--name|$(printf 'n%.0s' {1..65})" "--name|a"$'\t'"b" "--trace|" \
        "--sleep|1"$'\n'"2" # a newline in the value: still one line on stderr
}

@test "an unknown flag, a flag without its value, a stray argument: exit 2" {
    assert_bad_command_lines "--bogus" "--sleep" "extra" "-x 1"
}

@test "--timeline=bogus exits 2 with one line naming --timeline" {
    run_prog --timeline=bogus
    assert_failure 2
    assert_equal "$output" ""
    assert_equal "${#stderr_lines[@]}" 1
    [[ $stderr == *--timeline* ]] || fail "message does not name --timeline: $stderr"
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --sleep 0.1
    assert_success
    assert_no_duplicate_lines
    assert_equal "${#lines[@]}" 9
    assert_equal "$(count_lines '^Sub-Process First: starting$')" 1
}

@test "a write error on stdout (a full disk) gives a message and a non-zero exit" {
    run --separate-stderr bash -c '"$0" --sleep 0 >/dev/full' "$PROG"
    assert_failure
    [[ -n $stderr ]] || fail "no message on stderr"
}

@test "| head -1 ends the run quietly" {
    # shellcheck disable=SC2016 # "$0" belongs to the inner bash
    run --separate-stderr bash -c '"$0" --sleep 0.2 | head -1' "$PROG"
    assert_success
    assert_output --regexp "${STAMP}Main-Process: before creating process$"
    assert_equal "$stderr" ""
}

@test "a fork that fails gives a clear message, exit 1, and starts nothing" {
    run_prog_injected FAIL_FORK_AFTER=0 -- --sleep 30
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    refute_line --partial "Sub-Process"
    assert_forks_gone 0
}

@test "--timeline: a row for the parent and one for the child, whose zombie time shows as Z" {
    run_prog --sleep 0.05 --zombie-for 0.1 --timeline
    assert_success
    # The story first: 10 lines with --zombie-for, the zombie line before the first is_alive.
    assert_equal "$(sed -n '/^timeline: /q;p' <<<"$output" | wc -l)" 10
    assert_line_before "$ZOMBIE_LINE" "^process p is alive: False$"
    local parent child
    parent=$(grep -E '^parent +\|' <<<"$output") || fail "no parent row: $output"
    child=$(grep -E '^First +\|' <<<"$output") || fail "no row for the child: $output"
    [[ $child == *ZZZ* ]] || fail "the child's row shows no zombie time: $child"
    [[ $child == *s* ]] || fail "the child's row shows no sleep: $child"
    assert_equal "$(grep -cE '^[A-Za-z]+ +\|' <<<"$output")" 2
    local line
    while IFS= read -r line; do
        ((${#line} <= 80)) || fail "timeline row wider than 80 columns: $line"
    done < <(grep -E '^[A-Za-z]+ +\|' <<<"$output")
}

@test "--trace writes valid JSON with the child's zombie phase" {
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --sleep 0 --zombie-for 0.05 --trace "$trace"
    assert_success
    assert_valid_json "$trace"
    grep -q '"zombie"' "$trace" || fail "no zombie phase in the trace"
}

@test "SIGTERM to the parent alone while the child sleeps leaves no process behind" {
    start_bg --sleep 30
    wait_for_sleeping_child
    signal_bg_and_check TERM
}

@test "SIGINT to the parent alone while the child sleeps leaves no process behind" {
    start_bg --sleep 30
    wait_for_sleeping_child
    signal_bg_and_check INT
}

@test "Ctrl-C (SIGINT to the whole process group) leaves no process behind" {
    start_bg --sleep 30
    wait_for_sleeping_child
    signal_bg_and_check INT group
}

@test "SIGTERM during --terminate-after's wait leaves no process behind" {
    start_bg --sleep 30 --terminate-after 20
    wait_for_sleeping_child
    signal_bg_and_check TERM
}

@test "SIGTERM to the parent while the child is stopped (kill -STOP) leaves no process behind" {
    start_bg --sleep 30
    wait_for_sleeping_child
    stop_process "$(children_of "$BG_PID")"
    signal_bg_and_check TERM
}
