/* metrics.c - Prometheus metrics served by slurmish-ctld; see metrics.h.
 *
 * The HTTP server is libmicrohttpd, in its external event loop mode with
 * epoll: no thread of its own, one descriptor for the controller's
 * zmq_poll.  The exposition is rendered on the controller's thread from
 * counters kept up to date by hooks, so a scrape never walks the jobs.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <microhttpd.h>

#include "config.h"
#include "ctld.h"
#include "metrics.h"
#include "power.h"
#include "types.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/xmalloc.h"

/* Bucket bounds, seconds.  Requests and commits are sub-millisecond when
 * all is well; a scheduling pass may take up to its budget and more. */
static const double fast_bounds[] = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
                                     0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5,   5};
static const double sched_bounds[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05,   0.1,     0.25,   0.5,   1,      2.5,   5,    10};
#define NBOUNDS(a) ((int)(sizeof(a) / sizeof((a)[0])))

struct cost_entry {
    char *partition;
    double cost;  /* of runs that ended */
    double shown; /* the last value a scrape got, with running jobs' cost */
};

struct metrics {
    struct MHD_Daemon *httpd;
    int epoll_fd;
    struct histogram requests[SL_MSG_TYPE_COUNT];
    struct histogram sched, commit;
    struct cost_entry *costs; /* per partition name */
    size_t ncosts;
    /* node-seconds, per node (index as c->nodes) */
    double *powered, *busy;
    int nnodes;
    double last_tick;
    uint64_t scrapes;
};

/* ---- text helpers ---- */

void mbuf_printf(struct mbuf *b, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        size_t room = b->cap - b->len;
        va_start(ap, fmt);
        int n = vsnprintf(b->s ? b->s + b->len : NULL, room, fmt, ap);
        va_end(ap);
        if (n < 0)
            fatalx("metrics: cannot format text");
        if ((size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        b->cap = (b->cap ? b->cap * 2 : 4096) + (size_t)n;
        b->s = xrealloc(b->s, b->cap);
    }
}

void mbuf_label_value(struct mbuf *b, const char *v)
{
    for (; v && *v; v++) {
        if (*v == '\\')
            mbuf_printf(b, "\\\\");
        else if (*v == '"')
            mbuf_printf(b, "\\\"");
        else if (*v == '\n')
            mbuf_printf(b, "\\n");
        else
            mbuf_printf(b, "%c", *v);
    }
}

void prom_header(struct mbuf *b, const char *name, const char *type, const char *help)
{
    mbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void histogram_init(struct histogram *h, const double *bounds, int nbounds)
{
    memset(h, 0, sizeof(*h));
    if (nbounds > METRICS_MAX_BUCKETS)
        fatalx("metrics: a histogram of %d buckets (at most %d)", nbounds, METRICS_MAX_BUCKETS);
    h->bounds = bounds;
    h->nbounds = nbounds;
}

void histogram_observe(struct histogram *h, double v)
{
    int i = 0;
    if (v < 0)
        v = 0; /* a clock step: count it, as the shortest time */
    while (i < h->nbounds && v > h->bounds[i])
        i++;
    h->buckets[i]++;
    h->count++;
    h->sum += v;
}

void prom_histogram(struct mbuf *b, const char *name, const char *labels, const struct histogram *h)
{
    const char *sep = labels && *labels ? "," : "";
    uint64_t cum = 0;
    if (!labels)
        labels = "";
    for (int i = 0; i < h->nbounds; i++) {
        cum += h->buckets[i];
        mbuf_printf(b, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, h->bounds[i],
                    (unsigned long long)cum);
    }
    cum += h->buckets[h->nbounds];
    mbuf_printf(b, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long)cum);
    if (*labels) {
        mbuf_printf(b, "%s_sum{%s} %.9g\n", name, labels, h->sum);
        mbuf_printf(b, "%s_count{%s} %llu\n", name, labels, (unsigned long long)h->count);
    } else {
        mbuf_printf(b, "%s_sum %.9g\n", name, h->sum);
        mbuf_printf(b, "%s_count %llu\n", name, (unsigned long long)h->count);
    }
}

/* ---- job counts (the job table's, see job.h) ---- */

static uint32_t count_index(struct job_table *t, const char *partition)
{
    const char *p = partition ? partition : "";
    for (size_t i = 0; i < t->ncounts; i++)
        if (!strcmp(t->counts[i].partition, p))
            return (uint32_t)i;
    t->counts = xrealloc(t->counts, (t->ncounts + 1) * sizeof(*t->counts));
    memset(&t->counts[t->ncounts], 0, sizeof(*t->counts));
    t->counts[t->ncounts].partition = xstrdup(p);
    return (uint32_t)t->ncounts++;
}

void job_counts_add(struct job_table *t, struct job *job)
{
    bool meta = job->array_job_id && job->array_task_id < 0;
    job->cnt_part = count_index(t, job->partition);
    job->cnt_state = job->state == JOB_RUNNING && job->configuring     ? JOB_COUNT_CONFIGURING
                     : job->state >= 0 && job->state < JOB_STATE_COUNT ? job->state
                                                                       : JOB_PENDING;
    /* as squeue -r lists them: a meta record is its pending tasks (none once it ended) */
    job->cnt_weight = meta ? job->array_pending : 1;
    job->cnt_session = job->interactive && job->state == JOB_RUNNING;
    job->cnt_idle = job->cnt_session && job->idle_warned;
    job->cnt_rate = 0;
    if (job->state == JOB_RUNNING && !job->configuring && job->start_time > 0) {
        /* as power_job_cost() will charge it: its share of each node's price */
        for (int i = 0; i < job->nalloc; i++) {
            const struct sl_node_group *g = job->alloc[i]->group;
            double share = job->exclusive || g->cpus <= 0 ? 1.0 : (double)job->alloc_cpus / g->cpus;
            job->cnt_rate += g->price_per_hour * (share > 1 ? 1 : share) / 3600.0;
        }
    }
    struct job_count *jc = &t->counts[job->cnt_part];
    jc->state[job->cnt_state] += job->cnt_weight;
    jc->sessions += job->cnt_session;
    jc->sessions_idle += job->cnt_idle;
    if (job->cnt_rate > 0) {
        job->cnt_start = job->start_time > t->cost_since ? job->start_time : t->cost_since;
        jc->rate += job->cnt_rate;
        jc->rate_start += job->cnt_rate * (double)job->cnt_start;
        jc->rated++;
    }
    job->counted = true;
}

void job_counts_del(struct job_table *t, struct job *job)
{
    if (!job->counted)
        return;
    struct job_count *jc = &t->counts[job->cnt_part];
    if (jc->state[job->cnt_state] < job->cnt_weight || jc->sessions < job->cnt_session ||
        jc->sessions_idle < job->cnt_idle || (job->cnt_rate > 0 && !jc->rated))
        fatalx("job %u: job counts of partition %s would go negative", job->id, jc->partition);
    jc->state[job->cnt_state] -= job->cnt_weight;
    jc->sessions -= job->cnt_session;
    jc->sessions_idle -= job->cnt_idle;
    if (job->cnt_rate > 0) {
        jc->rate -= job->cnt_rate;
        jc->rate_start -= job->cnt_rate * (double)job->cnt_start;
        if (--jc->rated == 0)
            jc->rate = jc->rate_start = 0;
    }
    job->counted = false;
}

void job_counts_sync(struct job_table *t, struct job *job)
{
    /* not in the table (yet: job_insert() counts it), or a copy of a job that is */
    if (!job->counted || job_find(t, job->id) != job)
        return;
    job_counts_del(t, job);
    job_counts_add(t, job);
}

void job_counts_free(struct job_table *t)
{
    for (size_t i = 0; i < t->ncounts; i++)
        free(t->counts[i].partition);
    free(t->counts);
    t->counts = NULL;
    t->ncounts = 0;
}

/* ---- hooks ---- */

double metrics_clock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void metrics_request(struct ctld *c, int msg_type, double seconds)
{
    if (c->metrics && msg_type >= 0 && msg_type < SL_MSG_TYPE_COUNT)
        histogram_observe(&c->metrics->requests[msg_type], seconds);
}

void metrics_sched_pass(struct ctld *c, double seconds)
{
    if (c->metrics)
        histogram_observe(&c->metrics->sched, seconds);
}

void metrics_commit(struct ctld *c, double seconds)
{
    if (c->metrics)
        histogram_observe(&c->metrics->commit, seconds);
}

static struct cost_entry *cost_entry(struct metrics *m, const char *partition);

void metrics_job_cost(struct ctld *c, const struct job *job, double cost, int64_t end)
{
    int64_t from = job->start_time > c->jobs.cost_since ? job->start_time : c->jobs.cost_since;
    if (!c->metrics || cost <= 0 || end <= job->start_time || from >= end)
        return;
    /* only the part of the run since this controller started: the rest was
     * counted (as running) by the one before */
    cost_entry(c->metrics, job->partition)->cost +=
        cost * (double)(end - from) / (double)(end - job->start_time);
}

/* Is the node billed?  Fixed nodes always are (as sreport counts them);
 * a cloud node from its resume until it is powered off. */
static bool node_powered(const struct node *n)
{
    return !(n->flags & NODE_FLAG_CLOUD) || !(n->flags & NODE_FLAG_POWERED_DOWN);
}

/* The share of a powered-on node its jobs hold (what sreport counts busy). */
static double node_busy_share(const struct node *n)
{
    if (!power_node_on(n) || n->njobs <= 0)
        return 0;
    if (n->excl_job || n->group->cpus <= 0)
        return 1;
    double share = (double)n->cpus_used / n->group->cpus;
    return share > 1 ? 1 : share;
}

void metrics_tick(struct ctld *c)
{
    struct metrics *m = c->metrics;
    if (!m)
        return;
    double now = metrics_clock(), dt = now - m->last_tick;
    m->last_tick = now;
    if (dt <= 0)
        return;
    for (int i = 0; i < m->nnodes && i < c->nnodes; i++) {
        const struct node *n = &c->nodes[i];
        if (node_powered(n))
            m->powered[i] += dt;
        m->busy[i] += dt * node_busy_share(n);
    }
}

/* ---- rendering ---- */

static const char *node_state_label(const struct node *n)
{
    if (n->state == NODE_DOWN)
        return "DOWN";
    if (n->flags & NODE_FLAG_DRAIN)
        return n->njobs > 0 ? "DRAINING" : "DRAINED";
    return node_state_name(n->state);
}

static const char *const node_state_labels[] = {"UNKNOWN", "DOWN",     "IDLE",   "ALLOCATED",
                                                "MIXED",   "DRAINING", "DRAINED"};
static const char *const power_labels[] = {"ON", "POWERED_DOWN", "POWERING_UP", "POWERING_DOWN",
                                           "POWER_DOWN"};
#define NSTATES ((int)(sizeof(node_state_labels) / sizeof(node_state_labels[0])))
#define NPOWER ((int)(sizeof(power_labels) / sizeof(power_labels[0])))

static int label_index(const char *const *labels, int n, const char *v)
{
    for (int i = 0; i < n; i++)
        if (!strcmp(labels[i], v))
            return i;
    return 0;
}

static const char *job_state_label(int s)
{
    return s == JOB_COUNT_CONFIGURING ? "CONFIGURING" : job_state_name(s);
}

static void render_jobs(struct ctld *c, struct mbuf *b)
{
    struct job_table *t = &c->jobs;
    prom_header(b, "slurmish_jobs", "gauge",
                "Jobs the controller holds, by partition and state, as squeue -r -t all lists "
                "them (pending array tasks one each; finished jobs for min_job_age).");
    for (size_t i = 0; i < t->ncounts; i++) {
        const struct job_count *jc = &t->counts[i];
        uint64_t total = 0;
        for (int s = 0; s < JOB_COUNT_STATES; s++)
            total += jc->state[s];
        /* a partition removed from the configuration, with nothing left in it */
        if (!total && !part_find(c, jc->partition))
            continue;
        for (int s = 0; s < JOB_COUNT_STATES; s++) {
            mbuf_printf(b, "slurmish_jobs{partition=\"");
            mbuf_label_value(b, jc->partition);
            mbuf_printf(b, "\",state=\"%s\"} %llu\n", job_state_label(s),
                        (unsigned long long)jc->state[s]);
        }
    }
    /* configured partitions with no job yet */
    for (int p = 0; p < c->nparts; p++) {
        const char *name = c->parts[p].conf->name;
        bool seen = false;
        for (size_t i = 0; i < t->ncounts && !seen; i++)
            seen = !strcmp(t->counts[i].partition, name);
        for (int s = 0; !seen && s < JOB_COUNT_STATES; s++) {
            mbuf_printf(b, "slurmish_jobs{partition=\"");
            mbuf_label_value(b, name);
            mbuf_printf(b, "\",state=\"%s\"} 0\n", job_state_label(s));
        }
    }

    prom_header(b, "slurmish_interactive_sessions", "gauge",
                "Running interactive allocations (salloc, srun --pty) by partition; idle: "
                "warned as idle past the partition's session_idle_timeout.");
    for (size_t i = 0; i < t->ncounts; i++) {
        const struct job_count *jc = &t->counts[i];
        if (!jc->sessions && !part_find(c, jc->partition))
            continue;
        static const char *const st[] = {"active", "idle"};
        uint64_t v[] = {jc->sessions - jc->sessions_idle, jc->sessions_idle};
        for (int k = 0; k < 2; k++) {
            mbuf_printf(b, "slurmish_interactive_sessions{partition=\"");
            mbuf_label_value(b, jc->partition);
            mbuf_printf(b, "\",state=\"%s\"} %llu\n", st[k], (unsigned long long)v[k]);
        }
    }
}

static void render_nodes(struct ctld *c, struct mbuf *b)
{
    struct metrics *m = c->metrics;
    size_t ng = c->conf->group_count;
    uint64_t *cnt = xcalloc(ng * NSTATES * NPOWER + 1, sizeof(*cnt));
    uint64_t *steps = xcalloc(ng + 1, sizeof(*steps));
    double *powered = xcalloc(ng + 1, sizeof(*powered)), *busy = xcalloc(ng + 1, sizeof(*busy));

    for (int i = 0; i < c->nnodes; i++) {
        const struct node *n = &c->nodes[i];
        long g = n->group - c->conf->groups;
        if (g < 0 || (size_t)g >= ng)
            continue;
        int si = label_index(node_state_labels, NSTATES, node_state_label(n));
        int pi = label_index(power_labels, NPOWER, node_power_name(n->flags));
        cnt[((size_t)g * NSTATES + (size_t)si) * NPOWER + (size_t)pi]++;
        steps[g] += n->nsessions > 0 ? (uint64_t)n->nsessions : 0;
        if (i < m->nnodes) {
            powered[g] += m->powered[i];
            busy[g] += m->busy[i];
        }
    }
    prom_header(b, "slurmish_nodes", "gauge",
                "Nodes by node group, state (Slurm's base state, DRAINING/DRAINED for drained "
                "nodes) and power state.");
    for (size_t g = 0; g < ng; g++) {
        const struct sl_node_group *grp = &c->conf->groups[g];
        for (int s = 0; s < NSTATES; s++)
            for (int p = 0; p < NPOWER; p++) {
                /* fixed nodes have no power states: leave out what cannot occur */
                if (!grp->cloud && p > 0)
                    continue;
                mbuf_printf(b, "slurmish_nodes{node_group=\"");
                mbuf_label_value(b, grp->name);
                mbuf_printf(b, "\",state=\"%s\",power=\"%s\"} %llu\n", node_state_labels[s],
                            power_labels[p],
                            (unsigned long long)
                                cnt[((size_t)g * NSTATES + (size_t)s) * NPOWER + (size_t)p]);
            }
    }
    prom_header(b, "slurmish_node_live_steps", "gauge",
                "Live steps (srun steps and interactive sessions) the node daemons report, by "
                "node group; a node with one is never powered down.");
    for (size_t g = 0; g < ng; g++) {
        mbuf_printf(b, "slurmish_node_live_steps{node_group=\"");
        mbuf_label_value(b, c->conf->groups[g].name);
        mbuf_printf(b, "\"} %llu\n", (unsigned long long)steps[g]);
    }
    prom_header(b, "slurmish_node_powered_seconds_total", "counter",
                "Node-seconds powered (billed) since the controller started, by node group: "
                "fixed nodes always, cloud nodes from resume to power-off.");
    for (size_t g = 0; g < ng; g++) {
        mbuf_printf(b, "slurmish_node_powered_seconds_total{node_group=\"");
        mbuf_label_value(b, c->conf->groups[g].name);
        mbuf_printf(b, "\"} %.3f\n", powered[g]);
    }
    prom_header(b, "slurmish_node_busy_seconds_total", "counter",
                "Node-seconds busy since the controller started, by node group: the share of "
                "each powered-on node that jobs hold (CPUs, or all of it for --exclusive).");
    for (size_t g = 0; g < ng; g++) {
        mbuf_printf(b, "slurmish_node_busy_seconds_total{node_group=\"");
        mbuf_label_value(b, c->conf->groups[g].name);
        mbuf_printf(b, "\"} %.3f\n", busy[g]);
    }
    free(cnt);
    free(steps);
    free(powered);
    free(busy);
}

static struct cost_entry *cost_entry(struct metrics *m, const char *partition)
{
    const char *p = partition ? partition : "";
    for (size_t i = 0; i < m->ncosts; i++)
        if (!strcmp(m->costs[i].partition, p))
            return &m->costs[i];
    m->costs = xrealloc(m->costs, (m->ncosts + 1) * sizeof(*m->costs));
    memset(&m->costs[m->ncosts], 0, sizeof(*m->costs));
    m->costs[m->ncosts].partition = xstrdup(p);
    return &m->costs[m->ncosts++];
}

static void render_costs(struct ctld *c, struct mbuf *b)
{
    struct metrics *m = c->metrics;
    struct job_table *t = &c->jobs;
    double now = (double)ctld_now();
    for (int p = 0; p < c->nparts; p++)
        cost_entry(m, c->parts[p].conf->name); /* every partition has a series */
    for (size_t i = 0; i < t->ncounts; i++)
        if (t->counts[i].rated)
            cost_entry(m, t->counts[i].partition);
    prom_header(b, "slurmish_job_cost_total", "counter",
                "Cost (price_per_hour units) of jobs since the controller started, by "
                "partition: each job's share of its nodes' hours, as sacct's Cost, running "
                "jobs included.");
    for (size_t i = 0; i < m->ncosts; i++) {
        struct cost_entry *e = &m->costs[i];
        double v = e->cost;
        for (size_t k = 0; k < t->ncounts; k++) {
            const struct job_count *jc = &t->counts[k];
            if (jc->rated && !strcmp(jc->partition, e->partition) &&
                jc->rate * now > jc->rate_start)
                v += jc->rate * now - jc->rate_start;
        }
        /* a run's final charge may fall a little short of what it had accrued
         * (it ends when the node says, a price may have changed): a counter
         * never goes down, so it waits until it has caught up */
        if (v < e->shown)
            v = e->shown;
        e->shown = v;
        if (!v && !part_find(c, e->partition))
            continue;
        mbuf_printf(b, "slurmish_job_cost_total{partition=\"");
        mbuf_label_value(b, e->partition);
        mbuf_printf(b, "\"} %.9g\n", v);
    }
}

void metrics_render(struct ctld *c, struct mbuf *b)
{
    struct metrics *m = c->metrics;
    metrics_tick(c);
    prom_header(b, "slurmish_build_info", "gauge", "Version of slurmish-ctld (always 1).");
    mbuf_printf(b, "slurmish_build_info{version=\"");
    mbuf_label_value(b, PACKAGE_VERSION);
    mbuf_printf(b, "\",cluster=\"");
    mbuf_label_value(b, c->conf->cluster_name);
    mbuf_printf(b, "\"} 1\n");
    prom_header(b, "slurmish_ctld_start_time_seconds", "gauge",
                "When slurmish-ctld started, in seconds since the Unix epoch.");
    mbuf_printf(b, "slurmish_ctld_start_time_seconds %lld\n", (long long)c->start_time);
    render_jobs(c, b);
    render_nodes(c, b);
    render_costs(c, b);

    prom_header(b, "slurmish_scheduler_pass_duration_seconds", "histogram",
                "Duration of each scheduling pass (a pass that uses up sched_budget_ms yields "
                "and counts again when it resumes).");
    prom_histogram(b, "slurmish_scheduler_pass_duration_seconds", "", &m->sched);
    prom_header(b, "slurmish_request_duration_seconds", "histogram",
                "Time to dispatch a request to the controller (decode, check, handle; the "
                "commit is slurmish_db_commit_duration_seconds), by message type.");
    for (int t = 0; t < SL_MSG_TYPE_COUNT; t++) {
        const struct sl_msg_info *info = sl_msg_info(t);
        if (!m->requests[t].count || !info)
            continue;
        struct mbuf lab = {0};
        mbuf_printf(&lab, "type=\"");
        mbuf_label_value(&lab, info->name);
        mbuf_printf(&lab, "\"");
        prom_histogram(b, "slurmish_request_duration_seconds", lab.s, &m->requests[t]);
        free(lab.s);
    }
    prom_header(b, "slurmish_db_commit_duration_seconds", "histogram",
                "Duration of each SQLite group commit (one per loop turn with changes).");
    prom_histogram(b, "slurmish_db_commit_duration_seconds", "", &m->commit);
    prom_header(b, "slurmish_metrics_scrapes_total", "counter",
                "Requests for /metrics answered, this one included.");
    mbuf_printf(b, "slurmish_metrics_scrapes_total %llu\n", (unsigned long long)++m->scrapes);
}

/* ---- HTTP ---- */

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned int status,
                                  const char *ctype, char *body, size_t len)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    struct ctld *c = cls;
    static int first_call;
    (void)version;
    (void)upload_data;
    if (!*con_cls) {
        /* headers only so far: answer on the next call (a body, if any, is refused) */
        *con_cls = &first_call;
        return MHD_YES;
    }
    if (*upload_data_size) {
        *upload_data_size = 0; /* discard */
        return MHD_YES;
    }
    const char *text = "text/plain; charset=utf-8";
    if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
        return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text,
                          xstrdup("only GET and HEAD are served\n"),
                          strlen("only GET and HEAD are served\n"));
    if (!strcmp(url, "/")) {
        char *s = xstrdup("slurmish-ctld: metrics are at /metrics\n");
        return reply_text(conn, MHD_HTTP_OK, text, s, strlen(s));
    }
    if (strcmp(url, "/metrics")) {
        char *s = xstrdup("not found: metrics are at /metrics\n");
        return reply_text(conn, MHD_HTTP_NOT_FOUND, text, s, strlen(s));
    }
    struct mbuf b = {0};
    metrics_render(c, &b);
    return reply_text(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.s, b.len);
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char msg[512];
    (void)cls;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    size_t n = strlen(msg);
    while (n && msg[n - 1] == '\n')
        msg[--n] = 0;
    log_warn("metrics: %s", msg);
}

int metrics_create(struct ctld *c, char *err, size_t errsize)
{
    struct sockaddr_storage sa;
    socklen_t salen;
    sl_error_t perr;
    const char *addr = c->conf->metrics_address;

    if (!addr)
        return 0;
    if (parse_listen_address(addr, &sa, &salen, &perr) < 0) {
        snprintf(err, errsize, "controller metrics_address: %s", perr.text);
        return -1;
    }
    struct metrics *m = xcalloc(1, sizeof(*m));
    m->epoll_fd = -1;
    for (int t = 0; t < SL_MSG_TYPE_COUNT; t++)
        histogram_init(&m->requests[t], fast_bounds, NBOUNDS(fast_bounds));
    histogram_init(&m->commit, fast_bounds, NBOUNDS(fast_bounds));
    histogram_init(&m->sched, sched_bounds, NBOUNDS(sched_bounds));
    m->nnodes = c->nnodes;
    m->powered = xcalloc((size_t)c->nnodes + 1, sizeof(double));
    m->busy = xcalloc((size_t)c->nnodes + 1, sizeof(double));
    m->last_tick = metrics_clock();

    unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
    if (sa.ss_family == AF_INET6)
        flags |= MHD_USE_IPv6;
    errno = 0;
    /* the port argument only names the port in libmicrohttpd's messages */
    uint16_t bind_port = ntohs(sa.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&sa)->sin6_port
                                                        : ((struct sockaddr_in *)&sa)->sin_port);
    m->httpd = MHD_start_daemon(
        flags, bind_port, NULL, NULL, on_request, c, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT, (unsigned int)32,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
    if (!m->httpd) {
        snprintf(err, errsize, "metrics: cannot listen on %s: %s", addr,
                 errno ? strerror(errno) : "libmicrohttpd could not start");
        free(m->powered);
        free(m->busy);
        free(m);
        return -1;
    }
    const union MHD_DaemonInfo *fdi = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_EPOLL_FD);
    const union MHD_DaemonInfo *port = MHD_get_daemon_info(m->httpd, MHD_DAEMON_INFO_BIND_PORT);
    if (!fdi || fdi->epoll_fd < 0) {
        MHD_stop_daemon(m->httpd);
        free(m->powered);
        free(m->busy);
        free(m);
        snprintf(err, errsize, "metrics: libmicrohttpd has no epoll descriptor");
        return -1;
    }
    m->epoll_fd = fdi->epoll_fd;
    c->metrics = m;
    /* the port actually bound: port 0 in the address means any free one */
    char host[INET6_ADDRSTRLEN] = "?";
    bool v6 = sa.ss_family == AF_INET6;
    inet_ntop(sa.ss_family,
              v6 ? (void *)&((struct sockaddr_in6 *)&sa)->sin6_addr
                 : (void *)&((struct sockaddr_in *)&sa)->sin_addr,
              host, sizeof(host));
    log_info("metrics: serving http://%s%s%s:%u/metrics", v6 ? "[" : "", host, v6 ? "]" : "",
             port ? (unsigned)port->port : 0U);
    return 0;
}

void metrics_destroy(struct ctld *c)
{
    struct metrics *m = c->metrics;
    if (!m)
        return;
    MHD_stop_daemon(m->httpd);
    for (size_t i = 0; i < m->ncosts; i++)
        free(m->costs[i].partition);
    free(m->costs);
    free(m->powered);
    free(m->busy);
    free(m);
    c->metrics = NULL;
}

int metrics_poll_fd(struct ctld *c)
{
    return c->metrics ? c->metrics->epoll_fd : -1;
}

int metrics_timeout_ms(struct ctld *c)
{
    MHD_UNSIGNED_LONG_LONG t;
    if (!c->metrics || MHD_get_timeout(c->metrics->httpd, &t) != MHD_YES)
        return -1;
    return t > 60000 ? 60000 : (int)t;
}

void metrics_serve(struct ctld *c)
{
    if (c->metrics && MHD_run(c->metrics->httpd) != MHD_YES)
        log_warn("metrics: serving HTTP failed");
}
