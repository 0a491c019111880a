#!/usr/bin/env python3
"""A private Slurm (Debian's slurm-wlm) on loopback, for side-by-side figures.

The benchmark suite's --compare-slurm starts one with this: its own munged,
slurmctld and one slurmd (Debian's build runs one slurmd per host) with
ports, state and logs under a temporary directory; no cgroups
(proctrack/linuxproc, task/none), no accounting daemon.  It stops exactly
the processes it started.

  slurm_local.py up --dir D [--cpus N]   # prints the environment to use
  slurm_local.py down --dir D
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

SLURMCTLD = shutil.which("slurmctld") or "/usr/sbin/slurmctld"
SLURMD = shutil.which("slurmd") or "/usr/sbin/slurmd"
MUNGED = "/usr/sbin/munged"
TOOLS = "/usr/bin"  # Debian's slurm-client


def installed():
    return all(os.path.exists(p) for p in (SLURMCTLD, SLURMD, os.path.join(TOOLS, "sbatch")))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def alive(pid):
    try:
        os.kill(pid, 0)
    except OSError:
        return False
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def stop(pid, timeout=10):
    if not alive(pid):
        return
    os.kill(pid, signal.SIGTERM)
    deadline = time.time() + timeout
    while time.time() < deadline and alive(pid):
        time.sleep(0.05)
    if alive(pid):
        os.kill(pid, signal.SIGKILL)


class SlurmCluster:
    def __init__(self, d, cpus=4):
        self.dir = os.path.abspath(d)
        self.cpus = cpus
        self.conf = os.path.join(self.dir, "slurm.conf")
        self.pids = {}

    def env(self):
        env = dict(os.environ)
        env["SLURM_CONF"] = self.conf
        # Slurm's tools first: the tree's own sbatch may be on PATH too
        env["PATH"] = TOOLS + ":" + env.get("PATH", "")
        for k in list(env):
            if k.startswith("SLURMISH_"):
                del env[k]
        return env

    def tool(self, name):
        return os.path.join(TOOLS, name)

    def write_config(self):
        host = socket.gethostname().split(".")[0]
        sock = os.path.join(self.dir, "munge", "munge.sock")
        conf = """\
ClusterName=cmp
SlurmctldHost={host}(127.0.0.1)
SlurmctldPort={cport}
SlurmdPort={dport}
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={sock}
SlurmUser=root
SlurmdUser=root
StateSaveLocation={d}/state
SlurmdSpoolDir={d}/spool
SlurmctldPidFile={d}/slurmctld.pid
SlurmdPidFile={d}/slurmd.pid
SlurmctldLogFile={d}/log/slurmctld.log
SlurmdLogFile={d}/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
SlurmdParameters=config_overrides
MpiDefault=none
ReturnToService=2
MaxJobCount=1000000
MaxArraySize=1000001
MinJobAge=300
KillWait=2
NodeName=s1 NodeHostname={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory=4000
PartitionName=debug Nodes=s1 Default=YES MaxTime=INFINITE State=UP
""".format(host=host, cport=free_port(), dport=free_port(), sock=sock, d=self.dir,
           cpus=self.cpus)
        with open(self.conf, "w") as f:
            f.write(conf)

    def start_munged(self):
        mdir = os.path.join(self.dir, "munge")
        os.makedirs(mdir, exist_ok=True)
        key = os.path.join(mdir, "munge.key")
        with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "wb") as f:
            f.write(os.urandom(1024))
        pidfile = os.path.join(mdir, "munged.pid")
        subprocess.run([MUNGED, "--force", "--socket=" + os.path.join(mdir, "munge.sock"),
                        "--key-file=" + key, "--pid-file=" + pidfile,
                        "--log-file=" + os.path.join(self.dir, "log", "munged.log"),
                        "--seed-file=" + os.path.join(mdir, "munged.seed")], check=True)
        for _ in range(100):
            if os.path.exists(pidfile):
                break
            time.sleep(0.05)
        with open(pidfile) as f:
            self.pids["munged"] = int(f.read())

    def spawn(self, key, argv):
        log = open(os.path.join(self.dir, "log", key + ".out"), "ab")
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                             env=self.env(), start_new_session=True)
        self.pids[key] = p.pid

    def save(self):
        with open(os.path.join(self.dir, "pids.json"), "w") as f:
            json.dump(self.pids, f)

    def up(self, timeout=60):
        for sub in ("", "log", "state", "spool"):
            os.makedirs(os.path.join(self.dir, sub), exist_ok=True)
        self.write_config()
        self.start_munged()
        self.save()
        self.spawn("slurmctld", [SLURMCTLD, "-D", "-i", "-f", self.conf])
        self.save()
        self.spawn("slurmd", [SLURMD, "-D", "-N", "s1", "-f", self.conf])
        self.save()
        deadline = time.time() + timeout
        last = ""
        while time.time() < deadline:
            p = subprocess.run([self.tool("sinfo"), "-h", "-N", "-o", "%N %t"], env=self.env(),
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            last = p.stdout
            if p.returncode == 0 and p.stdout.split()[1:2] == ["idle"]:
                return
            time.sleep(0.5)
        self.down()
        raise RuntimeError("Slurm did not come up: %s (logs in %s/log)" % (last.strip(),
                                                                            self.dir))

    def down(self):
        path = os.path.join(self.dir, "pids.json")
        if os.path.exists(path):
            with open(path) as f:
                self.pids = json.load(f)
        for key in ("slurmd", "slurmctld", "munged"):
            if key in self.pids:
                stop(self.pids[key])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("cmd", choices=("up", "down"))
    ap.add_argument("--dir", required=True)
    ap.add_argument("--cpus", type=int, default=4)
    a = ap.parse_args()
    if not installed():
        print("Slurm is not installed (apt-get install slurmctld slurmd slurm-client)",
              file=sys.stderr)
        return 1
    c = SlurmCluster(a.dir, a.cpus)
    if a.cmd == "up":
        c.up()
        print("export SLURM_CONF=%s" % c.conf)
    else:
        c.down()
    return 0


if __name__ == "__main__":
    sys.exit(main())
