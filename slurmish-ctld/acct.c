/* acct.c - query_acct: sacct's view of every job ever run, read from the
 * jobs table (rows are never deleted: they are the accounting record).
 *
 * As Slurm's sacct: without all_users, -u or -j a user sees their own
 * jobs, except root and SlurmUser, who see everyone's; anyone may ask for
 * all users' jobs (Slurm without PrivateData=jobs).
 * The window [start, end] keeps jobs submitted before `end` that had not
 * ended before `start` (0: unbounded).  A states filter applies to the
 * job's final (or current) state, not to the states it passed through
 * during the window as Slurm's does.
 */
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"

#define ACCT_MAX_ROWS 100000

static bool int_array(json_t *a)
{
    size_t i;
    json_t *v;
    if (!a)
        return true;
    if (!json_is_array(a))
        return false;
    json_array_foreach(a, i, v) if (!json_is_integer(v)) return false;
    return true;
}

void query_acct(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *ids = json_object_get(body, "job_ids");
    json_t *users = json_object_get(body, "user_ids"), *snames = json_object_get(body, "states");
    json_t *states = json_array(), *out = json_array(), *v, *own = NULL;
    int64_t start = json_integer_value(json_object_get(body, "start"));
    int64_t end = json_integer_value(json_object_get(body, "end"));
    size_t i;

    if (!int_array(ids) || !int_array(users) || (snames && !json_is_array(snames))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "job_ids and user_ids must be integer arrays, states an array");
        goto done;
    }
    json_array_foreach(snames, i, v)
    {
        int s = json_is_string(v) ? job_state_from_name(json_string_value(v)) : -1;
        if (s < 0) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "unknown state %.40s",
                              json_is_string(v) ? json_string_value(v) : "?");
            goto done;
        }
        json_array_append_new(states, json_integer(s));
    }
    bool all = json_is_true(json_object_get(body, "all_users")) || req->msg.uid == 0 ||
               req->msg.uid == c->slurm_uid;
    if (!all && !json_array_size(users) && !json_array_size(ids)) {
        /* sacct with no -a, -u or -j: your own jobs */
        own = json_pack("[I]", (json_int_t)req->msg.uid);
        users = own;
    }
    int n = persist_acct(c, ids, users, states, start, end, ACCT_MAX_ROWS, out);
    if (n < 0) {
        ctld_reply(c, req, SL_E_DB, NULL, NULL);
        goto done;
    }
    json_t *r = json_pack("{s:O, s:b, s:I}", "jobs", out, "truncated", n >= ACCT_MAX_ROWS, "time",
                          (json_int_t)ctld_now());
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
done:
    json_decref(own);
    json_decref(states);
    json_decref(out);
}
