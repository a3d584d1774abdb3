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

KIT_LESSONS=${KIT_LESSONS:-$(cd "$BATS_TEST_DIRNAME/../lessons" && pwd)}

# Path of a lesson's program:  "$(lesson 01-process-lifecycle/lifecycle)"
lesson() {
    printf '%s/%s\n' "$KIT_LESSONS" "$1"
}

setup() {
    export KIT_TEST_TAG="kit-test-$$-$BATS_TEST_NUMBER-$RANDOM$RANDOM"
    [[ -x $PROG ]] || fail "the lesson program lessons/${PROG#"$KIT_LESSONS"/} is missing: it was not built, or its build failed"
}

teardown() {
    assert_nothing_left
}

# Pids of the processes started by this test that still exist. Zombies
# have no environment, but a zombie's parent is one of ours and is found.
# Runs in a subshell without the tag, so grep and cut do not find themselves.
tagged_pids() (
    local tag=$KIT_TEST_TAG
    unset KIT_TEST_TAG
    grep -lzx "KIT_TEST_TAG=$tag" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | paste -sd,
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
    local out="$BATS_TEST_TMPDIR/run.out" err="$BATS_TEST_TMPDIR/run.err" rc=0
    timeout -k 2 "${KIT_RUN_TIMEOUT:-20}" "$@" >"$out" 2>"$err" </dev/null 3>&- || rc=$?
    cat "$out"
    cat "$err" >&2
    return "$rc"
}

# Start the program in the background as a shell in a terminal would:
# in its own process group, with SIGINT not ignored (set -m). Its output
# goes to $BG_OUT; its pid (= its process group id) is in $BG_PID.
start_bg() {
    BG_OUT="$BATS_TEST_TMPDIR/bg.out"
    set -m
    "$PROG" "$@" >"$BG_OUT" 2>&1 3>&- &
    BG_PID=$!
    set +m
}

# Poll, every 50 ms, until the command "$@" succeeds; fail after LIMIT
# seconds with "timed out: WHAT" and the program's output so far.
wait_until() {
    local limit=$1 what=$2 waited=0
    shift 2
    until "$@"; do
        if ((waited >= limit * 20)); then
            fail "timed out after ${limit}s: $what; output was:
$(cat "$BG_OUT" 2>/dev/null)"
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
}

# Wait until $BG_OUT has a line matching the extended regex $1 (bounded).
wait_for_line() {
    wait_until "${2:-10}" "no line matching '$1'" grep -Eq -- "$1" "$BG_OUT"
}

# Wait until the background program has at least $1 children (bounded).
wait_for_children() {
    wait_until "${2:-10}" "the program did not start $1 children" has_children "$1"
}
has_children() {
    (($(pgrep -c -P "$BG_PID") >= $1))
}

# Wait until the background program has ended (bounded); its exit status
# goes to $BG_STATUS. A program that does not end is killed and fails.
wait_bg() {
    local limit=${1:-10} waited=0 state
    while state=$(proc_state "$BG_PID") && [[ $state != Z ]]; do
        if ((waited >= limit * 20)); then
            kill -KILL -- "-$BG_PID" 2>/dev/null
            fail "program still running ${limit}s after it was told to stop"
        fi
        sleep 0.05
        waited=$((waited + 1))
    done
    BG_STATUS=0
    wait "$BG_PID" || BG_STATUS=$?
}

# State letter of a process (R, S, Z, ...); fails if there is no such process.
proc_state() {
    local stat
    stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
    stat=${stat##*) }
    printf '%s\n' "${stat%% *}"
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
