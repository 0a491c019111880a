/* xmalloc.h - abort-on-OOM allocation for daemons and tools.
 * lib/ code proper must not use these: it returns errors instead. */
#ifndef SL_XMALLOC_H
#define SL_XMALLOC_H
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
