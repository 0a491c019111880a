# libslurmish: shared by the daemons, the tools and the tests.
noinst_LTLIBRARIES += lib/libslurmish.la
lib_libslurmish_la_SOURCES = \
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
	lib/proto/client.h lib/proto/client.c \
	lib/proto/stream.h lib/proto/stream.c \
	lib/proto/fwdchan.h lib/proto/fwdchan.c \
	lib/auth/auth.h lib/auth/munge.c \
	lib/store/db.h lib/store/db.c
lib_libslurmish_la_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS) $(SQLITE_CFLAGS) $(YAML_CFLAGS) \
	$(MUNGE_CFLAGS) $(JANSSON_CFLAGS)
lib_libslurmish_la_LIBADD = $(ZMQ_LIBS) $(SQLITE_LIBS) $(YAML_LIBS) $(MUNGE_LIBS) $(JANSSON_LIBS)

# What every program linking libslurmish needs.
SL_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS) $(JANSSON_CFLAGS) $(SQLITE_CFLAGS)
SL_LIBS = $(top_builddir)/lib/libslurmish.la
