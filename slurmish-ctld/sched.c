/* sched.c - place pending jobs on nodes.
 *
 * Each pass orders the pending jobs by partition tier, priority (age and
 * size, less nice) and id, and places each by first fit over the nodes of
 * its partition.  EASY backfill: the first job of a partition that cannot
 * start gets a reservation (the nodes and time it would get as running
 * jobs end at their time limits); a later job may start now only if it
 * leaves that reservation untouched or ends before it begins, so backfill
 * never delays the top job.  Later blocked jobs wait with reason Priority.
 * A pass stops after sched_budget_ms and resumes on the next loop turn.
 *
 * A node fits a job when it is usable, allowed by the job's -w/-x lists
 * and --constraint, and has the CPUs, memory and GPUs (of the requested
 * type) free; --exclusive needs a node with nothing on it and takes the
 * whole node.  GPUs are handed out by index, lowest first.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "ctld.h"
#include "persist.h"
#include "power.h"
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
        return REASON_PARTITION_MISSING;
    if (p->conf->state == PART_DOWN)
        return REASON_PARTITION_DOWN;
    if (p->conf->state == PART_INACTIVE)
        return REASON_PARTITION_INACTIVE;
    if (p->conf->max_time != SL_TIME_UNLIMITED &&
        (job->time_limit == SL_TIME_UNLIMITED || job->time_limit > p->conf->max_time))
        return REASON_PARTITION_TIME_LIMIT;
    if ((p->conf->max_nodes > 0 && job->nodes_req > p->conf->max_nodes) ||
        job->nodes_req < p->conf->min_nodes)
        return REASON_PARTITION_NODE_LIMIT;
    return REASON_NONE;
}

/* Pending reasons are recomputed by every pass (one runs at start-up), so
 * they live in memory only: writing them would cost a row per job per pass. */
static void set_reason(struct ctld *c, struct job *job, int reason)
{
    (void)c;
    job->reason = reason;
}

/* ---- priority ---- */

#define PRIORITY_WEIGHT_AGE 1000
#define PRIORITY_WEIGHT_SIZE 1000
#define PRIORITY_MAX_AGE (7 * 86400)
#define PRIORITY_RANK_HELD_EVERY 60 /* seconds */

/* Slurm's multifactor idea, small: age (saturating at a week) and size
 * (share of the partition's CPUs) each weigh 1000; nice subtracts. */
void sched_priority_factors(const struct job *job, const struct part *p, int64_t now, int *age,
                            int *size)
{
    double a = (double)(now - job->submit_time) / PRIORITY_MAX_AGE, sz = 0;
    if (a < 0)
        a = 0;
    if (a > 1)
        a = 1;
    if (p && p->total_cpus > 0) {
        sz = (double)(job->ntasks * job->cpus_per_task) / p->total_cpus;
        if (sz > 1)
            sz = 1;
    }
    *age = (int)(PRIORITY_WEIGHT_AGE * a);
    *size = (int)(PRIORITY_WEIGHT_SIZE * sz);
}

uint32_t sched_priority(const struct job *job, const struct part *p, int64_t now)
{
    int age, size;
    sched_priority_factors(job, p, now, &age, &size);
    long long prio = 1 + (long long)age + size - job->nice;
    if (prio < 1)
        prio = 1;
    if (prio > 0x7fffffff)
        prio = 0x7fffffff;
    return (uint32_t)prio;
}

uint32_t sched_rank(const struct job *job, const struct part *p, int64_t now)
{
    return job->prio_set ? job->prio_set : sched_priority(job, p, now);
}

/* ---- resource views ---- */

/* What is in use on a node, as the fit test sees it. */
struct usage {
    int cpus;
    uint64_t mem;
    uint64_t gpus;
    int njobs;
    bool excl;
};

/* Reservations made for the top blocked job of each partition (EASY
 * backfill): per node, what the reserved job will take at `shadow`. */
struct resv {
    int64_t shadow; /* INT64_MAX: no reservation on this node */
    int cpus;
    uint64_t mem;
    uint64_t gpus;
    bool whole; /* reserved for an exclusive job */
};

static int64_t job_end(const struct job *job, int64_t now)
{
    return job->time_limit > 0 ? now + job->time_limit : INT64_MAX;
}

/* Usage of n as a job ending at `end` must respect it: reserved resources
 * count as used unless the job is gone before the reservation starts. */
static struct usage effective_usage(const struct node *n, const struct resv *r, int64_t end)
{
    struct usage u = {n->cpus_used, n->mem_used, n->gpus_used, n->njobs, n->excl_job != 0};
    if (r && r->shadow != INT64_MAX && end > r->shadow) {
        u.cpus += r->cpus;
        u.mem += r->mem;
        u.gpus |= r->gpus;
        if (r->whole) {
            u.njobs++;
            u.excl = true;
        }
    }
    return u;
}

/* The lowest `count` GPUs free in `used`, or 0 when there are not enough. */
static uint64_t pick_gpus(const struct node *n, uint64_t used, int count)
{
    uint64_t mask = 0;
    for (int g = 0; g < n->group->gpus && g < 64 && count > 0; g++) {
        if (!(used & (1ULL << g))) {
            mask |= 1ULL << g;
            count--;
        }
    }
    return count == 0 ? mask : 0;
}

/* Can node n take the job given usage u?  Sets *gpus to the GPUs it would get. */
static bool node_fits(const struct job *job, const struct node *n, const struct usage *u, int cpn,
                      const struct hostlist *exc, uint64_t *gpus)
{
    const struct sl_node_group *g = n->group;
    uint64_t need = mem_needed(job, g, cpn);
    if (u->excl)
        return false;
    if (exc && hostlist_find(exc, n->name) >= 0)
        return false;
    if (!group_fits(g, cpn, need, job->gpus_per_node, job->gpu_type, job->constraint))
        return false;
    if (job->exclusive && u->njobs > 0)
        return false;
    if (g->cpus - u->cpus < cpn || g->memory_mb - u->mem < need)
        return false;
    *gpus = 0;
    if (job->exclusive && g->gpus > 0)
        *gpus = pick_gpus(n, u->gpus, g->gpus);
    else if (job->gpus_per_node > 0 && !(*gpus = pick_gpus(n, u->gpus, job->gpus_per_node)))
        return false;
    return true;
}

/* Scheduler scratch space, sized to the cluster once per pass. */
struct pass {
    struct ctld *c;
    int64_t now;
    struct node **pick;
    uint64_t *masks;
    struct resv *resv;   /* per node index */
    struct usage *sim;   /* per node index: simulated usage for reservations */
    bool use_sim;
};

/* Usage of n for this job: simulated (reservation planning) or real
 * with reservations applied. */
static struct usage usage_for(const struct pass *ps, const struct node *n, int64_t end)
{
    if (ps->use_sim)
        return ps->sim[n->index];
    return effective_usage(n, &ps->resv[n->index], end);
}

/* May the job use p's fallback_node_groups?  NULL if not, else why (a
 * word for scontrol show job): it waited past fallback_after, or every
 * cloud group of the partition is backed off after failed launches. */
const char *sched_fallback_allowed(struct ctld *c, const struct part *p, const struct job *job,
                                   int64_t now)
{
    if (!p->conf->fallback_group_count)
        return NULL;
    if (p->conf->fallback_after != SL_TIME_UNLIMITED &&
        now - job->submit_time >= p->conf->fallback_after)
        return "WaitedPastFallbackAfter";
    if (power_groups_failing(c, p))
        return "NodeGroupsFailingToLaunch";
    return NULL;
}

/* First fit of the job on partition p; fills ps->pick/masks.  Returns the
 * number of nodes picked (== nodes_req on success). */
static int find_nodes(struct pass *ps, const struct job *job, const struct part *p, int cpn)
{
    struct ctld *c = ps->c;
    struct hostlist *req = job->req_nodes ? hostlist_create(job->req_nodes, NULL) : NULL;
    struct hostlist *exc = job->exc_nodes ? hostlist_create(job->exc_nodes, NULL) : NULL;
    int64_t end = job_end(job, ps->now);
    int got = 0;
    bool ok = true;
    const char *fallback = sched_fallback_allowed(c, p, job, ps->now);

    for (size_t r = 0; req && r < hostlist_count(req) && ok; r++) {
        struct node *n = node_find(c, hostlist_nth(req, r));
        struct usage u;
        ok = n && part_has_node(p, n) &&
             (ps->use_sim || node_usable(n) || power_schedulable(c, n));
        if (ok) {
            u = usage_for(ps, n, end);
            ok = node_fits(job, n, &u, cpn, exc, &ps->masks[got]);
        }
        if (ok)
            ps->pick[got++] = n;
    }
    /* Nodes that are up first; then, in partitions with cloud nodes, nodes
     * already booting (more work can share a boot), then powered-down
     * nodes, cheapest node group first. */
    int phases = (p->has_cloud && !ps->use_sim) ? 3 : 1;
    for (int phase = 0; phase < phases; phase++) {
        struct node **list = phase == 2 ? p->by_price : p->nodes;
        for (int i = 0; ok && i < p->nnodes && got < job->nodes_req; i++) {
            struct node *n = list[i];
            if (req && hostlist_find(req, n->name) >= 0)
                continue;
            if (!fallback && part_is_fallback(p, n))
                continue;
            if (phase == 0 && !ps->use_sim && !node_usable(n))
                continue;
            if (phase == 1 && !((n->flags & NODE_FLAG_POWERING_UP) && power_schedulable(c, n)))
                continue;
            if (phase == 2 &&
                !((n->flags & NODE_FLAG_POWERED_DOWN) && power_schedulable(c, n)))
                continue;
            if (ps->use_sim && !node_usable(n) && n->njobs == 0)
                continue; /* down and empty: nothing will come back to it */
            struct usage u = usage_for(ps, n, end);
            if (node_fits(job, n, &u, cpn, exc, &ps->masks[got]))
                ps->pick[got++] = n;
        }
    }
    hostlist_destroy(req);
    hostlist_destroy(exc);
    return ok ? got : 0;
}

/* Start a job on the nodes in ps->pick. */
static void start_job(struct pass *ps, struct job *job, int got, int cpn)
{
    struct ctld *c = ps->c;
    struct node **pick = ps->pick;
    /* One figure per node (the smallest, so no node is over-counted);
     * exclusive jobs take whole nodes. */
    int cpus = job->exclusive ? pick[0]->group->cpus : cpn;
    uint64_t mem = mem_needed(job, pick[0]->group, cpn);
    for (int i = 1; i < got; i++) {
        uint64_t need = mem_needed(job, pick[i]->group, cpn);
        if (need < mem)
            mem = need;
        if (job->exclusive && pick[i]->group->cpus < cpus)
            cpus = pick[i]->group->cpus;
    }
    job_queue_del(&c->jobs, job);
    job_alloc(c, job, pick, got, cpus, mem, ps->masks);
    struct part *p = part_find(c, job->partition);
    free(job->fallback);
    job->fallback = NULL;
    for (int i = 0; p && i < got && !job->fallback; i++)
        if (part_is_fallback(p, pick[i])) {
            job->fallback = xstrdup(sched_fallback_allowed(c, p, job, ps->now));
            log_info("job %u: placed on fallback node group %s (%s)", job->id,
                     pick[i]->group->name, job->fallback);
        }
    job->state = JOB_RUNNING;
    job->reason = REASON_NONE;
    job->start_time = ps->now;
    job->end_time = 0;
    job->expected_start = 0;
    job_assert_state(job);
    if (persist_job_update(c, job) < 0) {
        job_requeue(c, job, REASON_NONE);
        return;
    }
    log_info("job %u started on %s (%d node%s, %d cpus/node)", job->id, pick[0]->name, got,
             got > 1 ? "s" : "", cpus);
    job->last_activity = ps->now;
    power_job_allocated(c, job); /* boots what is powered down: then it is CONFIGURING */
    if (job->configuring)
        persist_job_update(c, job);
    else if (!job->interactive) /* an allocation's work comes as steps from the client */
        job_launch(c, job);
}

/* ---- preemption (Slurm's preempt/partition_prio) ---- */

static int job_tier(struct ctld *c, const struct job *j)
{
    struct part *p = part_find(c, j->partition);
    return p ? p->conf->priority_tier : 0;
}

static int preempt_mode(struct ctld *c, const struct job *j)
{
    struct part *p = part_find(c, j->partition);
    return p ? p->conf->preempt_mode : SL_PREEMPT_OFF;
}

static bool on_part(const struct job *j, const struct part *p)
{
    for (int i = 0; i < j->nalloc; i++)
        if (part_has_node(p, j->alloc[i]))
            return true;
    return false;
}

static void sim_release(struct pass *ps, const struct job *j)
{
    for (int i = 0; i < j->nalloc; i++) {
        struct usage *u = &ps->sim[j->alloc[i]->index];
        u->cpus -= j->alloc_cpus;
        u->mem -= j->alloc_mem;
        if (j->gpu_masks)
            u->gpus &= ~j->gpu_masks[i];
        u->njobs--;
        if (j->exclusive)
            u->excl = false;
    }
}

/* Preempted and not yet off its nodes (requeue pending, or ending PREEMPTED). */
static bool being_preempted(const struct job *j)
{
    return (j->state == JOB_RUNNING && j->preempted) ||
           (j->completing && j->state == JOB_PREEMPTED);
}

/* Victims first: lowest tier, then the latest started (the least work lost). */
static struct ctld *cmp_victim_ctx;
static int cmp_victim(const void *a, const void *b)
{
    const struct job *x = *(struct job *const *)a, *y = *(struct job *const *)b;
    int tx = job_tier(cmp_victim_ctx, x), ty = job_tier(cmp_victim_ctx, y);
    if (tx != ty)
        return tx - ty;
    return x->start_time > y->start_time ? -1 : x->start_time < y->start_time;
}

/* The job cannot start: can it by taking nodes from running jobs of lower
 * priority tiers whose partitions allow it (preempt_mode CANCEL or
 * REQUEUE)?  If so, preempt the fewest needed and return true: the job
 * starts when they are gone.  Jobs already being preempted count as gone,
 * so a waiting job never takes more than it needs. */
static bool try_preempt(struct pass *ps, struct job *job, const struct part *p, int cpn,
                        bool *any)
{
    struct ctld *c = ps->c;
    int tier = p->conf->priority_tier;
    size_t n = 0, cap = 16;
    struct job **victims = xcalloc(cap, sizeof(*victims));
    bool freeing = false;

    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        if (!j->nalloc || !on_part(j, p))
            continue;
        if (being_preempted(j)) {
            freeing = true;
            continue;
        }
        if (j->state != JOB_RUNNING || j->completing)
            continue;
        if (job_tier(c, j) >= tier || preempt_mode(c, j) == SL_PREEMPT_OFF)
            continue;
        if (n == cap)
            victims = xrealloc(victims, (cap *= 2) * sizeof(*victims));
        victims[n++] = j;
    }
    if (!n && !freeing) {
        *any = false;
        free(victims);
        return false;
    }
    for (int i = 0; i < p->nnodes; i++) {
        const struct node *nd = p->nodes[i];
        ps->sim[nd->index] = (struct usage){nd->cpus_used, nd->mem_used, nd->gpus_used,
                                            nd->njobs, nd->excl_job != 0};
    }
    JOB_FOREACH_ACTIVE(&c->jobs, j) if (being_preempted(j) && j->nalloc) sim_release(ps, j);
    ps->use_sim = true;
    int got = find_nodes(ps, job, p, cpn);
    size_t k = 0;
    cmp_victim_ctx = c;
    qsort(victims, n, sizeof(*victims), cmp_victim);
    while (got < job->nodes_req && k < n) {
        sim_release(ps, victims[k++]);
        got = find_nodes(ps, job, p, cpn);
    }
    ps->use_sim = false;
    if (got < job->nodes_req) {
        free(victims);
        return false; /* even all of them would not do */
    }
    for (size_t v = 0; v < k; v++) {
        struct job *j = victims[v];
        bool needed = false; /* only jobs on the nodes the job would get */
        for (int i = 0; i < j->nalloc && !needed; i++)
            for (int g = 0; g < got && !needed; g++)
                needed = j->alloc[i] == ps->pick[g];
        if (!needed)
            continue;
        char detail[200];
        snprintf(detail, sizeof(detail), "job %u preempted for job %u (%s)", j->id, job->id,
                 preempt_mode(c, j) == SL_PREEMPT_REQUEUE && j->requeue && !j->interactive
                     ? "requeued"
                     : "cancelled");
        log_info("%s", detail);
        persist_event(c, 0, "preempt", detail);
        j->preempted = true;
        if (preempt_mode(c, j) == SL_PREEMPT_REQUEUE && j->requeue && !j->interactive) {
            job_requeue_running(c, j);
        } else {
            j->preempted = false; /* completing from here: its end state is PREEMPTED */
            job_terminate(c, j, JOB_PREEMPTED, REASON_NONE, -1);
        }
    }
    free(victims);
    return true;
}

static int cmp_end(const void *a, const void *b)
{
    const struct job *x = *(struct job *const *)a, *y = *(struct job *const *)b;
    int64_t ex = x->time_limit > 0 ? x->start_time + x->time_limit : INT64_MAX;
    int64_t ey = y->time_limit > 0 ? y->start_time + y->time_limit : INT64_MAX;
    return ex < ey ? -1 : ex > ey;
}

/* EASY backfill: find when the blocked job could start, replaying the
 * ends of running jobs (by their time limits), and reserve the nodes it
 * would get then.  Returns the shadow time, or 0 when it cannot be told. */
static int64_t reserve(struct pass *ps, struct job *job, const struct part *p, int cpn)
{
    struct ctld *c = ps->c;
    size_t nrun = 0, cap = 64;
    struct job **run = xcalloc(cap, sizeof(*run));
    int64_t shadow = 0;

    /* running jobs on this partition's nodes, by expected end */
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        bool here = false;
        for (int i = 0; i < j->nalloc && !here; i++)
            here = part_has_node(p, j->alloc[i]);
        if (!here || !j->nalloc)
            continue;
        if (nrun == cap)
            run = xrealloc(run, (cap *= 2) * sizeof(*run));
        run[nrun++] = j;
    }
    qsort(run, nrun, sizeof(*run), cmp_end);
    for (int i = 0; i < p->nnodes; i++) {
        const struct node *n = p->nodes[i];
        ps->sim[n->index] = effective_usage(n, &ps->resv[n->index], INT64_MAX);
    }
    ps->use_sim = true;
    for (size_t k = 0; k <= nrun; k++) {
        int64_t t = ps->now;
        if (k > 0) {
            struct job *j = run[k - 1];
            if (j->time_limit <= 0)
                break; /* unlimited: never ends, as far as planning goes */
            t = j->start_time + j->time_limit;
            for (int i = 0; i < j->nalloc; i++) {
                struct usage *u = &ps->sim[j->alloc[i]->index];
                u->cpus -= j->alloc_cpus;
                u->mem -= j->alloc_mem;
                if (j->gpu_masks)
                    u->gpus &= ~j->gpu_masks[i];
                u->njobs--;
                if (j->exclusive)
                    u->excl = false;
            }
            if (k < nrun && run[k]->time_limit > 0 &&
                run[k]->start_time + run[k]->time_limit == t)
                continue; /* release everything ending at the same moment first */
        }
        int got = find_nodes(ps, job, p, cpn);
        if (got >= job->nodes_req) {
            shadow = t > ps->now ? t : ps->now + 1;
            int cpus = job->exclusive ? 0 : cpn;
            for (int i = 0; i < got; i++) {
                struct resv *r = &ps->resv[ps->pick[i]->index];
                if (r->shadow == INT64_MAX || shadow < r->shadow)
                    r->shadow = shadow;
                r->cpus += job->exclusive ? ps->pick[i]->group->cpus : cpus;
                r->mem += mem_needed(job, ps->pick[i]->group, cpn);
                r->gpus |= ps->masks[i];
                r->whole |= job->exclusive;
            }
            break;
        }
    }
    ps->use_sim = false;
    free(run);
    return shadow;
}

/* Are all the nodes the job names with -w usable? */
static bool req_nodes_up(struct ctld *c, const struct job *job)
{
    struct hostlist *req = hostlist_create(job->req_nodes, NULL);
    bool up = req != NULL;
    for (size_t i = 0; up && i < hostlist_count(req); i++) {
        struct node *n = node_find(c, hostlist_nth(req, i));
        up = n && (node_usable(n) || power_schedulable(c, n));
    }
    hostlist_destroy(req);
    return up;
}

/* sbatch --test-only: when and where would this job start if submitted
 * now?  Nothing is changed.  Returns the start time (now if it fits at
 * once) or 0 if it cannot be told; *nodes gets the node list. */
int64_t sched_test_start(struct ctld *c, struct job *job, char **nodes)
{
    struct pass ps = {.c = c, .now = ctld_now()};
    struct part *p = part_find(c, job->partition);
    int64_t when = 0;
    *nodes = NULL;
    if (!p || partition_block(job, p) != REASON_NONE)
        return 0;
    ps.pick = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.pick));
    ps.masks = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.masks));
    ps.resv = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.resv));
    ps.sim = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.sim));
    for (int i = 0; i < c->nnodes; i++)
        ps.resv[i].shadow = INT64_MAX;
    int cpn = cpus_per_node(job), got = find_nodes(&ps, job, p, cpn);
    if (got >= job->nodes_req) {
        when = ps.now;
    } else {
        when = reserve(&ps, job, p, cpn);
        got = when ? job->nodes_req : 0;
    }
    if (got) {
        struct hostlist *hl = hostlist_create(NULL, NULL);
        for (int i = 0; i < got; i++)
            hostlist_push(hl, ps.pick[i]->name);
        hostlist_uniq(hl);
        *nodes = hostlist_ranged_string(hl);
        hostlist_destroy(hl);
    }
    free(ps.pick);
    free(ps.masks);
    free(ps.resv);
    free(ps.sim);
    return when;
}

/* A pending job's place in the pass: tier, then priority (both high
 * first), then id.  Sorted by value, so a sort of a million jobs does not
 * chase a million pointers per comparison. */
struct sched_key {
    uint64_t rank; /* tier (offset to unsigned) << 32 | priority */
    uint32_t id;
    struct job *job;
};

static int cmp_sched(const void *a, const void *b)
{
    const struct sched_key *x = a, *y = b;
    if (x->rank != y->rank)
        return x->rank > y->rank ? -1 : 1;
    return x->id < y->id ? -1 : x->id > y->id;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A shape that failed to fit in this pass fails again: usage only grows
 * during a pass.  Only jobs without node lists or features are cached. */
static uint64_t shape_key(const struct job *job, int pi, int cpn, bool before_shadow)
{
    uint64_t h = 1469598103934665603ULL;
    uint64_t v[] = {(uint64_t)pi,  (uint64_t)cpn,       job->mem_mb,      job->mem_per_cpu_mb,
                    (uint64_t)job->gpus_per_node, (uint64_t)job->nodes_req,
                    (uint64_t)job->exclusive,     (uint64_t)before_shadow};
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        h = (h ^ v[i]) * 1099511628211ULL;
    if (job->gpu_type)
        for (const char *p = job->gpu_type; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h | 1; /* 0 marks an empty slot */
}

#define FAILED_SLOTS 4096

static bool failed_has(const uint64_t *set, uint64_t k)
{
    for (size_t i = k % FAILED_SLOTS, n = 0; n < FAILED_SLOTS; i = (i + 1) % FAILED_SLOTS, n++) {
        if (set[i] == k)
            return true;
        if (set[i] == 0)
            return false;
    }
    return false;
}

static void failed_add(uint64_t *set, size_t *count, uint64_t k)
{
    if (*count >= FAILED_SLOTS / 2)
        return; /* full enough: stop caching rather than slow down */
    size_t i = k % FAILED_SLOTS;
    while (set[i] && set[i] != k)
        i = (i + 1) % FAILED_SLOTS;
    if (!set[i])
        (*count)++;
    set[i] = k;
}

void sched_pass(struct ctld *c)
{
    struct pass ps = {.c = c, .now = ctld_now()};
    size_t n = 0;
    struct sched_key *order;
    bool *reserved = xcalloc((size_t)c->nparts + 1, sizeof(*reserved));
    /* per partition: might a job there preempt?  Only if a lower tier allows it */
    bool *can_preempt = xcalloc((size_t)c->nparts + 1, sizeof(*can_preempt));
    for (int a = 0; a < c->nparts; a++)
        for (int b = 0; b < c->nparts; b++)
            if (c->parts[b].conf->preempt_mode != SL_PREEMPT_OFF &&
                c->parts[b].conf->priority_tier < c->parts[a].conf->priority_tier)
                can_preempt[a] = true;
    int64_t *min_shadow = xcalloc((size_t)c->nparts + 1, sizeof(*min_shadow));
    uint64_t *failed = xcalloc(FAILED_SLOTS, sizeof(*failed));
    size_t nfailed = 0;
    int64_t t0 = mono_ms(), budget = c->conf->sched_budget_ms;

    c->sched_needed = false;
    c->last_sched = ps.now;
    ps.pick = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.pick));
    ps.masks = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.masks));
    ps.resv = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.resv));
    ps.sim = xcalloc((size_t)c->nnodes + 1, sizeof(*ps.sim));
    for (int i = 0; i < c->nnodes; i++)
        ps.resv[i].shadow = INT64_MAX;
    for (int i = 0; i < c->nparts; i++)
        min_shadow[i] = INT64_MAX;

    budget_pass_begin(c, ps.now);
    order = xcalloc(c->jobs.npending + 1, sizeof(*order));
    /* Jobs that cannot start (held, not yet eligible) are never sorted,
     * and ranked only once a minute, for squeue's sake: their age moves
     * their priority by about one point a minute (PRIORITY_MAX_AGE), and
     * a million held jobs would otherwise cost every pass. */
    bool rank_all = ps.now - c->last_rank_all >= PRIORITY_RANK_HELD_EVERY;
    if (rank_all)
        c->last_rank_all = ps.now;
    for (struct job *j = c->jobs.qhead; j; j = j->qnext) {
        if ((j->held || j->begin_time > ps.now) && rank_all)
            j->priority = sched_rank(j, part_find(c, j->partition), ps.now);
        if (j->held) {
            set_reason(c, j, j->held_by_admin ? REASON_JOB_HELD_ADMIN : REASON_JOB_HELD_USER);
            continue;
        }
        if (j->begin_time > ps.now) {
            set_reason(c, j, REASON_BEGIN_TIME);
            continue;
        }
        struct part *p = part_find(c, j->partition);
        j->priority = sched_rank(j, p, ps.now);
        j->sched_tier = p ? p->conf->priority_tier : 0;
        order[n++] = (struct sched_key){
            ((uint64_t)((uint32_t)j->sched_tier ^ 0x80000000u) << 32) | j->priority, j->id, j};
    }
    qsort(order, n, sizeof(*order), cmp_sched);

    for (size_t k = 0; k < n; k++) {
        struct job *job = order[k].job;
        if ((k & 127) == 127 && mono_ms() - t0 > budget) {
            /* let the loop answer clients; the next turn goes on */
            c->sched_needed = true;
            log_debug("scheduling pass stopped after %zu of %zu jobs (budget %lld ms)", k, n,
                      (long long)budget);
            break;
        }
        if (!depend_ready(c, job))
            continue; /* reason set (or the job cancelled) by depend.c */
        struct part *p = part_find(c, job->partition);
        int why = partition_block(job, p);
        if (why != REASON_NONE) {
            set_reason(c, job, why);
            continue;
        }
        if (budget_exceeded(c, job)) {
            /* spend is checked, never enforced on running jobs */
            set_reason(c, job, REASON_BUDGET);
            continue;
        }
        if (job->req_nodes && !req_nodes_up(c, job)) {
            /* -w names a node that is down or drained: it cannot start now */
            set_reason(c, job, REASON_REQ_NODE_NOT_AVAIL);
            continue;
        }
        int pi = (int)(p - c->parts), cpn = cpus_per_node(job);
        bool plain = !job->req_nodes && !job->exc_nodes && !job->constraint && !job->array_bits;
        uint64_t key = plain ? shape_key(job, pi, cpn, job_end(job, ps.now) <= min_shadow[pi]) : 0;
        if (plain && failed_has(failed, key)) {
            set_reason(c, job, reserved[pi] ? REASON_PRIORITY : REASON_RESOURCES);
            job->expected_start = 0;
            continue;
        }
        memset(ps.masks, 0, sizeof(*ps.masks) * ((size_t)c->nnodes + 1));
        if (job->array_bits) {
            /* an array's pending tasks: start as many as fit and the throttle allows */
            int got = 0;
            while (job->array_bits && (!job->array_throttle ||
                                       job->array_running < job->array_throttle)) {
                got = find_nodes(&ps, job, p, cpn);
                if (got < job->nodes_req)
                    break;
                start_job(&ps, array_split(c, job), got, cpn);
                memset(ps.masks, 0, sizeof(*ps.masks) * ((size_t)c->nnodes + 1));
            }
            if (!job->array_bits || job->state != JOB_PENDING)
                continue; /* the last task was the meta record itself */
            if (job->array_throttle && job->array_running >= job->array_throttle) {
                set_reason(c, job, REASON_ARRAY_TASK_LIMIT);
                continue;
            }
        } else {
            int got = find_nodes(&ps, job, p, cpn);
            if (got >= job->nodes_req) {
                start_job(&ps, job, got, cpn);
                continue;
            }
            /* a partition with nothing to preempt stays so for the rest of the pass */
            if (can_preempt[pi] && try_preempt(&ps, job, p, cpn, &can_preempt[pi])) {
                /* it starts on the next passes, as the preempted jobs leave */
                job->expected_start = 0;
                set_reason(c, job, REASON_RESOURCES);
                continue;
            }
        }
        if (!reserved[pi]) {
            /* the partition's top blocked job: reserve its start */
            reserved[pi] = true;
            job->expected_start = reserve(&ps, job, p, cpn);
            if (job->expected_start && job->expected_start < min_shadow[pi])
                min_shadow[pi] = job->expected_start;
            set_reason(c, job, REASON_RESOURCES);
        } else {
            job->expected_start = 0;
            set_reason(c, job, REASON_PRIORITY);
            if (plain)
                failed_add(failed, &nfailed, key);
        }
    }
    free(order);
    free(ps.pick);
    free(ps.masks);
    free(ps.resv);
    free(ps.sim);
    free(reserved);
    free(can_preempt);
    free(min_shadow);
    free(failed);
}
