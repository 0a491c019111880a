#!/usr/bin/env python3
"""Who may do what, as Slurm: a job's owner, another user, an admin named
in the config (controller.admins) and root, for cancel, time limit and
priority updates, hold and release, requeue, attaching to a step, reading
a batch script or a running job's environment, and partition edits and
reconfigure.

Users act on their own jobs only; they may shorten a time limit but not
extend it, lower a priority but not raise it, and release their own hold
but not an admin's.  Admins and root may do all of it, except attaching
to another user's step, which Slurm's slurmd allows only to root and the
slurm user.  A refused request says "Access/permission denied" and
changes nothing."""

import json
import os
import pwd
import re
import subprocess

import harness

ADMIN = "slurmish-admin"
OWNER = harness.TEST_USER
OTHER = "nobody"
ROLES = (OWNER, OTHER, ADMIN, "root")
PRIVILEGED = (ADMIN, "root")
DENIED = "Access/permission denied"

CONFIG = harness.DEFAULT_CONFIG.replace(
    "controller:\n", "controller:\n  admins: [%s]\n" % ADMIN)


def ensure_admin_user():
    try:
        pwd.getpwnam(ADMIN)
    except KeyError:
        subprocess.run(["useradd", "--no-create-home", "--shell", "/bin/sh", ADMIN], check=True)


class AuthzTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        harness.ensure_test_user()
        ensure_admin_user()
        super().setUpClass()

    def tearDown(self):
        c = self.c
        for u in (OWNER, "root"):
            c.run("scancel", "-u", u)
        c.wait_for(lambda: not c.run("squeue", "-h").stdout.strip(), 30, "an empty queue")

    def as_(self, role, *args, **kw):
        return self.c.run(*args, user=None if role == "root" else role, **kw)

    def held_job(self, *extra):
        """A pending, user-held job of OWNER."""
        return self.c.sbatch("-H", "-t", "20:00", "-J", "secret-job", *extra, "--wrap",
                             "echo TOKEN=s3cr3t", user=OWNER)

    def assert_refused(self, p, what, text=DENIED):
        self.assertEqual(p.returncode, 1, "%s allowed: %s" % (what, p.stdout))
        self.assertIn(text, p.stderr, what)

    def assert_allowed(self, p, what):
        self.assertEqual(p.returncode, 0, "%s refused: %s" % (what, p.stderr))

    def test_cancel(self):
        c = self.c
        for role in ROLES:
            j = self.held_job()
            p = self.as_(role, "scancel", str(j))
            if role == OTHER:
                self.assert_refused(p, "scancel by another user")
                self.assertEqual(c.state(j), "PENDING")
                c.run("scancel", str(j))
            else:
                self.assert_allowed(p, "scancel by " + role)
                self.assertEqual(c.state(j), "CANCELLED")
        # by user name: another user's jobs are refused one by one
        j = self.held_job()
        p = self.as_(OTHER, "scancel", "-u", OWNER)
        self.assert_refused(p, "scancel -u by another user")
        self.assertEqual(c.state(j), "PENDING")
        self.assert_allowed(self.as_(ADMIN, "scancel", "-u", OWNER), "scancel -u by an admin")
        self.assertEqual(c.state(j), "CANCELLED")

    def test_time_limit(self):
        c = self.c
        j = self.held_job()
        limit = lambda: c.show_job(j)["TimeLimit"]
        # shorten: the owner and the privileged; never another user
        p = self.as_(OTHER, "scontrol", "update", "JobId=%d" % j, "TimeLimit=5:00")
        self.assert_refused(p, "another user's TimeLimit")
        self.assertEqual(limit(), "00:20:00")
        for role, t in ((OWNER, "15:00"), (ADMIN, "14:00"), ("root", "13:00")):
            self.assert_allowed(self.as_(role, "scontrol", "update", "JobId=%d" % j,
                                         "TimeLimit=" + t), role + " shortens")
            self.assertEqual(limit(), "00:%s" % t)
        # extend: only the privileged
        for role in (OWNER, OTHER):
            p = self.as_(role, "scontrol", "update", "JobId=%d" % j, "TimeLimit=50:00")
            self.assert_refused(p, role + " extends")
            self.assertEqual(limit(), "00:13:00")
        for role, t in ((ADMIN, "40:00"), ("root", "45:00")):
            self.assert_allowed(self.as_(role, "scontrol", "update", "JobId=%d" % j,
                                         "TimeLimit=" + t), role + " extends")
            self.assertEqual(limit(), "00:%s" % t)

    def test_priority(self):
        c = self.c
        j = self.held_job()
        prio = lambda: int(c.show_job(j)["Priority"])
        start = prio()
        for role in (OWNER, OTHER):
            p = self.as_(role, "scontrol", "update", "JobId=%d" % j,
                         "Priority=%d" % (start + 1000))
            self.assert_refused(p, role + " raises the priority")
            self.assertEqual(prio(), start)
        # the owner may lower its own job's priority, another user may not
        p = self.as_(OTHER, "scontrol", "update", "JobId=%d" % j, "Priority=%d" % (start - 10))
        self.assert_refused(p, "another user lowers the priority")
        self.assertEqual(prio(), start)
        self.assert_allowed(self.as_(OWNER, "scontrol", "update", "JobId=%d" % j,
                                     "Priority=%d" % (start - 10)), "owner lowers")
        self.assertEqual(prio(), start - 10)
        for role, v in ((ADMIN, start + 1000), ("root", start + 2000)):
            self.assert_allowed(self.as_(role, "scontrol", "update", "JobId=%d" % j,
                                         "Priority=%d" % v), role + " raises")
            self.assertEqual(prio(), v)

    def test_hold_and_release(self):
        c = self.c
        reason = lambda j: c.show_job(j)["Reason"]
        for role in ROLES:
            j = c.sbatch("--begin", "now+1hour", "--wrap", "true", user=OWNER)  # stays pending
            p = self.as_(role, "scontrol", "hold", str(j))
            if role == OTHER:
                self.assert_refused(p, "hold by another user")
                self.assertEqual(reason(j), "BeginTime")
                continue
            self.assert_allowed(p, "hold by " + role)
            held = "JobHeldAdmin" if role in PRIVILEGED else "JobHeldUser"
            self.assertEqual(reason(j), held)
            # release: another user never; the owner only its own hold
            self.assert_refused(self.as_(OTHER, "scontrol", "release", str(j)),
                                "release by another user")
            self.assertEqual(reason(j), held)
            p = self.as_(OWNER, "scontrol", "release", str(j))
            if role in PRIVILEGED:
                self.assert_refused(p, "owner releases an admin hold")
                self.assertEqual(reason(j), held)
                self.assert_allowed(self.as_(role, "scontrol", "release", str(j)),
                                    role + " releases")
            else:
                self.assert_allowed(p, "owner releases its hold")
            self.assertEqual(reason(j), "BeginTime")
            c.run("scancel", str(j))

    def test_requeue(self):
        c = self.c
        j = c.sbatch("--wrap", "sleep 300", user=OWNER)
        c.wait_state(j, "RUNNING")
        p = self.as_(OTHER, "scontrol", "requeue", str(j))
        self.assert_refused(p, "requeue by another user")
        info = c.show_job(j)
        self.assertEqual((info["JobState"], info["Restarts"]), ("RUNNING", "0"))
        for n, role in enumerate((OWNER, ADMIN, "root"), 1):
            self.assert_allowed(self.as_(role, "scontrol", "requeue", str(j)), role + " requeues")
            c.wait_for(lambda: c.show_job(j)["Restarts"] == str(n) and c.state(j) == "RUNNING",
                       60, "job running again after %s's requeue" % role)

    def test_attach_to_step(self):
        c = self.c
        j = c.sbatch("--wrap", "echo FIRST; sleep 2; echo SECOND", user=OWNER)
        out = os.path.join(c.work, "slurm-%d.out" % j)
        c.wait_for(lambda: os.path.exists(out) and "FIRST" in harness.read(out), 30,
                   "the job's first line")
        # admins are not enough: only the owner, root and the slurm user
        for role in (OTHER, ADMIN):
            p = self.as_(role, "sattach", "%d.batch" % j, timeout=30)
            self.assert_refused(p, role + " attaches")
            self.assertNotIn("FIRST", p.stdout)
        p = self.as_(OWNER, "sattach", "%d.batch" % j, timeout=30)
        self.assertEqual((p.returncode, p.stdout), (0, "FIRST\nSECOND\n"), p.stderr)
        j = c.sbatch("--wrap", "echo ROOT-SEES; sleep 2", user=OWNER)
        c.wait_state(j, "RUNNING")
        p = self.as_("root", "sattach", "%d.batch" % j, timeout=30)
        self.assertEqual((p.returncode, p.stdout), (0, "ROOT-SEES\n"), p.stderr)

    def test_batch_script_is_private(self):
        c = self.c
        j = self.held_job()
        for role in ROLES:
            p = self.as_(role, "scontrol", "write", "batch_script", str(j), "-")
            if role == OTHER:
                self.assert_refused(p, "another user reads the script")
                self.assertNotIn("s3cr3t", p.stdout + p.stderr)
            else:
                self.assert_allowed(p, role + " reads the script")
                self.assertIn("echo TOKEN=s3cr3t\n", p.stdout)
        # into a file, slurm-ID.sh by default, as Slurm
        d = os.path.join(c.work, "scripts")
        os.makedirs(d, exist_ok=True)
        os.chmod(d, 0o777)
        p = self.as_(OWNER, "scontrol", "write", "batch_script", str(j), cwd=d)
        self.assert_allowed(p, "owner saves the script")
        self.assertEqual(p.stdout.strip(), "batch script for job %d written to slurm-%d.sh"
                         % (j, j))
        self.assertIn("TOKEN=s3cr3t", harness.read(os.path.join(d, "slurm-%d.sh" % j)))
        # a finished job's script is still there; a bad id is an error
        c.run("scancel", str(j))
        p = self.as_(OWNER, "scontrol", "write", "batch_script", str(j), "-")
        self.assertIn("TOKEN=s3cr3t", p.stdout)
        # an array task's script is its array's
        a = c.sbatch("--array=1-2", "--wrap", "echo task-$SLURM_ARRAY_TASK_ID", user=OWNER)
        ids = lambda: [t for t in c.run("squeue", "-h", "-t", "all", "-o", "%A").stdout.split()
                       if int(t) >= a]
        c.wait_for(lambda: len(ids()) >= 2, 30, "array tasks split off")
        for t in ids():
            p = self.as_(OWNER, "scontrol", "write", "batch_script", t, "-")
            self.assertIn("echo task-$SLURM_ARRAY_TASK_ID\n", p.stdout, t)
            self.assert_refused(self.as_(OTHER, "scontrol", "write", "batch_script", t, "-"),
                                "another user reads an array task's script")
        p = c.run("scontrol", "write", "batch_script", "999999", "-")
        self.assert_refused(p, "unknown job", "Invalid job id specified")
        p = c.run("scontrol", "write", "batch_script", "abc")
        self.assert_refused(p, "bad job id", "Invalid job id")

    def test_partition_edits_and_reconfigure(self):
        c = self.c
        maxtime = lambda: c.run("sinfo", "-h", "-p", "debug", "-o", "%l").stdout.strip()
        before = harness.read(c.conf)
        for role in (OWNER, OTHER):
            p = self.as_(role, "scontrol", "update", "PartitionName=debug", "MaxTime=2:00:00")
            self.assert_refused(p, role + " edits a partition")
            self.assert_refused(self.as_(role, "scontrol", "reconfigure"), role + " reconfigures")
        self.assertEqual(maxtime(), "1:00:00")
        self.assertEqual(harness.read(c.conf), before)
        for role, t in ((ADMIN, "2:00:00"), ("root", "1:00:00")):
            p = self.as_(role, "scontrol", "update", "PartitionName=debug", "MaxTime=" + t)
            self.assert_allowed(p, role + " edits a partition")
            self.assertEqual(maxtime(), t)
            self.assert_allowed(self.as_(role, "scontrol", "reconfigure"), role + " reconfigures")
            self.assertEqual(maxtime(), t)


    def test_job_environment_is_private(self):
        c = self.c
        j = c.sbatch("--wrap", "sleep 60", user=OWNER)
        c.wait_state(j, "RUNNING")
        conf = harness.read(c.conf)
        port = re.search(r"^\s*port:\s*['\"]?(\d+)", conf, re.M).group(1)
        sock = os.path.join(c.dir, "munge", "munge.sock")
        body = json.dumps({"job_ids": [j], "with_env": True})
        for role in ROLES:
            cmd = [harness.RAWSEND, "127.0.0.1", port, "--sign", sock, "query_jobs", body]
            if role != "root":
                pw = pwd.getpwnam(role)
                cmd = ["setpriv", "--reuid=%d" % pw.pw_uid, "--regid=%d" % pw.pw_gid,
                       "--clear-groups"] + cmd
            p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               timeout=30)
            self.assertEqual(p.returncode, 0, p.stderr)
            r = json.loads(p.stdout.strip().splitlines()[-1])
            self.assertEqual(r["rc"], 0, r)
            (job,) = r["body"]["jobs"]
            if role == OTHER:
                self.assertNotIn("env", job)
            else:
                self.assertIn("SLURM_JOB_ID=%d" % j, job["env"], role)

if __name__ == "__main__":
    harness.main()
