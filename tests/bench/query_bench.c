/* query_bench.c - the controller's side of squeue over a big queue: how
 * long query_jobs' writer takes per job, and how long a client's jansson
 * parse of the reply takes, without a cluster.
 *
 *   query_bench [NJOBS ...]        default: 100000 1000000
 *
 * For each size: N pending jobs in a job table; the rows squeue's default
 * format asks for (the raw data frame query_jobs sends them in),
 * the whole objects (squeue --json, scontrol; up to 200,000 jobs), and json_loadb() of each
 * reply (what sl_msg_decode does in the client).  Figures only.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctld.h"
#include "jobjson.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* squeue's default format, sort and filters (cli/squeue.c letter_fields) */
static const char *const default_fields[] = {
    "job_id", "array_job_id", "array_task_id", "array_throttle", "array_tasks", "name",
    "user", "partition", "state", "completing", "configuring", "reason", "nodes",
    "start_time", "end_time", "time_limit", "num_nodes", "priority"};

static void parse_time(const char *what, const char *buf, size_t len, size_t n)
{
    json_error_t err;
    double t0 = now_s();
    json_t *o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &err);
    double t1 = now_s();
    if (!o)
        fatalx("%s: %s", what, err.text);
    json_decref(o);
    printf("  %-34s %8.3f s  %6.2f us/job\n", what, t1 - t0, (t1 - t0) * 1e6 / (double)n);
}

static void run(struct ctld *c, size_t n)
{
    job_table_init(&c->jobs);
    for (size_t i = 0; i < n; i++) {
        struct job *j = xcalloc(1, sizeof(*j));
        j->id = (uint32_t)(i + 1);
        j->name = xstrdup("wrap");
        j->user = xstrdup("root");
        j->group = xstrdup("root");
        j->partition = xstrdup("batch");
        j->state = JOB_PENDING;
        j->reason = REASON_JOB_HELD_USER;
        j->held = true;
        j->submit_time = ctld_now() - (long)(i % 3600);
        j->time_limit = -1;
        j->nodes_req = j->ntasks = j->cpus_per_task = 1;
        j->work_dir = xstrdup("/tmp");
        j->cancelled_by = -1;
        j->pending_end_state = -1;
        job_insert(&c->jobs, j);
    }
    int nf = (int)(sizeof(default_fields) / sizeof(*default_fields)), fields[32];
    for (int k = 0; k < nf; k++)
        fields[k] = job_field_index(default_fields[k]);
    printf("%zu pending jobs\n", n);

    struct jw w;
    jw_init(&w, 1 << 16);
    double t0 = now_s();
    JOB_FOREACH(&c->jobs, j) job_write_row(&w, c, j, fields, nf);
    double t1 = now_s();
    printf("  %-34s %8.3f s  %6.2f us/job  %zu bytes\n", "ctld: squeue's rows", t1 - t0,
           (t1 - t0) * 1e6 / (double)n, w.len);
    jw_free(&w); /* a raw frame: squeue parses it in place, no jansson */

    if (n > 200000) /* about 1.5 kB a job: --json is for smaller queues */
        goto few_paths;
    jw_init(&w, 1 << 16);
    t0 = now_s();
    jw_puts(&w, "{\"jobs\":[");
    size_t k = 0;
    JOB_FOREACH(&c->jobs, j)
    {
        if (k++)
            jw_raw(&w, ",", 1);
        job_write_object(&w, c, j, false);
    }
    jw_puts(&w, "]}");
    t1 = now_s();
    printf("  %-34s %8.3f s  %6.2f us/job  %zu bytes\n", "ctld: whole objects (--json)",
           t1 - t0, (t1 - t0) * 1e6 / (double)n, w.len);
    parse_time("client: parse the objects reply", w.buf, w.len, n);
    jw_free(&w);
few_paths:;

    size_t few = n < 10000 ? n : 10000;
    t0 = now_s();
    k = 0;
    JOB_FOREACH(&c->jobs, j)
    {
        if (k < few)
            json_decref(job_to_json(c, j));
        k++;
    }
    t1 = now_s();
    printf("  %-34s %8.3f s  %6.2f us/job\n", "ctld: job_to_json (few-job paths)", t1 - t0,
           (t1 - t0) * 1e6 / (double)few);
    job_table_free(&c->jobs);
}

int main(int argc, char **argv)
{
    const char *yaml = "node_groups:\n  - {name: s, nodes: \"s[1-10]\", cpus: 32, memory: 128G}\n"
                       "partitions:\n  - {name: batch, node_groups: [s], default: true}\n";
    struct ctld ctx, *c = &ctx;
    char *errors = NULL;
    memset(c, 0, sizeof(*c));
    if (sl_conf_load_string(yaml, strlen(yaml), "bench.yaml", &c->conf, &errors) < 0)
        fatalx("config: %s", errors);
    job_table_init(&c->jobs);
    nodes_create(c);
    job_table_free(&c->jobs);
    if (argc > 1)
        for (int i = 1; i < argc; i++)
            run(c, (size_t)strtoul(argv[i], NULL, 10));
    else {
        run(c, 100000);
        run(c, 1000000);
    }
    sl_conf_destroy(c->conf);
    return 0;
}
