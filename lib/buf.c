/*
 * buf.c - growable byte buffer used by the reader, normalizer and
 * emitters. Invariant: data[0..len) is valid; cap >= len; data may be
 * NULL when cap == 0.
 */
#include "internal.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void lci_buf_init(lci_buf *b, const lci_alloc *a) {
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->alloc = a;
}

void lci_buf_free(lci_buf *b) {
    lci_free(b->alloc, b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

lc_status lci_buf_reserve(lci_buf *b, size_t extra) {
    size_t need;
    if (extra > SIZE_MAX - b->len - 1)
        return LC_ERR_NOMEM;
    need = b->len + extra + 1; /* room for a terminating NUL */
    return lci_grow(b->alloc, (void **)&b->data, 1, &b->cap, need);
}

lc_status lci_buf_append(lci_buf *b, const void *data, size_t len) {
    lc_status st = lci_buf_reserve(b, len);
    if (st != LC_OK)
        return st;
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    return LC_OK;
}

lc_status lci_buf_putc(lci_buf *b, char c) {
    lc_status st = lci_buf_reserve(b, 1);
    if (st != LC_OK)
        return st;
    b->data[b->len++] = c;
    return LC_OK;
}

/* vsnprintf onto the end of b: through a stack buffer, or straight into
 * b when the text is longer (lci_buf_printf and lci_buf_num). */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 0)))
#endif
static lc_status buf_vprintf(lci_buf *b, const char *fmt, va_list ap) {
    va_list again;
    char small[256];
    int n;
    lc_status st;
    va_copy(again, ap);
    n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        st = LC_ERR_INTERNAL;
    } else if ((size_t)n < sizeof small) {
        st = lci_buf_append(b, small, (size_t)n);
    } else if ((st = lci_buf_reserve(b, (size_t)n)) == LC_OK) {
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
        b->len += (size_t)n;
    }
    va_end(again);
    return st;
}

lc_status lci_buf_printf(lci_buf *b, const char *fmt, ...) {
    va_list ap;
    lc_status st;
    va_start(ap, fmt);
    st = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return st;
}

/* A byte of a formatted number other than its decimal point (the
 * letters of inf and nan are left to lci_num_dot's no-digit rule). */
static int num_byte(char c) {
    return (c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'e' ||
           c == 'E' || c == ' ';
}

size_t lci_num_dot(char *s, size_t len) {
    size_t i, o = 0;
    for (i = 0; i < len && !(s[i] >= '0' && s[i] <= '9'); i++)
        ;
    if (i == len)
        return len; /* inf, nan: no decimal point to fix */
    for (i = 0; i < len;) {
        if (num_byte(s[i])) {
            s[o++] = s[i++];
            continue;
        }
        s[o++] = '.';
        while (i < len && !num_byte(s[i]))
            i++;
    }
    return o;
}

/* Formats with the host's LC_NUMERIC, then puts '.' where the locale's
 * decimal point went: no localeconv() (not thread-safe) and no
 * uselocale() (a per-thread locale object to manage) needed. Thousands
 * grouping (the ' flag) would be mistaken for decimal points; the
 * assertion keeps fmt to one conversion without it. */
lc_status lci_buf_num(lci_buf *b, const char *fmt, ...) {
    va_list ap;
    size_t at = b->len, flen = strlen(fmt);
    lc_status st;
    assert(flen >= 2 && fmt[0] == '%' && !strchr(fmt + 1, '%') &&
           !strchr(fmt, '\'') && strchr("eEfFgG", fmt[flen - 1]));
    (void)flen;
    va_start(ap, fmt);
    st = buf_vprintf(b, fmt, ap);
    va_end(ap);
    if (st == LC_OK)
        b->len = at + lci_num_dot(b->data + at, b->len - at);
    return st;
}

lc_status lci_buf_json_str(lci_buf *b, const char *s, size_t len) {
    static const char hex[] = "0123456789abcdef";
    size_t i, run = 0;
    lc_status st = lci_buf_reserve(b, len + 2);
    if (st != LC_OK)
        return st;
    b->data[b->len++] = '"';
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc = NULL;
        char u[6];
        if (c >= 0x20 && c != '"' && c != '\\')
            continue;
        if ((st = lci_buf_append(b, s + run, i - run)) != LC_OK)
            return st;
        run = i + 1;
        switch (c) {
        case '"': esc = "\\\""; break;
        case '\\': esc = "\\\\"; break;
        case '\n': esc = "\\n"; break;
        case '\r': esc = "\\r"; break;
        case '\t': esc = "\\t"; break;
        default:
            u[0] = '\\'; u[1] = 'u'; u[2] = '0'; u[3] = '0';
            u[4] = hex[c >> 4]; u[5] = hex[c & 15];
            if ((st = lci_buf_append(b, u, 6)) != LC_OK)
                return st;
            continue;
        }
        if ((st = lci_buf_append(b, esc, 2)) != LC_OK)
            return st;
    }
    if ((st = lci_buf_append(b, s + run, len - run)) != LC_OK)
        return st;
    return lci_buf_putc(b, '"');
}

lc_status lci_buf_xml_str(lci_buf *b, const char *s, size_t len) {
    size_t i, run = 0;
    lc_status st;
    for (i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        const char *esc;
        switch (c) {
        case '&': esc = "&amp;"; break;
        case '<': esc = "&lt;"; break;
        case '>': esc = "&gt;"; break;
        case '"': esc = "&quot;"; break;
        case '\'': esc = "&apos;"; break;
        default:
            /* XML 1.0 forbids most C0 controls, even escaped. */
            if (c < 0x20 && c != '\n' && c != '\t' && c != '\r')
                esc = "?";
            else
                continue;
        }
        if ((st = lci_buf_append(b, s + run, i - run)) != LC_OK)
            return st;
        if ((st = lci_buf_append(b, esc, strlen(esc))) != LC_OK)
            return st;
        run = i + 1;
    }
    return lci_buf_append(b, s + run, len - run);
}

lc_status lci_buf_terminate(lci_buf *b) {
    lc_status st = lci_buf_reserve(b, 0);
    if (st != LC_OK)
        return st;
    b->data[b->len] = '\0';
    return LC_OK;
}

char *lci_buf_take(lci_buf *b) {
    char *p;
    if (lci_buf_terminate(b) != LC_OK)
        return NULL;
    p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
