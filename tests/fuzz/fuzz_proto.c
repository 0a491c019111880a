/* fuzz_proto.c - the wire decoders: JSON envelopes (sl_msg_decode) and
 * the binary frames of interactive steps (sl_frame_decode).
 *
 * One socket carries both (JSON starts with '{', a frame with a capital
 * letter), and the daemons hand whatever arrives to the decoders, so
 * every input goes to both.  Properties checked beyond "no crash, no
 * leak":
 *   - a decoded reply re-encoded with sl_msg_encode_reply() decodes to
 *     the same re, rc, error and body;
 *   - a decoded request keeps its credential string and a known type, or,
 *     signed with a key (keyed.h), has a key id, a counter and an object
 *     body, and its MAC check (against a fixed key) does not crash;
 *   - a decoded frame re-encodes to exactly the input bytes.
 * sl_msg_verify() needs munged, so request bodies are not reached here.
 */
#include "config.h"

#include <jansson.h>

#include "fuzz.h"
#include "proto/errors.h"
#include "proto/keyed.h"
#include "proto/proto.h"
#include "proto/stream.h"

static void check_reply(const struct sl_msg *m)
{
    size_t len = 0;
    char *enc = sl_msg_encode_reply(m->re, m->rc, m->error, m->body, &len);
    struct sl_msg m2;
    int rc;
    sl_error_t err;

    if (!enc)
        FUZZ_BUG("sl_msg_encode_reply failed on a decoded reply");
    if (sl_msg_decode(enc, len, &m2, &rc, &err) < 0)
        FUZZ_BUG("re-encoded reply does not decode: %s\n%s", err.text, enc);
    if (m2.type != SL_MSG_REPLY || m2.re != m->re || m2.rc != m->rc)
        FUZZ_BUG("reply round trip changed type/re/rc: %s", enc);
    if (!json_equal(m2.body, m->body))
        FUZZ_BUG("reply round trip changed the body: %s", enc);
    /* encode_reply writes "error" only for rc != 0 (sl_strerror(rc) if none) */
    if (m->rc != 0 && m->error && (!m2.error || strcmp(m2.error, m->error)))
        FUZZ_BUG("reply round trip changed the error text: %s", enc);
    if (m->rc == 0 && m2.error)
        FUZZ_BUG("reply with rc 0 re-encoded with an error: %s", enc);
    sl_msg_clear(&m2);
    free(enc);
}

static void fuzz_msg(const uint8_t *data, size_t size)
{
    struct sl_msg m;
    int rc = -1;
    sl_error_t err;

    if (sl_msg_decode(data, size, &m, &rc, &err) < 0) {
        if (rc == 0)
            FUZZ_BUG("sl_msg_decode failed with rc 0: %s", err.text);
        if (m.body || m.cred || m.error)
            FUZZ_BUG("sl_msg_decode failed but left allocations in the message");
        if (!sl_strerror(rc))
            FUZZ_BUG("no text for reply code %d", rc);
        sl_msg_clear(&m);
        return;
    }
    if (rc != 0)
        FUZZ_BUG("sl_msg_decode succeeded with rc %d", rc);
    const struct sl_msg_info *info = sl_msg_info(m.type);
    if (!info || info->type != m.type)
        FUZZ_BUG("decoded message of unknown type %d", m.type);
    if (m.type == SL_MSG_REPLY) {
        if (!json_is_object(m.body))
            FUZZ_BUG("decoded reply without an object body");
        check_reply(&m);
    } else if (m.keyed) {
        static const unsigned char secret[SL_KEY_SECRET_BYTES];
        if (m.cred || !json_is_object(m.body) || !m.ctr || strlen(m.kid) != SL_KEY_ID_LEN)
            FUZZ_BUG("keyed request decoded without its key id, counter or body");
        sl_msg_check_mac(data, size, secret, &err);
    } else if (m.peer) {
        /* vouched for by its connection: a body, no credential, no uid yet */
        if (m.cred || !json_is_object(m.body) || m.verified)
            FUZZ_BUG("peer request decoded with a credential, without a body, or verified");
    } else {
        if (!m.cred || m.body)
            FUZZ_BUG("decoded request without its credential, or with a body");
        if (sl_msg_type_from_name(info->name) != m.type)
            FUZZ_BUG("type table maps %s to %d", info->name, sl_msg_type_from_name(info->name));
    }
    sl_msg_clear(&m);
}

static void fuzz_frame(const uint8_t *data, size_t size)
{
    struct sl_frame f;
    sl_error_t err;

    if (sl_frame_decode(data, size, &f, &err) < 0)
        return;
    if (f.len + SL_FRAME_HDR != size || (f.len && f.data != (const char *)data + SL_FRAME_HDR))
        FUZZ_BUG("frame of %zu bytes decoded with %zu data bytes", size, f.len);
    size_t len = 0;
    char *enc = sl_frame_encode_alloc(&f, &len);
    if (len != size || memcmp(enc, data, size) != 0)
        FUZZ_BUG("frame '%c' does not re-encode to its input", f.kind);
    free(enc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_msg(data, size);
    fuzz_frame(data, size);
    return 0;
}
