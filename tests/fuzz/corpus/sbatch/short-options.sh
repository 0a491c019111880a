#!/bin/sh
# a comment before the directives
#SBATCH -J "my job" -p gpu -N 2-4 -n 8 -c 2
#SBATCH -t 90 -o 'out %j.log' -e err.%j -i /dev/null
#SBATCH -A physics -D /scratch/alice -Q -H -v -v
#SBATCH -w gpu[1-2] -x gpu3 -C "avx2&gpu"   # trailing comment
#SBATCHX --not-a-directive

python train.py
#SBATCH --after-the-command=ignored
