/*
 * test_degenerate.c - the degenerate_repetition detector's words
 * (lib/detect_degenerate.c): the one-pass line scan with 64-byte token
 * masks and hashes taken only as the 3-gram count needs them, against
 * the original two passes (line_words on each kept line, every word
 * hashed, one count), kept in the library as the reference.
 *
 * Texts are generated here (a fixed-seed PRNG, nothing from any data
 * set) from pieces that meet the corner cases of both segmentations:
 * list items, fences, indented code, tables and dividers (skipped
 * lines), apostrophes inside, before, after and doubled, punctuation
 * runs, non-ASCII bytes, CRLF and other blanks, NUL bytes, words longer
 * than 8 and 64 bytes, lines at every offset of a 64-byte block, and
 * repeated lines so that turns also fire. The comparison is exact: the
 * same hashes in the same order, the same word count, the same finding
 * and ratio (bit for bit).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"


static uint64_t rng = UINT64_C(0x9e3779b97f4a7c15);

static uint32_t rnd(uint32_t n) { /* 0..n-1 (xorshift64*) */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return (uint32_t)(((rng * UINT64_C(0x2545f4914f6cdd1d)) >> 32) % n);
}

typedef struct text {
    char *p;
    size_t len, cap;
} text;

static void add(text *t, const char *s, size_t n) {
    if (t->len + n + 1 > t->cap) {
        t->cap = (t->len + n + 1) * 2;
        t->p = realloc(t->p, t->cap);
        assert_non_null(t->p);
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
}

static void adds(text *t, const char *s) {
    add(t, s, strlen(s));
}

/* Pieces inside a line. */
static const char *const inner[] = {
    "word", "Word", "WORDS", "x", "I", "a1b2", "2024", "0", "don't",
    "Don'T", "rock'n'roll", "'tis", "dogs'", "a''b", "''", "'", "' '",
    "it's'", "o'", "'o'", "x'-", "-'x", "9'9", "caf\xc3\xa9", "\xc3\x9f",
    "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e", "\xe2\x80\x94", "a\xe2\x80\x94z",
    "\xe2\x80\x99", "don\xe2\x80\x99t", "\xf0\x9f\x98\x80", "\xff", "\x80x",
    ".", "...", "!?", ",", "**bold**", "`code`", "(x)", "[link](u)", "--",
    "-", "|", "a|b", "#", "~", "=", "_", "*", "+", "1.", "2)", "\"q\"",
    "e.g.", "3.14", "x@y.z", "AbCdEfGhIjKl", "abcdefgh", "abcdefghi",
    "abcdefg'hij", "abcdefgh'ijklmnop'qr", "x\x01y", "\x7f", "[", "`", "{",
    "@", "Z", "z", "A", "a",
};

/* Separators inside a line. */
static const char *const blanks[] = {" ", " ", " ", "  ", "\t", " \t ",
                                     "\v", "\f", "\r", ""};

/* Line starts, some of them skipped lines. */
static const char *const starts[] = {
    "", "", "", "", "", "", "- ", "* ", "+ ", "1. ", "12) ", "3.", "-x ",
    "    ", "   ", "\t", "```", "```c", "  ~~~", "~~~", "| ", "---",
    "***", "===", "- - -", "__", "#", "## ", "> ", "a | b | ", "-",
};

/* Line ends. */
static const char *const ends[] = {"\n", "\n", "\n", "\r\n", "\n\n",
                                   " \n", "\t\r\n"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void gen_line(text *t) {
    uint32_t k, n = rnd(4) == 0 ? rnd(40) : rnd(12);
    adds(t, starts[rnd(N(starts))]);
    for (k = 0; k < n; k++) {
        switch (rnd(20)) {
        case 0: { /* a long word, across 8- and 64-byte pieces */
            uint32_t j, l = 1 + rnd(150);
            for (j = 0; j < l; j++) {
                char c = (char)("abcXYZ019'\xc3"[rnd(rnd(8) ? 9 : 11)]);
                add(t, &c, 1);
            }
            break;
        }
        case 1:
            add(t, "\0", 1); /* NUL inside the text */
            break;
        default:
            adds(t, inner[rnd(N(inner))]);
        }
        adds(t, blanks[rnd(N(blanks))]);
    }
}

/* A turn: lines, some repeated (so that turns also fire), maybe
 * without a final newline. */
static void gen_text(text *t) {
    uint32_t k, nl = rnd(5) == 0 ? rnd(120) : rnd(16);
    size_t mark[8];
    uint32_t nm = 0;
    t->len = 0;
    if (rnd(8) == 0) /* start at any offset of a 64-byte block */
        for (k = rnd(64); k; k--)
            adds(t, "a");
    for (k = 0; k < nl && t->len < 16000; k++) {
        if (nm && rnd(3) == 0) { /* repeat an earlier stretch */
            size_t from = mark[rnd(nm)], n = t->len - from;
            if (n > 1500)
                n = 1500 - rnd(64);
            if (n) {
                if (t->len + n + 1 > t->cap) {
                    t->cap = (t->len + n + 1) * 2;
                    t->p = realloc(t->p, t->cap);
                    assert_non_null(t->p);
                }
                memmove(t->p + t->len, t->p + from, n);
                t->len += n;
            }
        }
        if (nm < 8 && rnd(4) == 0)
            mark[nm++] = t->len;
        gen_line(t);
        adds(t, ends[rnd(N(ends))]);
    }
    if (t->len && rnd(3) == 0)
        t->len--; /* no final newline */
}

/* An exact-size copy with its NUL, so that ASan sees any read past it. */
static char *exact(const text *t) {
    char *p = malloc(t->len + 1);
    assert_non_null(p);
    if (t->len)
        memcpy(p, t->p, t->len);
    p[t->len] = '\0';
    return p;
}

static void same_words(const char *p, size_t len, bool symbols) {
    uint64_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, k;
    bool fa = false, fb = true;
    assert_int_equal(lci_degen_test_words(&lci_default_alloc, p, len,
                                          symbols, false, &a, &na, &fa),
                     LC_OK);
    assert_int_equal(lci_degen_test_words(&lci_default_alloc, p, len,
                                          symbols, true, &b, &nb, &fb),
                     LC_OK);
    if (fa != fb || na != nb ||
        (na && memcmp(a, b, na * sizeof *a) != 0)) {
        for (k = 0; k < na && k < nb && a[k] == b[k]; k++)
            ;
        fail_msg("words differ (symbols %d): fast %d/%d, %zu/%zu words, "
                 "first difference at %zu, text (%zu bytes) \"%.*s\"",
                 (int)symbols, (int)fa, (int)fb, na, nb, k, len,
                 (int)(len < 400 ? len : 400), p);
    }
    lci_free(&lci_default_alloc, a);
    lci_free(&lci_default_alloc, b);
}

static unsigned same_measure(const char *p, size_t len,
                             const lci_token *tok, uint32_t ntok,
                             uint32_t min_words, uint32_t pct) {
    size_t na = 1, nb = 2;
    double ra = -1, rb = -2;
    bool fa = false, fb = true;
    assert_int_equal(lci_degen_test_measure(&lci_default_alloc, min_words,
                                            pct, p, len, tok, ntok, false,
                                            &na, &ra, &fa),
                     LC_OK);
    assert_int_equal(lci_degen_test_measure(&lci_default_alloc, min_words,
                                            pct, p, len, tok, ntok, true,
                                            &nb, &rb, &fb),
                     LC_OK);
    if (na != nb || fa != fb || (fa && memcmp(&ra, &rb, sizeof ra) != 0))
        fail_msg("measure differs (min_words %u, pct %u, %u tokens): "
                 "%zu/%zu words, fires %d/%d, ratio %.17g/%.17g, text "
                 "(%zu bytes) \"%.*s\"",
                 min_words, pct, ntok, na, nb, (int)fa, (int)fb, ra, rb, len,
                 (int)(len < 400 ? len : 400), p);
    return fa ? 1u : 0u;
}

/* Corner cases written out; each is also run at every offset of a
 * block (prefixed by blank lines of 0..64 bytes). */
static const char *const fixed[] = {
    "",
    "a",
    "\n",
    "don't stop",
    "'tis x'",
    "a''b c'''d e'f'g h'-i",
    "x'\ny",
    "dogs' toys",
    "- item\nprose after 'it' isn't",
    "```\ncode\n```\nprose",
    "```\nunclosed fence\nstill code",
    "    indented\n\tindented\nnot",
    "| a | b |\na | b | c\none | bar",
    "---\n***\n- - -\n===\n__ x",
    "abcdefgh'ijklmnop'qrstuvwx abcdefgh",
    "abcdefg'h",
    "....!!!??? ... .",
    "\xc3\xa9t\xc3\xa9 caf\xc3\xa9's",
    "a\0b c\0\0d",
    "CRLF line\r\n- list\r\nmore prose\r\n",
    "x'",
    "'",
    "9'9 1'a a'1",
};

static void test_fixed_cases(void **state) {
    size_t k, pre;
    (void)state;
    for (k = 0; k < N(fixed); k++) {
        for (pre = 0; pre <= 64; pre++) {
            text t = {NULL, 0, 0};
            char *p;
            size_t j;
            for (j = 0; j < pre; j++)
                adds(&t, pre - j == 1 ? "\n" : " ");
            adds(&t, fixed[k]);
            add(&t, "", 0);
            p = exact(&t);
            same_words(p, t.len, false);
            same_words(p, t.len, true);
            free(p);
            free(t.p);
        }
    }
}

/* The words of generated texts: the same hashes in the same order. */
static void test_words_random(void **state) {
    text t = {NULL, 0, 0};
    unsigned k;
    (void)state;
    for (k = 0; k < 4000; k++) {
        char *p;
        gen_text(&t);
        p = exact(&t);
        same_words(p, t.len, false);
        same_words(p, t.len, true);
        free(p);
    }
    free(t.p);
}

/* The detector's result on generated texts, with their own tokens and
 * random settings; some of them must fire. */
static void test_measure_random(void **state) {
    text t = {NULL, 0, 0};
    lc_config *cfg;
    unsigned k, fired = 0, runs = 0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (k = 0; k < 3000; k++) {
        lci_turn turn;
        size_t bad;
        uint32_t pct = rnd(4) ? 50 : 10 + rnd(91);
        uint32_t min_words = rnd(4) ? 30 : 4 + rnd(60);
        gen_text(&t);
        memset(&turn, 0, sizeof turn);
        assert_int_equal(lci_turn_init(&turn, cfg, LC_ROLE_ASSISTANT, NULL,
                                       0, t.len ? t.p : "", t.len, &bad),
                         LC_OK);
        /* the detector reads the turn's text (NUL-terminated copy) */
        fired += same_measure(turn.pub.text, turn.pub.text_len, turn.tokens,
                              turn.ntokens, min_words, pct);
        /* and as symbol spam (fewer tokens than min_words) */
        fired += same_measure(turn.pub.text, turn.pub.text_len, turn.tokens,
                              0, min_words, pct);
        runs += 2;
        lci_turn_free(&turn, &cfg->alloc);
    }
    lc_config_free(cfg);
    free(t.p);
    /* the comparison covered findings, and not only findings */
    assert_true(fired > 50);
    assert_true(fired < runs - 50);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_cases),
        cmocka_unit_test(test_words_random),
        cmocka_unit_test(test_measure_random),
    };
    return cmocka_run_group_tests_name("degenerate", tests, NULL, NULL);
}
