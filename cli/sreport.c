/* sreport - what the cluster's node-hours cost, and who used them.
 *
 *   sreport [-P] [-n] [--json] cost user|account|partition|cluster
 *           [Start=TIME] [End=TIME]
 *
 * Slurm's sreport has no money; slurmish adds the `cost` report in
 * sreport's shape (a banner, then columns; -P for parsable output): cost
 * and CPU-hours per user, account or partition, spend against budget per
 * account, and per node group the node-hours powered and busy with the
 * idle cost (powered but unused).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cliutil.h"
#include "common.h"

static void usage(FILE *out)
{
    fprintf(out, "Usage: sreport [OPTIONS] cost REPORT [Start=TIME] [End=TIME]\n\n"
                 "REPORT is one of:\n"
                 "  user        jobs, CPU-hours and cost per user\n"
                 "  account     ... per account, with its budget, the period's spend and %% used\n"
                 "  partition   ... per partition\n"
                 "  cluster     per node group: node-hours powered and busy, utilization,\n"
                 "              cost, busy cost and idle cost (powered but unused)\n\n"
                 "Start/End: a time as sacct takes it (2026-12-01, 2026-12-01T08:00, now-7days);\n"
                 "the default is the last day.  Cost is in the units of price_per_hour.\n\n"
                 "  -p, --parsable   same as -P\n"
                 "  -P, --parsable2  fields separated by '|', no banner\n"
                 "  -n, --noheader   no banner or column headers\n"
                 "      --json       the report as JSON\n"
                 "  -h, --help       show this help\n"
                 "  -V, --version    show the version\n");
}

static double num(const json_t *o, const char *key)
{
    return json_number_value(json_object_get(o, key));
}

struct out {
    bool parsable, noheader;
};

static void row(const struct out *o, int n, const char *const *cells, const int *widths)
{
    for (int i = 0; i < n; i++) {
        if (o->parsable)
            printf("%s%s", cells[i], i + 1 < n ? "|" : "\n");
        else
            printf("%*s%s", widths[i], cells[i], i + 1 < n ? " " : "\n");
    }
}

static void header(const struct out *o, int n, const char *const *names, const int *widths)
{
    if (o->noheader)
        return;
    row(o, n, names, widths);
    if (o->parsable)
        return;
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < widths[i]; k++)
            putchar('-');
        putchar(i + 1 < n ? ' ' : '\n');
    }
}

static void print_rows(const struct out *o, const json_t *rep, const char *by)
{
    bool acct = !strcmp(by, "account");
    const char *names[] = {!strcmp(by, "user") ? "Login" : acct ? "Account" : "Partition",
                           "Jobs", "CPU-Hours", "Cost", "Budget", "Period", "Spent", "Used%"};
    const int widths[] = {12, 7, 11, 11, 11, 7, 11, 7};
    int n = acct ? 8 : 4;
    header(o, n, names, widths);
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(rep, "rows"), i, r)
    {
        char c[8][64];
        snprintf(c[0], sizeof(c[0]), "%s", cli_jstr(r, "name"));
        snprintf(c[1], sizeof(c[1]), "%lld", cli_jint(r, "jobs", 0));
        snprintf(c[2], sizeof(c[2]), "%.2f", num(r, "cpu_hours"));
        snprintf(c[3], sizeof(c[3]), "%.4f", num(r, "cost"));
        bool has_budget = json_object_get(r, "budget") != NULL;
        snprintf(c[4], sizeof(c[4]), "%s", "");
        snprintf(c[5], sizeof(c[5]), "%s", "");
        snprintf(c[6], sizeof(c[6]), "%s", "");
        snprintf(c[7], sizeof(c[7]), "%s", "");
        if (has_budget) {
            double b = num(r, "budget"), s = num(r, "budget_spent");
            snprintf(c[4], sizeof(c[4]), "%.2f", b);
            snprintf(c[5], sizeof(c[5]), "%s", cli_jstr(r, "budget_period"));
            snprintf(c[6], sizeof(c[6]), "%.4f", s);
            snprintf(c[7], sizeof(c[7]), "%.1f", b > 0 ? 100.0 * s / b : 100.0);
        }
        const char *cells[8] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]};
        row(o, n, cells, widths);
    }
}

static void print_cluster(const struct out *o, const json_t *rep)
{
    const char *names[] = {"NodeGroup", "Cloud", "Spot", "Price/h", "PoweredH", "BusyH",
                           "Util%", "Cost", "BusyCost", "IdleCost"};
    const int widths[] = {12, 5, 4, 8, 10, 10, 6, 11, 11, 11};
    double tot[6] = {0};
    header(o, 10, names, widths);
    size_t i;
    json_t *g;
    json_array_foreach(json_object_get(rep, "node_groups"), i, g)
    {
        char c[10][64];
        snprintf(c[0], sizeof(c[0]), "%s", cli_jstr(g, "name"));
        snprintf(c[1], sizeof(c[1]), "%s", cli_jbool(g, "cloud") ? "yes" : "no");
        snprintf(c[2], sizeof(c[2]), "%s", cli_jbool(g, "spot") ? "yes" : "no");
        snprintf(c[3], sizeof(c[3]), "%.4f", num(g, "price_per_hour"));
        snprintf(c[4], sizeof(c[4]), "%.2f", num(g, "powered_node_hours"));
        snprintf(c[5], sizeof(c[5]), "%.2f", num(g, "busy_node_hours"));
        snprintf(c[6], sizeof(c[6]), "%.1f", 100.0 * num(g, "utilization"));
        snprintf(c[7], sizeof(c[7]), "%.4f", num(g, "powered_cost"));
        snprintf(c[8], sizeof(c[8]), "%.4f", num(g, "busy_cost"));
        snprintf(c[9], sizeof(c[9]), "%.4f", num(g, "idle_cost"));
        tot[0] += num(g, "powered_node_hours");
        tot[1] += num(g, "busy_node_hours");
        tot[2] += num(g, "powered_cost");
        tot[3] += num(g, "busy_cost");
        tot[4] += num(g, "idle_cost");
        const char *cells[10] = {c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7], c[8], c[9]};
        row(o, 10, cells, widths);
    }
    char t[10][64];
    snprintf(t[0], sizeof(t[0]), "TOTAL");
    t[1][0] = t[2][0] = t[3][0] = 0;
    snprintf(t[4], sizeof(t[4]), "%.2f", tot[0]);
    snprintf(t[5], sizeof(t[5]), "%.2f", tot[1]);
    snprintf(t[6], sizeof(t[6]), "%.1f", tot[0] > 0 ? 100.0 * tot[1] / tot[0] : 0.0);
    snprintf(t[7], sizeof(t[7]), "%.4f", tot[2]);
    snprintf(t[8], sizeof(t[8]), "%.4f", tot[3]);
    snprintf(t[9], sizeof(t[9]), "%.4f", tot[4]);
    const char *cells[10] = {t[0], t[1], t[2], t[3], t[4], t[5], t[6], t[7], t[8], t[9]};
    row(o, 10, cells, widths);
}

int main(int argc, char **argv)
{
    struct out o = {0};
    bool json = false;
    const char *report = NULL;
    time_t start = 0, end = 0;
    int pos = 0;

    cli_init("sreport");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-P") || !strcmp(a, "--parsable2") || !strcmp(a, "-p") ||
            !strcmp(a, "--parsable"))
            o.parsable = true;
        else if (!strcmp(a, "-n") || !strcmp(a, "--noheader"))
            o.noheader = true;
        else if (!strcmp(a, "--json"))
            json = true;
        else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            usage(stdout);
            exit(0);
        } else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
            cli_print_version();
            exit(0);
        } else if (a[0] == '-') {
            cli_error("unrecognized option '%s'", a);
            usage(stderr);
            return 1;
        } else if (!strncasecmp(a, "start=", 6) || !strncasecmp(a, "end=", 4)) {
            bool is_start = !strncasecmp(a, "start=", 6);
            const char *v = strchr(a, '=') + 1;
            time_t t = cli_parse_when(v);
            if (t < 0) {
                cli_error("Invalid time specification: %s", v);
                return 1;
            }
            *(is_start ? &start : &end) = t;
        } else if (pos == 0) {
            if (strcasecmp(a, "cost")) {
                cli_error("unknown report \"%s\": slurmish's sreport has the cost report "
                          "(sreport cost user|account|partition|cluster)",
                          a);
                return 1;
            }
            pos++;
        } else if (pos == 1) {
            report = a;
            pos++;
        } else {
            cli_error("unexpected argument \"%s\"", a);
            usage(stderr);
            return 1;
        }
    }
    if (!report) {
        usage(stderr);
        return 1;
    }
    char by[16];
    snprintf(by, sizeof(by), "%s", report);
    for (char *p = by; *p; p++)
        *p = (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
    json_t *body = json_pack("{s:s, s:I, s:I}", "by", by, "start", (json_int_t)start, "end",
                             (json_int_t)end),
           *reply = NULL;
    int rc;
    sl_error_t err;
    if (cli_request(SL_MSG_COST_REPORT, body, &reply, &rc, &err) < 0) {
        cli_error("%s", err.text);
        json_decref(body);
        return 1;
    }
    json_decref(body);
    if (json) {
        char *s = json_dumps(reply, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", s ? s : "{}");
        free(s);
    } else {
        if (!o.parsable && !o.noheader) {
            char b1[32], b2[32];
            printf("------------------------------------------------------------------------"
                   "--------\n"
                   "Cost report (%s) %s - %s\n"
                   "------------------------------------------------------------------------"
                   "--------\n",
                   by, cli_iso_time(cli_jint(reply, "start", 0), "", b1, sizeof(b1)),
                   cli_iso_time(cli_jint(reply, "end", 0), "", b2, sizeof(b2)));
        }
        if (!strcmp(by, "cluster"))
            print_cluster(&o, reply);
        else
            print_rows(&o, reply, by);
    }
    json_decref(reply);
    cli_fini();
    return 0;
}
