/* sbatch.c - submit a batch script to the controller.
 *
 * Input: sbatch [options] [script [args...]], or --wrap=CMD; the script
 * comes from the file named, else from stdin.  Action: apply the
 * script's #SBATCH directives, then the command line (which wins), and
 * send one submit_job request.  Output: "Submitted batch job N", or N
 * alone with --parsable.  Exit 0 on success, 1 on any error.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cliutil.h"
#include "common.h"
#include "sbatch_opt.h"
#include "types.h"
#include "util/xmalloc.h"

extern char **environ;

static void usage(FILE *out)
{
    fprintf(out, "Usage: sbatch [OPTIONS...] executable [args...]\n");
}

static void help(void)
{
    usage(stdout);
    printf("\n"
           "Submit a batch script to the controller.  The script comes from the file\n"
           "named, else from standard input, or is made from --wrap.  Its #SBATCH lines\n"
           "set options; SBATCH_* variables override them, and the command line wins.\n"
           "\n");
    sbatch_opt_help(stdout);
}

/* -W: poll until the job ends; exit with its exit code, as Slurm (1 if it
 * ended without one: cancelled, timed out, node failure). */
static int wait_for_job(long long id)
{
    for (;;) {
        json_t *body = json_pack("{s:[I]}", "job_ids", (json_int_t)id), *reply = NULL;
        sl_error_t err;
        int rc;
        if (cli_request(SL_MSG_QUERY_JOBS, body, &reply, &rc, &err) < 0) {
            json_decref(body);
            if (rc == -1) { /* controller unreachable: keep waiting */
                sleep(2);
                continue;
            }
            cli_error("Job %lld: %s", id, err.text);
            return 1;
        }
        json_decref(body);
        json_t *job = json_array_get(json_object_get(reply, "jobs"), 0);
        int st = job_state_from_name(cli_jstr(job, "state"));
        if (job && job_state_is_final(st) && !cli_jbool(job, "completing")) {
            int code = (int)cli_jint(job, "exit_status", 0);
            int sig = (int)cli_jint(job, "exit_signal", 0);
            json_decref(reply);
            if (st == JOB_COMPLETED)
                return 0;
            return code ? code : (sig ? 128 + sig : 1);
        }
        json_decref(reply);
        usleep(250000);
    }
}

/* The job's environment as --export says: ALL (default) is ours; NONE is
 * none; a list of names and NAME=value pairs gives those only, or adds
 * them to ours after ALL.  SLURM_* variables always travel, as Slurm. */
static json_t *build_env(const char *spec)
{
    json_t *env = json_array();
    bool all = true;
    char **items = spec ? cli_split_list(spec, NULL) : NULL;

    if (items && items[0] && strcasecmp(items[0], "ALL") != 0)
        all = false;
    for (char **e = environ; e && *e; e++) {
        if (!strchr(*e, '='))
            continue;
        bool keep = all || !strncmp(*e, "SLURM_", 6);
        for (char **it = items; !keep && it && *it; it++) {
            size_t l = strlen(*it);
            if (!strchr(*it, '=') && !strncmp(*e, *it, l) && (*e)[l] == '=')
                keep = true;
        }
        if (keep)
            json_array_append_new(env, json_string(*e));
    }
    for (char **it = items; it && *it; it++)
        if (strchr(*it, '='))
            json_array_append_new(env, json_string(*it)); /* later entries win */
    cli_argv_free(items);
    return env;
}

/* Read all of fp; NULL on a read error. */
static char *read_all(FILE *fp, size_t *len)
{
    size_t cap = 4096, n = 0;
    char *buf = xmalloc(cap);
    size_t r;

    while ((r = fread(buf + n, 1, cap - n - 1, fp)) > 0) {
        n += r;
        if (cap - n - 1 == 0)
            buf = xrealloc(buf, cap *= 2);
    }
    if (ferror(fp)) {
        free(buf);
        return NULL;
    }
    buf[n] = '\0';
    *len = n;
    return buf;
}

static char *absolute(const char *path)
{
    char cwd[PATH_MAX];

    if (path[0] == '/')
        return xstrdup(path);
    if (!getcwd(cwd, sizeof(cwd)))
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

static void bad_option(const sl_error_t *err)
{
    if (err->text[0])
        cli_error("%s", err->text);
    fprintf(stderr, "Try \"sbatch --help\" for more information\n");
}

int main(int argc, char **argv)
{
    struct sbatch_opts cl_opts, opts;
    sl_error_t err;
    int script_idx, rc;
    char *script = NULL, *name = NULL, *command = NULL, *work_dir = NULL;
    size_t len = 0;
    char host[256] = "";
    json_t *body, *reply = NULL, *args, *env;

    cli_init("sbatch");
    argv[0] = (char *)cli_prog; /* getopt names the tool as Slurm does */
    sbatch_opts_init(&cl_opts);
    /* First pass over the command line: find the script, honour --help. */
    if ((script_idx = sbatch_opt_parse(&cl_opts, argc, argv, &err)) < 0) {
        bad_option(&err);
        return 1;
    }
    if (cl_opts.help) {
        help();
        exit(0);
    }
    if (cl_opts.usage) {
        usage(stdout);
        exit(0);
    }
    if (cl_opts.version) {
        cli_print_version();
        exit(0);
    }

    sbatch_opts_init(&opts);
    if (cl_opts.wrap) {
        if (script_idx < argc) {
            cli_error("script argument not permitted with --wrap option");
            return 1;
        }
        script = cli_wrap_script(cl_opts.wrap);
        name = xstrdup("wrap");
        command = xstrdup("");
    } else {
        FILE *fp = stdin;
        if (script_idx < argc) {
            if (!(fp = fopen(argv[script_idx], "r"))) {
                cli_error("Unable to open file %s", argv[script_idx]);
                return 1;
            }
        }
        script = read_all(fp, &len);
        if (fp != stdin)
            fclose(fp);
        if (!script) {
            cli_error("Unable to read batch script: %s", strerror(errno));
            return 1;
        }
        if (len == 0) {
            cli_error("Batch script is empty!");
            free(script);
            return 1;
        }
        if (strlen(script) != len) {
            cli_error("The batch script contains a NUL character");
            free(script);
            return 1;
        }
        if (!cli_script_has_shebang(script)) {
            cli_error("This does not look like a batch script.  The first");
            cli_error("line must start with #! followed by the path to an interpreter.");
            cli_error("For instance: #!/bin/sh");
            free(script);
            return 1;
        }
        if (script_idx < argc) {
            const char *base = strrchr(argv[script_idx], '/');
            name = xstrdup(base ? base + 1 : argv[script_idx]);
            command = absolute(argv[script_idx]);
        } else {
            name = xstrdup("sbatch");
            command = xstrdup("");
        }
        /* #SBATCH directives first... */
        char **dargv;
        int dargc = cli_sbatch_directives(script, "sbatch", &dargv, &err);
        if (dargc < 0) {
            cli_error("Invalid #SBATCH directive: %s", err.text);
            return 1;
        }
        int end = sbatch_opt_parse(&opts, dargc, dargv, &err);
        if (end < 0 || end < dargc) {
            if (end >= 0)
                cli_error("Invalid directive found in batch script: %s", dargv[end]);
            else if (err.text[0])
                cli_error("%s (in a #SBATCH directive)", err.text);
            else
                cli_error("Invalid option in the #SBATCH directives of the batch script");
            cli_argv_free(dargv);
            return 1;
        }
        cli_argv_free(dargv);
    }
    /* ...then the input environment variables... */
    if (sbatch_opt_env(&opts, &err) < 0) {
        cli_error("%s", err.text);
        return 1;
    }
    /* ...then the command line, which overrides them all. */
    if (sbatch_opt_parse(&opts, argc, argv, &err) < 0) {
        bad_option(&err);
        return 1;
    }
    if (opts.job_name)
        free(name), name = xstrdup(opts.job_name);
    {
        /* the job starts in -D or here; send it resolved, as Slurm does */
        char resolved[PATH_MAX];
        const char *dir = opts.chdir ? opts.chdir : ".";
        work_dir = realpath(dir, resolved) ? xstrdup(resolved) : absolute(dir);
    }
    gethostname(host, sizeof(host) - 1);

    body = json_object();
    json_object_set_new(body, "script", json_string(script));
    args = json_array();
    for (int i = script_idx + 1; i < argc && !opts.wrap; i++)
        json_array_append_new(args, json_string(argv[i]));
    json_object_set_new(body, "argv", args);
    json_object_set_new(body, "name", json_string(name));
    env = build_env(opts.export_env);
    json_object_set_new(body, "env", env);
    json_object_set_new(body, "work_dir", json_string(work_dir));
    sbatch_opts_to_body(&opts, body);
    json_object_set_new(body, "submit_host", json_string(host));
    json_object_set_new(body, "account", json_string(opts.account ? opts.account : ""));
    json_object_set_new(body, "comment", json_string(opts.comment ? opts.comment : ""));
    json_object_set_new(body, "command", json_string(command));
    if (opts.hold)
        json_object_set_new(body, "hold", json_true());
    if (opts.test_only)
        json_object_set_new(body, "test_only", json_true());
    if (opts.requeue >= 0)
        json_object_set_new(body, "requeue", json_boolean(opts.requeue));

    int ret = 1;
    if (cli_request(SL_MSG_SUBMIT_JOB, body, &reply, &rc, &err) < 0) {
        cli_error("Batch job submission failed: %s", err.text);
    } else {
        long long id = cli_jint(reply, "job_id", -1);
        if (opts.test_only) {
            /* Slurm's wording; the id is the one the job would get */
            char tbuf[64];
            long long when = cli_jint(reply, "start_time", 0);
            if (when > 0)
                fprintf(stderr, "sbatch: Job %lld to start at %s using %lld processors on nodes %s "
                                "in partition %s\n",
                        id, cli_iso_time(when, "", tbuf, sizeof(tbuf)), cli_jint(reply, "cpus", 0),
                        cli_jstr(reply, "nodes"), cli_jstr(reply, "partition"));
            else
                fprintf(stderr, "sbatch: Job %lld cannot be scheduled now (no estimate) in "
                                "partition %s\n",
                        id, cli_jstr(reply, "partition"));
            ret = 0;
        } else if (id < 0) {
            cli_error("Batch job submission failed: reply carries no job id");
        } else {
            if (opts.parsable)
                printf("%lld\n", id);
            else if (!opts.quiet)
                printf("Submitted batch job %lld\n", id);
            fflush(stdout);
            ret = opts.wait ? wait_for_job(id) : 0;
        }
    }
    json_decref(reply);
    json_decref(body);
    free(script);
    free(name);
    free(command);
    free(work_dir);
    sbatch_opts_clear(&opts);
    sbatch_opts_clear(&cl_opts);
    cli_fini();
    return ret;
}
