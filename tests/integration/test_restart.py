#!/usr/bin/env python3
"""Crashes lose nothing: kill -9 of the controller or a node daemon."""

import glob
import json
import os
import signal
import time
import unittest

import harness


def node_daemon_pid(c, node):
    with open(os.path.join(c.dir, "cluster.json")) as f:
        return json.load(f)["procs"]["node-" + node]["pid"]


def spawners(parent, comm_wanted="slurmish-spawn"):
    """The job spawners (slurmish-d/spawner.c) whose parent is the pid
    (or, with comm_wanted="slurmish-spare", the spawner's spare supervisor)."""
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/stat" % pid) as f:
                st = f.read()
        except OSError:
            continue
        comm = st[st.index("(") + 1:st.rindex(")")]
        ppid = int(st[st.rindex(")") + 2:].split()[1])
        if comm == comm_wanted and (parent is None or ppid == parent):
            found.append(int(pid))
    return found


class RestartTest(harness.ClusterTest):

    def test_job_id_durable_across_kill_9(self):
        c = self.c
        job = c.sbatch("--wrap", "echo survived")
        c.daemon("stop-daemon", "ctld", signal="KILL")
        t0 = time.time()
        c.daemon("start-daemon", "ctld")
        c.wait_for(lambda: c.run("scontrol", "ping").returncode == 0, what="ctld restart")
        print("ctld restart took %.2fs" % (time.time() - t0))
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)), "survived\n")

    def test_running_job_survives_ctld_restart(self):
        c = self.c
        job = c.sbatch("--wrap", "sleep 3; echo finished")
        c.wait_state(job, "RUNNING")
        c.daemon("stop-daemon", "ctld", signal="KILL")
        time.sleep(4)  # the job ends while the controller is down
        c.daemon("start-daemon", "ctld")
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)), "finished\n")
        # ids keep counting after a restart, never reused
        job2 = c.sbatch("--wrap", "true")
        self.assertGreater(job2, job)

    def test_launches_after_either_side_restarts(self):
        """Once registered, a node daemon signs with a key from the ctld and
        the ctld signs its launches with it (proto/keyed.h).  A restarted
        ctld knows no key: the daemon falls back to munge and gets a new
        one; a restarted daemon holds none: the ctld falls back to munge
        until it shows its new one.  Jobs run all along."""
        c = self.c
        nlog = os.path.join(c.dir, "log", "node-n1.log")

        def keys():
            return harness.read(nlog).count("signing with key")

        def run_one(tag):
            job = c.sbatch("-w", "n1", "--wrap", "echo %s" % tag)
            self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED")), "COMPLETED", tag)
            self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)),
                             tag + "\n")

        c.wait_for(lambda: keys() >= 1, what="the node daemon's signing key")
        run_one("first")
        before = keys()
        c.daemon("stop-daemon", "ctld", signal="KILL")
        c.daemon("start-daemon", "ctld")
        c.wait_for(lambda: c.run("scontrol", "ping").returncode == 0, what="ctld restart")
        run_one("after-ctld")
        c.wait_for(lambda: keys() > before, timeout=30, what="a new key after the ctld restart")
        run_one("new-key")
        before = keys()
        c.daemon("stop-daemon", "n1", signal="KILL")
        c.daemon("start-daemon", "n1")
        run_one("after-daemon")
        c.wait_for(lambda: keys() > before, timeout=30, what="a new key after the daemon restart")
        run_one("new-daemon-key")

    def test_running_job_survives_node_daemon_kill_9(self):
        c = self.c
        job = c.sbatch("--wrap", "sleep 4; echo node-survived")
        c.wait_state(job, "RUNNING")
        node = c.show_job(job)["BatchHost"]
        old = spawners(node_daemon_pid(c, node))
        self.assertEqual(len(old), 1)
        c.daemon("stop-daemon", node, signal="KILL")
        # the job spawner dies with the daemon; the job's supervisor does not
        c.wait_for(lambda: not os.path.exists("/proc/%d" % old[0]), timeout=5,
                   what="spawner %d gone with its daemon" % old[0])
        time.sleep(1)
        self.assertEqual(c.state(job), "RUNNING")
        c.daemon("start-daemon", node)
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)),
                         "node-survived\n")

    def test_job_ended_in_earlier_spool_layout(self):
        """A job that ended while the daemon was away, its files in the
        directory job.<id>/ that earlier versions kept per job: the daemon
        reports its exit code and removes the directory."""
        c = self.c
        job = c.sbatch("-w", "n1", "--wrap", "sleep 2; exit 5")
        c.wait_state(job, "RUNNING")
        spool = os.path.join(c.dir, "spool", "n1")
        c.wait_file(os.path.join(spool, "job.%d.record" % job))
        c.daemon("stop-daemon", "n1", signal="KILL")
        try:
            status = os.path.join(spool, "job.%d.status" % job)
            c.wait_for(lambda: os.path.exists(status), timeout=20, what="the job's end")
            old = os.path.join(spool, "job.%d" % job)
            os.mkdir(old, 0o700)
            for f in glob.glob(os.path.join(spool, "job.%d.*" % job)):
                os.rename(f, os.path.join(old, os.path.basename(f)[len("job.%d." % job):]))
        finally:
            c.daemon("start-daemon", "n1")
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")), "FAILED")
        self.assertEqual(c.show_job(job)["ExitCode"], "5:0")
        c.wait_for(lambda: not os.path.exists(old), what="the old directory removed")

    def assert_small_spawner(self, pid):
        """The spawner is its own small program, not a copy of the daemon:
        what it forks (every job's supervisor) maps no libzmq."""
        self.assertEqual(os.path.basename(os.readlink("/proc/%d/exe" % pid)), "slurmish-spawner")
        with open("/proc/%d/maps" % pid) as f:
            maps = f.read()
        self.assertNotIn("libzmq", maps)
        self.assertLess(len(maps.splitlines()), 60)

    def test_job_spawner_kill_9(self):
        """The job spawner killed: running jobs go on (their supervisors are
        its children but do not die with it), and the next job still runs
        (the daemon starts a new spawner)."""
        c = self.c
        dpid = node_daemon_pid(c, "n1")
        old = spawners(dpid)
        self.assertEqual(len(old), 1)
        self.assert_small_spawner(old[0])
        running = c.sbatch("-w", "n1", "--wrap", "sleep 3; echo outlived-spawner")
        c.wait_state(running, "RUNNING")
        os.kill(old[0], signal.SIGKILL)
        c.wait_for(lambda: old[0] not in spawners(dpid), timeout=5, what="spawner gone")
        nxt = c.sbatch("-w", "n1", "--wrap", "echo after-spawner")
        self.assertEqual(c.wait_state(nxt, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % nxt)),
                         "after-spawner\n")
        self.assertEqual(c.wait_state(running, ("COMPLETED", "FAILED", "NODE_FAIL")),
                         "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % running)),
                         "outlived-spawner\n")
        new = spawners(dpid)
        self.assertEqual(len(new), 1)
        self.assertNotEqual(new, old)
        self.assert_small_spawner(new[0])  # restarted as the same program
        # killed while idle, between jobs: the same
        os.kill(new[0], signal.SIGKILL)
        time.sleep(0.5)  # the daemon may or may not have reaped it yet
        again = c.sbatch("-w", "n1", "--wrap", "echo again")
        self.assertEqual(c.wait_state(again, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")

    def test_spare_supervisor_kill_9(self):
        """The spare supervisor the spawner forks while the node is idle takes
        the next job; killed while it waits, the next job still runs (forked
        then) and a new spare follows."""
        c = self.c
        dpid = node_daemon_pid(c, "n1")
        sp = spawners(dpid)[0]
        c.wait_for(lambda: spawners(sp, "slurmish-spare"), timeout=10, what="a spare")
        spare = spawners(sp, "slurmish-spare")[0]
        job = c.sbatch("-w", "n1", "--wrap", "echo by-the-spare")
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)),
                         "by-the-spare\n")
        c.wait_for(lambda: spawners(sp, "slurmish-spare") not in ([], [spare]), timeout=10,
                   what="a new spare")
        spare = spawners(sp, "slurmish-spare")[0]
        os.kill(spare, signal.SIGKILL)
        c.wait_for(lambda: spare not in spawners(sp, "slurmish-spare"), timeout=5,
                   what="the spare gone")
        job = c.sbatch("-w", "n1", "--wrap", "echo after-spare")
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)),
                         "after-spare\n")
        c.wait_for(lambda: spawners(sp, "slurmish-spare"), timeout=10, what="a spare again")

    def test_spare_job_process_in_its_cgroup(self):
        """With memory enforced on cgroup v1, the spare forks the job's
        process ahead, in a cgroup spare_<pid>; at the launch that cgroup
        gets the job's limit and name, and that process runs the script.
        A spare killed while it waits leaves no cgroup behind."""
        c = self.c
        if "MemoryEnforcement=cgroup-v1" not in c.run("scontrol", "show", "node", "n1").stdout:
            self.skipTest("memory enforcement is not cgroup v1 here")

        def memcg(pid):
            with open("/proc/%d/cgroup" % pid) as f:
                line = [x for x in f.read().splitlines() if ":memory:" in x][0]
            return line.split(":", 2)[2]

        sp = spawners(node_daemon_pid(c, "n1"))[0]

        def spare_and_starter():
            spares = spawners(sp, "slurmish-spare")
            starters = spawners(spares[0], "slurmish-start") if spares else []
            return spares and starters and (spares[0], starters[0])
        spare, starter = c.wait_for(spare_and_starter, timeout=10, what="a spare with a job process")
        c.wait_for(lambda: memcg(starter).endswith("/spare_%d" % spare), timeout=10,
                   what="the job process in the spare's cgroup")
        base = os.path.dirname(memcg(starter))
        out = os.path.join(c.work, "spare-cg.out")
        job = c.sbatch("-w", "n1", "--mem=64M", "-o", out, "--wrap",
                       "echo $$; grep :memory: /proc/$$/cgroup; "
                       "cat /sys/fs/cgroup/memory$(grep :memory: /proc/$$/cgroup | cut -d: -f3)"
                       "/memory.limit_in_bytes")
        self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")), "COMPLETED")
        pid, cg, limit = harness.read(out).split()
        self.assertEqual(int(pid), starter)
        self.assertEqual(cg.split(":", 2)[2], "%s/job_%d" % (base, job))
        self.assertEqual(int(limit), 64 << 20)
        c.wait_for(lambda: not os.path.exists("/sys/fs/cgroup/memory%s/job_%d" % (base, job)),
                   timeout=10, what="the job's cgroup removed")
        # a spare killed while it waits: its job process and cgroup go too
        spare, starter = c.wait_for(lambda: spare_and_starter() and
                                    spare_and_starter()[0] != spare and spare_and_starter(),
                                    timeout=10, what="a new spare")
        spare_cg = "/sys/fs/cgroup/memory%s/spare_%d" % (base, spare)
        c.wait_for(lambda: os.path.isdir(spare_cg), timeout=10, what="its cgroup")
        os.kill(spare, signal.SIGKILL)
        c.wait_for(lambda: not os.path.exists(spare_cg), timeout=10, what="its cgroup removed")

        def gone(pid):  # or a zombie, whose reaper is not ours to know
            try:
                st = harness.read("/proc/%d/stat" % pid)
            except OSError:
                return True
            return "(slurmish-start)" not in st or st[st.rindex(")") + 2] == "Z"
        c.wait_for(lambda: gone(starter), timeout=10, what="its job process gone")

    def test_node_failure_requeues_or_fails(self):
        c = self.c
        log = os.path.join(c.work, "nodefail.log")
        again = c.sbatch("--wrap", "echo $SLURMD_NODENAME >> %s; sleep 1000" % log)
        c.wait_state(again, "RUNNING")
        node = c.show_job(again)["BatchHost"]
        other = "n2" if node == "n1" else "n1"
        once = c.sbatch("--no-requeue", "-w", node, "--wrap", "sleep 1000")
        c.wait_state(once, "RUNNING")
        p = c.run("scontrol", "requeue", str(once))
        self.assertEqual(p.returncode, 1)
        self.assertIn("Requested operation is presently disabled", p.stderr)
        c.daemon("stop-daemon", node, signal="KILL")
        # past node_timeout (10 s): the node is DOWN; one job runs again, one failed
        self.assertEqual(c.wait_state(once, ("NODE_FAIL",), timeout=30), "NODE_FAIL")
        c.wait_for(lambda: c.show_job(again)["BatchHost"] == other and
                   c.state(again) == "RUNNING", timeout=30, what="requeued job running again")
        self.assertEqual(c.show_job(again)["Restarts"], "1")
        c.wait_for(lambda: harness.read(log).split() == [node, other], what="second run")
        # the node returns still running the old copies: it is told to stop them
        c.daemon("start-daemon", node)
        c.wait_for(lambda: c.run("sinfo", "-h", "-N", "-n", node, "-o", "%t").stdout.strip()
                   == "idle", timeout=30, what="node idle again")
        c.run("scancel", str(again))
        c.wait_state(again, "CANCELLED")

    def test_cancel_while_node_daemon_is_down(self):
        c = self.c
        job = c.sbatch("--wrap", "sleep 1000")
        c.wait_state(job, "RUNNING")
        node = c.show_job(job)["BatchHost"]
        c.daemon("stop-daemon", node, signal="KILL")
        p = c.run("scancel", str(job))
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(c.state(job), "CANCELLED")
        c.daemon("start-daemon", node)
        # the node comes back, reports the job, is told to end it
        c.wait_for(lambda: "idle" in c.run("sinfo", "-h", "-N", "-n", node, "-o", "%t").stdout,
                   timeout=20, what="node %s idle again" % node)


if __name__ == "__main__":
    harness.main()
