#!/bin/sh
# Configure and build slurmish in ./build (out of tree).  Extra arguments
# go to configure.
set -e
cd "$(dirname "$0")/.."
[ -x configure ] || ./autogen.sh >/dev/null
mkdir -p build
cd build
[ -f Makefile ] || ../configure -q "$@"
make -j"$(nproc)" >/dev/null
make -j"$(nproc)" scripts/slurmish-local >/dev/null
