#!/usr/bin/env bats
# Lesson 05b: zombies of both kinds, and the cost of creating a process
# against a thread, measured in interleaved rounds. The zombie verdicts do
# not depend on timing and are checked for their value; the times are
# checked for their shape and for agreeing with their own verdict.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 05b-zombies-and-creation/create_and_reap)

QUICK=(--count 20 --repeats 3 --zombie-threads 4)

# Cell N (1 = #, 2 = claim, 3 = measured, 4 = verdict) of table row ROW, trimmed.
cell() {
    local row=$1 n=$2 line
    line=$(grep -E "^\| $row \| " <<<"$output") || fail "no table row $row in:
$output"
    awk -F'|' -v n="$((n + 1))" '{ gsub(/^ +| +$/, "", $n); print $n }' <<<"$line"
}

@test "the table has the header, a separator and 3 numbered rows with 4 cells each" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_line --regexp '^\| # \| claim \(seed\) +\| measured here +\| verdict +\|$'
    assert_line --regexp '^\|---\|-+\|-+\|-+\|$'
    local i line
    for i in 1 2 3; do
        line=$(grep -E "^\| $i \| " <<<"$output") || fail "no row $i"
        [[ $(tr -cd '|' <<<"$line" | wc -c) == 5 ]] || fail "row $i has not 4 cells: $line"
        [[ -n $(cell "$i" 3) && -n $(cell "$i" 4) ]] || fail "row $i has an empty cell: $line"
    done
    assert_equal "$(grep -cE '^\| [0-9]+ \| ' <<<"$output")" 3
    assert_equal "$(cell 1 4)" "TOO SIMPLE"
    assert_equal "$(cell 3 4)" "OPINION"
    assert_line "checks that do not depend on timing: all passed"
}

@test "zombie: an exited child shows state Z, and kill(pid, 0) still succeeds" {
    run_prog "${QUICK[@]}"
    assert_success
    assert_line --regexp '^child [0-9]+ has exited and was not waited for: /proc/[0-9]+/stat state Z \(zombie\)$'
    assert_line --regexp '^kill\([0-9]+, 0\) on the zombie: succeeds'
}

@test "[05b.1] waitpid reaps the zombie: it collects its exit status, then the pid is gone" {
    run_prog "${QUICK[@]}"
    assert_line "waitpid collected what the zombie kept: exitcode 0"
    assert_line --regexp '^after waitpid: /proc/[0-9]+ is gone \(reaped\)$'
    assert_line --regexp '^\| 1 \| .* \| child: Z until waitpid, then gone; '
}

@test "[05b.2] threads that ended unjoined: gone from the kernel, their results kept until pthread_join" {
    run_prog "${QUICK[@]}" --zombie-threads 6
    assert_line --regexp '^6 threads returned; 0 of them still in /proc/self/task; never joined, they still hold [1-9][0-9]* KiB of address space \(their stacks\)$'
    assert_line "pthread_join, later, still got each thread's return value: yes (kept, like a zombie's exit status)"
}

@test "a SIGCHLD ignored by whoever started it is set back: the zombie is still seen" {
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
    signal_bg_and_check TERM
    assert_gone "$zombie"
}

@test "Ctrl-C (SIGINT to the process group) while the zombie is held leaves nothing behind" {
    start_bg "${QUICK[@]}" --zombie-hold 30
    wait_for_line "^holding the zombie"
    signal_bg_and_check INT group
}

@test "SIGINT to the parent alone while processes are created leaves nothing behind" {
    start_bg --count 4000 --repeats 1 --zombie-threads 1
    wait_for_line "^== 2\. creation"
    signal_bg_and_check INT
}

@test "SIGTERM to the parent alone while processes are created leaves nothing behind" {
    start_bg --count 4000 --repeats 1 --zombie-threads 1
    wait_for_line "^== 2\. creation"
    signal_bg_and_check TERM
}

@test "creation: every round is reported, medians lie within the spread, the verdict follows from them" {
    run_prog --count 20 --repeats 4 --zombie-threads 1
    assert_success
    assert_equal "$(grep -cE '^round [1-4]: process [0-9.]+ us, thread [0-9.]+ us each$' <<<"$output")" 4
    local kind median lo hi
    for kind in processes threads; do
        [[ $(grep -E "^$kind: +median" <<<"$output") =~ median\ ([0-9.]+)\ us\ each\ \(spread\ ([0-9.]+)\ to\ ([0-9.]+)\)$ ]] ||
            fail "no median line for $kind"
        median=${BASH_REMATCH[1]} lo=${BASH_REMATCH[2]} hi=${BASH_REMATCH[3]}
        awk -v m="$median" -v l="$lo" -v h="$hi" 'BEGIN { exit !(l <= m && m <= h) }' ||
            fail "$kind: median $median outside its spread $lo to $hi"
    done
    local measured verdict
    measured=$(cell 2 3) verdict=$(cell 2 4)
    [[ $measured =~ ^4\ x\ 20\ each:\ process\ ([0-9.]+)\ us,\ thread\ ([0-9.]+)\ us$ ]] || fail "row 2 measured: $measured"
    local process=${BASH_REMATCH[1]} thread=${BASH_REMATCH[2]}
    [[ $verdict =~ ^(TRUE|NOT\ SEEN|MIXED)\ here:\ ([0-9.]+)x$ ]] || fail "row 2 verdict: $verdict"
    local word=${BASH_REMATCH[1]} ratio=${BASH_REMATCH[2]}
    # The ratio is that of the printed medians (rounded), and the word is that
    # of the rounds: TRUE if a process was slower in all, NOT SEEN in none.
    awk -v p="$process" -v t="$thread" -v r="$ratio" 'BEGIN { w = p / t
        exit !(r >= w * 0.95 - 0.05 && r <= w * 1.05 + 0.05) }' || fail "ratio $ratio is not $process / $thread"
    local slower
    slower=$(sed -n 's/.*slower in \([0-9]*\) of 4 rounds)$/\1/p' <<<"$output")
    case $slower in
    4) assert_equal "$word" TRUE ;;
    0) assert_equal "$word" "NOT SEEN" ;;
    *) assert_equal "$word" MIXED ;;
    esac
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped "${QUICK[@]}"
    assert_success
    assert_no_duplicate_lines
    assert_equal "$(grep -c '^create_and_reap: pid ' <<<"$output")" 1
    assert_equal "$(grep -cE '^\| [0-9] \| ' <<<"$output")" 3
}

@test "| head -1 ends the run quietly" {
    run_prog_into_head "${QUICK[@]}"
    assert_success
    assert_output --regexp '^create_and_reap: pid [0-9]+; '
    assert_equal "$stderr" ""
}

@test "a write error on stdout (>/dev/full): a message and a non-zero exit" {
    run_prog_to_full_disk "${QUICK[@]}"
    assert_failure
    [[ -n $stderr ]] || fail "no message on stderr"
}

@test "a child it did not start (left by an exec'ing shell) is not waited for, nor taken for the zombie" {
    run_prog_with_stranger "${QUICK[@]}"
    assert_success
    refute_line --regexp "^child $stranger "
    assert_line "checks that do not depend on timing: all passed"
}

@test "--timeline: one row per process, the zombie's Z cells, the reap; --trace is JSON" {
    run_prog --count 2 --repeats 2 --zombie-threads 1 --zombie-hold 0.3 --timeline --trace "$BATS_TEST_TMPDIR/t.json"
    assert_success
    # The parent, the zombie, 2 x 2 short-lived children.
    assert_line --regexp '^timeline: 6 processes over '
    assert_line --regexp '^zombie +\|.*ZZZ.*\|.*\|$'
    assert_equal "$(grep -cE '^short +\|' <<<"$output")" 4
    assert_valid_json "$BATS_TEST_TMPDIR/t.json"
}

@test "--help prints usage on stdout and exits 0" {
    local flag f
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: create_and_reap"
        for f in --count --repeats --zombie-threads --zombie-hold --timeline --trace; do
            assert_output --partial "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--count|0" "--count|4001" "--count|abc" "--count|-5" "--count|1.5" "--count|" \
        "--repeats|0" "--repeats|101" "--zombie-threads|0" "--zombie-threads|65" \
        "--zombie-hold|-1" "--zombie-hold|soon" "--zombie-hold|4000"
    assert_bad_command_lines "--bogus" "--count" "extra"
    run_prog --count 1000 --repeats 5
    assert_failure 2
    assert_equal "$output" ""
    [[ $stderr == *--count*--repeats* ]] || fail "message does not name both flags: $stderr"
    run_prog --timeline=bogus
    assert_failure 2
    [[ $stderr == *--timeline* ]] || fail "message does not name --timeline: $stderr"
}

@test "a fork that fails (EAGAIN) gives a clear message and exit status 1, and leaves nothing" {
    # The zombie is the first fork; the second is the first of the creation rounds.
    run_prog_injected FAIL_FORK_AFTER=1 -- "${QUICK[@]}"
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    refute_line --regexp '^\| 1 \| '
    assert_forks_gone 1
}
