# Integration tests: real munged, controller and node daemons on loopback,
# started by slurmish-local in a private directory (tests/integration/harness.py).
check_PROGRAMS += tests/integration/rawsend
tests_integration_rawsend_SOURCES = tests/integration/rawsend.c
tests_integration_rawsend_CFLAGS = $(SL_CFLAGS)
tests_integration_rawsend_LDADD = $(SL_LIBS)

INTEGRATION_TESTS = \
	tests/integration/test_batch.py \
	tests/integration/test_session.py \
	tests/integration/test_config.py \
	tests/integration/test_cancel.py \
	tests/integration/test_reject.py \
	tests/integration/test_restart.py \
	tests/integration/test_crash.py \
	tests/integration/test_authz.py \
	tests/integration/test_resources.py \
	tests/integration/test_sched.py \
	tests/integration/test_update.py \
	tests/integration/test_depend.py \
	tests/integration/test_timelimit.py \
	tests/integration/test_array.py \
	tests/integration/test_sacct.py \
	tests/integration/test_tools.py \
	tests/integration/test_partition_limits.py \
	tests/integration/test_power.py \
	tests/integration/test_workflows.py \
	tests/integration/test_memory.py \
	tests/integration/test_preempt.py \
	tests/integration/test_ops.py \
	tests/integration/test_scale.py \
	tests/integration/test_squeue_stream.py \
	tests/integration/test_manpages.py \
	tests/integration/test_logs.py \
	tests/integration/test_forward.py \
	tests/integration/test_valgrind.py \
	tests/integration/test_metrics.py \
	tests/integration/test_limits.py \
	tests/integration/test_load.py \
	tests/integration/test_thinclient.py \
	tests/integration/test_toolport.py
TESTS += $(INTEGRATION_TESTS)
EXTRA_DIST += $(INTEGRATION_TESTS) tests/integration/harness.py
TEST_EXTENSIONS = .py
PY_LOG_COMPILER = $(PYTHON3)
AM_TESTS_ENVIRONMENT = SLURMISH_BUILDDIR='$(abs_top_builddir)'; export SLURMISH_BUILDDIR; \
	PYTHONDONTWRITEBYTECODE=1; export PYTHONDONTWRITEBYTECODE;
# The launcher must exist before the tests run.
check_SCRIPTS = scripts/slurmish-local
