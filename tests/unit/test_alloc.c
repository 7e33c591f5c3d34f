/*
 * test_alloc.c - every allocation failure is handled.
 *
 * A counting allocator (lc_allocator with a context) fails exactly the
 * Nth allocation (malloc or realloc). For N = 1, 2, ... until a run sees
 * no failure, a representative workload runs against it: config with
 * options, a speaker mapping and user patterns (one bad file, one good);
 * a reader over each input format (transcript, JSONL, JSONL turns, JSON,
 * with a broken line and invalid UTF-8 so error paths allocate too), fed
 * in two chunks; check; every report writer; a live session; summary;
 * diff. Each run must
 *   - stop with LC_ERR_NOMEM, or finish with LC_OK and produce exactly the
 *     output of the reference run (a swallowed failure that silently
 *     changes results is a bug);
 *   - leave every handle freeable and nothing allocated (live blocks and
 *     bytes back to 0 after the frees);
 *   - pass realloc the true old size and free only live blocks.
 * The allocator keeps a header before every block to check all of this.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "loopcheck.h"
/* tu_buf: output collected outside the allocator under test */
#include "testutil.h"

/* ---- the failing allocator ---- */

#define MAGIC_LIVE 0x11C0FFEEu
#define MAGIC_DEAD 0xDEADBEEFu

typedef union hdr {
    struct {
        size_t size;
        uint32_t magic;
    } h;
    max_align_t align;
} hdr;

typedef struct fail_ctx {
    size_t calls;     /* malloc + realloc calls so far */
    size_t fail_at;   /* fail this call (1-based); 0 = never */
    int failed;       /* the failure was injected */
    size_t live;      /* live blocks */
    size_t bytes;     /* live bytes */
    size_t bad_old;   /* realloc with a wrong old_size */
    size_t bad_free;  /* free of a pointer that is not live */
} fail_ctx;

static int should_fail(fail_ctx *c) {
    c->calls++;
    if (c->fail_at && c->calls == c->fail_at) {
        c->failed = 1;
        return 1;
    }
    return 0;
}

static void *f_malloc(void *ctx, size_t size) {
    fail_ctx *c = ctx;
    hdr *h;
    if (should_fail(c) || size > SIZE_MAX - sizeof(hdr))
        return NULL;
    h = malloc(sizeof(hdr) + size);
    if (!h)
        return NULL;
    h->h.size = size;
    h->h.magic = MAGIC_LIVE;
    c->live++;
    c->bytes += size;
    return h + 1;
}

static void *f_realloc(void *ctx, void *p, size_t old_size, size_t size) {
    fail_ctx *c = ctx;
    hdr *h = (hdr *)p - 1, *nh;
    if (h->h.magic != MAGIC_LIVE) {
        c->bad_free++;
        return NULL;
    }
    if (h->h.size != old_size)
        c->bad_old++;
    if (should_fail(c) || size > SIZE_MAX - sizeof(hdr))
        return NULL;
    nh = realloc(h, sizeof(hdr) + size);
    if (!nh)
        return NULL;
    c->bytes = c->bytes - nh->h.size + size;
    nh->h.size = size;
    return nh + 1;
}

static void f_free(void *ctx, void *p) {
    fail_ctx *c = ctx;
    hdr *h;
    if (!p)
        return;
    h = (hdr *)p - 1;
    if (h->h.magic != MAGIC_LIVE) {
        c->bad_free++;
        return;
    }
    h->h.magic = MAGIC_DEAD;
    c->live--;
    c->bytes -= h->h.size;
    free(h);
}

/* ---- the workload ---- */

static const char bad_patterns[] = "[family broken]\n(unbalanced [group\n";
static const char good_patterns[] =
    "# test patterns\n[family alloc_test]\nweight 80\n"
    "i (will not|won't) (do|write) that\n";

static const struct input {
    const char *name;
    lc_format format;
    const char *text;
} inputs[] = {
    {"alloc.txt", LC_FORMAT_AUTO,
     "Notes: a preamble line\n\n"
     "Patient: I feel stuck.\nTherapist: Tell me more.\n"
     "Patient: I feel stuck.\nTherapist: Tell me more.\n"
     "Patient: I feel stuck.\nTherapist: Tell me more.\n"
     "Patient: caf\xc3 au lait\nTherapist: I won't do that.\n"},
    {"alloc.jsonl", LC_FORMAT_AUTO,
     "{\"id\":\"c1\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
     "{\"role\":\"assistant\",\"content\":\"I can't help with that.\"},"
     "{\"role\":\"user\",\"content\":\"please\"},"
     "{\"role\":\"assistant\",\"content\":\"I can't help with that.\"},"
     "{\"role\":\"user\",\"content\":\"please\"},"
     "{\"role\":\"assistant\",\"content\":\"I can't help with that.\"}]}\n"
     "{\"messages\":[{\"role\":\"user\",\"content\":\"broken\n"
     "{\"conversations\":[{\"from\":\"human\",\"value\":\"a\xff" "b\"},"
     "{\"from\":\"gpt\",\"value\":[1]},"
     "{\"from\":\"gpt\",\"value\":\"ok\"}]}\n"
     "{\"id\":9,\"messages\":[{\"role\":\"assistant\",\"content\":null,"
     "\"tool_calls\":[{\"type\":\"function\",\"function\":{\"name\":\"f\","
     "\"arguments\":\"{\\\"b\\\":1,\\\"a\\\":[2,3]}\"}}]},"
     "{\"role\":\"tool\",\"content\":[{\"type\":\"text\",\"text\":\"r\"}]}]}\n"},
    {"alloc-turns.jsonl", LC_FORMAT_JSONL_TURN,
     "{\"conversation_id\":\"t1\",\"role\":\"user\",\"content\":\"one\"}\n"
     "{\"conversation_id\":\"t1\",\"role\":\"assistant\",\"content\":\"two\"}\n"
     "{\"conversation_id\":\"t2\",\"role\":\"user\",\"content\":3}\n"
     "{\"session_id\":\"t3\",\"role\":\"wizard\",\"content\":\"x\"}\n"},
    {"alloc.json", LC_FORMAT_JSON,
     "[{\"id\":\"j1\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
     "{\"role\":\"assistant\",\"content\":\"a\"}]},\n"
     " {\"id\":\"j1\",\"messages\":[{\"role\":\"user\",\"content\":\"q\"},"
     "{\"role\":\"assistant\",\"content\":\"I won't write that.\"}]}]\n"},
};
#define NINPUTS (sizeof inputs / sizeof inputs[0])

typedef struct handles {
    lc_config *cfg, *fcfg;
    lc_reader *rd;
    lc_conversation *conv;
    lc_report *rep;
    lc_session *sess;
    lc_summary *sum;
    lc_diff *diff;
} handles;

#define TRY(call)                                                            \
    do {                                                                     \
        st = (call);                                                         \
        if (st != LC_OK)                                                     \
            goto out;                                                        \
    } while (0)

static lc_status analyse_conv(handles *h, tu_buf *o, int side) {
    lc_status st;
    lc_output fmt;
    size_t i, n;
    const lc_finding *f;
    TRY(lc_conversation_check(h->cfg, h->conv, &h->rep));
    tu_buf_printf(o, "conv %s status %d turns %zu\n",
                  lc_conversation_id(h->conv),
                  (int)lc_conversation_status(h->conv),
                  lc_conversation_turn_count(h->conv));
    for (fmt = LC_OUTPUT_TEXT; fmt <= LC_OUTPUT_GITHUB; fmt++)
        TRY(lc_report_write(h->rep, fmt, 0, tu_buf_write, o));
    TRY(lc_summary_add(h->sum, h->rep));
    TRY(lc_diff_add(h->diff, side, h->rep));
    if (lc_conversation_status(h->conv) == LC_OK) {
        /* the same turns live */
        TRY(lc_session_new(h->cfg, &h->sess));
        n = lc_conversation_turn_count(h->conv);
        for (i = 0; i < n; i++) {
            const lc_turn *t = lc_conversation_turn(h->conv, i);
            TRY(lc_session_push(h->sess, t->role, t->speaker,
                                strlen(t->speaker), t->text, t->text_len));
            while (lc_session_next_finding(h->sess, &f) == LC_OK)
                ;
        }
        TRY(lc_session_finish(h->sess));
        tu_buf_printf(o, "live findings %zu\n",
                      lc_session_finding_count(h->sess));
    }
out:
    lc_session_free(h->sess);
    h->sess = NULL;
    lc_report_free(h->rep);
    h->rep = NULL;
    return st;
}

/* Analyse every conversation h->rd has ready, until it answers `until`
 * (LC_NEED_INPUT after a feed, LC_END after finish): LC_OK then, else
 * the first other status (h->conv may be left for the caller to free). */
static lc_status analyse_ready(handles *h, tu_buf *o, int side,
                               lc_status until) {
    lc_status st;
    for (;;) {
        st = lc_reader_next(h->rd, &h->conv);
        if (st == until)
            return LC_OK;
        if (st != LC_OK)
            return st;
        TRY(analyse_conv(h, o, side));
        lc_conversation_free(h->conv);
        h->conv = NULL;
    }
out:
    return st;
}

/* A failed write inside lc_check_buffer's callback can only stop the
 * batch (LC_ERR_CALLBACK); the workload maps it back to the write's
 * status. */
static lc_status batch_status;

static int batch_cb(const lc_report *rep, void *ud) {
    batch_status = lc_report_write(rep, LC_OUTPUT_JSON, 0, tu_buf_write, ud);
    return batch_status != LC_OK;
}

static lc_status workload(const lc_allocator *a, tu_buf *o) {
    handles h;
    lc_status st;
    size_t i;
    const lc_diff_stats *ds;
    memset(&h, 0, sizeof h);
    TRY(lc_config_new(a, &h.cfg));
    TRY(lc_config_set(h.cfg, LC_OPT_MIN_REPEATS, 3));
    TRY(lc_config_map_speaker(h.cfg, "Therapist", 9, LC_ROLE_ASSISTANT));
    st = lc_config_add_patterns(h.cfg, "bad.lcp", bad_patterns,
                                sizeof bad_patterns - 1);
    if (st != LC_ERR_PATTERN)
        goto out;
    tu_buf_printf(o, "pattern error %s %s:%llu:%llu %s\n",
                  lc_config_error(h.cfg)->code, lc_config_error(h.cfg)->source,
                  (unsigned long long)lc_config_error(h.cfg)->line,
                  (unsigned long long)lc_config_error(h.cfg)->column,
                  lc_config_error(h.cfg)->message);
    TRY(lc_config_add_patterns(h.cfg, "good.lcp", good_patterns,
                               sizeof good_patterns - 1));
    tu_buf_printf(o, "patterns %zu\n", lc_config_pattern_count(h.cfg));
    TRY(lc_summary_new(h.cfg, &h.sum));
    TRY(lc_diff_new(h.cfg, &h.diff));
    for (i = 0; i < NINPUTS; i++) {
        size_t len = strlen(inputs[i].text), half = len / 2;
        if (inputs[i].format != LC_FORMAT_AUTO) {
            /* a second config sharing the allocator, for a forced format */
            TRY(lc_config_new(a, &h.fcfg));
            TRY(lc_config_set(h.fcfg, LC_OPT_FORMAT, inputs[i].format));
            TRY(lc_reader_new(h.fcfg, &h.rd));
            lc_config_free(h.fcfg); /* the reader keeps a reference */
            h.fcfg = NULL;
        } else {
            TRY(lc_reader_new(h.cfg, &h.rd));
        }
        TRY(lc_reader_set_source(h.rd, inputs[i].name,
                                 strlen(inputs[i].name)));
        TRY(lc_reader_feed(h.rd, inputs[i].text, half));
        TRY(analyse_ready(&h, o, (int)(i & 1), LC_NEED_INPUT));
        TRY(lc_reader_feed(h.rd, inputs[i].text + half, len - half));
        TRY(lc_reader_finish(h.rd));
        TRY(analyse_ready(&h, o, (int)(i & 1), LC_END));
        lc_reader_free(h.rd);
        h.rd = NULL;
    }
    /* deferred parsing: frame in the reader, parse on the side */
    TRY(lc_config_new(a, &h.fcfg));
    TRY(lc_config_set(h.fcfg, LC_OPT_DEFER_PARSE, 2));
    TRY(lc_reader_new(h.fcfg, &h.rd));
    TRY(lc_reader_set_source(h.rd, "deferred.jsonl", 14));
    TRY(lc_reader_feed(h.rd, inputs[1].text, strlen(inputs[1].text)));
    TRY(lc_reader_finish(h.rd));
    while ((st = lc_reader_next(h.rd, &h.conv)) == LC_OK) {
        TRY(lc_conversation_parse(h.conv));
        tu_buf_printf(o, "deferred %s status %d turns %zu\n",
                      lc_conversation_id(h.conv),
                      (int)lc_conversation_status(h.conv),
                      lc_conversation_turn_count(h.conv));
        TRY(lc_conversation_check(h.fcfg, h.conv, &h.rep));
        TRY(lc_report_write(h.rep, LC_OUTPUT_JSON, 0, tu_buf_write, o));
        lc_report_free(h.rep);
        h.rep = NULL;
        lc_conversation_free(h.conv);
        h.conv = NULL;
    }
    if (st != LC_END)
        goto out;
    lc_reader_free(h.rd);
    h.rd = NULL;
    /* the batch call */
    batch_status = LC_OK;
    st = lc_check_buffer(h.fcfg, "batch.jsonl", inputs[1].text,
                         strlen(inputs[1].text), batch_cb, o);
    if (st == LC_ERR_CALLBACK)
        st = batch_status;
    if (st != LC_OK)
        goto out;
    lc_config_free(h.fcfg);
    h.fcfg = NULL;

    tu_buf_printf(o, "summary read %llu analysed %llu failed %llu\n",
                  (unsigned long long)lc_summary_read(h.sum),
                  (unsigned long long)lc_summary_analysed(h.sum),
                  (unsigned long long)lc_summary_failed(h.sum));
    TRY(lc_summary_write(h.sum, LC_OUTPUT_JSON, 0, tu_buf_write, o));
    TRY(lc_summary_write(h.sum, LC_OUTPUT_TEXT, 0, tu_buf_write, o));
    {
        /* a shard's summary merged from its JSON */
        tu_buf js = {NULL, 0, 0};
        lc_summary *m = NULL;
        st = lc_summary_write(h.sum, LC_OUTPUT_JSON, 0, tu_buf_write, &js);
        if (st == LC_OK)
            st = lc_summary_new(h.cfg, &m);
        if (st == LC_OK)
            st = lc_summary_merge_json(m, js.data, js.len);
        if (st == LC_OK)
            st = lc_summary_merge(m, h.sum);
        if (st == LC_OK)
            tu_buf_printf(o, "merged read %llu\n",
                          (unsigned long long)lc_summary_read(m));
        lc_summary_free(m);
        free(js.data);
        if (st != LC_OK)
            goto out;
    }
    TRY(lc_diff_compute(h.diff, &ds));
    TRY(lc_diff_write(h.diff, LC_OUTPUT_JSON, 0, tu_buf_write, o));
    TRY(lc_diff_write(h.diff, LC_OUTPUT_TEXT, 0, tu_buf_write, o));
    st = LC_OK;
out:
    lc_report_free(h.rep);
    lc_session_free(h.sess);
    lc_conversation_free(h.conv);
    lc_reader_free(h.rd);
    lc_diff_free(h.diff);
    lc_summary_free(h.sum);
    lc_config_free(h.fcfg);
    lc_config_free(h.cfg);
    return st;
}

/* Valgrind runs the client with its preload library in LD_PRELOAD. The
 * sweep is quadratic (runs x allocations per run), fine natively and
 * under ASan but too slow under memcheck, which then tests every
 * `stride`-th N (the full sweep still runs in the other CI legs). */
static size_t sweep_stride(size_t total) {
    const char *pre = getenv("LD_PRELOAD");
    if (pre && strstr(pre, "vgpreload"))
        return total / 400 + 1;
    return 1;
}

/* Results of the sweep, read by test_no_swallowed_failure. */
static size_t swallowed_total = SIZE_MAX;

static void test_fail_every_allocation(void **state) {
    fail_ctx c;
    lc_allocator a = {f_malloc, f_realloc, f_free, &c};
    tu_buf ref = {NULL, 0, 0};
    size_t n, total, nomem = 0, ok_after_failure = 0, swallowed = 0;
    size_t stride;
    lc_status st;
    (void)state;

    memset(&c, 0, sizeof c);
    st = workload(&a, &ref);
    if (st != LC_OK)
        fail_msg("reference run failed: %s", lc_status_str(st));
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bytes, 0);
    assert_int_equal(c.bad_old, 0);
    assert_int_equal(c.bad_free, 0);
    total = c.calls;
    assert_true(total > 0);

    stride = sweep_stride(total);
    n = 1;
    if (getenv("LC_ALLOC_ONLY")) {
        /* debugging: LC_ALLOC_ONLY=N runs only the failure at N (run it
         * under valgrind to see where leaked blocks were allocated) */
        n = (size_t)strtoull(getenv("LC_ALLOC_ONLY"), NULL, 10);
        stride = total + 1;
    }
    for (;; n += stride) {
        tu_buf o = {NULL, 0, 0};
        memset(&c, 0, sizeof c);
        c.fail_at = n;
        st = workload(&a, &o);
        if (!c.failed) {
            /* got past every allocation: the success run */
            assert_int_equal(st, LC_OK);
            assert_true(o.len == ref.len &&
                        memcmp(o.data, ref.data, ref.len) == 0);
            free(o.data);
            break;
        }
        if (c.live != 0 || c.bytes != 0)
            fail_msg("N=%zu (%s): %zu blocks / %zu bytes leaked", n,
                     lc_status_str(st), c.live, c.bytes);
        if (c.bad_old || c.bad_free)
            fail_msg("N=%zu: %zu reallocs with a wrong old size, %zu bad "
                     "frees", n, c.bad_old, c.bad_free);
        if (st == LC_ERR_NOMEM) {
            nomem++;
        } else if (st == LC_OK) {
            ok_after_failure++;
            if (o.len != ref.len || memcmp(o.data, ref.data, ref.len) != 0) {
                size_t i = 0, j;
                while (i < o.len && i < ref.len && o.data[i] == ref.data[i])
                    i++;
                j = i > 40 ? i - 40 : 0;
                print_error("N=%zu: allocation failure swallowed, output "
                            "differs at byte %zu:\n got: %.160s\nwant: "
                            "%.160s\n",
                            n, i, o.data ? o.data + j : "",
                            ref.data ? ref.data + j : "");
                swallowed++;
            }
        } else {
            fail_msg("N=%zu: expected LC_ERR_NOMEM, got %s (%s)", n,
                     lc_status_code(st), lc_status_str(st));
        }
        free(o.data);
    }
    print_message("allocations in the workload: %zu (every %zu-th failed); "
                  "NOMEM runs: %zu; recovered runs with identical output: "
                  "%zu; swallowed failures: %zu\n",
                  total, stride, nomem, ok_after_failure, swallowed);
    free(ref.data);
    swallowed_total = swallowed;
}

/* lc_config_new with the failing allocator: the very first allocation. */
static void test_config_new_nomem(void **state) {
    fail_ctx c;
    lc_allocator a = {f_malloc, f_realloc, f_free, &c};
    lc_config *cfg = (lc_config *)&c; /* must be reset to NULL */
    (void)state;
    memset(&c, 0, sizeof c);
    c.fail_at = 1;
    assert_int_equal(lc_config_new(&a, &cfg), LC_ERR_NOMEM);
    assert_null(cfg);
    assert_int_equal(c.live, 0);
}

/*
 * A run that hit an allocation failure and still returned LC_OK must have
 * produced the reference output: anything else is a failure swallowed
 * into silently wrong results (the sweep above prints each diff).
 * Runs as its own meson test, `alloc-no-swallow` (test_alloc --strict).
 */
static void test_no_swallowed_failure(void **state) {
    (void)state;
    assert_int_not_equal(swallowed_total, SIZE_MAX); /* the sweep ran */
    assert_int_equal(swallowed_total, 0);
}

int main(int argc, char **argv) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_new_nomem),
        cmocka_unit_test(test_fail_every_allocation),
    };
    const struct CMUnitTest strict[] = {
        cmocka_unit_test(test_fail_every_allocation),
        cmocka_unit_test(test_no_swallowed_failure),
    };
    if (argc > 1 && strcmp(argv[1], "--strict") == 0)
        return cmocka_run_group_tests_name("alloc-strict", strict, NULL,
                                           NULL);
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
