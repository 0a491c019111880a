/* script.c - the `script` provider: admin programs do the work, as with
 * Slurm's ResumeProgram and SuspendProgram.
 *
 * resume_program and suspend_program are run with one argument, the
 * hostlist of the nodes ("gpu[1-3]"), directly by execv: never through a
 * shell, so no node name can inject a command.  They get
 * SLURMISH_CONF and SLURMISH_POWER_ACTION in the environment, have
 * program_timeout seconds (then SIGKILL), and their output goes to the
 * ctld's log line by line.  A resume program that exits non-zero (or is
 * killed) fails every node it was given; a node that simply never
 * registers is caught by the power manager's resume_timeout.  A suspend
 * program that exits 0 reports its nodes off.
 *
 * Spot interruptions come as files <dir>/interrupt/<node> (common.c),
 * written by whatever watches the cloud's instance metadata.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cloud/common.h"
#include "conf/conf.h"

struct run {
    pid_t pid;
    int fd;          /* its stdout+stderr, non-blocking */
    bool resume;
    char **nodes;
    size_t nnodes;
    char *hostlist;
    time_t deadline;
    bool killed;
    char buf[1024];  /* a partial output line */
    size_t blen;
};

struct script {
    const struct sl_power_env *env;
    struct run *runs;
    size_t n, cap;
    struct evq q;
};

static void *script_init(const struct sl_power_env *env, char **err)
{
    const struct sl_conf *conf = *env->conf;
    if (!conf->resume_program || !conf->suspend_program) {
        *err = strdup("power: the script provider needs resume_program and suspend_program");
        return NULL;
    }
    struct script *s = calloc(1, sizeof(*s));
    if (!s) {
        *err = strdup("out of memory");
        return NULL;
    }
    s->env = env;
    char path[4096];
    snprintf(path, sizeof(path), "%s/interrupt", env->dir);
    mkdir(path, 0700);
    return s;
}

static void free_run(struct run *r)
{
    for (size_t i = 0; i < r->nnodes; i++)
        free(r->nodes[i]);
    free(r->nodes);
    free(r->hostlist);
    if (r->fd >= 0)
        close(r->fd);
}

static void fail_all(struct script *s, const char *const *nodes, size_t n, const char *why)
{
    for (size_t i = 0; i < n; i++)
        evq_push(&s->q, SL_PWR_EV_RESUME_FAILED, nodes[i], 0, "%s", why);
}

static int start(struct script *s, bool resume, const char *const *nodes, size_t n)
{
    const struct sl_conf *conf = *s->env->conf;
    const char *prog = resume ? conf->resume_program : conf->suspend_program;
    char *hl = s->env->hostlist(nodes, n);
    int pfd[2];
    if (!hl || pipe2(pfd, O_CLOEXEC) < 0) {
        free(hl);
        if (resume)
            fail_all(s, nodes, n, "script: cannot start resume_program (out of resources)");
        return -1;
    }
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        free(hl);
        if (resume)
            fail_all(s, nodes, n, "script: fork failed");
        return -1;
    }
    if (pid == 0) {
        setsid(); /* a timeout kills the program and everything it started */
        int in = open("/dev/null", O_RDONLY);
        if (in >= 0)
            dup2(in, 0);
        dup2(pfd[1], 1);
        dup2(pfd[1], 2);
        close_inherited_fds();
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        for (int sig = 1; sig < NSIG; sig++)
            signal(sig, SIG_DFL);
        setenv("SLURMISH_CONF", s->env->conf_path, 1);
        setenv("SLURMISH_POWER_ACTION", resume ? "resume" : "suspend", 1);
        execl(prog, prog, hl, (char *)NULL);
        fprintf(stderr, "cannot run %s: %s\n", prog, strerror(errno));
        _exit(127);
    }
    close(pfd[1]);
    fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct run *r = realloc(s->runs, cap * sizeof(*r));
        if (!r) {
            kill(-pid, SIGKILL);
            waitpid(pid, NULL, 0);
            close(pfd[0]);
            free(hl);
            return -1;
        }
        s->runs = r;
        s->cap = cap;
    }
    struct run *r = &s->runs[s->n++];
    memset(r, 0, sizeof(*r));
    r->pid = pid;
    r->fd = pfd[0];
    r->resume = resume;
    r->hostlist = hl;
    r->deadline = time(NULL) + conf->program_timeout;
    r->nodes = calloc(n ? n : 1, sizeof(*r->nodes));
    for (size_t i = 0; r->nodes && i < n; i++)
        if ((r->nodes[r->nnodes] = strdup(nodes[i])))
            r->nnodes++;
    s->env->log(SL_PWR_LOG_INFO, "script: %s %s (pid %d)", prog, hl, (int)pid);
    return 0;
}

static int script_resume(void *ctx, const char *const *nodes, size_t n)
{
    return start(ctx, true, nodes, n);
}

static int script_suspend(void *ctx, const char *const *nodes, size_t n)
{
    return start(ctx, false, nodes, n);
}

/* Log what the program printed, a line at a time. */
static void drain_output(struct script *s, struct run *r, bool final)
{
    for (;;) {
        if (r->blen == sizeof(r->buf) - 1) {
            r->buf[r->blen] = 0;
            s->env->log(SL_PWR_LOG_INFO, "script: %s: %s", r->resume ? "resume" : "suspend",
                        r->buf);
            r->blen = 0;
        }
        ssize_t got = read(r->fd, r->buf + r->blen, sizeof(r->buf) - 1 - r->blen);
        if (got <= 0)
            break;
        r->blen += (size_t)got;
        char *nl;
        while ((nl = memchr(r->buf, '\n', r->blen))) {
            *nl = 0;
            s->env->log(SL_PWR_LOG_INFO, "script: %s: %s", r->resume ? "resume" : "suspend",
                        r->buf);
            size_t used = (size_t)(nl - r->buf) + 1;
            memmove(r->buf, nl + 1, r->blen - used);
            r->blen -= used;
        }
    }
    if (final && r->blen) {
        r->buf[r->blen] = 0;
        s->env->log(SL_PWR_LOG_INFO, "script: %s: %s", r->resume ? "resume" : "suspend", r->buf);
        r->blen = 0;
    }
}

static int script_poll(void *ctx, struct sl_power_event *ev, int max)
{
    struct script *s = ctx;
    time_t now = time(NULL);
    for (size_t i = 0; i < s->n;) {
        struct run *r = &s->runs[i];
        int status = 0;
        drain_output(s, r, false);
        pid_t w = waitpid(r->pid, &status, WNOHANG);
        if (w == 0) {
            if (now >= r->deadline && !r->killed) {
                s->env->log(SL_PWR_LOG_ERR, "script: %s %s: killed after program_timeout",
                            r->resume ? "resume_program" : "suspend_program", r->hostlist);
                kill(-r->pid, SIGKILL);
                r->killed = true;
            }
            i++;
            continue;
        }
        drain_output(s, r, true);
        bool ok = w == r->pid && WIFEXITED(status) && WEXITSTATUS(status) == 0 && !r->killed;
        char why[200];
        if (r->killed)
            snprintf(why, sizeof(why), "timed out");
        else if (w == r->pid && WIFEXITED(status))
            snprintf(why, sizeof(why), "exited with status %d", WEXITSTATUS(status));
        else if (w == r->pid && WIFSIGNALED(status))
            snprintf(why, sizeof(why), "killed by signal %d", WTERMSIG(status));
        else
            snprintf(why, sizeof(why), "lost");
        for (size_t k = 0; k < r->nnodes; k++) {
            if (r->resume && !ok)
                evq_push(&s->q, SL_PWR_EV_RESUME_FAILED, r->nodes[k], 0, "resume_program %s",
                         why);
            else if (!r->resume && ok)
                evq_push(&s->q, SL_PWR_EV_OFF, r->nodes[k], 0, "suspend_program done");
        }
        if (!ok)
            s->env->log(r->resume ? SL_PWR_LOG_ERR : SL_PWR_LOG_WARN, "script: %s %s %s",
                        r->resume ? "resume_program" : "suspend_program", r->hostlist, why);
        free_run(r);
        s->runs[i] = s->runs[--s->n];
    }
    scan_interrupts(s->env->dir, &s->q);
    return evq_take(&s->q, ev, max);
}

static void script_fini(void *ctx)
{
    struct script *s = ctx;
    for (size_t i = 0; i < s->n; i++) {
        /* let running programs finish on their own; just stop reading them */
        free_run(&s->runs[i]);
    }
    free(s->runs);
    evq_free(&s->q);
    free(s);
}

const struct sl_power_ops sl_power_provider = {
    .abi = SL_POWER_ABI,
    .name = "script",
    .init = script_init,
    .resume = script_resume,
    .suspend = script_suspend,
    .poll = script_poll,
    .fini = script_fini,
};
