#!/usr/bin/env bats
# Lesson 09: a named shared-memory block (shm_open, ftruncate, mmap) and a
# named semaphore; a second process finds them by name; every exit path
# unlinks both (SharedMemory(create=True) ... close(), unlink()).

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
PROG=$(lesson 09-named-shared-memory/shm_named)

# A name of this test's own, so that tests running at once never meet.
setup() {
    kit_setup
    NAME="bats09-$$-$BATS_TEST_NUMBER-$RANDOM"
    DEFAULT_NAMES=()
}

# Whatever a failed test left in /dev/shm goes, so that the next run starts clean.
teardown() {
    local n
    for n in "$NAME" "other-$NAME" "${DEFAULT_NAMES[@]}"; do
        rm -f "/dev/shm/$n" "/dev/shm/sem.$n"
    done
    assert_nothing_left
}

# Neither the block $1 nor its semaphore sem.$1 is in /dev/shm.
assert_no_names() {
    [[ ! -e /dev/shm/$1 ]] || fail "the block /dev/shm/$1 was left behind"
    [[ ! -e /dev/shm/sem.$1 ]] || fail "the semaphore /dev/shm/sem.$1 was left behind"
}

# Start a creator that waits for an attacher run by hand, and wait (bounded)
# until its semaphore exists: then the block is ready.
start_waiting_creator() {
    start_bg --by-hand --name "$NAME" --wait 20 "$@"
    wait_until 10 "/dev/shm/sem.$NAME did not appear" test -e "/dev/shm/sem.$NAME"
}

@test "[09.1] the attacher it starts (exec: no memory shared) finds the block by name and answers in it" {
    run_prog --name "$NAME"
    assert_success
    local creator attacher
    creator=$(sed -n "s/^Creator pid \([0-9]*\): SharedMemory(name=\"$NAME\", create=True, size=4096)$/\1/p" <<<"$output")
    [[ -n $creator ]] || fail "no creator line: $output"
    attacher=$(sed -n "s/^Attacher pid \([0-9]*\): found $NAME by name, 4096 bytes, and in it \"hello from pid $creator\"$/\1/p" <<<"$output")
    [[ -n $attacher ]] || fail "the attacher did not read the creator's greeting: $output"
    [[ $attacher != "$creator" ]] || fail "the attacher is the creator itself"
    assert_line "Creator: unlinked $NAME and sem.$NAME, still mapped here: \"hello back from pid $attacher\""
    assert_line_before '^Attacher pid' '^Creator: unlinked'
    assert_equal "$stderr" ""
}

@test "[09.1] a process started by hand, not by the creator, attaches by name; --size is what it sees" {
    start_waiting_creator --size 8192
    run --separate-stderr run_bounded "$PROG" attach "$NAME"
    assert_success
    assert_output --regexp "^Attacher pid [0-9]+: found $NAME by name, 8192 bytes, and in it \"hello from pid $BG_PID\""
    assert_line "Attacher: answered, posted sem.$NAME; closed it (munmap, sem_close), never unlinked: not ours"
    wait_bg 10
    assert_equal "$BG_STATUS" 0
    grep -qE "^Creator: unlinked $NAME and sem.$NAME, still mapped here: \"hello back from pid [0-9]+\"$" "$BG_OUT" ||
        fail "the creator did not read the answer: $(cat "$BG_OUT")"
}

@test "[09.1] the block and its semaphore are in /dev/shm, mode 0600, while the creator waits" {
    start_waiting_creator
    assert_equal "$(stat -c %a "/dev/shm/$NAME")" 600
    assert_equal "$(stat -c %a "/dev/shm/sem.$NAME")" 600
    assert_equal "$(stat -c %s "/dev/shm/$NAME")" 4096
    run --separate-stderr run_bounded "$PROG" attach "/$NAME" # with or without the leading /
    assert_success
    wait_bg 10
    assert_equal "$BG_STATUS" 0
}

@test "[09.2] nothing left in /dev/shm after a normal end" {
    run_prog --name "$NAME"
    assert_line "Creator: closed and unlinked: ls /dev/shm shows neither name now"
    assert_no_names "$NAME"
}

@test "[09.2] nothing left after an error: nobody attaches within --wait (exit 1)" {
    run_prog --by-hand --wait 0.2 --name "$NAME"
    assert_failure 1
    assert_equal "$stderr" "shm_named: nobody attached to $NAME within 0.2 s"
    assert_no_names "$NAME"
}

@test "[09.2] nothing left after SIGTERM to the creator while it waits" {
    start_waiting_creator
    signal_bg_and_check TERM
    assert_no_names "$NAME"
}

@test "[09.2] nothing left after Ctrl-C (SIGINT to the group) while it waits" {
    start_waiting_creator
    signal_bg_and_check INT group
    assert_no_names "$NAME"
}

@test "names are unique per run unless given; a default name leaves nothing behind either" {
    run_prog
    assert_success
    local first second
    first=$(sed -n 's/^Creator pid [0-9]*: SharedMemory(name="\(shm_named-[0-9]*-[0-9]*\)".*/\1/p' <<<"$output")
    [[ -n $first ]] || fail "no default name: $output"
    DEFAULT_NAMES+=("$first")
    run_prog
    second=$(sed -n 's/^Creator pid [0-9]*: SharedMemory(name="\(shm_named-[0-9]*-[0-9]*\)".*/\1/p' <<<"$output")
    DEFAULT_NAMES+=("$second")
    [[ $first != "$second" ]] || fail "two runs used the same name $first"
    assert_no_names "$first"
    assert_no_names "$second"
}

@test "a block name that already exists is a clash: exit 1, never reused, the other's stays" {
    (umask 077 && echo theirs >"/dev/shm/$NAME")
    run_prog --name "$NAME"
    assert_failure 1
    assert_equal "$stderr" "shm_named: $NAME already exists (ls /dev/shm): not ours, so it stays; choose another --name"
    assert_equal "$(cat "/dev/shm/$NAME")" theirs
    [[ ! -e /dev/shm/sem.$NAME ]] || fail "a semaphore was made for a block that is not ours"
}

@test "a semaphore name that already exists is a clash too: exit 1, our new block unlinked" {
    (umask 077 && : >"/dev/shm/sem.$NAME")
    run_prog --name "$NAME"
    assert_failure 1
    assert_equal "$stderr" "shm_named: sem.$NAME already exists (ls /dev/shm): not ours; choose another --name"
    [[ -e /dev/shm/sem.$NAME ]] || fail "the other's semaphore was removed"
    [[ ! -e /dev/shm/$NAME ]] || fail "our block was left behind"
}

@test "attach: no such block, or one not made by shm_named: exit 1, and the stranger's block is left alone" {
    run --separate-stderr run_bounded "$PROG" attach "$NAME"
    assert_failure 1
    assert_equal "$stderr" "shm_named: no block named $NAME (ls /dev/shm): shm_open: No such file or directory"
    truncate -s 4096 "/dev/shm/$NAME"
    chmod 0666 "/dev/shm/$NAME" # the program may run as another user (grading)
    run --separate-stderr run_bounded "$PROG" attach "$NAME"
    assert_failure 1
    assert_equal "$stderr" "shm_named: $NAME was not made by shm_named: leaving it alone"
    assert_equal "$(tr -d '\0' <"/dev/shm/$NAME" | wc -c)" 0
    truncate -s 10 "/dev/shm/other-$NAME"
    chmod 0666 "/dev/shm/other-$NAME"
    run --separate-stderr run_bounded "$PROG" attach "other-$NAME"
    assert_failure 1
    assert_output ""
    [[ $stderr == *"too small for a block made by shm_named"* ]] || fail "$stderr"
}

@test "a bad name exits 2 with one line naming it, before anything is made" {
    assert_bad_values "--name|a/b" "--name|." "--name|.." "--name|/" "--name|a b" "--name|$(printf 'x%.0s' {1..252})"
    assert_bad_command_lines "attach a/b" "attach .." "attach" "attach x y" "bogus"
    run --separate-stderr run_bounded "$PROG" attach "$(printf 'a\tb')"
    assert_failure 2
}

@test "bad input exits 2 with one line naming the flag" {
    assert_bad_values "--size|0" "--size|100" "--size|x" "--size|99999999999" "--wait|0" "--wait|-1" "--wait|1s" \
        "--name|"
    assert_bad_command_lines "--bogus"
    run_prog --timeline=bogus
    assert_failure 2
    assert_output ""
    [[ $stderr == *--timeline* ]] || fail "$stderr"
    run_prog --help
    assert_success
    assert_output --partial "attach NAME"
}

@test "--timeline: a row for the creator and one for the attacher it started and reaped" {
    run_prog --name "$NAME" --timeline
    assert_success
    assert_line --regexp '^timeline: 2 processes '
    local rows
    rows=$(sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|\(.*\)|$/\1|\2/p')
    assert_equal "$(cut -d'|' -f1 <<<"$rows" | paste -sd' ')" "parent attacher"
    [[ $(grep '^attacher|' <<<"$rows") == *'|'* ]] || fail "the attacher was not reaped: $rows"
}

@test "--trace: valid JSON with both processes and the unlink mark" {
    command -v python3 >/dev/null || command -v jq >/dev/null ||
        skip "neither python3 nor jq is installed: cannot check the JSON"
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --name "$NAME" --trace "$trace"
    assert_success
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$trace" >/dev/null || fail "not valid JSON"
    else
        jq empty "$trace" || fail "not valid JSON"
    fi
    grep -q '"names unlinked"' "$trace" || fail "no 'names unlinked' mark"
    grep -q 'attacher (pid' "$trace" || fail "no track for the attacher"
}

@test "a child it did not start (left by a shell's exec) is not waited for" {
    run_prog_with_stranger --name "$NAME"
    assert_success
    assert_equal "$stderr" ""
    assert_no_names "$NAME"
}

@test "a full disk on stdout (>/dev/full): a message, exit 1, nothing left" {
    run_prog_to_full_disk --name "$NAME"
    assert_failure 1
    assert_equal "$stderr" "shm_named: cannot write to stdout: No space left on device"
    assert_no_names "$NAME"
}

@test "| head -n 1 ends the run quietly, nothing left in /dev/shm" {
    run_prog_into_head --name "$NAME"
    assert_success
    assert_equal "$stderr" ""
    assert_output --regexp '^Creator pid [0-9]+: '
    [[ $PIPE_STATUS =~ ^(0|141)$ ]] || fail "exit status $PIPE_STATUS, expected 0 or 141"
    assert_no_names "$NAME"
}

@test "whole lines through a pipe, none twice" {
    run_piped --name "$NAME"
    assert_success
    assert_equal "${#lines[@]}" 5
    assert_no_duplicate_lines
}
