/* array.c - job arrays (--array=0-99, 1,3,5, 0-15:4, %N throttle).
 *
 * An array is one record, the meta job, holding the set of task ids still
 * pending as a bitmap: a 100,000-task array is one row and a few KiB.
 * When the scheduler starts a task, the task is split off into a record of
 * its own (a new job id; ArrayJobId_ArrayTaskId to the tools); the last
 * pending task takes over the meta record itself, as Slurm does.  Tasks
 * read the script and environment from the meta job's row.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctld.h"
#include "persist.h"
#include "types.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define ARRAY_MAX_INDEX 4000000 /* task ids 0..ARRAY_MAX_INDEX at most (max_array_size) */

static void bit_set(uint8_t *b, uint32_t i)
{
    b[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static bool bit_test(const uint8_t *b, uint32_t i)
{
    return (b[i >> 3] >> (i & 7)) & 1;
}

static void bit_clear(uint8_t *b, uint32_t i)
{
    b[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

int array_parse(const char *spec, struct job *job, sl_error_t *err)
{
    return array_parse_max(spec, ARRAY_MAX_INDEX, job, err);
}

int array_parse_max(const char *spec, uint32_t max_index, struct job *job, sl_error_t *err)
{
    char *copy = xstrdup(spec), *pct = strchr(copy, '%'), *save = NULL;
    uint32_t max = 0, min = UINT32_MAX, count = 0;
    int throttle = 0;

    if (pct) {
        char *end;
        long t = strtol(pct + 1, &end, 10);
        if (end == pct + 1 || *end || t < 0 || t > 1000000) {
            errprintf(err, "invalid throttle \"%s\"", pct);
            free(copy);
            return -1;
        }
        throttle = (int)t;
        *pct = 0;
    }
    size_t slen = strlen(copy);
    if (!slen || copy[0] == ',' || copy[slen - 1] == ',' || strstr(copy, ",,")) {
        errprintf(err, "invalid array specification \"%s\" (empty item)", spec);
        free(copy);
        return -1;
    }
    long over = -1; /* the first task id above max_index, for the message */
    if (max_index > ARRAY_MAX_INDEX)
        max_index = ARRAY_MAX_INDEX;
    uint8_t *bits = xcalloc(max_index / 8 + 1, 1);
    for (char *item = strtok_r(copy, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        char *end;
        long lo = strtol(item, &end, 10), hi = lo, step = 1;
        if (end == item)
            goto bad;
        if (*end == '-') {
            char *h = end + 1;
            hi = strtol(h, &end, 10);
            if (end == h)
                goto bad;
        }
        if (*end == ':') {
            char *s = end + 1;
            step = strtol(s, &end, 10);
            if (end == s || step < 1)
                goto bad;
        }
        if (*end || lo < 0 || hi < lo)
            goto bad;
        if (hi > (long)max_index) {
            over = lo > (long)max_index ? lo : hi;
            goto bad;
        }
        for (long v = lo; v <= hi; v += step) {
            if (!bit_test(bits, (uint32_t)v)) {
                bit_set(bits, (uint32_t)v);
                count++;
            }
            if ((uint32_t)v > max)
                max = (uint32_t)v;
            if ((uint32_t)v < min)
                min = (uint32_t)v;
        }
    }
    if (count == 0)
        goto bad;
    free(copy);
    /* keep only the bytes up to max */
    job->array_bits = xrealloc(bits, max / 8 + 1);
    job->array_nbits = max + 1;
    job->array_pending = count;
    job->array_count = count;
    job->array_min = min;
    job->array_max = max;
    job->array_throttle = throttle;
    job->array_task_id = -1;
    return 0;
bad:
    free(copy);
    free(bits);
    if (over >= 0)
        return errprintf(err, "task id %ld of \"%s\" is not below MaxArraySize=%lu "
                              "(max_array_size)",
                         over, spec, (unsigned long)max_index + 1);
    return errprintf(err, "invalid array specification \"%s\" (e.g. 0-99, 1,3,5, 0-15:4, %%N; "
                          "task ids up to %u)",
                     spec, max_index);
}

/* The pending task ids as Slurm prints them: "1-3,5,7-9". */
char *array_ranges(const struct job *job)
{
    size_t cap = 64, len = 0;
    char *s = xcalloc(1, cap);
    for (uint32_t i = 0; job->array_bits && i < job->array_nbits; i++) {
        if (!bit_test(job->array_bits, i))
            continue;
        uint32_t j = i;
        while (j + 1 < job->array_nbits && bit_test(job->array_bits, j + 1))
            j++;
        char part[32];
        int n = j > i ? snprintf(part, sizeof(part), "%s%u-%u", len ? "," : "", i, j)
                      : snprintf(part, sizeof(part), "%s%u", len ? "," : "", i);
        if (len + (size_t)n + 1 > cap)
            s = xrealloc(s, cap = (cap + (size_t)n) * 2);
        memcpy(s + len, part, (size_t)n + 1);
        len += (size_t)n;
        i = j;
    }
    return s;
}

/* Rebuild the bitmap from its stored ranges (persist.c). */
void array_load_ranges(struct job *job, const char *ranges)
{
    free(job->array_bits);
    job->array_bits = NULL;
    job->array_nbits = 0;
    job->array_pending = 0;
    if (!ranges || !*ranges)
        return;
    const char *last = strrchr(ranges, ',');
    const char *tail = last ? last + 1 : ranges;
    const char *dash = strchr(tail, '-');
    uint32_t max = (uint32_t)strtoul(dash ? dash + 1 : tail, NULL, 10);
    job->array_bits = xcalloc(max / 8 + 1, 1);
    job->array_nbits = max + 1;
    for (const char *p = ranges; *p;) {
        char *end;
        uint32_t lo = (uint32_t)strtoul(p, &end, 10), hi = lo;
        if (*end == '-')
            hi = (uint32_t)strtoul(end + 1, &end, 10);
        for (uint32_t v = lo; v <= hi && v <= max; v++) {
            bit_set(job->array_bits, v);
            job->array_pending++;
        }
        p = (*end == ',') ? end + 1 : end;
        if (end == p && *p)
            break;
    }
}

bool array_has_task(const struct job *meta, uint32_t task)
{
    return meta->array_bits && task < meta->array_nbits && bit_test(meta->array_bits, task);
}

/* Drop a pending task of the meta job (scancel 123_7). */
void array_drop_task(struct job *meta, uint32_t task)
{
    if (array_has_task(meta, task)) {
        bit_clear(meta->array_bits, task);
        meta->array_pending--;
    }
}

static int64_t lowest_task(const struct job *meta)
{
    for (uint32_t i = 0; i < meta->array_nbits; i++)
        if (bit_test(meta->array_bits, i))
            return i;
    return -1;
}

/* Split the lowest pending task off the meta job, ready to start.  The
 * last task is the meta record itself.  Returns the task's job. */
struct job *array_split(struct ctld *c, struct job *meta)
{
    int64_t t = lowest_task(meta);
    if (t < 0)
        fatalx("array job %u: split with no pending task", meta->id);
    bit_clear(meta->array_bits, (uint32_t)t);
    meta->array_pending--;
    meta->array_running++;
    if (meta->array_pending == 0) {
        meta->array_task_id = (int32_t)t; /* the meta record becomes the last task */
        free(meta->array_bits);
        meta->array_bits = NULL;
        meta->array_nbits = 0;
        return meta;
    }
    struct job *task = xcalloc(1, sizeof(*task));
    *task = *meta;
    task->id = c->next_job_id++;
    task->array_task_id = (int32_t)t;
    task->array_bits = NULL;
    task->array_nbits = 0;
    task->array_pending = 0;
    task->hnext = task->qprev = task->qnext = NULL;
    task->queued = task->in_table = false;
    task->alloc = NULL;
    task->gpu_masks = NULL;
    task->nodelist = NULL;
#define DUP(f) task->f = xstrdup(meta->f)
    DUP(name);
    DUP(user);
    DUP(group);
    DUP(partition);
    DUP(work_dir);
    DUP(out);
    DUP(err);
    DUP(in);
    DUP(submit_host);
    DUP(account);
    DUP(comment);
    DUP(command);
    DUP(gpu_type);
    DUP(constraint);
    DUP(req_nodes);
    DUP(exc_nodes);
    DUP(dependency);
#undef DUP
    /* the script and environment stay in the meta job's row */
    json_t *empty = json_array();
    persist_job_insert(c, task, "", empty, empty);
    json_decref(empty);
    persist_job_update(c, meta);
    job_insert(&c->jobs, task);
    job_queue_add(&c->jobs, task);
    return task;
}

/* A task ended: the meta job's running count goes down (throttle). */
void array_task_ended(struct ctld *c, struct job *task)
{
    if (!task->array_job_id || task->array_task_id < 0)
        return;
    struct job *meta = job_find(&c->jobs, task->array_job_id);
    if (meta && meta != task && meta->array_running > 0)
        meta->array_running--;
}
