# cli/: the Slurm-compatible tools.  What they share, and the pure parts
# the unit tests link (format engine, option and directive parsing), is
# a convenience library.
noinst_LTLIBRARIES += cli/libcli.la
cli_libcli_la_SOURCES = \
	cli/common.h cli/common.c \
	cli/format.h cli/format.c \
	cli/cliutil.h cli/cliutil.c \
	cli/sbatch_opt.h cli/sbatch_opt.c
cli_libcli_la_CFLAGS = $(SL_CFLAGS)

# Interactive sessions (salloc, srun, sattach) stream over libzmq.
noinst_LTLIBRARIES += cli/libclisession.la
cli_libclisession_la_SOURCES = \
	cli/session.h cli/session.c \
	cli/forward.h cli/forward.c
cli_libclisession_la_CFLAGS = $(SL_CFLAGS)

# The one-request tools link neither libzmq nor SQLite: they start faster
# (ldd cli/sbatch).
CLI_LIBS = cli/libcli.la $(SL_CORE_LIBS)
CLI_SESSION_LIBS = cli/libclisession.la cli/libcli.la $(SL_LIBS)

bin_PROGRAMS += cli/sbatch cli/squeue cli/scancel cli/sinfo cli/scontrol

cli_sbatch_SOURCES = cli/sbatch.c
cli_sbatch_CFLAGS = $(SL_CFLAGS)
cli_sbatch_LDADD = $(CLI_LIBS)

cli_squeue_SOURCES = cli/squeue.c
cli_squeue_CFLAGS = $(SL_CFLAGS)
cli_squeue_LDADD = $(CLI_LIBS)

cli_scancel_SOURCES = cli/scancel.c
cli_scancel_CFLAGS = $(SL_CFLAGS)
cli_scancel_LDADD = $(CLI_LIBS)

cli_sinfo_SOURCES = cli/sinfo.c
cli_sinfo_CFLAGS = $(SL_CFLAGS)
cli_sinfo_LDADD = $(CLI_LIBS)

cli_scontrol_SOURCES = cli/scontrol.c
cli_scontrol_CFLAGS = $(SL_CFLAGS)
cli_scontrol_LDADD = $(CLI_LIBS)

bin_PROGRAMS += cli/sacct
cli_sacct_SOURCES = cli/sacct.c
cli_sacct_CFLAGS = $(SL_CFLAGS)
cli_sacct_LDADD = $(CLI_LIBS)

bin_PROGRAMS += cli/salloc cli/srun cli/sattach
cli_salloc_SOURCES = cli/salloc.c
cli_salloc_CFLAGS = $(SL_CFLAGS)
cli_salloc_LDADD = $(CLI_SESSION_LIBS)
cli_srun_SOURCES = cli/srun.c
cli_srun_CFLAGS = $(SL_CFLAGS)
cli_srun_LDADD = $(CLI_SESSION_LIBS)
cli_sattach_SOURCES = cli/sattach.c
cli_sattach_CFLAGS = $(SL_CFLAGS)
cli_sattach_LDADD = $(CLI_SESSION_LIBS)

bin_PROGRAMS += cli/sreport
cli_sreport_SOURCES = cli/sreport.c
cli_sreport_CFLAGS = $(SL_CFLAGS)
cli_sreport_LDADD = $(CLI_LIBS)
