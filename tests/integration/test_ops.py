#!/usr/bin/env python3
"""Operability: the systemd units (systemd-analyze verify; their command
lines run the daemons in the foreground, ExecReload's SIGHUP reloads the
controller's config, KillMode=process keeps jobs through a node daemon
stop) and the bash completion (loads with bash-completion, completes
partitions, options, job IDs and scontrol's words against a live cluster)."""

import json
import os
import pwd
import re
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import harness

SRCDIR = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
COMPLETION = os.path.join(SRCDIR, "etc", "bash_completion", "slurmish")
BASH_COMPLETION = "/usr/share/bash-completion/bash_completion"
UNITS = {"slurmish-ctld": "slurmish-ctld", "slurmish-d": "slurmish-d"}
# every program the completion covers (etc/local.mk links each to it)
TOOLS = ["sbatch", "salloc", "srun", "squeue", "scancel", "sinfo", "scontrol", "sacct",
         "sattach", "sreport", "slurmish-local"]

CONFIG = harness.DEFAULT_CONFIG + """\
  - name: long
    node_groups: [n]
    max_time: 2:00:00
"""

# Complete COMP_LINE ($2) as bash would: bash-completion's own loader
# finds the script under BASH_COMPLETION_USER_DIR ($1) by the command's
# name, then the function `complete -p` names is called with the COMP_*
# variables set as bash sets them ($3...: COMP_WORDS, see comp_words).
# compopt only works inside a real completion: a no-op here.
DRIVER = r"""
source "$BASH_COMPLETION_SCRIPT" || exit 2
export BASH_COMPLETION_USER_DIR=$1
COMP_LINE=$2
COMP_POINT=${#COMP_LINE}
shift 2
COMP_WORDS=("$@")
COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
cmd=${COMP_WORDS[0]}
_completion_loader "$cmd"
spec=$(complete -p "$cmd") || exit 3
fn=${spec#*-F }
fn=${fn%% *}
compopt() { :; }
cur=${COMP_WORDS[COMP_CWORD]}
[[ $cur == [=:] ]] && cur=""
"$fn" "$cmd" "$cur" "${COMP_WORDS[COMP_CWORD-1]}"
printf '%s\n' "${COMPREPLY[@]}"
"""


def comp_words(line):
    """COMP_WORDS for the cursor at the end of line: words split at blanks
    and at COMP_WORDBREAKS' "=" and ":", which are words of their own."""
    words = re.findall(r"[=:]|[^\s=:]+", line)
    if line.endswith(" "):
        words.append("")
    return words


def parse_unit(path):
    """{(section, key): [values]} of a unit file."""
    out, section = {}, None
    with open(path) as f:
        for line in f:
            line = line.strip()
            if not line or line[0] in "#;":
                continue
            if line.startswith("["):
                section = line.strip("[]")
                continue
            k, _, v = line.partition("=")
            out.setdefault((section, k.strip()), []).append(v.strip())
    return out


def unit_path(name):
    return os.path.join(harness.BUILDDIR, "etc", name + ".service")


def build_program(name):
    return os.path.join(harness.BUILDDIR, UNITS[name], name)


def exec_argv(unit, key, env=None, **subst):
    """A unit's Exec line as argv, with $VARS from env (unset: dropped, as
    systemd does) and $MAINPID-like ones from subst."""
    env = env or {}
    argv = []
    for w in shlex.split(unit[("Service", key)][0]):
        if w.startswith("$"):
            v = subst.get(w[1:], env.get(w[1:], ""))
            argv += v.split()
        else:
            argv.append(w)
    return argv


def local_argv(name, argv, conf):
    """The unit's ExecStart pointed at the build tree and a test config."""
    argv = list(argv)
    argv[0] = build_program(name)
    argv[argv.index("-f") + 1] = conf
    return argv


class UnitsTest(unittest.TestCase):
    """The generated unit files, no cluster needed."""

    def test_units_are_generated_with_install_paths(self):
        for name in UNITS:
            with open(unit_path(name)) as f:
                text = f.read()
            self.assertNotRegex(text, r"@[a-z_]+@", name + ": placeholder left")
            u = parse_unit(unit_path(name))
            argv = exec_argv(u, "ExecStart")
            self.assertTrue(os.path.isabs(argv[0]), argv)
            self.assertTrue(argv[0].endswith("/sbin/" + name), argv)
            self.assertIn("-D", argv)  # foreground, for Type=simple
            conf = argv[argv.index("-f") + 1]
            self.assertTrue(conf.endswith("/slurmish.yaml") and os.path.isabs(conf), argv)
            self.assertEqual(u[("Service", "Type")], ["simple"])
            self.assertEqual(u[("Service", "Restart")], ["on-failure"])
            for key in ("After", "Wants"):
                words = " ".join(u[("Unit", key)]).split()
                self.assertIn("munge.service", words, "%s %s" % (name, key))
                self.assertIn("network-online.target", words, "%s %s" % (name, key))

    def test_hardening(self):
        ctld = parse_unit(unit_path("slurmish-ctld"))
        for key, want in (("ProtectSystem", "strict"), ("PrivateTmp", "yes"),
                          ("NoNewPrivileges", "yes"), ("ProtectHome", "read-only")):
            self.assertEqual(ctld[("Service", key)], [want], key)
        self.assertIn("/var/lib/slurmish", ctld[("Service", "ReadWritePaths")])
        self.assertEqual(exec_argv(ctld, "ExecReload", MAINPID="42"),
                         ["/bin/kill", "-HUP", "42"])
        noded = parse_unit(unit_path("slurmish-d"))
        self.assertEqual(noded[("Service", "KillMode")], ["process"])
        # what running jobs as other users rules out
        for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "PrivateDevices",
                    "SystemCallFilter", "RestrictSUIDSGID"):
            self.assertNotIn(("Service", key), noded, key)

    def test_systemd_analyze_verify(self):
        sa = shutil.which("systemd-analyze")
        if not sa:
            self.skipTest("systemd-analyze is missing (Debian package systemd; "
                          "scripts/install-deps.sh installs it)")
        tmp = tempfile.mkdtemp(prefix="slurmish-units-")
        self.addCleanup(shutil.rmtree, tmp, True)
        paths = []
        for name in UNITS:
            # ExecStart= must name an executable: the build tree's program
            with open(unit_path(name)) as f:
                text = f.read()
            installed = exec_argv(parse_unit(unit_path(name)), "ExecStart")[0]
            paths.append(os.path.join(tmp, name + ".service"))
            with open(paths[-1], "w") as f:
                f.write(text.replace(installed + " ", build_program(name) + " "))
        p = subprocess.run([sa, "verify", "--man=no"] + paths, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        if p.returncode and re.search(r"Failed to (initialize manager|set up the root)|"
                                      r"Operation not permitted", p.stdout):
            self.skipTest("systemd-analyze cannot run in this container: " + p.stdout.strip())
        # a misspelt key is only a warning, with exit status 0: any output fails
        self.assertEqual((p.returncode, p.stdout.strip()), (0, ""))
        # and the check does catch a bad unit
        with open(paths[0], "a") as f:
            f.write("[Service]\nProtectSytem=strict\n")
        p = subprocess.run([sa, "verify", "--man=no", paths[0]], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=120)
        self.assertIn("ProtectSytem", p.stdout)


class OpsTest(harness.ClusterTest):
    config = CONFIG

    @classmethod
    def setUpClass(cls):
        cls.user = harness.ensure_test_user()
        super().setUpClass()

    def ping(self):
        return self.c.run("scontrol", "ping", timeout=20).returncode == 0

    # ---------------------------------------------------------- units, live

    def test_ctld_unit_runs_in_foreground_and_reloads_on_hup(self):
        c = self.c
        unit = parse_unit(unit_path("slurmish-ctld"))
        argv = local_argv("slurmish-ctld", exec_argv(unit, "ExecStart"), c.conf)
        c.daemon("stop-daemon", "ctld")
        log = open(os.path.join(c.dir, "log", "unit-ctld.log"), "ab")
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                start_new_session=True)
        log.close()
        try:
            c.wait_for(self.ping, what="the unit's controller answering")
            # Type=simple: the process systemd started is the daemon (a
            # daemonizing one would have exited by now)
            self.assertIsNone(proc.poll())
            # ExecReload re-reads the file
            with open(c.conf) as f:
                text = f.read()
            new, n = re.subn(r"max_time: '?2:00:00'?", "max_time: '3:00:00'", text)
            self.assertEqual(n, 1, text)
            with open(c.conf, "w") as f:
                f.write(new)
            subprocess.run(exec_argv(unit, "ExecReload", MAINPID=str(proc.pid)), check=True)
            c.wait_for(lambda: "MaxTime=03:00:00" in
                       c.run("scontrol", "show", "partition", "long").stdout,
                       what="partition long reloaded")
            self.assertIsNone(proc.poll())
            # systemctl stop: SIGTERM, a clean exit (Restart=on-failure leaves it)
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            c.daemon("start-daemon", "ctld")
            c.wait_for(self.ping, what="controller back")

    def test_noded_unit_keeps_jobs_across_a_stop(self):
        c = self.c
        unit = parse_unit(unit_path("slurmish-d"))
        with open(os.path.join(c.dir, "cluster.json")) as f:
            port = json.load(f)["node_ports"]["n2"]
        # /etc/default/slurmish-d names the node and its session port
        env = {"SLURMISH_D_OPTIONS": "-N n2 -p %d" % port}
        argv = local_argv("slurmish-d", exec_argv(unit, "ExecStart", env), c.conf)
        c.daemon("stop-daemon", "n2")
        procs = []

        def start():
            log = open(os.path.join(c.dir, "log", "unit-n2.log"), "ab")
            procs.append(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                          stderr=log, start_new_session=True))
            log.close()
            return procs[-1]

        def n2_idle():
            return c.run("sinfo", "-h", "-N", "-n", "n2", "-o", "%t").stdout.split()[:1] == \
                ["idle"]

        try:
            proc = start()
            c.wait_for(n2_idle, what="n2 registered by the unit's daemon")
            self.assertIsNone(proc.poll())  # foreground
            out = os.path.join(c.work, "ops-keep.out")
            job = c.sbatch("-w", "n2", "-o", out, "--wrap", "sleep 4; echo kept")
            c.wait_state(job, "RUNNING")
            # KillMode=process: systemctl stop signals the daemon alone
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
            time.sleep(1)
            self.assertEqual(c.state(job), "RUNNING")
            start()
            self.assertEqual(c.wait_state(job, ("COMPLETED", "FAILED", "NODE_FAIL")),
                             "COMPLETED")
            self.assertEqual(harness.read(out), "kept\n")
        finally:
            for p in procs:
                if p.poll() is None:
                    p.terminate()
                    try:
                        p.wait(timeout=30)
                    except subprocess.TimeoutExpired:
                        p.kill()
                        p.wait()
            c.daemon("start-daemon", "n2")
            c.wait_for(n2_idle, what="n2 back")

    # ---------------------------------------------------------- completion

    @classmethod
    def completion_dir(cls):
        """A completions directory laid out as `make install` lays it: the
        script once, a link to it per tool."""
        if getattr(cls, "_compdir", None):
            return cls._compdir
        d = os.path.join(cls.c.dir, "bash-completion")
        os.makedirs(os.path.join(d, "completions"))
        shutil.copy(COMPLETION, os.path.join(d, "completions", "slurmish"))
        for t in TOOLS:
            os.symlink("slurmish", os.path.join(d, "completions", t))
        cls._compdir = d
        return d

    def complete(self, line, user=None):
        if not os.path.exists(BASH_COMPLETION):
            self.skipTest("bash-completion is missing (Debian package bash-completion; "
                          "scripts/install-deps.sh installs it)")
        env = {"BASH_COMPLETION_SCRIPT": BASH_COMPLETION, "USER": user or "root",
               "HOME": pwd.getpwnam(user or "root").pw_dir}
        p = self.c.run("bash", "--norc", "--noprofile", "-c", DRIVER, "driver",
                       self.completion_dir(), line, *comp_words(line), user=user, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual(p.stderr, "")
        return [w for w in p.stdout.split("\n") if w]

    def test_completion_loads_for_every_tool(self):
        if not os.path.exists(BASH_COMPLETION):
            self.skipTest("bash-completion is missing (Debian package bash-completion)")
        script = "source %s || exit 2\n" % shlex.quote(BASH_COMPLETION)
        script += "export BASH_COMPLETION_USER_DIR=%s\n" % shlex.quote(self.completion_dir())
        for t in TOOLS:
            script += "_completion_loader %s; complete -p %s || exit 3\n" % (t, t)
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c", script],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                           timeout=60)
        self.assertEqual((p.returncode, p.stderr), (0, ""))
        for t in TOOLS:
            self.assertRegex(p.stdout, r"complete -F _slurmish_\w+ %s\n" % re.escape(t))
        # sourcing it with no bash-completion at all is harmless: it
        # registers nothing that would fail at the first Tab
        p = subprocess.run(["bash", "--norc", "--noprofile", "-c",
                            "source %s && complete -p" % shlex.quote(COMPLETION)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.assertEqual((p.returncode, p.stdout, p.stderr), (0, "", ""))

    def test_partition_after_sbatch_p(self):
        self.assertEqual(sorted(self.complete("sbatch -p ")), ["debug", "long"])
        self.assertEqual(self.complete("sbatch -p lo"), ["long"])
        self.assertEqual(self.complete("sbatch --partition=de"), ["debug"])
        self.assertEqual(self.complete("squeue -p debug,l"), ["debug,long"])
        # the value of an option is not taken for the script
        self.assertIn("hostname", self.complete("srun -p debug -N 1 hostnam"))
        self.assertNotIn("debug", self.complete("srun -p debug -N 1 "))
        self.assertIn("--Format=", self.complete("srun -p debug squeue --Fo"))

    def test_option_after_squeue_fo(self):
        self.assertEqual(self.complete("squeue --fo"), ["--format="])
        self.assertEqual(self.complete("squeue --Fo"), ["--Format="])
        self.assertIn("--parsable", self.complete("sbatch --pa"))
        self.assertIn("--pty", self.complete("srun --pt"))
        self.assertIn("--list-reasons", self.complete("sinfo --li"))
        self.assertIn("--allocations", self.complete("sacct --al"))
        # every long option the completion offers, the tool accepts
        for tool in ("sbatch", "squeue", "scancel", "sinfo", "sacct"):
            for opt in self.complete(tool + " --"):
                name = opt.rstrip("=")
                arg = [name + "=x"] if opt.endswith("=") else [name]
                p = self.c.run(tool, *arg, "--help", timeout=20)
                self.assertNotIn("unrecognized option", p.stderr, "%s %s" % (tool, opt))

    def test_own_job_ids(self):
        c = self.c
        mine = c.sbatch("--wrap", "sleep 300")
        theirs = c.sbatch("--wrap", "sleep 300", user=harness.TEST_USER)
        try:
            c.wait_state(mine, "RUNNING")
            self.assertIn(str(mine), self.complete("scancel "))
            self.assertNotIn(str(theirs), self.complete("scancel "))
            self.assertEqual(self.complete("scancel ", user=harness.TEST_USER), [str(theirs)])
            self.assertIn(str(mine), self.complete("scontrol show job "))
            self.assertIn(str(mine), self.complete("scontrol hold "))
            self.assertIn("%d.batch" % mine, self.complete("sattach "))
            self.assertEqual(self.complete("scontrol update JobId=%d" % mine), [str(mine)])
        finally:
            c.run("scancel", str(mine), str(theirs))

    def test_scontrol_words(self):
        self.assertIn("reconfigure", self.complete("scontrol "))
        self.assertEqual(self.complete("scontrol re"), ["release", "requeue", "reconfigure"])
        self.assertEqual(sorted(self.complete("scontrol show ")),
                         sorted(["job", "node", "partition", "config", "events", "hostnames",
                                 "hostlist"]))
        self.assertEqual(sorted(self.complete("scontrol show node ")), ["n1", "n2"])
        self.assertEqual(sorted(self.complete("scontrol show partition ")), ["debug", "long"])
        self.assertIn("NodeName=", self.complete("scontrol update "))
        self.assertIn("MaxTime=", self.complete("scontrol update PartitionName=long "))
        self.assertIn("RESUME", self.complete("scontrol update NodeName=n1 State="))
        self.assertEqual(self.complete("slurmish-local stop-daemon c"), ["ctld"])


if __name__ == "__main__":
    harness.main()
