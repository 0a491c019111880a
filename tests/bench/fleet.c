/* fleet.c - a simulated fleet of node daemons, for benchmarks at scale.
 *
 * One process registers every node of the config's (non-cloud) node groups
 * with the real ctld over the real protocol: munge-signed node_register,
 * node_heartbeat and job_complete messages on one DEALER connection, which
 * the ctld routes launches back to.  A launched job "runs" for the N
 * seconds of the first `sleep N` in its script (0 if none), divided by
 * --speed; a signal ends it at once.  So the controller, scheduler and
 * store are the real code under real load, without thousands of processes.
 *
 *   fleet -f slurmish.yaml [--speed X] [--group NAME]...
 *
 * Prints "fleet: N nodes registered" once all are, and counters on exit
 * (SIGTERM/SIGINT).  Must run as root or the config's slurm_user, as a
 * node daemon does.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <zmq.h>

#include "auth/auth.h"
#include "conf/conf.h"
#include "proto/proto.h"
#include "util/hostlist.h"
#include "util/xmalloc.h"

struct simnode {
    const char *name;
    const struct sl_node_group *group;
    bool registered;
    uint32_t *running; /* job ids running here */
    size_t nrunning, cap;
};

struct simjob {
    int64_t end_ms;
    uint32_t id;
    uint32_t node;
};

/* what a request we sent was, to make sense of its reply */
struct sent {
    uint64_t seq;
    int type;
    uint32_t node;
};

#define SENT_RING 65536

static struct {
    void *zctx, *sock;
    struct sl_auth *auth;
    const struct sl_conf *conf;
    struct simnode *nodes;
    size_t nnodes, nregistered;
    size_t *index; /* open-addressing table: name hash -> node index + 1 */
    size_t index_cap;
    struct simjob *heap; /* min-heap of running jobs by end time */
    size_t nheap, heap_cap;
    struct sent sent[SENT_RING];
    uint64_t seq;
    double speed;
    uint64_t launches, completions, signals, heartbeats, send_failures;
} F;

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t hash_name(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static void index_build(void)
{
    F.index_cap = 16;
    while (F.index_cap < 2 * F.nnodes)
        F.index_cap *= 2;
    F.index = xcalloc(F.index_cap, sizeof(*F.index));
    for (size_t i = 0; i < F.nnodes; i++) {
        size_t k = hash_name(F.nodes[i].name) & (F.index_cap - 1);
        while (F.index[k])
            k = (k + 1) & (F.index_cap - 1);
        F.index[k] = i + 1;
    }
}

static struct simnode *node_find(const char *name)
{
    size_t k = hash_name(name) & (F.index_cap - 1);
    for (; F.index[k]; k = (k + 1) & (F.index_cap - 1))
        if (!strcmp(F.nodes[F.index[k] - 1].name, name))
            return &F.nodes[F.index[k] - 1];
    return NULL;
}

static void heap_push(struct simjob j)
{
    if (F.nheap == F.heap_cap) {
        F.heap_cap = F.heap_cap ? 2 * F.heap_cap : 1024;
        F.heap = xrealloc(F.heap, F.heap_cap * sizeof(*F.heap));
    }
    size_t i = F.nheap++;
    while (i && F.heap[(i - 1) / 2].end_ms > j.end_ms) {
        F.heap[i] = F.heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    F.heap[i] = j;
}

static struct simjob heap_pop(void)
{
    struct simjob top = F.heap[0], last = F.heap[--F.nheap];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= F.nheap)
            break;
        if (c + 1 < F.nheap && F.heap[c + 1].end_ms < F.heap[c].end_ms)
            c++;
        if (F.heap[c].end_ms >= last.end_ms)
            break;
        F.heap[i] = F.heap[c];
        i = c;
    }
    if (F.nheap)
        F.heap[i] = last;
    return top;
}

static void node_add_job(struct simnode *n, uint32_t id)
{
    if (n->nrunning == n->cap) {
        n->cap = n->cap ? 2 * n->cap : 4;
        n->running = xrealloc(n->running, n->cap * sizeof(*n->running));
    }
    n->running[n->nrunning++] = id;
}

/* Remove a job from its node; false if it was not running there (already ended). */
static bool node_drop_job(struct simnode *n, uint32_t id)
{
    for (size_t i = 0; i < n->nrunning; i++)
        if (n->running[i] == id) {
            n->running[i] = n->running[--n->nrunning];
            return true;
        }
    return false;
}

static json_t *running_json(const struct simnode *n)
{
    json_t *a = json_array();
    for (size_t i = 0; i < n->nrunning; i++)
        json_array_append_new(a, json_integer(n->running[i]));
    return a;
}

static void send_frame(const char *buf, size_t len)
{
    /* a DEALER talking to the ctld's ROUTER: empty delimiter, then the message */
    if (zmq_send(F.sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(F.sock, buf, len, 0) < 0)
        F.send_failures++;
}

static void send_request(int type, json_t *body, uint32_t node)
{
    sl_error_t err;
    size_t len;
    uint64_t seq = ++F.seq;
    char *buf = sl_msg_encode_request(F.auth, type, seq, body, &len, &err);
    json_decref(body);
    if (!buf) {
        fprintf(stderr, "fleet: cannot sign %s: %s\n", sl_msg_info(type)->name, err.text);
        F.send_failures++;
        return;
    }
    F.sent[seq % SENT_RING] = (struct sent){seq, type, node};
    send_frame(buf, len);
    free(buf);
}

static void send_reply_body(uint64_t re, int rc, const char *error, json_t *body)
{
    size_t len;
    char *buf = sl_msg_encode_reply(re, rc, error, body, &len);
    if (buf)
        send_frame(buf, len);
    free(buf);
}

static void send_reply(uint64_t re, int rc, const char *error)
{
    send_reply_body(re, rc, error, NULL);
}

static void send_register(uint32_t i)
{
    const struct simnode *n = &F.nodes[i];
    json_t *body = json_pack("{s:s, s:s, s:i, s:i, s:I, s:i, s:s, s:o, s:[], s:[], s:s}", "node",
                             n->name, "address", "127.0.0.1", "port", 1, "cpus", n->group->cpus,
                             "memory_mb", (json_int_t)n->group->memory_mb, "gpus",
                             n->group->gpus, "version", PACKAGE_VERSION, "running",
                             running_json(n), "completed", "steps", "memory_enforcement",
                             "none");
    send_request(SL_MSG_NODE_REGISTER, body, i);
}

static void send_heartbeat(uint32_t i)
{
    const struct simnode *n = &F.nodes[i];
    if (!n->registered)
        return send_register(i);
    send_request(SL_MSG_NODE_HEARTBEAT,
                 json_pack("{s:s, s:o, s:[]}", "node", n->name, "running", running_json(n),
                           "steps"),
                 i);
    F.heartbeats++;
}

static void send_complete(uint32_t node, uint32_t id, int status)
{
    send_request(SL_MSG_JOB_COMPLETE,
                 json_pack("{s:s, s:I, s:i, s:I}", "node", F.nodes[node].name, "job_id",
                           (json_int_t)id, "status", status, "end_time",
                           (json_int_t)(now_ms() / 1000)),
                 node);
    F.completions++;
}

/* Seconds the script "runs": the first `sleep N` in it, else 0. */
static double script_runtime(const char *script)
{
    for (const char *p = script; p && (p = strstr(p, "sleep")); p += 5) {
        if (p != script && p[-1] != '\n' && p[-1] != ' ' && p[-1] != ';' && p[-1] != '\t')
            continue;
        char *end;
        double s = strtod(p + 5, &end);
        if (end != p + 5 && s >= 0)
            return s;
    }
    return 0;
}

static void handle_launch(struct sl_msg *m)
{
    json_t *b = m->body;
    json_int_t id = json_integer_value(json_object_get(b, "job_id"));
    const char *nodes = json_string_value(json_object_get(b, "nodes"));
    struct hostlist *hl = nodes ? hostlist_create(nodes, NULL) : NULL;
    struct simnode *n = hl && hostlist_count(hl) ? node_find(hostlist_nth(hl, 0)) : NULL;
    hostlist_destroy(hl);
    if (!n || id <= 0) {
        send_reply(m->seq, SL_E_INVALID_ARGUMENT, "launch_job for a node not simulated here");
        return;
    }
    /* the job's id, as slurmish-d answers a launch */
    json_t *r = json_pack("{s:I}", "job_id", id);
    send_reply_body(m->seq, 0, NULL, r);
    json_decref(r);
    double secs = script_runtime(json_string_value(json_object_get(b, "script")));
    node_add_job(n, (uint32_t)id);
    heap_push((struct simjob){now_ms() + (int64_t)(secs * 1000 / F.speed), (uint32_t)id,
                              (uint32_t)(n - F.nodes)});
    F.launches++;
}

static void handle_signal_job(struct sl_msg *m)
{
    json_t *b = m->body;
    uint32_t id = (uint32_t)json_integer_value(json_object_get(b, "job_id"));
    int sig = (int)json_integer_value(json_object_get(b, "signal"));
    send_reply(m->seq, 0, NULL);
    F.signals++;
    if (sig == 0 || sig == SIGCONT || json_is_true(json_object_get(b, "steps_only")))
        return;
    /* the job dies of the signal: end it now (its heap entry is skipped later) */
    for (size_t i = 0; i < F.nnodes; i++)
        if (F.nodes[i].nrunning && node_drop_job(&F.nodes[i], id)) {
            send_complete((uint32_t)i, id, sig == SIGKILL ? SIGKILL : sig);
            return;
        }
}

static void handle_reply(struct sl_msg *m)
{
    struct sent *s = &F.sent[m->re % SENT_RING];
    if (s->seq != m->re)
        return; /* too old to matter */
    struct simnode *n = &F.nodes[s->node];
    if (s->type == SL_MSG_NODE_REGISTER && m->rc == 0 && !n->registered) {
        n->registered = true;
        if (++F.nregistered == F.nnodes) {
            printf("fleet: %zu nodes registered\n", F.nnodes);
            fflush(stdout);
        }
    } else if (s->type == SL_MSG_NODE_REGISTER && m->rc) {
        fprintf(stderr, "fleet: registration of %s refused: %s\n", n->name,
                m->error ? m->error : sl_strerror(m->rc));
    } else if (s->type == SL_MSG_NODE_HEARTBEAT &&
               json_is_false(json_object_get(m->body, "registered")) && n->registered) {
        n->registered = false;
        F.nregistered--;
        send_register(s->node);
    }
}

static void handle_message(const void *buf, size_t len)
{
    struct sl_msg m;
    int rc;
    sl_error_t err;
    if (sl_msg_decode(buf, len, &m, &rc, &err) < 0)
        return;
    if (m.type == SL_MSG_REPLY) {
        handle_reply(&m);
    } else if (sl_msg_verify(F.auth, &m, &rc, &err) < 0) {
        send_reply(m.seq, rc, err.text);
    } else if (m.type == SL_MSG_LAUNCH_JOB) {
        handle_launch(&m);
    } else if (m.type == SL_MSG_SIGNAL_JOB) {
        handle_signal_job(&m);
    } else {
        send_reply(m.seq, 0, NULL); /* session notices and the like: nothing to show */
    }
    sl_msg_clear(&m);
}

static void drain_socket(void)
{
    for (;;) {
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, F.sock, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&part);
            return;
        }
        if (zmq_msg_size(&part) == 0 && zmq_msg_more(&part)) { /* the delimiter */
            zmq_msg_close(&part);
            continue;
        }
        handle_message(zmq_msg_data(&part), zmq_msg_size(&part));
        zmq_msg_close(&part);
    }
}

static void add_group_nodes(const struct sl_node_group *g)
{
    F.nodes = xrealloc(F.nodes, (F.nnodes + g->node_count) * sizeof(*F.nodes));
    for (size_t i = 0; i < g->node_count; i++)
        F.nodes[F.nnodes++] = (struct simnode){.name = g->nodes[i], .group = g};
}

static void usage(FILE *f)
{
    fprintf(f, "Usage: fleet [-f CONFIG] [--speed X] [--group NAME]...\n"
               "Simulate the node daemons of the config's node groups (all non-cloud\n"
               "groups, or those named) against a running slurmish-ctld.\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'f'},
                                             {"speed", required_argument, NULL, 's'},
                                             {"group", required_argument, NULL, 'g'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *conf_file = NULL;
    char **groups = NULL, *errors = NULL;
    size_t ngroups = 0;
    struct sl_conf *conf;
    sl_error_t err;
    int opt;

    F.speed = 1;
    while ((opt = getopt_long(argc, argv, "f:s:g:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            conf_file = optarg;
            break;
        case 's':
            F.speed = strtod(optarg, NULL);
            if (F.speed <= 0) {
                fprintf(stderr, "fleet: --speed must be above 0: %s\n", optarg);
                return 1;
            }
            break;
        case 'g':
            groups = xrealloc(groups, (ngroups + 1) * sizeof(*groups));
            groups[ngroups++] = optarg;
            break;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (sl_conf_load(sl_conf_path(conf_file), &conf, &errors) < 0) {
        fprintf(stderr, "fleet: %s", errors ? errors : "cannot load the config\n");
        return 1;
    }
    F.conf = conf;
    for (size_t i = 0; i < conf->group_count; i++) {
        const struct sl_node_group *g = &conf->groups[i];
        bool named = false;
        for (size_t k = 0; k < ngroups; k++)
            named |= !strcmp(groups[k], g->name);
        if (ngroups ? named : !g->cloud)
            add_group_nodes(g);
    }
    if (!F.nnodes) {
        fprintf(stderr, "fleet: no nodes to simulate\n");
        return 1;
    }
    index_build();
    if (!(F.auth = sl_auth_create(conf->munge_socket, &err))) {
        fprintf(stderr, "fleet: %s\n", err.text);
        return 1;
    }
    char ep[300];
    int zero = 0, hwm = 0;
    snprintf(ep, sizeof(ep), "tcp://%s:%d", conf->ctld_host, conf->ctld_port);
    F.zctx = zmq_ctx_new();
    F.sock = zmq_socket(F.zctx, ZMQ_DEALER);
    zmq_setsockopt(F.sock, ZMQ_LINGER, &zero, sizeof(zero));
    /* 10k nodes register at once: never drop a message for a full queue */
    zmq_setsockopt(F.sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(F.sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (zmq_connect(F.sock, ep) < 0) {
        fprintf(stderr, "fleet: cannot connect to %s: %s\n", ep, zmq_strerror(errno));
        return 1;
    }
    signal(SIGTERM, on_signal);
    signal(SIGINT, on_signal);

    /* heartbeats are spread evenly over the interval, as real nodes drift apart */
    int64_t hb_ms = (int64_t)(conf->heartbeat_interval > 0 ? conf->heartbeat_interval : 30) * 1000;
    int64_t start = now_ms(), last_register = 0;
    size_t hb_next = 0;
    uint64_t hb_round = 0;
    for (uint32_t i = 0; i < F.nnodes; i++)
        send_register(i);
    last_register = start;

    while (!stop) {
        int64_t now = now_ms();
        /* registrations that got no answer (the ctld was not up yet) are retried */
        if (F.nregistered < F.nnodes && now - last_register > 2000) {
            for (uint32_t i = 0; i < F.nnodes; i++)
                if (!F.nodes[i].registered)
                    send_register(i);
            last_register = now;
        }
        while (F.nheap && F.heap[0].end_ms <= now) {
            struct simjob j = heap_pop();
            if (node_drop_job(&F.nodes[j.node], j.id))
                send_complete(j.node, j.id, 0);
        }
        int64_t hb_due = start + (int64_t)hb_round * hb_ms + (int64_t)hb_next * hb_ms / F.nnodes;
        while (hb_due <= now) {
            send_heartbeat((uint32_t)hb_next);
            if (++hb_next == F.nnodes) {
                hb_next = 0;
                hb_round++;
            }
            hb_due = start + (int64_t)hb_round * hb_ms + (int64_t)hb_next * hb_ms / F.nnodes;
        }
        int64_t wake = hb_due;
        if (F.nheap && F.heap[0].end_ms < wake)
            wake = F.heap[0].end_ms;
        if (F.nregistered < F.nnodes && last_register + 2000 < wake)
            wake = last_register + 2000;
        zmq_pollitem_t item = {F.sock, 0, ZMQ_POLLIN, 0};
        long timeout = wake > now ? (long)(wake - now) : 0;
        if (zmq_poll(&item, 1, timeout) > 0)
            drain_socket();
    }
    printf("fleet: %zu nodes, %llu launches, %llu completions, %llu signals, %llu heartbeats, "
           "%llu send failures\n",
           F.nnodes, (unsigned long long)F.launches, (unsigned long long)F.completions,
           (unsigned long long)F.signals, (unsigned long long)F.heartbeats,
           (unsigned long long)F.send_failures);
    zmq_close(F.sock);
    zmq_ctx_term(F.zctx);
    sl_auth_destroy(F.auth);
    for (size_t i = 0; i < F.nnodes; i++)
        free(F.nodes[i].running);
    free(F.nodes);
    free(F.index);
    free(F.heap);
    free(groups);
    sl_conf_destroy(conf);
    return 0;
}
