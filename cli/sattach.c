/* sattach - attach to a running step: its recent output first, then live
 * output; input goes to its tasks.  The step keeps running when sattach
 * exits.  --forward-port adds port forwards to the step's first node for
 * as long as sattach runs; --forward-only does nothing else. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "forward.h"
#include "proto/stream.h"
#include "session.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: sattach [options] <jobid.stepid>\n\n"
                 "  -l, --label     prepend the task number to each line of output\n"
                 "      --forward-port=[LOCAL:]REMOTE\n"
                 "                  while attached, forward 127.0.0.1:LOCAL on this machine to\n"
                 "                  port REMOTE on the loopback of the step's first node (the\n"
                 "                  batch host for JOBID.batch); LOCAL defaults to REMOTE, 0\n"
                 "                  picks a free port (printed); repeatable; only the job's\n"
                 "                  owner may forward\n"
                 "      --forward-only\n"
                 "                  only forward ports: show no output and read no input (can\n"
                 "                  run in the background); ends when the step ends or on Ctrl-C\n"
                 "  -Q, --quiet     quiet mode (suppress informational messages)\n"
                 "  -h, --help      show this help message\n"
                 "  -V, --version   show the version\n");
}

int main(int argc, char **argv)
{
    struct session_opts so = {0};
    const char *spec = NULL;
    char *end;
    long long job;
    unsigned long step;
    int rc;

    cli_init("sattach");
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "-l") || !strcmp(argv[i], "--label"))
            so.label = true;
        else if (!strcmp(argv[i], "-Q") || !strcmp(argv[i], "--quiet"))
            so.quiet = true;
        else if (!strcmp(argv[i], "--forward-only"))
            so.forward_only = true;
        else if (!strncmp(argv[i], "--forward-port=", 15) || !strcmp(argv[i], "--forward-port")) {
            if (argv[i][14] != '=' && i + 1 >= argc) {
                cli_error("option '--forward-port' requires an argument");
                return 1;
            }
            if (cli_fwd_add(&so.fwd, argv[i][14] == '=' ? argv[i] + 15 : argv[++i]) < 0)
                return 1;
        }
        else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(argv[i], "-V") || !strcmp(argv[i], "--version")) {
            cli_print_version();
            exit(0);
        } else if (argv[i][0] == '-') {
            cli_error("unrecognized option '%s'", argv[i]);
            usage(stderr);
            return 1;
        } else if (spec) {
            cli_error("only one step may be given");
            return 1;
        } else {
            spec = argv[i];
        }
    }
    if (!spec) {
        usage(stderr);
        return 1;
    }
    if (so.forward_only && !so.fwd) {
        cli_error("--forward-only needs at least one --forward-port");
        return 1;
    }
    job = strtoll(spec, &end, 10);
    if (job <= 0 || *end != '.') {
        cli_error("Invalid job step id %s: expected JOBID.STEPID", spec);
        return 1;
    }
    if (!strcmp(end + 1, "batch")) {
        step = SL_STEP_BATCH;
    } else {
        char *e2;
        step = strtoul(end + 1, &e2, 10);
        if (e2 == end + 1 || *e2 || step > 0xffffffffUL) {
            cli_error("Invalid job step id %s: expected JOBID.STEPID", spec);
            return 1;
        }
    }
    rc = step_attach_run(job, (uint32_t)step, &so);
    cli_fwd_destroy(so.fwd);
    cli_fini();
    return rc == SESSION_DETACHED ? 0 : rc < 0 ? 1 : rc; /* SESSION_DETACHED is negative */
}
