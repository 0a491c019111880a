/* test_conf_edit.c - partition edits spliced into the config text. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "conf/edit.h"

static const char *const FILE_TEXT =
    "# site config\n"
    "node_groups:\n"
    "  - name: n   # the workers\n"
    "    nodes: n[1-2]\n"
    "    cpus: 2\n"
    "    memory: 1G\n"
    "\n"
    "partitions:\n"
    "  # everyday work\n"
    "  - name: cpu\n"
    "    node_groups: [n]\n"
    "    default: true\n"
    "    max_time: 1-00:00:00   # a day\n"
    "\n"
    "  - name: long\n"
    "    node_groups:\n"
    "      - n\n"
    "    max_time: UNLIMITED\n"
    "# end\n";

static char *must(char *s, sl_error_t *err)
{
    ck_assert_msg(s != NULL, "edit failed: %s", err->text);
    return s;
}

/* The text must still load as a valid config. */
static void loads(const char *text)
{
    struct sl_conf *c = NULL;
    char *errors = NULL;
    ck_assert_msg(sl_conf_load_string(text, strlen(text), "t.yaml", &c, &errors) == 0,
                  "%s\n---\n%s", errors, text);
    sl_conf_destroy(c);
}

START_TEST(test_set_existing_keeps_the_rest)
{
    sl_error_t err;
    char *out = must(sl_conf_edit_set(FILE_TEXT, "partitions", "cpu", "max_time", "\"2-00:00:00\"", &err), &err);
    const char *want_line = "    max_time: \"2-00:00:00\"   # a day\n";
    ck_assert_ptr_nonnull(strstr(out, want_line));
    /* everything else byte for byte */
    char *expect = strdup(FILE_TEXT);
    char *p = strstr(expect, "1-00:00:00");
    ck_assert_uint_eq(strlen(out), strlen(FILE_TEXT) + 2);
    ck_assert(memcmp(out, expect, (size_t)(p - expect)) == 0);
    ck_assert_str_eq(out + (p - expect) + 12, p + 10);
    loads(out);
    free(expect);
    free(out);
}
END_TEST

START_TEST(test_add_key_and_unset)
{
    sl_error_t err;
    char *out = must(sl_conf_edit_set(FILE_TEXT, "partitions", "cpu", "max_nodes", "4", &err), &err);
    ck_assert_ptr_nonnull(strstr(out, "    max_time: 1-00:00:00   # a day\n    max_nodes: 4\n\n"));
    loads(out);
    char *back = must(sl_conf_edit_unset(out, "partitions", "cpu", "max_nodes", &err), &err);
    ck_assert_str_eq(back, FILE_TEXT);
    free(back);
    /* the last partition, whose list runs over several lines */
    char *o2 = must(sl_conf_edit_set(FILE_TEXT, "partitions", "long", "priority_tier", "3", &err), &err);
    ck_assert_ptr_nonnull(strstr(o2, "    max_time: UNLIMITED\n    priority_tier: 3\n# end\n"));
    loads(o2);
    free(o2);
    /* a block list replaced by a flow list */
    char *o3 = must(sl_conf_edit_set(FILE_TEXT, "partitions", "long", "node_groups", "[n]", &err), &err);
    ck_assert_ptr_nonnull(strstr(o3, "  - name: long\n    node_groups: [n]\n    max_time:"));
    loads(o3);
    /* an indentless block list (as PyYAML writes them) */
    const char *py = "node_groups:\n- name: n\n  nodes: n1\n  cpus: 1\n  memory: 1G\n"
                     "partitions:\n- name: p\n  node_groups:\n  - n\n  max_time: '1:00'\n";
    char *o4 = must(sl_conf_edit_set(py, "partitions", "p", "node_groups", "[n, n]", &err), &err);
    ck_assert_ptr_nonnull(strstr(o4, "  node_groups: [n, n]\n  max_time: '1:00'\n"));
    loads(o4);
    free(o4);
    free(o3);
    free(out);
}
END_TEST

START_TEST(test_add_and_remove_partition)
{
    sl_error_t err;
    const char *keys[] = {"name", "node_groups", "max_time"};
    const char *vals[] = {"gpu", "[n]", "\"4:00:00\""};
    char *out = must(sl_conf_edit_add(FILE_TEXT, "partitions", keys, vals, 3, &err), &err);
    ck_assert_ptr_nonnull(strstr(out, "    max_time: UNLIMITED\n\n  - name: gpu\n"
                                      "    node_groups: [n]\n    max_time: \"4:00:00\"\n# end\n"));
    loads(out);
    char *back = must(sl_conf_edit_remove(out, "partitions", "gpu", &err), &err);
    ck_assert_str_eq(back, FILE_TEXT);
    free(back);
    char *no_cpu = must(sl_conf_edit_remove(FILE_TEXT, "partitions", "cpu", &err), &err);
    ck_assert_ptr_null(strstr(no_cpu, "name: cpu"));
    ck_assert_ptr_nonnull(strstr(no_cpu, "# everyday work\n  - name: long\n"));
    free(no_cpu);
    free(out);
}
END_TEST

START_TEST(test_errors)
{
    sl_error_t err;
    ck_assert_ptr_null(sl_conf_edit_set(FILE_TEXT, "partitions", "nope", "max_time", "1", &err));
    ck_assert_str_eq(err.text, "no partition \"nope\" in the file");
    /* node groups are edited the same way */
    char *g = must(sl_conf_edit_set(FILE_TEXT, "node_groups", "n", "price_per_hour", "0.5", &err),
                   &err);
    ck_assert_ptr_nonnull(strstr(g, "    memory: 1G\n    price_per_hour: 0.5\n\npartitions:"));
    free(g);
    ck_assert_ptr_null(sl_conf_edit_set("partitions: [{name: a}]\n", "partitions", "a", "k", "1", &err));
    ck_assert_ptr_nonnull(strstr(err.text, "flow"));
    ck_assert_ptr_null(sl_conf_edit_set("a: [\n", "partitions", "a", "k", "1", &err));
    ck_assert_ptr_nonnull(strstr(err.text, "syntax error"));
}
END_TEST

START_TEST(test_scalars)
{
    char *s;
    ck_assert_str_eq(s = sl_conf_yaml_scalar("UNLIMITED"), "UNLIMITED");
    free(s);
    ck_assert_str_eq(s = sl_conf_yaml_scalar("2:00:00"), "\"2:00:00\"");
    free(s);
    ck_assert_str_eq(s = sl_conf_yaml_scalar("a \"b\""), "\"a \\\"b\\\"\"");
    free(s);
    ck_assert_str_eq(s = sl_conf_yaml_scalar("-x"), "\"-x\"");
    free(s);
    ck_assert_str_eq(s = sl_conf_yaml_list(" a, b ,c"), "[a, b, c]");
    free(s);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf_edit");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_set_existing_keeps_the_rest);
    tcase_add_test(tc, test_add_key_and_unset);
    tcase_add_test(tc, test_add_and_remove_partition);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_scalars);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
