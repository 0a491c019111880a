/* test_invariants.c - the controller's whole-state invariant pass finds
 * what it promises to find: a node's usage that its jobs' allocations do
 * not add up to, a job whose state disagrees with its allocation or its
 * place in the pending queue; and says "ok" for a consistent state. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "types.h"
#include "util/xmalloc.h"

static struct ctld C;

static const char yaml[] = "node_groups:\n"
                           "  - {name: n, nodes: \"n[1-2]\", cpus: 4, memory: 4G, gpus: 2}\n"
                           "partitions:\n"
                           "  - {name: debug, node_groups: [n], default: true}\n";

static void setup(void)
{
    char *errors = NULL;
    memset(&C, 0, sizeof(C));
    ck_assert_msg(sl_conf_load_string(yaml, strlen(yaml), "t.yaml", &C.conf, &errors) == 0, "%s",
                  errors ? errors : "");
    job_table_init(&C.jobs);
    ck_assert_int_eq(nodes_create(&C), 0);
    for (int i = 0; i < C.nnodes; i++)
        C.nodes[i].registered = true;
}

static void teardown(void)
{
    job_table_free(&C.jobs);
    nodes_destroy(&C);
    sl_conf_destroy(C.conf);
}

static struct job *new_job(uint32_t id)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->id = id;
    j->name = xstrdup("t");
    j->user = xstrdup("u");
    j->group = xstrdup("g");
    j->partition = xstrdup("debug");
    j->state = JOB_PENDING;
    j->cancelled_by = -1;
    j->pending_end_state = -1;
    job_insert(&C.jobs, j);
    return j;
}

/* A running job on n1 with 2 CPUs, 512 MiB and GPU 1. */
static struct job *running_job(uint32_t id)
{
    struct job *j = new_job(id);
    struct node *n = &C.nodes[0];
    uint64_t gpus = 2;
    ck_assert_int_eq(job_alloc(&C, j, &n, 1, 2, 512, &gpus), 0);
    j->state = JOB_RUNNING;
    j->start_time = 1000;
    return j;
}

static int check(char *text, size_t len)
{
    return invariants_check(&C, text, len);
}

START_TEST(test_consistent_is_ok)
{
    char text[1200];
    ck_assert_int_eq(check(text, sizeof(text)), 0);
    ck_assert_str_eq(text, "ok");
    running_job(1);
    job_queue_add(&C.jobs, new_job(2));
    ck_assert_int_eq(check(text, sizeof(text)), 0);
    ck_assert_str_eq(text, "ok");
}
END_TEST

/* Every job of the table is on the pending queue, the active list or the
 * ended list, through any order of insert, queue, dequeue, end and
 * remove; JOB_FOREACH_ACTIVE sees exactly the running jobs, and
 * JOB_FOREACH_ENDED the ended ones. */
START_TEST(test_job_lists)
{
    char text[1200];
    struct job *a = new_job(1), *b = new_job(2), *r = running_job(3);
    job_queue_add(&C.jobs, a);
    job_queue_add(&C.jobs, b);
    /* queued before it is in the table, as a new array task */
    struct job *t = xcalloc(1, sizeof(*t));
    t->id = 4;
    t->name = xstrdup("t"), t->user = xstrdup("u"), t->group = xstrdup("g");
    t->partition = xstrdup("debug");
    t->state = JOB_PENDING;
    t->cancelled_by = t->pending_end_state = -1;
    job_queue_add(&C.jobs, t);
    job_insert(&C.jobs, t);
    ck_assert_int_eq(C.jobs.npending, 3);
    ck_assert_int_eq(C.jobs.nactive, 1);
    ck_assert_int_eq(C.jobs.nended, 0);
    ck_assert_int_eq(check(text, sizeof(text)), 0);

    /* b ends without running: it leaves the queue for the ended list */
    b->state = JOB_CANCELLED;
    job_queue_del(&C.jobs, b);
    ck_assert_int_eq(C.jobs.nactive, 1);
    ck_assert_int_eq(C.jobs.nended, 1);
    size_t seen = 0;
    JOB_FOREACH_ACTIVE(&C.jobs, j)
    {
        ck_assert(j == r);
        seen++;
    }
    ck_assert_int_eq(seen, 1);
    ck_assert_msg(check(text, sizeof(text)) == 0, "%s", text);

    /* r ends: until synced it is on the wrong list, which the check names */
    r->state = JOB_COMPLETED;
    r->completing = true;
    job_lists_sync(&C.jobs, r); /* completing: still active */
    ck_assert_int_eq(C.jobs.nactive, 1);
    job_release(&C, r);
    ck_assert_int_ne(check(text, sizeof(text)), 0);
    ck_assert_ptr_nonnull(strstr(text, "on the active list"));
    job_lists_sync(&C.jobs, r);
    ck_assert_int_eq(C.jobs.nactive, 0);
    ck_assert_int_eq(C.jobs.nended, 2);
    ck_assert_msg(check(text, sizeof(text)) == 0, "%s", text);

    /* the ended list is walked while a job on it is removed (as cron
     * purges ended jobs), in the order they ended */
    seen = 0;
    JOB_FOREACH_ENDED(&C.jobs, j)
    {
        ck_assert(j == (seen ? r : b));
        if (j == b) {
            job_remove(&C.jobs, j);
            job_free(j);
        }
        seen++;
    }
    ck_assert_int_eq(seen, 2);
    ck_assert_int_eq(C.jobs.nended, 1);
    ck_assert_msg(check(text, sizeof(text)) == 0, "%s", text);

    /* an ended job requeued goes back to the queue */
    r->state = JOB_PENDING;
    job_queue_add(&C.jobs, r);
    ck_assert_int_eq(C.jobs.nended, 0);
    ck_assert_int_eq(C.jobs.npending, 3);
    ck_assert_msg(check(text, sizeof(text)) == 0, "%s", text);

    job_remove(&C.jobs, a); /* a pending job leaves the queue with the table */
    job_free(a);
    ck_assert_int_eq(C.jobs.npending, 2);
    ck_assert_msg(check(text, sizeof(text)) == 0, "%s", text);
    ck_assert_str_eq(text, "ok");

    /* a broken count is reported */
    C.jobs.nactive++;
    ck_assert_int_ne(check(text, sizeof(text)), 0);
    ck_assert_ptr_nonnull(strstr(text, "active and ended lists"));
    C.jobs.nactive--;
}
END_TEST

START_TEST(test_leaked_node_usage)
{
    char text[1200];
    running_job(1);
    C.nodes[0].cpus_used += 1; /* as if a release had been missed */
    ck_assert_int_eq(check(text, sizeof(text)), 1);
    ck_assert_ptr_nonnull(strstr(text, "node n1: used cpus 3"));
    ck_assert_ptr_nonnull(strstr(text, "jobs hold cpus 2"));
    C.nodes[0].cpus_used -= 1;
    C.nodes[1].mem_used = 100; /* memory on a node no job holds */
    ck_assert_int_eq(check(text, sizeof(text)), 1);
    ck_assert_ptr_nonnull(strstr(text, "node n2"));
    C.nodes[1].mem_used = 0;
    C.nodes[0].gpus_used = 0; /* GPU 1 of n1 is held by job 1 */
    ck_assert_int_eq(check(text, sizeof(text)), 1);
    ck_assert_ptr_nonnull(strstr(text, "gpus 0 jobs 1, but its jobs hold cpus 2 mem 512 gpus 0x2"));
}
END_TEST

START_TEST(test_job_state_against_allocation)
{
    char text[1200];
    struct job *j = running_job(1);
    j->state = JOB_COMPLETED; /* final, not completing, still holding n1 */
    ck_assert_int_ge(check(text, sizeof(text)), 1);
    ck_assert_ptr_nonnull(strstr(text, "job 1 COMPLETED and not completing, but holds 1 nodes"));
    j->completing = true; /* the node has not reported the end yet: fine */
    ck_assert_int_eq(check(text, sizeof(text)), 0);
    struct job *p = new_job(2); /* PENDING but not in the queue */
    ck_assert_int_ge(check(text, sizeof(text)), 1);
    ck_assert_ptr_nonnull(strstr(text, "job 2 queued=0 in state PENDING"));
    job_queue_add(&C.jobs, p);
    ck_assert_int_eq(check(text, sizeof(text)), 0);
    C.jobs.npending++; /* a count that lies */
    ck_assert_int_ge(check(text, sizeof(text)), 1);
    ck_assert_ptr_nonnull(strstr(text, "pending queue holds 1 jobs"));
    C.jobs.npending--;
}
END_TEST

START_TEST(test_many_violations_are_capped)
{
    char text[64];
    for (uint32_t id = 1; id <= 50; id++)
        new_job(id); /* 50 pending jobs, none queued */
    ck_assert_int_ge(check(text, sizeof(text)), 50);
    ck_assert_uint_lt(strlen(text), sizeof(text));
}
END_TEST

/* node_find() by its index: every node of a big fleet, and no other name. */
START_TEST(test_node_find_index)
{
    static const char big[] = "node_groups:\n"
                              "  - {name: a, nodes: \"a[1-5000]\", cpus: 4, memory: 4G}\n"
                              "  - {name: b, nodes: \"b[1-3]\", cpus: 4, memory: 4G}\n"
                              "partitions:\n"
                              "  - {name: p, node_groups: [a, b], default: true}\n";
    struct ctld big_c;
    char *errors = NULL, name[32];
    memset(&big_c, 0, sizeof(big_c));
    ck_assert_msg(sl_conf_load_string(big, strlen(big), "big.yaml", &big_c.conf, &errors) == 0,
                  "%s", errors ? errors : "");
    ck_assert_int_eq(nodes_create(&big_c), 0);
    ck_assert_int_eq(big_c.nnodes, 5003);
    for (int i = 0; i < big_c.nnodes; i++)
        ck_assert_ptr_eq(node_find(&big_c, big_c.nodes[i].name), &big_c.nodes[i]);
    snprintf(name, sizeof(name), "a%d", 5001);
    ck_assert_ptr_null(node_find(&big_c, name));
    ck_assert_ptr_null(node_find(&big_c, "b"));
    ck_assert_ptr_null(node_find(&big_c, ""));
    nodes_destroy(&big_c);
    ck_assert_ptr_null(node_find(&big_c, "a1")); /* no nodes, no index */
    sl_conf_destroy(big_c.conf);
    /* the fixture's two */
    ck_assert_ptr_eq(node_find(&C, "n2"), &C.nodes[1]);
    ck_assert_ptr_null(node_find(&C, "n3"));
}
END_TEST

int main(void)
{
    Suite *s = suite_create("invariants");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_consistent_is_ok);
    tcase_add_test(tc, test_job_lists);
    tcase_add_test(tc, test_leaked_node_usage);
    tcase_add_test(tc, test_job_state_against_allocation);
    tcase_add_test(tc, test_many_violations_are_capped);
    tcase_add_test(tc, test_node_find_index);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
