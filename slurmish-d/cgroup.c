/* cgroup.c - memory enforcement; see cgroup.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroup.h"
#include "util/log.h"
#include "util/xmalloc.h"

#define CG_ROOT "/sys/fs/cgroup"

static int version = -1; /* 0: none, 1, 2 */
static char *base;       /* where slurmish/ lives */

static int write_str(const char *path, const char *s)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = write(fd, s, strlen(s));
    int saved = errno;
    close(fd);
    errno = saved;
    return n == (ssize_t)strlen(s) ? 0 : -1;
}

static bool file_has_word(const char *path, const char *word)
{
    char buf[512];
    FILE *f = fopen(path, "re");
    bool found = false;
    if (!f)
        return false;
    while (!found && fscanf(f, "%511s", buf) == 1)
        found = !strcmp(buf, word);
    fclose(f);
    return found;
}

/* This process's cgroup path in hierarchy `want` ("0::" for v2, "memory"). */
static char *own_cgroup(bool v2)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024], *found = NULL;
    if (!f)
        return NULL;
    while (!found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c2 = 0;
        const char *ctrls = c1 + 1;
        bool match = v2 ? (!strncmp(line, "0", 1) && c1 == line + 1 && !*ctrls)
                        : (strstr(ctrls, "memory") != NULL);
        if (match)
            found = xstrdup(c2 + 1);
    }
    fclose(f);
    return found;
}

static int mkdir_ok(const char *path)
{
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
}

static bool probe_v2(void)
{
    if (!file_has_word(CG_ROOT "/cgroup.controllers", "memory"))
        return false;
    /* the root may hold processes and delegate: enable memory below it,
     * then in slurmish/ (which holds none) for the nodes' trees */
    if (!file_has_word(CG_ROOT "/cgroup.subtree_control", "memory") &&
        write_str(CG_ROOT "/cgroup.subtree_control", "+memory") < 0)
        return false;
    if (mkdir_ok(CG_ROOT "/slurmish") < 0)
        return false;
    if (!file_has_word(CG_ROOT "/slurmish/cgroup.subtree_control", "memory") &&
        write_str(CG_ROOT "/slurmish/cgroup.subtree_control", "+memory") < 0)
        return false;
    base = xstrdup(CG_ROOT "/slurmish");
    return true;
}

static bool probe_v1(void)
{
    struct stat st;
    char *own;
    if (stat(CG_ROOT "/memory/memory.limit_in_bytes", &st) < 0 || !(own = own_cgroup(false)))
        return false;
    char *dir = xasprintf(CG_ROOT "/memory%s/slurmish", strcmp(own, "/") ? own : "");
    free(own);
    if (mkdir_ok(dir) < 0) {
        free(dir);
        return false;
    }
    base = dir;
    return true;
}

const char *cg_probe(void)
{
    if (version < 0) {
        version = probe_v2() ? 2 : probe_v1() ? 1 : 0;
        if (version)
            log_info("memory enforcement: cgroup v%d under %s", version, base);
        else
            log_warn("memory enforcement: no usable memory cgroup controller; jobs run "
                     "without memory limits");
    }
    return version == 2 ? "cgroup-v2" : version == 1 ? "cgroup-v1" : "none";
}

static char *node_dir(const char *node, const char *spool)
{
    uint32_t h = 2166136261u; /* FNV-1a of the spool path */
    for (const char *s = spool ? spool : ""; *s; s++)
        h = (h ^ (unsigned char)*s) * 16777619u;
    return xasprintf("%s/%s-%08x", base, node, h);
}

void cg_node_cleanup(const char *node, const char *spool)
{
    if (version <= 0)
        return;
    cg_spares_sweep(node, spool, 0);
    char *ndir = node_dir(node, spool);
    rmdir(ndir); /* only if empty: jobs still running keep it */
    free(ndir);
}

/* The job's limit: its allocation, swap included. */
static int set_limit(const char *path, uint64_t mem_mb)
{
    char limit[32], file[4096];
    int rc;
    snprintf(limit, sizeof(limit), "%llu", (unsigned long long)mem_mb * 1024 * 1024);
    if (version == 2) {
        snprintf(file, sizeof(file), "%s/memory.max", path);
        rc = write_str(file, limit);
        snprintf(file, sizeof(file), "%s/memory.swap.max", path);
        write_str(file, "0"); /* absent without swap accounting: fine */
    } else {
        snprintf(file, sizeof(file), "%s/memory.limit_in_bytes", path);
        rc = write_str(file, limit);
        snprintf(file, sizeof(file), "%s/memory.memsw.limit_in_bytes", path);
        write_str(file, limit); /* swap included, where the kernel accounts it */
    }
    return rc;
}

char *cg_job_create(const char *node, const char *spool, uint32_t job_id, uint64_t mem_mb)
{
    cg_probe();
    if (!version || !mem_mb)
        return NULL;
    char *ndir = node_dir(node, spool);
    char *path = xasprintf("%s/job_%u", ndir, job_id);
    char file[4096];
    bool ok = mkdir_ok(ndir) == 0;
    if (ok && version == 2) {
        snprintf(file, sizeof(file), "%s/cgroup.subtree_control", ndir);
        if (!file_has_word(file, "memory"))
            ok = write_str(file, "+memory") == 0;
    }
    ok = ok && mkdir_ok(path) == 0 && set_limit(path, mem_mb) == 0;
    free(ndir);
    if (!ok) {
        log_warn("job %u: cannot set up its memory cgroup %s: %s; no memory limit", job_id, path,
                 strerror(errno));
        rmdir(path);
        free(path);
        return NULL;
    }
    return path;
}

int cg_attach(const char *path, pid_t pid)
{
    char file[4096], num[32];
    snprintf(file, sizeof(file), "%s/cgroup.procs", path);
    snprintf(num, sizeof(num), "%d", pid ? (int)pid : (int)getpid());
    return write_str(file, num);
}

bool cg_oom_killed(const char *path)
{
    char file[4096], key[64];
    long long v;
    snprintf(file, sizeof(file), "%s/%s", path, version == 2 ? "memory.events" : "memory.oom_control");
    FILE *f = fopen(file, "re");
    bool oom = false;
    if (!f)
        return false;
    while (fscanf(f, "%63s %lld", key, &v) == 2)
        if (!strcmp(key, "oom_kill") && v > 0)
            oom = true;
    fclose(f);
    return oom;
}

void cg_remove(const char *path)
{
    char file[4096];
    snprintf(file, sizeof(file), "%s/cgroup.procs", path);
    for (int i = 0; i < 20; i++) {
        /* anything of the job still in it (it left the process group) goes too */
        FILE *f = fopen(file, "re");
        int pid;
        while (f && fscanf(f, "%d", &pid) == 1)
            if (pid > 1)
                kill(pid, SIGKILL);
        if (f)
            fclose(f);
        if (rmdir(path) == 0 || errno == ENOENT)
            return;
        usleep(50000);
    }
    log_warn("cannot remove cgroup %s: %s", path, strerror(errno));
}

/* Renaming a cgroup is v1 only (v2 refuses it), hence spares there only. */
char *cg_spare_create(const char *node, const char *spool, pid_t spare)
{
    if (version != 1)
        return NULL;
    char *ndir = node_dir(node, spool);
    char *path = xasprintf("%s/spare_%d", ndir, (int)spare);
    bool ok = mkdir_ok(ndir) == 0 && mkdir_ok(path) == 0;
    free(ndir);
    if (!ok) {
        free(path);
        return NULL;
    }
    return path;
}

char *cg_job_adopt(const char *spare_cg, const char *node, const char *spool, uint32_t job_id,
                   uint64_t mem_mb)
{
    if (version != 1 || !mem_mb)
        return NULL;
    char *ndir = node_dir(node, spool);
    char *path = xasprintf("%s/job_%u", ndir, job_id);
    free(ndir);
    /* the limit first: the cgroup already holds the job's process */
    int rc = set_limit(spare_cg, mem_mb);
    if (rc == 0 && (rc = rename(spare_cg, path)) < 0 && (errno == EEXIST || errno == ENOTEMPTY) &&
        rmdir(path) == 0)
        rc = rename(spare_cg, path); /* an empty one left by an earlier run (killed) */
    if (rc < 0) {
        log_warn("job %u: cannot turn %s into its memory cgroup: %s", job_id, spare_cg,
                 strerror(errno));
        free(path);
        return NULL;
    }
    return path;
}

void cg_spares_sweep(const char *node, const char *spool, pid_t only)
{
    if (version != 1)
        return;
    char *ndir = node_dir(node, spool);
    DIR *dp = opendir(ndir);
    struct dirent *de;
    while (dp && (de = readdir(dp))) {
        int pid;
        char tail;
        if (sscanf(de->d_name, "spare_%d%c", &pid, &tail) != 1 || (only && pid != (int)only))
            continue;
        char *path = xasprintf("%s/%s", ndir, de->d_name);
        cg_remove(path);
        free(path);
    }
    if (dp)
        closedir(dp);
    free(ndir);
}
