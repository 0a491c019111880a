/* error.h - human-readable error text for library calls.
 *
 * Library functions return -1 (or NULL) with errno set, and fill a
 * struct sl_error with a message naming what is wrong.  errprintf()
 * returns -1 so a failure path can be `return errprintf(err, ...);`.
 * err may be NULL.
 */
#ifndef SL_ERROR_H
#define SL_ERROR_H

#define SL_ERROR_TEXT 512

typedef struct sl_error {
    char text[SL_ERROR_TEXT];
} sl_error_t;

int errprintf(sl_error_t *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
