#!/usr/bin/env bats
# How tests/run gets its tools on a machine without bats: with npm (from a
# cached download, so no test goes to the network twice), without npm,
# with a failing npm, and as root with apt-get (a stand-in that records
# its arguments: the system is never changed). Each run uses a copy of
# tests/run in a scratch folder, so the kit's own tests/.deps is never
# touched, and a PATH that is a folder of links to the system's commands
# without bats (and without npm where the test says so). As root the
# student runs are made as a throwaway user created for this file.

bats_require_minimum_version 1.5.0
bats_load_library bats-support
bats_load_library bats-assert

KIT_ROOT=$(cd "$BATS_TEST_DIRNAME/.." && pwd)

# The npm packages tests/run installs, read from tests/run itself.
eval "$(grep '^npm_packages=' "$KIT_ROOT/tests/run")"

setup_file() {
    export WORK STUDENT= STUDENT_UID= STUDENT_GID= NPM_CACHE REAL_BATS REAL_LIBS NPM_PROBLEM=
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/kit-install-test.XXXXXX")
    chmod 755 "$WORK"
    REAL_BATS=$BATS_ROOT/bin/bats # the bats running this file
    REAL_LIBS=$(library_dir bats-support)
    [[ $(id -u) == 0 ]] && create_student
    prepare_npm_cache
}

teardown_file() {
    [[ -n $STUDENT ]] && userdel "$STUDENT" 2>/dev/null
    rm -rf "$WORK"
}

# The folder of BATS_LIB_PATH that holds library $1 (this run found it).
library_dir() {
    local dir dirs
    IFS=: read -ra dirs <<<"${BATS_LIB_PATH:-/usr/lib/bats}"
    for dir in "${dirs[@]}"; do
        [[ -f $dir/$1/load.bash ]] && { echo "$dir"; return; }
    done
}

# A throwaway user with no home and no login, deleted in teardown_file;
# users left by an earlier run that was killed are deleted first.
create_student() {
    local name
    command -v useradd >/dev/null && command -v setpriv >/dev/null || return 0
    for name in $(cut -d: -f1 /etc/passwd | grep '^kit-student-[0-9]*$'); do
        [[ -d /proc/${name#kit-student-} ]] || userdel "$name" 2>/dev/null
    done
    name=kit-student-$$
    # useradd refuses while another holds the lock on /etc/passwd: retry (bounded).
    for _ in 1 2 3 4 5; do
        useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
            --user-group "$name" 2>/dev/null && break
        sleep 0.2
    done
    id "$name" >/dev/null 2>&1 || return 0
    STUDENT=$name STUDENT_UID=$(id -u "$name") STUDENT_GID=$(id -g "$name")
}

# An npm cache holding the packages tests/run installs, filled from the
# registry once and kept (KIT_NPM_CACHE, default tests/.deps/npm-cache):
# the runs below install from it with --offline, in a fraction of a second.
prepare_npm_cache() {
    NPM_CACHE=${KIT_NPM_CACHE:-$KIT_ROOT/tests/.deps/npm-cache}
    if ! command -v npm >/dev/null; then
        NPM_PROBLEM="npm is not installed here"
        return 0
    fi
    [[ -f $NPM_CACHE/.kit-complete ]] && return 0
    local log="$WORK/npm-cache.log"
    if mkdir -p "$NPM_CACHE" &&
        npm cache add --cache "$NPM_CACHE" --fetch-retries=1 --fetch-retry-mintimeout=2000 \
            --fetch-retry-maxtimeout=5000 "${npm_packages[@]}" >"$log" 2>&1; then
        touch "$NPM_CACHE/.kit-complete"
    else
        NPM_PROBLEM="could not fill the npm cache $NPM_CACHE from the registry: $(tail -n 3 "$log" | tr '\n' ' ')"
    fi
}

# write_bats FILE 'NAME|BODY'...: a test file that loads the libraries.
# (Written line by line: bats would rewrite a test line in a here-document.)
write_bats() {
    local file=$1 test keyword=@test
    shift
    printf 'bats_load_library bats-support\nbats_load_library bats-assert\n' >"$file"
    for test in "$@"; do
        printf '%s "%s" { %s; }\n' "$keyword" "${test%%|*}" "${test#*|}" >>"$file"
    done
}

# Each test: a copy of tests/run with a small suite of its own, a home and
# a temporary folder, all owned by the student.
setup() {
    HERE="$WORK/$BATS_TEST_NUMBER"
    KIT="$HERE/kit"
    BIN="$HERE/bin"
    mkdir -p "$KIT/tests" "$HERE/home" "$HERE/tmp" "$HERE/no-libs"
    cp "$KIT_ROOT/tests/run" "$KIT/tests/"
    write_bats "$KIT/tests/01-smoke.bats" \
        'bats-assert works|run echo hello; assert_output hello' \
        'a skipped test is counted|skip "on purpose"'
    [[ -n $STUDENT ]] && chown -R "$STUDENT:$STUDENT" "$HERE"
    return 0
}

teardown() {
    rm -rf "$HERE"
}

# commands_without NAME...: fill $BIN with links to every command of the
# system folders but those named.
commands_without() {
    local dir name
    mkdir -p "$BIN"
    for dir in /usr/local/sbin /usr/local/bin /usr/sbin /usr/bin /sbin /bin; do
        [[ -d $dir ]] && { ln -s "$dir"/* "$BIN"/ 2>/dev/null || true; }
    done
    for name in "$@"; do
        rm -f "$BIN/$name"
    done
    return 0
}
# Without procps too: the suite must start without ps and pgrep.
NO_NPM=(bats npm npx node nodejs corepack sudo ps pgrep pkill)

# with_npm: links to npm and node wherever they are (nvm puts them in a home).
with_npm() {
    local name path
    for name in npm node; do
        path=$(command -v "$name") && ln -sf "$path" "$BIN/$name"
    done
}

needs_npm_cache() {
    [[ -z $NPM_PROBLEM ]] || skip "$NPM_PROBLEM"
}

# student_run COMMAND...: run it as the student (the throwaway user when
# this suite runs as root), with PATH=$BIN and an environment of its own,
# bounded in time so that a hang shows what was printed until then.
# BATS_LIB_PATH is an empty folder: the system's libraries do not count.
student_run() {
    local as=()
    [[ -n $STUDENT ]] && as=(setpriv --reuid="$STUDENT_UID" --regid="$STUDENT_GID" --clear-groups --)
    run timeout 30 "${as[@]}" env -i HOME="$HERE/home" TMPDIR="$HERE/tmp" PATH="$BIN" LC_ALL=C \
        BATS_LIB_PATH="$HERE/no-libs" "${STUDENT_ENV[@]}" "$@"
}
STUDENT_ENV=()

# The last line of the output.
last_line() {
    printf '%s\n' "${lines[${#lines[@]} - 1]}"
}

needs_student() {
    [[ -n $STUDENT || $(id -u) != 0 ]] ||
        skip "this suite runs as root and cannot create a throwaway user (no useradd or setpriv)"
}

@test "without bats and npm: one message names every missing piece and each way to get it, in under a second" {
    needs_student
    commands_without "${NO_NPM[@]}"
    local start=$EPOCHREALTIME
    student_run "$KIT/tests/run"
    local took=$((${EPOCHREALTIME/./} - ${start/./}))
    assert_failure
    assert_equal "$(last_line)" "0 passed, 0 failed"
    assert_line --partial "missing here: bats, bats-support, bats-assert."
    assert_line --regexp "as root.*apt-get install --no-install-recommends bats bats-support bats-assert parallel"
    assert_line --regexp "without root: +install npm"
    assert_line --partial "ask an administrator"
    refute_output --partial sudo
    [[ ! -e $KIT/tests/.deps ]] || fail "tests/.deps was created although nothing was installed"
    ((took < 1000000)) || fail "took $((took / 1000)) ms, not under a second"
}

@test "without bats and npm but with sudo: the advice uses sudo" {
    needs_student
    commands_without "${NO_NPM[@]}"
    rm -f "$BIN/sudo" # never write through a link to the real one
    printf '#!/bin/sh\nexit 1\n' >"$BIN/sudo"
    chmod 755 "$BIN/sudo"
    student_run "$KIT/tests/run"
    assert_failure
    assert_line --regexp "with sudo: +sudo apt-get install --no-install-recommends bats bats-support bats-assert parallel"
    assert_equal "$(last_line)" "0 passed, 0 failed"
}

@test "with npm and no bats: bats goes into tests/.deps with npm, and the suite runs" {
    needs_student
    needs_npm_cache
    commands_without "${NO_NPM[@]}"
    with_npm
    cp -r "$NPM_CACHE" "$HERE/home/.npm"
    [[ -n $STUDENT ]] && chown -R "$STUDENT:$STUDENT" "$HERE/home"
    STUDENT_ENV=(npm_config_cache="$HERE/home/.npm" npm_config_offline=true)
    student_run "$KIT/tests/run"
    assert_success
    assert_line --partial "installing bats, bats-support, bats-assert with npm into tests/.deps"
    assert_line --regexp "^ok 1 bats-assert works"
    assert_equal "$(last_line)" "1 passed, 0 failed, 1 skipped"
    [[ -x $KIT/tests/.deps/node_modules/bats/bin/bats ]] || fail "no bats in tests/.deps"
    # The second run finds what the first installed: no install again.
    student_run "$KIT/tests/run"
    assert_success
    refute_line --partial installing
    assert_equal "$(last_line)" "1 passed, 0 failed, 1 skipped"
}

@test "a failing npm install shows npm's own error at once and ends 0 passed, 0 failed" {
    needs_student
    commands_without "${NO_NPM[@]}"
    with_npm
    [[ -x $BIN/npm ]] || skip "npm is not installed here"
    # An empty cache and --offline: npm fails at once, as it would with no network.
    STUDENT_ENV=(npm_config_cache="$HERE/home/.npm" npm_config_offline=true)
    local start=$EPOCHREALTIME
    student_run "$KIT/tests/run"
    local took=$((${EPOCHREALTIME/./} - ${start/./}))
    assert_failure
    assert_line --partial "npm install failed (exit status"
    assert_line --regexp "^    npm (ERR!|error) code ENOTCACHED"
    assert_line --regexp "without root, with npm:"
    assert_equal "$(last_line)" "0 passed, 0 failed"
    ((took < 10000000)) || fail "took $((took / 1000)) ms to fail"
}

# A stand-in for apt-get: it records its arguments, prints apt's kind of
# noise, and "installs" by linking the real bats and its libraries, or
# fails like apt when FAKE_APT_FAILS is set.
fake_apt_get() {
    rm -f "$BIN/apt-get" # a link to the real one: writing through it would replace it
    cat >"$BIN/apt-get" <<'EOF'
#!/bin/sh
echo "DEBIAN_FRONTEND=${DEBIAN_FRONTEND:-} $*" >>"$APT_LOG"
[ "$1" = update ] && exit 0
if [ -n "${FAKE_APT_FAILS:-}" ]; then
    echo "Reading package lists..."
    echo "E: Unable to locate package bats-assert" >&2
    exit 100
fi
for i in 1 2 3 4 5 6 7 8 9 10; do echo "Selecting previously unselected package noise$i."; done
ln -s "$REAL_BATS" "$(dirname "$0")/bats"
ln -s "$REAL_LIBS/bats-support" "$REAL_LIBS/bats-assert" "$LIBS_DIR/"
EOF
    chmod 755 "$BIN/apt-get"
}

root_run() {
    run timeout 30 env -i HOME="$HERE/home" TMPDIR="$HERE/tmp" PATH="$BIN" LC_ALL=C \
        BATS_LIB_PATH="$HERE/no-libs" APT_LOG="$HERE/apt.log" REAL_BATS="$REAL_BATS" \
        REAL_LIBS="$REAL_LIBS" LIBS_DIR="$HERE/no-libs" "$@"
}

@test "as root: apt-get installs only what the suite needs, quietly, then the suite runs" {
    [[ $(id -u) == 0 ]] || skip "the apt-get path is taken as root only"
    [[ -n $REAL_LIBS ]] || skip "bats-support is not in a BATS_LIB_PATH folder here"
    commands_without "${NO_NPM[@]}"
    fake_apt_get
    root_run "$KIT/tests/run"
    assert_success
    assert_line --partial "installing bats bats-support bats-assert parallel with apt-get"
    refute_output --partial noise
    assert_equal "$(last_line)" "1 passed, 0 failed, 1 skipped"
    run cat "$HERE/apt.log"
    assert_line --index 0 "DEBIAN_FRONTEND= update -qq"
    assert_line --index 1 "DEBIAN_FRONTEND=noninteractive install -y -qq --no-install-recommends bats bats-support bats-assert parallel"
}

@test "as root: a failing apt-get shows its own error and ends 0 passed, 0 failed" {
    [[ $(id -u) == 0 ]] || skip "the apt-get path is taken as root only"
    commands_without "${NO_NPM[@]}"
    fake_apt_get
    root_run env FAKE_APT_FAILS=yes "$KIT/tests/run"
    assert_failure
    assert_line --partial "apt-get failed (exit status 100)"
    assert_line "    E: Unable to locate package bats-assert"
    assert_equal "$(last_line)" "0 passed, 0 failed"
}

@test "the count line comes last, with failures and skips from every file, files side by side or one at a time" {
    local file
    for file in 02-one 03-two; do
        write_bats "$KIT/tests/$file.bats" 'passes|true' 'fails|false' 'skipped|skip "on purpose"'
    done
    local jobs
    for jobs in "" 1; do
        # (no per-test bound inside: bats's watchdog for it can outlive a
        # test that ends within a millisecond and hold the output open)
        run timeout 30 env BATS_TEST_TIMEOUT= KIT_TEST_JOBS="$jobs" KIT_REPORT_DIR="$HERE/report$jobs" "$KIT/tests/run"
        assert_failure 1
        assert_equal "$(last_line)" "3 passed, 2 failed, 3 skipped"
        run grep -c '<testsuite ' "$HERE/report$jobs/report.xml"
        assert_output 3
    done
}

@test "a compiler that is not installed: one line saying how to install it, before any build" {
    run make --no-print-directory -s -C "$KIT_ROOT/lessons/02-pid-and-name" CC=kit-no-such-cc
    assert_failure 2
    assert_equal "${#lines[@]}" 1
    assert_output --partial "the C compiler 'kit-no-such-cc' is not installed"
    run make --no-print-directory -s -C "$KIT_ROOT" CC=kit-no-such-clang
    assert_failure 2
    assert_line --index 0 --regexp "the C compiler 'kit-no-such-clang' is not installed; .*apt-get install clang"
}
