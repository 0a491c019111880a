# Benchmarks: they print figures and never assert a time.  `make bench`
# runs them in full; `make check` runs a short smoke run of each.
check_PROGRAMS += tests/bench/sched_bench
tests_bench_sched_bench_SOURCES = tests/bench/sched_bench.c
tests_bench_sched_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_sched_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)

TESTS += tests/bench/smoke.sh
TEST_EXTENSIONS += .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += tests/bench/smoke.sh tests/bench/session_bench.py

bench: tests/bench/sched_bench tests/bench/power_bench tests/bench/metrics_bench
	tests/bench/sched_bench
	tests/bench/power_bench
	tests/bench/metrics_bench
	SLURMISH_BUILDDIR=$(abs_top_builddir) $(PYTHON3) $(srcdir)/tests/bench/session_bench.py
.PHONY: bench

check_PROGRAMS += tests/bench/power_bench
tests_bench_power_bench_SOURCES = tests/bench/power_bench.c
tests_bench_power_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_power_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS) -lm

# what a /metrics scrape and the job counts cost the controller's loop
check_PROGRAMS += tests/bench/metrics_bench
tests_bench_metrics_bench_SOURCES = tests/bench/metrics_bench.c
tests_bench_metrics_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_metrics_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)
