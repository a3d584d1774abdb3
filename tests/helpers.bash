# tests/helpers.bash - shared by every .bats file: `load helpers` at the top.
#
# (a) KIT_LESSONS says where the lesson programs are: this kit's lessons/
#     by default, or a student's copy:  KIT_LESSONS=/path/to/lessons tests/run
# (b) Every test checks, when it ends, that nothing it started still runs.
#     Each test exports a unique tag; every process it starts inherits the
#     tag in its environment; teardown looks for the tag in /proc.

# shellcheck disable=SC2034,SC2154 # BG_STATUS is read by the .bats files; lines, output are set by bats' run
bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

# assert_success, saying what the program said: its exit status, the first
# lines of its stderr (where a program explains a failure) and of its stdout.
assert_success() {
    ((status == 0)) && return 0
    fail "expected exit status 0, the program ended with $status
stderr: $(head -n 3 <<<"${stderr:-(nothing)}")
stdout: $(head -n 3 <<<"${output:-(nothing)}")"
}

KIT_LESSONS=${KIT_LESSONS:-$(cd "$BATS_TEST_DIRNAME/../lessons" && pwd)}

# Run a command as the user the program runs as: in the grading sandbox the
# tests run as another user, and only a process's owner may list its
# /proc/PID/fd. Elsewhere it just runs the command.
as_program() {
    if [[ -n ${KIT_PROGRAM_UID:-} ]]; then
        setpriv --reuid="$KIT_PROGRAM_UID" --regid="$KIT_PROGRAM_UID" --clear-groups -- "$@"
    else
        "$@"
    fi
}

# Path of a lesson's program:  "$(lesson 01-process-lifecycle/lifecycle)"
lesson() {
    printf '%s/%s\n' "$KIT_LESSONS" "$1"
}

# What every test does first; a .bats file with a setup() of its own calls it.
setup() {
    kit_setup
}
kit_setup() {
    export KIT_TEST_TAG="kit-test-$$-$BATS_TEST_NUMBER-$RANDOM$RANDOM"
    # The helpers keep their own files (what a program printed) beside the
    # test's folder, not in it: in the grading sandbox the program runs as
    # another user and may write in the test's folder (a --trace file), never
    # here. There bats' own folders can be crossed but not listed or written,
    # and the test's folder is sticky: no one removes another's file.
    KIT_HARNESS_DIR="$BATS_TEST_TMPDIR-harness"
    mkdir -m 0700 "$KIT_HARNESS_DIR" || fail "cannot make $KIT_HARNESS_DIR"
    if [[ -n ${KIT_SANDBOX:-} ]]; then
        chmod 0711 "$BATS_RUN_TMPDIR" "${BATS_TEST_TMPDIR%/*}" "${BATS_FILE_TMPDIR%/*}" "$BATS_FILE_TMPDIR"
        chmod 1777 "$BATS_TEST_TMPDIR"
    fi
    [[ -x $PROG ]] || fail "the lesson program lessons/${PROG#"$KIT_LESSONS"/} is missing: it was not built, or its build failed"
}

teardown() {
    assert_nothing_left
}

# Pids of the processes started by this test that still exist. Zombies
# have no environment, but a zombie's parent is one of ours and is found.
# Runs in a subshell without the tag, so grep and cut do not find themselves.
# Only a process's owner may read its environ: in the grading sandbox the
# program's processes are searched as the program's user too.
tagged_pids() (
    local tag=$KIT_TEST_TAG
    unset KIT_TEST_TAG
    {
        grep -lzx "KIT_TEST_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null
        [[ -z ${KIT_PROGRAM_UID:-} ]] || as_program grep -lzx "KIT_TEST_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null
    } | sort -u | cut -d/ -f3 | paste -sd,
)

# Fail if anything this test started is still there; kill it first, so
# that one broken program never hangs the suite or the next test.
assert_nothing_left() {
    local pids
    pids=$(tagged_pids)
    [[ -z $pids ]] && return 0
    local listing pid
    listing=$(for pid in ${pids//,/ }; do describe_pid "$pid"; done)
    # shellcheck disable=SC2086 # one word per pid
    kill -KILL ${pids//,/ } 2>/dev/null
    fail "processes were left behind by the program (now killed):
$listing"
}

# "pid ppid state command line" of one process, from /proc (no ps needed).
describe_pid() {
    local stat args state ppid
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 0
    args=$(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null)
    stat=${stat##*) }
    read -r state ppid _ <<<"$stat"
    printf 'pid %s, parent %s, state %s: %s\n' "$1" "$ppid" "$state" "${args:-[exited]}"
}

# Fail if any of the pids $@ still exists, even as a zombie. The check at
# the end of every test finds processes by their environment, and a zombie
# has none left; a zombie whose parent died belongs to PID 1, which on some
# machines (containers) never reaps it. So a test that knows the pids of the
# workers checks them itself.
assert_gone() {
    local pid
    for pid in "$@"; do
        [[ ! -e /proc/$pid ]] || fail "process still there: $(describe_pid "$pid")"
    done
}

# Run the lesson's program ($PROG) under `run`, bounded in time: $status,
# $output and $lines (stdout), $stderr and $stderr_lines.
run_prog() {
    run --separate-stderr run_bounded "$PROG" "$@"
}

# Run a command with a time limit. Its output goes to files, not to a pipe:
# a child it leaks cannot keep `run` waiting for end-of-file, and is found
# by the check at the end of the test instead.
run_bounded() {
    local out="$KIT_HARNESS_DIR/run.out" err="$KIT_HARNESS_DIR/run.err" rc=0
    (limit_output && exec timeout -k 2 "${KIT_RUN_TIMEOUT:-20}" "$@") >"$out" 2>"$err" </dev/null 3>&- ||
        rc=$?
    show_output "$out"
    show_output "$err" >&2
    return "$rc"
}

# Output is bounded too: a program that floods it would fill the disk, and
# bash would take minutes to split it into $lines. Past 10 MiB a write
# fails (SIGXFSZ); past 1 MiB only the start is shown, with a note.
OUTPUT_LIMIT_KIB=10240
limit_output() {
    ulimit -f "$OUTPUT_LIMIT_KIB"
}
show_output() {
    if (($(stat -c %s "$1" 2>/dev/null || echo 0) > 1048576)); then
        head -c 4096 "$1"
        echo
        echo "kit tests: the program wrote more than 1 MiB to $(basename "$1"); only its start is shown"
    else
        cat "$1"
    fi
}

# Start the program in the background as a shell in a terminal would:
# in its own process group (set -m), with SIGINT at its default action.
# `env --default-signal=INT` sees to the latter even when the suite itself
# runs in the background of a script (`make test &`), where SIGINT is
# ignored and bash cannot undo that. Its output goes to $BG_OUT; its pid
# (= its process group id) is in $BG_PID.
start_bg() {
    BG_OUT="$KIT_HARNESS_DIR/bg.out"
    local -a launcher=(env --default-signal=INT)
    env --default-signal=INT true 2>/dev/null || launcher=() # coreutils before 8.31
    set -m
    (limit_output && exec "${launcher[@]}" "$PROG" "$@") >"$BG_OUT" 2>&1 3>&- &
    BG_PID=$!
    set +m
}

# Poll, every 50 ms, until the command "$@" succeeds; fail after LIMIT
# seconds, or as soon as the background program has ended without it,
# with "WHAT" and the program's output so far.
wait_until() {
    local limit=$1 what=$2 waited=0
    shift 2
    until "$@"; do
        if ! bg_running; then
            "$@" && return 0 # it may have happened just before the end
            fail "the program ended, but $what; its output:
$(show_output "$BG_OUT" 2>/dev/null)"
            return 1
        fi
        if ((waited >= limit * 20)); then
            fail "after ${limit}s, $what; output so far:
$(show_output "$BG_OUT" 2>/dev/null)"
            return 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
}

# Is the background program still running (not ended, not a zombie)?
bg_running() {
    local state
    state=$(proc_state "$BG_PID") && [[ $state != Z ]]
}

# Wait until $BG_OUT has a line matching the extended regex $1 (bounded).
wait_for_line() {
    wait_until "${2:-10}" "no line matches '$1'" grep -Eq -- "$1" "$BG_OUT"
}

# Wait until the background program has at least $1 children (bounded).
wait_for_children() {
    wait_until "${2:-10}" "it has fewer than $1 children" has_children "$1"
}
has_children() {
    (($(children_of "$BG_PID" | wc -l) >= $1))
}

# The pids of the children of process $1, one a line, read from /proc (the
# suite needs no procps): /proc/PID/task/*/children where the kernel has it
# (quick), otherwise field 4 of every /proc/N/stat (the parent's pid; the
# command name before it, in parentheses, may hold spaces or ')').
children_of() {
    local stat rest pid
    if [[ -r /proc/$$/task/$$/children ]]; then
        cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep .
        return 0
    fi
    for stat in /proc/[0-9]*/stat; do
        read -r rest 2>/dev/null <"$stat" || continue
        pid=${rest%% *}
        rest=${rest##*) }
        rest=${rest#* }
        [[ ${rest%% *} == "$1" ]] && printf '%s\n' "$pid"
    done
    return 0
}

# Wait until the background program has ended (bounded); its exit status
# goes to $BG_STATUS. A program that does not end is killed and fails.
wait_bg() {
    local limit=${1:-10} waited=0
    while bg_running; do
        if ((waited >= limit * 20)); then
            kill -KILL -- "-$BG_PID" 2>/dev/null
            fail "program still running ${limit}s after it was told to stop"
            return 1
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
    BG_STATUS=0
    wait "$BG_PID" || BG_STATUS=$?
}

# Send signal $1 (TERM or INT) to the background program, to it alone or,
# with "group" as $2, to its whole process group as Ctrl-C does. Its
# children are noted first; then the program must die of that signal, and
# every child must be gone, zombies included.
signal_bg_and_check() {
    local sig=$1 target=$BG_PID
    [[ ${2:-} == group ]] && target=-$BG_PID
    local -a pids
    mapfile -t pids < <(children_of "$BG_PID")
    kill -"$sig" -- "$target"
    wait_bg 10
    assert_equal "$BG_STATUS" $((128 + $(kill -l "$sig")))
    assert_gone "${pids[@]}"
    assert_nothing_left
}

# Stop process $1 with SIGSTOP and wait (bounded) until it is stopped.
stop_process() {
    kill -STOP "$1"
    wait_until 5 "process $1 did not stop" is_stopped "$1"
}
is_stopped() {
    [[ $(proc_state "$1") == T ]]
}

# State letter of a process (R, S, Z, ...); fails if there is no such process.
proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    printf '%s\n' "${stat%% *}"
}

# The program with its stdout on a full disk (/dev/full), under `run` as run_prog.
run_prog_to_full_disk() {
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'exec "$0" "$@" >/dev/full' "$PROG" "$@"
}

# The program piped into `head -n 1`, under `run`: $output is that line,
# $stderr what the program said; PIPE_STATUS is the program's own exit
# status (0, or 141 when the closed pipe ended it with SIGPIPE).
run_prog_into_head() {
    local rc_file="$KIT_HARNESS_DIR/head.rc"
    # shellcheck disable=SC2016 # "$0", "$1" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c \
        'rc=$1; shift; "$0" "$@" | head -n 1; echo "${PIPESTATUS[0]}" >"$rc"' "$PROG" "$rc_file" "$@"
    PIPE_STATUS=$(cat "$rc_file")
}

# The program started as a shell that exec's it would leave it: the shell
# first starts `sleep 30`, a child the program never forked, then becomes
# the program. Under `run` as run_prog (5 s at most: waiting for the sleep
# would hang). Then the sleep must still be there, neither waited for nor
# stopped, and it is ended.
run_prog_with_stranger() {
    local pidfile="$KIT_HARNESS_DIR/stranger.pid" stranger
    # shellcheck disable=SC2016 # "$0", "$@" and $! belong to the inner sh
    KIT_RUN_TIMEOUT=5 run --separate-stderr run_bounded \
        sh -c 'sleep 30 & echo $! >"$0"; exec "$@"' "$pidfile" "$PROG" "$@"
    stranger=$(cat "$pidfile")
    [[ -e /proc/$stranger ]] || fail "the program waited for or stopped a child it did not start (pid $stranger)"
    kill -KILL "$stranger"
}

# Fail unless file $1 is valid JSON (a --trace file): read with python3, or
# jq; skip the test, saying why, where neither is installed.
assert_valid_json() {
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$1" >/dev/null || fail "$1 is not valid JSON"
    elif command -v jq >/dev/null; then
        jq . "$1" >/dev/null || fail "$1 is not valid JSON"
    else
        skip "neither python3 nor jq is installed to read the JSON"
    fi
}

# Index in ${lines[@]} of the first line matching the extended regex $1.
line_index() {
    local i
    for i in "${!lines[@]}"; do
        if [[ ${lines[i]} =~ $1 ]]; then
            echo "$i"
            return 0
        fi
    done
    return 1
}

# Assert that the line matching $1 comes before the line matching $2.
assert_line_before() {
    local first second
    first=$(line_index "$1") || fail "no line matches '$1'"
    second=$(line_index "$2") || fail "no line matches '$2'"
    ((first < second)) || fail "'$1' (line $first) should come before '$2' (line $second)
$output"
}

# Assert that no line of $output appears twice.
assert_no_duplicate_lines() {
    local dups
    dups=$(printf '%s\n' "$output" | sort | uniq -d)
    [[ -z $dups ]] || fail "lines printed more than once:
$dups"
}

# Zombies named $1 (default: the program's name) that PID 1 has adopted.
# A parent that dies without reaping leaves them, and the end-of-test check
# cannot see them (no environment, and their parent is no longer ours), so
# signal tests compare this count before and after.
orphan_zombies() {
    local name=${1:-${PROG##*/}}
    local stat rest comm n=0
    for stat in /proc/[0-9]*/stat; do
        read -r rest 2>/dev/null <"$stat" || continue
        comm=${rest#*(}
        comm=${comm%) *}
        rest=${rest##*) }
        [[ $rest == "Z 1 "* && $comm == "${name:0:15}" ]] && n=$((n + 1))
    done
    echo "$n"
}

# Run the program with its stdout into a pipe, as `prog | cat` does; sets
# $status, $output, $lines, $stderr and $stderr_lines like run_prog. A child the program leaks would
# keep the pipe open for ever: it is found and stopped (and the test
# failed) as soon as the program itself has ended.
run_piped() {
    local out="$KIT_HARNESS_DIR/piped.out" err="$KIT_HARNESS_DIR/piped.err"
    local pipe="$KIT_HARNESS_DIR/pipe" reader
    rm -f "$pipe"
    mkfifo "$pipe"
    (limit_output && exec env -u KIT_TEST_TAG cat <"$pipe" >"$out") 3>&- &
    reader=$!
    status=0
    (limit_output && exec timeout -k 2 "${KIT_RUN_TIMEOUT:-20}" "$PROG" "$@") >"$pipe" 2>"$err" \
        </dev/null 3>&- || status=$?
    assert_nothing_left
    wait "$reader"
    output=$(show_output "$out") stderr=$(show_output "$err")
    mapfile -t lines <<<"$output"
    mapfile -t stderr_lines <<<"$stderr"
    [[ -n $stderr ]] || stderr_lines=()
}

# Each argument is "FLAG|VALUE": the program run with that flag and value
# must exit 2, print nothing on stdout, and one line on stderr naming FLAG.
assert_bad_values() {
    local case flag value
    for case in "$@"; do
        flag=${case%%|*} value=${case#*|}
        run_prog "$flag" "$value"
        [[ $status == 2 ]] || fail "$flag '$value': exit status $status, expected 2"
        [[ -z $output ]] || fail "$flag '$value': printed on stdout: $output"
        [[ ${#stderr_lines[@]} == 1 ]] || fail "$flag '$value': expected one line on stderr: $stderr"
        [[ $stderr == *"$flag"* ]] || fail "$flag '$value': message does not name the flag: $stderr"
    done
}

# Each argument is a command line (split at spaces): it must exit 2, print
# nothing on stdout, and one line on stderr naming its first word.
assert_bad_command_lines() {
    local args
    for args in "$@"; do
        # shellcheck disable=SC2086 # split "-x 1" into two arguments
        run_prog $args
        [[ $status == 2 ]] || fail "'$args': exit status $status, expected 2"
        [[ -z $output ]] || fail "'$args': printed on stdout: $output"
        [[ ${#stderr_lines[@]} == 1 ]] || fail "'$args': expected one line on stderr: $stderr"
        [[ $stderr == *"${args%% *}"* ]] || fail "'$args': message does not name it: $stderr"
    done
}

# Build tests/fixtures/NAME.c once per test file and print the result's
# path; NAME.so builds a shared library for LD_PRELOAD.
fixture() {
    local name=$1 built="$BATS_FILE_TMPDIR/$1"
    [[ -e $built ]] && { printf '%s\n' "$built"; return 0; }
    if [[ $name == *.so ]]; then
        cc -shared -fPIC -o "$built" "$BATS_TEST_DIRNAME/fixtures/${name%.so}.c" -ldl
    else
        cc -o "$built" "$BATS_TEST_DIRNAME/fixtures/$name.c" -lrt
    fi >&2 || { fail "cannot build the test fixture $name"; return 1; }
    printf '%s\n' "$built"
}

# run_prog, with system calls failing as the variables say (FAIL_FORK_AFTER=K,
# FAIL_MQ_OPEN=1; see tests/fixtures/inject_failures.c). The pid of every
# child made goes to $FORKS, one a line.
#   run_prog_injected FAIL_FORK_AFTER=5 -- --count 20
run_prog_injected() {
    local -a vars=()
    while [[ $1 != -- ]]; do
        vars+=("$1")
        shift
    done
    shift
    FORKS="$BATS_TEST_TMPDIR/forks.txt"
    : >"$FORKS"
    [[ -n ${KIT_SANDBOX:-} ]] && chmod a+rw "$FORKS"
    local lib
    lib=$(fixture inject_failures.so)
    # ASAN_OPTIONS: a sanitizer build must accept a library preloaded before it.
    run --separate-stderr run_bounded env LD_PRELOAD="$lib" FAIL_FORK_LOG="$FORKS" "${vars[@]}" \
        ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$PROG" "$@"
}

# After run_prog_injected: exactly N children were made, and all are gone.
assert_forks_gone() {
    assert_equal "$(wc -l <"$FORKS")" "$1"
    # shellcheck disable=SC2046 # one pid a word
    assert_gone $(cat "$FORKS")
}
