/* parse.h - Slurm-style values: time limits, memory sizes, integers,
 * booleans, and Slurm's way of printing durations. */
#ifndef SL_PARSE_H
#define SL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "util/error.h"

/* -t/--time and partition limits: "minutes", "minutes:seconds",
 * "hours:minutes:seconds", "days-hours", "days-hours:minutes",
 * "days-hours:minutes:seconds", or with a unit "30s" "90m" "4h" "2d";
 * "UNLIMITED"/"INFINITE" give -1 (SL_TIME_UNLIMITED).  A bare number is
 * minutes, as in Slurm. */
int parse_time_limit(const char *s, int64_t *seconds, sl_error_t *err);

/* Memory sizes: bare number = MiB, suffix K M G T (any case, optional B).
 * Sizes below 1 MiB round up. */
int parse_size_mb(const char *s, uint64_t *mb, sl_error_t *err);

/* Slurm's display: "M:SS" under an hour, "H:MM:SS" under a day,
 * "D-HH:MM:SS" beyond; -1 prints "UNLIMITED", -2 "NONE". */
char *format_time_slurm(int64_t seconds, char *buf, size_t size);

/* v in decimal at out (room for SL_LL_DIGITS bytes), not terminated;
 * returns the end.  Without printf: squeue and the ctld's JSON writer
 * write millions of numbers. */
#define SL_LL_DIGITS 20
char *sl_put_ll(char *out, long long v);

/* Strict integer in [min, max]; the whole string must be a number. */
int parse_int_range(const char *s, long min, long max, long *out, sl_error_t *err);

/* yes/no, true/false, on/off, 1/0 (any case). */
int parse_bool(const char *s, bool *out);

/* An address to listen on, "HOST:PORT": HOST an IPv4 address, an IPv6
 * address in brackets ("[::1]") or "localhost" (127.0.0.1); PORT from 0 to
 * 65535, 0 meaning any free port.  Fills *sa (a sockaddr_in or
 * sockaddr_in6) and *salen. */
int parse_listen_address(const char *s, struct sockaddr_storage *sa, socklen_t *salen,
                         sl_error_t *err);

#endif
