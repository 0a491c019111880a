/* rawsend.c - test helper: send hand-made messages to a slurmish daemon
 * and print the reply envelopes, so integration tests can feed the
 * controller malformed, forged, replayed or oversized input.
 *
 *   rawsend HOST PORT --raw TEXT          send TEXT as the envelope
 *   rawsend HOST PORT --size N            send N bytes of 'x'
 *   rawsend HOST PORT --sign SOCKET TYPE BODY
 *                                         sign BODY with the munged at SOCKET
 *   rawsend HOST PORT --keyed SOCKET TYPE BODY
 *                                         get a signing key (proto/keyed.h),
 *                                         then send BODY signed with it, the
 *                                         same bytes again (a replay), a copy
 *                                         with its seq altered, one naming
 *                                         an unknown key, and BODY once more
 *                                         with the next counter: five replies
 *   rawsend HOST PORT --grant SOCKET      print {"nonce":...,"grant":...}
 *                                         from a request_key
 *   rawsend HOST PORT --accept SOCKET NONCE GRANT
 *                                         decode a grant here (no network):
 *                                         prints "accepted KID" or the error
 *
 * Prints each reply envelope on a line of stdout; exit 0 if every reply
 * came, 2 if not (--accept: 0 accepted, 1 refused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zmq.h>

#include "auth/auth.h"
#include "proto/keyed.h"
#include "proto/proto.h"

static void *sock;

/* Send one envelope, print the reply's frames (when print) and decode
 * the reply into *reply (when not NULL); 0 if a reply came. */
static int exchange(const char *buf, size_t len, struct sl_msg *reply, bool print)
{
    int rc = 2;
    zmq_send(sock, "", 0, ZMQ_SNDMORE);
    zmq_send(sock, buf, len, 0);
    for (;;) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, sock, 0) < 0) {
            zmq_msg_close(&m);
            break;
        }
        int more = zmq_msg_more(&m);
        if (zmq_msg_size(&m) > 0) {
            if (print) {
                fwrite(zmq_msg_data(&m), 1, zmq_msg_size(&m), stdout);
                putchar('\n');
            }
            if (rc != 0 && reply) {
                int drc;
                if (sl_msg_decode_max(zmq_msg_data(&m), zmq_msg_size(&m), SL_REPLY_MAX_BYTES,
                                      reply, &drc, NULL) < 0)
                    memset(reply, 0, sizeof(*reply));
            }
            rc = 0;
        }
        zmq_msg_close(&m);
        if (!more)
            break;
    }
    fflush(stdout);
    return rc;
}

static int usage(void)
{
    fprintf(stderr, "usage: rawsend HOST PORT (--raw TEXT | --size N | --sign SOCKET TYPE BODY | "
                    "--keyed SOCKET TYPE BODY | --grant SOCKET | --accept SOCKET NONCE GRANT)\n");
    return 1;
}

/* request_key over sock; the reply's body in *reply, the nonce in nonce. */
static int request_key(struct sl_auth *auth, char *nonce, struct sl_msg *reply)
{
    sl_error_t err;
    size_t len;
    json_t *body = sl_key_request_body(nonce);
    char *buf = sl_msg_encode_request(auth, SL_MSG_REQUEST_KEY, 1, body, &len, &err);
    json_decref(body);
    if (!buf) {
        fprintf(stderr, "rawsend: %s\n", err.text);
        return 1;
    }
    int rc = exchange(buf, len, reply, false);
    free(buf);
    return rc;
}

/* --keyed: the five sends described above. */
static int keyed(struct sl_auth *auth, const char *type_name, const char *body_text)
{
    char nonce[SL_KEY_NONCE_LEN + 1];
    struct sl_msg reply;
    struct sl_sign_key key;
    sl_error_t err;
    json_error_t jerr;
    size_t len;
    int type = sl_msg_type_from_name(type_name), rc = 0;
    json_t *body = json_loads(body_text, 0, &jerr);

    if (type < 0 || !body)
        return usage();
    if (request_key(auth, nonce, &reply))
        return 2;
    if (reply.rc || sl_key_accept(auth, reply.body, nonce, 0, &key, &err) < 0) {
        fprintf(stderr, "rawsend: no key: %s\n", reply.rc ? reply.error : err.text);
        return 1;
    }
    sl_msg_clear(&reply);
    char *buf = sl_msg_encode_keyed(&key, type, 42, body, &len, &err);
    if (!buf) {
        fprintf(stderr, "rawsend: %s\n", err.text);
        return 1;
    }
    rc |= exchange(buf, len, NULL, true); /* accepted */
    rc |= exchange(buf, len, NULL, true); /* the same bytes: a replay */
    char *seq = strstr(buf, "\"seq\":42");
    seq[7] = '3';                   /* "seq":43, under the old MAC */
    key.ctr++;
    rc |= exchange(buf, len, NULL, true); /* altered */
    free(buf);
    struct sl_sign_key forged = key;
    memcpy(forged.id + 4, "000000000000", 12);
    buf = sl_msg_encode_keyed(&forged, type, 44, body, &len, &err);
    rc |= exchange(buf, len, NULL, true); /* unknown key */
    free(buf);
    buf = sl_msg_encode_keyed(&key, type, 45, body, &len, &err);
    rc |= exchange(buf, len, NULL, true); /* the next counter: accepted again */
    free(buf);
    json_decref(body);
    return rc;
}

int main(int argc, char **argv)
{
    char ep[300], *buf = NULL;
    size_t len = 0;
    int linger = 0, timeout = 5000;
    sl_error_t err;
    struct sl_auth *auth = NULL;

    if (argc < 5)
        return usage();
    if (!strcmp(argv[3], "--accept")) {
        struct sl_sign_key key;
        json_t *body = argc >= 7 ? json_pack("{s:s}", "grant", argv[6]) : NULL;
        if (!body || !(auth = sl_auth_create(argv[4], &err)))
            return usage();
        if (sl_key_accept(auth, body, argv[5], 0, &key, &err) < 0) {
            printf("refused: %s\n", err.text);
            return 1;
        }
        printf("accepted %s\n", key.id);
        return 0;
    }
    if (!strcmp(argv[3], "--sign") || !strcmp(argv[3], "--keyed") || !strcmp(argv[3], "--grant"))
        if (!(auth = sl_auth_create(argv[4], &err))) {
            fprintf(stderr, "rawsend: %s\n", err.text);
            return 1;
        }
    sock = zmq_socket(zmq_ctx_new(), ZMQ_DEALER);
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof(linger));
    zmq_setsockopt(sock, ZMQ_RCVTIMEO, &timeout, sizeof(timeout));
    snprintf(ep, sizeof(ep), "tcp://%s:%s", argv[1], argv[2]);
    zmq_connect(sock, ep);

    if (!strcmp(argv[3], "--keyed")) {
        if (argc < 7)
            return usage();
        return keyed(auth, argv[5], argv[6]);
    }
    if (!strcmp(argv[3], "--grant")) {
        char nonce[SL_KEY_NONCE_LEN + 1];
        struct sl_msg reply;
        if (request_key(auth, nonce, &reply))
            return 2;
        json_t *out = json_pack("{s:s, s:O?}", "nonce", nonce, "grant",
                                reply.body ? json_object_get(reply.body, "grant") : NULL);
        char *text = json_dumps(out, JSON_COMPACT);
        printf("%s\n", text);
        return reply.rc ? 1 : 0;
    }
    if (!strcmp(argv[3], "--raw")) {
        buf = strdup(argv[4]);
        len = strlen(buf);
    } else if (!strcmp(argv[3], "--size")) {
        len = (size_t)atol(argv[4]);
        buf = malloc(len + 1);
        memset(buf, 'x', len);
    } else if (!strcmp(argv[3], "--sign") && argc >= 7) {
        json_error_t jerr;
        json_t *body = json_loads(argv[6], 0, &jerr);
        int type = sl_msg_type_from_name(argv[5]);
        if (!body || type < 0) {
            fprintf(stderr, "rawsend: bad --sign arguments\n");
            return 1;
        }
        buf = sl_msg_encode_request(auth, type, 42, body, &len, &err);
        json_decref(body);
        if (!buf) {
            fprintf(stderr, "rawsend: %s\n", err.text);
            return 1;
        }
    } else {
        fprintf(stderr, "rawsend: unknown mode %s\n", argv[3]);
        return 1;
    }
    int rc = exchange(buf, len, NULL, true);
    free(buf);
    return rc;
}
