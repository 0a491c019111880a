/* sinfo.c - view partitions and nodes.
 *
 * Input: -N (one line per node), -R (down/drained nodes and why), -s
 * (summary), -l (long), -p/-n/-t filters, -o format.  Action: one
 * query_partitions and one query_nodes request.  In the partition view
 * nodes of a partition whose printed attributes agree are gathered on
 * one line, with their count (%D), node list (%N) and CPU/node tallies
 * (%C, %F) summed, as Slurm does.  Exit 0, or 1 on any error.
 */
#include "config.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "cliutil.h"
#include "common.h"
#include "format.h"
#include "types.h"
#include "util/hostlist.h"
#include "util/parse.h"
#include "util/xmalloc.h"

#define PART_FORMAT "%#P %.5a %.10l %.6D %.6t %N"
#define PART_LONG_FORMAT "%#P %.5a %.10l %.10s %.4r %.8h %.10g %.6D %.11T %N"
#define NODE_FORMAT "%#N %.6D %#P %6t"
#define NODE_LONG_FORMAT "%#N %.6D %#P %.11T %.4c %.6m %.8f %20E"
#define SUMMARY_FORMAT "%#P %.5a %.10l %.16F %N"
#define REASON_FORMAT "%20E %9u %19H %N"
#define FIELDS "PRalLDtTNcmGfECFsrhguHp"

/* Fields summed over the nodes of a line rather than compared. */
#define AGGREGATE_FIELDS "DNCF"

static void usage(FILE *out)
{
    fprintf(out, "Usage: sinfo [-ahlNRsvV] [-t states] [-p partition] [-n nodes] [-o format]\n"
                 "             [--json] [--usage]\n");
}

static void help(void)
{
    printf("Usage: sinfo [OPTIONS]\n"
           "Show partitions and nodes: one line per partition and node state by default.\n"
           "\n"
           "Options:\n"
           "  -a, --all                  accepted for compatibility (all partitions are\n"
           "                             always shown)\n"
           "  -h, --noheader             no headers on output\n"
           "      --json                 print partitions and nodes as JSON\n"
           "  -l, --long                 long output - displays more information\n"
           "  -n, --nodes=NODES          report on specific node(s) (a hostlist)\n"
           "  -N, --Node                 Node-centric format\n"
           "  -o, --format=format        format specification: %%[.][width]field with\n"
           "                             fields R (partition), a (avail), l (time limit),\n"
           "                             L (default time), D (nodes), T (state),\n"
           "                             t (compact state), N (node list), c (CPUs),\n"
           "                             m (memory), G (gres), f (features), E (reason),\n"
           "                             C (CPUs A/I/O/T), F (nodes A/I/O/T), s (job size),\n"
           "                             r (root only), h (oversubscribe), g (groups),\n"
           "                             u (user), H (timestamp), p (priority tier)\n"
           "  -p, --partition=PARTITION  report on specific partition\n"
           "  -R, --list-reasons         list reason nodes are down or drained\n"
           "  -s, --summarize            report state summary only\n"
           "  -t, --states=node_state    only nodes in these states (idle, alloc, mix,\n"
           "                             down, drain, powered_down, ...)\n"
           "  -v, --verbose              verbosity level\n"
           "  -V, --version              output version information and exit\n"
           "\n"
           "Help options:\n"
           "      --help                 show this help message\n"
           "      --usage                display brief usage message\n");
}

static const char *header_of(char t)
{
    switch (t) {
    case 'P':
    case 'R':
        return "PARTITION";
    case 'a':
        return "AVAIL";
    case 'l':
        return "TIMELIMIT";
    case 'L':
        return "DEFAULTTIME";
    case 'D':
        return "NODES";
    case 't':
    case 'T':
        return "STATE";
    case 'N':
        return "NODELIST";
    case 'c':
        return "CPUS";
    case 'm':
        return "MEMORY";
    case 'G':
        return "GRES";
    case 'f':
        return "AVAIL_FEATURES";
    case 'E':
        return "REASON";
    case 'C':
        return "CPUS(A/I/O/T)";
    case 'F':
        return "NODES(A/I/O/T)";
    case 's':
        return "JOB_SIZE";
    case 'r':
        return "ROOT";
    case 'h':
        return "OVERSUBSCRIBE";
    case 'g':
        return "GROUPS";
    case 'u':
        return "USER";
    case 'H':
        return "TIMESTAMP";
    case 'p':
        return "PRIO_TIER";
    }
    return "";
}

struct node_info {
    const json_t *obj;
    int state; /* enum node_state */
    bool drain, not_responding;
};

static void node_info_fill(struct node_info *ni, const json_t *node)
{
    json_t *flags = json_object_get(node, "flags"), *v;
    size_t i;

    ni->obj = node;
    ni->state = node_state_from_name(cli_jstr(node, "state"));
    if (ni->state < 0)
        ni->state = NODE_UNKNOWN;
    ni->drain = ni->not_responding = false;
    json_array_foreach(flags, i, v)
    {
        const char *s = json_string_value(v);
        if (s && !strcmp(s, "DRAIN"))
            ni->drain = true;
        else if (s && !strcmp(s, "NOT_RESPONDING"))
            ni->not_responding = true;
    }
}

/* A node that can take no work: down, drained, or not responding. */
static bool node_other(const struct node_info *ni)
{
    return ni->state == NODE_DOWN || ni->state == NODE_UNKNOWN || ni->drain || ni->not_responding;
}

static char *state_short(const struct node_info *ni)
{
    const char *s = cli_jstr(ni->obj, "state_short");
    char buf[64];

    if (*s)
        return xstrdup(s);
    return xstrdup(node_state_string(ni->state,
                                     (ni->drain ? NODE_FLAG_DRAIN : 0) |
                                         (ni->not_responding ? NODE_FLAG_NOT_RESPONDING : 0),
                                     true, buf, sizeof(buf)));
}

/* sinfo's long state: lower case, "*" when the node does not respond. */
static char *state_long(const struct node_info *ni)
{
    const char *base;
    bool busy = ni->state == NODE_ALLOCATED || ni->state == NODE_MIXED;
    char buf[64];

    if (ni->drain && ni->state != NODE_DOWN)
        base = busy ? "draining" : "drained";
    else
        base = node_state_name(ni->state);
    /* power states carry Slurm's suffix in the long form too: "idle~" */
    const char *pw = cli_jstr(ni->obj, "power_state");
    const char *suffix = !strcmp(pw, "POWERED_DOWN")    ? "~"
                         : !strcmp(pw, "POWERING_UP")   ? "#"
                         : !strcmp(pw, "POWERING_DOWN") ? "%"
                         : !strcmp(pw, "POWER_DOWN")    ? "!"
                                                        : "";
    snprintf(buf, sizeof(buf), "%s%s%s", base, ni->not_responding ? "*" : "", suffix);
    for (char *p = buf; *p; p++)
        *p = tolower((unsigned char)*p);
    return xstrdup(buf);
}

static char *time_str(long long secs, const char *unset)
{
    char buf[64];

    if (secs == -1)
        return xstrdup("infinite");
    if (secs < 0)
        return xstrdup(unset);
    return xstrdup(format_time_slurm(secs, buf, sizeof(buf)));
}

static char *part_avail(const json_t *part)
{
    const char *s = cli_jstr(part, "state");

    if (!part)
        return xstrdup("n/a");
    if (!strcmp(s, "INACTIVE"))
        return xstrdup("inact");
    char *r = xstrdup(*s ? s : "n/a");
    for (char *p = r; *p; p++)
        *p = tolower((unsigned char)*p);
    return r;
}

/* Value of a non-aggregate field for a node (NULL ni: the partition
 * has no nodes) in partition `part` (may be NULL in -R view). */
static char *field(char t, const json_t *part, const struct node_info *ni)
{
    char buf[512];
    const json_t *n = ni ? ni->obj : NULL;

    switch (t) {
    case 'P':
        if (!part)
            return xstrdup("");
        return xasprintf("%s%s", cli_jstr(part, "name"), cli_jbool(part, "default") ? "*" : "");
    case 'R':
        return xstrdup(part ? cli_jstr(part, "name") : "");
    case 'a':
        return part_avail(part);
    case 'l':
        return part ? time_str(cli_jint(part, "max_time", -1), "n/a") : xstrdup("n/a");
    case 'L':
        return part ? time_str(cli_jint(part, "default_time", -2), "n/a") : xstrdup("n/a");
    case 's': {
        long long mx = part ? cli_jint(part, "max_nodes", -1) : -1;
        return mx < 0 ? xstrdup("1-infinite") : xasprintf("1-%lld", mx);
    }
    case 'r':
        return xstrdup("no");
    case 'h':
        return xstrdup("NO");
    case 'g':
        return xstrdup("all");
    case 'p':
        return xasprintf("%lld", part ? cli_jint(part, "priority_tier", 1) : 0);
    }
    if (!ni) {
        /* an empty partition still gets its line */
        switch (t) {
        case 't':
        case 'T':
            return xstrdup("n/a");
        case 'c':
        case 'm':
            return xstrdup("0");
        }
        return xstrdup("(null)");
    }
    switch (t) {
    case 't':
        return state_short(ni);
    case 'T':
        return state_long(ni);
    case 'c':
        return xasprintf("%lld", cli_jint(n, "cpus", 0));
    case 'm':
        return xasprintf("%lld", cli_jint(n, "memory_mb", 0));
    case 'G': {
        long long g = cli_jint(n, "gpus", 0);
        const char *type = cli_jstr(n, "gpu_type");
        if (g <= 0)
            return xstrdup("(null)");
        return *type ? xasprintf("gpu:%s:%lld", type, g) : xasprintf("gpu:%lld", g);
    }
    case 'f':
        cli_jjoin(n, "features", ",", buf, sizeof(buf));
        return xstrdup(*buf ? buf : "(null)");
    case 'E':
        return xstrdup(*cli_jstr(n, "reason") ? cli_jstr(n, "reason") : "none");
    case 'u':
        if (*cli_jstr(n, "reason_user"))
            return xstrdup(cli_jstr(n, "reason_user"));
        return xstrdup("Unknown");
    case 'H':
        return xstrdup(cli_iso_time(cli_jint(n, "reason_time", 0), "Unknown", buf, sizeof(buf)));
    }
    return xstrdup("");
}

/* One output line being gathered. */
struct line {
    char *key;
    char **cells;
    struct hostlist *hl;
    long count;
    long cpu[4];  /* A I O T */
    long node[4]; /* A I O T */
};

struct table {
    struct line *lines;
    size_t n;
};

static void line_add_node(struct line *l, const struct node_info *ni)
{
    long tot = cli_jint(ni->obj, "cpus", 0), alloc = cli_jint(ni->obj, "cpus_alloc", 0);
    const char *name = cli_jstr(ni->obj, "name");

    l->count++;
    if (!l->hl) {
        sl_error_t err;
        l->hl = hostlist_create(name, &err);
    } else {
        hostlist_push(l->hl, name);
    }
    l->cpu[0] += alloc;
    l->cpu[3] += tot;
    l->node[3]++;
    if (node_other(ni)) {
        l->cpu[2] += tot - alloc;
        l->node[2]++;
    } else {
        l->cpu[1] += tot - alloc > 0 ? tot - alloc : 0;
        l->node[alloc > 0 ? 0 : 1]++;
    }
}

/* Find or make the line for this partition/node pair. */
static void gather(struct table *t, const struct fmt_spec *f, const json_t *part,
                   const struct node_info *ni, bool per_node)
{
    char **cells = xcalloc(f->count, sizeof(char *));
    size_t klen = 1;

    for (size_t i = 0; i < f->count; i++) {
        char ty = f->items[i].type;
        if (ty && !strchr(AGGREGATE_FIELDS, ty)) {
            cells[i] = field(ty, part, ni);
            klen += strlen(cells[i]) + 1;
        }
    }
    char *key = xcalloc(1, klen);
    for (size_t i = 0; i < f->count; i++)
        if (cells[i]) {
            strcat(key, cells[i]);
            strcat(key, "\x1f");
        }
    if (!per_node && ni) {
        for (size_t i = 0; i < t->n; i++) {
            if (!strcmp(t->lines[i].key, key)) {
                line_add_node(&t->lines[i], ni);
                for (size_t k = 0; k < f->count; k++)
                    free(cells[k]);
                free(cells);
                free(key);
                return;
            }
        }
    }
    t->lines = xrealloc(t->lines, (t->n + 1) * sizeof(*t->lines));
    struct line *l = &t->lines[t->n++];
    memset(l, 0, sizeof(*l));
    l->key = key;
    l->cells = cells;
    if (ni)
        line_add_node(l, ni);
}

static void finish_line(struct line *l, const struct fmt_spec *f)
{
    for (size_t i = 0; i < f->count; i++) {
        switch (f->items[i].type) {
        case 'D':
            l->cells[i] = xasprintf("%ld", l->count);
            break;
        case 'N':
            l->cells[i] = l->hl ? hostlist_ranged_string(l->hl) : xstrdup("");
            if (!l->cells[i])
                l->cells[i] = xstrdup("");
            break;
        case 'C':
            l->cells[i] = xasprintf("%ld/%ld/%ld/%ld", l->cpu[0], l->cpu[1], l->cpu[2], l->cpu[3]);
            break;
        case 'F':
            l->cells[i] =
                xasprintf("%ld/%ld/%ld/%ld", l->node[0], l->node[1], l->node[2], l->node[3]);
            break;
        }
    }
}

static bool in_list(char **list, const char *s)
{
    for (char **p = list; p && *p; p++)
        if (!strcasecmp(*p, s))
            return true;
    return false;
}

static bool node_in_part(const json_t *node, const char *part)
{
    json_t *v;
    size_t i;

    json_array_foreach(json_object_get(node, "partitions"), i, v)
    {
        if (json_string_value(v) && !strcmp(json_string_value(v), part))
            return true;
    }
    return false;
}

/* -t matches a node's short or long state, without the "*". */
static bool state_matches(char **states, const struct node_info *ni)
{
    char *s = state_short(ni), *l = state_long(ni);
    bool ok;

    s[strcspn(s, "*~#$@%!^-")] = '\0';
    l[strcspn(l, "*~#$@%!^-")] = '\0';
    char power[32];
    snprintf(power, sizeof(power), "%s", cli_jstr(ni->obj, "power_state"));
    for (char *p = power; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    ok = in_list(states, s) || in_list(states, l) || in_list(states, node_state_name(ni->state)) ||
         (*power && strcmp(power, "on") && in_list(states, power)) ||
         (cli_jbool(ni->obj, "cloud") && in_list(states, "cloud")) ||
         (ni->drain && in_list(states, "drain")) ||
         (ni->not_responding && in_list(states, "no_respond"));
    free(s);
    free(l);
    return ok;
}

enum { OPT_HELP = 0x100, OPT_USAGE, OPT_JSON };

static const struct option long_opts[] = {
    {"json", no_argument, NULL, OPT_JSON},
    {"noheader", no_argument, NULL, 'h'},
    {"long", no_argument, NULL, 'l'},
    {"nodes", required_argument, NULL, 'n'},
    {"Node", no_argument, NULL, 'N'},
    {"format", required_argument, NULL, 'o'},
    {"partition", required_argument, NULL, 'p'},
    {"list-reasons", no_argument, NULL, 'R'},
    {"summarize", no_argument, NULL, 's'},
    {"states", required_argument, NULL, 't'},
    {"verbose", no_argument, NULL, 'v'},
    {"version", no_argument, NULL, 'V'},
    {"all", no_argument, NULL, 'a'},
    {"help", no_argument, NULL, OPT_HELP},
    {"usage", no_argument, NULL, OPT_USAGE},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
    bool noheader = false, longfmt = false, node_view = false, reasons = false, summary = false;
    bool json_out = false;
    const char *format = NULL;
    char **part_filter = NULL, **state_filter = NULL;
    struct hostlist *node_filter = NULL;
    int c, rc, ret = 1;
    sl_error_t err;

    cli_init("sinfo");
    argv[0] = (char *)cli_prog; /* getopt names the tool as Slurm does */
    while ((c = getopt_long(argc, argv, "hln:No:p:Rst:vVa", long_opts, NULL)) != -1) {
        switch (c) {
        case OPT_JSON:
            json_out = true;
            break;
        case 'h':
            noheader = true;
            break;
        case 'l':
            longfmt = true;
            break;
        case 'n':
            hostlist_destroy(node_filter);
            if (!(node_filter = hostlist_create(optarg, &err))) {
                cli_error("Invalid node name specified: %s", err.text);
                return 1;
            }
            break;
        case 'N':
            node_view = true;
            break;
        case 'o':
            format = optarg;
            break;
        case 'p':
            cli_argv_free(part_filter);
            part_filter = cli_split_list(optarg, NULL);
            break;
        case 'R':
            reasons = true;
            break;
        case 's':
            summary = true;
            break;
        case 't':
            cli_argv_free(state_filter);
            state_filter = cli_split_list(optarg, NULL);
            break;
        case 'v':
        case 'a':
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
            fprintf(stderr, "Try \"sinfo --help\" for more information\n");
            return 1;
        }
    }
    if (optind < argc) {
        cli_error("Unrecognized option: %s", argv[optind]);
        usage(stderr);
        return 1;
    }
    if (!format) {
        if (reasons)
            format = REASON_FORMAT;
        else if (summary)
            format = SUMMARY_FORMAT;
        else if (node_view)
            format = longfmt ? NODE_LONG_FORMAT : NODE_FORMAT;
        else
            format = longfmt ? PART_LONG_FORMAT : PART_FORMAT;
    }
    struct fmt_spec *f = fmt_parse(format, FIELDS, &err);
    if (!f) {
        cli_error("%s", err.text);
        return 1;
    }

    json_t *preply = NULL, *nreply = NULL;
    if (cli_request(SL_MSG_QUERY_PARTITIONS, NULL, &preply, &rc, &err) < 0) {
        fflush(stdout);
        fprintf(stderr, "slurm_load_partitions: %s\n", err.text);
        goto done;
    }
    if (cli_request(SL_MSG_QUERY_NODES, NULL, &nreply, &rc, &err) < 0) {
        fflush(stdout);
        fprintf(stderr, "slurm_load_node: %s\n", err.text);
        goto done;
    }

    if (json_out) {
        /* the controller's objects, as Slurm's --json gives its own */
        json_t *o = json_pack("{s:O, s:O}", "partitions", json_object_get(preply, "partitions"),
                              "nodes", json_object_get(nreply, "nodes"));
        json_dumpf(o, stdout, JSON_INDENT(2));
        putchar('\n');
        json_decref(o);
        ret = 0;
        goto done;
    }
    json_t *parts = json_object_get(preply, "partitions"),
           *nodes = json_object_get(nreply, "nodes");
    size_t nn = json_array_size(nodes), pi, ni_;
    struct node_info *info = xcalloc(nn + 1, sizeof(*info));
    bool *keep = xcalloc(nn + 1, sizeof(bool));
    json_t *part, *node;
    struct table t = {0};

    json_array_foreach(nodes, ni_, node)
    {
        node_info_fill(&info[ni_], node);
        keep[ni_] = true;
        if (node_filter) {
            keep[ni_] = false;
            for (size_t k = 0; k < hostlist_count(node_filter); k++)
                if (!strcmp(hostlist_nth(node_filter, k), cli_jstr(node, "name")))
                    keep[ni_] = true;
        }
        if (state_filter && !state_matches(state_filter, &info[ni_]))
            keep[ni_] = false;
        if (reasons &&
            !(info[ni_].drain || info[ni_].state == NODE_DOWN || info[ni_].not_responding))
            keep[ni_] = false;
    }

    if (reasons) {
        /* -R: one line per reason, whatever the partition */
        for (size_t k = 0; k < nn; k++)
            if (keep[k])
                gather(&t, f, NULL, &info[k], false);
    } else if (node_view) {
        /* -N: node by node, in the controller's (name) order */
        for (size_t k = 0; k < nn; k++) {
            if (!keep[k])
                continue;
            json_array_foreach(parts, pi, part)
            {
                const char *pname = cli_jstr(part, "name");
                if (part_filter && !in_list(part_filter, pname))
                    continue;
                if (node_in_part(info[k].obj, pname))
                    gather(&t, f, part, &info[k], true);
            }
        }
    } else {
        json_array_foreach(parts, pi, part)
        {
            const char *pname = cli_jstr(part, "name");
            size_t found = 0;
            if (part_filter && !in_list(part_filter, pname))
                continue;
            for (size_t k = 0; k < nn; k++) {
                if (!node_in_part(info[k].obj, pname))
                    continue;
                found++;
                if (keep[k])
                    gather(&t, f, part, &info[k], false);
            }
            if (!found && !node_filter && !state_filter)
                gather(&t, f, part, NULL, false);
        }
    }

    const char **header = xcalloc(f->count, sizeof(char *));
    char ***rows = xcalloc(t.n + 1, sizeof(char **));
    for (size_t k = 0; k < f->count; k++)
        header[k] = f->items[k].type ? header_of(f->items[k].type) : NULL;
    for (size_t r = 0; r < t.n; r++) {
        finish_line(&t.lines[r], f);
        rows[r] = t.lines[r].cells;
    }
    if (longfmt && !noheader) {
        char tbuf[64];
        struct tm tm;
        time_t now = time(NULL);
        localtime_r(&now, &tm);
        strftime(tbuf, sizeof(tbuf), "%a %b %d %H:%M:%S %Y", &tm);
        printf("%s\n", tbuf);
    }
    fmt_print_table(stdout, f, noheader ? NULL : header, rows, t.n);
    for (size_t r = 0; r < t.n; r++) {
        for (size_t k = 0; k < f->count; k++)
            free(t.lines[r].cells[k]);
        free(t.lines[r].cells);
        free(t.lines[r].key);
        hostlist_destroy(t.lines[r].hl);
    }
    free(t.lines);
    free(rows);
    free(header);
    free(info);
    free(keep);
    ret = 0;
done:
    json_decref(preply);
    json_decref(nreply);
    fmt_destroy(f);
    cli_argv_free(part_filter);
    cli_argv_free(state_filter);
    hostlist_destroy(node_filter);
    cli_fini();
    return ret;
}
