/* keyed.h - requests signed with a key the ctld hands out, not munge.
 *
 * Munge-signing each request costs a munged round trip at both ends
 * (encode at the client, decode at the ctld): about 250 us of CPU per
 * request here, which caps a client pipelining submissions at about 5,000
 * a second on 2 cores.  A client that sends many requests asks once for a
 * signing key (request_key, itself munge-signed).  The ctld returns the
 * key inside a munge credential that only the client's uid can decode
 * (MUNGE_OPT_UID_RESTRICTION), so the key never crosses the wire
 * readable.  Every later request names the key, carries a counter that
 * must grow (a replayed or reordered request is refused) and ends with a
 * keyed BLAKE2b MAC of the envelope's text up to the MAC itself:
 *
 *   {"v":1,"type":"submit_job","seq":7,"kid":"00a1...","ctr":7,
 *    "body":{...},"mac":"<64 hex digits>"}
 *
 * The ctld takes uid/gid from the key, granted to the munge-proven uid.
 * Keys live in the ctld's memory only: after a restart, or once evicted,
 * requests with a key are refused as "unknown signing key" before any
 * handler runs, so the client can ask for a new key and send them again.
 * One key serves one connection: its counter orders that stream.
 *
 * libsodium (already loaded by libzmq) provides the MAC and the random
 * keys; this file is in libslurmish, not in the tools' core library, so
 * one-request tools like sbatch do not load it.
 */
#ifndef SL_KEYED_H
#define SL_KEYED_H

#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "auth/auth.h"
#include "proto/proto.h"
#include "util/error.h"

#define SL_KEY_SECRET_BYTES 32
#define SL_KEY_ID_LEN 16    /* hex digits: 4 of slot, 12 random */
#define SL_KEY_NONCE_LEN 32 /* hex digits */

struct sl_sign_key {
    char id[SL_KEY_ID_LEN + 1];
    unsigned char secret[SL_KEY_SECRET_BYTES];
    uint64_t ctr; /* client: last counter sent; ctld: last counter accepted */
};

/* Client: a request_key body with a fresh nonce, written to nonce
 * (SL_KEY_NONCE_LEN + 1 bytes). */
json_t *sl_key_request_body(char *nonce);

/* Client: take the key out of request_key's reply body.  The grant must
 * decode here (munged restricts it to our uid), have been made by uid 0
 * or daemon_uid (the ctld, not some other user answering in its place),
 * and carry our nonce. */
int sl_key_accept(struct sl_auth *auth, json_t *reply_body, const char *nonce, uid_t daemon_uid,
                  struct sl_sign_key *key, sl_error_t *err);

/* Client: a request signed with key; its counter advances.  body is
 * borrowed (NULL = {}).  Returns malloc'd bytes, *len set. */
char *sl_msg_encode_keyed(struct sl_sign_key *key, int type, uint64_t seq, json_t *body,
                          size_t *len, sl_error_t *err);

/* ctld: a new random key in table slot `slot` (0..0xffff). */
void sl_key_generate(struct sl_sign_key *key, unsigned slot);
/* The slot a key id names, or -1 if the id is malformed. */
int sl_key_slot(const char *id);

/* ctld: the grant for request_key's reply: the key and the client's nonce
 * in a credential only `uid` can decode.  Returns malloc'd text. */
char *sl_key_grant(struct sl_auth *auth, const struct sl_sign_key *key, const char *nonce,
                   uid_t uid, sl_error_t *err);

/* Check the MAC that ends a keyed request's text (buf, len bytes). */
int sl_msg_check_mac(const void *buf, size_t len, const unsigned char *secret, sl_error_t *err);

/* The whole check of a decoded keyed request m against the key that
 * signed it: the MAC over buf, then a counter above *last_ctr (the last
 * one accepted from that sender), which it becomes. */
int sl_msg_check_keyed(const struct sl_msg *m, const void *buf, size_t len,
                       const unsigned char *secret, uint64_t *last_ctr, sl_error_t *err);

#endif
