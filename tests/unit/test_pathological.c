/*
 * test_pathological.c - hostile and broken input through the public API:
 * no crash, no hang, bounded memory, every problem reported at an exact
 * position, the conversations around it still analysed, and the counts
 * reconciling (read = analysed + failed).
 *
 * Fixture cases: fixtures/pathological/<case>.<ext> with
 * <case>.expected, the outcome rendered by outcome() below:
 *
 *     options max_depth=4                (optional, first line)
 *     conv <n> <id> line <l> <format> <status code> turns <t>
 *       <source>:<line>:<col>: error|warning: <message> [LC-Ennn] @<offset> turn <k>
 *       turn <i> <role> <XXH3 of the normalized text> <bytes>B at <line>:<col>
 *     summary read <r> analysed <a> failed <f>
 *
 * Each case runs with the whole buffer, with 1-, 3- and 4096-byte chunks
 * and with deferred parsing; every run must render identically. Pattern files (*.lcp) go
 * through lc_config_add_patterns instead and render one line:
 *     patterns <status code> <source>:<line>:<col>: <message>
 * Regenerate with LC_FIXTURES_UPDATE=1 and REVIEW the diff.
 *
 * Generated cases (built in memory, never committed): JSON nested 10,000
 * deep (JSONL, JSON document, and tool-call arguments under
 * max_depth=10000), a session pushed past a million turns with bounded
 * memory, and with `--slow` (meson suite 'slow'): a 100 MB single line
 * and a million-turn conversation through the reader, and a 100,000-turn
 * stalled conversation and a minified 100,000-conversation JSON
 * document that must be handled in linear time.
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
#include <sys/resource.h>
#include <time.h>

#include "loopcheck.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static void sb_repeat(tu_buf *b, const char *s, size_t times) {
    size_t n = strlen(s), i;
    for (i = 0; i < times; i++)
        tu_buf_add(b, s, n);
}

static long max_rss_kb(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* One diagnostic in the CLI's message form, plus offset and turn. */
static void render_diag(tu_buf *o, const lc_error *e) {
    tu_buf_printf(
        o, "  %s:%llu:%llu: %s: %s [%s] @%llu turn %lld\n", e->source,
        (unsigned long long)e->line, (unsigned long long)e->column,
        e->severity == LC_SEVERITY_ERROR ? "error" : "warning", e->message,
        e->code, (unsigned long long)e->offset, (long long)e->turn);
}

static int write_nothing(const char *d, size_t n, void *ud) {
    (void)d;
    (void)n;
    (void)ud;
    return 0;
}

/* Read `len` bytes in `chunk`-byte pieces (0 = whole), analyse every
 * conversation, render the outcome. */
static void outcome(lc_config *cfg, const char *source, const char *data,
                    size_t len, size_t chunk, int defer, tu_buf *o) {
    lc_reader *r = NULL;
    lc_summary *sum = NULL;
    lc_conversation *c = NULL;
    size_t off = 0, nconv = 0, nfailed = 0;
    int finished = 0;
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_summary_new(cfg, &sum), LC_OK);
    assert_int_equal(lc_reader_set_source(r, source, strlen(source)), LC_OK);
    if (chunk == 0)
        chunk = len ? len : 1;
    for (;;) {
        lc_status st;
        if (!finished) {
            size_t n = len - off < chunk ? len - off : chunk;
            assert_int_equal(lc_reader_feed(r, data + off, n), LC_OK);
            off += n;
            if (off == len) {
                assert_int_equal(lc_reader_finish(r), LC_OK);
                finished = 1;
            }
        }
        while ((st = lc_reader_next(r, &c)) == LC_OK) {
            lc_report *rep = NULL;
            size_t i, nd;
            if (defer)
                assert_int_equal(lc_conversation_parse(c), LC_OK);
            nd = lc_conversation_diag_count(c);
            nconv++;
            tu_buf_printf(o, "conv %zu %s line %llu %s %s turns %zu\n", nconv,
                          lc_conversation_id(c),
                          (unsigned long long)lc_conversation_line(c),
                          lc_format_name(lc_conversation_format(c)),
                          lc_status_code(lc_conversation_status(c)),
                          lc_conversation_turn_count(c));
            for (i = 0; i < nd; i++)
                render_diag(o, lc_conversation_diag(c, i));
            for (i = 0; i < lc_conversation_turn_count(c); i++) {
                const lc_turn *t = lc_conversation_turn(c, i);
                tu_buf_printf(o, "  turn %u %s %016llx %zuB at %llu:%llu\n",
                              t->index, lc_role_name(t->role),
                              (unsigned long long)t->hash, t->text_len,
                              (unsigned long long)t->line,
                              (unsigned long long)t->column);
            }
            if (lc_conversation_status(c) != LC_OK) {
                const lc_error *e = lc_conversation_diag(c, 0);
                nfailed++;
                /* a failed conversation always says where and why */
                assert_non_null(e);
                assert_int_equal(e->severity, LC_SEVERITY_ERROR);
                assert_int_equal(e->status, lc_conversation_status(c));
                assert_true(e->line >= 1);
                assert_true(e->column >= 1);
            }
            assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_OK);
            assert_int_equal(lc_report_write(rep, LC_OUTPUT_JSON, 0,
                                             write_nothing, NULL),
                             LC_OK);
            assert_int_equal(lc_summary_add(sum, rep), LC_OK);
            lc_report_free(rep);
            lc_conversation_free(c);
        }
        if (st == LC_END)
            break;
        assert_int_equal(st, LC_NEED_INPUT);
        assert_false(finished);
    }
    tu_buf_printf(o, "summary read %llu analysed %llu failed %llu\n",
                  (unsigned long long)lc_summary_read(sum),
                  (unsigned long long)lc_summary_analysed(sum),
                  (unsigned long long)lc_summary_failed(sum));
    assert_int_equal(lc_summary_read(sum), nconv);
    assert_int_equal(lc_summary_read(sum),
                     lc_summary_analysed(sum) + lc_summary_failed(sum));
    assert_true(lc_summary_failed(sum) >= nfailed);
    lc_summary_free(sum);
    lc_reader_free(r);
}

/* "options k=v k=v" -> lc_config_set */
static void apply_options(lc_config *cfg, const char *line) {
    char buf[256], *tok, *save = NULL;
    snprintf(buf, sizeof buf, "%s", line);
    for (tok = strtok_r(buf, " \n", &save); tok;
         tok = strtok_r(NULL, " \n", &save)) {
        char *eq = strchr(tok, '=');
        lc_opt opt;
        if (!eq)
            continue;
        *eq = '\0';
        if (strcmp(tok, "format") == 0) {
            lc_format f;
            assert_int_equal(lc_format_from_name(eq + 1, strlen(eq + 1), &f),
                             LC_OK);
            assert_int_equal(lc_config_set(cfg, LC_OPT_FORMAT, f), LC_OK);
            continue;
        }
        assert_int_equal(lc_opt_from_name(tok, strlen(tok), &opt), LC_OK);
        assert_int_equal(lc_config_set(cfg, opt, strtoll(eq + 1, NULL, 10)),
                         LC_OK);
    }
}

/* ------------------------------------------------------------------ */
/* Fixture cases                                                        */
/* ------------------------------------------------------------------ */

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static void run_case(const char *dir, const char *name, int update) {
    char path[8192], exp_path[8192], stem[1024];
    char *data, *expected, *dot;
    size_t len, elen = 0;
    const char *options = NULL;
    tu_buf want = {NULL, 0, 0}, got = {NULL, 0, 0};
    /* whole buffer, 1-, 3- and 4096-byte chunks, then whole buffer with
     * deferred parsing (LC_OPT_DEFER_PARSE = 2 + lc_conversation_parse) */
    static const size_t chunks[] = {0, 1, 3, 4096, 0};
    size_t k;

    snprintf(path, sizeof path, "%.4000s/%.1000s", dir, name);
    snprintf(stem, sizeof stem, "%.1000s", name);
    dot = strrchr(stem, '.');
    if (dot)
        *dot = '\0';
    snprintf(exp_path, sizeof exp_path, "%.4000s/%.1000s.expected", dir,
             stem);
    data = tu_slurp(path, &len);
    assert_non_null(data);
    expected = tu_slurp(exp_path, &elen);
    if (expected && strncmp(expected, "options ", 8) == 0) {
        char *nl = strchr(expected, '\n');
        options = expected;
        tu_buf_add(&want, expected, nl ? (size_t)(nl + 1 - expected) : elen);
    }

    for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        lc_config *cfg = NULL;
        tu_buf o = {NULL, 0, 0};
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        if (options)
            apply_options(cfg, options + 8);
        if (k == 4)
            assert_int_equal(lc_config_set(cfg, LC_OPT_DEFER_PARSE, 2),
                             LC_OK);
        if (has_suffix(name, ".lcp")) {
            lc_status st = lc_config_add_patterns(cfg, name, data, len);
            const lc_error *e = lc_config_error(cfg);
            tu_buf_printf(&o, "patterns %s", lc_status_code(st));
            if (e)
                tu_buf_printf(&o, " %s:%llu:%llu: %s", e->source,
                              (unsigned long long)e->line,
                              (unsigned long long)e->column, e->message);
            tu_buf_printf(&o, "\n");
            if (st != LC_OK) {
                /* the config still works, with the built-in patterns */
                assert_non_null(e);
                assert_true(e->line >= 1 && e->column >= 1);
                assert_true(lc_config_pattern_count(cfg) > 0);
            }
        } else {
            outcome(cfg, name, data, len, chunks[k], k == 4, &o);
        }
        lc_config_free(cfg);
        if (k == 0) {
            tu_buf_add(&got, o.data, o.len);
        } else if (strcmp(o.data, got.data) != 0) {
            fail_msg("%s: %s give\n%s\nwhole buffer gives\n%s", name,
                     k == 4 ? "deferred parsing" : "chunks", o.data,
                     got.data);
        }
        free(o.data);
        if (has_suffix(name, ".lcp"))
            break;
    }
    if (update) {
        FILE *f = fopen(exp_path, "wb");
        assert_non_null(f);
        if (want.len)
            fwrite(want.data, 1, want.len, f);
        fwrite(got.data, 1, got.len, f);
        fclose(f);
    } else {
        tu_buf full = {NULL, 0, 0};
        if (!expected)
            fail_msg("%s: missing %s (run with LC_FIXTURES_UPDATE=1)", name,
                     exp_path);
        tu_buf_add(&full, want.data ? want.data : "", want.len);
        tu_buf_add(&full, got.data, got.len);
        if (strcmp(full.data, expected) != 0)
            fail_msg("%s: outcome differs from %s\n--- got:\n%s--- "
                     "expected:\n%s",
                     name, exp_path, full.data, expected);
        free(full.data);
    }
    free(want.data);
    free(got.data);
    free(expected);
    free(data);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_fixtures(void **state) {
    char dir[4096];
    DIR *d;
    struct dirent *de;
    char *names[512];
    size_t n = 0, i;
    int update = getenv("LC_FIXTURES_UPDATE") != NULL;
    (void)state;
    snprintf(dir, sizeof dir, "%.4000s/pathological", tu_fixtures_dir());
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) != NULL && n < 512) {
        if (de->d_name[0] == '.' || has_suffix(de->d_name, ".expected") ||
            has_suffix(de->d_name, ".md"))
            continue;
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp_str);
    assert_true(n >= 15);
    for (i = 0; i < n; i++) {
        print_message("# case %s\n", names[i]);
        run_case(dir, names[i], update);
        free(names[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Generated: deep nesting                                              */
/* ------------------------------------------------------------------ */

static const char good_line[] =
    "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":\"hello\"}]}\n";

/* Openers ('{' or '[') outside strings in p[0..n). */
static size_t openers(const char *p, size_t n) {
    size_t i, k = 0;
    int in_str = 0;
    for (i = 0; i < n; i++) {
        if (in_str) {
            if (p[i] == '\\')
                i++;
            else if (p[i] == '"')
                in_str = 0;
        } else if (p[i] == '"') {
            in_str = 1;
        } else if (p[i] == '{' || p[i] == '[') {
            k++;
        }
    }
    return k;
}

/* Read buf with cfg; return the single failed conversation's error
 * (copied) and check the others were analysed. */
typedef struct deep_result {
    size_t nconv, nfailed;
    lc_status st;
    uint64_t line, col, off;
} deep_result;

static void read_all(lc_config *cfg, const char *src, const char *buf,
                     size_t len, deep_result *res) {
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    memset(res, 0, sizeof *res);
    r = tu_reader_over(cfg, src, buf, len);
    while (lc_reader_next(r, &c) == LC_OK) {
        lc_report *rep = NULL;
        res->nconv++;
        if (lc_conversation_status(c) != LC_OK) {
            const lc_error *e = lc_conversation_diag(c, 0);
            assert_non_null(e);
            res->nfailed++;
            res->st = e->status;
            res->line = e->line;
            res->col = e->column;
            res->off = e->offset;
        }
        assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_OK);
        lc_report_free(rep);
        lc_conversation_free(c);
    }
    lc_reader_free(r);
}

static void test_deep_nesting_jsonl(void **state) {
    tu_buf b = {NULL, 0, 0};
    lc_config *cfg = NULL;
    deep_result res;
    size_t line2, depth;
    (void)state;
    tu_buf_add(&b, good_line, strlen(good_line));
    line2 = b.len;
    tu_buf_printf(&b, "{\"messages\":[{\"role\":\"user\",\"content\":");
    sb_repeat(&b, "[", 10000);
    sb_repeat(&b, "]", 10000);
    tu_buf_printf(&b, "}]}\n");
    tu_buf_add(&b, good_line, strlen(good_line));
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    read_all(cfg, "deep.jsonl", b.data, b.len, &res);
    assert_int_equal(res.nconv, 3);
    assert_int_equal(res.nfailed, 1);
    assert_int_equal(res.st, LC_ERR_LIMIT);
    assert_int_equal(res.line, 2);
    /* the error points at the opener that went one level past the
     * default max_depth (64), on line 2 */
    assert_true(res.off > line2 && res.off < b.len);
    assert_int_equal(b.data[res.off], '[');
    assert_int_equal(res.col, res.off - line2 + 1);
    depth = openers(b.data + line2, (size_t)(res.off - line2) + 1);
    print_message("# depth error at 2:%llu, opener #%zu\n",
                  (unsigned long long)res.col, depth);
    assert_int_equal(depth, 65);
    lc_config_free(cfg);
    free(b.data);
}

static void test_deep_nesting_json_document(void **state) {
    tu_buf b = {NULL, 0, 0};
    lc_config *cfg = NULL;
    deep_result res;
    (void)state;
    tu_buf_printf(&b, "[\n");
    tu_buf_add(&b, good_line, strlen(good_line) - 1);
    tu_buf_printf(&b, ",\n{\"messages\":[{\"role\":\"user\",\"content\":");
    sb_repeat(&b, "{\"a\":", 10000);
    tu_buf_printf(&b, "1");
    sb_repeat(&b, "}", 10000);
    tu_buf_printf(&b, "}]}\n]\n");
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    read_all(cfg, "deep.json", b.data, b.len, &res);
    assert_true(res.nconv >= 1);
    assert_true(res.nfailed >= 1);
    assert_int_equal(res.st, LC_ERR_LIMIT);
    assert_int_equal(res.line, 3);
    assert_int_equal(b.data[res.off], '{');
    lc_config_free(cfg);
    free(b.data);
}

/* At the maximum max_depth (10,000) a 9,990-deep value parses: nothing
 * may recurse per level on the C stack beyond what the limit allows
 * (json-c's tree, tool-call canonicalization, freeing). */
static void test_deep_nesting_at_max_depth(void **state) {
    tu_buf b = {NULL, 0, 0};
    lc_config *cfg = NULL;
    deep_result res;
    int64_t mx;
    (void)state;
    assert_int_equal(lc_opt_bounds(LC_OPT_MAX_DEPTH, NULL, &mx, NULL),
                     LC_OK);
    assert_int_equal(mx, 10000);
    tu_buf_printf(&b,
                  "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},"
                  "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":"
                  "[{\"type\":\"function\",\"function\":{\"name\":\"f\","
                  "\"arguments\":");
    sb_repeat(&b, "{\"k\":", 9980);
    tu_buf_printf(&b, "[]");
    sb_repeat(&b, "}", 9980);
    tu_buf_printf(&b, "}}]}]}\n");
    tu_buf_printf(&b, "{\"messages\":[{\"role\":\"user\",\"content\":");
    sb_repeat(&b, "[", 9990);
    sb_repeat(&b, "]", 9990);
    tu_buf_printf(&b, "}]}\n");
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_DEPTH, mx), LC_OK);
    read_all(cfg, "deep-max.jsonl", b.data, b.len, &res);
    assert_int_equal(res.nconv, 2);
    /* no crash is the point; whatever failed, failed with a position */
    if (res.nfailed)
        assert_true(res.line >= 1 && res.col >= 1);
    lc_config_free(cfg);
    free(b.data);
}

/* ------------------------------------------------------------------ */
/* Generated: a million turns                                           */
/* ------------------------------------------------------------------ */

/* Live: memory is bounded by the history window, not the conversation;
 * turn 1,000,001 is refused with LC_ERR_LIMIT. */
static void test_million_turns_session(void **state) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    const lc_finding *f;
    int64_t max_turns;
    long rss0, rss1;
    double t0 = now_s();
    char text[128];
    uint32_t i;
    size_t events = 0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_get(cfg, LC_OPT_MAX_TURNS, &max_turns), LC_OK);
    assert_int_equal(max_turns, 1000000);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    rss0 = max_rss_kb();
    for (i = 0; i < (uint32_t)max_turns; i++) {
        int n;
        if (i % 10 == 9)
            n = snprintf(text, sizeof text, "ok");
        else
            n = snprintf(text, sizeof text, "message %u about topic %u",
                         i, i % 977);
        assert_int_equal(lc_session_push(s, i % 2 ? LC_ROLE_ASSISTANT
                                                  : LC_ROLE_USER,
                                         NULL, 0, text, (size_t)n),
                         LC_OK);
        while (lc_session_next_finding(s, &f) == LC_OK)
            events++;
    }
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, "x", 1),
                     LC_ERR_LIMIT);
    assert_non_null(lc_session_error(s));
    assert_int_equal(lc_session_error(s)->status, LC_ERR_LIMIT);
    assert_int_equal(lc_session_finish(s), LC_OK);
    rss1 = max_rss_kb();
    print_message("# 1,000,000 turns pushed in %.1f s, %zu finding events, "
                  "%zu findings, max RSS +%ld KiB\n",
                  now_s() - t0, events, lc_session_finding_count(s),
                  rss1 - rss0);
    /* 512 turns of history; findings' turn lists are the only growth */
    assert_true(rss1 - rss0 < 128 * 1024);
    lc_session_free(s);
    lc_config_free(cfg);
}

/* Reader: one conversation of 1,000,001 turns (JSONL, one turn per
 * line) fails with LC_ERR_LIMIT at the turn past max_turns; the
 * conversation after it is still read. Slow (~60 MB of input). */
static void test_million_turns_reader(void **state) {
    tu_buf b = {NULL, 0, 0};
    lc_config *cfg = NULL;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    size_t i, nconv = 0;
    double t0 = now_s();
    long rss0 = max_rss_kb();
    (void)state;
    for (i = 0; i < 1000001; i++)
        tu_buf_printf(&b,
                      "{\"conversation_id\":\"big\",\"role\":\"%s\","
                      "\"content\":\"turn %zu\"}\n",
                      i % 2 ? "assistant" : "user", i);
    tu_buf_printf(&b, "{\"conversation_id\":\"small\",\"role\":\"user\","
                      "\"content\":\"after\"}\n");
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, "million.jsonl", b.data, b.len);
    while (lc_reader_next(r, &c) == LC_OK) {
        nconv++;
        if (nconv == 1) {
            const lc_error *e = lc_conversation_diag(c, 0);
            assert_string_equal(lc_conversation_id(c), "big");
            assert_int_equal(lc_conversation_status(c), LC_ERR_LIMIT);
            assert_non_null(e);
            assert_string_equal(e->code, "LC-E040");
            assert_int_equal(e->line, 1000001);
            assert_int_equal(e->column, 1);
            print_message("# %s:%llu:%llu: %s [%s]\n", e->source,
                          (unsigned long long)e->line,
                          (unsigned long long)e->column, e->message,
                          e->code);
        } else {
            assert_string_equal(lc_conversation_id(c), "small");
            assert_int_equal(lc_conversation_status(c), LC_OK);
            assert_int_equal(lc_conversation_turn_count(c), 1);
        }
        lc_conversation_free(c);
    }
    assert_int_equal(nconv, 2);
    print_message("# million-turn conversation read in %.1f s, max RSS +%ld "
                  "KiB\n",
                  now_s() - t0, max_rss_kb() - rss0);
    lc_reader_free(r);
    lc_config_free(cfg);
    free(b.data);
}

/* A 100 MB single line: read (default max_line_bytes 256 MiB) with its
 * turn cut at max_turn_bytes (16 MiB, warning); skipped as LC_ERR_LIMIT
 * when max_line_bytes is lower, without buffering it; the next line is
 * read either way, in any chunking. */
static void test_100mb_line(void **state) {
    tu_buf b = {NULL, 0, 0};
    const size_t big = (size_t)100 << 20;
    size_t head, i;
    int pass;
    (void)state;
    tu_buf_printf(&b, "{\"id\":\"huge\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"");
    head = b.len;
    sb_repeat(&b, "", 0);
    {
        char *p;
        if (b.cap < head + big + 1024) {
            p = realloc(b.data, head + big + 1024);
            assert_non_null(p);
            b.data = p;
            b.cap = head + big + 1024;
        }
        for (i = 0; i < big; i++)
            b.data[head + i] = "abcdefg "[i % 8];
        b.len = head + big;
    }
    tu_buf_printf(&b, "\"}]}\n");
    tu_buf_add(&b, good_line, strlen(good_line));
    for (pass = 0; pass < 2; pass++) {
        lc_config *cfg = NULL;
        lc_reader *r = NULL;
        lc_conversation *c = NULL;
        size_t off = 0, nconv = 0;
        double t0 = now_s();
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        if (pass == 1)
            assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_LINE_BYTES,
                                           (int64_t)1 << 20),
                             LC_OK);
        assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
        assert_int_equal(lc_reader_set_source(r, "huge.jsonl", 10), LC_OK);
        while (off < b.len) {
            size_t n = b.len - off < 65536 ? b.len - off : 65536;
            assert_int_equal(lc_reader_feed(r, b.data + off, n), LC_OK);
            off += n;
            while (lc_reader_next(r, &c) == LC_OK) {
                nconv++;
                if (nconv == 1 && pass == 0) {
                    const lc_turn *t = lc_conversation_turn(c, 0);
                    const lc_error *w = lc_conversation_diag(c, 0);
                    lc_report *rep = NULL;
                    assert_int_equal(lc_conversation_status(c), LC_OK);
                    assert_non_null(t);
                    assert_true(t->flags & LC_TURN_TRUNCATED);
                    assert_int_equal(t->text_len, (size_t)16 << 20);
                    assert_non_null(w);
                    assert_int_equal(w->severity, LC_SEVERITY_WARNING);
                    assert_int_equal(w->status, LC_ERR_LIMIT);
                    assert_int_equal(w->line, 1);
                    assert_int_equal(lc_conversation_check(cfg, c, &rep),
                                     LC_OK);
                    assert_int_equal(lc_report_status(rep), LC_OK);
                    lc_report_free(rep);
                } else if (nconv == 1) {
                    const lc_error *e = lc_conversation_diag(c, 0);
                    assert_int_equal(lc_conversation_status(c),
                                     LC_ERR_LIMIT);
                    assert_non_null(e);
                    assert_int_equal(e->line, 1);
                    assert_int_equal(e->column, 1);
                    assert_int_equal(e->offset, 0);
                } else {
                    assert_int_equal(lc_conversation_status(c), LC_OK);
                    assert_int_equal(lc_conversation_line(c), 2);
                }
                lc_conversation_free(c);
            }
        }
        assert_int_equal(lc_reader_finish(r), LC_OK);
        while (lc_reader_next(r, &c) == LC_OK) {
            nconv++;
            assert_int_equal(lc_conversation_status(c), LC_OK);
            lc_conversation_free(c);
        }
        assert_int_equal(nconv, 2);
        print_message("# 100 MB line, max_line_bytes %s: %.1f s\n",
                      pass ? "1 MiB" : "default", now_s() - t0);
        lc_reader_free(r);
        lc_config_free(cfg);
    }
    free(b.data);
}

/* A long stall: every other turn recurs ("ok"), so recurring_turn marks
 * half the turns and stalled_conversation keeps one finding open for the
 * whole conversation, re-adding its window on every turn. This took
 * minutes at 100,000 turns while adding a turn to a finding scanned the
 * finding's whole turn list (quadratic); it must stay linear. */
static void test_long_stall_linear(void **state) {
    tu_buf b = {NULL, 0, 0};
    lc_config *cfg = NULL;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    lc_report *rep = NULL;
    size_t i, k, stalled = 0;
    double t0 = now_s(), dt;
    (void)state;
    for (i = 0; i < 50000; i++)
        tu_buf_printf(&b, "User: question %zu\nAssistant: ok\n", i % 50);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, NULL, b.data, b.len);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_turn_count(c), 100000);
    assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_OK);
    for (k = 0; k < lc_report_finding_count(rep); k++)
        if (lc_report_finding(rep, k)->kind == LC_KIND_STALLED_CONVERSATION)
            stalled++;
    dt = now_s() - t0;
    print_message("# 100,000-turn stall checked in %.1f s (%zu stalled "
                  "findings)\n",
                  dt, stalled);
    assert_true(stalled >= 1);
    /* ~1 s natively; generous for slow CI machines */
    assert_true(dt < 60.0);
    lc_report_free(rep);
    lc_conversation_free(c);
    lc_reader_free(r);
    lc_config_free(cfg);
    free(b.data);
}

/* A minified JSON document (one line) holding 100,000 conversations:
 * positions are computed per element, and must not be rescanned from the
 * start of the line each time (that was quadratic: minutes). */
static void test_minified_json_document_linear(void **state) {
    tu_buf b = {NULL, 0, 0};
    lc_config *cfg = NULL;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    size_t i, n = 0;
    uint64_t last_col = 0;
    double t0 = now_s(), dt;
    (void)state;
    tu_buf_add(&b, "[", 1);
    for (i = 0; i < 100000; i++)
        tu_buf_printf(&b,
                      "%s{\"id\":\"c%zu\",\"messages\":[{\"role\":\"user\","
                      "\"content\":\"q%zu\"},{\"role\":\"assistant\","
                      "\"content\":\"a\"}]}",
                      i ? ", " : "", i, i);
    tu_buf_add(&b, "]", 1);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    r = tu_reader_over(cfg, NULL, b.data, b.len);
    while (lc_reader_next(r, &c) == LC_OK) {
        const lc_turn *t = lc_conversation_turn(c, 0);
        n++;
        assert_int_equal(lc_conversation_status(c), LC_OK);
        assert_non_null(t);
        assert_int_equal(t->line, 1);
        assert_true(t->column > last_col); /* positions keep increasing */
        last_col = t->column;
        lc_conversation_free(c);
    }
    dt = now_s() - t0;
    print_message("# minified 100,000-conversation document read in %.1f s\n",
                  dt);
    assert_int_equal(n, 100000);
    assert_true(dt < 60.0);
    lc_reader_free(r);
    lc_config_free(cfg);
    free(b.data);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixtures),
        cmocka_unit_test(test_deep_nesting_jsonl),
        cmocka_unit_test(test_deep_nesting_json_document),
        cmocka_unit_test(test_deep_nesting_at_max_depth),
    };
    const struct CMUnitTest slow[] = {
        cmocka_unit_test(test_million_turns_session),
        cmocka_unit_test(test_million_turns_reader),
        cmocka_unit_test(test_100mb_line),
        cmocka_unit_test(test_long_stall_linear),
        cmocka_unit_test(test_minified_json_document_linear),
    };
    if (argc > 1 && strcmp(argv[1], "--slow") == 0)
        return cmocka_run_group_tests_name("pathological-slow", slow, NULL,
                                           NULL);
    return cmocka_run_group_tests_name("pathological", tests, NULL, NULL);
}
