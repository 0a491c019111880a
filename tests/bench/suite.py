#!/usr/bin/env python3
"""The benchmark suite: one command, one table of figures (never asserted).

  1. sequential CLI submission (sbatch --wrap true in a loop; held, running;
     held over TCP and munge as from a login node, slurmish only; for the
     running loop, the machine's busy CPU per job and its parts)
  2. concurrent CLI submission (8 submitters)
  3. bulk: a 100,000-task array; the API path (pipelined, tests/bench/submit_bench)
  4. submit-to-start latency on an idle cluster (p50, p99)
  5. short-job throughput (jobs of `true` until all COMPLETED)
  6. squeue, squeue -r and squeue --json latency under a big pending queue
  7. controller resident memory per pending job
  8. one scheduling pass (tests/bench/sched_bench, the real scheduler code)
  9. controller restart with a big queue in SQLite

Items 1-5 run on a local cluster of real node daemons; 6, 7 and 9 on a
simulated fleet (tests/bench/fleet: 1,000 nodes registered with the real
ctld over the real protocol), so queue sizes reach what one machine's
processes could not.

  suite.py [--quick] [--full] [--queue N,N,...] [--fleet-nodes N]

--quick is the smoke run of `make check` (tiny sizes); --full adds the
1,000,000-job queue.  Needs root and a built tree (as the integration tests).
"""

import argparse
import atexit
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import harness  # noqa: E402
import slurm_local  # noqa: E402

BENCH = os.path.join(harness.BUILDDIR, "tests", "bench")

LOCAL_CONFIG = """\
cluster_name: bench
controller:
  heartbeat_interval: 5
  node_timeout: 60
  kill_wait: 2
  sched_interval: 1
  message_timeout: 60
node_groups:
  - name: n
    nodes: n[1-2]
    cpus: 2
    memory: 2G
partitions:
  - name: debug
    node_groups: [n]
    default: true
    max_time: 1:00:00
"""

FLEET_CONFIG = """\
cluster_name: fleet
controller:
  heartbeat_interval: 30
  node_timeout: 300
  kill_wait: 2
  sched_interval: 5
  message_timeout: 120
node_groups:
  - name: sim
    nodes: sim[1-%d]
    cpus: 32
    memory: 128G
partitions:
  - name: batch
    node_groups: [sim]
    default: true
    max_time: UNLIMITED
"""

rows = []  # (item, figure, {target: value})


def report(item, figure, value, target="slurmish"):
    for r in rows:
        if r[0] == item and r[1] == figure:
            r[2][target] = value
            break
    else:
        rows.append((item, figure, {target: value}))
    print("  %-10s %-44s %s" % (target, figure, value), flush=True)


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round((len(v) - 1) * p)))]


def run(c, *args, check=True, timeout=600):
    p = c.run(*args, timeout=timeout)
    if check and p.returncode:
        raise RuntimeError("%s failed: %s" % (" ".join(args), p.stderr.strip()))
    return p


class SlurmTarget:
    """Debian's Slurm on loopback (slurm_local.py), run the way the items run
    slurmish's tools."""
    name = "Slurm"

    def __init__(self, cluster):
        self.cluster = cluster
        self.work = os.path.join(cluster.dir, "work")
        os.makedirs(self.work, exist_ok=True)

    def run(self, *args, timeout=600):
        return subprocess.run([self.cluster.tool(args[0])] + list(args[1:]), cwd=self.work,
                              env=self.cluster.env(), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, timeout=timeout)

    def wait_for(self, pred, timeout=30, what="condition"):
        return harness.Cluster.wait_for(self, pred, timeout, what)

    def wait_file(self, path, timeout=30):
        return harness.Cluster.wait_file(self, path, timeout)


def start(c, no_node_daemons=False):
    atexit.register(c.cleanup)
    c.started = True
    args = ["up", "--config", c.config_src, "--timeout", "60"]
    if no_node_daemons:
        args.append("--no-node-daemons")
    c.launcher(*args)


def ctld_pid(c):
    import json
    with open(os.path.join(c.dir, "cluster.json")) as f:
        return json.load(f)["procs"]["ctld"]["pid"]


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def queue_empty(c):
    p = c.run("squeue", "-h", "-t", "PD,R,CG", "-o", "%i", timeout=600)
    return p.returncode == 0 and not p.stdout.strip()


def cancel_all(c):
    run(c, "scancel", "-u", "root", check=False)
    c.wait_for(lambda: queue_empty(c), timeout=300, what="an empty queue")


def submit_bench(c, n, *extra):
    p = subprocess.run([os.path.join(BENCH, "submit_bench"), "-n", str(n)] + list(extra),
                       cwd=c.work, env=c.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       text=True, timeout=3600)
    if p.returncode:
        raise RuntimeError("submit_bench failed: %s%s" % (p.stdout, p.stderr))
    m = re.search(r"in ([\d.]+) s: (\d+) jobs/s", p.stdout)
    return float(m.group(1)), int(m.group(2))


def busy_cpu_seconds():
    """CPU time this machine spent on anything (user, nice, system, irq,
    softirq; not idle, iowait or steal), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return (v[0] + v[1] + v[2] + v[5] + v[6]) / os.sysconf("SC_CLK_TCK")


# Where the CPU of item 1's running loop goes, by part, from /proc: each
# process's own time, and for the spawners also that of their reaped
# children (the job supervisors, and the jobs those reaped).
CPU_PARTS = (("sbatch", "sbatch"), ("ctld", "slurmish-ctld"), ("node", "node daemons (slurmish-d)"),
             ("spawner", "spawners"), ("jobs", "job supervisors and jobs"), ("munged", "munged"))


def cpu_by_part(c):
    """Seconds of CPU so far of each part of cluster c (CPU_PARTS), its
    processes found by their config path or munged's PID file; the sbatch
    processes this suite ran and waited for come from getrusage."""
    import resource
    tck = os.sysconf("SC_CLK_TCK")
    parts = dict.fromkeys((k for k, _ in CPU_PARTS), 0.0)
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    parts["sbatch"] = ru.ru_utime + ru.ru_stime
    try:
        with open(os.path.join(c.dir, "munge", "munged.pid")) as f:
            munged = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        munged = -1
    for pid in (int(d) for d in os.listdir("/proc") if d.isdigit()):
        try:
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
            with open("/proc/%d/stat" % pid) as f:
                stat = f.read()
        except OSError:
            continue  # gone meanwhile
        comm = stat[stat.index("(") + 1:stat.rindex(")")]
        v = [int(x) / tck for x in stat[stat.rindex(")") + 2:].split()[11:15]]
        if pid == munged:
            parts["munged"] += v[0] + v[1]
        elif c.conf.encode() not in cmd:
            continue
        elif comm == "slurmish-ctld":
            parts["ctld"] += sum(v)
        elif comm == "slurmish-d":
            parts["node"] += v[0] + v[1]
        elif comm.startswith("slurmish-spawn"):
            parts["spawner"] += v[0] + v[1]
            parts["jobs"] += v[2] + v[3]
    return parts


def sbatch_loop(c, n, hold):
    args = ["sbatch", "--wrap", "true", "-o", "/dev/null"] + (["--hold"] if hold else [])
    t0 = time.monotonic()
    for _ in range(n):
        run(c, *args)
    return n / (time.monotonic() - t0)


def local_items(a):
    c = harness.Cluster(LOCAL_CONFIG)
    c.name = "slurmish"
    start(c)
    try:
        run_local_items(a, c)
    finally:
        c.cleanup()
    if a.compare_slurm:
        sc = slurm_local.SlurmCluster(tempfile.mkdtemp(prefix="slurm-bench-"), cpus=4)
        print("Slurm (%s) on loopback in %s: munged, slurmctld, one slurmd of 4 CPUs, "
              "no cgroups, no accounting" % (slurm_version(), sc.dir), flush=True)
        sc.up()
        try:
            run_local_items(a, SlurmTarget(sc))
        finally:
            sc.down()
            shutil.rmtree(sc.dir, ignore_errors=True)


def slurm_version():
    p = subprocess.run([slurm_local.SLURMCTLD, "-V"],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    return p.stdout.strip()


def run_local_items(a, c):
    n = 20 if a.quick else 200
    for item, fn in ((1, item1), (2, item2), (3, item3), (4, item4), (5, item5), (6, item6c)):
        if item in a.only:
            fn(a, c, n)


def item1(a, c, n):
    print("1. sequential CLI submission (%d sbatch)" % n, flush=True)
    report(1, "sbatch in a loop, held (jobs/s)", "%.0f" % sbatch_loop(c, n, True), c.name)
    cancel_all(c)
    if isinstance(c, harness.Cluster):
        # the figure above is for tools on the controller's machine (its Unix
        # socket, no munge); this one for tools elsewhere (TCP, munge)
        env = {"SLURMISH_CONF": c.config_variant("tcp-tools", drop=("tools_socket",))}
        t0 = time.monotonic()
        for _ in range(n):
            p = c.run("sbatch", "--wrap", "true", "-o", "/dev/null", "--hold", env=env)
            if p.returncode:
                raise RuntimeError("sbatch over TCP failed: %s" % p.stderr.strip())
        report(1, "sbatch in a loop, held, over TCP + munge (jobs/s)",
               "%.0f" % (n / (time.monotonic() - t0)), c.name)
        cancel_all(c)
    local = isinstance(c, harness.Cluster)
    busy, parts = busy_cpu_seconds(), cpu_by_part(c) if local else None
    rate = sbatch_loop(c, n, False)
    parts_after_loop = cpu_by_part(c) if local else None
    report(1, "sbatch in a loop, running (jobs/s)", "%.0f" % rate, c.name)
    if local:
        # what the loop and its jobs cost the machine in all, until the
        # last job ended, and where it went; the rest is the kernel's own
        # threads (cgroup teardown, writeback), this suite and the rest of
        # the machine
        c.wait_for(lambda: queue_empty(c), timeout=300, what="the loop's jobs to end")
        total = busy_cpu_seconds() - busy
        after = cpu_by_part(c)
        after["sbatch"] = parts_after_loop["sbatch"]  # not the squeue polls since
        report(1, "  ...busy CPU per job, whole machine (ms)", "%.2f" % (total * 1000 / n),
               c.name)
        for key, label in CPU_PARTS:
            spent = after[key] - parts[key]
            total -= spent
            report(1, "    ...%s (ms)" % label, "%.2f" % (spent * 1000 / n), c.name)
        report(1, "    ...the rest: kernel threads, this suite (ms)",
               "%.2f" % (total * 1000 / n), c.name)
    cancel_all(c)


def item2(a, c, n):
    print("2. concurrent CLI submission (8 submitters, %d sbatch each)" % (n // 8), flush=True)
    errors = []

    def submitter():
        try:
            for _ in range(n // 8):
                run(c, "sbatch", "--wrap", "true", "--hold", "-o", "/dev/null")
        except Exception as e:  # reported below
            errors.append(e)
    threads = [threading.Thread(target=submitter) for _ in range(8)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    el = time.monotonic() - t0
    report(2, "8 concurrent sbatch loops (jobs/s)",
           "%.0f" % (8 * (n // 8) / el) if not errors else "failed: %s" % errors[0], c.name)
    cancel_all(c)


def item3(a, c, n):
    tasks = 1000 if a.quick else 100000
    print("3. bulk submission", flush=True)
    t0 = time.monotonic()
    run(c, "sbatch", "--array=0-%d" % (tasks - 1), "--hold", "--wrap", "true", "-o",
        "/dev/null")
    report(3, "sbatch --array=0-%d (s)" % (tasks - 1), "%.3f" % (time.monotonic() - t0),
           c.name)
    cancel_all(c)
    if c.name != "slurmish":
        return  # the API path is slurmish's own protocol
    napi = 2000 if a.quick else 20000
    _, rate = submit_bench(c, napi, "--hold")
    report(3, "API, %d pipelined, signed with a key (jobs/s)" % napi, "%d" % rate, c.name)
    cancel_all(c)
    _, rate = submit_bench(c, napi // 4, "--hold", "--munge-each")
    report(3, "API, %d pipelined, each munge-signed (jobs/s)" % (napi // 4), "%d" % rate,
           c.name)
    cancel_all(c)


def item4(a, c, n):
    samples = 5 if a.quick else 30
    print("4. submit-to-start latency (%d jobs, one at a time)" % samples, flush=True)
    lat = []
    for i in range(samples):
        stamp = os.path.join(c.work, "start.%d" % i)
        t0 = time.time()
        # coreutils date with %N: wall-clock time to the nanosecond, and a
        # start-up of ~1 ms (python3's own ~25 ms would be in the figure)
        run(c, "sbatch", "-o", "/dev/null", "--wrap", "date +%%s.%%N > %s" % stamp)
        c.wait_file(stamp, timeout=60)
        with open(stamp) as f:
            lat.append(float(f.read()) - t0)
    report(4, "submit to start, p50 (ms)", "%.1f" % (1000 * statistics.median(lat)), c.name)
    report(4, "submit to start, p99 (ms)", "%.1f" % (1000 * pct(lat, 0.99)), c.name)
    c.wait_for(lambda: queue_empty(c), timeout=60, what="an idle cluster")


def item5(a, c, n):
    nshort = 100 if a.quick else 1000
    print("5. short-job throughput (an array of %d jobs of true)" % nshort, flush=True)
    t0 = time.monotonic()
    run(c, "sbatch", "--array=1-%d" % nshort, "-J", "short", "-o", "/dev/null", "--wrap", "true")
    c.wait_for(lambda: queue_empty(c), timeout=1800, what="all short jobs to end")
    el = time.monotonic() - t0
    report(5, "jobs of true until all ended (jobs/s)", "%.0f" % (nshort / el), c.name)
    states = run(c, "sacct", "-X", "-n", "-P", "-o", "State", "--name", "short",
                 check=False).stdout.split()
    if states and states.count("COMPLETED") < nshort:
        report(5, "  (but not all COMPLETED)",
               ", ".join("%s %d" % (s, states.count(s)) for s in sorted(set(states))), c.name)


def item6c(a, c, n):
    """Queries over a held array's tasks: the same queue for slurmish and
    Slurm (individual jobs at 100k would take Slurm's sbatch hours)."""
    tasks = 1000 if a.quick else 10000
    run(c, "sbatch", "--array=0-%d" % (tasks - 1), "--hold", "--wrap", "true", "-o",
        "/dev/null")
    for args in (("squeue",), ("squeue", "-r")):
        report(6, "held %d-task array: %s (s)" % (tasks, " ".join(args)),
               timed(c, *args), c.name)
    cancel_all(c)


def tool_argv(c, args):
    """The command line, environment and directory a tool runs with."""
    if isinstance(c, SlurmTarget):
        return [c.cluster.tool(args[0])] + list(args[1:]), c.cluster.env(), c.work
    return [os.path.join(harness.BUILDDIR, "cli", args[0])] + list(args[1:]), c.env(), c.work


def timed(c, *args, reps=3):
    """Median wall time of a query, its output thrown away: read into this
    Python process, 150 MB of squeue --json cost more than squeue itself."""
    cmd, env, cwd = tool_argv(c, args)
    best = []
    for _ in range(reps):
        t0 = time.monotonic()
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, text=True, timeout=600)
        best.append(time.monotonic() - t0)
        if p.returncode:
            return "failed: %s" % p.stderr.strip()[:80]
    return "%.3f" % statistics.median(best)


def fleet_items(a):
    c = harness.Cluster(FLEET_CONFIG % a.fleet_nodes)
    start(c, no_node_daemons=True)
    fleet = None
    try:
        fleet = subprocess.Popen([os.path.join(BENCH, "fleet"), "-f", c.conf], env=c.env(),
                                 stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = fleet.stdout.readline()
        if "registered" not in line:
            raise RuntimeError("fleet did not register: %s" % line)
        print("6, 7, 9 on a simulated fleet of %d nodes" % a.fleet_nodes, flush=True)
        pid = ctld_pid(c)
        time.sleep(1)
        rss0 = rss_kib(pid)
        report(7, "ctld RSS with 0 jobs (MiB)", "%.1f" % (rss0 / 1024))
        have = 0
        for size in a.queue:
            _, rate = submit_bench(c, size - have, "--hold")
            have = size
            report(6, "queue %d: pipelined submission (jobs/s)" % size, "%d" % rate)
            time.sleep(1)
            rss = rss_kib(pid)
            report(7, "queue %d: ctld RSS (MiB), bytes/job" % size,
                   "%.1f, %.0f" % (rss / 1024, (rss - rss0) * 1024 / size))
            for args in (("squeue",), ("squeue", "-r"), ("squeue", "--json")):
                if args[-1] == "--json" and size > 100000:
                    continue
                report(6, "queue %d: %s (s)" % (size, " ".join(args)),
                       timed(c, *args, reps=1 if size > 100000 else 3))
            time.sleep(1)
            report(7, "queue %d: ctld RSS after the queries (MiB)" % size,
                   "%.1f" % (rss_kib(pid) / 1024))
        # 9: restart with the queue in SQLite
        c.launcher("stop-daemon", "ctld")
        t0 = time.monotonic()
        c.launcher("start-daemon", "ctld")
        c.wait_for(lambda: c.run("squeue", "-h", "-j", "1", "-o", "%i",
                                 timeout=600).returncode == 0, timeout=600,
                   what="the restarted ctld to answer")
        report(9, "restart with %d jobs until it answers (s)" % have,
               "%.2f" % (time.monotonic() - t0))
    finally:
        if fleet:
            fleet.terminate()
            fleet.wait()
        c.cleanup()


def sched_item(a):
    print("8. scheduling pass (sched_bench)", flush=True)
    p = subprocess.run([os.path.join(BENCH, "sched_bench")] + (["--smoke"] if a.quick else []),
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    for line in p.stdout.splitlines():
        m = re.match(r"\s*(\d+)\s+(\d+)\s+([\d.]+)\s+([\d.]+)", line)
        if m:
            report(8, "pass: %s pending jobs, %s nodes (ms)" % (m.group(1), m.group(2)),
                   "%s (next pass %s)" % (m.group(3), m.group(4)))
    if not any(r[0] == 8 for r in rows):
        print(p.stdout)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="smoke run: tiny sizes")
    ap.add_argument("--full", action="store_true", help="add the 1,000,000-job queue")
    ap.add_argument("--queue", help="pending queue sizes for items 6 and 7 (default "
                    "10000,100000; with --full also 1000000)")
    ap.add_argument("--fleet-nodes", type=int, default=1000)
    ap.add_argument("--only", help="items to run, e.g. 1,2,8")
    ap.add_argument("--compare-slurm", action="store_true",
                    help="also run items 1-6 against a private Slurm (Debian's slurm-wlm, "
                         "started on loopback by tests/bench/slurm_local.py) and print "
                         "slurmish/Slurm ratios")
    a = ap.parse_args()
    if a.queue:
        a.queue = [int(x) for x in a.queue.split(",")]
    else:
        a.queue = [2000] if a.quick else [10000, 100000] + ([1000000] if a.full else [])
    if a.quick:
        a.fleet_nodes = min(a.fleet_nodes, 100)
    only = a.only = set(int(x) for x in a.only.split(",")) if a.only else set(range(1, 10))
    if os.geteuid() != 0 or not os.path.exists(harness.LAUNCHER):
        print("SKIP: needs root and a built tree")
        return 77
    print("slurmish benchmark suite on %d CPUs (%s)" % (os.cpu_count(),
                                                        "quick" if a.quick else "full"))
    if a.compare_slurm and not slurm_local.installed():
        print("--compare-slurm: Slurm is not installed (apt-get install slurmctld slurmd "
              "slurm-client)")
        return 1
    if only & {1, 2, 3, 4, 5, 6}:
        local_items(a)
    if only & {8}:
        sched_item(a)
    if only & {6, 7, 9}:
        fleet_items(a)
    print("\n%-4s %-50s %12s" % ("item", "figure", "slurmish") +
          ("%12s %16s" % ("Slurm", "slurmish/Slurm") if a.compare_slurm else ""))
    for item, figure, vals in sorted(rows, key=lambda r: r[0]):
        if item not in only:
            continue
        line = "%-4s %-50s %12s" % (item, figure, vals.get("slurmish", "-"))
        if a.compare_slurm:
            ratio = "-"
            try:
                ratio = "%.2f" % (float(vals["slurmish"]) / float(vals["Slurm"]))
            except (KeyError, ValueError, ZeroDivisionError):
                pass
            line += "%12s %16s" % (vals.get("Slurm", "-"), ratio)
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
