#!/usr/bin/env python3
"""Job arrays: task ids and SLURM_ARRAY_* variables, %A/%a output names,
throttle, squeue's compact and -r views, scancel of tasks and of arrays,
and a 100,000-task array submitted as one cheap request."""

import os
import re
import time

import harness


class ArrayTest(harness.ClusterTest):

    def out(self, name):
        return harness.read(os.path.join(self.c.work, name))

    def test_tasks_env_and_output_names(self):
        c = self.c
        a = c.sbatch("--array=1,3,5", "--wrap",
                     "echo $SLURM_ARRAY_JOB_ID $SLURM_ARRAY_TASK_ID $SLURM_ARRAY_TASK_COUNT "
                     "$SLURM_ARRAY_TASK_MIN $SLURM_ARRAY_TASK_MAX")
        for t in (1, 3, 5):
            path = os.path.join(c.work, "slurm-%d_%d.out" % (a, t))
            c.wait_file(path)
            self.assertEqual(self.out("slurm-%d_%d.out" % (a, t)).split(),
                             [str(a), str(t), "3", "1", "5"])
        p = c.run("squeue", "-h", "-t", "all", "-j", str(a), "-o", "%i %K %T")
        c.wait_for(lambda: sorted(l.split()[0] for l in c.run(
            "squeue", "-h", "-t", "CD", "-j", str(a), "-o", "%i").stdout.split()) ==
                   sorted("%d_%d" % (a, t) for t in (1, 3, 5)), what="3 tasks completed")

    def test_step_syntax(self):
        c = self.c
        a = c.sbatch("--array=0-15:4", "-o", "step-%A-%a.txt", "--wrap", "echo $SLURM_ARRAY_TASK_ID")
        for t in (0, 4, 8, 12):
            c.wait_file(os.path.join(c.work, "step-%d-%d.txt" % (a, t)))
        self.assertFalse(os.path.exists(os.path.join(c.work, "step-%d-1.txt" % a)))

    def test_throttle_and_views(self):
        c = self.c
        a = c.sbatch("--array=0-5%2", "--wrap", "sleep 1")
        max_running = 0
        saw_compact = False
        deadline = time.time() + 40
        while time.time() < deadline:
            p = c.run("squeue", "-h", "-t", "PD,R", "-j", str(a), "-o", "%i %t")
            lines = [l.split() for l in p.stdout.splitlines()]
            running = [l for l in lines if l[1] == "R"]
            max_running = max(max_running, len(running))
            if any(re.match(r"^%d_\[[0-9,-]+%%2\]$" % a, l[0]) for l in lines if l[1] == "PD"):
                saw_compact = True
                r = c.run("squeue", "-h", "-r", "-t", "PD", "-j", str(a), "-o", "%i")
                for line in r.stdout.split():
                    self.assertRegex(line, r"^%d_\d+$" % a)
            if not lines:
                break
            time.sleep(0.1)
        self.assertLessEqual(max_running, 2)
        self.assertEqual(max_running, 2)
        self.assertTrue(saw_compact, "pending tasks were never shown compactly")
        p = c.run("squeue", "-h", "-t", "CD", "-j", str(a), "-o", "%i")
        self.assertEqual(len(p.stdout.split()), 6)

    def test_cancel_tasks_and_arrays(self):
        c = self.c
        a = c.sbatch("--array=0-9", "-H", "--wrap", "true")
        p = c.run("scancel", "%d_[3-9]" % a)
        self.assertEqual(p.returncode, 0, p.stderr)
        info = c.show_job(a)
        self.assertEqual(info["ArrayTaskId"], "0-2")
        p = c.run("scontrol", "release", str(a))
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_for(lambda: len(c.run("squeue", "-h", "-t", "CD", "-j", str(a),
                                     "-o", "%i").stdout.split()) == 3, what="3 tasks ran")
        b = c.sbatch("--array=0-3", "--wrap", "sleep 1000")
        c.wait_for(lambda: len(c.run("squeue", "-h", "-t", "R", "-j", str(b),
                                     "-o", "%i").stdout.split()) >= 1, what="tasks running")
        p = c.run("scancel", str(b))
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_for(lambda: c.run("squeue", "-h", "-t", "PD,R", "-j", str(b),
                                 "-o", "%i").stdout.strip() == "", what="array gone")

    def test_huge_array_is_one_cheap_request(self):
        c = self.c
        t0 = time.time()
        a = c.sbatch("--array=0-99999", "-H", "--wrap", "true")
        elapsed = time.time() - t0
        print("100000-task array submitted in %.3fs" % elapsed)
        p = c.run("squeue", "-h", "-j", str(a), "-o", "%i")
        self.assertEqual(p.stdout.strip(), "%d_[0-99999]" % a)
        p = c.run("scancel", str(a))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.state(a), "CANCELLED")

    def test_bad_array_spec(self):
        for spec in ("5-1", "x", "0-2000000", "1,,2"):
            p = self.c.run("sbatch", "--array=" + spec, "--wrap", "true")
            self.assertEqual(p.returncode, 1, spec)
            self.assertIn("Invalid job array specification", p.stderr)


if __name__ == "__main__":
    harness.main()
