/* zmtp.c - see zmtp.h */
#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "proto/zmtp.h"
#include "util/xmalloc.h"

/* ---- pure encoding and decoding ---- */

#define SIG_LEN 10 /* 0xFF, 8 padding bytes, 0x7F */
#define MECH_OFF 12
#define MECH_LEN 20

void sl_zmtp_greeting(uint8_t out[SL_ZMTP_GREETING_LEN])
{
    memset(out, 0, SL_ZMTP_GREETING_LEN);
    out[0] = 0xFF;
    out[9] = 0x7F;
    out[10] = 3; /* version 3.0 */
    out[11] = 0;
    memcpy(out + MECH_OFF, "NULL", 4);
    /* as-server (32) stays 0: NULL has no roles; filler stays 0 */
}

int sl_zmtp_check_greeting(const uint8_t *g, size_t n, sl_error_t *err)
{
    if (n >= 1 && g[0] != 0xFF)
        return errprintf(err, "the peer does not speak ZMTP (greeting starts with 0x%02x)", g[0]),
               SL_ZMTP_EPROTO;
    /* Byte 9's low bit tells ZMTP 2+ from ZMTP 1.0 (which has a length). */
    if (n >= SIG_LEN && !(g[9] & 1))
        return errprintf(err, "the peer speaks ZMTP 1.0, not 3.x"), SL_ZMTP_EPROTO;
    if (n >= 11 && g[10] < 3)
        return errprintf(err, "the peer speaks ZMTP %u.x, not 3.x", g[10]), SL_ZMTP_EPROTO;
    if (n >= MECH_OFF + MECH_LEN) {
        static const uint8_t null_mech[MECH_LEN] = {'N', 'U', 'L', 'L'};
        if (memcmp(g + MECH_OFF, null_mech, MECH_LEN) != 0) {
            char mech[MECH_LEN + 1];
            size_t i;
            for (i = 0; i < MECH_LEN && g[MECH_OFF + i]; i++)
                mech[i] = (g[MECH_OFF + i] >= 0x20 && g[MECH_OFF + i] < 0x7f)
                              ? (char)g[MECH_OFF + i]
                              : '?';
            mech[i] = '\0';
            if (!strcmp(mech, "NULL"))
                return errprintf(err, "the peer's mechanism NULL is not padded with zero bytes"),
                       SL_ZMTP_EPROTO;
            return errprintf(err, "the peer wants security mechanism '%s', not NULL", mech),
                   SL_ZMTP_EPROTO;
        }
    }
    return n >= SL_ZMTP_GREETING_LEN ? SL_ZMTP_OK : SL_ZMTP_AGAIN;
}

size_t sl_zmtp_frame_header(uint8_t *out, int flags, uint64_t size)
{
    flags &= SL_ZMTP_MORE | SL_ZMTP_COMMAND;
    if (size <= 255) {
        out[0] = (uint8_t)flags;
        out[1] = (uint8_t)size;
        return 2;
    }
    out[0] = (uint8_t)(flags | SL_ZMTP_LONG);
    for (int i = 0; i < 8; i++)
        out[1 + i] = (uint8_t)(size >> (56 - 8 * i));
    return 9;
}

int sl_zmtp_parse_header(const uint8_t *buf, size_t n, uint64_t max, int *flags, uint64_t *size,
                         size_t *hdrlen, sl_error_t *err)
{
    uint64_t sz = 0;
    size_t hl;

    if (n < 1)
        return SL_ZMTP_AGAIN;
    if (buf[0] & ~(SL_ZMTP_MORE | SL_ZMTP_LONG | SL_ZMTP_COMMAND))
        return errprintf(err, "bad frame flags 0x%02x (reserved bits set)", buf[0]), SL_ZMTP_EPROTO;
    if ((buf[0] & SL_ZMTP_COMMAND) && (buf[0] & SL_ZMTP_MORE))
        return errprintf(err, "bad frame flags 0x%02x (a command with MORE)", buf[0]),
               SL_ZMTP_EPROTO;
    hl = (buf[0] & SL_ZMTP_LONG) ? 9 : 2;
    if (n < hl)
        return SL_ZMTP_AGAIN;
    if (hl == 2) {
        sz = buf[1];
    } else {
        if (buf[1] & 0x80)
            return errprintf(err, "bad frame size (top bit set)"), SL_ZMTP_EPROTO;
        for (int i = 0; i < 8; i++)
            sz = (sz << 8) | buf[1 + i];
    }
    if (buf[0] & SL_ZMTP_COMMAND && max > SL_ZMTP_COMMAND_MAX)
        max = SL_ZMTP_COMMAND_MAX;
    if (sz > max)
        return errprintf(err, "%s of %llu bytes exceeds the limit of %llu",
                         (buf[0] & SL_ZMTP_COMMAND) ? "command" : "frame", (unsigned long long)sz,
                         (unsigned long long)max),
               SL_ZMTP_EPROTO;
    *flags = buf[0];
    *size = sz;
    *hdrlen = hl;
    return SL_ZMTP_OK;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

size_t sl_zmtp_ready(uint8_t *out, size_t cap, const char *socket_type)
{
    static const char name[] = "READY", prop[] = "Socket-Type";
    size_t tl = strlen(socket_type);
    size_t body = 1 + (sizeof(name) - 1) + 1 + (sizeof(prop) - 1) + 4 + tl;
    size_t hl, off;
    uint8_t hdr[SL_ZMTP_HDR_MAX];

    hl = sl_zmtp_frame_header(hdr, SL_ZMTP_COMMAND, body);
    if (cap < hl + body || tl > 255)
        return 0;
    memcpy(out, hdr, hl);
    off = hl;
    out[off++] = sizeof(name) - 1;
    memcpy(out + off, name, sizeof(name) - 1);
    off += sizeof(name) - 1;
    out[off++] = sizeof(prop) - 1;
    memcpy(out + off, prop, sizeof(prop) - 1);
    off += sizeof(prop) - 1;
    put32(out + off, (uint32_t)tl);
    off += 4;
    memcpy(out + off, socket_type, tl);
    return off + tl;
}

int sl_zmtp_parse_command(const uint8_t *body, size_t n, char name[256], const uint8_t **data,
                          size_t *dlen, sl_error_t *err)
{
    size_t nl;

    if (n < 1 || (nl = body[0]) == 0 || 1 + nl > n)
        return errprintf(err, "malformed command (bad name length)"), SL_ZMTP_EPROTO;
    memcpy(name, body + 1, nl);
    name[nl] = '\0';
    *data = body + 1 + nl;
    *dlen = n - 1 - nl;
    return SL_ZMTP_OK;
}

int sl_zmtp_ready_property(const uint8_t *data, size_t dlen, const char *prop, const uint8_t **val,
                           size_t *vlen, sl_error_t *err)
{
    size_t off = 0, pl = strlen(prop);
    int found = 0;

    while (off < dlen) {
        size_t nl = data[off], vl;
        const uint8_t *nm = data + off + 1;
        if (nl == 0 || dlen - off < 1 + nl + 4)
            return errprintf(err, "malformed READY metadata at byte %zu", off), SL_ZMTP_EPROTO;
        off += 1 + nl;
        vl = ((size_t)data[off] << 24) | ((size_t)data[off + 1] << 16) |
             ((size_t)data[off + 2] << 8) | data[off + 3];
        off += 4;
        if (vl > dlen - off)
            return errprintf(err, "malformed READY metadata (value of %zu bytes overruns)", vl),
                   SL_ZMTP_EPROTO;
        if (!found && nl == pl && strncasecmp((const char *)nm, prop, pl) == 0) {
            *val = data + off;
            *vlen = vl;
            found = 1;
        }
        off += vl;
    }
    return found ? SL_ZMTP_OK : SL_ZMTP_AGAIN;
}

/* ---- connection ---- */

/* The handshake is pipelined: our greeting and READY go out with the first
 * message (NULL needs nothing from the peer first), and the peer's are read
 * and checked before the first message from it.  A tool's request thus
 * costs one round trip, not two. */
struct sl_zmtp {
    int fd;
    bool hello_unsent; /* our greeting and READY have not gone out yet */
    bool peer_unseen;  /* the peer's greeting and READY have not been read */
    char socket_type[16], peer_types[64];
    size_t rpos, rlen;
    uint8_t rbuf[16384];
};

long long sl_zmtp_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events, or the deadline. */
static int wait_fd(int fd, short events, long long deadline, sl_error_t *err)
{
    for (;;) {
        long long left = deadline - sl_zmtp_now_ms();
        struct pollfd p = {.fd = fd, .events = events};
        if (left <= 0)
            return errprintf(err, "timed out"), SL_ZMTP_ETIME;
        int n = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (n < 0 && errno != EINTR)
            return errprintf(err, "poll: %s", strerror(errno)), SL_ZMTP_ESYS;
        if (n > 0)
            return SL_ZMTP_OK; /* readable, writable, or an error to find on the next call */
    }
}

static int closed_errno(int e)
{
    return e == ECONNRESET || e == EPIPE || e == ECONNREFUSED || e == ECONNABORTED ||
           e == ENOTCONN || e == ETIMEDOUT || e == EHOSTUNREACH || e == ENETUNREACH ||
           e == ENETDOWN || e == EHOSTDOWN;
}

/* Read 1..n bytes into dst. */
static int read_some(struct sl_zmtp *z, uint8_t *dst, size_t n, size_t *got, long long deadline,
                     sl_error_t *err)
{
    for (;;) {
        if (z->rpos < z->rlen) {
            size_t k = z->rlen - z->rpos < n ? z->rlen - z->rpos : n;
            memcpy(dst, z->rbuf + z->rpos, k);
            z->rpos += k;
            *got = k;
            return SL_ZMTP_OK;
        }
        /* Large reads go straight to dst; small ones through rbuf. */
        int direct = n >= sizeof(z->rbuf);
        ssize_t r = recv(z->fd, direct ? dst : z->rbuf, direct ? n : sizeof(z->rbuf), 0);
        if (r > 0) {
            if (direct) {
                *got = (size_t)r;
                return SL_ZMTP_OK;
            }
            z->rpos = 0;
            z->rlen = (size_t)r;
            continue;
        }
        if (r == 0)
            return errprintf(err, "connection closed by the peer"), SL_ZMTP_ECLOSED;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            int rc = wait_fd(z->fd, POLLIN, deadline, err);
            if (rc != SL_ZMTP_OK)
                return rc;
            continue;
        }
        if (closed_errno(errno))
            return errprintf(err, "connection lost: %s", strerror(errno)), SL_ZMTP_ECLOSED;
        return errprintf(err, "recv: %s", strerror(errno)), SL_ZMTP_ESYS;
    }
}

static int read_exact(struct sl_zmtp *z, uint8_t *dst, size_t n, long long deadline,
                      sl_error_t *err)
{
    while (n > 0) {
        size_t got;
        int rc = read_some(z, dst, n, &got, deadline, err);
        if (rc != SL_ZMTP_OK)
            return rc;
        dst += got;
        n -= got;
    }
    return SL_ZMTP_OK;
}

static int write_all(struct sl_zmtp *z, struct iovec *iov, int n, long long deadline,
                     sl_error_t *err)
{
    while (n > 0) {
        struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        ssize_t w = sendmsg(z->fd, &mh, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                int rc = wait_fd(z->fd, POLLOUT, deadline, err);
                if (rc != SL_ZMTP_OK)
                    return rc;
                continue;
            }
            if (closed_errno(errno))
                return errprintf(err, "connection lost: %s", strerror(errno)), SL_ZMTP_ECLOSED;
            return errprintf(err, "send: %s", strerror(errno)), SL_ZMTP_ESYS;
        }
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (uint8_t *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return SL_ZMTP_OK;
}

/* Read one frame header. */
static int read_header(struct sl_zmtp *z, uint64_t max, int *flags, uint64_t *size,
                       long long deadline, sl_error_t *err)
{
    uint8_t h[SL_ZMTP_HDR_MAX];
    size_t have = 0, need = 2, hl;
    int rc;

    for (;;) {
        if ((rc = read_exact(z, h + have, need - have, deadline, err)) != SL_ZMTP_OK)
            return rc;
        have = need;
        rc = sl_zmtp_parse_header(h, have, max, flags, size, &hl, err);
        if (rc != SL_ZMTP_AGAIN)
            return rc;
        need = SL_ZMTP_HDR_MAX;
    }
}

static int send_command(struct sl_zmtp *z, const char *name, const uint8_t *data, size_t dlen,
                        long long deadline, sl_error_t *err)
{
    uint8_t hdr[SL_ZMTP_HDR_MAX + 1];
    size_t nl = strlen(name);
    size_t hl = sl_zmtp_frame_header(hdr, SL_ZMTP_COMMAND, 1 + nl + dlen);
    hdr[hl] = (uint8_t)nl;
    struct iovec iov[3] = {{hdr, hl + 1}, {(void *)name, nl}, {(void *)data, dlen}};
    return write_all(z, iov, dlen ? 3 : 2, deadline, err);
}

/* Handle a command that arrived outside the handshake. */
static int on_command(struct sl_zmtp *z, const uint8_t *body, size_t n, long long deadline,
                      sl_error_t *err)
{
    char name[256];
    const uint8_t *data;
    size_t dlen;

    if (sl_zmtp_parse_command(body, n, name, &data, &dlen, err) != SL_ZMTP_OK)
        return SL_ZMTP_EPROTO;
    if (strcmp(name, "ERROR") == 0) {
        size_t rl = dlen ? data[0] : 0;
        if (rl > dlen - (dlen ? 1 : 0))
            rl = dlen ? dlen - 1 : 0;
        return errprintf(err, "the peer reported an error: %.*s", (int)rl, data + 1),
               SL_ZMTP_EPROTO;
    }
    if (strcmp(name, "PING") == 0) { /* ZMTP 3.1 heartbeat: answer with its context */
        if (dlen < 2)
            return errprintf(err, "malformed PING command"), SL_ZMTP_EPROTO;
        size_t cl = dlen - 2 > 16 ? 16 : dlen - 2;
        return send_command(z, "PONG", data + 2, cl, deadline, err);
    }
    return SL_ZMTP_OK; /* PONG and unknown commands are ignored */
}

/* Our greeting and READY into out (SL_ZMTP_GREETING_LEN + 64 bytes). */
static size_t hello(const struct sl_zmtp *z, uint8_t *out)
{
    sl_zmtp_greeting(out);
    return SL_ZMTP_GREETING_LEN + sl_zmtp_ready(out + SL_ZMTP_GREETING_LEN, 64, z->socket_type);
}

/* Read and check the peer's greeting and READY (or ERROR). */
static int await_peer(struct sl_zmtp *z, long long deadline, sl_error_t *err)
{
    uint8_t g[SL_ZMTP_GREETING_LEN], body[SL_ZMTP_COMMAND_MAX];
    size_t have = 0;
    int rc, flags;
    uint64_t size;

    /* The peer's greeting, checked as it comes (libzmq sends it in parts). */
    while ((rc = sl_zmtp_check_greeting(g, have, err)) == SL_ZMTP_AGAIN) {
        size_t got;
        if ((rc = read_some(z, g + have, sizeof(g) - have, &got, deadline, err)) != SL_ZMTP_OK)
            return rc;
        have += got;
    }
    if (rc != SL_ZMTP_OK)
        return rc;

    /* The peer's READY (or ERROR). */
    if ((rc = read_header(z, SL_ZMTP_COMMAND_MAX, &flags, &size, deadline, err)) != SL_ZMTP_OK)
        return rc;
    if (!(flags & SL_ZMTP_COMMAND))
        return errprintf(err, "the peer sent a message before READY"), SL_ZMTP_EPROTO;
    if ((rc = read_exact(z, body, size, deadline, err)) != SL_ZMTP_OK)
        return rc;
    char name[256];
    const uint8_t *data, *val;
    size_t dlen, vlen;
    if (sl_zmtp_parse_command(body, size, name, &data, &dlen, err) != SL_ZMTP_OK)
        return SL_ZMTP_EPROTO;
    if (strcmp(name, "READY") != 0)
        return on_command(z, body, size, deadline, err) == SL_ZMTP_OK
                   ? (errprintf(err, "the peer sent %s instead of READY", name), SL_ZMTP_EPROTO)
                   : SL_ZMTP_EPROTO;
    rc = sl_zmtp_ready_property(data, dlen, "Socket-Type", &val, &vlen, err);
    if (rc == SL_ZMTP_AGAIN)
        return errprintf(err, "the peer's READY has no Socket-Type"), SL_ZMTP_EPROTO;
    if (rc != SL_ZMTP_OK)
        return rc;
    for (const char *p = z->peer_types; *p;) {
        size_t l = strcspn(p, " ");
        if (l == vlen && memcmp(p, val, vlen) == 0)
            return SL_ZMTP_OK;
        p += l;
        p += strspn(p, " ");
    }
    return errprintf(err, "the peer is a %.*s socket, not one of %s", (int)(vlen > 32 ? 32 : vlen),
                     (const char *)val, z->peer_types),
           SL_ZMTP_EPROTO;
}

int sl_zmtp_handshake(struct sl_zmtp *z, long long deadline, sl_error_t *err)
{
    int rc;

    if (z->hello_unsent) {
        uint8_t out[SL_ZMTP_GREETING_LEN + 64];
        struct iovec iov = {out, hello(z, out)};
        if ((rc = write_all(z, &iov, 1, deadline, err)) != SL_ZMTP_OK)
            return rc;
        z->hello_unsent = false;
    }
    if (z->peer_unseen) {
        if ((rc = await_peer(z, deadline, err)) != SL_ZMTP_OK)
            return rc;
        z->peer_unseen = false;
    }
    return SL_ZMTP_OK;
}

int sl_zmtp_peer_seen(const struct sl_zmtp *z)
{
    return !z->peer_unseen;
}

/* A connection on fd, nothing sent or read yet (see struct sl_zmtp);
 * fd is closed on failure. */
static struct sl_zmtp *conn_new(int fd, const char *socket_type, const char *peer_types, int *rc,
                                sl_error_t *err)
{
    uint8_t probe[64];
    struct sl_zmtp *z = NULL;

    *rc = SL_ZMTP_ESYS;
    if (strlen(socket_type) >= sizeof(z->socket_type) ||
        strlen(peer_types) >= sizeof(z->peer_types) ||
        !sl_zmtp_ready(probe, sizeof(probe), socket_type))
        errprintf(err, "bad socket type '%s' or peer types '%s'", socket_type, peer_types);
    else if (!(z = malloc(sizeof(*z))))
        errprintf(err, "out of memory");
    if (!z) {
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *rc = SL_ZMTP_OK;
    z->fd = fd;
    z->rpos = z->rlen = 0;
    z->hello_unsent = z->peer_unseen = true;
    strcpy(z->socket_type, socket_type);
    strcpy(z->peer_types, peer_types);
    return z;
}

void sl_zmtp_close(struct sl_zmtp *z)
{
    if (!z)
        return;
    int saved = errno;
    if (z->fd >= 0)
        close(z->fd);
    free(z);
    errno = saved;
}

int sl_zmtp_alive(struct sl_zmtp *z)
{
    struct pollfd p = {.fd = z->fd, .events = POLLIN};
    uint8_t b;

    if (z->rpos < z->rlen)
        return 1;
    if (poll(&p, 1, 0) <= 0)
        return 1;
    if (p.revents & (POLLERR | POLLNVAL))
        return 0;
    ssize_t r = recv(z->fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    return r > 0 || (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR));
}

/* Connect one address, non-blocking, before deadline: the socket in *fd. */
static int connect_addr(int *fd, const struct sockaddr *sa, socklen_t salen, long long deadline,
                        sl_error_t *err)
{
    int one = 1, soerr = 0, rc;
    socklen_t sl = sizeof(soerr);

    *fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (*fd < 0)
        return errprintf(err, "socket: %s", strerror(errno)), SL_ZMTP_ESYS;
    setsockopt(*fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* Non-blocking: EINPROGRESS (or EINTR: it goes on in the background)
     * means wait for writability, then read the outcome from SO_ERROR. */
    if (connect(*fd, sa, salen) < 0 && errno != EINPROGRESS && errno != EINTR)
        return errprintf(err, "connect: %s", strerror(errno)),
               closed_errno(errno) || errno == EADDRNOTAVAIL ? SL_ZMTP_ECLOSED : SL_ZMTP_ESYS;
    if ((rc = wait_fd(*fd, POLLOUT, deadline, err)) != SL_ZMTP_OK)
        return rc;
    if (getsockopt(*fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
        soerr = errno;
    if (soerr == EINPROGRESS || soerr == EALREADY)
        soerr = 0;
    if (soerr)
        return errprintf(err, "connect: %s", strerror(soerr)), SL_ZMTP_ECLOSED;
    return SL_ZMTP_OK;
}

struct sl_zmtp *sl_zmtp_attach(int fd, const char *socket_type, const char *peer_types, int *rc,
                               sl_error_t *err)
{
    int fl = fcntl(fd, F_GETFL);

    if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
        *rc = SL_ZMTP_ESYS;
        errprintf(err, "fcntl: %s", strerror(errno));
        close(fd);
        return NULL;
    }
    return conn_new(fd, socket_type, peer_types, rc, err);
}

struct sl_zmtp *sl_zmtp_connect_unix(const char *path, const char *socket_type,
                                     const char *peer_types, int *rc, sl_error_t *err)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        *rc = SL_ZMTP_ESYS;
        errprintf(err, "socket path too long: %s", path);
        return NULL;
    }
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0) {
        *rc = SL_ZMTP_ESYS;
        errprintf(err, "socket: %s", strerror(errno));
        return NULL;
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        /* no such socket, nobody listening, or a full backlog (EAGAIN) */
        *rc = SL_ZMTP_ECLOSED;
        errprintf(err, "connect %s: %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    return conn_new(fd, socket_type, peer_types, rc, err);
}

struct sl_zmtp *sl_zmtp_connect(const char *host, int port, const char *socket_type,
                                const char *peer_types, long long deadline, int *rc,
                                sl_error_t *err)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_NUMERICSERV},
                    *res = NULL, *ai;
    char portstr[16];
    int gai, fd = -1;

    snprintf(portstr, sizeof(portstr), "%d", port);
    /* A numeric address needs no resolver (and loads no NSS module). */
    hints.ai_flags |= AI_NUMERICHOST;
    if ((gai = getaddrinfo(host, portstr, &hints, &res)) != 0) {
        hints.ai_flags &= ~AI_NUMERICHOST;
        gai = getaddrinfo(host, portstr, &hints, &res);
    }
    if (gai != 0) {
        *rc = gai == EAI_AGAIN ? SL_ZMTP_ECLOSED : SL_ZMTP_ESYS;
        errprintf(err, "cannot resolve %s: %s", host, gai_strerror(gai));
        return NULL;
    }
    *rc = SL_ZMTP_ECLOSED;
    for (ai = res; ai; ai = ai->ai_next) {
        if (fd >= 0)
            close(fd);
        fd = -1;
        *rc = connect_addr(&fd, ai->ai_addr, ai->ai_addrlen, deadline, err);
        if (*rc == SL_ZMTP_OK || *rc == SL_ZMTP_ETIME)
            break;
    }
    freeaddrinfo(res);
    if (*rc == SL_ZMTP_OK)
        return conn_new(fd, socket_type, peer_types, rc, err);
    if (fd >= 0)
        close(fd);
    return NULL;
}

int sl_zmtp_send(struct sl_zmtp *z, const struct iovec *parts, int nparts, long long deadline,
                 sl_error_t *err)
{
    struct iovec iov[1 + 2 * 8];
    uint8_t hdr[8][SL_ZMTP_HDR_MAX], out[SL_ZMTP_GREETING_LEN + 64];
    int n = 0, rc;

    if (nparts < 1 || nparts > 8)
        return errprintf(err, "bad number of frames %d", nparts), SL_ZMTP_ESYS;
    if (z->hello_unsent) /* the handshake and the first message in one write */
        iov[n++] = (struct iovec){out, hello(z, out)};
    for (int i = 0; i < nparts; i++) {
        size_t hl =
            sl_zmtp_frame_header(hdr[i], i < nparts - 1 ? SL_ZMTP_MORE : 0, parts[i].iov_len);
        iov[n++] = (struct iovec){hdr[i], hl};
        if (parts[i].iov_len)
            iov[n++] = parts[i];
    }
    if ((rc = write_all(z, iov, n, deadline, err)) == SL_ZMTP_OK)
        z->hello_unsent = false;
    return rc;
}

void sl_zmtp_msg_clear(struct sl_zmtp_msg *msg)
{
    free(msg->buf);
    msg->buf = NULL;
    msg->nframes = 0;
}

#define ZMTP_BIG_FRAME ((size_t)4 << 20)

int sl_zmtp_recv(struct sl_zmtp *z, size_t max_bytes, long long deadline, struct sl_zmtp_msg *msg,
                 sl_error_t *err)
{
    size_t used = 0, cap = 0, off[SL_ZMTP_FRAMES_MAX];
    uint8_t *buf = NULL;
    int flags, rc, more = 1;
    uint64_t size;

    msg->nframes = 0;
    msg->buf = NULL;
    if ((rc = sl_zmtp_handshake(z, deadline, err)) != SL_ZMTP_OK)
        return rc;
    while (more) {
        rc = read_header(z, max_bytes - used, &flags, &size, deadline, err);
        if (rc != SL_ZMTP_OK)
            goto fail;
        if (flags & SL_ZMTP_COMMAND) {
            uint8_t *cb = malloc(size ? size : 1);
            if (!cb) {
                rc = SL_ZMTP_ESYS;
                errprintf(err, "out of memory");
                goto fail;
            }
            rc = read_exact(z, cb, size, deadline, err);
            if (rc == SL_ZMTP_OK)
                rc = on_command(z, cb, size, deadline, err);
            free(cb);
            if (rc != SL_ZMTP_OK)
                goto fail;
            if (msg->nframes > 0) { /* commands never split a message */
                rc = SL_ZMTP_EPROTO;
                errprintf(err, "a command inside a multipart message");
                goto fail;
            }
            continue;
        }
        if (msg->nframes == SL_ZMTP_FRAMES_MAX) {
            rc = SL_ZMTP_EPROTO;
            errprintf(err, "a message of more than %d frames", SL_ZMTP_FRAMES_MAX);
            goto fail;
        }
        more = flags & SL_ZMTP_MORE;
        off[msg->nframes] = used;
        msg->frame[msg->nframes++].iov_len = size;
        /* Grow with the data that actually arrives, not with what the peer
         * claims, so a lying header cannot make us allocate max_bytes; but
         * a big frame (a million-job reply) gets its whole size at once, in
         * its own mapping, on huge pages: its pages are touched only as the
         * data arrives (a lie costs address space, not memory), and 100 MB
         * are neither copied by doublings nor faulted in 4 KiB at a time. */
        size_t got = 0;
        if (size >= ZMTP_BIG_FRAME && cap - used < size) {
            uint8_t *nb = realloc(buf, used + size + 1);
            if (!nb) {
                rc = SL_ZMTP_ESYS;
                errprintf(err, "out of memory");
                goto fail;
            }
            buf = nb;
            cap = used + size;
            mem_hint_huge(buf + used, size); /* the last realloc: see xmalloc.h */
        }
        while (got < size) {
            if (cap == used) {
                size_t want = cap ? cap * 2 : 65536;
                if (want > max_bytes)
                    want = max_bytes;
                uint8_t *nb = realloc(buf, want + 1); /* + the NUL after the last frame */
                if (!nb) {
                    rc = SL_ZMTP_ESYS;
                    errprintf(err, "out of memory");
                    goto fail;
                }
                buf = nb;
                cap = want;
            }
            size_t k = cap - used < size - got ? cap - used : (size_t)(size - got);
            size_t r;
            rc = read_some(z, buf + used, k, &r, deadline, err);
            if (rc != SL_ZMTP_OK)
                goto fail;
            used += r;
            got += r;
        }
    }
    if (buf)
        buf[used] = 0;
    for (int i = 0; i < msg->nframes; i++)
        msg->frame[i].iov_base = buf ? buf + off[i] : NULL;
    msg->buf = buf;
    return SL_ZMTP_OK;
fail:
    free(buf);
    msg->nframes = 0;
    return rc;
}
