/* edit.h - change partitions in the text of a slurmish.yaml, keeping the
 * rest of it byte for byte (comments, order, layout).
 *
 * The file stays the single source of truth: `scontrol update
 * PartitionName=...` edits it here, then the controller reloads the
 * result.  libyaml's events carry the byte offsets of every scalar and
 * collection, so an edit is a splice into the original text: a value
 * replaced, a "key: value" line added to a partition, a partition added
 * at the end of the list or its lines removed.
 *
 * Pure (text in, text out), unit-tested in tests/unit/test_conf_edit.c.
 * Every function returns a new malloc'd text, or NULL with err saying
 * why (partition not found, a layout it cannot edit safely...).
 */
#ifndef SL_CONF_EDIT_H
#define SL_CONF_EDIT_H

#include "util/error.h"

/* `list` is the top-level list the entry is in ("partitions" or
 * "node_groups"); entries are found by their "name".
 *
 * Set key (a key as in the file, e.g. "max_time") of entry `part` to `value`, already YAML text (see sl_conf_yaml_scalar() and
 * sl_conf_yaml_list()); the key is added if the partition lacks it. */
char *sl_conf_edit_set(const char *text, const char *list, const char *part, const char *key, const char *value,
                       sl_error_t *err);
/* Remove key from partition `part` (back to its default); no-op if absent. */
char *sl_conf_edit_unset(const char *text, const char *list, const char *part, const char *key, sl_error_t *err);
/* Append a partition: keys[i]: values[i] (YAML text), n of them, the
 * first should be "name". */
char *sl_conf_edit_add(const char *text, const char *list, const char *const *keys, const char *const *values,
                       int n, sl_error_t *err);
/* Remove partition `part` and its lines. */
char *sl_conf_edit_remove(const char *text, const char *list, const char *part,
                           sl_error_t *err);

/* A value as YAML: plain when that is read back as the same string by
 * any YAML reader, else double-quoted. */
char *sl_conf_yaml_scalar(const char *s);
/* "a,b" -> "[a, b]" (each item as sl_conf_yaml_scalar). */
char *sl_conf_yaml_list(const char *comma_list);

#endif
