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

/* A reply's bulk data: a raw frame after the envelope (query_jobs with
 * fields sends its rows so, unescaped).  text is NUL-terminated and may be
 * modified in place; NULL when the reply had none. */
struct sl_reply_data {
    char *text;
    size_t len;
    void *mem; /* what to free */
};

/* sl_client_request, also returning the reply's data frame (data may be
 * NULL: then it is dropped).  Free it with sl_reply_data_free(). */
int sl_client_request_data(struct sl_client *cl, int type, json_t *body, json_t **reply,
                           struct sl_reply_data *data, int *rc, sl_error_t *err);
void sl_reply_data_free(struct sl_reply_data *d);

/* A reply streamed in pieces (query_jobs with "stream", when the reply
 * says "rows_stream"; doc/protocol.md): read its next piece, the bytes of
 * whole rows, into piece (free it with sl_reply_data_free()).  0 with
 * piece->len == 0 at the end of the reply; -1 on error (the connection is
 * dropped: the rest of the reply is lost). */
int sl_client_stream_next(struct sl_client *cl, struct sl_reply_data *piece, sl_error_t *err);

/* Override the reply timeout (milliseconds). */
void sl_client_set_timeout(struct sl_client *cl, int timeout_ms);

#endif
