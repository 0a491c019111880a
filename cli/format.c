/* format.c - Slurm-style output specifications; see format.h. */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "util/xmalloc.h"

static void add_item(struct fmt_spec *f, struct fmt_item it)
{
    f->items = xrealloc(f->items, (f->count + 1) * sizeof(*f->items));
    f->items[f->count++] = it;
}

/* Append text to the literal item at the end, or start one. */
static void add_literal(struct fmt_spec *f, const char *s, size_t len)
{
    struct fmt_item *last = f->count ? &f->items[f->count - 1] : NULL;

    if (last && last->type == 0) {
        size_t old = strlen(last->text);
        last->text = xrealloc(last->text, old + len + 1);
        memcpy(last->text + old, s, len);
        last->text[old + len] = '\0';
        return;
    }
    struct fmt_item it = {.type = 0, .text = xmalloc(len + 1)};
    memcpy(it.text, s, len);
    it.text[len] = '\0';
    add_item(f, it);
}

struct fmt_spec *fmt_parse(const char *spec, const char *valid, sl_error_t *err)
{
    struct fmt_spec *f = xcalloc(1, sizeof(*f));
    const char *p = spec;

    while (*p) {
        if (*p != '%') {
            size_t n = strcspn(p, "%");
            add_literal(f, p, n);
            p += n;
            continue;
        }
        p++;
        if (*p == '%') {
            add_literal(f, "%", 1);
            p++;
            continue;
        }
        struct fmt_item it = {0};
        for (;; p++) {
            if (*p == '.')
                it.right = true;
            else if (*p == '-')
                it.right = false;
            else if (*p == '#')
                it.autow = true;
            else
                break;
        }
        while (isdigit((unsigned char)*p)) {
            if (it.width < 100000)
                it.width = it.width * 10 + (*p - '0');
            p++;
        }
        if (!*p) {
            errprintf(err, "Invalid format specification: '%s' ends inside a field", spec);
            goto error;
        }
        if (!isalpha((unsigned char)*p) || !strchr(valid, *p)) {
            errprintf(err, "Invalid field '%%%c' in format specification '%s'", *p, spec);
            goto error;
        }
        it.type = *p++;
        add_item(f, it);
    }
    return f;
error:
    fmt_destroy(f);
    return NULL;
}

void fmt_destroy(struct fmt_spec *f)
{
    if (!f)
        return;
    for (size_t i = 0; i < f->count; i++)
        free(f->items[i].text);
    free(f->items);
    free(f);
}

char *fmt_pad(char *buf, size_t size, const char *str, int width, bool right)
{
    if (!str)
        str = "";
    if (width <= 0)
        snprintf(buf, size, "%s", str);
    else if (right)
        snprintf(buf, size, "%*.*s", width, width, str);
    else
        snprintf(buf, size, "%-*.*s", width, width, str);
    return buf;
}

bool fmt_fixed_widths(const struct fmt_spec *f)
{
    for (size_t i = 0; i < f->count; i++)
        if (f->items[i].type && f->items[i].autow)
            return false;
    return true;
}

static void line_put(struct fmt_line *l, size_t *len, const char *s, size_t n, size_t pad,
                     bool pad_left)
{
    if (*len + n + pad + 2 > l->cap) {
        while (*len + n + pad + 2 > l->cap)
            l->cap = l->cap ? l->cap * 2 : 256;
        l->buf = xrealloc(l->buf, l->cap);
    }
    if (pad_left) {
        memset(l->buf + *len, ' ', pad);
        *len += pad;
    }
    memcpy(l->buf + *len, s, n);
    *len += n;
    if (!pad_left) {
        memset(l->buf + *len, ' ', pad);
        *len += pad;
    }
}

/* A cell is cut to its width and padded to it, as printf's "%-*.*s"
 * ("%*.*s" right-justified); width 0 prints it whole. */
static void write_line(FILE *out, const struct fmt_spec *f, const int *widths,
                       const char *const *cells, struct fmt_line *l)
{
    size_t len = 0;
    for (size_t i = 0; i < f->count; i++) {
        const struct fmt_item *it = &f->items[i];
        if (it->type == 0) {
            line_put(l, &len, it->text, strlen(it->text), 0, false);
            continue;
        }
        const char *s = cells[i] ? cells[i] : "";
        int w = widths ? widths[i] : it->width;
        if (w <= 0) {
            line_put(l, &len, s, strlen(s), 0, false);
            continue;
        }
        size_t n = strnlen(s, (size_t)w);
        line_put(l, &len, s, n, (size_t)w - n, it->right);
    }
    l->buf[len++] = '\n';
    fwrite(l->buf, 1, len, out);
}

void fmt_write_line(FILE *out, const struct fmt_spec *f, const char *const *cells,
                    struct fmt_line *line)
{
    write_line(out, f, NULL, cells, line);
}

void fmt_print_table(FILE *out, const struct fmt_spec *f, const char *const *header,
                     char **const *rows, size_t nrows)
{
    int *widths = xcalloc(f->count ? f->count : 1, sizeof(int));

    for (size_t i = 0; i < f->count; i++) {
        const struct fmt_item *it = &f->items[i];
        widths[i] = it->width;
        if (it->type == 0 || !it->autow)
            continue;
        int w = it->width;
        if (header && header[i] && (int)strlen(header[i]) > w)
            w = strlen(header[i]);
        for (size_t r = 0; r < nrows; r++)
            if (rows[r][i] && (int)strlen(rows[r][i]) > w)
                w = strlen(rows[r][i]);
        widths[i] = w;
    }
    struct fmt_line line = {0};
    if (header)
        write_line(out, f, widths, header, &line);
    for (size_t r = 0; r < nrows; r++)
        write_line(out, f, widths, (const char *const *)rows[r], &line);
    free(line.buf);
    free(widths);
}
