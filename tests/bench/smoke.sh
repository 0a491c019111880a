#!/bin/sh
# A short run of each benchmark, so `make check` proves they still work.
# The full runs: `make bench` (figures only, never asserted).
set -e
"${SLURMISH_BUILDDIR:-.}/tests/bench/sched_bench" --smoke
