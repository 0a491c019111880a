# Man pages.  A program's page is made at build time by help2man from the
# program's own --help and --version output plus doc/man/<program>.h2m
# (NAME, DESCRIPTION, EXAMPLES, SEE ALSO prose), so the page and --help
# share one source and cannot drift apart; tests/integration/
# test_manpages.py checks that every option the code accepts is in its
# page.  help2man is a build requirement (configure checks for it): the
# pages depend on the programs, so a tarball that shipped them would
# regenerate them anyway after building the programs.
# slurmish.yaml.5 is written by hand: it is the configuration reference,
# and the test checks it names every key lib/conf/conf.c accepts.
man1_MANS = doc/man/sbatch.1 doc/man/salloc.1 doc/man/srun.1 doc/man/squeue.1 \
	doc/man/scancel.1 doc/man/sinfo.1 doc/man/scontrol.1 doc/man/sacct.1 \
	doc/man/sattach.1 doc/man/sreport.1 doc/man/slurmish-local.1
man8_MANS = doc/man/slurmish-ctld.8 doc/man/slurmish-d.8
dist_man5_MANS = doc/man/slurmish.yaml.5
CLEANFILES += $(man1_MANS) $(man8_MANS)
EXTRA_DIST += doc/man/sbatch.h2m doc/man/salloc.h2m doc/man/srun.h2m doc/man/squeue.h2m \
	doc/man/scancel.h2m doc/man/sinfo.h2m doc/man/scontrol.h2m doc/man/sacct.h2m \
	doc/man/sattach.h2m doc/man/sreport.h2m doc/man/slurmish-local.h2m \
	doc/man/slurmish-ctld.h2m doc/man/slurmish-d.h2m

# help2man PROGRAM SECTION: the page from `PROGRAM --help` and the .h2m
# file of the same name.  The version is the package's, which is what
# every program's --version prints.
H2M_RUN = mkdir -p doc/man && $(HELP2MAN) --no-info --version-string='$(PACKAGE_VERSION)' \
	--source='$(PACKAGE_NAME) $(PACKAGE_VERSION)'

doc/man/sbatch.1: cli/sbatch$(EXEEXT) $(srcdir)/doc/man/sbatch.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/sbatch.h2m -o $@ cli/sbatch$(EXEEXT)
doc/man/salloc.1: cli/salloc$(EXEEXT) $(srcdir)/doc/man/salloc.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/salloc.h2m -o $@ cli/salloc$(EXEEXT)
doc/man/srun.1: cli/srun$(EXEEXT) $(srcdir)/doc/man/srun.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/srun.h2m -o $@ cli/srun$(EXEEXT)
doc/man/squeue.1: cli/squeue$(EXEEXT) $(srcdir)/doc/man/squeue.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/squeue.h2m -o $@ cli/squeue$(EXEEXT)
doc/man/scancel.1: cli/scancel$(EXEEXT) $(srcdir)/doc/man/scancel.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/scancel.h2m -o $@ cli/scancel$(EXEEXT)
doc/man/sinfo.1: cli/sinfo$(EXEEXT) $(srcdir)/doc/man/sinfo.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/sinfo.h2m -o $@ cli/sinfo$(EXEEXT)
doc/man/scontrol.1: cli/scontrol$(EXEEXT) $(srcdir)/doc/man/scontrol.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/scontrol.h2m -o $@ cli/scontrol$(EXEEXT)
doc/man/sacct.1: cli/sacct$(EXEEXT) $(srcdir)/doc/man/sacct.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/sacct.h2m -o $@ cli/sacct$(EXEEXT)
doc/man/sattach.1: cli/sattach$(EXEEXT) $(srcdir)/doc/man/sattach.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/sattach.h2m -o $@ cli/sattach$(EXEEXT)
doc/man/sreport.1: cli/sreport$(EXEEXT) $(srcdir)/doc/man/sreport.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/sreport.h2m -o $@ cli/sreport$(EXEEXT)
doc/man/slurmish-local.1: scripts/slurmish-local $(srcdir)/doc/man/slurmish-local.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=1 --include=$(srcdir)/doc/man/slurmish-local.h2m -o $@ scripts/slurmish-local
doc/man/slurmish-ctld.8: slurmish-ctld/slurmish-ctld$(EXEEXT) $(srcdir)/doc/man/slurmish-ctld.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=8 --include=$(srcdir)/doc/man/slurmish-ctld.h2m -o $@ slurmish-ctld/slurmish-ctld$(EXEEXT)
doc/man/slurmish-d.8: slurmish-d/slurmish-d$(EXEEXT) $(srcdir)/doc/man/slurmish-d.h2m
	$(AM_V_GEN)$(H2M_RUN) --section=8 --include=$(srcdir)/doc/man/slurmish-d.h2m -o $@ slurmish-d/slurmish-d$(EXEEXT)
