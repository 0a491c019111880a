/* format.h - Slurm's "%[.][-][#][width]X" output specifications.
 *
 * squeue -o and sinfo -o describe a table with a printf-like string:
 * each "%X" is a field, optionally right-justified ("."), left-justified
 * ("-", the default), sized to its widest value ("#", sinfo's default
 * format uses it), or padded and truncated to a width.  "%%" is a
 * literal percent sign; any other text is printed as it stands.
 *
 * Pure: no I/O but the FILE given, no cluster; unit-tested in
 * tests/unit/test_cli_format.c.
 */
#ifndef SL_CLI_FORMAT_H
#define SL_CLI_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "util/error.h"

struct fmt_item {
    char type;  /* field letter, or 0 for literal text */
    char *text; /* literal text (type == 0) */
    int width;  /* 0 = print as is */
    bool right; /* '.' */
    bool autow; /* '#': width = widest value, header included */
};

struct fmt_spec {
    struct fmt_item *items;
    size_t count;
};

/* Parse spec.  Every field letter must appear in `valid`; otherwise
 * return NULL with err naming the bad field. */
struct fmt_spec *fmt_parse(const char *spec, const char *valid, sl_error_t *err);
void fmt_destroy(struct fmt_spec *f);

/* Write str into buf justified in width as Slurm's tools do: width 0
 * prints str whole; otherwise str is cut to width and padded with
 * spaces on the right (left-justified) or on the left ('.'). */
char *fmt_pad(char *buf, size_t size, const char *str, int width, bool right);

/* Print a table.  rows[r][i] is the value of item i of row r (ignored
 * for literal items; NULL prints as "").  header[i] likewise, or header
 * NULL for no header line.  '#' widths are computed from header and
 * rows.  Each line ends with '\n'. */
void fmt_print_table(FILE *out, const struct fmt_spec *f, const char *const *header,
                     char **const *rows, size_t nrows);

/* Streaming: true when no item sizes itself to its widest value ('#'),
 * so lines can be printed one at a time with fmt_write_line(). */
bool fmt_fixed_widths(const struct fmt_spec *f);

/* A reusable line buffer for fmt_write_line (zeroed to start; free buf). */
struct fmt_line {
    char *buf;
    size_t cap;
};

/* Print one line of cells (as a row of fmt_print_table, with the items'
 * own widths), built in line and written with one fwrite. */
void fmt_write_line(FILE *out, const struct fmt_spec *f, const char *const *cells,
                    struct fmt_line *line);

#endif
