/* reconf.c - live configuration changes: reload the file (scontrol
 * reconfigure, SIGHUP), check a file against the running configuration
 * (scontrol check-config), and partition edits (scontrol update|create|
 * delete PartitionName=...) written back into the file, which stays the
 * single source of truth.
 *
 * Every change is all or nothing: the new text is validated as a whole,
 * compared with the running configuration, written (edits only:
 * temporary file, fsync, rename) and only then swapped in.  Jobs are
 * untouched: they name their partition, and the next scheduling pass sees
 * the new limits.  What a running cluster cannot take without a restart
 * (addresses, ports, directories, the nodes and sizes of node groups) is
 * refused with the reason.  Each change is an event (who, what, how).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/edit.h"
#include "budget.h"
#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define MAX_CONF_BYTES (4 * 1024 * 1024)

/* ---- comparing configurations ---- */

static bool str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && !strcmp(a, b));
}

static bool list_eq(char **a, size_t na, char **b, size_t nb)
{
    if (na != nb || (!a) != (!b))
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]) != 0)
            return false;
    return true;
}

static char *list_str(char **v, size_t n, const char *none)
{
    if (!v)
        return xstrdup(none);
    size_t len = 3;
    for (size_t i = 0; i < n; i++)
        len += strlen(v[i]) + 2;
    char *out = xcalloc(1, len);
    strcat(out, "[");
    for (size_t i = 0; i < n; i++) {
        if (i)
            strcat(out, ", ");
        strcat(out, v[i]);
    }
    strcat(out, "]");
    return out;
}

static char *time_str(int64_t t)
{
    if (t == SL_TIME_UNLIMITED)
        return xstrdup("UNLIMITED");
    if (t == SL_TIME_UNSET)
        return xstrdup("(max_time)");
    if (t >= 86400)
        return xasprintf("%lld-%02lld:%02lld:%02lld", (long long)(t / 86400),
                         (long long)(t % 86400 / 3600), (long long)(t % 3600 / 60),
                         (long long)(t % 60));
    return xasprintf("%lld:%02lld:%02lld", (long long)(t / 3600), (long long)(t % 3600 / 60),
                     (long long)(t % 60));
}

static void change(json_t *out, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void change(json_t *out, const char *fmt, ...)
{
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        fatalx("out of memory");
    va_end(ap);
    json_array_append_new(out, json_string(s));
    free(s);
}

/* Can a running controller take `nc` in place of `oc`?  Anything that
 * needs a restart is named in *why. */
static bool compatible(const struct sl_conf *oc, const struct sl_conf *nc, char *why, size_t size)
{
#define NEEDS_RESTART(cond, what)                                                                  \
    if (cond) {                                                                                    \
        snprintf(why, size, "%s changed: that needs a restart of slurmish-ctld (running jobs "     \
                            "survive it)",                                                         \
                 what);                                                                            \
        return false;                                                                              \
    }
    NEEDS_RESTART(!str_eq(oc->ctld_host, nc->ctld_host) || oc->ctld_port != nc->ctld_port ||
                      oc->ctld_tools_port != nc->ctld_tools_port ||
                      !str_eq(oc->ctld_tools_socket, nc->ctld_tools_socket),
                  "controller host, port, tools_port or tools_socket");
    NEEDS_RESTART(!str_eq(oc->state_dir, nc->state_dir), "controller state_dir");
    NEEDS_RESTART(!str_eq(oc->slurm_user, nc->slurm_user), "controller slurm_user");
    NEEDS_RESTART(!str_eq(oc->metrics_address, nc->metrics_address),
                  "controller metrics_address");
    NEEDS_RESTART(!str_eq(oc->munge_socket, nc->munge_socket), "munge socket");
    NEEDS_RESTART(!str_eq(oc->cluster_name, nc->cluster_name), "cluster_name");
    NEEDS_RESTART(oc->group_count != nc->group_count, "the number of node groups");
    for (size_t g = 0; g < oc->group_count; g++) {
        const struct sl_node_group *a = &oc->groups[g], *b = &nc->groups[g];
        char what[160];
        snprintf(what, sizeof(what), "node group \"%s\" (name, nodes, cpus, memory or gpus)",
                 a->name);
        NEEDS_RESTART(strcmp(a->name, b->name) || !list_eq(a->nodes, a->node_count, b->nodes,
                                                           b->node_count) ||
                          a->cpus != b->cpus || a->memory_mb != b->memory_mb ||
                          a->gpus != b->gpus || !str_eq(a->gpu_type, b->gpu_type),
                      what);
        snprintf(what, sizeof(what), "node group \"%s\": cloud", a->name);
        NEEDS_RESTART(a->cloud != b->cloud, what);
    }
    NEEDS_RESTART(!str_eq(oc->power_provider, nc->power_provider) ||
                      !str_eq(oc->plugin_dir, nc->plugin_dir) ||
                      !str_eq(oc->local_daemon, nc->local_daemon),
                  "power provider, plugin_dir or local_daemon");
#undef NEEDS_RESTART
    return true;
}

static void diff_part(json_t *out, const struct sl_partition *a, const struct sl_partition *b)
{
    char *x, *y;
#define TIME_FIELD(f, key)                                                                         \
    if (a->f != b->f) {                                                                            \
        x = time_str(a->f), y = time_str(b->f);                                                    \
        change(out, "partition %s: %s %s -> %s", a->name, key, x, y);                              \
        free(x), free(y);                                                                          \
    }
#define INT_FIELD(f, key)                                                                          \
    if (a->f != b->f)                                                                              \
        change(out, "partition %s: %s %lld -> %lld", a->name, key, (long long)a->f,                \
               (long long)b->f);
#define LIST_FIELD(f, n, key, none)                                                                \
    if (!list_eq(a->f, a->n, b->f, b->n)) {                                                        \
        x = list_str(a->f, a->n, none), y = list_str(b->f, b->n, none);                            \
        change(out, "partition %s: %s %s -> %s", a->name, key, x, y);                              \
        free(x), free(y);                                                                          \
    }
    TIME_FIELD(max_time, "max_time")
    TIME_FIELD(default_time, "default_time")
    INT_FIELD(max_nodes, "max_nodes")
    INT_FIELD(min_nodes, "min_nodes")
    INT_FIELD(priority_tier, "priority_tier")
    INT_FIELD(warm_nodes, "warm_nodes")
    if (a->preempt_mode != b->preempt_mode)
        change(out, "partition %s: preempt_mode %s -> %s", a->name,
               sl_preempt_mode_name(a->preempt_mode), sl_preempt_mode_name(b->preempt_mode));
    LIST_FIELD(fallback_groups, fallback_group_count, "fallback_node_groups", "[]")
    TIME_FIELD(fallback_after, "fallback_after")
    LIST_FIELD(node_groups, node_group_count, "node_groups", "[]")
    LIST_FIELD(allow_users, allow_user_count, "allow_users", "ALL")
    LIST_FIELD(allow_accounts, allow_account_count, "allow_accounts", "ALL")
    TIME_FIELD(idle_timeout, "session_idle_timeout")
    TIME_FIELD(idle_warning, "session_idle_warning")
    if (a->state != b->state)
        change(out, "partition %s: state %s -> %s", a->name, part_state_name(a->state),
               part_state_name(b->state));
    if (a->is_default != b->is_default)
        change(out, "partition %s: default %s -> %s", a->name, a->is_default ? "true" : "false",
               b->is_default ? "true" : "false");
#undef TIME_FIELD
#undef INT_FIELD
#undef LIST_FIELD
}

static json_t *diff(const struct sl_conf *oc, const struct sl_conf *nc)
{
    json_t *out = json_array();
#define CTL(f)                                                                                     \
    if (oc->f != nc->f)                                                                            \
        change(out, "controller: " #f " %d -> %d", oc->f, nc->f);
    CTL(heartbeat_interval)
    CTL(node_timeout)
    CTL(kill_wait)
    CTL(message_timeout)
    CTL(min_job_age)
    CTL(sched_interval)
    CTL(sched_budget_ms)
    CTL(max_submit_jobs)
    CTL(max_job_count)
    CTL(max_array_size)
    CTL(max_script_size)
    CTL(resume_timeout)
    CTL(suspend_timeout)
    CTL(power_idle_time)
    CTL(resume_rate)
    CTL(failure_backoff)
    CTL(program_timeout)
    CTL(local_boot_delay)
#undef CTL
    if (!str_eq(oc->resume_program, nc->resume_program) ||
        !str_eq(oc->suspend_program, nc->suspend_program))
        change(out, "power: resume_program or suspend_program changed");
    if (!str_eq(oc->log_level, nc->log_level))
        change(out, "controller: log_level %s -> %s", oc->log_level ? oc->log_level : "info",
               nc->log_level ? nc->log_level : "info");
    if (!list_eq(oc->admins, oc->admin_count, nc->admins, nc->admin_count)) {
        char *x = list_str(oc->admins, oc->admin_count, "[]");
        char *y = list_str(nc->admins, nc->admin_count, "[]");
        change(out, "controller: admins %s -> %s", x, y);
        free(x);
        free(y);
    }
    for (size_t g = 0; g < oc->group_count && g < nc->group_count; g++) {
        const struct sl_node_group *a = &oc->groups[g], *b = &nc->groups[g];
        if (a->price_per_hour != b->price_per_hour)
            change(out, "node group %s: price_per_hour %.4f -> %.4f", a->name, a->price_per_hour,
                   b->price_per_hour);
        if (a->spot != b->spot)
            change(out, "node group %s: spot %s -> %s", a->name, a->spot ? "true" : "false",
                   b->spot ? "true" : "false");
        if (a->idle_time != b->idle_time)
            change(out, "node group %s: idle_time %d -> %d", a->name, a->idle_time, b->idle_time);
        if (a->warm_nodes != b->warm_nodes)
            change(out, "node group %s: warm_nodes %d -> %d", a->name, a->warm_nodes,
                   b->warm_nodes);
        if (!list_eq(a->features, a->feature_count, b->features, b->feature_count)) {
            char *x = list_str(a->features, a->feature_count, "[]");
            char *y = list_str(b->features, b->feature_count, "[]");
            change(out, "node group %s: features %s -> %s", a->name, x, y);
            free(x);
            free(y);
        }
    }
    for (size_t i = 0; i < nc->account_count; i++) {
        const struct sl_account *a = &nc->accounts[i];
        const struct sl_account *o = sl_conf_find_account(oc, a->name);
        const char *np = a->budget_period ? a->budget_period : "month";
        if (!o)
            change(out, "account %s: added, budget %.2f per %s", a->name, a->budget, np);
        else if (o->budget != a->budget || strcmp(o->budget_period ? o->budget_period : "month", np))
            change(out, "account %s: budget %.2f per %s -> %.2f per %s", a->name, o->budget,
                   o->budget_period ? o->budget_period : "month", a->budget, np);
    }
    for (size_t i = 0; i < oc->account_count; i++)
        if (!sl_conf_find_account(nc, oc->accounts[i].name))
            change(out, "account %s: removed (no budget)", oc->accounts[i].name);
    for (size_t i = 0; i < oc->part_count; i++) {
        const struct sl_partition *b = sl_conf_find_partition(nc, oc->parts[i].name);
        if (!b)
            change(out, "partition %s: removed", oc->parts[i].name);
        else
            diff_part(out, &oc->parts[i], b);
    }
    for (size_t i = 0; i < nc->part_count; i++)
        if (!sl_conf_find_partition(oc, nc->parts[i].name))
            change(out, "partition %s: added", nc->parts[i].name);
    return out;
}

/* ---- applying ---- */

static void apply(struct ctld *c, struct sl_conf *nc)
{
    struct sl_conf *oc = c->conf;
    for (int i = 0; i < c->nnodes; i++)
        c->nodes[i].group = sl_conf_find_group(nc, c->nodes[i].group->name);
    c->conf = nc;
    parts_build(c);
    budget_free(c); /* accounts may have moved: re-read spend on the next pass */
    sl_conf_destroy(oc);
    log_set_level(log_level_from(c->conf->log_level, c->log_verbose));
    c->sched_needed = true;
}

static char *read_file(const char *path, char *ebuf, size_t elen)
{
    FILE *fp = fopen(path, "re");
    char *buf;
    size_t n;
    if (!fp) {
        snprintf(ebuf, elen, "cannot read %s: %s", path, strerror(errno));
        return NULL;
    }
    buf = xmalloc(MAX_CONF_BYTES + 1);
    n = fread(buf, 1, MAX_CONF_BYTES, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

/* Replace the file atomically: a sibling temporary file, fsync, rename,
 * keeping the original's mode. */
static int write_file(const char *path, const char *text, char *ebuf, size_t elen)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    struct stat st;
    mode_t mode = stat(path, &st) == 0 ? st.st_mode & 07777 : 0644;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    size_t len = strlen(text), off = 0;

    if (fd < 0)
        goto fail;
    while (off < len) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            goto fail;
        off += (size_t)w;
    }
    if (fchmod(fd, mode) < 0 || fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        goto fail;
    }
    fd = -1;
    if (rename(tmp, path) < 0)
        goto fail;
    free(tmp);
    return 0;
fail:
    snprintf(ebuf, elen, "cannot write %s: %s", path, strerror(errno));
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(tmp);
    return -1;
}

/* Validate text, check it against the running configuration, and (unless
 * check_only) write it to the file if write is set, then apply it.
 * Replies to req. */
static void change_config(struct ctld *c, struct request *req, const char *text, bool check_only,
                          bool write, const char *how)
{
    struct sl_conf *nc = NULL;
    char *errors = NULL, why[512], ebuf[600];
    json_t *changes, *reply;
    size_t i;
    json_t *e;

    if (sl_conf_load_string(text, strlen(text), c->conf_path, &nc, &errors) < 0) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s", errors ? errors : "invalid");
        free(errors);
        return;
    }
    if (!compatible(c->conf, nc, why, sizeof(why))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s", why);
        sl_conf_destroy(nc);
        return;
    }
    changes = diff(c->conf, nc);
    if (check_only) {
        sl_conf_destroy(nc);
    } else {
        if (write && write_file(c->conf_path, text, ebuf, sizeof(ebuf)) < 0) {
            ctld_reply_errorf(c, req, SL_E_GENERIC, "%s", ebuf);
            sl_conf_destroy(nc);
            json_decref(changes);
            return;
        }
        free(c->conf_text);
        c->conf_text = xstrdup(text);
        apply(c, nc);
        json_array_foreach(changes, i, e)
        {
            char *d = xasprintf("%s (%s)", json_string_value(e), how);
            persist_event(c, req ? req->msg.uid : 0, "config", d);
            log_info("configuration: %s", d);
            free(d);
        }
        if (json_array_size(changes) == 0)
            log_info("configuration reloaded (%s): no changes", how);
    }
    reply = json_pack("{s:o, s:b}", "changes", changes, "applied", !check_only);
    if (req)
        ctld_reply(c, req, 0, NULL, reply);
    json_decref(reply);
}

void reconf_handle(struct ctld *c, struct request *req)
{
    const char *text = json_string_value(json_object_get(req->msg.body, "text"));
    bool check_only = json_is_true(json_object_get(req->msg.body, "check_only"));
    char ebuf[600];
    char *file;

    if (!check_only && !ctld_is_admin(c, req->msg.uid)) {
        ctld_reply(c, req, SL_E_ACCESS_DENIED, NULL, NULL);
        return;
    }
    if (text) {
        if (!check_only) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                              "a configuration text can only be checked; edit the file and "
                              "reconfigure to apply it");
            return;
        }
        change_config(c, req, text, true, false, "scontrol check-config");
        return;
    }
    if (!(file = read_file(c->conf_path, ebuf, sizeof(ebuf)))) {
        ctld_reply_errorf(c, req, SL_E_GENERIC, "%s", ebuf);
        return;
    }
    change_config(c, req, file, check_only, false, "scontrol reconfigure");
    free(file);
}

/* SIGHUP: reload the file as scontrol reconfigure would, logging the outcome. */
void reconf_reload(struct ctld *c)
{
    char ebuf[600], *file = read_file(c->conf_path, ebuf, sizeof(ebuf)), *errors = NULL;
    char why[512];
    struct sl_conf *nc = NULL;

    if (!file) {
        log_err("reload: %s", ebuf);
        return;
    }
    if (sl_conf_load_string(file, strlen(file), c->conf_path, &nc, &errors) < 0) {
        log_err("reload refused, the running configuration stays:\n%s", errors ? errors : "");
    } else if (!compatible(c->conf, nc, why, sizeof(why))) {
        log_err("reload refused: %s", why);
        sl_conf_destroy(nc);
    } else {
        json_t *changes = diff(c->conf, nc), *e;
        size_t i;
        free(c->conf_text);
        c->conf_text = xstrdup(file);
        apply(c, nc);
        json_array_foreach(changes, i, e)
        {
            char *d = xasprintf("%s (SIGHUP)", json_string_value(e));
            persist_event(c, 0, "config", d);
            log_info("configuration: %s", d);
            free(d);
        }
        log_info("configuration reloaded on SIGHUP: %zu change%s", json_array_size(changes),
                 json_array_size(changes) == 1 ? "" : "s");
        json_decref(changes);
    }
    free(errors);
    free(file);
}

/* scontrol's names for the keys it may edit, and whether the value is a list. */
struct edit_key {
    const char *slurm, *key;
    bool list;
};

static const struct edit_key part_keys[] = {
    {"MaxTime", "max_time", false},
    {"DefaultTime", "default_time", false},
    {"MaxNodes", "max_nodes", false},
    {"MinNodes", "min_nodes", false},
    {"State", "state", false},
    {"Nodes", "node_groups", true},
    {"NodeGroups", "node_groups", true},
    {"AllowAccounts", "allow_accounts", true},
    {"AllowUsers", "allow_users", true},
    {"PriorityTier", "priority_tier", false},
    {"PreemptMode", "preempt_mode", false},
    {"Default", "default", false},
    {"SessionIdleTimeout", "session_idle_timeout", false},
    {"SessionIdleWarning", "session_idle_warning", false},
    {NULL, NULL, false},
};

/* what a running controller can change in a node group (the rest needs a restart) */
static const struct edit_key group_keys[] = {
    {"PricePerHour", "price_per_hour", false},
    {"Features", "features", true},
    {"Spot", "spot", false},
    {NULL, NULL, false},
};

static const struct edit_key *find_key(const struct edit_key *t, const char *name)
{
    for (; t->slurm; t++)
        if (!strcasecmp(name, t->slurm) || !strcmp(name, t->key))
            return t;
    return NULL;
}

static char *key_names(const struct edit_key *t)
{
    char *out = xstrdup("");
    for (const struct edit_key *k = t; k->slurm; k++) {
        if (k > t && !strcmp(k->key, k[-1].key))
            continue; /* an alias */
        char *n = xasprintf("%s%s%s", out, *out ? ", " : "", k->slurm);
        free(out);
        out = n;
    }
    return out;
}

static char *yaml_value(const struct edit_key *k, const char *v)
{
    if (k->list)
        return sl_conf_yaml_list(v);
    if (!strcasecmp(v, "yes") || !strcasecmp(v, "true"))
        return xstrdup("true");
    if (!strcasecmp(v, "no") || !strcasecmp(v, "false"))
        return xstrdup("false");
    return sl_conf_yaml_scalar(v);
}

static bool partition_in_use(struct ctld *c, const char *name)
{
    JOB_FOREACH(&c->jobs, j)
    {
        if ((!job_state_is_final(j->state) || j->completing) && j->partition &&
            !strcmp(j->partition, name))
            return true;
    }
    return false;
}

/* update: set each key (or, for an allow list, ALL removes it) */
static char *edit_keys(const char *text, const char *list, const char *name,
                       const struct edit_key *table, json_t *set, sl_error_t *err)
{
    char *out = xstrdup(text);
    const char *key;
    json_t *v;
    json_object_foreach(set, key, v)
    {
        const struct edit_key *k = find_key(table, key);
        const char *s = json_string_value(v);
        char *next;
        if (k->list && !strcasecmp(s, "ALL") && strncmp(k->key, "allow_", 6) == 0) {
            next = sl_conf_edit_unset(out, list, name, k->key, err);
        } else {
            char *yv = yaml_value(k, s);
            next = sl_conf_edit_set(out, list, name, k->key, yv, err);
            free(yv);
        }
        free(out);
        if (!(out = next))
            break;
    }
    return out;
}

void update_partition_handle(struct ctld *c, struct request *req)
{
    json_t *b = req->msg.body, *set = json_object_get(b, "set"), *v;
    const char *action = json_string_value(json_object_get(b, "action"));
    const char *name = json_string_value(json_object_get(b, "name"));
    bool group = json_is_true(json_object_get(b, "node_group"));
    const struct edit_key *table = group ? group_keys : part_keys;
    const char *list = group ? "node_groups" : "partitions";
    char ebuf[600], *text, *out = NULL, *how;
    const char *key;
    sl_error_t err;

    if (!ctld_is_admin(c, req->msg.uid)) {
        ctld_reply(c, req, SL_E_ACCESS_DENIED, NULL, NULL);
        return;
    }
    if (!action || !name || !*name || (set && !json_is_object(set))) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "action, name and set{} are required");
        return;
    }
    if (group && strcmp(action, "update") != 0) {
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT,
                          "node groups are added or removed in the file, with a restart of "
                          "slurmish-ctld");
        return;
    }
    json_object_foreach(set, key, v)
    {
        if (!find_key(table, key)) {
            char *names = key_names(table);
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s is not a %s setting (%s)", key,
                              group ? "node group" : "partition", names);
            free(names);
            return;
        }
        if (!json_is_string(v)) {
            ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s needs a value", key);
            return;
        }
    }
    if (!(text = read_file(c->conf_path, ebuf, sizeof(ebuf)))) {
        ctld_reply_errorf(c, req, SL_E_GENERIC, "%s", ebuf);
        return;
    }
    how = xasprintf("scontrol %s %s=%s", action, group ? "NodeGroup" : "PartitionName", name);
    if (!strcmp(action, "delete")) {
        if (partition_in_use(c, name))
            snprintf(err.text, sizeof(err.text), "Partition is in use: %s has jobs", name);
        else
            out = sl_conf_edit_remove(text, list, name, &err);
    } else if (!strcmp(action, "create")) {
        size_t n = json_object_size(set) + 1, i = 1;
        const char **keys = xcalloc(n, sizeof(char *)), **vals = xcalloc(n, sizeof(char *));
        keys[0] = "name";
        vals[0] = sl_conf_yaml_scalar(name);
        json_object_foreach(set, key, v)
        {
            const struct edit_key *k = find_key(table, key);
            keys[i] = k->key;
            vals[i++] = yaml_value(k, json_string_value(v));
        }
        if (sl_conf_find_partition(c->conf, name))
            snprintf(err.text, sizeof(err.text), "partition %s already exists", name);
        else
            out = sl_conf_edit_add(text, list, keys, vals, (int)n, &err);
        for (i = 0; i < n; i++)
            free((char *)vals[i]);
        free(keys);
        free(vals);
    } else if (!strcmp(action, "update")) {
        out = edit_keys(text, list, name, table, set, &err);
    } else {
        snprintf(err.text, sizeof(err.text), "unknown action %s", action);
    }
    if (!out)
        ctld_reply_errorf(c, req, SL_E_INVALID_ARGUMENT, "%s", err.text);
    else
        change_config(c, req, out, false, true, how);
    free(out);
    free(text);
    free(how);
}

void query_events_handle(struct ctld *c, struct request *req)
{
    json_int_t limit = json_integer_value(json_object_get(req->msg.body, "limit"));
    json_t *events = persist_events(c, limit > 0 && limit <= 100000 ? (int)limit : 100);
    json_t *r = json_pack("{s:o}", "events", events ? events : json_array());
    ctld_reply(c, req, 0, NULL, r);
    json_decref(r);
}
