/* session.c - see session.h */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <zmq.h>

#include "auth/auth.h"
#include "common.h"
#include "forward.h"
#include "proto/stream.h"
#include "session.h"
#include "util/xmalloc.h"

extern char **environ;

#define CONNECT_TIMEOUT_MS 10000

/* ---- allocations ---- */

static json_t *query_job(long long id, bool with_env)
{
    json_t *body = json_pack("{s:[I], s:b}", "job_ids", (json_int_t)id, "with_env", with_env);
    json_t *reply = NULL, *job = NULL;
    sl_error_t err;
    int rc;

    if (cli_request(SL_MSG_QUERY_JOBS, body, &reply, &rc, &err) == 0) {
        json_t *jobs = json_object_get(reply, "jobs");
        if (json_array_size(jobs) > 0)
            job = json_incref(json_array_get(jobs, 0));
    }
    json_decref(body);
    json_decref(reply);
    return job;
}

char *alloc_state(long long id, long long *idle_warned)
{
    json_t *job = query_job(id, false);
    char *s = job ? xstrdup(cli_jbool(job, "configuring") ? "CONFIGURING" : cli_jstr(job, "state"))
                  : NULL;
    if (idle_warned)
        *idle_warned = job ? cli_jint(job, "idle_warned", 0) : 0;
    json_decref(job);
    return s;
}

json_t *alloc_env(long long id)
{
    json_t *job = query_job(id, true), *env = NULL;
    if (job)
        env = json_incref(json_object_get(job, "env"));
    json_decref(job);
    return env;
}

/* The controller may be restarting (systemd brings it back in seconds):
 * without an answer, keep asking for a while rather than leave the
 * allocation held until its time limit.  Releasing twice is harmless. */
#define ALLOC_RELEASE_TRY_S 60

void alloc_release(long long id, int exit_code, int sig)
{
    json_t *body = json_pack("{s:I, s:i, s:i}", "job_id", (json_int_t)id, "exit_code",
                             exit_code & 0xff, "signal", sig);
    json_t *reply = NULL;
    sl_error_t err;
    int rc;
    time_t give_up = time(NULL) + ALLOC_RELEASE_TRY_S;
    bool told = false;
    while (cli_request(SL_MSG_ALLOC_RELEASE, body, &reply, &rc, &err) < 0) {
        if (rc != -1 || time(NULL) >= give_up) { /* an answer, or no hope left */
            cli_error("Unable to release job allocation %lld: %s", id, err.text);
            break;
        }
        if (!told)
            cli_error("Unable to release job allocation %lld: %s; retrying", id, err.text);
        told = true;
        sleep(1);
    }
    json_decref(body);
    json_decref(reply);
}

static volatile sig_atomic_t alloc_interrupted;

static void on_alloc_signal(int sig)
{
    alloc_interrupted = sig;
}

long long alloc_create(const struct sbatch_opts *o, const char *name, const char *command,
                       bool salloc_style)
{
    json_t *body = json_object(), *reply = NULL;
    char host[256] = "", cwd[4096];
    sl_error_t err;
    int rc;
    long long id;
    bool said_waiting = false;
    struct sigaction sa = {.sa_handler = on_alloc_signal}, old_int, old_term;

    gethostname(host, sizeof(host) - 1);
    if (!getcwd(cwd, sizeof(cwd)))
        strcpy(cwd, "/");
    json_object_set_new(body, "interactive", json_true());
    json_object_set_new(body, "name", json_string(o->job_name ? o->job_name : name));
    json_object_set_new(body, "work_dir", json_string(o->chdir ? o->chdir : cwd));
    json_object_set_new(body, "argv", json_array());
    json_object_set_new(body, "env", json_array());
    sbatch_opts_to_body(o, body);
    json_object_set_new(body, "submit_host", json_string(host));
    json_object_set_new(body, "account", json_string(o->account ? o->account : ""));
    json_object_set_new(body, "comment", json_string(o->comment ? o->comment : ""));
    json_object_set_new(body, "command", json_string(command));
    if (o->hold)
        json_object_set_new(body, "hold", json_true());
    if (cli_request(SL_MSG_SUBMIT_JOB, body, &reply, &rc, &err) < 0) {
        cli_error("Job submit/allocate failed: %s", err.text);
        json_decref(body);
        return -1;
    }
    json_decref(body);
    id = cli_jint(reply, "job_id", -1);
    json_decref(reply);
    if (id < 0) {
        cli_error("Job submit/allocate failed: reply carries no job id");
        return -1;
    }
    /* Ctrl-C while waiting gives the allocation up, as Slurm does */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    bool booting = false;
    for (int i = 0;; i++) {
        char *state = alloc_state(id, NULL);
        if (state && !strcmp(state, "RUNNING")) {
            free(state);
            break;
        }
        if (!state || (strcmp(state, "PENDING") != 0 && strcmp(state, "CONFIGURING") != 0) ||
            alloc_interrupted) {
            if (alloc_interrupted) {
                fprintf(stderr, "%s: Job allocation %lld has been revoked.\n", cli_prog, id);
                alloc_release(id, 1, 0);
            } else {
                cli_error("Job allocation %lld has ended (%s) before it started", id,
                          state ? state : "unknown");
            }
            free(state);
            sigaction(SIGINT, &old_int, NULL);
            sigaction(SIGTERM, &old_term, NULL);
            return -1;
        }
        if (!strcmp(state, "CONFIGURING") && !booting) {
            /* its nodes are powering up (cloud nodes): say so, as Slurm does */
            fprintf(stderr, "%s: Waiting for resource configuration\n", cli_prog);
            booting = true;
        }
        free(state);
        if (i == 2 && !said_waiting && !booting) {
            if (salloc_style)
                fprintf(stderr, "%s: Pending job allocation %lld\n", cli_prog, id);
            fprintf(stderr, "%s: job %lld queued and waiting for resources\n", cli_prog, id);
            said_waiting = true;
        }
        usleep(i < 10 ? 100000 : 500000);
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (said_waiting)
        fprintf(stderr, "%s: job %lld has been allocated resources\n", cli_prog, id);
    if (booting) {
        json_t *job = query_job(id, false);
        fprintf(stderr, "%s: Nodes %s are ready for job\n", cli_prog,
                job ? cli_jstr(job, "nodes") : "?");
        json_decref(job);
    }
    if (salloc_style)
        fprintf(stderr, "%s: Granted job allocation %lld\n", cli_prog, id);
    return id;
}

/* ---- the stream ---- */

struct node_link {
    char *name;
    void *sock;
    void *monitor; /* connection events of sock */
    bool ended;
    bool lost;     /* the connection dropped (the node daemon restarted?) */
    uint64_t out_frames; /* output frames received: a rejoin asks for those after them */
    int ntasks, task_offset;
};

struct stream {
    long long job_id;
    uint32_t step_id;
    struct node_link *nodes;
    int nnodes;
    int *task_status; /* per task, -1 = not reported */
    char **task_node;
    int ntasks;
    bool pty, raw;
    bool forward_eof; /* our stdin's end ends the tasks' (srun without --pty) */
    struct termios saved;
    bool *line_start; /* per task and stream, for -l labels */
    const struct session_opts *so;
    struct sl_auth *auth;
    void *zctx;
};

static struct stream *g_tty_stream; /* restored at exit */

static void tty_restore(void)
{
    if (g_tty_stream && g_tty_stream->raw) {
        tcsetattr(0, TCSADRAIN, &g_tty_stream->saved);
        g_tty_stream->raw = false;
    }
}

static void tty_raw(struct stream *st)
{
    struct termios t;
    if (!isatty(0) || tcgetattr(0, &st->saved) < 0)
        return;
    t = st->saved;
    cfmakeraw(&t);
    if (tcsetattr(0, TCSADRAIN, &t) == 0) {
        st->raw = true;
        g_tty_stream = st;
        atexit(tty_restore);
    }
}

static void send_frame(struct stream *st, struct node_link *n, int kind, uint32_t a, uint32_t b,
                       const char *data, size_t len)
{
    struct sl_frame f = {kind, (uint32_t)st->job_id, st->step_id, a, b, data, len};
    size_t flen;
    char *buf = sl_frame_encode_alloc(&f, &flen);
    zmq_send(n->sock, buf, flen, ZMQ_DONTWAIT);
    free(buf);
}

static void send_all(struct stream *st, int kind, uint32_t a, uint32_t b, const char *data,
                     size_t len)
{
    for (int i = 0; i < st->nnodes; i++)
        if (!st->nodes[i].ended)
            send_frame(st, &st->nodes[i], kind, a, b, data, len);
}

/* Connect to a node daemon and send one signed request; wait for its reply. */
static int node_request(struct stream *st, struct node_link *n, const char *address, int port,
                        int type, json_t *body, json_t **reply_body)
{
    char ep[300], buf[65536];
    size_t len;
    sl_error_t err;
    int linger = 0;
    char *msg;

    n->sock = zmq_socket(st->zctx, ZMQ_DEALER);
    zmq_setsockopt(n->sock, ZMQ_LINGER, &linger, sizeof(linger));
    snprintf(ep, sizeof(ep), "tcp://%s:%d", address, port);
    if (zmq_connect(n->sock, ep) < 0) {
        cli_error("cannot connect to node %s at %s: %s", n->name, ep, zmq_strerror(errno));
        return -1;
    }
    if (!(msg = sl_msg_encode_request(st->auth, type, 1, body, &len, &err))) {
        cli_error("%s", err.text);
        return -1;
    }
    zmq_send(n->sock, msg, len, 0);
    free(msg);
    zmq_pollitem_t it = {n->sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        if (zmq_poll(&it, 1, CONNECT_TIMEOUT_MS) <= 0) {
            cli_error("node %s (%s) did not answer", n->name, ep);
            return -1;
        }
        int r = zmq_recv(n->sock, buf, sizeof(buf) - 1, 0);
        if (r <= 0 || buf[0] != '{')
            continue; /* an empty delimiter or an early frame */
        if (r > (int)sizeof(buf) - 1)
            r = (int)sizeof(buf) - 1;
        buf[r] = 0;
        struct sl_msg m;
        int rc;
        memset(&m, 0, sizeof(m));
        if (sl_msg_decode(buf, (size_t)r, &m, &rc, &err) < 0 || m.type != SL_MSG_REPLY) {
            sl_msg_clear(&m);
            continue;
        }
        if (m.rc != 0) {
            cli_error("node %s: %s", n->name, m.error ? m.error : sl_strerror(m.rc));
            sl_msg_clear(&m);
            return -1;
        }
        if (reply_body)
            *reply_body = json_incref(m.body);
        sl_msg_clear(&m);
        return 0;
    }
}

static void write_all(int fd, const char *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

static void print_output(struct stream *st, const struct sl_frame *f)
{
    int fd = (f->b & 3) == 2 ? 2 : 1;
    if (!st->so->label || st->pty || f->a >= (uint32_t)st->ntasks) {
        write_all(fd, f->data, f->len);
        return;
    }
    bool *ls = &st->line_start[f->a * 2 + (fd == 2)];
    const char *p = f->data, *end = f->data + f->len;
    while (p < end) {
        if (*ls) {
            char lab[32];
            int n = snprintf(lab, sizeof(lab), "%u: ", f->a);
            write_all(fd, lab, (size_t)n);
            *ls = false;
        }
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p + 1) : (size_t)(end - p);
        write_all(fd, p, n);
        if (nl)
            *ls = true;
        p += n;
    }
}

static const char *sig_text(int sig)
{
    switch (sig) {
    case SIGKILL: return "Killed";
    case SIGTERM: return "Terminated";
    case SIGINT: return "Interrupt";
    case SIGSEGV: return "Segmentation fault";
    case SIGABRT: return "Aborted";
    case SIGHUP: return "Hangup";
    default: return strsignal(sig);
    }
}

/* Watch a node connection, so a restarted node daemon can be rejoined. */
static void monitor_node(struct stream *st, int i)
{
    char ep[64];
    snprintf(ep, sizeof(ep), "inproc://node-%d", i);
    if (zmq_socket_monitor(st->nodes[i].sock, ep,
                           ZMQ_EVENT_CONNECTED | ZMQ_EVENT_DISCONNECTED) == 0) {
        st->nodes[i].monitor = zmq_socket(st->zctx, ZMQ_PAIR);
        if (zmq_connect(st->nodes[i].monitor, ep) < 0) {
            zmq_close(st->nodes[i].monitor);
            st->nodes[i].monitor = NULL;
        }
    }
}

/* The node's daemon is back after a restart: attach again, asking for the
 * output made while it was down (the frames after those we have). */
static void rejoin(struct stream *st, struct node_link *n)
{
    json_t *body = json_pack("{s:I, s:I}", "job_id", (json_int_t)st->job_id, "step_id",
                             (json_int_t)st->step_id), *reply = NULL, *e;
    sl_error_t err;
    int rc;
    size_t i;

    if (cli_request(SL_MSG_STEP_ATTACH, body, &reply, &rc, &err) < 0) {
        /* the step is over: it will not say so on this connection */
        if (!n->ended && !st->so->quiet)
            fprintf(stderr, "\r\n%s: step %lld.%u on %s: %s\r\n", cli_prog, st->job_id,
                    st->step_id, n->name, err.text);
        n->ended = true;
        json_decref(body);
        return;
    }
    json_array_foreach(json_object_get(reply, "nodes"), i, e)
    {
        if (strcmp(cli_jstr(e, "name"), n->name) != 0)
            continue;
        json_t *b = json_pack("{s:s, s:I}", "cred", cli_jstr(e, "cred"), "replay_from",
                              (json_int_t)n->out_frames);
        if (st->so->fwd && n == &st->nodes[0])
            json_object_set_new(b, "forward", json_true());
        if (st->so->forward_only)
            json_object_set_new(b, "output", json_false());
        size_t len;
        char *msg = sl_msg_encode_request(st->auth, SL_MSG_STEP_CONNECT, 2, b, &len, &err);
        if (msg)
            zmq_send(n->sock, msg, len, ZMQ_DONTWAIT);
        free(msg);
        json_decref(b);
    }
    n->lost = false;
    json_decref(reply);
    json_decref(body);
}

static void monitor_event(struct stream *st, struct node_link *n)
{
    zmq_msg_t ev;
    zmq_msg_init(&ev);
    if (zmq_msg_recv(&ev, n->monitor, ZMQ_DONTWAIT) >= 0 && zmq_msg_size(&ev) >= 2) {
        uint16_t event;
        memcpy(&event, zmq_msg_data(&ev), sizeof(event));
        if (event == ZMQ_EVENT_DISCONNECTED) {
            n->lost = true;
            if (n == &st->nodes[0])
                cli_fwd_lost(st->so->fwd); /* the daemon's ends of them are gone */
        }
        else if (event == ZMQ_EVENT_CONNECTED && n->lost)
            rejoin(st, n);
    }
    zmq_msg_close(&ev);
    /* the event's second frame, the endpoint */
    zmq_msg_init(&ev);
    int more = 0;
    size_t sz = sizeof(more);
    zmq_getsockopt(n->monitor, ZMQ_RCVMORE, &more, &sz);
    if (more)
        zmq_msg_recv(&ev, n->monitor, ZMQ_DONTWAIT);
    zmq_msg_close(&ev);
}

static int relay(struct stream *st)
{
    sigset_t mask;
    int sfd, nopen = st->nnodes;
    bool stdin_open = !st->so->forward_only;
    struct cli_fwd *fwd = st->so->fwd;
    int64_t last_int = 0;

    sigemptyset(&mask);
    sigaddset(&mask, SIGWINCH);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGQUIT);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    sfd = signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (st->pty && !st->so->forward_only) /* forwarding only may run in the background */
        tty_raw(st);
    cli_fwd_set_crlf(fwd, st->raw);

    for (int i = 0; i < st->nnodes; i++)
        monitor_node(st, i);
    size_t cap = (size_t)st->nnodes * 2 + 2;
    zmq_pollitem_t *items = xcalloc(cap, sizeof(*items));
    while (nopen > 0) {
        int k = 0;
        size_t need = (size_t)st->nnodes * 2 + 2 + cli_fwd_poll_count(fwd);
        if (need > cap) {
            cap = need * 2;
            items = xrealloc(items, cap * sizeof(*items));
        }
        items[k++] = (zmq_pollitem_t){NULL, sfd, ZMQ_POLLIN, 0};
        items[k++] = (zmq_pollitem_t){NULL, stdin_open ? 0 : -1, stdin_open ? ZMQ_POLLIN : 0, 0};
        for (int i = 0; i < st->nnodes; i++)
            items[k++] = (zmq_pollitem_t){st->nodes[i].sock, 0, ZMQ_POLLIN, 0};
        for (int i = 0; i < st->nnodes; i++)
            items[k++] = (zmq_pollitem_t){st->nodes[i].monitor, 0,
                                          st->nodes[i].monitor ? ZMQ_POLLIN : 0, 0};
        /* forwarding: frames waiting for room on node 0's socket, its sockets */
        if (cli_fwd_want_out(fwd))
            items[2].events |= ZMQ_POLLOUT;
        int kf = k;
        k += (int)cli_fwd_poll_fill(fwd, items + kf);
        if (zmq_poll(items, k, 1000) < 0 && errno != EINTR)
            break;
        if (items[2].revents & ZMQ_POLLOUT)
            cli_fwd_flush(fwd);
        cli_fwd_poll_events(fwd, items + kf);
        if (items[0].revents & ZMQ_POLLIN) {
            struct signalfd_siginfo si;
            while (read(sfd, &si, sizeof(si)) == sizeof(si)) {
                int sig = (int)si.ssi_signo;
                if (sig == SIGWINCH && st->pty && !st->so->forward_only) {
                    struct winsize ws;
                    if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
                        send_all(st, SL_FR_RESIZE, ws.ws_row, ws.ws_col, NULL, 0);
                } else if ((sig == SIGINT || sig == SIGQUIT) && st->so->forward_only) {
                    /* forwarding only: Ctrl-C ends the forwards, never the step */
                    send_all(st, SL_FR_DETACH, 0, 0, NULL, 0);
                    free(items);
                    close(sfd);
                    return SESSION_DETACHED;
                } else if (sig == SIGINT || sig == SIGQUIT) {
                    int64_t now = time(NULL);
                    /* a second Ctrl-C within a second ends the step, as in Slurm */
                    send_all(st, SL_FR_SIGNAL, (uint32_t)(now - last_int <= 1 ? SIGKILL : sig), 0,
                             NULL, 0);
                    if (now - last_int > 1 && !st->so->quiet)
                        fprintf(stderr, "%s: sending signal %d to step %lld.%u\n", cli_prog, sig,
                                st->job_id, st->step_id);
                    last_int = now;
                } else if (sig == SIGTERM || sig == SIGHUP) {
                    /* the terminal or the client goes; the step stays for sattach */
                    send_all(st, SL_FR_DETACH, 0, 0, NULL, 0);
                    tty_restore();
                    if (sig == SIGTERM)
                        fprintf(stderr, "\r\n%s: detached from step %lld.%u; it keeps running "
                                        "(reattach with: sattach %lld.%u)\r\n",
                                cli_prog, st->job_id, st->step_id, st->job_id, st->step_id);
                    free(items);
                    close(sfd);
                    return SESSION_DETACHED;
                }
            }
        }
        if (stdin_open && (items[1].revents & (ZMQ_POLLIN | ZMQ_POLLERR))) {
            char buf[4096];
            ssize_t n = read(0, buf, sizeof(buf));
            if (n > 0) {
                send_all(st, SL_FR_STDIN, SL_FR_ALL_TASKS, 0, buf, (size_t)n);
            } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
                if (st->forward_eof)
                    send_all(st, SL_FR_EOF, 0, 0, NULL, 0);
                stdin_open = false;
            }
        }
        for (int i = 0; i < st->nnodes; i++)
            if (items[2 + st->nnodes + i].revents & ZMQ_POLLIN) {
                bool was_ended = st->nodes[i].ended;
                monitor_event(st, &st->nodes[i]);
                if (st->nodes[i].ended && !was_ended)
                    nopen--;
            }
        for (int i = 0; i < st->nnodes; i++) {
            if (!(items[2 + i].revents & ZMQ_POLLIN))
                continue;
            for (;;) {
                char buf[SL_FRAME_HDR + SL_FRAME_MAX_DATA + 1];
                int r = zmq_recv(st->nodes[i].sock, buf, sizeof(buf), ZMQ_DONTWAIT);
                struct sl_frame f;
                sl_error_t err;
                if (r < 0)
                    break;
                if (r > 0 && r < (int)sizeof(buf) && buf[0] == '{') {
                    /* the answer to a rejoin: if refused, the step is gone there */
                    struct sl_msg m;
                    int mrc;
                    buf[r] = 0;
                    memset(&m, 0, sizeof(m));
                    if (sl_msg_decode(buf, (size_t)r, &m, &mrc, &err) == 0 &&
                        m.type == SL_MSG_REPLY && m.rc != 0 && !st->nodes[i].ended) {
                        if (!st->so->quiet)
                            fprintf(stderr, "\r\n%s: %s: %s\r\n", cli_prog, st->nodes[i].name,
                                    m.error ? m.error : sl_strerror(m.rc));
                        st->nodes[i].ended = true;
                        nopen--;
                    }
                    sl_msg_clear(&m);
                    continue;
                }
                if (r == 0 || r > (int)sizeof(buf) ||
                    sl_frame_decode(buf, (size_t)r, &f, &err) < 0)
                    continue;
                if (cli_fwd_is_frame(f.kind)) {
                    if (i == 0)
                        cli_fwd_frame(fwd, &f);
                } else if (f.kind == SL_FR_OUTPUT && !st->so->forward_only) {
                    st->nodes[i].out_frames++;
                    print_output(st, &f);
                } else if (f.kind == SL_FR_REPLAYED)
                    st->nodes[i].out_frames = f.a; /* the step's own count, from here on */
                else if (f.kind == SL_FR_TASK_EXIT && f.a < (uint32_t)st->ntasks)
                    st->task_status[f.a] = (int)f.b;
                else if (f.kind == SL_FR_STEP_END && !st->nodes[i].ended) {
                    /* tasks whose own end was not heard get the node's worst */
                    for (int t = 0; t < st->nodes[i].ntasks; t++) {
                        int g = st->nodes[i].task_offset + t;
                        if (g < st->ntasks && st->task_status[g] < 0)
                            st->task_status[g] = (int)f.a;
                    }
                    st->nodes[i].ended = true;
                    nopen--;
                }
            }
        }
    }
    free(items);
    close(sfd);
    tty_restore();
    sigprocmask(SIG_UNBLOCK, &mask, NULL);

    int rc = 0;
    for (int t = 0; t < st->ntasks; t++) {
        int s = st->task_status[t];
        if (s < 0)
            continue;
        if (WIFEXITED(s) && WEXITSTATUS(s)) {
            if (!st->so->quiet)
                fprintf(stderr, "%s: error: %s: task %d: Exited with exit code %d\n", cli_prog,
                        st->task_node[t], t, WEXITSTATUS(s));
            if (rc < WEXITSTATUS(s))
                rc = WEXITSTATUS(s);
        } else if (WIFSIGNALED(s)) {
            if (!st->so->quiet)
                fprintf(stderr, "%s: error: %s: task %d: %s\n", cli_prog, st->task_node[t], t,
                        sig_text(WTERMSIG(s)));
            if (rc < 128 + WTERMSIG(s))
                rc = 128 + WTERMSIG(s);
        }
    }
    return rc;
}

static void stream_free(struct stream *st)
{
    for (int i = 0; i < st->nnodes; i++) {
        if (st->nodes[i].monitor) {
            zmq_socket_monitor(st->nodes[i].sock, NULL, 0);
            zmq_close(st->nodes[i].monitor);
        }
        if (st->nodes[i].sock)
            zmq_close(st->nodes[i].sock);
        free(st->nodes[i].name);
    }
    free(st->nodes);
    free(st->task_status);
    free(st->task_node);
    free(st->line_start);
    if (st->zctx)
        zmq_ctx_term(st->zctx);
    sl_auth_destroy(st->auth);
    if (g_tty_stream == st)
        g_tty_stream = NULL;
}

/* Set up the stream from a step_create/step_attach reply's nodes. */
static int stream_init(struct stream *st, json_t *reply, const struct session_opts *so)
{
    json_t *nodes = json_object_get(reply, "nodes"), *e;
    sl_error_t err;
    size_t i;

    memset(st, 0, sizeof(*st));
    st->so = so;
    st->job_id = cli_jint(reply, "job_id", 0);
    st->step_id = (uint32_t)cli_jint(reply, "step_id", 0);
    st->nnodes = (int)json_array_size(nodes);
    if (st->nnodes == 0) {
        cli_error("the controller named no nodes for step %lld.%u", st->job_id, st->step_id);
        return -1;
    }
    st->nodes = xcalloc((size_t)st->nnodes, sizeof(*st->nodes));
    json_array_foreach(nodes, i, e)
    {
        st->nodes[i].name = xstrdup(cli_jstr(e, "name"));
        st->nodes[i].ntasks = (int)cli_jint(e, "ntasks", 1);
        st->nodes[i].task_offset = (int)cli_jint(e, "task_offset", 0);
        st->ntasks += st->nodes[i].ntasks;
    }
    st->task_status = xcalloc((size_t)st->ntasks, sizeof(int));
    st->task_node = xcalloc((size_t)st->ntasks, sizeof(char *));
    st->line_start = xcalloc((size_t)st->ntasks * 2, sizeof(bool));
    for (int t = 0; t < st->ntasks; t++) {
        st->task_status[t] = -1;
        st->line_start[2 * t] = st->line_start[2 * t + 1] = true;
    }
    for (int n = 0; n < st->nnodes; n++)
        for (int t = 0; t < st->nodes[n].ntasks; t++)
            if (st->nodes[n].task_offset + t < st->ntasks)
                st->task_node[st->nodes[n].task_offset + t] = st->nodes[n].name;
    if (!(st->auth = sl_auth_create(cli_conf()->munge_socket, &err))) {
        cli_error("%s", err.text);
        return -1;
    }
    st->zctx = zmq_ctx_new();
    return 0;
}

/* A node daemon that does not say it forwards (one older than
 * forwarding ignores the request) would leave connections hanging. */
static bool forward_refused(struct stream *st, json_t *reply)
{
    if (!st->so->fwd || json_is_true(json_object_get(reply, "forward")))
        return false;
    cli_error("node %s does not forward ports (its slurmish-d is older than --forward-port)",
              st->nodes[0].name);
    return true;
}

/* The environment the tasks get: ours, with the controller's SLURM_* values. */
static json_t *task_env(json_t *ctld_env)
{
    json_t *env = json_array(), *v;
    size_t i;
    for (char **e = environ; *e; e++)
        json_array_append_new(env, json_string(*e));
    json_array_foreach(ctld_env, i, v)
    {
        const char *kv = json_string_value(v), *eq = kv ? strchr(kv, '=') : NULL;
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - kv), k;
        json_t *o;
        bool replaced = false;
        json_array_foreach(env, k, o)
        {
            const char *s = json_string_value(o);
            if (s && !strncmp(s, kv, klen) && s[klen] == '=') {
                json_array_set(env, k, v);
                replaced = true;
                break;
            }
        }
        if (!replaced)
            json_array_append(env, v);
    }
    return env;
}

int step_run(long long job_id, json_t *create, char **argv, const struct session_opts *so)
{
    json_t *reply = NULL, *nodes, *env, *args, *e;
    struct stream st;
    sl_error_t err;
    char cwd[4096];
    int rc;
    size_t i;

    json_object_set_new(create, "job_id", json_integer(job_id));
    if (cli_request(SL_MSG_STEP_CREATE, create, &reply, &rc, &err) < 0) {
        cli_error("Unable to create step for job %lld: %s", job_id, err.text);
        return -1;
    }
    if (stream_init(&st, reply, so) < 0) {
        json_decref(reply);
        stream_free(&st);
        return -1;
    }
    st.pty = json_is_true(json_object_get(create, "pty"));
    st.forward_eof = !st.pty;
    if (!getcwd(cwd, sizeof(cwd)))
        strcpy(cwd, "/");
    env = task_env(json_object_get(reply, "env"));
    args = json_array();
    for (char **a = argv; *a; a++)
        json_array_append_new(args, json_string(*a));
    struct winsize ws = {0};
    const char *term = getenv("TERM");
    if (st.pty)
        ioctl(0, TIOCGWINSZ, &ws);
    nodes = json_object_get(reply, "nodes");
    rc = 0;
    json_array_foreach(nodes, i, e)
    {
        json_t *body = json_pack("{s:s, s:O, s:O, s:s, s:i, s:i, s:s}", "cred", cli_jstr(e, "cred"),
                                 "argv", args, "env", env, "cwd", cwd, "rows", (int)ws.ws_row,
                                 "cols", (int)ws.ws_col, "term", term ? term : "");
        json_t *nreply = NULL;
        if (i == 0 && so->fwd) /* ports are forwarded to the first node (task 0's) */
            json_object_set_new(body, "forward", json_true());
        if (node_request(&st, &st.nodes[i], cli_jstr(e, "address"), (int)cli_jint(e, "port", 0),
                         SL_MSG_STEP_LAUNCH, body, &nreply) < 0)
            rc = -1;
        else if (i == 0 && forward_refused(&st, nreply))
            rc = -1;
        json_decref(nreply);
        json_decref(body);
        if (rc < 0)
            break;
    }
    json_decref(env);
    json_decref(args);
    if (rc == 0) {
        cli_fwd_start(so->fwd, st.nodes[0].sock, (uint32_t)st.job_id, st.step_id,
                      st.nodes[0].name, so->quiet);
        rc = relay(&st);
    } else {
        /* the nodes that started it end it */
        send_all(&st, SL_FR_SIGNAL, SIGKILL, 0, NULL, 0);
    }
    json_decref(reply);
    stream_free(&st);
    return rc;
}

int step_attach_run(long long job_id, uint32_t step_id, const struct session_opts *so)
{
    json_t *body = json_pack("{s:I, s:I}", "job_id", (json_int_t)job_id, "step_id",
                             (json_int_t)step_id);
    json_t *reply = NULL, *nodes, *e;
    struct stream st;
    sl_error_t err;
    int rc;
    size_t i;

    if (cli_request(SL_MSG_STEP_ATTACH, body, &reply, &rc, &err) < 0) {
        cli_error("Unable to attach to step %lld.%u: %s", job_id, step_id, err.text);
        json_decref(body);
        return -1;
    }
    json_decref(body);
    if (stream_init(&st, reply, so) < 0) {
        json_decref(reply);
        stream_free(&st);
        return -1;
    }
    st.pty = json_is_true(json_object_get(reply, "pty"));
    nodes = json_object_get(reply, "nodes");
    rc = 0;
    json_array_foreach(nodes, i, e)
    {
        json_t *b = json_pack("{s:s}", "cred", cli_jstr(e, "cred"));
        if (i == 0 && so->fwd)
            json_object_set_new(b, "forward", json_true());
        if (so->forward_only)
            json_object_set_new(b, "output", json_false());
        json_t *nreply = NULL;
        if (node_request(&st, &st.nodes[i], cli_jstr(e, "address"), (int)cli_jint(e, "port", 0),
                         SL_MSG_STEP_CONNECT, b, &nreply) < 0)
            rc = -1;
        else if (i == 0 && forward_refused(&st, nreply))
            rc = -1;
        json_decref(nreply);
        json_decref(b);
        if (rc < 0)
            break;
    }
    if (rc == 0) {
        cli_fwd_start(so->fwd, st.nodes[0].sock, (uint32_t)st.job_id, st.step_id,
                      st.nodes[0].name, so->quiet);
        if (st.pty && !so->forward_only) {
            /* let the program redraw for this terminal's size */
            struct winsize ws;
            if (ioctl(0, TIOCGWINSZ, &ws) == 0 && ws.ws_row && ws.ws_col)
                send_all(&st, SL_FR_RESIZE, ws.ws_row, ws.ws_col, NULL, 0);
        }
        rc = relay(&st);
    }
    json_decref(reply);
    stream_free(&st);
    return rc;
}
