/* client.h - one synchronous request/reply with the ctld, for the tools.
 *
 * A tool creates a client from the loaded config, sends requests with
 * sl_client_request() and destroys it.  Each request is munge-signed.
 */
#ifndef SL_CLIENT_H
#define SL_CLIENT_H

#include <jansson.h>

#include "conf/conf.h"
#include "proto/proto.h"

struct sl_client;

struct sl_client *sl_client_create(const struct sl_conf *conf, sl_error_t *err);
void sl_client_destroy(struct sl_client *cl);

/* Send a request of `type` with body (borrowed; NULL = {}), wait up to the
 * config's message_timeout for the reply.
 * Returns 0 with *reply set (new reference) when the reply's rc is 0.
 * Returns -1 otherwise: *rc is the reply's SL_E_* code and err holds its
 * error text, or *rc is -1 and err says "Unable to contact slurm
 * controller (connect failure)" when no reply came. */
int sl_client_request(struct sl_client *cl, int type, json_t *body, json_t **reply, int *rc,
                      sl_error_t *err);

/* Override the reply timeout (milliseconds). */
void sl_client_set_timeout(struct sl_client *cl, int timeout_ms);

#endif
