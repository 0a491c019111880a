/* proto.h - slurmish wire protocol: versioned, table-driven messages.
 *
 * A message is one ZeroMQ frame holding a JSON object (the envelope):
 *
 *   request: {"v":1, "type":"submit_job", "seq":7, "cred":"MUNGE:..."}
 *            The body (a JSON object) is the munge credential's payload,
 *            so it is signed, and the sender's uid/gid come from munge.
 *            Or, signed with a key the ctld issued (keyed.h):
 *            {"v":1, "type":..., "seq":7, "kid":"...", "ctr":7,
 *             "body":{...}, "mac":"..."}
 *            Or, on the ctld's Unix socket only, vouched for by the
 *            kernel (SO_PEERCRED gives the sender's uid/gid):
 *            {"v":1, "type":..., "seq":7, "peer":true, "body":{...}}
 *   reply:   {"v":1, "type":"reply", "re":7, "rc":0, "error":"...",
 *            "body":{...}}   (replies travel on the connection the
 *            request came in on, so they carry no credential)
 *
 * Decoding is split so it can be fuzzed without munged:
 *   sl_msg_decode()  parses and checks the envelope (pure);
 *   sl_msg_verify()  decodes the credential and parses the body.
 *
 * doc/protocol.md lists every message type and its body fields.
 */
#ifndef SL_PROTO_H
#define SL_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "auth/auth.h"
#include "proto/errors.h"
#include "util/error.h"

#define SL_PROTO_VERSION 1
#define SL_MSG_MAX_BYTES (4 * 1024 * 1024) /* larger requests are refused */
/* Replies to queries grow with the queue (squeue over 100k jobs): a client
 * accepts far larger ones from the ctld it asked. */
#define SL_REPLY_MAX_BYTES ((size_t)1 << 30)

/* Message types.  Add a type here and one row in proto.c's table. */
enum sl_msg_type {
    SL_MSG_REPLY = 0,
    /* client -> ctld */
    SL_MSG_PING,
    SL_MSG_SUBMIT_JOB,
    SL_MSG_CANCEL_JOB,
    SL_MSG_QUERY_JOBS,
    SL_MSG_QUERY_NODES,
    SL_MSG_QUERY_PARTITIONS,
    SL_MSG_UPDATE_JOB,
    SL_MSG_UPDATE_NODE,
    SL_MSG_QUERY_ACCT,
    SL_MSG_QUERY_CONFIG,
    /* node daemon -> ctld */
    SL_MSG_NODE_REGISTER,
    SL_MSG_NODE_HEARTBEAT,
    SL_MSG_JOB_COMPLETE,
    /* ctld -> node daemon */
    SL_MSG_LAUNCH_JOB,
    SL_MSG_SIGNAL_JOB,
    /* interactive work (appended: the numbering is the wire format) */
    SL_MSG_ALLOC_RELEASE, /* client -> ctld: salloc/srun's allocation ends */
    SL_MSG_STEP_CREATE,   /* client -> ctld: a step in a running job, with credentials */
    SL_MSG_STEP_ATTACH,   /* client -> ctld: credentials to reattach to a step */
    SL_MSG_STEP_COMPLETE, /* node daemon -> ctld: a step ended on that node */
    SL_MSG_SESSION_WARN,  /* ctld -> node daemon: write a notice to a job's sessions */
    SL_MSG_STEP_LAUNCH,   /* client -> node daemon: start a step's tasks */
    SL_MSG_STEP_CONNECT,  /* client -> node daemon: attach to a running step */
    /* live configuration */
    SL_MSG_RECONFIGURE,       /* reload the file, or check a text against the running one */
    SL_MSG_UPDATE_PARTITION,  /* scontrol update|create|delete PartitionName=..., written back */
    SL_MSG_QUERY_EVENTS,      /* the audit log */
    SL_MSG_COST_REPORT,       /* sreport cost: spend and use over a period */
    SL_MSG_JOB_SCRIPT,        /* scontrol write batch_script: owner or admin */
    SL_MSG_REQUEST_KEY,       /* a key to sign the next requests with (keyed.h) */
    SL_MSG_TYPE_COUNT
};

/* Who may send a message type (checked by the receiver's dispatcher). */
enum sl_msg_role {
    SL_ROLE_NONE = 0, /* replies */
    SL_ROLE_USER,     /* any authenticated user */
    SL_ROLE_DAEMON,   /* root or the configured slurm user only */
};

struct sl_msg_info {
    int type;
    const char *name;
    int role;
    int min_version;
};

const struct sl_msg_info *sl_msg_info(int type); /* NULL if out of range */
int sl_msg_type_from_name(const char *name);     /* -1 if unknown */

struct sl_msg {
    int version;
    int type;
    uint64_t seq; /* request: sender's sequence number */
    uint64_t re;  /* reply: seq of the request answered */
    char *cred;   /* request: credential, until verified */
    bool keyed;   /* request: signed with a key (kid, ctr; body set, MAC unchecked) */
    bool peer;    /* request: to be vouched for by its connection (body set, uid unset) */
    char kid[17];
    uint64_t ctr;
    uid_t uid;    /* request: from the credential, after sl_msg_verify() */
    gid_t gid;
    bool verified;
    int rc;       /* reply */
    char *error;  /* reply, may be NULL */
    json_t *body; /* always an object after a successful decode/verify */
};

/* Encode a signed request; returns malloc'd bytes, *len set. body is
 * borrowed (not stolen); NULL means {}. */
char *sl_msg_encode_request(struct sl_auth *auth, int type, uint64_t seq, json_t *body,
                            size_t *len, sl_error_t *err);

/* Encode a request with no credential, for a connection whose peer the
 * receiver knows from the kernel (a Unix socket): no munged round trip at
 * either end.  Anywhere else the receiver refuses it. */
char *sl_msg_encode_request_peer(int type, uint64_t seq, json_t *body, size_t *len,
                                 sl_error_t *err);

/* Encode a reply.  error may be NULL (then sl_strerror(rc) is used when
 * rc != 0).  body borrowed, NULL means {}. */
char *sl_msg_encode_reply(uint64_t re, int rc, const char *error, json_t *body, size_t *len);

/* A successful reply around a body already written as JSON text (the
 * bulk job list, pre-rendered without a jansson tree): writes the
 * envelope's head, '{"v":1,...,"body":', into out and returns its length
 * (at most SL_MSG_REPLY_HEAD_MAX).  The caller appends the body and '}'. */
#define SL_MSG_REPLY_HEAD_MAX 96
size_t sl_msg_reply_head(uint64_t re, char *out, size_t size);
/* The same, whole: returns malloc'd bytes of the reply with body_json
 * (an object's text, not checked) as its body. */
char *sl_msg_encode_reply_raw(uint64_t re, const char *body_json, size_t body_len, size_t *len);

/* Parse an envelope.  On failure returns -1, fills err, and sets *rc to
 * the SL_E_* code to reply with; m->seq is set when it could be read. */
int sl_msg_decode(const void *buf, size_t len, struct sl_msg *m, int *rc, sl_error_t *err);
/* The same with another size limit (clients reading replies). */
int sl_msg_decode_max(const void *buf, size_t len, size_t max, struct sl_msg *m, int *rc,
                      sl_error_t *err);

/* Verify a decoded request's credential and parse its body (a keyed
 * request is checked by whoever holds its key instead). */
int sl_msg_verify(struct sl_auth *auth, struct sl_msg *m, int *rc, sl_error_t *err);

void sl_msg_clear(struct sl_msg *m);

#endif
