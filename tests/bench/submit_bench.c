/* submit_bench.c - the library/API submission path: many submit_job
 * requests pipelined on one connection, each munge-signed as sbatch signs
 * it, with up to --window requests in flight.  A job id comes back only
 * once the job is committed to SQLite, so jobs/s here is durable jobs/s.
 *
 *   submit_bench -f slurmish.yaml [-n COUNT] [--window W] [--hold] [--sleep S]
 *
 * Prints "submitted N jobs in T s: R jobs/s" and the job id range.  Also
 * fills a queue quickly for the query, memory and restart benchmarks.
 */
#include <errno.h>
#include <getopt.h>
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

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'f'},
                                             {"count", required_argument, NULL, 'n'},
                                             {"window", required_argument, NULL, 'w'},
                                             {"hold", no_argument, NULL, 'H'},
                                             {"sleep", required_argument, NULL, 's'},
                                             {"partition", required_argument, NULL, 'p'},
                                             {"help", no_argument, NULL, 'h'},
                                             {NULL, 0, NULL, 0}};
    const char *conf_file = NULL, *partition = NULL;
    long count = 1000, window = 256;
    int sleep_s = -1, opt;
    bool hold = false;
    char *errors = NULL;
    struct sl_conf *conf;
    sl_error_t err;

    while ((opt = getopt_long(argc, argv, "f:n:w:Hs:p:h", longopts, NULL)) != -1) {
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
        case 'h':
            printf("Usage: submit_bench [-f CONFIG] [-n COUNT] [-w WINDOW] [--hold] [--sleep S] "
                   "[-p PARTITION]\n");
            return 0;
        default:
            return 1;
        }
    }
    if (count <= 0 || window <= 0) {
        fprintf(stderr, "submit_bench: --count and --window must be above 0\n");
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
    double t0 = now_s();
    while (done < count) {
        while (sent < count && sent - done < window) {
            size_t len;
            /* each request is signed on its own: munge refuses a replayed credential */
            char *buf = sl_msg_encode_request(auth, SL_MSG_SUBMIT_JOB, (uint64_t)sent + 1, body,
                                              &len, &err);
            if (!buf || send_msg(sock, buf, len) < 0) {
                fprintf(stderr, "submit_bench: cannot send: %s\n",
                        buf ? zmq_strerror(errno) : err.text);
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
    printf("submitted %ld jobs in %.3f s: %.0f jobs/s (window %ld, ids %lld-%lld)\n",
           count - failed, t, (count - failed) / t, window, (long long)first, (long long)last);
    if (failed)
        printf("%ld refused; last error: %s\n", failed, why);
    json_decref(body);
    zmq_close(sock);
    zmq_ctx_term(zctx);
    sl_auth_destroy(auth);
    sl_conf_destroy(conf);
    return failed ? 1 : 0;
}
