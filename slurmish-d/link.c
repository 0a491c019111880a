/* link.c - the node daemon's link to the ctld.
 *
 * One DEALER socket.  Outgoing requests are signed (munge); the ctld's
 * requests (launch_job, signal_job) are accepted only from uid 0 or the
 * slurm user.  Registration is retried until acknowledged; heartbeats
 * follow; completions are resent until the ctld acknowledges them, so
 * none is lost while the ctld is down.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

int noded_cpus, noded_gpus;
long long noded_mem_mb;

int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

int link_open(struct noded *d)
{
    char ep[300];
    int zero = 0, one = 1;
    d->zctx = zmq_ctx_new();
    d->sock = zmq_socket(d->zctx, ZMQ_DEALER);
    if (!d->sock)
        return -1;
    zmq_setsockopt(d->sock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(d->sock, ZMQ_IMMEDIATE, &one, sizeof(one));
    zmq_setsockopt(d->sock, ZMQ_ROUTING_ID, d->name, strlen(d->name));
    int ivl = 200;
    zmq_setsockopt(d->sock, ZMQ_RECONNECT_IVL, &ivl, sizeof(ivl));
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
}

static int send_frame(struct noded *d, const char *buf, size_t len)
{
    if (zmq_send(d->sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    if (zmq_send(d->sock, buf, len, ZMQ_DONTWAIT) < 0)
        return -1;
    return 0;
}

static uint64_t send_request(struct noded *d, int type, json_t *body)
{
    sl_error_t err;
    size_t len;
    uint64_t seq = ++d->seq;
    char *buf = sl_msg_encode_request(d->auth, type, seq, body, &len, &err);
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
    return seq;
}

static void send_reply(struct noded *d, uint64_t re, int rc, const char *error)
{
    size_t len;
    char *buf = sl_msg_encode_reply(re, rc, error, NULL, &len);
    if (buf) {
        send_frame(d, buf, len);
        free(buf);
    }
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
    json_t *completed = json_array();
    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->done)
            json_array_append_new(completed, json_pack("{s:I, s:i, s:I}", "job_id",
                                                       (json_int_t)j->id, "status", j->status,
                                                       "end_time", (json_int_t)j->end_time));
    json_t *body = json_pack("{s:s, s:s, s:i, s:i, s:I, s:i, s:s, s:o, s:o}", "node", d->name,
                             "address", d->conf->ctld_host, "port", d->port, "cpus", noded_cpus,
                             "memory_mb", (json_int_t)noded_mem_mb, "gpus", noded_gpus, "version",
                             PACKAGE_VERSION, "running", running_ids(d), "completed", completed);
    d->register_seq = send_request(d, SL_MSG_NODE_REGISTER, body);
    d->last_register = now_s();
    /* the completions listed here are acknowledged with the registration */
    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->done && d->register_seq) {
            j->complete_seq = d->register_seq;
            j->complete_sent = d->last_register;
        }
    json_decref(body);
}

void link_send_complete(struct noded *d, struct djob *j)
{
    json_t *body = json_pack("{s:s, s:I, s:i, s:I}", "node", d->name, "job_id", (json_int_t)j->id,
                             "status", j->status, "end_time", (json_int_t)j->end_time);
    if (j->error)
        json_object_set_new(body, "error", json_string(j->error));
    j->complete_seq = send_request(d, SL_MSG_JOB_COMPLETE, body);
    j->complete_sent = now_s();
    json_decref(body);
}

void link_tick(struct noded *d)
{
    int64_t now = now_s();
    int hb = d->conf->heartbeat_interval;

    if (!d->registered) {
        if (now - d->last_register >= (hb < 2 ? hb : 2))
            send_register(d);
        return;
    }
    if (now - d->last_heartbeat >= hb) {
        json_t *body = json_pack("{s:s, s:o}", "node", d->name, "running", running_ids(d));
        send_request(d, SL_MSG_NODE_HEARTBEAT, body);
        json_decref(body);
        d->last_heartbeat = now;
        /* no answer for a long time: the ctld may have restarted; register again */
        if (d->last_reply && now - d->last_reply > 3 * hb + 2)
            d->registered = false;
    }
    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->done && now - j->complete_sent >= hb)
            link_send_complete(d, j);
}

static void handle_reply(struct noded *d, struct sl_msg *m)
{
    d->last_reply = now_s();
    if (d->ctld_quiet_logged) {
        log_info("controller reachable again");
        d->ctld_quiet_logged = false;
    }
    if (m->re == d->register_seq && d->register_seq) {
        if (m->rc == 0) {
            d->registered = true;
            d->last_heartbeat = 0;
            log_info("registered with the controller");
            /* completions in the registration are recorded: forget them */
            for (struct djob *j = d->jobs, *next; j; j = next) {
                next = j->next;
                if (j->done && j->complete_seq == m->re)
                    djob_forget(d, j);
            }
        } else {
            log_err("registration refused: %s", m->error ? m->error : sl_strerror(m->rc));
        }
        return;
    }
    for (struct djob *j = d->jobs; j; j = j->next) {
        if (j->done && j->complete_seq == m->re) {
            if (m->rc == 0) {
                log_debug("completion of job %u acknowledged", j->id);
                djob_forget(d, j);
            }
            return;
        }
    }
    /* heartbeat reply */
    json_t *reg = json_object_get(m->body, "registered");
    if (json_is_false(reg) && d->registered) {
        log_info("controller does not know us (restarted?); registering again");
        d->registered = false;
        d->last_register = 0;
    }
}

static void handle_signal(struct noded *d, struct sl_msg *m)
{
    json_t *b = m->body;
    uint32_t id = (uint32_t)json_integer_value(json_object_get(b, "job_id"));
    int sig = (int)json_integer_value(json_object_get(b, "signal"));
    int kill_wait = (int)json_integer_value(json_object_get(b, "kill_wait"));
    struct djob *j = djob_find(d, id);
    pid_t pg;

    if (!j) {
        send_reply(d, m->seq, SL_E_INVALID_JOB_ID, NULL);
        return;
    }
    if (j->done || !(pg = djob_pgid(d, j))) {
        send_reply(d, m->seq, SL_E_ALREADY_DONE, NULL);
        return;
    }
    if (sig <= 0 || sig >= NSIG) {
        send_reply(d, m->seq, SL_E_INVALID_ARGUMENT, "bad signal number");
        return;
    }
    if (kill_wait > 0) {
        kill(-pg, SIGCONT);
        kill(-pg, sig);
        if (!j->kill_at)
            j->kill_at = now_s() + kill_wait;
        log_info("job %u: terminating (signal %d, SIGKILL in %ds)", id, sig, kill_wait);
    } else if (json_is_true(json_object_get(b, "batch"))) {
        kill(pg, sig); /* the batch shell only (--signal=B:...) */
        log_info("job %u: signal %d to the batch shell", id, sig);
    } else {
        kill(-pg, sig);
        log_info("job %u: signal %d", id, sig);
    }
    send_reply(d, m->seq, 0, NULL);
}

static void handle_request(struct noded *d, struct sl_msg *m)
{
    sl_error_t err;
    int rc;
    if (sl_msg_verify(d->auth, m, &rc, &err) < 0) {
        log_warn("rejected %s: %s", sl_msg_info(m->type)->name, err.text);
        send_reply(d, m->seq, rc, err.text);
        return;
    }
    if (m->uid != 0 && m->uid != d->slurm_uid) {
        log_warn("rejected %s from uid %u: only the controller may ask this",
                 sl_msg_info(m->type)->name, (unsigned)m->uid);
        send_reply(d, m->seq, SL_E_ACCESS_DENIED, NULL);
        return;
    }
    switch (m->type) {
    case SL_MSG_LAUNCH_JOB: {
        char ebuf[512] = "";
        rc = launch_job(d, m->body, ebuf, sizeof(ebuf));
        if (rc)
            log_err("launch failed: %s", ebuf);
        send_reply(d, m->seq, rc, rc ? ebuf : NULL);
        break;
    }
    case SL_MSG_SIGNAL_JOB:
        handle_signal(d, m);
        break;
    default:
        send_reply(d, m->seq, SL_E_UNKNOWN_TYPE, "not a node daemon request");
        break;
    }
}

void link_recv(struct noded *d)
{
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
        if (sl_msg_decode(payload, plen, &m, &rc, &err) < 0) {
            log_warn("rejected message from controller: %s", err.text);
            if (m.seq)
                send_reply(d, m.seq, rc, err.text);
        } else if (m.type == SL_MSG_REPLY) {
            handle_reply(d, &m);
        } else {
            handle_request(d, &m);
        }
        sl_msg_clear(&m);
        free(payload);
    }
}
