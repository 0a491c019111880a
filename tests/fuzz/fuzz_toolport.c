/* fuzz_toolport.c - the ctld's tools listener (slurmish-ctld/toolport.c)
 * reading what a client sends: the input is the client's whole byte
 * stream (greeting, READY, commands, messages), written into a real Unix
 * socket connection to a real listener before the ctld side accepts it.
 *
 * Properties checked beyond "no crash, no leak":
 *   - every request handed on is NUL-terminated and within the message
 *     limit (twice the request limit, as the ROUTER's ZMQ_MAXMSGSIZE);
 *   - the listener never stalls on a stream that has ended: after a few
 *     rounds of I/O every connection is gone and nothing is pending.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "fuzz.h"
#include "proto/proto.h"
#include "toolport.h"
#include "util/log.h"

#define LIMIT (64 * 1024)

static struct toolport *tp;
static char path[108];

static void close_listener(void)
{
    toolport_close(tp); /* unlinks the socket */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    sl_error_t err;
    zmq_pollitem_t pi[8];
    int fd;

    if (!tp) {
        log_set_level(LOG_LVL_ERROR); /* each refused peer is a warning */
        snprintf(path, sizeof(path), "/tmp/slurmish-fuzz-toolport-%d.sock", (int)getpid());
        if (!(tp = toolport_open(NULL, 0, path, &err))) {
            fprintf(stderr, "%s\n", err.text);
            abort();
        }
        atexit(close_listener);
    }
    if (size > LIMIT) /* stays within the socket's buffer: one write, no reader needed */
        size = LIMIT;
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    strcpy(sa.sun_path, path);
    if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        abort();
    if (size && write(fd, data, size) != (ssize_t)size)
        abort();
    shutdown(fd, SHUT_WR); /* the ctld's greeting, PONGs and ERROR still land in fd */

    for (int round = 0; round < 64; round++) {
        size_t n = toolport_poll_items(tp, pi);
        if (n > 8)
            FUZZ_BUG("%zu poll items for one connection", n);
        for (size_t i = 0; i < n; i++) /* as poll would say: everything is ready */
            pi[i].revents = (short)(round == 0 || i > 0 ? pi[i].events : 0);
        toolport_io(tp, pi, n);
        char *payload;
        size_t len;
        int nframes;
        uint64_t conn;
        bool delim;
        while (toolport_next(tp, &payload, &len, &nframes, &conn, &delim) == 0) {
            if (payload[len] != '\0')
                FUZZ_BUG("a request of %zu bytes not NUL-terminated", len);
            if (len > 2 * (size_t)SL_MSG_MAX_BYTES)
                FUZZ_BUG("a request of %zu bytes, above the limit", len);
            if (nframes < 0 || nframes > 64)
                FUZZ_BUG("a request of %d frames", nframes);
            /* a reply, as the loop would send one */
            toolport_send(tp, conn, delim, strdup("{}"), 2, NULL, 0);
            free(payload);
        }
        if (toolport_npoll(tp) == 2 && !toolport_pending(tp))
            break; /* listeners only: the connection is gone */
    }
    if (toolport_npoll(tp) != 2 || toolport_pending(tp))
        FUZZ_BUG("a connection outlived its ended stream (%zu poll items)", toolport_npoll(tp));
    close(fd);
    return 0;
}
