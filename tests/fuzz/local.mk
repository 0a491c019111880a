# Fuzz harnesses: one LLVMFuzzerTestOneInput() per parser that reads
# untrusted text, each with a seed corpus in tests/fuzz/corpus/<target>/.
#
#   tests/fuzz/fuzz_<target>_replay  (always; `make check` runs them):
#       the harness linked with tests/fuzz/driver.c, which replays the
#       seed corpus and a fixed set of mutations of it, with any compiler.
#   tests/fuzz/fuzz_<target>  (configure --enable-fuzzing, CC=clang):
#       the harness linked with libFuzzer, built by `make`.
#
# A longer libFuzzer run of every target, in its own build directory:
#   tests/fuzz/run.sh [SECONDS]      (or `make fuzz FUZZ_SECONDS=...`)
FUZZ_HARNESS_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir) -I$(top_srcdir)/tests/fuzz
FUZZ_CORPUS_DIR = $(abs_top_srcdir)/tests/fuzz/corpus

FUZZ_REPLAYS = tests/fuzz/fuzz_proto_replay tests/fuzz/fuzz_conf_replay \
	tests/fuzz/fuzz_sbatch_replay tests/fuzz/fuzz_hostlist_replay tests/fuzz/fuzz_parse_replay
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)

tests_fuzz_fuzz_proto_replay_SOURCES = tests/fuzz/fuzz_proto.c tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_proto_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) \
	-DFUZZ_TARGET=\"fuzz_proto_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/proto\"
tests_fuzz_fuzz_proto_replay_LDADD = $(SL_LIBS)

tests_fuzz_fuzz_conf_replay_SOURCES = tests/fuzz/fuzz_conf.c tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_conf_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) \
	-DFUZZ_TARGET=\"fuzz_conf_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/conf\"
tests_fuzz_fuzz_conf_replay_LDADD = $(SL_LIBS)

tests_fuzz_fuzz_sbatch_replay_SOURCES = tests/fuzz/fuzz_sbatch.c tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sbatch_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) \
	-DFUZZ_TARGET=\"fuzz_sbatch_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/sbatch\"
tests_fuzz_fuzz_sbatch_replay_LDADD = cli/libcli.la $(SL_LIBS)

tests_fuzz_fuzz_hostlist_replay_SOURCES = tests/fuzz/fuzz_hostlist.c tests/fuzz/driver.c \
	tests/fuzz/fuzz.h
tests_fuzz_fuzz_hostlist_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) \
	-DFUZZ_TARGET=\"fuzz_hostlist_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/hostlist\"
tests_fuzz_fuzz_hostlist_replay_LDADD = $(SL_LIBS)

tests_fuzz_fuzz_parse_replay_SOURCES = tests/fuzz/fuzz_parse.c tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_parse_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) \
	-DFUZZ_TARGET=\"fuzz_parse_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/parse\"
tests_fuzz_fuzz_parse_replay_LDADD = $(SL_LIBS)

if ENABLE_FUZZING
# configure.ac adds $(FUZZ_CFLAGS) (coverage, ASan, UBSan) to every
# object, the libraries under test included; these link libFuzzer's main.
noinst_PROGRAMS = tests/fuzz/fuzz_proto tests/fuzz/fuzz_conf tests/fuzz/fuzz_sbatch \
	tests/fuzz/fuzz_hostlist tests/fuzz/fuzz_parse
FUZZER_LINK = $(AM_LDFLAGS) -fsanitize=fuzzer

tests_fuzz_fuzz_proto_SOURCES = tests/fuzz/fuzz_proto.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_proto_CFLAGS = $(FUZZ_HARNESS_CFLAGS)
tests_fuzz_fuzz_proto_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_proto_LDADD = $(SL_LIBS)

tests_fuzz_fuzz_conf_SOURCES = tests/fuzz/fuzz_conf.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_conf_CFLAGS = $(FUZZ_HARNESS_CFLAGS)
tests_fuzz_fuzz_conf_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_conf_LDADD = $(SL_LIBS)

tests_fuzz_fuzz_sbatch_SOURCES = tests/fuzz/fuzz_sbatch.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_sbatch_CFLAGS = $(FUZZ_HARNESS_CFLAGS)
tests_fuzz_fuzz_sbatch_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_sbatch_LDADD = cli/libcli.la $(SL_LIBS)

tests_fuzz_fuzz_hostlist_SOURCES = tests/fuzz/fuzz_hostlist.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_hostlist_CFLAGS = $(FUZZ_HARNESS_CFLAGS)
tests_fuzz_fuzz_hostlist_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_hostlist_LDADD = $(SL_LIBS)

tests_fuzz_fuzz_parse_SOURCES = tests/fuzz/fuzz_parse.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_parse_CFLAGS = $(FUZZ_HARNESS_CFLAGS)
tests_fuzz_fuzz_parse_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_parse_LDADD = $(SL_LIBS)
endif

# The tools' ZMTP client reading a peer's byte stream (lib/proto/zmtp.c)
FUZZ_REPLAYS += tests/fuzz/fuzz_zmtp_replay
tests_fuzz_fuzz_zmtp_replay_SOURCES = tests/fuzz/fuzz_zmtp.c tests/fuzz/driver.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_zmtp_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) \
	-DFUZZ_TARGET=\"fuzz_zmtp_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/zmtp\"
tests_fuzz_fuzz_zmtp_replay_LDADD = $(SL_CORE_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_zmtp
tests_fuzz_fuzz_zmtp_SOURCES = tests/fuzz/fuzz_zmtp.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_zmtp_CFLAGS = $(FUZZ_HARNESS_CFLAGS)
tests_fuzz_fuzz_zmtp_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_zmtp_LDADD = $(SL_CORE_LIBS)
endif

# The ctld's tools listener reading a client's byte stream
# (slurmish-ctld/toolport.c)
FUZZ_REPLAYS += tests/fuzz/fuzz_toolport_replay
tests_fuzz_fuzz_toolport_replay_SOURCES = tests/fuzz/fuzz_toolport.c tests/fuzz/driver.c \
	tests/fuzz/fuzz.h
tests_fuzz_fuzz_toolport_replay_CFLAGS = $(FUZZ_HARNESS_CFLAGS) -I$(top_srcdir)/slurmish-ctld \
	-DFUZZ_TARGET=\"fuzz_toolport_replay\" -DFUZZ_CORPUS=\"$(FUZZ_CORPUS_DIR)/toolport\"
tests_fuzz_fuzz_toolport_replay_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)
if ENABLE_FUZZING
noinst_PROGRAMS += tests/fuzz/fuzz_toolport
tests_fuzz_fuzz_toolport_SOURCES = tests/fuzz/fuzz_toolport.c tests/fuzz/fuzz.h
tests_fuzz_fuzz_toolport_CFLAGS = $(FUZZ_HARNESS_CFLAGS) -I$(top_srcdir)/slurmish-ctld
tests_fuzz_fuzz_toolport_LDFLAGS = $(FUZZER_LINK)
tests_fuzz_fuzz_toolport_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)
endif

# The seed corpus (a directory: every file in it is shipped) and the
# long-run script.
EXTRA_DIST += tests/fuzz/corpus tests/fuzz/run.sh

FUZZ_SECONDS = 60
fuzz:
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh $(FUZZ_SECONDS)
.PHONY: fuzz
