#!/usr/bin/env python3
"""Crash faults under load: kill -9 of the controller while clients submit,
query and cancel; kill -9 of a node daemon under a batch job and a live
interactive session; munged gone; the state database locked by another
writer; time limits, cancels and requeues racing with completions.

After each fault: every job ID a client was given exists with its script
and options, no ID twice, nothing half-written, and every node's
allocation returns to zero once the work is done."""

import atexit
import glob
import json
import os
import random
import re
import sqlite3
import subprocess
import threading
import time

import harness

CONFIG = harness.DEFAULT_CONFIG.replace("node_timeout: 10", "node_timeout: 6")

FINAL = ("COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY",
         "PREEMPTED")


class CrashTest(harness.ClusterTest):
    config = CONFIG

    # ---- helpers ----

    def ping_ok(self):
        return self.c.run("scontrol", "ping", timeout=30).returncode == 0

    def script_of(self, job):
        p = self.c.run("scontrol", "write", "batch_script", str(job), "-")
        self.assertEqual(p.returncode, 0, "job %d: %s" % (job, p.stderr))
        return p.stdout

    def alloc_zero(self):
        """Every node shows no allocated CPUs or memory."""
        out = self.c.run("scontrol", "show", "node").stdout
        cpus = [int(x) for x in re.findall(r"CPUAlloc=(\d+)", out)]
        mem = [int(x) for x in re.findall(r"AllocMem=(\d+)", out)]
        return len(cpus) == 2 and cpus == [0, 0] and mem == [0, 0]

    def wait_all_final(self, jobs, timeout=60):
        def done():
            states = {j: self.c.state(j) for j in jobs}
            return all(s in FINAL for s in states.values()) and states
        return self.c.wait_for(done, timeout, "every job final")

    def assert_clean_nodes(self):
        self.c.wait_for(self.alloc_zero, 30, "every node with 0 allocated CPUs and memory")
        self.c.wait_for(lambda: self.c.run("sinfo", "-h", "-o", "%C").stdout.strip() ==
                        "0/4/0/4", 30, "sinfo: 0 CPUs allocated, 4 idle")
        self.assertEqual(self.check_invariants(), "ok")

    def check_invariants(self, user=None):
        """The controller's whole-state consistency pass (admin only)."""
        conf = harness.read(self.c.conf)
        port = re.search(r"^\s*port:\s*['\"]?(\d+)", conf, re.M).group(1)
        sock = os.path.join(self.c.dir, "munge", "munge.sock")
        cmd = [harness.RAWSEND, "127.0.0.1", port, "--sign", sock, "ping", '{"check": true}']
        if user:
            cmd = ["setpriv", "--reuid=" + user, "--regid=65534", "--clear-groups"] + cmd
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        r = json.loads(p.stdout.strip().splitlines()[-1])
        return r.get("body", {}).get("invariants") if r["rc"] == 0 else r.get("error")

    # ---- 0. a big table is loaded in two halves, on two threads ----

    def test_restart_loads_two_halves(self):
        """persist_load reads the upper half of the ids on a second thread
        when the table is big (SLURMISH_LOAD_SPLIT_MIN lowers the bar): every
        job comes back once, in its state, and the state is consistent."""
        c = self.c
        done = c.sbatch("-o", "/dev/null", "--wrap", "true")
        c.wait_state(done, ("COMPLETED",))
        held = [c.sbatch("--hold", "-o", "/dev/null", "--wrap", "true") for _ in range(5)]
        run = c.sbatch("-o", "/dev/null", "--wrap", "sleep 30")
        c.wait_state(run, "RUNNING")
        arr = c.sbatch("--hold", "--array=1-4", "-o", "/dev/null", "--wrap", "true")
        view = lambda: c.run("squeue", "-h", "-t", "all", "-o", "%i %t %r %Q").stdout
        before = view()
        c.daemon("stop-daemon", "ctld", signal="KILL")
        os.environ["SLURMISH_LOAD_SPLIT_MIN"] = "1"
        try:
            c.daemon("start-daemon", "ctld")
        finally:
            del os.environ["SLURMISH_LOAD_SPLIT_MIN"]
        c.wait_for(lambda: c.run("scontrol", "ping").returncode == 0, what="ctld restart")
        self.assertEqual(view(), before)
        ids = [line.split()[0] for line in before.splitlines()]
        for j in held + [done, run]:
            self.assertEqual(ids.count(str(j)), 1, "job %d once" % j)
        self.assertIn("%d_[1-4]" % arr, ids)
        self.assertEqual(self.check_invariants(), "ok")
        c.run("scancel", str(run), str(arr), *map(str, held))
        c.wait_state(run, ("CANCELLED",), timeout=30)
        self.assert_clean_nodes()

    # ---- 1. controller kill -9 under concurrent load ----

    def test_ctld_kill_9_under_load(self):
        c = self.c
        # a job running across the crash, and one that ends while the
        # controller is down (its node keeps the completion and resends it)
        longrun = c.sbatch("-J", "longrun", "-t", "2", "--wrap", "sleep 20; echo long-done")
        ending = c.sbatch("-J", "ending", "-t", "2", "--wrap", "sleep 2; exit 3")
        ending0 = c.sbatch("-J", "ending0", "-t", "2", "--wrap", "sleep 2; echo ended-0")
        for j in (longrun, ending, ending0):
            c.wait_state(j, "RUNNING")
        long_start = c.show_job(longrun)["StartTime"]

        lock = threading.Lock()
        got = {}            # job id -> (name, time limit minutes, tag, held)
        cancelled = set()   # scancel said yes
        maybe_cancelled = set()
        dup = []
        stop = threading.Event()
        errors = []

        def client(n):
            rnd = random.Random(n)
            mine = []
            k = 0
            while not stop.is_set():
                k += 1
                op = rnd.random()
                if op < 0.45:
                    held = rnd.random() < 0.5
                    tag = "c%d-%d" % (n, k)
                    tmin = rnd.randint(2, 9)
                    args = ["sbatch", "--parsable", "-J", tag, "-p", "debug", "-t", str(tmin)]
                    if held:
                        args.append("--hold")
                    args += ["--wrap", "sleep 0.%d; echo %s" % (rnd.randint(1, 5), tag)]
                    p = c.run(*args, timeout=60)
                    if p.returncode == 0:
                        jid = int(p.stdout.strip().split(";")[0])
                        with lock:
                            if jid in got:
                                dup.append(jid)
                            got[jid] = (tag, tmin, held)
                        if held:
                            mine.append(jid)
                    elif not re.search(r"Unable to contact|timed out|Unable to save", p.stderr):
                        errors.append("sbatch: " + p.stderr)
                elif op < 0.85:
                    q = rnd.choice([["squeue", "-h"], ["sinfo", "-h"], ["sacct", "-n"]])
                    c.run(*q, timeout=60)
                elif mine:
                    jid = mine.pop(rnd.randrange(len(mine)))
                    p = c.run("scancel", str(jid), timeout=60)
                    with lock:
                        (cancelled if p.returncode == 0 else maybe_cancelled).add(jid)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        try:
            time.sleep(3)
            c.daemon("stop-daemon", "ctld", signal="KILL")
            killed_at = time.time()
            time.sleep(3)  # `ending` and `ending0` end meanwhile
            c.daemon("start-daemon", "ctld")
            c.wait_for(self.ping_ok, 60, "controller answering")
            restart = time.time() - killed_at - 3
            print("ctld restart under load: answering %.2fs after start" % restart)
            time.sleep(3)
        finally:
            stop.set()
            for t in threads:
                t.join()
        self.assertEqual(errors, [])
        self.assertEqual(dup, [], "job ids handed out twice")
        self.assertGreater(len(got), 10, "too few submissions got through")
        print("submissions acknowledged: %d, cancelled: %d" % (len(got), len(cancelled)))

        # the running job kept running, untouched
        info = c.show_job(longrun)
        self.assertEqual(info["JobState"], "RUNNING")
        self.assertEqual(info["StartTime"], long_start)
        self.assertEqual(info["Restarts"], "0")
        # the job that ended while the controller was down is recorded
        self.assertEqual(c.wait_state(ending, FINAL, timeout=30), "FAILED")
        self.assertEqual(c.show_job(ending)["ExitCode"], "3:0")
        self.assertEqual(c.wait_state(ending0, FINAL, timeout=30), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % ending0)),
                         "ended-0\n")

        # every acknowledged job is there, once, with its script and options
        out = c.run("squeue", "-h", "-t", "all", "-o", "%i").stdout.split()
        self.assertEqual(len(out), len(set(out)), "squeue lists a job twice")
        for jid, (tag, tmin, held) in sorted(got.items()):
            info = c.show_job(jid)
            self.assertEqual(info["JobName"], tag, jid)
            self.assertEqual(info["Partition"], "debug", jid)
            self.assertEqual(info["TimeLimit"], "00:%02d:00" % tmin, jid)
            self.assertIn("echo %s\n" % tag, self.script_of(jid))
            if jid in cancelled:
                self.assertEqual(info["JobState"], "CANCELLED", jid)
            elif held and jid not in maybe_cancelled:
                self.assertEqual(info["JobState"], "PENDING", jid)
                self.assertEqual(info["Reason"], "JobHeldUser", jid)
        # sacct agrees
        acct = c.run("sacct", "-n", "-X", "-P", "-o", "JobID", "-S", "2000-01-01").stdout.split()
        self.assertTrue(set(str(j) for j in got) <= set(acct),
                        set(str(j) for j in got) - set(acct))

        # the rest runs to the end and the nodes come back clean
        held_jobs = [j for j, v in got.items() if v[2]]
        for j in held_jobs:
            c.run("scancel", str(j))
        states = self.wait_all_final(list(got) + [longrun], timeout=120)
        for jid, (tag, tmin, held) in got.items():
            if not held:
                self.assertEqual(states[jid], "COMPLETED", jid)
                self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % jid)),
                                 tag + "\n")
        self.assertEqual(states[longrun], "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % longrun)),
                         "long-done\n")
        self.assert_clean_nodes()

    def test_session_across_ctld_kill_9(self):
        c = self.c
        # an srun session keeps running while the controller is dead, and
        # ends meanwhile: srun keeps trying to release its allocation until
        # the controller is back, so the allocation does not stay held
        srun = subprocess.Popen(
            [os.path.join(harness.BUILDDIR, "cli", "srun"), "sh", "-c",
             "for i in 1 2 3 4 5 6 7 8 9 10; do echo s-$i; sleep 0.2; done; exit 3"],
            cwd=c.work, env=c.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = srun.stdout.readline()
            self.assertEqual(first, "s-1\n")
            # the session's allocation: the newest running job named sh (a
            # job an earlier test left pending may be listed first)
            job = max(int(l.split()[0]) for l in c.run(
                "squeue", "-h", "-t", "R", "-o", "%i %j").stdout.splitlines()
                if l.split()[1:] == ["sh"])
            c.daemon("stop-daemon", "ctld", signal="KILL")
            time.sleep(7)  # past a client's message_timeout (5 s)
            self.assertEqual(srun.poll(), None, "srun gave up on the release")
            c.daemon("start-daemon", "ctld")
            out = first + srun.stdout.read()
            srun.wait(timeout=60)
            err = srun.stderr.read()
        finally:
            if srun.poll() is None:
                srun.kill()
                srun.wait()
            srun.stdout.close()
            srun.stderr.close()
        self.assertEqual(out.split(), ["s-%d" % i for i in range(1, 11)], err)
        self.assertEqual(srun.returncode, 3, err)
        self.assertIn("retrying", err)
        self.assertEqual(c.wait_state(job, FINAL, timeout=30), "FAILED")
        self.assertEqual(c.show_job(job)["ExitCode"], "3:0")
        # the step's own end, reported by its node after the allocation's
        # release, is what accounting keeps (not CANCELLED with the job)
        step = lambda: c.run("sacct", "-n", "-P", "-j", str(job), "-o",
                             "JobID,State,ExitCode").stdout.split()
        c.wait_for(lambda: "%d.0|FAILED|3:0" % job in step(), 20, "step 0 FAILED 3:0")
        self.assert_clean_nodes()

    # ---- 2. node daemon kill -9 under a batch job and a session ----

    def test_node_daemon_kill_9_readopts_job_and_session(self):
        c = self.c
        job = c.sbatch("-w", "n1", "--wrap", "sleep 12; echo batch-done; exit 7")
        c.wait_state(job, "RUNNING")
        # The session writes before the kill, while the daemon is dead (srun
        # gets those lines when it rejoins: the frames after those it has)
        # and after the restart.
        gap = os.path.join(c.work, "session-gap")
        go = os.path.join(c.work, "session-go")
        srun = subprocess.Popen(
            [os.path.join(harness.BUILDDIR, "cli", "srun"), "-w", "n1", "sh", "-c",
             "for i in 1 2 3 4 5; do echo line-$i; done; while [ ! -e %s ]; do sleep 0.1; "
             "done; for i in 1 2 3 4 5; do echo gap-$i; done; while [ ! -e %s ]; do sleep 0.1; "
             "done; for i in 6 7 8 9 10; do echo line-$i; sleep 0.1; done; exit 5" % (gap, go)],
            cwd=c.work, env=c.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = srun.stdout.readline()  # the session is running
            self.assertEqual(first, "line-1\n", srun.stderr.read() if not first else "")
            time.sleep(1)
            log = os.path.join(c.dir, "log", "node-n1.log")
            attached = lambda: harness.read(log).count("attached")
            before = attached()
            c.daemon("stop-daemon", "n1", signal="KILL")
            self.assertIsNone(srun.poll(), "the session ended with its node daemon")
            with open(gap, "w"):
                pass  # output while nobody can carry it
            time.sleep(2.5)  # below node_timeout: the node is not declared dead
            self.assertEqual(c.state(job), "RUNNING")
            c.daemon("start-daemon", "n1")
            # srun rejoins the restarted daemon by itself
            c.wait_for(lambda: attached() > before, 20, "srun attached again")
            with open(go, "w"):
                pass
            # (not communicate(): it would skip what readline() buffered)
            out = first + srun.stdout.read()
            srun.wait(timeout=60)
            err = srun.stderr.read()
        finally:
            if srun.poll() is None:
                srun.kill()
                srun.wait()
            srun.stdout.close()
            srun.stderr.close()
        self.assertEqual(out.split(), ["line-%d" % i for i in range(1, 6)] +
                         ["gap-%d" % i for i in range(1, 6)] +
                         ["line-%d" % i for i in range(6, 11)], err)
        self.assertEqual(srun.returncode, 5, err)
        self.assertEqual(c.wait_state(job, FINAL, timeout=30), "FAILED")
        info = c.show_job(job)
        self.assertEqual((info["ExitCode"], info["Restarts"]), ("7:0", "0"))
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)),
                         "batch-done\n")
        # a job that ends while its node daemon is dead: the restarted
        # daemon finds its exit status in the spool and reports it
        short = c.sbatch("-w", "n1", "--wrap", "sleep 1; echo short-done; exit 9")
        c.wait_state(short, "RUNNING")
        c.daemon("stop-daemon", "n1", signal="KILL")
        time.sleep(2.5)
        c.daemon("start-daemon", "n1")
        self.assertEqual(c.wait_state(short, FINAL, timeout=30), "FAILED")
        self.assertEqual(c.show_job(short)["ExitCode"], "9:0")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % short)),
                         "short-done\n")
        self.assert_clean_nodes()

    def test_node_gone_past_timeout(self):
        c = self.c
        blocker = c.sbatch("-w", "n1", "-c", "2", "--wrap", "sleep 600")
        c.wait_state(blocker, "RUNNING")
        again = c.sbatch("--requeue", "--wrap", "echo run-$SLURMD_NODENAME; sleep 600")
        once = c.sbatch("-w", "n2", "--no-requeue", "--wrap", "sleep 600")
        c.wait_state(again, "RUNNING")
        c.wait_state(once, "RUNNING")
        self.assertEqual(c.show_job(again)["BatchHost"], "n2")
        c.daemon("stop-daemon", "n2", signal="KILL")
        t0 = time.time()
        try:
            self.assertEqual(c.wait_state(once, FINAL, timeout=30), "NODE_FAIL")
            print("node declared dead %.1fs after its daemon was killed (node_timeout 6s)"
                  % (time.time() - t0))
            line = c.run("sinfo", "-h", "-R", "-n", "n2", "-o", "%t|%E").stdout.strip()
            self.assertRegex(line, r"^down\*?\|Not responding")
            c.wait_state(again, "PENDING", timeout=30)
            self.assertEqual(c.show_job(again)["Restarts"], "1")
            c.run("scancel", str(blocker))
            c.wait_for(lambda: c.state(again) == "RUNNING" and
                       c.show_job(again)["BatchHost"] == "n1", 30, "requeued job on n1")
        finally:
            c.daemon("start-daemon", "n2")
        c.run("scancel", str(again))
        self.wait_all_final([again, once, blocker])
        c.wait_for(lambda: c.run("sinfo", "-h", "-N", "-n", "n2", "-o", "%t").stdout.strip()
                   == "idle", 30, "n2 back and idle")
        self.assert_clean_nodes()

    def test_job_missing_from_its_node(self):
        """A node that registers without a job the ctld runs there (its
        launch was lost, or the node lost its spool): the job is run again
        if it may be requeued, else it ends NODE_FAIL."""
        c = self.c
        log = os.path.join(c.work, "missing.log")
        again = c.sbatch("-w", "n1", "--wrap", "echo run >> %s; sleep 600" % log)
        once = c.sbatch("-w", "n1", "--no-requeue", "--wrap", "sleep 600")
        c.wait_state(again, "RUNNING")
        c.wait_state(once, "RUNNING")
        c.wait_file(log)
        spool = os.path.join(c.dir, "spool", "n1")
        records = {}
        for j in (again, once):
            path = os.path.join(spool, "job.%d.record" % j)
            c.wait_file(path)  # written once the daemon has started it
            records[j] = json.loads(harness.read(path))
        c.daemon("stop-daemon", "n1", signal="KILL")
        try:
            # the node forgets both jobs: their processes and their spool go
            for j, rec in records.items():
                for pid in (-rec["pgid"], rec["sup_pid"]):
                    try:
                        os.kill(pid, 9)
                    except ProcessLookupError:
                        pass
                for f in glob.glob(os.path.join(spool, "job.%d.*" % j)):
                    os.unlink(f)
        finally:
            c.daemon("start-daemon", "n1")  # back below node_timeout: not declared dead
        self.assertEqual(c.wait_state(once, FINAL, timeout=30), "NODE_FAIL")
        c.wait_for(lambda: c.state(again) == "RUNNING" and
                   c.show_job(again)["Restarts"] == "1", 30, "the lost job running again")
        c.wait_for(lambda: harness.read(log) == "run\nrun\n", 30, "the second run's output")
        c.run("scancel", str(again))
        self.wait_all_final([again, once])
        self.assert_clean_nodes()
    # ---- 3. munged gone; the state database locked ----

    def test_munged_stopped_and_back(self):
        c = self.c
        job = c.sbatch("--wrap", "sleep 2; echo munge-done")
        c.wait_state(job, "RUNNING")
        before = c.run("squeue", "-h", "-t", "all", "-o", "%i").stdout.split()
        # tools that reach the controller over TCP need munged to sign
        # their requests; on its Unix socket they need no credential
        tcp = c.config_variant("tcp-only", drop=("tools_socket",))
        c.daemon("stop-daemon", "munged")
        try:
            # the outage stays below node_timeout, or the nodes would be
            # declared dead (as Slurm's would: they cannot sign heartbeats)
            for args in (["sbatch", "--wrap", "true"], ["squeue"], ["scancel", str(job)],
                         ["scontrol", "hold", str(job)], ["sinfo"]):
                p = c.run(*args, env={"SLURMISH_CONF": tcp})
                self.assertEqual(p.returncode, 1, args)
                self.assertRegex(p.stderr, r"(?i)munge", args)
                self.assertIn("Did you start munged?", p.stderr, args)
            p = c.run("squeue", "-h", "-t", "all", "-o", "%i")
            self.assertEqual(p.returncode, 0, "over the Unix socket: " + p.stderr)
            self.assertIn(str(job), p.stdout.split())
        finally:
            c.daemon("start-daemon", "munged")
        # back by itself: no restart of the controller or the node daemons
        c.wait_for(self.ping_ok, 20, "requests accepted again")
        # the same jobs (their order may change: the job may end meanwhile)
        self.assertEqual(sorted(c.run("squeue", "-h", "-t", "all", "-o", "%i").stdout.split()),
                         sorted(before))
        # the job ended meanwhile; its node kept the completion until it could sign it
        self.assertEqual(c.wait_state(job, FINAL, timeout=20), "COMPLETED")
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % job)),
                         "munge-done\n")
        self.assertEqual(c.wait_state(c.sbatch("--wrap", "true"), FINAL), "COMPLETED")
        self.assertEqual(set(c.run("sinfo", "-h", "-N", "-o", "%t").stdout.split()), {"idle"})

    def db_lock(self, seconds, during):
        """Hold the state database's write lock for `seconds` while
        `during()` runs in another thread; its result once both are done."""
        db = sqlite3.connect(os.path.join(self.c.dir, "state", "slurmish.db"),
                             isolation_level=None, timeout=10)
        result = []
        try:
            db.execute("BEGIN EXCLUSIVE")
            t = threading.Thread(target=lambda: result.append(during()))
            t.start()
            time.sleep(seconds)
            db.execute("ROLLBACK")
        finally:
            db.close()
        t.join()
        return result[0]

    def test_state_db_locked(self):
        c = self.c
        # a short lock: the submission waits for it and succeeds
        t0 = time.time()
        p = self.db_lock(2, lambda: c.run("sbatch", "--parsable", "-J", "waited", "--wrap",
                                          "echo after-lock"))
        self.assertEqual(p.returncode, 0, p.stderr)
        print("submission under a 2 s lock answered in %.2fs" % (time.time() - t0))
        waited = int(p.stdout.strip())
        self.assertEqual(c.wait_state(waited, FINAL), "COMPLETED")
        # a long lock: refused with a clear error, nothing written
        ids = []

        def submit_many():
            out = []
            for _ in range(3):
                out.append(c.run("sbatch", "--parsable", "-J", "locked", "--wrap", "true"))
            return out

        results = self.db_lock(8, submit_many)
        for p in results:
            if p.returncode == 0:
                ids.append(int(p.stdout.strip()))
            else:
                self.assertIn("Unable to save state", p.stderr)
                self.assertIn("database is locked", p.stderr)
        self.assertTrue(self.ping_ok())
        # normal again, and no returned id is lost
        after = c.sbatch("-J", "after", "--wrap", "echo normal")
        for j in [waited, after] + ids:
            self.assertEqual(c.wait_state(j, FINAL), "COMPLETED", j)
        self.assertEqual(harness.read(os.path.join(c.work, "slurm-%d.out" % waited)),
                         "after-lock\n")
        names = c.run("squeue", "-h", "-t", "all", "-o", "%j").stdout.split()
        self.assertEqual(names.count("locked"), len(ids))
        # a restart reads back the same
        c.daemon("stop-daemon", "ctld", signal="KILL")
        c.daemon("start-daemon", "ctld")
        c.wait_for(self.ping_ok, 30, "controller back")
        self.assertEqual(c.run("squeue", "-h", "-t", "all", "-o", "%j").stdout.split().count(
            "locked"), len(ids))
        self.assert_clean_nodes()

    def test_state_db_locked_while_a_job_ends(self):
        c = self.c
        job = c.sbatch("--wrap", "sleep 1; echo ended; exit 4")
        c.wait_state(job, "RUNNING")
        # The completion cannot be written: the controller does not claim
        # it (the node gets an error and resends) and, as on a failed
        # commit, ends rather than run on with memory the db does not have.
        self.db_lock(6, lambda: None)
        alive = self.ping_ok()
        print("controller %s" % ("still answering" if alive else
                                 "exited (a change it could not write), restarted"))
        if not alive:
            c.daemon("start-daemon", "ctld")
            c.wait_for(self.ping_ok, 30, "controller back")
        self.assertEqual(c.wait_state(job, FINAL, timeout=30), "FAILED")
        self.assertEqual(c.show_job(job)["ExitCode"], "4:0")
        self.assertEqual(c.wait_state(c.sbatch("--wrap", "true"), FINAL), "COMPLETED")
        self.assert_clean_nodes()

    # ---- 4. time limits, cancels and requeues racing with completions ----

    def test_races_leave_no_leak(self):
        c = self.c
        self.assertEqual(self.check_invariants(), "ok")
        self.assertIn("Access/permission denied", self.check_invariants(user="nobody"))
        rnd = random.Random(4)
        jobs = {}
        for i in range(24):
            run = rnd.choice([1.5, 2, 2.5, 3])
            kind = ("timeout", "cancel", "requeue", "plain")[i % 4]
            # a time limit at or just past the run time: the limit and the
            # end race each other
            limit = "0:%02d" % (int(run + 0.5) + (i // 4) % 2)
            j = c.sbatch("-J", kind, "-t", limit, "--wrap", "sleep %s" % run)
            jobs[j] = (kind, run)
        stop = threading.Event()
        acted = {}
        seen = {}

        def actor():
            # cancel or requeue each job at about the time it ends by itself
            while not stop.is_set():
                p = c.run("squeue", "-h", "-t", "R", "-o", "%i %j")
                now = time.time()
                for line in p.stdout.splitlines():
                    jid, kind = line.split()
                    jid = int(jid)
                    if jid in acted or kind not in ("cancel", "requeue"):
                        continue
                    seen.setdefault(jid, now)
                    if now >= seen[jid] + jobs[jid][1] - 0.3 + rnd.uniform(-0.2, 0.2):
                        if kind == "cancel":
                            acted[jid] = c.run("scancel", str(jid)).returncode
                        else:
                            acted[jid] = c.run("scontrol", "requeue", str(jid)).returncode
                time.sleep(0.05)

        checks = []

        def checker():
            while not stop.is_set():
                checks.append(self.check_invariants())
                time.sleep(0.3)

        threads = [threading.Thread(target=actor), threading.Thread(target=checker)]
        for t in threads:
            t.start()
        try:
            states = self.wait_all_final(list(jobs), timeout=150)
        finally:
            stop.set()
            for t in threads:
                t.join()
        bad = [x for x in checks if x != "ok"]
        self.assertEqual(bad, [], "invariant checks failed while jobs raced")
        self.assertGreater(len(checks), 5)
        requeued = sum(1 for j in jobs if c.show_job(j)["Restarts"] != "0")
        print("%d jobs, %d cancels/requeues raced (%d requeued), %d invariant checks, "
              "states %s" % (len(jobs), len(acted), requeued, len(checks),
            sorted((s, list(states.values()).count(s)) for s in set(states.values()))))
        for jid, (kind, run) in jobs.items():
            if kind == "cancel" and acted.get(jid) == 0:
                self.assertIn(states[jid], ("CANCELLED", "COMPLETED", "TIMEOUT"), jid)
            else:
                self.assertIn(states[jid], ("COMPLETED", "TIMEOUT", "CANCELLED"), jid)
        # each job once, in one state, everywhere
        ids = c.run("squeue", "-h", "-t", "all", "-o", "%i").stdout.split()
        self.assertEqual(len(ids), len(set(ids)), "squeue lists a job twice")
        self.assertTrue(set(str(j) for j in jobs) <= set(ids))
        acct = c.run("sacct", "-n", "-X", "-P", "-o", "JobID,State", "-S", "2000-01-01").stdout
        rows = dict(l.split("|") for l in acct.splitlines() if l.strip())
        for jid in jobs:
            self.assertEqual(rows[str(jid)].split()[0], states[jid], jid)
        self.assert_clean_nodes()
        self.assertEqual(self.check_invariants(), "ok")


class DiskFullTest(harness.ClusterTest):
    """The state directory on a small tmpfs that fills up."""

    @classmethod
    def setUpClass(cls):
        cls.c = harness.Cluster(CONFIG)
        cls.state = os.path.join(cls.c.dir, "state")
        os.makedirs(cls.state)
        cls.mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m,mode=0755", "tmpfs",
                                      cls.state], stderr=subprocess.PIPE).returncode == 0
        if not cls.mounted:
            cls.c.cleanup()
            raise harness.unittest.SkipTest("cannot mount a tmpfs for the state directory")
        # a run killed half-way still unmounts it (after the cluster stops:
        # atexit runs this after the cluster's own cleanup, registered later)
        atexit.register(subprocess.run, ["umount", "-l", cls.state], stdout=subprocess.DEVNULL,
                        stderr=subprocess.DEVNULL)
        try:
            cls.c.up()
        except Exception:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls):
        cls.c.down()
        if cls.mounted:
            subprocess.run(["umount", cls.state])
        super().tearDownClass()

    def test_disk_full(self):
        c = self.c
        self.assertEqual(c.wait_state(c.sbatch("--wrap", "true"), FINAL), "COMPLETED")
        big = "#!/bin/sh\n" + ("# " + "x" * 1000 + "\n") * 200
        got, refused = [], None
        for i in range(40):
            p = c.run("sbatch", "--parsable", "--hold", "-J", "big%d" % i,
                      input=big + "echo big-%d\n" % i)
            if p.returncode:
                refused = p.stderr
                break
            got.append((int(p.stdout.strip()), i))
        self.assertIsNotNone(refused, "2 MB never filled up")
        self.assertIn("Unable to save state", refused)
        # The controller does not run on with memory the disk does not have:
        # like a failed commit, a full disk ends it (systemd restarts it,
        # Restart=on-failure), and it restarts from what was committed.
        alive = self.ping_ok()
        print("disk full after %d submissions; controller %s" % (
            len(got), "still answering" if alive else "exited, as on any failed commit"))
        subprocess.run(["mount", "-o", "remount,size=64m", self.state], check=True)
        if not alive:
            c.daemon("start-daemon", "ctld")
        c.wait_for(self.ping_ok, 30, "controller answering")
        for jid, i in got:
            info = c.show_job(jid)
            self.assertEqual((info["JobName"], info["JobState"]), ("big%d" % i, "PENDING"))
            p = c.run("scontrol", "write", "batch_script", str(jid), "-")
            self.assertEqual(p.stdout, big + "echo big-%d\n" % i)
        names = c.run("squeue", "-h", "-t", "all", "-o", "%j").stdout.split()
        self.assertEqual(len([n for n in names if n.startswith("big")]), len(got))
        self.assertEqual(c.wait_state(c.sbatch("--wrap", "true"), FINAL), "COMPLETED")
        c.run("scancel", "-u", "root")
        c.wait_nodes_idle()

    def ping_ok(self):
        return self.c.run("scontrol", "ping", timeout=30).returncode == 0


if __name__ == "__main__":
    harness.main()
