#!/usr/bin/env python3
"""Prometheus metrics from slurmish-ctld (controller.metrics_address):
the exposition is valid (promtool), its series follow the cluster (jobs
by state agree with squeue, request, scheduler and commit histograms
count), HTTP errors, the config check, and a real Prometheus server
scraping it."""

import collections
import json
import os
import re
import shutil
import socket
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.parse
import urllib.request

import harness

CONFIG = harness.DEFAULT_CONFIG.replace(
    "  message_timeout: 5\n",
    "  message_timeout: 5\n  metrics_address: 127.0.0.1:0\n").replace(
    "    memory: 1G\n", "    memory: 1G\n    price_per_hour: 36\n") + """\
  - name: inter
    node_groups: [n]
    session_idle_timeout: "0:02"
    session_idle_warning: "1:00"
"""

SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$')
LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def parse(text):
    """{(name, frozenset(labels)): value} and {family: type}."""
    samples, types = {}, {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, fam, typ = line.split(" ", 3)
            types[fam] = typ
            continue
        if not line or line.startswith("#"):
            continue
        m = SAMPLE.match(line)
        assert m, "bad sample line: %r" % line
        labels = frozenset(LABEL.findall(m.group(3) or ""))
        samples[(m.group(1), labels)] = float(m.group(4))
    return samples, types


def value(samples, name, **labels):
    return samples.get((name, frozenset(labels.items())), 0.0)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class MetricsTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.find_endpoint()

    @classmethod
    def endpoints(cls):
        """Port 0 in the address: the controller logs the port it took."""
        log = os.path.join(cls.c.dir, "log", "ctld.log")
        return re.findall(r"metrics: serving (http://127\.0\.0\.1:\d+)/metrics",
                          harness.read(log))

    @classmethod
    def find_endpoint(cls, after=0):
        m = cls.c.wait_for(lambda: cls.endpoints()[after:], 30,
                           "the controller to say where it serves metrics")
        cls.base = m[-1]

    def get(self, path="/metrics", method="GET"):
        req = urllib.request.Request(self.base + path, method=method)
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.headers.get("Content-Type"), r.read().decode()

    def scrape(self):
        status, ctype, body = self.get()
        self.assertEqual(status, 200)
        self.assertTrue(ctype.startswith("text/plain; version=0.0.4"), ctype)
        return parse(body)[0]

    def squeue_states(self):
        p = self.c.run("squeue", "-h", "-r", "-t", "all", "-o", "%T")
        self.assertEqual(p.returncode, 0, p.stderr)
        return collections.Counter(p.stdout.split())

    def metric_states(self, samples):
        out = collections.Counter()
        for (name, labels), v in samples.items():
            if name == "slurmish_jobs" and v:
                out[dict(labels)["state"]] += int(v)
        return out

    def assert_jobs_agree_with_squeue(self):
        """The incrementally kept counts equal a fresh listing of every job."""
        last = {}

        def same():
            last["m"] = self.metric_states(self.scrape())
            last["q"] = self.squeue_states()
            return last["m"] == last["q"]
        try:
            self.c.wait_for(same, 15, "metrics to agree with squeue")
        except AssertionError:
            self.fail("metrics %s, squeue %s" % (dict(last["m"]), dict(last["q"])))

    def test_exposition_is_valid(self):
        status, ctype, body = self.get()
        samples, types = parse(body)
        expect = {
            "slurmish_build_info": "gauge",
            "slurmish_ctld_start_time_seconds": "gauge",
            "slurmish_jobs": "gauge",
            "slurmish_nodes": "gauge",
            "slurmish_interactive_sessions": "gauge",
            "slurmish_node_live_steps": "gauge",
            "slurmish_node_powered_seconds_total": "counter",
            "slurmish_node_busy_seconds_total": "counter",
            "slurmish_job_cost_total": "counter",
            "slurmish_scheduler_pass_duration_seconds": "histogram",
            "slurmish_request_duration_seconds": "histogram",
            "slurmish_db_commit_duration_seconds": "histogram",
        }
        for fam, typ in expect.items():
            self.assertEqual(types.get(fam), typ, fam)
            self.assertIn("# HELP %s " % fam, body)
        start = value(samples, "slurmish_ctld_start_time_seconds")
        self.assertLess(abs(start - time.time()), 3600)
        self.assertEqual(sum(v for (n, _), v in samples.items() if n == "slurmish_build_info"), 1)
        # both nodes are up, idle or running a test's job, and powered
        nodes = sum(v for (n, _), v in samples.items() if n == "slurmish_nodes")
        self.assertEqual(nodes, 2)
        self.assertEqual(value(samples, "slurmish_nodes", node_group="n", state="DOWN",
                               power="ON"), 0)
        promtool = shutil.which("promtool")
        if not promtool:
            self.skipTest("promtool not installed (Debian package prometheus): "
                          "format not checked by promtool")
        p = subprocess.run([promtool, "check", "metrics"], input=body, text=True,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
        self.assertEqual(p.returncode, 0, p.stdout)
        self.assertEqual(p.stdout.strip(), "", "promtool lint: " + p.stdout)

    def test_series_follow_jobs(self):
        c = self.c
        before = self.scrape()
        running = c.sbatch("--wrap", "sleep 60")
        held = c.sbatch("--hold", "--wrap", "true")
        array = c.sbatch("--hold", "--array=0-9", "--wrap", "true")
        c.wait_state(running, "RUNNING")
        self.assert_jobs_agree_with_squeue()
        after = self.scrape()
        jobs = lambda s, st: value(s, "slurmish_jobs", partition="debug", state=st)
        self.assertGreaterEqual(jobs(after, "RUNNING"), 1)
        self.assertEqual(jobs(after, "PENDING") - jobs(before, "PENDING"), 11)  # 1 + 10 tasks
        count = lambda s, n, **kw: value(s, n + "_count", **kw)
        self.assertEqual(count(after, "slurmish_request_duration_seconds", type="submit_job") -
                         count(before, "slurmish_request_duration_seconds", type="submit_job"),
                         3)
        self.assertGreater(count(after, "slurmish_request_duration_seconds", type="query_jobs"),
                           0)
        self.assertGreater(count(after, "slurmish_scheduler_pass_duration_seconds"),
                           count(before, "slurmish_scheduler_pass_duration_seconds"))
        self.assertGreater(count(after, "slurmish_db_commit_duration_seconds"),
                           count(before, "slurmish_db_commit_duration_seconds"))
        # buckets are cumulative and end in +Inf == _count
        inf = value(after, "slurmish_request_duration_seconds_bucket", type="submit_job",
                    le="+Inf")
        self.assertEqual(inf, count(after, "slurmish_request_duration_seconds",
                                    type="submit_job"))
        # one array task released and cancelled, the rest cancelled pending
        self.assertEqual(c.run("scancel", "%d_3" % array).returncode, 0)
        self.assert_jobs_agree_with_squeue()
        for j in (running, held, array):
            c.run("scancel", str(j))
        c.wait_state(running, "CANCELLED")
        self.assert_jobs_agree_with_squeue()
        end = self.scrape()
        self.assertEqual(jobs(end, "PENDING"), jobs(before, "PENDING"))
        # the running and the held job; the array's cancelled pending tasks, like
        # squeue -r, show no more
        self.assertEqual(jobs(end, "CANCELLED") - jobs(before, "CANCELLED"), 2)
        c.wait_nodes_idle()

    def test_cost_accrues_while_a_job_runs(self):
        c = self.c
        cost = lambda: value(self.scrape(), "slurmish_job_cost_total", partition="debug")
        j = c.sbatch("-n1", "--wrap", "sleep 60")
        c.wait_state(j, "RUNNING")
        first = cost()
        time.sleep(2.5)
        second = cost()
        # at least 2 s of half a node at 36 per hour (0.005 per second)
        self.assertGreaterEqual(second - first, 0.0099)
        c.run("scancel", str(j))
        c.wait_state(j, "CANCELLED")
        c.wait_nodes_idle()
        # the final charge replaces the accrual; a counter never goes down
        values = [cost() for _ in range(3)]
        self.assertEqual(values, sorted(values))
        self.assertGreaterEqual(values[0], second)
        p = c.run("sacct", "-n", "-X", "-P", "-j", str(j), "-o", "Cost")
        self.assertGreater(float(p.stdout), 0.0099)

    def test_cost_and_node_seconds(self):
        c = self.c
        before = self.scrape()
        j = c.sbatch("-n1", "--wrap", "sleep 2")
        c.wait_state(j, "COMPLETED")
        self.assert_jobs_agree_with_squeue()
        after = self.scrape()
        cost = lambda s: value(s, "slurmish_job_cost_total", partition="debug")
        # 2 s of half a node (1 of 2 CPUs) at 36 per hour: 0.01
        self.assertGreater(cost(after) - cost(before), 0.005)
        self.assertLess(cost(after) - cost(before), 0.05)
        busy = lambda s: value(s, "slurmish_node_busy_seconds_total", node_group="n")
        powered = lambda s: value(s, "slurmish_node_powered_seconds_total", node_group="n")
        self.assertGreater(busy(after), busy(before))
        self.assertGreater(powered(after), powered(before))
        self.assertLessEqual(busy(after), powered(after))

    def test_interactive_session(self):
        c = self.c
        active = lambda: value(self.scrape(), "slurmish_interactive_sessions",
                               partition="debug", state="active")
        self.assertEqual(active(), 0)
        # salloc's allocation lasts as long as its command
        p = subprocess.Popen([os.path.join(harness.BUILDDIR, "cli", "salloc"), "-N1", "sleep",
                              "4"], cwd=c.work, env=c.env(), stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
        try:
            c.wait_for(lambda: active() == 1, 30, "one active session")
            self.assertEqual(value(self.scrape(), "slurmish_interactive_sessions",
                                   partition="debug", state="idle"), 0)
        finally:
            out, err = p.communicate(timeout=60)
        self.assertEqual(p.returncode, 0, err)
        c.wait_for(lambda: active() == 0, 30, "no active session")
        self.assert_jobs_agree_with_squeue()
        c.wait_nodes_idle()

    def test_counts_survive_a_restart(self):
        c = self.c
        held = c.sbatch("--hold", "--wrap", "true")
        array = c.sbatch("--hold", "--array=1-4", "--wrap", "true")
        start = value(self.scrape(), "slurmish_ctld_start_time_seconds")
        time.sleep(1)  # a later start time
        started = len(self.endpoints())
        c.daemon("stop-daemon", "ctld")
        c.daemon("start-daemon", "ctld")
        type(self).find_endpoint(after=started)
        c.wait_for(lambda: c.run("squeue", "-h").returncode == 0, 30, "the controller back")
        # jobs reloaded from the database are counted as they are inserted
        self.assert_jobs_agree_with_squeue()
        after = self.scrape()
        self.assertGreater(value(after, "slurmish_ctld_start_time_seconds"), start)
        self.assertGreaterEqual(value(after, "slurmish_jobs", partition="debug",
                                      state="PENDING"), 5)
        c.run("scancel", str(held), str(array))
        self.assert_jobs_agree_with_squeue()

    def test_idle_session(self):
        c = self.c
        gauge = lambda st: value(self.scrape(), "slurmish_interactive_sessions",
                                 partition="inter", state=st)
        # no input and no CPU on the node: warned idle after 2 s
        p = subprocess.Popen([os.path.join(harness.BUILDDIR, "cli", "salloc"), "-p", "inter",
                              "-N1", "sleep", "60"], cwd=c.work, env=c.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            c.wait_for(lambda: gauge("active") + gauge("idle") == 1, 30, "a session")
            c.wait_for(lambda: gauge("idle") == 1, 30, "the session idle")
            self.assertEqual(gauge("active"), 0)
        finally:
            jobs = c.run("squeue", "-h", "-p", "inter", "-o", "%i").stdout.split()
            c.run("scancel", *jobs)
            p.communicate(timeout=60)
        c.wait_for(lambda: gauge("idle") + gauge("active") == 0, 30, "no session")
        self.assert_jobs_agree_with_squeue()
        c.wait_nodes_idle()

    def test_http_errors(self):
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.get("/nope")
        self.assertEqual(e.exception.code, 404)
        with self.assertRaises(urllib.error.HTTPError) as e:
            self.get("/metrics", method="POST")
        self.assertEqual(e.exception.code, 405)
        status, _, body = self.get("/metrics", method="HEAD")
        self.assertEqual((status, body), (200, ""))

    def test_bad_address_fails_the_config_check(self):
        ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "bad.yaml")
            for bad, why in (("127.0.0.1:70000", "the port must be a number from 0 to 65535"),
                             ("metrics.example:9817", "is not an IP address"),
                             ("9817", "no :PORT after the address")):
                with open(path, "w") as f:
                    f.write(harness.DEFAULT_CONFIG.replace(
                        "  message_timeout: 5\n",
                        "  message_timeout: 5\n  metrics_address: \"%s\"\n" % bad))
                p = subprocess.run([ctld, "-t", "-f", path], stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
                self.assertEqual(p.returncode, 1, bad)
                self.assertIn("%s:8:20: metrics_address: expected HOST:PORT" % path, p.stderr)
                self.assertIn(why, p.stderr)
            with open(path, "w") as f:
                f.write(CONFIG.replace("127.0.0.1:0", "\"[::1]:9817\""))
            p = subprocess.run([ctld, "-t", "-f", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertIn("configuration OK", p.stdout)

    def test_busy_port_stops_the_controller_with_a_clear_error(self):
        """A second controller (own port and state) asked for this one's metrics port."""
        ctld = os.path.join(harness.BUILDDIR, "slurmish-ctld", "slurmish-ctld")
        taken = urllib.parse.urlparse(self.base).netloc
        with tempfile.TemporaryDirectory() as d:
            text = harness.read(self.c.conf)
            text = re.sub(r"(?m)^  metrics_address: .*$", "  metrics_address: " + taken, text)
            text = re.sub(r"(?m)^  port: .*$", "  port: '%d'" % free_port(), text, count=1)
            # no tools listeners: those of the first controller are taken too
            text = re.sub(r"(?m)^  tools_socket: .*\n", "", text)
            text = re.sub(r"(?m)^  tools_port: .*$", "  tools_port: '0'", text)
            text = re.sub(r"(?m)^  state_dir: .*$", "  state_dir: " + d, text)
            path = os.path.join(d, "second.yaml")
            with open(path, "w") as f:
                f.write(text)
            p = subprocess.run([ctld, "-D", "-f", path], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("metrics: cannot listen on %s: Address already in use" % taken, p.stderr)
        # and the first one still answers
        self.assertEqual(self.get()[0], 200)

    def test_real_prometheus_scrapes_it(self):
        prom = shutil.which("prometheus")
        if not prom:
            self.skipTest("prometheus not installed (Debian package prometheus): "
                          "no real server scraped the endpoint")
        target = urllib.parse.urlparse(self.base).netloc
        with tempfile.TemporaryDirectory(prefix="slurmish-prom-") as d:
            conf = os.path.join(d, "prometheus.yml")
            with open(conf, "w") as f:
                f.write("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
                        "scrape_configs:\n  - job_name: slurmish\n"
                        "    static_configs:\n      - targets: ['%s']\n" % target)
            port = free_port()
            log = open(os.path.join(d, "prometheus.log"), "w")
            p = subprocess.Popen([prom, "--config.file=" + conf, "--storage.tsdb.path=" + d,
                                  "--web.listen-address=127.0.0.1:%d" % port],
                                 stdout=log, stderr=subprocess.STDOUT, cwd=d)
            try:
                url = ("http://127.0.0.1:%d/api/v1/query?query=" % port +
                       urllib.parse.quote('slurmish_jobs{partition="debug",state="PENDING"}'))
                got = {}

                def queried():
                    try:
                        with urllib.request.urlopen(url, timeout=5) as r:
                            doc = json.load(r)
                    except (OSError, ValueError):
                        return False
                    got["doc"] = doc
                    return doc.get("status") == "success" and doc["data"]["result"]
                try:
                    self.c.wait_for(queried, 60, "Prometheus to have scraped slurmish_jobs")
                except AssertionError:
                    log.flush()
                    self.fail("no series in Prometheus: %s\n%s" % (
                        got.get("doc"), harness.read(os.path.join(d, "prometheus.log"))[-3000:]))
                res = got["doc"]["data"]["result"][0]
                self.assertEqual(res["metric"]["job"], "slurmish")
                self.assertEqual(res["metric"]["instance"], target)
                float(res["value"][1])
                # and the target is healthy
                with urllib.request.urlopen("http://127.0.0.1:%d/api/v1/targets" % port,
                                            timeout=5) as r:
                    targets = json.load(r)["data"]["activeTargets"]
                self.assertEqual([t["health"] for t in targets], ["up"], targets)
            finally:
                p.terminate()
                try:
                    p.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    p.kill()
                    p.wait()
                log.close()


if __name__ == "__main__":
    harness.main()
