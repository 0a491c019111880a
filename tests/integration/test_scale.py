#!/usr/bin/env python3
"""A queue bigger than one request may be: squeue, squeue --json and sacct
over thousands of jobs (replies of many MiB), filled through the pipelined
API path (tests/bench/submit_bench).  The smoke run of the scale benchmarks
(tests/bench/suite.py) for what the controller must still answer."""

import json
import os
import subprocess

import harness

SUBMIT_BENCH = os.path.join(harness.BUILDDIR, "tests", "bench", "submit_bench")
JOBS = 8000  # ~1.4 KiB each in a query reply: well past the 4 MiB request limit


class ScaleTest(harness.ClusterTest):

    def test_big_queue_queries(self):
        c = self.c
        p = subprocess.run([SUBMIT_BENCH, "-n", str(JOBS), "--hold"], cwd=c.work, env=c.env(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        print(p.stdout.strip())
        p = c.run("squeue", "-h", "-o", "%i %t %r", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = p.stdout.splitlines()
        self.assertEqual(len(lines), JOBS)
        self.assertEqual({tuple(l.split()[1:]) for l in lines}, {("PD", "JobHeldUser")})
        self.assertEqual(len({l.split()[0] for l in lines}), JOBS)  # no duplicate ids
        p = c.run("squeue", "--json", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertGreater(len(p.stdout), 4 * 1024 * 1024)
        self.assertEqual(len(json.loads(p.stdout)["jobs"]), JOBS)
        p = c.run("sacct", "-X", "-n", "-P", "-o", "JobID,State", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(len(p.stdout.splitlines()), JOBS)
        p = c.run("scancel", "-u", "root", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_for(lambda: c.run("squeue", "-h", "-o", "%i", timeout=300).stdout.strip() == "",
                   timeout=120, what="every job cancelled")


if __name__ == "__main__":
    harness.main()
