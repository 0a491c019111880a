/* link.c - the node daemon's link to the ctld.
 *
 * One DEALER socket; every message is [empty frame][envelope].  Outgoing
 * requests are signed and remembered in a small table of pending
 * requests, so a reply is matched to what it answers by its "re", even
 * when it comes late.  The ctld's requests (launch_job, signal_job) are
 * accepted only from uid 0 or the slurm user.
 *
 * Signing: a registration is always munge-signed (it may follow a restart
 * of either side).  Once registered, the daemon asks for a signing key
 * (proto/keyed.h) and MACs what it sends with it; the ctld signs its
 * launches and signals with the same key and its own counter, which saves
 * a munged round trip at each end of every launch.  A request refused
 * for its key (the ctld restarted) drops the key and starts a new
 * registration at once; what was refused is resent by the usual retries,
 * and a new key follows the registration.
 *
 * Registration is retried until a reply with rc 0 arrives; heartbeats
 * follow every heartbeat_interval.  A heartbeat reply {registered:false},
 * or a reply after a long silence (the ctld restarted), starts a new
 * registration.  Completions go out at once and are resent every
 * heartbeat, and listed in every registration, until the ctld
 * acknowledges one of them; none is lost while the ctld is down.
 * ZMQ_IMMEDIATE makes sends fail while there is no connection instead of
 * queueing stale messages; that is logged once, and we keep trying.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "cgroup.h"
#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define REGISTER_RETRY 2 /* seconds between registration attempts */

int link_open(struct noded *d)
{
    char ep[300];
    int zero = 0, one = 1, ivl = 200, ivl_max = 2000;

    if (!(d->zctx = zmq_ctx_new()) || !(d->sock = zmq_socket(d->zctx, ZMQ_DEALER)))
        return -1;
    zmq_setsockopt(d->sock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(d->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
    /* readable ctld logs only: the ctld routes by the authenticated sender */
    zmq_setsockopt(d->sock, ZMQ_ROUTING_ID, d->name, strlen(d->name));
    zmq_setsockopt(d->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
    zmq_setsockopt(d->sock, ZMQ_RECONNECT_IVL_MAX, &ivl_max, sizeof(ivl_max));
    snprintf(ep, sizeof(ep), "tcp://%s:%d", d->conf->ctld_host, d->conf->ctld_port);
    if (zmq_connect(d->sock, ep) < 0)
        return -1;
    return 0;
}

void link_close(struct noded *d)
{
    if (d->sock)
        zmq_close(d->sock);
    if (d->zctx)
        zmq_ctx_term(d->zctx);
    d->sock = d->zctx = NULL;
    free(d->pend);
    d->pend = NULL;
    d->npend = d->pend_cap = 0;
}

static int send_frame(struct noded *d, const char *buf, size_t len)
{
    if (!d->sock)
        return -1;
    if (zmq_send(d->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if (zmq_send(d->sock, buf, len, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

static void pending_add(struct noded *d, uint64_t seq, int type, uint32_t job_id,
                        uint32_t step_id)
{
    if (d->npend == d->pend_cap) {
        d->pend_cap = d->pend_cap ? d->pend_cap * 2 : 16;
        d->pend = xrealloc(d->pend, d->pend_cap * sizeof(*d->pend));
    }
    d->pend[d->npend++] = (struct pending){seq, type, job_id, step_id, now_s()};
}

/* Remove and return the pending request `seq` answers; false if none. */
static bool pending_take(struct noded *d, uint64_t seq, struct pending *out)
{
    for (size_t i = 0; i < d->npend; i++)
        if (d->pend[i].seq == seq) {
            *out = d->pend[i];
            d->pend[i] = d->pend[--d->npend];
            return true;
        }
    return false;
}

/* Requests unanswered for long will not be answered (the ctld restarted). */
static void pending_expire(struct noded *d, int64_t now)
{
    int64_t max_age = 10 * (int64_t)d->conf->heartbeat_interval + 60;
    for (size_t i = 0; i < d->npend;)
        if (now - d->pend[i].sent > max_age)
            d->pend[i] = d->pend[--d->npend];
        else
            i++;
}

/* Sign and send a request; its seq, or 0 if it could not be sent. */
static uint64_t send_request(struct noded *d, int type, json_t *body, uint32_t job_id,
                             uint32_t step_id)
{
    sl_error_t err;
    size_t len;
    uint64_t seq = ++d->seq;
    bool keyed = d->have_key && type != SL_MSG_NODE_REGISTER && type != SL_MSG_REQUEST_KEY;
    char *buf = keyed ? sl_msg_encode_keyed(&d->key, type, seq, body, &len, &err)
                      : sl_msg_encode_request(d->auth, type, seq, body, &len, &err);

    if (!buf) {
        log_err("cannot sign %s: %s", sl_msg_info(type)->name, err.text);
        return 0;
    }
    int rc = send_frame(d, buf, len);
    free(buf);
    if (rc < 0) {
        if (!d->ctld_quiet_logged)
            log_warn("controller unreachable (%s); will keep trying", zmq_strerror(errno));
        d->ctld_quiet_logged = true;
        return 0;
    }
    pending_add(d, seq, type, job_id, step_id);
    return seq;
}

uint64_t link_request(struct noded *d, int type, json_t *body, uint32_t job_id, uint32_t step_id)
{
    return send_request(d, type, body, job_id, step_id);
}

void link_send_step_complete(struct noded *d, struct dstep *s)
{
    json_t *body;

    s->complete_sent = now_s();
    if (!d->registered)
        return; /* resent after registration (steps_resend) */
    body = json_pack("{s:s, s:I, s:I, s:i, s:I}", "node", d->name, "job_id",
                     (json_int_t)s->job_id, "step_id", (json_int_t)s->step_id, "status", s->status,
                     "end_time", (json_int_t)s->end_time);
    send_request(d, SL_MSG_STEP_COMPLETE, body, s->job_id, s->step_id);
    json_decref(body);
}

static void send_reply_body(struct noded *d, uint64_t re, int rc, const char *error, json_t *body)
{
    size_t len;
    char *buf = sl_msg_encode_reply(re, rc, error, body, &len);
    if (buf) {
        if (send_frame(d, buf, len) < 0)
            log_warn("cannot send reply to request %llu: %s", (unsigned long long)re,
                     zmq_strerror(errno));
        free(buf);
    }
}

static void send_reply(struct noded *d, uint64_t re, int rc, const char *error)
{
    send_reply_body(d, re, rc, error, NULL);
}

static json_t *running_ids(struct noded *d)
{
    json_t *a = json_array();
    for (struct djob *j = d->jobs; j; j = j->next)
        if (!j->done)
            json_array_append_new(a, json_integer(j->id));
    return a;
}

static void send_register(struct noded *d)
{
    json_t *completed = json_array(), *body;
    uint64_t seq;

    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->done)
            json_array_append_new(completed, json_pack("{s:I, s:i, s:I, s:b}", "job_id",
                                                       (json_int_t)j->id, "status", j->status,
                                                       "end_time", (json_int_t)j->end_time,
                                                       "oom", j->oom));
    /* where clients reach our session socket */
    const char *addr = d->conf->node_address ? d->conf->node_address : d->conf->ctld_host;
    if (!strcmp(addr, "*"))
        addr = d->name;
    body = json_pack("{s:s, s:s, s:i, s:i, s:I, s:i, s:s, s:o, s:o}", "node", d->name, "address",
                     addr, "port", d->port, "cpus", d->res.cpus, "memory_mb",
                     (json_int_t)d->res.memory_mb, "gpus", d->res.gpus, "version", PACKAGE_VERSION,
                     "running", running_ids(d), "completed", completed);
    json_object_set_new(body, "steps", steps_activity_json(d));
    json_object_set_new(body, "memory_enforcement",
                        json_string(d->conf->enforce_memory ? cg_probe() : "none"));
    /* a new registration: the ctld signs with munge until our next key */
    d->have_key = false;
    d->key_req_seq = 0;
    seq = send_request(d, SL_MSG_NODE_REGISTER, body, 0, 0);
    d->last_register = now_s();
    /* a successful reply to this registration (or a later one) records these completions */
    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->done && seq && !j->reg_seq)
            j->reg_seq = seq;
    json_decref(body);
}

void link_send_complete(struct noded *d, struct djob *j)
{
    json_t *body;

    j->complete_sent = now_s();
    if (!d->registered)
        return; /* it goes out with the registration */
    body = json_pack("{s:s, s:I, s:i, s:I}", "node", d->name, "job_id", (json_int_t)j->id, "status",
                     j->status, "end_time", (json_int_t)j->end_time);
    if (j->error)
        json_object_set_new(body, "error", json_string(j->error));
    if (j->oom)
        json_object_set_new(body, "oom", json_true());
    send_request(d, SL_MSG_JOB_COMPLETE, body, j->id, 0);
    json_decref(body);
}

void link_tick(struct noded *d)
{
    int64_t now = now_s();
    int hb = d->conf->heartbeat_interval > 0 ? d->conf->heartbeat_interval : 1;

    pending_expire(d, now);
    if (!d->registered) {
        if (now - d->last_register >= (hb < REGISTER_RETRY ? hb : REGISTER_RETRY))
            send_register(d);
        return;
    }
    if (now - d->last_heartbeat >= hb) {
        json_t *body = json_pack("{s:s, s:o, s:o}", "node", d->name, "running", running_ids(d),
                                 "steps", steps_activity_json(d));
        log_debug("heartbeat");
        send_request(d, SL_MSG_NODE_HEARTBEAT, body, 0, 0);
        json_decref(body);
        d->last_heartbeat = now;
        /* silent for long: the ctld may have restarted and lost us; register again
         * (sends fail while it is down, so this repeats until it answers) */
        if (now - d->last_reply > 3 * hb + 2) {
            log_info("no reply from the controller for %llds; registering again",
                     (long long)(now - d->last_reply));
            d->registered = false;
            d->last_register = 0;
            return;
        }
    }
    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->done && now - j->complete_sent >= hb)
            link_send_complete(d, j);
    steps_resend(d);
}

/* Ask for a signing key (munge-signed), once registered. */
static void request_key(struct noded *d)
{
    json_t *body = sl_key_request_body(d->key_nonce);
    if (body)
        d->key_req_seq = send_request(d, SL_MSG_REQUEST_KEY, body, 0, 0);
    json_decref(body);
}

static void key_answered(struct noded *d, struct sl_msg *m)
{
    sl_error_t err;
    if (m->re != d->key_req_seq)
        return; /* a registration since: that key would be stale */
    d->key_req_seq = 0;
    if (m->rc) {
        log_warn("no signing key from the controller (%s); signing with munge",
                 m->error ? m->error : sl_strerror(m->rc));
    } else if (sl_key_accept(d->auth, m->body, d->key_nonce, d->slurm_uid, &d->key, &err) < 0) {
        log_warn("signing key refused: %s; signing with munge", err.text);
    } else {
        d->have_key = true;
        d->key_rx_ctr = 0;
        log_info("signing with key %s from the controller", d->key.id);
    }
}

static void register_answered(struct noded *d, struct sl_msg *m)
{
    if (m->rc != 0) {
        if (!d->refusal_logged)
            log_err("registration refused: %s", m->error ? m->error : sl_strerror(m->rc));
        d->refusal_logged = true;
        return;
    }
    d->refusal_logged = false;
    if (!d->registered) {
        d->registered = true;
        d->last_heartbeat = 0;
        log_info("registered with the controller");
    }
    /* the node link is signed with a key from here on (SLURMISH_NODE_KEYS=0:
     * munge throughout, to compare the two) */
    const char *keys = getenv("SLURMISH_NODE_KEYS");
    if (!d->have_key && !d->key_req_seq && !(keys && !strcmp(keys, "0")))
        request_key(d);
    /* completions listed in this registration (or an earlier one) are recorded */
    for (struct djob *j = d->jobs, *next; j; j = next) {
        next = j->next;
        if (j->done && j->reg_seq && j->reg_seq <= m->re) {
            log_debug("job %u: completion recorded at registration", j->id);
            djob_forget(d, j);
        }
    }
}

static void complete_answered(struct noded *d, struct sl_msg *m, uint32_t job_id)
{
    struct djob *j = djob_find(d, job_id);

    if (!j || !j->done)
        return;
    if (m->rc == 0) {
        log_debug("job %u: completion acknowledged", j->id);
        djob_forget(d, j);
    } else if (m->rc == SL_E_INVALID_JOB_ID || m->rc == SL_E_ALREADY_DONE) {
        /* the ctld will never want it: resending would not change that */
        log_warn("job %u: controller refused the completion (%s); dropping it", j->id,
                 m->error ? m->error : sl_strerror(m->rc));
        djob_forget(d, j);
    } else {
        log_warn("job %u: controller refused the completion (%s); will resend", j->id,
                 m->error ? m->error : sl_strerror(m->rc));
    }
}

static void handle_reply(struct noded *d, struct sl_msg *m)
{
    int64_t now = now_s(), hb = d->conf->heartbeat_interval;
    struct pending p;

    if (d->ctld_quiet_logged) {
        log_info("controller reachable again");
        d->ctld_quiet_logged = false;
    }
    if (!pending_take(d, m->re, &p)) {
        log_debug("reply to unknown or expired request %llu", (unsigned long long)m->re);
        return;
    }
    if (d->registered && d->last_reply && now - d->last_reply > 3 * hb + 2 &&
        p.type != SL_MSG_NODE_REGISTER) {
        log_info("controller answers again after %llds; registering again",
                 (long long)(now - d->last_reply));
        d->registered = false;
        d->last_register = 0;
    }
    d->last_reply = now;
    if (m->rc == SL_E_AUTH && d->have_key && p.type != SL_MSG_REQUEST_KEY) {
        /* our key is gone: the ctld restarted and does not know us either.
         * Register at once (munge-signed), as a heartbeat answered
         * {registered:false} would make us do, and not one heartbeat later:
         * until then the new ctld counts this node silent.  A new key
         * follows the registration. */
        log_info("controller refused our signing key (%s); registering again",
                 m->error ? m->error : sl_strerror(m->rc));
        d->have_key = false;
        d->registered = false;
        d->last_register = 0;
    }
    switch (p.type) {
    case SL_MSG_REQUEST_KEY:
        key_answered(d, m);
        break;
    case SL_MSG_NODE_REGISTER:
        register_answered(d, m);
        break;
    case SL_MSG_NODE_HEARTBEAT:
        if (json_is_false(json_object_get(m->body, "registered")) && d->registered) {
            log_info("controller does not know us (restarted?); registering again");
            d->registered = false;
            d->last_register = 0;
        } else if (m->rc) {
            log_warn("heartbeat refused: %s", m->error ? m->error : sl_strerror(m->rc));
        }
        break;
    case SL_MSG_JOB_COMPLETE:
        complete_answered(d, m, p.job_id);
        break;
    case SL_MSG_STEP_COMPLETE:
        steps_complete_acked(d, p.job_id, p.step_id, m->rc);
        break;
    }
}

static void handle_signal(struct noded *d, struct sl_msg *m)
{
    json_t *b = m->body, *jid = json_object_get(b, "job_id"), *jsig = json_object_get(b, "signal");
    int sig = (int)json_integer_value(jsig);
    int kill_wait = (int)json_integer_value(json_object_get(b, "kill_wait"));
    struct djob *j;
    pid_t pg;

    if (!json_is_integer(jid) || !json_is_integer(jsig) || sig <= 0 || sig >= NSIG) {
        send_reply(d, m->seq, SL_E_INVALID_ARGUMENT, "signal_job needs job_id and a signal");
        return;
    }
    /* the job's steps here (srun inside it) get the signal too */
    json_t *jstep = json_object_get(b, "step_id");
    int nsteps = steps_signal(d, (uint32_t)json_integer_value(jid),
                              json_is_integer(jstep) ? json_integer_value(jstep) : -1, sig,
                              kill_wait);
    j = json_is_true(json_object_get(b, "steps_only")) ? NULL
                                                       : djob_find(d, (uint32_t)json_integer_value(jid));
    if (!j || json_integer_value(jid) <= 0) {
        send_reply(d, m->seq, nsteps ? 0 : SL_E_INVALID_JOB_ID, NULL);
        return;
    }
    if (j->done || !(pg = djob_pgid(d, j))) {
        send_reply(d, m->seq, SL_E_ALREADY_DONE, NULL);
        return;
    }
    if (kill_wait > 0) {
        /* terminate: wake it if stopped, ask politely, SIGKILL later (jobs_tick) */
        kill(-pg, SIGCONT);
        kill(-pg, sig);
        if (!j->kill_at)
            j->kill_at = now_s() + kill_wait;
        log_info("job %u: terminating (signal %d, SIGKILL in %ds)", j->id, sig, kill_wait);
    } else if (json_is_true(json_object_get(b, "batch"))) {
        kill(pg, sig); /* the batch shell only (--signal=B:...) */
        log_info("job %u: signal %d to the batch shell", j->id, sig);
    } else {
        kill(-pg, sig);
        log_info("job %u: signal %d", j->id, sig);
    }
    send_reply(d, m->seq, 0, NULL);
}

/* A request from the ctld signed with our key: the MAC, a counter above
 * the last one, and the key must be the one we hold now. */
static int check_keyed(struct noded *d, struct sl_msg *m, const char *buf, size_t len,
                       sl_error_t *err)
{
    if (!d->have_key || strcmp(m->kid, d->key.id) != 0)
        return errprintf(err, "unknown signing key %s", m->kid);
    if (sl_msg_check_keyed(m, buf, len, d->key.secret, &d->key_rx_ctr, err) < 0)
        return -1;
    m->uid = d->slurm_uid; /* only the ctld and we hold the key */
    m->verified = true;
    return 0;
}

static void handle_request(struct noded *d, struct sl_msg *m, const char *buf, size_t len)
{
    const char *name = sl_msg_info(m->type) ? sl_msg_info(m->type)->name : "?";
    sl_error_t err;
    int rc = SL_E_AUTH;

    if (m->keyed ? check_keyed(d, m, buf, len, &err) < 0
                 : sl_msg_verify(d->auth, m, &rc, &err) < 0) {
        log_warn("rejected %s: %s", name, err.text);
        send_reply(d, m->seq, rc, err.text);
        return;
    }
    if (m->uid != 0 && m->uid != d->slurm_uid) {
        log_warn("rejected %s from uid %u: only the controller may ask this", name,
                 (unsigned)m->uid);
        send_reply(d, m->seq, SL_E_ACCESS_DENIED, NULL);
        return;
    }
    switch (m->type) {
    case SL_MSG_LAUNCH_JOB: {
        char ebuf[512] = "";
        rc = launch_job(d, m->body, ebuf, sizeof(ebuf));
        if (rc)
            log_err("launch failed: %s", ebuf);
        /* the job's id, so the ctld finds the launch this answers at once */
        json_t *r = json_pack("{s:O?}", "job_id", json_object_get(m->body, "job_id"));
        send_reply_body(d, m->seq, rc, rc ? ebuf : NULL, r);
        json_decref(r);
        break;
    }
    case SL_MSG_SIGNAL_JOB:
        handle_signal(d, m);
        break;
    case SL_MSG_SESSION_WARN: {
        const char *text = json_string_value(json_object_get(m->body, "message"));
        json_t *jid = json_object_get(m->body, "job_id");
        if (!text || !json_is_integer(jid)) {
            send_reply(d, m->seq, SL_E_INVALID_ARGUMENT, "session_warn needs job_id and message");
            break;
        }
        steps_notice(d, (uint32_t)json_integer_value(jid), text);
        send_reply(d, m->seq, 0, NULL);
        break;
    }
    default:
        log_warn("rejected %s: not a node daemon request", name);
        send_reply(d, m->seq, SL_E_UNKNOWN_TYPE, "not a node daemon request");
        break;
    }
}

void link_recv(struct noded *d)
{
    /* a bounded batch per turn, so pidfds and signals are not starved */
    for (int budget = 0; budget < 256; budget++) {
        zmq_msg_t part;
        char *payload = NULL;
        size_t plen = 0;
        int more = 1, idx = 0;

        zmq_msg_init(&part);
        while (more) {
            if (zmq_msg_recv(&part, d->sock, idx == 0 ? ZMQ_DONTWAIT : 0) < 0) {
                zmq_msg_close(&part);
                free(payload);
                return;
            }
            more = zmq_msg_more(&part);
            size_t sz = zmq_msg_size(&part);
            /* the envelope is the first non-empty frame: tolerate a missing empty one */
            if (sz > 0 && !payload) {
                payload = xmalloc(sz + 1);
                memcpy(payload, zmq_msg_data(&part), sz);
                payload[sz] = 0;
                plen = sz;
            }
            idx++;
        }
        zmq_msg_close(&part);
        if (!payload)
            continue;

        struct sl_msg m;
        sl_error_t err;
        int rc;
        memset(&m, 0, sizeof(m));
        if (sl_msg_decode(payload, plen, &m, &rc, &err) < 0) {
            log_warn("rejected message from controller: %s", err.text);
            if (m.seq)
                send_reply(d, m.seq, rc, err.text);
        } else if (m.type == SL_MSG_REPLY) {
            handle_reply(d, &m);
        } else {
            handle_request(d, &m, payload, plen);
        }
        sl_msg_clear(&m);
        free(payload);
    }
}
