# Benchmarks: they print figures and never assert a time.  `make bench`
# runs them in full; `make check` runs a short smoke run of each.
check_PROGRAMS += tests/bench/sched_bench
tests_bench_sched_bench_SOURCES = tests/bench/sched_bench.c
tests_bench_sched_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_sched_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)

TESTS += tests/bench/smoke.sh
TEST_EXTENSIONS += .sh
SH_LOG_COMPILER = $(SHELL)
EXTRA_DIST += tests/bench/smoke.sh tests/bench/session_bench.py tests/bench/suite.py \
	tests/bench/cli_startup.py \
	tests/bench/slurm_local.py

# The suite (tests/bench/suite.py) prints one table of items 1-9, the
# scheduling pass among them; the power, metrics and session benchmarks follow.
bench: tests/bench/sched_bench tests/bench/power_bench tests/bench/metrics_bench \
		tests/bench/fleet tests/bench/submit_bench
	SLURMISH_BUILDDIR=$(abs_top_builddir) $(PYTHON3) $(srcdir)/tests/bench/suite.py $(BENCH_ARGS)
	tests/bench/power_bench
	tests/bench/metrics_bench
	SLURMISH_BUILDDIR=$(abs_top_builddir) $(PYTHON3) $(srcdir)/tests/bench/session_bench.py
.PHONY: bench

check_PROGRAMS += tests/bench/power_bench
tests_bench_power_bench_SOURCES = tests/bench/power_bench.c
tests_bench_power_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_power_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS) -lm

# Scale tools for the benchmark suite (tests/bench/suite.py): a simulated
# fleet of node daemons, and a pipelined submitter (the API path).
check_PROGRAMS += tests/bench/fleet tests/bench/submit_bench
tests_bench_fleet_SOURCES = tests/bench/fleet.c
tests_bench_fleet_CFLAGS = $(SL_CFLAGS) $(MUNGE_CFLAGS)
tests_bench_fleet_LDADD = $(SL_LIBS) $(ZMQ_LIBS) $(JANSSON_LIBS)
tests_bench_submit_bench_SOURCES = tests/bench/submit_bench.c
tests_bench_submit_bench_CFLAGS = $(SL_CFLAGS) $(MUNGE_CFLAGS)
tests_bench_submit_bench_LDADD = $(SL_LIBS) $(ZMQ_LIBS) $(JANSSON_LIBS)

# what a /metrics scrape and the job counts cost the controller's loop
check_PROGRAMS += tests/bench/metrics_bench
tests_bench_metrics_bench_SOURCES = tests/bench/metrics_bench.c
tests_bench_metrics_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_metrics_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)

# query_jobs' writer and a client's parse of its reply, without a cluster.
check_PROGRAMS += tests/bench/query_bench
tests_bench_query_bench_SOURCES = tests/bench/query_bench.c
tests_bench_query_bench_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_bench_query_bench_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)
