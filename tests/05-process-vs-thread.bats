#!/usr/bin/env bats
# Lesson 05: the seed's Process vs Thread claims, measured.
# Only the verdicts that cannot depend on timing are checked for their
# value (isolation, sharing, zombies, copy-on-write); times and sizes are
# checked for their shape and for agreeing with their own verdict.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 05-process-vs-thread/proc_vs_thread)

# Small settings: quick, also under a sanitizer.
QUICK=(--count 20 --buffer-mb 8 --zombie-threads 4)

# Cell N (1 = #, 2 = claim, 3 = measured, 4 = verdict) of table row ROW,
# trimmed. Fails if the row is missing.
cell() {
    local row=$1 n=$2 line
    line=$(grep -E "^\| $row \| " <<<"$output") || fail "no table row $row in:
$output"
    awk -F'|' -v n="$((n + 1))" '{ gsub(/^ +| +$/, "", $n); print $n }' <<<"$line"
}

@test "the table has the header, a separator and 8 numbered rows with 4 cells each" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_line --regexp '^\| # \| claim \(seed\) +\| measured here +\| verdict +\|$'
    assert_line --regexp '^\|---\|-+\|-+\|-+\|$'
    local i line
    for i in 1 2 3 4 5 6 7 8; do
        line=$(grep -E "^\| $i \| " <<<"$output") || fail "no row $i"
        [[ $(tr -cd '|' <<<"$line" | wc -c) == 5 ]] || fail "row $i has not 4 cells: $line"
        [[ -n $(cell "$i" 3) && -n $(cell "$i" 4) ]] || fail "row $i has an empty cell: $line"
    done
    assert_equal "$(grep -cE '^\| [0-9]+ \| ' <<<"$output")" 8
    assert_line "checks that do not depend on timing: all passed"
    refute_line --regexp '\| FALSE +\|$'
}

@test "isolation: a child's write stays in the child, a thread's write is seen by all" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_line --regexp '^child [0-9]+: the same 4 addresses; it wrote 42 to each and read 42 back$'
    assert_line "parent after waitpid: global 1, heap 1, stack 1: unchanged, the child wrote to its own copies"
    assert_line --regexp '^main thread after join: global 42 '
    assert_equal "$(cell 1 4)" "TRUE"
    assert_equal "$(cell 6 4)" "TOO SIMPLE"
}

@test "threads: one stack each, one address for global, heap and code" {
    run_prog "${QUICK[@]}" --threads 6
    assert_success
    local thread_lines
    thread_lines=$(grep -E '^thread [0-9]+: stack ' <<<"$output")
    assert_equal "$(wc -l <<<"$thread_lines")" 6
    # Distinct values of one column ("stack", "global", ...) over the 6 lines.
    distinct() { grep -oE "$1 0x[0-9a-f]+" <<<"$thread_lines" | sort -u | wc -l; }
    assert_equal "$(distinct stack)" 6
    assert_equal "$(distinct thread-local)" 6
    assert_equal "$(distinct global)" 1
    assert_equal "$(distinct heap)" 1
    assert_equal "$(distinct code)" 1
    assert_line "each thread read its neighbour's local variable through a pointer: yes"
    assert_line "(7) its own, but not private: each thread read its neighbour's stack through a pointer"
    assert_equal "$(cell 7 4)" "TRUE"
    assert_equal "$(cell 8 4)" "TRUE"
}

@test "zombie: an exited child shows state Z until waitpid, then its pid is gone" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_line --regexp '^child [0-9]+ has exited and was not waited for: /proc/[0-9]+/stat state Z \(zombie\)$'
    assert_line --regexp '^kill\([0-9]+, 0\) on the zombie: succeeds'
    assert_line --regexp '^after waitpid: /proc/[0-9]+ is gone \(reaped\)$'
    assert_line "pthread_join, later, still got each thread's return value: yes (kept, like a zombie's exit status)"
    assert_equal "$(cell 3 4)" "TOO SIMPLE"
}

@test "a SIGCHLD ignored by whoever started it is set back: the zombie is still seen" {
    # With SIGCHLD ignored the kernel reaps each child at once: no state Z,
    # and waitid() finds no child to wait for.
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" "${QUICK[@]}"
    assert_success
    assert_line --regexp '^child [0-9]+ has exited and was not waited for: /proc/[0-9]+/stat state Z \(zombie\)$'
    assert_line "checks that do not depend on timing: all passed"
}

@test "zombie seen from outside: Z with the program as parent; SIGTERM reaps it" {
    start_bg "${QUICK[@]}" --zombie-hold 30
    wait_for_line "^holding the zombie"
    local zombie
    zombie=$(grep -oE '^child [0-9]+ has exited' "$BG_OUT" | grep -oE '[0-9]+') || fail "no zombie pid"
    assert_equal "$(proc_state "$zombie")" Z
    assert_equal "$(awk '{ print $4 }' "/proc/$zombie/stat")" "$BG_PID"
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143
    run proc_state "$zombie"
    assert_failure # gone: the program reaped it before dying
}

@test "copy-on-write: the child owns little after fork, the whole buffer once it writes" {
    run_prog --count 10 --buffer-mb 16 --zombie-threads 2
    assert_success
    # Sizes are printed as "N KiB" or "N.N MiB"; turn one into KiB.
    kib() { awk '{ print ($2 == "MiB") ? int($1 * 1024) : $1 }' <<<"$1"; }
    local after_fork after_write
    after_fork=$(grep -oE '^one more process: [0-9.]+ (KiB|MiB)' <<<"$output" | cut -d' ' -f4-) ||
        fail "no 'one more process' line"
    after_write=$(grep -oE 'private memory grew to [0-9.]+ (KiB|MiB)' <<<"$output" | cut -d' ' -f5-) ||
        fail "no 'grew to' line"
    (($(kib "$after_fork") < 16 * 1024)) || fail "fork copied the buffer: $after_fork"
    (($(kib "$after_write") >= 16 * 1024)) || fail "writing did not copy 16 MiB: $after_write"
}

@test "timing rows: the verdict agrees with the figures measured" {
    run_prog "${QUICK[@]}"
    assert_success
    local measured verdict
    measured=$(cell 4 3) verdict=$(cell 4 4)
    [[ $measured =~ ^20\ each:\ process\ ([0-9.]+)\ us,\ thread\ ([0-9.]+)\ us$ ]] ||
        fail "row 4 measured: $measured"
    local process=${BASH_REMATCH[1]} thread=${BASH_REMATCH[2]}
    [[ $verdict =~ ^(TRUE|NOT\ SEEN)\ here:\ ([0-9.]+)x$ ]] || fail "row 4 verdict: $verdict"
    local word=${BASH_REMATCH[1]} ratio=${BASH_REMATCH[2]}
    # The ratio is that of the printed times (rounded: within 5%), and the
    # word follows from it: TRUE when a process took longer.
    awk -v p="$process" -v t="$thread" -v r="$ratio" -v w="$word" 'BEGIN {
        want = p / t
        ok = (r >= want * 0.95 - 0.05 && r <= want * 1.05 + 0.05) && ((want > 1) == (w == "TRUE"))
        exit !ok }' || fail "row 4: '$verdict' does not follow from '$measured'"
    verdict=$(cell 2 4)
    [[ $verdict =~ ^(TRUE|NOT\ SEEN)\ here:\ [0-9]+x$ || $verdict == "NOT MEASURED" ]] ||
        fail "row 2 verdict: $verdict"
    assert_equal "$(cell 5 4)" "OPINION"
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped "${QUICK[@]}"
    assert_success
    assert_no_duplicate_lines
    assert_equal "$(grep -c '^proc_vs_thread: pid ' <<<"$output")" 1
    assert_equal "$(grep -cE '^\| [0-9] \| ' <<<"$output")" 8
}

@test "--help prints usage on stdout and exits 0" {
    local flag
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: proc_vs_thread"
        local f
        for f in --count --threads --buffer-mb --zombie-threads --zombie-hold; do
            assert_output --partial "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--count|0" "--count|100001" "--count|abc" "--count|-5" "--count|1.5" \
        "--count|" "--threads|1" "--threads|65" "--buffer-mb|0" "--buffer-mb|2048" "--buffer-mb|8M" \
        "--zombie-threads|0" "--zombie-threads|65" "--zombie-hold|-1" "--zombie-hold|soon" \
        "--zombie-hold|4000"
    assert_bad_command_lines "--bogus" "--count" "extra"
}

@test "Ctrl-C (SIGINT to the process group) while processes are created leaves nothing behind" {
    local orphans
    orphans=$(orphan_zombies)
    start_bg --count 100000 --buffer-mb 1 --zombie-threads 1
    wait_for_line "^== 5\. creation"
    kill -INT -- "-$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 130
    assert_nothing_left
    assert_equal "$(orphan_zombies)" "$orphans"
}

@test "SIGTERM to the parent alone while processes are created leaves nothing behind" {
    local orphans
    orphans=$(orphan_zombies)
    start_bg --count 100000 --buffer-mb 1 --zombie-threads 1
    wait_for_line "^== 5\. creation"
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143
    assert_nothing_left
    assert_equal "$(orphan_zombies)" "$orphans"
}

@test "a fork that fails (EAGAIN) gives a clear message and exit status 1, and leaves nothing" {
    # Sections 1, 2 and 4 fork once each; the 4th fork is the first of section 5.
    run_prog_injected FAIL_FORK_AFTER=3 -- "${QUICK[@]}"
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    refute_line --regexp '^\| 1 \| '
    assert_forks_gone 3
}
