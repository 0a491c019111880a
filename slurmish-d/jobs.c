/* jobs.c - the node's table of batch jobs, kept in the spool so that a
 * restarted slurmish-d re-adopts running jobs.
 *
 * Spool layout, per job: <spool>/job.<id>/ (root, 0700) holding
 *   record  - "sup_pid sup_start" written by the daemon at launch
 *   pid     - the batch script's pid (= its process group), by the supervisor
 *   status  - the raw wait status and end time, by the supervisor at the end
 *   error   - why the launch failed, if it did
 *   script  - the batch script (owned by the user, 0500)
 * The directory is removed once the ctld has acknowledged the completion.
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
#include <unistd.h>

#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

char *djob_dir(struct noded *d, uint32_t id)
{
    return xasprintf("%s/job.%u", d->spool, id);
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

static void rm_rf_dir(const char *dir)
{
    DIR *dp = opendir(dir);
    struct dirent *de;
    if (dp) {
        while ((de = readdir(dp))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char *p = xasprintf("%s/%s", dir, de->d_name);
            unlink(p);
            free(p);
        }
        closedir(dp);
    }
    rmdir(dir);
}

void djob_forget(struct noded *d, struct djob *j)
{
    struct djob **pp;
    for (pp = &d->jobs; *pp; pp = &(*pp)->next)
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    char *dir = djob_dir(d, j->id);
    rm_rf_dir(dir);
    free(dir);
    if (j->pidfd >= 0)
        close(j->pidfd);
    free(j->error);
    free(j);
}

static char *read_small(const char *dir, const char *name)
{
    char *p = xasprintf("%s/%s", dir, name);
    FILE *fp = fopen(p, "r");
    free(p);
    if (!fp)
        return NULL;
    char *buf = xcalloc(1, 4096);
    size_t n = fread(buf, 1, 4095, fp);
    buf[n] = 0;
    fclose(fp);
    return buf;
}

pid_t djob_pgid(struct noded *d, const struct djob *j)
{
    if (j->pgid > 1)
        return j->pgid;
    char *dir = djob_dir(d, j->id), *s = read_small(dir, "pid");
    pid_t pid = s ? (pid_t)atol(s) : 0;
    free(s);
    free(dir);
    return pid > 1 ? pid : 0;
}

/* Start time of a process in clock ticks since boot, or -1. */
static long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may contain spaces */
    if (!p)
        return -1;
    long long v = -1;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        if (++field == 22) {
            v = atoll(tok);
            break;
        }
    }
    return v;
}

long long noded_proc_start_time(pid_t pid);
long long noded_proc_start_time(pid_t pid)
{
    return proc_start_time(pid);
}

/* Read the supervisor's status file; true when the job has ended. */
static bool read_status(struct noded *d, struct djob *j)
{
    char *dir = djob_dir(d, j->id), *s = read_small(dir, "status");
    bool done = false;
    if (s) {
        long long st = 0, end = 0;
        if (sscanf(s, "%lld %lld", &st, &end) >= 1) {
            j->status = (int)st;
            j->end_time = end ? end : now_s();
            done = true;
        }
        free(s);
    }
    if (done) {
        free(j->error);
        j->error = read_small(dir, "error");
        if (j->error) {
            size_t l = strlen(j->error);
            while (l && j->error[l - 1] == '\n')
                j->error[--l] = 0;
        }
    }
    free(dir);
    return done;
}

void jobs_reap(struct noded *d, struct djob *j)
{
    /* the supervisor may be our child: collect it so it leaves no zombie */
    waitpid(j->sup_pid, NULL, WNOHANG);
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
    log_info("job %u ended (status 0x%x)%s%s", j->id, (unsigned)j->status,
             j->error ? ": " : "", j->error ? j->error : "");
    link_send_complete(d, j);
}

void jobs_readopt(struct noded *d)
{
    DIR *dp = opendir(d->spool);
    struct dirent *de;
    int n = 0;
    if (!dp)
        return;
    while ((de = readdir(dp))) {
        unsigned id;
        char tail;
        if (sscanf(de->d_name, "job.%u%c", &id, &tail) != 1)
            continue;
        struct djob *j = djob_add(d, id);
        char *dir = djob_dir(d, id), *rec = read_small(dir, "record");
        free(dir);
        if (read_status(d, j)) {
            j->done = true;
        } else if (rec && sscanf(rec, "%d %lld", &j->sup_pid, &j->sup_start) == 2 &&
                   proc_start_time(j->sup_pid) == j->sup_start) {
            j->pidfd = (int)syscall(SYS_pidfd_open, j->sup_pid, 0);
            if (j->pidfd < 0) {
                log_err("job %u: pidfd_open(%d): %s", id, (int)j->sup_pid, strerror(errno));
            }
        } else {
            jobs_reap(d, j); /* supervisor gone, no status: lost */
        }
        free(rec);
        n++;
        log_info("re-adopted job %u (%s)", id, j->done ? "ended" : "running");
    }
    closedir(dp);
    if (n)
        log_info("re-adopted %d job(s) from %s", n, d->spool);
}
