/* scancel.c - cancel or signal jobs.
 *
 * Input: job ids and/or -u USER; -s SIG sends a signal instead of
 * cancelling.  Action: one cancel_job request; the reply holds one
 * result per job.  Output: nothing on success; "scancel: error: Kill job
 * error on job id N: <reason>" per failed job.  Exit 1 if any failed.
 */
#include "config.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cliutil.h"
#include "common.h"
#include "types.h"
#include "proto/errors.h"

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: scancel [--batch] [-n job_name] [-p partition] [-Q] [-s signal | integer]\n"
            "               [-t PENDING | RUNNING | SUSPENDED] [--usage] [-u user_name]\n"
            "               [-V] [-v] [job_id[_array_id][.step_id]...]\n");
}

static void help(void)
{
    printf("Usage: scancel [OPTIONS] [job_id[_array_id][.step_id]...]\n"
           "Cancel jobs, array tasks (123_4, 123_[1-5]) or job steps, or send them a\n"
           "signal.  Without job IDs, the filters (-n, -p, -t, -u) select the jobs.\n"
           "\n"
           "Options:\n"
           "  -b, --batch                     signal batch shell for specified job\n"
           "  -n, --name=job_name, --jobname=job_name\n"
           "                                  act only on jobs with this name\n"
           "  -p, --partition=partition       act only on jobs in this partition\n"
           "  -Q, --quiet                     disable warnings\n"
           "  -s, --signal=name | integer     signal to send to job, default is SIGKILL\n"
           "  -t, --state=state               act only on jobs in this state (PENDING,\n"
           "                                  RUNNING, SUSPENDED)\n"
           "  -u, --user=user_name            act only on jobs of this user\n"
           "  -v, --verbose                   verbosity level\n"
           "  -V, --version                   output version information and exit\n"
           "\n"
           "Help options:\n"
           "      --help                      show this help message\n"
           "      --usage                     display brief usage message\n");
}

enum { OPT_HELP = 0x100, OPT_USAGE };

static const struct option long_opts[] = {
    {"batch", no_argument, NULL, 'b'},
    {"name", required_argument, NULL, 'n'},
    {"jobname", required_argument, NULL, 'n'},
    {"partition", required_argument, NULL, 'p'},
    {"state", required_argument, NULL, 't'},
    {"quiet", no_argument, NULL, 'Q'},
    {"signal", required_argument, NULL, 's'},
    {"user", required_argument, NULL, 'u'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"help", no_argument, NULL, OPT_HELP},
    {"usage", no_argument, NULL, OPT_USAGE},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    bool batch = false, quiet = false, have_user = false;
    int verbose = 0, sig = 0, c, rc, ret = 0;
    uid_t uid = 0;
    sl_error_t err;
    json_t *ids = json_array(), *body, *reply = NULL;

    cli_init("scancel");
    argv[0] = (char *)cli_prog; /* getopt names the tool as Slurm does */
    const char *f_name = NULL, *f_part = NULL;
    int f_state = -1;
    while ((c = getopt_long(argc, argv, "bn:p:Qs:t:u:vV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'n':
            f_name = optarg;
            break;
        case 'p':
            f_part = optarg;
            break;
        case 't':
            if ((f_state = job_state_from_name(optarg)) < 0) {
                cli_error("Invalid job state specified: %s", optarg);
                return 1;
            }
            break;
        case 'b':
            batch = true;
            break;
        case 'Q':
            quiet = true;
            break;
        case 's':
            if ((sig = cli_parse_signal(optarg)) < 0) {
                cli_error("Invalid job signal: %s", optarg);
                return 1;
            }
            break;
        case 'u':
            if (cli_user_to_uid(optarg, &uid) < 0) {
                cli_error("Invalid user name: %s", optarg);
                return 1;
            }
            have_user = true;
            break;
        case 'v':
            verbose++;
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
            fprintf(stderr, "Try \"scancel --help\" for more information\n");
            return 1;
        }
    }
    json_t *array_tasks = json_array();
    for (int i = optind; i < argc; i++) {
        char *tasks = NULL;
        long id = cli_parse_array_jobid(argv[i], &tasks);
        if (id < 0) {
            cli_error("Invalid job id %s", argv[i]);
            json_decref(array_tasks);
            return 1;
        }
        if (tasks) /* 123_4, 123_[1-5]: those tasks of array 123 */
            json_array_append_new(array_tasks, json_pack("{s:I, s:s}", "job_id", (json_int_t)id,
                                                         "tasks", tasks));
        else
            json_array_append_new(ids, json_integer(id));
        free(tasks);
    }
    if (f_name || f_part || f_state >= 0) {
        /* -n/-p/-t: pick the matching jobs (of -u's user, among the ids given) */
        json_t *q = json_object(), *qr = NULL, *j, *picked = json_array();
        size_t i;
        if (json_array_size(ids))
            json_object_set(q, "job_ids", ids);
        if (have_user)
            json_object_set_new(q, "user_ids", json_pack("[I]", (json_int_t)uid));
        if (cli_request(SL_MSG_QUERY_JOBS, q, &qr, &rc, &err) < 0 && rc != SL_E_INVALID_JOB_ID) {
            cli_error("%s", err.text);
            return 1;
        }
        json_array_foreach(json_object_get(qr, "jobs"), i, j)
        {
            int st = job_state_from_name(cli_jstr(j, "state"));
            if (job_state_is_final(st) || (f_state >= 0 && st != f_state) ||
                (f_name && strcmp(cli_jstr(j, "name"), f_name)) ||
                (f_part && strcmp(cli_jstr(j, "partition"), f_part)))
                continue;
            json_array_append_new(picked, json_integer(cli_jint(j, "job_id", 0)));
        }
        json_decref(q);
        json_decref(qr);
        json_decref(ids);
        ids = picked;
        have_user = false; /* the picked ids are the whole selection */
        if (!json_array_size(ids)) {
            json_decref(array_tasks);
            json_decref(ids);
            cli_fini();
            return 0; /* nothing matched: nothing to do, as Slurm */
        }
    }
    if (!json_array_size(ids) && !json_array_size(array_tasks) && !have_user) {
        json_decref(array_tasks);
        cli_error("No job identification provided");
        return 1;
    }

    body = json_object();
    json_object_set(body, "job_ids", ids);
    if (json_array_size(array_tasks))
        json_object_set(body, "array_tasks", array_tasks);
    json_decref(array_tasks);
    if (have_user)
        json_object_set_new(body, "user_id", json_integer(uid));
    if (sig)
        json_object_set_new(body, "signal", json_integer(sig));
    if (batch)
        json_object_set_new(body, "batch", json_true());
    if (verbose) {
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
            if (sig)
                cli_verbose("Signal %d to job %lld", sig, (long long)json_integer_value(v));
            else
                cli_verbose("Terminating job %lld", (long long)json_integer_value(v));
        }
    }
    if (cli_request(SL_MSG_CANCEL_JOB, body, &reply, &rc, &err) < 0) {
        size_t i;
        json_t *v;
        json_array_foreach(ids, i, v)
        {
            cli_error("Kill job error on job id %lld: %s", (long long)json_integer_value(v),
                      err.text);
        }
        if (!json_array_size(ids))
            cli_error("%s", err.text);
        ret = 1;
    } else {
        size_t i;
        json_t *res;
        json_array_foreach(json_object_get(reply, "results"), i, res)
        {
            int jrc = cli_jint(res, "rc", 0);
            if (jrc == 0)
                continue;
            /* Cancelling a job that already ended is not an error. */
            if (jrc == SL_E_ALREADY_DONE && !sig)
                continue;
            ret = 1;
            if (!quiet) {
                const char *text = cli_jstr(res, "error");
                cli_error("Kill job error on job id %lld: %s", cli_jint(res, "job_id", 0),
                          *text ? text : sl_strerror(jrc));
            }
        }
    }
    json_decref(reply);
    json_decref(body);
    json_decref(ids);
    cli_fini();
    return ret;
}
