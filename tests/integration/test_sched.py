#!/usr/bin/env python3
"""Scheduling order: priority (age, size, nice), EASY backfill, expected
start times, pending reasons."""

import re
import time

import harness


class SchedTest(harness.ClusterTest):

    def finish(self, *jobs):
        for j in jobs:
            self.c.run("scancel", str(j))
        for j in jobs:
            self.c.wait_state(j, ("CANCELLED", "COMPLETED", "FAILED"))

    def reason(self, job):
        return self.c.show_job(job)["Reason"]

    def test_easy_backfill_never_delays_the_top_job(self):
        c = self.c
        a = c.sbatch("-w", "n1", "-c", "2", "-t", "2:00", "--wrap", "sleep 1000")
        b = c.sbatch("-w", "n2", "-c", "1", "-t", "10:00", "--wrap", "sleep 1000")
        c.wait_state(a, "RUNNING")
        c.wait_state(b, "RUNNING")
        # top job: both whole nodes, possible once b ends (its limit: 10 min)
        top = c.sbatch("-N", "2", "-c", "2", "-t", "5:00", "--wrap", "true")
        # fits in n2's free CPU and ends before top's reserved start: backfilled
        short = c.sbatch("-c", "1", "-t", "1:00", "--wrap", "sleep 1000")
        # would hold n2's CPU past the reservation: must wait
        long_ = c.sbatch("-c", "1", "-t", "20:00", "--wrap", "sleep 1000")
        self.assertEqual(c.wait_state(short, ("RUNNING",)), "RUNNING")
        c.wait_for(lambda: self.reason(long_) == "Priority", what="long job waits on Priority")
        self.assertEqual(c.state(long_), "PENDING")
        self.assertEqual(c.state(top), "PENDING")
        self.assertEqual(self.reason(top), "Resources")
        # the top job's expected start: b's start + 10 minutes
        b_start = c.show_job(b)["StartTime"]
        p = c.run("squeue", "--start", "-h", "-j", str(top), "-o", "%i %S")
        self.assertEqual(p.returncode, 0, p.stderr)
        jid, start = p.stdout.split()
        self.assertEqual(int(jid), top)
        t_b = time.mktime(time.strptime(b_start, "%Y-%m-%dT%H:%M:%S"))
        t_top = time.mktime(time.strptime(start, "%Y-%m-%dT%H:%M:%S"))
        self.assertAlmostEqual(t_top - t_b, 600, delta=2)
        p = c.run("squeue", "--start")
        self.assertIn("START_TIME", p.stdout.splitlines()[0])
        self.finish(a, b, short, long_, top)

    def test_nice_lowers_priority(self):
        c = self.c
        blocker = c.sbatch("-N", "2", "-c", "2", "--wrap", "sleep 1000")
        c.wait_state(blocker, "RUNNING")
        nice = c.sbatch("-N", "2", "-c", "2", "--nice=500", "--wrap", "sleep 1000")
        plain = c.sbatch("-N", "2", "-c", "2", "--wrap", "sleep 1000")
        c.wait_for(lambda: self.reason(nice) in ("Priority", "Resources") and
                   self.reason(plain) in ("Priority", "Resources"), what="both evaluated")
        p = c.run("squeue", "-h", "-t", "PD", "-o", "%i %Q")
        prio = dict(l.split() for l in p.stdout.splitlines())
        self.assertGreater(int(prio[str(plain)]), int(prio[str(nice)]))
        # sprio-like detail: the parts add up to the priority
        out = c.run("scontrol", "show", "job", str(plain)).stdout
        m = re.search(r"PriorityFactors: Age=(\d+) JobSize=(\d+) Nice=(-?\d+) PartitionTier=1", out)
        self.assertTrue(m, out)
        self.assertEqual(1 + int(m.group(1)) + int(m.group(2)) - int(m.group(3)),
                         int(prio[str(plain)]))
        self.assertIn("Nice=500", c.run("scontrol", "show", "job", str(nice)).stdout)
        self.finish(blocker)
        self.assertEqual(c.wait_state(plain, "RUNNING"), "RUNNING")
        self.assertEqual(c.state(nice), "PENDING")
        self.finish(plain, nice)

    def test_negative_nice_needs_an_admin(self):
        u = harness.ensure_test_user()
        p = self.c.run("sbatch", "--nice=-10", "--wrap", "true", user=u.pw_name, cwd="/tmp")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)

    def test_partition_time_limit_reason(self):
        c = self.c
        j = c.sbatch("-t", "2:00:00", "--wrap", "true")
        c.wait_for(lambda: self.reason(j) == "PartitionTimeLimit", what="PartitionTimeLimit")
        self.assertEqual(c.state(j), "PENDING")
        self.finish(j)

    def test_test_only_estimates_and_stores_nothing(self):
        c = self.c
        p = c.run("sbatch", "--test-only", "-c", "2", "--wrap", "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"sbatch: Job \d+ to start at \S+ using 2 processors on "
                                   r"nodes n[12] in partition debug")
        blocker = c.sbatch("-N", "2", "-c", "2", "-t", "10:00", "--wrap", "sleep 1000")
        c.wait_state(blocker, "RUNNING")
        start = time.mktime(time.strptime(c.show_job(blocker)["StartTime"], "%Y-%m-%dT%H:%M:%S"))
        p = c.run("sbatch", "--test-only", "-N", "2", "--wrap", "true")
        m = re.search(r"to start at (\S+) ", p.stderr)
        self.assertTrue(m, p.stderr)
        when = time.mktime(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S"))
        self.assertAlmostEqual(when - start, 600, delta=2)
        self.assertEqual(c.run("squeue", "-h", "-t", "PD").stdout.strip(), "")
        self.finish(blocker)

    def test_req_node_not_avail(self):
        c = self.c
        p = c.run("scontrol", "update", "NodeName=n1", "State=DRAIN", "Reason=test")
        self.assertEqual(p.returncode, 0, p.stderr)
        j = c.sbatch("-w", "n1", "--wrap", "true")
        c.wait_for(lambda: self.reason(j) == "ReqNodeNotAvail", what="ReqNodeNotAvail")
        c.run("scontrol", "update", "NodeName=n1", "State=RESUME")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")

    def test_held_job_waits(self):
        c = self.c
        j = c.sbatch("-H", "--wrap", "true")
        c.wait_for(lambda: self.reason(j) == "JobHeldUser", what="JobHeldUser")
        self.finish(j)


class EventDrivenSchedTest(harness.ClusterTest):
    """With the scheduling timer as good as off (sched_interval: one hour;
    each wait below is 30 s at most), every start comes from an event: a
    submit, a completion, a release, a cancellation.  (With a short queue
    the ctld schedules in the turn of the event itself, before its commit.)"""
    config = harness.DEFAULT_CONFIG.replace("sched_interval: 1", "sched_interval: 3600") \
        .replace("nodes: n[1-2]\n    cpus: 2", "nodes: n1\n    cpus: 1")

    def test_events_start_jobs_without_the_timer(self):
        c = self.c
        done = ("COMPLETED", "FAILED", "CANCELLED")
        a = c.sbatch("--wrap", "sleep 1")  # the submit starts it
        b = c.sbatch("--wrap", "true")     # waits for a's only CPU
        self.assertEqual(c.wait_state(b, done), "COMPLETED")  # a's end starts it
        self.assertEqual(c.state(a), "COMPLETED")

        h = c.sbatch("-H", "--wrap", "true")
        c.wait_for(lambda: c.show_job(h)["Reason"] == "JobHeldUser", what="JobHeldUser")
        p = c.run("scontrol", "release", str(h))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.wait_state(h, done), "COMPLETED")  # the release starts it

        r = c.sbatch("--wrap", "sleep 300")
        c.wait_state(r, "RUNNING")
        w = c.sbatch("--wrap", "true")
        c.wait_for(lambda: c.show_job(w)["Reason"] == "Resources", what="Reason=Resources")
        c.run("scancel", str(r))
        self.assertEqual(c.wait_state(w, done), "COMPLETED")  # the cancellation starts it


if __name__ == "__main__":
    harness.main()
