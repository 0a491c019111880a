/* local.c - the `local` provider: a "cloud" of slurmish-d processes on
 * this machine.
 *
 * Resuming a node starts `slurmish-d -D -f CONF -N NODE -p PORT` in its
 * own session (the daemon registers with the ctld like any booted
 * instance); suspending it sends SIGTERM to that process.  A PID file per
 * node (<dir>/<node>.pid) lets a restarted ctld, and `slurmish-local
 * down`, find the daemons it started.  Each daemon's output goes to
 * <dir>/<node>.log.
 *
 * Test controls, files under <dir>/control/ (slurmish-local provider ...):
 *   fail      node or node group names, one per line: their launches fail
 *   delay     seconds every boot takes (added to power.local_boot_delay)
 * and <dir>/interrupt/<node> announces a spot interruption (common.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cloud/common.h"
#include "conf/conf.h"

#ifndef SBINDIR
#define SBINDIR "/usr/sbin"
#endif

struct daemon {
    char node[128];
    pid_t pid;
    bool child;    /* forked by this ctld: reap with waitpid */
    bool stopping; /* suspend sent */
};

struct local {
    const struct sl_power_env *env;
    struct daemon *d;
    size_t n, cap;
    struct evq q;
};

static const char *daemon_path(const struct local *l)
{
    const struct sl_conf *conf = *l->env->conf;
    return conf->local_daemon ? conf->local_daemon : SBINDIR "/slurmish-d";
}

static void pidfile_path(const struct local *l, const char *node, char *buf, size_t size)
{
    snprintf(buf, size, "%s/%s.pid", l->env->dir, node);
}

static struct daemon *find(struct local *l, const char *node)
{
    for (size_t i = 0; i < l->n; i++)
        if (!strcmp(l->d[i].node, node))
            return &l->d[i];
    return NULL;
}

static struct daemon *add(struct local *l, const char *node, pid_t pid, bool child)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        struct daemon *d = realloc(l->d, cap * sizeof(*d));
        if (!d)
            return NULL;
        l->d = d;
        l->cap = cap;
    }
    struct daemon *d = &l->d[l->n++];
    memset(d, 0, sizeof(*d));
    snprintf(d->node, sizeof(d->node), "%s", node);
    d->pid = pid;
    d->child = child;
    return d;
}

static void drop(struct local *l, struct daemon *d)
{
    char pf[4096];
    pidfile_path(l, d->node, pf, sizeof(pf));
    unlink(pf);
    *d = l->d[--l->n];
}

/* Is the line `name` in <dir>/control/fail? */
static bool told_to_fail(const struct local *l, const char *node, const char *group)
{
    char path[4096], line[256];
    snprintf(path, sizeof(path), "%s/control/fail", l->env->dir);
    FILE *f = fopen(path, "r");
    bool fail = false;
    if (!f)
        return false;
    while (!fail && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n \t")] = 0;
        fail = (!strcmp(line, node) || (group && !strcmp(line, group)));
    }
    fclose(f);
    return fail;
}

static int control_delay(const struct local *l)
{
    char path[4096], buf[32] = "";
    snprintf(path, sizeof(path), "%s/control/delay", l->env->dir);
    FILE *f = fopen(path, "r");
    if (!f)
        return 0;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = 0;
    fclose(f);
    int v = atoi(buf);
    return v > 0 ? v : 0;
}

static void *local_init(const struct sl_power_env *env, char **err)
{
    struct local *l = calloc(1, sizeof(*l));
    if (!l) {
        *err = strdup("out of memory");
        return NULL;
    }
    l->env = env;
    char path[4096];
    snprintf(path, sizeof(path), "%s/control", env->dir);
    mkdir(path, 0700);
    snprintf(path, sizeof(path), "%s/interrupt", env->dir);
    mkdir(path, 0700);
    /* daemons started before a ctld restart: still ours if alive */
    const struct sl_conf *conf = *env->conf;
    for (size_t g = 0; g < conf->group_count; g++) {
        for (size_t i = 0; i < conf->groups[g].node_count; i++) {
            const char *node = conf->groups[g].nodes[i];
            char pf[4096], buf[32] = "";
            pidfile_path(l, node, pf, sizeof(pf));
            FILE *f = fopen(pf, "r");
            if (!f)
                continue;
            if (!fgets(buf, sizeof(buf), f))
                buf[0] = 0;
            fclose(f);
            pid_t pid = (pid_t)atoi(buf);
            char arg[160];
            snprintf(arg, sizeof(arg), "-N %s ", node);
            if (pid > 1 && pid_matches(pid, "slurmish-d", arg)) {
                add(l, node, pid, false);
                env->log(SL_PWR_LOG_INFO, "local: node %s: daemon %d still running", node,
                         (int)pid);
            } else {
                unlink(pf);
            }
        }
    }
    return l;
}

static int start_one(struct local *l, const char *node)
{
    const struct sl_conf *conf = *l->env->conf;
    const char *group = node_group_of(conf, node);
    struct daemon *d = find(l, node);
    if (d && !d->stopping)
        return 0; /* already booting or up */
    if (told_to_fail(l, node, group)) {
        evq_push(&l->q, SL_PWR_EV_RESUME_FAILED, node, 0,
                 "local: launch of %s failed (control/fail names it)", node);
        return 0;
    }
    int delay = conf->local_boot_delay + control_delay(l);
    /* port 0: the daemon binds any free port and registers it; a port
     * picked here could be taken by someone else before the daemon binds it */
    const char *portstr = "0";
    char logpath[4096];
    snprintf(logpath, sizeof(logpath), "%s/%s.log", l->env->dir, node);
    const char *prog = daemon_path(l);
    pid_t pid = fork();
    if (pid < 0) {
        evq_push(&l->q, SL_PWR_EV_RESUME_FAILED, node, 0, "local: fork: %s", strerror(errno));
        return 0;
    }
    if (pid == 0) {
        /* the "instance": its own session, so it outlives the ctld */
        setsid();
        int fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND, 0600);
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        close_inherited_fds();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int s = 1; s < NSIG; s++)
            signal(s, SIG_DFL);
        if (delay > 0) {
            /* the boot delay runs in a shell whose command line already
             * names the daemon, so a restarted ctld recognises the PID;
             * every value is an argument, none is parsed by the shell */
            char secs[16];
            snprintf(secs, sizeof(secs), "%d", delay);
            execl("/bin/sh", "sh", "-c", "sleep \"$1\"; shift; exec \"$@\"", "sh", secs, prog, "-D",
                  "-f", l->env->conf_path, "-N", node, "-p", portstr, (char *)NULL);
        }
        execl(prog, prog, "-D", "-f", l->env->conf_path, "-N", node, "-p", portstr,
              (char *)NULL);
        fprintf(stderr, "local: cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    if (d)
        drop(l, d);
    if (!add(l, node, pid, true)) {
        kill(pid, SIGKILL);
        return -1;
    }
    char pf[4096];
    pidfile_path(l, node, pf, sizeof(pf));
    FILE *f = fopen(pf, "w");
    if (f) {
        fprintf(f, "%d\n", (int)pid);
        fclose(f);
    }
    l->env->log(SL_PWR_LOG_INFO, "local: started %s for %s (pid %d, boot delay %d s)", prog,
                node, (int)pid, delay);
    return 0;
}

static int local_resume(void *ctx, const char *const *nodes, size_t n)
{
    struct local *l = ctx;
    for (size_t i = 0; i < n; i++)
        start_one(l, nodes[i]);
    return 0;
}

static int local_suspend(void *ctx, const char *const *nodes, size_t n)
{
    struct local *l = ctx;
    for (size_t i = 0; i < n; i++) {
        struct daemon *d = find(l, nodes[i]);
        if (!d) {
            evq_push(&l->q, SL_PWR_EV_OFF, nodes[i], 0, "local: no daemon running");
            continue;
        }
        d->stopping = true;
        /* the whole session: a daemon still sleeping through its boot delay too */
        if (kill(-d->pid, SIGTERM) < 0)
            kill(d->pid, SIGTERM);
        l->env->log(SL_PWR_LOG_INFO, "local: stopping %s (pid %d)", d->node, (int)d->pid);
    }
    return 0;
}

static int local_poll(void *ctx, struct sl_power_event *ev, int max)
{
    struct local *l = ctx;
    for (size_t i = 0; i < l->n;) {
        struct daemon *d = &l->d[i];
        int status = 0;
        bool gone;
        if (d->child) {
            pid_t r = waitpid(d->pid, &status, WNOHANG);
            gone = r == d->pid || (r < 0 && errno == ECHILD);
        } else {
            /* not our child (started before a ctld restart): a zombie
             * has no command line, so this also sees those as gone */
            char arg[160];
            snprintf(arg, sizeof(arg), "-N %s ", d->node);
            gone = !pid_matches(d->pid, "slurmish-d", arg);
        }
        if (!gone) {
            i++;
            continue;
        }
        if (d->stopping)
            evq_push(&l->q, SL_PWR_EV_OFF, d->node, 0, "local: daemon stopped");
        else
            evq_push(&l->q, SL_PWR_EV_RESUME_FAILED, d->node, 0,
                     "local: slurmish-d for %s exited (status %d; see %s/%s.log)", d->node,
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status),
                     l->env->dir, d->node);
        drop(l, d);
    }
    scan_interrupts(l->env->dir, &l->q);
    return evq_take(&l->q, ev, max);
}

static void local_fini(void *ctx)
{
    struct local *l = ctx;
    /* the daemons stay up: a ctld restart must not power the cluster down */
    evq_free(&l->q);
    free(l->d);
    free(l);
}

const struct sl_power_ops sl_power_provider = {
    .abi = SL_POWER_ABI,
    .name = "local",
    .init = local_init,
    .resume = local_resume,
    .suspend = local_suspend,
    .poll = local_poll,
    .fini = local_fini,
};
