/*
 * normalize.c - UTF-8 repair and the comparison normalization of turn text.
 *
 * lci_utf8_repair: every maximal subpart of an ill-formed sequence (Unicode
 * ch. 3, "U+FFFD Substitution of Maximal Subparts", the practice of the W3C
 * and WHATWG decoders) becomes one U+FFFD: lone continuation bytes, C0/C1/
 * F5..FF leads, overlongs, surrogates, > U+10FFFF, truncated sequences. NUL
 * is valid UTF-8 and kept. Valid runs are copied in bulk. *first_bad is
 * SIZE_MAX when nothing was replaced; both counters may be NULL.
 *
 * lci_normalize policy, on valid UTF-8:
 *  1. NFKC with full case folding (utf8proc COMPAT|CASEFOLD|COMPOSE|STABLE);
 *     "Stra\u00DFe" -> "strasse", ligatures and full-width forms -> ASCII.
 *  2. Default-ignorable code points (UTF8PROC_IGNORE: U+00AD, U+200B-200F,
 *     U+2060-2064, U+FEFF, variation selectors, ...) and C0/C1 controls
 *     including NUL are dropped during decomposition, i.e. BEFORE
 *     canonical reordering and composition, so that "e" U+200B U+0301
 *     composes now exactly as it would when the output is normalized
 *     again (idempotence).
 *  3. Quotes fold to ASCII: U+2018 2019 201A 201B 2032 2035 02BC -> ',
 *     U+201C-201F 2033 2036 02EE 301D-301F -> ". They are folded before
 *     decomposition (NFKC would split U+2033 into two primes) and again
 *     after composition (primes that NFKC makes of U+2034, U+2057...);
 *     quotes neither compose nor block composition differently from ASCII
 *     quotes, so this keeps idempotence.
 *  4. Every run of White_Space (tab, LF, CR, VT, FF, NEL, NBSP, U+1680,
 *     U+2000-200A, U+2028/2029, U+202F, U+205F, U+3000) becomes one ASCII
 *     space; leading and trailing whitespace is trimmed. Characters that
 *     are dropped do not split a whitespace run.
 *
 * Fast path invariant (fast != 0): output is byte-identical to the plain
 * path. ASCII is handled inline (A-Z lowered, whitespace collapsed, other
 * C0 controls and DEL dropped - exactly what the utf8proc path does to
 * them), 8 bytes at a time where a block is printable ASCII with single
 * spaces between word bytes (then output == lowercased input). A word
 * (bytes between ASCII whitespace) with a non-ASCII byte is redone by
 * run_word(): its ASCII emitted so far is rolled back, then "boundary"
 * code points (printable ASCII, quotes, and code points that NFKC and
 * case folding leave alone and that take no part in composition or
 * reordering, e.g. most emoji and CJK ideographs) are emitted directly,
 * and each stretch between them goes through the same utf8proc path as
 * the plain one, starting at the boundary before it (a base its marks may
 * compose with). Nothing composes, reorders or is dropped across a
 * boundary or ASCII whitespace, so utf8proc's result over the whole text
 * is the concatenation of its results over these pieces. Both paths feed
 * the same emitter (steps 3 and 4), whose whitespace state carries over.
 * Each input byte is handled at most three times (ASCII emit, rollback,
 * utf8proc).
 *
 * Errors: invalid UTF-8 (callers repair first) gives LC_ERR_UTF8, an
 * allocation failure LC_ERR_NOMEM; either way out->len is restored.
 *
 * Memory: utf8proc_map() is not used (it calls malloc); decomposition goes
 * into a UTF-32 scratch array taken from the output buffer's allocator
 * (or the one given to lci_normalize_ex), sized by utf8proc's own
 * "required size" answer (two-call sizing).
 */
#include "internal.h"

#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

/* ------------------------------------------------------------------ */
/* UTF-8 repair                                                         */
/* ------------------------------------------------------------------ */

size_t lci_utf8_next(const unsigned char *s, size_t n, size_t *bad) {
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
        return 0; /* 80..C1, F5..FF never start a sequence */
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

lc_status lci_utf8_repair(const char *in, size_t len, lci_buf *out,
                          size_t *bad_count, size_t *first_bad) {
    static const char fffd[3] = {'\xEF', '\xBF', '\xBD'};
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0, run = 0, bad = 0, first = SIZE_MAX;
    lc_status st;

    if (!in && len)
        return LC_ERR_INVALID_ARG;
    while (i < len) {
        size_t n, k;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = lci_utf8_next(s + i, len - i, &k)) != 0) {
            i += n;
            continue;
        }
        /* s[i, i+k) is a maximal subpart of an ill-formed sequence */
        if ((st = lci_buf_append(out, in + run, i - run)) != LC_OK ||
            (st = lci_buf_append(out, fffd, 3)) != LC_OK)
            return st;
        if (first == SIZE_MAX)
            first = i;
        bad++;
        i += k;
        run = i;
    }
    if ((st = lci_buf_append(out, in + run, len - run)) != LC_OK)
        return st;
    if (bad_count)
        *bad_count = bad;
    if (first_bad)
        *first_bad = first;
    return lci_buf_terminate(out);
}

/* ------------------------------------------------------------------ */
/* Normalization                                                        */
/* ------------------------------------------------------------------ */

#define DECOMP_OPTS                                                        \
    ((utf8proc_option_t)(UTF8PROC_COMPOSE | UTF8PROC_COMPAT |              \
                         UTF8PROC_CASEFOLD | UTF8PROC_STABLE |             \
                         UTF8PROC_IGNORE))
#define COMPOSE_OPTS                                                       \
    ((utf8proc_option_t)(UTF8PROC_COMPOSE | UTF8PROC_STABLE |              \
                         UTF8PROC_STRIPCC))

typedef struct norm_ctx {
    lci_buf *out;
    size_t start;           /* out->len on entry: our output begins here */
    int pending;            /* whitespace seen since the last emitted char */
    const lci_alloc *sa;    /* where u32 comes from */
    utf8proc_int32_t *u32;  /* decomposition scratch */
    size_t u32cap;          /* in code points */
} norm_ctx;

static int is_space_cp(utf8proc_int32_t u) {
    if (u < 0x80)
        return u == 0x20 || (u >= 0x09 && u <= 0x0D);
    return u == 0x85 || u == 0xA0 || u == 0x1680 ||
           (u >= 0x2000 && u <= 0x200A) || u == 0x2028 || u == 0x2029 ||
           u == 0x202F || u == 0x205F || u == 0x3000;
}

static utf8proc_int32_t fold_quote(utf8proc_int32_t u) {
    switch (u) {
    case 0x02BC: case 0x2018: case 0x2019: case 0x201A: case 0x201B:
    case 0x2032: case 0x2035:
        return '\'';
    case 0x02EE: case 0x201C: case 0x201D: case 0x201E: case 0x201F:
    case 0x2033: case 0x2036: case 0x301D: case 0x301E: case 0x301F:
        return '"';
    default:
        return u;
    }
}

/* Applied by utf8proc to every input code point before decomposition.
 * Controls other than the whitespace ones become U+200B, which
 * UTF8PROC_IGNORE then drops: they must vanish before canonical
 * reordering, or "U+0301 U+0001 U+0F73" would keep U+0301 in front of
 * the marks of U+0F73 until the output is normalized a second time.
 * (UTF8PROC_STRIPCC alone removes them only after reordering.) */
static utf8proc_int32_t prefold(utf8proc_int32_t u, void *data) {
    (void)data;
    if (u < 0xA0) {
        if ((u < 0x20 && (u < 0x09 || u > 0x0D)) ||
            (u >= 0x7F && u != 0x85))
            return 0x200B;
        return u;
    }
    return fold_quote(u);
}

/* Steps 3 and 4 over composed code points. The caller reserved 4*n + 1
 * bytes (a pending space from before may be written first). */
static void emit_cps(norm_ctx *c, const utf8proc_int32_t *cp, size_t n) {
    unsigned char *base = (unsigned char *)c->out->data;
    unsigned char *o = base + c->out->len;
    unsigned char *first = base + c->start;
    size_t i;
    for (i = 0; i < n; i++) {
        utf8proc_int32_t u = cp[i];
        if (is_space_cp(u)) {
            c->pending = 1;
            continue;
        }
        if (c->pending) {
            if (o != first)
                *o++ = ' ';
            c->pending = 0;
        }
        if (u < 0x80) {
            *o++ = (unsigned char)u;
            continue;
        }
        u = fold_quote(u);
        o += utf8proc_encode_char(u, o);
    }
    c->out->len = (size_t)((char *)o - c->out->data);
}

/* lci_buf_reserve(b, extra) without the call when there is room already
 * (twice per word with a non-ASCII byte on the fast path). */
static inline lc_status reserve(lci_buf *b, size_t extra) {
    if (b->cap > b->len && extra < b->cap - b->len)
        return LC_OK; /* len + extra + 1 <= cap */
    return lci_buf_reserve(b, extra);
}

/* The reference path: utf8proc over s[0..n), then the emitter. */
static lc_status run_utf8proc(norm_ctx *c, const char *s, size_t n) {
    const lci_alloc *a = c->sa;
    utf8proc_ssize_t r;
    lc_status st;

    if (n > (size_t)PTRDIFF_MAX / 8)
        return LC_ERR_LIMIT;
    for (;;) {
        r = utf8proc_decompose_custom((const utf8proc_uint8_t *)s,
                                      (utf8proc_ssize_t)n, c->u32,
                                      (utf8proc_ssize_t)c->u32cap,
                                      DECOMP_OPTS, prefold, NULL);
        if (r < 0)
            return r == UTF8PROC_ERROR_NOMEM ? LC_ERR_NOMEM
                   : r == UTF8PROC_ERROR_OVERFLOW ? LC_ERR_LIMIT
                                                  : LC_ERR_UTF8;
        if ((size_t)r <= c->u32cap)
            break;
        /* too small: utf8proc told us the size; grow and decompose again */
        st = lci_grow(a, (void **)&c->u32, sizeof *c->u32, &c->u32cap,
                      (size_t)r);
        if (st != LC_OK)
            return st;
    }
    r = utf8proc_normalize_utf32(c->u32, r, COMPOSE_OPTS);
    if (r < 0)
        return LC_ERR_INTERNAL;
    /* <= 4 bytes per code point, plus a pending space in front */
    if ((size_t)r > SIZE_MAX / 4 - 1 ||
        (st = lci_buf_reserve(c->out, 4 * (size_t)r + 1)) != LC_OK)
        return LC_ERR_NOMEM;
    emit_cps(c, c->u32, (size_t)r);
    return LC_OK;
}

/* ASCII byte classes for the fast path. */
enum { A_WORD = 0, A_SPACE = 1, A_CTRL = 2, A_HIGH = 3 };

/* Class of every byte, as a constant table (static, thread-safe). */
#define C4(b) ascii_class_c(b), ascii_class_c(b + 1), ascii_class_c(b + 2), \
              ascii_class_c(b + 3)
#define ascii_class_c(b)                                                   \
    ((b) >= 0x80 ? A_HIGH                                                  \
     : ((b) == 0x20 || ((b) >= 0x09 && (b) <= 0x0D)) ? A_SPACE             \
     : ((b) < 0x20 || (b) == 0x7F) ? A_CTRL                                \
                                   : A_WORD)
#define C16(b) C4(b), C4(b + 4), C4(b + 8), C4(b + 12)
#define C64(b) C16(b), C16(b + 16), C16(b + 32), C16(b + 48)
static const unsigned char fast_cls[256] = {C64(0), C64(64), C64(128),
                                            C64(192)};
#undef C4
#undef C16
#undef C64
#undef ascii_class_c

/* SWAR helpers over 8 input bytes loaded little- or big-endian as w (only
 * whole-word properties and a byte index derived consistently from the
 * same load are used). */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define LOWS UINT64_C(0x7F7F7F7F7F7F7F7F)

/* High bit set in every byte of x that is zero (exact, no borrows). */
static inline uint64_t swar_zero(uint64_t x) {
    return ~(((x & LOWS) + LOWS) | x | LOWS);
}

/* High bit set in every byte of ASCII w that is 'A'..'Z'. */
static inline uint64_t swar_upper(uint64_t w) {
    return (w + ONES * (0x80 - 'A')) & ~(w + ONES * (0x80 - 'Z' - 1)) &
           HIGHS;
}

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
#define SWAR_BE 1
#else
#define SWAR_BE 0
#endif

/* The high bit of the byte at the highest address. */
static inline uint64_t last_byte_high(void) {
    return SWAR_BE ? UINT64_C(0x80) : UINT64_C(0x80) << 56;
}

/* Index (0..7, by address) of the last byte whose high bit is set in
 * m != 0. */
static inline int swar_last_byte(uint64_t m) {
#if defined(__GNUC__)
    if (SWAR_BE)
        return 7 - __builtin_ctzll(m) / 8;
    return (63 - __builtin_clzll(m)) / 8;
#else
    int k = 7;
    if (SWAR_BE) {
        while (!(m & 0x80)) {
            m >>= 8;
            k--;
        }
    } else {
        while (!(m & (UINT64_C(0x80) << 56))) {
            m <<= 8;
            k--;
        }
    }
    return k;
#endif
}

/* True if all 8 bytes are 0x20..0x7E, no two spaces are adjacent and
 * the last byte is not a space unless `word_next` (the byte after the
 * block is a word byte); *sp gets the space mask. The caller guarantees
 * that the byte before the block is a word byte, or a single space
 * when the block starts with a word byte. */
static inline int swar_simple(uint64_t w, uint64_t *sp, int word_next) {
    uint64_t bad = w & HIGHS;                   /* non-ASCII */
    bad |= ~(w + ONES * 0x60) & HIGHS;          /* < 0x20 (w ASCII) */
    bad |= (w + ONES) & HIGHS;                  /* 0x7F */
    if (bad)
        return 0;
    *sp = swar_zero(w ^ (ONES * 0x20));
    return !(*sp & (*sp >> 8)) && (word_next || !(*sp & last_byte_high()));
}

#if defined(__SSE2__) && !defined(LCI_NO_SIMD)
#include <emmintrin.h>
#define NORM_SSE2 1
/* swar_simple() for the 16 bytes at p, lowercased into o (same
 * conditions: all 0x20..0x7E, no two adjacent spaces, the last one a
 * space only if a word byte follows, looked at only then: p[16] when
 * has_next). Returns 16 when they pass; otherwise the length of their
 * longest prefix that passes the same way: the bytes before the first
 * one that is not 0x20..0x7E and before the first space not followed by
 * a word byte (so the prefix ends with a word byte), which the
 * byte-wise code would only have taken one at a time, each time trying
 * the 16- and 8-byte tests again (a line's last words, the ASCII part of
 * a word with an accent). *spm gets the space mask of what passed, bit
 * k = byte k. All 16 bytes are stored (the caller has room: i and o
 * advance together, 16 bytes of input are left), only the count is
 * kept. The ranges are tested with one signed compare each: adding 0x60
 * maps 0x20..0x7E, and only those, onto -128..-34, and adding 0x3F maps
 * 'A'..'Z' onto -128..-103 (other printable ASCII lands above). */
static inline unsigned sse2_run16(const unsigned char *p, unsigned char *o,
                                  int has_next, unsigned *spm) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i ok = _mm_cmpgt_epi8(_mm_set1_epi8(-33),
                                      _mm_add_epi8(v, _mm_set1_epi8(0x60)));
    const __m128i up = _mm_cmpgt_epi8(_mm_set1_epi8(-102),
                                      _mm_add_epi8(v, _mm_set1_epi8(0x3F)));
    unsigned bad = ~(unsigned)_mm_movemask_epi8(ok) & 0xFFFFu, sp, stop, n;
    sp = (unsigned)_mm_movemask_epi8(_mm_cmpeq_epi8(v, _mm_set1_epi8(' ')));
    stop = bad | (sp & ((sp | bad) >> 1));
    if ((sp & 0x8000u) && !(has_next && fast_cls[p[16]] == A_WORD))
        stop |= 0x8000u;
    _mm_storeu_si128(
        (__m128i *)(void *)o,
        _mm_add_epi8(v, _mm_and_si128(up, _mm_set1_epi8(0x20))));
    if (!stop) {
        *spm = sp;
        return 16;
    }
    n = (unsigned)__builtin_ctz(stop);
    *spm = sp & ((1u << n) - 1);
    return n;
}
#else
#define NORM_SSE2 0
#endif

/* True if u is a "boundary" code point: NFKC + case folding map it to
 * itself, nothing before it can compose or reorder with it or anything
 * after it, and it does not vanish: no decomposition, no case folding,
 * combining class 0, no part in canonical composition, not ignorable,
 * not whitespace, not a control. Hangul jamo and syllables (de)compose
 * algorithmically, outside utf8proc's property tables: excluded too. */
static int cp_invariant(utf8proc_int32_t u) {
    const utf8proc_property_t *p;
    if (u < 0xA0 || (u >= 0x1100 && u <= 0x11FF) ||
        (u >= 0xA960 && u <= 0xA97F) || (u >= 0xAC00 && u <= 0xD7FF) ||
        is_space_cp(u))
        return 0;
    p = utf8proc_get_property(u);
    return p->decomp_seqindex == UINT16_MAX &&
           p->casefold_seqindex == UINT16_MAX && p->combining_class == 0 &&
           p->comb_index == UINT16_MAX && !p->ignorable;
}

/*
 * Letters of the Latin, Greek and Cyrillic blocks: most take part in
 * canonical composition as a base (e, \u0438) or are composites
 * themselves (\u00E9, \u0439), so cp_invariant() excludes them and every
 * accented word went through utf8proc (French and Russian text
 * normalized at 30-40 MB/s). But a letter of these blocks (category L*,
 * combining class 0) is never the second element of a composition, and
 * its decomposition and its case folding start with such a letter:
 * nothing before it composes or reorders with it. Marks after it may
 * compose with it, but then run_word() restarts the utf8proc stretch at
 * it, the last boundary before them. So a letter whose whole
 * normalization is one code point v (itself: \u00E9; or its case fold:
 * \u00C9 -> \u00E9, \u0419 -> \u0439) is a boundary with output v, if v is
 * no longer in UTF-8 than the letter (run_word's output bound). The same
 * holds for a letter whose normalization is two printable ASCII
 * characters no longer than it (\u00DF -> "ss", the commonest German
 * letter outside ASCII), and for the full-width forms U+FF01..FF5E,
 * combining class 0, whose normalization is one printable ASCII
 * character (\uFF0C -> ",", the commonest Chinese punctuation): ASCII
 * characters are never the second element of a composition.
 */

/* u is in the blocks U+00C0-024F, U+0370-052F, U+1E00-1FFF. */
static int letter_block(utf8proc_int32_t u) {
    return (u >= 0xC0 && u < 0x250) || (u >= 0x370 && u < 0x530) ||
           (u >= 0x1E00 && u < 0x2000);
}

/* A letter (L*) of combining class 0; u is in the blocks of letter_block. */
static int alpha_starter(const utf8proc_property_t *p) {
    return p->category >= UTF8PROC_CATEGORY_LU &&
           p->category <= UTF8PROC_CATEGORY_LO && p->combining_class == 0;
}

/* Printable ASCII other than the space. */
static int ascii_graph(utf8proc_int32_t v) {
    return v > 0x20 && v < 0x7F;
}

/* What the whole pipeline (decomposition with case folding, composition,
 * quote folding) makes of u, if u may be a boundary with that output
 * (see above): 1 with out[0] (a letter of those blocks: one code point,
 * no longer in UTF-8; a full-width form: one printable ASCII character),
 * 2 with out[0..1] (a letter: two printable ASCII characters, no longer
 * than it), else 0. */
static int computed_out(utf8proc_int32_t u, utf8proc_int32_t out[2]) {
    utf8proc_int32_t buf[8];
    utf8proc_uint8_t enc[4];
    utf8proc_ssize_t r, n;
    const utf8proc_property_t *p;
    int full = u >= 0xFF01 && u <= 0xFF5E;
    if (!letter_block(u) && !full)
        return 0;
    p = utf8proc_get_property(u);
    if (full ? p->combining_class != 0 : !alpha_starter(p))
        return 0;
    n = utf8proc_encode_char(u, enc);
    r = utf8proc_decompose_custom(enc, n, buf, 8, DECOMP_OPTS, prefold, NULL);
    if (r > 0 && r <= 8)
        r = utf8proc_normalize_utf32(buf, r, COMPOSE_OPTS);
    if (full)
        r = r == 1 && ascii_graph(buf[0]) ? 1 : 0;
    if (r == 1 && buf[0] > 0 && buf[0] < 0xFFFF &&
        utf8proc_encode_char(buf[0], enc) <= n) {
        out[0] = fold_quote(buf[0]);
        return 1;
    }
    if (r == 2 && n >= 2 && ascii_graph(buf[0]) && ascii_graph(buf[1])) {
        out[0] = buf[0];
        out[1] = buf[1];
        return 2;
    }
    return 0;
}

/* boundary_at()'s answer for a non-ASCII code point u (see there): 0,
 * 1 with output *v, 2, or 3 with two ASCII characters in *v (the first
 * in bits 8..15). */
static int boundary_cp(utf8proc_int32_t u, utf8proc_int32_t *v) {
    utf8proc_int32_t f = fold_quote(u), out[2];
    if (f != u) {
        *v = f;
        return 1;
    }
    if (cp_invariant(u))
        return 2;
    switch (computed_out(u, out)) {
    case 1:
        *v = out[0];
        return 1;
    case 2:
        *v = out[0] << 8 | out[1];
        return 3;
    default:
        return 0;
    }
}

/*
 * boundary_cp() of the BMP code points met so far, shared by all
 * threads: 0 not known yet, else (answer + 1) << 16 | output code point;
 * a letter that computed_out() maps to itself is stored as a 2 (same
 * output, and run_word copies runs of them in one go).
 * boundary_cp() is a pure function of u (utf8proc's tables), so racing
 * threads store the same value (relaxed atomics: plain 32-bit loads and
 * stores). It replaced a utf8proc_iterate() and a utf8proc_get_property()
 * call per non-ASCII code point of the fast path; test_normalize compares
 * the fast path with the plain one on every code point.
 */
static atomic_uint boundary_memo[0x10000];

/* boundary_cp() of u < 0x10000 when boundary_memo does not know it
 * yet: computed and stored; the memo's entry. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static unsigned boundary_memo_fill(utf8proc_int32_t u) {
    utf8proc_int32_t w = u;
    int b = boundary_cp(u, &w);
    unsigned m;
    if (b == 1 && w == u)
        b = 2; /* the same output: its own bytes */
    m = ((unsigned)b + 1) << 16 | ((unsigned)w & 0xFFFFu);
    atomic_store_explicit(&boundary_memo[u], m, memory_order_relaxed);
    return m;
}

static inline int boundary_cp_memo(utf8proc_int32_t u, utf8proc_int32_t *v) {
    unsigned m;
    if (u >= 0x10000)
        return boundary_cp(u, v);
    m = atomic_load_explicit(&boundary_memo[u], memory_order_relaxed);
    if (!m)
        m = boundary_memo_fill(u);
    *v = (utf8proc_int32_t)(m & 0xFFFFu);
    return (int)(m >> 16) - 1;
}

/* The code point at s[k..end): its size in *n; returns 1 if it is a
 * boundary whose output is *u (ASCII printable lowered, quotes folded,
 * computed_out()'s letters and full-width forms), 2 if it is a boundary
 * whose output is its input bytes (cp_invariant() code points, and in the
 * BMP letters that computed_out() maps to themselves), 3 if it is a
 * boundary whose output is the two ASCII characters in *u (bits 8..15
 * first: computed_out()'s \u00DF -> "ss"), 0 if it needs utf8proc
 * (ASCII controls, everything else, and bytes that are not UTF-8).
 * Decodes with lci_utf8_decode() (utf8proc_iterate()'s rules). */
static inline int boundary_at(const unsigned char *s, size_t k, size_t end,
                              utf8proc_int32_t *u, size_t *n) {
    unsigned b = s[k];
    size_t r;
    if (b < 0x80) {
        *n = 1;
        *u = (utf8proc_int32_t)(b - 'A' < 26u ? b + 32 : b);
        return fast_cls[b] == A_WORD;
    }
    r = lci_utf8_decode(s + k, end - k, u);
    if (!r) {
        *n = 1;
        return 0;
    }
    *n = r;
    return boundary_cp_memo(*u, u);
}

/* UTF-8 of u (0x80 <= u <= 0xFFFF: computed_out()'s outputs) at o; its
 * length. */
static inline size_t encode_bmp(utf8proc_int32_t u, unsigned char *o) {
    uint32_t v = (uint32_t)u;
    if (v < 0x800) {
        o[0] = (unsigned char)(0xC0 | (v >> 6));
        o[1] = (unsigned char)(0x80 | (v & 0x3F));
        return 2;
    }
    o[0] = (unsigned char)(0xE0 | (v >> 12));
    o[1] = (unsigned char)(0x80 | ((v >> 6) & 0x3F));
    o[2] = (unsigned char)(0x80 | (v & 0x3F));
    return 3;
}

/*
 * One word s[k..end) (no ASCII whitespace in it, at least one non-ASCII
 * byte) of the fast path; output and whitespace state in c. Boundary code
 * points are emitted directly; a stretch that needs utf8proc runs from
 * the last boundary before it (the base its marks may compose with) to
 * the next boundary, whose output is rolled back and redone by
 * run_utf8proc. Composition and reordering never cross a boundary, so
 * this equals utf8proc over the whole word. Each byte is handled at most
 * twice.
 */
static lc_status run_word(norm_ctx *c, const unsigned char *s, size_t k,
                          size_t end) {
    size_t rs = k, rout = c->out->len; /* restart point */
    int rpend = c->pending, pending = c->pending;
    unsigned char *base, *o, *first;
    utf8proc_int32_t u;
    size_t n;
    lc_status st;

    /* direct output never exceeds its input, plus one leading space */
    if ((st = reserve(c->out, end - k + 1)) != LC_OK)
        return st;
    base = (unsigned char *)c->out->data;
    o = base + c->out->len;
    first = base + c->start;
    while (k < end) {
        int b = boundary_at(s, k, end, &u, &n);
        if (b) {
            rs = k;
            rout = (size_t)(o - base);
            rpend = pending;
            if (pending) {
                if (o != first)
                    *o++ = ' ';
                pending = 0;
            }
            if (b == 2) {
                /* and the ones after it that are copied too (Cyrillic,
                 * Greek, accented words, CJK): one copy; the restart
                 * point is the last one */
                size_t from = k;
                k += n;
                while (k < end && s[k] >= 0x80 &&
                       boundary_at(s, k, end, &u, &n) == 2) {
                    rs = k;
                    k += n;
                }
                if (rs != from) {
                    rout = (size_t)(o - base) + (rs - from);
                    rpend = 0;
                }
                if (k - from <= 32) { /* mostly: not worth a call */
                    size_t j = from;
                    for (; k - j >= 8; j += 8, o += 8)
                        memcpy(o, s + j, 8);
                    for (; j < k; j++)
                        *o++ = s[j];
                } else {
                    memcpy(o, s + from, k - from);
                    o += k - from;
                }
                continue;
            } else if (u < 0x80) {
                *o++ = (unsigned char)u;
                k += n; /* 1, or 3 for a folded quote */
                if (k < end && fast_cls[s[k]] == A_WORD) {
                    /* more printable ASCII (fast_cls is A_HIGH from
                     * 0x80 up): the same boundaries, one loop; the
                     * restart point is the last one */
                    do {
                        unsigned ch = s[k++];
                        *o++ = (unsigned char)(ch - 'A' < 26u ? ch + 32 : ch);
                    } while (k < end && fast_cls[s[k]] == A_WORD);
                    rs = k - 1;
                    rout = (size_t)(o - base) - 1;
                    rpend = 0;
                }
                continue;
            } else if (b == 3) {
                *o++ = (unsigned char)(u >> 8);
                *o++ = (unsigned char)(u & 0xFF);
            } else {
                o += encode_bmp(u, o);
            }
            k += n;
            continue;
        }
        for (k += n; k < end && !boundary_at(s, k, end, &u, &n); k += n)
            ;
        c->out->len = rout;
        c->pending = rpend;
        st = run_utf8proc(c, (const char *)s + rs, k - rs);
        if (st != LC_OK)
            return st;
        rs = k;
        rout = c->out->len;
        rpend = pending = c->pending;
        if ((st = reserve(c->out, end - k + 1)) != LC_OK)
            return st;
        base = (unsigned char *)c->out->data;
        o = base + c->out->len;
        first = base + c->start;
    }
    c->out->len = (size_t)(o - base);
    c->pending = pending;
    return LC_OK;
}

/* The first ASCII whitespace byte (A_SPACE: 0x20, 0x09..0x0D) at or
 * after s[i], or len; 8 bytes at a time (words with non-ASCII letters
 * are long in bytes). */
static inline size_t word_end(const unsigned char *s, size_t i, size_t len) {
    while (len - i >= 8) {
        uint64_t w, x, m;
        memcpy(&w, s + i, 8);
        x = w & LOWS; /* no carries between bytes below */
        m = ((x + ONES * (0x80 - 0x09)) & ~(x + ONES * (0x80 - 0x0D - 1)) &
             ~w & HIGHS) |
            swar_zero(w ^ (ONES * 0x20));
        if (m) {
#if defined(__GNUC__)
            if (!SWAR_BE)
                return i + (size_t)__builtin_ctzll(m) / 8;
#endif
            while (fast_cls[s[i]] != A_SPACE) /* one of the 8 is */
                i++;
            return i;
        }
        i += 8;
    }
    while (i < len && fast_cls[s[i]] != A_SPACE)
        i++;
    return i;
}

static lc_status run_fast(norm_ctx *c, const char *in, size_t len) {
    const unsigned char *s = (const unsigned char *)in;
    size_t i = 0;
    size_t word = 0;        /* input index where the current word starts */
    size_t wout = c->start; /* out->len at that point */
    int wpend = 0;          /* c->pending at that point */
    int pending = 0;
    unsigned char *base, *o, *first;
    lc_status st;

    if ((st = lci_buf_reserve(c->out, len)) != LC_OK)
        return st;
    base = (unsigned char *)c->out->data;
    o = base + c->out->len;
    first = base + c->start;
    while (i < len) {
        unsigned b = s[i];
        switch (fast_cls[b]) {
        case A_WORD:
            if (pending) {
                if (o != first)
                    *o++ = ' ';
                pending = 0;
            }
            for (;;) {
                *o++ = (unsigned char)(b - 'A' < 26u ? b + 32 : b);
                i++;
                /* The previous byte is a word byte: whole 8-byte blocks of
                 * printable ASCII with only single spaces between word
                 * bytes are copied lowercased as they are. A block may end
                 * in a space if a word byte follows it, so the next block
                 * starts with a word byte. */
#if NORM_SSE2
                /* the same, 16 bytes at a time; the rollback point is
                 * set once after the run, from the last block with a
                 * space (i and o advance together in the run) */
                {
                    size_t lsp_i = 0;
                    unsigned lsp = 0;
                    for (;;) {
                        unsigned sp, n;
                        if (len - i >= 16) {
                            n = sse2_run16(s + i, o, len - i > 16, &sp);
                        } else {
                            /* the text's last bytes, through a copy padded
                             * with NULs (which stop the run); only what
                             * passes is written to o */
                            unsigned char tin[16], tout[16];
                            if (i == len)
                                break;
                            memset(tin, 0, sizeof tin);
                            memcpy(tin, s + i, len - i);
                            n = sse2_run16(tin, tout, 0, &sp);
                            memcpy(o, tout, n);
                        }
                        if (sp) {
                            lsp = sp;
                            lsp_i = i;
                        }
                        o += n;
                        i += n;
                        if (n < 16)
                            break;
                    }
                    if (lsp) { /* rollback point: before the last space */
                        int p = 31 - __builtin_clz(lsp);
                        word = lsp_i + (size_t)p + 1;
                        wout = (size_t)(o - base) - (i - lsp_i) + (size_t)p;
                        wpend = 1;
                    }
                }
#endif
                while (len - i >= 8) {
                    uint64_t w, sp;
                    int p;
                    memcpy(&w, s + i, 8);
                    if (!swar_simple(w, &sp, len - i > 8 &&
                                                 fast_cls[s[i + 8]] == A_WORD))
                        break;
                    w |= swar_upper(w) >> 2;
                    memcpy(o, &w, 8);
                    if (sp) { /* rollback point: before the last space */
                        p = swar_last_byte(sp);
                        word = i + (size_t)p + 1;
                        wout = (size_t)(o - base) + (size_t)p;
                        wpend = 1;
                    }
                    o += 8;
                    i += 8;
                }
                if (i == len)
                    break;
                b = s[i];
                if (fast_cls[b] != A_WORD)
                    break;
            }
            break;
        case A_SPACE:
            pending = 1;
            i++;
            word = i;
            wout = (size_t)(o - base);
            wpend = 1;
            break;
        case A_CTRL:
            i++;
            break;
        default: { /* non-ASCII: redo the whole word */
            size_t end = word_end(s, i + 1, len);
            c->out->len = wout;
            c->pending = wpend;
            if ((st = run_word(c, s, word, end)) != LC_OK)
                return st;
            pending = c->pending;
            /* ASCII output never exceeds its input */
            if ((st = reserve(c->out, len - end)) != LC_OK)
                return st;
            base = (unsigned char *)c->out->data;
            o = base + c->out->len;
            first = base + c->start;
            i = word = end;
            wout = c->out->len;
            wpend = pending;
            break;
        }
        }
    }
    c->out->len = (size_t)(o - base);
    c->pending = pending;
    return LC_OK;
}

lc_status lci_normalize(const char *in, size_t len, int fast, lci_buf *out) {
    return lci_normalize_ex(in, len, fast, out, out ? out->alloc : NULL);
}

lc_status lci_normalize_ex(const char *in, size_t len, int fast, lci_buf *out,
                           const lci_alloc *scratch) {
    norm_ctx c;
    lc_status st;

    if (!out || (!in && len) || !scratch)
        return LC_ERR_INVALID_ARG;
    c.out = out;
    c.sa = scratch;
    c.start = out->len;
    c.pending = 0;
    c.u32 = NULL;
    c.u32cap = 0;
    if (len == 0)
        st = LC_OK;
    else if (fast)
        st = run_fast(&c, in, len);
    else
        st = run_utf8proc(&c, in, len);
    lci_free(scratch, c.u32);
    if (st != LC_OK) {
        out->len = c.start;
        if (out->data)
            out->data[out->len] = '\0';
        return st;
    }
    return lci_buf_terminate(out);
}
