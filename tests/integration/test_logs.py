"""test_logs.py - daemon logging: a log file is reopened on SIGHUP (so
logrotate can move it away), and the level comes from the configuration
(controller.log_level, node_daemon.log_level), raised by -v.

slurmish-local runs the daemons with -D and their stderr in DIR/log/; here
a test stops one of them and runs its own in its place with -L FILE, the
way an admin without journald would, then gives the cluster its daemon
back.
"""

import os
import re
import signal
import subprocess
import time

import harness

BUILDDIR = harness.BUILDDIR
CTLD = os.path.join(BUILDDIR, "slurmish-ctld", "slurmish-ctld")
NODED = os.path.join(BUILDDIR, "slurmish-d", "slurmish-d")
DEBUG = re.compile(r"\[\d+\]: debug: ")


def running(pid):
    """Whether pid is alive (a zombie nobody reaps counts as gone)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


class LogTest(harness.ClusterTest):
    def setUp(self):
        self.logdir = os.path.join(self.c.dir, "ownlogs")
        os.makedirs(self.logdir, exist_ok=True)
        self.procs = []

    def tearDown(self):
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
                try:
                    p.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()

    def config_with(self, section, line):
        """A copy of the cluster's config with `line` added under `section:`."""
        text = harness.read(self.c.conf)
        if re.search(r"^%s:" % section, text, re.M):
            text = re.sub(r"^%s:[^\n]*\n" % section, "%s:\n  %s\n" % (section, line), text,
                          count=1, flags=re.M)
        else:
            text += "%s:\n  %s\n" % (section, line)
        path = os.path.join(self.logdir, "%s-%d.yaml" % (section, len(self.procs)))
        with open(path, "w") as f:
            f.write(text)
        return path

    def start(self, argv):
        # stderr (empty unless the daemon cannot start) beside the logs
        errfile = os.path.join(self.logdir, "stderr-%d" % len(self.procs))
        with open(errfile, "wb") as err:
            p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                 stderr=err)
        p.errfile = errfile
        self.procs.append(p)
        return p

    def stop(self, p):
        p.terminate()
        p.wait(timeout=20)
        self.assertEqual(p.returncode, 0, harness.read(p.errfile))

    def wait_log(self, path, pattern, what, timeout=30):
        rx = re.compile(pattern, re.M)
        return self.c.wait_for(lambda: os.path.exists(path) and rx.search(harness.read(path)),
                               timeout, "%s in %s" % (what, path))

    def own_ctld(self, log, conf=None, verbose=0):
        p = self.start([CTLD, "-D", "-L", log, "-f", conf or self.c.conf] + ["-v"] * verbose)
        self.wait_log(log, r": info: slurmish-ctld \S+ started", "the start")
        return p

    def test_ctld_reopens_its_log_on_sighup(self):
        c = self.c
        c.daemon("stop-daemon", "ctld")
        try:
            log = os.path.join(self.logdir, "ctld.log")
            p = self.own_ctld(log)
            os.rename(log, log + ".1")   # what logrotate does
            os.kill(p.pid, signal.SIGHUP)
            # a new file, with what the daemon logs after the signal
            self.wait_log(log, r": info: configuration reloaded on SIGHUP", "the reload")
            self.assertNotIn("reloaded on SIGHUP", harness.read(log + ".1"))
            # and it keeps serving, and logging there
            self.assertEqual(c.run("sinfo", "-h", "-o", "%P").returncode, 0)
            os.kill(p.pid, signal.SIGHUP)
            self.c.wait_for(lambda: harness.read(log).count("reloaded on SIGHUP") == 2, 30,
                            "a second reload in the new file")
            self.stop(p)
            self.assertRegex(harness.read(log), r": info: shutting down")
        finally:
            c.daemon("start-daemon", "ctld")

    def test_daemonized_ctld_reopens_a_relative_log(self):
        """Without -D the controller chdirs to /: a relative -L path must
        still name the same file when SIGHUP reopens it."""
        c = self.c
        c.daemon("stop-daemon", "ctld")
        pid = None
        try:
            subprocess.run([CTLD, "-L", "rel.log", "-f", c.conf], cwd=self.logdir, check=True,
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, timeout=30)
            log = os.path.join(self.logdir, "rel.log")
            m = self.wait_log(log, r"slurmish-ctld\[(\d+)\]: info: slurmish-ctld \S+ started",
                              "the start")
            pid = int(m.group(1))
            os.rename(log, log + ".1")
            os.kill(pid, signal.SIGHUP)
            self.wait_log(log, r"slurmish-ctld\[%d\]: info: configuration reloaded" % pid,
                          "the reload, in a new rel.log where it was")
        finally:
            if pid:
                os.kill(pid, signal.SIGTERM)
                c.wait_for(lambda: not running(pid), 30, "the controller's exit")
            c.daemon("start-daemon", "ctld")

    def test_ctld_log_level_from_config_and_v(self):
        c = self.c
        c.daemon("stop-daemon", "ctld")
        try:
            # the default, info: no debug lines
            log = os.path.join(self.logdir, "ctld-info.log")
            self.stop(self.own_ctld(log))
            self.assertIsNone(DEBUG.search(harness.read(log)), harness.read(log))
            # controller.log_level: debug
            log = os.path.join(self.logdir, "ctld-debug.log")
            self.stop(self.own_ctld(log, conf=self.config_with("controller", "log_level: debug")))
            self.assertRegex(harness.read(log), r": debug: configuration .*: log level debug,")
            # -v raises the configured level one step, and a reload keeps it
            log = os.path.join(self.logdir, "ctld-v.log")
            p = self.own_ctld(log, verbose=1)
            self.assertRegex(harness.read(log), r": debug: configuration .*: log level info "
                             r"raised by -v,")
            for n in (1, 2):
                os.kill(p.pid, signal.SIGHUP)
                c.wait_for(lambda: harness.read(log).count("reloaded on SIGHUP") == n, 30,
                           "reload %d" % n)
            # the second reopen is logged at the level the first reload set
            self.assertEqual(harness.read(log).count(": debug: SIGHUP: log file reopened"), 2)
            self.stop(p)
            # a warning level hides info lines; -v shows them again
            conf = self.config_with("controller", "log_level: warning")
            log = os.path.join(self.logdir, "ctld-warning.log")
            p = self.start([CTLD, "-D", "-L", log, "-f", conf])
            self.c.wait_for(lambda: c.run("sinfo", "-h").returncode == 0, 30, "the controller")
            self.stop(p)
            self.assertNotRegex(harness.read(log), r": (info|debug): ")
        finally:
            c.daemon("start-daemon", "ctld")

    def test_node_daemon_log_reopen_and_level(self):
        c = self.c
        # a node daemon at the default level logs no debug lines (heartbeats
        # come every second here, each a debug line)
        time.sleep(2.5)
        self.assertIsNone(DEBUG.search(harness.read(os.path.join(c.dir, "log", "node-n1.log"))))

        c.daemon("stop-daemon", "n2")
        try:
            log = os.path.join(self.logdir, "n2.log")
            conf = self.config_with("node_daemon", "log_level: debug")
            p = self.start([NODED, "-D", "-N", "n2", "-p", "0", "-L", log, "-f", conf])
            self.wait_log(log, r"slurmish-d\(n2\)\[\d+\]: info: slurmish-d \S+ started", "start")
            self.wait_log(log, r": debug: heartbeat", "a heartbeat (node_daemon.log_level)")
            os.rename(log, log + ".1")
            os.kill(p.pid, signal.SIGHUP)
            self.wait_log(log, r": debug: SIGHUP: log file reopened", "the reopen")
            self.wait_log(log, r": debug: heartbeat", "a heartbeat in the new file")
            moved = harness.read(log + ".1")
            self.assertNotIn("log file reopened", moved)
            self.stop(p)
            self.assertNotIn("stopped", harness.read(log + ".1"))
            self.assertRegex(harness.read(log), r": info: stopped")
        finally:
            c.daemon("start-daemon", "n2")
        c.wait_for(lambda: "idle" in c.run("sinfo", "-h", "-n", "n2", "-o", "%t").stdout, 30,
                   "n2 back")


if __name__ == "__main__":
    harness.main()
