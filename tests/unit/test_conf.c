/* test_conf.c - the YAML config loader: values, defaults, and one bad file
 * per validation rule, each error with its file:line:col. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "conf/conf.h"
#include "types.h"

static struct sl_conf *load_ok(const char *path)
{
    struct sl_conf *c = NULL;
    char *errors = NULL;
    int rc = sl_conf_load(path, &c, &errors);
    ck_assert_msg(rc == 0, "%s: %s", path, errors ? errors : "?");
    free(errors);
    return c;
}

/* Load text named t.yaml; expect failure with `want` in the errors. */
static void expect_error(const char *text, const char *want)
{
    struct sl_conf *c = NULL;
    char *errors = NULL;
    int rc = sl_conf_load_string(text, strlen(text), "t.yaml", &c, &errors);
    ck_assert_msg(rc < 0, "accepted: %s", text);
    ck_assert_ptr_null(c);
    ck_assert_msg(errors && strstr(errors, want), "wanted \"%s\" in:\n%s", want,
                  errors ? errors : "(none)");
    free(errors);
}

#define GROUPS "node_groups:\n  - name: a\n    nodes: n[1-2]\n    cpus: 2\n    memory: 1G\n"
#define PARTS "partitions:\n  - name: p\n    node_groups: [a]\n"

START_TEST(test_shipped_default)
{
    struct sl_conf *c = load_ok(TEST_SRCDIR "/etc/slurmish.yaml");
    ck_assert_uint_eq(c->part_count, 3);
    ck_assert_str_eq(sl_conf_default_partition(c)->name, "cpu");
    const struct sl_node_group *g = sl_conf_find_group(c, "gpu-spot");
    ck_assert_ptr_nonnull(g);
    ck_assert_int_eq(g->gpus, 1);
    ck_assert_str_eq(g->gpu_type, "t4");
    ck_assert(g->spot);
    g = sl_conf_find_group(c, "cpu");
    ck_assert_uint_eq(g->node_count, 2);
    ck_assert_str_eq(g->nodes[1], "cpu2");
    ck_assert_uint_eq(g->memory_mb, 2048);
    const struct sl_partition *p = sl_conf_find_partition(c, "cpu");
    ck_assert_int_eq(p->max_time, 86400);
    ck_assert_int_eq(p->default_time, 3600);
    sl_conf_destroy(c);
}
END_TEST

START_TEST(test_good_values_and_defaults)
{
    struct sl_conf *c = load_ok(TEST_SRCDIR "/tests/unit/conf/good.yaml");
    ck_assert_str_eq(c->cluster_name, "unit");
    ck_assert_int_eq(c->ctld_port, 7000);
    ck_assert_int_eq(c->heartbeat_interval, 2);
    ck_assert_int_eq(c->node_timeout, 60); /* defaults */
    ck_assert_int_eq(c->kill_wait, 30);
    ck_assert_int_eq(c->node_port, 6818);
    ck_assert_str_eq(c->ctld_host, "127.0.0.1");
    ck_assert_uint_eq(c->admin_count, 2);
    ck_assert_str_eq(c->admins[1], "bob");
    const struct sl_node_group *g = sl_conf_find_node(c, "s03");
    ck_assert_ptr_nonnull(g);
    ck_assert_str_eq(g->name, "small");
    ck_assert_str_eq(g->features[0], "avx2");
    ck_assert_ptr_null(sl_conf_find_node(c, "s5"));
    g = sl_conf_find_group(c, "gpu");
    ck_assert_int_eq(g->gpus, 2);
    ck_assert_str_eq(g->gpu_type, "a10");
    ck_assert_uint_eq(g->memory_mb, 65536);
    ck_assert(g->price_per_hour > 1.24 && g->price_per_hour < 1.26);
    const struct sl_partition *p = sl_conf_find_partition(c, "batch");
    ck_assert(p->is_default);
    ck_assert_int_eq(p->default_time, 5400);
    ck_assert_int_eq(p->max_nodes, -1);
    p = sl_conf_find_partition(c, "gpu");
    ck_assert_int_eq(p->max_nodes, 2);
    ck_assert_int_eq(p->state, PART_DRAIN);
    ck_assert_int_eq(p->priority_tier, 5);
    ck_assert_int_eq(p->max_time, SL_TIME_UNLIMITED);
    ck_assert_ptr_null(sl_conf_find_partition(c, "nope"));
    sl_conf_destroy(c);
}
END_TEST

START_TEST(test_single_partition_is_default)
{
    struct sl_conf *c = NULL;
    char *errors = NULL;
    const char *text = GROUPS PARTS;
    ck_assert_int_eq(sl_conf_load_string(text, strlen(text), "t.yaml", &c, &errors), 0);
    ck_assert(c->parts[0].is_default);
    sl_conf_destroy(c);
}
END_TEST

START_TEST(test_conf_path)
{
    setenv("SLURMISH_CONF", "/from/env.yaml", 1);
    ck_assert_str_eq(sl_conf_path("/given.yaml"), "/given.yaml");
    ck_assert_str_eq(sl_conf_path(NULL), "/from/env.yaml");
    unsetenv("SLURMISH_CONF");
    ck_assert_str_eq(sl_conf_path(NULL), SL_DEFAULT_CONF);
}
END_TEST

START_TEST(test_bad_files)
{
    expect_error(GROUPS PARTS "    max_tme: 5\n",
                 "t.yaml:9:5: unknown key \"max_tme\" in partition \"p\" (did you mean \"max_time\"?)");
    expect_error("zzzzzzzz: 1\n" GROUPS PARTS, "t.yaml:1:1: unknown key \"zzzzzzzz\"\n");
    expect_error(GROUPS PARTS "    max_time: soon\n", "t.yaml:9:15: max_time: expected a time");
    expect_error("controller:\n  port: 70000\n" GROUPS PARTS, "t.yaml:2:9: port: expected");
    expect_error("controller:\n  kill_wait: x\n" GROUPS PARTS, "t.yaml:2:14: kill_wait:");
    expect_error(GROUPS "    spot: perhaps\n" PARTS, "t.yaml:6:11: spot: expected true or false");
    expect_error(GROUPS "    price_per_hour: cheap\n" PARTS, "t.yaml:6:21: price_per_hour:");
    expect_error("node_groups:\n  - name: a\n    nodes: n1\n    cpus: 2\n    memory: 1Q\n" PARTS,
                 "t.yaml:5:13: memory: expected a size such as 16G");
    expect_error("a: [\n", "t.yaml:2:1: YAML syntax error");
    expect_error("", "the file is empty");
    expect_error("- 1\n- 2\n", "t.yaml:1:1: expected a mapping");
    expect_error("node_groups:\n  - name: a\n    cpus: 2\n    memory: 1G\n" PARTS,
                 "t.yaml:2:5: missing required key \"nodes\" in node group \"a\"");
    expect_error(GROUPS, "no partitions defined");
    expect_error(PARTS, "missing required key \"node_groups\"");
    expect_error(GROUPS "partitions:\n  - name: p\n    node_groups: [zz]\n",
                 "partition \"p\" names node group \"zz\", which is not defined");
    expect_error(GROUPS "  - name: a\n    nodes: m1\n    cpus: 1\n    memory: 1G\n" PARTS,
                 "duplicate node group name \"a\"");
    expect_error(GROUPS "  - name: b\n    nodes: n2\n    cpus: 1\n    memory: 1G\n" PARTS,
                 "t.yaml:6:5: node n2 is in node groups \"a\" and \"b\"");
    expect_error(GROUPS PARTS "  - name: p\n    node_groups: [a]\n",
                 "duplicate partition name \"p\"");
    expect_error(GROUPS PARTS "    default: true\n  - name: q\n    node_groups: [a]\n"
                              "    default: true\n",
                 "partitions \"p\" and \"q\" are both marked default");
    expect_error(GROUPS PARTS "  - name: q\n    node_groups: [a]\n", "no default partition");
    expect_error(GROUPS PARTS "    max_time: 10\n    default_time: 20\n",
                 "default_time is longer than max_time");
    expect_error("node_groups:\n  - name: a\n    nodes: n[3-1]\n    cpus: 2\n    memory: 1G\n" PARTS,
                 "t.yaml:3:12: nodes: range 3-1 goes backwards");
    expect_error(GROUPS PARTS "    state: SLEEPY\n", "state: expected UP, DOWN, DRAIN or INACTIVE");
    expect_error(GROUPS PARTS "    min_nodes: 3\n    max_nodes: 2\n",
                 "min_nodes is larger than max_nodes");
    expect_error(GROUPS PARTS "    allow_users: {a: b}\n", "allow_users: expected a list");
}
END_TEST

START_TEST(test_all_errors_reported)
{
    struct sl_conf *c = NULL;
    char *errors = NULL;
    const char *path = TEST_SRCDIR "/tests/unit/conf/three-errors.yaml";
    ck_assert_int_eq(sl_conf_load(path, &c, &errors), -1);
    int lines = 0;
    for (const char *p = errors; *p; p++)
        lines += (*p == '\n');
    ck_assert_msg(lines == 3, "expected 3 errors:\n%s", errors);
    ck_assert_ptr_nonnull(strstr(errors, "three-errors.yaml:2:9: port:"));
    ck_assert_ptr_nonnull(strstr(errors, "three-errors.yaml:7:13: memory:"));
    ck_assert_ptr_nonnull(strstr(errors, "three-errors.yaml:11:5: unknown key \"default_tme\""));
    free(errors);
    ck_assert_int_eq(sl_conf_load("/no/such/file.yaml", &c, &errors), -1);
    ck_assert_ptr_nonnull(strstr(errors, "/no/such/file.yaml: cannot read configuration: No such "
                                         "file or directory"));
    free(errors);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("conf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_shipped_default);
    tcase_add_test(tc, test_good_values_and_defaults);
    tcase_add_test(tc, test_single_partition_is_default);
    tcase_add_test(tc, test_conf_path);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_all_errors_reported);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
