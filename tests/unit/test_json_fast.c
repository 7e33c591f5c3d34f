/*
 * test_json_fast.c - JSONL records read without json-c (json_scan.c and
 * lci_json_fast_conversation) against the json-c path, the reference.
 *
 * Every record is read twice, by a reader with the fast path on and one
 * with it off, and everything a caller can see of the conversations is
 * compared: id, status, turns (role, speaker, text, normalized text,
 * hash, position, flags, words) and diagnostics (status, severity,
 * message, position, turn). The records are generated from a seed:
 * shapes the fast path takes and near misses of each rule it has
 * (escapes, surrogates, \u0000, control bytes, invalid UTF-8, number
 * forms, nesting against max_depth, duplicate keys, unknown roles, tool
 * calls of every form json.c reads, truncation and stray bytes), so both
 * the taken and the declined side are exercised; the test checks that
 * each side saw a fair share.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "input.h"
#include "testutil.h"

static uint32_t rnd(uint32_t *x) { /* xorshift32 */
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

#define PICK(x, arr) ((arr)[rnd(x) % (sizeof(arr) / sizeof((arr)[0]))])

/* Near misses: in an odd record, one choice in `one_in`; in a rare one,
 * one in 24 times that. */
static int rare;

static int is_odd(uint32_t *x, int odd, uint32_t one_in) {
    if (odd)
        return rnd(x) % one_in == 0;
    return rare && rnd(x) % (24 * one_in) == 0;
}

/* Which near miss of n - 1 kinds (0: none). */
static int odd_k(uint32_t *x, int odd, uint32_t n) {
    if (odd || (rare && rnd(x) % 24 == 0))
        return (int)(rnd(x) % n);
    return 0;
}

static void put(lci_buf *b, const char *s) {
    assert_int_equal(lci_buf_append(b, s, strlen(s)), LC_OK);
}

/* Whitespace between tokens; with odd, also what JSON does not call
 * whitespace (json-c does). A CR would end the line. */
static int odd_gaps;

static void gap(lci_buf *b, uint32_t *x) {
    static const char *const gaps[] = {"", "", "", "", " ", " ", "  ",
                                       "\t", " \t ", " \f", "\v"};
    if (rnd(x) % 3 == 0)
        put(b, gaps[rnd(x) % (odd_gaps ? 11 : 9)]);
}

/* Body of a JSON string (no quotes). */
static void text(lci_buf *b, uint32_t *x, int odd) {
    static const char *const good[] = {
        "hello",    " ",        "world",      "I can't help with that.",
        "\\n",      "\\\"",     "\\\\",       "\\/",
        "\\t",      "\\r",      "\\b",        "\\f",
        "\\u00e9",  "\\u4e2d",  "\\ud83d\\ude00", "\\u0041",
        "\\u00E9",  "\\uFFFD",  "\\u007f",    "\\u001f",
        "\xc3\xa9", "\xe4\xb8\xad", "\xf0\x9f\x98\x80", "\xe2\x80\x9c",
        "\x7f",     "'",        "{\\\"a\\\": 1}", "[1, 2]",
    };
    static const char *const bad[] = {
        "\\u0000", "\\ud83d",       "\\ude00",   "\\ud83d\\u0041",
        "\\ud83dx", "\\x",          "\\u12G4",   "\\u12",
        "\x01",    "\t",            "\xff",      "\xc3",
        "\xed\xa0\x80", "\xc0\xaf", "\\",        "\\U00e9",
        "\\'",     "\x1f",
    };
    int k, n = (int)(rnd(x) % 6);
    for (k = 0; k < n; k++)
        put(b, is_odd(x, odd, 8) ? PICK(x, bad) : PICK(x, good));
    if (rnd(x) % 4 == 0) { /* a long run: the 16-byte scan */
        for (k = (int)(rnd(x) % 40); k > 0; k--)
            put(b, "abc de");
    }
}

static void str(lci_buf *b, uint32_t *x, int odd) {
    put(b, "\"");
    text(b, x, odd);
    put(b, "\"");
}

static void value(lci_buf *b, uint32_t *x, int depth, int odd);

static void number(lci_buf *b, uint32_t *x, int odd) {
    static const char *const good[] = {"0",    "-1",   "12",   "1.5",
                                       "1e5",  "1E+2", "2e-3", "-0.0",
                                       "123456789012345678", "-7"};
    static const char *const bad[] = {
        "-0",   "01",   "1.",  ".5",    "-",   "1e",  "1e999", "1e1234",
        "1234567890123456789", "NaN", "Infinity", "+1", "0x10", "1.5e+"};
    put(b, is_odd(x, odd, 3) ? PICK(x, bad) : PICK(x, good));
}

static void value(lci_buf *b, uint32_t *x, int depth, int odd) {
    int k, n;
    switch (depth > 0 ? rnd(x) % 7 : rnd(x) % 4) {
    case 0: str(b, x, odd); break;
    case 1: number(b, x, odd); break;
    case 2: {
        static const char *const lit[] = {"true", "false", "null", "true",
                                          "null", "TRUE", "nul", "'x'"};
        put(b, PICK(x, lit)); /* some not JSON */
        break;
    }
    case 3: put(b, "null"); break;
    case 4:
    case 5:
        put(b, "{");
        gap(b, x);
        for (k = 0, n = (int)(rnd(x) % 4); k < n; k++) {
            if (k)
                put(b, ",");
            gap(b, x);
            str(b, x, odd);
            gap(b, x);
            put(b, ":");
            gap(b, x);
            value(b, x, depth - 1, odd);
            gap(b, x);
        }
        put(b, "}");
        break;
    default:
        put(b, "[");
        for (k = 0, n = (int)(rnd(x) % 4); k < n; k++) {
            if (k)
                put(b, ",");
            gap(b, x);
            value(b, x, depth - 1, odd);
        }
        put(b, "]");
        break;
    }
}

/* A JSON text as the body of a JSON string. */
static void quoted(lci_buf *b, const lci_buf *inner) {
    size_t i;
    for (i = 0; i < inner->len; i++) {
        char ch = inner->data[i];
        if (ch == '"' || ch == '\\')
            assert_int_equal(lci_buf_putc(b, '\\'), LC_OK);
        assert_int_equal(lci_buf_putc(b, ch), LC_OK);
    }
}

static void arguments(lci_buf *b, uint32_t *x, int odd) {
    lci_buf in;
    lci_buf_init(&in, &lci_default_alloc);
    switch (rnd(x) % 6) {
    case 0: put(&in, "{\"path\": \"src/a.py\", \"line\": 12}"); break;
    case 1: put(&in, "{\"b\": [1, {\"c\": null}], \"a\": \"x\"}"); break;
    case 2: put(&in, "{}"); break;
    case 3: put(&in, "not json at all"); break;
    case 4: value(&in, x, 3, odd); break;
    default: put(&in, "{\"q\": \"caf\\u00e9\", \"n\": -3}"); break;
    }
    put(b, "\"");
    quoted(b, &in);
    put(b, "\"");
    lci_buf_free(&in);
}

/* Members of one "key": value, written with gaps; `sep` before it. */
static void member(lci_buf *b, uint32_t *x, int *first, const char *k) {
    if (!*first)
        put(b, ",");
    *first = 0;
    gap(b, x);
    put(b, "\"");
    put(b, k);
    put(b, "\"");
    gap(b, x);
    put(b, ":");
    gap(b, x);
}

static void tool_call(lci_buf *b, uint32_t *x, int odd) {
    int first = 1, k = odd_k(x, odd, 10);
    if (k == 9) {
        value(b, x, 2, odd); /* not an object */
        return;
    }
    put(b, "{");
    if (rnd(x) % 2) {
        member(b, x, &first, "id");
        put(b, "\"call_1\"");
    }
    if (rnd(x) % 2 || k == 1) {
        member(b, x, &first, "type");
        put(b, k == 1 ? "\"tool_use\"" : "\"function\"");
    }
    if (k == 2) { /* legacy form, no "function" */
        member(b, x, &first, "name");
        str(b, x, odd);
    } else {
        int ff = 1;
        member(b, x, &first, "function");
        if (k == 3) {
            value(b, x, 2, odd);
        } else {
            put(b, "{");
            if (k != 4) {
                member(b, x, &ff, "name");
                if (k == 5)
                    number(b, x, odd);
                else
                    str(b, x, odd);
            }
            if (k == 6) {
                member(b, x, &ff, "input");
                value(b, x, 2, odd);
            } else if (k == 7) {
                member(b, x, &ff, "arguments");
                value(b, x, 2, odd);
            } else if (rnd(x) % 8) {
                member(b, x, &ff, "arguments");
                arguments(b, x, odd);
            }
            if (k == 8) {
                member(b, x, &ff, "name");
                str(b, x, odd);
            }
            put(b, "}");
        }
    }
    gap(b, x);
    put(b, "}");
}

/* "content": [...] of strings and parts: text parts the fast path
 * takes; with odd, also images, tool parts, types without "text",
 * escaped or duplicate members. */
static void content_parts(lci_buf *b, uint32_t *x, int odd) {
    static const char *const types[] = {"\"text\"", "\"input_text\"",
                                        "\"output_text\"", "null",
                                        "\"texts\""};
    static const char *const odd_types[] = {
        "\"image_url\"", "\"tool_use\"", "\"tool_result\"", "\"te\\u0078t\"",
        "1", "\"Text\""};
    int j, n = (int)(rnd(x) % 4);
    put(b, "[");
    for (j = 0; j < n; j++) {
        int first = 1, k = odd_k(x, odd, 8);
        if (j)
            put(b, ",");
        gap(b, x);
        if (rnd(x) % 4 == 0) {
            str(b, x, odd);
            continue;
        }
        if (k == 7) {
            value(b, x, 2, odd);
            continue;
        }
        put(b, "{");
        if (k != 1 && rnd(x) % 6) {
            member(b, x, &first, "type");
            put(b, k == 2 ? PICK(x, odd_types) : PICK(x, types));
        }
        if (rnd(x) % 3 == 0) {
            member(b, x, &first, "cache_control");
            value(b, x, 2, odd);
        }
        if (k != 3) {
            member(b, x, &first, "text");
            if (k == 4)
                value(b, x, 2, odd);
            else
                str(b, x, odd);
        }
        if (k == 5) {
            member(b, x, &first, "text");
            str(b, x, odd);
        }
        if (k == 6) {
            member(b, x, &first, "content");
            str(b, x, odd);
        }
        put(b, "}");
    }
    put(b, "]");
}

static void message(lci_buf *b, uint32_t *x, int odd) {
    static const char *const roles[] = {"user",  "assistant", "system",
                                        "tool",  "human",     "gpt",
                                        "User",  "ASSISTANT", "function"};
    static const char *const odd_roles[] = {
        "\"narrator\"", "\"\"", "\"us\\u0065r\"", "\"\xffuser\"", "1",
        "null",        "[\"user\"]", "\"user\x01\""};
    int first = 1, k = odd_k(x, odd, 12), j;
    if (k == 11) {
        value(b, x, 2, odd);
        return;
    }
    put(b, "{");
    gap(b, x);
    if (k != 1) {
        member(b, x, &first, rnd(x) % 4 ? "role" : "from");
        if (k == 2) {
            put(b, PICK(x, odd_roles));
        } else {
            put(b, "\"");
            put(b, PICK(x, roles));
            put(b, "\"");
        }
    }
    if (k == 3) { /* both names */
        member(b, x, &first, "from");
        put(b, "\"gpt\"");
    }
    if (rnd(x) % 3) {
        member(b, x, &first, "name");
        str(b, x, odd);
    }
    if (k != 4) {
        member(b, x, &first, rnd(x) % 4 ? "content" : "value");
        if (k == 5)
            value(b, x, 3, odd); /* parts, objects, numbers... */
        else if (rnd(x) % 5 == 0)
            content_parts(b, x, odd);
        else if (rnd(x) % 6 == 0)
            put(b, "null");
        else
            str(b, x, odd);
    }
    if (k == 6) {
        member(b, x, &first, rnd(x) % 2 ? "content" : "value");
        str(b, x, odd);
    }
    if (rnd(x) % 4 == 0 || k == 7) {
        member(b, x, &first, "tool_calls");
        if (k == 7 && rnd(x) % 2) {
            value(b, x, 2, odd);
        } else {
            put(b, "[");
            for (j = 0; j < (int)(rnd(x) % 3); j++) {
                if (j)
                    put(b, ",");
                tool_call(b, x, odd);
            }
            put(b, "]");
        }
    }
    if (k == 8) {
        member(b, x, &first, "function_call");
        tool_call(b, x, odd);
    }
    if (k == 9) {
        member(b, x, &first, "role");
        put(b, "\"user\"");
    }
    if (k == 10) {
        member(b, x, &first, "conversation_id");
        str(b, x, odd);
    }
    if (rnd(x) % 4 == 0) {
        member(b, x, &first, "tool_call_id");
        value(b, x, 2, odd);
    }
    gap(b, x);
    put(b, "}");
}

static void record(lci_buf *b, uint32_t *x) {
    static const char *const ids[] = {"\"conv-1\"", "7", "-12", "null",
                                      "\"\"", "123456789012345678"};
    static const char *const odd_ids[] = {
        "-0",         "1.5",  "1e3",        "true", "{}", "[1]",
        "\"a\\u0062\"", "\"\xff\"", "\"\\ud83d\"", "01"};
    int odd = rnd(x) % 3 == 0, first = 1, k, j, n;
    /* a third of the records are odd throughout (most are declined for
     * several reasons at once); a third have a near miss here and there,
     * often just one, so that each rule is also tested on its own */
    rare = !odd && rnd(x) % 2 == 0;
    k = odd_k(x, odd, 10);
    odd_gaps = is_odd(x, odd, 4);
    gap(b, x);
    put(b, "{");
    if (rnd(x) % 2) {
        member(b, x, &first, "source");
        value(b, x, 2, odd);
    }
    if (k != 1) {
        member(b, x, &first, "id");
        put(b, is_odd(x, odd, 3) ? PICK(x, odd_ids) : PICK(x, ids));
    }
    if (k == 2) {
        member(b, x, &first, "id");
        put(b, "\"again\"");
    }
    if (k != 3) {
        member(b, x, &first, rnd(x) % 5 ? "messages" : "conversations");
        if (k == 4) {
            value(b, x, 2, odd);
        } else {
            put(b, "[");
            n = k == 5 ? 0 : 1 + (int)(rnd(x) % 6);
            for (j = 0; j < n; j++) {
                if (j)
                    put(b, ",");
                gap(b, x);
                message(b, x, odd);
            }
            gap(b, x);
            put(b, "]");
        }
    }
    if (k == 6) {
        member(b, x, &first, "conversations");
        put(b, "[{\"from\": \"human\", \"value\": \"hi\"}]");
    }
    if (rnd(x) % 2) {
        member(b, x, &first, "meta");
        value(b, x, 4, odd);
    }
    gap(b, x);
    put(b, "}");
    gap(b, x);
    if (k == 7 && b->len > 1) /* cut short */
        b->len = 1 + rnd(x) % (b->len - 1);
    if (k == 8 && b->len > 1) /* a stray byte */
        b->data[rnd(x) % b->len] = "x,]}\"\\:\x01"[rnd(x) % 8];
    if (k == 9)
        put(b, rnd(x) % 2 ? " x" : "{}");
}

/* One jsonl-turns line: a message with its conversation key(s) first
 * (the key from a few, so that neighbouring lines share it). */
static void turn_line(lci_buf *b, uint32_t *x) {
    static const char *const keys[] = {"\"c1\"", "\"c2\"", "7", "\"\"",
                                       "-3"};
    static const char *const odd_keys[] = {
        "1.5", "-0", "true", "{}", "\"c\\u0031\"", "\"\xff\"", "[1]", "01"};
    static const char *const names[] = {"conversation_id", "session_id",
                                        "thread_id"};
    lci_buf msg;
    int odd = rnd(x) % 3 == 0, first = 1, k, n, j;
    rare = !odd && rnd(x) % 2 == 0;
    odd_gaps = is_odd(x, odd, 4);
    lci_buf_init(&msg, &lci_default_alloc);
    message(&msg, x, odd);
    gap(b, x);
    if (!msg.len || msg.data[0] != '{') { /* not an object */
        assert_int_equal(lci_buf_append(b, msg.data, msg.len), LC_OK);
        lci_buf_free(&msg);
        return;
    }
    put(b, "{");
    for (j = 0, n = 1 + (int)(rnd(x) % 2); j < n; j++) {
        k = odd_k(x, odd, 6);
        member(b, x, &first, k == 1 ? "conversation" : PICK(x, names));
        if (k == 2)
            put(b, "null");
        else
            put(b, k >= 3 ? PICK(x, odd_keys) : PICK(x, keys));
    }
    /* the message's members after the key's */
    {
        size_t i = 1;
        while (i < msg.len && (msg.data[i] == ' ' || msg.data[i] == '\t' ||
                               msg.data[i] == '\f' || msg.data[i] == '\v'))
            i++;
        if (i < msg.len && msg.data[i] != '}')
            put(b, ",");
        assert_int_equal(lci_buf_append(b, msg.data + 1, msg.len - 1), LC_OK);
    }
    gap(b, x);
    lci_buf_free(&msg);
}

/* Everything a caller sees of r's conversations, as text. */
static void dump(lc_reader *r, lci_buf *o) {
    lc_conversation *c;
    while (lc_reader_next(r, &c) == LC_OK && c) {
        size_t i, n = lc_conversation_turn_count(c);
        assert_int_equal(lci_buf_printf(o, "conv %s st %d line %llu\n",
                                        lc_conversation_id(c),
                                        (int)lc_conversation_status(c),
                                        (unsigned long long)
                                            lc_conversation_line(c)),
                         LC_OK);
        for (i = 0; i < n; i++) {
            const lc_turn *t = lc_conversation_turn(c, i);
            assert_int_equal(
                lci_buf_printf(o,
                               " turn %u role %d speaker [%s] flags %u "
                               "words %u at %llu:%llu+%llu hash %016llx\n"
                               "  text [",
                               (unsigned)t->index, (int)t->role,
                               t->speaker ? t->speaker : "(null)",
                               t->flags, (unsigned)t->words,
                               (unsigned long long)t->line,
                               (unsigned long long)t->column,
                               (unsigned long long)t->offset,
                               (unsigned long long)t->hash),
                LC_OK);
            /* the bytes, NULs included */
            assert_int_equal(lci_buf_append(o, t->text, t->text_len), LC_OK);
            put(o, "]\n  norm [");
            assert_int_equal(lci_buf_append(o, t->norm, t->norm_len), LC_OK);
            put(o, "]\n");
        }
        n = lc_conversation_diag_count(c);
        for (i = 0; i < n; i++) {
            const lc_error *e = lc_conversation_diag(c, i);
            assert_int_equal(
                lci_buf_printf(o, " diag %d %d %s %llu:%llu+%llu turn %lld %s\n",
                               (int)e->status, (int)e->severity, e->code,
                               (unsigned long long)e->line,
                               (unsigned long long)e->column,
                               (unsigned long long)e->offset,
                               (long long)e->turn, e->message),
                LC_OK);
        }
        lc_conversation_free(c);
    }
}

/* Read data with the fast path on or off into o; count what it took. */
static lc_format read_format = LC_FORMAT_JSONL_CONV;

/* Configs by (max_depth, max_turns), made once: making one compiles the
 * built-in patterns, which under valgrind would dominate the test. */
static struct {
    int depth;
    int64_t max_turns;
    lc_config *cfg;
} cfgs[128];
static size_t ncfgs;

static const lc_config *cfg_for(int depth, int64_t max_turns) {
    size_t i;
    for (i = 0; i < ncfgs; i++)
        if (cfgs[i].depth == depth && cfgs[i].max_turns == max_turns)
            return cfgs[i].cfg;
    assert_true(ncfgs < sizeof cfgs / sizeof cfgs[0]);
    assert_int_equal(lc_config_new(NULL, &cfgs[ncfgs].cfg), LC_OK);
    assert_int_equal(lc_config_set(cfgs[ncfgs].cfg, LC_OPT_MAX_DEPTH, depth),
                     LC_OK);
    assert_int_equal(
        lc_config_set(cfgs[ncfgs].cfg, LC_OPT_MAX_TURNS, max_turns), LC_OK);
    cfgs[ncfgs].depth = depth;
    cfgs[ncfgs].max_turns = max_turns;
    return cfgs[ncfgs++].cfg;
}

static int free_cfgs(void **state) {
    (void)state;
    while (ncfgs)
        lc_config_free(cfgs[--ncfgs].cfg);
    return 0;
}

static void read_with(const lc_config *cfg, int fast, const char *data,
                      size_t len, lci_buf *o, size_t *taken,
                      size_t *declined) {
    lc_reader *r = NULL;
    size_t t, d;
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_set_format(r, read_format), LC_OK);
    lci_json_set_fast(lci_reader_json(r), fast);
    assert_int_equal(lc_reader_feed(r, data, len), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    dump(r, o);
    lci_json_fast_counts(lci_reader_json(r), &t, &d);
    *taken += t;
    *declined += d;
    lc_reader_free(r);
}

/* Read data with the fast path on (into a; its counts into *taken,
 * *declined) and off (into b; *t0, *d0), and fail, naming `what` and
 * showing the input, when what a caller sees differs. */
static void same_both_ways(const lc_config *cfg, const char *data,
                           size_t len, lci_buf *a, lci_buf *b,
                           size_t *taken, size_t *declined, size_t *t0,
                           size_t *d0, const char *what) {
    a->len = b->len = 0;
    read_with(cfg, 1, data, len, a, taken, declined);
    read_with(cfg, 0, data, len, b, t0, d0);
    if (a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
        fail_msg("%s:\n%.*s\nfast:\n%.*s\njson-c:\n%.*s", what, (int)len,
                 data, (int)a->len, a->data, (int)b->len, b->data);
}

static void run(int depth, int64_t max_turns, uint32_t seed, int records,
                size_t *taken, size_t *declined) {
    lc_config *cfg = NULL;
    lci_buf rec, a, b;
    uint32_t x = seed;
    size_t t0 = 0, d0 = 0;
    int i;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_DEPTH, depth), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURNS, max_turns), LC_OK);
    lci_buf_init(&rec, &lci_default_alloc);
    lci_buf_init(&a, &lci_default_alloc);
    lci_buf_init(&b, &lci_default_alloc);
    for (i = 0; i < records; i++) {
        char what[80];
        rec.len = 0;
        record(&rec, &x);
        snprintf(what, sizeof what, "max_depth %d, max_turns %lld, record %d",
                 depth, (long long)max_turns, i);
        same_both_ways(cfg, rec.data, rec.len, &a, &b, taken, declined, &t0,
                       &d0, what);
    }
    assert_int_equal(t0, 0); /* off means off */
    lci_buf_free(&rec);
    lci_buf_free(&a);
    lci_buf_free(&b);
    lc_config_free(cfg);
}

static void test_fast_equals_json_c(void **state) {
    size_t taken = 0, declined = 0;
    (void)state;
    run(64, 1000000, 0x9E3779B9u, 6000, &taken, &declined);
    /* format detection looks at the first record with the scan too */
    read_format = LC_FORMAT_AUTO;
    run(64, 1000000, 0x5EED5u, 2000, &taken, &declined);
    read_format = LC_FORMAT_JSONL_CONV;
    print_message("# max_depth 64: %zu records taken, %zu declined\n",
                  taken, declined);
    /* each side must be exercised for the comparison to mean much */
    assert_true(taken > 1500);
    assert_true(declined > 1500);
}

/* Nesting around the limit: the least allowed max_depth (4) up; tool
 * calls sit at level 7, "meta" values go deeper. */
static void test_fast_depth_limits(void **state) {
    size_t taken = 0, declined = 0;
    int d;
    (void)state;
    for (d = 4; d <= 10; d++)
        run(d, 1000000, 0x1234567u + (uint32_t)d, 1500, &taken, &declined);
    print_message("# max_depth 4..10: %zu records taken, %zu declined\n",
                  taken, declined);
    assert_true(taken > 1000);
}

/* More messages than max_turns: json-c's path words the error. */
static void test_fast_max_turns(void **state) {
    size_t taken = 0, declined = 0;
    (void)state;
    run(64, 3, 0xC0FFEEu, 2000, &taken, &declined);
    assert_true(taken > 300);
    assert_true(declined > 300);
}

/* jsonl-turns: runs of lines, the key changing now and then (a bad line
 * in a run makes its own failed conversation, max_turns absorbs). */
static void test_fast_turns(void **state) {
    lci_buf in, a, b;
    uint32_t x = 0xBADC0DEu;
    size_t taken = 0, declined = 0, t0 = 0, d0 = 0;
    int i, k;
    (void)state;
    read_format = LC_FORMAT_JSONL_TURN;
    lci_buf_init(&in, &lci_default_alloc);
    lci_buf_init(&a, &lci_default_alloc);
    lci_buf_init(&b, &lci_default_alloc);
    for (i = 0; i < 1500; i++) {
        int depth = i % 3 ? 64 : 4 + i % 7;
        const lc_config *cfg = cfg_for(depth, i % 5 ? 1000000 : 3);
        char what[64];
        /* every fourth input detected, not forced */
        read_format = i % 4 ? LC_FORMAT_JSONL_TURN : LC_FORMAT_AUTO;
        in.len = 0;
        for (k = 0; k < 1 + (int)(rnd(&x) % 8); k++) {
            turn_line(&in, &x);
            put(&in, "\n");
        }
        snprintf(what, sizeof what, "jsonl-turns, max_depth %d, input %d",
                 depth, i);
        same_both_ways(cfg, in.data, in.len, &a, &b, &taken, &declined, &t0,
                       &d0, what);
    }
    read_format = LC_FORMAT_JSONL_CONV;
    print_message("# jsonl-turns: %zu lines taken, %zu declined\n", taken,
                  declined);
    assert_int_equal(t0, 0);
    assert_true(taken > 1500);
    assert_true(declined > 1500);
    lci_buf_free(&in);
    lci_buf_free(&a);
    lci_buf_free(&b);
}

/* JSON documents: arrays of records (one line or several, minified or
 * not), sequences of objects, bare message arrays; elements that start
 * and end on one line take the fast path. */
static void test_fast_documents(void **state) {
    static const char *const seps[] = {",", ", ", ",\n", "\n,", " ,\n  "};
    lci_buf in, a, b;
    uint32_t x = 0xD0C5u;
    size_t taken = 0, declined = 0, t0 = 0, d0 = 0;
    int i, k, n;
    (void)state;
    read_format = LC_FORMAT_JSON;
    lci_buf_init(&in, &lci_default_alloc);
    lci_buf_init(&a, &lci_default_alloc);
    lci_buf_init(&b, &lci_default_alloc);
    for (i = 0; i < 1200; i++) {
        int shape = (int)(rnd(&x) % 4);
        const lc_config *cfg = cfg_for(i % 3 ? 64 : 4 + i % 7, 1000000);
        char what[32];
        in.len = 0;
        n = 1 + (int)(rnd(&x) % 5);
        if (shape == 3) { /* a bare array of messages */
            put(&in, "[");
            for (k = 0; k < n; k++) {
                if (k)
                    put(&in, PICK(&x, seps));
                rare = rnd(&x) % 2;
                message(&in, &x, 0);
            }
            put(&in, "]\n");
        } else {
            if (shape != 1)
                put(&in, rnd(&x) % 2 ? "[" : "[\n");
            for (k = 0; k < (shape == 2 ? 1 : n); k++) {
                if (k)
                    put(&in, shape == 1 ? "\n" : PICK(&x, seps));
                record(&in, &x);
            }
            if (shape != 1)
                put(&in, rnd(&x) % 2 ? "]" : "\n]\n");
        }
        snprintf(what, sizeof what, "json, input %d", i);
        same_both_ways(cfg, in.data, in.len, &a, &b, &taken, &declined, &t0,
                       &d0, what);
    }
    read_format = LC_FORMAT_JSONL_CONV;
    print_message("# json documents: %zu elements taken, %zu declined\n",
                  taken, declined);
    assert_int_equal(t0, 0);
    assert_true(taken > 400); /* after a syntax error the rest is skipped */
    lci_buf_free(&in);
    lci_buf_free(&a);
    lci_buf_free(&b);
}

/* Records the fast path must take, and what it makes of them. */
static void test_fast_takes(void **state) {
    static const char *const yes[] = {
        ("{\"id\": \"a\", \"messages\": [{\"role\": \"user\", \"content\": "
         "\"hi\"}]}"),
        ("{\"messages\":[{\"role\":\"assistant\",\"content\":null,"
         "\"tool_calls\":[{\"id\":\"c\",\"type\":\"function\",\"function\":"
         "{\"name\":\"ls\",\"arguments\":\"{\\\"d\\\": 1}\"}}]}]}"),
        ("{\"id\": 42, \"conversations\": [{\"from\": \"human\", \"value\": "
         "\"caf\\u00e9 \\ud83d\\ude00\"}], \"meta\": {\"x\": [1, 2.5e3]}}"),
        " {\"id\":null,\"messages\":[{\"role\":\"user\",\"content\":\"\\t\"}]} ",
        ("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": "
         "\"text\", \"text\": \"a\"}, \"b\", {\"text\": \"\"}, \"c\"]}]}"),
    };
    static const char *const no[] = {
        "{\"id\": -0, \"messages\": [{\"role\": \"user\", \"content\": \"\"}]}",
        "{\"id\": \"a\", \"id\": \"b\", \"messages\": [{\"role\": \"user\"}]}",
        "{\"messages\": [{\"role\": \"narrator\", \"content\": \"x\"}]}",
        "{\"messages\": [{\"role\": \"user\", \"content\": \"\\u0000\"}]}",
        ("{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": "
         "\"image_url\", \"image_url\": {\"url\": \"x\"}}]}]}"),
        "{\"messages\": []}",
        "{\"messages\": [{\"role\": \"user\", \"content\": NaN}]}",
    };
    lc_config *cfg = NULL;
    lci_buf o;
    size_t i, t, d;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    lci_buf_init(&o, &lci_default_alloc);
    for (i = 0; i < sizeof yes / sizeof *yes; i++) {
        t = d = 0;
        read_with(cfg, 1, yes[i], strlen(yes[i]), &o, &t, &d);
        if (t != 1)
            fail_msg("declined: %s", yes[i]);
    }
    for (i = 0; i < sizeof no / sizeof *no; i++) {
        t = d = 0;
        read_with(cfg, 1, no[i], strlen(no[i]), &o, &t, &d);
        if (d != 1)
            fail_msg("taken: %s", no[i]);
    }
    o.len = 0;
    t = d = 0;
    read_with(cfg, 1, yes[2], strlen(yes[2]), &o, &t, &d);
    assert_non_null(o.data);
    assert_non_null(strstr(o.data, "conv 42 st 0"));
    assert_non_null(strstr(o.data, "text [caf\xc3\xa9 \xf0\x9f\x98\x80]"));
    o.len = 0;
    read_with(cfg, 1, yes[1], strlen(yes[1]), &o, &t, &d);
    assert_non_null(strstr(o.data, "text [tool_call ls {\"d\":1}]"));
    o.len = 0;
    read_with(cfg, 1, yes[4], strlen(yes[4]), &o, &t, &d);
    assert_non_null(strstr(o.data, "text [a\nb\n\nc]"));
    lci_buf_free(&o);
    lc_config_free(cfg);
}

/* An allocator that knows its live bytes: a size before each block. */
static size_t sized_live;

static void *sized_malloc(void *ctx, size_t n) {
    size_t *p = malloc(sizeof(size_t) + n);
    (void)ctx;
    if (!p)
        return NULL;
    *p = n;
    sized_live += n;
    return p + 1;
}

static void sized_free(void *ctx, void *q) {
    size_t *p = q;
    (void)ctx;
    if (!p)
        return;
    sized_live -= p[-1];
    free(p - 1);
}

static void *sized_realloc(void *ctx, void *q, size_t old, size_t n) {
    size_t *p = q ? (size_t *)q - 1 : NULL, *np;
    (void)ctx;
    (void)old;
    np = realloc(p, sizeof(size_t) + n);
    if (!np)
        return NULL;
    sized_live = sized_live - (p ? np[0] : 0) + n;
    *np = n;
    return np + 1;
}

/* A declined record of many messages (the scan's arrays grew for them
 * before its last message was found wanting) leaves no big arrays
 * behind: json-c's tree and the turns come on top of them, and the
 * reader would hold them until a record is taken. */
static void test_fast_declined_keeps_no_arrays(void **state) {
    static const lc_allocator al = {sized_malloc, sized_realloc, sized_free,
                                    NULL};
    lc_config *cfg = NULL;
    lc_reader *r = NULL;
    lc_conversation *c;
    lci_buf rec;
    size_t i, before, t, d;
    (void)state;
    lci_buf_init(&rec, &lci_default_alloc);
    put(&rec, "{\"messages\": [");
    for (i = 0; i < 20000; i++)
        put(&rec, "{\"role\": \"user\", \"content\": \"hi\"},");
    put(&rec, "{\"role\": \"narrator\", \"content\": \"x\"}]}\n");
    assert_int_equal(lc_config_new(&al, &cfg), LC_OK);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_set_format(r, LC_FORMAT_JSONL_CONV), LC_OK);
    before = sized_live;
    assert_int_equal(lc_reader_feed(r, rec.data, rec.len), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    while (lc_reader_next(r, &c) == LC_OK && c) {
        assert_int_equal(lc_conversation_turn_count(c), 20001);
        lc_conversation_free(c);
    }
    lci_json_fast_counts(lci_reader_json(r), &t, &d);
    assert_int_equal(t, 0);
    assert_int_equal(d, 1);
    if (sized_live > before + ((size_t)1 << 20))
        fail_msg("the reader kept %zu bytes after a declined record",
                 sized_live - before);
    lc_reader_free(r);
    lc_config_free(cfg);
    lci_buf_free(&rec);
}

/* Hand-picked records at the edges of what the fast path takes (found
 * taken and equal by an outside differential run; kept as a guard):
 * bytes json-c keeps as they are, escapes of noncharacters and the last
 * surrogate pair, the longest integer id, numbers json-c reads as inf
 * or 0, an empty tool_calls or parts list, and nesting one level short
 * of the scan's limit for each max_depth from 5 (at 4, a role is one
 * level too deep for the scan). Each must be taken, and read as
 * json-c's path reads it. */
static void test_fast_edge_records(void **state) {
    static const char *const recs[] = {
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\x7f" "b\xff\xfe"
        "\xe2\x80\xa8\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\uFFFF\\u0080"
        "\\uFEFF\\uDBFF\\uDFFF\\uFDD0\"}]}",
        "{\"id\":-123456789012345678,\"messages\":[{\"role\":\"user\","
        "\"content\":\"x\"}]}",
        "{\"meta\":[1e999,-0,0.0000e-000,-1E+999,5e-324],\"messages\":"
        "[{\"role\":\"user\",\"content\":\"x\"}]}",
        "{\"messages\":[{\"role\":\"AsSiStAnT\",\"content\":\"x\","
        "\"tool_calls\":[]}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":[]}]}",
        "{\"messages\":[{\"role\":\"user\"}]}",
        "{\"messages\":[{\"role\":\"user\",\"content\":\"\\\\\\\\\\\"\\/\"}]}",
        "{\"messages\":[{\"from\":\"gpt\",\"value\":null}],\"id\":\"\"}",
        "{\"messages\":[{\"role\":\"assistant\",\"content\":\"x\","
        "\"tool_calls\":[{\"function\":{\"name\":\"f\\u00e9\",\"arguments\":"
        "\"\\u007b\\\"a\\\":1}\"}}]}]}",
    };
    const lc_config *cfg;
    lci_buf a, b, rec;
    size_t i, t, d, t0 = 0, d0 = 0;
    int depth, k;
    char what[32];
    (void)state;
    lci_buf_init(&a, &lci_default_alloc);
    lci_buf_init(&b, &lci_default_alloc);
    lci_buf_init(&rec, &lci_default_alloc);
    for (depth = 5; depth <= 70; depth++) {
        size_t nrec = sizeof recs / sizeof *recs + 1;
        cfg = cfg_for(depth, 1000000);
        for (i = 0; i < nrec; i++) {
            rec.len = 0;
            if (i < nrec - 1) {
                if (depth < 8) /* tool calls sit at level 7 */
                    continue;
                put(&rec, recs[i]);
            } else {
                /* "meta" at level 2, its innermost value at depth - 1
                 * (at most 64, the scan's own limit) */
                put(&rec, "{\"messages\":[{\"role\":\"user\"}],\"meta\":");
                for (k = 2; k < depth - 1 && k < 64; k++)
                    put(&rec, k % 2 ? "[" : "{\"k\":");
                put(&rec, "1");
                for (k--; k >= 2; k--)
                    put(&rec, k % 2 ? "]" : "}");
                put(&rec, "}");
            }
            t = d = 0;
            snprintf(what, sizeof what, "max_depth %d", depth);
            same_both_ways(cfg, rec.data, rec.len, &a, &b, &t, &d, &t0, &d0,
                           what);
            if (t != 1)
                fail_msg("max_depth %d: declined: %.*s", depth, (int)rec.len,
                         rec.data);
        }
    }
    lci_buf_free(&a);
    lci_buf_free(&b);
    lci_buf_free(&rec);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fast_takes),
        cmocka_unit_test(test_fast_equals_json_c),
        cmocka_unit_test(test_fast_depth_limits),
        cmocka_unit_test(test_fast_max_turns),
        cmocka_unit_test(test_fast_turns),
        cmocka_unit_test(test_fast_documents),
        cmocka_unit_test(test_fast_declined_keeps_no_arrays),
        cmocka_unit_test(test_fast_edge_records),
    };
    return cmocka_run_group_tests(tests, NULL, free_cfgs);
}
