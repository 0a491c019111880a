/* log.h - daemon and tool logging.
 *
 * Messages go to stderr (journald picks them up under systemd) or to a
 * file set with log_set_file(), reopened by log_reopen() on SIGHUP.
 * fatal()/fatalx() are for broken internal invariants and start-up
 * failures only: bad input from users or peers is logged and answered.
 */
#ifndef SL_LOG_H
#define SL_LOG_H

enum log_level { LOG_LVL_ERROR = 0, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG, LOG_LVL_TRACE };

void log_init(const char *progname, int level);
int log_set_file(const char *path);
/* Reopen the log file (after logrotate moved it away: SIGHUP).  0, or -1
 * with errno when it cannot be opened; logging then goes on to the old
 * file.  Not async-signal-safe: call it from the loop, not a handler. */
int log_reopen(void);
/* The file log_set_file() opened, or NULL when logging to stderr. */
const char *log_file_path(void);
void log_set_level(int level);
int log_get_level(void);
int log_level_parse(const char *name); /* "error".."trace"; -1 if unknown */
/* The level a daemon runs at: the configured one (NULL or unknown: info)
 * raised one step per -v, at most trace. */
int log_level_from(const char *name, int verbose);

void log_msg(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define log_err(...) log_msg(LOG_LVL_ERROR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LVL_DEBUG, __VA_ARGS__)
#define log_trace(...) log_msg(LOG_LVL_TRACE, __VA_ARGS__)

/* Log and exit(1); fatal() appends strerror(errno). */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
