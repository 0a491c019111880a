# Installed configuration and the local-cluster launcher.
dist_sysconf_DATA += etc/slurmish.yaml

bin_SCRIPTS += scripts/slurmish-local
CLEANFILES += scripts/slurmish-local
EXTRA_DIST += scripts/slurmish-local.in scripts/install-deps.sh scripts/build.sh scripts/demo.sh scripts/test.sh \
	doc/protocol.md doc/design-notes.md

scripts/slurmish-local: $(top_srcdir)/scripts/slurmish-local.in Makefile
	$(AM_V_GEN)mkdir -p scripts && sed \
	    -e 's|@bindir[@]|$(bindir)|g' -e 's|@sbindir[@]|$(sbindir)|g' \
	    -e 's|@sysconfdir[@]|$(sysconfdir)|g' -e 's|@abs_top_srcdir[@]|$(abs_top_srcdir)|g' \
	    -e 's|@MUNGED[@]|$(MUNGED)|g' \
	    -e 's|@PACKAGE_VERSION[@]|$(PACKAGE_VERSION)|g' \
	    $(top_srcdir)/scripts/slurmish-local.in > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@

# systemd units for the controller and the node daemons: etc/*.service.in
# with the install directories substituted, installed into
# $(systemdsystemunitdir) (configure: --with-systemdsystemunitdir).
SYSTEMD_UNITS = etc/slurmish-ctld.service etc/slurmish-d.service
if INSTALL_SYSTEMD_UNITS
systemdsystemunit_DATA = $(SYSTEMD_UNITS)
else
# built all the same: tests/integration/test_ops.py verifies them
noinst_DATA = $(SYSTEMD_UNITS)
endif
CLEANFILES += $(SYSTEMD_UNITS)
EXTRA_DIST += etc/slurmish-ctld.service.in etc/slurmish-d.service.in

UNIT_SUBST = sed -e 's|@sbindir[@]|$(sbindir)|g' -e 's|@sysconfdir[@]|$(sysconfdir)|g' \
	-e 's|@localstatedir[@]|$(localstatedir)|g'

etc/slurmish-ctld.service: $(top_srcdir)/etc/slurmish-ctld.service.in Makefile
	$(AM_V_GEN)mkdir -p etc && $(UNIT_SUBST) $(top_srcdir)/etc/slurmish-ctld.service.in > $@.tmp && mv $@.tmp $@

etc/slurmish-d.service: $(top_srcdir)/etc/slurmish-d.service.in Makefile
	$(AM_V_GEN)mkdir -p etc && $(UNIT_SUBST) $(top_srcdir)/etc/slurmish-d.service.in > $@.tmp && mv $@.tmp $@

# Bash completion: one script for every tool, installed once as
# $(bashcompletiondir)/slurmish plus a link per tool name (bash-completion
# loads completions/<command> the first time <command> is completed).
BASH_COMPLETION_TOOLS = sbatch salloc srun squeue scancel sinfo scontrol sacct sattach \
	sreport slurmish-local
EXTRA_DIST += etc/bash_completion/slurmish
if INSTALL_BASH_COMPLETION
bashcompletion_DATA = etc/bash_completion/slurmish

install-data-hook: install-bash-completion-links
uninstall-hook: uninstall-bash-completion-links
endif

install-bash-completion-links:
	@for t in $(BASH_COMPLETION_TOOLS); do \
	  echo " ln -sf slurmish '$(DESTDIR)$(bashcompletiondir)/$$t'"; \
	  ln -sf slurmish "$(DESTDIR)$(bashcompletiondir)/$$t" || exit 1; \
	done

uninstall-bash-completion-links:
	@for t in $(BASH_COMPLETION_TOOLS); do \
	  echo " rm -f '$(DESTDIR)$(bashcompletiondir)/$$t'"; \
	  rm -f "$(DESTDIR)$(bashcompletiondir)/$$t"; \
	done

.PHONY: install-bash-completion-links uninstall-bash-completion-links

# `make distcheck` installs under a temporary prefix: the units and the
# completion must follow it, not go where systemd and bash-completion say.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$${prefix}/lib/systemd/system' \
	--with-bash-completion-dir='$${datadir}/bash-completion/completions'
