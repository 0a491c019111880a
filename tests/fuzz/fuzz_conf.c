/* fuzz_conf.c - the slurmish.yaml loader, from a string
 * (sl_conf_load_string), as `scontrol reconfigure` check_only texts and
 * the daemons' configuration files reach it.
 *
 * Properties checked beyond "no crash, no leak": a refused text comes
 * with error lines; an accepted one has node groups and partitions,
 * exactly one default partition, unique group and partition names,
 * partitions whose node groups exist, and nodes that belong to their
 * group only.
 */
#include "config.h"

#include "conf/conf.h"
#include "fuzz.h"

static void check_conf(const struct sl_conf *c)
{
    if (!c->group_count || !c->part_count)
        FUZZ_BUG("accepted a configuration without node groups or partitions");
    const struct sl_partition *def = sl_conf_default_partition(c);
    if (!def)
        FUZZ_BUG("accepted a configuration without a default partition");
    for (size_t i = 0; i < c->part_count; i++) {
        const struct sl_partition *p = &c->parts[i];
        if (!p->name || sl_conf_find_partition(c, p->name) != p)
            FUZZ_BUG("partition %zu: missing or duplicate name", i);
        if (p->is_default && p != def)
            FUZZ_BUG("partitions %s and %s are both default", def->name, p->name);
        for (size_t g = 0; g < p->node_group_count; g++)
            if (!sl_conf_find_group(c, p->node_groups[g]))
                FUZZ_BUG("partition %s names an unknown node group", p->name);
    }
    for (size_t i = 0; i < c->group_count; i++) {
        const struct sl_node_group *g = &c->groups[i];
        if (!g->name || !g->nodes_expr || sl_conf_find_group(c, g->name) != g)
            FUZZ_BUG("node group %zu: missing or duplicate name or nodes", i);
        if (!g->node_count || !g->nodes)
            FUZZ_BUG("node group %s has no nodes", g->name);
        /* the first and last node (all of them would be quadratic) */
        if (sl_conf_find_node(c, g->nodes[0]) != g ||
            sl_conf_find_node(c, g->nodes[g->node_count - 1]) != g)
            FUZZ_BUG("a node of group %s is found in another group", g->name);
    }
    for (size_t i = 0; i < c->account_count; i++) {
        const struct sl_account *a = &c->accounts[i];
        if (!a->name || sl_conf_find_account(c, a->name) != a)
            FUZZ_BUG("account %zu: missing or duplicate name", i);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct sl_conf *conf = NULL;
    char *errors = NULL;

    if (sl_conf_load_string((const char *)data, size, "fuzz.yaml", &conf, &errors) < 0) {
        if (conf)
            FUZZ_BUG("sl_conf_load_string failed but returned a configuration");
        if (!errors || !*errors)
            FUZZ_BUG("sl_conf_load_string failed without saying why");
        free(errors);
        return 0;
    }
    if (!conf)
        FUZZ_BUG("sl_conf_load_string succeeded without a configuration");
    if (errors)
        FUZZ_BUG("sl_conf_load_string succeeded with errors: %s", errors);
    check_conf(conf);
    sl_conf_destroy(conf);
    return 0;
}
