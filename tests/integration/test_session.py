#!/usr/bin/env python3
"""Interactive work: srun steps (tasks, labels, stdin, exit codes), salloc,
srun --pty on real pseudo-terminals (size, resize, Ctrl-C, exit code,
terminal restored), reattach with sattach after the client is killed,
another user refused, forged credentials and garbage refused, a node
daemon restart under a live session, idle sessions warned and ended."""

import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import struct
import subprocess
import tempfile
import termios
import time

import harness

CONFIG = harness.DEFAULT_CONFIG + """\
  - name: idle
    node_groups: [n]
    max_time: 1:00:00
    session_idle_timeout: "0:03"
    session_idle_warning: "0:03"
"""


class Pty:
    """A tool run on a pseudo-terminal we hold the master of."""

    def __init__(self, c, argv, rows=40, cols=100, user=None):
        env = c.env({"PS1": "P> ", "TERM": "xterm"})
        if user:
            pw = harness.pwd.getpwnam(user)
            argv = ["setpriv", "--reuid=" + user, "--regid=" + str(pw.pw_gid),
                    "--init-groups", "--"] + argv
        self.pid, self.fd = pty.fork()
        if self.pid == 0:
            os.chdir(c.work)
            os.execvpe(argv[0], argv, env)
        self.resize(rows, cols, signal_it=False)
        self.buf = b""
        self.status = None

    def resize(self, rows, cols, signal_it=True):
        fcntl.ioctl(self.fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        if signal_it:
            os.kill(self.pid, signal.SIGWINCH)

    def send(self, data):
        os.write(self.fd, data.encode() if isinstance(data, str) else data)

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], timeout)
        if r:
            try:
                d = os.read(self.fd, 65536)
            except OSError:
                d = b""
            self.buf += d
            return bool(d)
        return True

    def expect(self, pattern, timeout=20):
        """Wait for a regex in the output since the last match; return the match."""
        deadline = time.time() + timeout
        rx = re.compile(pattern.encode() if isinstance(pattern, str) else pattern)
        while True:
            m = rx.search(self.buf)
            if m:
                self.buf = self.buf[m.end():]
                return m
            if time.time() > deadline or not self._read(0.2):
                m = rx.search(self.buf)
                if m:
                    self.buf = self.buf[m.end():]
                    return m
                raise AssertionError("no %r in %r" % (pattern, self.buf[-500:]))

    def wait(self, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            self._read(0.1)
            pid, st = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = os.waitstatus_to_exitcode(st)
                self._read(0.1)
                return self.status
        raise AssertionError("still running after %ds; output %r" % (timeout, self.buf[-500:]))

    def tty_modes(self):
        return termios.tcgetattr(self.fd)

    def kill(self, sig=signal.SIGKILL):
        os.kill(self.pid, sig)
        self.wait()

    def close(self):
        if self.status is None:
            try:
                os.kill(self.pid, signal.SIGKILL)
                os.waitpid(self.pid, 0)
            except OSError:
                pass
        os.close(self.fd)


def running_job(c, name=None):
    p = c.run("squeue", "-h", "-t", "R", "-o", "%i %j")
    for line in p.stdout.split():
        pass
    jobs = [l.split() for l in p.stdout.splitlines() if l.strip()]
    jobs = [int(j[0]) for j in jobs if name is None or j[1] == name]
    return jobs[-1] if jobs else None


class SessionTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        cls.user = harness.ensure_test_user()
        super().setUpClass()

    def tearDown(self):
        # every test leaves the cluster without jobs
        self.c.run("scancel", "-u", "root")
        self.c.run("scancel", "-u", harness.TEST_USER)
        self.c.wait_for(lambda: not self.c.run("squeue", "-h").stdout.strip(), timeout=20,
                        what="an empty queue")

    def test_srun_steps(self):
        c = self.c
        p = c.run("srun", "-N2", "-n4", "-l", "sh", "-c",
                  'echo "$SLURM_PROCID/$SLURM_NTASKS $SLURMD_NODENAME $SLURM_STEP_ID"')
        self.assertEqual(p.returncode, 0, p.stderr)
        lines = sorted(p.stdout.splitlines())
        self.assertEqual(lines, ["0: 0/4 n1 0", "1: 1/4 n1 0", "2: 2/4 n2 0", "3: 3/4 n2 0"])
        # stdin reaches the task; the worst exit code comes back
        p = c.run("srun", "sh", "-c", "tr a-z A-Z; exit 3", input="hello\n")
        self.assertEqual(p.returncode, 3)
        self.assertEqual(p.stdout, "HELLO\n")
        self.assertIn("task 0: Exited with exit code 3", p.stderr)
        # a command that does not exist
        p = c.run("srun", "/no/such/program")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("No such file or directory", p.stderr)

    def test_salloc_with_steps(self):
        c = self.c
        p = c.run("salloc", "-N2", "sh", "-c",
                  'echo "nodes=$SLURM_JOB_NODELIST n=$SLURM_NNODES"; '
                  'srun -l hostname >/dev/null; srun -N1 -n1 sleep 1 & sleep 0.5; '
                  'squeue -s -h -o "%i %j"; wait; exit 5')
        self.assertEqual(p.returncode, 5, p.stderr)
        self.assertIn("nodes=n[1-2] n=2", p.stdout)
        m = re.search(r"salloc: Granted job allocation (\d+)", p.stderr)
        self.assertTrue(m, p.stderr)
        job = int(m.group(1))
        self.assertIn("salloc: Relinquishing job allocation %d" % job, p.stderr)
        self.assertIn("%d.1 sleep" % job, p.stdout)
        # accounting: the allocation and its steps
        p = c.run("sacct", "-j", str(job), "-n", "-P", "-o", "JobID,JobName,State,ExitCode")
        lines = p.stdout.splitlines()
        self.assertIn("%d.0|hostname|COMPLETED|0:0" % job, lines)
        self.assertIn("%d.1|sleep|COMPLETED|0:0" % job, lines)
        self.assertEqual(lines[0].split("|")[0], str(job))
        self.assertEqual(lines[0].split("|")[3], "5:0")

    def test_pty_session(self):
        c = self.c
        t = Pty(c, ["srun", "--pty", "bash", "--norc", "-i"])
        try:
            t.expect("P> ")
            t.send("echo SIZE=$(stty size) TTY=$(tty) T=$TERM\n")
            m = t.expect(r"SIZE=(\d+ \d+) TTY=(\S+) T=(\S+)")
            self.assertEqual(m.group(1), b"40 100")
            self.assertTrue(m.group(2).startswith(b"/dev/pts/"), m.group(2))
            self.assertEqual(m.group(3), b"xterm")
            # while the session runs, the node counts it
            job = running_job(c, "bash")
            self.assertIsNotNone(job)
            info = c.show_job(job)
            self.assertEqual(info["BatchFlag"], "0")
            c.wait_for(lambda: "Sessions=1" in c.run("scontrol", "show", "node",
                                                       info["NodeList"]).stdout,
                       timeout=10, what="the node reporting the session")
            # local raw mode while the session runs
            self.assertEqual(t.tty_modes()[3] & termios.ICANON, 0)
            t.expect("P> ")
            t.resize(50, 132)
            time.sleep(0.5)
            t.send("echo SIZE2=$(stty size)\n")
            self.assertEqual(t.expect(r"SIZE2=(\d+ \d+)").group(1), b"50 132")
            # Ctrl-C reaches the remote foreground process
            t.expect("P> ")
            t.send("sh -c \"trap 'echo GOT-\\$((2*4)); exit 0' INT; echo READY-\\$((1+1)); "
                   "while :; do sleep 0.1; done\"\n")
            t.expect("READY-2")
            t.send("\x03")
            t.expect("GOT-8")
            # Ctrl-Z too, and the job can be resumed
            t.expect("P> ")
            t.send("sleep 30\n")
            time.sleep(1)
            t.send("\x1a")
            t.expect("Stopped")
            t.expect("P> ")
            t.send("fg\n")
            t.expect("sleep 30")
            time.sleep(0.5)
            t.send("\x03")
            t.send("exit 7\n")
            self.assertEqual(t.wait(), 7)
            # the terminal is cooked again
            self.assertNotEqual(t.tty_modes()[3] & termios.ICANON, 0)
            self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "FAILED")
        finally:
            t.close()

    def test_reattach_after_client_killed(self):
        c = self.c
        t = Pty(c, ["srun", "--pty", "bash", "--norc", "-i"], user=harness.TEST_USER)
        try:
            t.expect("P> ")
            t.send("echo MARK-$((6*7))\n")
            t.expect("MARK-42")
            job = running_job(c, "bash")
            t.kill()
        finally:
            t.close()
        # the session outlives its client
        time.sleep(1)
        self.assertEqual(c.state(job), "RUNNING")
        self.assertIn("Step=%d.0" % job, c.run("scontrol", "show", "job", str(job)).stdout)
        # another user may not attach; the session is untouched
        p = c.run("sattach", "%d.0" % job, user="nobody")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        p = c.run("sattach", "%d.9" % job, user=harness.TEST_USER)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid job step id", p.stderr)
        # a new step in the same allocation, as Slurm's srun --jobid --overlap
        p = c.run("srun", "--jobid=%d" % job, "--overlap", "sh", "-c", "echo step=$SLURM_STEP_ID",
                  user=harness.TEST_USER)
        self.assertEqual((p.returncode, p.stdout), (0, "step=1\n"), p.stderr)
        p = c.run("srun", "--jobid=%d" % job, "true", user="nobody")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        # the owner reattaches and sees the recent output first
        t = Pty(c, ["sattach", "%d.0" % job], user=harness.TEST_USER)
        try:
            t.expect("MARK-42")
            t.send("echo AGAIN-$((7*7))\n")
            t.expect("AGAIN-49")
            t.send("exit 0\n")
            self.assertEqual(t.wait(), 0)
        finally:
            t.close()
        # srun's allocation was left when srun was killed: the user ends it
        c.run("scancel", str(job), user=harness.TEST_USER)

    def test_session_survives_node_daemon_restart(self):
        c = self.c
        t = Pty(c, ["srun", "-w", "n2", "--pty", "bash", "--norc", "-i"])
        try:
            t.expect("P> ")
            job = running_job(c, "bash")
            t.send("echo BEFORE-$((1+2))\n")
            t.expect("BEFORE-3")
            c.daemon("stop-daemon", "n2")
            time.sleep(0.5)
            c.daemon("start-daemon", "n2")
            # srun rejoins the restarted daemon by itself
            t.expect("P> ")
            deadline = time.time() + 15
            while b"AFTER-4" not in t.buf and time.time() < deadline:
                t.send("echo AFTER-$((2+2))\n")
                t._read(1.0)
            self.assertIn(b"AFTER-4", t.buf)
            self.assertNotIn(b"BEFORE-3", t.buf)  # no replay of what it saw
            # and sattach works too, once srun is gone
            t.kill()
        finally:
            t.close()
        t = Pty(c, ["sattach", "%d.0" % job])
        try:
            t.send("echo ALIVE-$((2+3))\n")
            t.expect("ALIVE-5")
            t.send("exit\n")
            self.assertEqual(t.wait(), 0)
        finally:
            t.close()

    def test_bad_credentials_and_garbage(self):
        c = self.c
        t = Pty(c, ["srun", "-w", "n1", "--pty", "bash", "--norc", "-i"])
        try:
            t.expect("P> ")
            job = running_job(c, "bash")
            with open(os.path.join(c.dir, "cluster.json")) as f:
                st = json.load(f)
            port = st["node_ports"]["n1"]
            munge_sock = os.path.join(c.dir, "munge", "munge.sock")
            # a credential a user made himself is not the controller's
            forged = subprocess.run(
                ["setpriv", "--reuid=" + harness.TEST_USER, "--regid=" + str(self.user.pw_gid),
                 "--init-groups", "--", "munge", "-S", munge_sock, "-s",
                 '{"cred":"step","purpose":"attach","job_id":%d,"step_id":0,"node":"n1",'
                 '"client_uid":%d,"expires":9999999999}' % (job, self.user.pw_uid)],
                stdout=subprocess.PIPE, text=True).stdout.strip()
            p = c.run(harness.RAWSEND, "127.0.0.1", str(port), "--sign", munge_sock,
                      "step_connect", '{"cred":"%s"}' % forged, user=harness.TEST_USER)
            self.assertIn("not issued by the controller", p.stdout)
            p = c.run(harness.RAWSEND, "127.0.0.1", str(port), "--sign", munge_sock,
                      "step_connect", '{"cred":"MUNGE:garbage"}')
            self.assertIn("Invalid job credential", p.stdout)
            # garbage frames and envelopes get an error or nothing; the session is untouched
            c.run(harness.RAWSEND, "127.0.0.1", str(port), "--raw", "IXYZ")
            p = c.run(harness.RAWSEND, "127.0.0.1", str(port), "--raw", "{not json")
            self.assertIn("rc", p.stdout)
            c.run(harness.RAWSEND, "127.0.0.1", str(port), "--size", "100000")
            t.send("echo STILL-$((1+1))\n")
            t.expect("STILL-2")
            t.send("exit\n")
            self.assertEqual(t.wait(), 0)
        finally:
            t.close()

    def test_idle_session_warned_and_ended(self):
        c = self.c
        t = Pty(c, ["srun", "-p", "idle", "--pty", "bash", "--norc", "-i"])
        try:
            t.expect("P> ")
            job = running_job(c, "bash")
            # typing keeps it alive past the timeout
            for i in range(5):
                t.send("echo KEEP-%d\n" % i)
                t.expect("KEEP-%d\r\n" % i)
                time.sleep(1)
            self.assertEqual(c.state(job), "RUNNING")
            # then idle: a warning in the terminal, then the end
            t.expect("has been idle for", timeout=20)
            t.wait(timeout=20)
        finally:
            t.close()
        self.assertEqual(c.wait_state(job, ("TIMEOUT", "COMPLETED", "FAILED", "CANCELLED")),
                         "TIMEOUT")
        self.assertEqual(c.show_job(job)["Reason"], "InactiveLimit")
        p = c.run("sacct", "-j", str(job), "-X", "-n", "-P", "-o", "State,Reason")
        self.assertEqual(p.stdout.strip(), "TIMEOUT|InactiveLimit")

    def test_sattach_batch_output(self):
        c = self.c
        j = c.sbatch("--wrap", "echo FIRST; sleep 3; echo SECOND; exit 4")
        out = os.path.join(c.work, "slurm-%d.out" % j)
        c.wait_for(lambda: "FIRST" in harness.read(out) if os.path.exists(out) else False,
                   what="the job's first line")
        p = c.run("sattach", "%d.batch" % j, user="nobody")
        self.assertEqual(p.returncode, 1)
        p = c.run("sattach", "%d.batch" % j, timeout=30)
        self.assertEqual(p.stdout, "FIRST\nSECOND\n")
        self.assertEqual(p.returncode, 4)

    def test_errors(self):
        c = self.c
        p = c.run("srun", "--jobid=999999", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid job id", p.stderr)
        p = c.run("srun")
        self.assertEqual(p.returncode, 1)
        self.assertIn("No command given", p.stderr)
        p = c.run("sattach", "12x")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid job step id", p.stderr)
        p = c.run("srun", "-n2", "--pty", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--pty runs one task", p.stderr)


GPU_CONFIG = harness.DEFAULT_CONFIG.replace("    memory: 1G\n", "    memory: 1G\n    gpus: 1\n") + """\
  - name: gidle
    node_groups: [n]
    max_time: 1:00:00
    session_idle_timeout: "0:03"
    session_idle_warning: "0:03"
"""


class GpuActivityTest(harness.ClusterTest):
    """A session whose GPU is busy is in use, even with no typing.  A
    stand-in nvidia-smi reports the utilisation this test sets."""
    config = GPU_CONFIG

    @classmethod
    def setUpClass(cls):
        cls.fake = tempfile.mkdtemp(prefix="slurmish-fake-smi-")
        os.chmod(cls.fake, 0o755)
        cls.util = os.path.join(cls.fake, "util")
        with open(cls.util, "w") as f:
            f.write("60\n")
        smi = os.path.join(cls.fake, "nvidia-smi")
        with open(smi, "w") as f:
            f.write('#!/bin/sh\nif [ "$1" = -L ]; then echo "GPU 0: Fake (UUID: GPU-0)"; '
                    'else echo "0, $(cat %s)"; fi\n' % cls.util)
        os.chmod(smi, 0o755)
        os.environ["SLURMISH_NVIDIA_SMI"] = smi
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        del os.environ["SLURMISH_NVIDIA_SMI"]
        shutil.rmtree(cls.fake, ignore_errors=True)

    def test_busy_gpu_keeps_session(self):
        c = self.c
        t = Pty(c, ["srun", "-p", "gidle", "--gres=gpu:1", "--pty", "bash", "--norc", "-i"])
        try:
            t.expect("P> ")
            t.send("echo GPU=$CUDA_VISIBLE_DEVICES-$((1+1))\n")
            t.expect("GPU=0-2")
            job = running_job(c, "bash")
            # no input for three times the timeout: the busy GPU keeps it
            time.sleep(9)
            self.assertEqual(c.state(job), "RUNNING")
            self.assertNotIn(b"has been idle", t.buf)
            with open(self.util, "w") as f:
                f.write("0\n")
            t.expect("has been idle for", timeout=20)
            t.wait(timeout=20)
        finally:
            t.close()
        self.assertEqual(c.wait_state(job, ("TIMEOUT", "COMPLETED", "FAILED")), "TIMEOUT")


if __name__ == "__main__":
    harness.main()
