/* toolport.h - the tools' own listener (controller.tools_port).
 *
 * The ROUTER socket hands every message through libzmq's I/O thread: on
 * the way in and again on the way out, each a wake-up of another thread.
 * For a one-request tool (sbatch, squeue) those hops cost more than the
 * request itself.  Here the ctld's loop accepts the tools' TCP
 * connections and speaks ZMTP 3 with them directly (as a ROUTER to their
 * DEALER, proto/zmtp.h), so a request is read, handled and answered by
 * the loop with no other thread in between.
 *
 * Requests from both listeners enter the same turn, are verified and
 * dispatched alike; a request from here carries its connection's id
 * (struct request's conn) instead of a ZeroMQ route, and its reply goes
 * back through toolport_send().  Output a client cannot take yet waits in
 * memory and is written as the socket drains, never blocking the loop.
 */
#ifndef SL_CTLD_TOOLPORT_H
#define SL_CTLD_TOOLPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <zmq.h>

#include "util/error.h"

struct ctld;
struct toolport;

/* Listen on host:port (unless port is 0) and on the Unix socket unix_path
 * (unless NULL); NULL with err set (e.g. the port is taken). */
struct toolport *toolport_open(const char *host, int port, const char *unix_path, sl_error_t *err);
void toolport_close(struct toolport *tp);

/* Poll items for the loop: how many toolport_poll_items() may add. */
size_t toolport_npoll(const struct toolport *tp);
/* Add the listener's and connections' items at pi; returns how many. */
size_t toolport_poll_items(struct toolport *tp, zmq_pollitem_t *pi);
/* After the poll: accept, read and write as pi's revents say (pi and n:
 * what toolport_poll_items() added). */
void toolport_io(struct toolport *tp, const zmq_pollitem_t *pi, size_t n);
/* Whether whole requests are waiting already (the loop must not sleep). */
bool toolport_pending(const struct toolport *tp);

/* The next whole request: its payload frame (malloc'd, NUL-terminated, to
 * free), the connection's id and whether it came after an empty delimiter
 * frame.  *nframes is the number of frames after the delimiter (1 for a
 * well-formed request; the payload is the first of them).  -1 if none. */
int toolport_next(struct toolport *tp, char **payload, size_t *len, int *nframes, uint64_t *conn,
                  bool *delim);

/* The uid and gid the kernel gives for connection conn: true on the Unix
 * socket (SO_PEERCRED, taken at accept), false elsewhere or once gone. */
bool toolport_peer_cred(struct toolport *tp, uint64_t conn, uid_t *uid, gid_t *gid);

/* Send [delimiter?][buf][data?] to connection conn; buf and data (may be
 * NULL) are taken.  An empty buf (len 0) is sent as an empty frame.
 * -1 when the connection is gone (everything freed). */
int toolport_send(struct toolport *tp, uint64_t conn, bool delim, char *buf, size_t len, char *data,
                  size_t data_len);

/* Before the process ends: write what is queued, for up to timeout_ms. */
void toolport_drain(struct toolport *tp, int timeout_ms);

#endif
