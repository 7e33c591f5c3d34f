/*
 * fuzz_reader.c - the streaming reader, every input format, on arbitrary
 * bytes; then the batch pipeline (check, report writers, summary) on
 * whatever it produced.
 *
 * Input layout: byte 0: bits 0-2 pick the format (0 auto, 1 transcript,
 * 2 jsonl, 3 jsonl-turns, 4 json, 5-7 auto), bits 3-7 a chunk size
 * 1..32; byte 1: bit 0 small limits (max_line_bytes 1024, max_turns 8,
 * max_depth 4, max_turn_bytes 64), bit 1 deferred parsing in the chunked
 * pass, bit 2 the chunked pass reads JSONL records with json-c only (the
 * fast path off: json_scan.c against its reference). The rest is the
 * log. Seeds start with two ASCII characters, e.g.
 * "0 " (auto, defaults), "2!" (jsonl, small limits).
 *
 * Oracles: feed/finish/next return only the documented progress
 * statuses; every conversation is well-formed (valid NUL-terminated
 * UTF-8 text and normalized text, 1-based turn numbers, hash == XXH3 of
 * the normalized text, an error diagnostic with a position and the right
 * code when it failed); feeding the same bytes in one piece and in
 * `chunk`-byte pieces (optionally with deferred parsing) gives identical
 * conversations, diagnostics and positions (each chunk is a separate
 * block, scribbled over and freed after lc_reader_feed, so a retained
 * pointer shows up as a difference or an ASan report); summary counts
 * reconcile
 * (read = analysed + failed = conversations returned).
 */
#include <string.h>

#include "fuzz.h"
#include "input.h"

#define SOURCE "fuzz-src"

typedef struct run_result {
    uint64_t digest;
    size_t nconv, nfailed;
} run_result;

static void check_error(const lc_error *e, lc_status want) {
    FUZZ_CHECK(e != NULL);
    FUZZ_CHECK(e->status == want);
    FUZZ_CHECK(e->code != NULL && strcmp(e->code, lc_status_code(want)) == 0);
    FUZZ_CHECK(e->message != NULL && e->message[0] != '\0');
    FUZZ_CHECK(e->source != NULL);
}

static uint64_t digest_conv(uint64_t h, const lc_conversation *c,
                            size_t input_len) {
    size_t i, n = lc_conversation_turn_count(c), nd;
    lc_status st = lc_conversation_status(c);
    const char *id = lc_conversation_id(c);
    FUZZ_CHECK(id != NULL);
    FUZZ_CHECK(strcmp(lc_conversation_source(c), SOURCE) == 0);
    FUZZ_CHECK(lc_conversation_speaker_note(c) != NULL);
    h = fuzz_mix(h, id, strlen(id) + 1);
    h = fuzz_mix_u64(h, lc_conversation_line(c));
    h = fuzz_mix_u64(h, (uint64_t)lc_conversation_format(c));
    h = fuzz_mix_u64(h, (uint64_t)st);
    nd = lc_conversation_diag_count(c);
    if (st != LC_OK) {
        const lc_error *e = lc_conversation_diag(c, 0);
        FUZZ_CHECK(nd >= 1);
        check_error(e, st);
        FUZZ_CHECK(e->severity == LC_SEVERITY_ERROR);
        FUZZ_CHECK(e->line >= 1);
        FUZZ_CHECK(e->offset <= input_len);
    }
    for (i = 0; i < nd; i++) {
        const lc_error *e = lc_conversation_diag(c, i);
        FUZZ_CHECK(e != NULL);
        check_error(e, e->status);
        FUZZ_CHECK(strcmp(e->source, SOURCE) == 0);
        /* errors first, then warnings */
        if (i > 0 && e->severity == LC_SEVERITY_ERROR)
            FUZZ_CHECK(lc_conversation_diag(c, i - 1)->severity ==
                       LC_SEVERITY_ERROR);
        h = fuzz_mix_u64(h, (uint64_t)e->status);
        h = fuzz_mix_u64(h, (uint64_t)e->severity);
        h = fuzz_mix_u64(h, e->line);
        h = fuzz_mix_u64(h, e->column);
        h = fuzz_mix_u64(h, e->offset);
        h = fuzz_mix_u64(h, (uint64_t)e->turn);
        h = fuzz_mix(h, e->message, strlen(e->message));
    }
    FUZZ_CHECK(lc_conversation_diag(c, nd) == NULL);
    h = fuzz_mix_u64(h, n);
    for (i = 0; i < n; i++) {
        const lc_turn *t = lc_conversation_turn(c, i);
        FUZZ_CHECK(t != NULL);
        FUZZ_CHECK(t->index == i + 1);
        FUZZ_CHECK((unsigned)t->role <= LC_ROLE_TOOL);
        FUZZ_CHECK(t->speaker != NULL && t->text != NULL && t->norm != NULL);
        FUZZ_CHECK(t->text[t->text_len] == '\0');
        FUZZ_CHECK(t->norm[t->norm_len] == '\0');
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)t->text, t->text_len));
        FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)t->norm, t->norm_len));
        FUZZ_CHECK(t->hash == lci_hash(t->norm, t->norm_len));
        FUZZ_CHECK(t->line >= 1);
        FUZZ_CHECK(t->offset <= input_len);
        h = fuzz_mix_u64(h, (uint64_t)t->role);
        h = fuzz_mix(h, t->speaker, strlen(t->speaker) + 1);
        h = fuzz_mix(h, t->text, t->text_len);
        h = fuzz_mix_u64(h, t->hash);
        h = fuzz_mix_u64(h, t->line);
        h = fuzz_mix_u64(h, t->column);
        h = fuzz_mix_u64(h, t->offset);
        h = fuzz_mix_u64(h, t->flags);
        h = fuzz_mix_u64(h, t->words);
    }
    FUZZ_CHECK(lc_conversation_turn(c, n) == NULL);
    return h;
}

/* Batch pipeline over one conversation: check, every writer, summary. */
static void analyse(const lc_config *cfg, const lc_conversation *c,
                    lc_summary *sum) {
    lc_report *rep = NULL;
    size_t sink = 0, i;
    lc_output o;
    FUZZ_CHECK(lc_conversation_check(cfg, c, &rep) == LC_OK);
    FUZZ_CHECK(rep != NULL);
    if (lc_conversation_status(c) != LC_OK) {
        FUZZ_CHECK(lc_report_status(rep) == lc_conversation_status(c));
        FUZZ_CHECK(lc_report_finding_count(rep) == 0);
    }
    if (lc_report_status(rep) != LC_OK)
        check_error(lc_report_error(rep), lc_report_status(rep));
    for (i = 0; i < lc_report_finding_count(rep); i++) {
        const lc_finding *f = lc_report_finding(rep, i);
        FUZZ_CHECK(f != NULL && f->kind_name != NULL);
        FUZZ_CHECK(f->first_turn >= 1 && f->first_turn <= f->last_turn);
        FUZZ_CHECK(f->last_turn <= lc_conversation_turn_count(c));
    }
    for (o = LC_OUTPUT_TEXT; o <= LC_OUTPUT_GITHUB; o++)
        FUZZ_CHECK(lc_report_write(rep, o, 0, fuzz_sink, &sink) == LC_OK);
    FUZZ_CHECK(lc_summary_add(sum, rep) == LC_OK);
    lc_report_free(rep);
}

static void drain(lc_reader *r, int finished, int defer, size_t input_len,
                  const lc_config *cfg, lc_summary *sum, run_result *res) {
    for (;;) {
        lc_conversation *c = NULL;
        lc_status st = lc_reader_next(r, &c);
        if (st == LC_NEED_INPUT) {
            FUZZ_CHECK(!finished);
            return;
        }
        if (st == LC_END) {
            FUZZ_CHECK(finished);
            return;
        }
        FUZZ_CHECK(st == LC_OK);
        FUZZ_CHECK(c != NULL);
        if (defer) {
            FUZZ_CHECK(lc_conversation_parse(c) == LC_OK);
            FUZZ_CHECK(lc_conversation_parse(c) == LC_OK); /* idempotent */
        }
        res->nconv++;
        if (lc_conversation_status(c) != LC_OK)
            res->nfailed++;
        res->digest = digest_conv(res->digest, c, input_len);
        if (sum)
            analyse(cfg, c, sum);
        lc_conversation_free(c);
    }
}

static void run(const lc_config *cfg, const uint8_t *p, size_t len,
                size_t chunk, int defer, int fast, lc_summary *sum,
                run_result *res) {
    lc_reader *r = NULL;
    size_t off = 0;
    memset(res, 0, sizeof *res);
    res->digest = FUZZ_SEED;
    FUZZ_CHECK(lc_reader_new(cfg, &r) == LC_OK);
    lci_json_set_fast(lci_reader_json(r), fast);
    FUZZ_CHECK(lc_reader_set_source(r, SOURCE, strlen(SOURCE)) == LC_OK);
    do {
        size_t n = len - off < chunk ? len - off : chunk;
        /* each chunk in its own block, freed (and poisoned) right after
         * the call: the reader must not keep the caller's pointer */
        char *copy = malloc(n ? n : 1);
        FUZZ_CHECK(copy != NULL);
        if (n)
            memcpy(copy, p + off, n);
        FUZZ_CHECK(lc_reader_feed(r, copy, n) == LC_OK);
        memset(copy, 0xA5, n);
        free(copy);
        off += n;
        drain(r, 0, defer, len, cfg, sum, res);
    } while (off < len);
    FUZZ_CHECK(lc_reader_finish(r) == LC_OK);
    drain(r, 1, defer, len, cfg, sum, res);
    FUZZ_CHECK(lc_reader_next(r, &(lc_conversation *){NULL}) == LC_END);
    FUZZ_CHECK(lc_reader_feed(r, "x", 1) == LC_ERR_STATE);
    lc_reader_free(r);
}

static lc_config *make_config(lc_format fmt, int small, int defer) {
    /* Configs are immutable once used and creating one compiles the
     * built-in patterns (milliseconds), so each combination is made once
     * and shared by all inputs (still reachable at exit, not a leak). */
    static lc_config *cache[5][2][2];
    lc_config *cfg = cache[fmt][small][defer];
    if (cfg)
        return cfg;
    FUZZ_CHECK(lc_config_new(NULL, &cfg) == LC_OK);
    FUZZ_CHECK(lc_config_set(cfg, LC_OPT_FORMAT, fmt) == LC_OK);
    if (small) {
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MAX_LINE_BYTES, 1024) == LC_OK);
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MAX_TURNS, 8) == LC_OK);
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MAX_DEPTH, 4) == LC_OK);
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MAX_TURN_BYTES, 64) == LC_OK);
    }
    if (defer)
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_DEFER_PARSE, 2) == LC_OK);
    cache[fmt][small][defer] = cfg;
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lc_format fmt;
    size_t chunk;
    int small, defer, fast;
    const lc_config *whole_cfg, *chunk_cfg;
    lc_summary *sum = NULL;
    run_result whole, chunked;

    if (size < 2)
        return 0;
    fmt = (data[0] & 7) <= 4 ? (lc_format)(data[0] & 7) : LC_FORMAT_AUTO;
    chunk = (size_t)(data[0] >> 3) + 1;
    small = data[1] & 1;
    defer = (data[1] >> 1) & 1;
    fast = !((data[1] >> 2) & 1);
    data += 2;
    size -= 2;

    whole_cfg = make_config(fmt, small, 0);
    chunk_cfg = make_config(fmt, small, defer);
    FUZZ_CHECK(lc_summary_new(whole_cfg, &sum) == LC_OK);

    run(whole_cfg, data, size, size ? size : 1, 0, 1, sum, &whole);
    run(chunk_cfg, data, size, chunk, defer, fast, NULL, &chunked);

    FUZZ_CHECK(lc_summary_read(sum) == whole.nconv);
    FUZZ_CHECK(lc_summary_read(sum) ==
               lc_summary_analysed(sum) + lc_summary_failed(sum));
    FUZZ_CHECK(lc_summary_failed(sum) >= whole.nfailed);
    if (whole.nconv != chunked.nconv || whole.digest != chunked.digest) {
        fprintf(stderr,
                "whole-buffer and %zu-byte-chunk%s%s reads differ: "
                "%zu vs %zu conversations\n",
                chunk, defer ? " (deferred parse)" : "",
                fast ? "" : " (json-c only)", whole.nconv,
                chunked.nconv);
        abort();
    }
    lc_summary_free(sum);
    return 0;
}
