/* hostlist.h - Slurm hostlist expressions: expand "cpu[001-016,20],lm1"
 * into names and compress names back into the shortest such form.
 *
 * Syntax as Slurm's: comma-separated items; an item is text with any
 * number of bracketed range lists ("n[1-3]-ib", "r[1-2]n[1-4]", the
 * latter a cartesian product); a range keeps zero padding ("001-016").
 * Expansion is capped at HOSTLIST_MAX names so a hostile expression is an
 * error, not an out-of-memory.
 */
#ifndef SL_HOSTLIST_H
#define SL_HOSTLIST_H

#include <stddef.h>

#include "util/error.h"

#define HOSTLIST_MAX 1000000

struct hostlist;

/* NULL or "" gives an empty list; bad syntax gives NULL and an error. */
struct hostlist *hostlist_create(const char *expr, sl_error_t *err);
void hostlist_destroy(struct hostlist *hl);
size_t hostlist_count(const struct hostlist *hl);
const char *hostlist_nth(const struct hostlist *hl, size_t i);
/* Append a name or an expression; -1 on bad syntax or OOM. */
int hostlist_push(struct hostlist *hl, const char *name_or_expr);
int hostlist_push_err(struct hostlist *hl, const char *name_or_expr, sl_error_t *err);
int hostlist_find(const struct hostlist *hl, const char *name); /* index or -1 */
void hostlist_uniq(struct hostlist *hl);                        /* sort, drop duplicates */
/* Compressed form, e.g. "cpu[001-003,005],lm1" (malloc'd; NULL on OOM). */
char *hostlist_ranged_string(const struct hostlist *hl);

int hostlist_expand(const char *expr, char ***names, size_t *count, sl_error_t *err);
char *hostlist_compress(char *const *names, size_t count);

#endif
