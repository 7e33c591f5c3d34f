/*
 * test_tokens.c - word tokens over normalized text: boundaries, inner
 * apostrophes, CJK, marks, flags (turn/sentence start, quoted, number,
 * CJK), hashes, the quoted-span limit, array reuse/allocation, and the
 * fast path against the byte-wise reference.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xxhash.h>

#include "internal.h"
#include "testutil.h"

#define TS LCI_TOK_TURN_START
#define SS LCI_TOK_SENT_START
#define Q LCI_TOK_QUOTED
#define CJK LCI_TOK_CJK
#define NUM LCI_TOK_NUMBER

typedef struct want {
    const char *text;
    uint32_t flags;
} want;

/* Normalize `raw` (fast path), tokenize, and compare with want[]. */
static void expect_tokens(const char *raw, const want *w, size_t nw) {
    lci_buf norm;
    lci_token *t = NULL;
    uint32_t n = 0, i;
    lci_buf_init(&norm, &lci_default_alloc);
    assert_int_equal(lci_normalize(raw, strlen(raw), 1, &norm), LC_OK);
    assert_int_equal(lci_tokenize(&lci_default_alloc, norm.data, norm.len,
                                  &t, &n),
                     LC_OK);
    for (i = 0; i < n && i < nw; i++) {
        const char *tok = norm.data + t[i].off;
        if (t[i].len != strlen(w[i].text) ||
            memcmp(tok, w[i].text, t[i].len) || t[i].flags != w[i].flags)
            fail_msg("token %u: got \"%.*s\"/%u, want \"%s\"/%u", i,
                     (int)t[i].len, tok, t[i].flags, w[i].text,
                     w[i].flags);
        assert_true(t[i].hash == lci_hash(tok, t[i].len));
    }
    assert_int_equal(n, nw);
    lci_free(&lci_default_alloc, t);
    lci_buf_free(&norm);
}
#define EXPECT(raw, ...)                                                   \
    do {                                                                   \
        static const want w_[] = {__VA_ARGS__};                            \
        expect_tokens(raw, w_, sizeof w_ / sizeof w_[0]);                  \
    } while (0)

static void test_example_sentence(void **state) {
    (void)state;
    EXPECT("I'm sorry. As an AI, I can't \u2014 1-800-273-TALK "
           "\u65E5\u672C\u8A9E",
           {"i'm", TS | SS}, {"sorry", 0}, {"as", SS}, {"an", 0},
           {"ai", 0}, {"i", 0}, {"can't", 0}, {"1", NUM}, {"800", NUM},
           {"273", NUM}, {"talk", 0}, {"\u65E5", CJK}, {"\u672C", CJK},
           {"\u8A9E", CJK});
}

static void test_apostrophes(void **state) {
    (void)state;
    /* curly apostrophes were folded by normalization */
    EXPECT("I\u2019M don\u2019t rock'n'roll 'tis 90's don' o''k",
           {"i'm", TS | SS}, {"don't", 0}, {"rock'n'roll", 0}, {"tis", 0},
           {"90", NUM}, {"s", 0}, {"don", 0}, {"o", 0}, {"k", 0});
}

static void test_sentences(void **state) {
    (void)state;
    EXPECT("pi is 3.14! see example.com... ok? e.g. yes",
           {"pi", TS | SS}, {"is", 0}, {"3", NUM}, {"14", NUM},
           {"see", SS}, {"example", 0}, {"com", 0}, {"ok", SS},
           {"e", SS}, {"g", 0}, {"yes", SS});
    EXPECT("what?no wow!!!x", {"what", TS | SS}, {"no", SS}, {"wow", 0},
           {"x", SS});
    /* full-width punctuation and the ideographic full stop */
    EXPECT("\u3067\u3059\u3002\u6B21\uFF01\u306F\uFF1F\u3044",
           {"\u3067", TS | SS | CJK}, {"\u3059", CJK}, {"\u6B21", SS | CJK},
           {"\u306F", SS | CJK}, {"\u3044", SS | CJK});
    /* a colon is not a sentence end */
    EXPECT("note: fine", {"note", TS | SS}, {"fine", 0});
}

static void test_quotes(void **state) {
    (void)state;
    EXPECT("He said \u201CNo way.\u201D OK \"x\" \"\" y",
           {"he", TS | SS}, {"said", 0}, {"no", Q}, {"way", Q},
           {"ok", SS}, {"x", Q}, {"y", 0});
    /* an unmatched quote marks nothing */
    EXPECT("say \"hi and bye", {"say", TS | SS}, {"hi", 0}, {"and", 0},
           {"bye", 0});
}

static void test_quote_span_limit(void **state) {
    lci_buf raw, norm;
    lci_token *t = NULL;
    uint32_t n = 0, i;
    (void)state;
    lci_buf_init(&raw, &lci_default_alloc);
    lci_buf_init(&norm, &lci_default_alloc);
    /* a stray quote, 300 words, then a properly quoted "inner" */
    assert_int_equal(lci_buf_append(&raw, "\"", 1), LC_OK);
    for (i = 0; i < 300; i++)
        assert_int_equal(lci_buf_append(&raw, "w ", 2), LC_OK);
    assert_int_equal(lci_buf_append(&raw, "\"inner\" tail", 12), LC_OK);
    assert_int_equal(lci_normalize(raw.data, raw.len, 1, &norm), LC_OK);
    assert_int_equal(
        lci_tokenize(&lci_default_alloc, norm.data, norm.len, &t, &n), LC_OK);
    assert_int_equal(n, 302);
    for (i = 0; i < 300; i++)
        assert_int_equal(t[i].flags & Q, 0);
    assert_int_equal(t[300].len, 5);
    assert_true(t[300].flags & Q);
    assert_int_equal(t[301].flags & Q, 0);
    lci_free(&lci_default_alloc, t);

    /* exactly 200 quoted tokens are still a quotation */
    raw.len = 0;
    assert_int_equal(lci_buf_append(&raw, "a \"", 3), LC_OK);
    for (i = 0; i < 200; i++)
        assert_int_equal(lci_buf_append(&raw, "w ", 2), LC_OK);
    assert_int_equal(lci_buf_append(&raw, "\" b", 3), LC_OK);
    norm.len = 0;
    assert_int_equal(lci_normalize(raw.data, raw.len, 1, &norm), LC_OK);
    t = NULL;
    assert_int_equal(
        lci_tokenize(&lci_default_alloc, norm.data, norm.len, &t, &n), LC_OK);
    assert_int_equal(n, 202);
    assert_int_equal(t[0].flags & Q, 0);
    for (i = 1; i <= 200; i++)
        assert_true(t[i].flags & Q);
    assert_int_equal(t[201].flags & Q, 0);
    lci_free(&lci_default_alloc, t);
    lci_buf_free(&raw);
    lci_buf_free(&norm);
}

static void test_scripts_and_marks(void **state) {
    (void)state;
    /* accented Latin, Greek, Cyrillic, Arabic, Devanagari with a vowel
     * sign (a mark), Hangul syllables, kana with a voiced mark */
    EXPECT("Caf\u00E9 \u03BB\u03CC\u03B3\u03BF\u03C2 \u043C\u0438\u0440 "
           "\u0627\u0644 \u0915\u093F\u0924 \uD55C\uAD6D "
           "\u30AB\u3099",
           {"caf\u00E9", TS | SS}, {"\u03BB\u03CC\u03B3\u03BF\u03C3", 0},
           {"\u043C\u0438\u0440", 0}, {"\u0627\u0644", 0},
           {"\u0915\u093F\u0924", 0}, {"\uD55C", CJK}, {"\uAD6D", CJK},
           {"\u30AC", CJK});
    /* CJK next to Latin, emoji and symbols separate, a bare mark is no
     * token, Arabic-Indic digits are a number, superscript two is 2 */
    EXPECT("abc\u65E5def \U0001F600x\u00A9y \u0301 \u0661\u0662 x\u00B2",
           {"abc", TS | SS}, {"\u65E5", CJK}, {"def", 0}, {"x", 0},
           {"y", 0}, {"\u0661\u0662", NUM}, {"x2", 0});
    /* digits with letters are not a number; Roman numeral -> letters */
    EXPECT("4th 2024 \u2163", {"4th", TS | SS}, {"2024", NUM}, {"iv", 0});
}

static void test_empty_and_reuse(void **state) {
    lci_token *t = NULL;
    uint32_t n = 7;
    const char *s = "one two three";
    (void)state;
    assert_int_equal(lci_tokenize(&lci_default_alloc, "", 0, &t, &n), LC_OK);
    assert_int_equal(n, 0);
    assert_null(t);
    assert_int_equal(lci_tokenize(&lci_default_alloc, "  , . !", 7, &t, &n),
                     LC_OK);
    assert_int_equal(n, 0);
    assert_null(t);
    assert_int_equal(lci_tokenize(&lci_default_alloc, s, strlen(s), &t, &n),
                     LC_OK);
    assert_int_equal(n, 3);
    /* pass the array back: it is reused/resized, old size = *n */
    assert_int_equal(lci_tokenize(&lci_default_alloc, "a b c d e f g h i j",
                                  19, &t, &n),
                     LC_OK);
    assert_int_equal(n, 10);
    assert_int_equal(t[9].off, 18);
    assert_int_equal(lci_tokenize(&lci_default_alloc, "z", 1, &t, &n), LC_OK);
    assert_int_equal(n, 1);
    assert_int_equal(t[0].flags, TS | SS);
    lci_free(&lci_default_alloc, t);
    t = NULL;
    assert_int_equal(lci_tokenize(&lci_default_alloc, NULL, 0, &t, &n),
                     LC_OK);
    assert_int_equal(n, 0);
    assert_int_equal(lci_tokenize(&lci_default_alloc, NULL, 1, &t, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lci_tokenize(&lci_default_alloc, "x", 1, NULL, &n),
                     LC_ERR_INVALID_ARG);
}

static void test_allocator(void **state) {
    lci_buf text;
    long need;
    uint32_t i;
    (void)state;
    lci_buf_init(&text, &lci_default_alloc);
    for (i = 0; i < 500; i++)
        assert_int_equal(lci_buf_printf(&text, "w%u. ", i), LC_OK);
    {
        tu_counting c = {0, 0, 0, 0};
        lci_alloc a = {tu_count_malloc, tu_count_realloc, tu_count_free, &c};
        lci_token *t = NULL;
        uint32_t n = 0;
        assert_int_equal(lci_tokenize(&a, text.data, text.len, &t, &n),
                         LC_OK);
        assert_int_equal(n, 500);
        assert_int_equal(t[499].flags, SS);
        assert_int_equal(c.live, 1);
        /* exactly n elements stay allocated */
        assert_int_equal(c.bytes, 500 * sizeof *t);
        lci_free(&a, t);
        assert_int_equal(c.live, 0);
        need = c.total;
        for (c.fail_at = 1; c.fail_at <= need; c.fail_at++) {
            c.total = c.live = 0;
            t = NULL;
            n = 0;
            assert_int_equal(lci_tokenize(&a, text.data, text.len, &t, &n),
                             LC_ERR_NOMEM);
            assert_null(t);
            assert_int_equal(n, 0);
            assert_int_equal(c.live, 0);
        }
    }
    lci_buf_free(&text);
}

/* The fast path (plain-ASCII runs by bit masks, 64-byte windows) against
 * the byte-wise reference, on pseudo-random text made of the pieces the
 * state machine cares about: words that cross window boundaries, inner
 * apostrophes, dots in numbers and at sentence ends, quotes, digits,
 * upper case (tokenizing text that was not normalized), marks, CJK,
 * emoji, sentence terminators. Raw and normalized, so both kinds of
 * input are covered. */
/* A run of letters longer than LCI_TOK_LEN_MAX (16 MiB - 1) is cut into
 * tokens of at most that many bytes, before a code point, the fast path
 * and the byte-wise one alike: every byte is covered once, each piece's
 * hash is its bytes' hash, and only the first starts the turn. */
static void check_long_run(const char *text, size_t len, uint32_t want_n) {
    lci_token *f = NULL, *r = NULL;
    uint32_t nf = 0, nr = 0, i;
    size_t at = 0;
    assert_int_equal(lci_tokenize(&lci_default_alloc, text, len, &f, &nf),
                     LC_OK);
    assert_int_equal(
        lci_tokenize_plain(&lci_default_alloc, text, len, &r, &nr), LC_OK);
    assert_int_equal(nf, want_n);
    assert_int_equal(nr, nf);
    for (i = 0; i < nf; i++) {
        assert_int_equal(f[i].off, at);
        assert_true(f[i].len >= 1 && f[i].len <= LCI_TOK_LEN_MAX);
        /* a piece never starts inside a code point */
        assert_true(((unsigned char)text[f[i].off] & 0xC0) != 0x80);
        assert_true(f[i].hash == lci_hash(text + f[i].off, f[i].len));
        assert_int_equal(f[i].flags,
                         i == 0 ? (uint32_t)(TS | SS) : 0u);
        assert_int_equal(r[i].off, f[i].off);
        assert_int_equal(r[i].len, f[i].len);
        assert_true(r[i].hash == f[i].hash);
        assert_int_equal(r[i].flags, f[i].flags);
        at += f[i].len;
    }
    assert_int_equal(at, len);
    lci_free(&lci_default_alloc, f);
    lci_free(&lci_default_alloc, r);
}

static void test_long_token_split(void **state) {
    const size_t max = LCI_TOK_LEN_MAX;
    size_t len = 2 * max + 100, k;
    char *text = malloc(len);
    (void)state;
    assert_non_null(text);
    memset(text, 'a', len);
    check_long_run(text, max, 1);     /* at the limit: one token */
    check_long_run(text, max + 1, 2); /* one byte over: two */
    check_long_run(text, len, 3);
    /* a 2-byte letter (U+00E9) across the cut: the piece ends before it */
    for (k = max - 3; k + 1 < max + 3; k += 2) {
        text[k] = (char)0xC3;
        text[k + 1] = (char)0xA9;
    }
    check_long_run(text, max + 10, 2);
    free(text);
}

static void test_fast_equals_plain(void **state) {
    static const char *const piece[] = {
        "a",  "the", "Word", "Z", "7",  "2024", " ",  " ",  "  ", ",",
        "-",  "'",   "\"",   ".", "!",  "?",    "\t", "\n", ";",  "x'y",
        "3.14", "e.g.", "caf\u00E9", "e\u0301", "\u65E5\u672C", "\u3002",
        "\U0001F600", "\u2019", "\u00B2", "\u0661", "\xC2\xA0",
        "don't", "U.S.", "end. Next", "wow!", "\u00E9'a", "a'\u00E9",
        ".\u00E9", "7'a", "a''b", "x.'y", "'", ".",
        "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijklm"};
    const size_t npiece = sizeof piece / sizeof piece[0];
    uint32_t seed = 12345, round;
    lci_buf raw, norm;
    (void)state;
    lci_buf_init(&raw, &lci_default_alloc);
    lci_buf_init(&norm, &lci_default_alloc);
    for (round = 0; round < 20000; round++) {
        uint32_t k, parts, pass;
        raw.len = 0;
        seed = seed * 1103515245u + 12345u;
        parts = (seed >> 16) % 120;
        if (round % 100 == 99) /* past the 512 local slots: growth */
            parts = 1000 + (seed >> 16) % 2000;
        for (k = 0; k < parts; k++) {
            const char *p;
            seed = seed * 1103515245u + 12345u;
            /* mostly words and single spaces, as in real text */
            p = (seed >> 16) % 3 ? piece[(seed >> 20) % 7]
                                 : piece[(seed >> 18) % npiece];
            assert_int_equal(lci_buf_append(&raw, p, strlen(p)), LC_OK);
            if ((seed >> 8) % 2)
                assert_int_equal(lci_buf_append(&raw, " ", 1), LC_OK);
        }
        norm.len = 0;
        assert_int_equal(lci_normalize(raw.data ? raw.data : "", raw.len, 1,
                                       &norm),
                         LC_OK);
        for (pass = 0; pass < 2; pass++) {
            const lci_buf *b = pass ? &norm : &raw;
            const char *text = b->data ? b->data : "";
            lci_token *f = NULL, *r = NULL;
            uint32_t nf = 0, nr = 0, i;
            assert_int_equal(
                lci_tokenize(&lci_default_alloc, text, b->len, &f, &nf),
                LC_OK);
            assert_int_equal(
                lci_tokenize_plain(&lci_default_alloc, text, b->len, &r, &nr),
                LC_OK);
            if (nf != nr)
                fail_msg("round %u: %u tokens, reference %u: \"%.*s\"", round,
                         nf, nr, (int)b->len, text);
            for (i = 0; i < nf; i++)
                if (f[i].off != r[i].off || f[i].len != r[i].len ||
                    f[i].hash != r[i].hash || f[i].flags != r[i].flags)
                    fail_msg("round %u token %u: %u+%u/%u, reference "
                             "%u+%u/%u: \"%.*s\"",
                             round, i, f[i].off, f[i].len, f[i].flags,
                             r[i].off, r[i].len, r[i].flags, (int)b->len,
                             text);
            lci_free(&lci_default_alloc, f);
            lci_free(&lci_default_alloc, r);
        }
    }
    lci_buf_free(&raw);
    lci_buf_free(&norm);
}

/* Every byte value (0x01..0xFF) at every offset of a 40-byte text of
 * letters, digits and spaces, which puts it in each lane of the 16-byte
 * blocks the fast path classifies (tokens.c, alnum16): fast path ==
 * byte-wise reference. */
static void test_fast_equals_plain_bytes(void **state) {
    static const char base[] = "ab 12 cd9 Ef gh 3i jk lm 0n op Q4 rs tu ";
    char text[sizeof base];
    unsigned b;
    size_t at, n = sizeof base - 1;
    (void)state;
    for (b = 1; b < 256; b++) {
        for (at = 0; at < n; at++) {
            lci_token *f = NULL, *r = NULL;
            uint32_t nf = 0, nr = 0, i;
            memcpy(text, base, n);
            text[at] = (char)b;
            assert_int_equal(lci_tokenize(&lci_default_alloc, text, n, &f, &nf),
                             LC_OK);
            assert_int_equal(
                lci_tokenize_plain(&lci_default_alloc, text, n, &r, &nr),
                LC_OK);
            if (nf != nr)
                fail_msg("byte 0x%02X at %zu: %u tokens, reference %u", b, at,
                         nf, nr);
            for (i = 0; i < nf; i++)
                if (f[i].off != r[i].off || f[i].len != r[i].len ||
                    f[i].hash != r[i].hash || f[i].flags != r[i].flags)
                    fail_msg("byte 0x%02X at %zu: token %u differs", b, at, i);
            lci_free(&lci_default_alloc, f);
            lci_free(&lci_default_alloc, r);
        }
    }
}

/* lci_hash is XXH3-64 at every length, whatever path hash.c takes: the
 * plain library function is the reference. */
static void test_hash_lengths(void **state) {
    static unsigned char buf[4100];
    uint32_t seed = 7;
    size_t i;
    (void)state;
    for (i = 0; i < sizeof buf; i++) {
        seed = seed * 1103515245u + 12345u;
        buf[i] = (unsigned char)(seed >> 16);
    }
    assert_true(lci_hash("", 0) == UINT64_C(0x2D06800538D394C2));
    for (i = 0; i <= sizeof buf; i++)
        if (lci_hash(buf, i) != (uint64_t)XXH3_64bits(buf, i))
            fail_msg("length %zu", i);
    for (i = 1; i < 64; i++) /* unaligned starts */
        assert_true(lci_hash(buf + i, 1000) ==
                    (uint64_t)XXH3_64bits(buf + i, 1000));
}

/* tokens.c writes a token's len and flags as one 32-bit word after off
 * (len in the low 24 bits) on x86-64 with GCC or Clang: the members read
 * back what that word holds. */
static void test_token_layout(void **state) {
    (void)state;
#if defined(__GNUC__) && defined(__x86_64__) &&                           \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    {
        lci_token t;
        uint32_t lf = UINT32_C(0x9A123456);
        memset(&t, 0, sizeof t);
        memcpy((unsigned char *)&t + 4, &lf, 4);
        assert_int_equal(t.off, 0);
        assert_int_equal(t.len, 0x123456);
        assert_int_equal(t.flags, 0x9A);
        assert_true(t.hash == 0);
        t.len = 0xABCDEF;
        t.flags = 0x5C;
        memcpy(&lf, (unsigned char *)&t + 4, 4);
        assert_int_equal(lf, UINT32_C(0x5CABCDEF));
    }
#endif
}

/* lci_tokenize == lci_tokenize_plain on the n bytes at text (any bytes:
 * the tokenizer also takes text that was not normalized). Returns 1 and
 * prints the first few if they differ. */
static int tokens_differ(const char *text, size_t n, const char *what) {
    static int printed;
    lci_token *f = NULL, *r = NULL;
    uint32_t nf = 0, nr = 0, i;
    int bad = 0;
    assert_int_equal(lci_tokenize(&lci_default_alloc, text, n, &f, &nf),
                     LC_OK);
    assert_int_equal(lci_tokenize_plain(&lci_default_alloc, text, n, &r, &nr),
                     LC_OK);
    if (nf != nr)
        bad = 1;
    for (i = 0; !bad && i < nf; i++)
        if (f[i].off != r[i].off || f[i].len != r[i].len ||
            f[i].hash != r[i].hash || f[i].flags != r[i].flags)
            bad = 1;
    if (bad && printed++ < 5) {
        size_t k;
        fprintf(stderr, "# %s: %u tokens, reference %u; input:\n# ", what, nf,
                nr);
        for (k = 0; k < n && k < 200; k++)
            fprintf(stderr, "%02x", (unsigned char)text[k]);
        fprintf(stderr, "\n");
    }
    lci_free(&lci_default_alloc, f);
    lci_free(&lci_default_alloc, r);
    return bad;
}

static size_t put_cp(char *o, uint32_t u) {
    if (u < 0x80) {
        o[0] = (char)u;
        return 1;
    }
    if (u < 0x800) {
        o[0] = (char)(0xC0 | (u >> 6));
        o[1] = (char)(0x80 | (u & 0x3F));
        return 2;
    }
    if (u < 0x10000) {
        o[0] = (char)(0xE0 | (u >> 12));
        o[1] = (char)(0x80 | ((u >> 6) & 0x3F));
        o[2] = (char)(0x80 | (u & 0x3F));
        return 3;
    }
    o[0] = (char)(0xF0 | (u >> 18));
    o[1] = (char)(0x80 | ((u >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((u >> 6) & 0x3F));
    o[3] = (char)(0x80 | (u & 0x3F));
    return 4;
}

/* The fast path classifies non-ASCII code points with lci_utf8_decode
 * and a memo of classify() (tokens.c, class_memo), the plain path with
 * utf8proc_iterate and utf8proc_category. EVERY code point
 * U+0080..U+10FFFF except the surrogates (above U+FFFF, which the memo
 * does not cover: the emoji planes U+1F000..1FFFF whole, elsewhere one in
 * 16), in contexts that tell every class apart: alone (letter vs mark),
 * inside a word (word vs CJK vs separator vs sentence end), between
 * digits (Nd vs other numbers), before an inner apostrophe (letter vs
 * number), after a dot and after an apostrophe (the look-ahead). */
static void test_fast_equals_plain_every_cp(void **state) {
    static const char *const ctx[][2] = {
        {"", ""},    {"x", "x"},  {"1", "1"}, {"x", "'y"},
        {"a.", "b"}, {"a'", "b"}, {"\xC3\xA9", " w"}};
    const size_t nc = sizeof ctx / sizeof ctx[0];
    char buf[64];
    uint32_t u;
    size_t i;
    int bad = 0;
    (void)state;
    for (u = 0x80; u <= 0x10FFFF; u = tu_next_cp(u)) {
        for (i = 0; i < nc; i++) {
            size_t n = strlen(ctx[i][0]), m = strlen(ctx[i][1]);
            memcpy(buf, ctx[i][0], n);
            n += put_cp(buf + n, u);
            memcpy(buf + n, ctx[i][1], m);
            bad += tokens_differ(buf, n + m, "every code point");
        }
    }
    assert_int_equal(bad, 0);
}

/* Random strings of pieces that stress the decoder and the classes:
 * invalid, overlong and truncated sequences, surrogates, values above
 * U+10FFFF, noncharacters, U+FFFD, combining marks, CJK, letters of
 * several scripts, digits, sentence ends, quotes, apostrophes, dots;
 * also every piece cut short at its end (a truncated last sequence). */
static void test_fast_equals_plain_random_utf8(void **state) {
    static const char *const piece[] = {
        "a", "Zz", "7", " ", ".", "'", "\"", "!", "\xC3\xA9", "\xD0\xB8",
        "\xD0\x99", "\xCE\xB1", "\xD7\x90", "\xD9\xA3", "\xE0\xA5\xA6",
        "\xCC\x81", "\xCC\xA3", "\xE2\x83\x90", "\xE4\xB8\xAD",
        "\xE3\x81\x82", "\xEA\xB0\x80", "\xE3\x80\x82", "\xEF\xBC\x81",
        "\xEF\xBF\xBD", "\xEF\xBF\xBE", "\xEF\xBF\xBF", "\xEF\xB7\x90",
        "\xF0\x9F\x98\x80", "\xF4\x8F\xBF\xBF", "\xF0\xA0\x80\x80",
        "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xE0\x9F\xBF",
        "\xF0\x8F\xBF\xBF", "\xED\xA0\x80", "\xED\xBF\xBF", "\xED\x9F\xBF",
        "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\x80", "\xBF",
        "\xC2", "\xE4\xB8", "\xF0\x9F\x98", "\xC2\xB2", "\xE2\x85\xA0",
        "\xE2\x80\xBC", "\xD8\x9F", "\xC2\xA0", "\xE2\x80\x8B", "\xCA\xBC",
        "\xE3\x80\x85", "\xEF\xBD\xA6"};
    const size_t np = sizeof piece / sizeof piece[0];
    uint64_t x = 0x2545F4914F6CDD1Du;
    char buf[512];
    int iter, bad = 0;
    (void)state;
    for (iter = 0; iter < 50000; iter++) {
        size_t n = 0, k, parts;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        parts = (size_t)(x % 40);
        for (k = 0; k < parts; k++) {
            const char *p;
            size_t m;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            p = piece[x % np];
            m = strlen(p);
            memcpy(buf + n, p, m);
            n += m;
        }
        bad += tokens_differ(buf, n, "random utf-8");
        if (n)
            bad += tokens_differ(buf, n - 1, "random utf-8, cut");
    }
    assert_int_equal(bad, 0);
}

/* The fast path hashes a mostly-ASCII turn's tokens by length class
 * (tokens.c, hash_batch: 1-3, 4-8, 9-16 bytes and longer, 256 tokens a
 * round) and other turns' one by one: both against the plain path, on
 * texts that take either way (an ASCII or a non-ASCII first 256 bytes)
 * and then hold words of every length up to 40 bytes (some with
 * apostrophes, digits, non-ASCII letters, CJK), over 256 tokens long. */
static void test_fast_equals_plain_hash_classes(void **state) {
    static const char *const nonascii[] = {"\xC3\xA9", "\xD0\xB8",
                                           "\xE4\xB8\xAD", "\xCC\x81",
                                           "\xF0\x9F\x98\x80"};
    static const char sep[] = " .,!?\"'-\n";
    static char buf[16384];
    uint64_t x = 0x9E3779B97F4A7C15u;
    int iter, bad = 0;
    (void)state;
    for (iter = 0; iter < 400; iter++) {
        size_t n = 0, k, words;
        int ascii_first = iter & 1;
        if (!ascii_first) /* a non-ASCII first sample */
            for (k = 0; k < 90; k++) {
                memcpy(buf + n, "\xD0\xB8", 2);
                n += 2;
                buf[n++] = k % 3 ? 'a' : ' ';
            }
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        words = 100 + (size_t)(x % 500);
        for (k = 0; k < words && n + 200 < sizeof buf; k++) {
            size_t len, j;
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            len = 1 + (size_t)(x % 40);
            for (j = 0; j < len; j++)
                buf[n++] = (char)("abcdefghijklmnopqrstuvwxyzAB0123456789"
                                  [(x >> (j % 50)) % 38]);
            if (x % 7 == 0) /* an inner apostrophe */
                buf[n - len / 2 - 1] = '\'';
            if ((ascii_first ? k > 60 : 1) && x % 5 == 0) {
                const char *p = nonascii[(x >> 20) % 5];
                memcpy(buf + n, p, strlen(p));
                n += strlen(p);
            }
            buf[n++] = sep[(x >> 30) % (sizeof sep - 1)];
            if (x % 11 == 0)
                buf[n++] = ' ';
        }
        bad += tokens_differ(buf, n, "hash classes");
        bad += tokens_differ(buf + 1, n - 1, "hash classes, shifted");
    }
    assert_int_equal(bad, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_example_sentence),
        cmocka_unit_test(test_apostrophes),
        cmocka_unit_test(test_sentences),
        cmocka_unit_test(test_quotes),
        cmocka_unit_test(test_quote_span_limit),
        cmocka_unit_test(test_scripts_and_marks),
        cmocka_unit_test(test_empty_and_reuse),
        cmocka_unit_test(test_allocator),
        cmocka_unit_test(test_fast_equals_plain),
        cmocka_unit_test(test_fast_equals_plain_bytes),
        cmocka_unit_test(test_fast_equals_plain_every_cp),
        cmocka_unit_test(test_fast_equals_plain_random_utf8),
        cmocka_unit_test(test_fast_equals_plain_hash_classes),
        cmocka_unit_test(test_token_layout),
        cmocka_unit_test(test_hash_lengths),
        cmocka_unit_test(test_long_token_split),
    };
    return cmocka_run_group_tests_name("tokens", tests, NULL, NULL);
}
