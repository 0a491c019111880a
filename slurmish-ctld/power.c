/* power.c - the power manager; see power.h for the policy.
 *
 * All decisions are made here, on the ctld's loop: the provider only
 * starts and stops machines.  Requests to the provider are queued during
 * a loop turn and sent by power_flush() after the turn's commit, so the
 * database never says less than what was asked of the cloud (a node being
 * booted is always recorded as POWERING_UP first).
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "budget.h"
#include "ctld.h"
#include "metrics.h"
#include "persist.h"
#include "power.h"
#include "power/provider.h"
#include "step.h"
#include "types.h"
#include "util/daemon.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

#ifndef PKGLIBDIR
#define PKGLIBDIR "/usr/lib/slurmish"
#endif

#define MAX_BACKOFF_SHIFT 6 /* failure_backoff * 64 at most */

struct power {
    void *dl;
    const struct sl_power_ops *ops;
    void *ctx;
    struct sl_power_env env;
    char *dir;
    int *failures;           /* per node group: launches failed in a row */
    int64_t *backoff_until;  /* per node group */
    size_t ngroups;
    struct node **resume_q, **suspend_q;
    size_t nresume, nsuspend;
    int64_t rate_minute;
    int rate_count;
};

static void provider_log(int level, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (level <= SL_PWR_LOG_ERR)
        log_err("%s", msg);
    else if (level == SL_PWR_LOG_WARN)
        log_warn("%s", msg);
    else if (level == SL_PWR_LOG_INFO)
        log_info("%s", msg);
    else
        log_debug("%s", msg);
}

static char *provider_hostlist(const char *const *names, size_t n)
{
    struct hostlist *hl = hostlist_create(NULL, NULL);
    for (size_t i = 0; i < n; i++)
        hostlist_push(hl, names[i]);
    char *s = hostlist_ranged_string(hl);
    hostlist_destroy(hl);
    return s;
}

static int group_index(struct ctld *c, const struct node *n)
{
    return (int)(n->group - c->conf->groups);
}

static int idle_time(struct ctld *c, const struct node *n)
{
    return n->group->idle_time > 0 ? n->group->idle_time : c->conf->power_idle_time;
}

bool power_node_on(const struct node *n)
{
    return n->registered && !(n->flags & (NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_UP));
}

static bool backed_off(struct ctld *c, const struct node *n, int64_t now)
{
    struct power *pw = c->power;
    int gi = group_index(c, n);
    return gi >= 0 && (size_t)gi < pw->ngroups && now < pw->backoff_until[gi];
}

bool power_groups_failing(struct ctld *c, const struct part *p)
{
    struct power *pw = c->power;
    int64_t now = ctld_now();
    bool any = false;
    if (!pw || !pw->ops)
        return false;
    for (size_t i = 0; i < p->conf->node_group_count; i++) {
        const struct sl_node_group *g = sl_conf_find_group(c->conf, p->conf->node_groups[i]);
        if (!g || !g->cloud)
            continue;
        int gi = (int)(g - c->conf->groups);
        if (now >= pw->backoff_until[gi])
            return false;
        any = true;
    }
    return any;
}

bool power_schedulable(struct ctld *c, const struct node *n)
{
    struct power *pw = c->power;
    if (!pw || !pw->ops || !(n->flags & NODE_FLAG_CLOUD) ||
        !(n->flags & (NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_UP)))
        return false;
    if (n->state == NODE_DOWN || (n->flags & (NODE_FLAG_DRAIN | NODE_FLAG_POWER_DOWN_PENDING)))
        return false;
    if (n->flags & NODE_FLAG_POWERING_UP)
        return true; /* already booting: more work may share the boot */
    int64_t now = ctld_now();
    if (backed_off(c, n, now))
        return false;
    if (c->conf->resume_rate > 0 && pw->rate_minute == now / 60 &&
        pw->rate_count >= c->conf->resume_rate)
        return false;
    return true;
}

static void queue_node(struct node ***q, size_t *n, struct node *node)
{
    for (size_t i = 0; i < *n; i++)
        if ((*q)[i] == node)
            return;
    *q = xrealloc(*q, (*n + 1) * sizeof(**q));
    (*q)[(*n)++] = node;
}

static void resume(struct ctld *c, struct node *n, const char *why)
{
    struct power *pw = c->power;
    int64_t now = ctld_now();
    n->flags = (n->flags & ~NODE_FLAG_POWERED_DOWN) | NODE_FLAG_POWERING_UP;
    n->power_since = now;
    if (pw->rate_minute != now / 60) {
        pw->rate_minute = now / 60;
        pw->rate_count = 0;
    }
    pw->rate_count++;
    queue_node(&pw->resume_q, &pw->nresume, n);
    persist_node_update(c, n);
    persist_power_up(c, n, now); /* a cloud bills from the launch */
    node_update_state(c, n);
    log_info("power: resuming %s (%s)", n->name, why);
}

static void suspend(struct ctld *c, struct node *n, const char *why)
{
    struct power *pw = c->power;
    n->flags = (n->flags & ~(NODE_FLAG_POWER_DOWN_PENDING | NODE_FLAG_POWERING_UP)) |
               NODE_FLAG_POWERING_DOWN;
    n->power_since = ctld_now();
    queue_node(&pw->suspend_q, &pw->nsuspend, n);
    persist_node_update(c, n);
    log_info("power: suspending %s (%s)", n->name, why);
}

/* The machine is off: it can be booted again, and costs nothing more. */
static void set_off(struct ctld *c, struct node *n)
{
    int64_t now = ctld_now();
    if (n->njobs > 0)
        node_set_down(c, n, "Powered down with jobs on it");
    bool interrupted = n->reason && !strcmp(n->reason, "Spot interruption");
    n->flags &= ~(NODE_FLAG_POWERING_DOWN | NODE_FLAG_POWER_DOWN_PENDING | NODE_FLAG_POWERING_UP |
                  NODE_FLAG_NOT_RESPONDING);
    n->flags |= NODE_FLAG_POWERED_DOWN;
    n->power_since = now;
    n->registered = false;
    n->route_len = 0;
    n->interrupt_at = 0;
    n->nsessions = 0;
    if (n->state != NODE_DOWN && n->reason && n->reason_uid == -1) {
        free(n->reason); /* a spot notice ends with the machine */
        n->reason = NULL;
    }
    persist_power_down(c, n, now, interrupted);
    node_update_state(c, n);
    persist_node_update(c, n);
    c->sched_needed = true;
    log_info("power: %s is powered down", n->name);
}

static void resume_failed(struct ctld *c, struct node *n, const char *why)
{
    struct power *pw = c->power;
    int64_t now = ctld_now();
    int gi = group_index(c, n);
    char reason[300];
    snprintf(reason, sizeof(reason), "%s", why);
    log_warn("power: %s did not come up: %s", n->name, why);
    if (gi >= 0 && (size_t)gi < pw->ngroups) {
        int f = ++pw->failures[gi];
        int shift = f - 1 < MAX_BACKOFF_SHIFT ? f - 1 : MAX_BACKOFF_SHIFT;
        int64_t wait = (int64_t)c->conf->failure_backoff << shift;
        pw->backoff_until[gi] = now + wait;
        log_warn("power: node group %s failed %d time%s in a row: not resumed for %lld s", n->group->name,
                 f, f > 1 ? "s" : "", (long long)wait);
    }
    char detail[512];
    snprintf(detail, sizeof(detail), "node %s: resume failed: %s", n->name, why);
    persist_event(c, 0, "power", detail);
    /* whatever the provider got started must not keep running (and billing) */
    queue_node(&pw->suspend_q, &pw->nsuspend, n);
    n->flags = (n->flags & ~NODE_FLAG_POWERING_UP) | NODE_FLAG_POWERED_DOWN;
    n->power_since = now;
    persist_power_down(c, n, now, false);
    node_set_down(c, n, reason); /* requeues the jobs that waited for it */
    n->flags &= ~NODE_FLAG_NOT_RESPONDING;
    persist_node_update(c, n);
}

/* Back-off over: a powered-down node the controller marked DOWN may be tried again. */
static void return_to_service(struct ctld *c, struct node *n)
{
    log_info("power: %s back in service (was: %s)", n->name, n->reason ? n->reason : "DOWN");
    n->state = NODE_UNKNOWN;
    free(n->reason);
    n->reason = NULL;
    node_update_state(c, n);
    persist_node_update(c, n);
    c->sched_needed = true;
}

static bool job_on_node(const struct job *j, const struct node *n)
{
    for (int i = 0; i < j->nalloc; i++)
        if (j->alloc[i] == n)
            return true;
    return false;
}

/* Take the node's work off it (spot reclaim, POWER_DOWN_FORCE). */
static void evict_jobs(struct ctld *c, struct node *n)
{
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        if (j->state != JOB_RUNNING || j->completing || !job_on_node(j, n))
            continue;
        if (j->configuring) {
            job_requeue(c, j, REASON_NONE);
        } else if (j->interactive) {
            /* a session cannot move with its node */
            j->end_time = ctld_now();
            job_set_final(c, j, j->interrupted ? JOB_PREEMPTED : JOB_NODE_FAIL, REASON_NODE_DOWN);
        } else if (j->requeue) {
            log_info("job %u: requeued off %s", j->id, n->name);
            job_requeue_running(c, j);
        } else {
            job_terminate(c, j, j->interrupted ? JOB_PREEMPTED : JOB_NODE_FAIL, REASON_NODE_DOWN,
                          -1);
        }
    }
}

static void interrupt(struct ctld *c, struct node *n, int warning)
{
    int64_t now = ctld_now();
    if (n->flags & NODE_FLAG_POWERING_UP) {
        resume_failed(c, n, "Spot interruption while booting");
        return;
    }
    if (!power_node_on(n) || n->interrupt_at) {
        log_debug("power: interruption of %s ignored (not up, or already noticed)", n->name);
        return;
    }
    log_warn("power: spot interruption of %s: %d s of notice", n->name, warning);
    char detail[256];
    snprintf(detail, sizeof(detail), "node %s: spot interruption, %d s notice, %d job%s", n->name,
             warning, n->njobs, n->njobs == 1 ? "" : "s");
    persist_event(c, 0, "spot", detail);
    n->interrupt_at = now + (warning > 0 ? warning : 0);
    n->flags |= NODE_FLAG_POWER_DOWN_PENDING; /* no new work */
    free(n->reason);
    n->reason = xstrdup("Spot interruption");
    n->reason_time = now;
    n->reason_uid = -1;
    persist_node_update(c, n);
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        if (j->state != JOB_RUNNING || j->completing || !job_on_node(j, n))
            continue;
        j->interrupted = true;
        j->interruptions++;
        persist_job_update(c, j);
        if (j->configuring)
            continue;
        if (j->interactive) {
            char *msg = xasprintf("\r\nslurmish: node %s is being reclaimed by its cloud provider "
                                  "(spot interruption); this session ends in %d s\r\n",
                                  n->name, warning);
            json_t *body = json_pack("{s:I, s:s}", "job_id", (json_int_t)j->id, "message", msg);
            ctld_send_node(c, n, SL_MSG_SESSION_WARN, body);
            json_decref(body);
            free(msg);
            continue;
        }
        /* the job's own --signal if it has one, else SIGTERM; no SIGKILL yet */
        json_t *body = json_pack("{s:I, s:i, s:i, s:b}", "job_id", (json_int_t)j->id, "signal",
                                 j->warn_signal ? j->warn_signal : SIGTERM, "kill_wait", 0,
                                 "batch", j->warn_signal ? j->warn_batch : false);
        ctld_send_node(c, j->alloc[0], SL_MSG_SIGNAL_JOB, body);
        json_decref(body);
    }
}

/* Is n one of the idle nodes a warm_nodes setting keeps up? */
static bool warm_needed(struct ctld *c, const struct node *n, const int *idle_by_group,
                        const int *idle_by_part)
{
    int gi = group_index(c, n);
    if (n->group->warm_nodes > 0 && idle_by_group[gi] <= n->group->warm_nodes)
        return true;
    for (int p = 0; p < c->nparts; p++)
        if (c->parts[p].conf->warm_nodes > 0 && part_has_node(&c->parts[p], n) &&
            idle_by_part[p] <= c->parts[p].conf->warm_nodes)
            return true;
    return false;
}

static bool idle_up(const struct node *n)
{
    return (n->flags & NODE_FLAG_CLOUD) && n->njobs == 0 && n->nsessions == 0 &&
           n->state != NODE_DOWN && !(n->flags & (NODE_FLAG_DRAIN | NODE_FLAG_POWERED_DOWN |
                                                 NODE_FLAG_POWERING_DOWN |
                                                 NODE_FLAG_POWER_DOWN_PENDING));
}

static void count_idle(struct ctld *c, const struct node *n, int *by_group, int *by_part, int d)
{
    by_group[group_index(c, n)] += d;
    for (int p = 0; p < c->nparts; p++)
        if (part_has_node(&c->parts[p], n))
            by_part[p] += d;
}

/* Keep warm_nodes idle nodes up (booting ones count). */
static void keep_warm(struct ctld *c, int *by_group, int *by_part, int64_t now)
{
    for (int i = 0; i < c->nnodes; i++) {
        struct node *n = &c->nodes[i];
        if (!(n->flags & NODE_FLAG_POWERED_DOWN) || n->state == NODE_DOWN ||
            (n->flags & NODE_FLAG_DRAIN) || backed_off(c, n, now))
            continue;
        int gi = group_index(c, n);
        bool want = n->group->warm_nodes > by_group[gi];
        for (int p = 0; !want && p < c->nparts; p++)
            want = c->parts[p].conf->warm_nodes > by_part[p] && part_has_node(&c->parts[p], n);
        if (!want)
            continue;
        if (!power_schedulable(c, n))
            continue; /* rate limit */
        resume(c, n, "warm_nodes");
        count_idle(c, n, by_group, by_part, +1);
    }
}

void power_tick(struct ctld *c, int64_t now)
{
    struct power *pw = c->power;
    if (!pw || !pw->ops)
        return;
    struct sl_power_event ev[64];
    int nev;
    do {
        nev = pw->ops->poll(pw->ctx, ev, 64);
        for (int i = 0; i < nev; i++) {
            struct node *n = node_find(c, ev[i].node);
            if (!n || !(n->flags & NODE_FLAG_CLOUD)) {
                log_warn("power: provider event for %s, which is not a cloud node", ev[i].node);
                continue;
            }
            if (ev[i].kind == SL_PWR_EV_RESUME_FAILED && (n->flags & NODE_FLAG_POWERING_UP))
                resume_failed(c, n, ev[i].reason);
            else if (ev[i].kind == SL_PWR_EV_OFF && (n->flags & NODE_FLAG_POWERING_DOWN))
                set_off(c, n);
            else if (ev[i].kind == SL_PWR_EV_INTERRUPT)
                interrupt(c, n, ev[i].warning);
            else
                log_debug("power: event %d for %s ignored: %s", ev[i].kind, n->name,
                          ev[i].reason);
        }
    } while (nev == 64);

    int *by_group = xcalloc(pw->ngroups + 1, sizeof(int));
    int *by_part = xcalloc((size_t)c->nparts + 1, sizeof(int));
    for (int i = 0; i < c->nnodes; i++)
        if (idle_up(&c->nodes[i]))
            count_idle(c, &c->nodes[i], by_group, by_part, +1);

    for (int i = 0; i < c->nnodes; i++) {
        struct node *n = &c->nodes[i];
        if (!(n->flags & NODE_FLAG_CLOUD))
            continue;
        char why[160];
        if ((n->flags & NODE_FLAG_POWERING_UP) && now - n->power_since >= c->conf->resume_timeout) {
            snprintf(why, sizeof(why), "ResumeTimeout: not registered within %d s",
                     c->conf->resume_timeout);
            if (idle_up(n))
                count_idle(c, n, by_group, by_part, -1);
            resume_failed(c, n, why);
        } else if ((n->flags & NODE_FLAG_POWERING_DOWN) &&
                   now - n->power_since >= c->conf->suspend_timeout) {
            set_off(c, n); /* Slurm's SuspendTimeout: off by now, whatever the provider said */
        } else if (n->state == NODE_DOWN && (n->flags & NODE_FLAG_POWERED_DOWN) &&
                   n->reason_uid == -1 && !backed_off(c, n, now)) {
            return_to_service(c, n);
        } else if (n->state == NODE_DOWN && !(n->flags & NODE_POWER_FLAGS)) {
            suspend(c, n, "DOWN: its machine must not keep running"); /* no leak */
        } else if (n->interrupt_at && now >= n->interrupt_at) {
            n->interrupt_at = 0;
            log_warn("power: %s reclaimed by its provider", n->name);
            evict_jobs(c, n);
        } else if (power_node_on(n) && !(n->flags & NODE_FLAG_POWERING_DOWN)) {
            if (n->njobs > 0 || n->nsessions > 0) {
                n->idle_since = now; /* a live session keeps its node, however long */
            } else if (n->flags & NODE_FLAG_POWER_DOWN_PENDING) {
                suspend(c, n, n->reason && !strcmp(n->reason, "Spot interruption")
                                  ? "spot interruption"
                                  : "POWER_DOWN requested");
            } else if (now - n->idle_since >= idle_time(c, n) &&
                       !warm_needed(c, n, by_group, by_part)) {
                snprintf(why, sizeof(why), "idle for %lld s", (long long)(now - n->idle_since));
                count_idle(c, n, by_group, by_part, -1);
                suspend(c, n, why);
            }
        }
    }
    keep_warm(c, by_group, by_part, now);
    free(by_group);
    free(by_part);
}

void power_job_allocated(struct ctld *c, struct job *job)
{
    job->configuring = false;
    for (int i = 0; i < job->nalloc; i++) {
        struct node *n = job->alloc[i];
        if (power_node_on(n))
            continue;
        job->configuring = true;
        if (n->flags & NODE_FLAG_POWERED_DOWN) {
            char why[64];
            snprintf(why, sizeof(why), "job %u", job->id);
            resume(c, n, why);
        }
    }
    if (job->configuring)
        log_info("job %u: CONFIGURING, waiting for its nodes to boot", job->id);
}

void power_flush(struct ctld *c)
{
    struct power *pw = c->power;
    if (!pw || !pw->ops || (!pw->nresume && !pw->nsuspend))
        return;
    /* take the queues first: a failure below may queue more */
    struct node **rq = pw->resume_q, **sq = pw->suspend_q;
    size_t nr = pw->nresume, ns = pw->nsuspend;
    pw->resume_q = pw->suspend_q = NULL;
    pw->nresume = pw->nsuspend = 0;
    const char **names = xcalloc(nr + ns + 1, sizeof(*names));
    for (size_t i = 0; i < ns; i++)
        names[i] = sq[i]->name;
    if (ns && pw->ops->suspend(pw->ctx, names, ns) < 0)
        log_err("power: provider %s could not suspend %zu node%s", pw->ops->name, ns,
                ns == 1 ? "" : "s");
    for (size_t i = 0; i < nr; i++)
        names[i] = rq[i]->name;
    if (nr && pw->ops->resume(pw->ctx, names, nr) < 0) {
        for (size_t i = 0; i < nr; i++)
            if (rq[i]->flags & NODE_FLAG_POWERING_UP)
                resume_failed(c, rq[i], "provider refused the resume");
    }
    free(names);
    free(rq);
    free(sq);
}

void power_node_registered(struct ctld *c, struct node *n)
{
    struct power *pw = c->power;
    int64_t now = ctld_now();
    if (n->flags & NODE_FLAG_CLOUD) {
        if (n->flags & (NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_UP)) {
            if (n->flags & NODE_FLAG_POWERED_DOWN)
                persist_power_up(c, n, now); /* booted behind our back: it costs all the same */
            else
                log_info("power: %s up after %lld s", n->name, (long long)(now - n->power_since));
            n->flags &= ~(NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_UP);
            n->power_since = now;
            persist_node_update(c, n);
        }
        int gi = group_index(c, n);
        if (pw && gi >= 0 && (size_t)gi < pw->ngroups)
            pw->failures[gi] = 0;
        n->idle_since = now;
        node_update_state(c, n);
    }
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        if (!j->configuring || j->state != JOB_RUNNING || j->completing || !job_on_node(j, n))
            continue;
        bool all = true;
        for (int i = 0; i < j->nalloc && all; i++)
            all = power_node_on(j->alloc[i]);
        if (!all)
            continue;
        j->configuring = false;
        j->start_time = now; /* the time limit starts once the job can run */
        j->last_activity = now;
        persist_job_update(c, j);
        log_info("job %u: nodes up, starting", j->id);
        if (!j->interactive)
            job_launch(c, j);
    }
}

void power_job_cost(struct ctld *c, struct job *job, int64_t end)
{
    if (job->start_time <= 0 || job->configuring || end <= job->start_time)
        return;
    double hours = (double)(end - job->start_time) / 3600.0, cost = 0;
    for (int i = 0; i < job->nalloc; i++) {
        const struct sl_node_group *g = job->alloc[i]->group;
        double share = job->exclusive || g->cpus <= 0 ? 1.0 : (double)job->alloc_cpus / g->cpus;
        if (share > 1)
            share = 1;
        cost += hours * g->price_per_hour * share;
    }
    job->cost += cost;
    budget_charge(c, job->account, cost);
    metrics_job_cost(c, job, cost, end);
}

int power_request(struct ctld *c, struct node *n, const char *what, int uid, char *err,
                  size_t errsize)
{
    struct power *pw = c->power;
    if (!(n->flags & NODE_FLAG_CLOUD) || !pw || !pw->ops) {
        snprintf(err, errsize, "node %s is not in a cloud node group (cloud: true): its power "
                 "is not managed", n->name);
        return SL_E_INVALID_ARGUMENT;
    }
    char detail[200];
    snprintf(detail, sizeof(detail), "node %s: %s", n->name, what);
    persist_event(c, (uid_t)uid, "power", detail);
    if (!strcasecmp(what, "POWER_UP")) {
        if (n->flags & NODE_FLAG_POWERING_DOWN) {
            snprintf(err, errsize, "node %s is powering down; try again once it is down",
                     n->name);
            return SL_E_INVALID_ARGUMENT;
        }
        n->flags &= ~NODE_FLAG_POWER_DOWN_PENDING;
        if (n->flags & NODE_FLAG_POWERED_DOWN) {
            if (n->state == NODE_DOWN) {
                n->state = NODE_UNKNOWN; /* an admin's word ends a back-off */
                free(n->reason);
                n->reason = NULL;
                pw->backoff_until[group_index(c, n)] = 0;
            }
            resume(c, n, "POWER_UP requested");
        }
        n->idle_since = ctld_now();
        return 0;
    }
    bool force = !strcasecmp(what, "POWER_DOWN_FORCE");
    if (strcasecmp(what, "POWER_DOWN") && strcasecmp(what, "POWER_DOWN_ASAP") && !force) {
        snprintf(err, errsize, "invalid power request %s", what);
        return SL_E_INVALID_ARGUMENT;
    }
    if (n->flags & (NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_DOWN))
        return 0;
    if (force)
        evict_jobs(c, n);
    if ((n->flags & NODE_FLAG_POWERING_UP) && n->njobs == 0) {
        suspend(c, n, "POWER_DOWN requested while booting");
        persist_power_down(c, n, ctld_now(), false);
        return 0;
    }
    /* now if idle, else as soon as its jobs and sessions are gone */
    n->flags |= NODE_FLAG_POWER_DOWN_PENDING;
    persist_node_update(c, n);
    if (power_node_on(n) && n->njobs == 0 && n->nsessions == 0)
        suspend(c, n, "POWER_DOWN requested");
    return 0;
}

int power_init(struct ctld *c, char *err, size_t errsize)
{
    return power_init_with(c, NULL, err, errsize);
}

int power_init_with(struct ctld *c, const struct sl_power_ops *builtin, char *err,
                    size_t errsize)
{
    struct power *pw = xcalloc(1, sizeof(*pw));
    int64_t now = ctld_now();
    bool any = false;
    c->power = pw;
    pw->ngroups = c->conf->group_count;
    pw->failures = xcalloc(pw->ngroups + 1, sizeof(int));
    pw->backoff_until = xcalloc(pw->ngroups + 1, sizeof(int64_t));
    for (int i = 0; i < c->nnodes; i++) {
        struct node *n = &c->nodes[i];
        n->idle_since = now; /* a restart gives every node a full idle period */
        if (!(n->flags & NODE_FLAG_CLOUD))
            continue;
        any = true;
        if (!n->power_known) {
            n->flags |= NODE_FLAG_POWERED_DOWN;
            n->power_since = now;
            persist_node_update(c, n);
        }
        node_update_state(c, n);
    }
    if (!any)
        return 0;

    const char *name = builtin ? builtin->name : c->conf->power_provider;
    const char *dir = c->conf->plugin_dir ? c->conf->plugin_dir : PKGLIBDIR;
    char *path = builtin ? xstrdup("(built in)") : xasprintf("%s/provider_%s.so", dir, name);
    if (!builtin && !(pw->dl = dlopen(path, RTLD_NOW | RTLD_LOCAL))) {
        snprintf(err, errsize, "power provider %s: %s", name, dlerror());
        free(path);
        return -1;
    }
    pw->ops = builtin ? builtin : dlsym(pw->dl, SL_POWER_SYMBOL);
    if (!pw->ops || pw->ops->abi != SL_POWER_ABI) {
        snprintf(err, errsize, "power provider %s: %s is not a slurmish provider (ABI %d)", name,
                 path, SL_POWER_ABI);
        pw->ops = NULL;
        free(path);
        return -1;
    }
    pw->dir = xasprintf("%s/power/%s", c->conf->state_dir, name);
    if (sl_mkdir_p(pw->dir, 0700, 0) < 0) {
        snprintf(err, errsize, "power provider %s: cannot create %s: %s", name, pw->dir,
                 strerror(errno));
        pw->ops = NULL;
        free(path);
        return -1;
    }
    pw->env.conf_path = c->conf_path;
    pw->env.conf = (const struct sl_conf *const *)&c->conf;
    pw->env.dir = pw->dir;
    pw->env.log = provider_log;
    pw->env.hostlist = provider_hostlist;
    char *msg = NULL;
    if (!(pw->ctx = pw->ops->init(&pw->env, &msg))) {
        snprintf(err, errsize, "power provider %s: %s", name, msg ? msg : "init failed");
        free(msg);
        pw->ops = NULL;
        free(path);
        return -1;
    }
    log_info("power: provider %s loaded from %s", name, path);
    free(path);
    return 0;
}

void power_fini(struct ctld *c)
{
    struct power *pw = c->power;
    if (!pw)
        return;
    if (pw->ops)
        pw->ops->fini(pw->ctx);
    if (pw->dl)
        dlclose(pw->dl);
    free(pw->failures);
    free(pw->backoff_until);
    free(pw->resume_q);
    free(pw->suspend_q);
    free(pw->dir);
    free(pw);
    c->power = NULL;
}
