/* job.h - the controller's job records and their state machine.
 *
 * Jobs live in memory (a hash by id plus a queue of pending jobs in
 * scheduling order) and in SQLite (persist.c).  The script, argv and
 * environment stay only in SQLite and are read back at launch, so a
 * pending job costs little memory.
 *
 * State machine (enum job_state in lib/types.h):
 *
 *   PENDING --sched_start_job()--> RUNNING --job_finish()--> COMPLETED | FAILED
 *      |                              |  \--job_finish() after cancel/timeout/node fail
 *      |                              |       --> CANCELLED | TIMEOUT | NODE_FAIL
 *      |                              \--job_requeue() (launch failed)--> PENDING
 *      \--job_cancel()--> CANCELLED (never ran)
 *
 * Invariants:
 *  - PENDING: no allocation (nalloc == 0), start_time == 0.
 *  - RUNNING: nalloc >= 1, alloc[0] is the batch host, start_time > 0,
 *    and the allocation is counted in every allocated node's used CPUs
 *    and memory.
 *  - A final state with `completing` set still holds its allocation: the
 *    node has not yet reported that the processes are gone.  When it does
 *    (or the node is declared DOWN) the allocation is released.
 *  - A final state without `completing` holds no allocation.
 */
#ifndef CTLD_JOB_H
#define CTLD_JOB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <jansson.h>

#include "types.h"

struct ctld;
struct node;
struct step;
struct part;

/* Pending/finish reasons, spelled as Slurm spells them. */
enum job_reason {
    REASON_NONE = 0,
    REASON_RESOURCES,
    REASON_PRIORITY,
    REASON_PARTITION_DOWN,
    REASON_PARTITION_TIME_LIMIT,
    REASON_PARTITION_NODE_LIMIT,
    REASON_PARTITION_INACTIVE,
    REASON_NODE_DOWN,
    REASON_JOB_HELD_USER,
    REASON_LAUNCH_FAILED,
    REASON_TIME_LIMIT,
    REASON_NON_ZERO_EXIT,
    REASON_JOB_HELD_ADMIN, /* values are stored: append only */
    REASON_DEPENDENCY,
    REASON_DEPENDENCY_NEVER,
    REASON_ARRAY_TASK_LIMIT,
    REASON_BEGIN_TIME,
    REASON_REQ_NODE_NOT_AVAIL,
    REASON_INACTIVE_LIMIT, /* an interactive session stayed idle past its partition's limit */
    REASON_PARTITION_MISSING, /* its partition was removed from the configuration */
    REASON_BUDGET,            /* its account spent its budget for the period */
    REASON_COUNT
};
const char *job_reason_name(int reason);

struct job {
    uint32_t id;
    char *name;
    uid_t uid;
    gid_t gid;
    char *user;
    char *group;
    char *partition; /* name; the partition may be gone after a reconfig */
    int state;       /* enum job_state */
    int reason;      /* enum job_reason */
    bool completing; /* final state, node not yet done: allocation held */
    bool held;
    bool held_by_admin;   /* JobHeldAdmin: only an admin may release */
    char *dependency;     /* --dependency as given; NULL once satisfied */
    int warn_signal, warn_time; /* --signal: this signal, warn_time s before the limit */
    bool warn_batch;            /* B: the batch shell only */
    bool warn_sent;
    /* job arrays (array.c): a meta record holds the pending task ids */
    uint32_t array_job_id;   /* 0: not part of an array */
    int32_t array_task_id;   /* -1: the meta record of pending tasks */
    uint8_t *array_bits;     /* meta: pending task ids */
    uint32_t array_nbits, array_pending, array_count, array_min, array_max;
    int array_throttle;      /* %N: at most N tasks running, 0 = no limit */
    int array_running;       /* meta: tasks running now (memory only) */
    bool kill_on_invalid_dep;
    uint32_t prio_set;    /* priority fixed by an admin (scontrol update Priority=), 0 = computed */
    int64_t submit_time, start_time, end_time;
    int64_t time_limit; /* seconds, -1 unlimited */
    int nodes_req, ntasks, cpus_per_task;
    uint64_t mem_mb; /* per node, 0 = share by CPUs (or mem_per_cpu_mb) */
    uint64_t mem_per_cpu_mb;
    int ntasks_per_node; /* 0 = not given */
    int gpus_per_node;   /* 0 = none */
    char *gpu_type;      /* NULL = any */
    bool exclusive;
    char *constraint;    /* features: a&b (all) or a|b (any) */
    char *req_nodes;     /* -w hostlist, NULL if none */
    char *exc_nodes;     /* -x hostlist, NULL if none */
    uint32_t priority;    /* recomputed by every scheduling pass (sched.c) */
    int nice;             /* --nice: subtracted from the priority */
    int64_t expected_start; /* pending: when backfill expects it to start, 0 = unknown */
    int64_t begin_time;     /* --begin: not before this, 0 = any time */
    bool requeue;           /* --requeue (default) / --no-requeue: back to PENDING after a node failure */
    int restarts;           /* times requeued */
    bool configuring;       /* RUNNING on nodes still booting (power.c): launched once all are up */
    bool interrupted;       /* its node got a spot interruption: an end means requeue */
    bool oom;               /* its node reported an out-of-memory kill (job_finish) */
    bool preempted;         /* being taken off its nodes for a higher tier's job */
    int interruptions;      /* spot interruptions suffered (accounting) */
    double cost;            /* its share of the node-hours it used, in price units */
    char *fallback;         /* placed on a fallback node group: why (sched_fallback_allowed) */
    int sched_tier;         /* scratch for sched.c: the partition's priority tier */
    char *work_dir, *out, *err, *in, *submit_host, *account, *comment, *command;
    /* allocation */
    struct node **alloc;   /* nalloc nodes; alloc[0] runs the batch script */
    int nalloc;
    int alloc_cpus;        /* CPUs per node */
    char *nodelist;        /* comma list of the (last) allocation; kept after the end */
    uint64_t *gpu_masks;   /* per allocated node: GPU indices held (bit i = GPU i) */
    uint64_t alloc_mem;    /* MiB per node */
    /* outcome */
    int exit_status, exit_signal;
    int cancelled_by;       /* uid, -1 */
    int pending_end_state;  /* state to record when the node reports the end (cancel/timeout);
                               JOB_PENDING: requeue it then (scontrol requeue) */
    int64_t kill_time;      /* when termination was requested, 0 if not */
    uint64_t launch_seq;    /* seq of the launch_job sent, 0 when none outstanding */
    /* interactive work (step.c) */
    bool interactive;       /* an allocation (salloc, srun): no batch script, nothing to launch */
    uint32_t next_step;     /* id of the next step */
    struct step *steps;     /* running steps, newest first */
    int64_t last_activity;  /* sessions: last input or CPU use seen, or a step's start/end */
    int64_t idle_warned;    /* when the idle warning went out, 0 = not warned */
    /* linkage */
    struct job *hnext;            /* hash chain */
    /* the table's pending queue when queued, else its active list
     * (running, completing) or its ended list: every job of the table is
     * on exactly one */
    struct job *qprev, *qnext;
    bool queued;
    bool in_table;
    bool on_ended; /* on the ended list (job_is_ended() when last synced) */
    /* how the job is counted in its table's job_counts (metrics.c) */
    bool counted;
    bool cnt_session, cnt_idle;
    int cnt_state;       /* enum job_state, or JOB_COUNT_CONFIGURING */
    uint32_t cnt_part;   /* index into job_table.counts */
    uint32_t cnt_weight; /* 1, or a meta record's pending tasks (maybe 0) */
    double cnt_rate;     /* running: its cost per second (sacct's Cost accrues at it) */
    int64_t cnt_start;   /* ...since then (its start, or the table's cost_since) */
};

/* Jobs per partition and state, kept in step with the table so that
 * /metrics needs no scan of the jobs (metrics.c): job_insert() and
 * job_remove() count a job, job_counts_sync() moves it when its state,
 * partition, pending array tasks or session idleness changed.
 * persist_job_update() calls job_counts_sync(), so every change that is
 * made durable is counted.  Jobs count as squeue -r lists them: an array's
 * pending tasks one each, its meta record nothing more. */
#define JOB_COUNT_CONFIGURING JOB_STATE_COUNT /* RUNNING, nodes booting */
#define JOB_COUNT_STATES (JOB_STATE_COUNT + 1)
struct job_count {
    char *partition;
    uint64_t state[JOB_COUNT_STATES];
    uint64_t sessions;      /* running interactive allocations (salloc, srun --pty) */
    uint64_t sessions_idle; /* ...of which warned as idle (session_idle_timeout) */
    /* running jobs' cost so far is rate * now - rate_start (price units):
     * the sums over them of cost per second and of that times start_time */
    double rate, rate_start;
    uint64_t rated; /* jobs in those sums (at 0 they are reset: no float drift) */
};

/* The job table. */
struct job_table {
    struct job **buckets;
    size_t nbuckets;
    size_t count;
    struct job *qhead, *qtail; /* pending jobs */
    size_t npending;
    /* the rest, in two lists, so that scans for running work cost the
     * running work: not the pending queue, nor the jobs that ended in the
     * last min_job_age seconds (at 200 jobs/s, 60,000 of them) */
    struct job *ahead, *atail; /* active: running, completing */
    size_t nactive;
    struct job *ehead, *etail; /* ended: a final state, nothing held */
    size_t nended;
    struct job_count *counts; /* per partition name, never shrinks */
    size_t ncounts;
    int64_t cost_since; /* running jobs' cost counts from here (the ctld's start) */
};

void job_table_init(struct job_table *t);
void job_table_free(struct job_table *t);
struct job *job_find(struct job_table *t, uint32_t id);
void job_insert(struct job_table *t, struct job *job);
void job_remove(struct job_table *t, struct job *job); /* does not free */
void job_queue_add(struct job_table *t, struct job *job);
void job_queue_del(struct job_table *t, struct job *job);
/* A job that is neither pending nor holds anything: it only waits to be
 * purged (min_job_age). */
static inline bool job_is_ended(const struct job *j)
{
    return job_state_is_final(j->state) && !j->completing;
}
/* Move the job to the list its state calls for (persist_job_update() does
 * this for every durable change). */
void job_lists_sync(struct job_table *t, struct job *job);
void job_free(struct job *job);
/* metrics.c: see struct job_count */
void job_counts_add(struct job_table *t, struct job *job);
void job_counts_del(struct job_table *t, struct job *job);
void job_counts_sync(struct job_table *t, struct job *job);
void job_counts_free(struct job_table *t);

/* Iterate all jobs (order unspecified); the callback may not remove. */
#define JOB_FOREACH(t, j)                                                                          \
    for (size_t _b = 0; _b < (t)->nbuckets; _b++)                                                  \
        for (struct job *j = (t)->buckets[_b]; j; j = j->hnext)

/* Iterate one of the table's lists from head; the body may move or
 * remove j (the next one is taken before it runs). */
#define JOB_FOREACH_ON(head, j)                                                                    \
    for (struct job *j = (head), *_jn = j ? j->qnext : NULL; j; j = _jn, _jn = j ? j->qnext : NULL)

/* Iterate the active jobs: running or completing (those that hold or are
 * about to hold an allocation).  The body may requeue j (it moves to the
 * pending queue) or end it (to the ended list); jobs that start meanwhile
 * are appended and visited too.  Ended jobs are not visited. */
#define JOB_FOREACH_ACTIVE(t, j) JOB_FOREACH_ON((t)->ahead, j)

/* Iterate the ended jobs, in the order they reached the list; the body
 * may remove j. */
#define JOB_FOREACH_ENDED(t, j) JOB_FOREACH_ON((t)->ehead, j)

/* State transitions (job.c).  Each writes the job through persist.c
 * inside the current transaction. */
/* Take n nodes with cpus and mem each and the given GPU masks (may be NULL). */
int job_alloc(struct ctld *c, struct job *job, struct node **nodes, int n, int cpus, uint64_t mem,
              const uint64_t *gpu_masks);
void job_release(struct ctld *c, struct job *job);
void job_finish(struct ctld *c, struct job *job, int status, int64_t end_time);
void job_set_final(struct ctld *c, struct job *job, int state, int reason);
void job_requeue(struct ctld *c, struct job *job, int reason);
/* Stop a running job and requeue it when its node reports the end. */
void job_requeue_running(struct ctld *c, struct job *job);

json_t *job_to_json(struct ctld *c, const struct job *job);
/* The job-wide SLURM_* environment ("K=V" strings) of a running job. */
void job_env(struct ctld *c, const struct job *job, json_t *env);
/* Set or replace KEY=value in an array of "K=V" strings. */
void job_env_set(json_t *env, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* step.c: running steps of a job */
void steps_free(struct job *job);

/* Check the invariants above; abort with fatalx() on violation. */
void job_assert_state(const struct job *job);

#endif
