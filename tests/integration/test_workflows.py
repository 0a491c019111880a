#!/usr/bin/env python3
"""Workflow tools drive slurmish as they drive Slurm, unchanged: a
Snakemake workflow through Snakemake's own Slurm executor (sbatch
--parsable, sacct -P -n --format=JobIdRaw,State, srun --cpu-bind inside
each job, sinfo -o %P for the default partition)."""

import os
import shutil
import subprocess

import harness

SNAKEFILE = """\
rule all:
    input: "c.txt"

rule a:
    output: "a.txt"
    shell: "echo a-on-$SLURMD_NODENAME > {output}"

rule b:
    output: "b.txt"
    shell: "echo b > {output}"

rule c:
    input: "a.txt", "b.txt"
    output: "c.txt"
    threads: 2
    shell: "cat {input} > {output}; echo job=$SLURM_JOB_ID cpus=$SLURM_CPUS_PER_TASK >> {output}"
"""

SNAKEMAKE = shutil.which("snakemake", path="/usr/bin:" + os.environ.get("PATH", ""))


class WorkflowTest(harness.ClusterTest):

    def test_snakemake_slurm_executor(self):
        if not SNAKEMAKE:
            self.skipTest("snakemake is not installed (scripts/install-deps.sh installs it)")
        c = self.c
        wf = os.path.join(c.work, "wf")
        os.makedirs(wf)
        with open(os.path.join(wf, "Snakefile"), "w") as f:
            f.write(SNAKEFILE)
        env = c.env({"USER": "root", "HOME": c.work})
        p = subprocess.run([SNAKEMAKE, "--slurm", "--jobs", "4", "--default-resources",
                            "runtime=5", "mem_mb=450", "slurm_partition=debug"],
                           cwd=wf, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True, timeout=400)
        self.assertEqual(p.returncode, 0, p.stdout[-4000:])
        self.assertIn("4 of 4 steps (100%) done", p.stdout)
        out = harness.read(os.path.join(wf, "c.txt")).splitlines()
        self.assertRegex(out[0], r"^a-on-n[12]$")
        self.assertEqual(out[1], "b")
        self.assertRegex(out[2], r"^job=\d+ cpus=2$")
        # three jobs, each with the step snakemake ran with srun inside it
        acct = c.run("sacct", "-n", "-P", "-o", "JobID,JobName,State").stdout.split()
        jobs = [line for line in acct if "." not in line.split("|")[0]]
        steps = [line for line in acct if line.split("|")[0].endswith(".0")]
        self.assertEqual(len(jobs), 3, acct)
        self.assertTrue(all(line.endswith("|COMPLETED") for line in jobs), acct)
        self.assertEqual(len(steps), 3, acct)


if __name__ == "__main__":
    harness.main()
