#!/usr/bin/env python3
"""Submission limits: max_submit_jobs (per user), max_job_count (everyone),
max_array_size and max_script_size.  Each refusal uses Slurm's wording,
stores nothing, and leaves other users and the controller unaffected."""

import grp
import os
import subprocess
import time

import harness

POLICY = ("sbatch: error: Batch job submission failed: Job violates accounting/QOS policy "
          "(job submit limit, user's size and/or time limits)")
TOO_LONG = "Pathname of a file, directory or other parameter too long"

OTHER_USER = "slurmish-load1"


LIMITS_CONFIG = harness.DEFAULT_CONFIG.replace(
    "  message_timeout: 5\n",
    "  message_timeout: 5\n"
    "  max_submit_jobs: 5\n"
    "  max_array_size: 11\n"
    "  max_script_size: 2048\n")

QUEUE_CONFIG = harness.DEFAULT_CONFIG.replace(
    "  message_timeout: 5\n",
    "  message_timeout: 5\n"
    "  max_job_count: 4\n")


class LimitsTest(harness.ClusterTest):
    config = LIMITS_CONFIG

    @classmethod
    def setUpClass(cls):
        cls.user = harness.ensure_test_user().pw_name
        cls.other = harness.ensure_user(OTHER_USER).pw_name
        super().setUpClass()

    def tearDown(self):
        for u in ("root", self.user, self.other):
            self.c.run("scancel", "-u", u)
        self.c.wait_for(lambda: self.active() == [], 30, "queue empty")

    def active(self, user=None):
        args = ["squeue", "-h", "-r", "-t", "PD,R,CG", "-o", "%i"]
        if user:
            args += ["-u", user]
        p = self.c.run(*args)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def sacct_ids(self):
        p = self.c.run("sacct", "-a", "-n", "-X", "-P", "-o", "JobID", "-S", "2000-01-01")
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout.split()

    def test_max_submit_jobs(self):
        ids = [self.c.sbatch("-H", "--wrap", "true", user=self.user) for _ in range(5)]
        stored = self.sacct_ids()
        p = self.c.run("sbatch", "-H", "--wrap", "true", user=self.user)
        self.assertEqual(p.returncode, 1)
        lines = p.stderr.strip().splitlines()
        self.assertEqual(lines[-1], POLICY)
        self.assertRegex(lines[0], r"^sbatch: error: MaxSubmitJobsPerUser: user %s has 5 job"
                         % self.user)
        # nothing stored: not in the queue, not in sacct, no job id used up
        self.assertEqual(len(self.active(self.user)), 5)
        self.assertEqual(self.sacct_ids(), stored)
        # another user is not affected, and gets the very next id
        other = self.c.sbatch("-H", "--wrap", "true", user=self.other)
        self.assertEqual(other, ids[-1] + 1)
        # root is exempt from the per-user limit
        for _ in range(6):
            self.c.sbatch("-H", "--wrap", "true")
        # an array counts one per task: 4 active + 2 tasks > 5
        self.assertEqual(self.c.run("scancel", str(ids[0])).returncode, 0)
        p = self.c.run("sbatch", "-H", "--array=0-1", "--wrap", "true", user=self.user)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip().splitlines()[-1], POLICY)
        self.assertIn("this submission adds 2", p.stderr)
        self.c.sbatch("-H", "--wrap", "true", user=self.user)  # 4 + 1 fits
        # once the user's jobs end, the user may submit again, up to the limit
        for j in ids[1:]:
            self.c.run("scancel", str(j))
        self.c.wait_for(lambda: len(self.active(self.user)) == 1, 30, "user's jobs cancelled")
        a = self.c.sbatch("-H", "--array=0-3", "--wrap", "true", user=self.user)
        self.assertEqual(len(self.active(self.user)), 5)
        p = self.c.run("sbatch", "-H", "--wrap", "true", user=self.user)
        self.assertEqual(p.returncode, 1)
        # released jobs that run to the end make room too
        self.assertEqual(self.c.run("scontrol", "release", str(a)).returncode, 0)
        self.c.wait_for(lambda: len(self.active(self.user)) == 1, 60, "array ran")
        self.c.sbatch("--wrap", "true", user=self.user)

    def test_requeued_job_counts_again(self):
        done = self.c.sbatch("--wrap", "true", user=self.user)
        self.assertEqual(self.c.wait_state(done, "COMPLETED"), "COMPLETED")
        # root fills every CPU, so the requeued job will stay pending
        busy = [self.c.sbatch("--wrap", "sleep 300") for _ in range(4)]
        for j in busy:
            self.c.wait_state(j, "RUNNING")
        for _ in range(3):
            self.c.sbatch("-H", "--wrap", "true", user=self.user)
        p = self.c.run("sbatch", "-H", "--array=0-2", "--wrap", "true", user=self.user)
        self.assertEqual(p.returncode, 1)  # 3 + 3 > 5
        p = self.c.run("scontrol", "requeue", str(done))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(self.c.state(done), "PENDING")
        self.assertEqual(len(self.active(self.user)), 4)
        # 4 + 2 > 5: the requeued job counts again
        p = self.c.run("sbatch", "-H", "--array=0-1", "--wrap", "true", user=self.user)
        self.assertEqual(p.returncode, 1, "a requeued job must count against max_submit_jobs")
        self.assertEqual(p.stderr.strip().splitlines()[-1], POLICY)
        self.assertIn("has 4 job(s)", p.stderr)
        self.c.sbatch("-H", "--wrap", "true", user=self.user)  # 4 + 1 fits
        self.assertEqual(len(self.active(self.user)), 5)

    def test_max_array_size(self):
        a = self.c.sbatch("-H", "--array=0-10", "--wrap", "true")  # root: no per-user limit
        p = self.c.run("squeue", "-h", "-j", str(a), "-o", "%i")
        self.assertEqual(p.stdout.strip(), "%d_[0-10]" % a)
        for spec in ("0-11", "11", "3,5,20", "0-100:50"):
            p = self.c.run("sbatch", "-H", "--array=" + spec, "--wrap", "true")
            self.assertEqual(p.returncode, 1, spec)
            self.assertIn("sbatch: error: Batch job submission failed: "
                          "Invalid job array specification", p.stderr)
            self.assertIn("MaxArraySize=11", p.stderr, spec)
        self.assertEqual(self.active(), ["%d_%d" % (a, t) for t in range(11)])
        p = self.c.run("scontrol", "show", "config")
        self.assertRegex(p.stdout, r"MaxArraySize\s*= 11\n")
        self.assertRegex(p.stdout, r"MaxSubmitJobsPerUser\s*= 5\n")
        self.assertRegex(p.stdout, r"MaxJobCount\s*= UNLIMITED\n")
        self.assertRegex(p.stdout, r"SchedulerParameters\s*= .*max_script_size=2048\n")

    def test_max_script_size(self):
        script = "#!/bin/sh\n" + "# padding\n" * 300 + "true\n"  # about 3 KB
        p = self.c.run("sbatch", input=script)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(),
                         "sbatch: error: Batch job submission failed: %s: batch script is %d "
                         "bytes, over max_script_size (2048 bytes)" % (TOO_LONG, len(script)))
        self.assertEqual(self.active(), [])
        # one over the 4 MiB message limit: refused before it is sent
        path = os.path.join(self.c.work, "huge.sh")
        with open(path, "w") as f:
            f.write("#!/bin/sh\n" + ("#" * 99 + "\n") * 50000 + "true\n")
        p = self.c.run("sbatch", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("sbatch: error: Batch job submission failed: " + TOO_LONG, p.stderr)
        self.assertIn("too large", p.stderr)
        # the controller is fine, and a script within the limit goes through
        j = self.c.sbatch("--wrap", "true")
        self.assertEqual(self.c.wait_state(j, "COMPLETED"), "COMPLETED")


class QueueFullTest(harness.ClusterTest):
    config = QUEUE_CONFIG

    def test_sbatch_sleeps_and_retries(self):
        held = [self.c.sbatch("-H", "--wrap", "true") for _ in range(4)]
        # even root waits: MaxJobCount exempts nobody
        p = subprocess.Popen([os.path.join(harness.BUILDDIR, "cli", "sbatch"), "--parsable",
                              "--wrap", "true"], cwd=self.c.work, env=self.c.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            # its first try is refused and it sleeps 1 s: free a slot meanwhile
            time.sleep(0.5)
            self.assertIsNone(p.poll(), "sbatch should be sleeping before its retry")
            self.assertEqual(self.c.run("scancel", str(held[0])).returncode, 0)
            out, err = p.communicate(timeout=30)
        finally:
            if p.poll() is None:
                p.kill()
                p.wait()
        self.assertEqual(p.returncode, 0, err)
        self.assertEqual(err.strip(), "sbatch: error: Slurm job queue full, sleeping and retrying")
        job = int(out.strip())
        self.assertEqual(job, held[-1] + 1)  # the refused try stored nothing
        self.assertEqual(self.c.wait_state(job, "COMPLETED"), "COMPLETED")
        p = self.c.run("squeue", "-h", "-t", "PD", "-o", "%i")
        self.assertEqual(sorted(p.stdout.split()), sorted(str(j) for j in held[1:]))

if __name__ == "__main__":
    harness.main()
