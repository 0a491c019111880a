/* forward.c - the node end of port forwarding (srun/sattach --forward-port).
 *
 * Purpose: a client attached to a step (steps.c checked its credential,
 * and that its uid is the job's owner) opens channels with
 * SL_FR_FWD_OPEN; for each, this daemon connects to the port on the
 * node's loopback (127.0.0.1, else ::1) and relays the bytes with the
 * shared channel of lib/proto/fwdchan.h.  Only a port number crosses the
 * wire, never an address, so nothing but this node's loopback can be
 * reached.  The socket is made with the job owner's file-system uid and
 * gid, so it is the owner's in `ss -e` and owner-matching firewall rules.
 *
 * Peers: one per client connection (ZeroMQ routing id).  Frames to a
 * client that ZeroMQ cannot take now (its queue is at the high-water
 * mark) wait in the peer's queue, in order, and are retried every loop
 * turn; flow control bounds what can wait.  A client that goes (send
 * fails, detach, the step ends) takes its channels with it.  ZeroMQ does
 * not say when a ROUTER's peer disconnects, so every FWD_PROBE_S a peer
 * is sent an empty message (clients ignore those): one that cannot be
 * routed any more is gone, and its idle connections are closed.
 *
 * Caveat: channels live in this daemon, so a daemon restart resets them;
 * the client then closes its connections and opens new ones after it has
 * rejoined (listeners stay).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fsuid.h>
#include <sys/socket.h>
#include <unistd.h>

#include <zmq.h>

#include "noded.h"
#include "proto/fwdchan.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define FWD_MAX_CHANNELS 128 /* per client connection */
#define FWD_RETRY_MS 5       /* poll timeout while frames wait for a client */
#define FWD_PROBE_S 5        /* how often a client with channels is checked for life */

struct fwd_peer {
    struct dclient client;
    uint32_t job_id, step_id;
    uid_t uid; /* the job's owner (and the client's uid): sockets are made as them */
    gid_t gid;
    struct noded *d;
    struct fwd_queue q; /* frames ZeroMQ could not take yet */
    size_t nchans;
    int64_t last_probe;
    bool gone;
    struct fwd_peer *next;
};

struct nchan {
    struct fwd_chan ch;
    struct fwd_peer *peer;
    int port;
    bool connecting;
    bool tried_v6;
    int pidx; /* index in this turn's poll items, -1 if not polled */
    struct nchan *next;
};

struct fwd_ctx {
    struct fwd_peer *peers;
    struct nchan *chans;
};

static struct fwd_ctx *ctx(struct noded *d)
{
    if (!d->fwd)
        d->fwd = xcalloc(1, sizeof(struct fwd_ctx));
    return d->fwd;
}

static bool same_id(const struct dclient *c, const unsigned char *id, size_t id_len)
{
    return c->id_len == id_len && !memcmp(c->id, id, id_len);
}

/* ---- frames to a client ---- */

/* To peer (a struct fwd_peer): 0 sent, 1 not now (ZeroMQ's queue is
 * full), -1 the client is gone */
static int try_send(void *peer, const char *buf, size_t len)
{
    struct fwd_peer *p = peer;
    if (zmq_send(p->d->srv, p->client.id, p->client.id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return errno == EAGAIN ? 1 : -1;
    zmq_send(p->d->srv, buf, len, ZMQ_DONTWAIT);
    return 0;
}

static int peer_send(struct noded *d, struct fwd_peer *p, int kind, uint32_t a, uint32_t b,
                     const char *data, size_t len)
{
    struct sl_frame f = {kind, p->job_id, p->step_id, a, b, data, len};
    char buf[SL_FRAME_HDR + SL_FRAME_MAX_DATA];
    size_t flen = sl_frame_encode(&f, buf);
    int r;

    if (p->gone)
        return -1;
    if (!p->q.head) {
        if ((r = try_send(p, buf, flen)) == 0)
            return 0;
        if (r < 0) {
            p->gone = true;
            return -1;
        }
    }
    if (fwd_queue_push(&p->q, buf, flen) < 0)
        fatal("out of memory");
    return 0;
}

struct send_arg {
    struct noded *d;
    struct nchan *nc;
};

static int chan_send(void *arg, struct fwd_chan *c, int kind, uint32_t b, const char *data,
                     size_t len)
{
    struct send_arg *sa = arg;
    return peer_send(sa->d, sa->nc->peer, kind, c->id, b, data, len);
}

/* ---- channels and peers ---- */

static void chan_free(struct noded *d, struct nchan *nc)
{
    struct fwd_ctx *x = ctx(d);
    for (struct nchan **pp = &x->chans; *pp; pp = &(*pp)->next)
        if (*pp == nc) {
            *pp = nc->next;
            break;
        }
    nc->peer->nchans--;
    fwd_chan_close(&nc->ch);
    free(nc);
}

static void peer_free(struct noded *d, struct fwd_peer *p)
{
    struct fwd_ctx *x = ctx(d);
    for (struct nchan *nc = x->chans, *next; nc; nc = next) {
        next = nc->next;
        if (nc->peer == p)
            chan_free(d, nc);
    }
    for (struct fwd_peer **pp = &x->peers; *pp; pp = &(*pp)->next)
        if (*pp == p) {
            *pp = p->next;
            break;
        }
    fwd_queue_clear(&p->q);
    free(p);
}

static struct fwd_peer *peer_find(struct noded *d, const unsigned char *id, size_t id_len)
{
    for (struct fwd_peer *p = ctx(d)->peers; p; p = p->next)
        if (same_id(&p->client, id, id_len))
            return p;
    return NULL;
}

static struct nchan *chan_find(struct noded *d, struct fwd_peer *p, uint32_t id)
{
    for (struct nchan *nc = ctx(d)->chans; nc; nc = nc->next)
        if (nc->peer == p && nc->ch.id == id)
            return nc;
    return NULL;
}

/* Start a nonblocking connect to the port on the loopback (v4, or v6). */
static int start_connect(struct nchan *nc, bool v6)
{
    uid_t uid = nc->peer->uid;
    gid_t gid = nc->peer->gid;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons((uint16_t)nc->port)};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)nc->port)};
    int one = 1, fd, old_uid, old_gid;

    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    sin6.sin6_addr = in6addr_loopback;
    /* the socket belongs to the job's owner (fsuid is per thread) */
    old_gid = setfsgid(gid);
    old_uid = setfsuid(uid);
    fd = socket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    int saved = errno;
    setfsuid((uid_t)old_uid);
    setfsgid((gid_t)old_gid);
    if (fd < 0) {
        errno = saved;
        return -1;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (nc->ch.fd >= 0)
        close(nc->ch.fd);
    nc->ch.fd = fd;
    nc->tried_v6 = v6;
    if (connect(fd, v6 ? (struct sockaddr *)&sin6 : (struct sockaddr *)&sin,
                v6 ? sizeof(sin6) : sizeof(sin)) == 0) {
        nc->connecting = false;
        return 0;
    }
    if (errno == EINPROGRESS) {
        nc->connecting = true;
        return 0;
    }
    return -1;
}

static void opened(struct noded *d, struct nchan *nc, int error)
{
    struct send_arg sa = {d, nc};
    if (error) {
        char text[160];
        snprintf(text, sizeof(text), "%s", strerror(error));
        log_info("step %u.%u: forward to port %d: %s", nc->peer->job_id, nc->peer->step_id,
                 nc->port, strerror(error));
        peer_send(d, nc->peer, SL_FR_FWD_OPENED, nc->ch.id, (uint32_t)error, text, strlen(text));
        chan_free(d, nc);
        return;
    }
    nc->connecting = false;
    nc->ch.open = true;
    if (chan_send(&sa, &nc->ch, SL_FR_FWD_OPENED, 0, NULL, 0) < 0)
        chan_free(d, nc);
}

/* A connect has finished (or failed at once): the v4 refusal tries ::1. */
static void connect_done(struct noded *d, struct nchan *nc, int error)
{
    if (error == ECONNREFUSED && !nc->tried_v6) {
        if (start_connect(nc, true) < 0) {
            opened(d, nc, ECONNREFUSED); /* no IPv6 loopback: say what v4 said */
            return;
        }
        if (!nc->connecting)
            opened(d, nc, 0);
        return;
    }
    /* ::1 failing after 127.0.0.1 refused: the refusal is the news */
    opened(d, nc, error && nc->tried_v6 ? ECONNREFUSED : error);
}

void fwd_open(struct noded *d, const struct dclient *cl, uint32_t job_id, uint32_t step_id,
              uid_t uid, gid_t gid, uint32_t chan, int port)
{
    struct fwd_ctx *x = ctx(d);
    struct fwd_peer *p = peer_find(d, cl->id, cl->id_len);
    struct nchan *nc;

    if (!p) {
        p = xcalloc(1, sizeof(*p));
        p->client = *cl;
        p->d = d;
        p->job_id = job_id;
        p->step_id = step_id;
        p->uid = uid;
        p->gid = gid;
        p->next = x->peers;
        x->peers = p;
    }
    if (p->job_id != job_id || p->step_id != step_id) {
        const char *t = "one connection forwards for one step only";
        peer_send(d, p, SL_FR_FWD_OPENED, chan, EINVAL, t, strlen(t));
        return;
    }
    if (chan_find(d, p, chan)) {
        const char *t = "channel already open";
        peer_send(d, p, SL_FR_FWD_OPENED, chan, EEXIST, t, strlen(t));
        return;
    }
    if (p->nchans >= FWD_MAX_CHANNELS) {
        char t[100];
        snprintf(t, sizeof(t), "too many forwarded connections (%d) on one session",
                 FWD_MAX_CHANNELS);
        peer_send(d, p, SL_FR_FWD_OPENED, chan, EMFILE, t, strlen(t));
        return;
    }
    nc = xcalloc(1, sizeof(*nc));
    fwd_chan_init(&nc->ch, chan, -1);
    nc->peer = p;
    nc->port = port;
    nc->pidx = -1;
    nc->next = x->chans;
    x->chans = nc;
    p->nchans++;
    if (start_connect(nc, false) < 0)
        connect_done(d, nc, errno);
    else if (!nc->connecting)
        opened(d, nc, 0);
    /* else the connect finishes in fwd_poll_events */
}

void fwd_frame(struct noded *d, const unsigned char *id, size_t id_len, const struct sl_frame *f)
{
    struct fwd_peer *p = peer_find(d, id, id_len);
    struct nchan *nc =
        p && p->job_id == f->job_id && p->step_id == f->step_id ? chan_find(d, p, f->a) : NULL;

    if (!nc || nc->connecting) {
        /* not (or no longer) ours: tell the client, unless it is a reset or an ack */
        if (p && nc && nc->connecting && f->kind == SL_FR_FWD_RESET)
            chan_free(d, nc);
        else if (p && !nc && f->kind != SL_FR_FWD_RESET && f->kind != SL_FR_FWD_ACK)
            peer_send(d, p, SL_FR_FWD_RESET, f->a, 0, NULL, 0);
        return;
    }
    struct send_arg sa = {d, nc};
    if (fwd_chan_frame(&nc->ch, f, chan_send, &sa) != FWD_LIVE)
        chan_free(d, nc);
}

void fwd_drop_client(struct noded *d, const unsigned char *id, size_t id_len)
{
    struct fwd_peer *p;
    if (d->fwd && (p = peer_find(d, id, id_len)))
        peer_free(d, p);
}

void fwd_drop_step(struct noded *d, uint32_t job_id, uint32_t step_id)
{
    if (!d->fwd)
        return;
    for (struct fwd_peer *p = ctx(d)->peers, *next; p; p = next) {
        next = p->next;
        if (p->job_id == job_id && p->step_id == step_id) {
            /* flush what waits: its end of data reaches the client if it can */
            for (struct nchan *nc = ctx(d)->chans; nc; nc = nc->next)
                if (nc->peer == p)
                    peer_send(d, p, SL_FR_FWD_RESET, nc->ch.id, 0, NULL, 0);
            fwd_queue_flush(&p->q, try_send, p);
            peer_free(d, p);
        }
    }
}

size_t fwd_poll_count(struct noded *d)
{
    size_t n = 0;
    if (d->fwd)
        for (struct nchan *nc = ctx(d)->chans; nc; nc = nc->next)
            n++;
    return n;
}

size_t fwd_poll_fill(struct noded *d, zmq_pollitem_t *items)
{
    size_t k = 0;
    if (!d->fwd)
        return 0;
    for (struct nchan *nc = ctx(d)->chans; nc; nc = nc->next) {
        short ev = nc->connecting ? POLLOUT : fwd_chan_events(&nc->ch);
        nc->pidx = -1;
        if (!ev)
            continue;
        items[k].socket = NULL;
        items[k].fd = nc->ch.fd;
        items[k].events =
            (short)((ev & POLLIN ? ZMQ_POLLIN : 0) | (ev & POLLOUT ? ZMQ_POLLOUT : 0));
        items[k].revents = 0;
        nc->pidx = (int)k++;
    }
    return k;
}

void fwd_poll_events(struct noded *d, const zmq_pollitem_t *items)
{
    if (!d->fwd)
        return;
    for (struct nchan *nc = ctx(d)->chans, *next; nc; nc = next) {
        next = nc->next;
        if (nc->pidx < 0 || !items[nc->pidx].revents)
            continue;
        short zr = items[nc->pidx].revents;
        short rev = (short)((zr & ZMQ_POLLIN ? POLLIN : 0) | (zr & ZMQ_POLLOUT ? POLLOUT : 0) |
                            (zr & ZMQ_POLLERR ? POLLERR : 0));
        nc->pidx = -1;
        if (nc->connecting) {
            int err = 0;
            socklen_t el = sizeof(err);
            if (getsockopt(nc->ch.fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0)
                err = errno;
            if (err == 0 && !(rev & (POLLOUT | POLLERR)))
                continue;
            connect_done(d, nc, err);
            /* connect_done may have freed nc; next was taken before */
            continue;
        }
        struct send_arg sa = {d, nc};
        if (fwd_chan_io(&nc->ch, rev, chan_send, &sa) != FWD_LIVE)
            chan_free(d, nc);
    }
    /* peers whose client went: drop them and their channels */
    for (struct fwd_peer *p = ctx(d)->peers, *next; p; p = next) {
        next = p->next;
        if (p->gone)
            peer_free(d, p);
    }
}

void fwd_flush(struct noded *d)
{
    int64_t now;
    if (!d->fwd)
        return;
    now = now_s();
    for (struct fwd_peer *p = ctx(d)->peers, *next; p; p = next) {
        next = p->next;
        if (!p->q.head && !p->gone && now - p->last_probe >= FWD_PROBE_S) {
            p->last_probe = now;
            if (try_send(p, "", 0) < 0)
                p->gone = true;
        }
        if (!p->gone && fwd_queue_flush(&p->q, try_send, p) < 0)
            p->gone = true;
        if (p->gone) {
            log_info("step %u.%u: a forwarding client went away", p->job_id, p->step_id);
            peer_free(d, p);
        }
    }
}

int fwd_timeout_ms(struct noded *d, int dflt)
{
    if (d->fwd)
        for (struct fwd_peer *p = ctx(d)->peers; p; p = p->next)
            if (p->q.head)
                return FWD_RETRY_MS;
    return dflt;
}

void fwd_fini(struct noded *d)
{
    if (!d->fwd)
        return;
    while (ctx(d)->peers)
        peer_free(d, ctx(d)->peers);
    free(d->fwd);
    d->fwd = NULL;
}
