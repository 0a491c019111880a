#!/bin/sh
#SBATCH --signal=B:USR1@120 --nice=10 --nice
#SBATCH --begin=now+1hour --export=ALL,FOO=bar
#SBATCH --comment="with \"quotes\" and \\ escapes"
#SBATCH --wait --test-only --parsable --kill-on-invalid-dep=no
hostname
