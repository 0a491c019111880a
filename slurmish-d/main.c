/* main.c - slurmish-d: argv, config, spool; create -> loop -> destroy.
 *
 * The loop is one thread: zmq_poll over the DEALER link to the ctld, a
 * signalfd (TERM/INT: stop, leaving jobs running for the next start to
 * re-adopt; HUP: reopen the log, the spawner's too) and one pidfd per job
 * supervisor (a child of the spawner, see spawner.c), with a
 * short timeout for the periodic work (heartbeats, resends, SIGKILL
 * deadlines).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "cgroup.h"
#include "noded.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define TICK_MS 250 /* resolution of the periodic work */

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: slurmish-d [OPTIONS]\n"
            "The slurmish node daemon: runs jobs on one node.\n\n"
            "Options:\n"
            "  -f, --config=FILE     configuration file (default: $SLURMISH_CONF or %s)\n"
            "  -N, --node=NAME       this node's name (default: the short hostname)\n"
            "  -p, --port=PORT       port for interactive sessions, 0 for any free one\n"
            "                        (default: node_daemon.port)\n"
            "  -D, --foreground      do not daemonize; log to stderr unless -L is given\n"
            "  -L, --logfile=FILE    log to FILE (default: node_daemon.log_file when\n"
            "                        daemonized, else stderr); reopened on SIGHUP\n"
            "  -v, --verbose         log more: each -v raises node_daemon.log_level\n"
            "                        (default: controller.log_level) one step\n"
            "                        (error, warning, info, debug, trace)\n"
            "  -h, --help            show this help\n"
            "  -V, --version         show the version\n",
            SL_DEFAULT_CONF);
}

/* An absolute path: the daemon chdirs to / and jobs get SLURMISH_CONF. */
static char *absolute(const char *path)
{
    char cwd[PATH_MAX];
    if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return xstrdup(path);
    return xasprintf("%s/%s", cwd, path);
}

static void handle_signals(struct noded *d)
{
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            log_info("signal %d: stopping", (int)si.ssi_signo);
            d->stop = true;
            break;
        case SIGHUP:
            if (log_reopen() < 0)
                log_err("cannot reopen the log file: %s; logging goes on to the old one",
                        strerror(errno));
            else
                log_debug("SIGHUP: log file reopened");
            spawner_reopen_log(d);
            break;
        default:
            break; /* SIGCHLD: supervisors are collected when their pidfd fires */
        }
    }
}

static void loop(struct noded *d)
{
    zmq_pollitem_t *items = NULL;
    struct djob **owners = NULL;
    struct dstep **sowners = NULL;
    bool *is_conn = NULL;
    size_t cap = 0;

    while (!d->stop) {
        size_t n = 3, k = 3;
        for (struct djob *j = d->jobs; j; j = j->next)
            n += j->pidfd >= 0;
        for (struct dstep *s = d->steps; s; s = s->next)
            n += (s->pidfd >= 0) + (s->conn >= 0);
        if (n > cap) {
            cap = n * 2;
            items = xrealloc(items, cap * sizeof(*items));
            owners = xrealloc(owners, cap * sizeof(*owners));
            sowners = xrealloc(sowners, cap * sizeof(*sowners));
            is_conn = xrealloc(is_conn, cap * sizeof(*is_conn));
        }
        memset(items, 0, n * sizeof(*items));
        memset(owners, 0, n * sizeof(*owners));
        memset(sowners, 0, n * sizeof(*sowners));
        items[0].socket = d->sock;
        items[0].events = ZMQ_POLLIN;
        items[1].fd = d->sigfd;
        items[1].events = ZMQ_POLLIN;
        items[2].socket = d->srv;
        items[2].events = ZMQ_POLLIN;
        for (struct djob *j = d->jobs; j; j = j->next)
            if (j->pidfd >= 0) {
                items[k].fd = j->pidfd;
                items[k].events = ZMQ_POLLIN;
                owners[k++] = j;
            }
        for (struct dstep *s = d->steps; s; s = s->next) {
            if (s->conn >= 0) {
                items[k].fd = s->conn;
                items[k].events = ZMQ_POLLIN;
                is_conn[k] = true;
                sowners[k++] = s;
            }
            if (s->pidfd >= 0) {
                items[k].fd = s->pidfd;
                items[k].events = ZMQ_POLLIN;
                is_conn[k] = false;
                sowners[k++] = s;
            }
        }
        /* port forwarding's sockets come last */
        size_t nf = fwd_poll_count(d);
        if (n + nf > cap) {
            cap = (n + nf) * 2;
            items = xrealloc(items, cap * sizeof(*items));
            owners = xrealloc(owners, cap * sizeof(*owners));
            sowners = xrealloc(sowners, cap * sizeof(*sowners));
            is_conn = xrealloc(is_conn, cap * sizeof(*is_conn));
        }
        nf = fwd_poll_fill(d, items + n);
        int rc = zmq_poll(items, (int)(n + nf), fwd_timeout_ms(d, TICK_MS));
        if (rc < 0 && errno != EINTR)
            fatal("zmq_poll");
        if (rc > 0) {
            if (items[1].revents & ZMQ_POLLIN)
                handle_signals(d);
            /* reaping may send completions but frees no job or step, so owners stay valid */
            for (size_t i = 3; i < n; i++) {
                if (!(items[i].revents & (ZMQ_POLLIN | ZMQ_POLLERR)))
                    continue;
                if (owners[i])
                    jobs_reap(d, owners[i]);
                else if (sowners[i] && is_conn[i])
                    steps_conn_event(d, sowners[i]);
                else if (sowners[i] && sowners[i]->pidfd == items[i].fd)
                    steps_reap(d, sowners[i]);
            }
            fwd_poll_events(d, items + n);
            if (items[0].revents & ZMQ_POLLIN)
                link_recv(d);
            if (items[2].revents & ZMQ_POLLIN)
                steps_recv(d);
        }
        fwd_flush(d);
        jobs_tick(d);
        steps_tick(d);
        link_tick(d);
        /* our children: step supervisors (their status is in the spool) and
         * the job spawner; job supervisors are the spawner's */
        pid_t w;
        int st;
        while ((w = waitpid(-1, &st, WNOHANG)) > 0)
            spawner_reaped(d, w, st);
    }
    free(items);
    free(owners);
    free(sowners);
    free(is_conn);
}

static int setup_signals(struct noded *d)
{
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
        return -1;
    signal(SIGPIPE, SIG_IGN);
    d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    return d->sigfd < 0 ? -1 : 0;
}

static void noded_destroy(struct noded *d)
{
    steps_close(d);
    link_close(d);
    spawner_stop(d);
    while (d->jobs) {
        struct djob *j = d->jobs;
        d->jobs = j->next;
        djob_free(j);
    }
    if (d->sigfd >= 0)
        close(d->sigfd);
    sl_auth_destroy(d->auth);
    if (d->conf && d->conf->enforce_memory)
        cg_node_cleanup(d->name, d->spool);
    sl_conf_destroy(d->conf);
    free(d->conf_path);
    free(d->spool);
    free(d->name);
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {{"config", required_argument, NULL, 'f'},
                                             {"node", required_argument, NULL, 'N'},
                                             {"port", required_argument, NULL, 'p'},
                                             {"foreground", no_argument, NULL, 'D'},
                                             {"logfile", required_argument, NULL, 'L'},
                                             {"verbose", no_argument, NULL, 'v'},
                                             {"help", no_argument, NULL, 'h'},
                                             {"version", no_argument, NULL, 'V'},
                                             {NULL, 0, NULL, 0}};
    const char *conf_file = NULL, *name = NULL;
    char *logfile = NULL, *errors = NULL, *prog, *end, host[256];
    int port = -1, verbose = 0, opt, lvl;
    bool foreground = false;
    struct noded ctx = {.sigfd = -1, .spawner_fd = -1}, *d = &ctx;
    sl_error_t err;

    while ((opt = getopt_long(argc, argv, "f:N:p:DL:vhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            conf_file = optarg;
            break;
        case 'N':
            name = optarg;
            break;
        case 'p':
            errno = 0;
            port = (int)strtol(optarg, &end, 10);
            if (errno || *end || port < 0 || port > 65535) {
                fprintf(stderr, "slurmish-d: invalid port: %s\n", optarg);
                return 1;
            }
            break;
        case 'D':
            foreground = true;
            break;
        case 'L':
            logfile = optarg;
            break;
        case 'v':
            verbose++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            printf("slurmish %s\n", PACKAGE_VERSION);
            return 0;
        default:
            usage(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "slurmish-d: unexpected argument: %s\n", argv[optind]);
        return 1;
    }
    log_init("slurmish-d", LOG_LVL_INFO);
    d->conf_path = absolute(sl_conf_path(conf_file));
    if (sl_conf_load(d->conf_path, &d->conf, &errors) < 0) {
        fprintf(stderr, "%s", errors ? errors : "slurmish-d: cannot load configuration\n");
        free(errors);
        free(d->conf_path);
        return 1;
    }
    if (!name) {
        if (gethostname(host, sizeof(host)) < 0)
            fatal("gethostname");
        host[sizeof(host) - 1] = 0;
        host[strcspn(host, ".")] = 0;
        name = host;
    }
    if (!sl_conf_find_node(d->conf, name)) {
        fprintf(stderr, "slurmish-d: node \"%s\" is not in any node group of %s%s\n", name,
                d->conf_path, name == host ? " (name this node with -N NAME)" : "");
        noded_destroy(d);
        return 1;
    }
    d->name = xstrdup(name);
    /* several daemons may share a host and a log: say which node speaks */
    prog = xasprintf("slurmish-d(%s)", d->name);
    lvl = log_level_from(d->conf->node_log_level ? d->conf->node_log_level : d->conf->log_level,
                         verbose);
    log_init(prog, lvl);
    if (!logfile && !foreground)
        logfile = d->conf->node_log_file;
    if (logfile) {
        logfile = absolute(logfile); /* reopened on SIGHUP, after chdir("/") */
        if (log_set_file(logfile) < 0)
            fatal("cannot open log file %s", logfile);
    }
    d->port = port >= 0 ? port : d->conf->node_port;
    if (d->conf->enforce_memory)
        cg_probe(); /* once, here: the job supervisors are forks and inherit it */
    struct passwd *pw = getpwnam(d->conf->slurm_user ? d->conf->slurm_user : "root");
    d->slurm_uid = pw ? pw->pw_uid : 0;
    d->spool = xasprintf("%s/%s", d->conf->spool_dir, d->name);
    if (sl_mkdir_p(d->conf->spool_dir, 0755, 0) < 0)
        fatal("cannot create spool directory %s", d->conf->spool_dir);
    if (sl_mkdir_p(d->spool, 0700, 1) < 0)
        fatal("cannot create spool directory %s", d->spool);
    if (!foreground && sl_daemonize() < 0)
        fatal("cannot daemonize");
    /* the job spawner: forked now, while the daemon is small and has one
     * thread (no libzmq, no munge context yet), and after daemonizing, so
     * its parent is the daemon for good (it dies with it) */
    if (d->conf->enforce_memory)
        cg_spares_sweep(d->name, d->spool, 0); /* left by a spawner killed with us */
    if (spawner_start(d) < 0)
        fatal("cannot start the job spawner");

    resources_detect(&d->res);
    if (!(d->auth = sl_auth_create(d->conf->munge_socket, &err)))
        fatalx("%s", err.text);
    if (setup_signals(d) < 0)
        fatal("signalfd");
    if (link_open(d) < 0)
        fatalx("cannot connect to the controller: %s", zmq_strerror(errno));
    if (steps_open(d) < 0)
        fatalx("cannot open the session socket on port %d", d->port);
    jobs_readopt(d);
    steps_readopt(d);
    log_info("slurmish-d %s started as node %s (%d cpus, %lld MiB, %d gpus detected)",
             PACKAGE_VERSION, d->name, d->res.cpus, d->res.memory_mb, d->res.gpus);
    loop(d);
    log_info("stopped; %s", d->jobs || d->steps
                                ? "jobs and sessions keep running and are re-adopted at the next start"
                                : "no jobs");
    noded_destroy(d);
    free(prog);
    free(logfile);
    return 0;
}
