/*
 * test_normalize.c - UTF-8 repair (maximal subparts -> U+FFFD, counts and
 * offsets) and normalization: concrete outputs of the policy, idempotence,
 * and the ASCII fast path being byte-identical to the plain utf8proc path
 * on every fixture, on the shared data and seed files, and on random text.
 *
 * Data directories come from LC_FIXTURES and LC_SHARED_DATA (set by
 * meson); a missing directory skips that test rather than failing it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <utf8proc.h>

#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

#define S(lit) lit, sizeof(lit) - 1

/* Normalize; the result is appended to a fresh buffer the caller frees. */
static lc_status norm(const char *s, size_t len, int fast, lci_buf *out) {
    lci_buf_init(out, &lci_default_alloc);
    return lci_normalize(s, len, fast, out);
}

/* Checks everything we promise about one valid input: both paths succeed
 * and agree byte for byte, the result is NUL-terminated, and normalizing
 * it again changes nothing. Returns the number of failures (for loops
 * over many inputs; prints the first few). */
static int check_one(const char *s, size_t len, const char *what) {
    static int printed;
    lci_buf a, b, c;
    int bad = 0;
    lc_status s1 = norm(s, len, 0, &a);
    lc_status s2 = norm(s, len, 1, &b);
    lc_status s3;
    if (s1 != LC_OK || s2 != LC_OK) {
        bad = 1;
    } else if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len))) {
        bad = 2;
    } else if (a.data && a.data[a.len] != '\0') {
        bad = 3;
    } else {
        s3 = norm(a.data ? a.data : "", a.len, 0, &c);
        if (s3 != LC_OK || c.len != a.len ||
            (a.len && memcmp(a.data, c.data, a.len)))
            bad = 4;
        lci_buf_free(&c);
    }
    if (bad && printed++ < 5) {
        size_t i;
        fprintf(stderr, "# %s: failure %d (%d/%d), input (%zu bytes):\n# ",
                what, bad, (int)s1, (int)s2, len);
        for (i = 0; i < len && i < 200; i++)
            fprintf(stderr, "%02x", (unsigned char)s[i]);
        fprintf(stderr, "\n");
    }
    lci_buf_free(&a);
    lci_buf_free(&b);
    return bad != 0;
}

static void expect_norm(const char *in, size_t len, const char *want) {
    int fast;
    for (fast = 0; fast <= 1; fast++) {
        lci_buf out;
        assert_int_equal(norm(in, len, fast, &out), LC_OK);
        assert_non_null(out.data);
        assert_int_equal(out.len, strlen(want));
        assert_memory_equal(out.data, want, out.len);
        assert_int_equal(out.data[out.len], '\0');
        lci_buf_free(&out);
    }
    assert_int_equal(check_one(in, len, "expect_norm"), 0);
}

/* Repair (the library never normalizes invalid UTF-8), then check. */
static int check_repaired(const char *s, size_t len, const char *what) {
    lci_buf r;
    size_t nbad, first;
    int bad;
    lci_buf_init(&r, &lci_default_alloc);
    assert_int_equal(lci_utf8_repair(s, len, &r, &nbad, &first), LC_OK);
    bad = check_one(r.data ? r.data : "", r.len, what);
    lci_buf_free(&r);
    return bad;
}

static void put_utf8(lci_buf *b, uint32_t u) {
    char t[4];
    size_t n;
    if (u < 0x80) {
        t[0] = (char)u;
        n = 1;
    } else if (u < 0x800) {
        t[0] = (char)(0xC0 | (u >> 6));
        t[1] = (char)(0x80 | (u & 0x3F));
        n = 2;
    } else if (u < 0x10000) {
        t[0] = (char)(0xE0 | (u >> 12));
        t[1] = (char)(0x80 | ((u >> 6) & 0x3F));
        t[2] = (char)(0x80 | (u & 0x3F));
        n = 3;
    } else {
        t[0] = (char)(0xF0 | (u >> 18));
        t[1] = (char)(0x80 | ((u >> 12) & 0x3F));
        t[2] = (char)(0x80 | ((u >> 6) & 0x3F));
        t[3] = (char)(0x80 | (u & 0x3F));
        n = 4;
    }
    assert_int_equal(lci_buf_append(b, t, n), LC_OK);
}

static int hexval(int c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static long hex4(const char *p, const char *end) {
    long v = 0;
    int i;
    if (end - p < 4)
        return -1;
    for (i = 0; i < 4; i++) {
        int h = hexval(p[i]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* Crude JSON string extraction: every "..." literal on a line, with its
 * escapes decoded (lone surrogates become U+FFFD). Checks each string and
 * the whole line. */
static int check_json_line(const char *s, size_t len, const char *what) {
    const char *p = s, *end = s + len;
    int bad = check_one(s, len, what);
    lci_buf str;
    lci_buf_init(&str, &lci_default_alloc);
    while (p < end) {
        if (*p++ != '"')
            continue;
        str.len = 0;
        while (p < end && *p != '"') {
            if (*p != '\\') {
                assert_int_equal(lci_buf_putc(&str, *p++), LC_OK);
                continue;
            }
            if (++p >= end)
                break;
            switch (*p) {
            case 'n': put_utf8(&str, '\n'); p++; break;
            case 't': put_utf8(&str, '\t'); p++; break;
            case 'r': put_utf8(&str, '\r'); p++; break;
            case 'b': put_utf8(&str, '\b'); p++; break;
            case 'f': put_utf8(&str, '\f'); p++; break;
            case 'u': {
                long u = hex4(p + 1, end), lo;
                if (u < 0) {
                    p++;
                    break;
                }
                p += 5;
                if (u >= 0xD800 && u < 0xDC00 && end - p >= 6 &&
                    p[0] == '\\' && p[1] == 'u' &&
                    (lo = hex4(p + 2, end)) >= 0xDC00 && lo < 0xE000) {
                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                    p += 6;
                } else if (u >= 0xD800 && u < 0xE000) {
                    u = 0xFFFD;
                }
                put_utf8(&str, (uint32_t)u);
                break;
            }
            default: put_utf8(&str, (unsigned char)*p++); break;
            }
        }
        p++;
        bad += check_one(str.data ? str.data : "", str.len, what);
    }
    lci_buf_free(&str);
    return bad;
}

/* ------------------------------------------------------------------ */
/* lci_utf8_repair                                                      */
/* ------------------------------------------------------------------ */

static void expect_repair(const char *in, size_t len, const char *want,
                          size_t want_len, size_t want_bad,
                          size_t want_first) {
    lci_buf out;
    size_t nbad = 99, first = 99;
    lci_buf_init(&out, &lci_default_alloc);
    assert_int_equal(lci_utf8_repair(in, len, &out, &nbad, &first), LC_OK);
    assert_int_equal(out.len, want_len);
    assert_memory_equal(out.data, want, want_len);
    assert_int_equal(nbad, want_bad);
    assert_int_equal(first, want_first);
    lci_buf_free(&out);
}

#define R "\xEF\xBF\xBD" /* U+FFFD */

static void test_repair_valid(void **state) {
    (void)state;
    /* NUL, all sequence lengths, and the boundaries of each lead byte */
    expect_repair(S("abc\0def"), S("abc\0def"), 0, SIZE_MAX);
    expect_repair(S("\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                    "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
                  S("\xC2\x80\xDF\xBF\xE0\xA0\x80\xED\x9F\xBF\xEE\x80\x80"
                    "\xF0\x90\x80\x80\xF4\x8F\xBF\xBF"),
                  0, SIZE_MAX);
    expect_repair(S(R), S(R), 0, SIZE_MAX); /* a real U+FFFD is fine */
    expect_repair(S(""), S(""), 0, SIZE_MAX);
}

static void test_repair_invalid(void **state) {
    (void)state;
    /* lone continuation bytes, one U+FFFD each */
    expect_repair(S("\x80"), S(R), 1, 0);
    expect_repair(S("ab\x80\xBF" "c"), S("ab" R R "c"), 2, 2);
    /* C0/C1 leads are always overlong: each byte is its own subpart */
    expect_repair(S("ab\xC0\xAF"), S("ab" R R), 2, 2);
    expect_repair(S("\xC1\xBF"), S(R R), 2, 0);
    /* E0 80..9F is overlong: E0 alone is the maximal subpart */
    expect_repair(S("\xE0\x80\x80"), S(R R R), 3, 0);
    /* surrogates U+D800..DFFF */
    expect_repair(S("x\xED\xA0\x80y"), S("x" R R R "y"), 3, 1);
    expect_repair(S("\xED\xBF\xBF"), S(R R R), 3, 0);
    /* above U+10FFFF, and F5..FF */
    expect_repair(S("\xF4\x90\x80\x80"), S(R R R R), 4, 0);
    expect_repair(S("\xF5\xFF\xFE"), S(R R R), 3, 0);
    /* F0 80..8F is overlong */
    expect_repair(S("\xF0\x8F\xBF\xBF"), S(R R R R), 4, 0);
    /* truncated sequences: one U+FFFD for the whole valid prefix */
    expect_repair(S("x\xF0\x9F\x98"), S("x" R), 1, 1);
    expect_repair(S("\xE2\x82" "x"), S(R "x"), 1, 0);
    expect_repair(S("\xC3"), S(R), 1, 0);
    expect_repair(S("\xE2\x82\xF0\x9F\x98\x80"), S(R "\xF0\x9F\x98\x80"), 1,
                  0);
    /* The Unicode Standard, table 3-8 (U+FFFD for maximal subparts) */
    expect_repair(S("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
                  S("a" R R R "b" R "c" R R "d"), 6, 1);
}

static void test_repair_appends_and_null_outs(void **state) {
    lci_buf out;
    (void)state;
    lci_buf_init(&out, &lci_default_alloc);
    assert_int_equal(lci_buf_append(&out, "pre:", 4), LC_OK);
    assert_int_equal(lci_utf8_repair(S("a\xFF"), &out, NULL, NULL), LC_OK);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.data, "pre:a" R, 8);
    assert_int_equal(out.data[out.len], '\0');
    lci_buf_free(&out);
}

/* ------------------------------------------------------------------ */
/* lci_normalize: the policy                                            */
/* ------------------------------------------------------------------ */

static void test_norm_examples(void **state) {
    (void)state;
    expect_norm(S("I\u2019M  SORRY\u200B,\tbut"), "i'm sorry, but");
    expect_norm(S("\uFB01ne"), "fine");          /* ligature */
    expect_norm(S("Stra\u00DFe"), "strasse");     /* full case folding */
    expect_norm(S("STRA\u1E9EE"), "strasse");     /* capital sharp s */
    expect_norm(S("\uFF21\uFF22\uFF23"), "abc");  /* full-width */
    expect_norm(S("\u2126 \u212A"), "\u03C9 k");  /* ohm, kelvin signs */
    expect_norm(S("x\u00B2 \u2460"), "x2 1");     /* compatibility digits */
    expect_norm(S("\uFF76\uFF9E"), "\u30AC");     /* half-width kana */
}

static void test_norm_composition(void **state) {
    (void)state;
    expect_norm(S("e\u0301"), "\u00E9");
    expect_norm(S("E\u0301"), "\u00E9");
    /* dropped characters do not block composition */
    expect_norm(S("e\u200B\u0301"), "\u00E9");
    expect_norm(S("e\x01\u0301"), "\u00E9");
    expect_norm(S("e\0\u0301"), "\u00E9");
    /* canonical reordering: cedilla (220) before acute (230) */
    expect_norm(S("c\u0301\u0327"), "\u1E09");
    /* marks that take no part in composition are still reordered:
     * overlay (1) before grave below (220) before left angle above (232) */
    expect_norm(S("x\u031A\u0316\u0334"), "x\u0334\u0316\u031A");
    /* Hangul jamo compose to a syllable */
    expect_norm(S("\u1100\u1161\u11A8"), "\uAC01");
    /* a mark after whitespace stays a bare mark */
    expect_norm(S("a \u0301"), "a \u0301");
}

static void test_norm_whitespace(void **state) {
    (void)state;
    expect_norm(S(" \t\n a\u00A0\u3000\u2028b \r\n"), "a b");
    expect_norm(S("a\xC2\x85" "b"), "a b");               /* NEL */
    expect_norm(S("a\v\fb\u2029c\u1680d\u202Fe\u205Ff\u2003g"),
                "a b c d e f g");
    expect_norm(S("A \u200B B"), "a b"); /* ZWSP inside a space run */
    expect_norm(S("   \t\r\n"), "");
    expect_norm(S("\u200B\uFEFF"), "");
    expect_norm(S(""), "");
}

static void test_norm_drops(void **state) {
    (void)state;
    expect_norm(S("x\0y\x7f\xC2\x80z\x1b"), "xyz"); /* C0, DEL, C1 */
    expect_norm(S("co\u00ADop"), "coop");           /* soft hyphen */
    expect_norm(S("\uFEFFhi"), "hi");               /* BOM */
    expect_norm(S("a\u2060b\u200Dc\u200Ed\u200Fe\u2064f"), "abcdef");
}

static void test_norm_quotes(void **state) {
    (void)state;
    expect_norm(S("\u201CHi\u201D \u2018yo\u2019 \u201Ex\u201F \u201Ay\u201B"),
                "\"hi\" 'yo' \"x\" 'y'");
    expect_norm(S("5\u2032 3\u2033 \uFF02q\uFF07 don\u02BCt"),
                "5' 3\" \"q' don't");
    expect_norm(S("\u2034"), "'''"); /* triple prime: NFKC gives 3 primes */
    expect_norm(S("\u301Dx\u301E"), "\"x\"");
    /* inside a word with a non-ASCII letter (the fast path redoes it
     * code point by code point, ASCII runs in one loop): a folded quote
     * (3 bytes in, 1 out) followed by ASCII, and ASCII after a letter */
    expect_norm(S("Caf\u00E9\u2019S NA\u00CFVE\u201CAbc\u201D x\u00E9\u2018yZ"),
                "caf\u00E9's na\u00EFve\"abc\" x\u00E9'yz");
}

static void test_norm_appends(void **state) {
    lci_buf out;
    (void)state;
    lci_buf_init(&out, &lci_default_alloc);
    assert_int_equal(lci_buf_append(&out, "X|", 2), LC_OK);
    /* leading space is trimmed relative to where our output starts */
    assert_int_equal(lci_normalize(S("  A\u00C9 "), 1, &out), LC_OK);
    assert_int_equal(out.len, 5);
    assert_memory_equal(out.data, "X|a\u00E9", 5);
    assert_int_equal(lci_normalize(S(" Z"), 0, &out), LC_OK);
    assert_string_equal(out.data, "X|a\u00E9z");
    lci_buf_free(&out);
}

static void test_norm_invalid_utf8(void **state) {
    int fast;
    (void)state;
    for (fast = 0; fast <= 1; fast++) {
        lci_buf out;
        lci_buf_init(&out, &lci_default_alloc);
        assert_int_equal(lci_buf_append(&out, "keep", 4), LC_OK);
        assert_int_equal(lci_normalize(S("ok then \xC3( bad"), fast, &out),
                         LC_ERR_UTF8);
        assert_int_equal(out.len, 4); /* output rolled back */
        assert_memory_equal(out.data, "keep", 4);
        lci_buf_free(&out);
    }
    assert_int_equal(check_repaired(S("ok then \xC3( bad \xED\xA0\x80"),
                                    "repaired"), 0);
}

/* ------------------------------------------------------------------ */
/* allocator discipline                                                 */
/* ------------------------------------------------------------------ */

static void test_norm_allocator(void **state) {
    static const char text[] =
        "Caf\u00E9 \u201Cna\u00EFve\u201D r\u00E9sum\u00E9 \uFB01ne "
        "\u65E5\u672C\u8A9E plain ASCII words here";
    long need;
    int fast;
    (void)state;
    for (fast = 0; fast <= 1; fast++) {
        tu_counting c = {0, 0, 0, 0};
        lci_alloc a = {tu_count_malloc, tu_count_realloc, tu_count_free, &c};
        lci_buf out;
        lci_buf_init(&out, &a);
        assert_int_equal(lci_normalize(S(text), fast, &out), LC_OK);
        assert_true(c.total >= 2); /* output + UTF-32 scratch */
        assert_int_equal(c.live, 1);
        lci_buf_free(&out);
        assert_int_equal(c.live, 0);
        /* every allocation failure is reported and leaks nothing */
        need = c.total;
        for (c.fail_at = 1; c.fail_at <= need; c.fail_at++) {
            c.total = c.live = 0;
            lci_buf_init(&out, &a);
            assert_int_equal(lci_normalize(S(text), fast, &out),
                             LC_ERR_NOMEM);
            lci_buf_free(&out);
            assert_int_equal(c.live, 0);
        }
    }
}

/* ------------------------------------------------------------------ */
/* fast == plain, idempotence                                           */
/* ------------------------------------------------------------------ */

static int check_lines(const char *buf, size_t len, const char *what,
                       int json) {
    size_t i = 0;
    int bad = 0;
    while (i < len) {
        const char *nl = memchr(buf + i, '\n', len - i);
        size_t e = nl ? (size_t)(nl - buf) : len;
        bad += json ? check_json_line(buf + i, e - i, what)
                    : check_one(buf + i, e - i, what);
        i = e + 1;
    }
    return bad;
}

static int check_dir(const char *dir, const char *suffix, int *nfiles) {
    DIR *d = opendir(dir);
    struct dirent *e;
    int bad = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)) != NULL) {
        char path[4096];
        struct stat sb;
        size_t n, len;
        char *buf;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &sb) != 0)
            continue;
        if (S_ISDIR(sb.st_mode)) {
            bad += check_dir(path, suffix, nfiles);
            continue;
        }
        n = strlen(e->d_name);
        if (suffix && (n < strlen(suffix) ||
                       strcmp(e->d_name + n - strlen(suffix), suffix)))
            continue;
        buf = tu_slurp(path, &len);
        if (!buf)
            continue;
        (*nfiles)++;
        bad += check_repaired(buf, len, path); /* the whole file */
        {
            lci_buf r;
            size_t nbad, first;
            lci_buf_init(&r, &lci_default_alloc);
            assert_int_equal(lci_utf8_repair(buf, len, &r, &nbad, &first),
                             LC_OK);
            bad += check_lines(r.data ? r.data : "", r.len, path,
                               n > 6 && !strcmp(e->d_name + n - 6, ".jsonl"));
            lci_buf_free(&r);
        }
        free(buf);
    }
    closedir(d);
    return bad;
}

static void test_fast_equals_plain_shared(void **state) {
    const char *data = getenv("LC_SHARED_DATA");
    char seed[4096];
    int nfiles = 0, bad;
    (void)state;
    if (!data) {
        /* meson sets it only when ../shared/data exists; cmocka 1.1.5
         * reports skip() as "not ok # SKIP", which meson counts as a
         * failure, so say so and return. */
        printf("# LC_SHARED_DATA not set: shared data not checked\n");
        return;
    }
    bad = check_dir(data, ".jsonl", &nfiles);
    snprintf(seed, sizeof seed, "%s/../seed", data);
    bad += check_dir(seed, ".txt", &nfiles);
    assert_true(nfiles > 0); /* a configured data dir must not be empty */
    assert_int_equal(bad, 0);
}

static void test_fast_equals_plain_fixtures(void **state) {
    const char *fx = getenv("LC_FIXTURES");
    int nfiles = 0;
    (void)state;
    if (!fx)
        skip();
    assert_int_equal(check_dir(fx, NULL, &nfiles), 0);
    if (nfiles == 0)
        skip();
}

/* Pieces chosen to stress NFKC, case folding, composition across piece
 * boundaries, and each rule of the policy. */
static const char *const pieces[] = {
    "a", "Z", "hello", "WORLD", "I'm", "don't", ".", ",", "!", "?", "'",
    "\"", "-", " ", "  ", "\t", "\n", "\r\n", "\x01", "\x7f", "\v", "\f",
    "\u00E9", "e\u0301", "\u0301", "\u0327", "\u0301\u0327", "\u0345",
    "\u1FB3", "\u0130", "\u00DF", "\u1E9E", "\uFB01", "\uFF21", "\uFF76",
    "\uFF9E", "\u304B\u3099", "\u3099", "\u65E5\u672C", "\uD55C",
    "\u1100", "\u1161", "\u11A8", "\u3131", "\U0001F600",
    "\U0001F44D\U0001F3FD", "\U0001F468\u200D\U0001F469", "\uFE0F",
    "\u200B", "\u200D", "\u00AD", "\uFEFF", "\u2060", "\u00A0", "\u3000",
    "\u2028", "\xC2\x85", "\xC2\x80", "\u2019", "\u2018", "\u201C", "\u201D",
    "\u2032", "\u2033", "\u2034", "\u2035", "\u2036", "\u02BC", "\uFF02",
    "\uFF07", "\u03A9", "\u2126", "\u212A", "\u00C5", "\u212B", "\u0384",
    "\u1E9B\u0323", "\u01C5", "\u017F", "\u0F73", "\u0B47", "\u0B3E",
    "\uFDFA", "\u00BD", "\u2460", "\u03A3", "\u03C2", "\uFFFD",
    "\U0001D400", "\u0627\u0644", "\u0915\u093F", "\u2126\u0301",
    "\u00C7", "\u0390", "\u1F80", "\u0399\u0308\u0301", "\u2000",
    "\u0344", "\u0F77", "\u0F81", "\u0958", "\u0915\u093C", "\u2ADC",
    "\uFB2C", "\u05B8", "\u0340", "\u0343", "\u1E0A\u0323", "\u01D5",
    "\u00A8", "\u0385", "\u1FED", "\u1FEE", "\u3300", "\u1F88",
    "\u0587", "\u13F8", "\uAB70", "\u1C80", "\u1D2C", "\u3192",
    "\u0316", "\u0334", "\u031A", "\u302A", "\u05B0", "\u20D0",
};
#define NPIECES (sizeof pieces / sizeof pieces[0])

static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) {
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return rng_state = x;
}

static void test_fast_equals_plain_random(void **state) {
    lci_buf s;
    int iter, bad = 0;
    (void)state;
    lci_buf_init(&s, &lci_default_alloc);
    for (iter = 0; iter < 20000; iter++) {
        int k, n = (int)(rnd() % 24);
        s.len = 0;
        for (k = 0; k < n; k++) {
            const char *p = pieces[rnd() % NPIECES];
            assert_int_equal(lci_buf_append(&s, p, strlen(p)), LC_OK);
        }
        if (rnd() % 8 == 0) /* an embedded NUL now and then */
            assert_int_equal(lci_buf_putc(&s, '\0'), LC_OK);
        bad += check_one(s.data ? s.data : "", s.len, "random pieces");
    }
    /* random bytes, repaired first */
    for (iter = 0; iter < 5000; iter++) {
        int k, n = (int)(rnd() % 40);
        s.len = 0;
        for (k = 0; k < n; k++) {
            uint64_t r = rnd();
            char c = r % 3 ? (char)(r >> 8)
                           : "aZ \t.\xCC\x81\xE2\x80"[r % 9];
            assert_int_equal(lci_buf_putc(&s, c), LC_OK);
        }
        bad += check_repaired(s.data ? s.data : "", s.len, "random bytes");
    }
    lci_buf_free(&s);
    assert_int_equal(bad, 0);
}

/* Long, mostly-ASCII text: exercises the 8-byte blocks of the fast path
 * and the rollback to the start of a word when a non-ASCII byte (or a
 * character that normalizes to nothing) shows up after them. */
static const char *const ascii_pieces[] = {
    "the", "Quick", "b", "I'm", "x.", "(a)", "**B**", "1984", "don't", "-",
    "ABCDEFGHIJ", "lower", "URL:http://x.y/z?q=1", ",", "\"q\"",
};
static const char *const sep_pieces[] = {
    " ", " ", " ", " ", "  ", "\n", "\n\n", "\t", " \r\n", "\v", "\x01",
    "\x7f", "",
};
static const char *const rare_pieces[] = {
    "\u200B", "\u0301", "\u00E9", "\u201C", "\u2019", "\u00A0",
    "\xC2\x85", "\u00AD", "\uFEFF", "\u65E5", "\U0001F600", "\uFB01",
    "\xC2\x80", " \u200B ", "\u2028", "\u0345",
};
#define NA (sizeof ascii_pieces / sizeof ascii_pieces[0])
#define NS (sizeof sep_pieces / sizeof sep_pieces[0])
#define NR (sizeof rare_pieces / sizeof rare_pieces[0])

static void test_fast_equals_plain_ascii_heavy(void **state) {
    lci_buf s;
    int iter, bad = 0;
    (void)state;
    lci_buf_init(&s, &lci_default_alloc);
    for (iter = 0; iter < 4000; iter++) {
        int k, n = (int)(rnd() % 120);
        s.len = 0;
        for (k = 0; k < n; k++) {
            uint64_t r = rnd();
            const char *p = r % 16 == 0 ? rare_pieces[(r >> 8) % NR]
                            : r % 2    ? ascii_pieces[(r >> 8) % NA]
                                       : sep_pieces[(r >> 8) % NS];
            assert_int_equal(lci_buf_append(&s, p, strlen(p)), LC_OK);
        }
        bad += check_one(s.data ? s.data : "", s.len, "ascii heavy");
    }
    lci_buf_free(&s);
    assert_int_equal(bad, 0);
}

/* The ASCII fast path takes 16 and 8 bytes at a time, and the part of
 * a 16-byte block before the byte that stops it: a word of ASCII
 * letters with one byte or pair of bytes that stops a block (a space,
 * two spaces, a tab, a capital, a newline, a control, DEL, a non-ASCII
 * letter, a space before either of the last two) at every offset of the
 * first 72 bytes, and a second one 1 to 40 bytes later: fast path ==
 * plain path. */
static void test_fast_equals_plain_block_edges(void **state) {
    static const char *const odd[] = {
        " ",  "  ",  "\t",  "Q",  "\n",          "\x01",
        "\x7F", " -", "- ", " \n", " \xC3\xA9", "\xC3\xA9"};
    const size_t nodd = sizeof odd / sizeof odd[0];
    char text[160];
    size_t a, b, d, e;
    int bad = 0;
    (void)state;
    for (a = 0; a < nodd; a++)
        for (b = 0; b < nodd; b += 3)
            for (d = 0; d < 72; d++)
                for (e = 1; e <= 40; e += 3) {
                    size_t la = strlen(odd[a]), lb = strlen(odd[b]), n = 120;
                    memset(text, 'k', n);
                    memcpy(text + d, odd[a], la);
                    memcpy(text + d + la + e, odd[b], lb);
                    bad += check_one(text, n, "block edges");
                    bad += check_one(text, d + la + e + lb, "block edges");
                }
    assert_int_equal(bad, 0);
}

/* Letters of the Latin, Greek and Cyrillic blocks are boundaries of the
 * fast path when normalization keeps them (normalize.c, stable_letter).
 * Every code point of those blocks, between each of a set of left
 * neighbours and of right neighbours that can (combining marks, a mark
 * behind a control that is dropped first, composites, Hangul jamo) or
 * cannot (ASCII, letters, the end) combine with it, and a word of three
 * of them: fast path == plain path. */
static void test_fast_equals_plain_letters(void **state) {
    static const uint32_t blocks[][2] = {
        {0x00A0, 0x024F}, {0x0370, 0x052F}, {0x1E00, 0x1FFF}};
    static const char *const left[] = {"", "x", "e", "\xCC\x81",
                                       "\xC3\xA9", "\x01", "\xD0\xB8"};
    static const char *const right[] = {
        "", "a", "Z", ".", "'", "\x01\xCC\x81", "\xCC\x81", "\xCC\xA3",
        "\xCD\x85", "\xCC\x86", "\xCC\x88\xCC\x81", "\xC3\xA9",
        "\xD0\xB8", "\xD0\x99", "\xE1\xBE\xB3", "\xE3\x80\x80",
        "\xC2\xA0", "\xE2\x80\x8B", "\xE1\x84\x80", "\xE4\xB8\x80",
        "\xE2\x80\x99", "\xC3\x89\xCC\x81"};
    const size_t nl = sizeof left / sizeof left[0];
    const size_t nr = sizeof right / sizeof right[0];
    lci_buf s;
    size_t b, i, j;
    uint32_t u;
    int bad = 0;
    (void)state;
    lci_buf_init(&s, &lci_default_alloc);
    for (b = 0; b < sizeof blocks / sizeof blocks[0]; b++) {
        for (u = blocks[b][0]; u <= blocks[b][1]; u++) {
            for (i = 0; i < nl; i++) {
                for (j = 0; j < nr; j++) {
                    s.len = 0;
                    assert_int_equal(lci_buf_append(&s, left[i],
                                                    strlen(left[i])),
                                     LC_OK);
                    put_utf8(&s, u);
                    assert_int_equal(lci_buf_append(&s, right[j],
                                                    strlen(right[j])),
                                     LC_OK);
                    bad += check_one(s.data, s.len, "letters");
                }
            }
            s.len = 0; /* u, the next letter, u, then a mark */
            put_utf8(&s, u);
            put_utf8(&s, u + 1);
            put_utf8(&s, u);
            put_utf8(&s, 0x0301);
            bad += check_one(s.data, s.len, "letters");
        }
    }
    lci_buf_free(&s);
    assert_int_equal(bad, 0);
}

/* turn_make (conversation.c) normalizes a turn's text without
 * validating it first and repairs it when normalization fails with
 * LC_ERR_UTF8: that must happen exactly when the text is not valid
 * UTF-8 (lci_utf8_next, the decoder of lci_utf8_repair, and
 * lci_utf8_valid_prefix, checked against each other in
 * test_conversation), on both paths. Every sequence of one to four bytes
 * from a set of boundary values (ASCII, each edge of the continuation
 * range and of the lead ranges, overlong and surrogate edges) in
 * several places: alone, inside and at either end of an ASCII word,
 * after a CJK ideograph, an accented letter or a combining mark, before
 * whitespace, after and before a long run of plain ASCII. */
static int utf8_valid(const char *str, size_t n) {
    const unsigned char *u = (const unsigned char *)str;
    size_t i = 0, bad, k;
    while (i < n && (k = lci_utf8_next(u + i, n - i, &bad)) != 0)
        i += k;
    return i == n;
}

static void test_invalid_utf8_agrees(void **state) {
    static const unsigned char vals[] = {
        0x00, 0x20, 0x41, 0x7F, 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF,
        0xC0, 0xC1, 0xC2, 0xDF, 0xE0, 0xE1, 0xEC, 0xED, 0xEE, 0xEF,
        0xF0, 0xF1, 0xF3, 0xF4, 0xF5, 0xFF};
    /* the long ones take the 16- and 8-byte blocks of the fast path up
     * to the sequence, and from it */
    static const char *const pre[] = {
        "", "ab", "x ", "\xE4\xB8\xAD", "\xC3\xA9", "e\xCC\x81", "Ab1'",
        "The quick brown fox jumps over the lazy dog and "};
    static const char *const post[] = {
        "", "cd", " y", "\n", "\xC3\xA9",
        "s and the quick brown fox jumps over the lazy dog"};
    const size_t nv = sizeof vals / sizeof vals[0];
    size_t n, k, idx[4], pi, qi, total = 1;
    unsigned long checked = 0, invalid = 0;
    char buf[128];
    (void)state;
    for (n = 1; n <= 4; n++) {
        total *= nv;
        for (k = 0; k < total; k++) {
            size_t x = k, j;
            unsigned char seq[4];
            for (j = 0; j < n; j++) {
                idx[j] = x % nv;
                x /= nv;
                seq[j] = vals[idx[j]];
            }
            if (n == 4 && (seq[0] < 0xF0 || seq[1] < 0x80))
                continue; /* four bytes: only 4-byte leads matter */
            for (pi = 0; pi < sizeof pre / sizeof pre[0]; pi++) {
                for (qi = 0; qi < sizeof post / sizeof post[0]; qi++) {
                    size_t pl = strlen(pre[pi]), ql = strlen(post[qi]);
                    size_t len = pl + n + ql;
                    int valid, fast;
                    memcpy(buf, pre[pi], pl);
                    memcpy(buf + pl, seq, n);
                    memcpy(buf + pl + n, post[qi], ql);
                    valid = utf8_valid(buf, len);
                    invalid += !valid;
                    for (fast = 0; fast < 2; fast++) {
                        lci_buf out;
                        lc_status st = norm(buf, len, fast, &out);
                        lci_buf_free(&out);
                        checked++;
                        if (valid ? st != LC_OK : st != LC_ERR_UTF8)
                            fail_msg("fast=%d valid=%d status %d for %02X "
                                     "%02X %02X %02X (%zu bytes) after "
                                     "piece %zu",
                                     fast, valid, (int)st, seq[0],
                                     n > 1 ? seq[1] : 0, n > 2 ? seq[2] : 0,
                                     n > 3 ? seq[3] : 0, n, pi);
                    }
                }
            }
        }
    }
    assert_true(checked > 100000 && invalid > 10000);
}

/* lci_utf8_decode (internal.h), the fast paths' inline decoder, against
 * utf8proc_iterate, the reference: every lead byte 0x80..0xFF with every
 * first and second continuation byte, at every available length 1..3,
 * and at length 4 with a set of third bytes (both edges of the
 * continuation range and bytes outside it) - so every sequence of up to
 * 3 bytes, including overlongs, surrogates, noncharacters, U+FFFD and
 * truncations. Same length (0 for an error) and code point. */
static void test_utf8_decode_matches_iterate(void **state) {
    static const unsigned char third[] = {0x00, 0x3F, 0x7F, 0x80, 0x81,
                                          0x9F, 0xA0, 0xBE, 0xBF, 0xC0,
                                          0xF4, 0xFF};
    unsigned lead, b1, b2;
    size_t t, n;
    unsigned long checked = 0;
    (void)state;
    for (lead = 0x80; lead < 0x100; lead++) {
        for (b1 = 0; b1 < 0x100; b1++) {
            for (b2 = 0; b2 < 0x100; b2++) {
                for (t = 0; t < sizeof third; t++) {
                    unsigned char s[4];
                    s[0] = (unsigned char)lead;
                    s[1] = (unsigned char)b1;
                    s[2] = (unsigned char)b2;
                    s[3] = third[t];
                    /* the lengths 1..3 once per (lead, b1, b2); 4 for
                     * every third byte, but only under a 4-byte lead */
                    for (n = t ? 4 : 1; n <= 4; n++) {
                        utf8proc_int32_t ref = 0;
                        int32_t got = 0;
                        utf8proc_ssize_t r;
                        size_t k;
                        if ((n == 1 && (b1 || b2)) || (n == 2 && b2) ||
                            (n == 4 && lead < 0xF0))
                            continue;
                        r = utf8proc_iterate(s, (utf8proc_ssize_t)n, &ref);
                        k = lci_utf8_decode(s, n, &got);
                        checked++;
                        if ((r < 0 ? 0 : (size_t)r) != k ||
                            (r < 0 ? -1 : ref) != got)
                            fail_msg("%02X %02X %02X %02X (n=%zu): "
                                     "utf8proc %ld U+%04X, decode %zu "
                                     "U+%04X",
                                     s[0], s[1], s[2], s[3], n, (long)r,
                                     (unsigned)ref, k, (unsigned)got);
                    }
                }
            }
        }
    }
    assert_true(checked > 8000000);
}

/* The fast path's per-code-point answers (normalize.c, boundary_memo,
 * filled from utf8proc on first use, shared by calls and threads)
 * against the plain path, for EVERY code point U+0080..U+10FFFF except
 * the surrogates (above U+FFFF, which the memo does not cover: the
 * emoji planes U+1F000..1FFFF whole, elsewhere one in 16): alone (which
 * fills the memo), then read from it inside an ASCII word, after a base
 * it may compose with, before a combining mark, before a composing mark
 * behind a dropped control, before a Hangul vowel, and between spaces. */
static void test_fast_equals_plain_every_cp(void **state) {
    static const char *const ctx[][2] = {
        {"", ""},
        {"Ab", "cD"},
        {"e", "\xCC\x81"},
        {"", "\xCC\x88"},
        {"x", "\x01\xCC\xA3"},
        {"\xE1\x84\x80", "\xE1\x85\xA1"},
        {" \xC3\xA9 ", " Z"}};
    const size_t nc = sizeof ctx / sizeof ctx[0];
    lci_buf s;
    uint32_t u;
    size_t i;
    int bad = 0;
    (void)state;
    lci_buf_init(&s, &lci_default_alloc);
    for (u = 0x80; u <= 0x10FFFF; u = tu_next_cp(u)) {
        for (i = 0; i < nc; i++) {
            s.len = 0;
            assert_int_equal(
                lci_buf_append(&s, ctx[i][0], strlen(ctx[i][0])), LC_OK);
            put_utf8(&s, u);
            assert_int_equal(
                lci_buf_append(&s, ctx[i][1], strlen(ctx[i][1])), LC_OK);
            bad += check_one(s.data, s.len, "every code point");
        }
    }
    lci_buf_free(&s);
    assert_int_equal(bad, 0);
}

/* The fast path finds the end of a word with a non-ASCII byte 8 bytes at
 * a time (normalize.c, word_end): every ASCII whitespace byte, and bytes
 * next to them in value, at every distance 0..24 from the non-ASCII
 * letter that starts the word, followed by more text. */
static void test_fast_equals_plain_word_end(void **state) {
    static const char *const after[] = {
        "\t", "\n", "\v", "\f", "\r", " ", "\x08", "\x0E", "\x1F", "!",
        "\xC2\xA0", "\xC2\x89", "\xC2\x85", "\xE3\x80\x80", "\xC3\xA9"};
    static const char tail[] = "xy \xD0\x99z zz";
    lci_buf s;
    size_t a, k, j;
    int bad = 0;
    (void)state;
    lci_buf_init(&s, &lci_default_alloc);
    for (a = 0; a < sizeof after / sizeof after[0]; a++) {
        for (k = 0; k <= 24; k++) {
            s.len = 0;
            assert_int_equal(lci_buf_append(&s, S("ab \xC3\x89")), LC_OK);
            for (j = 0; j < k; j++)
                assert_int_equal(lci_buf_putc(&s, (char)('a' + j % 26)),
                                 LC_OK);
            assert_int_equal(
                lci_buf_append(&s, after[a], strlen(after[a])), LC_OK);
            assert_int_equal(lci_buf_append(&s, tail, sizeof tail - 1),
                             LC_OK);
            bad += check_one(s.data, s.len, "word end");
            s.len -= sizeof tail - 1; /* and with the text ending there */
            bad += check_one(s.data, s.len, "word end, last");
        }
    }
    lci_buf_free(&s);
    assert_int_equal(bad, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_repair_valid),
        cmocka_unit_test(test_repair_invalid),
        cmocka_unit_test(test_repair_appends_and_null_outs),
        cmocka_unit_test(test_norm_examples),
        cmocka_unit_test(test_norm_composition),
        cmocka_unit_test(test_norm_whitespace),
        cmocka_unit_test(test_norm_drops),
        cmocka_unit_test(test_norm_quotes),
        cmocka_unit_test(test_norm_appends),
        cmocka_unit_test(test_norm_invalid_utf8),
        cmocka_unit_test(test_invalid_utf8_agrees),
        cmocka_unit_test(test_utf8_decode_matches_iterate),
        cmocka_unit_test(test_fast_equals_plain_every_cp),
        cmocka_unit_test(test_fast_equals_plain_word_end),
        cmocka_unit_test(test_norm_allocator),
        cmocka_unit_test(test_fast_equals_plain_shared),
        cmocka_unit_test(test_fast_equals_plain_fixtures),
        cmocka_unit_test(test_fast_equals_plain_random),
        cmocka_unit_test(test_fast_equals_plain_ascii_heavy),
        cmocka_unit_test(test_fast_equals_plain_block_edges),
        cmocka_unit_test(test_fast_equals_plain_letters),
    };
    return cmocka_run_group_tests_name("normalize", tests, NULL, NULL);
}
