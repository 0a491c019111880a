/* persist.c - see persist.h.
 *
 * SQL lives in named constants; statements are prepared once at open.
 * Job rows are never deleted: finished jobs are the accounting record.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctld.h"
#include "persist.h"
#include "step.h"
#include <sys/wait.h>
#include "store/db.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* Schema migrations: index i takes the schema from version i to i+1. */
static const char *const migrations[] = {
    /* 1: jobs, nodes, events */
    "CREATE TABLE jobs ("
    " job_id INTEGER PRIMARY KEY, name TEXT NOT NULL, uid INTEGER NOT NULL, gid INTEGER NOT NULL,"
    " user TEXT NOT NULL, grp TEXT NOT NULL, partition TEXT NOT NULL, state INTEGER NOT NULL,"
    " reason INTEGER NOT NULL, held INTEGER NOT NULL, submit_time INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL, end_time INTEGER NOT NULL, time_limit INTEGER NOT NULL,"
    " nodes_req INTEGER NOT NULL, ntasks INTEGER NOT NULL, cpus_per_task INTEGER NOT NULL,"
    " mem_mb INTEGER NOT NULL, priority INTEGER NOT NULL, work_dir TEXT NOT NULL,"
    " stdout TEXT, stderr TEXT, stdin TEXT, submit_host TEXT, account TEXT, comment TEXT,"
    " command TEXT, script TEXT NOT NULL, argv TEXT NOT NULL, env TEXT NOT NULL,"
    " alloc_nodes TEXT NOT NULL DEFAULT '', alloc_cpus INTEGER NOT NULL DEFAULT 0,"
    " alloc_mem INTEGER NOT NULL DEFAULT 0, completing INTEGER NOT NULL DEFAULT 0,"
    " exit_status INTEGER NOT NULL DEFAULT 0, exit_signal INTEGER NOT NULL DEFAULT 0,"
    " cancelled_by INTEGER NOT NULL DEFAULT -1, pending_end_state INTEGER NOT NULL DEFAULT -1,"
    " kill_time INTEGER NOT NULL DEFAULT 0);"
    "CREATE INDEX jobs_active ON jobs(state, end_time);"
    "CREATE TABLE nodes (name TEXT PRIMARY KEY, drain INTEGER NOT NULL, reason TEXT,"
    " reason_time INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE events (id INTEGER PRIMARY KEY, time INTEGER NOT NULL, uid INTEGER NOT NULL,"
    " kind TEXT NOT NULL, detail TEXT NOT NULL);",
    /* 2: resource requests (GPUs, exclusive, node lists, features) */
    "ALTER TABLE jobs ADD COLUMN ntasks_per_node INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN mem_per_cpu INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN gpus_per_node INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN gpu_type TEXT;"
    "ALTER TABLE jobs ADD COLUMN exclusive INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN features TEXT;"
    "ALTER TABLE jobs ADD COLUMN req_nodes TEXT;"
    "ALTER TABLE jobs ADD COLUMN exc_nodes TEXT;"
    "ALTER TABLE jobs ADD COLUMN alloc_gpus TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE jobs ADD COLUMN nice INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN held_admin INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN prio_set INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN dependency TEXT;"
    "ALTER TABLE jobs ADD COLUMN kill_on_invalid_dep INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN warn_signal INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN warn_time INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN warn_flags INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN array_job_id INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN array_task_id INTEGER NOT NULL DEFAULT -1;"
    "ALTER TABLE jobs ADD COLUMN array_pending TEXT;"
    "ALTER TABLE jobs ADD COLUMN array_shape TEXT;"
    "CREATE INDEX jobs_array ON jobs(array_job_id) WHERE array_job_id != 0;"
    "ALTER TABLE jobs ADD COLUMN begin_time INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN requeue INTEGER NOT NULL DEFAULT 1;"
    "ALTER TABLE jobs ADD COLUMN restarts INTEGER NOT NULL DEFAULT 0;",
    /* 3: allocations (salloc/srun) and job steps */
    "ALTER TABLE jobs ADD COLUMN interactive INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN next_step INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE steps (job_id INTEGER NOT NULL, step_id INTEGER NOT NULL, name TEXT NOT NULL,"
    " nodelist TEXT NOT NULL, ntasks INTEGER NOT NULL, pty INTEGER NOT NULL,"
    " start_time INTEGER NOT NULL, end_time INTEGER NOT NULL, state INTEGER NOT NULL,"
    " exit_status INTEGER NOT NULL, PRIMARY KEY (job_id, step_id));",
    /* 4: power management and cost */
    "ALTER TABLE jobs ADD COLUMN configuring INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN cost REAL NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN interruptions INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE jobs ADD COLUMN fallback TEXT;"
    "ALTER TABLE nodes ADD COLUMN power INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE nodes ADD COLUMN power_since INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE nodes ADD COLUMN down INTEGER NOT NULL DEFAULT 0;"
    "CREATE TABLE node_power (node TEXT NOT NULL, grp TEXT NOT NULL, price REAL NOT NULL,"
    " spot INTEGER NOT NULL, up INTEGER NOT NULL, down INTEGER NOT NULL DEFAULT 0,"
    " interrupted INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (node, up));"
    "CREATE INDEX node_power_open ON node_power(down);"
    /* when this database began keeping cost records (fixed nodes count from here) */
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);"
    "INSERT INTO meta VALUES ('cost_since', CAST(strftime('%s', 'now') AS INTEGER));",
};

#define JOB_COLUMNS                                                                                \
    "job_id, name, uid, gid, user, grp, partition, state, reason, held, submit_time, start_time,"  \
    " end_time, time_limit, nodes_req, ntasks, cpus_per_task, mem_mb, priority, work_dir, stdout," \
    " stderr, stdin, submit_host, account, comment, command, alloc_nodes, alloc_cpus, alloc_mem,"  \
    " completing, exit_status, exit_signal, cancelled_by, pending_end_state, kill_time,"          \
    " ntasks_per_node, mem_per_cpu, gpus_per_node, gpu_type, exclusive, features, req_nodes,"     \
    " exc_nodes, alloc_gpus, nice, held_admin, prio_set, dependency, kill_on_invalid_dep,"        \
    " warn_signal, warn_time, warn_flags, array_job_id, array_task_id, array_pending, array_shape,"  \
    " begin_time, requeue, restarts, interactive, next_step, configuring, cost, interruptions,"  \
    " fallback"

static const char SQL_JOB_INSERT[] =
    "INSERT INTO jobs (" JOB_COLUMNS ", script, argv, env) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
    " ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27,"
    " ?28, ?29, ?30, ?31, ?32, ?33, ?34, ?35, ?36, ?37, ?38, ?39, ?40, ?41, ?42, ?43, ?44, ?45,"
    " ?49, ?50, ?51, ?52, ?53, ?54, ?55, ?56, ?57, ?58, ?59, ?60, ?61, ?62, ?63, ?64, ?65, ?66,"
    " ?67, ?68, ?69, ?46, ?47, ?48)";
static const char SQL_JOB_UPDATE[] =
    "UPDATE jobs SET partition=?7, state=?8, reason=?9, held=?10, start_time=?12, end_time=?13,"
    " time_limit=?14, priority=?19, alloc_nodes=?28, alloc_cpus=?29, alloc_mem=?30,"
    " completing=?31, exit_status=?32, exit_signal=?33, cancelled_by=?34, pending_end_state=?35,"
    " kill_time=?36, alloc_gpus=?45, nice=?49, held_admin=?50, prio_set=?51, name=?2,"
    " nodes_req=?15, comment=?26, account=?25, dependency=?52,"
    " warn_flags=?56, array_task_id=?58, array_pending=?59, restarts=?63, next_step=?65,"
    " configuring=?66, cost=?67, interruptions=?68,"
    " fallback=?69 WHERE job_id=?1";
static const char SQL_JOB_LAUNCH[] = "SELECT script, argv, env FROM jobs WHERE job_id=?1";
/* The jobs a restart loads (active or recently ended), one range of ids at
 * a time: two halves are read in parallel. */
static const char SQL_JOB_LOAD_RANGE[] =
    "SELECT " JOB_COLUMNS " FROM jobs WHERE job_id > ?3 AND job_id <= ?4 AND"
    " (state < ?1 OR completing != 0 OR end_time >= ?2) ORDER BY job_id";
static const char SQL_JOB_LOAD_ONE[] = "SELECT " JOB_COLUMNS " FROM jobs WHERE job_id=?1";
static const char SQL_MAX_ID[] = "SELECT COALESCE(MAX(job_id), 0) FROM jobs";
static const char SQL_NODE_UPSERT[] =
    "INSERT INTO nodes (name, drain, reason, reason_time, power, power_since, down)"
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) ON CONFLICT(name) DO UPDATE SET drain=?2, reason=?3,"
    " reason_time=?4, power=?5, power_since=?6, down=?7";
static const char SQL_NODE_LOAD[] =
    "SELECT name, drain, reason, reason_time, power, power_since, down FROM nodes";
static const char SQL_POWER_UP[] =
    "INSERT OR IGNORE INTO node_power (node, grp, price, spot, up) VALUES (?1, ?2, ?3, ?4, ?5)";
static const char SQL_POWER_DOWN[] =
    "UPDATE node_power SET down=?2, interrupted=interrupted+?3 WHERE node=?1 AND down=0";
static const char SQL_STEP_UPSERT[] =
    "INSERT INTO steps (job_id, step_id, name, nodelist, ntasks, pty, start_time, end_time, state,"
    " exit_status) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"
    " ON CONFLICT(job_id, step_id) DO UPDATE SET end_time=?8, state=?9, exit_status=?10";
static const char SQL_STEPS_OF[] =
    "SELECT step_id, name, nodelist, ntasks, pty, start_time, end_time, state, exit_status"
    " FROM steps WHERE job_id=?1 ORDER BY step_id";
static const char SQL_EVENT[] =
    "INSERT INTO events (time, uid, kind, detail) VALUES (?1, ?2, ?3, ?4)";

struct persist {
    sqlite3_stmt *job_insert, *job_update, *job_launch, *job_load_one, *node_upsert, *event;
    sqlite3_stmt *step_upsert, *steps_of;
    sqlite3_stmt *power_up, *power_down;
    /* Another process holding the write lock (a backup, an admin's sqlite3
     * shell): BEGIN waits busy_ms, less than a client waits for its reply,
     * so the client gets our error rather than a timeout; for a second
     * after a failure BEGIN does not wait, so a batch of requests is
     * refused at once instead of stalling the loop busy_ms each. */
    int busy_ms;
    int64_t nowait_until_ms;
    char last_error[200];
    bool lost; /* a change already made in memory could not be written */
};

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int persist_open(struct ctld *c, const char *path, sl_error_t *err)
{
    struct persist *ps = xcalloc(1, sizeof(*ps));
    c->ps = ps;
    c->db = sl_db_open(path, migrations, sizeof(migrations) / sizeof(migrations[0]), true, err);
    if (!c->db)
        return -1;
    ps->busy_ms = 5000;
    if (c->conf && c->conf->message_timeout > 0 && c->conf->message_timeout * 500 < 5000)
        ps->busy_ms = c->conf->message_timeout * 500;
    if (!(ps->job_insert = sl_db_prepare(c->db, SQL_JOB_INSERT, err)) ||
        !(ps->job_update = sl_db_prepare(c->db, SQL_JOB_UPDATE, err)) ||
        !(ps->job_launch = sl_db_prepare(c->db, SQL_JOB_LAUNCH, err)) ||
        !(ps->job_load_one = sl_db_prepare(c->db, SQL_JOB_LOAD_ONE, err)) ||
        !(ps->node_upsert = sl_db_prepare(c->db, SQL_NODE_UPSERT, err)) ||
        !(ps->event = sl_db_prepare(c->db, SQL_EVENT, err)) ||
        !(ps->step_upsert = sl_db_prepare(c->db, SQL_STEP_UPSERT, err)) ||
        !(ps->steps_of = sl_db_prepare(c->db, SQL_STEPS_OF, err)) ||
        !(ps->power_up = sl_db_prepare(c->db, SQL_POWER_UP, err)) ||
        !(ps->power_down = sl_db_prepare(c->db, SQL_POWER_DOWN, err)))
        return -1;
    return 0;
}

void persist_close(struct ctld *c)
{
    sl_db_close(c->db);
    c->db = NULL;
    free(c->ps);
    c->ps = NULL;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

/* Bind the columns shared by insert and update (numbered as JOB_COLUMNS). */
static void bind_job(sqlite3_stmt *st, const struct job *j)
{
    sqlite3_bind_int64(st, 1, j->id);
    bind_text(st, 2, j->name);
    sqlite3_bind_int64(st, 3, j->uid);
    sqlite3_bind_int64(st, 4, j->gid);
    bind_text(st, 5, j->user);
    bind_text(st, 6, j->group);
    bind_text(st, 7, j->partition);
    sqlite3_bind_int(st, 8, j->state);
    sqlite3_bind_int(st, 9, j->reason);
    sqlite3_bind_int(st, 10, j->held);
    sqlite3_bind_int64(st, 11, j->submit_time);
    sqlite3_bind_int64(st, 12, j->start_time);
    sqlite3_bind_int64(st, 13, j->end_time);
    sqlite3_bind_int64(st, 14, j->time_limit);
    sqlite3_bind_int(st, 15, j->nodes_req);
    sqlite3_bind_int(st, 16, j->ntasks);
    sqlite3_bind_int(st, 17, j->cpus_per_task);
    sqlite3_bind_int64(st, 18, (sqlite3_int64)j->mem_mb);
    sqlite3_bind_int64(st, 19, j->priority);
    bind_text(st, 20, j->work_dir);
    bind_text(st, 21, j->out);
    bind_text(st, 22, j->err);
    bind_text(st, 23, j->in);
    bind_text(st, 24, j->submit_host);
    bind_text(st, 25, j->account);
    bind_text(st, 26, j->comment);
    bind_text(st, 27, j->command);
    /* plain comma list in allocation order: the first is the batch host */
    sqlite3_bind_text(st, 28, j->nodelist ? j->nodelist : "", -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 29, j->alloc_cpus);
    sqlite3_bind_int64(st, 30, (sqlite3_int64)j->alloc_mem);
    sqlite3_bind_int(st, 31, j->completing);
    sqlite3_bind_int(st, 32, j->exit_status);
    sqlite3_bind_int(st, 33, j->exit_signal);
    sqlite3_bind_int(st, 34, j->cancelled_by);
    sqlite3_bind_int(st, 35, j->pending_end_state);
    sqlite3_bind_int64(st, 36, j->kill_time);
    sqlite3_bind_int(st, 37, j->ntasks_per_node);
    sqlite3_bind_int64(st, 38, (sqlite3_int64)j->mem_per_cpu_mb);
    sqlite3_bind_int(st, 39, j->gpus_per_node);
    bind_text(st, 40, j->gpu_type);
    sqlite3_bind_int(st, 41, j->exclusive);
    bind_text(st, 42, j->constraint);
    bind_text(st, 43, j->req_nodes);
    bind_text(st, 44, j->exc_nodes);
    /* GPU masks per allocated node, as a comma list of hex numbers */
    char gbuf[2048] = "";
    size_t off = 0;
    for (int i = 0; j->gpu_masks && i < j->nalloc && off < sizeof(gbuf) - 20; i++)
        off += (size_t)snprintf(gbuf + off, sizeof(gbuf) - off, "%s%llx", i ? "," : "",
                                (unsigned long long)j->gpu_masks[i]);
    sqlite3_bind_text(st, 45, gbuf, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 49, j->nice);
    sqlite3_bind_int(st, 50, j->held_by_admin);
    sqlite3_bind_int64(st, 51, j->prio_set);
    bind_text(st, 52, j->dependency);
    sqlite3_bind_int(st, 53, j->kill_on_invalid_dep);
    sqlite3_bind_int(st, 54, j->warn_signal);
    sqlite3_bind_int(st, 55, j->warn_time);
    sqlite3_bind_int(st, 56, (j->warn_batch ? 1 : 0) | (j->warn_sent ? 2 : 0));
    sqlite3_bind_int64(st, 57, j->array_job_id);
    sqlite3_bind_int(st, 58, j->array_task_id);
    if (j->array_bits) {
        char *r = array_ranges(j);
        sqlite3_bind_text(st, 59, r, -1, SQLITE_TRANSIENT);
        free(r);
    } else {
        sqlite3_bind_null(st, 59);
    }
    char shape[96];
    snprintf(shape, sizeof(shape), "%u %u %u %d", j->array_count, j->array_min, j->array_max,
             j->array_throttle);
    sqlite3_bind_text(st, 60, shape, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 61, j->begin_time);
    sqlite3_bind_int(st, 62, j->requeue);
    sqlite3_bind_int(st, 63, j->restarts);
    sqlite3_bind_int(st, 64, j->interactive);
    sqlite3_bind_int64(st, 65, j->next_step);
    sqlite3_bind_int(st, 66, j->configuring);
    sqlite3_bind_double(st, 67, j->cost);
    sqlite3_bind_int(st, 68, j->interruptions);
    bind_text(st, 69, j->fallback);
}

static int step_done(struct ctld *c, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);
    sl_db_reset(st);
    if (rc != SQLITE_DONE) {
        log_err("sqlite %s: %s", what, sqlite3_errmsg(sl_db_handle(c->db)));
        errno = EIO;
        return -1;
    }
    return 0;
}

/* Join the turn's transaction.  `undoable`: the caller has changed nothing
 * in memory yet and refuses its request cleanly on failure (a submission);
 * otherwise the change is already in memory and the turn must not claim
 * it (persist_lost). */
static int begin_txn(struct ctld *c, bool undoable)
{
    struct persist *ps = c->ps;
    sl_error_t err;
    if (sl_db_in_txn(c->db))
        return 0;
    sqlite3_busy_timeout(sl_db_handle(c->db), mono_ms() < ps->nowait_until_ms ? 0 : ps->busy_ms);
    if (sl_db_begin(c->db, &err) < 0) {
        log_err("%s", err.text);
        snprintf(ps->last_error, sizeof(ps->last_error), "%s",
                 sqlite3_errmsg(sl_db_handle(c->db)));
        ps->nowait_until_ms = mono_ms() + 1000;
        if (!undoable)
            ps->lost = true;
        return -1;
    }
    return 0;
}

static int begin(struct ctld *c)
{
    return begin_txn(c, false);
}

const char *persist_error(struct ctld *c)
{
    return c->ps->last_error[0] ? c->ps->last_error : "state database unavailable";
}

bool persist_take_lost(struct ctld *c)
{
    bool lost = c->ps->lost;
    c->ps->lost = false;
    return lost;
}

int persist_job_insert(struct ctld *c, const struct job *job, const char *script, json_t *argv,
                       json_t *env)
{
    sqlite3_stmt *st = c->ps->job_insert;
    char *a = json_dumps(argv, JSON_COMPACT), *e = json_dumps(env, JSON_COMPACT);
    int rc;
    if (begin_txn(c, true) < 0) {
        free(a);
        free(e);
        return -1;
    }
    bind_job(st, job);
    sqlite3_bind_text(st, 46, script, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 47, a ? a : "[]", -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 48, e ? e : "[]", -1, SQLITE_TRANSIENT);
    rc = step_done(c, st, "job insert");
    free(a);
    free(e);
    return rc;
}

int persist_job_update(struct ctld *c, struct job *job)
{
    job_counts_sync(&c->jobs, job); /* a durable change is a counted one (metrics) */
    job_lists_sync(&c->jobs, job);
    if (begin(c) < 0)
        return -1;
    bind_job(c->ps->job_update, job);
    return step_done(c, c->ps->job_update, "job update");
}

int persist_job_launch_data(struct ctld *c, uint32_t id, char **script, json_t **argv,
                            json_t **env)
{
    sqlite3_stmt *st = c->ps->job_launch;
    int rc = -1;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        *script = xstrdup((const char *)sqlite3_column_text(st, 0));
        *argv = json_loads((const char *)sqlite3_column_text(st, 1), 0, NULL);
        *env = json_loads((const char *)sqlite3_column_text(st, 2), 0, NULL);
        if (!*argv)
            *argv = json_array();
        if (!*env)
            *env = json_array();
        rc = 0;
    } else {
        log_err("job %u: launch data not found: %s", id, sqlite3_errmsg(sl_db_handle(c->db)));
    }
    sl_db_reset(st);
    return rc;
}

static char *col_str(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? xstrdup((const char *)s) : NULL;
}

/* Build a job from a row of JOB_COLUMNS (0-based here). */
static struct job *job_from_row(struct ctld *c, sqlite3_stmt *st)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->id = (uint32_t)sqlite3_column_int64(st, 0);
    j->name = col_str(st, 1);
    j->uid = (uid_t)sqlite3_column_int64(st, 2);
    j->gid = (gid_t)sqlite3_column_int64(st, 3);
    j->user = col_str(st, 4);
    j->group = col_str(st, 5);
    j->partition = col_str(st, 6);
    j->state = sqlite3_column_int(st, 7);
    j->reason = sqlite3_column_int(st, 8);
    j->held = sqlite3_column_int(st, 9);
    j->submit_time = sqlite3_column_int64(st, 10);
    j->start_time = sqlite3_column_int64(st, 11);
    j->end_time = sqlite3_column_int64(st, 12);
    j->time_limit = sqlite3_column_int64(st, 13);
    j->nodes_req = sqlite3_column_int(st, 14);
    j->ntasks = sqlite3_column_int(st, 15);
    j->cpus_per_task = sqlite3_column_int(st, 16);
    j->mem_mb = (uint64_t)sqlite3_column_int64(st, 17);
    j->priority = (uint32_t)sqlite3_column_int64(st, 18);
    j->work_dir = col_str(st, 19);
    j->out = col_str(st, 20);
    j->err = col_str(st, 21);
    j->in = col_str(st, 22);
    j->submit_host = col_str(st, 23);
    j->account = col_str(st, 24);
    j->comment = col_str(st, 25);
    j->command = col_str(st, 26);
    const char *alloc = (const char *)sqlite3_column_text(st, 27);
    j->alloc_cpus = sqlite3_column_int(st, 28);
    j->alloc_mem = (uint64_t)sqlite3_column_int64(st, 29);
    j->completing = sqlite3_column_int(st, 30);
    j->exit_status = sqlite3_column_int(st, 31);
    j->exit_signal = sqlite3_column_int(st, 32);
    j->cancelled_by = sqlite3_column_int(st, 33);
    j->pending_end_state = sqlite3_column_int(st, 34);
    j->kill_time = sqlite3_column_int64(st, 35);
    j->ntasks_per_node = sqlite3_column_int(st, 36);
    j->mem_per_cpu_mb = (uint64_t)sqlite3_column_int64(st, 37);
    j->gpus_per_node = sqlite3_column_int(st, 38);
    j->gpu_type = col_str(st, 39);
    j->exclusive = sqlite3_column_int(st, 40);
    j->constraint = col_str(st, 41);
    j->req_nodes = col_str(st, 42);
    j->exc_nodes = col_str(st, 43);
    const char *gmasks = (const char *)sqlite3_column_text(st, 44);
    j->nice = sqlite3_column_int(st, 45);
    j->held_by_admin = sqlite3_column_int(st, 46);
    j->prio_set = (uint32_t)sqlite3_column_int64(st, 47);
    j->dependency = col_str(st, 48);
    j->kill_on_invalid_dep = sqlite3_column_int(st, 49);
    j->warn_signal = sqlite3_column_int(st, 50);
    j->warn_time = sqlite3_column_int(st, 51);
    j->warn_batch = sqlite3_column_int(st, 52) & 1;
    j->warn_sent = (sqlite3_column_int(st, 52) & 2) != 0;
    j->array_job_id = (uint32_t)sqlite3_column_int64(st, 53);
    j->array_task_id = sqlite3_column_int(st, 54);
    if (sqlite3_column_type(st, 55) != SQLITE_NULL)
        array_load_ranges(j, (const char *)sqlite3_column_text(st, 55));
    if (sqlite3_column_text(st, 56))
        sscanf((const char *)sqlite3_column_text(st, 56), "%u %u %u %d", &j->array_count,
               &j->array_min, &j->array_max, &j->array_throttle);
    j->begin_time = sqlite3_column_int64(st, 57);
    j->requeue = sqlite3_column_int(st, 58);
    j->restarts = sqlite3_column_int(st, 59);
    j->interactive = sqlite3_column_int(st, 60);
    j->next_step = (uint32_t)sqlite3_column_int64(st, 61);
    j->configuring = sqlite3_column_int(st, 62) != 0;
    j->cost = sqlite3_column_double(st, 63);
    j->interruptions = sqlite3_column_int(st, 64);
    j->fallback = col_str(st, 65);
    if (alloc && *alloc)
        j->nodelist = xstrdup(alloc);
    if (alloc && *alloc) {
        /* re-attach the allocation to the nodes still configured */
        char *copy = xstrdup(alloc), *save = NULL;
        j->alloc = xcalloc(strlen(alloc) / 2 + 2, sizeof(struct node *));
        for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
            struct node *n = node_find(c, tok);
            if (n)
                j->alloc[j->nalloc++] = n;
            else
                log_warn("job %u: allocated node %s is no longer configured", j->id, tok);
        }
        free(copy);
        /* GPU masks, in the same order as the nodes */
        j->gpu_masks = xcalloc((size_t)j->nalloc + 1, sizeof(uint64_t));
        const char *p = gmasks ? gmasks : "";
        for (int i = 0; i < j->nalloc && *p; i++) {
            char *end;
            j->gpu_masks[i] = strtoull(p, &end, 16);
            p = (*end == ',') ? end + 1 : end;
        }
    }
    return j;
}

/* A finished job's record keeps the shape of its last allocation
 * (nodelist) but holds no nodes. */
static void forget_allocation(struct job *j)
{
    free(j->alloc);
    j->alloc = NULL;
    free(j->gpu_masks);
    j->gpu_masks = NULL;
    j->nalloc = 0;
}

/* A job read back at start-up enters the table, the pending queue, or
 * its nodes' usage. */
static void adopt_loaded(struct ctld *c, struct job *j)
{
    job_insert(&c->jobs, j);
    if (j->state == JOB_PENDING) {
        job_queue_add(&c->jobs, j);
    } else if (j->state == JOB_RUNNING || j->completing) {
        for (int i = 0; i < j->nalloc; i++) {
            j->alloc[i]->cpus_used += j->alloc_cpus;
            j->alloc[i]->mem_used += j->alloc_mem;
            j->alloc[i]->gpus_used |= j->gpu_masks[i];
            if (j->exclusive)
                j->alloc[i]->excl_job = j->id;
            j->alloc[i]->njobs++;
        }
    } else {
        forget_allocation(j);
    }
}

struct job *persist_job_load_one(struct ctld *c, uint32_t id)
{
    sqlite3_stmt *st = c->ps->job_load_one;
    struct job *j = NULL;
    sqlite3_bind_int64(st, 1, id);
    if (sqlite3_step(st) == SQLITE_ROW) {
        j = job_from_row(c, st);
        /* a historical record: it must not hold resources */
        forget_allocation(j);
        j->completing = false;
    }
    sl_db_reset(st);
    return j;
}

/* Restart with a million jobs: about 5 us a job, half of it SQLite's,
 * half building the records; two threads halve it on two cores. */
#define LOAD_SPLIT_MIN_IDS 100000

struct load_half {
    struct ctld *c; /* read only: job_from_row looks nodes up */
    const char *path;
    int64_t lo, hi, horizon;
    struct job **jobs;
    size_t n, cap;
    bool failed;
    char error[256];
};

static void *load_half_run(void *arg)
{
    struct load_half *u = arg;
    sqlite3 *h = NULL;
    sqlite3_stmt *st = NULL;
    if (sqlite3_open_v2(u->path, &h, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) !=
            SQLITE_OK ||
        sqlite3_prepare_v2(h, SQL_JOB_LOAD_RANGE, -1, &st, NULL) != SQLITE_OK) {
        snprintf(u->error, sizeof(u->error), "%s", h ? sqlite3_errmsg(h) : "out of memory");
        u->failed = true;
    } else {
        sqlite3_bind_int(st, 1, JOB_COMPLETED);
        sqlite3_bind_int64(st, 2, u->horizon);
        sqlite3_bind_int64(st, 3, u->lo);
        sqlite3_bind_int64(st, 4, u->hi);
        int rc;
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
            if (u->n == u->cap)
                u->jobs = xrealloc(u->jobs, (u->cap = u->cap ? u->cap * 2 : 4096) * sizeof(*u->jobs));
            u->jobs[u->n++] = job_from_row(u->c, st);
        }
        if (rc != SQLITE_DONE) {
            snprintf(u->error, sizeof(u->error), "%s", sqlite3_errmsg(h));
            u->failed = true;
        }
    }
    sqlite3_finalize(st);
    sqlite3_close(h);
    return NULL;
}

int persist_load(struct ctld *c, sl_error_t *err)
{
    sqlite3_stmt *st;
    sqlite3 *h = sl_db_handle(c->db);
    size_t n = 0;

    if (sqlite3_prepare_v2(h, SQL_MAX_ID, -1, &st, NULL) != SQLITE_OK)
        return sl_db_error(c->db, err, "max job id");
    if (sqlite3_step(st) == SQLITE_ROW)
        c->next_job_id = (uint32_t)sqlite3_column_int64(st, 0) + 1;
    sqlite3_finalize(st);

    if (sqlite3_prepare_v2(h, SQL_NODE_LOAD, -1, &st, NULL) != SQLITE_OK)
        return sl_db_error(c->db, err, "load nodes");
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct node *nd = node_find(c, (const char *)sqlite3_column_text(st, 0));
        if (!nd)
            continue;
        if (sqlite3_column_int(st, 1))
            nd->flags |= NODE_FLAG_DRAIN;
        free(nd->reason);
        nd->reason = col_str(st, 2);
        nd->reason_time = sqlite3_column_int64(st, 3);
        if (nd->flags & NODE_FLAG_CLOUD) {
            nd->flags |= sqlite3_column_int(st, 4) & NODE_POWER_FLAGS;
            nd->power_since = sqlite3_column_int64(st, 5);
            nd->power_known = true;
            if (sqlite3_column_int(st, 6))
                nd->state = NODE_DOWN;
        }
    }
    sqlite3_finalize(st);

    /* A big table: the upper half of the ids is read on a second thread,
     * over its own connection, while this one reads the lower half. */
    struct load_half upper = {.c = c, .horizon = ctld_now() - c->conf->min_job_age};
    pthread_t tid;
    /* SLURMISH_LOAD_SPLIT_MIN: tests take the two-thread path with few jobs */
    const char *min = getenv("SLURMISH_LOAD_SPLIT_MIN");
    bool split = c->next_job_id > (min ? strtoull(min, NULL, 10) : LOAD_SPLIT_MIN_IDS);
    if (split) {
        upper.lo = (c->next_job_id - 1) / 2;
        upper.hi = c->next_job_id - 1;
        upper.path = sqlite3_db_filename(h, "main");
        if (pthread_create(&tid, NULL, load_half_run, &upper) != 0)
            split = false;
    }
    if (sqlite3_prepare_v2(h, SQL_JOB_LOAD_RANGE, -1, &st, NULL) != SQLITE_OK) {
        if (split)
            pthread_join(tid, NULL);
        free(upper.jobs);
        return sl_db_error(c->db, err, "load jobs");
    }
    sqlite3_bind_int(st, 1, JOB_COMPLETED);
    sqlite3_bind_int64(st, 2, upper.horizon);
    sqlite3_bind_int64(st, 3, 0);
    sqlite3_bind_int64(st, 4, split ? upper.lo : INT64_MAX);
    while (sqlite3_step(st) == SQLITE_ROW) {
        adopt_loaded(c, job_from_row(c, st));
        n++;
    }
    sqlite3_finalize(st);
    if (split) { /* then the upper half, in id order too */
        pthread_join(tid, NULL);
        if (upper.failed) {
            for (size_t i = 0; i < upper.n; i++)
                job_free(upper.jobs[i]);
            free(upper.jobs);
            return errprintf(err, "load jobs: %s", upper.error);
        }
        for (size_t i = 0; i < upper.n; i++)
            adopt_loaded(c, upper.jobs[i]);
        n += upper.n;
    }
    free(upper.jobs);
    /* the steps still running in running jobs */
    JOB_FOREACH(&c->jobs, j)
    {
        if (j->state != JOB_RUNNING || j->completing)
            continue;
        sqlite3_stmt *ss = c->ps->steps_of;
        sqlite3_bind_int64(ss, 1, j->id);
        while (sqlite3_step(ss) == SQLITE_ROW) {
            if (sqlite3_column_int(ss, 7) != JOB_RUNNING)
                continue;
            struct step *sp = step_new((uint32_t)sqlite3_column_int64(ss, 0),
                                       (const char *)sqlite3_column_text(ss, 1),
                                       (const char *)sqlite3_column_text(ss, 2),
                                       sqlite3_column_int(ss, 3), sqlite3_column_int(ss, 4),
                                       sqlite3_column_int64(ss, 5));
            sp->next = j->steps;
            j->steps = sp;
        }
        sl_db_reset(ss);
        j->last_activity = ctld_now(); /* not kept: a restart counts as activity */
    }
    /* array throttles count running tasks: recount them */
    JOB_FOREACH(&c->jobs, j)
    {
        if (j->array_job_id && j->array_task_id >= 0 && (j->state == JOB_RUNNING || j->completing)) {
            struct job *meta = job_find(&c->jobs, j->array_job_id);
            if (meta && meta != j)
                meta->array_running++;
        }
    }
    log_info("loaded %zu jobs from the state database; next job id %u", n, c->next_job_id);
    return 0;
}

int persist_node_update(struct ctld *c, const struct node *n)
{
    sqlite3_stmt *st = c->ps->node_upsert;
    if (begin(c) < 0)
        return -1;
    sqlite3_bind_text(st, 1, n->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int(st, 2, (n->flags & NODE_FLAG_DRAIN) != 0);
    bind_text(st, 3, n->reason);
    sqlite3_bind_int64(st, 4, n->reason_time);
    sqlite3_bind_int(st, 5, n->flags & NODE_POWER_FLAGS);
    sqlite3_bind_int64(st, 6, n->power_since);
    sqlite3_bind_int(st, 7, n->state == NODE_DOWN);
    return step_done(c, st, "node update");
}

int persist_cost_jobs(struct ctld *c, int64_t start, int64_t end,
                      void (*fn)(const struct cost_job_row *row, void *arg), void *arg)
{
    sqlite3_stmt *st;
    sqlite3 *h = sl_db_handle(c->db);
    if (sqlite3_prepare_v2(h,
                           "SELECT user, COALESCE(account, ''), partition, cost, start_time,"
                           " end_time, alloc_cpus, COALESCE(alloc_nodes, ''), exclusive FROM jobs"
                           " WHERE state>=?1 AND completing=0 AND start_time>0 AND start_time<?3"
                           " AND end_time>=?2",
                           -1, &st, NULL) != SQLITE_OK) {
        log_err("cost report: %s", sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_bind_int(st, 1, JOB_COMPLETED);
    sqlite3_bind_int64(st, 2, start);
    sqlite3_bind_int64(st, 3, end);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct cost_job_row r = {
            .user = (const char *)sqlite3_column_text(st, 0),
            .account = (const char *)sqlite3_column_text(st, 1),
            .partition = (const char *)sqlite3_column_text(st, 2),
            .cost = sqlite3_column_double(st, 3),
            .start_time = sqlite3_column_int64(st, 4),
            .end_time = sqlite3_column_int64(st, 5),
            .alloc_cpus = sqlite3_column_int(st, 6),
            .alloc_nodes = (const char *)sqlite3_column_text(st, 7),
            .exclusive = sqlite3_column_int(st, 8) != 0,
        };
        fn(&r, arg);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int persist_power_intervals(struct ctld *c, int64_t start, int64_t end,
                            void (*fn)(const char *node, const char *group, double price,
                                       int64_t up, int64_t down, void *arg),
                            void *arg)
{
    sqlite3_stmt *st;
    sqlite3 *h = sl_db_handle(c->db);
    if (sqlite3_prepare_v2(h,
                           "SELECT node, grp, price, up, down FROM node_power"
                           " WHERE up<?2 AND (down=0 OR down>=?1)",
                           -1, &st, NULL) != SQLITE_OK) {
        log_err("cost report: %s", sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_bind_int64(st, 1, start);
    sqlite3_bind_int64(st, 2, end);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn((const char *)sqlite3_column_text(st, 0), (const char *)sqlite3_column_text(st, 1),
           sqlite3_column_double(st, 2), sqlite3_column_int64(st, 3),
           sqlite3_column_int64(st, 4), arg);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int64_t persist_cost_since(struct ctld *c)
{
    sqlite3_stmt *st;
    int64_t v = 0;
    if (sqlite3_prepare_v2(sl_db_handle(c->db), "SELECT value FROM meta WHERE key='cost_since'",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    if (sqlite3_step(st) == SQLITE_ROW)
        v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

int persist_account_cost(struct ctld *c, const char *account, int64_t since, double *out)
{
    sqlite3_stmt *st;
    sqlite3 *h = sl_db_handle(c->db);
    *out = 0;
    if (sqlite3_prepare_v2(h,
                           "SELECT COALESCE(SUM(cost), 0) FROM jobs WHERE account=?1 AND "
                           "end_time>=?2 AND state>=?3 AND completing=0",
                           -1, &st, NULL) != SQLITE_OK) {
        log_err("account cost: %s", sqlite3_errmsg(h));
        return -1;
    }
    sqlite3_bind_text(st, 1, account, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, since);
    sqlite3_bind_int(st, 3, JOB_COMPLETED);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int persist_power_up(struct ctld *c, const struct node *n, int64_t when)
{
    sqlite3_stmt *st = c->ps->power_up;
    if (begin(c) < 0)
        return -1;
    sqlite3_bind_text(st, 1, n->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_text(st, 2, n->group->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_double(st, 3, n->group->price_per_hour);
    sqlite3_bind_int(st, 4, n->group->spot);
    sqlite3_bind_int64(st, 5, when);
    return step_done(c, st, "power up");
}

int persist_power_down(struct ctld *c, const struct node *n, int64_t when, bool interrupted)
{
    sqlite3_stmt *st = c->ps->power_down;
    if (begin(c) < 0)
        return -1;
    sqlite3_bind_text(st, 1, n->name, -1, SQLITE_TRANSIENT);
    sqlite3_bind_int64(st, 2, when);
    sqlite3_bind_int(st, 3, interrupted);
    return step_done(c, st, "power down");
}

int persist_event(struct ctld *c, uid_t uid, const char *kind, const char *detail)
{
    sqlite3_stmt *st = c->ps->event;
    if (begin(c) < 0)
        return -1;
    sqlite3_bind_int64(st, 1, ctld_now());
    sqlite3_bind_int64(st, 2, uid);
    bind_text(st, 3, kind);
    bind_text(st, 4, detail);
    return step_done(c, st, "event insert");
}

int persist_acct(struct ctld *c, json_t *job_ids, json_t *user_ids, json_t *states, int64_t start,
                 int64_t end, int limit, json_t *out)
{
    /* The filters are integers checked by the caller, so the WHERE clause
     * is built from numbers only. */
    size_t cap = 1024, len = 0;
    char *sql = xmalloc(cap);
    json_t *v;
    size_t i;
    int n = 0;

#define ADD(...)                                                                                   \
    do {                                                                                           \
        int _k = snprintf(sql + len, cap - len, __VA_ARGS__);                                      \
        while ((size_t)_k >= cap - len) {                                                          \
            sql = xrealloc(sql, cap *= 2);                                                         \
            _k = snprintf(sql + len, cap - len, __VA_ARGS__);                                      \
        }                                                                                          \
        len += (size_t)_k;                                                                         \
    } while (0)
    ADD("SELECT " JOB_COLUMNS " FROM jobs WHERE 1");
    if (json_array_size(job_ids)) {
        ADD(" AND (job_id IN (");
        json_array_foreach(job_ids, i, v) ADD("%s%lld", i ? "," : "", (long long)json_integer_value(v));
        ADD(") OR array_job_id IN (");
        json_array_foreach(job_ids, i, v) ADD("%s%lld", i ? "," : "", (long long)json_integer_value(v));
        ADD("))");
    }
    if (json_array_size(user_ids)) {
        ADD(" AND uid IN (");
        json_array_foreach(user_ids, i, v) ADD("%s%lld", i ? "," : "", (long long)json_integer_value(v));
        ADD(")");
    }
    if (json_array_size(states)) {
        ADD(" AND state IN (");
        json_array_foreach(states, i, v) ADD("%s%lld", i ? "," : "", (long long)json_integer_value(v));
        ADD(")");
    }
    if (end > 0)
        ADD(" AND submit_time <= %lld", (long long)end);
    if (start > 0)
        ADD(" AND (end_time = 0 OR end_time >= %lld)", (long long)start);
    ADD(" ORDER BY job_id LIMIT %d", limit);
#undef ADD
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(sl_db_handle(c->db), sql, -1, &st, NULL) != SQLITE_OK) {
        log_err("accounting query: %s", sqlite3_errmsg(sl_db_handle(c->db)));
        free(sql);
        return -1;
    }
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct job *j = job_from_row(c, st);
        /* a record, not a live job: it holds nothing */
        free(j->alloc);
        j->alloc = NULL;
        j->nalloc = 0;
        json_t *jj = job_to_json(c, j);
        json_object_set_new(jj, "steps", persist_steps_json(c, j->id));
        json_array_append_new(out, jj);
        job_free(j);
        n++;
    }
    sqlite3_finalize(st);
    free(sql);
    return n;
}

int persist_step(struct ctld *c, uint32_t job_id, const struct step *s)
{
    sqlite3_stmt *st = c->ps->step_upsert;
    char *nl;
    int rc;

    if (begin(c) < 0)
        return -1;
    nl = step_nodelist(s, false);
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, s->id);
    bind_text(st, 3, s->name);
    bind_text(st, 4, nl);
    sqlite3_bind_int(st, 5, s->ntasks);
    sqlite3_bind_int(st, 6, s->pty);
    sqlite3_bind_int64(st, 7, s->start_time);
    sqlite3_bind_int64(st, 8, s->end_time);
    sqlite3_bind_int(st, 9, s->state);
    sqlite3_bind_int(st, 10, s->exit_status);
    rc = step_done(c, st, "step upsert");
    free(nl);
    return rc;
}

int persist_step_late_end(struct ctld *c, uint32_t job_id, uint32_t step_id, int state,
                          int exit_status)
{
    sqlite3_stmt *st;
    int rc;

    if (begin(c) < 0)
        return -1;
    /* rare (a report that lost the race with its job's end): not worth a
     * statement kept prepared */
    if (sqlite3_prepare_v2(sl_db_handle(c->db),
                           "UPDATE steps SET state=?3, exit_status=?4"
                           " WHERE job_id=?1 AND step_id=?2 AND state=?5",
                           -1, &st, NULL) != SQLITE_OK) {
        log_err("sqlite prepare: %s", sqlite3_errmsg(sl_db_handle(c->db)));
        return -1;
    }
    sqlite3_bind_int64(st, 1, job_id);
    sqlite3_bind_int64(st, 2, step_id);
    sqlite3_bind_int(st, 3, state);
    sqlite3_bind_int(st, 4, exit_status);
    sqlite3_bind_int(st, 5, JOB_CANCELLED);
    rc = sqlite3_step(st) == SQLITE_DONE ? sqlite3_changes(sl_db_handle(c->db)) : -1;
    if (rc < 0)
        log_err("sqlite step late end: %s", sqlite3_errmsg(sl_db_handle(c->db)));
    sqlite3_finalize(st);
    return rc;
}

json_t *persist_steps_json(struct ctld *c, uint32_t job_id)
{
    sqlite3_stmt *st = c->ps->steps_of;
    json_t *arr = json_array();

    sqlite3_bind_int64(st, 1, job_id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        int status = sqlite3_column_int(st, 8);
        const char *nl = (const char *)sqlite3_column_text(st, 2);
        struct hostlist *hl = hostlist_create(nl ? nl : "", NULL);
        char *ranged = hl ? hostlist_ranged_string(hl) : NULL;
        int nnodes = 1;
        for (const char *q = nl ? nl : ""; *q; q++)
            nnodes += *q == ',';
        hostlist_destroy(hl);
        json_array_append_new(
            arr, json_pack("{s:I, s:s, s:s, s:i, s:i, s:b, s:I, s:I, s:s, s:i, s:i}", "step_id",
                           (json_int_t)sqlite3_column_int64(st, 0), "name",
                           (const char *)sqlite3_column_text(st, 1), "nodes",
                           ranged ? ranged : "", "nnodes", nnodes, "ntasks",
                           sqlite3_column_int(st, 3), "pty",
                           sqlite3_column_int(st, 4), "start_time",
                           (json_int_t)sqlite3_column_int64(st, 5), "end_time",
                           (json_int_t)sqlite3_column_int64(st, 6), "state",
                           job_state_name(sqlite3_column_int(st, 7)), "exit_code",
                           WIFEXITED(status) ? WEXITSTATUS(status) : 0, "exit_signal",
                           WIFSIGNALED(status) ? WTERMSIG(status) : 0));
        free(ranged);
    }
    sl_db_reset(st);
    return arr;
}

json_t *persist_events(struct ctld *c, int limit)
{
    sqlite3_stmt *st;
    json_t *out = json_array();
    if (sqlite3_prepare_v2(sl_db_handle(c->db),
                           "SELECT time, uid, kind, detail FROM (SELECT * FROM events"
                           " ORDER BY id DESC LIMIT ?1) ORDER BY id",
                           -1, &st, NULL) != SQLITE_OK) {
        log_err("events query: %s", sqlite3_errmsg(sl_db_handle(c->db)));
        return out;
    }
    sqlite3_bind_int(st, 1, limit);
    while (sqlite3_step(st) == SQLITE_ROW)
        json_array_append_new(
            out, json_pack("{s:I, s:I, s:s, s:s}", "time", (json_int_t)sqlite3_column_int64(st, 0),
                           "uid", (json_int_t)sqlite3_column_int64(st, 1), "kind",
                           (const char *)sqlite3_column_text(st, 2), "detail",
                           (const char *)sqlite3_column_text(st, 3)));
    sqlite3_finalize(st);
    return out;
}
