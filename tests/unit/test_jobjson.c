/* test_jobjson.c - the ctld's job JSON writer (slurmish-ctld/jobjson.c).
 *
 * The writer replaced a jansson tree per job.  reference_json() below is
 * that old builder, kept here only as the fixed expected shape: for jobs
 * with every field set (strings needing escapes, arrays, GPU ids, steps,
 * array records) the writer's text must equal jansson's compact dump of
 * it byte for byte, and each cell of a row must equal the value's dump.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "jobjson.h"
#include "step.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/xmalloc.h"

static struct ctld ctx, *c = &ctx;

static char *ranged(const char *nodelist)
{
    struct hostlist *hl = hostlist_create(nodelist, NULL);
    char *s;
    if (!hl)
        return xstrdup("");
    hostlist_uniq(hl);
    s = hostlist_ranged_string(hl);
    hostlist_destroy(hl);
    return s ? s : xstrdup("");
}

/* The jansson builder job_to_json was before the writer (frozen). */
static json_t *reference_json(const struct job *j)
{
    char *nodes = j->nodelist ? ranged(j->nodelist) : xstrdup("");
    int nalloc = 0;
    char batch_host[256] = "";
    if (j->nodelist) {
        nalloc = 1;
        for (const char *p = j->nodelist; *p; p++)
            nalloc += (*p == ',');
        snprintf(batch_host, sizeof(batch_host), "%.*s", (int)strcspn(j->nodelist, ","),
                 j->nodelist);
    }
    int num_cpus = nalloc ? j->alloc_cpus * nalloc : j->ntasks * j->cpus_per_task;
    json_t *o = json_pack(
        "{s:I, s:s, s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:i, s:i,"
        " s:i, s:i, s:I, s:s, s:s, s:i, s:i}",
        "job_id", (json_int_t)j->id, "name", j->name, "user", j->user, "uid", (json_int_t)j->uid,
        "group", j->group, "gid", (json_int_t)j->gid, "partition", j->partition, "state",
        job_state_name(j->state), "reason", job_reason_name(j->reason), "completing",
        j->completing, "priority", (json_int_t)j->priority, "submit_time",
        (json_int_t)j->submit_time, "start_time",
        (json_int_t)(j->state == JOB_PENDING ? j->expected_start : j->start_time), "end_time",
        (json_int_t)j->end_time, "time_limit", (json_int_t)j->time_limit, "num_nodes",
        nalloc ? nalloc : j->nodes_req, "num_cpus", num_cpus, "num_tasks", j->ntasks,
        "cpus_per_task", j->cpus_per_task, "mem_per_node_mb",
        (json_int_t)(nalloc ? j->alloc_mem : j->mem_mb), "nodes", nodes, "batch_host",
        batch_host, "exit_status", j->exit_status, "exit_signal", j->exit_signal);
    free(nodes);
    ck_assert_ptr_nonnull(o);
    json_object_set_new(o, "work_dir", json_string(j->work_dir ? j->work_dir : ""));
    json_object_set_new(o, "stdout", json_string(j->out ? j->out : ""));
    json_object_set_new(o, "stderr", json_string(j->err ? j->err : ""));
    json_object_set_new(o, "stdin", json_string(j->in ? j->in : "/dev/null"));
    json_object_set_new(o, "submit_host", json_string(j->submit_host ? j->submit_host : ""));
    json_object_set_new(o, "account", json_string(j->account ? j->account : ""));
    json_object_set_new(o, "comment", json_string(j->comment ? j->comment : ""));
    json_object_set_new(o, "command", json_string(j->command ? j->command : ""));
    json_object_set_new(o, "cancelled_by", json_integer(j->cancelled_by));
    json_object_set_new(o, "held", json_boolean(j->held));
    json_object_set_new(o, "configuring", json_boolean(j->configuring));
    json_object_set_new(o, "cost", json_real(j->cost));
    json_object_set_new(o, "interruptions", json_integer(j->interruptions));
    if (j->fallback)
        json_object_set_new(o, "fallback", json_string(j->fallback));
    json_object_set_new(o, "nice", json_integer(j->nice));
    json_object_set_new(o, "requeue", json_boolean(j->requeue));
    if (j->state == JOB_PENDING) {
        struct part *p = part_find(c, j->partition);
        int age, size;
        sched_priority_factors(j, p, ctld_now(), &age, &size);
        json_object_set_new(o, "priority_factors",
                            json_pack("{s:i, s:i, s:i, s:i, s:b}", "age", age, "job_size", size,
                                      "nice", j->nice, "partition_tier",
                                      p ? p->conf->priority_tier : 0, "fixed", j->prio_set != 0));
    }
    json_object_set_new(o, "restarts", json_integer(j->restarts));
    json_object_set_new(o, "interactive", json_boolean(j->interactive));
    if (j->steps)
        json_object_set_new(o, "steps", steps_to_json(j));
    if (j->interactive && j->state == JOB_RUNNING) {
        json_object_set_new(o, "last_activity", json_integer(j->last_activity > j->start_time
                                                                  ? j->last_activity
                                                                  : j->start_time));
        json_object_set_new(o, "idle_warned", json_integer(j->idle_warned));
    }
    json_object_set_new(o, "begin_time",
                        json_integer(j->begin_time ? j->begin_time : j->submit_time));
    if (j->array_job_id) {
        json_object_set_new(o, "array_job_id", json_integer(j->array_job_id));
        json_object_set_new(o, "array_task_id", json_integer(j->array_task_id));
        json_object_set_new(o, "array_throttle", json_integer(j->array_throttle));
        if (j->array_task_id < 0) {
            char *r = array_ranges(j);
            json_object_set_new(o, "array_tasks", json_string(r));
            json_object_set_new(o, "array_tasks_pending", json_integer(j->array_pending));
            free(r);
        }
    }
    json_object_set_new(o, "dependency", json_string(j->dependency ? j->dependency : ""));
    json_object_set_new(o, "gpus_per_node", json_integer(j->gpus_per_node));
    json_object_set_new(o, "gpu_type", j->gpu_type ? json_string(j->gpu_type) : json_null());
    json_object_set_new(o, "exclusive", json_boolean(j->exclusive));
    json_object_set_new(o, "constraint", json_string(j->constraint ? j->constraint : ""));
    json_object_set_new(o, "req_nodes", json_string(j->req_nodes ? j->req_nodes : ""));
    json_object_set_new(o, "exc_nodes", json_string(j->exc_nodes ? j->exc_nodes : ""));
    json_object_set_new(o, "ntasks_per_node", json_integer(j->ntasks_per_node));
    json_object_set_new(o, "mem_per_cpu_mb", json_integer((json_int_t)j->mem_per_cpu_mb));
    char gids[400] = "";
    size_t goff = 0;
    for (int g = 0; j->gpu_masks && g < 64; g++)
        if (j->gpu_masks[0] & (1ULL << g))
            goff += (size_t)snprintf(gids + goff, sizeof(gids) - goff, "%s%d", goff ? "," : "", g);
    json_object_set_new(o, "gpu_ids", json_string(gids));
    return o;
}

static void setup(void)
{
    const char *yaml = "node_groups:\n"
                       "  - {name: n, nodes: \"n[1-4]\", cpus: 8, memory: 8G, gpus: 4}\n"
                       "partitions:\n"
                       "  - {name: debug, node_groups: [n], default: true, priority_tier: 3}\n";
    char *errors = NULL;
    memset(c, 0, sizeof(*c));
    ck_assert_int_eq(sl_conf_load_string(yaml, strlen(yaml), "t.yaml", &c->conf, &errors), 0);
    job_table_init(&c->jobs);
    nodes_create(c);
    ctld_clock_override = 1700000000;
}

static void teardown(void)
{
    job_table_free(&c->jobs);
    sl_conf_destroy(c->conf);
    ctld_clock_override = 0;
}

/* A job with every field set; strings that need escaping everywhere. */
static struct job *full_job(uint32_t id, int state)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->id = id;
    j->name = xstrdup("quote\" back\\slash\nnew\ttab\x01\x1f caf\xc3\xa9 \xe2\x82\xac /slash");
    j->uid = 1001;
    j->gid = 1002;
    j->user = xstrdup("alice");
    j->group = xstrdup("staff");
    j->partition = xstrdup("debug");
    j->state = state;
    j->reason = state == JOB_PENDING ? REASON_PRIORITY : REASON_NONE;
    j->dependency = xstrdup("afterok:12:13");
    j->submit_time = 1699999000;
    j->expected_start = 1700000500;
    j->begin_time = 1699999500;
    j->time_limit = 3600;
    j->nodes_req = 2;
    j->ntasks = 5;
    j->cpus_per_task = 3;
    j->mem_mb = 2048;
    j->mem_per_cpu_mb = 512;
    j->ntasks_per_node = 3;
    j->gpus_per_node = 2;
    j->gpu_type = xstrdup("a100");
    j->exclusive = true;
    j->constraint = xstrdup("fast&big");
    j->req_nodes = xstrdup("n[1-2]");
    j->exc_nodes = xstrdup("n4");
    j->priority = 4242;
    j->nice = -5;
    j->prio_set = 7;
    j->requeue = true;
    j->restarts = 2;
    j->interruptions = 1;
    j->cost = 0.1 + 0.2;
    j->fallback = xstrdup("spot: \"none\" left");
    j->work_dir = xstrdup("/home/alice/dir with space");
    j->out = xstrdup("/tmp/out-%j.txt");
    j->err = xstrdup("/tmp/err");
    j->submit_host = xstrdup("login1");
    j->account = xstrdup("physics");
    j->comment = xstrdup("a comment\r\n");
    j->command = xstrdup("/bin/run.sh");
    j->cancelled_by = -1;
    j->exit_status = 3;
    j->exit_signal = 9;
    j->held = true;
    j->pending_end_state = -1;
    return j;
}

static void check_same(const struct job *j)
{
    json_t *ref = reference_json(j);
    char *want = json_dumps(ref, JSON_COMPACT);
    struct jw w;
    jw_init(&w, 16);
    job_write_object(&w, c, j, false);
    char *got = jw_take(&w, NULL);
    ck_assert_str_eq(got, want);

    /* job_to_json: the same tree */
    json_t *tree = job_to_json(c, j);
    ck_assert(json_equal(tree, ref));

    /* rows: every field, each cell the value's compact JSON ("" if absent) */
    int n = job_field_count();
    int *fields = xcalloc((size_t)n, sizeof(int));
    for (int f = 0; f < n; f++)
        fields[f] = n - 1 - f; /* any order */
    jw_init(&w, 16);
    job_write_row(&w, c, j, fields, n);
    char *row = jw_take(&w, NULL), *save = NULL;
    ck_assert_int_eq(row[strlen(row) - 1], '\n');
    row[strlen(row) - 1] = '\0';
    char *p = row;
    for (int k = 0; k < n; k++) {
        char *cell = strsep(&p, "\t");
        ck_assert_ptr_nonnull(cell);
        json_t *v = json_object_get(ref, job_field_name(fields[k]));
        char *vt = v ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : xstrdup("");
        ck_assert_str_eq(cell, vt);
        free(vt);
    }
    ck_assert_ptr_null(p);
    (void)save;
    free(row);
    free(fields);
    free(got);
    free(want);
    json_decref(tree);
    json_decref(ref);
}

START_TEST(test_pending)
{
    struct job *j = full_job(17, JOB_PENDING);
    check_same(j);
    job_free(j);
}
END_TEST

START_TEST(test_running_with_steps_and_gpus)
{
    struct job *j = full_job(18, JOB_RUNNING);
    j->start_time = 1699999900;
    j->nodelist = xstrdup("n1,n2,n3");
    j->alloc_cpus = 8;
    j->alloc_mem = 4096;
    j->gpu_masks = xcalloc(3, sizeof(uint64_t));
    j->gpu_masks[0] = 0x5; /* GPUs 0 and 2 */
    j->interactive = true;
    j->last_activity = 1699999950;
    j->idle_warned = 1699999990;
    j->configuring = true;
    j->completing = false;
    struct step *s = xcalloc(1, sizeof(*s));
    s->id = 0;
    s->name = xstrdup("bash \"-i\"");
    s->ntasks = 2;
    s->nnodes = 2;
    s->nodes = xcalloc(2, sizeof(char *));
    s->nodes[0] = xstrdup("n1");
    s->nodes[1] = xstrdup("n2");
    s->tasks = xcalloc(2, sizeof(int));
    s->done = xcalloc(2, sizeof(bool));
    s->cpu_ms = xcalloc(2, sizeof(uint64_t));
    s->pty = true;
    s->start_time = 1699999960;
    s->state = JOB_RUNNING;
    j->steps = s;
    check_same(j);
    job_free(j);
}
END_TEST

START_TEST(test_array_records)
{
    /* the meta record of pending tasks: its ranges and throttle */
    struct job *m = full_job(30, JOB_PENDING);
    m->array_job_id = 30;
    m->array_task_id = -1;
    m->array_throttle = 4;
    m->array_nbits = 64;
    m->array_bits = xcalloc(8, 1);
    for (int t = 0; t < 64; t++)
        if (t < 5 || t == 9 || (t >= 40 && t < 50)) {
            m->array_bits[t / 8] |= (uint8_t)(1u << (t % 8));
            m->array_pending++;
        }
    m->array_count = 64;
    m->array_max = 63;
    check_same(m);
    job_free(m);
    /* a task that ran and ended, no optional fields */
    struct job *t = full_job(31, JOB_FAILED);
    t->array_job_id = 30;
    t->array_task_id = 7;
    t->end_time = 1700000000;
    t->nodelist = xstrdup("n4");
    free(t->fallback);
    t->fallback = NULL;
    free(t->gpu_type);
    t->gpu_type = NULL;
    t->cost = 2.0;
    check_same(t);
    job_free(t);
}
END_TEST

START_TEST(test_rows_and_bad_utf8)
{
    /* rows: cells' JSON text between tabs, a newline after each row */
    struct job *j = full_job(40, JOB_PENDING);
    free(j->comment);
    j->comment = xstrdup("bad \xff byte");
    int fields[] = {job_field_index("job_id"), job_field_index("name"),
                    job_field_index("comment"), job_field_index("gpu_type")};
    struct jw w;
    jw_init(&w, 16);
    job_write_row(&w, c, j, fields, 4);
    job_write_row(&w, c, j, fields, 4);
    char *rows = jw_take(&w, NULL);
    char want[1024];
    snprintf(want, sizeof(want), "40\t%s\t\"bad \\ufffd byte\"\t\"a100\"\n",
             "\"quote\\\" back\\\\slash\\nnew\\ttab\\u0001\\u001F caf\xc3\xa9 \xe2\x82\xac /slash\"");
    ck_assert_int_eq(strlen(rows), 2 * strlen(want));
    ck_assert(!strncmp(rows, want, strlen(want)));
    ck_assert_str_eq(rows + strlen(want), want);
    ck_assert_int_eq(job_field_index("no_such_field"), -1);
    free(rows);
    job_free(j);
}
END_TEST

START_TEST(test_reply_head)
{
    size_t len;
    char *buf = sl_msg_encode_reply_raw(99, "{\"a\":[1,2]}", 11, &len);
    json_t *body = json_pack("{s:[i,i]}", "a", 1, 2);
    size_t len2;
    char *ref = sl_msg_encode_reply(99, 0, NULL, body, &len2);
    ck_assert_str_eq(buf, ref);
    ck_assert_uint_eq(len, len2);
    free(buf);
    free(ref);
    json_decref(body);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("jobjson");
    TCase *tc = tcase_create("writer");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_pending);
    tcase_add_test(tc, test_running_with_steps_and_gpus);
    tcase_add_test(tc, test_array_records);
    tcase_add_test(tc, test_rows_and_bad_utf8);
    tcase_add_test(tc, test_reply_head);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
