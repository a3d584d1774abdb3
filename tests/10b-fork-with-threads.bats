#!/usr/bin/env bats
# Lesson 10b: fork() while a second thread holds a lock. The forked child's
# pthread_mutex_lock() never returns, on every run (the thread is known to
# hold the lock before the fork: a semaphore, not a sleep); the program
# catches it with a deadline, kills and reaps it; spawn's and forkserver's
# children take the lock and answer.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
PROG=$(lesson 10b-fork-with-threads/fork_threads)

STUCK='^fork +child ([0-9]+): no answer after ([0-9.]+) s, still in pthread_mutex_lock \(state (.)\): the thread that held job_lock was not copied, nothing will unlock it; killed and reaped$'

timeline_rows() {
    sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|\(.*\)|$/\1|\2/p'
}

# Start a run whose fork child waits for the lock for 30 s, and wait (bounded)
# until that child exists: the parent's children are the server and it.
start_stuck_run() {
    start_bg --timeout 30
    wait_for_line '^fork_threads: a second thread holds job_lock'
    wait_for_children 2
}

@test "[10b.1] fork's child is stuck in the lock: caught after --timeout, killed and reaped; exit 0" {
    run_prog --timeout 0.2
    assert_success
    assert_equal "$stderr" ""
    assert_equal "${lines[0]}" "fork_threads: a second thread holds job_lock while the main thread starts each child"
    assert_line --index 1 --regexp "$STUCK"
    [[ ${lines[1]} =~ $STUCK ]]
    assert_equal "${BASH_REMATCH[2]}" "0.20"
    assert_gone "${BASH_REMATCH[1]}"
    assert_equal "${lines[-1]}" "as expected: only fork's child got stuck"
}

@test "[10b.1] the stuck child is asleep in the lock, not running: state S, every run" {
    local run
    for run in 1 2 3; do
        run_prog --timeout 0.1
        assert_success
        [[ ${lines[1]} =~ $STUCK ]] || fail "run $run: $output"
        assert_equal "${BASH_REMATCH[3]}" "S"
    done
}

@test "spawn's and forkserver's children take job_lock and answer 49 while the thread holds it" {
    run_prog --timeout 0.2
    assert_line --index 2 --regexp '^spawn +child [0-9]+ took job_lock and answered 49$'
    assert_line --index 3 --regexp '^forkserver child [0-9]+ took job_lock and answered 49$'
    assert_equal "${#lines[@]}" 5
}

@test "--help prints usage on stdout and exits 0" {
    run_prog --help
    assert_success
    assert_output --partial "usage: fork_threads"
    assert_output --partial "--timeout"
    assert_equal "$stderr" ""
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--timeout|0" "--timeout|0.001" "--timeout|61" "--timeout|x" "--timeout|" "--timeout|-1"
    assert_bad_command_lines "--bogus" "stray" "--timeout"
}

@test "SIGTERM to the parent alone while the fork child is stuck leaves no process behind" {
    local before
    before=$(orphan_zombies)
    start_stuck_run
    signal_bg_and_check TERM
    assert_equal "$(orphan_zombies)" "$before"
}

@test "SIGINT to the parent alone while the fork child is stuck leaves no process behind" {
    start_stuck_run
    signal_bg_and_check INT
}

@test "Ctrl-C (SIGINT to the whole group) while the fork child is stuck leaves no process behind" {
    start_stuck_run
    signal_bg_and_check INT group
}

@test "a stuck child also stopped with SIGSTOP does not keep SIGTERM to the parent from ending it" {
    start_stuck_run
    local child
    for child in $(children_of "$BG_PID"); do stop_process "$child"; done
    signal_bg_and_check TERM
}

@test "a child it did not start (left by a shell's exec) is not waited for or counted" {
    run_prog_with_stranger --timeout 0.1
    assert_success
    assert_equal "$stderr" ""
    assert_equal "${lines[-1]}" "as expected: only fork's child got stuck"
}

@test "a full disk on stdout (>/dev/full): a message on stderr and exit 1" {
    run_prog_to_full_disk --timeout 0.1
    assert_failure 1
    assert_equal "$stderr" "fork_threads: cannot write to stdout: No space left on device"
}

@test "| head -n 1 ends the run quietly: nothing on stderr, nothing left" {
    run_prog_into_head --timeout 0.1
    assert_success
    assert_equal "$stderr" ""
    assert_output "fork_threads: a second thread holds job_lock while the main thread starts each child"
    [[ $PIPE_STATUS =~ ^(0|141)$ ]] || fail "exit status $PIPE_STATUS, expected 0 or 141"
}

@test "[10b.1] --timeline: the fork row waits for the lock (L) until it is killed; --trace is valid JSON" {
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --timeout 0.2 --timeline --trace "$trace"
    assert_success
    assert_line --regexp '^timeline: 5 processes over [0-9.]+ s, one column = [0-9.]+ s$'
    local rows
    rows=$(timeline_rows)
    assert_equal "$(cut -d'|' -f1 <<<"$rows" | paste -sd' ')" "parent fork-server fork spawn worker"
    grep -qE '^fork\|[^|L]{0,4}L{20,}' <<<"$rows" || fail "the fork row does not wait for the lock: $rows"
    grep -qE '^parent\|#*\.{10,}' <<<"$rows" || fail "the parent row does not wait for the answer: $rows"
    assert_valid_json "$trace"
}

@test "--timeline=bogus exits 2" {
    run_prog --timeline=bogus
    assert_failure 2
    assert_equal "$output" ""
}
