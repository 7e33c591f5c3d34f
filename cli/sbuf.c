/*
 * sbuf.c - the CLI's growable strings, allocation wrappers that exit on
 * failure, and the compiler-style diagnostic line.
 *
 * Strings from the data (file names, conversation ids, speaker names,
 * turn text) reach the CLI's own output here: sb_json repairs invalid
 * UTF-8 (U+FFFD), sb_term escapes control characters for a terminal, the
 * same rules as the library's writers (doc/formats.md).
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

static const char fffd[3] = {'\xEF', '\xBF', '\xBD'};

/*
 * The code point at s[0..n), n > 0: its length if it is well-formed
 * UTF-8, else 0 with *bad = the length of its maximal ill-formed subpart
 * (each becomes one U+FFFD, as in the library).
 */
static size_t utf8_next(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, k;
    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* C0, DEL or C1 control at s (a well-formed code point of n bytes):
 * the code point, else -1. */
static int control_cp(const unsigned char *s, size_t n) {
    if (s[0] < 0x20 || s[0] == 0x7F)
        return s[0];
    if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0)
        return s[1];
    return -1;
}

static void put_cp_escape(sbuf *b, int cp) {
    static const char hex[] = "0123456789abcdef";
    char u[6];
    u[0] = '\\';
    u[1] = 'u';
    u[2] = '0';
    u[3] = '0';
    u[4] = hex[(cp >> 4) & 15];
    u[5] = hex[cp & 15];
    sb_add(b, u, 6);
}

size_t sb_term_step(sbuf *b, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t n, bad;
    int cp;
    if (s[0] >= 0x20 && s[0] < 0x7F) {
        sb_add(b, str, 1);
        return 1;
    }
    n = utf8_next(s, len, &bad);
    if (!n) {
        sb_add(b, fffd, 3);
        return bad;
    }
    if ((cp = control_cp(s, n)) >= 0)
        put_cp_escape(b, cp);
    else
        sb_add(b, str, n);
    return n;
}

void sb_term(sbuf *b, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    while (i < len) {
        size_t n, bad;
        if (s[i] >= 0x20 && s[i] < 0x7F) {
            i++;
            continue;
        }
        n = utf8_next(s + i, len - i, &bad);
        if (n && control_cp(s + i, n) < 0) {
            i += n; /* other non-ASCII code points as they are */
            continue;
        }
        sb_add(b, str + run, i - run);
        i += sb_term_step(b, str + i, len - i);
        run = i;
    }
    sb_add(b, str + run, len - run);
}

void sb_term_str(sbuf *b, const char *s) {
    if (s)
        sb_term(b, s, strlen(s));
}

void eprint_path(const char *path, const char *fmt, ...) {
    sbuf t = {0};
    va_list ap;
    sb_term_str(&t, path);
    sb_add(&t, ": ", 2);
    fputs(t.data, stderr);
    sb_free(&t);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
}

void sb_json(sbuf *b, const char *s, size_t n) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, run = 0;
    sb_add(b, "\"", 1);
    while (i < n) {
        unsigned char c = u[i];
        size_t len = 1, bad = 1;
        if (c >= 0x80) {
            /* well-formed UTF-8 as it is, else U+FFFD: a file name may
             * hold any byte, and JSON text must be UTF-8 */
            if ((len = utf8_next(u + i, n - i, &bad)) != 0) {
                i += len;
                continue;
            }
            sb_add(b, s + run, i - run);
            sb_add(b, fffd, 3);
            i += bad;
            run = i;
            continue;
        }
        if (c >= 0x20 && c != '"' && c != '\\') {
            i++;
            continue;
        }
        sb_add(b, s + run, i - run);
        switch (c) {
        case '"': sb_add(b, "\\\"", 2); break;
        case '\\': sb_add(b, "\\\\", 2); break;
        case '\n': sb_add(b, "\\n", 2); break;
        case '\r': sb_add(b, "\\r", 2); break;
        case '\t': sb_add(b, "\\t", 2); break;
        default: put_cp_escape(b, c); break;
        }
        i++;
        run = i;
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

/* The source name and the message come from the data (a file name, an
 * id or a role quoted in a message): escaped for the terminal. */
void sb_diag(sbuf *b, const char *fallback_source, const lc_error *e) {
    const char *src = e->source && *e->source ? e->source : fallback_source;
    const char *msg = strip_location(e->message, src);
    sb_term_str(b, src ? src : "<input>");
    if (e->line) {
        sb_printf(b, ":%llu", (unsigned long long)e->line);
        if (e->column)
            sb_printf(b, ":%llu", (unsigned long long)e->column);
    }
    sb_printf(b, ": %s: ",
              e->severity == LC_SEVERITY_WARNING ? "warning" : "error");
    sb_term_str(b, msg ? msg : lc_status_str(e->status));
    sb_printf(b, " [%s]\n", e->code ? e->code : lc_status_code(e->status));
}
