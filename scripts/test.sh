#!/bin/sh
# Install, build and run the whole test suite (unit and integration tests,
# under `make check`).  The last line summarises: "N passed, N failed".
set -e
top="$(cd "$(dirname "$0")/.." && pwd)"
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh" --enable-werror
cd "$top/build"
set +e
make -j"$(nproc)" check
rc=$?
set -e
# automake writes one .trs per test; summarise them for CI
pass=$(grep -l '^:test-result: PASS' $(find . -name '*.trs') 2>/dev/null | wc -l)
fail=$(grep -l '^:test-result: \(FAIL\|ERROR\|XPASS\)' $(find . -name '*.trs') 2>/dev/null | wc -l)
skip=$(grep -l '^:test-result: SKIP' $(find . -name '*.trs') 2>/dev/null | wc -l)
if [ "$rc" != 0 ]; then
    for f in $(grep -l '^:test-result: \(FAIL\|ERROR\)' $(find . -name '*.trs')); do
        echo "=== ${f%.trs}.log"
        tail -n 60 "${f%.trs}.log"
    done
fi
echo "$pass passed, $fail failed, $skip skipped"
exit $rc
