#!/usr/bin/env python3
"""The one-request tools speak ZMTP to the ctld themselves (lib/proto/zmtp.c)
instead of linking libzmq: they work against the real ctld, link neither
libzmq, libstdc++ nor SQLite, and fail cleanly, within the message timeout,
against a server that is not a ctld."""

import os
import shutil
import socket
import subprocess
import threading
import time

import harness

TOOLS = ("sbatch", "squeue", "scancel", "sinfo", "scontrol", "sacct", "sreport")
GREETING = b"\xff" + b"\0" * 8 + b"\x7f\x03\x00NULL" + b"\0" * 16 + b"\0" + b"\0" * 31
READY = b"\x04\x1c\x05READY\x0bSocket-Type\0\0\0\x06ROUTER"


class HostileServer:
    """A loopback TCP server that answers every connection with `script`
    (bytes, sent after reading the client's first bytes) and then stalls
    or hangs up."""

    def __init__(self, script, hangup=False):
        self.script, self.hangup = script, hangup
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        self.stop = False
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self):
        self.sock.settimeout(0.2)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.conns.append(c)
            try:
                c.settimeout(2)
                c.recv(64)
                if self.script:
                    c.sendall(self.script)
                if self.hangup:
                    c.close()
            except OSError:
                pass

    def close(self):
        self.stop = True
        self.thread.join()
        for c in self.conns:
            c.close()
        self.sock.close()


class ThinClientTest(harness.ClusterTest):

    def test_tools_link_no_zmq(self):
        ldd = shutil.which("ldd")
        if not ldd:
            self.skipTest("no ldd")
        for t in TOOLS:
            path = os.path.join(harness.BUILDDIR, "cli", t)
            out = subprocess.run([ldd, path], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                 text=True).stdout
            self.assertIn("libc.so", out, "%s: %s" % (t, out))  # a real binary, not a script
            # a sanitizer build's runtime (libasan) brings libstdc++ itself
            unwanted = ("libzmq", "libsqlite3") if "libasan" in out else \
                ("libzmq", "libstdc++", "libsqlite3")
            for lib in unwanted:
                self.assertNotIn(lib, out, "%s links %s:\n%s" % (t, lib, out))

    def test_tools_against_the_ctld(self):
        c = self.c
        jobs = [c.sbatch("--hold", "-J", "thin%d" % i, "--wrap", "true") for i in range(40)]
        # one reply of several kilobytes: long ZMTP frames
        p = c.run("squeue", "-h", "-o", "%i %j %t")
        self.assertEqual(p.returncode, 0, p.stderr)
        for i, j in enumerate(jobs):
            self.assertIn("%d thin%d PD" % (j, i), p.stdout)
        p = c.run("scontrol", "show", "job", str(jobs[0]))
        self.assertIn("JobName=thin0", p.stdout)
        # several requests on one connection
        p = c.run("scontrol", "release", ",".join(map(str, jobs[:2])))
        self.assertEqual(p.returncode, 0, p.stderr)
        p = c.run("scancel", *map(str, jobs))
        self.assertEqual(p.returncode, 0, p.stderr)
        for tool in (["sinfo", "-h"], ["sacct", "-n", "-X"], ["sreport", "cost", "user"]):
            p = c.run(os.path.join(harness.BUILDDIR, "cli", tool[0]), *tool[1:])
            self.assertEqual(p.returncode, 0, "%s: %s" % (tool, p.stderr))
        c.wait_for(lambda: c.run("squeue", "-h").stdout.strip() == "", what="empty queue")

    def conf_for(self, port, timeout=2, tools_port=False):
        # the tools talk to this port only, not to the cluster's tools
        # listeners: as the ROUTER (handshake first), or as the tools port
        # (handshake and request in one write)
        ports = {"tools_port": port} if tools_port else {"port": port, "tools_port": 0}
        return self.c.config_variant("hostile-%d" % port, drop=("tools_socket",),
                                     message_timeout=timeout, **ports)

    def sbatch_against(self, server, want, tools_port=False):
        """sbatch fails with `want` in its error, within the 2 s timeout (and
        its retries), never crashes."""
        conf = self.conf_for(server.port, tools_port=tools_port)
        t0 = time.time()
        p = self.c.run("sbatch", "--hold", "--wrap", "true", env={"SLURMISH_CONF": conf},
                       timeout=20)
        took = time.time() - t0
        self.assertGreater(p.returncode, 0, p.stderr)  # an error exit, not a signal
        self.assertIn(want, p.stderr)
        self.assertLess(took, 2 + 3, p.stderr)
        return took

    def test_hostile_servers(self):
        cases = [
            ("garbage", HostileServer(b"HTTP/1.1 400 Bad Request\r\n\r\n"), 
             "Unable to contact slurm controller (protocol error: the peer does not speak ZMTP"),
            ("stall", HostileServer(b""), "Unable to contact slurm controller (connect failure)"),
            ("half greeting", HostileServer(GREETING[:20]), "connect failure"),
            ("hang-up", HostileServer(b"", hangup=True), "connect failure"),
            ("curve", HostileServer(GREETING[:12] + b"CURVE" + b"\0" * 47), "CURVE"),
            ("huge frame", HostileServer(GREETING + READY + b"\x02\x7f" + b"\xff" * 7),
             "exceeds the limit"),
            ("reserved flags", HostileServer(GREETING + READY + b"\xf0\x01x"), "reserved"),
            ("cut reply", HostileServer(GREETING + READY + b"\x01\x00\x00\x40abc", hangup=True),
             "connection lost"),
            ("not a reply", HostileServer(GREETING + READY + b"\x01\x00\x00\x05hello"),
             "bad reply from the controller"),
        ]
        for name, server, want in cases:
            with self.subTest(name):
                try:
                    took = self.sbatch_against(server, want)
                    print("%s: failed as expected in %.2fs" % (name, took))
                finally:
                    server.close()
        # the same, pipelined, as against the ctld's tools port: the servers
        # see the request before they answer, and the errors are the same
        for name, server_args, want in ((n, (s.script, s.hangup), w) for n, s, w in cases):
            with self.subTest(name + ", pipelined"):
                server = HostileServer(*server_args)
                try:
                    took = self.sbatch_against(server, want, tools_port=True)
                    print("%s, pipelined: failed as expected in %.2fs" % (name, took))
                finally:
                    server.close()

    def test_nobody_listening(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))  # bound, never listening: connections are refused
        conf = self.conf_for(s.getsockname()[1], timeout=1)
        t0 = time.time()
        p = self.c.run("squeue", env={"SLURMISH_CONF": conf})
        took = time.time() - t0
        s.close()
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("Unable to contact slurm controller (connect failure)", p.stderr)
        # like a libzmq DEALER, it retries until the message timeout
        self.assertGreater(took, 0.9)
        self.assertLess(took, 4)


if __name__ == "__main__":
    harness.main()
