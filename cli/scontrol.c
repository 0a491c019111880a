/* scontrol.c - view the controller's jobs, nodes and partitions.
 *
 * Input: scontrol [-o] COMMAND, or commands one per line on stdin when
 * none is given.  Commands: show job|node|partition [NAME], ping,
 * version, help, quit.  Output: records as Slurm's scontrol prints them,
 * "Key=Value" pairs over indented lines (one line each with -o), a blank
 * line between records.  Exit 0, or 1 if a command failed.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"
#include "common.h"
#include "proto/errors.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/parse.h"
#include "util/xmalloc.h"

static bool oneliner;
static bool quiet;

/* A record under construction: fields are appended; "\n   " starts a
 * new line of the record (a single space with -o). */
struct rec {
    char *buf;
    size_t len, cap;
};

static void rec_add(struct rec *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void rec_add(struct rec *r, const char *fmt, ...)
{
    va_list ap;
    char *s;

    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    size_t l = strlen(s);
    while (r->len + l + 1 > r->cap)
        r->buf = xrealloc(r->buf, r->cap = r->cap ? r->cap * 2 : 256);
    memcpy(r->buf + r->len, s, l + 1);
    r->len += l;
    free(s);
}

static void rec_line(struct rec *r)
{
    rec_add(r, oneliner ? " " : "\n   ");
}

static void rec_print(struct rec *r)
{
    printf("%s\n", r->buf ? r->buf : "");
    if (!oneliner)
        printf("\n");
    free(r->buf);
    memset(r, 0, sizeof(*r));
}

static const char *or_null(const char *s)
{
    return (s && *s) ? s : "(null)";
}

static void print_job(const json_t *j, time_t now)
{
    struct rec r = {0};
    char b1[64], b2[64], b3[64];
    int st = job_state_from_name(cli_jstr(j, "state"));
    long long start = cli_jint(j, "start_time", 0), end = cli_jint(j, "end_time", 0);
    long long limit = cli_jint(j, "time_limit", -1), run = 0;
    long long nodes = cli_jint(j, "num_nodes", 0), cpus = cli_jint(j, "num_cpus", 0);
    long long mem = cli_jint(j, "mem_per_node_mb", 0);

    if (start > 0 && st != JOB_PENDING) {
        if (st >= 0 && job_state_is_final(st) && end >= start)
            run = end - start;
        else if (now > start)
            run = now - start;
    }
    /* A running job is expected to end when its time limit runs out. */
    if (end <= 0 && start > 0 && limit >= 0 && !(st >= 0 && job_state_is_final(st)))
        end = start + limit;

    rec_add(&r, "JobId=%lld ", cli_jint(j, "job_id", 0));
    if (cli_jint(j, "array_job_id", 0)) {
        if (cli_jint(j, "array_task_id", -1) >= 0)
            rec_add(&r, "ArrayJobId=%lld ArrayTaskId=%lld ", cli_jint(j, "array_job_id", 0),
                    cli_jint(j, "array_task_id", -1));
        else if (cli_jint(j, "array_throttle", 0) > 0)
            rec_add(&r, "ArrayJobId=%lld ArrayTaskId=%s ArrayTaskThrottle=%lld ",
                    cli_jint(j, "array_job_id", 0), cli_jstr(j, "array_tasks"),
                    cli_jint(j, "array_throttle", 0));
        else
            rec_add(&r, "ArrayJobId=%lld ArrayTaskId=%s ", cli_jint(j, "array_job_id", 0),
                    cli_jstr(j, "array_tasks"));
    }
    rec_add(&r, "JobName=%s", cli_jstr(j, "name"));
    rec_line(&r);
    rec_add(&r, "UserId=%s(%lld) GroupId=%s(%lld) MCS_label=N/A", cli_jstr(j, "user"),
            cli_jint(j, "uid", -1), cli_jstr(j, "group"), cli_jint(j, "gid", -1));
    rec_line(&r);
    rec_add(&r, "Priority=%lld Nice=0 Account=%s", cli_jint(j, "priority", 0),
            or_null(cli_jstr(j, "account")));
    rec_line(&r);
    json_t *pf = json_object_get(j, "priority_factors");
    if (pf) {
        rec_add(&r, "PriorityFactors: Age=%lld JobSize=%lld Nice=%lld PartitionTier=%lld%s",
                cli_jint(pf, "age", 0), cli_jint(pf, "job_size", 0), cli_jint(pf, "nice", 0),
                cli_jint(pf, "partition_tier", 0), cli_jbool(pf, "fixed") ? " (set by an admin)"
                                                                          : "");
        rec_line(&r);
    }
    rec_add(&r, "JobState=%s Reason=%s Dependency=%s",
            cli_jbool(j, "configuring") ? "CONFIGURING" : cli_jstr(j, "state"),
            *cli_jstr(j, "reason") ? cli_jstr(j, "reason") : "None", or_null(cli_jstr(j, "dependency")));
    rec_line(&r);
    rec_add(&r, "Requeue=%d Restarts=%lld BatchFlag=%d ExitCode=%lld:%lld",
            cli_jbool(j, "requeue") ? 1 : 0, cli_jint(j, "restarts", 0),
            cli_jbool(j, "interactive") ? 0 : 1, cli_jint(j, "exit_status", 0),
            cli_jint(j, "exit_signal", 0));
    rec_line(&r);
    /* slurmish: what its node-hours cost so far, and spot interruptions */
    rec_add(&r, "Cost=%.4f Interruptions=%lld Fallback=%s",
            json_number_value(json_object_get(j, "cost")), cli_jint(j, "interruptions", 0),
            *cli_jstr(j, "fallback") ? cli_jstr(j, "fallback") : "No");
    rec_line(&r);
    if (json_object_get(j, "last_activity")) {
        /* an allocation: when its sessions were last used, and the idle warning */
        long long warned = cli_jint(j, "idle_warned", 0);
        rec_add(&r, "LastActivity=%s IdleWarned=%s",
                cli_iso_time(cli_jint(j, "last_activity", 0), "Unknown", b1, sizeof(b1)),
                warned ? cli_iso_time(warned, "", b3, sizeof(b3)) : "No");
        rec_line(&r);
    }
    size_t si;
    json_t *step;
    json_array_foreach(json_object_get(j, "steps"), si, step)
    {
        /* running steps; a pty step is an interactive session */
        rec_add(&r, "Step=%lld.%lld Name=%s Tasks=%lld Nodes=%s Pty=%s Attached=%s",
                cli_jint(j, "job_id", 0), cli_jint(step, "step_id", 0), cli_jstr(step, "name"),
                cli_jint(step, "ntasks", 0), cli_jstr(step, "nodes"),
                cli_jbool(step, "pty") ? "Yes" : "No", cli_jbool(step, "attached") ? "Yes" : "No");
        rec_line(&r);
    }
    if (limit == -2)
        snprintf(b2, sizeof(b2), "Partition_Limit");
    else
        cli_secs2clock(limit, b2, sizeof(b2));
    rec_add(&r, "RunTime=%s TimeLimit=%s TimeMin=N/A", cli_secs2clock(run, b1, sizeof(b1)), b2);
    rec_line(&r);
    cli_iso_time(cli_jint(j, "submit_time", 0), "Unknown", b1, sizeof(b1));
    rec_add(&r, "SubmitTime=%s EligibleTime=%s", b1, b1);
    rec_line(&r);
    rec_add(&r, "StartTime=%s EndTime=%s Deadline=N/A",
            cli_iso_time(start, "Unknown", b1, sizeof(b1)),
            cli_iso_time(end, "Unknown", b3, sizeof(b3)));
    rec_line(&r);
    rec_add(&r, "Partition=%s AllocNode:Sid=%s:*", cli_jstr(j, "partition"),
            or_null(cli_jstr(j, "submit_host")));
    rec_line(&r);
    rec_add(&r, "NodeList=%s", or_null(cli_jstr(j, "nodes")));
    rec_line(&r);
    rec_add(&r, "BatchHost=%s", or_null(cli_jstr(j, "batch_host")));
    rec_line(&r);
    rec_add(&r, "NumNodes=%lld NumCPUs=%lld NumTasks=%lld CPUs/Task=%lld", nodes, cpus,
            cli_jint(j, "num_tasks", 1), cli_jint(j, "cpus_per_task", 1));
    rec_line(&r);
    rec_add(&r, "TRES=cpu=%lld,mem=%s,node=%lld", cpus,
            cli_mem_str((uint64_t)(mem > 0 ? mem : 0) * (nodes > 0 ? nodes : 1), b1, sizeof(b1)),
            nodes);
    rec_line(&r);
    rec_add(&r, "MinCPUsNode=%lld MinMemoryNode=%s MinTmpDiskNode=0",
            cli_jint(j, "cpus_per_task", 1), cli_mem_str(mem > 0 ? mem : 0, b1, sizeof(b1)));
    rec_line(&r);
    rec_add(&r, "Command=%s", or_null(cli_jstr(j, "command")));
    rec_line(&r);
    rec_add(&r, "WorkDir=%s", cli_jstr(j, "work_dir"));
    if (*cli_jstr(j, "comment")) {
        rec_line(&r);
        rec_add(&r, "Comment=%s", cli_jstr(j, "comment"));
    }

    /* File names are shown with their patterns expanded, as Slurm does. */
    const char *batch_host = cli_jstr(j, "batch_host");
    struct cli_job_names names = {
        .job_id = cli_jint(j, "job_id", 0),
        .user = cli_jstr(j, "user"),
        .name = cli_jstr(j, "name"),
        .node = *batch_host ? batch_host : NULL,
        .work_dir = cli_jstr(j, "work_dir"),
    };
    const char *out = *cli_jstr(j, "stdout") ? cli_jstr(j, "stdout") : "slurm-%j.out";
    const char *err = *cli_jstr(j, "stderr") ? cli_jstr(j, "stderr") : out;
    const char *in = *cli_jstr(j, "stdin") ? cli_jstr(j, "stdin") : "/dev/null";
    char *eo = cli_expand_stdio(out, &names), *ee = cli_expand_stdio(err, &names);
    char *ei = cli_expand_stdio(in, &names);
    rec_line(&r);
    rec_add(&r, "StdErr=%s", ee);
    rec_line(&r);
    rec_add(&r, "StdIn=%s", ei);
    rec_line(&r);
    rec_add(&r, "StdOut=%s", eo);
    free(eo);
    free(ee);
    free(ei);
    rec_print(&r);
}

static void print_node(const json_t *n)
{
    struct rec r = {0};
    char b1[512], b2[64], b3[64];
    long long gpus = cli_jint(n, "gpus", 0);
    const char *gtype = cli_jstr(n, "gpu_type");
    char gres[128];

    if (gpus > 0)
        snprintf(gres, sizeof(gres), *gtype ? "gpu:%s:%lld" : "gpu%s:%lld", gtype, gpus);
    else
        snprintf(gres, sizeof(gres), "(null)");
    rec_add(&r, "NodeName=%s", cli_jstr(n, "name"));
    rec_line(&r);
    rec_add(&r, "CPUAlloc=%lld CPUEfctv=%lld CPUTot=%lld", cli_jint(n, "cpus_alloc", 0),
            cli_jint(n, "cpus", 0), cli_jint(n, "cpus", 0));
    rec_line(&r);
    cli_jjoin(n, "features", ",", b1, sizeof(b1));
    rec_add(&r, "AvailableFeatures=%s", or_null(b1));
    rec_line(&r);
    rec_add(&r, "ActiveFeatures=%s", or_null(b1));
    rec_line(&r);
    rec_add(&r, "Gres=%s", gres);
    rec_line(&r);
    rec_add(&r, "NodeAddr=%s NodeHostName=%s Port=%lld", or_null(cli_jstr(n, "address")),
            cli_jstr(n, "name"), cli_jint(n, "port", 0));
    rec_line(&r);
    rec_add(&r, "RealMemory=%lld AllocMem=%lld MemoryEnforcement=%s", cli_jint(n, "memory_mb", 0),
            cli_jint(n, "memory_alloc_mb", 0), cli_jstr(n, "memory_enforcement"));
    rec_line(&r);
    rec_add(&r, "State=%s",
            *cli_jstr(n, "state_long") ? cli_jstr(n, "state_long") : cli_jstr(n, "state"));
    rec_line(&r);
    if (cli_jbool(n, "cloud")) {
        /* slurmish: the power manager's view */
        rec_add(&r, "Power=%s PowerSince=%s PricePerHour=%.4f Spot=%s", cli_jstr(n, "power_state"),
                cli_iso_time(cli_jint(n, "power_since", 0), "None", b2, sizeof(b2)),
                json_number_value(json_object_get(n, "price_per_hour")),
                cli_jbool(n, "spot") ? "yes" : "no");
        rec_line(&r);
    }
    cli_jjoin(n, "partitions", ",", b1, sizeof(b1));
    rec_add(&r, "Partitions=%s", or_null(b1));
    rec_line(&r);
    rec_add(&r, "BootTime=%s LastHeartbeat=%s",
            cli_iso_time(cli_jint(n, "boot_time", 0), "None", b2, sizeof(b2)),
            cli_iso_time(cli_jint(n, "last_heartbeat", 0), "None", b3, sizeof(b3)));
    rec_line(&r);
    rec_add(&r, "CfgTRES=cpu=%lld,mem=%s", cli_jint(n, "cpus", 0),
            cli_mem_str(cli_jint(n, "memory_mb", 0), b2, sizeof(b2)));
    if (gpus > 0)
        rec_add(&r, ",gres/gpu=%lld", gpus);
    rec_line(&r);
    if (cli_jint(n, "cpus_alloc", 0) > 0)
        rec_add(&r, "AllocTRES=cpu=%lld,mem=%s", cli_jint(n, "cpus_alloc", 0),
                cli_mem_str(cli_jint(n, "memory_alloc_mb", 0), b2, sizeof(b2)));
    else
        rec_add(&r, "AllocTRES=");
    rec_line(&r);
    rec_add(&r, "NodeGroup=%s Spot=%s PricePerHour=%.4f Sessions=%lld",
            or_null(cli_jstr(n, "group")), cli_jbool(n, "spot") ? "YES" : "NO",
            json_number_value(json_object_get(n, "price_per_hour")), cli_jint(n, "sessions", 0));
    if (*cli_jstr(n, "reason")) {
        rec_line(&r);
        rec_add(&r, "Reason=%s", cli_jstr(n, "reason"));
    }
    rec_print(&r);
}

static const char *limit_str(long long secs, const char *unset, char *buf, size_t size)
{
    if (secs == -2)
        return unset;
    return cli_secs2clock(secs, buf, size);
}

static void print_partition(const json_t *p)
{
    struct rec r = {0};
    char b1[64], b2[64], groups[512];
    long long maxn = cli_jint(p, "max_nodes", -1);

    rec_add(&r, "PartitionName=%s", cli_jstr(p, "name"));
    rec_line(&r);
    char users[512] = "ALL", accts[512] = "ALL";
    if (json_is_array(json_object_get(p, "allow_users")))
        cli_jjoin(p, "allow_users", ",", users, sizeof(users));
    if (json_is_array(json_object_get(p, "allow_accounts")))
        cli_jjoin(p, "allow_accounts", ",", accts, sizeof(accts));
    rec_add(&r, "AllowGroups=ALL AllowUsers=%s AllowAccounts=%s AllowQos=ALL", users, accts);
    rec_line(&r);
    rec_add(&r, "AllocNodes=ALL Default=%s", cli_jbool(p, "default") ? "YES" : "NO");
    rec_line(&r);
    rec_add(&r, "DefaultTime=%s",
            limit_str(cli_jint(p, "default_time", -2), "NONE", b1, sizeof(b1)));
    rec_line(&r);
    if (maxn < 0)
        snprintf(b2, sizeof(b2), "UNLIMITED");
    else
        snprintf(b2, sizeof(b2), "%lld", maxn);
    rec_add(&r, "MaxNodes=%s MaxTime=%s MinNodes=%lld", b2,
            limit_str(cli_jint(p, "max_time", -1), "UNLIMITED", b1, sizeof(b1)),
            cli_jint(p, "min_nodes", 1));
    rec_line(&r);
    cli_jjoin(p, "node_groups", ",", groups, sizeof(groups));
    rec_add(&r, "NodeSets=%s", or_null(groups));
    rec_line(&r);
    rec_add(&r, "Nodes=%s", or_null(cli_jstr(p, "nodes")));
    rec_line(&r);
    rec_add(&r, "PriorityTier=%lld PreemptMode=%s", cli_jint(p, "priority_tier", 1),
            *cli_jstr(p, "preempt_mode") ? cli_jstr(p, "preempt_mode") : "OFF");
    rec_line(&r);
    if (cli_jint(p, "warm_nodes", 0) || json_array_size(json_object_get(p, "fallback_node_groups"))) {
        char fb[512];
        cli_jjoin(p, "fallback_node_groups", ",", fb, sizeof(fb));
        long long after = cli_jint(p, "fallback_after", -1);
        rec_add(&r, "WarmNodes=%lld FallbackNodeGroups=%s FallbackAfter=%s",
                cli_jint(p, "warm_nodes", 0), or_null(fb),
                limit_str(after, "UNLIMITED", b1, sizeof(b1)));
        rec_line(&r);
    }
    rec_add(&r, "State=%s TotalCPUs=%lld TotalNodes=%lld", cli_jstr(p, "state"),
            cli_jint(p, "total_cpus", 0), cli_jint(p, "total_nodes", 0));
    rec_print(&r);
}

static int cmp_job_id(const void *a, const void *b)
{
    long long x = cli_jint(*(json_t *const *)a, "job_id", 0);
    long long y = cli_jint(*(json_t *const *)b, "job_id", 0);
    return x < y ? -1 : x > y;
}

static int show_jobs(const char *id_arg)
{
    json_t *body = json_object(), *reply = NULL, *jobs, *j;
    sl_error_t err;
    int rc, ret = 1;
    size_t i, n;

    char *tasks = NULL;
    if (id_arg) {
        long id = cli_parse_array_jobid(id_arg, &tasks);
        if (id < 0) {
            fprintf(stderr, "slurm_load_jobs error: Invalid job id specified\n");
            json_decref(body);
            return 1;
        }
        json_object_set_new(body, "job_ids", json_pack("[I]", (json_int_t)id));
    }
    if (cli_request(SL_MSG_QUERY_JOBS, body, &reply, &rc, &err) < 0) {
        fprintf(stderr, "slurm_load_jobs error: %s\n", err.text);
        goto out;
    }
    jobs = json_object_get(reply, "jobs");
    n = json_array_size(jobs);
    if (n == 0) {
        if (id_arg) {
            fprintf(stderr, "slurm_load_jobs error: %s\n", sl_strerror(SL_E_INVALID_JOB_ID));
            goto out;
        }
        printf("No jobs in the system\n");
        ret = 0;
        goto out;
    }
    json_t **v = xcalloc(n, sizeof(*v));
    json_array_foreach(jobs, i, j) v[i] = j;
    qsort(v, n, sizeof(*v), cmp_job_id);
    time_t now = cli_jint(reply, "time", 0);
    if (now <= 0)
        now = time(NULL);
    size_t shown = 0;
    for (i = 0; i < n; i++) {
        /* 123_4: only that task (Slurm shows the record that holds it) */
        if (tasks && cli_jint(v[i], "array_task_id", -1) >= 0 &&
            cli_jint(v[i], "array_task_id", -1) != atol(tasks))
            continue;
        if (tasks && cli_jint(v[i], "array_task_id", -1) < 0 &&
            !strstr(cli_jstr(v[i], "array_tasks"), tasks))
            continue;
        print_job(v[i], now);
        shown++;
    }
    free(v);
    if (tasks && !shown) {
        fprintf(stderr, "slurm_load_jobs error: %s\n", sl_strerror(SL_E_INVALID_JOB_ID));
        goto out;
    }
    ret = 0;
out:
    free(tasks);
    json_decref(reply);
    json_decref(body);
    return ret;
}

static int show_nodes(const char *name)
{
    json_t *body = json_object(), *reply = NULL, *n;
    sl_error_t err;
    int rc, ret = 1;
    size_t i, shown = 0;

    if (name)
        json_object_set_new(body, "nodes", json_pack("[s]", name));
    if (cli_request(SL_MSG_QUERY_NODES, body, &reply, &rc, &err) < 0) {
        if (name && rc == SL_E_INVALID_NODE_NAME)
            printf("Node %s not found\n", name);
        else
            fprintf(stderr, "slurm_load_node error: %s\n", err.text);
        goto out;
    }
    json_array_foreach(json_object_get(reply, "nodes"), i, n)
    {
        if (name && strcmp(cli_jstr(n, "name"), name))
            continue;
        print_node(n);
        shown++;
    }
    if (!shown) {
        if (name) {
            printf("Node %s not found\n", name);
            goto out;
        }
        printf("No nodes in the system\n");
    }
    ret = 0;
out:
    json_decref(reply);
    json_decref(body);
    return ret;
}

static int show_partitions(const char *name)
{
    json_t *body = json_object(), *reply = NULL, *p;
    sl_error_t err;
    int rc, ret = 1;
    size_t i, shown = 0;

    if (name)
        json_object_set_new(body, "partitions", json_pack("[s]", name));
    if (cli_request(SL_MSG_QUERY_PARTITIONS, body, &reply, &rc, &err) < 0) {
        if (name && rc == SL_E_INVALID_PARTITION)
            printf("Partition %s not found\n", name);
        else
            fprintf(stderr, "slurm_load_partitions error: %s\n", err.text);
        goto out;
    }
    json_array_foreach(json_object_get(reply, "partitions"), i, p)
    {
        if (name && strcmp(cli_jstr(p, "name"), name))
            continue;
        print_partition(p);
        shown++;
    }
    if (!shown) {
        if (name) {
            printf("Partition %s not found\n", name);
            goto out;
        }
        printf("No partitions in the system\n");
    }
    ret = 0;
out:
    json_decref(reply);
    json_decref(body);
    return ret;
}

static int ping(void)
{
    json_t *reply = NULL;
    sl_error_t err;
    int rc;
    const struct sl_conf *conf = cli_conf();

    if (cli_request(SL_MSG_PING, NULL, &reply, &rc, &err) < 0) {
        printf("Slurmctld(primary) at %s is DOWN\n", conf->ctld_host);
        return 1;
    }
    printf("Slurmctld(primary) at %s is UP\n",
           *cli_jstr(reply, "host") ? cli_jstr(reply, "host") : conf->ctld_host);
    json_decref(reply);
    return 0;
}


/* Parse "5,6,7" into a JSON array of ids; -1 on a bad id. */
static int parse_job_ids(const char *arg, json_t *ids)
{
    char **list = cli_split_list(arg, NULL);
    int rc = 0;
    for (char **p = list; *p; p++) {
        char *end;
        long v = strtol(*p, &end, 10);
        if (end == *p || *end || v <= 0) {
            fprintf(stderr, "Invalid job id specified: %s\n", *p);
            rc = -1;
            break;
        }
        json_array_append_new(ids, json_integer(v));
    }
    cli_argv_free(list);
    return rc;
}

/* Send update_job and print each job's error as scontrol does. */
static int job_request(json_t *ids, const char *action, json_t *set)
{
    json_t *body = json_pack("{s:O, s:s}", "job_ids", ids, "action", action), *reply = NULL;
    sl_error_t err;
    int rc, ret = 0;
    if (set)
        json_object_set(body, "set", set);
    if (cli_request(SL_MSG_UPDATE_JOB, body, &reply, &rc, &err) < 0) {
        fprintf(stderr, "slurm_update error: %s\n", err.text);
        json_decref(body);
        return 1;
    }
    json_t *results = json_object_get(reply, "results"), *r;
    size_t i;
    json_array_foreach(results, i, r)
    {
        if (cli_jint(r, "rc", 0)) {
            fprintf(stderr, "%s for job %lld\n", cli_jstr(r, "error"),
                    (long long)cli_jint(r, "job_id", 0));
            ret = 1;
        }
    }
    json_decref(reply);
    json_decref(body);
    return ret;
}

static int job_action(int argc, char **argv, const char *action)
{
    if (argc < 2) {
        fprintf(stderr, "too few arguments for keyword:%s\n", argv[0]);
        return 1;
    }
    json_t *ids = json_array();
    int ret = 0;
    for (int i = 1; i < argc && !ret; i++)
        if (parse_job_ids(argv[i], ids) < 0)
            ret = 1;
    if (!ret)
        ret = job_request(ids, action, NULL);
    json_decref(ids);
    return ret;
}

/* ---- live configuration ---- */

static void print_changes(const json_t *reply, const char *none)
{
    json_t *changes = json_object_get(reply, "changes"), *e;
    size_t i;
    if (json_array_size(changes) == 0 && none)
        printf("%s\n", none);
    json_array_foreach(changes, i, e) printf("%s\n", json_string_value(e));
}

/* reconfigure: re-read the file and apply it */
static int reconfigure(void)
{
    json_t *body = json_object(), *reply = NULL;
    sl_error_t e;
    int rc, ret = cli_request(SL_MSG_RECONFIGURE, body, &reply, &rc, &e) < 0;
    if (ret)
        fprintf(stderr, "slurm_reconfigure error: %s\n", e.text);
    else if (!quiet)
        print_changes(reply, "No changes");
    json_decref(body);
    json_decref(reply);
    return ret;
}

/* check-config FILE: is FILE valid, and what would it change? */
static int check_config(int argc, char **argv)
{
    FILE *fp;
    char *text;
    size_t n;
    json_t *body, *reply = NULL;
    sl_error_t e;
    int rc, ret;

    if (argc != 2) {
        fprintf(stderr, "Usage: scontrol check-config FILE\n");
        return 1;
    }
    if (!(fp = fopen(argv[1], "r"))) {
        fprintf(stderr, "%s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    text = xmalloc(4 * 1024 * 1024 + 1);
    n = fread(text, 1, 4 * 1024 * 1024, fp);
    text[n] = 0;
    fclose(fp);
    body = json_pack("{s:s, s:b}", "text", text, "check_only", 1);
    ret = cli_request(SL_MSG_RECONFIGURE, body, &reply, &rc, &e) < 0;
    if (ret) {
        /* the controller names its own file; say which one was checked */
        fprintf(stderr, "%s: %s\n", argv[1], e.text);
    } else {
        printf("%s: configuration OK\n", argv[1]);
        print_changes(reply, "No changes from the running configuration");
    }
    json_decref(body);
    json_decref(reply);
    free(text);
    return ret;
}

/* update|create PartitionName=P Key=Value ... ; delete PartitionName=P */
static int partition_edit(const char *action, int argc, char **argv)
{
    json_t *set = json_object(), *body, *reply = NULL;
    const char *name = NULL;
    bool group = false;
    sl_error_t e;
    int rc, ret;

    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "Invalid input: %s\nRequest aborted\n", argv[i]);
            json_decref(set);
            return 1;
        }
        *eq = 0;
        if (!strcasecmp(argv[i], "PartitionName"))
            name = eq + 1;
        else if (!strcasecmp(argv[i], "NodeGroup"))
            name = eq + 1, group = true;
        else
            json_object_set_new(set, argv[i], json_string(eq + 1));
        *eq = '=';
    }
    if (!name) {
        fprintf(stderr, "PartitionName (or NodeGroup) is required\nRequest aborted\n");
        json_decref(set);
        return 1;
    }
    if (!strcmp(action, "update") && json_object_size(set) == 0) {
        fprintf(stderr, "No changes specified\n");
        json_decref(set);
        return 1;
    }
    body = json_pack("{s:s, s:s, s:o, s:b}", "action", action, "name", name, "set", set,
                     "node_group", group);
    ret = cli_request(SL_MSG_UPDATE_PARTITION, body, &reply, &rc, &e) < 0;
    if (ret)
        fprintf(stderr, "slurm_%s_partition error: %s\n", action, e.text);
    else if (!quiet)
        print_changes(reply, NULL);
    json_decref(body);
    json_decref(reply);
    return ret;
}

/* show events: the audit log of configuration, node and job edits */
static int show_events(void)
{
    json_t *body = json_pack("{s:i}", "limit", 1000), *reply = NULL, *e;
    sl_error_t err;
    int rc, ret = cli_request(SL_MSG_QUERY_EVENTS, body, &reply, &rc, &err) < 0;
    size_t i;
    char tbuf[64];

    if (ret)
        fprintf(stderr, "slurm_load_events error: %s\n", err.text);
    json_array_foreach(json_object_get(reply, "events"), i, e)
    {
        struct passwd *pw = getpwuid((uid_t)cli_jint(e, "uid", 0));
        printf("%s %s(%lld) %s: %s\n", cli_iso_time(cli_jint(e, "time", 0), "?", tbuf, sizeof(tbuf)),
               pw ? pw->pw_name : "?", cli_jint(e, "uid", 0), cli_jstr(e, "kind"),
               cli_jstr(e, "detail"));
    }
    json_decref(body);
    json_decref(reply);
    return ret;
}

/* write config [FILE]: the running configuration's YAML */
static int write_config(int argc, char **argv)
{
    json_t *body = json_object(), *reply = NULL;
    sl_error_t e;
    int rc, ret = cli_request(SL_MSG_QUERY_CONFIG, body, &reply, &rc, &e) < 0;
    json_decref(body);
    if (ret) {
        fprintf(stderr, "slurm_load_ctl_conf error: %s\n", e.text);
    } else if (argc > 2) {
        FILE *fp = fopen(argv[2], "w");
        if (!fp || fputs(cli_jstr(reply, "text"), fp) < 0 || fclose(fp) != 0) {
            fprintf(stderr, "%s: %s\n", argv[2], strerror(errno));
            ret = 1;
        } else if (!quiet) {
            printf("Slurmish config saved to %s\n", argv[2]);
        }
    } else {
        fputs(cli_jstr(reply, "text"), stdout);
    }
    json_decref(reply);
    return ret;
}

/* write batch_script JOBID [FILE|-]: the job's script, to slurm-JOBID.sh by
 * default or to stdout for "-", as Slurm's scontrol */
static int write_batch_script(int argc, char **argv)
{
    char *end, def[64];
    const char *path;
    json_t *body, *reply = NULL;
    sl_error_t e;
    int rc, ret;

    if (argc < 3) {
        fprintf(stderr, "scontrol: error: write batch_script needs a job id\n");
        return 1;
    }
    errno = 0;
    unsigned long id = strtoul(argv[2], &end, 10);
    if (errno || *end || id == 0 || id > UINT32_MAX || argv[2][0] == '-') {
        fprintf(stderr, "scontrol: error: Invalid job id: %s\n", argv[2]);
        return 1;
    }
    snprintf(def, sizeof(def), "slurm-%lu.sh", id);
    path = argc > 3 ? argv[3] : def;
    body = json_pack("{s:I}", "job_id", (json_int_t)id);
    ret = cli_request(SL_MSG_JOB_SCRIPT, body, &reply, &rc, &e) < 0;
    json_decref(body);
    if (ret) {
        fprintf(stderr, "job script retrieval failed: %s\n", e.text);
    } else if (!strcmp(path, "-")) {
        fputs(cli_jstr(reply, "script"), stdout);
    } else {
        FILE *fp = fopen(path, "w");
        if (!fp || fputs(cli_jstr(reply, "script"), fp) < 0 || fclose(fp) != 0) {
            fprintf(stderr, "%s: %s\n", path, strerror(errno));
            ret = 1;
        } else if (!quiet) {
            printf("batch script for job %lu written to %s\n", id, path);
        }
    }
    json_decref(reply);
    return ret;
}

/* update JobId=ID[,ID] Key=Value ... | update NodeName=LIST State=... Reason=... */
static int update(int argc, char **argv)
{
    json_t *set = json_object(), *ids = json_array();
    const char *nodes = NULL, *state = NULL, *reason = NULL;
    int ret = 1;
    sl_error_t e;

    for (int i = 1; i < argc; i++)
        if (!strncasecmp(argv[i], "PartitionName=", 14) || !strncasecmp(argv[i], "NodeGroup=", 10)) {
            json_decref(set);
            json_decref(ids);
            return partition_edit("update", argc, argv);
        }

    for (int i = 1; i < argc; i++) {
        char *eq = strchr(argv[i], '=');
        if (!eq) {
            fprintf(stderr, "Invalid input: %s\nRequest aborted\n", argv[i]);
            goto done;
        }
        size_t kl = (size_t)(eq - argv[i]);
        const char *val = eq + 1;
#define KEY(k) (kl == strlen(k) && !strncasecmp(argv[i], k, kl))
        if (KEY("JobId") || KEY("JobID")) {
            if (parse_job_ids(val, ids) < 0)
                goto done;
        } else if (KEY("NodeName")) {
            nodes = val;
        } else if (KEY("State")) {
            state = val;
        } else if (KEY("Reason")) {
            reason = val;
        } else if (KEY("TimeLimit")) {
            int64_t t;
            if (parse_time_limit(val, &t, &e) < 0) {
                fprintf(stderr, "Invalid TimeLimit value: %s\nRequest aborted\n", val);
                goto done;
            }
            json_object_set_new(set, "time_limit", json_integer(t));
        } else if (KEY("Partition")) {
            json_object_set_new(set, "partition", json_string(val));
        } else if (KEY("NumNodes") || KEY("MinNodes")) {
            long n;
            if (parse_int_range(val, 1, 1000000, &n, &e) < 0) {
                fprintf(stderr, "Invalid NumNodes value: %s\nRequest aborted\n", val);
                goto done;
            }
            json_object_set_new(set, "nodes", json_integer(n));
        } else if (KEY("Priority") || KEY("Nice")) {
            long n;
            if (parse_int_range(val, KEY("Nice") ? -2147483645L : 0, 2147483645L, &n, &e) < 0) {
                fprintf(stderr, "Invalid %.*s value: %s\nRequest aborted\n", (int)kl, argv[i],
                        val);
                goto done;
            }
            json_object_set_new(set, KEY("Nice") ? "nice" : "priority", json_integer(n));
        } else if (KEY("Name") || KEY("JobName")) {
            json_object_set_new(set, "name", json_string(val));
        } else if (KEY("Comment")) {
            json_object_set_new(set, "comment", json_string(val));
        } else if (KEY("Account")) {
            json_object_set_new(set, "account", json_string(val));
        } else {
            fprintf(stderr, "Update of this parameter is not supported: %s\nRequest aborted\n",
                    argv[i]);
            goto done;
        }
#undef KEY
    }
    if (nodes) {
        if (!state) {
            fprintf(stderr, "No changes specified\n");
            goto done;
        }
        json_t *body = json_pack("{s:s, s:s}", "nodes", nodes, "state", state), *reply = NULL;
        int rc;
        if (reason)
            json_object_set_new(body, "reason", json_string(reason));
        ret = cli_request(SL_MSG_UPDATE_NODE, body, &reply, &rc, &e) < 0;
        if (ret)
            fprintf(stderr, "slurm_update error: %s\n", e.text);
        json_decref(body);
        json_decref(reply);
    } else if (json_array_size(ids)) {
        if (json_object_size(set) == 0) {
            fprintf(stderr, "No changes specified\n");
            goto done;
        }
        ret = job_request(ids, "update", set);
    } else {
        fprintf(stderr, "No valid entity in update command\nInput line must include "
                        "\"NodeName\" or \"JobId\"\n");
    }
done:
    json_decref(set);
    json_decref(ids);
    return ret;
}

/* scontrol show config: Slurm's keys where one exists. */
static int show_config(void)
{
    json_t *reply = NULL;
    sl_error_t err;
    int rc;
    char buf[64];
    if (cli_request(SL_MSG_QUERY_CONFIG, NULL, &reply, &rc, &err) < 0) {
        fprintf(stderr, "slurm_load_ctl_conf error: %s\n", err.text);
        return 1;
    }
    time_t boot = cli_jint(reply, "start_time", 0);
    char admins[512];
    printf("Configuration data as of %s\n", cli_iso_time(time(NULL), "", buf, sizeof(buf)));
    printf("%-24s= %s\n", "BOOT_TIME", cli_iso_time(boot, "Unknown", buf, sizeof(buf)));
    printf("%-24s= %s\n", "ClusterName", cli_jstr(reply, "cluster_name"));
    printf("%-24s= %s\n", "SLURM_CONF", cli_jstr(reply, "config_file"));
    printf("%-24s= slurmish %s\n", "SLURM_VERSION", cli_jstr(reply, "version"));
    printf("%-24s= %s\n", "SlurmctldHost", cli_jstr(reply, "controller_host"));
    printf("%-24s= %lld\n", "SlurmctldPort", cli_jint(reply, "controller_port", 0));
    /* slurmish's own: where the tools reach the controller (0: on SlurmctldPort) */
    printf("%-24s= %lld\n", "SlurmctldToolsPort", cli_jint(reply, "tools_port", 0));
    printf("%-24s= %s\n", "SlurmctldToolsSocket",
           *cli_jstr(reply, "tools_socket") ? cli_jstr(reply, "tools_socket") : "(null)");
    printf("%-24s= %lld\n", "SlurmdPort", cli_jint(reply, "node_port", 0));
    printf("%-24s= %s\n", "SlurmUser", cli_jstr(reply, "slurm_user"));
    printf("%-24s= %s\n", "SlurmctldParameters", "");
    printf("%-24s= %s\n", "SlurmctldDebug", cli_jstr(reply, "log_level"));
    printf("%-24s= %s\n", "StateSaveLocation", cli_jstr(reply, "state_dir"));
    printf("%-24s= %s\n", "SlurmdSpoolDir", cli_jstr(reply, "spool_dir"));
    printf("%-24s= %lld sec\n", "SlurmdTimeout", cli_jint(reply, "node_timeout", 0));
    printf("%-24s= %lld sec\n", "HeartbeatInterval", cli_jint(reply, "heartbeat_interval", 0));
    printf("%-24s= %lld sec\n", "KillWait", cli_jint(reply, "kill_wait", 0));
    printf("%-24s= %lld sec\n", "MessageTimeout", cli_jint(reply, "message_timeout", 0));
    printf("%-24s= %lld sec\n", "MinJobAge", cli_jint(reply, "min_job_age", 0));
    printf("%-24s= %lld\n", "MaxArraySize", cli_jint(reply, "max_array_index", 0) + 1);
    long long mjc = cli_jint(reply, "max_job_count", -1), msj = cli_jint(reply, "max_submit_jobs", -1);
    if (mjc >= 0)
        printf("%-24s= %lld\n", "MaxJobCount", mjc);
    else
        printf("%-24s= %s\n", "MaxJobCount", "UNLIMITED");
    if (msj >= 0)
        printf("%-24s= %lld\n", "MaxSubmitJobsPerUser", msj);
    else
        printf("%-24s= %s\n", "MaxSubmitJobsPerUser", "UNLIMITED");
    printf("%-24s= %s\n", "SchedulerType", cli_jstr(reply, "scheduler"));
    printf("%-24s= sched_interval=%lld,sched_budget_ms=%lld,max_script_size=%lld\n",
           "SchedulerParameters", cli_jint(reply, "sched_interval", 0),
           cli_jint(reply, "sched_budget_ms", 0), cli_jint(reply, "max_script_size", 0));
    printf("%-24s= %s\n", "AuthType", "auth/munge");
    printf("%-24s= %s\n", "MungeSocket",
           *cli_jstr(reply, "munge_socket") ? cli_jstr(reply, "munge_socket") : "(default)");
    printf("%-24s= %s\n", "SlurmishAdmins",
           cli_jjoin(reply, "admins", ",", admins, sizeof(admins)));
    json_decref(reply);
    return 0;
}

static void help(void)
{
    printf("Usage: scontrol [<OPTION>] [<COMMAND>]\n"
           "\n"
           "Options:\n"
           "  -d, --details     accepted for compatibility (show prints every detail)\n"
           "  -h, --help        equivalent to \"help\" command\n"
           "      --usage       equivalent to \"help\" command\n"
           "  -o, --oneliner    equivalent to \"oneliner\" command\n"
           "  -Q, --quiet       equivalent to \"quiet\" command\n"
           "  -v, --verbose     accepted for compatibility\n"
           "  -V, --version     equivalent to \"version\" command\n"
           "\n"
           "  <keyword> may be omitted from the execute line and scontrol will execute\n"
           "  in interactive mode. It will process commands as entered until explicitly\n"
           "  terminated.\n"
           "\n"
           "    Valid <COMMAND> values are:\n"
           "     exit                     terminate scontrol\n"
           "     help                     print this description of use.\n"
           "     check-config FILE        validate FILE and show what it would change.\n"
           "     create PartitionName=P ... add a partition (written into the config file).\n"
           "     delete PartitionName=P   remove a partition that has no jobs.\n"
           "     hold <job_list>          prevent specified job from starting.\n"
           "     oneliner                 report output one record per line.\n"
           "     ping                     print status of slurmctld daemons.\n"
           "     quiet                    print no messages other than error messages.\n"
           "     quit                     terminate this command.\n"
           "     reconfigure              re-read the config file and apply what changed.\n"
           "     release <job_list>       permit specified job to start.\n"
           "     requeue <job_list>       re-queue a batch job.\n"
           "     show <ENTITY> [<ID>]     display state of identified entity, default\n"
           "                              is all records.\n"
           "     uhold <job_list>         place user hold on specified job.\n"
           "     update <SPECIFICATIONS>  update job or node state (JobId=... TimeLimit=...\n"
           "                              Partition= NumNodes= Priority= Nice= Name= Comment=;\n"
           "                              NodeName=... State=DRAIN|DOWN|RESUME Reason=...;\n"
           "                              NodeName=... State=POWER_UP|POWER_DOWN|\n"
           "                              POWER_DOWN_ASAP|POWER_DOWN_FORCE (cloud nodes);\n"
           "                              PartitionName=... MaxTime= DefaultTime= MaxNodes=\n"
           "                              MinNodes= State= Nodes= AllowUsers= AllowAccounts=\n"
           "                              PriorityTier= PreemptMode= Default=\n"
           "                              SessionIdleTimeout=\n"
           "                              SessionIdleWarning=; NodeGroup=... PricePerHour=\n"
           "                              Features= Spot=).  Partition and node group edits\n"
           "                              are written back into the config file.\n"
           "     version                  display tool version number.\n"
           "     write config [FILE]      print (or save) the running config file.\n"
           "     write batch_script ID [FILE|-]  save (or print) a batch job's script.\n"
           "\n"
           "  <ENTITY> may be \"job\", \"node\", \"partition\", \"config\", \"events\",\n"
           "  \"hostnames\" or \"hostlist\".\n");
}

/* Slurm accepts an unambiguous prefix of a keyword, at least min long. */
static bool keyword(const char *arg, const char *word, size_t min)
{
    size_t l = strlen(arg);
    return l >= min && l <= strlen(word) && !strncasecmp(arg, word, l);
}

/* Run one command; *quit set by exit/quit.  Returns 0 or 1. */
static int run_command(int argc, char **argv, bool *quit)
{
    const char *cmd = argv[0];

    if (keyword(cmd, "show", 3)) {
        if (argc < 2) {
            fprintf(stderr, "too few arguments for keyword:%s\n", cmd);
            return 1;
        }
        if (argc > 3) {
            fprintf(stderr, "too many arguments for keyword:%s\n", cmd);
            return 1;
        }
        const char *ent = argv[1], *id = argc > 2 ? argv[2] : NULL;
        if (keyword(ent, "jobs", 3) || keyword(ent, "jobid", 3))
            return show_jobs(id);
        if (keyword(ent, "nodes", 1) || keyword(ent, "nodename", 5))
            return show_nodes(id);
        if (keyword(ent, "partitions", 1) || keyword(ent, "partitionname", 10))
            return show_partitions(id);
        if (keyword(ent, "config", 1))
            return show_config();
        if (keyword(ent, "events", 2))
            return show_events();
        if (keyword(ent, "hostnames", 5) || keyword(ent, "hostlist", 5)) {
            /* pure hostlist work, no controller needed */
            sl_error_t herr;
            struct hostlist *hl = hostlist_create(id ? id : getenv("SLURM_JOB_NODELIST"), &herr);
            if (!hl) {
                fprintf(stderr, "Invalid hostlist: %s\n", herr.text);
                return 1;
            }
            if (keyword(ent, "hostnames", 5)) {
                for (size_t k = 0; k < hostlist_count(hl); k++)
                    printf("%s\n", hostlist_nth(hl, k));
            } else {
                char *s = hostlist_ranged_string(hl);
                printf("%s\n", s ? s : "");
                free(s);
            }
            hostlist_destroy(hl);
            return 0;
        }
        fprintf(stderr, "invalid entity:%s for keyword:%s \n", ent, cmd);
        return 1;
    }
    if (keyword(cmd, "ping", 2))
        return ping();
    if (keyword(cmd, "hold", 4))
        return job_action(argc, argv, "hold");
    if (keyword(cmd, "uhold", 5))
        return job_action(argc, argv, "uhold");
    if (keyword(cmd, "release", 3))
        return job_action(argc, argv, "release");
    if (keyword(cmd, "requeue", 3))
        return job_action(argc, argv, "requeue");
    if (keyword(cmd, "update", 1))
        return update(argc, argv);
    if (keyword(cmd, "create", 2))
        return partition_edit("create", argc, argv);
    if (keyword(cmd, "delete", 3))
        return partition_edit("delete", argc, argv);
    if (keyword(cmd, "reconfigure", 3))
        return reconfigure();
    if (!strcmp(cmd, "check-config"))
        return check_config(argc, argv);
    if (keyword(cmd, "write", 1) && argc >= 2 && keyword(argv[1], "config", 1))
        return write_config(argc, argv);
    if (keyword(cmd, "write", 1) && argc >= 2 && keyword(argv[1], "batch_script", 1))
        return write_batch_script(argc, argv);
    if (keyword(cmd, "version", 2)) {
        cli_print_version();
        exit(0);
    }
    if (keyword(cmd, "help", 2)) {
        help();
        exit(0);
    }
    if (keyword(cmd, "oneliner", 1)) {
        oneliner = true;
        return 0;
    }
    if (keyword(cmd, "quiet", 4)) {
        quiet = true;
        return 0;
    }
    if (keyword(cmd, "quit", 4) || keyword(cmd, "exit", 1)) {
        *quit = true;
        return 0;
    }
    fprintf(stderr, "invalid keyword: %s\n", cmd);
    return 1;
}

/* No command on the line: read commands from stdin, one per line. */
static int interactive(void)
{
    char *line = NULL;
    size_t cap = 0;
    bool quit = false, tty = isatty(STDIN_FILENO);
    int ret = 0;

    while (!quit) {
        if (tty) {
            printf("scontrol: ");
            fflush(stdout);
        }
        if (getline(&line, &cap, stdin) < 0)
            break;
        char *words[8];
        int n = 0;
        char *save = NULL;
        for (char *w = strtok_r(line, " \t\r\n", &save); w && n < 8;
             w = strtok_r(NULL, " \t\r\n", &save))
            words[n++] = w;
        if (n == 0)
            continue;
        if (run_command(n, words, &quit))
            ret = 1;
    }
    free(line);
    return ret;
}

enum { OPT_USAGE = 0x100 };

static const struct option long_opts[] = {
    {"oneliner", no_argument, NULL, 'o'},    {"quiet", no_argument, NULL, 'Q'},
    {"details", no_argument, NULL, 'd'},     {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},     {"help", no_argument, NULL, 'h'},
    {"usage", no_argument, NULL, OPT_USAGE}, {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    int c, ret;
    bool quit = false;

    cli_init("scontrol");
    argv[0] = (char *)cli_prog; /* getopt names the tool as Slurm does */
    /* '+': the command's own words may look like options */
    while ((c = getopt_long(argc, argv, "+oQdvVh", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o':
            oneliner = true;
            break;
        case 'Q':
            quiet = true;
            break;
        case 'd':
        case 'v':
            break;
        case 'V':
            cli_print_version();
            exit(0);
        case 'h':
        case OPT_USAGE:
            help();
            exit(0);
        default:
            fprintf(stderr, "Try \"scontrol --help\" for more information\n");
            return 1;
        }
    }
    if (optind >= argc)
        ret = interactive();
    else
        ret = run_command(argc - optind, argv + optind, &quit);
    cli_fini();
    return ret;
}
