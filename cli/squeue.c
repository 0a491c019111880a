/* squeue.c - view the job queue.
 *
 * Input: filters (-j -u -t -p --me) and an output format (-o, -l).
 * Action: one query_jobs request; jobs are filtered again here (the
 * default hides finished jobs unless -j or -t asks for them), sorted as
 * Slurm's default "P,t,-p" (partition, state, then priority down), and
 * printed through the format engine.  Exit 0, or 1 on any error.
 */
#include "config.h"

#include <getopt.h>
#include <sys/mman.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "cliutil.h"
#include "common.h"
#include "format.h"
#include "types.h"
#include "util/parse.h"
#include "util/xmalloc.h"

#define DEFAULT_FORMAT "%.18i %.9P %.8j %.8u %.2t %.10M %.6D %R"
#define LONG_FORMAT "%.18i %.9P %.8j %.8u %.8T %.10M %.9l %.6D %R"
#define START_FORMAT "%.18i %.9P %.8j %.8u %.2t %.19S %.6D %R"
#define FIELDS "iAPjuUTtMlLDCRNrSVeQamZkBogGFK"

static void usage(FILE *out)
{
    fprintf(out, "Usage: squeue [-j jobs] [-n names] [-o format] [-O fields] [-p partitions]\n"
                 "              [-t states] [-u users] [--me] [--start] [--json] [--usage]\n"
                 "              [-ahlrsvV]\n");
}

static void help(void)
{
    printf("Usage: squeue [OPTIONS]\n"
           "Show the jobs in the queue: pending and running ones by default.\n"
           "\n"
           "Options:\n"
           "  -a, --all                       accepted for compatibility (all partitions\n"
           "                                  are always shown)\n"
           "  -h, --noheader                  no headers on output\n"
           "  -j, --jobs=job(s), --job=job(s)\n"
           "                                  comma separated list of job IDs (123,\n"
           "                                  123_4, 123_[1-5]) to view, default is all\n"
           "      --json                      print the jobs as JSON\n"
           "  -l, --long                      long report (state and time limit)\n"
           "      --me                        equivalent to --user=<my username>\n"
           "  -n, --name=name(s)              comma separated list of job names to view\n"
           "  -o, --format=format             format specification: %%[.][width]field with\n"
           "                                  fields i A (job ID), P (partition), j (name),\n"
           "                                  u (user), U (uid), g (group), G (gid),\n"
           "                                  T (state), t (compact state), M (time used),\n"
           "                                  l (time limit), L (time left), D (nodes),\n"
           "                                  C (CPUs), R (nodes or reason), N (nodes),\n"
           "                                  r (reason), S (start), V (submit), e (end),\n"
           "                                  Q (priority), a (account), m (memory),\n"
           "                                  Z (work dir), k (comment), B (batch host),\n"
           "                                  o (command), F (array job), K (array task)\n"
           "  -O, --Format=fields             format by field names (jobid, name, state,\n"
           "                                  partition, timeused, reasonlist, ...), each\n"
           "                                  name[:[.]width]\n"
           "  -p, --partition=partition(s), --partitions=partition(s)\n"
           "                                  comma separated list of partitions\n"
           "                                  to view, default is all partitions\n"
           "  -r, --array                     one line per array task, pending ones too\n"
           "  -s, --steps[=steps]             show job steps instead of jobs\n"
           "      --start                     expected start times of pending jobs\n"
           "  -t, --states=job_state(s), --state=job_state(s)\n"
           "                                  comma separated list of states to view,\n"
           "                                  default is pending and running,\n"
           "                                  '--states=all' reports all states\n"
           "  -u, --user=user_name(s), --users=user_name(s)\n"
           "                                  comma separated list of users to view\n"
           "  -v, --verbose                   verbosity level\n"
           "  -V, --version                   output version information and exit\n"
           "\n"
           "Help options:\n"
           "      --help                      show this help message\n"
           "      --usage                     display a brief summary of squeue options\n");
}

static const char *header_of(char t)
{
    switch (t) {
    case 'i':
    case 'A':
        return "JOBID";
    case 'P':
        return "PARTITION";
    case 'j':
        return "NAME";
    case 'F':
        return "ARRAY_JOB_ID";
    case 'K':
        return "ARRAY_TASK_ID";
    case 'u':
        return "USER";
    case 'U':
        return "UID";
    case 'T':
        return "STATE";
    case 't':
        return "ST";
    case 'M':
        return "TIME";
    case 'l':
        return "TIME_LIMIT";
    case 'L':
        return "TIME_LEFT";
    case 'D':
        return "NODES";
    case 'C':
        return "CPUS";
    case 'R':
        return "NODELIST(REASON)";
    case 'N':
        return "NODELIST";
    case 'r':
        return "REASON";
    case 'S':
        return "START_TIME";
    case 'V':
        return "SUBMIT_TIME";
    case 'e':
        return "END_TIME";
    case 'Q':
        return "PRIORITY";
    case 'a':
        return "ACCOUNT";
    case 'm':
        return "MIN_MEMORY";
    case 'Z':
        return "WORK_DIR";
    case 'k':
        return "COMMENT";
    case 'B':
        return "EXEC_HOST";
    case 'o':
        return "COMMAND";
    case 'g':
        return "GROUP";
    case 'G':
        return "GID";
    }
    return "";
}

/* One job as squeue uses it: from a row of the compact reply (the fields
 * the format needs) or from the controller's whole object (--json, -s).
 * Strings point into the reply; they live as long as it does. */
enum {
    SF_JOB_ID, SF_ARRAY_JOB_ID, SF_ARRAY_TASK_ID, SF_ARRAY_THROTTLE, SF_ARRAY_TASKS,
    SF_NAME, SF_USER, SF_UID, SF_GROUP, SF_GID, SF_PARTITION, SF_STATE, SF_COMPLETING,
    SF_CONFIGURING, SF_REASON, SF_NODES, SF_START_TIME, SF_END_TIME, SF_SUBMIT_TIME,
    SF_TIME_LIMIT, SF_NUM_NODES, SF_NUM_CPUS, SF_PRIORITY, SF_ACCOUNT, SF_MEM, SF_WORK_DIR,
    SF_COMMENT, SF_BATCH_HOST, SF_COMMAND, SF_COUNT
};

/* The controller's names of those fields (doc/protocol.md, query_jobs). */
static const char *const sf_names[SF_COUNT] = {
    "job_id", "array_job_id", "array_task_id", "array_throttle", "array_tasks", "name", "user",
    "uid", "group", "gid", "partition", "state", "completing", "configuring", "reason", "nodes",
    "start_time", "end_time", "submit_time", "time_limit", "num_nodes", "num_cpus", "priority",
    "account", "mem_per_node_mb", "work_dir", "comment", "batch_host", "command",
};

/* A job's cells: only the fields the reply carries, by slot, so a
 * million-job reply costs a few words per field shown, not a record of
 * every field.  slot_of[f] is field f's slot, -1 if the reply lacks it
 * (then the field reads as its default). */
union cell {
    long long n;   /* integer and boolean fields */
    const char *s; /* string fields, never NULL */
};

struct sjob {
    union cell *c;
    long long task; /* array_task_id: squeue -r gives each task line its own */
    int state;      /* enum job_state, -1 if unknown */
    json_t *obj;    /* the controller's object, when the reply had them */
    const char *raw; /* compact reply, --json: its row as the controller wrote it */
};

static int slot_of[SF_COUNT];
static size_t nslots;

static bool sf_is_string(int f)
{
    switch (f) {
    case SF_ARRAY_TASKS: case SF_NAME: case SF_USER: case SF_GROUP: case SF_PARTITION:
    case SF_STATE: case SF_REASON: case SF_NODES: case SF_ACCOUNT: case SF_WORK_DIR:
    case SF_COMMENT: case SF_BATCH_HOST: case SF_COMMAND:
        return true;
    }
    return false;
}

/* What a field is when the job has none (cli_jint's defaults of old). */
static long long sf_default(int f)
{
    switch (f) {
    case SF_ARRAY_TASK_ID: case SF_UID: case SF_GID: case SF_TIME_LIMIT:
        return -1;
    }
    return 0;
}

static inline long long N(const struct sjob *j, int f)
{
    if (f == SF_ARRAY_TASK_ID)
        return j->task;
    return slot_of[f] >= 0 ? j->c[slot_of[f]].n : sf_default(f);
}

static inline const char *S(const struct sjob *j, int f)
{
    return slot_of[f] >= 0 ? j->c[slot_of[f]].s : "";
}

/* Every field in its own slot (the objects' reply). */
static void slots_all(void)
{
    for (int f = 0; f < SF_COUNT; f++)
        slot_of[f] = f;
    nslots = SF_COUNT;
}

static void sjob_from_object(struct sjob *j, union cell *cells, json_t *o)
{
    j->c = cells;
    j->obj = o;
    j->raw = NULL;
    for (int f = 0; f < SF_COUNT; f++) {
        if (sf_is_string(f))
            cells[f].s = cli_jstr(o, sf_names[f]);
        else if (f == SF_COMPLETING || f == SF_CONFIGURING)
            cells[f].n = cli_jbool(o, sf_names[f]);
        else
            cells[f].n = cli_jint(o, sf_names[f], sf_default(f));
    }
    j->task = cells[SF_ARRAY_TASK_ID].n;
    j->state = job_state_from_name(cells[SF_STATE].s);
}

/* Decode a JSON string's text in place: s points after the opening quote;
 * returns the end (the closing quote, now a NUL) or NULL if malformed. */
static char *unescape_in_place(char *s)
{
    char *o = s;
    for (;;) {
        char c = *s++;
        if (c == '"') {
            *o = '\0';
            return s - 1;
        }
        if (c == '\0' || c == '\t' || c == '\n')
            return NULL;
        if (c != '\\') {
            *o++ = c;
            continue;
        }
        c = *s++;
        switch (c) {
        case '"': case '\\': case '/': *o++ = c; break;
        case 'b': *o++ = '\b'; break;
        case 'f': *o++ = '\f'; break;
        case 'n': *o++ = '\n'; break;
        case 'r': *o++ = '\r'; break;
        case 't': *o++ = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int k = 0; k < 4; k++) {
                char h = *s++;
                cp <<= 4;
                if (h >= '0' && h <= '9') cp |= (unsigned)(h - '0');
                else if (h >= 'a' && h <= 'f') cp |= (unsigned)(h - 'a' + 10);
                else if (h >= 'A' && h <= 'F') cp |= (unsigned)(h - 'A' + 10);
                else return NULL;
            }
            if (cp >= 0xd800 && cp <= 0xdbff && s[0] == '\\' && s[1] == 'u') {
                unsigned lo = (unsigned)strtoul((char[5]){s[2], s[3], s[4], s[5], 0}, NULL, 16);
                if (lo >= 0xdc00 && lo <= 0xdfff) {
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                    s += 6;
                }
            }
            /* UTF-8 is never longer than the \uXXXX text it came from */
            if (cp < 0x80) {
                *o++ = (char)cp;
            } else if (cp < 0x800) {
                *o++ = (char)(0xc0 | (cp >> 6));
                *o++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *o++ = (char)(0xe0 | (cp >> 12));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *o++ = (char)(0xf0 | (cp >> 18));
                *o++ = (char)(0x80 | ((cp >> 12) & 0x3f));
                *o++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *o++ = (char)(0x80 | (cp & 0x3f));
            }
            break;
        }
        default:
            return NULL;
        }
    }
}

/* The text of a compact reply's rows: the pieces as received, and for
 * --json the copies that are cut in place (the pieces stay as written). */
struct pieces {
    struct sl_reply_data *d;
    char **copy;
    size_t n, cap;
};

static void pieces_add(struct pieces *ps, struct sl_reply_data *d, char *copy)
{
    if (ps->n == ps->cap) {
        ps->cap = ps->cap ? ps->cap * 2 : 16;
        ps->d = xrealloc(ps->d, ps->cap * sizeof(*ps->d));
        ps->copy = xrealloc(ps->copy, ps->cap * sizeof(*ps->copy));
    }
    ps->d[ps->n] = *d;
    ps->copy[ps->n++] = copy;
}

static void pieces_free(struct pieces *ps)
{
    for (size_t k = 0; k < ps->n; k++) {
        sl_reply_data_free(&ps->d[k]);
        free(ps->copy[k]);
    }
    free(ps->d);
    free(ps->copy);
}

/* The jobs of a compact reply, parsed piece by piece as the rows arrive
 * (one piece, or many when the controller streams them). */
struct rowset {
    struct sjob *jobs;
    union cell *cells; /* nslots a job; jobs[k].c is set by rowset_done() */
    size_t n, cap;
};

/* Grow a mapping of old bytes (p, NULL for none) to n: the pages move,
 * the data is not copied (realloc copies a block it keeps in the heap).
 * The hint covers the whole mapping: one cut in two by it could not
 * grow (mremap moves one mapping). */
static void *map_grow(void *p, size_t old, size_t n)
{
    void *q = p ? mremap(p, old, n, MREMAP_MAYMOVE)
                : mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (q == MAP_FAILED) {
        cli_error("out of memory");
        exit(1);
    }
#ifdef MADV_HUGEPAGE
    if (!p)
        (void)madvise(q, n, MADV_HUGEPAGE);
#endif
    return q;
}

static void rowset_reserve(struct rowset *rs, size_t more)
{
    if (rs->n + more + 1 <= rs->cap)
        return;
    size_t cap = rs->cap * 2 > rs->n + more + 1 ? rs->cap * 2 : rs->n + more + 1;
    rs->jobs = map_grow(rs->jobs, rs->cap * sizeof(*rs->jobs), cap * sizeof(*rs->jobs));
    rs->cells = map_grow(rs->cells, (rs->cap * nslots + 1) * sizeof(*rs->cells),
                         (cap * nslots + 1) * sizeof(*rs->cells));
    rs->cap = cap;
}

static void rowset_free(struct rowset *rs)
{
    if (rs->jobs)
        munmap(rs->jobs, rs->cap * sizeof(*rs->jobs));
    if (rs->cells)
        munmap(rs->cells, (rs->cap * nslots + 1) * sizeof(*rs->cells));
}

/* Parse rows (text, modified in place; whole rows) into rs.  raw: the same
 * rows unmodified (--json prints them), or NULL.  field[k] is the field of
 * column k, -1 for a column squeue does not use; slot_of must be set for
 * them.  -1 if the text is malformed. */
static int rowset_parse(struct rowset *rs, char *text, size_t len, const char *raw,
                        const int *field, size_t ncols)
{
    size_t rows = 0, n = rs->n;
    for (const char *q = text; (q = memchr(q, '\n', len - (size_t)(q - text))); q++)
        rows++;
    rowset_reserve(rs, rows);
    size_t end = n + rows;
    char *p = text;

    while (*p) {
        if (n == end)
            return -1;
        struct sjob *j = &rs->jobs[n];
        union cell *jc = rs->cells + n * nslots;
        j->c = NULL;
        j->obj = NULL;
        j->raw = raw ? raw + (p - text) : NULL;
        for (size_t k = 0; k < ncols; k++) {
            int f = field[k];
            union cell *cell = f >= 0 ? &jc[slot_of[f]] : NULL;
            char *e;
            if (*p == '"') {
                e = unescape_in_place(p + 1);
                if (!e)
                    return -1;
                if (cell)
                    cell->s = p + 1;
                p = e + 1;
            } else {
                e = p + strcspn(p, "\t\n");
                if (cell) {
                    if (sf_is_string(f))
                        cell->s = ""; /* absent (or not a string) */
                    else if (e == p)
                        cell->n = sf_default(f);
                    else if (*p == 't')
                        cell->n = 1;
                    else if (*p == 'f' || *p == 'n')
                        cell->n = 0;
                    else
                        cell->n = strtoll(p, NULL, 10);
                }
                p = e;
            }
            if (*p != (k + 1 < ncols ? '\t' : '\n'))
                return -1;
            *p++ = '\0';
        }
        j->task = slot_of[SF_ARRAY_TASK_ID] >= 0 ? jc[slot_of[SF_ARRAY_TASK_ID]].n
                                                 : sf_default(SF_ARRAY_TASK_ID);
        j->state = job_state_from_name(slot_of[SF_STATE] >= 0 ? jc[slot_of[SF_STATE]].s : "");
        n++;
    }
    rs->n = n;
    return 0;
}

/* All rows are in: point the jobs at their cells (the array has stopped
 * moving). */
static void rowset_done(struct rowset *rs)
{
    for (size_t k = 0; k < rs->n; k++)
        rs->jobs[k].c = rs->cells + k * nslots;
}

/* The fields each format letter shows. */
static unsigned long long letter_fields(char t)
{
#define B(f) (1ULL << (f))
    switch (t) {
    case 'i': return B(SF_JOB_ID) | B(SF_ARRAY_JOB_ID) | B(SF_ARRAY_TASK_ID) |
                     B(SF_ARRAY_THROTTLE) | B(SF_ARRAY_TASKS);
    case 'A': return B(SF_JOB_ID);
    case 'F': return B(SF_JOB_ID) | B(SF_ARRAY_JOB_ID);
    case 'K': return B(SF_ARRAY_TASK_ID) | B(SF_ARRAY_TASKS);
    case 'P': return B(SF_PARTITION);
    case 'j': return B(SF_NAME);
    case 'u': return B(SF_USER);
    case 'U': return B(SF_UID);
    case 'g': return B(SF_GROUP);
    case 'G': return B(SF_GID);
    case 'T': case 't': return B(SF_STATE) | B(SF_COMPLETING) | B(SF_CONFIGURING);
    case 'M': case 'l': case 'L': case 'e':
        return B(SF_START_TIME) | B(SF_END_TIME) | B(SF_TIME_LIMIT) | B(SF_STATE);
    case 'D': return B(SF_NUM_NODES);
    case 'C': return B(SF_NUM_CPUS);
    case 'R': return B(SF_STATE) | B(SF_NODES) | B(SF_REASON);
    case 'N': return B(SF_NODES);
    case 'r': return B(SF_REASON);
    case 'S': return B(SF_START_TIME);
    case 'V': return B(SF_SUBMIT_TIME);
    case 'Q': return B(SF_PRIORITY);
    case 'a': return B(SF_ACCOUNT);
    case 'm': return B(SF_MEM);
    case 'Z': return B(SF_WORK_DIR);
    case 'k': return B(SF_COMMENT);
    case 'B': return B(SF_BATCH_HOST);
    case 'o': return B(SF_COMMAND);
    }
    return 0;
#undef B
}

/* Seconds the job has run, as of `now`. */
static long long run_time(const struct sjob *j, time_t now)
{
    long long start = N(j, SF_START_TIME), end = N(j, SF_END_TIME);

    if (start <= 0 || j->state == JOB_PENDING)
        return 0;
    if (job_state_is_final(j->state) && end >= start)
        return end - start;
    return now > start ? now - start : 0;
}

/* squeue shows the reason for jobs that are waiting or ended abnormally,
 * the node list otherwise. */
static bool shows_reason(int st)
{
    return st == JOB_PENDING || st == JOB_TIMEOUT || st == JOB_OUT_OF_MEMORY ||
           st == JOB_DEADLINE || st == JOB_FAILED;
}

/* A cell's text: a job's own string, or formatted into buf (grown as
 * needed; *cap its size). */
struct cellbuf {
    char *s;
    size_t cap;
};

static const char *cellf(struct cellbuf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static const char *cellf(struct cellbuf *b, const char *fmt, ...)
{
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(b->s, b->cap, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < b->cap)
            return b->s;
        b->cap = n >= 0 ? (size_t)n + 1 : b->cap * 2 + 64;
        b->s = xrealloc(b->s, b->cap);
    }
}

/* b with room for n bytes at least. */
static char *cell_room(struct cellbuf *b, size_t n)
{
    if (b->cap < n) {
        b->s = xrealloc(b->s, n);
        b->cap = n;
    }
    return b->s;
}

/* cellf(b, "%lld", v), without printf: a million lines call it. */
static const char *cell_ll(struct cellbuf *b, long long v)
{
    char *s = cell_room(b, 24);
    *sl_put_ll(s, v) = '\0';
    return s;
}

static const char *or_text(const char *s, const char *dflt)
{
    return *s ? s : dflt;
}

static const char *job_field(char t, const struct sjob *j, time_t now, struct cellbuf *b)
{
    char tb[64];
    int st = j->state;
    long long limit = N(j, SF_TIME_LIMIT);

    switch (t) {
    case 'i':
        if (!N(j, SF_ARRAY_JOB_ID))
            return cell_ll(b, N(j, SF_JOB_ID));
        if (N(j, SF_ARRAY_TASK_ID) >= 0) {
            char *o = sl_put_ll(cell_room(b, 48), N(j, SF_ARRAY_JOB_ID));
            *o++ = '_';
            *sl_put_ll(o, N(j, SF_ARRAY_TASK_ID)) = '\0';
            return b->s;
        }
        if (N(j, SF_ARRAY_THROTTLE) > 0)
            return cellf(b, "%lld_[%s%%%lld]", N(j, SF_ARRAY_JOB_ID), S(j, SF_ARRAY_TASKS),
                         N(j, SF_ARRAY_THROTTLE));
        return cellf(b, "%lld_[%s]", N(j, SF_ARRAY_JOB_ID), S(j, SF_ARRAY_TASKS));
    case 'A':
        return cell_ll(b, N(j, SF_JOB_ID));
    case 'F':
        return cell_ll(b, N(j, SF_ARRAY_JOB_ID) ? N(j, SF_ARRAY_JOB_ID) : N(j, SF_JOB_ID));
    case 'K':
        if (N(j, SF_ARRAY_TASK_ID) >= 0)
            return cell_ll(b, N(j, SF_ARRAY_TASK_ID));
        return or_text(S(j, SF_ARRAY_TASKS), "N/A");
    case 'P':
        return S(j, SF_PARTITION);
    case 'j':
        return S(j, SF_NAME);
    case 'u':
        return S(j, SF_USER);
    case 'U':
        return cell_ll(b, N(j, SF_UID));
    case 'g':
        return S(j, SF_GROUP);
    case 'G':
        return cell_ll(b, N(j, SF_GID));
    case 'T': /* nodes still booting: Slurm's CONFIGURING; being cleaned up: COMPLETING */
        if (N(j, SF_COMPLETING))
            return "COMPLETING";
        return N(j, SF_CONFIGURING) ? "CONFIGURING" : S(j, SF_STATE);
    case 't':
        if (N(j, SF_COMPLETING))
            return "CG";
        if (N(j, SF_CONFIGURING))
            return "CF";
        return st >= 0 ? job_state_short(st) : S(j, SF_STATE);
    case 'M':
        return format_time_slurm(run_time(j, now), cell_room(b, sizeof(tb)), sizeof(tb));
    case 'l':
        return format_time_slurm(limit < 0 ? -1 : limit, cell_room(b, sizeof(tb)), sizeof(tb));
    case 'L': {
        if (limit < 0)
            return "UNLIMITED";
        if (job_state_is_final(st))
            return "0:00";
        long long left = limit - run_time(j, now);
        return format_time_slurm(left > 0 ? left : 0, cell_room(b, sizeof(tb)), sizeof(tb));
    }
    case 'D':
        return cell_ll(b, N(j, SF_NUM_NODES));
    case 'C':
        return cell_ll(b, N(j, SF_NUM_CPUS));
    case 'R':
        if (shows_reason(st) || !*S(j, SF_NODES)) {
            const char *r = or_text(S(j, SF_REASON), "None");
            size_t rl = strlen(r);
            char *o = cell_room(b, rl + 3);
            o[0] = '(';
            memcpy(o + 1, r, rl);
            o[rl + 1] = ')';
            o[rl + 2] = '\0';
            return o;
        }
        return S(j, SF_NODES);
    case 'N':
        return S(j, SF_NODES);
    case 'r':
        return or_text(S(j, SF_REASON), "None");
    case 'S':
        return cellf(b, "%s", cli_iso_time(N(j, SF_START_TIME), "N/A", tb, sizeof(tb)));
    case 'V':
        return cellf(b, "%s", cli_iso_time(N(j, SF_SUBMIT_TIME), "N/A", tb, sizeof(tb)));
    case 'e': {
        long long end = N(j, SF_END_TIME), start = N(j, SF_START_TIME);
        /* a running job is expected to end when its limit runs out */
        if (end <= 0 && start > 0 && limit >= 0 && !job_state_is_final(st))
            end = start + limit;
        return cellf(b, "%s", cli_iso_time(end, "N/A", tb, sizeof(tb)));
    }
    case 'Q':
        return cell_ll(b, N(j, SF_PRIORITY));
    case 'a':
        return or_text(S(j, SF_ACCOUNT), "(null)");
    case 'm':
        return cellf(b, "%s", cli_mem_str(N(j, SF_MEM), tb, sizeof(tb)));
    case 'Z':
        return S(j, SF_WORK_DIR);
    case 'k':
        return or_text(S(j, SF_COMMENT), "(null)");
    case 'B':
        return or_text(S(j, SF_BATCH_HOST), "n/a");
    case 'o':
        return or_text(S(j, SF_COMMAND), "(null)");
    }
    return "";
}

/* Output for --json: 1.5 kB a job, so written through one buffer rather
 * than a stdio call per cell. */
struct out {
    char *b;
    size_t len, cap;
};

static void out_flush(struct out *o)
{
    fwrite(o->b, 1, o->len, stdout);
    o->len = 0;
}

static void out_put(struct out *o, const char *s, size_t n)
{
    if (o->len + n > o->cap) {
        out_flush(o);
        if (n > o->cap) {
            fwrite(s, 1, n, stdout);
            return;
        }
    }
    memcpy(o->b + o->len, s, n);
    o->len += n;
}

static void out_indent(struct out *o, int depth)
{
    static const char spaces[] = "\n                                                              ";
    if (depth > (int)sizeof(spaces) / 2 - 1)
        depth = (int)sizeof(spaces) / 2 - 1;
    out_put(o, spaces, 1 + 2 * (size_t)depth);
}

/* Compact JSON text (as the controller writes a nested cell) printed as
 * jansson's JSON_INDENT(2) prints it, `depth` levels deep. */
static void out_indented(struct out *o, const char *p, size_t len, int depth)
{
    bool in_str = false;
    for (size_t i = 0; i < len; i++) {
        char ch = p[i];
        if (in_str) {
            out_put(o, p + i, 1);
            if (ch == '\\' && i + 1 < len)
                out_put(o, p + ++i, 1);
            else if (ch == '"')
                in_str = false;
            continue;
        }
        switch (ch) {
        case '"':
            in_str = true;
            out_put(o, p + i, 1);
            break;
        case '{': case '[':
            out_put(o, p + i, 1);
            if (i + 1 < len && (p[i + 1] == '}' || p[i + 1] == ']')) {
                out_put(o, p + ++i, 1); /* empty: "{}", "[]" */
                break;
            }
            out_indent(o, ++depth);
            break;
        case '}': case ']':
            out_indent(o, --depth);
            out_put(o, p + i, 1);
            break;
        case ',':
            out_put(o, ",", 1);
            out_indent(o, depth);
            break;
        case ':':
            out_put(o, ": ", 2);
            break;
        default:
            out_put(o, p + i, 1);
        }
    }
}

/* --json from the compact reply: the objects the controller would have
 * sent, printed as jansson's JSON_INDENT(2) prints them (the cells are
 * the values' compact JSON text already; nested ones are re-indented). */
static void print_json_rows(struct sjob *const *sel, size_t n, json_t *cols)
{
    size_t ncols = json_array_size(cols);
    int task_col = -1;
    char **key = xcalloc(ncols + 1, sizeof(char *)); /* ',\n      "name": ' */
    size_t *keylen = xcalloc(ncols + 1, sizeof(size_t));
    struct out o = {xmalloc(1 << 20), 0, 1 << 20};
    for (size_t k = 0; k < ncols; k++) {
        const char *name = json_string_value(json_array_get(cols, k));
        if (!strcmp(name, "array_task_id"))
            task_col = (int)k;
        key[k] = xasprintf(",\n      \"%s\": ", name);
        keylen[k] = strlen(key[k]);
    }
    out_put(&o, "{\n  \"jobs\": [", 13);
    for (size_t r = 0; r < n; r++) {
        const char *p = sel[r]->raw;
        bool first = true;
        out_put(&o, r ? ",\n    {" : "\n    {", r ? 7 : 6);
        for (size_t k = 0; k < ncols; k++) {
            size_t len = strcspn(p, "\t\n");
            if (len) {
                out_put(&o, key[k] + first, keylen[k] - first);
                first = false;
                if ((int)k == task_col) {
                    /* -r: the task this line stands for */
                    char t[24];
                    out_put(&o, t, (size_t)snprintf(t, sizeof(t), "%lld", sel[r]->task));
                } else if (*p == '{' || *p == '[') {
                    out_indented(&o, p, len, 3);
                } else {
                    out_put(&o, p, len);
                }
            }
            p += len + (p[len] != '\0');
        }
        out_put(&o, "\n    }", 6);
    }
    if (n)
        out_put(&o, "\n  ]\n}\n", 7);
    else
        out_put(&o, "]\n}\n", 4);
    out_flush(&o);
    free(o.b);
    for (size_t k = 0; k < ncols; k++)
        free(key[k]);
    free(key);
    free(keylen);
}

/* squeue -r: an array record's pending tasks, a line each: copies of the
 * record with their own task id, in blocks so the lines never move. */
struct task_block {
    struct task_block *next;
    size_t used;
    struct sjob line[1024];
};

static struct sjob *task_line(struct task_block **blocks, const struct sjob *job, long task)
{
    if (!*blocks || (*blocks)->used == sizeof((*blocks)->line) / sizeof((*blocks)->line[0])) {
        struct task_block *b = xmalloc(sizeof(*b));
        b->next = *blocks;
        b->used = 0;
        *blocks = b;
    }
    struct sjob *l = &(*blocks)->line[(*blocks)->used++];
    *l = *job;
    l->task = task;
    return l;
}

static void task_blocks_free(struct task_block *b)
{
    while (b) {
        struct task_block *next = b->next;
        free(b);
        b = next;
    }
}

static int cmp_jobs(const void *a, const void *b)
{
    const struct sjob *x = *(struct sjob *const *)a, *y = *(struct sjob *const *)b;
    int c = strcmp(S(x, SF_PARTITION), S(y, SF_PARTITION));
    if (c)
        return c;
    if (x->state != y->state)
        return x->state < y->state ? -1 : 1;
    long long px = N(x, SF_PRIORITY), py = N(y, SF_PRIORITY);
    if (px != py)
        return px > py ? -1 : 1;
    long long ix = N(x, SF_JOB_ID), iy = N(y, SF_JOB_ID);
    if (ix != iy)
        return ix < iy ? -1 : 1;
    /* -r: the tasks of one pending record, in task order */
    ix = x->task, iy = y->task;
    return ix < iy ? -1 : ix > iy;
}

static bool in_order(struct sjob *const *sel, size_t n)
{
    for (size_t k = 1; k < n; k++)
        if (cmp_jobs(&sel[k - 1], &sel[k]) > 0)
            return false;
    return true;
}

enum { OPT_ME = 0x100, OPT_HELP, OPT_USAGE, OPT_START, OPT_JSON };

/* squeue -s: running steps, one line each */
#define STEP_FORMAT "%.15i %.8j %.9P %.8u %.9M %N"
#define STEP_FIELDS "ijPuMNDtT"

static const char *step_header_of(char t)
{
    switch (t) {
    case 'i': return "STEPID";
    case 'j': return "NAME";
    case 'P': return "PARTITION";
    case 'u': return "USER";
    case 'M': return "TIME";
    case 'N': return "NODELIST";
    case 'D': return "NODES";
    case 't': return "ST";
    case 'T': return "STATE";
    default: return "";
    }
}

static char *step_field(char t, const json_t *job, const json_t *step, time_t now)
{
    char buf[64];
    switch (t) {
    case 'i':
        return xasprintf("%lld.%lld", cli_jint(job, "job_id", 0), cli_jint(step, "step_id", 0));
    case 'j': return xstrdup(cli_jstr(step, "name"));
    case 'P': return xstrdup(cli_jstr(job, "partition"));
    case 'u': return xstrdup(cli_jstr(job, "user"));
    case 'M': return xstrdup(cli_secs2clock(now - cli_jint(step, "start_time", now), buf, sizeof(buf)));
    case 'N': return xstrdup(cli_jstr(step, "nodes"));
    case 'D': return xasprintf("%lld", cli_jint(step, "nnodes", 1));
    case 't': return xstrdup("R");
    case 'T': return xstrdup(cli_jstr(step, "state"));
    default: return xstrdup("");
    }
}

static void print_steps(json_t **sel, size_t n, const char *format, bool noheader, time_t now)
{
    sl_error_t err;
    struct fmt_spec *f = fmt_parse(format ? format : STEP_FORMAT, STEP_FIELDS, &err);
    size_t nrows = 0, cap = 16;
    char ***rows = xcalloc(cap, sizeof(char **));
    const char **header;

    if (!f) {
        cli_error("%s", err.text);
        free(rows);
        return;
    }
    header = xcalloc(f->count, sizeof(char *));
    for (size_t k = 0; k < f->count; k++)
        header[k] = f->items[k].type ? step_header_of(f->items[k].type) : NULL;
    for (size_t r = 0; r < n; r++) {
        size_t i;
        json_t *step;
        json_array_foreach(json_object_get(sel[r], "steps"), i, step)
        {
            if (nrows + 1 >= cap)
                rows = xrealloc(rows, (cap *= 2) * sizeof(char **));
            rows[nrows] = xcalloc(f->count, sizeof(char *));
            for (size_t k = 0; k < f->count; k++)
                if (f->items[k].type)
                    rows[nrows][k] = step_field(f->items[k].type, sel[r], step, now);
            nrows++;
        }
    }
    fmt_print_table(stdout, f, noheader ? NULL : header, rows, nrows);
    for (size_t r = 0; r < nrows; r++) {
        for (size_t k = 0; k < f->count; k++)
            free(rows[r][k]);
        free(rows[r]);
    }
    free(rows);
    free(header);
    fmt_destroy(f);
}

/* -O/--Format long names and the %-letters they stand for. */
static const struct {
    const char *name;
    char letter;
} long_fields[] = {
    {"jobid", 'i'},        {"jobarrayid", 'i'},    {"arrayjobid", 'F'},   {"arraytaskid", 'K'},
    {"name", 'j'},         {"username", 'u'},      {"userid", 'U'},       {"groupname", 'g'},
    {"state", 'T'},        {"statecompact", 't'},  {"partition", 'P'},    {"timeused", 'M'},
    {"timelimit", 'l'},    {"timeleft", 'L'},      {"numnodes", 'D'},     {"numcpus", 'C'},
    {"nodelist", 'N'},     {"reason", 'r'},        {"reasonlist", 'R'},   {"starttime", 'S'},
    {"submittime", 'V'},   {"endtime", 'e'},       {"priority", 'Q'},     {"account", 'a'},
    {"minmemory", 'm'},    {"workdir", 'Z'},       {"comment", 'k'},      {"batchhost", 'B'},
    {"command", 'o'},
};

/* "jobid:10,name,state:8" -> "%-10i%-20j%-8T" (Slurm's -O: width 20 unless
 * given, left-justified; a trailing '.' before the width right-justifies). */
static char *long_format(const char *spec, sl_error_t *err)
{
    char **items = cli_split_list(spec, NULL);
    size_t cap = 256, len = 0;
    char *out = xcalloc(1, cap);
    for (char **p = items; *p; p++) {
        char *colon = strchr(*p, ':');
        int width = 20;
        bool right = false;
        if (colon) {
            *colon = 0;
            if (colon[1] == '.') {
                right = true;
                colon++;
            }
            width = atoi(colon + 1);
            if (width <= 0)
                width = 20;
        }
        char letter = 0;
        for (size_t k = 0; k < sizeof(long_fields) / sizeof(long_fields[0]); k++)
            if (!strcasecmp(long_fields[k].name, *p))
                letter = long_fields[k].letter;
        if (!letter) {
            errprintf(err, "Invalid job format specification: %s", *p);
            cli_argv_free(items);
            free(out);
            return NULL;
        }
        char part[32];
        int n = snprintf(part, sizeof(part), "%%%s%d%c", right ? "." : "-", width, letter);
        if (len + (size_t)n + 1 > cap)
            out = xrealloc(out, cap *= 2);
        memcpy(out + len, part, (size_t)n + 1);
        len += (size_t)n;
    }
    cli_argv_free(items);
    return out;
}

/* Does job match a -j item "ID" or "ID_TASKS"? */
static bool id_item_matches(const struct sjob *job, long id, const char *tasks)
{
    long long jid = N(job, SF_JOB_ID), aid = N(job, SF_ARRAY_JOB_ID);
    long long tid = job->task;
    if (!tasks)
        return jid == id || aid == id;
    if (aid != id)
        return false;
    /* task list: plain numbers and ranges */
    char *copy = xstrdup(tasks), *save = NULL;
    bool hit = false;
    for (char *t = strtok_r(copy, ",", &save); t && !hit; t = strtok_r(NULL, ",", &save)) {
        long lo = strtol(t, &t, 10), hi = lo;
        if (*t == '-')
            hi = strtol(t + 1, NULL, 10);
        if (tid >= 0)
            hit = tid >= lo && tid <= hi;
        else
            hit = true; /* the pending record: it holds some of them */
    }
    free(copy);
    return hit;
}

static const struct option long_opts[] = {
    {"noheader", no_argument, NULL, 'h'},
    {"jobs", required_argument, NULL, 'j'},
    {"job", required_argument, NULL, 'j'},
    {"long", no_argument, NULL, 'l'},
    {"format", required_argument, NULL, 'o'},
    {"partition", required_argument, NULL, 'p'},
    {"partitions", required_argument, NULL, 'p'},
    {"states", required_argument, NULL, 't'},
    {"state", required_argument, NULL, 't'},
    {"user", required_argument, NULL, 'u'},
    {"users", required_argument, NULL, 'u'},
    {"all", no_argument, NULL, 'a'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"me", no_argument, NULL, OPT_ME},
    {"start", no_argument, NULL, OPT_START},
    {"json", no_argument, NULL, OPT_JSON},
    {"Format", required_argument, NULL, 'O'},
    {"name", required_argument, NULL, 'n'},
    {"array", no_argument, NULL, 'r'},
    {"steps", optional_argument, NULL, 's'},
    {"help", no_argument, NULL, OPT_HELP},
    {"usage", no_argument, NULL, OPT_USAGE},
    {NULL, 0, NULL, 0},
};

static bool in_list(char **list, const char *s)
{
    for (char **p = list; p && *p; p++)
        if (!strcmp(*p, s))
            return true;
    return false;
}

int main(int argc, char **argv)
{
    bool noheader = false, longfmt = false, all_states = false;
    const char *format = NULL;
    json_t *job_ids = json_array(), *user_ids = json_array(), *states = json_array();
    json_t *parts = json_array();
    char **part_list = NULL;
    bool state_wanted[JOB_STATE_COUNT] = {false}, want_completing = false;
    bool states_given = false, start_view = false, expand_arrays = false, json_out = false;
    bool steps_view = false;
    json_t *id_filters = json_array();
    char *long_fmt = NULL, **name_list = NULL;
    struct fmt_spec *f = NULL;
    json_t *body = NULL, *reply = NULL;
    struct sjob *all = NULL; /* the jobs of the reply */
    union cell *cells = NULL; /* ...and their cells */
    struct sl_reply_data data = {0}; /* the compact reply's rows, cut in place */
    struct pieces pieces = {0}; /* the rows' text, cut in place */
    struct rowset rs = {0};
    int c, rc, ret = 1;
    sl_error_t err;

    cli_init("squeue");
    argv[0] = (char *)cli_prog; /* getopt names the tool as Slurm does */
    while ((c = getopt_long(argc, argv, "hj:lO:n:o:p:rst:u:avV", long_opts, NULL)) != -1) {
        switch (c) {
        case 'h':
            noheader = true;
            break;
        case 'j': {
            char **ids = cli_split_list(optarg, NULL);
            for (char **p = ids; *p; p++) {
                char *tasks = NULL;
                long id = cli_parse_array_jobid(*p, &tasks);
                if (id < 0) {
                    cli_error("Invalid job id: %s", *p);
                    return 1;
                }
                json_array_append_new(job_ids, json_integer(id));
                json_array_append_new(id_filters, json_pack("{s:I, s:s?}", "id", (json_int_t)id,
                                                            "tasks", tasks));
                free(tasks);
            }
            cli_argv_free(ids);
            break;
        }
        case 'l':
            longfmt = true;
            break;
        case 'o':
            format = optarg;
            break;
        case 'p':
            cli_argv_free(part_list);
            part_list = cli_split_list(optarg, NULL);
            json_array_clear(parts);
            for (char **p = part_list; *p; p++)
                json_array_append_new(parts, json_string(*p));
            break;
        case 't': {
            char **sl = cli_split_list(optarg, NULL);
            states_given = true;
            for (char **p = sl; *p; p++) {
                int s;
                if (!strcasecmp(*p, "all")) {
                    all_states = true;
                    continue;
                }
                if (!strcasecmp(*p, "CG") || !strcasecmp(*p, "COMPLETING")) {
                    /* ended, nodes still cleaning up: a flag on a final state */
                    want_completing = true;
                    continue;
                }
                if (!strcasecmp(*p, "CF") || !strcasecmp(*p, "CONFIGURING")) {
                    /* running on nodes still booting: part of RUNNING here */
                    state_wanted[JOB_RUNNING] = true;
                    continue;
                }
                if ((s = job_state_from_name(*p)) < 0) {
                    cli_error("Invalid job state specified: %s", *p);
                    fprintf(stderr, "Valid job states include: PENDING, RUNNING, SUSPENDED, "
                                    "COMPLETING, CONFIGURING, COMPLETED, CANCELLED, FAILED, "
                                    "TIMEOUT, NODE_FAIL, PREEMPTED, BOOT_FAIL, DEADLINE, "
                                    "OUT_OF_MEMORY\n");
                    return 1;
                }
                state_wanted[s] = true;
            }
            cli_argv_free(sl);
            break;
        }
        case 'u': {
            char **ul = cli_split_list(optarg, NULL);
            for (char **p = ul; *p; p++) {
                uid_t uid;
                if (cli_user_to_uid(*p, &uid) < 0) {
                    cli_error("Invalid user: %s", *p);
                    return 1;
                }
                json_array_append_new(user_ids, json_integer(uid));
            }
            cli_argv_free(ul);
            break;
        }
        case OPT_ME:
            json_array_append_new(user_ids, json_integer(getuid()));
            break;
        case 'r':
            expand_arrays = true;
            break;
        case 's':
            steps_view = true;
            break;
        case OPT_JSON:
            json_out = true;
            break;
        case 'O':
            free(long_fmt);
            if (!(long_fmt = long_format(optarg, &err))) {
                cli_error("%s", err.text);
                goto done;
            }
            format = long_fmt;
            break;
        case 'n':
            cli_argv_free(name_list);
            name_list = cli_split_list(optarg, NULL);
            break;
        case OPT_START:
            /* expected start times of pending jobs, as Slurm's --start */
            start_view = true;
            break;
        case 'a':
        case 'v':
            break;
        case 'V':
            cli_print_version();
            exit(0);
        case OPT_HELP:
            help();
            exit(0);
        case OPT_USAGE:
            usage(stdout);
            exit(0);
        default:
            fprintf(stderr, "Try \"squeue --help\" for more information\n");
            return 1;
        }
    }
    if (optind < argc) {
        cli_error("Unrecognized option: %s", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (steps_view) {
        /* steps run in running jobs; the format names step fields */
        states_given = true;
        state_wanted[JOB_RUNNING] = true;
    }
    if (!format && !steps_view)
        format = start_view ? START_FORMAT : longfmt ? LONG_FORMAT : DEFAULT_FORMAT;
    if (start_view && !states_given) {
        states_given = true;
        state_wanted[JOB_PENDING] = true;
    }
    f = fmt_parse(steps_view ? DEFAULT_FORMAT : format, FIELDS, &err);
    if (!f) {
        cli_error("%s", err.text);
        goto done;
    }
    /* completing jobs have a final state: the ctld's state filter would drop them */
    if (states_given && !all_states && !want_completing)
        for (int s = 0; s < JOB_STATE_COUNT; s++)
            if (state_wanted[s])
                json_array_append_new(states, json_string(job_state_name(s)));

    body = json_object();
    if (json_array_size(job_ids))
        json_object_set(body, "job_ids", job_ids);
    if (json_array_size(user_ids))
        json_object_set(body, "user_ids", user_ids);
    if (json_array_size(states))
        json_object_set(body, "states", states);
    if (json_array_size(parts))
        json_object_set(body, "partitions", parts);
    if (!states_given && !json_array_size(job_ids))
        json_object_set_new(body, "active", json_true()); /* finished jobs are not shown */
    if (json_out && !steps_view) {
        /* every field, as rows: printed as the objects they stand for */
        json_object_set_new(body, "fields", json_pack("[s]", "*"));
    } else if (!steps_view) {
        /* only what the format shows, sorting and filtering need: the
         * controller sends those as compact rows */
        unsigned long long need = (1ULL << SF_JOB_ID) | (1ULL << SF_ARRAY_JOB_ID) |
                                  (1ULL << SF_ARRAY_TASK_ID) | (1ULL << SF_PARTITION) |
                                  (1ULL << SF_STATE) | (1ULL << SF_COMPLETING) |
                                  (1ULL << SF_PRIORITY);
        json_t *fl = json_array();
        for (size_t k = 0; k < f->count; k++)
            need |= letter_fields(f->items[k].type);
        if (json_array_size(user_ids))
            need |= 1ULL << SF_UID;
        if (name_list)
            need |= 1ULL << SF_NAME;
        if (expand_arrays)
            need |= 1ULL << SF_ARRAY_TASKS;
        for (int k = 0; k < SF_COUNT; k++)
            if (need & (1ULL << k))
                json_array_append_new(fl, json_string(sf_names[k]));
        json_object_set_new(body, "fields", fl);
    }
    /* rows in pieces, parsed while the controller writes the next ones
     * (tests turn it off to compare with the one-frame reply) */
    if (json_object_get(body, "fields") && !getenv("SLURMISH_SQUEUE_NO_STREAM"))
        json_object_set_new(body, "stream", json_true());
    if (cli_request_data(SL_MSG_QUERY_JOBS, body, &reply, &data, &rc, &err) < 0) {
        fflush(stdout);
        fprintf(stderr, "slurm_load_jobs error: %s\n", err.text);
        goto done;
    }

    time_t now = cli_jint(reply, "time", 0);
    if (now <= 0)
        now = time(NULL);
    json_t *jobs = json_object_get(reply, "jobs");
    json_t *row_cols = NULL;
    long nall;
    if (json_is_true(json_object_get(reply, "rows_frame"))) {
        json_t *cols = json_object_get(reply, "fields"), *e;
        size_t k, ncols = json_array_size(cols);
        int *field = xcalloc(ncols + 1, sizeof(int));
        for (int x = 0; x < SF_COUNT; x++)
            slot_of[x] = -1;
        nslots = 0;
        json_array_foreach(cols, k, e)
        {
            field[k] = -1;
            for (int x = 0; x < SF_COUNT; x++)
                if (json_is_string(e) && !strcmp(json_string_value(e), sf_names[x]) &&
                    slot_of[x] < 0) {
                    field[k] = x;
                    slot_of[x] = (int)nslots++;
                }
        }
        row_cols = cols;
        if (!ncols) {
            cli_error("malformed job list from the controller");
            free(field);
            goto done;
        }
        /* the rows: one frame after the envelope, or ("rows_stream")
         * pieces that follow it, each parsed as it arrives */
        bool stream = json_is_true(json_object_get(reply, "rows_stream"));
        for (;;) {
            struct sl_reply_data piece = data;
            memset(&data, 0, sizeof(data));
            if (stream && cli_stream_next(&piece, &err) < 0) {
                free(field);
                fflush(stdout);
                fprintf(stderr, "slurm_load_jobs error: %s\n", err.text);
                goto done;
            }
            if (!piece.text)
                break;
            char *text = piece.text, *raw = NULL;
            if (json_out) {
                /* printed as the controller wrote them, so parsed from a copy */
                raw = text;
                text = xmalloc(piece.len + 1);
                mem_hint_huge(text, piece.len + 1);
                memcpy(text, raw, piece.len + 1);
            }
            pieces_add(&pieces, &piece, raw ? text : NULL);
            if (rowset_parse(&rs, text, piece.len, raw, field, ncols) < 0) {
                free(field);
                cli_error("malformed job list from the controller");
                goto done;
            }
            if (!stream)
                break;
        }
        free(field);
        rowset_done(&rs);
        all = rs.jobs;
        cells = rs.cells;
        nall = (long)rs.n;
    } else {
        size_t k;
        json_t *job;
        slots_all();
        all = xcalloc(json_array_size(jobs) + 1, sizeof(*all));
        cells = xcalloc((json_array_size(jobs) + 1) * SF_COUNT, sizeof(*cells));
        json_array_foreach(jobs, k, job) sjob_from_object(&all[k], cells + k * SF_COUNT, job);
        nall = (long)json_array_size(jobs);
    }

    size_t n = 0, cap = (size_t)nall + 1;
    struct sjob **sel = xmalloc(cap * sizeof(*sel));
    struct task_block *tasks = NULL; /* -r: the lines of array tasks */
    json_t *expanded = json_array(); /* --json -r: the tasks' objects */
    size_t nfilters = json_array_size(id_filters);
    long *filter_id = xcalloc(nfilters + 1, sizeof(long));
    const char **filter_tasks = xcalloc(nfilters + 1, sizeof(char *));
    for (size_t k = 0; k < nfilters; k++) {
        json_t *fi = json_array_get(id_filters, k);
        filter_id[k] = (long)cli_jint(fi, "id", 0);
        filter_tasks[k] = cli_jstr(fi, "tasks")[0] ? cli_jstr(fi, "tasks") : NULL;
    }
    for (long r = 0; r < nall; r++) {
        struct sjob *job = &all[r];
        int st = job->state;
        bool id_match = true, user_match = true;
        if (nfilters) {
            id_match = false;
            for (size_t k = 0; k < nfilters && !id_match; k++)
                id_match = id_item_matches(job, filter_id[k], filter_tasks[k]);
        }
        if (json_array_size(user_ids)) {
            user_match = false;
            for (size_t k = 0; k < json_array_size(user_ids); k++)
                if (json_integer_value(json_array_get(user_ids, k)) == N(job, SF_UID))
                    user_match = true;
        }
        if (!id_match || !user_match)
            continue;
        if (part_list && !in_list(part_list, S(job, SF_PARTITION)))
            continue;
        if (name_list && !in_list(name_list, S(job, SF_NAME)))
            continue;
        bool completing = N(job, SF_COMPLETING);
        if (states_given && !all_states) {
            /* as Slurm: the base state matches, or CG matches a completing job */
            if (!(st >= 0 && state_wanted[st]) && !(want_completing && completing))
                continue;
        } else if (!states_given && !json_array_size(job_ids) && st >= 0 &&
                   job_state_is_final(st) && !completing) {
            continue; /* finished jobs show only when asked for; completing ones still do */
        }
        if (expand_arrays && N(job, SF_ARRAY_JOB_ID) && job->task < 0) {
            /* -r: one line per pending task, the record's fields with the task's id */
            char *copy = xstrdup(S(job, SF_ARRAY_TASKS)), *save = NULL;
            for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                long lo = strtol(t, &t, 10), hi = lo;
                if (*t == '-')
                    hi = strtol(t + 1, NULL, 10);
                for (long v = lo; v <= hi; v++) {
                    if (n >= cap)
                        sel = xrealloc(sel, (cap = cap * 2 + 16) * sizeof(*sel));
                    struct sjob *line = task_line(&tasks, job, v);
                    if (json_out && job->obj) {
                        json_t *one = json_deep_copy(job->obj);
                        json_object_set_new(one, "array_task_id", json_integer(v));
                        json_array_append_new(expanded, one);
                        line->obj = one;
                    }
                    sel[n++] = line;
                }
            }
            free(copy);
            continue;
        }
        if (n >= cap)
            sel = xrealloc(sel, (cap = cap * 2 + 16) * sizeof(*sel));
        sel[n++] = job;
    }
    free(filter_id);
    free(filter_tasks);
    /* the controller lists its jobs in id order, which is often squeue's
     * order already: then there is nothing to sort (the jobs that compare
     * equal are the same job, so no order among them shows) */
    if (!in_order(sel, n))
        qsort(sel, n, sizeof(*sel), cmp_jobs);
    if (steps_view && !json_out) {
        json_t **objs = xcalloc(n + 1, sizeof(*objs));
        for (size_t r = 0; r < n; r++)
            objs[r] = sel[r]->obj;
        print_steps(objs, n, format, noheader, now);
        free(objs);
        free(sel);
        task_blocks_free(tasks);
        json_decref(expanded);
        ret = 0;
        goto done;
    }
    if (json_out && row_cols) {
        print_json_rows(sel, n, row_cols);
        free(sel);
        task_blocks_free(tasks);
        json_decref(expanded);
        ret = 0;
        goto done;
    }
    if (json_out) {
        /* the selected jobs as the controller describes them */
        json_t *arr = json_array(), *o;
        for (size_t r = 0; r < n; r++)
            json_array_append(arr, sel[r]->obj);
        o = json_pack("{s:o}", "jobs", arr);
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        free(sel);
        task_blocks_free(tasks);
        json_decref(expanded);
        ret = 0;
        goto done;
    }

    const char **header = xcalloc(f->count, sizeof(char *));
    struct cellbuf *cb = xcalloc(f->count, sizeof(*cb));
    const char **line_cells = xcalloc(f->count, sizeof(char *));
    for (size_t k = 0; k < f->count; k++)
        header[k] = f->items[k].type ? header_of(f->items[k].type) : NULL;
    if (longfmt && !noheader) {
        char tbuf[64];
        struct tm tm;
        time_t t = time(NULL);
        localtime_r(&t, &tm);
        strftime(tbuf, sizeof(tbuf), "%a %b %d %H:%M:%S %Y", &tm);
        printf("%s\n", tbuf);
    }
    if (fmt_fixed_widths(f)) {
        /* every width known up front: one line at a time, nothing kept */
        struct fmt_line line = {0};
        if (!noheader)
            fmt_write_line(stdout, f, header, &line);
        for (size_t r = 0; r < n; r++) {
            for (size_t k = 0; k < f->count; k++)
                if (f->items[k].type)
                    line_cells[k] = job_field(f->items[k].type, sel[r], now, &cb[k]);
            fmt_write_line(stdout, f, line_cells, &line);
        }
        free(line.buf);
    } else {
        /* '#' widths: the widest value first */
        char ***rows = xcalloc(n + 1, sizeof(char **));
        for (size_t r = 0; r < n; r++) {
            rows[r] = xcalloc(f->count, sizeof(char *));
            for (size_t k = 0; k < f->count; k++)
                if (f->items[k].type)
                    rows[r][k] = xstrdup(job_field(f->items[k].type, sel[r], now, &cb[k]));
        }
        fmt_print_table(stdout, f, noheader ? NULL : header, rows, n);
        for (size_t r = 0; r < n; r++) {
            for (size_t k = 0; k < f->count; k++)
                free(rows[r][k]);
            free(rows[r]);
        }
        free(rows);
    }
    for (size_t k = 0; k < f->count; k++)
        free(cb[k].s);
    free(cb);
    free(line_cells);
    free(header);
    free(sel);
    task_blocks_free(tasks);
    json_decref(expanded);
    ret = 0;
done:
    if (all != rs.jobs) { /* the objects' reply */
        free(all);
        free(cells);
    }
    rowset_free(&rs);
    pieces_free(&pieces);
    sl_reply_data_free(&data);
    json_decref(reply);
    json_decref(body);
    json_decref(job_ids);
    json_decref(id_filters);
    json_decref(user_ids);
    json_decref(states);
    json_decref(parts);
    cli_argv_free(part_list);
    cli_argv_free(name_list);
    free(long_fmt);
    fmt_destroy(f);
    cli_fini();
    return ret;
}
