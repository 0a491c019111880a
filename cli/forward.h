/* forward.h - the client end of port forwarding (srun/sattach --forward-port).
 *
 * Each `--forward-port [LOCAL:]REMOTE` listens on 127.0.0.1:LOCAL (never
 * another address) from the moment the option is parsed, so a port in
 * use fails before anything is allocated.  Once the session to the
 * step's first node is up (cli_fwd_start), every accepted connection
 * becomes a channel on that session: SL_FR_FWD_OPEN asks the node daemon
 * to connect to REMOTE on the node's loopback, and the bytes flow as in
 * lib/proto/fwdchan.h.  Connections wait in the listen queue until then.
 * The session's poll loop (session.c) polls what cli_fwd_poll_fill()
 * gives and hands over the node's forwarding frames.
 */
#ifndef SL_CLI_FORWARD_H
#define SL_CLI_FORWARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "proto/stream.h"

struct cli_fwd;

/* Add a forward (creating *f on the first): parse the spec, listen.
 * -1 with the error printed. */
int cli_fwd_add(struct cli_fwd **f, const char *spec);
/* Forward over this node connection from now on; says what goes where
 * on stderr (unless quiet and every local port was given). */
void cli_fwd_start(struct cli_fwd *f, void *sock, uint32_t job_id, uint32_t step_id,
                   const char *node, bool quiet);
/* Messages end in \r\n while the terminal is raw. */
void cli_fwd_set_crlf(struct cli_fwd *f, bool crlf);

size_t cli_fwd_poll_count(const struct cli_fwd *f);
size_t cli_fwd_poll_fill(struct cli_fwd *f, zmq_pollitem_t *items);
void cli_fwd_poll_events(struct cli_fwd *f, const zmq_pollitem_t *items);
/* Frames wait for room on the node socket: poll it for ZMQ_POLLOUT. */
bool cli_fwd_want_out(const struct cli_fwd *f);
void cli_fwd_flush(struct cli_fwd *f);
/* A forwarding frame (SL_FR_FWD_*) from the node. */
void cli_fwd_frame(struct cli_fwd *f, const struct sl_frame *fr);
bool cli_fwd_is_frame(int kind);
/* The connection to the node dropped: its channels are gone there. */
void cli_fwd_lost(struct cli_fwd *f);
void cli_fwd_destroy(struct cli_fwd *f);

#endif
