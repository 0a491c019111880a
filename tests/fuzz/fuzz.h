/* fuzz.h - what the harnesses in tests/fuzz share.
 *
 * Each harness defines LLVMFuzzerTestOneInput().  Built with
 * --enable-fuzzing (clang) it is linked with libFuzzer's main
 * (tests/fuzz/fuzz_*); otherwise, and for `make check`, with
 * tests/fuzz/driver.c, which replays the seed corpus and deterministic
 * mutations of it (tests/fuzz/replay_*).
 *
 * A harness frees all it allocates (libFuzzer runs with LeakSanitizer)
 * and stops the process only through FUZZ_BUG(), for a broken property
 * of the code under test (a round trip that does not give the input
 * back), never for an input the code rightly refuses.
 */
#ifndef SL_FUZZ_H
#define SL_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Report a bug in the code under test and crash, so that libFuzzer (or
 * the replay driver) saves and prints the input. */
#define FUZZ_BUG(...)                                                                             \
    do {                                                                                           \
        fprintf(stderr, "FUZZ BUG (%s:%d): ", __FILE__, __LINE__);                                 \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        abort();                                                                                   \
    } while (0)

/* The input as a C string, cut at its first NUL (the code under test
 * takes C strings: a caller could not pass more).  Free with free(). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    const uint8_t *nul = memchr(data, 0, size);
    size_t n = nul ? (size_t)(nul - data) : size;
    char *s = malloc(n + 1);
    if (!s)
        abort();
    if (n)
        memcpy(s, data, n);
    s[n] = '\0';
    return s;
}

#endif
