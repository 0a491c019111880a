/* test_fwdchan.c - the forwarded-connection channel (lib/proto/fwdchan.h).
 *
 * Two channels, A and B, stand for the client and the node daemon; each
 * has a socketpair whose other end plays the local program.  Frames one
 * channel sends are encoded, queued, decoded and handed to the other, as
 * over the session stream. */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/fwdchan.h"

struct qf {
    char buf[SL_FRAME_HDR + SL_FRAME_MAX_DATA];
    size_t len;
};

struct end {
    struct fwd_chan ch;
    int prog;     /* the program's end of the socketpair */
    struct qf *q; /* frames sent to the other end, not yet delivered */
    size_t nq, cap;
    int result; /* last non-live result */
    size_t max_inflight, max_held;
    int resets_sent;
};

static int tx(void *arg, struct fwd_chan *c, int kind, uint32_t b, const char *data, size_t len)
{
    struct end *e = arg;
    struct sl_frame f = {kind, 1, 0, c->id, b, data, len};
    if (e->nq == e->cap)
        e->q = realloc(e->q, (e->cap = e->cap ? e->cap * 2 : 64) * sizeof(*e->q));
    e->q[e->nq].len = sl_frame_encode(&f, e->q[e->nq].buf);
    e->nq++;
    if (kind == SL_FR_FWD_RESET)
        e->resets_sent++;
    return 0;
}

static void end_init(struct end *e, int small_buffers)
{
    int sv[2];
    memset(e, 0, sizeof(*e));
    ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
    if (small_buffers) {
        int sz = 16 * 1024;
        setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
    }
    fwd_chan_init(&e->ch, 7, sv[0]);
    e->ch.open = true;
    e->prog = sv[1];
}

/* Deliver what `from` queued to `to`. */
static void deliver(struct end *from, struct end *to)
{
    for (size_t i = 0; i < from->nq && !to->result; i++) {
        struct sl_frame f;
        sl_error_t err;
        ck_assert_int_eq(sl_frame_decode(from->q[i].buf, from->q[i].len, &f, &err), 0);
        int r = fwd_chan_frame(&to->ch, &f, tx, to);
        if (r != FWD_LIVE)
            to->result = r;
    }
    from->nq = 0;
}

static void io(struct end *e)
{
    short ev = fwd_chan_events(&e->ch);
    struct pollfd p = {e->ch.fd, ev, 0};
    if (e->result || !ev || poll(&p, 1, 0) <= 0)
        return;
    int r = fwd_chan_io(&e->ch, p.revents, tx, e);
    if (r != FWD_LIVE)
        e->result = r;
    if (e->ch.inflight > e->max_inflight)
        e->max_inflight = e->ch.inflight;
    if (e->ch.wlen + e->ch.unacked > e->max_held)
        e->max_held = e->ch.wlen + e->ch.unacked;
}

static void pump(struct end *a, struct end *b)
{
    io(a);
    io(b);
    deliver(a, b);
    deliver(b, a);
    if (b->ch.wlen + b->ch.unacked > b->max_held)
        b->max_held = b->ch.wlen + b->ch.unacked;
    if (a->ch.wlen + a->ch.unacked > a->max_held)
        a->max_held = a->ch.wlen + a->ch.unacked;
}

/* Data both ways with half closes, byte for byte; the window holds. */
START_TEST(test_transfer)
{
    struct end a, b;
    size_t n = 3 * 1024 * 1024 + 17, sent = 0, got = 0, back = 0;
    char *in = malloc(n), *out = malloc(n), reply[16];
    bool shut = false, b_shut = false;

    end_init(&a, 0);
    end_init(&b, 0);
    srand(7);
    for (size_t i = 0; i < n; i++)
        in[i] = (char)rand();
    for (int turn = 0; turn < 200000 && !(a.result && b.result); turn++) {
        if (sent < n) {
            ssize_t w = write(a.prog, in + sent, n - sent > 100000 ? 100000 : n - sent);
            if (w > 0)
                sent += (size_t)w;
        } else if (!shut) {
            shutdown(a.prog, SHUT_WR);
            shut = true;
        }
        ssize_t r = read(b.prog, out + got, n - got);
        if (r > 0)
            got += (size_t)r;
        if (r == 0 && !b_shut) {
            /* the program at B saw the end: it answers, then ends too */
            ck_assert_int_eq(write(b.prog, "done", 4), 4);
            shutdown(b.prog, SHUT_WR);
            b_shut = true;
        }
        r = read(a.prog, reply + back, sizeof(reply) - back);
        if (r > 0)
            back += (size_t)r;
        pump(&a, &b);
    }
    ck_assert_uint_eq(got, n);
    ck_assert_mem_eq(in, out, n);
    ck_assert_uint_eq(back, 4);
    ck_assert_mem_eq(reply, "done", 4);
    ck_assert_int_eq(a.result, FWD_FINISHED);
    ck_assert_int_eq(b.result, FWD_FINISHED);
    ck_assert_uint_le(a.max_inflight, FWD_WINDOW);
    ck_assert_uint_le(b.max_held, FWD_WINDOW);
    ck_assert_uint_eq(a.ch.bytes_out, n);
    ck_assert_uint_eq(b.ch.bytes_in, n);
    ck_assert_int_eq(a.resets_sent + b.resets_sent, 0);
    fwd_chan_close(&a.ch);
    fwd_chan_close(&b.ch);
    close(a.prog);
    close(b.prog);
    free(in);
    free(out);
    free(a.q);
    free(b.q);
}
END_TEST

/* A program that does not read: B holds at most a window, A stops
 * reading, and the writer at A is pushed back by TCP (here, the pair). */
START_TEST(test_backpressure)
{
    struct end a, b;
    char buf[65536];
    size_t sent = 0;

    end_init(&a, 1);
    end_init(&b, 1);
    memset(buf, 'x', sizeof(buf));
    for (int turn = 0; turn < 5000; turn++) {
        ssize_t w = write(a.prog, buf, sizeof(buf));
        if (w > 0)
            sent += (size_t)w;
        pump(&a, &b);
    }
    ck_assert_uint_le(b.max_held, FWD_WINDOW);
    ck_assert_uint_le(a.max_inflight, FWD_WINDOW);
    ck_assert_uint_eq(a.ch.inflight, FWD_WINDOW);         /* the window is full */
    ck_assert_int_eq(fwd_chan_events(&a.ch) & POLLIN, 0); /* and A stops reading */
    ck_assert_uint_lt(sent, 2 * FWD_WINDOW);              /* the writer was pushed back */
    /* the program reads again: everything flows */
    size_t got = 0;
    for (int turn = 0; turn < 20000 && got < sent; turn++) {
        ssize_t r = read(b.prog, buf, sizeof(buf));
        if (r > 0)
            got += (size_t)r;
        pump(&a, &b);
    }
    ck_assert_uint_eq(got, sent);
    fwd_chan_close(&a.ch);
    fwd_chan_close(&b.ch);
    close(a.prog);
    close(b.prog);
    free(a.q);
    free(b.q);
}
END_TEST

/* A peer beyond the window, data after its EOF, a reset, a program gone. */
START_TEST(test_resets)
{
    struct end b;
    static char big[SL_FRAME_MAX_DATA];
    struct sl_frame f = {SL_FR_FWD_DATA, 1, 0, 7, 0, big, sizeof(big)};
    int r = FWD_LIVE;

    end_init(&b, 1);
    /* the program does not read: data piles up to the window, then one more */
    for (int i = 0; i < 64 && r == FWD_LIVE; i++)
        r = fwd_chan_frame(&b.ch, &f, tx, &b);
    ck_assert_int_eq(r, FWD_RESET);
    ck_assert_int_eq(b.resets_sent, 1);
    ck_assert_uint_le(b.ch.wlen + b.ch.unacked, FWD_WINDOW);
    fwd_chan_close(&b.ch);
    close(b.prog);
    free(b.q);

    end_init(&b, 0);
    struct sl_frame eof = {SL_FR_FWD_EOF, 1, 0, 7, 0, NULL, 0};
    ck_assert_int_eq(fwd_chan_frame(&b.ch, &eof, tx, &b), FWD_LIVE);
    f.len = 10;
    ck_assert_int_eq(fwd_chan_frame(&b.ch, &f, tx, &b), FWD_RESET);
    fwd_chan_close(&b.ch);
    close(b.prog);
    free(b.q);

    end_init(&b, 0);
    struct sl_frame rst = {SL_FR_FWD_RESET, 1, 0, 7, 0, NULL, 0};
    ck_assert_int_eq(fwd_chan_frame(&b.ch, &rst, tx, &b), FWD_PEER_RESET);
    ck_assert_int_eq(b.resets_sent, 0);
    fwd_chan_close(&b.ch);
    close(b.prog);

    /* the program went away: writing to it resets, without SIGPIPE */
    end_init(&b, 0);
    close(b.prog);
    signal(SIGPIPE, SIG_DFL);
    ck_assert_int_eq(fwd_chan_frame(&b.ch, &f, tx, &b), FWD_RESET);
    fwd_chan_close(&b.ch);
    free(b.q);
}
END_TEST

/* The queue hands frames on in order, stops when "not now", resumes. */
static int taken, room;
static char seen[16];
static int take(void *arg, const char *buf, size_t len)
{
    if (room == 0)
        return 1;
    room--;
    seen[taken++] = buf[0];
    ck_assert_uint_eq(len, (size_t)(buf[0] - 'a' + 1));
    return 0;
}

START_TEST(test_queue)
{
    struct fwd_queue q = {NULL, NULL};
    const char *frames[] = {"a", "bb", "ccc", "dddd"};

    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(fwd_queue_push(&q, frames[i], strlen(frames[i])), 0);
    room = 2;
    ck_assert_int_eq(fwd_queue_flush(&q, take, NULL), 1);
    ck_assert_int_eq(fwd_queue_push(&q, "eeeee", 5), 0);
    room = 10;
    ck_assert_int_eq(fwd_queue_flush(&q, take, NULL), 0);
    ck_assert_int_eq(taken, 5);
    ck_assert_mem_eq(seen, "abcde", 5);
    ck_assert_ptr_null(q.head);
    ck_assert_ptr_null(q.tail);
    ck_assert_int_eq(fwd_queue_push(&q, "x", 1), 0);
    fwd_queue_clear(&q);
    ck_assert_ptr_null(q.head);
}
END_TEST

START_TEST(test_specs)
{
    int l, r;
    sl_error_t err;

    ck_assert_int_eq(fwd_parse_spec("8888", &l, &r, &err), 0);
    ck_assert_int_eq(l, 8888);
    ck_assert_int_eq(r, 8888);
    ck_assert_int_eq(fwd_parse_spec("0:8787", &l, &r, &err), 0);
    ck_assert_int_eq(l, 0);
    ck_assert_int_eq(r, 8787);
    ck_assert_int_eq(fwd_parse_spec("18888:8888", &l, &r, &err), 0);
    ck_assert_int_eq(l, 18888);
    const char *bad[] = {"",    "0",    "65536",    "-1",    "+80",   "80x", ":80",
                         "80:", "x:80", "70000:80", "1:2:3", "-1:80", NULL};
    for (int i = 0; bad[i]; i++)
        ck_assert_msg(fwd_parse_spec(bad[i], &l, &r, &err) == -1, "\"%s\" accepted", bad[i]);
    ck_assert_int_eq(fwd_parse_spec("8888:0", &l, &r, &err), -1);
    ck_assert_ptr_nonnull(strstr(err.text, "8888:0"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("fwdchan");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_transfer);
    tcase_add_test(tc, test_backpressure);
    tcase_add_test(tc, test_resets);
    tcase_add_test(tc, test_queue);
    tcase_add_test(tc, test_specs);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
