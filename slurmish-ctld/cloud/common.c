/* common.c - see common.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cloud/common.h"
#include "conf/conf.h"

void evq_push(struct evq *q, int kind, const char *node, int warning, const char *fmt, ...)
{
    if (q->n == q->cap) {
        size_t cap = q->cap ? q->cap * 2 : 16;
        struct sl_power_event *ev = realloc(q->ev, cap * sizeof(*ev));
        if (!ev)
            return; /* the power manager's timeouts still catch the node */
        q->ev = ev;
        q->cap = cap;
    }
    struct sl_power_event *e = &q->ev[q->n++];
    memset(e, 0, sizeof(*e));
    e->kind = kind;
    e->warning = warning;
    snprintf(e->node, sizeof(e->node), "%s", node);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->reason, sizeof(e->reason), fmt, ap);
    va_end(ap);
}

int evq_take(struct evq *q, struct sl_power_event *out, int max)
{
    int n = (int)q->n < max ? (int)q->n : max;
    if (n <= 0)
        return 0;
    memcpy(out, q->ev, (size_t)n * sizeof(*out));
    memmove(q->ev, q->ev + n, (q->n - (size_t)n) * sizeof(*q->ev));
    q->n -= (size_t)n;
    return n;
}

void evq_free(struct evq *q)
{
    free(q->ev);
    memset(q, 0, sizeof(*q));
}

void scan_interrupts(const char *dir, struct evq *q)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/interrupt", dir);
    DIR *d = opendir(path);
    struct dirent *de;
    if (!d)
        return;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char file[4096 + 256], buf[32] = "";
        snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
        FILE *f = fopen(file, "r");
        if (f) {
            if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
            fclose(f);
        }
        int warning = atoi(buf);
        if (warning <= 0 && buf[0] != '0')
            warning = 120; /* the usual two minutes of notice */
        if (unlink(file) == 0)
            evq_push(q, SL_PWR_EV_INTERRUPT, de->d_name, warning, "spot interruption notice");
    }
    closedir(d);
}

bool pid_matches(pid_t pid, const char *a, const char *b)
{
    char path[64], buf[8192];
    snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return false; /* gone, or a zombie */
    for (ssize_t i = 0; i < n; i++)
        if (buf[i] == 0)
            buf[i] = ' ';
    buf[n] = 0;
    return (!a || strstr(buf, a)) && (!b || strstr(buf, b));
}

void close_inherited_fds(void)
{
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        close(fd);
}

const char *node_group_of(const struct sl_conf *conf, const char *node)
{
    for (size_t g = 0; g < conf->group_count; g++)
        for (size_t i = 0; i < conf->groups[g].node_count; i++)
            if (!strcmp(conf->groups[g].nodes[i], node))
                return conf->groups[g].name;
    return NULL;
}
