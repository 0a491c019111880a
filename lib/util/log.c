/* log.c - see log.h */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "util/log.h"

static const char *log_prog = "slurmish";
static int log_level = LOG_LVL_INFO;
static FILE *log_fp;
static char *log_path;

static const char *level_names[] = {"error", "warning", "info", "debug", "trace"};

void log_init(const char *progname, int level)
{
    log_prog = progname;
    log_level = level;
}

void log_set_level(int level)
{
    log_level = level;
}

int log_get_level(void)
{
    return log_level;
}

int log_level_parse(const char *name)
{
    for (int i = 0; i < (int)(sizeof(level_names) / sizeof(level_names[0])); i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    if (strcasecmp(name, "warn") == 0)
        return LOG_LVL_WARN;
    return -1;
}

int log_set_file(const char *path)
{
    FILE *fp = fopen(path, "a");
    if (!fp)
        return -1;
    setvbuf(fp, NULL, _IOLBF, 0);
    if (log_fp)
        fclose(log_fp);
    log_fp = fp;
    free(log_path);
    log_path = strdup(path);
    return 0;
}

int log_reopen(void)
{
    int rc = 0;
    if (log_path) {
        char *p = strdup(log_path);
        if (!p)
            return -1;
        rc = log_set_file(p);
        free(p);
    }
    return rc;
}

const char *log_file_path(void)
{
    return log_path;
}

int log_level_from(const char *name, int verbose)
{
    int lvl = name ? log_level_parse(name) : -1;
    if (lvl < 0)
        lvl = LOG_LVL_INFO;
    if (verbose > 0)
        lvl += verbose;
    return lvl > LOG_LVL_TRACE ? LOG_LVL_TRACE : lvl;
}

/* The process id in each line.  getpid() is a system call (glibc no
 * longer caches it); cache it, and forget it in a forked child. */
static pid_t log_pid;

static void log_forget_pid(void)
{
    log_pid = 0;
}

static pid_t log_getpid(void)
{
    static bool registered;
    if (!registered) {
        pthread_atfork(NULL, NULL, log_forget_pid);
        registered = true;
    }
    if (!log_pid)
        log_pid = getpid();
    return log_pid;
}

static void log_v(int level, const char *fmt, va_list ap, const char *suffix)
{
    FILE *fp = log_fp ? log_fp : stderr;
    int saved = errno;
    char ts[64] = "", line[2048];
    va_list ap2;

    if (log_fp) {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%03d ", (int)(tv.tv_usec / 1000));
    }
    /* one write per line when it fits: stderr is unbuffered, and a line
     * in pieces costs a system call each and may interleave with
     * another process's */
    int head = snprintf(line, sizeof(line), "%s%s[%d]: %s: ", ts, log_prog, (int)log_getpid(),
                        level_names[level]);
    va_copy(ap2, ap);
    int body = head >= 0 && (size_t)head < sizeof(line)
                   ? vsnprintf(line + head, sizeof(line) - (size_t)head, fmt, ap2)
                   : -1;
    va_end(ap2);
    size_t len = body >= 0 ? (size_t)head + (size_t)body : sizeof(line);
    if (len < sizeof(line) && suffix)
        len += (size_t)snprintf(line + len, sizeof(line) - len, ": %s", suffix);
    if (len + 1 < sizeof(line)) {
        line[len] = '\n';
        fwrite(line, 1, len + 1, fp);
    } else {
        fprintf(fp, "%s%s[%d]: %s: ", ts, log_prog, (int)log_getpid(), level_names[level]);
        vfprintf(fp, fmt, ap);
        if (suffix)
            fprintf(fp, ": %s", suffix);
        fputc('\n', fp);
    }
    errno = saved;
}

void log_msg(int level, const char *fmt, ...)
{
    if (level > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_v(level, fmt, ap, NULL);
    va_end(ap);
}

void fatal(const char *fmt, ...)
{
    const char *es = strerror(errno);
    va_list ap;
    va_start(ap, fmt);
    log_v(LOG_LVL_ERROR, fmt, ap, es);
    va_end(ap);
    exit(1);
}

void fatalx(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_v(LOG_LVL_ERROR, fmt, ap, NULL);
    va_end(ap);
    exit(1);
}
