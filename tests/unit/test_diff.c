/*
 * test_diff.c - lc_diff_* and lc_mcnemar_exact on constructed runs whose
 * statistics are computed by hand below.
 *
 * Exact McNemar, X ~ Bin(n, 1/2), p = P(X >= k) = sum_{i>=k} C(n,i)/2^n:
 *   k=5, n=5:  C(5,5)/32            = 1/32    = 0.03125
 *   k=6, n=7:  (C(7,6)+C(7,7))/128  = 8/128   = 0.0625
 *   k=3, n=10: 1 - (1+10+45)/1024   = 968/1024 = 0.9453125
 *   k=10,n=10: 1/1024; k=0: 1 (empty condition); k > n: 0.
 *
 * Newcombe (1998) method 10, z = 1.959964 (z^2 = 3.841459). Wilson
 * interval for x of n: (2x + z^2 -+ z sqrt(z^2 + 4x(n-x)/n)) / (2(n+z^2)).
 *
 * Run R1: A=2 both refuse, B=5 comply->refuse, C=0, D=13; N=20.
 *   p_cand = 7/20 = 0.35, p_base = 2/20 = 0.10, d = 0.25.
 *   Wilson 7/20: (14 + 3.841459 -+ 1.959964*sqrt(3.841459 + 18.2))
 *                / 47.682918 = (17.841459 -+ 9.201713)/47.682918
 *                -> [0.181192, 0.567146]
 *   Wilson 2/20: (4 + 3.841459 -+ 1.959964*sqrt(3.841459 + 7.2))
 *                / 47.682918 = (7.841459 -+ 6.512687)/47.682918
 *                -> [0.027866, 0.301034]
 *   phi = (A*D - B*C)/sqrt((A+B)(C+D)(A+C)(B+D)) = 26/sqrt(7*13*2*18)
 *       = 26/57.2364 = 0.454257
 *   delta^2 = (0.35-0.181192)^2 - 2*phi*(0.168808)(0.301034-0.10)
 *             + 0.201034^2 = 0.028496 - 0.030831 + 0.040415 = 0.038079
 *   eps^2   = (0.567146-0.35)^2 - 2*phi*(0.217146)(0.10-0.027866)
 *             + 0.072134^2 = 0.047152 - 0.014231 + 0.005203 = 0.038125
 *   CI = [0.25 - 0.195139, 0.25 + 0.195256] = [0.054861, 0.445256]
 *   p = P(X >= 5 | n = 5) = 0.03125 < 0.05 -> regression.
 *
 * Run R2: A=2, B=6, C=1, D=11: p = 0.0625 -> no_change at alpha 0.05
 *   (regression at alpha 0.1). CI (same steps) = [0.005724, 0.463425].
 *
 * Run R3: A=3, B=0, C=4, D=13: p_improvement = P(X >= 4 | 4) = 1/16
 *   = 0.0625; p = 1; CI = [-0.380030, -0.020827]; improvement at
 *   alpha 0.1.
 *
 * Run R0: nobody refuses in either run (A=B=C=0, D=20): p = 1, d = 0,
 *   phi = 0 (zero margin) and the CI is +-(Wilson upper of 0/20)
 *   = +-z^2/(20+z^2) = +-3.841459/23.841459 = +-0.161125.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h" /* before mkreport.h: its global cfg */
#include "mkreport.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define EPS 1e-6

static void test_mcnemar(void **state) {
    (void)state;
    assert_true(lc_mcnemar_exact(5, 5) == 0.03125); /* exact */
    assert_true(lc_mcnemar_exact(6, 7) == 0.0625);
    assert_true(fabs(lc_mcnemar_exact(3, 10) - 0.9453125) < 1e-15);
    assert_true(lc_mcnemar_exact(10, 10) == 1.0 / 1024);
    assert_true(lc_mcnemar_exact(0, 0) == 1.0);
    assert_true(lc_mcnemar_exact(0, 9) == 1.0);
    assert_true(lc_mcnemar_exact(11, 10) == 0.0);
    assert_true(fabs(lc_mcnemar_exact(1, 1) - 0.5) < 1e-15);
    /* n = 5000 (log-space path), checked against exact rational sums:
     * P(X >= 2600) = 0.002441824868758759, P(X >= 2400) =
     * 0.9977647795188217, P(X >= 2550) = 0.08074261119868845 */
    assert_true(fabs(lc_mcnemar_exact(2600, 5000) / 0.002441824868758759 -
                     1) < 1e-9);
    assert_true(fabs(lc_mcnemar_exact(2400, 5000) - 0.9977647795188217) <
                1e-12);
    assert_true(fabs(lc_mcnemar_exact(2550, 5000) / 0.08074261119868845 -
                     1) < 1e-9);
    /* symmetry: P(X >= k) + P(X >= n - k + 1) = 1 */
    assert_true(fabs(lc_mcnemar_exact(1234, 2500) +
                     lc_mcnemar_exact(1267, 2500) - 1) < 1e-12);
    /* far tail stays positive and finite */
    assert_true(lc_mcnemar_exact(900000, 1000000) >= 0.0);
    assert_true(lc_mcnemar_exact(500500, 1000000) > 0.0);
}

/* Huge n: the result stays in [0, 1], symmetric cases come out at 0.5,
 * and it returns at once (the old term-by-term sum ran ~sqrt(20 n)
 * iterations: hours near n = 2^64, so a regression shows as a test
 * timeout). For even n, P(X >= n/2) = 1/2 + t/2 and P(X >= n/2 + 1) =
 * 1/2 - t/2 with t = C(n, n/2) 2^-n ~ sqrt(2 / (pi n)) (1 - 1/(4n)). */
static void test_mcnemar_huge(void **state) {
    const uint64_t ns[] = {UINT64_C(1) << 20,
                           UINT64_C(1) << 32,
                           (UINT64_C(1) << 32) + 1,
                           UINT64_C(1) << 36,
                           UINT64_C(1) << 50,
                           (UINT64_C(1) << 53) + 1,
                           UINT64_C(1) << 54,
                           UINT64_C(1) << 63,
                           UINT64_MAX - 1,
                           UINT64_MAX};
    size_t i, j;
    (void)state;
    for (i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        uint64_t n = ns[i], h = n / 2, r = (uint64_t)sqrt((double)n);
        /* k ascending: 1, below, at and above n/2, far tail, n */
        const uint64_t ks[] = {1,       h - 40 * r, h - 3 * r, h - 1, h,
                               h + 1,   h + 2,      h + r / 2, h + 3 * r,
                               h + 8 * r, h + 40 * r, n - 1,   n};
        double prev = 2.0;
        for (j = 0; j < sizeof ks / sizeof ks[0]; j++) {
            double p = lc_mcnemar_exact(ks[j], n);
            assert_true(p >= 0.0 && p <= 1.0);
            assert_true(p <= prev); /* non-increasing in k */
            prev = p;
            /* P(X >= k) + P(X >= n - k + 1) = 1 */
            assert_true(fabs(p + lc_mcnemar_exact(n - ks[j] + 1, n) - 1) <
                        1e-12);
        }
        assert_true(lc_mcnemar_exact(1, n) == 1.0);
        assert_true(lc_mcnemar_exact(n, n) < 1e-300);
        assert_true(lc_mcnemar_exact(h - 40 * r, n) == 1.0);
        assert_true(lc_mcnemar_exact(h + 40 * r, n) < 1e-300);
        if (n % 2 == 0) {
            double t = sqrt(2.0 / (3.141592653589793 * (double)n)) *
                       (1 - 0.25 / (double)n);
            assert_true(fabs(lc_mcnemar_exact(h, n) - (0.5 + t / 2)) <
                        1e-10);
            assert_true(fabs(lc_mcnemar_exact(h + 1, n) - (0.5 - t / 2)) <
                        1e-10);
        } else {
            /* odd n: P(X >= (n + 1) / 2) = 1/2 exactly */
            assert_true(fabs(lc_mcnemar_exact(h + 1, n) - 0.5) < 1e-15);
        }
    }
    /* the QA cases */
    assert_true(fabs(lc_mcnemar_exact((UINT64_C(1) << 53) + 1,
                                      UINT64_C(1) << 54) -
                     0.5) < 1e-8);
    assert_true(fabs(lc_mcnemar_exact(UINT64_C(1) << 63, UINT64_MAX) - 0.5) <
                1e-15);
    assert_true(fabs(lc_mcnemar_exact(UINT64_C(1) << 49, UINT64_C(1) << 50) -
                     0.5) < 1e-7);
    /* n = 2^36, k = 2^35: 0.5 + 1.52184e-6 (the old code was off at the
     * 4th decimal) */
    assert_true(fabs(lc_mcnemar_exact(UINT64_C(1) << 35, UINT64_C(1) << 36) -
                     0.50000152184) < 1e-10);
    /* k near n at n = 2^64 - 1 (2k overflowed) */
    assert_true(lc_mcnemar_exact(UINT64_MAX - 1, UINT64_MAX) == 0.0);
    assert_true(lc_mcnemar_exact(2, UINT64_MAX) == 1.0);
}

/* Add to `side` of d (0 baseline, 1 candidate) the 2-turn report of
 * conversation id from source:line with prompt hash `hash` (0: none),
 * refusing at turn 2 with `family` unless that is NULL. */
static void add_report(lc_diff *d, int side, const char *id,
                       const char *source, uint64_t line, uint64_t hash,
                       const char *family) {
    lc_report *r = mk_report(cfg, id, source, line, 2);
    r->prompt_hash = hash;
    if (family)
        mk_refusal(r, 2, family);
    assert_int_equal(lc_diff_add(d, side, r), LC_OK);
    lc_report_free(r);
}

/* Add one prompt to both sides. brefuse/crefuse: who refuses. Ids are
 * per side ("b7"/"c7") so pairing must use the prompt hash unless
 * same_id is set. */
static void add_pair(lc_diff *d, int i, int brefuse, int crefuse,
                     int same_id) {
    char id[32];
    snprintf(id, sizeof id, same_id ? "p%d" : "base.jsonl:%d", i);
    add_report(d, 0, id, "base.jsonl", (uint64_t)i, 1000 + (uint64_t)i,
               brefuse ? "apology" : NULL);
    snprintf(id, sizeof id, same_id ? "p%d" : "cand.jsonl:%d", i);
    add_report(d, 1, id, "cand.jsonl", (uint64_t)i, 1000 + (uint64_t)i,
               crefuse ? "apology" : NULL);
}

/* A,B,C,D as in the header comment. */
static lc_diff *run(int a, int b, int c, int dd, int same_id) {
    lc_diff *d;
    int i = 1, k;
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    for (k = 0; k < a; k++)
        add_pair(d, i++, 1, 1, same_id);
    for (k = 0; k < b; k++)
        add_pair(d, i++, 0, 1, same_id);
    for (k = 0; k < c; k++)
        add_pair(d, i++, 1, 0, same_id);
    for (k = 0; k < dd; k++)
        add_pair(d, i++, 0, 0, same_id);
    return d;
}

/* Compute d; check the p-value (exactly), the CI (to EPS) and the
 * verdict; return the statistics for further checks. */
static const lc_diff_stats *computed(lc_diff *d, double p, double ci_low,
                                     double ci_high, lc_verdict verdict) {
    const lc_diff_stats *st;
    assert_int_equal(lc_diff_compute(d, &st), LC_OK);
    assert_true(st->p_value == p);
    assert_true(fabs(st->ci_low - ci_low) < EPS);
    assert_true(fabs(st->ci_high - ci_high) < EPS);
    assert_int_equal(st->verdict, verdict);
    return st;
}

static void test_regression(void **state) {
    lc_diff *d = run(2, 5, 0, 13, 0);
    const lc_diff_stats *st;
    (void)state;
    st = computed(d, 0.03125, 0.054861, 0.445256, LC_VERDICT_REGRESSION);
    assert_int_equal(st->paired, 20);
    assert_int_equal(st->unpaired_baseline, 0);
    assert_int_equal(st->to_refusal, 5);
    assert_int_equal(st->to_compliance, 0);
    assert_int_equal(st->both_refuse, 2);
    assert_true(st->p_value_improvement == 1.0);
    assert_true(fabs(st->rate_baseline - 0.10) < 1e-12);
    assert_true(fabs(st->rate_candidate - 0.35) < 1e-12);
    assert_true(fabs(st->difference - 0.25) < 1e-12);
    lc_diff_free(d);
}

static void test_no_change_then_alpha(void **state) {
    lc_diff *d = run(2, 6, 1, 11, 1);
    const lc_diff_stats *st;
    (void)state;
    computed(d, 0.0625, 0.005724, 0.463425, LC_VERDICT_NO_CHANGE);
    assert_int_equal(lc_diff_set_alpha(d, 0.1), LC_OK);
    assert_int_equal(lc_diff_compute(d, &st), LC_OK);
    assert_int_equal(st->verdict, LC_VERDICT_REGRESSION);
    assert_int_equal(lc_diff_set_alpha(d, 0.0), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_set_alpha(d, 1.0), LC_ERR_INVALID_ARG);
    lc_diff_free(d);
}

static void test_improvement(void **state) {
    lc_diff *d = run(3, 0, 4, 13, 0);
    const lc_diff_stats *st;
    (void)state;
    assert_int_equal(lc_diff_set_alpha(d, 0.1), LC_OK);
    st = computed(d, 1.0, -0.380030, -0.020827, LC_VERDICT_IMPROVEMENT);
    assert_true(st->p_value_improvement == 0.0625);
    lc_diff_free(d);
}

static void test_nobody_refuses(void **state) {
    lc_diff *d = run(0, 0, 0, 20, 1);
    const lc_diff_stats *st;
    (void)state;
    st = computed(d, 1.0, -0.161125, 0.161125, LC_VERDICT_NO_CHANGE);
    assert_true(st->difference == 0.0);
    lc_diff_free(d);
}

static void test_empty(void **state) {
    lc_diff *d;
    const lc_diff_stats *st;
    (void)state;
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    assert_int_equal(lc_diff_compute(d, &st), LC_OK);
    assert_int_equal(st->paired, 0);
    assert_true(st->p_value == 1.0);
    assert_int_equal(st->verdict, LC_VERDICT_NO_CHANGE);
    lc_diff_free(d);
}

/* Pairing: ids first, then prompt hash; duplicates in order; unpaired
 * listed; loops and family changes counted. */
static void test_pairing_and_changes(void **state) {
    lc_diff *d;
    lc_report *r;
    const lc_diff_stats *st;
    const char *text;
    mk_out o = {0};
    (void)state;
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    /* baseline: x (id, complies), y (hash 7, refuses apology, loops),
     * z (only in baseline), w (refuses apology) */
    add_report(d, 0, "x", "b.jsonl", 1, 5, NULL);
    r = mk_report(cfg, "b.jsonl:2", "b.jsonl", 2, 2);
    r->prompt_hash = 7;
    mk_refusal(r, 2, "apology");
    mk_finding(r, LC_KIND_EXACT_LOOP, 1, 2, 2, 2, "again");
    assert_int_equal(lc_diff_add(d, 0, r), LC_OK);
    lc_report_free(r);
    add_report(d, 0, "z", "b.jsonl", 3, 9, NULL);
    add_report(d, 0, "w", "b.jsonl", 4, 0, "apology");
    /* a failed report is not added */
    r = mk_report(cfg, "bad", "b.jsonl", 5, 0);
    mk_fail(r, LC_ERR_SYNTAX, 5, 1, "bad");
    assert_int_equal(lc_diff_add(d, 0, r), LC_OK);
    lc_report_free(r);
    /* candidate: y by hash (complies, no loop), x by id (refuses,
     * prompt hash differs: id wins), w (refuses no_capability),
     * q only in candidate */
    add_report(d, 1, "c.jsonl:1", "c.jsonl", 1, 7, NULL);
    add_report(d, 1, "x", "c.jsonl", 2, 6, "no_capability");
    add_report(d, 1, "w", "c.jsonl", 3, 0, "no_capability");
    add_report(d, 1, "q", "c.jsonl", 4, 11, NULL);

    assert_int_equal(lc_diff_write(d, LC_OUTPUT_JSON, 0, mk_write, &o),
                     LC_ERR_STATE); /* not computed yet */
    assert_int_equal(lc_diff_compute(d, &st), LC_OK);
    assert_int_equal(st->paired, 3);
    assert_int_equal(st->unpaired_baseline, 1);
    assert_int_equal(st->unpaired_candidate, 1);
    assert_int_equal(st->to_refusal, 1);     /* x */
    assert_int_equal(st->to_compliance, 1);  /* y */
    assert_int_equal(st->both_refuse, 1);    /* w */
    assert_int_equal(st->family_changed, 1); /* w: apology -> no_cap. */
    assert_int_equal(st->loops_disappeared, 1);
    assert_int_equal(st->loops_appeared, 0);
    /* b=1, c=1: p = P(X >= 1 | 2) = 3/4 */
    assert_true(st->p_value == 0.75);

    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_JSON, 0)->data;
    assert_non_null(strstr(text, "\"paired\":3,\"unpaired\":2,"));
    assert_non_null(strstr(text, "\"verdict\":\"no_change\""));
    assert_non_null(strstr(
        text,
        "\"flips\":[{\"conversation\":\"x\",\"change\":\"to_refusal\","
        "\"family_baseline\":null,\"family_candidate\":\"no_capability\","
        "\"paired_by\":\"id\",\"baseline\":{\"source\":\"b.jsonl\","
        "\"line\":1},\"candidate\":{\"conversation\":\"x\",\"source\":"
        "\"c.jsonl\",\"line\":2}},{\"conversation\":\"b.jsonl:2\","
        "\"change\":\"to_compliance\",\"family_baseline\":\"apology\","
        "\"family_candidate\":null,\"paired_by\":\"prompt\""));
    assert_non_null(strstr(text, "\"change\":\"family_changed\""));
    assert_non_null(strstr(text, "\"change\":\"loop_disappeared\""));
    assert_non_null(strstr(text,
                           "\"unpaired_conversations\":[{\"side\":"
                           "\"baseline\",\"conversation\":\"z\",\"source\":"
                           "\"b.jsonl\",\"line\":3},{\"side\":\"candidate\","
                           "\"conversation\":\"q\""));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, 0)->data;
    assert_non_null(strstr(text, "to_refusal:\n  c.jsonl:2: x: "
                                 "compliance -> refusal (no_capability)\n"));
    assert_non_null(strstr(text, "unpaired:\n  b.jsonl:3: z (baseline "
                                 "only)\n  c.jsonl:4: q (candidate only)\n"));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_JUNIT, 0)->data;
    /* no regression: the flip is reported, not failed */
    assert_non_null(strstr(text, "<testsuite name=\"loopcheck.diff\" "
                                 "tests=\"4\" failures=\"0\""));
    assert_non_null(strstr(text, "<system-out>to_refusal\n"));
    assert_null(strstr(text, "<failure"));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_GITHUB, 0)->data;
    assert_non_null(strstr(text,
                           "::warning file=c.jsonl,line=2,title=loopcheck "
                           "diff to_refusal::x: compliance -> refusal "
                           "(no_capability)\n::notice title=loopcheck "
                           "diff::verdict no_change"));
    lc_diff_free(d);
}

/* Nothing paired: no rates, no interval and no verdict in the text; the
 * JUnit and GitHub summaries say the rate was not measured. */
static void test_empty_written(void **state) {
    lc_diff *d;
    const char *text;
    (void)state;
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    add_report(d, 0, "only", "b.jsonl", 1, 3, "apology");
    assert_int_equal(lc_diff_compute(d, NULL), LC_OK);
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, 0)->data;
    assert_non_null(strstr(text, "diff: 0 paired, 1 unpaired"));
    assert_non_null(strstr(text, "  nothing paired: no rates, no "
                                 "comparison\n"));
    assert_null(strstr(text, "CI"));
    assert_null(strstr(text, "%"));
    assert_null(strstr(text, "verdict"));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_JUNIT, 0)->data;
    assert_non_null(strstr(text, "<system-out>paired 0, refusal rate not "
                                 "measured, verdict no_change"));
    assert_null(strstr(text, "CI"));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_GITHUB, 0)->data;
    assert_non_null(strstr(text, "::notice title=loopcheck diff::verdict "
                                 "no_change: 0 paired, refusal rate not "
                                 "measured\n"));
    lc_diff_free(d);
}

/* Loops that appeared get the exact McNemar p of the loop flips in the
 * text: 1 appeared of 1 discordant pair -> p = 0.5. */
static void test_loops_written(void **state) {
    lc_diff *d;
    lc_report *r;
    const lc_diff_stats *st;
    const char *text;
    (void)state;
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    add_report(d, 0, "a", "b.jsonl", 1, 0, NULL);
    add_report(d, 0, "b", "b.jsonl", 2, 0, NULL);
    r = mk_report(cfg, "a", "c.jsonl", 1, 2);
    mk_finding(r, LC_KIND_EXACT_LOOP, 1, 2, 1, 1, "again");
    assert_int_equal(lc_diff_add(d, 1, r), LC_OK);
    lc_report_free(r);
    add_report(d, 1, "b", "c.jsonl", 2, 0, NULL);
    assert_int_equal(lc_diff_compute(d, &st), LC_OK);
    assert_int_equal(st->loops_appeared, 1);
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, 0)->data;
    assert_non_null(strstr(text, "  loops: 1 appeared, 0 disappeared; exact "
                                 "McNemar p = 0.5 (candidate loops more); "
                                 "refusal family changed in 0"));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_GITHUB, 0)->data;
    assert_non_null(strstr(text, "::warning file=c.jsonl,line=1,title="
                                 "loopcheck diff loop_appeared::a: loop "
                                 "appeared\n::notice title=loopcheck diff::"));
    lc_diff_free(d);
}

/* Kinds that are not detected (LC_OPT_KINDS) are not measured, not 0%. */
static void test_unmeasured_written(void **state) {
    lc_config *c2;
    lc_diff *d;
    const char *text;
    lc_config *keep = cfg;
    (void)state;
    /* no refusal detector: no refusal rate */
    assert_int_equal(lc_config_new(NULL, &c2), LC_OK);
    assert_int_equal(lc_config_set(c2, LC_OPT_KINDS,
                                   LC_KIND_BIT(LC_KIND_EXACT_LOOP)),
                     LC_OK);
    cfg = c2; /* add_report builds its reports from cfg */
    assert_int_equal(lc_diff_new(c2, &d), LC_OK);
    add_report(d, 0, "a", "b.jsonl", 1, 0, NULL);
    add_report(d, 1, "a", "c.jsonl", 1, 0, NULL);
    assert_int_equal(lc_diff_compute(d, NULL), LC_OK);
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, 0)->data;
    assert_non_null(strstr(text, "  refusal rate: not measured (the refusal "
                                 "detector is not run)\n"));
    assert_null(strstr(text, "0.0%"));
    assert_non_null(strstr(text, "  loops: 0 appeared"));
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_JUNIT, 0)->data;
    assert_non_null(strstr(text, "refusal rate not measured"));
    lc_diff_free(d);
    lc_config_free(c2);
    /* refusals only: no loop counts */
    assert_int_equal(lc_config_new(NULL, &c2), LC_OK);
    assert_int_equal(lc_config_set(c2, LC_OPT_KINDS,
                                   LC_KIND_BIT(LC_KIND_REFUSAL)),
                     LC_OK);
    cfg = c2;
    assert_int_equal(lc_diff_new(c2, &d), LC_OK);
    add_report(d, 0, "a", "b.jsonl", 1, 0, NULL);
    add_report(d, 1, "a", "c.jsonl", 1, 0, "apology");
    assert_int_equal(lc_diff_compute(d, NULL), LC_OK);
    text = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, 0)->data;
    assert_non_null(strstr(text, "refusal rate: baseline 0.0%, candidate "
                                 "100.0%"));
    assert_non_null(strstr(text, "  loops: not measured (no loop detector "
                                 "is run)\n"));
    lc_diff_free(d);
    lc_config_free(c2);
    cfg = keep;
}

#define FFFD "\xef\xbf\xbd"

/* Ids, source names and families with control characters and invalid
 * UTF-8 (a file name holds any byte but '/' and NUL; a family comes from
 * a pattern file): every writer escapes or repairs them as the report
 * writers do. */
static void test_hostile_strings(void **state) {
    static const char src_b[] = "b/x\xffy\x1b.jsonl";
    static const char src_c[] = "c/\x1b]0;t\x07\xc2\x9b\xff.jsonl";
    static const char fam[] = "fam\x1b\xff";
    lc_diff *d;
    lc_report *r;
    const mk_out *o;
    (void)state;
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    /* a flip to refusal, a family change, a loop that appeared and an
     * unpaired conversation */
    add_report(d, 0, "i\x1b[2J\xff", src_b, 1, 0, NULL);
    add_report(d, 1, "i\x1b[2J\xff", src_c, 1, 0, fam);
    add_report(d, 0, "w\x01", src_b, 2, 0, "apology");
    add_report(d, 1, "w\x01", src_c, 2, 0, fam);
    add_report(d, 0, "l\xff", src_b, 3, 0, NULL);
    r = mk_report(cfg, "l\xff", src_c, 3, 2);
    mk_finding(r, LC_KIND_EXACT_LOOP, 1, 2, 3, 3, "again");
    assert_int_equal(lc_diff_add(d, 1, r), LC_OK);
    lc_report_free(r);
    add_report(d, 0, "u\x1b", src_b, 9, 0, NULL);
    assert_int_equal(lc_diff_compute(d, NULL), LC_OK);

    o = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_JSON, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_non_null(strstr(
        o->data,
        "\"flips\":[{\"conversation\":\"i\\u001b[2J" FFFD "\",\"change\":"
        "\"to_refusal\",\"family_baseline\":null,\"family_candidate\":"
        "\"fam\\u001b" FFFD "\",\"paired_by\":\"id\",\"baseline\":"
        "{\"source\":\"b/x" FFFD "y\\u001b.jsonl\",\"line\":1},"
        "\"candidate\":{\"conversation\":\"i\\u001b[2J" FFFD "\","
        "\"source\":\"c/\\u001b]0;t\\u0007\xc2\x9b" FFFD ".jsonl\","
        "\"line\":1}}]"));
    assert_non_null(strstr(o->data, "{\"side\":\"baseline\",\"conversation\":"
                                    "\"u\\u001b\",\"source\":\"b/x" FFFD
                                    "y\\u001b.jsonl\",\"line\":9}"));

    o = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_true(tu_no_controls(o->data, 1));
    assert_non_null(strstr(o->data,
                           "to_refusal:\n  c/\\u001b]0;t\\u0007\\u009b" FFFD
                           ".jsonl:1: i\\u001b[2J" FFFD ": compliance -> "
                           "refusal (fam\\u001b" FFFD ")\n"));
    assert_non_null(strstr(o->data,
                           "loop_appeared:\n  c/\\u001b]0;t\\u0007\\u009b" FFFD
                           ".jsonl:3: l" FFFD ": loop appeared\n"));
    assert_non_null(strstr(o->data,
                           "family_changed:\n  c/\\u001b]0;t\\u0007\\u009b"
                           FFFD ".jsonl:2: w\\u0001: refusal family apology "
                           "-> fam\\u001b" FFFD " (style)\n"));
    assert_non_null(strstr(o->data, "unpaired:\n  b/x" FFFD "y\\u001b.jsonl:9: "
                                    "u\\u001b (baseline only)\n"));
    /* colour: only the writer's own escape sequences */
    o = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_TEXT, LC_WRITE_COLOR);
    assert_null(strstr(o->data, "\x1b[2J"));
    assert_null(strstr(o->data, "\x1b]"));

    o = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_JUNIT, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_true(tu_no_controls(o->data, 0));
    assert_non_null(strstr(o->data, "<testcase name=\"i?[2J" FFFD "\" "
                                     "classname=\"loopcheck.diff\" file=\"c/?]"
                                     "0;t?\xc2\x9b" FFFD ".jsonl\" line=\"1\""));
    assert_non_null(strstr(o->data, "<testcase name=\"l" FFFD "\""));

    o = MK_WRITTEN(lc_diff_write, d, LC_OUTPUT_GITHUB, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_true(tu_no_controls(o->data, 1));
    assert_non_null(strstr(o->data,
                           "::warning file=c/\\u001b]0;t\\u0007\\u009b" FFFD
                           ".jsonl,line=1,title=loopcheck diff to_refusal::"
                           "i\\u001b[2J" FFFD ": compliance -> refusal "
                           "(fam\\u001b" FFFD ")\n"));
    assert_non_null(strstr(o->data,
                           "::warning file=c/\\u001b]0;t\\u0007\\u009b" FFFD
                           ".jsonl,line=3,title=loopcheck diff loop_appeared"
                           "::l" FFFD ": loop appeared\n"));
    lc_diff_free(d);
}

static void test_args(void **state) {
    lc_diff *d;
    lc_report *r = mk_report(cfg, "a", "a", 1, 1);
    (void)state;
    assert_int_equal(lc_diff_new(NULL, &d), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    assert_int_equal(lc_diff_add(d, 2, r), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_add(d, 0, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_compute(NULL, NULL), LC_ERR_INVALID_ARG);
    lc_diff_free(d);
    lc_diff_free(NULL);
    lc_report_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mcnemar),
        cmocka_unit_test(test_mcnemar_huge),
        cmocka_unit_test(test_regression),
        cmocka_unit_test(test_no_change_then_alpha),
        cmocka_unit_test(test_improvement),
        cmocka_unit_test(test_nobody_refuses),
        cmocka_unit_test(test_empty),
        cmocka_unit_test(test_pairing_and_changes),
        cmocka_unit_test(test_empty_written),
        cmocka_unit_test(test_loops_written),
        cmocka_unit_test(test_unmeasured_written),
        cmocka_unit_test(test_hostile_strings),
        cmocka_unit_test(test_args),
    };
    return cmocka_run_group_tests_name("diff", tests, mk_setup, mk_teardown);
}
