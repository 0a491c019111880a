#!/bin/sh
# Install, build and run the whole test suite: `make check` (Check unit
# tests, then integration tests on real munged, controller and node daemons),
# then `make distcheck` (the release tarball builds, passes the same tests,
# installs and uninstalls cleanly; SLURMISH_DISTCHECK=no skips it).
# The last line summarises for CI: "N passed, N failed, N skipped", where
# each automake test counts once and distcheck counts as one more test.
# CI may start us with stdin closed; libtool and others need an fd 0
exec </dev/null
set -e
top="$(cd "$(dirname "$0")/.." && pwd)"
"$top/scripts/install-deps.sh"

summary() {
    echo "$1 passed, $2 failed, $3 skipped"
}

if ! "$top/scripts/build.sh" --enable-werror; then
    echo "test.sh: the build failed (errors above)"
    summary 0 1 0
    exit 1
fi
cd "$top/build"

set +e
make -j"$(nproc)" check
rc=$?
# automake writes one .trs per test; count them before distcheck makes more
trs=$(find . -name '*.trs')
pass=0 fail=0 skip=0
if [ -n "$trs" ]; then
    pass=$(grep -l '^:test-result: PASS' $trs | wc -l)
    fail=$(grep -l '^:test-result: \(FAIL\|ERROR\|XPASS\)' $trs | wc -l)
    skip=$(grep -l '^:test-result: SKIP' $trs | wc -l)
    for f in $(grep -l '^:test-result: \(FAIL\|ERROR\|XPASS\)' $trs); do
        echo "=== ${f%.trs}.log"
        tail -n 60 "${f%.trs}.log"
    done
fi
if [ "$rc" != 0 ] && [ "$fail" = 0 ]; then
    fail=1  # make check failed before any test could (a check program did not build)
fi

if [ "${SLURMISH_DISTCHECK:-yes}" != no ]; then
    echo "== make distcheck (log: build/distcheck.log)"
    # the tarball runs the unit tests and a subset of the integration tests
    # (tests/integration/harness.py): the full suite has just run above
    if SLURMISH_DISTCHECK_SUBSET=1 make -j"$(nproc)" distcheck \
        DISTCHECK_CONFIGURE_FLAGS=--enable-werror >distcheck.log 2>&1; then
        echo "distcheck: PASS"
        pass=$((pass + 1))
    else
        echo "distcheck: FAIL"
        tail -n 60 distcheck.log
        fail=$((fail + 1))
        rc=1
    fi
fi
set -e

summary "$pass" "$fail" "$skip"
[ "$fail" = 0 ] && [ "$rc" = 0 ]
