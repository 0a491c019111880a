/* keyed.c - requests signed with a ctld-issued key; see keyed.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "proto/keyed.h"
#include "proto/proto.h"

#define GRANT_TAG "slurmish-key-1"
/* what follows the MACed text: ,"mac":"<64 hex>"} */
#define MAC_HEAD ",\"mac\":\""
#define MAC_HEAD_LEN (sizeof(MAC_HEAD) - 1)
#define MAC_HEX_LEN (2 * crypto_generichash_BYTES)
#define MAC_TAIL_LEN (MAC_HEAD_LEN + MAC_HEX_LEN + 2)

static void hex_random(char *out, size_t ndigits)
{
    unsigned char raw[32];
    size_t nbytes = ndigits / 2; /* ndigits is even, at most 64 */
    randombytes_buf(raw, nbytes);
    sodium_bin2hex(out, 2 * nbytes + 1, raw, nbytes);
}

static bool is_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return s[n] == '\0';
}

json_t *sl_key_request_body(char *nonce)
{
    if (sodium_init() < 0)
        return NULL;
    hex_random(nonce, SL_KEY_NONCE_LEN);
    return json_pack("{s:s}", "nonce", nonce);
}

void sl_key_generate(struct sl_sign_key *key, unsigned slot)
{
    if (sodium_init() < 0)
        abort(); /* no usable random source: nothing safe to hand out */
    snprintf(key->id, sizeof(key->id), "%04x", slot & 0xffff);
    hex_random(key->id + 4, SL_KEY_ID_LEN - 4);
    randombytes_buf(key->secret, sizeof(key->secret));
    key->ctr = 0;
}

int sl_key_slot(const char *id)
{
    if (!id || strlen(id) != SL_KEY_ID_LEN || !is_hex(id, SL_KEY_ID_LEN))
        return -1;
    char head[5];
    memcpy(head, id, 4);
    head[4] = '\0';
    return (int)strtol(head, NULL, 16);
}

char *sl_key_grant(struct sl_auth *auth, const struct sl_sign_key *key, const char *nonce,
                   uid_t uid, sl_error_t *err)
{
    char secret[2 * SL_KEY_SECRET_BYTES + 1], payload[160];
    sodium_bin2hex(secret, sizeof(secret), key->secret, sizeof(key->secret));
    snprintf(payload, sizeof(payload), GRANT_TAG " %s %s %s", key->id, nonce, secret);
    char *cred = sl_auth_encode_for_uid(auth, payload, strlen(payload), uid, err);
    sodium_memzero(payload, sizeof(payload));
    sodium_memzero(secret, sizeof(secret));
    return cred;
}

int sl_key_accept(struct sl_auth *auth, json_t *reply_body, const char *nonce, uid_t daemon_uid,
                  struct sl_sign_key *key, sl_error_t *err)
{
    const char *grant = json_string_value(json_object_get(reply_body, "grant"));
    void *payload = NULL;
    size_t plen;
    uid_t uid;
    gid_t gid;
    char tag[32], id[SL_KEY_ID_LEN + 2], got_nonce[SL_KEY_NONCE_LEN + 2],
        secret[2 * SL_KEY_SECRET_BYTES + 2];
    int rc = -1;

    if (!grant)
        return errprintf(err, "request_key reply without a grant");
    if (sl_auth_decode(auth, grant, &payload, &plen, &uid, &gid, err) < 0)
        return -1;
    if (uid != 0 && uid != daemon_uid) {
        errprintf(err, "signing key granted by uid %u, not by the controller", (unsigned)uid);
        goto out;
    }
    if (sscanf(payload, "%31s %17s %33s %65s", tag, id, got_nonce, secret) != 4 ||
        strcmp(tag, GRANT_TAG) != 0 || sl_key_slot(id) < 0 ||
        strlen(secret) != 2 * SL_KEY_SECRET_BYTES) {
        errprintf(err, "malformed signing key grant");
        goto out;
    }
    if (strcmp(got_nonce, nonce) != 0) {
        errprintf(err, "signing key grant answers another request");
        goto out;
    }
    if (sodium_hex2bin(key->secret, sizeof(key->secret), secret, strlen(secret), NULL, NULL,
                       NULL) != 0) {
        errprintf(err, "malformed signing key grant");
        goto out;
    }
    memcpy(key->id, id, sizeof(key->id));
    key->ctr = 0;
    rc = 0;
out:
    sodium_memzero(payload, plen);
    sodium_memzero(secret, sizeof(secret));
    free(payload);
    return rc;
}

static void mac_hex(const void *buf, size_t len, const unsigned char *secret, char *hex)
{
    unsigned char mac[crypto_generichash_BYTES];
    crypto_generichash(mac, sizeof(mac), buf, len, secret, SL_KEY_SECRET_BYTES);
    sodium_bin2hex(hex, MAC_HEX_LEN + 1, mac, sizeof(mac));
}

char *sl_msg_encode_keyed(struct sl_sign_key *key, int type, uint64_t seq, json_t *body,
                          size_t *len, sl_error_t *err)
{
    const struct sl_msg_info *info = sl_msg_info(type);
    char head[200], *text = NULL, *out;
    size_t hlen, blen;

    if (!info || type == SL_MSG_REPLY) {
        errno = EINVAL;
        errprintf(err, "cannot encode request of type %d", type);
        return NULL;
    }
    if (!(text = body ? json_dumps(body, JSON_COMPACT) : strdup("{}"))) {
        errprintf(err, "cannot encode %s body", info->name);
        return NULL;
    }
    blen = strlen(text);
    hlen = (size_t)snprintf(head, sizeof(head),
                            "{\"v\":%d,\"type\":\"%s\",\"seq\":%llu,\"kid\":\"%s\",\"ctr\":%llu,"
                            "\"body\":",
                            SL_PROTO_VERSION, info->name, (unsigned long long)seq, key->id,
                            (unsigned long long)(key->ctr + 1));
    if (hlen + blen + MAC_TAIL_LEN > SL_MSG_MAX_BYTES) {
        free(text);
        errno = EMSGSIZE;
        errprintf(err, "%s request too large (%zu bytes, limit %d)", info->name, blen,
                  SL_MSG_MAX_BYTES);
        return NULL;
    }
    out = malloc(hlen + blen + MAC_TAIL_LEN + 1);
    if (!out) {
        free(text);
        errprintf(err, "out of memory");
        return NULL;
    }
    memcpy(out, head, hlen);
    memcpy(out + hlen, text, blen);
    free(text);
    size_t n = hlen + blen;
    memcpy(out + n, MAC_HEAD, MAC_HEAD_LEN);
    mac_hex(out, n, key->secret, out + n + MAC_HEAD_LEN);
    memcpy(out + n + MAC_HEAD_LEN + MAC_HEX_LEN, "\"}", 3);
    key->ctr++;
    *len = n + MAC_TAIL_LEN;
    return out;
}

int sl_msg_check_mac(const void *buf, size_t len, const unsigned char *secret, sl_error_t *err)
{
    const char *s = buf;
    char want[MAC_HEX_LEN + 1];
    if (len < MAC_TAIL_LEN || memcmp(s + len - MAC_TAIL_LEN, MAC_HEAD, MAC_HEAD_LEN) != 0 ||
        memcmp(s + len - 2, "\"}", 2) != 0)
        return errprintf(err, "keyed request does not end with its MAC");
    mac_hex(s, len - MAC_TAIL_LEN, secret, want);
    if (sodium_memcmp(want, s + len - MAC_TAIL_LEN + MAC_HEAD_LEN, MAC_HEX_LEN) != 0)
        return errprintf(err, "bad MAC: the request was altered or signed with another key");
    return 0;
}

int sl_msg_check_keyed(const struct sl_msg *m, const void *buf, size_t len,
                       const unsigned char *secret, uint64_t *last_ctr, sl_error_t *err)
{
    if (sl_msg_check_mac(buf, len, secret, err) < 0)
        return -1;
    if (m->ctr <= *last_ctr)
        return errprintf(err, "replayed request: counter %llu, key %s is at %llu",
                         (unsigned long long)m->ctr, m->kid, (unsigned long long)*last_ctr);
    *last_ctr = m->ctr;
    return 0;
}
