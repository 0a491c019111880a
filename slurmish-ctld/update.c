/* update.c - update_job and update_node: scontrol hold, release, requeue,
 * `update JobId=...` and `update NodeName=... State=...`.
 *
 * Who may do what, as Slurm: the owner may hold and release (a user hold),
 * lower a time limit or a priority, raise nice, rename, re-partition a pending job;
 * admins may do anything, and an admin hold (JobHeldAdmin) is released by
 * an admin only.  Node state changes are for admins.  Each job gets its
 * own result; admin actions go to the events table.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "power.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

static void add_result(json_t *results, uint32_t id, int rc, const char *detail)
{
    json_t *r = json_pack("{s:I, s:i}", "job_id", (json_int_t)id, "rc", rc);
    if (rc) {
        char text[400];
        snprintf(text, sizeof(text), "%s%s%s", sl_strerror(rc), detail ? ": " : "",
                 detail ? detail : "");
        json_object_set_new(r, "error", json_string(text));
    }
    json_array_append_new(results, r);
}

static int do_hold(struct ctld *c, struct job *job, bool admin)
{
    if (job->state != JOB_PENDING)
        return SL_E_JOB_NOT_PENDING;
    job->held = true;
    job->held_by_admin = admin;
    job->reason = admin ? REASON_JOB_HELD_ADMIN : REASON_JOB_HELD_USER;
    return persist_job_update(c, job) < 0 ? SL_E_DB : 0;
}

static int do_release(struct ctld *c, struct job *job, bool admin)
{
    if (job->state != JOB_PENDING)
        return SL_E_JOB_NOT_PENDING;
    if (!job->held)
        return 0;
    if (job->held_by_admin && !admin)
        return SL_E_ACCESS_DENIED;
    job->held = job->held_by_admin = false;
    job->reason = REASON_NONE;
    c->sched_needed = true;
    return persist_job_update(c, job) < 0 ? SL_E_DB : 0;
}

static int do_requeue(struct ctld *c, struct job *job)
{
    if (job->state == JOB_PENDING)
        return SL_E_JOB_PENDING;
    if (job->completing)
        return SL_E_TRANSITION_STATE_NO_UPDATE;
    if (!job->requeue)
        return SL_E_DISABLED; /* submitted with --no-requeue */
    if (job->state == JOB_RUNNING) {
        /* stop it; job_finish() puts it back in the queue when it is gone */
        job_requeue_running(c, job);
        return 0;
    }
    /* finished and still held in memory: run it again under the same id */
    submit_limits_invalidate(); /* it counts against the limits again */
    job->exit_status = job->exit_signal = 0;
    job->cancelled_by = -1;
    job_requeue(c, job, REASON_NONE);
    c->sched_needed = true;
    return 0;
}

/* Apply `set` fields to one job; *detail names a refused field. */
static int do_update(struct ctld *c, struct job *job, json_t *set, bool admin,
                     const char **detail)
{
    json_t *v;
    bool pending = job->state == JOB_PENDING;

    if (job_state_is_final(job->state))
        return SL_E_ALREADY_DONE;
    /* validate everything first: an update applies whole or not at all */
    if ((v = json_object_get(set, "time_limit"))) {
        json_int_t t = json_integer_value(v);
        if (!json_is_integer(v) || t == 0 || t < -1)
            return (*detail = "TimeLimit"), SL_E_INVALID_TIME_LIMIT;
        bool longer = job->time_limit != -1 && (t == -1 || t > job->time_limit);
        if (longer && !admin)
            return (*detail = "only an admin may extend a time limit"), SL_E_ACCESS_DENIED;
    }
    if ((v = json_object_get(set, "priority"))) {
        /* as Slurm: only an admin may raise a priority; the owner may lower it */
        if (!json_is_integer(v) || json_integer_value(v) < 0)
            return (*detail = "Priority"), SL_E_INVALID_ARGUMENT;
        if (!admin && (json_integer_value(v) == 0 || json_integer_value(v) > job->priority))
            return (*detail = "only an admin may raise a priority"), SL_E_ACCESS_DENIED;
    }
    if ((v = json_object_get(set, "nice"))) {
        if (!json_is_integer(v) || (json_integer_value(v) < job->nice && !admin))
            return (*detail = "only an admin may lower nice"), SL_E_ACCESS_DENIED;
    }
    const char *pname = json_string_value(json_object_get(set, "partition"));
    struct part *newp = NULL;
    if (pname) {
        if (!pending)
            return (*detail = "Partition"), SL_E_JOB_NOT_PENDING;
        if (!(newp = part_find(c, pname)))
            return SL_E_INVALID_PARTITION;
    }
    if ((v = json_object_get(set, "nodes"))) {
        if (!pending)
            return (*detail = "NumNodes"), SL_E_JOB_NOT_PENDING;
        if (!json_is_integer(v) || json_integer_value(v) < 1 ||
            json_integer_value(v) > job->ntasks)
            return (*detail = "NumNodes"), SL_E_INVALID_NODE_COUNT;
    }
    if (newp || v) {
        struct job shape = *job;
        if (v)
            shape.nodes_req = (int)json_integer_value(v);
        int rc = sched_job_fits_partition(c, newp ? newp : part_find(c, job->partition), &shape);
        if (rc)
            return rc;
    }
    /* apply */
    if ((v = json_object_get(set, "time_limit")))
        job->time_limit = json_integer_value(v);
    if ((v = json_object_get(set, "priority")))
        job->prio_set = json_integer_value(v) > 0 ? (uint32_t)json_integer_value(v) : 0;
    if ((v = json_object_get(set, "nice")))
        job->nice = (int)json_integer_value(v);
    if (newp) {
        free(job->partition);
        job->partition = xstrdup(newp->conf->name);
    }
    if ((v = json_object_get(set, "nodes")))
        job->nodes_req = (int)json_integer_value(v);
    /* shown at once, held or not (passes rank held jobs only now and then) */
    job->priority = sched_rank(job, part_find(c, job->partition), ctld_now());
    const char *s;
    if ((s = json_string_value(json_object_get(set, "name")))) {
        free(job->name);
        job->name = xstrdup(s);
    }
    if ((s = json_string_value(json_object_get(set, "comment")))) {
        free(job->comment);
        job->comment = xstrdup(s);
    }
    if ((s = json_string_value(json_object_get(set, "account")))) {
        free(job->account);
        job->account = xstrdup(s);
    }
    c->sched_needed = true;
    return persist_job_update(c, job) < 0 ? SL_E_DB : 0;
}

void update_job(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *ids = json_object_get(body, "job_ids"), *v;
    const char *action = json_string_value(json_object_get(body, "action"));
    json_t *set = json_object_get(body, "set");
    bool admin = ctld_is_admin(c, req->msg.uid);
    size_t i;

    if (!json_is_array(ids) || json_array_size(ids) == 0 || !action) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job_ids and action are required");
        return;
    }
    if (strcmp(action, "hold") && strcmp(action, "uhold") && strcmp(action, "release") &&
        strcmp(action, "requeue") && strcmp(action, "update")) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "unknown action \"%.40s\"", action);
        return;
    }
    if (!strcmp(action, "update") && !json_is_object(set)) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "update needs \"set\"");
        return;
    }
    json_t *results = json_array();
    json_array_foreach(ids, i, v)
    {
        uint32_t id = json_is_integer(v) ? (uint32_t)json_integer_value(v) : 0;
        struct job *job = id ? job_find(&c->jobs, id) : NULL;
        const char *detail = NULL;
        int rc;
        if (!job) {
            add_result(results, id, SL_E_INVALID_JOB_ID, NULL);
            continue;
        }
        if (job->uid != req->msg.uid && !admin) {
            add_result(results, id, SL_E_ACCESS_DENIED, NULL);
            continue;
        }
        if (!strcmp(action, "hold"))
            rc = do_hold(c, job, admin); /* an admin's hold is an admin hold, as Slurm */
        else if (!strcmp(action, "uhold"))
            rc = do_hold(c, job, false);
        else if (!strcmp(action, "release"))
            rc = do_release(c, job, admin);
        else if (!strcmp(action, "requeue"))
            rc = do_requeue(c, job);
        else
            rc = do_update(c, job, set, admin, &detail);
        if (rc == 0 && admin) {
            char *d = json_dumps(body, JSON_COMPACT);
            persist_event(c, req->msg.uid, "update_job", d ? d : action);
            free(d);
        }
        if (rc == 0)
            log_info("job %u: %s by uid %u", id, action, (unsigned)req->msg.uid);
        add_result(results, id, rc, detail);
    }
    json_t *r = json_pack("{s:o}", "results", results);
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}

/* State=POWER_UP|POWER_DOWN|POWER_DOWN_ASAP|POWER_DOWN_FORCE (power.c). */
static void update_node_power(struct ctld *c, struct request *req, const char *expr,
                              const char *state)
{
    sl_error_t err;
    struct hostlist *hl = hostlist_create(expr, &err);
    char msg[300];
    if (!hl) {
        ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%s", err.text);
        return;
    }
    /* check all first: a request either applies to every node or to none */
    for (size_t i = 0; i < hostlist_count(hl); i++) {
        struct node *n = node_find(c, hostlist_nth(hl, i));
        if (!n) {
            ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%s", hostlist_nth(hl, i));
            hostlist_destroy(hl);
            return;
        }
        if (!(n->flags & NODE_FLAG_CLOUD)) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                              "node %s is not in a cloud node group (cloud: true): its power is "
                              "not managed",
                              n->name);
            hostlist_destroy(hl);
            return;
        }
    }
    for (size_t i = 0; i < hostlist_count(hl); i++) {
        struct node *n = node_find(c, hostlist_nth(hl, i));
        int rc = power_request(c, n, state, (int)req->msg.uid, msg, sizeof(msg));
        if (rc) {
            ctld_reply_errorf(c, req, rc, "%s", msg);
            hostlist_destroy(hl);
            return;
        }
        log_info("node %s: State=%s by uid %u", n->name, state, (unsigned)req->msg.uid);
    }
    hostlist_destroy(hl);
    c->sched_needed = true;
    ctld_reply(c, req, 0, NULL, NULL);
}

void update_node(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body;
    const char *expr = json_string_value(json_object_get(body, "nodes"));
    const char *state = json_string_value(json_object_get(body, "state"));
    const char *reason = json_string_value(json_object_get(body, "reason"));
    sl_error_t err;
    struct hostlist *hl;

    if (!ctld_is_admin(c, req->msg.uid)) {
        ctld_reply(c, req, SL_E_ACCESS_DENIED, NULL, NULL);
        return;
    }
    if (!expr || !state) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "nodes and state are required");
        return;
    }
    if (!strncasecmp(state, "POWER_", 6)) {
        update_node_power(c, req, expr, state);
        return;
    }
    bool drain = !strcasecmp(state, "DRAIN"), down = !strcasecmp(state, "DOWN");
    bool resume = !strcasecmp(state, "RESUME") || !strcasecmp(state, "UNDRAIN") ||
                  !strcasecmp(state, "IDLE");
    if (!drain && !down && !resume) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "State=%.40s: expected DRAIN, DOWN, RESUME, UNDRAIN, POWER_UP, "
                          "POWER_DOWN, POWER_DOWN_ASAP or POWER_DOWN_FORCE", state);
        return;
    }
    if ((drain || down) && (!reason || !*reason)) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "You must specify a reason when DOWNING or DRAINING a node");
        return;
    }
    if (!(hl = hostlist_create(expr, &err))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%s", err.text);
        return;
    }
    for (size_t i = 0; i < hostlist_count(hl); i++) {
        if (!node_find(c, hostlist_nth(hl, i))) {
            ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%s", hostlist_nth(hl, i));
            hostlist_destroy(hl);
            return;
        }
    }
    for (size_t i = 0; i < hostlist_count(hl); i++) {
        struct node *n = node_find(c, hostlist_nth(hl, i));
        if (drain || down) {
            n->flags |= NODE_FLAG_DRAIN;
            free(n->reason);
            n->reason = xstrdup(reason);
            n->reason_time = ctld_now();
            n->reason_uid = (int)req->msg.uid;
            if (down) {
                /* DOWN: its jobs end as NODE_FAIL, as Slurm does.  The drain
                 * flag stays, so when its daemon registers again the node
                 * shows as drained until an admin resumes it. */
                node_set_down(c, n, reason);
                free(n->reason);
                n->reason = xstrdup(reason);
                n->reason_uid = (int)req->msg.uid;
            }
        } else {
            n->flags &= ~NODE_FLAG_DRAIN;
            free(n->reason);
            n->reason = NULL;
            n->reason_time = 0;
            n->reason_uid = -1;
            /* a DOWN node comes back when its daemon registers again; a
             * powered-down cloud node has no daemon: it is ready at once */
            if ((n->flags & NODE_FLAG_POWERED_DOWN) && n->state == NODE_DOWN)
                n->state = NODE_UNKNOWN;
        }
        node_update_state(c, n);
        persist_node_update(c, n);
        log_info("node %s: State=%s by uid %u%s%s", n->name, state, (unsigned)req->msg.uid,
                 reason ? " Reason=" : "", reason ? reason : "");
    }
    char *d = json_dumps(body, JSON_COMPACT);
    persist_event(c, req->msg.uid, "update_node", d ? d : expr);
    free(d);
    hostlist_destroy(hl);
    c->sched_needed = true;
    ctld_reply(c, req, 0, NULL, NULL);
}
