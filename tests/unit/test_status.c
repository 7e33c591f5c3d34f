/*
 * test_status.c - the status table: every lc_status has a description and
 * a unique stable code "LC-Ennn" whose number is the enum value; names of
 * kinds, roles, formats and outputs round-trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "internal.h"

static const lc_status all_status[] = {
    LC_OK, LC_NEED_INPUT, LC_END, LC_ERR_INVALID_ARG, LC_ERR_STATE,
    LC_ERR_UNKNOWN_OPTION, LC_ERR_OUT_OF_BOUNDS, LC_ERR_UTF8, LC_ERR_SYNTAX,
    LC_ERR_SCHEMA, LC_ERR_FORMAT, LC_ERR_PATTERN, LC_ERR_EMPTY,
    LC_ERR_CONFIG_FILE, LC_ERR_LIMIT, LC_ERR_CALLBACK, LC_ERR_IO,
    LC_ERR_NOMEM, LC_ERR_INTERNAL,
};
#define NST (sizeof all_status / sizeof all_status[0])

static void test_codes_unique_and_numbered(void **state) {
    size_t i, j;
    (void)state;
    for (i = 0; i < NST; i++) {
        char want[16];
        snprintf(want, sizeof want, "LC-E%03d", (int)all_status[i]);
        assert_string_equal(lc_status_code(all_status[i]), want);
        assert_string_not_equal(lc_status_str(all_status[i]),
                                "unknown status");
        for (j = 0; j < i; j++)
            assert_string_not_equal(lc_status_code(all_status[i]),
                                    lc_status_code(all_status[j]));
    }
    assert_string_equal(lc_status_code((lc_status)77), "LC-E999");
    assert_string_equal(lc_status_str((lc_status)77), "unknown status");
}

static void test_kind_names_round_trip(void **state) {
    int k, seen = 0;
    (void)state;
    for (k = 0; k < LC_KIND_COUNT_MAX; k++) {
        const char *n = lc_kind_name((lc_kind)k);
        lc_kind back;
        if (!n)
            continue;
        seen++;
        assert_int_equal(lc_kind_from_name(n, strlen(n), &back), LC_OK);
        assert_int_equal(back, k);
    }
    assert_int_equal(seen, 9);
    assert_string_equal(lc_kind_name(LC_KIND_EXACT_LOOP), "exact_loop");
    assert_string_equal(lc_kind_name(LC_KIND_REFUSAL_ONSET), "refusal_onset");
}

static void test_format_and_output_names(void **state) {
    lc_format f;
    lc_output o;
    (void)state;
    assert_int_equal(lc_format_from_name("jsonl", 5, &f), LC_OK);
    assert_int_equal(f, LC_FORMAT_JSONL_CONV);
    assert_int_equal(lc_format_from_name("jsonlx", 6, &f),
                     LC_ERR_INVALID_ARG);
    assert_string_equal(lc_format_name(LC_FORMAT_TRANSCRIPT), "transcript");
    assert_int_equal(lc_output_from_name("junit", 5, &o), LC_OK);
    assert_int_equal(o, LC_OUTPUT_JUNIT);
    assert_string_equal(lc_role_name(LC_ROLE_TOOL), "tool");
}

static void test_locate_counts_code_points(void **state) {
    /* "ab\n" then U+00E9 (2 bytes) then "x": byte 5 is 'x' */
    const char text[] = "ab\n\xc3\xa9x";
    uint64_t line, col;
    (void)state;
    lci_locate(text, sizeof text - 1, 5, &line, &col);
    assert_int_equal(line, 2);
    assert_int_equal(col, 2);
    lci_locate(text, sizeof text - 1, 0, &line, &col);
    assert_int_equal(line, 1);
    assert_int_equal(col, 1);
}

static void test_options_bounds(void **state) {
    lc_config *c;
    int64_t v, mn, mx, def;
    lc_opt k;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &c), LC_OK);
    assert_int_equal(lc_opt_bounds(LC_OPT_MIN_REPEATS, &mn, &mx, &def),
                     LC_OK);
    assert_int_equal(def, 3);
    assert_int_equal(lc_config_set(c, LC_OPT_MIN_REPEATS, mx + 1),
                     LC_ERR_OUT_OF_BOUNDS);
    assert_int_equal(lc_config_set(c, LC_OPT_MIN_REPEATS, 4), LC_OK);
    assert_int_equal(lc_config_get(c, LC_OPT_MIN_REPEATS, &v), LC_OK);
    assert_int_equal(v, 4);
    assert_int_equal(lc_config_set(c, LC_OPT_MIN_REPEATS, 0), LC_OK);
    assert_int_equal(lc_config_get(c, LC_OPT_MIN_REPEATS, &v), LC_OK);
    assert_int_equal(v, 3);
    assert_int_equal(lc_config_set(c, (lc_opt)999, 1), LC_ERR_UNKNOWN_OPTION);
    assert_int_equal(lc_opt_from_name("passage_words", 13, &k), LC_OK);
    assert_int_equal(k, LC_OPT_PASSAGE_WORDS);
    /* a config becomes read-only once a handle holds it */
    lci_config_ref(c);
    assert_int_equal(lc_config_set(c, LC_OPT_MIN_REPEATS, 5), LC_ERR_STATE);
    lci_config_unref(c);
    lc_config_free(c);
}

static void test_json_escaping(void **state) {
    lci_buf b;
    (void)state;
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lci_buf_json_str(&b, "a\"b\\\n\x01\xc3\xa9", 8), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "\"a\\\"b\\\\\\n\\u0001\xc3\xa9\"");
    lci_buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_codes_unique_and_numbered),
        cmocka_unit_test(test_kind_names_round_trip),
        cmocka_unit_test(test_format_and_output_names),
        cmocka_unit_test(test_locate_counts_code_points),
        cmocka_unit_test(test_options_bounds),
        cmocka_unit_test(test_json_escaping),
    };
    return cmocka_run_group_tests_name("status", tests, NULL, NULL);
}
