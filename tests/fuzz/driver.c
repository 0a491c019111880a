/* driver.c - replay a fuzz harness's seed corpus without libFuzzer.
 *
 * Linked with one harness (tests/fuzz/fuzz_*.c) it makes the
 * tests/fuzz/replay_* programs that `make check` runs with any compiler:
 * every file of the harness's seed corpus is fed to
 * LLVMFuzzerTestOneInput(), then a few hundred deterministic mutations of
 * each (a fixed pseudo-random sequence per seed file, so a failure
 * reproduces).  With --enable-fuzzing the same harnesses are also linked
 * with libFuzzer (tests/fuzz/fuzz_*, see tests/fuzz/run.sh).
 *
 *   replay_TARGET [-n MUTATIONS] [-s SEED] [-v] [FILE|DIR...]
 *
 * Without FILE or DIR it reads the corpus it was built for (FUZZ_CORPUS)
 * and makes 300 mutations of each seed; given files (say, a crash file
 * libFuzzer saved) it runs just those unless -n says otherwise.  When an
 * input crashes it, the input is written to fuzz-crash-TARGET and its
 * first bytes printed in hex.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#ifndef FUZZ_TARGET
#define FUZZ_TARGET "fuzz"
#endif
#ifndef FUZZ_CORPUS
#define FUZZ_CORPUS "."
#endif

#define DEFAULT_MUTATIONS 300
#define DRIVER_MAX_INPUT (1024 * 1024)

/* Optional hooks: libFuzzer's initialiser, the sanitizers' death callback. */
extern int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));
extern void __sanitizer_set_death_callback(void (*cb)(void)) __attribute__((weak));

struct input {
    char *name;
    uint8_t *data;
    size_t len;
};

/* What is running now, for the crash report. */
static const char *cur_name;
static long cur_mutation = -1;
static const uint8_t *cur_data;
static size_t cur_len;

static void put(const char *s)
{
    ssize_t r = write(2, s, strlen(s));
    (void)r;
}

static void put_num(unsigned long v)
{
    char buf[24];
    int i = sizeof(buf) - 1;
    buf[i] = '\0';
    do {
        buf[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    put(buf + i);
}

/* Async-signal-safe: only write(2) and open(2). */
static void report_crash(void)
{
    static const char hex[] = "0123456789abcdef";
    char line[3 * 32 + 2];

    if (!cur_data)
        return;
    put("\n" FUZZ_TARGET ": crashed on input ");
    put(cur_name ? cur_name : "?");
    if (cur_mutation >= 0) {
        put(" mutation #");
        put_num((unsigned long)cur_mutation);
    }
    put(" (");
    put_num((unsigned long)cur_len);
    put(" bytes), saved as fuzz-crash-" FUZZ_TARGET "; first bytes:\n");
    int fd = open("fuzz-crash-" FUZZ_TARGET, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
        ssize_t r = write(fd, cur_data, cur_len);
        (void)r;
        close(fd);
    }
    for (size_t off = 0; off < cur_len && off < 512; off += 32) {
        size_t n = 0;
        for (size_t i = off; i < cur_len && i < off + 32; i++) {
            line[n++] = hex[cur_data[i] >> 4];
            line[n++] = hex[cur_data[i] & 15];
            line[n++] = ' ';
        }
        line[n++] = '\n';
        line[n] = '\0';
        put(line);
    }
    cur_data = NULL;
}

static void on_signal(int sig)
{
    report_crash();
    signal(sig, SIG_DFL);
    raise(sig);
}

static void install_handlers(void)
{
    if (__sanitizer_set_death_callback) {
        /* the sanitizers handle SIGSEGV & co. themselves */
        __sanitizer_set_death_callback(report_crash);
    } else {
        signal(SIGSEGV, on_signal);
        signal(SIGBUS, on_signal);
        signal(SIGFPE, on_signal);
        signal(SIGILL, on_signal);
    }
    signal(SIGABRT, on_signal); /* FUZZ_BUG(), assert() */
}

static int read_file(const char *path, struct input *in)
{
    FILE *fp = fopen(path, "rb");
    size_t cap = 4096;

    if (!fp)
        return -1;
    in->data = malloc(cap);
    in->len = 0;
    for (;;) {
        if (in->len == cap) {
            cap *= 2;
            in->data = realloc(in->data, cap);
        }
        if (!in->data)
            abort();
        size_t got = fread(in->data + in->len, 1, cap - in->len, fp);
        if (got == 0)
            break;
        in->len += got;
    }
    int bad = ferror(fp);
    fclose(fp);
    in->name = strdup(path);
    return bad ? -1 : 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Append path (a file, or a directory's regular files in name order). */
static int add_path(const char *path, struct input **v, size_t *n)
{
    struct stat st;

    if (stat(path, &st) < 0) {
        fprintf(stderr, "%s: %s: %s\n", FUZZ_TARGET, path, strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        *v = realloc(*v, (*n + 1) * sizeof(**v));
        if (!*v)
            abort();
        if (read_file(path, &(*v)[*n]) < 0) {
            fprintf(stderr, "%s: cannot read %s: %s\n", FUZZ_TARGET, path, strerror(errno));
            return -1;
        }
        (*n)++;
        return 0;
    }
    DIR *d = opendir(path);
    if (!d) {
        fprintf(stderr, "%s: %s: %s\n", FUZZ_TARGET, path, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t nn = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        names = realloc(names, (nn + 1) * sizeof(*names));
        if (!names || !(names[nn] = malloc(strlen(path) + strlen(e->d_name) + 2)))
            abort();
        sprintf(names[nn++], "%s/%s", path, e->d_name);
    }
    closedir(d);
    if (nn)
        qsort(names, nn, sizeof(*names), cmp_str);
    int rc = 0;
    for (size_t i = 0; i < nn; i++) {
        if (rc == 0 && stat(names[i], &st) == 0 && S_ISREG(st.st_mode))
            rc = add_path(names[i], v, n);
        free(names[i]);
    }
    free(names);
    return rc;
}

/* splitmix64: small, fast and the same everywhere. */
static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static size_t below(size_t n)
{
    return n ? (size_t)(rnd() % n) : 0;
}

static uint64_t hash_name(const char *s)
{
    const char *base = strrchr(s, '/');
    uint64_t h = 1469598103934665603ULL; /* FNV-1a of the base name */
    for (const char *p = base ? base + 1 : s; *p; p++)
        h = (h ^ (unsigned char)*p) * 1099511628211ULL;
    return h;
}

/* Bytes and words that matter to the parsers under test. */
static const char special[] = "0123456789[]{}-,:\"'\\#=%@*.~ \t\r\n/_+xXkKmMgGtTsShHdD";
static const char *const words[] = {
    "0",        "-1",           "4294967295", "4294967296",          "18446744073709551615",
    "2147483648", "999999999999", "9999999999999", "UNLIMITED",     "null",
    "true",     "[]",           "{}",         "\\u0000",             "&a ",
    "*a",       "[1-1000000]",  "[001-009]",  "#SBATCH ",            "--mem=",
    "--time=",  "-t ",          "\"v\":1",    "\"type\":\"reply\"", "1-12:00:00",
    "2G",       "nodes: ",      "- ",         "    ",
};

static void insert(uint8_t *buf, size_t *len, size_t at, const void *src, size_t n)
{
    if (*len + n > DRIVER_MAX_INPUT)
        return;
    memmove(buf + at + n, buf + at, *len - at);
    memcpy(buf + at, src, n);
    *len += n;
}

/* One stacked mutation of seed (len bytes) into buf (DRIVER_MAX_INPUT bytes). */
static size_t mutate(uint8_t *buf, const struct input *seed, const struct input *all, size_t nall)
{
    size_t len = seed->len < DRIVER_MAX_INPUT ? seed->len : DRIVER_MAX_INPUT;
    int ops = 1 + (int)below(4);

    memcpy(buf, seed->data, len);
    while (ops--) {
        size_t at = below(len + 1), n;
        switch (below(11)) {
        case 0: /* flip a bit */
            if (len)
                buf[below(len)] ^= (uint8_t)(1u << below(8));
            break;
        case 1: /* any byte */
            if (len)
                buf[below(len)] = (uint8_t)rnd();
            break;
        case 2: /* a special byte */
            if (len)
                buf[below(len)] = (uint8_t)special[below(sizeof(special) - 1)];
            break;
        case 3: /* insert a special byte */
            insert(buf, &len, at, &special[below(sizeof(special) - 1)], 1);
            break;
        case 4: /* insert a word */ {
            const char *w = words[below(sizeof(words) / sizeof(words[0]))];
            insert(buf, &len, at, w, strlen(w));
            break;
        }
        case 5: /* delete a few bytes */
            if (at < len) {
                n = 1 + below(len - at < 16 ? len - at : 16);
                memmove(buf + at, buf + at + n, len - at - n);
                len -= n;
            }
            break;
        case 6: /* duplicate a chunk */
            if (len) {
                size_t from = below(len);
                n = 1 + below(len - from < 64 ? len - from : 64);
                uint8_t tmp[64];
                memcpy(tmp, buf + from, n);
                insert(buf, &len, at, tmp, n);
            }
            break;
        case 7: /* truncate */
            len = at;
            break;
        case 8: /* splice in the tail of another seed */ {
            const struct input *o = &all[below(nall)];
            size_t from = below(o->len + 1);
            n = o->len - from;
            if (at + n > DRIVER_MAX_INPUT)
                n = DRIVER_MAX_INPUT - at;
            memcpy(buf + at, o->data + from, n);
            len = at + n;
            break;
        }
        case 9: /* swap two bytes */
            if (len) {
                size_t i = below(len), j = below(len);
                uint8_t t = buf[i];
                buf[i] = buf[j];
                buf[j] = t;
            }
            break;
        default: /* a NUL or a 0xff */
            if (len)
                buf[below(len)] = rnd() & 1 ? 0 : 0xff;
            break;
        }
    }
    return len;
}

/* Run one input from an exactly-sized heap copy, so that the sanitizers
 * see any read past its end. */
static void run_one(const char *name, long mutation, const uint8_t *data, size_t len)
{
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        abort();
    if (len)
        memcpy(copy, data, len);
    cur_name = name;
    cur_mutation = mutation;
    cur_data = copy;
    cur_len = len;
    LLVMFuzzerTestOneInput(copy, len);
    cur_data = NULL;
    free(copy);
}

static void usage(void)
{
    fprintf(stderr, "usage: %s [-n MUTATIONS] [-s SEED] [-v] [FILE|DIR...]\n"
                    "  replays FILEs (default: the seed corpus %s, with %d mutations of each)\n",
            FUZZ_TARGET, FUZZ_CORPUS, DEFAULT_MUTATIONS);
}

int main(int argc, char **argv)
{
    long mutations = -1;
    uint64_t seed = 0;
    bool verbose = false;
    int c;
    struct input *in = NULL;
    size_t n = 0;

    while ((c = getopt(argc, argv, "n:s:vh")) != -1) {
        switch (c) {
        case 'n':
            mutations = strtol(optarg, NULL, 10);
            break;
        case 's':
            seed = strtoull(optarg, NULL, 0);
            break;
        case 'v':
            verbose = true;
            break;
        default:
            usage();
            return c == 'h' ? 0 : 2;
        }
    }
    if (optind == argc) {
        if (add_path(FUZZ_CORPUS, &in, &n) < 0)
            return 2;
        if (mutations < 0)
            mutations = DEFAULT_MUTATIONS;
    } else {
        for (int i = optind; i < argc; i++)
            if (add_path(argv[i], &in, &n) < 0)
                return 2;
        if (mutations < 0)
            mutations = 0;
    }
    if (n == 0) {
        fprintf(stderr, "%s: no inputs\n", FUZZ_TARGET);
        return 2;
    }

    install_handlers();
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);

    uint8_t *buf = malloc(DRIVER_MAX_INPUT);
    if (!buf)
        abort();
    unsigned long runs = 0;
    for (size_t i = 0; i < n; i++) {
        if (verbose)
            fprintf(stderr, "%s: %s (%zu bytes)\n", FUZZ_TARGET, in[i].name, in[i].len);
        run_one(in[i].name, -1, in[i].data, in[i].len);
        runs++;
        rng_state = 0x5eed5eed5eedULL ^ seed ^ hash_name(in[i].name);
        for (long m = 0; m < mutations; m++) {
            size_t len = mutate(buf, &in[i], in, n);
            run_one(in[i].name, m, buf, len);
            runs++;
        }
    }
    printf("%s: %lu inputs run (%zu seed files, %ld mutations each), no crash\n", FUZZ_TARGET,
           runs, n, mutations);
    for (size_t i = 0; i < n; i++) {
        free(in[i].name);
        free(in[i].data);
    }
    free(in);
    free(buf);
    return 0;
}
