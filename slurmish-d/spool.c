/* spool.c - the spool's files and how they name processes; what both
 * the daemon and the job supervisors (the spawner program) use.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "noded.h"
#include "util/xmalloc.h"

/* A batch job's files are <spool>/job.<id>.<name>, with no directory of
 * their own: on the spool's ext4 creating and removing a directory per job
 * cost about 250 us of CPU (a microbenchmark here: 330 us per job for a
 * directory and three files, 83 us for two files alone). */
char *spool_job_file(const char *spool, uint32_t id, const char *name)
{
    return xasprintf("%s/job.%u.%s", spool, id, name);
}

/* Replace a spool file atomically (temporary file + rename): a reader
 * sees the old content or the new, never half of it.  No fsync: the spool
 * is there for a restart of slurmish-d (the page cache survives that), and
 * an operating system crash ends the node's jobs anyway, so a record lost
 * with it only makes the daemon report such a job as lost, which it is.
 * Durability of the job's state is the ctld's SQLite, not this.  An fsync
 * here cost a disk flush (1-10 ms, more under I/O load) on the launch path
 * and again at every job's end. */
/* The name spool_write_file() writes path under before the rename. */
static char *spool_tmp_name(const char *path)
{
    return xasprintf("%s.tmp", path);
}

int spool_write_file(const char *path, const char *data, mode_t mode)
{
    char *tmp = spool_tmp_name(path);
    size_t len = strlen(data), off = 0;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);

    if (fd < 0) {
        free(tmp);
        return -1;
    }
    while (off < len) {
        ssize_t n = write(fd, data + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close(fd);
            unlink(tmp);
            free(tmp);
            return -1;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

long long proc_start_time(pid_t pid)
{
    char path[64], buf[1024];
    long long v;
    int fd;
    ssize_t n;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -1;
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    char *p = strrchr(buf, ')'); /* comm may hold spaces and parentheses */
    /* fields 3..21 skipped, 22 is starttime */
    if (!p || sscanf(p + 1,
                     " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d"
                     " %*d %*d %*d %lld",
                     &v) != 1)
        return -1;
    return v;
}

int pidfd_open_pid(pid_t pid)
{
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

int spool_remove_file(const char *path)
{
    char *tmp = spool_tmp_name(path);
    int rc = 0, saved = 0;
    if (unlink(path) < 0 && errno != ENOENT) {
        rc = -1;
        saved = errno;
    }
    if (unlink(tmp) < 0 && errno != ENOENT && rc == 0) {
        rc = -1;
        saved = errno;
    }
    free(tmp);
    errno = saved;
    return rc;
}
