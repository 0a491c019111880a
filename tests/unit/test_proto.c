/* test_proto.c - message envelopes: round trips, every reject with its
 * code, and signed requests through a real munged started for the test. */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

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
    ck_assert_int_eq(sl_msg_type_from_name("nope"), -1);
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
    sl_msg_clear(&m);
    free(buf);
    json_decref(body);
}
END_TEST

START_TEST(test_rejects)
{
    ck_assert_int_eq(decode_rc("this is not json"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("[1,2,3]"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"type\":\"ping\",\"cred\":\"x\"}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":2,\"type\":\"ping\",\"cred\":\"x\"}"), SL_E_PROTOCOL_VERSION);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"launch_rockets\",\"cred\":\"x\"}"),
                     SL_E_UNKNOWN_TYPE);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"submit_job\",\"seq\":3}"), SL_E_AUTH);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"reply\",\"re\":1}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"reply\",\"re\":1,\"rc\":0,\"body\":[]}"),
                     SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"v\":1,\"type\":\"ping\",\"cred\":\"x\"}"), SL_E_PROTOCOL);
    ck_assert_int_eq(decode_rc("{\"v\":1,\"type\":\"ping\",\"cred\":\"x\"} trailing"),
                     SL_E_PROTOCOL);
    size_t big = SL_MSG_MAX_BYTES + 1;
    char *buf = malloc(big);
    memset(buf, ' ', big);
    struct sl_msg m;
    sl_error_t err;
    int rc = 0;
    ck_assert_int_eq(sl_msg_decode(buf, big, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_PROTOCOL);
    ck_assert_ptr_nonnull(strstr(err.text, "too large"));
    free(buf);
    /* the sender's seq survives a reject, so the error can be answered */
    const char *t = "{\"v\":1,\"type\":\"submit_job\",\"seq\":77}";
    ck_assert_int_eq(sl_msg_decode(t, strlen(t), &m, &rc, &err), -1);
    ck_assert_int_eq(m.seq, 77);
    sl_msg_clear(&m);
}
END_TEST

/* ---- a private munged ---- */

static char mdir[64];
static pid_t munged_pid;

static pid_t start_munged(const char *dir)
{
    char key[128], cmd[1024], pidf[128];
    snprintf(key, sizeof(key), "%s/munge.key", dir);
    FILE *fp = fopen(key, "w");
    ck_assert_ptr_nonnull(fp);
    for (int i = 0; i < 1024; i++)
        fputc(rand() & 0xff, fp);
    fclose(fp);
    chmod(key, 0600);
    snprintf(pidf, sizeof(pidf), "%s/munged.pid", dir);
    snprintf(cmd, sizeof(cmd),
             "%s --force --socket=%s/munge.sock --key-file=%s --pid-file=%s "
             "--log-file=%s/munged.log --seed-file=%s/munged.seed",
             MUNGED, dir, key, pidf, dir, dir);
    ck_assert_int_eq(system(cmd), 0);
    /* munged daemonizes: wait for its socket, then for a pid file whose
     * process really is this munged (its command line names our socket) */
    char sock[128];
    snprintf(sock, sizeof(sock), "%s/munge.sock", dir);
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

static void stop_munged(pid_t pid, const char *dir)
{
    char cmd[256];
    if (pid > 0) {
        kill(pid, SIGTERM);
        /* gone, or a zombie (its parent is init, which may reap it late) */
        for (int i = 0; i < 500; i++) {
            char path[64], st[512] = "";
            snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
            FILE *sf = fopen(path, "r");
            if (!sf)
                break;
            size_t n = fread(st, 1, sizeof(st) - 1, sf);
            fclose(sf);
            st[n] = 0;
            const char *rp = strrchr(st, ')');
            if (rp && rp[1] == ' ' && rp[2] == 'Z')
                break;
            usleep(10000);
        }
    }
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cannot remove %s\n", dir);
}

static void setup(void)
{
    strcpy(mdir, "/tmp/slurmish-unit-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(mdir));
    munged_pid = start_munged(mdir);
}

static void teardown(void)
{
    stop_munged(munged_pid, mdir);
}

START_TEST(test_signed_round_trip)
{
    char sock[128];
    sl_error_t err;
    snprintf(sock, sizeof(sock), "%s/munge.sock", mdir);
    struct sl_auth *auth = sl_auth_create(sock, &err);
    ck_assert_ptr_nonnull(auth);
    json_t *body = json_pack("{s:s, s:i}", "script", "#!/bin/sh\ntrue\n", "nodes", 2);
    size_t len;
    char *buf = sl_msg_encode_request(auth, SL_MSG_SUBMIT_JOB, 5, body, &len, &err);
    ck_assert_msg(buf != NULL, "%s", err.text);
    struct sl_msg m;
    int rc;
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(m.type, SL_MSG_SUBMIT_JOB);
    ck_assert_int_eq(m.seq, 5);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), 0);
    ck_assert_int_eq(m.uid, getuid());
    ck_assert_int_eq(m.gid, getgid());
    ck_assert(json_equal(m.body, body));
    sl_msg_clear(&m);
    /* the same credential again: munge's replay detection refuses it */
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);
    free(buf);

    /* a credential from another munge key is refused */
    char other[64] = "/tmp/slurmish-unit2-XXXXXX", sock2[128];
    ck_assert_ptr_nonnull(mkdtemp(other));
    pid_t pid2 = start_munged(other);
    snprintf(sock2, sizeof(sock2), "%s/munge.sock", other);
    struct sl_auth *auth2 = sl_auth_create(sock2, &err);
    buf = sl_msg_encode_request(auth2, SL_MSG_PING, 6, NULL, &len, &err);
    ck_assert_ptr_nonnull(buf);
    ck_assert_int_eq(sl_msg_decode(buf, len, &m, &rc, &err), 0);
    ck_assert_int_eq(sl_msg_verify(auth, &m, &rc, &err), -1);
    ck_assert_int_eq(rc, SL_E_AUTH);
    sl_msg_clear(&m);
    free(buf);
    sl_auth_destroy(auth2);
    stop_munged(pid2, other);
    sl_auth_destroy(auth);
    json_decref(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("proto");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_table);
    tcase_add_test(tc, test_reply_round_trip);
    tcase_add_test(tc, test_rejects);
    suite_add_tcase(s, tc);
    if (access(MUNGED, X_OK) == 0) {
        TCase *tm = tcase_create("munge");
        tcase_add_checked_fixture(tm, setup, teardown);
        tcase_add_test(tm, test_signed_round_trip);
        suite_add_tcase(s, tm);
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
