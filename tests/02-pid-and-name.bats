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

@test "every square from 1 to N exactly once, and nothing else" {
    run_prog --count 12 "${QUICK[@]}"
    assert_success
    local want got
    want=$(for n in $(seq 12); do echo "Result of $n squared: $((n * n))"; done | sort)
    got=$(grep '^Result of' <<<"$output" | sort)
    assert_equal "$got" "$want"
}

@test "N distinct worker pids, none the parent's; each worker names the parent as its parent" {
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

@test "names 1..N are seen in /proc while the workers sleep" {
    start_bg --count 6 --min-sleep 30 --max-sleep 30
    local want="1 2 3 4 5 6" waited=0
    until [[ $(children_names) == "$want" ]]; do
        ((waited < 200)) || fail "children's names are '$(children_names)', expected '$want'"
        sleep 0.05
        waited=$((waited + 1))
    done
    # The parent keeps the program's own name.
    assert_equal "$(cat "/proc/$BG_PID/comm")" "pid_name"
    stop_bg
}

@test "the kernel keeps 15 bytes of a name; the program prints it whole" {
    start_bg --count 3 --min-sleep 30 --max-sleep 30 --name-prefix pid-name-worker-
    wait_for_workers 3
    # 16 bytes of prefix: the kernel cuts every name to the same 15 bytes.
    assert_equal "$(children_names)" "pid-name-worker pid-name-worker pid-name-worker"
    stop_bg
    grep -q '^Worker pid-name-worker-3: ' "$BG_OUT" || fail "full name not printed: $(show_output "$BG_OUT")"
}

@test "the same --seed gives each name the same sleep; another seed does not" {
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

@test "whole-second bounds give whole-second sleeps, like random.randint" {
    run_prog --count 12 --min-sleep 0 --max-sleep 1 --seed 5
    assert_success
    local name secs
    while read -r name secs; do
        [[ $secs == 0.000 || $secs == 1.000 ]] || fail "worker $name sleeps $secs, not 0 or 1"
    done < <(sleeps_by_name)
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
    [[ $stderr == *"fork for worker 6 of 20 failed: Resource temporarily unavailable"* ]] ||
        fail "no clear fork message: $stderr"
    [[ $stderr == *"stopped and reaped 5 workers"* ]] || fail "no word on the workers stopped: $stderr"
    refute_line --partial "Result of"
    refute_line "Main-Process Done."
    # The five workers it made are gone: not running, not zombies.
    assert_forks_gone 5
}

@test "an error in the parent while workers sleep stops and reaps them before it exits" {
    # waitid fails (injected): the parent must not leave its 5 workers behind.
    run_prog_injected FAIL_WAITID=1 -- --count 5 --min-sleep 30 --max-sleep 30
    assert_failure 1
    [[ $stderr == *"waitid: Invalid argument"* ]] || fail "no clear message: $stderr"
    refute_line "Main-Process Done."
    assert_forks_gone 5
}

@test "a worker killed by someone else: the parent says so and exits 1" {
    start_bg --count 1 --min-sleep 30 --max-sleep 30
    wait_for_workers 1
    local worker
    worker=$(children_of "$BG_PID") || fail "no worker found"
    kill -KILL "$worker"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -q "worker 1 (pid $worker) was killed by signal 9" "$BG_OUT" ||
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
