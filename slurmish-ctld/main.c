/* main.c - slurmish-ctld: parse argv, load the config, create each
 * subsystem in order, run the loop, destroy in reverse. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zmq.h>

#include "config.h"
#include "budget.h"
#include "ctld.h"
#include "metrics.h"
#include "persist.h"
#include "power.h"
#include "store/db.h"
#include "toolport.h"
#include "util/daemon.h"
#include "util/log.h"
#include "util/xmalloc.h"

static struct ctld *the_ctld; /* for the signal handler only */

static void on_stop(int sig)
{
    (void)sig;
    if (the_ctld)
        the_ctld->shutdown = true;
}

static void on_hup(int sig)
{
    (void)sig;
    /* the loop reopens the log and reloads the configuration (neither is
     * async-signal-safe) */
    if (the_ctld)
        the_ctld->reload_requested = 1;
}

static void usage(FILE *fp)
{
    fprintf(fp,
            "Usage: slurmish-ctld [OPTIONS]\n"
            "The slurmish controller daemon.\n\n"
            "Options:\n"
            "  -f, --config=FILE       configuration file (default: $SLURMISH_CONF or %s)\n"
            "  -D, --foreground        do not daemonize; log to stderr unless -L is given\n"
            "  -L, --logfile=FILE      log to FILE (default: controller.log_file when\n"
            "                          daemonized, else stderr); reopened on SIGHUP\n"
            "  -v, --verbose           log more: each -v raises controller.log_level\n"
            "                          one step (error, warning, info, debug, trace)\n"
            "  -t, --check-config      validate the configuration, print every error, exit\n"
            "  -h, --help              show this help\n"
            "  -V, --version           show the version\n",
            SL_DEFAULT_CONF);
}

static int ctld_bind(struct ctld *c)
{
    char ep[300];
    int one = 1, zero = 0, hwm = 100000;
    int64_t maxsz = 2 * (int64_t)SL_MSG_MAX_BYTES;

    c->zctx = zmq_ctx_new();
    c->router = zmq_socket(c->zctx, ZMQ_ROUTER);
    if (!c->router)
        fatal("zmq_socket");
    zmq_setsockopt(c->router, ZMQ_ROUTER_MANDATORY, &one, sizeof(one));
    zmq_setsockopt(c->router, ZMQ_LINGER, &zero, sizeof(zero));
    zmq_setsockopt(c->router, ZMQ_SNDHWM, &hwm, sizeof(hwm));
    zmq_setsockopt(c->router, ZMQ_RCVHWM, &hwm, sizeof(hwm));
    /* Oversized messages up to 2x the limit get an error reply; beyond
     * that ZeroMQ drops the connection before buffering them. */
    zmq_setsockopt(c->router, ZMQ_MAXMSGSIZE, &maxsz, sizeof(maxsz));
    snprintf(ep, sizeof(ep), "tcp://%s:%d", c->conf->ctld_host, c->conf->ctld_port);
    if (zmq_bind(c->router, ep) < 0) {
        log_err("cannot listen on %s: %s", ep, zmq_strerror(errno));
        return -1;
    }
    if (c->conf->ctld_tools_port || c->conf->ctld_tools_socket) {
        sl_error_t err;
        if (!(c->tools = toolport_open(c->conf->ctld_host, c->conf->ctld_tools_port,
                                       c->conf->ctld_tools_socket, &err))) {
            log_err("%s", err.text);
            return -1;
        }
        char port[16] = "";
        if (c->conf->ctld_tools_port)
            snprintf(port, sizeof(port), "port %d", c->conf->ctld_tools_port);
        log_info("listening on %s (ZeroMQ), and for tools on %s%s%s", ep, port,
                 c->conf->ctld_tools_port && c->conf->ctld_tools_socket ? " and " : "",
                 c->conf->ctld_tools_socket ? c->conf->ctld_tools_socket : "");
        return 0;
    }
    log_info("listening on %s", ep);
    return 0;
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'f'}, {"foreground", no_argument, NULL, 'D'},
        {"logfile", required_argument, NULL, 'L'}, {"verbose", no_argument, NULL, 'v'},
        {"check-config", no_argument, NULL, 't'}, {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},     {NULL, 0, NULL, 0}};
    const char *conf_file = NULL, *logfile = NULL;
    bool foreground = false, check_only = false;
    int verbose = 0, opt;
    struct ctld ctx, *c = &ctx;
    char *errors = NULL, *dbpath;
    sl_error_t err;

    /* Replies to big queries (100+ MB) always in their own mappings: they
     * grow by mremap, not by copying, and go back to the system when
     * freed.  A fixed threshold also stops glibc from raising it after
     * the first big reply, which would put the next ones on the heap. */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);

    while ((opt = getopt_long(argc, argv, "f:DL:vthV", longopts, NULL)) != -1) {
        switch (opt) {
        case 'f': conf_file = optarg; break;
        case 'D': foreground = true; break;
        case 'L': logfile = optarg; break;
        case 'v': verbose++; break;
        case 't': check_only = true; break;
        case 'h': usage(stdout); return 0;
        case 'V': printf("slurmish %s\n", PACKAGE_VERSION); return 0;
        default: usage(stderr); return 1;
        }
    }
    if (optind < argc) {
        if (check_only && optind == argc - 1) {
            conf_file = argv[optind];
        } else {
            fprintf(stderr, "slurmish-ctld: unexpected argument: %s\n", argv[optind]);
            return 1;
        }
    }
    log_init("slurmish-ctld", LOG_LVL_INFO);
    memset(c, 0, sizeof(*c));
    c->conf_path = sl_conf_path(conf_file);
    if (sl_conf_load(c->conf_path, &c->conf, &errors) < 0) {
        fprintf(stderr, "%s", errors ? errors : "slurmish-ctld: cannot load configuration\n");
        free(errors);
        return 1;
    }
    if (check_only) {
        printf("%s: configuration OK\n", c->conf_path);
        sl_conf_destroy(c->conf);
        return 0;
    }
    c->log_verbose = verbose;
    log_set_level(log_level_from(c->conf->log_level, verbose));
    if (!logfile && !foreground)
        logfile = c->conf->log_file;
    if (logfile) {
        /* absolute: it is reopened on SIGHUP, after the daemon's chdir("/") */
        char cwd[PATH_MAX];
        char *abs = logfile[0] != '/' && getcwd(cwd, sizeof(cwd)) ? xasprintf("%s/%s", cwd, logfile)
                                                                  : xstrdup(logfile);
        if (log_set_file(abs) < 0)
            fatal("cannot open log file %s", abs);
        free(abs);
    }
    if (!foreground && sl_daemonize() < 0)
        fatal("cannot daemonize");

    struct passwd *pw = getpwnam(c->conf->slurm_user ? c->conf->slurm_user : "root");
    c->slurm_uid = pw ? pw->pw_uid : 0;
    c->start_time = ctld_now();
    {
        /* absolute: the daemon chdirs to / and edits write the file back */
        char *abs = realpath(c->conf_path, NULL);
        c->conf_path = abs ? abs : xstrdup(c->conf_path);
        FILE *fp = fopen(c->conf_path, "re");
        if (fp) {
            size_t cap = 1 << 16, len = 0, n;
            c->conf_text = xmalloc(cap + 1);
            while ((n = fread(c->conf_text + len, 1, cap - len, fp)) > 0)
                if ((len += n) == cap)
                    c->conf_text = xrealloc(c->conf_text, (cap *= 2) + 1);
            c->conf_text[len] = 0;
            fclose(fp);
        }
    }
    job_table_init(&c->jobs);
    c->jobs.cost_since = c->start_time; /* metrics: cost incurred while this ctld runs */
    c->next_job_id = 1;

    if (sl_mkdir_p(c->conf->state_dir, 0700, 0) < 0)
        fatal("cannot create state directory %s", c->conf->state_dir);
    /* the database holds every user's scripts and environments: nobody but
     * the daemon user may look inside, whoever created the directory */
    struct stat sd;
    if (stat(c->conf->state_dir, &sd) == 0 && (sd.st_mode & 077)) {
        if (chmod(c->conf->state_dir, 0700) < 0)
            fatal("state directory %s is open to other users (mode %03o) and cannot be closed",
                  c->conf->state_dir, (unsigned)(sd.st_mode & 0777));
        log_warn("state directory %s was open to other users (mode %03o); it is 0700 now",
                 c->conf->state_dir, (unsigned)(sd.st_mode & 0777));
    }
    if (stat(c->conf->state_dir, &sd) == 0 && sd.st_uid != geteuid())
        log_warn("state directory %s belongs to uid %u, not to the daemon's uid %u",
                 c->conf->state_dir, (unsigned)sd.st_uid, (unsigned)geteuid());
    if (!(c->auth = sl_auth_create(c->conf->munge_socket, &err)))
        fatalx("%s", err.text);
    nodes_create(c);
    dbpath = xasprintf("%s/slurmish.db", c->conf->state_dir);
    if (persist_open(c, dbpath, &err) < 0 || persist_load(c, &err) < 0)
        fatalx("state database %s: %s", dbpath, err.text);
    free(dbpath);
    char perr[512];
    if (power_init(c, perr, sizeof(perr)) < 0)
        fatalx("%s", perr);
    if (sl_db_in_txn(c->db) && sl_db_commit(c->db, &err) < 0)
        fatalx("state database: %s", err.text);
    {
        /* a descriptor per tool connection (toolport.c takes up to 1,024)
         * besides SQLite's, ZeroMQ's and the metrics endpoint's */
        struct rlimit rl;
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max &&
            rl.rlim_cur < 65536) {
            rl.rlim_cur = rl.rlim_max < 65536 ? rl.rlim_max : 65536;
            setrlimit(RLIMIT_NOFILE, &rl);
        }
    }
    if (ctld_bind(c) < 0)
        return 1;
    if (metrics_create(c, perr, sizeof(perr)) < 0)
        fatalx("%s", perr);

    the_ctld = c;
    struct sigaction sa = {.sa_handler = on_stop};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    c->sched_needed = true;
    log_debug("configuration %s: log level %s%s, state in %s, %zu node groups, %zu partitions",
              c->conf_path, c->conf->log_level, verbose ? " raised by -v" : "", c->conf->state_dir,
              c->conf->group_count, c->conf->part_count);
    log_info("slurmish-ctld %s started (cluster %s, %d nodes, %d partitions)", PACKAGE_VERSION,
             c->conf->cluster_name, c->nnodes, c->nparts);
    ctld_loop(c);
    log_info("shutting down");

    metrics_destroy(c);
    toolport_close(c->tools);
    zmq_close(c->router);
    zmq_ctx_term(c->zctx);
    power_fini(c);
    budget_free(c);
    persist_close(c);
    job_table_free(&c->jobs);
    nodes_destroy(c);
    sl_auth_destroy(c->auth);
    free(c->outq);
    sl_conf_destroy(c->conf);
    free((char *)c->conf_path);
    free(c->conf_text);
    return 0;
}
