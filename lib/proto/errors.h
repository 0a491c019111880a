/* errors.h - result codes carried in replies, with Slurm's wording.
 *
 * A reply's "rc" is 0 or one of these; its "error" is the text from
 * sl_strerror(), optionally followed by ": detail".  Tools print the
 * text the way Slurm's tools print theirs, so scripts matching Slurm's
 * messages keep working.
 */
#ifndef SL_ERRORS_H
#define SL_ERRORS_H

enum sl_errcode {
    SL_OK = 0,
    SL_E_GENERIC = 1000,        /* "Unspecified error" */
    SL_E_PROTOCOL,              /* "Invalid message" (malformed, oversized) */
    SL_E_PROTOCOL_VERSION,      /* "Protocol version has changed, re-link your code" */
    SL_E_UNKNOWN_TYPE,          /* "Unknown message type" */
    SL_E_AUTH,                  /* "Invalid authentication credential" */
    SL_E_ACCESS_DENIED,         /* "Access/permission denied" */
    SL_E_INVALID_JOB_ID,        /* "Invalid job id specified" */
    SL_E_INVALID_PARTITION,     /* "Invalid partition name specified" */
    SL_E_NODE_CONFIG_UNAVAIL,   /* "Requested node configuration is not available" */
    SL_E_INVALID_TIME_LIMIT,    /* "Requested time limit is invalid (missing or exceeds some limit)" */
    SL_E_ALREADY_DONE,          /* "Job/step already completing or completed" */
    SL_E_INVALID_NODE_NAME,     /* "Invalid node name specified" */
    SL_E_INVALID_NODE_COUNT,    /* "Node count specification invalid" */
    SL_E_NO_DEFAULT_PARTITION,  /* "No partition specified or system default partition" */
    SL_E_INVALID_ARGUMENT,      /* "Invalid argument" (names the field in the detail) */
    SL_E_DB,                    /* "Unable to save state" (SQLite failure; nothing changed) */
    SL_E_BUSY,                  /* "Controller busy, try again" */
    SL_E_JOB_PENDING,           /* "Job is pending execution" */
    SL_E_SIGNAL_FAILED,         /* "Unable to signal job" */
    SL_E_TRANSITION_STATE_NO_UPDATE, /* "Job can not be altered now, try again later" */
    SL_E_JOB_NOT_PENDING,       /* "Job is no longer pending execution" */
    SL_E_DEPENDENCY,            /* "Job dependency problem" */
    SL_E_BAD_ARRAY,             /* "Invalid job array specification" */
    SL_E_DISABLED,              /* "Requested operation is presently disabled" */
    SL_E_INVALID_ACCOUNT,       /* "Invalid account or account/partition combination specified" */
    SL_E_INVALID_STEP,          /* "Invalid job step id specified" */
    SL_E_INVALID_CRED,          /* "Invalid job credential" (forged, expired, another's) */
    SL_E_ACCOUNTING_POLICY,     /* "Job violates accounting/QOS policy (job submit limit, user's
                                   size and/or time limits)" (max_submit_jobs) */
    SL_E_QUEUE_FULL,            /* "Unable to create job record, try again" (max_job_count);
                                   sbatch sleeps and retries, as Slurm's */
    SL_E_PATHNAME_TOO_LONG,     /* "Pathname of a file, directory or other parameter too long"
                                   (max_script_size) */
    SL_E_COUNT_END
};

const char *sl_strerror(int rc);

#endif
