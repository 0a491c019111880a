/* test_cli_format.c - unit tests for cli/format.c, the engine behind
 * squeue -o and sinfo -o: justification, padding, truncation, '#'
 * widths, literals and "%%". */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cli/format.h"

#define VALID "ijPuMDRtNla"

/* Render a table into a malloc'd string. */
static char *render(const char *spec, const char *const *header, char **const *rows, size_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    sl_error_t err;
    struct fmt_spec *f = fmt_parse(spec, VALID, &err);

    ck_assert_msg(f != NULL, "parse %s: %s", spec, err.text);
    fmt_print_table(out, f, header, rows, n);
    fclose(out);
    fmt_destroy(f);
    return buf;
}

START_TEST(test_pad)
{
    char buf[64];

    ck_assert_str_eq(fmt_pad(buf, sizeof(buf), "abc", 6, false), "abc   ");
    ck_assert_str_eq(fmt_pad(buf, sizeof(buf), "abc", 6, true), "   abc");
    ck_assert_str_eq(fmt_pad(buf, sizeof(buf), "abcdefgh", 4, false), "abcd");
    /* right-justified values that do not fit keep their start, as Slurm's do */
    ck_assert_str_eq(fmt_pad(buf, sizeof(buf), "abcdefgh", 4, true), "abcd");
    ck_assert_str_eq(fmt_pad(buf, sizeof(buf), "abcdefgh", 0, true), "abcdefgh");
    ck_assert_str_eq(fmt_pad(buf, sizeof(buf), NULL, 3, false), "   ");
}
END_TEST

START_TEST(test_parse)
{
    sl_error_t err;
    struct fmt_spec *f = fmt_parse("x%.18i %-9P%%%#N%5j", VALID, &err);

    ck_assert_ptr_nonnull(f);
    ck_assert_int_eq(f->count, 7);
    ck_assert_int_eq(f->items[0].type, 0);
    ck_assert_str_eq(f->items[0].text, "x");
    ck_assert_int_eq(f->items[1].type, 'i');
    ck_assert_int_eq(f->items[1].width, 18);
    ck_assert(f->items[1].right);
    ck_assert_str_eq(f->items[2].text, " ");
    ck_assert_int_eq(f->items[3].type, 'P');
    ck_assert(!f->items[3].right);
    ck_assert_int_eq(f->items[3].width, 9);
    ck_assert_str_eq(f->items[4].text, "%"); /* "%%" is a literal */
    ck_assert_int_eq(f->items[5].type, 'N');
    ck_assert(f->items[5].autow);
    ck_assert_int_eq(f->items[6].type, 'j');
    ck_assert_int_eq(f->items[6].width, 5);
    fmt_destroy(f);
}
END_TEST

START_TEST(test_parse_errors)
{
    sl_error_t err;

    ck_assert_ptr_null(fmt_parse("%.18i %Y", VALID, &err));
    ck_assert_ptr_nonnull(strstr(err.text, "%Y"));
    ck_assert_ptr_null(fmt_parse("%.18", VALID, &err));
    ck_assert_ptr_null(fmt_parse("%5%", VALID, &err));
}
END_TEST

START_TEST(test_squeue_default_header)
{
    const char *spec = "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R";
    const char *hdr[15] = {"JOBID", NULL,   "PARTITION", NULL, "NAME",
                           NULL,    "USER", NULL,        "ST", NULL,
                           "TIME",  NULL,   "NODES",     NULL, "NODELIST(REASON)"};
    char *row0[15] = {"5",    NULL,   "debug", NULL, "averyveryverylongname",
                      NULL,   "root", NULL,    "R",  NULL,
                      "0:07", NULL,   "1",     NULL, "node[1-2]"};
    char **rows[] = {row0};
    char *s = render(spec, hdr, rows, 1);

    ck_assert_str_eq(s, "             JOBID PARTITION     NAME     USER ST       TIME  NODES "
                        "NODELIST(REASON)\n"
                        "                 5     debug averyver     root  R       0:07      1 "
                        "node[1-2]\n");
    free(s);
}
END_TEST

START_TEST(test_autowidth)
{
    /* sinfo's "%#P": as wide as the widest value or the header */
    const char *spec = "%#P %.5a";
    const char *hdr[3] = {"PARTITION", NULL, "AVAIL"};
    char *r0[3] = {"debug*", NULL, "up"};
    char *r1[3] = {"verylongpartition", NULL, "down"};
    char **rows1[] = {r0};
    char **rows2[] = {r0, r1};
    char *s = render(spec, hdr, rows1, 1);

    ck_assert_str_eq(s, "PARTITION AVAIL\ndebug*       up\n");
    free(s);
    s = render(spec, hdr, rows2, 2);
    ck_assert_str_eq(s, "PARTITION         AVAIL\n"
                        "debug*               up\n"
                        "verylongpartition  down\n");
    free(s);
    /* no header: width from the values alone */
    s = render(spec, NULL, rows1, 1);
    ck_assert_str_eq(s, "debug*    up\n");
    free(s);
}
END_TEST

START_TEST(test_literals_only)
{
    char *r0[1] = {NULL};
    char **rows[] = {r0};
    char *s = render("100%% done", NULL, rows, 1);

    ck_assert_str_eq(s, "100% done\n");
    free(s);
}
END_TEST

/* Streaming lines: the same text as a table row, cut and padded alike. */
START_TEST(test_write_line)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    sl_error_t err;
    struct fmt_spec *f = fmt_parse("%.6i|%-4j|%N [%3P]", VALID, &err);
    struct fmt_line line = {0};

    ck_assert_ptr_nonnull(f);
    ck_assert(fmt_fixed_widths(f));
    /* items: i, "|", j, "|", N, " [", P, "]" */
    const char *c8[8] = {"12", NULL, "toolongname", NULL, "n[1-100]", NULL, "debug", NULL};
    fmt_write_line(out, f, c8, &line);
    const char *e8[8] = {"", NULL, "", NULL, "", NULL, NULL, NULL};
    fmt_write_line(out, f, e8, &line);
    fclose(out);
    ck_assert_str_eq(buf, "    12|tool|n[1-100] [deb]\n      |    | [   ]\n");
    free(buf);
    free(line.buf);
    fmt_destroy(f);
    f = fmt_parse("%#i %j", VALID, &err);
    ck_assert(!fmt_fixed_widths(f));
    fmt_destroy(f);
}
END_TEST

static Suite *suite(void)
{
    Suite *s = suite_create("cli_format");
    TCase *tc = tcase_create("core");

    tcase_add_test(tc, test_pad);
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_parse_errors);
    tcase_add_test(tc, test_squeue_default_header);
    tcase_add_test(tc, test_autowidth);
    tcase_add_test(tc, test_literals_only);
    tcase_add_test(tc, test_write_line);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
