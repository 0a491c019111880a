/* supervise.c - a batch job's supervisor and the job process itself.
 *
 * daemon --launch.c--> spawner --fork--> supervisor (root, own session,
 *   ignores job-control signals) --vfork--> job: setsid, setgroups/
 *   setresgid/setresuid, chdir, open output files as the user, exec.
 *
 * The supervisor is a fork, without exec, of the spawner (spawner.c), a
 * small program of its own (spawner_main.c) started by slurmish-d; the
 * launch body, user, groups and descriptors reach it over a socket, and
 * the daemon gets the supervisor's pid, start time and a pidfd back.  The
 * supervisor is therefore not the daemon's child.  It waits for the
 * script, records the raw wait status in the spool (temp file + rename,
 * so a reader never sees half a status), kills what is left of the job's
 * process group, and exits.  It is not tied to the daemon, so jobs
 * survive a restart of slurmish-d (jobs.c re-adopts the supervisor).
 * What runs here links no libzmq: it is part of the spawner program.
 *
 * The script is a memfd owned by the user, mode 0500, opened read-only by
 * the daemon (launch.c); the job execs that descriptor (fexecve), so the
 * user needs no path into the spool and the kernel still checks that the
 * user may execute the file.  The interpreter reads the script through
 * /dev/fd/3.  The node's spool directory stays root-only (0700), so a
 * user can never touch the files the root supervisor writes there (no
 * symlink or hard-link games with job.<id>.status.tmp).
 *
 * Errors before exec travel to the supervisor over a close-on-exec pipe
 * (EOF = exec succeeded) and end up in the job's stderr file when it
 * could be opened, in the spool's `error` file, the log, and the
 * completion sent to the ctld; the job then ends with exit status 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SCRIPT_FD 3 /* the script, as the job execs it */
#define SCRIPT_PATH "/dev/fd/3"

/* The signals a supervisor ignores, and its job restores.  The spawner it
 * is forked from sets every other one to its default (spawner.c). */
static const int sup_ignored[] = {SIGHUP, SIGINT, SIGTERM, SIGPIPE};
#define ERR_FD 4    /* the pipe to the supervisor, close-on-exec */

static const char *jstr(json_t *o, const char *k, const char *def)
{
    const char *s = json_string_value(json_object_get(o, k));
    return s && *s ? s : def;
}

static uint32_t ju32(json_t *o, const char *k)
{
    json_int_t v = json_integer_value(json_object_get(o, k));
    return v > 0 && v <= UINT32_MAX ? (uint32_t)v : 0;
}

static int cmp_int(const void *a, const void *b)
{
    return *(const int *)a - *(const int *)b;
}

/* Close every descriptor from 3 up but those in keep (at most 4, in any
 * order; -1s are skipped).  keep is sorted in place. */
static void close_fds_except(int *keep, int nkeep)
{
    unsigned int from = 3;
    qsort(keep, (size_t)nkeep, sizeof(int), cmp_int);
    for (int i = 0; i < nkeep; i++) {
        if (keep[i] < (int)from)
            continue;
        if ((unsigned)keep[i] > from)
            close_range(from, (unsigned)keep[i] - 1, 0);
        from = (unsigned)keep[i] + 1;
    }
    close_range(from, ~0U, 0);
}

/* In the job process: report an error to the supervisor and exit 1. */
void __attribute__((noreturn, format(printf, 3, 4)))
job_fail(int errfd, int stderr_fd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (stderr_fd >= 0)
        dprintf(stderr_fd, "slurmstepd: error: %s\n", msg);
    if (write(errfd, msg, strlen(msg)) < 0) {
        /* the supervisor sees exit status 1 without a reason */
    }
    _exit(1);
}

/* Open as the user (privileges are already dropped), 0666 & ~umask as Slurm. */
static int open_as_user(const char *path, int flags)
{
    return open(path, flags | O_CLOEXEC, 0666);
}

/* Become the job's user for good: groups (the given list, or initgroups
 * when there is none), gid, uid, and no way back. */
static void drop_privileges_groups(int errfd, const char *user, uid_t uid, gid_t gid,
                                   const gid_t *groups, int ngroups)
{
    if (groups) {
        if (setgroups((size_t)ngroups, groups) < 0)
            job_fail(errfd, -1, "setgroups(%s, %d groups): %s", user, ngroups, strerror(errno));
    } else if (initgroups(user, gid) < 0) {
        job_fail(errfd, -1, "initgroups(%s, %u): %s", user, (unsigned)gid, strerror(errno));
    }
    if (setresgid(gid, gid, gid) < 0)
        job_fail(errfd, -1, "setresgid(%u): %s", (unsigned)gid, strerror(errno));
    if (setresuid(uid, uid, uid) < 0)
        job_fail(errfd, -1, "setresuid(%u): %s", (unsigned)uid, strerror(errno));
    if (uid != 0 && (setuid(0) == 0 || seteuid(0) == 0))
        job_fail(errfd, -1, "could regain root after dropping privileges to %s", user);
}

void drop_privileges(int errfd, const char *user, uid_t uid, gid_t gid)
{
    drop_privileges_groups(errfd, user, uid, gid, NULL, 0);
}

/* The job process.  Never returns. */
void launch_run_job(struct noded *d, json_t *body, const struct job_user *ju, int script_fd,
                    int errfd)
{
    const char *user = ju->name;
    struct pattern_ctx pc = {
        .job_id = ju32(body, "job_id"),
        .job_name = jstr(body, "name", "sbatch"),
        .user = user,
        .node = d->name,
        .array_job_id = ju32(body, "array_job_id"),
        .array_task_id = ju32(body, "array_task_id"),
    };
    uid_t uid = (uid_t)json_integer_value(json_object_get(body, "uid"));
    gid_t gid = (gid_t)json_integer_value(json_object_get(body, "gid"));
    const char *wd = jstr(body, "work_dir", "/");
    const char *out_pat =
        jstr(body, "stdout", pc.array_job_id ? "slurm-%A_%a.out" : "slurm-%j.out");
    const char *err_pat = jstr(body, "stderr", NULL), *in_pat = jstr(body, "stdin", "/dev/null");
    int chdir_errno = 0, out_fd, err_fd, in_fd;
    char *out_path, *err_path, *in_path;

    /* own session and process group (pgid = pid): signals reach the whole
     * job (a prestarted process has it already) */
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* exec resets caught signals; only what the supervisor ignores would
     * stay ignored (a loop over all 64 was 60 system calls more on the
     * way to the job's start) */
    for (size_t i = 0; i < sizeof(sup_ignored) / sizeof(sup_ignored[0]); i++)
        signal(sup_ignored[i], SIG_DFL);

    drop_privileges_groups(errfd, user, uid, gid, ju->groups, ju->ngroups);
    umask(022);
    if (chdir(wd) < 0) {
        chdir_errno = errno;
        if (chdir("/tmp") < 0)
            job_fail(errfd, -1, "couldn't chdir to `%s' or /tmp: %s", wd, strerror(errno));
    }
    /* relative names are relative to the working directory, as in Slurm */
    out_path = expand_pattern(out_pat, &pc);
    err_path = err_pat ? expand_pattern(err_pat, &pc) : NULL;
    in_path = expand_pattern(in_pat, &pc);
    out_fd = open_as_user(out_path, O_WRONLY | O_CREAT | O_TRUNC);
    if (out_fd < 0)
        job_fail(errfd, -1, "Could not open stdout file %s: %s", out_path, strerror(errno));
    if (err_path && strcmp(err_path, out_path) != 0) {
        err_fd = open_as_user(err_path, O_WRONLY | O_CREAT | O_TRUNC);
        if (err_fd < 0)
            job_fail(errfd, out_fd, "Could not open stderr file %s: %s", err_path, strerror(errno));
    } else {
        err_fd = fcntl(out_fd, F_DUPFD_CLOEXEC, 0);
    }
    if (chdir_errno)
        dprintf(err_fd, "slurmstepd: error: couldn't chdir to `%s': %s: going to /tmp instead\n",
                wd, strerror(chdir_errno));
    in_fd = open_as_user(in_path, O_RDONLY);
    if (in_fd < 0)
        job_fail(errfd, err_fd, "Could not open stdin file %s: %s", in_path, strerror(errno));

    /* stdio 0-2, the script at 3, the error pipe at 4; everything else closes */
    int sfd = fcntl(script_fd, F_DUPFD_CLOEXEC, 10), efd = fcntl(errfd, F_DUPFD_CLOEXEC, 10);
    if (sfd < 0 || efd < 0)
        job_fail(errfd, err_fd, "fcntl: %s", strerror(errno));
    if (dup2(in_fd, 0) < 0 || dup2(out_fd, 1) < 0 || dup2(err_fd, 2) < 0 ||
        dup2(sfd, SCRIPT_FD) < 0 || dup3(efd, ERR_FD, O_CLOEXEC) < 0)
        job_fail(efd, err_fd, "dup2: %s", strerror(errno));
    close_range(ERR_FD + 1, ~0U, 0);

    json_t *jargv = json_object_get(body, "argv"), *v;
    size_t na = json_is_array(jargv) ? json_array_size(jargv) : 0, i;
    char **argv = xcalloc(na + 2, sizeof(char *));
    argv[0] = xstrdup("slurm_script"); /* an interpreter sees /dev/fd/3 instead */
    json_array_foreach(jargv, i, v)
    {
        const char *s = json_string_value(v);
        argv[i + 1] = xstrdup(s ? s : "");
    }
    struct env_ctx ec = {
        .node = d->name,
        .cpus = (int)json_integer_value(json_object_get(body, "cpus")),
        .pid = getpid(),
        .conf_path = d->conf_path,
    };
    char **envp = job_env_build(json_object_get(body, "env"), &ec);
    fexecve(SCRIPT_FD, argv, envp); /* ps and top show the interpreter */
    /* valgrind cannot follow execveat() of a memfd (the daemons' memcheck
     * runs, test_valgrind); the same file by its /dev/fd name it can
     * (the job then shows as "3") */
    if (errno == ENOENT)
        execve(SCRIPT_PATH, argv, envp);
    job_fail(ERR_FD, 2, "execve(): %s: %s", argv[0], strerror(errno));
}

/* Read the job's launch error (EOF once it has exec'ed). */
static size_t read_launch_error(int fd, char *buf, size_t size)
{
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fd, buf + len, size - 1 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        len += (size_t)n;
        if (len >= size - 1)
            break;
    }
    buf[len] = 0;
    return len;
}

/* Start the job process with vfork: it borrows the supervisor's memory
 * until its exec instead of copying the page tables and taking a
 * copy-on-write fault for every page either side touches (about 2 ms of
 * CPU per job on a 2-core VM, a fifth of what a short job costs the
 * node).  The supervisor is single-threaded and stays suspended until the
 * job has exec'ed or _exit'ed (job_fail); the job changes nothing of the
 * supervisor's but for what it allocates, and descriptors, signal
 * dispositions, cwd and credentials are its own.  A function of its own,
 * so the child never writes to the caller's frame. */
static pid_t __attribute__((noinline))
start_job(struct noded *d, json_t *body, const struct job_user *ju, int script_fd, int pfd[2],
          int report_fd, const char *cg, uint32_t id)
{
    pid_t pid = vfork();
    if (pid == 0) {
        close(pfd[0]);
        close(report_fd);
        /* in its cgroup before the script runs: everything it starts stays there */
        if (cg && cg_attach(cg, 0) < 0)
            log_warn("job %u: cannot enter memory cgroup %s: %s", id, cg, strerror(errno));
        launch_run_job(d, body, ju, script_fd, pfd[1]);
    }
    return pid;
}

void launch_prestart_drop(struct prestart *ps)
{
    kill(ps->pid, SIGKILL);
    waitpid(ps->pid, NULL, 0); /* ours: once reaped, its cgroup is empty */
    close(ps->sock);
    close(ps->errfd);
    cg_remove(ps->cg);
    free(ps->cg);
    memset(ps, 0, sizeof(*ps));
}

/* The supervisor.  Never returns. */
void launch_supervise(struct noded *d, json_t *body, const struct job_user *ju, int script_fd,
                      int report_fd, struct prestart *ps)
{
    uint32_t id = ju32(body, "job_id");
    char *path, num[32], ebuf[1100], rec[64];
    int pfd[2] = {-1, -1}, status = 0;
    bool oom = false;
    pid_t pid;
    /* the job's memory cgroup: its allocation is its limit */
    json_t *jm = json_object_get(body, "mem_mb");
    uint64_t mem = json_is_integer(jm) ? (uint64_t)json_integer_value(jm) : 0;
    char *cg = NULL;
    if (ps && !(cg = cg_job_adopt(ps->cg, d->name, d->spool, id, mem))) {
        /* (no limit asked for, or the rename failed): fork as without it */
        launch_prestart_drop(ps);
        ps = NULL;
    }
    if (!ps && d->conf->enforce_memory && mem)
        cg = cg_job_create(d->name, d->spool, id, mem);

    setsid();
    /* orphans of the job reparent to us, so we reap them and kill them at the end */
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_NAME, "slurmish-sup", 0, 0, 0);
    for (size_t i = 0; i < sizeof(sup_ignored) / sizeof(sup_ignored[0]); i++)
        signal(sup_ignored[i], SIG_IGN);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    /* drop the daemon's socket, signalfd and pidfds; keep stdio (log) and ours */
    int keep[4] = {script_fd, report_fd, ps ? ps->sock : -1, ps ? ps->errfd : -1};
    close_fds_except(keep, 4);
    if (ps) {
        /* it holds the launch already, and is in the cgroup: start it */
        pid = ps->pid;
        pfd[0] = ps->errfd;
        if (write(ps->sock, "g", 1) != 1) {
            /* it is gone: waitpid() says how, and the error pipe is at EOF */
        }
        close(ps->sock);
    } else if (pipe2(pfd, O_CLOEXEC) < 0) {
        pid = -1;
    } else {
        pid = start_job(d, body, ju, script_fd, pfd, report_fd, cg, id);
    }
    close(script_fd);
    /* tell the daemon the job's pid now, so a signal sent at once finds it
     * (it waits for this before it answers the launch: first the pipe, then
     * the file, which serves when the daemon missed the pipe); our own pid
     * too, which the daemon needs when the spawner died before answering */
    snprintf(rec, sizeof(rec), "%d %d\n", pid > 0 ? (int)pid : 0, (int)getpid());
    if (write(report_fd, rec, strlen(rec)) < 0) {
        /* the daemon reads the pid file instead */
    }
    close(report_fd);
    snprintf(num, sizeof(num), "%d\n", pid > 0 ? (int)pid : 0);
    path = spool_job_file(d->spool, id, "pid");
    spool_write_file(path, num, 0600);
    free(path);

    if (pid > 0) {
        if (pfd[1] >= 0)
            close(pfd[1]);
        if (read_launch_error(pfd[0], ebuf, sizeof(ebuf)) == 0)
            ebuf[0] = 0;
        close(pfd[0]);
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
        oom = cg && cg_oom_killed(cg);
        /* reap what is left (re-parented to us), for a second at most */
        for (int i = 0; i < 20; i++) {
            pid_t w;
            while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
                ;
            if (w < 0)
                break;
            usleep(50000);
        }
    } else {
        snprintf(ebuf, sizeof(ebuf), "cannot start the job: %s", strerror(errno));
        status = 1 << 8;
    }
    if (ebuf[0]) {
        path = spool_job_file(d->spool, id, "error");
        spool_write_file(path, ebuf, 0600);
        free(path);
    }
    if (cg) {
        cg_remove(cg); /* also kills what escaped the process group */
        free(cg);
    }
    snprintf(rec, sizeof(rec), "%d %lld %d\n", status, (long long)time(NULL), oom);
    path = spool_job_file(d->spool, id, "status");
    int wrote = spool_write_file(path, rec, 0600);
    free(path);
    _exit(wrote < 0 ? 1 : 0); /* 1: the daemon reports the job as lost */
}
