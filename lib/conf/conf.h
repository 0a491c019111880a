/* conf.h - slurmish.yaml as typed structures.
 *
 * The YAML file is the single source of truth.  sl_conf_load() parses it
 * with libyaml, checks every key against the key table (an unknown key is
 * an error that suggests the nearest known one), validates the whole
 * configuration, and reports every error found as "file:line:col: text".
 *
 * Units: durations are seconds (SL_TIME_UNLIMITED / SL_TIME_UNSET are
 * sentinels), memory is MiB (Slurm's unit), prices are per hour.
 */
#ifndef SL_CONF_H
#define SL_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

#define SL_TIME_UNLIMITED (-1)
#define SL_TIME_UNSET (-2)

#define SL_DEFAULT_CONF SYSCONFDIR "/slurmish.yaml"

struct sl_node_group {
    char *name;
    char *nodes_expr;  /* hostlist as written, e.g. "cpu[1-4]" */
    char **nodes;      /* expanded node names */
    size_t node_count;
    int cpus;
    uint64_t memory_mb;
    int gpus;          /* count of GPUs per node (0 = none) */
    char *gpu_type;    /* e.g. "a10", NULL if untyped */
    char **features;
    size_t feature_count;
    double price_per_hour;
    bool spot;
    bool cloud;        /* powered on demand by the power manager; starts POWERED_DOWN */
    int idle_time;     /* cloud: seconds idle before power down; -1 = power.idle_time */
    int warm_nodes;    /* cloud: idle nodes kept powered up */
    int line, col;     /* where the group starts in the file */
};

/* What happens to a partition's running jobs when a job of a higher
 * priority_tier needs their nodes (Slurm's preempt/partition_prio). */
enum sl_preempt_mode { SL_PREEMPT_OFF = 0, SL_PREEMPT_CANCEL, SL_PREEMPT_REQUEUE };
const char *sl_preempt_mode_name(int mode); /* "OFF", "CANCEL", "REQUEUE" */

struct sl_partition {
    char *name;
    char **node_groups; /* names of node groups */
    size_t node_group_count;
    bool is_default;
    int64_t max_time;     /* seconds or SL_TIME_UNLIMITED */
    int64_t default_time; /* seconds, SL_TIME_UNLIMITED, or SL_TIME_UNSET (= max_time) */
    int max_nodes;        /* -1 = unlimited */
    int min_nodes;        /* jobs asking fewer nodes wait (PartitionNodeLimit); default 1 */
    char **allow_users;   /* NULL = everyone */
    size_t allow_user_count;
    char **allow_accounts; /* NULL = any account */
    size_t allow_account_count;
    int priority_tier;
    int state;            /* enum part_state */
    int64_t idle_timeout; /* interactive sessions idle this long are warned; UNLIMITED = off */
    int64_t idle_warning; /* ...and ended this long after the warning if still idle */
    int warm_nodes;       /* idle cloud nodes kept powered for this partition */
    int preempt_mode;     /* enum sl_preempt_mode: may higher tiers take its nodes? */
    char **fallback_groups; /* used only when the node_groups cannot serve a job */
    size_t fallback_group_count;
    int64_t fallback_after; /* ...once it waited this long (UNLIMITED: only on failures) */
    int line, col;
};

/* An account with a budget (money per period, in price_per_hour's units). */
struct sl_account {
    char *name;
    double budget;
    char *budget_period; /* "day", "week" or "month" (default) */
    int line, col;
};

struct sl_conf {
    char *path;         /* file loaded, for messages */
    char *cluster_name;
    /* controller: */
    char *ctld_host;    /* address the ctld binds and clients connect to */
    int ctld_port;      /* the ZeroMQ ROUTER: node daemons, API clients */
    int ctld_tools_port;     /* the tools' own listener (toolport.c); 0: tools use ctld_port */
    char *ctld_tools_socket; /* the same on a Unix socket, for tools on its host; NULL: none */
    char *state_dir;
    char *log_level;
    char *log_file;     /* NULL = stderr */
    int heartbeat_interval; /* seconds between node heartbeats */
    int node_timeout;       /* seconds without heartbeat before a node is DOWN */
    int kill_wait;          /* seconds between SIGTERM and SIGKILL */
    int message_timeout;    /* seconds a client waits for a reply */
    int min_job_age;        /* seconds a finished job stays visible to squeue */
    int sched_interval;     /* seconds between timer-driven scheduling passes */
    int sched_budget_ms;    /* longest a scheduling pass may run before yielding to requests */
    char **admins;          /* user names allowed to administer (root always is) */
    size_t admin_count;
    char *slurm_user;       /* user the daemons run as (default root) */
    char *metrics_address;  /* HOST:PORT of the Prometheus /metrics endpoint; NULL = off */
    /* limits on what one user (or everyone) may submit; -1 = UNLIMITED: */
    int max_submit_jobs;    /* a user's pending+running jobs, array tasks each (MaxSubmitJobs) */
    int max_job_count;      /* everyone's pending+running jobs (Slurm's MaxJobCount) */
    int max_array_size;     /* array task ids must be below it (Slurm's MaxArraySize) */
    int max_script_size;    /* bytes of a batch script (Slurm's max_script_size) */
    /* munge: */
    char *munge_socket;     /* NULL = munge's default */
    /* node daemon: */
    char *spool_dir;        /* per-node spool is <spool_dir>/<nodename> */
    int node_port;          /* default port a node daemon listens on */
    char *node_address;     /* address node daemons listen on for sessions and clients
                               connect to; NULL = the controller's host */
    bool enforce_memory;    /* limit jobs to their memory with cgroups (default true) */
    char *node_log_level;   /* NULL = the controller's log_level */
    char *node_log_file;    /* NULL = stderr */
    /* power manager (cloud node groups): */
    char *power_provider;   /* plugin name: "local", "script" */
    char *plugin_dir;       /* where provider_<name>.so lives; NULL = PKGLIBDIR */
    int resume_timeout;     /* seconds a resumed node has to register */
    int suspend_timeout;    /* seconds a suspend may take */
    int power_idle_time;    /* seconds idle before power down (group default) */
    int resume_rate;        /* nodes resumed per minute, 0 = no limit */
    int failure_backoff;    /* seconds a failing node group is skipped (doubles per failure) */
    char *resume_program;   /* script provider: run with a hostlist */
    char *suspend_program;
    int program_timeout;    /* seconds before a program is killed */
    char *local_daemon;     /* local provider: the slurmish-d to start */
    int local_boot_delay;   /* local provider: seconds a boot takes */
    /* nodes and partitions: */
    struct sl_node_group *groups;
    size_t group_count;
    struct sl_partition *parts;
    size_t part_count;
    struct sl_account *accounts;
    size_t account_count;
};

/* Resolve which file to read: opt_file (-f) if given, else $SLURMISH_CONF,
 * else SL_DEFAULT_CONF.  Returns a pointer to one of those (not a copy). */
const char *sl_conf_path(const char *opt_file);

/* Load and validate.  On failure returns -1 and, if errors is not NULL,
 * sets *errors to a malloc'd string of one "file:line:col: message" line
 * per error found. */
int sl_conf_load(const char *path, struct sl_conf **conf, char **errors);
int sl_conf_load_string(const char *text, size_t len, const char *name, struct sl_conf **conf,
                        char **errors);
void sl_conf_destroy(struct sl_conf *conf);

const struct sl_partition *sl_conf_find_partition(const struct sl_conf *conf, const char *name);
const struct sl_partition *sl_conf_default_partition(const struct sl_conf *conf);
const struct sl_node_group *sl_conf_find_group(const struct sl_conf *conf, const char *name);
const struct sl_account *sl_conf_find_account(const struct sl_conf *conf, const char *name);
/* Node group holding node `name`, or NULL. */
const struct sl_node_group *sl_conf_find_node(const struct sl_conf *conf, const char *name);

#endif
