/* fuzz_parse.c - Slurm-style values (lib/util/parse.h): time limits,
 * memory sizes, bounded integers and booleans.  Every input goes to each
 * parser.
 *
 * Properties checked beyond "no crash, no leak":
 *   - an accepted time limit is UNLIMITED (-1) or 0..2^40 seconds, and
 *     format_time_slurm() prints it in a form parse_time_limit() reads
 *     back to the same value;
 *   - an accepted size printed as "<n>M", "<n>G" or "<n>T" parses back
 *     to the same MiB;
 *   - parse_int_range() returns a value within its bounds, parse_bool()
 *     only for a yes/no word.
 */
#include "config.h"

#include <inttypes.h>
#include <limits.h>
#include <strings.h>

#include "fuzz.h"
#include "util/parse.h"

static void check_time(const char *s)
{
    int64_t t = -3, back = -3;
    sl_error_t err;
    char buf[64];

    if (parse_time_limit(s, &t, &err) < 0)
        return;
    if (t != -1 && (t < 0 || t > ((int64_t)1 << 40)))
        FUZZ_BUG("parse_time_limit(\"%s\") = %" PRId64, s, t);
    format_time_slurm(t, buf, sizeof(buf));
    if (parse_time_limit(buf, &back, &err) < 0)
        FUZZ_BUG("\"%s\" = %" PRId64 " s prints as \"%s\", which does not parse: %s", s, t, buf,
                 err.text);
    if (back != t)
        FUZZ_BUG("\"%s\" = %" PRId64 " s prints as \"%s\", which parses as %" PRId64, s, t, buf,
                 back);
}

static void check_size(const char *s)
{
    uint64_t mb = 0, back = 0;
    sl_error_t err;
    char buf[64] = "";
    static const struct {
        char unit;
        uint64_t mb;
    } units[] = {{'T', 1024 * 1024}, {'G', 1024}, {'M', 1}};

    if (parse_size_mb(s, &mb, &err) < 0)
        return;
    /* the largest unit that divides it exactly, if its count fits the
     * parser's 12 digits */
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (mb % units[i].mb)
            continue;
        if (mb / units[i].mb > UINT64_C(999999999999))
            return;
        snprintf(buf, sizeof(buf), "%" PRIu64 "%c", mb / units[i].mb, units[i].unit);
        break;
    }
    if (parse_size_mb(buf, &back, &err) < 0)
        FUZZ_BUG("\"%s\" = %" PRIu64 " MiB prints as \"%s\", which does not parse: %s", s, mb,
                 buf, err.text);
    if (back != mb)
        FUZZ_BUG("\"%s\" = %" PRIu64 " MiB prints as \"%s\", which parses as %" PRIu64, s, mb,
                 buf, back);
}

static void check_int(const char *s)
{
    static const long bounds[][2] = {{0, 1}, {1, 65535}, {-5, 5}, {LONG_MIN, LONG_MAX}};
    sl_error_t err;

    for (size_t i = 0; i < sizeof(bounds) / sizeof(bounds[0]); i++) {
        long v;
        if (parse_int_range(s, bounds[i][0], bounds[i][1], &v, &err) == 0 &&
            (v < bounds[i][0] || v > bounds[i][1]))
            FUZZ_BUG("parse_int_range(\"%s\", %ld, %ld) = %ld", s, bounds[i][0], bounds[i][1], v);
    }
}

static void check_bool(const char *s)
{
    static const char *const words[] = {"yes", "true", "on", "1", "no", "false", "off", "0"};
    bool b;

    if (parse_bool(s, &b) < 0)
        return;
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (!strcasecmp(s, words[i])) {
            if (b != (i < 4))
                FUZZ_BUG("parse_bool(\"%s\") = %d", s, b);
            return;
        }
    FUZZ_BUG("parse_bool accepted \"%s\"", s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fuzz_cstr(data, size);

    check_time(s);
    check_size(s);
    check_int(s);
    check_bool(s);
    free(s);
    return 0;
}
