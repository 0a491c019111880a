/* sched.c - place pending jobs on nodes.
 *
 * First fit in queue order (priority, then id) over the nodes of the
 * job's partition.  Within a partition the order is strict: once a job
 * cannot start for lack of resources, the jobs behind it wait with reason
 * Priority, so big jobs are not starved.
 *
 * A node fits a job when it is usable, allowed by the job's -w/-x lists
 * and --constraint, and has the CPUs, memory and GPUs (of the requested
 * type) free; --exclusive needs a node with nothing on it and takes the
 * whole node.  GPUs are handed out by index, lowest first.
 */
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* CPUs per node: --ntasks-per-node, or the tasks spread evenly. */
int sched_cpus_per_node(int nodes, int ntasks, int ntasks_per_node, int cpus_per_task)
{
    int tpn = ntasks_per_node > 0 ? ntasks_per_node : (ntasks + nodes - 1) / nodes;
    return tpn * cpus_per_task;
}

static int cpus_per_node(const struct job *job)
{
    return sched_cpus_per_node(job->nodes_req, job->ntasks, job->ntasks_per_node,
                               job->cpus_per_task);
}

/* Memory a job needs per node on a node of this group. */
static uint64_t mem_needed(const struct job *job, const struct sl_node_group *g, int cpus)
{
    if (job->exclusive)
        return g->memory_mb;
    if (job->mem_mb)
        return job->mem_mb;
    if (job->mem_per_cpu_mb)
        return job->mem_per_cpu_mb * (uint64_t)cpus;
    return g->memory_mb * (uint64_t)cpus / (uint64_t)g->cpus;
}

static bool has_feature(const struct sl_node_group *g, const char *f, size_t len)
{
    for (size_t i = 0; i < g->feature_count; i++)
        if (strlen(g->features[i]) == len && !strncmp(g->features[i], f, len))
            return true;
    return false;
}

/* "a&b" / "a,b": all; "a|b": any.  Mixed forms are refused at submit. */
bool sched_constraint_ok(const struct sl_node_group *g, const char *c)
{
    if (!c || !*c)
        return true;
    bool any = strchr(c, '|') != NULL;
    const char *p = c;
    while (*p) {
        size_t len = strcspn(p, "&|,");
        bool has = has_feature(g, p, len);
        if (any && has)
            return true;
        if (!any && !has)
            return false;
        p += len;
        if (*p)
            p++;
    }
    return !any;
}

/* Static fit of a node group, ignoring what is in use. */
static bool group_fits(const struct sl_node_group *g, int cpn, uint64_t mem, int gpus,
                       const char *gpu_type, const char *constraint)
{
    if (g->cpus < cpn || g->memory_mb < mem || g->gpus < gpus)
        return false;
    if (gpus > 0 && gpu_type && (!g->gpu_type || strcmp(g->gpu_type, gpu_type) != 0))
        return false;
    return sched_constraint_ok(g, constraint);
}

int sched_job_fits_partition(struct ctld *c, const struct part *p, const struct job *job)
{
    int cpn = cpus_per_node(job), fitting = 0;
    struct hostlist *req = job->req_nodes ? hostlist_create(job->req_nodes, NULL) : NULL;
    struct hostlist *exc = job->exc_nodes ? hostlist_create(job->exc_nodes, NULL) : NULL;
    (void)c;
    if (req) {
        /* every requested node must be in the partition and fit */
        for (size_t i = 0; i < hostlist_count(req); i++) {
            struct node *n = NULL;
            for (int k = 0; k < p->nnodes; k++)
                if (!strcmp(p->nodes[k]->name, hostlist_nth(req, i)))
                    n = p->nodes[k];
            const struct sl_node_group *g = n ? n->group : NULL;
            if (!g || !group_fits(g, cpn, mem_needed(job, g, cpn), job->gpus_per_node,
                                  job->gpu_type, job->constraint)) {
                hostlist_destroy(req);
                hostlist_destroy(exc);
                return SL_E_NODE_CONFIG_UNAVAIL;
            }
        }
    }
    for (int i = 0; i < p->nnodes; i++) {
        const struct sl_node_group *g = p->nodes[i]->group;
        if (exc && hostlist_find(exc, p->nodes[i]->name) >= 0)
            continue;
        if (group_fits(g, cpn, mem_needed(job, g, cpn), job->gpus_per_node, job->gpu_type,
                       job->constraint))
            fitting++;
    }
    hostlist_destroy(req);
    hostlist_destroy(exc);
    return fitting >= job->nodes_req ? 0 : SL_E_NODE_CONFIG_UNAVAIL;
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

/* The lowest `count` free GPUs of n, or 0 when there are not enough. */
static uint64_t pick_gpus(const struct node *n, int count)
{
    uint64_t mask = 0;
    for (int g = 0; g < n->group->gpus && g < 64 && count > 0; g++) {
        if (!(n->gpus_used & (1ULL << g))) {
            mask |= 1ULL << g;
            count--;
        }
    }
    return count == 0 ? mask : 0;
}

/* Can node n take the job right now?  Sets *gpus to the GPUs it would get. */
static bool node_fits_now(const struct job *job, const struct node *n, int cpn,
                          const struct hostlist *exc, uint64_t *gpus)
{
    const struct sl_node_group *g = n->group;
    uint64_t need = mem_needed(job, g, cpn);
    if (!node_usable(n) || n->excl_job)
        return false;
    if (exc && hostlist_find(exc, n->name) >= 0)
        return false;
    if (!group_fits(g, cpn, need, job->gpus_per_node, job->gpu_type, job->constraint))
        return false;
    if (job->exclusive && n->njobs > 0)
        return false;
    if (g->cpus - n->cpus_used < cpn || g->memory_mb - n->mem_used < need)
        return false;
    *gpus = 0;
    if (job->exclusive && g->gpus > 0)
        *gpus = pick_gpus(n, g->gpus);
    else if (job->gpus_per_node > 0 && !(*gpus = pick_gpus(n, job->gpus_per_node)))
        return false;
    return true;
}

/* Try to start one job; true if it started. */
static bool try_start(struct ctld *c, struct job *job, struct part *p, struct node **pick,
                      uint64_t *masks)
{
    int cpn = cpus_per_node(job), got = 0;
    uint64_t mem = 0;
    struct hostlist *req = job->req_nodes ? hostlist_create(job->req_nodes, NULL) : NULL;
    struct hostlist *exc = job->exc_nodes ? hostlist_create(job->exc_nodes, NULL) : NULL;
    bool ok = true;

    /* required nodes first (all of them), then any others */
    for (size_t r = 0; req && r < hostlist_count(req) && ok; r++) {
        struct node *n = node_find(c, hostlist_nth(req, r));
        ok = n && part_has_node(p, n) && node_fits_now(job, n, cpn, exc, &masks[got]);
        if (ok)
            pick[got++] = n;
    }
    for (int i = 0; ok && i < p->nnodes && got < job->nodes_req; i++) {
        struct node *n = p->nodes[i];
        if (req && hostlist_find(req, n->name) >= 0)
            continue;
        if (node_fits_now(job, n, cpn, exc, &masks[got]))
            pick[got++] = n;
    }
    hostlist_destroy(req);
    hostlist_destroy(exc);
    if (!ok || got < job->nodes_req)
        return false;
    /* One figure per node (the smallest, so no node is over-counted);
     * exclusive jobs take whole nodes. */
    int cpus = job->exclusive ? pick[0]->group->cpus : cpn;
    mem = mem_needed(job, pick[0]->group, cpn);
    for (int i = 1; i < got; i++) {
        uint64_t need = mem_needed(job, pick[i]->group, cpn);
        if (need < mem)
            mem = need;
        if (job->exclusive && pick[i]->group->cpus < cpus)
            cpus = pick[i]->group->cpus;
    }
    job_queue_del(&c->jobs, job);
    job_alloc(c, job, pick, got, cpus, mem, masks);
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
             got > 1 ? "s" : "", cpus);
    job_launch(c, job);
    return true;
}

void sched_pass(struct ctld *c)
{
    struct node **pick = xcalloc((size_t)c->nnodes + 1, sizeof(*pick));
    uint64_t *masks = xcalloc((size_t)c->nnodes + 1, sizeof(*masks));
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
        memset(masks, 0, sizeof(*masks) * ((size_t)c->nnodes + 1));
        if (!try_start(c, job, p, pick, masks)) {
            blocked[pi] = true;
            set_reason(c, job, REASON_RESOURCES);
        }
    }
    free(pick);
    free(masks);
    free(blocked);
}
