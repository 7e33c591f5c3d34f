/*
 * format_jsonl.c - JSONL, one conversation per line: OpenAI chat
 * {"messages":[...]} or ShareGPT {"conversations":[{"from","value"}]},
 * optional "id" (string or number; else "source:line").
 *
 * Every non-blank line yields exactly one conversation: a good one, or
 * a failed one whose first diagnostic pins the status and the exact
 * line/column (code points)/byte offset of the problem. Blank lines are
 * skipped.
 *
 * With LC_OPT_DEFER_PARSE = 2 a line is only framed: the conversation
 * keeps a copy of the raw record and lc_conversation_parse() (defined
 * here) parses it later, on any thread, with its own tokener. Only this
 * format defers; the others always parse in the reader.
 */
#include "input.h"

#include <json-c/json.h>

#include <inttypes.h>

static int blank(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

/* Parse one record into c (which has id, source and line set). A JSON
 * error becomes c's error diagnostic at its exact line/column/offset.
 * Returns only fatal statuses. */
static lc_status build(lci_json *j, lc_conversation *c, const char *p,
                       size_t len, uint64_t line, uint64_t off) {
    struct json_object *o;
    lci_json_err err;
    lci_json_src src;
    lci_pos pos;
    lc_status st;
    pos.line = line;
    pos.col = 1;
    pos.off = off;
    /* the line is the record's raw text: diagnostics find their element
     * in it (only when one is written) */
    src = lci_json_src_text(p, len, pos, 0);
    if (lci_json_fast_conversation(j, c, &src, &st)) {
        if (st == LC_OK && lci_conv_first_repaired(c) > 0)
            st = lci_json_utf8_turns(c, &src, 0, 0);
        return st;
    }
    if (st != LC_OK)
        return st;
    o = lci_json_parse(j, p, len, &err);
    if (!o && err.status == LC_ERR_NOMEM)
        return LC_ERR_NOMEM; /* not the record's fault */
    if (!o) {
        uint64_t l, col;
        lci_locate(p, len, err.off, &l, &col);
        return lci_conv_diag(c, err.status, LC_SEVERITY_ERROR, line, col,
                             off + err.off, -1, "%s", err.msg);
    }
    lci_conv_expect(c, len);
    st = lci_json_conversation(j, c, o, &src);
    json_object_put(o);
    if (st == LC_OK && lci_conv_first_repaired(c) > 0)
        st = lci_json_utf8_turns(c, &src, 0, 0);
    return st;
}

static lc_status jl_create(lc_reader *r, void **state) {
    (void)r;
    *state = NULL;
    return LC_OK;
}

static lc_status jl_line(void *state, lc_reader *r, const char *p,
                         size_t len, uint64_t line, uint64_t off) {
    lc_conversation *c;
    lc_status st;
    (void)state;
    if (blank(p, len))
        return LC_OK;
    st = lci_reader_conv_new(r, line, off, &c);
    if (st != LC_OK)
        return st;
    if (lci_opt(lci_reader_config(r), LC_OPT_DEFER_PARSE) == 2) {
        /* frame only: lc_conversation_parse() does the rest */
        c->raw = lci_strndup(c->alloc, len ? p : "", len);
        if (!c->raw) {
            lc_conversation_free(c);
            return LC_ERR_NOMEM;
        }
        c->raw_len = len;
        c->raw_offset = off;
        c->unparsed = 1;
    } else if ((st = build(lci_reader_json(r), c, p, len, line, off)) !=
               LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    return lci_reader_emit(r, c);
}

/* lc_conversation_parse (cache == NULL: a parser for this call only) and
 * lc_session_parse (*cache: the session's parser, made with allocator a,
 * replaced when the conversation's config wants another depth limit). */
lc_status lci_conv_parse(lc_conversation *c, lci_json **cache,
                         const lci_alloc *a) {
    lci_conv_mark m;
    int depth;
    lci_json *j;
    lc_status st;
    if (!c)
        return LC_ERR_INVALID_ARG;
    if (!c->unparsed)
        return LC_OK;
    depth = (int)lci_opt(c->cfg, LC_OPT_MAX_DEPTH);
    if (cache && *cache && lci_json_depth(*cache) == depth) {
        j = *cache;
    } else {
        st = lci_json_new(cache ? a : c->alloc, depth, &j);
        if (st != LC_OK)
            return st;
        if (cache) {
            lci_json_free(*cache);
            *cache = j;
        }
    }
    /* all or nothing: a failed parse (LC_ERR_NOMEM) leaves c as it was,
     * still unparsed, so a retry gives what a first parse gives */
    lci_conv_begin(c, &m);
    st = build(j, c, c->raw, c->raw_len, c->line, c->raw_offset);
    if (!cache)
        lci_json_free(j);
    if (st != LC_OK) {
        lci_conv_rollback(c, &m);
        return st;
    }
    lci_conv_commit(c);
    lci_free(c->alloc, c->raw);
    c->raw = NULL;
    c->raw_len = 0;
    c->unparsed = 0;
    return LC_OK;
}

lc_status lc_conversation_parse(lc_conversation *c) {
    return lci_conv_parse(c, NULL, NULL);
}

static lc_status jl_overlong(void *state, lc_reader *r, uint64_t line,
                             uint64_t off, uint64_t len) {
    (void)state;
    return lci_reader_emit_error(
        r, line, off, LC_ERR_LIMIT, line, 1, off,
        "line of %" PRIu64 " bytes exceeds max_line_bytes (%" PRId64 ")", len,
        lci_opt(lci_reader_config(r), LC_OPT_MAX_LINE_BYTES));
}

static lc_status jl_finish(void *state, lc_reader *r) {
    (void)state;
    (void)r;
    return LC_OK;
}

static void jl_destroy(void *state, const lci_alloc *a) {
    (void)state;
    (void)a;
}

const lci_format_vt lci_format_jsonl = {
    LC_FORMAT_JSONL_CONV, "jsonl", jl_create, jl_line, jl_overlong,
    jl_finish, jl_destroy,
};
