/* invariants.c - a whole-state consistency pass, for tests and admins.
 *
 * Purpose: check, without aborting, what job.h and node.h promise of the
 *          state as a whole: each node's used CPUs, memory, GPUs and job
 *          count are exactly the sum of the allocations that jobs hold on
 *          it; each job's state agrees with its allocation and its place
 *          in the pending queue (job_assert_state(), which aborts, checks
 *          one job at its transitions); the queue's count is right.
 * Input:   `scontrol ping`'s request with {"check": true}, from an admin.
 * Action:  replies {"invariants": "ok"} or the first violations found,
 *          and logs the same ("invariants ok" / "invariant violated").
 * Caveats: O(jobs + nodes); meant for tests and debugging, not for
 *          every turn.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct report {
    char text[1024];
    size_t len;
    int count;
};

static void violation(struct report *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void violation(struct report *r, const char *fmt, ...)
{
    va_list ap;
    if (r->count++ >= 8 || r->len >= sizeof(r->text) - 1)
        return;
    if (r->len)
        r->len += (size_t)snprintf(r->text + r->len, sizeof(r->text) - r->len, "; ");
    if (r->len >= sizeof(r->text) - 1)
        return;
    va_start(ap, fmt);
    r->len += (size_t)vsnprintf(r->text + r->len, sizeof(r->text) - r->len, fmt, ap);
    va_end(ap);
    if (r->len > sizeof(r->text) - 1)
        r->len = sizeof(r->text) - 1;
}

static void check_job(struct ctld *c, const struct job *j, struct report *r, int *cpus,
                      uint64_t *mem, uint64_t *gpus, int *njobs)
{
    bool final = job_state_is_final(j->state);
    if (j->state == JOB_PENDING && (j->nalloc || j->completing))
        violation(r, "job %u PENDING with an allocation", j->id);
    if (j->state == JOB_RUNNING && (j->nalloc < 1 || j->start_time <= 0))
        violation(r, "job %u RUNNING without an allocation", j->id);
    if (final && !j->completing && j->nalloc)
        violation(r, "job %u %s and not completing, but holds %d nodes", j->id,
                  job_state_name(j->state), j->nalloc);
    if (!final && j->completing)
        violation(r, "job %u %s but completing", j->id, job_state_name(j->state));
    if (j->queued != (j->state == JOB_PENDING))
        violation(r, "job %u queued=%d in state %s", j->id, j->queued, job_state_name(j->state));
    for (int i = 0; i < j->nalloc; i++) {
        const struct node *n = j->alloc[i];
        int k = (int)(n - c->nodes);
        if (k < 0 || k >= c->nnodes) {
            violation(r, "job %u holds a node that is not in the table", j->id);
            continue;
        }
        for (int m = 0; m < i; m++)
            if (j->alloc[m] == n)
                violation(r, "job %u holds node %s twice", j->id, n->name);
        cpus[k] += j->alloc_cpus;
        mem[k] += j->alloc_mem;
        if (j->gpu_masks) {
            if (gpus[k] & j->gpu_masks[i])
                violation(r, "node %s: a GPU held by job %u and another", n->name, j->id);
            gpus[k] |= j->gpu_masks[i];
        }
        njobs[k]++;
    }
}

/* 0 and "ok" in text, or the number of violations and their description. */
int invariants_check(struct ctld *c, char *text, size_t len)
{
    struct report r = {.len = 0, .count = 0};
    int *cpus = xcalloc((size_t)c->nnodes + 1, sizeof(*cpus));
    int *njobs = xcalloc((size_t)c->nnodes + 1, sizeof(*njobs));
    uint64_t *mem = xcalloc((size_t)c->nnodes + 1, sizeof(*mem));
    uint64_t *gpus = xcalloc((size_t)c->nnodes + 1, sizeof(*gpus));
    size_t queued = 0, counted = 0;

    JOB_FOREACH(&c->jobs, j)
    {
        check_job(c, j, &r, cpus, mem, gpus, njobs);
        queued += j->queued;
        counted++;
    }
    if (counted != c->jobs.count)
        violation(&r, "job table counts %zu jobs, holds %zu", c->jobs.count, counted);
    size_t inq = 0;
    for (const struct job *j = c->jobs.qhead; j && inq <= counted; j = j->qnext, inq++)
        if (!j->queued)
            violation(&r, "job %u in the pending queue but not marked queued", j->id);
    if (inq != queued || inq != c->jobs.npending)
        violation(&r, "pending queue holds %zu jobs, %zu marked queued, npending %zu", inq, queued,
                  c->jobs.npending);
    size_t inactive = 0, inended = 0;
    for (const struct job *j = c->jobs.ahead; j && inactive <= counted; j = j->qnext, inactive++)
        if (j->queued || !j->in_table || j->on_ended || job_is_ended(j))
            violation(&r, "job %u on the active list but queued=%d in_table=%d ended=%d/%d", j->id,
                      j->queued, j->in_table, j->on_ended, job_is_ended(j));
    for (const struct job *j = c->jobs.ehead; j && inended <= counted; j = j->qnext, inended++)
        if (j->queued || !j->in_table || !j->on_ended || !job_is_ended(j))
            violation(&r, "job %u on the ended list but queued=%d in_table=%d ended=%d/%d", j->id,
                      j->queued, j->in_table, j->on_ended, job_is_ended(j));
    if (inactive + inended != counted - queued || inactive != c->jobs.nactive ||
        inended != c->jobs.nended)
        violation(&r,
                  "active and ended lists hold %zu and %zu jobs, %zu not queued, counts %zu "
                  "and %zu",
                  inactive, inended, counted - queued, c->jobs.nactive, c->jobs.nended);
    for (int k = 0; k < c->nnodes; k++) {
        const struct node *n = &c->nodes[k];
        if (n->cpus_used != cpus[k] || n->mem_used != mem[k] || n->gpus_used != gpus[k] ||
            n->njobs != njobs[k])
            violation(&r,
                      "node %s: used cpus %d mem %llu gpus %#llx jobs %d, but its jobs hold "
                      "cpus %d mem %llu gpus %#llx jobs %d",
                      n->name, n->cpus_used, (unsigned long long)n->mem_used,
                      (unsigned long long)n->gpus_used, n->njobs, cpus[k],
                      (unsigned long long)mem[k], (unsigned long long)gpus[k], njobs[k]);
    }
    free(cpus);
    free(njobs);
    free(mem);
    free(gpus);
    if (r.count)
        snprintf(text, len, "%d violated: %s", r.count, r.text);
    else
        snprintf(text, len, "ok");
    return r.count;
}
