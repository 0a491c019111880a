#!/usr/bin/env python3
"""The daemons under valgrind's memcheck: a cluster whose controller and
node daemons (and the job supervisors they fork) run under valgrind goes
through batch jobs, an array, a failure, a cancel, a time limit, an
interactive step, a requeue, queries and a reconfigure; then it stops, and
every valgrind log must report no error and no definitely lost block.

The tools are not run under valgrind here: they are short-lived and their
parsers are fuzzed (tests/fuzz)."""

import glob
import json
import os
import re
import shutil
import subprocess
import sys
import unittest

import harness

CONFIG = harness.DEFAULT_CONFIG.replace("  message_timeout: 5", "  message_timeout: 30")


class ValgrindTest(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        os.environ["SLURMISH_VALGRIND"] = "1"
        cls.c = harness.Cluster(CONFIG)
        try:
            cls.c.launcher("up", "--config", cls.c.config_src, "--timeout", "120")
            cls.c.started = True
        except Exception:
            cls.c.print_logs()
            cls.c.cleaned = True  # keep nothing running; the directory goes below
            cls.c.launcher("down", check=False)
            shutil.rmtree(cls.c.dir, ignore_errors=True)
            raise
        harness.atexit.register(cls.c.cleanup)

    @classmethod
    def tearDownClass(cls):
        os.environ.pop("SLURMISH_VALGRIND", None)
        cls.c.cleanup()

    def test_daemons_clean_under_memcheck(self):
        c = self.c
        ok = c.sbatch("-o", "ok.out", "--wrap", "echo hello")
        bad = c.sbatch("-o", "/dev/null", "--wrap", "exit 3")
        arr = c.sbatch("--array=1-3", "-o", "/dev/null", "--wrap", "true")
        slow = c.sbatch("-o", "/dev/null", "--wrap", "sleep 60")
        tl = c.sbatch("-t", "0:02", "-o", "/dev/null", "--wrap", "sleep 60")
        c.wait_state(slow, "RUNNING", timeout=90)
        for args in (("squeue",), ("squeue", "-r", "--json"), ("sinfo", "-N", "-l"),
                     ("scontrol", "show", "job", str(ok)), ("scontrol", "show", "node"),
                     ("sacct", "-a", "-X")):
            p = c.run(*args, timeout=90)
            self.assertEqual(p.returncode, 0, "%s: %s" % (args, p.stderr))
        p = c.run("srun", "-n2", "-N2", "echo", "step", timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stdout.split(), ["step", "step"])
        c.run("scancel", str(slow))
        c.run("scontrol", "requeue", str(ok))
        p = c.run("scontrol", "reconfigure", timeout=90)
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_state(bad, "FAILED", timeout=120)
        c.wait_state(slow, "CANCELLED", timeout=120)
        c.wait_state(tl, "TIMEOUT", timeout=180)
        for t in (1, 2, 3):
            c.wait_state("%d_%d" % (arr, t), "COMPLETED", timeout=120)
        c.wait_state(ok, "COMPLETED", timeout=180)
        c.wait_nodes_idle(timeout=120)
        with open(os.path.join(c.dir, "cluster.json")) as f:
            daemons = {k: v["pid"] for k, v in json.load(f)["procs"].items() if k != "munged"}
        # SIGTERM: the daemons exit normally, so valgrind runs its leak check
        c.down()
        logs = sorted(glob.glob(os.path.join(c.dir, "log", "valgrind-*.log")))
        self.assertTrue(any("ctld" in l for l in logs), logs)
        self.assertTrue(any("node-" in l for l in logs), logs)
        bad_logs = []
        for path in logs:
            with open(path, errors="replace") as f:
                text = f.read()
            m = re.search(r"ERROR SUMMARY: (\d+) errors", text)
            lost = re.search(r"definitely lost: ([\d,]+) bytes", text)
            pid = int(path.rsplit(".", 2)[-2])
            if pid in daemons.values():
                # a daemon itself must have exited normally, leak check done
                self.assertIsNotNone(m, "%s: no leak check at exit" % path)
            if not m:
                continue  # a fork that exec'd (a job's script): valgrind let it go
            if int(m.group(1)) or (lost and lost.group(1) != "0"):
                bad_logs.append(path)
                sys.stderr.write("---- %s\n%s\n" % (path, text[-6000:]))
        print("%d valgrind logs checked" % len(logs))
        self.assertEqual(bad_logs, [])


def sanitized_build():
    """An ASan build cannot run under valgrind (both claim the address space)."""
    ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
    p = subprocess.run(["ldd", ctld], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                       text=True)
    return "libasan" in p.stdout


if __name__ == "__main__":
    if shutil.which("valgrind") is None:
        print("SKIP: valgrind is not installed")
        sys.exit(77)
    if sanitized_build():
        print("SKIP: a sanitizer build (--enable-sanitizers) cannot run under valgrind")
        sys.exit(77)
    harness.main()
