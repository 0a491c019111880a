# Check unit tests: one binary per module.
UNIT_CFLAGS = $(SL_CFLAGS) $(CHECK_CFLAGS) -I$(top_srcdir) -DTEST_SRCDIR=\"$(abs_top_srcdir)\"
UNIT_LIBS = $(SL_LIBS) $(CHECK_LIBS)

CLI_TEST_LIBS = cli/libcli.la $(UNIT_LIBS)
check_PROGRAMS += tests/unit/test_cli_format tests/unit/test_cli_util tests/unit/test_cli_sbatch
TESTS += tests/unit/test_cli_format tests/unit/test_cli_util tests/unit/test_cli_sbatch
tests_unit_test_cli_format_SOURCES = tests/unit/test_cli_format.c
tests_unit_test_cli_format_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cli_format_LDADD = $(CLI_TEST_LIBS)
tests_unit_test_cli_util_SOURCES = tests/unit/test_cli_util.c
tests_unit_test_cli_util_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cli_util_LDADD = $(CLI_TEST_LIBS)
tests_unit_test_cli_sbatch_SOURCES = tests/unit/test_cli_sbatch.c
tests_unit_test_cli_sbatch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_cli_sbatch_LDADD = $(CLI_TEST_LIBS)

check_PROGRAMS += tests/unit/test_hostlist tests/unit/test_parse tests/unit/test_conf \
	tests/unit/test_proto
TESTS += tests/unit/test_hostlist tests/unit/test_parse tests/unit/test_conf tests/unit/test_proto
tests_unit_test_hostlist_SOURCES = tests/unit/test_hostlist.c
tests_unit_test_hostlist_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_hostlist_LDADD = $(UNIT_LIBS)
tests_unit_test_parse_SOURCES = tests/unit/test_parse.c
tests_unit_test_parse_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_parse_LDADD = $(UNIT_LIBS)
tests_unit_test_conf_SOURCES = tests/unit/test_conf.c
tests_unit_test_conf_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_LDADD = $(UNIT_LIBS)
tests_unit_test_proto_SOURCES = tests/unit/test_proto.c
tests_unit_test_proto_CFLAGS = $(UNIT_CFLAGS) -DMUNGED=\"$(MUNGED)\"
tests_unit_test_proto_LDADD = $(UNIT_LIBS)
EXTRA_DIST += tests/unit/conf/good.yaml tests/unit/conf/three-errors.yaml

# slurmish-d's pure parts (patterns, environment), linked from its library
check_PROGRAMS += tests/unit/test_d_jobenv
TESTS += tests/unit/test_d_jobenv
tests_unit_test_d_jobenv_SOURCES = tests/unit/test_d_jobenv.c
tests_unit_test_d_jobenv_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/slurmish-d
tests_unit_test_d_jobenv_LDADD = slurmish-d/libnoded.la $(UNIT_LIBS)

# the controller's invariant pass, on states built in memory
check_PROGRAMS += tests/unit/test_invariants
TESTS += tests/unit/test_invariants
tests_unit_test_invariants_SOURCES = tests/unit/test_invariants.c
tests_unit_test_invariants_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_unit_test_invariants_LDADD = slurmish-ctld/libctld.la $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_stream
TESTS += tests/unit/test_stream
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c
tests_unit_test_stream_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_stream_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_fwdchan
TESTS += tests/unit/test_fwdchan
tests_unit_test_fwdchan_SOURCES = tests/unit/test_fwdchan.c
tests_unit_test_fwdchan_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_fwdchan_LDADD = $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_conf_edit
TESTS += tests/unit/test_conf_edit
tests_unit_test_conf_edit_SOURCES = tests/unit/test_conf_edit.c
tests_unit_test_conf_edit_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_conf_edit_LDADD = $(UNIT_LIBS)

# slurmish-ctld's metrics: addresses, histograms, exposition text, job counts
check_PROGRAMS += tests/unit/test_metrics
TESTS += tests/unit/test_metrics
tests_unit_test_metrics_SOURCES = tests/unit/test_metrics.c
tests_unit_test_metrics_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_unit_test_metrics_LDADD = slurmish-ctld/libctld.la $(UNIT_LIBS)

check_PROGRAMS += tests/unit/test_zmtp
TESTS += tests/unit/test_zmtp
tests_unit_test_zmtp_SOURCES = tests/unit/test_zmtp.c
tests_unit_test_zmtp_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_zmtp_LDADD = $(UNIT_LIBS) $(ZMQ_LIBS)

# The ctld's job JSON writer against the jansson shape it replaced.
check_PROGRAMS += tests/unit/test_jobjson
TESTS += tests/unit/test_jobjson
tests_unit_test_jobjson_SOURCES = tests/unit/test_jobjson.c
tests_unit_test_jobjson_CFLAGS = $(UNIT_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_unit_test_jobjson_LDADD = slurmish-ctld/libctld.la $(UNIT_LIBS)
