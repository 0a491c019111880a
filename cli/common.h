/* common.h - what every Slurm-compatible tool shares.
 *
 * Purpose: load the configuration, talk to the ctld (one client per
 * tool run, created on the first request), print errors the way Slurm's
 * tools do ("sbatch: error: ..."), read reply objects, and map user
 * names to uids.  The pure parts live in format.c, cliutil.c and
 * sbatch_opt.c so they can be unit-tested without a cluster.
 */
#ifndef SL_CLI_COMMON_H
#define SL_CLI_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include <jansson.h>

#include "conf/conf.h"
#include "proto/client.h"
#include "util/error.h"

extern const char *cli_prog;

/* Remember the program name for messages. */
void cli_init(const char *prog);

/* "prog: error: <text>" on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* "prog: <text>" on stderr, for -v. */
void cli_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* "slurmish 0.1.0" on stdout. */
void cli_print_version(void);

/* The configuration ($SLURMISH_CONF or the default file), loaded on first
 * use.  Prints every error and exits 1 if it cannot be loaded. */
const struct sl_conf *cli_conf(void);

/* Send one request to the ctld (connecting on first use).  As
 * sl_client_request(): 0 and *reply, or -1 with *rc and err. */
int cli_request(int type, json_t *body, json_t **reply, int *rc, sl_error_t *err);
/* The same, with the reply's raw data frame (sl_client_request_data). */
int cli_request_data(int type, json_t *body, json_t **reply, struct sl_reply_data *data, int *rc,
                     sl_error_t *err);
/* The next piece of a streamed reply (sl_client_stream_next). */
int cli_stream_next(struct sl_reply_data *piece, sl_error_t *err);

/* Close the connection and free the configuration. */
void cli_fini(void);

/* Reply object accessors: a missing or null member reads as "" / def. */
const char *cli_jstr(const json_t *o, const char *key);
long long cli_jint(const json_t *o, const char *key, long long def);
bool cli_jbool(const json_t *o, const char *key);
/* Join the strings of an array member with sep into buf; "" if none. */
char *cli_jjoin(const json_t *o, const char *key, const char *sep, char *buf, size_t size);

/* A user given by name or number; -1 with errno = ENOENT if unknown. */
int cli_user_to_uid(const char *s, uid_t *uid);

#endif
