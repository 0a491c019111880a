/* ctld.h - struct ctld: the context every controller handler gets.
 *
 * The controller is one thread and one loop (loop.c): zmq_poll over the
 * ROUTER socket, dispatch each message through the handler table, then
 * commit all state changes of the loop turn in one SQLite transaction
 * (group commit) and only then send the replies, so an ID a client sees is
 * durable.  Scheduling (sched.c) and periodic work (cron.c) run after the
 * replies, with their own commit before any message to a node.
 */
#ifndef CTLD_CTLD_H
#define CTLD_CTLD_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "conf/conf.h"
#include "job.h"
#include "node.h"
#include "proto/proto.h"

struct sl_db;
struct persist;
struct power;
struct budget_state;
struct metrics;

/* One received request, as handlers see it. */
struct request {
    struct sl_msg msg;          /* verified: msg.uid/gid from munge, msg.body */
    unsigned char route[256];   /* ZeroMQ routing id of the sender */
    size_t route_len;
    uint64_t conn;              /* or, when not 0, its tools port connection (toolport.h) */
    bool delim;                 /* sender used an empty delimiter frame */
    bool replied;
};

/* A reply waiting for the turn's commit. */
struct out_msg {
    unsigned char route[256];
    size_t route_len;
    uint64_t conn; /* a tools port connection instead of a route, when not 0 */
    bool delim;
    char *buf;
    size_t len;
    char *data; /* a bulk reply's raw data frame, or NULL */
    size_t data_len;
    /* messages to nodes that must not be sent unless the commit succeeded
     * are queued the same way; on commit failure they are dropped */
    bool needs_commit;
};

struct ctld {
    struct sl_conf *conf;
    const char *conf_path; /* absolute */
    char *conf_text;       /* the text the running configuration came from */
    volatile int reload_requested; /* SIGHUP: reopen the log, reload the file */
    int log_verbose;               /* -v count: raises controller.log_level */
    void *zctx;
    void *router;
    struct toolport *tools; /* toolport.h: NULL when controller.tools_port is 0 */
    struct sl_auth *auth;
    struct verify_pool *verify; /* verify.h: helpers that check credentials */
    struct sl_db *db;
    struct persist *ps;
    struct power *power; /* power.c */
    struct budget_state *budget; /* budget.c */
    struct metrics *metrics;     /* metrics.c: NULL when controller.metrics_address is off */
    uid_t slurm_uid;
    int64_t start_time;
    bool shutdown;

    struct job_table jobs;
    uint32_t next_job_id;

    struct node *nodes;
    int nnodes;
    int *node_slots; /* node_find()'s index by name: node index + 1, 0 empty */
    size_t nnode_slots;
    struct part *parts;
    int nparts;

    uint64_t seq; /* of requests sent to nodes */

    /* replies and node messages queued during this turn */
    struct out_msg *outq;
    size_t noutq, outq_cap;
    bool commit_failed; /* set if the turn's commit failed: queued replies become errors */

    bool sched_needed;
    int64_t last_sched;
    int64_t last_rank_all; /* when a pass last ranked held jobs too (sched.c) */
};

/* loop.c */
int ctld_loop(struct ctld *c);
void ctld_reply(struct ctld *c, struct request *req, int rc, const char *error, json_t *body);
/* Reply with an encoded message (malloc'd, taken): sl_msg_reply_head()
 * and a body written as text (query_jobs' bulk list); data (taken, may be
 * NULL) travels raw as a frame after it (query_jobs' rows). */
void ctld_reply_encoded(struct ctld *c, struct request *req, char *buf, size_t len, char *data,
                        size_t data_len);
/* A reply streamed in pieces as it is built (query_jobs' rows, see
 * doc/protocol.md): begin commits the turn so far and sends everything
 * queued, this envelope (taken) last; then each piece (taken) goes out at
 * once, as its own message, and an empty one (data NULL, len 0) ends the
 * reply.  A piece returns -1 when it cannot be sent (the client is gone):
 * the caller stops, and sends no more pieces. */
void ctld_reply_stream_begin(struct ctld *c, struct request *req, char *buf, size_t len);
int ctld_reply_stream_piece(struct ctld *c, struct request *req, char *data, size_t len);
void ctld_reply_errorf(struct ctld *c, struct request *req, int rc, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Queue a signed request to a node daemon, sent after the turn's commit.
 * Returns the seq used, or 0 if the node has no route. */
uint64_t ctld_send_node(struct ctld *c, struct node *n, int type, json_t *body);
int64_t ctld_now(void);
/* Benchmarks only: when set, ctld_now() returns it (a simulated clock). */
extern int64_t ctld_clock_override;
bool ctld_is_admin(struct ctld *c, uid_t uid);

/* handlers: one file per message family */
void submit_handle(struct ctld *c, struct request *req);
/* A finished job became active again (requeue): recount before the next
 * submission is checked against max_submit_jobs / max_job_count. */
void submit_limits_invalidate(void);
void cancel_handle(struct ctld *c, struct request *req);
void query_ping(struct ctld *c, struct request *req);
void query_jobs(struct ctld *c, struct request *req);
void query_nodes(struct ctld *c, struct request *req);
void query_partitions(struct ctld *c, struct request *req);
void query_config(struct ctld *c, struct request *req);
void update_job(struct ctld *c, struct request *req);
void update_node(struct ctld *c, struct request *req);
void query_acct(struct ctld *c, struct request *req);
void node_rpc_register(struct ctld *c, struct request *req);
void node_rpc_heartbeat(struct ctld *c, struct request *req);
void node_rpc_complete(struct ctld *c, struct request *req);
/* The node a daemon's message names, remembering its route; NULL (and
 * an error reply) if unknown. */
struct node *node_rpc_sender(struct ctld *c, struct request *req);
void node_rpc_reply(struct ctld *c, const unsigned char *route, size_t route_len,
                    struct sl_msg *m);

/* job control shared by cancel, cron and node_rpc (job.c) */
void job_terminate(struct ctld *c, struct job *job, int end_state, int reason, int by_uid);
void job_launch(struct ctld *c, struct job *job);

/* sched.c */
void sched_pass(struct ctld *c);
/* Could the job ever run in its partition?  0 or an SL_E_* code. */
int sched_job_fits_partition(struct ctld *c, const struct part *p, const struct job *job);
int sched_cpus_per_node(int nodes, int ntasks, int ntasks_per_node, int cpus_per_task);
bool sched_constraint_ok(const struct sl_node_group *g, const char *constraint);
uint32_t sched_priority(const struct job *job, const struct part *p, int64_t now);
/* The priority a pass gives the job: an admin's fixed one, else sched_priority(). */
uint32_t sched_rank(const struct job *job, const struct part *p, int64_t now);
/* The weighted parts of a priority (sprio's columns): age and job size. */
void sched_priority_factors(const struct job *job, const struct part *p, int64_t now, int *age,
                            int *size);
int64_t sched_test_start(struct ctld *c, struct job *job, char **nodes);
const char *sched_fallback_allowed(struct ctld *c, const struct part *p, const struct job *job,
                                   int64_t now);

/* array.c */
int array_parse(const char *spec, struct job *job, sl_error_t *err);
/* The same with task ids limited to 0..max_index (max_array_size - 1). */
int array_parse_max(const char *spec, uint32_t max_index, struct job *job, sl_error_t *err);
char *array_ranges(const struct job *job);
void array_load_ranges(struct job *job, const char *ranges);
bool array_has_task(const struct job *meta, uint32_t task);
void array_drop_task(struct job *meta, uint32_t task);
struct job *array_split(struct ctld *c, struct job *meta);
void array_task_ended(struct ctld *c, struct job *task);

/* depend.c */
int depend_validate(struct ctld *c, const char *spec, const char **why);
bool depend_ready(struct ctld *c, struct job *job);

/* reconf.c: live configuration */
void reconf_handle(struct ctld *c, struct request *req);
void update_partition_handle(struct ctld *c, struct request *req);
void query_events_handle(struct ctld *c, struct request *req);
void reconf_reload(struct ctld *c); /* SIGHUP */

/* report.c: sreport cost */
void cost_report_handle(struct ctld *c, struct request *req);

/* keys.c: signing keys (proto/keyed.h) */
void keys_request_handle(struct ctld *c, struct request *req);
/* Check a keyed request against its key (buf, len: its text); on success
 * its uid/gid are the key's. */
int keys_check(struct sl_msg *m, const void *buf, size_t len, int *rc, sl_error_t *err);
void keys_forget_all(void);
/* A request to the holder of key kid, signed with it (its own counter for
 * this direction); NULL if the key is unknown or not a daemon's. */
char *keys_encode(const char *kid, int type, uint64_t seq, json_t *body, size_t *len);

/* script.c: scontrol write batch_script */
void script_handle(struct ctld *c, struct request *req);

/* persist.c: why the last write could not start (e.g. "database is locked"),
 * and, true once, whether a write failed after its change was made in
 * memory, so the turn's replies must not claim it (loop.c flush). */
const char *persist_error(struct ctld *c);
bool persist_take_lost(struct ctld *c);

/* invariants.c: whole-state consistency pass; 0 and "ok", or the violations */
int invariants_check(struct ctld *c, char *text, size_t len);

/* cron.c */
void cron_run(struct ctld *c);
int cron_next_timeout_ms(struct ctld *c);

#endif
