/* provider.h - the interface between the ctld's power manager and a cloud
 * provider plugin.
 *
 * A provider is a shared object, provider_<name>.so, found in the
 * configured plugin_dir (default: the package library directory) and
 * loaded once at start-up.  It exports one symbol, `sl_power_provider`, a
 * struct sl_power_ops.  The power manager (slurmish-ctld/power.c) owns all
 * policy: which nodes, when, how many.  A provider only carries out
 * requests and reports what happened:
 *
 *   resume(nodes)   start these nodes; success is the node daemon
 *                   registering with the ctld, failure an event
 *   suspend(nodes)  stop these nodes (nothing runs on them any more)
 *   poll()          called every second: reap helpers, report events
 *                   (a launch that failed, a spot interruption, a node
 *                   that is off)
 *
 * Every call runs on the ctld's single thread and must not block: start a
 * process, write a file, return.  Node names reach programs as argv
 * entries, never through a shell.
 */
#ifndef SL_POWER_PROVIDER_H
#define SL_POWER_PROVIDER_H

#include <stddef.h>

#define SL_POWER_ABI 1
#define SL_POWER_SYMBOL "sl_power_provider"

struct sl_conf;

/* What the ctld lends a provider. */
struct sl_power_env {
    const char *conf_path;              /* absolute path of slurmish.yaml */
    const struct sl_conf *const *conf;  /* the running configuration (replaced on reconfigure) */
    const char *dir;                    /* the provider's own state directory, 0700 */
    void (*log)(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
    /* "a[1-3],b7" for names; malloc'd */
    char *(*hostlist)(const char *const *names, size_t n);
};

/* log levels for env->log (as lib/util/log.h) */
#define SL_PWR_LOG_ERR 1
#define SL_PWR_LOG_WARN 2
#define SL_PWR_LOG_INFO 3
#define SL_PWR_LOG_DEBUG 4

enum sl_power_event_kind {
    SL_PWR_EV_RESUME_FAILED = 1, /* the node could not be started; `reason` says why */
    SL_PWR_EV_INTERRUPT,         /* spot reclaim: the node goes away in `warning` seconds */
    SL_PWR_EV_OFF,               /* the node is off (a suspend finished) */
};

struct sl_power_event {
    int kind;
    int warning;      /* SL_PWR_EV_INTERRUPT: seconds of notice */
    char node[128];
    char reason[256];
};

struct sl_power_ops {
    int abi; /* SL_POWER_ABI */
    const char *name;
    /* Returns a context, or NULL with *err set (malloc'd). */
    void *(*init)(const struct sl_power_env *env, char **err);
    /* Returns 0 when the request is under way; -1 when it could not even
     * start (then every node counts as failed to resume). */
    int (*resume)(void *ctx, const char *const *nodes, size_t n);
    int (*suspend)(void *ctx, const char *const *nodes, size_t n);
    /* Up to max events into ev; returns how many. */
    int (*poll)(void *ctx, struct sl_power_event *ev, int max);
    void (*fini)(void *ctx);
};

#endif
