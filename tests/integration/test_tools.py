#!/usr/bin/env python3
"""Tool options workflow managers rely on: --json outputs, sbatch -W,
--begin, --export, scancel filters, scontrol show hostnames/hostlist."""

import json
import os
import re
import time

import harness


class ToolsTest(harness.ClusterTest):

    def test_json_outputs(self):
        c = self.c
        j = c.sbatch("-J", "jsonjob", "--wrap", "sleep 30")
        c.wait_state(j, "RUNNING")
        p = c.run("squeue", "--json")
        self.assertEqual(p.returncode, 0, p.stderr)
        doc = json.loads(p.stdout)
        jobs = {x["job_id"]: x for x in doc["jobs"]}
        self.assertEqual(jobs[j]["name"], "jsonjob")
        self.assertEqual(jobs[j]["state"], "RUNNING")
        # laid out as jansson's JSON_INDENT(2) (Python's indent=2 is the same
        # layout), nested values (steps, priority factors) too
        held = c.sbatch("--hold", "--wrap", "true")
        p = c.run("squeue", "--json")
        doc = json.loads(p.stdout)
        self.assertTrue(any("priority_factors" in x for x in doc["jobs"]))
        self.assertEqual(p.stdout, json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        c.run("scancel", str(held))
        p = c.run("sinfo", "--json")
        doc = json.loads(p.stdout)
        self.assertEqual(sorted(n["name"] for n in doc["nodes"]), ["n1", "n2"])
        self.assertEqual(doc["partitions"][0]["name"], "debug")
        c.run("scancel", str(j))

    def test_completing_state(self):
        """A cancelled job whose processes ignore SIGTERM is COMPLETING (CG)
        until kill_wait's SIGKILL: squeue shows it by default and with -t CG,
        as Slurm's does, and -t CA still matches its base state."""
        c = self.c
        j = c.sbatch("-o", "/dev/null", "--wrap", "trap '' TERM; sleep 60")
        c.wait_state(j, "RUNNING")
        time.sleep(0.5)  # the shell has set its trap
        c.run("scancel", str(j))
        p = c.run("squeue", "-h", "-o", "%i %t %T")
        self.assertIn("%d CG COMPLETING" % j, p.stdout)
        for states, shown in (("CG", True), ("COMPLETING", True), ("PD,R,CG", True),
                              ("CA", True), ("R", False), ("PD", False)):
            p = c.run("squeue", "-h", "-t", states, "-o", "%i")
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertEqual(str(j) in p.stdout.split(), shown, states)
        c.wait_for(lambda: c.run("squeue", "-h", "-j", str(j), "-o", "%t").stdout.strip() == "CA",
                   what="the kill after kill_wait")
        self.assertNotIn(str(j), c.run("squeue", "-h", "-o", "%i").stdout.split())

    def test_wait_returns_the_exit_code(self):
        c = self.c
        p = c.run("sbatch", "-W", "--wrap", "exit 7")
        self.assertEqual(p.returncode, 7, p.stderr)
        self.assertIn("Submitted batch job", p.stdout)
        p = c.run("sbatch", "-W", "--wrap", "true")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_begin_time(self):
        c = self.c
        t0 = time.time()
        j = c.sbatch("--begin=now+3", "--wrap", "true")
        c.wait_for(lambda: c.show_job(j)["Reason"] == "BeginTime", what="BeginTime reason")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        start = time.mktime(time.strptime(c.show_job(j)["StartTime"], "%Y-%m-%dT%H:%M:%S"))
        self.assertGreaterEqual(start, int(t0) + 2)
        p = c.run("sbatch", "--begin=whenever", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--begin", p.stderr)

    def test_export(self):
        c = self.c
        env = {"SL_KEEP": "kept", "SL_DROP": "dropped"}
        p = c.run("sbatch", "--parsable", "--export=SL_KEEP,EXTRA=yes", "--wrap",
                  "echo K=$SL_KEEP D=$SL_DROP E=$EXTRA J=$SLURM_JOB_ID", env=env)
        j = int(p.stdout.strip())
        c.wait_state(j, "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % j)).strip(),
                         "K=kept D= E=yes J=%d" % j)
        p = c.run("sbatch", "--parsable", "--export=ALL", "--wrap", "echo D=$SL_DROP", env=env)
        j = int(p.stdout.strip())
        c.wait_state(j, "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % j)).strip(),
                         "D=dropped")

    def test_scancel_filters(self):
        c = self.c
        a = c.sbatch("-J", "keepme", "--wrap", "sleep 100")
        b = c.sbatch("-J", "dropme", "--wrap", "sleep 100")
        c.wait_state(a, "RUNNING")
        c.wait_state(b, "RUNNING")
        p = c.run("scancel", "-n", "dropme")
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_state(b, "CANCELLED")
        self.assertEqual(c.state(a), "RUNNING")
        p = c.run("scancel", "-p", "debug", "-t", "RUNNING")
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_state(a, "CANCELLED")

    def test_squeue_format_and_name(self):
        c = self.c
        j = c.sbatch("-J", "fmtjob", "--wrap", "sleep 30")
        c.wait_state(j, "RUNNING")
        p = c.run("squeue", "-h", "-n", "fmtjob", "-O", "jobid:8,name:10,state")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout, "%-8d%-10s%-20s\n" % (j, "fmtjob", "RUNNING"))
        # %F/%K: the array's id and task ids (a plain job: its own id, N/A)
        p = c.run("squeue", "-h", "-j", str(j), "-o", "%F %K")
        self.assertEqual(p.stdout.split(), [str(j), "N/A"], p.stderr)
        a = c.sbatch("--hold", "--array=2-4", "-J", "fmtarr", "--wrap", "true")
        p = c.run("squeue", "-h", "-n", "fmtarr", "-o", "%F %K")
        self.assertEqual(p.stdout.split(), [str(a), "2-4"], p.stderr)
        p = c.run("squeue", "-h", "-r", "-n", "fmtarr", "-o", "%F %K")
        self.assertEqual(p.stdout.split(), [str(a), "2", str(a), "3", str(a), "4"], p.stderr)
        c.run("scancel", str(a))
        p = c.run("squeue", "-h", "-n", "nosuchname")
        self.assertEqual(p.stdout, "")
        p = c.run("squeue", "-O", "bogus")
        self.assertEqual(p.returncode, 1)
        c.run("scancel", str(j))
        c.wait_state(j, "CANCELLED")
        p = c.run("sacct", "-a", "-X", "-n", "-P", "-o", "JobID", "--name", "fmtjob")
        self.assertEqual(p.stdout.split(), [str(j)])

    def test_show_config(self):
        p = self.c.run("scontrol", "show", "config")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stdout, r"ClusterName\s+= itest")
        self.assertRegex(p.stdout, r"KillWait\s+= 2 sec")
        self.assertIn(self.c.conf, p.stdout)
        conf = harness.read(self.c.conf)
        port = re.search(r"(?m)^  tools_port: '?(\d+)", conf).group(1)
        self.assertRegex(p.stdout, r"SlurmctldToolsPort\s+= %s\n" % port)
        self.assertRegex(p.stdout, r"SlurmctldToolsSocket\s+= %s\n" %
                         re.escape(os.path.join(self.c.dir, "ctld.sock")))

    def test_scontrol_hostnames(self):
        p = self.c.run("scontrol", "show", "hostnames", "n[1-3],m1")
        self.assertEqual(p.stdout.split(), ["n1", "n2", "n3", "m1"])
        p = self.c.run("scontrol", "show", "hostlist", "n1,n2,n3,m1")
        self.assertEqual(p.stdout.strip(), "n[1-3],m1")


if __name__ == "__main__":
    harness.main()
