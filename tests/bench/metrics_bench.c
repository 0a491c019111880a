/* metrics_bench.c - what the Prometheus endpoint costs the controller's loop.
 *
 *   metrics_bench [--smoke] [JOBSxNODES ...]   default: 10000x1000 100000x1000
 *                                              100000x10000 1000000x10000
 *
 * Builds the controller's job table and nodes (no daemons), turns metrics
 * on (127.0.0.1, any free port), and times, in microseconds:
 *   render  - one full /metrics exposition (what a scrape costs the loop);
 *   scan    - for comparison, one walk of every job counting by state and
 *             partition (what a render would cost without the counts);
 *   sync    - one job_counts_sync() (added to every persisted job change);
 * and prints the exposition's size.  Figures only: nothing is asserted.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctld.h"
#include "metrics.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void run(int njobs, int nnodes, int reps)
{
    static const char *parts[] = {"cpu", "gpu", "largemem", "debug"};
    struct ctld ctx, *c = &ctx;
    char *errors = NULL, perr[512];
    char *yaml = xasprintf("controller: {metrics_address: \"127.0.0.1:0\"}\n"
                           "node_groups:\n"
                           "  - {name: c, nodes: \"c[1-%d]\", cpus: 2, memory: 8G}\n"
                           "  - {name: g, nodes: \"g[1-%d]\", cpus: 2, memory: 8G, gpus: 2,"
                           " cloud: true}\n"
                           "partitions:\n"
                           "  - {name: cpu, node_groups: [c], default: true}\n"
                           "  - {name: gpu, node_groups: [g]}\n"
                           "  - {name: largemem, node_groups: [c]}\n"
                           "  - {name: debug, node_groups: [c, g]}\n",
                           nnodes - nnodes / 4, nnodes / 4);
    memset(c, 0, sizeof(*c));
    if (sl_conf_load_string(yaml, strlen(yaml), "bench.yaml", &c->conf, &errors) < 0)
        fatalx("config: %s", errors);
    job_table_init(&c->jobs);
    nodes_create(c);
    c->start_time = ctld_now();
    for (int i = 0; i < c->nnodes; i++) {
        c->nodes[i].registered = true;
        c->nodes[i].state = (i % 3) ? NODE_MIXED : NODE_IDLE;
        c->nodes[i].cpus_used = i % 3;
        c->nodes[i].njobs = i % 3 ? 1 : 0;
    }
    srand(42);
    for (int k = 0; k < njobs; k++) {
        struct job *j = xcalloc(1, sizeof(*j));
        j->id = (uint32_t)k + 1;
        j->partition = xstrdup(parts[rand() % 4]);
        j->state = rand() % 100 < 70 ? JOB_PENDING : rand() % JOB_STATE_COUNT;
        j->array_task_id = -1;
        j->interactive = rand() % 50 == 0;
        job_insert(&c->jobs, j);
    }
    if (metrics_create(c, perr, sizeof(perr)) < 0)
        fatalx("%s", perr);
    for (int i = 0; i < 100; i++) {
        metrics_request(c, SL_MSG_SUBMIT_JOB, 0.0003);
        metrics_commit(c, 0.001);
        metrics_sched_pass(c, 0.02);
    }

    struct mbuf b = {0};
    double t0 = now_us();
    for (int r = 0; r < reps; r++) {
        b.len = 0;
        metrics_render(c, &b);
    }
    double render = (now_us() - t0) / reps;

    uint64_t counts[8][JOB_STATE_COUNT] = {{0}};
    t0 = now_us();
    for (int r = 0; r < reps; r++) {
        JOB_FOREACH(&c->jobs, j)
        {
            int p = 0;
            while (p < 3 && strcmp(j->partition, parts[p]))
                p++;
            counts[p][j->state]++;
        }
    }
    double scan = (now_us() - t0) / reps;

    int nsync = 100000;
    struct job *j = job_find(&c->jobs, 1);
    t0 = now_us();
    for (int r = 0; r < nsync; r++) {
        j->state = r & 1 ? JOB_RUNNING : JOB_PENDING;
        job_counts_sync(&c->jobs, j);
    }
    double sync = (now_us() - t0) / nsync;

    printf("%10d %8d %12.1f %12.1f %10.3f %10zu\n", njobs, c->nnodes, render, scan, sync, b.len);
    if (counts[0][0] + counts[1][0] + counts[2][0] + counts[3][0] == 0 && njobs > 100)
        fatalx("benchmark setup broken: no pending job seen by the scan");
    free(b.s);
    metrics_destroy(c);
    job_table_free(&c->jobs);
    nodes_destroy(c);
    sl_conf_destroy(c->conf);
    free(yaml);
}

int main(int argc, char **argv)
{
    static const char *defaults[] = {"10000x1000", "100000x1000", "100000x10000", "1000000x10000"};
    const char **sizes = defaults;
    int nsizes = 4, reps = 20;
    bool smoke = argc > 1 && !strcmp(argv[1], "--smoke");

    log_init("metrics_bench", LOG_LVL_WARN);
    if (smoke) {
        static const char *s[] = {"2000x200"};
        sizes = s;
        nsizes = 1;
        reps = 2;
    } else if (argc > 1) {
        sizes = (const char **)argv + 1;
        nsizes = argc - 1;
    }
    printf("# /metrics: one render vs one scan of all jobs (us), one count update (us)\n");
    printf("%10s %8s %12s %12s %10s %10s\n", "jobs", "nodes", "render_us", "job_scan_us", "sync_us",
           "bytes");
    for (int i = 0; i < nsizes; i++) {
        int jobs, nodes;
        if (sscanf(sizes[i], "%dx%d", &jobs, &nodes) != 2 || jobs < 1 || nodes < 4) {
            fprintf(stderr, "usage: metrics_bench [--smoke] [JOBSxNODES ...]\n");
            return 1;
        }
        run(jobs, nodes, reps);
    }
    return 0;
}
