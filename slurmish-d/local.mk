# slurmish-d: the node daemon.  Its logic is a convenience library so
# unit tests can link it without main.c.
noinst_LTLIBRARIES += slurmish-d/libnoded.la
slurmish_d_libnoded_la_SOURCES = \
	slurmish-d/noded.h \
	slurmish-d/jobs.c \
	slurmish-d/jobenv.c \
	slurmish-d/launch.c \
	slurmish-d/spawner.c \
	slurmish-d/cgroup.h slurmish-d/cgroup.c \
	slurmish-d/link.c \
	slurmish-d/resources.c \
	slurmish-d/steps.c \
	slurmish-d/forward.c \
	slurmish-d/stepd.c
slurmish_d_libnoded_la_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-d

sbin_PROGRAMS += slurmish-d/slurmish-d
slurmish_d_slurmish_d_SOURCES = slurmish-d/main.c
slurmish_d_slurmish_d_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-d
slurmish_d_slurmish_d_LDADD = slurmish-d/libnoded.la $(SL_LIBS)
