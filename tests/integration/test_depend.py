#!/usr/bin/env python3
"""Job dependencies: after, afterany, afterok, afternotok, singleton, '?'
lists, DependencyNeverSatisfied and --kill-on-invalid-dep."""

import harness


class DependTest(harness.ClusterTest):

    def reason(self, j):
        return self.c.show_job(j)["Reason"]

    def test_afterok_waits_then_runs(self):
        c = self.c
        a = c.sbatch("--wrap", "sleep 2")
        b = c.sbatch("-d", "afterok:%d" % a, "--wrap", "true")
        c.wait_for(lambda: self.reason(b) == "Dependency", what="Dependency reason")
        self.assertEqual(c.show_job(b)["Dependency"], "afterok:%d" % a)
        self.assertEqual(c.wait_state(a, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertEqual(c.wait_state(b, ("COMPLETED", "FAILED")), "COMPLETED")

    def test_afterok_on_failure_is_never_satisfied(self):
        c = self.c
        a = c.sbatch("--wrap", "exit 1")
        b = c.sbatch("-d", "afterok:%d" % a, "--wrap", "true")
        c.wait_state(a, "FAILED")
        c.wait_for(lambda: self.reason(b) == "DependencyNeverSatisfied", what="never satisfied")
        self.assertEqual(c.state(b), "PENDING")
        c.run("scancel", str(b))
        k = c.sbatch("-d", "afterok:%d" % a, "--kill-on-invalid-dep=yes", "--wrap", "true")
        self.assertEqual(c.wait_state(k, ("CANCELLED",)), "CANCELLED")

    def test_afternotok_and_afterany(self):
        c = self.c
        a = c.sbatch("--wrap", "exit 3")
        notok = c.sbatch("-d", "afternotok:%d" % a, "--wrap", "true")
        anyj = c.sbatch("-d", "afterany:%d" % a, "--wrap", "true")
        self.assertEqual(c.wait_state(notok, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertEqual(c.wait_state(anyj, ("COMPLETED", "FAILED")), "COMPLETED")
        ok = c.sbatch("--wrap", "true")
        c.wait_state(ok, "COMPLETED")
        never = c.sbatch("-d", "afternotok:%d" % ok, "--wrap", "true")
        c.wait_for(lambda: self.reason(never) == "DependencyNeverSatisfied", what="never")
        c.run("scancel", str(never))

    def test_after_start_and_any_list(self):
        c = self.c
        a = c.sbatch("--wrap", "sleep 30")
        b = c.sbatch("-d", "after:%d" % a, "--wrap", "true")
        self.assertEqual(c.wait_state(b, ("COMPLETED", "FAILED")), "COMPLETED")
        f = c.sbatch("--wrap", "exit 1")
        c.wait_state(f, "FAILED")
        # either term may satisfy: the afterok is never met, the afterany is
        d = c.sbatch("-d", "afterok:%d?afterany:%d" % (f, f), "--wrap", "true")
        self.assertEqual(c.wait_state(d, ("COMPLETED", "FAILED")), "COMPLETED")
        c.run("scancel", str(a))

    def test_singleton(self):
        c = self.c
        a = c.sbatch("-J", "solo", "-d", "singleton", "--wrap", "sleep 2")
        b = c.sbatch("-J", "solo", "-d", "singleton", "--wrap", "true")
        c.wait_state(a, "RUNNING")
        c.wait_for(lambda: self.reason(b) == "Dependency", what="singleton waits")
        self.assertEqual(c.wait_state(b, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertGreaterEqual(c.show_job(b)["StartTime"], c.show_job(a)["EndTime"])

    def test_bad_dependencies_are_refused(self):
        for spec in ("afterok:999999", "afterbogus:1", "afterok", "afterok:abc",
                     "afterok:1,afterany:1?after:1"):
            p = self.c.run("sbatch", "-d", spec, "--wrap", "true")
            self.assertEqual(p.returncode, 1, spec)
            self.assertIn("Job dependency problem", p.stderr, spec)


if __name__ == "__main__":
    harness.main()
