#!/bin/sh
# run.sh [SECONDS] - fuzz every harness with libFuzzer for SECONDS each
# (default 60).
#
# Builds the tree with clang, --enable-fuzzing (coverage, ASan, UBSan) in
# its own directory, $FUZZ_BUILDDIR (default: build-fuzz at the top of the
# source tree), then runs each tests/fuzz/fuzz_<target> on a copy of its
# seed corpus (tests/fuzz/corpus/<target>; inputs it finds go to the
# copy, $FUZZ_BUILDDIR/fuzz-out/<target>/corpus, never to the sources).
# Prints each target's executions and any crash, leak or timeout file;
# exits 1 if a target found one.  Installs nothing.
#
# Environment: FUZZ_TARGETS (default: proto conf sbatch hostlist parse zmtp),
# FUZZ_JOBS (make -j), FUZZ_ARGS (more libFuzzer flags), CC (default clang).
set -u
secs=${1:-60}
case $secs in
'' | *[!0-9]*)
    echo "usage: $0 [SECONDS]" >&2
    exit 2
    ;;
esac
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${FUZZ_BUILDDIR:-$top/build-fuzz}
targets=${FUZZ_TARGETS:-proto conf sbatch hostlist parse zmtp toolport}
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
CC=${CC:-clang}
case $CC in
*clang*) ;;
*) CC=clang ;;
esac

if ! command -v "$CC" >/dev/null 2>&1; then
    echo "run.sh: $CC not found: libFuzzer needs clang (Debian: apt-get install clang)" >&2
    exit 2
fi

if [ ! -x "$top/configure" ]; then
    echo "run.sh: no configure script: run ./autogen.sh in $top first" >&2
    exit 2
fi
mkdir -p "$build" || exit 2
cd "$build" || exit 2
# configure once; `make` reruns it when configure.ac changes
if [ ! -f Makefile ] || ! grep -q '^FUZZ_CFLAGS = -fsanitize=fuzzer' Makefile; then
    echo "== configure (CC=$CC --enable-fuzzing) in $build"
    if ! "$top/configure" CC="$CC" --enable-fuzzing >configure.out 2>&1; then
        tail -n 20 configure.out >&2
        echo "run.sh: configure failed (log: $build/configure.out)" >&2
        exit 2
    fi
fi
progs=
for t in $targets; do
    progs="$progs tests/fuzz/fuzz_$t"
done
echo "== make$progs"
# shellcheck disable=SC2086
if ! make -j"$jobs" $progs >make.out 2>&1; then
    tail -n 40 make.out >&2
    echo "run.sh: build failed (log: $build/make.out)" >&2
    exit 2
fi

# LeakSanitizer on; stop at the first problem; a slow input is a finding.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=0
summary=
for t in $targets; do
    out=$build/fuzz-out/$t
    rm -rf "$out"
    mkdir -p "$out/corpus" "$out/artifacts"
    cp "$top/tests/fuzz/corpus/$t/"* "$out/corpus/"
    echo "== fuzz_$t: $secs s"
    # shellcheck disable=SC2086
    "./tests/fuzz/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=4096 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$out/artifacts/" \
        ${FUZZ_ARGS:-} "$out/corpus" >"$out/log" 2>&1
    rc=$?
    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/log" | tail -n 1)
    cov=$(grep -o 'cov: [0-9]*' "$out/log" | tail -n 1)
    corpus=$(find "$out/corpus" -type f | wc -l)
    crashes=$(find "$out/artifacts" -type f)
    line="fuzz_$t: ${execs:-?} execs, ${cov:-cov: ?}, corpus $corpus files"
    if [ -n "$crashes" ] || [ "$rc" != 0 ]; then
        failed=1
        line="$line, FAILED (exit $rc)"
        echo "--- fuzz_$t found a problem (log: $out/log):"
        grep -E '^(==[0-9]+==ERROR|SUMMARY|FUZZ BUG|.*runtime error)|^ +#[0-9]+ ' "$out/log" |
            head -n 40
        for f in $crashes; do
            echo "--- $f ($(wc -c <"$f") bytes):"
            od -An -tx1 "$f" | head -n 16
            echo "reproduce: $build/tests/fuzz/fuzz_$t $f"
        done
    fi
    echo "$line"
    summary="$summary$line
"
done
echo "== summary ($secs s per target; logs and corpora in $build/fuzz-out)"
printf '%s' "$summary"
exit $failed
