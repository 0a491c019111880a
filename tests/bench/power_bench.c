/* power_bench.c - replay a bursty day of batch jobs and interactive
 * sessions against the real scheduler and power manager, in simulated
 * time, and print what each power policy costs.
 *
 *   power_bench [--smoke] [--seed N] [--boot SECONDS]
 *
 * The controller code is the real one (sched.c, power.c, cron.c, step.c's
 * idle-session check), driven by a simulated clock (ctld_clock_override)
 * and a simulated cloud linked in as the power provider: a resumed node
 * "registers" after --boot seconds (default 90), a suspended one is off 30
 * seconds later.  Nodes heartbeat, jobs end after their run time, and a
 * session's terminal is used in bursts with idle gaps (meetings, lunch).
 *
 * Policies, each a full day from the same workload:
 *   slurmish        idle_time 10 min; a node under a live session stays up
 *   slurmish+warm   the same, and 2 warm nodes for the interactive partition
 *   fixed-idle      the plain policy: anything idle 30 min ends (idle
 *                   sessions included, so their nodes can go), idle_time
 *                   10 min
 *   always-on       every node up all day (a fixed cluster of peak size)
 * For each: node-hours powered, the lower bound (the work's own
 * node-hours: run time x share of the node), powered/bound, cost, median
 * and p95 wait from submit to start (boots included), and sessions killed.
 * Figures only: nothing here asserts a time or a cost.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ctld.h"
#include "persist.h"
#include "power.h"
#include "power/provider.h"
#include "store/db.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define DAY 86400
#define BATCH_NODES 48
#define BATCH_CPUS 8
#define SESS_NODES 24
#define SESS_CPUS 4
#define PRICE 0.40

/* ---- workload ---- */

struct work {
    int64_t submit;   /* seconds after midnight */
    int64_t runtime;  /* batch: run time; session: its length */
    int cpus;
    bool session;
    /* session activity: active for `active` s, then idle for `gap` s, repeating */
    int active, gap;
};

static unsigned long long rng_state;
static double rnd(void) /* [0, 1) */
{
    rng_state = rng_state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static int64_t rexp(double mean, int64_t lo, int64_t hi)
{
    double u = rnd();
    int64_t v = (int64_t)(-mean * log(1 - u));
    return v < lo ? lo : v > hi ? hi : v;
}

static struct work *make_workload(unsigned seed, bool smoke, size_t *n)
{
    size_t cap = 4096, k = 0;
    struct work *w = xcalloc(cap, sizeof(*w));
    rng_state = seed * 2654435761ULL + 1;
    /* bursts: a pipeline at 09:00, an afternoon sweep, a nightly run */
    struct {
        int at, count;
    } bursts[] = {{9 * 3600, 300}, {14 * 3600, 200}, {22 * 3600, 400}};
    double scale = smoke ? 0.1 : 1.0;
    for (size_t b = 0; b < 3; b++) {
        int count = (int)(bursts[b].count * scale);
        for (int i = 0; i < count; i++) {
            if (k == cap)
                w = xrealloc(w, (cap *= 2) * sizeof(*w));
            w[k++] = (struct work){.submit = bursts[b].at + (int64_t)(rnd() * 600),
                                   .runtime = rexp(1200, 60, 3 * 3600),
                                   .cpus = 1 << (int)(rnd() * 4)};
        }
    }
    /* a trickle all day: ~10 jobs an hour */
    for (int64_t t = 0; t < DAY; t += rexp(360 / scale, 1, 7200)) {
        if (k == cap)
            w = xrealloc(w, (cap *= 2) * sizeof(*w));
        w[k++] = (struct work){.submit = t, .runtime = rexp(900, 60, 7200),
                               .cpus = 1 + (int)(rnd() * 4)};
    }
    /* 40 data scientists open a session between 08:00 and 11:00, for 3-9 hours */
    int people = smoke ? 6 : 40;
    for (int i = 0; i < people; i++) {
        if (k == cap)
            w = xrealloc(w, (cap *= 2) * sizeof(*w));
        w[k++] = (struct work){.submit = 8 * 3600 + (int64_t)(rnd() * 3 * 3600),
                               .runtime = 3 * 3600 + (int64_t)(rnd() * 6 * 3600),
                               .cpus = 1 + (int)(rnd() * 2),
                               .session = true,
                               .active = 600 + (int)(rnd() * 1800),
                               .gap = 900 + (int)(rnd() * 6300)};
    }
    *n = k;
    return w;
}

/* ---- the simulated cloud (a provider linked in) ---- */

static struct ctld *g_c;
static int64_t *boot_at, *off_at;
static int g_boot = 90;

static void *sim_init(const struct sl_power_env *env, char **err)
{
    (void)env;
    (void)err;
    return g_c;
}

static int sim_resume(void *ctx, const char *const *nodes, size_t n)
{
    struct ctld *c = ctx;
    for (size_t i = 0; i < n; i++) {
        struct node *nd = node_find(c, nodes[i]);
        boot_at[nd->index] = ctld_now() + g_boot;
        off_at[nd->index] = 0;
    }
    return 0;
}

static int sim_suspend(void *ctx, const char *const *nodes, size_t n)
{
    struct ctld *c = ctx;
    for (size_t i = 0; i < n; i++) {
        struct node *nd = node_find(c, nodes[i]);
        off_at[nd->index] = ctld_now() + 30;
        boot_at[nd->index] = 0;
    }
    return 0;
}

static int sim_poll(void *ctx, struct sl_power_event *ev, int max)
{
    struct ctld *c = ctx;
    int k = 0;
    for (int i = 0; i < c->nnodes && k < max; i++) {
        if (off_at[i] && ctld_now() >= off_at[i]) {
            memset(&ev[k], 0, sizeof(ev[k]));
            ev[k].kind = SL_PWR_EV_OFF;
            snprintf(ev[k].node, sizeof(ev[k].node), "%s", c->nodes[i].name);
            k++;
            off_at[i] = 0;
        }
    }
    return k;
}

static void sim_fini(void *ctx)
{
    (void)ctx;
}

static const struct sl_power_ops sim_ops = {
    .abi = SL_POWER_ABI,
    .name = "sim",
    .init = sim_init,
    .resume = sim_resume,
    .suspend = sim_suspend,
    .poll = sim_poll,
    .fini = sim_fini,
};

/* ---- one day under one policy ---- */

struct result {
    double powered_h, bound_h, cost;
    int killed, sessions, jobs_done, jobs;
    double wait_p50, wait_p95, sess_wait_p50;
};

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return x < y ? -1 : x > y;
}

static struct result run_day(const struct work *w, size_t nw, const char *policy, int64_t day0)
{
    char dir[] = "/tmp/slurmish-powerbench-XXXXXX";
    struct ctld ctx, *c = &ctx;
    char *errors = NULL, perr[256];
    sl_error_t err;
    bool fixed = !strcmp(policy, "fixed-idle"), warm = !strcmp(policy, "slurmish+warm");
    bool always = !strcmp(policy, "always-on");
    struct result res = {0};

    if (!mkdtemp(dir))
        fatal("mkdtemp");
    char *yaml = xasprintf(
        /* finished jobs stay in memory (min_job_age): the bench reads them at the end */
        "controller: {state_dir: %s, sched_budget_ms: 60000, node_timeout: 60,"
        " min_job_age: 604800}\n"
        "power: {idle_time: 600, resume_timeout: 900}\n"
        "node_groups:\n"
        "  - {name: b, nodes: \"b[1-%d]\", cpus: %d, memory: 32G, cloud: %s,"
        " price_per_hour: %g}\n"
        "  - {name: s, nodes: \"s[1-%d]\", cpus: %d, memory: 16G, cloud: %s,"
        " price_per_hour: %g}\n"
        "partitions:\n"
        "  - {name: batch, node_groups: [b], default: true}\n"
        "  - {name: interactive, node_groups: [s]%s%s}\n",
        dir, BATCH_NODES, BATCH_CPUS, always ? "false" : "true", PRICE, SESS_NODES, SESS_CPUS,
        always ? "false" : "true", PRICE, warm ? ", warm_nodes: 2" : "",
        fixed ? ", session_idle_timeout: 30:00, session_idle_warning: 1" : "");
    memset(c, 0, sizeof(*c));
    if (sl_conf_load_string(yaml, strlen(yaml), "bench.yaml", &c->conf, &errors) < 0)
        fatalx("config: %s", errors);
    job_table_init(&c->jobs);
    nodes_create(c);
    char *db = xasprintf("%s/bench.db", dir);
    if (persist_open(c, db, &err) < 0)
        fatalx("%s", err.text);
    g_c = c;
    boot_at = xcalloc((size_t)c->nnodes, sizeof(*boot_at));
    off_at = xcalloc((size_t)c->nnodes, sizeof(*off_at));
    ctld_clock_override = day0;
    c->start_time = day0;
    if (power_init_with(c, &sim_ops, perr, sizeof(perr)) < 0)
        fatalx("%s", perr);
    for (int i = 0; always && i < c->nnodes; i++) {
        /* a fixed cluster: every node registered from the start */
        c->nodes[i].registered = true;
        c->nodes[i].state = NODE_IDLE;
        c->nodes[i].last_heartbeat = day0;
    }

    struct job **jobs = xcalloc(nw, sizeof(*jobs));
    int64_t *waits = xcalloc(nw + 1, sizeof(*waits)), *swaits = xcalloc(nw + 1, sizeof(*swaits));
    size_t nwaits = 0, nswaits = 0, next = 0;
    /* submission order */
    size_t *order = xcalloc(nw, sizeof(*order));
    for (size_t i = 0; i < nw; i++)
        order[i] = i;
    for (size_t i = 1; i < nw; i++) /* insertion sort: small n, stable */
        for (size_t k = i; k > 0 && w[order[k]].submit < w[order[k - 1]].submit; k--) {
            size_t t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    int64_t node_seconds = 0;
    double bound_s = 0;
    int64_t horizon = DAY + 6 * 3600; /* the night run finishes, nodes go idle */

    for (int64_t t = 0; t < horizon; t++) {
        int64_t now = day0 + t;
        ctld_clock_override = now;
        /* submissions */
        while (next < nw && w[order[next]].submit <= t) {
            const struct work *x = &w[order[next]];
            struct job *j = xcalloc(1, sizeof(*j));
            j->id = (uint32_t)(order[next] + 1);
            j->name = xstrdup(x->session ? "session" : "batch");
            j->user = xstrdup("u");
            j->group = xstrdup("u");
            j->partition = xstrdup(x->session ? "interactive" : "batch");
            j->state = JOB_PENDING;
            j->submit_time = now;
            j->time_limit = x->runtime * 2 + 600;
            j->nodes_req = 1;
            j->ntasks = 1;
            j->cpus_per_task = x->cpus;
            j->interactive = true; /* nothing to launch: the bench plays the job */
            j->work_dir = xstrdup("/tmp");
            j->cancelled_by = -1;
            j->pending_end_state = -1;
            job_insert(&c->jobs, j);
            job_queue_add(&c->jobs, j);
            jobs[order[next]] = j;
            c->sched_needed = true;
            next++;
        }
        /* nodes that finished booting register; nodes that are up heartbeat */
        for (int i = 0; i < c->nnodes; i++) {
            struct node *n = &c->nodes[i];
            if (boot_at[i] && now >= boot_at[i]) {
                boot_at[i] = 0;
                n->registered = true;
                n->registered_at = now;
                n->last_heartbeat = now;
                if (n->state == NODE_UNKNOWN || n->state == NODE_DOWN)
                    n->state = NODE_IDLE;
                node_update_state(c, n);
                power_node_registered(c, n);
            }
            if (n->registered)
                n->last_heartbeat = now;
            n->nsessions = 0;
        }
        /* running work: sessions' activity, ends */
        for (size_t i = 0; i < nw; i++) {
            struct job *j = jobs[i];
            if (!j || j->state != JOB_RUNNING || j->configuring)
                continue;
            const struct work *x = &w[i];
            int64_t ran = now - j->start_time;
            if (x->session) {
                j->alloc[0]->nsessions++;
                if (ran % (x->active + x->gap) < x->active)
                    j->last_activity = now; /* typing */
            }
            if (ran >= x->runtime) {
                j->end_time = now;
                job_set_final(c, j, JOB_COMPLETED, REASON_NONE);
            }
        }
        cron_run(c); /* time limits, idle sessions, node timeouts, power_tick */
        if (c->sched_needed)
            sched_pass(c);
        power_flush(c);
        if (t % 60 == 0 && sl_db_commit(c->db, &err) < 0)
            fatalx("%s", err.text);
        for (int i = 0; i < c->nnodes; i++)
            if (always ? t < DAY : !(c->nodes[i].flags & NODE_FLAG_POWERED_DOWN))
                node_seconds++;
    }
    /* outcomes */
    for (size_t i = 0; i < nw; i++) {
        struct job *j = jobs[i];
        const struct work *x = &w[i];
        int cpus = x->session ? SESS_CPUS : BATCH_CPUS;
        if (!j)
            continue;
        res.jobs++;
        if (x->session)
            res.sessions++;
        if (j->state == JOB_TIMEOUT && x->session)
            res.killed++;
        if (j->state == JOB_COMPLETED)
            res.jobs_done++;
        if (j->start_time > 0 || j->state == JOB_COMPLETED || j->state == JOB_TIMEOUT) {
            int64_t ran = (j->end_time ? j->end_time : day0 + horizon) - j->start_time;
            bound_s += (double)(ran < x->runtime ? ran : x->runtime) * x->cpus / cpus;
            waits[nwaits++] = j->start_time - (day0 + x->submit);
            if (x->session)
                swaits[nswaits++] = j->start_time - (day0 + x->submit);
        }
    }
    qsort(waits, nwaits, sizeof(*waits), cmp_i64);
    res.wait_p50 = nwaits ? (double)waits[nwaits / 2] : 0;
    res.wait_p95 = nwaits ? (double)waits[nwaits * 95 / 100] : 0;
    qsort(swaits, nswaits, sizeof(*swaits), cmp_i64);
    res.sess_wait_p50 = nswaits ? (double)swaits[nswaits / 2] : 0;
    res.powered_h = (double)node_seconds / 3600.0;
    res.bound_h = bound_s / 3600.0;
    res.cost = res.powered_h * PRICE;

    /* teardown (the jobs are owned by the table) */
    power_fini(c);
    sl_db_rollback(c->db);
    persist_close(c);
    job_table_free(&c->jobs);
    nodes_destroy(c);
    sl_conf_destroy(c->conf);
    free(jobs);
    free(waits);
    free(swaits);
    free(order);
    free(boot_at);
    free(off_at);
    char *cmd = xasprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        log_warn("could not remove %s", dir);
    free(cmd);
    free(db);
    free(yaml);
    ctld_clock_override = 0;
    return res;
}

int main(int argc, char **argv)
{
    bool smoke = false;
    unsigned seed = 1;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--smoke"))
            smoke = true;
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = (unsigned)atoi(argv[++i]);
        else if (!strcmp(argv[i], "--boot") && i + 1 < argc)
            g_boot = atoi(argv[++i]);
        else {
            fprintf(stderr, "usage: power_bench [--smoke] [--seed N] [--boot SECONDS]\n");
            return 2;
        }
    }
    log_init("power_bench", LOG_LVL_ERROR);
    size_t nw;
    struct work *w = make_workload(seed, smoke, &nw);
    /* midnight, local time, of a fixed day: the same replay every run */
    int64_t day0 = 1764547200; /* 2025-12-01T00:00:00Z */
    printf("power_bench: %zu jobs and sessions over a simulated day (seed %u, boot %d s); "
           "%d batch nodes x %d CPUs, %d interactive nodes x %d CPUs, %.2f per node-hour\n",
           nw, seed, g_boot, BATCH_NODES, BATCH_CPUS, SESS_NODES, SESS_CPUS, PRICE);
    printf("%-14s %11s %10s %7s %9s %9s %9s %10s %8s %7s\n", "policy", "node-hours",
           "lower-bnd", "ratio", "cost", "wait-p50", "wait-p95", "sess-wait", "sessions",
           "killed");
    const char *policies[] = {"slurmish", "slurmish+warm", "fixed-idle", "always-on"};
    for (size_t p = 0; p < 4; p++) {
        struct result r = run_day(w, nw, policies[p], day0);
        printf("%-14s %11.1f %10.1f %7.2f %9.2f %8.0fs %8.0fs %9.0fs %8d %7d\n", policies[p],
               r.powered_h, r.bound_h, r.bound_h > 0 ? r.powered_h / r.bound_h : 0, r.cost,
               r.wait_p50, r.wait_p95, r.sess_wait_p50, r.sessions, r.killed);
        if (r.jobs_done + r.killed < r.jobs)
            printf("  (%d of %d jobs did not finish within the replay)\n",
                   r.jobs - r.jobs_done - r.killed, r.jobs);
    }
    free(w);
    return 0;
}
