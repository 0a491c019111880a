#!/bin/sh
#SBATCH -J "unterminated
true
