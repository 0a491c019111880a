#!/usr/bin/env python3
"""Bad input gets a clear error and loses nothing; the daemons keep serving."""

import json
import os
import subprocess
import tempfile
import shutil

import harness


class RejectTest(harness.ClusterTest):

    def assert_queue_empty(self):
        p = self.c.run("squeue", "-h", "-t", "PD,R")
        self.assertEqual(p.stdout.strip(), "")

    def test_unknown_partition(self):
        p = self.c.run("sbatch", "-p", "nosuch", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip(),
                         "sbatch: error: Batch job submission failed: "
                         "Invalid partition name specified")
        self.assert_queue_empty()

    def test_too_many_cpus_or_memory(self):
        for args in (["-c", "999"], ["--mem", "999G"], ["-N", "3"]):
            p = self.c.run("sbatch", *args, "--wrap", "true")
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("Requested node configuration is not available", p.stderr)
        self.assert_queue_empty()

    def test_script_without_shebang(self):
        p = self.c.run("sbatch", input="echo no interpreter\n")
        self.assertEqual(p.returncode, 1)
        self.assertIn("#!", p.stderr)
        self.assert_queue_empty()

    def ctld_port(self):
        for line in open(self.c.conf):
            if line.strip().startswith("port:"):
                return line.split(":", 1)[1].strip().strip("'\"")
        raise AssertionError("no port in config")

    def rawsend(self, *args):
        p = subprocess.run([harness.RAWSEND, "127.0.0.1", self.ctld_port()] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, "no reply: " + p.stderr)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def assert_ping(self):
        p = self.c.run("scontrol", "ping")
        self.assertEqual(p.returncode, 0, "controller stopped answering")

    def test_malformed_messages_get_errors(self):
        cases = [
            (["--raw", "this is not json"], "Invalid message"),
            (["--raw", "[1,2,3]"], "Invalid message"),
            (["--raw", '{"v":99,"type":"ping","seq":1,"cred":"x"}'], "Protocol version"),
            (["--raw", '{"v":1,"type":"launch_rockets","seq":1,"cred":"x"}'],
             "Unknown message type"),
            (["--raw", '{"v":1,"type":"submit_job","seq":5}'],
             "Invalid authentication credential"),
            (["--raw", '{"v":1,"type":"submit_job","seq":6,"cred":"MUNGE:forged:"}'],
             "Invalid authentication credential"),
            (["--size", str(5 * 1024 * 1024)], "Invalid message"),
        ]
        for args, text in cases:
            r = self.rawsend(*args)
            self.assertEqual(r["type"], "reply")
            self.assertNotEqual(r["rc"], 0, args)
            self.assertIn(text, r["error"], args)
            self.assert_ping()
        self.assert_queue_empty()

    def test_credential_from_another_munge_key_is_refused(self):
        d = tempfile.mkdtemp(prefix="slurmish-munge2-")
        try:
            key = os.path.join(d, "key")
            with open(key, "wb") as f:
                f.write(os.urandom(1024))
            os.chmod(key, 0o600)
            sock = os.path.join(d, "sock")
            subprocess.run(["/usr/sbin/munged", "--force", "--socket=" + sock,
                            "--key-file=" + key, "--pid-file=" + d + "/pid",
                            "--log-file=" + d + "/log", "--seed-file=" + d + "/seed"],
                           check=True)
            try:
                body = json.dumps({"script": "#!/bin/sh\ntrue\n", "work_dir": "/tmp"})
                r = self.rawsend("--sign", sock, "submit_job", body)
                self.assertNotEqual(r["rc"], 0)
                self.assertIn("Invalid authentication credential", r["error"])
            finally:
                pid = int(harness.read(d + "/pid"))
                os.kill(pid, 15)
        finally:
            shutil.rmtree(d, ignore_errors=True)
        self.assert_ping()
        self.assert_queue_empty()

    def test_user_cannot_pose_as_a_node(self):
        u = harness.ensure_test_user()
        sock = None
        for line in open(self.c.conf):
            if "munge.sock" in line:
                sock = line.split(":", 1)[1].strip()
        body = json.dumps({"node": "n1", "running": []})
        p = subprocess.run(["setpriv", "--reuid=" + u.pw_name, "--regid=" + str(u.pw_gid),
                            "--init-groups", harness.RAWSEND, "127.0.0.1", self.ctld_port(),
                            "--sign", sock, "node_register", body],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout.strip())
        self.assertIn("Access/permission denied", r["error"])
        self.assert_ping()

    def munge_socket(self):
        for line in open(self.c.conf):
            if "munge.sock" in line:
                return line.split(":", 1)[1].strip()
        raise AssertionError("no munge socket in config")

    def rawsend_as(self, user, *args):
        """rawsend run as user; its reply envelopes, one per line."""
        u = harness.ensure_test_user() if user is None else user
        p = subprocess.run(["setpriv", "--reuid=" + u.pw_name, "--regid=" + str(u.pw_gid),
                            "--init-groups", harness.RAWSEND, "127.0.0.1", self.ctld_port()]
                           + list(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True, timeout=30)
        return p

    def test_keyed_requests(self):
        """A client that pipelines asks once for a signing key (proto/keyed.h):
        its requests count as its uid's, and a replayed, altered or
        unknown-key request is refused and changes nothing."""
        u = harness.ensure_test_user()
        body = json.dumps({"script": "#!/bin/sh\ntrue\n", "work_dir": "/tmp", "hold": True,
                           "name": "keyed"})
        p = self.rawsend_as(u, "--keyed", self.munge_socket(), "submit_job", body)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = [json.loads(line) for line in p.stdout.strip().splitlines()]
        self.assertEqual(len(r), 5, p.stdout)
        self.assertEqual(r[0]["rc"], 0, r[0])
        self.assertIn("replayed request", r[1]["error"])
        self.assertIn("bad MAC", r[2]["error"])
        self.assertIn("unknown signing key", r[3]["error"])
        self.assertEqual(r[4]["rc"], 0, r[4])
        for bad in r[1:4]:
            self.assertIn("Invalid authentication credential", bad["error"])
        ids = sorted(x["body"]["job_id"] for x in (r[0], r[4]))
        q = self.c.run("squeue", "-h", "-n", "keyed", "-o", "%i %u")
        self.assertEqual(q.stdout.split(), ["%d" % ids[0], u.pw_name, "%d" % ids[1], u.pw_name])
        self.c.run("scancel", "-n", "keyed")
        self.assert_ping()
        self.assert_queue_empty()

    def test_signing_key_only_for_its_user(self):
        """The key travels in a munge credential only its user can decode,
        once, and only with the nonce it was asked with."""
        import pwd
        u = harness.ensure_test_user()
        sock = self.munge_socket()
        p = self.rawsend_as(u, "--grant", sock)
        self.assertEqual(p.returncode, 0, p.stderr)
        g = json.loads(p.stdout)
        other = pwd.getpwnam("nobody")
        p = self.rawsend_as(other, "--accept", sock, g["nonce"], g["grant"])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("Unauthorized credential", p.stdout)
        p = self.rawsend_as(u, "--accept", sock, "0" * 32, g["grant"])
        self.assertEqual(p.returncode, 1, p.stdout)
        p = self.rawsend_as(u, "--grant", sock)
        g = json.loads(p.stdout)
        p = self.rawsend_as(u, "--accept", sock, g["nonce"], g["grant"])
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertIn("accepted", p.stdout)
        p = self.rawsend_as(u, "--accept", sock, g["nonce"], g["grant"])
        self.assertIn("Replayed credential", p.stdout)

    def test_invalid_config_stops_ctld_at_start(self):
        bad = os.path.join(self.c.dir, "bad.yaml")
        with open(bad, "w") as f:
            f.write("node_groups:\n  - name: a\n    nodes: n1\n    cpus: many\n    memory: 1G\n"
                    "partitions:\n  - name: p\n    node_groups: [a]\n    max_tme: 5\n")
        ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
        p = subprocess.run([ctld, "-D", "-f", bad], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, timeout=10)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn(bad + ":4:11: cpus: expected an integer", p.stderr)
        self.assertIn(bad + ':9:5: unknown key "max_tme"', p.stderr)
        self.assertIn('did you mean "max_time"', p.stderr)


if __name__ == "__main__":
    harness.main()
