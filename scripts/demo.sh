#!/bin/sh
# Install, build, start a local cluster on the default config and run a
# short demo.  The cluster stays up; the last lines say how to use and stop it.
# no stdin needed; a closed one breaks libtool
exec </dev/null
set -e
top="$(cd "$(dirname "$0")/.." && pwd)"
dir="${SLURMISH_DEMO_DIR:-/tmp/slurmish-demo}"
"$top/scripts/install-deps.sh"
"$top/scripts/build.sh"
launcher="$top/build/scripts/slurmish-local"
if [ -f "$dir/cluster.json" ]; then
    "$launcher" down --dir "$dir" >/dev/null 2>&1 || true
fi
# a demo starts from nothing: no jobs or outputs from an earlier run
case "$dir" in
/tmp/*) rm -rf "$dir" ;;
esac
echo "== Starting a local cluster in $dir"
# an assignment, not eval "$(...)": set -e stops here if the cluster fails
lines="$("$launcher" up --dir "$dir")"
eval "$lines"
work="$dir/work"
mkdir -p "$work"
cd "$work"
echo
echo "== sinfo"
sinfo
echo
echo "== Submitting one job to each partition"
sbatch -J hello-cpu -p cpu --wrap 'echo "Hello from $SLURMD_NODENAME, job $SLURM_JOB_ID in $SLURM_JOB_PARTITION"'
sbatch -J bigmem -p largemem --mem=8G --wrap 'echo "Large-memory job on $SLURMD_NODENAME with $SLURM_MEM_PER_NODE MiB"; sleep 3'
sbatch -J gpu-spot -p gpu-spot --wrap 'echo "Spot GPU node $SLURMD_NODENAME"; sleep 2'
sbatch -J two-nodes -N 2 -n 4 --wrap 'echo "Nodes: $SLURM_JOB_NODELIST, tasks per node: $SLURM_TASKS_PER_NODE"'
sleep 1
echo
echo "== squeue"
squeue
echo
echo "== sinfo while jobs run (lm1 and gpu1 are cloud nodes: # = powering up)"
sinfo
i=0
while [ -n "$(squeue -h -t PD,CF,R)" ] && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
echo
echo "== Finished jobs (squeue -t all)"
squeue -t all
echo
for f in slurm-*.out; do
    echo "== $work/$f"
    cat "$f"
done
echo
echo "== scontrol show job 1"
scontrol show job 1
echo
echo "== What it cost (sreport cost cluster; cloud nodes power down after power.idle_time)"
sreport cost cluster
cat <<EOT

The cluster is still running.  To use it:
    eval "\$($launcher env --dir $dir)"
    sbatch --wrap hostname; squeue; sinfo
To stop it:
    $launcher down --dir $dir
EOT
