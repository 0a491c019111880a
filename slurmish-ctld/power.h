/* power.h - the power manager: cloud nodes up on demand, down when idle.
 *
 * Nodes of node groups with `cloud: true` start POWERED_DOWN.  The
 * scheduler may place a job on a powered-down node (power_schedulable);
 * the job is then RUNNING+configuring and the node is resumed through the
 * provider plugin (lib/power/provider.h).  When every node of the job has
 * registered, the job is launched.  A node that does not register within
 * resume_timeout, or whose launch the provider reports failed, goes DOWN
 * with a reason; its jobs are requeued and placed elsewhere, and its node
 * group is skipped for failure_backoff seconds (doubling per failure).
 *
 * A node with no jobs and no live sessions for its group's idle_time is
 * suspended, unless it is needed for a group's or partition's warm_nodes.
 * A spot interruption signals the node's jobs, and when the notice runs
 * out requeues them (or ends them NODE_FAIL with --no-requeue) and powers
 * the node down.  Power states are persisted, so a restarted ctld keeps
 * tracking booting nodes and never leaks a powered one.
 */
#ifndef CTLD_POWER_H
#define CTLD_POWER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctld;
struct node;
struct job;
struct part;

/* Load the provider (only if a node group is cloud) and set start states.
 * Returns -1 with a message on a provider that cannot be loaded. */
int power_init(struct ctld *c, char *err, size_t errsize);
/* The same with a provider linked in rather than loaded (benchmarks). */
struct sl_power_ops;
int power_init_with(struct ctld *c, const struct sl_power_ops *builtin, char *err,
                    size_t errsize);
void power_fini(struct ctld *c);

/* Once a second, from cron: provider events, timeouts, idle nodes. */
void power_tick(struct ctld *c, int64_t now);

/* May the scheduler place work on this (powered-down or booting) node? */
bool power_schedulable(struct ctld *c, const struct node *n);
/* Are all of p's (non-fallback) cloud node groups backed off after failures? */
bool power_groups_failing(struct ctld *c, const struct part *p);
/* Is the node up for jobs to launch on it? */
bool power_node_on(const struct node *n);
/* The scheduler gave job a node that is not on: boot what needs booting. */
void power_job_allocated(struct ctld *c, struct job *job);
/* Send the resumes queued during a scheduling pass. */
void power_flush(struct ctld *c);
/* A node daemon registered: a booted node is up; launch what waited for it. */
void power_node_registered(struct ctld *c, struct node *n);
/* A job's allocation ended: record its cost (share of its nodes' hours). */
void power_job_cost(struct ctld *c, struct job *job, int64_t end);

/* scontrol update NodeName=... State=POWER_UP|POWER_DOWN|POWER_DOWN_ASAP|
 * POWER_DOWN_FORCE.  Returns 0, or an SL_E_* code with a message in err. */
int power_request(struct ctld *c, struct node *n, const char *what, int uid, char *err,
                  size_t errsize);

#endif
