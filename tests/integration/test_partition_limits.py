#!/usr/bin/env python3
"""Partition limits: AllowUsers, AllowAccounts, MinNodes, MaxNodes,
DOWN and INACTIVE partitions, and the pending reasons they give."""

import harness

CONFIG = """\
cluster_name: limits
controller:
  heartbeat_interval: 1
  node_timeout: 10
  kill_wait: 1
  sched_interval: 1
node_groups:
  - name: n
    nodes: n[1-2]
    cpus: 2
    memory: 1G
partitions:
  - name: open
    node_groups: [n]
    default: true
  - name: private
    node_groups: [n]
    allow_users: [root]
  - name: billed
    node_groups: [n]
    allow_accounts: [physics]
  - name: wide
    node_groups: [n]
    min_nodes: 2
    max_nodes: 2
  - name: closed
    node_groups: [n]
    state: DOWN
"""


class PartitionLimitTest(harness.ClusterTest):
    config = CONFIG

    def reason(self, j):
        return self.c.show_job(j)["Reason"]

    def test_allow_users(self):
        c = self.c
        u = harness.ensure_test_user()
        p = c.run("sbatch", "-p", "private", "--wrap", "true", user=u.pw_name, cwd="/tmp")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Access/permission denied", p.stderr)
        j = c.sbatch("-p", "private", "--wrap", "true")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        p = c.run("scontrol", "show", "partition", "private")
        self.assertIn("AllowUsers=root", p.stdout)

    def test_allow_accounts(self):
        c = self.c
        p = c.run("sbatch", "-p", "billed", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid account or account/partition combination specified", p.stderr)
        j = c.sbatch("-p", "billed", "-A", "physics", "--wrap", "true")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")

    def test_min_and_max_nodes(self):
        c = self.c
        j = c.sbatch("-p", "wide", "--wrap", "true")
        c.wait_for(lambda: self.reason(j) == "PartitionNodeLimit", what="PartitionNodeLimit")
        self.assertEqual(c.state(j), "PENDING")
        c.run("scancel", str(j))
        j = c.sbatch("-p", "wide", "-N", "2", "--wrap", "true")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        self.assertIn("MinNodes=2", c.run("scontrol", "show", "partition", "wide").stdout)

    def test_down_partition(self):
        c = self.c
        j = c.sbatch("-p", "closed", "--wrap", "true")
        c.wait_for(lambda: self.reason(j) == "PartitionDown", what="PartitionDown")
        self.assertEqual(c.state(j), "PENDING")
        c.run("scancel", str(j))


if __name__ == "__main__":
    harness.main()
