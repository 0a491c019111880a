/* sched_bench.c - time one full scheduling pass (priority + EASY backfill)
 * of the real scheduler code over a simulated cluster.
 *
 *   sched_bench [--smoke] [JOBSxNODES ...]     default: 10000x1000 100000x1000
 *                                              10000x10000 100000x10000
 *
 * The nodes (2 CPUs, 8 GiB, a quarter with 2 GPUs) are registered and
 * full of running jobs with staggered time limits, so every pending job
 * is evaluated, the top job of each partition gets a reservation and the
 * rest are checked for backfill; nothing starts, so no launch message or
 * munge credential is involved.  Prints the first pass and a second one.
 * Figures only: nothing here asserts a time.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ctld.h"
#include "persist.h"
#include "store/db.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static struct job *new_job(struct ctld *c, uint32_t id, const char *part, int nodes, int cpt,
                           int gpus, int64_t limit)
{
    struct job *j = xcalloc(1, sizeof(*j));
    j->id = id;
    j->name = xstrdup("bench");
    j->user = xstrdup("bench");
    j->group = xstrdup("bench");
    j->partition = xstrdup(part);
    j->state = JOB_PENDING;
    j->submit_time = ctld_now() - (id % 3600);
    j->time_limit = limit;
    j->nodes_req = nodes;
    j->ntasks = nodes;
    j->cpus_per_task = cpt;
    j->gpus_per_node = gpus;
    j->work_dir = xstrdup("/tmp");
    j->cancelled_by = -1;
    j->pending_end_state = -1;
    job_insert(&c->jobs, j);
    return j;
}

static void run(int njobs, int nnodes, bool quiet)
{
    char dir[] = "/tmp/slurmish-bench-XXXXXX";
    char *yaml, *errors = NULL, *db;
    struct ctld ctx, *c = &ctx;
    sl_error_t err;
    int ngpu = nnodes / 4, ncpu = nnodes - ngpu;

    if (!mkdtemp(dir))
        fatal("mkdtemp");
    yaml = xasprintf("controller: {state_dir: %s, sched_budget_ms: 60000}\n"
                     "node_groups:\n"
                     "  - {name: c, nodes: \"c[1-%d]\", cpus: 2, memory: 8G}\n"
                     "  - {name: g, nodes: \"g[1-%d]\", cpus: 2, memory: 8G, gpus: 2}\n"
                     "partitions:\n"
                     "  - {name: cpu, node_groups: [c], default: true}\n"
                     "  - {name: gpu, node_groups: [g]}\n",
                     dir, ncpu, ngpu);
    memset(c, 0, sizeof(*c));
    if (sl_conf_load_string(yaml, strlen(yaml), "bench.yaml", &c->conf, &errors) < 0)
        fatalx("config: %s", errors);
    job_table_init(&c->jobs);
    nodes_create(c);
    db = xasprintf("%s/bench.db", dir);
    if (persist_open(c, db, &err) < 0)
        fatalx("%s", err.text);
    c->start_time = ctld_now();

    /* every node registered and full: one running job per node, limits
     * staggered so reservations land at different times */
    uint32_t id = 1;
    for (int i = 0; i < c->nnodes; i++) {
        struct node *n = &c->nodes[i];
        n->registered = true;
        n->state = NODE_IDLE;
        n->last_heartbeat = ctld_now();
        n->route_len = 1;
        struct job *j = new_job(c, id++, n->group->gpus ? "gpu" : "cpu", 1, 2, 0,
                                600 + (i % 240) * 60);
        uint64_t gmask = n->group->gpus ? 3 : 0;
        job_alloc(c, j, &n, 1, 2, 4096, &gmask);
        j->state = JOB_RUNNING;
        j->start_time = ctld_now() - (i % 600);
    }
    /* the queue: mostly small CPU jobs, some whole-node, multi-node and GPU jobs */
    srand(42);
    for (int k = 0; k < njobs; k++) {
        int r = rand() % 100;
        int64_t limit = (10 + rand() % 230) * 60;
        struct job *j;
        if (r < 60)
            j = new_job(c, id++, "cpu", 1, 1, 0, limit);
        else if (r < 80)
            j = new_job(c, id++, "cpu", 1, 2, 0, limit);
        else if (r < 90)
            j = new_job(c, id++, "cpu", 4, 2, 0, limit);
        else
            j = new_job(c, id++, "gpu", 1, 1, 1 + rand() % 2, limit);
        job_queue_add(&c->jobs, j);
    }
    double t0 = now_ms();
    sched_pass(c);
    double t1 = now_ms();
    sched_pass(c);
    double t2 = now_ms();
    if (!quiet)
        printf("%10d %8d %12.1f %12.1f %10zu\n", njobs, nnodes, t1 - t0, t2 - t1,
               c->jobs.npending);
    if (c->jobs.npending != (size_t)njobs)
        fatalx("benchmark setup broken: %zu of %d jobs still pending", c->jobs.npending, njobs);
    sl_db_rollback(c->db);
    persist_close(c);
    job_table_free(&c->jobs);
    nodes_destroy(c);
    sl_conf_destroy(c->conf);
    unlink(db);
    char *wal = xasprintf("%s-wal", db), *shm = xasprintf("%s-shm", db);
    unlink(wal);
    unlink(shm);
    free(wal);
    free(shm);
    rmdir(dir);
    free(db);
    free(yaml);
}

int main(int argc, char **argv)
{
    static const char *defaults[] = {"10000x1000", "100000x1000", "10000x10000", "100000x10000"};
    const char **sizes = defaults;
    int nsizes = 4;
    bool smoke = argc > 1 && !strcmp(argv[1], "--smoke");

    log_init("sched_bench", LOG_LVL_WARN);
    if (smoke) {
        static const char *s[] = {"2000x200"};
        sizes = s;
        nsizes = 1;
    } else if (argc > 1) {
        sizes = (const char **)argv + 1;
        nsizes = argc - 1;
    }
    printf("# one scheduling pass (priority sort + first fit + EASY backfill), ms\n");
    printf("%10s %8s %12s %12s %10s\n", "pending", "nodes", "first_pass", "second_pass",
           "pending");
    for (int i = 0; i < nsizes; i++) {
        int jobs, nodes;
        if (sscanf(sizes[i], "%dx%d", &jobs, &nodes) != 2 || jobs < 1 || nodes < 4) {
            fprintf(stderr, "usage: sched_bench [--smoke] [JOBSxNODES ...]\n");
            return 1;
        }
        run(jobs, nodes, false);
    }
    return 0;
}
