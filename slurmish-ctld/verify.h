/* verify.h - munge-verifies the requests of one loop turn concurrently.
 *
 * Verifying a request is a round trip to munged (a new socket each time),
 * about 100-250 us of waiting, against a few microseconds for handling a
 * submission: done one after the other it bounds the pipelined API path
 * at a few thousand requests per second.  munged is multi-threaded, so the
 * ctld keeps a few threads that do nothing but sl_msg_verify() (munge
 * decode, then parse the body) on the requests a turn drained, while the
 * loop thread verifies its share too.  The threads touch no ctld state: the
 * loop waits for the whole batch, then dispatches the requests in the
 * order they arrived, single-threaded as before.  Replay detection stays
 * in munged; every request is still decoded on its own.
 */
#ifndef SL_CTLD_VERIFY_H
#define SL_CTLD_VERIFY_H

#include <stddef.h>

#include "proto/proto.h"
#include "util/error.h"

struct sl_auth;
struct verify_pool;

struct verify_item {
    struct sl_msg *msg; /* decoded request with its credential */
    int rc;             /* out: 0, or the code to refuse it with */
    sl_error_t err;     /* out: why, when rc != 0 */
    double seconds;     /* out: time spent verifying it */
};

/* nthreads helpers, each with its own munge context (a context is not
 * shared between threads).  0 threads: the loop verifies alone. */
struct verify_pool *verify_pool_create(const char *munge_socket, int nthreads, sl_error_t *err);
void verify_pool_destroy(struct verify_pool *p);

/* Verify items[0..n) with the helpers and, on the calling thread, with
 * auth; returns when every item has its result. */
void verify_pool_run(struct verify_pool *p, struct sl_auth *auth, struct verify_item **items,
                     size_t n);

#endif
