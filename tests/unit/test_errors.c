/*
 * test_errors.c - every input error pinned: status, severity, 1-based
 * line, 1-based column in code points and 0-based byte offset in the
 * stream. Each case shows the failing line with a caret under the
 * reported column. Cases that need a JSONL format start with a good line
 * (so sniffing picks jsonl, not a multi-line JSON document).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

typedef struct expect {
    size_t conv;       /* 1-based conversation holding the diagnostic */
    size_t diag;       /* 1-based diagnostic index in it */
    lc_status status;
    lc_severity sev;
    uint64_t line, col, off;
    const char *msg;   /* substring of the message */
} expect;

static void check(const char *in, size_t len, const expect *e,
                  lc_format fmt) {
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    size_t n = 0;
    int found = 0;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, "t.jsonl", in, len);
    while (lc_reader_next(r, &c) == LC_OK) {
        if (++n == e->conv) {
            const lc_error *d = lc_conversation_diag(c, e->diag - 1);
            assert_non_null(d);
            assert_int_equal(lc_conversation_format(c), fmt);
            if (e->sev == LC_SEVERITY_ERROR)
                assert_int_equal(lc_conversation_status(c), e->status);
            assert_int_equal(d->status, e->status);
            assert_int_equal(d->severity, e->sev);
            assert_int_equal(d->line, e->line);
            assert_int_equal(d->column, e->col);
            assert_int_equal(d->offset, e->off);
            assert_string_equal(d->source, "t.jsonl");
            assert_string_equal(d->code, lc_status_code(e->status));
            if (!strstr(d->message, e->msg))
                fail_msg("message \"%s\" lacks \"%s\"", d->message, e->msg);
            found = 1;
        }
        lc_conversation_free(c);
    }
    assert_true(found);
    lc_reader_free(r);
    lc_config_free(cfg);
}

#define GOOD "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"}]}\n"
#define GOOD_LEN 46 /* bytes of GOOD */
#define GOOD_CR "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"}]}\r"
#define CHECK(in, fmt, ...)                                               \
    do {                                                                  \
        static const expect e_ = {__VA_ARGS__};                           \
        check(in, sizeof(in) - 1, &e_, fmt);                              \
    } while (0)

/* A syntax error in a JSONL conversation's second line (after GOOD), at
 * column col and byte off of that line. */
#define SYNTAX_LINE2(line2, col, off, msg)                                    \
    CHECK(GOOD line2, LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SYNTAX,              \
          LC_SEVERITY_ERROR, 2, col, GOOD_LEN + off, msg)

static void test_good_len(void **state) {
    (void)state;
    assert_int_equal(strlen(GOOD), GOOD_LEN);
}

static void test_jsonl_syntax(void **state) {
    (void)state;
    /* line 2: {"messages":[{"role":"user","content":"x"},]}
     *                                                    ^ col 44 */
    SYNTAX_LINE2("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},]}\n",
                 44, 43, "unexpected character at ']'");
    /* line 2: {"messages" [1]}
     *                     ^ col 13 */
    SYNTAX_LINE2("{\"messages\" [1]}\n", 13, 12, "separator ':' expected");
    /* line 2: {"messages":[{"role":"user","content":"abc
     *                                                   ^ col 43 (end) */
    SYNTAX_LINE2("{\"messages\":[{\"role\":\"user\",\"content\":\"abc\n", 43,
                 42, "unexpected end of line");
    /* line 2: {"messages":[{"role":"user","content":tru}]}
     *                                                  ^ col 42 */
    SYNTAX_LINE2("{\"messages\":[{\"role\":\"user\",\"content\":tru}]}\n", 42,
                 41, "boolean expected");
    /* Columns count code points, offsets count bytes (e-acute and
     * o-umlaut are two bytes each):
     * line 2: {"messages":[{"role":"user","content":"hello world"},,]}
     *                                                               ^ col 54,
     * byte 55 of the line */
    SYNTAX_LINE2("{\"messages\":[{\"role\":\"user\",\"content\":"
                 "\"h\xc3\xa9llo w\xc3\xb6rld\"},,]}\n",
                 54, 55, "unexpected character at ','");
    /* line 2: {"messages":[]} x
     *                         ^ col 17 */
    SYNTAX_LINE2("{\"messages\":[]} x\n", 17, 16,
                 "unexpected character at 'x'");
    /* line 2: {"messages":[{"role":"user","content":[1, 2 3]}]}
     *                                                     ^ col 45 */
    SYNTAX_LINE2("{\"messages\":[{\"role\":\"user\",\"content\":[1, 2 3]}]}\n",
                 45, 44, "array value separator");
    /* line 2: {"messages":[{"role":"user","content":"bad\q"}]}
     *                                                    ^ col 44 */
    SYNTAX_LINE2(
        "{\"messages\":[{\"role\":\"user\",\"content\":\"bad\\q\"}]}\n", 44,
        43, "invalid string sequence");
}

static void test_jsonl_nul_byte(void **state) {
    (void)state;
    /* line 2: {"messages":"a<NUL>b"}
     *                       ^ col 15 */
    SYNTAX_LINE2("{\"messages\":\"a\0b\"}\n", 15, 14, "NUL byte");
}

static void test_jsonl_crlf_and_bom(void **state) {
    (void)state;
    /* Offsets count every CR and the BOM; columns start after the BOM.
     * line 2: {"id":3,"messages":[{"role":"user" "content":"x"}]}
     *                                            ^ col 36 */
    CHECK("\xef\xbb\xbf{\"id\":1,\"messages\":[]}\r\n"
          "{\"id\":3,\"messages\":[{\"role\":\"user\" \"content\":\"x\"}]}\r\n",
          LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SYNTAX, LC_SEVERITY_ERROR, 2,
          36, 3 + 24 + 35, "value separator ',' expected");
    /* line 1 (after the BOM): {"messages":[{"role":"user","content":"x"}}
     *                                                                  ^ col 43 */
    CHECK("\xef\xbb\xbf{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}}\n",
          LC_FORMAT_JSONL_CONV, 1, 1, LC_ERR_SYNTAX, LC_SEVERITY_ERROR, 1,
          43, 45, "array value separator");
    /* a lone CR ends line 1; line 2: {]
     *                                    ^ col 2 */
    CHECK(GOOD_CR "{]\n", LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SYNTAX,
          LC_SEVERITY_ERROR, 2, 2, GOOD_LEN + 1, "property name expected");
}

static void test_depth_limit(void **state) {
    char buf[256];
    size_t n = 0, i;
    expect e = {2, 1, LC_ERR_LIMIT, LC_SEVERITY_ERROR, 2, 0, 0,
                "deeper than 64"};
    (void)state;
    memcpy(buf, GOOD, GOOD_LEN);
    n = GOOD_LEN;
    memcpy(buf + n, "{\"m\":", 5);
    n += 5;
    for (i = 0; i < 70; i++)
        buf[n++] = '[';
    buf[n++] = '\n';
    /* {"m":[[[[... : the object is level 1, so the 64th '[' (line byte
     * 5 + 63 = 68) is level 65 */
    e.col = 69;
    e.off = GOOD_LEN + 68;
    check(buf, n, &e, LC_FORMAT_JSONL_CONV);
}

static void test_schema(void **state) {
    (void)state;
    CHECK(GOOD "[1,2]\n", LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SCHEMA,
          LC_SEVERITY_ERROR, 2, 1, GOOD_LEN, "got array");
    /* JSON null (json-c gives no object at all) */
    CHECK(GOOD "null\n", LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SCHEMA,
          LC_SEVERITY_ERROR, 2, 1, GOOD_LEN, "got null");
    CHECK("{\"conversation_id\":1,\"role\":\"user\",\"content\":\"x\"}\n"
          "null\n",
          LC_FORMAT_JSONL_TURN, 1, 1, LC_ERR_SCHEMA, LC_SEVERITY_ERROR, 2, 1,
          50, "got null");
    CHECK(GOOD "{\"text\":\"hi\"}\n", LC_FORMAT_JSONL_CONV, 2, 1,
          LC_ERR_SCHEMA, LC_SEVERITY_ERROR, 2, 1, GOOD_LEN,
          "no \"messages\"");
    /* at the element: {"messages":[]}  the '[' is col 13 */
    CHECK(GOOD "{\"messages\":[]}\n", LC_FORMAT_JSONL_CONV, 2, 1,
          LC_ERR_EMPTY, LC_SEVERITY_ERROR, 2, 13, GOOD_LEN + 12,
          "no messages");
    /* {"messages":[{"role":"user","content":7}]}: the 7 is col 39 */
    CHECK(GOOD "{\"messages\":[{\"role\":\"user\",\"content\":7}]}\n",
          LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SCHEMA, LC_SEVERITY_WARNING, 2,
          39, GOOD_LEN + 38, "content is a number");
    /* {"messages":[{"role":"judge",...: "judge" starts at col 22 */
    CHECK(GOOD "{\"messages\":[{\"role\":\"judge\",\"content\":\"x\"}]}\n",
          LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_SCHEMA, LC_SEVERITY_WARNING, 2,
          22, GOOD_LEN + 21, "unknown role \"judge\"");
}

static void test_invalid_utf8(void **state) {
    (void)state;
    /* line 2: {"messages":[{"role":"user","content":"ab<FF>"}]}
     *                                                 ^ col 42 */
    CHECK(GOOD "{\"messages\":[{\"role\":\"user\",\"content\":\"ab\xff\"}]}\n",
          LC_FORMAT_JSONL_CONV, 2, 1, LC_ERR_UTF8, LC_SEVERITY_WARNING, 2,
          42, GOOD_LEN + 41, "byte 0xFF");
    /* transcript, line 3: "B: x <C3>( y": the C3 is at column 6 */
    CHECK("A: one\nB: two\nB: x \xc3( y\nA: end\n", LC_FORMAT_TRANSCRIPT,
          1, 1, LC_ERR_UTF8, LC_SEVERITY_WARNING, 3, 6, 14 + 5,
          "invalid UTF-8");
}

static void test_transcript(void **state) {
    (void)state;
    CHECK("Hello: once\nno labels here\n", LC_FORMAT_TRANSCRIPT, 1, 1,
          LC_ERR_FORMAT, LC_SEVERITY_ERROR, 1, 1, 0, "no speaker labels");
}

static void test_json_document(void **state) {
    (void)state;
    /* line 3:   {"id":"b","messages":[{"role":"user" "content":"x"}]}
     *                                                 ^ col 40 */
    CHECK("[\n  {\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]},\n"
          "  {\"id\":\"b\",\"messages\":[{\"role\":\"user\" \"content\":\"x\"}]}\n"
          "]\n",
          LC_FORMAT_JSON, 2, 1, LC_ERR_SYNTAX, LC_SEVERITY_ERROR, 3, 40,
          2 + 57 + 39, "value separator ',' expected");
    /* line 3: ]     (after "  {...},\n" on line 2)
     *         ^ col 1 */
    CHECK("[\n  {\"id\":\"a\",\"messages\":[]},\n]\n", LC_FORMAT_JSON, 2, 1,
          LC_ERR_SYNTAX, LC_SEVERITY_ERROR, 3, 1, 2 + 28,
          "expected a value after ','");
    /* unterminated: end of line 2 (col 10 = one past the last char) */
    CHECK("[\n  {\"id\":1\n", LC_FORMAT_JSON, 1, 1, LC_ERR_SYNTAX,
          LC_SEVERITY_ERROR, 2, 10, 2 + 9, "unexpected end of data");
}

static void test_line_limit(void **state) {
    char buf[2048];
    size_t n;
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    const lc_error *d;
    (void)state;
    memcpy(buf, GOOD, GOOD_LEN);
    n = GOOD_LEN;
    memset(buf + n, 'x', 1500);
    n += 1500;
    buf[n++] = '\n';
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_LINE_BYTES, 1024), LC_OK);
    r = tu_reader_over(cfg, NULL, buf, n);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    lc_conversation_free(c);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    d = lc_conversation_diag(c, 0);
    assert_int_equal(d->status, LC_ERR_LIMIT);
    assert_int_equal(d->line, 2);
    assert_int_equal(d->column, 1);
    assert_int_equal(d->offset, GOOD_LEN);
    assert_non_null(strstr(d->message, "line of 1500 bytes"));
    lc_conversation_free(c);
    assert_int_equal(lc_reader_next(r, &c), LC_END);
    lc_reader_free(r);
    lc_config_free(cfg);
}

/* lc_conversation_add: repaired text, the warning names the byte. */
static void test_conversation_add(void **state) {
    lc_config *cfg;
    lc_conversation *c;
    const lc_error *d;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, "u", 1, "ok", 2),
                     LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_ASSISTANT, NULL, 0,
                                         "abc\x80z", 5),
                     LC_OK);
    assert_int_equal(lc_conversation_status(c), LC_OK);
    assert_int_equal(lc_conversation_diag_count(c), 1);
    d = lc_conversation_diag(c, 0);
    assert_int_equal(d->status, LC_ERR_UTF8);
    assert_int_equal(d->severity, LC_SEVERITY_WARNING);
    assert_int_equal(d->offset, 3);
    assert_int_equal(d->turn, 2);
    assert_true(lc_conversation_turn(c, 1)->flags & LC_TURN_REPAIRED);
    assert_string_equal(lc_conversation_turn(c, 1)->text,
                        "abc\xef\xbf\xbdz");
    assert_int_equal(lc_conversation_add(c, (lc_role)9, NULL, 0, "x", 1),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, NULL, 1),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_add(NULL, LC_ROLE_USER, NULL, 0, "x", 1),
                     LC_ERR_INVALID_ARG);
    lc_conversation_free(c);
    lc_config_free(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_len),
        cmocka_unit_test(test_jsonl_syntax),
        cmocka_unit_test(test_jsonl_nul_byte),
        cmocka_unit_test(test_jsonl_crlf_and_bom),
        cmocka_unit_test(test_depth_limit),
        cmocka_unit_test(test_schema),
        cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_transcript),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_conversation_add),
    };
    return cmocka_run_group_tests_name("errors", tests, NULL, NULL);
}
