/* loop.c - the controller's event loop, dispatch table and group commit.
 *
 * One turn: wait on the ROUTER socket (or the next timer), then drain up
 * to MAX_BATCH messages.  Each request is decoded and checked against the
 * table; the batch's credentials are verified together, by the loop and a
 * few helper threads that touch nothing else (verify.h); then, in arrival
 * order, each request's role is checked and it is handed to its handler, which
 * changes memory and queues SQLite writes and a reply.  After the batch,
 * one COMMIT makes every change durable and only then are the replies
 * sent (redis' beforeSleep: persistence before replies).  Then the
 * scheduler and cron run, each committing before it talks to nodes.
 *
 * When the pending queue is short (an idle or lightly loaded cluster) the
 * scheduler runs before the turn's commit instead: the pass costs
 * microseconds then, and a submit (or a completion) and the start it
 * allows become durable in one commit, the launch leaving with the reply
 * instead of one fsync later.  Launches are queued needs_commit, so they
 * still only go out once the job's RUNNING state is durable.  A long
 * queue keeps the order above, so replies never wait for a long pass.
 */
#include <errno.h>
#include <grp.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <zmq.h>

#include "ctld.h"
#include "metrics.h"
#include "power.h"
#include "step.h"
#include "toolport.h"
#include "store/db.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "verify.h"

#define MAX_BATCH 512
/* at most this many pending jobs: schedule before the commit (see above) */
#define SCHED_BEFORE_COMMIT_MAX 128
/* Helper threads verifying a turn's credentials next to the loop's own
 * (verify.h).  munged runs 2 threads by default; a few more requests in
 * flight than that keep them busy while each waits on its socket. */
#define VERIFY_THREADS 3

typedef void (*handler_f)(struct ctld *c, struct request *req);

static const handler_f handlers[SL_MSG_TYPE_COUNT] = {
    [SL_MSG_PING] = query_ping,
    [SL_MSG_SUBMIT_JOB] = submit_handle,
    [SL_MSG_CANCEL_JOB] = cancel_handle,
    [SL_MSG_QUERY_JOBS] = query_jobs,
    [SL_MSG_QUERY_NODES] = query_nodes,
    [SL_MSG_QUERY_PARTITIONS] = query_partitions,
    [SL_MSG_UPDATE_JOB] = update_job,
    [SL_MSG_UPDATE_NODE] = update_node,
    [SL_MSG_QUERY_ACCT] = query_acct,
    [SL_MSG_QUERY_CONFIG] = query_config,
    [SL_MSG_NODE_REGISTER] = node_rpc_register,
    [SL_MSG_NODE_HEARTBEAT] = node_rpc_heartbeat,
    [SL_MSG_JOB_COMPLETE] = node_rpc_complete,
    [SL_MSG_ALLOC_RELEASE] = alloc_release_handle,
    [SL_MSG_STEP_CREATE] = step_create_handle,
    [SL_MSG_STEP_ATTACH] = step_attach_handle,
    [SL_MSG_STEP_COMPLETE] = step_complete_handle,
    [SL_MSG_RECONFIGURE] = reconf_handle,
    [SL_MSG_UPDATE_PARTITION] = update_partition_handle,
    [SL_MSG_QUERY_EVENTS] = query_events_handle,
    [SL_MSG_COST_REPORT] = cost_report_handle,
    [SL_MSG_JOB_SCRIPT] = script_handle,
    [SL_MSG_REQUEST_KEY] = keys_request_handle,
};

int64_t ctld_clock_override;

int64_t ctld_now(void)
{
    return ctld_clock_override ? ctld_clock_override : (int64_t)time(NULL);
}

bool ctld_is_admin(struct ctld *c, uid_t uid)
{
    if (uid == 0 || uid == c->slurm_uid)
        return true;
    for (size_t i = 0; i < c->conf->admin_count; i++) {
        const char *a = c->conf->admins[i];
        if (a[0] == '%') {
            /* %group: every member of that group, as in sudoers */
            struct group *gr = getgrnam(a + 1);
            struct passwd *pw = getpwuid(uid);
            if (!gr || !pw)
                continue;
            if (pw->pw_gid == gr->gr_gid)
                return true;
            for (char **m = gr->gr_mem; *m; m++)
                if (!strcmp(*m, pw->pw_name))
                    return true;
            continue;
        }
        struct passwd *pw = getpwnam(a);
        if (pw && pw->pw_uid == uid)
            return true;
    }
    return false;
}

static void outq_push(struct ctld *c, const unsigned char *route, size_t route_len, uint64_t conn,
                      bool delim, char *buf, size_t len, char *data, size_t data_len,
                      bool needs_commit)
{
    if (c->noutq == c->outq_cap) {
        c->outq_cap = c->outq_cap ? c->outq_cap * 2 : 64;
        c->outq = xrealloc(c->outq, c->outq_cap * sizeof(*c->outq));
    }
    struct out_msg *o = &c->outq[c->noutq++];
    memcpy(o->route, route, route_len);
    o->route_len = route_len;
    o->conn = conn;
    o->delim = delim;
    o->buf = buf;
    o->len = len;
    o->data = data;
    o->data_len = data_len;
    o->needs_commit = needs_commit;
}

static void free_sent(void *data, void *hint)
{
    (void)hint;
    free(data);
}

/* Send buf as a frame without copying it (a bulk reply is 100+ MB):
 * ZeroMQ frees it once written, in its I/O thread. */
static int send_owned(struct ctld *c, char *buf, size_t len, int flags)
{
    zmq_msg_t m;
    if (zmq_msg_init_data(&m, buf, len, free_sent, NULL) < 0) {
        free(buf);
        return -1;
    }
    if (zmq_msg_send(&m, c->router, flags) < 0) {
        zmq_msg_close(&m); /* frees buf */
        return -1;
    }
    return 0;
}

/* [route][delimiter?][envelope][data?], or the same without the route to
 * a tools port connection; buf and data are given away. */
static void send_raw(struct ctld *c, const unsigned char *route, size_t route_len, uint64_t conn,
                     bool delim, char *buf, size_t len, char *data, size_t data_len)
{
    if (conn) {
        if (toolport_send(c->tools, conn, delim, buf, len, data, data_len) < 0)
            log_debug("reply to a tools port client dropped: it has gone");
        return;
    }
    if (zmq_send(c->router, route, route_len, ZMQ_SNDMORE) < 0 ||
        (delim && zmq_send(c->router, "", 0, ZMQ_SNDMORE) < 0)) {
        free(buf);
        free(data);
    } else if (send_owned(c, buf, len, data ? ZMQ_SNDMORE : 0) < 0) {
        free(data);
    } else if (!data || send_owned(c, data, data_len, 0) == 0) {
        return;
    }
    log_debug("send to peer failed: %s", zmq_strerror(errno));
}

static void flush(struct ctld *c);

void ctld_reply_stream_begin(struct ctld *c, struct request *req, char *buf, size_t len)
{
    if (req->replied)
        fatalx("request %llu answered twice", (unsigned long long)req->msg.seq);
    req->replied = true;
    /* what the turn changed so far is committed, and the replies queued
     * before this one go first, as at the end of the turn */
    outq_push(c, req->route, req->route_len, req->conn, req->delim, buf, len, NULL, 0, false);
    flush(c);
}

int ctld_reply_stream_piece(struct ctld *c, struct request *req, char *data, size_t len)
{
    if (req->conn) { /* the empty piece that ends it too: an empty frame */
        if (toolport_send(c->tools, req->conn, req->delim, data, len, NULL, 0) == 0)
            return 0;
        log_debug("streamed reply to %llu cut short: the client has gone",
                  (unsigned long long)req->msg.seq);
        return -1;
    }
    if (zmq_send(c->router, req->route, req->route_len, ZMQ_SNDMORE) < 0 ||
        (req->delim && zmq_send(c->router, "", 0, ZMQ_SNDMORE) < 0)) {
        free(data);
    } else if (!len) {
        free(data);
        if (zmq_send(c->router, "", 0, 0) == 0)
            return 0;
    } else if (send_owned(c, data, len, 0) == 0) {
        return 0;
    }
    log_debug("streamed reply to %llu cut short: %s", (unsigned long long)req->msg.seq,
              zmq_strerror(errno));
    return -1;
}

void ctld_reply(struct ctld *c, struct request *req, int rc, const char *error, json_t *body)
{
    size_t len;
    char *buf;
    if (req->replied)
        fatalx("request %llu answered twice", (unsigned long long)req->msg.seq);
    req->replied = true;
    if (!(buf = sl_msg_encode_reply(req->msg.seq, rc, error, body, &len)))
        fatalx("cannot encode reply");
    outq_push(c, req->route, req->route_len, req->conn, req->delim, buf, len, NULL, 0, false);
}

void ctld_reply_errorf(struct ctld *c, struct request *req, int rc, const char *fmt, ...)
{
    char detail[400], text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (detail[0])
        snprintf(text, sizeof(text), "%s: %s", sl_strerror(rc), detail);
    else
        snprintf(text, sizeof(text), "%s", sl_strerror(rc));
    ctld_reply(c, req, rc, text, NULL);
}

void ctld_reply_encoded(struct ctld *c, struct request *req, char *buf, size_t len, char *data,
                        size_t data_len)
{
    if (req->replied)
        fatalx("request %llu answered twice", (unsigned long long)req->msg.seq);
    req->replied = true;
    outq_push(c, req->route, req->route_len, req->conn, req->delim, buf, len, data, data_len,
              false);
}

uint64_t ctld_send_node(struct ctld *c, struct node *n, int type, json_t *body)
{
    sl_error_t err;
    size_t len;
    char *buf;
    uint64_t seq;

    if (!n->route_len)
        return 0;
    seq = ++c->seq;
    /* signed with the daemon's key when it has one, else with munge */
    buf = n->kid[0] ? keys_encode(n->kid, type, seq, body, &len) : NULL;
    if (!buf && !(buf = sl_msg_encode_request(c->auth, type, seq, body, &len, &err))) {
        log_err("cannot sign %s for %s: %s", sl_msg_info(type)->name, n->name, err.text);
        return 0;
    }
    outq_push(c, n->route, n->route_len, 0, true, buf, len, NULL, 0, true);
    return seq;
}

/* Answer a message that could not be dispatched, when it can be routed. */
static void reject(struct ctld *c, const struct request *to, uint64_t seq, int rc, const char *why)
{
    size_t len;
    char text[600];
    snprintf(text, sizeof(text), "%s: %s", sl_strerror(rc), why);
    char *buf = sl_msg_encode_reply(seq, rc, text, NULL, &len);
    if (buf)
        outq_push(c, to->route, to->route_len, to->conn, to->delim, buf, len, NULL, 0, false);
}

/* One message of a turn's batch, from its arrival to its dispatch. */
struct inbound {
    struct request req;
    bool refused;            /* answered (or dropped) while decoding */
    bool verify;             /* a request for a handler: its credential is checked */
    struct verify_item item; /* the check's result */
};

/* Decode the envelope and refuse what cannot go to a handler; what can is
 * marked for verification.  Nothing here changes ctld state: node replies
 * and requests are acted on in dispatch(), in arrival order. */
static void decode_one(struct ctld *c, struct inbound *in, const void *data, size_t size)
{
    sl_error_t err;
    int rc;

    if (sl_msg_decode(data, size, &in->req.msg, &rc, &err) < 0) {
        log_warn("rejected message (%zu bytes): %s", size, err.text);
        reject(c, &in->req, in->req.msg.seq, rc, err.text);
        in->refused = true;
        return;
    }
    if (in->req.msg.type == SL_MSG_REPLY)
        return;
    if (!handlers[in->req.msg.type]) {
        log_warn("rejected %s: not a controller request", sl_msg_info(in->req.msg.type)->name);
        reject(c, &in->req, in->req.msg.seq, SL_E_UNKNOWN_TYPE, "not a controller request");
        in->refused = true;
        return;
    }
    if (in->req.msg.peer) {
        /* no credential: the kernel's word for who is at the other end of
         * the Unix socket, which nothing else has */
        if (toolport_peer_cred(c->tools, in->req.conn, &in->req.msg.uid, &in->req.msg.gid)) {
            in->req.msg.verified = true;
        } else {
            in->item.rc = SL_E_AUTH;
            errprintf(&in->item.err, "request without a credential (one vouched for by its "
                                     "connection is taken on the controller's Unix socket only)");
        }
        return; /* a refusal is logged and answered in dispatch() */
    }
    if (in->req.msg.keyed) {
        /* a MAC to check here, in arrival order (its counter must grow),
         * not a munged round trip for the helpers */
        keys_check(&in->req.msg, data, size, &in->item.rc, &in->item.err);
        return; /* a refusal is logged and answered in dispatch() */
    }
    in->verify = true;
    in->item.msg = &in->req.msg;
}

/* Hand a decoded, verified message to its handler (or a node reply to
 * node_rpc), or refuse it. */
static void dispatch(struct ctld *c, struct inbound *in)
{
    struct request *req = &in->req;
    const struct sl_msg_info *info;

    double t0 = c->metrics ? metrics_clock() : 0;

    if (in->refused)
        return;
    if (req->msg.type == SL_MSG_REPLY) {
        node_rpc_reply(c, req->route, req->route_len, &req->msg);
        return;
    }
    info = sl_msg_info(req->msg.type);
    if (in->item.rc) {
        log_warn("rejected %s: %s", info->name, in->item.err.text);
        reject(c, req, req->msg.seq, in->item.rc, in->item.err.text);
        return;
    }
    if (info->role == SL_ROLE_DAEMON && req->msg.uid != 0 && req->msg.uid != c->slurm_uid) {
        log_warn("rejected %s from uid %u: daemon-only request", info->name,
                 (unsigned)req->msg.uid);
        reject(c, req, req->msg.seq, SL_E_ACCESS_DENIED, "daemon-only request");
        return;
    }
    log_trace("%s from uid %u", info->name, (unsigned)req->msg.uid);
    handlers[req->msg.type](c, req);
    if (!req->replied)
        fatalx("handler for %s did not reply", info->name);
    if (c->metrics)
        metrics_request(c, req->msg.type, metrics_clock() - t0 + in->item.seconds);
}

/* A message's frames after the route and delimiter: one payload frame is
 * decoded (its first is payload), any other count refused. */
static void take_payload(struct ctld *c, struct inbound *in, const char *payload, size_t len,
                         int nframes)
{
    if (nframes != 1) {
        log_warn("rejected message with %d payload frames", nframes);
        reject(c, &in->req, 0, SL_E_PROTOCOL, "expected one payload frame");
        in->refused = true;
    } else {
        decode_one(c, in, payload, len);
    }
}

/* Receive one multipart message, [route][optional empty][payload], into
 * in and decode it; -1 when there is nothing (more) to read. */
static int recv_one(struct ctld *c, struct inbound *in)
{
    zmq_msg_t part;
    int idx = 0, more = 1, got_payload = 0, nframes_after = 0;
    char *payload = NULL;
    size_t plen = 0;

    memset(in, 0, sizeof(*in));
    zmq_msg_init(&part);
    while (more) {
        if (zmq_msg_recv(&part, c->router, idx == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(&part);
            free(payload);
            return -1; /* EAGAIN: nothing (more) to read */
        }
        more = zmq_msg_more(&part);
        size_t sz = zmq_msg_size(&part);
        if (idx == 0) {
            in->req.route_len = sz < sizeof(in->req.route) ? sz : sizeof(in->req.route);
            memcpy(in->req.route, zmq_msg_data(&part), in->req.route_len);
        } else if (idx == 1 && sz == 0 && more) {
            in->req.delim = true;
        } else {
            nframes_after++;
            if (!got_payload) {
                payload = xmalloc(sz + 1);
                memcpy(payload, zmq_msg_data(&part), sz);
                payload[sz] = 0;
                plen = sz;
                got_payload = 1;
            }
        }
        idx++;
    }
    zmq_msg_close(&part);
    take_payload(c, in, payload, plen, nframes_after); /* no payload: 0 frames */
    free(payload);
    return 0;
}

/* The next whole request from the tools port into in, decoded; -1 when
 * there is none. */
static int recv_tool(struct ctld *c, struct inbound *in)
{
    char *payload;
    size_t len;
    int nframes;

    memset(in, 0, sizeof(*in));
    if (toolport_next(c->tools, &payload, &len, &nframes, &in->req.conn, &in->req.delim) < 0)
        return -1;
    take_payload(c, in, payload, len, nframes);
    free(payload);
    return 0;
}

/* Drain up to MAX_BATCH messages, verify the requests' credentials
 * together (verify.h), then dispatch them in arrival order. */
static void recv_batch(struct ctld *c, struct inbound *batch, struct verify_item **items)
{
    size_t n = 0, nv = 0;
    while (n < MAX_BATCH && recv_one(c, &batch[n]) == 0)
        n++;
    while (n < MAX_BATCH && recv_tool(c, &batch[n]) == 0)
        n++;
    for (size_t i = 0; i < n; i++)
        if (batch[i].verify)
            items[nv++] = &batch[i].item;
    verify_pool_run(c->verify, c->auth, items, nv);
    for (size_t i = 0; i < n; i++) {
        dispatch(c, &batch[i]);
        sl_msg_clear(&batch[i].req.msg);
    }
}

#define BIG_REPLY_BYTES (1 << 20)

/* Commit the turn's writes, then send (or, on failure, turn into errors)
 * everything queued. */
static void flush(struct ctld *c)
{
    sl_error_t err;
    bool ok = true;
    if (persist_take_lost(c)) {
        /* a change made in memory could not even start its write: like a
         * failed commit (and nothing is left to commit below) */
        log_err("state database unavailable (%s): this turn's changes are not durable, "
                "replies turned into errors", persist_error(c));
        sl_db_rollback(c->db);
        ok = false;
    }

    if (sl_db_in_txn(c->db)) {
        double t0 = c->metrics ? metrics_clock() : 0;
        if (sl_db_commit(c->db, &err) < 0) {
            log_err("commit failed, replies turned into errors: %s", err.text);
            ok = false;
        } else if (c->metrics) {
            metrics_commit(c, metrics_clock() - t0);
        }
    }
    bool big = false;
    for (size_t i = 0; i < c->noutq; i++) {
        struct out_msg *o = &c->outq[i];
        big |= o->len + o->data_len > BIG_REPLY_BYTES;
        if (ok) {
            send_raw(c, o->route, o->route_len, o->conn, o->delim, o->buf, o->len, o->data,
                     o->data_len);
            continue;
        }
        if (!o->needs_commit) {
            /* the reply claimed something that is not durable: refuse it */
            struct sl_msg m;
            int drc;
            size_t len;
            if (sl_msg_decode(o->buf, o->len, &m, &drc, NULL) == 0) {
                char *buf = sl_msg_encode_reply(m.re, SL_E_DB, NULL, NULL, &len);
                if (buf)
                    send_raw(c, o->route, o->route_len, o->conn, o->delim, buf, len, NULL, 0);
                sl_msg_clear(&m);
            }
        }
        free(o->buf);
        free(o->data);
    }
    c->noutq = 0;
    /* a reply to a query over a big queue was built from many small
     * allocations, now free: hand them back, or the ctld keeps the RSS of
     * its largest query for good */
    if (big)
        malloc_trim(0);
    if (ok)
        power_flush(c); /* ask the cloud only for what is committed */
    if (!ok) {
        /* the refusals are only queued in ZeroMQ's I/O thread: let them
         * reach their clients (a second at most) before the process ends */
        toolport_drain(c->tools, 1000);
        int linger = 1000;
        zmq_setsockopt(c->router, ZMQ_LINGER, &linger, sizeof(linger));
        zmq_close(c->router);
        zmq_ctx_term(c->zctx);
        fatalx("state database commit failed; restarting from the last committed state is "
               "the only safe way on");
    }
}

static void run_sched(struct ctld *c)
{
    double t0 = c->metrics ? metrics_clock() : 0;
    sched_pass(c);
    if (c->metrics)
        metrics_sched_pass(c, metrics_clock() - t0);
}

int ctld_loop(struct ctld *c)
{
    struct inbound *batch = xcalloc(MAX_BATCH, sizeof(*batch));
    struct verify_item **items = xcalloc(MAX_BATCH, sizeof(*items));
    sl_error_t err;

    if (!c->verify &&
        !(c->verify = verify_pool_create(c->conf->munge_socket, VERIFY_THREADS, &err)))
        log_warn("%s: credentials are verified one at a time", err.text);
    size_t pi_cap = 0;
    zmq_pollitem_t *pi = NULL;
    while (!c->shutdown) {
        /* the router, the metrics endpoint's descriptor when it is on, then
         * the tools port's listener and connections */
        if (pi_cap < 2 + toolport_npoll(c->tools)) {
            pi_cap = 2 * (2 + toolport_npoll(c->tools));
            pi = xrealloc(pi, pi_cap * sizeof(*pi));
        }
        pi[0] = (zmq_pollitem_t){.socket = c->router, .events = ZMQ_POLLIN};
        pi[1] = (zmq_pollitem_t){.fd = metrics_poll_fd(c), .events = ZMQ_POLLIN};
        int nbase = pi[1].fd >= 0 ? 2 : 1;
        size_t ntools = toolport_poll_items(c->tools, pi + nbase);
        if (c->reload_requested) {
            c->reload_requested = 0;
            /* first, so what the reload logs goes to the new file */
            if (log_reopen() < 0)
                log_err("cannot reopen the log file: %s; logging goes on to the old one",
                        strerror(errno));
            else
                log_debug("SIGHUP: log file reopened");
            reconf_reload(c);
            flush(c);
        }
        int timeout = cron_next_timeout_ms(c), mt = metrics_timeout_ms(c);
        if (mt >= 0 && mt < timeout)
            timeout = mt;
        if (c->sched_needed || toolport_pending(c->tools))
            timeout = 0;
        int n = zmq_poll(pi, nbase + (int)ntools, timeout);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fatal("zmq_poll");
        }
        /* between turns: a scrape sees only committed state */
        if (nbase == 2)
            metrics_serve(c);
        toolport_io(c->tools, pi + nbase, ntools);
        recv_batch(c, batch, items);
        if (c->sched_needed && c->jobs.npending <= SCHED_BEFORE_COMMIT_MAX)
            run_sched(c);
        flush(c);
        cron_run(c);
        flush(c);
        if (c->sched_needed) {
            run_sched(c);
            flush(c);
        }
    }
    verify_pool_destroy(c->verify);
    keys_forget_all();
    c->verify = NULL;
    free(pi);
    free(items);
    free(batch);
    return 0;
}
