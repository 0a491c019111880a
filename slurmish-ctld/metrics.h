/* metrics.h - Prometheus metrics served by slurmish-ctld.
 *
 * Purpose: an HTTP endpoint, GET /metrics on controller.metrics_address,
 * in Prometheus' text exposition format (version 0.0.4).
 *
 * Input: the controller's own state, read on its one thread.  libmicrohttpd
 * runs without a thread of its own (external event loop, epoll): its epoll
 * descriptor is one more item in the loop's zmq_poll, and metrics_serve()
 * answers whatever is ready, between two loop turns, so no lock is needed
 * and a scrape always sees a state whose changes are committed.
 *
 * Action: a scrape costs O(partitions x states + nodes + message types),
 * never O(jobs): jobs are counted incrementally by the job table
 * (struct job_count, job.h), histograms and counters are updated by the
 * hooks below where the work happens, node-seconds powered and busy are
 * integrated per node by metrics_tick() (once a second, from cron) and at
 * each scrape, and the cost of running jobs is a per-partition rate kept
 * with the job counts (cost so far = rate * now - sum of rate * start).
 *
 * Caveats: counters start at zero when the controller starts (Prometheus'
 * rate() and increase() handle the reset) and count only what happened
 * since.  Node-seconds are sampled once a second, so a change is
 * attributed up to a second late.  A run's final charge can fall slightly
 * short of what it accrued while running (it ends when its node says, or
 * a price changed): the cost counter then holds still until it catches up.
 */
#ifndef CTLD_METRICS_H
#define CTLD_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctld;
struct job;

/* Start the endpoint if controller.metrics_address is set (else do
 * nothing).  Returns -1 with a message in err if it cannot listen. */
int metrics_create(struct ctld *c, char *err, size_t errsize);
void metrics_destroy(struct ctld *c);

/* The descriptor the loop polls for reading (-1: none), and how long the
 * loop may sleep before metrics_serve() must run (-1: no limit). */
int metrics_poll_fd(struct ctld *c);
int metrics_timeout_ms(struct ctld *c);
/* Accept, read and answer what is ready; never blocks. */
void metrics_serve(struct ctld *c);

/* Hooks; each is a no-op when metrics are off. */
double metrics_clock(void); /* monotonic seconds, for timing the hooks */
void metrics_request(struct ctld *c, int msg_type, double seconds); /* one dispatched request */
void metrics_sched_pass(struct ctld *c, double seconds);
void metrics_commit(struct ctld *c, double seconds); /* one group commit */
/* A run of job [start_time, end) was charged cost (power_job_cost). */
void metrics_job_cost(struct ctld *c, const struct job *job, double cost, int64_t end);
void metrics_tick(struct ctld *c); /* integrate node-seconds (cron) */

/* ---- for unit testing and benchmarks only ---- */

#define METRICS_MAX_BUCKETS 20

/* A Prometheus histogram with fixed upper bounds (seconds). */
struct histogram {
    const double *bounds; /* ascending; +Inf is implicit */
    int nbounds;
    uint64_t buckets[METRICS_MAX_BUCKETS + 1]; /* not cumulative; the last is +Inf */
    uint64_t count;
    double sum;
};

void histogram_init(struct histogram *h, const double *bounds, int nbounds);
void histogram_observe(struct histogram *h, double v);

/* A growing text buffer; allocation failure aborts (daemon code). */
struct mbuf {
    char *s;
    size_t len, cap;
};

void mbuf_printf(struct mbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A label value with \, " and newline escaped as the format wants. */
void mbuf_label_value(struct mbuf *b, const char *v);
/* # HELP and # TYPE lines. */
void prom_header(struct mbuf *b, const char *name, const char *type, const char *help);
/* name_bucket{labels,le="..."} lines (cumulative), then _sum and _count.
 * labels: already formatted ("type=\"x\"") or "" for none. */
void prom_histogram(struct mbuf *b, const char *name, const char *labels,
                    const struct histogram *h);
/* The whole exposition, as GET /metrics answers it (metrics must be on). */
void metrics_render(struct ctld *c, struct mbuf *b);

#endif
