#!/usr/bin/env bats
# Lesson 06: one CPU-bound job split among 1..W workers, free on every core
# and pinned to one, in interleaved rounds. What is checked does not depend on
# luck: the shape of the table, that medians and spreads come from the runs,
# that every split combines to the same result, that pinning really applied,
# that pinned workers never get more than one core's worth, and that a
# speedup above the cores is always marked as noise. No test asserts a speedup.

# shellcheck disable=SC2154 # stderr, stderr_lines: set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 06-cores-and-speedup/speedup)

# A table row: cores, workers, time, spread, speedup, efficiency, busy cores, bar, noise tag.
ROW='^ *([0-9]+) +([0-9]+) +([0-9]+\.[0-9]{3}) +([0-9]+\.[0-9]{3}) +([0-9]+\.[0-9]{2})x +([0-9]+)% +([0-9]+\.[0-9]{2})  \|[#.]{20}\|(  noise: the 1-worker runs were slowed)?$'
# A run line: workers, where, time, cpu, share, result, cores allowed, where it ended.
RUN='^run: ([0-9]+) workers?, (all cores|pinned to one core): ([0-9]+\.[0-9]{3}) s, cpu ([0-9]+\.[0-9]{3}) s, on a core ([0-9]+)% of their time, result ([0-9a-f]{16}), each allowed ([0-9]+) cores?, ended on (core [0-9]+|more than one core)$'

# Cores this test may use, as the program sees them (taskset may narrow it).
allowed_cores() {
    nproc
}

# The lines of $output matching the extended regex $1.
matching() {
    local line
    for line in "${lines[@]}"; do
        [[ $line =~ $1 ]] && printf '%s\n' "$line"
    done
    return 0
}

# The children of process $1, one a line: from /proc/PID/task/PID/children
# where the kernel has it (one read, quick enough to catch a short-lived
# worker on a busy machine), else from the full scan of /proc.
quick_children() {
    local list=/proc/$1/task/$1/children
    if [[ -r $list ]]; then
        tr ' ' '\n' <"$list" | grep .
    else
        children_of "$1"
    fi
    return 0
}

# Wait (bounded) until the background run has at least $1 children.
wait_for_workers() {
    wait_until 20 "it has fewer than $1 children" has_workers "$1"
}
has_workers() {
    (($(quick_children "$BG_PID" | wc -l) >= $1))
}

# Catch N workers of the background run alive at once and stop the last
# of them (SIGSTOP); set WORKERS to their pids. Workers come and go fast,
# so it tries again, bounded, until one is caught still running.
catch_workers() {
    local n=$1 tries=0 state
    while ((tries++ < 400)); do
        bg_running || fail "the program ended before $n workers were caught: $(show_output "$BG_OUT")"
        mapfile -t WORKERS < <(quick_children "$BG_PID" 2>/dev/null)
        if ((${#WORKERS[@]} >= n)) && kill -STOP "${WORKERS[n - 1]}" 2>/dev/null; then
            until state=$(proc_state "${WORKERS[n - 1]}") && [[ $state == T || $state == Z ]]; do
                [[ -e /proc/${WORKERS[n - 1]} ]] || break
                sleep 0.01
            done
            [[ $state == T ]] && kill -0 "${WORKERS[@]:0:n}" 2>/dev/null && return 0
        fi
        sleep 0.02
    done
    fail "no $n workers caught running at once"
}

# awk as a test: exit status 0 when the expression $1 over the variables
# given as name=value is true.
check() {
    local expr=$1
    shift
    local -a vars=()
    local v
    for v in "$@"; do vars+=(-v "$v"); done
    awk "${vars[@]}" "BEGIN { exit !($expr) }"
}

@test "the table: a row per run, 1-worker rows at 1.00x, efficiency = speedup / workers" {
    run_prog --work 20 --max-workers 3 --repeat 1
    assert_success
    local cores runs=6
    cores=$(allowed_cores)
    assert_line --regexp "^speedup: 20 million items, workers 1 to 3, rounds 1 \(interleaved\); this machine lets us use $cores cores?; pinned runs use core [0-9]+$"
    ((cores > 1)) || runs=3 # one core: the free runs would repeat the pinned ones
    assert_line "cores  workers  time (s)  spread (s)  speedup  efficiency  busy cores  bar (full = ${cores}x)"
    local rows i=0 line
    rows=$(matching "$ROW")
    assert_equal "$(wc -l <<<"$rows")" "$runs"
    while read -r line; do
        [[ $line =~ $ROW ]]
        local c=${BASH_REMATCH[1]} w=${BASH_REMATCH[2]} s=${BASH_REMATCH[5]} e=${BASH_REMATCH[6]}
        local want_cores=$cores
        ((i >= 3 || runs == 3)) && want_cores=1
        assert_equal "$c" "$want_cores"
        assert_equal "$w" "$((i % 3 + 1))"
        ((w == 1)) && assert_equal "$s" "1.00"
        check '100 * s / w - e < 1.5 && 100 * s / w - e > -1.5' s="$s" w="$w" e="$e" ||
            fail "efficiency $e% is not speedup $s / $w workers: $line"
        i=$((i + 1))
    done <<<"$rows"
    assert_line --regexp '^verdict: one core: 2 or more workers were never busy on more than [0-9.]+ cores: '
    assert_equal "${lines[-1]}" "every run combined to the same result: $(grep -oE 'result [0-9a-f]{16}' <<<"$output" | head -n 1 | cut -d' ' -f2)"
}

@test "interleaved rounds: 1 worker, 2, ... on all cores, then on one, then again; 3 by default" {
    run_prog --work 5 --max-workers 2
    assert_success
    assert_line --regexp '^speedup: .*, rounds 3 \(interleaved\);'
    local want=() got
    for _ in 1 2 3; do
        if (($(allowed_cores) > 1)); then want+=("1 all cores" "2 all cores"); fi
        want+=("1 pinned to one core" "2 pinned to one core")
    done
    got=$(matching "$RUN" | sed -E 's/^run: ([0-9]+) workers?, ([^:]*):.*/\1 \2/')
    assert_equal "$got" "$(printf '%s\n' "${want[@]}")"
    assert_line --regexp '^== medians of 3 rounds; '
}

@test "each row gives the median of its rounds and their spread (slowest - fastest)" {
    run_prog --work 5 --max-workers 2 --repeat 5
    assert_success
    local row i=0
    local -a kinds=("1 all cores" "2 all cores" "1 pinned to one core" "2 pinned to one core")
    (($(allowed_cores) > 1)) || kinds=("${kinds[@]:2}")
    while read -r row; do
        [[ $row =~ $ROW ]]
        local t=${BASH_REMATCH[3]} spread=${BASH_REMATCH[4]} kind=${kinds[i]} times
        times=$(matching "$RUN" | grep -E "^run: ${kind%% *} workers?, ${kind#* }:" |
            sed -E 's/^run: [^:]*: ([0-9.]+) s,.*/\1/' | sort -g)
        assert_equal "$(wc -l <<<"$times")" 5
        assert_equal "$t" "$(sed -n 3p <<<"$times")"
        check 'max - min - spread < 0.0015 && max - min - spread > -0.0015' \
            max="$(tail -n 1 <<<"$times")" min="$(head -n 1 <<<"$times")" spread="$spread" ||
            fail "spread $spread is not slowest - fastest of: $times"
        i=$((i + 1))
    done < <(matching "$ROW")
    assert_equal "$i" "${#kinds[@]}"
}

@test "split, compute, combine: every split gives the same result" {
    run_prog --work 7 --max-workers 6 --repeat 1 # 7 million: no even split for 3 or 6
    assert_success
    local results
    results=$(grep -oE 'result [0-9a-f]{16}' <<<"$output" | sort -u)
    (($(matching "$RUN" | wc -l) >= 6)) || fail "fewer than 6 runs"
    assert_equal "$(wc -l <<<"$results")" 1
    assert_line "every run combined to the same result: ${results#result }"
}

@test "[06.1] pinned: each worker is allowed 1 core and ends on the core the first line names" {
    run_prog --work 20 --max-workers 3 --repeat 1
    assert_success
    local cpu line
    cpu=$(sed -n 's/.*; pinned runs use core \([0-9]*\)$/\1/p' <<<"${lines[0]}")
    [[ -n $cpu ]] || fail "no pinned core on the first line: ${lines[0]}"
    assert_equal "$(matching "$RUN" | grep -c ', pinned to one core: ')" 3
    while read -r line; do
        [[ $line == *", each allowed 1 core, ended on core $cpu" ]] || fail "not pinned to core $cpu: $line"
    done < <(matching "$RUN" | grep ', pinned to one core: ')
}

@test "under taskset -c K the pinned runs use core K" {
    command -v taskset >/dev/null || skip "taskset (util-linux) is not installed"
    local cpu
    cpu=$(taskset -pc $$ | sed 's/.*: //' | tr ',' '\n' | tr '-' '\n' | tail -n 1) # the last allowed core
    run --separate-stderr run_bounded taskset -c "$cpu" "$PROG" --work 10 --max-workers 2 --repeat 1
    assert_success
    assert_line --regexp "this machine lets us use 1 core; pinned runs use core $cpu$"
    assert_equal "$(matching "$RUN" | grep -c ", each allowed 1 core, ended on core $cpu$")" 2
}

@test "every core allowed: each worker is allowed all the cores" {
    local cores
    cores=$(allowed_cores)
    ((cores > 1)) || skip "one core allowed: there are no free runs"
    run_prog --work 10 --max-workers 2 --repeat 1
    assert_success
    assert_equal "$(matching "$RUN" | grep -c ", all cores: .*, each allowed $cores cores, ")" 2
}

@test "[06.1] pinned to one core, more workers gain nothing: never above one core's worth" {
    # Not luck: on one core the workers' CPU time can never exceed the wall
    # time of the run (busy cores <= 1), and the job needs the same CPU time
    # however it is split. (The speedup in the table does not: a busy moment
    # can slow a 1-worker run.)
    run_prog --work 20 --max-workers 2 --repeat 3
    assert_success
    local line
    while read -r line; do
        [[ $line =~ $RUN ]]
        assert_equal "${BASH_REMATCH[7]}" 1 # each allowed 1 core
        check 'cpu / t <= 1.05' cpu="${BASH_REMATCH[4]}" t="${BASH_REMATCH[3]}" ||
            fail "busy on more than one core: $line"
    done < <(matching "$RUN" | grep ', pinned to one core: ')
    while read -r line; do
        [[ $line =~ $ROW ]]
        ((BASH_REMATCH[1] == 1)) || continue
        check 'b <= 1.05' b="${BASH_REMATCH[7]}" || fail "busy cores above 1 on one core: $line"
    done < <(matching "$ROW")
    assert_line --regexp '^verdict: one core: 2 or more workers were never busy on more than (0\.[0-9]+|1\.0[0-5]) cores: no speedup'
}

@test "a speedup above the cores allowed, or a gain on one core, is marked noise and is no verdict" {
    run_prog --work 10 --max-workers 3 --repeat 3
    assert_success
    local line best=0
    while read -r line; do
        [[ $line =~ $ROW ]]
        local c=${BASH_REMATCH[1]} w=${BASH_REMATCH[2]} s=${BASH_REMATCH[5]} tag=${BASH_REMATCH[8]}
        if check 's > c' s="$s" c="$c"; then
            [[ -n $tag ]] || fail "a speedup above $c cores not marked noise: $line"
        else
            [[ -z $tag ]] || fail "marked noise, yet within $c cores: $line"
            ((c > 1 && w > 1)) && check 's > b' s="$s" b="$best" && best=$s
        fi
    done < <(matching "$ROW")
    if [[ $best != 0 ]]; then # the finding is the best speedup that is not noise
        assert_line --regexp "^verdict: [0-9]+ cores: at best ${best}x with "
    else
        refute_line --regexp '^verdict: [0-9]+ cores: at best'
    fi
    refute_line --regexp '^verdict: one core: .*at best'
}

@test "a 1-worker run slowed on purpose: the gain on one core is noise, its busy cores say why" {
    # The pinned 1-worker run is stopped for a while (kill -STOP): its time
    # grows, its CPU time does not. The pinned 2-worker run after it then
    # looks faster, which one core cannot be: it must come out as noise.
    (($(allowed_cores) > 1)) || skip "one core allowed: no free run measures the load first"
    start_bg --work 60 --max-workers 2 --repeat 1
    wait_for_line "^run: 2 workers, all cores: " 20
    catch_workers 1
    local worker=${WORKERS[0]} hold
    # Not a wait for anything: the time the worker is kept from its core,
    # four times what the 1-worker run on free cores took, so that even a
    # slow 2-worker run later cannot make up for it.
    hold=$(sed -nE 's/^run: 1 worker, all cores: ([0-9.]+) s,.*/\1/p' "$BG_OUT" | awk '{ t = 4 * $1 + 0.2; print (t > 5 ? 5 : t) }')
    sleep "$hold"
    kill -CONT "$worker"
    wait_bg 30
    assert_equal "$BG_STATUS" 0
    local one two
    one=$(sed -nE 's/^run: 1 worker, pinned to one core: ([0-9.]+) s,.*/\1/p' "$BG_OUT")
    two=$(sed -nE 's/^run: 2 workers, pinned to one core: ([0-9.]+) s,.*/\1/p' "$BG_OUT")
    check 'one / two >= 1.005' one="$one" two="$two" ||
        skip "the machine was so busy that 2 workers took longer ($two s) than the stopped one ($one s)"
    grep -qE '^ +1 +2 .*  noise: the 1-worker runs were slowed$' "$BG_OUT" ||
        fail "the 2-worker pinned row is not noise: $(show_output "$BG_OUT")"
    local busy_one
    busy_one=$(grep -E '^ +1 +1 ' "$BG_OUT" | awk '{ print $7 }')
    check 'b < 0.8' b="$busy_one" || fail "the stopped 1-worker run shows busy cores $busy_one"
    grep -qE '^verdict: one core: .*: no speedup' "$BG_OUT" || fail "no one-core verdict: $(show_output "$BG_OUT")"
}

@test "a child it did not start is not waited for: a shell's sleep outlives the run" {
    # sh forks `sleep`, then becomes the program by exec: the sleep is the
    # program's child, but not a worker. Waiting for it would take 30 s.
    local pidfile="$BATS_TEST_TMPDIR/sleep.pid"
    # shellcheck disable=SC2016 # $! and "$@" belong to the inner sh
    run --separate-stderr run_bounded sh -c 'sleep 30 & echo $! >"$0"; exec "$@"' "$pidfile" \
        "$PROG" --work 10 --max-workers 2 --repeat 1
    local sleeper
    sleeper=$(cat "$pidfile")
    kill -0 "$sleeper" 2>/dev/null || fail "the shell's sleep (pid $sleeper) was waited for or killed"
    kill "$sleeper"
    assert_success
    assert_line --regexp '^every run combined to the same result: '
}

@test "[06.2] a child it did not start is not counted: every run lasts at least its workers' CPU time" {
    # The shell's child ends at once, before any worker: a join that took it
    # for a worker would end the 1-worker run early (a row of 0.00 s, cpu
    # 0.02 s) and leave a real worker behind.
    # shellcheck disable=SC2016 # "$@" belongs to the inner sh
    run --separate-stderr run_bounded sh -c '/bin/true & exec "$@"' sh "$PROG" --work 20 --max-workers 2 --repeat 1
    assert_success
    local line
    while read -r line; do
        [[ $line =~ $RUN ]]
        check 't >= cpu' t="${BASH_REMATCH[3]}" cpu="${BASH_REMATCH[4]}" ||
            fail "a 1-worker run ended before its worker did: $line"
    done < <(matching "$RUN" | grep '^run: 1 worker, ')
    (($(matching "$RUN" | wc -l) >= 2)) || fail "runs are missing"
    assert_equal "$stderr" ""
}

@test "[06.2] a worker killed by someone else: the program says so at once and exits 1" {
    start_bg --work 100000 --max-workers 2
    wait_for_workers 1
    local worker
    worker=$(quick_children "$BG_PID" | head -n 1)
    kill -KILL "$worker"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qE "^speedup: a worker \(pid $worker\) failed: killed by signal 9" "$BG_OUT" ||
        fail "no message about the killed worker: $(show_output "$BG_OUT")"
    if grep -q '^every run combined' "$BG_OUT"; then fail "a last line after a failure"; fi
}

@test "[06.2] a worker killed while its sibling is stopped: noticed at once, the sibling stopped and reaped" {
    # A join that waited for the workers in order, or for the pipe to end,
    # would wait for ever here: the stopped sibling never ends by itself.
    start_bg --work 200 --max-workers 3 --repeat 1
    catch_workers 2
    local victim=${WORKERS[0]} sibling=${WORKERS[1]}
    kill -KILL "$victim"
    wait_bg 10
    assert_equal "$BG_STATUS" 1
    grep -qE "a worker \(pid $victim\) failed: killed by signal 9" "$BG_OUT" ||
        fail "no message about the killed worker: $(show_output "$BG_OUT")"
    if grep -q "pid $sibling" "$BG_OUT"; then fail "the sibling it stopped itself is reported: $(show_output "$BG_OUT")"; fi
    if grep -q '^every run combined' "$BG_OUT"; then fail "a last line after a failure"; fi
    assert_gone "$sibling"
}

@test "Ctrl-C (SIGINT to the process group) while workers compute leaves nothing behind" {
    local orphans
    orphans=$(orphan_zombies)
    start_bg --work 100000 --max-workers 3
    wait_for_workers 1
    signal_bg_and_check INT group
    assert_equal "$(orphan_zombies)" "$orphans"
}

@test "SIGTERM to the parent alone, with a worker stopped (kill -STOP), leaves nothing behind" {
    # A stopped worker acts on SIGTERM only once continued: the program must
    # send SIGCONT too, or it would wait for that worker for ever.
    local orphans
    orphans=$(orphan_zombies)
    start_bg --work 100000 --max-workers 3
    wait_for_workers 1
    local worker
    for worker in $(quick_children "$BG_PID"); do
        stop_process "$worker"
    done
    signal_bg_and_check TERM
    assert_equal "$(orphan_zombies)" "$orphans"
}

@test "a fork that fails (EAGAIN): a clear message, exit 1, every worker reaped" {
    # Run 1 forks its 1 worker; run 2 forks one, then the next fork fails.
    run_prog_injected FAIL_FORK_AFTER=2 -- --work 30 --max-workers 2 --repeat 1
    assert_failure 1
    [[ $stderr == *"fork: Resource temporarily unavailable"* ]] || fail "no clear fork message: $stderr"
    refute_line --regexp '^every run combined'
    assert_forks_gone 2
}

@test "no line is duplicated or torn when stdout is a pipe" {
    run_piped --work 10 --max-workers 3 --repeat 1
    assert_success
    assert_no_duplicate_lines
    local runs=6
    (($(allowed_cores) > 1)) || runs=3
    assert_equal "$(matching "$RUN" | wc -l)" "$runs"
}

@test "| head -1 ends it quietly; >/dev/full gives a message and a non-zero exit" {
    # shellcheck disable=SC2016 # "$@" belongs to the inner sh
    run --separate-stderr run_bounded sh -c '"$@" | head -n 1' sh "$PROG" --work 10 --max-workers 2 --repeat 1
    assert_success
    assert_equal "${#lines[@]}" 1
    assert_equal "$stderr" ""
    # shellcheck disable=SC2016
    run --separate-stderr run_bounded sh -c 'exec "$@" >/dev/full' sh "$PROG" --work 10 --max-workers 2 --repeat 1
    assert_failure
    [[ $stderr == *"cannot write to stdout"* ]] || fail "no message for the write error: $stderr"
}

@test "a SIGCHLD ignored by whoever started it does not stop the join" {
    # With SIGCHLD ignored the kernel reaps the workers itself, and a parent
    # that kept that setting would find nothing to wait for.
    # shellcheck disable=SC2016 # "$0" and "$@" belong to the inner bash
    run --separate-stderr run_bounded bash -c 'trap "" CHLD; exec "$0" "$@"' "$PROG" --work 10 --max-workers 2 --repeat 1
    assert_success
    assert_line --regexp '^every run combined to the same result: [0-9a-f]{16}$'
}

@test "--timeline: a row per process; the workers of one run side by side; the parent in waitpid" {
    run_prog --work 40 --max-workers 2 --repeat 1 --timeline
    assert_success
    local -a names=("free 1 of 1" "free 1 of 2" "free 2 of 2" "pinned 1 of 1" "pinned 1 of 2" "pinned 2 of 2")
    (($(allowed_cores) > 1)) || names=("${names[@]:3}")
    assert_line --regexp "^timeline: $((1 + ${#names[@]})) processes over "
    local parent name row
    parent=$(matching '^parent +\|')
    [[ $parent == *w* ]] || fail "the parent is never in waitpid: $parent"
    for name in "${names[@]}"; do
        row=$(matching "^$name +\|")
        [[ -n $row ]] || fail "no row for '$name'"
        [[ $row == *"#"* ]] || fail "'$name' never runs: $row"
        ((${#row} <= 80)) || fail "row wider than 80 columns: $row"
    done
    # Both workers of a 2-worker run exist at the same moment: in some
    # column both rows show '#' (side by side on two cores, taking turns on one).
    local kind a b c
    for kind in free pinned; do
        a=$(matching "^$kind 1 of 2 +\|") b=$(matching "^$kind 2 of 2 +\|")
        [[ -n $a ]] || continue
        for ((c = 0; c < ${#a}; c++)); do
            [[ ${a:c:1} == "#" && ${b:c:1} == "#" ]] && break
        done
        ((c < ${#a})) || fail "the two $kind workers never run at the same time:
$a
$b"
    done
    assert_line --regexp '^legend: '
}

@test "--trace writes JSON; for each worker fork <= start <= exit <= reap" {
    command -v python3 >/dev/null || skip "python3 is not installed: the JSON is not checked"
    local trace="$BATS_TEST_TMPDIR/t.json"
    run_prog --work 10 --max-workers 2 --repeat 1 --trace "$trace"
    assert_success
    run python3 - "$trace" <<'EOF'
import json, sys
events = json.load(open(sys.argv[1]))["traceEvents"]
when = {}
for e in events:
    if e["ph"] == "i" and e["name"] in ("fork", "start", "exit", "reap"):
        when.setdefault(e["pid"], {})[e["name"]] = e["ts"]
workers = [p for p in when if "fork" in when[p]]
assert len(workers) >= 3, workers
for p in workers:
    t = when[p]
    assert t["fork"] <= t["start"] <= t["exit"] <= t["reap"], t
print(len(workers), "workers in order")
EOF
    assert_success
}

@test "--help prints usage on stdout and exits 0" {
    local flag f
    for flag in -h --help; do
        run_prog "$flag"
        assert_success
        assert_output --partial "usage: speedup"
        for f in --work --max-workers --repeat --timeline --trace; do
            assert_output --partial "$f"
        done
        assert_equal "$stderr" ""
    done
}

@test "bad input exits 2 with one line naming the flag, and starts nothing" {
    assert_bad_values "--work|0" "--work|100001" "--work|abc" "--work|-3" "--work|1.5" "--work|" \
        "--max-workers|0" "--max-workers|17" "--repeat|0" "--repeat|11" "--repeat|x"
    assert_bad_command_lines "--bogus" "--work" "extra" "--cores one" "--cpu 0"
    run_prog --timeline=bogus
    assert_failure 2
    assert_equal "$output" ""
    [[ $stderr == *--timeline* ]] || fail "the message does not name --timeline: $stderr"
}
