/* toolport.c - see toolport.h
 *
 * Each connection: our greeting and READY (as a ROUTER) go out at accept;
 * the peer's greeting, then its READY (DEALER or REQ), then messages of
 * frames.  Input is parsed from one buffer per connection; whole requests
 * wait in a short queue until the loop takes them.  A connection with
 * MAX_QUEUED requests waiting is not read until the loop catches up, so a
 * client that pipelines cannot make the ctld buffer without bound.
 *
 * Output is a queue of frames, each a header and a body the connection
 * owns; a reply the socket cannot take at once is finished as it drains
 * (POLLOUT), so a 100 MB squeue reply never holds up the loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto/proto.h"
#include "proto/zmtp.h"
#include "toolport.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MAX_CONNS 1024
#define MAX_QUEUED 4 /* whole requests waiting on one connection */
/* a message's frames together, as the ROUTER's ZMQ_MAXMSGSIZE: up to twice
 * the request limit gets decode_one()'s error reply, beyond it the
 * connection is dropped before more is buffered */
#define MSG_MAX (2 * (uint64_t)SL_MSG_MAX_BYTES)
/* replies waiting for a client that does not read them: past this, its
 * further requests wait in its socket (as a ROUTER's high-water mark) */
#define OUT_BACKLOG_MAX (16 << 20)
#define READ_CHUNK 16384
#define ACCEPT_PER_TURN 64
#define IOV_MAX_SEND 64

enum { ST_GREETING, ST_READY, ST_OPEN };

struct treq {
    struct treq *next;
    char *payload;
    size_t len;
    int nframes;
    bool delim;
};

struct oframe {
    struct oframe *next;
    uint8_t hdr[2 + SL_ZMTP_HDR_MAX]; /* [empty delimiter frame] + this frame's header */
    size_t hlen;
    char *body; /* owned */
    size_t blen;
    size_t off; /* bytes of hdr then body already written */
};

struct tconn {
    int fd;
    uint64_t id;
    int state;
    char peer[64];
    uint8_t *in;
    size_t in_len, in_cap;
    /* the message being assembled */
    int frames;
    int nafter; /* frames after the delimiter */
    bool delim;
    char *payload;
    size_t plen;
    uint64_t msg_bytes;
    /* whole requests for the loop */
    struct treq *rq_head, *rq_tail;
    int nrq;
    struct oframe *out_head, *out_tail;
    size_t out_bytes; /* queued, not yet written */
    bool gone;  /* no more input; its output is dropped */
    bool local; /* on the Unix socket: uid and gid from the kernel */
    uid_t uid;
    gid_t gid;
};

struct toolport {
    int lfd[2];     /* TCP and Unix listeners; -1 where off */
    int lpolled[2]; /* which of them the poll items hold, in order */
    size_t nlpolled;
    char *unix_path;
    struct tconn *slot[MAX_CONNS];
    int nconns;
    int nready;  /* connections with requests queued */
    size_t scan; /* where toolport_next() looks first: fairness */
    uint64_t next_seq;
    int polled[MAX_CONNS]; /* slot of each connection item toolport_poll_items() added */
    size_t npolled;
    int64_t full_warned;  /* when a refusal for MAX_CONNS was last logged */
    int64_t accept_after; /* out of descriptors: listeners rest until then */
};

static struct tconn *conn_of(struct toolport *tp, uint64_t id)
{
    struct tconn *t = tp->slot[id & 0xffff];
    return t && t->id == id ? t : NULL;
}

static void conn_free(struct toolport *tp, struct tconn *t)
{
    size_t s = t->id & 0xffff;
    close(t->fd);
    for (struct treq *r = t->rq_head, *n; r; r = n) {
        n = r->next;
        free(r->payload);
        free(r);
    }
    for (struct oframe *o = t->out_head, *n; o; o = n) {
        n = o->next;
        free(o->body);
        free(o);
    }
    if (t->nrq)
        tp->nready--;
    free(t->payload);
    free(t->in);
    free(t);
    tp->slot[s] = NULL;
    tp->nconns--;
}

/* Free a connection that is gone once nothing of it is left to take. */
static void conn_maybe_free(struct toolport *tp, struct tconn *t)
{
    if (t->gone && !t->nrq)
        conn_free(tp, t);
}

static void queue_frame(struct tconn *t, bool delim, int flags, char *body, size_t blen)
{
    struct oframe *o = xcalloc(1, sizeof(*o));
    if (delim) {
        o->hdr[0] = SL_ZMTP_MORE;
        o->hdr[1] = 0;
        o->hlen = 2;
    }
    o->hlen += sl_zmtp_frame_header(o->hdr + o->hlen, flags, blen);
    o->body = body;
    o->blen = blen;
    t->out_bytes += o->hlen + blen;
    if (t->out_tail)
        t->out_tail->next = o;
    else
        t->out_head = o;
    t->out_tail = o;
}

static void queue_command(struct tconn *t, const char *name, const void *data, size_t dlen)
{
    size_t nl = strlen(name);
    char *body = xmalloc(1 + nl + dlen);
    body[0] = (char)nl;
    memcpy(body + 1, name, nl);
    if (dlen)
        memcpy(body + 1 + nl, data, dlen);
    queue_frame(t, false, SL_ZMTP_COMMAND, body, 1 + nl + dlen);
}

/* Write what the socket takes now.  A connection that cannot be written
 * (reset, closed) is marked gone. */
static void conn_write(struct tconn *t)
{
    while (t->out_head && !t->gone) {
        struct iovec iov[2 * IOV_MAX_SEND];
        int n = 0;
        for (struct oframe *o = t->out_head; o && n < 2 * IOV_MAX_SEND; o = o->next) {
            if (o->off < o->hlen)
                iov[n++] = (struct iovec){o->hdr + o->off, o->hlen - o->off};
            size_t boff = o->off > o->hlen ? o->off - o->hlen : 0;
            if (o->blen > boff)
                iov[n++] = (struct iovec){o->body + boff, o->blen - boff};
        }
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(t->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                log_debug("tools port: %s: %s; connection closed", t->peer, strerror(errno));
                t->gone = true;
            }
            return;
        }
        size_t left = (size_t)w;
        t->out_bytes -= left;
        while (t->out_head) {
            struct oframe *o = t->out_head;
            size_t rest = o->hlen + o->blen - o->off;
            if (left < rest) {
                o->off += left;
                break;
            }
            left -= rest;
            t->out_head = o->next;
            if (!t->out_head)
                t->out_tail = NULL;
            free(o->body);
            free(o);
        }
    }
}

/* A peer that broke the protocol: say why (as a ZMTP ERROR once it has
 * spoken ZMTP), log it, and drop the connection. */
static void conn_fail(struct tconn *t, bool zmtp_error, const char *why)
{
    log_warn("tools port: %s: %s; connection closed", t->peer, why);
    if (zmtp_error) {
        char reason[256];
        size_t rl = strlen(why) > 255 ? 255 : strlen(why);
        reason[0] = (char)rl;
        memcpy(reason + 1, why, rl);
        queue_command(t, "ERROR", reason, 1 + rl);
        conn_write(t); /* best effort: the peer learns why, if it is listening */
    }
    t->gone = true;
}

static void push_request(struct toolport *tp, struct tconn *t)
{
    struct treq *r = xcalloc(1, sizeof(*r));
    r->payload = t->payload ? t->payload : xstrdup("");
    r->len = t->payload ? t->plen : 0;
    r->nframes = t->nafter;
    r->delim = t->delim;
    if (t->rq_tail)
        t->rq_tail->next = r;
    else
        t->rq_head = r;
    t->rq_tail = r;
    if (t->nrq++ == 0)
        tp->nready++;
    t->payload = NULL;
    t->plen = 0;
    t->frames = t->nafter = 0;
    t->delim = false;
    t->msg_bytes = 0;
}

/* A command from the peer: READY during the handshake, then PING (ZMTP 3.1
 * heartbeats) is answered, ERROR ends the connection, others are ignored. */
static void on_command(struct tconn *t, const uint8_t *body, size_t n)
{
    char name[256], why[300];
    const uint8_t *data, *val;
    size_t dlen, vlen;
    sl_error_t err;

    if (sl_zmtp_parse_command(body, n, name, &data, &dlen, &err) != SL_ZMTP_OK) {
        conn_fail(t, true, err.text);
        return;
    }
    if (t->state == ST_READY) {
        if (strcmp(name, "READY") != 0) {
            snprintf(why, sizeof(why), "sent %.64s instead of READY", name);
            conn_fail(t, true, why);
            return;
        }
        int rc = sl_zmtp_ready_property(data, dlen, "Socket-Type", &val, &vlen, &err);
        if (rc == SL_ZMTP_AGAIN) {
            conn_fail(t, true, "READY has no Socket-Type");
            return;
        }
        if (rc != SL_ZMTP_OK) {
            conn_fail(t, true, err.text);
            return;
        }
        if (!((vlen == 6 && !memcmp(val, "DEALER", 6)) || (vlen == 3 && !memcmp(val, "REQ", 3)))) {
            snprintf(why, sizeof(why), "a %.*s socket cannot talk to the controller's ROUTER",
                     (int)(vlen > 32 ? 32 : vlen), (const char *)val);
            conn_fail(t, true, why);
            return;
        }
        t->state = ST_OPEN;
        return;
    }
    if (!strcmp(name, "ERROR")) {
        log_debug("tools port: %s reported an error; connection closed", t->peer);
        t->gone = true;
    } else if (!strcmp(name, "PING")) {
        if (dlen < 2) {
            conn_fail(t, true, "malformed PING command");
            return;
        }
        queue_command(t, "PONG", data + 2, dlen - 2 > 16 ? 16 : dlen - 2);
    }
}

/* Parse what has arrived into commands and whole requests, until the
 * input runs short or the connection has MAX_QUEUED requests waiting. */
static void conn_parse(struct toolport *tp, struct tconn *t)
{
    size_t pos = 0;
    sl_error_t err;

    while (!t->gone && t->nrq < MAX_QUEUED && t->out_bytes < OUT_BACKLOG_MAX) {
        const uint8_t *p = t->in + pos;
        size_t avail = t->in_len - pos;
        if (t->state == ST_GREETING) {
            int rc = sl_zmtp_check_greeting(
                p, avail < SL_ZMTP_GREETING_LEN ? avail : SL_ZMTP_GREETING_LEN, &err);
            if (rc == SL_ZMTP_EPROTO)
                conn_fail(t, false, err.text);
            if (rc != SL_ZMTP_OK)
                break;
            pos += SL_ZMTP_GREETING_LEN;
            t->state = ST_READY;
            continue;
        }
        int flags;
        uint64_t size;
        size_t hl;
        int rc = sl_zmtp_parse_header(p, avail, MSG_MAX - t->msg_bytes, &flags, &size, &hl, &err);
        if (rc == SL_ZMTP_EPROTO)
            conn_fail(t, true, err.text);
        if (rc != SL_ZMTP_OK)
            break;
        if (avail - hl < size) {
            /* room for the whole frame, so the next reads can complete it */
            if (t->in_cap < pos + hl + size) {
                t->in_cap = pos + hl + size;
                t->in = xrealloc(t->in, t->in_cap);
            }
            break;
        }
        const uint8_t *body = p + hl;
        pos += hl + size;
        if (flags & SL_ZMTP_COMMAND) {
            on_command(t, body, size);
            continue;
        }
        if (t->state != ST_OPEN) {
            conn_fail(t, true, "a message before READY");
            break;
        }
        t->msg_bytes += size;
        if (t->frames++ == 0 && size == 0 && (flags & SL_ZMTP_MORE)) {
            t->delim = true;
        } else if (t->nafter++ == 0) {
            t->payload = xmalloc(size + 1);
            memcpy(t->payload, body, size);
            t->payload[size] = 0;
            t->plen = size;
        }
        if (t->frames > SL_ZMTP_FRAMES_MAX) {
            conn_fail(t, true, "a message of too many frames");
            break;
        }
        if (!(flags & SL_ZMTP_MORE))
            push_request(tp, t);
    }
    if (pos) {
        memmove(t->in, t->in + pos, t->in_len - pos);
        t->in_len -= pos;
    }
}

static void conn_read(struct toolport *tp, struct tconn *t)
{
    /* a full queue: leave the rest in the socket until the loop catches up */
    for (int reads = 0;
         reads < 8 && !t->gone && t->nrq < MAX_QUEUED && t->out_bytes < OUT_BACKLOG_MAX; reads++) {
        if (t->in_cap - t->in_len < READ_CHUNK) {
            t->in_cap =
                t->in_cap * 2 > t->in_len + READ_CHUNK ? t->in_cap * 2 : t->in_len + READ_CHUNK;
            t->in = xrealloc(t->in, t->in_cap);
        }
        size_t room = t->in_cap - t->in_len;
        ssize_t r = recv(t->fd, t->in + t->in_len, room, MSG_DONTWAIT);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (r <= 0) {
            /* closed (tools close once answered) or reset */
            if (r < 0)
                log_debug("tools port: %s: %s", t->peer, strerror(errno));
            t->gone = true;
            break;
        }
        t->in_len += (size_t)r;
        conn_parse(tp, t);
        if ((size_t)r < room)
            break; /* the socket is empty for now */
    }
    /* a small buffer again once a big request has gone through */
    if (!t->in_len && t->in_cap > 4 * READ_CHUNK) {
        free(t->in);
        t->in = NULL;
        t->in_cap = 0;
    }
}

static void accept_some(struct toolport *tp, int lfd)
{
    for (int i = 0; i < ACCEPT_PER_TURN; i++) {
        struct sockaddr_storage sa;
        socklen_t sl = sizeof(sa);
        int fd = accept4(lfd, (struct sockaddr *)&sa, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EMFILE || errno == ENFILE) {
                /* the connection stays in the backlog, so the listener
                 * would wake the loop at once: let it rest a while */
                int64_t now = (int64_t)sl_zmtp_now_ms();
                if (now - tp->full_warned > 10000) {
                    log_warn("tools port: accept: %s; new tool connections wait", strerror(errno));
                    tp->full_warned = now;
                }
                tp->accept_after = now + 100;
            } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR &&
                       errno != ECONNABORTED) {
                log_warn("tools port: accept: %s", strerror(errno));
            }
            return;
        }
        if (tp->nconns >= MAX_CONNS) {
            /* the client retries until its timeout, as against a busy ROUTER */
            int64_t now = (int64_t)sl_zmtp_now_ms();
            if (now - tp->full_warned > 10000) {
                log_warn("tools port: %d connections open; refusing more for now", MAX_CONNS);
                tp->full_warned = now;
            }
            close(fd);
            continue;
        }
        int one = 1;
        if (sa.ss_family != AF_UNIX)
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        size_t s = 0;
        while (tp->slot[s])
            s++;
        struct tconn *t = xcalloc(1, sizeof(*t));
        t->fd = fd;
        t->id = (++tp->next_seq << 16) | s;
        char host[48] = "?", port[8] = "?";
        if (sa.ss_family == AF_UNIX) {
            struct ucred uc;
            socklen_t ul = sizeof(uc);
            /* room for a streamed reply's piece (4 MiB) in the socket, so
             * squeue reads one while the loop builds the next (TCP grows
             * its buffer by itself; a Unix socket keeps the default, about
             * 200 KiB, unless asked; net.core.wmem_max caps it) */
            int sz = 4 << 20;
            setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
            if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0) {
                t->local = true;
                t->uid = uc.uid;
                t->gid = uc.gid;
            }
            snprintf(t->peer, sizeof(t->peer), "local pid %d", t->local ? (int)uc.pid : -1);
        } else {
            getnameinfo((struct sockaddr *)&sa, sl, host, sizeof(host), port, sizeof(port),
                        NI_NUMERICHOST | NI_NUMERICSERV);
            snprintf(t->peer, sizeof(t->peer), "%s:%s", host, port);
        }
        tp->slot[s] = t;
        tp->nconns++;
        /* ours needs nothing from the peer first (NULL mechanism) */
        uint8_t *hello = xmalloc(SL_ZMTP_GREETING_LEN + 64);
        sl_zmtp_greeting(hello);
        size_t rl = sl_zmtp_ready(hello + SL_ZMTP_GREETING_LEN, 64, "ROUTER");
        struct oframe *o = xcalloc(1, sizeof(*o));
        o->body = (char *)hello;
        o->blen = SL_ZMTP_GREETING_LEN + rl;
        t->out_bytes = o->blen;
        t->out_head = t->out_tail = o;
        conn_write(t);
        /* a tool writes its greeting, READY and request at once: often here already */
        conn_read(tp, t);
        conn_maybe_free(tp, t);
    }
}

static int listen_tcp(const char *host, int port, sl_error_t *err)
{
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE}, *ai = NULL;
    char ps[16];
    int fd = -1, rc, one = 1;

    snprintf(ps, sizeof(ps), "%d", port);
    if ((rc = getaddrinfo(strcmp(host, "*") ? host : NULL, ps, &hints, &ai)) != 0) {
        errprintf(err, "tools port %s:%d: %s", host, port, gai_strerror(rc));
        return -1;
    }
    for (struct addrinfo *a = ai; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0)
            continue;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, a->ai_addr, a->ai_addrlen) == 0 && listen(fd, 1024) == 0)
            break;
        errprintf(err, "cannot listen on tools port %s:%d: %s", host, port, strerror(errno));
        close(fd);
        fd = -1;
    }
    freeaddrinfo(ai);
    return fd;
}

/* A socket file left by a controller that died is replaced; one that
 * answers belongs to a running controller and is left alone. */
static int listen_unix(const char *path, sl_error_t *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        errprintf(err, "tools socket path too long: %s", path);
        return -1;
    }
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        errprintf(err, "socket: %s", strerror(errno));
        return -1;
    }
    if (lstat(path, &st) == 0) {
        if (!S_ISSOCK(st.st_mode)) {
            errprintf(err, "cannot listen on tools socket %s: not a socket", path);
            goto fail;
        }
        if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
            errprintf(err,
                      "cannot listen on tools socket %s: Address already in use "
                      "(another controller answers there)",
                      path);
            goto fail;
        }
        close(fd);
        unlink(path);
        if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
            errprintf(err, "socket: %s", strerror(errno));
            return -1;
        }
    }
    /* any local user may connect: the kernel names each one (SO_PEERCRED,
     * taken at accept), and requests are checked against that uid */
    mode_t old = umask(0);
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    umask(old);
    if (rc < 0 || listen(fd, 1024) < 0) {
        errprintf(err, "cannot listen on tools socket %s: %s", path, strerror(errno));
        goto fail;
    }
    return fd;
fail:
    close(fd);
    return -1;
}

struct toolport *toolport_open(const char *host, int port, const char *unix_path, sl_error_t *err)
{
    int tfd = -1, ufd = -1;
    if (port && (tfd = listen_tcp(host, port, err)) < 0)
        return NULL;
    if (unix_path && (ufd = listen_unix(unix_path, err)) < 0) {
        if (tfd >= 0)
            close(tfd);
        return NULL;
    }
    struct toolport *tp = xcalloc(1, sizeof(*tp));
    tp->lfd[0] = tfd;
    tp->lfd[1] = ufd;
    tp->unix_path = unix_path ? xstrdup(unix_path) : NULL;
    tp->full_warned = -100000;
    return tp;
}

void toolport_close(struct toolport *tp)
{
    if (!tp)
        return;
    for (size_t s = 0; s < MAX_CONNS; s++)
        if (tp->slot[s])
            conn_free(tp, tp->slot[s]);
    for (int i = 0; i < 2; i++)
        if (tp->lfd[i] >= 0)
            close(tp->lfd[i]);
    if (tp->unix_path)
        unlink(tp->unix_path);
    free(tp->unix_path);
    free(tp);
}

size_t toolport_npoll(const struct toolport *tp)
{
    return tp ? 2 + (size_t)tp->nconns : 0;
}

size_t toolport_poll_items(struct toolport *tp, zmq_pollitem_t *pi)
{
    size_t n = 0;
    if (!tp)
        return 0;
    tp->npolled = tp->nlpolled = 0;
    bool resting = tp->accept_after && (int64_t)sl_zmtp_now_ms() < tp->accept_after;
    for (int i = 0; i < 2 && !resting; i++)
        if (tp->lfd[i] >= 0) {
            tp->lpolled[tp->nlpolled++] = tp->lfd[i];
            pi[n++] = (zmq_pollitem_t){.fd = tp->lfd[i], .events = ZMQ_POLLIN};
        }
    for (size_t s = 0; s < MAX_CONNS && tp->npolled < (size_t)tp->nconns; s++) {
        struct tconn *t = tp->slot[s];
        if (!t)
            continue;
        bool room = t->nrq < MAX_QUEUED && t->out_bytes < OUT_BACKLOG_MAX;
        short ev = (room ? ZMQ_POLLIN : 0) | (t->out_head ? ZMQ_POLLOUT : 0);
        tp->polled[tp->npolled++] = (int)s;
        pi[n++] = (zmq_pollitem_t){.fd = t->fd, .events = ev};
    }
    return n;
}

void toolport_io(struct toolport *tp, const zmq_pollitem_t *pi, size_t n)
{
    if (!tp || !n)
        return;
    size_t nl = tp->nlpolled;
    for (size_t i = nl; i < n && i - nl < tp->npolled; i++) {
        struct tconn *t = tp->slot[tp->polled[i - nl]];
        if (!t || !pi[i].revents)
            continue;
        if (pi[i].revents & ZMQ_POLLOUT) {
            conn_write(t);
            if (t->in_len && !t->gone)
                conn_parse(tp, t); /* requests that waited for the replies to drain */
        }
        if (pi[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR))
            conn_read(tp, t);
        conn_maybe_free(tp, t);
    }
    tp->npolled = 0;
    for (size_t i = 0; i < nl && i < n; i++)
        if (pi[i].revents & ZMQ_POLLIN)
            accept_some(tp, tp->lpolled[i]);
}

bool toolport_pending(const struct toolport *tp)
{
    return tp && tp->nready > 0;
}

int toolport_next(struct toolport *tp, char **payload, size_t *len, int *nframes, uint64_t *conn,
                  bool *delim)
{
    if (!tp || !tp->nready)
        return -1;
    for (size_t k = 0; k < MAX_CONNS; k++) {
        size_t s = (tp->scan + k) % MAX_CONNS;
        struct tconn *t = tp->slot[s];
        if (!t || !t->nrq)
            continue;
        struct treq *r = t->rq_head;
        if (!(t->rq_head = r->next))
            t->rq_tail = NULL;
        if (--t->nrq == 0)
            tp->nready--;
        *payload = r->payload;
        *len = r->len;
        *nframes = r->nframes;
        *conn = t->id;
        *delim = r->delim;
        free(r);
        tp->scan = s + 1; /* the next connection goes first next time */
        if (t->in_len && !t->gone)
            conn_parse(tp, t); /* input that waited for room in the queue */
        conn_maybe_free(tp, t);
        return 0;
    }
    return -1;
}

bool toolport_peer_cred(struct toolport *tp, uint64_t conn, uid_t *uid, gid_t *gid)
{
    struct tconn *t = tp ? conn_of(tp, conn) : NULL;
    if (!t || !t->local)
        return false;
    *uid = t->uid;
    *gid = t->gid;
    return true;
}

int toolport_send(struct toolport *tp, uint64_t conn, bool delim, char *buf, size_t len, char *data,
                  size_t data_len)
{
    struct tconn *t = tp ? conn_of(tp, conn) : NULL;
    if (!t || t->gone) {
        free(buf);
        free(data);
        return -1;
    }
    queue_frame(t, delim, data ? SL_ZMTP_MORE : 0, buf, len);
    if (data)
        queue_frame(t, false, 0, data, data_len);
    conn_write(t);
    if (t->gone) {
        conn_maybe_free(tp, t);
        return -1;
    }
    return 0;
}

void toolport_drain(struct toolport *tp, int timeout_ms)
{
    long long deadline = sl_zmtp_now_ms() + timeout_ms;
    if (!tp)
        return;
    for (;;) {
        struct pollfd pf[MAX_CONNS];
        nfds_t n = 0;
        for (size_t s = 0; s < MAX_CONNS; s++)
            if (tp->slot[s] && tp->slot[s]->out_head && !tp->slot[s]->gone)
                pf[n++] = (struct pollfd){.fd = tp->slot[s]->fd, .events = POLLOUT};
        long long left = deadline - sl_zmtp_now_ms();
        if (!n || left <= 0 || poll(pf, n, (int)left) <= 0)
            return;
        for (size_t s = 0; s < MAX_CONNS; s++)
            if (tp->slot[s] && tp->slot[s]->out_head)
                conn_write(tp->slot[s]);
    }
}
