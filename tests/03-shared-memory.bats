#!/usr/bin/env bats
# Lesson 03: a Value and an Array shared by 9 processes (seed example 3),
# the lost update (--widen makes it certain), and its three fixes.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 03-shared-memory/shared_counter)

FINAL_RE='^Final data in parent process: ([0-9]+) \(expected ([0-9]+), lost (-?[0-9]+)\)$'
DATA_RE='^(Process-[0-9]+) data: ([0-9]+)$'

# From the last line of $output: FINAL, EXPECTED and LOST; fails if the
# last line is not the Final line.
read_final() {
    local last=${lines[-1]}
    [[ $last =~ $FINAL_RE ]] || fail "last line is not the Final line: '$last'
$output"
    FINAL=${BASH_REMATCH[1]} EXPECTED=${BASH_REMATCH[2]} LOST=${BASH_REMATCH[3]}
    ((LOST == EXPECTED - FINAL)) || fail "lost $LOST is not $EXPECTED - $FINAL"
}

# The workers' data lines: NAMES (sorted, one per line) and VALUES (array).
read_data_lines() {
    NAMES='' VALUES=()
    local line
    for line in "${lines[@]}"; do
        if [[ $line =~ $DATA_RE ]]; then
            NAMES+="${BASH_REMATCH[1]}"$'\n'
            VALUES+=("${BASH_REMATCH[2]}")
        fi
    done
    NAMES=$(sort <<<"${NAMES%$'\n'}")
}

# "Process-1" .. "Process-N", sorted as read_data_lines sorts them.
expected_names() {
    seq 1 "$1" | sed 's/^/Process-/' | sort
}

# One locked run: exit 0, the exact total, every worker's line, each worker
# saw at least its own updates and the largest value seen is the total.
assert_exact_run() {
    local procs=$1 iters=$2
    shift 2
    run_prog --procs "$procs" --iters "$iters" "$@"
    [[ $status == 0 ]] || fail "$* (exit $status; a hang ends at the time limit with 124): $stderr"
    read_final
    local total=$((procs * iters))
    [[ $FINAL == "$total" && $LOST == 0 ]] || fail "$*: $FINAL of $total"
    read_data_lines
    assert_equal "$NAMES" "$(expected_names "$procs")"
    local v max=0
    for v in "${VALUES[@]}"; do
        ((v >= iters && v <= total)) || fail "$*: a worker saw $v"
        ((v > max)) && max=$v
    done
    assert_equal "$max" "$total"
}

@test "the default run is the seed: 9 data lines, then the Final line, no lock" {
    run_prog
    assert_success
    assert_line --index 0 --regexp '^Parent process ID: [0-9]+$'
    assert_line --index 1 "9 processes x 50 increments, --lock none, shared memory"
    read_data_lines
    assert_equal "$NAMES" "$(expected_names 9)"
    read_final
    assert_equal "$EXPECTED" 450
    ((FINAL >= 1 && FINAL <= 450)) || fail "final $FINAL is not within 1..450"
    local v
    for v in "${VALUES[@]}"; do
        # Without a lock a stale store can lower the counter, but every
        # store writes some loaded value + 1, never above the adds made.
        ((v >= 1 && v <= 450)) || fail "a worker saw $v"
    done
    assert_no_duplicate_lines
}

@test "[03.1] the counter and the array are shared: exact with --lock atomic, the array grown by --iters" {
    run_prog --lock atomic --iters 1000
    assert_success
    read_final
    assert_equal "$FINAL" 9000
    assert_line "Final array in parent process: [1000, 1001, 1002, ..., 1048, 1049]"
    assert_line --regexp '^array check: ok'
}

@test "[03.1] the shared memory is an anonymous shared mapping: no named object" {
    start_bg --lock mutex --widen --iters 10000000 --procs 3
    wait_for_children 3
    local maps
    maps=$(cat "/proc/$BG_PID/maps")
    # MAP_SHARED|MAP_ANONYMOUS: flags rw-s, shown as /dev/zero (deleted).
    grep -Eq ' rw-s .*/dev/zero \(deleted\)$' <<<"$maps" || fail "no anonymous shared mapping:
$maps"
    ! grep -q '/dev/shm/' <<<"$maps" || fail "a /dev/shm object is mapped"
    signal_bg_and_check TERM
}

@test "[03.2] --lock mutex is exact on every run, also with --widen (the mutex is process-shared)" {
    # A mutex that is not process-shared hangs here: a waiter is never woken
    # by another process's unlock. The time limit turns that into a failure.
    local run
    for run in 1 2; do
        KIT_RUN_TIMEOUT=5 assert_exact_run 9 30 --lock mutex --widen
        KIT_RUN_TIMEOUT=5 assert_exact_run 9 10000 --lock mutex
    done
}

@test "--lock semaphore and --lock atomic are exact on every run, also with --widen" {
    local mode run
    for mode in semaphore atomic; do
        for run in 1 2; do
            assert_exact_run 9 30 --lock "$mode" --widen
            assert_exact_run 9 10000 --lock "$mode"
        done
    done
}

@test "--lock none never exceeds the true total" {
    # All that is guaranteed without a lock: no value above the increments
    # made, and at least 1 (a stale store can drop the counter far down).
    local run v
    for run in 1 2; do
        run_prog --lock none --iters 100000
        assert_success
        read_final
        assert_equal "$EXPECTED" 900000
        ((FINAL >= 1 && FINAL <= 900000)) || fail "run $run: final $FINAL"
        read_data_lines
        assert_equal "$NAMES" "$(expected_names 9)"
        for v in "${VALUES[@]}"; do
            ((v >= 1 && v <= 900000)) || fail "run $run: a worker saw $v"
        done
    done
}

@test "--widen loses updates on every run, also with every process on one core" {
    # The default run (9 x 50) once, then shorter ones: a yield on a busy
    # machine may cost a time slice.
    local run args=()
    for run in 1 2 3 4 5; do
        run_prog --lock none --widen "${args[@]}"
        assert_success
        read_final
        ((LOST > 0 && FINAL <= EXPECTED)) || fail "run $run: final $FINAL, lost $LOST"
        [[ $run == 1 ]] && assert_line --index 1 "9 processes x 50 increments, --lock none, shared memory, widened"
        args=(--iters 10)
    done
    command -v taskset >/dev/null || skip "taskset is not installed: the one-core runs were not made"
    args=()
    for run in 1 2 3 4 5; do
        run --separate-stderr run_bounded taskset -c 0 "$PROG" --lock none --widen "${args[@]}"
        assert_success
        read_final
        ((LOST > 0)) || fail "pinned run $run lost nothing: $output"
        args=(--iters 10)
    done
}

@test "the array: each worker owns its slice, so it is exact even with no lock, for any number of processes" {
    local procs
    for procs in 1 2 7 50; do
        run_prog --procs "$procs" --iters 1000
        assert_success
        assert_line "Final array in parent process: [1000, 1001, 1002, ..., 1048, 1049]"
        assert_line "array check: ok (each element grew by --iters: every worker owned its own slice, no lock)"
        read_data_lines
        assert_equal "$NAMES" "$(expected_names "$procs")"
        read_final
        assert_equal "$EXPECTED" $((procs * 1000))
    done
}

@test "--private: each child changes its own copy; the parent says nothing was lost, not 'lost 9000'" {
    run_prog --private --iters 1000
    assert_success
    assert_line --index 1 "9 processes x 1000 increments, --lock none, private memory"
    read_data_lines
    assert_equal "$NAMES" "$(expected_names 9)"
    local v
    for v in "${VALUES[@]}"; do
        assert_equal "$v" 1000 # each child counted alone, in its copy
    done
    assert_equal "${lines[-1]}" \
        "Final data in parent process: 0 (private memory: each child added 1000 to its own copy, nothing was lost)"
    refute_output --partial "lost 9000"
    assert_line "Final array in parent process: [0, 1, 2, ..., 48, 49]"
    assert_line "array check: ok (unchanged: each child changed only its own copy)"
}

@test "--timeline: one row per process, the same exact count; --trace is valid JSON" {
    run_prog --lock mutex --procs 4 --iters 2000 --timeline
    assert_success
    assert_line "Final data in parent process: 8000 (expected 8000, lost 0)"
    assert_line --regexp '^timeline: 5 processes '
    local rows
    rows=$(sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|.*|$/\1/p' | paste -sd' ')
    assert_equal "$rows" "parent Process-1 Process-2 Process-3 Process-4"
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --lock atomic --iters 1000 --trace "$trace"
    assert_success
    read_final
    assert_equal "$FINAL" 9000
    assert_valid_json "$trace"
}

@test "--help prints usage on stdout and exits 0" {
    local flag word
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: shared_counter"
        for word in --procs --iters --lock none mutex semaphore atomic --private --widen --timeline --trace; do
            assert_output --partial -- "$word"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--procs|0" "--procs|51" "--procs|-3" "--procs|abc" "--procs|9x" "--procs|" \
        "--iters|0" "--iters|10000001" "--iters|1e5" "--iters|-1" "--iters| 5" \
        "--lock|spin" "--lock|" "--lock|Mutex" "--lock|all"
    run_prog --lock spin
    [[ $stderr == *"none, mutex, semaphore, atomic"* ]] || fail "modes not listed: $stderr"
    assert_bad_command_lines "--bogus" "--procs" "--lock" "extra"
    run_prog --timeline=bogus
    assert_failure 2
    [[ $stderr == *--timeline* ]] || fail "no message naming --timeline: $stderr"
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --procs 50 --iters 1000 --lock atomic
    assert_success
    assert_no_duplicate_lines
    assert_equal "${#lines[@]}" $((2 + 50 + 3))
    local line
    for line in "${lines[@]}"; do
        [[ $line =~ ^(Parent\ process\ ID:|50\ processes|Process-[0-9]+\ data:\ [0-9]+$|Final\ array|array\ check:\ ok|Final\ data) ]] ||
            fail "torn or unknown line: $line"
    done
}

@test "a SIGCHLD ignored by whoever started it does not stop the join" {
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" --lock mutex --iters 1000
    assert_success
    read_data_lines
    assert_equal "$NAMES" "$(expected_names 9)"
    read_final
    assert_equal "$FINAL" 9000
}

@test "a child it did not start (left by a shell's exec) is not waited for or counted" {
    run_prog_with_stranger --lock mutex --procs 3 --iters 1000 --timeline
    assert_success
    assert_equal "$stderr" ""
    read_data_lines
    assert_equal "$NAMES" "$(expected_names 3)"
    assert_line "Final data in parent process: 3000 (expected 3000, lost 0)"
    assert_line --regexp '^timeline: 4 processes '
}

@test "a full disk on stdout (>/dev/full): a message on stderr and exit 1" {
    run_prog_to_full_disk --iters 1000
    assert_failure 1
    assert_equal "$stderr" "shared_counter: cannot write to stdout: No space left on device"
}

@test "| head -n 1 ends the run quietly: no message about signal 13, nothing left" {
    run_prog_into_head --lock atomic --iters 100000
    assert_success
    assert_equal "$stderr" ""
    assert_output --regexp '^Parent process ID: [0-9]+$'
    [[ $PIPE_STATUS =~ ^(0|141)$ ]] || fail "exit status $PIPE_STATUS, expected 0 or 141"
}

@test "a worker stopped with SIGSTOP does not keep SIGTERM to the parent from ending it" {
    start_bg --lock mutex --widen --iters 10000000 --procs 3
    wait_for_children 3
    stop_process "$(children_of "$BG_PID" | head -n 1)"
    signal_bg_and_check TERM
}

@test "SIGTERM to the parent alone while workers count leaves no process behind" {
    start_bg --lock mutex --widen --iters 10000000
    wait_for_children 9
    signal_bg_and_check TERM
}

@test "Ctrl-C (SIGINT to the whole group) while workers wait for the lock leaves nothing" {
    start_bg --lock mutex --widen --iters 10000000
    wait_for_children 9
    signal_bg_and_check INT group
}

@test "SIGINT to the parent alone leaves no process behind, with 50 workers" {
    start_bg --lock mutex --widen --iters 10000000 --procs 50
    wait_for_children 50
    signal_bg_and_check INT
}

@test "workers killed by someone else: the parent says so, blames no lock, and exits 1" {
    # --lock mutex --widen: each update takes microseconds (the holder yields
    # the CPU), so the workers are still counting when they are all killed.
    start_bg --lock mutex --widen --iters 10000000 --procs 3
    wait_for_children 3
    local pid
    for pid in $(children_of "$BG_PID"); do
        kill -KILL "$pid"
    done
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    assert_equal "$(grep -Ec '^shared_counter: Process-[1-3] killed by signal 9 \(Killed\): its updates are missing$' "$BG_OUT")" 3
    ! grep -q 'the final value is wrong' "$BG_OUT" || fail "it blames the lock, not the dead workers"
}

@test "a fork that fails (EAGAIN) stops and reaps the workers waiting at the gate" {
    # The 5 workers started wait at the start gate for ever unless stopped.
    run_prog_injected FAIL_FORK_AFTER=5 -- --procs 9
    assert_failure 1
    [[ $stderr == *"fork for Process-6 of 9: Resource temporarily unavailable"* ]] ||
        fail "no clear fork message: $stderr"
    assert_forks_gone 5
    refute_line --regexp "$DATA_RE|^Final"
}
