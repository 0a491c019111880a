/* keys.c - the signing keys the ctld hands to clients that send many
 * requests (request_key), and the check of requests signed with them; the
 * scheme is described in proto/keyed.h.
 *
 * The table is a fixed array of slots and a key's id starts with its
 * slot, so finding a key is an index, not a search.  Keys are never
 * written to SQLite: a restarted ctld knows none, and clients ask again.
 * A uid holds at most KEYS_PER_UID keys and the table KEYS_MAX; a new key
 * beyond either takes the least recently used slot (of that uid first),
 * so one user asking in a loop evicts only their own keys.
 */
#include <string.h>

#include "ctld.h"
#include "proto/keyed.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define KEYS_MAX 4096
#define KEYS_PER_UID 64
#define KEY_IDLE_MAX_S 3600 /* unused this long: the slot is free again */

struct ctld_key {
    struct sl_sign_key k; /* k.ctr: the last counter accepted from the holder */
    uint64_t out_ctr;     /* the last counter of what the ctld sent the holder */
    bool used;
    uid_t uid;
    gid_t gid;
    int64_t last_used;
};

static struct ctld_key *keys; /* KEYS_MAX slots, allocated on first use */

/* The slot for a new key of uid. */
static int pick_slot(uid_t uid, int64_t now)
{
    int free_slot = -1, lru = 0, uid_lru = -1, uid_count = 0;
    for (int i = 0; i < KEYS_MAX; i++) {
        struct ctld_key *e = &keys[i];
        if (e->used && now - e->last_used > KEY_IDLE_MAX_S)
            e->used = false;
        if (!e->used) {
            if (free_slot < 0)
                free_slot = i;
            continue;
        }
        if (e->last_used < keys[lru].last_used || !keys[lru].used)
            lru = i;
        if (e->uid == uid) {
            uid_count++;
            if (uid_lru < 0 || e->last_used < keys[uid_lru].last_used)
                uid_lru = i;
        }
    }
    if (uid_count >= KEYS_PER_UID)
        return uid_lru;
    return free_slot >= 0 ? free_slot : lru;
}

void keys_request_handle(struct ctld *c, struct request *req)
{
    const char *nonce = json_string_value(json_object_get(req->msg.body, "nonce"));
    int64_t now = ctld_now();
    sl_error_t err;

    if (req->msg.keyed) {
        ctld_reply_errorf(c, req, SL_E_AUTH, "request_key must be munge-signed");
        return;
    }
    if (!nonce || strlen(nonce) != SL_KEY_NONCE_LEN) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "request_key needs a nonce of %d hex digits", SL_KEY_NONCE_LEN);
        return;
    }
    if (!keys)
        keys = xcalloc(KEYS_MAX, sizeof(*keys));
    int slot = pick_slot(req->msg.uid, now);
    struct ctld_key *e = &keys[slot];
    if (e->used)
        log_debug("signing key %s of uid %u evicted", e->k.id, (unsigned)e->uid);
    sl_key_generate(&e->k, (unsigned)slot);
    e->out_ctr = 0;
    char *grant = sl_key_grant(c->auth, &e->k, nonce, req->msg.uid, &err);
    if (!grant) {
        memset(e, 0, sizeof(*e));
        log_err("cannot grant a signing key: %s", err.text);
        ctld_reply_errorf(c, req, SL_E_AUTH, "cannot grant a signing key: %s", err.text);
        return;
    }
    e->used = true;
    e->uid = req->msg.uid;
    e->gid = req->msg.gid;
    e->last_used = now;
    log_debug("signing key %s granted to uid %u", e->k.id, (unsigned)e->uid);
    json_t *r = json_pack("{s:s, s:s}", "kid", e->k.id, "grant", grant);
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
    free(grant);
}

/* The key with this id, or NULL: its slot is in the id. */
static struct ctld_key *key_find(const char *kid)
{
    int slot = sl_key_slot(kid);
    struct ctld_key *e = keys && slot >= 0 && slot < KEYS_MAX ? &keys[slot] : NULL;
    return e && e->used && strcmp(e->k.id, kid) == 0 ? e : NULL;
}

int keys_check(struct sl_msg *m, const void *buf, size_t len, int *rc, sl_error_t *err)
{
    struct ctld_key *e = key_find(m->kid);

    *rc = SL_E_AUTH;
    if (!e)
        return errprintf(err, "unknown signing key %s (expired, or the controller restarted)",
                         m->kid);
    if (sl_msg_check_keyed(m, buf, len, e->k.secret, &e->k.ctr, err) < 0)
        return -1;
    e->last_used = ctld_now();
    m->uid = e->uid;
    m->gid = e->gid;
    m->verified = true;
    *rc = 0;
    return 0;
}

char *keys_encode(const char *kid, int type, uint64_t seq, json_t *body, size_t *len)
{
    struct ctld_key *e = key_find(kid);
    sl_error_t err;
    if (!e)
        return NULL;
    /* the same secret, the ctld's own counter: the daemon checks that one */
    struct sl_sign_key out = e->k;
    out.ctr = e->out_ctr;
    char *buf = sl_msg_encode_keyed(&out, type, seq, body, len, &err);
    if (buf)
        e->out_ctr = out.ctr;
    return buf;
}

void keys_forget_all(void)
{
    free(keys);
    keys = NULL;
}
