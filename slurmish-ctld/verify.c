/* verify.c - the credential-verifying helper threads; see verify.h. */
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "metrics.h"
#include "util/log.h"
#include "util/xmalloc.h"
#include "verify.h"

struct helper {
    struct verify_pool *pool;
    struct sl_auth *auth;
    pthread_t thread;
    bool started;
};

struct verify_pool {
    pthread_mutex_t mu;
    pthread_cond_t work; /* items to take, or stop */
    pthread_cond_t done; /* the batch is complete */
    struct verify_item **items;
    size_t n, next, ndone;
    bool stop;
    int nhelpers;
    struct helper *helpers;
};

static void verify_one(struct sl_auth *auth, struct verify_item *it)
{
    double t0 = metrics_clock();
    if (sl_msg_verify(auth, it->msg, &it->rc, &it->err) == 0)
        it->rc = 0;
    it->seconds = metrics_clock() - t0;
}

/* Take items one at a time until none is left (called and returns with
 * p->mu held).  An item costs a munged round trip, so one lock per item
 * is nothing, and it keeps the hand-out simple. */
static void take_items(struct verify_pool *p, struct sl_auth *auth)
{
    while (p->next < p->n) {
        struct verify_item *it = p->items[p->next++];
        pthread_mutex_unlock(&p->mu);
        verify_one(auth, it);
        pthread_mutex_lock(&p->mu);
        if (++p->ndone == p->n)
            pthread_cond_signal(&p->done);
    }
}

static void *helper_main(void *arg)
{
    struct helper *h = arg;
    struct verify_pool *p = h->pool;
    pthread_mutex_lock(&p->mu);
    while (!p->stop) {
        take_items(p, h->auth);
        if (!p->stop)
            pthread_cond_wait(&p->work, &p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

struct verify_pool *verify_pool_create(const char *munge_socket, int nthreads, sl_error_t *err)
{
    struct verify_pool *p = xcalloc(1, sizeof(*p));
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->work, NULL);
    pthread_cond_init(&p->done, NULL);
    p->helpers = xcalloc((size_t)(nthreads > 0 ? nthreads : 1), sizeof(*p->helpers));
    for (int i = 0; i < nthreads; i++) {
        struct helper *h = &p->helpers[i];
        h->pool = p;
        if (!(h->auth = sl_auth_create(munge_socket, err)))
            goto fail;
        p->nhelpers++;
        /* signals (SIGTERM, SIGHUP) must reach the loop thread, to wake
         * its zmq_poll: a helper starts with all of them blocked, as
         * ZeroMQ's own threads do */
        sigset_t all, saved;
        sigfillset(&all);
        pthread_sigmask(SIG_SETMASK, &all, &saved);
        int rc = pthread_create(&h->thread, NULL, helper_main, h);
        pthread_sigmask(SIG_SETMASK, &saved, NULL);
        if (rc) {
            errprintf(err, "cannot start a credential-verifying thread: %s", strerror(rc));
            goto fail;
        }
        h->started = true;
    }
    return p;
fail:
    verify_pool_destroy(p);
    return NULL;
}

void verify_pool_destroy(struct verify_pool *p)
{
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    p->stop = true;
    pthread_cond_broadcast(&p->work);
    pthread_mutex_unlock(&p->mu);
    for (int i = 0; i < p->nhelpers; i++) {
        if (p->helpers[i].started)
            pthread_join(p->helpers[i].thread, NULL);
        sl_auth_destroy(p->helpers[i].auth);
    }
    free(p->helpers);
    pthread_cond_destroy(&p->work);
    pthread_cond_destroy(&p->done);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void verify_pool_run(struct verify_pool *p, struct sl_auth *auth, struct verify_item **items,
                     size_t n)
{
    if (n == 0)
        return;
    if (n == 1 || !p || !p->nhelpers) {
        /* nothing to overlap: no wake-up of the helpers on the way */
        for (size_t i = 0; i < n; i++)
            verify_one(auth, items[i]);
        return;
    }
    pthread_mutex_lock(&p->mu);
    p->items = items;
    p->n = n;
    p->next = 0;
    p->ndone = 0;
    pthread_cond_broadcast(&p->work);
    take_items(p, auth);
    while (p->ndone < p->n)
        pthread_cond_wait(&p->done, &p->mu);
    /* helpers see next == n and go back to waiting */
    p->items = NULL;
    p->n = p->next = p->ndone = 0;
    pthread_mutex_unlock(&p->mu);
}
