/*
 * test_conversation.c - turns, conversations and the JSON helpers they
 * are built with: role names, turn init (UTF-8 repair, truncation on a
 * code point boundary, normalized text, words, hash), deep copies,
 * diagnostics order and view stability, canonical JSON and tool calls
 * that hash identically whatever their key order; names (ids, roles,
 * speakers) with invalid UTF-8 repaired with one warning per field, ids
 * of the wrong type named in a warning.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <json-c/json.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "testutil.h"

static void test_role_names(void **state) {
    static const struct {
        const char *name;
        lc_role role;
    } known[] = {
        {"user", LC_ROLE_USER},         {"Human", LC_ROLE_USER},
        {"CUSTOMER", LC_ROLE_USER},     {"assistant", LC_ROLE_ASSISTANT},
        {"gpt", LC_ROLE_ASSISTANT},     {"Bot", LC_ROLE_ASSISTANT},
        {"model", LC_ROLE_ASSISTANT},   {"AI", LC_ROLE_ASSISTANT},
        {"chatbot", LC_ROLE_ASSISTANT}, {"system", LC_ROLE_SYSTEM},
        {"developer", LC_ROLE_SYSTEM},  {"tool", LC_ROLE_TOOL},
        {"function", LC_ROLE_TOOL},     {"ipython", LC_ROLE_TOOL},
        {"Observation", LC_ROLE_TOOL},
    };
    static const char *const unknown[] = {"Therapist", "Patient", "users",
                                          "", "assist", "narrator"};
    size_t i;
    lc_role r;
    (void)state;
    for (i = 0; i < sizeof known / sizeof known[0]; i++) {
        r = LC_ROLE_OTHER;
        assert_true(lci_role_from_name(known[i].name, strlen(known[i].name),
                                       &r));
        assert_int_equal(r, known[i].role);
    }
    for (i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        assert_false(lci_role_from_name(unknown[i], strlen(unknown[i]), &r));
    /* not NUL-terminated: only len bytes count */
    assert_true(lci_role_from_name("userXYZ", 4, &r));
    assert_int_equal(r, LC_ROLE_USER);
}

static void test_utf8_valid_prefix(void **state) {
    (void)state;
    assert_int_equal(lci_utf8_valid_prefix("plain ascii text here", 21), 21);
    assert_int_equal(lci_utf8_valid_prefix("caf\xc3\xa9", 5), 5);
    assert_int_equal(lci_utf8_valid_prefix("ab\xff", 3), 2);
    assert_int_equal(lci_utf8_valid_prefix("\xc0\xaf", 2), 0);      /* overlong */
    assert_int_equal(lci_utf8_valid_prefix("x\xed\xa0\x80", 4), 1); /* surrogate */
    assert_int_equal(lci_utf8_valid_prefix("\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(lci_utf8_valid_prefix("\xe2\x82", 2), 0); /* truncated */
    assert_int_equal(lci_utf8_valid_prefix("\xf0\x9f\x98\x80!", 5), 5);
    assert_int_equal(lci_utf8_valid_prefix("0123456789abcdef\x80", 17), 16);
}

/* The diagnostics of c as "CODE message" lines, into out. */
/* The fast paths of lci_utf8_valid_prefix (blocks of 64, 16 and 8
 * ASCII bytes) against a code point at a time with lci_utf8_next, on
 * ASCII text with a valid or invalid sequence at every offset near the
 * block edges. */
static size_t valid_prefix_ref(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, bad, k;
    while (i < n && (k = lci_utf8_next(s + i, n - i, &bad)) != 0)
        i += k;
    return i;
}

static void test_utf8_valid_prefix_blocks(void **state) {
    static const char *const seqs[] = {
        "\xc3\xa9",         "\xe2\x82\xac",     "\xf0\x9f\x98\x80",
        "\x80",             "\xff",             "\xc0\xaf",
        "\xed\xa0\x80",     "\xe2\x82",         "\xf4\x90\x80\x80",
    };
    char buf[200];
    size_t n, at, q;
    uint32_t x = 12345;
    (void)state;
    for (n = 0; n <= 150; n++) {
        for (at = 0; at <= n; at++) {
            for (q = 0; q < sizeof seqs / sizeof seqs[0]; q++) {
                size_t k, sl = strlen(seqs[q]);
                for (k = 0; k < n; k++) {
                    x = x * 1103515245u + 12345u;
                    buf[k] = (char)(0x20 + (x >> 16) % 0x5F);
                }
                if (at + sl <= n)
                    memcpy(buf + at, seqs[q], sl);
                assert_int_equal(lci_utf8_valid_prefix(buf, n),
                                 valid_prefix_ref(buf, n));
            }
        }
    }
}

static void diag_lines(const lc_conversation *c, char *out, size_t n) {
    size_t i, used = 0;
    out[0] = '\0';
    for (i = 0; i < lc_conversation_diag_count(c) && used < n; i++) {
        const lc_error *e = lc_conversation_diag(c, i);
        int k = snprintf(out + used, n - used, "%s %s\n", e->code,
                         e->message);
        assert_true(k > 0);
        used += (size_t)k;
    }
}

static void test_turn_init_and_copy(void **state) {
    lc_config *cfg;
    lci_turn t, u;
    size_t bad;
    uint32_t i;
    char big[100];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_USER, "Ann", 3,
                                   "Hello,   WORLD\xff!", 16, &bad),
                     LC_OK);
    assert_int_equal(bad, 14);
    assert_true(t.pub.flags & LC_TURN_REPAIRED);
    assert_string_equal(t.pub.speaker, "Ann");
    assert_string_equal(t.pub.text, "Hello,   WORLD\xef\xbf\xbd!");
    assert_int_equal(t.pub.text_len, strlen(t.pub.text));
    assert_int_equal(t.pub.words, t.ntokens);
    assert_true(t.pub.words >= 2);
    assert_int_equal(t.pub.hash, lci_hash(t.pub.norm, t.pub.norm_len));

    assert_int_equal(lci_turn_copy(&u, &t, &cfg->alloc), LC_OK);
    assert_ptr_not_equal(u.pub.text, t.pub.text);
    assert_string_equal(u.pub.text, t.pub.text);
    assert_string_equal(u.pub.norm, t.pub.norm);
    assert_string_equal(u.pub.speaker, t.pub.speaker);
    assert_int_equal(u.pub.hash, t.pub.hash);
    assert_int_equal(u.ntokens, t.ntokens);
    /* field by field, as a copy need not preserve the bytes of a
     * structure beyond its members */
    for (i = 0; i < t.ntokens; i++) {
        assert_int_equal(u.tokens[i].off, t.tokens[i].off);
        assert_int_equal(u.tokens[i].len, t.tokens[i].len);
        assert_int_equal(u.tokens[i].hash, t.tokens[i].hash);
        assert_int_equal(u.tokens[i].flags, t.tokens[i].flags);
    }
    lci_turn_free(&t, &cfg->alloc);
    lci_turn_free(&u, &cfg->alloc);
    lc_config_free(cfg);

    /* truncation never splits a code point: 63 'a' + e-acute (2 bytes) */
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURN_BYTES, 64), LC_OK);
    memset(big, 'a', 63);
    memcpy(big + 63, "\xc3\xa9zzz", 5);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_USER, NULL, 0, big, 68,
                                   NULL),
                     LC_OK);
    assert_true(t.pub.flags & LC_TURN_TRUNCATED);
    assert_false(t.pub.flags & LC_TURN_REPAIRED);
    assert_int_equal(t.pub.text_len, 63);
    assert_string_equal(t.pub.speaker, "");
    lci_turn_free(&t, &cfg->alloc);

    /* the limit holds for the stored text: each bad byte becomes 3
     * bytes of U+FFFD, and the repaired text is cut again (21 U+FFFD) */
    memset(big, 0xFF, 100);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_USER, NULL, 0, big, 100,
                                   NULL),
                     LC_OK);
    assert_true(t.pub.flags & LC_TURN_TRUNCATED);
    assert_true(t.pub.flags & LC_TURN_REPAIRED);
    assert_int_equal(t.pub.text_len, 63);
    assert_int_equal(lci_utf8_valid_prefix(t.pub.text, t.pub.text_len), 63);
    assert_int_equal(strlen(t.pub.text), 63);
    lci_turn_free(&t, &cfg->alloc);
    /* short enough as given, too long once repaired: cut too */
    memcpy(big, "abc", 3);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_USER, NULL, 0, big, 30,
                                   NULL),
                     LC_OK);
    assert_true(t.pub.flags & LC_TURN_TRUNCATED);
    assert_int_equal(t.pub.text_len, 63); /* abc + 20 U+FFFD */
    lci_turn_free(&t, &cfg->alloc);
    {
        lc_conversation *c;
        char d[256];
        assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
        memset(big, 0xFF, 100);
        assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, big,
                                             100),
                         LC_OK);
        assert_int_equal(lc_conversation_turn(c, 0)->text_len, 63);
        diag_lines(c, d, sizeof d);
        assert_string_equal(
            d, "LC-E040 turn text cut to 63 bytes (max_turn_bytes 64)\n"
               "LC-E020 invalid UTF-8 at byte 0 of turn 1 replaced by "
               "U+FFFD\n");
        lc_conversation_free(c);
    }

    /* empty text */
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0, NULL,
                                   0, NULL),
                     LC_OK);
    assert_true(t.pub.flags & LC_TURN_EMPTY);
    assert_int_equal(t.pub.text_len, 0);
    assert_int_equal(t.pub.words, 0);
    lci_turn_free(&t, &cfg->alloc);
    lc_config_free(cfg);
}

/* Errors come before warnings, and views stay valid as the array grows. */
static void test_diag_order(void **state) {
    lc_config *cfg;
    lc_conversation *c;
    size_t i;
    char want[32];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    assert_int_equal(lci_conv_set_origin(c, "src", 3, 1), LC_OK);
    for (i = 0; i < 40; i++)
        assert_int_equal(lci_conv_diag(c, LC_ERR_UTF8, LC_SEVERITY_WARNING,
                                       i + 1, 1, i, -1, "warning %zu", i),
                         LC_OK);
    assert_int_equal(lc_conversation_status(c), LC_OK);
    assert_int_equal(lci_conv_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_ERROR, 99,
                                   2, 500, -1, "the error"),
                     LC_OK);
    assert_int_equal(lci_conv_diag(c, LC_ERR_LIMIT, LC_SEVERITY_ERROR, 100,
                                   1, 600, -1, "second error"),
                     LC_OK);
    assert_int_equal(lc_conversation_status(c), LC_ERR_SCHEMA);
    assert_int_equal(lc_conversation_diag_count(c), 42);
    assert_string_equal(lc_conversation_diag(c, 0)->message, "the error");
    assert_string_equal(lc_conversation_diag(c, 1)->message, "second error");
    assert_string_equal(lc_conversation_diag(c, 0)->source, "src");
    for (i = 0; i < 40; i++) {
        const lc_error *e = lc_conversation_diag(c, i + 2);
        snprintf(want, sizeof want, "warning %zu", i);
        assert_string_equal(e->message, want);
        assert_int_equal(e->line, i + 1);
        assert_int_equal(e->severity, LC_SEVERITY_WARNING);
        assert_string_equal(e->code, "LC-E020");
    }
    lc_conversation_free(c);
    lc_config_free(cfg);
}

static char *canon(const char *json) {
    struct json_object *o = json_tokener_parse(json);
    lci_buf b;
    assert_non_null(o);
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lci_json_canonical(o, &b), LC_OK);
    json_object_put(o);
    return lci_buf_take(&b);
}

static void test_canonical_json(void **state) {
    char *s;
    (void)state;
    s = canon("{ \"b\" : 1, \"a\" : { \"d\": [3, {\"z\":null,\"y\":true}], "
              "\"c\": \"x\\\"\\n\\u00e9\" } }");
    assert_string_equal(s, "{\"a\":{\"c\":\"x\\\"\\n\xc3\xa9\","
                           "\"d\":[3,{\"y\":true,\"z\":null}]},\"b\":1}");
    lci_free(&lci_default_alloc, s);
    s = canon("[1.50e0, -0, 12345678901234]");
    assert_string_equal(s, "[1.50e0,0,12345678901234]"); /* ints re-printed */
    lci_free(&lci_default_alloc, s);
    s = canon("{}");
    assert_string_equal(s, "{}");
    lci_free(&lci_default_alloc, s);
}

/* lci_json_flat_args (tool-call arguments without json-c) against the
 * json-c path it replaces (strict parse with max_depth 4, the least
 * allowed, then lci_json_canonical) on generated objects mixing what it
 * takes with near misses (escapes, leading zeros, -0, fractions, other
 * whitespace, nesting, duplicate and prefix keys, junk around the
 * object): whenever it takes one, json-c parses it to the same text. */
static int flat_case(lci_json *j, const char *txt, size_t n) {
    lci_buf a, b;
    lc_status st = LC_ERR_INTERNAL;
    int took;
    lci_buf_init(&a, &lci_default_alloc);
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lci_buf_append(&a, "x", 1), LC_OK);
    took = lci_json_flat_args(txt, n, &a, &st);
    if (took) {
        lci_json_err err;
        struct json_object *o = lci_json_parse(j, txt, n, &err);
        assert_int_equal(st, LC_OK);
        if (!o)
            fail_msg("fast path took what json-c rejects: %.*s", (int)n,
                     txt);
        assert_int_equal(lci_buf_append(&b, "x", 1), LC_OK);
        assert_int_equal(lci_json_canonical(o, &b), LC_OK);
        json_object_put(o);
        if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0)
            fail_msg("%.*s: fast %.*s, json-c %.*s", (int)n, txt,
                     (int)a.len, a.data, (int)b.len, b.data);
    } else {
        assert_int_equal(st, LC_ERR_INTERNAL); /* untouched */
        assert_int_equal(a.len, 1);
    }
    lci_buf_free(&a);
    lci_buf_free(&b);
    return took;
}

static uint32_t flat_rnd(uint32_t *x) { /* xorshift32 */
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

static void flat_put(lci_buf *t, const char *s) {
    assert_int_equal(lci_buf_append(t, s, strlen(s)), LC_OK);
}

/* mostly nothing or spaces, now and then a tab or a newline */
static void flat_gap(lci_buf *t, uint32_t *x, const char *const gaps[6]) {
    flat_put(t, flat_rnd(x) % 8 ? gaps[flat_rnd(x) % 4]
                                : gaps[flat_rnd(x) % 6]);
}

static void test_flat_args(void **state) {
    static const char *const keys[] = {
        "\"a\"", "\"ab\"", "\"b\"", "\"\"", "\"A\"", "\"a b\"",
        "\"\xc3\xa4\"", "\"path\"", "\"a\\\"\"", "\"\\u0061\"", "a",
        "'a'"};
    static const char *const vals[] = {
        "\"x\"", "\"\"", "0", "-0", "7", "-12", "012", "00", "-",
        "123456789012345678", "1234567890123456789", "1.5", "1e5",
        "-7.0", "true", "false", "null", "nul", "truex", "True",
        "\"a\\\"b\"", "\"\x7f\xc3\xa9\xff\"", "\"tab\there\"", "[1]",
        "{}", "{\"k\":1}", "\"src/a.py\"", "'q'", "\"a/b?c!\""};
    static const char *const gaps[] = {"", "", " ", "  ", "\t", "\n"};
    const struct {
        const char *in, *want; /* want NULL: not taken */
    } fixed[] = {
        {"{}", "{}"},
        {"{ }", "{}"},
        {"{\"b\": true, \"a\": null}", "{\"a\":null,\"b\":true}"},
        {"{\"path\": \"src/x.py\", \"line\": 355}",
         "{\"line\":355,\"path\":\"src/x.py\"}"},
        {"{\"ab\":1,\"a\":2,\"\":3}", "{\"\":3,\"a\":2,\"ab\":1}"},
        {"{\"a\": -0}", NULL},
        {"{\"a\": 012}", NULL},
        {"{\"a\": 1, \"a\": 2}", NULL},
        {"{\"a\": 1} ", NULL},
        {" {\"a\": 1}", NULL},
        {"{\"a\": \"x\\ny\"}", NULL},
        {"{\"a\": 1,}", NULL},
        {"{\"a\": 1", NULL},
        {"{", NULL},
        {"", NULL},
    };
    lci_json *j;
    lci_buf t;
    uint32_t x = 2463534242u;
    size_t i;
    int iter, taken = 0;
    (void)state;
    assert_int_equal(lci_json_new(&lci_default_alloc, 4, &j), LC_OK);
    for (i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        lci_buf a;
        lc_status st = LC_OK;
        size_t n = strlen(fixed[i].in);
        lci_buf_init(&a, &lci_default_alloc);
        assert_int_equal(lci_json_flat_args(fixed[i].in, n, &a, &st),
                         fixed[i].want != NULL);
        if (fixed[i].want) {
            assert_int_equal(lci_buf_terminate(&a), LC_OK);
            assert_string_equal(a.data, fixed[i].want);
            flat_case(j, fixed[i].in, n);
        }
        lci_buf_free(&a);
    }
    lci_buf_init(&t, &lci_default_alloc);
    for (iter = 0; iter < 20000; iter++) {
        int k, nm = (int)(flat_rnd(&x) % 6);
        t.len = 0;
        if (flat_rnd(&x) % 50 == 0)
            flat_gap(&t, &x, gaps);
        flat_put(&t, "{");
        for (k = 0; k < nm; k++) {
            const char *key = flat_rnd(&x) % 4 ? keys[flat_rnd(&x) % 8]
                                               : keys[flat_rnd(&x) % 12];
            const char *val =
                flat_rnd(&x) % 3
                    ? vals[flat_rnd(&x) % 17]
                    : vals[flat_rnd(&x) % (sizeof vals / sizeof vals[0])];
            flat_gap(&t, &x, gaps);
            flat_put(&t, key);
            flat_gap(&t, &x, gaps);
            flat_put(&t, flat_rnd(&x) % 40 ? ":" : ";");
            flat_gap(&t, &x, gaps);
            flat_put(&t, val);
            flat_gap(&t, &x, gaps);
            if (k + 1 < nm || flat_rnd(&x) % 30 == 0)
                flat_put(&t, ",");
        }
        flat_gap(&t, &x, gaps);
        if (flat_rnd(&x) % 30)
            flat_put(&t, "}");
        if (flat_rnd(&x) % 50 == 0)
            flat_gap(&t, &x, gaps);
        taken += flat_case(j, t.data, t.len);
    }
    lci_buf_free(&t);
    lci_json_free(j);
    /* most of the generated objects are the shapes the fast path is
     * for: a test that never reaches it would pass on anything */
    assert_true(taken > 3000);
}

/* The same call written three ways hashes identically. */
static void test_tool_calls_hash(void **state) {
    static const char in[] =
        "{\"messages\":["
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"a\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{\\\"x\\\":1,\\\"y\\\":[1,2]}\"}}]},"
        "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"b\",\"type\":"
        "\"function\",\"function\":{\"name\":\"f\",\"arguments\":"
        "\"{ \\\"y\\\": [1, 2], \\\"x\\\": 1 }\"}}]},"
        "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":[{\"id\":"
        "\"c\",\"type\":\"function\",\"function\":{\"name\":\"f\","
        "\"arguments\":{\"y\":[1,2],\"x\":1}}}]}]}\n";
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    size_t i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, NULL, in, sizeof in - 1);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_status(c), LC_OK);
    assert_int_equal(lc_conversation_turn_count(c), 3);
    for (i = 0; i < 3; i++) {
        const lc_turn *t = lc_conversation_turn(c, i);
        assert_string_equal(t->text, "tool_call f {\"x\":1,\"y\":[1,2]}");
        assert_true(t->flags & LC_TURN_TOOL_CALL);
        assert_int_equal(t->hash, lc_conversation_turn(c, 0)->hash);
    }
    lc_conversation_free(c);
    lc_reader_free(r);
    lc_config_free(cfg);
}

#define FFFD "\xef\xbf\xbd"

/* Ids and role/speaker names with invalid UTF-8 are repaired when read
 * (U+FFFD, maximal subparts), with one warning per conversation and
 * field that names the field; a source name is not repaired (the
 * writers do that) and its fallback id is repaired without a warning. */
static void test_names_utf8(void **state) {
    static const char jsonl[] =
        "{\"id\":\"i\xff\",\"messages\":[{\"role\":\"us\xff" "er\",\"content\""
        ":\"q\"},{\"role\":\"bo\xe2\x82t\",\"content\":\"a\"},{\"role\":"
        "\"assistant\",\"content\":\"b\"}]}\n"
        "{\"messages\":[{\"from\":\"gpt\xc0\",\"value\":\"x\"}]}\n";
    static const char turns[] =
        "{\"conversation_id\":\"c\xf0\x9f\",\"role\":\"user\","
        "\"content\":\"hi\"}\n"
        "{\"conversation_id\":\"c\xf0\x9f\",\"role\":\"bad\xff\","
        "\"content\":\"yo\"}\n";
    static const char transcript[] =
        "Us\xff" "er: hi there\nBot: hello\nUs\xff" "er: more\nBot: sure\n";
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    char d[1024];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);

    r = tu_reader_over(cfg, "dir/x\xffy.jsonl", jsonl, sizeof jsonl - 1);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_string_equal(lc_conversation_id(c), "i" FFFD);
    assert_string_equal(lc_conversation_source(c), "dir/x\xffy.jsonl");
    assert_string_equal(lc_conversation_turn(c, 0)->speaker, "us" FFFD "er");
    assert_string_equal(lc_conversation_turn(c, 1)->speaker, "bo" FFFD "t");
    diag_lines(c, d, sizeof d);
    assert_string_equal(
        d, "LC-E020 invalid UTF-8 in \"id\" replaced by U+FFFD\n"
           "LC-E020 invalid UTF-8 in \"role\" of message 1 replaced by "
           "U+FFFD\n"
           "LC-E031 message 1: unknown role \"us" FFFD "er\" (kept as other)\n"
           "LC-E031 message 2: unknown role \"bo" FFFD "t\" (kept as other)\n");
    lc_conversation_free(c);
    /* no id: the fallback is the source name, repaired, no warning */
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_string_equal(lc_conversation_id(c), "dir/x" FFFD "y.jsonl:2");
    assert_string_equal(lc_conversation_turn(c, 0)->speaker, "gpt" FFFD);
    diag_lines(c, d, sizeof d);
    assert_string_equal(
        d, "LC-E020 invalid UTF-8 in \"from\" of message 1 replaced by "
           "U+FFFD\n"
           "LC-E031 message 1: unknown role \"gpt" FFFD "\" (kept as other)\n");
    lc_conversation_free(c);
    assert_int_equal(lc_reader_next(r, &c), LC_END);
    lc_reader_free(r);

    r = tu_reader_over(cfg, NULL, turns, sizeof turns - 1);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_turn_count(c), 2);
    assert_string_equal(lc_conversation_id(c), "c" FFFD);
    diag_lines(c, d, sizeof d);
    assert_string_equal(
        d, "LC-E020 invalid UTF-8 in \"conversation_id\" replaced by U+FFFD\n"
           "LC-E020 invalid UTF-8 in \"role\" replaced by U+FFFD\n"
           "LC-E031 unknown role \"bad" FFFD "\" (kept as other)\n");
    lc_conversation_free(c);
    lc_reader_free(r);

    r = tu_reader_over(cfg, NULL, transcript, sizeof transcript - 1);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_turn_count(c), 4);
    assert_string_equal(lc_conversation_turn(c, 0)->speaker, "Us" FFFD "er");
    assert_string_equal(lc_conversation_turn(c, 2)->speaker, "Us" FFFD "er");
    diag_lines(c, d, sizeof d);
    assert_string_equal(
        d, "LC-E020 invalid UTF-8 in the speaker name replaced by U+FFFD\n");
    lc_conversation_free(c);
    lc_reader_free(r);
    lc_config_free(cfg);
}

/* A turn's speaker is valid UTF-8 whatever it was given (live sessions
 * and lc_conversation_add too). */
static void test_turn_speaker_utf8(void **state) {
    lc_config *cfg;
    lc_conversation *c;
    lci_turn t;
    char d[256];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_USER, "A\xed\xa0\x80z",
                                   5, "text", 4, NULL),
                     LC_OK);
    assert_string_equal(t.pub.speaker, "A" FFFD FFFD FFFD "z");
    assert_string_equal(t.pub.text, "text");
    assert_false(t.pub.flags & LC_TURN_REPAIRED); /* the text's flag */
    lci_turn_free(&t, &cfg->alloc);
    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, "N\x80", 2, "a", 1),
                     LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, "N\x81", 2, "b", 1),
                     LC_OK);
    assert_string_equal(lc_conversation_turn(c, 1)->speaker, "N" FFFD);
    diag_lines(c, d, sizeof d);
    assert_string_equal(
        d, "LC-E020 invalid UTF-8 in the speaker name replaced by U+FFFD\n");
    lc_conversation_free(c);
    lc_config_free(cfg);
}

/* An "id" that is neither a string nor a number is named in a warning;
 * "id": null is no id. */
static void test_id_not_string(void **state) {
    static const char in[] =
        "{\"id\":{\"a\":1},\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n"
        "{\"id\":[1],\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n"
        "{\"id\":false,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n"
        "{\"id\":null,\"messages\":[{\"role\":\"user\",\"content\":\"q\"}]}\n";
    static const char *const want[] = {"an object", "an array", "a boolean",
                                       NULL};
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    char d[256], exp[256], id[32];
    size_t i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, "s", in, sizeof in - 1);
    for (i = 0; i < 4; i++) {
        assert_int_equal(lc_reader_next(r, &c), LC_OK);
        assert_int_equal(lc_conversation_status(c), LC_OK);
        snprintf(id, sizeof id, "s:%zu", i + 1);
        assert_string_equal(lc_conversation_id(c), id);
        diag_lines(c, d, sizeof d);
        exp[0] = '\0';
        if (want[i])
            snprintf(exp, sizeof exp,
                     "LC-E031 \"id\" is %s, not a string or number: the id "
                     "is the position (source:line)\n",
                     want[i]);
        assert_string_equal(d, exp);
        lc_conversation_free(c);
    }
    lc_reader_free(r);
    lc_config_free(cfg);
}

/* An unknown role is quoted in its warning with control characters
 * escaped (the message goes to terminals), cut at 40 bytes on a code
 * point boundary. */
static void test_unknown_role_quoted(void **state) {
    static const char in[] =
        "{\"messages\":[{\"role\":\"as\\u001b[2Jsis\\u0000\\ttant\","
        "\"content\":\"q\"},{\"role\":\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
        "\xc3\xa9\xc3\xa9\",\"content\":\"q\"}]}\n";
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    char d[512];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, NULL, in, sizeof in - 1);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    diag_lines(c, d, sizeof d);
    assert_string_equal(
        d, "LC-E031 message 1: unknown role "
           "\"as\\u001b[2Jsis\\u0000\\u0009tant\" (kept as other)\n"
           "LC-E031 message 2: unknown role "
           "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\xc3\xa9\" (kept as other)\n");
    /* the speaker itself is kept as written */
    assert_int_equal(lc_conversation_turn(c, 0)->speaker[2], '\x1b');
    lc_conversation_free(c);
    lc_reader_free(r);
    lc_config_free(cfg);
}

/* What a turn-per-line record's missing key is called in its error. */
static void test_turn_key_why(void **state) {
    static const struct {
        const char *json, *why;
    } cases[] = {
        {"{\"role\":\"user\"}",
         "no \"conversation_id\", \"session_id\" or \"thread_id\""},
        {"{\"conversation_id\":null}",
         "\"conversation_id\" is null, not a string or number"},
        {"{\"session_id\":{\"a\":1}}",
         "\"session_id\" is an object, not a string or number"},
        {"{\"thread_id\":true}",
         "\"thread_id\" is a boolean, not a string or number"},
        {"{\"thread_id\":[],\"conversation_id\":null}",
         "\"conversation_id\" is null, not a string or number"},
        {"[1]", "no \"conversation_id\", \"session_id\" or \"thread_id\""},
    };
    size_t i;
    char why[128];
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct json_object *o = json_tokener_parse(cases[i].json);
        assert_non_null(o);
        assert_false(lci_json_turn_key(o, NULL));
        lci_json_turn_key_why(o, why, sizeof why);
        assert_string_equal(why, cases[i].why);
        json_object_put(o);
    }
}

/* ---- a deferred parse that runs out of memory changes nothing ---- */

typedef struct failer {
    size_t calls, fail_at; /* fail call fail_at (1-based); 0 = never */
    int failed;
} failer;

static int fail_now(failer *f) {
    if (f->fail_at && ++f->calls == f->fail_at) {
        f->failed = 1;
        return 1;
    }
    return 0;
}

static void *f_malloc(void *ctx, size_t n) {
    return fail_now(ctx) ? NULL : malloc(n ? n : 1);
}

static void *f_realloc(void *ctx, void *p, size_t old, size_t n) {
    (void)old;
    return fail_now(ctx) ? NULL : realloc(p, n ? n : 1);
}

static void f_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

/* Everything a parse sets, as text. */
static void conv_dump(const lc_conversation *c, char *out, size_t n) {
    size_t i, used = 0;
    int k;
    k = snprintf(out, n, "id=%s status=%d turns=%zu note=%s\n",
                 lc_conversation_id(c), (int)lc_conversation_status(c),
                 lc_conversation_turn_count(c),
                 lc_conversation_speaker_note(c));
    assert_true(k > 0 && (size_t)k < n);
    used = (size_t)k;
    for (i = 0; i < lc_conversation_turn_count(c); i++) {
        const lc_turn *t = lc_conversation_turn(c, i);
        k = snprintf(out + used, n - used,
                     "turn %u %d %s %u %llu:%llu@%llu [%s]\n", t->index,
                     (int)t->role, t->speaker, t->flags,
                     (unsigned long long)t->line,
                     (unsigned long long)t->column,
                     (unsigned long long)t->offset, t->text);
        assert_true(k > 0 && (size_t)k < n - used);
        used += (size_t)k;
    }
    for (i = 0; i < lc_conversation_diag_count(c); i++) {
        const lc_error *e = lc_conversation_diag(c, i);
        k = snprintf(out + used, n - used, "%s %d %llu:%llu@%llu t%lld %s\n",
                     e->code, (int)e->severity, (unsigned long long)e->line,
                     (unsigned long long)e->column,
                     (unsigned long long)e->offset, (long long)e->turn,
                     e->message);
        assert_true(k > 0 && (size_t)k < n - used);
        used += (size_t)k;
    }
}

/* lc_conversation_parse / lc_session_parse with the k-th allocation
 * inside the parse failing, for every k: LC_ERR_NOMEM leaves the
 * conversation as the reader returned it (no turns, diagnostics, id
 * change), and a retry gives exactly the result of a clean parse. */
static void test_parse_retry_after_nomem(void **state) {
    static const char data[] =
        "{\"id\":\"c1\",\"messages\":[{\"role\":\"user\",\"content\":\"one\"},"
        "{\"role\":\"wizard\",\"content\":\"t\xffwo\"},{\"content\":[{\"type\":"
        "\"text\",\"text\":\"three\"},{\"type\":\"image_url\"}]},{\"role\":"
        "\"assistant\",\"content\":null,\"tool_calls\":[{\"function\":{"
        "\"name\":\"f\",\"arguments\":\"{\\\"b\\\":1,\\\"a\\\":[2]}\"}}]},"
        "{\"role\":\"us\xfe" "er\",\"content\":{\"k\":\"f\xf0ur\"}}]}\n"
        "{\"id\":[1],\"messages\":{\"role\":\"user\"}}\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"} oops\n"
        "{\"id\":7,\"messages\":[]}\n"
        "{\"id\":\"c5\",\"conversations\":[{\"from\":\"human\",\"value\":"
        "\"hi\"},{\"from\":\"gpt\",\"value\":\"hello\"}]}\n";
    failer f = {0, 0, 0};
    lc_allocator a = {f_malloc, f_realloc, f_free, &f};
    static char want[4096], got[4096], before[4096];
    size_t rec, k;
    int api;
    (void)state;
    for (api = 0; api < 2; api++) {
        for (rec = 0; rec < 5; rec++) {
            int done = 0;
            want[0] = '\0';
            for (k = 0; !done; k++) { /* k = 0: the reference run */
                lc_config *cfg;
                lc_reader *r;
                lc_session *s = NULL;
                lc_conversation *c = NULL;
                size_t i;
                lc_status st;
                f.calls = f.fail_at = 0;
                f.failed = 0;
                assert_int_equal(lc_config_new(&a, &cfg), LC_OK);
                assert_int_equal(lc_config_set(cfg, LC_OPT_DEFER_PARSE, 2),
                                 LC_OK);
                r = tu_reader_over(cfg, "f.jsonl", data, sizeof data - 1);
                for (i = 0; i <= rec; i++) {
                    lc_conversation_free(c);
                    assert_int_equal(lc_reader_next(r, &c), LC_OK);
                }
                if (api)
                    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
                conv_dump(c, before, sizeof before);
                f.calls = 0;
                f.fail_at = k;
                st = api ? lc_session_parse(s, c) : lc_conversation_parse(c);
                if (k == 0) {
                    assert_int_equal(st, LC_OK);
                    conv_dump(c, want, sizeof want);
                } else if (!f.failed) {
                    assert_int_equal(st, LC_OK); /* past the last one */
                    done = 1;
                } else {
                    assert_int_equal(st, LC_ERR_NOMEM);
                    conv_dump(c, got, sizeof got);
                    assert_string_equal(got, before);
                    f.fail_at = 0;
                    st = api ? lc_session_parse(s, c)
                             : lc_conversation_parse(c);
                    assert_int_equal(st, LC_OK);
                    conv_dump(c, got, sizeof got);
                    assert_string_equal(got, want);
                }
                if (k == 0 && rec == 0)
                    assert_int_equal(lc_conversation_turn_count(c), 5);
                lc_conversation_free(c);
                lc_session_free(s);
                lc_reader_free(r);
                lc_config_free(cfg);
            }
            assert_true(k > 3); /* some allocation did fail */
        }
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_utf8_valid_prefix),
        cmocka_unit_test(test_utf8_valid_prefix_blocks),
        cmocka_unit_test(test_turn_init_and_copy),
        cmocka_unit_test(test_diag_order),
        cmocka_unit_test(test_canonical_json),
        cmocka_unit_test(test_flat_args),
        cmocka_unit_test(test_tool_calls_hash),
        cmocka_unit_test(test_names_utf8),
        cmocka_unit_test(test_turn_speaker_utf8),
        cmocka_unit_test(test_id_not_string),
        cmocka_unit_test(test_turn_key_why),
        cmocka_unit_test(test_unknown_role_quoted),
        cmocka_unit_test(test_parse_retry_after_nomem),
    };
    return cmocka_run_group_tests_name("conversation", tests, NULL, NULL);
}
