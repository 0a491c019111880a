# slurmish-d: the node daemon.  Its logic is a convenience library so
# unit tests can link it without main.c.
noinst_LTLIBRARIES += slurmish-d/libnoded.la
slurmish_d_libnoded_la_SOURCES = \
	slurmish-d/noded.h \
	slurmish-d/jobs.c \
	slurmish-d/jobenv.c \
	slurmish-d/launch.c \
	slurmish-d/supervise.c \
	slurmish-d/spool.c \
	slurmish-d/spawner.c \
	slurmish-d/cgroup.h slurmish-d/cgroup.c \
	slurmish-d/link.c \
	slurmish-d/resources.c \
	slurmish-d/steps.c \
	slurmish-d/forward.c \
	slurmish-d/stepd.c
slurmish_d_libnoded_la_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-d \
	-DSPAWNER_PROGRAM=\"$(pkglibexecdir)/slurmish-spawner\"

sbin_PROGRAMS += slurmish-d/slurmish-d
slurmish_d_slurmish_d_SOURCES = slurmish-d/main.c
slurmish_d_slurmish_d_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-d
slurmish_d_slurmish_d_LDADD = slurmish-d/libnoded.la $(SL_LIBS)

# The job spawner (spawner_main.c): a program of its own, linking only what
# the job supervisors it forks run (no libzmq, no SQLite), so that each
# supervisor's fork and exit handle a small address space.
pkglibexec_PROGRAMS += slurmish-d/slurmish-spawner
slurmish_d_slurmish_spawner_SOURCES = slurmish-d/spawner_main.c
slurmish_d_slurmish_spawner_CFLAGS = $(AM_CFLAGS) $(JANSSON_CFLAGS) -I$(top_srcdir)/slurmish-d
slurmish_d_slurmish_spawner_LDADD = slurmish-d/libnoded.la $(SL_CORE_LIBS)
