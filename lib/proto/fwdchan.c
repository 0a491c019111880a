/* fwdchan.c - see fwdchan.h */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/fwdchan.h"

void fwd_chan_init(struct fwd_chan *c, uint32_t id, int fd)
{
    memset(c, 0, sizeof(*c));
    c->id = id;
    c->fd = fd;
}

void fwd_chan_close(struct fwd_chan *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    free(c->wbuf);
    c->wbuf = NULL;
    c->woff = c->wlen = c->wcap = 0;
}

short fwd_chan_events(const struct fwd_chan *c)
{
    short ev = 0;
    if (!c->open || c->fd < 0)
        return 0;
    if (!c->rd_eof && c->inflight < FWD_WINDOW)
        ev |= POLLIN;
    if (c->wlen)
        ev |= POLLOUT;
    return ev;
}

static bool finished(const struct fwd_chan *c)
{
    return c->rd_eof && c->wr_shut;
}

static enum fwd_result reset(struct fwd_chan *c, fwd_send_fn tx, void *arg)
{
    tx(arg, c, SL_FR_FWD_RESET, 0, NULL, 0);
    return FWD_RESET;
}

/* Count bytes written out, acknowledging them in batches. */
static int written(struct fwd_chan *c, size_t n, fwd_send_fn tx, void *arg)
{
    c->unacked += n;
    if (c->unacked >= FWD_ACK_EVERY) {
        if (tx(arg, c, SL_FR_FWD_ACK, (uint32_t)c->unacked, NULL, 0) < 0)
            return -1;
        c->unacked = 0;
    }
    return 0;
}

/* Write what the peer sent; shut our write side once its EOF is out. */
static enum fwd_result flush(struct fwd_chan *c, fwd_send_fn tx, void *arg)
{
    while (c->wlen) {
        ssize_t n = send(c->fd, c->wbuf + c->woff, c->wlen, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n <= 0)
            return reset(c, tx, arg); /* EPIPE (no SIGPIPE), ECONNRESET: the program went */
        c->woff += (size_t)n;
        c->wlen -= (size_t)n;
        if (written(c, (size_t)n, tx, arg) < 0)
            return FWD_RESET;
    }
    if (!c->wlen)
        c->woff = 0;
    if (!c->wlen && c->peer_eof && !c->wr_shut) {
        shutdown(c->fd, SHUT_WR);
        c->wr_shut = true;
    }
    return finished(c) ? FWD_FINISHED : FWD_LIVE;
}

enum fwd_result fwd_chan_io(struct fwd_chan *c, short revents, fwd_send_fn tx, void *arg)
{
    enum fwd_result r;

    if (!c->open || c->fd < 0)
        return FWD_LIVE;
    if ((revents & POLLOUT) || (c->wlen && (revents & (POLLERR | POLLHUP))))
        if ((r = flush(c, tx, arg)) != FWD_LIVE)
            return r;
    /* a few reads per turn, so one busy connection does not starve the rest */
    for (int i = 0; i < 4 && (revents & (POLLIN | POLLHUP | POLLERR)); i++) {
        char buf[FWD_READ_MAX];
        size_t room = FWD_WINDOW - c->inflight;
        if (c->rd_eof || c->inflight >= FWD_WINDOW)
            break;
        ssize_t n = read(c->fd, buf, room < sizeof(buf) ? room : sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            break;
        if (n < 0)
            return reset(c, tx, arg);
        if (n == 0) {
            c->rd_eof = true;
            if (tx(arg, c, SL_FR_FWD_EOF, 0, NULL, 0) < 0)
                return FWD_RESET;
            break;
        }
        if (tx(arg, c, SL_FR_FWD_DATA, 0, buf, (size_t)n) < 0)
            return FWD_RESET;
        c->inflight += (size_t)n;
        c->bytes_out += (uint64_t)n;
        if ((size_t)n < sizeof(buf))
            break; /* drained for now */
    }
    return finished(c) ? FWD_FINISHED : FWD_LIVE;
}

static enum fwd_result data(struct fwd_chan *c, const struct sl_frame *f, fwd_send_fn tx, void *arg)
{
    if (!c->open || c->peer_eof || c->wlen + c->unacked + f->len > FWD_WINDOW)
        return reset(c, tx, arg); /* a peer that breaks the protocol */
    c->bytes_in += f->len;
    const char *p = f->data;
    size_t len = f->len;
    if (!c->wlen) {
        /* straight through when nothing waits */
        ssize_t n;
        do
            n = send(c->fd, p, len, MSG_NOSIGNAL);
        while (n < 0 && errno == EINTR);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
            return reset(c, tx, arg);
        if (n > 0) {
            p += n;
            len -= (size_t)n;
            if (written(c, (size_t)n, tx, arg) < 0)
                return FWD_RESET;
        }
    }
    if (len) {
        if (c->woff + c->wlen + len > c->wcap) {
            if (c->woff) {
                memmove(c->wbuf, c->wbuf + c->woff, c->wlen);
                c->woff = 0;
            }
            if (c->wlen + len > c->wcap) {
                size_t cap = c->wcap ? c->wcap : 64 * 1024;
                while (cap < c->wlen + len)
                    cap *= 2;
                char *nb = realloc(c->wbuf, cap);
                if (!nb)
                    return reset(c, tx, arg);
                c->wbuf = nb;
                c->wcap = cap;
            }
        }
        memcpy(c->wbuf + c->woff + c->wlen, p, len);
        c->wlen += len;
    }
    return FWD_LIVE;
}

enum fwd_result fwd_chan_frame(struct fwd_chan *c, const struct sl_frame *f, fwd_send_fn tx,
                               void *arg)
{
    enum fwd_result r = FWD_LIVE;

    switch (f->kind) {
    case SL_FR_FWD_DATA:
        r = data(c, f, tx, arg);
        break;
    case SL_FR_FWD_EOF:
        if (!c->open)
            return reset(c, tx, arg);
        c->peer_eof = true;
        r = flush(c, tx, arg);
        break;
    case SL_FR_FWD_RESET:
        return FWD_PEER_RESET;
    case SL_FR_FWD_ACK:
        c->inflight -= f->b < c->inflight ? f->b : c->inflight;
        break;
    default:
        break;
    }
    if (r != FWD_LIVE)
        return r;
    return finished(c) ? FWD_FINISHED : FWD_LIVE;
}

int fwd_queue_push(struct fwd_queue *q, const char *buf, size_t len)
{
    struct fwd_qframe *f = malloc(sizeof(*f) + len);
    if (!f)
        return -1;
    f->next = NULL;
    f->len = len;
    memcpy(f->buf, buf, len);
    if (q->tail)
        q->tail->next = f;
    else
        q->head = f;
    q->tail = f;
    return 0;
}

int fwd_queue_flush(struct fwd_queue *q, int (*try_send)(void *arg, const char *buf, size_t len),
                    void *arg)
{
    while (q->head) {
        struct fwd_qframe *f = q->head;
        int r = try_send(arg, f->buf, f->len);
        if (r != 0)
            return r;
        q->head = f->next;
        if (!q->head)
            q->tail = NULL;
        free(f);
    }
    return 0;
}

void fwd_queue_clear(struct fwd_queue *q)
{
    while (q->head) {
        struct fwd_qframe *f = q->head;
        q->head = f->next;
        free(f);
    }
    q->tail = NULL;
}

int fwd_parse_spec(const char *spec, int *local, int *remote, sl_error_t *err)
{
    const char *colon = strchr(spec, ':'), *whole = spec;
    char *end;
    long l, r;

    errno = 0;
    if (colon) {
        l = strtol(spec, &end, 10);
        if (end != colon || colon == spec || l < 0 || l > 65535 || spec[0] == '-' || spec[0] == '+')
            return errprintf(err,
                             "invalid forward \"%s\": the local port must be 0 to 65535 "
                             "(0: any free port)",
                             spec);
        spec = colon + 1;
    }
    r = strtol(spec, &end, 10);
    if (!*spec || *end || r < 1 || r > 65535 || spec[0] == '-' || spec[0] == '+' || errno)
        return errprintf(err,
                         "invalid forward \"%s\": expected [LOCAL:]REMOTE with REMOTE a "
                         "port from 1 to 65535",
                         whole);
    *remote = (int)r;
    *local = colon ? (int)l : (int)r;
    return 0;
}
