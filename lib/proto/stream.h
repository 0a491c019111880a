/* stream.h - binary frames of an interactive step's I/O stream.
 *
 * Once a client has been authorised for a step (a signed step_launch or
 * step_connect request, see proto.h), the step's terminal and stdio
 * traffic flows as small binary frames, not signed JSON: a keystroke
 * must not cost a munge round trip.  The node daemon accepts them only
 * on the ZeroMQ connection that was authorised (see doc/protocol.md).
 * The same frames travel between the node daemon and a step's
 * supervisor over a SOCK_SEQPACKET Unix socket.
 *
 * A frame is a fixed 17-byte header and data:
 *   kind (1 byte) | job_id (4) | step_id (4) | a (4) | b (4) | data
 * integers big-endian.  JSON envelopes start with '{', frames with a
 * capital letter, so one socket can carry both.
 */
#ifndef SL_STREAM_H
#define SL_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define SL_FRAME_HDR 17
#define SL_FRAME_MAX_DATA (64 * 1024)

enum sl_frame_kind {
    /* client -> node -> step */
    SL_FR_STDIN = 'I',  /* data for the tasks' stdin (a = task, SL_FR_ALL_TASKS for all) */
    SL_FR_EOF = 'E',    /* stdin ends */
    SL_FR_RESIZE = 'W', /* a = rows, b = columns */
    SL_FR_SIGNAL = 'K', /* a = signal number, to every task */
    SL_FR_DETACH = 'D', /* the client goes; the step keeps running */
    /* step -> node -> client */
    SL_FR_OUTPUT = 'O', /* a = task, b = 1 stdout / 2 stderr, data */
    SL_FR_TASK_EXIT = 'X', /* a = task, b = raw wait status */
    SL_FR_STEP_END = 'Z',  /* all tasks here ended; a = worst raw wait status */
    SL_FR_REPLAYED = 'R',  /* recent output has been sent; live output follows */
    /* node <-> step only */
    SL_FR_HELLO = 'H',  /* node -> step: send the recent output, then live output */
    SL_FR_NOTICE = 'N', /* node -> step: write data to the session's terminal */
    SL_FR_QUERY = 'Q',  /* node -> step: report activity */
    SL_FR_ACTIVITY = 'A', /* step -> node: a = seconds since last input, b = CPU ms used */
    /* port forwarding (client <-> node daemon only; lib/proto/fwdchan.h) */
    SL_FR_FWD_OPEN = 'C',   /* client -> node: a = channel, b = port on the node's loopback */
    SL_FR_FWD_OPENED = 'Y', /* node -> client: a = channel, b = 0 or errno; data = error text */
    SL_FR_FWD_DATA = 'F',   /* both ways: a = channel, data (1 byte or more) */
    SL_FR_FWD_EOF = 'S',    /* both ways: a = channel; the sender sends no more data */
    SL_FR_FWD_RESET = 'L',  /* both ways: a = channel; the channel is gone (error, refusal) */
    SL_FR_FWD_ACK = 'T',    /* both ways: a = channel, b = bytes written out since the last ack */
};

/* every kind above, for the decoder and its tests */
#define SL_FR_KINDS "IEWKDOXZRHNQACYFSLT"

#define SL_FR_ALL_TASKS 0xffffffffu
#define SL_STEP_BATCH 0xfffffffbu /* the batch script's "step" (N.batch), as Slurm numbers it */
#define SL_FR_REPLAY_FLAG 0x10 /* in an output frame's b: replayed from the ring */

struct sl_frame {
    int kind;
    uint32_t job_id, step_id;
    uint32_t a, b;
    const char *data; /* decode: points into the buffer */
    size_t len;
};

/* Encode into buf (size >= SL_FRAME_HDR + f->len); returns bytes used. */
size_t sl_frame_encode(const struct sl_frame *f, char *buf);
/* Encode into a new buffer. */
char *sl_frame_encode_alloc(const struct sl_frame *f, size_t *len);
/* Decode and check buf; -1 with err naming what is wrong. */
int sl_frame_decode(const void *buf, size_t len, struct sl_frame *f, sl_error_t *err);

#endif
