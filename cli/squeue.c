/* squeue.c - view the job queue.
 *
 * Input: filters (-j -u -t -p --me) and an output format (-o, -l).
 * Action: one query_jobs request; jobs are filtered again here (the
 * default hides finished jobs unless -j or -t asks for them), sorted as
 * Slurm's default "P,t,-p" (partition, state, then priority down), and
 * printed through the format engine.  Exit 0, or 1 on any error.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"
#include "common.h"
#include "format.h"
#include "types.h"
#include "util/parse.h"
#include "util/xmalloc.h"

#define DEFAULT_FORMAT "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
#define LONG_FORMAT "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
#define START_FORMAT "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %R"
#define FIELDS "iAPjuUTtMlLDCRNrSVeQamZkBogG"

static void usage(FILE *out)
{
    fprintf(out, "Usage: squeue [-j jobs] [-n names] [-o format] [-O fields] [-p partitions]\n"
                 "              [-t states] [-u users] [--me] [--start] [--json] [--usage]\n"
                 "              [-ahlrsvV]\n");
}

static void help(void)
{
    printf("Usage: squeue [OPTIONS]\n"
           "Show the jobs in the queue: pending and running ones by default.\n"
           "\n"
           "Options:\n"
           "  -a, --all                       accepted for compatibility (all partitions\n"
           "                                  are always shown)\n"
           "  -h, --noheader                  no headers on output\n"
           "  -j, --jobs=job(s), --job=job(s)\n"
           "                                  comma separated list of job IDs (123,\n"
           "                                  123_4, 123_[1-5]) to view, default is all\n"
           "      --json                      print the jobs as JSON\n"
           "  -l, --long                      long report (state and time limit)\n"
           "      --me                        equivalent to --user=<my username>\n"
           "  -n, --name=name(s)              comma separated list of job names to view\n"
           "  -o, --format=format             format specification: %%[.][width]field with\n"
           "                                  fields i A (job ID), P (partition), j (name),\n"
           "                                  u (user), U (uid), g (group), G (gid),\n"
           "                                  T (state), t (compact state), M (time used),\n"
           "                                  l (time limit), L (time left), D (nodes),\n"
           "                                  C (CPUs), R (nodes or reason), N (nodes),\n"
           "                                  r (reason), S (start), V (submit), e (end),\n"
           "                                  Q (priority), a (account), m (memory),\n"
           "                                  Z (work dir), k (comment), B (batch host),\n"
           "                                  o (command), F (array job), K (array task)\n"
           "  -O, --Format=fields             format by field names (jobid, name, state,\n"
           "                                  partition, timeused, reasonlist, ...), each\n"
           "                                  name[:[.]width]\n"
           "  -p, --partition=partition(s), --partitions=partition(s)\n"
           "                                  comma separated list of partitions\n"
           "                                  to view, default is all partitions\n"
           "  -r, --array                     one line per array task, pending ones too\n"
           "  -s, --steps[=steps]             show job steps instead of jobs\n"
           "      --start                     expected start times of pending jobs\n"
           "  -t, --states=job_state(s), --state=job_state(s)\n"
           "                                  comma separated list of states to view,\n"
           "                                  default is pending and running,\n"
           "                                  '--states=all' reports all states\n"
           "  -u, --user=user_name(s), --users=user_name(s)\n"
           "                                  comma separated list of users to view\n"
           "  -v, --verbose                   verbosity level\n"
           "  -V, --version                   output version information and exit\n"
           "\n"
           "Help options:\n"
           "      --help                      show this help message\n"
           "      --usage                     display a brief summary of squeue options\n");
}

static const char *header_of(char t)
{
    switch (t) {
    case 'i':
    case 'A':
        return "JOBID";
    case 'P':
        return "PARTITION";
    case 'j':
        return "NAME";
    case 'F':
        return "ARRAY_JOB_ID";
    case 'K':
        return "ARRAY_TASK_ID";
    case 'u':
        return "USER";
    case 'U':
        return "UID";
    case 'T':
        return "STATE";
    case 't':
        return "ST";
    case 'M':
        return "TIME";
    case 'l':
        return "TIME_LIMIT";
    case 'L':
        return "TIME_LEFT";
    case 'D':
        return "NODES";
    case 'C':
        return "CPUS";
    case 'R':
        return "NODELIST(REASON)";
    case 'N':
        return "NODELIST";
    case 'r':
        return "REASON";
    case 'S':
        return "START_TIME";
    case 'V':
        return "SUBMIT_TIME";
    case 'e':
        return "END_TIME";
    case 'Q':
        return "PRIORITY";
    case 'a':
        return "ACCOUNT";
    case 'm':
        return "MIN_MEMORY";
    case 'Z':
        return "WORK_DIR";
    case 'k':
        return "COMMENT";
    case 'B':
        return "EXEC_HOST";
    case 'o':
        return "COMMAND";
    case 'g':
        return "GROUP";
    case 'G':
        return "GID";
    }
    return "";
}

static int job_state(const json_t *job)
{
    return job_state_from_name(cli_jstr(job, "state"));
}

/* Seconds the job has run, as of `now`. */
static long long run_time(const json_t *job, time_t now)
{
    long long start = cli_jint(job, "start_time", 0), end = cli_jint(job, "end_time", 0);
    int st = job_state(job);

    if (start <= 0 || st == JOB_PENDING)
        return 0;
    if (job_state_is_final(st) && end >= start)
        return end - start;
    return now > start ? now - start : 0;
}

/* squeue shows the reason for jobs that are waiting or ended abnormally,
 * the node list otherwise. */
static bool shows_reason(int st)
{
    return st == JOB_PENDING || st == JOB_TIMEOUT || st == JOB_OUT_OF_MEMORY ||
           st == JOB_DEADLINE || st == JOB_FAILED;
}

static char *job_field(char t, const json_t *job, time_t now)
{
    char buf[256];
    int st = job_state(job);
    long long limit = cli_jint(job, "time_limit", -1);

    switch (t) {
    case 'i':
        return cli_job_display_id(job);
    case 'A':
        return xasprintf("%lld", cli_jint(job, "job_id", 0));
    case 'F':
        return xasprintf("%lld", cli_jint(job, "array_job_id", 0) ? cli_jint(job, "array_job_id", 0)
                                                                 : cli_jint(job, "job_id", 0));
    case 'K':
        if (cli_jint(job, "array_task_id", -1) >= 0)
            return xasprintf("%lld", cli_jint(job, "array_task_id", -1));
        return xstrdup(*cli_jstr(job, "array_tasks") ? cli_jstr(job, "array_tasks") : "N/A");
    case 'P':
        return xstrdup(cli_jstr(job, "partition"));
    case 'j':
        return xstrdup(cli_jstr(job, "name"));
    case 'u':
        return xstrdup(cli_jstr(job, "user"));
    case 'U':
        return xasprintf("%lld", cli_jint(job, "uid", -1));
    case 'g':
        return xstrdup(cli_jstr(job, "group"));
    case 'G':
        return xasprintf("%lld", cli_jint(job, "gid", -1));
    case 'T': /* nodes still booting: Slurm's CONFIGURING; being cleaned up: COMPLETING */
        if (cli_jbool(job, "completing"))
            return xstrdup("COMPLETING");
        return xstrdup(cli_jbool(job, "configuring") ? "CONFIGURING" : cli_jstr(job, "state"));
    case 't':
        if (cli_jbool(job, "completing"))
            return xstrdup("CG");
        if (cli_jbool(job, "configuring"))
            return xstrdup("CF");
        return xstrdup(st >= 0 ? job_state_short(st) : cli_jstr(job, "state"));
    case 'M':
        return xstrdup(format_time_slurm(run_time(job, now), buf, sizeof(buf)));
    case 'l':
        return xstrdup(format_time_slurm(limit < 0 ? -1 : limit, buf, sizeof(buf)));
    case 'L':
        if (limit < 0)
            return xstrdup("UNLIMITED");
        if (job_state_is_final(st))
            return xstrdup("0:00");
        long long left = limit - run_time(job, now);
        return xstrdup(format_time_slurm(left > 0 ? left : 0, buf, sizeof(buf)));
    case 'D':
        return xasprintf("%lld", cli_jint(job, "num_nodes", 0));
    case 'C':
        return xasprintf("%lld", cli_jint(job, "num_cpus", 0));
    case 'R':
        if (shows_reason(st) || !*cli_jstr(job, "nodes"))
            return xasprintf("(%s)", *cli_jstr(job, "reason") ? cli_jstr(job, "reason") : "None");
        return xstrdup(cli_jstr(job, "nodes"));
    case 'N':
        return xstrdup(cli_jstr(job, "nodes"));
    case 'r':
        return xstrdup(*cli_jstr(job, "reason") ? cli_jstr(job, "reason") : "None");
    case 'S':
        return xstrdup(cli_iso_time(cli_jint(job, "start_time", 0), "N/A", buf, sizeof(buf)));
    case 'V':
        return xstrdup(cli_iso_time(cli_jint(job, "submit_time", 0), "N/A", buf, sizeof(buf)));
    case 'e': {
        long long end = cli_jint(job, "end_time", 0), start = cli_jint(job, "start_time", 0);
        /* a running job is expected to end when its limit runs out */
        if (end <= 0 && start > 0 && limit >= 0 && !job_state_is_final(st))
            end = start + limit;
        return xstrdup(cli_iso_time(end, "N/A", buf, sizeof(buf)));
    }
    case 'Q':
        return xasprintf("%lld", cli_jint(job, "priority", 0));
    case 'a':
        return xstrdup(*cli_jstr(job, "account") ? cli_jstr(job, "account") : "(null)");
    case 'm':
        return xstrdup(cli_mem_str(cli_jint(job, "mem_per_node_mb", 0), buf, sizeof(buf)));
    case 'Z':
        return xstrdup(cli_jstr(job, "work_dir"));
    case 'k':
        return xstrdup(*cli_jstr(job, "comment") ? cli_jstr(job, "comment") : "(null)");
    case 'B':
        return xstrdup(*cli_jstr(job, "batch_host") ? cli_jstr(job, "batch_host") : "n/a");
    case 'o':
        return xstrdup(*cli_jstr(job, "command") ? cli_jstr(job, "command") : "(null)");
    }
    return xstrdup("");
}

static int cmp_jobs(const void *a, const void *b)
{
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(cli_jstr(x, "partition"), cli_jstr(y, "partition"));
    if (c)
        return c;
    int sx = job_state(x), sy = job_state(y);
    if (sx != sy)
        return sx < sy ? -1 : 1;
    long long px = cli_jint(x, "priority", 0), py = cli_jint(y, "priority", 0);
    if (px != py)
        return px > py ? -1 : 1;
    long long ix = cli_jint(x, "job_id", 0), iy = cli_jint(y, "job_id", 0);
    return ix < iy ? -1 : ix > iy;
}

enum { OPT_ME = 0x100, OPT_HELP, OPT_USAGE, OPT_START, OPT_JSON };

/* squeue -s: running steps, one line each */
#define STEP_FORMAT "%.15i %.8j %.9P %.8u %.9M %N"
#define STEP_FIELDS "ijPuMNDtT"

static const char *step_header_of(char t)
{
    switch (t) {
    case 'i': return "STEPID";
    case 'j': return "NAME";
    case 'P': return "PARTITION";
    case 'u': return "USER";
    case 'M': return "TIME";
    case 'N': return "NODELIST";
    case 'D': return "NODES";
    case 't': return "ST";
    case 'T': return "STATE";
    default: return "";
    }
}

static char *step_field(char t, const json_t *job, const json_t *step, time_t now)
{
    char buf[64];
    switch (t) {
    case 'i':
        return xasprintf("%lld.%lld", cli_jint(job, "job_id", 0), cli_jint(step, "step_id", 0));
    case 'j': return xstrdup(cli_jstr(step, "name"));
    case 'P': return xstrdup(cli_jstr(job, "partition"));
    case 'u': return xstrdup(cli_jstr(job, "user"));
    case 'M': return xstrdup(cli_secs2clock(now - cli_jint(step, "start_time", now), buf, sizeof(buf)));
    case 'N': return xstrdup(cli_jstr(step, "nodes"));
    case 'D': return xasprintf("%lld", cli_jint(step, "nnodes", 1));
    case 't': return xstrdup("R");
    case 'T': return xstrdup(cli_jstr(step, "state"));
    default: return xstrdup("");
    }
}

static void print_steps(json_t **sel, size_t n, const char *format, bool noheader, time_t now)
{
    sl_error_t err;
    struct fmt_spec *f = fmt_parse(format ? format : STEP_FORMAT, STEP_FIELDS, &err);
    size_t nrows = 0, cap = 16;
    char ***rows = xcalloc(cap, sizeof(char **));
    const char **header;

    if (!f) {
        cli_error("%s", err.text);
        free(rows);
        return;
    }
    header = xcalloc(f->count, sizeof(char *));
    for (size_t k = 0; k < f->count; k++)
        header[k] = f->items[k].type ? step_header_of(f->items[k].type) : NULL;
    for (size_t r = 0; r < n; r++) {
        size_t i;
        json_t *step;
        json_array_foreach(json_object_get(sel[r], "steps"), i, step)
        {
            if (nrows + 1 >= cap)
                rows = xrealloc(rows, (cap *= 2) * sizeof(char **));
            rows[nrows] = xcalloc(f->count, sizeof(char *));
            for (size_t k = 0; k < f->count; k++)
                if (f->items[k].type)
                    rows[nrows][k] = step_field(f->items[k].type, sel[r], step, now);
            nrows++;
        }
    }
    fmt_print_table(stdout, f, noheader ? NULL : header, rows, nrows);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t k = 0; k < f->count; k++)
            free(rows[r][k]);
        free(rows[r]);
    }
    free(rows);
    free(header);
    fmt_destroy(f);
}

/* -O/--Format long names and the %-letters they stand for. */
static const struct {
    const char *name;
    char letter;
} long_fields[] = {
    {"jobid", 'i'},        {"jobarrayid", 'i'},    {"arrayjobid", 'F'},   {"arraytaskid", 'K'},
    {"name", 'j'},         {"username", 'u'},      {"userid", 'U'},       {"groupname", 'g'},
    {"state", 'T'},        {"statecompact", 't'},  {"partition", 'P'},    {"timeused", 'M'},
    {"timelimit", 'l'},    {"timeleft", 'L'},      {"numnodes", 'D'},     {"numcpus", 'C'},
    {"nodelist", 'N'},     {"reason", 'r'},        {"reasonlist", 'R'},   {"starttime", 'S'},
    {"submittime", 'V'},   {"endtime", 'e'},       {"priority", 'Q'},     {"account", 'a'},
    {"minmemory", 'm'},    {"workdir", 'Z'},       {"comment", 'k'},      {"batchhost", 'B'},
    {"command", 'o'},
};

/* "jobid:10,name,state:8" -> "%-10i%-20j%-8T" (Slurm's -O: width 20 unless
 * given, left-justified; a trailing '.' before the width right-justifies). */
static char *long_format(const char *spec, sl_error_t *err)
{
    char **items = cli_split_list(spec, NULL);
    size_t cap = 256, len = 0;
    char *out = xcalloc(1, cap);
    for (char **p = items; *p; p++) {
        char *colon = strchr(*p, ':');
        int width = 20;
        bool right = false;
        if (colon) {
            *colon = 0;
            if (colon[1] == '.') {
                right = true;
                colon++;
            }
            width = atoi(colon + 1);
            if (width <= 0)
                width = 20;
        }
        char letter = 0;
        for (size_t k = 0; k < sizeof(long_fields) / sizeof(long_fields[0]); k++)
            if (!strcasecmp(long_fields[k].name, *p))
                letter = long_fields[k].letter;
        if (!letter) {
            errprintf(err, "Invalid job format specification: %s", *p);
            cli_argv_free(items);
            free(out);
            return NULL;
        }
        char part[32];
        int n = snprintf(part, sizeof(part), "%%%s%d%c", right ? "." : "-", width, letter);
        if (len + (size_t)n + 1 > cap)
            out = xrealloc(out, cap *= 2);
        memcpy(out + len, part, (size_t)n + 1);
        len += (size_t)n;
    }
    cli_argv_free(items);
    return out;
}

/* Does job match a -j item "ID" or "ID_TASKS"? */
static bool id_item_matches(const json_t *job, long id, const char *tasks)
{
    long long jid = cli_jint(job, "job_id", 0), aid = cli_jint(job, "array_job_id", 0);
    long long tid = cli_jint(job, "array_task_id", -1);
    if (!tasks)
        return jid == id || aid == id;
    if (aid != id)
        return false;
    /* task list: plain numbers and ranges */
    char *copy = xstrdup(tasks), *save = NULL;
    bool hit = false;
    for (char *t = strtok_r(copy, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save)) {
        long lo = strtol(t, &t, 10), hi = lo;
        if (*t == '-')
            hi = strtol(t + 1, NULL, 10);
        if (tid >= 0)
            hit = tid >= lo && tid <= hi;
        else
            hit = true; /* the pending record: it holds some of them */
    }
    free(copy);
    return hit;
}

static const struct option long_opts[] = {
    {"noheader", no_argument, NULL, 'h'},
    {"jobs", required_argument, NULL, 'j'},
    {"job", required_argument, NULL, 'j'},
    {"long", no_argument, NULL, 'l'},
    {"format", required_argument, NULL, 'o'},
    {"partition", required_argument, NULL, 'p'},
    {"partitions", required_argument, NULL, 'p'},
    {"states", required_argument, NULL, 't'},
    {"state", required_argument, NULL, 't'},
    {"user", required_argument, NULL, 'u'},
    {"users", required_argument, NULL, 'u'},
    {"all", no_argument, NULL, 'a'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"me", no_argument, NULL, OPT_ME},
    {"start", no_argument, NULL, OPT_START},
    {"json", no_argument, NULL, OPT_JSON},
    {"Format", required_argument, NULL, 'O'},
    {"name", required_argument, NULL, 'n'},
    {"array", no_argument, NULL, 'r'},
    {"steps", optional_argument, NULL, 's'},
    {"help", no_argument, NULL, OPT_HELP},
    {"usage", no_argument, NULL, OPT_USAGE},
    {NULL, 0, NULL, 0},
};

static bool in_list(char **list, const char *s)
{
    for (char **p = list; p && *p; p++)
        if (!strcmp(*p, s))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    bool noheader = false, longfmt = false, all_states = false;
    const char *format = NULL;
    json_t *job_ids = json_array(), *user_ids = json_array(), *states = json_array();
    json_t *parts = json_array();
    char **part_list = NULL;
    bool state_wanted[JOB_STATE_COUNT] = {false}, want_completing = false;
    bool states_given = false, start_view = false, expand_arrays = false, json_out = false;
    bool steps_view = false;
    json_t *id_filters = json_array();
    char *long_fmt = NULL, **name_list = NULL;
    struct fmt_spec *f = NULL;
    json_t *body = NULL, *reply = NULL;
    int c, rc, ret = 1;
    sl_error_t err;

    cli_init("squeue");
    argv[0] = (char *)cli_prog; /* getopt names the tool as Slurm does */
    while ((c = getopt_long(argc, argv, "hj:lO:n:o:p:rst:u:avV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            noheader = true;
            break;
        case 'j': {
            char **ids = cli_split_list(optarg, NULL);
            for (char **p = ids; *p; p++) {
                char *tasks = NULL;
                long id = cli_parse_array_jobid(*p, &tasks);
                if (id < 0) {
                    cli_error("Invalid job id: %s", *p);
                    return 1;
                }
                json_array_append_new(job_ids, json_integer(id));
                json_array_append_new(id_filters, json_pack("{s:I, s:s?}", "id", (json_int_t)id,
                                                            "tasks", tasks));
                free(tasks);
            }
            cli_argv_free(ids);
            break;
        }
        case 'l':
            longfmt = true;
            break;
        case 'o':
            format = optarg;
            break;
        case 'p':
            cli_argv_free(part_list);
            part_list = cli_split_list(optarg, NULL);
            json_array_clear(parts);
            for (char **p = part_list; *p; p++)
                json_array_append_new(parts, json_string(*p));
            break;
        case 't': {
            char **sl = cli_split_list(optarg, NULL);
            states_given = true;
            for (char **p = sl; *p; p++) {
                int s;
                if (!strcasecmp(*p, "all")) {
                    all_states = true;
                    continue;
                }
                if (!strcasecmp(*p, "CG") || !strcasecmp(*p, "COMPLETING")) {
                    /* ended, nodes still cleaning up: a flag on a final state */
                    want_completing = true;
                    continue;
                }
                if (!strcasecmp(*p, "CF") || !strcasecmp(*p, "CONFIGURING")) {
                    /* running on nodes still booting: part of RUNNING here */
                    state_wanted[JOB_RUNNING] = true;
                    continue;
                }
                if ((s = job_state_from_name(*p)) < 0) {
                    cli_error("Invalid job state specified: %s", *p);
                    fprintf(stderr, "Valid job states include: PENDING, RUNNING, SUSPENDED, "
                                    "COMPLETING, CONFIGURING, COMPLETED, CANCELLED, FAILED, "
                                    "TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, "
                                    "OUT_OF_MEMORY\n");
                    return 1;
                }
                state_wanted[s] = true;
            }
            cli_argv_free(sl);
            break;
        }
        case 'u': {
            char **ul = cli_split_list(optarg, NULL);
            for (char **p = ul; *p; p++) {
                uid_t uid;
                if (cli_user_to_uid(*p, &uid) < 0) {
                    cli_error("Invalid user: %s", *p);
                    return 1;
                }
                json_array_append_new(user_ids, json_integer(uid));
            }
            cli_argv_free(ul);
            break;
        }
        case OPT_ME:
            json_array_append_new(user_ids, json_integer(getuid()));
            break;
        case 'r':
            expand_arrays = true;
            break;
        case 's':
            steps_view = true;
            break;
        case OPT_JSON:
            json_out = true;
            break;
        case 'O':
            free(long_fmt);
            if (!(long_fmt = long_format(optarg, &err))) {
                cli_error("%s", err.text);
                goto done;
            }
            format = long_fmt;
            break;
        case 'n':
            cli_argv_free(name_list);
            name_list = cli_split_list(optarg, NULL);
            break;
        case OPT_START:
            /* expected start times of pending jobs, as Slurm's --start */
            start_view = true;
            break;
        case 'a':
        case 'v':
            break;
        case 'V':
            cli_print_version();
            exit(0);
        case OPT_HELP:
            help();
            exit(0);
        case OPT_USAGE:
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "Try \"squeue --help\" for more information\n");
            return 1;
        }
    }
    if (optind < argc) {
        cli_error("Unrecognized option: %s", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (steps_view) {
        /* steps run in running jobs; the format names step fields */
        states_given = true;
        state_wanted[JOB_RUNNING] = true;
    }
    if (!format && !steps_view)
        format = start_view ? START_FORMAT : longfmt ? LONG_FORMAT : DEFAULT_FORMAT;
    if (start_view && !states_given) {
        states_given = true;
        state_wanted[JOB_PENDING] = true;
    }
    f = fmt_parse(steps_view ? DEFAULT_FORMAT : format, FIELDS, &err);
    if (!f) {
        cli_error("%s", err.text);
        goto done;
    }
    /* completing jobs have a final state: the ctld's state filter would drop them */
    if (states_given && !all_states && !want_completing)
        for (int s = 0; s < JOB_STATE_COUNT; s++)
            if (state_wanted[s])
                json_array_append_new(states, json_string(job_state_name(s)));

    body = json_object();
    if (json_array_size(job_ids))
        json_object_set(body, "job_ids", job_ids);
    if (json_array_size(user_ids))
        json_object_set(body, "user_ids", user_ids);
    if (json_array_size(states))
        json_object_set(body, "states", states);
    if (json_array_size(parts))
        json_object_set(body, "partitions", parts);
    if (!states_given && !json_array_size(job_ids))
        json_object_set_new(body, "active", json_true()); /* finished jobs are not shown */
    if (cli_request(SL_MSG_QUERY_JOBS, body, &reply, &rc, &err) < 0) {
        fflush(stdout);
        fprintf(stderr, "slurm_load_jobs error: %s\n", err.text);
        goto done;
    }

    json_t *jobs = json_object_get(reply, "jobs"), *job;
    time_t now = cli_jint(reply, "time", 0);
    size_t i, n = 0;
    size_t cap = json_array_size(jobs) + 1;
    json_t **sel = xcalloc(cap, sizeof(*sel));
    json_t *expanded = json_array(); /* -r copies, freed at the end */
    if (now <= 0)
        now = time(NULL);
    json_array_foreach(jobs, i, job)
    {
        int st = job_state(job);
        bool id_match = true, user_match = true;
        if (json_array_size(id_filters)) {
            id_match = false;
            for (size_t k = 0; k < json_array_size(id_filters); k++) {
                json_t *fi = json_array_get(id_filters, k);
                if (id_item_matches(job, (long)cli_jint(fi, "id", 0), cli_jstr(fi, "tasks")[0]
                                                                         ? cli_jstr(fi, "tasks")
                                                                         : NULL))
                    id_match = true;
            }
        }
        if (json_array_size(user_ids)) {
            user_match = false;
            for (size_t k = 0; k < json_array_size(user_ids); k++)
                if (json_integer_value(json_array_get(user_ids, k)) == cli_jint(job, "uid", -1))
                    user_match = true;
        }
        if (!id_match || !user_match)
            continue;
        if (part_list && !in_list(part_list, cli_jstr(job, "partition")))
            continue;
        if (name_list && !in_list(name_list, cli_jstr(job, "name")))
            continue;
        bool completing = cli_jbool(job, "completing");
        if (states_given && !all_states) {
            /* as Slurm: the base state matches, or CG matches a completing job */
            if (!(st >= 0 && state_wanted[st]) && !(want_completing && completing))
                continue;
        } else if (!states_given && !json_array_size(job_ids) && st >= 0 &&
                   job_state_is_final(st) && !completing) {
            continue; /* finished jobs show only when asked for; completing ones still do */
        }
        if (expand_arrays && cli_jint(job, "array_job_id", 0) &&
            cli_jint(job, "array_task_id", -1) < 0) {
            /* -r: one line per pending task */
            char *copy = xstrdup(cli_jstr(job, "array_tasks")), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                long lo = strtol(t, &t, 10), hi = lo;
                if (*t == '-')
                    hi = strtol(t + 1, NULL, 10);
                for (long v = lo; v <= hi; v++) {
                    json_t *one = json_deep_copy(job);
                    json_object_set_new(one, "array_task_id", json_integer(v));
                    json_array_append_new(expanded, one);
                    if (n >= cap)
                        sel = xrealloc(sel, (cap = cap * 2 + 16) * sizeof(*sel));
                    sel[n++] = one;
                }
            }
            free(copy);
            continue;
        }
        if (n >= cap)
            sel = xrealloc(sel, (cap = cap * 2 + 16) * sizeof(*sel));
        sel[n++] = job;
    }
    qsort(sel, n, sizeof(*sel), cmp_jobs);
    if (steps_view && !json_out) {
        print_steps(sel, n, format, noheader, now);
        free(sel);
        json_decref(expanded);
        ret = 0;
        goto done;
    }
    if (json_out) {
        /* the selected jobs as the controller describes them */
        json_t *arr = json_array(), *o;
        for (size_t r = 0; r < n; r++)
            json_array_append(arr, sel[r]);
        o = json_pack("{s:o}", "jobs", arr);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        free(sel);
        json_decref(expanded);
        ret = 0;
        goto done;
    }

    const char **header = xcalloc(f->count, sizeof(char *));
    char ***rows = xcalloc(n + 1, sizeof(char **));
    for (size_t k = 0; k < f->count; k++)
        header[k] = f->items[k].type ? header_of(f->items[k].type) : NULL;
    for (size_t r = 0; r < n; r++) {
        rows[r] = xcalloc(f->count, sizeof(char *));
        for (size_t k = 0; k < f->count; k++)
            if (f->items[k].type)
                rows[r][k] = job_field(f->items[k].type, sel[r], now);
    }
    if (longfmt && !noheader) {
        char tbuf[64];
        struct tm tm;
        time_t t = time(NULL);
        localtime_r(&t, &tm);
        strftime(tbuf, sizeof(tbuf), "%a %b %d %H:%M:%S %Y", &tm);
        printf("%s\n", tbuf);
    }
    fmt_print_table(stdout, f, noheader ? NULL : header, rows, n);
    for (size_t r = 0; r < n; r++) {
        for (size_t k = 0; k < f->count; k++)
            free(rows[r][k]);
        free(rows[r]);
    }
    free(rows);
    free(header);
    free(sel);
    json_decref(expanded);
    ret = 0;
done:
    json_decref(reply);
    json_decref(body);
    json_decref(job_ids);
    json_decref(id_filters);
    json_decref(user_ids);
    json_decref(states);
    json_decref(parts);
    cli_argv_free(part_list);
    cli_argv_free(name_list);
    free(long_fmt);
    fmt_destroy(f);
    cli_fini();
    return ret;
}
