#!/bin/sh
# A short run of each benchmark, so `make check` proves they still work.
# The full runs: `make bench` (figures only, never asserted).
set -e
"${SLURMISH_BUILDDIR:-.}/tests/bench/sched_bench" --smoke
"${SLURMISH_BUILDDIR:-.}/tests/bench/power_bench" --smoke
"${SLURMISH_BUILDDIR:-.}/tests/bench/metrics_bench" --smoke
# interactive latency on a real local cluster (needs root, as the integration tests)
if [ "$(id -u)" = 0 ]; then
    python3 "$(dirname "$0")/session_bench.py" --quick
    python3 "$(dirname "$0")/suite.py" --quick
fi
