/*
 * testutil.h - helpers shared by the unit tests: a growable text buffer
 * (append, printf, and an lc_write_fn that collects output into it),
 * reading a whole file, the fixtures directory, a counting allocator
 * that can fail on demand, and a reader fed a whole buffer (cmocka
 * assertions).
 *
 * Standard C and the public header only, so that the tests linked to the
 * shared library alone (api, alloc, pathological) can use it as well as
 * the ones linked to the internal library. All memory comes from malloc,
 * never from a loopcheck allocator: test_alloc counts those, and its
 * collected output must stay outside the allocator under test. Running
 * out of memory here aborts the test program (it is not what is tested).
 */
#ifndef LC_TEST_TESTUTIL_H
#define LC_TEST_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h> /* after the headers it needs */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopcheck.h"

/* A NUL-terminated byte buffer: data is NULL until the first append,
 * then always terminated. Start with {NULL, 0, 0}; free(data) at the
 * end. */
typedef struct tu_buf {
    char *data;
    size_t len, cap;
} tu_buf;

/* Make room for n more bytes and the terminating NUL. */
static inline void tu_buf_reserve(tu_buf *b, size_t n) {
    size_t nc;
    char *p;
    if (b->len + n + 1 <= b->cap)
        return;
    nc = b->cap ? b->cap : 256;
    while (nc < b->len + n + 1)
        nc *= 2;
    p = realloc(b->data, nc);
    if (!p)
        abort();
    b->data = p;
    b->cap = nc;
}

static inline void tu_buf_add(tu_buf *b, const char *d, size_t n) {
    tu_buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, d, n);
    b->len += n;
    b->data[b->len] = '\0';
}

static inline void tu_buf_printf(tu_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Appends the whole formatted text (no length limit). */
static inline void tu_buf_printf(tu_buf *b, const char *fmt, ...) {
    va_list ap, aq;
    int n;
    va_start(ap, fmt);
    va_copy(aq, ap);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n > 0) {
        tu_buf_reserve(b, (size_t)n);
        vsnprintf(b->data + b->len, (size_t)n + 1, fmt, aq);
        b->len += (size_t)n;
    }
    va_end(aq);
}

/* An lc_write_fn appending to the tu_buf in userdata; never aborts. */
static inline int tu_buf_write(const char *d, size_t n, void *ud) {
    tu_buf_add(ud, d, n);
    return 0;
}

/* The whole file at path, NUL-terminated (malloc'd; free it), its size
 * in *len unless len is NULL; NULL (and size 0) if the file cannot be
 * opened. */
static inline char *tu_slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    tu_buf b = {NULL, 0, 0};
    char tmp[65536];
    size_t n;
    if (len)
        *len = 0;
    if (!f)
        return NULL;
    tu_buf_add(&b, "", 0);
    while ((n = fread(tmp, 1, sizeof tmp, f)) > 0)
        tu_buf_add(&b, tmp, n);
    fclose(f);
    if (len)
        *len = b.len;
    return b.data;
}

/* The fixtures directory: $LC_FIXTURES (set by meson test), else
 * "fixtures" (running from the source root). */
static inline const char *tu_fixtures_dir(void) {
    const char *d = getenv("LC_FIXTURES");
    return d ? d : "fixtures";
}

/* A counting allocator, for an lc_allocator (or the library's internal
 * lci_alloc) whose ctx points to a tu_counting: counts calls and live
 * blocks, tracks live bytes as realloc's old size tells them, and fails
 * malloc/realloc call number fail_at (1-based; 0 = never). */
typedef struct tu_counting {
    long live, total, fail_at;
    size_t bytes;
} tu_counting;

static inline void *tu_count_malloc(void *ctx, size_t n) {
    tu_counting *c = ctx;
    if (c->fail_at && c->total + 1 == c->fail_at)
        return NULL;
    c->total++;
    c->live++;
    c->bytes += n;
    return malloc(n ? n : 1);
}

static inline void *tu_count_realloc(void *ctx, void *p, size_t old,
                                     size_t n) {
    tu_counting *c = ctx;
    if (c->fail_at && c->total + 1 == c->fail_at)
        return NULL;
    c->total++;
    c->bytes = c->bytes - old + n;
    return realloc(p, n ? n : 1);
}

static inline void tu_count_free(void *ctx, void *p) {
    tu_counting *c = ctx;
    c->live--;
    free(p);
}

/* A new reader of cfg, named src unless that is NULL, that has been fed
 * all of data[0..len) in one piece and finished; each step must succeed.
 * The caller takes its conversations and frees it. */
static inline lc_reader *tu_reader_over(const lc_config *cfg, const char *src,
                                        const void *data, size_t len) {
    lc_reader *r = NULL;
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    if (src)
        assert_int_equal(lc_reader_set_source(r, src, strlen(src)), LC_OK);
    assert_int_equal(lc_reader_feed(r, data, len), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    return r;
}

/* The code point after u that the fast-vs-plain tests of the tokenizer
 * and the normalizer walk: every one from U+0080 to U+FFFF but the
 * surrogates, and above it the emoji plane (U+1Fxxx) whole and one in 16
 * of the rest. Past U+10FFFF at the end. */
static inline uint32_t tu_next_cp(uint32_t u) {
    do
        u = u + 1 == 0xD800 ? 0xE000 : u + 1;
    while (u <= 0x10FFFF && u > 0xFFFF && (u >> 12) != 0x1F &&
           (u & 0xF) != 0x7);
    return u;
}

/* Well-formed UTF-8 throughout (a check of the tests' own, independent of
 * emit.c and normalize.c). */
static inline int tu_utf8_ok(const char *p, size_t n) {
    const unsigned char *s = (const unsigned char *)p;
    size_t i = 0, k, need;
    while (i < n) {
        unsigned c = s[i];
        unsigned lo = 0x80, hi = 0xBF;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF)
            need = 1;
        else if (c >= 0xE0 && c <= 0xEF)
            need = 2, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
        else if (c >= 0xF0 && c <= 0xF4)
            need = 3, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
        else
            return 0;
        for (k = 1; k <= need; k++, lo = 0x80, hi = 0xBF)
            if (i + k >= n || s[i + k] < lo || s[i + k] > hi)
                return 0;
        i += need + 1;
    }
    return 1;
}

/* No control character but newline (a line break of the format itself);
 * with `c1`, no C1 control either (XML allows those). */
static inline int tu_no_controls(const char *p, int c1) {
    const unsigned char *s = (const unsigned char *)p;
    for (; *s; s++)
        if ((*s < 0x20 && *s != '\n') || (c1 && *s == 0x7F) ||
            (c1 && s[0] == 0xC2 && s[1] >= 0x80 && s[1] < 0xA0))
            return 0;
    return 1;
}

#endif /* LC_TEST_TESTUTIL_H */
