/* stepd.c - the supervisor of one step's tasks on this node.
 *
 * slurmish-d forks one per step (steps.c).  It owns the tasks' terminal
 * (a pseudo-terminal for --pty) or pipes, keeps the last output in a
 * ring so a client that reattaches sees it first, and talks to the node
 * daemon over a SOCK_SEQPACKET Unix socket in the step's spool
 * directory, in the stream frames of lib/proto/stream.h.  It is its own
 * session and outlives the daemon: a restarted daemon connects to the
 * socket again.  When every task has ended it writes the statuses to the
 * spool (for a daemon that is not there to hear them), reports them on
 * the socket and exits.
 *
 * Each task is a session of its own, so the processes it starts are found
 * (for CPU use and for the final kill) by their session id.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "cgroup.h"
#include "noded.h"
#include "proto/stream.h"
#include "util/xmalloc.h"

#define RING_BYTES (64 * 1024) /* recent output replayed to a client that attaches */
#define DRAIN_MS 1000          /* after the last task ends, wait this long for output */

struct task {
    pid_t pid;        /* also its session id */
    int in_fd;        /* stdin pipe, or the pty master (shared with out_fd) */
    int out_fd, err_fd;
    bool exited;
    int status;
    char *inq;        /* stdin not yet written */
    size_t inq_len;
    bool in_eof;      /* close stdin once inq is written */
};

struct ring_frame {
    char *buf;
    size_t len;
};

static struct {
    const struct stepd_args *a;
    struct task *tasks;
    int conn;
    struct ring_frame *ring;
    size_t ring_n, ring_cap, ring_bytes;
    uint64_t out_frames; /* output frames made so far; the ring holds the last ring_n */
    int64_t last_input;
    uint64_t reaped_cpu_ms;
    char *cg; /* the job's memory cgroup, shared with its batch script and other steps */
} S;

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void send_conn(const char *buf, size_t len)
{
    /* if the daemon went away the frame is lost (the ring keeps output);
     * the read side notices the end and closes */
    if (S.conn >= 0 && send(S.conn, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0 &&
        (errno == EAGAIN || errno == EWOULDBLOCK)) {
        /* the daemon is behind: wait for room rather than lose a frame */
        struct pollfd p = {.fd = S.conn, .events = POLLOUT};
        if (poll(&p, 1, 1000) > 0)
            send(S.conn, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
    }
}

static void send_frame(int kind, uint32_t a, uint32_t b, const char *data, size_t len)
{
    char buf[SL_FRAME_HDR + 4096];
    struct sl_frame f = {kind, S.a->job_id, S.a->step_id, a, b, data, len};
    send_conn(buf, sl_frame_encode(&f, buf));
}

static void ring_add(const char *buf, size_t len)
{
    if (S.ring_n == S.ring_cap) {
        S.ring_cap = S.ring_cap ? S.ring_cap * 2 : 64;
        S.ring = xrealloc(S.ring, S.ring_cap * sizeof(*S.ring));
    }
    S.ring[S.ring_n].buf = xmalloc(len);
    memcpy(S.ring[S.ring_n].buf, buf, len);
    S.ring[S.ring_n++].len = len;
    S.ring_bytes += len;
    size_t drop = 0;
    while (S.ring_bytes > RING_BYTES && drop < S.ring_n - 1) {
        S.ring_bytes -= S.ring[drop].len;
        free(S.ring[drop++].buf);
    }
    if (drop) {
        memmove(S.ring, S.ring + drop, (S.ring_n - drop) * sizeof(*S.ring));
        S.ring_n -= drop;
    }
}

/* Output of a task (or a notice): into the ring, and to the daemon. */
static void output(uint32_t task, int stream, const char *data, size_t len)
{
    char buf[SL_FRAME_HDR + 4096];
    while (len) {
        size_t n = len > 4096 ? 4096 : len;
        struct sl_frame f = {SL_FR_OUTPUT, S.a->job_id, S.a->step_id, task, (uint32_t)stream,
                             data, n};
        size_t flen = sl_frame_encode(&f, buf);
        ring_add(buf, flen);
        S.out_frames++;
        send_conn(buf, flen);
        data += n;
        len -= n;
    }
}

/* Send the ring's frames from the from-th output frame on (0: all it
 * holds): a client that lost its connection while the node daemon was down
 * says how many frames it has, and gets exactly the ones it missed while
 * they are still in the ring. */
static void replay(uint64_t from)
{
    uint64_t first = S.out_frames - S.ring_n; /* number of the ring's oldest frame */
    if (from > S.out_frames)
        from = S.out_frames; /* a count from an earlier life of this step: nothing is new */
    for (size_t i = from > first ? (size_t)(from - first) : 0; i < S.ring_n; i++) {
        /* the same frame, marked as replayed (stream | SL_FR_REPLAY_FLAG) */
        char *b = S.ring[i].buf;
        b[16] = (char)(b[16] | SL_FR_REPLAY_FLAG);
        send_conn(b, S.ring[i].len);
        b[16] = (char)(b[16] & ~SL_FR_REPLAY_FLAG);
    }
    /* a: the number of the next frame, so the client's count is absolute
     * even when the ring no longer held the first ones */
    send_frame(SL_FR_REPLAYED, (uint32_t)S.out_frames, 0, NULL, 0);
}

/* Sum the CPU time of the processes in the tasks' sessions, and signal
 * them if sig is not 0.  Only our descendants count (we are a subreaper,
 * so orphans stay ours): a task's pid, once free, may be reused by an
 * unrelated process that makes itself a session leader. */
struct proc_ent {
    pid_t pid, ppid;
    int sid;
    unsigned long long ticks;
};

static bool is_descendant(const struct proc_ent *v, size_t n, pid_t pid)
{
    pid_t me = getpid();
    for (int depth = 0; depth < 64 && pid > 1; depth++) {
        pid_t parent = 0;
        for (size_t i = 0; i < n; i++)
            if (v[i].pid == pid) {
                parent = v[i].ppid;
                break;
            }
        if (parent == me)
            return true;
        pid = parent;
    }
    return false;
}

static uint64_t sessions_walk(int sig)
{
    DIR *dir = opendir("/proc");
    struct dirent *de;
    uint64_t ticks = 0;
    long hz = sysconf(_SC_CLK_TCK);
    struct proc_ent *v = NULL;
    size_t n = 0, cap = 0;

    if (!dir)
        return 0;
    while ((de = readdir(dir))) {
        char path[64], buf[1024];
        pid_t pid = (pid_t)atoi(de->d_name);
        if (pid <= 0)
            continue;
        snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            continue;
        ssize_t got = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (got <= 0)
            continue;
        buf[got] = 0;
        char *p = strrchr(buf, ')');
        int sid = 0, ppid = 0;
        unsigned long long ut = 0, st = 0;
        /* after "pid (comm)": state ppid pgrp session ... utime(14) stime(15) */
        if (!p || sscanf(p + 2, "%*c %d %*d %d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ppid,
                         &sid, &ut, &st) != 4)
            continue;
        if (n == cap)
            v = xrealloc(v, (cap = cap ? cap * 2 : 256) * sizeof(*v));
        v[n++] = (struct proc_ent){pid, (pid_t)ppid, sid, ut + st};
    }
    closedir(dir);
    for (size_t k = 0; k < n; k++)
        for (int i = 0; i < S.a->ntasks; i++)
            if (S.tasks[i].pid > 0 && v[k].sid == S.tasks[i].pid &&
                is_descendant(v, n, v[k].pid)) {
                ticks += v[k].ticks;
                if (sig)
                    kill(v[k].pid, sig);
            }
    free(v);
    return hz > 0 ? ticks * 1000 / (uint64_t)hz : 0;
}

static void signal_tasks(int sig)
{
    for (int i = 0; i < S.a->ntasks; i++)
        if (S.tasks[i].pid > 0 && !S.tasks[i].exited)
            kill(-S.tasks[i].pid, sig);
    if (sig == SIGKILL)
        sessions_walk(SIGKILL);
}

static void set_nonblock(int fd)
{
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static void env_put(char ***envp, const char *key, const char *val)
{
    size_t n = 0, klen = strlen(key);
    char **e = *envp;
    for (; e[n]; n++)
        if (strncmp(e[n], key, klen) == 0 && e[n][klen] == '=') {
            free(e[n]);
            e[n] = xasprintf("%s=%s", key, val);
            return;
        }
    e = xrealloc(e, (n + 2) * sizeof(char *));
    e[n] = xasprintf("%s=%s", key, val);
    e[n + 1] = NULL;
    *envp = e;
}

/* The task process.  Never returns. */
static void __attribute__((noreturn)) run_task(int i, int slave, int in, int out, int err)
{
    const struct stepd_args *a = S.a;
    struct env_ctx ec = {.node = a->node,
                         .cpus = a->cpus,
                         .pid = getpid(),
                         .conf_path = a->conf_path,
                         .node_id = a->node_id,
                         .procid = a->task_offset + i,
                         .localid = i,
                         .step = true};
    char **envp;

    setsid();
    if (S.cg)
        cg_attach(S.cg, 0); /* before exec: all it starts counts against the job */
    if (slave >= 0) {
        ioctl(slave, TIOCSCTTY, 0);
        in = out = err = slave;
    }
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(1);
    close_range(3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    for (int s = 1; s < NSIG; s++)
        signal(s, SIG_DFL);
    drop_privileges(2, a->user, a->uid, a->gid);
    umask(022);
    if (chdir(a->cwd) < 0) {
        dprintf(2, "slurmstepd: error: couldn't chdir to `%s': %s: going to /tmp instead\n",
                a->cwd, strerror(errno));
        if (chdir("/tmp") < 0)
            _exit(1);
    }
    envp = job_env_build(a->env, &ec);
    if (a->gpus && *a->gpus) {
        env_put(&envp, "CUDA_VISIBLE_DEVICES", a->gpus);
        env_put(&envp, "GPU_DEVICE_ORDINAL", a->gpus);
        env_put(&envp, "SLURM_STEP_GPUS", a->gpus);
    }
    if (a->pty && a->term && *a->term)
        env_put(&envp, "TERM", a->term);
    execvpe(a->argv[0], a->argv, envp);
    dprintf(2, "slurmstepd: error: execve(): %s: %s\n", a->argv[0], strerror(errno));
    _exit(errno == ENOENT ? 2 : 126);
}

static int start_tasks(void)
{
    const struct stepd_args *a = S.a;
    struct winsize ws = {.ws_row = (unsigned short)(a->rows ? a->rows : 24),
                         .ws_col = (unsigned short)(a->cols ? a->cols : 80)};

    S.tasks = xcalloc((size_t)a->ntasks, sizeof(*S.tasks));
    if (a->enforce_memory && a->mem_mb)
        S.cg = cg_job_create(a->node, a->spool, a->job_id, a->mem_mb);
    for (int i = 0; i < a->ntasks; i++) {
        struct task *t = &S.tasks[i];
        int master = -1, slave = -1, pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
        t->in_fd = t->out_fd = t->err_fd = -1;
        if (a->pty) {
            if (openpty(&master, &slave, NULL, NULL, &ws) < 0)
                return -1;
            fcntl(master, F_SETFD, FD_CLOEXEC);
        } else if (pipe2(pin, O_CLOEXEC) < 0 || pipe2(pout, O_CLOEXEC) < 0 ||
                   pipe2(perr, O_CLOEXEC) < 0) {
            return -1;
        }
        fflush(NULL);
        t->pid = fork();
        if (t->pid < 0)
            return -1;
        if (t->pid == 0)
            run_task(i, slave, pin[0], pout[1], perr[1]);
        if (a->pty) {
            close(slave);
            t->in_fd = t->out_fd = master;
        } else {
            close(pin[0]);
            close(pout[1]);
            close(perr[1]);
            t->in_fd = pin[1];
            t->out_fd = pout[0];
            t->err_fd = perr[0];
        }
        set_nonblock(t->in_fd);
        set_nonblock(t->out_fd);
        if (t->err_fd >= 0)
            set_nonblock(t->err_fd);
    }
    return 0;
}

static void queue_input(struct task *t, const char *data, size_t len)
{
    if (t->in_fd < 0 || t->exited)
        return;
    if (t->inq_len + len > 4 * 1024 * 1024)
        return; /* the task does not read its input: drop, rather than grow without end */
    t->inq = xrealloc(t->inq, t->inq_len + len + 1);
    memcpy(t->inq + t->inq_len, data, len);
    t->inq_len += len;
}

static void flush_input(struct task *t)
{
    while (t->inq_len && t->in_fd >= 0) {
        ssize_t n = write(t->in_fd, t->inq, t->inq_len);
        if (n < 0) {
            if (errno != EAGAIN && errno != EINTR)
                t->inq_len = 0; /* the reader is gone */
            break;
        }
        memmove(t->inq, t->inq + n, t->inq_len - (size_t)n);
        t->inq_len -= (size_t)n;
    }
    if (t->in_eof && !t->inq_len && t->in_fd >= 0) {
        if (S.a->pty) {
            char eof = 4; /* ^D: the terminal's end of input */
            if (write(t->in_fd, &eof, 1) < 0) {
                /* nothing more to do */
            }
        } else {
            close(t->in_fd);
            t->in_fd = -1;
        }
        t->in_eof = false;
    }
}

static void handle_conn_frame(const char *buf, size_t len)
{
    struct sl_frame f;
    sl_error_t err;

    if (sl_frame_decode(buf, len, &f, &err) < 0)
        return;
    switch (f.kind) {
    case SL_FR_STDIN:
        S.last_input = time(NULL);
        for (int i = 0; i < S.a->ntasks; i++)
            if (f.a == SL_FR_ALL_TASKS || f.a == (uint32_t)(S.a->task_offset + i)) {
                queue_input(&S.tasks[i], f.data, f.len);
                flush_input(&S.tasks[i]);
            }
        break;
    case SL_FR_EOF:
        for (int i = 0; i < S.a->ntasks; i++) {
            S.tasks[i].in_eof = true;
            flush_input(&S.tasks[i]);
        }
        break;
    case SL_FR_RESIZE:
        if (S.a->pty) {
            struct winsize ws = {.ws_row = (unsigned short)f.a, .ws_col = (unsigned short)f.b};
            for (int i = 0; i < S.a->ntasks; i++)
                if (S.tasks[i].out_fd >= 0)
                    ioctl(S.tasks[i].out_fd, TIOCSWINSZ, &ws); /* the kernel sends SIGWINCH */
        }
        break;
    case SL_FR_SIGNAL:
        signal_tasks((int)f.a);
        break;
    case SL_FR_HELLO:
        replay(f.a); /* a: frames the client has already (0 for a new one) */
        break;
    case SL_FR_NOTICE:
        output((uint32_t)S.a->task_offset, 2, f.data, f.len);
        break;
    case SL_FR_QUERY: {
        int64_t now = time(NULL);
        /* a busy GPU is a session in use, like typing (a training loop
         * run from a notebook shows neither input nor much CPU) */
        if (S.a->gpus && *S.a->gpus && gpus_busy(S.a->gpus) == 1)
            S.last_input = now;
        uint64_t cpu = sessions_walk(0) + S.reaped_cpu_ms;
        send_frame(SL_FR_ACTIVITY, (uint32_t)(now - S.last_input), (uint32_t)cpu, NULL, 0);
        break;
    }
    default:
        break;
    }
}

static void write_status(int worst)
{
    char *path = xasprintf("%s/status", S.a->dir), rec[64 + 16 * 64];
    size_t off = (size_t)snprintf(rec, sizeof(rec), "%d %lld", worst, (long long)time(NULL));
    for (int i = 0; i < S.a->ntasks && off < sizeof(rec) - 16; i++)
        off += (size_t)snprintf(rec + off, sizeof(rec) - off, " %d", S.tasks[i].status);
    snprintf(rec + off, sizeof(rec) - off, "\n");
    spool_write_file(path, rec, 0600);
    free(path);
}

static bool worse_status(int st, int worst)
{
    if (WIFSIGNALED(worst))
        return false;
    return WIFSIGNALED(st) || WEXITSTATUS(st) > WEXITSTATUS(worst);
}

void stepd_run(const struct stepd_args *a)
{
    int sfd, alive, worst = 0;
    sigset_t mask;
    int64_t all_exited_at = 0;

    memset(&S, 0, sizeof(S));
    S.a = a;
    S.conn = a->conn_fd;
    S.last_input = time(NULL);
    setsid();
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    prctl(PR_SET_NAME, "slurmish-step", 0, 0, 0);
    signal(SIGPIPE, SIG_IGN);
    signal(SIGHUP, SIG_IGN);
    signal(SIGINT, SIG_IGN);
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    sigaddset(&mask, SIGTERM); /* from an admin or `slurmish-local down`: end the step */
    sigprocmask(SIG_SETMASK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);

    if (start_tasks() < 0) {
        char msg[256];
        int n = snprintf(msg, sizeof(msg), "slurmstepd: error: cannot start the tasks: %s\n",
                         strerror(errno));
        output((uint32_t)a->task_offset, 2, msg, (size_t)n);
    }
    alive = 0;
    for (int i = 0; i < a->ntasks; i++) {
        if (S.tasks[i].pid > 0)
            alive++;
        else {
            S.tasks[i].exited = true;
            S.tasks[i].status = 1 << 8;
        }
    }

    for (;;) {
        struct pollfd pf[2 + 3 * 64];
        int owner[2 + 3 * 64], np = 0, open_out = 0;
        int64_t now = mono_ms();

        pf[np] = (struct pollfd){.fd = a->listen_fd, .events = POLLIN};
        owner[np++] = -1;
        pf[np] = (struct pollfd){.fd = S.conn, .events = POLLIN};
        owner[np++] = -2;
        pf[np] = (struct pollfd){.fd = sfd, .events = POLLIN};
        owner[np++] = -3;
        for (int i = 0; i < a->ntasks && np < (int)(sizeof(pf) / sizeof(pf[0])) - 3; i++) {
            struct task *t = &S.tasks[i];
            if (t->out_fd >= 0) {
                pf[np] = (struct pollfd){.fd = t->out_fd, .events = POLLIN};
                owner[np++] = i * 3 + 1;
                open_out++;
            }
            if (t->err_fd >= 0) {
                pf[np] = (struct pollfd){.fd = t->err_fd, .events = POLLIN};
                owner[np++] = i * 3 + 2;
                open_out++;
            }
            if (t->in_fd >= 0 && t->inq_len && t->in_fd != t->out_fd) {
                pf[np] = (struct pollfd){.fd = t->in_fd, .events = POLLOUT};
                owner[np++] = i * 3;
            }
        }
        if (alive == 0) {
            if (!all_exited_at)
                all_exited_at = now;
            if (open_out == 0 || now - all_exited_at >= DRAIN_MS)
                break;
        }
        int timeout = alive == 0 ? (int)(DRAIN_MS - (now - all_exited_at)) : 1000;
        if (poll(pf, (nfds_t)np, timeout < 0 ? 0 : timeout) < 0 && errno != EINTR)
            break;
        for (int k = 0; k < np; k++) {
            if (!pf[k].revents || pf[k].fd < 0)
                continue;
            if (owner[k] == -1) {
                int c = accept4(a->listen_fd, NULL, NULL, SOCK_CLOEXEC);
                if (c >= 0) {
                    if (S.conn >= 0)
                        close(S.conn);
                    S.conn = c; /* the newest daemon wins */
                }
            } else if (owner[k] == -2) {
                char buf[SL_FRAME_HDR + SL_FRAME_MAX_DATA];
                ssize_t n = recv(S.conn, buf, sizeof(buf), MSG_DONTWAIT);
                if (n > 0)
                    handle_conn_frame(buf, (size_t)n);
                else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    close(S.conn);
                    S.conn = -1;
                }
            } else if (owner[k] == -3) {
                struct signalfd_siginfo si;
                while (read(sfd, &si, sizeof(si)) == sizeof(si))
                    if (si.ssi_signo == SIGTERM)
                        signal_tasks(SIGKILL);
                int st;
                struct rusage ru;
                pid_t w;
                while ((w = wait4(-1, &st, WNOHANG, &ru)) > 0) {
                    S.reaped_cpu_ms += (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000 +
                                       (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1000;
                    for (int i = 0; i < a->ntasks; i++)
                        if (S.tasks[i].pid == w && !S.tasks[i].exited) {
                            S.tasks[i].exited = true;
                            S.tasks[i].status = st;
                            alive--;
                        }
                }
            } else {
                int i = owner[k] / 3, which = owner[k] % 3;
                struct task *t = &S.tasks[i];
                if (which == 0) {
                    flush_input(t);
                    continue;
                }
                int *fdp = which == 1 ? &t->out_fd : &t->err_fd;
                char buf[4096];
                ssize_t n = read(*fdp, buf, sizeof(buf));
                if (n > 0) {
                    output((uint32_t)(a->task_offset + i), which, buf, (size_t)n);
                } else if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
                    /* EOF; a pty master says EIO once the last slave holder is gone */
                    if (t->in_fd == *fdp)
                        t->in_fd = -1;
                    close(*fdp);
                    *fdp = -1;
                }
            }
        }
    }
    /* what the tasks left behind ends with them */
    sessions_walk(SIGKILL);
    for (int i = 0; i < a->ntasks; i++) {
        struct task *t = &S.tasks[i];
        if (!t->exited)
            t->status = SIGKILL;
        if (i == 0 || worse_status(t->status, worst))
            worst = t->status;
    }
    write_status(worst);
    for (int i = 0; i < a->ntasks; i++)
        send_frame(SL_FR_TASK_EXIT, (uint32_t)(a->task_offset + i), (uint32_t)S.tasks[i].status,
                   NULL, 0);
    send_frame(SL_FR_STEP_END, (uint32_t)worst, 0, NULL, 0);
    char *sock = xasprintf("%s/sock", a->dir);
    unlink(sock);
    free(sock);
    if (S.cg)
        rmdir(S.cg); /* the last one out removes it; busy while others run */
    _exit(0);
}
