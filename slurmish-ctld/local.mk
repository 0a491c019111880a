# slurmish-ctld: the controller.  Its logic is a convenience library so
# unit tests and benchmarks can link it without main.c.
noinst_LTLIBRARIES += slurmish-ctld/libctld.la
slurmish_ctld_libctld_la_SOURCES = \
	slurmish-ctld/ctld.h \
	slurmish-ctld/job.h slurmish-ctld/job.c \
	slurmish-ctld/node.h slurmish-ctld/node.c \
	slurmish-ctld/persist.h slurmish-ctld/persist.c \
	slurmish-ctld/loop.c \
	slurmish-ctld/toolport.h slurmish-ctld/toolport.c \
	slurmish-ctld/verify.h slurmish-ctld/verify.c \
	slurmish-ctld/keys.c \
	slurmish-ctld/cron.c \
	slurmish-ctld/sched.c \
	slurmish-ctld/submit.c \
	slurmish-ctld/cancel.c \
	slurmish-ctld/query.c \
	slurmish-ctld/jobjson.h slurmish-ctld/jobjson.c \
	slurmish-ctld/update.c \
	slurmish-ctld/script.c \
	slurmish-ctld/invariants.c \
	slurmish-ctld/depend.c \
	slurmish-ctld/array.c \
	slurmish-ctld/acct.c \
	slurmish-ctld/node_rpc.c \
	slurmish-ctld/step.h slurmish-ctld/step.c \
	slurmish-ctld/reconf.c \
	slurmish-ctld/power.h slurmish-ctld/power.c \
	slurmish-ctld/budget.h slurmish-ctld/budget.c \
	slurmish-ctld/report.c \
	slurmish-ctld/metrics.h slurmish-ctld/metrics.c \
	lib/power/provider.h
slurmish_ctld_libctld_la_CFLAGS = $(SL_CFLAGS) $(MHD_CFLAGS) -I$(top_srcdir)/slurmish-ctld
slurmish_ctld_libctld_la_LIBADD = -ldl $(MHD_LIBS)

# Cloud provider plugins, loaded by the power manager as
# $(pkglibdir)/provider_<name>.so.  They link nothing from libslurmish:
# the ctld lends them what they need (struct sl_power_env).
pkglib_LTLIBRARIES = slurmish-ctld/cloud/provider_local.la slurmish-ctld/cloud/provider_script.la
CLOUD_COMMON = slurmish-ctld/cloud/common.h slurmish-ctld/cloud/common.c lib/power/provider.h
slurmish_ctld_cloud_provider_local_la_SOURCES = slurmish-ctld/cloud/local.c $(CLOUD_COMMON)
slurmish_ctld_cloud_provider_local_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/slurmish-ctld
slurmish_ctld_cloud_provider_local_la_LDFLAGS = -module -avoid-version -shared
slurmish_ctld_cloud_provider_script_la_SOURCES = slurmish-ctld/cloud/script.c $(CLOUD_COMMON)
slurmish_ctld_cloud_provider_script_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/slurmish-ctld
slurmish_ctld_cloud_provider_script_la_LDFLAGS = -module -avoid-version -shared

sbin_PROGRAMS += slurmish-ctld/slurmish-ctld
slurmish_ctld_slurmish_ctld_SOURCES = slurmish-ctld/main.c
slurmish_ctld_slurmish_ctld_CFLAGS = $(SL_CFLAGS) -I$(top_srcdir)/slurmish-ctld
slurmish_ctld_slurmish_ctld_LDADD = slurmish-ctld/libctld.la $(SL_LIBS)

# Example resume/suspend programs and a spot watcher for the script provider.
powerexamplesdir = $(pkgdatadir)/examples/power
dist_powerexamples_SCRIPTS = etc/power/aws-resume.sh etc/power/aws-suspend.sh \
	etc/power/aws-spot-watch.sh
