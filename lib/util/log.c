/* log.c - see log.h */
#include <errno.h>
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

int log_level_from(const char *name, int verbose)
{
    int lvl = name ? log_level_parse(name) : -1;
    if (lvl < 0)
        lvl = LOG_LVL_INFO;
    if (verbose > 0)
        lvl += verbose;
    return lvl > LOG_LVL_TRACE ? LOG_LVL_TRACE : lvl;
}

static void log_v(int level, const char *fmt, va_list ap, const char *suffix)
{
    FILE *fp = log_fp ? log_fp : stderr;
    int saved = errno;
    char ts[64] = "";

    if (log_fp) {
        struct timeval tv;
        struct tm tm;
        gettimeofday(&tv, NULL);
        localtime_r(&tv.tv_sec, &tm);
        size_t n = strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
        snprintf(ts + n, sizeof(ts) - n, ".%03d ", (int)(tv.tv_usec / 1000));
    }
    fprintf(fp, "%s%s[%d]: %s: ", ts, log_prog, (int)getpid(), level_names[level]);
    vfprintf(fp, fmt, ap);
    if (suffix)
        fprintf(fp, ": %s", suffix);
    fputc('\n', fp);
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
