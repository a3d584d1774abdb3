#!/usr/bin/env bats
# Lesson 01: one child process from start to join (seed example 1).

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 01-process-lifecycle/lifecycle)

STAMP='^[0-2][0-9]:[0-5][0-9]:[0-5][0-9]: '

@test "story lines come in the order the processes make them" {
    run_prog --sleep 0.3
    assert_success
    assert_line_before "${STAMP}Main-Process: before creating process$" "^Sub-Process First: starting$"
    assert_line_before "${STAMP}Main-Process: before creating process$" "${STAMP}Main-Process: during process$"
    assert_line_before "^Sub-Process First: starting$" "^Sub-Process First: finishing$"
    assert_line_before "${STAMP}Main-Process: joining process$" "${STAMP}Main-Process: joined process$"
    assert_line_before "^Sub-Process First: finishing$" "${STAMP}Main-Process: joined process$"
    assert_line_before "${STAMP}Main-Process: joined process$" "^process p is alive: False$"
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
    run_prog --sleep 0.5
    assert_success
    assert_equal "$(grep -c '^process p is alive: ' <<<"$output")" 2
    assert_line_before "^process p is alive: True$" "${STAMP}Main-Process: joined process$"
    assert_line_before "${STAMP}Main-Process: joined process$" "^process p is alive: False$"
}

@test "a child that finishes gives exit code 0 and exit status 0" {
    run_prog --sleep 0
    assert_success
    assert_line "process p exit code: 0"
    assert_line "Sub-Process First: finishing"
}

@test "terminate: SIGTERM gives exit code -15 and no finishing line" {
    run_prog --sleep 10 --terminate-after 0.3
    assert_success
    assert_line --regexp "${STAMP}Main-Process: terminating process"
    assert_line "process p exit code: -15"
    assert_line "process p is alive: False"
    refute_line "Sub-Process First: finishing"
}

@test "a zombie is not alive: no SIGTERM is sent to a child that already exited" {
    run_prog --sleep 0 --terminate-after 0.5
    assert_success
    assert_line --regexp "already finished"
    refute_line --regexp "terminating process"
    assert_line "process p exit code: 0"
}

@test "a SIGCHLD ignored by whoever started it does not break the join" {
    # With SIGCHLD ignored the kernel reaps the child itself, and a parent
    # that kept that setting would find nothing to wait for (ECHILD).
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" --sleep 0
    assert_success
    assert_line "process p exit code: 0"
}

@test "--name names the child" {
    run_prog --name Second --sleep 0
    assert_success
    assert_line "Sub-Process Second: starting"
    assert_line "Sub-Process Second: finishing"
    refute_line --partial "First"
}

@test "--help prints usage on stdout and exits 0" {
    local flag
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: lifecycle"
        assert_output --partial "--name"
        assert_output --partial "--sleep"
        assert_output --partial "--terminate-after"
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--sleep|abc" "--sleep|-1" "--sleep|1x" "--sleep|" "--sleep|4000" \
        "--sleep|1e3" "--sleep|nan" "--sleep|0x10" "--sleep| 1" "--terminate-after|-0.5" \
        "--terminate-after|soon" "--name|" "--name|$(printf 'n%.0s' {1..65})" \
        "--sleep|1"$'\n'"2" # a newline in the value: still one line on stderr
}

@test "an unknown flag, a flag without its value, a stray argument: exit 2" {
    assert_bad_command_lines "--bogus" "--sleep" "extra" "-x 1"
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --sleep 0.1
    assert_success
    assert_no_duplicate_lines
    assert_equal "${#lines[@]}" 9
    assert_equal "$(grep -c '^Sub-Process First: starting$' <<<"$output")" 1
}

@test "a child killed by someone else: exit code -9 reaches the exit status" {
    start_bg --sleep 30
    wait_for_line "^Sub-Process First: starting$"
    local child
    child=$(children_of "$BG_PID")
    [[ -n $child ]] || fail "no child process found"
    kill -KILL "$child"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qx "process p exit code: -9" "$BG_OUT" || fail "no '-9' exit code: $(show_output "$BG_OUT")"
}

@test "SIGTERM to the parent alone while the child sleeps leaves no process behind" {
    start_bg --sleep 30
    wait_for_line "^Sub-Process First: starting$"
    signal_bg_and_check TERM
}

@test "SIGINT to the parent alone while the child sleeps leaves no process behind" {
    start_bg --sleep 30
    wait_for_line "^Sub-Process First: starting$"
    signal_bg_and_check INT
}

@test "Ctrl-C (SIGINT to the whole process group) leaves no process behind" {
    start_bg --sleep 30
    wait_for_line "^Sub-Process First: starting$"
    signal_bg_and_check INT group
}

@test "SIGTERM during --terminate-after's wait leaves no process behind" {
    start_bg --sleep 30 --terminate-after 20
    wait_for_line "^Sub-Process First: starting$"
    signal_bg_and_check TERM
}

@test "SIGTERM to the parent while the child is stopped (kill -STOP) leaves no process behind" {
    start_bg --sleep 30
    wait_for_line "^Sub-Process First: starting$"
    stop_process "$(children_of "$BG_PID")"
    signal_bg_and_check TERM
}
