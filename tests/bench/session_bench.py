#!/usr/bin/env python3
"""Interactive latency on a local cluster (real munged, ctld, node daemons):

  - srun: wall time of `srun true` inside an allocation (step create,
    credential, launch, exit) and of `srun -N2 -n4 true`;
  - keystroke round trip: a byte typed into `srun --pty cat` until its echo
    comes back through srun, the node daemon and the step's supervisor.

Prints figures; asserts nothing.  `make bench-session`, or with --quick
for the smoke run in `make check`.
"""

import os
import pty
import subprocess
import select
import statistics
import sys
import termios
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                                "integration"))
import harness  # noqa: E402


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def main():
    quick = "--quick" in sys.argv
    if os.geteuid() != 0 or not os.path.exists(harness.LAUNCHER):
        print("SKIP: needs root and a built tree")
        return 77
    c = harness.Cluster()
    c.up()
    try:
        # an allocation to run steps in, held by a background salloc
        holder = subprocess.Popen(["salloc", "-N2", "-n4", "sleep", "600"], cwd=c.work,
                                  env=c.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        job = c.wait_for(lambda: c.run("squeue", "-h", "-t", "R", "-o", "%i").stdout.strip(),
                         what="the allocation")
        env = {"SLURM_JOB_ID": job}
        for label, args, n in (("srun true (1 task)", ["srun", "-n1", "true"], 10 if quick else 50),
                               ("srun -N2 -n4 true", ["srun", "-N2", "-n4", "true"],
                                5 if quick else 30)):
            times = []
            for _ in range(n):
                t0 = time.perf_counter()
                r = c.run(*args, env=env)
                times.append((time.perf_counter() - t0) * 1000)
                if r.returncode:
                    print("FAILED:", r.stderr)
                    return 1
            print("%-22s n=%-4d median %6.1f ms  p90 %6.1f ms" %
                  (label, n, statistics.median(times), pct(times, 0.9)))

        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(c.work)
            e = c.env(env)
            os.execvpe("srun", ["srun", "-n1", "--pty", "cat"], e)
        # wait for srun to put our terminal in raw mode, then for the remote
        # cat: its echo and its output of one line
        deadline = time.time() + 20
        while termios.tcgetattr(fd)[3] & termios.ICANON and time.time() < deadline:
            time.sleep(0.05)
        os.write(fd, b"ready\r")
        buf = b""
        while buf.count(b"ready") < 2 and time.time() < deadline:
            if select.select([fd], [], [], 0.5)[0]:
                buf += os.read(fd, 4096)
        if buf.count(b"ready") < 2:
            print("FAILED: srun --pty cat did not start: %r" % buf)
            return 1
        time.sleep(0.2)
        while select.select([fd], [], [], 0)[0]:
            os.read(fd, 4096)
        rtts = []
        for i in range(50 if quick else 500):
            ch = bytes([ord("a") + i % 26])
            t0 = time.perf_counter()
            os.write(fd, ch)
            got = b""
            while ch not in got:
                if not select.select([fd], [], [], 5)[0]:
                    print("FAILED: no echo")
                    return 1
                got += os.read(fd, 4096)
            rtts.append((time.perf_counter() - t0) * 1000)
        os.write(fd, b"\r\x04")  # end the line, then end of input
        deadline = time.time() + 10
        tail = b""
        while time.time() < deadline:
            if os.waitpid(pid, os.WNOHANG)[0]:
                break
            if select.select([fd], [], [], 0.2)[0]:
                try:
                    tail += os.read(fd, 4096)
                except OSError:
                    pass
        else:
            print("srun --pty cat did not end; last output %r" % tail[-200:])
            os.kill(pid, 9)
            os.waitpid(pid, 0)
        print("%-22s n=%-4d median %6.2f ms  p99 %6.2f ms  max %6.2f ms" %
              ("keystroke round trip", len(rtts), statistics.median(rtts), pct(rtts, 0.99),
               max(rtts)))
        holder.terminate()
        holder.wait()
    finally:
        c.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
