/* jobjson.c - the job field table and the JSON writer; see jobjson.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "jobjson.h"
#include "step.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/xmalloc.h"

/* ---- the writer ---- */

void jw_init(struct jw *w, size_t cap)
{
    w->cap = cap < 64 ? 64 : cap;
    w->buf = xmalloc(w->cap);
    w->len = 0;
}

void jw_free(struct jw *w)
{
    free(w->buf);
    memset(w, 0, sizeof(*w));
}

static inline void reserve(struct jw *w, size_t n)
{
    if (w->len + n + 1 > w->cap) {
        while (w->len + n + 1 > w->cap)
            w->cap *= 2;
        w->buf = xrealloc(w->buf, w->cap);
    }
}

char *jw_take(struct jw *w, size_t *len)
{
    reserve(w, 0);
    w->buf[w->len] = '\0';
    char *s = w->buf;
    if (len)
        *len = w->len;
    memset(w, 0, sizeof(*w));
    return s;
}

/* Does c need escaping inside a JSON string?  (jansson's rule without
 * JSON_ESCAPE_SLASH: the quote, the backslash and control characters.) */
static inline bool needs_escape(unsigned char c)
{
    return c < 0x20 || c == '"' || c == '\\';
}

/* Escape ASCII bytes that need it; others as they are. */
static void escape_ascii(struct jw *w, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF"; /* as jansson */
    reserve(w, n * 6);
    char *o = w->buf + w->len;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!needs_escape(c)) {
            *o++ = (char)c;
            continue;
        }
        *o++ = '\\';
        switch (c) {
        case '"': *o++ = '"'; break;
        case '\\': *o++ = '\\'; break;
        case '\b': *o++ = 'b'; break;
        case '\f': *o++ = 'f'; break;
        case '\n': *o++ = 'n'; break;
        case '\r': *o++ = 'r'; break;
        case '\t': *o++ = 't'; break;
        default:
            *o++ = 'u';
            *o++ = '0';
            *o++ = '0';
            *o++ = hex[c >> 4];
            *o++ = hex[c & 15];
        }
    }
    w->len = (size_t)(o - w->buf);
}

void jw_escaped(struct jw *w, const char *s, size_t n)
{
    escape_ascii(w, s, n);
}

void jw_raw(struct jw *w, const char *s, size_t n)
{
    reserve(w, n);
    memcpy(w->buf + w->len, s, n);
    w->len += n;
}

void jw_puts(struct jw *w, const char *s)
{
    jw_raw(w, s, strlen(s));
}

/* Length of the valid UTF-8 sequence at s (n bytes left), 0 if invalid. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string.  Text that is not valid UTF-8 (which jansson would have
 * refused) gets U+FFFD for each bad byte: one bad name must not make the
 * whole reply unreadable. */
void jw_str(struct jw *w, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s);
    jw_raw(w, "\"", 1);
    size_t start = 0, i = 0;
    while (i < n) {
        unsigned char c = p[i];
        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        if (c >= 0x80) {
            size_t l = utf8_len(p + i, n - i);
            if (l) {
                i += l;
                continue;
            }
        }
        /* flush the plain run, then this byte */
        if (i > start)
            jw_raw(w, s + start, i - start);
        if (c >= 0x80) {
            jw_raw(w, "\\ufffd", 6);
        } else {
            struct jw t;
            char tb[8];
            t.buf = tb;
            t.cap = sizeof(tb);
            t.len = 0;
            escape_ascii(&t, s + i, 1);
            jw_raw(w, tb, t.len);
        }
        start = ++i;
    }
    if (i > start)
        jw_raw(w, s + start, i - start);
    jw_raw(w, "\"", 1);
}

void jw_int(struct jw *w, long long v)
{
    reserve(w, SL_LL_DIGITS);
    w->len = (size_t)(sl_put_ll(w->buf + w->len, v) - w->buf);
}

void jw_bool(struct jw *w, bool v)
{
    if (v)
        jw_raw(w, "true", 4);
    else
        jw_raw(w, "false", 5);
}

void jw_real(struct jw *w, double v)
{
    char b[64];
    int n = snprintf(b, sizeof(b), "%.17g", v);
    if (n < 0 || n >= (int)sizeof(b) - 3)
        n = snprintf(b, sizeof(b), "0.0");
    /* a decimal comma (locale) is a dot in JSON */
    for (char *p = b; *p; p++)
        if (*p == ',')
            *p = '.';
    if (!strchr(b, '.') && !strchr(b, 'e') && !strchr(b, 'n') && !strchr(b, 'i')) {
        memcpy(b + n, ".0", 3);
        n += 2;
    }
    char *e = strchr(b, 'e');
    if (e) { /* jansson: no '+', no leading zeros in the exponent */
        char *q = e + 1, *d;
        if (*q == '+')
            memmove(q, q + 1, strlen(q));
        else if (*q == '-')
            q++;
        d = q;
        while (*d == '0' && d[1])
            d++;
        if (d != q)
            memmove(q, d, strlen(d) + 1);
        n = (int)strlen(b);
    }
    jw_raw(w, b, (size_t)n);
}

/* ---- the field table ---- */

/* Every field of a job's JSON, in the order job_to_json has always
 * written them.  Append new fields where they belong in the object. */
#define JOB_FIELDS(X)                                                                              \
    X(JOB_ID, "job_id") X(NAME, "name") X(USER, "user") X(UID, "uid") X(GROUP, "group")            \
    X(GID, "gid") X(PARTITION, "partition") X(STATE, "state") X(REASON, "reason")                  \
    X(COMPLETING, "completing") X(PRIORITY, "priority") X(SUBMIT_TIME, "submit_time")              \
    X(START_TIME, "start_time") X(END_TIME, "end_time") X(TIME_LIMIT, "time_limit")                \
    X(NUM_NODES, "num_nodes") X(NUM_CPUS, "num_cpus") X(NUM_TASKS, "num_tasks")                    \
    X(CPUS_PER_TASK, "cpus_per_task") X(MEM_PER_NODE, "mem_per_node_mb") X(NODES, "nodes")         \
    X(BATCH_HOST, "batch_host") X(EXIT_STATUS, "exit_status") X(EXIT_SIGNAL, "exit_signal")        \
    X(WORK_DIR, "work_dir") X(STDOUT, "stdout") X(STDERR, "stderr") X(STDIN, "stdin")              \
    X(SUBMIT_HOST, "submit_host") X(ACCOUNT, "account") X(COMMENT, "comment")                      \
    X(COMMAND, "command") X(CANCELLED_BY, "cancelled_by") X(HELD, "held")                          \
    X(CONFIGURING, "configuring") X(COST, "cost") X(INTERRUPTIONS, "interruptions")                \
    X(FALLBACK, "fallback") X(NICE, "nice") X(REQUEUE, "requeue")                                  \
    X(PRIORITY_FACTORS, "priority_factors") X(RESTARTS, "restarts")                                \
    X(INTERACTIVE, "interactive") X(STEPS, "steps") X(LAST_ACTIVITY, "last_activity")              \
    X(IDLE_WARNED, "idle_warned") X(BEGIN_TIME, "begin_time") X(ARRAY_JOB_ID, "array_job_id")      \
    X(ARRAY_TASK_ID, "array_task_id") X(ARRAY_THROTTLE, "array_throttle")                          \
    X(ARRAY_TASKS, "array_tasks") X(ARRAY_TASKS_PENDING, "array_tasks_pending")                    \
    X(DEPENDENCY, "dependency") X(GPUS_PER_NODE, "gpus_per_node") X(GPU_TYPE, "gpu_type")          \
    X(EXCLUSIVE, "exclusive") X(CONSTRAINT, "constraint") X(REQ_NODES, "req_nodes")                \
    X(EXC_NODES, "exc_nodes") X(NTASKS_PER_NODE, "ntasks_per_node")                                \
    X(MEM_PER_CPU, "mem_per_cpu_mb") X(GPU_IDS, "gpu_ids")

#define X_ENUM(e, n) JF_##e,
enum { JOB_FIELDS(X_ENUM) JF_COUNT };
#define X_NAME(e, n) n,
static const char *const field_names[JF_COUNT] = {JOB_FIELDS(X_NAME)};

int job_field_count(void)
{
    return JF_COUNT;
}

const char *job_field_name(int f)
{
    return f >= 0 && f < JF_COUNT ? field_names[f] : NULL;
}

int job_field_index(const char *name)
{
    for (int i = 0; i < JF_COUNT; i++)
        if (!strcmp(field_names[i], name))
            return i;
    return -1;
}

/* What several fields derive from a job's last allocation. */
struct jctx {
    int nalloc;
    const char *bh; /* batch host: the first name in the node list */
    size_t bhlen;
};

static void ctx_init(struct jctx *x, const struct job *j)
{
    x->nalloc = 0;
    x->bh = "";
    x->bhlen = 0;
    if (j->nodelist) { /* a finished job keeps the shape of its last allocation */
        x->nalloc = 1;
        for (const char *p = j->nodelist; *p; p++)
            x->nalloc += (*p == ',');
        x->bh = j->nodelist;
        x->bhlen = strcspn(j->nodelist, ",");
        if (x->bhlen > 255)
            x->bhlen = 255;
    }
}

/* Does the job have this field at all? */
static bool field_present(const struct job *j, int f)
{
    switch (f) {
    case JF_FALLBACK:
        return j->fallback != NULL;
    case JF_PRIORITY_FACTORS:
        return j->state == JOB_PENDING;
    case JF_STEPS:
        return j->steps != NULL;
    case JF_LAST_ACTIVITY:
    case JF_IDLE_WARNED:
        return j->interactive && j->state == JOB_RUNNING;
    case JF_ARRAY_JOB_ID:
    case JF_ARRAY_TASK_ID:
    case JF_ARRAY_THROTTLE:
        return j->array_job_id != 0;
    case JF_ARRAY_TASKS:
    case JF_ARRAY_TASKS_PENDING:
        return j->array_job_id != 0 && j->array_task_id < 0;
    }
    return true;
}

static void str_or(struct jw *w, const char *s, const char *dflt)
{
    jw_str(w, s ? s : dflt);
}

static void write_nodes(struct jw *w, const struct job *j)
{
    if (!j->nodelist || !*j->nodelist) {
        jw_str(w, "");
        return;
    }
    if (!strchr(j->nodelist, ',')) { /* one node: already its own range */
        jw_str(w, j->nodelist);
        return;
    }
    struct hostlist *hl = hostlist_create(j->nodelist, NULL);
    char *s = NULL;
    if (hl) {
        hostlist_uniq(hl);
        s = hostlist_ranged_string(hl);
        hostlist_destroy(hl);
    }
    jw_str(w, s ? s : "");
    free(s);
}

static void write_gpu_ids(struct jw *w, const struct job *j)
{
    /* GPU indices on the batch host, e.g. "0,1" ("" when none) */
    char gids[400] = "";
    size_t goff = 0;
    for (int g = 0; j->gpu_masks && g < 64; g++)
        if (j->gpu_masks[0] & (1ULL << g))
            goff += (size_t)snprintf(gids + goff, sizeof(gids) - goff, "%s%d", goff ? "," : "", g);
    jw_str(w, gids);
}

static void write_field(struct jw *w, struct ctld *c, const struct job *j, const struct jctx *x,
                        int f)
{
    switch (f) {
    case JF_JOB_ID: jw_int(w, j->id); break;
    case JF_NAME: str_or(w, j->name, ""); break;
    case JF_USER: str_or(w, j->user, ""); break;
    case JF_UID: jw_int(w, j->uid); break;
    case JF_GROUP: str_or(w, j->group, ""); break;
    case JF_GID: jw_int(w, j->gid); break;
    case JF_PARTITION: str_or(w, j->partition, ""); break;
    case JF_STATE: jw_str(w, job_state_name(j->state)); break;
    case JF_REASON: jw_str(w, job_reason_name(j->reason)); break;
    case JF_COMPLETING: jw_bool(w, j->completing); break;
    case JF_PRIORITY: jw_int(w, j->priority); break;
    case JF_SUBMIT_TIME: jw_int(w, j->submit_time); break;
    case JF_START_TIME:
        /* a pending job shows when backfill expects it to start, as Slurm */
        jw_int(w, j->state == JOB_PENDING ? j->expected_start : j->start_time);
        break;
    case JF_END_TIME: jw_int(w, j->end_time); break;
    case JF_TIME_LIMIT: jw_int(w, j->time_limit); break;
    case JF_NUM_NODES: jw_int(w, x->nalloc ? x->nalloc : j->nodes_req); break;
    case JF_NUM_CPUS:
        jw_int(w, x->nalloc ? (long long)j->alloc_cpus * x->nalloc
                            : (long long)j->ntasks * j->cpus_per_task);
        break;
    case JF_NUM_TASKS: jw_int(w, j->ntasks); break;
    case JF_CPUS_PER_TASK: jw_int(w, j->cpus_per_task); break;
    case JF_MEM_PER_NODE: jw_int(w, (long long)(x->nalloc ? j->alloc_mem : j->mem_mb)); break;
    case JF_NODES: write_nodes(w, j); break;
    case JF_BATCH_HOST: {
        char bh[256];
        memcpy(bh, x->bh, x->bhlen);
        bh[x->bhlen] = '\0';
        jw_str(w, bh);
        break;
    }
    case JF_EXIT_STATUS: jw_int(w, j->exit_status); break;
    case JF_EXIT_SIGNAL: jw_int(w, j->exit_signal); break;
    case JF_WORK_DIR: str_or(w, j->work_dir, ""); break;
    case JF_STDOUT: str_or(w, j->out, ""); break;
    case JF_STDERR: str_or(w, j->err, ""); break;
    case JF_STDIN: str_or(w, j->in, "/dev/null"); break;
    case JF_SUBMIT_HOST: str_or(w, j->submit_host, ""); break;
    case JF_ACCOUNT: str_or(w, j->account, ""); break;
    case JF_COMMENT: str_or(w, j->comment, ""); break;
    case JF_COMMAND: str_or(w, j->command, ""); break;
    case JF_CANCELLED_BY: jw_int(w, j->cancelled_by); break;
    case JF_HELD: jw_bool(w, j->held); break;
    case JF_CONFIGURING: jw_bool(w, j->configuring); break;
    case JF_COST: jw_real(w, j->cost); break;
    case JF_INTERRUPTIONS: jw_int(w, j->interruptions); break;
    case JF_FALLBACK: jw_str(w, j->fallback); break;
    case JF_NICE: jw_int(w, j->nice); break;
    case JF_REQUEUE: jw_bool(w, j->requeue); break;
    case JF_PRIORITY_FACTORS: {
        /* sprio's view: what the priority is made of */
        struct part *p = part_find(c, j->partition);
        int age, size;
        sched_priority_factors(j, p, ctld_now(), &age, &size);
        jw_raw(w, "{\"age\":", 7);
        jw_int(w, age);
        jw_raw(w, ",\"job_size\":", 12);
        jw_int(w, size);
        jw_raw(w, ",\"nice\":", 8);
        jw_int(w, j->nice);
        jw_raw(w, ",\"partition_tier\":", 18);
        jw_int(w, p ? p->conf->priority_tier : 0);
        jw_raw(w, ",\"fixed\":", 9);
        jw_bool(w, j->prio_set != 0);
        jw_raw(w, "}", 1);
        break;
    }
    case JF_RESTARTS: jw_int(w, j->restarts); break;
    case JF_INTERACTIVE: jw_bool(w, j->interactive); break;
    case JF_STEPS: {
        /* running steps are few: step.c's JSON, as it is */
        json_t *s = steps_to_json(j);
        char *t = json_dumps(s, JSON_COMPACT);
        jw_puts(w, t ? t : "[]");
        free(t);
        json_decref(s);
        break;
    }
    case JF_LAST_ACTIVITY:
        jw_int(w, j->last_activity > j->start_time ? j->last_activity : j->start_time);
        break;
    case JF_IDLE_WARNED: jw_int(w, j->idle_warned); break;
    case JF_BEGIN_TIME: jw_int(w, j->begin_time ? j->begin_time : j->submit_time); break;
    case JF_ARRAY_JOB_ID: jw_int(w, j->array_job_id); break;
    case JF_ARRAY_TASK_ID: jw_int(w, j->array_task_id); break;
    case JF_ARRAY_THROTTLE: jw_int(w, j->array_throttle); break;
    case JF_ARRAY_TASKS: {
        char *r = array_ranges(j);
        jw_str(w, r ? r : "");
        free(r);
        break;
    }
    case JF_ARRAY_TASKS_PENDING: jw_int(w, j->array_pending); break;
    case JF_DEPENDENCY: str_or(w, j->dependency, ""); break;
    case JF_GPUS_PER_NODE: jw_int(w, j->gpus_per_node); break;
    case JF_GPU_TYPE:
        if (j->gpu_type)
            jw_str(w, j->gpu_type);
        else
            jw_raw(w, "null", 4);
        break;
    case JF_EXCLUSIVE: jw_bool(w, j->exclusive); break;
    case JF_CONSTRAINT: str_or(w, j->constraint, ""); break;
    case JF_REQ_NODES: str_or(w, j->req_nodes, ""); break;
    case JF_EXC_NODES: str_or(w, j->exc_nodes, ""); break;
    case JF_NTASKS_PER_NODE: jw_int(w, j->ntasks_per_node); break;
    case JF_MEM_PER_CPU: jw_int(w, (long long)j->mem_per_cpu_mb); break;
    case JF_GPU_IDS: write_gpu_ids(w, j); break;
    default: fatalx("job JSON: no field %d", f);
    }
}

void job_write_object(struct jw *w, struct ctld *c, const struct job *j, bool open)
{
    struct jctx x;
    ctx_init(&x, j);
    jw_raw(w, "{", 1);
    for (int f = 0; f < JF_COUNT; f++) {
        if (!field_present(j, f))
            continue;
        /* ,"name": (the names are plain ASCII: nothing to escape) */
        const char *name = field_names[f];
        size_t nl = strlen(name);
        char key[40];
        key[0] = ',';
        key[1] = '"';
        memcpy(key + 2, name, nl);
        key[nl + 2] = '"';
        key[nl + 3] = ':';
        jw_raw(w, f ? key : key + 1, f ? nl + 4 : nl + 3);
        write_field(w, c, j, &x, f);
    }
    if (!open)
        jw_raw(w, "}", 1);
}

void job_write_row(struct jw *w, struct ctld *c, const struct job *j, const int *fields,
                   int nfields)
{
    struct jctx x;
    ctx_init(&x, j);
    for (int i = 0; i < nfields; i++) {
        if (i)
            jw_raw(w, "\t", 1);
        if (field_present(j, fields[i]))
            write_field(w, c, j, &x, fields[i]);
    }
    jw_raw(w, "\n", 1);
}
