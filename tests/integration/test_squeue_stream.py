#!/usr/bin/env python3
"""squeue's rows streamed in many pieces print exactly what the one-frame
reply prints (doc/protocol.md, query_jobs with "stream").

The controller runs with tiny pieces (SLURMISH_QUERY_PIECE_BYTES, a knob
for tests), so a few thousand jobs take a hundred pieces; every squeue
below runs twice, streamed and with SLURMISH_SQUEUE_NO_STREAM (one frame),
and the two outputs must be the same bytes.  Nothing runs, so no time
shown moves between the two runs."""

import os
import subprocess

import harness

SUBMIT_BENCH = os.path.join(harness.BUILDDIR, "tests", "bench", "submit_bench")
JOBS = 3000
PIECE = 4096

CONFIG = harness.DEFAULT_CONFIG + """\
  - name: alpha
    node_groups: [n]
    max_time: 2:00:00
"""


class SqueueStreamTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        old = os.environ.get("SLURMISH_QUERY_PIECE_BYTES")
        os.environ["SLURMISH_QUERY_PIECE_BYTES"] = str(PIECE)  # the ctld inherits it
        try:
            super().setUpClass()
        finally:
            if old is None:
                del os.environ["SLURMISH_QUERY_PIECE_BYTES"]
            else:
                os.environ["SLURMISH_QUERY_PIECE_BYTES"] = old

    def squeue_both(self, *args):
        """Run squeue streamed and one-frame; a priority the scheduler's
        age factor moved in between may differ once, a bug every time."""
        c = self.c
        for _ in range(3):
            streamed = c.run("squeue", *args, timeout=300)
            framed = c.run("squeue", *args, env={"SLURMISH_SQUEUE_NO_STREAM": "1"},
                           timeout=300)
            self.assertEqual(streamed.returncode, 0, streamed.stderr)
            if (streamed.returncode, streamed.stdout, streamed.stderr) == \
                    (framed.returncode, framed.stdout, framed.stderr):
                return streamed.stdout
        # not assertEqual: a diff of megabytes says nothing
        self.fail("squeue %s: streamed output differs from the one-frame reply" % " ".join(args))

    def test_streamed_equals_one_frame(self):
        c = self.c
        # held jobs in two partitions, arrays, odd names, some cancelled,
        # some with their own priority: sorting and filtering have work
        for part in ("debug", "alpha"):
            p = subprocess.run([SUBMIT_BENCH, "-n", str(JOBS // 2), "--hold", "-p", part],
                               cwd=c.work, env=c.env(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=600)
            self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        arrays = [c.sbatch("--array=1-40", "-H", "-J", "arr", "--wrap", "true"),
                  c.sbatch("--array=0-99:3%4", "-H", "-p", "alpha", "--wrap", "true")]
        odd = [c.sbatch("-H", "-J", name, "--wrap", "true")
               for name in ('tab\there', 'quote"back\\slash', "caf\u00e9", "x" * 40)]
        for k, jid in enumerate(odd[:2] + arrays[:1]):
            p = c.run("scontrol", "update", "JobId=%s" % jid, "Priority=%d" % (100 + k))
            self.assertEqual(p.returncode, 0, p.stderr)
        p = c.run("scancel", str(odd[3]))
        self.assertEqual(p.returncode, 0, p.stderr)

        out = self.squeue_both()
        self.assertGreater(len(out), 20 * PIECE)  # many pieces
        self.assertEqual(len(out.splitlines()), 1 + JOBS + 2 + 3)
        self.squeue_both("-r")
        self.squeue_both("-h", "-o", "%i %A %F %K %j %u %U %g %G %T %t %M %l %L %D %C %R %N %r "
                         "%S %V %e %Q %a %m %Z %k %B %o")
        self.squeue_both("-r", "-o", "%.20i %.5P %30j %.3t %Q")
        self.squeue_both("-o", "%#i %#j %#P")  # widths from the widest value: not streamed out
        self.squeue_both("-O", "jobid,name:12,state,partition:.8")
        self.squeue_both("-l")
        self.squeue_both("--start")
        self.squeue_both("-t", "all")
        self.squeue_both("-t", "CA")
        self.squeue_both("-p", "alpha")
        self.squeue_both("-p", "alpha", "-r")
        self.squeue_both("-n", "arr", "-r")
        self.squeue_both("-u", "root", "-h")
        self.squeue_both("-j", "%s,%s" % (arrays[0], odd[0]))  # job_ids: one frame either way
        self.squeue_both("-h", "-o", "%i", "-u", "nobody")  # nothing to show
        self.assertGreater(len(self.squeue_both("--json")), 100 * PIECE)
        self.squeue_both("--json", "-r", "-p", "alpha")
        self.squeue_both("--json", "-t", "all")
        p = c.run("scancel", "-u", "root", timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_for(lambda: c.run("squeue", "-h", "-o", "%i", timeout=300).stdout.strip() == "",
                   timeout=120, what="every job cancelled")
        self.assertEqual(len(self.squeue_both().splitlines()), 1)  # the header alone
        self.squeue_both("--json")


if __name__ == "__main__":
    harness.main()
