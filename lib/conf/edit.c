/* edit.c - see edit.h */
#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "conf/edit.h"
#include "util/xmalloc.h"

struct kv {
    char *key;
    size_t key_start, key_end;
    size_t val_start, val_end;
    bool block;        /* the value is a block collection (on the lines below) */
};

struct item {
    char *name;
    size_t first_key;  /* offset of its first key (after "- ") */
    int key_col;       /* column of its keys */
    size_t end;        /* offset just past its last value */
    struct kv *kv;
    size_t nkv;
};

struct index {
    struct item *items;
    size_t n;
};

static void index_free(struct index *ix)
{
    for (size_t i = 0; i < ix->n; i++) {
        for (size_t k = 0; k < ix->items[i].nkv; k++)
            free(ix->items[i].kv[k].key);
        free(ix->items[i].kv);
        free(ix->items[i].name);
    }
    free(ix->items);
}

static bool is_flow(const yaml_event_t *ev)
{
    return (ev->type == YAML_SEQUENCE_START_EVENT &&
            ev->data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE) ||
           (ev->type == YAML_MAPPING_START_EVENT &&
            ev->data.mapping_start.style == YAML_FLOW_MAPPING_STYLE);
}

/* Consume events up to the end of the collection `start` began; *end is
 * the offset past its last character.  A block collection's end event is
 * marked at the next token (after the line break and indentation), so
 * its end is that of the last thing inside it. */
static int skip_collection(yaml_parser_t *p, const yaml_event_t *start, size_t *end)
{
    bool flow[64];
    int depth = 1;

    flow[0] = is_flow(start);
    *end = start->end_mark.index;
    while (depth > 0) {
        yaml_event_t ev;
        if (!yaml_parser_parse(p, &ev))
            return -1;
        if (ev.type == YAML_SEQUENCE_START_EVENT || ev.type == YAML_MAPPING_START_EVENT) {
            if (depth < 64)
                flow[depth] = is_flow(&ev);
            depth++;
        } else if (ev.type == YAML_SEQUENCE_END_EVENT || ev.type == YAML_MAPPING_END_EVENT) {
            depth--;
            if (depth < 64 && flow[depth])
                *end = ev.end_mark.index;
        } else if (ev.type == YAML_SCALAR_EVENT || ev.type == YAML_ALIAS_EVENT) {
            *end = ev.end_mark.index;
        } else if (ev.type == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            return -1;
        }
        yaml_event_delete(&ev);
    }
    return 0;
}

/* Where each partition and each of its keys and values is. */
static int index_text(const char *text, const char *list, struct index *ix, sl_error_t *err)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int depth = 0, rc = -1;
    bool want_key = true, in_parts = false;
    struct item *cur = NULL;
    char *top_key = NULL;

    memset(ix, 0, sizeof(*ix));
    yaml_parser_initialize(&p);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, strlen(text));
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            errprintf(err, "line %zu: YAML syntax error: %s", p.problem_mark.line + 1,
                      p.problem ? p.problem : "?");
            goto out;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (depth == 0 && t == YAML_MAPPING_START_EVENT) {
            depth = 1;
            want_key = true;
        } else if (depth == 1 && t == YAML_SCALAR_EVENT && want_key) {
            free(top_key);
            top_key = xstrdup((const char *)ev.data.scalar.value);
            want_key = false;
        } else if (depth == 1 && !want_key) {
            /* the value of a top-level key */
            if (!strcmp(top_key, list) && t == YAML_SEQUENCE_START_EVENT) {
                if (ev.data.sequence_start.style == YAML_FLOW_SEQUENCE_STYLE) {
                    errprintf(err, "%s are written as a flow list; edit the file by hand", list);
                    yaml_event_delete(&ev);
                    goto out;
                }
                in_parts = true;
                depth = 2;
            } else if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
                size_t end;
                if (skip_collection(&p, &ev, &end) < 0) {
                    errprintf(err, "line %zu: YAML syntax error: %s", p.problem_mark.line + 1,
                              p.problem ? p.problem : "unexpected end");
                    yaml_event_delete(&ev);
                    goto out;
                }
            }
            want_key = true;
        } else if (depth == 2 && in_parts && t == YAML_MAPPING_START_EVENT) {
            if (ev.data.mapping_start.style == YAML_FLOW_MAPPING_STYLE) {
                errprintf(err, "an entry of %s is written in flow style ({...}); edit the file "
                               "by hand", list);
                yaml_event_delete(&ev);
                goto out;
            }
            ix->items = xrealloc(ix->items, (ix->n + 1) * sizeof(*ix->items));
            cur = &ix->items[ix->n++];
            memset(cur, 0, sizeof(*cur));
            cur->first_key = ev.start_mark.index;
            cur->key_col = (int)ev.start_mark.column;
            depth = 3;
            want_key = true;
        } else if (depth == 2 && t == YAML_SEQUENCE_END_EVENT) {
            in_parts = false;
            depth = 1;
            want_key = true;
        } else if (depth == 3 && t == YAML_MAPPING_END_EVENT) {
            depth = 2;
            cur = NULL;
        } else if (depth == 3 && want_key && t == YAML_SCALAR_EVENT) {
            cur->kv = xrealloc(cur->kv, (cur->nkv + 1) * sizeof(*cur->kv));
            struct kv *kv = &cur->kv[cur->nkv++];
            kv->key = xstrdup((const char *)ev.data.scalar.value);
            kv->key_start = ev.start_mark.index;
            kv->key_end = ev.end_mark.index;
            want_key = false;
        } else if (depth == 3 && !want_key) {
            struct kv *kv = &cur->kv[cur->nkv - 1];
            kv->val_start = ev.start_mark.index;
            kv->val_end = ev.end_mark.index;
            kv->block = (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) &&
                        !is_flow(&ev);
            if (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT) {
                if (skip_collection(&p, &ev, &kv->val_end) < 0) {
                    errprintf(err, "line %zu: YAML syntax error: %s", p.problem_mark.line + 1,
                              p.problem ? p.problem : "unexpected end");
                    yaml_event_delete(&ev);
                    goto out;
                }
            } else if (t == YAML_SCALAR_EVENT && !strcmp(kv->key, "name")) {
                free(cur->name);
                cur->name = xstrdup((const char *)ev.data.scalar.value);
            }
            if (kv->val_end > cur->end)
                cur->end = kv->val_end;
            want_key = true;
        } else if (depth >= 2 && (t == YAML_SEQUENCE_START_EVENT || t == YAML_MAPPING_START_EVENT)) {
            size_t end;
            if (skip_collection(&p, &ev, &end) < 0) {
                errprintf(err, "line %zu: YAML syntax error: %s", p.problem_mark.line + 1,
                          p.problem ? p.problem : "unexpected end");
                yaml_event_delete(&ev);
                goto out;
            }
        }
        yaml_event_delete(&ev);
    }
    rc = 0;
out:
    free(top_key);
    yaml_parser_delete(&p);
    if (rc < 0)
        index_free(ix);
    return rc;
}

static size_t line_start(const char *text, size_t pos)
{
    while (pos > 0 && text[pos - 1] != '\n')
        pos--;
    return pos;
}

/* Offset of the line after the one holding the character before pos. */
static size_t next_line(const char *text, size_t pos)
{
    size_t len = strlen(text);
    if (pos > 0 && text[pos - 1] == '\n')
        return pos;
    while (pos < len && text[pos] != '\n')
        pos++;
    return pos < len ? pos + 1 : len;
}

static char *splice(const char *text, size_t from, size_t to, const char *ins)
{
    size_t len = strlen(text), il = strlen(ins);
    char *out = xmalloc(len - (to - from) + il + 2);
    memcpy(out, text, from);
    memcpy(out + from, ins, il);
    memcpy(out + from + il, text + to, len - to + 1);
    return out;
}

/* What an entry of list is called in messages. */
static const char *entry_kind(const char *list)
{
    return !strcmp(list, "partitions") ? "partition"
           : !strcmp(list, "node_groups") ? "node group"
                                          : list;
}

static struct item *find_item(struct index *ix, const char *list, const char *part,
                              sl_error_t *err)
{
    for (size_t i = 0; i < ix->n; i++)
        if (ix->items[i].name && !strcmp(ix->items[i].name, part))
            return &ix->items[i];
    errprintf(err, "no %s \"%s\" in the file", entry_kind(list), part);
    return NULL;
}

/* The item's first line must be "   - key: ..." for line edits. */
static bool block_item(const char *text, const struct item *it)
{
    size_t ls = line_start(text, it->first_key);
    bool dash = false;
    for (size_t i = ls; i < it->first_key; i++) {
        if (text[i] == '-')
            dash = true;
        else if (text[i] != ' ')
            return false;
    }
    return dash;
}

char *sl_conf_edit_set(const char *text, const char *list, const char *part, const char *key, const char *value,
                       sl_error_t *err)
{
    struct index ix;
    struct item *it;
    char *out = NULL;

    if (index_text(text, list, &ix, err) < 0)
        return NULL;
    if (!(it = find_item(&ix, list, part, err)))
        goto out;
    for (size_t k = 0; k < it->nkv; k++)
        if (!strcmp(it->kv[k].key, key)) {
            struct kv *kv = &it->kv[k];
            if (kv->block) {
                /* a block list below the key becomes a value on the key's line */
                char *v = xasprintf(": %s", value);
                out = splice(text, kv->key_end, kv->val_end, v);
                free(v);
            } else {
                out = splice(text, kv->val_start, kv->val_end, value);
            }
            goto out;
        }
    if (!block_item(text, it)) {
        errprintf(err, "%s \"%s\" is not laid out one key per line; edit the file by hand",
                  entry_kind(list), part);
        goto out;
    }
    /* a new line after the partition's last, at its keys' indentation */
    size_t at = next_line(text, it->end);
    char *line = xasprintf("%s%*s%s: %s\n", at > 0 && text[at - 1] != '\n' ? "\n" : "",
                           it->key_col, "", key, value);
    out = splice(text, at, at, line);
    free(line);
out:
    index_free(&ix);
    return out;
}

char *sl_conf_edit_unset(const char *text, const char *list, const char *part, const char *key, sl_error_t *err)
{
    struct index ix;
    struct item *it;
    char *out = NULL;

    if (index_text(text, list, &ix, err) < 0)
        return NULL;
    if (!(it = find_item(&ix, list, part, err)))
        goto out;
    for (size_t k = 0; k < it->nkv; k++) {
        struct kv *kv = &it->kv[k];
        if (strcmp(kv->key, key) != 0)
            continue;
        if (k == 0 || !block_item(text, it)) {
            errprintf(err, "cannot remove \"%s\" from %s \"%s\" here; edit the file by hand",
                      key, entry_kind(list), part);
            goto out;
        }
        out = splice(text, line_start(text, kv->key_start), next_line(text, kv->val_end), "");
        goto out;
    }
    out = xstrdup(text);
out:
    index_free(&ix);
    return out;
}

char *sl_conf_edit_add(const char *text, const char *list, const char *const *keys, const char *const *values,
                       int n, sl_error_t *err)
{
    struct index ix;
    char *out = NULL, *block;
    size_t len = 0, cap = 256;

    if (index_text(text, list, &ix, err) < 0)
        return NULL;
    if (ix.n == 0 || !block_item(text, &ix.items[ix.n - 1])) {
        errprintf(err, "the file's partitions are not a block list to append to; edit it by "
                       "hand");
        goto out;
    }
    struct item *last = &ix.items[ix.n - 1];
    int key_col = last->key_col;
    size_t at = next_line(text, last->end);
    /* keep the file's habit of a blank line between partitions */
    bool blank = ix.n > 1 && line_start(text, ix.items[ix.n - 1].first_key) >= 2 &&
                 text[line_start(text, ix.items[ix.n - 1].first_key) - 2] == '\n';
    block = xcalloc(1, cap);
    for (int i = 0; i < n; i++) {
        char *line = xasprintf("%s%*s%s%s: %s\n", i == 0 && blank ? "\n" : "",
                               i == 0 ? key_col - 2 : key_col, "", i == 0 ? "- " : "", keys[i],
                               values[i]);
        size_t ll = strlen(line);
        if (len + ll + 1 > cap)
            block = xrealloc(block, cap = (len + ll + 1) * 2);
        memcpy(block + len, line, ll + 1);
        len += ll;
        free(line);
    }
    if (at > 0 && text[at - 1] != '\n') {
        char *b2 = xasprintf("\n%s", block);
        free(block);
        block = b2;
    }
    out = splice(text, at, at, block);
    free(block);
out:
    index_free(&ix);
    return out;
}

char *sl_conf_edit_remove(const char *text, const char *list, const char *part,
                           sl_error_t *err)
{
    struct index ix;
    struct item *it;
    char *out = NULL;

    if (index_text(text, list, &ix, err) < 0)
        return NULL;
    if (!(it = find_item(&ix, list, part, err)))
        goto out;
    if (!block_item(text, it)) {
        errprintf(err, "%s \"%s\" is not laid out one key per line; edit the file by hand",
                  entry_kind(list), part);
        goto out;
    }
    size_t from = line_start(text, it->first_key), to = next_line(text, it->end);
    /* and one of the blank lines around it */
    if (from >= 2 && text[from - 1] == '\n' && text[from - 2] == '\n')
        from--;
    else if (text[to] == '\n')
        to++;
    out = splice(text, from, to, "");
out:
    index_free(&ix);
    return out;
}

char *sl_conf_yaml_scalar(const char *s)
{
    bool plain = *s && !isspace((unsigned char)s[0]) && !isspace((unsigned char)s[strlen(s) - 1]);
    for (const char *p = s; *p && plain; p++)
        plain = isalnum((unsigned char)*p) || strchr("_.-+/@", *p);
    if (plain && strchr("-+.", s[0]))
        plain = isdigit((unsigned char)s[1]);
    if (plain)
        return xstrdup(s);
    size_t cap = strlen(s) * 4 + 3, k = 0;
    char *out = xmalloc(cap);
    out[k++] = '"';
    for (const char *p = s; *p; p++) {
        unsigned char ch = (unsigned char)*p;
        if (ch == '"' || ch == '\\') {
            out[k++] = '\\';
            out[k++] = (char)ch;
        } else if (ch < 0x20) {
            k += (size_t)snprintf(out + k, cap - k, "\\x%02x", ch);
        } else {
            out[k++] = (char)ch;
        }
    }
    out[k++] = '"';
    out[k] = 0;
    return out;
}

char *sl_conf_yaml_list(const char *comma_list)
{
    char *copy = xstrdup(comma_list), *save = NULL, *out = xstrdup("[");
    bool first = true;
    for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        while (isspace((unsigned char)*t))
            t++;
        char *e = t + strlen(t);
        while (e > t && isspace((unsigned char)e[-1]))
            *--e = 0;
        if (!*t)
            continue;
        char *v = sl_conf_yaml_scalar(t), *o = xasprintf("%s%s%s", out, first ? "" : ", ", v);
        free(v);
        free(out);
        out = o;
        first = false;
    }
    char *o = xasprintf("%s]", out);
    free(out);
    free(copy);
    return o;
}
