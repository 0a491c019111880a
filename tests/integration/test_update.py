#!/usr/bin/env python3
"""scontrol hold/release/requeue/update for jobs and nodes, with Slurm's
permissions."""

import os

import harness


class UpdateTest(harness.ClusterTest):

    def user_dir(self, name):
        u = harness.ensure_test_user()
        d = os.path.join(self.c.work, name)
        os.makedirs(d, exist_ok=True)
        os.chown(d, u.pw_uid, u.pw_gid)
        return u, d

    def test_hold_and_release(self):
        c = self.c
        u, d = self.user_dir("hold")
        j = c.sbatch("-H", "--wrap", "true", user=u.pw_name, cwd=d)
        c.wait_for(lambda: c.show_job(j)["Reason"] == "JobHeldUser", what="held")
        p = c.run("scontrol", "release", str(j), user=u.pw_name)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")

    def test_admin_hold_needs_admin_release(self):
        c = self.c
        u, d = self.user_dir("ahold")
        blocker = c.sbatch("-N", "2", "-c", "2", "--wrap", "sleep 1000")
        c.wait_state(blocker, "RUNNING")
        j = c.sbatch("--wrap", "true", user=u.pw_name, cwd=d)
        p = c.run("scontrol", "hold", str(j))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.show_job(j)["Reason"], "JobHeldAdmin")
        p = c.run("scontrol", "release", str(j), user=u.pw_name)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        p = c.run("scontrol", "release", str(j))
        self.assertEqual(p.returncode, 0, p.stderr)
        c.run("scancel", str(blocker))
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")

    def test_other_user_cannot_hold(self):
        c = self.c
        u, d = self.user_dir("other")
        j = c.sbatch("-H", "--wrap", "true")
        p = c.run("scontrol", "release", str(j), user=u.pw_name)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        c.run("scancel", str(j))

    def test_requeue_running_job(self):
        c = self.c
        log = os.path.join(c.work, "requeue.log")
        j = c.sbatch("--wrap", "echo run >> %s; if [ $(wc -l < %s) -lt 2 ]; then sleep 1000; fi"
                     % (log, log))
        c.wait_state(j, "RUNNING")
        c.wait_file(log)
        p = c.run("scontrol", "requeue", str(j))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertEqual(harness.read(log), "run\nrun\n")
        p = c.run("scontrol", "requeue", "999999")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid job id specified", p.stderr)

    def test_update_pending_job(self):
        c = self.c
        u, d = self.user_dir("upd")
        j = c.sbatch("-H", "-t", "20:00", "--wrap", "true", user=u.pw_name, cwd=d)
        p = c.run("scontrol", "update", "JobId=%d" % j, "TimeLimit=10:00", "Name=renamed",
                  user=u.pw_name)
        self.assertEqual(p.returncode, 0, p.stderr)
        info = c.show_job(j)
        self.assertEqual(info["TimeLimit"], "00:10:00")
        self.assertEqual(info["JobName"], "renamed")
        p = c.run("scontrol", "update", "JobId=%d" % j, "TimeLimit=50:00", user=u.pw_name)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        p = c.run("scontrol", "update", "JobId=%d" % j, "TimeLimit=50:00")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.show_job(j)["TimeLimit"], "00:50:00")
        p = c.run("scontrol", "update", "JobId=%d" % j, "Partition=nosuch")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid partition name specified", p.stderr)
        p = c.run("scontrol", "update", "JobId=%d" % j, "Bogus=1")
        self.assertEqual(p.returncode, 1)
        c.run("scancel", str(j))

    def test_drain_and_resume_node(self):
        c = self.c
        u = harness.ensure_test_user()
        p = c.run("scontrol", "update", "NodeName=n1", "State=DRAIN", "Reason=disk",
                  user=u.pw_name)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        p = c.run("scontrol", "update", "NodeName=n1", "State=DRAIN")
        self.assertEqual(p.returncode, 1)
        self.assertIn("reason", p.stderr)
        p = c.run("scontrol", "update", "NodeName=n1", "State=DRAIN", "Reason=disk check")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.run("sinfo", "-h", "-N", "-n", "n1", "-o", "%t").stdout.strip(),
                         "drain")
        self.assertIn("disk check", c.run("sinfo", "-R").stdout)
        jobs = [c.sbatch("--wrap", "echo $SLURMD_NODENAME") for _ in range(3)]
        for j in jobs:
            c.wait_state(j, "COMPLETED")
            self.assertEqual(c.show_job(j)["NodeList"], "n2")
        p = c.run("scontrol", "update", "NodeName=n1", "State=RESUME")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.run("sinfo", "-h", "-N", "-n", "n1", "-o", "%t").stdout.strip(),
                         "idle")


if __name__ == "__main__":
    harness.main()
