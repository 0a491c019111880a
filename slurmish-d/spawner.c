/* spawner.c - fork job supervisors from a small helper, not from the daemon.
 *
 * Purpose: a fork of slurmish-d (libzmq threads, a few MB resident) costs
 * a page-table copy and then copy-on-write faults on both sides: about
 * 2.5-3 ms per batch job on a 2-core VM, on the submit-to-start path.  So
 * main.c starts one spawner early, before libzmq, the munge context or any
 * thread, and every supervisor is a fork of that spawner instead.  The
 * spawner is the slurmish-spawner program (spawner_main.c), which links
 * libc and jansson only: even a fork of the early daemon held its ~130
 * mappings of libzmq and the libraries that links, and every supervisor
 * copied them at its fork and tore them down at its exit.  Where that
 * program cannot be run, the fork of the daemon stays the spawner
 * (spawner_exec()), as before.
 *
 *   slurmish-d --socketpair--> spawner --fork--> supervisor (supervise.c)
 *
 * Protocol (SOCK_STREAM, close-on-exec on both sides; the daemon's end is
 * non-blocking, so a stuck spawner costs a launch a timeout, never a hang):
 *   daemon -> spawner: struct spawn_req with, for SPAWN_LAUNCH, the script
 *     fd and the report pipe's write end (SCM_RIGHTS), then body_len bytes
 *     of launch body (JSON, without the script), user_len bytes of user
 *     name and ngroups gid_t; SPAWN_REOPEN (SIGHUP) reopens the log.
 *   spawner -> daemon: struct spawn_rep: the supervisor's pid and start
 *     time, or an errno; with a pidfd of the supervisor (SCM_RIGHTS), made
 *     before the spawner could reap it, so it names that process and no
 *     other even if the supervisor ends at once.
 *
 * The spawner's struct noded holds only the start-up values the
 * supervisors read (enforce_memory, name, spool, conf_path), from the
 * program's command line (or, in the fallback, the daemon's at fork
 * time); none changes at run time (SIGHUP only reopens the log, which is
 * forwarded).
 *
 * Lifetime: the spawner dies with the daemon (PR_SET_PDEATHSIG, a check
 * of getppid() against the race, and EOF on the socket).  The supervisors
 * do not: the parent-death signal is cleared on fork (and cleared again in
 * the child, to be sure), and launch_supervise() puts them in their own session.
 * They outlive the spawner and the daemon, and jobs.c re-adopts them after
 * a restart as before.  The spawner reaps them (SIGCHLD via a signalfd);
 * the daemon watches them with the pidfd, not waitpid: they are not its
 * children.
 *
 * Failures: a spawner found dead is restarted (forked from the daemon as
 * it is then, and exec'ed) and the launch retried once, provided the
 * report pipe proves that no supervisor started (EOF without a line).
 * Known window: a spawner killed after its supervisor started the job but
 * before the supervisor wrote its report line looks the same, so that
 * job would run twice; it takes a kill -9 within microseconds.  A spare
 * killed while a launch is being handed to it ends without a report or a
 * status: that one job is reported lost, as for any supervisor killed.
 *
 * A spare: even a fork of the small spawner, and the wait for the child
 * to be scheduled beside the ctld and the daemon on a busy node, took
 * about 3 ms between a launch and its job's start.  So once the node has
 * been idle for SPARE_IDLE_MS the spawner forks one supervisor ahead of
 * time; it waits on its own socketpair for a launch (and dies with the
 * spawner until it has one).  A launch then goes to the spare, already
 * running, and the next spare is forked after the node is idle again.
 * Back-to-back launches simply fork, as without a spare.
 *
 * A spare's job process (memory enforced, cgroup v1): writing a pid into
 * cgroup.procs waits for an RCU grace period, 5-23 ms here, on the
 * way to the job's start.  So the spare forks the job's process too, at
 * once; it enters a cgroup of its own (cg_spare_create) and waits.  At
 * the launch the spare passes it the request as it got it, sets the
 * limit and renames the cgroup to the job's (cg_job_adopt), then writes
 * "go"; the process becomes the job (launch_run_job).  It dies with the
 * spare until then; the spawner removes the cgroup of a spare that died
 * without a job, and the daemon those left by a spawner killed with it.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define SPAWN_LAUNCH 1
#define SPAWN_REOPEN 2
#define SPAWN_TIMEOUT_MS 5000 /* for the spawner to take a request and answer */
#define SPAWN_MAX_PAYLOAD (64u << 20)
#define SPARE_IDLE_MS 20 /* quiet this long after a launch: fork the next spare */

/* The supervisor forked ahead of time, waiting for a launch. */
static struct {
    pid_t pid; /* 0: none */
    int sock;  /* the spawner's end of its socketpair */
    int pidfd;
    int64_t start;
} spare;

struct spawn_req {
    uint32_t type;
    uint32_t body_len, user_len;
    int32_t ngroups; /* -1: no list (the job calls initgroups) */
};

struct spawn_rep {
    int32_t pid;   /* the supervisor, or 0 */
    int32_t err;   /* errno of a failed fork, when pid is 0 */
    int64_t start; /* its start time (/proc/PID/stat field 22), -1 if unknown */
};

/* ---- both sides ---- */

/* Send len bytes and at most one descriptor set with the first of them. */
static ssize_t send_fds(int sock, const void *buf, size_t len, const int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = (void *)buf, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

    memset(&u, 0, sizeof(u));
    if (nfds > 0) {
        mh.msg_control = u.buf;
        mh.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
        memcpy(CMSG_DATA(c), fds, (size_t)nfds * sizeof(int));
    }
    return sendmsg(sock, &mh, MSG_NOSIGNAL);
}

/* Receive up to len bytes and the descriptors that come with them
 * (close-on-exec; -1 in the slots not filled). */
static ssize_t recv_fds(int sock, void *buf, size_t len, int *fds, int nfds)
{
    union {
        char buf[CMSG_SPACE(2 * sizeof(int))];
        struct cmsghdr align;
    } u;
    struct iovec iov = {.iov_base = buf, .iov_len = len};
    struct msghdr mh = {
        .msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof(u.buf)};
    ssize_t n;

    for (int i = 0; i < nfds; i++)
        fds[i] = -1;
    do
        n = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    for (struct cmsghdr *c = n >= 0 ? CMSG_FIRSTHDR(&mh) : NULL; c; c = CMSG_NXTHDR(&mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
            continue;
        int got = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int)), tmp[8];
        if (got > 8)
            got = 8;
        memcpy(tmp, CMSG_DATA(c), (size_t)got * sizeof(int));
        for (int i = 0; i < got; i++) {
            if (i < nfds && fds[i] < 0)
                fds[i] = tmp[i];
            else
                close(tmp[i]); /* more than asked for: not ours to keep */
        }
    }
    return n;
}

/* ---- the spawner ---- */

/* Read or write exactly len bytes (blocking); -1 on EOF or error. */
static int io_full(int fd, void *buf, size_t len, bool writing)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = writing ? write(fd, (char *)buf + off, len - off)
                            : read(fd, (char *)buf + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        off += (size_t)n;
    }
    return 0;
}

static int read_full(int fd, void *buf, size_t len)
{
    return io_full(fd, buf, len, false);
}

static int write_full(int fd, const void *buf, size_t len)
{
    return io_full(fd, (void *)buf, len, true); /* only read from */
}

/* A request's header and its descriptors (-1 where none came); -1 when
 * the peer is gone or sent half a header (what came is closed). */
static int recv_req(int sock, struct spawn_req *rq, int fds[2])
{
    ssize_t n = recv_fds(sock, rq, sizeof(*rq), fds, 2);
    if (n > 0 && (size_t)n < sizeof(*rq) &&
        read_full(sock, (char *)rq + n, sizeof(*rq) - (size_t)n) == 0)
        n = sizeof(*rq);
    if (n == (ssize_t)sizeof(*rq))
        return 0;
    for (int i = 0; i < 2; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    return -1;
}

/* What follows a launch request's header: the body (JSON text), the user
 * name and the groups, as spawner_launch() sends them. */
struct payload {
    char *body_text, *user; /* NUL-terminated */
    gid_t *groups;
    size_t glen; /* bytes of groups */
};

static int read_payload(int sock, const struct spawn_req *rq, struct payload *pl)
{
    pl->glen = rq->ngroups > 0 ? (size_t)rq->ngroups * sizeof(gid_t) : 0;
    pl->body_text = xmalloc(rq->body_len + 1);
    pl->user = xmalloc(rq->user_len + 1);
    pl->groups = pl->glen ? xmalloc(pl->glen) : NULL;
    if (read_full(sock, pl->body_text, rq->body_len) < 0 ||
        read_full(sock, pl->user, rq->user_len) < 0 ||
        (pl->glen && read_full(sock, pl->groups, pl->glen) < 0))
        return -1;
    pl->body_text[rq->body_len] = 0;
    pl->user[rq->user_len] = 0;
    return 0;
}

static int write_payload(int sock, const struct spawn_req *rq, const struct payload *pl)
{
    if (write_full(sock, pl->body_text, rq->body_len) < 0 ||
        write_full(sock, pl->user, rq->user_len) < 0 ||
        (pl->glen && write_full(sock, pl->groups, pl->glen) < 0))
        return -1;
    return 0;
}

static void payload_free(struct payload *pl)
{
    free(pl->body_text);
    free(pl->user);
    free(pl->groups);
    memset(pl, 0, sizeof(*pl));
}

/* The spare's job process, forked ahead: it enters its cgroup (the slow
 * part), then waits for the launch as the spare got it and for the
 * supervisor's "go", and becomes the job.  Never returns. */
static void __attribute__((noreturn))
starter_main(struct noded *d, int sock, int errfd, const char *cg, pid_t parent)
{
    struct spawn_req rq;
    struct payload pl = {0};
    int fds[2];
    char go;
    ssize_t n;

    prctl(PR_SET_PDEATHSIG, SIGKILL); /* until "go", it dies with the spare */
    if (getppid() != parent)
        _exit(0);
    prctl(PR_SET_NAME, "slurmish-start", 0, 0, 0);
    setsid(); /* the job's session and process group, before its pid is told */
    if (cg_attach(cg, 0) < 0)
        log_warn("spawner: cannot enter memory cgroup %s: %s", cg, strerror(errno));
    if (recv_req(sock, &rq, fds) < 0 || fds[0] < 0 || read_payload(sock, &rq, &pl) < 0)
        _exit(0); /* the spare is gone, or gave the job to a fork of its own */
    do
        n = read(sock, &go, 1);
    while (n < 0 && errno == EINTR);
    if (n != 1)
        _exit(0);
    close(sock);
    prctl(PR_SET_PDEATHSIG, 0); /* the job must not die with its supervisor */
    json_error_t jerr;
    json_t *body = json_loadb(pl.body_text, rq.body_len, 0, &jerr);
    if (!body)
        job_fail(errfd, -1, "unreadable launch body: %s", jerr.text);
    struct job_user ju = {.name = pl.user, .groups = pl.groups, .ngroups = rq.ngroups};
    launch_run_job(d, body, &ju, fds[0], errfd);
}

/* In a spare, with memory enforced: fork its job process ahead of time
 * (ps->pid stays 0 when that cannot be done). */
static void prestart(struct noded *d, int spare_sock, struct prestart *ps)
{
    int sv[2], pfd[2];
    pid_t self = getpid();
    char *cg = cg_spare_create(d->name, d->spool, self);

    if (!cg)
        return;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        goto fail;
    if (pipe2(pfd, O_CLOEXEC) < 0) {
        close(sv[0]);
        close(sv[1]);
        goto fail;
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(spare_sock);
        close(sv[0]);
        close(pfd[0]);
        starter_main(d, sv[1], pfd[1], cg, self);
    }
    close(sv[1]);
    close(pfd[1]);
    if (pid < 0) {
        close(sv[0]);
        close(pfd[0]);
        goto fail;
    }
    *ps = (struct prestart){.pid = pid, .sock = sv[0], .errfd = pfd[0], .cg = cg};
    return;
fail:
    rmdir(cg);
    free(cg);
}

/* A spare supervisor: wait for one launch (the request, its descriptors
 * and payload, as the spawner got them), then supervise it.  Never
 * returns. */
static void __attribute__((noreturn)) spare_main(struct noded *d, int sock, pid_t spawner)
{
    struct spawn_req rq;
    struct prestart ps = {0};
    int fds[2];
    /* until it has a job, a spare is the spawner's: it goes with it */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != spawner)
        _exit(0);
    prctl(PR_SET_NAME, "slurmish-spare", 0, 0, 0);
    if (d->conf->enforce_memory)
        prestart(d, sock, &ps);
    if (recv_req(sock, &rq, fds) < 0 || fds[0] < 0 || fds[1] < 0)
        _exit(0); /* the spawner is gone or stopping: no job was given */
    struct payload pl;
    if (read_payload(sock, &rq, &pl) < 0)
        _exit(1); /* the report pipe closes without a line: the launch is retried */
    close(sock);
    prctl(PR_SET_PDEATHSIG, 0); /* the job must not die with the spawner */
    json_error_t jerr;
    json_t *body = json_loadb(pl.body_text, rq.body_len, 0, &jerr);
    if (!body) {
        log_err("spawner: unreadable launch body: %s", jerr.text);
        _exit(1);
    }
    /* the job process gets the launch as we did; it starts at "go" */
    if (ps.pid && (send_fds(ps.sock, &rq, sizeof(rq), fds, 1) != (ssize_t)sizeof(rq) ||
                   write_payload(ps.sock, &rq, &pl) < 0))
        launch_prestart_drop(&ps);
    struct job_user ju = {.name = pl.user, .groups = pl.groups, .ngroups = rq.ngroups};
    launch_supervise(d, body, &ju, fds[0], fds[1], ps.pid ? &ps : NULL);
}

/* Fork a spare supervisor (spare.pid stays 0 when that fails). */
static void spare_fork(struct noded *d, int daemon_sock)
{
    int sv[2];
    pid_t self = getpid();
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return;
    pid_t pid = fork();
    if (pid == 0) {
        close(daemon_sock);
        close(sv[0]);
        spare_main(d, sv[1], self);
    }
    close(sv[1]);
    if (pid < 0) {
        close(sv[0]);
        return;
    }
    spare.pid = pid;
    spare.sock = sv[0];
    spare.start = proc_start_time(pid);
    spare.pidfd = pidfd_open_pid(pid);
}

/* The spare is gone (reaped, or handed a job): forget it. */
static void spare_forget(void)
{
    if (spare.pid) {
        close(spare.sock);
        if (spare.pidfd >= 0)
            close(spare.pidfd);
    }
    memset(&spare, 0, sizeof(spare));
}

/* Hand a launch to the spare; 0 and its reply filled when it took it. */
static int spare_take(const struct spawn_req *rq, int script_fd, int report_fd,
                      const struct payload *pl, struct spawn_rep *rep, int *pidfd)
{
    int fds[2] = {script_fd, report_fd};
    if (!spare.pid || spare.pidfd < 0 ||
        send_fds(spare.sock, rq, sizeof(*rq), fds, 2) != (ssize_t)sizeof(*rq)) {
        if (spare.pid) {
            kill(spare.pid, SIGKILL); /* it got nothing: reaped as any child */
            spare_forget();
        }
        return -1;
    }
    if (write_payload(spare.sock, rq, pl) < 0) {
        /* it holds the report pipe: it exits without a line, and the
         * daemon sees a launch that never started */
        kill(spare.pid, SIGKILL);
    }
    rep->pid = (int32_t)spare.pid;
    rep->start = spare.start;
    *pidfd = dup(spare.pidfd);
    spare_forget();
    return 0;
}

/* One launch request: fork the supervisor and answer.  -1: the daemon is
 * gone or spoke nonsense (the spawner exits). */
static int spawn_one(struct noded *d, int sock, const struct spawn_req *rq, int script_fd,
                     int report_fd)
{
    struct spawn_rep rep;
    struct payload pl = {0};
    json_t *body = NULL;
    json_error_t jerr;
    int rc = -1, pidfd = -1;

    memset(&rep, 0, sizeof(rep));
    rep.start = -1;
    if (rq->body_len > SPAWN_MAX_PAYLOAD || rq->user_len == 0 || rq->user_len > 4096 ||
        rq->ngroups > 65536 || script_fd < 0 || report_fd < 0) {
        log_err("spawner: malformed launch request");
        goto out;
    }
    if (read_payload(sock, rq, &pl) < 0)
        goto out;
    rc = 0;
    if (spare_take(rq, script_fd, report_fd, &pl, &rep, &pidfd) == 0) {
        /* the spare supervises it */
    } else if (!(body = json_loadb(pl.body_text, rq->body_len, 0, &jerr))) {
        log_err("spawner: unreadable launch body: %s", jerr.text);
        rep.err = EINVAL;
    } else {
        struct job_user ju = {.name = pl.user, .groups = pl.groups, .ngroups = rq->ngroups};
        pid_t pid = fork();
        if (pid == 0) {
            close(sock);
            if (spare.pid)
                close(spare.sock);
            prctl(PR_SET_PDEATHSIG, 0); /* cleared by fork already; the job must not die with us */
            launch_supervise(d, body, &ju, script_fd, report_fd, NULL);
        }
        if (pid < 0) {
            rep.err = errno;
        } else {
            /* our child, not reaped before this: the pidfd and start time are its */
            rep.pid = (int32_t)pid;
            rep.start = proc_start_time(pid);
            pidfd = pidfd_open_pid(pid);
        }
    }
    if (send_fds(sock, &rep, sizeof(rep), &pidfd, pidfd >= 0) != (ssize_t)sizeof(rep))
        rc = -1;
out:
    if (pidfd >= 0)
        close(pidfd);
    close(script_fd);
    close(report_fd);
    json_decref(body);
    payload_free(&pl);
    return rc;
}

void spawner_main(struct noded *d, int sock, pid_t daemon_pid)
{
    sigset_t mask;
    int sfd;

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != daemon_pid)
        _exit(0); /* the daemon died before the line above */
    prctl(PR_SET_NAME, "slurmish-spawn", 0, 0, 0);
    for (int s = 1; s < NSIG; s++)
        if (s != SIGKILL && s != SIGSTOP)
            signal(s, SIG_DFL);
    signal(SIGHUP, SIG_IGN);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_SETMASK, &mask, NULL); /* the supervisors reset their mask */
    if ((sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC)) < 0)
        _exit(1);
    spare.pidfd = -1;
    for (;;) {
        struct pollfd p[2] = {{.fd = sock, .events = POLLIN}, {.fd = sfd, .events = POLLIN}};
        int ready = poll(p, 2, spare.pid ? -1 : SPARE_IDLE_MS);
        if (ready < 0 && errno != EINTR)
            break;
        if (ready == 0) {
            spare_fork(d, sock); /* idle: the next launch finds a supervisor running */
            continue;
        }
        if (p[1].revents & POLLIN) {
            struct signalfd_siginfo si;
            pid_t w;
            while (read(sfd, &si, sizeof(si)) == sizeof(si))
                ;
            while ((w = waitpid(-1, NULL, WNOHANG)) > 0)
                if (w == spare.pid) {
                    spare_forget(); /* killed before it had a job */
                    if (d->conf->enforce_memory)
                        cg_spares_sweep(d->name, d->spool, w); /* its job process's */
                }
            /* other supervisors: their status is in the spool */
        }
        if (!(p[0].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        struct spawn_req rq;
        int fds[2];
        if (recv_req(sock, &rq, fds) < 0)
            break; /* EOF: the daemon is gone or stopping */
        if (rq.type == SPAWN_REOPEN) {
            for (int i = 0; i < 2; i++)
                if (fds[i] >= 0)
                    close(fds[i]);
            if (log_reopen() < 0)
                log_err("spawner: cannot reopen the log file: %s", strerror(errno));
            continue;
        }
        if (rq.type != SPAWN_LAUNCH || spawn_one(d, sock, &rq, fds[0], fds[1]) < 0)
            break;
    }
    _exit(0); /* no atexit work: what is left is the daemon's */
}

/* ---- the daemon's side ---- */

/* The spawner program (spawner_main.c): beside our own executable (a
 * build tree, or both installed in one directory), else where it was
 * installed. */
static const char *spawner_program(void)
{
    static char path[PATH_MAX + 32];
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    char *slash = n > 0 ? (self[n] = 0, strrchr(self, '/')) : NULL;
    if (slash) {
        *slash = 0;
        snprintf(path, sizeof(path), "%s/slurmish-spawner", self);
        if (access(path, X_OK) == 0)
            return path;
    }
    return SPAWNER_PROGRAM;
}

/* In the child of spawner_start(): become the spawner program (argv,
 * made before the fork: the daemon may have threads by now); if it cannot
 * be run, be the spawner as this fork of the daemon. */
static void __attribute__((noreturn))
spawner_exec(struct noded *d, int sock, pid_t daemon_pid, const char *program, char **argv)
{
    /* the socket outlives the exec; the parent-death signal does too */
    fcntl(sock, F_SETFD, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != daemon_pid)
        _exit(0); /* the daemon died before the line above */
    execv(program, argv);
    log_warn("cannot run the job spawner %s: %s; forking supervisors from a copy of the daemon",
             program, strerror(errno));
    fcntl(sock, F_SETFD, FD_CLOEXEC);
    spawner_main(d, sock, daemon_pid);
}

int spawner_start(struct noded *d)
{
    int sv[2];
    pid_t self = getpid(), pid;
    const char *program = spawner_program();
    char fd[16], ppid[16], lvl[16];

    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    snprintf(fd, sizeof(fd), "%d", sv[1]);
    snprintf(ppid, sizeof(ppid), "%d", (int)self);
    snprintf(lvl, sizeof(lvl), "%d", log_get_level());
    char *argv[] = {"slurmish-spawner",
                    fd,
                    ppid,
                    d->conf_path,
                    d->name,
                    d->spool,
                    d->conf->enforce_memory ? "1" : "0",
                    lvl,
                    (char *)log_file_path(),
                    NULL};
    fflush(NULL);
    if ((pid = fork()) < 0) {
        int e = errno;
        close(sv[0]);
        close(sv[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(sv[0]);
        spawner_exec(d, sv[1], self, program, argv);
    }
    close(sv[1]);
    fcntl(sv[0], F_SETFL, fcntl(sv[0], F_GETFL) | O_NONBLOCK);
    d->spawner_pid = pid;
    d->spawner_fd = sv[0];
    log_debug("job spawner started (pid %d, %s)", (int)pid, program);
    return 0;
}

/* Forget the spawner; kill it first when it may still live (not reaped). */
static void spawner_drop(struct noded *d, bool kill_it)
{
    if (d->spawner_fd >= 0)
        close(d->spawner_fd);
    d->spawner_fd = -1;
    if (d->spawner_pid > 0 && kill_it) {
        kill(d->spawner_pid, SIGKILL);
        waitpid(d->spawner_pid, NULL, 0);
    }
    d->spawner_pid = 0;
}

void spawner_stop(struct noded *d)
{
    if (d->spawner_fd >= 0)
        close(d->spawner_fd); /* EOF: it exits */
    d->spawner_fd = -1;
    /* wait for it (under valgrind its exit takes a while), but never forever */
    for (int i = 0; d->spawner_pid > 0 && i < 1000; i++) {
        pid_t w = waitpid(d->spawner_pid, NULL, WNOHANG);
        if (w == d->spawner_pid || (w < 0 && errno != EINTR))
            d->spawner_pid = 0;
        else
            usleep(10000);
    }
    spawner_drop(d, true);
}

bool spawner_reaped(struct noded *d, pid_t pid, int status)
{
    if (pid <= 0 || pid != d->spawner_pid)
        return false;
    if (WIFSIGNALED(status))
        log_err("job spawner %d killed by signal %d; a new one starts with the next job", (int)pid,
                WTERMSIG(status));
    else
        log_err("job spawner %d exited with status %d; a new one starts with the next job",
                (int)pid, WEXITSTATUS(status));
    d->spawner_pid = 0; /* reaped: never signal that pid again */
    spawner_drop(d, false);
    return true;
}

void spawner_reopen_log(struct noded *d)
{
    struct spawn_req rq = {.type = SPAWN_REOPEN};
    if (d->spawner_fd >= 0 &&
        send_fds(d->spawner_fd, &rq, sizeof(rq), NULL, 0) != (ssize_t)sizeof(rq))
        log_warn("job spawner: cannot forward the log reopen: %s", strerror(errno));
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events before the deadline; 0, or -1 (ETIMEDOUT). */
static int wait_fd(int fd, short events, int64_t deadline)
{
    for (;;) {
        int64_t left = deadline - mono_ms();
        struct pollfd p = {.fd = fd, .events = events};
        if (left < 0)
            left = 0;
        int n = poll(&p, 1, (int)left);
        if (n > 0)
            return 0;
        if (n == 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        if (errno != EINTR)
            return -1;
    }
}

/* Write all of buf to the non-blocking socket before the deadline. */
static int send_all(int fd, const void *buf, size_t len, int64_t deadline)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = send(fd, (const char *)buf + off, len - off, MSG_NOSIGNAL);
        if (n > 0) {
            off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) &&
            wait_fd(fd, POLLOUT, deadline) == 0)
            continue;
        return -1;
    }
    return 0;
}

/* Read the report pipe: "<job pid> <supervisor pid>\n", or EOF (no
 * supervisor holds the write end any more). */
static void read_report(int fd, struct spawn_result *res)
{
    char buf[64];
    ssize_t n;
    struct pollfd p = {.fd = fd, .events = POLLIN};

    if (poll(&p, 1, SPAWN_TIMEOUT_MS) <= 0)
        return;
    do
        n = read(fd, buf, sizeof(buf) - 1);
    while (n < 0 && errno == EINTR);
    buf[n > 0 ? n : 0] = 0;
    long a = 0, b = 0;
    if (sscanf(buf, "%ld %ld", &a, &b) >= 1) {
        res->reported = true;
        res->pgid = (pid_t)a;
        res->report_sup = (pid_t)b;
    }
}

/* One try.  1: the spawner failed before any supervisor started (retry
 * with a new one); 0: done (res->sup_pid set) or failed for good (-1). */
static int spawn_try(struct noded *d, const char *body_text, const struct job_user *ju,
                     int script_fd, struct spawn_result *res, char *errbuf, size_t errlen)
{
    size_t blen = strlen(body_text), ulen = strlen(ju->name);
    struct spawn_req rq = {.type = SPAWN_LAUNCH,
                           .body_len = (uint32_t)blen,
                           .user_len = (uint32_t)ulen,
                           .ngroups = ju->groups ? ju->ngroups : -1};
    struct spawn_rep rep;
    int rp[2], fds[2], pidfd = -1, ret = 1;
    int64_t deadline = mono_ms() + SPAWN_TIMEOUT_MS;
    const char *why = NULL;
    ssize_t n;

    if (d->spawner_fd < 0 && spawner_start(d) < 0) {
        snprintf(errbuf, errlen, "cannot start the job spawner: %s", strerror(errno));
        return -1;
    }
    if (pipe2(rp, O_CLOEXEC) < 0) {
        snprintf(errbuf, errlen, "pipe: %s", strerror(errno));
        return -1;
    }
    fds[0] = script_fd;
    fds[1] = rp[1];
    do
        n = send_fds(d->spawner_fd, &rq, sizeof(rq), fds, 2);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        why = "not taking requests";
        goto broken;
    }
    if (n < 0) {
        why = strerror(errno); /* EPIPE, ECONNRESET: it is gone, nothing started */
        goto broken;
    }
    close(rp[1]); /* the spawner holds it now, then the supervisor */
    rp[1] = -1;
    if (send_all(d->spawner_fd, (const char *)&rq + n, sizeof(rq) - (size_t)n, deadline) < 0 ||
        send_all(d->spawner_fd, body_text, blen, deadline) < 0 ||
        send_all(d->spawner_fd, ju->name, ulen, deadline) < 0 ||
        (ju->groups && ju->ngroups > 0 &&
         send_all(d->spawner_fd, ju->groups, (size_t)ju->ngroups * sizeof(gid_t), deadline) < 0)) {
        why = strerror(errno);
        goto broken;
    }
    if (wait_fd(d->spawner_fd, POLLIN, deadline) < 0) {
        why = "no answer";
        goto broken;
    }
    n = recv_fds(d->spawner_fd, &rep, sizeof(rep), &pidfd, 1);
    if (n != (ssize_t)sizeof(rep)) { /* its answers are small: all or nothing */
        why = n == 0 ? "gone" : n < 0 ? strerror(errno) : "short answer";
        goto broken;
    }
    if (rep.pid <= 0) {
        snprintf(errbuf, errlen, "cannot start the job supervisor: %s",
                 strerror(rep.err ? rep.err : EINVAL));
        close(rp[0]);
        if (pidfd >= 0)
            close(pidfd);
        return -1;
    }
    res->sup_pid = rep.pid;
    res->sup_start = rep.start;
    res->pidfd = pidfd;
    read_report(rp[0], res);
    close(rp[0]);
    return 0;

broken:
    log_err("job spawner %d: %s; starting a new one", (int)d->spawner_pid, why);
    if (pidfd >= 0)
        close(pidfd);
    if (rp[1] >= 0)
        close(rp[1]);
    spawner_drop(d, true); /* also closes what it held of the report pipe */
    read_report(rp[0], res);
    close(rp[0]);
    if (res->reported && res->report_sup > 1) {
        /* the supervisor did start: track it by the pid it reported */
        res->sup_pid = res->report_sup;
        res->sup_start = proc_start_time(res->sup_pid);
        res->pidfd = pidfd_open_pid(res->sup_pid);
        ret = 0;
    }
    return ret;
}

int spawner_launch(struct noded *d, const char *body_text, const struct job_user *ju, int script_fd,
                   struct spawn_result *res, char *errbuf, size_t errlen)
{
    int rc;
    for (int tries = 0; tries < 2; tries++) {
        memset(res, 0, sizeof(*res));
        res->pidfd = -1;
        res->sup_start = -1;
        if ((rc = spawn_try(d, body_text, ju, script_fd, res, errbuf, errlen)) <= 0)
            return rc;
    }
    snprintf(errbuf, errlen, "the job spawner failed twice; no supervisor started");
    return -1;
}
