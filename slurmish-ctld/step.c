/* step.c - job steps, their credentials, session activity and idle ends;
 * see step.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ctld.h"
#include "persist.h"
#include "proto/stream.h"
#include "step.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define STEP_MAX_TASKS 4096
#define STEP_MAX_NAME 256
/* CPU use above this share of one CPU between two reports is activity */
#define ACTIVE_CPU_SHARE 0.05

static void step_distribute(struct step *s, int ntasks_per_node)
{
    int base = s->ntasks / s->nnodes, extra = s->ntasks % s->nnodes;
    for (int i = 0; i < s->nnodes; i++)
        s->tasks[i] = ntasks_per_node > 0 ? ntasks_per_node : base + (i < extra);
}

struct step *step_new(uint32_t id, const char *name, const char *nodelist, int ntasks, bool pty,
                      int64_t start_time)
{
    struct step *s = xcalloc(1, sizeof(*s));
    char *copy = xstrdup(nodelist), *save = NULL;
    size_t cap = strlen(nodelist) / 2 + 2;

    s->id = id;
    s->name = xstrdup(name);
    s->nodes = xcalloc(cap, sizeof(char *));
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save))
        s->nodes[s->nnodes++] = xstrdup(t);
    free(copy);
    if (s->nnodes == 0)
        s->nodes[s->nnodes++] = xstrdup("");
    s->tasks = xcalloc((size_t)s->nnodes, sizeof(int));
    s->done = xcalloc((size_t)s->nnodes, sizeof(bool));
    s->cpu_ms = xcalloc((size_t)s->nnodes, sizeof(uint64_t));
    s->ntasks = ntasks < s->nnodes ? s->nnodes : ntasks;
    step_distribute(s, 0);
    s->pty = pty;
    s->start_time = start_time;
    s->state = JOB_RUNNING;
    return s;
}

void step_free(struct step *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nnodes; i++)
        free(s->nodes[i]);
    free(s->nodes);
    free(s->tasks);
    free(s->done);
    free(s->cpu_ms);
    free(s->name);
    free(s);
}

void steps_free(struct job *job)
{
    while (job->steps) {
        struct step *s = job->steps;
        job->steps = s->next;
        step_free(s);
    }
}

struct step *step_find(const struct job *job, uint32_t id)
{
    for (struct step *s = job->steps; s; s = s->next)
        if (s->id == id)
            return s;
    return NULL;
}

char *step_nodelist(const struct step *s, bool ranged)
{
    struct hostlist *hl;
    char *out;
    size_t len = 1;

    for (int i = 0; i < s->nnodes; i++)
        len += strlen(s->nodes[i]) + 1;
    out = xcalloc(1, len);
    for (int i = 0; i < s->nnodes; i++) {
        if (i)
            strcat(out, ",");
        strcat(out, s->nodes[i]);
    }
    if (!ranged || !(hl = hostlist_create(out, NULL)))
        return out;
    free(out);
    out = hostlist_ranged_string(hl);
    hostlist_destroy(hl);
    return out ? out : xstrdup("");
}

/* Slurm's compressed tasks-per-node list of a step, e.g. "2(x3),1". */
static char *step_tasks_per_node(const struct step *s)
{
    size_t cap = 64, len = 0;
    char *out = xcalloc(1, cap);
    for (int i = 0; i < s->nnodes;) {
        int k = i;
        while (k < s->nnodes && s->tasks[k] == s->tasks[i])
            k++;
        char part[48];
        int n = k - i > 1 ? snprintf(part, sizeof(part), "%s%d(x%d)", len ? "," : "", s->tasks[i],
                                     k - i)
                          : snprintf(part, sizeof(part), "%s%d", len ? "," : "", s->tasks[i]);
        if (len + (size_t)n + 1 > cap)
            out = xrealloc(out, cap = (len + (size_t)n + 1) * 2);
        memcpy(out + len, part, (size_t)n + 1);
        len += (size_t)n;
        i = k;
    }
    return out;
}

static int alloc_index(const struct job *job, const char *name)
{
    for (int i = 0; i < job->nalloc; i++)
        if (strcmp(job->alloc[i]->name, name) == 0)
            return i;
    return -1;
}

static bool may_use_job(struct ctld *c, const struct job *job, uid_t uid)
{
    return uid == job->uid || uid == 0 || uid == c->slurm_uid;
}

/* One entry per node of the step: where its daemon listens and a
 * credential that lets `client_uid` launch (or attach to) the step there. */
static json_t *node_entries(struct ctld *c, const struct job *job, uint32_t step_id,
                            const struct step *s, const char *purpose, uid_t client_uid,
                            sl_error_t *err)
{
    json_t *arr = json_array();
    int nnodes = s ? s->nnodes : 1, offset = 0;

    for (int i = 0; i < nnodes; i++) {
        const char *name = s ? s->nodes[i] : job->alloc[0]->name;
        struct node *n = node_find(c, name);
        int ai = alloc_index(job, name), ntasks = s ? s->tasks[i] : 1;
        char gpus[400] = "";
        size_t off = 0;

        if (!n || ai < 0 || !n->registered || !n->address || !*n->address) {
            json_decref(arr);
            errprintf(err, "node %s of job %u is not reachable", name, job->id);
            return NULL;
        }
        for (int g = 0; job->gpu_masks && g < 64; g++)
            if (job->gpu_masks[ai] & (1ULL << g))
                off += (size_t)snprintf(gpus + off, sizeof(gpus) - off, "%s%d", off ? "," : "", g);
        json_t *payload = json_pack(
            "{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:b, s:i,"
            " s:s, s:I, s:I}",
            "cred", "step", "purpose", purpose, "job_id", (json_int_t)job->id, "step_id",
            (json_int_t)step_id, "uid", (json_int_t)job->uid, "gid", (json_int_t)job->gid,
            "client_uid", (json_int_t)client_uid, "user", job->user, "node", name, "node_id", i,
            "ntasks", ntasks, "task_offset", offset, "step_tasks", s ? s->ntasks : 1, "step_nodes",
            nnodes, "pty", s ? s->pty : false, "cpus", job->alloc_cpus, "gpus", gpus, "expires",
            (json_int_t)(ctld_now() + STEP_CRED_TTL), "mem_mb", (json_int_t)job->alloc_mem);
        char *text = json_dumps(payload, JSON_COMPACT);
        char *cred = text ? sl_auth_encode(c->auth, text, strlen(text), err) : NULL;
        free(text);
        json_decref(payload);
        if (!cred) {
            json_decref(arr);
            return NULL;
        }
        json_array_append_new(arr, json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:s}", "name", name,
                                             "address", n->address, "port", n->port, "ntasks",
                                             ntasks, "task_offset", offset, "node_id", i, "cred",
                                             cred));
        free(cred);
        offset += ntasks;
    }
    return arr;
}

/* Look up the job a client names and check it may use it. */
static struct job *client_job(struct ctld *c, struct request *req)
{
    json_t *jid = json_object_get(req->msg.body, "job_id");
    struct job *job;

    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
        json_integer_value(jid) > UINT32_MAX) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job_id must be a positive integer");
        return NULL;
    }
    job = job_find(&c->jobs, (uint32_t)json_integer_value(jid));
    if (!job || (job->array_task_id < 0 && job->array_bits)) {
        ctld_reply(c, req, SL_E_INVALID_JOB_ID, NULL, NULL);
        return NULL;
    }
    if (!may_use_job(c, job, req->msg.uid)) {
        ctld_reply_errorf(c, req, SL_E_ACCESS_DENIED, "job %u belongs to %s", job->id, job->user);
        return NULL;
    }
    return job;
}

static bool job_is_live(struct ctld *c, struct request *req, const struct job *job)
{
    if (job->state == JOB_PENDING) {
        ctld_reply(c, req, SL_E_JOB_PENDING, NULL, NULL);
        return false;
    }
    if (job->state != JOB_RUNNING || job->completing || job->nalloc == 0) {
        ctld_reply(c, req, SL_E_ALREADY_DONE, NULL, NULL);
        return false;
    }
    if (job->configuring) {
        ctld_reply_errorf(c, req, SL_E_JOB_PENDING, "job %u is CONFIGURING: its nodes are "
                          "still booting", job->id);
        return false;
    }
    return true;
}

static int opt_int(struct ctld *c, struct request *req, const char *key, int min, int max,
                   int def, int *out)
{
    json_t *v = json_object_get(req->msg.body, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s must be an integer from %d to %d",
                          key, min, max);
        return -1;
    }
    *out = (int)json_integer_value(v);
    return 0;
}

void step_create_handle(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *nodes, *env, *reply;
    struct job *job;
    struct step *s;
    int ntasks, nnodes, ntpn;
    bool pty = json_is_true(json_object_get(body, "pty"));
    const char *name = json_string_value(json_object_get(body, "name"));
    sl_error_t err;
    char *nl, *nl_ranged, *tpn;

    if (!(job = client_job(c, req)) || !job_is_live(c, req, job))
        return;
    if (opt_int(c, req, "ntasks", 1, STEP_MAX_TASKS, 0, &ntasks) < 0 ||
        opt_int(c, req, "nodes", 1, job->nalloc > 0 ? 100000 : 1, 0, &nnodes) < 0 ||
        opt_int(c, req, "ntasks_per_node", 1, STEP_MAX_TASKS, 0, &ntpn) < 0)
        return;
    if (name && strlen(name) > STEP_MAX_NAME) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "name is longer than %d bytes",
                          STEP_MAX_NAME);
        return;
    }
    if (nnodes == 0) {
        if (ntasks && ntpn)
            nnodes = (ntasks + ntpn - 1) / ntpn;
        else if (ntasks)
            nnodes = ntasks < job->nalloc ? ntasks : job->nalloc;
        else
            nnodes = job->nalloc;
        if (nnodes > job->nalloc)
            nnodes = job->nalloc;
    }
    if (nnodes > job->nalloc) {
        ctld_reply_errorf(c, req, SL_E_INVALID_NODE_COUNT,
                          "the step asks for %d nodes; job %u has %d", nnodes, job->id,
                          job->nalloc);
        return;
    }
    if (ntasks == 0)
        ntasks = ntpn ? ntpn * nnodes : nnodes;
    if (ntasks < nnodes) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "%d tasks cannot use %d nodes: every node runs at least one", ntasks,
                          nnodes);
        return;
    }
    if (ntpn && ntasks > ntpn * nnodes) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "%d tasks do not fit %d nodes at %d tasks per node", ntasks, nnodes,
                          ntpn);
        return;
    }
    if (pty && ntasks != 1) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "--pty runs one task on one node; this step has %d tasks", ntasks);
        return;
    }

    /* the step's nodes are the first of the allocation, in its order */
    size_t len = 1;
    for (int i = 0; i < nnodes; i++)
        len += strlen(job->alloc[i]->name) + 1;
    nl = xcalloc(1, len);
    for (int i = 0; i < nnodes; i++) {
        if (i)
            strcat(nl, ",");
        strcat(nl, job->alloc[i]->name);
    }
    s = step_new(job->next_step, name && *name ? name : "bash", nl, ntasks, pty, ctld_now());
    free(nl);
    if (ntpn && ntasks == ntpn * nnodes)
        step_distribute(s, ntpn);
    if (!(nodes = node_entries(c, job, s->id, s, "launch", req->msg.uid, &err))) {
        ctld_reply_errorf(c, req, SL_E_NODE_CONFIG_UNAVAIL, "%s", err.text);
        step_free(s);
        return;
    }
    job->next_step++;
    if (persist_job_update(c, job) < 0 || persist_step(c, job->id, s) < 0) {
        job->next_step--;
        ctld_reply(c, req, SL_E_DB, NULL, NULL);
        json_decref(nodes);
        step_free(s);
        return;
    }
    s->next = job->steps;
    job->steps = s;
    job->last_activity = ctld_now();

    env = json_array();
    job_env(c, job, env);
    nl_ranged = step_nodelist(s, true);
    tpn = step_tasks_per_node(s);
    job_env_set(env, "SLURM_STEP_ID", "%u", s->id);
    job_env_set(env, "SLURM_STEPID", "%u", s->id);
    job_env_set(env, "SLURM_STEP_NUM_TASKS", "%d", s->ntasks);
    job_env_set(env, "SLURM_STEP_NUM_NODES", "%d", s->nnodes);
    job_env_set(env, "SLURM_STEP_NODELIST", "%s", nl_ranged);
    job_env_set(env, "SLURM_STEP_TASKS_PER_NODE", "%s", tpn);
    job_env_set(env, "SLURM_NTASKS", "%d", s->ntasks);
    job_env_set(env, "SLURM_NPROCS", "%d", s->ntasks);
    job_env_set(env, "SLURM_NNODES", "%d", s->nnodes);
    job_env_set(env, "SLURM_NODELIST", "%s", nl_ranged);
    job_env_set(env, "SLURM_TASKS_PER_NODE", "%s", tpn);
    log_info("step %u.%u created: %d task%s on %s%s", job->id, s->id, s->ntasks,
             s->ntasks > 1 ? "s" : "", nl_ranged, s->pty ? " (pty)" : "");
    reply = json_pack("{s:I, s:I, s:o, s:o, s:s}", "job_id", (json_int_t)job->id, "step_id",
                      (json_int_t)s->id, "nodes", nodes, "env", env, "nodelist", nl_ranged);
    ctld_reply(c, req, 0, NULL, reply);
    json_decref(reply);
    free(nl_ranged);
    free(tpn);
}

void step_attach_handle(struct ctld *c, struct request *req)
{
    json_t *jstep = json_object_get(req->msg.body, "step_id"), *nodes, *reply;
    struct job *job;
    struct step *s = NULL;
    uint32_t step_id;
    sl_error_t err;

    if (!(job = client_job(c, req)) || !job_is_live(c, req, job))
        return;
    if (!json_is_integer(jstep) || json_integer_value(jstep) < 0 ||
        json_integer_value(jstep) > UINT32_MAX) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "step_id must be a step number");
        return;
    }
    step_id = (uint32_t)json_integer_value(jstep);
    if (step_id == SL_STEP_BATCH) {
        if (job->interactive) {
            ctld_reply_errorf(c, req, SL_E_INVALID_STEP, "job %u has no batch step", job->id);
            return;
        }
    } else if (!(s = step_find(job, step_id))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_STEP, "step %u.%u is not running", job->id,
                          step_id);
        return;
    }
    if (!(nodes = node_entries(c, job, step_id, s, "attach", req->msg.uid, &err))) {
        ctld_reply_errorf(c, req, SL_E_NODE_CONFIG_UNAVAIL, "%s", err.text);
        return;
    }
    reply = json_pack("{s:I, s:I, s:b, s:i, s:o}", "job_id", (json_int_t)job->id, "step_id",
                      (json_int_t)step_id, "pty", s ? s->pty : false, "ntasks", s ? s->ntasks : 1,
                      "nodes", nodes);
    ctld_reply(c, req, 0, NULL, reply);
    json_decref(reply);
}

/* Is status a worse end than worst?  A signal beats an exit code; a
 * higher exit code beats a lower one. */
static bool worse(int status, int worst)
{
    if (WIFSIGNALED(worst))
        return false;
    if (WIFSIGNALED(status))
        return true;
    return WEXITSTATUS(status) > WEXITSTATUS(worst);
}

static void step_end(struct ctld *c, struct job *job, struct step *s, int state)
{
    s->state = state;
    s->end_time = ctld_now();
    persist_step(c, job->id, s);
    for (struct step **pp = &job->steps; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    log_info("step %u.%u ended: %s", job->id, s->id, job_state_name(state));
    job->last_activity = ctld_now();
    step_free(s);
}

/* The state a step's (worst) wait status means. */
static int step_state_of(int status)
{
    if (status == 0)
        return JOB_COMPLETED;
    if (WIFSIGNALED(status) && (WTERMSIG(status) == SIGTERM || WTERMSIG(status) == SIGKILL))
        return JOB_CANCELLED;
    return JOB_FAILED;
}

void step_complete_handle(struct ctld *c, struct request *req)
{
    json_t *b = req->msg.body;
    struct node *n = node_rpc_sender(c, req);
    json_t *jid = json_object_get(b, "job_id"), *sid = json_object_get(b, "step_id");
    json_t *st = json_object_get(b, "status");
    struct job *job;
    struct step *s;

    if (!n)
        return;
    if (!json_is_integer(jid) || !json_is_integer(sid) || !json_is_integer(st)) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "job_id, step_id and status are required");
        return;
    }
    job = job_find(&c->jobs, (uint32_t)json_integer_value(jid));
    s = job ? step_find(job, (uint32_t)json_integer_value(sid)) : NULL;
    if (!s) {
        /* Its job ended first and recorded it CANCELLED (srun released the
         * allocation before this report came, e.g. across a controller
         * restart): record how the step really ended. */
        int status = (int)json_integer_value(st);
        if (json_integer_value(jid) > 0 && json_integer_value(jid) <= UINT32_MAX &&
            json_integer_value(sid) >= 0 && json_integer_value(sid) <= UINT32_MAX &&
            persist_step_late_end(c, (uint32_t)json_integer_value(jid),
                                  (uint32_t)json_integer_value(sid), step_state_of(status),
                                  status) > 0)
            log_info("step %lld.%lld ended before its report: %s",
                     (long long)json_integer_value(jid), (long long)json_integer_value(sid),
                     job_state_name(step_state_of(status)));
        ctld_reply(c, req, SL_E_INVALID_STEP, NULL, NULL);
        return;
    }
    for (int i = 0; i < s->nnodes; i++) {
        if (strcmp(s->nodes[i], n->name) != 0 || s->done[i])
            continue;
        int status = (int)json_integer_value(st);
        s->done[i] = true;
        s->ndone++;
        if (s->ndone == 1 || worse(status, s->exit_status))
            s->exit_status = status;
    }
    if (s->ndone == s->nnodes)
        step_end(c, job, s, step_state_of(s->exit_status));
    ctld_reply(c, req, 0, NULL, NULL);
}

/* Tell every node of the job's running steps to end them. */
static void steps_signal_nodes(struct ctld *c, struct job *job)
{
    for (struct step *s = job->steps; s; s = s->next)
        for (int i = 0; i < s->nnodes; i++) {
            bool seen = false;
            for (struct step *t = job->steps; t && t != s && !seen; t = t->next)
                for (int k = 0; k < t->nnodes; k++)
                    seen |= strcmp(t->nodes[k], s->nodes[i]) == 0;
            for (int k = 0; k < i; k++)
                seen |= strcmp(s->nodes[k], s->nodes[i]) == 0;
            struct node *n = seen ? NULL : node_find(c, s->nodes[i]);
            if (!n || !n->registered)
                continue;
            json_t *body = json_pack("{s:I, s:i, s:i, s:b}", "job_id", (json_int_t)job->id,
                                     "signal", SIGTERM, "kill_wait", c->conf->kill_wait,
                                     "steps_only", 1);
            ctld_send_node(c, n, SL_MSG_SIGNAL_JOB, body);
            json_decref(body);
        }
}

void steps_job_ended(struct ctld *c, struct job *job)
{
    if (!job->steps)
        return;
    steps_signal_nodes(c, job);
    while (job->steps)
        step_end(c, job, job->steps, JOB_CANCELLED);
}

void alloc_release_handle(struct ctld *c, struct request *req)
{
    struct job *job;
    int code, sig;

    if (!(job = client_job(c, req)))
        return;
    if (opt_int(c, req, "exit_code", 0, 255, 0, &code) < 0 ||
        opt_int(c, req, "signal", 0, 64, 0, &sig) < 0)
        return;
    if (!job->interactive) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "job %u is a batch job, not an allocation (use scancel)", job->id);
        return;
    }
    if (job->state == JOB_PENDING) {
        job_terminate(c, job, JOB_CANCELLED, REASON_NONE, (int)req->msg.uid);
    } else if (job->state == JOB_RUNNING && !job->completing) {
        job->exit_status = code;
        job->exit_signal = sig;
        job->end_time = ctld_now();
        log_info("job %u: allocation released (exit %d:%d)", job->id, code, sig);
        job_set_final(c, job, code == 0 && sig == 0 ? JOB_COMPLETED : JOB_FAILED,
                      code == 0 && sig == 0 ? REASON_NONE : REASON_NON_ZERO_EXIT);
    }
    /* already ended (cancelled, timed out): releasing again is not an error */
    ctld_reply(c, req, 0, NULL, NULL);
}

void steps_activity(struct ctld *c, struct node *n, json_t *steps)
{
    int64_t now = ctld_now();
    int hb = c->conf->heartbeat_interval > 0 ? c->conf->heartbeat_interval : 1;
    size_t i;
    json_t *e;
    int live = 0;

    json_array_foreach(steps, i, e)
    {
        json_t *jid = json_object_get(e, "job_id"), *sid = json_object_get(e, "step_id");
        if (!json_is_integer(jid) || !json_is_integer(sid))
            continue;
        struct job *job = job_find(&c->jobs, (uint32_t)json_integer_value(jid));
        struct step *s = job ? step_find(job, (uint32_t)json_integer_value(sid)) : NULL;
        if (!s) {
            /* it ended here while the node was away: end it there too */
            log_warn("node %s runs step %lld.%lld, which is not running here: ending it",
                     n->name, (long long)json_integer_value(jid),
                     (long long)json_integer_value(sid));
            json_t *body = json_pack("{s:I, s:i, s:i, s:b, s:I}", "job_id", json_integer_value(jid),
                                     "signal", SIGTERM, "kill_wait", c->conf->kill_wait,
                                     "steps_only", 1, "step_id", json_integer_value(sid));
            ctld_send_node(c, n, SL_MSG_SIGNAL_JOB, body);
            json_decref(body);
            continue;
        }
        live++;
        for (int k = 0; k < s->nnodes; k++) {
            if (strcmp(s->nodes[k], n->name) != 0)
                continue;
            json_int_t idle = json_integer_value(json_object_get(e, "idle_s"));
            json_int_t cpu = json_integer_value(json_object_get(e, "cpu_ms"));
            int64_t active = 0;
            if (idle >= 0 && idle <= now - s->start_time)
                active = now - idle; /* last terminal input */
            if (cpu > 0 && (uint64_t)cpu >= s->cpu_ms[k] &&
                (double)((uint64_t)cpu - s->cpu_ms[k]) >= ACTIVE_CPU_SHARE * hb * 1000.0)
                active = now;
            if (cpu >= 0)
                s->cpu_ms[k] = (uint64_t)cpu;
            s->attached = json_is_true(json_object_get(e, "attached"));
            if (active > job->last_activity) {
                job->last_activity = active;
                if (job->idle_warned && active > job->idle_warned) {
                    log_info("job %u: session active again", job->id);
                    job->idle_warned = 0;
                    job_counts_sync(&c->jobs, job);
                }
            }
        }
    }
    n->nsessions = live;
}

static void fmt_span(int64_t s, char *buf, size_t size)
{
    if (s >= 3600)
        snprintf(buf, size, "%lldh%02lldm", (long long)(s / 3600), (long long)(s % 3600 / 60));
    else if (s >= 60)
        snprintf(buf, size, "%lldm%02llds", (long long)(s / 60), (long long)(s % 60));
    else
        snprintf(buf, size, "%llds", (long long)s);
}

void sessions_check_idle(struct ctld *c, struct job *job, int64_t now)
{
    struct part *p;
    int64_t last, timeout, warning;

    if (!job->interactive || job->state != JOB_RUNNING || job->completing)
        return;
    if (!(p = part_find(c, job->partition)) || p->conf->idle_timeout <= 0)
        return;
    timeout = p->conf->idle_timeout;
    warning = p->conf->idle_warning;
    last = job->last_activity > job->start_time ? job->last_activity : job->start_time;
    if (!job->idle_warned && now - last >= timeout) {
        char idle[32], left[32];
        fmt_span(now - last, idle, sizeof(idle));
        fmt_span(warning, left, sizeof(left));
        char *msg = xasprintf("\r\nslurmish: job %u has been idle for %s (no terminal input, "
                              "little CPU); it will be ended in %s unless it is used\r\n",
                              job->id, idle, left);
        for (int i = 0; i < job->nalloc; i++) {
            json_t *body = json_pack("{s:I, s:s}", "job_id", (json_int_t)job->id, "message", msg);
            ctld_send_node(c, job->alloc[i], SL_MSG_SESSION_WARN, body);
            json_decref(body);
        }
        log_info("job %u: idle for %s; warned", job->id, idle);
        free(msg);
        job->idle_warned = now;
        job_counts_sync(&c->jobs, job);
    } else if (job->idle_warned && now - job->idle_warned >= warning) {
        log_info("job %u: idle past the partition's session_idle_timeout; ending it", job->id);
        persist_event(c, 0, "session_idle_end", job->name);
        job_terminate(c, job, JOB_TIMEOUT, REASON_INACTIVE_LIMIT, -1);
    }
}

json_t *steps_to_json(const struct job *job)
{
    json_t *arr = json_array();
    for (struct step *s = job->steps; s; s = s->next) {
        char *nl = step_nodelist(s, true);
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:i, s:i, s:s, s:b, s:I, s:s, s:b}", "step_id",
                           (json_int_t)s->id, "name", s->name, "ntasks", s->ntasks, "nnodes",
                           s->nnodes, "nodes", nl, "pty", s->pty, "start_time",
                           (json_int_t)s->start_time, "state", job_state_name(s->state),
                           "attached", s->attached));
        free(nl);
    }
    return arr;
}
