/* munge.c - credential encode/decode through libmunge; see auth.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <munge.h>

#include "auth/auth.h"

struct sl_auth {
    /* Separate contexts: decoding writes the credential's settings into its
     * context (and a refused one leaves invalid ones), which must never leak
     * into the credentials we encode. */
    munge_ctx_t ctx;  /* encode */
    munge_ctx_t dctx; /* decode */
};

struct sl_auth *sl_auth_create(const char *socket_path, sl_error_t *err)
{
    struct sl_auth *a = calloc(1, sizeof(*a));
    if (!a) {
        errprintf(err, "out of memory");
        return NULL;
    }
    if (!(a->ctx = munge_ctx_create()) || !(a->dctx = munge_ctx_create())) {
        sl_auth_destroy(a);
        errprintf(err, "munge_ctx_create failed");
        return NULL;
    }
    if (socket_path && *socket_path) {
        munge_err_t e = munge_ctx_set(a->ctx, MUNGE_OPT_SOCKET, socket_path);
        if (e == EMUNGE_SUCCESS)
            e = munge_ctx_set(a->dctx, MUNGE_OPT_SOCKET, socket_path);
        if (e != EMUNGE_SUCCESS) {
            errprintf(err, "munge socket %s: %s", socket_path, munge_ctx_strerror(a->ctx));
            sl_auth_destroy(a);
            return NULL;
        }
    }
    return a;
}

void sl_auth_destroy(struct sl_auth *a)
{
    if (a) {
        int saved = errno;
        if (a->ctx)
            munge_ctx_destroy(a->ctx);
        if (a->dctx)
            munge_ctx_destroy(a->dctx);
        free(a);
        errno = saved;
    }
}

char *sl_auth_encode(struct sl_auth *a, const void *payload, size_t len, sl_error_t *err)
{
    char *cred = NULL;
    munge_err_t e = munge_encode(&cred, a->ctx, payload, (int)len);
    if (e != EMUNGE_SUCCESS) {
        errprintf(err, "munge encode failed: %s", munge_ctx_strerror(a->ctx));
        free(cred);
        errno = EPERM;
        return NULL;
    }
    return cred;
}

char *sl_auth_encode_for_uid(struct sl_auth *a, const void *payload, size_t len, uid_t uid,
                             sl_error_t *err)
{
    /* a copy of the encode context: the restriction must not stick to the
     * credentials of the requests this side signs */
    munge_ctx_t ctx = munge_ctx_copy(a->ctx);
    char *cred = NULL;
    if (!ctx) {
        errprintf(err, "munge_ctx_copy failed");
        return NULL;
    }
    munge_err_t e = munge_ctx_set(ctx, MUNGE_OPT_UID_RESTRICTION, uid);
    if (e == EMUNGE_SUCCESS)
        e = munge_encode(&cred, ctx, payload, (int)len);
    if (e != EMUNGE_SUCCESS) {
        errprintf(err, "munge encode for uid %u failed: %s", (unsigned)uid,
                  munge_ctx_strerror(ctx));
        free(cred);
        cred = NULL;
        errno = EPERM;
    }
    munge_ctx_destroy(ctx);
    return cred;
}

int sl_auth_decode(struct sl_auth *a, const char *cred, void **payload, size_t *len, uid_t *uid,
                   gid_t *gid, sl_error_t *err)
{
    void *buf = NULL;
    int n = 0;
    munge_err_t e = munge_decode(cred, a->dctx, &buf, &n, uid, gid);
    if (e != EMUNGE_SUCCESS) {
        free(buf);
        errno = EPERM;
        return errprintf(err, "munge decode failed: %s", munge_strerror(e));
    }
    /* Hand back a NUL-terminated copy so JSON parsing can use it directly. */
    char *p = malloc((size_t)n + 1);
    if (!p) {
        free(buf);
        errno = ENOMEM;
        return errprintf(err, "out of memory");
    }
    if (n > 0)
        memcpy(p, buf, (size_t)n);
    p[n] = '\0';
    free(buf);
    *payload = p;
    *len = (size_t)n;
    return 0;
}
