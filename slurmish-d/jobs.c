/* jobs.c - the node's table of batch jobs, kept in the spool so that a
 * restarted slurmish-d re-adopts running jobs.
 *
 * Spool layout, per job, in the node's spool (root, 0700), job.<id>.<name>
 * (spool.c; versions before had a directory job.<id>/ with the same names,
 * still read for jobs re-adopted from one):
 *   record  - JSON {job: launch body, sup_pid, sup_start, pgid}, by the daemon
 *   pid     - the batch script's pid (= its process group), by the supervisor
 *   status  - "<raw wait status> <end time>", by the supervisor at the end
 *   error   - why the launch failed, if it did, by the supervisor
 * (The batch script is in memory, not here: launch.c.)
 * Every file is written to a temporary name and renamed, so a reader sees
 * all of it or nothing.  The files are removed once the ctld has
 * acknowledged the completion.
 *
 * Re-adoption: a job with a status is a completion still to be
 * reported; one whose supervisor is alive (same pid AND same start time,
 * so a recycled pid is not mistaken for it) is running, and tracked again
 * with pidfd_open(), which works for processes that are not our children;
 * anything else lost its supervisor and is reported as killed.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

int64_t now_s(void)
{
    return (int64_t)time(NULL);
}

struct djob *djob_find(struct noded *d, uint32_t id)
{
    for (struct djob *j = d->jobs; j; j = j->next)
        if (j->id == id)
            return j;
    return NULL;
}

struct djob *djob_add(struct noded *d, uint32_t id)
{
    struct djob *j = xcalloc(1, sizeof(*j));
    j->id = id;
    j->pidfd = -1;
    j->next = d->jobs;
    d->jobs = j;
    return j;
}

void djob_free(struct djob *j)
{
    if (!j)
        return;
    if (j->pidfd >= 0)
        close(j->pidfd);
    free(j->error);
    free(j);
}

/* The names of a job's files (see the top of this file). */
static const char *const job_files[] = {"record", "pid", "status", "error"};

char *djob_file(struct noded *d, uint32_t id, const char *name)
{
    struct djob *j = djob_find(d, id);
    if (j && j->in_dir)
        return xasprintf("%s/job.%u/%s", d->spool, id, name);
    return spool_job_file(d->spool, id, name);
}

static void rm_rf_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    if (dp) {
        while ((de = readdir(dp))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *p = xasprintf("%s/%s", dir, de->d_name);
            if (unlink(p) < 0)
                log_warn("cannot remove %s: %s", p, strerror(errno));
            free(p);
        }
        closedir(dp);
    }
    if (rmdir(dir) < 0 && errno != ENOENT)
        log_warn("cannot remove %s: %s", dir, strerror(errno));
}

void djob_forget(struct noded *d, struct djob *j)
{
    for (struct djob **pp = &d->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    if (j->in_dir) {
        char *dir = xasprintf("%s/job.%u", d->spool, j->id);
        rm_rf_dir(dir);
        free(dir);
    } else {
        for (size_t i = 0; i < sizeof(job_files) / sizeof(job_files[0]); i++) {
            char *p = spool_job_file(d->spool, j->id, job_files[i]);
            if (spool_remove_file(p) < 0)
                log_warn("cannot remove %s: %s", p, strerror(errno));
            free(p);
        }
    }
    djob_free(j);
}

static char *read_small(struct noded *d, const struct djob *j, const char *name)
{
    char *p = djob_file(d, j->id, name);
    FILE *fp = fopen(p, "re");
    free(p);
    if (!fp)
        return NULL;
    char *buf = xcalloc(1, 4096);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

int djob_write_record(struct noded *d, struct djob *j, const char *launch_text)
{
    char *path = djob_file(d, j->id, "record");
    /* written around the launch body's text, which is JSON already */
    char *text = xasprintf("{\"job\":%s,\"sup_pid\":%d,\"sup_start\":%lld,\"pgid\":%d}",
                           launch_text, (int)j->sup_pid, (long long)j->sup_start, (int)j->pgid);
    int rc = spool_write_file(path, text, 0600);

    if (rc < 0)
        log_err("job %u: cannot write %s: %s", j->id, path, strerror(errno));
    free(text);
    free(path);
    return rc;
}

pid_t djob_pgid(struct noded *d, struct djob *j)
{
    if (j->pgid <= 1) {
        /* the supervisor writes it as soon as it has forked the job */
        char *s = read_small(d, j, "pid");
        pid_t pid = s ? (pid_t)atol(s) : 0;
        free(s);
        j->pgid = pid > 1 ? pid : 0;
    }
    return j->pgid;
}

/* Read the supervisor's status file; true when the job has ended. */
static bool read_status(struct noded *d, struct djob *j)
{
    char *s = read_small(d, j, "status");
    long long st = 0, end = 0;
    int oom = 0;
    bool done = s && sscanf(s, "%lld %lld %d", &st, &end, &oom) >= 1;

    free(s);
    if (done) {
        j->status = (int)st;
        j->oom = oom != 0;
        j->end_time = end ? end : now_s();
        free(j->error);
        j->error = read_small(d, j, "error");
        if (j->error) {
            size_t l = strlen(j->error);
            while (l && j->error[l - 1] == '\n')
                j->error[--l] = 0;
        }
    }
    return done;
}

void jobs_reap(struct noded *d, struct djob *j)
{
    /* no waitpid: the supervisor is the spawner's child (spawner.c), or
     * init's after a restart, never ours; the pidfd or polling told us */
    if (j->pidfd >= 0) {
        close(j->pidfd);
        j->pidfd = -1;
    }
    if (!read_status(d, j)) {
        /* the supervisor died without a word (killed): the job is lost */
        j->status = SIGKILL; /* as if killed: WIFSIGNALED, WTERMSIG == 9 */
        j->end_time = now_s();
        if (!j->error)
            j->error = xstrdup("job supervisor ended without recording the job's exit status");
        pid_t pg = djob_pgid(d, j);
        if (pg)
            kill(-pg, SIGKILL);
    }
    j->done = true;
    j->kill_at = 0;
    log_info("job %u ended (status 0x%x)%s%s", j->id, (unsigned)j->status, j->error ? ": " : "",
             j->error ? j->error : "");
    link_send_complete(d, j);
}

static bool supervisor_alive(const struct djob *j)
{
    if (j->sup_pid <= 1)
        return false;
    if (j->sup_start >= 0)
        return proc_start_time(j->sup_pid) == j->sup_start;
    return kill(j->sup_pid, 0) == 0 || errno == EPERM;
}

void jobs_tick(struct noded *d)
{
    int64_t now = now_s();
    for (struct djob *j = d->jobs, *next; j; j = next) {
        next = j->next;
        if (j->done)
            continue;
        /* without a pidfd (pidfd_open failed), notice the supervisor's end by polling */
        if (j->pidfd < 0 && !supervisor_alive(j)) {
            jobs_reap(d, j);
            continue;
        }
        if (!j->kill_at || now < j->kill_at)
            continue;
        pid_t pg = djob_pgid(d, j);
        if (pg) {
            log_info("job %u: still alive after kill_wait, SIGKILL", j->id);
            kill(-pg, SIGKILL);
        }
        j->kill_at = 0;
    }
}

/* Supervisor pid and start time from the record; false if unreadable. */
static bool read_record(struct noded *d, struct djob *j)
{
    char *path = djob_file(d, j->id, "record");
    json_error_t jerr;
    json_t *rec = json_load_file(path, 0, &jerr);
    int pid = 0, pgid = 0;
    json_int_t start = -1;
    bool ok = rec &&
              json_unpack(rec, "{s:i, s:I, s?i}", "sup_pid", &pid, "sup_start", &start, "pgid",
                          &pgid) == 0 &&
              pid > 1;

    if (!ok)
        log_warn("job %u: unreadable record %s: %s", j->id, path,
                 rec ? "missing sup_pid/sup_start" : jerr.text);
    j->sup_pid = pid;
    j->sup_start = start;
    j->pgid = pgid > 1 ? pgid : 0;
    json_decref(rec);
    free(path);
    return ok;
}

void jobs_readopt(struct noded *d)
{
    DIR *dp = opendir(d->spool);
    struct dirent *de;
    int n = 0;

    if (!dp)
        return;
    while ((de = readdir(dp))) {
        /* job.<id>.<name>, or an earlier version's directory job.<id> */
        unsigned id;
        int end = 0;
        if (sscanf(de->d_name, "job.%u%n", &id, &end) != 1 || id == 0 ||
            (de->d_name[end] && de->d_name[end] != '.') || djob_find(d, id))
            continue;
        struct djob *j = djob_add(d, id);
        j->in_dir = !de->d_name[end];
        n++;
        if (read_status(d, j)) {
            j->done = true;
            log_info("job %u: ended while we were away (status 0x%x); to report", id,
                     (unsigned)j->status);
        } else if (read_record(d, j) && proc_start_time(j->sup_pid) == j->sup_start) {
            if ((j->pidfd = pidfd_open_pid(j->sup_pid)) < 0)
                log_warn("job %u: pidfd_open(%d): %s; polling it instead", id, (int)j->sup_pid,
                         strerror(errno));
            log_info("job %u: re-adopted (supervisor %d)", id, (int)j->sup_pid);
            /* it may have ended between the status check and pidfd_open: the pidfd
             * is then readable at once and the loop reaps it */
        } else {
            jobs_reap(d, j); /* supervisor gone, no status: lost */
        }
    }
    closedir(dp);
    if (n)
        log_info("%d job(s) found in %s", n, d->spool);
}
