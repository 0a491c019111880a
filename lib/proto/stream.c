/* stream.c - see stream.h */
#include <stdlib.h>
#include <string.h>

#include "proto/stream.h"
#include "util/xmalloc.h"

static void put32(char *p, uint32_t v)
{
    p[0] = (char)(v >> 24);
    p[1] = (char)(v >> 16);
    p[2] = (char)(v >> 8);
    p[3] = (char)v;
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

size_t sl_frame_encode(const struct sl_frame *f, char *buf)
{
    buf[0] = (char)f->kind;
    put32(buf + 1, f->job_id);
    put32(buf + 5, f->step_id);
    put32(buf + 9, f->a);
    put32(buf + 13, f->b);
    if (f->len)
        memcpy(buf + SL_FRAME_HDR, f->data, f->len);
    return SL_FRAME_HDR + f->len;
}

char *sl_frame_encode_alloc(const struct sl_frame *f, size_t *len)
{
    char *buf = xmalloc(SL_FRAME_HDR + f->len);
    *len = sl_frame_encode(f, buf);
    return buf;
}

static int known_kind(int k)
{
    return strchr(SL_FR_KINDS, k) != NULL && k != 0;
}

/* kinds that carry data */
static int has_data(int k)
{
    return k == SL_FR_STDIN || k == SL_FR_OUTPUT || k == SL_FR_NOTICE || k == SL_FR_FWD_DATA ||
           k == SL_FR_FWD_OPENED;
}

int sl_frame_decode(const void *buf, size_t len, struct sl_frame *f, sl_error_t *err)
{
    const unsigned char *p = buf;

    memset(f, 0, sizeof(*f));
    if (len < SL_FRAME_HDR)
        return errprintf(err, "stream frame of %zu bytes is shorter than its %d-byte header",
                         len, SL_FRAME_HDR);
    if (!known_kind(p[0]))
        return errprintf(err, "unknown stream frame kind 0x%02x", p[0]);
    f->kind = p[0];
    f->job_id = get32(p + 1);
    f->step_id = get32(p + 5);
    f->a = get32(p + 9);
    f->b = get32(p + 13);
    f->len = len - SL_FRAME_HDR;
    f->data = (const char *)p + SL_FRAME_HDR;
    if (f->len && !has_data(f->kind))
        return errprintf(err, "stream frame '%c' carries %zu unexpected data bytes", f->kind,
                         f->len);
    if (f->len > SL_FRAME_MAX_DATA)
        return errprintf(err, "stream frame '%c' carries %zu bytes, more than %d", f->kind,
                         f->len, SL_FRAME_MAX_DATA);
    if (f->kind == SL_FR_RESIZE && (f->a == 0 || f->b == 0 || f->a > 10000 || f->b > 10000))
        return errprintf(err, "terminal size %ux%u is out of range", f->a, f->b);
    if (f->kind == SL_FR_SIGNAL && (f->a == 0 || f->a > 64))
        return errprintf(err, "signal %u is out of range", f->a);
    if (f->kind == SL_FR_OUTPUT && (f->b & ~(uint32_t)SL_FR_REPLAY_FLAG) != 1 &&
        (f->b & ~(uint32_t)SL_FR_REPLAY_FLAG) != 2)
        return errprintf(err, "output stream %u is neither stdout (1) nor stderr (2)", f->b);
    if (f->kind == SL_FR_FWD_OPEN && (f->b == 0 || f->b > 65535))
        return errprintf(err, "forwarded port %u is out of range", f->b);
    if (f->kind == SL_FR_FWD_DATA && f->len == 0)
        return errprintf(err, "forward data frame carries no data");
    if (f->kind == SL_FR_FWD_ACK && f->b == 0)
        return errprintf(err, "forward ack of 0 bytes");
    return 0;
}
