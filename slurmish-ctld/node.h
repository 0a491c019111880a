/* node.h - the controller's view of nodes and partitions.
 *
 * Nodes come from the config's node groups.  A node is UNKNOWN until its
 * daemon registers, IDLE/MIXED/ALLOCATED by its used CPUs while it
 * heartbeats, and DOWN when heartbeats stop for node_timeout.  DRAIN is an
 * admin flag on top.  The base state is derived from used resources by
 * node_update_state(), so it cannot disagree with the allocations.
 */
#ifndef CTLD_NODE_H
#define CTLD_NODE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <jansson.h>

struct ctld;
struct sl_node_group;
struct sl_partition;

struct node {
    char *name;
    const struct sl_node_group *group; /* config; replaced on reconfigure */
    int index;
    int state; /* enum node_state */
    int flags; /* NODE_FLAG_* */
    char *reason;
    int64_t reason_time;
    int reason_uid;     /* who set the reason, -1 = the controller */
    int64_t boot_time, last_heartbeat, registered_at;
    bool registered; /* registered since this ctld started */
    /* the daemon's connection: routing id of its last authenticated message */
    unsigned char route[256];
    size_t route_len;
    /* the signing key the node's daemon uses (proto/keyed.h): messages to
     * it are signed with that key instead of munge; "" until it has one */
    char kid[17];
    char *address;
    int port;
    /* detected by the daemon */
    int det_cpus, det_gpus;
    uint64_t det_mem;
    /* in use */
    int cpus_used;
    uint64_t mem_used;
    uint64_t gpus_used; /* bit i: GPU i is allocated */
    uint32_t excl_job;  /* job holding the node exclusively, 0 if none */
    int njobs;
    int nsessions; /* live steps the daemon last reported (interactive sessions) */
    /* power (cloud nodes, power.c); the state itself is in flags */
    int64_t power_since;  /* when the power state last changed */
    int64_t idle_since;   /* last moment it had jobs or sessions */
    int64_t interrupt_at; /* spot interruption: when the provider takes it back; 0 = none */
    bool power_known;     /* power state read back from the database */
    char mem_enforcement[16]; /* how its daemon limits job memory: cgroup-v2|cgroup-v1|none */
};

struct part {
    const struct sl_partition *conf;
    struct node **nodes;
    int nnodes;
    struct node **by_price; /* the same nodes, cheapest group first (which to power up) */
    bool has_cloud;
    int total_cpus;
};

struct node *node_find(struct ctld *c, const char *name);
struct part *part_find(struct ctld *c, const char *name);
bool part_has_node(const struct part *p, const struct node *n);
/* Is n in one of p's fallback_node_groups (used only when the rest cannot)? */
bool part_is_fallback(const struct part *p, const struct node *n);

/* Recompute the base state from registration, heartbeat and usage. */
void node_update_state(struct ctld *c, struct node *n);
bool node_usable(const struct node *n); /* registered, responding, not drained */
void node_set_down(struct ctld *c, struct node *n, const char *reason);

json_t *node_to_json(struct ctld *c, const struct node *n);
json_t *part_to_json(struct ctld *c, const struct part *p);

int nodes_create(struct ctld *c);
/* (Re)build the partitions from c->conf over the existing nodes. */
void parts_build(struct ctld *c);
void nodes_destroy(struct ctld *c);

#endif
