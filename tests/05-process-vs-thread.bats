#!/usr/bin/env bats
# Lesson 05: memory and sharing, process against thread; the seed's claims
# measured. Only the verdicts that cannot depend on timing or load are
# checked for their value; sizes are checked for their meaning
# (copy-on-write) and for agreeing with their own verdict.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 05-process-vs-thread/proc_vs_thread)

QUICK=(--buffer-mb 4)

# Cell N (1 = #, 2 = claim, 3 = measured, 4 = verdict) of table row ROW, trimmed.
cell() {
    local row=$1 n=$2 line
    line=$(grep -E "^\| $row \| " <<<"$output") || fail "no table row $row in:
$output"
    awk -F'|' -v n="$((n + 1))" '{ gsub(/^ +| +$/, "", $n); print $n }' <<<"$line"
}

# "global 0x.., heap 0x.., stack 0x.." of the line starting with $1.
addresses_of() {
    grep -E "^$1 [0-9]+: " <<<"$output" | grep -oE 'global 0x[0-9a-f]+, heap 0x[0-9a-f]+, stack 0x[0-9a-f]+'
}

@test "the table has the header, a separator and 4 numbered rows with 4 cells each" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_line --regexp '^\| # \| claim \(seed\) +\| measured here +\| verdict +\|$'
    assert_line --regexp '^\|---\|-+\|-+\|-+\|$'
    local i line
    for i in 1 2 3 4; do
        line=$(grep -E "^\| $i \| " <<<"$output") || fail "no row $i"
        [[ $(tr -cd '|' <<<"$line" | wc -c) == 5 ]] || fail "row $i has not 4 cells: $line"
        [[ -n $(cell "$i" 3) && -n $(cell "$i" 4) ]] || fail "row $i has an empty cell: $line"
    done
    assert_equal "$(grep -cE '^\| [0-9]+ \| ' <<<"$output")" 4
    assert_line "checks that do not depend on timing: all passed"
    refute_line --regexp '\| FALSE +\|$'
}

@test "[05.1] the child writes 42 at the parent's own addresses; the parent still reads 1" {
    run_prog "${QUICK[@]}"
    local parent child
    parent=$(addresses_of parent) || fail "no parent line"
    child=$(addresses_of child) || fail "no child line"
    assert_equal "$child" "$parent"
    assert_line --regexp '^child [0-9]+: global 0x[0-9a-f]+, heap 0x[0-9a-f]+, stack 0x[0-9a-f]+, each holding 42$'
    assert_line "parent after waitpid: global 1, heap 1, stack 1: unchanged, the child wrote to its own copies"
    assert_equal "$(cell 3 4)" "TOO SIMPLE"
}

@test "[05.2] threads: one stack each; thread 0's write to the global is seen by main" {
    run_prog "${QUICK[@]}" --threads 6
    local stacks
    stacks=$(grep -oE '^thread [0-9]+: stack 0x[0-9a-f]+$' <<<"$output" | awk '{ print $4 }')
    assert_equal "$(wc -l <<<"$stacks")" 6
    assert_equal "$(sort -u <<<"$stacks" | wc -l)" 6
    assert_line "main thread after join: global 42 (thread 0 wrote 42)"
    assert_line --regexp '^one more thread: \+[0-9]+ KiB private memory, \+[1-9][0-9]* KiB address space \(its stack\)$'
    assert_equal "$(cell 4 4)" "TRUE"
}

@test "isolation: the child's write stays in the child, the thread's is seen by all" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_equal "$(cell 1 3)" "child's 42 unseen (parent has 1); thread's 42 seen (main has 42)"
    assert_equal "$(cell 1 4)" "TRUE"
}

@test "copy-on-write: the child owns little after fork, the whole buffer once it writes" {
    run_prog --buffer-mb 16
    assert_success
    local after_fork after_write
    after_fork=$(sed -n 's/^one more process: \([0-9]*\) KiB private memory.*/\1/p' <<<"$output")
    after_write=$(sed -n 's/.*private memory grew to \([0-9]*\) KiB (copy-on-write)$/\1/p' <<<"$output")
    [[ -n $after_fork && -n $after_write ]] || fail "no 'one more process' or 'grew to' line: $output"
    ((after_fork < 16 * 1024)) || fail "fork copied the buffer: $after_fork KiB"
    ((after_write >= 16 * 1024)) || fail "writing did not copy 16 MiB: $after_write KiB"
}

@test "memory row: the verdict follows from the figures it shows" {
    run_prog "${QUICK[@]}"
    assert_success
    local measured=$(cell 2 3) verdict=$(cell 2 4)
    [[ $measured =~ ^process\ ([0-9]+)\ KiB,\ thread\ ([0-9]+)\ KiB\;\ child\ \+[0-9]+\ KiB\ once\ it\ wrote$ ]] ||
        fail "row 2 measured: $measured"
    local process=${BASH_REMATCH[1]} thread=${BASH_REMATCH[2]}
    [[ $verdict =~ ^(TRUE|NOT\ SEEN)\ here:\ ([0-9]+)x$ ]] || fail "row 2 verdict: $verdict"
    local want=TRUE
    ((process > thread)) || want="NOT SEEN"
    assert_equal "${BASH_REMATCH[1]}" "$want"
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped "${QUICK[@]}"
    assert_success
    assert_no_duplicate_lines
    assert_equal "$(grep -c '^proc_vs_thread: pid ' <<<"$output")" 1
    assert_equal "$(grep -cE '^\| [0-9] \| ' <<<"$output")" 4
}

@test "| head -1 ends the run quietly, and leaves nothing" {
    run_prog_into_head "${QUICK[@]}"
    assert_success
    assert_output --regexp '^proc_vs_thread: pid [0-9]+; '
    assert_equal "$stderr" ""
}

@test "a write error on stdout (>/dev/full): a message and a non-zero exit" {
    run_prog_to_full_disk "${QUICK[@]}"
    assert_failure
    [[ -n $stderr ]] || fail "no message on stderr"
}

@test "a child it did not start (left by an exec'ing shell) is not waited for" {
    # The shell's sleep becomes the program's child through exec: waiting for
    # it would hang the run past the 5 s bound.
    run_prog_with_stranger "${QUICK[@]}"
    assert_success
    assert_line "checks that do not depend on timing: all passed"
    assert_equal "$stderr" ""
}

@test "--timeline: one row per process; the parent waits in waitpid while the writer holds; --trace is JSON" {
    run_prog "${QUICK[@]}" --hold 0.3 --timeline --trace "$BATS_TEST_TMPDIR/t.json"
    assert_success
    assert_line --regexp '^timeline: 3 processes over '
    assert_line --regexp '^parent +\|.*www.*\|$'
    assert_line --regexp '^child +\|'
    assert_line --regexp '^writer +\|.*sss.*\|$'
    assert_valid_json "$BATS_TEST_TMPDIR/t.json"
}

@test "--help prints usage on stdout and exits 0" {
    local flag f
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: proc_vs_thread"
        for f in --threads --buffer-mb --hold --timeline --trace; do
            assert_output --partial "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--threads|1" "--threads|65" "--threads|abc" "--threads|" "--buffer-mb|0" \
        "--buffer-mb|2048" "--buffer-mb|8M" "--buffer-mb|-5" "--hold|-1" "--hold|soon" "--hold|4000"
    assert_bad_command_lines "--bogus" "--threads" "extra" "--trace"
    run_prog --timeline=bogus
    assert_failure 2
    assert_equal "$output" ""
    [[ $stderr == *--timeline* ]] || fail "message does not name --timeline: $stderr"
}

@test "SIGTERM to the parent alone while the child holds leaves nothing behind" {
    start_bg "${QUICK[@]}" --hold 30
    wait_for_line "^child [0-9]+ holds "
    signal_bg_and_check TERM
}

@test "SIGINT to the parent alone while the child holds leaves nothing behind" {
    start_bg "${QUICK[@]}" --hold 30
    wait_for_line "^child [0-9]+ holds "
    signal_bg_and_check INT
}

@test "Ctrl-C (SIGINT to the process group) while the child holds leaves nothing behind" {
    start_bg "${QUICK[@]}" --hold 30
    wait_for_line "^child [0-9]+ holds "
    signal_bg_and_check INT group
}

@test "a stopped child does not keep SIGTERM to the parent from ending it" {
    start_bg "${QUICK[@]}" --hold 30
    wait_for_line "^child [0-9]+ holds "
    stop_process "$(children_of "$BG_PID" | head -n 1)"
    signal_bg_and_check TERM
}

@test "a fork that fails (EAGAIN) gives a clear message and exit status 1, and leaves nothing" {
    # Section 1 forks once; the second fork is section 3's.
    run_prog_injected FAIL_FORK_AFTER=1 -- "${QUICK[@]}"
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    refute_line --regexp '^\| 1 \| '
    assert_forks_gone 1
}
