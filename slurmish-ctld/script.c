/* script.c - job_script: `scontrol write batch_script JOBID`.
 *
 * Purpose: hand a batch job's script back to its owner or an admin, as
 * Slurm's REQUEST_BATCH_SCRIPT does.
 * Input:   {"job_id": N}.
 * Action:  reads the script from SQLite (it is never kept in memory, see
 *          job.h), so finished jobs whose record is still stored work too.
 * Caveats: other users get Access/permission denied, exactly as for a job
 *          that exists: the script and its environment may hold secrets.
 *          Interactive allocations have no script.
 */
#include <stdlib.h>

#include "ctld.h"
#include "persist.h"
#include "util/log.h"

void script_handle(struct ctld *c, struct request *req)
{
    json_t *jid = json_object_get(req->msg.body, "job_id");
    struct job *job, *old = NULL;
    char *script = NULL;
    json_t *argv = NULL, *env = NULL, *r;

    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
        json_integer_value(jid) > UINT32_MAX) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job_id is required");
        return;
    }
    uint32_t id = (uint32_t)json_integer_value(jid);
    if (!(job = job_find(&c->jobs, id)) && !(job = old = persist_job_load_one(c, id))) {
        ctld_reply(c, req, SL_E_INVALID_JOB_ID, NULL, NULL);
        return;
    }
    /* array tasks share the meta job's row, as at launch (job.c) */
    uint32_t row = job->array_job_id ? job->array_job_id : id;
    if (job->uid != req->msg.uid && !ctld_is_admin(c, req->msg.uid)) {
        log_info("job %u: batch script refused to uid %u", id, (unsigned)req->msg.uid);
        ctld_reply(c, req, SL_E_ACCESS_DENIED, NULL, NULL);
    } else if (job->interactive) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job %u is not a batch job", id);
    } else if (persist_job_launch_data(c, row, &script, &argv, &env) < 0) {
        ctld_reply(c, req, SL_E_DB, NULL, NULL);
    } else {
        r = json_pack("{s:I, s:s}", "job_id", (json_int_t)id, "script", script);
        ctld_reply(c, req, 0, NULL, r);
        json_decref(r);
    }
    free(script);
    json_decref(argv);
    json_decref(env);
    job_free(old);
}
