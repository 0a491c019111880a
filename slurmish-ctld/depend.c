/* depend.c - job dependencies (--dependency), as Slurm spells them:
 *
 *   after:ID[:ID...]       the jobs have started (or were cancelled before starting)
 *   afterany:ID[:ID...]    the jobs have ended, whatever their state
 *   afterok:ID[:ID...]     the jobs have completed successfully
 *   afternotok:ID[:ID...]  the jobs have failed, timed out, been cancelled, ...
 *   singleton              no earlier job of this user with this name is active
 *
 * Terms joined by ',' must all hold; by '?', any one.  A term whose
 * condition can no longer come true (afterok on a failed job) makes the
 * job DependencyNeverSatisfied, or cancels it with --kill-on-invalid-dep.
 */
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

enum dep_type { DEP_AFTER, DEP_AFTERANY, DEP_AFTEROK, DEP_AFTERNOTOK, DEP_SINGLETON };

static const char *dep_names[] = {"after", "afterany", "afterok", "afternotok", "singleton"};

/* Check the syntax and that every job named exists; 0 or an SL_E_* code,
 * with a short reason in *why. */
int depend_validate(struct ctld *c, const char *spec, const char **why)
{
    char *copy = xstrdup(spec), *save = NULL;
    int rc = 0;
    if (strchr(spec, ',') && strchr(spec, '?')) {
        *why = "use either ',' (all) or '?' (any), not both";
        free(copy);
        return SL_E_DEPENDENCY;
    }
    for (char *term = strtok_r(copy, ",?", &save); term && !rc;
         term = strtok_r(NULL, ",?", &save)) {
        char *colon = strchr(term, ':');
        size_t tl = colon ? (size_t)(colon - term) : strlen(term);
        int type = -1;
        for (int t = 0; t <= DEP_SINGLETON; t++)
            if (strlen(dep_names[t]) == tl && !strncmp(term, dep_names[t], tl))
                type = t;
        if (type < 0) {
            *why = "unknown dependency type";
            rc = SL_E_DEPENDENCY;
        } else if (type == DEP_SINGLETON) {
            if (colon) {
                *why = "singleton takes no job id";
                rc = SL_E_DEPENDENCY;
            }
        } else if (!colon || !colon[1]) {
            *why = "a job id is required";
            rc = SL_E_DEPENDENCY;
        } else {
            char *isave = NULL;
            for (char *id = strtok_r(colon + 1, ":", &isave); id && !rc;
                 id = strtok_r(NULL, ":", &isave)) {
                char *end;
                unsigned long v = strtoul(id, &end, 10);
                if (end == id || *end || v == 0 || v > UINT32_MAX) {
                    *why = "bad job id";
                    rc = SL_E_DEPENDENCY;
                } else if (!job_find(&c->jobs, (uint32_t)v)) {
                    struct job *old = persist_job_load_one(c, (uint32_t)v);
                    if (!old) {
                        *why = "no such job";
                        rc = SL_E_DEPENDENCY;
                    }
                    job_free(old);
                }
            }
        }
    }
    free(copy);
    return rc;
}

enum { DEP_WAIT, DEP_MET, DEP_NEVER };

/* State of one job a dependency names: in memory, or its record. */
static int term_state(struct ctld *c, int type, uint32_t id)
{
    struct job *j = job_find(&c->jobs, id), *old = NULL;
    int st, res;
    if (!j)
        j = old = persist_job_load_one(c, id);
    if (!j)
        return DEP_NEVER; /* vanished: cannot be satisfied */
    st = j->state;
    bool final = job_state_is_final(st) && !j->completing;
    switch (type) {
    case DEP_AFTER:
        res = (st != JOB_PENDING) ? DEP_MET : DEP_WAIT;
        break;
    case DEP_AFTERANY:
        res = final ? DEP_MET : DEP_WAIT;
        break;
    case DEP_AFTEROK:
        res = !final ? DEP_WAIT : st == JOB_COMPLETED ? DEP_MET : DEP_NEVER;
        break;
    default: /* afternotok */
        res = !final ? DEP_WAIT : st != JOB_COMPLETED ? DEP_MET : DEP_NEVER;
        break;
    }
    job_free(old);
    return res;
}

static int singleton_state(struct ctld *c, const struct job *job)
{
    JOB_FOREACH(&c->jobs, j)
    {
        if (j == job || j->uid != job->uid || strcmp(j->name, job->name) != 0)
            continue;
        if (j->state == JOB_RUNNING || j->completing)
            return DEP_WAIT;
        if (j->state == JOB_PENDING && j->id < job->id)
            return DEP_WAIT;
    }
    return DEP_MET;
}

/* DEP_MET, DEP_WAIT or DEP_NEVER for the job's whole dependency. */
static int depend_state(struct ctld *c, const struct job *job)
{
    bool any = strchr(job->dependency, '?') != NULL;
    char *copy = xstrdup(job->dependency), *save = NULL;
    int result = any ? DEP_NEVER : DEP_MET;

    for (char *term = strtok_r(copy, ",?", &save); term; term = strtok_r(NULL, ",?", &save)) {
        char *colon = strchr(term, ':');
        size_t tl = colon ? (size_t)(colon - term) : strlen(term);
        int type = DEP_SINGLETON, ts = DEP_MET;
        for (int t = 0; t <= DEP_SINGLETON; t++)
            if (strlen(dep_names[t]) == tl && !strncmp(term, dep_names[t], tl))
                type = t;
        if (type == DEP_SINGLETON) {
            ts = singleton_state(c, job);
        } else {
            char *isave = NULL;
            for (char *id = strtok_r(colon + 1, ":", &isave); id; id = strtok_r(NULL, ":", &isave)) {
                int s = term_state(c, type, (uint32_t)strtoul(id, NULL, 10));
                if (s == DEP_NEVER)
                    ts = DEP_NEVER;
                else if (s == DEP_WAIT && ts != DEP_NEVER)
                    ts = DEP_WAIT;
            }
        }
        if (any) {
            if (ts == DEP_MET)
                result = DEP_MET;
            else if (ts == DEP_WAIT && result == DEP_NEVER)
                result = DEP_WAIT;
        } else {
            if (ts == DEP_NEVER)
                result = DEP_NEVER;
            else if (ts == DEP_WAIT && result == DEP_MET)
                result = DEP_WAIT;
        }
    }
    free(copy);
    return result;
}

/* For the scheduler: true when the job may be considered for a start.
 * Sets its reason otherwise; a never-satisfiable dependency either stays
 * (DependencyNeverSatisfied) or cancels the job (--kill-on-invalid-dep). */
bool depend_ready(struct ctld *c, struct job *job)
{
    if (!job->dependency || !*job->dependency)
        return true;
    switch (depend_state(c, job)) {
    case DEP_MET:
        /* Slurm clears a satisfied dependency */
        free(job->dependency);
        job->dependency = NULL;
        persist_job_update(c, job);
        return true;
    case DEP_WAIT:
        job->reason = REASON_DEPENDENCY;
        return false;
    default:
        if (job->kill_on_invalid_dep) {
            log_info("job %u: dependency can never be satisfied; cancelled", job->id);
            job_terminate(c, job, JOB_CANCELLED, REASON_DEPENDENCY_NEVER, -1);
        } else {
            job->reason = REASON_DEPENDENCY_NEVER;
        }
        return false;
    }
}
