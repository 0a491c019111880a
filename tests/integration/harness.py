"""harness.py - integration test harness: a real local slurmish cluster.

Each test module starts its own cluster with slurmish-local (private
munged, controller and node daemons on 127.0.0.1 with free ports, state
under a private temporary directory) and stops exactly those processes at
the end.  Programs come from the build tree named by SLURMISH_BUILDDIR
(set by `make check`).
"""

import atexit
import grp
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

BUILDDIR = os.environ.get("SLURMISH_BUILDDIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
LAUNCHER = os.path.join(BUILDDIR, "scripts", "slurmish-local")
RAWSEND = os.path.join(BUILDDIR, "tests", "integration", "rawsend")

TEST_USER = "slurmish-test"
TEST_GROUP = "slurmish-tgrp"

DEFAULT_CONFIG = """\
cluster_name: itest
controller:
  heartbeat_interval: 1
  node_timeout: 10
  kill_wait: 2
  sched_interval: 1
  message_timeout: 5
node_groups:
  - name: n
    nodes: n[1-2]
    cpus: 2
    memory: 1G
partitions:
  - name: debug
    node_groups: [n]
    default: true
    max_time: 1:00:00
    default_time: 30:00
"""


def require_root():
    if os.geteuid() != 0:
        print("SKIP: integration tests need root (jobs run as other users)")
        sys.exit(77)
    if not os.path.exists(LAUNCHER):
        print("SKIP: %s not built" % LAUNCHER)
        sys.exit(77)


def ensure_user(name):
    """An unprivileged user of its own (besides TEST_USER), created once."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", name], check=True)
    return pwd.getpwnam(name)


def ensure_test_user():
    """An unprivileged user with a supplementary group, for jobs run as a user."""
    try:
        grp.getgrnam(TEST_GROUP)
    except KeyError:
        subprocess.run(["groupadd", TEST_GROUP], check=True)
    try:
        pwd.getpwnam(TEST_USER)
    except KeyError:
        subprocess.run(["useradd", "--create-home", "--shell", "/bin/sh", "-G", TEST_GROUP,
                        TEST_USER], check=True)
    u = pwd.getpwnam(TEST_USER)
    if TEST_USER not in grp.getgrnam(TEST_GROUP).gr_mem:
        subprocess.run(["usermod", "-a", "-G", TEST_GROUP, TEST_USER], check=True)
    return u


class Cluster:
    def __init__(self, config=DEFAULT_CONFIG):
        self.dir = tempfile.mkdtemp(prefix="slurmish-it-")
        os.chmod(self.dir, 0o755)
        self.config_src = os.path.join(self.dir, "source.yaml")
        with open(self.config_src, "w") as f:
            f.write(config)
        self.conf = os.path.join(self.dir, "slurmish.yaml")
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work)
        os.chmod(self.work, 0o777 | 0o1000)
        self.started = False
        self.cleaned = False

    def launcher(self, *args, check=True):
        p = subprocess.run([LAUNCHER] + list(args) + ["--dir", self.dir],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and p.returncode:
            raise RuntimeError("slurmish-local %s failed:\n%s%s" % (args[0], p.stdout, p.stderr))
        return p

    def up(self):
        # a test run killed half-way (make interrupted, CI timeout) still
        # stops its daemons and jobs: see main() for the signals
        atexit.register(self.cleanup)
        self.started = True
        self.launcher("up", "--config", self.config_src)

    def down(self):
        if self.started:
            self.launcher("down", check=False)
            self.started = False

    def print_logs(self, lines=40):
        """The daemons' last log lines, for a failed test's report (CI keeps
        nothing else)."""
        logdir = os.path.join(self.dir, "log")
        # node daemons the local power provider started log beside their PID files
        pdir = os.path.join(self.dir, "state", "power", "local")
        logs = [os.path.join(logdir, n) for n in sorted(os.listdir(logdir))
                if n != "munged.log"] if os.path.isdir(logdir) else []
        logs += [os.path.join(pdir, n) for n in sorted(os.listdir(pdir))
                 if n.endswith(".log")] if os.path.isdir(pdir) else []
        for path in logs:
            name = os.path.basename(path)
            with open(path, errors="replace") as f:
                tail = f.readlines()[-lines:]
            sys.stderr.write("---- %s (last %d lines)\n%s" % (name, len(tail), "".join(tail)))

    def cleanup(self):
        if self.cleaned:
            return
        self.cleaned = True
        self.down()
        if os.environ.get("SLURMISH_KEEP_TEST_DIRS"):
            print("kept", self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)

    def config_variant(self, name, drop=(), **controller):
        """A copy of this cluster's config, <dir>/<name>.yaml, with the
        controller settings in drop removed and those given set; its path."""
        import yaml
        with open(self.conf) as f:
            conf = yaml.safe_load(f)
        for k in drop:
            conf["controller"].pop(k, None)
        conf["controller"].update(controller)
        path = os.path.join(self.dir, name + ".yaml")
        with open(path, "w") as f:
            yaml.safe_dump(conf, f, sort_keys=False)
        return path

    def env(self, extra=None):
        env = dict(os.environ)
        env["SLURMISH_CONF"] = self.conf
        env["PATH"] = os.path.join(BUILDDIR, "cli") + ":" + env.get("PATH", "")
        if extra:
            env.update(extra)
        return env

    def run(self, *args, user=None, cwd=None, input=None, env=None, timeout=60):
        """Run a tool (or any command) against this cluster."""
        cmd = list(args)
        if cmd[0] in ("sbatch", "squeue", "scancel", "sinfo", "scontrol"):
            cmd[0] = os.path.join(BUILDDIR, "cli", cmd[0])
        if user:
            cmd = ["setpriv", "--reuid=" + user, "--regid=" + str(pwd.getpwnam(user).pw_gid),
                   "--init-groups", "--"] + cmd
        return subprocess.run(cmd, cwd=cwd or self.work, input=input, env=self.env(env),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              timeout=timeout)

    def sbatch(self, *args, user=None, cwd=None, input=None):
        p = self.run("sbatch", "--parsable", *args, user=user, cwd=cwd, input=input)
        if p.returncode:
            raise AssertionError("sbatch failed: %s" % p.stderr)
        return int(p.stdout.strip().split(";")[0])

    def show_job(self, job):
        p = self.run("scontrol", "show", "job", str(job))
        if p.returncode:
            raise AssertionError("scontrol show job %s failed: %s" % (job, p.stderr))
        return dict(re.findall(r"(\S+?)=(\S*)", p.stdout))

    def state(self, job):
        return self.show_job(job)["JobState"]

    def wait_state(self, job, states, timeout=30):
        if isinstance(states, str):
            states = (states,)
        deadline = time.time() + timeout
        st = None
        while time.time() < deadline:
            st = self.state(job)
            if st in states:
                return st
            time.sleep(0.1)
        raise AssertionError("job %s in state %s, not %s after %ds" % (job, st, states, timeout))

    def wait_for(self, pred, timeout=30, what="condition"):
        deadline = time.time() + timeout
        while time.time() < deadline:
            v = pred()
            if v:
                return v
            time.sleep(0.1)
        raise AssertionError("timed out waiting for " + what)

    def wait_nodes_idle(self, timeout=30):
        """Until no node holds a job (a cancelled job may still be completing)."""
        self.wait_for(lambda: set(self.run("sinfo", "-h", "-N", "-o", "%t").stdout.split())
                      == {"idle"}, timeout, "every node idle")

    def wait_file(self, path, timeout=30):
        return self.wait_for(lambda: os.path.exists(path) and os.path.getsize(path) > 0,
                             timeout, "file " + path)

    def daemon(self, action, name, signal=None):
        args = [action, name] + (["--signal", signal] if signal else [])
        return self.launcher(*args)


class ClusterTest(unittest.TestCase):
    """Base class: one cluster for the whole module's test class."""
    config = DEFAULT_CONFIG

    @classmethod
    def setUpClass(cls):
        cls.c = Cluster(cls.config)
        try:
            cls.c.up()
        except Exception:
            cls.c.cleanup()
            raise

    failed = False

    def run(self, result=None):
        before = len(result.failures) + len(result.errors) if result else 0
        out = super().run(result)
        if result and len(result.failures) + len(result.errors) > before:
            type(self).failed = True
        return out

    @classmethod
    def tearDownClass(cls):
        if cls.failed:
            cls.c.print_logs()
        cls.c.cleanup()


def _interrupted(signum, frame):
    # KeyboardInterrupt, unlike SystemExit, goes through unittest's
    # handlers, so the atexit cleanup of the cluster runs
    raise KeyboardInterrupt("signal %d" % signum)


# Under `make distcheck` (scripts/test.sh sets SLURMISH_DISTCHECK_SUBSET) the
# tarball's build is proven by the unit tests and these modules; the whole
# integration suite has just run on the same sources, and running it twice
# would double CI's time.
DISTCHECK_SUBSET = ("test_batch", "test_session", "test_config", "test_reject")


def main():
    module = os.path.splitext(os.path.basename(sys.argv[0]))[0]
    if os.environ.get("SLURMISH_DISTCHECK_SUBSET") and module not in DISTCHECK_SUBSET:
        print("SKIP: not in the distcheck subset (the full suite ran before distcheck)")
        sys.exit(77)
    require_root()
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _interrupted)
    unittest.main(verbosity=2)


def free_port():
    """A loopback TCP port free right now (for a listener a test starts)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def read(path):
    with open(path, errors="replace") as f:
        return f.read()
