#!/usr/bin/env bats
# Lesson 03b: what each fix of the lost update costs, per update, one
# process alone and one process per core on the same counter.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 03b-lock-cost/lock_cost)

QUICK=(--iters 20000 --repeats 3)
CELL='([0-9]+\.[0-9]) \[([0-9]+\.[0-9])-([0-9]+\.[0-9])\]'

# The table row of mode $1 in $output: fails if there is none.
row_of() {
    grep -E "^$1 " <<<"$output" || fail "no row for $1: $output"
}

@test "the table: a header, one row per mode in order, the legend" {
    run_prog "${QUICK[@]}" --procs 2
    assert_success
    assert_line --index 0 "20000 updates per process and run, 3 repeats interleaved; contended: 2 processes, $(nproc) core(s) allowed"
    assert_line --index 2 --regexp '^mode +wall +cpu +wall +cpu +cores busy +wall +cpu$'
    assert_equal "$(sed -n '4,7p' <<<"$output" | cut -d' ' -f1 | paste -sd' ')" "none atomic mutex semaphore"
    assert_line --regexp "^none .* wrong(: lost updates|, though none lost this time)$"
    assert_line --partial "median over the repeats [min-max]"
    assert_equal "$stderr" ""
}

@test "[03b.1] every figure is a time: median within its own spread, above zero" {
    run_prog "${QUICK[@]}" --procs 2
    assert_success
    local mode row
    for mode in none atomic mutex semaphore; do
        row=$(row_of "$mode")
        local rest=$row n=0
        while [[ $rest =~ $CELL ]]; do
            local mid=${BASH_REMATCH[1]} lo=${BASH_REMATCH[2]} hi=${BASH_REMATCH[3]}
            rest=${rest#*"${BASH_REMATCH[0]}"}
            n=$((n + 1))
            awk -v m="$mid" -v l="$lo" -v h="$hi" 'BEGIN { exit !(l <= m && m <= h && h > 0) }' ||
                fail "$mode: cell $n is $mid [$lo-$hi]: $row"
            # Wall ns per update (cells 1 and 3) is a real time; CPU ns (2 and 4)
            # comes in clock ticks and may round to 0.0 for the cheapest mode.
            if ((n <= 4 && n % 2 == 1)); then
                awk -v m="$mid" 'BEGIN { exit !(m > 0) }' || fail "$mode: cell $n is 0: $row"
            fi
        done
        assert_equal "$n" 5 # alone wall and cpu, contended wall and cpu, cores busy
        [[ $row =~ ([0-9]+\.[0-9])x\ +([0-9]+\.[0-9])x ]] || fail "$mode: no contended/alone ratios: $row"
    done
}

@test "every lock keeps the count exact alone and contended (the program checks it)" {
    local mode
    for mode in atomic mutex semaphore; do
        run_prog --iters 20000 --repeats 2 --procs 3 --lock "$mode"
        assert_success
        row_of "$mode" >/dev/null
        assert_equal "$(grep -cE '^(none|atomic|mutex|semaphore) ' <<<"$output")" 1
    done
}

@test "--lock none alone: one row, said to be wrong" {
    run_prog --lock none "${QUICK[@]}"
    assert_success
    assert_equal "$(grep -cE '^(none|atomic|mutex|semaphore) ' <<<"$output")" 1
    row_of none | grep -Eq 'wrong' || fail "the none row does not say it is wrong: $output"
}

@test "pinned to one core: at most about one core busy, and it says 1 core allowed" {
    command -v taskset >/dev/null || skip "taskset is not installed"
    run --separate-stderr run_bounded taskset -c 0 "$PROG" "${QUICK[@]}" --lock atomic
    assert_success
    assert_line --index 0 --partial "contended: 2 processes, 1 core(s) allowed"
    local row
    row=$(row_of atomic)
    [[ $row =~ $CELL\ +$CELL\ +$CELL\ +$CELL\ +$CELL ]] || fail "row: $row"
    awk -v b="${BASH_REMATCH[13]}" 'BEGIN { exit !(b <= 1.2) }' || fail "cores busy ${BASH_REMATCH[13]} on one core: $row"
}

@test "--help prints usage on stdout and exits 0" {
    run_prog --help
    assert_success
    local word
    for word in usage: --procs --iters --repeats --lock none atomic mutex semaphore all --timeline --trace; do
        assert_output --partial -- "$word"
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--procs|-1" "--procs|65" "--procs|x" "--iters|999" "--iters|100000001" "--iters|1e6" \
        "--repeats|0" "--repeats|100" "--lock|spin" "--lock|"
    assert_bad_command_lines "--bogus" "--iters" "extra"
    run_prog --timeline=bogus
    assert_failure 2
}

@test "--timeline: a row per process, alone and contended; --trace is valid JSON" {
    run_prog --lock atomic --iters 20000 --repeats 1 --procs 2 --timeline
    assert_success
    assert_line --regexp '^timeline: 4 processes '
    local rows
    rows=$(sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|.*|$/\1/p' | paste -sd' ')
    assert_equal "$rows" "parent alone contended contended"
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --lock mutex --iters 20000 --repeats 1 --trace "$trace"
    assert_success
    assert_valid_json "$trace"
}

@test "a child it did not start is not waited for or counted" {
    run_prog_with_stranger --lock mutex "${QUICK[@]}"
    assert_success
    assert_equal "$stderr" ""
    row_of mutex >/dev/null
}

@test "a full disk on stdout: a message and exit 1; | head -n 1 ends quietly" {
    run_prog_to_full_disk "${QUICK[@]}"
    assert_failure 1
    assert_equal "$stderr" "lock_cost: cannot write to stdout: No space left on device"
    run_prog_into_head "${QUICK[@]}"
    assert_success
    assert_equal "$stderr" ""
}

@test "SIGTERM to the parent while the workers count leaves nothing behind" {
    start_bg --iters 100000000 --repeats 1 --lock semaphore --procs 2
    wait_for_children 1
    signal_bg_and_check TERM
}

@test "Ctrl-C (SIGINT to the group) leaves nothing behind" {
    start_bg --iters 100000000 --repeats 1 --lock mutex --procs 2
    wait_for_children 1
    signal_bg_and_check INT group
}

@test "a fork that fails (EAGAIN) stops and reaps the workers already started" {
    run_prog_injected FAIL_FORK_AFTER=2 -- "${QUICK[@]}" --procs 3
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    assert_forks_gone 2
}
