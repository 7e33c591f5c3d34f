/*
 * test_emit.c - report writers (emit*.c): exact JSON lines, kind-specific
 * fields only where meaningful, text links, JUnit structure, GitHub
 * escaping, gating, and the callback abort rule; hostile strings: JSON
 * and JUnit always valid UTF-8, no control character in text or GitHub
 * output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "testutil.h" /* before mkreport.h: its global cfg */
#include "mkreport.h"

#include <stdio.h>
#include <string.h>

/* Report with an exact loop (turns 19-32, period 2 x 7) and a refusal. */
static lc_report *sample(void) {
    lc_report *r = mk_report(cfg, "conv-1", "logs/run.jsonl", 3, 34);
    lci_finding *f;
    assert_non_null(r);
    f = mk_finding(r, LC_KIND_EXACT_LOOP, 19, 32, 210, 260,
                   "I hear you.\nTell me more");
    assert_non_null(f);
    f->pub.period = 2;
    f->pub.repeats = 7;
    f->pub.score = 1;
    f->pub.evidence = 0x0123456789abcdefULL;
    f = mk_refusal(r, 4, "no_capability");
    assert_non_null(f);
    f->pub.span_start = 0;
    f->pub.span_end = 12;
    f->pub.evidence = 0xffULL;
    return r;
}

static void test_json_exact(void **state) {
    lc_report *r = sample();
    const mk_out *o;
    (void)state;
    o = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JSON, 0);
    assert_int_equal(o->calls, 1); /* one call per report */
    assert_string_equal(
        o->data,
        "{\"type\":\"conversation\",\"conversation\":\"conv-1\","
        "\"source\":\"logs/run.jsonl\",\"line\":3,\"turns\":34,"
        "\"status\":\"ok\",\"findings\":["
        "{\"kind\":\"exact_loop\",\"first_turn\":19,\"last_turn\":32,"
        "\"lines\":[210,260],\"turns\":[19,20,21,22,23,24,25,26,27,28,29,"
        "30,31,32],\"role\":\"assistant\",\"speaker\":\"assistant\","
        "\"score\":1,\"excerpt\":\"I hear you.\\nTell me more\","
        "\"evidence\":\"0123456789abcdef\",\"period\":2,\"repeats\":7},"
        "{\"kind\":\"refusal\",\"first_turn\":4,\"last_turn\":4,"
        "\"lines\":[8,8],\"turns\":[4],\"role\":\"assistant\","
        "\"speaker\":\"assistant\",\"score\":0.9,"
        "\"excerpt\":\"I can't help\",\"evidence\":\"00000000000000ff\","
        "\"family\":\"no_capability\",\"families\":\"no_capability\","
        "\"partial\":false,\"span\":[0,12]}]}\n");
    lc_report_free(r);
}

static void test_json_failed(void **state) {
    lc_report *r = mk_report(cfg, "bad.jsonl:2", "bad.jsonl", 2, 0);
    (void)state;
    mk_fail(r, LC_ERR_SYNTAX, 2, 17, "unexpected character '}'");
    assert_string_equal(
        MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JSON, 0)->data,
        "{\"type\":\"conversation\",\"conversation\":\"bad.jsonl:2\","
        "\"source\":\"bad.jsonl\",\"line\":2,\"turns\":0,"
        "\"status\":\"LC-E030\",\"error\":{\"code\":\"LC-E030\","
        "\"message\":\"unexpected character '}'\",\"line\":2,"
        "\"column\":17,\"offset\":0},\"findings\":[]}\n");
    lc_report_free(r);
}

/* Kind-specific fields appear only for their kinds. */
static void test_json_kind_fields(void **state) {
    lc_report *r = mk_report(cfg, "k", "k.jsonl", 1, 9);
    lci_finding *f;
    const char *text;
    (void)state;
    f = mk_finding(r, LC_KIND_RECYCLED_PASSAGE, 2, 6, 1, 1, "passage");
    f->pub.words = 14;
    f->pub.share = 0.5;
    f->pub.period = 9; /* set but not meaningful: must not appear */
    f = mk_finding(r, LC_KIND_REFUSAL_LOOP, 3, 9, 1, 1, "no");
    f->pub.count = 4;
    f->pub.pushback = 2;
    f->pub.family = "decline";
    f = mk_finding(r, LC_KIND_DEGENERATE_REPETITION, 5, 5, 1, 1, "x x");
    f->pub.words = 99;
    text = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JSON, 0)->data;
    assert_non_null(strstr(text, "\"evidence\":\"0000000000000000\","
                                 "\"words\":14,\"share\":0.5}"));
    assert_non_null(strstr(text, "\"count\":4,\"family\":\"decline\","
                                 "\"families\":\"\",\"pushback\":2}"));
    assert_non_null(strstr(text, "\"excerpt\":\"x x\",\"evidence\":"
                                 "\"0000000000000000\"}"));
    assert_null(strstr(text, "\"period\""));
    assert_null(strstr(text, "\"partial\""));
    lc_report_free(r);
}

static void test_text(void **state) {
    lc_report *r = sample();
    const char *text;
    (void)state;
    text = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_TEXT, 0)->data;
    assert_string_equal(
        text,
        "== conv-1 (34 turns, 2 findings)\n"
        "logs/run.jsonl:210: exact_loop: turns 19-32, period 2 x 7 repeats, "
        "assistant: \"I hear you. Tell me more\"\n"
        "logs/run.jsonl:8: refusal: turn 4, family no_capability, "
        "assistant: \"I can't help\"\n");
    assert_null(strchr(text, '\033'));
    /* colour only when asked for */
    text =
        MK_WRITTEN(lc_report_write, r, LC_OUTPUT_TEXT, LC_WRITE_COLOR)->data;
    assert_non_null(strstr(text, "\033[1;31mexact_loop\033[0m"));
    lc_report_free(r);
}

static void test_text_quiet_when_clean(void **state) {
    lc_report *r = mk_report(cfg, "c", "a.jsonl", 1, 2);
    (void)state;
    assert_int_equal(MK_WRITTEN(lc_report_write, r, LC_OUTPUT_TEXT, 0)->len,
                     0);
    lc_report_free(r);
}

static void test_junit_gated(void **state) {
    lc_report *r = sample();
    mk_out o = {0};
    (void)state;
    /* only exact_loop trips the gate: one <failure>, refusal to stdout */
    assert_int_equal(lc_report_write_gated(r, LC_OUTPUT_JUNIT, 0,
                                           LC_KIND_BIT(LC_KIND_EXACT_LOOP),
                                           mk_write, &o),
                     LC_OK);
    assert_string_equal(
        o.data,
        "    <testcase name=\"conv-1\" classname=\"logs/run.jsonl\" "
        "file=\"logs/run.jsonl\" line=\"3\" time=\"0\">\n"
        "      <failure message=\"exact_loop: turns 19-32, period 2 x 7 "
        "repeats, assistant: &quot;I hear you. Tell me more&quot;\" "
        "type=\"exact_loop\">logs/run.jsonl:210: exact_loop: turns 19-32, "
        "period 2 x 7 repeats, assistant: &quot;I hear you. Tell me "
        "more&quot;</failure>\n"
        "      <system-out>logs/run.jsonl:8: refusal: turn 4, family "
        "no_capability, assistant: &quot;I can&apos;t help&quot;\n"
        "</system-out>\n"
        "    </testcase>\n");
    lc_report_free(r);
}

static void test_github_escaping(void **state) {
    lc_report *r = mk_report(cfg, "id,1", "dir:x/a%b.jsonl", 5, 3);
    lci_finding *f;
    mk_out o = {0};
    (void)state;
    f = mk_finding(r, LC_KIND_RECURRING_TURN, 1, 3, 5, 9, "100% sure\r\nok");
    f->pub.count = 3;
    assert_int_equal(lc_report_write_gated(r, LC_OUTPUT_GITHUB, 0, 0,
                                           mk_write, &o),
                     LC_OK);
    /* properties escape % : , ; the message escapes % CR LF only */
    assert_string_equal(
        o.data,
        "::warning file=dir%3Ax/a%25b.jsonl,line=5,endLine=9,"
        "title=loopcheck recurring_turn::turns 1-3, 3 times, assistant: "
        "\"100%25 sure ok\" (conversation id,1)\n");
    mk_fail(r, LC_ERR_SCHEMA, 7, 2, "no messages\nhere");
    assert_non_null(
        strstr(MK_WRITTEN(lc_report_write, r, LC_OUTPUT_GITHUB, 0)->data,
               "::error file=dir%3Ax/a%25b.jsonl,line=7,col=2,"
               "title=LC-E031::no messages%0Ahere "
               "(conversation id,1)\n"));
    lc_report_free(r);
}

static void test_gh_str(void **state) {
    lci_buf b;
    (void)state;
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lci_buf_gh_str(&b, "a:b,c%\r\n", 8, 1), LC_OK);
    assert_int_equal(lci_buf_gh_str(&b, "|a:b,c%\r\n", 9, 0), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "a%3Ab%2Cc%25%0D%0A|a:b,c%25%0D%0A");
    lci_buf_free(&b);
}

static void test_excerpt_utf8(void **state) {
    lci_buf b;
    /* 3 code points of "h\xc3\xa9llo" = "h\xc3\xa9l" + "..." */
    (void)state;
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lci_buf_excerpt(&b, "h\xc3\xa9llo", 6, 3), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "h\xc3\xa9l...");
    b.len = 0;
    /* whitespace runs collapse, leading blanks dropped */
    assert_int_equal(lci_buf_excerpt(&b, "  a\n\n b", 7, 50), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "a b");
    lci_buf_free(&b);
}

#define FFFD "\xef\xbf\xbd"

/* Every string of a report with invalid UTF-8 (a source name from the
 * file system, anything a caller built): JSON and JUnit replace it by
 * U+FFFD, so the output always parses. */
static lc_report *hostile_named(const char *id, const char *source) {
    lc_report *r = mk_report(cfg, id, source, 2, 4);
    lci_finding *f;
    assert_non_null(r);
    f = mk_finding(r, LC_KIND_RECURRING_TURN, 1, 3, 2, 4,
                   "ab\xe2\x82 \x1b[31mred\x7f");
    assert_non_null(f);
    f->pub.count = 2;
    lci_free(r->alloc, f->speaker);
    f->speaker = lci_strndup(r->alloc, "B\xc0t\x01", 5);
    f->pub.speaker = f->speaker;
    return r;
}

static lc_report *hostile(void) {
    return hostile_named("i\xff", "n/x\xffy.txt");
}

static void test_json_invalid_utf8(void **state) {
    lc_report *r = hostile();
    const mk_out *o;
    (void)state;
    o = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JSON, 0);
    assert_string_equal(
        o->data,
        "{\"type\":\"conversation\",\"conversation\":\"i" FFFD "\","
        "\"source\":\"n/x" FFFD "y.txt\",\"line\":2,\"turns\":4,"
        "\"status\":\"ok\",\"findings\":[{\"kind\":\"recurring_turn\","
        "\"first_turn\":1,\"last_turn\":3,\"lines\":[2,4],"
        "\"turns\":[1,2,3],\"role\":\"assistant\",\"speaker\":\"B" FFFD
        "t\\u0001\",\"score\":0,\"excerpt\":\"ab" FFFD
        " \\u001b[31mred\x7f\",\"evidence\":\"0000000000000000\","
        "\"count\":2}]}\n");
    /* an error message cut inside a code point (lci_err's 256 bytes) */
    mk_fail(r, LC_ERR_SCHEMA, 2, 1, "bad \xe2\x82");
    o = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JSON, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_non_null(strstr(o->data, "\"message\":\"bad " FFFD "\""));
    lc_report_free(r);
}

static void test_junit_invalid_utf8(void **state) {
    lc_report *r = hostile();
    const mk_out *o;
    (void)state;
    o = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JUNIT, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_non_null(strstr(o->data, "<testcase name=\"i" FFFD "\" "
                                    "classname=\"n/x" FFFD "y.txt\" "
                                    "file=\"n/x" FFFD "y.txt\""));
    assert_non_null(strstr(o->data, ">n/x" FFFD "y.txt:2: recurring_turn"));
    mk_fail(r, LC_ERR_SCHEMA, 2, 1, "bad \xe2\x82");
    o = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_JUNIT, 0);
    assert_true(tu_utf8_ok(o->data, o->len));
    assert_non_null(strstr(o->data, "<error message=\"bad " FFFD " ["));
    lc_report_free(r);
}

/* The internal entry points (no callback) make the same guarantees, and
 * leave what the buffer held before alone. */
static void test_internal_writers(void **state) {
    lc_report *r = hostile();
    lci_buf b;
    (void)state;
    lci_buf_init(&b, r->alloc);
    assert_int_equal(lci_buf_append(&b, "\xff", 1), LC_OK);
    assert_int_equal(lci_emit_report_junit(r, &b), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_int_equal((unsigned char)b.data[0], 0xFF);
    assert_true(tu_utf8_ok(b.data + 1, b.len - 1));
    b.len = 0;
    assert_int_equal(lci_emit_report_text(r, 0, &b), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_true(tu_utf8_ok(b.data, b.len));
    assert_true(tu_no_controls(b.data, 1));
    lci_buf_free(&b);
    lc_report_free(r);
}

/* Text and GitHub output: no control character from the data reaches
 * the terminal or the log (escaped as \u001b), invalid UTF-8 is U+FFFD. */
static void test_text_controls(void **state) {
    lc_report *r = hostile_named("c\x01tl", "a\x1b]0;t\x07\xc2\x9b.jsonl");
    const char *text;
    (void)state;
    text = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_TEXT, 0)->data;
    assert_string_equal(
        text,
        "== c\\u0001tl (4 turns, 1 finding)\n"
        "a\\u001b]0;t\\u0007\\u009b.jsonl:2: recurring_turn: turns 1-3, 2 "
        "times, assistant (B" FFFD "t\\u0001): \"ab" FFFD
        " \\u001b[31mred\\u007f\"\n");
    assert_true(tu_no_controls(text, 1));
    /* colour codes are the writer's own, and still there */
    text =
        MK_WRITTEN(lc_report_write, r, LC_OUTPUT_TEXT, LC_WRITE_COLOR)->data;
    assert_non_null(strstr(text, "\033[1m== c\\u0001tl (4 turns"));
    assert_non_null(strstr(text, "\na\\u001b]0;t\\u0007\\u009b.jsonl:2: "
                                 "\033[1;31mrecurring_turn\033[0m"));
    /* a failed conversation: its message too */
    mk_fail(r, LC_ERR_SCHEMA, 2, 1, "no \x1b[2J here");
    text = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_TEXT, 0)->data;
    assert_string_equal(text, "== c\\u0001tl: not analysed: no "
                              "\\u001b[2J here [LC-E031]\n");
    lc_report_free(r);
}

static void test_github_controls(void **state) {
    lc_report *r = hostile_named("c\x01\t:l", "n/x\xffy.txt");
    const char *text;
    (void)state;
    text = MK_WRITTEN(lc_report_write, r, LC_OUTPUT_GITHUB, 0)->data;
    assert_string_equal(
        text,
        "::error file=n/x" FFFD "y.txt,line=2,endLine=4,"
        "title=loopcheck recurring_turn::turns 1-3, 2 times, assistant (B" FFFD
        "t\\u0001): \"ab" FFFD " \\u001b[31mred\\u007f\" (conversation "
        "c\\u0001\\u0009:l)\n");
    assert_true(tu_no_controls(text, 1));
    lc_report_free(r);
}

static void test_term_helpers(void **state) {
    lci_buf b;
    (void)state;
    lci_buf_init(&b, &lci_default_alloc);
    /* every C0, DEL and C1 control escaped; invalid UTF-8 replaced by
     * maximal subparts (E2 82 is one, ED A0 is two, C0 AF is two) */
    assert_int_equal(lci_buf_term_str(&b, "\t\n\x1b\x7f\xc2\x80\xc2\x9f"
                                          "\xc2\xa0|\xe2\x82|\xed\xa0|"
                                          "\xc0\xaf",
                                      19),
                     LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "\\u0009\\u000a\\u001b\\u007f\\u0080"
                                "\\u009f\xc2\xa0|" FFFD "|" FFFD FFFD "|" FFFD
                                FFFD);
    b.len = 0;
    assert_int_equal(lci_buf_gh_str(&b, "%\r\n\t\x1b\xff:", 7, 1), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "%25%0D%0A\\u0009\\u001b" FFFD "%3A");
    b.len = 0;
    /* excerpts: whitespace as before, a control or an invalid sequence
     * counts as one code point */
    assert_int_equal(lci_buf_excerpt(&b, "a\tb\x01" "c\xff" "de", 9, 6),
                     LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "a b\\u0001c" FFFD "...");
    b.len = 0;
    assert_int_equal(lci_buf_excerpt(&b, "\xff" "d\xe2\x82", 4, 9), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, FFFD "d" FFFD);
    lci_buf_free(&b);
}

static void test_utf8_helpers(void **state) {
    lci_buf b;
    (void)state;
    lci_buf_init(&b, &lci_default_alloc);
    /* JSON text and the in-place guard */
    assert_int_equal(lci_buf_json_text(&b, "a\xff" "b\"", 4), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "\"a" FFFD "b\\\"\"");
    b.len = 0;
    assert_int_equal(lci_buf_append(&b, "<x a=\"\xf0\x9f\x98\">\xff</x>", 16),
                     LC_OK);
    assert_int_equal(lci_buf_utf8_guard(&b, 0), LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    assert_string_equal(b.data, "<x a=\"" FFFD "\">" FFFD "</x>");
    lci_buf_free(&b);
}

static void test_callback_abort(void **state) {
    lc_report *r = sample();
    mk_out o = {0};
    (void)state;
    o.fail_after = 1;
    assert_int_equal(lc_report_write(r, LC_OUTPUT_JSON, 0, mk_write, &o),
                     LC_ERR_CALLBACK);
    assert_int_equal(lc_report_write(NULL, LC_OUTPUT_JSON, 0, mk_write, &o),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_report_write(r, LC_OUTPUT_JSON, 0, NULL, &o),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_report_write(r, (lc_output)9, 0, mk_write, &o),
                     LC_ERR_INVALID_ARG);
    lc_report_free(r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_exact),
        cmocka_unit_test(test_json_failed),
        cmocka_unit_test(test_json_kind_fields),
        cmocka_unit_test(test_text),
        cmocka_unit_test(test_text_quiet_when_clean),
        cmocka_unit_test(test_junit_gated),
        cmocka_unit_test(test_github_escaping),
        cmocka_unit_test(test_gh_str),
        cmocka_unit_test(test_excerpt_utf8),
        cmocka_unit_test(test_callback_abort),
        cmocka_unit_test(test_json_invalid_utf8),
        cmocka_unit_test(test_junit_invalid_utf8),
        cmocka_unit_test(test_text_controls),
        cmocka_unit_test(test_github_controls),
        cmocka_unit_test(test_term_helpers),
        cmocka_unit_test(test_utf8_helpers),
        cmocka_unit_test(test_internal_writers),
    };
    return cmocka_run_group_tests_name("emit", tests, mk_setup, mk_teardown);
}
