/* test_parse.c - Slurm time limits, sizes, numbers, booleans. */
#include <check.h>
#include <string.h>

#include "conf/conf.h"
#include "util/parse.h"

START_TEST(test_time_limits)
{
    static const struct {
        const char *in;
        int64_t secs;
    } ok[] = {
        {"90", 5400},     {"5:30", 330},       {"1:00:00", 3600},
        {"1-12", 129600}, {"1-12:30", 131400}, {"1-12:30:15", 131415},
        {"30s", 30},      {"90m", 5400},       {"4h", 14400},
        {"2d", 172800},   {"UNLIMITED", -1},   {"infinite", -1},
        {"0", 0},         {"0:03", 3},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        int64_t v = -99;
        sl_error_t err;
        ck_assert_msg(parse_time_limit(ok[i].in, &v, &err) == 0, "%s: %s", ok[i].in, err.text);
        ck_assert_msg(v == ok[i].secs, "%s gave %lld", ok[i].in, (long long)v);
    }
    static const char *bad[] = {"",    "abc", "-5",   "1:2:3:4", "4x", "1-", "99999999999999",
                                "1.5", "h",   "1-2-3"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int64_t v;
        sl_error_t err = {""};
        ck_assert_msg(parse_time_limit(bad[i], &v, &err) < 0, "\"%s\" accepted", bad[i]);
        ck_assert_msg(err.text[0], "no message for \"%s\"", bad[i]);
    }
    /* overflow: 12 digits read, but the total passes the 2^40 s cap */
    static const char *big[] = {"999999999999", "999999999999d", "99999999999-0"};
    for (size_t i = 0; i < sizeof(big) / sizeof(big[0]); i++) {
        int64_t v = 123;
        sl_error_t err = {""};
        ck_assert_msg(parse_time_limit(big[i], &v, &err) < 0, "\"%s\" accepted", big[i]);
        ck_assert_msg(strstr(err.text, "too large"), "%s: %s", big[i], err.text);
        ck_assert_int_eq(v, 123); /* untouched on error */
    }
    int64_t v;
    sl_error_t err;
    ck_assert_int_eq(parse_time_limit("abc", &v, &err), -1);
    ck_assert_str_eq(err.text,
                     "invalid time \"abc\" (expected minutes, "
                     "[days-]hours:minutes:seconds, a number with s/m/h/d, or UNLIMITED)");
    ck_assert_int_eq(parse_time_limit("", &v, &err), -1);
    ck_assert_str_eq(err.text, "empty time limit");
}
END_TEST

START_TEST(test_sizes)
{
    static const struct {
        const char *in;
        uint64_t mb;
    } ok[] = {{"16G", 16384}, {"512M", 512}, {"2048", 2048}, {"1T", 1048576},
              {"512K", 1},    {"1gb", 1024}, {"2g", 2048},   {"1025K", 2}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        uint64_t v = 0;
        sl_error_t err;
        ck_assert_msg(parse_size_mb(ok[i].in, &v, &err) == 0, "%s: %s", ok[i].in, err.text);
        ck_assert_msg(v == ok[i].mb, "%s gave %llu", ok[i].in, (unsigned long long)v);
    }
    static const char *bad[] = {"2Q", "", "G", "-1", "1.5G", "16 G"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint64_t v;
        sl_error_t err = {""};
        ck_assert_msg(parse_size_mb(bad[i], &v, &err) < 0, "\"%s\" accepted", bad[i]);
        ck_assert_ptr_nonnull(strstr(err.text, "invalid size"));
    }
    uint64_t v = 7;
    sl_error_t err;
    ck_assert_int_eq(parse_size_mb("999999999999T", &v, &err), -1);
    ck_assert_str_eq(err.text, "size \"999999999999T\" is too large");
    ck_assert_int_eq(v, 7);
    ck_assert_int_eq(parse_size_mb("0", &v, &err), 0);
    ck_assert_int_eq(v, 0);
}
END_TEST

START_TEST(test_format_time)
{
    char buf[32];
    ck_assert_str_eq(format_time_slurm(0, buf, sizeof(buf)), "0:00");
    ck_assert_str_eq(format_time_slurm(59, buf, sizeof(buf)), "0:59");
    ck_assert_str_eq(format_time_slurm(3600, buf, sizeof(buf)), "1:00:00");
    ck_assert_str_eq(format_time_slurm(90061, buf, sizeof(buf)), "1-01:01:01");
    ck_assert_str_eq(format_time_slurm(-1, buf, sizeof(buf)), "UNLIMITED");
    ck_assert_str_eq(format_time_slurm(-2, buf, sizeof(buf)), "NONE");
    ck_assert_str_eq(format_time_slurm(3599, buf, sizeof(buf)), "59:59");
    ck_assert_str_eq(format_time_slurm(86399, buf, sizeof(buf)), "23:59:59");
    ck_assert_str_eq(format_time_slurm(61, buf, sizeof(buf)), "1:01");
    ck_assert_str_eq(format_time_slurm(600, buf, sizeof(buf)), "10:00");
    ck_assert_str_eq(format_time_slurm(36000, buf, sizeof(buf)), "10:00:00");
    ck_assert_str_eq(format_time_slurm(3661, buf, sizeof(buf)), "1:01:01");
    /* a buffer too small for the fast path: snprintf's truncation */
    ck_assert_str_eq(format_time_slurm(36000, buf, 5), "10:0");
    ck_assert_str_eq(format_time_slurm(86400, buf, sizeof(buf)), "1-00:00:00");
    ck_assert_str_eq(format_time_slurm(1209600 + 3723, buf, sizeof(buf)), "14-01:02:03");
    /* a short buffer is truncated, never overrun */
    char small[5];
    ck_assert_str_eq(format_time_slurm(3600, small, sizeof(small)), "1:00");
}
END_TEST

START_TEST(test_ints_and_bools)
{
    long v;
    bool b;
    sl_error_t err;
    ck_assert_int_eq(parse_int_range("42", 0, 100, &v, &err), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(parse_int_range("101", 0, 100, &v, &err), -1);
    ck_assert_int_eq(parse_int_range("4x", 0, 100, &v, &err), -1);
    ck_assert_int_eq(parse_int_range("", 0, 100, &v, &err), -1);
    ck_assert_str_eq(err.text, "expected a number, got nothing");
    ck_assert_int_eq(parse_int_range("0", 0, 100, &v, &err), 0);
    ck_assert_int_eq(v, 0);
    ck_assert_int_eq(parse_int_range("100", 0, 100, &v, &err), 0);
    ck_assert_int_eq(v, 100);
    ck_assert_int_eq(parse_int_range("-7", -10, -5, &v, &err), 0);
    ck_assert_int_eq(v, -7);
    v = 55;
    ck_assert_int_eq(parse_int_range("-1", 0, 100, &v, &err), -1);
    ck_assert_str_eq(err.text, "-1 is out of range 0..100");
    ck_assert_int_eq(v, 55); /* untouched on error */
    ck_assert_int_eq(parse_int_range("4x", 0, 100, &v, &err), -1);
    ck_assert_str_eq(err.text, "invalid number \"4x\"");
    ck_assert_int_eq(parse_int_range(" 5", 0, 100, &v, &err), -1);
    ck_assert_int_eq(parse_int_range("5 ", 0, 100, &v, &err), -1);
    ck_assert_int_eq(parse_int_range("99999999999999999999", 0, 100, &v, &err), -1);
    ck_assert_int_eq(parse_int_range("1.0", 0, 100, &v, &err), -1);

    static const char *yes[] = {"yes", "Yes", "TRUE", "true", "on", "ON", "1"};
    static const char *no[] = {"no", "NO", "false", "False", "off", "Off", "0"};
    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        ck_assert_msg(parse_bool(yes[i], &b) == 0 && b, "%s", yes[i]);
        b = true;
        ck_assert_msg(parse_bool(no[i], &b) == 0 && !b, "%s", no[i]);
    }
    static const char *bad[] = {"maybe", "", "y", "n", "2", "yes ", "tru"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        b = true;
        ck_assert_msg(parse_bool(bad[i], &b) == -1, "\"%s\" accepted", bad[i]);
        ck_assert(b);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("parse");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_time_limits);
    tcase_add_test(tc, test_sizes);
    tcase_add_test(tc, test_format_time);
    tcase_add_test(tc, test_ints_and_bools);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
