/* cancel.c - cancel_job: cancel or signal jobs (scancel).
 *
 * Only the job's owner, root, the slurm user and configured admins may act
 * on a job; others get Slurm's "Access/permission denied" and the job is
 * untouched.  Each job gets its own result; the request itself succeeds.
 */
#include <signal.h>
#include <stdlib.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"

/* Act on one job; return 0 or an SL_E_* code. */
static int cancel_one(struct ctld *c, struct request *req, struct job *job, int sig, bool batch)
{
    if (job->uid != req->msg.uid && !ctld_is_admin(c, req->msg.uid))
        return SL_E_ACCESS_DENIED;
    if (job_state_is_final(job->state))
        return SL_E_ALREADY_DONE;
    if (sig && sig != SIGKILL) {
        /* scancel --signal: deliver, leave the job running */
        if (job->state != JOB_RUNNING)
            return SL_E_JOB_PENDING;
        json_t *body = json_pack("{s:I, s:i, s:i}", "job_id", (json_int_t)job->id, "signal", sig,
                                 "kill_wait", 0);
        uint64_t seq = ctld_send_node(c, job->alloc[0], SL_MSG_SIGNAL_JOB, body);
        json_decref(body);
        (void)batch;
        return seq ? 0 : SL_E_SIGNAL_FAILED;
    }
    log_info("job %u cancelled by uid %u", job->id, (unsigned)req->msg.uid);
    job_terminate(c, job, JOB_CANCELLED, REASON_NONE, (int)req->msg.uid);
    return 0;
}

static void add_result(json_t *results, uint32_t id, int rc)
{
    json_t *r = json_pack("{s:I, s:i}", "job_id", (json_int_t)id, "rc", rc);
    if (rc)
        json_object_set_new(r, "error", json_string(sl_strerror(rc)));
    json_array_append_new(results, r);
}

void cancel_handle(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *ids = json_object_get(body, "job_ids"), *v;
    json_t *juser = json_object_get(body, "user_id"), *jsig = json_object_get(body, "signal");
    int sig = 0;
    size_t i;

    if (jsig && !json_is_null(jsig)) {
        if (!json_is_integer(jsig) || json_integer_value(jsig) < 0 ||
            json_integer_value(jsig) >= 65) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "signal must be 0..64");
            return;
        }
        sig = (int)json_integer_value(jsig);
    }
    if (ids && !json_is_null(ids)) {
        if (!json_is_array(ids)) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job_ids must be an array");
            return;
        }
        json_array_foreach(ids, i, v)
        {
            if (!json_is_integer(v) || json_integer_value(v) <= 0 ||
                json_integer_value(v) > UINT32_MAX) {
                ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                                  "job_ids must hold positive integers");
                return;
            }
        }
    }
    if (juser && !json_is_null(juser) && !json_is_integer(juser)) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "user_id must be an integer");
        return;
    }
    if ((!ids || json_array_size(ids) == 0) && (!juser || json_is_null(juser)) &&
        !json_array_size(json_object_get(body, "array_tasks"))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "no job identification provided");
        return;
    }

    json_t *results = json_array();
    bool batch = json_is_true(json_object_get(body, "batch"));
    json_t *tasks = json_object_get(body, "array_tasks");
    if (json_is_array(tasks)) {
        /* {job_id: ARRAY, tasks: "1-5,7"}: scancel 123_[1-5,7] */
        json_array_foreach(tasks, i, v)
        {
            uint32_t id = (uint32_t)json_integer_value(json_object_get(v, "job_id"));
            const char *spec = json_string_value(json_object_get(v, "tasks"));
            struct job *meta = job_find(&c->jobs, id), sel = {0};
            sl_error_t aerr;
            if (!meta || !spec || meta->array_job_id != id ||
                array_parse(spec, &sel, &aerr) < 0) {
                add_result(results, id, SL_E_INVALID_JOB_ID);
                continue;
            }
            if (meta->uid != req->msg.uid && !ctld_is_admin(c, req->msg.uid)) {
                add_result(results, id, SL_E_ACCESS_DENIED);
                free(sel.array_bits);
                continue;
            }
            int rc = SL_E_INVALID_JOB_ID;
            for (uint32_t t = 0; t < sel.array_nbits; t++) {
                if (!array_has_task(&sel, t))
                    continue;
                if (array_has_task(meta, t) && !sig) {
                    array_drop_task(meta, t);
                    rc = 0;
                    continue;
                }
                JOB_FOREACH(&c->jobs, task)
                {
                    if (task->array_job_id == id && task->array_task_id == (int32_t)t)
                        rc = cancel_one(c, req, task, sig, batch);
                }
            }
            free(sel.array_bits);
            if (meta->array_bits && meta->array_pending == 0) {
                /* every pending task dropped: the meta record ends */
                free(meta->array_bits);
                meta->array_bits = NULL;
                meta->array_nbits = 0;
                job_terminate(c, meta, JOB_CANCELLED, REASON_NONE, (int)req->msg.uid);
            } else {
                persist_job_update(c, meta);
            }
            add_result(results, id, rc);
        }
    }
    if (ids && json_array_size(ids) > 0) {
        json_array_foreach(ids, i, v)
        {
            uint32_t id = (uint32_t)json_integer_value(v);
            struct job *job = job_find(&c->jobs, id);
            int rc;
            if (!job)
                rc = SL_E_INVALID_JOB_ID;
            else if (juser && json_is_integer(juser) &&
                     (json_int_t)job->uid != json_integer_value(juser))
                continue; /* -u with ids: both must match, as scancel filters */
            else
                rc = cancel_one(c, req, job, sig, batch);
            if (job && job->array_job_id == id && rc != SL_E_ACCESS_DENIED) {
                /* an array's id names all its tasks */
                JOB_FOREACH(&c->jobs, task)
                {
                    if (task != job && task->array_job_id == id) {
                        int trc = cancel_one(c, req, task, sig, batch);
                        if (rc == SL_E_ALREADY_DONE && trc == 0)
                            rc = 0;
                    }
                }
            }
            add_result(results, id, rc);
        }
    } else if (!json_is_array(tasks)) {
        uid_t uid = (uid_t)json_integer_value(juser);
        JOB_FOREACH(&c->jobs, job)
        {
            if (job->uid != uid || job_state_is_final(job->state))
                continue;
            add_result(results, job->id, cancel_one(c, req, job, sig, batch));
        }
    }
    json_t *reply = json_pack("{s:o}", "results", results);
    ctld_reply(c, req, 0, NULL, reply);
    json_decref(reply);
}
