/* test_stream.c - the binary frames of a step's I/O stream. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proto/stream.h"

START_TEST(test_roundtrip)
{
    struct sl_frame in = {SL_FR_OUTPUT, 123456, 7, 3, 2, "hello", 5}, out;
    char buf[SL_FRAME_HDR + 5];
    sl_error_t err;
    size_t len = sl_frame_encode(&in, buf);

    ck_assert_uint_eq(len, SL_FRAME_HDR + 5);
    ck_assert_int_eq(buf[0], 'O');
    ck_assert_int_eq(sl_frame_decode(buf, len, &out, &err), 0);
    ck_assert_int_eq(out.kind, SL_FR_OUTPUT);
    ck_assert_uint_eq(out.job_id, 123456);
    ck_assert_uint_eq(out.step_id, 7);
    ck_assert_uint_eq(out.a, 3);
    ck_assert_uint_eq(out.b, 2);
    ck_assert_uint_eq(out.len, 5);
    ck_assert_mem_eq(out.data, "hello", 5);

    /* big-endian on the wire, whatever the host */
    struct sl_frame w = {SL_FR_RESIZE, 1, 0, 50, 132, NULL, 0};
    len = sl_frame_encode(&w, buf);
    ck_assert_int_eq((unsigned char)buf[12], 50);
    ck_assert_int_eq((unsigned char)buf[16], 132);
    ck_assert_int_eq(sl_frame_decode(buf, len, &out, &err), 0);
    ck_assert_uint_eq(out.a, 50);
}
END_TEST

static void expect_bad(const char *buf, size_t len, const char *what)
{
    struct sl_frame f;
    sl_error_t err;
    ck_assert_int_eq(sl_frame_decode(buf, len, &f, &err), -1);
    ck_assert_msg(strstr(err.text, what) != NULL, "\"%s\" does not say \"%s\"", err.text, what);
}

START_TEST(test_rejects)
{
    char buf[SL_FRAME_HDR + 32]; /* room for the longest data below */
    struct sl_frame f = {SL_FR_RESIZE, 1, 1, 0, 80, NULL, 0};

    expect_bad("O", 1, "shorter than");
    memset(buf, 0, sizeof(buf));
    buf[0] = '?';
    expect_bad(buf, SL_FRAME_HDR, "unknown stream frame kind");
    expect_bad(buf, sl_frame_encode(&f, buf), "terminal size");
    f = (struct sl_frame){SL_FR_SIGNAL, 1, 1, 99, 0, NULL, 0};
    expect_bad(buf, sl_frame_encode(&f, buf), "signal 99");
    f = (struct sl_frame){SL_FR_EOF, 1, 1, 0, 0, "xy", 2};
    expect_bad(buf, sl_frame_encode(&f, buf), "unexpected data");
    f = (struct sl_frame){SL_FR_OUTPUT, 1, 1, 0, 3, "x", 1};
    expect_bad(buf, sl_frame_encode(&f, buf), "neither stdout");
    /* a replayed output frame is still output */
    f = (struct sl_frame){SL_FR_OUTPUT, 1, 1, 0, 2 | SL_FR_REPLAY_FLAG, "x", 1};
    struct sl_frame out;
    sl_error_t err;
    ck_assert_int_eq(sl_frame_decode(buf, sl_frame_encode(&f, buf), &out, &err), 0);
    /* port forwarding frames */
    f = (struct sl_frame){SL_FR_FWD_OPEN, 1, 1, 7, 0, NULL, 0};
    expect_bad(buf, sl_frame_encode(&f, buf), "port 0 is out of range");
    f = (struct sl_frame){SL_FR_FWD_OPEN, 1, 1, 7, 65536, NULL, 0};
    expect_bad(buf, sl_frame_encode(&f, buf), "port 65536 is out of range");
    f = (struct sl_frame){SL_FR_FWD_OPEN, 1, 1, 7, 8888, "x", 1};
    expect_bad(buf, sl_frame_encode(&f, buf), "unexpected data");
    f = (struct sl_frame){SL_FR_FWD_DATA, 1, 1, 7, 0, NULL, 0};
    expect_bad(buf, sl_frame_encode(&f, buf), "carries no data");
    f = (struct sl_frame){SL_FR_FWD_ACK, 1, 1, 7, 0, NULL, 0};
    expect_bad(buf, sl_frame_encode(&f, buf), "ack of 0 bytes");
    f = (struct sl_frame){SL_FR_FWD_EOF, 1, 1, 7, 0, "x", 1};
    expect_bad(buf, sl_frame_encode(&f, buf), "unexpected data");
    f = (struct sl_frame){SL_FR_FWD_OPENED, 1, 1, 7, 111, "Connection refused", 18};
    ck_assert_int_eq(sl_frame_decode(buf, sl_frame_encode(&f, buf), &out, &err), 0);
    ck_assert_uint_eq(out.b, 111);
    ck_assert_uint_eq(out.len, 18);
    f = (struct sl_frame){SL_FR_FWD_DATA, 1, 1, 7, 0, "abc", 3};
    ck_assert_int_eq(sl_frame_decode(buf, sl_frame_encode(&f, buf), &out, &err), 0);
    ck_assert_int_eq(out.kind, 'F');
}
END_TEST

/* Random bytes never crash the decoder, and what it accepts re-encodes
 * to the same bytes. */
START_TEST(test_random_input)
{
    char buf[64], again[64];
    srand(12345);
    for (int i = 0; i < 200000; i++) {
        size_t len = (size_t)(rand() % (int)sizeof(buf));
        struct sl_frame f;
        sl_error_t err;
        for (size_t k = 0; k < len; k++)
            buf[k] = (char)(rand() & 0xff);
        if (i % 3 == 0 && len > 0)
            buf[0] = SL_FR_KINDS[rand() % (int)strlen(SL_FR_KINDS)];
        if (sl_frame_decode(buf, len, &f, &err) == 0) {
            ck_assert_uint_eq(sl_frame_encode(&f, again), len);
            ck_assert_mem_eq(again, buf, len);
        }
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("stream");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_roundtrip);
    tcase_add_test(tc, test_rejects);
    tcase_add_test(tc, test_random_input);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
