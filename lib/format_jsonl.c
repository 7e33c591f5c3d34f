/*
 * format_jsonl.c - JSONL, one conversation per line: OpenAI chat
 * {"messages":[...]} or ShareGPT {"conversations":[{"from","value"}]},
 * optional "id" (string or number; else "source:line").
 *
 * Every non-blank line yields exactly one conversation: a good one, or
 * a failed one whose first diagnostic pins the status and the exact
 * line/column (code points)/byte offset of the problem. Blank lines are
 * skipped.
 */
#include "input.h"

#include <json-c/json.h>

#include <inttypes.h>

/* Shared with format_turns.c through this small helper: one failed
 * conversation for a line whose JSON does not parse. */
static lc_status parse_error(lc_reader *r, const char *p, size_t len,
                             uint64_t line, uint64_t off,
                             const lci_json_err *err) {
    uint64_t l, col;
    lci_locate(p, len, err->off, &l, &col);
    return lci_reader_emit_error(r, line, off, err->status, line, col,
                                 off + err->off, "%s", err->msg);
}

static int blank(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

static lc_status jl_create(lc_reader *r, void **state) {
    (void)r;
    *state = NULL;
    return LC_OK;
}

static lc_status jl_line(void *state, lc_reader *r, const char *p,
                         size_t len, uint64_t line, uint64_t off) {
    lci_json *j = lci_reader_json(r);
    struct json_object *o;
    lci_json_err err;
    lc_conversation *c;
    lci_pos pos;
    lc_status st;
    int64_t bad;
    (void)state;
    if (blank(p, len))
        return LC_OK;
    o = lci_json_parse(j, p, len, &err);
    if (!o)
        return parse_error(r, p, len, line, off, &err);
    st = lci_reader_conv_new(r, line, off, &c);
    if (st != LC_OK) {
        json_object_put(o);
        return st;
    }
    pos.line = line;
    pos.col = 1;
    pos.off = off;
    st = lci_json_conversation(j, c, o, pos);
    json_object_put(o);
    if (st == LC_OK && (bad = lci_conv_first_repaired(c)) > 0)
        st = lci_input_utf8_warn(c, p, len, line, off, bad);
    if (st != LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    return lci_reader_emit(r, c);
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
