/* submit.c - submit_job: validate a job description, store it, reply
 * with its id (sent only after the turn's commit).
 *
 * Decode -> validate -> act -> respond; every rejection names the field.
 */
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MAX_NAME 256
#define MAX_PATH 4096

static const char *opt_str(json_t *body, const char *key)
{
    json_t *v = json_object_get(body, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* Read an optional integer field; -1 and a reply when it has the wrong type. */
static int opt_int(struct ctld *c, struct request *req, const char *key, json_int_t def,
                   json_int_t min, json_int_t max, json_int_t *out)
{
    json_t *v = json_object_get(req->msg.body, key);
    if (!v || json_is_null(v)) {
        *out = def;
        return 0;
    }
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s must be an integer in %lld..%lld",
                          key, (long long)min, (long long)max);
        return -1;
    }
    *out = json_integer_value(v);
    return 0;
}

static int check_str(struct ctld *c, struct request *req, const char *key, size_t max,
                     const char **out)
{
    json_t *v = json_object_get(req->msg.body, key);
    if (!v || json_is_null(v)) {
        *out = NULL;
        return 0;
    }
    if (!json_is_string(v) || strlen(json_string_value(v)) > max) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s must be a string of at most %zu bytes",
                          key, max);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static int check_str_array(struct ctld *c, struct request *req, const char *key, json_t **out)
{
    json_t *v = json_object_get(req->msg.body, key), *e;
    size_t i;
    if (!v || json_is_null(v)) {
        *out = json_array();
        return 0;
    }
    if (!json_is_array(v))
        goto bad;
    json_array_foreach(v, i, e) if (!json_is_string(e)) goto bad;
    *out = json_incref(v);
    return 0;
bad:
    ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s must be an array of strings", key);
    return -1;
}

/* Jobs a record stands for while it is active: a meta job one per task
 * still pending in it, as Slurm counts array tasks; 0 once it ended. */
static uint64_t active_count(const struct job *j)
{
    if (job_state_is_final(j->state))
        return 0;
    return j->array_pending > 0 ? j->array_pending : 1;
}

/* Active jobs, in all and per user, for the limits.  Counting means a
 * walk over every job, too slow to repeat for each of thousands of
 * pipelined submissions, so the counts are kept between submissions as an
 * upper bound: jobs that end only lower the true counts, and a submission
 * adds its own.  A submission the bound would refuse counts afresh first.
 * Only a finished job put back in the queue (scontrol requeue) raises a
 * count behind the bound's back: submit_limits_invalidate() drops it. */
struct user_count {
    uid_t uid;
    bool used;
    uint64_t n;
};

static struct {
    bool valid;
    uint64_t all;
    struct user_count *users; /* open addressing, cap a power of 2 */
    size_t cap, used;
} counts;

void submit_limits_invalidate(void)
{
    counts.valid = false;
}

static struct user_count *count_slot(uid_t uid)
{
    if (2 * (counts.used + 1) > counts.cap) {
        struct user_count *old = counts.users;
        size_t ocap = counts.cap;
        counts.cap = ocap ? 2 * ocap : 64;
        counts.users = xcalloc(counts.cap, sizeof(*counts.users));
        counts.used = 0;
        for (size_t i = 0; i < ocap; i++) {
            if (old[i].used) {
                struct user_count *u = count_slot(old[i].uid);
                u->n = old[i].n;
            }
        }
        free(old);
    }
    size_t i = ((size_t)uid * 2654435761u) & (counts.cap - 1);
    while (counts.users[i].used && counts.users[i].uid != uid)
        i = (i + 1) & (counts.cap - 1);
    if (!counts.users[i].used) {
        counts.users[i] = (struct user_count){.uid = uid, .used = true};
        counts.used++;
    }
    return &counts.users[i];
}

static void count_jobs(struct ctld *c)
{
    if (counts.users)
        memset(counts.users, 0, counts.cap * sizeof(*counts.users));
    counts.used = 0;
    counts.all = 0;
    JOB_FOREACH(&c->jobs, j)
    {
        uint64_t n = active_count(j);
        if (n) {
            counts.all += n;
            count_slot(j->uid)->n += n;
        }
    }
    counts.valid = true;
}

/* max_submit_jobs and max_job_count, checked before anything is stored.
 * Root and slurm_user are exempt from the per-user limit (Slurm's root
 * association carries none); nobody is from max_job_count.  -1 and a
 * reply when the job would break one. */
static int submit_limits_check(struct ctld *c, struct request *req, const struct job *job)
{
    const struct sl_conf *f = c->conf;
    bool per_user = f->max_submit_jobs >= 0 && req->msg.uid != 0 && req->msg.uid != c->slurm_uid;
    uint64_t adds = job->array_bits ? job->array_count : 1, mine;

    if (!per_user && f->max_job_count < 0)
        return 0;
    bool counted = !counts.valid;
    if (counted)
        count_jobs(c);
    for (;;) {
        mine = count_slot(req->msg.uid)->n;
        bool over = (per_user && mine + adds > (uint64_t)f->max_submit_jobs) ||
                    (f->max_job_count >= 0 && counts.all + adds > (uint64_t)f->max_job_count);
        if (!over)
            return 0;
        if (counted)
            break;
        count_jobs(c); /* the bound says no: count exactly before refusing */
        counted = true;
    }
    if (per_user && mine + adds > (uint64_t)f->max_submit_jobs) {
        log_info("submission by %s refused: %llu job(s) active, %llu more would pass "
                 "max_submit_jobs=%d",
                 job->user, (unsigned long long)mine, (unsigned long long)adds, f->max_submit_jobs);
        ctld_reply_errorf(c, req, SL_E_ACCOUNTING_POLICY,
                          "MaxSubmitJobsPerUser: user %s has %llu job(s) pending or running, "
                          "max_submit_jobs is %d, this submission adds %llu",
                          job->user, (unsigned long long)mine, f->max_submit_jobs,
                          (unsigned long long)adds);
        return -1;
    }
    log_info("submission by %s refused: %llu job(s) active, max_job_count=%d reached", job->user,
             (unsigned long long)counts.all, f->max_job_count);
    ctld_reply_errorf(c, req, SL_E_QUEUE_FULL,
                      "MaxJobCount: %llu job(s) pending or running, max_job_count is %d, "
                      "this submission adds %llu",
                      (unsigned long long)counts.all, f->max_job_count, (unsigned long long)adds);
    return -1;
}

/* A job was stored: add it to the counts (an upper bound, see above). */
static void submit_limits_add(const struct job *job)
{
    if (!counts.valid)
        return;
    uint64_t n = active_count(job);
    counts.all += n;
    count_slot(job->uid)->n += n;
}

/* The user and group names of a submission (64 bytes each).  Each
 * getpwuid()/getgrgid() reads /etc/passwd and /etc/group again, a dozen
 * system calls per job, or asks sssd or LDAP, which can take milliseconds
 * while the whole loop waits.  Names found are kept for a minute (Slurm's
 * slurmctld keeps them until it reconfigures), a few pairs, the oldest
 * replaced first; an id with no name is asked again each time, so a user
 * added since shows at once.  A renamed user shows within the minute. */
#define ID_NAMES_SLOTS 16
#define ID_NAMES_TTL 60.0

static void id_names(uid_t uid, gid_t gid, char *uname, char *gname)
{
    static struct {
        double at; /* monotonic seconds of the look-up; 0: empty */
        uid_t uid;
        gid_t gid;
        char user[64], group[64];
    } slot[ID_NAMES_SLOTS];
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + ts.tv_nsec / 1e9;
    int oldest = 0;

    for (int i = 0; i < ID_NAMES_SLOTS; i++) {
        if (slot[i].at > 0 && slot[i].uid == uid && slot[i].gid == gid &&
            now - slot[i].at < ID_NAMES_TTL) {
            memcpy(uname, slot[i].user, sizeof(slot[i].user));
            memcpy(gname, slot[i].group, sizeof(slot[i].group));
            return;
        }
        if (slot[i].at < slot[oldest].at)
            oldest = i;
    }
    struct passwd *pw = getpwuid(uid);
    if (pw)
        snprintf(uname, 64, "%s", pw->pw_name);
    else
        snprintf(uname, 64, "%u", (unsigned)uid);
    struct group *gr = getgrgid(gid);
    if (gr)
        snprintf(gname, 64, "%s", gr->gr_name);
    else
        snprintf(gname, 64, "%u", (unsigned)gid);
    if (pw && gr) {
        slot[oldest].at = now;
        slot[oldest].uid = uid;
        slot[oldest].gid = gid;
        memcpy(slot[oldest].user, uname, sizeof(slot[oldest].user));
        memcpy(slot[oldest].group, gname, sizeof(slot[oldest].group));
    }
}

void submit_handle(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *argv = NULL, *env = NULL;
    const char *script, *name, *work_dir, *pname, *out, *err, *in, *host, *account, *comment,
        *command;
    json_int_t nodes, ntasks, cpt, mem, tlim;
    struct part *part;
    struct job *job;
    char uname[64], gname[64];

    bool interactive = json_is_true(json_object_get(body, "interactive"));
    script = opt_str(body, "script");
    if (interactive) {
        /* an allocation for salloc/srun: the client runs the work as steps */
        if (script && *script) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                              "an interactive allocation takes no script");
            return;
        }
        if (json_object_get(body, "array")) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                              "an interactive allocation cannot be a job array");
            return;
        }
        script = "";
    } else if (!script || !*script) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "script is required");
        return;
    } else if (strncmp(script, "#!", 2) != 0) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "script must start with #! followed by the path to an interpreter");
        return;
    }
    if (strlen(script) > (size_t)c->conf->max_script_size) {
        /* Slurm's _test_strlen() refusal of a script over max_script_size */
        ctld_reply_errorf(c, req, SL_E_PATHNAME_TOO_LONG,
                          "batch script is %zu bytes, over max_script_size (%d bytes)",
                          strlen(script), c->conf->max_script_size);
        return;
    }
    if (check_str(c, req, "name", MAX_NAME, &name) < 0 ||
        check_str(c, req, "work_dir", MAX_PATH, &work_dir) < 0 ||
        check_str(c, req, "partition", MAX_NAME, &pname) < 0 ||
        check_str(c, req, "stdout", MAX_PATH, &out) < 0 ||
        check_str(c, req, "stderr", MAX_PATH, &err) < 0 ||
        check_str(c, req, "stdin", MAX_PATH, &in) < 0 ||
        check_str(c, req, "submit_host", MAX_NAME, &host) < 0 ||
        check_str(c, req, "account", MAX_NAME, &account) < 0 ||
        check_str(c, req, "comment", 4096, &comment) < 0 ||
        check_str(c, req, "command", MAX_PATH, &command) < 0)
        return;
    if (!work_dir || work_dir[0] != '/') {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "work_dir must be an absolute path");
        return;
    }
    if (opt_int(c, req, "nodes", 1, 1, 100000, &nodes) < 0 ||
        opt_int(c, req, "ntasks", 0, 0, 1000000, &ntasks) < 0 ||
        opt_int(c, req, "cpus_per_task", 1, 1, 100000, &cpt) < 0 ||
        opt_int(c, req, "mem_mb", 0, 0, (json_int_t)1 << 40, &mem) < 0 ||
        opt_int(c, req, "time_limit", SL_TIME_UNSET, SL_TIME_UNSET, (json_int_t)1 << 40, &tlim) <
            0)
        return;
    json_int_t tpn, mpc, gpn, gtotal, nice, wsig, wtime, begin;
    const char *gpu_type, *constraint, *req_nodes, *exc_nodes, *dependency;
    if (opt_int(c, req, "ntasks_per_node", 0, 0, 100000, &tpn) < 0 ||
        opt_int(c, req, "mem_per_cpu_mb", 0, 0, (json_int_t)1 << 40, &mpc) < 0 ||
        opt_int(c, req, "gpus_per_node", 0, 0, 64, &gpn) < 0 ||
        opt_int(c, req, "gpus", 0, 0, 64 * 100000, &gtotal) < 0 ||
        opt_int(c, req, "nice", 0, -2147483645, 2147483645, &nice) < 0 ||
        opt_int(c, req, "warn_signal", 0, 0, 64, &wsig) < 0 ||
        opt_int(c, req, "warn_time", 60, 0, 65535, &wtime) < 0 ||
        opt_int(c, req, "begin_time", 0, 0, (json_int_t)1 << 40, &begin) < 0 ||
        check_str(c, req, "gpu_type", MAX_NAME, &gpu_type) < 0 ||
        check_str(c, req, "constraint", 1024, &constraint) < 0 ||
        check_str(c, req, "req_nodes", 65536, &req_nodes) < 0 ||
        check_str(c, req, "exc_nodes", 65536, &exc_nodes) < 0 ||
        check_str(c, req, "dependency", 65536, &dependency) < 0)
        return;
    if (dependency && *dependency) {
        const char *why = NULL;
        int drc = depend_validate(c, dependency, &why);
        if (drc) {
            ctld_reply_errorf(c, req, drc, "%s", why ? why : dependency);
            return;
        }
    }
    if (constraint && *constraint &&
        (strspn(constraint, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-&|,") !=
             strlen(constraint) ||
         (strchr(constraint, '|') && strpbrk(constraint, "&,")))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "constraint \"%s\": use features joined by & (all) or | (any)",
                          constraint);
        return;
    }
    for (int which = 0; which < 2; which++) {
        const char *expr = which ? exc_nodes : req_nodes;
        sl_error_t herr;
        struct hostlist *hl;
        if (!expr || !*expr)
            continue;
        if (!(hl = hostlist_create(expr, &herr))) {
            ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%s", herr.text);
            return;
        }
        for (size_t i = 0; i < hostlist_count(hl); i++) {
            if (!node_find(c, hostlist_nth(hl, i))) {
                ctld_reply_errorf(c, req, SL_E_INVALID_NODE_NAME, "%s", hostlist_nth(hl, i));
                hostlist_destroy(hl);
                return;
            }
        }
        if (!which && (json_int_t)hostlist_count(hl) > nodes)
            nodes = (json_int_t)hostlist_count(hl); /* -w implies that many nodes, as Slurm */
        hostlist_destroy(hl);
    }
    if (ntasks == 0)
        ntasks = tpn ? tpn * nodes : nodes; /* Slurm: one task per node by default */
    if (ntasks < nodes) {
        ctld_reply_errorf(c, req, SL_E_INVALID_NODE_COUNT, "fewer tasks (%lld) than nodes (%lld)",
                          (long long)ntasks, (long long)nodes);
        return;
    }
    if (nice < 0 && !ctld_is_admin(c, req->msg.uid)) {
        ctld_reply_errorf(c, req, SL_E_ACCESS_DENIED, "only admins may set a negative nice");
        return;
    }
    if (gtotal && !gpn)
        gpn = (gtotal + nodes - 1) / nodes; /* --gpus is per job: spread over the nodes */
    if (tlim == 0) {
        ctld_reply(c, req, SL_E_INVALID_TIME_LIMIT, NULL, NULL);
        return;
    }

    if (pname && *pname) {
        if (!(part = part_find(c, pname))) {
            ctld_reply(c, req, SL_E_INVALID_PARTITION, NULL, NULL);
            return;
        }
    } else {
        const struct sl_partition *dp = sl_conf_default_partition(c->conf);
        if (!dp || !(part = part_find(c, dp->name))) {
            ctld_reply(c, req, SL_E_NO_DEFAULT_PARTITION, NULL, NULL);
            return;
        }
    }
    /* partition access: AllowUsers / AllowAccounts, as Slurm */
    if (part->conf->allow_users && !ctld_is_admin(c, req->msg.uid)) {
        struct passwd *apw = getpwuid(req->msg.uid);
        bool ok = false;
        for (size_t i = 0; apw && i < part->conf->allow_user_count; i++)
            ok |= !strcmp(part->conf->allow_users[i], apw->pw_name);
        if (!ok) {
            ctld_reply_errorf(c, req, SL_E_ACCESS_DENIED, "user may not use partition %s",
                              part->conf->name);
            return;
        }
    }
    if (part->conf->allow_accounts) {
        bool ok = false;
        for (size_t i = 0; account && i < part->conf->allow_account_count; i++)
            ok |= !strcmp(part->conf->allow_accounts[i], account);
        if (!ok) {
            ctld_reply(c, req, SL_E_INVALID_ACCOUNT, NULL, NULL);
            return;
        }
    }
    /* the request's shape, to check it against the partition before anything is stored */
    struct job shape = {.nodes_req = (int)nodes, .ntasks = (int)ntasks, .cpus_per_task = (int)cpt,
                        .ntasks_per_node = (int)tpn, .mem_mb = (uint64_t)mem,
                        .mem_per_cpu_mb = (uint64_t)mpc, .gpus_per_node = (int)gpn,
                        .gpu_type = (char *)(gpu_type && *gpu_type ? gpu_type : NULL),
                        .exclusive = json_is_true(json_object_get(body, "exclusive")),
                        .constraint = (char *)(constraint && *constraint ? constraint : NULL),
                        .req_nodes = (char *)(req_nodes && *req_nodes ? req_nodes : NULL),
                        .exc_nodes = (char *)(exc_nodes && *exc_nodes ? exc_nodes : NULL)};
    int rc = sched_job_fits_partition(c, part, &shape);
    if (rc) {
        ctld_reply(c, req, rc, NULL, NULL);
        return;
    }
    if (check_str_array(c, req, "argv", &argv) < 0)
        return;
    if (check_str_array(c, req, "env", &env) < 0) {
        json_decref(argv);
        return;
    }

    id_names(req->msg.uid, req->msg.gid, uname, gname);

    job = xcalloc(1, sizeof(*job));
    job->id = c->next_job_id;
    job->name = xstrdup(name && *name ? name : "sbatch");
    job->uid = req->msg.uid;
    job->gid = req->msg.gid;
    job->user = xstrdup(uname);
    job->group = xstrdup(gname);
    job->partition = xstrdup(part->conf->name);
    job->state = JOB_PENDING;
    job->reason = REASON_NONE;
    job->submit_time = ctld_now();
    if (tlim == SL_TIME_UNSET)
        tlim = part->conf->default_time != SL_TIME_UNSET ? part->conf->default_time
                                                         : part->conf->max_time;
    job->time_limit = tlim;
    job->nodes_req = (int)nodes;
    job->ntasks = (int)ntasks;
    job->cpus_per_task = (int)cpt;
    job->mem_mb = (uint64_t)mem;
    job->mem_per_cpu_mb = shape.mem_per_cpu_mb;
    job->ntasks_per_node = shape.ntasks_per_node;
    job->gpus_per_node = shape.gpus_per_node;
    job->gpu_type = xstrdup(shape.gpu_type);
    job->exclusive = shape.exclusive;
    job->constraint = xstrdup(shape.constraint);
    job->req_nodes = xstrdup(shape.req_nodes);
    job->exc_nodes = xstrdup(shape.exc_nodes);
    job->nice = (int)nice;
    job->dependency = dependency && *dependency ? xstrdup(dependency) : NULL;
    job->kill_on_invalid_dep = json_is_true(json_object_get(body, "kill_on_invalid_dep"));
    job->warn_signal = (int)wsig;
    job->warn_time = (int)wtime;
    job->warn_batch = json_is_true(json_object_get(body, "warn_batch"));
    job->begin_time = begin > job->submit_time ? begin : 0;
    json_t *rq = json_object_get(body, "requeue");
    job->requeue = rq ? json_is_true(rq) : true; /* Slurm's JobRequeue=1 */
    job->interactive = interactive;
    if (interactive)
        job->requeue = false; /* nothing to run again: the session went with its node */
    job->work_dir = xstrdup(work_dir);
    job->out = xstrdup(out);
    job->err = xstrdup(err);
    job->in = xstrdup(in);
    job->submit_host = xstrdup(host);
    job->account = xstrdup(account);
    job->comment = xstrdup(comment);
    job->command = xstrdup(command);
    job->cancelled_by = -1;
    job->pending_end_state = -1;
    job->held = json_is_true(json_object_get(body, "hold"));
    if (job->held)
        job->reason = REASON_JOB_HELD_USER;
    job->array_task_id = -1;
    if (json_is_true(json_object_get(body, "test_only"))) {
        /* --test-only: validated; say when and where it would start, store nothing */
        char *where = NULL;
        int64_t when = sched_test_start(c, job, &where);
        json_t *r = json_pack("{s:I, s:I, s:s, s:i, s:s}", "job_id", (json_int_t)job->id,
                              "start_time", (json_int_t)when, "nodes", where ? where : "",
                              "cpus", (int)(ntasks * cpt), "partition", job->partition);
        ctld_reply(c, req, 0, NULL, r);
        json_decref(r);
        free(where);
        json_decref(argv);
        json_decref(env);
        job_free(job);
        return;
    }
    const char *array = opt_str(body, "array");
    if (array && *array) {
        sl_error_t aerr;
        if (array_parse_max(array, (uint32_t)c->conf->max_array_size - 1, job, &aerr) < 0) {
            json_decref(argv);
            json_decref(env);
            job_free(job);
            ctld_reply_errorf(c, req, SL_E_BAD_ARRAY, "%s", aerr.text);
            return;
        }
        job->array_job_id = job->id;
    }

    if (submit_limits_check(c, req, job) < 0) {
        json_decref(argv);
        json_decref(env);
        job_free(job);
        return;
    }
    /* ranked now, as the next pass will say: passes rank held jobs only
     * now and then (sched.c) */
    job->priority = sched_priority(job, part, job->submit_time);
    if (persist_job_insert(c, job, script, argv, env) < 0) {
        json_decref(argv);
        json_decref(env);
        job_free(job);
        ctld_reply_errorf(c, req, SL_E_DB, "%s", persist_error(c));
        return;
    }
    json_decref(argv);
    json_decref(env);
    c->next_job_id++;
    submit_limits_add(job);
    job_insert(&c->jobs, job);
    job_queue_add(&c->jobs, job);
    /* a held job gives the scheduler nothing to do until it is released
     * (update.c asks for a pass then); a pass per turn of a pipelined
     * held submission would walk the whole pending queue each time */
    if (!job->held)
        c->sched_needed = true;
    log_info("job %u submitted by %s to %s", job->id, job->user, job->partition);

    json_t *reply = json_pack("{s:I}", "job_id", (json_int_t)job->id);
    ctld_reply(c, req, 0, NULL, reply);
    json_decref(reply);
}
