/* daemon.h - what both daemons do at start-up: create their directories
 * and, without -D, detach from the terminal. */
#ifndef SL_DAEMON_H
#define SL_DAEMON_H

#include <sys/types.h>

/* mkdir -p: parents 0755, the last component `mode` (chmod'ed to it when
 * it already exists and chmod_existing is set).  -1 with errno on failure. */
int sl_mkdir_p(const char *path, mode_t mode, int chmod_existing);

/* Fork twice, start a session, chdir /, stdio to /dev/null.  Returns in
 * the daemon; the caller's process exits.  -1 if fork fails. */
int sl_daemonize(void);

#endif
