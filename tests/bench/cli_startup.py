#!/usr/bin/env python3
"""What one tool invocation costs: figures printed, never asserted.

  cli_startup.py [-n N] [--rounds R] [SBATCH ...]

Starts a local cluster from SLURMISH_BUILDDIR (as the integration tests do)
and, for each sbatch binary given (default: the build's; give an older
build's cli/sbatch to compare), prints:
  - the shared libraries it loads (ldd) and the dynamic loader's startup
    cycles (LD_DEBUG=statistics, median of 20 runs of --version);
  - wall and CPU (user+sys of the child) per `sbatch --version` and per
    `sbatch --hold --wrap true -o /dev/null` (N calls per round; the
    binaries take turns, R rounds, so a loaded machine biases none).
Needs root (the cluster runs jobs as users) and a built tree.
"""

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import harness  # noqa: E402


def child_cpu():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def loop(cmd, n, env, cwd):
    t0, c0 = time.monotonic(), child_cpu()
    for _ in range(n):
        p = subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE)
        if p.returncode:
            raise RuntimeError("%s: %s" % (" ".join(cmd), p.stderr.decode()))
    return (time.monotonic() - t0) / n, (child_cpu() - c0) / n


def loader_cycles(binary, env):
    vals = []
    for _ in range(20):
        p = subprocess.run([binary, "--version"], env=dict(env, LD_DEBUG="statistics"),
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        m = re.search(r"total startup time in dynamic loader:\s*([\d,]+)", p.stderr)
        if m:
            vals.append(int(m.group(1).replace(",", "")))
    return statistics.median(vals) if vals else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=50, help="calls per binary per round")
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("sbatch", nargs="*")
    a = ap.parse_args()
    harness.require_root()
    bins = a.sbatch or [os.path.join(harness.BUILDDIR, "cli", "sbatch")]

    c = harness.Cluster()
    c.up()
    try:
        env = c.env()
        for b in bins:
            print(b)
            if shutil.which("ldd"):
                libs = [ln for ln in subprocess.run(["ldd", b], stdout=subprocess.PIPE,
                                                    text=True).stdout.splitlines()
                        if "=>" in ln or "ld-linux" in ln]
                print("  shared libraries (ldd): %d" % len(libs))
            print("  loader startup (LD_DEBUG=statistics, cycles): %s" % loader_cycles(b, env))
        res = {b: {"version": [], "submit": []} for b in bins}
        floor = []
        for _ in range(a.rounds):
            floor.append(loop(["/bin/true"], a.n, env, c.work))
            for b in bins:
                res[b]["version"].append(loop([b, "--version"], a.n, env, c.work))
                res[b]["submit"].append(loop([b, "--hold", "--wrap", "true", "-o", "/dev/null"],
                                             a.n, env, c.work))
        print("/bin/true (the floor: starting any process from here)")
        print("  wall %.2f ms/call, cpu %.2f ms/call" % (statistics.median(x[0] for x in floor) * 1000,
                                                      statistics.median(x[1] for x in floor) * 1000))
        for b in bins:
            print(b)
            for what in ("version", "submit"):
                w = statistics.median(x[0] for x in res[b][what]) * 1000
                cpu = statistics.median(x[1] for x in res[b][what]) * 1000
                print("  %-8s wall %.2f ms/call, cpu %.2f ms/call (median of %d rounds of %d)"
                      % (what, w, cpu, a.rounds, a.n))
        c.run("scancel", "-u", "root")
    finally:
        c.cleanup()


if __name__ == "__main__":
    main()
