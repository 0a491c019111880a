/* fuzz_zmtp.c - the tools' ZMTP client (lib/proto/zmtp.c) reading what a
 * peer sends: the input is the whole byte stream from the "ctld" (its
 * greeting, READY, commands and messages), written into a socketpair
 * whose far end then stops sending.
 *
 * Properties checked beyond "no crash, no leak":
 *   - the client never waits once the stream has ended: every run ends in
 *     an error other than a timeout (the deadline is far away);
 *   - a message received holds at most SL_ZMTP_FRAMES_MAX frames and the
 *     byte limit given, each frame inside the message's buffer.
 */
#include "config.h"

#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "proto/zmtp.h"

#define LIMIT (64 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int sv[2], rc;
    sl_error_t err;
    struct sl_zmtp *z;

    if (size > LIMIT) /* stays within the socket's buffer: one write, no reader needed */
        size = LIMIT;
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        abort();
    if (size && write(sv[1], data, size) != (ssize_t)size)
        abort();
    shutdown(sv[1], SHUT_WR); /* what we send (greeting, READY, PONG) still lands in sv[1] */
    long long deadline = sl_zmtp_now_ms() + 60000;
    z = sl_zmtp_attach(sv[0], "DEALER", "ROUTER DEALER", &rc, &err);
    while (z) {
        struct sl_zmtp_msg m;
        size_t total = 0;
        rc = sl_zmtp_recv(z, LIMIT, deadline, &m, &err);
        if (rc != SL_ZMTP_OK)
            break;
        if (m.nframes < 1 || m.nframes > SL_ZMTP_FRAMES_MAX)
            FUZZ_BUG("a message of %d frames", m.nframes);
        for (int i = 0; i < m.nframes; i++) {
            if (m.frame[i].iov_len &&
                ((uint8_t *)m.frame[i].iov_base < m.buf ||
                 (uint8_t *)m.frame[i].iov_base + m.frame[i].iov_len > m.buf + LIMIT))
                FUZZ_BUG("frame %d lies outside the message's buffer", i);
            total += m.frame[i].iov_len;
        }
        if (total > LIMIT)
            FUZZ_BUG("a message of %zu bytes, above the limit %d", total, LIMIT);
        sl_zmtp_msg_clear(&m);
    }
    if (rc == SL_ZMTP_ETIME)
        FUZZ_BUG("waited on a stream that had ended: %s", err.text);
    sl_zmtp_close(z);
    close(sv[1]);
    return 0;
}
