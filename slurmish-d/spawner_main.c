/* spawner_main.c - slurmish-spawner, the job spawner as a program of its own.
 *
 * slurmish-d starts it once (spawner.c: spawner_start forks and execs it)
 * and it forks every job's supervisor.  As a fork of the daemon, the
 * spawner held the daemon's address space: libzmq and what it links
 * (libstdc++, libsodium, Kerberos, OpenPGM, NORM...), about 130 mappings.
 * Each supervisor copied those at its fork and tore them down at its exit,
 * which was about half of a supervisor's CPU.  This program links only the
 * code the supervisors run (logging, cgroups, JSON), so each of its forks
 * is a small one.
 *
 *   slurmish-spawner SOCKET_FD DAEMON_PID CONFIG NODE SPOOL ENFORCE_MEMORY
 *                    LOG_LEVEL [LOG_FILE]
 *
 * It is not meant to be run by hand: the daemon passes its end of their
 * socketpair and the values the supervisors use, as it resolved them at
 * its start (enforce_memory is all they read of the configuration).  The
 * file is not read again here, so an edit of it since the daemon started
 * cannot make the two disagree (about the spool, say).
 */
#include <stdio.h>

#include "cgroup.h"
#include "noded.h"
#include "util/log.h"
#include "util/parse.h"
#include "util/xmalloc.h"

int main(int argc, char **argv)
{
    struct noded ctx = {.sigfd = -1, .spawner_fd = -1}, *d = &ctx;
    struct sl_conf conf = {0};
    long sock, daemon_pid, enforce, lvl;
    sl_error_t err;

    if (argc < 8 || argc > 9 || parse_int_range(argv[1], 3, 1 << 20, &sock, &err) < 0 ||
        parse_int_range(argv[2], 1, 1L << 30, &daemon_pid, &err) < 0 ||
        parse_int_range(argv[6], 0, 1, &enforce, &err) < 0 ||
        parse_int_range(argv[7], 0, 100, &lvl, &err) < 0) {
        fprintf(stderr, "usage: slurmish-spawner SOCKET_FD DAEMON_PID CONFIG NODE SPOOL "
                        "ENFORCE_MEMORY LOG_LEVEL [LOG_FILE]\n"
                        "(slurmish-d starts it; it is not run by hand)\n");
        return 2;
    }
    conf.enforce_memory = enforce != 0;
    d->conf = &conf;
    d->conf_path = argv[3];
    d->name = argv[4];
    d->spool = argv[5];
    char *prog = xasprintf("slurmish-d(%s)", d->name); /* the daemon's name in its log */
    log_init(prog, (int)lvl);
    if (argc == 9 && log_set_file(argv[8]) < 0)
        fatal("spawner: cannot open log file %s", argv[8]);
    if (conf.enforce_memory)
        cg_probe(); /* as the daemon did: the supervisors are our forks */
    spawner_main(d, (int)sock, (pid_t)daemon_pid);
}
