/* main.c - slurmish-d: argv, config, spool, then one loop over the link
 * to the ctld, a signalfd and the job supervisors' pidfds. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <glob.h>
#include <zmq.h>

#include "config.h"
#include "noded.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/xmalloc.h"


static void detect_resources(void)
{
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof(set), &set) == 0)
        noded_cpus = CPU_COUNT(&set);
    else
        noded_cpus = (int)sysconf(_SC_NPROCESSORS_ONLN);
    FILE *fp = fopen("/proc/meminfo", "r");
    char line[256];
    while (fp && fgets(line, sizeof(line), fp)) {
        long long kb;
        if (sscanf(line, "MemTotal: %lld kB", &kb) == 1) {
            noded_mem_mb = kb / 1024;
            break;
        }
    }
    if (fp)
        fclose(fp);
    glob_t g;
    if (glob("/dev/nvidia[0-9]*", 0, NULL, &g) == 0) {
        noded_gpus = (int)g.gl_pathc;
        globfree(&g);
    }
}

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: slurmish-d [OPTIONS]\n"
                "The slurmish node daemon: runs jobs on one node.\n\n"
                "  -f, --config=FILE     configuration file (default: $SLURMISH_CONF or %s)\n"
                "  -N, --node=NAME       this node's name (default: the short hostname)\n"
                "  -p, --port=PORT       port for interactive sessions (default: node_daemon.port)\n"
                "  -D, --foreground      do not daemonize; log to stderr\n"
                "  -L, --logfile=FILE    log to FILE\n"
                "  -v, --verbose         more logging (repeat for more)\n"
                "  -h, --help            show this help\n"
                "  -V, --version         show the version\n",
                SL_DEFAULT_CONF);
}

static void handle_signals(struct noded *d)
{
    struct signalfd_siginfo si;
    while (read(d->sigfd, &si, sizeof(si)) == sizeof(si)) {
        switch (si.ssi_signo) {
        case SIGTERM:
        case SIGINT:
            d->stop = true; /* jobs keep running; re-adopted at next start */
            break;
        case SIGHUP:
            log_reopen();
            break;
        case SIGCHLD:
            break; /* supervisors are reaped when their pidfd fires */
        }
    }
}

static void check_kill_deadlines(struct noded *d)
{
    int64_t now = now_s();
    for (struct djob *j = d->jobs; j; j = j->next) {
        if (!j->done && j->kill_at && now >= j->kill_at) {
            pid_t pg = djob_pgid(d, j);
            if (pg) {
                log_info("job %u: still alive after kill_wait, SIGKILL", j->id);
                kill(-pg, SIGKILL);
            }
            j->kill_at = 0;
        }
    }
}

static void loop(struct noded *d)
{
    while (!d->stop) {
        int n = 2;
        for (struct djob *j = d->jobs; j; j = j->next)
            if (j->pidfd >= 0)
                n++;
        zmq_pollitem_t *items = xcalloc((size_t)n, sizeof(*items));
        struct djob **owners = xcalloc((size_t)n, sizeof(*owners));
        items[0].socket = d->sock;
        items[0].events = ZMQ_POLLIN;
        items[1].fd = d->sigfd;
        items[1].events = ZMQ_POLLIN;
        int k = 2;
        for (struct djob *j = d->jobs; j; j = j->next)
            if (j->pidfd >= 0) {
                items[k].fd = j->pidfd;
                items[k].events = ZMQ_POLLIN;
                owners[k++] = j;
            }
        int rc = zmq_poll(items, n, 500);
        if (rc < 0 && errno != EINTR)
            fatal("zmq_poll");
        if (rc > 0) {
            if (items[1].revents & ZMQ_POLLIN)
                handle_signals(d);
            for (int i = 2; i < n; i++)
                if (items[i].revents & ZMQ_POLLIN)
                    jobs_reap(d, owners[i]);
            if (items[0].revents & ZMQ_POLLIN)
                link_recv(d);
        }
        free(items);
        free(owners);
        check_kill_deadlines(d);
        link_tick(d);
        while (waitpid(-1, NULL, WNOHANG) > 0)
            ; /* stray children (e.g. supervisors of forgotten jobs) */
    }
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'f'}, {"node", required_argument, NULL, 'N'},
        {"port", required_argument, NULL, 'p'},   {"foreground", no_argument, NULL, 'D'},
        {"logfile", required_argument, NULL, 'L'}, {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},         {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0}};
    const char *conf_file = NULL, *logfile = NULL, *name = NULL;
    int port = 0, verbose = 0, opt;
    bool foreground = false;
    struct noded ctx, *d = &ctx;
    char *errors = NULL, host[256];
    sl_error_t err;

    while ((opt = getopt_long(argc, argv, "f:N:p:DL:vhV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f': conf_file = optarg; break;
        case 'N': name = optarg; break;
        case 'p':
            port = atoi(optarg);
            if (port <= 0 || port > 65535) {
                fprintf(stderr, "slurmish-d: invalid port: %s\n", optarg);
                return 1;
            }
            break;
        case 'D': foreground = true; break;
        case 'L': logfile = optarg; break;
        case 'v': verbose++; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("slurmish %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "slurmish-d: unexpected argument: %s\n", argv[optind]);
        return 1;
    }
    memset(d, 0, sizeof(*d));
    log_init("slurmish-d", LOG_LVL_INFO);
    d->conf_path = sl_conf_path(conf_file);
    if (sl_conf_load(d->conf_path, &d->conf, &errors) < 0) {
        fprintf(stderr, "%s", errors ? errors : "slurmish-d: cannot load configuration\n");
        free(errors);
        return 1;
    }
    if (!name) {
        if (gethostname(host, sizeof(host)) < 0)
            fatal("gethostname");
        host[sizeof(host) - 1] = 0;
        char *dot = strchr(host, '.');
        if (dot)
            *dot = 0;
        name = host;
    }
    if (!sl_conf_find_node(d->conf, name)) {
        fprintf(stderr, "slurmish-d: node \"%s\" is not in any node group of %s (use -N NAME)\n",
                name, d->conf_path);
        return 1;
    }
    d->name = xstrdup(name);
    char *prog = xasprintf("slurmish-d(%s)", d->name);
    int lvl = log_level_parse(d->conf->log_level ? d->conf->log_level : "info");
    lvl = (lvl < 0 ? LOG_LVL_INFO : lvl) + verbose;
    log_init(prog, lvl > LOG_LVL_TRACE ? LOG_LVL_TRACE : lvl);
    if (logfile && log_set_file(logfile) < 0)
        fatal("cannot open log file %s", logfile);
    d->port = port ? port : d->conf->node_port;
    struct passwd *pw = getpwnam(d->conf->slurm_user ? d->conf->slurm_user : "root");
    d->slurm_uid = pw ? pw->pw_uid : 0;
    d->spool = xasprintf("%s/%s", d->conf->spool_dir, d->name);
    if (sl_mkdir_p(d->conf->spool_dir, 0755, 1) < 0 || sl_mkdir_p(d->spool, 0700, 1) < 0)
        fatal("cannot create spool directory %s", d->spool);
    if (!foreground && sl_daemonize() < 0)
        fatal("cannot daemonize");

    detect_resources();
    if (!(d->auth = sl_auth_create(d->conf->munge_socket, &err)))
        fatalx("%s", err.text);
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    sigaddset(&mask, SIGCHLD);
    sigprocmask(SIG_BLOCK, &mask, NULL);
    d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (d->sigfd < 0)
        fatal("signalfd");
    signal(SIGPIPE, SIG_IGN);
    d->conf_path = xstrdup(d->conf_path);
    jobs_readopt(d);
    if (link_open(d) < 0)
        fatalx("cannot connect to the controller: %s", zmq_strerror(errno));
    log_info("slurmish-d %s started as node %s (%d cpus, %lld MiB, %d gpus detected)",
             PACKAGE_VERSION, d->name, noded_cpus, noded_mem_mb, noded_gpus);
    loop(d);
    log_info("stopping; %s jobs keep running", d->jobs ? "running" : "no");
    link_close(d);
    while (d->jobs) {
        struct djob *j = d->jobs;
        d->jobs = j->next;
        if (j->pidfd >= 0)
            close(j->pidfd);
        free(j->error);
        free(j);
    }
    sl_auth_destroy(d->auth);
    sl_conf_destroy(d->conf);
    free((char *)d->conf_path);
    free(d->spool);
    free(d->name);
    free(prog);
    return 0;
}
