/* report.c - cost_report: money and use over a period, for sreport.
 *
 * by user | account | partition: jobs, CPU-hours and cost of the jobs
 * that ran in [start, end) (finished ones from SQLite, running ones from
 * memory), each counted for the part of its run inside the window.  For
 * accounts with a budget, the spend of the current budget period is
 * added.  by cluster: per node group, node-hours powered (cloud groups:
 * from the node_power intervals; fixed groups: the window, from when cost
 * records began) and busy
 * (the jobs' shares of their nodes), what each cost, and the idle cost
 * (powered but unused).
 */
#include <stdlib.h>
#include <string.h>

#include "budget.h"
#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/xmalloc.h"

struct report {
    struct ctld *c;
    const char *by;
    int64_t start, end;
    json_t *rows;   /* name -> {jobs, cpu_hours, cost} */
    double *powered_h, *busy_h, *busy_cost; /* per node group */
};

static double overlap_hours(int64_t a, int64_t b, int64_t start, int64_t end)
{
    if (a < start)
        a = start;
    if (b > end)
        b = end;
    return b > a ? (double)(b - a) / 3600.0 : 0;
}

static int group_of(struct ctld *c, const char *node)
{
    struct node *n = node_find(c, node);
    return n ? (int)(n->group - c->conf->groups) : -1;
}

/* One job's run [from, to) costing `cost` on the comma list `nodes`. */
static void add_job(struct report *r, const char *user, const char *account,
                    const char *partition, double cost, int64_t from, int64_t to, int cpus,
                    const char *nodes, bool exclusive)
{
    double in = overlap_hours(from, to, r->start, r->end);
    double run = to > from ? (double)(to - from) / 3600.0 : 0;
    int nnodes = 0;
    if (in <= 0)
        return;
    char *copy = xstrdup(nodes ? nodes : ""), *save = NULL;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        nnodes++;
        int gi = group_of(r->c, tok);
        if (gi < 0)
            continue;
        const struct sl_node_group *g = &r->c->conf->groups[gi];
        double share = exclusive || g->cpus <= 0 ? 1.0 : (double)cpus / g->cpus;
        if (share > 1)
            share = 1;
        r->busy_h[gi] += in * share;
        r->busy_cost[gi] += in * share * g->price_per_hour;
    }
    free(copy);
    const char *key = !strcmp(r->by, "account") ? (account && *account ? account : "(none)")
                      : !strcmp(r->by, "partition") ? partition
                                                    : user;
    json_t *row = json_object_get(r->rows, key ? key : "?");
    if (!row) {
        row = json_pack("{s:s, s:i, s:f, s:f}", "name", key ? key : "?", "jobs", 0, "cpu_hours",
                        0.0, "cost", 0.0);
        json_object_set_new(r->rows, key ? key : "?", row);
    }
    json_object_set_new(row, "jobs", json_integer(json_integer_value(json_object_get(row, "jobs")) + 1));
    json_object_set_new(row, "cpu_hours", json_real(json_real_value(json_object_get(row, "cpu_hours")) +
                                                    in * cpus * (nnodes ? nnodes : 1)));
    json_object_set_new(row, "cost", json_real(json_real_value(json_object_get(row, "cost")) +
                                               (run > 0 ? cost * in / run : 0)));
}

static void add_row(const struct cost_job_row *row, void *arg)
{
    add_job(arg, row->user, row->account, row->partition, row->cost, row->start_time,
            row->end_time, row->alloc_cpus, row->alloc_nodes, row->exclusive);
}

static void add_power(const char *node, const char *group, double price, int64_t up,
                      int64_t down, void *arg)
{
    struct report *r = arg;
    (void)price;
    (void)group;
    int gi = group_of(r->c, node);
    if (gi >= 0)
        r->powered_h[gi] += overlap_hours(up, down ? down : ctld_now(), r->start, r->end);
}

void cost_report_handle(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body;
    const char *by = json_string_value(json_object_get(body, "by"));
    int64_t now = ctld_now();
    struct report r = {.c = c, .by = by ? by : "user"};
    r.start = json_integer_value(json_object_get(body, "start"));
    r.end = json_integer_value(json_object_get(body, "end"));
    if (r.end <= 0 || r.end > now)
        r.end = now;
    if (r.start <= 0)
        r.start = r.end - 86400; /* sreport's default: the last day */
    if (strcmp(r.by, "user") && strcmp(r.by, "account") && strcmp(r.by, "partition") &&
        strcmp(r.by, "cluster")) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "cost report by \"%.40s\": expected user, account, partition or cluster",
                          r.by);
        return;
    }
    if (r.start >= r.end) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "the report's start is not before its end");
        return;
    }
    size_t ng = c->conf->group_count;
    r.rows = json_object();
    r.powered_h = xcalloc(ng + 1, sizeof(double));
    r.busy_h = xcalloc(ng + 1, sizeof(double));
    r.busy_cost = xcalloc(ng + 1, sizeof(double));
    if (persist_cost_jobs(c, r.start, r.end, add_row, &r) < 0 ||
        persist_power_intervals(c, r.start, r.end, add_power, &r) < 0) {
        ctld_reply(c, req, SL_E_DB, NULL, NULL);
        goto out;
    }
    JOB_FOREACH(&c->jobs, j)
    {
        if (j->state != JOB_RUNNING || j->configuring || j->start_time <= 0)
            continue;
        char *nodes = xstrdup("");
        for (int i = 0; i < j->nalloc; i++) {
            char *x = xasprintf("%s%s%s", nodes, i ? "," : "", j->alloc[i]->name);
            free(nodes);
            nodes = x;
        }
        /* this run only: earlier runs (requeues) ended and are in j->cost */
        add_job(&r, j->user, j->account, j->partition, budget_running_cost(j, now),
                j->start_time, now, j->alloc_cpus, nodes, j->exclusive);
        free(nodes);
    }

    json_t *rows = json_array(), *groups = json_array();
    const char *key;
    json_t *v;
    json_object_foreach(r.rows, key, v)
    {
        if (!strcmp(r.by, "account")) {
            const struct sl_account *a = sl_conf_find_account(c->conf, key);
            if (a) {
                json_object_set_new(v, "budget", json_real(a->budget));
                json_object_set_new(v, "budget_period",
                                    json_string(a->budget_period ? a->budget_period : "month"));
                json_object_set_new(v, "budget_spent", json_real(budget_spent(c, key)));
            }
        }
        json_array_append(rows, v);
    }
    if (!strcmp(r.by, "account")) /* budgeted accounts with no jobs in the window too */
        for (size_t i = 0; i < c->conf->account_count; i++) {
            const struct sl_account *a = &c->conf->accounts[i];
            if (json_object_get(r.rows, a->name))
                continue;
            json_array_append_new(
                rows, json_pack("{s:s, s:i, s:f, s:f, s:f, s:s, s:f}", "name", a->name, "jobs", 0,
                                "cpu_hours", 0.0, "cost", 0.0, "budget", a->budget,
                                "budget_period", a->budget_period ? a->budget_period : "month",
                                "budget_spent", budget_spent(c, a->name) < 0 ? 0 : budget_spent(c, a->name)));
        }
    /* fixed nodes are powered all the time, since records began */
    int64_t since = persist_cost_since(c);
    double window_h = overlap_hours(since > 0 ? since : r.start, r.end, r.start, r.end);
    for (size_t g = 0; g < ng; g++) {
        const struct sl_node_group *grp = &c->conf->groups[g];
        double powered = grp->cloud ? r.powered_h[g] : window_h * (double)grp->node_count;
        double pcost = powered * grp->price_per_hour;
        double idle = pcost - r.busy_cost[g];
        json_array_append_new(
            groups, json_pack("{s:s, s:b, s:b, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "name",
                              grp->name, "cloud", grp->cloud, "spot", grp->spot, "price_per_hour",
                              grp->price_per_hour, "powered_node_hours", powered,
                              "busy_node_hours", r.busy_h[g], "powered_cost", pcost, "busy_cost",
                              r.busy_cost[g], "idle_cost", idle > 0 ? idle : 0.0,
                              "utilization", powered > 0 ? r.busy_h[g] / powered : 0.0));
    }
    json_t *reply = json_pack("{s:s, s:I, s:I, s:o, s:o}", "by", r.by, "start",
                              (json_int_t)r.start, "end", (json_int_t)r.end, "rows", rows,
                              "node_groups", groups);
    ctld_reply(c, req, 0, NULL, reply);
    json_decref(reply);
out:
    json_decref(r.rows);
    free(r.powered_h);
    free(r.busy_h);
    free(r.busy_cost);
}
