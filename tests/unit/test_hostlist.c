/* test_hostlist.c - Slurm hostlist expansion and compression. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostlist.h"

static char *ranged(const char *expr, int uniq)
{
    sl_error_t err;
    struct hostlist *hl = hostlist_create(expr, &err);
    ck_assert_msg(hl != NULL, "%s: %s", expr, err.text);
    if (uniq)
        hostlist_uniq(hl);
    char *s = hostlist_ranged_string(hl);
    hostlist_destroy(hl);
    return s;
}

static void expect_names(const char *expr, const char *const *want, size_t n)
{
    sl_error_t err;
    struct hostlist *hl = hostlist_create(expr, &err);
    ck_assert_msg(hl != NULL, "%s: %s", expr, err.text);
    ck_assert_uint_eq(hostlist_count(hl), n);
    for (size_t i = 0; i < n; i++)
        ck_assert_str_eq(hostlist_nth(hl, i), want[i]);
    hostlist_destroy(hl);
}

START_TEST(test_expand)
{
    sl_error_t err;
    struct hostlist *hl = hostlist_create("cpu[001-016,20]", &err);
    ck_assert_ptr_nonnull(hl);
    ck_assert_uint_eq(hostlist_count(hl), 17);
    ck_assert_str_eq(hostlist_nth(hl, 0), "cpu001");
    ck_assert_str_eq(hostlist_nth(hl, 15), "cpu016");
    ck_assert_str_eq(hostlist_nth(hl, 16), "cpu20");
    ck_assert_ptr_null(hostlist_nth(hl, 17));
    ck_assert_int_eq(hostlist_find(hl, "cpu007"), 6);
    ck_assert_int_eq(hostlist_find(hl, "cpu7"), -1);
    hostlist_destroy(hl);

    const char *a[] = {"gpu1", "gpu2", "lm1"};
    expect_names("gpu[1-2],lm1", a, 3);
    const char *b[] = {"n1-ib", "n2-ib", "n3-ib"};
    expect_names("n[1-3]-ib", b, 3);
    const char *c[] = {"a1b3", "a1b4", "a2b3", "a2b4"};
    expect_names("a[1-2]b[3-4]", c, 4);
    const char *d[] = {"single"};
    expect_names("single", d, 1);
    expect_names("", NULL, 0);
    hl = hostlist_create(NULL, &err);
    ck_assert_uint_eq(hostlist_count(hl), 0);
    hostlist_destroy(hl);
}
END_TEST

START_TEST(test_compress)
{
    char *s;
    s = ranged("n1,n2,n3,m1", 0);
    ck_assert_str_eq(s, "n[1-3],m1");
    free(s);
    s = ranged("n01,n02,n03,n10", 0);
    ck_assert_str_eq(s, "n[01-03,10]");
    free(s);
    s = ranged("n3,n1,n2,n2,n10", 1);
    ck_assert_str_eq(s, "n[1-3,10]");
    free(s);
    s = ranged("cpu[001-016,20]", 0);
    ck_assert_str_eq(s, "cpu[001-016],cpu20");
    free(s);
    s = ranged("x", 0);
    ck_assert_str_eq(s, "x");
    free(s);
    char *names[] = {"gpu1", "gpu2", "lm1"};
    s = hostlist_compress(names, 3);
    ck_assert_str_eq(s, "gpu[1-2],lm1");
    free(s);
}
END_TEST

START_TEST(test_push_and_expand)
{
    sl_error_t err;
    struct hostlist *hl = hostlist_create(NULL, &err);
    ck_assert_int_eq(hostlist_push(hl, "n5"), 0);
    ck_assert_int_eq(hostlist_push(hl, "n[1-2]"), 0);
    ck_assert_uint_eq(hostlist_count(hl), 3);
    ck_assert_int_eq(hostlist_push(hl, "n[2-"), -1);
    hostlist_destroy(hl);
    char **names;
    size_t n;
    ck_assert_int_eq(hostlist_expand("a[1-3]", &names, &n, &err), 0);
    ck_assert_uint_eq(n, 3);
    ck_assert_str_eq(names[2], "a3");
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}
END_TEST

START_TEST(test_rejects)
{
    static const struct {
        const char *expr, *words;
    } bad[] = {
        {"cpu[1-", "missing ']'"},          {"cpu[3-1]", "backwards"},
        {"cpu[a-b]", "expected a number"},  {"a,,b", "empty host name"},
        {"n[1,]", "trailing ','"},          {"n]1[", "unbalanced"},
        {"n[0-999999999]", "more than"},    {"n[1-2]x[1-1000000]", "more than"},
        {"n[]", "empty brackets"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        sl_error_t err = {""};
        struct hostlist *hl = hostlist_create(bad[i].expr, &err);
        ck_assert_msg(hl == NULL, "%s accepted", bad[i].expr);
        ck_assert_msg(strstr(err.text, bad[i].words), "%s: \"%s\" lacks \"%s\"", bad[i].expr,
                      err.text, bad[i].words);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("hostlist");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_expand);
    tcase_add_test(tc, test_compress);
    tcase_add_test(tc, test_push_and_expand);
    tcase_add_test(tc, test_rejects);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
