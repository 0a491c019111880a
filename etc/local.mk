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
	    $(top_srcdir)/scripts/slurmish-local.in > $@.tmp && chmod +x $@.tmp && mv $@.tmp $@
