#!/usr/bin/env bats
# Lesson 11: lesson 04's job with MPI. Every rank counts its share of the
# work, MPI_Reduce adds the shares up on rank 0; a rank that fails ends the
# whole job; bad input exits 2 without a hang. Needs Open MPI (mpirun,
# mpicc): without it every test here is skipped, with one line saying why.

# shellcheck disable=SC2154 # stderr and stderr_lines are set by bats' run
load helpers
# shellcheck disable=SC2034 # PROG is read by helpers.bash
PROG=$(lesson 11-mpi-reduction/mpi_sum)

# Why this machine cannot run the file ("" when it can). bats 1.8 cannot
# skip from setup_file, so each test's setup skips, with this one line.
no_mpi_reason() {
    if [[ -n ${KIT_SANDBOX:-} ]]; then
        # There mpirun would run as the tester and its ranks as the student,
        # who may not reach mpirun's own session files: the ranks never start.
        echo "lesson 11 is not graded in the grading sandbox: mpirun and its ranks would run as two users"
    elif ! command -v mpirun >/dev/null || ! command -v mpicc >/dev/null; then
        echo "Open MPI is not installed (no mpirun or mpicc); to test lesson 11: apt-get install openmpi-bin libopenmpi-dev"
    elif ! grep -qv '^down$' /sys/class/net/*/operstate 2>/dev/null; then
        # mpirun's launcher talks over a network interface, loopback at least.
        echo "no network interface is up, not even lo: Open MPI cannot start here (ip link set lo up)"
    fi
}

# helpers.bash's setup, after the check.
declare -f kit_setup >/dev/null || eval "kit_setup() $(declare -f setup | tail -n +2)"
setup() {
    local reason
    reason=$(no_mpi_reason)
    [[ -z $reason ]] || skip "$reason"
    # Open MPI refuses root unless told twice; CI runs as root, a student never does.
    if [[ $(id -u) == 0 ]]; then
        export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
    fi
    # Open MPI keeps memory it never frees at exit: in a build with the
    # address sanitizer its leak checker would blame the lesson for it.
    export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
    kit_setup
}

# run_mpi NP ARGS...: mpirun -np NP mpi_sum ARGS under `run`, bounded.
run_mpi() {
    local np=$1
    shift
    KIT_RUN_TIMEOUT=15 run --separate-stderr run_bounded mpirun --oversubscribe -np "$np" "$PROG" "$@"
}

# After run_mpi NP: one "Process ID" line per rank, ids 0..NP-1 once each,
# distinct pids, each followed by its Result line; print the Results.
rank_results() {
    local np=$1 i pids=() ids=() results=()
    for i in "${!lines[@]}"; do
        if [[ ${lines[i]} =~ ^Process\ ID:\ ([0-9]+),\ Process\ name:\ ([0-9]+),\ ID:\ ([0-9]+),\ Host:\ .+$ ]]; then
            pids+=("${BASH_REMATCH[1]}")
            ids+=("${BASH_REMATCH[3]}")
            [[ ${lines[i + 1]} =~ ^Result:\ ([0-9]+)$ ]] || fail "no Result line after '${lines[i]}'"
            results+=("${BASH_REMATCH[1]}")
        fi
    done
    [[ ${#ids[@]} == "$np" ]] || fail "expected $np Process ID lines, got ${#ids[@]}: $output"
    [[ $(printf '%s\n' "${pids[@]}" | sort -u | wc -l) == "$np" ]] || fail "pids not distinct: ${pids[*]}"
    [[ $(printf '%s\n' "${ids[@]}" | sort -n | paste -sd' ') == "$(seq 0 $((np - 1)) | paste -sd' ')" ]] ||
        fail "rank ids are not 0 to $((np - 1)): ${ids[*]}"
    printf '%s\n' "${results[@]}"
}

# Live (not zombie) processes of this test named mpi_sum.
live_ranks() {
    local pid state
    for pid in $(tagged_pids | tr , ' '); do
        [[ $(cat "/proc/$pid/comm" 2>/dev/null) == mpi_sum ]] || continue
        state=$(proc_state "$pid" 2>/dev/null) || continue
        [[ $state != Z ]] && echo "$pid"
    done
}

@test "[11.1] the total is exact for 1, 2 and 5 ranks" {
    local np results
    for np in 1 2 5; do
        run_mpi "$np" --total 1000000
        assert_success
        assert_line --regexp '^Parent process id: [0-9]+$'
        assert_line "Ranks: $np, all the counting: 1000000, split over them"
        results=$(rank_results "$np")
        assert_equal "$(sort -u <<<"$results")" "$((1000000 / np))"
        assert_line --regexp '^--- [0-9]+\.[0-9]+ seconds ---$'
        assert_line "Main-Processing Total Count=1000000"
        # Rank 0's lines keep their order; other ranks' lines may come between.
        assert_line_before '^Parent process id: ' '^Ranks: '
        assert_line_before '^--- [0-9.]+ seconds ---$' '^Main-Processing Total Count='
        assert_line_before '^Main-Processing Total Count=' '^Main-Processing Done\.$'
        assert_equal "$stderr" ""
    done
}

@test "[11.2] shares that do not divide evenly: they differ by at most 1 and add up exactly" {
    run_mpi 3 --total 1000003
    local results
    results=$(rank_results 3)
    assert_equal "$(sort -n <<<"$results" | paste -sd' ')" "333334 333334 333335"
}

@test "a rank that fails ends the whole job: mpirun's status is not 0, no rank is left running" {
    # The others would count for minutes: mpirun must stop them.
    run_mpi 3 --total 1000000000000 --fail-rank 1
    [[ $status != 0 ]] || fail "mpirun ended with status 0 although rank 1 failed"
    [[ $stderr == *"rank 1 fails on purpose"* ]] || fail "no message from the failing rank: $stderr"
    assert_equal "$(live_ranks)" ""
    refute_line "Main-Processing Done."
}

@test "bad input under mpirun: status 2, no hang, no rank left" {
    run_mpi 2 --total 12x
    assert_equal "$status" 2
    [[ $stderr == *"--total"* ]] || fail "the message does not name --total: $stderr"
    assert_equal "$(live_ranks)" ""
}

@test "--fail-rank beyond the last rank: exit 2 after MPI_Init, on every rank" {
    # Run alone, the program is a job of one rank (Open MPI starts a helper
    # daemon for it, which ends with it: wait for that, bounded).
    run_prog --total 10 --fail-rank 1
    assert_equal "$status" 2
    assert_equal "$stderr" "mpi_sum: --fail-rank 1: this run has ranks 0 to 0 (try --help)"
    assert_output ""
    local waited
    for waited in $(seq 100); do
        [[ -z $(tagged_pids) ]] && break
        sleep 0.05
    done
}

@test "bad input, run alone: exit 2 with one line naming the flag; --help exits 0" {
    assert_bad_values "--total|-1" "--total|x" "--total|" "--total|1e20" "--fail-rank|-2" "--fail-rank|one"
    assert_bad_command_lines "--bogus" "--total"
    run_prog --help
    assert_success
    assert_output --partial "--total"
    assert_output --partial "--fail-rank"
}
