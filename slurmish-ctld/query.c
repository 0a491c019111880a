/* query.c - read-only requests: ping, query_jobs, query_nodes,
 * query_partitions.  They never write, so they cost no commit. */
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "ctld.h"
#include "jobjson.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

void query_ping(struct ctld *c, struct request *req)
{
    json_t *r = json_pack("{s:s, s:s, s:i, s:s, s:I, s:I}", "cluster", c->conf->cluster_name,
                          "host", c->conf->ctld_host, "port", c->conf->ctld_port, "version",
                          PACKAGE_VERSION, "time", (json_int_t)ctld_now(), "start_time",
                          (json_int_t)c->start_time);
    if (json_is_true(json_object_get(req->msg.body, "check"))) {
        /* {"check": true}: an admin's whole-state consistency pass (invariants.c) */
        char text[1200];
        if (!ctld_is_admin(c, req->msg.uid)) {
            json_decref(r);
            ctld_reply(c, req, SL_E_ACCESS_DENIED, NULL, NULL);
            return;
        }
        if (invariants_check(c, text, sizeof(text)))
            log_err("invariant violated: %s", text);
        else
            log_info("invariants ok");
        json_object_set_new(r, "invariants", json_string(text));
    }
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}

static bool in_int_array(json_t *a, json_int_t v)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (json_is_integer(e) && json_integer_value(e) == v) return true;
    return false;
}

static bool in_str_array(json_t *a, const char *s)
{
    size_t i;
    json_t *e;
    json_array_foreach(a, i, e) if (json_is_string(e) && !strcmp(json_string_value(e), s)) return true;
    return false;
}

static int state_mask(json_t *states)
{
    int mask = 0;
    size_t i;
    json_t *e;
    json_array_foreach(states, i, e)
    {
        int s = json_is_string(e) ? job_state_from_name(json_string_value(e)) : -1;
        if (s >= 0)
            mask |= 1 << s;
    }
    return mask;
}

static bool job_matches(const struct job *j, json_t *users, json_t *parts, int mask)
{
    if (users && !in_int_array(users, j->uid))
        return false;
    if (parts && !in_str_array(parts, j->partition))
        return false;
    if (mask && !(mask & (1 << j->state)))
        return false;
    return true;
}

/* The reply under construction: envelope and body written as text into
 * one buffer, so a million-job list costs no jansson tree per job; rows
 * into a second, the raw data frame after the envelope. */
struct jobs_out {
    struct jw w, rows;
    const int *fields; /* NULL: whole objects ("jobs"); else rows of these */
    int nfields;
    size_t n;
    struct request *stream; /* rows streamed in pieces to this request */
    bool cut;               /* ...until a piece could not be sent */
};

/* Streamed rows go in pieces of about this many bytes (whole rows), big
 * enough that the tools take each in one allocation (proto/zmtp.c reads a
 * frame of 4 MiB or more at once), small enough that the client parses
 * the first while the controller writes the next ones.  Tests make them
 * small (SLURMISH_QUERY_PIECE_BYTES) to exercise many pieces. */
#define PIECE_BYTES ((size_t)4 << 20)

static size_t piece_bytes(void)
{
    static size_t n;
    if (!n) {
        const char *e = getenv("SLURMISH_QUERY_PIECE_BYTES");
        long v = e ? atol(e) : 0;
        n = v > 0 ? (size_t)v : PIECE_BYTES;
    }
    return n;
}

/* Send the rows written so far as one piece of a streamed reply; more:
 * a next one is coming. */
static void out_piece(struct ctld *c, struct jobs_out *o, bool more)
{
    size_t len;
    char *data = jw_take(&o->rows, &len);
    if (!o->cut && ctld_reply_stream_piece(c, o->stream, data, len) < 0)
        o->cut = true;
    else if (o->cut)
        free(data);
    if (more)
        jw_init(&o->rows, piece_bytes() + piece_bytes() / 8);
}

static void out_job(struct ctld *c, struct jobs_out *o, const struct job *j)
{
    if (o->fields) {
        if (o->cut)
            return;
        job_write_row(&o->rows, c, j, o->fields, o->nfields);
        if (o->stream && o->rows.len >= piece_bytes())
            out_piece(c, o, true);
    } else {
        if (o->n)
            jw_raw(&o->w, ",", 1);
        job_write_object(&o->w, c, j, false);
    }
    o->n++;
}

/* fields: the job fields to send, as rows (see jobjson.h), ["*"] for all
 * of them; 0 if the request names none, -1 after replying with an error. */
static int parse_fields(struct ctld *c, struct request *req, int **out)
{
    json_t *fl = json_object_get(req->msg.body, "fields"), *e;
    size_t i;
    *out = NULL;
    if (!fl)
        return 0;
    if (!json_is_array(fl) || json_array_size(fl) == 0 ||
        json_array_size(fl) > (size_t)job_field_count() * 2) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "fields: a list of job field names");
        return -1;
    }
    if (json_array_size(fl) == 1 && json_is_string(json_array_get(fl, 0)) &&
        !strcmp(json_string_value(json_array_get(fl, 0)), "*")) {
        /* every field, in the objects' order (squeue --json) */
        int *all = xcalloc((size_t)job_field_count(), sizeof(int));
        for (int k = 0; k < job_field_count(); k++)
            all[k] = k;
        *out = all;
        return job_field_count();
    }
    int *f = xcalloc(json_array_size(fl), sizeof(int));
    json_array_foreach(fl, i, e)
    {
        if (!json_is_string(e) || (f[i] = job_field_index(json_string_value(e))) < 0) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "fields: no job field \"%.64s\"",
                              json_is_string(e) ? json_string_value(e) : "(not a string)");
            free(f);
            return -1;
        }
    }
    *out = f;
    return (int)json_array_size(fl);
}

void query_jobs(struct ctld *c, struct request *req)
{
    json_t *body = req->msg.body, *ids = json_object_get(body, "job_ids");
    json_t *users = json_object_get(body, "user_ids"), *parts = json_object_get(body, "partitions");
    json_t *states = json_object_get(body, "states");
    int mask = json_is_array(states) ? state_mask(states) : 0;
    int64_t horizon = ctld_now() - c->conf->min_job_age;
    struct jobs_out o = {0};
    int *fields, nf;
    char head[SL_MSG_REPLY_HEAD_MAX];

    if ((nf = parse_fields(c, req, &fields)) < 0)
        return;
    if (!json_is_array(users))
        users = NULL;
    if (!json_is_array(parts))
        parts = NULL;
    o.fields = nf ? fields : NULL;
    o.nfields = nf;
    jw_init(&o.w, 64 * 1024);
    jw_raw(&o.w, head, sl_msg_reply_head(req->msg.seq, head, sizeof(head)));
    if (o.fields) {
        jw_puts(&o.w, "{\"fields\":[");
        for (int k = 0; k < nf; k++) {
            if (k)
                jw_raw(&o.w, ",", 1);
            jw_str(&o.w, job_field_name(fields[k]));
        }
        jw_puts(&o.w, "],\"rows_frame\":true");
        jw_init(&o.rows, 64 * 1024);
    } else {
        jw_puts(&o.w, "{\"jobs\":[");
    }
    if (json_is_array(ids) && json_array_size(ids) > 0) {
        size_t i, found = 0;
        json_t *e;
        json_array_foreach(ids, i, e)
        {
            if (!json_is_integer(e))
                continue;
            uint32_t id = (uint32_t)json_integer_value(e);
            struct job *j = job_find(&c->jobs, id), *old = NULL;
            if (!j)
                j = old = persist_job_load_one(c, id); /* finished long ago */
            if (j) {
                found++;
                /* salloc/srun set up the allocation's environment from this */
                if (job_matches(j, users, parts, mask) && !o.fields &&
                    json_is_true(json_object_get(body, "with_env")) && !old &&
                    j->state == JOB_RUNNING && j->nalloc &&
                    (j->uid == req->msg.uid || ctld_is_admin(c, req->msg.uid))) {
                    json_t *env = json_array();
                    char *t;
                    job_env(c, j, env);
                    if (o.n++)
                        jw_raw(&o.w, ",", 1);
                    job_write_object(&o.w, c, j, true);
                    jw_puts(&o.w, ",\"env\":");
                    t = json_dumps(env, JSON_COMPACT);
                    jw_puts(&o.w, t ? t : "[]");
                    jw_raw(&o.w, "}", 1);
                    free(t);
                    json_decref(env);
                } else if (job_matches(j, users, parts, mask)) {
                    out_job(c, &o, j);
                }
            }
            if (j && j->array_job_id == id) {
                /* an array's id also names its tasks */
                JOB_FOREACH(&c->jobs, t)
                {
                    if (t != j && t->array_job_id == id && job_matches(t, users, parts, mask))
                        out_job(c, &o, t);
                }
            }
            job_free(old);
        }
        if (found == 0) {
            jw_free(&o.w);
            jw_free(&o.rows);
            free(fields);
            ctld_reply(c, req, SL_E_INVALID_JOB_ID, NULL, NULL);
            return;
        }
    } else {
        /* active: squeue's default view, which shows no finished job; the
         * reply need not carry the last min_job_age seconds of them */
        bool active = json_is_true(json_object_get(body, "active"));
        if (o.fields && json_is_true(json_object_get(body, "stream"))) {
            /* the envelope now, the rows in pieces as they are written,
             * so the client works on the first while this writes the rest */
            size_t len;
            jw_puts(&o.w, ",\"rows_stream\":true,\"time\":");
            jw_int(&o.w, ctld_now());
            jw_raw(&o.w, "}}", 2);
            char *buf = jw_take(&o.w, &len);
            ctld_reply_stream_begin(c, req, buf, len);
            jw_free(&o.rows);
            jw_init(&o.rows, piece_bytes() + piece_bytes() / 8);
            o.stream = req;
        }
        JOB_FOREACH(&c->jobs, j)
        {
            if (job_state_is_final(j->state) && !j->completing &&
                (active || j->end_time < horizon))
                continue;
            if (job_matches(j, users, parts, mask))
                out_job(c, &o, j);
        }
        if (o.stream) {
            if (o.rows.len)
                out_piece(c, &o, false);
            else
                jw_free(&o.rows);
            if (!o.cut)
                ctld_reply_stream_piece(c, req, NULL, 0); /* the end */
            free(fields);
            return;
        }
    }
    jw_puts(&o.w, o.fields ? ",\"time\":" : "],\"time\":");
    jw_int(&o.w, ctld_now());
    jw_raw(&o.w, "}}", 2); /* the body, the envelope */
    free(fields);
    size_t len, data_len = 0;
    char *buf = jw_take(&o.w, &len), *data = o.fields ? jw_take(&o.rows, &data_len) : NULL;
    ctld_reply_encoded(c, req, buf, len, data, data_len);
}

void query_nodes(struct ctld *c, struct request *req)
{
    json_t *names = json_object_get(req->msg.body, "nodes"), *out = json_array();
    if (!json_is_array(names) || json_array_size(names) == 0)
        names = NULL;
    for (int i = 0; i < c->nnodes; i++)
        if (!names || in_str_array(names, c->nodes[i].name))
            json_array_append_new(out, node_to_json(c, &c->nodes[i]));
    if (names && json_array_size(out) == 0) {
        json_decref(out);
        ctld_reply(c, req, SL_E_INVALID_NODE_NAME, NULL, NULL);
        return;
    }
    json_t *r = json_pack("{s:o, s:I}", "nodes", out, "time", (json_int_t)ctld_now());
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}

void query_partitions(struct ctld *c, struct request *req)
{
    json_t *names = json_object_get(req->msg.body, "partitions"), *out = json_array();
    if (!json_is_array(names) || json_array_size(names) == 0)
        names = NULL;
    for (int i = 0; i < c->nparts; i++)
        if (!names || in_str_array(names, c->parts[i].conf->name))
            json_array_append_new(out, part_to_json(c, &c->parts[i]));
    if (names && json_array_size(out) == 0) {
        json_decref(out);
        ctld_reply(c, req, SL_E_INVALID_PARTITION, NULL, NULL);
        return;
    }
    json_t *r = json_pack("{s:o, s:I}", "partitions", out, "time", (json_int_t)ctld_now());
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}

/* The controller's running configuration, as `scontrol show config` lists
 * it (Slurm's names, slurmish's values). */
void query_config(struct ctld *c, struct request *req)
{
    const struct sl_conf *f = c->conf;
    json_t *admins = json_array();
    for (size_t i = 0; i < f->admin_count; i++)
        json_array_append_new(admins, json_string(f->admins[i]));
    json_t *r = json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:s, s:s?, s:s,"
        " s:o, s:s, s:I, s:i, s:i}",
        "config_file", c->conf_path, "cluster_name", f->cluster_name, "controller_host",
        f->ctld_host, "controller_port", f->ctld_port, "state_dir", f->state_dir, "log_level",
        f->log_level, "spool_dir", f->spool_dir, "node_port", f->node_port,
        "heartbeat_interval", f->heartbeat_interval, "node_timeout", f->node_timeout,
        "kill_wait", f->kill_wait, "message_timeout", f->message_timeout, "min_job_age",
        f->min_job_age, "sched_interval", f->sched_interval, "slurm_user", f->slurm_user,
        "munge_socket", f->munge_socket, "version", PACKAGE_VERSION, "admins", admins,
        "scheduler", "priority/multifactor + backfill (EASY)", "start_time",
        (json_int_t)c->start_time, "sched_budget_ms", f->sched_budget_ms, "max_array_index",
        f->max_array_size - 1);
    /* submission limits (submit.c); -1 = UNLIMITED */
    json_object_set_new(r, "max_submit_jobs", json_integer(f->max_submit_jobs));
    json_object_set_new(r, "max_job_count", json_integer(f->max_job_count));
    json_object_set_new(r, "max_script_size", json_integer(f->max_script_size));
    /* the tools' own listeners (toolport.c) */
    json_object_set_new(r, "tools_port", json_integer(f->ctld_tools_port));
    if (f->ctld_tools_socket)
        json_object_set_new(r, "tools_socket", json_string(f->ctld_tools_socket));
    if (c->conf_text)
        json_object_set_new(r, "text", json_string(c->conf_text));
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}
