#!/usr/bin/env python3
"""Resource requests: GPUs by index, --exclusive, -w/-x, --constraint,
--ntasks-per-node, --mem-per-cpu, and shared nodes."""

import os

import harness

CONFIG = """\
cluster_name: res
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
    features: [small, x86]
  - name: g
    nodes: g[1-2]
    cpus: 4
    memory: 2G
    gpus: "t4:2"
    features: [gpu, x86]
partitions:
  - name: debug
    node_groups: [n]
    default: true
  - name: gpu
    node_groups: [g]
"""


class ResourceTest(harness.ClusterTest):
    config = CONFIG

    def out(self, job):
        return harness.read(os.path.join(self.c.work, "slurm-%d.out" % job))

    def finish(self, *jobs):
        for j in jobs:
            self.c.run("scancel", str(j))
        for j in jobs:
            self.c.wait_state(j, ("CANCELLED", "COMPLETED", "FAILED"))

    def test_gpus_get_distinct_indices(self):
        c = self.c
        a = c.sbatch("-p", "gpu", "-w", "g1", "--gres=gpu:1", "--wrap",
                     "echo $CUDA_VISIBLE_DEVICES $SLURM_JOB_GPUS; sleep 30")
        b = c.sbatch("-p", "gpu", "-w", "g1", "--gres=gpu:t4:1", "--wrap",
                     "echo $CUDA_VISIBLE_DEVICES $SLURM_JOB_GPUS; sleep 30")
        c.wait_state(a, "RUNNING")
        c.wait_state(b, "RUNNING")
        c.wait_file(os.path.join(c.work, "slurm-%d.out" % a))
        c.wait_file(os.path.join(c.work, "slurm-%d.out" % b))
        ids = sorted([self.out(a).split(), self.out(b).split()])
        self.assertEqual(ids, [["0", "0"], ["1", "1"]])
        # g1's two GPUs are taken: a third GPU job on g1 waits
        d = c.sbatch("-p", "gpu", "-w", "g1", "--gres=gpu:1", "--wrap", "true")
        c.wait_for(lambda: c.show_job(d)["Reason"] == "Resources", what="Resources reason")
        self.assertEqual(c.state(d), "PENDING")
        self.finish(a)
        self.assertEqual(c.wait_state(d, ("COMPLETED", "FAILED")), "COMPLETED")
        self.finish(b)

    def test_gpus_total_and_whole_node(self):
        c = self.c
        j = c.sbatch("-p", "gpu", "--gpus=2", "--wrap", "echo $CUDA_VISIBLE_DEVICES")
        c.wait_state(j, "COMPLETED")
        self.assertEqual(self.out(j).strip(), "0,1")

    def test_gpu_requests_that_cannot_fit_are_refused(self):
        c = self.c
        for args in (["-p", "gpu", "--gres=gpu:3"], ["-p", "gpu", "--gres=gpu:a100:1"],
                     ["--gres=gpu:1"]):
            p = c.run("sbatch", *args, "--wrap", "true")
            self.assertEqual(p.returncode, 1, args)
            self.assertIn("Requested node configuration is not available", p.stderr)
        p = c.run("sbatch", "--gres=gpu:x:y", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("--gres", p.stderr)

    def test_nodelist_and_exclude(self):
        c = self.c
        j = c.sbatch("-w", "n2", "--wrap", "echo $SLURMD_NODENAME")
        c.wait_state(j, "COMPLETED")
        self.assertEqual(self.out(j).strip(), "n2")
        j = c.sbatch("-x", "n1", "--wrap", "echo $SLURMD_NODENAME")
        c.wait_state(j, "COMPLETED")
        self.assertEqual(self.out(j).strip(), "n2")
        p = c.run("sbatch", "-w", "nosuchnode", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Invalid node name specified", p.stderr)
        p = c.run("sbatch", "-x", "n[1-2]", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Requested node configuration is not available", p.stderr)

    def test_constraint(self):
        c = self.c
        j = c.sbatch("-p", "gpu", "-C", "gpu&x86", "--wrap", "echo ok")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        j = c.sbatch("-C", "small|nothing", "--wrap", "echo ok")
        self.assertEqual(c.wait_state(j, ("COMPLETED", "FAILED")), "COMPLETED")
        p = c.run("sbatch", "-C", "gpu", "--wrap", "true")
        self.assertEqual(p.returncode, 1)
        self.assertIn("Requested node configuration is not available", p.stderr)

    def test_exclusive_takes_the_whole_node(self):
        c = self.c
        a = c.sbatch("-w", "n1", "--exclusive", "--wrap",
                     "echo $SLURM_CPUS_ON_NODE $SLURM_MEM_PER_NODE; sleep 30")
        c.wait_state(a, "RUNNING")
        c.wait_file(os.path.join(c.work, "slurm-%d.out" % a))
        self.assertEqual(self.out(a).split(), ["2", "1024"])
        b = c.sbatch("-w", "n1", "--wrap", "true")
        c.wait_for(lambda: c.show_job(b)["Reason"] == "Resources", what="b waits")
        self.finish(a)
        self.assertEqual(c.wait_state(b, ("COMPLETED", "FAILED")), "COMPLETED")

    def test_nodes_are_shared_by_small_jobs(self):
        c = self.c
        a = c.sbatch("-w", "n2", "--wrap", "sleep 30")
        b = c.sbatch("-w", "n2", "--wrap", "sleep 30")
        c.wait_state(a, "RUNNING")
        c.wait_state(b, "RUNNING")
        p = c.run("sinfo", "-h", "-N", "-n", "n2", "-o", "%t")
        self.assertEqual(p.stdout.strip(), "alloc")
        self.finish(a, b)

    def test_ntasks_per_node_and_mem_per_cpu(self):
        c = self.c
        j = c.sbatch("-N", "2", "--ntasks-per-node=2", "--mem-per-cpu=100M", "--wrap",
                     "echo $SLURM_NTASKS $SLURM_TASKS_PER_NODE $SLURM_CPUS_ON_NODE "
                     "$SLURM_MEM_PER_NODE")
        c.wait_state(j, "COMPLETED")
        self.assertEqual(self.out(j).split(), ["4", "2(x2)", "2", "200"])


if __name__ == "__main__":
    harness.main()
