/* auth.h - munge credentials.
 *
 * Every request is a munge credential whose payload is the request body,
 * so the body cannot be altered or replayed (munged's replay detection
 * stays on).  The receiver takes uid/gid from the decoded credential,
 * never from the message.
 */
#ifndef SL_AUTH_H
#define SL_AUTH_H

#include <stddef.h>
#include <sys/types.h>

#include "util/error.h"

struct sl_auth;

/* socket_path may be NULL for munge's default socket. */
struct sl_auth *sl_auth_create(const char *socket_path, sl_error_t *err);
void sl_auth_destroy(struct sl_auth *auth);

/* Encode payload into a new credential string (caller frees). */
char *sl_auth_encode(struct sl_auth *auth, const void *payload, size_t len, sl_error_t *err);

/* The same, but only `uid` (or root) can decode the credential: munged
 * checks the decoder's peer credentials.  The ctld hands out signing keys
 * so (proto/keyed.h). */
char *sl_auth_encode_for_uid(struct sl_auth *auth, const void *payload, size_t len, uid_t uid,
                             sl_error_t *err);

/* Decode and verify cred; on success *payload (NUL-terminated, caller
 * frees), *len, *uid and *gid are set. */
int sl_auth_decode(struct sl_auth *auth, const char *cred, void **payload, size_t *len, uid_t *uid,
                   gid_t *gid, sl_error_t *err);

#endif
