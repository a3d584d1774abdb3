#!/usr/bin/env bats
# Lesson 03c: a process dies holding a process-shared robust mutex; the
# next locker gets EOWNERDEAD, repairs, marks it consistent; without that,
# ENOTRECOVERABLE; an ordinary mutex stays locked for ever.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 03c-robust-mutex/robust_mutex)

@test "[03c.1] the owner is killed holding the mutex; the next locker is told: EOWNERDEAD" {
    run_prog --wait 0.5
    assert_line --index 0 --regexp '^Parent process ID: [0-9]+; the mutex is process-shared and robust$'
    assert_line "Parent: before: a = 1000, b = 1000, total 2000, pending 0"
    assert_line "Owner: locked the mutex, took 100 from a; killed before it adds them to b"
    assert_line --regexp '^Parent: Owner \(pid [0-9]+\) ended: killed by signal 9 \(Killed\)$'
    assert_line "Next: pthread_mutex_lock returned EOWNERDEAD: I hold the lock, its owner died inside it"
    assert_line "Next: found: a = 900, b = 1000, total 1900, pending 100"
    refute_line --partial "still waiting"
    assert_line_before '^Parent: Owner ' '^Next: pthread_mutex_lock returned EOWNERDEAD'
}

@test "[03c.2] the next locker repairs from the journal and marks it consistent: it works again" {
    run_prog --wait 0.5
    assert_success
    assert_line "Next: repaired from the journal: a = 900, b = 1100, total 2000, pending 0"
    assert_line "Next: pthread_mutex_consistent: the mutex works again after this unlock"
    assert_line --regexp '^Parent: Next \(pid [0-9]+\) ended: exit code 0$'
    assert_equal "${lines[-1]}" "Parent: locked it normally: a = 900, b = 1100, total 2000, pending 0"
    assert_equal "$stderr" ""
}

@test "[03c.2] --no-consistent: repaired, but the mutex is dead for good: ENOTRECOVERABLE" {
    run_prog --no-consistent --wait 0.5
    assert_success
    assert_line "Next: repaired from the journal: a = 900, b = 1100, total 2000, pending 0"
    assert_line "Next: unlocks WITHOUT pthread_mutex_consistent (--no-consistent)"
    refute_line --partial "pthread_mutex_consistent: the mutex works again"
    assert_equal "${lines[-1]}" \
        "Parent: pthread_mutex_lock returned ENOTRECOVERABLE: no one said consistent, the mutex is dead for good"
}

@test "--not-robust: no one is told; every later locker waits until it gives up" {
    run_prog --not-robust --wait 0.1
    assert_success
    assert_line --index 0 --regexp '; the mutex is process-shared, NOT robust$'
    assert_line "Next: still waiting for the mutex after 0.1 s: its owner is dead and no one will ever unlock it"
    assert_equal "${lines[-1]}" \
        "Parent: still waiting for the mutex after 0.1 s: its owner is dead and no one will ever unlock it"
    refute_line --partial EOWNERDEAD
}

@test "the same story on every run" {
    local first
    for _ in 1 2 3 4 5; do
        run_prog --wait 0.5
        assert_success
        local story
        story=$(sed 's/pid [0-9]*/pid P/; s/ID: [0-9]*/ID: P/' <<<"$output")
        [[ -z $first ]] && first=$story
        assert_equal "$story" "$first"
    done
    assert_equal "${#lines[@]}" 10
}

@test "--timeline: a row each for the parent, the owner and the next locker; --trace is valid JSON" {
    run_prog --timeline --wait 0.5
    assert_success
    assert_line --regexp '^timeline: 3 processes '
    local rows
    rows=$(sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|.*|$/\1/p' | paste -sd' ')
    assert_equal "$rows" "parent Owner Next"
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --trace "$trace" --wait 0.5
    assert_success
    assert_valid_json "$trace"
    grep -q 'killed holding the lock' "$trace" || fail "no mark for the owner's death in the trace"
}

@test "--help, and bad input exits 2 before anything starts" {
    run_prog --help
    assert_success
    local word
    for word in usage: --no-consistent --not-robust --wait --timeline --trace; do
        assert_output --partial -- "$word"
    done
    assert_bad_values "--wait|0" "--wait|61" "--wait|x" "--wait|-1"
    assert_bad_command_lines "--bogus" "--wait" "extra" "--not-robust --no-consistent"
    run_prog --timeline=bogus
    assert_failure 2
}

@test "a child it did not start is not waited for or counted; >/dev/full and | head behave" {
    run_prog_with_stranger --wait 0.5
    assert_success
    assert_equal "${lines[-1]}" "Parent: locked it normally: a = 900, b = 1100, total 2000, pending 0"
    run_prog_to_full_disk
    assert_failure 1
    assert_equal "$stderr" "robust_mutex: cannot write to stdout: No space left on device"
    run_prog_into_head
    assert_success
    assert_equal "$stderr" ""
}

@test "SIGTERM to the parent while the next locker waits leaves nothing behind" {
    start_bg --not-robust --wait 30
    wait_for_line '^Parent: Owner '
    wait_for_children 1
    signal_bg_and_check TERM
}

@test "Ctrl-C (SIGINT to the group) while the next locker waits leaves nothing behind" {
    start_bg --not-robust --wait 30
    wait_for_line '^Parent: Owner '
    wait_for_children 1
    signal_bg_and_check INT group
}

@test "a fork that fails (EAGAIN): a clear message, exit 1, nothing left" {
    run_prog_injected FAIL_FORK_AFTER=1 -- --wait 0.5
    assert_failure 1
    [[ $stderr == *"fork for Next: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    assert_forks_gone 1
}
