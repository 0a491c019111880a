/* noded.h - the node daemon's context and its modules.
 *
 * slurmish-d is one thread and one loop (main.c): zmq_poll over the
 * DEALER link to the ctld, a signalfd, and one pidfd per job supervisor.
 * link.c speaks to the ctld (register, heartbeat, completions, requests);
 * launch.c starts batch jobs under a supervisor process; jobs.c keeps the
 * table of local jobs and re-adopts them from the spool after a restart.
 */
#ifndef NODED_H
#define NODED_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include "conf/conf.h"
#include "proto/proto.h"

struct djob {
    uint32_t id;
    pid_t sup_pid;          /* supervisor */
    long long sup_start;    /* its start time (/proc/PID/stat field 22), to spot PID reuse */
    int pidfd;              /* readable when the supervisor exits; -1 when done */
    pid_t pgid;             /* the batch script's pid = its process group (0: not known) */
    bool done;              /* status is known */
    int status;             /* raw wait status of the batch script */
    int64_t end_time;
    char *error;            /* launch error, if any */
    uint64_t complete_seq;  /* seq of the last job_complete sent, 0 if none */
    int64_t complete_sent;
    int64_t kill_at;        /* SIGKILL deadline after a terminate, 0 if none */
    struct djob *next;
};

struct noded {
    struct sl_conf *conf;
    const char *conf_path;
    char *name;
    int port;
    char *spool;            /* <spool_dir>/<name> */
    void *zctx, *sock;
    struct sl_auth *auth;
    uid_t slurm_uid;
    uint64_t seq;
    bool registered;
    uint64_t register_seq;
    int64_t last_register, last_heartbeat, last_reply;
    bool ctld_quiet_logged;
    struct djob *jobs;
    int sigfd;
    bool stop;
};

/* jobs.c */
struct djob *djob_find(struct noded *d, uint32_t id);
struct djob *djob_add(struct noded *d, uint32_t id);
void djob_forget(struct noded *d, struct djob *j); /* removes spool dir, frees */
void jobs_readopt(struct noded *d);
void jobs_reap(struct noded *d, struct djob *j);    /* supervisor exited */
pid_t djob_pgid(struct noded *d, const struct djob *j);
char *djob_dir(struct noded *d, uint32_t id);

/* launch.c */
int launch_job(struct noded *d, json_t *body, char *errbuf, size_t errlen);
/* for unit tests: expand %j %x %u %N %n %t %A %a %% (with widths) */
char *expand_pattern(const char *pat, uint32_t job_id, const char *job_name, const char *user,
                     const char *node, uint32_t array_job_id, uint32_t array_task_id);

/* link.c */
int link_open(struct noded *d);
void link_close(struct noded *d);
void link_recv(struct noded *d);
void link_tick(struct noded *d); /* register / heartbeat / resend completions */
void link_send_complete(struct noded *d, struct djob *j);

int64_t now_s(void);

/* resources detected at start (main.c), reported at registration */
extern int noded_cpus, noded_gpus;
extern long long noded_mem_mb;

#endif
