#!/usr/bin/env python3
"""Load: thousands of short jobs from several users while other threads run
squeue, sinfo, sacct and scontrol ping without pause.  The controller keeps
answering every query (each tool gives up after message_timeout), the query
latencies are printed (p50/p99 per tool), and every job ends in the state
its work calls for, none lost or duplicated; the nodes end idle.

Jobs: slurmish-load1 submits plain `true` jobs through the pipelined API
path (tests/bench/submit_bench) -> COMPLETED 0:0; slurmish-load2 submits
held jobs the same way and cancels them -> CANCELLED; slurmish-load3 runs
sbatch for `exit 3` jobs -> FAILED 3:0; slurmish-load4 submits an array of
`true` tasks -> COMPLETED, and a few jobs that outlive their time limit ->
TIMEOUT.  The controller has max_submit_jobs set (high), so the limit's
accounting runs on every submission.

Size: LOAD_JOBS (default 2000) jobs in all, e.g. LOAD_JOBS=5000 for a
bigger run; python3 test_load.py --jobs N does the same.
"""

import os
import subprocess
import sys
import threading
import time

import harness

SUBMIT_BENCH = os.path.join(harness.BUILDDIR, "tests", "bench", "submit_bench")
USERS = ["slurmish-load%d" % i for i in range(1, 5)]


def load_jobs():
    if "--jobs" in sys.argv:
        i = sys.argv.index("--jobs")
        n = sys.argv[i + 1]
        del sys.argv[i:i + 2]
        os.environ["LOAD_JOBS"] = n
    n = int(os.environ.get("LOAD_JOBS", "2000"))
    if n < 100:
        raise SystemExit("LOAD_JOBS must be at least 100")
    return n


TOTAL = load_jobs()
N_TRUE = TOTAL * 55 // 100      # load1, submit_bench: COMPLETED
N_HELD = TOTAL * 25 // 100      # load2, submit_bench --hold, then cancelled
N_FAIL = TOTAL * 8 // 100       # load3, sbatch: FAILED 3:0
N_TIMEOUT = 6                   # load4, sbatch -t 0:02: TIMEOUT
N_ARRAY = TOTAL - N_TRUE - N_HELD - N_FAIL - N_TIMEOUT  # load4, one array: COMPLETED

CONFIG = """\
cluster_name: load
controller:
  heartbeat_interval: 1
  node_timeout: 30
  kill_wait: 1
  sched_interval: 1
  message_timeout: 10
  max_submit_jobs: 1000000
node_groups:
  - name: n
    nodes: n[1-2]
    cpus: 16
    memory: 4G
partitions:
  - name: debug
    node_groups: [n]
    default: true
    max_time: 1:00:00
    default_time: 30:00
"""


def percentile(values, p):
    s = sorted(values)
    if not s:
        return float("nan")
    k = min(len(s) - 1, max(0, int(round(p / 100.0 * len(s) + 0.5)) - 1))
    return s[k]


class Querier(threading.Thread):
    """Runs one tool in a loop until stopped; records each call's latency
    and every failure (a failure is a query the controller did not answer
    within message_timeout, or answered with an error)."""

    def __init__(self, cluster, name, args, stop):
        super().__init__(daemon=True)
        self.c, self.name, self.args, self.stop = cluster, name, args, stop
        self.latencies, self.failures = [], []

    def run(self):
        while not self.stop.is_set():
            t0 = time.monotonic()
            p = self.c.run(*self.args, timeout=120)
            dt = time.monotonic() - t0
            self.latencies.append(dt)
            if p.returncode:
                self.failures.append("%s rc %d after %.2fs: %s"
                                     % (self.name, p.returncode, dt, p.stderr.strip()[:300]))
            time.sleep(0.02)


class LoadTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        for u in USERS:
            harness.ensure_user(u)
        super().setUpClass()

    def report(self, queriers, phase):
        for q in queriers:
            lat = q.latencies
            print("load %-14s %-8s n=%5d p50=%7.1f ms p99=%7.1f ms max=%7.1f ms" % (
                q.name, phase, len(lat), percentile(lat, 50) * 1000, percentile(lat, 99) * 1000,
                max(lat or [0]) * 1000), flush=True)

    def submit_bench(self, user, n, *extra):
        p = self.c.run(SUBMIT_BENCH, "-f", self.c.conf, "-n", str(n), *extra, user=user,
                       timeout=600)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        print("load %s: %s" % (user, p.stdout.strip()), flush=True)

    def sbatch_many(self, user, n, *args):
        for _ in range(n):
            p = self.c.run("sbatch", "--parsable", "-o", "/dev/null", *args, user=user)
            self.assertEqual(p.returncode, 0, p.stderr)

    def active(self):
        p = self.c.run("squeue", "-h", "-t", "PD,R,CG,S", "-o", "%i", timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return len(p.stdout.split())

    def test_load(self):
        c = self.c
        stop = threading.Event()
        queriers = [
            Querier(c, "squeue", ["squeue", "-h"], stop),
            Querier(c, "squeue -r -u", ["squeue", "-h", "-r", "-u", USERS[0]], stop),
            Querier(c, "sinfo", ["sinfo"], stop),
            Querier(c, "sacct", ["sacct", "-a", "-X", "-n", "-P", "-o", "JobID,State"], stop),
            Querier(c, "scontrol ping", ["scontrol", "ping"], stop),
        ]
        for q in queriers:
            q.start()
        errors = []

        def guarded(fn, *args):
            try:
                fn(*args)
            except BaseException as e:  # reported below, not lost in a thread
                errors.append("%s%r: %s" % (fn.__name__, args[:2], e))

        def user2():
            self.submit_bench(USERS[1], N_HELD, "--hold")
            p = c.run("scancel", "-u", USERS[1], user=USERS[1], timeout=120)
            self.assertEqual(p.returncode, 0, p.stderr)

        def user4():
            self.sbatch_many(USERS[3], 1, "--array=0-%d" % (N_ARRAY - 1), "--wrap", "true")
            self.sbatch_many(USERS[3], N_TIMEOUT, "-t", "0:02", "--wrap", "sleep 60")

        t0 = time.monotonic()
        submitters = [
            threading.Thread(target=guarded, args=(self.submit_bench, USERS[0], N_TRUE)),
            threading.Thread(target=guarded, args=(user2,)),
            threading.Thread(target=guarded,
                             args=(self.sbatch_many, USERS[2], N_FAIL, "--wrap", "exit 3")),
            threading.Thread(target=guarded, args=(user4,)),
        ]
        for t in submitters:
            t.start()
        for t in submitters:
            t.join()
        submitted = time.monotonic() - t0
        print("load: %d jobs submitted in %.1f s" % (TOTAL, submitted), flush=True)
        self.report(queriers, "submit")
        try:
            self.assertEqual(errors, [])
            c.wait_for(lambda: self.active() == 0, timeout=max(300, TOTAL // 5),
                       what="every job ended")
        finally:
            stop.set()
            for q in queriers:
                q.join(timeout=150)
        print("load: all ended %.1f s after the first submission" % (time.monotonic() - t0),
              flush=True)
        self.report(queriers, "overall")
        for q in queriers:
            self.assertGreater(len(q.latencies), 0, q.name)
            self.assertEqual(q.failures, [], q.name)

        # every job, once, in the state its work calls for
        p = c.run("sacct", "-a", "-X", "-n", "-P", "-o", "JobID,User,State,ExitCode",
                  timeout=300)
        self.assertEqual(p.returncode, 0, p.stderr)
        rows = [l.split("|") for l in p.stdout.splitlines()]
        ids = [r[0] for r in rows]
        self.assertEqual(len(ids), len(set(ids)), "duplicate job ids in sacct")
        self.assertEqual(len(ids), TOTAL, "jobs lost or added")
        by_user = {u: [] for u in USERS}
        for r in rows:
            self.assertIn(r[1], by_user, r)
            by_user[r[1]].append(r)

        def states(user):
            out = {}
            for r in by_user[user]:
                out[(r[2], r[3])] = out.get((r[2], r[3]), 0) + 1
            return out

        self.assertEqual(states(USERS[0]), {("COMPLETED", "0:0"): N_TRUE})
        self.assertEqual({s.split()[0] for s, _ in states(USERS[1])}, {"CANCELLED"})
        self.assertEqual(len(by_user[USERS[1]]), N_HELD)
        self.assertEqual(states(USERS[2]), {("FAILED", "3:0"): N_FAIL})
        tasks = [r for r in by_user[USERS[3]] if "_" in r[0]]
        self.assertEqual({(r[2], r[3]) for r in tasks}, {("COMPLETED", "0:0")})
        self.assertEqual(sorted(int(r[0].split("_")[1]) for r in tasks), list(range(N_ARRAY)))
        self.assertEqual(len({r[0].split("_")[0] for r in tasks}), 1)
        others = [r for r in by_user[USERS[3]] if "_" not in r[0]]
        self.assertEqual([r[2] for r in others], ["TIMEOUT"] * N_TIMEOUT)

        # nothing left allocated
        c.wait_nodes_idle(timeout=60)
        p = c.run("sinfo", "-h", "-N", "-o", "%N %C")
        self.assertEqual(p.returncode, 0, p.stderr)
        for line in p.stdout.splitlines():
            name, cpus = line.split()
            self.assertEqual(cpus.split("/")[0], "0", line)  # allocated/idle/other/total


if __name__ == "__main__":
    harness.main()
