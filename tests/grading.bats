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

# A copy of the kit's lesson 02 (and common/) in $COPY, its source put
# through sed script $1 if one is given.
make_copy() {
    COPY="$BATS_TEST_TMPDIR/student"
    mkdir -p "$COPY/lessons"
    cp -r "$KIT_ROOT/common" "$COPY/"
    cp -r "$KIT_ROOT/lessons/$LESSON" "$COPY/lessons/"
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

# The grade line of lesson 02: "<passed> <run>".
lesson_score() {
    local line
    line=$(grep "^$LESSON " <<<"$output") || fail "no grade line for $LESSON in: $output"
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
