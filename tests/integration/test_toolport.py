#!/usr/bin/env python3
"""The ctld's own listeners for the tools (slurmish-ctld/toolport.c):
controller.tools_port (TCP) and controller.tools_socket (Unix), where the
loop speaks ZMTP itself.  Requests on the Unix socket may go without a
munge credential (the kernel names the sender); everywhere else they are
refused.  Peers that break the protocol are dropped with a log line and
nothing else changes."""

import json
import os
import pwd
import re
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import yaml

import harness

GREETING = b"\xff" + b"\0" * 8 + b"\x7f\x03\x00" + b"NULL" + b"\0" * 16 + b"\0" + b"\0" * 31


def command(name, data=b""):
    body = bytes([len(name)]) + name + data
    return bytes([0x04, len(body)]) + body


def ready(socket_type):
    return command(b"READY", b"\x0bSocket-Type" + struct.pack(">I", len(socket_type)) +
                   socket_type)


def frame(body, more=False):
    flags = 0x01 if more else 0
    if len(body) > 255:
        return bytes([flags | 0x02]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def request(body, *extra):
    """[empty][payload][extra...] as one message"""
    parts = [b"", body] + list(extra)
    return b"".join(frame(p, more=i < len(parts) - 1) for i, p in enumerate(parts))


class Peer:
    """A raw ZMTP peer of the tools listeners."""

    def __init__(self, addr, socket_type=b"DEALER", handshake=True):
        fam = socket.AF_UNIX if isinstance(addr, str) else socket.AF_INET
        self.s = socket.socket(fam, socket.SOCK_STREAM)
        self.s.settimeout(10)
        self.s.connect(addr)
        self.buf = b""
        if handshake:
            self.s.sendall(GREETING + ready(socket_type))
            assert self.read(64)[:1] == b"\xff"

    def read(self, n):
        while len(self.buf) < n:
            got = self.s.recv(65536)
            if not got:
                raise EOFError("closed after %r" % self.buf[:80])
            self.buf += got
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def frame(self):
        flags = self.read(1)[0]
        size = struct.unpack(">Q", self.read(8))[0] if flags & 0x02 else self.read(1)[0]
        return flags, self.read(size)

    def message(self):
        """The next message's frames (commands are returned alone, as
        [b'!' + name])."""
        frames = []
        while True:
            flags, body = self.frame()
            if flags & 0x04:
                if frames:
                    raise AssertionError("command inside a message")
                name = body[1:1 + body[0]]
                if name == b"READY":
                    continue
                return [b"!" + name + b" " + body[1 + body[0]:]]
            frames.append(body)
            if not flags & 0x01:
                return frames

    def reply(self):
        frames = self.message()
        assert frames[0] == b"", frames
        return json.loads(frames[1])

    def closed(self, timeout=10):
        """True once the ctld has closed the connection."""
        self.s.settimeout(timeout)
        try:
            while True:
                got = self.s.recv(65536)
                if not got:
                    return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.s.close()


def peer_request(type_, seq, body=None):
    return json.dumps({"v": 1, "type": type_, "seq": seq, "peer": True,
                       "body": body or {}}).encode()


class ToolPortTest(harness.ClusterTest):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        with open(cls.c.conf) as f:
            conf = yaml.safe_load(f)
        cls.ctl = conf["controller"]
        cls.sock = cls.ctl["tools_socket"]
        cls.tcp = ("127.0.0.1", int(cls.ctl["tools_port"]))

    def ctld_log(self):
        return harness.read(os.path.join(self.c.dir, "log", "ctld.log"))

    def assert_ctld_answers(self):
        p = self.c.run("scontrol", "ping")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("is UP", p.stdout)

    def test_every_way_in_gives_the_same_answers(self):
        """Unix socket, TCP tools port and the ROUTER: the same job list,
        and the job belongs to whoever submitted it on each path."""
        user = harness.ensure_test_user().pw_name
        confs = {"unix": self.c.conf,
                 "tcp": self.c.config_variant("tcp", drop=("tools_socket",)),
                 "router": self.c.config_variant("router", drop=("tools_socket",), tools_port=0)}
        jobs = {}
        for way, conf in confs.items():
            env = {"SLURMISH_CONF": conf}
            p = self.c.run("sbatch", "--parsable", "--hold", "-J", "via-" + way, "--wrap", "true",
                           user=user, env=env)
            self.assertEqual(p.returncode, 0, "%s: %s" % (way, p.stderr))
            jobs[way] = int(p.stdout.strip())
        outs = set()
        for way, conf in confs.items():
            p = self.c.run("squeue", "-h", "-o", "%i %j %u %t", env={"SLURMISH_CONF": conf})
            self.assertEqual(p.returncode, 0, "%s: %s" % (way, p.stderr))
            outs.add(p.stdout)
            for w, j in jobs.items():
                self.assertIn("%d via-%s %s PD" % (j, w, user), p.stdout)
        self.assertEqual(len(outs), 1, outs)
        self.c.run("scancel", *map(str, jobs.values()))

    def test_unix_socket_vouches_for_the_sender_and_nothing_else_does(self):
        # root on the Unix socket: a held job of root's
        p = Peer(self.sock)
        body = {"script": "#!/bin/sh\ntrue\n", "hold": True, "name": "peer-root",
                "work_dir": "/tmp"}
        p.s.sendall(request(peer_request("submit_job", 1, body)))
        r = p.reply()
        p.close()
        if r["rc"] != 0 and "script" in r.get("error", ""):
            self.fail("submit body not accepted: %s" % r)
        self.assertEqual(r["rc"], 0, r)
        job = r["body"]["job_id"]
        self.assertEqual(self.c.show_job(job)["UserId"].split("(")[0], "root")
        self.c.run("scancel", str(job))
        # the same envelope on TCP: refused, nothing done
        p = Peer(self.tcp)
        p.s.sendall(request(peer_request("ping", 2)))
        r = p.reply()
        self.assertNotEqual(r["rc"], 0)
        self.assertIn("without a credential", r["error"])
        p.close()

    def test_peer_uid_is_the_connecting_process(self):
        """A ping as the test user over the Unix socket, from a process
        running as that user: the job query shows its jobs only as its."""
        user = harness.ensure_test_user()
        code = ("import json,socket,struct,sys\n"
                "s=socket.socket(socket.AF_UNIX);s.connect(sys.argv[1])\n"
                "G=bytes([255])+bytes(8)+bytes([127,3,0])+b'NULL'+bytes(48)\n"
                "R=bytes([4,28,5])+b'READY'+bytes([11])+b'Socket-Type'+struct.pack('>I',6)"
                "+b'DEALER'\n"
                "b=json.dumps({'v':1,'type':'submit_job','seq':5,'peer':True,'body':"
                "{'script':'#!/bin/sh\\ntrue\\n','hold':True,'name':'peer-user',"
                "'work_dir':'/tmp'}}).encode()\n"
                "m=bytes([1,0])+(bytes([0,len(b)]) if len(b)<256 else bytes([2])"
                "+struct.pack('>Q',len(b)))+b\n"
                "s.sendall(G+R+m)\n"
                "d=b''\n"
                "while b'job_id' not in d and b'\"rc\"' not in d:\n"
                "  x=s.recv(65536)\n"
                "  if not x: break\n"
                "  d+=x\n"
                "sys.stdout.write(d[d.index(b'{'):].decode(errors='replace'))\n")
        p = self.c.run("python3", "-c", code, self.sock, user=user.pw_name)
        self.assertEqual(p.returncode, 0, p.stderr)
        m = re.search(r'"job_id":\s*(\d+)', p.stdout)
        self.assertIsNotNone(m, p.stdout)
        job = int(m.group(1))
        self.assertEqual(self.c.show_job(job)["UserId"].split("(")[0], user.pw_name)
        self.c.run("scancel", str(job))

    def test_pipelined_requests_all_answered_in_order(self):
        p = Peer(self.sock)
        p.s.sendall(b"".join(request(peer_request("ping", 100 + i)) for i in range(12)))
        self.assertEqual([p.reply()["re"] for _ in range(12)], list(range(100, 112)))
        p.close()

    def ctld_rss_kib(self):
        with open(os.path.join(self.c.dir, "cluster.json")) as f:
            pid = json.load(f)["procs"]["ctld"]["pid"]
        with open("/proc/%d/status" % pid) as f:
            return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))

    def test_a_client_that_does_not_read_its_replies_is_held_back(self):
        """Hundreds of requests for every field of 300 jobs, replies unread:
        the ctld stops reading that client once 16 MiB of replies wait, and
        answers the rest when it reads."""
        c = self.c
        jobs = [c.sbatch("--hold", "-J", "backlog", "--wrap", "true") for _ in range(300)]
        body = {"fields": ["*"], "job_ids": jobs}
        p = Peer(self.sock)
        p.s.settimeout(None)
        n = 600
        data = b"".join(request(peer_request("query_jobs", 1000 + i, body)) for i in range(n))
        before = self.ctld_rss_kib()
        # its own thread: once the ctld stops reading, the socket fills
        sender = threading.Thread(target=p.s.sendall, args=(data,), daemon=True)
        sender.start()
        time.sleep(2)
        grown = self.ctld_rss_kib() - before
        self.assert_ctld_answers()  # others are served meanwhile
        got, first = [], None
        for _ in range(n):
            frames = p.message()
            r = json.loads(frames[1])
            self.assertEqual(r["rc"], 0, r)
            got.append(r["re"])
            if first is None:
                first = sum(len(f) for f in frames)
        sender.join(10)
        p.close()
        self.assertEqual(got, list(range(1000, 1000 + n)))
        print("reply of %d bytes; %d unread would be %.0f MiB; the ctld grew %.1f MiB" %
              (first, n, first * n / 2**20, grown / 1024))
        self.assertGreater(first * n, 48 << 20)  # unbounded, it would have grown that much
        self.assertLess(grown, 40 << 10)
        c.run("scancel", *map(str, jobs))

    def test_hostile_peers_are_dropped_and_logged(self):
        # not ZMTP at all
        p = Peer(self.tcp, handshake=False)
        p.s.sendall(b"GET / HTTP/1.0\r\n\r\n")
        self.assertTrue(p.closed())
        p.close()
        # a socket type that cannot talk to a ROUTER: ERROR, then closed
        p = Peer(self.tcp, socket_type=b"PUB")
        msg = p.message()
        self.assertTrue(msg[0].startswith(b"!ERROR"), msg)
        self.assertIn(b"PUB", msg[0])
        self.assertTrue(p.closed())
        p.close()
        # a frame announcing a terabyte: dropped before anything is buffered
        p = Peer(self.tcp)
        p.s.sendall(b"\x03" + struct.pack(">Q", 1 << 40))
        msg = p.message()
        self.assertTrue(msg[0].startswith(b"!ERROR"), msg)
        self.assertTrue(p.closed())
        p.close()
        # reserved flag bits
        p = Peer(self.sock)
        p.s.sendall(b"\x80\x01x")
        self.assertTrue(p.message()[0].startswith(b"!ERROR"))
        p.close()
        # half a request, then gone
        p = Peer(self.tcp)
        p.s.sendall(b"\x01\x00\x02" + struct.pack(">Q", 1000) + b"{" * 10)
        p.close()
        log = self.ctld_log()
        self.assertRegex(log, r"tools port: 127\.0\.0\.1:\d+: the peer does not speak ZMTP")
        self.assertIn("a PUB socket cannot talk to the controller's ROUTER", log)
        self.assertRegex(log, r"frame of 1099511627776 bytes exceeds the limit")
        self.assertIn("reserved bits set", log)
        self.assert_ctld_answers()

    def test_bad_messages_get_error_replies(self):
        p = Peer(self.sock)
        # two payload frames
        p.s.sendall(request(peer_request("ping", 7), b"extra"))
        r = p.reply()
        self.assertNotEqual(r["rc"], 0)
        self.assertIn("expected one payload frame", r["error"])
        # not JSON
        p.s.sendall(request(b"{nope"))
        r = p.reply()
        self.assertNotEqual(r["rc"], 0)
        # still usable afterwards
        p.s.sendall(request(peer_request("ping", 8)))
        r = p.reply()
        self.assertEqual((r["re"], r["rc"]), (8, 0))
        # a command between messages: PING gets PONG with its context
        p.s.sendall(command(b"PING", b"\x00\x0aabc"))
        self.assertEqual(p.message(), [b"!PONG abc"])
        p.close()

    def test_node_messages_are_refused_on_the_tools_listeners(self):
        p = Peer(self.sock)
        p.s.sendall(request(peer_request("node_heartbeat", 9, {"node": "n1"})))
        r = p.reply()
        self.assertNotEqual(r["rc"], 0)
        self.assertIn("node daemons talk on controller.port", r["error"])
        p.close()
        self.assertEqual(self.c.run("sinfo", "-h", "-N", "-o", "%N %t").returncode, 0)

    def test_big_reply_over_tcp_matches_the_unix_socket(self):
        """A reply of megabytes written as the socket drains: the same bytes
        on both listeners."""
        c = self.c
        p = c.run("sbatch", "--hold", "--array=1-20000", "-J", "big", "--wrap", "true")
        self.assertEqual(p.returncode, 0, p.stderr)
        tcp = self.c.config_variant("tcp-big", drop=("tools_socket",))
        a = c.run("squeue", "-r", "-h", "-o", "%i %j %t %u %P %r")
        b = c.run("squeue", "-r", "-h", "-o", "%i %j %t %u %P %r", env={"SLURMISH_CONF": tcp})
        self.assertEqual(a.returncode, 0, a.stderr)
        self.assertEqual(b.returncode, 0, b.stderr)
        self.assertGreaterEqual(len(a.stdout.splitlines()), 20000)
        self.assertEqual(a.stdout, b.stdout)
        c.run("scancel", "-n", "big")

    def test_socket_left_by_a_killed_ctld_is_replaced(self):
        c = self.c
        c.daemon("stop-daemon", "ctld", signal="KILL")
        self.assertTrue(os.path.exists(self.sock))  # left behind
        c.daemon("start-daemon", "ctld")
        c.wait_for(lambda: c.run("scontrol", "ping").returncode == 0, what="ctld back")
        self.assertIn("for tools on port %d and %s" % (self.tcp[1], self.sock),
                      self.ctld_log())
        p = Peer(self.sock)
        p.s.sendall(request(peer_request("ping", 3)))
        self.assertEqual(p.reply()["rc"], 0)
        p.close()

    def test_a_second_ctld_does_not_take_a_live_socket(self):
        ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
        with tempfile.TemporaryDirectory() as d:
            p = subprocess.run([ctld, "-D", "-f", self.second_ctld_conf(d)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("cannot listen on tools socket %s: Address already in use" % self.sock,
                      p.stderr)
        self.assertTrue(os.path.exists(self.sock))
        self.assert_ctld_answers()

    def second_ctld_conf(self, d, sock=None):
        """This cluster's config for another controller: its own port, state
        and (when sock is given) Unix socket, no TCP tools port."""
        text = harness.read(self.c.conf)
        text = re.sub(r"(?m)^  port: .*$", "  port: '%d'" % harness.free_port(), text, count=1)
        text = re.sub(r"(?m)^  tools_port: .*$", "  tools_port: '0'", text)
        text = re.sub(r"(?m)^  tools_socket: .*$",
                      "  tools_socket: " + (sock or self.sock), text)
        text = re.sub(r"(?m)^  state_dir: .*$", "  state_dir: " + d, text)
        text = re.sub(r"(?m)^  metrics_address: .*\n", "", text)
        path = os.path.join(d, "second.yaml")
        with open(path, "w") as f:
            f.write(text)
        return path

    def test_out_of_descriptors_the_listener_rests(self):
        """A controller with 48 descriptors and 80 tool connections: it
        does not spin on the listener it cannot accept from, and takes new
        connections once old ones close."""
        ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
        with tempfile.TemporaryDirectory() as d:
            sock = os.path.join(d, "ctld.sock")
            log = open(os.path.join(d, "ctld.log"), "w")
            proc = subprocess.Popen(["prlimit", "--nofile=48:48", ctld, "-D", "-f",
                                     self.second_ctld_conf(d, sock)],
                                    stdout=log, stderr=subprocess.STDOUT)
            peers = []
            try:
                self.c.wait_for(lambda: os.path.exists(sock), what="second ctld's socket")
                for _ in range(80):
                    s_ = socket.socket(socket.AF_UNIX)
                    s_.connect(sock)
                    peers.append(s_)
                time.sleep(0.5)

                def cpu():
                    with open("/proc/%d/stat" % proc.pid) as f:
                        v = f.read().rsplit(")", 1)[1].split()
                    return (int(v[11]) + int(v[12])) / os.sysconf("SC_CLK_TCK")
                c0 = cpu()
                time.sleep(2)
                spent = cpu() - c0
                self.assertLess(spent, 0.5, "the ctld spun for %.2fs of 2s" % spent)
                for s_ in peers:
                    s_.close()
                peers = []

                def answered():
                    try:
                        p = Peer(sock)
                        p.s.sendall(request(peer_request("ping", 4)))
                        ok = p.reply()["rc"] == 0
                        p.close()
                        return ok
                    except (OSError, EOFError, AssertionError):
                        return False
                self.c.wait_for(answered, timeout=20, what="a ping once descriptors are back")
                print("out of descriptors: %.2fs of CPU in 2s" % spent)
            finally:
                for s_ in peers:
                    s_.close()
                proc.terminate()
                proc.wait(30)
                log.close()
            text = harness.read(os.path.join(d, "ctld.log"))
            self.assertIn("new tool connections wait", text)

    def test_config_refuses_the_same_port_twice(self):
        ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
        bad = self.c.config_variant("same-port", tools_port=int(self.ctl["port"]))
        p = subprocess.run([ctld, "-t", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("tools_port %s is also the port" % self.ctl["port"], p.stderr)
        bad = self.c.config_variant("rel-socket", tools_socket="ctld.sock")
        p = subprocess.run([ctld, "-t", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn('tools_socket "ctld.sock": an absolute path', p.stderr)


if __name__ == "__main__":
    harness.main()
