/*
 * test_summary.c - lc_summary_*: counts per kind and family (a
 * conversation counts once per kind), worst cases, merge in memory and
 * from JSON (round trip, order independence, schema errors leave the
 * summary untouched).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "mkreport.h"

#include <stdio.h>
#include <string.h>

/* Shard A: 4 conversations: a (2 exact loops + refusal apology),
 * b (clean), c (failed), d (refusal no_capability). */
static lc_summary *shard_a(void) {
    lc_summary *s;
    lc_report *r;
    assert_int_equal(lc_summary_new(cfg, &s), LC_OK);
    r = mk_report(cfg, "a", "x.jsonl", 1, 10);
    mk_finding(r, LC_KIND_EXACT_LOOP, 1, 6, 1, 1, "x");
    mk_finding(r, LC_KIND_EXACT_LOOP, 7, 9, 1, 1, "y");
    mk_refusal(r, 10, "apology");
    assert_int_equal(lc_summary_add(s, r), LC_OK);
    lc_report_free(r);
    r = mk_report(cfg, "b", "x.jsonl", 2, 4);
    assert_int_equal(lc_summary_add(s, r), LC_OK);
    lc_report_free(r);
    r = mk_report(cfg, "c", "x.jsonl", 3, 0);
    mk_fail(r, LC_ERR_SYNTAX, 3, 1, "bad");
    assert_int_equal(lc_summary_add(s, r), LC_OK);
    lc_report_free(r);
    r = mk_report(cfg, "d", "x.jsonl", 4, 2);
    mk_refusal(r, 2, "no_capability");
    assert_int_equal(lc_summary_add(s, r), LC_OK);
    lc_report_free(r);
    return s;
}

/* Shard B: 2 conversations: e (refusal apology, recurring turn), f clean */
static lc_summary *shard_b(void) {
    lc_summary *s;
    lc_report *r;
    assert_int_equal(lc_summary_new(cfg, &s), LC_OK);
    r = mk_report(cfg, "e", "y.jsonl", 1, 8);
    mk_refusal(r, 2, "apology");
    mk_finding(r, LC_KIND_RECURRING_TURN, 2, 8, 1, 1, "z");
    assert_int_equal(lc_summary_add(s, r), LC_OK);
    lc_report_free(r);
    r = mk_report(cfg, "f", "y.jsonl", 2, 8);
    assert_int_equal(lc_summary_add(s, r), LC_OK);
    lc_report_free(r);
    return s;
}

static void check_merged(const lc_summary *s) {
    assert_int_equal(lc_summary_read(s), 6);
    assert_int_equal(lc_summary_analysed(s), 5);
    assert_int_equal(lc_summary_failed(s), 1);
    assert_int_equal(lc_summary_kind_count(s, LC_KIND_EXACT_LOOP), 1);
    assert_int_equal(lc_summary_kind_count(s, LC_KIND_REFUSAL), 3);
    assert_int_equal(lc_summary_kind_count(s, LC_KIND_RECURRING_TURN), 1);
    assert_int_equal(lc_summary_family_count(s, "apology"), 2);
    assert_int_equal(lc_summary_family_count(s, "no_capability"), 1);
    assert_int_equal(lc_summary_family_count(s, "nope"), 0);
}

static void test_counts(void **state) {
    lc_summary *a = shard_a();
    (void)state;
    assert_int_equal(lc_summary_read(a), 4);
    assert_int_equal(lc_summary_analysed(a), 3);
    assert_int_equal(lc_summary_failed(a), 1);
    /* two exact loops in one conversation count once */
    assert_int_equal(lc_summary_kind_count(a, LC_KIND_EXACT_LOOP), 1);
    assert_int_equal(lc_summary_kind_count(a, LC_KIND_REFUSAL), 2);
    assert_int_equal(lc_summary_kind_count(a, (lc_kind)99), 0);
    lc_summary_free(a);
}

static void test_json_exact(void **state) {
    lc_summary *a = shard_a();
    (void)state;
    /* rates over the 3 analysed: 1/3, 2/3, 2/3 */
    assert_string_equal(
        MK_WRITTEN(lc_summary_write, a, LC_OUTPUT_JSON, 0)->data,
        "{\"type\":\"summary\",\"schema\":1,\"read\":4,\"analysed\":3,"
        "\"failed\":1,\"with_findings\":2,\"findings\":4,\"rate\":0.666667,"
        "\"kinds\":{\"exact_loop\":{\"conversations\":1,\"rate\":0.333333},"
        "\"recurring_turn\":{\"conversations\":0,\"rate\":0},"
        "\"recycled_passage\":{\"conversations\":0,\"rate\":0},"
        "\"near_duplicate_loop\":{\"conversations\":0,\"rate\":0},"
        "\"degenerate_repetition\":{\"conversations\":0,\"rate\":0},"
        "\"stalled_conversation\":{\"conversations\":0,\"rate\":0},"
        "\"refusal\":{\"conversations\":2,\"rate\":0.666667},"
        "\"refusal_loop\":{\"conversations\":0,\"rate\":0},"
        "\"refusal_onset\":{\"conversations\":0,\"rate\":0}},"
        "\"families\":{\"apology\":{\"conversations\":1,\"rate\":0.333333},"
        "\"no_capability\":{\"conversations\":1,\"rate\":0.333333}},"
        "\"worst\":[{\"conversation\":\"a\",\"source\":\"x.jsonl\","
        "\"line\":1,\"findings\":3},{\"conversation\":\"d\","
        "\"source\":\"x.jsonl\",\"line\":4,\"findings\":1}]}\n");
    lc_summary_free(a);
}

static void test_merge_memory_and_json(void **state) {
    lc_summary *a = shard_a(), *b = shard_b(), *m1, *m2;
    mk_out oa = {0}, ob = {0}, o1 = {0}, o2 = {0};
    (void)state;
    assert_int_equal(lc_summary_write(a, LC_OUTPUT_JSON, 0, mk_write, &oa),
                     LC_OK);
    assert_int_equal(lc_summary_write(b, LC_OUTPUT_JSON, 0, mk_write, &ob),
                     LC_OK);
    /* m1 = a + b in memory */
    assert_int_equal(lc_summary_new(cfg, &m1), LC_OK);
    assert_int_equal(lc_summary_merge(m1, a), LC_OK);
    assert_int_equal(lc_summary_merge(m1, b), LC_OK);
    check_merged(m1);
    /* m2 = b + a from their JSON: same result in the other order */
    assert_int_equal(lc_summary_new(cfg, &m2), LC_OK);
    assert_int_equal(lc_summary_merge_json(m2, ob.data, ob.len), LC_OK);
    assert_int_equal(lc_summary_merge_json(m2, oa.data, oa.len), LC_OK);
    check_merged(m2);
    assert_int_equal(lc_summary_write(m1, LC_OUTPUT_JSON, 0, mk_write, &o1),
                     LC_OK);
    assert_int_equal(lc_summary_write(m2, LC_OUTPUT_JSON, 0, mk_write, &o2),
                     LC_OK);
    assert_string_equal(o1.data, o2.data);
    /* worst: a (3), e (2), d (1) */
    assert_non_null(strstr(o1.data,
                           "\"worst\":[{\"conversation\":\"a\",\"source\":"
                           "\"x.jsonl\",\"line\":1,\"findings\":3},"
                           "{\"conversation\":\"e\",\"source\":\"y.jsonl\","
                           "\"line\":1,\"findings\":2},"
                           "{\"conversation\":\"d\""));
    /* rate recomputed from summed counts: refusal 3/5 */
    assert_non_null(
        strstr(o1.data, "\"refusal\":{\"conversations\":3,\"rate\":0.6}"));
    lc_summary_free(a);
    lc_summary_free(b);
    lc_summary_free(m1);
    lc_summary_free(m2);
}

static void test_merge_json_errors(void **state) {
    lc_summary *s;
    static const char bad_type[] =
        "{\"type\":\"conversation\",\"schema\":1,\"read\":1,\"analysed\":1,"
        "\"failed\":0,\"with_findings\":0,\"findings\":0}";
    static const char bad_schema[] =
        "{\"type\":\"summary\",\"schema\":2,\"read\":1,\"analysed\":1,"
        "\"failed\":0,\"with_findings\":0,\"findings\":0}";
    /* read != analysed + failed */
    static const char bad_sum[] =
        "{\"type\":\"summary\",\"schema\":1,\"read\":3,\"analysed\":1,"
        "\"failed\":0,\"with_findings\":0,\"findings\":0}";
    static const char bad_kind[] =
        "{\"type\":\"summary\",\"schema\":1,\"read\":1,\"analysed\":1,"
        "\"failed\":0,\"with_findings\":1,\"findings\":1,"
        "\"kinds\":{\"exact_loop\":{\"conversations\":-1}}}";
    static const char good_future[] =
        "{\"type\":\"summary\",\"schema\":1,\"read\":2,\"analysed\":1,"
        "\"failed\":1,\"with_findings\":1,\"findings\":1,"
        "\"kinds\":{\"exact_loop\":{\"conversations\":1,\"rate\":1},"
        "\"kind_from_the_future\":{\"conversations\":1}}}\n";
    (void)state;
    assert_int_equal(lc_summary_new(cfg, &s), LC_OK);
    assert_int_equal(lc_summary_merge_json(s, "{\"type\":", 8),
                     LC_ERR_SYNTAX);
    assert_int_equal(lc_summary_merge_json(s, "{} x", 4), LC_ERR_SYNTAX);
    assert_int_equal(lc_summary_merge_json(s, "[]", 2), LC_ERR_SCHEMA);
    assert_int_equal(lc_summary_merge_json(s, bad_type, strlen(bad_type)),
                     LC_ERR_SCHEMA);
    assert_int_equal(lc_summary_merge_json(s, bad_schema, strlen(bad_schema)),
                     LC_ERR_SCHEMA);
    assert_int_equal(lc_summary_merge_json(s, bad_sum, strlen(bad_sum)),
                     LC_ERR_SCHEMA);
    assert_int_equal(lc_summary_merge_json(s, bad_kind, strlen(bad_kind)),
                     LC_ERR_SCHEMA);
    /* nothing was merged by the failures */
    assert_int_equal(lc_summary_read(s), 0);
    assert_int_equal(
        lc_summary_merge_json(s, good_future, strlen(good_future)), LC_OK);
    assert_int_equal(lc_summary_read(s), 2);
    assert_int_equal(lc_summary_kind_count(s, LC_KIND_EXACT_LOOP), 1);
    assert_int_equal(lc_summary_merge_json(NULL, "{}", 2),
                     LC_ERR_INVALID_ARG);
    lc_summary_free(s);
}

static void test_worst_cut(void **state) {
    lc_summary *s;
    char id[8];
    const char *text;
    int i;
    (void)state;
    assert_int_equal(lc_summary_new(cfg, &s), LC_OK);
    /* conversations 1..8 with i findings each: worst = 8,7,6,5,4 */
    for (i = 1; i <= 8; i++) {
        lc_report *r;
        int k;
        snprintf(id, sizeof id, "c%d", i);
        r = mk_report(cfg, id, "w.jsonl", (uint64_t)i, 9);
        for (k = 0; k < i; k++)
            mk_finding(r, LC_KIND_RECYCLED_PASSAGE, 1, 2, 1, 1, "p");
        assert_int_equal(lc_summary_add(s, r), LC_OK);
        lc_report_free(r);
    }
    text = MK_WRITTEN(lc_summary_write, s, LC_OUTPUT_TEXT, 0)->data;
    assert_non_null(strstr(text, "  w.jsonl:8: c8 (8 findings)\n"
                                 "  w.jsonl:7: c7 (7 findings)\n"
                                 "  w.jsonl:6: c6 (6 findings)\n"
                                 "  w.jsonl:5: c5 (5 findings)\n"
                                 "  w.jsonl:4: c4 (4 findings)\n"));
    assert_null(strstr(text, "c3"));
    lc_summary_free(s);
}

static void test_other_formats(void **state) {
    lc_summary *a = shard_a();
    const char *text;
    mk_out o = {0};
    (void)state;
    assert_string_equal(
        MK_WRITTEN(lc_summary_write, a, LC_OUTPUT_GITHUB, 0)->data,
        "::notice title=loopcheck summary::4 conversations "
        "read, 3 analysed, 1 failed; 2 with findings; "
        "exact_loop 1 (33.3%25); refusal 2 (66.7%25)\n");
    text = MK_WRITTEN(lc_summary_write, a, LC_OUTPUT_JUNIT, 0)->data;
    assert_non_null(strstr(text, "<testsuite name=\"loopcheck.summary\" "
                                 "tests=\"0\" failures=\"0\""));
    assert_non_null(
        strstr(text, "<property name=\"family.apology\" value=\"1\"/>"));
    assert_int_equal(lc_summary_write(a, (lc_output)42, 0, mk_write, &o),
                     LC_ERR_INVALID_ARG);
    lc_summary_free(a);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counts),
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_merge_memory_and_json),
        cmocka_unit_test(test_merge_json_errors),
        cmocka_unit_test(test_worst_cut),
        cmocka_unit_test(test_other_formats),
    };
    return cmocka_run_group_tests_name("summary", tests, mk_setup,
                                       mk_teardown);
}
