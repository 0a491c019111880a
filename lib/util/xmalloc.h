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

/* Ask for huge pages under a big buffer (a million-job reply's parsed
 * cells): one fault per 2 MiB instead of per 4 KiB.  A hint only; small
 * buffers and kernels without transparent huge pages ignore it.  Never on
 * a buffer that will be realloc'd: the hint splits its mapping, and
 * glibc's mremap of it then fails and falls back to copying. */
void mem_hint_huge(void *p, size_t n);

#endif
