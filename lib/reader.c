/*
 * reader.c - the streaming reader: chunk feeding, line assembly, line and
 * byte-offset tracking, format sniffing and dispatch, and the queue of
 * finished conversations.
 *
 * Line rules: LF, CRLF and a lone CR each end a line (a CR at the end of
 * a chunk is resolved by the next chunk). A UTF-8 BOM at stream offset 0
 * is skipped (offsets still count it), and so is one at the start of any
 * later line (files joined with cat). Lines are found with memchr, not
 * per byte; a line that lies wholly inside one chunk is passed to the
 * format without copying, a line split across chunks is assembled in
 * `pending`. A line longer than max_line_bytes is never buffered beyond
 * the limit: the rest is skipped up to the next terminator and the
 * format reports LC_ERR_LIMIT for that line.
 *
 * The format is chosen from the first non-blank line (LC_OPT_FORMAT
 * overrides); when that line is an unfinished JSON object it is held
 * back (copied) until the next non-blank line decides between a JSON
 * document and a JSONL file whose first record is broken (formats.c).
 * Blank lines before it are skipped; an empty or all-blank input yields
 * no conversations and no error.
 *
 * All work happens in feed()/finish(): the caller's buffer is never
 * retained; finished conversations wait in a FIFO for next().
 */
#include "input.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Capacity of the split-line buffer kept for the next line; a bigger
 * one (a long record) is released when its line has been handled. */
#define PENDING_KEEP (1u << 20)

struct lc_reader {
    const lc_config *cfg; /* reference held */
    const lci_alloc *a;
    char *source;
    lci_json *json;
    lc_format forced;
    lc_format format;
    const lci_format_vt *vt;
    void *fstate;
    size_t max_line;

    /* line assembly */
    lci_buf pending;     /* bytes of the open line (when split) */
    int line_open;       /* bytes seen since the last terminator */
    int skip_lf;         /* last terminator was CR: swallow one LF */
    int skipping;        /* inside an overlong line */
    uint64_t skip_len;   /* its full length so far */
    uint64_t lineno;     /* 1-based number of the open line */
    uint64_t line_off;   /* stream offset of its first byte */
    uint64_t offset;     /* bytes consumed so far */
    int bom_done;
    unsigned bom_n;      /* BOM bytes matched so far */
    int fed;
    int mid_stream;      /* lc_reader_set_start() past offset 0 */
    int not_text;        /* forced format, input not text: ignore the rest */

    /* first line held back while sniffing (unfinished JSON object) */
    lci_buf held;
    int holding;
    uint64_t held_line, held_off;

    /* output */
    lc_conversation **q;
    size_t qhead, qlen, qcap;
    int finished;
    lc_status fatal;
    lci_err err;
    int has_err;
};

/* ------------------------------------------------------------------ */
/* Services for formats                                                 */
/* ------------------------------------------------------------------ */

const lc_config *lci_reader_config(const lc_reader *r) { return r->cfg; }

const char *lci_reader_source(const lc_reader *r) {
    return r->source ? r->source : "";
}

lci_json *lci_reader_json(lc_reader *r) { return r->json; }

lc_status lci_reader_conv_new(lc_reader *r, uint64_t line, uint64_t off,
                              lc_conversation **out) {
    lc_conversation *c;
    lc_status st = lc_conversation_new(r->cfg, &c);
    const char *src = lci_reader_source(r);
    (void)off;
    *out = NULL;
    if (st != LC_OK)
        return st;
    c->line = line;
    c->format = r->format;
    st = lci_conv_set_origin(c, src, strlen(src), line);
    if (st != LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    *out = c;
    return LC_OK;
}

lc_status lci_reader_emit(lc_reader *r, lc_conversation *c) {
    lc_status st;
    if (r->qhead == r->qlen) {
        r->qhead = r->qlen = 0;
    } else if (r->qlen == r->qcap && r->qhead > 0) {
        /* consumer lags by a few: reuse the drained front */
        memmove(r->q, r->q + r->qhead, (r->qlen - r->qhead) * sizeof *r->q);
        r->qlen -= r->qhead;
        r->qhead = 0;
    }
    st = lci_grow(r->a, (void **)&r->q, sizeof *r->q, &r->qcap, r->qlen + 1);
    if (st != LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    r->q[r->qlen++] = c;
    return LC_OK;
}

lc_status lci_reader_emit_error(lc_reader *r, uint64_t line, uint64_t off,
                                lc_status status, uint64_t eline,
                                uint64_t ecol, uint64_t err_off,
                                const char *fmt, ...) {
    lc_conversation *c;
    char msg[256];
    va_list ap;
    lc_status st = lci_reader_conv_new(r, line, off, &c);
    if (st != LC_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    st = lci_conv_diag(c, status, LC_SEVERITY_ERROR, eline, ecol, err_off,
                       -1, "%s", msg);
    if (st != LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    return lci_reader_emit(r, c);
}

/* ------------------------------------------------------------------ */
/* Lifecycle                                                            */
/* ------------------------------------------------------------------ */

lc_status lc_reader_new(const lc_config *cfg, lc_reader **reader) {
    lc_reader *r;
    lc_status st;
    if (!reader)
        return LC_ERR_INVALID_ARG;
    *reader = NULL;
    if (!cfg)
        return LC_ERR_INVALID_ARG;
    r = lci_calloc(&cfg->alloc, 1, sizeof *r);
    if (!r)
        return LC_ERR_NOMEM;
    r->cfg = lci_config_ref(cfg);
    r->a = &r->cfg->alloc;
    r->forced = (lc_format)lci_opt(cfg, LC_OPT_FORMAT);
    r->format = LC_FORMAT_AUTO;
    r->max_line = (size_t)lci_opt(cfg, LC_OPT_MAX_LINE_BYTES);
    r->lineno = 1;
    lci_buf_init(&r->pending, r->a);
    lci_buf_init(&r->held, r->a);
    st = lci_json_new(r->a, (int)lci_opt(cfg, LC_OPT_MAX_DEPTH), &r->json);
    if (st != LC_OK) {
        lc_reader_free(r);
        return st;
    }
    *reader = r;
    return LC_OK;
}

void lc_reader_free(lc_reader *r) {
    const lc_config *cfg;
    const lci_alloc *a;
    size_t i;
    if (!r)
        return;
    cfg = r->cfg;
    a = r->a;
    if (r->vt && r->fstate)
        r->vt->destroy(r->fstate, a);
    for (i = r->qhead; i < r->qlen; i++)
        lc_conversation_free(r->q[i]);
    lci_free(a, r->q);
    lci_json_free(r->json);
    lci_buf_free(&r->pending);
    lci_buf_free(&r->held);
    lci_err_clear(&r->err, a);
    lci_free(a, r->source);
    lci_free(a, r);
    lci_config_unref(cfg);
}

lc_status lc_reader_set_source(lc_reader *r, const char *name, size_t len) {
    char *s;
    if (!r || (!name && len))
        return LC_ERR_INVALID_ARG;
    if (r->fed || r->finished)
        return LC_ERR_STATE;
    s = lci_strndup(r->a, name ? name : "", name ? len : 0);
    if (!s)
        return LC_ERR_NOMEM;
    lci_free(r->a, r->source);
    r->source = s;
    return LC_OK;
}

lc_status lc_reader_set_format(lc_reader *r, lc_format format) {
    if (!r || (format != LC_FORMAT_AUTO && !lci_format_get(format)))
        return LC_ERR_INVALID_ARG;
    if (r->fed || r->finished)
        return LC_ERR_STATE;
    r->forced = format;
    return LC_OK;
}

lc_status lc_reader_set_start(lc_reader *r, uint64_t line, uint64_t offset) {
    if (!r || line == 0)
        return LC_ERR_INVALID_ARG;
    if (r->fed || r->finished)
        return LC_ERR_STATE;
    r->lineno = line;
    r->offset = offset;
    /* the stream's own BOM is the one at offset 0; past it, a BOM at a
     * line start is skipped by dispatch() as in the middle of a file */
    r->bom_done = offset > 0;
    r->mid_stream = offset > 0;
    return LC_OK;
}

static lc_status fail(lc_reader *r, lc_status st) {
    if (r->fatal == LC_OK) {
        r->fatal = st;
        if (lci_err_set(&r->err, r->a, st, LC_SEVERITY_ERROR,
                        lci_reader_source(r), r->lineno, 0, r->offset, -1,
                        "%s", lc_status_str(st)) != LC_OK)
            r->fatal = st = LC_ERR_NOMEM;
        r->has_err = 1;
    }
    return st;
}

/* ------------------------------------------------------------------ */
/* Dispatch                                                             */
/* ------------------------------------------------------------------ */

static const unsigned char bom[3] = {0xEF, 0xBB, 0xBF};

static int is_blank(const char *p, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (p[i] != ' ' && p[i] != '\t' && p[i] != '\f' && p[i] != '\v')
            return 0;
    return 1;
}

/* Create the format's state. */
static lc_status start_format(lc_reader *r, lc_format f) {
    lc_status st;
    r->vt = lci_format_get(f);
    if (!r->vt)
        return LC_ERR_INTERNAL;
    r->format = f;
    st = r->vt->create(r, &r->fstate);
    if (st != LC_OK)
        r->vt = NULL;
    return st;
}

static lc_status choose(lc_reader *r, const char *p, size_t n, int complete) {
    lc_format f = r->forced;
    if (f == LC_FORMAT_AUTO)
        f = lci_format_sniff(r->json, p, n, complete);
    if (f == LC_FORMAT_AUTO)
        return LC_NEED_INPUT; /* only from complete lines */
    return start_format(r, f);
}

/* A forced JSON format whose input starts with the magic bytes of
 * compressed data, an archive or UTF-16 (lci_not_text): one failed
 * conversation that says what the input is, instead of a syntax error
 * per "line" of it (6,166 for a gzipped 2 MB JSONL file), and the rest
 * of the input is ignored. Auto-detection sends such input to the
 * transcript format, which does the same; a part of a file read from
 * the middle (lc_reader_set_start) has no magic to look at. Returns 1
 * when it took the line. */
static int forced_not_text(lc_reader *r, const char *p, size_t n,
                           uint64_t off, lc_status *st) {
    const char *why;
    if (r->forced == LC_FORMAT_AUTO || r->forced == LC_FORMAT_TRANSCRIPT ||
        r->mid_stream || !(why = lci_not_text(p, n)))
        return 0;
    *st = start_format(r, r->forced);
    if (*st == LC_OK)
        *st = lci_reader_emit_error(r, r->lineno, off, LC_ERR_FORMAT,
                                    r->lineno, 1, off, "%s", why);
    r->not_text = 1;
    return 1;
}

/* Replay the held first line into the chosen format. */
static lc_status release_held(lc_reader *r) {
    lc_status st;
    r->holding = 0;
    st = r->vt->line(r->fstate, r, r->held.data ? r->held.data : "",
                     r->held.len, r->held_line, r->held_off);
    lci_buf_free(&r->held);
    return st;
}

static lc_status dispatch(lc_reader *r, const char *p, size_t n) {
    lc_status st;
    uint64_t off = r->line_off;
    if (r->not_text)
        return LC_OK;
    if (n >= 3 && memcmp(p, bom, 3) == 0) { /* files joined with cat */
        p += 3;
        n -= 3;
        off += 3;
    }
    if (!r->vt) {
        if (is_blank(p, n))
            return LC_OK;
        if (forced_not_text(r, p, n, off, &st))
            return st;
        if (r->holding) {
            st = start_format(r, lci_format_sniff_next(r->json, p, n));
            if (st == LC_OK)
                st = release_held(r);
            if (st != LC_OK)
                return st;
        } else {
            st = choose(r, p, n, 1);
            if (st == LC_NEED_INPUT) { /* hold it: the next line decides */
                r->holding = 1;
                r->held_line = r->lineno;
                r->held_off = off;
                return lci_buf_append(&r->held, p, n);
            }
            if (st != LC_OK)
                return st;
        }
    }
    return r->vt->line(r->fstate, r, p, n, r->lineno, off);
}

/* The open line has grown past max_line_bytes: keep its first bytes for
 * sniffing, then drop everything until its terminator. */
static lc_status start_skipping(lc_reader *r, const char *p, size_t n) {
    lc_status st;
    if (!r->vt && r->holding) { /* an overlong line after the held one */
        if ((st = start_format(r, LC_FORMAT_JSON)) != LC_OK ||
            (st = release_held(r)) != LC_OK)
            return st;
    }
    if (!r->vt) {
        const char *s = r->pending.len ? r->pending.data : p;
        size_t sn = r->pending.len ? r->pending.len : n;
        if (!forced_not_text(r, s, sn, r->line_off, &st))
            st = choose(r, s, sn, 0);
        if (st != LC_OK)
            return st;
    }
    r->skipping = 1;
    r->skip_len = r->pending.len;
    r->pending.len = 0;
    return LC_OK;
}

static lc_status end_line(lc_reader *r) {
    lc_status st = LC_OK;
    if (r->skipping) {
        if (!r->not_text)
            st = r->vt->overlong(r->fstate, r, r->lineno, r->line_off,
                                 r->skip_len);
        r->skipping = 0;
    } else if (r->line_open) {
        st = dispatch(r, r->pending.data ? r->pending.data : "",
                      r->pending.len);
    } else {
        st = dispatch(r, "", 0);
    }
    r->pending.len = 0;
    if (r->pending.cap > PENDING_KEEP)
        lci_buf_free(&r->pending); /* do not pin a huge line's buffer */
    r->line_open = 0;
    r->lineno++;
    return st;
}

/* Process bytes after BOM handling. */
static lc_status process(lc_reader *r, const char *p, size_t n) {
    lc_status st;
    /* next '\n' at or after p (NULL: none before the end), kept across
     * lines so that CR-only text does not rescan the chunk per line */
    const char *next_nl = NULL;
    int nl_known = 0;
    while (n > 0) {
        const char *nl, *cr, *t;
        size_t lim, seg;
        if (r->skip_lf) {
            r->skip_lf = 0;
            if (*p == '\n') {
                p++;
                n--;
                r->offset++;
                continue;
            }
        }
        if (!r->line_open && !r->skipping) {
            r->line_off = r->offset;
        }
        if (!nl_known || (next_nl && next_nl < p)) {
            next_nl = memchr(p, '\n', n);
            nl_known = 1;
        }
        nl = next_nl;
        lim = nl ? (size_t)(nl - p) : n;
        cr = lim ? memchr(p, '\r', lim) : NULL;
        t = cr ? cr : nl;
        seg = t ? (size_t)(t - p) : n;

        if (r->skipping) {
            r->skip_len += seg;
        } else if (!r->line_open && t && seg <= r->max_line) {
            /* whole line inside this chunk: no copy */
            r->line_open = 0;
            st = dispatch(r, p, seg);
            r->lineno++;
            if (st != LC_OK)
                return st;
            r->offset += seg + 1;
            if (*t == '\r')
                r->skip_lf = 1;
            p += seg + 1;
            n -= seg + 1;
            continue;
        } else if (r->pending.len + seg > r->max_line) {
            if ((st = start_skipping(r, p, seg)) != LC_OK)
                return st;
            r->skip_len += seg;
        } else {
            if ((st = lci_buf_append(&r->pending, p, seg)) != LC_OK)
                return st;
        }
        r->line_open = 1;
        r->offset += seg;
        p += seg;
        n -= seg;
        if (t) {
            if ((st = end_line(r)) != LC_OK)
                return st;
            r->offset++;
            if (*t == '\r')
                r->skip_lf = 1;
            p++;
            n--;
        }
    }
    return LC_OK;
}

lc_status lc_reader_feed(lc_reader *r, const void *data, size_t len) {
    const char *p = data;
    lc_status st;
    if (!r || (!data && len))
        return LC_ERR_INVALID_ARG;
    if (r->fatal != LC_OK)
        return r->fatal;
    if (r->finished)
        return LC_ERR_STATE;
    r->fed = 1;
    while (!r->bom_done && len > 0) {
        if ((unsigned char)*p == bom[r->bom_n]) {
            p++;
            len--;
            if (++r->bom_n == 3) {
                r->bom_done = 1;
                r->offset = 3;
            }
        } else {
            /* not a BOM: the bytes matched so far are data */
            r->bom_done = 1;
            if (r->bom_n && (st = process(r, (const char *)bom, r->bom_n)) !=
                                LC_OK)
                return fail(r, st);
        }
    }
    if (len && (st = process(r, p, len)) != LC_OK)
        return fail(r, st);
    return LC_OK;
}

lc_status lc_reader_finish(lc_reader *r) {
    lc_status st;
    if (!r)
        return LC_ERR_INVALID_ARG;
    if (r->fatal != LC_OK)
        return r->fatal;
    if (r->finished)
        return LC_ERR_STATE;
    if (!r->bom_done) {
        r->bom_done = 1;
        if (r->bom_n && (st = process(r, (const char *)bom, r->bom_n)) !=
                            LC_OK)
            return fail(r, st);
    }
    if ((r->line_open || r->skipping) && (st = end_line(r)) != LC_OK)
        return fail(r, st);
    if (r->holding) { /* a lone unfinished object: a broken JSONL line */
        if ((st = start_format(r, LC_FORMAT_JSONL_CONV)) != LC_OK ||
            (st = release_held(r)) != LC_OK)
            return fail(r, st);
    }
    r->finished = 1;
    if (r->vt && !r->not_text && (st = r->vt->finish(r->fstate, r)) != LC_OK)
        return fail(r, st);
    return LC_OK;
}

lc_status lc_reader_next(lc_reader *r, lc_conversation **conv) {
    if (!conv)
        return LC_ERR_INVALID_ARG;
    *conv = NULL;
    if (!r)
        return LC_ERR_INVALID_ARG;
    if (r->qhead < r->qlen) {
        *conv = r->q[r->qhead++];
        return LC_OK;
    }
    if (r->fatal != LC_OK)
        return r->fatal;
    return r->finished ? LC_END : LC_NEED_INPUT;
}

lc_format lc_reader_format(const lc_reader *r) {
    return r ? r->format : LC_FORMAT_AUTO;
}

const lc_error *lc_reader_error(const lc_reader *r) {
    return r && r->has_err ? &r->err.pub : NULL;
}
