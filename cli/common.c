/* common.c - configuration, one client, errors and reply access for the
 * tools; see common.h. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <malloc.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "util/log.h"

const char *cli_prog = "slurmish";

static struct sl_conf *conf;
static struct sl_client *client;

void cli_init(const char *prog)
{
    const char *slash = strrchr(prog, '/');

    cli_prog = slash ? slash + 1 : prog;
    log_init(cli_prog, LOG_LVL_ERROR);
    /* a reply of 100+ MB (squeue over a million jobs) grows in its own
     * mapping, by mremap rather than by copying (glibc's threshold would
     * otherwise move up after the first big buffer is freed) */
    mallopt(M_MMAP_THRESHOLD, 1 << 20);
}

void cli_error(const char *fmt, ...)
{
    va_list ap;

    fflush(stdout);
    fprintf(stderr, "%s: error: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_verbose(const char *fmt, ...)
{
    va_list ap;

    fprintf(stderr, "%s: ", cli_prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

void cli_print_version(void)
{
    printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
}

const struct sl_conf *cli_conf(void)
{
    char *errors = NULL;
    const char *path;

    if (conf)
        return conf;
    path = sl_conf_path(NULL);
    if (sl_conf_load(path, &conf, &errors) < 0) {
        /* every error, one per line, each named by file:line:col */
        char *save = NULL;
        for (char *l = errors ? strtok_r(errors, "\n", &save) : NULL; l;
             l = strtok_r(NULL, "\n", &save))
            cli_error("%s", l);
        if (!errors)
            cli_error("Unable to load configuration %s", path);
        free(errors);
        exit(1);
    }
    return conf;
}

int cli_request(int type, json_t *body, json_t **reply, int *rc, sl_error_t *err)
{
    return cli_request_data(type, body, reply, NULL, rc, err);
}

int cli_request_data(int type, json_t *body, json_t **reply, struct sl_reply_data *data, int *rc,
                     sl_error_t *err)
{
    if (!client) {
        if (!(client = sl_client_create(cli_conf(), err))) {
            *rc = -1;
            *reply = NULL;
            if (data)
                memset(data, 0, sizeof(*data));
            return -1;
        }
    }
    return sl_client_request_data(client, type, body, reply, data, rc, err);
}

int cli_stream_next(struct sl_reply_data *piece, sl_error_t *err)
{
    if (!client) {
        memset(piece, 0, sizeof(*piece));
        return errprintf(err, "no reply under way");
    }
    return sl_client_stream_next(client, piece, err);
}

void cli_fini(void)
{
    sl_client_destroy(client);
    client = NULL;
    sl_conf_destroy(conf);
    conf = NULL;
}

const char *cli_jstr(const json_t *o, const char *key)
{
    const char *s = json_string_value(json_object_get(o, key));
    return s ? s : "";
}

long long cli_jint(const json_t *o, const char *key, long long def)
{
    json_t *v = json_object_get(o, key);

    if (json_is_integer(v))
        return json_integer_value(v);
    if (json_is_real(v))
        return (long long)json_real_value(v);
    return def;
}

bool cli_jbool(const json_t *o, const char *key)
{
    return json_is_true(json_object_get(o, key));
}

char *cli_jjoin(const json_t *o, const char *key, const char *sep, char *buf, size_t size)
{
    json_t *arr = json_object_get(o, key), *v;
    size_t i, len = 0;

    buf[0] = '\0';
    json_array_foreach(arr, i, v)
    {
        const char *s = json_string_value(v);
        if (!s)
            continue;
        int n = snprintf(buf + len, size - len, "%s%s", len ? sep : "", s);
        if (n < 0 || (size_t)n >= size - len)
            break;
        len += n;
    }
    return buf;
}

int cli_user_to_uid(const char *s, uid_t *uid)
{
    struct passwd *pw = getpwnam(s);
    char *end;

    if (pw) {
        *uid = pw->pw_uid;
        return 0;
    }
    if (isdigit((unsigned char)*s)) {
        errno = 0;
        unsigned long v = strtoul(s, &end, 10);
        if (!errno && !*end && v < 0xffffffffUL) {
            *uid = (uid_t)v;
            return 0;
        }
    }
    errno = ENOENT;
    return -1;
}
