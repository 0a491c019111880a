/* jobenv.c - the pure parts of a launch: output file name patterns and
 * the job's environment.  No I/O here, so unit tests cover them.
 *
 * Patterns follow Slurm's slurmstepd for a batch step: %% %j %J %x %u %N
 * %n %t %s %A %a %b, an optional zero-pad width ("%5j", at most 10), an
 * unknown specifier left as written, and a name holding a backslash
 * taken literally with the backslashes removed.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "noded.h"
#include "proto/stream.h"
#include "util/xmalloc.h"

#define PATTERN_MAX_WIDTH 10
#define SLURM_NO_VAL 4294967294u       /* %a, %b of a job that is no array task */

struct sbuf {
    char *s;
    size_t len, cap;
};

static void sb_add(struct sbuf *b, const char *s, size_t n)
{
    if (b->len + n + 1 > b->cap) {
        b->cap = (b->len + n + 1) * 2;
        b->s = xrealloc(b->s, b->cap);
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_num(struct sbuf *b, int width, unsigned long v)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%0*lu", width, v);
    sb_add(b, tmp, (size_t)n);
}

char *expand_pattern(const char *pat, const struct pattern_ctx *pc)
{
    struct sbuf b = {xcalloc(1, 64), 0, 64};
    bool is_array = pc->array_job_id != 0;
    uint32_t task = is_array ? pc->array_task_id : SLURM_NO_VAL;

    if (strchr(pat, '\\')) {
        for (const char *p = pat; *p; p++)
            if (*p != '\\')
                sb_add(&b, p, 1);
        return b.s;
    }
    for (const char *p = pat; *p; p++) {
        const char *start = p, *q = p + 1;
        int width = 0;

        if (*p != '%') {
            sb_add(&b, p, 1);
            continue;
        }
        if (*q == '%') {
            sb_add(&b, "%", 1);
            p = q;
            continue;
        }
        if (isdigit((unsigned char)*q)) {
            unsigned long w = strtoul(q, (char **)&q, 10);
            width = w > PATTERN_MAX_WIDTH ? PATTERN_MAX_WIDTH : (int)w;
        }
        switch (*q) {
        case 'j':
            sb_num(&b, width, pc->job_id);
            break;
        case 'J':
            sb_num(&b, width, pc->job_id);
            sb_add(&b, ".", 1);
            sb_num(&b, 0, SL_STEP_BATCH);
            break;
        case 'A':
            sb_num(&b, width, is_array ? pc->array_job_id : pc->job_id);
            break;
        case 'a':
            sb_num(&b, width, task);
            break;
        case 'b':
            sb_num(&b, width, task % 10);
            break;
        case 's':
            sb_num(&b, width, SL_STEP_BATCH);
            break;
        case 'n': /* node index and task id of the batch script: always 0 */
        case 't':
            sb_num(&b, width, 0);
            break;
        case 'x':
            sb_add(&b, pc->job_name, strlen(pc->job_name));
            break;
        case 'u':
            sb_add(&b, pc->user, strlen(pc->user));
            break;
        case 'N':
            sb_add(&b, pc->node, strlen(pc->node));
            break;
        case '\0': /* a trailing "%" or "%5" stays as written */
            sb_add(&b, start, (size_t)(q - start));
            return b.s;
        default: /* unknown specifier: as written, as Slurm leaves it */
            sb_add(&b, start, (size_t)(q - start + 1));
            break;
        }
        p = q;
    }
    return b.s;
}

/* Variables slurmish-d sets per node; the ctld's values for them (if any)
 * are replaced.  SLURM_CONF is dropped: it would point real Slurm tools
 * in the job at another cluster's configuration. */
static const char *const node_keys[] = {"SLURMD_NODENAME",
                                        "SLURM_NODEID",
                                        "SLURM_CPUS_ON_NODE",
                                        "SLURM_PROCID",
                                        "SLURM_LOCALID",
                                        "SLURM_TASK_PID",
                                        "SLURM_TOPOLOGY_ADDR",
                                        "ENVIRONMENT",
                                        "SLURMISH_CONF",
                                        "SLURM_CONF",
                                        NULL};

static bool is_node_key(const char *kv)
{
    for (int i = 0; node_keys[i]; i++) {
        size_t n = strlen(node_keys[i]);
        if (strncmp(kv, node_keys[i], n) == 0 && kv[n] == '=')
            return true;
    }
    return false;
}

char **job_env_build(json_t *env, const struct env_ctx *ec)
{
    size_t n = json_is_array(env) ? json_array_size(env) : 0, k = 0, i;
    char **out = xcalloc(n + 16, sizeof(char *));
    json_t *v;

    json_array_foreach(env, i, v)
    {
        const char *s = json_string_value(v);
        if (s && strchr(s, '=') && s[0] != '=' && !is_node_key(s))
            out[k++] = xstrdup(s);
    }
    out[k++] = xasprintf("SLURMD_NODENAME=%s", ec->node);
    out[k++] = xasprintf("SLURM_NODEID=%d", ec->node_id);
    out[k++] = xasprintf("SLURM_CPUS_ON_NODE=%d", ec->cpus);
    out[k++] = xasprintf("SLURM_PROCID=%d", ec->procid);
    out[k++] = xasprintf("SLURM_LOCALID=%d", ec->localid);
    out[k++] = xasprintf("SLURM_TASK_PID=%d", (int)ec->pid);
    out[k++] = xasprintf("SLURM_TOPOLOGY_ADDR=%s", ec->node);
    if (!ec->step)
        out[k++] = xstrdup("ENVIRONMENT=BATCH");
    if (ec->conf_path)
        out[k++] = xasprintf("SLURMISH_CONF=%s", ec->conf_path);
    out[k] = NULL;
    return out;
}

void job_env_free(char **envp)
{
    if (!envp)
        return;
    for (char **e = envp; *e; e++)
        free(*e);
    free(envp);
}
