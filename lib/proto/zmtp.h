/* zmtp.h - a small ZMTP 3.x client over a plain TCP socket.
 *
 * Purpose: let the tools (sbatch, squeue, ...) talk to the ctld's ZeroMQ
 * ROUTER without linking libzmq, which costs a dozen shared libraries and
 * two threads at every start.  It speaks ZMTP 3.0 (rfc.zeromq.org 23/ZMTP;
 * 3.1 peers are accepted, 37/ZMTP) with the NULL security mechanism, as
 * one socket of a given type (DEALER for the tools).
 *
 * Wire format in brief:
 *   greeting  64 bytes: 0xFF, 8 padding bytes, 0x7F, version major/minor,
 *             mechanism (20 bytes, "NULL" zero-padded), as-server, filler.
 *   frame     flags (MORE 0x01, LONG 0x02, COMMAND 0x04, others zero),
 *             size in 1 byte, or 8 bytes big-endian when LONG, then body.
 *   command   name length (1 byte), name, data.  After the greetings each
 *             side sends READY, whose data is properties:
 *             name length (1 byte), name, value length (4 bytes BE), value.
 *
 * Two layers: pure encoders/decoders (tested without a socket, and easy to
 * fuzz), and a blocking-with-deadline connection on a non-blocking socket.
 * Deadlines are CLOCK_MONOTONIC milliseconds (sl_zmtp_now_ms()).
 *
 * Caveats: one peer per connection, no reconnection here (the caller
 * decides), no CURVE/PLAIN.
 */
#ifndef SL_ZMTP_H
#define SL_ZMTP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "util/error.h"

#define SL_ZMTP_GREETING_LEN 64
#define SL_ZMTP_MORE 0x01
#define SL_ZMTP_LONG 0x02
#define SL_ZMTP_COMMAND 0x04
#define SL_ZMTP_HDR_MAX 9               /* flags + 8-byte size */
#define SL_ZMTP_COMMAND_MAX (64 * 1024) /* larger commands are refused */
#define SL_ZMTP_FRAMES_MAX 64           /* frames in one message */

/* Results of the I/O layer (and of the incremental decoders). */
enum {
    SL_ZMTP_OK = 0,
    SL_ZMTP_EPROTO = -1,  /* the peer broke the protocol; err says how */
    SL_ZMTP_ETIME = -2,   /* deadline passed */
    SL_ZMTP_ECLOSED = -3, /* connection refused, reset or closed by the peer */
    SL_ZMTP_ESYS = -4,    /* local failure (out of memory, socket()); err says */
    SL_ZMTP_AGAIN = 1,    /* decoder: not enough bytes yet */
};

/* ---- pure encoding and decoding ---- */

/* Our greeting: ZMTP 3.0, NULL mechanism, as-server 0. */
void sl_zmtp_greeting(uint8_t out[SL_ZMTP_GREETING_LEN]);

/* Check the first n bytes (0..64) of a peer's greeting, as they arrive, so
 * that a peer that is not ZMTP is refused at its first wrong byte.
 * SL_ZMTP_AGAIN: fine so far, n < 64; SL_ZMTP_OK: a complete, acceptable
 * greeting (ZMTP 3.x, NULL); SL_ZMTP_EPROTO with err set otherwise. */
int sl_zmtp_check_greeting(const uint8_t *g, size_t n, sl_error_t *err);

/* Write a frame header for a body of `size` bytes into out (at least
 * SL_ZMTP_HDR_MAX bytes); LONG is chosen when size > 255.  flags may hold
 * MORE and COMMAND.  Returns the header length (2 or 9). */
size_t sl_zmtp_frame_header(uint8_t *out, int flags, uint64_t size);

/* Parse a frame header from the first n bytes of buf.  On SL_ZMTP_OK sets
 * *flags, *size and *hdrlen.  SL_ZMTP_AGAIN when n is too short.
 * SL_ZMTP_EPROTO for reserved flag bits, a command with MORE, a LONG size
 * with the top bit set, or a size above max (commands: SL_ZMTP_COMMAND_MAX). */
int sl_zmtp_parse_header(const uint8_t *buf, size_t n, uint64_t max, int *flags, uint64_t *size,
                         size_t *hdrlen, sl_error_t *err);

/* Encode a READY command frame (header included) announcing socket_type
 * ("DEALER").  Returns its length, or 0 if cap is too small. */
size_t sl_zmtp_ready(uint8_t *out, size_t cap, const char *socket_type);

/* Split a command body into its name (NUL-terminated into name, which has
 * room for 256 bytes) and data.  SL_ZMTP_EPROTO if malformed. */
int sl_zmtp_parse_command(const uint8_t *body, size_t n, char name[256], const uint8_t **data,
                          size_t *dlen, sl_error_t *err);

/* Walk READY's properties (data of the command), checking the whole list
 * is well formed, and find prop (names compare case-insensitively).
 * SL_ZMTP_OK: found, *val and *vlen set; SL_ZMTP_AGAIN: well formed, absent;
 * SL_ZMTP_EPROTO: malformed. */
int sl_zmtp_ready_property(const uint8_t *data, size_t dlen, const char *prop, const uint8_t **val,
                           size_t *vlen, sl_error_t *err);

/* ---- connection ---- */

struct sl_zmtp;

long long sl_zmtp_now_ms(void);

/* Connect to host:port before deadline, as a socket of type socket_type
 * whose peer's type must be one of peer_types (space-separated, e.g.
 * "ROUTER DEALER").  Returns the connection, or NULL with *rc (one of the
 * SL_ZMTP_E*) and err set.  A peer that refuses gives SL_ZMTP_ECLOSED: the
 * caller may try again.
 *
 * The handshake is pipelined: our greeting and READY go out with the
 * first sl_zmtp_send(), and the peer's are read and checked at the first
 * sl_zmtp_recv() (or sl_zmtp_handshake()), so a request and its reply take
 * one round trip.  A peer that is not what it should be is thus reported
 * there, not here.  libzmq takes no message before it has sent its own
 * READY (it stalls): against a libzmq peer, call sl_zmtp_handshake() before
 * the first send.  The ctld's tools listener (toolport.c) takes them all
 * at once. */
struct sl_zmtp *sl_zmtp_connect(const char *host, int port, const char *socket_type,
                                const char *peer_types, long long deadline, int *rc,
                                sl_error_t *err);

/* The same over a Unix stream socket at path.  SL_ZMTP_ECLOSED when there
 * is no such socket or nobody listens on it: the caller may try TCP. */
struct sl_zmtp *sl_zmtp_connect_unix(const char *path, const char *socket_type,
                                     const char *peer_types, int *rc, sl_error_t *err);

/* The same on a socket already connected (any stream socket: a socketpair
 * in tests); takes fd, closed on failure. */
struct sl_zmtp *sl_zmtp_attach(int fd, const char *socket_type, const char *peer_types, int *rc,
                               sl_error_t *err);

/* Complete the handshake now: send our part if no message has, then read
 * and check the peer's. */
int sl_zmtp_handshake(struct sl_zmtp *z, long long deadline, sl_error_t *err);

/* Whether the peer's greeting and READY have been read.  Until they have,
 * the peer has not taken anything we sent (ours and libzmq both greet
 * first): a request that failed then may be sent again. */
int sl_zmtp_peer_seen(const struct sl_zmtp *z);
void sl_zmtp_close(struct sl_zmtp *z);

/* Whether a kept connection still looks usable: 0 once the peer has closed
 * or reset it (without waiting), 1 otherwise. */
int sl_zmtp_alive(struct sl_zmtp *z);

/* Send one message of nparts frames. */
int sl_zmtp_send(struct sl_zmtp *z, const struct iovec *parts, int nparts, long long deadline,
                 sl_error_t *err);

/* One received message: frames point into one allocation owned by msg. */
struct sl_zmtp_msg {
    int nframes;
    struct iovec frame[SL_ZMTP_FRAMES_MAX];
    uint8_t *buf;
};
void sl_zmtp_msg_clear(struct sl_zmtp_msg *msg);

/* Receive one whole message of at most max_bytes (all frames together)
 * before deadline, answering PING and skipping other commands on the way.
 * The frames lie in msg->buf one after another, a NUL after the last, so
 * a text last frame can be parsed in place.
 * An ERROR command from the peer is SL_ZMTP_EPROTO with its reason. */
int sl_zmtp_recv(struct sl_zmtp *z, size_t max_bytes, long long deadline, struct sl_zmtp_msg *msg,
                 sl_error_t *err);

#endif
