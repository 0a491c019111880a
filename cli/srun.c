/* srun - run a parallel step: inside an allocation (SLURM_JOB_ID, or
 * --jobid) it creates a step there; outside one it first allocates, as
 * Slurm's srun does, and releases the allocation when the step ends.
 * Options are sbatch's plus --pty, -l/--label, --jobid, --overlap and
 * --forward-port. */
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "common.h"
#include "forward.h"
#include "sbatch_opt.h"
#include "session.h"
#include "util/xmalloc.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: srun [OPTIONS(0)... [executable(0) [args(0)...]]]\n");
}

static void help(void)
{
    usage(stdout);
    printf("\n"
           "srun runs a step of tasks on the nodes of a job.  Inside an allocation (salloc,\n"
           "a batch job, or --jobid) it uses that job; otherwise it allocates first.\n\n"
           "Step options:\n"
           "      --pty                   run task 0 in a pseudo-terminal (interactive shell)\n"
           "  -l, --label                 prepend the task number to each line of output\n"
           "      --jobid=id              run the step in this running job\n"
           "      --overlap               share the job's resources with other steps (default)\n"
           "  -u, --unbuffered            accepted (output is never buffered)\n"
           "      --mpi=type              accepted for compatibility and ignored\n"
           "      --cpu-bind=type         accepted for compatibility and ignored\n"
           "      --forward-port=[LOCAL:]REMOTE\n"
           "                              forward 127.0.0.1:LOCAL on this machine to port REMOTE\n"
           "                              on the loopback of the step's first node, through the\n"
           "                              session (e.g. a notebook: --forward-port 8888); LOCAL\n"
           "                              defaults to REMOTE, 0 picks a free port (printed);\n"
           "                              repeatable; only the job's owner may forward\n"
           "\n"
           "A step keeps running if srun goes away (SIGHUP, SIGTERM, a lost connection);\n"
           "reattach with sattach JOBID.STEPID.  Outside an allocation, srun takes\n"
           "sbatch's job options for the allocation it makes.\n\n");
    sbatch_opt_help(stdout);
}

int main(int argc, char **argv)
{
    struct sbatch_opts opts;
    struct session_opts so = {0};
    sl_error_t err;
    bool pty = false;
    long long jobid = -1;
    char **av = xcalloc((size_t)argc + 1, sizeof(char *));
    int ac = 0, idx, rc;

    cli_init("srun");
    av[ac++] = (char *)cli_prog;
    /* srun's own options, until the command; the rest are sbatch's */
    int i = 1;
    for (; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-') {
            /* an option's separate value, or the command */
            if (ac > 1 && av[ac - 1][0] == '-' && av[ac - 1][1] != '-' && strlen(av[ac - 1]) == 2 &&
                strchr("ApJNncotDeiwxGdaMS", av[ac - 1][1])) {
                av[ac++] = argv[i];
                continue;
            }
            if (ac > 1 && av[ac - 1][0] == '-' && av[ac - 1][1] == '-' && !strchr(av[ac - 1], '=') &&
                strcmp(av[ac - 1], "--exclusive") && strcmp(av[ac - 1], "--hold") &&
                strcmp(av[ac - 1], "--requeue") && strcmp(av[ac - 1], "--no-requeue") &&
                strcmp(av[ac - 1], "--quiet") && strcmp(av[ac - 1], "--verbose")) {
                av[ac++] = argv[i];
                continue;
            }
            break;
        }
        if (!strcmp(a, "--pty"))
            pty = true;
        else if (!strcmp(a, "-l") || !strcmp(a, "--label"))
            so.label = true;
        else if (!strcmp(a, "--overlap") || !strcmp(a, "-u") || !strcmp(a, "--unbuffered") ||
                 !strncmp(a, "--mpi=", 6) || !strncmp(a, "--cpu-bind=", 11))
            ; /* steps share the allocation; output is never buffered */
        else if (!strncmp(a, "--jobid=", 8) || !strcmp(a, "--jobid")) {
            const char *v = a[7] == '=' ? a + 8 : (i + 1 < argc ? argv[++i] : "");
            jobid = cli_parse_jobid(v);
            if (jobid <= 0) {
                cli_error("Invalid job id: %s", v);
                return 1;
            }
        } else if (!strncmp(a, "--forward-port=", 15) || !strcmp(a, "--forward-port")) {
            if (a[14] != '=' && i + 1 >= argc) {
                cli_error("option '--forward-port' requires an argument");
                return 1;
            }
            /* listen now: a port in use fails before anything is allocated */
            if (cli_fwd_add(&so.fwd, a[14] == '=' ? a + 15 : argv[++i]) < 0)
                return 1;
        } else if (!strcmp(a, "-Q") || !strcmp(a, "--quiet")) {
            so.quiet = true;
        } else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help();
            exit(0);
        } else {
            av[ac++] = argv[i];
        }
    }
    int cmd_at = i;

    sbatch_opts_init(&opts);
    if (ac > 1 && (idx = sbatch_opt_parse(&opts, ac, av, &err)) < ac) {
        if (idx >= 0 || !err.text[0])
            fprintf(stderr, "Try \"srun --help\" for more information\n");
        else
            cli_error("%s", err.text);
        return 1;
    }
    if (opts.version) {
        cli_print_version();
        exit(0);
    }
    if (opts.usage) {
        usage(stdout);
        exit(0);
    }
    if (cmd_at >= argc) {
        fprintf(stderr, "srun: fatal: No command given to execute.\n");
        return 1;
    }
    char **cmd = &argv[cmd_at];

    bool own_alloc = false;
    const char *env_job = getenv("SLURM_JOB_ID");
    if (jobid < 0 && env_job && *env_job)
        jobid = cli_parse_jobid(env_job);
    json_t *create = json_object();
    if (opts.ntasks > 0)
        json_object_set_new(create, "ntasks", json_integer(opts.ntasks));
    if (opts.nodes > 0)
        json_object_set_new(create, "nodes", json_integer(opts.nodes));
    if (opts.ntasks_per_node > 0)
        json_object_set_new(create, "ntasks_per_node", json_integer(opts.ntasks_per_node));
    if (jobid > 0 && opts.ntasks <= 0 && opts.nodes <= 0 && env_job && getenv("SLURM_NTASKS") &&
        !pty) {
        /* inside an allocation, srun's default is the allocation's task count */
        long n = atol(getenv("SLURM_NTASKS"));
        if (n > 0)
            json_object_set_new(create, "ntasks", json_integer(n));
    }
    json_object_set_new(create, "pty", json_boolean(pty));
    char *base = xstrdup(cmd[0]);
    json_object_set_new(create, "name", json_string(basename(base)));
    if (jobid <= 0) {
        jobid = alloc_create(&opts, basename(base), cmd[0], false);
        if (jobid < 0) {
            free(base);
            json_decref(create);
            return 1;
        }
        own_alloc = true;
    }
    free(base);
    rc = step_run(jobid, create, cmd, &so);
    json_decref(create);
    if (own_alloc && rc != SESSION_DETACHED)
        alloc_release(jobid, rc < 0 ? 1 : rc, 0);
    sbatch_opts_clear(&opts);
    cli_fwd_destroy(so.fwd);
    free(av);
    cli_fini();
    if (rc == SESSION_DETACHED)
        return 0;
    return rc < 0 ? 1 : rc;
}
