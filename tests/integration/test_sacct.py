#!/usr/bin/env python3
"""sacct: the accounting record of finished jobs, filters and layouts,
across a controller restart."""

import json
import os

import harness


class SacctTest(harness.ClusterTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        c = cls.c
        u = harness.ensure_test_user()
        d = os.path.join(c.work, "acct")
        os.makedirs(d, exist_ok=True)
        os.chown(d, u.pw_uid, u.pw_gid)
        cls.ok = c.sbatch("-J", "okjob", "--wrap", "true")
        cls.bad = c.sbatch("-J", "badjob", "--wrap", "exit 3")
        cls.cxl = c.sbatch("-J", "cxljob", "--wrap", "sleep 1000", user=u.pw_name, cwd=d)
        c.wait_state(cls.cxl, "RUNNING")
        c.run("scancel", str(cls.cxl), user=u.pw_name)
        for j in (cls.ok, cls.bad, cls.cxl):
            c.wait_state(j, ("COMPLETED", "FAILED", "CANCELLED"))
        cls.user = u

    def sacct(self, *args, user=None):
        p = self.c.run("sacct", *args, user=user)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_default_layout(self):
        out = self.sacct("-a").splitlines()
        self.assertEqual(out[0].split(), ["JobID", "JobName", "Partition", "Account",
                                          "AllocCPUS", "State", "ExitCode"])
        self.assertTrue(out[1].startswith("------------ ----------"))
        rows = {l.split()[0]: l.split() for l in out[2:]}
        self.assertEqual(rows[str(self.ok)][-2:], ["COMPLETED", "0:0"])
        self.assertEqual(rows["%d.batch" % self.ok][1], "batch")
        self.assertEqual(rows[str(self.bad)][-2:], ["FAILED", "3:0"])

    def test_parsable_fields(self):
        out = self.sacct("-a", "-X", "-P", "-n", "-o", "JobID,JobName,State,ExitCode,NNodes,NodeList")
        lines = {l.split("|")[0]: l.split("|") for l in out.splitlines()}
        self.assertEqual(lines[str(self.bad)][1:5], ["badjob", "FAILED", "3:0", "1"])
        self.assertRegex(lines[str(self.bad)][5], r"^n[12]$")
        self.assertEqual(lines[str(self.cxl)][2], "CANCELLED by %d" % self.user.pw_uid)
        self.assertNotIn("%d.batch" % self.ok, lines)
        out = self.sacct("-a", "-X", "-p", "-n", "-o", "JobID", "-j", str(self.ok))
        self.assertEqual(out, "%d|\n" % self.ok)

    def test_filters(self):
        out = self.sacct("-a", "-X", "-n", "-P", "-o", "JobID", "-s", "CA")
        self.assertEqual(out.split(), [str(self.cxl)])
        out = self.sacct("-X", "-n", "-P", "-o", "JobID", "-u", self.user.pw_name)
        self.assertEqual(out.split(), [str(self.cxl)])
        # without -a a user sees only their own jobs
        out = self.sacct("-X", "-n", "-P", "-o", "JobID", user=self.user.pw_name)
        self.assertEqual(out.split(), [str(self.cxl)])
        out = self.sacct("-X", "-n", "-P", "-o", "JobID", "-j", "%d,%d" % (self.ok, self.bad))
        self.assertEqual(sorted(out.split()), sorted([str(self.ok), str(self.bad)]))
        doc = json.loads(self.sacct("--json", "-j", str(self.bad)))
        self.assertEqual(doc["jobs"][0]["exit_status"], 3)
        p = self.c.run("sacct", "-o", "NoSuchField")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid field", p.stderr)

    def test_record_survives_restart(self):
        c = self.c
        c.daemon("stop-daemon", "ctld")
        c.daemon("start-daemon", "ctld")
        c.wait_for(lambda: c.run("scontrol", "ping").returncode == 0, what="ctld back")
        out = self.sacct("-a", "-X", "-n", "-P", "-o", "JobID,State")
        self.assertIn("%d|FAILED" % self.bad, out.split())


if __name__ == "__main__":
    harness.main()
