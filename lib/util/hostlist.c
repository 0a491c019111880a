/* hostlist.c - see hostlist.h.
 *
 * Compression groups consecutive names that share a prefix, a suffix-free
 * numeric tail and the same zero-padding width, as Slurm does: the list
 * "n1,n2,n3,m1" becomes "n[1-3],m1".  Order is kept; hostlist_uniq()
 * sorts first when a canonical form is wanted.
 */
#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hostlist.h"

struct hostlist {
    char **names;
    size_t count, cap;
};

static int hl_append(struct hostlist *hl, const char *name, size_t len)
{
    if (hl->count >= HOSTLIST_MAX) {
        errno = E2BIG;
        return -1;
    }
    if (hl->count == hl->cap) {
        size_t ncap = hl->cap ? hl->cap * 2 : 16;
        char **n = realloc(hl->names, ncap * sizeof(*n));
        if (!n)
            return -1;
        hl->names = n;
        hl->cap = ncap;
    }
    char *s = malloc(len + 1);
    if (!s)
        return -1;
    memcpy(s, name, len);
    s[len] = 0;
    hl->names[hl->count++] = s;
    return 0;
}

/* Expand one item (no top-level commas) by recursing over its brackets. */
static int expand_item(struct hostlist *hl, const char *prefix, size_t plen, const char *rest,
                       sl_error_t *err, const char *whole)
{
    const char *open = strchr(rest, '[');
    if (!open) {
        if (strchr(rest, ']'))
            return errprintf(err, "unbalanced ']' in hostlist \"%s\"", whole);
        size_t rlen = strlen(rest);
        char *name = malloc(plen + rlen + 1);
        if (!name)
            return errprintf(err, "out of memory");
        memcpy(name, prefix, plen);
        memcpy(name + plen, rest, rlen);
        if (plen + rlen == 0) {
            free(name);
            return errprintf(err, "empty host name in hostlist \"%s\"", whole);
        }
        int rc = hl_append(hl, name, plen + rlen);
        free(name);
        if (rc < 0)
            return errprintf(err, "hostlist \"%.60s\" expands to more than %d names", whole,
                             HOSTLIST_MAX);
        return 0;
    }
    const char *close = strchr(open, ']');
    if (!close)
        return errprintf(err, "missing ']' in hostlist \"%s\"", whole);
    if (memchr(rest, ']', (size_t)(open - rest)))
        return errprintf(err, "unbalanced ']' in hostlist \"%s\"", whole);
    size_t lit = (size_t)(open - rest);
    char *base = malloc(plen + lit + 32);
    if (!base)
        return errprintf(err, "out of memory");
    memcpy(base, prefix, plen);
    memcpy(base + plen, rest, lit);
    /* ranges inside the brackets */
    const char *p = open + 1;
    if (p == close) {
        free(base);
        return errprintf(err, "empty brackets in hostlist \"%s\"", whole);
    }
    while (p < close) {
        const char *q = p;
        while (q < close && isdigit((unsigned char)*q))
            q++;
        if (q == p) {
            free(base);
            return errprintf(err, "expected a number in hostlist \"%s\"", whole);
        }
        int width = (int)(q - p);
        if (width > 18) {
            free(base);
            return errprintf(err, "number too long in hostlist \"%s\"", whole);
        }
        unsigned long long lo = strtoull(p, NULL, 10), hi = lo;
        int hiwidth = width;
        if (*q == '-') {
            const char *r = ++q;
            while (q < close && isdigit((unsigned char)*q))
                q++;
            if (q == r || q - r > 18) {
                free(base);
                return errprintf(err, "bad range in hostlist \"%s\"", whole);
            }
            hi = strtoull(r, NULL, 10);
            hiwidth = (int)(q - r);
        }
        if (q < close && *q != ',') {
            free(base);
            return errprintf(err, "unexpected '%c' in hostlist \"%s\"", *q, whole);
        }
        if (hi < lo) {
            free(base);
            return errprintf(err, "range %llu-%llu goes backwards in hostlist \"%s\"", lo, hi,
                             whole);
        }
        if (hi - lo >= HOSTLIST_MAX) {
            free(base);
            return errprintf(err, "hostlist \"%.60s\" expands to more than %d names", whole,
                             HOSTLIST_MAX);
        }
        /* Slurm pads to the width of the low bound when it is zero-padded. */
        int pad = (p[0] == '0' && width > 1) ? width : 0;
        (void)hiwidth;
        for (unsigned long long v = lo; v <= hi; v++) {
            int n = snprintf(base + plen + lit, 32, "%0*llu", pad, v);
            if (expand_item(hl, base, plen + lit + (size_t)n, close + 1, err, whole) < 0) {
                free(base);
                return -1;
            }
        }
        p = (*q == ',') ? q + 1 : q;
        if (*q == ',' && p == close) {
            free(base);
            return errprintf(err, "trailing ',' in brackets of hostlist \"%s\"", whole);
        }
    }
    free(base);
    return 0;
}

int hostlist_push(struct hostlist *hl, const char *expr)
{
    return hostlist_push_err(hl, expr, NULL);
}

int hostlist_push_err(struct hostlist *hl, const char *expr, sl_error_t *err)
{
    size_t len = strlen(expr), i = 0;
    char *item = malloc(len + 1);
    if (!item)
        return errprintf(err, "out of memory");
    while (i < len) {
        /* split at commas outside brackets */
        size_t start = i;
        int depth = 0;
        for (; i < len; i++) {
            if (expr[i] == '[')
                depth++;
            else if (expr[i] == ']')
                depth--;
            else if (expr[i] == ',' && depth == 0)
                break;
            if (depth < 0 || depth > 1) {
                free(item);
                return errprintf(err, "unbalanced brackets in hostlist \"%s\"", expr);
            }
        }
        memcpy(item, expr + start, i - start);
        item[i - start] = 0;
        if (i - start == 0 || isspace((unsigned char)item[0])) {
            free(item);
            return errprintf(err, "empty host name in hostlist \"%s\"", expr);
        }
        if (expand_item(hl, "", 0, item, err, expr) < 0) {
            free(item);
            return -1;
        }
        i++; /* skip the comma */
        if (i == len && expr[len - 1] == ',') {
            free(item);
            return errprintf(err, "trailing ',' in hostlist \"%s\"", expr);
        }
    }
    free(item);
    return 0;
}

struct hostlist *hostlist_create(const char *expr, sl_error_t *err)
{
    struct hostlist *hl = calloc(1, sizeof(*hl));
    if (!hl) {
        errprintf(err, "out of memory");
        return NULL;
    }
    if (expr && *expr && hostlist_push_err(hl, expr, err) < 0) {
        hostlist_destroy(hl);
        return NULL;
    }
    return hl;
}

void hostlist_destroy(struct hostlist *hl)
{
    if (!hl)
        return;
    int saved = errno;
    for (size_t i = 0; i < hl->count; i++)
        free(hl->names[i]);
    free(hl->names);
    free(hl);
    errno = saved;
}

size_t hostlist_count(const struct hostlist *hl)
{
    return hl ? hl->count : 0;
}

const char *hostlist_nth(const struct hostlist *hl, size_t i)
{
    return (hl && i < hl->count) ? hl->names[i] : NULL;
}

int hostlist_find(const struct hostlist *hl, const char *name)
{
    for (size_t i = 0; i < hl->count; i++)
        if (strcmp(hl->names[i], name) == 0)
            return (int)i;
    return -1;
}

/* Split a name into prefix and trailing number (Slurm compresses on the
 * last run of digits).  Returns false when the name has no such number. */
static bool split_name(const char *s, size_t *plen, unsigned long long *num, int *width)
{
    size_t len = strlen(s), i = len;
    while (i > 0 && isdigit((unsigned char)s[i - 1]))
        i--;
    if (i == len || len - i > 18)
        return false;
    *plen = i;
    *num = strtoull(s + i, NULL, 10);
    *width = (int)(len - i);
    return true;
}

/* Natural order: compare piece by piece, runs of digits by value, so the
 * order is consistent (n2 < n10, and n1x sorts among the n1s). */
static int cmp_names(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    while (*x && *y) {
        if (isdigit((unsigned char)*x) && isdigit((unsigned char)*y)) {
            const char *xs = x, *ys = y;
            while (*xs == '0' && isdigit((unsigned char)xs[1]))
                xs++;
            while (*ys == '0' && isdigit((unsigned char)ys[1]))
                ys++;
            const char *xe = xs, *ye = ys;
            while (isdigit((unsigned char)*xe))
                xe++;
            while (isdigit((unsigned char)*ye))
                ye++;
            if (xe - xs != ye - ys)
                return (xe - xs) < (ye - ys) ? -1 : 1;
            int c = strncmp(xs, ys, (size_t)(xe - xs));
            if (c)
                return c;
            /* equal values: the shorter padding first, then go on */
            if ((xe - x) != (ye - y))
                return (xe - x) < (ye - y) ? -1 : 1;
            x = xe;
            y = ye;
        } else {
            if (*x != *y)
                return (unsigned char)*x < (unsigned char)*y ? -1 : 1;
            x++;
            y++;
        }
    }
    return *x ? 1 : *y ? -1 : 0;
}

void hostlist_uniq(struct hostlist *hl)
{
    size_t out = 0;
    if (hl->count < 2)
        return;
    qsort(hl->names, hl->count, sizeof(char *), cmp_names);
    for (size_t i = 0; i < hl->count; i++) {
        if (out > 0 && strcmp(hl->names[out - 1], hl->names[i]) == 0)
            free(hl->names[i]);
        else
            hl->names[out++] = hl->names[i];
    }
    hl->count = out;
}

struct strbuf {
    char *s;
    size_t len, cap;
    bool oom;
};

static void sb_add(struct strbuf *b, const char *s, size_t n)
{
    if (b->oom)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t ncap = (b->cap ? b->cap * 2 : 64) + n;
        char *p = realloc(b->s, ncap);
        if (!p) {
            b->oom = true;
            return;
        }
        b->s = p;
        b->cap = ncap;
    }
    memcpy(b->s + b->len, s, n);
    b->len += n;
    b->s[b->len] = 0;
}

static void sb_num(struct strbuf *b, unsigned long long v, int width, bool padded)
{
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%0*llu", padded ? width : 0, v);
    sb_add(b, tmp, (size_t)n);
}

char *hostlist_ranged_string(const struct hostlist *hl)
{
    struct strbuf b = {0};
    size_t i = 0;

    sb_add(&b, "", 0);
    while (i < hl->count) {
        const char *first = hl->names[i];
        size_t plen;
        unsigned long long num;
        int width;
        if (i > 0)
            sb_add(&b, ",", 1);
        if (!split_name(first, &plen, &num, &width)) {
            sb_add(&b, first, strlen(first));
            i++;
            continue;
        }
        bool padded = (first[plen] == '0' && width > 1);
        /* gather following names with the same prefix and padding */
        size_t j = i + 1;
        while (j < hl->count) {
            size_t pl;
            unsigned long long nn;
            int w;
            const char *s = hl->names[j];
            if (!split_name(s, &pl, &nn, &w) || pl != plen || strncmp(s, first, plen) != 0)
                break;
            bool pd = (s[pl] == '0' && w > 1);
            /* a zero-padded run keeps one width; an unpadded run takes no padded names */
            if (padded ? (w != width) : pd)
                break;
            j++;
        }
        if (j == i + 1) {
            sb_add(&b, first, strlen(first));
            i++;
            continue;
        }
        sb_add(&b, first, plen);
        sb_add(&b, "[", 1);
        size_t k = i;
        bool firstrange = true;
        while (k < j) {
            size_t pl;
            unsigned long long lo, hi, nn;
            int w;
            split_name(hl->names[k], &pl, &lo, &w);
            hi = lo;
            size_t m = k + 1;
            while (m < j) {
                split_name(hl->names[m], &pl, &nn, &w);
                if (nn != hi + 1)
                    break;
                hi = nn;
                m++;
            }
            if (!firstrange)
                sb_add(&b, ",", 1);
            firstrange = false;
            sb_num(&b, lo, width, padded);
            if (hi != lo) {
                sb_add(&b, "-", 1);
                sb_num(&b, hi, width, padded);
            }
            k = m;
        }
        sb_add(&b, "]", 1);
        i = j;
    }
    if (b.oom) {
        free(b.s);
        errno = ENOMEM;
        return NULL;
    }
    return b.s;
}

int hostlist_expand(const char *expr, char ***names, size_t *count, sl_error_t *err)
{
    struct hostlist *hl = hostlist_create(expr, err);
    if (!hl)
        return -1;
    *names = hl->names;
    *count = hl->count;
    if (!*names)
        *names = calloc(1, sizeof(char *));
    free(hl);
    return 0;
}

char *hostlist_compress(char *const *names, size_t count)
{
    struct hostlist hl = {.names = (char **)names, .count = count, .cap = count};
    return hostlist_ranged_string(&hl);
}
