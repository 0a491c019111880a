/* session.h - what salloc, srun and sattach share: allocations, and the
 * client end of a step's I/O stream.
 *
 * An allocation is a job submitted with "interactive": true and no
 * script; the tool waits for it to run, uses it, and releases it.  A
 * step is created by the ctld (step_create), which answers with one
 * credential per node; the tool then talks to each node daemon directly
 * (step_launch, or step_connect to reattach) and relays the terminal or
 * stdio in the frames of lib/proto/stream.h until every node reports the
 * step's end.
 */
#ifndef SL_CLI_SESSION_H
#define SL_CLI_SESSION_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "sbatch_opt.h"

#define SESSION_DETACHED (-2) /* the client left; the step runs on */

struct cli_fwd;

struct session_opts {
    bool label; /* -l: prefix output lines with the task number */
    bool quiet;
    struct cli_fwd *fwd; /* --forward-port listeners (forward.h), NULL if none */
    bool forward_only;   /* sattach --forward-only: no output, no input */
};

/* Submit an allocation and wait until it runs, printing Slurm's
 * messages ("Pending job allocation N", "Granted job allocation N").
 * Returns the job id, or -1 (error printed). */
long long alloc_create(const struct sbatch_opts *o, const char *name, const char *command,
                       bool salloc_style);
/* The allocation's SLURM_* environment ("K=V" strings), NULL on error. */
json_t *alloc_env(long long job_id);
/* The job's current state name ("RUNNING", ...) and, if idle_warned is
 * not NULL, when its idle warning went out; NULL if it cannot be read. */
char *alloc_state(long long job_id, long long *idle_warned);
void alloc_release(long long job_id, int exit_code, int sig);

/* Create a step in job_id (body: ntasks, nodes, ntasks_per_node, pty,
 * name) and run argv in it.  Returns the step's exit code (the worst
 * task's; 128+N for a signal), SESSION_DETACHED, or -1 (error printed). */
int step_run(long long job_id, json_t *create, char **argv, const struct session_opts *so);
/* Reattach to a running step; as step_run. */
int step_attach_run(long long job_id, uint32_t step_id, const struct session_opts *so);

#endif
