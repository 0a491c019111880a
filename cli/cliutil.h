/* cliutil.h - pure helpers shared by the Slurm-compatible tools.
 *
 * Nothing here talks to the controller, so all of it is unit-tested
 * (tests/unit/test_cli_util.c): signal names, #SBATCH directive
 * extraction, the --wrap script, Slurm's time and memory spellings,
 * stdio file-name patterns, comma lists.
 */
#ifndef SL_CLI_UTIL_H
#define SL_CLI_UTIL_H

#include <stdbool.h>

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "util/error.h"

/* "TERM", "SIGTERM", "term", "15" -> 15; -1 if not a signal. */
int cli_parse_signal(const char *s);

/* The script sbatch --wrap submits. malloc'd. */
char *cli_wrap_script(const char *cmd);

/* True if script starts with "#!". */
bool cli_script_has_shebang(const char *script);

/* Collect the options of the #SBATCH lines at the top of script, as
 * sbatch does: scanning stops at the first line that is neither blank
 * nor a comment.  Each directive's words (quotes group, "\" escapes; a
 * "#" starting a word begins a comment) are appended to an argv vector
 * whose argv[0] is progname.  Returns argc; *argv_out is NULL-terminated
 * and freed with cli_argv_free().  Returns -1 with err on an unmatched
 * quote. */
int cli_sbatch_directives(const char *script, const char *progname, char ***argv_out,
                          sl_error_t *err);
void cli_argv_free(char **argv);

/* scontrol's duration: "HH:MM:SS" or "D-HH:MM:SS", "UNLIMITED" for < 0. */
char *cli_secs2clock(int64_t secs, char *buf, size_t size);

/* Slurm's timestamp "2026-11-22T14:05:03" (local time), or zero_text
 * when t is 0. */
char *cli_iso_time(time_t t, const char *zero_text, char *buf, size_t size);

/* Memory in MiB as Slurm prints it: "500M", "4G", "0". */
char *cli_mem_str(uint64_t mb, char *buf, size_t size);

/* What the stdio path pattern of a job expands to, as scontrol shows
 * StdOut/StdErr: %j %A job id, %u user, %x job name, %N first node,
 * %% a percent; a relative path is taken relative to work_dir. */
struct cli_job_names {
    long job_id;
    const char *user;
    const char *name;
    const char *node;
    const char *work_dir;
};
char *cli_expand_stdio(const char *pattern, const struct cli_job_names *j);

/* Split "a,b,,c" into a NULL-terminated vector {"a","b","c"}; *n set to
 * the count when n != NULL.  Free with cli_argv_free(). */
char **cli_split_list(const char *s, size_t *n);

/* Parse a job id: positive integer with nothing after it; -1 if not. */
long cli_parse_jobid(const char *s);

/* "123", "123_4", "123_[1-5]": the job (or array) id; *tasks gets a new
 * string of task ids ("4", "1-5") or NULL when none was given.  -1 if bad. */
long cli_parse_array_jobid(const char *s, char **tasks);

/* Slurm's time forms (sbatch --begin, sacct -S/-E): YYYY-MM-DD[THH:MM[:SS]],
 * HH:MM[:SS], now[{+|-}N{seconds,minutes,hours,days,weeks}], today,
 * midnight, noon, tomorrow.  Epoch seconds, or -1 if not understood. */
time_t cli_parse_when(const char *s);

/* The id squeue prints: "123", "123_4", or "123_[5-99%4]" for pending tasks. */
char *cli_job_display_id(const json_t *job);

#endif
