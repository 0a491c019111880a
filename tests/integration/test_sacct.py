#!/usr/bin/env python3
"""sacct: the accounting record of finished jobs, filters, time windows and
layouts, for jobs gone from memory (min_job_age) and across a controller
restart."""

import json
import os
import re

import harness

# min_job_age: 1 so finished jobs leave the controller's memory (and
# squeue) within seconds; sacct must still find them in the database.
CONFIG = harness.DEFAULT_CONFIG.replace("controller:\n",
                                        "controller:\n  min_job_age: 1\n")

ISO = r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$"


class SacctTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        try:
            cls.submit_jobs()
        except Exception:
            cls.c.cleanup()  # tearDownClass does not run when setUpClass fails
            raise

    @classmethod
    def submit_jobs(cls):
        c = cls.c
        u = harness.ensure_test_user()
        d = os.path.join(c.work, "acct")
        os.makedirs(d, exist_ok=True)
        os.chown(d, u.pw_uid, u.pw_gid)
        cls.ok = c.sbatch("-J", "okjob", "-w", "n1", "--mem", "100M", "--wrap", "true")
        cls.bad = c.sbatch("-J", "badjob", "-w", "n1", "--wrap", "exit 3")
        cls.cxl = c.sbatch("-J", "cxljob", "--wrap", "echo up > started; sleep 1000",
                           user=u.pw_name, cwd=d)
        # cancel once the script runs, so SIGTERM is what ends it
        c.wait_file(os.path.join(d, "started"))
        p = c.run("scancel", str(cls.cxl), user=u.pw_name)
        assert p.returncode == 0, p.stderr
        for j in (cls.ok, cls.bad, cls.cxl):
            c.wait_state(j, ("COMPLETED", "FAILED", "CANCELLED"))
        # the record is complete when the node has reported the end of each job
        ids = "%d,%d,%d" % (cls.ok, cls.bad, cls.cxl)
        c.wait_for(lambda: not any(j["completing"] for j in json.loads(
            c.run("sacct", "--json", "-j", ids).stdout)["jobs"]), what="jobs done completing")
        cls.user = u

    def sacct(self, *args, user=None):
        p = self.c.run("sacct", *args, user=user)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def ids(self, *args, user=None):
        """The job ids sacct -X -n -P lists, restricted to this module's jobs."""
        out = self.sacct("-X", "-n", "-P", "-o", "JobID", *args, user=user).split()
        mine = {str(self.ok), str(self.bad), str(self.cxl)}
        return sorted(i for i in out if i in mine)

    def test_default_layout(self):
        # root without -a sees every user's jobs, as Slurm's sacct
        out = self.sacct().splitlines()
        self.assertEqual(out[0], "JobID           JobName  Partition    Account  AllocCPUS"
                                 "      State ExitCode ")
        self.assertEqual(out[1], "------------ ---------- ---------- ---------- ---------- "
                                 "---------- -------- ")
        rows = {l.split()[0]: l.split() for l in out[2:]}
        self.assertEqual(rows[str(self.ok)], [str(self.ok), "okjob", "debug", "1", "COMPLETED",
                                              "0:0"])
        self.assertEqual(rows["%d.batch" % self.ok], ["%d.batch" % self.ok, "batch", "1",
                                                      "COMPLETED", "0:0"])
        self.assertEqual(rows[str(self.bad)][-2:], ["FAILED", "3:0"])
        # "CANCELLED by UID" does not fit the 10 columns: cut and marked with +;
        # the signal that ended it shows in the batch step's exit code only
        self.assertEqual(rows[str(self.cxl)][-2:], ["CANCELLED+", "0:0"])
        self.assertEqual(rows["%d.batch" % self.cxl][-2:], ["CANCELLED", "0:15"])
        # -n: no header lines; -X: no .batch lines
        out = self.sacct("-n").splitlines()
        self.assertFalse(any(l.startswith(("JobID", "---")) for l in out))
        self.assertIn("%d.batch" % self.bad, self.sacct("-n"))
        out = self.sacct("-X")
        self.assertNotIn(".batch", out)
        self.assertIn(str(self.bad), out.split())

    def test_parsable_fields(self):
        out = self.sacct("-P", "-o", "JobID,State,ExitCode,NNodes,NodeList", "-j", str(self.bad))
        self.assertEqual(out.splitlines(), [
            "JobID|State|ExitCode|NNodes|NodeList",
            "%d|FAILED|3:0|1|n1" % self.bad,
            "%d.batch|FAILED|3:0|1|n1" % self.bad,
        ])
        out = self.sacct("-p", "-n", "-X", "-o", "JobID,JobName", "-j", str(self.ok))
        self.assertEqual(out, "%d|okjob|\n" % self.ok)
        out = self.sacct("-P", "-n", "-X", "-o", "State,User,Group,UID", "-j", str(self.cxl))
        u = self.user
        self.assertEqual(out, "CANCELLED by %d|%s|%s|%d\n" % (
            u.pw_uid, u.pw_name, harness.grp.getgrgid(u.pw_gid).gr_name, u.pw_uid))
        # width suffix
        out = self.sacct("-n", "-X", "-o", "JobName%3,State%12", "-j", str(self.ok))
        self.assertEqual(out, "ok+    COMPLETED \n")

    def test_time_fields(self):
        out = self.sacct("-P", "-n", "-X", "-j", str(self.ok), "-o",
                         "Submit,Start,End,Elapsed,ElapsedRaw,Timelimit,ReqMem,NCPUS,WorkDir")
        f = out.strip().split("|")
        for v in f[:3]:
            self.assertRegex(v, ISO)
        self.assertLessEqual(f[0], f[1])
        self.assertLessEqual(f[1], f[2])
        self.assertRegex(f[3], r"^00:00:0\d$")
        self.assertEqual(int(f[3][-2:]), int(f[4]))
        self.assertEqual(f[5:], ["00:30:00", "100M", "1", self.c.work])

    def test_filters(self):
        self.assertEqual(self.ids("-s", "CA"), [str(self.cxl)])
        self.assertEqual(self.ids("-s", "failed,CD"), sorted([str(self.ok), str(self.bad)]))
        self.assertEqual(self.ids("-u", self.user.pw_name), [str(self.cxl)])
        self.assertEqual(self.ids("-u", "root"), sorted([str(self.ok), str(self.bad)]))
        self.assertEqual(self.ids("-j", "%d,%d" % (self.ok, self.bad)),
                         sorted([str(self.ok), str(self.bad)]))
        # a user without -a sees only their own jobs; with -a, everyone's
        self.assertEqual(self.ids(user=self.user.pw_name), [str(self.cxl)])
        self.assertEqual(self.ids("-a", user=self.user.pw_name),
                         sorted([str(self.ok), str(self.bad), str(self.cxl)]))
        doc = json.loads(self.sacct("--json", "-j", str(self.bad)))
        self.assertEqual([j["job_id"] for j in doc["jobs"]], [self.bad])
        self.assertEqual(doc["jobs"][0]["exit_status"], 3)
        self.assertEqual(doc["jobs"][0]["state"], "FAILED")
        p = self.c.run("sacct", "-o", "NoSuchField")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid field", p.stderr)
        p = self.c.run("sacct", "-s", "NOSUCHSTATE")
        self.assertEqual(p.returncode, 1)

    def test_time_window(self):
        all3 = sorted([str(self.ok), str(self.bad), str(self.cxl)])
        self.assertEqual(self.ids("-S", "now-1hour"), all3)
        self.assertEqual(self.ids("-S", "today", "-E", "now"), all3)
        # ended before the window opens / submitted after it closes
        self.assertEqual(self.ids("-S", "now+1hour"), [])
        self.assertEqual(self.ids("-S", "2000-01-01", "-E", "2000-01-02T00:00"), [])
        # -j without -S: no window
        self.assertEqual(self.ids("-j", str(self.ok)), [str(self.ok)])
        p = self.c.run("sacct", "-S", "now", "-E", "now-1day")
        self.assertEqual(p.returncode, 1)
        self.assertIn("after end time", p.stderr)
        p = self.c.run("sacct", "-S", "yesterdayish")
        self.assertEqual(p.returncode, 1)

    def test_record_outlives_memory_and_restart(self):
        c = self.c
        # past min_job_age the controller forgets the job: squeue no longer lists it
        c.wait_for(lambda: str(self.bad) not in c.run("squeue", "-h", "-t", "all", "-o",
                                                      "%i").stdout.split(),
                   what="job %d purged from memory" % self.bad)
        self.assertIn("%d|FAILED|3:0" % self.bad,
                      self.sacct("-X", "-n", "-P", "-o", "JobID,State,ExitCode").split())
        c.daemon("stop-daemon", "ctld")
        c.daemon("start-daemon", "ctld")
        c.wait_for(lambda: c.run("scontrol", "ping").returncode == 0, what="ctld back")
        out = self.sacct("-X", "-n", "-P", "-o", "JobID,State,ExitCode")
        self.assertIn("%d|FAILED|3:0" % self.bad, out.split())
        self.assertIn("%d|COMPLETED|0:0" % self.ok, out.split())
        self.assertIn("%d|CANCELLED by %d|0:0" % (self.cxl, self.user.pw_uid),
                      out.splitlines())
        out = self.sacct("-n", "-P", "-o", "JobID,State,ExitCode", "-j", str(self.cxl))
        self.assertEqual(out.splitlines(), ["%d|CANCELLED by %d|0:0" % (self.cxl, self.user.pw_uid),
                                            "%d.batch|CANCELLED|0:15" % self.cxl])


if __name__ == "__main__":
    harness.main()
