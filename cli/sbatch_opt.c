/* sbatch_opt.c - sbatch option parsing; see sbatch_opt.h. */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "conf/conf.h"
#include "cliutil.h"
#include "sbatch_opt.h"
#include "util/parse.h"
#include "util/xmalloc.h"

enum {
    OPT_MEM = 0x100,
    OPT_COMMENT,
    OPT_PARSABLE,
    OPT_WRAP,
    OPT_USAGE,
    OPT_NTASKS_PER_NODE,
    OPT_MEM_PER_CPU,
    OPT_GRES,
    OPT_EXCLUSIVE,
    OPT_NICE,
    OPT_KILL_INV_DEP,
    OPT_SIGNAL,
    OPT_BEGIN,
    OPT_EXPORT,
    OPT_TEST_ONLY,
    OPT_REQUEUE,
    OPT_NO_REQUEUE,
};

static const struct option long_opts[] = {
    {"account", required_argument, NULL, 'A'},
    {"cpus-per-task", required_argument, NULL, 'c'},
    {"chdir", required_argument, NULL, 'D'},
    {"error", required_argument, NULL, 'e'},
    {"hold", no_argument, NULL, 'H'},
    {"input", required_argument, NULL, 'i'},
    {"job-name", required_argument, NULL, 'J'},
    {"nodes", required_argument, NULL, 'N'},
    {"ntasks", required_argument, NULL, 'n'},
    {"output", required_argument, NULL, 'o'},
    {"partition", required_argument, NULL, 'p'},
    {"quiet", no_argument, NULL, 'Q'},
    {"time", required_argument, NULL, 't'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, 'h'},
    {"usage", no_argument, NULL, OPT_USAGE},
    {"mem", required_argument, NULL, OPT_MEM},
    {"comment", required_argument, NULL, OPT_COMMENT},
    {"parsable", no_argument, NULL, OPT_PARSABLE},
    {"wrap", required_argument, NULL, OPT_WRAP},
    {"ntasks-per-node", required_argument, NULL, OPT_NTASKS_PER_NODE},
    {"mem-per-cpu", required_argument, NULL, OPT_MEM_PER_CPU},
    {"gres", required_argument, NULL, OPT_GRES},
    {"gpus", required_argument, NULL, 'G'},
    {"exclusive", optional_argument, NULL, OPT_EXCLUSIVE},
    {"nice", optional_argument, NULL, OPT_NICE},
    {"dependency", required_argument, NULL, 'd'},
    {"array", required_argument, NULL, 'a'},
    {"begin", required_argument, NULL, OPT_BEGIN},
    {"wait", no_argument, NULL, 'W'},
    {"export", required_argument, NULL, OPT_EXPORT},
    {"test-only", no_argument, NULL, OPT_TEST_ONLY},
    {"requeue", no_argument, NULL, OPT_REQUEUE},
    {"no-requeue", no_argument, NULL, OPT_NO_REQUEUE},
    {"kill-on-invalid-dep", required_argument, NULL, OPT_KILL_INV_DEP},
    {"signal", required_argument, NULL, OPT_SIGNAL},
    {"constraint", required_argument, NULL, 'C'},
    {"nodelist", required_argument, NULL, 'w'},
    {"exclude", required_argument, NULL, 'x'},
    {NULL, 0, NULL, 0},
};

void sbatch_opts_init(struct sbatch_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->nodes = o->ntasks = o->cpus_per_task = -1;
    o->ntasks_per_node = o->gpus_per_node = o->gpus_total = -1;
    o->kill_on_invalid_dep = -1;
    o->requeue = -1;
    o->time_limit = SL_TIME_UNSET;
}

void sbatch_opts_clear(struct sbatch_opts *o)
{
    free(o->job_name);
    free(o->partition);
    free(o->output);
    free(o->error);
    free(o->input);
    free(o->chdir);
    free(o->account);
    free(o->comment);
    free(o->wrap);
    free(o->gpu_type);
    free(o->constraint);
    free(o->nodelist);
    free(o->exclude);
    free(o->dependency);
    free(o->array);
    free(o->export_env);
    sbatch_opts_init(o);
}

static void set_str(char **dst, const char *v)
{
    free(*dst);
    *dst = xstrdup(v);
}

static int parse_count(const char *s, const char *what, int *out, sl_error_t *err)
{
    char *end;

    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < 1 || v > 1000000)
        return errprintf(err, "Invalid numeric value \"%s\" for %s.", s, what);
    *out = (int)v;
    return 0;
}

/* -N takes N or MIN-MAX; the minimum is what we schedule on. */
static int parse_nodes(const char *s, int *out, sl_error_t *err)
{
    char *end;

    errno = 0;
    long lo = strtol(s, &end, 10);
    if (errno || end == s || lo < 1 || lo > 1000000)
        goto bad;
    if (*end == '-') {
        const char *hs = end + 1;
        long hi = strtol(hs, &end, 10);
        if (end == hs || hi < lo)
            goto bad;
    }
    if (*end)
        goto bad;
    *out = (int)lo;
    return 0;
bad:
    return errprintf(err, "Invalid node count specification for --nodes: \"%s\"", s);
}

/* "[gpu:][TYPE:]N" -> count and type; `gres` says whether the gpu: prefix
 * is required (--gres) or optional (--gpus). */
static int parse_gpu_spec(const char *s, bool gres, int *count, char **type, sl_error_t *err)
{
    const char *what = gres ? "--gres" : "--gpus";
    char *copy = xstrdup(s), *p = copy, *last;
    long n = 1;

    if (!strncmp(p, "gpu", 3) && (p[3] == ':' || p[3] == '\0'))
        p += p[3] ? 4 : 3;
    else if (gres)
        goto bad;
    if (*p) {
        last = strrchr(p, ':');
        const char *num = last ? last + 1 : p;
        char *end;
        errno = 0;
        n = strtol(num, &end, 10);
        if (errno || end == num || *end || n < 0 || n > 64) {
            if (last || gres || !*num)
                goto bad;
            n = 1; /* --gpus=TYPE is not Slurm syntax, refuse below */
            goto bad;
        }
        if (last) {
            *last = '\0';
            if (!*p)
                goto bad;
            free(*type);
            *type = xstrdup(p);
        }
    } else if (!gres) {
        goto bad;
    }
    *count = (int)n;
    free(copy);
    return 0;
bad:
    free(copy);
    return errprintf(err, "Invalid generic resource (gres) specification for %s: \"%s\"", what,
                     s);
}

int sbatch_opt_parse(struct sbatch_opts *o, int argc, char **argv, sl_error_t *err)
{
    int c;
    sl_error_t e;

    if (err)
        err->text[0] = '\0';
    optind = 0; /* full re-initialisation: we parse several vectors */
    while ((c = getopt_long(argc, argv, "+a:A:c:C:d:D:e:G:Hi:J:N:n:o:p:Qt:vVhWw:x:", long_opts, NULL)) != -1) {
        switch (c) {
        case 'A':
            set_str(&o->account, optarg);
            break;
        case 'c':
            if (parse_count(optarg, "--cpus-per-task", &o->cpus_per_task, err) < 0)
                return -1;
            break;
        case 'D':
            set_str(&o->chdir, optarg);
            break;
        case 'e':
            set_str(&o->error, optarg);
            break;
        case 'H':
            o->hold = true;
            break;
        case 'i':
            set_str(&o->input, optarg);
            break;
        case 'J':
            set_str(&o->job_name, optarg);
            break;
        case 'N':
            if (parse_nodes(optarg, &o->nodes, err) < 0)
                return -1;
            break;
        case 'n':
            if (parse_count(optarg, "--ntasks", &o->ntasks, err) < 0)
                return -1;
            break;
        case 'o':
            set_str(&o->output, optarg);
            break;
        case 'p':
            set_str(&o->partition, optarg);
            break;
        case 'Q':
            o->quiet = true;
            break;
        case 't':
            if (parse_time_limit(optarg, &o->time_limit, &e) < 0)
                return errprintf(err, "Invalid time limit specification for --time: %s", e.text);
            break;
        case 'v':
            o->verbose++;
            break;
        case 'V':
            o->version = true;
            break;
        case 'h':
            o->help = true;
            break;
        case OPT_USAGE:
            o->usage = true;
            break;
        case OPT_MEM:
            if (parse_size_mb(optarg, &o->mem_mb, &e) < 0)
                return errprintf(err, "Invalid memory specification for --mem: %s", e.text);
            o->mem_set = true;
            break;
        case OPT_COMMENT:
            set_str(&o->comment, optarg);
            break;
        case OPT_PARSABLE:
            o->parsable = true;
            break;
        case OPT_WRAP:
            set_str(&o->wrap, optarg);
            break;
        case OPT_NTASKS_PER_NODE:
            if (parse_count(optarg, "--ntasks-per-node", &o->ntasks_per_node, err) < 0)
                return -1;
            break;
        case OPT_MEM_PER_CPU:
            if (parse_size_mb(optarg, &o->mem_per_cpu_mb, &e) < 0 || o->mem_per_cpu_mb == 0)
                return errprintf(err, "Invalid memory specification for --mem-per-cpu: %s",
                                 optarg);
            break;
        case OPT_GRES:
            if (parse_gpu_spec(optarg, true, &o->gpus_per_node, &o->gpu_type, err) < 0)
                return -1;
            break;
        case 'G':
            if (parse_gpu_spec(optarg, false, &o->gpus_total, &o->gpu_type, err) < 0)
                return -1;
            break;
        case OPT_EXCLUSIVE:
            o->exclusive = true;
            break;
        case OPT_NICE: {
            long v = 100; /* Slurm's default adjustment */
            if (optarg) {
                char *end;
                errno = 0;
                v = strtol(optarg, &end, 10);
                if (errno || end == optarg || *end || v < -2147483645 || v > 2147483645)
                    return errprintf(err, "Invalid --nice value: %s", optarg);
            }
            o->nice = (int)v;
            o->nice_set = true;
            break;
        }
        case 'C':
            set_str(&o->constraint, optarg);
            break;
        case 'd':
            set_str(&o->dependency, optarg);
            break;
        case 'a':
            set_str(&o->array, optarg);
            break;
        case OPT_BEGIN: {
            time_t t = cli_parse_when(optarg);
            if (t < 0)
                return errprintf(err, "Invalid time specification for --begin: %s", optarg);
            o->begin = t;
            break;
        }
        case 'W':
            o->wait = true;
            break;
        case OPT_REQUEUE:
        case OPT_NO_REQUEUE:
            o->requeue = (c == OPT_REQUEUE);
            break;
        case OPT_TEST_ONLY:
            o->test_only = true;
            break;
        case OPT_EXPORT:
            set_str(&o->export_env, optarg);
            break;
        case OPT_SIGNAL: {
            /* [{R|B}:]SIG[@SECS]: SIG SECS seconds before the time limit (default 60) */
            const char *p = optarg;
            char name[32];
            o->warn_batch = false;
            if ((p[0] == 'B' || p[0] == 'R') && p[1] == ':') {
                o->warn_batch = (p[0] == 'B');
                p += 2;
            }
            size_t nl = strcspn(p, "@");
            long secs = 60;
            if (nl == 0 || nl >= sizeof(name))
                return errprintf(err, "Invalid --signal specification: %s", optarg);
            memcpy(name, p, nl);
            name[nl] = 0;
            int sig = cli_parse_signal(name);
            if (p[nl] == '@') {
                char *end;
                errno = 0;
                secs = strtol(p + nl + 1, &end, 10);
                if (errno || end == p + nl + 1 || *end || secs < 0 || secs > 65535)
                    return errprintf(err, "Invalid --signal specification: %s", optarg);
            }
            if (sig <= 0)
                return errprintf(err, "Invalid --signal specification: %s", optarg);
            o->warn_signal = sig;
            o->warn_time = (int)secs;
            break;
        }
        case OPT_KILL_INV_DEP:
            if (!strcasecmp(optarg, "yes"))
                o->kill_on_invalid_dep = 1;
            else if (!strcasecmp(optarg, "no"))
                o->kill_on_invalid_dep = 0;
            else
                return errprintf(err, "Invalid --kill-on-invalid-dep value: %s (yes or no)",
                                 optarg);
            break;
        case 'w':
            set_str(&o->nodelist, optarg);
            break;
        case 'x':
            set_str(&o->exclude, optarg);
            break;
        default: /* getopt printed the problem */
            return -1;
        }
    }
    return optind;
}

void sbatch_opt_help(FILE *out)
{
    fputs("Options:\n"
          "  -a, --array=indexes         submit a job array: 0-99, 1,3,5, 0-15:4, with %N\n"
          "                              running at most N tasks at once (0-99%4)\n"
          "  -A, --account=name          charge the job to this account\n"
          "      --begin=time            defer the job until this time (HH:MM[:SS],\n"
          "                              YYYY-MM-DD[THH:MM[:SS]], now+N[units], today,\n"
          "                              tomorrow, noon)\n"
          "  -c, --cpus-per-task=ncpus   number of CPUs required per task\n"
          "  -C, --constraint=list       node features the job needs: a&b or a,b (all of\n"
          "                              them), a|b (any of them)\n"
          "      --comment=text          arbitrary comment\n"
          "  -d, --dependency=list       defer the job until conditions on other jobs hold:\n"
          "                              after, afterany, afterok or afternotok followed by\n"
          "                              :JOBID[:JOBID...], or singleton; joined by , (all)\n"
          "                              or ? (any)\n"
          "  -D, --chdir=directory       working directory of the job\n"
          "  -e, --error=file            file for the job's standard error\n"
          "                              (%j %x %u %N %n %t %A %a %% are replaced)\n"
          "      --exclusive             allocate whole nodes, shared with no other job\n"
          "      --export=ALL|NONE|vars  environment variables to export to the job\n"
          "                              ([ALL,]NAME[=value],...; default ALL)\n"
          "  -G, --gpus=[type:]n         total number of GPUs required by the job\n"
          "      --gres=list             generic resources per node (gpu[:type]:count)\n"
          "  -H, --hold                  submit the job in a held state\n"
          "  -i, --input=file            file for the job's standard input\n"
          "  -J, --job-name=name         name of the job\n"
          "      --kill-on-invalid-dep=yes|no\n"
          "                              end the job if its dependency can never be met\n"
          "      --mem=size              memory per node (K, M, G, T suffixes; default M)\n"
          "      --mem-per-cpu=size      memory per allocated CPU\n"
          "  -n, --ntasks=ntasks         number of tasks to run\n"
          "      --ntasks-per-node=n     number of tasks to invoke on each node\n"
          "  -N, --nodes=N               number of nodes on which to run (N = min[-max])\n"
          "      --nice[=value]          lower the job's priority by value (default 100)\n"
          "  -o, --output=file           file for the job's standard output\n"
          "                              (default slurm-%j.out, slurm-%A_%a.out for arrays)\n"
          "  -p, --partition=partition   partition requested\n"
          "      --requeue               if the node fails, run the job again (default)\n"
          "      --no-requeue            if the node fails, do not run the job again\n"
          "      --signal=[B:]sig[@time] send signal sig (name or number) time seconds\n"
          "                              (default 60) before the time limit; B: to the\n"
          "                              batch shell only\n"
          "  -t, --time=time             time limit: minutes, MM:SS, HH:MM:SS,\n"
          "                              D-HH[:MM[:SS]] or UNLIMITED\n"
          "  -w, --nodelist=hosts        request a specific list of hosts (a hostlist)\n"
          "  -x, --exclude=hosts         exclude a specific list of hosts\n"
          "\n"
          "Batch submission options:\n"
          "      --parsable              print only the job ID\n"
          "      --test-only             validate the job and estimate its start;\n"
          "                              submit nothing\n"
          "  -W, --wait                  wait for the job to end; exit with its exit code\n"
          "      --wrap=command          submit command, wrapped in a sh script\n"
          "\n"
          "Other options:\n"
          "  -Q, --quiet                 quiet mode (suppress informational messages)\n"
          "  -v, --verbose               verbose mode (multiple -v's increase verbosity)\n"
          "  -h, --help                  show this help message\n"
          "      --usage                 display brief usage message\n"
          "  -V, --version               output version information and exit\n",
          out);
}

int sbatch_opt_env(struct sbatch_opts *o, sl_error_t *err)
{
    /* Slurm's input environment variables; `flag` ones take no value and
     * apply when set to anything but "0"/"no". */
    static const struct {
        const char *var, *opt;
        bool flag;
    } vars[] = {
        {"SBATCH_ACCOUNT", "--account", false},     {"SBATCH_ARRAY_INX", "--array", false},
        {"SBATCH_CONSTRAINT", "--constraint", false}, {"SBATCH_DEPENDENCY", "--dependency", false},
        {"SBATCH_ERROR", "--error", false},         {"SBATCH_EXCLUSIVE", "--exclusive", true},
        {"SBATCH_EXPORT", "--export", false},       {"SBATCH_GPUS", "--gpus", false},
        {"SBATCH_GRES", "--gres", false},           {"SBATCH_INPUT", "--input", false},
        {"SBATCH_JOB_NAME", "--job-name", false},   {"SBATCH_MEM_PER_CPU", "--mem-per-cpu", false},
        {"SBATCH_MEM_PER_NODE", "--mem", false},    {"SBATCH_NO_REQUEUE", "--no-requeue", true},
        {"SBATCH_OUTPUT", "--output", false},       {"SBATCH_PARTITION", "--partition", false},
        {"SBATCH_REQUEUE", "--requeue", true},      {"SBATCH_SIGNAL", "--signal", false},
        {"SBATCH_TIMELIMIT", "--time", false},      {"SBATCH_WAIT", "--wait", true},
    };

    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
        const char *v = getenv(vars[i].var);
        if (!v || !*v)
            continue;
        if (vars[i].flag && (!strcmp(v, "0") || !strcasecmp(v, "no")))
            continue;
        char *arg = vars[i].flag ? xstrdup(vars[i].opt) : xasprintf("%s=%s", vars[i].opt, v);
        char *argv[] = {"sbatch", arg, NULL};
        sl_error_t e = {""};
        int rc = sbatch_opt_parse(o, 2, argv, &e);
        free(arg);
        if (rc < 0)
            return errprintf(err, "%s: %s", vars[i].var, e.text[0] ? e.text : "invalid value");
    }
    return 0;
}

/* The job description fields these options set (see sbatch_opt.h). */
void sbatch_opts_to_body(const struct sbatch_opts *o, json_t *body)
{
    if (o->partition)
        json_object_set_new(body, "partition", json_string(o->partition));
    json_object_set_new(body, "nodes", json_integer(o->nodes > 0 ? o->nodes : 1));
    if (o->ntasks > 0) /* unset: the controller gives one task per node, as Slurm */
        json_object_set_new(body, "ntasks", json_integer(o->ntasks));
    json_object_set_new(body, "cpus_per_task",
                        json_integer(o->cpus_per_task > 0 ? o->cpus_per_task : 1));
    json_object_set_new(body, "mem_mb", json_integer(o->mem_set ? (json_int_t)o->mem_mb : 0));
    if (o->mem_per_cpu_mb)
        json_object_set_new(body, "mem_per_cpu_mb", json_integer((json_int_t)o->mem_per_cpu_mb));
    if (o->ntasks_per_node > 0)
        json_object_set_new(body, "ntasks_per_node", json_integer(o->ntasks_per_node));
    if (o->gpus_per_node >= 0)
        json_object_set_new(body, "gpus_per_node", json_integer(o->gpus_per_node));
    if (o->gpus_total >= 0)
        json_object_set_new(body, "gpus", json_integer(o->gpus_total));
    if (o->gpu_type)
        json_object_set_new(body, "gpu_type", json_string(o->gpu_type));
    if (o->exclusive)
        json_object_set_new(body, "exclusive", json_true());
    if (o->array) {
        json_object_set_new(body, "array", json_string(o->array));
        if (!o->output) /* Slurm's default for arrays */
            json_object_set_new(body, "stdout", json_string("slurm-%A_%a.out"));
    }
    if (o->dependency)
        json_object_set_new(body, "dependency", json_string(o->dependency));
    if (o->begin)
        json_object_set_new(body, "begin_time", json_integer(o->begin));
    if (o->kill_on_invalid_dep >= 0)
        json_object_set_new(body, "kill_on_invalid_dep", json_boolean(o->kill_on_invalid_dep));
    if (o->warn_signal) {
        json_object_set_new(body, "warn_signal", json_integer(o->warn_signal));
        json_object_set_new(body, "warn_time", json_integer(o->warn_time));
        json_object_set_new(body, "warn_batch", json_boolean(o->warn_batch));
    }
    if (o->nice_set)
        json_object_set_new(body, "nice", json_integer(o->nice));
    if (o->constraint)
        json_object_set_new(body, "constraint", json_string(o->constraint));
    if (o->nodelist)
        json_object_set_new(body, "req_nodes", json_string(o->nodelist));
    if (o->exclude)
        json_object_set_new(body, "exc_nodes", json_string(o->exclude));
    json_object_set_new(body, "time_limit", json_integer(o->time_limit));
    if (o->output)
        json_object_set_new(body, "stdout", json_string(o->output));
    if (o->error)
        json_object_set_new(body, "stderr", json_string(o->error));
    if (o->input)
        json_object_set_new(body, "stdin", json_string(o->input));
}
