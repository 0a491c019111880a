/* test_proto.c - message envelopes: round trips, every reject with its
 * code, and signed requests through a real munged started for the test. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/keyed.h"
#include "proto/proto.h"

#ifndef MUNGED
#define MUNGED "/usr/sbin/munged"
#endif

static int decode_rc(const char *text)
{
    struct sl_msg m;
    sl_error_t err;
    int rc = 0;
    int r = sl_msg_decode(text, strlen(text), &m, &rc, &err);
    sl_msg_clear(&m);
    return r < 0 ? rc : 0;
}

START_TEST(test_table)
{
    for (int t = 0; t < SL_MSG_TYPE_COUNT; t++) {
        const struct sl_msg_info *i = sl_msg_info(t);
        ck_assert_ptr_nonnull(i);
        ck_assert_int_eq(i->type, t);
        ck_assert_int_eq(sl_msg_type_from_name(i->name), t);
    }
    ck_assert_ptr_null(sl_msg_info(SL_MSG_TYPE_COUNT));
    ck_assert_ptr_null(sl_msg_info(-1));
    ck_assert_int_eq(sl_msg_type_from_name("nope"), -1);
    ck_assert_int_eq(sl_msg_type_from_name(""), -1);
    ck_assert_int_eq(sl_msg_type_from_name("PING"), -1); /* names are case-sensitive */

    /* every row, by its wire name (doc/protocol.md) and who may send it */
    static const struct {
        int type;
        const char *name;
        int role;
    } want[] = {
        {SL_MSG_REPLY, "reply", SL_ROLE_NONE},
        {SL_MSG_PING, "ping", SL_ROLE_USER},
        {SL_MSG_SUBMIT_JOB, "submit_job", SL_ROLE_USER},
        {SL_MSG_CANCEL_JOB, "cancel_job", SL_ROLE_USER},
        {SL_MSG_QUERY_JOBS, "query_jobs", SL_ROLE_USER},
        {SL_MSG_QUERY_NODES, "query_nodes", SL_ROLE_USER},
        {SL_MSG_QUERY_PARTITIONS, "query_partitions", SL_ROLE_USER},
        {SL_MSG_UPDATE_JOB, "update_job", SL_ROLE_USER},
        {SL_MSG_UPDATE_NODE, "update_node", SL_ROLE_USER},
        {SL_MSG_QUERY_ACCT, "query_acct", SL_ROLE_USER},
        {SL_MSG_QUERY_CONFIG, "query_config", SL_ROLE_USER},
        {SL_MSG_NODE_REGISTER, "node_register", SL_ROLE_DAEMON},
        {SL_MSG_NODE_HEARTBEAT, "node_heartbeat", SL_ROLE_DAEMON},
        {SL_MSG_JOB_COMPLETE, "job_complete", SL_ROLE_DAEMON},
        {SL_MSG_LAUNCH_JOB, "launch_job", SL_ROLE_DAEMON},
        {SL_MSG_SIGNAL_JOB, "signal_job", SL_ROLE_DAEMON},
        {SL_MSG_ALLOC_RELEASE, "alloc_release", SL_ROLE_USER},
        {SL_MSG_STEP_CREATE, "step_create", SL_ROLE_USER},
        {SL_MSG_STEP_ATTACH, "step_attach", SL_ROLE_USER},
        {SL_MSG_STEP_COMPLETE, "step_complete", SL_ROLE_DAEMON},
        {SL_MSG_SESSION_WARN, "session_warn", SL_ROLE_DAEMON},
        {SL_MSG_STEP_LAUNCH, "step_launch", SL_ROLE_USER},
        {SL_MSG_STEP_CONNECT, "step_connect", SL_ROLE_USER},
        {SL_MSG_RECONFIGURE, "reconfigure", SL_ROLE_USER},
        {SL_MSG_UPDATE_PARTITION, "update_partition", SL_ROLE_USER},
        {SL_MSG_QUERY_EVENTS, "query_events", SL_ROLE_USER},
        {SL_MSG_COST_REPORT, "cost_report", SL_ROLE_USER},
        {SL_MSG_JOB_SCRIPT, "job_script", SL_ROLE_USER},
        {SL_MSG_REQUEST_KEY, "request_key", SL_ROLE_USER},
    };
    ck_assert_int_eq(sizeof(want) / sizeof(want[0]), SL_MSG_TYPE_COUNT);
    for (size_t k = 0; k < sizeof(want) / sizeof(want[0]); k++) {
        const struct sl_msg_info *i = sl_msg_info(want[k].type);
        ck_assert_str_eq(i->name, want[k].name);
        ck_assert_int_eq(i->role, want[k].role);
        ck_assert_int_eq(i->min_version, 1);
        ck_assert_int_eq(sl_msg_type_from_name(want[k].name), want[k].type);
    }
}
END_TEST

START_TEST(test_reply_round_trip)
{
    json_t *body = json_pack("{s:i, s:s}", "job_id", 42, "x", "y");
    size_t len;
    char *buf = sl_msg_encode_reply(7, 0, NULL, body, &len);
    struct sl_msg m;
    sl_error_t err;
    int rc;
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(m.type, SL_MSG_REPLY);
    ck_assert_int_eq(m.re, 7);
    ck_assert_int_eq(m.rc, 0);
    ck_assert(json_equal(m.body, body));
    sl_msg_clear(&m);
    free(buf);
    buf = sl_msg_encode_reply(9, SL_E_ACCESS_DENIED, NULL, NULL, &len);
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(m.rc, SL_E_ACCESS_DENIED);
    ck_assert_str_eq(m.error, "Access/permission denied");
    ck_assert(json_is_object(m.body));
    ck_assert_int_eq(json_object_size(m.body), 0);
    sl_msg_clear(&m);
    free(buf);
    /* explicit error text, a body, and a seq beyond 32 bits */
    buf = sl_msg_encode_reply(5000000000ULL, SL_E_INVALID_PARTITION, "no partition \"x\"", body,
                              &len);
    ck_assert_ptr_nonnull(buf);
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(rc, 0);
    ck_assert_int_eq(m.version, SL_PROTO_VERSION);
    ck_assert_int_eq(m.type, SL_MSG_REPLY);
    ck_assert(m.re == 5000000000ULL);
    ck_assert_int_eq(m.rc, SL_E_INVALID_PARTITION);
    ck_assert_str_eq(m.error, "no partition \"x\"");
    ck_assert(json_equal(m.body, body));
    ck_assert_ptr_null(m.cred);
    ck_assert(!m.verified);
    sl_msg_clear(&m);
    free(buf);
    /* rc 0 carries no error text; a missing body decodes as {} */
    buf = sl_msg_encode_reply(1, 0, "ignored", NULL, &len);
    ck_assert_ptr_null(strstr(buf, "ignored"));
    free(buf);
    const char *t = "{\"v\":1,\"type\":\"reply\",\"re\":3,\"rc\":1004}";
    ck_assert_int_eq(sl_msg_decode(t, strlen(t), &m, &rc, &err), 0);
    ck_assert_int_eq(m.rc, SL_E_AUTH);
    ck_assert_ptr_null(m.error);
    ck_assert(json_is_object(m.body));
    sl_msg_clear(&m);
    json_decref(body);
}
END_TEST

START_TEST(test_rejects)
{
    ck_assert_int_eq(decode_rc("this is not json"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("[1,2,3]"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"type\":\"ping\",\"cred\":\"x\"}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":2,\"type\":\"ping\",\"cred\":\"x\"}"),
                     SL_E_PROTOCOL_VERSION);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"launch_rockets\",\"cred\":\"x\"}"),
                     SL_E_UNKNOWN_TYPE);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"submit_job\",\"seq\":3}"), SL_E_AUTH);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"reply\",\"re\":1}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"reply\",\"re\":1,\"rc\":0,\"body\":[]}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"v\":1,\"type\":\"ping\",\"cred\":\"x\"}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"cred\":\"x\"} trailing"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc(""), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("\"ping\""), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":\"1\",\"type\":\"ping\",\"cred\":\"x\"}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":0,\"type\":\"ping\",\"cred\":\"x\"}"),
                     SL_E_PROTOCOL_VERSION);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"cred\":\"x\"}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":7,\"cred\":\"x\"}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"cred\":5}"), SL_E_AUTH);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"reply\",\"re\":1,\"rc\":\"0\"}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"reply\",\"re\":1,\"rc\":0,\"body\":\"x\"}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"cred\":\"x\",\"cred\":\"y\"}"),
                     SL_E_PROTOCOL);
    /* a well-formed request decodes (its credential is checked later) */
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,\"cred\":\"x\"}"), 0);
    size_t big = SL_MSG_MAX_BYTES + 1;
    char *buf = malloc(big);
    memset(buf, ' ', big);
    struct sl_msg m;
    sl_error_t err;
    int rc = 0;
    ck_assert_int_eq(sl_msg_decode(buf, big, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_PROTOCOL);
    ck_assert_str_eq(err.text, "message too large (4194305 bytes, limit 4194304)");
    /* exactly the limit is still read: a valid envelope padded with spaces */
    const char *env = "{\"v\":1,\"type\":\"ping\",\"seq\":2,\"cred\":\"x\"}";
    memcpy(buf, env, strlen(env));
    ck_assert_int_eq(sl_msg_decode(buf, SL_MSG_MAX_BYTES, &m, &rc, &err), 0);
    ck_assert_int_eq(m.seq, 2);
    ck_assert_str_eq(m.cred, "x");
    sl_msg_clear(&m);
    /* a reply past the request limit is read by a client, up to its own limit */
    const char *rep = "{\"v\":1,\"type\":\"reply\",\"re\":3,\"rc\":0,\"body\":{}}";
    memset(buf, ' ', big);
    memcpy(buf, rep, strlen(rep));
    ck_assert_int_eq(sl_msg_decode(buf, big, &m, &rc, &err), -1);
    ck_assert_int_eq(sl_msg_decode_max(buf, big, SL_REPLY_MAX_BYTES, &m, &rc, &err), 0);
    ck_assert_int_eq(m.re, 3);
    sl_msg_clear(&m);
    ck_assert_int_eq(sl_msg_decode_max(buf, big, 1000, &m, &rc, &err), -1);
    ck_assert_str_eq(err.text, "message too large (4194305 bytes, limit 1000)");
    free(buf);
    /* error texts name the problem */
    const char *u = "{\"v\":1,\"type\":\"launch_rockets\",\"seq\":4,\"cred\":\"x\"}";
    ck_assert_int_eq(sl_msg_decode(u, strlen(u), &m, &rc, &err), -1);
    ck_assert_str_eq(err.text, "unknown message type \"launch_rockets\"");
    ck_assert_int_eq(m.seq, 4);
    sl_msg_clear(&m);
    u = "{\"v\":9,\"type\":\"ping\",\"seq\":8}";
    ck_assert_int_eq(sl_msg_decode(u, strlen(u), &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_PROTOCOL_VERSION);
    ck_assert_str_eq(err.text, "protocol version 9 not supported (this side speaks 1)");
    ck_assert_int_eq(m.seq, 8);
    sl_msg_clear(&m);
    u = "{\"v\":1,\"type\":\"reply\",\"re\":12}";
    ck_assert_int_eq(sl_msg_decode(u, strlen(u), &m, &rc, &err), -1);
    ck_assert_str_eq(err.text, "malformed reply: missing \"rc\"");
    ck_assert_int_eq(m.re, 12);
    sl_msg_clear(&m);
    /* a request cannot be encoded as a reply or an unknown type (checked before munge) */
    size_t len;
    ck_assert_ptr_null(sl_msg_encode_request(NULL, SL_MSG_REPLY, 1, NULL, &len, &err));
    ck_assert_ptr_null(sl_msg_encode_request(NULL, SL_MSG_TYPE_COUNT, 1, NULL, &len, &err));
    char want[64];
    snprintf(want, sizeof(want), "cannot encode request of type %d", SL_MSG_TYPE_COUNT);
    ck_assert_str_eq(err.text, want);
    /* verify refuses a message with no credential */
    u = "{\"v\":1,\"type\":\"reply\",\"re\":1,\"rc\":0}";
    ck_assert_int_eq(sl_msg_decode(u, strlen(u), &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(NULL, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);
    /* the sender's seq survives a reject, so the error can be answered */
    const char *t = "{\"v\":1,\"type\":\"submit_job\",\"seq\":77}";
    ck_assert_int_eq(sl_msg_decode(t, strlen(t), &m, &rc, &err), -1);
    ck_assert_int_eq(m.seq, 77);
    sl_msg_clear(&m);
}
END_TEST

/* ---- private munged instances ----
 *
 * Two munged daemons, each with its own random key, in mkdtemp()
 * directories: "mdir" signs and verifies, "odir" stands for a host with a
 * different key.  Started by the fixture, stopped by PID in teardown. */

static char mdir[64], odir[64];
static pid_t munged_pid = -1, other_pid = -1;

static void write_key(const char *path)
{
    unsigned char key[1024];
    size_t got = 0;
    while (got < sizeof(key)) {
        ssize_t n = getrandom(key + got, sizeof(key) - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        ck_assert_msg(n > 0, "getrandom: %s", strerror(errno));
        got += (size_t)n;
    }
    /* created 0600 from the start: munged refuses a key others can read */
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
    ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
    ck_assert_int_eq(write(fd, key, sizeof(key)), (ssize_t)sizeof(key));
    ck_assert_int_eq(fchmod(fd, 0600), 0);
    ck_assert_int_eq(close(fd), 0);
}

static pid_t start_munged(const char *dir)
{
    char key[128], cmd[1024], pidf[128], sock[128];
    FILE *fp;
    snprintf(key, sizeof(key), "%s/munge.key", dir);
    write_key(key);
    snprintf(pidf, sizeof(pidf), "%s/munged.pid", dir);
    snprintf(sock, sizeof(sock), "%s/munge.sock", dir);
    snprintf(cmd, sizeof(cmd),
             "%s --force --socket=%s --key-file=%s --pid-file=%s "
             "--log-file=%s/munged.log --seed-file=%s/munged.seed",
             MUNGED, sock, key, pidf, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    /* munged daemonizes: wait for its socket, then for a pid file whose
     * process really is this munged (its command line names our socket) */
    for (int i = 0; i < 250; i++) {
        int pid = 0;
        if (access(sock, F_OK) == 0 && (fp = fopen(pidf, "r"))) {
            if (fscanf(fp, "%d", &pid) != 1)
                pid = 0;
            fclose(fp);
        }
        if (pid > 0) {
            char path[64], cmdline[2048] = "";
            snprintf(path, sizeof(path), "/proc/%d/cmdline", pid);
            FILE *cf = fopen(path, "r");
            size_t n = cf ? fread(cmdline, 1, sizeof(cmdline) - 1, cf) : 0;
            if (cf)
                fclose(cf);
            for (size_t k = 0; k < n; k++)
                if (!cmdline[k])
                    cmdline[k] = ' ';
            if (strstr(cmdline, sock))
                return pid;
        }
        usleep(20000);
    }
    ck_abort_msg("munged did not start in %s", dir);
    return -1;
}

/* Gone, or a zombie (its parent is init, which may reap it late). */
static bool process_gone(pid_t pid)
{
    char path[64], st[512] = "";
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    FILE *sf = fopen(path, "r");
    if (!sf)
        return true;
    size_t n = fread(st, 1, sizeof(st) - 1, sf);
    fclose(sf);
    st[n] = 0;
    const char *rp = strrchr(st, ')');
    return rp && rp[1] == ' ' && rp[2] == 'Z';
}

static void stop_munged(pid_t *pid, char *dir)
{
    bool gone = true;
    if (*pid > 0) {
        kill(*pid, SIGTERM);
        gone = false;
        for (int i = 0; i < 500 && !gone; i++) {
            gone = process_gone(*pid);
            if (!gone)
                usleep(10000);
        }
        if (!gone)
            fprintf(stderr, "munged %d in %s did not stop on SIGTERM\n", (int)*pid, dir);
        *pid = -1;
    }
    if (dir[0]) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "cannot remove %s\n", dir);
        dir[0] = 0;
    }
    ck_assert_msg(gone, "munged did not stop");
}

static void setup(void)
{
    strcpy(mdir, "/tmp/slurmish-unit-XXXXXX");
    strcpy(odir, "/tmp/slurmish-unit2-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(mdir));
    ck_assert_ptr_nonnull(mkdtemp(odir));
    munged_pid = start_munged(mdir);
    other_pid = start_munged(odir);
}

static void teardown(void)
{
    stop_munged(&other_pid, odir);
    stop_munged(&munged_pid, mdir);
}

static struct sl_auth *auth_for(const char *dir)
{
    char sock[128];
    sl_error_t err;
    snprintf(sock, sizeof(sock), "%s/munge.sock", dir);
    struct sl_auth *a = sl_auth_create(sock, &err);
    ck_assert_msg(a != NULL, "%s", err.text);
    return a;
}

START_TEST(test_signed_round_trip)
{
    sl_error_t err;
    struct sl_auth *auth = auth_for(mdir);
    json_t *body = json_pack("{s:s, s:i, s:[s,s]}", "script", "#!/bin/sh\ntrue\n", "nodes", 2,
                             "argv", "a", "b c");
    size_t len;
    char *buf = sl_msg_encode_request(auth, SL_MSG_SUBMIT_JOB, 5, body, &len, &err);
    ck_assert_msg(buf != NULL, "%s", err.text);
    ck_assert_uint_eq(len, strlen(buf));
    /* the body travels only inside the credential */
    ck_assert_ptr_null(strstr(buf, "script"));
    struct sl_msg m;
    int rc;
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(m.type, SL_MSG_SUBMIT_JOB);
    ck_assert_int_eq(m.seq, 5);
    ck_assert_ptr_nonnull(m.cred);
    ck_assert_ptr_null(m.body);
    ck_assert(!m.verified);
    ck_assert_msg(sl_msg_verify(auth, &m, &rc, &err) == 0, "%s", err.text);
    ck_assert_int_eq(rc, 0);
    ck_assert(m.verified);
    ck_assert_int_eq(m.uid, getuid());
    ck_assert_int_eq(m.gid, getgid());
    ck_assert(json_equal(m.body, body));
    ck_assert_ptr_null(m.cred);
    sl_msg_clear(&m);
    /* the same credential again: munge's replay detection refuses it */
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    ck_assert_msg(strstr(err.text, "munge decode failed") &&
                      strstr(err.text, "Replayed credential"),
                  "%s", err.text);
    ck_assert(!m.verified);
    ck_assert_ptr_null(m.body);
    sl_msg_clear(&m);
    free(buf);

    /* NULL body is sent as {} */
    buf = sl_msg_encode_request(auth, SL_MSG_PING, 6, NULL, &len, &err);
    ck_assert_msg(buf != NULL, "%s", err.text);
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), 0);
    ck_assert_int_eq(m.type, SL_MSG_PING);
    ck_assert(json_is_object(m.body));
    ck_assert_int_eq(json_object_size(m.body), 0);
    sl_msg_clear(&m);
    free(buf);
    sl_auth_destroy(auth);
    json_decref(body);
}
END_TEST

START_TEST(test_foreign_and_forged_credentials)
{
    sl_error_t err;
    struct sl_auth *auth = auth_for(mdir), *other = auth_for(odir);
    size_t len, tlen;
    struct sl_msg m;
    int rc;

    /* encode everything first: a refused decode spoils the context for
     * encoding (see the BUG test below) */
    char *buf = sl_msg_encode_request(other, SL_MSG_PING, 6, NULL, &len, &err);
    ck_assert_msg(buf != NULL, "%s", err.text);
    char *tampered = sl_msg_encode_request(auth, SL_MSG_CANCEL_JOB, 7, NULL, &tlen, &err);
    ck_assert_msg(tampered != NULL, "%s", err.text);

    /* signed with another munge key: refused */
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    ck_assert(!m.verified);
    sl_msg_clear(&m);
    /* ...but the other side's munged takes it (so the refusal is the key) */
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_msg(sl_msg_verify(other, &m, &rc, &err) == 0, "%s", err.text);
    sl_msg_clear(&m);
    free(buf);

    /* one character of a real credential changed: refused */
    char *c = strstr(tampered, "MUNGE:");
    ck_assert_ptr_nonnull(c);
    c += 20;
    *c = (*c == 'A') ? 'B' : 'A';
    ck_assert_int_eq(sl_msg_decode(tampered, tlen, &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);
    free(tampered);

    /* a credential that is not munge's: refused */
    const char *t = "{\"v\":1,\"type\":\"ping\",\"seq\":1,\"cred\":\"MUNGE:bogus:\"}";
    ck_assert_int_eq(sl_msg_decode(t, strlen(t), &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);

    sl_auth_destroy(other);
    sl_auth_destroy(auth);
}
END_TEST

/* BUG (lib/auth/munge.c): one munge_ctx_t serves both munge_encode() and
 * munge_decode(), but munge_decode() writes the decoded credential's
 * cipher/MAC/zip/TTL into the context, and a failed decode leaves them
 * invalid.  After any peer sends a garbage credential (or one signed
 * with another key), the next encode on
 * that sl_auth fails ("munge encode failed: Invalid MAC type 0").  The
 * ctld verifies requests and encodes launch_job/signal_job with the same
 * c->auth (slurmish-ctld/loop.c), so a user can make its next launch
 * fail.  Fix: separate encode and decode contexts in struct sl_auth.
 * Expected to fail until fixed. */
START_TEST(test_encode_after_bad_credential_regression)
{
    sl_error_t err;
    struct sl_auth *auth = auth_for(mdir);
    struct sl_msg m;
    int rc;
    size_t len;
    const char *t = "{\"v\":1,\"type\":\"ping\",\"seq\":1,\"cred\":\"MUNGE:bogus:\"}";
    ck_assert_int_eq(sl_msg_decode(t, strlen(t), &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    sl_msg_clear(&m);
    char *buf = sl_msg_encode_request(auth, SL_MSG_LAUNCH_JOB, 2, NULL, &len, &err);
    ck_assert_msg(buf != NULL, "encode after a refused credential: %s", err.text);
    free(buf);
    sl_auth_destroy(auth);
}
END_TEST

/* Requests signed with a key (keyed.h): the MAC covers every byte before
 * it, the counter grows, and a keyed request never passes as munge-signed. */
START_TEST(test_keyed)
{
    struct sl_sign_key key, other;
    sl_error_t err;
    struct sl_msg m;
    size_t len;
    int rc;

    sl_key_generate(&key, 7);
    sl_key_generate(&other, 7);
    ck_assert_int_eq(sl_key_slot(key.id), 7);
    ck_assert_str_ne(key.id, other.id);
    ck_assert_int_eq(sl_key_slot("0007"), -1);
    ck_assert_int_eq(sl_key_slot("0007ABCDEF012345"), -1);
    ck_assert_int_eq(sl_key_slot("ffff000000000000"), 0xffff);
    ck_assert_int_eq(sl_key_slot(NULL), -1);

    json_t *body = json_pack("{s:s, s:i}", "script", "#!/bin/sh\ntrue\n", "nodes", 2);
    char *buf = sl_msg_encode_keyed(&key, SL_MSG_SUBMIT_JOB, 9, body, &len, &err);
    ck_assert_msg(buf != NULL, "%s", err.text);
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert_uint_eq(key.ctr, 1);
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert(m.keyed && !m.verified);
    ck_assert_str_eq(m.kid, key.id);
    ck_assert_int_eq(m.ctr, 1);
    ck_assert_int_eq(m.seq, 9);
    ck_assert(json_equal(m.body, body));
    ck_assert_int_eq(sl_msg_check_mac(buf, len, key.secret, &err), 0);
    uint64_t last = 0;
    ck_assert_int_eq(sl_msg_check_keyed(&m, buf, len, key.secret, &last, &err), 0);
    ck_assert_uint_eq(last, 1);
    ck_assert_int_eq(sl_msg_check_keyed(&m, buf, len, key.secret, &last, &err), -1);
    ck_assert_msg(strstr(err.text, "replayed request"), "%s", err.text);
    ck_assert_int_eq(sl_msg_check_mac(buf, len, other.secret, &err), -1);
    ck_assert_msg(strstr(err.text, "bad MAC"), "%s", err.text);
    /* no munge credential: sl_msg_verify refuses it */
    ck_assert_int_eq(sl_msg_verify(NULL, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);
    /* every single byte altered, the MAC's own included, is caught */
    for (size_t i = 0; i < len; i++) {
        buf[i] ^= 0x01;
        ck_assert_msg(sl_msg_check_mac(buf, len, key.secret, &err) < 0, "byte %zu", i);
        buf[i] ^= 0x01;
    }
    ck_assert_int_eq(sl_msg_check_mac(buf, len - 1, key.secret, &err), -1);
    ck_assert_int_eq(sl_msg_check_mac(buf, 10, key.secret, &err), -1);
    free(buf);
    buf = sl_msg_encode_keyed(&key, SL_MSG_PING, 10, NULL, &len, &err);
    ck_assert_uint_eq(key.ctr, 2);
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(m.ctr, 2);
    ck_assert_int_eq(json_object_size(m.body), 0);
    sl_msg_clear(&m);
    free(buf);
    json_decref(body);

    /* malformed keyed envelopes */
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,\"kid\":\"12\","
                               "\"ctr\":1,\"body\":{},\"mac\":\"x\"}"),
                     SL_E_AUTH);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,"
                               "\"kid\":\"0001000000000000\",\"ctr\":0,\"body\":{},"
                               "\"mac\":\"x\"}"),
                     SL_E_AUTH);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,"
                               "\"kid\":\"0001000000000000\",\"ctr\":1,\"body\":{}}"),
                     SL_E_AUTH);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,"
                               "\"kid\":\"0001000000000000\",\"ctr\":1,\"body\":[],"
                               "\"mac\":\"x\"}"),
                     SL_E_PROTOCOL);
}
END_TEST

/* Requests vouched for by their connection (the ctld's Unix socket): the
 * body travels as is, the uid is left for the receiver to set, and such a
 * request never passes sl_msg_verify() as if it were munge-signed. */
START_TEST(test_peer_request)
{
    sl_error_t err;
    struct sl_msg m;
    size_t len;
    int rc;

    json_t *body = json_pack("{s:s, s:b}", "script", "#!/bin/sh\ntrue\n", "hold", 1);
    char *buf = sl_msg_encode_request_peer(SL_MSG_SUBMIT_JOB, 12, body, &len, &err);
    ck_assert_msg(buf != NULL, "%s", err.text);
    ck_assert_uint_eq(len, strlen(buf));
    ck_assert_ptr_null(strstr(buf, "cred"));
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert(m.peer && !m.keyed && !m.verified);
    ck_assert_int_eq(m.seq, 12);
    ck_assert_int_eq(m.type, SL_MSG_SUBMIT_JOB);
    ck_assert(json_equal(m.body, body));
    ck_assert_int_eq(sl_msg_verify(NULL, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);
    free(buf);
    json_decref(body);
    /* NULL body: {} */
    buf = sl_msg_encode_request_peer(SL_MSG_PING, 13, NULL, &len, &err);
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert(m.peer);
    ck_assert_int_eq(json_object_size(m.body), 0);
    sl_msg_clear(&m);
    free(buf);
    /* malformed: a body that is not an object; "peer" not true is a
     * request without a credential */
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,\"peer\":true,"
                               "\"body\":[]}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,\"peer\":true}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"seq\":1,\"peer\":1,"
                               "\"body\":{}}"),
                     SL_E_AUTH);
}
END_TEST

/* The grant: only a credential from root (or the daemon uid) carrying our
 * nonce gives a key, once. */
START_TEST(test_key_grant)
{
    struct sl_auth *auth = auth_for(mdir), *other = auth_for(odir);
    struct sl_sign_key key, got;
    char nonce[SL_KEY_NONCE_LEN + 1];
    sl_error_t err;

    json_t *req = sl_key_request_body(nonce);
    ck_assert_uint_eq(strlen(nonce), SL_KEY_NONCE_LEN);
    ck_assert_str_eq(json_string_value(json_object_get(req, "nonce")), nonce);
    json_decref(req);
    sl_key_generate(&key, 3);
    char *grant = sl_key_grant(auth, &key, nonce, getuid(), &err);
    ck_assert_msg(grant != NULL, "%s", err.text);
    json_t *reply = json_pack("{s:s, s:s}", "kid", key.id, "grant", grant);
    /* decoded with another munge key: refused */
    ck_assert_int_eq(sl_key_accept(other, reply, nonce, 0, &got, &err), -1);
    /* another request's nonce: refused (and the credential is now spent) */
    ck_assert_int_eq(sl_key_accept(auth, reply, "0123456789abcdef0123456789abcdef", 0, &got, &err),
                     -1);
    ck_assert_msg(strstr(err.text, "another request"), "%s", err.text);
    ck_assert_int_eq(sl_key_accept(auth, reply, nonce, 0, &got, &err), -1);
    ck_assert_msg(strstr(err.text, "Replayed"), "%s", err.text);
    json_decref(reply);
    free(grant);

    grant = sl_key_grant(auth, &key, nonce, getuid(), &err);
    reply = json_pack("{s:s, s:s}", "kid", key.id, "grant", grant);
    ck_assert_msg(sl_key_accept(auth, reply, nonce, 0, &got, &err) == 0, "%s", err.text);
    ck_assert_str_eq(got.id, key.id);
    ck_assert_mem_eq(got.secret, key.secret, sizeof(key.secret));
    ck_assert_uint_eq(got.ctr, 0);
    json_decref(reply);
    free(grant);
    sl_auth_destroy(auth);
    sl_auth_destroy(other);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_reply_round_trip);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_keyed);
    tcase_add_test(tc, test_peer_request);
    suite_add_tcase(s, tc);
    if (access(MUNGED, X_OK) == 0) {
        TCase *tm = tcase_create("munge");
        tcase_add_checked_fixture(tm, setup, teardown);
        tcase_set_timeout(tm, 30);
        tcase_add_test(tm, test_signed_round_trip);
        tcase_add_test(tm, test_foreign_and_forged_credentials);
        tcase_add_test(tm, test_key_grant);
        suite_add_tcase(s, tm);
        /* tests of known bugs, reported and not yet fixed: they fail */
        TCase *tb = tcase_create("regressions");
        tcase_add_checked_fixture(tb, setup, teardown);
        tcase_set_timeout(tb, 30);
        tcase_add_test(tb, test_encode_after_bad_credential_regression);
        suite_add_tcase(s, tb);
    } else {
        fprintf(stderr, "note: %s not found; signed round trips not tested\n", MUNGED);
    }
    SRunner *sr = srunner_create(s);
    srunner_set_fork_status(sr, CK_NOFORK);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
