/* errors.c - see errors.h */
#include "proto/errors.h"

const char *sl_strerror(int rc)
{
    switch (rc) {
    case SL_OK: return "Success";
    case SL_E_PROTOCOL: return "Invalid message";
    case SL_E_PROTOCOL_VERSION: return "Protocol version has changed, re-link your code";
    case SL_E_UNKNOWN_TYPE: return "Unknown message type";
    case SL_E_AUTH: return "Invalid authentication credential";
    case SL_E_ACCESS_DENIED: return "Access/permission denied";
    case SL_E_INVALID_JOB_ID: return "Invalid job id specified";
    case SL_E_INVALID_PARTITION: return "Invalid partition name specified";
    case SL_E_NODE_CONFIG_UNAVAIL: return "Requested node configuration is not available";
    case SL_E_INVALID_TIME_LIMIT:
        return "Requested time limit is invalid (missing or exceeds some limit)";
    case SL_E_ALREADY_DONE: return "Job/step already completing or completed";
    case SL_E_INVALID_NODE_NAME: return "Invalid node name specified";
    case SL_E_INVALID_NODE_COUNT: return "Node count specification invalid";
    case SL_E_NO_DEFAULT_PARTITION:
        return "No partition specified or system default partition";
    case SL_E_INVALID_ARGUMENT: return "Invalid argument";
    case SL_E_DB: return "Unable to save state";
    case SL_E_BUSY: return "Controller busy, try again";
    case SL_E_JOB_PENDING: return "Job is pending execution";
    case SL_E_SIGNAL_FAILED: return "Unable to signal job";
    case SL_E_TRANSITION_STATE_NO_UPDATE: return "Job can not be altered now, try again later";
    case SL_E_JOB_NOT_PENDING: return "Job is no longer pending execution";
    case SL_E_DEPENDENCY: return "Job dependency problem";
    case SL_E_BAD_ARRAY: return "Invalid job array specification";
    case SL_E_DISABLED: return "Requested operation is presently disabled";
    case SL_E_INVALID_ACCOUNT: return "Invalid account or account/partition combination specified";
    case SL_E_INVALID_STEP: return "Invalid job step id specified";
    case SL_E_INVALID_CRED: return "Invalid job credential";
    case SL_E_ACCOUNTING_POLICY:
        return "Job violates accounting/QOS policy (job submit limit, user's size and/or time "
               "limits)";
    case SL_E_QUEUE_FULL: return "Unable to create job record, try again";
    case SL_E_PATHNAME_TOO_LONG: return "Pathname of a file, directory or other parameter too long";
    default: return "Unspecified error";
    }
}
