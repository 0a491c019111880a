/* client.c - see client.h */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "proto/client.h"

struct sl_client {
    void *zctx;
    void *sock;
    struct sl_auth *auth;
    uint64_t seq;
    int timeout_ms;
};

void sl_client_destroy(struct sl_client *cl)
{
    if (!cl)
        return;
    int saved = errno;
    if (cl->sock)
        zmq_close(cl->sock);
    if (cl->zctx)
        zmq_ctx_term(cl->zctx);
    sl_auth_destroy(cl->auth);
    free(cl);
    errno = saved;
}

struct sl_client *sl_client_create(const struct sl_conf *conf, sl_error_t *err)
{
    struct sl_client *cl = calloc(1, sizeof(*cl));
    char endpoint[300];
    int linger = 0;

    if (!cl) {
        errprintf(err, "out of memory");
        return NULL;
    }
    cl->timeout_ms = (conf->message_timeout > 0 ? conf->message_timeout : 10) * 1000;
    /* Distinct sequence starts let the ctld's logs tell clients apart. */
    cl->seq = ((uint64_t)getpid() << 20) ^ (uint64_t)time(NULL);
    if (!(cl->auth = sl_auth_create(conf->munge_socket, err)))
        goto error;
    if (!(cl->zctx = zmq_ctx_new()) || !(cl->sock = zmq_socket(cl->zctx, ZMQ_DEALER))) {
        errprintf(err, "zmq: %s", zmq_strerror(errno));
        goto error;
    }
    zmq_setsockopt(cl->sock, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(endpoint, sizeof(endpoint), "tcp://%s:%d", conf->ctld_host, conf->ctld_port);
    if (zmq_connect(cl->sock, endpoint) < 0) {
        errprintf(err, "zmq connect %s: %s", endpoint, zmq_strerror(errno));
        goto error;
    }
    return cl;
error:
    sl_client_destroy(cl);
    return NULL;
}

void sl_client_set_timeout(struct sl_client *cl, int timeout_ms)
{
    cl->timeout_ms = timeout_ms;
}

static long long now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sl_client_request(struct sl_client *cl, int type, json_t *body, json_t **reply, int *rc,
                      sl_error_t *err)
{
    size_t len;
    uint64_t seq = ++cl->seq;
    char *buf = sl_msg_encode_request(cl->auth, type, seq, body, &len, err);
    long long deadline;

    *rc = -1;
    if (reply)
        *reply = NULL;
    if (!buf)
        return -1;
    if (zmq_send(cl->sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(cl->sock, buf, len, 0) < 0) {
        free(buf);
        return errprintf(err, "Unable to contact slurm controller (send failure)");
    }
    free(buf);
    deadline = now_ms() + cl->timeout_ms;
    for (;;) {
        long long left = deadline - now_ms();
        zmq_pollitem_t pi = {.socket = cl->sock, .events = ZMQ_POLLIN};
        if (left <= 0)
            return errprintf(err, "Unable to contact slurm controller (connect failure)");
        int n = zmq_poll(&pi, 1, (long)left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return errprintf(err, "zmq_poll: %s", zmq_strerror(errno));
        }
        if (n == 0)
            continue;
        /* Reply arrives as [empty delimiter][envelope]. */
        zmq_msg_t part;
        int more = 1, idx = 0;
        struct sl_msg m;
        int drc, got = 0, bad = 0;
        zmq_msg_init(&part);
        while (more) {
            if (zmq_msg_recv(&part, cl->sock, 0) < 0) {
                zmq_msg_close(&part);
                return errprintf(err, "zmq recv: %s", zmq_strerror(errno));
            }
            more = zmq_msg_more(&part);
            if (idx++ == 1 && !more) {
                got = sl_msg_decode_max(zmq_msg_data(&part), zmq_msg_size(&part),
                                        SL_REPLY_MAX_BYTES, &m, &drc, err) == 0;
                bad = !got;
            }
        }
        zmq_msg_close(&part);
        if (bad) { /* say why rather than time out as if nobody answered */
            char why[sizeof(err->text)];
            snprintf(why, sizeof(why), "%s", err->text);
            return errprintf(err, "bad reply from the controller: %s", why);
        }
        if (!got)
            continue; /* not a reply frame; keep waiting */
        if (m.type != SL_MSG_REPLY || m.re != seq) {
            sl_msg_clear(&m);
            continue; /* stale reply to an earlier, timed-out request */
        }
        *rc = m.rc;
        if (m.rc != 0) {
            errprintf(err, "%s", m.error ? m.error : sl_strerror(m.rc));
            sl_msg_clear(&m);
            return -1;
        }
        if (reply) {
            *reply = m.body;
            m.body = NULL;
        }
        sl_msg_clear(&m);
        return 0;
    }
}
