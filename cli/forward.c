/* forward.c - see forward.h */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"
#include "forward.h"
#include "proto/fwdchan.h"
#include "util/xmalloc.h"

#define MAX_CHANNELS 128 /* as the node daemon allows per session */

struct listener {
    int fd;
    int local, remote; /* local: the port actually bound */
    bool any_port;     /* asked for port 0 */
    int pidx;
};

struct cchan {
    struct fwd_chan ch;
    struct listener *l;
    bool pending; /* OPEN sent, OPENED not yet come */
    int pidx;
    struct cchan *next;
};

struct cli_fwd {
    struct listener *ls;
    size_t nls;
    struct cchan *chans;
    size_t nchans;
    uint32_t next_id;
    void *sock; /* the node's DEALER, NULL until started */
    uint32_t job_id, step_id;
    char *node;
    struct fwd_queue q; /* frames the node socket could not take yet */
    bool crlf;
};

static void say(struct cli_fwd *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void say(struct cli_fwd *f, const char *fmt, ...)
{
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fprintf(stderr, "%s%s: %s%s", f->crlf ? "\r" : "", cli_prog, msg, f->crlf ? "\r\n" : "\n");
}

int cli_fwd_add(struct cli_fwd **fp, const char *spec)
{
    struct sockaddr_in sa = {.sin_family = AF_INET};
    socklen_t sl = sizeof(sa);
    sl_error_t err;
    int local, remote, one = 1, fd;

    if (fwd_parse_spec(spec, &local, &remote, &err) < 0) {
        cli_error("%s", err.text);
        return -1;
    }
    if (!*fp)
        *fp = xcalloc(1, sizeof(**fp));
    struct cli_fwd *f = *fp;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK); /* the user's loopback only */
    sa.sin_port = htons((uint16_t)local);
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &sl) < 0) {
        cli_error("cannot listen on 127.0.0.1:%d for --forward-port %s: %s", local, spec,
                  strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    f->ls = xrealloc(f->ls, (f->nls + 1) * sizeof(*f->ls));
    f->ls[f->nls++] = (struct listener){fd, ntohs(sa.sin_port), remote, local == 0, -1};
    return 0;
}

void cli_fwd_set_crlf(struct cli_fwd *f, bool crlf)
{
    if (f)
        f->crlf = crlf;
}

void cli_fwd_start(struct cli_fwd *f, void *sock, uint32_t job_id, uint32_t step_id,
                   const char *node, bool quiet)
{
    if (!f)
        return;
    f->sock = sock;
    f->job_id = job_id;
    f->step_id = step_id;
    free(f->node);
    f->node = xstrdup(node);
    for (size_t i = 0; i < f->nls; i++)
        if (!quiet || f->ls[i].any_port)
            say(f, "forwarding 127.0.0.1:%d -> node %s port %d", f->ls[i].local, node,
                f->ls[i].remote);
}

/* ---- frames to the node ---- */

static int send_frame(struct cli_fwd *f, int kind, uint32_t a, uint32_t b, const char *data,
                      size_t len)
{
    struct sl_frame fr = {kind, f->job_id, f->step_id, a, b, data, len};
    char buf[SL_FRAME_HDR + SL_FRAME_MAX_DATA];
    size_t flen = sl_frame_encode(&fr, buf);

    /* in order: nothing overtakes what waits */
    if ((f->q.head || zmq_send(f->sock, buf, flen, ZMQ_DONTWAIT) < 0) &&
        fwd_queue_push(&f->q, buf, flen) < 0) {
        say(f, "error: out of memory: forwarded connections closed");
        return -1;
    }
    return 0;
}

static int chan_send(void *arg, struct fwd_chan *c, int kind, uint32_t b, const char *data,
                     size_t len)
{
    return send_frame(arg, kind, c->id, b, data, len);
}

bool cli_fwd_want_out(const struct cli_fwd *f)
{
    return f && f->q.head;
}

static int try_send(void *sock, const char *buf, size_t len)
{
    return zmq_send(sock, buf, len, ZMQ_DONTWAIT) < 0 ? 1 : 0;
}

void cli_fwd_flush(struct cli_fwd *f)
{
    if (f)
        fwd_queue_flush(&f->q, try_send, f->sock);
}

/* ---- channels ---- */

static void chan_free(struct cli_fwd *f, struct cchan *c)
{
    for (struct cchan **pp = &f->chans; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    f->nchans--;
    fwd_chan_close(&c->ch);
    free(c);
}

static struct cchan *chan_find(struct cli_fwd *f, uint32_t id)
{
    for (struct cchan *c = f->chans; c; c = c->next)
        if (c->ch.id == id)
            return c;
    return NULL;
}

static void accept_one(struct cli_fwd *f, struct listener *l)
{
    int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), one = 1;
    if (fd < 0)
        return;
    if (f->nchans >= MAX_CHANNELS) {
        say(f, "error: forward 127.0.0.1:%d: too many connections (%d); this one is closed",
            l->local, MAX_CHANNELS);
        close(fd);
        return;
    }
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    struct cchan *c = xcalloc(1, sizeof(*c));
    fwd_chan_init(&c->ch, ++f->next_id, fd);
    c->l = l;
    c->pending = true;
    c->pidx = -1;
    c->next = f->chans;
    f->chans = c;
    f->nchans++;
    send_frame(f, SL_FR_FWD_OPEN, c->ch.id, (uint32_t)l->remote, NULL, 0);
}

size_t cli_fwd_poll_count(const struct cli_fwd *f)
{
    return f ? f->nls + f->nchans : 0;
}

size_t cli_fwd_poll_fill(struct cli_fwd *f, zmq_pollitem_t *items)
{
    size_t k = 0;
    if (!f)
        return 0;
    for (size_t i = 0; i < f->nls; i++) {
        f->ls[i].pidx = -1;
        if (!f->sock)
            continue; /* not yet: connections wait in the listen queue */
        items[k] = (zmq_pollitem_t){NULL, f->ls[i].fd, ZMQ_POLLIN, 0};
        f->ls[i].pidx = (int)k++;
    }
    for (struct cchan *c = f->chans; c; c = c->next) {
        short ev = fwd_chan_events(&c->ch);
        c->pidx = -1;
        if (!ev)
            continue;
        items[k] = (zmq_pollitem_t){
            NULL, c->ch.fd,
            (short)((ev & POLLIN ? ZMQ_POLLIN : 0) | (ev & POLLOUT ? ZMQ_POLLOUT : 0)), 0};
        c->pidx = (int)k++;
    }
    return k;
}

void cli_fwd_poll_events(struct cli_fwd *f, const zmq_pollitem_t *items)
{
    if (!f)
        return;
    for (struct cchan *c = f->chans, *next; c; c = next) {
        next = c->next;
        if (c->pidx < 0 || !items[c->pidx].revents)
            continue;
        short zr = items[c->pidx].revents;
        short rev = (short)((zr & ZMQ_POLLIN ? POLLIN : 0) | (zr & ZMQ_POLLOUT ? POLLOUT : 0) |
                            (zr & ZMQ_POLLERR ? POLLERR : 0));
        c->pidx = -1;
        if (fwd_chan_io(&c->ch, rev, chan_send, f) != FWD_LIVE)
            chan_free(f, c);
    }
    /* new connections last: their channels were not in this turn's items */
    for (size_t i = 0; i < f->nls; i++)
        if (f->ls[i].pidx >= 0 && (items[f->ls[i].pidx].revents & ZMQ_POLLIN))
            for (int n = 0; n < 16; n++) {
                size_t before = f->nchans;
                accept_one(f, &f->ls[i]);
                if (f->nchans == before)
                    break;
            }
}

bool cli_fwd_is_frame(int kind)
{
    return kind == SL_FR_FWD_OPENED || kind == SL_FR_FWD_DATA || kind == SL_FR_FWD_EOF ||
           kind == SL_FR_FWD_RESET || kind == SL_FR_FWD_ACK;
}

void cli_fwd_frame(struct cli_fwd *f, const struct sl_frame *fr)
{
    struct cchan *c;

    if (!f || !f->sock)
        return;
    c = chan_find(f, fr->a);
    if (!c) {
        /* a channel we no longer have: let the node drop it too */
        if (fr->kind == SL_FR_FWD_DATA || fr->kind == SL_FR_FWD_EOF)
            send_frame(f, SL_FR_FWD_RESET, fr->a, 0, NULL, 0);
        return;
    }
    if (fr->kind == SL_FR_FWD_OPENED) {
        if (!c->pending)
            return;
        c->pending = false;
        if (fr->b) {
            say(f, "error: forward 127.0.0.1:%d -> node %s port %d: %.*s", c->l->local, f->node,
                c->l->remote, (int)(fr->len > 300 ? 300 : fr->len), fr->data);
            chan_free(f, c); /* the local program sees its connection closed */
            return;
        }
        c->ch.open = true;
        return;
    }
    if (c->pending) {
        /* only a reset can come before the answer */
        chan_free(f, c);
        return;
    }
    if (fwd_chan_frame(&c->ch, fr, chan_send, f) != FWD_LIVE)
        chan_free(f, c);
}

void cli_fwd_lost(struct cli_fwd *f)
{
    if (!f || !f->chans)
        return;
    say(f, "error: connection to node %s lost: %zu forwarded connection%s closed", f->node,
        f->nchans, f->nchans == 1 ? "" : "s");
    while (f->chans)
        chan_free(f, f->chans);
    fwd_queue_clear(&f->q);
}

void cli_fwd_destroy(struct cli_fwd *f)
{
    if (!f)
        return;
    while (f->chans)
        chan_free(f, f->chans);
    fwd_queue_clear(&f->q);
    for (size_t i = 0; i < f->nls; i++)
        close(f->ls[i].fd);
    free(f->ls);
    free(f->node);
    free(f);
}
