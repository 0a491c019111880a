/* steps.c - steps and interactive sessions on this node.
 *
 * Clients (srun, sattach) connect to the node daemon's ROUTER socket.  A
 * client first sends a signed request (step_launch or step_connect)
 * carrying the credential the ctld issued for that job, step, node and
 * client uid; only then does the daemon accept stream frames from that
 * connection, and only for that step.  ZeroMQ routing ids the ROUTER
 * assigns cannot be chosen by a peer, so a frame's connection proves it
 * comes from the authorised client.
 *
 * Each step has a supervisor (stepd.c) with a Unix socket in the spool:
 * <spool>/step.<job>.<step>/{sock,record,status}.  The daemon relays
 * frames between clients and supervisors, asks each for its activity
 * every heartbeat, and reports a step's end to the ctld until
 * acknowledged.  A restarted daemon finds the supervisors again by their
 * sockets; the sessions never notice.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "noded.h"
#include "proto/stream.h"
#include "util/log.h"
#include "util/xmalloc.h"

static char *step_dir(struct noded *d, uint32_t job, uint32_t step)
{
    return xasprintf("%s/step.%u.%u", d->spool, job, step);
}

static struct dstep *step_find(struct noded *d, uint32_t job, uint32_t step)
{
    for (struct dstep *s = d->steps; s; s = s->next)
        if (s->job_id == job && s->step_id == step)
            return s;
    return NULL;
}

int steps_open(struct noded *d)
{
    char ep[300];
    int zero = 0, one = 1;
    const char *addr = d->conf->node_address ? d->conf->node_address : d->conf->ctld_host;

    if (!(d->srv = zmq_socket(d->zctx, ZMQ_ROUTER)))
        return -1;
    zmq_setsockopt(d->srv, ZMQ_LINGER, &zero, sizeof(zero));
    /* a send to a client that is gone fails, so it is dropped from its step */
    zmq_setsockopt(d->srv, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    if (d->port)
        snprintf(ep, sizeof(ep), "tcp://%s:%d", strcmp(addr, "*") ? addr : "*", d->port);
    else /* port 0: any free one, registered with the controller like a fixed one */
        snprintf(ep, sizeof(ep), "tcp://%s:*", strcmp(addr, "*") ? addr : "*");
    if (zmq_bind(d->srv, ep) < 0) {
        log_err("cannot listen for sessions on %s: %s", ep, zmq_strerror(errno));
        return -1;
    }
    if (!d->port) {
        size_t len = sizeof(ep);
        const char *colon;
        if (zmq_getsockopt(d->srv, ZMQ_LAST_ENDPOINT, ep, &len) < 0 || !(colon = strrchr(ep, ':')))
            return -1;
        d->port = atoi(colon + 1);
    }
    return 0;
}

static void dstep_free(struct dstep *s)
{
    if (s->pidfd >= 0)
        close(s->pidfd);
    if (s->conn >= 0)
        close(s->conn);
    free(s->live);
    free(s->replay);
    free(s);
}

void steps_close(struct noded *d)
{
    fwd_fini(d);
    while (d->tails) {
        struct dtail *t = d->tails;
        d->tails = t->next;
        if (t->fd >= 0)
            close(t->fd);
        free(t);
    }
    while (d->steps) {
        struct dstep *s = d->steps;
        d->steps = s->next;
        dstep_free(s);
    }
    if (d->srv)
        zmq_close(d->srv);
    d->srv = NULL;
}

static void forget(struct noded *d, struct dstep *s)
{
    char *dir = step_dir(d, s->job_id, s->step_id), *p;
    const char *files[] = {"sock", "record", "status", NULL};
    for (int i = 0; files[i]; i++) {
        p = xasprintf("%s/%s", dir, files[i]);
        unlink(p);
        free(p);
    }
    rmdir(dir);
    free(dir);
    for (struct dstep **pp = &d->steps; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    dstep_free(s);
}

/* ---- to clients ---- */

static int send_to(struct noded *d, const struct dclient *c, const void *buf, size_t len)
{
    if (zmq_send(d->srv, c->id, c->id_len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return -1;
    return zmq_send(d->srv, buf, len, ZMQ_DONTWAIT) < 0 ? -1 : 0;
}

static void client_reply(struct noded *d, const unsigned char *id, size_t id_len, uint64_t re,
                         int rc, const char *error, json_t *body)
{
    struct dclient c = {.id_len = id_len};
    size_t len;
    /* as the ctld words errors: the code's text, then the detail */
    char *text = rc && error ? xasprintf("%s: %s", sl_strerror(rc), error) : NULL;
    char *buf = sl_msg_encode_reply(re, rc, text, body, &len);
    free(text);
    memcpy(c.id, id, id_len);
    if (buf && send_to(d, &c, buf, len) < 0)
        log_debug("reply to a session client failed: %s", zmq_strerror(errno));
    free(buf);
}

static void clients_remove(struct dclient *v, size_t *n, size_t i)
{
    memmove(&v[i], &v[i + 1], (*n - i - 1) * sizeof(*v));
    (*n)--;
}

static void to_live(struct noded *d, struct dstep *s, const void *buf, size_t len)
{
    for (size_t i = 0; i < s->nlive;) {
        if (s->live[i].no_output && ((const char *)buf)[0] == SL_FR_OUTPUT) {
            i++; /* a forwarding-only client */
        } else if (send_to(d, &s->live[i], buf, len) < 0 && errno == EHOSTUNREACH) {
            log_info("step %u.%u: a client went away; the step keeps running", s->job_id,
                     s->step_id);
            fwd_drop_client(d, s->live[i].id, s->live[i].id_len);
            clients_remove(s->live, &s->nlive, i);
        } else {
            i++;
        }
    }
}

static void add_client(struct dclient **v, size_t *n, const struct dclient *c)
{
    *v = xrealloc(*v, (*n + 1) * sizeof(**v));
    (*v)[*n] = *c;
    (*n)++;
}

/* The client of an authorised request.  It may forward ports if it asks
 * to ("forward": true) and is the job's owner (the credential's uid):
 * not root, not the slurm user, whom the ctld lets attach. */
static int make_client(struct dclient *cl, const struct sl_msg *m, const unsigned char *id,
                       size_t id_len, json_t *cred, char *ebuf, size_t elen)
{
    json_int_t owner = json_integer_value(json_object_get(cred, "uid"));
    memset(cl, 0, sizeof(*cl));
    memcpy(cl->id, id, id_len);
    cl->id_len = id_len;
    cl->uid = m->uid;
    cl->gid = (gid_t)json_integer_value(json_object_get(cred, "gid"));
    cl->no_output = json_is_false(json_object_get(m->body, "output"));
    if (json_is_true(json_object_get(m->body, "forward"))) {
        if ((json_int_t)m->uid != owner) {
            snprintf(ebuf, elen, "only the job's owner (uid %lld) may forward ports into job %lld",
                     (long long)owner, (long long)json_integer_value(json_object_get(cred, "job_id")));
            return -1;
        }
        cl->fwd = true;
    }
    return 0;
}

static void to_supervisor(struct dstep *s, const void *buf, size_t len)
{
    /* a failed send (the supervisor just exited) drops only this frame:
     * closing here would discard its last frames (task exits, the end)
     * still waiting to be read; the read side sees the end */
    if (s->conn >= 0 && send(s->conn, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        log_debug("step %u.%u: frame to the supervisor dropped: %s", s->job_id, s->step_id,
                  strerror(errno));
}

static void supervisor_frame(struct dstep *s, int kind, uint32_t a, uint32_t b, const char *data,
                             size_t len)
{
    struct sl_frame f = {kind, s->job_id, s->step_id, a, b, data, len};
    size_t flen;
    char *buf = sl_frame_encode_alloc(&f, &flen);
    to_supervisor(s, buf, flen);
    free(buf);
}

/* ---- the supervisor's socket ---- */

static int connect_supervisor(struct noded *d, uint32_t job, uint32_t step)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    char *dir = step_dir(d, job, step);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
    free(dir);
    if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        fd = -1;
    }
    return fd;
}

/* The step ended; `tell_clients` when its supervisor could not say so
 * itself (it died, or ended while no daemon was connected). */
static void step_ended(struct noded *d, struct dstep *s, int status, bool tell_clients)
{
    if (s->done)
        return;
    if (tell_clients) {
        struct sl_frame f = {SL_FR_STEP_END, s->job_id, s->step_id, (uint32_t)status, 0, NULL, 0};
        char buf[SL_FRAME_HDR];
        to_live(d, s, buf, sl_frame_encode(&f, buf));
    }
    fwd_drop_step(d, s->job_id, s->step_id);
    s->done = true;
    s->status = status;
    s->end_time = now_s();
    log_info("step %u.%u ended (status 0x%x)", s->job_id, s->step_id, (unsigned)status);
    link_send_step_complete(d, s);
}

void steps_conn_event(struct noded *d, struct dstep *s)
{
    for (int budget = 0; budget < 64 && s->conn >= 0; budget++) {
        char buf[SL_FRAME_HDR + SL_FRAME_MAX_DATA];
        ssize_t n = recv(s->conn, buf, sizeof(buf), MSG_DONTWAIT);
        struct sl_frame f;
        sl_error_t err;

        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            close(s->conn);
            s->conn = -1;
            return;
        }
        if (n < 0)
            return;
        if (sl_frame_decode(buf, (size_t)n, &f, &err) < 0) {
            log_warn("step %u.%u: bad frame from its supervisor: %s", s->job_id, s->step_id,
                     err.text);
            continue;
        }
        switch (f.kind) {
        case SL_FR_OUTPUT:
            if (f.b & SL_FR_REPLAY_FLAG) {
                if (s->nreplay) {
                    buf[16] = (char)(buf[16] & ~SL_FR_REPLAY_FLAG);
                    if (send_to(d, &s->replay[0], buf, (size_t)n) < 0)
                        log_debug("replay to a client failed");
                }
            } else {
                to_live(d, s, buf, (size_t)n);
            }
            break;
        case SL_FR_REPLAYED:
            if (s->nreplay) {
                send_to(d, &s->replay[0], buf, (size_t)n);
                add_client(&s->live, &s->nlive, &s->replay[0]);
                clients_remove(s->replay, &s->nreplay, 0);
            }
            break;
        case SL_FR_ACTIVITY:
            s->idle_s = f.a;
            s->cpu_ms = f.b;
            break;
        case SL_FR_TASK_EXIT:
            to_live(d, s, buf, (size_t)n);
            break;
        case SL_FR_STEP_END:
            to_live(d, s, buf, (size_t)n);
            step_ended(d, s, (int)f.a, false);
            break;
        default:
            break;
        }
    }
}

/* The status file the supervisor wrote, or -1 if none. */
static int read_status_file(struct noded *d, struct dstep *s)
{
    char *path = xasprintf("%s/step.%u.%u/status", d->spool, s->job_id, s->step_id), buf[64];
    int fd = open(path, O_RDONLY | O_CLOEXEC), st = -1;
    free(path);
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        if (n > 0) {
            buf[n] = 0;
            st = atoi(buf);
        }
        close(fd);
    }
    return st;
}

void steps_reap(struct noded *d, struct dstep *s)
{
    /* drain what it said last (its STEP_END is usually among it) */
    if (s->conn >= 0)
        steps_conn_event(d, s);
    if (s->pidfd >= 0) {
        close(s->pidfd);
        s->pidfd = -1;
    }
    if (!s->done) {
        int st = read_status_file(d, s);
        step_ended(d, s, st >= 0 ? st : SIGKILL, true);
    }
}

/* ---- requests from clients ---- */

/* Check a ctld-issued credential: signed by the ctld, for this node,
 * this purpose and the client's uid, not expired. */
static json_t *check_cred(struct noded *d, const struct sl_msg *m, const char *purpose, char *ebuf,
                          size_t elen)
{
    const char *cred = json_string_value(json_object_get(m->body, "cred"));
    void *payload = NULL;
    size_t plen;
    uid_t uid;
    gid_t gid;
    sl_error_t err;
    json_t *c;

    if (!cred) {
        snprintf(ebuf, elen, "no job credential");
        return NULL;
    }
    if (sl_auth_decode(d->auth, cred, &payload, &plen, &uid, &gid, &err) < 0) {
        snprintf(ebuf, elen, "job credential: %.400s", err.text);
        return NULL;
    }
    c = json_loads(payload, 0, NULL);
    free(payload);
    if (uid != 0 && uid != d->slurm_uid) {
        snprintf(ebuf, elen, "job credential not issued by the controller (uid %u)", (unsigned)uid);
    } else if (!c || strcmp(json_string_value(json_object_get(c, "cred")) ?: "", "step") ||
               strcmp(json_string_value(json_object_get(c, "purpose")) ?: "", purpose)) {
        snprintf(ebuf, elen, "not a %s credential", purpose);
    } else if (strcmp(json_string_value(json_object_get(c, "node")) ?: "", d->name)) {
        snprintf(ebuf, elen, "credential for node %s, not %s",
                 json_string_value(json_object_get(c, "node")) ?: "?", d->name);
    } else if (json_integer_value(json_object_get(c, "expires")) < now_s()) {
        snprintf(ebuf, elen, "credential expired");
    } else if (json_integer_value(json_object_get(c, "client_uid")) != (json_int_t)m->uid) {
        snprintf(ebuf, elen, "credential issued to uid %lld, not to uid %u",
                 (long long)json_integer_value(json_object_get(c, "client_uid")),
                 (unsigned)m->uid);
    } else {
        return c;
    }
    json_decref(c);
    return NULL;
}

static int listen_socket(const char *dir)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/sock", dir);
    unlink(sa.sun_path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 4) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    chmod(sa.sun_path, 0600);
    return fd;
}

static char **argv_from_json(json_t *a)
{
    size_t n = json_array_size(a), i;
    char **v = xcalloc(n + 1, sizeof(char *));
    json_t *e;
    json_array_foreach(a, i, e) v[i] = xstrdup(json_string_value(e));
    return v;
}

static void launch(struct noded *d, struct sl_msg *m, const unsigned char *id, size_t id_len)
{
    char ebuf[512] = "", *dir = NULL, rec[256];
    json_t *c = check_cred(d, m, "launch", ebuf, sizeof(ebuf)), *jargv, *e;
    json_t *b = m->body;
    struct stepd_args a;
    struct dstep *s;
    struct dclient cl;
    int lfd = -1;
    size_t i;
    pid_t pid;

    if (!c) {
        log_warn("step_launch from uid %u refused: %s", (unsigned)m->uid, ebuf);
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_CRED, ebuf, NULL);
        return;
    }
    if (make_client(&cl, m, id, id_len, c, ebuf, sizeof(ebuf)) < 0) {
        log_warn("step_launch from uid %u refused: %s", (unsigned)m->uid, ebuf);
        client_reply(d, id, id_len, m->seq, SL_E_ACCESS_DENIED, ebuf, NULL);
        goto out;
    }
    memset(&a, 0, sizeof(a));
    a.job_id = (uint32_t)json_integer_value(json_object_get(c, "job_id"));
    a.step_id = (uint32_t)json_integer_value(json_object_get(c, "step_id"));
    jargv = json_object_get(b, "argv");
    bool argv_ok = json_is_array(jargv) && json_array_size(jargv) > 0 &&
                   json_array_size(jargv) < 4096;
    json_array_foreach(jargv, i, e) argv_ok = argv_ok && json_is_string(e);
    if (!argv_ok) {
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_ARGUMENT,
                     "argv must be a non-empty array of strings", NULL);
        goto out;
    }
    if (step_find(d, a.job_id, a.step_id)) {
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_STEP, "the step is already running here",
                     NULL);
        goto out;
    }
    a.uid = (uid_t)json_integer_value(json_object_get(c, "uid"));
    a.gid = (gid_t)json_integer_value(json_object_get(c, "gid"));
    a.user = json_string_value(json_object_get(c, "user"));
    a.node = d->name;
    a.conf_path = d->conf_path;
    a.cwd = json_string_value(json_object_get(b, "cwd")) ?: "/";
    a.gpus = json_string_value(json_object_get(c, "gpus"));
    a.term = json_string_value(json_object_get(b, "term"));
    a.env = json_object_get(b, "env");
    a.ntasks = (int)json_integer_value(json_object_get(c, "ntasks"));
    a.task_offset = (int)json_integer_value(json_object_get(c, "task_offset"));
    a.node_id = (int)json_integer_value(json_object_get(c, "node_id"));
    a.cpus = (int)json_integer_value(json_object_get(c, "cpus"));
    a.mem_mb = (uint64_t)json_integer_value(json_object_get(c, "mem_mb"));
    a.enforce_memory = d->conf->enforce_memory;
    a.spool = d->spool;
    a.pty = json_is_true(json_object_get(c, "pty"));
    a.rows = (int)json_integer_value(json_object_get(b, "rows"));
    a.cols = (int)json_integer_value(json_object_get(b, "cols"));
    if (a.ntasks < 1 || a.ntasks > 64 || !a.user) {
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_ARGUMENT,
                     "the credential names 1 to 64 tasks on this node", NULL);
        goto out;
    }
    if (a.rows < 0 || a.rows > 10000 || a.cols < 0 || a.cols > 10000)
        a.rows = a.cols = 0;
    dir = step_dir(d, a.job_id, a.step_id);
    if ((mkdir(dir, 0700) < 0 && errno != EEXIST) || (lfd = listen_socket(dir)) < 0) {
        snprintf(ebuf, sizeof(ebuf), "cannot set up %s: %s", dir, strerror(errno));
        client_reply(d, id, id_len, m->seq, SL_E_GENERIC, ebuf, NULL);
        goto out;
    }
    /* the first connection exists before the supervisor runs, so not a
     * byte of a quick step's output is missed; the listening socket is
     * for a restarted daemon */
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0) {
        snprintf(ebuf, sizeof(ebuf), "socketpair: %s", strerror(errno));
        client_reply(d, id, id_len, m->seq, SL_E_GENERIC, ebuf, NULL);
        close(lfd);
        goto out;
    }
    a.dir = dir;
    a.argv = argv_from_json(jargv);
    fflush(NULL);
    pid = fork();
    if (pid == 0) {
        /* keep stdio (the log) and the step's sockets at 3 and 4; drop the daemon's */
        int l2 = fcntl(lfd, F_DUPFD_CLOEXEC, 10), c2 = fcntl(pair[1], F_DUPFD_CLOEXEC, 10);
        if (l2 < 0 || c2 < 0 || dup3(l2, 3, O_CLOEXEC) < 0 || dup3(c2, 4, O_CLOEXEC) < 0)
            _exit(1);
        a.listen_fd = 3;
        a.conn_fd = 4;
        close_range(5, ~0U, 0);
        stepd_run(&a);
    }
    close(pair[1]);
    for (char **p = a.argv; *p; p++)
        free(*p);
    free(a.argv);
    close(lfd);
    if (pid < 0) {
        close(pair[0]);
        snprintf(ebuf, sizeof(ebuf), "fork: %s", strerror(errno));
        client_reply(d, id, id_len, m->seq, SL_E_GENERIC, ebuf, NULL);
        goto out;
    }
    s = xcalloc(1, sizeof(*s));
    s->job_id = a.job_id;
    s->step_id = a.step_id;
    s->uid = a.uid;
    s->pty = a.pty;
    s->sup_pid = pid;
    s->sup_start = proc_start_time(pid);
    s->pidfd = pidfd_open_pid(pid);
    s->conn = pair[0];
    s->next = d->steps;
    d->steps = s;
    add_client(&s->live, &s->nlive, &cl);
    snprintf(rec, sizeof(rec), "%u %u %u %d %lld %d\n", a.job_id, a.step_id, (unsigned)a.uid,
             (int)pid, s->sup_start, a.pty);
    char *rpath = xasprintf("%s/record", dir);
    spool_write_file(rpath, rec, 0600);
    free(rpath);
    log_info("step %u.%u launched for %s: %d task%s%s, supervisor %d", a.job_id, a.step_id,
             a.user, a.ntasks, a.ntasks > 1 ? "s" : "", a.pty ? " on a pty" : "", (int)pid);
    json_t *r = json_pack("{s:b}", "forward", cl.fwd); /* "I forward": older daemons do not */
    client_reply(d, id, id_len, m->seq, 0, NULL, r);
    json_decref(r);
out:
    free(dir);
    json_decref(c);
}

/* ---- sattach N.batch: follow a batch job's output file ---- */

#define TAIL_REPLAY (64 * 1024)

static void tail_send(struct noded *d, struct dtail *t, int kind, uint32_t a, const char *data,
                      size_t len, int *failed)
{
    struct sl_frame f = {kind, t->job_id, SL_STEP_BATCH, a, kind == SL_FR_OUTPUT ? 1 : 0, data, len};
    size_t flen;
    char *buf = sl_frame_encode_alloc(&f, &flen);
    if (send_to(d, &t->client, buf, flen) < 0 && errno == EHOSTUNREACH)
        *failed = 1;
    free(buf);
}

/* Send what the file has gained; 0, or -1 if the client is gone. */
static int tail_pump(struct noded *d, struct dtail *t)
{
    char buf[8192];
    int failed = 0;
    ssize_t n;
    while (!failed && t->fd >= 0 && (n = read(t->fd, buf, sizeof(buf))) > 0)
        tail_send(d, t, SL_FR_OUTPUT, 0, buf, (size_t)n, &failed);
    return failed ? -1 : 0;
}

/* The batch job's stdout file, opened only if it is a regular file the
 * job's user owns (so a link cannot show root's files to the user). */
static int open_batch_output(struct noded *d, uint32_t job_id, char *ebuf, size_t elen)
{
    char *path = djob_file(d, job_id, "record"), *out = NULL, *full;
    json_t *rec = json_load_file(path, 0, NULL), *job = json_object_get(rec, "job");
    const char *pat = json_string_value(json_object_get(job, "stdout"));
    json_int_t uid = json_integer_value(json_object_get(job, "uid"));
    struct stat st;
    int fd = -1;

    free(path);
    if (!job) {
        snprintf(ebuf, elen, "no record of batch job %u on this node", job_id);
        json_decref(rec);
        return -1;
    }
    struct pattern_ctx pc = {
        .job_id = job_id,
        .job_name = json_string_value(json_object_get(job, "name")) ?: "sbatch",
        .user = json_string_value(json_object_get(job, "user")) ?: "",
        .node = d->name,
        .array_job_id = (uint32_t)json_integer_value(json_object_get(job, "array_job_id")),
        .array_task_id = (uint32_t)json_integer_value(json_object_get(job, "array_task_id")),
    };
    out = expand_pattern(pat && *pat ? pat : pc.array_job_id ? "slurm-%A_%a.out" : "slurm-%j.out",
                         &pc);
    full = out[0] == '/' ? xstrdup(out)
                         : xasprintf("%s/%s", json_string_value(json_object_get(job, "work_dir"))
                                                  ?: "/",
                                     out);
    fd = open(full, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != (uid_t)uid) {
        snprintf(ebuf, elen, "the output of batch job %u (%s) is not a file of its user", job_id,
                 full);
        if (fd >= 0)
            close(fd);
        fd = -1;
    } else if (st.st_size > TAIL_REPLAY) {
        lseek(fd, st.st_size - TAIL_REPLAY, SEEK_SET); /* recent output first */
    }
    free(out);
    free(full);
    json_decref(rec);
    return fd;
}

static void attach_batch(struct noded *d, struct sl_msg *m, uint32_t job_id,
                         const struct dclient *cl)
{
    const unsigned char *id = cl->id;
    size_t id_len = cl->id_len;
    char ebuf[600] = "";
    struct djob *j = djob_find(d, job_id);
    struct dtail *t;
    int fd, failed = 0;

    if (!j || j->done) {
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_STEP, "the batch step is not running here",
                     NULL);
        return;
    }
    if (cl->no_output) {
        fd = -1; /* forwarding only: the output file is not read */
    } else if ((fd = open_batch_output(d, job_id, ebuf, sizeof(ebuf))) < 0) {
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_STEP, ebuf, NULL);
        return;
    }
    json_t *r = json_pack("{s:b}", "forward", cl->fwd);
    client_reply(d, id, id_len, m->seq, 0, NULL, r);
    json_decref(r);
    t = xcalloc(1, sizeof(*t));
    t->client = *cl;
    t->job_id = job_id;
    t->fd = fd;
    t->next = d->tails;
    d->tails = t;
    tail_pump(d, t);
    tail_send(d, t, SL_FR_REPLAYED, 0, NULL, 0, &failed);
    log_info("job %u: client of uid %u follows the batch output", job_id, (unsigned)m->uid);
}

static void tails_tick(struct noded *d)
{
    for (struct dtail **pp = &d->tails; *pp;) {
        struct dtail *t = *pp;
        struct djob *j = djob_find(d, t->job_id);
        int failed = tail_pump(d, t) < 0;
        if (!failed && (!j || j->done)) {
            if (j) {
                /* the task's status rides in b of the exit frame */
                struct sl_frame f = {SL_FR_TASK_EXIT, t->job_id, SL_STEP_BATCH, 0,
                                     (uint32_t)j->status, NULL, 0};
                char buf[SL_FRAME_HDR];
                send_to(d, &t->client, buf, sl_frame_encode(&f, buf));
            }
            struct sl_frame z = {SL_FR_STEP_END, t->job_id, SL_STEP_BATCH, j ? (uint32_t)j->status : 0,
                                 0, NULL, 0};
            char zb[SL_FRAME_HDR];
            send_to(d, &t->client, zb, sl_frame_encode(&z, zb));
            failed = 1;
        }
        if (failed) {
            *pp = t->next;
            fwd_drop_client(d, t->client.id, t->client.id_len);
            if (t->fd >= 0)
                close(t->fd);
            free(t);
        } else {
            pp = &t->next;
        }
    }
}

static void attach(struct noded *d, struct sl_msg *m, const unsigned char *id, size_t id_len)
{
    char ebuf[512] = "";
    json_t *c = check_cred(d, m, "attach", ebuf, sizeof(ebuf)), *r;
    struct dstep *s;
    struct dclient cl;

    if (!c) {
        log_warn("step_connect from uid %u refused: %s", (unsigned)m->uid, ebuf);
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_CRED, ebuf, NULL);
        return;
    }
    uint32_t job_id = (uint32_t)json_integer_value(json_object_get(c, "job_id"));
    uint32_t step_id = (uint32_t)json_integer_value(json_object_get(c, "step_id"));
    int ok = make_client(&cl, m, id, id_len, c, ebuf, sizeof(ebuf));
    json_decref(c);
    if (ok < 0) {
        log_warn("step_connect from uid %u refused: %s", (unsigned)m->uid, ebuf);
        client_reply(d, id, id_len, m->seq, SL_E_ACCESS_DENIED, ebuf, NULL);
        return;
    }
    if (step_id == SL_STEP_BATCH) {
        attach_batch(d, m, job_id, &cl);
        return;
    }
    s = step_find(d, job_id, step_id);
    if (!s || s->done || s->conn < 0) {
        client_reply(d, id, id_len, m->seq, SL_E_INVALID_STEP, "the step is not running here",
                     NULL);
        return;
    }
    r = json_pack("{s:b, s:b}", "pty", s->pty, "forward", cl.fwd);
    client_reply(d, id, id_len, m->seq, 0, NULL, r);
    json_decref(r);
    json_t *from = json_object_get(m->body, "replay_from");
    if (json_is_false(json_object_get(m->body, "replay")) || cl.no_output) {
        /* a forwarding-only client wants no output */
        add_client(&s->live, &s->nlive, &cl);
    } else {
        /* replay_from: a client coming back after our restart has that many
         * output frames already and wants the ones it missed while we were down */
        json_int_t n = json_is_integer(from) ? json_integer_value(from) : 0;
        add_client(&s->replay, &s->nreplay, &cl);
        supervisor_frame(s, SL_FR_HELLO, n > 0 && n <= UINT32_MAX ? (uint32_t)n : 0, 0, NULL,
                         0);
    }
    log_info("step %u.%u: client of uid %u attached%s", s->job_id, s->step_id, (unsigned)m->uid,
             cl.fwd ? cl.no_output ? " to forward ports only" : ", forwarding ports" : "");
}

static void client_request(struct noded *d, const char *payload, size_t len,
                           const unsigned char *id, size_t id_len)
{
    struct sl_msg m;
    sl_error_t err;
    int rc;

    memset(&m, 0, sizeof(m));
    if (sl_msg_decode(payload, len, &m, &rc, &err) < 0 || m.type == SL_MSG_REPLY) {
        log_warn("session client: bad message: %s", m.type == SL_MSG_REPLY ? "a reply" : err.text);
        /* answered even without a readable seq (re 0), so the sender learns why */
        client_reply(d, id, id_len, m.seq, rc ? rc : SL_E_PROTOCOL,
                     m.type == SL_MSG_REPLY ? "a reply is not a request" : err.text, NULL);
    } else if (sl_msg_verify(d->auth, &m, &rc, &err) < 0) {
        log_warn("session client: %s", err.text);
        client_reply(d, id, id_len, m.seq, rc, err.text, NULL);
    } else if (m.type == SL_MSG_STEP_LAUNCH) {
        launch(d, &m, id, id_len);
    } else if (m.type == SL_MSG_STEP_CONNECT) {
        attach(d, &m, id, id_len);
    } else {
        client_reply(d, id, id_len, m.seq, SL_E_UNKNOWN_TYPE,
                     "not a request for a session socket", NULL);
    }
    sl_msg_clear(&m);
}

static const struct dclient *find_client(const struct dstep *s, const unsigned char *id,
                                         size_t id_len)
{
    for (size_t i = 0; i < s->nlive; i++)
        if (s->live[i].id_len == id_len && !memcmp(s->live[i].id, id, id_len))
            return &s->live[i];
    for (size_t i = 0; i < s->nreplay; i++)
        if (s->replay[i].id_len == id_len && !memcmp(s->replay[i].id, id, id_len))
            return &s->replay[i];
    return NULL;
}

/* The client of a batch job's output with this connection. */
static const struct dclient *find_tail_client(struct noded *d, uint32_t job_id,
                                              const unsigned char *id, size_t id_len)
{
    for (struct dtail *t = d->tails; t; t = t->next)
        if (t->job_id == job_id && t->client.id_len == id_len && !memcmp(t->client.id, id, id_len))
            return &t->client;
    return NULL;
}

static void client_frame(struct noded *d, const char *buf, size_t len, const unsigned char *id,
                         size_t id_len)
{
    struct sl_frame f;
    sl_error_t err;
    struct dstep *s;

    if (sl_frame_decode(buf, len, &f, &err) < 0) {
        log_debug("session client: %s", err.text);
        return;
    }
    const struct dclient *cl;
    if (f.step_id == SL_STEP_BATCH) {
        s = NULL; /* a batch job's output follower may forward, nothing more */
        cl = find_tail_client(d, f.job_id, id, id_len);
    } else {
        s = step_find(d, f.job_id, f.step_id);
        cl = s ? find_client(s, id, id_len) : NULL;
    }
    if (!cl) {
        log_debug("session frame for step %u.%u from a connection not attached to it", f.job_id,
                  f.step_id);
        return;
    }
    switch (f.kind) {
    case SL_FR_STDIN:
    case SL_FR_EOF:
    case SL_FR_RESIZE:
    case SL_FR_SIGNAL:
        if (s)
            to_supervisor(s, buf, len);
        break;
    case SL_FR_DETACH:
        fwd_drop_client(d, id, id_len);
        if (!s)
            break;
        for (size_t i = 0; i < s->nlive; i++)
            if (s->live[i].id_len == id_len && !memcmp(s->live[i].id, id, id_len)) {
                clients_remove(s->live, &s->nlive, i);
                break;
            }
        log_info("step %u.%u: client detached", s->job_id, s->step_id);
        break;
    case SL_FR_FWD_OPEN:
        if (!cl->fwd) {
            /* it did not ask for forwarding when it attached, or may not */
            const char *t = "this connection may not forward ports (not attached with "
                            "forwarding by the job's owner)";
            struct sl_frame y = {SL_FR_FWD_OPENED, f.job_id, f.step_id, f.a, EACCES, t,
                                 strlen(t)};
            char yb[SL_FRAME_HDR + 200];
            send_to(d, cl, yb, sl_frame_encode(&y, yb));
            break;
        }
        fwd_open(d, cl, f.job_id, f.step_id, cl->uid, cl->gid, f.a, (int)f.b);
        break;
    case SL_FR_FWD_DATA:
        if (s)
            s->last_fwd = now_s(); /* a notebook in use is a session in use */
        /* FALLTHROUGH */
    case SL_FR_FWD_EOF:
    case SL_FR_FWD_RESET:
    case SL_FR_FWD_ACK:
        fwd_frame(d, id, id_len, &f);
        break;
    default:
        break; /* node-to-client kinds are not taken from clients */
    }
}

void steps_recv(struct noded *d)
{
    for (int budget = 0; budget < 256; budget++) {
        unsigned char id[256];
        int idn = zmq_recv(d->srv, id, sizeof(id), ZMQ_DONTWAIT), more;
        size_t sz = sizeof(more);
        zmq_msg_t part;
        char *payload = NULL;
        size_t plen = 0;

        if (idn < 0)
            return;
        zmq_getsockopt(d->srv, ZMQ_RCVMORE, &more, &sz);
        zmq_msg_init(&part);
        while (more) {
            if (zmq_msg_recv(&part, d->srv, 0) < 0)
                break;
            more = zmq_msg_more(&part);
            if (!payload && zmq_msg_size(&part) > 0) {
                plen = zmq_msg_size(&part);
                payload = xmalloc(plen + 1);
                memcpy(payload, zmq_msg_data(&part), plen);
                payload[plen] = 0;
            }
        }
        zmq_msg_close(&part);
        if (!payload || idn > (int)sizeof(id))
            ;
        else if (payload[0] == '{')
            client_request(d, payload, plen, id, (size_t)idn);
        else
            client_frame(d, payload, plen, id, (size_t)idn);
        free(payload);
    }
}

/* ---- periodic work, signals, notices ---- */

void steps_tick(struct noded *d)
{
    int64_t now = now_s();
    static int64_t last_query;

    tails_tick(d);
    for (struct dstep *s = d->steps; s; s = s->next) {
        if (s->done)
            continue;
        if (s->kill_at && now >= s->kill_at) {
            supervisor_frame(s, SL_FR_SIGNAL, SIGKILL, 0, NULL, 0);
            if (s->conn < 0 && s->sup_pid > 0)
                kill(s->sup_pid, SIGKILL);
            s->kill_at = 0;
        }
        if (s->conn < 0 && s->pidfd < 0 && !s->done) {
            int st = read_status_file(d, s);
            step_ended(d, s, st >= 0 ? st : SIGKILL, true);
        }
    }
    /* ask for activity a little before each heartbeat */
    if (now - last_query >= (d->conf->heartbeat_interval > 1 ? d->conf->heartbeat_interval - 1
                                                              : 1)) {
        last_query = now;
        for (struct dstep *s = d->steps; s; s = s->next)
            if (!s->done)
                supervisor_frame(s, SL_FR_QUERY, 0, 0, NULL, 0);
    }
}

json_t *steps_activity_json(struct noded *d)
{
    json_t *arr = json_array();
    int64_t now = now_s();
    for (struct dstep *s = d->steps; s; s = s->next) {
        if (s->done)
            continue;
        /* input through a forwarded port counts as terminal input does */
        int64_t idle = s->idle_s;
        if (s->last_fwd && now - s->last_fwd < idle)
            idle = now - s->last_fwd;
        json_array_append_new(arr, json_pack("{s:I, s:I, s:I, s:I, s:b, s:b}", "job_id",
                                             (json_int_t)s->job_id, "step_id",
                                             (json_int_t)s->step_id, "idle_s", (json_int_t)idle,
                                             "cpu_ms", (json_int_t)s->cpu_ms, "attached",
                                             s->nlive + s->nreplay > 0, "pty", s->pty));
    }
    return arr;
}

int steps_signal(struct noded *d, uint32_t job_id, int64_t step_id, int sig, int kill_wait)
{
    int n = 0;
    for (struct dstep *s = d->steps; s; s = s->next) {
        if (s->job_id != job_id || s->done || (step_id >= 0 && s->step_id != (uint32_t)step_id))
            continue;
        if (kill_wait > 0) {
            supervisor_frame(s, SL_FR_SIGNAL, SIGCONT, 0, NULL, 0);
            if (!s->kill_at)
                s->kill_at = now_s() + kill_wait;
        }
        supervisor_frame(s, SL_FR_SIGNAL, (uint32_t)sig, 0, NULL, 0);
        n++;
    }
    if (n)
        log_info("job %u: signal %d to %d step%s%s", job_id, sig, n, n > 1 ? "s" : "",
                 kill_wait > 0 ? " (terminating)" : "");
    return n;
}

void steps_notice(struct noded *d, uint32_t job_id, const char *text)
{
    size_t len = strlen(text);
    if (len > 4000)
        len = 4000;
    for (struct dstep *s = d->steps; s; s = s->next)
        if (s->job_id == job_id && !s->done)
            supervisor_frame(s, SL_FR_NOTICE, 0, 0, text, len);
}

void steps_complete_acked(struct noded *d, uint32_t job_id, uint32_t step_id, int rc)
{
    struct dstep *s = step_find(d, job_id, step_id);
    if (!s || !s->done)
        return;
    if (rc == 0 || rc == SL_E_INVALID_STEP || rc == SL_E_INVALID_JOB_ID) {
        if (rc)
            log_info("step %u.%u: the controller no longer tracks it", job_id, step_id);
        if (s->pidfd < 0 || s->conn < 0)
            forget(d, s);
        else
            s->complete_sent = -1; /* acknowledged; forgotten when the supervisor exits */
    }
}

void steps_resend(struct noded *d)
{
    int64_t now = now_s();
    for (struct dstep *s = d->steps, *next; s; s = next) {
        next = s->next;
        if (s->done && s->complete_sent == -1 && s->pidfd < 0)
            forget(d, s);
        else if (s->done && s->complete_sent >= 0 &&
                 now - s->complete_sent >= d->conf->heartbeat_interval)
            link_send_step_complete(d, s);
    }
}

/* ---- after a restart ---- */

void steps_readopt(struct noded *d)
{
    DIR *dir = opendir(d->spool);
    struct dirent *de;

    if (!dir)
        return;
    while ((de = readdir(dir))) {
        unsigned job, step, uid;
        int pid, pty;
        long long start;
        char *path, buf[256];
        if (sscanf(de->d_name, "step.%u.%u", &job, &step) != 2)
            continue;
        path = xasprintf("%s/%s/record", d->spool, de->d_name);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        free(path);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
        if (fd >= 0)
            close(fd);
        if (n <= 0)
            continue;
        buf[n] = 0;
        if (sscanf(buf, "%u %u %u %d %lld %d", &job, &step, &uid, &pid, &start, &pty) != 6)
            continue;
        struct dstep *s = xcalloc(1, sizeof(*s));
        s->job_id = job;
        s->step_id = step;
        s->uid = uid;
        s->pty = pty;
        s->sup_pid = pid;
        s->sup_start = start;
        s->pidfd = proc_start_time(pid) == start ? pidfd_open_pid(pid) : -1;
        s->conn = s->pidfd >= 0 ? connect_supervisor(d, job, step) : -1;
        s->next = d->steps;
        d->steps = s;
        if (s->pidfd < 0) {
            int st = read_status_file(d, s);
            step_ended(d, s, st >= 0 ? st : SIGKILL, true);
        } else {
            log_info("step %u.%u re-adopted (supervisor %d)", job, step, pid);
        }
    }
    closedir(dir);
}
