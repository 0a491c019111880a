/* cgroup.h - memory enforcement with the kernel's memory controller.
 *
 * Each job gets a memory cgroup, <base>/slurmish/<node>-<spool hash>/job_<id>, limited
 * to the memory the controller allocated to it on this node (swap
 * included, so a job cannot page its way past the limit).  The kernel
 * kills a job that goes over; the supervisor reads the cgroup's oom_kill
 * count when the job ends, and the job is recorded OUT_OF_MEMORY.
 *
 * Both hierarchies are supported: cgroup v2 (Debian 12's default; the
 * tree lives under the root, /sys/fs/cgroup/slurmish, with the memory
 * controller enabled down to it) and cgroup v1 (the memory controller's
 * own mount; the tree lives under the daemon's own memory cgroup).  When
 * neither can be used (no controller, not root, a container without
 * cgroup writes) jobs run without enforcement and the node says so
 * (scontrol show node: MemoryEnforcement=none).
 */
#ifndef NODED_CGROUP_H
#define NODED_CGROUP_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

/* Probe once; returns "cgroup-v2", "cgroup-v1" or "none". */
const char *cg_probe(void);

/* Create (or reuse) the cgroup of a job on `node` with a limit of mem_mb
 * MiB.  `spool` (the node's spool directory) makes the node's tree unique
 * to its cluster, so clusters sharing a machine (tests, slurmish-local)
 * never meet in a cgroup.  Returns its malloc'd path, or NULL when memory
 * is not enforced. */
char *cg_job_create(const char *node, const char *spool, uint32_t job_id, uint64_t mem_mb);
/* A spare supervisor's cgroup (spare_<pid> beside the jobs'), for the job
 * process it forks ahead of time: moving a process into a cgroup waits for
 * an RCU grace period (5-23 ms on a 2-core VM), so that happens before
 * the launch.  cgroup v1 only (NULL otherwise, or on failure). */
char *cg_spare_create(const char *node, const char *spool, pid_t spare);
/* At the launch: limit the spare's cgroup to mem_mb MiB and rename it to
 * the job's (where srun steps of the job find it).  Its new path, or NULL
 * (the spare cgroup is then as it was). */
char *cg_job_adopt(const char *spare_cg, const char *node, const char *spool, uint32_t job_id,
                   uint64_t mem_mb);
/* Remove the cgroup of spare `only` (0: of every spare), killing what is
 * in it. */
void cg_spares_sweep(const char *node, const char *spool, pid_t only);
/* The daemon stops: remove the node's tree if no job is left in it. */
void cg_node_cleanup(const char *node, const char *spool);
/* Move process pid (0: the caller) into it. */
int cg_attach(const char *path, pid_t pid);
/* Did the kernel kill anything in it for running out of memory? */
bool cg_oom_killed(const char *path);
/* Remove it (retrying briefly while the last processes exit). */
void cg_remove(const char *path);

#endif
