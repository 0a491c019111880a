/* persist.h - the controller's SQLite schema and row I/O.
 *
 * Every write joins the loop turn's transaction (sl_db_begin is lazy);
 * loop.c commits once per turn.  A failed write returns -1 so the
 * handler can answer SL_E_DB.
 */
#ifndef CTLD_PERSIST_H
#define CTLD_PERSIST_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "util/error.h"

struct ctld;
struct job;
struct node;
struct step;

int persist_open(struct ctld *c, const char *path, sl_error_t *err);
void persist_close(struct ctld *c);

/* Load jobs still active, or finished within min_job_age, into memory. */
int persist_load(struct ctld *c, sl_error_t *err);

int persist_job_insert(struct ctld *c, const struct job *job, const char *script, json_t *argv,
                       json_t *env);
/* Also moves the job in the job table's per-state counts (job_counts_sync),
 * so that every durable state change is counted: hence not const. */
int persist_job_update(struct ctld *c, struct job *job);
/* Read what a launch needs that is not kept in memory. */
int persist_job_launch_data(struct ctld *c, uint32_t id, char **script, json_t **argv,
                            json_t **env);
/* Load one finished job that is no longer in memory (query by id). */
struct job *persist_job_load_one(struct ctld *c, uint32_t id);
int persist_node_update(struct ctld *c, const struct node *n);
/* Powered intervals of cloud nodes (node_power), for cost accounting. */
int persist_power_up(struct ctld *c, const struct node *n, int64_t when);
/* Cost reports: finished jobs that ran in [start, end), and powered
 * intervals of cloud nodes overlapping it (down == 0: still up). */
struct cost_job_row {
    const char *user, *account, *partition, *alloc_nodes;
    double cost;
    int64_t start_time, end_time;
    int alloc_cpus;
    bool exclusive;
};
int persist_cost_jobs(struct ctld *c, int64_t start, int64_t end,
                      void (*fn)(const struct cost_job_row *row, void *arg), void *arg);
int persist_power_intervals(struct ctld *c, int64_t start, int64_t end,
                            void (*fn)(const char *node, const char *group, double price,
                                       int64_t up, int64_t down, void *arg),
                            void *arg);
/* When cost records began (the database's migration to cost accounting). */
int64_t persist_cost_since(struct ctld *c);
/* Cost of an account's jobs that ended at or after `since`. */
int persist_account_cost(struct ctld *c, const char *account, int64_t since, double *out);
int persist_power_down(struct ctld *c, const struct node *n, int64_t when, bool interrupted);
/* Accounting: the job records matching the filters, oldest first, as
 * job JSON objects appended to out; at most limit.  Returns the count or -1. */
int persist_acct(struct ctld *c, json_t *job_ids, json_t *user_ids, json_t *states, int64_t start,
                 int64_t end, int limit, json_t *out);
/* A step's row (inserted at creation, updated at its end). */
int persist_step(struct ctld *c, uint32_t job_id, const struct step *s);
/* A step recorded CANCELLED because its job ended first: how it really
 * ended, reported by its node afterwards.  Rows changed (0 or 1), or -1. */
int persist_step_late_end(struct ctld *c, uint32_t job_id, uint32_t step_id, int state,
                          int exit_status);
/* The recorded steps of a job, as JSON objects, for sacct. */
json_t *persist_steps_json(struct ctld *c, uint32_t job_id);
/* The newest `limit` events, oldest first, as {time, uid, kind, detail}. */
json_t *persist_events(struct ctld *c, int limit);
int persist_event(struct ctld *c, uid_t uid, const char *kind, const char *detail);

#endif
