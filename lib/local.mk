# libslurmish-core: what the tools need (protocol, auth, config, the ZMTP
# client), with no libzmq and no SQLite, so that sbatch, squeue... start
# without loading them (ldd build/cli/sbatch).
noinst_LTLIBRARIES += lib/libslurmish-core.la
lib_libslurmish_core_la_SOURCES = \
	lib/types.h lib/types.c \
	lib/util/error.h lib/util/error.c \
	lib/util/log.h lib/util/log.c \
	lib/util/xmalloc.h lib/util/xmalloc.c \
	lib/util/daemon.h lib/util/daemon.c \
	lib/util/hostlist.h lib/util/hostlist.c \
	lib/util/parse.h lib/util/parse.c \
	lib/conf/conf.h lib/conf/conf.c \
	lib/conf/edit.h lib/conf/edit.c \
	lib/proto/errors.h lib/proto/errors.c \
	lib/proto/proto.h lib/proto/proto.c \
	lib/proto/zmtp.h lib/proto/zmtp.c \
	lib/proto/client.h lib/proto/client.c \
	lib/proto/stream.h lib/proto/stream.c \
	lib/proto/fwdchan.h lib/proto/fwdchan.c \
	lib/auth/auth.h lib/auth/munge.c
lib_libslurmish_core_la_CFLAGS = $(AM_CFLAGS) $(YAML_CFLAGS) $(MUNGE_CFLAGS) $(JANSSON_CFLAGS)
# (no LIBADD: SL_LIBS and SL_CORE_LIBS name its libraries, shared or not)

# libslurmish: the core plus the SQLite store and libzmq; shared by the
# daemons, srun/salloc/sattach and the tests.
noinst_LTLIBRARIES += lib/libslurmish.la
lib_libslurmish_la_SOURCES = \
	lib/store/db.h lib/store/db.c \
	lib/proto/keyed.h lib/proto/keyed.c
lib_libslurmish_la_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS) $(SQLITE_CFLAGS) $(YAML_CFLAGS) \
	$(MUNGE_CFLAGS) $(JANSSON_CFLAGS) $(SODIUM_CFLAGS)
lib_libslurmish_la_LIBADD = lib/libslurmish-core.la $(YAML_LIBS) $(MUNGE_LIBS) $(JANSSON_LIBS) \
	$(ZMQ_LIBS) $(SQLITE_LIBS) $(SODIUM_LIBS)

# What every program linking libslurmish needs.
SL_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
SL_LIBS = $(top_builddir)/lib/libslurmish.la
# What a tool that only sends requests needs: its libraries static where
# configure found their archives (TOOL_DEP_LIBS, configure.ac).
SL_CORE_LIBS = $(top_builddir)/lib/libslurmish-core.la $(TOOL_DEP_LIBS)
