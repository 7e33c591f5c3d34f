/*
 * test_patterns.c - the refusal pattern language (lib/patterns.c):
 * built-in library compiles, every syntax element matches what the
 * documentation says, user files add/disable families, errors carry
 * source:line:col, failed loads roll back, max_patterns is enforced, and
 * matching is normalized like turns (case, curly apostrophes, spaces).
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
#include "testutil.h"

typedef struct hits {
    int n;
    lci_pmatch m[16];
} hits;

static int collect(const lci_pmatch *m, void *ud) {
    hits *h = ud;
    if (h->n < 16)
        h->m[h->n++] = *m;
    return 0;
}

/* Config with one user family "t" holding `pat`; asserts it loads. */
static lc_config *cfg_with(const char *pat) {
    lc_config *cfg;
    char buf[1024];
    lc_status st;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    snprintf(buf, sizeof buf, "[family t]\n%s\n", pat);
    st = lc_config_add_patterns(cfg, "t.lcp", buf, strlen(buf));
    if (st != LC_OK)
        fail_msg("pattern %s: %s", pat, lc_config_error(cfg)->message);
    return cfg;
}

/* Number of matches of family "t" in text; first match in *out. */
static int run(lc_config *cfg, const char *text, lci_pmatch *out) {
    lci_turn t;
    size_t bad;
    hits h;
    int fam = lci_family_find(cfg->patterns, "t");
    assert_true(fam >= 0);
    memset(&t, 0, sizeof t);
    memset(&h, 0, sizeof h);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0, text,
                                   strlen(text), &bad),
                     LC_OK);
    lci_patterns_scan(cfg->patterns, t.tokens, t.ntokens, (uint64_t)1 << fam,
                      collect, &h);
    if (out && h.n)
        *out = h.m[0];
    lci_turn_free(&t, &cfg->alloc);
    return h.n;
}

static int matches(const char *pat, const char *text) {
    lc_config *cfg = cfg_with(pat);
    int n = run(cfg, text, NULL);
    lc_config_free(cfg);
    return n;
}

static void test_builtin_compiles(void **state) {
    lci_err e;
    lc_config *cfg;
    size_t i, n;
    static const char *const families[] = {
        "apology_inability", "decline", "ai_disclaimer", "policy",
        "discomfort", "inappropriate", "lecture", "privacy",
        "redirect_professional", "crisis_redirect", "filtered", "refusal_es",
        "refusal_fr", "refusal_de", "refusal_pt", "refusal_it", "refusal_zh",
        "refusal_ja", "pushback",
    };
    (void)state;
    memset(&e, 0, sizeof e);
    if (lci_patterns_selftest(&lci_default_alloc, &e) != LC_OK)
        fail_msg("builtin: %s", e.pub.message);
    lci_err_clear(&e, &lci_default_alloc);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    n = lc_config_pattern_count(cfg);
    assert_true(n > 200);
    for (i = 0; i < n; i++) {
        const lc_pattern_info *pi = lc_config_pattern(cfg, i);
        assert_non_null(pi);
        assert_string_equal(pi->origin, "builtin");
        assert_true(pi->enabled);
        assert_true(strlen(pi->text) > 0);
    }
    assert_null(lc_config_pattern(cfg, n));
    for (i = 0; i < sizeof families / sizeof families[0]; i++)
        if (lci_family_find(cfg->patterns, families[i]) < 0)
            fail_msg("family %s missing", families[i]);
    lc_config_free(cfg);
}

static void test_words_normalized(void **state) {
    (void)state;
    assert_int_equal(matches("i can't help", "Well. I CAN\xE2\x80\x99T   help."), 1);
    assert_int_equal(matches("I  Can't  HELP", "i can't help"), 1);
    /* token boundaries: "as an" never matches inside "has an" */
    assert_int_equal(matches("as an ai", "It has an AI inside."), 0);
    assert_int_equal(matches("as an ai", "Built as an AI helper."), 1);
    assert_int_equal(matches("sorry", "sorrynotsorry"), 0);
}

static void test_alternatives_optional(void **state) {
    (void)state;
    assert_int_equal(matches("i (can't|cannot|am unable to) help", "I am unable to help"), 1);
    assert_int_equal(matches("i (can't|cannot|am unable to) help", "I cannot help"), 1);
    assert_int_equal(matches("i (can't|cannot|am unable to) help", "I will help"), 0);
    assert_int_equal(matches("i [really] can't", "I really can't"), 1);
    assert_int_equal(matches("i [really] can't", "I can't"), 1);
    assert_int_equal(matches("i [really|truly] can't", "I truly can't"), 1);
    /* nesting */
    assert_int_equal(matches("(i (can't|cannot)|we won't) go", "We won't go"), 1);
    assert_int_equal(matches("(i (can't|cannot)|we won't) go", "I cannot go"), 1);
    /* a pattern may start with an alternative or an optional word */
    /* one match per start position: "oh sorry" and "sorry" */
    assert_int_equal(matches("[oh] sorry", "Oh sorry"), 2);
    assert_int_equal(matches("[oh] sorry", "sorry"), 1);
}

static void test_gaps(void **state) {
    (void)state;
    assert_int_equal(matches("sorry ... can't", "sorry but i really can't"), 1);
    assert_int_equal(matches("sorry ... can't", "sorry a b c d e can't"), 1);
    assert_int_equal(matches("sorry ... can't", "sorry a b c d e f can't"), 0);
    assert_int_equal(matches("sorry *2 can't", "sorry a b can't"), 1);
    assert_int_equal(matches("sorry *2 can't", "sorry a b c can't"), 0);
    /* a gap never crosses a sentence boundary */
    assert_int_equal(matches("sorry ... can't", "I'm sorry. I can't"), 0);
}

static void test_anchors(void **state) {
    (void)state;
    assert_int_equal(matches("^ sorry", "Sorry, no."), 1);
    assert_int_equal(matches("^ sorry", "Well. Sorry, no."), 0);
    assert_int_equal(matches("< sorry", "Well. Sorry, no."), 1);
    assert_int_equal(matches("< sorry", "Well, sorry, no."), 0);
}

static void test_cjk_sequences(void **state) {
    lci_pmatch m;
    lc_config *cfg = cfg_with("\xE6\x88\x91\xE6\x97\xA0\xE6\xB3\x95"); /* wo wufa */
    (void)state;
    /* "hen baoqian, wo wufa bangzhu" : match starts at the 4th character */
    assert_int_equal(run(cfg,
                         "\xE5\xBE\x88\xE6\x8A\xB1\xE6\xAD\x89\xEF\xBC\x8C"
                         "\xE6\x88\x91\xE6\x97\xA0\xE6\xB3\x95\xE5\xB8\xAE",
                         &m),
                     1);
    assert_int_equal(m.tok_start, 3);
    assert_int_equal(m.tok_end, 6);
    lc_config_free(cfg);
}

static void test_match_positions(void **state) {
    lci_pmatch m;
    lc_config *cfg = cfg_with("can't (help|assist) [you] with");
    (void)state;
    assert_int_equal(run(cfg, "Sadly I can't assist you with it", &m), 1);
    assert_int_equal(m.tok_start, 2);
    assert_int_equal(m.tok_end, 6);
    lc_config_free(cfg);
}

/* Expect a load error at line:col with text in the message. */
static void expect_error(const char *file, lc_status want, uint64_t line,
                         uint64_t col, const char *needle) {
    lc_config *cfg;
    const lc_error *e;
    size_t before;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_PATTERNS, 3), LC_OK);
    before = lc_config_pattern_count(cfg);
    assert_int_equal(lc_config_add_patterns(cfg, "user.lcp", file, strlen(file)),
                     want);
    e = lc_config_error(cfg);
    assert_non_null(e);
    assert_int_equal(e->status, want);
    assert_string_equal(e->source, "user.lcp");
    if (e->line != line || e->column != col || !strstr(e->message, needle))
        fail_msg("got %llu:%llu '%s', want %llu:%llu '%s'",
                 (unsigned long long)e->line, (unsigned long long)e->column,
                 e->message, (unsigned long long)line,
                 (unsigned long long)col, needle);
    /* the position is in the fields; the message does not repeat it */
    assert_null(strstr(e->message, "user.lcp:"));
    /* rolled back: nothing from the failed file stays */
    assert_int_equal(lc_config_pattern_count(cfg), before);
    assert_int_equal(lci_family_find(cfg->patterns, "newfam"), -1);
    lc_config_free(cfg);
}

static void test_errors(void **state) {
    (void)state;
    expect_error("i can't\n", LC_ERR_PATTERN, 1, 1, "outside a section");
    /*            1234567890 */
    expect_error("[family newfam]\nfoo (bar\n", LC_ERR_PATTERN, 2, 5,
                 "unclosed '('");
    expect_error("[family newfam]\nfoo [bar\n", LC_ERR_PATTERN, 2, 5,
                 "unclosed '['");
    expect_error("[family newfam]\nfoo bar)\n", LC_ERR_PATTERN, 2, 8,
                 "unbalanced");
    expect_error("[family newfam]\nfoo (bar|)\n", LC_ERR_PATTERN, 2, 10,
                 "empty alternative");
    expect_error("[family newfam]\n  ... foo\n", LC_ERR_PATTERN, 2, 3,
                 "start with a gap");
    expect_error("[family newfam]\nfoo *40 bar\n", LC_ERR_PATTERN, 2, 5,
                 "1 <= N <= 32");
    expect_error("[family newfam]\nfoo (bar)? baz\n", LC_ERR_PATTERN, 2, 10,
                 "'?'");
    expect_error("[family newfam]\nspecificity high\n", LC_ERR_PATTERN, 2,
                 13, "specificity");
    expect_error("[family newfam]\ndisable now\n", LC_ERR_PATTERN, 2, 9,
                 "no argument");
    expect_error("[family Bad Name]\n", LC_ERR_PATTERN, 1, 13,
                 "section header");
    expect_error("[family Bad]\n", LC_ERR_PATTERN, 1, 9, "family name");
    expect_error("[family newfam]\n!!!\n", LC_ERR_PATTERN, 2, 1, "no words");
    expect_error("[family newfam]\n[maybe] ... x\n", LC_ERR_PATTERN, 2, 1,
                 "start with a word");
    /* a later line fails: the whole file is rolled back */
    expect_error("[family newfam]\na\nb\nc\nd\n", LC_ERR_LIMIT, 5, 1,
                 "too many patterns");
    /* invalid UTF-8 is reported at its first bad byte */
    expect_error("[family newfam]\nab \xFF cd\n", LC_ERR_PATTERN, 2, 4,
                 "invalid UTF-8");
    /* multi-byte characters count as one column */
    expect_error("[family newfam]\n\xC3\xA9t\xC3\xA9 (x\n", LC_ERR_PATTERN, 2,
                 5, "unclosed");
}

static void test_user_families(void **state) {
    lc_config *cfg;
    size_t n0, i;
    int fam, seen_user = 0;
    static const char file[] =
        "# my patterns\n"
        "[family pirate]\n"
        "specificity 99   # a comment after a directive\n"
        "weight 90\t# and after a tab\n"
        "accumulate # sentences add up\n"
        "arr (no|nay) can (do|help)   # trailing comment\n"
        "\n"
        "[family lecture]\n"
        "disable # off\n"
        "[family shanty]\n"
        "role user\n"
        "role help # the last role line wins\n"
        "yo ho ho\n";
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    n0 = lc_config_pattern_count(cfg);
    assert_int_equal(lc_config_add_patterns(cfg, "pirate.lcp", file,
                                            sizeof file - 1),
                     LC_OK);
    assert_null(lc_config_error(cfg));
    assert_int_equal(lc_config_pattern_count(cfg), n0 + 2);
    fam = lci_family_find(cfg->patterns, "pirate");
    assert_true(fam >= 0);
    assert_int_equal(lci_family_specificity(cfg->patterns, fam), 99);
    assert_int_equal(lci_family_weight(cfg->patterns, fam), 90);
    assert_true(lci_family_flags(cfg->patterns, fam) & LCI_FAM_ACCUMULATE);
    fam = lci_family_find(cfg->patterns, "shanty");
    assert_true(fam >= 0);
    assert_int_equal(lci_family_flags(cfg->patterns, fam) &
                         (LCI_FAM_HELP | LCI_FAM_USER_ROLE),
                     LCI_FAM_HELP);
    for (i = 0; i < lc_config_pattern_count(cfg); i++) {
        const lc_pattern_info *pi = lc_config_pattern(cfg, i);
        if (strcmp(pi->family, "pirate") == 0) {
            assert_string_equal(pi->origin, "pirate.lcp");
            assert_string_equal(pi->text, "arr (no|nay) can (do|help)");
            assert_true(pi->enabled);
            seen_user = 1;
        }
        if (strcmp(pi->family, "lecture") == 0)
            assert_false(pi->enabled);
    }
    assert_true(seen_user);
    assert_true(lci_family_flags(cfg->patterns,
                                 lci_family_find(cfg->patterns, "lecture")) &
                LCI_FAM_DISABLED);
    /* the new family classifies */
    {
        lci_turn t;
        lci_refusal r;
        size_t bad;
        static const char txt[] = "Arr, nay can help ye, matey.";
        memset(&t, 0, sizeof t);
        assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0,
                                       txt, sizeof txt - 1, &bad),
                         LC_OK);
        lci_refusal_classify(cfg, &t, &r);
        assert_true(r.is_refusal);
        assert_string_equal(lci_family_name(cfg->patterns, r.family),
                            "pirate");
        lci_turn_free(&t, &cfg->alloc);
    }
    lc_config_free(cfg);
}

static void test_disable_builtin(void **state) {
    lc_config *cfg;
    lci_turn t;
    lci_refusal r;
    size_t bad;
    static const char txt[] = "I'm sorry, but I can't help with that.";
    static const char off[] = "[family apology_inability]\ndisable\n";
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_add_patterns(cfg, "off.lcp", off,
                                            sizeof off - 1),
                     LC_OK);
    memset(&t, 0, sizeof t);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0, txt,
                                   sizeof txt - 1, &bad),
                     LC_OK);
    lci_refusal_classify(cfg, &t, &r);
    assert_false(r.is_refusal);
    lci_turn_free(&t, &cfg->alloc);
    lc_config_free(cfg);
}

static void test_frozen_config(void **state) {
    lc_config *cfg;
    lc_session *s;
    static const char f[] = "[family x]\nfoo\n";
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    assert_int_equal(lc_config_add_patterns(cfg, "x", f, sizeof f - 1),
                     LC_ERR_STATE);
    lc_session_free(s);
    lc_config_free(cfg);
}

/* Many patterns: one table probe per token, so a long turn with 20,000
 * patterns loaded still scans quickly (bounded by the test timeout). */
static void test_many_patterns(void **state) {
    lc_config *cfg;
    lci_buf b;
    lci_turn t;
    size_t bad, i;
    lci_refusal r;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    lci_buf_init(&b, &cfg->alloc);
    assert_int_equal(lci_buf_printf(&b, "[family many]\n"), LC_OK);
    for (i = 0; i < 20000; i++)
        assert_int_equal(lci_buf_printf(&b, "zq%zu ... (never|nope)\n", i),
                         LC_OK);
    assert_int_equal(lc_config_add_patterns(cfg, "many", b.data, b.len),
                     LC_OK);
    b.len = 0;
    for (i = 0; i < 20000; i++)
        assert_int_equal(lci_buf_printf(&b, "zq%zu word ", i), LC_OK);
    assert_int_equal(lci_buf_printf(&b, "zq7 nope."), LC_OK);
    memset(&t, 0, sizeof t);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0,
                                   b.data, b.len, &bad),
                     LC_OK);
    lci_refusal_classify(cfg, &t, &r);
    assert_true(r.score > 0); /* "zq7 nope" matched, late in the turn */
    lci_turn_free(&t, &cfg->alloc);
    lci_buf_free(&b);
    lc_config_free(cfg);
}

typedef struct all_hits {
    lci_pmatch *m;
    size_t n, max;
} all_hits;

static int collect_all(const lci_pmatch *m, void *ud) {
    all_hits *h = ud;
    if (h->n < h->max)
        h->m[h->n] = *m;
    h->n++;
    return 0;
}

/* Every match of family "t" in text, in the order the scan reports
 * them (the index's chain order within a position), into h. */
static void scan_all(lc_config *cfg, const char *text, size_t len,
                     all_hits *h) {
    lci_turn t;
    size_t bad;
    int fam = lci_family_find(cfg->patterns, "t");
    assert_true(fam >= 0);
    memset(&t, 0, sizeof t);
    assert_int_equal(
        lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0, text, len, &bad),
        LC_OK);
    h->n = 0;
    lci_patterns_scan(cfg->patterns, t.tokens, t.ntokens, (uint64_t)1 << fam,
                      collect_all, h);
    lci_turn_free(&t, &cfg->alloc);
}

/* Generated pattern i of test_index_build_order: a first word out of 7,
 * every fifth with a gap, the others with alternatives and an optional
 * word. */
static void put_gen_pattern(lci_buf *b, size_t i) {
    if (i % 5 == 0)
        assert_int_equal(lci_buf_printf(b, "w%zu ... z%zu\n", i % 7, i % 11),
                         LC_OK);
    else
        assert_int_equal(lci_buf_printf(b, "w%zu (x%zu|y%zu) [z%zu]\n",
                                        i % 7, i % 11, i % 13, i % 5),
                         LC_OK);
}

/* Family t of n generated patterns, written into pats and loaded into
 * cfg. */
static void add_gen_patterns(lc_config *cfg, lci_buf *pats, size_t n) {
    size_t i;
    assert_int_equal(lci_buf_printf(pats, "[family t]\n"), LC_OK);
    for (i = 0; i < n; i++)
        put_gen_pattern(pats, i);
    assert_int_equal(lc_config_add_patterns(cfg, "t.lcp", pats->data,
                                            pats->len),
                     LC_OK);
}

/* The index is rebuilt after every load, its key table sized from the
 * number of keys (patterns.c, rebuild_index): loaded in pieces, the
 * same patterns go through tables of other sizes. Either way the scan
 * must report the same matches in the same order: generated patterns
 * sharing a few first words (long runs, "any second word" entries from
 * gaps), scanned over generated text, loaded at once and in six
 * pieces. */
static void test_index_build_order(void **state) {
    enum { NPAT = 1500, PIECES = 6, NWORDS = 3000, MAXHITS = 60000 };
    lc_config *one, *parts;
    lci_buf pats, text;
    all_hits a, b;
    size_t i, k;
    uint32_t x = 12345;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &one), LC_OK);
    assert_int_equal(lc_config_new(NULL, &parts), LC_OK);
    lci_buf_init(&pats, &one->alloc);
    lci_buf_init(&text, &one->alloc);
    add_gen_patterns(one, &pats, NPAT);
    for (k = 0; k < PIECES; k++) {
        lci_buf piece;
        lci_buf_init(&piece, &one->alloc);
        assert_int_equal(lci_buf_printf(&piece, "[family t]\n"), LC_OK);
        for (i = k * (NPAT / PIECES); i < (k + 1) * (NPAT / PIECES); i++)
            put_gen_pattern(&piece, i);
        assert_int_equal(
            lc_config_add_patterns(parts, "t.lcp", piece.data, piece.len),
            LC_OK);
        lci_buf_free(&piece);
    }
    assert_int_equal(lc_config_pattern_count(one),
                     lc_config_pattern_count(parts));
    for (i = 0; i < NWORDS; i++) {
        static const char pre[] = "wxyz";
        x = x * 1103515245u + 12345u;
        assert_int_equal(lci_buf_printf(&text, "%c%u ", pre[(x >> 16) % 4],
                                        (x >> 20) % 13),
                         LC_OK);
    }
    a.m = malloc(MAXHITS * sizeof *a.m);
    b.m = malloc(MAXHITS * sizeof *b.m);
    assert_non_null(a.m);
    assert_non_null(b.m);
    a.max = b.max = MAXHITS;
    scan_all(one, text.data, text.len, &a);
    scan_all(parts, text.data, text.len, &b);
    assert_true(a.n > 100 && a.n <= MAXHITS);
    assert_int_equal(a.n, b.n);
    for (i = 0; i < a.n; i++) {
        assert_int_equal(a.m[i].pattern, b.m[i].pattern);
        assert_int_equal(a.m[i].tok_start, b.m[i].tok_start);
        assert_int_equal(a.m[i].tok_end, b.m[i].tok_end);
    }
    free(a.m);
    free(b.m);
    lci_buf_free(&pats);
    lci_buf_free(&text);
    lc_config_free(one);
    lc_config_free(parts);
}

/* test_index_build_order's patterns again, with the matches worked out
 * here without the index: pattern i matches at token t when t is its
 * first word and its second word follows (gap patterns: its last word
 * comes after up to five other tokens). The scan must report exactly
 * these, and at each position in the matcher's order: the patterns
 * keyed by their second word before those keyed "any second word" (the
 * gap patterns), each group from the last pattern loaded to the first
 * (patterns.c: a run holds its key's entries in descending pattern
 * order). The runs, their ends and the probing of the key table are all
 * on this path. */
static void test_index_reference(void **state) {
    enum { NPAT = 1500, NWORDS = 3000, MAXHITS = 60000 };
    static const char pre[] = "wxyz";
    lc_config *cfg;
    lci_buf pats, text;
    all_hits a;
    unsigned char wp[NWORDS], wn[NWORDS];
    size_t i, t, k, want = 0;
    uint32_t x = 777;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    lci_buf_init(&pats, &cfg->alloc);
    lci_buf_init(&text, &cfg->alloc);
    add_gen_patterns(cfg, &pats, NPAT);
    for (t = 0; t < NWORDS; t++) {
        x = x * 1103515245u + 12345u;
        wp[t] = (unsigned char)pre[(x >> 16) % 4];
        wn[t] = (unsigned char)((x >> 20) % 13);
        assert_int_equal(lci_buf_printf(&text, "%c%u ", wp[t], wn[t]), LC_OK);
    }
    a.m = malloc(MAXHITS * sizeof *a.m);
    assert_non_null(a.m);
    a.max = MAXHITS;
    scan_all(cfg, text.data, text.len, &a);
    assert_true(a.n > 1000 && a.n <= MAXHITS);
    for (t = 0; t < NWORDS; t++) {
        int gap;
        for (gap = 0; gap < 2; gap++) {
            for (i = NPAT; i-- > 0;) {
                int hit = 0;
                if ((i % 5 == 0) != gap || wp[t] != 'w' || wn[t] != i % 7)
                    continue;
                if (gap) {
                    for (k = t + 1; k <= t + 6 && k < NWORDS; k++)
                        hit |= wp[k] == 'z' && wn[k] == i % 11;
                } else if (t + 1 < NWORDS) {
                    hit = (wp[t + 1] == 'x' && wn[t + 1] == i % 11) ||
                          (wp[t + 1] == 'y' && wn[t + 1] == i % 13);
                }
                if (!hit)
                    continue;
                if (want >= a.n || a.m[want].tok_start != t ||
                    a.m[want].pattern != lc_config_pattern_count(cfg) -
                                             NPAT + i)
                    fail_msg("match %zu: want pattern %zu at token %zu, got "
                             "%u at %u",
                             want, i, t,
                             want < a.n ? a.m[want].pattern : 0,
                             want < a.n ? a.m[want].tok_start : 0);
                want++;
            }
        }
    }
    assert_int_equal(a.n, want);
    free(a.m);
    lci_buf_free(&pats);
    lci_buf_free(&text);
    lc_config_free(cfg);
}

/* Hash of the one token of word w (as turns and patterns hash it). */
static uint64_t word_hash(lc_config *cfg, const char *w) {
    lci_turn t;
    size_t bad;
    uint64_t h;
    memset(&t, 0, sizeof t);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0, w,
                                   strlen(w), &bad),
                     LC_OK);
    assert_int_equal(t.ntokens, 1);
    h = t.tokens[0].hash;
    lci_turn_free(&t, &cfg->alloc);
    return h;
}

/* The index keys a pattern by its first word and only twelve bits of
 * its second word's hash (patterns.c, LCI_KEY_BITS): second words that
 * share them share a run, and the matcher must still tell them apart.
 * The extreme keys (all twelve bits clear, all set: one below "any
 * second word" stored + 1) must stay apart from "any second word".
 * Words found by hashing k0, k1, ... (deterministic: the hash is). */
static void test_index_key_edges(void **state) {
    enum { SEARCH = 60000 };
    static char w[4][16]; /* two sharing a key; key 0; key 4095 */
    uint16_t *seen;
    lc_config *cfg;
    lci_buf b;
    all_hits a;
    lci_pmatch m[16];
    int found = 0, lo = 0, hi = 0;
    size_t i, n0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    seen = calloc(4096, sizeof *seen); /* word index + 1 per key */
    assert_non_null(seen);
    for (i = 0; i < SEARCH && !(found && lo && hi); i++) {
        char k[16];
        uint32_t key;
        snprintf(k, sizeof k, "k%zu", i);
        key = (uint32_t)(word_hash(cfg, k) & 4095);
        if (!found && seen[key]) {
            snprintf(w[0], sizeof w[0], "k%u", seen[key] - 1u);
            snprintf(w[1], sizeof w[1], "%s", k);
            found = 1;
        }
        if (!seen[key])
            seen[key] = (uint16_t)(i + 1);
        if (!lo && key == 0) {
            snprintf(w[2], sizeof w[2], "%s", k);
            lo = 1;
        }
        if (!hi && key == 4095) {
            snprintf(w[3], sizeof w[3], "%s", k);
            hi = 1;
        }
    }
    free(seen);
    assert_true(found && lo && hi);
    lci_buf_init(&b, &cfg->alloc);
    /* patterns 0..4 (after the built-ins): four keyed by their second
     * word, one "any second word" */
    assert_int_equal(lci_buf_printf(&b, "[family t]\nqq %s\nqq %s\nqq %s\n"
                                        "qq %s\nqq ... zz\n",
                                    w[0], w[1], w[2], w[3]),
                     LC_OK);
    n0 = lc_config_pattern_count(cfg);
    assert_int_equal(lc_config_add_patterns(cfg, "t.lcp", b.data, b.len),
                     LC_OK);
    b.len = 0;
    assert_int_equal(lci_buf_printf(&b, "qq %s zz qq %s zz qq %s zz qq %s zz",
                                    w[0], w[1], w[2], w[3]),
                     LC_OK);
    a.m = m;
    a.max = 16;
    scan_all(cfg, b.data, b.len, &a);
    /* at each "qq": its own pattern only, then the gap pattern */
    assert_int_equal(a.n, 8);
    for (i = 0; i < 4; i++) {
        assert_int_equal(m[2 * i].tok_start, 3 * i);
        assert_int_equal(m[2 * i].pattern, n0 + i);
        assert_int_equal(m[2 * i].tok_end, 3 * i + 2);
        assert_int_equal(m[2 * i + 1].tok_start, 3 * i);
        assert_int_equal(m[2 * i + 1].pattern, n0 + 4);
        assert_int_equal(m[2 * i + 1].tok_end, 3 * i + 3);
    }
    lci_buf_free(&b);
    lc_config_free(cfg);
}

/* The pushback test must not allocate at all (and never through
 * anything but the config's allocator): counted here. */
static tu_counting pb_count;

static void test_pushback_builtin(void **state) {
    static const char *const yes[] = {
        "I'm not in crisis, I just want a recipe.",
        "That's not what I asked.",
        "You misunderstood me.",
        "I didn't ask for a hotline.",
        "Why can't you answer?",
        "It's for a school project!",
        "Please just answer the question.",
    };
    static const char *const no[] = {
        "Thanks, that helps a lot.",
        "Can you give me three more examples?",
        "I asked my doctor and she agreed.",
        "\"That's not what I asked,\" she said in the story.",
    };
    static const lc_allocator counting = {tu_count_malloc, tu_count_realloc,
                                          tu_count_free, &pb_count};
    lc_config *cfg;
    size_t i, bad;
    (void)state;
    assert_int_equal(lc_config_new(&counting, &cfg), LC_OK);
    for (i = 0; i < sizeof yes / sizeof yes[0] + sizeof no / sizeof no[0];
         i++) {
        int want = i < sizeof yes / sizeof yes[0];
        const char *txt = want ? yes[i] : no[i - sizeof yes / sizeof yes[0]];
        lci_turn t;
        long before;
        memset(&t, 0, sizeof t);
        assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_USER, NULL, 0, txt,
                                       strlen(txt), &bad),
                         LC_OK);
        before = pb_count.total;
        if (lci_pushback_match(cfg, &t) != want)
            fail_msg("pushback(%s) != %d", txt, want);
        assert_int_equal(pb_count.total, before); /* allocation-free */
        assert_false(lci_pushback_match(NULL, &t));
        lci_turn_free(&t, &cfg->alloc);
    }
    lc_config_free(cfg);
}

/* Pattern lines that could never match, or that read two ways, are
 * errors at the offending token: '^' after a word, an anchor with no word
 * after it, '*' that is not a gap *N. The legal forms still load and
 * match as documented. */
static void test_never_match(void **state) {
    (void)state;
    /*            1234567890 */
    expect_error("[family newfam]\nfoo ^ bar\n", LC_ERR_PATTERN, 2, 5,
                 "'^' after a word");
    expect_error("[family newfam]\nfoo (bar|^ baz)\n", LC_ERR_PATTERN, 2, 10,
                 "'^' after a word");
    expect_error("[family newfam]\n[foo] ^ bar\n", LC_ERR_PATTERN, 2, 7,
                 "'^' after a word");
    expect_error("[family newfam]\nfoo ... ^ bar\n", LC_ERR_PATTERN, 2, 9,
                 "'^' after a word");
    expect_error("[family newfam]\n^\n", LC_ERR_PATTERN, 2, 1,
                 "'^' must be followed by a word");
    expect_error("[family newfam]\nfoo <\n", LC_ERR_PATTERN, 2, 5,
                 "'<' must be followed by a word");
    expect_error("[family newfam]\n  foo bar <  # note\n", LC_ERR_PATTERN, 2,
                 11, "'<' must be followed by a word");
    expect_error("[family newfam]\n(foo <|bar) baz\n", LC_ERR_PATTERN, 2, 6,
                 "'<' must be followed by a word");
    expect_error("[family newfam]\n[foo <] baz\n", LC_ERR_PATTERN, 2, 6,
                 "'<' must be followed by a word");
    expect_error("[family newfam]\nfoo < ... bar\n", LC_ERR_PATTERN, 2, 5,
                 "'<' must be followed by a word");
    expect_error("[family newfam]\nfoo < *3 bar\n", LC_ERR_PATTERN, 2, 5,
                 "'<' must be followed by a word");
    expect_error("[family newfam]\n^ <\n", LC_ERR_PATTERN, 2, 3,
                 "'<' must be followed by a word");
    expect_error("[family newfam]\nfoo *abc bar\n", LC_ERR_PATTERN, 2, 5,
                 "'*' must be followed by a number");
    expect_error("[family newfam]\nfoo * bar\n", LC_ERR_PATTERN, 2, 5,
                 "'*' must be followed by a number");
    expect_error("[family newfam]\nhelp* me\n", LC_ERR_PATTERN, 2, 5,
                 "'*' must be followed by a number");
    expect_error("[family newfam]\n(a|b*) c\n", LC_ERR_PATTERN, 2, 5,
                 "'*' must be followed by a number");
    /* still fine: anchors before the first word (also of an alternative
     * of a leading group), '<' between words, anchors before groups */
    assert_int_equal(matches("^ sorry", "Sorry, no."), 1);
    assert_int_equal(matches("^ < sorry", "Sorry, no."), 1);
    assert_int_equal(matches("(^ sorry|i apologize) now", "Sorry now."), 1);
    assert_int_equal(matches("(^ sorry|i apologize) now", "Well, sorry now."),
                     0);
    assert_int_equal(
        matches("(^ sorry|i apologize) now", "Well, i apologize now."), 1);
    assert_int_equal(matches("[^ well] sorry", "Hm, sorry."), 1);
    assert_int_equal(matches("can't < sorry", "I can't. Sorry."), 1);
    assert_int_equal(matches("can't < sorry", "I can't, sorry."), 0);
    assert_int_equal(matches("< [really] sorry", "No. Really sorry."), 1);
    assert_int_equal(matches("< (so|very) sorry", "No. Very sorry."), 1);
    assert_int_equal(matches("sorry *3 can't", "sorry a b can't"), 1);
    assert_int_equal(matches("sorry *3can't", "sorry a b can't"), 1);
}

/* A UTF-8 BOM at the start of a pattern file is skipped: the file loads,
 * and error columns start after it while byte offsets count it. */
static void test_bom(void **state) {
    static const char good[] = "\xEF\xBB\xBF[family newfam]\nfoo\n";
    static const char bad[] = "\xEF\xBB\xBF" "foo\n";
    lc_config *cfg;
    const lc_error *e;
    size_t n0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    n0 = lc_config_pattern_count(cfg);
    assert_int_equal(lc_config_add_patterns(cfg, "b.lcp", good,
                                            sizeof good - 1),
                     LC_OK);
    assert_int_equal(lc_config_pattern_count(cfg), n0 + 1);
    assert_true(lci_family_find(cfg->patterns, "newfam") >= 0);
    assert_int_equal(lc_config_add_patterns(cfg, "c.lcp", bad, sizeof bad - 1),
                     LC_ERR_PATTERN);
    e = lc_config_error(cfg);
    assert_non_null(e);
    assert_int_equal(e->line, 1);
    assert_int_equal(e->column, 1);
    assert_int_equal(e->offset, 3);
    assert_non_null(strstr(e->message, "outside a section"));
    lc_config_free(cfg);
    /*                          123456789 */
    expect_error("\xEF\xBB\xBF[family Bad]\n", LC_ERR_PATTERN, 1, 9,
                 "family name");
    expect_error("\xEF\xBB\xBF[family newfam] # x \xFF\n", LC_ERR_PATTERN, 1,
                 21, "invalid UTF-8");
    expect_error("\xEF\xBB\xBF[family newfam]\nfoo (bar\n", LC_ERR_PATTERN, 2,
                 5, "unclosed '('");
    expect_error("\xEF\xBB\xBF  ^ x\n", LC_ERR_PATTERN, 1, 3,
                 "outside a section");
    /* only a leading one: a BOM again later is text (and no section) */
    expect_error("\xEF\xBB\xBF\xEF\xBB\xBF[family newfam]\n", LC_ERR_PATTERN, 1,
                 1, "outside a section");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_builtin_compiles),
        cmocka_unit_test(test_words_normalized),
        cmocka_unit_test(test_alternatives_optional),
        cmocka_unit_test(test_gaps),
        cmocka_unit_test(test_anchors),
        cmocka_unit_test(test_cjk_sequences),
        cmocka_unit_test(test_match_positions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_user_families),
        cmocka_unit_test(test_disable_builtin),
        cmocka_unit_test(test_frozen_config),
        cmocka_unit_test(test_many_patterns),
        cmocka_unit_test(test_index_build_order),
        cmocka_unit_test(test_index_reference),
        cmocka_unit_test(test_index_key_edges),
        cmocka_unit_test(test_pushback_builtin),
        cmocka_unit_test(test_never_match),
        cmocka_unit_test(test_bom),
    };
    return cmocka_run_group_tests_name("patterns", tests, NULL, NULL);
}
