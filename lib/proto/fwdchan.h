/* fwdchan.h - one forwarded TCP connection, at either end of a session.
 *
 * Purpose: `srun --forward-port` and `sattach --forward-port` carry TCP
 * connections between the user's loopback and a port on the node's
 * loopback inside the step's authenticated session stream.  Each
 * connection is a channel (a 32-bit id the client picks, never reused in
 * a session).  Both ends - the client (cli/forward.c) and the node daemon
 * (slurmish-d/forward.c) - run the same channel, which this module is.
 *
 * Input: poll events of the channel's nonblocking TCP socket, and the
 * peer's frames for the channel (SL_FR_FWD_DATA, _EOF, _RESET, _ACK of
 * lib/proto/stream.h).  Action: bytes read from the socket go to the
 * peer as DATA frames, the peer's DATA is written to the socket; an end
 * of input becomes EOF (a half close, shutdown(SHUT_WR) at the other
 * end); an error becomes RESET.
 *
 * Flow control: a sender may have at most FWD_WINDOW bytes the peer has
 * not acknowledged; a receiver acknowledges (ACK, b = bytes) what it has
 * written to its socket, every FWD_ACK_EVERY bytes.  So neither end
 * buffers more than FWD_WINDOW per channel; a socket whose peer lags is
 * simply not read, and TCP pushes back on the program that writes to it.
 * A peer that sends beyond the window gets its channel reset.
 *
 * The socket is written with send(MSG_NOSIGNAL): a program that went
 * away resets the channel and never raises SIGPIPE in the forwarder.
 *
 * Invariants: wlen + unacked <= FWD_WINDOW; inflight <= FWD_WINDOW.
 * The channel is finished when both directions have ended (rd_eof and
 * wr_shut) or on a reset; the owner then calls fwd_chan_close().
 */
#ifndef SL_FWDCHAN_H
#define SL_FWDCHAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto/stream.h"

#define FWD_WINDOW (1024 * 1024)
#define FWD_ACK_EVERY (FWD_WINDOW / 4)
#define FWD_READ_MAX SL_FRAME_MAX_DATA

struct fwd_chan {
    uint32_t id;
    int fd;     /* the TCP connection, nonblocking; -1 once closed */
    bool open;  /* both ends have their socket: data may flow */
    char *wbuf; /* from the peer, not yet written to fd */
    size_t woff, wlen, wcap;
    size_t inflight;              /* sent to the peer, not yet acknowledged by it */
    size_t unacked;               /* written to fd, not yet acknowledged to the peer */
    bool rd_eof;                  /* fd gave its end (EOF sent to the peer) */
    bool peer_eof;                /* the peer's EOF came */
    bool wr_shut;                 /* fd's write side shut, after peer_eof and wbuf written */
    uint64_t bytes_in, bytes_out; /* from the peer, to the peer */
};

/* What fwd_chan_io() and fwd_chan_frame() say about the channel. */
enum fwd_result {
    FWD_LIVE = 0,   /* keep it */
    FWD_FINISHED,   /* both directions ended cleanly */
    FWD_RESET,      /* an error here (or a broken peer): RESET was sent */
    FWD_PEER_RESET, /* the peer reset it */
};

/* Send a frame for channel c to the peer: 0, or -1 if the peer is gone
 * (the channel is then reset without a word).  It must not drop frames:
 * queue what cannot go now. */
typedef int (*fwd_send_fn)(void *arg, struct fwd_chan *c, int kind, uint32_t b, const char *data,
                           size_t len);

void fwd_chan_init(struct fwd_chan *c, uint32_t id, int fd);
/* Poll events the channel waits for on fd (0: poll it not at all). */
short fwd_chan_events(const struct fwd_chan *c);
/* fd is ready (revents from poll). */
enum fwd_result fwd_chan_io(struct fwd_chan *c, short revents, fwd_send_fn send, void *arg);
/* A DATA, EOF, RESET or ACK frame from the peer for this channel. */
enum fwd_result fwd_chan_frame(struct fwd_chan *c, const struct sl_frame *f, fwd_send_fn send,
                               void *arg);
/* Close the socket and free the buffer (not c itself). */
void fwd_chan_close(struct fwd_chan *c);

/* Frames waiting, in order, for a transport that cannot take them now
 * (ZeroMQ at its high-water mark).  Flow control bounds how many. */
struct fwd_qframe {
    struct fwd_qframe *next;
    size_t len;
    char buf[];
};
struct fwd_queue {
    struct fwd_qframe *head, *tail;
};
/* Append a copy of buf; -1 (ENOMEM) if it cannot be had. */
int fwd_queue_push(struct fwd_queue *q, const char *buf, size_t len);
/* Hand frames to try_send (0 sent, > 0 not now, < 0 failed) in order
 * until it stops taking them; returns its last answer (0: all sent). */
int fwd_queue_flush(struct fwd_queue *q, int (*try_send)(void *arg, const char *buf, size_t len),
                    void *arg);
void fwd_queue_clear(struct fwd_queue *q);

/* Parse a forward specification "[LOCAL:]REMOTE" (ports; LOCAL 0 = any
 * free port, absent = REMOTE); -1 with err on bad input. */
int fwd_parse_spec(const char *spec, int *local, int *remote, sl_error_t *err);

#endif
