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
 * diff; and a long live session (long turns that recycle passages, a
 * window of 24 turns that the ring grows to and wraps around, events
 * drained slowly so the queue keeps a consumed head), reset and reused;
 * it pushes on after a failed push, and a failed allocation must fail
 * only that call. Each run must
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

#include "internal.h" /* lci_session_turn, lci_u64map */
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
    size_t fail_from; /* fail this call and all later ones; 0 = never */
    int failed;       /* the failure was injected */
    size_t live;      /* live blocks */
    size_t bytes;     /* live bytes */
    size_t bad_old;   /* realloc with a wrong old_size */
    size_t bad_free;  /* free of a pointer that is not live */
} fail_ctx;

static int should_fail(fail_ctx *c) {
    c->calls++;
    if ((c->fail_at && c->calls == c->fail_at) ||
        (c->fail_from && c->calls >= c->fail_from)) {
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
     "Patient: caf\xc3 au lait\nTherapist: I won't do that.\n"
     /* a long turn said again: recurring_turn's deferred decision */
     "Patient: and after that?\n"
     "Therapist: We will meet again next week and go through every one "
     "of the exercises together slowly.\n"
     "Patient: I see.\n"
     "Therapist: We will meet again next week and go through every one "
     "of the exercises together slowly.\n"},
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

/* ---- the long live session ---- */

/* Paragraphs of 21-23 words (passage_words is 12) that assistant turns
 * recycle. */
static const char *const paras[] = {
    "The quick brown fox jumps over the lazy dog near the river bank "
    "while the sun goes down behind the old stone bridge.",
    "I understand your concern and I will explain the whole process again "
    "more slowly so that every single step becomes clear to you.",
};

/* Turn i (0-based) of the long session. User turns are short, and one
 * of them recurs. Assistant turn k has 12 + 3k words of its own (so the
 * recycled detector's fingerprint arrays grow step by step), every third
 * one adds a paragraph (recycled from the one six turns before), and
 * every seventh is degenerate. */
static lc_role long_turn(size_t i, char *buf, size_t cap) {
    size_t k = i / 2, j, n = 0;
    if (i % 2 == 0) {
        if (i % 6 == 0)
            snprintf(buf, cap, "What do you mean by that?");
        else
            snprintf(buf, cap, "Tell me about step %zu please.", i);
        return LC_ROLE_USER;
    }
    if (k % 7 == 6) {
        for (j = 0; j < 30 && n + 6 < cap; j++)
            n += (size_t)snprintf(buf + n, cap - n, "jobs ");
        return LC_ROLE_ASSISTANT;
    }
    for (j = 0; j < 12 + 3 * k && n + 16 < cap; j++)
        n += (size_t)snprintf(buf + n, cap - n, "a%zuw%zu ", k, j);
    if (k % 3 == 0)
        snprintf(buf + n, cap - n, ". %s", paras[k / 3 % 2]);
    return LC_ROLE_ASSISTANT;
}

/* Calls of the long session that failed in the last run: a live caller
 * goes on pushing after a failed push, and one failed allocation must
 * fail one call, not leave state that fails later ones. */
static size_t long_failed;

/* `nturns` turns of the long session, pushed on after a failure (which
 * is returned at the end); events drained all after each push, or with
 * `one` one after every fourth push (so the queue keeps a consumed head
 * while events for findings already returned arrive: it must grow, or
 * make room); then finish and list the findings. */
static lc_status long_conv(lc_session *s, tu_buf *o, size_t nturns,
                           int one) {
    static char text[4096];
    const lc_finding *f;
    size_t i, nnew = 0, next = 0;
    lc_status st = LC_OK, rc;
    for (i = 0; i < nturns; i++) {
        lc_role role = long_turn(i, text, sizeof text);
        rc = lc_session_push(s, role, NULL, 0, text, strlen(text));
        if (rc != LC_OK) {
            long_failed++;
            if (st == LC_OK)
                st = rc;
        }
        while ((!one || i % 4 == 3) &&
               lc_session_next_finding(s, &f) == LC_OK) {
            nnew += f->event == LC_EVENT_NEW;
            next += f->event == LC_EVENT_EXTENDED;
            if (one)
                break;
        }
    }
    if ((rc = lc_session_finish(s)) != LC_OK) {
        long_failed++;
        if (st == LC_OK)
            st = rc;
    }
    while (lc_session_next_finding(s, &f) == LC_OK) {
        nnew += f->event == LC_EVENT_NEW;
        next += f->event == LC_EVENT_EXTENDED;
    }
    if (st != LC_OK)
        return st;
    tu_buf_printf(o, "long session: events new %zu extended %zu\n", nnew,
                  next);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        f = lc_session_finding(s, i);
        tu_buf_printf(o, "  %s turns %u-%u count %u words %u\n",
                      f->kind_name, f->first_turn, f->last_turn, f->count,
                      f->words);
    }
    return LC_OK;
}

/* On the workload's config, whose window is 24 turns: more than the
 * ring's first 16 slots, fewer than the turns. (A config of its own
 * would compile the built-in patterns again: most of the workload's
 * allocations.) */
static lc_status long_session(const lc_config *cfg, tu_buf *o) {
    lc_session *s = NULL;
    lc_status st;
    TRY(lc_session_new(cfg, &s));
    TRY(long_conv(s, o, 40, 1));
    TRY(lc_session_reset(s));
    TRY(long_conv(s, o, 12, 0));
out:
    lc_session_free(s);
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

/* 3,000 words (about 21 KB): see the workload */
static char long_text[3000 * 7 + 1];

static void make_long_text(void) {
    size_t i, n = 0;
    for (i = 0; i < 3000; i++)
        n += (size_t)snprintf(long_text + n, sizeof long_text - n, "w%04zu ",
                              i % 7 == 6 ? i - 6 : i);
}

static lc_status workload(const lc_allocator *a, tu_buf *o) {
    handles h;
    lc_status st;
    size_t i;
    const lc_diff_stats *ds;
    memset(&h, 0, sizeof h);
    TRY(lc_config_new(a, &h.cfg));
    TRY(lc_config_set(h.cfg, LC_OPT_MIN_REPEATS, 3));
    TRY(lc_config_set(h.cfg, LC_OPT_HISTORY_TURNS, 24)); /* long_session */
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
    /* a turn long enough for blocks of their own in the conversation's
     * arena (text block and token array over 16 KiB, growing past their
     * first room) */
    TRY(lc_conversation_new(h.cfg, &h.conv));
    TRY(lc_conversation_add(h.conv, LC_ROLE_USER, NULL, 0, "go on", 5));
    TRY(lc_conversation_add(h.conv, LC_ROLE_ASSISTANT, NULL, 0, long_text,
                            strlen(long_text)));
    TRY(lc_conversation_check(h.cfg, h.conv, &h.rep));
    tu_buf_printf(o, "long turn: %zu words\n",
                  (size_t)lc_conversation_turn(h.conv, 1)->words);
    TRY(lc_report_write(h.rep, LC_OUTPUT_JSON, 0, tu_buf_write, o));
    lc_report_free(h.rep);
    h.rep = NULL;
    lc_conversation_free(h.conv);
    h.conv = NULL;
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
    TRY(long_session(h.cfg, o));
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
    if (getenv("LC_ALLOC_DUMP")) /* debugging: the reference output */
        fwrite(ref.data, 1, ref.len, stderr);

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
        long_failed = 0;
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
        if (long_failed > 1)
            fail_msg("N=%zu: one failed allocation failed %zu calls of the "
                     "long session", n, long_failed);
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
    print_message("# allocations in the workload: %zu (every %zu-th failed); "
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

/* A push that fails once the ring has wrapped takes nothing from the
 * window: the slot it was to use still holds the oldest turn of the
 * window (it was freed and zeroed before the new turn was made). */
static void test_failed_push_keeps_window(void **state) {
    fail_ctx c;
    lc_allocator a = {f_malloc, f_realloc, f_free, &c};
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    const lci_turn *t;
    char text[64];
    uint32_t i;
    (void)state;
    memset(&c, 0, sizeof c);
    assert_int_equal(lc_config_new(&a, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_HISTORY_TURNS, 16), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 1; i <= 20; i++) {
        snprintf(text, sizeof text, "turn number %u of the window", i);
        assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, text,
                                         strlen(text)),
                         LC_OK);
    }
    c.fail_from = c.calls + 1;
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, "new turn",
                                     8),
                     LC_ERR_NOMEM);
    c.fail_from = 0;
    assert_int_equal(lci_session_nturns(s), 20);
    for (i = 5; i <= 20; i++) { /* the window: turns 5..20 */
        t = lci_session_turn(s, i);
        assert_non_null(t);
        assert_non_null(t->pub.text);
        snprintf(text, sizeof text, "turn number %u of the window", i);
        assert_string_equal(t->pub.text, text);
        assert_int_equal(t->pub.index, i);
    }
    /* and the session goes on */
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, "new turn",
                                     8),
                     LC_OK);
    assert_int_equal(lc_session_finish(s), LC_OK);
    lc_session_free(s);
    lc_config_free(cfg);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_old, 0);
    assert_int_equal(c.bad_free, 0);
}

static bool keep_odd(uint64_t key, uint64_t val, void *ctx) {
    (void)key;
    ++*(size_t *)ctx;
    return val % 2 == 1;
}

/* lci_u64map_retain when the smaller table cannot be had: every entry it
 * keeps stays findable (it used to clear the dropped slots in place,
 * leaving holes in the probe sequences), none is inserted twice, and
 * `keep` ran once per entry. The keys are multiples of 1024: with a
 * table of at most 1024 slots they all share home slot 0, one cluster. */
static void test_map_retain_nomem(void **state) {
    fail_ctx c;
    lc_allocator a = {f_malloc, f_realloc, f_free, &c};
    lci_u64map m;
    uint64_t k, *v;
    size_t calls, fail;
    bool created;
    lc_status st;
    (void)state;
    for (fail = 0; fail < 2; fail++) {
        memset(&c, 0, sizeof c);
        memset(&m, 0, sizeof m);
        for (k = 1; k <= 200; k++) {
            assert_int_equal(lci_u64map_slot(&m, &a, k << 10, &v, &created),
                             LC_OK);
            assert_true(created);
            *v = k;
        }
        assert_int_equal(m.n, 200);
        assert_true(m.cap <= 1024);
        if (fail)
            c.fail_from = c.calls + 1;
        calls = 0;
        st = lci_u64map_retain(&m, &a, keep_odd, &calls);
        c.fail_from = 0;
        assert_int_equal(calls, 200);
        assert_int_equal(m.n, 100);
        for (k = 1; k <= 200; k++) {
            v = lci_u64map_get(&m, k << 10);
            if (k % 2 == 0) {
                assert_null(v);
                continue;
            }
            if (!v)
                fail_msg("fail=%zu: kept key %llu not found", fail,
                         (unsigned long long)k);
            assert_int_equal(*v, k);
            assert_int_equal(lci_u64map_slot(&m, &a, k << 10, &v, &created),
                             LC_OK);
            assert_false(created);
        }
        assert_int_equal(m.n, 100);
        /* and it succeeds: the table it has still serves */
        assert_int_equal(st, LC_OK);
        lci_u64map_free(&m, &a);
        assert_int_equal(c.live, 0);
        assert_int_equal(c.bad_old, 0);
    }
}

/* Two summaries with families and worst cases (the second's interleave
 * the first's), from JSON. */
static const char sum_a[] =
    "{\"type\":\"summary\",\"schema\":1,\"read\":4,\"analysed\":3,"
    "\"failed\":1,\"with_findings\":3,\"findings\":9,"
    "\"kinds\":{\"refusal\":{\"conversations\":2}},"
    "\"families\":{\"apology\":{\"conversations\":2},"
    "\"inability\":{\"conversations\":1}},"
    "\"worst\":[{\"conversation\":\"a1\",\"source\":\"a\",\"line\":1,"
    "\"findings\":5},{\"conversation\":\"a2\",\"source\":\"a\",\"line\":2,"
    "\"findings\":3},{\"conversation\":\"a3\",\"source\":\"a\",\"line\":3,"
    "\"findings\":1}]}";
static const char sum_b[] =
    "{\"type\":\"summary\",\"schema\":1,\"read\":5,\"analysed\":5,"
    "\"failed\":0,\"with_findings\":4,\"findings\":12,"
    "\"kinds\":{\"refusal\":{\"conversations\":3}},"
    "\"families\":{\"ai_disclaimer\":{\"conversations\":1},"
    "\"apology\":{\"conversations\":1},\"policy\":{\"conversations\":2},"
    "\"zeta\":{\"conversations\":1}},"
    "\"worst\":[{\"conversation\":\"b1\",\"source\":\"b\",\"line\":1,"
    "\"findings\":6},{\"conversation\":\"b2\",\"source\":\"b\",\"line\":2,"
    "\"findings\":4},{\"conversation\":\"b3\",\"source\":\"b\",\"line\":3,"
    "\"findings\":2},{\"conversation\":\"b4\",\"source\":\"b\",\"line\":4,"
    "\"findings\":1}]}";

static void sum_json(const lc_summary *s, tu_buf *o) {
    o->len = 0;
    assert_int_equal(lc_summary_write(s, LC_OUTPUT_JSON, 0, tu_buf_write, o),
                     LC_OK);
}

/* lc_summary_merge is all or nothing: failing each of its allocations
 * in turn leaves the summary exactly as it was (its JSON), and the run
 * without a failure gives the merged counts, families and worst cases. */
static void test_summary_merge_atomic(void **state) {
    fail_ctx c;
    lc_allocator a = {f_malloc, f_realloc, f_free, &c};
    lc_config *cfg = NULL;
    lc_summary *sa = NULL, *sb = NULL;
    tu_buf before = {NULL, 0, 0}, after = {NULL, 0, 0};
    size_t n;
    lc_status st;
    (void)state;
    memset(&c, 0, sizeof c);
    assert_int_equal(lc_config_new(&a, &cfg), LC_OK);
    for (n = 1;; n++) {
        assert_int_equal(lc_summary_new(cfg, &sa), LC_OK);
        assert_int_equal(lc_summary_new(cfg, &sb), LC_OK);
        assert_int_equal(lc_summary_merge_json(sa, sum_a, strlen(sum_a)),
                         LC_OK);
        assert_int_equal(lc_summary_merge_json(sb, sum_b, strlen(sum_b)),
                         LC_OK);
        sum_json(sa, &before);
        c.failed = 0;
        c.fail_at = c.calls + n;
        st = lc_summary_merge(sa, sb);
        c.fail_at = 0;
        sum_json(sa, &after);
        if (!c.failed) {
            assert_int_equal(st, LC_OK);
            break;
        }
        assert_int_equal(st, LC_ERR_NOMEM);
        if (after.len != before.len ||
            memcmp(after.data, before.data, before.len) != 0)
            fail_msg("allocation %zu of the merge failed and the summary "
                     "changed:\n%.*s\nwas\n%.*s",
                     n, (int)after.len, after.data, (int)before.len,
                     before.data);
        lc_summary_free(sa);
        lc_summary_free(sb);
    }
    assert_true(n > 1); /* the merge allocates: the sweep tested something */
    assert_int_equal(lc_summary_read(sa), 9);
    assert_int_equal(lc_summary_family_count(sa, "apology"), 3);
    assert_int_equal(lc_summary_family_count(sa, "ai_disclaimer"), 1);
    assert_int_equal(lc_summary_family_count(sa, "zeta"), 1);
    assert_non_null(strstr(after.data, "\"worst\":[{\"conversation\":\"b1\""));
    assert_non_null(strstr(after.data, "\"b3\",\"source\":\"b\",\"line\":3,"
                                       "\"findings\":2}]"));
    lc_summary_free(sa);
    lc_summary_free(sb);
    lc_config_free(cfg);
    free(before.data);
    free(after.data);
    assert_int_equal(c.live, 0);
    assert_int_equal(c.bad_old, 0);
    assert_int_equal(c.bad_free, 0);
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
        cmocka_unit_test(test_failed_push_keeps_window),
        cmocka_unit_test(test_map_retain_nomem),
        cmocka_unit_test(test_summary_merge_atomic),
        cmocka_unit_test(test_fail_every_allocation),
    };
    const struct CMUnitTest strict[] = {
        cmocka_unit_test(test_failed_push_keeps_window),
        cmocka_unit_test(test_map_retain_nomem),
        cmocka_unit_test(test_summary_merge_atomic),
        cmocka_unit_test(test_fail_every_allocation),
        cmocka_unit_test(test_no_swallowed_failure),
    };
    make_long_text();
    if (argc > 1 && strcmp(argv[1], "--strict") == 0)
        return cmocka_run_group_tests_name("alloc-strict", strict, NULL,
                                           NULL);
    return cmocka_run_group_tests_name("alloc", tests, NULL, NULL);
}
