/*
 * json.c - the one adapter over json-c.
 *
 * One lci_json per reader holds two reusable tokeners with the depth
 * limit LC_OPT_MAX_DEPTH: a strict one for whole values (a JSONL line,
 * tool-call arguments) and an incremental one for JSON documents that
 * span lines. json-c errors become LC_ERR_SYNTAX / LC_ERR_LIMIT with the
 * byte offset of the failing character; callers turn that into
 * line/column with lci_locate().
 *
 * It also maps parsed trees onto turns: OpenAI chat messages (content
 * as string, null, list of parts, or - with a warning - any other JSON
 * value), assistant tool_calls / function_call in a canonical text form
 * ("tool_call NAME {sorted-key JSON}") so identical calls hash
 * identically, and ShareGPT {"from","value"} messages. Diagnostics point
 * at the offending element: json-c keeps no offsets, so a small scanner
 * finds it in the record's raw text when one is written (lci_json_src).
 *
 * Records of the common shape never reach json-c: json_scan.c finds
 * where their strings are and lci_json_fast_conversation (below) builds
 * the turns json-c's tree would give, through the same helpers (the
 * tree path stays the reference, tests/unit/test_json_fast.c).
 *
 * json-c notes (0.16): the parse trees use the process malloc (accepted,
 * they live for one record); duplicate object keys keep the LAST value,
 * silently (json-c gives no cheap way to detect them); lone surrogates
 * in \u escapes come back as U+FFFD; NaN/Infinity and single-quoted
 * strings are accepted even in strict mode.
 */
#include "input.h"

#include <json-c/json.h>

#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct lci_json {
    const lci_alloc *a;
    struct json_tokener *tok;  /* strict, whole values */
    struct json_tokener *stok; /* strict + trailing chars, incremental */
    int depth;
    int tok_dirty, stok_dirty; /* saw an error: replace before reuse */
    size_t stok_fed;           /* bytes fed to stok since its reset */
    lci_buf msg; /* a message's text when it is not one string (parts,
                    tool calls), kept for the next message up to
                    JSON_MSG_KEEP bytes of room */
    /* the fast path (lci_json_fast_conversation) */
    int no_fast;
    size_t fast_taken, fast_declined;
    lci_jrec rec; /* where the scan found a record's strings */
    lci_buf arg;  /* a tool call's arguments, unescaped */
};

#define JSON_MSG_KEEP ((size_t)1 << 20)

#define TOK_FLAGS JSON_TOKENER_STRICT
#define STOK_FLAGS (JSON_TOKENER_STRICT | JSON_TOKENER_ALLOW_TRAILING_CHARS)

/* json-c 0.16's json_tokener_reset() keeps the pending high surrogate of
 * a "\uD83D" escape whose parse failed, so the next value's first \u
 * escape pairs with it (or becomes U+FFFD): a broken line would change
 * the text of the next record. A tokener that failed is therefore
 * replaced by a fresh one before its next use (found by fuzz_reader:
 * normal and deferred parsing differed). Returns 0 on allocation
 * failure (the old tokener is kept). */
/* Records longer than this get a fresh tokener afterwards (see
 * lci_json_parse). */
#define TOK_KEEP (1u << 20)

static int renew(struct json_tokener **t, int depth, int flags) {
    struct json_tokener *n = json_tokener_new_ex(depth);
    if (!n)
        return 0;
    json_tokener_set_flags(n, flags);
    if (*t)
        json_tokener_free(*t);
    *t = n;
    return 1;
}

lc_status lci_json_new(const lci_alloc *a, int depth, lci_json **out) {
    lci_json *j;
    *out = NULL;
    j = lci_calloc(a, 1, sizeof *j);
    if (!j)
        return LC_ERR_NOMEM;
    j->a = a;
    j->depth = depth;
    lci_buf_init(&j->msg, a);
    lci_buf_init(&j->arg, a);
    j->rec.a = a;
    /* both tokeners are made on first use (*_dirty: see renew()): most
     * records never reach json-c (json_scan.c), only the JSON-document
     * format needs the incremental one, and lc_conversation_parse makes
     * one lci_json per conversation */
    j->tok = NULL;
    j->tok_dirty = 1;
    j->stok = NULL;
    j->stok_dirty = 1;
    *out = j;
    return LC_OK;
}

int lci_json_depth(const lci_json *j) {
    return j->depth;
}

void lci_json_free(lci_json *j) {
    if (!j)
        return;
    if (j->tok)
        json_tokener_free(j->tok);
    if (j->stok)
        json_tokener_free(j->stok);
    lci_buf_free(&j->msg);
    lci_buf_free(&j->arg);
    lci_jrec_free(&j->rec);
    lci_free(j->a, j);
}

/* Fill err from a json-c error. `p`/`len` is the chunk last passed and
 * `end` json-c's parse end within it. */
static void set_err(lci_json *j, lci_json_err *err,
                    enum json_tokener_error e, const char *p, size_t len,
                    size_t end) {
    size_t off = end;
    if (off > len)
        off = len;
    if (e == json_tokener_error_depth) {
        err->status = LC_ERR_LIMIT;
        snprintf(err->msg, sizeof err->msg,
                 "JSON nested deeper than %d levels (max_depth)", j->depth);
    } else if (off > 0 && p[off - 1] == '\0') {
        /* json-c stops one past a raw NUL byte */
        off--;
        err->status = LC_ERR_SYNTAX;
        snprintf(err->msg, sizeof err->msg, "NUL byte in JSON text");
    } else {
        unsigned char ch = off < len ? (unsigned char)p[off] : 0;
        err->status = LC_ERR_SYNTAX;
        if (off < len && ch > 0x20 && ch < 0x7F)
            snprintf(err->msg, sizeof err->msg, "%s at '%c'",
                     json_tokener_error_desc(e), ch);
        else
            snprintf(err->msg, sizeof err->msg, "%s",
                     json_tokener_error_desc(e));
    }
    err->off = off;
    err->incomplete = 0;
}

static void set_eof_err(lci_json_err *err, size_t len, const char *what) {
    err->status = LC_ERR_SYNTAX;
    err->off = len;
    err->incomplete = 1;
    snprintf(err->msg, sizeof err->msg, "unexpected end of %s", what);
}

/* An error at offset 0 of the value, with a fixed message. */
static void set_msg_err(lci_json_err *err, lc_status st, const char *msg) {
    err->status = st;
    err->off = 0;
    err->incomplete = 0;
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

/* Replace *t by a fresh tokener if *dirty (see renew()). 0: out of
 * memory, reported in err. */
static int ready(lci_json *j, struct json_tokener **t, int *dirty, int flags,
                 lci_json_err *err) {
    if (*dirty) {
        if (!renew(t, j->depth, flags)) {
            set_msg_err(err, LC_ERR_NOMEM, "out of memory");
            return 0;
        }
        *dirty = 0;
    }
    return 1;
}

struct json_object *lci_json_parse(lci_json *j, const char *text, size_t len,
                                   lci_json_err *err) {
    struct json_object *o;
    enum json_tokener_error e;
    if (len > INT_MAX) {
        set_msg_err(err, LC_ERR_LIMIT, "JSON value larger than 2 GiB");
        return NULL;
    }
    if (!ready(j, &j->tok, &j->tok_dirty, TOK_FLAGS, err))
        return NULL;
    j->tok_dirty = 1; /* until the parse succeeds */
    json_tokener_reset(j->tok);
    o = json_tokener_parse_ex(j->tok, text, (int)len);
    e = json_tokener_get_error(j->tok);
    if (e == json_tokener_continue) {
        /* The terminating NUL completes a bare number. */
        o = json_tokener_parse_ex(j->tok, "", 1);
        e = json_tokener_get_error(j->tok);
        if (e == json_tokener_error_depth) {
            set_err(j, err, e, text, len, len);
            return NULL;
        }
        if (e != json_tokener_success) {
            set_eof_err(err, len, "line");
            return NULL;
        }
    }
    if (e == json_tokener_success) {
        j->tok_dirty = 0;
        if (len > TOK_KEEP) {
            /* json-c keeps the buffer of the longest string it has
             * read: after a long record, drop the tokener (a new one is
             * made for the next record) before the turns are built */
            json_tokener_free(j->tok);
            j->tok = NULL;
            j->tok_dirty = 1;
        }
        /* strict mode already rejects trailing non-blank bytes */
        if (!o) /* json-c represents JSON null as NULL */
            set_msg_err(err, LC_ERR_SCHEMA,
                        "expected a JSON object, got null");
        return o;
    }
    set_err(j, err, e, text, len, json_tokener_get_parse_end(j->tok));
    return NULL;
}

void lci_json_stream_reset(lci_json *j) {
    if (j->stok)
        json_tokener_reset(j->stok);
    j->stok_fed = 0;
}

lc_status lci_json_stream_feed(lci_json *j, const char *p, size_t len,
                               struct json_object **out, size_t *used,
                               lci_json_err *err) {
    enum json_tokener_error e;
    size_t done = 0;
    *out = NULL;
    *used = 0;
    if (!ready(j, &j->stok, &j->stok_dirty, STOK_FLAGS, err))
        return LC_ERR_NOMEM;
    /* json-c takes int lengths: feed in slices. */
    while (done < len) {
        size_t n = len - done;
        struct json_object *o;
        if (n > (size_t)INT_MAX / 2)
            n = (size_t)INT_MAX / 2;
        o = json_tokener_parse_ex(j->stok, p + done, (int)n);
        e = json_tokener_get_error(j->stok);
        if (e == json_tokener_success) {
            *out = o;
            *used = done + json_tokener_get_parse_end(j->stok);
            j->stok_fed += *used;
            if (j->stok_fed > TOK_KEEP) {
                /* a long element: as in lci_json_parse, do not keep
                 * json-c's buffer of its longest string */
                json_tokener_free(j->stok);
                j->stok = NULL;
                j->stok_dirty = 1;
            }
            return LC_OK;
        }
        if (e != json_tokener_continue) {
            j->stok_dirty = 1;
            set_err(j, err, e, p + done, n,
                    json_tokener_get_parse_end(j->stok));
            err->off += done;
            return err->status;
        }
        done += n;
    }
    *used = len;
    j->stok_fed += len;
    return LC_NEED_INPUT;
}

lc_status lci_json_stream_end(lci_json *j, struct json_object **out,
                              lci_json_err *err) {
    if (j->stok) { /* else nothing was fed: no value */
        *out = json_tokener_parse_ex(j->stok, "", 1);
        if (json_tokener_get_error(j->stok) == json_tokener_success)
            return LC_OK;
        j->stok_dirty = 1;
    }
    *out = NULL;
    set_eof_err(err, 0, "data");
    return LC_ERR_SYNTAX;
}

/* ------------------------------------------------------------------ */
/* Canonical JSON                                                       */
/* ------------------------------------------------------------------ */

static int cmp_keys(const void *x, const void *y) {
    const char *const *a = x;
    const char *const *b = y;
    return strcmp(*a, *b);
}

lc_status lci_json_canonical(const struct json_object *cv, lci_buf *out) {
    struct json_object *v = (struct json_object *)(uintptr_t)cv;
    lc_status st;
    switch (json_object_get_type(v)) {
    case json_type_null:
        return lci_buf_append(out, "null", 4);
    case json_type_string:
        return lci_buf_json_str(out, json_object_get_string(v),
                                (size_t)json_object_get_string_len(v));
    case json_type_array: {
        size_t i, n = json_object_array_length(v);
        if ((st = lci_buf_putc(out, '[')) != LC_OK)
            return st;
        for (i = 0; i < n; i++) {
            if (i && (st = lci_buf_putc(out, ',')) != LC_OK)
                return st;
            st = lci_json_canonical(json_object_array_get_idx(v, i), out);
            if (st != LC_OK)
                return st;
        }
        return lci_buf_putc(out, ']');
    }
    case json_type_object: {
        size_t n = (size_t)json_object_object_length(v), i = 0, bytes;
        /* tool-call arguments mostly have a few keys: no allocation */
        const char *few[16], **keys = few;
        if ((st = lci_buf_putc(out, '{')) != LC_OK)
            return st;
        if (n == 0)
            return lci_buf_putc(out, '}');
        if (n > sizeof few / sizeof few[0]) {
            if (!lci_mul_ok(n, sizeof *keys, &bytes))
                return LC_ERR_NOMEM;
            keys = lci_malloc(out->alloc, bytes);
            if (!keys)
                return LC_ERR_NOMEM;
        }
        {
            json_object_object_foreach(v, key, val) {
                (void)val;
                if (i < n)
                    keys[i++] = key;
            }
        }
        n = i;
        qsort(keys, n, sizeof *keys, cmp_keys);
        st = LC_OK;
        for (i = 0; i < n && st == LC_OK; i++) {
            struct json_object *val = NULL;
            if (i && (st = lci_buf_putc(out, ',')) != LC_OK)
                break;
            if ((st = lci_buf_json_str(out, keys[i], strlen(keys[i]))) !=
                LC_OK)
                break;
            if ((st = lci_buf_putc(out, ':')) != LC_OK)
                break;
            json_object_object_get_ex(v, keys[i], &val);
            st = lci_json_canonical(val, out);
        }
        if (keys != few)
            lci_free(out->alloc, keys);
        if (st != LC_OK)
            return st;
        return lci_buf_putc(out, '}');
    }
    case json_type_boolean:
    case json_type_int:
    case json_type_double:
    default: {
        /* json-c keeps a double's source spelling ("1.50e0"). */
        const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
        if (!s)
            return LC_ERR_NOMEM;
        return lci_buf_append(out, s, strlen(s));
    }
    }
}

/* ------------------------------------------------------------------ */
/* Messages                                                             */
/* ------------------------------------------------------------------ */

static struct json_object *get(struct json_object *o, const char *key) {
    struct json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v))
        return NULL;
    return v;
}

static const char *type_name(struct json_object *v) {
    switch (json_object_get_type(v)) {
    case json_type_null: return "null";
    case json_type_boolean: return "boolean";
    case json_type_double:
    case json_type_int: return "number";
    case json_type_object: return "object";
    case json_type_array: return "array";
    case json_type_string: return "string";
    }
    return "value";
}

static bool is_str(struct json_object *v) {
    return v && json_object_get_type(v) == json_type_string;
}

static lc_status put_str(lci_buf *b, struct json_object *s) {
    return lci_buf_append(b, json_object_get_string(s),
                          (size_t)json_object_get_string_len(s));
}

/* Separator between pieces of one turn's text. */
static lc_status sep(lci_buf *b) {
    return b->len ? lci_buf_putc(b, '\n') : LC_OK;
}

static lc_status tool_call(lci_json *j, struct json_object *call,
                           lci_buf *b);

static bool type_is(struct json_object *ty, const char *name) {
    return is_str(ty) && strcmp(json_object_get_string(ty), name) == 0;
}

/* Content as a list of parts: text parts verbatim; Anthropic-style
 * "tool_use" parts as canonical tool calls (flag LC_TURN_TOOL_CALL) and
 * "tool_result" parts as their content; other part types as a
 * placeholder "[image_url]" (so the turn is not silently empty). */
static lc_status content_parts(lci_json *j, struct json_object *arr,
                               lci_buf *b, unsigned *flags, int depth) {
    size_t i, n = json_object_array_length(arr);
    lc_status st = LC_OK;
    for (i = 0; i < n && st == LC_OK; i++) {
        struct json_object *p = json_object_array_get_idx(arr, i), *t, *ty;
        if (is_str(p)) {
            if ((st = sep(b)) == LC_OK)
                st = put_str(b, p);
            continue;
        }
        if (!p || json_object_get_type(p) != json_type_object) {
            if ((st = sep(b)) == LC_OK)
                st = lci_buf_printf(b, "[%s]", type_name(p));
            continue;
        }
        ty = get(p, "type");
        t = get(p, "text");
        if ((st = sep(b)) != LC_OK)
            break;
        if (is_str(t) &&
            (!ty || (is_str(ty) && strstr(json_object_get_string(ty), "text")))) {
            st = put_str(b, t);
        } else if (type_is(ty, "tool_use")) {
            st = tool_call(j, p, b);
            *flags |= LC_TURN_TOOL_CALL;
        } else if (type_is(ty, "tool_result") && get(p, "content")) {
            struct json_object *rc = get(p, "content");
            if (is_str(rc))
                st = put_str(b, rc);
            else if (json_object_get_type(rc) == json_type_array && depth == 0)
                st = content_parts(j, rc, b, flags, 1);
            else
                st = lci_json_canonical(rc, b);
        } else {
            st = lci_buf_printf(b, "[%s]",
                                is_str(ty) ? json_object_get_string(ty)
                                           : "part");
        }
    }
    return st;
}

/* ------------------------------------------------------------------ */
/* Flat tool-call arguments                                             */
/* ------------------------------------------------------------------ */

/*
 * Tool-call arguments are mostly JSON text holding a flat object of
 * strings and integers ({"path": "src/a.py", "line": 12}). Parsing each
 * with json-c and walking the tree (a tokener pass with its locale
 * switch, a hash table, the canonical walk) cost about 9,000
 * instructions per call on the bench corpus; lci_json_flat_args writes
 * the canonical form of such an object straight from the text: members
 * sorted by key in byte order (strcmp's order: keys hold no NUL), values
 * as written. It takes only text that json-c parses, and whose
 * canonical form is that:
 *  - strings of bytes >= 0x20 other than '"' and '\' (no escapes: the
 *    text between the quotes is the value, and lci_buf_json_str writes
 *    it back unchanged);
 *  - integers of 1 to 18 digits, no leading zero, not -0 (json-c writes
 *    it 0); true, false, null;
 *  - spaces (only) around the punctuation, nothing before '{' or after
 *    '}', at most 16 members, no key twice (json-c keeps the last).
 * Anything else (fractions, escapes, nesting...) returns 0 with b
 * untouched, and the caller takes the json-c path, which also decides
 * what is not JSON. A flat object needs max_depth 2; the least allowed
 * is 4.
 */
#define FLAT_MAX 16

typedef struct flat_member {
    const char *k, *v; /* key without its quotes; value as written */
    size_t klen, vlen;
} flat_member;

static size_t flat_ws(const char *p, size_t n, size_t i) {
    while (i < n && p[i] == ' ')
        i++;
    return i;
}

/* p[i] == '"': index past the closing quote, 0 if not a plain string */
static size_t flat_str(const char *p, size_t n, size_t i) {
    for (i++; i < n; i++) {
        unsigned char ch = (unsigned char)p[i];
        if (ch == '"')
            return i + 1;
        if (ch < 0x20 || ch == '\\')
            return 0;
    }
    return 0;
}

/* A value at p[i]: index past it, 0 if not one the fast path takes (the
 * caller checks that ',' or '}' follows: "nullx" and "1.5" stop there) */
static size_t flat_value(const char *p, size_t n, size_t i) {
    size_t d;
    int neg;
    if (i >= n)
        return 0;
    if (p[i] == '"')
        return flat_str(p, n, i);
    if (n - i >= 4 &&
        (memcmp(p + i, "true", 4) == 0 || memcmp(p + i, "null", 4) == 0))
        return i + 4;
    if (n - i >= 5 && memcmp(p + i, "false", 5) == 0)
        return i + 5;
    neg = p[i] == '-';
    d = i = i + (size_t)neg;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == d || i - d > 18 || (p[d] == '0' && (i - d > 1 || neg)))
        return 0;
    return i;
}

/* strcmp's order on keys without NUL bytes */
static int flat_cmp(const flat_member *x, const flat_member *y) {
    size_t n = x->klen < y->klen ? x->klen : y->klen;
    int c = n ? memcmp(x->k, y->k, n) : 0;
    if (c)
        return c;
    return x->klen < y->klen ? -1 : x->klen > y->klen;
}

int lci_json_flat_args(const char *p, size_t n, lci_buf *b, lc_status *st) {
    flat_member m[FLAT_MAX], t;
    size_t i, k, cnt = 0, bytes = 2;
    /* over INT_MAX, lci_json_parse refuses the text: so do we */
    if (n < 2 || n > INT_MAX || p[0] != '{')
        return 0;
    i = flat_ws(p, n, 1);
    if (i < n && p[i] != '}') {
        for (;;) {
            size_t ke, vs, ve;
            if (i >= n || p[i] != '"' || cnt == FLAT_MAX ||
                (ke = flat_str(p, n, i)) == 0)
                return 0;
            m[cnt].k = p + i + 1;
            m[cnt].klen = ke - i - 2;
            i = flat_ws(p, n, ke);
            if (i >= n || p[i] != ':')
                return 0;
            vs = flat_ws(p, n, i + 1);
            if ((ve = flat_value(p, n, vs)) == 0)
                return 0;
            m[cnt].v = p + vs;
            m[cnt].vlen = ve - vs;
            bytes += m[cnt].klen + m[cnt].vlen + 4; /* "": and , */
            cnt++;
            i = flat_ws(p, n, ve);
            if (i < n && p[i] == ',') {
                i = flat_ws(p, n, i + 1);
                continue;
            }
            break;
        }
    }
    if (i + 1 != n || p[i] != '}')
        return 0;
    for (i = 1; i < cnt; i++) { /* insertion sort: a few members */
        t = m[i];
        for (k = i; k > 0 && flat_cmp(&m[k - 1], &t) > 0; k--)
            m[k] = m[k - 1];
        m[k] = t;
    }
    for (i = 1; i < cnt; i++)
        if (flat_cmp(&m[i - 1], &m[i]) == 0)
            return 0; /* a duplicate: json-c keeps the last one */
    if ((*st = lci_buf_reserve(b, bytes)) != LC_OK)
        return 1;
    b->data[b->len++] = '{';
    for (i = 0; i < cnt; i++) {
        char *o = b->data + b->len;
        if (i)
            *o++ = ',';
        *o++ = '"';
        if (m[i].klen)
            memcpy(o, m[i].k, m[i].klen);
        o += m[i].klen;
        *o++ = '"';
        *o++ = ':';
        memcpy(o, m[i].v, m[i].vlen);
        o += m[i].vlen;
        b->len = (size_t)(o - b->data);
    }
    b->data[b->len++] = '}';
    return 1;
}

/* Arguments given as the string s[0..n): ' ' and its canonical JSON if
 * it holds JSON (a flat object without json-c, see above), else ' ' and
 * the string as written. */
static lc_status args_str(lci_json *j, const char *s, size_t n,
                          lci_buf *b) {
    lci_json_err err;
    struct json_object *o;
    lc_status st = lci_buf_putc(b, ' ');
    if (st == LC_OK && lci_json_flat_args(s, n, b, &st))
        return st;
    o = lci_json_parse(j, s, n, &err);
    if (!o && err.status == LC_ERR_NOMEM)
        return LC_ERR_NOMEM;
    if (!o) /* not JSON: keep the string as written */
        return st == LC_OK ? lci_buf_append(b, s, n) : st;
    if (st == LC_OK)
        st = lci_json_canonical(o, b);
    json_object_put(o);
    return st;
}

/* Arguments: an object/array -> canonical JSON; a string holding JSON
 * -> parsed and canonicalized (a flat object without json-c, see
 * above); any other string kept verbatim. */
static lc_status tool_args(lci_json *j, struct json_object *args,
                           lci_buf *b) {
    if (!args)
        return LC_OK;
    if (is_str(args))
        return args_str(j, json_object_get_string(args),
                        (size_t)json_object_get_string_len(args), b);
    if (lci_buf_putc(b, ' ') != LC_OK)
        return LC_ERR_NOMEM;
    return lci_json_canonical(args, b);
}

/* One call: {"function":{"name","arguments"}} (OpenAI tool_calls),
 * {"name","arguments"} (legacy function_call) or {"type","input"}. */
static lc_status tool_call(lci_json *j, struct json_object *call,
                           lci_buf *b) {
    struct json_object *fn = call, *name, *args;
    lc_status st;
    if (json_object_get_type(call) != json_type_object) {
        if ((st = lci_buf_append(b, "tool_call ", 10)) != LC_OK)
            return st;
        return lci_json_canonical(call, b);
    }
    if (get(call, "function") &&
        json_object_get_type(get(call, "function")) == json_type_object)
        fn = get(call, "function");
    name = get(fn, "name");
    if (!is_str(name))
        name = get(call, "type");
    args = get(fn, "arguments");
    if (!args)
        args = get(fn, "input");
    if ((st = lci_buf_append(b, "tool_call ", 10)) != LC_OK)
        return st;
    if (is_str(name))
        st = put_str(b, name);
    else
        st = lci_buf_append(b, "?", 1);
    if (st != LC_OK)
        return st;
    return tool_args(j, args, b);
}

/* ------------------------------------------------------------------ */
/* Source positions of elements (diagnostics only)                      */
/* ------------------------------------------------------------------ */

/* A raw-text scanner over a value json-c parsed already (so it is
 * well-formed: no error handling beyond staying inside p[0..n)). It
 * runs only when a diagnostic is written. Single-quoted strings are
 * skipped too: json-c accepts them even in strict mode. */

static size_t sk_ws(const char *p, size_t n, size_t i) {
    while (i < n && (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' ||
                     p[i] == '\r' || p[i] == '\f'))
        i++;
    return i;
}

/* i at a quote: just past the closing one */
static size_t sk_str(const char *p, size_t n, size_t i) {
    char q = p[i];
    for (i++; i < n; i++) {
        if (p[i] == '\\')
            i++;
        else if (p[i] == q)
            return i + 1;
    }
    return n;
}

/* i at a value: just past it */
static size_t sk_val(const char *p, size_t n, size_t i) {
    size_t depth = 0;
    if (i < n && (p[i] == '"' || p[i] == '\''))
        return sk_str(p, n, i);
    if (i < n && p[i] != '{' && p[i] != '[') {
        while (i < n && p[i] != ',' && p[i] != '}' && p[i] != ']' &&
               p[i] != ' ' && p[i] != '\t' && p[i] != '\n' && p[i] != '\r')
            i++;
        return i;
    }
    while (i < n) {
        char ch = p[i];
        if (ch == '"' || ch == '\'') {
            i = sk_str(p, n, i);
            continue;
        }
        if (ch == '{' || ch == '[')
            depth++;
        else if ((ch == '}' || ch == ']') && --depth == 0)
            return i + 1;
        i++;
    }
    return n;
}

/* Start of the value of the LAST member `key` of the object at p[i]
 * (json-c keeps the last duplicate), SIZE_MAX if none; with nonnull, a
 * null value counts as absent (json-c's get() gives NULL for it). Keys
 * spelled with escapes are not recognised (the caller falls back to the
 * object's start). */
static size_t sk_key(const char *p, size_t n, size_t i, const char *key,
                     int nonnull) {
    size_t found = SIZE_MAX, klen = strlen(key);
    if (i >= n || p[i] != '{')
        return SIZE_MAX;
    i = sk_ws(p, n, i + 1);
    while (i < n && (p[i] == '"' || p[i] == '\'')) {
        size_t ks = i + 1, ke = sk_str(p, n, i);
        int match = ke - ks == klen + 1 && memcmp(p + ks, key, klen) == 0;
        i = sk_ws(p, n, ke);
        if (i >= n || p[i] != ':')
            break;
        i = sk_ws(p, n, i + 1);
        if (match)
            found = i;
        i = sk_ws(p, n, sk_val(p, n, i));
        if (i >= n || p[i] != ',')
            break;
        i = sk_ws(p, n, i + 1);
    }
    if (found != SIZE_MAX && nonnull && n - found >= 4 &&
        memcmp(p + found, "null", 4) == 0)
        return SIZE_MAX;
    return found;
}

/* From element start i of an array, `k` elements on; SIZE_MAX if the
 * array ends first. */
static size_t sk_next(const char *p, size_t n, size_t i, size_t k) {
    while (k-- > 0) {
        i = sk_ws(p, n, sk_val(p, n, i));
        if (i >= n || p[i] != ',')
            return SIZE_MAX;
        i = sk_ws(p, n, i + 1);
    }
    return i < n ? i : SIZE_MAX;
}

lci_json_src lci_json_src_at(lci_pos pos, int is_msg) {
    lci_json_src s;
    memset(&s, 0, sizeof s);
    s.pos = pos;
    s.is_msg = is_msg;
    return s;
}

lci_json_src lci_json_src_text(const char *p, size_t len, lci_pos pos,
                               int is_msg) {
    lci_json_src s = lci_json_src_at(pos, is_msg);
    s.p = p;
    s.len = len;
    s.col = pos.col;
    return s;
}

/* Position of byte k of the raw text (one line: columns count code
 * points, as lci_locate). */
static lci_pos src_pos(lci_json_src *s, size_t k) {
    lci_pos q = s->pos;
    if (!s->p || k == SIZE_MAX)
        return q;
    if (k > s->len)
        k = s->len;
    if (k < s->col_at) { /* back: from the message's start, or the top */
        if (s->msg_col_at && k >= s->msg_col_at) {
            s->col_at = s->msg_col_at;
            s->col = s->msg_col;
        } else {
            s->col_at = 0;
            s->col = s->pos.col;
        }
    }
    for (; s->col_at < k; s->col_at++)
        s->col += ((unsigned char)s->p[s->col_at] & 0xC0) != 0x80;
    q.col = s->col;
    q.off = s->pos.off + k;
    return q;
}

/* Byte index of message idx (1-based) of src, SIZE_MAX if unknown. */
static size_t src_msg(lci_json_src *s, size_t idx) {
    size_t i;
    if (!s->p)
        return SIZE_MAX;
    if (s->is_msg) {
        i = sk_ws(s->p, s->len, 0);
        return i < s->len ? i : SIZE_MAX;
    }
    if (!idx)
        return SIZE_MAX;
    if (s->msg_idx && idx >= s->msg_idx) {
        i = sk_next(s->p, s->len, s->msg_at, idx - s->msg_idx);
    } else {
        if (!s->arr) {
            size_t top = sk_ws(s->p, s->len, 0);
            size_t a = s->akey ? sk_key(s->p, s->len, top, s->akey, 1)
                               : SIZE_MAX;
            if (a == SIZE_MAX || s->p[a] != '[')
                return SIZE_MAX;
            s->arr = a + 1;
        }
        i = sk_ws(s->p, s->len, s->arr);
        if (i < s->len && s->p[i] == ']')
            return SIZE_MAX;
        i = sk_next(s->p, s->len, i, idx - 1);
    }
    if (i == SIZE_MAX)
        return SIZE_MAX;
    s->msg_idx = idx;
    s->msg_at = i;
    {
        lci_pos q = src_pos(s, i);
        s->msg_col_at = i;
        s->msg_col = q.col;
    }
    return i;
}

/* Byte index of member `key` of message idx, else of the message. */
static size_t src_field(lci_json_src *s, size_t idx, const char *key) {
    size_t m = src_msg(s, idx), v;
    if (m == SIZE_MAX || !key)
        return m;
    v = sk_key(s->p, s->len, m, key, 1);
    return v != SIZE_MAX ? v : m;
}

/* Byte index of member `key` of the top-level object (a conversation,
 * or a message when src->is_msg), else of the object's start. */
static size_t src_top(lci_json_src *s, const char *key) {
    size_t top, v;
    if (!s->p)
        return SIZE_MAX;
    top = sk_ws(s->p, s->len, 0);
    v = key ? sk_key(s->p, s->len, top, key, 0) : SIZE_MAX;
    return v != SIZE_MAX ? v : top;
}

/* First invalid UTF-8 byte inside the value at p[i], SIZE_MAX if none. */
static size_t bad_in(const char *p, size_t n, size_t i) {
    size_t e, b;
    if (i == SIZE_MAX)
        return SIZE_MAX;
    e = sk_val(p, n, i);
    b = lci_utf8_valid_prefix(p + i, e - i);
    return b < e - i ? i + b : SIZE_MAX;
}

/* First invalid byte of the turn text fields of the message at p[m]:
 * its content ("content", else "value"), then tool_calls, then
 * function_call, in the order the turn text is built. */
static size_t msg_text_bad(const char *p, size_t n, size_t m) {
    static const char *const keys[] = {"tool_calls", "function_call"};
    size_t v = sk_key(p, n, m, "content", 1), b, k;
    if (v == SIZE_MAX)
        v = sk_key(p, n, m, "value", 1);
    if ((b = bad_in(p, n, v)) != SIZE_MAX)
        return b;
    for (k = 0; k < 2; k++)
        if ((b = bad_in(p, n, sk_key(p, n, m, keys[k], 1))) != SIZE_MAX)
            return b;
    return SIZE_MAX;
}

size_t lci_json_text_bad(const char *p, size_t len) {
    size_t m = sk_ws(p, len, 0);
    if (m >= len || p[m] != '{')
        return SIZE_MAX;
    return msg_text_bad(p, len, m);
}

/* Bytes of s[0..len) that fit in max bytes without cutting a code
 * point (for names quoted in diagnostics; s is valid UTF-8). */
static int cut_utf8(const char *s, size_t len, size_t max) {
    if (len <= max)
        return (int)len;
    while (max > 0 && ((unsigned char)s[max] & 0xC0) == 0x80)
        max--;
    return (int)max;
}

static const char *const turn_keys[] = {"conversation_id", "session_id",
                                        "thread_id"};

/* Warn once per conversation if a string taken from the data as a name
 * (id, role) held invalid UTF-8: the conversation keeps the repaired
 * text, the warning names the field and points at its value. */
/* The warning's position is that of member `key` of message idx (idx 0:
 * of the top-level object); it is looked up only when a warning is
 * written: the lookup scans the record's text, and doing it for every
 * valid id cost 8% of all instructions. */
static lc_status check_utf8(lc_conversation *c, struct json_object *v,
                            unsigned field, const char *what,
                            lci_json_src *src, size_t idx, const char *key,
                            int64_t turn) {
    size_t len = (size_t)json_object_get_string_len(v);
    lci_pos pos;
    if ((c->utf8_warned & field) ||
        lci_utf8_valid_prefix(json_object_get_string(v), len) == len)
        return LC_OK;
    pos = src_pos(src, idx ? src_field(src, idx, key) : src_top(src, key));
    return lci_conv_warn_utf8(c, field, what, pos.line, pos.col, pos.off,
                              turn);
}

/* "message N: " for diagnostics (built only when one is written). */
static const char *what_of(size_t idx, char buf[40]) {
    if (!idx)
        return "";
    snprintf(buf, 40, "message %zu: ", idx);
    return buf;
}

/* Diagnostic at byte `at` of src (SIZE_MAX: the value's start). */
static lc_status src_diag(lc_conversation *c, lc_status st, lc_severity sev,
                          lci_json_src *src, size_t at, int64_t turn,
                          const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;
static lc_status src_diag(lc_conversation *c, lc_status st, lc_severity sev,
                          lci_json_src *src, size_t at, int64_t turn,
                          const char *fmt, ...) {
    char msg[256];
    va_list ap;
    lci_pos q = src_pos(src, at);
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return lci_conv_diag(c, st, sev, q.line, q.col, q.off, turn, "%s", msg);
}

/* The members of a message that lci_json_message_src reads, found in one
 * walk over its members: json_object_object_get_ex hashes the key every
 * time (about 190 instructions; four to six lookups per message cost 1.2%
 * of all instructions on the JSONL bench corpus), while a message has a
 * handful of members. json-c keeps one entry per key (a duplicate
 * replaced the earlier value: the last one wins, as with get()) and a
 * JSON null member has a NULL value, which is what get() gives too. */
typedef struct msg_members {
    struct json_object *role, *from, *content, *value, *tool_calls,
        *function_call;
} msg_members;

static void msg_members_get(struct json_object *msg, msg_members *m) {
    memset(m, 0, sizeof *m);
    {
        json_object_object_foreach(msg, key, val) {
            switch (key[0]) {
            case 'r':
                if (strcmp(key, "role") == 0)
                    m->role = val;
                break;
            case 'f':
                if (strcmp(key, "from") == 0)
                    m->from = val;
                else if (strcmp(key, "function_call") == 0)
                    m->function_call = val;
                break;
            case 'c':
                if (strcmp(key, "content") == 0)
                    m->content = val;
                break;
            case 'v':
                if (strcmp(key, "value") == 0)
                    m->value = val;
                break;
            case 't':
                if (strcmp(key, "tool_calls") == 0)
                    m->tool_calls = val;
                break;
            default:
                break;
            }
        }
    }
}

lc_status lci_json_message_src(lci_json *j, lc_conversation *c,
                               struct json_object *msg, lci_json_src *src,
                               size_t idx) {
    struct json_object *role, *content, *calls;
    msg_members mm;
    const char *rname = "", *rkey = "role", *ckey = "content";
    size_t rlen = 0, k;
    lc_role r = LC_ROLE_OTHER;
    unsigned flags = LC_TURN_NONE;
    char wb[40], what[64];
    lci_buf *b = &j->msg, rb;
    lci_pos pos = src->pos; /* turns keep the value's position */
    lc_status st = LC_OK;

    if (!msg || json_object_get_type(msg) != json_type_object)
        return src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_ERROR, src,
                        src_msg(src, idx), -1,
                        "%sexpected a message object, got %s",
                        what_of(idx, wb), type_name(msg));
    msg_members_get(msg, &mm);
    role = mm.role;
    if (!role) {
        role = mm.from;
        rkey = "from";
    }
    content = mm.content;
    if (!content) {
        content = mm.value;
        ckey = "value";
    }

    /* A turn-per-line record (idx 0) carries its conversation's key; the
     * reader made the id from it. */
    for (k = 0; idx == 0 && k < sizeof turn_keys / sizeof *turn_keys; k++) {
        struct json_object *v = get(msg, turn_keys[k]);
        if (is_str(v)) { /* the key lci_json_turn_key takes */
            snprintf(what, sizeof what, "\"%s\"", turn_keys[k]);
            st = check_utf8(c, v, LCI_UTF8_ID, what, src, idx,
                            turn_keys[k], -1);
            if (st != LC_OK)
                return st;
            break;
        }
        if (v && (json_object_get_type(v) == json_type_int ||
                  json_object_get_type(v) == json_type_double))
            break;
    }

    lci_buf_init(&rb, c->alloc);
    if (is_str(role)) {
        rname = json_object_get_string(role);
        rlen = (size_t)json_object_get_string_len(role);
        if (lci_utf8_valid_prefix(rname, rlen) != rlen) {
            if (idx)
                snprintf(what, sizeof what, "\"%s\" of message %zu", rkey,
                         idx);
            else
                snprintf(what, sizeof what, "\"%s\"", rkey);
            if (!(c->utf8_warned & LCI_UTF8_ROLE)) {
                lci_pos rp = src_pos(src, src_field(src, idx, rkey));
                st = lci_conv_warn_utf8(c, LCI_UTF8_ROLE, what, rp.line,
                                        rp.col, rp.off,
                                        (int64_t)c->nturns + 1);
            }
            if (st == LC_OK)
                st = lci_utf8_repair(rname, rlen, &rb, NULL, NULL);
            if (st == LC_OK)
                st = lci_buf_terminate(&rb);
            if (st != LC_OK) {
                lci_buf_free(&rb);
                return st;
            }
            rname = rb.data;
            rlen = rb.len;
        }
        if (!lci_role_from_name(rname, rlen, &r)) {
            /* quoted with its controls escaped: messages go to terminals */
            lci_buf q;
            lci_buf_init(&q, c->alloc);
            st = lci_buf_term_str(&q, rname, (size_t)cut_utf8(rname, rlen, 40));
            if (st == LC_OK)
                st = src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_WARNING, src,
                              src_field(src, idx, rkey),
                              (int64_t)c->nturns + 1,
                              "%sunknown role \"%.*s\" (kept as other)",
                              what_of(idx, wb), (int)q.len,
                              q.data ? q.data : "");
            lci_buf_free(&q);
        }
    } else {
        /* absent or not a string: at the "role" / "from" value if any */
        st = src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_WARNING, src,
                      src_field(src, idx,
                                json_object_object_get_ex(msg, "role", NULL)
                                    ? "role"
                                    : json_object_object_get_ex(msg, "from",
                                                                NULL)
                                          ? "from"
                                          : NULL),
                      (int64_t)c->nturns + 1,
                      "%smissing role (kept as other)", what_of(idx, wb));
    }
    if (st != LC_OK) {
        lci_buf_free(&rb);
        return st;
    }

    b->len = 0; /* j's buffer, reused from message to message */
    if (is_str(content) && !mm.tool_calls && !mm.function_call) {
        /* common case: the text goes straight to the turn, no copy */
        st = lci_conv_add(c, r, rname, rlen, json_object_get_string(content),
                          (size_t)json_object_get_string_len(content),
                          pos.line, pos.col, pos.off, flags, NULL);
        goto added;
    }
    if (!content || json_object_get_type(content) == json_type_null) {
        /* empty turn; tool calls below may fill it */
    } else if (is_str(content)) {
        st = put_str(b, content);
    } else if (json_object_get_type(content) == json_type_array) {
        st = content_parts(j, content, b, &flags, 0);
    } else {
        st = src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_WARNING, src,
                      src_field(src, idx, ckey), (int64_t)c->nturns + 1,
                      "%scontent is a%s %s; its JSON text is used",
                      what_of(idx, wb),
                      json_object_get_type(content) == json_type_object
                          ? "n"
                          : "",
                      type_name(content));
        if (st == LC_OK)
            st = lci_json_canonical(content, b);
    }

    calls = mm.tool_calls;
    if (st == LC_OK && calls && json_object_get_type(calls) == json_type_array) {
        size_t i, n = json_object_array_length(calls);
        for (i = 0; i < n && st == LC_OK; i++) {
            if ((st = sep(b)) == LC_OK)
                st = tool_call(j, json_object_array_get_idx(calls, i), b);
            flags |= LC_TURN_TOOL_CALL;
        }
    }
    calls = mm.function_call;
    if (st == LC_OK && calls && json_object_get_type(calls) == json_type_object) {
        if ((st = sep(b)) == LC_OK)
            st = tool_call(j, calls, b);
        flags |= LC_TURN_TOOL_CALL;
    }
    if (st == LC_OK)
        st = lci_conv_add(c, r, rname, rlen, b->data ? b->data : "", b->len,
                          pos.line, pos.col, pos.off, flags, NULL);
added:
    if (st == LC_ERR_LIMIT) /* max_turns: the conversation fails here */
        st = src_diag(c, LC_ERR_LIMIT, LC_SEVERITY_ERROR, src,
                      src_msg(src, idx), -1,
                      "%smore than %" PRId64 " turns (max_turns)",
                      what_of(idx, wb), lci_opt(c->cfg, LC_OPT_MAX_TURNS));
    if (b->cap > JSON_MSG_KEEP) /* a huge one: do not keep it */
        lci_buf_free(b);
    lci_buf_free(&rb);
    return st;
}

lc_status lci_json_message(lci_json *j, lc_conversation *c,
                           struct json_object *msg, lci_pos pos,
                           size_t idx) {
    lci_json_src src = lci_json_src_at(pos, 1);
    return lci_json_message_src(j, c, msg, &src, idx);
}

lc_status lci_json_conversation(lci_json *j, lc_conversation *c,
                                struct json_object *obj, lci_json_src *src) {
    struct json_object *id, *msgs;
    size_t i, n;
    lc_status st;

    if (!obj || json_object_get_type(obj) != json_type_object)
        return src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_ERROR, src,
                        src_top(src, NULL), -1,
                        "expected a conversation object, got %s",
                        type_name(obj));
    id = get(obj, "id");
    if (is_str(id)) {
        if ((st = lci_conv_set_id(c, json_object_get_string(id),
                                  (size_t)json_object_get_string_len(id))) !=
                LC_OK ||
            (st = check_utf8(c, id, LCI_UTF8_ID, "\"id\"", src, 0, "id",
                             -1)) != LC_OK)
            return st;
    } else if (id && (json_object_get_type(id) == json_type_int ||
                      json_object_get_type(id) == json_type_double)) {
        const char *s =
            json_object_to_json_string_ext(id, JSON_C_TO_STRING_PLAIN);
        if (!s || (st = lci_conv_set_id(c, s, strlen(s))) != LC_OK)
            return LC_ERR_NOMEM;
    } else if (id && json_object_get_type(id) != json_type_null) {
        /* "id": null is no id; an object, array or boolean is a mistake
         * worth a word, as the conversation keeps its position as id */
        json_type ty = json_object_get_type(id);
        st = src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_WARNING, src,
                      src_top(src, "id"), -1,
                      "\"id\" is a%s %s, not a string or number: the "
                      "id is the position (source:line)",
                      ty == json_type_object || ty == json_type_array ? "n"
                                                                      : "",
                      type_name(id));
        if (st != LC_OK)
            return st;
    }
    src->akey = "messages";
    msgs = get(obj, "messages");
    if (!msgs) {
        src->akey = "conversations";
        msgs = get(obj, "conversations");
    }
    if (!msgs)
        return src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_ERROR, src,
                        src_top(src, NULL), -1,
                        "no \"messages\" or \"conversations\" array");
    if (json_object_get_type(msgs) != json_type_array)
        return src_diag(c, LC_ERR_SCHEMA, LC_SEVERITY_ERROR, src,
                        src_top(src, src->akey), -1,
                        "\"messages\" is a%s %s, not an array",
                        json_object_get_type(msgs) == json_type_object
                            ? "n"
                            : "",
                        type_name(msgs));
    n = json_object_array_length(msgs);
    /* one allocation for the turn array (bounded by max_turns) */
    if (n && (int64_t)n <= lci_opt(c->cfg, LC_OPT_MAX_TURNS) &&
        (st = lci_grow(c->alloc, (void **)&c->turns, sizeof *c->turns,
                       &c->capturns, c->nturns + n)) != LC_OK)
        return st;
    for (i = 0; i < n && c->status == LC_OK; i++) {
        st = lci_json_message_src(j, c, json_object_array_get_idx(msgs, i),
                                  src, i + 1);
        if (st != LC_OK)
            return st;
        /* The turn holds copies of what it needs: free the message now.
         * json-c takes about 0.9 KB for a short message object; dropped
         * one by one, they make room for the turns as they are made,
         * and a million-message record never holds both whole. */
        json_object_array_put_idx(msgs, i, NULL);
    }
    if (c->status == LC_OK && c->nturns == 0)
        return src_diag(c, LC_ERR_EMPTY, LC_SEVERITY_ERROR, src,
                        src_top(src, src->akey), -1,
                        "conversation has no messages");
    return LC_OK;
}

/* ------------------------------------------------------------------ */
/* Records without json-c (json_scan.c recognizes them)                 */
/* ------------------------------------------------------------------ */

void lci_json_set_fast(lci_json *j, int on) {
    j->no_fast = !on;
}

void lci_json_fast_counts(const lci_json *j, size_t *taken,
                          size_t *declined) {
    *taken = j->fast_taken;
    *declined = j->fast_declined;
}

/* Message idx of the scanned record p as lci_json_message_src makes it
 * from json-c's tree (src for diagnostics): the same text, flags and
 * calls, in the same order. */
static lc_status fast_message(lci_json *j, lc_conversation *c,
                              const char *p, lci_json_src *src,
                              const lci_jmsg *m, size_t idx) {
    const char *role = p + m->role.off;
    lci_buf *b = &j->msg;
    unsigned flags = LC_TURN_NONE;
    lci_pos pos = src->pos;
    char wb[40];
    size_t k;
    lc_status st = LC_OK;

    if (!m->has_calls && !m->has_parts && !(m->has_text && m->text.esc)) {
        /* the text as written: straight to the turn, no copy */
        st = lci_conv_add(c, m->r, role, m->role.len,
                          m->has_text ? p + m->text.off : "",
                          m->has_text ? m->text.len : 0, pos.line, pos.col,
                          pos.off, flags, NULL);
    } else {
        b->len = 0;
        if (m->has_text)
            st = lci_json_unescape(p + m->text.off, m->text.len, b);
        for (k = 0; k < m->nparts && st == LC_OK; k++) {
            const lci_jstr *part = &j->rec.parts[m->part0 + k];
            if ((st = sep(b)) == LC_OK) /* as content_parts */
                st = lci_json_unescape(p + part->off, part->len, b);
        }
        for (k = 0; k < m->ncalls && st == LC_OK; k++) {
            const lci_jcall *call = &j->rec.calls[m->call0 + k];
            flags |= LC_TURN_TOOL_CALL;
            if ((st = sep(b)) == LC_OK)
                st = lci_buf_append(b, "tool_call ", 10);
            if (st == LC_OK)
                st = lci_json_unescape(p + call->name.off, call->name.len, b);
            if (st == LC_OK && call->has_args) {
                j->arg.len = 0;
                st = lci_json_unescape(p + call->args.off, call->args.len,
                                       &j->arg);
                if (st == LC_OK)
                    st = args_str(j, j->arg.data ? j->arg.data : "",
                                  j->arg.len, b);
            }
        }
        if (st == LC_OK)
            st = lci_conv_add(c, m->r, role, m->role.len,
                              b->data ? b->data : "", b->len, pos.line,
                              pos.col, pos.off, flags, NULL);
    }
    if (st == LC_ERR_LIMIT) /* as lci_json_message_src */
        st = src_diag(c, LC_ERR_LIMIT, LC_SEVERITY_ERROR, src,
                      src_msg(src, idx), -1,
                      "%smore than %" PRId64 " turns (max_turns)",
                      what_of(idx, wb), lci_opt(c->cfg, LC_OPT_MAX_TURNS));
    if (b->cap > JSON_MSG_KEEP)
        lci_buf_free(b);
    if (j->arg.cap > JSON_MSG_KEEP)
        lci_buf_free(&j->arg);
    return st;
}

/* A record of a million short messages leaves big arrays: do not keep
 * them for the next record, whether the scan took it or not (a declined
 * one goes to json-c next: its tree and turns would come on top). */
static void fast_trim(lci_jrec *r) {
    if (r->capmsgs * sizeof *r->msgs > JSON_MSG_KEEP ||
        r->capcalls * sizeof *r->calls > JSON_MSG_KEEP ||
        r->capparts * sizeof *r->parts > JSON_MSG_KEEP)
        lci_jrec_free(r);
}

int lci_json_fast_scan(lci_json *j, const lc_config *cfg, const char *p,
                       size_t len, size_t *rec_end, lc_status *st) {
    *st = LC_OK;
    if (j->no_fast)
        return 0;
    if (!lci_json_scan_record(&j->rec, p, len, j->depth, rec_end, st) ||
        (int64_t)j->rec.nmsgs > lci_opt(cfg, LC_OPT_MAX_TURNS)) {
        j->fast_declined++; /* over max_turns: json.c words the error */
        fast_trim(&j->rec);
        return 0;
    }
    j->fast_taken++;
    return 1;
}

lc_status lci_json_fast_build(lci_json *j, lc_conversation *c,
                              lci_json_src *src) {
    lci_jrec *r = &j->rec;
    size_t i, n = r->nmsgs;
    lc_status st = LC_OK;
    lci_conv_expect(c, src->len);
    if (r->has_id &&
        (st = lci_conv_set_id(c, src->p + r->id.off, r->id.len)) != LC_OK)
        return st;
    src->akey = r->conversations ? "conversations" : "messages";
    if ((st = lci_grow(c->alloc, (void **)&c->turns, sizeof *c->turns,
                       &c->capturns, c->nturns + n)) != LC_OK)
        return st;
    for (i = 0; i < n && c->status == LC_OK && st == LC_OK; i++)
        st = fast_message(j, c, src->p, src, &r->msgs[i], i + 1);
    fast_trim(r);
    return st;
}

int lci_json_fast_conversation(lci_json *j, lc_conversation *c,
                               lci_json_src *src, lc_status *st) {
    *st = LC_OK;
    if (!src->p ||
        !lci_json_fast_scan(j, c->cfg, src->p, src->len, NULL, st))
        return 0;
    *st = lci_json_fast_build(j, c, src);
    return 1;
}

int lci_json_fast_is_record(lci_json *j, const char *p, size_t len) {
    lc_status st;
    int yes = !j->no_fast && lci_json_scan_record(&j->rec, p, len, j->depth,
                                                  NULL, &st);
    fast_trim(&j->rec);
    return yes;
}

int lci_json_fast_turn_scan(lci_json *j, const char *p, size_t len,
                            const char **key, size_t *keylen,
                            lc_status *st) {
    *st = LC_OK;
    if (j->no_fast ||
        !lci_json_scan_turn(&j->rec, p, len, j->depth, st)) {
        j->fast_declined++;
        fast_trim(&j->rec);
        return 0;
    }
    j->fast_taken++;
    *key = p + j->rec.id.off;
    *keylen = j->rec.id.len;
    return 1;
}

lc_status lci_json_fast_turn_add(lci_json *j, lc_conversation *c,
                                 const char *p, lci_pos pos) {
    lci_json_src src = lci_json_src_at(pos, 1); /* as lci_json_message */
    lc_status st = fast_message(j, c, p, &src, &j->rec.msgs[0], 0);
    fast_trim(&j->rec);
    return st;
}

lc_status lci_json_utf8_turns(lc_conversation *c, lci_json_src *src,
                              size_t from, size_t idx) {
    size_t i;
    char wb[40];
    lc_status st = LC_OK;
    for (i = from; i < c->nturns && st == LC_OK; i++) {
        size_t m, bad = SIZE_MAX, mi = src->is_msg ? idx : i + 1;
        if (!(c->turns[i].pub.flags & LC_TURN_REPAIRED))
            continue;
        m = src_msg(src, mi);
        if (m != SIZE_MAX)
            bad = msg_text_bad(src->p, src->len, m);
        if (bad != SIZE_MAX)
            st = src_diag(c, LC_ERR_UTF8, LC_SEVERITY_WARNING, src, bad,
                          (int64_t)i + 1,
                          "invalid UTF-8 (byte 0x%02X) replaced by U+FFFD",
                          (unsigned)(unsigned char)src->p[bad]);
        else /* no raw text: at the message, or the value, by index */
            st = src_diag(c, LC_ERR_UTF8, LC_SEVERITY_WARNING, src, m,
                          (int64_t)i + 1,
                          "%sinvalid UTF-8 replaced by U+FFFD",
                          what_of(mi, wb));
    }
    return st;
}

bool lci_json_turn_key(struct json_object *obj, lci_buf *out) {
    const char *const *keys = turn_keys;
    size_t i;
    if (!obj || json_object_get_type(obj) != json_type_object)
        return false;
    for (i = 0; i < sizeof turn_keys / sizeof turn_keys[0]; i++) {
        struct json_object *v = get(obj, keys[i]);
        if (is_str(v))
            return !out || put_str(out, v) == LC_OK;
        if (v && (json_object_get_type(v) == json_type_int ||
                  json_object_get_type(v) == json_type_double)) {
            if (!out)
                return true;
            const char *s =
                json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
            return s && lci_buf_append(out, s, strlen(s)) == LC_OK;
        }
    }
    return false;
}

void lci_json_turn_key_why(struct json_object *obj, char *buf, size_t n) {
    size_t i;
    for (i = 0; obj && json_object_get_type(obj) == json_type_object &&
                i < sizeof turn_keys / sizeof turn_keys[0];
         i++) {
        struct json_object *v = NULL;
        json_type ty;
        if (!json_object_object_get_ex(obj, turn_keys[i], &v))
            continue;
        ty = json_object_get_type(v);
        snprintf(buf, n, "\"%s\" is %s%s, not a string or number",
                 turn_keys[i],
                 ty == json_type_null                                 ? ""
                 : ty == json_type_object || ty == json_type_array ? "an "
                                                                    : "a ",
                 type_name(v));
        return;
    }
    snprintf(buf, n, "no \"conversation_id\", \"session_id\" or "
                     "\"thread_id\"");
}
