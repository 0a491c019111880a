/* test_metrics.c - the metrics endpoint's pure parts: listen addresses,
 * histograms and their text, label escaping, and the job table's
 * incremental per-partition, per-state counts. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include "conf/conf.h"
#include "job.h"
#include "metrics.h"
#include "node.h"
#include "types.h"
#include "util/parse.h"
#include "util/xmalloc.h"

START_TEST(test_listen_address)
{
    static const struct {
        const char *in;
        int family;
        const char *host;
        int port;
    } ok[] = {
        {"127.0.0.1:9817", AF_INET, "127.0.0.1", 9817}, {"0.0.0.0:0", AF_INET, "0.0.0.0", 0},
        {"localhost:80", AF_INET, "127.0.0.1", 80},     {"[::1]:65535", AF_INET6, "::1", 65535},
        {"[fe80::1]:1", AF_INET6, "fe80::1", 1},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        struct sockaddr_storage sa;
        socklen_t len = 0;
        sl_error_t err = {""};
        char host[64];
        ck_assert_msg(parse_listen_address(ok[i].in, &sa, &len, &err) == 0, "%s: %s", ok[i].in,
                      err.text);
        ck_assert_int_eq(sa.ss_family, ok[i].family);
        if (ok[i].family == AF_INET) {
            struct sockaddr_in *in = (struct sockaddr_in *)&sa;
            ck_assert_int_eq(len, sizeof(*in));
            ck_assert_int_eq(ntohs(in->sin_port), ok[i].port);
            inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
        } else {
            struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;
            ck_assert_int_eq(len, sizeof(*in6));
            ck_assert_int_eq(ntohs(in6->sin6_port), ok[i].port);
            inet_ntop(AF_INET6, &in6->sin6_addr, host, sizeof(host));
        }
        ck_assert_str_eq(host, ok[i].host);
    }
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "got nothing"},
        {"127.0.0.1", "no :PORT"},
        {"127.0.0.1:", "port must be a number from 0 to 65535"},
        {"127.0.0.1:65536", "port must be a number"},
        {"127.0.0.1:-1", "port must be a number"},
        {"127.0.0.1:+80", "port must be a number"},
        {"127.0.0.1:80x", "port must be a number"},
        {":80", "no address before the port"},
        {"::1:80", "IPv6 address goes in brackets"},
        {"[::1]", "must be followed by :PORT"},
        {"[::1:80", "must be followed by :PORT"},
        {"[127.0.0.1]:80", "is not an IP address"},
        {"[localhost]:80", "is not an IP address"},
        {"host.example:80", "\"host.example\" is not an IP address"},
        {"256.1.1.1:80", "is not an IP address"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct sockaddr_storage sa;
        socklen_t len;
        sl_error_t err = {""};
        ck_assert_msg(parse_listen_address(bad[i].in, &sa, &len, &err) < 0, "\"%s\" accepted",
                      bad[i].in);
        ck_assert_msg(strstr(err.text, bad[i].why), "\"%s\": %s", bad[i].in, err.text);
    }
}
END_TEST

START_TEST(test_histogram)
{
    static const double bounds[] = {0.001, 0.01, 0.1};
    struct histogram h;
    struct mbuf b = {0};
    histogram_init(&h, bounds, 3);
    histogram_observe(&h, 0.0005);
    histogram_observe(&h, 0.001); /* on a bound: le is "less or equal" */
    histogram_observe(&h, 0.05);
    histogram_observe(&h, 7);
    histogram_observe(&h, -1); /* a clock step counts as zero */
    ck_assert_uint_eq(h.count, 5);
    prom_histogram(&b, "x_seconds", "type=\"a\"", &h);
    ck_assert_str_eq(b.s, "x_seconds_bucket{type=\"a\",le=\"0.001\"} 3\n"
                          "x_seconds_bucket{type=\"a\",le=\"0.01\"} 3\n"
                          "x_seconds_bucket{type=\"a\",le=\"0.1\"} 4\n"
                          "x_seconds_bucket{type=\"a\",le=\"+Inf\"} 5\n"
                          "x_seconds_sum{type=\"a\"} 7.0515\n"
                          "x_seconds_count{type=\"a\"} 5\n");
    free(b.s);
    memset(&b, 0, sizeof(b));
    histogram_init(&h, bounds, 3);
    prom_histogram(&b, "y", "", &h);
    ck_assert_str_eq(b.s, "y_bucket{le=\"0.001\"} 0\ny_bucket{le=\"0.01\"} 0\n"
                          "y_bucket{le=\"0.1\"} 0\ny_bucket{le=\"+Inf\"} 0\ny_sum 0\ny_count 0\n");
    free(b.s);
}
END_TEST

START_TEST(test_text)
{
    struct mbuf b = {0};
    prom_header(&b, "a_total", "counter", "Things.");
    mbuf_printf(&b, "a_total{p=\"");
    mbuf_label_value(&b, "q\"uo\\te\nx");
    mbuf_printf(&b, "\"} %d\n", 3);
    ck_assert_str_eq(b.s, "# HELP a_total Things.\n# TYPE a_total counter\n"
                          "a_total{p=\"q\\\"uo\\\\te\\nx\"} 3\n");
    /* growth past the first allocation */
    for (int i = 0; i < 2000; i++)
        mbuf_printf(&b, "%s", "0123456789");
    ck_assert_uint_eq(b.len, strlen(b.s));
    free(b.s);
}
END_TEST

static struct job *mkjob(uint32_t id, const char *part, int state)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->id = id;
    j->partition = xstrdup(part);
    j->state = state;
    j->array_task_id = -1;
    return j;
}

static uint64_t count(struct job_table *t, const char *part, int state)
{
    for (size_t i = 0; i < t->ncounts; i++)
        if (!strcmp(t->counts[i].partition, part))
            return t->counts[i].state[state];
    return 0;
}

static const struct job_count *part_count(struct job_table *t, const char *part)
{
    for (size_t i = 0; i < t->ncounts; i++)
        if (!strcmp(t->counts[i].partition, part))
            return &t->counts[i];
    return NULL;
}

START_TEST(test_job_counts)
{
    struct job_table t;
    job_table_init(&t);
    struct job *a = mkjob(1, "cpu", JOB_PENDING), *b = mkjob(2, "cpu", JOB_RUNNING);
    struct job *g = mkjob(3, "gpu", JOB_RUNNING);
    g->configuring = true;
    job_insert(&t, a);
    job_insert(&t, b);
    job_insert(&t, g);
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 1);
    ck_assert_uint_eq(count(&t, "cpu", JOB_RUNNING), 1);
    ck_assert_uint_eq(count(&t, "gpu", JOB_COUNT_CONFIGURING), 1);
    ck_assert_uint_eq(count(&t, "gpu", JOB_RUNNING), 0);

    /* a state change is counted when synced (persist_job_update does it) */
    a->state = JOB_RUNNING;
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 1);
    job_counts_sync(&t, a);
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 0);
    ck_assert_uint_eq(count(&t, "cpu", JOB_RUNNING), 2);
    job_counts_sync(&t, a); /* idempotent */
    ck_assert_uint_eq(count(&t, "cpu", JOB_RUNNING), 2);
    g->configuring = false;
    job_counts_sync(&t, g);
    ck_assert_uint_eq(count(&t, "gpu", JOB_COUNT_CONFIGURING), 0);
    ck_assert_uint_eq(count(&t, "gpu", JOB_RUNNING), 1);

    /* moved to another partition (scontrol update Partition=) */
    free(b->partition);
    b->partition = xstrdup("largemem");
    job_counts_sync(&t, b);
    ck_assert_uint_eq(count(&t, "cpu", JOB_RUNNING), 1);
    ck_assert_uint_eq(count(&t, "largemem", JOB_RUNNING), 1);

    /* an array's meta record counts its pending tasks, as squeue -r */
    struct job *m = mkjob(10, "cpu", JOB_PENDING);
    m->array_job_id = 10;
    m->array_pending = 5;
    job_insert(&t, m);
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 5);
    m->array_pending = 4; /* a task split off (array_split copies the record) */
    struct job *task = xcalloc(1, sizeof(*task));
    *task = *m;
    task->id = 11;
    task->array_task_id = 0;
    task->array_pending = 0;
    task->partition = xstrdup("cpu");
    job_counts_sync(&t, task); /* a copy not yet in the table: ignored */
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 5);
    job_counts_sync(&t, m);
    job_insert(&t, task); /* counts afresh whatever the copy said */
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 5);
    m->state = JOB_CANCELLED;
    m->array_pending = 0;
    job_counts_sync(&t, m);
    ck_assert_uint_eq(count(&t, "cpu", JOB_PENDING), 1);
    ck_assert_uint_eq(count(&t, "cpu", JOB_CANCELLED), 0); /* its tasks went with it */

    /* interactive sessions, and the idle ones */
    struct job *s = mkjob(20, "cpu", JOB_RUNNING);
    s->interactive = true;
    job_insert(&t, s);
    ck_assert_uint_eq(part_count(&t, "cpu")->sessions, 1);
    ck_assert_uint_eq(part_count(&t, "cpu")->sessions_idle, 0);
    s->idle_warned = 1000;
    job_counts_sync(&t, s);
    ck_assert_uint_eq(part_count(&t, "cpu")->sessions_idle, 1);
    s->state = JOB_TIMEOUT;
    job_counts_sync(&t, s);
    ck_assert_uint_eq(part_count(&t, "cpu")->sessions, 0);
    ck_assert_uint_eq(part_count(&t, "cpu")->sessions_idle, 0);
    ck_assert_uint_eq(count(&t, "cpu", JOB_TIMEOUT), 1);

    /* the cost of running jobs accrues at a rate per partition */
    struct sl_node_group grp = {.name = "n", .cpus = 2, .price_per_hour = 36};
    struct node nd = {.name = "n1", .group = &grp};
    struct node *alloc[] = {&nd};
    struct job *r = mkjob(40, "cost", JOB_RUNNING);
    r->alloc = xcalloc(1, sizeof(*r->alloc));
    r->alloc[0] = alloc[0];
    r->nalloc = 1;
    r->alloc_cpus = 1; /* half the node: 18 per hour, 0.005 per second */
    r->start_time = 1000;
    t.cost_since = 1100; /* the controller started later: count from then */
    job_insert(&t, r);
    const struct job_count *cc = part_count(&t, "cost");
    ck_assert_uint_eq(cc->rated, 1);
    ck_assert_double_eq_tol(cc->rate, 0.005, 1e-12);
    ck_assert_double_eq_tol(cc->rate * 1200 - cc->rate_start, 0.5, 1e-9); /* 100 s */
    r->exclusive = true; /* the whole node: twice the rate */
    job_counts_sync(&t, r);
    cc = part_count(&t, "cost");
    ck_assert_double_eq_tol(cc->rate, 0.01, 1e-12);
    r->configuring = true; /* booting nodes cost the job nothing */
    job_counts_sync(&t, r);
    cc = part_count(&t, "cost");
    ck_assert_uint_eq(cc->rated, 0);
    ck_assert(cc->rate == 0 && cc->rate_start == 0);
    r->configuring = false;
    job_counts_sync(&t, r);
    r->state = JOB_COMPLETED;
    job_counts_sync(&t, r);
    cc = part_count(&t, "cost");
    ck_assert_uint_eq(cc->rated, 0);
    ck_assert(cc->rate == 0 && cc->rate_start == 0); /* reset exactly */

    /* a job not in the table is not counted until inserted */
    struct job *loose = mkjob(30, "cpu", JOB_FAILED);
    job_counts_sync(&t, loose);
    ck_assert_uint_eq(count(&t, "cpu", JOB_FAILED), 0);
    job_free(loose);

    /* removal (purge after min_job_age) uncounts */
    job_remove(&t, s);
    job_free(s);
    ck_assert_uint_eq(count(&t, "cpu", JOB_TIMEOUT), 0);
    job_remove(&t, a);
    job_free(a);
    ck_assert_uint_eq(count(&t, "cpu", JOB_RUNNING), 0);
    job_table_free(&t);
    ck_assert_ptr_null(t.counts);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("metrics");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_listen_address);
    tcase_add_test(tc, test_histogram);
    tcase_add_test(tc, test_text);
    tcase_add_test(tc, test_job_counts);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
