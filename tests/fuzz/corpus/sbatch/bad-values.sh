#!/bin/sh
#SBATCH --nodes=0 --mem=lots --time=1:2:3:4 --gres=tpu:1 --signal=NOPE@x
true
