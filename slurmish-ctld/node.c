/* node.c - node and partition records built from the config; see node.h. */
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/xmalloc.h"

static size_t name_hash(const char *name)
{
    size_t h = 14695981039346656037ull; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        h = (h ^ *p) * 1099511628211ull;
    return h;
}

/* Node messages name their sender, every one of them: with 10,000 nodes a
 * scan of the names was 10,000 string compares per heartbeat. */
struct node *node_find(struct ctld *c, const char *name)
{
    if (!c->nnode_slots)
        return NULL;
    for (size_t i = name_hash(name) & (c->nnode_slots - 1);; i = (i + 1) & (c->nnode_slots - 1)) {
        int k = c->node_slots[i];
        if (!k)
            return NULL;
        if (strcmp(c->nodes[k - 1].name, name) == 0)
            return &c->nodes[k - 1];
    }
}

/* The open-addressing index node_find() uses, at most half full. */
static void node_index_build(struct ctld *c)
{
    size_t cap = 16;
    while (cap < 2 * (size_t)c->nnodes)
        cap *= 2;
    c->node_slots = xcalloc(cap, sizeof(*c->node_slots));
    c->nnode_slots = cap;
    for (int k = 0; k < c->nnodes; k++) {
        size_t i = name_hash(c->nodes[k].name) & (cap - 1);
        while (c->node_slots[i])
            i = (i + 1) & (cap - 1);
        c->node_slots[i] = k + 1;
    }
}

struct part *part_find(struct ctld *c, const char *name)
{
    for (int i = 0; i < c->nparts; i++)
        if (strcmp(c->parts[i].conf->name, name) == 0)
            return &c->parts[i];
    return NULL;
}

bool part_is_fallback(const struct part *p, const struct node *n)
{
    for (size_t i = 0; i < p->conf->fallback_group_count; i++)
        if (!strcmp(p->conf->fallback_groups[i], n->group->name))
            return true;
    return false;
}

bool part_has_node(const struct part *p, const struct node *n)
{
    for (int i = 0; i < p->nnodes; i++)
        if (p->nodes[i] == n)
            return true;
    return false;
}

int nodes_create(struct ctld *c)
{
    const struct sl_conf *conf = c->conf;
    int total = 0, k = 0;

    for (size_t g = 0; g < conf->group_count; g++)
        total += (int)conf->groups[g].node_count;
    c->nodes = xcalloc((size_t)total, sizeof(*c->nodes));
    c->nnodes = total;
    for (size_t g = 0; g < conf->group_count; g++) {
        const struct sl_node_group *grp = &conf->groups[g];
        for (size_t i = 0; i < grp->node_count; i++, k++) {
            struct node *n = &c->nodes[k];
            n->name = xstrdup(grp->nodes[i]);
            n->group = grp;
            n->index = k;
            n->state = NODE_UNKNOWN;
            n->reason_uid = -1;
            if (grp->cloud)
                n->flags |= NODE_FLAG_CLOUD;
        }
    }
    node_index_build(c);
    parts_build(c);
    return 0;
}

/* Cheapest group first; equal prices keep the configured order. */
static int cmp_price(const void *a, const void *b)
{
    const struct node *x = *(struct node *const *)a, *y = *(struct node *const *)b;
    if (x->group->price_per_hour != y->group->price_per_hour)
        return x->group->price_per_hour < y->group->price_per_hour ? -1 : 1;
    return x->index - y->index;
}

void parts_build(struct ctld *c)
{
    const struct sl_conf *conf = c->conf;
    int total = c->nnodes;

    for (int p = 0; p < c->nparts; p++) {
        free(c->parts[p].nodes);
        free(c->parts[p].by_price);
    }
    free(c->parts);
    c->parts = xcalloc(conf->part_count ? conf->part_count : 1, sizeof(*c->parts));
    c->nparts = (int)conf->part_count;
    for (size_t p = 0; p < conf->part_count; p++) {
        struct part *pt = &c->parts[p];
        pt->conf = &conf->parts[p];
        pt->nodes = xcalloc((size_t)total ? (size_t)total : 1, sizeof(*pt->nodes));
        /* fallback groups last: they serve a job only when the others cannot */
        size_t ng = pt->conf->node_group_count, nf = pt->conf->fallback_group_count;
        for (size_t gi = 0; gi < ng + nf; gi++) {
            const char *gname = gi < ng ? pt->conf->node_groups[gi]
                                        : pt->conf->fallback_groups[gi - ng];
            for (int ni = 0; ni < c->nnodes; ni++) {
                struct node *n = &c->nodes[ni];
                if (strcmp(n->group->name, gname) == 0 &&
                    !part_has_node(pt, n)) {
                    pt->nodes[pt->nnodes++] = n;
                    pt->total_cpus += n->group->cpus;
                    pt->has_cloud |= (n->flags & NODE_FLAG_CLOUD) != 0;
                }
            }
        }
        pt->by_price = xcalloc((size_t)pt->nnodes + 1, sizeof(*pt->by_price));
        memcpy(pt->by_price, pt->nodes, (size_t)pt->nnodes * sizeof(*pt->by_price));
        qsort(pt->by_price, (size_t)pt->nnodes, sizeof(*pt->by_price), cmp_price);
    }
}

void nodes_destroy(struct ctld *c)
{
    for (int i = 0; i < c->nnodes; i++) {
        free(c->nodes[i].name);
        free(c->nodes[i].reason);
        free(c->nodes[i].address);
    }
    free(c->nodes);
    free(c->node_slots);
    c->node_slots = NULL;
    c->nnode_slots = 0;
    for (int p = 0; p < c->nparts; p++) {
        free(c->parts[p].nodes);
        free(c->parts[p].by_price);
    }
    free(c->parts);
    c->nodes = NULL;
    c->parts = NULL;
    c->nnodes = c->nparts = 0;
}

void node_update_state(struct ctld *c, struct node *n)
{
    (void)c;
    /* a powered-down cloud node is idle as far as anyone can tell ("idle~") */
    bool off = (n->flags & (NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_UP)) != 0;
    if (n->state == NODE_DOWN || (!n->registered && !off)) {
        if (!n->registered && n->state != NODE_DOWN)
            n->state = NODE_UNKNOWN;
        return;
    }
    if (n->cpus_used <= 0 && n->njobs <= 0)
        n->state = NODE_IDLE;
    else if (n->cpus_used >= n->group->cpus)
        n->state = NODE_ALLOCATED;
    else
        n->state = NODE_MIXED;
}

bool node_usable(const struct node *n)
{
    return n->registered && n->state != NODE_DOWN && n->state != NODE_UNKNOWN &&
           !(n->flags & (NODE_FLAG_DRAIN | NODE_FLAG_NOT_RESPONDING | NODE_POWER_FLAGS));
}

/* Heartbeats stopped or the link failed: DOWN, and its jobs end. */
void node_set_down(struct ctld *c, struct node *n, const char *reason)
{
    if (n->state == NODE_DOWN)
        return;
    log_warn("node %s is DOWN: %s", n->name, reason);
    n->state = NODE_DOWN;
    n->flags |= NODE_FLAG_NOT_RESPONDING;
    n->registered = false;
    n->route_len = 0;
    free(n->reason);
    n->reason = xstrdup(reason);
    n->reason_time = ctld_now();
    n->reason_uid = -1;
    JOB_FOREACH_ACTIVE(&c->jobs, j)
    {
        bool on_node = false;
        for (int i = 0; i < j->nalloc; i++)
            if (j->alloc[i] == n)
                on_node = true;
        if (!on_node)
            continue;
        if (j->completing) {
            job_set_final(c, j, j->state, j->reason);
        } else if (j->state == JOB_RUNNING && j->configuring) {
            /* its nodes never all came up: nothing ran, place it again */
            log_info("job %u: node %s failed while booting, requeued", j->id, n->name);
            job_requeue(c, j, REASON_NONE);
        } else if (j->state == JOB_RUNNING && j->interactive) {
            /* a session cannot move: the allocation fails with its node */
            j->end_time = ctld_now();
            job_set_final(c, j, JOB_NODE_FAIL, REASON_NODE_DOWN);
        } else if (j->state == JOB_RUNNING && j->launch_seq) {
            /* never confirmed started: nothing was lost, try elsewhere */
            job_requeue(c, j, REASON_NONE);
        } else if (j->state == JOB_RUNNING && j->alloc[0] != n) {
            /* the batch host is elsewhere and alive: stop the script there,
             * then run it again if it may be requeued */
            if (j->requeue)
                job_requeue_running(c, j);
            else
                job_terminate(c, j, JOB_NODE_FAIL, REASON_NODE_DOWN, -1);
        } else if (j->state == JOB_RUNNING && j->requeue) {
            /* Slurm's default (JobRequeue=1): run it again elsewhere; if the
             * node comes back still running it, registration stops it */
            log_info("job %u: node %s failed, requeued", j->id, n->name);
            job_requeue(c, j, REASON_NONE);
        } else if (j->state == JOB_RUNNING) {
            j->end_time = ctld_now();
            job_set_final(c, j, JOB_NODE_FAIL, REASON_NODE_DOWN);
        }
    }
    node_update_state(c, n);
    c->sched_needed = true;
}

static json_t *str_array(char *const *v, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(a, json_string(v[i]));
    return a;
}

json_t *node_to_json(struct ctld *c, const struct node *n)
{
    char sl[64], ss[64];
    json_t *flags = json_array(), *parts = json_array();
    if (n->flags & NODE_FLAG_DRAIN)
        json_array_append_new(flags, json_string("DRAIN"));
    if (n->flags & NODE_FLAG_NOT_RESPONDING)
        json_array_append_new(flags, json_string("NOT_RESPONDING"));
    if (n->flags & NODE_FLAG_COMPLETING)
        json_array_append_new(flags, json_string("COMPLETING"));
    if (n->flags & NODE_FLAG_CLOUD)
        json_array_append_new(flags, json_string("CLOUD"));
    if (n->flags & NODE_POWER_FLAGS)
        json_array_append_new(flags, json_string(node_power_name(n->flags)));
    for (int p = 0; p < c->nparts; p++)
        if (part_has_node(&c->parts[p], n))
            json_array_append_new(parts, json_string(c->parts[p].conf->name));
    node_state_string(n->state, n->flags, false, sl, sizeof(sl));
    node_state_string(n->state, n->flags, true, ss, sizeof(ss));
    json_t *o = json_pack(
        "{s:s, s:s, s:s, s:i, s:s, s:o, s:s, s:s, s:s, s:i, s:i, s:I, s:I, s:i, s:s?, s:o, s:o,"
        " s:I, s:I, s:{s:i, s:I, s:i}, s:f, s:b, s:i}",
        "name", n->name, "group", n->group->name, "address", n->address ? n->address : "",
        "port", n->port, "state", node_state_name(n->state), "flags", flags, "state_long", sl,
        "state_short", ss, "reason", n->reason ? n->reason : "", "cpus", n->group->cpus,
        "cpus_alloc", n->cpus_used, "memory_mb", (json_int_t)n->group->memory_mb,
        "memory_alloc_mb", (json_int_t)n->mem_used, "gpus", n->group->gpus, "gpu_type",
        n->group->gpu_type, "features", str_array(n->group->features, n->group->feature_count),
        "partitions", parts, "boot_time", (json_int_t)n->boot_time, "last_heartbeat",
        (json_int_t)n->last_heartbeat, "detected", "cpus", n->det_cpus, "memory_mb",
        (json_int_t)n->det_mem, "gpus", n->det_gpus, "price_per_hour", n->group->price_per_hour,
        "spot", n->group->spot, "reason_time", (int)n->reason_time);
    if (o) {
        json_object_set_new(o, "gpus_alloc", json_integer(__builtin_popcountll(n->gpus_used)));
        json_object_set_new(o, "reason_uid", json_integer(n->reason_uid));
        /* live interactive sessions: such a node is in use however idle its CPUs look */
        json_object_set_new(o, "sessions", json_integer(n->nsessions));
        json_object_set_new(o, "cloud", json_boolean(n->flags & NODE_FLAG_CLOUD));
        json_object_set_new(o, "memory_enforcement",
                            json_string(n->mem_enforcement[0] ? n->mem_enforcement : "unknown"));
        json_object_set_new(o, "power_state", json_string(node_power_name(n->flags)));
        json_object_set_new(o, "power_since", json_integer(n->power_since));
    }
    if (!o)
        fatalx("node %s: cannot build JSON", n->name);
    return o;
}

json_t *part_to_json(struct ctld *c, const struct part *p)
{
    struct hostlist *hl = hostlist_create(NULL, NULL);
    for (int i = 0; i < p->nnodes; i++)
        hostlist_push(hl, p->nodes[i]->name);
    char *nodes = hostlist_ranged_string(hl);
    hostlist_destroy(hl);
    json_t *o = json_pack(
        "{s:s, s:b, s:s, s:I, s:I, s:i, s:i, s:o, s:s, s:i, s:i}", "name", p->conf->name,
        "default", p->conf->is_default, "state", part_state_name(p->conf->state), "max_time",
        (json_int_t)p->conf->max_time, "default_time",
        (json_int_t)(p->conf->default_time == SL_TIME_UNSET ? p->conf->max_time
                                                              : p->conf->default_time),
        "max_nodes", p->conf->max_nodes, "priority_tier", p->conf->priority_tier, "node_groups",
        str_array(p->conf->node_groups, p->conf->node_group_count), "nodes", nodes ? nodes : "",
        "total_nodes", p->nnodes, "total_cpus", p->total_cpus);
    free(nodes);
    (void)c;
    if (!o)
        fatalx("partition %s: cannot build JSON", p->conf->name);
    json_object_set_new(o, "min_nodes", json_integer(p->conf->min_nodes));
    json_object_set_new(o, "allow_users",
                        p->conf->allow_users
                            ? str_array(p->conf->allow_users, p->conf->allow_user_count)
                            : json_string("ALL"));
    json_object_set_new(o, "allow_accounts",
                        p->conf->allow_accounts
                            ? str_array(p->conf->allow_accounts, p->conf->allow_account_count)
                            : json_string("ALL"));
    json_object_set_new(o, "session_idle_timeout", json_integer(p->conf->idle_timeout));
    json_object_set_new(o, "session_idle_warning", json_integer(p->conf->idle_warning));
    json_object_set_new(o, "warm_nodes", json_integer(p->conf->warm_nodes));
    json_object_set_new(o, "preempt_mode", json_string(sl_preempt_mode_name(p->conf->preempt_mode)));
    json_object_set_new(o, "fallback_node_groups",
                        str_array(p->conf->fallback_groups, p->conf->fallback_group_count));
    json_object_set_new(o, "fallback_after", json_integer(p->conf->fallback_after));
    return o;
}
