/* budget.c - account budgets; see budget.h. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "budget.h"
#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Per configured account, by index into c->conf->accounts. */
struct budget_state {
    size_t n;
    int64_t *period;  /* start of the period `done` covers */
    double *done;     /* cost of jobs ended in the period */
    double *running;  /* cost so far of running jobs (this pass) */
};

int64_t budget_period_start(const char *period, int64_t now)
{
    time_t t = (time_t)now;
    struct tm tm;
    localtime_r(&t, &tm);
    tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
    if (period && !strcmp(period, "day")) {
        /* midnight today */
    } else if (period && !strcmp(period, "week")) {
        tm.tm_mday -= (tm.tm_wday + 6) % 7; /* back to Monday */
    } else {
        tm.tm_mday = 1;
    }
    tm.tm_isdst = -1;
    return (int64_t)mktime(&tm);
}

double budget_running_cost(const struct job *job, int64_t now)
{
    if (job->state != JOB_RUNNING || job->configuring || job->start_time <= 0 ||
        now <= job->start_time)
        return 0;
    double hours = (double)(now - job->start_time) / 3600.0, cost = 0;
    for (int i = 0; i < job->nalloc; i++) {
        const struct sl_node_group *g = job->alloc[i]->group;
        double share = job->exclusive || g->cpus <= 0 ? 1.0 : (double)job->alloc_cpus / g->cpus;
        cost += hours * g->price_per_hour * (share > 1 ? 1 : share);
    }
    return cost;
}

static struct budget_state *state(struct ctld *c)
{
    struct budget_state *b = c->budget;
    if (b && b->n == c->conf->account_count)
        return b;
    budget_free(c); /* the accounts changed (reconfigure): start over */
    b = xcalloc(1, sizeof(*b));
    b->n = c->conf->account_count;
    b->period = xcalloc(b->n + 1, sizeof(*b->period));
    b->done = xcalloc(b->n + 1, sizeof(*b->done));
    b->running = xcalloc(b->n + 1, sizeof(*b->running));
    c->budget = b;
    return b;
}

static int account_index(struct ctld *c, const char *account)
{
    const struct sl_account *a = sl_conf_find_account(c->conf, account);
    return a ? (int)(a - c->conf->accounts) : -1;
}

void budget_pass_begin(struct ctld *c, int64_t now)
{
    if (!c->conf->account_count)
        return;
    struct budget_state *b = state(c);
    for (size_t i = 0; i < b->n; i++) {
        const struct sl_account *a = &c->conf->accounts[i];
        int64_t start = budget_period_start(a->budget_period, now);
        if (b->period[i] != start) {
            double spent = 0;
            if (persist_account_cost(c, a->name, start, &spent) < 0)
                continue; /* try again next pass */
            b->period[i] = start;
            b->done[i] = spent;
        }
        b->running[i] = 0;
    }
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        if (j->state != JOB_RUNNING || !j->account)
            continue;
        int i = account_index(c, j->account);
        if (i >= 0)
            b->running[i] += budget_running_cost(j, now);
    }
}

void budget_charge(struct ctld *c, const char *account, double cost)
{
    int i;
    if (!c->conf->account_count || !account || (i = account_index(c, account)) < 0)
        return;
    state(c)->done[i] += cost;
}

double budget_spent(struct ctld *c, const char *account)
{
    int i;
    if (!c->conf->account_count || !account || (i = account_index(c, account)) < 0)
        return -1;
    struct budget_state *b = state(c);
    return b->done[i] + b->running[i];
}

bool budget_exceeded(struct ctld *c, const struct job *job)
{
    int i;
    if (!c->conf->account_count || !job->account || (i = account_index(c, job->account)) < 0)
        return false;
    struct budget_state *b = state(c);
    return b->done[i] + b->running[i] >= c->conf->accounts[i].budget;
}

void budget_free(struct ctld *c)
{
    struct budget_state *b = c->budget;
    if (!b)
        return;
    free(b->period);
    free(b->done);
    free(b->running);
    free(b);
    c->budget = NULL;
}
