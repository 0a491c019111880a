/* submit_bench.c - the library/API submission path: many submit_job
 * requests pipelined on one connection, with up to --window requests in
 * flight.  A job id comes back only once the job is committed to SQLite,
 * so jobs/s here is durable jobs/s.
 *
 *   submit_bench -f slurmish.yaml [-n COUNT] [--window W] [--hold] [--sleep S]
 *                [--munge-each [--sign-threads T]]
 *
 * By default the client asks the ctld for a signing key (request_key,
 * munge-signed) and signs every submission with it (proto/keyed.h), as a
 * bulk API client does; the time includes getting the key.
 *
 * --munge-each signs every request with munge, as sbatch does.  That is a
 * round trip to munged, as verifying it is for the ctld: one signer alone
 * would measure munged's latency, not the ctld.  So T threads (4 by
 * default), each with its own munge context, sign the requests and the
 * main thread sends them; --sign-threads 1 is one signer beside the sender.
 *
 * Prints "submitted N jobs in T s: R jobs/s" and the job id range.  Also
 * fills a queue quickly for the query, memory and restart benchmarks.
 */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <zmq.h>

#include "auth/auth.h"
#include "conf/conf.h"
#include "proto/keyed.h"
#include "proto/proto.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int send_msg(void *sock, const char *buf, size_t len)
{
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE) < 0 || zmq_send(sock, buf, len, 0) < 0)
        return -1;
    return 0;
}

/* Receive one reply; returns its rc, or -2 on timeout. */
static int recv_reply(void *sock, int timeout_ms, json_int_t *job_id, char *why, size_t whylen)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        if (zmq_poll(&item, 1, timeout_ms) <= 0)
            return -2;
        zmq_msg_t part;
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0) {
            zmq_msg_close(&part);
            return -2;
        }
        if (zmq_msg_size(&part) == 0) { /* delimiter */
            zmq_msg_close(&part);
            continue;
        }
        struct sl_msg m;
        int rc;
        sl_error_t err;
        if (sl_msg_decode(zmq_msg_data(&part), zmq_msg_size(&part), &m, &rc, &err) < 0) {
            zmq_msg_close(&part);
            snprintf(why, whylen, "undecodable reply: %s", err.text);
            return -1;
        }
        zmq_msg_close(&part);
        rc = m.rc;
        if (rc)
            snprintf(why, whylen, "%s", m.error ? m.error : sl_strerror(rc));
        else
            *job_id = json_integer_value(json_object_get(m.body, "job_id"));
        sl_msg_clear(&m);
        return rc;
    }
}

/* Requests signed by the signer threads, waiting to be sent. */
struct signer_queue {
    pthread_mutex_t mu;
    pthread_cond_t more; /* a signed request was queued (or a signer failed) */
    pthread_cond_t room; /* the sender took one */
    char **bufs;
    size_t *lens;
    size_t cap, head, count;
    long next, total; /* the next request to sign, how many in all */
    bool failed;
    char why[SL_ERROR_TEXT];
    json_t *body;
    const char *munge_socket;
};

static void *signer_main(void *arg)
{
    struct signer_queue *q = arg;
    sl_error_t err;
    struct sl_auth *auth = sl_auth_create(q->munge_socket, &err);
    pthread_mutex_lock(&q->mu);
    json_t *body = json_deep_copy(q->body); /* a json_t is not shared between threads */
    pthread_mutex_unlock(&q->mu);
    for (;;) {
        size_t len = 0;
        char *buf = NULL;
        pthread_mutex_lock(&q->mu);
        long i = q->next < q->total && !q->failed && auth ? q->next++ : -1;
        pthread_mutex_unlock(&q->mu);
        /* each request is signed on its own: munge refuses a replayed credential */
        if (i >= 0)
            buf = sl_msg_encode_request(auth, SL_MSG_SUBMIT_JOB, (uint64_t)i + 1, body, &len, &err);
        pthread_mutex_lock(&q->mu);
        if ((i >= 0 || !auth) && !buf && !q->failed) {
            q->failed = true;
            snprintf(q->why, sizeof(q->why), "%s", err.text);
            pthread_cond_broadcast(&q->more);
        }
        if (!buf) {
            pthread_mutex_unlock(&q->mu);
            break;
        }
        while (q->count == q->cap)
            pthread_cond_wait(&q->room, &q->mu);
        size_t tail = (q->head + q->count++) % q->cap;
        q->bufs[tail] = buf;
        q->lens[tail] = len;
        pthread_cond_signal(&q->more);
        pthread_mutex_unlock(&q->mu);
    }
    sl_auth_destroy(auth);
    json_decref(body);
    return NULL;
}

/* The next signed request, or NULL if a signer failed. */
static char *signed_next(struct signer_queue *q, size_t *len)
{
    char *buf = NULL;
    pthread_mutex_lock(&q->mu);
    while (!q->count && !q->failed)
        pthread_cond_wait(&q->more, &q->mu);
    if (q->count) {
        buf = q->bufs[q->head];
        *len = q->lens[q->head];
        q->head = (q->head + 1) % q->cap;
        q->count--;
        pthread_cond_signal(&q->room);
    }
    pthread_mutex_unlock(&q->mu);
    return buf;
}

/* Ask the ctld for a signing key on sock, before anything is in flight. */
static int get_key(void *sock, struct sl_auth *auth, const struct sl_conf *conf, int timeout_ms,
                   struct sl_sign_key *key, char *why, size_t whylen)
{
    char nonce[SL_KEY_NONCE_LEN + 1];
    sl_error_t err;
    size_t len;
    json_t *body = sl_key_request_body(nonce);
    char *buf = body ? sl_msg_encode_request(auth, SL_MSG_REQUEST_KEY, 0, body, &len, &err) : NULL;
    json_decref(body);
    if (!buf || send_msg(sock, buf, len) < 0) {
        snprintf(why, whylen, "cannot send request_key: %s", buf ? zmq_strerror(errno) : err.text);
        free(buf);
        return -1;
    }
    free(buf);
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    for (;;) {
        zmq_msg_t part;
        struct sl_msg m;
        int rc, drc;
        if (zmq_poll(&item, 1, timeout_ms) <= 0) {
            snprintf(why, whylen, "no reply to request_key");
            return -1;
        }
        zmq_msg_init(&part);
        if (zmq_msg_recv(&part, sock, 0) < 0 || zmq_msg_size(&part) == 0) {
            zmq_msg_close(&part);
            continue;
        }
        rc = sl_msg_decode(zmq_msg_data(&part), zmq_msg_size(&part), &m, &drc, &err);
        zmq_msg_close(&part);
        if (rc < 0 || m.rc) {
            snprintf(why, whylen, "request_key refused: %s",
                     rc < 0 ? err.text : m.error ? m.error : sl_strerror(m.rc));
            sl_msg_clear(&m);
            return -1;
        }
        struct passwd *pw = getpwnam(conf->slurm_user ? conf->slurm_user : "root");
        rc = sl_key_accept(auth, m.body, nonce, pw ? pw->pw_uid : 0, key, &err);
        sl_msg_clear(&m);
        if (rc < 0)
            snprintf(why, whylen, "%s", err.text);
        return rc;
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'f'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"window", required_argument, NULL, 'w'},
                                             {"hold", no_argument, NULL, 'H'},
                                             {"sleep", required_argument, NULL, 's'},
                                             {"partition", required_argument, NULL, 'p'},
                                             {"sign-threads", required_argument, NULL, 'S'},
                                             {"munge-each", no_argument, NULL, 'M'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *conf_file = NULL, *partition = NULL;
    long count = 1000, window = 256, nsigners = 4;
    int sleep_s = -1, opt;
    bool hold = false, munge_each = false;
    char *errors = NULL;
    struct sl_conf *conf;
    sl_error_t err;

    while ((opt = getopt_long(argc, argv, "f:n:w:Hs:p:S:Mh", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            conf_file = optarg;
            break;
        case 'n':
            count = atol(optarg);
            break;
        case 'w':
            window = atol(optarg);
            break;
        case 'H':
            hold = true;
            break;
        case 's':
            sleep_s = atoi(optarg);
            break;
        case 'p':
            partition = optarg;
            break;
        case 'S':
            nsigners = atol(optarg);
            break;
        case 'M':
            munge_each = true;
            break;
        case 'h':
            printf("Usage: submit_bench [-f CONFIG] [-n COUNT] [-w WINDOW] [--hold] [--sleep S] "
                   "[-p PARTITION] [--munge-each [--sign-threads T]]\n");
            return 0;
        default:
            return 1;
        }
    }
    if (count <= 0 || window <= 0 || nsigners <= 0 || nsigners > 64) {
        fprintf(stderr, "submit_bench: --count and --window must be above 0, --sign-threads "
                        "in 1..64\n");
        return 1;
    }
    if (sl_conf_load(sl_conf_path(conf_file), &conf, &errors) < 0) {
        fprintf(stderr, "submit_bench: %s", errors ? errors : "cannot load the config\n");
        return 1;
    }
    struct sl_auth *auth = sl_auth_create(conf->munge_socket, &err);
    if (!auth) {
        fprintf(stderr, "submit_bench: %s\n", err.text);
        return 1;
    }
    char ep[300], cwd[4096], script[128];
    int zero = 0, hwm = 0;
    snprintf(ep, sizeof(ep), "tcp://%s:%d", conf->ctld_host, conf->ctld_port);
    void *zctx = zmq_ctx_new(), *sock = zmq_socket(zctx, ZMQ_DEALER);
    zmq_setsockopt(sock, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(sock, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(sock, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    if (zmq_connect(sock, ep) < 0) {
        fprintf(stderr, "submit_bench: cannot connect to %s: %s\n", ep, zmq_strerror(errno));
        return 1;
    }
    if (!getcwd(cwd, sizeof(cwd)))
        strcpy(cwd, "/tmp");
    if (sleep_s >= 0)
        snprintf(script, sizeof(script), "#!/bin/sh\nsleep %d\n", sleep_s);
    else
        snprintf(script, sizeof(script), "#!/bin/sh\ntrue\n");
    json_t *body = json_pack("{s:s, s:s, s:[s], s:s, s:s, s:s}", "script", script, "name",
                             "bench", "env", "PATH=/usr/bin:/bin", "work_dir", cwd, "stdout",
                             "/dev/null", "submit_host", "localhost");
    if (hold)
        json_object_set_new(body, "hold", json_true());
    if (partition)
        json_object_set_new(body, "partition", json_string(partition));

    long sent = 0, done = 0, failed = 0;
    json_int_t first = 0, last = 0;
    char why[600] = "";
    struct signer_queue q = {.cap = (size_t)window, .total = count, .body = body,
                             .munge_socket = conf->munge_socket};
    pthread_t signers[64];
    pthread_mutex_init(&q.mu, NULL);
    pthread_cond_init(&q.more, NULL);
    pthread_cond_init(&q.room, NULL);
    q.bufs = calloc(q.cap, sizeof(*q.bufs));
    q.lens = calloc(q.cap, sizeof(*q.lens));
    struct sl_sign_key key;
    double t0 = now_s();
    if (!munge_each &&
        get_key(sock, auth, conf, conf->message_timeout * 1000, &key, why, sizeof(why)) < 0) {
        fprintf(stderr, "submit_bench: %s\n", why);
        return 1;
    }
    if (!munge_each)
        nsigners = 0;
    for (long i = 0; i < nsigners; i++)
        pthread_create(&signers[i], NULL, signer_main, &q);
    while (done < count) {
        while (sent < count && sent - done < window) {
            size_t len;
            char *buf = munge_each ? signed_next(&q, &len)
                                   : sl_msg_encode_keyed(&key, SL_MSG_SUBMIT_JOB,
                                                         (uint64_t)sent + 1, body, &len, &err);
            if (!buf || send_msg(sock, buf, len) < 0) {
                fprintf(stderr, "submit_bench: cannot send: %s\n",
                        buf ? zmq_strerror(errno) : munge_each ? q.why : err.text);
                return 1;
            }
            free(buf);
            sent++;
        }
        json_int_t id = 0;
        int rc = recv_reply(sock, conf->message_timeout * 1000, &id, why, sizeof(why));
        if (rc == -2) {
            fprintf(stderr, "submit_bench: no reply after %d s (%ld of %ld answered)\n",
                    conf->message_timeout, done, count);
            return 1;
        }
        done++;
        if (rc) {
            failed++;
            continue;
        }
        if (!first || id < first)
            first = id;
        if (id > last)
            last = id;
    }
    double t = now_s() - t0;
    for (long i = 0; i < nsigners; i++)
        pthread_join(signers[i], NULL);
    free(q.bufs);
    free(q.lens);
    char how[64];
    if (munge_each)
        snprintf(how, sizeof(how), "each munge-signed, %ld signers", nsigners);
    else
        snprintf(how, sizeof(how), "signed with a key");
    printf("submitted %ld jobs in %.3f s: %.0f jobs/s (window %ld, %s, ids %lld-%lld)\n",
           count - failed, t, (count - failed) / t, window, how, (long long)first,
           (long long)last);
    if (failed)
        printf("%ld refused; last error: %s\n", failed, why);
    json_decref(body);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    sl_auth_destroy(auth);
    sl_conf_destroy(conf);
    return failed ? 1 : 0;
}
