/* proto.c - envelope encode/decode and the message type table; see proto.h. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/proto.h"

static const struct sl_msg_info msg_table[SL_MSG_TYPE_COUNT] = {
    {SL_MSG_REPLY, "reply", SL_ROLE_NONE, 1},
    {SL_MSG_PING, "ping", SL_ROLE_USER, 1},
    {SL_MSG_SUBMIT_JOB, "submit_job", SL_ROLE_USER, 1},
    {SL_MSG_CANCEL_JOB, "cancel_job", SL_ROLE_USER, 1},
    {SL_MSG_QUERY_JOBS, "query_jobs", SL_ROLE_USER, 1},
    {SL_MSG_QUERY_NODES, "query_nodes", SL_ROLE_USER, 1},
    {SL_MSG_QUERY_PARTITIONS, "query_partitions", SL_ROLE_USER, 1},
    {SL_MSG_UPDATE_JOB, "update_job", SL_ROLE_USER, 1},
    {SL_MSG_UPDATE_NODE, "update_node", SL_ROLE_USER, 1},
    {SL_MSG_QUERY_ACCT, "query_acct", SL_ROLE_USER, 1},
    {SL_MSG_QUERY_CONFIG, "query_config", SL_ROLE_USER, 1},
    {SL_MSG_NODE_REGISTER, "node_register", SL_ROLE_DAEMON, 1},
    {SL_MSG_NODE_HEARTBEAT, "node_heartbeat", SL_ROLE_DAEMON, 1},
    {SL_MSG_JOB_COMPLETE, "job_complete", SL_ROLE_DAEMON, 1},
    {SL_MSG_LAUNCH_JOB, "launch_job", SL_ROLE_DAEMON, 1},
    {SL_MSG_SIGNAL_JOB, "signal_job", SL_ROLE_DAEMON, 1},
    {SL_MSG_ALLOC_RELEASE, "alloc_release", SL_ROLE_USER, 1},
    {SL_MSG_STEP_CREATE, "step_create", SL_ROLE_USER, 1},
    {SL_MSG_STEP_ATTACH, "step_attach", SL_ROLE_USER, 1},
    {SL_MSG_STEP_COMPLETE, "step_complete", SL_ROLE_DAEMON, 1},
    {SL_MSG_SESSION_WARN, "session_warn", SL_ROLE_DAEMON, 1},
    {SL_MSG_STEP_LAUNCH, "step_launch", SL_ROLE_USER, 1},
    {SL_MSG_STEP_CONNECT, "step_connect", SL_ROLE_USER, 1},
    {SL_MSG_RECONFIGURE, "reconfigure", SL_ROLE_USER, 1},
    {SL_MSG_UPDATE_PARTITION, "update_partition", SL_ROLE_USER, 1},
    {SL_MSG_QUERY_EVENTS, "query_events", SL_ROLE_USER, 1},
    {SL_MSG_COST_REPORT, "cost_report", SL_ROLE_USER, 1},
    {SL_MSG_JOB_SCRIPT, "job_script", SL_ROLE_USER, 1},
    {SL_MSG_REQUEST_KEY, "request_key", SL_ROLE_USER, 1},
};

const struct sl_msg_info *sl_msg_info(int type)
{
    if (type < 0 || type >= SL_MSG_TYPE_COUNT)
        return NULL;
    return &msg_table[type];
}

int sl_msg_type_from_name(const char *name)
{
    for (int i = 0; i < SL_MSG_TYPE_COUNT; i++)
        if (strcmp(msg_table[i].name, name) == 0)
            return i;
    return -1;
}

static char *dump_compact(json_t *o, size_t *len)
{
    char *s = json_dumps(o, JSON_COMPACT);
    if (s && len)
        *len = strlen(s);
    return s;
}

/* A request's body as compact JSON ({} for NULL), within the request
 * limit; NULL with err set otherwise (and for a type that is no request). */
static char *encode_body(int type, json_t *body, size_t *plen, sl_error_t *err)
{
    const struct sl_msg_info *info = sl_msg_info(type);
    json_t *empty = NULL;
    char *payload;

    if (!info || type == SL_MSG_REPLY) {
        errno = EINVAL;
        errprintf(err, "cannot encode request of type %d", type);
        return NULL;
    }
    if (!body)
        body = empty = json_object();
    payload = dump_compact(body, plen);
    json_decref(empty);
    if (!payload) {
        errprintf(err, "cannot encode %s body", info->name);
    } else if (*plen > SL_MSG_MAX_BYTES - 4096) {
        errno = EMSGSIZE;
        errprintf(err, "%s request too large (%zu bytes, limit %d)", info->name, *plen,
                  SL_MSG_MAX_BYTES - 4096);
        free(payload);
        payload = NULL;
    }
    return payload;
}

char *sl_msg_encode_request(struct sl_auth *auth, int type, uint64_t seq, json_t *body, size_t *len,
                            sl_error_t *err)
{
    json_t *env = NULL;
    char *cred = NULL, *out = NULL;
    size_t plen;
    char *payload = encode_body(type, body, &plen, err);

    if (!payload || !(cred = sl_auth_encode(auth, payload, plen, err)))
        goto done;
    const char *name = sl_msg_info(type)->name;
    env = json_pack("{s:i, s:s, s:I, s:s}", "v", SL_PROTO_VERSION, "type", name, "seq",
                    (json_int_t)seq, "cred", cred);
    if (!env || !(out = dump_compact(env, len)))
        errprintf(err, "cannot encode %s envelope", name);
done:
    json_decref(env);
    free(payload);
    free(cred);
    return out;
}

char *sl_msg_encode_request_peer(int type, uint64_t seq, json_t *body, size_t *len, sl_error_t *err)
{
    char head[128];
    size_t plen;
    char *payload = encode_body(type, body, &plen, err), *out = NULL;
    if (!payload)
        return NULL;
    /* the body's text goes in as it is, written once (as a reply's is:
     * sl_msg_encode_reply_raw); a type's name needs no escaping */
    int h =
        snprintf(head, sizeof(head),
                 "{\"v\":%d,\"type\":\"%s\",\"seq\":%llu,\"peer\":true,\"body\":", SL_PROTO_VERSION,
                 sl_msg_info(type)->name, (unsigned long long)seq);
    if (!(out = malloc((size_t)h + plen + 2))) {
        errprintf(err, "out of memory");
    } else {
        memcpy(out, head, (size_t)h);
        memcpy(out + h, payload, plen);
        out[(size_t)h + plen] = '}';
        out[(size_t)h + plen + 1] = '\0';
        *len = (size_t)h + plen + 1;
    }
    free(payload);
    return out;
}

char *sl_msg_encode_reply(uint64_t re, int rc, const char *error, json_t *body, size_t *len)
{
    json_t *env = json_pack("{s:i, s:s, s:I, s:i}", "v", SL_PROTO_VERSION, "type", "reply", "re",
                            (json_int_t)re, "rc", rc);
    char *out = NULL;
    if (!env)
        return NULL;
    if (rc != 0)
        json_object_set_new(env, "error", json_string(error ? error : sl_strerror(rc)));
    json_object_set_new(env, "body", body ? json_incref(body) : json_object());
    out = dump_compact(env, len);
    json_decref(env);
    return out;
}

size_t sl_msg_reply_head(uint64_t re, char *out, size_t size)
{
    /* the keys and order sl_msg_encode_reply writes for rc 0 */
    int n = snprintf(out, size, "{\"v\":%d,\"type\":\"reply\",\"re\":%llu,\"rc\":0,\"body\":",
                     SL_PROTO_VERSION, (unsigned long long)re);
    return n < 0 ? 0 : (size_t)n < size ? (size_t)n : size - 1;
}

char *sl_msg_encode_reply_raw(uint64_t re, const char *body_json, size_t body_len, size_t *len)
{
    char head[SL_MSG_REPLY_HEAD_MAX];
    size_t h = sl_msg_reply_head(re, head, sizeof(head));
    char *out = malloc(h + body_len + 2);
    if (!out)
        return NULL;
    memcpy(out, head, h);
    memcpy(out + h, body_json, body_len);
    out[h + body_len] = '}';
    out[h + body_len + 1] = '\0';
    if (len)
        *len = h + body_len + 1;
    return out;
}

void sl_msg_clear(struct sl_msg *m)
{
    free(m->cred);
    free(m->error);
    json_decref(m->body);
    memset(m, 0, sizeof(*m));
}

int sl_msg_decode(const void *buf, size_t len, struct sl_msg *m, int *rc, sl_error_t *err)
{
    return sl_msg_decode_max(buf, len, SL_MSG_MAX_BYTES, m, rc, err);
}

int sl_msg_decode_max(const void *buf, size_t len, size_t max, struct sl_msg *m, int *rc,
                      sl_error_t *err)
{
    json_error_t jerr;
    json_t *env = NULL, *v, *t, *o;
    const char *tname;
    const struct sl_msg_info *info;

    memset(m, 0, sizeof(*m));
    *rc = SL_E_PROTOCOL;
    if (len > max) {
        errprintf(err, "message too large (%zu bytes, limit %zu)", len, max);
        goto error;
    }
    env = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
    if (!env) {
        errprintf(err, "malformed message: %s at byte %d", jerr.text, jerr.position);
        goto error;
    }
    if (!json_is_object(env)) {
        errprintf(err, "malformed message: not a JSON object");
        goto error;
    }
    /* seq/re first, so even a rejected request can be answered. */
    if ((o = json_object_get(env, "seq")) && json_is_integer(o))
        m->seq = (uint64_t)json_integer_value(o);
    if ((o = json_object_get(env, "re")) && json_is_integer(o))
        m->re = (uint64_t)json_integer_value(o);
    v = json_object_get(env, "v");
    if (!json_is_integer(v)) {
        errprintf(err, "malformed message: missing protocol version \"v\"");
        goto error;
    }
    m->version = (int)json_integer_value(v);
    if (m->version != SL_PROTO_VERSION) {
        *rc = SL_E_PROTOCOL_VERSION;
        errprintf(err, "protocol version %d not supported (this side speaks %d)", m->version,
                  SL_PROTO_VERSION);
        goto error;
    }
    t = json_object_get(env, "type");
    if (!json_is_string(t)) {
        errprintf(err, "malformed message: missing \"type\"");
        goto error;
    }
    tname = json_string_value(t);
    if ((m->type = sl_msg_type_from_name(tname)) < 0) {
        *rc = SL_E_UNKNOWN_TYPE;
        errprintf(err, "unknown message type \"%.64s\"", tname);
        goto error;
    }
    info = sl_msg_info(m->type);
    if (m->version < info->min_version) {
        *rc = SL_E_PROTOCOL_VERSION;
        errprintf(err, "%s needs protocol version %d", info->name, info->min_version);
        goto error;
    }
    if (m->type == SL_MSG_REPLY) {
        o = json_object_get(env, "rc");
        if (!json_is_integer(o)) {
            errprintf(err, "malformed reply: missing \"rc\"");
            goto error;
        }
        m->rc = (int)json_integer_value(o);
        if ((o = json_object_get(env, "error")) && json_is_string(o))
            m->error = strdup(json_string_value(o));
        o = json_object_get(env, "body");
        if (o && !json_is_object(o)) {
            errprintf(err, "malformed reply: \"body\" is not an object");
            goto error;
        }
        m->body = o ? json_incref(o) : json_object();
    } else if ((o = json_object_get(env, "kid"))) {
        /* signed with a key: the MAC is checked by the key's holder */
        const char *kid = json_string_value(o);
        json_t *ctr = json_object_get(env, "ctr"), *body = json_object_get(env, "body");
        *rc = SL_E_AUTH;
        if (!kid || strlen(kid) != sizeof(m->kid) - 1) {
            errprintf(err, "%s request with a malformed key id", info->name);
            goto error;
        }
        if (!json_is_integer(ctr) || json_integer_value(ctr) <= 0) {
            errprintf(err, "%s request with a key but no counter", info->name);
            goto error;
        }
        if (!json_is_string(json_object_get(env, "mac"))) {
            errprintf(err, "%s request with a key but no MAC", info->name);
            goto error;
        }
        if (!json_is_object(body)) {
            *rc = SL_E_PROTOCOL;
            errprintf(err, "malformed %s body: not a JSON object", info->name);
            goto error;
        }
        memcpy(m->kid, kid, sizeof(m->kid));
        m->ctr = (uint64_t)json_integer_value(ctr);
        m->body = json_incref(body);
        m->keyed = true;
    } else if (json_is_true(json_object_get(env, "peer"))) {
        /* vouched for by the connection: the receiver decides (loop.c) */
        json_t *body = json_object_get(env, "body");
        if (!json_is_object(body)) {
            *rc = SL_E_PROTOCOL;
            errprintf(err, "malformed %s body: not a JSON object", info->name);
            goto error;
        }
        m->body = json_incref(body);
        m->peer = true;
    } else {
        o = json_object_get(env, "cred");
        if (!json_is_string(o)) {
            *rc = SL_E_AUTH;
            errprintf(err, "%s request without a credential", info->name);
            goto error;
        }
        if (!(m->cred = strdup(json_string_value(o)))) {
            errprintf(err, "out of memory");
            goto error;
        }
    }
    json_decref(env);
    *rc = 0;
    return 0;
error:
    json_decref(env);
    {
        uint64_t seq = m->seq, re = m->re;
        int type = m->type;
        sl_msg_clear(m);
        m->seq = seq;
        m->re = re;
        m->type = type;
    }
    errno = EPROTO;
    return -1;
}

int sl_msg_verify(struct sl_auth *auth, struct sl_msg *m, int *rc, sl_error_t *err)
{
    void *payload = NULL;
    size_t plen = 0;
    json_error_t jerr;
    json_t *body;

    if (!m->cred) {
        *rc = SL_E_AUTH;
        return errprintf(err, "request without a credential");
    }
    if (sl_auth_decode(auth, m->cred, &payload, &plen, &m->uid, &m->gid, err) < 0) {
        *rc = SL_E_AUTH;
        return -1;
    }
    body = json_loadb(payload, plen, JSON_REJECT_DUPLICATES, &jerr);
    free(payload);
    if (!body || !json_is_object(body)) {
        json_decref(body);
        *rc = SL_E_PROTOCOL;
        errno = EPROTO;
        return errprintf(err, "malformed %s body: %s", sl_msg_info(m->type)->name,
                         body ? "not a JSON object" : jerr.text);
    }
    free(m->cred);
    m->cred = NULL;
    m->body = body;
    m->verified = true;
    *rc = 0;
    return 0;
}
