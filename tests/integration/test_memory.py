#!/usr/bin/env python3
"""Memory enforcement: a job is limited to the memory it was allocated
(cgroup v2 or v1 memory controller); one that goes over is killed by the
kernel and recorded OUT_OF_MEMORY with Slurm's exit code 0:125, steps run
with srun inside it count against the same limit, and a job within its
limit is untouched."""

import os

import harness

ALLOC = "python3 -c 'x = bytearray(%d * 1024 * 1024); print(\"allocated\", len(x))'"


class MemoryTest(harness.ClusterTest):

    def setUp(self):
        show = self.c.run("scontrol", "show", "node", "n1").stdout
        if "MemoryEnforcement=none" in show:
            self.skipTest("no usable memory cgroup controller on this machine")
        self.assertRegex(show, r"MemoryEnforcement=cgroup-v[12]")

    def test_over_limit_is_out_of_memory(self):
        c = self.c
        j = c.sbatch("--mem=40M", "--wrap", ALLOC % 300 + "; echo after")
        self.assertEqual(c.wait_state(j, ("OUT_OF_MEMORY", "COMPLETED", "FAILED"), timeout=30),
                         "OUT_OF_MEMORY")
        self.assertEqual(c.show_job(j)["ExitCode"], "0:125")
        out = harness.read(os.path.join(c.work, "slurm-%d.out" % j))
        self.assertNotIn("allocated", out)
        p = c.run("sacct", "-n", "-P", "-j", str(j), "-o", "JobID,State,ExitCode")
        self.assertIn("%d|OUT_OF_MEMORY|0:125" % j, p.stdout)
        # within the limit: untouched
        ok = c.sbatch("--mem=200M", "--wrap", ALLOC % 50)
        self.assertEqual(c.wait_state(ok, ("OUT_OF_MEMORY", "COMPLETED", "FAILED"), timeout=30),
                         "COMPLETED")
        self.assertIn("allocated", harness.read(os.path.join(c.work, "slurm-%d.out" % ok)))

    def test_steps_share_the_jobs_limit(self):
        c = self.c
        j = c.sbatch("--mem=40M", "--wrap", "srun " + ALLOC % 300)
        self.assertEqual(c.wait_state(j, ("OUT_OF_MEMORY", "COMPLETED", "FAILED"), timeout=30),
                         "OUT_OF_MEMORY")


if __name__ == "__main__":
    harness.main()
