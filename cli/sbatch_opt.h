/* sbatch_opt.h - sbatch's options, from #SBATCH lines and the command line.
 *
 * sbatch applies the #SBATCH directives of the script first, then its
 * input environment variables, then the command line, so an option given
 * on the command line wins.
 * sbatch_opt_parse() applies one argv vector to the options; main()
 * calls it for the directives, then for the command line.  Pure (no
 * cluster), unit-tested in tests/unit/test_cli_sbatch.c.
 */
#ifndef SL_CLI_SBATCH_OPT_H
#define SL_CLI_SBATCH_OPT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "util/error.h"

struct sbatch_opts {
    char *job_name, *partition, *output, *error, *input, *chdir, *account, *comment, *wrap;
    int nodes;          /* -1 = not given */
    int ntasks;         /* -1 = not given */
    int cpus_per_task;  /* -1 = not given */
    int64_t time_limit; /* seconds; SL_TIME_UNSET = not given */
    uint64_t mem_mb;
    bool mem_set;
    int ntasks_per_node;     /* -1 = not given */
    uint64_t mem_per_cpu_mb; /* 0 = not given */
    int gpus_per_node;       /* --gres=gpu[:type]:N; -1 = not given */
    int gpus_total;          /* -G/--gpus=[type:]N; -1 = not given */
    char *gpu_type;
    bool exclusive;
    char *dependency;
    char *array;        /* --array=0-99%4 */
    int64_t begin;      /* --begin, epoch seconds; 0 = not given */
    bool wait;          /* -W: wait for the job to end, exit with its code */
    bool test_only;     /* --test-only: ask when it would start, submit nothing */
    int requeue;        /* --requeue 1 / --no-requeue 0 / -1 not given */
    char *export_env;   /* --export=ALL|NONE|[ALL,]VAR[=val],... */
    int warn_signal, warn_time; /* --signal=[B:]SIG[@SECS]; warn_signal 0 = not given */
    bool warn_batch;
    int kill_on_invalid_dep; /* -1 not given, 0 no, 1 yes */
    int nice;           /* --nice[=adj]; nice_set says whether given */
    bool nice_set;
    char *constraint, *nodelist, *exclude;
    bool parsable, quiet, hold, help, usage, version;
    int verbose;
};

void sbatch_opts_init(struct sbatch_opts *o);
void sbatch_opts_clear(struct sbatch_opts *o);

/* Apply the options in argv[1..] (argv[0] names the program in getopt's
 * messages).  Stops at the first non-option argument (the script) and
 * returns its index (argc if none).  Returns -1 on a bad option: getopt
 * has printed unknown options itself; a bad value is described in err
 * (err->text empty when getopt already spoke). */
int sbatch_opt_parse(struct sbatch_opts *o, int argc, char **argv, sl_error_t *err);

/* Print the option list of --help (the man pages are made from it): every
 * option sbatch_opt_parse() accepts.  sbatch, salloc and srun share it. */
void sbatch_opt_help(FILE *out);

/* Apply Slurm's input environment variables (SBATCH_ACCOUNT, _ARRAY_INX,
 * _CONSTRAINT, _DEPENDENCY, _ERROR, _EXCLUSIVE, _EXPORT, _GPUS, _GRES,
 * _INPUT, _JOB_NAME, _MEM_PER_CPU, _MEM_PER_NODE, _NO_REQUEUE, _OUTPUT,
 * _PARTITION, _REQUEUE, _SIGNAL, _TIMELIMIT, _WAIT).
 * They rank between #SBATCH directives and the command line.  Returns -1
 * with err naming the variable on a bad value. */
int sbatch_opt_env(struct sbatch_opts *o, sl_error_t *err);

/* Set the job description fields of a submit_job body from the options
 * (resources, limits, I/O, array, dependencies...); sbatch, salloc and
 * srun share it. */
void sbatch_opts_to_body(const struct sbatch_opts *o, json_t *body);

#endif
