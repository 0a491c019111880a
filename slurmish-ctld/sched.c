/* sched.c - place pending jobs on nodes.
 *
 * First fit in queue order (priority, then id) over the nodes of the
 * job's partition.  Within a partition the order is strict: once a job
 * cannot start for lack of resources, the jobs behind it wait with reason
 * Priority, so big jobs are not starved.  (Backfill is its own module to
 * come; this pass is what it will call for the top of each partition.)
 */
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Memory a job needs per node: its request, or the node's share by CPUs. */
static uint64_t mem_needed(const struct job *job, const struct node *n, int cpus)
{
    if (job->mem_mb)
        return job->mem_mb;
    return n->group->memory_mb * (uint64_t)cpus / (uint64_t)n->group->cpus;
}

int sched_job_fits_partition(struct ctld *c, const struct part *p, int nodes, int cpus_per_node,
                             uint64_t mem_mb)
{
    int fitting = 0;
    (void)c;
    if (nodes > p->nnodes)
        return SL_E_NODE_CONFIG_UNAVAIL;
    for (int i = 0; i < p->nnodes; i++) {
        const struct sl_node_group *g = p->nodes[i]->group;
        if (g->cpus >= cpus_per_node && g->memory_mb >= mem_mb)
            fitting++;
    }
    return fitting >= nodes ? 0 : SL_E_NODE_CONFIG_UNAVAIL;
}

static int cpus_per_node(const struct job *job)
{
    int tpn = (job->ntasks + job->nodes_req - 1) / job->nodes_req;
    return tpn * job->cpus_per_task;
}

/* Why can't this job run in its partition at all right now? REASON_NONE if it may. */
static int partition_block(const struct job *job, const struct part *p)
{
    if (!p)
        return REASON_PARTITION_DOWN;
    if (p->conf->state == PART_DOWN)
        return REASON_PARTITION_DOWN;
    if (p->conf->state == PART_INACTIVE)
        return REASON_PARTITION_INACTIVE;
    if (p->conf->max_time != SL_TIME_UNLIMITED &&
        (job->time_limit == SL_TIME_UNLIMITED || job->time_limit > p->conf->max_time))
        return REASON_PARTITION_TIME_LIMIT;
    if (p->conf->max_nodes > 0 && job->nodes_req > p->conf->max_nodes)
        return REASON_PARTITION_NODE_LIMIT;
    return REASON_NONE;
}

static void set_reason(struct ctld *c, struct job *job, int reason)
{
    if (job->reason != reason) {
        job->reason = reason;
        persist_job_update(c, job);
    }
}

/* Try to start one job; true if it started. */
static bool try_start(struct ctld *c, struct job *job, struct part *p, struct node **pick)
{
    int cpn = cpus_per_node(job), got = 0;
    uint64_t mem = 0;

    for (int i = 0; i < p->nnodes && got < job->nodes_req; i++) {
        struct node *n = p->nodes[i];
        uint64_t need = mem_needed(job, n, cpn);
        if (!node_usable(n))
            continue;
        if (n->group->cpus - n->cpus_used < cpn || n->group->memory_mb - n->mem_used < need)
            continue;
        pick[got++] = n;
        if (need > mem)
            mem = need;
    }
    if (got < job->nodes_req)
        return false;
    job_queue_del(&c->jobs, job);
    job_alloc(c, job, pick, got, cpn, mem);
    job->state = JOB_RUNNING;
    job->reason = REASON_NONE;
    job->start_time = ctld_now();
    job->end_time = 0;
    job_assert_state(job);
    if (persist_job_update(c, job) < 0) {
        job_requeue(c, job, REASON_NONE);
        return false;
    }
    log_info("job %u started on %s (%d node%s, %d cpus/node)", job->id, pick[0]->name, got,
             got > 1 ? "s" : "", cpn);
    job_launch(c, job);
    return true;
}

void sched_pass(struct ctld *c)
{
    struct node **pick = xcalloc((size_t)c->nnodes + 1, sizeof(*pick));
    bool *blocked = xcalloc((size_t)c->nparts + 1, sizeof(*blocked));
    struct job *job, *next;

    c->sched_needed = false;
    c->last_sched = ctld_now();
    for (job = c->jobs.qhead; job; job = next) {
        next = job->qnext;
        if (job->held) {
            set_reason(c, job, REASON_JOB_HELD_USER);
            continue;
        }
        struct part *p = part_find(c, job->partition);
        int why = partition_block(job, p);
        if (why != REASON_NONE) {
            set_reason(c, job, why);
            continue;
        }
        int pi = (int)(p - c->parts);
        if (blocked[pi]) {
            set_reason(c, job, REASON_PRIORITY);
            continue;
        }
        if (!try_start(c, job, p, pick)) {
            blocked[pi] = true;
            set_reason(c, job, REASON_RESOURCES);
        }
    }
    free(pick);
    free(blocked);
}
