/* jobjson.h - a job's JSON, written straight into a text buffer.
 *
 * One field table (jobjson.c) is the single description of a job's JSON:
 * job_to_json() (scontrol show job, sacct, srun's look-ups) parses what
 * it writes, and query_jobs writes the bulk list with it, so squeue over
 * a million jobs costs no jansson tree per job.
 *
 * Two shapes:
 *  - objects: {"job_id":1,"name":"x",...}, every field present for the
 *    job, in the table's order (the order job_to_json always had);
 *  - rows: the values of the fields asked for, in the order asked, cells
 *    separated by a tab and rows ended by a newline, a cell being the
 *    value's compact JSON text (empty: the job has no such field).  The
 *    rows travel as a raw frame after the reply's envelope, so a client
 *    parses them in one pass, with no JSON value per cell.
 */
#ifndef CTLD_JOBJSON_H
#define CTLD_JOBJSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ctld;
struct job;

/* A growing text buffer. */
struct jw {
    char *buf;
    size_t len, cap;
};

void jw_init(struct jw *w, size_t cap);
void jw_free(struct jw *w);
/* Give up the text (NUL-terminated); the writer is empty afterwards. */
char *jw_take(struct jw *w, size_t *len);
void jw_raw(struct jw *w, const char *s, size_t n);
void jw_puts(struct jw *w, const char *s);
void jw_str(struct jw *w, const char *s); /* a JSON string, quoted and escaped */
void jw_int(struct jw *w, long long v);
void jw_bool(struct jw *w, bool v);
void jw_real(struct jw *w, double v); /* as jansson writes a real */
/* The raw bytes s enter a JSON string: escaped, unquoted. */
void jw_escaped(struct jw *w, const char *s, size_t n);

/* Fields, by their JSON names.  -1 if unknown. */
int job_field_index(const char *name);
const char *job_field_name(int field);
int job_field_count(void);

/* Write a job as one JSON object (all its fields), without the closing
 * brace when open is true (the caller adds fields and the brace). */
void job_write_object(struct jw *w, struct ctld *c, const struct job *j, bool open);
/* Write one row of the given fields (see above), newline included. */
void job_write_row(struct jw *w, struct ctld *c, const struct job *j, const int *fields,
                   int nfields);

#endif
