#!/usr/bin/env bats
# Lesson 01b: a line printed with printf before fork comes out twice when
# stdout is a pipe or a file, once on a terminal.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 01b-fork-and-stdio/fork_stdio)

BEFORE='^before fork: printed by pid [0-9]+$'

# How many lines of $output match the extended regex $1.
count_lines() {
    grep -Ec -- "$1" <<<"$output" || true
}

# The run's lines must be: the stdout line, the child's, the parent's, and
# the "before fork" line $1 times, always from the parent's pid.
assert_before_fork_lines() {
    assert_equal "$(count_lines "$BEFORE")" "$1"
    local parent
    parent=$(sed -En 's/^before fork: printed by pid ([0-9]+)$/\1/p' <<<"$output" | sort -u)
    assert_equal "$(wc -l <<<"$parent")" 1 # every copy names the parent: the child never printed it
    assert_equal "$(count_lines '^child: pid [0-9]+, ends with _?exit\(0\)$')" 1
    assert_equal "$(count_lines '^parent: child [0-9]+ reaped, exit code 0$')" 1
    assert_equal "${#lines[@]}" $((3 + $1))
}

@test "without a fix, the printf line comes out twice through a pipe" {
    run_piped --fix none
    assert_success
    assert_line "stdout is a pipe or a file: fully buffered; fix: none"
    assert_before_fork_lines 2
}

@test "without a fix, the printf line comes out twice into a file" {
    local out="$BATS_TEST_TMPDIR/out.txt"
    run bash -c '"$0" >"$1" && cat "$1"' "$PROG" "$out"
    assert_success
    assert_before_fork_lines 2
}

@test "[01b.1] --fix fflush: the line comes out once through a pipe and into a file" {
    run_piped --fix fflush
    assert_success
    assert_before_fork_lines 1
    run bash -c '"$0" --fix fflush >"$1" && cat "$1"' "$PROG" "$BATS_TEST_TMPDIR/out.txt"
    assert_success
    assert_before_fork_lines 1
}

@test "[01b.1] --fix write: the line comes out once, and before the child's line" {
    run_piped --fix write
    assert_success
    assert_before_fork_lines 1
    assert_line_before "$BEFORE" "^child: pid "
}

@test "--fix _exit: the child throws its copy away, the line comes out once" {
    run_piped --fix _exit
    assert_success
    assert_before_fork_lines 1
    assert_line --regexp '^child: pid [0-9]+, ends with _exit\(0\)$'
}

@test "on a terminal the line comes out once, even without a fix" {
    command -v script >/dev/null || skip "script (util-linux) is not installed: the terminal case is not tested"
    local out="$BATS_TEST_TMPDIR/tty.txt"
    # script gives the program a pseudo-terminal as stdout; its own output is a file.
    run timeout 10 script -qec "$(printf '%q' "$PROG") --fix none" "$out"
    assert_success
    output=$(tr -d '\r' <"$out" | grep -v '^Script ')
    mapfile -t lines <<<"$output"
    assert_line "stdout is a terminal: line-buffered; fix: none"
    assert_before_fork_lines 1
}

@test "--timeline: a row for the parent and one for the child" {
    run_prog --timeline
    assert_success
    grep -qE '^parent +\|' <<<"$output" || fail "no parent row: $output"
    grep -qE '^child +\|' <<<"$output" || fail "no child row: $output"
    assert_equal "$(grep -cE '^[a-z]+ +\|' <<<"$output")" 2
}

@test "--trace writes valid JSON" {
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --trace "$trace"
    assert_success
    assert_valid_json "$trace"
}

@test "--help names --fix and its choices; bad input exits 2" {
    run_prog --help
    assert_success
    assert_output --partial "usage: fork_stdio"
    assert_output --partial "--fix"
    assert_output --partial "fflush"
    assert_equal "$stderr" ""
    assert_bad_values "--fix|bogus" "--fix|" "--fix|FFLUSH"
}

@test "an unknown flag, a flag without its value, a stray argument: exit 2" {
    assert_bad_command_lines "--bogus" "--fix" "extra"
    run_prog --timeline=bogus
    assert_failure 2
    [[ $stderr == *--timeline* ]] || fail "message does not name --timeline: $stderr"
}

@test "a write error on stdout (a full disk) gives a message and a non-zero exit" {
    local fix
    for fix in none fflush write _exit; do
        run --separate-stderr bash -c '"$0" --fix "$1" >/dev/full' "$PROG" "$fix"
        assert_failure
        [[ -n $stderr ]] || fail "--fix $fix: no message on stderr"
    done
}

@test "| head -1 ends the run quietly" {
    run --separate-stderr bash -c '"$0" | head -1' "$PROG"
    assert_success
    assert_output "stdout is a pipe or a file: fully buffered; fix: none"
    assert_equal "$stderr" ""
}

@test "a child the program did not start is not waited for" {
    local pidfile="$BATS_TEST_TMPDIR/sleep.pid"
    # shellcheck disable=SC2016 # $! and "$@" belong to the inner sh
    run --separate-stderr run_bounded sh -c 'sleep 30 & echo $! >"$0"; exec "$@"' "$pidfile" "$PROG" --fix fflush
    local stranger
    stranger=$(cat "$pidfile")
    [[ -e /proc/$stranger ]] || fail "the program killed or reaped a child it did not start"
    kill "$stranger"
    assert_success
    assert_before_fork_lines 1
}

@test "a fork that fails gives a clear message and exit 1" {
    run_prog_injected FAIL_FORK_AFTER=0 -- --fix fflush
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    assert_forks_gone 0
}
