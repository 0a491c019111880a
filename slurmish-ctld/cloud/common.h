/* common.h - pieces shared by the provider plugins (compiled into each;
 * a plugin links nothing from libslurmish, it gets what it needs from
 * struct sl_power_env). */
#ifndef CLOUD_COMMON_H
#define CLOUD_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "power/provider.h"

/* Events waiting for the next poll. */
struct evq {
    struct sl_power_event *ev;
    size_t n, cap;
};

void evq_push(struct evq *q, int kind, const char *node, int warning, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Move up to max queued events to out; returns how many. */
int evq_take(struct evq *q, struct sl_power_event *out, int max);
void evq_free(struct evq *q);

/* Spot interruptions announced as files: <dir>/interrupt/<node>, holding
 * the seconds of notice (default 120).  A metadata watcher, or a test,
 * writes them; each becomes one SL_PWR_EV_INTERRUPT and is removed. */
void scan_interrupts(const char *dir, struct evq *q);

/* Does /proc/<pid>/cmdline contain every one of the given strings?  Keeps
 * a provider from signalling a PID that was reused by someone else. */
bool pid_matches(pid_t pid, const char *a, const char *b);

/* Close every descriptor above 2 (in a child, before exec). */
void close_inherited_fds(void);

/* Which node group holds this node (NULL if none). */
const char *node_group_of(const struct sl_conf *conf, const char *node);

#endif
