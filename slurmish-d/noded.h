/* noded.h - the node daemon's context and its modules.
 *
 * slurmish-d is one thread and one loop (main.c): zmq_poll over the
 * DEALER link to the ctld, a signalfd, and one pidfd per job supervisor.
 *   link.c      speaks to the ctld: register, heartbeat, completions, requests
 *   launch.c    a launch request: the user, the script, the spawner's fork
 *   spawner.c   the small process that forks the supervisors (its program:
 *               spawner_main.c), and the daemon's side of talking to it
 *   supervise.c a batch job's supervisor and the job process
 *   jobs.c      the table of local jobs, their spool records, re-adoption
 *   spool.c     spool files and process identity, shared with supervisors
 *   jobenv.c    output file patterns and the job environment (pure)
 *   resources.c CPUs, memory and GPUs of this node
 *   steps.c     interactive steps and their clients (stepd.c supervises one)
 *   forward.c   port forwarding for a step's owner (srun/sattach --forward-port)
 *
 * A job on this node (struct djob) is RUNNING while its supervisor lives
 * (pidfd >= 0 or, briefly, not yet adopted), then DONE (done = true) with
 * its wait status, until the ctld acknowledges the completion; then it is
 * forgotten and its spool directory removed.
 */
#ifndef NODED_H
#define NODED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <jansson.h>

#include <zmq.h>

#include "conf/conf.h"
#include "proto/keyed.h"
#include "proto/proto.h"
#include "proto/stream.h"

struct djob {
    uint32_t id;
    pid_t sup_pid;       /* supervisor */
    long long sup_start; /* its start time (/proc/PID/stat field 22), to spot PID reuse */
    int pidfd;           /* readable when the supervisor exits; -1 when none */
    pid_t pgid;          /* the batch script's pid = its process group (0: not known yet) */
    bool done;           /* status is known */
    int status;          /* raw wait status of the batch script */
    bool oom;            /* the kernel killed part of it for exceeding its memory */
    int64_t end_time;
    char *error;           /* launch error, if any */
    int64_t complete_sent; /* when job_complete was last sent, 0 = never */
    uint64_t reg_seq;      /* first node_register that listed the completion, 0 = none */
    int64_t kill_at;       /* SIGKILL deadline after a terminate, 0 if none */
    bool in_dir;           /* re-adopted from an earlier version's job.<id>/ directory */
    struct djob *next;
};

struct node_res {
    int cpus;
    long long memory_mb;
    int gpus;
};

/* A request sent to the ctld and not yet answered, so a reply (matched by
 * its "re") is understood even when it comes late. */
struct pending {
    uint64_t seq;
    int type;
    uint32_t job_id; /* job_complete, step_complete */
    uint32_t step_id;
    int64_t sent;
};

struct noded {
    struct sl_conf *conf;
    char *conf_path; /* absolute, handed to jobs as SLURMISH_CONF */
    char *name;
    int port;
    char *spool; /* <spool_dir>/<name> */
    struct node_res res;
    void *zctx, *sock;
    struct sl_auth *auth;
    uid_t slurm_uid;
    uint64_t seq;
    /* the signing key from the ctld (proto/keyed.h): our requests and the
     * ctld's (launches) are MACed with it instead of munge-signed */
    struct sl_sign_key key;
    bool have_key;
    uint64_t key_rx_ctr;   /* last counter accepted from the ctld */
    uint64_t key_req_seq;                      /* request_key in flight, or 0 */
    char key_nonce[SL_KEY_NONCE_LEN + 1];
    struct pending *pend;
    size_t npend, pend_cap;
    bool registered;
    int64_t last_register, last_heartbeat, last_reply;
    bool ctld_quiet_logged;
    bool refusal_logged;
    struct djob *jobs;
    void *srv;          /* ROUTER: interactive clients (srun, sattach) */
    struct dstep *steps;
    struct dtail *tails; /* clients attached to batch jobs' output (sattach N.batch) */
    struct fwd_ctx *fwd; /* port forwarding channels (forward.c), NULL until the first */
    int sigfd;
    bool stop;
    pid_t spawner_pid; /* the job spawner (spawner.c), 0 when none or reaped */
    int spawner_fd;    /* our end of its socketpair, -1 when none */
};

/* jobs.c */
struct djob *djob_find(struct noded *d, uint32_t id);
struct djob *djob_add(struct noded *d, uint32_t id);
void djob_forget(struct noded *d, struct djob *j); /* removes spool dir, frees */
void djob_free(struct djob *j);                    /* frees only (daemon exit) */
pid_t djob_pgid(struct noded *d, struct djob *j);
/* A job's spool file by name (record, pid, status, error), where it is:
 * spool_job_file(), or in the directory an earlier version made for it. */
char *djob_file(struct noded *d, uint32_t id, const char *name);
/* The record: the launch body's JSON text (without the script) and the
 * supervisor's pid, start time and the job's process group. */
int djob_write_record(struct noded *d, struct djob *j, const char *launch_text);
void jobs_readopt(struct noded *d);
void jobs_reap(struct noded *d, struct djob *j); /* supervisor exited */
void jobs_tick(struct noded *d); /* SIGKILL deadlines; supervisors without a pidfd */

/* spool.c */
char *spool_job_file(const char *spool, uint32_t id, const char *name);
int spool_write_file(const char *path, const char *data, mode_t mode); /* atomic, no fsync */
/* Remove a spool file and what a write of it cut short left (its temporary
 * name); 0 also when neither exists, else -1 with errno. */
int spool_remove_file(const char *path);
long long proc_start_time(pid_t pid); /* /proc/PID/stat field 22, -1 if gone */
int pidfd_open_pid(pid_t pid);

/* In a job or task process (supervise.c): say why it cannot start (to stderr_fd if
 * >= 0 and to errfd) and exit 1. */
void job_fail(int errfd, int stderr_fd, const char *fmt, ...)
    __attribute__((noreturn, format(printf, 3, 4)));
/* Become the user for good (groups, gid, uid), or job_fail(). */
void drop_privileges(int errfd, const char *user, uid_t uid, gid_t gid);

/* launch.c: 0, or an SL_E_* code with errbuf saying why */
int launch_job(struct noded *d, json_t *body, char *errbuf, size_t errlen);

/* What the daemon looked up for a job's user before the launch. */
struct job_user {
    const char *name;
    const gid_t *groups; /* NULL: initgroups in the job */
    int ngroups;
};
/* A job process a spare supervisor forked ahead of time (spawner.c),
 * already in a cgroup of its own, holding the launch and waiting for a
 * byte on sock to start it. */
struct prestart {
    pid_t pid;
    int sock;  /* "go" goes down it; closing it makes the process exit */
    int errfd; /* read end of its launch-error pipe (EOF once it exec'ed) */
    char *cg;  /* its cgroup, which becomes the job's */
};
/* supervise.c: kill it and remove its cgroup (the job is forked instead) */
void launch_prestart_drop(struct prestart *ps);
/* supervise.c: the job's supervisor, in a fresh child of the spawner; it
 * reports "<job pid> <own pid>\n" on report_fd.  With ps, it starts that
 * process instead of forking one.  Never returns. */
void launch_supervise(struct noded *d, json_t *body, const struct job_user *ju, int script_fd,
                      int report_fd, struct prestart *ps) __attribute__((noreturn));
/* supervise.c: in the job's process: become the job (user, files, exec).
 * Never returns; errors go to errfd. */
void launch_run_job(struct noded *d, json_t *body, const struct job_user *ju, int script_fd,
                    int errfd) __attribute__((noreturn));

/* spawner.c: supervisors are forked by a small process forked early */
struct spawn_result {
    pid_t sup_pid;       /* the supervisor */
    long long sup_start; /* its start time, -1 if unknown */
    int pidfd;           /* for the supervisor, -1 if none */
    bool reported;       /* the supervisor wrote its report line */
    pid_t pgid;          /* the job's pid from it (0: it could not start one) */
    pid_t report_sup;    /* the supervisor's own pid from it */
};
int spawner_start(struct noded *d); /* 0, or -1 with errno */
/* The spawner's loop (spawner_main.c's program, or a fork of the daemon). */
void spawner_main(struct noded *d, int sock, pid_t daemon_pid) __attribute__((noreturn));
void spawner_stop(struct noded *d); /* EOF to it, wait (bounded), kill if need be */
/* main loop's waitpid: true if pid was the spawner (then it is forgotten) */
bool spawner_reaped(struct noded *d, pid_t pid, int status);
void spawner_reopen_log(struct noded *d); /* SIGHUP: the spawner reopens the log too */
/* Have the spawner fork a supervisor for the launch body (JSON text); 0,
 * or -1 with errbuf saying why (then no supervisor runs). */
int spawner_launch(struct noded *d, const char *body_text, const struct job_user *ju, int script_fd,
                   struct spawn_result *res, char *errbuf, size_t errlen);

/* jobenv.c */
struct pattern_ctx {
    uint32_t job_id;
    const char *job_name, *user, *node;
    uint32_t array_job_id; /* 0: not an array task */
    uint32_t array_task_id;
};
char *expand_pattern(const char *pat, const struct pattern_ctx *pc);

struct env_ctx {
    const char *node;
    int cpus;
    pid_t pid;
    const char *conf_path; /* NULL: no SLURMISH_CONF */
    int node_id, procid, localid; /* a step's task; 0 for a batch script */
    bool step;                    /* a step's task: no ENVIRONMENT=BATCH */
};
/* The job's environment: `env` (array of "K=V" from the ctld) with the
 * node's own SLURM_* values added or replacing the ctld's; NULL-terminated. */
char **job_env_build(json_t *env, const struct env_ctx *ec);
void job_env_free(char **envp);

/* stepd.c: the supervisor of one step's tasks (forked by steps.c) */
struct stepd_args {
    uint32_t job_id, step_id;
    uid_t uid;
    gid_t gid;
    const char *user, *node, *conf_path, *cwd, *dir, *gpus, *term;
    const char *spool; /* the node's spool: names its memory cgroups */
    json_t *env;  /* "K=V" strings from the client and the ctld */
    char **argv;
    int ntasks, task_offset, node_id, cpus, rows, cols;
    uint64_t mem_mb;     /* the job's memory on this node: its cgroup's limit */
    bool enforce_memory;
    bool pty;
    int listen_fd; /* the step's Unix socket, listening */
    int conn_fd;   /* the launching daemon's connection */
};
void stepd_run(const struct stepd_args *a) __attribute__((noreturn));

/* steps.c: steps and sessions on this node, and the clients attached to them */
struct dclient {
    unsigned char id[256]; /* ZeroMQ routing id of the client's connection */
    size_t id_len;
    uid_t uid;
    bool fwd;       /* may forward ports: uid is the job's owner, who asked to */
    bool no_output; /* a forwarding-only client: no output frames */
    gid_t gid;      /* the job's gid, for forwarded connections */
};

struct dstep {
    uint32_t job_id, step_id;
    uid_t uid;
    pid_t sup_pid;
    long long sup_start;
    int pidfd;          /* the supervisor; -1 once it is gone */
    int conn;           /* SOCK_SEQPACKET to the supervisor, -1 if none */
    bool pty;
    struct dclient *live; /* clients receiving live output */
    size_t nlive;
    struct dclient *replay; /* clients waiting for their replay, oldest first */
    size_t nreplay;
    uint32_t idle_s, cpu_ms; /* last activity report */
    bool done;
    int status;         /* worst raw wait status of its tasks here */
    int64_t end_time;
    int64_t complete_sent;
    int64_t kill_at;    /* SIGKILL deadline after a terminate, 0 if none */
    int64_t last_fwd;   /* last data a client sent through a forwarded port (activity) */
    struct dstep *next;
};

/* A client reading a batch job's output file as it grows. */
struct dtail {
    struct dclient client;
    uint32_t job_id;
    int fd;
    struct dtail *next;
};

int steps_open(struct noded *d);
void steps_close(struct noded *d);
void steps_recv(struct noded *d);                /* from clients (the session socket) */
void steps_conn_event(struct noded *d, struct dstep *s); /* from a supervisor */
void steps_reap(struct noded *d, struct dstep *s);       /* a supervisor exited */
void steps_tick(struct noded *d);                /* activity queries, kill deadlines */
void steps_readopt(struct noded *d);
json_t *steps_activity_json(struct noded *d);
/* signal_job for a job's steps (one step if step_id >= 0); number signalled */
int steps_signal(struct noded *d, uint32_t job_id, int64_t step_id, int sig, int kill_wait);
void steps_notice(struct noded *d, uint32_t job_id, const char *text);
void steps_complete_acked(struct noded *d, uint32_t job_id, uint32_t step_id, int rc);
/* resend unacknowledged step completions (link.c calls it each heartbeat) */
void steps_resend(struct noded *d);

/* forward.c: port forwarding for clients of a step (steps.c authorises) */
struct fwd_ctx;
void fwd_open(struct noded *d, const struct dclient *cl, uint32_t job_id, uint32_t step_id,
              uid_t uid, gid_t gid, uint32_t chan, int port);
/* a DATA, EOF, RESET or ACK frame from the client with this routing id */
void fwd_frame(struct noded *d, const unsigned char *id, size_t id_len, const struct sl_frame *f);
void fwd_drop_client(struct noded *d, const unsigned char *id, size_t id_len);
void fwd_drop_step(struct noded *d, uint32_t job_id, uint32_t step_id);
/* the loop: poll items for the channels' sockets, their events, queued frames */
size_t fwd_poll_count(struct noded *d);
size_t fwd_poll_fill(struct noded *d, zmq_pollitem_t *items);
void fwd_poll_events(struct noded *d, const zmq_pollitem_t *items);
void fwd_flush(struct noded *d);
int fwd_timeout_ms(struct noded *d, int dflt);
void fwd_fini(struct noded *d);

/* link.c */
int link_open(struct noded *d);
void link_close(struct noded *d);
void link_recv(struct noded *d);
void link_tick(struct noded *d); /* register / heartbeat / resend completions */
void link_send_complete(struct noded *d, struct djob *j);
void link_send_step_complete(struct noded *d, struct dstep *s);
/* Sign and send any request to the ctld (0 if it could not be sent). */
uint64_t link_request(struct noded *d, int type, json_t *body, uint32_t job_id, uint32_t step_id);

/* resources.c */
void resources_detect(struct node_res *r);
#define GPU_BUSY_PERCENT 5
/* 1 if one of the GPUs listed ("0,2") is in use (utilization at least
 * GPU_BUSY_PERCENT), 0 if not, -1 if it cannot tell (no nvidia-smi). */
int gpus_busy(const char *ids);

int64_t now_s(void);

#endif
