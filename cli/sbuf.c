/*
 * sbuf.c - the CLI's growable strings, allocation wrappers that exit on
 * failure, and the compiler-style diagnostic line.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void *xmalloc(size_t n) {
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "%s: error: out of memory [LC-E090]\n", prog);
        exit(EXIT_INTERNAL);
    }
    return p;
}

void *xrealloc(void *p, size_t n) {
    void *q = realloc(p, n ? n : 1);
    if (!q) {
        fprintf(stderr, "%s: error: out of memory [LC-E090]\n", prog);
        exit(EXIT_INTERNAL);
    }
    return q;
}

char *xstrdup(const char *s) {
    size_t n = strlen(s);
    char *d = xmalloc(n + 1);
    memcpy(d, s, n + 1);
    return d;
}

void sb_free(sbuf *b) {
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void reserve(sbuf *b, size_t extra) {
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    if (b->cap == 0)
        b->cap = 256;
    while (b->cap < need)
        b->cap *= 2;
    b->data = xrealloc(b->data, b->cap);
}

void sb_add(sbuf *b, const char *s, size_t n) {
    reserve(b, n);
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void sb_puts(sbuf *b, const char *s) { sb_add(b, s, strlen(s)); }

/* Formats straight into the free space (at least 128 bytes are made
 * free first), and a second time only when the text did not fit, so a
 * short message is formatted once. There is no measuring call
 * vsnprintf(NULL, 0, ...): with -fsanitize=undefined, gcc 12 adds a null
 * check of its format argument and then warns "null format string"
 * (-Wformat-truncation) on that call, which broke -Werror builds. */
void sb_printf(sbuf *b, const char *fmt, ...) {
    va_list ap;
    size_t room;
    int n;
    reserve(b, 128);
    room = b->cap - b->len; /* >= 129, the NUL included */
    va_start(ap, fmt);
    n = vsnprintf(b->data + b->len, room, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n >= room) {
        reserve(b, (size_t)n);
        va_start(ap, fmt);
        n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
        va_end(ap);
    }
    if (n < 0) { /* an encoding error: nothing is added */
        b->data[b->len] = '\0';
        return;
    }
    b->len += (size_t)n;
}

void sb_json(sbuf *b, const char *s, size_t n) {
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    sb_add(b, "\"", 1);
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        sb_add(b, s + run, i - run);
        run = i + 1;
        switch (c) {
        case '"': sb_add(b, "\\\"", 2); break;
        case '\\': sb_add(b, "\\\\", 2); break;
        case '\n': sb_add(b, "\\n", 2); break;
        case '\r': sb_add(b, "\\r", 2); break;
        case '\t': sb_add(b, "\\t", 2); break;
        default:
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15];
            sb_add(b, u, 6);
        }
    }
    sb_add(b, s + run, n - run);
    sb_add(b, "\"", 1);
}

int sb_write_fn(const char *data, size_t len, void *userdata) {
    sb_add(userdata, data, len);
    return 0;
}

/* Some messages already start with "source:line:col: " (the pattern
 * parser's do); skip that so the location is not printed twice. */
static const char *strip_location(const char *msg, const char *src) {
    size_t n = src ? strlen(src) : 0;
    const char *p;
    if (!msg || !n || strncmp(msg, src, n) != 0 || msg[n] != ':')
        return msg;
    p = msg + n + 1;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == ':' && p[1] >= '0' && p[1] <= '9') {
        p++;
        while (*p >= '0' && *p <= '9')
            p++;
    }
    if (p[0] == ':' && p[1] == ' ')
        return p + 2;
    return msg;
}

void sb_diag(sbuf *b, const char *fallback_source, const lc_error *e) {
    const char *src = e->source && *e->source ? e->source : fallback_source;
    const char *msg = strip_location(e->message, src);
    sb_puts(b, src ? src : "<input>");
    if (e->line) {
        sb_printf(b, ":%llu", (unsigned long long)e->line);
        if (e->column)
            sb_printf(b, ":%llu", (unsigned long long)e->column);
    }
    sb_printf(b, ": %s: %s [%s]\n",
              e->severity == LC_SEVERITY_WARNING ? "warning" : "error",
              msg ? msg : lc_status_str(e->status),
              e->code ? e->code : lc_status_code(e->status));
}
