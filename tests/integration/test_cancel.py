#!/usr/bin/env python3
"""Cancel and signal: processes die, permissions are Slurm's."""

import os
import time

import harness


def alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class CancelTest(harness.ClusterTest):

    def tearDown(self):
        # the next test starts on an empty cluster: a job still completing
        # would let a later small job take the nodes a big one waits for
        self.c.run("scancel", "-u", "root")
        self.c.run("scancel", "-u", harness.TEST_USER)
        self.c.wait_nodes_idle()

    def start_sleeper(self, user=None, cwd=None):
        """A job that starts background children and records every pid."""
        c = self.c
        job = c.sbatch("--wrap", "sleep 1000 & echo $! >> pids; sleep 1000 & echo $! >> pids; "
                       "echo $$ >> pids; wait", user=user, cwd=cwd)
        c.wait_state(job, "RUNNING")
        pidfile = os.path.join(cwd or c.work, "pids")
        c.wait_for(lambda: os.path.exists(pidfile) and len(harness.read(pidfile).split()) == 3,
                   what="job pids")
        pids = [int(p) for p in harness.read(pidfile).split()]
        os.unlink(pidfile)
        return job, pids

    def test_cancel_kills_every_process_of_the_job(self):
        c = self.c
        job, pids = self.start_sleeper()
        self.assertTrue(all(alive(p) for p in pids))
        p = c.run("scancel", str(job))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.wait_state(job, "CANCELLED"), "CANCELLED")
        c.wait_for(lambda: not any(alive(p) for p in pids), timeout=10, what="processes to die")

    def test_other_user_is_refused_and_root_may_cancel(self):
        c = self.c
        u = harness.ensure_test_user()
        job, pids = self.start_sleeper()
        p = c.run("scancel", str(job), user=u.pw_name)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        time.sleep(0.5)
        self.assertEqual(c.state(job), "RUNNING")
        self.assertTrue(all(alive(p) for p in pids))
        p = c.run("scancel", str(job))
        self.assertEqual(p.returncode, 0)
        c.wait_state(job, "CANCELLED")

    def test_owner_cancels_own_job(self):
        c = self.c
        u = harness.ensure_test_user()
        wd = os.path.join(c.work, "owner")
        os.makedirs(wd, exist_ok=True)
        os.chown(wd, u.pw_uid, u.pw_gid)
        job, pids = self.start_sleeper(user=u.pw_name, cwd=wd)
        p = c.run("scancel", str(job), user=u.pw_name)
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_state(job, "CANCELLED")
        info = c.show_job(job)
        self.assertEqual(info["ExitCode"].split(":")[0], "0")
        c.wait_for(lambda: not any(alive(p) for p in pids), timeout=10, what="processes to die")

    def test_cancel_pending_job_and_by_user(self):
        c = self.c
        u = harness.ensure_test_user()
        wd = os.path.join(c.work, "byuser")
        os.makedirs(wd, exist_ok=True)
        os.chown(wd, u.pw_uid, u.pw_gid)
        # more CPUs than are free: the second job stays pending
        j1 = c.sbatch("-N", "2", "-c", "2", "--wrap", "sleep 1000", user=u.pw_name, cwd=wd)
        j2 = c.sbatch("-c", "2", "--wrap", "sleep 1000", user=u.pw_name, cwd=wd)
        c.wait_state(j1, "RUNNING")
        self.assertEqual(c.state(j2), "PENDING")
        p = c.run("scancel", "-u", u.pw_name)
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_state(j1, "CANCELLED")
        c.wait_state(j2, "CANCELLED")
        self.assertEqual(c.show_job(j2)["StartTime"], "Unknown")

    def test_signal_without_cancel(self):
        c = self.c
        job = c.sbatch("--wrap", "trap 'echo got-usr1; exit 0' USR1; "
                       "while true; do sleep 0.1; done")
        c.wait_state(job, "RUNNING")
        time.sleep(0.5)  # let the trap be set
        p = c.run("scancel", "-s", "USR1", str(job))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertIn("got-usr1", harness.read(os.path.join(c.work, "slurm-%d.out" % job)))

    def test_cancel_unknown_job(self):
        p = self.c.run("scancel", "999999")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid job id specified", p.stderr)


if __name__ == "__main__":
    harness.main()
