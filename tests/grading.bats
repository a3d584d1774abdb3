#!/usr/bin/env bats
# The grading path checked against deliberately wrong copies of lesson 02.
# Each fixture in tests/fixtures/wrong-02/ is a sed script that breaks the
# lesson in one way; its "# expect:" line is what the grading report must
# say about it. Run with:  make grade-check

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

KIT_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)
LESSON=02-pid-and-name
OTHER=01-process-lifecycle

# A copy of the kit's lessons 01 and 02 (and common/) in $COPY, lesson 02's
# source put through sed script $1 if one is given.
make_copy() {
    COPY="$BATS_TEST_TMPDIR/student"
    mkdir -p "$COPY/lessons"
    cp -r "$KIT_ROOT/common" "$COPY/"
    cp -r "$KIT_ROOT/lessons/$LESSON" "$KIT_ROOT/lessons/$OTHER" "$COPY/lessons/"
    local source="$COPY/lessons/$LESSON/pid_name.c"
    if [[ -n ${1:-} ]]; then
        sed -i -f "$1" "$source"
        ! cmp -s "$source" "$KIT_ROOT/lessons/$LESSON/pid_name.c" ||
            fail "fixture $1 changed nothing: the lesson's source has moved on, update the fixture"
    fi
}

# Grade $COPY's lesson 02; the report goes to $REPORT. tests/grade exits 1
# when a test failed, 0 on full marks.
grade_copy() {
    REPORT="$BATS_TEST_TMPDIR/report"
    run env LESSONS=$LESSON GRADE_REPORT_DIR="$REPORT" "$KIT_ROOT/tests/grade" "$COPY"
}

# The grade line of a lesson (default 02): "<passed> <run>".
lesson_score() {
    local line lesson=${1:-$LESSON}
    line=$(grep "^$lesson " <<<"$output") || fail "no grade line for $lesson in: $output"
    [[ $line =~ ([0-9]+)/([0-9]+)\ +passed ]] || fail "unreadable grade line: $line"
    echo "${BASH_REMATCH[1]} ${BASH_REMATCH[2]}"
}

check_fixture_is_caught() {
    local fixture="$KIT_ROOT/tests/fixtures/wrong-02/$1.sed" expect passed run
    expect=$(sed -n 's/^# expect: //p' "$fixture")
    make_copy "$fixture"
    grade_copy
    assert_failure 1
    read -r passed run < <(lesson_score)
    ((run > 0 && passed < run)) || fail "grading gave full marks ($passed/$run) to a broken copy"
    grep -qF -- "$expect" "$REPORT/report.xml" ||
        fail "the report does not say '$expect'"
}

@test "the kit's own lesson gets full marks" {
    make_copy
    grade_copy
    assert_success
    read -r passed run < <(lesson_score)
    ((run > 0 && passed == run)) || fail "expected full marks, got $passed/$run"
    [[ -s $REPORT/report.xml ]] || fail "no JUnit report written"
}

@test "a wrong square is caught" {
    check_fixture_is_caught wrong-square
}

@test "a missing line is caught" {
    check_fixture_is_caught missing-done-line
}

@test "a leaked child is caught, stopped, and its test failed" {
    check_fixture_is_caught leaked-child
}

@test "a copy without the lesson's source scores zero and the report is still written" {
    make_copy
    rm "$COPY/lessons/$LESSON/pid_name.c"
    grade_copy
    assert_failure 1
    read -r passed run < <(lesson_score)
    ((run > 0 && passed == 0)) || fail "expected 0/$run, got $passed/$run"
    assert_output --partial "did not build"
    [[ -s $REPORT/report.xml ]] || fail "no JUnit report written"
}

# ---- Hostile copies: student code that attacks the grader ------------------
# Each replaces lesson 02 with a program from tests/fixtures/hostile/ and is
# graded with lesson 01 beside it. Whatever it does: grading ends within its
# bound, lesson 02 fails with the reason, lesson 01 gets full marks, no
# process of the student's is left, nothing is written outside the copy and
# the grader's scratch folder, and no secret reaches the report.

tests_checksum() {
    cat "$KIT_ROOT"/tests/*.bats "$KIT_ROOT"/tests/*.bash | cksum
}

hostile_setup() {
    [[ $(id -u) == 0 ]] || skip "the hostile copies are graded as root, where the sandbox has a user of its own"
    export HOSTILE_MARK="kit-hostile-$$-$BATS_TEST_NUMBER"
    TESTS_BEFORE=$(tests_checksum)
    make_copy
}

# grade_hostile FIXTURE.c [SECONDS]: lesson 02's program replaced by it.
grade_hostile() {
    cp "$KIT_ROOT/tests/fixtures/hostile/$1" "$COPY/lessons/$LESSON/pid_name.c"
    grade_bounded "${2:-120}"
}

grade_bounded() {
    local bound=$1 t0=$SECONDS
    REPORT="$BATS_TEST_TMPDIR/report"
    run env LESSONS="$OTHER $LESSON" GRADE_REPORT_DIR="$REPORT" GRADE_LESSON_SECONDS="${LESSON_LIMIT:-15}" \
        timeout 300 "$KIT_ROOT/tests/grade" "$COPY"
    ELAPSED=$((SECONDS - t0))
    ((ELAPSED <= bound)) || fail "grading took ${ELAPSED}s, more than its bound of ${bound}s"
}

# The checks every hostile copy must pass; $1: what the report must say of lesson 02.
assert_contained() {
    local passed run
    read -r passed run < <(lesson_score "$OTHER")
    ((run > 0 && passed == run)) || fail "lesson $OTHER was not graded as usual: $passed/$run
$output"
    read -r passed run < <(lesson_score)
    ((run > 0 && passed < run)) || fail "the hostile lesson scored $passed/$run"
    [[ -z ${1:-} ]] || assert_output --partial "$1"
    # Whatever the lesson did, it cost at most its limit and the kill.
    local took limit=${LESSON_LIMIT:-15}
    took=$(cat "$REPORT/$LESSON.seconds")
    ((took <= limit + 8)) || fail "the hostile lesson took $took s, more than its $limit s limit"
    assert_no_student_process
    assert_nothing_written
    assert_no_secret
}

# No process of this grading's two users (named in its "Protections:" line)
# is left, zombie or not. Other gradings on the machine have other users.
assert_no_student_process() {
    local uids status uid left=()
    uids=$(sed -n 's/.*student code as uid \([0-9]*\), tests as uid \([0-9]*\).*/\1 \2/p' <<<"$output" | tr ' ' '\n' | sort -u)
    [[ -n $uids ]] || fail "the grading did not say which users it ran as: $output"
    for status in /proc/[0-9]*/status; do
        for uid in $uids; do
            grep -qE "^Uid:[[:space:]]+$uid[[:space:]]" "$status" 2>/dev/null && left+=("${status//[^0-9]/}")
        done
    done
    ((${#left[@]} == 0)) || { kill -KILL "${left[@]}" 2>/dev/null; fail "${#left[@]} processes of the student were left running"; }
}

# No file named $HOSTILE_MARK anywhere the student's code aimed at.
assert_nothing_written() {
    local dir
    for dir in /tmp /var/tmp /dev/shm "$HOME" /root "$KIT_ROOT" "$KIT_ROOT/tests" "$BATS_TEST_TMPDIR" \
        "$(dirname "$COPY")" /home/* /tmp/*/ /var/tmp/*/; do
        [[ -e $dir/$HOSTILE_MARK ]] && { rm -f "$dir/$HOSTILE_MARK"; fail "the student's code wrote $dir/$HOSTILE_MARK"; }
    done
    [[ $(tests_checksum) == "$TESTS_BEFORE" ]] || fail "the kit's tests/ was changed by the student's code"
}

# Reports readable by the grader only; /etc/shadow's contents nowhere in them.
assert_no_secret() {
    [[ $(stat -c %a "$REPORT") == 700 ]] || fail "the report folder is mode $(stat -c %a "$REPORT"), not 700"
    local file secret
    for file in "$REPORT"/*; do
        [[ $(stat -c %a "$file") == 600 ]] || fail "$file is mode $(stat -c %a "$file"), not 600"
    done
    secret=$(grep -m1 '^root:' /etc/shadow | cut -d: -f2)
    [[ ${#secret} -gt 3 ]] || secret=$(head -c 40 /etc/shadow)
    ! grep -rqF -- "$secret" "$REPORT" || fail "a line of /etc/shadow reached the report"
}

@test "hostile: a lesson that hangs costs its lesson limit, not a timeout per test" {
    hostile_setup
    LESSON_LIMIT=10 grade_hostile hang.c 120
    assert_contained "timed out after 10 s"
    # The hanging lesson itself: its limit, and the few seconds it takes to
    # kill the sandbox (timeout -k 5), whatever the other lesson cost.
    local took
    took=$(cat "$REPORT/$LESSON.seconds")
    ((took <= 10 + 8)) || fail "the hanging lesson took $took s, more than its 10 s limit"
}

@test "hostile: 1 GB on stdout is cut off, and the report stays small" {
    hostile_setup
    grade_hostile flood.c
    assert_contained
    (($(du -sk "$REPORT" | cut -f1) < 20480)) || fail "the report is $(du -sh "$REPORT" | cut -f1)"
}

@test "hostile: 200 setsid sleepers with no environment all die with the sandbox" {
    hostile_setup
    grade_hostile sleepers.c
    assert_contained
}

@test "hostile: a bounded fork bomb is stopped by the process limit" {
    hostile_setup
    grade_hostile forkbomb.c
    assert_contained
}

@test "hostile: writes into HOME, /tmp and the grader's folders at run time go nowhere" {
    hostile_setup
    grade_hostile escape.c
    assert_contained
}

@test "hostile: a Makefile that writes outside the copy at build time" {
    hostile_setup
    cp "$KIT_ROOT/tests/fixtures/hostile/build-escape.mk" "$COPY/lessons/$LESSON/Makefile"
    grade_bounded 120
    assert_nothing_written
    assert_no_student_process
}

@test "hostile: /etc/shadow and the grader's tests cannot be read" {
    hostile_setup
    grade_hostile secrets.c
    assert_contained
    ! grep -rq 'bats_load_library' "$REPORT" || fail "the grader's test source reached the report"
}

@test "hostile: lessons/ as a symlink out of the copy is not followed" {
    hostile_setup
    rm -rf "$COPY/lessons"
    ln -s "$KIT_ROOT/lessons" "$COPY/lessons"
    grade_bounded 120
    assert_output --partial "lessons is a symlink"
    read -r passed run < <(lesson_score "$OTHER")
    ((passed == 0)) || fail "a symlinked lessons/ was graded: $passed/$run"
}

@test "hostile: a program that is a symlink to a prebuilt binary scores nothing" {
    hostile_setup
    make -s -C "$KIT_ROOT/lessons/$LESSON" >/dev/null
    echo 'this does not compile' >"$COPY/lessons/$LESSON/pid_name.c"
    ln -sf "$KIT_ROOT/lessons/$LESSON/pid_name" "$COPY/lessons/$LESSON/pid_name"
    grade_bounded 120
    assert_contained "did not build"
    assert_output --partial "is a symlink"
}

@test "hostile: a program that rewrites the tests changes nothing for the next student" {
    hostile_setup
    grade_hostile rewrite-tests.c
    assert_contained
    # The next student: the kit's own lessons, graded against the same suite.
    make_copy
    grade_bounded 120
    read -r passed run < <(lesson_score)
    ((run > 0 && passed == run)) || fail "the next student got $passed/$run"
}

@test "grade-class: three students, one good, one wrong, one hostile; class.csv and three reports" {
    [[ $(id -u) == 0 ]] || skip "graded as root"
    local class="$BATS_TEST_TMPDIR/class" out="$BATS_TEST_TMPDIR/class-report"
    make_copy
    mkdir -p "$class/section-a" "$class/section-b"
    cp -r "$COPY" "$class/section-a/alice"
    cp -r "$COPY" "$class/section-b/alice" # the same name in another section
    sed -i -f "$KIT_ROOT/tests/fixtures/wrong-02/wrong-square.sed" "$class/section-b/alice/lessons/$LESSON/pid_name.c"
    cp -r "$COPY" "$class/mallory"
    cp "$KIT_ROOT/tests/fixtures/hostile/sleepers.c" "$class/mallory/lessons/$LESSON/pid_name.c"
    run env LESSONS="$LESSON" GRADE_CLASS_REPORT_DIR="$out" "$KIT_ROOT/tests/grade-class" "$class"
    assert_success
    [[ -s $out/class.csv ]] || fail "no class.csv"
    assert_equal "$(wc -l <"$out/class.csv")" 4
    local student
    for student in section-a+alice section-b+alice mallory; do
        [[ -s $out/$student/report.xml && -s $out/$student/results.json ]] || fail "no reports for $student"
        python3 -m json.tool "$out/$student/results.json" >/dev/null 2>&1 || ! command -v python3 >/dev/null ||
            fail "results.json of $student is not valid JSON"
    done
    grep -q '^"section-a/alice",10.00,' "$out/class.csv" || fail "alice (section a) should have full marks: $(cat "$out/class.csv")"
    ! grep -q '^"section-b/alice",10.00,' "$out/class.csv" || fail "the wrong alice got full marks"
    output=$(cat "$out"/*.log) # each student's grading says its users
    assert_no_student_process
}

@test "results.json gives every test a name, a score, a max_score, an output and a visibility; hidden tests are hidden" {
    make_copy
    local extra="$BATS_TEST_TMPDIR/extra"
    mkdir -p "$extra"
    printf '%s\n' 'load helpers' "PROG=\$(lesson $LESSON/pid_name)" '@test "a teacher test" { run_prog --count 2 --min-sleep 0 --max-sleep 0; assert_success; }' \
        >"$extra/$LESSON-teacher.bats"
    REPORT="$BATS_TEST_TMPDIR/report"
    run env LESSONS="$LESSON" GRADE_REPORT_DIR="$REPORT" GRADE_EXTRA_TESTS="$extra" "$KIT_ROOT/tests/grade" "$COPY"
    assert_success
    command -v python3 >/dev/null || skip "python3 is needed to read results.json"
    python3 - "$REPORT/results.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["score"] == r["max_score"] > 0, r["score"]
for t in r["tests"]:
    assert set(t) >= {"name", "score", "max_score", "output", "visibility"}, t
hidden = [t for t in r["tests"] if t["visibility"] == "hidden"]
assert len(hidden) == 1 and "a teacher test" in hidden[0]["name"], hidden
PY
    assert_output --partial "[hidden 1/1]"
}
