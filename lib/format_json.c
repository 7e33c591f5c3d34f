/*
 * format_json.c - one JSON document: an array of conversations (each as
 * in JSONL), a single conversation object, a sequence of conversation
 * objects, or a bare array of messages (one conversation, detected when
 * the first element has "role"/"from" and no "messages").
 *
 * The document is never buffered as text: a small scanner walks the
 * top-level structure ('[' ',' ']') itself and feeds each element to
 * json-c's incremental tokener line by line, so every element knows the
 * line and column where it starts (its conversation's line) and a parse
 * error is pinned to its exact position. After a syntax error the rest
 * of the document is ignored: its structure can no longer be trusted.
 * Default ids are "source:line", or "source:line:col" for a further
 * element starting on the same line (minified arrays).
 */
#include "input.h"

#include <json-c/json.h>

#include <stdio.h>
#include <string.h>

enum {
    J_TOP,       /* before a top-level value */
    J_ARR_FIRST, /* after '[' */
    J_ARR_NEXT,  /* after ',' */
    J_ARR_SEP,   /* after an element */
    J_VALUE,     /* inside a value (tokener) */
    J_DONE,      /* after the closing ']' */
    J_FAILED     /* syntax error: ignore the rest */
};

typedef struct json_state {
    int state;
    int in_array;
    int seen_top;
    size_t index;             /* array elements completed */
    lci_pos vpos;             /* where the current value starts */
    lci_pos doc;              /* where the document starts */
    uint64_t last_elem_line;
    lc_conversation *bare;    /* bare messages array */
    lci_pos end;              /* just past the last byte seen */
} json_state;

static lc_status js_create(lc_reader *r, void **state) {
    json_state *s = lci_calloc(&lci_reader_config(r)->alloc, 1, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    s->state = J_TOP;
    *state = s;
    return LC_OK;
}

/* Number of UTF-8 continuation bytes in p[0..n), 8 bytes at a time. */
static uint64_t count_cont(const char *p, size_t n) {
    const uint64_t hi = UINT64_C(0x8080808080808080);
    uint64_t c = 0;
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t w, x;
        memcpy(&w, p + i, 8);
        x = w & ~(w << 1) & hi; /* bit 7 set, bit 6 clear */
        while (x) {
            x &= x - 1;
            c++;
        }
    }
    for (; i < n; i++)
        c += ((unsigned char)p[i] & 0xC0) == 0x80;
    return c;
}

/* Column cursor over the current line: positions are asked for in
 * increasing order, so a minified one-line document costs O(n) in
 * total, not O(n) per element. */
typedef struct colcur {
    const char *p;
    size_t len, i;
    uint64_t col, line, off;
} colcur;

static lci_pos pos_at(colcur *c, size_t k) {
    lci_pos q;
    if (k > c->len)
        k = c->len;
    if (k < c->i) {
        c->i = 0;
        c->col = 1;
    }
    c->col += (k - c->i) - count_cont(c->p + c->i, k - c->i);
    c->i = k;
    q.line = c->line;
    q.col = c->col;
    q.off = c->off + k;
    return q;
}

/* Report an error for the record starting at rec, pointing at `at`. */
static lc_status js_error(json_state *s, lc_reader *r, lci_pos rec,
                          lci_pos at, lc_status status, const char *msg) {
    s->state = J_FAILED;
    if (s->bare)
        return lci_conv_diag(s->bare, status, LC_SEVERITY_ERROR, at.line,
                             at.col, at.off, -1, "%s", msg);
    return lci_reader_emit_error(r, rec.line, rec.off, status, at.line,
                                 at.col, at.off, "%s", msg);
}

static bool message_like(struct json_object *o) {
    return json_object_get_type(o) == json_type_object &&
           !json_object_object_get_ex(o, "messages", NULL) &&
           !json_object_object_get_ex(o, "conversations", NULL) &&
           (json_object_object_get_ex(o, "role", NULL) ||
            json_object_object_get_ex(o, "from", NULL));
}

/* The conversation of the array element or top-level object starting at
 * s->vpos, with its default id. */
static lc_status elem_conv(json_state *s, lc_reader *r, lc_conversation **out) {
    lc_conversation *c;
    lc_status st = lci_reader_conv_new(r, s->vpos.line, s->vpos.off, &c);
    *out = NULL;
    if (st != LC_OK)
        return st;
    if (s->in_array && s->index > 1 && s->vpos.line == s->last_elem_line) {
        char id[64];
        lci_buf b;
        lci_buf_init(&b, c->alloc);
        snprintf(id, sizeof id, ":%llu", (unsigned long long)s->vpos.col);
        st = lci_buf_append(&b, c->id, strlen(c->id));
        if (st == LC_OK)
            st = lci_buf_append(&b, id, strlen(id));
        if (st == LC_OK)
            st = lci_conv_set_id(c, b.data, b.len);
        lci_buf_free(&b);
    }
    s->last_elem_line = s->vpos.line;
    if (st != LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    *out = c;
    return LC_OK;
}

/* The value starting at p[i] (s->vpos) without json-c, when all of it is
 * on this line and it is a record the fast path takes (json_scan.c): its
 * conversation as value_done makes it, *end just past it. 0: feed it to
 * json-c (*st LC_OK, or LC_ERR_NOMEM). */
static int fast_value(json_state *s, lc_reader *r, const char *p, size_t len,
                      size_t i, size_t *end, lc_status *st) {
    lci_json *j = lci_reader_json(r);
    lci_json_src src;
    lc_conversation *c;
    size_t e;
    *st = LC_OK;
    if (s->bare || p[i] != '{' ||
        !lci_json_fast_scan(j, lci_reader_config(r), p + i, len - i, &e, st))
        return 0;
    e += i; /* the record's end on this line */
    /* value_done: a record with "messages" is not message-like */
    s->index++;
    if ((*st = elem_conv(s, r, &c)) != LC_OK)
        return 1;
    src = lci_json_src_text(p + i, e - i, s->vpos, 0);
    *st = lci_json_fast_build(j, c, &src);
    if (*st == LC_OK && lci_conv_first_repaired(c) > 0)
        *st = lci_json_utf8_turns(c, &src, 0, 0);
    if (*st != LC_OK)
        lc_conversation_free(c);
    else
        *st = lci_reader_emit(r, c);
    *end = e;
    return 1;
}

/* A value is complete: make its conversation (or turn). Consumes o.
 * raw[0..rawlen) is its text when it starts and ends on the current
 * line (diagnostics then point into it), else raw is NULL: the text of
 * a value spanning lines is not kept, and its diagnostics point at its
 * start and name the message by index. */
static lc_status value_done(json_state *s, lc_reader *r,
                            struct json_object *o, const char *raw,
                            size_t rawlen) {
    lci_json *j = lci_reader_json(r);
    lci_json_src src;
    lc_conversation *c;
    lc_status st;
    s->index++;
    if (s->in_array && s->index == 1 && message_like(o)) {
        st = lci_reader_conv_new(r, s->doc.line, s->doc.off, &s->bare);
        if (st != LC_OK)
            goto out;
    }
    src = raw ? lci_json_src_text(raw, rawlen, s->vpos, s->bare != NULL)
              : lci_json_src_at(s->vpos, s->bare != NULL);
    if (s->bare) {
        size_t before = s->bare->nturns;
        st = LC_OK;
        if (s->bare->status == LC_OK)
            st = lci_json_message_src(j, s->bare, o, &src, s->index);
        if (st == LC_OK && s->bare->nturns > before)
            st = lci_json_utf8_turns(s->bare, &src, before, s->index);
        goto out;
    }
    st = elem_conv(s, r, &c);
    if (st != LC_OK)
        goto out;
    st = lci_json_conversation(j, c, o, &src);
    if (st == LC_OK && lci_conv_first_repaired(c) > 0)
        st = lci_json_utf8_turns(c, &src, 0, 0);
    if (st != LC_OK)
        lc_conversation_free(c);
    else
        st = lci_reader_emit(r, c);
out:
    json_object_put(o);
    return st;
}

static void begin_value(json_state *s, lc_reader *r, lci_pos at,
                        int in_array) {
    s->vpos = at;
    s->in_array = in_array;
    s->state = J_VALUE;
    lci_json_stream_reset(lci_reader_json(r));
}

static lc_status flush_bare(json_state *s, lc_reader *r) {
    lc_conversation *c = s->bare;
    s->bare = NULL;
    if (!c)
        return LC_OK;
    if (c->status == LC_OK && c->nturns == 0) {
        lc_status st = lci_conv_diag(c, LC_ERR_EMPTY, LC_SEVERITY_ERROR,
                                     c->line, 1, s->doc.off, -1,
                                     "conversation has no messages");
        if (st != LC_OK) {
            lc_conversation_free(c);
            return st;
        }
    }
    return lci_reader_emit(r, c);
}

static lc_status js_line(void *state, lc_reader *r, const char *p,
                         size_t len, uint64_t line, uint64_t off) {
    json_state *s = state;
    lci_json *j = lci_reader_json(r);
    size_t i = 0;
    lc_status st;
    colcur cc;

    cc.p = p;
    cc.len = len;
    cc.i = 0;
    cc.col = 1;
    cc.line = line;
    cc.off = off;
    /* end of this line (for errors at end of data) */
    s->end.line = line;
    s->end.col = len + 1 - count_cont(p, len);
    s->end.off = off + len;
    for (;;) {
        char ch;
        if (s->state == J_FAILED)
            return LC_OK;
        if (s->state == J_VALUE) {
            struct json_object *o;
            size_t used;
            lci_json_err err;
            /* the value's text, if it started on this line */
            const char *vp =
                s->vpos.line == line ? p + (s->vpos.off - off) : NULL;
            size_t e = 0;
            if (vp == p + i) { /* nothing fed yet: all of it here? */
                int took = fast_value(s, r, p, len, i, &e, &st);
                if (st != LC_OK)
                    return st;
                if (took) {
                    i = e;
                    s->state = s->in_array ? J_ARR_SEP : J_TOP;
                    continue;
                }
            }
            st = lci_json_stream_feed(j, p + i, len - i, &o, &used, &err);
            if (st == LC_NEED_INPUT) {
                /* the line break separates tokens */
                st = lci_json_stream_feed(j, "\n", 1, &o, &used, &err);
                if (st == LC_NEED_INPUT)
                    return LC_OK;
                if (st == LC_OK) {
                    s->state = s->in_array ? J_ARR_SEP : J_TOP;
                    return value_done(s, r, o, vp,
                                      vp ? (size_t)(p + len - vp) : 0);
                }
                return js_error(s, r, s->vpos, s->end, err.status, err.msg);
            }
            if (st == LC_OK) {
                i += used;
                s->state = s->in_array ? J_ARR_SEP : J_TOP;
                if ((st = value_done(s, r, o, vp,
                                     vp ? (size_t)(p + i - vp) : 0)) != LC_OK)
                    return st;
                continue;
            }
            if (st == LC_ERR_NOMEM)
                return st;
            return js_error(s, r, s->vpos, pos_at(&cc, i + err.off),
                            err.status, err.msg);
        }
        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i == len)
            return LC_OK;
        ch = p[i];
        switch (s->state) {
        case J_TOP:
            if (!s->seen_top)
                s->doc = pos_at(&cc, i);
            if (ch == '[' && !s->seen_top) {
                s->seen_top = 1;
                s->state = J_ARR_FIRST;
                i++;
                continue;
            }
            if (ch == '{') {
                s->seen_top = 1;
                begin_value(s, r, pos_at(&cc, i), 0);
                continue;
            }
            {
                lci_pos at = pos_at(&cc, i);
                return js_error(s, r, at, at, LC_ERR_SYNTAX,
                                s->seen_top
                                    ? "trailing content after the JSON "
                                      "document"
                                    : "expected '[' or '{'");
            }
        case J_ARR_FIRST:
        case J_ARR_NEXT:
            if (ch == ']' && s->state == J_ARR_FIRST) {
                s->state = J_DONE;
                i++;
                continue;
            }
            if (ch == ']') {
                lci_pos at = pos_at(&cc, i);
                return js_error(s, r, at, at, LC_ERR_SYNTAX,
                                "expected a value after ','");
            }
            begin_value(s, r, pos_at(&cc, i), 1);
            continue;
        case J_ARR_SEP:
            if (ch == ',') {
                s->state = J_ARR_NEXT;
                i++;
                continue;
            }
            if (ch == ']') {
                s->state = J_DONE;
                i++;
                if ((st = flush_bare(s, r)) != LC_OK)
                    return st;
                continue;
            }
            {
                lci_pos at = pos_at(&cc, i);
                return js_error(s, r, at, at, LC_ERR_SYNTAX,
                                "expected ',' or ']' after an array element");
            }
        case J_DONE:
        default: {
            lci_pos at = pos_at(&cc, i);
            return js_error(s, r, at, at, LC_ERR_SYNTAX,
                            "trailing content after the JSON document");
        }
        }
    }
}

static lc_status js_overlong(void *state, lc_reader *r, uint64_t line,
                             uint64_t off, uint64_t len) {
    json_state *s = state;
    lci_pos at;
    char msg[128];
    if (s->state == J_FAILED)
        return LC_OK;
    at.line = line;
    at.col = 1;
    at.off = off;
    snprintf(msg, sizeof msg,
             "line of %llu bytes exceeds max_line_bytes (%lld)",
             (unsigned long long)len,
             (long long)lci_opt(lci_reader_config(r), LC_OPT_MAX_LINE_BYTES));
    return js_error(s, r, s->state == J_VALUE ? s->vpos : at, at,
                    LC_ERR_LIMIT, msg);
}

static lc_status js_finish(void *state, lc_reader *r) {
    json_state *s = state;
    lc_status st = LC_OK;
    if (s->state == J_VALUE) {
        struct json_object *o;
        lci_json_err err;
        st = lci_json_stream_end(lci_reader_json(r), &o, &err);
        if (st == LC_OK) {
            s->state = s->in_array ? J_ARR_SEP : J_TOP;
            if ((st = value_done(s, r, o, NULL, 0)) != LC_OK)
                return st;
        } else {
            st = js_error(s, r, s->vpos, s->end, LC_ERR_SYNTAX,
                          "unexpected end of data inside a JSON value");
        }
    }
    if (st == LC_OK && (s->state == J_ARR_FIRST || s->state == J_ARR_NEXT ||
                        s->state == J_ARR_SEP))
        st = js_error(s, r, s->doc, s->end, LC_ERR_SYNTAX,
                      "unexpected end of data: missing ']'");
    if (st != LC_OK)
        return st;
    return flush_bare(s, r);
}

static void js_destroy(void *state, const lci_alloc *a) {
    json_state *s = state;
    lc_conversation_free(s->bare);
    lci_free(a, s);
}

const lci_format_vt lci_format_json = {
    LC_FORMAT_JSON, "json", js_create, js_line, js_overlong, js_finish,
    js_destroy,
};
