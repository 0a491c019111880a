/* launch.c - what the daemon does for a launch_job request: look the
 * user up, hold the script in memory, have the spawner start a supervisor
 * (spawner.c, supervise.c) and record the job in the spool (jobs.c).
 *
 * The daemon looks the user's groups up (getgrouplist, as initgroups
 * does) before it asks for the fork: its NSS modules stay loaded from one
 * launch to the next, where a job process calling initgroups loaded them
 * afresh (dlopen of libnss_systemd and what it links) for every job.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "noded.h"
#include "util/log.h"
#include "util/xmalloc.h"

/* The user's supplementary groups (gid among them), as initgroups would
 * set them; their count, or -1 (then *out is NULL) when they cannot be
 * looked up. */
static int user_groups(const char *user, gid_t gid, gid_t **out)
{
    int cap = 32;
    gid_t *g = xmalloc((size_t)cap * sizeof(*g));
    for (int tries = 0; tries < 4; tries++) {
        int n = cap;
        if (getgrouplist(user, gid, g, &n) >= 0) {
            /* initgroups keeps as many; glibc reads /proc for it each time */
            static long max;
            if (!max)
                max = sysconf(_SC_NGROUPS_MAX);
            *out = g;
            return max > 0 && n > max ? (int)max : n;
        }
        if (n <= cap)
            break; /* not a matter of room */
        cap = n;
        g = xrealloc(g, (size_t)cap * sizeof(*g));
    }
    free(g);
    *out = NULL;
    return -1;
}

/* Users as the name service last gave them, for USER_CACHE_SECS: each
 * look-up reads and parses /etc/passwd and /etc/group (about 0.1 ms a
 * launch here), or asks a directory (sssd, LDAP) while the daemon's loop
 * waits.  Slurm's slurmd keeps such a group cache too.  A user added to a
 * group is seen by jobs launched at most this long after. */
#define USER_CACHE_SECS 60
#define USER_CACHE_SLOTS 64
static struct user_cache {
    uid_t uid;
    gid_t gid;
    char *name; /* NULL: the slot is free */
    gid_t *groups;
    int ngroups; /* -1: no list (groups NULL) */
    double at;   /* looked up then (CLOCK_MONOTONIC, seconds) */
} ucache[USER_CACHE_SLOTS];

/* The name of uid and its groups with gid (copies the caller frees);
 * false when this node knows no such uid (never cached: it may be added). */
static bool user_lookup(uid_t uid, gid_t gid, char **name, gid_t **groups, int *ngroups)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    double now = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
    struct user_cache *slot = &ucache[0];
    for (int i = 0; i < USER_CACHE_SLOTS; i++) {
        struct user_cache *e = &ucache[i];
        if (e->name && e->uid == uid && e->gid == gid) {
            slot = e; /* an entry that expired is looked up again in place */
            if (now - e->at < USER_CACHE_SECS)
                goto hit;
            break;
        }
        /* else a free slot, or the oldest entry, takes it */
        if (slot->name && (!e->name || e->at < slot->at))
            slot = e;
    }
    struct passwd *pw = getpwuid(uid);
    if (!pw)
        return false;
    free(slot->name);
    free(slot->groups);
    slot->uid = uid;
    slot->gid = gid;
    slot->name = xstrdup(pw->pw_name);
    slot->ngroups = user_groups(slot->name, gid, &slot->groups);
    slot->at = now;
hit:
    *name = xstrdup(slot->name);
    *ngroups = slot->ngroups;
    *groups = NULL;
    if (slot->groups) {
        *groups = xmalloc((size_t)(slot->ngroups ? slot->ngroups : 1) * sizeof(gid_t));
        memcpy(*groups, slot->groups, (size_t)slot->ngroups * sizeof(gid_t));
    }
    return true;
}

/* The script in memory (a memfd), user-owned 0500, returned opened
 * read-only.  It needs no file in the spool: the job execs the descriptor,
 * and a restarted daemon re-adopts running jobs without it.  A spool file
 * cost creating, chowning and later removing an inode on the spool's file
 * system for every job (ext4: about 0.1 ms of CPU per job on a 2-core VM). */
static int write_script(const char *script, uid_t uid, gid_t gid, char *errbuf, size_t errlen)
{
    size_t len = strlen(script), off = 0;
    char self[64];
    int fd, ro = -1;

#ifdef MFD_EXEC
    /* executable on purpose (kernels since 6.3 ask callers to say which) */
    fd = memfd_create("slurm_script", MFD_CLOEXEC | MFD_EXEC);
    if (fd < 0 && errno == EINVAL) /* an older kernel, which knows no MFD_EXEC */
#endif
        fd = memfd_create("slurm_script", MFD_CLOEXEC);
    if (fd < 0)
        goto error;
    while (off < len) {
        ssize_t n = write(fd, script + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            goto error;
        off += (size_t)n;
    }
    if (fchown(fd, uid, gid) < 0 || fchmod(fd, 0500) < 0)
        goto error;
    /* a read-only description of the same file: exec refuses a file that
     * is open for writing (ETXTBSY), and the job gets no write access */
    snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
    if ((ro = open(self, O_RDONLY | O_CLOEXEC)) < 0)
        goto error;
    close(fd);
    return ro;
error:
    snprintf(errbuf, errlen, "cannot hold the batch script in memory: %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    return -1;
}

int launch_job(struct noded *d, json_t *body, char *errbuf, size_t errlen)
{
    json_t *jid = json_object_get(body, "job_id"), *juid = json_object_get(body, "uid");
    json_t *jgid = json_object_get(body, "gid");
    const char *script = json_string_value(json_object_get(body, "script"));
    const char *user = json_string_value(json_object_get(body, "user"));
    struct djob *j;
    char *uname = NULL, *text = NULL;
    gid_t *groups = NULL;
    int sfd = -1, rc = SL_E_GENERIC;
    uint32_t id;
    uid_t uid;
    gid_t gid;
    pid_t sup;

    if (!json_is_integer(jid) || json_integer_value(jid) <= 0 ||
        json_integer_value(jid) > UINT32_MAX || !json_is_integer(juid) ||
        json_integer_value(juid) < 0 || !json_is_integer(jgid) || json_integer_value(jgid) < 0 ||
        !script) {
        snprintf(errbuf, errlen, "launch_job needs job_id, uid, gid and script");
        return SL_E_INVALID_ARGUMENT;
    }
    id = (uint32_t)json_integer_value(jid);
    uid = (uid_t)json_integer_value(juid);
    gid = (gid_t)json_integer_value(jgid);
    if ((j = djob_find(d, id))) {
        if (!j->done)
            return 0; /* a resent launch: it is running */
        /* a new run of a job whose old completion is unacknowledged (requeued
         * after a node failure): the ctld has moved on from the old one */
        log_info("job %u: launched again; dropping its previous run's completion", id);
        djob_forget(d, j);
    }
    /* the job runs as the uid; its name on this node is what initgroups needs */
    struct job_user ju = {0};
    if (!user_lookup(uid, gid, &uname, &groups, &ju.ngroups)) {
        snprintf(errbuf, errlen, "unknown user id %u on node %s", (unsigned)uid, d->name);
        return SL_E_INVALID_ARGUMENT;
    }
    if (user && strcmp(user, uname) != 0)
        log_warn("job %u: user %s has uid %u on the controller but that uid is %s here; "
                 "running as %s",
                 id, user, (unsigned)uid, uname, uname);
    ju.name = uname;
    ju.groups = groups; /* NULL: the job calls initgroups, which says what failed */

    if ((sfd = write_script(script, uid, gid, errbuf, errlen)) < 0)
        goto out;
    /* the spawner needs neither the script (it has the descriptor) nor our
     * json_t; the record keeps the same text */
    json_t *lean = json_copy(body);
    json_object_del(lean, "script");
    text = json_dumps(lean, JSON_COMPACT);
    json_decref(lean);
    if (!text) {
        snprintf(errbuf, errlen, "cannot encode the launch body");
        goto out;
    }
    struct spawn_result sr;
    if (spawner_launch(d, text, &ju, sfd, &sr, errbuf, errlen) < 0)
        goto out;
    sup = sr.sup_pid;
    j = djob_add(d, id);
    j->sup_pid = sup;
    j->pgid = sr.pgid;
    j->sup_start = sr.sup_start;
    /* the spawner's pidfd names the supervisor even if it has already ended
     * and been reaped; without one, jobs_tick polls it by pid and start time */
    if ((j->pidfd = sr.pidfd) < 0)
        log_warn("job %u: no pidfd for supervisor %d; polling it instead", id, (int)sup);
    djob_write_record(d, j, text);
    log_info("job %u launched as %s (uid %u), supervisor %d, pid %d", id, uname, (unsigned)uid,
             (int)sup, (int)j->pgid);
    rc = 0;
out:
    if (sfd >= 0)
        close(sfd);
    free(text);
    free(uname);
    free(groups);
    return rc;
}
