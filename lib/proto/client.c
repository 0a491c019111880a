/* client.c - see client.h
 *
 * The tools speak ZMTP to the ctld's ROUTER themselves (proto/zmtp.c), as
 * a DEALER would: linking libzmq would cost every sbatch a dozen shared
 * libraries and two threads for one request.  The connection is made on
 * the first request and kept for the next ones; any failure closes it.
 *
 * Like a libzmq DEALER, the client keeps trying to connect (every 100 ms)
 * while the ctld refuses or drops the connection before it has taken the
 * request, until the message timeout.  The request goes out with the
 * handshake (zmtp.h), and the ctld greets before it reads anything: a
 * connection lost before its greeting came was dropped before the request
 * was taken, and the request is sent again.  Once the ctld has greeted, a
 * lost connection fails the request at once (the ctld could not reply).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "proto/client.h"
#include "proto/zmtp.h"

#define RECONNECT_MS 100

struct sl_client {
    char *host;
    int port;
    bool toolport;        /* port is the ctld's tools listener, not its libzmq ROUTER */
    char *unix_path;      /* controller.tools_socket: tried before TCP; NULL if unset */
    struct sl_zmtp *conn; /* NULL until the first request, and after a failure */
    bool local;           /* conn is on unix_path */
    struct sl_auth *auth;
    uint64_t seq;
    int timeout_ms;
};

void sl_client_destroy(struct sl_client *cl)
{
    if (!cl)
        return;
    int saved = errno;
    sl_zmtp_close(cl->conn);
    sl_auth_destroy(cl->auth);
    free(cl->unix_path);
    free(cl->host);
    free(cl);
    errno = saved;
}

struct sl_client *sl_client_create(const struct sl_conf *conf, sl_error_t *err)
{
    struct sl_client *cl = calloc(1, sizeof(*cl));

    if (!cl) {
        errprintf(err, "out of memory");
        return NULL;
    }
    cl->timeout_ms = (conf->message_timeout > 0 ? conf->message_timeout : 10) * 1000;
    /* Distinct sequence starts let the ctld's logs tell clients apart. */
    cl->seq = ((uint64_t)getpid() << 20) ^ (uint64_t)time(NULL);
    /* the ctld's own listener for tools when it has one: its loop reads
     * the request itself, with no ZeroMQ I/O thread in between */
    cl->toolport = conf->ctld_tools_port != 0;
    cl->port = cl->toolport ? conf->ctld_tools_port : conf->ctld_port;
    if (!(cl->host = strdup(conf->ctld_host)) ||
        (conf->ctld_tools_socket && !(cl->unix_path = strdup(conf->ctld_tools_socket)))) {
        errprintf(err, "out of memory");
        goto error;
    }
    if (!(cl->auth = sl_auth_create(conf->munge_socket, err)))
        goto error;
    return cl;
error:
    sl_client_destroy(cl);
    return NULL;
}

void sl_client_set_timeout(struct sl_client *cl, int timeout_ms)
{
    cl->timeout_ms = timeout_ms;
}

static void drop_conn(struct sl_client *cl)
{
    sl_zmtp_close(cl->conn);
    cl->conn = NULL;
}

/* Whether failure zrc on cl->conn is the connection's loss before the ctld
 * greeted, and so before it took the request (see the top). */
static bool unseen_close(struct sl_client *cl, int zrc)
{
    return zrc == SL_ZMTP_ECLOSED && (!cl->conn || !sl_zmtp_peer_seen(cl->conn));
}

/* After unseen_close(): drop the connection and pause, so the request may
 * go again; false when the deadline leaves no time for that. */
static bool dropped_before_taken(struct sl_client *cl, int zrc, long long deadline)
{
    long long left = deadline - sl_zmtp_now_ms();

    if (!unseen_close(cl, zrc) || left <= 0)
        return false;
    drop_conn(cl);
    struct timespec ts = {0, (left < RECONNECT_MS ? left : RECONNECT_MS) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
    return true;
}

/* Fail a request: the connection's state is unknown, so it goes. */
static int fail(struct sl_client *cl, int zrc, sl_error_t *err)
{
    char why[sizeof(err->text)];

    drop_conn(cl);
    snprintf(why, sizeof(why), "%s", err->text);
    switch (zrc) {
    case SL_ZMTP_ETIME:
        return errprintf(err, "Unable to contact slurm controller (connect failure)");
    case SL_ZMTP_ECLOSED:
        return errprintf(err, "Unable to contact slurm controller (connection lost: %s)", why);
    case SL_ZMTP_EPROTO:
        return errprintf(err, "Unable to contact slurm controller (protocol error: %s)", why);
    default:
        return errprintf(err, "Unable to contact slurm controller (%s)", why);
    }
}

/* Connect (again) and send one request before deadline.  The request is
 * encoded for the connection it goes on: on the ctld's Unix socket the
 * kernel vouches for us and it carries no credential; elsewhere it is
 * munge-signed. */
static int send_request(struct sl_client *cl, int type, uint64_t seq, json_t *body,
                        long long deadline, sl_error_t *err)
{
    struct iovec parts[2] = {{(void *)"", 0}, {NULL, 0}}; /* [delimiter][request] */
    char *buf = NULL;
    bool buf_local = false;
    int zrc, rc = -1;

    if (cl->conn && !sl_zmtp_alive(cl->conn))
        drop_conn(cl); /* the ctld closed it since the last request (a restart) */
    for (;;) {
        bool fresh = !cl->conn;
        if (!cl->conn) {
            /* The ctld's Unix socket when this is its host (the socket is
             * there and answers): no TCP handshake, no munged round trip.
             * Elsewhere (a login node) the socket is absent: TCP. */
            cl->local = false;
            if (cl->unix_path && (cl->conn = sl_zmtp_connect_unix(cl->unix_path, "DEALER",
                                                                  "ROUTER DEALER", &zrc, err)))
                cl->local = true;
            if (!cl->conn &&
                (cl->conn = sl_zmtp_connect(cl->host, cl->port, "DEALER", "ROUTER DEALER", deadline,
                                            &zrc, err)) &&
                !cl->toolport && (zrc = sl_zmtp_handshake(cl->conn, deadline, err)) != SL_ZMTP_OK)
                drop_conn(cl); /* libzmq: the handshake first (zmtp.h) */
            if (!cl->conn) {
                /* refused: try again */
                if (dropped_before_taken(cl, zrc, deadline))
                    continue;
                fail(cl, zrc == SL_ZMTP_ECLOSED ? SL_ZMTP_ETIME : zrc, err);
                break;
            }
        }
        if (!buf || buf_local != cl->local) {
            free(buf);
            buf_local = cl->local;
            buf = buf_local
                      ? sl_msg_encode_request_peer(type, seq, body, &parts[1].iov_len, err)
                      : sl_msg_encode_request(cl->auth, type, seq, body, &parts[1].iov_len, err);
            if (!buf)
                break;
            parts[1].iov_base = buf;
        }
        if ((zrc = sl_zmtp_send(cl->conn, parts, 2, deadline, err)) == SL_ZMTP_OK) {
            rc = 0;
            break;
        }
        if (fresh) {
            if (dropped_before_taken(cl, zrc, deadline))
                continue;
            fail(cl, unseen_close(cl, zrc) ? SL_ZMTP_ETIME : zrc, err);
            break;
        }
        /* A kept connection the ctld may have closed meanwhile: if the
         * send fails, reconnect once rather than fail. */
        drop_conn(cl);
    }
    free(buf);
    return rc;
}

int sl_client_request(struct sl_client *cl, int type, json_t *body, json_t **reply, int *rc,
                      sl_error_t *err)
{
    return sl_client_request_data(cl, type, body, reply, NULL, rc, err);
}

void sl_reply_data_free(struct sl_reply_data *d)
{
    free(d->mem);
    memset(d, 0, sizeof(*d));
}

int sl_client_request_data(struct sl_client *cl, int type, json_t *body, json_t **reply,
                           struct sl_reply_data *data, int *rc, sl_error_t *err)
{
    uint64_t seq = ++cl->seq;
    long long deadline = sl_zmtp_now_ms() + cl->timeout_ms;
    int zrc;

    *rc = -1;
    if (reply)
        *reply = NULL;
    if (data)
        memset(data, 0, sizeof(*data));
    if (send_request(cl, type, seq, body, deadline, err) < 0)
        return -1;
    for (;;) {
        struct sl_zmtp_msg zm;
        struct sl_msg m;
        int drc, got;

        /* Reply arrives as [empty delimiter][envelope], bulk replies with
         * their data as a third frame. */
        if ((zrc = sl_zmtp_recv(cl->conn, 2 * SL_REPLY_MAX_BYTES + 1024, deadline, &zm, err)) !=
            SL_ZMTP_OK) {
            if (dropped_before_taken(cl, zrc, deadline)) {
                if (send_request(cl, type, seq, body, deadline, err) < 0)
                    return -1;
                continue;
            }
            return fail(cl, unseen_close(cl, zrc) ? SL_ZMTP_ETIME : zrc, err);
        }
        if (zm.nframes != 2 && zm.nframes != 3) {
            sl_zmtp_msg_clear(&zm);
            continue; /* not a reply; keep waiting */
        }
        got = sl_msg_decode_max(zm.frame[1].iov_base, zm.frame[1].iov_len, SL_REPLY_MAX_BYTES, &m,
                                &drc, err) == 0;
        if (got && zm.nframes == 3 && data && m.type == SL_MSG_REPLY && m.re == seq) {
            /* the frame is the last in zm.buf, NUL-terminated (zmtp.h) */
            data->text = zm.frame[2].iov_base;
            data->len = zm.frame[2].iov_len;
            data->mem = zm.buf;
            zm.buf = NULL;
        }
        sl_zmtp_msg_clear(&zm);
        if (!got) { /* say why rather than time out as if nobody answered */
            char why[sizeof(err->text)];
            snprintf(why, sizeof(why), "%s", err->text);
            return errprintf(err, "bad reply from the controller: %s", why);
        }
        if (m.type != SL_MSG_REPLY || m.re != seq) {
            sl_msg_clear(&m);
            continue; /* stale reply to an earlier, timed-out request */
        }
        *rc = m.rc;
        if (m.rc != 0) {
            if (data)
                sl_reply_data_free(data);
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

int sl_client_stream_next(struct sl_client *cl, struct sl_reply_data *piece, sl_error_t *err)
{
    struct sl_zmtp_msg zm;
    int zrc;

    memset(piece, 0, sizeof(*piece));
    if (!cl->conn)
        return errprintf(err, "no reply under way");
    /* each piece has the whole timeout: a big reply may take longer */
    zrc = sl_zmtp_recv(cl->conn, SL_REPLY_MAX_BYTES, sl_zmtp_now_ms() + cl->timeout_ms, &zm, err);
    if (zrc != SL_ZMTP_OK)
        return fail(cl, zrc, err);
    if (zm.nframes != 2 || zm.frame[0].iov_len != 0) {
        sl_zmtp_msg_clear(&zm);
        errprintf(err, "a piece of a streamed reply is not [delimiter][data]");
        return fail(cl, SL_ZMTP_EPROTO, err);
    }
    /* the frame is the last in zm.buf, NUL-terminated (zmtp.h) */
    piece->text = zm.frame[1].iov_base;
    piece->len = zm.frame[1].iov_len;
    piece->mem = zm.buf;
    if (!piece->len) {
        sl_zmtp_msg_clear(&zm);
        memset(piece, 0, sizeof(*piece));
    }
    return 0;
}
