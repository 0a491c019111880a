#!/bin/bash
#SBATCH --begin=2026-11-22T14:05:03
#SBATCH --begin=16:00
#SBATCH --begin=tomorrow
#SBATCH --begin=now+30minutes
#SBATCH --time=UNLIMITED
#SBATCH --mem=16384
#SBATCH --signal=TERM
#SBATCH --wrap="sleep 10"
sleep 1
