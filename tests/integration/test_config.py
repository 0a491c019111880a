#!/usr/bin/env python3
"""Live configuration: scontrol update|create|delete PartitionName written
back into the YAML (comments kept, only the edited lines differ),
reconfigure and SIGHUP, check-config, a bad file changing nothing, admins
only, running jobs untouched, the audit log, and edits surviving a
controller restart."""

import difflib
import json
import os
import signal
import time

import harness


class ConfigTest(harness.ClusterTest):

    @classmethod
    def setUpClass(cls):
        cls.user = harness.ensure_test_user()
        super().setUpClass()
        # the file as an admin keeps it: comments and blank lines
        c = cls.c
        with open(c.conf) as f:
            text = f.read()
        text = "# slurmish test cluster\n# owned by the platform team\n" + \
            text.replace("partitions:\n", "partitions:\n# the only partition\n")
        with open(c.conf, "w") as f:
            f.write(text)

    def read_conf(self):
        with open(self.c.conf) as f:
            return f.read()

    def partition(self, name, env=None):
        p = self.c.run("scontrol", "show", "partition", name, env=env)
        self.assertEqual(p.returncode, 0, p.stderr)
        return p.stdout

    def test_update_writes_back_only_the_edit(self):
        c = self.c
        before = self.read_conf()
        j = c.sbatch("--wrap", "sleep 3; echo done")
        c.wait_state(j, "RUNNING")
        p = c.run("scontrol", "update", "PartitionName=debug", "MaxTime=3:00:00",
                  "PriorityTier=5")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("partition debug: max_time 1:00:00 -> 3:00:00", p.stdout)
        self.assertIn("MaxTime=03:00:00", self.partition("debug"))
        after = self.read_conf()
        self.assertIn("# owned by the platform team\n", after)
        self.assertIn("# the only partition\n", after)
        changed = [l for l in difflib.ndiff(before.splitlines(), after.splitlines())
                   if l[:2] in ("- ", "+ ")]
        self.assertEqual(len([l for l in changed if l.startswith("- ")]), 1, changed)
        self.assertEqual(len([l for l in changed if l.startswith("+ ")]), 2, changed)
        self.assertTrue(any("3:00:00" in l for l in changed))
        self.assertTrue(any("priority_tier: 5" in l for l in changed))
        # the running job is untouched
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        # a job asking more than the old limit now fits
        j2 = c.sbatch("-t", "2:00:00", "--wrap", "true")
        self.assertEqual(c.wait_state(j2, ("COMPLETED", "FAILED")), "COMPLETED")
        # put it back
        p = c.run("scontrol", "update", "PartitionName=debug", "MaxTime=1:00:00")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_create_delete_and_restart(self):
        c = self.c
        p = c.run("scontrol", "create", "PartitionName=big", "Nodes=n", "MaxTime=10",
                  "AllowUsers=root")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("partition big: added", p.stdout)
        self.assertIn("- name: big", self.read_conf())
        self.assertIn("AllowUsers=root", self.partition("big"))
        # survives a controller restart: the file is the truth
        c.daemon("stop-daemon", "ctld")
        c.daemon("start-daemon", "ctld")
        c.wait_for(lambda: c.run("scontrol", "show", "partition", "big").returncode == 0,
                   what="the controller back with partition big")
        self.assertIn("MaxTime=00:10:00", self.partition("big"))
        # in use: refused
        j = c.sbatch("-p", "big", "--hold", "--wrap", "true")
        p = c.run("scontrol", "delete", "PartitionName=big")
        self.assertEqual(p.returncode, 1)
        self.assertIn("in use", p.stderr)
        c.run("scancel", str(j))
        c.wait_state(j, "CANCELLED")
        p = c.run("scontrol", "delete", "PartitionName=big")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertNotIn("name: big", self.read_conf())
        self.assertNotEqual(c.run("scontrol", "show", "partition", "big").returncode, 0)

    def test_node_group_price_and_admin_group(self):
        c = self.c
        p = c.run("scontrol", "update", "NodeGroup=n", "PricePerHour=1.25", "Features=fast,ssd")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("node group n: price_per_hour 0.0000 -> 1.2500", p.stdout)
        out = c.run("scontrol", "show", "node", "n1").stdout
        self.assertIn("PricePerHour=1.2500", out)
        self.assertIn("price_per_hour: 1.25", self.read_conf())
        p = c.run("scontrol", "update", "NodeGroup=n", "Cpus=8")
        self.assertEqual(p.returncode, 1)
        self.assertIn("not a node group setting", p.stderr)
        # admins may be named by group (%group): the test user's group becomes one
        p = c.run("scontrol", "update", "PartitionName=debug", "PriorityTier=2",
                  user=harness.TEST_USER)
        self.assertEqual(p.returncode, 1)
        text = self.read_conf()
        with open(self.c.conf, "w") as f:
            f.write(text.replace("controller:\n", "controller:\n  admins: ['%%%s']\n" %
                                 harness.TEST_GROUP, 1))
        p = c.run("scontrol", "reconfigure")
        self.assertEqual(p.returncode, 0, p.stderr)
        p = c.run("scontrol", "update", "PartitionName=debug", "PriorityTier=2",
                  user=harness.TEST_USER)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("slurmish-test(%d) config: partition debug: priority_tier" % self.user.pw_uid,
                      c.run("scontrol", "show", "events").stdout)
        with open(self.c.conf, "w") as f:
            f.write(text)
        p = c.run("scontrol", "reconfigure")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_bad_edits_change_nothing(self):
        c = self.c
        before = self.read_conf()
        for args, msg in ((["MaxTime=soon"], "max_time: expected a time"),
                          (["Nodes=nosuchgroup"], "names node group \"nosuchgroup\""),
                          (["MinNodes=5", "MaxNodes=2"], "min_nodes is larger than max_nodes"),
                          (["Colour=blue"], "not a partition setting")):
            p = c.run("scontrol", "update", "PartitionName=debug", *args)
            self.assertEqual(p.returncode, 1, args)
            self.assertIn(msg, p.stderr)
        p = c.run("scontrol", "update", "PartitionName=nope", "MaxTime=1")
        self.assertEqual(p.returncode, 1)
        self.assertIn("no partition \"nope\"", p.stderr)
        self.assertEqual(self.read_conf(), before)
        # a non-admin may not edit or reload
        for cmd in (["update", "PartitionName=debug", "MaxTime=2"], ["reconfigure"]):
            p = c.run("scontrol", *cmd, user=harness.TEST_USER)
            self.assertEqual(p.returncode, 1)
            self.assertIn("Access/permission denied", p.stderr)
        self.assertEqual(self.read_conf(), before)

    def test_reconfigure_check_config_and_sighup(self):
        c = self.c
        good = self.read_conf().replace("default_time: '30:00'", "default_time: '20:00'")
        self.assertNotEqual(good, self.read_conf())
        bad = self.read_conf() + "bogus_key: 1\n"
        path = os.path.join(c.work, "candidate.yaml")
        with open(path, "w") as f:
            f.write(bad)
        p = c.run("scontrol", "check-config", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("unknown key \"bogus_key\"", p.stderr)
        with open(path, "w") as f:
            f.write(good)
        p = c.run("scontrol", "check-config", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("partition debug: default_time 0:30:00 -> 0:20:00", p.stdout)
        self.assertIn("DefaultTime=00:30:00", self.partition("debug"))  # only checked
        # the admin edits the file; a reload with a bad file changes nothing
        # (the tools read the file too: they use a good copy meanwhile)
        orig = self.read_conf()
        copy = os.path.join(c.work, "client.yaml")
        with open(copy, "w") as f:
            f.write(orig)
        cenv = {"SLURMISH_CONF": copy}
        with open(c.conf, "w") as f:
            f.write(bad)
        p = c.run("scontrol", "reconfigure", env=cenv)
        self.assertEqual(p.returncode, 1)
        self.assertIn("bogus_key", p.stderr)
        self.assertIn("DefaultTime=00:30:00", self.partition("debug", env=cenv))
        # SIGHUP reloads a good one
        with open(c.conf, "w") as f:
            f.write(good)
        with open(os.path.join(c.dir, "cluster.json")) as f:
            ctld_pid = json.load(f)["procs"]["ctld"]["pid"]
        os.kill(ctld_pid, signal.SIGHUP)
        c.wait_for(lambda: "DefaultTime=00:20:00" in self.partition("debug"), timeout=10,
                   what="the reload")
        with open(c.conf, "w") as f:
            f.write(orig)
        p = c.run("scontrol", "reconfigure")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("default_time 0:20:00 -> 0:30:00", p.stdout)
        # a change that needs a restart is refused with the reason
        with open(c.conf, "w") as f:
            f.write(orig.replace("cpus: '2'", "cpus: '3'").replace("cpus: 2", "cpus: 3"))
        p = c.run("scontrol", "reconfigure")
        self.assertEqual(p.returncode, 1)
        self.assertIn("needs a restart", p.stderr)
        with open(c.conf, "w") as f:
            f.write(orig)
        # the audit log has it all, with who and how
        p = c.run("scontrol", "show", "events")
        self.assertIn("root(0) config: partition debug: default_time 0:30:00 -> 0:20:00 (SIGHUP)",
                      p.stdout)
        self.assertIn("(scontrol reconfigure)", p.stdout)
        # write config gives the running file
        p = c.run("scontrol", "write", "config")
        self.assertEqual(p.stdout, orig)

    def test_removed_partition_leaves_pending_job_with_a_reason(self):
        c = self.c
        p = c.run("scontrol", "create", "PartitionName=tmp", "Nodes=n")
        self.assertEqual(p.returncode, 0, p.stderr)
        # the nodes are busy, so the job waits in tmp
        busy = c.sbatch("-N", "2", "--exclusive", "--wrap", "sleep 60")
        c.wait_state(busy, "RUNNING")
        j = c.sbatch("-p", "tmp", "--wrap", "true")
        # the admin deletes its lines from the file
        with open(c.conf) as f:
            lines = f.read().splitlines(True)
        start = next(i for i, l in enumerate(lines) if l.lstrip().startswith("- name: tmp"))
        indent = len(lines[start]) - len(lines[start].lstrip())
        end = start + 1
        while end < len(lines) and (len(lines[end]) - len(lines[end].lstrip()) > indent or
                                    not lines[end].strip()) and \
                not lines[end].lstrip().startswith("- "):
            end += 1
        with open(c.conf, "w") as f:
            f.write("".join(lines[:start] + lines[end:]))
        p = c.run("scontrol", "reconfigure")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("partition tmp: removed", p.stdout)
        c.wait_for(lambda: c.show_job(j)["Reason"] == "PartitionDoesNotExist", timeout=10,
                   what="the pending job's reason")
        self.assertEqual(c.state(j), "PENDING")
        c.run("scancel", str(j), str(busy))


if __name__ == "__main__":
    harness.main()
