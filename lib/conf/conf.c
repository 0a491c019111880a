/* conf.c - load slurmish.yaml into struct sl_conf; see conf.h.
 *
 * Input: a YAML file.  Action: libyaml builds a document tree; each
 * mapping is checked against its key table (name, type, bounds,
 * offset into the struct); values are converted; then the whole
 * configuration is validated (names unique, references resolve, one
 * default partition, limits consistent).  Every problem is recorded as
 * "file:line:col: message" and loading goes on, so one run reports them
 * all.  Caveat: libyaml marks are 0-based; messages are 1-based.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <yaml.h>

#include "conf/conf.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/parse.h"

#ifndef LOCALSTATEDIR
#define LOCALSTATEDIR "/var"
#endif

struct loader {
    const char *file;
    yaml_document_t doc;
    char *errors;
    size_t elen;
    int nerrors;
    bool oom;
};

static void cerr(struct loader *ld, const yaml_node_t *at, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The first character of s that may not be in a node, group, partition or
 * account name, or NULL.  Names end up in command lines (cloud programs),
 * host lists and logs: keep them to what a host name may hold. */
static const char *bad_name_char(const char *s)
{
    if (*s == '-')
        return s;
    for (; *s; s++)
        if (!isalnum((unsigned char)*s) && *s != '.' && *s != '_' && *s != '-')
            return s;
    return NULL;
}

static void cerr(struct loader *ld, const yaml_node_t *at, const char *fmt, ...)
{
    char msg[600], line[800];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at)
        snprintf(line, sizeof(line), "%s:%zu:%zu: %s\n", ld->file, at->start_mark.line + 1,
                 at->start_mark.column + 1, msg);
    else
        snprintf(line, sizeof(line), "%s: %s\n", ld->file, msg);
    size_t n = strlen(line);
    char *e = realloc(ld->errors, ld->elen + n + 1);
    if (!e) {
        ld->oom = true;
        return;
    }
    memcpy(e + ld->elen, line, n + 1);
    ld->errors = e;
    ld->elen += n;
    ld->nerrors++;
}

/* ---- key tables ---- */

enum ktype {
    K_STR,      /* char * */
    K_PORT,     /* int 1..65535 */
    K_SECONDS,  /* int seconds, bounds from the table */
    K_TIME,     /* int64_t seconds, Slurm time string */
    K_SIZE,     /* uint64_t MiB */
    K_BOOL,     /* bool */
    K_PRICE,    /* double >= 0 */
    K_STRLIST,  /* char ** + size_t count at offset2 */
    K_GPUS,     /* int gpus + char *gpu_type (offset2) */
    K_HOSTLIST, /* char *expr + char **nodes (offset2) + count */
    K_PSTATE,   /* int enum part_state */
    K_PMODE,    /* int enum sl_preempt_mode */
    K_MAXNODES, /* int, -1 unlimited */
    K_INT,      /* int in bounds */
    K_LIMIT,    /* int in bounds, or UNLIMITED (-1) */
    K_LOGLEVEL, /* char *, validated */
    K_NAME,     /* char *, a name other programs see: host-name characters only */
    K_LISTEN,   /* char * "HOST:PORT" to listen on, or "off" (NULL) */
    K_SECTION,  /* nested mapping, handled by the caller */
    K_LIST,     /* sequence of mappings, handled by the caller */
};

struct key {
    const char *name;
    enum ktype type;
    size_t off, off2, off3;
    long min, max;
    bool required;
};

#define C(f) offsetof(struct sl_conf, f)
#define G(f) offsetof(struct sl_node_group, f)
#define P(f) offsetof(struct sl_partition, f)

static const struct key top_keys[] = {
    {"cluster_name", K_STR, C(cluster_name)},
    {"controller", K_SECTION},
    {"munge", K_SECTION},
    {"node_daemon", K_SECTION},
    {"power", K_SECTION},
    {"node_groups", K_LIST, .required = true},
    {"partitions", K_LIST, .required = true},
    {"accounts", K_LIST},
    {NULL},
};

static const struct key controller_keys[] = {
    {"host", K_STR, C(ctld_host)},
    {"port", K_PORT, C(ctld_port)},
    {"tools_port", K_INT, C(ctld_tools_port), .min = 0, .max = 65535},
    {"tools_socket", K_STR, C(ctld_tools_socket)},
    {"state_dir", K_STR, C(state_dir)},
    {"log_level", K_LOGLEVEL, C(log_level)},
    {"log_file", K_STR, C(log_file)},
    {"heartbeat_interval", K_SECONDS, C(heartbeat_interval), .min = 1, .max = 3600},
    {"node_timeout", K_SECONDS, C(node_timeout), .min = 2, .max = 86400},
    {"kill_wait", K_SECONDS, C(kill_wait), .min = 0, .max = 3600},
    {"message_timeout", K_SECONDS, C(message_timeout), .min = 1, .max = 600},
    {"min_job_age", K_SECONDS, C(min_job_age), .min = 0, .max = 86400 * 7},
    {"sched_interval", K_SECONDS, C(sched_interval), .min = 1, .max = 3600},
    {"sched_budget_ms", K_INT, C(sched_budget_ms), .min = 1, .max = 60000},
    {"admins", K_STRLIST, C(admins), C(admin_count)},
    {"slurm_user", K_STR, C(slurm_user)},
    {"metrics_address", K_LISTEN, C(metrics_address)},
    {"max_submit_jobs", K_LIMIT, C(max_submit_jobs), .min = 1, .max = 100000000},
    {"max_job_count", K_LIMIT, C(max_job_count), .min = 1, .max = 100000000},
    {"max_array_size", K_INT, C(max_array_size), .min = 1, .max = 4000001},
    {"max_script_size", K_INT, C(max_script_size), .min = 1024, .max = 4194304},
    {NULL},
};

static const struct key munge_keys[] = {
    {"socket", K_STR, C(munge_socket)},
    {NULL},
};

static const struct key node_daemon_keys[] = {
    {"spool_dir", K_STR, C(spool_dir)},
    {"port", K_PORT, C(node_port)},
    {"address", K_STR, C(node_address)},
    {"enforce_memory", K_BOOL, C(enforce_memory)},
    {"log_level", K_LOGLEVEL, C(node_log_level)},
    {"log_file", K_STR, C(node_log_file)},
    {NULL},
};

static const struct key power_keys[] = {
    {"provider", K_STR, C(power_provider)},
    {"plugin_dir", K_STR, C(plugin_dir)},
    {"resume_timeout", K_SECONDS, C(resume_timeout), .min = 1, .max = 86400},
    {"suspend_timeout", K_SECONDS, C(suspend_timeout), .min = 1, .max = 86400},
    {"idle_time", K_SECONDS, C(power_idle_time), .min = 1, .max = 86400 * 30},
    {"resume_rate", K_INT, C(resume_rate), .min = 0, .max = 1000000},
    {"failure_backoff", K_SECONDS, C(failure_backoff), .min = 1, .max = 86400},
    {"resume_program", K_STR, C(resume_program)},
    {"suspend_program", K_STR, C(suspend_program)},
    {"program_timeout", K_SECONDS, C(program_timeout), .min = 1, .max = 86400},
    {"local_daemon", K_STR, C(local_daemon)},
    {"local_boot_delay", K_SECONDS, C(local_boot_delay), .min = 0, .max = 86400},
    {NULL},
};

static const struct key group_keys[] = {
    {"name", K_NAME, G(name), .required = true},
    {"nodes", K_HOSTLIST, G(nodes_expr), G(nodes), G(node_count), .required = true},
    {"cpus", K_INT, G(cpus), .min = 1, .max = 1000000, .required = true},
    {"memory", K_SIZE, G(memory_mb), .required = true},
    {"gpus", K_GPUS, G(gpus), G(gpu_type)},
    {"features", K_STRLIST, G(features), G(feature_count)},
    {"price_per_hour", K_PRICE, G(price_per_hour)},
    {"spot", K_BOOL, G(spot)},
    {"cloud", K_BOOL, G(cloud)},
    {"idle_time", K_SECONDS, G(idle_time), .min = 1, .max = 86400 * 30},
    {"warm_nodes", K_INT, G(warm_nodes), .min = 0, .max = 1000000},
    {NULL},
};

static const struct key part_keys[] = {
    {"name", K_NAME, P(name), .required = true},
    {"node_groups", K_STRLIST, P(node_groups), P(node_group_count), .required = true},
    {"default", K_BOOL, P(is_default)},
    {"max_time", K_TIME, P(max_time)},
    {"default_time", K_TIME, P(default_time)},
    {"max_nodes", K_MAXNODES, P(max_nodes)},
    {"min_nodes", K_INT, P(min_nodes), .min = 1, .max = 1000000},
    {"allow_users", K_STRLIST, P(allow_users), P(allow_user_count)},
    {"allow_accounts", K_STRLIST, P(allow_accounts), P(allow_account_count)},
    {"priority_tier", K_INT, P(priority_tier), .min = 0, .max = 65533},
    {"state", K_PSTATE, P(state)},
    {"session_idle_timeout", K_TIME, P(idle_timeout)},
    {"session_idle_warning", K_TIME, P(idle_warning)},
    {"warm_nodes", K_INT, P(warm_nodes), .min = 0, .max = 1000000},
    {"preempt_mode", K_PMODE, P(preempt_mode)},
    {"fallback_node_groups", K_STRLIST, P(fallback_groups), P(fallback_group_count)},
    {"fallback_after", K_TIME, P(fallback_after)},
    {NULL},
};

#define A(f) offsetof(struct sl_account, f)
static const struct key account_keys[] = {
    {"name", K_NAME, A(name), .required = true},
    {"budget", K_PRICE, A(budget), .required = true},
    {"budget_period", K_STR, A(budget_period)},
    {NULL},
};

/* ---- helpers ---- */

static size_t edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), prev[64], cur[64];
    if (la >= 63 || lb >= 63)
        return 99;
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(size_t) * (lb + 1));
    }
    return prev[lb];
}

static const char *nearest_key(const struct key *keys, const char *name)
{
    const char *best = NULL;
    size_t bestd = 99;
    for (const struct key *k = keys; k->name; k++) {
        size_t d = edit_distance(name, k->name);
        if (d < bestd) {
            bestd = d;
            best = k->name;
        }
    }
    /* suggest only plausible typos */
    return (best && bestd <= 3 && bestd < strlen(name)) ? best : NULL;
}

static const char *scalar(const yaml_node_t *n)
{
    return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

static bool is_null_scalar(const yaml_node_t *n)
{
    const char *s = scalar(n);
    return s && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*s || !strcmp(s, "~") || !strcasecmp(s, "null"));
}

static char *xdup(struct loader *ld, const char *s)
{
    char *d = strdup(s);
    if (!d)
        ld->oom = true;
    return d;
}

static void free_strlist(char **v, size_t n)
{
    for (size_t i = 0; v && i < n; i++)
        free(v[i]);
    free(v);
}

/* Read a sequence of scalars (or one scalar) into a string list. */
static bool read_strlist(struct loader *ld, yaml_node_t *v, const char *what, char ***out,
                         size_t *count)
{
    free_strlist(*out, *count);
    *out = NULL;
    *count = 0;
    if (v->type == YAML_SCALAR_NODE) {
        if (is_null_scalar(v)) {
            /* an empty list, not "unset": validation sees it was given empty */
            if (!(*out = calloc(1, sizeof(char *))))
                return (ld->oom = true), false;
            return true;
        }
        *out = calloc(1, sizeof(char *));
        if (!*out)
            return (ld->oom = true), false;
        (*out)[0] = xdup(ld, scalar(v));
        *count = 1;
        return true;
    }
    if (v->type != YAML_SEQUENCE_NODE) {
        cerr(ld, v, "%s: expected a list of names such as [a, b]", what);
        return false;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    *out = calloc(n + 1, sizeof(char *));
    if (!*out)
        return (ld->oom = true), false;
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(&ld->doc, *it);
        if (!scalar(e) || !*scalar(e)) {
            cerr(ld, e, "%s: expected a name, found %s", what,
                 e->type == YAML_SCALAR_NODE ? "an empty value" : "a nested structure");
            continue;
        }
        (*out)[(*count)++] = xdup(ld, scalar(e));
    }
    return true;
}

static void set_value(struct loader *ld, const struct key *k, void *base, yaml_node_t *v,
                      const char *ctx)
{
    char *p = (char *)base;
    const char *s = scalar(v);
    sl_error_t err;

    if (k->type != K_STRLIST && !s) {
        cerr(ld, v, "%s%s: expected a single value, found a %s", ctx, k->name,
             v->type == YAML_MAPPING_NODE ? "mapping" : "list");
        return;
    }
    switch (k->type) {
    case K_STR:
    case K_NAME:
    case K_LOGLEVEL: {
        char **dst = (char **)(p + k->off);
        if (!*s) {
            cerr(ld, v, "%s%s: must not be empty", ctx, k->name);
            return;
        }
        const char *bad = k->type == K_NAME ? bad_name_char(s) : NULL;
        if (bad) {
            cerr(ld, v, "%s%s: \"%s\" has '%c', which a name may not have (letters, digits, "
                 "'.', '_' and '-' only)", ctx, k->name, s, *bad);
            return;
        }
        if (k->type == K_LOGLEVEL && log_level_parse(s) < 0) {
            cerr(ld, v, "%s%s: expected one of error, warning, info, debug, trace; found \"%s\"",
                 ctx, k->name, s);
            return;
        }
        free(*dst);
        *dst = xdup(ld, s);
        break;
    }
    case K_LISTEN: {
        char **dst = (char **)(p + k->off);
        struct sockaddr_storage sa;
        socklen_t salen;
        free(*dst);
        *dst = NULL;
        if (!strcasecmp(s, "off"))
            return;
        if (parse_listen_address(s, &sa, &salen, &err) < 0) {
            cerr(ld, v, "%s%s: expected HOST:PORT such as 127.0.0.1:9817 or [::1]:9817, or off; "
                        "found \"%s\": %s", ctx, k->name, s, err.text);
            return;
        }
        *dst = xdup(ld, s);
        break;
    }
    case K_PORT:
    case K_SECONDS:
    case K_INT: {
        long val, min = k->type == K_PORT ? 1 : k->min, max = k->type == K_PORT ? 65535 : k->max;
        if (parse_int_range(s, min, max, &val, &err) < 0) {
            cerr(ld, v, "%s%s: expected %s from %ld to %ld, found \"%s\"", ctx, k->name,
                 k->type == K_SECONDS ? "a number of seconds" : "an integer", min, max, s);
            return;
        }
        *(int *)(p + k->off) = (int)val;
        break;
    }
    case K_TIME: {
        int64_t t;
        if (parse_time_limit(s, &t, &err) < 0) {
            cerr(ld, v, "%s%s: expected a time such as 4:00:00, 1-12:00:00, 90 (minutes), 4h or "
                        "UNLIMITED; found \"%s\"",
                 ctx, k->name, s);
            return;
        }
        *(int64_t *)(p + k->off) = t;
        break;
    }
    case K_SIZE: {
        uint64_t mb;
        if (parse_size_mb(s, &mb, &err) < 0 || mb == 0) {
            cerr(ld, v, "%s%s: expected a size such as 16G or 512M, found \"%s\"", ctx, k->name,
                 s);
            return;
        }
        *(uint64_t *)(p + k->off) = mb;
        break;
    }
    case K_BOOL: {
        bool b;
        if (parse_bool(s, &b) < 0) {
            cerr(ld, v, "%s%s: expected true or false, found \"%s\"", ctx, k->name, s);
            return;
        }
        *(bool *)(p + k->off) = b;
        break;
    }
    case K_PRICE: {
        char *end;
        errno = 0;
        double d = strtod(s, &end);
        if (!*s || *end || errno || d < 0 || !isfinite(d) || strpbrk(s, "xXnN")) {
            cerr(ld, v, "%s%s: expected a price per hour such as 0.25, found \"%s\"", ctx,
                 k->name, s);
            return;
        }
        *(double *)(p + k->off) = d;
        break;
    }
    case K_STRLIST:
        read_strlist(ld, v, k->name, (char ***)(p + k->off), (size_t *)(p + k->off2));
        break;
    case K_GPUS: {
        /* "2", or "TYPE:COUNT" as in Slurm's gres gpu:a10:2 (the gpu: prefix is optional) */
        const char *t = s, *colon;
        long n;
        char **type = (char **)(p + k->off2);
        if (!strncasecmp(t, "gpu:", 4))
            t += 4;
        colon = strrchr(t, ':');
        if (parse_int_range(colon ? colon + 1 : t, 0, 1024, &n, &err) < 0 ||
            (colon && colon == t)) {
            cerr(ld, v, "%s%s: expected a GPU count or TYPE:COUNT such as a10:2, found \"%s\"",
                 ctx, k->name, s);
            return;
        }
        *(int *)(p + k->off) = (int)n;
        free(*type);
        *type = colon ? strndup(t, (size_t)(colon - t)) : NULL;
        break;
    }
    case K_HOSTLIST: {
        char ***nodes = (char ***)(p + k->off2);
        size_t *count = (size_t *)(p + k->off3);
        char **names;
        size_t n;
        if (hostlist_expand(s, &names, &n, &err) < 0) {
            cerr(ld, v, "%s%s: %s", ctx, k->name, err.text);
            return;
        }
        if (n == 0) {
            free(names);
            cerr(ld, v, "%s%s: expected a hostlist such as cpu[1-4], found an empty value", ctx,
                 k->name);
            return;
        }
        for (size_t i = 0; i < n; i++) {
            /* node names reach cloud programs' argv and logs: host names only */
            const char *bad = bad_name_char(names[i]);
            if (bad) {
                cerr(ld, v, "%s%s: node name \"%s\" has '%c', which a host name may not have "
                     "(letters, digits, '.', '_' and '-' only)", ctx, k->name, names[i], *bad);
                free_strlist(names, n);
                return;
            }
        }
        free_strlist(*nodes, *count);
        free(*(char **)(p + k->off));
        *(char **)(p + k->off) = xdup(ld, s);
        *nodes = names;
        *count = n;
        break;
    }
    case K_PSTATE: {
        int st = part_state_from_name(s);
        if (st < 0) {
            cerr(ld, v, "%s%s: expected UP, DOWN, DRAIN or INACTIVE, found \"%s\"", ctx, k->name,
                 s);
            return;
        }
        *(int *)(p + k->off) = st;
        break;
    }
    case K_PMODE: {
        int m = !strcasecmp(s, "OFF") ? SL_PREEMPT_OFF
                : !strcasecmp(s, "CANCEL") ? SL_PREEMPT_CANCEL
                : !strcasecmp(s, "REQUEUE") ? SL_PREEMPT_REQUEUE
                                            : -1;
        if (m < 0) {
            cerr(ld, v, "%s%s: expected OFF, CANCEL or REQUEUE, found \"%s\"", ctx, k->name, s);
            return;
        }
        *(int *)(p + k->off) = m;
        break;
    }
    case K_LIMIT: {
        long n;
        if (!strcasecmp(s, "UNLIMITED") || !strcasecmp(s, "INFINITE")) {
            *(int *)(p + k->off) = -1;
        } else if (parse_int_range(s, k->min, k->max, &n, &err) < 0) {
            cerr(ld, v, "%s%s: expected a number from %ld to %ld or UNLIMITED, found \"%s\"", ctx,
                 k->name, k->min, k->max, s);
        } else {
            *(int *)(p + k->off) = (int)n;
        }
        break;
    }
    case K_MAXNODES: {
        long n;
        if (!strcasecmp(s, "UNLIMITED") || !strcasecmp(s, "INFINITE")) {
            *(int *)(p + k->off) = -1;
        } else if (parse_int_range(s, 1, 1000000, &n, &err) < 0) {
            cerr(ld, v, "%s%s: expected a node count or UNLIMITED, found \"%s\"", ctx, k->name, s);
        } else {
            *(int *)(p + k->off) = (int)n;
        }
        break;
    }
    case K_SECTION:
    case K_LIST:
        break;
    }
}

/* Walk a mapping against a key table.  Keys of type K_SECTION / K_LIST
 * are returned through `sub` callbacks by name. */
typedef void (*sub_f)(struct loader *ld, const char *key, yaml_node_t *value, void *arg);

static void load_mapping(struct loader *ld, yaml_node_t *map, const struct key *keys, void *base,
                         const char *ctx, const char *where, sub_f sub, void *arg)
{
    bool seen[32] = {false};

    if (map->type != YAML_MAPPING_NODE) {
        cerr(ld, map, "%sexpected a mapping of keys (key: value)%s", ctx, where);
        return;
    }
    for (yaml_node_pair_t *pr = map->data.mapping.pairs.start; pr < map->data.mapping.pairs.top;
         pr++) {
        yaml_node_t *kn = yaml_document_get_node(&ld->doc, pr->key);
        yaml_node_t *vn = yaml_document_get_node(&ld->doc, pr->value);
        const char *name = scalar(kn);
        const struct key *k;
        int idx = 0;
        if (!name) {
            cerr(ld, kn, "%sexpected a key name", ctx);
            continue;
        }
        for (k = keys; k->name; k++, idx++)
            if (!strcmp(k->name, name))
                break;
        if (!k->name) {
            const char *near = nearest_key(keys, name);
            if (near)
                cerr(ld, kn, "%sunknown key \"%s\"%s (did you mean \"%s\"?)", ctx, name, where,
                     near);
            else
                cerr(ld, kn, "%sunknown key \"%s\"%s", ctx, name, where);
            continue;
        }
        if (seen[idx]) {
            cerr(ld, kn, "%sduplicate key \"%s\"%s", ctx, name, where);
            continue;
        }
        seen[idx] = true;
        if (k->type == K_SECTION || k->type == K_LIST) {
            sub(ld, name, vn, arg);
            continue;
        }
        if (is_null_scalar(vn) && !k->required)
            continue; /* explicit null: keep the default */
        set_value(ld, k, base, vn, ctx);
    }
    int idx = 0;
    for (const struct key *k = keys; k->name; k++, idx++)
        if (k->required && !seen[idx])
            cerr(ld, map, "%smissing required key \"%s\"%s", ctx, k->name, where);
}

struct top_ctx {
    struct sl_conf *conf;
};

static void group_defaults(struct sl_node_group *g)
{
    memset(g, 0, sizeof(*g));
    g->idle_time = -1;
}

static void part_defaults(struct sl_partition *p)
{
    memset(p, 0, sizeof(*p));
    p->max_time = SL_TIME_UNLIMITED;
    p->default_time = SL_TIME_UNSET;
    p->max_nodes = -1;
    p->min_nodes = 1;
    p->priority_tier = 1;
    p->state = PART_UP;
    p->idle_timeout = SL_TIME_UNLIMITED;
    p->idle_warning = 300;
    p->fallback_after = SL_TIME_UNLIMITED;
}

static void load_list(struct loader *ld, struct sl_conf *conf, const char *key, yaml_node_t *v)
{
    bool groups = !strcmp(key, "node_groups"), accounts = !strcmp(key, "accounts");
    if (v->type != YAML_SEQUENCE_NODE) {
        cerr(ld, v, "%s: expected a list (each item starting with \"- name: ...\")", key);
        return;
    }
    size_t n = (size_t)(v->data.sequence.items.top - v->data.sequence.items.start);
    if (accounts) {
        conf->accounts = calloc(n + 1, sizeof(*conf->accounts));
        if (!conf->accounts)
            return (void)(ld->oom = true);
    } else if (groups) {
        conf->groups = calloc(n + 1, sizeof(*conf->groups));
        if (!conf->groups)
            return (void)(ld->oom = true);
    } else {
        conf->parts = calloc(n + 1, sizeof(*conf->parts));
        if (!conf->parts)
            return (void)(ld->oom = true);
    }
    for (yaml_node_item_t *it = v->data.sequence.items.start; it < v->data.sequence.items.top;
         it++) {
        yaml_node_t *e = yaml_document_get_node(&ld->doc, *it);
        char ctx[128] = "", where[160] = "";
        /* name the item in messages when it has one */
        if (e->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = e->data.mapping.pairs.start;
                 pr < e->data.mapping.pairs.top; pr++) {
                const char *kn = scalar(yaml_document_get_node(&ld->doc, pr->key));
                const char *vn = scalar(yaml_document_get_node(&ld->doc, pr->value));
                if (kn && vn && !strcmp(kn, "name"))
                    snprintf(where, sizeof(where), " in %s \"%.100s\"",
                             accounts ? "account" : groups ? "node group" : "partition", vn);
            }
        }
        snprintf(ctx, sizeof(ctx), "%s", "");
        if (accounts) {
            struct sl_account *a = &conf->accounts[conf->account_count++];
            memset(a, 0, sizeof(*a));
            a->line = (int)e->start_mark.line + 1;
            a->col = (int)e->start_mark.column + 1;
            load_mapping(ld, e, account_keys, a, ctx, where, NULL, NULL);
        } else if (groups) {
            struct sl_node_group *g = &conf->groups[conf->group_count++];
            group_defaults(g);
            g->line = (int)e->start_mark.line + 1;
            g->col = (int)e->start_mark.column + 1;
            load_mapping(ld, e, group_keys, g, ctx, where, NULL, NULL);
        } else {
            struct sl_partition *p = &conf->parts[conf->part_count++];
            part_defaults(p);
            p->line = (int)e->start_mark.line + 1;
            p->col = (int)e->start_mark.column + 1;
            load_mapping(ld, e, part_keys, p, ctx, where, NULL, NULL);
        }
    }
}

static void top_sub(struct loader *ld, const char *key, yaml_node_t *v, void *arg)
{
    struct sl_conf *conf = ((struct top_ctx *)arg)->conf;
    if (!strcmp(key, "controller"))
        load_mapping(ld, v, controller_keys, conf, "", " in controller", NULL, NULL);
    else if (!strcmp(key, "munge"))
        load_mapping(ld, v, munge_keys, conf, "", " in munge", NULL, NULL);
    else if (!strcmp(key, "node_daemon"))
        load_mapping(ld, v, node_daemon_keys, conf, "", " in node_daemon", NULL, NULL);
    else if (!strcmp(key, "power"))
        load_mapping(ld, v, power_keys, conf, "", " in power", NULL, NULL);
    else
        load_list(ld, conf, key, v);
}

/* ---- whole-config validation ---- */

static yaml_node_t mark_node(int line, int col)
{
    yaml_node_t n;
    memset(&n, 0, sizeof(n));
    n.start_mark.line = (size_t)(line > 0 ? line - 1 : 0);
    n.start_mark.column = (size_t)(col > 0 ? col - 1 : 0);
    return n;
}

static void validate(struct loader *ld, struct sl_conf *conf)
{
    int ndefault = 0;
    const struct sl_partition *first_default = NULL;

    for (size_t i = 0; i < conf->group_count; i++) {
        struct sl_node_group *g = &conf->groups[i];
        yaml_node_t at = mark_node(g->line, g->col);
        if (!g->name)
            continue; /* already reported as missing */
        for (size_t j = 0; j < i; j++)
            if (conf->groups[j].name && !strcmp(conf->groups[j].name, g->name))
                cerr(ld, &at, "duplicate node group name \"%s\" (first defined at line %d)",
                     g->name, conf->groups[j].line);
        /* a node may belong to one group only */
        for (size_t j = 0; j < i; j++) {
            struct sl_node_group *o = &conf->groups[j];
            for (size_t a = 0; a < g->node_count; a++)
                for (size_t b = 0; b < o->node_count; b++)
                    if (!strcmp(g->nodes[a], o->nodes[b])) {
                        cerr(ld, &at, "node %s is in node groups \"%s\" and \"%s\"", g->nodes[a],
                             o->name ? o->name : "?", g->name);
                        goto next_group;
                    }
        }
    next_group:;
        if (!g->cloud && (g->idle_time >= 0 || g->warm_nodes > 0))
            cerr(ld, &at, "node group \"%s\": idle_time and warm_nodes apply to cloud node "
                          "groups only (add cloud: true)", g->name);
    }
    if (conf->ctld_tools_socket &&
        (conf->ctld_tools_socket[0] != '/' || strlen(conf->ctld_tools_socket) > 107))
        cerr(ld, NULL, "controller: tools_socket \"%s\": an absolute path of at most 107 bytes",
             conf->ctld_tools_socket);
    if (conf->ctld_tools_port == conf->ctld_port)
        cerr(ld, NULL,
             "controller: tools_port %d is also the port; give the tools their own "
             "port, or 0 to have them use port",
             conf->ctld_port);
    bool any_cloud = false;
    for (size_t i = 0; i < conf->group_count; i++)
        any_cloud |= conf->groups[i].cloud;
    if (any_cloud && conf->power_provider && !strcmp(conf->power_provider, "script") &&
        (!conf->resume_program || !conf->suspend_program))
        cerr(ld, NULL, "power: the script provider needs resume_program and suspend_program");
    if (conf->power_provider && strspn(conf->power_provider,
                                       "abcdefghijklmnopqrstuvwxyz0123456789_") !=
                                    strlen(conf->power_provider))
        cerr(ld, NULL, "power: provider \"%s\": a name of lower-case letters, digits and _",
             conf->power_provider);
    for (size_t i = 0; i < conf->part_count; i++) {
        struct sl_partition *p = &conf->parts[i];
        yaml_node_t at = mark_node(p->line, p->col);
        if (!p->name)
            continue;
        for (size_t j = 0; j < i; j++)
            if (conf->parts[j].name && !strcmp(conf->parts[j].name, p->name))
                cerr(ld, &at, "duplicate partition name \"%s\" (first defined at line %d)",
                     p->name, conf->parts[j].line);
        for (size_t g = 0; g < p->node_group_count; g++)
            if (!sl_conf_find_group(conf, p->node_groups[g]))
                cerr(ld, &at, "partition \"%s\" names node group \"%s\", which is not defined",
                     p->name, p->node_groups[g]);
        if (p->node_groups && p->node_group_count == 0)
            cerr(ld, &at, "partition \"%s\" has no node groups", p->name);
        if (p->max_time >= 0 && (p->default_time > p->max_time ||
                                 p->default_time == SL_TIME_UNLIMITED))
            cerr(ld, &at, "partition \"%s\": default_time is longer than max_time", p->name);
        if (p->max_nodes > 0 && p->min_nodes > p->max_nodes)
            cerr(ld, &at, "partition \"%s\": min_nodes is larger than max_nodes", p->name);
        if (p->max_time == 0 || p->default_time == 0)
            cerr(ld, &at, "partition \"%s\": a time limit of 0 is not allowed", p->name);
        if (p->idle_timeout == 0)
            cerr(ld, &at, "partition \"%s\": session_idle_timeout of 0; leave it out (or "
                          "UNLIMITED) to never end idle sessions", p->name);
        if (p->idle_warning < 0)
            cerr(ld, &at, "partition \"%s\": session_idle_warning must be a finite time",
                 p->name);
        for (size_t g = 0; g < p->fallback_group_count; g++) {
            const struct sl_node_group *fg = sl_conf_find_group(conf, p->fallback_groups[g]);
            bool shape = false;
            if (!fg) {
                cerr(ld, &at, "partition \"%s\": fallback node group \"%s\" is not defined",
                     p->name, p->fallback_groups[g]);
                continue;
            }
            for (size_t k = 0; k < p->node_group_count; k++) {
                const struct sl_node_group *pg = sl_conf_find_group(conf, p->node_groups[k]);
                if (pg == fg)
                    cerr(ld, &at, "partition \"%s\": node group \"%s\" is in both node_groups "
                                  "and fallback_node_groups", p->name, fg->name);
                else if (pg && pg->cpus == fg->cpus && pg->memory_mb == fg->memory_mb &&
                         pg->gpus == fg->gpus)
                    shape = true;
            }
            if (!shape)
                cerr(ld, &at, "partition \"%s\": fallback node group \"%s\" has no node group of "
                              "the same shape (cpus, memory, gpus) in node_groups", p->name,
                     fg->name);
        }
        if (p->fallback_after != SL_TIME_UNLIMITED && !p->fallback_group_count)
            cerr(ld, &at, "partition \"%s\": fallback_after needs fallback_node_groups", p->name);
        if (p->is_default) {
            if (ndefault++)
                cerr(ld, &at, "partitions \"%s\" and \"%s\" are both marked default: true",
                     first_default->name, p->name);
            else
                first_default = p;
        }
    }
    for (size_t i = 0; i < conf->account_count; i++) {
        struct sl_account *a = &conf->accounts[i];
        yaml_node_t at = mark_node(a->line, a->col);
        if (!a->name)
            continue;
        for (size_t j = 0; j < i; j++)
            if (conf->accounts[j].name && !strcmp(conf->accounts[j].name, a->name))
                cerr(ld, &at, "duplicate account \"%s\"", a->name);
        if (a->budget_period && strcmp(a->budget_period, "day") &&
            strcmp(a->budget_period, "week") && strcmp(a->budget_period, "month"))
            cerr(ld, &at, "account \"%s\": budget_period \"%s\": expected day, week or month",
                 a->name, a->budget_period);
    }
    if (ndefault == 0 && conf->part_count == 1)
        conf->parts[0].is_default = true;
    else if (ndefault == 0 && conf->part_count > 1)
        cerr(ld, NULL, "no default partition: mark one partition with default: true");
    if (conf->group_count == 0)
        cerr(ld, NULL, "no node groups defined (node_groups is required)");
    if (conf->part_count == 0)
        cerr(ld, NULL, "no partitions defined (partitions is required)");
}

/* ---- defaults and entry points ---- */

/* Numbers first, before the file is read, so the file overrides them. */
static void numeric_defaults(struct sl_conf *c)
{
    c->ctld_port = 6817;
    c->ctld_tools_port = 6816;
    c->node_port = 6818;
    c->heartbeat_interval = 10;
    c->node_timeout = 60;
    c->kill_wait = 30;
    c->message_timeout = 10;
    c->min_job_age = 300;
    c->sched_interval = 5;
    c->sched_budget_ms = 200;
    c->max_submit_jobs = -1;  /* UNLIMITED */
    c->max_job_count = -1;    /* UNLIMITED */
    c->max_array_size = 1000001;
    c->max_script_size = 4194304;
    c->resume_timeout = 600;   /* Slurm's ResumeTimeout default is 60; clouds boot slower */
    c->suspend_timeout = 120;
    c->power_idle_time = 600;
    c->failure_backoff = 300;
    c->program_timeout = 60;
    c->enforce_memory = true;
}

/* Strings after: only those the file left unset. */
static int string_defaults(struct sl_conf *c)
{
#define DEF_STR(f, v)                                                                              \
    if (!c->f && !(c->f = strdup(v)))                                                              \
    return -1
    DEF_STR(cluster_name, "local");
    DEF_STR(ctld_host, "127.0.0.1");
    DEF_STR(state_dir, LOCALSTATEDIR "/lib/slurmish");
    DEF_STR(log_level, "info");
    DEF_STR(slurm_user, "root");
    DEF_STR(spool_dir, LOCALSTATEDIR "/spool/slurmish");
    DEF_STR(power_provider, "local");
#undef DEF_STR
    return 0;
}

static int load(const char *text, size_t len, const char *name, struct sl_conf **out,
                char **errors)
{
    struct loader ld = {.file = name};
    yaml_parser_t parser;
    struct sl_conf *conf = calloc(1, sizeof(*conf));
    bool have_doc = false;

    *out = NULL;
    if (errors)
        *errors = NULL;
    if (!conf || !(conf->path = strdup(name))) {
        free(conf);
        errno = ENOMEM;
        return -1;
    }
    numeric_defaults(conf);

    if (!yaml_parser_initialize(&parser)) {
        sl_conf_destroy(conf);
        errno = ENOMEM;
        return -1;
    }
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    if (!yaml_parser_load(&parser, &ld.doc)) {
        char line[700];
        snprintf(line, sizeof(line), "%s:%zu:%zu: YAML syntax error: %s%s%s\n", name,
                 parser.problem_mark.line + 1, parser.problem_mark.column + 1,
                 parser.problem ? parser.problem : "unknown problem",
                 parser.context ? " " : "", parser.context ? parser.context : "");
        ld.errors = strdup(line);
        ld.nerrors = 1;
    } else {
        have_doc = true;
        yaml_node_t *root = yaml_document_get_root_node(&ld.doc);
        if (!root) {
            cerr(&ld, NULL, "the file is empty: expected node_groups and partitions");
        } else {
            struct top_ctx tc = {conf};
            load_mapping(&ld, root, top_keys, conf, "", "", top_sub, &tc);
            validate(&ld, conf);
        }
    }
    yaml_parser_delete(&parser);
    if (have_doc)
        yaml_document_delete(&ld.doc);
    if (string_defaults(conf) < 0)
        ld.oom = true;
    if (ld.oom) {
        free(ld.errors);
        sl_conf_destroy(conf);
        if (errors)
            *errors = strdup("out of memory loading configuration\n");
        errno = ENOMEM;
        return -1;
    }
    if (ld.nerrors) {
        if (errors)
            *errors = ld.errors;
        else
            free(ld.errors);
        sl_conf_destroy(conf);
        errno = EINVAL;
        return -1;
    }
    free(ld.errors);
    *out = conf;
    return 0;
}

int sl_conf_load_string(const char *text, size_t len, const char *name, struct sl_conf **conf,
                        char **errors)
{
    return load(text, len, name, conf, errors);
}

int sl_conf_load(const char *path, struct sl_conf **conf, char **errors)
{
    FILE *fp = fopen(path, "r");
    char *buf = NULL;
    size_t len = 0, cap = 0;
    int rc;

    *conf = NULL;
    if (errors)
        *errors = NULL;
    if (!fp) {
        if (errors) {
            char line[600];
            snprintf(line, sizeof(line), "%s: cannot read configuration: %s\n", path,
                     strerror(errno));
            *errors = strdup(line);
        }
        return -1;
    }
    for (;;) {
        if (len + 4096 > cap) {
            cap = cap ? cap * 2 : 8192;
            char *n = realloc(buf, cap);
            if (!n) {
                free(buf);
                fclose(fp);
                errno = ENOMEM;
                return -1;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len, fp);
        len += got;
        if (got == 0)
            break;
        if (len > 16 * 1024 * 1024) {
            free(buf);
            fclose(fp);
            if (errors)
                *errors = strdup("configuration file larger than 16 MiB\n");
            errno = EFBIG;
            return -1;
        }
    }
    fclose(fp);
    rc = load(buf ? buf : "", len, path, conf, errors);
    free(buf);
    return rc;
}

const char *sl_conf_path(const char *opt_file)
{
    const char *env;
    if (opt_file && *opt_file)
        return opt_file;
    if ((env = getenv("SLURMISH_CONF")) && *env)
        return env;
    return SL_DEFAULT_CONF;
}

void sl_conf_destroy(struct sl_conf *c)
{
    if (!c)
        return;
    int saved = errno;
    free(c->path);
    free(c->cluster_name);
    free(c->ctld_host);
    free(c->metrics_address);
    free(c->ctld_tools_socket);
    free(c->state_dir);
    free(c->log_level);
    free(c->log_file);
    free_strlist(c->admins, c->admin_count);
    free(c->slurm_user);
    free(c->munge_socket);
    free(c->spool_dir);
    free(c->node_address);
    free(c->node_log_level);
    free(c->node_log_file);
    free(c->power_provider);
    free(c->plugin_dir);
    free(c->resume_program);
    free(c->suspend_program);
    free(c->local_daemon);
    for (size_t i = 0; i < c->group_count; i++) {
        struct sl_node_group *g = &c->groups[i];
        free(g->name);
        free(g->nodes_expr);
        free_strlist(g->nodes, g->node_count);
        free(g->gpu_type);
        free_strlist(g->features, g->feature_count);
    }
    free(c->groups);
    for (size_t i = 0; i < c->part_count; i++) {
        free(c->parts[i].name);
        free_strlist(c->parts[i].node_groups, c->parts[i].node_group_count);
        free_strlist(c->parts[i].allow_users, c->parts[i].allow_user_count);
        free_strlist(c->parts[i].allow_accounts, c->parts[i].allow_account_count);
        free_strlist(c->parts[i].fallback_groups, c->parts[i].fallback_group_count);
    }
    free(c->parts);
    for (size_t i = 0; i < c->account_count; i++) {
        free(c->accounts[i].name);
        free(c->accounts[i].budget_period);
    }
    free(c->accounts);
    free(c);
    errno = saved;
}

const struct sl_partition *sl_conf_find_partition(const struct sl_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->part_count; i++)
        if (conf->parts[i].name && !strcmp(conf->parts[i].name, name))
            return &conf->parts[i];
    return NULL;
}

const struct sl_partition *sl_conf_default_partition(const struct sl_conf *conf)
{
    for (size_t i = 0; i < conf->part_count; i++)
        if (conf->parts[i].is_default)
            return &conf->parts[i];
    return NULL;
}

const struct sl_node_group *sl_conf_find_group(const struct sl_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->group_count; i++)
        if (conf->groups[i].name && !strcmp(conf->groups[i].name, name))
            return &conf->groups[i];
    return NULL;
}

const char *sl_preempt_mode_name(int mode)
{
    return mode == SL_PREEMPT_CANCEL ? "CANCEL" : mode == SL_PREEMPT_REQUEUE ? "REQUEUE" : "OFF";
}

const struct sl_account *sl_conf_find_account(const struct sl_conf *conf, const char *name)
{
    for (size_t i = 0; name && i < conf->account_count; i++)
        if (conf->accounts[i].name && !strcmp(conf->accounts[i].name, name))
            return &conf->accounts[i];
    return NULL;
}

const struct sl_node_group *sl_conf_find_node(const struct sl_conf *conf, const char *name)
{
    for (size_t i = 0; i < conf->group_count; i++)
        for (size_t j = 0; j < conf->groups[i].node_count; j++)
            if (!strcmp(conf->groups[i].nodes[j], name))
                return &conf->groups[i];
    return NULL;
}
