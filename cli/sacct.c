/* sacct.c - accounting: every job ever run, from the controller's SQLite
 * record, with Slurm's fields, layouts (fixed width, -p, -P) and --json.
 * Each batch job also shows its "N.batch" step line, as Slurm does,
 * unless -X. */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"
#include "common.h"
#include "proto/proto.h"
#include "types.h"
#include "util/xmalloc.h"

#define DEFAULT_FIELDS "JobID,JobName,Partition,Account,AllocCPUS,State,ExitCode"

struct field {
    const char *name;
    int width;
    bool left; /* left-justified (JobID columns) */
};

static const struct field fields[] = {
    {"JobID", 12, true},      {"JobIDRaw", 12, true},   {"JobName", 10, false},
    {"Partition", 10, false}, {"Account", 10, false},   {"User", 9, false},
    {"UID", 6, false},        {"Group", 9, false},      {"GID", 6, false},
    {"State", 10, false},     {"ExitCode", 8, false},   {"Elapsed", 10, false},
    {"ElapsedRaw", 10, false}, {"Start", 19, false},    {"End", 19, false},
    {"Submit", 19, false},    {"NNodes", 8, false},     {"NCPUS", 10, false},
    {"AllocCPUS", 10, false}, {"NodeList", 15, false},  {"ReqMem", 10, false},
    {"Timelimit", 10, false}, {"WorkDir", 20, false},   {"Comment", 20, false},
    {"Priority", 10, false},  {"Reason", 16, false},    {"Cost", 10, false},
    {"Interruptions", 13, false}, {NULL, 0, false},
};

struct col {
    const struct field *f;
    int width;
};

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: sacct [-a] [-j jobs] [-u users] [-S time] [-E time] [-s states] [-X] "
                "[-n] [-p|-P] [-o fields] [--json]\n");
}

static void help(void)
{
    usage(stdout);
    printf("  -a, --allusers              all users' jobs (the default for root)\n"
           "  -E, --endtime=time          jobs before this time (default now)\n"
           "  -e, --helpformat            list the fields -o accepts\n"
           "  -j, --jobs=job(.step)       only these jobs (123, 123_4)\n"
           "      --json                  the records as JSON\n"
           "  -n, --noheader              no header lines\n"
           "      --name=names            only jobs with these names (comma separated)\n"
           "  -o, --format=fields         fields to show (name or name%%width)\n"
           "  -p, --parsable              fields separated by | with a trailing |\n"
           "  -P, --parsable2             fields separated by |, no trailing |\n"
           "  -S, --starttime=time        jobs since this time (default: midnight; none with -j)\n"
           "  -s, --state=states          only jobs in these states\n"
           "  -u, --user=users            only these users' jobs\n"
           "  -X, --allocations           only jobs, not their steps\n"
           "  -V, --version               show the version\n"
           "  -h, --help                  show this help\n");
}

enum line_kind { LINE_JOB, LINE_BATCH, LINE_STEP };

/* One field of a job's line, its .batch line, or a step's line (then j is
 * the step record made by step_record()). */
static char *value(const struct field *f, const json_t *j, enum line_kind kind, time_t now)
{
    char buf[256];
    const char *n = f->name;
    bool step = kind != LINE_JOB;

    if (kind == LINE_STEP) {
        if (!strcmp(n, "JobID") || !strcmp(n, "JobIDRaw"))
            return xstrdup(cli_jstr(j, "display_id"));
        if (!strcmp(n, "JobName"))
            return xstrdup(cli_jstr(j, "name"));
        if (!strcmp(n, "State"))
            return xstrdup(cli_jstr(j, "state"));
        if (!strcmp(n, "NNodes"))
            return xasprintf("%lld", cli_jint(j, "num_nodes", 1));
        if (!strcmp(n, "NodeList"))
            return xstrdup(cli_jstr(j, "nodes"));
        if (!strcmp(n, "NCPUS") || !strcmp(n, "AllocCPUS"))
            return xasprintf("%lld", cli_jint(j, "num_cpus", 0));
    }
    long long start = cli_jint(j, "start_time", 0), end = cli_jint(j, "end_time", 0);
    int st = job_state_from_name(cli_jstr(j, "state"));

    if (!strcmp(n, "JobID")) {
        char *id = cli_job_display_id(j);
        if (step) {
            char *s = xasprintf("%s.batch", id);
            free(id);
            return s;
        }
        return id;
    }
    if (!strcmp(n, "JobIDRaw"))
        return step ? xasprintf("%lld.batch", cli_jint(j, "job_id", 0))
                    : xasprintf("%lld", cli_jint(j, "job_id", 0));
    if (!strcmp(n, "JobName"))
        return xstrdup(step ? "batch" : cli_jstr(j, "name"));
    if (!strcmp(n, "Partition"))
        return xstrdup(step ? "" : cli_jstr(j, "partition"));
    if (!strcmp(n, "Account"))
        return xstrdup(cli_jstr(j, "account"));
    if (!strcmp(n, "User"))
        return xstrdup(step ? "" : cli_jstr(j, "user"));
    if (!strcmp(n, "UID"))
        return step ? xstrdup("") : xasprintf("%lld", cli_jint(j, "uid", 0));
    if (!strcmp(n, "Group"))
        return xstrdup(step ? "" : cli_jstr(j, "group"));
    if (!strcmp(n, "GID"))
        return step ? xstrdup("") : xasprintf("%lld", cli_jint(j, "gid", 0));
    if (!strcmp(n, "State")) {
        if (st == JOB_CANCELLED && !step && cli_jint(j, "cancelled_by", -1) >= 0)
            return xasprintf("CANCELLED by %lld", cli_jint(j, "cancelled_by", -1));
        if (st == JOB_TIMEOUT && step)
            return xstrdup("CANCELLED"); /* Slurm: the step was killed at the limit */
        return xstrdup(cli_jstr(j, "state"));
    }
    if (!strcmp(n, "ExitCode")) {
        /* Slurm keeps the signal that killed a cancelled or timed-out job
         * in its batch step's exit code only: the job's reads 0:0 */
        if (!step && (st == JOB_CANCELLED || st == JOB_TIMEOUT))
            return xasprintf("%lld:0", cli_jint(j, "exit_status", 0));
        return xasprintf("%lld:%lld", cli_jint(j, "exit_status", 0), cli_jint(j, "exit_signal", 0));
    }
    if (!strcmp(n, "Elapsed") || !strcmp(n, "ElapsedRaw")) {
        long long e = st == JOB_PENDING || start <= 0 ? 0 : (end > 0 ? end : now) - start;
        if (!strcmp(n, "ElapsedRaw"))
            return xasprintf("%lld", e);
        return xstrdup(cli_secs2clock(e, buf, sizeof(buf)));
    }
    if (!strcmp(n, "Start"))
        return xstrdup(cli_iso_time(st == JOB_PENDING ? 0 : start, "Unknown", buf, sizeof(buf)));
    if (!strcmp(n, "End"))
        return xstrdup(cli_iso_time(end, "Unknown", buf, sizeof(buf)));
    if (!strcmp(n, "Submit"))
        return xstrdup(cli_iso_time(cli_jint(j, "submit_time", 0), "Unknown", buf, sizeof(buf)));
    if (!strcmp(n, "NNodes"))
        return xasprintf("%lld", step ? 1 : cli_jint(j, "num_nodes", 0));
    if (!strcmp(n, "NCPUS") || !strcmp(n, "AllocCPUS")) {
        long long cpus = cli_jint(j, "num_cpus", 0), nodes = cli_jint(j, "num_nodes", 1);
        if (step && nodes > 0)
            cpus /= nodes;
        if (!strcmp(n, "AllocCPUS") && (st == JOB_PENDING || start <= 0))
            cpus = 0;
        return xasprintf("%lld", cpus);
    }
    if (!strcmp(n, "NodeList")) {
        const char *nl = step ? cli_jstr(j, "batch_host") : cli_jstr(j, "nodes");
        return xstrdup(*nl ? nl : "None assigned");
    }
    if (!strcmp(n, "ReqMem")) {
        long long mb = cli_jint(j, "mem_per_node_mb", 0);
        return step ? xstrdup("") : mb ? xasprintf("%lldM", mb) : xstrdup("0");
    }
    if (!strcmp(n, "Timelimit")) {
        if (step)
            return xstrdup("");
        long long t = cli_jint(j, "time_limit", -1);
        return xstrdup(cli_secs2clock(t, buf, sizeof(buf)));
    }
    if (!strcmp(n, "WorkDir"))
        return xstrdup(step ? "" : cli_jstr(j, "work_dir"));
    if (!strcmp(n, "Comment"))
        return xstrdup(step ? "" : cli_jstr(j, "comment"));
    if (!strcmp(n, "Reason")) /* why it ended (or waits): InactiveLimit, TimeLimit... */
        return xstrdup(step ? "" : *cli_jstr(j, "reason") ? cli_jstr(j, "reason") : "None");
    if (!strcmp(n, "Priority"))
        return step ? xstrdup("") : xasprintf("%lld", cli_jint(j, "priority", 0));
    if (!strcmp(n, "Cost")) /* slurmish: the job's share of its nodes' price per hour */
        return step ? xstrdup("")
                    : xasprintf("%.4f", json_number_value(json_object_get(j, "cost")));
    if (!strcmp(n, "Interruptions")) /* slurmish: spot interruptions it went through */
        return step ? xstrdup("") : xasprintf("%lld", cli_jint(j, "interruptions", 0));
    return xstrdup("");
}

static int parse_format(const char *spec, struct col **cols, size_t *ncols)
{
    char **items = cli_split_list(spec, NULL);
    size_t n = 0;
    for (char **p = items; *p; p++)
        n++;
    *cols = xcalloc(n + 1, sizeof(**cols));
    *ncols = 0;
    for (char **p = items; *p; p++) {
        char *pct = strchr(*p, '%');
        int width = -1;
        if (pct) {
            width = atoi(pct + 1);
            *pct = 0;
        }
        const struct field *f = NULL;
        for (const struct field *q = fields; q->name; q++)
            if (!strcasecmp(q->name, *p))
                f = q;
        if (!f) {
            cli_error("Invalid field requested: \"%s\"", *p);
            cli_argv_free(items);
            return -1;
        }
        (*cols)[*ncols].f = f;
        (*cols)[(*ncols)++].width = width > 0 ? width : f->width;
    }
    cli_argv_free(items);
    return 0;
}

static void print_cell(const struct col *c, const char *v, int sep_mode, bool last)
{
    if (sep_mode) {
        fputs(v, stdout);
        if (!last || sep_mode == 1)
            putchar('|');
        return;
    }
    int w = c->width;
    if ((int)strlen(v) > w)
        printf("%.*s+ ", w - 1, v); /* Slurm marks a cut value with + */
    else if (c->f->left)
        printf("%-*s ", w, v);
    else
        printf("%*s ", w, v);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"allusers", no_argument, NULL, 'a'},   {"endtime", required_argument, NULL, 'E'},
        {"helpformat", no_argument, NULL, 'e'}, {"jobs", required_argument, NULL, 'j'},
        {"json", no_argument, NULL, 'J'},       {"noheader", no_argument, NULL, 'n'},
        {"format", required_argument, NULL, 'o'}, {"parsable", no_argument, NULL, 'p'},
        {"parsable2", no_argument, NULL, 'P'},  {"starttime", required_argument, NULL, 'S'},
        {"state", required_argument, NULL, 's'}, {"user", required_argument, NULL, 'u'},
        {"allocations", no_argument, NULL, 'X'}, {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},       {"name", required_argument, NULL, 'N'},
        {NULL, 0, NULL, 0}};
    json_t *ids = json_array(), *users = json_array(), *states = json_array();
    json_t *filters = json_array();
    const char *format = DEFAULT_FIELDS;
    char **names = NULL; /* --name */
    bool all = false, noheader = false, allocs = false, json_out = false;
    int sep_mode = 0, opt, rc, ret = 1;
    time_t start = -2, end = 0;
    sl_error_t err;

    cli_init("sacct");
    while ((opt = getopt_long(argc, argv, "aE:ej:no:pPS:s:u:XVh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'a': all = true; break;
        case 'E':
        case 'S': {
            time_t t = cli_parse_when(optarg);
            if (t < 0) {
                cli_error("Invalid time specification (pos 0): %s", optarg);
                return 1;
            }
            if (opt == 'S')
                start = t;
            else
                end = t;
            break;
        }
        case 'e':
            for (const struct field *f = fields; f->name; f++)
                printf("%s%s", f->name, f[1].name ? " " : "\n");
            return 0;
        case 'j': {
            char **list = cli_split_list(optarg, NULL);
            for (char **p = list; *p; p++) {
                char *tasks = NULL, *dot = strchr(*p, '.');
                if (dot)
                    *dot = 0; /* 123.batch: the job */
                long id = cli_parse_array_jobid(*p, &tasks);
                if (id < 0) {
                    cli_error("Invalid job id: %s", *p);
                    return 1;
                }
                json_array_append_new(ids, json_integer(id));
                json_array_append_new(filters, json_pack("{s:I, s:s?}", "id", (json_int_t)id,
                                                         "tasks", tasks));
                free(tasks);
            }
            cli_argv_free(list);
            break;
        }
        case 'J': json_out = true; break;
        case 'N':
            cli_argv_free(names);
            names = cli_split_list(optarg, NULL);
            break;
        case 'n': noheader = true; break;
        case 'o': format = optarg; break;
        case 'p': sep_mode = 1; break;
        case 'P': sep_mode = 2; break;
        case 's': {
            char **list = cli_split_list(optarg, NULL);
            for (char **p = list; *p; p++) {
                int s = job_state_from_name(*p);
                if (s < 0) {
                    cli_error("Invalid state: %s", *p);
                    return 1;
                }
                json_array_append_new(states, json_string(job_state_name(s)));
            }
            cli_argv_free(list);
            break;
        }
        case 'u': {
            char **list = cli_split_list(optarg, NULL);
            for (char **p = list; *p; p++) {
                uid_t uid;
                if (cli_user_to_uid(*p, &uid) < 0) {
                    cli_error("Invalid user id: %s", *p);
                    return 1;
                }
                json_array_append_new(users, json_integer(uid));
            }
            cli_argv_free(list);
            break;
        }
        case 'X': allocs = true; break;
        case 'V': cli_print_version(); exit(0);
        case 'h': help(); exit(0);
        default: usage(stderr); return 1;
        }
    }
    struct col *cols = NULL;
    size_t ncols;
    json_t *body = NULL, *reply = NULL;
    if (parse_format(format, &cols, &ncols) < 0)
        goto out;
    if (start == -2) /* Slurm's default: since midnight, unless jobs are named */
        start = json_array_size(ids) ? 0 : cli_parse_when("midnight");
    if (end > 0 && start > end) {
        cli_error("Start time (%lld) requested is after end time (%lld).", (long long)start,
                  (long long)end);
        goto out;
    }

    body = json_pack("{s:O, s:O, s:O, s:I, s:I, s:b}", "job_ids", ids, "user_ids", users,
                     "states", states, "start", (json_int_t)start, "end", (json_int_t)end,
                     "all_users", all);
    if (cli_request(SL_MSG_QUERY_ACCT, body, &reply, &rc, &err) < 0) {
        cli_error("%s", err.text);
        goto out;
    }
    json_t *jobs = json_object_get(reply, "jobs"), *j;
    time_t now = cli_jint(reply, "time", 0) ? cli_jint(reply, "time", 0) : time(NULL);
    size_t i;
    if (json_is_true(json_object_get(reply, "truncated")))
        fprintf(stderr, "sacct: warning: only the first %zu records were returned; narrow the "
                        "query with -S/-E, -j, -u or -s\n", json_array_size(jobs));
    if (json_out) {
        json_t *o = json_pack("{s:O}", "jobs", jobs);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        ret = 0;
        goto out;
    }
    if (!noheader) {
        for (size_t k = 0; k < ncols; k++)
            print_cell(&cols[k], cols[k].f->name, sep_mode, k == ncols - 1);
        putchar('\n');
        if (!sep_mode) {
            for (size_t k = 0; k < ncols; k++) {
                for (int w = 0; w < cols[k].width; w++)
                    putchar('-');
                putchar(' ');
            }
            putchar('\n');
        }
    }
    json_array_foreach(jobs, i, j)
    {
        /* 123_4 selects one task */
        bool keep = json_array_size(filters) == 0;
        for (size_t k = 0; k < json_array_size(filters) && !keep; k++) {
            json_t *fi = json_array_get(filters, k);
            const char *tasks = cli_jstr(fi, "tasks");
            long long id = cli_jint(fi, "id", 0);
            if (!*tasks)
                keep = cli_jint(j, "job_id", 0) == id || cli_jint(j, "array_job_id", 0) == id;
            else
                keep = cli_jint(j, "array_job_id", 0) == id &&
                       cli_jint(j, "array_task_id", -1) == atoll(tasks);
        }
        if (keep && names) {
            bool hit = false;
            for (char **nm = names; *nm; nm++)
                hit |= !strcmp(*nm, cli_jstr(j, "name"));
            keep = hit;
        }
        if (!keep)
            continue;
        int st = job_state_from_name(cli_jstr(j, "state"));
        for (int step = 0; step < 2; step++) {
            /* the batch step exists once the script has started; an
             * allocation (salloc, srun) has none */
            if (step && (allocs || cli_jint(j, "start_time", 0) <= 0 || st == JOB_PENDING ||
                         !*cli_jstr(j, "batch_host") || cli_jbool(j, "interactive")))
                break;
            for (size_t k = 0; k < ncols; k++) {
                char *v = value(cols[k].f, j, step ? LINE_BATCH : LINE_JOB, now);
                print_cell(&cols[k], v, sep_mode, k == ncols - 1);
                free(v);
            }
            putchar('\n');
        }
        size_t si;
        json_t *sj;
        json_array_foreach(allocs ? NULL : json_object_get(j, "steps"), si, sj)
        {
            /* srun's steps: N.0, N.1, ... */
            json_t *rec = json_copy((json_t *)j);
            char *did = xasprintf("%lld.%lld", cli_jint(j, "job_id", 0), cli_jint(sj, "step_id", 0));
            json_object_set_new(rec, "display_id", json_string(did));
            free(did);
            json_object_set(rec, "name", json_object_get(sj, "name"));
            json_object_set(rec, "state", json_object_get(sj, "state"));
            json_object_set(rec, "nodes", json_object_get(sj, "nodes"));
            json_object_set(rec, "start_time", json_object_get(sj, "start_time"));
            json_object_set(rec, "end_time", json_object_get(sj, "end_time"));
            json_object_set(rec, "exit_status", json_object_get(sj, "exit_code"));
            json_object_set(rec, "exit_signal", json_object_get(sj, "exit_signal"));
            json_object_set_new(rec, "num_cpus", json_integer(cli_jint(sj, "ntasks", 1)));
            json_object_set_new(rec, "num_nodes", json_integer(cli_jint(sj, "nnodes", 1)));
            for (size_t k = 0; k < ncols; k++) {
                char *v = value(cols[k].f, rec, LINE_STEP, now);
                print_cell(&cols[k], v, sep_mode, k == ncols - 1);
                free(v);
            }
            putchar('\n');
            json_decref(rec);
        }
    }
    ret = 0;
out:
    free(cols);
    json_decref(reply);
    json_decref(body);
    json_decref(ids);
    json_decref(users);
    json_decref(states);
    json_decref(filters);
    cli_argv_free(names);
    cli_fini();
    return ret;
}
