/*
 * format_turns.c - JSONL, one turn per line: {"conversation_id" (or
 * "session_id" / "thread_id"), "role", "content", ...}. Consecutive
 * lines with the same key form one conversation whose id is the key.
 *
 * A line that cannot become a turn (bad JSON, no key, over the line
 * limit) becomes its own failed conversation (id "source:line") and the
 * open conversation stays open, so one bad line neither splits nor
 * drops its neighbours. Consequence: such a failed conversation is
 * returned before the conversation it interrupted. Once a conversation
 * has failed (e.g. max_turns), its further lines are absorbed by it.
 */
#include "input.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <string.h>

typedef struct turns_state {
    lc_conversation *cur;
    lci_buf key;
    lci_buf tmp;
} turns_state;

static int blank(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

static lc_status tu_create(lc_reader *r, void **state) {
    const lci_alloc *a = &lci_reader_config(r)->alloc;
    turns_state *s = lci_calloc(a, 1, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    lci_buf_init(&s->key, a);
    lci_buf_init(&s->tmp, a);
    *state = s;
    return LC_OK;
}

static lc_status flush(turns_state *s, lc_reader *r) {
    lc_conversation *c = s->cur;
    s->cur = NULL;
    s->key.len = 0;
    return c ? lci_reader_emit(r, c) : LC_OK;
}

static lc_status tu_line(void *state, lc_reader *r, const char *p,
                         size_t len, uint64_t line, uint64_t off) {
    turns_state *s = state;
    lci_json *j = lci_reader_json(r);
    struct json_object *o = NULL;
    lci_json_err err;
    lci_pos pos;
    lc_status st;
    size_t before, klen;
    const char *key;
    int fast;
    if (blank(p, len))
        return LC_OK;
    /* the common line without json-c (json_scan.c); else json-c's tree */
    fast = lci_json_fast_turn_scan(j, p, len, &key, &klen, &st);
    if (st != LC_OK)
        return st;
    if (!fast) {
        o = lci_json_parse(j, p, len, &err);
        if (!o) {
            uint64_t l, col;
            lci_locate(p, len, err.off, &l, &col);
            return lci_reader_emit_error(r, line, off, err.status, line, col,
                                         off + err.off, "%s", err.msg);
        }
        s->tmp.len = 0;
        if (!lci_json_turn_key(o, NULL)) {
            char why[96];
            lci_json_turn_key_why(o, why, sizeof why);
            json_object_put(o);
            return lci_reader_emit_error(r, line, off, LC_ERR_SCHEMA, line,
                                         1, off, "%s", why);
        }
        if (!lci_json_turn_key(o, &s->tmp)) { /* present: only NOMEM */
            json_object_put(o);
            return LC_ERR_NOMEM;
        }
        key = s->tmp.data ? s->tmp.data : "";
        klen = s->tmp.len;
    }
    if (s->cur && (s->key.len != klen ||
                   (klen && memcmp(s->key.data, key, klen) != 0))) {
        if ((st = flush(s, r)) != LC_OK)
            goto out;
    }
    if (!s->cur) {
        if ((st = lci_reader_conv_new(r, line, off, &s->cur)) != LC_OK)
            goto out;
        if ((st = lci_conv_set_id(s->cur, key, klen)) != LC_OK ||
            (st = lci_buf_append(&s->key, key, klen)) != LC_OK)
            goto out;
    }
    if (s->cur->status != LC_OK) { /* failed already: absorb */
        st = LC_OK;
        goto out;
    }
    pos.line = line;
    pos.col = 1;
    pos.off = off;
    before = s->cur->nturns;
    st = fast ? lci_json_fast_turn_add(j, s->cur, p, pos)
              : lci_json_message(j, s->cur, o, pos, 0);
    if (st == LC_OK && s->cur->nturns > before &&
        (s->cur->turns[before].pub.flags & LC_TURN_REPAIRED))
        st = lci_input_utf8_warn(s->cur, p, len, line, off,
                                 (int64_t)before + 1);
out:
    if (o)
        json_object_put(o);
    return st;
}

static lc_status tu_overlong(void *state, lc_reader *r, uint64_t line,
                             uint64_t off, uint64_t len) {
    (void)state;
    return lci_reader_emit_error(
        r, line, off, LC_ERR_LIMIT, line, 1, off,
        "line of %" PRIu64 " bytes exceeds max_line_bytes (%" PRId64 ")", len,
        lci_opt(lci_reader_config(r), LC_OPT_MAX_LINE_BYTES));
}

static lc_status tu_finish(void *state, lc_reader *r) {
    return flush(state, r);
}

static void tu_destroy(void *state, const lci_alloc *a) {
    turns_state *s = state;
    lc_conversation_free(s->cur);
    lci_buf_free(&s->key);
    lci_buf_free(&s->tmp);
    lci_free(a, s);
}

const lci_format_vt lci_format_turns = {
    LC_FORMAT_JSONL_TURN, "jsonl-turns", tu_create, tu_line, tu_overlong,
    tu_finish, tu_destroy,
};
