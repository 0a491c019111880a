/* rawsend.c - test helper: send one hand-made message to a slurmish
 * daemon and print the reply envelope, so integration tests can feed the
 * controller malformed, forged or oversized input.
 *
 *   rawsend HOST PORT --raw TEXT          send TEXT as the envelope
 *   rawsend HOST PORT --size N            send N bytes of 'x'
 *   rawsend HOST PORT --sign SOCKET TYPE BODY
 *                                         sign BODY with the munged at SOCKET
 *
 * Prints the reply envelope on stdout; exit 0 if a reply came, 2 if not.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "auth/auth.h"
#include "proto/proto.h"

int main(int argc, char **argv)
{
    char ep[300], *buf = NULL;
    size_t len = 0;
    int linger = 0, timeout = 5000;

    if (argc < 5) {
        fprintf(stderr, "usage: rawsend HOST PORT (--raw TEXT | --size N | --sign SOCKET TYPE "
                        "BODY)\n");
        return 1;
    }
    if (!strcmp(argv[3], "--raw")) {
        buf = strdup(argv[4]);
        len = strlen(buf);
    } else if (!strcmp(argv[3], "--size")) {
        len = (size_t)atol(argv[4]);
        buf = malloc(len + 1);
        memset(buf, 'x', len);
    } else if (!strcmp(argv[3], "--sign") && argc >= 7) {
        sl_error_t err;
        struct sl_auth *auth = sl_auth_create(argv[4], &err);
        json_error_t jerr;
        json_t *body = json_loads(argv[6], 0, &jerr);
        int type = sl_msg_type_from_name(argv[5]);
        if (!auth || !body || type < 0) {
            fprintf(stderr, "rawsend: bad --sign arguments\n");
            return 1;
        }
        buf = sl_msg_encode_request(auth, type, 42, body, &len, &err);
        json_decref(body);
        sl_auth_destroy(auth);
        if (!buf) {
            fprintf(stderr, "rawsend: %s\n", err.text);
            return 1;
        }
    } else {
        fprintf(stderr, "rawsend: unknown mode %s\n", argv[3]);
        return 1;
    }
    void *ctx = zmq_ctx_new(), *s = zmq_socket(ctx, ZMQ_DEALER);
    zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(s, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    snprintf(ep, sizeof(ep), "tcp://%s:%s", argv[1], argv[2]);
    zmq_connect(s, ep);
    zmq_send(s, "", 0, ZMQ_SNDMORE);
    zmq_send(s, buf, len, 0);
    free(buf);
    int rc = 2;
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, s, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        int more = zmq_msg_more(&m);
        if (zmq_msg_size(&m) > 0) {
            fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
            putchar('\n');
            rc = 0;
        }
        zmq_msg_close(&m);
        if (!more)
            break;
    }
    zmq_close(s);
    zmq_ctx_term(ctx);
    return rc;
}
