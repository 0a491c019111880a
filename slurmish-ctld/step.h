/* step.h - job steps and interactive sessions, as the controller sees them.
 *
 * A step is srun's unit of work inside a running job (batch or an
 * allocation from salloc/srun): some tasks on some of the job's nodes.
 * The controller numbers it, records it (steps table, for sacct), and
 * issues one munge-signed credential per node that lets the client talk
 * to that node's daemon directly (doc/protocol.md).  The node daemons
 * report each step's end, and, in every heartbeat, each live step's
 * activity: seconds since terminal input, CPU used, whether a client is
 * attached.  From that the controller tells an idle session from a busy
 * one, warns idle sessions and ends them (partition session_idle_*).
 *
 * Running steps live in memory on their job; ended ones only in SQLite.
 */
#ifndef CTLD_STEP_H
#define CTLD_STEP_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

struct ctld;
struct job;
struct node;
struct request;

#define STEP_CRED_TTL 300      /* seconds a credential may be used for */

struct step {
    uint32_t id;
    char *name;
    int ntasks, nnodes;
    char **nodes;      /* nnodes names, in task order */
    int *tasks;        /* tasks on each node */
    bool *done;        /* each node's end reported */
    uint64_t *cpu_ms;  /* last CPU total each node reported */
    int ndone;
    bool pty;
    int64_t start_time, end_time;
    int state;         /* JOB_RUNNING, then a final job state */
    int exit_status;   /* worst raw wait status */
    bool attached;     /* a client is attached (last report) */
    struct step *next;
};

/* handlers */
void step_create_handle(struct ctld *c, struct request *req);
void step_attach_handle(struct ctld *c, struct request *req);
void step_complete_handle(struct ctld *c, struct request *req);
void alloc_release_handle(struct ctld *c, struct request *req);

/* A node's heartbeat or registration listed its live steps. */
void steps_activity(struct ctld *c, struct node *n, json_t *steps);
/* The job is ending: its running steps end with it (their nodes are told). */
void steps_job_ended(struct ctld *c, struct job *job);
/* Warn or end idle interactive jobs (cron). */
void sessions_check_idle(struct ctld *c, struct job *job, int64_t now);

json_t *steps_to_json(const struct job *job);
/* The step's nodes as "a,b,c", or ranged ("a[1-3]"); caller frees. */
char *step_nodelist(const struct step *s, bool ranged);
struct step *step_find(const struct job *job, uint32_t id);
void step_free(struct step *s);
/* A step rebuilt from its row at load (persist.c). */
struct step *step_new(uint32_t id, const char *name, const char *nodelist, int ntasks, bool pty,
                      int64_t start_time);

#endif
