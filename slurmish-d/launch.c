/* launch.c - start a batch job as its user under a supervisor process.
 *
 * daemon --fork--> supervisor (root, own session, ignores job-control
 *                  signals) --fork--> job: setsid, initgroups/setgid/
 *                  setuid, chdir, open output files as the user, exec.
 *
 * The supervisor waits for the script, records the wait status in the
 * spool (temp file + rename, so a reader never sees half a status), kills
 * what is left of the job's process group, and exits.  It is not tied to
 * the daemon, so jobs survive a restart of slurmish-d.
 *
 * The script lives in the root-only job directory but is owned by the
 * user (0500); the job execs it through an open descriptor (fexecve), so
 * the user needs no access to the spool.  Errors before exec travel back
 * to the supervisor over a close-on-exec pipe and end up in the job's
 * stderr file (if it could be opened), the spool's `error` file, and the
 * completion sent to the ctld.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

long long noded_proc_start_time(pid_t pid);

/* ---- filename patterns ---- */

char *expand_pattern(const char *pat, uint32_t job_id, const char *job_name, const char *user,
                     const char *node, uint32_t array_job_id, uint32_t array_task_id)
{
    size_t cap = strlen(pat) + 256, len = 0;
    char *out = xmalloc(cap);
    for (const char *p = pat; *p; p++) {
        char tmp[300];
        const char *ins = NULL;
        int width = 0;
        if (*p != '%') {
            tmp[0] = *p;
            tmp[1] = 0;
            ins = tmp;
        } else {
            const char *q = p + 1;
            while (isdigit((unsigned char)*q) && width < 10)
                width = width * 10 + (*q++ - '0');
            if (width > 10)
                width = 10;
            switch (*q) {
            case '%': ins = "%"; break;
            case 'j': snprintf(tmp, sizeof(tmp), "%0*u", width, job_id); ins = tmp; break;
            case 'A':
                snprintf(tmp, sizeof(tmp), "%0*u", width, array_job_id ? array_job_id : job_id);
                ins = tmp;
                break;
            case 'a':
                /* not an array: Slurm prints NO_VAL-1 */
                snprintf(tmp, sizeof(tmp), "%0*u", width,
                         array_job_id ? array_task_id : 4294967294u);
                ins = tmp;
                break;
            case 'n':
            case 't':
            case 's': snprintf(tmp, sizeof(tmp), "%0*d", width, 0); ins = tmp; break;
            case 'x': ins = job_name; break;
            case 'u': ins = user; break;
            case 'N': ins = node; break;
            case '\0': ins = "%"; q--; break;
            default:
                /* unknown: keep it as written, as Slurm does */
                snprintf(tmp, sizeof(tmp), "%.*s", (int)(q - p + 1), p);
                ins = tmp;
                break;
            }
            p = q;
        }
        size_t il = strlen(ins);
        if (len + il + 1 > cap) {
            cap = (len + il + 1) * 2;
            out = xrealloc(out, cap);
        }
        memcpy(out + len, ins, il);
        len += il;
    }
    out[len] = 0;
    return out;
}

/* ---- helpers ---- */

static const char *jstr(json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s ? s : def;
}

static int write_file(const char *path, const char *data, mode_t mode)
{
    char *tmp = xasprintf("%s.tmp", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    size_t len = strlen(data), off = 0;
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    fsync(fd);
    close(fd);
    int rc = rename(tmp, path);
    free(tmp);
    return rc;
}

/* Build the job's environment: the ctld's list plus node-specific values. */
static char **build_env(struct noded *d, json_t *body, pid_t pid)
{
    json_t *env = json_object_get(body, "env"), *v;
    size_t n = json_is_array(env) ? json_array_size(env) : 0, k = 0, i;
    char **out = xcalloc(n + 16, sizeof(char *));
    static const char *node_keys[] = {"SLURMD_NODENAME=",   "SLURM_NODEID=",      "SLURM_CPUS_ON_NODE=",
                                      "SLURM_PROCID=",      "SLURM_LOCALID=",     "SLURM_TASK_PID=",
                                      "SLURM_TOPOLOGY_ADDR=", "ENVIRONMENT=",     "SLURMISH_CONF=",
                                      "SLURM_CONF=",        NULL};
    json_array_foreach(env, i, v)
    {
        const char *s = json_string_value(v);
        bool skip = !s || !strchr(s, '=');
        for (int q = 0; !skip && node_keys[q]; q++)
            if (!strncmp(s, node_keys[q], strlen(node_keys[q])))
                skip = true;
        if (!skip)
            out[k++] = xstrdup(s);
    }
    out[k++] = xasprintf("SLURMD_NODENAME=%s", d->name);
    out[k++] = xstrdup("SLURM_NODEID=0");
    out[k++] = xasprintf("SLURM_CPUS_ON_NODE=%lld",
                         (long long)json_integer_value(json_object_get(body, "cpus")));
    out[k++] = xstrdup("SLURM_PROCID=0");
    out[k++] = xstrdup("SLURM_LOCALID=0");
    out[k++] = xasprintf("SLURM_TASK_PID=%d", (int)pid);
    out[k++] = xasprintf("SLURM_TOPOLOGY_ADDR=%s", d->name);
    out[k++] = xstrdup("ENVIRONMENT=BATCH");
    out[k++] = xasprintf("SLURMISH_CONF=%s", d->conf_path);
    out[k] = NULL;
    return out;
}

/* In the job process: report an error to the supervisor and exit. */
static void __attribute__((noreturn)) job_fail(int errfd, int stderr_fd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void job_fail(int errfd, int stderr_fd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (stderr_fd >= 0)
        dprintf(stderr_fd, "slurmstepd: error: %s\n", msg);
    if (write(errfd, msg, strlen(msg)) < 0) {
        /* nothing more to do */
    }
    _exit(1);
}

static int open_as_user(const char *path, int flags)
{
    return open(path, flags | O_CLOEXEC, 0666);
}

/* The job process.  Never returns. */
static void __attribute__((noreturn)) run_job(struct noded *d, json_t *body, int script_fd,
                                              int errfd)
{
    uint32_t id = (uint32_t)json_integer_value(json_object_get(body, "job_id"));
    uid_t uid = (uid_t)json_integer_value(json_object_get(body, "uid"));
    gid_t gid = (gid_t)json_integer_value(json_object_get(body, "gid"));
    const char *user = jstr(body, "user", NULL), *name = jstr(body, "name", "sbatch");
    const char *wd = jstr(body, "work_dir", "/");
    const char *out_pat = jstr(body, "stdout", NULL), *err_pat = jstr(body, "stderr", NULL);
    const char *in_path = jstr(body, "stdin", "/dev/null");
    char *out_path, *err_path;
    int in_fd, out_fd, err_fd = -1;
    bool chdir_failed = false;

    setsid(); /* own session and process group: signals reach the whole job */
    sigset_t all;
    sigemptyset(&all);
    sigprocmask(SIG_SETMASK, &all, NULL);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);

    struct passwd *pw = getpwuid(uid);
    if (!user && pw)
        user = pw->pw_name;
    if (!user)
        job_fail(errfd, -1, "unknown user id %u on node %s", (unsigned)uid, d->name);
    if (uid == 0) {
        if (setgid(gid) < 0 || initgroups(user, gid) < 0)
            job_fail(errfd, -1, "cannot set groups for %s: %s", user, strerror(errno));
    } else {
        if (initgroups(user, gid) < 0 || setresgid(gid, gid, gid) < 0 ||
            setresuid(uid, uid, uid) < 0)
            job_fail(errfd, -1, "cannot become user %s (%u:%u): %s", user, (unsigned)uid,
                     (unsigned)gid, strerror(errno));
        if (setuid(0) == 0 || seteuid(0) == 0)
            job_fail(errfd, -1, "could regain root after dropping privileges");
    }
    umask(022);
    if (chdir(wd) < 0) {
        chdir_failed = true;
        if (chdir("/tmp") < 0)
            job_fail(errfd, -1, "cannot chdir to %s or /tmp", wd);
    }
    /* relative output paths are relative to the working directory */
    uint32_t aid = (uint32_t)json_integer_value(json_object_get(body, "array_job_id"));
    uint32_t tid = (uint32_t)json_integer_value(json_object_get(body, "array_task_id"));
    out_path = expand_pattern(out_pat && *out_pat ? out_pat : "slurm-%j.out", id, name, user,
                              d->name, aid, tid);
    err_path = err_pat && *err_pat ? expand_pattern(err_pat, id, name, user, d->name, aid, tid)
                                   : NULL;
    out_fd = open_as_user(out_path, O_WRONLY | O_CREAT | O_TRUNC);
    if (out_fd < 0)
        job_fail(errfd, -1, "cannot open output file %s: %s", out_path, strerror(errno));
    if (err_path && strcmp(err_path, out_path) != 0) {
        err_fd = open_as_user(err_path, O_WRONLY | O_CREAT | O_TRUNC);
        if (err_fd < 0)
            job_fail(errfd, out_fd, "cannot open error file %s: %s", err_path, strerror(errno));
    } else {
        err_fd = dup(out_fd);
    }
    if (chdir_failed)
        dprintf(err_fd, "slurmstepd: error: couldn't chdir to `%s': %s: going to /tmp instead\n",
                wd, strerror(ENOENT));
    in_fd = open_as_user(in_path, O_RDONLY);
    if (in_fd < 0)
        job_fail(errfd, err_fd, "cannot open input file %s: %s", in_path, strerror(errno));

    /* stdio, then the script at fd 3; everything else closes */
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0)
        job_fail(errfd, err_fd, "dup2: %s", strerror(errno));
    int sfd = fcntl(script_fd, F_DUPFD, 10);
    int efd = fcntl(errfd, F_DUPFD_CLOEXEC, 11);
    if (sfd < 0 || efd < 0)
        job_fail(errfd, 2, "fcntl: %s", strerror(errno));
    struct rlimit rl;
    int maxfd = (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 65536) ? (int)rl.rlim_cur
                                                                            : 65536;
    for (int fd = 3; fd < maxfd; fd++)
        if (fd != sfd && fd != efd)
            close(fd);
    if (dup2(sfd, 3) < 0)
        job_fail(efd, 2, "dup2: %s", strerror(errno));
    close(sfd);

    json_t *jargv = json_object_get(body, "argv"), *v;
    size_t na = json_is_array(jargv) ? json_array_size(jargv) : 0, i;
    char **argv = xcalloc(na + 2, sizeof(char *));
    argv[0] = xasprintf("%s/job.%u/slurm_script", d->spool, id);
    json_array_foreach(jargv, i, v) argv[i + 1] = xstrdup(json_string_value(v) ? json_string_value(v) : "");
    char **envp = build_env(d, body, getpid());
    fexecve(3, argv, envp);
    job_fail(efd, 2, "cannot execute the batch script: %s", strerror(errno));
}

/* The supervisor.  Never returns. */
static void __attribute__((noreturn)) supervise(struct noded *d, json_t *body, int script_fd,
                                                int report_fd)
{
    uint32_t id = (uint32_t)json_integer_value(json_object_get(body, "job_id"));
    char *dir = djob_dir(d, id);
    int pfd[2];
    pid_t pid;

    setsid();
    /* orphans of the job reparent to us, so we can reap them */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    signal(SIGTERM, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGCHLD, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* close the daemon's sockets and pidfds; keep stdio (logs) and the script */
    for (int fd = 3; fd < 1024; fd++)
        if (fd != script_fd && fd != report_fd)
            close(fd);
    if (pipe2(pfd, O_CLOEXEC) < 0)
        _exit(127);
    pid = fork();
    if (pid == 0) {
        close(pfd[0]);
        run_job(d, body, script_fd, pfd[1]);
    }
    close(pfd[1]);
    close(script_fd);
    char *path = xasprintf("%s/pid", dir);
    char num[32];
    snprintf(num, sizeof(num), "%d\n", pid > 0 ? (int)pid : 0);
    write_file(path, num, 0600);
    free(path);
    /* tell the daemon the job's pid now, so a signal sent at once finds it */
    if (write(report_fd, num, strlen(num)) < 0) {
        /* the daemon reads the pid file instead */
    }
    close(report_fd);

    /* the job's launch error, if any (EOF at exec) */
    char ebuf[1100];
    size_t elen = 0;
    for (;;) {
        ssize_t n = read(pfd[0], ebuf + elen, sizeof(ebuf) - 1 - elen);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        elen += (size_t)n;
        if (elen >= sizeof(ebuf) - 1)
            break;
    }
    close(pfd[0]);
    if (elen) {
        ebuf[elen] = 0;
        path = xasprintf("%s/error", dir);
        write_file(path, ebuf, 0600);
        free(path);
    }
    int status = 0;
    if (pid > 0) {
        for (;;) {
            int st;
            pid_t w = waitpid(-1, &st, 0);
            if (w == pid) {
                status = st;
                break;
            }
            if (w < 0 && errno != EINTR)
                break;
        }
        kill(-pid, SIGKILL); /* what the script left behind ends with it */
        /* reap what is left, without waiting on anything that escaped */
        for (int i = 0; i < 20; i++) {
            pid_t w;
            while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
                ;
            if (w < 0)
                break;
            usleep(50000);
        }
    } else {
        status = 1 << 8;
    }
    char rec[64];
    snprintf(rec, sizeof(rec), "%d %lld\n", status, (long long)time(NULL));
    path = xasprintf("%s/status", dir);
    write_file(path, rec, 0600);
    _exit(0);
}

int launch_job(struct noded *d, json_t *body, char *errbuf, size_t errlen)
{
    json_t *jid = json_object_get(body, "job_id"), *juid = json_object_get(body, "uid");
    const char *script = jstr(body, "script", NULL);
    uint32_t id;
    uid_t uid;
    char *dir = NULL, *spath = NULL, *rpath = NULL;
    int sfd = -1;

    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 || !json_is_integer(juid) ||
        !json_is_integer(json_object_get(body, "gid")) || !script) {
        snprintf(errbuf, errlen, "launch_job needs job_id, uid, gid and script");
        return SL_E_INVALID_ARGUMENT;
    }
    id = (uint32_t)json_integer_value(jid);
    uid = (uid_t)json_integer_value(juid);
    if (djob_find(d, id))
        return 0; /* a resent launch: already running or done */
    if (!getpwuid(uid)) {
        snprintf(errbuf, errlen, "unknown user id %u on node %s", (unsigned)uid, d->name);
        return SL_E_INVALID_ARGUMENT;
    }
    dir = djob_dir(d, id);
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        snprintf(errbuf, errlen, "cannot create %s: %s", dir, strerror(errno));
        free(dir);
        return SL_E_GENERIC;
    }
    spath = xasprintf("%s/script", dir);
    unlink(spath);
    sfd = open(spath, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0500);
    if (sfd < 0 || write(sfd, script, strlen(script)) != (ssize_t)strlen(script) ||
        fchown(sfd, uid, (gid_t)-1) < 0) {
        snprintf(errbuf, errlen, "cannot write the script: %s", strerror(errno));
        if (sfd >= 0)
            close(sfd);
        free(spath);
        free(dir);
        return SL_E_GENERIC;
    }
    close(sfd);
    /* reopen read-only: the job execs this descriptor */
    sfd = open(spath, O_RDONLY);
    free(spath);
    if (sfd < 0) {
        snprintf(errbuf, errlen, "cannot reopen the script: %s", strerror(errno));
        free(dir);
        return SL_E_GENERIC;
    }
    int rep[2];
    if (pipe2(rep, O_CLOEXEC) < 0) {
        snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
        close(sfd);
        free(dir);
        return SL_E_GENERIC;
    }
    fflush(NULL);
    pid_t sup = fork();
    if (sup < 0) {
        snprintf(errbuf, errlen, "fork: %s", strerror(errno));
        close(sfd);
        close(rep[0]);
        close(rep[1]);
        free(dir);
        return SL_E_GENERIC;
    }
    if (sup == 0) {
        close(rep[0]);
        supervise(d, body, sfd, rep[1]);
    }
    close(sfd);
    close(rep[1]);
    /* the supervisor forks the job at once; wait (briefly) for its pid */
    char pbuf[32] = "";
    struct pollfd pfd1 = {.fd = rep[0], .events = POLLIN};
    if (poll(&pfd1, 1, 5000) > 0) {
        ssize_t n = read(rep[0], pbuf, sizeof(pbuf) - 1);
        if (n > 0)
            pbuf[n] = 0;
    }
    close(rep[0]);

    struct djob *j = djob_add(d, id);
    j->sup_pid = sup;
    j->pgid = (pid_t)atol(pbuf);
    j->sup_start = noded_proc_start_time(sup);
    j->pidfd = (int)syscall(SYS_pidfd_open, sup, 0);
    if (j->pidfd < 0)
        log_err("job %u: pidfd_open: %s", id, strerror(errno));
    char rec[64];
    snprintf(rec, sizeof(rec), "%d %lld\n", (int)sup, j->sup_start);
    rpath = xasprintf("%s/record", dir);
    if (write_file(rpath, rec, 0600) < 0)
        log_err("job %u: cannot write %s: %s", id, rpath, strerror(errno));
    free(rpath);
    free(dir);
    log_info("job %u launched for uid %u (supervisor %d)", id, (unsigned)uid, (int)sup);
    return 0;
}
