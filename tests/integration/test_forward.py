#!/usr/bin/env python3
"""Port forwarding over the session stream (srun/sattach --forward-port):
a web server in a job reached through 127.0.0.1 on the client side (a
small file, a few MB checked by hash, two connections at once), an upload
with a half close, a refused port closing the local connection promptly,
listeners on the loopback only, sattach adding forwards to a live step and
to a batch job, --pty, and other users refused (by the controller, and by
the node daemon for root, who may attach but does not own the job).  A
throughput figure is printed, not asserted."""

import hashlib
import os
import pty
import re
import select
import signal
import socket
import subprocess
import threading
import time
import urllib.request

import harness

SINK = r'''
import hashlib, socket, sys, threading

def handle(c):
    f = c.makefile("rb")
    words = f.readline().split()
    if words and words[0] == b"SHA":
        # read to the end of input (the client's half close), answer the hash
        h, n = hashlib.sha256(), 0
        while True:
            d = f.read1(65536)
            if not d:
                break
            h.update(d)
            n += len(d)
        c.sendall(b"%s %d\n" % (h.hexdigest().encode(), n))
    elif words and words[0] == b"BLAST":
        buf = b"x" * (1 << 20)
        for _ in range(int(words[1])):
            c.sendall(buf)
    f.close()
    c.close()

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
while True:
    c, _ = s.accept()
    threading.Thread(target=handle, args=(c,), daemon=True).start()
'''


def as_user(user, argv):
    pw = harness.pwd.getpwnam(user)
    return ["setpriv", "--reuid=" + user, "--regid=" + str(pw.pw_gid), "--init-groups",
            "--"] + argv


def fetch(port, path, timeout=10):
    with urllib.request.urlopen("http://127.0.0.1:%d/%s" % (port, path), timeout=timeout) as r:
        return r.read()


def wait_fetch(port, path, timeout=30):
    """Fetch once the server in the job is up (until then the node refuses)."""
    deadline = time.time() + timeout
    while True:
        try:
            return fetch(port, path)
        except OSError:
            if time.time() > deadline:
                raise
            time.sleep(0.3)


def forwards(text):
    """{remote: local} from the "forwarding 127.0.0.1:L -> node N port R" lines."""
    return {int(r): int(l) for l, r in
            re.findall(r"forwarding 127\.0\.0\.1:(\d+) -> node \w+ port (\d+)", text)}


def connections_to(port):
    """Established TCP connections to a port (the node daemon's ends)."""
    n = 0
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            fields = line.split()
            if fields[3] == "01" and int(fields[2].rsplit(":", 1)[1], 16) == port:
                n += 1
    return n


def listeners(port):
    """Addresses of the sockets listening on a TCP port, from /proc/net/tcp{,6}."""
    found = []
    for name in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(name) as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                addr, hport = fields[1].rsplit(":", 1)
                if fields[3] == "0A" and int(hport, 16) == port:
                    found.append(addr)
    return found


CONFIG = harness.DEFAULT_CONFIG + """\
  - name: idle
    node_groups: [n]
    max_time: 1:00:00
    session_idle_timeout: "0:03"
    session_idle_warning: "0:03"
"""


class ForwardTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        cls.user = harness.ensure_test_user()
        super().setUpClass()
        cls.www = os.path.join(cls.c.work, "www")
        os.makedirs(cls.www)
        with open(os.path.join(cls.www, "hello.txt"), "w") as f:
            f.write("hello through the session\n")
        cls.big = os.urandom(4 * 1024 * 1024 + 123)
        with open(os.path.join(cls.www, "big.bin"), "wb") as f:
            f.write(cls.big)
        with open(os.path.join(cls.www, "sink.py"), "w") as f:
            f.write(SINK)
        os.chmod(cls.www, 0o755)
        for n in os.listdir(cls.www):
            os.chmod(os.path.join(cls.www, n), 0o644)

    def tearDown(self):
        self.c.run("scancel", "-u", "root")
        self.c.run("scancel", "-u", harness.TEST_USER)
        self.c.wait_for(lambda: not self.c.run("squeue", "-h").stdout.strip(), timeout=20,
                        what="an empty queue")

    def servers_cmd(self, http_port, sink_port=None):
        cmd = "cd %s || exit 1; " % self.www
        if sink_port:
            cmd += "python3 sink.py %d & " % sink_port
        return cmd + "exec python3 -m http.server %d --bind 127.0.0.1" % http_port

    def start_srun(self, args, user=harness.TEST_USER):
        err = open(os.path.join(self.c.dir, "srun-%d.err" % time.time_ns()), "w+")
        p = subprocess.Popen(as_user(user, ["srun"] + args), cwd=self.c.work, env=self.c.env(),
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
        return p, err

    def stop_srun(self, p, err):
        """End the user's jobs, and so srun."""
        self.c.run("scancel", "-u", harness.TEST_USER)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
        err.close()

    def stderr_of(self, err):
        err.flush()
        with open(err.name) as f:
            return f.read()

    def wait_forwards(self, err, n, proc=None):
        return self.c.wait_for(lambda: len(forwards(self.stderr_of(err))) >= n and
                               forwards(self.stderr_of(err)), timeout=30,
                               what="srun to say where it forwards: %r" % self.stderr_of(err))

    def user_job(self):
        return self.c.wait_for(lambda: self.c.run("squeue", "-h", "-u", harness.TEST_USER, "-t",
                                                  "R", "-o", "%i").stdout.split(),
                               what="the user's job running")[0]

    def test_srun_forward(self):
        c = self.c
        http, sink, dead = harness.free_port(), harness.free_port(), harness.free_port()
        fixed = harness.free_port()
        p, err = self.start_srun(["--forward-port", "%d:%d" % (fixed, http),
                                  "--forward-port=0:%d" % sink, "--forward-port", "0:%d" % dead,
                                  "sh", "-c", self.servers_cmd(http, sink)])
        try:
            fw = self.wait_forwards(err, 3)
            self.assertEqual(fw[http], fixed)
            self.assertNotIn(0, fw.values())
            # listeners on the client's loopback, and nowhere else
            for local in fw.values():
                self.assertEqual(listeners(local), ["0100007F"], "port %d" % local)
            # a small file, then a few MB, byte for byte
            self.assertEqual(wait_fetch(fixed, "hello.txt"), b"hello through the session\n")
            self.assertEqual(hashlib.sha256(fetch(fixed, "big.bin")).hexdigest(),
                             hashlib.sha256(self.big).hexdigest())
            # two connections at once
            results = [None, None]

            def get(i):
                results[i] = fetch(fixed, "big.bin", timeout=30)
            ts = [threading.Thread(target=get, args=(i,)) for i in range(2)]
            for t in ts:
                t.start()
            for t in ts:
                t.join(60)
            self.assertEqual(results, [self.big, self.big])
            # upload: the node end sees our half close as its end of input
            up = os.urandom(3 * 1024 * 1024)
            reply = self.request(fw[sink], b"SHA\n" + up)
            self.assertEqual(reply.decode(), "%s %d\n" % (hashlib.sha256(up).hexdigest(),
                                                           len(up)))
            # nothing listens there on the node: our connection is closed at once
            s = socket.create_connection(("127.0.0.1", fw[dead]), timeout=10)
            t0 = time.time()
            try:
                self.assertEqual(s.recv(100), b"")
            except ConnectionResetError:
                pass
            self.assertLess(time.time() - t0, 5)
            s.close()
            c.wait_for(lambda: "node n1 port %d: Connection refused" % dead in
                       self.stderr_of(err), timeout=10, what="srun's message")
            # throughput (printed, not asserted)
            mb = 64
            self.request(fw[sink], b"BLAST 1\n")  # the sink is up
            t0 = time.time()
            got = len(self.request(fw[sink], b"BLAST %d\n" % mb, retry=False))
            dt = time.time() - t0
            self.assertEqual(got, mb << 20)
            t0 = time.time()
            self.request(sink, b"BLAST %d\n" % mb, retry=False)
            direct = time.time() - t0
            print("\nforward throughput: %d MiB in %.2f s = %.0f MiB/s (direct: %.0f MiB/s)"
                  % (mb, dt, mb / dt, mb / direct))
            # sattach adds a forward to the live step, for as long as it runs
            job = self.user_job()
            sat = subprocess.Popen(as_user(harness.TEST_USER,
                                           ["sattach", "--forward-only", "--forward-port",
                                            "0:%d" % http, "%s.0" % job]),
                                   cwd=c.work, env=c.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
            line = sat.stderr.readline()
            local = forwards(line).get(http)
            self.assertTrue(local, line)
            self.assertEqual(fetch(local, "hello.txt"), b"hello through the session\n")
            sat.send_signal(signal.SIGINT)  # ends the forward, not the step
            self.assertEqual(sat.wait(10), 0)
            self.assertEqual(sat.stdout.read(), "")  # --forward-only: no output
            sat.stdout.close()
            sat.stderr.close()
            self.assertEqual(fetch(fixed, "hello.txt"), b"hello through the session\n")
            self.assertEqual(c.state(job), "RUNNING")
            c.run("scancel", job)
            p.wait(30)
            # the forward lived as long as the step
            with self.assertRaises(OSError):
                socket.create_connection(("127.0.0.1", fixed), timeout=5)
        finally:
            if p.poll() is None:
                p.kill()
            err.close()

    def request(self, port, data, retry=True, timeout=20):
        """Send data, half close, read the whole answer.  An empty answer
        is the node refusing (the sink is still starting): try again."""
        deadline = time.time() + timeout
        while True:
            s = socket.create_connection(("127.0.0.1", port), timeout=30)
            try:
                s.sendall(data)
                s.shutdown(socket.SHUT_WR)
                chunks = []
                while True:
                    d = s.recv(1 << 20)
                    if not d:
                        break
                    chunks.append(d)
            except (BrokenPipeError, ConnectionResetError):
                chunks = []
            finally:
                s.close()
            if chunks or not retry or time.time() > deadline:
                return b"".join(chunks)
            time.sleep(0.3)

    def test_batch_job_and_other_users(self):
        c = self.c
        http = harness.free_port()
        job = c.sbatch("--wrap", self.servers_cmd(http), user=harness.TEST_USER)
        c.wait_state(job, "RUNNING")
        spec = ["--forward-only", "--forward-port", "0:%d" % http, "%d.batch" % job]
        # another user is refused by the controller, root (who may attach)
        # by the node daemon: only the owner forwards into a job
        p = c.run("sattach", *spec, user="nobody", timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        p = c.run("sattach", *spec, timeout=20)
        self.assertEqual(p.returncode, 1)
        self.assertIn("only the job's owner", p.stderr)
        # the owner forwards into the batch job
        sat = subprocess.Popen(as_user(harness.TEST_USER, ["sattach"] + spec), cwd=c.work,
                               env=c.env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                               text=True)
        try:
            local = forwards(sat.stderr.readline()).get(http)
            self.assertTrue(local)
            self.assertEqual(wait_fetch(local, "hello.txt"), b"hello through the session\n")
            # a client killed with an idle connection open: the node closes its end
            idle = socket.create_connection(("127.0.0.1", local), timeout=10)
            c.wait_for(lambda: connections_to(http) == 1, timeout=10,
                       what="the node's connection to the server")
            sat.kill()
            sat.wait()
            idle.close()
            sat.stderr.close()
            c.wait_for(lambda: connections_to(http) == 0, timeout=20,
                       what="the node to close the connection of a client that went away")
            # the job ends: so does sattach
            sat = subprocess.Popen(as_user(harness.TEST_USER, ["sattach"] + spec), cwd=c.work,
                                   env=c.env(), stdout=subprocess.DEVNULL,
                                   stderr=subprocess.PIPE, text=True)
            local = forwards(sat.stderr.readline()).get(http)
            self.assertEqual(fetch(local, "hello.txt"), b"hello through the session\n")
            c.run("scancel", str(job))
            sat.wait(30)
        finally:
            if sat.poll() is None:
                sat.kill()
                sat.wait()
            sat.stderr.close()

    def test_pty(self):
        c = self.c
        http = harness.free_port()
        argv = as_user(harness.TEST_USER, ["srun", "--pty", "--forward-port", "0:%d" % http,
                                           "sh", "-c", self.servers_cmd(http)])
        pid, fd = pty.fork()
        if pid == 0:
            os.chdir(c.work)
            os.execvpe(argv[0], argv, c.env({"TERM": "xterm"}))
        buf = b""
        try:
            deadline = time.time() + 30
            while not forwards(buf.decode(errors="replace")) and time.time() < deadline:
                if select.select([fd], [], [], 0.5)[0]:
                    try:
                        buf += os.read(fd, 4096)
                    except OSError:
                        break
            local = forwards(buf.decode(errors="replace")).get(http)
            self.assertTrue(local, buf)
            self.assertEqual(wait_fetch(local, "hello.txt"), b"hello through the session\n")
            os.write(fd, b"\x03")  # Ctrl-C ends the server, and the step
            deadline = time.time() + 20
            while time.time() < deadline:
                if os.waitpid(pid, os.WNOHANG)[0]:
                    pid = 0
                    break
                if select.select([fd], [], [], 0.2)[0]:
                    try:
                        os.read(fd, 4096)
                    except OSError:
                        pass
            self.assertEqual(pid, 0, "srun --pty still running")
        finally:
            if pid:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            os.close(fd)

    def test_node_daemon_restart(self):
        """The daemon's ends of the connections go with it; srun closes its
        ends, keeps listening, and forwards again once it has rejoined."""
        c = self.c
        http = harness.free_port()
        p, err = self.start_srun(["-w", "n2", "--forward-port", "0:%d" % http, "sh", "-c",
                                  self.servers_cmd(http)])
        try:
            local = self.wait_forwards(err, 1)[http]
            self.assertEqual(wait_fetch(local, "hello.txt"), b"hello through the session\n")
            idle = socket.create_connection(("127.0.0.1", local), timeout=10)
            c.wait_for(lambda: connections_to(http) == 1, timeout=10,
                       what="the node's connection to the server")
            c.daemon("stop-daemon", "n2")
            # our open connection is closed, not left hanging
            idle.settimeout(20)
            try:
                self.assertEqual(idle.recv(10), b"")
            except ConnectionResetError:
                pass
            idle.close()
            c.daemon("start-daemon", "n2")
            self.assertEqual(wait_fetch(local, "hello.txt"), b"hello through the session\n")
            self.assertIn("connection to node n2 lost", self.stderr_of(err))
        finally:
            self.stop_srun(p, err)

    def test_forward_use_is_activity(self):
        """A notebook used through its forward is a session in use: no
        terminal input, little CPU, yet not ended as idle; idle after."""
        c = self.c
        http = harness.free_port()
        p, err = self.start_srun(["-p", "idle", "--forward-port", "0:%d" % http, "sh", "-c",
                                  self.servers_cmd(http)])
        try:
            local = self.wait_forwards(err, 1)[http]
            wait_fetch(local, "hello.txt")
            job = self.user_job()
            for _ in range(20):  # 10 s: past the 3 s timeout and the 3 s warning
                self.assertEqual(fetch(local, "hello.txt"), b"hello through the session\n")
                time.sleep(0.5)
            self.assertEqual(c.state(job), "RUNNING")
            self.assertEqual(c.wait_state(job, ("TIMEOUT", "COMPLETED", "FAILED", "CANCELLED"),
                                          timeout=30), "TIMEOUT")
            self.assertEqual(c.show_job(job)["Reason"], "InactiveLimit")
        finally:
            self.stop_srun(p, err)

    def test_ipv6_loopback(self):
        """A server on ::1 only (as `localhost` may give): reached once
        127.0.0.1 refuses; a port closed on both says Connection refused."""
        try:
            probe = socket.socket(socket.AF_INET6)
            probe.bind(("::1", 0))
            probe.close()
        except OSError:
            self.skipTest("no IPv6 loopback here")
        c = self.c
        http, dead = harness.free_port(), harness.free_port()
        p, err = self.start_srun(["--forward-port", "0:%d" % http, "--forward-port",
                                  "0:%d" % dead, "sh", "-c",
                                  "cd %s || exit 1; exec python3 -m http.server %d --bind ::1"
                                  % (self.www, http)])
        try:
            fw = self.wait_forwards(err, 2)
            self.assertEqual(wait_fetch(fw[http], "hello.txt"), b"hello through the session\n")
            with self.assertRaises(OSError):
                fetch(fw[dead], "hello.txt")
            c.wait_for(lambda: "port %d: Connection refused" % dead in self.stderr_of(err),
                       timeout=10, what="srun's message")
        finally:
            self.stop_srun(p, err)

    def test_bad_specs(self):
        c = self.c
        for spec, what in (("70000", "REMOTE a port from 1 to 65535"),
                           ("x:80", "local port must be 0 to 65535"),
                           ("8888:", "REMOTE a port"), ("0", "REMOTE a port")):
            p = c.run("srun", "--forward-port", spec, "true")
            self.assertEqual(p.returncode, 1, spec)
            self.assertIn(what, p.stderr, spec)
        # a local port in use fails before anything is allocated
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        try:
            p = c.run("srun", "--forward-port", "%d:80" % s.getsockname()[1], "true")
            self.assertEqual(p.returncode, 1)
            self.assertIn("Address already in use", p.stderr)
        finally:
            s.close()
        self.assertEqual(c.run("squeue", "-h").stdout.strip(), "")
        p = c.run("sattach", "--forward-only", "1.0")
        self.assertEqual(p.returncode, 1)
        self.assertIn("needs at least one --forward-port", p.stderr)


if __name__ == "__main__":
    harness.main()
