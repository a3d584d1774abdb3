#!/usr/bin/env bats
# Lesson 02: many workers, each with its own pid, name and random sleep
# (seed example 2).

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
PROG=$(lesson 02-pid-and-name/pid_name)

# Short sleeps, so that a run takes a fraction of a second.
QUICK=(--min-sleep 0 --max-sleep 0.05)

# "name sleep" for every worker of $output, sorted by name.
sleeps_by_name() {
    sed -n 's/^Worker \([^:]*\): pid [0-9]*, parent pid [0-9]*, sleeping \([0-9.]*\) s$/\1 \2/p' \
        <<<"$output" | sort -n
}

# The one value of the line "<label>: <value>" of $output ("Parent process ID").
value_of() {
    sed -n "s/^$1: \([0-9]*\).*/\1/p" <<<"$output"
}

# Wait (bounded) until the background run has printed N "Worker" lines:
# all N workers exist, are named, and are sleeping.
wait_for_workers() {
    wait_until 10 "fewer than $1 workers have started" has_worker_lines "$1"
}
has_worker_lines() {
    (($(grep -c '^Worker ' "$BG_OUT") >= $1))
}

# The names (/proc/<pid>/comm) of the background program's children, sorted.
children_names() {
    local pid
    for pid in $(children_of "$BG_PID"); do
        cat "/proc/$pid/comm" 2>/dev/null
    done | sort -n | paste -sd' '
}

# Stop the background run (SIGTERM to the parent) and check it went cleanly.
stop_bg() {
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143
}

# A preload library whose waitpid() fails with EINVAL while FAIL_WAITPID is
# set: an error in the parent while its workers run. (The registry reaps
# with waitid on a pidfd, which this library leaves alone.)
waitpid_failure_lib() {
    local lib="$BATS_FILE_TMPDIR/fail_waitpid.so"
    [[ -e $lib ]] || cc -shared -fPIC -o "$lib" -x c - -ldl <<'EOF' >&2 || fail "cannot build $lib"
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <stdlib.h>
#include <sys/types.h>
#include <sys/wait.h>
pid_t waitpid(pid_t pid, int *status, int options)
{
    pid_t (*real_waitpid)(pid_t, int *, int);
    if (getenv("FAIL_WAITPID")) {
        errno = EINVAL;
        return -1;
    }
    *(void **)&real_waitpid = dlsym(RTLD_NEXT, "waitpid");
    return real_waitpid(pid, status, options);
}
EOF
    printf '%s\n' "$lib"
}

# The rows of the --timeline drawing in $output: "name|cells", one a line.
timeline_rows() {
    sed -n '/^timeline: /,/^ *+-/p' <<<"$output" | sed -n 's/^\([^ ]*\) *|\(.*\)|$/\1|\2/p'
}

# A JSON checker: python3, else jq; none: the test is skipped, saying so.
need_json_tool() {
    command -v python3 >/dev/null || command -v jq >/dev/null ||
        skip "neither python3 nor jq is installed: cannot check the JSON"
}
json_valid() {
    if command -v python3 >/dev/null; then
        python3 -m json.tool "$1" >/dev/null
    else
        jq empty "$1"
    fi
}

# Check a trace file (python3): every worker's instants fork <= start <=
# exit <= reap, its track named, and its zombie time as an X event.
# Prints one line per worker: "name fork start exit reap" (microseconds).
check_trace_order() {
    python3 - "$1" <<'EOF'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
for e in events:
    for field in ("ph", "name", "pid", "tid"):
        assert field in e, "event without %s: %r" % (field, e)
    assert e["ph"] == "M" or "ts" in e, "event without ts: %r" % e
names = {e["pid"]: e["args"]["name"] for e in events if e["ph"] == "M" and e["name"] == "process_name"}
instants = {}
for e in events:
    if e["ph"] == "i" and e["name"] in ("fork", "start", "exit", "reap"):
        instants.setdefault(e["pid"], {})[e["name"]] = e["ts"]
zombies = {e["pid"] for e in events if e["ph"] == "X" and e["name"] == "zombie"}
for pid, seen in sorted(instants.items()):
    if "fork" not in seen:
        continue  # the parent: it has a start only
    missing = {"fork", "start", "exit", "reap"} - set(seen)
    assert not missing, "%s has no %s event" % (names.get(pid), missing)
    order = [seen[k] for k in ("fork", "start", "exit", "reap")]
    assert order == sorted(order), "%s: fork, start, exit, reap out of order: %r" % (names.get(pid), order)
    assert pid in zombies, "%s has no zombie event" % names.get(pid)
    print(names[pid].split(" ")[0], *order)
EOF
}

@test "[02.1] every square from 1 to N exactly once, and nothing else" {
    run_prog --count 12 "${QUICK[@]}"
    assert_success
    local want got
    want=$(for n in $(seq 12); do echo "Result of $n squared: $((n * n))"; done | sort)
    got=$(grep '^Result of' <<<"$output" | sort)
    assert_equal "$got" "$want"
}

@test "[02.1] N distinct worker pids, none the parent's; each worker names the parent as its parent" {
    run_prog --count 12 "${QUICK[@]}"
    assert_success
    local parent
    parent=$(value_of "Parent process ID")
    [[ $parent =~ ^[0-9]+$ ]] || fail "no 'Parent process ID: <pid>' line"

    local pids
    pids=$(sed -n 's/^Process ID: \([0-9]*\), Process Name: [0-9]*$/\1/p' <<<"$output" | sort -u)
    assert_equal "$(wc -l <<<"$pids")" 12
    refute grep -qx "$parent" <<<"$pids"

    # "Worker <n>: pid P, parent pid Q": Q is the parent, and P is the pid the
    # same worker reports in its "Process ID: P, Process Name: <n>" line.
    local n line pid
    for n in $(seq 12); do
        line=$(grep "^Worker $n: " <<<"$output") || fail "no start line for worker $n"
        [[ $line =~ ^Worker\ $n:\ pid\ ([0-9]+),\ parent\ pid\ $parent, ]] ||
            fail "worker $n does not name $parent as its parent: $line"
        pid=${BASH_REMATCH[1]}
        assert_line "Process ID: $pid, Process Name: $n"
    done
}

@test "Main-Process Done. is the last line, once, after every worker's lines" {
    run_prog --count 12 "${QUICK[@]}"
    assert_success
    assert_equal "${lines[-1]}" "Main-Process Done."
    assert_equal "$(grep -c '^Main-Process Done\.$' <<<"$output")" 1
    # Parent pid, seed, then three lines per worker, then Done.
    assert_equal "${#lines[@]}" $((2 + 3 * 12 + 1))
    assert_equal "${lines[0]}" "Parent process ID: $(value_of "Parent process ID")"
    assert_line --index 1 --regexp '^Random seed: [0-9]+ '
}

@test "[02.3] names 1..N are seen in /proc while the workers sleep" {
    start_bg --count 6 --min-sleep 30 --max-sleep 30
    # A worker prints its "Worker" line after it has named itself.
    wait_for_workers 6
    assert_equal "$(children_names)" "1 2 3 4 5 6"
    # The parent keeps the program's own name.
    assert_equal "$(cat "/proc/$BG_PID/comm")" "pid_name"
    stop_bg
}

@test "[02.3] the kernel keeps 15 bytes of a name; the program prints it whole" {
    start_bg --count 3 --min-sleep 30 --max-sleep 30 --name-prefix pid-name-worker-
    wait_for_workers 3
    # 16 bytes of prefix: the kernel cuts every name to the same 15 bytes.
    assert_equal "$(children_names)" "pid-name-worker pid-name-worker pid-name-worker"
    stop_bg
    grep -q '^Worker pid-name-worker-3: ' "$BG_OUT" || fail "full name not printed: $(show_output "$BG_OUT")"
}

@test "[02.4] the same --seed gives each name the same sleep; another seed does not" {
    local first second other
    run_prog --seed 42 --count 20 --min-sleep 0 --max-sleep 0.1
    assert_success
    assert_line --index 1 --regexp '^Random seed: 42 '
    first=$(sleeps_by_name)
    assert_equal "$(wc -l <<<"$first")" 20

    # Each worker drew its own sleep, within the bounds.
    (($(cut -d' ' -f2 <<<"$first" | sort -u | wc -l) > 1)) || fail "all workers sleep alike: $first"
    local name secs
    while read -r name secs; do
        [[ $secs =~ ^0\.[0-9]{3}$ || $secs == 0.100 ]] || fail "worker $name sleeps $secs, outside 0..0.1"
    done <<<"$first"

    run_prog --seed 42 --count 20 --min-sleep 0 --max-sleep 0.1
    assert_success
    second=$(sleeps_by_name)
    assert_equal "$second" "$first"

    run_prog --seed 43 --count 20 --min-sleep 0 --max-sleep 0.1
    assert_success
    other=$(sleeps_by_name)
    [[ $other != "$first" ]] || fail "seeds 42 and 43 gave the same sleeps"
}

@test "without --seed the printed seed repeats the run" {
    run_prog --count 10 "${QUICK[@]}"
    assert_success
    local seed first
    seed=$(value_of "Random seed")
    [[ $seed =~ ^[0-9]+$ ]] || fail "no 'Random seed: <S>' line"
    first=$(sleeps_by_name)
    run_prog --count 10 "${QUICK[@]}" --seed "$seed"
    assert_success
    assert_equal "$(sleeps_by_name)" "$first"
}

@test "[02.4] whole-second bounds give whole-second sleeps, like random.randint(1, 3) by default" {
    # Each worker prints its sleep before it sleeps: no need to wait 3 s.
    start_bg --count 12 --seed 5
    wait_for_workers 12
    stop_bg
    output=$(cat "$BG_OUT")
    local name secs
    while read -r name secs; do
        [[ $secs =~ ^[123]\.000$ ]] || fail "worker $name sleeps $secs, not 1, 2 or 3"
    done < <(sleeps_by_name)
    # Each worker draws its own: seed 5 gives all three.
    assert_equal "$(sleeps_by_name | cut -d' ' -f2 | sort -u | paste -sd' ')" "1.000 2.000 3.000"
}

@test "--inherit-random shows the mistake: every worker sleeps exactly as long" {
    run_prog --count 12 "${QUICK[@]}" --inherit-random
    assert_success
    assert_equal "$(sleeps_by_name | cut -d' ' -f2 | sort -u | wc -l)" 1
    assert_equal "$(grep -c '^Result of' <<<"$output")" 12
}

@test "--count 1000 works" {
    run_prog --count 1000 --min-sleep 0 --max-sleep 0.02
    assert_success
    assert_equal "${lines[-1]}" "Main-Process Done."
    local want
    want=$(for n in $(seq 1000); do echo "Result of $n squared: $((n * n))"; done | sort)
    assert_equal "$(grep '^Result of' <<<"$output" | sort)" "$want"
    assert_equal "$(sed -n 's/^Process ID: \([0-9]*\),.*/\1/p' <<<"$output" | sort -u | wc -l)" 1000
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --count 20 --min-sleep 0 --max-sleep 0.05
    assert_success
    assert_no_duplicate_lines
    assert_equal "${#lines[@]}" $((2 + 3 * 20 + 1))
    local line
    for line in "${lines[@]}"; do
        [[ $line =~ ^(Parent\ process\ ID|Random\ seed|Worker\ [0-9]+:|Process\ ID:|Result\ of|Main-Process\ Done) ]] ||
            fail "torn or unknown line: $line"
    done
}

@test "a SIGCHLD ignored by whoever started it does not stop the join" {
    # With SIGCHLD ignored the kernel reaps the workers itself, and a parent
    # that kept that setting would find nothing to wait for.
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" --count 5 "${QUICK[@]}"
    assert_success
    assert_equal "$(grep -c '^Result of' <<<"$output")" 5
    assert_equal "${lines[-1]}" "Main-Process Done."
}

@test "--help prints usage on stdout and exits 0" {
    local flag
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: pid_name"
        local opt
        for opt in --count --min-sleep --max-sleep --seed --name-prefix --inherit-random; do
            assert_output --partial "$opt"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--count|0" "--count|-1" "--count|abc" "--count|5000" "--count|1.5" "--count|" \
        "--min-sleep|-1" "--min-sleep|x" "--min-sleep|4000" "--max-sleep|1e3" "--max-sleep|nan" \
        "--seed|-1" "--seed|abc" "--seed|2147483648" "--name-prefix|" \
        "--name-prefix|$(printf 'n%.0s' {1..65})"
}

@test "--min-sleep above --max-sleep, unknown flags, stray arguments: exit 2" {
    run_prog --min-sleep 2 --max-sleep 1
    assert_failure 2
    assert_equal "$output" ""
    [[ $stderr == *--min-sleep*--max-sleep* ]] || fail "message does not name both flags: $stderr"

    assert_bad_command_lines "--bogus" "--count" "extra" "-x 1"
}

@test "a fork that fails (EAGAIN) stops and reaps the workers already started" {
    # The workers would sleep 30 s: the run ends at once only if they are stopped.
    run_prog_injected FAIL_FORK_AFTER=5 -- --count 20 --min-sleep 30 --max-sleep 30
    assert_failure 1
    assert_equal "$stderr" "pid_name: fork for worker 6 of 20 failed: Resource temporarily unavailable"
    refute_line --partial "Result of"
    refute_line "Main-Process Done."
    # The five workers it made are gone: not running, not zombies.
    assert_forks_gone 5
}

@test "an error in the parent while workers sleep stops and reaps them before it exits" {
    # waitpid fails (injected): the parent must not leave its 5 workers behind.
    # The workers would sleep 30 s: the run ends at once only if they are stopped.
    local lib
    lib=$(waitpid_failure_lib)
    FORKS="$BATS_TEST_TMPDIR/forks.txt"
    run --separate-stderr run_bounded env LD_PRELOAD="$(fixture inject_failures.so) $lib" \
        FAIL_FORK_LOG="$FORKS" FAIL_WAITPID=1 "$PROG" --count 5 --min-sleep 30 --max-sleep 30
    assert_failure 1
    assert_equal "$stderr" "pid_name: waitpid for worker 1: Invalid argument"
    refute_line "Main-Process Done."
    assert_forks_gone 5
}

@test "[02.2] a worker killed by someone else: the parent says so and exits 1" {
    start_bg --count 1 --min-sleep 30 --max-sleep 30
    wait_for_workers 1
    local worker
    worker=$(children_of "$BG_PID") || fail "no worker found"
    kill -KILL "$worker"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qx "pid_name: worker 1 (pid $worker) failed: killed by signal 9 (Killed)" "$BG_OUT" ||
        fail "no message about the killed worker: $(show_output "$BG_OUT")"
    assert_equal "$(tail -n 1 "$BG_OUT")" "Main-Process Done."
}

@test "SIGTERM to the parent alone while the workers sleep leaves no process behind" {
    start_bg --count 8 --min-sleep 30 --max-sleep 30
    wait_for_workers 8
    local -a pids
    mapfile -t pids < <(children_of "$BG_PID")
    assert_equal "${#pids[@]}" 8
    kill -TERM "$BG_PID"
    wait_bg 10
    assert_equal "$BG_STATUS" 143 # 128 + SIGTERM: the parent died of the signal
    refute grep -q "Main-Process Done." "$BG_OUT"
    assert_gone "${pids[@]}"
    assert_nothing_left
}

@test "SIGINT to the parent alone while the workers sleep leaves no process behind" {
    start_bg --count 8 --min-sleep 30 --max-sleep 30
    wait_for_workers 8
    assert_equal "$(children_of "$BG_PID" | wc -l)" 8
    signal_bg_and_check INT
}

@test "a worker stopped with SIGSTOP does not keep SIGTERM to the parent from ending it" {
    # The parent must send SIGCONT after SIGTERM: a stopped worker keeps the
    # SIGTERM pending, and the parent's waitpid would wait for ever.
    start_bg --count 3 --min-sleep 30 --max-sleep 30
    wait_for_workers 3
    stop_process "$(children_of "$BG_PID" | head -n 1)"
    signal_bg_and_check TERM
}

@test "Ctrl-C (SIGINT to the whole process group) leaves no process behind" {
    start_bg --count 8 --min-sleep 30 --max-sleep 30
    wait_for_workers 8
    assert_equal "$(children_of "$BG_PID" | wc -l)" 8
    signal_bg_and_check INT group
}

@test "a child it did not start (left by a shell's exec) is not waited for, counted or drawn" {
    # The shell starts a long sleep, then becomes pid_name: the sleep is a
    # child of pid_name that it never forked. Waiting for it would hang the
    # run past the 5 s bound; counting it would add a row or a result.
    run_prog_with_stranger --count 3 "${QUICK[@]}" --timeline
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(grep -c '^Result of' <<<"$output")" 3
    assert_line "Main-Process Done."
    assert_line --regexp '^timeline: 4 processes '
    assert_equal "$(timeline_rows | cut -d'|' -f1 | paste -sd' ')" "parent 1 2 3"
}

@test "a full disk on stdout (>/dev/full): a message on stderr and exit 1" {
    run_prog_to_full_disk --count 3 "${QUICK[@]}"
    assert_failure 1
    assert_equal "$stderr" "pid_name: cannot write to stdout: No space left on device"
}

@test "| head -n 1 ends the run quietly: no message about signal 13, nothing left" {
    # The workers sleep 0.2 s, long after head has read the first line and
    # gone: their lines go to a closed pipe.
    run_prog_into_head --count 8 --min-sleep 0.2 --max-sleep 0.2
    assert_success
    assert_equal "$stderr" ""
    assert_output --regexp '^Parent process ID: [0-9]+$'
    # 0 if it wrote everything before head left, else it died of SIGPIPE.
    [[ $PIPE_STATUS =~ ^(0|141)$ ]] || fail "exit status $PIPE_STATUS, expected 0 or 141"
}

@test "--timeline: one row per process, the zombies waiting for the join, one reap per worker" {
    # Seed 2: worker 1 draws the longest sleep (0.426 s) and worker 8 the
    # shortest (0.131 s). The parent joins worker 1 first, so every other
    # worker ends before it is reaped: a zombie, drawn Z, up to its '|'.
    need_json_tool
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --count 8 --min-sleep 0.1 --max-sleep 0.6 --seed 2 --timeline --trace "$trace"
    assert_success
    assert_line --regexp '^timeline: 9 processes over [0-9.]+ s, one column = [0-9.]+ s$'
    assert_line --regexp '^legend: '
    assert_output --regexp 'Z zombie: exited, not yet reaped'
    assert_output --regexp '\| reaped by the parent'
    # Not a terminal: the drawing (rows and time axis) fits 80 columns.
    local line
    while IFS= read -r line; do
        ((${#line} <= 80)) || fail "line wider than 80 columns: $line"
    done < <(sed -n '/^timeline: /,/^legend: /p' <<<"$output" | sed '$d')
    local rows
    rows=$(timeline_rows)
    assert_equal "$(cut -d'|' -f1 <<<"$rows" | paste -sd' ')" "parent 1 2 3 4 5 6 7 8"
    # The parent spends the run blocked in waitpid.
    grep -q '^parent|.*w' <<<"$rows" || fail "the parent row shows no waitpid: $rows"
    # Each worker: alive (running or sleeping), then a zombie, then reaped once.
    local row name cells
    while IFS= read -r row; do
        name=${row%%|*} cells=${row#*|}
        [[ $name == parent ]] && continue
        [[ $cells =~ ^\ *[#s]+Z*\|\ *$ ]] ||
            fail "worker $name: not 'alive, zombie, reaped' in that order: |$cells|"
    done <<<"$rows"
    # The trace of the same run says how long each worker was a zombie:
    # any worker that waited longer than 3 columns shows Z cells.
    local column order
    column=$(sed -n 's/^timeline: .*one column = \([0-9.]*\) s$/\1/p' <<<"$output")
    if command -v python3 >/dev/null; then
        order=$(check_trace_order "$trace") || fail "bad trace: $order"
        local fork start exit reap zombies=0
        while read -r name fork start exit reap; do
            if awk -v z="$exit" -v r="$reap" -v c="$column" 'BEGIN { exit !((r - z) / 1e6 > 3 * c) }'; then
                grep -q "^$name|.*Z" <<<"$rows" || fail "worker $name was a zombie for $(((${reap%.*} - ${exit%.*}) / 1000)) ms, no Z: $rows"
                zombies=$((zombies + 1))
            fi
        done <<<"$order"
        ((zombies >= 1)) || fail "no worker waited as a zombie: $order"
        # Worker 8's sleep ends 0.3 s before worker 1's: it must be one.
        grep -q '^8|.*Z' <<<"$rows" || fail "worker 8 shows no zombie phase: $rows"
    fi
}

@test "--trace: valid JSON, a named track per process, fork <= start <= exit <= reap for every worker" {
    need_json_tool
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --count 8 --min-sleep 0 --max-sleep 0.1 --trace "$trace"
    assert_success
    assert_equal "${lines[-1]}" "Main-Process Done." # no drawing without --timeline
    if ! command -v python3 >/dev/null; then
        json_valid "$trace" || fail "not valid JSON: $(head -c 2000 "$trace")"
        skip "python3 is not installed: only the JSON syntax was checked"
    fi
    local order
    order=$(check_trace_order "$trace") || fail "bad trace: $order"
    assert_equal "$(cut -d' ' -f1 <<<"$order" | sort -n | paste -sd' ')" "1 2 3 4 5 6 7 8"
    # No temporary file is left beside it.
    assert_equal "$(find "$BATS_TEST_TMPDIR" -name 't.json.tmp*' | wc -l)" 0
}

@test "Ctrl-C during a --trace --timeline run leaves nothing behind and no half-written trace" {
    local trace="$BATS_TEST_TMPDIR/t.json"
    start_bg --count 4 --min-sleep 30 --max-sleep 30 --timeline --trace "$trace"
    wait_for_workers 4
    signal_bg_and_check INT group
    if [[ -e $trace ]]; then
        need_json_tool
        json_valid "$trace" || fail "a truncated trace was left: $(head -c 2000 "$trace")"
    fi
    assert_equal "$(find "$BATS_TEST_TMPDIR" -name 't.json.tmp*' | wc -l)" 0
}

@test "--timeline and --trace on bad input exit 2 before anything starts" {
    assert_bad_values "--trace|$BATS_TEST_TMPDIR/no/such/dir/t.json"
    assert_bad_command_lines "--trace"
    run_prog --timeline=bogus
    assert_failure 2
    assert_equal "$output" ""
    [[ $stderr == *--timeline*ascii*color* ]] || fail "--timeline=bogus: no message naming the flag and its choices: $stderr"
}
