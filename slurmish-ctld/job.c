/* job.c - job table, state transitions and job JSON; see job.h for the
 * state machine. */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "ctld.h"
#include "jobjson.h"
#include "persist.h"
#include "power.h"
#include "step.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

static const char *reason_names[REASON_COUNT] = {
    [REASON_NONE] = "None",
    [REASON_RESOURCES] = "Resources",
    [REASON_PRIORITY] = "Priority",
    [REASON_PARTITION_DOWN] = "PartitionDown",
    [REASON_PARTITION_TIME_LIMIT] = "PartitionTimeLimit",
    [REASON_PARTITION_NODE_LIMIT] = "PartitionNodeLimit",
    [REASON_PARTITION_INACTIVE] = "PartitionInactive",
    [REASON_NODE_DOWN] = "NodeDown",
    [REASON_JOB_HELD_USER] = "JobHeldUser",
    [REASON_JOB_HELD_ADMIN] = "JobHeldAdmin",
    [REASON_DEPENDENCY] = "Dependency",
    [REASON_DEPENDENCY_NEVER] = "DependencyNeverSatisfied",
    [REASON_ARRAY_TASK_LIMIT] = "JobArrayTaskLimit",
    [REASON_BEGIN_TIME] = "BeginTime",
    [REASON_REQ_NODE_NOT_AVAIL] = "ReqNodeNotAvail",
    [REASON_LAUNCH_FAILED] = "launch_failed_requeued_held",
    [REASON_TIME_LIMIT] = "TimeLimit",
    [REASON_NON_ZERO_EXIT] = "NonZeroExitCode",
    [REASON_INACTIVE_LIMIT] = "InactiveLimit",
    [REASON_PARTITION_MISSING] = "PartitionDoesNotExist",
    [REASON_BUDGET] = "AccountBudgetExceeded",
};

const char *job_reason_name(int r)
{
    return (r >= 0 && r < REASON_COUNT && reason_names[r]) ? reason_names[r] : "None";
}

/* ---- table ---- */

void job_table_init(struct job_table *t)
{
    memset(t, 0, sizeof(*t));
    t->nbuckets = 1024;
    t->buckets = xcalloc(t->nbuckets, sizeof(*t->buckets));
}

static void rehash(struct job_table *t)
{
    size_t nb = t->nbuckets * 4;
    struct job **b = xcalloc(nb, sizeof(*b));
    for (size_t i = 0; i < t->nbuckets; i++) {
        struct job *j = t->buckets[i], *next;
        for (; j; j = next) {
            next = j->hnext;
            j->hnext = b[j->id % nb];
            b[j->id % nb] = j;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = nb;
}

struct job *job_find(struct job_table *t, uint32_t id)
{
    for (struct job *j = t->buckets[id % t->nbuckets]; j; j = j->hnext)
        if (j->id == id)
            return j;
    return NULL;
}

/* The two lists a table's jobs are on (job.h): link at the tail, unlink. */
static void list_link(struct job **head, struct job **tail, struct job *job)
{
    job->qprev = *tail;
    job->qnext = NULL;
    if (*tail)
        (*tail)->qnext = job;
    else
        *head = job;
    *tail = job;
}

static void list_unlink(struct job **head, struct job **tail, struct job *job)
{
    if (job->qprev)
        job->qprev->qnext = job->qnext;
    else
        *head = job->qnext;
    if (job->qnext)
        job->qnext->qprev = job->qprev;
    else
        *tail = job->qprev;
    job->qprev = job->qnext = NULL;
}

/* The active and ended lists (job.h), with their counts: a job that is
 * not pending goes to the one its state calls for. */
static void rest_add(struct job_table *t, struct job *job)
{
    job->on_ended = job_is_ended(job);
    if (job->on_ended) {
        list_link(&t->ehead, &t->etail, job);
        t->nended++;
    } else {
        list_link(&t->ahead, &t->atail, job);
        t->nactive++;
    }
}

static void rest_del(struct job_table *t, struct job *job)
{
    if (job->on_ended) {
        list_unlink(&t->ehead, &t->etail, job);
        t->nended--;
    } else {
        list_unlink(&t->ahead, &t->atail, job);
        t->nactive--;
    }
    job->on_ended = false;
}

void job_lists_sync(struct job_table *t, struct job *job)
{
    if (!job->in_table || job->queued || job->on_ended == job_is_ended(job))
        return;
    rest_del(t, job);
    rest_add(t, job);
}

void job_insert(struct job_table *t, struct job *job)
{
    if (t->count >= t->nbuckets)
        rehash(t);
    size_t b = job->id % t->nbuckets;
    job->hnext = t->buckets[b];
    t->buckets[b] = job;
    t->count++;
    job->in_table = true;
    if (!job->queued)
        rest_add(t, job);
    job_counts_add(t, job);
}

void job_remove(struct job_table *t, struct job *job)
{
    struct job **pp = &t->buckets[job->id % t->nbuckets];
    for (; *pp; pp = &(*pp)->hnext) {
        if (*pp == job) {
            *pp = job->hnext;
            t->count--;
            job_counts_del(t, job);
            break;
        }
    }
    if (job->in_table && !job->queued)
        rest_del(t, job);
    job->in_table = false; /* first: leaving the queue must not put it on the other list */
    job_queue_del(t, job);
}

/* The set of pending jobs.  Order does not matter: every scheduling pass
 * sorts them by priority (sched.c). */
void job_queue_add(struct job_table *t, struct job *job)
{
    if (job->queued)
        return;
    if (job->in_table)
        rest_del(t, job);
    list_link(&t->qhead, &t->qtail, job);
    job->queued = true;
    t->npending++;
}

void job_queue_del(struct job_table *t, struct job *job)
{
    if (!job->queued)
        return;
    list_unlink(&t->qhead, &t->qtail, job);
    job->queued = false;
    t->npending--;
    if (job->in_table)
        rest_add(t, job);
}

void job_free(struct job *j)
{
    if (!j)
        return;
    free(j->name);
    free(j->user);
    free(j->group);
    free(j->partition);
    free(j->work_dir);
    free(j->out);
    free(j->err);
    free(j->in);
    free(j->submit_host);
    free(j->account);
    free(j->comment);
    free(j->fallback);
    free(j->command);
    free(j->alloc);
    free(j->nodelist);
    free(j->gpu_masks);
    free(j->gpu_type);
    free(j->constraint);
    free(j->req_nodes);
    free(j->exc_nodes);
    free(j->dependency);
    free(j->array_bits);
    steps_free(j);
    free(j);
}

void job_table_free(struct job_table *t)
{
    for (size_t b = 0; b < t->nbuckets; b++) {
        struct job *j = t->buckets[b], *next;
        for (; j; j = next) {
            next = j->hnext;
            job_free(j);
        }
    }
    free(t->buckets);
    job_counts_free(t);
    memset(t, 0, sizeof(*t));
}

/* ---- invariants ---- */

void job_assert_state(const struct job *j)
{
    if (j->state == JOB_PENDING && (j->nalloc != 0 || j->completing))
        fatalx("job %u: PENDING with an allocation", j->id);
    if (j->state == JOB_RUNNING && (j->nalloc < 1 || j->start_time <= 0))
        fatalx("job %u: RUNNING without an allocation", j->id);
    if (job_state_is_final(j->state) && !j->completing && j->nalloc != 0)
        fatalx("job %u: final and not completing, but holds nodes", j->id);
    if (j->queued != (j->state == JOB_PENDING))
        fatalx("job %u: queued=%d in state %s", j->id, j->queued, job_state_name(j->state));
}

/* ---- transitions ---- */

int job_alloc(struct ctld *c, struct job *job, struct node **nodes, int n, int cpus, uint64_t mem,
              const uint64_t *gpu_masks)
{
    job->alloc = xcalloc((size_t)n, sizeof(*job->alloc));
    free(job->gpu_masks);
    job->gpu_masks = xcalloc((size_t)n, sizeof(*job->gpu_masks));
    for (int i = 0; i < n; i++) {
        job->alloc[i] = nodes[i];
        nodes[i]->cpus_used += cpus;
        nodes[i]->mem_used += mem;
        if (gpu_masks) {
            job->gpu_masks[i] = gpu_masks[i];
            if (nodes[i]->gpus_used & gpu_masks[i])
                fatalx("job %u: GPUs of %s allocated twice", job->id, nodes[i]->name);
            nodes[i]->gpus_used |= gpu_masks[i];
        }
        if (job->exclusive)
            nodes[i]->excl_job = job->id;
        nodes[i]->njobs++;
        node_update_state(c, nodes[i]);
    }
    job->nalloc = n;
    free(job->nodelist);
    size_t len = 1;
    for (int i = 0; i < n; i++)
        len += strlen(nodes[i]->name) + 1;
    job->nodelist = xcalloc(1, len);
    for (int i = 0; i < n; i++) {
        if (i)
            strcat(job->nodelist, ",");
        strcat(job->nodelist, nodes[i]->name);
    }
    job->alloc_cpus = cpus;
    job->alloc_mem = mem;
    return 0;
}

void job_release(struct ctld *c, struct job *job)
{
    power_job_cost(c, job, job->end_time > 0 ? job->end_time : ctld_now());
    for (int i = 0; i < job->nalloc; i++) {
        struct node *n = job->alloc[i];
        n->cpus_used -= job->alloc_cpus;
        n->mem_used -= job->alloc_mem;
        if (job->gpu_masks)
            n->gpus_used &= ~job->gpu_masks[i];
        if (n->excl_job == job->id)
            n->excl_job = 0;
        n->njobs--;
        if (n->cpus_used < 0 || n->njobs < 0)
            fatalx("node %s: negative usage after releasing job %u", n->name, job->id);
        node_update_state(c, n);
    }
    free(job->alloc);
    job->alloc = NULL;
    /* keep the batch host's GPU mask for display; the rest goes */
    job->nalloc = 0;
    job->completing = false;
    c->sched_needed = true;
}

/* Record a final state for a job that holds no running processes any more. */
void job_set_final(struct ctld *c, struct job *job, int state, int reason)
{
    if (job->state == JOB_RUNNING || job->completing)
        array_task_ended(c, job);
    if (job->array_bits) { /* a meta record that ends has no pending tasks left */
        free(job->array_bits);
        job->array_bits = NULL;
        job->array_nbits = job->array_pending = 0;
    }
    job_queue_del(&c->jobs, job);
    steps_job_ended(c, job);
    job->state = state;
    job->reason = reason;
    if (!job->end_time)
        job->end_time = ctld_now();
    if (job->nalloc)
        job_release(c, job);
    job->completing = false;
    job->launch_seq = 0;
    persist_job_update(c, job);
    job_assert_state(job);
}

/* The node reported the batch script's end with raw wait status. */
void job_finish(struct ctld *c, struct job *job, int status, int64_t end_time)
{
    int state, reason = REASON_NONE;

    if (WIFEXITED(status)) {
        job->exit_status = WEXITSTATUS(status);
        job->exit_signal = 0;
    } else if (WIFSIGNALED(status)) {
        job->exit_status = 0;
        job->exit_signal = WTERMSIG(status);
    }
    if (job->interrupted && job->state == JOB_RUNNING && !job->interactive) {
        /* its node is being reclaimed: however the script ended, it did not finish */
        if (job->requeue) {
            log_info("job %u requeued after a spot interruption", job->id);
            job_requeue(c, job, REASON_NONE);
            return;
        }
        job->end_time = end_time > 0 ? end_time : ctld_now();
        job_set_final(c, job, JOB_PREEMPTED, REASON_NODE_DOWN);
        return;
    }
    if (job->pending_end_state == JOB_PENDING && job->state == JOB_RUNNING) {
        log_info("job %u requeued", job->id);
        job_requeue(c, job, REASON_NONE);
        return;
    }
    if (job_state_is_final(job->state)) {
        /* cancelled or timed out earlier: the end only releases resources */
        job->completing = false;
        job_set_final(c, job, job->state, job->reason);
        return;
    }
    if (job->pending_end_state >= 0) {
        state = job->pending_end_state;
        reason = state == JOB_TIMEOUT ? REASON_TIME_LIMIT : REASON_NONE;
    } else if (job->oom) {
        /* the kernel killed it (or part of it) at its memory limit; Slurm's 0:125 */
        state = JOB_OUT_OF_MEMORY;
        job->exit_status = 0;
        job->exit_signal = 125;
    } else if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        state = JOB_COMPLETED;
    } else {
        state = JOB_FAILED;
        reason = REASON_NON_ZERO_EXIT;
    }
    job->end_time = end_time > 0 ? end_time : ctld_now();
    log_info("job %u %s on %s (exit %d:%d)", job->id, job_state_name(state),
             job->nalloc ? job->alloc[0]->name : "?", job->exit_status, job->exit_signal);
    job_set_final(c, job, state, reason);
}

/* Put a job whose launch failed back in the queue. */
void job_requeue(struct ctld *c, struct job *job, int reason)
{
    if (job->nalloc)
        job_release(c, job);
    job->state = JOB_PENDING;
    job->reason = reason;
    free(job->nodelist);
    job->nodelist = NULL;
    free(job->gpu_masks);
    job->gpu_masks = NULL;
    job->start_time = 0;
    job->end_time = 0;
    job->launch_seq = 0;
    job->pending_end_state = -1;
    job->kill_time = 0;
    job->configuring = false;
    job->interrupted = false;
    job->preempted = false;
    job->restarts++;
    job_queue_add(&c->jobs, job);
    persist_job_update(c, job);
    job_assert_state(job);
}

void job_requeue_running(struct ctld *c, struct job *job)
{
    job->pending_end_state = JOB_PENDING; /* job_finish() requeues it */
    json_t *body = json_pack("{s:I, s:i, s:i}", "job_id", (json_int_t)job->id, "signal", SIGTERM,
                             "kill_wait", c->conf->kill_wait);
    ctld_send_node(c, job->alloc[0], SL_MSG_SIGNAL_JOB, body);
    json_decref(body);
    persist_job_update(c, job);
}

/* Cancel, time out or fail a job.  A pending job ends at once; a running
 * one is marked with its final state (as Slurm shows CANCELLED at once)
 * and keeps its allocation, `completing`, until the node reports the end. */
void job_terminate(struct ctld *c, struct job *job, int end_state, int reason, int by_uid)
{
    if (end_state == JOB_CANCELLED)
        job->cancelled_by = by_uid;
    if (job->state == JOB_PENDING) {
        job_set_final(c, job, end_state, reason);
        return;
    }
    if (job->state != JOB_RUNNING)
        return;
    if (job->interactive) {
        /* no batch script to wait for: the steps are told to end, and
         * the allocation ends now (as Slurm revokes it) */
        job->end_time = ctld_now();
        job_set_final(c, job, end_state, reason);
        return;
    }
    steps_job_ended(c, job);
    job->state = end_state;
    job->reason = reason;
    job->end_time = ctld_now();
    job->completing = true;
    job->kill_time = ctld_now();
    json_t *body = json_pack("{s:I, s:i, s:i}", "job_id", (json_int_t)job->id, "signal", SIGTERM,
                             "kill_wait", c->conf->kill_wait);
    ctld_send_node(c, job->alloc[0], SL_MSG_SIGNAL_JOB, body);
    json_decref(body);
    persist_job_update(c, job);
    job_assert_state(job);
}

/* ---- environment and launch ---- */

void job_env_set(json_t *env, const char *key, const char *fmt, ...)
{
    char *val, *kv;
    size_t klen = strlen(key);
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&val, fmt, ap) < 0)
        fatalx("out of memory");
    va_end(ap);
    kv = xasprintf("%s=%s", key, val);
    free(val);
    size_t i;
    json_t *v;
    json_array_foreach(env, i, v)
    {
        const char *s = json_string_value(v);
        if (s && strncmp(s, key, klen) == 0 && s[klen] == '=') {
            json_array_set_new(env, i, json_string(kv));
            free(kv);
            return;
        }
    }
    json_array_append_new(env, json_string(kv));
    free(kv);
}

static char *alloc_hostlist(const struct job *job)
{
    struct hostlist *hl = hostlist_create(job->nodelist, NULL);
    char *s;
    if (!hl)
        return xstrdup("");
    hostlist_uniq(hl);
    s = hostlist_ranged_string(hl);
    hostlist_destroy(hl);
    return s ? s : xstrdup("");
}

/* Slurm's compressed tasks-per-node list, e.g. "2(x3),1". */
static char *tasks_per_node(const struct job *job)
{
    int n = job->nalloc, base = job->ntasks / n, extra = job->ntasks % n;
    if (extra == 0)
        return n > 1 ? xasprintf("%d(x%d)", base, n) : xasprintf("%d", base);
    char *a = extra > 1 ? xasprintf("%d(x%d)", base + 1, extra) : xasprintf("%d", base + 1);
    char *b = (n - extra) > 1 ? xasprintf("%d(x%d)", base, n - extra) : xasprintf("%d", base);
    char *s = xasprintf("%s,%s", a, b);
    free(a);
    free(b);
    return s;
}

/* Add the job-wide SLURM_* variables; the node adds node-specific ones. */
void job_env(struct ctld *c, const struct job *job, json_t *env)
{
    char *nodelist = alloc_hostlist(job);
    char *tpn = tasks_per_node(job);

    job_env_set(env, "SLURM_JOB_ID", "%u", job->id);
    job_env_set(env, "SLURM_JOBID", "%u", job->id);
    job_env_set(env, "SLURM_JOB_NAME", "%s", job->name);
    job_env_set(env, "SLURM_JOB_NODELIST", "%s", nodelist);
    job_env_set(env, "SLURM_NODELIST", "%s", nodelist);
    job_env_set(env, "SLURM_NNODES", "%d", job->nalloc);
    job_env_set(env, "SLURM_JOB_NUM_NODES", "%d", job->nalloc);
    job_env_set(env, "SLURM_NTASKS", "%d", job->ntasks);
    job_env_set(env, "SLURM_NPROCS", "%d", job->ntasks);
    job_env_set(env, "SLURM_TASKS_PER_NODE", "%s", tpn);
    job_env_set(env, "SLURM_JOB_CPUS_PER_NODE", job->nalloc > 1 ? "%d(x%d)" : "%d", job->alloc_cpus,
            job->nalloc);
    if (job->cpus_per_task > 1)
        job_env_set(env, "SLURM_CPUS_PER_TASK", "%d", job->cpus_per_task);
    job_env_set(env, "SLURM_MEM_PER_NODE", "%llu", (unsigned long long)job->alloc_mem);
    job_env_set(env, "SLURM_JOB_PARTITION", "%s", job->partition);
    job_env_set(env, "SLURM_SUBMIT_DIR", "%s", job->work_dir);
    job_env_set(env, "SLURM_SUBMIT_HOST", "%s", job->submit_host ? job->submit_host : "");
    job_env_set(env, "SLURM_JOB_USER", "%s", job->user);
    job_env_set(env, "SLURM_JOB_UID", "%u", (unsigned)job->uid);
    job_env_set(env, "SLURM_JOB_GID", "%u", (unsigned)job->gid);
    job_env_set(env, "SLURM_JOB_GROUP", "%s", job->group);
    job_env_set(env, "SLURM_CLUSTER_NAME", "%s", c->conf->cluster_name);
    job_env_set(env, "SLURM_JOB_ACCOUNT", "%s", job->account ? job->account : "");
    if (job->time_limit > 0)
        job_env_set(env, "SLURM_JOB_END_TIME", "%lld", (long long)(job->start_time + job->time_limit));
    job_env_set(env, "SLURM_JOB_START_TIME", "%lld", (long long)job->start_time);
    job_env_set(env, "SLURM_GTIDS", "0");
    if (job->array_job_id) {
        struct job *meta = job_find(&c->jobs, job->array_job_id);
        job_env_set(env, "SLURM_ARRAY_JOB_ID", "%u", job->array_job_id);
        job_env_set(env, "SLURM_ARRAY_TASK_ID", "%d", job->array_task_id);
        job_env_set(env, "SLURM_ARRAY_TASK_COUNT", "%u", meta ? meta->array_count : job->array_count);
        job_env_set(env, "SLURM_ARRAY_TASK_MIN", "%u", meta ? meta->array_min : job->array_min);
        job_env_set(env, "SLURM_ARRAY_TASK_MAX", "%u", meta ? meta->array_max : job->array_max);
    }
    if (job->gpu_masks && job->gpu_masks[0]) {
        /* the batch script runs on alloc[0]: its GPUs, lowest index first */
        char ids[400] = "";
        size_t off = 0;
        for (int g = 0; g < 64; g++)
            if (job->gpu_masks[0] & (1ULL << g))
                off += (size_t)snprintf(ids + off, sizeof(ids) - off, "%s%d", off ? "," : "", g);
        job_env_set(env, "CUDA_VISIBLE_DEVICES", "%s", ids);
        job_env_set(env, "SLURM_JOB_GPUS", "%s", ids);
        job_env_set(env, "GPU_DEVICE_ORDINAL", "%s", ids);
        job_env_set(env, "SLURM_GPUS_ON_NODE", "%d", __builtin_popcountll(job->gpu_masks[0]));
    }
    free(nodelist);
    free(tpn);
}

void job_launch(struct ctld *c, struct job *job)
{
    char *script = NULL, *nodelist;
    json_t *argv = NULL, *env = NULL, *body;

    /* array tasks read the script and environment from the meta job's row */
    if (persist_job_launch_data(c, job->array_job_id ? job->array_job_id : job->id, &script, &argv,
                                &env) < 0) {
        job_set_final(c, job, JOB_FAILED, REASON_LAUNCH_FAILED);
        return;
    }
    job_env(c, job, env);
    nodelist = alloc_hostlist(job);
    body = json_pack("{s:I, s:s, s:s, s:I, s:I, s:s, s:o, s:o, s:s, s:s?, s:s?, s:s?, s:i, s:I,"
                     " s:I, s:s}",
                     "job_id", (json_int_t)job->id, "name", job->name, "user", job->user, "uid",
                     (json_int_t)job->uid, "gid", (json_int_t)job->gid, "script", script, "argv",
                     argv, "env", env, "work_dir", job->work_dir, "stdout", job->out, "stderr",
                     job->err, "stdin", job->in, "cpus", job->alloc_cpus, "mem_mb",
                     (json_int_t)job->alloc_mem, "time_limit", (json_int_t)job->time_limit,
                     "nodes", nodelist);
    free(script);
    free(nodelist);
    if (!body)
        fatalx("job %u: cannot build launch message", job->id);
    if (job->array_job_id) {
        json_object_set_new(body, "array_job_id", json_integer(job->array_job_id));
        json_object_set_new(body, "array_task_id", json_integer(job->array_task_id));
    }
    job->launch_seq = ctld_send_node(c, job->alloc[0], SL_MSG_LAUNCH_JOB, body);
    json_decref(body);
    if (!job->launch_seq) {
        log_warn("job %u: node %s unreachable, requeued", job->id, job->alloc[0]->name);
        node_set_down(c, job->alloc[0], "Not responding");
    }
}

/* ---- JSON ---- */

/* The few-job paths (scontrol show job, sacct, srun's look-ups) get a
 * jansson tree of the same text the bulk list is written as: the field
 * table in jobjson.c is the only description of a job's JSON. */
json_t *job_to_json(struct ctld *c, const struct job *j)
{
    struct jw w;
    json_error_t err;
    jw_init(&w, 2048);
    job_write_object(&w, c, j, false);
    json_t *o = json_loadb(w.buf, w.len, 0, &err);
    if (!o)
        fatalx("job %u: cannot build JSON: %s", j->id, err.text);
    jw_free(&w);
    return o;
}
