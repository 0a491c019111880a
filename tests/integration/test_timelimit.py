#!/usr/bin/env python3
"""Time limits: SIGTERM at the limit, SIGKILL after kill_wait, state
TIMEOUT; --signal warns the job before its limit."""

import os
import time

import harness


class TimeLimitTest(harness.ClusterTest):

    def test_timeout_kills_and_records_timeout(self):
        c = self.c
        # the job ignores SIGTERM: only the SIGKILL after kill_wait ends it
        j = c.sbatch("-t", "0:02", "--wrap",
                     "trap 'echo got-term' TERM; echo started; while true; do sleep 0.1; done")
        c.wait_state(j, "RUNNING")
        t0 = time.time()
        self.assertEqual(c.wait_state(j, ("TIMEOUT", "COMPLETED", "FAILED"), timeout=30),
                         "TIMEOUT")
        info = c.show_job(j)
        self.assertEqual(info["Reason"], "TimeLimit")
        out = os.path.join(c.work, "slurm-%d.out" % j)
        c.wait_for(lambda: "got-term" in harness.read(out), timeout=10, what="SIGTERM seen")
        # SIGKILL follows within kill_wait (2 s here)
        c.wait_for(lambda: c.run("sinfo", "-h", "-o", "%t").stdout.strip() == "idle",
                   timeout=15, what="nodes idle after the kill")
        self.assertLess(time.time() - t0, 20)

    def test_signal_before_time_limit(self):
        c = self.c
        j = c.sbatch("-t", "0:06", "--signal=B:USR1@4", "--wrap",
                     "trap 'echo warned; exit 0' USR1; while true; do sleep 0.1; done")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "TIMEOUT", "FAILED"), timeout=30),
                         "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % j)), "warned\n")
        p = c.run("sbatch", "--signal=NOPE@10", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--signal", p.stderr)


if __name__ == "__main__":
    harness.main()
