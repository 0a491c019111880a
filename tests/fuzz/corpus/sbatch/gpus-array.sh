#!/bin/bash
#SBATCH --gres=gpu:a10:2
#SBATCH --gpus=t4:1
#SBATCH -G 4
#SBATCH --array=0-99%4
#SBATCH --mem-per-cpu=512M
#SBATCH --ntasks-per-node=2
#SBATCH --exclusive
#SBATCH --dependency=afterok:41:42
#SBATCH --kill-on-invalid-dep=yes
#SBATCH --requeue
#SBATCH --no-requeue
echo "$SLURM_ARRAY_TASK_ID"
