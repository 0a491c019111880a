/* node_rpc.c - messages from node daemons: registration, heartbeats,
 * job completions, and replies to launch/signal requests.
 *
 * The ctld routes to a node by the connection its last authenticated
 * message came from (never by a self-chosen socket identity), so only a
 * daemon holding a root/slurm-user munge credential can receive launches.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "power.h"
#include "step.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

struct node *node_rpc_sender(struct ctld *c, struct request *req)
{
    json_t *jn = json_object_get(req->msg.body, "node");
    struct node *n;
    if (!json_is_string(jn)) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "node name missing");
        return NULL;
    }
    if (!(n = node_find(c, json_string_value(jn)))) {
        log_warn("message from unknown node %.64s", json_string_value(jn));
        ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%.64s", json_string_value(jn));
        return NULL;
    }
    if (req->conn) {
        /* the ctld reaches a daemon by its ROUTER route only */
        log_warn("message from node %s on the tools port refused", n->name);
        ctld_reply_errorf(c, req, SL_E_PROTOCOL,
                          "node daemons talk on controller.port, not on tools_port");
        return NULL;
    }
    memcpy(n->route, req->route, req->route_len);
    n->route_len = req->route_len;
    n->last_heartbeat = ctld_now();
    /* the daemon's key signs what we send it; a (munge-signed) registration
     * is a daemon that may have restarted: munge until its new key shows */
    if (req->msg.keyed)
        memcpy(n->kid, req->msg.kid, sizeof(n->kid));
    else if (req->msg.type == SL_MSG_NODE_REGISTER)
        n->kid[0] = '\0';
    return n;
}

static bool node_has_job(const struct node *n, const struct job *j)
{
    for (int i = 0; i < j->nalloc; i++)
        if (j->alloc[i] == n)
            return true;
    return false;
}

/* A completion report, from job_complete or a registration's list. */
static void complete_job(struct ctld *c, struct node *n, uint32_t id, int status, int64_t end,
                         bool oom)
{
    struct job *job = job_find(&c->jobs, id);
    if (!job || !node_has_job(n, job) || job->alloc[0] != n ||
        (job_state_is_final(job->state) && !job->completing)) {
        log_debug("completion of job %u from %s: already recorded", id, n->name);
        return; /* a resend: the daemon may forget it */
    }
    if (job->launch_seq && !job->completing) {
        /* The node answers a launch before it can report that run's end,
         * so with this run's launch unanswered the report is a late one
         * (a resend) of an earlier run of a requeued job: ending the new
         * run with it would fail a job that is starting. */
        log_info("job %u: completion from %s of an earlier run ignored", id, n->name);
        return;
    }
    job->launch_seq = 0;
    job->oom = oom;
    job_finish(c, job, status, end);
}

static void send_terminate(struct ctld *c, struct node *n, uint32_t id)
{
    json_t *body = json_pack("{s:I, s:i, s:i}", "job_id", (json_int_t)id, "signal", SIGTERM,
                             "kill_wait", c->conf->kill_wait);
    ctld_send_node(c, n, SL_MSG_SIGNAL_JOB, body);
    json_decref(body);
}

void node_rpc_register(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *running, *completed, *e;
    struct node *n = node_rpc_sender(c, req);
    size_t i;

    if (!n)
        return;
    running = json_object_get(body, "running");
    completed = json_object_get(body, "completed");
    if ((running && !json_is_array(running)) || (completed && !json_is_array(completed))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "running/completed must be arrays");
        return;
    }
    free(n->address);
    const char *addr = json_string_value(json_object_get(body, "address"));
    n->address = xstrdup(addr ? addr : "");
    n->port = (int)json_integer_value(json_object_get(body, "port"));
    n->det_cpus = (int)json_integer_value(json_object_get(body, "cpus"));
    n->det_mem = (uint64_t)json_integer_value(json_object_get(body, "memory_mb"));
    n->det_gpus = (int)json_integer_value(json_object_get(body, "gpus"));
    const char *enf = json_string_value(json_object_get(body, "memory_enforcement"));
    snprintf(n->mem_enforcement, sizeof(n->mem_enforcement), "%s", enf ? enf : "none");
    if (n->det_cpus && n->det_cpus < n->group->cpus)
        log_warn("node %s: configured with %d CPUs, daemon found %d", n->name, n->group->cpus,
                 n->det_cpus);
    if (n->det_mem && n->det_mem < n->group->memory_mb)
        log_warn("node %s: configured with %llu MiB, daemon found %llu", n->name,
                 (unsigned long long)n->group->memory_mb, (unsigned long long)n->det_mem);

    /* Completions that happened while we could not hear them. */
    json_array_foreach(completed, i, e)
    {
        json_t *jid = json_object_get(e, "job_id"), *st = json_object_get(e, "status");
        if (json_is_integer(jid) && json_is_integer(st))
            complete_job(c, n, (uint32_t)json_integer_value(jid), (int)json_integer_value(st),
                         json_integer_value(json_object_get(e, "end_time")),
                         json_is_true(json_object_get(e, "oom")));
    }
    /* Jobs the daemon runs that we do not believe in: stop them. */
    json_array_foreach(running, i, e)
    {
        if (!json_is_integer(e))
            continue;
        uint32_t id = (uint32_t)json_integer_value(e);
        struct job *job = job_find(&c->jobs, id);
        if (!job || !node_has_job(n, job) ||
            (job_state_is_final(job->state) && !job->completing)) {
            log_warn("node %s runs job %u, which is not running here: terminating it", n->name,
                     id);
            send_terminate(c, n, id);
        } else if (job->completing) {
            send_terminate(c, n, id); /* cancel sent while the node was away */
        } else {
            job->launch_seq = 0; /* it is certainly started */
        }
    }
    /* Jobs we believe run there that the daemon does not have: lost. */
    JOB_FOREACH_ACTIVE(&c->jobs, job)
    {
        if (!running || !job->nalloc || job->alloc[0] != n || job->interactive ||
            job->configuring)
            continue;
        if (job->state != JOB_RUNNING && !job->completing)
            continue;
        bool listed = false;
        size_t k;
        json_t *r;
        json_array_foreach(running, k, r) if (json_is_integer(r) &&
                                              (uint32_t)json_integer_value(r) == job->id)
            listed = true;
        if (listed)
            continue;
        if (job->completing) {
            job_set_final(c, job, job->state, job->reason);
        } else if (job->launch_seq) {
            job_requeue(c, job, REASON_NONE); /* launch never reached it */
        } else if (job->requeue) {
            /* Neither running nor ended there: its launch was lost (a ctld
             * killed after committing the start but before the launch left,
             * or a launch the node refused while this ctld died), or the
             * node lost its spool.  As when a node fails (and as Slurm does
             * with a batch job missing from its node), run it again. */
            log_warn("job %u lost on node %s: requeued", job->id, n->name);
            job_requeue(c, job, REASON_NONE);
        } else {
            log_warn("job %u lost on node %s", job->id, n->name);
            job->end_time = ctld_now();
            job_set_final(c, job, JOB_NODE_FAIL, REASON_NODE_DOWN);
        }
    }

    bool was_down = (n->state == NODE_DOWN);
    n->registered = true;
    n->registered_at = ctld_now();
    if (!n->boot_time)
        n->boot_time = ctld_now();
    n->flags &= ~NODE_FLAG_NOT_RESPONDING;
    if (was_down || n->state == NODE_UNKNOWN) {
        n->state = NODE_IDLE;
        if (n->reason && !(n->flags & NODE_FLAG_DRAIN)) {
            free(n->reason);
            n->reason = NULL;
        }
    }
    if (json_is_array(json_object_get(body, "steps")))
        steps_activity(c, n, json_object_get(body, "steps"));
    node_update_state(c, n);
    power_node_registered(c, n);
    c->sched_needed = true;
    log_info("node %s registered (%d cpus, %llu MiB, %d gpus detected)", n->name, n->det_cpus,
             (unsigned long long)n->det_mem, n->det_gpus);
    ctld_reply(c, req, 0, NULL, NULL);
}

void node_rpc_heartbeat(struct ctld *c, struct request *req)
{
    struct node *n = node_rpc_sender(c, req);
    if (!n)
        return;
    json_t *steps = json_object_get(req->msg.body, "steps");
    if (json_is_array(steps) && n->registered)
        steps_activity(c, n, steps);
    json_t *r = json_pack("{s:b}", "registered", n->registered);
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}

void node_rpc_complete(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body;
    struct node *n = node_rpc_sender(c, req);
    json_t *jid = json_object_get(body, "job_id"), *st = json_object_get(body, "status");
    if (!n)
        return;
    if (!json_is_integer(jid) || !json_is_integer(st)) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job_id and status are required");
        return;
    }
    const char *error = json_string_value(json_object_get(body, "error"));
    if (error)
        log_warn("job %lld on %s: %s", (long long)json_integer_value(jid), n->name, error);
    complete_job(c, n, (uint32_t)json_integer_value(jid), (int)json_integer_value(st),
                 json_integer_value(json_object_get(body, "end_time")),
                 json_is_true(json_object_get(body, "oom")));
    ctld_reply(c, req, 0, NULL, NULL);
}

static bool node_has_route(const struct node *n, const unsigned char *route, size_t route_len)
{
    return n->route_len == route_len && memcmp(n->route, route, route_len) == 0;
}

/* A node answered a launch_job or signal_job.  A launch's answer names
 * its job, so finding the launch it confirms costs a hash look-up, not a
 * scan of the running jobs for the sequence number. */
void node_rpc_reply(struct ctld *c, const unsigned char *route, size_t route_len,
                    struct sl_msg *m)
{
    json_t *jid = json_object_get(m->body, "job_id");
    json_int_t id = json_integer_value(jid);
    struct job *job = json_is_integer(jid) && id > 0 && id <= UINT32_MAX
                          ? job_find(&c->jobs, (uint32_t)id)
                          : NULL;
    if (job && job->launch_seq && job->launch_seq == m->re && job->nalloc &&
        node_has_route(job->alloc[0], route, route_len)) {
        struct node *n = job->alloc[0];
        job->launch_seq = 0;
        if (m->rc == SL_E_AUTH && n->kid[0]) {
            /* signed with a key the daemon no longer holds (it restarted):
             * nothing ran; munge until it shows its new key, and run the
             * job again */
            log_warn("job %u: launch on %s refused (%s); requeued", job->id, n->name,
                     m->error ? m->error : sl_strerror(m->rc));
            n->kid[0] = '\0';
            if (job->state == JOB_RUNNING)
                job_requeue(c, job, REASON_NONE);
        } else if (m->rc != 0) {
            log_err("job %u: launch on %s failed: %s", job->id, n->name,
                    m->error ? m->error : sl_strerror(m->rc));
            if (job->state == JOB_RUNNING) {
                job->end_time = ctld_now();
                job->exit_status = 1;
                job_set_final(c, job, JOB_FAILED, REASON_LAUNCH_FAILED);
            }
        }
        return;
    }
    if (m->rc == 0)
        return; /* a signal delivered, or a launch already settled otherwise */
    struct node *n = NULL;
    for (int i = 0; i < c->nnodes && !n; i++)
        if (node_has_route(&c->nodes[i], route, route_len))
            n = &c->nodes[i];
    if (!n) {
        log_debug("reply from an unknown connection ignored");
        return;
    }
    if (m->rc == SL_E_AUTH)
        n->kid[0] = '\0'; /* its key is gone: munge from now on */
    log_debug("node %s: request %llu failed: %s", n->name, (unsigned long long)m->re,
              m->error ? m->error : sl_strerror(m->rc));
}
