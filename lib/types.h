/* types.h - job and node states shared by the ctld, node daemon and tools.
 *
 * On the wire states travel as Slurm's long names ("PENDING", "IDLE");
 * the tools derive Slurm's short forms from the tables here, so a name
 * is spelled in one place.
 */
#ifndef SL_TYPES_H
#define SL_TYPES_H

#include <stdbool.h>

/* Job states.  The order of the terminal states matters: every state
 * >= JOB_COMPLETED is final.  See slurmish-ctld/job.h for transitions. */
enum job_state {
    JOB_PENDING = 0,
    JOB_RUNNING,
    JOB_SUSPENDED,
    JOB_COMPLETED, /* first final state */
    JOB_CANCELLED,
    JOB_FAILED,
    JOB_TIMEOUT,
    JOB_NODE_FAIL,
    JOB_PREEMPTED,
    JOB_BOOT_FAIL,
    JOB_DEADLINE,
    JOB_OUT_OF_MEMORY,
    JOB_STATE_COUNT
};

static inline bool job_state_is_final(int s)
{
    return s >= JOB_COMPLETED;
}

const char *job_state_name(int state);       /* "PENDING" */
const char *job_state_short(int state);      /* "PD" */
int job_state_from_name(const char *name);   /* long or short, any case; -1 if unknown */

/* Node base states, as Slurm names them. */
enum node_state {
    NODE_UNKNOWN = 0, /* configured, never registered */
    NODE_DOWN,
    NODE_IDLE,
    NODE_ALLOCATED,
    NODE_MIXED,
    NODE_STATE_COUNT
};

/* Node state flags. */
#define NODE_FLAG_DRAIN 0x1          /* admin: no new jobs */
#define NODE_FLAG_NOT_RESPONDING 0x2 /* heartbeats missed */
#define NODE_FLAG_COMPLETING 0x4     /* jobs being killed */
/* Power states of cloud nodes (power manager, slurmish-ctld/power.c).
 * Slurm's short forms: "~" powered down, "#" powering up, "%" powering
 * down, "!" power down pending (drained, goes down once empty). */
#define NODE_FLAG_CLOUD 0x8
#define NODE_FLAG_POWERED_DOWN 0x10
#define NODE_FLAG_POWERING_UP 0x20
#define NODE_FLAG_POWERING_DOWN 0x40
#define NODE_FLAG_POWER_DOWN_PENDING 0x80
#define NODE_POWER_FLAGS                                                                           \
    (NODE_FLAG_POWERED_DOWN | NODE_FLAG_POWERING_UP | NODE_FLAG_POWERING_DOWN |                    \
     NODE_FLAG_POWER_DOWN_PENDING)

const char *node_state_name(int state); /* "IDLE" */
/* "POWERED_DOWN", "POWERING_UP", "POWERING_DOWN", "POWER_DOWN" or "ON" */
const char *node_power_name(int flags);
int node_state_from_name(const char *name);

/* Slurm's sinfo/scontrol spelling of a node's state with its flags:
 * long: "IDLE", "MIXED+DRAIN", "DOWN+NOT_RESPONDING", "DRAINED", ...
 * short: "idle", "mix", "drng", "drain", "down*", ...
 * Write into buf (size >= 64) and return it. */
char *node_state_string(int state, int flags, bool shortform, char *buf, int size);

/* Partition states. */
enum part_state { PART_UP = 0, PART_DOWN, PART_DRAIN, PART_INACTIVE, PART_STATE_COUNT };
const char *part_state_name(int state); /* "UP" */
int part_state_from_name(const char *name);

#endif
