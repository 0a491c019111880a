/* fuzz_hostlist.c - hostlist expressions: expand, compress, round trip.
 *
 * Properties checked beyond "no crash, no leak":
 *   - compress(expand(x)) expands back to the same names in the same
 *     order (hostlist_compress keeps order);
 *   - hostlist_create() takes what hostlist_expand() takes, with the
 *     same count, and hostlist_find() finds every name of the list;
 *   - after hostlist_uniq() no name is left twice, and the ranged string
 *     of the sorted list expands back to it too.
 */
#include "config.h"

#include "fuzz.h"
#include "util/hostlist.h"

/* hostlist_find() is linear: look every name up only in lists this short. */
#define FULL_CHECK_MAX 1000
/* Sorting a million names takes long; the sorted round trip needs no
 * such list to go wrong, so keep the fuzzer fast. */
#define SORT_CHECK_MAX 100000

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void free_names(char **names, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

static void same_list(const char *what, const char *expr, char **a, size_t na, char **b,
                      size_t nb)
{
    if (na != nb)
        FUZZ_BUG("%s: \"%s\" gives %zu names, its expansion %zu", what, expr, na, nb);
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            FUZZ_BUG("%s: \"%s\": name %zu is \"%s\", expected \"%s\"", what, expr, i, b[i],
                     a[i]);
}

/* compress(names) must expand back to names. */
static void round_trip(const char *what, const char *expr, char **names, size_t n)
{
    char *s = hostlist_compress(names, n);
    char **again = NULL;
    size_t m = 0;
    sl_error_t err;

    if (!s)
        FUZZ_BUG("%s: hostlist_compress failed for \"%s\"", what, expr);
    if (hostlist_expand(s, &again, &m, &err) < 0)
        FUZZ_BUG("%s: \"%s\" compresses to \"%s\", which does not expand: %s", what, expr, s,
                 err.text);
    same_list(what, s, names, n, again, m);
    free_names(again, m);
    free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *expr = fuzz_cstr(data, size);
    char **names = NULL;
    size_t n = 0;
    sl_error_t err;

    if (hostlist_expand(expr, &names, &n, &err) < 0) {
        free(expr);
        return 0;
    }
    if (!names)
        FUZZ_BUG("hostlist_expand succeeded without a vector");
    for (size_t i = 0; i < n; i++)
        if (!names[i] || !*names[i])
            FUZZ_BUG("\"%s\" expands to an empty name", expr);
    round_trip("compress(expand(x))", expr, names, n);
    free_names(names, n);
    if (n > SORT_CHECK_MAX) {
        free(expr);
        return 0;
    }

    struct hostlist *hl = hostlist_create(expr, &err);
    if (!hl)
        FUZZ_BUG("hostlist_create refused \"%s\" that hostlist_expand took: %s", expr, err.text);
    size_t count = hostlist_count(hl);
    if (count != n)
        FUZZ_BUG("hostlist_create and hostlist_expand disagree on \"%s\"", expr);
    if (count <= FULL_CHECK_MAX) {
        /* every name is found, at or before its own place */
        for (size_t i = 0; i < count; i++) {
            int at = hostlist_find(hl, hostlist_nth(hl, i));
            if (at < 0 || (size_t)at > i ||
                strcmp(hostlist_nth(hl, (size_t)at), hostlist_nth(hl, i)))
                FUZZ_BUG("hostlist_find does not find name %zu of \"%s\"", i, expr);
        }
    }
    hostlist_uniq(hl);
    count = hostlist_count(hl);
    if (count > 1) {
        /* no name twice, whatever order hostlist_uniq sorted them in */
        const char **v = malloc(count * sizeof(*v));
        if (!v)
            abort();
        for (size_t i = 0; i < count; i++)
            v[i] = hostlist_nth(hl, i);
        qsort(v, count, sizeof(*v), cmp_str);
        for (size_t i = 1; i < count; i++)
            if (!strcmp(v[i - 1], v[i]))
                FUZZ_BUG("hostlist_uniq left \"%s\" twice (from \"%s\")", v[i], expr);
        free(v);
    }
    char *ranged = hostlist_ranged_string(hl);
    if (!ranged)
        FUZZ_BUG("hostlist_ranged_string failed for \"%s\"", expr);
    struct hostlist *again = hostlist_create(ranged, &err);
    if (!again)
        FUZZ_BUG("sorted \"%s\" gives \"%s\", which does not expand: %s", expr, ranged, err.text);
    if (hostlist_count(again) != count)
        FUZZ_BUG("sorted \"%s\" gives \"%s\": %zu names, not %zu", expr, ranged,
                 hostlist_count(again), count);
    for (size_t i = 0; i < count; i++)
        if (strcmp(hostlist_nth(again, i), hostlist_nth(hl, i)))
            FUZZ_BUG("sorted \"%s\" gives \"%s\": name %zu is \"%s\", not \"%s\"", expr, ranged, i,
                     hostlist_nth(again, i), hostlist_nth(hl, i));
    hostlist_destroy(again);
    free(ranged);
    hostlist_destroy(hl);
    free(expr);
    return 0;
}
