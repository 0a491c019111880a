#!/bin/bash
#SBATCH --job-name=hello
#SBATCH --partition=cpu
#SBATCH --nodes=1
#SBATCH --ntasks=4
#SBATCH --cpus-per-task=2
#SBATCH --mem=2G
#SBATCH --time=1-12:00:00
#SBATCH --output=slurm-%j.out

srun hostname
