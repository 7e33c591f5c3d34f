/*
 * test_locale.c - numbers in the library's output do not depend on the
 * host's LC_NUMERIC (lci_buf_num, lci_num_dot).
 *
 * The library never calls setlocale, but the program it is linked into
 * may: an evaluation harness that calls setlocale(LC_ALL, "") under
 * de_DE.UTF-8 got "rate":0,5 (invalid JSON) before lci_buf_num.
 *
 * - lci_num_dot on strings as a comma locale and a U+066B locale
 *   (ps_AF, fa_IR) print them: needs no installed locale;
 * - lci_buf_num in the C locale: printf's own bytes, and "%.17g" reads
 *   back to the same double (0, -0, 1e-300, 1e300, 1/3, denormals,
 *   a few thousand pseudo-random bit patterns); non-finite as before;
 * - the same under every installed locale of LOCALES whose decimal point
 *   is not '.', as LC_ALL and as LC_NUMERIC alone: the output equals the
 *   C locale's byte for byte;
 * - real output through the public API (reports of fixtures with
 *   refusal and loop scores, a summary with rates, a diff of
 *   fixtures/runs, in all four formats; conversations with numeric ids
 *   1.5 and 2.50e-1, which json-c parses) made in such a locale equals
 *   the output made in the C locale, and every JSON line parses with
 *   json-c.
 * Without a comma-decimal locale the last two skip, naming the locale
 * that is missing (tests/run-all.sh generates de_DE.UTF-8 and
 * ps_AF.UTF-8 when it runs as root).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h"

#include "internal.h"

#include <float.h>
#include <json-c/json.h>
#include <locale.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Locales tried, comma decimal point first, then U+066B (two bytes). */
static const char *const comma_locales[] = {
    "de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8", "de_DE", "fr_FR",
};
static const char *const arabic_locales[] = {
    "ps_AF.UTF-8",
    "ps_AF.utf8",
    "fa_IR.UTF-8",
    "fa_IR.utf8",
};

/* The first of names that setlocale accepts and whose decimal point
 * really is not '.' (left set as LC_ALL), or NULL (C locale restored). */
static const char *use_locale(const char *const *names, size_t n) {
    char probe[16];
    size_t i;
    for (i = 0; i < n; i++) {
        if (!setlocale(LC_ALL, names[i]))
            continue;
        snprintf(probe, sizeof probe, "%.1f", 0.5);
        if (strcmp(probe, "0.5") != 0)
            return names[i];
    }
    setlocale(LC_ALL, "C");
    return NULL;
}

/* lci_buf_num's output as a NUL-terminated string in out. */
static void num(char *out, size_t size, const char *fmt, double v) {
    lci_buf b;
    lci_buf_init(&b, &lci_default_alloc);
    if (strchr(fmt, '*'))
        assert_int_equal(lci_buf_num(&b, "%.*g", 17, v), LC_OK);
    else if (strcmp(fmt, "%.6g") == 0)
        assert_int_equal(lci_buf_num(&b, "%.6g", v), LC_OK);
    else if (strcmp(fmt, "%5.1f") == 0)
        assert_int_equal(lci_buf_num(&b, "%5.1f", v), LC_OK);
    else if (strcmp(fmt, "%+.1f") == 0)
        assert_int_equal(lci_buf_num(&b, "%+.1f", v), LC_OK);
    else if (strcmp(fmt, "%.3e") == 0)
        assert_int_equal(lci_buf_num(&b, "%.3e", v), LC_OK);
    else
        assert_int_equal(lci_buf_num(&b, "%f", v), LC_OK);
    assert_true(b.len < size);
    memcpy(out, b.data, b.len);
    out[b.len] = '\0';
    lci_buf_free(&b);
}

static void dot_is(const char *in, const char *want) {
    char s[64];
    size_t n = strlen(in);
    assert_true(n < sizeof s);
    memcpy(s, in, n);
    n = lci_num_dot(s, n);
    s[n] = '\0';
    assert_string_equal(s, want);
}

static void test_num_dot(void **state) {
    (void)state;
    /* as the C locale prints them: unchanged */
    dot_is("0.5", "0.5");
    dot_is("5", "5");
    dot_is("-0", "-0");
    dot_is("1e-05", "1e-05");
    dot_is("1.5e+300", "1.5e+300");
    dot_is(" 12.3", " 12.3");
    /* as de_DE / fr_FR print them */
    dot_is("0,5", "0.5");
    dot_is(" 12,3", " 12.3");
    dot_is("-3,2", "-3.2");
    dot_is("+0,0", "+0.0");
    dot_is("1,500000e+00", "1.500000e+00");
    dot_is("4,94065645841246544e-324", "4.94065645841246544e-324");
    dot_is("5,", "5."); /* "%#.0f" */
    /* as ps_AF / fa_IR print them: U+066B ARABIC DECIMAL SEPARATOR */
    dot_is("0\xd9\xab"
           "5",
           "0.5");
    dot_is("-1\xd9\xab"
           "25e-07",
           "-1.25e-07");
    dot_is(" 99\xd9\xab"
           "9",
           " 99.9");
    /* a three-byte point (U+2396 DECIMAL SEPARATOR KEY SYMBOL) */
    dot_is("3\xe2\x8e\x96"
           "14",
           "3.14");
    /* non-finite: letters only, left alone */
    dot_is("inf", "inf");
    dot_is("-inf", "-inf");
    dot_is("nan", "nan");
    dot_is("-nan", "-nan");
    dot_is("INF", "INF");
    dot_is("  inf", "  inf");
    dot_is("", "");
}

/* Finite test values: the named ones, then pseudo-random bit patterns
 * (xorshift64, fixed seed) that are finite. */
static size_t test_values(double *v, size_t max) {
    static const double named[] = {
        0.0,       -0.0,        1e-300,    1e300,    -1e300,   0.1,
        1.0 / 3,   -2.0 / 3,    0.5,       1.0,      100.0,    0.05,
        0.9999999, 123456789.0, 1e-5,      5e-324,   2.5e-320, DBL_MIN,
        DBL_MAX,   -DBL_MAX,    0.0548608, 0.445256, 0.03125,  1e21,
    };
    uint64_t x = 0x9E3779B97F4A7C15u;
    size_t n = 0, i;
    for (i = 0; i < sizeof named / sizeof named[0] && n < max; i++)
        v[n++] = named[i];
    while (n < max) {
        double d;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        memcpy(&d, &x, sizeof d);
        if (isfinite(d))
            v[n++] = d;
    }
    return n;
}

#define NVALUES 3000
static const char *const fmts[] = {"%.*g", "%.6g", "%5.1f", "%+.1f", "%.3e"};
#define NFMTS (sizeof fmts / sizeof fmts[0])

/* Every value in every format, in the current locale, one per line. */
static char *all_numbers(const double *v, size_t n) {
    tu_buf out = {NULL, 0, 0};
    char s[400];
    size_t i, f;
    for (i = 0; i < n; i++)
        for (f = 0; f < NFMTS; f++) {
            /* %f of 1e300 is 300 digits: only for modest values */
            if (fmts[f][1] == '5' || fmts[f][1] == '+') {
                if (fabs(v[i]) > 1e30)
                    continue;
            }
            num(s, sizeof s, fmts[f], v[i]);
            tu_buf_printf(&out, "%s\n", s);
        }
    return out.data;
}

static void test_c_locale(void **state) {
    double v[NVALUES];
    char got[400], want[400];
    size_t n = test_values(v, NVALUES), i;
    lci_buf b;
    (void)state;
    setlocale(LC_ALL, "C");
    for (i = 0; i < n; i++) {
        /* printf's own bytes in the C locale */
        num(got, sizeof got, "%.6g", v[i]);
        snprintf(want, sizeof want, "%.6g", v[i]);
        assert_string_equal(got, want);
        num(got, sizeof got, "%.3e", v[i]);
        snprintf(want, sizeof want, "%.3e", v[i]);
        assert_string_equal(got, want);
        /* 17 digits read back exactly, sign of zero included */
        num(got, sizeof got, "%.*g", v[i]);
        assert_true(strtod(got, NULL) == v[i]);
        assert_int_equal(!!signbit(strtod(got, NULL)), !!signbit(v[i]));
    }
    num(got, sizeof got, "%.6g", INFINITY);
    assert_string_equal(got, "inf");
    num(got, sizeof got, "%.6g", -INFINITY);
    assert_string_equal(got, "-inf");
    num(got, sizeof got, "%.6g", NAN);
    assert_true(strcmp(got, "nan") == 0 || strcmp(got, "-nan") == 0);
    /* "%f" longer than lci_buf_num's stack buffer is formatted in place */
    num(got, sizeof got, "%f", 1e300);
    snprintf(want, sizeof want, "%f", 1e300);
    assert_string_equal(got, want);
    /* JSON numbers: non-finite as 0 (as before), -0 as printf's "-0" */
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lci_buf_json_num(&b, INFINITY), LC_OK);
    assert_int_equal(lci_buf_json_num(&b, NAN), LC_OK);
    assert_int_equal(lci_buf_json_num(&b, 0.25), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "000.25");
    lci_buf_free(&b);
}

/* got == want, else fail naming the first line that differs. */
static void same_text(const char *got, const char *want, const char *loc) {
    const char *g = got, *w = want, *ge, *we;
    if (strcmp(got, want) == 0)
        return;
    for (;;) {
        ge = g + strcspn(g, "\n");
        we = w + strcspn(w, "\n");
        if (ge - g != we - w || memcmp(g, w, (size_t)(ge - g)) != 0)
            fail_msg("under %s:\n%.*s\nin the C locale:\n%.*s", loc,
                     (int)(ge - g), g, (int)(we - w), w);
        if (!*ge || !*we)
            fail_msg("under %s: the output has another length", loc);
        g = ge + 1;
        w = we + 1;
    }
}

/* lci_buf_num under loc (as LC_ALL, then as LC_NUMERIC alone) equals its
 * output in the C locale; the 17-digit form reads back (in C). */
static void numbers_in(const char *const *names, size_t nnames,
                       const char *what) {
    double v[NVALUES];
    size_t n = test_values(v, NVALUES), i;
    char *want, *got;
    const char *loc;
    setlocale(LC_ALL, "C");
    want = all_numbers(v, n);
    if (!(loc = use_locale(names, nnames))) {
        free(want);
        print_message("no %s locale installed (tried %s and others): "
                      "localedef -i %.5s -f UTF-8 %s\n",
                      what, names[0], names[0], names[0]);
        skip();
    }
    got = all_numbers(v, n);
    same_text(got, want, loc);
    free(got);
    setlocale(LC_ALL, "C");
    assert_non_null(setlocale(LC_NUMERIC, loc));
    got = all_numbers(v, n);
    same_text(got, want, loc);
    free(got);
    setlocale(LC_ALL, "C");
    for (i = 0; i < n; i++) {
        char s[400];
        assert_non_null(setlocale(LC_ALL, loc));
        num(s, sizeof s, "%.*g", v[i]);
        setlocale(LC_ALL, "C");
        assert_true(strtod(s, NULL) == v[i]);
    }
    free(want);
}

static void test_numbers_comma(void **state) {
    (void)state;
    numbers_in(comma_locales, sizeof comma_locales / sizeof comma_locales[0],
               "comma-decimal");
}

static void test_numbers_arabic(void **state) {
    (void)state;
    numbers_in(arabic_locales,
               sizeof arabic_locales / sizeof arabic_locales[0], "U+066B");
}

/* ---- real output through the public API ---------------------------- */

typedef struct sink {
    lc_summary *sum; /* reports are written and summed when set */
    lc_diff *diff;   /* else added to this side of the diff */
    int side;
    tu_buf *all, *json;
} sink;

static int on_report(const lc_report *r, void *ud) {
    sink *k = ud;
    lc_output f;
    if (k->sum) {
        for (f = LC_OUTPUT_TEXT; f <= LC_OUTPUT_GITHUB; f++)
            if (lc_report_write(r, f, 0, tu_buf_write, k->all) != LC_OK)
                return 1;
        if (lc_report_write(r, LC_OUTPUT_JSON, 0, tu_buf_write, k->json) !=
                LC_OK ||
            lc_summary_add(k->sum, r) != LC_OK)
            return 1;
        return 0;
    }
    return lc_diff_add(k->diff, k->side, r) != LC_OK;
}

static void check_file(const lc_config *cfg, const char *rel, sink *k) {
    char path[4096];
    size_t len;
    char *data;
    snprintf(path, sizeof path, "%s/%s", tu_fixtures_dir(), rel);
    data = tu_slurp(path, &len);
    if (!data)
        fail_msg("cannot read %s", path);
    assert_int_equal(lc_check_buffer(cfg, rel, data, len, on_report, k),
                     LC_OK);
    free(data);
}

/* Reports of fixtures with refusal, loop and recycled-passage scores, the
 * summary of them all (rates), and a diff of fixtures/runs (rates, a CI,
 * p-values, an alpha that needs 7 digits), each in all four formats, into
 * *all; the JSON lines alone into *json. Made in the current locale. */
static void everything(tu_buf *all, tu_buf *json) {
    static const char *const reports[] = {
        "refusal/onset-after-help.jsonl", "refusal/unrelated-and-broken.jsonl",
        "loops/degenerate-jobs.jsonl",    "loops/recycled-passage.jsonl",
        "loops/neardup-bot.jsonl",        "runs/candidate.jsonl",
    };
    lc_config *cfg = NULL;
    sink k = {NULL, NULL, 0, all, json};
    lc_output f;
    size_t i;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_summary_new(cfg, &k.sum), LC_OK);
    /* numeric ids are parsed by json-c and kept as spelled */
    static const char ids[] =
        "{\"id\": 1.5, \"messages\": [{\"role\": \"user\", "
        "\"content\": \"hi\"}, {\"role\": \"assistant\", \"content\": "
        "\"Sorry, I can't help with that.\"}]}\n"
        "{\"id\": 2.50e-1, \"messages\": [{\"role\": \"user\", "
        "\"content\": \"hi\"}]}\n";
    for (i = 0; i < sizeof reports / sizeof reports[0]; i++)
        check_file(cfg, reports[i], &k);
    assert_int_equal(lc_check_buffer(cfg, "ids.jsonl", ids, sizeof ids - 1,
                                     on_report, &k),
                     LC_OK);
    for (f = LC_OUTPUT_TEXT; f <= LC_OUTPUT_GITHUB; f++)
        assert_int_equal(lc_summary_write(k.sum, f, 0, tu_buf_write, all),
                         LC_OK);
    assert_int_equal(
        lc_summary_write(k.sum, LC_OUTPUT_JSON, 0, tu_buf_write, json), LC_OK);
    lc_summary_free(k.sum);
    k.sum = NULL;
    assert_int_equal(lc_diff_new(cfg, &k.diff), LC_OK);
    k.side = 0;
    check_file(cfg, "runs/baseline.jsonl", &k);
    k.side = 1;
    check_file(cfg, "runs/candidate.jsonl", &k);
    assert_int_equal(lc_diff_set_alpha(k.diff, 0.0999999), LC_OK);
    assert_int_equal(lc_diff_compute(k.diff, NULL), LC_OK);
    for (f = LC_OUTPUT_TEXT; f <= LC_OUTPUT_GITHUB; f++)
        assert_int_equal(lc_diff_write(k.diff, f, 0, tu_buf_write, all),
                         LC_OK);
    assert_int_equal(
        lc_diff_write(k.diff, LC_OUTPUT_JSON, 0, tu_buf_write, json), LC_OK);
    lc_diff_free(k.diff);
    lc_config_free(cfg);
}

/* Every line of text is one JSON object json-c parses whole. */
static void json_lines_parse(const char *text) {
    const char *p = text, *nl;
    int lines = 0;
    while ((nl = strchr(p, '\n')) != NULL) {
        struct json_tokener *tok = json_tokener_new();
        struct json_object *o;
        assert_non_null(tok);
        o = json_tokener_parse_ex(tok, p, (int)(nl - p));
        if (!o || json_tokener_get_parse_end(tok) != (size_t)(nl - p) ||
            !json_object_is_type(o, json_type_object))
            fail_msg("not one JSON object: %.*s", (int)(nl - p), p);
        json_object_put(o);
        json_tokener_free(tok);
        lines++;
        p = nl + 1;
    }
    assert_string_equal(p, "");
    assert_true(lines > 20);
}

static void outputs_in(const char *const *names, size_t nnames,
                       const char *what) {
    tu_buf c_all = {NULL, 0, 0}, c_json = {NULL, 0, 0};
    tu_buf l_all = {NULL, 0, 0}, l_json = {NULL, 0, 0};
    const char *loc;
    setlocale(LC_ALL, "C");
    everything(&c_all, &c_json);
    /* the output has fractions to get wrong */
    assert_non_null(strstr(c_json.data, "\"score\":0.714286"));
    assert_non_null(strstr(c_json.data, "\"conversation\":\"1.5\""));
    assert_non_null(strstr(c_json.data, "\"conversation\":\"2.50e-1\""));
    assert_non_null(strstr(c_json.data, "\"rate\":0."));
    assert_non_null(strstr(c_json.data, "\"ci_low\":0.0548608"));
    assert_non_null(strstr(c_json.data, "\"alpha\":0.0999999"));
    assert_non_null(strstr(c_all.data, "(95% CI +5.5% to +44.5%"));
    json_lines_parse(c_json.data);
    if (!(loc = use_locale(names, nnames))) {
        free(c_all.data);
        free(c_json.data);
        print_message("no %s locale installed (tried %s and others): "
                      "localedef -i %.5s -f UTF-8 %s\n",
                      what, names[0], names[0], names[0]);
        skip();
    }
    everything(&l_all, &l_json);
    setlocale(LC_ALL, "C");
    same_text(l_json.data, c_json.data, loc);
    same_text(l_all.data, c_all.data, loc);
    json_lines_parse(l_json.data);
    free(l_all.data);
    free(l_json.data);
    l_all = l_json = (tu_buf){NULL, 0, 0};
    /* LC_NUMERIC alone */
    assert_non_null(setlocale(LC_NUMERIC, loc));
    everything(&l_all, &l_json);
    setlocale(LC_ALL, "C");
    same_text(l_json.data, c_json.data, loc);
    same_text(l_all.data, c_all.data, loc);
    free(l_all.data);
    free(l_json.data);
    free(c_all.data);
    free(c_json.data);
}

static void test_outputs_comma(void **state) {
    (void)state;
    outputs_in(comma_locales, sizeof comma_locales / sizeof comma_locales[0],
               "comma-decimal");
}

static void test_outputs_arabic(void **state) {
    (void)state;
    outputs_in(arabic_locales,
               sizeof arabic_locales / sizeof arabic_locales[0], "U+066B");
}

/* Each test leaves the C locale behind, even when it fails. */
static int to_c(void **state) {
    (void)state;
    setlocale(LC_ALL, "C");
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_num_dot),
        cmocka_unit_test(test_c_locale),
        cmocka_unit_test_teardown(test_numbers_comma, to_c),
        cmocka_unit_test_teardown(test_numbers_arabic, to_c),
        cmocka_unit_test_teardown(test_outputs_comma, to_c),
        cmocka_unit_test_teardown(test_outputs_arabic, to_c),
    };
    return cmocka_run_group_tests_name("locale", tests, NULL, NULL);
}
