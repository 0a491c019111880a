#!/usr/bin/env python3
"""Preemption by partition priority tier (Slurm's preempt/partition_prio):
a job of a higher tier takes the nodes of running jobs in lower tiers whose
partition allows it; REQUEUE puts them back in the queue (they run again
later), CANCEL ends them PREEMPTED; a partition with preempt_mode OFF is
never touched, and only as many jobs as needed are preempted."""

import harness

CONFIG = """\
cluster_name: preempt
controller:
  heartbeat_interval: 1
  node_timeout: 10
  kill_wait: 1
  sched_interval: 1
  message_timeout: 5
node_groups:
  - name: n
    nodes: n[1-2]
    cpus: 2
    memory: 1G
partitions:
  - name: scavenger
    node_groups: [n]
    default: true
    priority_tier: 1
    preempt_mode: requeue
  - name: cheap
    node_groups: [n]
    priority_tier: 1
    preempt_mode: cancel
  - name: steady
    node_groups: [n]
    priority_tier: 1
  - name: urgent
    node_groups: [n]
    priority_tier: 10
"""


class PreemptTest(harness.ClusterTest):
    config = CONFIG

    def tearDown(self):
        self.c.run("scancel", "-u", "root")
        self.c.wait_nodes_idle()

    def test_requeue_mode_runs_the_victim_again(self):
        c = self.c
        low = [c.sbatch("-p", "scavenger", "-n", "2", "--wrap", "sleep 30") for _ in range(2)]
        for j in low:
            c.wait_state(j, "RUNNING")
        hi = c.sbatch("-p", "urgent", "-n", "2", "--wrap", "echo urgent")
        self.assertEqual(c.wait_state(hi, ("COMPLETED", "FAILED"), timeout=30), "COMPLETED")
        # exactly one of the two was taken off, and it is queued or running again
        restarts = sorted(int(c.show_job(j)["Restarts"]) for j in low)
        self.assertEqual(restarts, [0, 1])
        again = [j for j in low if c.show_job(j)["Restarts"] == "1"][0]
        c.wait_state(again, "RUNNING", timeout=20)
        self.assertIn("preempted for job %d (requeued)" % hi,
                      c.run("scontrol", "show", "events").stdout)
        show = c.run("scontrol", "show", "partition", "scavenger").stdout
        self.assertIn("PreemptMode=REQUEUE", show)

    def test_cancel_mode_ends_preempted_and_off_is_untouched(self):
        c = self.c
        victim = c.sbatch("-p", "cheap", "-n", "2", "--wrap", "sleep 30")
        keeper = c.sbatch("-p", "steady", "-n", "2", "--wrap", "sleep 30")
        c.wait_state(victim, "RUNNING")
        c.wait_state(keeper, "RUNNING")
        hi = c.sbatch("-p", "urgent", "-n", "2", "--wrap", "echo urgent")
        self.assertEqual(c.wait_state(victim, ("PREEMPTED", "COMPLETED", "FAILED"), timeout=30),
                         "PREEMPTED")
        self.assertEqual(c.wait_state(hi, ("COMPLETED", "FAILED"), timeout=30), "COMPLETED")
        self.assertEqual(c.state(keeper), "RUNNING")
        p = c.run("sacct", "-n", "-X", "-P", "-j", str(victim), "-o", "State")
        self.assertEqual(p.stdout.strip(), "PREEMPTED")
        # with only OFF partitions in the way, the urgent job simply waits
        hi2 = c.sbatch("-p", "urgent", "-N", "2", "-n", "4", "--wrap", "echo wide")
        c.wait_for(lambda: c.show_job(hi2)["Reason"] in ("Resources", "Priority"), timeout=10,
                   what="the wide urgent job waiting")
        self.assertEqual(c.state(keeper), "RUNNING")


if __name__ == "__main__":
    harness.main()
