/* types.c - see types.h */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "types.h"

static const struct {
    const char *name;
    const char *shortname;
} job_states[JOB_STATE_COUNT] = {
    [JOB_PENDING] = {"PENDING", "PD"},     [JOB_RUNNING] = {"RUNNING", "R"},
    [JOB_SUSPENDED] = {"SUSPENDED", "S"},  [JOB_COMPLETED] = {"COMPLETED", "CD"},
    [JOB_CANCELLED] = {"CANCELLED", "CA"}, [JOB_FAILED] = {"FAILED", "F"},
    [JOB_TIMEOUT] = {"TIMEOUT", "TO"},     [JOB_NODE_FAIL] = {"NODE_FAIL", "NF"},
    [JOB_PREEMPTED] = {"PREEMPTED", "PR"}, [JOB_BOOT_FAIL] = {"BOOT_FAIL", "BF"},
    [JOB_DEADLINE] = {"DEADLINE", "DL"},   [JOB_OUT_OF_MEMORY] = {"OUT_OF_MEMORY", "OOM"},
};

const char *job_state_name(int s)
{
    return (s >= 0 && s < JOB_STATE_COUNT) ? job_states[s].name : "UNKNOWN";
}

const char *job_state_short(int s)
{
    return (s >= 0 && s < JOB_STATE_COUNT) ? job_states[s].shortname : "??";
}

int job_state_from_name(const char *name)
{
    for (int i = 0; i < JOB_STATE_COUNT; i++)
        if (!strcasecmp(name, job_states[i].name) || !strcasecmp(name, job_states[i].shortname))
            return i;
    return -1;
}

static const char *node_states[NODE_STATE_COUNT] = {
    [NODE_UNKNOWN] = "UNKNOWN", [NODE_DOWN] = "DOWN",   [NODE_IDLE] = "IDLE",
    [NODE_ALLOCATED] = "ALLOCATED", [NODE_MIXED] = "MIXED",
};
static const char *node_states_short[NODE_STATE_COUNT] = {
    [NODE_UNKNOWN] = "unk", [NODE_DOWN] = "down",  [NODE_IDLE] = "idle",
    [NODE_ALLOCATED] = "alloc", [NODE_MIXED] = "mix",
};

const char *node_state_name(int s)
{
    return (s >= 0 && s < NODE_STATE_COUNT) ? node_states[s] : "UNKNOWN";
}

const char *node_power_name(int flags)
{
    return (flags & NODE_FLAG_POWERED_DOWN)         ? "POWERED_DOWN"
           : (flags & NODE_FLAG_POWERING_UP)        ? "POWERING_UP"
           : (flags & NODE_FLAG_POWERING_DOWN)      ? "POWERING_DOWN"
           : (flags & NODE_FLAG_POWER_DOWN_PENDING) ? "POWER_DOWN"
                                                    : "ON";
}

int node_state_from_name(const char *name)
{
    for (int i = 0; i < NODE_STATE_COUNT; i++)
        if (!strcasecmp(name, node_states[i]) || !strcasecmp(name, node_states_short[i]))
            return i;
    return -1;
}

char *node_state_string(int state, int flags, bool shortform, char *buf, int size)
{
    const char *base;
    bool busy = (state == NODE_ALLOCATED || state == NODE_MIXED);

    /* Slurm shows a drained node as DRAINED when it has nothing running,
     * DRAINING while jobs still run on it. DOWN wins over DRAIN. */
    if ((flags & NODE_FLAG_DRAIN) && state != NODE_DOWN)
        base = busy ? (shortform ? "drng" : "DRAINING") : (shortform ? "drain" : "DRAINED");
    else
        base = shortform ? node_states_short[state < NODE_STATE_COUNT ? state : 0]
                         : node_state_name(state);
    if (shortform) {
        const char *power = (flags & NODE_FLAG_POWERED_DOWN)         ? "~"
                            : (flags & NODE_FLAG_POWERING_UP)        ? "#"
                            : (flags & NODE_FLAG_POWERING_DOWN)      ? "%"
                            : (flags & NODE_FLAG_POWER_DOWN_PENDING) ? "!"
                                                                     : "";
        snprintf(buf, size, "%s%s%s", base, (flags & NODE_FLAG_NOT_RESPONDING) ? "*" : "",
                 power);
    } else {
        snprintf(buf, size, "%s%s%s%s%s%s%s%s", base,
                 (flags & NODE_FLAG_CLOUD) ? "+CLOUD" : "",
                 (flags & NODE_FLAG_COMPLETING) ? "+COMPLETING" : "",
                 (flags & NODE_FLAG_NOT_RESPONDING) ? "+NOT_RESPONDING" : "",
                 (flags & NODE_FLAG_POWERED_DOWN) ? "+POWERED_DOWN" : "",
                 (flags & NODE_FLAG_POWERING_UP) ? "+POWERING_UP" : "",
                 (flags & NODE_FLAG_POWERING_DOWN) ? "+POWERING_DOWN" : "",
                 (flags & NODE_FLAG_POWER_DOWN_PENDING) ? "+POWER_DOWN" : "");
    }
    return buf;
}

static const char *part_states[PART_STATE_COUNT] = {
    [PART_UP] = "UP", [PART_DOWN] = "DOWN", [PART_DRAIN] = "DRAIN", [PART_INACTIVE] = "INACTIVE"};

const char *part_state_name(int s)
{
    return (s >= 0 && s < PART_STATE_COUNT) ? part_states[s] : "UNKNOWN";
}

int part_state_from_name(const char *name)
{
    for (int i = 0; i < PART_STATE_COUNT; i++)
        if (!strcasecmp(name, part_states[i]))
            return i;
    return -1;
}
