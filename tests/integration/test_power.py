#!/usr/bin/env python3
"""Power management with the `local` provider: cloud nodes start
POWERED_DOWN, boot for the jobs that need them (cheapest group first, no
more than needed), power down when idle but never under a live session,
fail over when a launch fails or times out, requeue work off an
interrupted spot node, and survive a controller restart mid-boot.  The
`script` provider is called with the right hostlists."""

import json
import os
import re
import signal
import subprocess
import time

import harness

CONFIG = """\
cluster_name: power
controller:
  heartbeat_interval: 1
  node_timeout: 10
  kill_wait: 2
  sched_interval: 1
  message_timeout: 5
power:
  resume_timeout: 8
  idle_time: 4
  failure_backoff: 4
node_groups:
  - name: fixed
    nodes: f1
    cpus: 1
    memory: 1G
  - name: cheap
    nodes: c[1-3]
    cpus: 2
    memory: 1G
    cloud: true
    price_per_hour: 0.10
  - name: spot
    nodes: s[1-2]
    cpus: 2
    memory: 1G
    cloud: true
    spot: true
    price_per_hour: 0.50
partitions:
  - name: fixed
    node_groups: [fixed]
    default: true
    max_time: 1:00:00
  - name: burst
    node_groups: [spot, cheap]
    max_time: 1:00:00
  - name: spot
    node_groups: [spot]
    max_time: 1:00:00
"""


def node_states(c):
    """{node: sinfo short state}, e.g. {"c1": "idle~", "f1": "idle"}."""
    out = c.run("sinfo", "-h", "-N", "-o", "%N %t").stdout
    return dict(line.split()[:2] for line in out.splitlines() if line.strip())


def provider_daemons(c):
    """PIDs of node daemons the local provider started that still run."""
    pdir = os.path.join(c.dir, "state", "power", "local")
    alive = {}
    for name in os.listdir(pdir) if os.path.isdir(pdir) else []:
        if name.endswith(".pid"):
            pid = int(harness.read(os.path.join(pdir, name)).split()[0])
            try:
                with open("/proc/%d/cmdline" % pid, "rb") as f:
                    cmd = f.read()
            except OSError:
                continue
            if b"slurmish-d" in cmd:
                alive[name[:-4]] = pid
    return alive


class PowerTest(harness.ClusterTest):
    config = CONFIG

    def setUp(self):
        c = self.c
        c.launcher("provider", "ok")
        # every cloud node off and back in service before each test
        c.wait_for(lambda: all(s == "idle~" for n, s in node_states(c).items() if n != "f1"),
                   timeout=40, what="all cloud nodes powered down")

    def power(self, node):
        return re.search(r"Power=(\S+)", self.c.run("scontrol", "show", "node", node).stdout)

    def test_burst_powers_up_only_needed_nodes_then_down(self):
        c = self.c
        st = node_states(c)
        self.assertEqual(st["f1"], "idle")
        self.assertTrue(all(st[n] == "idle~" for n in ("c1", "c2", "c3", "s1", "s2")), st)
        self.assertIn("State=IDLE+CLOUD+POWERED_DOWN", c.run("scontrol", "show", "node",
                                                             "c1").stdout)
        # two whole-node jobs: two nodes of the cheaper group boot, no more
        jobs = [c.sbatch("-p", "burst", "-n", "2", "--wrap", "sleep 2; hostname") for _ in range(2)]
        seen = c.wait_for(lambda: set(c.run("squeue", "-h", "-o", "%t").stdout.split()) & {"CF", "R"},
                          what="jobs configuring or running")
        self.assertTrue(seen)
        for j in jobs:
            self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=40), "COMPLETED")
        hosts = sorted(harness.read(os.path.join(c.work, "slurm-%d.out" % j)).strip()
                       for j in jobs)
        nodes = sorted(c.show_job(j)["NodeList"] for j in jobs)
        self.assertEqual(nodes, ["c1", "c2"])
        st = node_states(c)
        self.assertEqual(st["c3"], "idle~")
        self.assertEqual(st["s1"], "idle~")
        self.assertEqual(st["s2"], "idle~")
        # idle for idle_time (4 s): powered down again, daemons gone
        c.wait_for(lambda: node_states(c)["c1"] == "idle~" and node_states(c)["c2"] == "idle~",
                   timeout=30, what="c1 and c2 powered down after idle_time")
        c.wait_for(lambda: not provider_daemons(c), timeout=15, what="daemons stopped")
        # each job paid for its node: 2 s or more at 0.10/h on a whole node
        for j in jobs:
            p = c.run("sacct", "-n", "-X", "-j", str(j), "-o", "Cost", "-P")
            self.assertGreater(float(p.stdout.strip()), 0.0, p.stdout)
        self.assertTrue(hosts)

    def test_session_keeps_node_up_past_idle_time(self):
        c = self.c
        # an interactive allocation whose command does nothing for 10 s
        # (more than twice idle_time): its node must stay up throughout
        p = subprocess.Popen([os.path.join(harness.BUILDDIR, "cli", "salloc"), "-p", "burst",
                              "-n", "1", "sleep", "10"], cwd=c.work, env=c.env(),
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            node = c.wait_for(lambda: [n for n, s in node_states(c).items()
                                       if s in ("mix", "alloc")], timeout=30,
                              what="the allocation's node up")[0]
            t0 = time.time()
            while time.time() - t0 < 8:
                self.assertIn(node_states(c)[node], ("mix", "alloc"),
                              "node powered down under a live session")
                time.sleep(0.5)
        finally:
            out, err = p.communicate(timeout=30)
        self.assertEqual(p.returncode, 0, err)
        self.assertIn("Granted job allocation", err)
        self.assertIn("Waiting for resource configuration", err)  # the node booted
        self.assertRegex(err, r"Nodes c\d are ready for job")
        c.wait_for(lambda: node_states(c)[node] == "idle~", timeout=30,
                   what="node powered down after the session ended")

    def test_failed_launch_fails_over_and_backs_off(self):
        c = self.c
        c.launcher("provider", "fail", "cheap")
        j = c.sbatch("-p", "burst", "-n", "2", "--wrap", "hostname")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=40), "COMPLETED")
        # c1 failed; the job went to the spot group of the same partition
        self.assertIn(c.show_job(j)["NodeList"], ("s1", "s2"))
        show = c.run("scontrol", "show", "node", "c1").stdout
        self.assertIn("DOWN+CLOUD+POWERED_DOWN", show)
        self.assertIn("control/fail", show)
        # the group is backed off: a second job does not try cheap nodes again
        j2 = c.sbatch("-p", "burst", "-n", "2", "--wrap", "hostname")
        self.assertEqual(c.wait_state(j2, ("COMPLETED", "FAILED"), timeout=40), "COMPLETED")
        self.assertIn(c.show_job(j2)["NodeList"], ("s1", "s2"))
        self.assertEqual(node_states(c)["c2"], "idle~")
        # after failure_backoff the DOWN node returns to service by itself
        c.launcher("provider", "ok")
        c.wait_for(lambda: node_states(c)["c1"] == "idle~", timeout=30,
                   what="c1 back in service after the back-off")
        events = c.run("scontrol", "show", "events").stdout
        self.assertIn("resume failed", events)

    def test_resume_timeout_marks_down_and_requeues(self):
        c = self.c
        c.launcher("provider", "delay", "30")  # longer than resume_timeout (8 s)
        j = c.sbatch("-p", "spot", "-n", "2", "--wrap", "hostname")
        c.wait_for(lambda: c.run("squeue", "-h", "-j", str(j), "-o", "%t").stdout.strip() == "CF",
                   timeout=15, what="job CONFIGURING")
        c.wait_for(lambda: "ResumeTimeout" in c.run("sinfo", "-R", "-h").stdout, timeout=20,
                   what="the node marked DOWN with ResumeTimeout")
        c.launcher("provider", "ok")
        # requeued, not failed: it runs once a node boots in time
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=60), "COMPLETED")
        self.assertGreaterEqual(int(c.show_job(j)["Restarts"]), 1)
        c.wait_for(lambda: not provider_daemons(c), timeout=40,
                   what="no daemon left running (the late boot was stopped)")

    def test_spot_interruption_requeues_job(self):
        c = self.c
        j = c.sbatch("-p", "spot", "-n", "2", "--wrap",
                     "echo start $SLURM_RESTART_COUNT; sleep 6; echo done")
        no_requeue = c.sbatch("-p", "spot", "-n", "2", "--no-requeue", "--wrap", "sleep 30")
        c.wait_state(j, "RUNNING", timeout=30)
        c.wait_state(no_requeue, "RUNNING", timeout=30)
        first = c.show_job(j)["NodeList"]
        other = c.show_job(no_requeue)["NodeList"]
        c.launcher("provider", "--warning", "2", "interrupt", first, other)
        # the no-requeue job is preempted; the other runs again elsewhere and completes
        self.assertEqual(c.wait_state(no_requeue, ("PREEMPTED", "FAILED", "COMPLETED"),
                                      timeout=30), "PREEMPTED")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=60), "COMPLETED")
        out = harness.read(os.path.join(c.work, "slurm-%d.out" % j))
        self.assertIn("done", out)
        p = c.run("sacct", "-n", "-X", "-P", "-j", str(j), "-o", "State,Interruptions")
        self.assertEqual(p.stdout.strip(), "COMPLETED|1")
        self.assertIn("spot interruption", c.run("scontrol", "show", "events").stdout)

    def test_admin_power_up_and_down(self):
        c = self.c
        p = c.run("scontrol", "update", "NodeName=c3", "State=POWER_UP")
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_for(lambda: node_states(c)["c3"] == "idle", timeout=20, what="c3 up")
        p = c.run("scontrol", "update", "NodeName=c3", "State=POWER_DOWN")
        self.assertEqual(p.returncode, 0, p.stderr)
        c.wait_for(lambda: node_states(c)["c3"] == "idle~", timeout=20, what="c3 down")
        p = c.run("scontrol", "update", "NodeName=f1", "State=POWER_DOWN")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("not in a cloud node group", p.stderr)
        harness.ensure_test_user()
        p = c.run("scontrol", "update", "NodeName=c3", "State=POWER_UP", user=harness.TEST_USER)
        self.assertNotEqual(p.returncode, 0)

    def test_controller_restart_mid_boot(self):
        c = self.c
        c.launcher("provider", "delay", "3")
        j = c.sbatch("-p", "spot", "-n", "2", "--wrap", "hostname")
        c.wait_for(lambda: c.run("squeue", "-h", "-j", str(j), "-o", "%t").stdout.strip() == "CF",
                   timeout=15, what="job CONFIGURING")
        c.daemon("stop-daemon", "ctld", signal="KILL")
        c.daemon("start-daemon", "ctld")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=40), "COMPLETED")
        c.wait_for(lambda: all(s == "idle~" for n, s in node_states(c).items() if n != "f1"),
                   timeout=40, what="nodes powered down after the restart")
        c.wait_for(lambda: not provider_daemons(c), timeout=20, what="no leaked node daemon")


SCRIPT_CONFIG = """\
cluster_name: pscript
controller:
  heartbeat_interval: 1
  node_timeout: 10
  kill_wait: 2
  sched_interval: 1
  message_timeout: 5
power:
  provider: script
  resume_program: @DIR@/resume.sh
  suspend_program: @DIR@/suspend.sh
  resume_timeout: 3
  failure_backoff: 60
  program_timeout: 2
node_groups:
  - name: fixed
    nodes: f1
    cpus: 1
    memory: 1G
  - name: cloud
    nodes: "vm[1-3]"
    cpus: 1
    memory: 1G
    cloud: true
  - name: flaky
    nodes: vm4
    cpus: 1
    memory: 1G
    cloud: true
  - name: slow
    nodes: vm5
    cpus: 1
    memory: 1G
    cloud: true
partitions:
  - name: fixed
    node_groups: [fixed]
    default: true
  - name: cloud
    node_groups: [cloud, flaky, slow]
"""


class ScriptProviderTest(harness.ClusterTest):
    """The script provider runs the admin's programs with a hostlist."""

    @classmethod
    def setUpClass(cls):
        import tempfile
        cls.scripts = tempfile.mkdtemp(prefix="slurmish-pscript-")
        os.chmod(cls.scripts, 0o755)
        for name in ("resume", "suspend"):
            path = os.path.join(cls.scripts, name + ".sh")
            with open(path, "w") as f:
                # records its argument list; a hostlist naming vm4 fails
                f.write("#!/bin/sh\nprintf '%%s|' \"$@\" >> %s/%s.calls\necho >> %s/%s.calls\n"
                        "echo \"%s called for $1\"\n"
                        "case \"$1\" in *vm4*) echo 'no capacity' >&2; exit 3;; esac\n"
                        "case \"$1\" in *vm5*) exec sleep 60;; esac\n"
                        % (cls.scripts, name, cls.scripts, name, name))
            os.chmod(path, 0o755)
        cls.config = SCRIPT_CONFIG.replace("@DIR@", cls.scripts)
        super().setUpClass()

    @classmethod
    def tearDownClass(cls):
        super().tearDownClass()
        import shutil
        shutil.rmtree(cls.scripts, ignore_errors=True)

    def calls(self, name):
        path = os.path.join(self.scripts, name + ".calls")
        return harness.read(path).splitlines() if os.path.exists(path) else []

    def test_resume_and_suspend_get_hostlists(self):
        c = self.c
        j = c.sbatch("-p", "cloud", "-N", "3", "-n", "3", "--wrap", "hostname")
        c.wait_for(lambda: "vm[1-3]|" in self.calls("resume"), timeout=15,
                   what="resume_program run for vm[1-3]")
        # nothing registers: resume_timeout (3 s) marks them DOWN, and the
        # suspend program is asked to stop what may have started
        c.wait_for(lambda: "vm[1-3]|" in self.calls("suspend"), timeout=20,
                   what="suspend_program run for vm[1-3]")
        self.assertIn("ResumeTimeout", c.run("sinfo", "-R", "-h").stdout)
        self.assertEqual(c.state(j), "PENDING")
        c.run("scancel", str(j))
        log = harness.read(os.path.join(c.dir, "log", "ctld.log"))
        self.assertIn("resume called for vm[1-3]", log)  # program output reaches the log

    def test_hung_resume_program_is_killed(self):
        c = self.c
        j = c.sbatch("-p", "cloud", "-w", "vm5", "--wrap", "hostname")
        c.wait_for(lambda: "resume_program timed out" in
                   c.run("scontrol", "show", "node", "vm5").stdout, timeout=15,
                   what="vm5 failed by program_timeout (2 s)")
        self.assertIn("killed after program_timeout",
                      harness.read(os.path.join(c.dir, "log", "ctld.log")))
        c.run("scancel", str(j))

    def test_failing_resume_program_fails_nodes_at_once(self):
        c = self.c
        j = c.sbatch("-p", "cloud", "-w", "vm4", "--wrap", "hostname")
        c.wait_for(lambda: "resume_program exited with status 3" in
                   c.run("scontrol", "show", "node", "vm4").stdout, timeout=10,
                   what="vm4 failed by the program's exit status")
        self.assertIn("vm4|", self.calls("resume"))
        log = harness.read(os.path.join(c.dir, "log", "ctld.log"))
        self.assertIn("no capacity", log)
        c.run("scancel", str(j))


COST_CONFIG = """\
cluster_name: pcost
controller:
  heartbeat_interval: 1
  node_timeout: 10
  kill_wait: 2
  sched_interval: 1
  message_timeout: 5
power:
  resume_timeout: 10
  idle_time: 3
  failure_backoff: 30
node_groups:
  - name: fixed
    nodes: f1
    cpus: 2
    memory: 1G
    price_per_hour: 3600
  - name: spot
    nodes: s[1-2]
    cpus: 2
    memory: 1G
    cloud: true
    spot: true
    price_per_hour: 36
  - name: ondemand
    nodes: o[1-2]
    cpus: 2
    memory: 1G
    cloud: true
    price_per_hour: 360
  - name: interactive
    nodes: i[1-2]
    cpus: 1
    memory: 1G
    cloud: true
    price_per_hour: 1
partitions:
  - name: fixed
    node_groups: [fixed]
    default: true
  - name: spot
    node_groups: [spot]
    fallback_node_groups: [ondemand]
    fallback_after: 4s
  - name: interactive
    node_groups: [interactive]
    warm_nodes: 1
accounts:
  - name: broke
    budget: 0
  - name: rich
    budget: 1000000
    budget_period: week
"""


class CostTest(harness.ClusterTest):
    """Spot to on-demand fall-back, warm pools, budgets and the cost report.
    Prices are large (3600 per hour on f1 = 1 per second) so costs show."""
    config = COST_CONFIG

    def test_warm_pool_keeps_one_idle_node_up(self):
        c = self.c
        c.wait_for(lambda: sorted(node_states(c)[n] for n in ("i1", "i2")) == ["idle", "idle~"],
                   timeout=30, what="one interactive node kept warm")
        # it stays up past idle_time (3 s)
        time.sleep(5)
        self.assertEqual(sorted(node_states(c)[n] for n in ("i1", "i2")), ["idle", "idle~"])
        # taking the warm node boots another to keep one idle
        j = c.sbatch("-p", "interactive", "--wrap", "sleep 6")
        c.wait_state(j, "RUNNING", timeout=20)
        c.wait_for(lambda: all(node_states(c)[n] in ("idle", "alloc") for n in ("i1", "i2")),
                   timeout=30, what="a second warm node up")
        c.wait_state(j, "COMPLETED", timeout=30)
        # back to one: the spare powers down after idle_time
        c.wait_for(lambda: sorted(node_states(c)[n] for n in ("i1", "i2")) == ["idle", "idle~"],
                   timeout=30, what="back to one warm node")

    def test_spot_falls_back_to_on_demand_after_waiting(self):
        c = self.c
        # both spot nodes busy; the third job waits past fallback_after (4 s)
        busy = [c.sbatch("-p", "spot", "-n", "2", "--wrap", "sleep 15") for _ in range(2)]
        for j in busy:
            c.wait_state(j, "RUNNING", timeout=30)
        j = c.sbatch("-p", "spot", "-n", "2", "--wrap", "hostname")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=40), "COMPLETED")
        info = c.show_job(j)
        self.assertIn(info["NodeList"], ("o1", "o2"))
        self.assertEqual(info["Fallback"], "WaitedPastFallbackAfter")
        for b in busy:
            self.assertEqual(c.show_job(b)["Fallback"], "No")
            c.run("scancel", str(b))

    def test_spot_falls_back_when_spot_launches_fail(self):
        c = self.c
        c.wait_for(lambda: all(node_states(c)[n] == "idle~" for n in ("s1", "s2")), timeout=30,
                   what="spot nodes powered down")
        c.launcher("provider", "fail", "spot")
        try:
            j = c.sbatch("-p", "spot", "-n", "2", "--wrap", "hostname")
            self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=40), "COMPLETED")
            info = c.show_job(j)
            self.assertIn(info["NodeList"], ("o1", "o2"))
            self.assertEqual(info["Fallback"], "NodeGroupsFailingToLaunch")
        finally:
            c.launcher("provider", "ok")

    def test_budget_blocks_new_jobs_and_report(self):
        c = self.c
        j = c.sbatch("-p", "fixed", "-A", "broke", "--wrap", "true")
        c.wait_for(lambda: c.show_job(j)["Reason"] == "AccountBudgetExceeded", timeout=15,
                   what="pending on the budget")
        self.assertEqual(c.state(j), "PENDING")
        ok = c.sbatch("-p", "fixed", "-A", "rich", "-n", "2", "--wrap", "sleep 2")
        self.assertEqual(c.wait_state(ok, ("COMPLETED", "FAILED"), timeout=30), "COMPLETED")
        cost = float(c.run("sacct", "-n", "-X", "-P", "-j", str(ok), "-o", "Cost").stdout)
        self.assertGreaterEqual(cost, 1.5)  # >= 2 s of a whole 1-per-second node
        rep = c.run("sreport", "-P", "-n", "cost", "account").stdout
        rows = dict((r.split("|")[0], r.split("|")) for r in rep.splitlines())
        self.assertEqual(rows["broke"][4:6], ["0.00", "month"])
        self.assertEqual(rows["rich"][5], "week")
        self.assertGreaterEqual(float(rows["rich"][6]), 1.5)  # spent this week
        self.assertGreaterEqual(float(rows["rich"][3]), 1.5)
        # raising the budget live lets the job run
        text = harness.read(c.conf)
        with open(c.conf, "w") as f:
            f.write(text.replace("budget: '0'", "budget: '5'").replace("budget: 0\n", "budget: 5\n"))
        p = c.run("scontrol", "reconfigure")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED"), timeout=30), "COMPLETED")
        # the cluster report: f1 (fixed) is powered the whole window, idle cost follows.
        # Times are whole seconds and a quick cluster can keep f1 busy for all
        # of its first seconds: let it sit idle a while, so powered > busy holds
        time.sleep(2)
        rep = c.run("sreport", "-P", "-n", "cost", "cluster").stdout
        groups = dict((r.split("|")[0], r.split("|")) for r in rep.splitlines())
        self.assertIn("TOTAL", groups)
        # f1 is a fixed node: powered all along since records began (this
        # cluster is minutes old), busy while the jobs ran
        rep = json.loads(c.run("sreport", "--json", "cost", "cluster").stdout)
        fixed = [g for g in rep["node_groups"] if g["name"] == "fixed"][0]
        self.assertGreater(fixed["busy_node_hours"], 0)
        self.assertGreater(fixed["powered_node_hours"], fixed["busy_node_hours"])
        self.assertLess(fixed["powered_node_hours"], 0.5)
        self.assertAlmostEqual(fixed["powered_cost"], fixed["busy_cost"] + fixed["idle_cost"],
                               delta=0.01)
        spot = [g for g in rep["node_groups"] if g["name"] == "spot"][0]
        self.assertTrue(spot["cloud"] and spot["spot"])
        p = c.run("sreport", "cost", "nosuch")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("expected user, account, partition or cluster", p.stderr)
        p = c.run("sreport", "--json", "cost", "user")
        self.assertIn('"rows"', p.stdout)


if __name__ == "__main__":
    harness.main()
