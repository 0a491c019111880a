#!/usr/bin/env python3
"""Batch jobs end to end: output, environment, users, exit codes, layouts."""

import glob
import os
import pwd
import re

import harness


class BatchTest(harness.ClusterTest):

    def test_root_job_output_and_environment(self):
        c = self.c
        job = c.sbatch("-J", "envjob", "--wrap", "env | grep -E '^(SLURM|SLURMD|ENVIRONMENT)' | sort")
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "COMPLETED")
        out = os.path.join(c.work, "slurm-%d.out" % job)
        env = dict(l.split("=", 1) for l in harness.read(out).splitlines() if "=" in l)
        node = env["SLURMD_NODENAME"]
        self.assertIn(node, ("n1", "n2"))
        expect = {
            "SLURM_JOB_ID": str(job), "SLURM_JOB_NAME": "envjob", "SLURM_JOB_NODELIST": node,
            "SLURM_NNODES": "1", "SLURM_NTASKS": "1", "SLURM_CPUS_ON_NODE": "1",
            "SLURM_JOB_PARTITION": "debug", "SLURM_SUBMIT_DIR": c.work,
            "SLURM_SUBMIT_HOST": os.uname().nodename, "SLURM_JOB_USER": "root",
            "SLURM_CLUSTER_NAME": "itest", "ENVIRONMENT": "BATCH",
        }
        for k, v in expect.items():
            self.assertEqual(env.get(k), v, k)
        info = c.show_job(job)
        self.assertEqual(info["ExitCode"], "0:0")
        self.assertEqual(info["NodeList"], node)

    def test_script_file_with_sbatch_directives(self):
        c = self.c
        script = os.path.join(c.work, "directives.sh")
        with open(script, "w") as f:
            f.write("#!/bin/bash\n#SBATCH -J fromscript\n#SBATCH -o custom-%j-%x.txt\n"
                    "#SBATCH -c 2\n\necho \"cpus=$SLURM_CPUS_ON_NODE name=$SLURM_JOB_NAME "
                    "args=$*\"\n")
        job = c.sbatch(script, "a1", "a2")
        c.wait_state(job, "COMPLETED")
        out = os.path.join(c.work, "custom-%d-fromscript.txt" % job)
        self.assertEqual(harness.read(out).strip(), "cpus=2 name=fromscript args=a1 a2")
        # the command line overrides #SBATCH
        job2 = c.sbatch("-J", "override", script)
        c.wait_state(job2, "COMPLETED")
        self.assertIn("name=override",
                      harness.read(os.path.join(c.work, "custom-%d-override.txt" % job2)))

    def test_separate_error_file(self):
        c = self.c
        job = c.sbatch("-o", "o-%j.log", "-e", "e-%j.log", "--wrap", "echo out; echo err >&2")
        c.wait_state(job, "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "o-%d.log" % job)), "out\n")
        self.assertEqual(harness.read(os.path.join(c.work, "e-%d.log" % job)), "err\n")

    def test_exit_codes(self):
        c = self.c
        ok = c.sbatch("--wrap", "exit 0")
        bad = c.sbatch("--wrap", "exit 3")
        sig = c.sbatch("--wrap", "kill -USR1 $$")
        self.assertEqual(c.wait_state(ok, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertEqual(c.wait_state(bad, ("COMPLETED", "FAILED")), "FAILED")
        self.assertEqual(c.show_job(bad)["ExitCode"], "3:0")
        self.assertEqual(c.show_job(ok)["ExitCode"], "0:0")
        self.assertEqual(c.wait_state(sig, ("COMPLETED", "FAILED")), "FAILED")
        self.assertEqual(c.show_job(sig)["ExitCode"], "0:10")

    def test_job_as_unprivileged_user(self):
        c = self.c
        u = harness.ensure_test_user()
        wd = os.path.join(c.work, "userdir")
        os.makedirs(wd, exist_ok=True)
        os.chown(wd, u.pw_uid, u.pw_gid)
        job = c.sbatch("--wrap", "id -u; id -g; id -G; touch made-by-job", user=u.pw_name, cwd=wd)
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "COMPLETED")
        out = os.path.join(wd, "slurm-%d.out" % job)
        lines = harness.read(out).split("\n")
        groups = sorted(int(g) for g in lines[2].split())
        self.assertEqual(int(lines[0]), u.pw_uid)
        self.assertEqual(int(lines[1]), u.pw_gid)
        expected = sorted(os.getgrouplist(u.pw_name, u.pw_gid))
        self.assertEqual(groups, expected)
        self.assertGreater(len(groups), 1, "the test user should have a supplementary group")
        for f in (out, os.path.join(wd, "made-by-job")):
            st = os.stat(f)
            self.assertEqual((st.st_uid, st.st_gid), (u.pw_uid, u.pw_gid), f)
        info = c.show_job(job)
        self.assertTrue(info["UserId"].startswith(u.pw_name + "("))

    def test_script_held_in_memory(self):
        """The node keeps the batch script in memory, not in its spool: the
        job (a user's) reads it through $0, may not write it, and the
        job's spool directory holds no copy of it."""
        c = self.c
        u = harness.ensure_test_user()
        wd = os.path.join(c.work, "userdir3")
        os.makedirs(wd, exist_ok=True)
        os.chown(wd, u.pw_uid, u.pw_gid)
        script = os.path.join(wd, "selfread.sh")
        with open(script, "w") as f:
            f.write("#!/bin/sh\n# marker-line\n"
                    "grep -c marker-line \"$0\"\n"
                    "if (echo x >> \"$0\") 2>/dev/null; then echo writable; else echo read-only; fi\n"
                    "touch started; sleep 30\n")
        job = c.sbatch("-o", "out-%j", script, user=u.pw_name, cwd=wd)
        c.wait_for(lambda: os.path.exists(os.path.join(wd, "started")), what="the job to start")
        spool = lambda: [f for n in ("n1", "n2") for f in os.listdir(os.path.join(c.dir, "spool", n))
                         if f.startswith("job.%d." % job)]
        c.wait_for(lambda: "job.%d.record" % job in spool(), what="the job's record")
        files = spool()
        self.assertFalse([f for f in files if "script" in f], files)
        c.run("scancel", str(job))
        c.wait_state(job, ("CANCELLED", "COMPLETED", "FAILED"))
        out = harness.read(os.path.join(wd, "out-%d" % job)).split()
        self.assertEqual(out[:2], ["2", "read-only"])

    def test_state_and_spool_closed_to_users(self):
        """The database (every user's scripts and environments) and the
        spools are the daemon user's alone: 0700 directories owned by it,
        though slurmish-local created the state directory 0755."""
        c = self.c
        job = c.sbatch("-o", "/dev/null", "--wrap", "sleep 20")
        c.wait_state(job, "RUNNING")
        dirs = [os.path.join(c.dir, "state")]
        dirs += [os.path.join(c.dir, "spool", n) for n in ("n1", "n2")]
        for d in dirs:
            st = os.stat(d)
            self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o700, os.geteuid()), d)
        # the job's files in its node's spool: the daemon user's, 0600
        pattern = os.path.join(c.dir, "spool", "n*", "job.%d.record" % job)
        c.wait_for(lambda: glob.glob(pattern), what="the job's record")
        files = glob.glob(os.path.join(c.dir, "spool", "n*", "job.%d.*" % job))
        for f in files:
            st = os.stat(f)
            self.assertEqual((st.st_mode & 0o777, st.st_uid), (0o600, os.geteuid()), f)
        u = harness.ensure_test_user()
        db = os.path.join(c.dir, "state", "slurmish.db")
        p = c.run("cat", db, user=u.pw_name)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("Permission denied", p.stderr)
        with open(os.path.join(c.dir, "log", "ctld.log")) as f:
            self.assertIn("was open to other users (mode 755); it is 0700 now", f.read())
        c.run("scancel", str(job))

    def test_user_cannot_write_output_where_they_cannot(self):
        c = self.c
        u = harness.ensure_test_user()
        wd = os.path.join(c.work, "userdir2")
        os.makedirs(wd, exist_ok=True)
        os.chown(wd, u.pw_uid, u.pw_gid)
        job = c.sbatch("-o", "/root/should-not-exist-%j", "--wrap", "echo x", user=u.pw_name,
                       cwd=wd)
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "FAILED")
        self.assertFalse(os.path.exists("/root/should-not-exist-%d" % job))

    def test_multi_node_job(self):
        c = self.c
        job = c.sbatch("-N", "2", "-n", "4", "--wrap",
                       "echo $SLURM_JOB_NODELIST $SLURM_NNODES $SLURM_NTASKS $SLURM_TASKS_PER_NODE")
        c.wait_state(job, "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)).split(),
                         ["n[1-2]", "2", "4", "2(x2)"])

    def test_squeue_and_sinfo_layout(self):
        c = self.c
        job = c.sbatch("-J", "sleeper", "--wrap", "sleep 30")
        c.wait_state(job, "RUNNING")
        p = c.run("squeue")
        self.assertEqual(p.returncode, 0)
        lines = p.stdout.splitlines()
        self.assertEqual(lines[0], "             JOBID PARTITION     NAME     USER ST       TIME "
                                   " NODES NODELIST(REASON)")
        row = [l for l in lines if l.split()[0] == str(job)]
        self.assertEqual(len(row), 1)
        self.assertEqual(row[0].split()[1:5], ["debug", "sleeper", "root", "R"])
        p = c.run("squeue", "-h", "-j", str(job), "-o", "%i %P %j %u %T %D %R")
        self.assertRegex(p.stdout.strip(), r"^%d debug sleeper root RUNNING 1 n[12]$" % job)
        p = c.run("sinfo")
        self.assertEqual(p.stdout.splitlines()[0],
                         "PARTITION AVAIL  TIMELIMIT  NODES  STATE NODELIST")
        self.assertRegex(p.stdout, r"debug\*\s+up\s+1:00:00\s+1\s+mix\s+n[12]")
        p = c.run("sinfo", "-N", "-h")
        self.assertEqual(len(p.stdout.splitlines()), 2)
        p = c.run("scancel", str(job))
        self.assertEqual(p.returncode, 0)
        c.wait_state(job, "CANCELLED")

    def test_scontrol_show_node_and_partition(self):
        c = self.c
        p = c.run("scontrol", "show", "node", "n1")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("NodeName=n1", p.stdout)
        self.assertRegex(p.stdout, r"CPUTot=2")
        p = c.run("scontrol", "show", "partition", "debug")
        self.assertIn("PartitionName=debug", p.stdout)
        self.assertIn("MaxTime=01:00:00", p.stdout)
        p = c.run("scontrol", "ping")
        self.assertEqual(p.returncode, 0)
        self.assertIn("is UP", p.stdout)


if __name__ == "__main__":
    harness.main()
