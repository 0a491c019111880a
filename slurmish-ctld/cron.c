/* cron.c - periodic work, run from the loop once a second: node
 * timeouts, time limits, purging old jobs from memory, and the timer
 * that triggers a scheduling pass.  No per-job timers, and no scan of
 * the pending queue: only started jobs have limits to check. */
#include <stdlib.h>
#include <sys/time.h>

#include "ctld.h"
#include "metrics.h"
#include "persist.h"
#include "power.h"
#include "step.h"
#include "types.h"
#include "util/log.h"

static int64_t last_run;

int cron_next_timeout_ms(struct ctld *c)
{
    struct timeval tv;
    (void)c;
    gettimeofday(&tv, NULL);
    return 1000 - (int)(tv.tv_usec / 1000);
}

static void check_nodes(struct ctld *c, int64_t now)
{
    for (int i = 0; i < c->nnodes; i++) {
        struct node *n = &c->nodes[i];
        if (n->state == NODE_DOWN || (n->flags & NODE_POWER_FLAGS & ~NODE_FLAG_POWER_DOWN_PENDING))
            continue; /* off, booting (resume_timeout) or going off: the power manager's */
        if (n->registered && now - n->last_heartbeat > c->conf->node_timeout)
            node_set_down(c, n, "Not responding");
        else if (!n->registered && now - c->start_time > c->conf->node_timeout)
            node_set_down(c, n, "Not responding");
    }
}

static void check_jobs(struct ctld *c, int64_t now)
{
    int64_t horizon = now - c->conf->min_job_age;

    /* pending jobs have nothing to check here: a million of them cost nothing */
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        if (j->state == JOB_RUNNING && j->warn_signal && !j->warn_sent && j->time_limit > 0 &&
            !j->completing && now >= j->start_time + j->time_limit - j->warn_time) {
            /* --signal: warn the job before its time limit */
            json_t *body = json_pack("{s:I, s:i, s:i, s:b}", "job_id", (json_int_t)j->id,
                                     "signal", j->warn_signal, "kill_wait", 0, "batch",
                                     j->warn_batch);
            ctld_send_node(c, j->alloc[0], SL_MSG_SIGNAL_JOB, body);
            json_decref(body);
            j->warn_sent = true;
            persist_job_update(c, j);
            log_info("job %u: signal %d, %d s before its time limit", j->id, j->warn_signal,
                     j->warn_time);
        }
        sessions_check_idle(c, j, now);
        if (j->state == JOB_RUNNING && j->time_limit > 0 && !j->completing && !j->configuring &&
            now >= j->start_time + j->time_limit) {
            log_info("job %u reached its time limit", j->id);
            j->pending_end_state = JOB_TIMEOUT;
            job_terminate(c, j, JOB_TIMEOUT, REASON_TIME_LIMIT, -1);
        }
    }
    JOB_FOREACH_ENDED(&c->jobs, j)
    {
        if (j->end_time < horizon) {
            job_remove(&c->jobs, j); /* the loop already holds the next one */
            job_free(j);
        }
    }
}

void cron_run(struct ctld *c)
{
    int64_t now = ctld_now();
    if (now == last_run)
        return;
    last_run = now;
    check_nodes(c, now);
    check_jobs(c, now);
    power_tick(c, now);
    metrics_tick(c);
    if (now - c->last_sched >= c->conf->sched_interval && c->jobs.npending > 0)
        c->sched_needed = true;
}
