#!/bin/sh
# Install what slurmish needs to build, test and run, on Debian 12 (as root).
set -e
if [ "$(id -u)" != 0 ]; then
    echo "install-deps.sh: run as root (it uses apt-get)" >&2
    exit 1
fi
PKGS="build-essential autoconf automake libtool pkg-config
      libzmq3-dev libsqlite3-dev libyaml-dev libmunge-dev munge libjansson-dev libsodium-dev check
      python3 python3-yaml procps util-linux passwd
      snakemake
      systemd bash-completion
      help2man groff-base man-db
      valgrind
      libmicrohttpd-dev libmicrohttpd12 prometheus"
# snakemake: tests/integration/test_workflows.py runs a workflow through its
# Slurm executor against slurmish, unchanged
# help2man: the man pages are made from each program's --help at build time;
# groff-base, man-db: tests/integration/test_manpages.py renders them
# valgrind: tests/integration/test_valgrind.py runs the daemons under memcheck
# systemd (systemd-analyze), bash-completion: tests/integration/test_ops.py
# verifies the units and the completion script
# libmicrohttpd: slurmish-ctld's Prometheus /metrics endpoint; prometheus
# (promtool and the server): tests/integration/test_metrics.py checks the
# exposition with promtool and has a real Prometheus scrape it (on its own
# port and storage; the package's system service is not used)
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "Installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # shellcheck disable=SC2086
    apt-get install -y -q --no-install-recommends $missing
fi
