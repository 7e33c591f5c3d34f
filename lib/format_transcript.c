/*
 * format_transcript.c - plain-text transcripts ("Speaker: text").
 *
 * The whole input is one conversation, so the lines are kept until
 * finish() (bounded by max_line_bytes for the transcript as a whole) in
 * one buffer, each followed by '\n' (a line never contains one), plus
 * one bit per line for a two-byte (CRLF) terminator: memory stays about
 * the size of the input even for floods of tiny lines, and line numbers
 * and offsets are recomputed by walking the buffer (two passes).
 *
 * Rules:
 *  - A line-start label is 1-4 words, starts with a letter, is at most
 *    40 bytes, contains no sentence punctuation (, ; ! ? " ( ) ...; '.'
 *    only inside, as in "Dr. Lee") and is followed by ':' and then a
 *    space, a tab or the end of the line. The label must start in
 *    column 1, optionally after a bracketed timestamp ("[10:32] ") and/or
 *    inside markdown bold ("**User:**", "**User**:").
 *  - A label counts as a speaker only if it recurs: at least two lines
 *    start with it (ASCII case-insensitively). So one-off headings such
 *    as "Homework assigned:" or "For example:" never start a turn. A
 *    recurring label that never has text after its colon ("Example:"
 *    alone on a line, twice) is a heading, not a speaker, as long as some
 *    other recurring label does carry text (transcripts that put every
 *    speaker's text on the next line still work).
 *  - Each speaker line starts a turn; following lines belong to it. Lines
 *    of a paragraph are joined with "\n", paragraphs (separated by blank
 *    lines) with "\n\n"; trailing blanks of every line are trimmed, as
 *    is the blank after the label.
 *  - Text before the first turn is a preamble and is skipped.
 *  - No recurring label at all: one failed conversation, LC_ERR_FORMAT
 *    at line 1 ("no speaker labels"); an all-blank input gives no
 *    conversation. Input that is not text says so instead, from its
 *    first line, and is not buffered further: a compressed file (gzip,
 *    zstd, xz, bzip2, zip, lz4, 7z) by its magic bytes, UTF-16 by its
 *    byte order mark. Other binary data still gets "no speaker labels".
 *    (Auto-detection sends all of them here: they start with neither
 *    '{' nor '['.)
 *
 * Roles, per speaker: lc_config_map_speaker() first, then the generic
 * names of lci_role_from_name() ("User", "Assistant", ...), then a
 * heuristic for the speakers still unknown: if no speaker is the
 * assistant yet, the unknown speaker with the longest average turn (in
 * bytes) is the assistant (a tie goes to the one who spoke first); if
 * no speaker is the user yet, the first remaining unknown speaker is the
 * user; any others are "other". The choice is written to
 * lc_conversation_speaker_note(), e.g.
 * "Therapist=assistant Patient=user (heuristic: longer average turns)".
 */
#include "input.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MAX_LABEL 40
#define MAX_WORDS 4

/* A line being walked: its text and source position. */
typedef struct tline {
    size_t start;   /* in text */
    size_t len;
    uint64_t off;   /* stream offset */
    uint64_t line;  /* source line */
} tline;

typedef struct label {
    uint64_t hash;
    size_t pos;     /* text position of its first occurrence (spelling) */
    size_t len;
    uint32_t count;
    uint32_t inline_text; /* occurrences with text after the colon */
    int speaker;    /* index in speakers, -1 */
} label;

typedef struct speaker {
    size_t label;   /* index in labels */
    uint64_t turns;
    uint64_t bytes;
    lc_role role;
    int src;        /* 0 option, 1 known name, 2 heuristic */
} speaker;

typedef struct tturn {
    int speaker;
    tline line;     /* the speaker line */
    size_t name_off;  /* of the speaker name in the line */
    size_t label_len; /* bytes of the name */
    size_t start, len; /* in tbuf */
    int has_bad;
    lci_pos bad;
} tturn;

typedef struct tstate {
    const lci_alloc *a;
    lci_buf text;       /* lines, each followed by '\n' */
    uint8_t *crlf;      /* bit per line: terminator was 2 bytes */
    size_t ncrlf;       /* bytes allocated in crlf */
    size_t nlines;
    uint64_t first_line, first_off;
    uint64_t prev_end;  /* stream offset just past the previous line */
    int failed;
    lc_status fail_st;
    lci_pos fail_at;
    char fail_msg[128];
} tstate;

static lc_status tr_create(lc_reader *r, void **state) {
    const lci_alloc *a = &lci_reader_config(r)->alloc;
    tstate *s = lci_calloc(a, 1, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    s->a = a;
    lci_buf_init(&s->text, a);
    *state = s;
    return LC_OK;
}

static void tr_destroy(void *state, const lci_alloc *a) {
    tstate *s = state;
    lci_buf_free(&s->text);
    lci_free(a, s->crlf);
    lci_free(a, s);
}

static void set_fail(tstate *s, lc_status st, uint64_t line, uint64_t off,
                     const char *msg) {
    if (s->failed)
        return;
    s->failed = 1;
    s->fail_st = st;
    s->fail_at.line = line;
    s->fail_at.col = 1;
    s->fail_at.off = off;
    snprintf(s->fail_msg, sizeof s->fail_msg, "%s", msg);
    lci_buf_free(&s->text); /* nothing more is needed */
}

static lc_status tr_line(void *state, lc_reader *r, const char *p,
                         size_t len, uint64_t line, uint64_t off) {
    tstate *s = state;
    size_t max = (size_t)lci_opt(lci_reader_config(r), LC_OPT_MAX_LINE_BYTES);
    lc_status st;
    if (s->failed)
        return LC_OK;
    if (s->text.len + len > max) {
        set_fail(s, LC_ERR_LIMIT, line, off,
                 "transcript larger than max_line_bytes");
        return LC_OK;
    }
    if (s->nlines == 0) {
        const char *why = lci_not_text(p, len);
        s->first_line = line;
        s->first_off = off;
        if (why) {
            s->nlines = 1; /* the error is the input's, at its start */
            set_fail(s, LC_ERR_FORMAT, line, off, why);
            return LC_OK;
        }
    } else if (off - s->prev_end == 2) { /* previous line ended in CRLF */
        size_t k = s->nlines - 1;
        s->crlf[k / 8] = (uint8_t)(s->crlf[k / 8] | (1u << (k % 8)));
    }
    if (s->nlines / 8 >= s->ncrlf) {
        size_t old = s->ncrlf;
        st = lci_grow(s->a, (void **)&s->crlf, 1, &s->ncrlf, s->nlines / 8 + 1);
        if (st != LC_OK)
            return st;
        memset(s->crlf + old, 0, s->ncrlf - old);
    }
    if ((st = lci_buf_reserve(&s->text, len + 1)) != LC_OK)
        return st;
    if (len)
        memcpy(s->text.data + s->text.len, p, len);
    s->text.data[s->text.len + len] = '\n';
    s->text.len += len + 1;
    s->prev_end = off + len;
    s->nlines++;
    return LC_OK;
}

static lc_status tr_overlong(void *state, lc_reader *r, uint64_t line,
                             uint64_t off, uint64_t len) {
    char msg[128];
    snprintf(msg, sizeof msg,
             "line of %" PRIu64 " bytes exceeds max_line_bytes (%" PRId64 ")",
             len, lci_opt(lci_reader_config(r), LC_OPT_MAX_LINE_BYTES));
    set_fail(state, LC_ERR_LIMIT, line, off, msg);
    return LC_OK;
}

/* Walk to the next stored line: *ln gets it; returns 0 at the end.
 * `idx` counts lines walked so far (for the CRLF bits). */
static int next_line(const tstate *s, size_t *pos, size_t *idx, tline *ln) {
    const char *t = s->text.data, *nl;
    if (*idx >= s->nlines)
        return 0;
    if (*idx == 0) {
        ln->line = s->first_line;
        ln->off = s->first_off;
    } else {
        size_t k = *idx - 1;
        ln->off += ln->len + ((s->crlf[k / 8] >> (k % 8)) & 1 ? 2 : 1);
        ln->line++;
    }
    nl = memchr(t + *pos, '\n', s->text.len - *pos);
    ln->start = *pos;
    ln->len = (size_t)(nl - (t + *pos));
    *pos += ln->len + 1;
    (*idx)++;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Labels                                                               */
/* ------------------------------------------------------------------ */

static int is_alpha(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static int is_blank_ch(char c) {
    return c == ' ' || c == '\t' || c == '\f' || c == '\v';
}

/* A speaker label found at the start of a line: offsets in the line. */
typedef struct lab {
    size_t name; /* first byte of the name */
    size_t len;  /* bytes of the name */
    size_t text; /* first byte after the label (its colon, closing **) */
} lab;

/* Find a speaker label at the start of p[0..n): optionally a bracketed
 * timestamp ("[10:32] ", must hold a digit), optionally markdown bold
 * ("**Name:**" or "**Name**:"), then the name and its colon, then a blank
 * or the end of the line. Returns 0 if there is none. */
static int find_label(const char *p, size_t n, lab *out) {
    size_t i = 0, k, j, words = 1;
    int bold = 0;
    unsigned char c0;
    if (n > 0 && p[0] == '[') {
        int digit = 0;
        for (j = 1; j < n && j <= MAX_LABEL && p[j] != ']'; j++)
            digit |= p[j] >= '0' && p[j] <= '9';
        if (j >= n || p[j] != ']' || !digit || j + 1 >= n ||
            !is_blank_ch(p[j + 1]))
            return 0;
        i = j + 1;
        while (i < n && is_blank_ch(p[i]))
            i++;
    }
    if (n - i >= 2 && p[i] == '*' && p[i + 1] == '*') {
        bold = 1;
        i += 2;
    }
    if (n - i < 2)
        return 0;
    c0 = (unsigned char)p[i];
    if (!is_alpha(c0) && c0 < 0xC2) /* a letter or a non-ASCII lead byte */
        return 0;
    for (k = 1; i + k < n && k <= MAX_LABEL; k++) {
        unsigned char c = (unsigned char)p[i + k];
        if (c == ':' || (bold && c == '*'))
            break;
        if (c == ' ') {
            if (p[i + k - 1] == ' ' || ++words > MAX_WORDS)
                return 0;
            continue;
        }
        if (c == '.') { /* "Dr. Lee", not "Fine. Then:" */
            if (!is_alpha((unsigned char)p[i + k - 1]))
                return 0;
            continue;
        }
        if (is_alpha(c) || (c >= '0' && c <= '9') || c >= 0x80 || c == '-' ||
            c == '_' || c == '\'' || c == '/' || c == '&' || c == '#')
            continue;
        return 0;
    }
    if (i + k >= n || k > MAX_LABEL)
        return 0;
    if (p[i + k - 1] == ' ' || p[i + k - 1] == '.')
        return 0;
    j = i + k;
    if (bold) {
        if (n - j >= 3 && (memcmp(p + j, "**:", 3) == 0 ||
                           memcmp(p + j, ":**", 3) == 0))
            j += 3;
        else
            return 0;
    } else if (p[j] == ':') {
        j++;
    } else {
        return 0;
    }
    if (j < n && !is_blank_ch(p[j]))
        return 0; /* "http://", "10:30" */
    out->name = i;
    out->len = k;
    out->text = j;
    return 1;
}

static char lower(char c) {
    return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
}

static uint64_t label_hash(const char *p, size_t n) {
    char tmp[MAX_LABEL];
    size_t i;
    for (i = 0; i < n; i++)
        tmp[i] = lower(p[i]);
    return lci_hash(tmp, n);
}

static int label_eq(const char *a, const char *b, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        if (lower(a[i]) != lower(b[i]))
            return 0;
    return 1;
}

/* Open-addressing table of labels; slot values are label index + 1. */
typedef struct ltab {
    label *labels;
    size_t n, cap;
    size_t *slots;
    size_t nslots; /* power of two, > 2n */
} ltab;

static lc_status ltab_rehash(ltab *t, const lci_alloc *a) {
    size_t ns = t->nslots ? t->nslots * 2 : 64, i;
    size_t *slots = lci_calloc(a, ns, sizeof *slots);
    if (!slots)
        return LC_ERR_NOMEM;
    for (i = 0; i < t->n; i++) {
        size_t k = (size_t)t->labels[i].hash & (ns - 1);
        while (slots[k])
            k = (k + 1) & (ns - 1);
        slots[k] = i + 1;
    }
    lci_free(a, t->slots);
    t->slots = slots;
    t->nslots = ns;
    return LC_OK;
}

/* Find or add the label p[0..n) first seen at line index li. */
static lc_status ltab_add(ltab *t, const lci_alloc *a, const char *text,
                          size_t pos, size_t n, int has_text, size_t *out) {
    const char *p = text + pos;
    uint64_t h = label_hash(p, n);
    size_t k;
    lc_status st;
    if ((t->n + 1) * 2 >= t->nslots && (st = ltab_rehash(t, a)) != LC_OK)
        return st;
    k = (size_t)h & (t->nslots - 1);
    while (t->slots[k]) {
        label *l = &t->labels[t->slots[k] - 1];
        if (l->hash == h && l->len == n &&
            label_eq(text + l->pos, p, n)) {
            l->count++;
            l->inline_text += has_text;
            *out = t->slots[k] - 1;
            return LC_OK;
        }
        k = (k + 1) & (t->nslots - 1);
    }
    st = lci_grow(a, (void **)&t->labels, sizeof *t->labels, &t->cap,
                  t->n + 1);
    if (st != LC_OK)
        return st;
    t->labels[t->n].hash = h;
    t->labels[t->n].pos = pos;
    t->labels[t->n].len = n;
    t->labels[t->n].count = 1;
    t->labels[t->n].inline_text = (uint32_t)has_text;
    t->labels[t->n].speaker = -1;
    t->slots[k] = t->n + 1;
    *out = t->n++;
    return LC_OK;
}

/* Index of the label p[0..n) (text position pos), which must exist. */
static size_t ltab_find(const ltab *t, const char *text, size_t pos,
                        size_t n) {
    uint64_t h = label_hash(text + pos, n);
    size_t k = (size_t)h & (t->nslots - 1);
    for (;;) {
        const label *l = &t->labels[t->slots[k] - 1];
        if (l->hash == h && l->len == n &&
            label_eq(text + l->pos, text + pos, n))
            return t->slots[k] - 1;
        k = (k + 1) & (t->nslots - 1);
    }
}

/* ------------------------------------------------------------------ */
/* Building the conversation                                            */
/* ------------------------------------------------------------------ */

typedef struct build {
    tstate *s;
    ltab tab;
    speaker *spk;
    size_t nspk, capspk;
    tturn *turns;
    size_t nturns, capturns;
    lci_buf tbuf;
} build;

static void build_free(build *b, const lci_alloc *a) {
    lci_free(a, b->tab.labels);
    lci_free(a, b->tab.slots);
    lci_free(a, b->spk);
    lci_free(a, b->turns);
    lci_buf_free(&b->tbuf);
}

static size_t rtrim(const char *p, size_t n) {
    while (n > 0 && is_blank_ch(p[n - 1]))
        n--;
    return n;
}

/* Append one source line to the turn text being built. */
static lc_status add_text(build *b, tturn *t, const tline *ln,
                          const char *p, size_t n, int *para) {
    /* ln: the source line p[0..n) lies in (for positions) */
    lc_status st;
    size_t bad;
    n = rtrim(p, n);
    bad = lci_utf8_valid_prefix(p, n);
    if (bad < n && !t->has_bad) {
        uint64_t l;
        size_t in_line = (size_t)(p - (b->s->text.data + ln->start));
        t->has_bad = 1;
        t->bad.line = ln->line;
        lci_locate(b->s->text.data + ln->start, ln->len, in_line + bad, &l,
                   &t->bad.col);
        t->bad.off = ln->off + in_line + bad;
    }
    if (n == 0) {
        *para = 1;
        return LC_OK;
    }
    if (t->len) {
        if ((st = lci_buf_append(&b->tbuf, *para ? "\n\n" : "\n",
                                 *para ? 2u : 1u)) != LC_OK)
            return st;
    }
    *para = 0;
    if ((st = lci_buf_append(&b->tbuf, p, n)) != LC_OK)
        return st;
    t->len = b->tbuf.len - t->start;
    return LC_OK;
}

static const char *const src_names[] = {"option", "known names", NULL};

static lc_status assign_roles(build *b, const lc_config *cfg, lci_buf *note,
                              const char *text) {
    size_t i;
    int have_a = 0, have_u = 0, used[3] = {0, 0, 0};
    const char *heur = NULL;
    lc_status st;
    for (i = 0; i < b->nspk; i++) {
        speaker *sp = &b->spk[i];
        const label *l = &b->tab.labels[sp->label];
        const char *name = text + l->pos;
        sp->src = -1;
        if (lci_config_speaker_role(cfg, name, l->len, &sp->role))
            sp->src = 0;
        else if (lci_role_from_name(name, l->len, &sp->role))
            sp->src = 1;
        if (sp->src >= 0 && sp->role == LC_ROLE_ASSISTANT)
            have_a = 1;
        if (sp->src >= 0 && sp->role == LC_ROLE_USER)
            have_u = 1;
    }
    if (!have_a) {
        int best = -1, tie = 0;
        for (i = 0; i < b->nspk; i++) {
            speaker *sp = &b->spk[i];
            if (sp->src >= 0)
                continue;
            if (best < 0) {
                best = (int)i;
                tie = 0;
                continue;
            }
            /* compare averages exactly: bytes_i/turns_i vs best */
            {
                const speaker *bs = &b->spk[best];
                uint64_t lhs = sp->bytes * bs->turns;
                uint64_t rhs = bs->bytes * sp->turns;
                if (lhs > rhs) {
                    best = (int)i;
                    tie = 0;
                } else if (lhs == rhs) {
                    tie = 1;
                }
            }
        }
        if (best >= 0) {
            b->spk[best].role = LC_ROLE_ASSISTANT;
            b->spk[best].src = 2;
            heur = tie ? "heuristic: equal average turns, first speaker is "
                         "the assistant"
                       : "heuristic: longer average turns";
        }
    }
    for (i = 0; i < b->nspk; i++) {
        speaker *sp = &b->spk[i];
        if (sp->src >= 0)
            continue;
        sp->src = 2;
        if (!have_u) {
            sp->role = LC_ROLE_USER;
            have_u = 1;
            if (!heur)
                heur = "heuristic: first remaining speaker is the user";
        } else {
            sp->role = LC_ROLE_OTHER;
            if (!heur)
                heur = "heuristic: remaining speakers are other";
        }
    }
    for (i = 0; i < b->nspk; i++) {
        const speaker *sp = &b->spk[i];
        const label *l = &b->tab.labels[sp->label];
        if (i && (st = lci_buf_putc(note, ' ')) != LC_OK)
            return st;
        if ((st = lci_buf_append(note, text + l->pos, l->len)) != LC_OK ||
            (st = lci_buf_printf(note, "=%s", lc_role_name(sp->role))) !=
                LC_OK)
            return st;
        used[sp->src] = 1;
    }
    {
        int first = 1;
        for (i = 0; i < 3; i++) {
            const char *why = i < 2 ? src_names[i] : heur;
            if (!used[i] || !why)
                continue;
            st = lci_buf_printf(note, "%s%s", first ? " (" : "; ", why);
            if (st != LC_OK)
                return st;
            first = 0;
        }
        if (!first && (st = lci_buf_putc(note, ')')) != LC_OK)
            return st;
    }
    return LC_OK;
}

static lc_status emit_conv(tstate *s, lc_reader *r, build *b) {
    const lc_config *cfg = lci_reader_config(r);
    const char *text = s->text.data;
    lc_conversation *c = NULL;
    lci_buf note;
    size_t i;
    lc_status st;

    lci_buf_init(&note, s->a);
    st = lci_reader_conv_new(r, b->turns[0].line.line, b->turns[0].line.off,
                             &c);
    if (st != LC_OK)
        return st;
    if ((st = assign_roles(b, cfg, &note, text)) != LC_OK)
        goto out;
    if ((st = lci_buf_terminate(&note)) != LC_OK)
        goto out;
    c->speaker_note = lci_buf_take(&note);
    if (!c->speaker_note) {
        st = LC_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < b->nturns; i++) {
        const tturn *t = &b->turns[i];
        const tline *ln = &t->line;
        const speaker *sp = &b->spk[t->speaker];
        lci_turn *added;
        st = lci_conv_add(c, sp->role, text + ln->start + t->name_off,
                          t->label_len,
                          b->tbuf.data ? b->tbuf.data + t->start : "",
                          t->len, ln->line, 1, ln->off, LC_TURN_NONE, &added);
        if (st == LC_ERR_LIMIT) {
            st = lci_conv_diag(c, LC_ERR_LIMIT, LC_SEVERITY_ERROR, ln->line,
                               1, ln->off, -1,
                               "more than %" PRId64 " turns (max_turns)",
                               lci_opt(cfg, LC_OPT_MAX_TURNS));
            break;
        }
        if (st != LC_OK)
            goto out;
        if (t->has_bad &&
            (st = lci_conv_diag(c, LC_ERR_UTF8, LC_SEVERITY_WARNING,
                                t->bad.line, t->bad.col, t->bad.off,
                                (int64_t)added->pub.index,
                                "invalid UTF-8 replaced by U+FFFD")) != LC_OK)
            goto out;
    }
out:
    lci_buf_free(&note);
    if (st != LC_OK) {
        lc_conversation_free(c);
        return st;
    }
    return lci_reader_emit(r, c);
}

static lc_status tr_finish(void *state, lc_reader *r) {
    tstate *s = state;
    build b;
    size_t i, pos, idx;
    int para = 0, inline_speakers = 0;
    lc_status st = LC_OK;
    const char *text = s->text.data;
    uint64_t max_turns = (uint64_t)lci_opt(lci_reader_config(r),
                                           LC_OPT_MAX_TURNS);
    tline ln;

    /* the transcript (the whole input) starts at its first line: line 1
     * unless blank lines precede it or the reader started elsewhere
     * (lc_reader_set_start) */
    if (s->failed)
        return lci_reader_emit_error(r, s->nlines ? s->first_line : 1,
                                     s->nlines ? s->first_off : 0,
                                     s->fail_st, s->fail_at.line,
                                     s->fail_at.col, s->fail_at.off, "%s",
                                     s->fail_msg);
    if (s->nlines == 0)
        return LC_OK;
    memset(&b, 0, sizeof b);
    memset(&ln, 0, sizeof ln);
    b.s = s;
    lci_buf_init(&b.tbuf, s->a);
    /* pass 1: labels and their counts */
    for (pos = idx = 0; next_line(s, &pos, &idx, &ln);) {
        lab lb;
        size_t li;
        if (find_label(text + ln.start, ln.len, &lb) &&
            (st = ltab_add(&b.tab, s->a, text, ln.start + lb.name, lb.len,
                           rtrim(text + ln.start, ln.len) > lb.text, &li)) !=
                LC_OK)
            goto out;
    }
    /* Headings that recur ("Example:" alone on its line, twice) are not
     * speakers when some recurring label does carry inline text. */
    for (i = 0; i < b.tab.n; i++)
        if (b.tab.labels[i].count >= 2 && b.tab.labels[i].inline_text)
            inline_speakers = 1;
    if (inline_speakers)
        for (i = 0; i < b.tab.n; i++)
            if (!b.tab.labels[i].inline_text)
                b.tab.labels[i].count = 1;
    /* pass 2: turns (one past max_turns is enough to fail) */
    for (pos = idx = 0; next_line(s, &pos, &idx, &ln) &&
                        b.nturns <= max_turns;) {
        const char *p = text + ln.start;
        lab lb;
        label *l = find_label(p, ln.len, &lb)
                       ? &b.tab.labels[ltab_find(&b.tab, text,
                                                 ln.start + lb.name, lb.len)]
                       : NULL;
        if (l && l->count >= 2) {
            tturn *t;
            size_t skip = lb.text;
            if (l->speaker < 0) {
                st = lci_grow(s->a, (void **)&b.spk, sizeof *b.spk,
                              &b.capspk, b.nspk + 1);
                if (st != LC_OK)
                    goto out;
                memset(&b.spk[b.nspk], 0, sizeof b.spk[b.nspk]);
                b.spk[b.nspk].label = (size_t)(l - b.tab.labels);
                l->speaker = (int)b.nspk++;
            }
            st = lci_grow(s->a, (void **)&b.turns, sizeof *b.turns,
                          &b.capturns, b.nturns + 1);
            if (st != LC_OK)
                goto out;
            t = &b.turns[b.nturns++];
            memset(t, 0, sizeof *t);
            t->speaker = l->speaker;
            t->line = ln;
            t->name_off = lb.name;
            t->label_len = lb.len;
            t->start = b.tbuf.len;
            while (skip < ln.len && is_blank_ch(p[skip]))
                skip++;
            para = 0;
            if (skip > ln.len)
                skip = ln.len;
            if ((st = add_text(&b, t, &ln, p + skip, ln.len - skip, &para)) !=
                LC_OK)
                goto out;
            continue;
        }
        if (b.nturns == 0)
            continue; /* preamble */
        st = add_text(&b, &b.turns[b.nturns - 1], &ln, p, ln.len, &para);
        if (st != LC_OK)
            goto out;
    }
    if (b.nturns == 0) {
        st = lci_reader_emit_error(
            r, s->first_line, s->first_off, LC_ERR_FORMAT, s->first_line, 1,
            s->first_off, "no speaker labels: no \"Name:\" label starts two or more lines");
        goto out;
    }
    for (i = 0; i < b.nturns; i++) {
        speaker *sp = &b.spk[b.turns[i].speaker];
        sp->turns++;
        sp->bytes += b.turns[i].len;
    }
    st = emit_conv(s, r, &b);
out:
    build_free(&b, s->a);
    return st;
}

const lci_format_vt lci_format_transcript = {
    LC_FORMAT_TRANSCRIPT, "transcript", tr_create, tr_line, tr_overlong,
    tr_finish, tr_destroy,
};
