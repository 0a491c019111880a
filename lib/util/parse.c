/* parse.c - see parse.h */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include "util/parse.h"

#define MAX_SECONDS ((int64_t)1 << 40)

/* Read an unsigned decimal of at most 12 digits; advance *p. */
static int read_num(const char **p, int64_t *v)
{
    const char *s = *p;
    int n = 0;
    *v = 0;
    while (isdigit((unsigned char)*s) && n < 12) {
        *v = *v * 10 + (*s - '0');
        s++;
        n++;
    }
    if (n == 0 || isdigit((unsigned char)*s))
        return -1;
    *p = s;
    return 0;
}

int parse_time_limit(const char *s, int64_t *seconds, sl_error_t *err)
{
    const char *p = s;
    int64_t f[4] = {0}, d = 0, total;
    int n = 0;
    bool days = false;

    if (!s || !*s)
        return errprintf(err, "empty time limit");
    if (!strcasecmp(s, "UNLIMITED") || !strcasecmp(s, "INFINITE")) {
        *seconds = -1;
        return 0;
    }
    /* unit form: 30s 90m 4h 2d */
    size_t len = strlen(s);
    if (len >= 2 && strchr("smhdSMHD", s[len - 1]) && isdigit((unsigned char)s[len - 2])) {
        int64_t v;
        if (read_num(&p, &v) < 0 || p != s + len - 1)
            goto bad;
        switch (tolower((unsigned char)s[len - 1])) {
        case 's': total = v; break;
        case 'm': total = v * 60; break;
        case 'h': total = v * 3600; break;
        default: total = v * 86400; break;
        }
        goto done;
    }
    if (strchr(s, '-')) {
        if (read_num(&p, &d) < 0 || *p != '-')
            goto bad;
        p++;
        days = true;
    }
    for (;;) {
        if (n == 3 || read_num(&p, &f[n]) < 0)
            goto bad;
        n++;
        if (*p == ':') {
            p++;
            continue;
        }
        if (*p)
            goto bad;
        break;
    }
    if (days) {
        /* days-hours[:minutes[:seconds]] */
        total = d * 86400 + f[0] * 3600 + f[1] * 60 + f[2];
    } else if (n == 1) {
        total = f[0] * 60; /* minutes */
    } else if (n == 2) {
        total = f[0] * 60 + f[1]; /* minutes:seconds */
    } else {
        total = f[0] * 3600 + f[1] * 60 + f[2];
    }
done:
    if (total > MAX_SECONDS)
        return errprintf(err, "time limit \"%s\" is too large", s);
    *seconds = total;
    return 0;
bad:
    errno = EINVAL;
    return errprintf(err, "invalid time \"%s\" (expected minutes, [days-]hours:minutes:seconds, "
                          "a number with s/m/h/d, or UNLIMITED)",
                     s);
}

int parse_size_mb(const char *s, uint64_t *mb, sl_error_t *err)
{
    const char *p = s;
    int64_t v;
    uint64_t mult_kb;

    if (!s || read_num(&p, &v) < 0)
        goto bad;
    switch (toupper((unsigned char)*p)) {
    case 0: mult_kb = 1024; break;
    case 'K': mult_kb = 1; p++; break;
    case 'M': mult_kb = 1024; p++; break;
    case 'G': mult_kb = 1024 * 1024; p++; break;
    case 'T': mult_kb = 1024ULL * 1024 * 1024; p++; break;
    default: goto bad;
    }
    if (toupper((unsigned char)*p) == 'B')
        p++;
    if (*p)
        goto bad;
    if ((uint64_t)v > (UINT64_MAX / mult_kb))
        return errprintf(err, "size \"%s\" is too large", s);
    *mb = ((uint64_t)v * mult_kb + 1023) / 1024;
    return 0;
bad:
    errno = EINVAL;
    return errprintf(err, "invalid size \"%s\" (expected a number with an optional K, M, G or T "
                          "suffix, e.g. 16G)",
                     s ? s : "");
}

char *sl_put_ll(char *o, long long v)
{
    char tmp[SL_LL_DIGITS], *e = tmp + sizeof(tmp), *p = e;
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    memcpy(o, p, (size_t)(e - p));
    return o + (e - p);
}

char *format_time_slurm(int64_t t, char *buf, size_t size)
{
    if (t == -1) {
        snprintf(buf, size, "UNLIMITED");
    } else if (t < 0) {
        snprintf(buf, size, "NONE");
    } else if (t < 86400 && size >= 9) {
        /* [h]h:mm:ss or m:ss, without printf: squeue writes a million */
        int h = (int)(t / 3600), m = (int)(t / 60) % 60, s = (int)(t % 60);
        char *o = buf;
        if (h) {
            if (h >= 10)
                *o++ = (char)('0' + h / 10);
            *o++ = (char)('0' + h % 10);
            *o++ = ':';
            *o++ = (char)('0' + m / 10);
        } else if (m >= 10) {
            *o++ = (char)('0' + m / 10);
        }
        *o++ = (char)('0' + m % 10);
        *o++ = ':';
        *o++ = (char)('0' + s / 10);
        *o++ = (char)('0' + s % 10);
        *o = '\0';
    } else {
        long long d = t / 86400, h = (t / 3600) % 24, m = (t / 60) % 60, s = t % 60;
        if (d)
            snprintf(buf, size, "%lld-%02lld:%02lld:%02lld", d, h, m, s);
        else if (h)
            snprintf(buf, size, "%lld:%02lld:%02lld", h, m, s);
        else
            snprintf(buf, size, "%lld:%02lld", m, s);
    }
    return buf;
}

int parse_int_range(const char *s, long min, long max, long *out, sl_error_t *err)
{
    char *end;
    long v;
    if (!s || !*s)
        return errprintf(err, "expected a number, got nothing");
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || errno == ERANGE || isspace((unsigned char)*s)) {
        errno = EINVAL;
        return errprintf(err, "invalid number \"%s\"", s);
    }
    if (v < min || v > max) {
        errno = ERANGE;
        return errprintf(err, "%ld is out of range %ld..%ld", v, min, max);
    }
    *out = v;
    return 0;
}

int parse_bool(const char *s, bool *out)
{
    static const char *yes[] = {"yes", "true", "on", "1"}, *no[] = {"no", "false", "off", "0"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, yes[i])) {
            *out = true;
            return 0;
        }
        if (!strcasecmp(s, no[i])) {
            *out = false;
            return 0;
        }
    }
    errno = EINVAL;
    return -1;
}

int parse_listen_address(const char *s, struct sockaddr_storage *sa, socklen_t *salen,
                         sl_error_t *err)
{
    char host[INET6_ADDRSTRLEN + 8];
    const char *colon, *port;
    size_t hlen;
    long p;
    bool bracket = false;
    sl_error_t perr;

    if (!s || !*s)
        return errprintf(err, "expected HOST:PORT, got nothing");
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (!close || close[1] != ':')
            return errprintf(err, "an IPv6 address in brackets must be followed by :PORT");
        colon = close + 1;
        hlen = (size_t)(close - s - 1);
        s++;
        bracket = true;
    } else {
        colon = strrchr(s, ':');
        if (!colon)
            return errprintf(err, "no :PORT after the address");
        if (strchr(s, ':') != colon)
            return errprintf(err, "an IPv6 address goes in brackets: [::1]:PORT");
        hlen = (size_t)(colon - s);
    }
    if (hlen == 0)
        return errprintf(err, "no address before the port");
    if (hlen >= sizeof(host))
        return errprintf(err, "the address is too long for an IP address");
    memcpy(host, s, hlen);
    host[hlen] = 0;
    port = colon + 1;
    if (!isdigit((unsigned char)*port) || parse_int_range(port, 0, 65535, &p, &perr) < 0)
        return errprintf(err, "the port must be a number from 0 to 65535");
    memset(sa, 0, sizeof(*sa));
    struct sockaddr_in *in4 = (struct sockaddr_in *)sa;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;
    if (bracket && inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)p);
        *salen = sizeof(*in6);
        return 0;
    }
    if (!bracket && !strcasecmp(host, "localhost"))
        strcpy(host, "127.0.0.1");
    if (!bracket && inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons((uint16_t)p);
        *salen = sizeof(*in4);
        return 0;
    }
    return errprintf(err, "\"%s\" is not an IP address (use an IPv4 address, [IPv6] or "
                          "localhost)", host);
}
