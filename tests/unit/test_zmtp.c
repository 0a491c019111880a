/* test_zmtp.c - the tools' ZMTP 3 client: framing, handshake, and its
 * behaviour against libzmq's ROUTER and against peers that misbehave. */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "proto/zmtp.h"

START_TEST(test_greeting)
{
    uint8_t g[SL_ZMTP_GREETING_LEN];
    sl_error_t err;

    sl_zmtp_greeting(g);
    ck_assert_int_eq(g[0], 0xFF);
    ck_assert_int_eq(g[9], 0x7F);
    ck_assert_int_eq(g[10], 3);
    ck_assert_mem_eq(g + 12, "NULL\0\0", 6);
    ck_assert_int_eq(g[32], 0); /* as-server */
    /* accepted whole, and "so far so good" on every prefix */
    ck_assert_int_eq(sl_zmtp_check_greeting(g, sizeof(g), &err), SL_ZMTP_OK);
    for (size_t n = 0; n < sizeof(g); n++)
        ck_assert_int_eq(sl_zmtp_check_greeting(g, n, &err), SL_ZMTP_AGAIN);
    /* a 3.1 peer is fine */
    g[11] = 1;
    ck_assert_int_eq(sl_zmtp_check_greeting(g, sizeof(g), &err), SL_ZMTP_OK);
}
END_TEST

START_TEST(test_greeting_bad)
{
    uint8_t g[SL_ZMTP_GREETING_LEN];
    sl_error_t err;

    /* not ZMTP: refused at the first byte */
    ck_assert_int_eq(sl_zmtp_check_greeting((const uint8_t *)"HTTP/1.1", 1, &err), SL_ZMTP_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.text, "does not speak ZMTP"));
    sl_zmtp_greeting(g);
    g[9] = 0x7E; /* ZMTP 1.0 */
    ck_assert_int_eq(sl_zmtp_check_greeting(g, 10, &err), SL_ZMTP_EPROTO);
    sl_zmtp_greeting(g);
    g[10] = 2; /* ZMTP 2 */
    ck_assert_int_eq(sl_zmtp_check_greeting(g, 11, &err), SL_ZMTP_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.text, "ZMTP 2"));
    sl_zmtp_greeting(g);
    memcpy(g + 12, "CURVE", 5);
    ck_assert_int_eq(sl_zmtp_check_greeting(g, 32, &err), SL_ZMTP_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.text, "CURVE"));
}
END_TEST

START_TEST(test_frame_header)
{
    uint8_t h[SL_ZMTP_HDR_MAX];
    int flags;
    uint64_t size;
    size_t hl;
    sl_error_t err;

    /* short */
    ck_assert_uint_eq(sl_zmtp_frame_header(h, SL_ZMTP_MORE, 0), 2);
    ck_assert_int_eq(h[0], 0x01);
    ck_assert_int_eq(h[1], 0);
    ck_assert_uint_eq(sl_zmtp_frame_header(h, 0, 255), 2);
    ck_assert_int_eq(h[0], 0x00);
    ck_assert_int_eq(h[1], 255);
    ck_assert_int_eq(sl_zmtp_parse_header(h, 2, 1000, &flags, &size, &hl, &err), SL_ZMTP_OK);
    ck_assert_int_eq(flags, 0);
    ck_assert_uint_eq(size, 255);
    ck_assert_uint_eq(hl, 2);
    ck_assert_int_eq(sl_zmtp_parse_header(h, 1, 1000, &flags, &size, &hl, &err), SL_ZMTP_AGAIN);

    /* long: 8 bytes, big-endian */
    ck_assert_uint_eq(sl_zmtp_frame_header(h, 0, 256), 9);
    ck_assert_int_eq(h[0], SL_ZMTP_LONG);
    ck_assert_mem_eq(h + 1, "\0\0\0\0\0\0\x01\x00", 8);
    ck_assert_uint_eq(sl_zmtp_frame_header(h, SL_ZMTP_MORE, 0x0102030405ULL), 9);
    ck_assert_int_eq(h[0], SL_ZMTP_LONG | SL_ZMTP_MORE);
    ck_assert_mem_eq(h + 1, "\0\0\0\x01\x02\x03\x04\x05", 8);
    ck_assert_int_eq(sl_zmtp_parse_header(h, 8, UINT64_MAX >> 1, &flags, &size, &hl, &err),
                     SL_ZMTP_AGAIN);
    ck_assert_int_eq(sl_zmtp_parse_header(h, 9, UINT64_MAX >> 1, &flags, &size, &hl, &err),
                     SL_ZMTP_OK);
    ck_assert_uint_eq(size, 0x0102030405ULL);
    ck_assert_uint_eq(hl, 9);
    ck_assert(flags & SL_ZMTP_MORE);

    /* an absurd size is refused, not allocated */
    ck_assert_int_eq(sl_zmtp_parse_header(h, 9, 1 << 20, &flags, &size, &hl, &err), SL_ZMTP_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.text, "exceeds the limit"));
    memcpy(h, "\x02\x80\0\0\0\0\0\0\0", 9); /* top bit of a long size */
    ck_assert_int_eq(sl_zmtp_parse_header(h, 9, UINT64_MAX, &flags, &size, &hl, &err),
                     SL_ZMTP_EPROTO);
    /* reserved flag bits; a command with MORE; a command above its limit */
    ck_assert_int_eq(
        sl_zmtp_parse_header((const uint8_t *)"\x08\x01", 2, 10, &flags, &size, &hl, &err),
        SL_ZMTP_EPROTO);
    ck_assert_int_eq(
        sl_zmtp_parse_header((const uint8_t *)"\x05\x01", 2, 10, &flags, &size, &hl, &err),
        SL_ZMTP_EPROTO);
    sl_zmtp_frame_header(h, SL_ZMTP_COMMAND, SL_ZMTP_COMMAND_MAX + 1);
    ck_assert_int_eq(sl_zmtp_parse_header(h, 9, UINT64_MAX >> 1, &flags, &size, &hl, &err),
                     SL_ZMTP_EPROTO);
}
END_TEST

START_TEST(test_ready)
{
    uint8_t buf[128];
    char name[256];
    const uint8_t *data, *val;
    size_t dlen, vlen, hl;
    int flags;
    uint64_t size;
    sl_error_t err;
    size_t n = sl_zmtp_ready(buf, sizeof(buf), "DEALER");

    ck_assert_uint_gt(n, 0);
    ck_assert_int_eq(sl_zmtp_parse_header(buf, n, 1000, &flags, &size, &hl, &err), SL_ZMTP_OK);
    ck_assert_int_eq(flags, SL_ZMTP_COMMAND);
    ck_assert_uint_eq(hl + size, n);
    ck_assert_int_eq(sl_zmtp_parse_command(buf + hl, size, name, &data, &dlen, &err), SL_ZMTP_OK);
    ck_assert_str_eq(name, "READY");
    /* property names compare case-insensitively */
    ck_assert_int_eq(sl_zmtp_ready_property(data, dlen, "socket-type", &val, &vlen, &err),
                     SL_ZMTP_OK);
    ck_assert_uint_eq(vlen, 6);
    ck_assert_mem_eq(val, "DEALER", 6);
    ck_assert_int_eq(sl_zmtp_ready_property(data, dlen, "Identity", &val, &vlen, &err),
                     SL_ZMTP_AGAIN);
    /* truncated metadata: a value that overruns, a name that overruns */
    ck_assert_int_eq(sl_zmtp_ready_property(data, dlen - 1, "Socket-Type", &val, &vlen, &err),
                     SL_ZMTP_EPROTO);
    ck_assert_int_eq(sl_zmtp_ready_property(data, 5, "Socket-Type", &val, &vlen, &err),
                     SL_ZMTP_EPROTO);
    ck_assert_int_eq(
        sl_zmtp_parse_command((const uint8_t *)"\x09READY", 6, name, &data, &dlen, &err),
        SL_ZMTP_EPROTO);
    ck_assert_int_eq(sl_zmtp_parse_command((const uint8_t *)"", 0, name, &data, &dlen, &err),
                     SL_ZMTP_EPROTO);
    ck_assert_uint_eq(sl_zmtp_ready(buf, 10, "DEALER"), 0); /* no room */
}
END_TEST

/* Against libzmq's own ROUTER, as the ctld runs it. */
START_TEST(test_libzmq_router)
{
    void *ctx = zmq_ctx_new(), *router = zmq_socket(ctx, ZMQ_ROUTER);
    char ep[128];
    size_t epl = sizeof(ep);
    int port, rc, zero = 0;
    sl_error_t err;

    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof(zero));
    ck_assert_int_eq(zmq_bind(router, "tcp://127.0.0.1:*"), 0);
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, ep, &epl);
    port = atoi(strrchr(ep, ':') + 1);

    struct sl_zmtp *z =
        sl_zmtp_connect("127.0.0.1", port, "DEALER", "ROUTER", sl_zmtp_now_ms() + 5000, &rc, &err);
    ck_assert_msg(z != NULL, "connect: %s", err.text);
    /* libzmq takes no message before its own READY is out (zmtp.h) */
    ck_assert_int_eq(sl_zmtp_handshake(z, sl_zmtp_now_ms() + 5000, &err), SL_ZMTP_OK);
    ck_assert_int_eq(sl_zmtp_peer_seen(z), 1);
    ck_assert_int_eq(sl_zmtp_alive(z), 1);

    for (int round = 0; round < 3; round++) {
        /* request: [delimiter][payload]; ROUTER sees [identity][delimiter][payload] */
        struct iovec parts[2] = {{(void *)"", 0}, {(void *)"hello", 5}};
        ck_assert_int_eq(sl_zmtp_send(z, parts, 2, sl_zmtp_now_ms() + 5000, &err), SL_ZMTP_OK);
        zmq_msg_t id, part;
        zmq_msg_init(&id);
        zmq_msg_init(&part);
        ck_assert_int_ge(zmq_msg_recv(&id, router, 0), 0);
        ck_assert(zmq_msg_more(&id));
        ck_assert_int_eq(zmq_msg_recv(&part, router, 0), 0);
        ck_assert(zmq_msg_more(&part));
        ck_assert_int_eq(zmq_msg_recv(&part, router, 0), 5);
        ck_assert_mem_eq(zmq_msg_data(&part), "hello", 5);

        /* reply: short in round 0, long (LONG frames) after */
        size_t len = round == 0 ? 3 : (size_t)300000 * round;
        char *big = malloc(len);
        for (size_t i = 0; i < len; i++)
            big[i] = (char)('a' + i % 26);
        zmq_msg_t idc;
        zmq_msg_init(&idc);
        zmq_msg_copy(&idc, &id);
        ck_assert_int_ge(zmq_msg_send(&idc, router, ZMQ_SNDMORE), 0);
        ck_assert_int_eq(zmq_send(router, "", 0, ZMQ_SNDMORE), 0);
        ck_assert_int_eq(zmq_send(router, big, len, 0), (int)len);

        struct sl_zmtp_msg m;
        ck_assert_int_eq(sl_zmtp_recv(z, 1 << 20, sl_zmtp_now_ms() + 5000, &m, &err), SL_ZMTP_OK);
        ck_assert_int_eq(m.nframes, 2);
        ck_assert_uint_eq(m.frame[0].iov_len, 0);
        ck_assert_uint_eq(m.frame[1].iov_len, len);
        ck_assert_mem_eq(m.frame[1].iov_base, big, len);
        sl_zmtp_msg_clear(&m);

        /* a reply above the limit is refused */
        if (round == 2) {
            ck_assert_int_ge(zmq_msg_send(&id, router, ZMQ_SNDMORE), 0);
            zmq_send(router, "", 0, ZMQ_SNDMORE);
            zmq_send(router, big, len, 0);
            ck_assert_int_eq(sl_zmtp_recv(z, 1000, sl_zmtp_now_ms() + 5000, &m, &err),
                             SL_ZMTP_EPROTO);
            ck_assert_ptr_nonnull(strstr(err.text, "exceeds the limit"));
        }
        free(big);
        zmq_msg_close(&id);
        zmq_msg_close(&part);
    }
    /* nothing more comes: the deadline holds */
    struct sl_zmtp_msg m;
    sl_zmtp_close(z);
    z = sl_zmtp_connect("127.0.0.1", port, "DEALER", "ROUTER", sl_zmtp_now_ms() + 5000, &rc, &err);
    ck_assert_ptr_nonnull(z);
    long long t0 = sl_zmtp_now_ms();
    ck_assert_int_eq(sl_zmtp_recv(z, 1000, t0 + 200, &m, &err), SL_ZMTP_ETIME);
    ck_assert_int_ge(sl_zmtp_now_ms() - t0, 190);
    sl_zmtp_close(z);

    /* a peer of the wrong type: found once its READY is read */
    z = sl_zmtp_connect("127.0.0.1", port, "DEALER", "PUB", sl_zmtp_now_ms() + 5000, &rc, &err);
    ck_assert_ptr_nonnull(z);
    ck_assert_int_eq(sl_zmtp_peer_seen(z), 0);
    ck_assert_int_eq(sl_zmtp_handshake(z, sl_zmtp_now_ms() + 5000, &err), SL_ZMTP_EPROTO);
    ck_assert_ptr_nonnull(strstr(err.text, "ROUTER"));
    sl_zmtp_close(z);
    zmq_close(router);
    zmq_ctx_term(ctx);
}
END_TEST

/* The handshake rides with the first message: our greeting, READY and
 * request arrive in one write, before the peer has said anything; the
 * peer's greeting is read and checked with its reply. */
START_TEST(test_pipelined_handshake)
{
    int sv[2], rc;
    uint8_t in[512], out[256];
    sl_error_t err;

    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    struct sl_zmtp *z = sl_zmtp_attach(sv[0], "DEALER", "ROUTER", &rc, &err);
    ck_assert_msg(z != NULL, "attach: %s", err.text);
    struct iovec parts[2] = {{(void *)"", 0}, {(void *)"request", 7}};
    ck_assert_int_eq(sl_zmtp_send(z, parts, 2, sl_zmtp_now_ms() + 5000, &err), SL_ZMTP_OK);
    ssize_t n = read(sv[1], in, sizeof(in));
    ck_assert_int_gt(n, SL_ZMTP_GREETING_LEN);
    ck_assert_int_eq(sl_zmtp_check_greeting(in, SL_ZMTP_GREETING_LEN, &err), SL_ZMTP_OK);
    /* READY (DEALER), then [delimiter][request] */
    size_t rl = sl_zmtp_ready(out, sizeof(out), "DEALER");
    ck_assert_int_eq(n, SL_ZMTP_GREETING_LEN + rl + 2 + 2 + 7);
    ck_assert_mem_eq(in + SL_ZMTP_GREETING_LEN, out, rl);
    ck_assert_mem_eq(in + n - 11, "\x01\x00\x00\x07request", 11);
    ck_assert_int_eq(sl_zmtp_peer_seen(z), 0);

    /* the peer's greeting, READY and reply at once */
    sl_zmtp_greeting(out);
    size_t len = SL_ZMTP_GREETING_LEN;
    len += sl_zmtp_ready(out + len, sizeof(out) - len, "ROUTER");
    memcpy(out + len, "\x01\x00\x00\x05reply", 9);
    ck_assert_int_eq(write(sv[1], out, len + 9), (ssize_t)(len + 9));
    struct sl_zmtp_msg m;
    ck_assert_int_eq(sl_zmtp_recv(z, 1000, sl_zmtp_now_ms() + 5000, &m, &err), SL_ZMTP_OK);
    ck_assert_int_eq(m.nframes, 2);
    ck_assert_mem_eq(m.frame[1].iov_base, "reply", 5);
    ck_assert_int_eq(sl_zmtp_peer_seen(z), 1);
    sl_zmtp_msg_clear(&m);
    /* later messages carry no second greeting */
    ck_assert_int_eq(sl_zmtp_send(z, parts, 2, sl_zmtp_now_ms() + 5000, &err), SL_ZMTP_OK);
    ck_assert_int_eq(read(sv[1], in, sizeof(in)), 2 + 2 + 7);
    sl_zmtp_close(z);
    close(sv[1]);

    /* a peer that hangs up without greeting: closed, and never seen */
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    z = sl_zmtp_attach(sv[0], "DEALER", "ROUTER", &rc, &err);
    ck_assert_int_eq(sl_zmtp_send(z, parts, 2, sl_zmtp_now_ms() + 5000, &err), SL_ZMTP_OK);
    close(sv[1]);
    ck_assert_int_eq(sl_zmtp_recv(z, 1000, sl_zmtp_now_ms() + 5000, &m, &err), SL_ZMTP_ECLOSED);
    ck_assert_int_eq(sl_zmtp_peer_seen(z), 0);
    sl_zmtp_close(z);
}
END_TEST

/* A scripted peer: a child that accepts one connection, writes `script`,
 * then reads until the other side closes (or closes at once if hangup). */
static int fake_peer(const void *script, size_t len, int hangup, pid_t *pid)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int ls = socket(AF_INET, SOCK_STREAM, 0);

    ck_assert_int_ge(ls, 0);
    ck_assert_int_eq(bind(ls, (struct sockaddr *)&a, sizeof(a)), 0);
    ck_assert_int_eq(listen(ls, 4), 0);
    getsockname(ls, (struct sockaddr *)&a, &al);
    if ((*pid = fork()) == 0) {
        char b[4096];
        alarm(10);
        int c = accept(ls, NULL, NULL);
        if (len && write(c, script, len) < 0)
            _exit(1);
        if (!hangup)
            while (read(c, b, sizeof(b)) > 0)
                ;
        _exit(0);
    }
    close(ls);
    return ntohs(a.sin_port);
}

static void expect_peer(const void *script, size_t len, int hangup, int want_rc, const char *want)
{
    pid_t pid;
    int port = fake_peer(script, len, hangup, &pid), rc, st;
    sl_error_t err;
    long long t0 = sl_zmtp_now_ms();
    struct sl_zmtp *z = sl_zmtp_connect("127.0.0.1", port, "DEALER", "ROUTER", t0 + 500, &rc, &err);

    if (z) { /* the handshake passed: the fault is in the traffic */
        struct sl_zmtp_msg m;
        rc = sl_zmtp_recv(z, 1 << 20, t0 + 500, &m, &err);
        sl_zmtp_close(z);
    }
    ck_assert_msg(rc == want_rc, "rc %d, want %d (%s)", rc, want_rc, err.text);
    ck_assert_msg(!want || strstr(err.text, want), "error '%s' lacks '%s'", err.text, want);
    ck_assert_int_lt(sl_zmtp_now_ms() - t0, 2000);
    waitpid(pid, &st, 0);
}

/* A valid server greeting and READY(ROUTER), then `tail`. */
static size_t server_prefix(uint8_t *out)
{
    static const char ready[] = "\x04\x1c\x05READY\x0bSocket-Type\0\0\0\x06ROUTER";
    sl_zmtp_greeting(out);
    memcpy(out + SL_ZMTP_GREETING_LEN, ready, sizeof(ready) - 1);
    return SL_ZMTP_GREETING_LEN + sizeof(ready) - 1;
}

START_TEST(test_malformed_peers)
{
    uint8_t s[512];
    size_t n;

    expect_peer("HTTP/1.1 400 Bad Request\r\n\r\n", 28, 0, SL_ZMTP_EPROTO, "does not speak ZMTP");
    expect_peer("", 0, 0, SL_ZMTP_ETIME, NULL);   /* silent: the deadline holds */
    expect_peer("", 0, 1, SL_ZMTP_ECLOSED, NULL); /* hangs up (EOF or reset) */
    sl_zmtp_greeting(s);
    expect_peer(s, 40, 0, SL_ZMTP_ETIME, NULL); /* half a greeting, then silence */
    memcpy(s + 12, "PLAIN", 5);
    expect_peer(s, 64, 0, SL_ZMTP_EPROTO, "PLAIN");
    /* a message where READY belongs */
    sl_zmtp_greeting(s);
    memcpy(s + 64,
           "\x00\x03"
           "abc",
           5);
    expect_peer(s, 69, 0, SL_ZMTP_EPROTO, "before READY");
    /* READY without Socket-Type */
    memcpy(s + 64, "\x04\x06\x05READY", 8);
    expect_peer(s, 72, 0, SL_ZMTP_EPROTO, "no Socket-Type");
    /* an ERROR command */
    memcpy(s + 64,
           "\x04\x0b\x05"
           "ERROR\x04nope",
           13);
    expect_peer(s, 77, 0, SL_ZMTP_EPROTO, "nope");
    /* after a good handshake: an absurd frame size */
    n = server_prefix(s);
    memcpy(s + n, "\x02\x00\x00\x01\x00\x00\x00\x00\x00", 9);
    expect_peer(s, n + 9, 0, SL_ZMTP_EPROTO, "exceeds the limit");
    /* reserved flag bits */
    n = server_prefix(s);
    memcpy(s + n, "\x40\x01x", 3);
    expect_peer(s, n + 3, 0, SL_ZMTP_EPROTO, "reserved");
    /* a frame cut short, then hang-up */
    n = server_prefix(s);
    memcpy(s + n, "\x00\x10short", 7);
    expect_peer(s, n + 7, 1, SL_ZMTP_ECLOSED, NULL);
    /* a PING is answered and does not end the wait */
    n = server_prefix(s);
    memcpy(s + n, "\x04\x07\x04PING\0\x0a", 9);
    expect_peer(s, n + 9, 0, SL_ZMTP_ETIME, NULL);
}
END_TEST

START_TEST(test_refused)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int s = socket(AF_INET, SOCK_STREAM, 0), rc;
    sl_error_t err;

    /* a port nobody listens on: bound, never listening */
    bind(s, (struct sockaddr *)&a, sizeof(a));
    getsockname(s, (struct sockaddr *)&a, &al);
    ck_assert_ptr_null(sl_zmtp_connect("127.0.0.1", ntohs(a.sin_port), "DEALER", "ROUTER",
                                       sl_zmtp_now_ms() + 1000, &rc, &err));
    ck_assert_int_eq(rc, SL_ZMTP_ECLOSED);
    close(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("zmtp");
    TCase *tc = tcase_create("core");
    SRunner *sr;
    int failed;

    signal(SIGPIPE, SIG_IGN);
    tcase_set_timeout(tc, 30);
    tcase_add_test(tc, test_greeting);
    tcase_add_test(tc, test_greeting_bad);
    tcase_add_test(tc, test_frame_header);
    tcase_add_test(tc, test_ready);
    tcase_add_test(tc, test_libzmq_router);
    tcase_add_test(tc, test_pipelined_handshake);
    tcase_add_test(tc, test_malformed_peers);
    tcase_add_test(tc, test_refused);
    suite_add_tcase(s, tc);
    sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
