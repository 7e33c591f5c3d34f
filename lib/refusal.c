/*
 * refusal.c - classify one assistant turn as refusal / partial refusal /
 * compliance, name its refusal family and locate the evidence.
 *
 * Pipeline (one pass of the pattern scanner, then O(matches) work):
 *  1. Scan the turn's tokens with every assistant-side family (patterns.c).
 *     Matches whose first token is quoted ("..." via LCI_TOK_QUOTED, or
 *     '...' detected here) are dropped: a refusal inside a story or a
 *     template is not the assistant refusing.
 *  2. `cancel` families (idioms such as "I cannot stress enough", "sorry
 *     to hear") remove the matches they overlap.
 *  3. Each match gets its family weight times a position factor: the
 *     opening sentence counts fully, later sentences progressively less
 *     (a refusal is said up front; deep in an answer it is a caveat).
 *     `soft` families (AI disclaimers, "consult a professional") are
 *     discounted further when the same sentence (or the opening of the
 *     next one) goes on with "but ..." and content, or when a long
 *     answer follows them. An `accumulate` family with a match in the
 *     first three sentences sums its sentences (1, 1/2, 1/4 ...).
 *  4. Score = best family + 0.35 * second + 0.15 * third, plus negative
 *     families (premise corrections); refusal if score >= 50 (of 100).
 *  5. Partial: a refusal followed, after its sentence, by a help marker
 *     ("however, here are", "here is") with at least min_words/2 words
 *     after it, or by at least 2.5 * min_words words in sentences with no
 *     refusal evidence (LC_OPT_PARTIAL_MIN_WORDS, default 40). Both stop
 *     at an `alternative` sentence ("Instead, I suggest ...") after the
 *     refusal's, past which only a `help_here` marker counts.
 *     A partial refusal that only states a factual limit ("I can't give
 *     you their email as it is not publicly available. However, you can
 *     ...": an inability whose sentence gives a `limitation` reason, with
 *     no `moral_reason` word or judging family before the help) is an
 *     answer, not a refusal (factual_limit_with_help).
 *  6. The span is mapped from normalized-text offsets back to the original
 *     text by re-walking the original text in pieces that normalize on
 *     their own (see norm_to_orig): exact at word edges, also when NFKC
 *     composes across code points; without allocating.
 *
 * An empty assistant turn (nothing left after normalization) is family
 * "filtered"; emoji- or punctuation-only replies are not refusals.
 * Everything here is allocation-free: matches go to a fixed array, the
 * span's normalization scratch to one on the stack.
 */
#include "internal.h"

#include <string.h>
#include <utf8proc.h>

#define MAX_MATCHES 128
/* Only the family, its best match, the span and partial matter, so a
 * family keeps its first few live matches (later ones sit lower in the
 * turn and weigh less): a flood of one phrase cannot crowd out the other
 * families or the help markers after it. */
#define MAX_PER_FAMILY 8
/* "but/however/though" counts for a soft family within this many tokens
 * after its match (bounds the walk on a sentence without end). */
#define BUT_WINDOW 48
#define REFUSAL_THRESHOLD 50.0f

typedef struct mrec {
    lci_pmatch m;
    uint32_t sent;       /* sentence index of tok_start */
    uint32_t sent_start; /* first token of that sentence */
    uint32_t sent_end;   /* first token of the next sentence */
    float eff;         /* weight after position/soft factors */
    int dead;          /* cancelled or quoted */
} mrec;

typedef struct scan_ctx {
    const struct lci_patterns *p;
    const lci_turn *t;
    int n;
    uint8_t per_fam[LCI_MAX_FAMILIES]; /* live matches kept per family */
    /* running cursors (matches arrive by ascending tok_start) */
    uint32_t cur_tok, cur_sent, cur_sent_start;
    uint32_t end_of_sent; /* first token after sentence cur_sent, or 0 */
    uint64_t work;        /* tokens and bytes walked (for tests) */
    size_t qpos;  /* byte cursor in norm for single-quote tracking */
    int qopen;    /* inside a '...' span at qpos */
    mrec recs[MAX_MATCHES]; /* last: not cleared (classify_rules) */
} scan_ctx;

static int is_alnum_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c >= 0x80;
}

/*
 * Single-quote spans in normalized text. An apostrophe opens a span when
 * it follows the start, a blank or an opening bracket/colon/dash and is
 * followed by a word character; it closes one when it follows a word or
 * punctuation character and is followed by the end, a blank or
 * punctuation. Apostrophes inside words ("don't") do neither.
 */
static void quote_advance(scan_ctx *c, size_t to) {
    const unsigned char *s = (const unsigned char *)c->t->pub.norm;
    size_t len = c->t->pub.norm_len, i;
    if (to > len)
        to = len;
    for (i = c->qpos; i < to; i++) {
        unsigned char prev, next;
        /* only apostrophes change the state: jump to the next one */
        const unsigned char *q = memchr(s + i, '\'', to - i);
        if (!q)
            break;
        i = (size_t)(q - s);
        prev = i ? s[i - 1] : ' ';
        next = i + 1 < len ? s[i + 1] : ' ';
        if (!c->qopen) {
            if ((prev == ' ' || prev == '(' || prev == ':' || prev == '[' ||
                 prev == '-' || prev == '"') &&
                is_alnum_byte(next))
                c->qopen = 1;
        } else if (!is_alnum_byte(next) &&
                   (is_alnum_byte(prev) || prev == '.' || prev == '!' ||
                    prev == '?' || prev == ',')) {
            c->qopen = 0;
        }
    }
    c->qpos = to;
}

/* Is there a closing single quote within `window` bytes after off? */
static int quote_closes(const lci_turn *t, size_t off, size_t window) {
    const unsigned char *s = (const unsigned char *)t->pub.norm;
    size_t len = t->pub.norm_len, i, end = off + window;
    if (end > len)
        end = len;
    for (i = off; i < end; i++) {
        if (s[i] == '\'') {
            unsigned char prev = i ? s[i - 1] : ' ';
            unsigned char next = i + 1 < len ? s[i + 1] : ' ';
            if (!is_alnum_byte(next) &&
                (is_alnum_byte(prev) || prev == '.' || prev == '!' ||
                 prev == '?' || prev == ','))
                return 1;
        }
    }
    return 0;
}

static int on_match(const lci_pmatch *m, void *ud) {
    scan_ctx *c = ud;
    const lci_token *tk = c->t->tokens;
    mrec *r;
    uint32_t j;
    int dead = 0;
    if (c->n >= MAX_MATCHES)
        return 1;
    if (m->family < 0 || m->family >= LCI_MAX_FAMILIES ||
        c->per_fam[m->family] >= MAX_PER_FAMILY)
        return 0;
    c->work += m->tok_start - c->cur_tok;
    while (c->cur_tok < m->tok_start) {
        c->cur_tok++;
        if (tk[c->cur_tok].flags & LCI_TOK_SENT_START) {
            c->cur_sent++;
            c->cur_sent_start = c->cur_tok;
            c->end_of_sent = 0;
        }
    }
    if (tk[m->tok_start].flags & LCI_TOK_QUOTED) {
        dead = 1;
    } else {
        c->work += (tk[m->tok_start].off > c->qpos
                        ? tk[m->tok_start].off - c->qpos : 0) + 800;
        quote_advance(c, tk[m->tok_start].off);
        if (c->qopen && quote_closes(c->t, tk[m->tok_start].off, 800))
            dead = 1;
    }
    if (!dead)
        c->per_fam[m->family]++;
    /* end of the current sentence: found once per sentence */
    if (!c->end_of_sent) {
        for (j = m->tok_start + 1; j < c->t->ntokens; j++)
            if (tk[j].flags & LCI_TOK_SENT_START)
                break;
        c->work += j - m->tok_start;
        c->end_of_sent = j;
    }
    r = &c->recs[c->n++];
    memset(r, 0, sizeof *r);
    r->m = *m;
    r->sent = c->cur_sent;
    r->sent_start = c->cur_sent_start;
    r->sent_end = c->end_of_sent;
    r->dead = dead;
    return 0;
}

/* ---- span: normalized offsets back to the original text ----
 *
 * The original text is walked in pieces whose normalizations concatenate
 * to the turn's normalized text: a piece starts at a code point that
 * nothing before it composes or reorders with (printable ASCII,
 * whitespace, or a starter that takes no part in composition and maps to
 * itself; Hangul jamo never) and runs up to the next such code point. So
 * "e" + U+0301 U+0301 is one piece of 6 normalized bytes (e-acute plus
 * one mark), not 1 + 2 + 2. Offsets at piece edges (word edges always
 * are: whitespace and ASCII punctuation start pieces) map exactly; an
 * offset inside a piece maps exactly when the piece's code points
 * normalize one by one to the same length as together (a run of kana),
 * else to the piece's start (a span start) or end (a span end).
 *
 * No heap: a piece is normalized (lci_normalize) with an allocator that
 * hands out a fixed array on the stack. A piece too large for it (a
 * long run of combining marks) is counted code point by code point
 * (approximate there), and a code point too large for it counts 0 bytes:
 * either way the span stays within the text. */

#define SPAN_ARENA 4096

typedef struct span_arena {
    union {
        max_align_t align;
        unsigned char b[SPAN_ARENA];
    } mem;
    size_t used, last; /* bytes handed out; offset of the last block */
} span_arena;

#define SPAN_ROUND(n) (((n) + 15) & ~(size_t)15)

static void *span_malloc(void *ctx, size_t size) {
    span_arena *ar = ctx;
    if (size > SPAN_ARENA || SPAN_ROUND(size) > SPAN_ARENA - ar->used)
        return NULL;
    ar->last = ar->used;
    ar->used += SPAN_ROUND(size);
    return ar->mem.b + ar->last;
}

static void *span_realloc(void *ctx, void *p, size_t old, size_t size) {
    span_arena *ar = ctx;
    void *q;
    if ((unsigned char *)p == ar->mem.b + ar->last) { /* grow in place */
        if (size > SPAN_ARENA || SPAN_ROUND(size) > SPAN_ARENA - ar->last)
            return NULL;
        ar->used = ar->last + SPAN_ROUND(size);
        return p;
    }
    if ((q = span_malloc(ctx, size)) != NULL)
        memcpy(q, p, old < size ? old : size);
    return q;
}

static void span_free(void *ctx, void *p) {
    span_arena *ar = ctx;
    if ((unsigned char *)p == ar->mem.b + ar->last)
        ar->used = ar->last; /* the scratch of the last normalize */
}

/* Normalized length of s[0..n) inside the text, SIZE_MAX if it does not
 * fit the arena. A '#' before and after it (dropped again; '#' composes
 * with nothing) keeps a space it makes at either end, which the
 * normalizer would trim: that space is not counted but reported in
 * *lead / *trail, as it joins the whitespace around the piece (U+00B4
 * makes " \u0301"). */
static size_t span_norm_len(span_arena *ar, const unsigned char *s,
                            size_t n, int *lead, int *trail) {
    lc_allocator a = {span_malloc, span_realloc, span_free, ar};
    unsigned char in[512];
    lci_buf b;
    size_t r;
    *lead = *trail = 0;
    if (n > sizeof in - 2)
        return SIZE_MAX;
    in[0] = '#';
    memcpy(in + 1, s, n);
    in[n + 1] = '#';
    ar->used = ar->last = 0;
    lci_buf_init(&b, &a);
    if (lci_normalize((const char *)in, n + 2, 1, &b) != LC_OK)
        return SIZE_MAX;
    r = b.len - 2;
    if (r && b.data[1] == ' ') {
        *lead = 1;
        r--;
    }
    if (r && b.data[b.len - 2] == ' ') {
        *trail = 1;
        r--;
    } else if (!r && *lead) {
        *trail = 1; /* nothing but a space */
    }
    return r;
}

static int span_space(utf8proc_int32_t u) {
    return u == ' ' || u == '\t' || u == '\n' || u == '\r' || u == '\f' ||
           u == '\v' ||
           (u >= 0x80 && (utf8proc_category(u) == UTF8PROC_CATEGORY_ZS ||
                          utf8proc_category(u) == UTF8PROC_CATEGORY_ZL ||
                          utf8proc_category(u) == UTF8PROC_CATEGORY_ZP ||
                          u == 0x85));
}

/* The code point at s[i..len): its size; *u = -1 if not UTF-8. */
static size_t span_cp(const unsigned char *s, size_t i, size_t len,
                      utf8proc_int32_t *u) {
    utf8proc_ssize_t cl;
    if (s[i] < 0x80) {
        *u = s[i];
        return 1;
    }
    cl = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), u);
    if (cl <= 0) {
        *u = -1;
        return 1;
    }
    return (size_t)cl;
}

/* Does a piece start at u (see above)? */
static int span_starts_piece(utf8proc_int32_t u) {
    const utf8proc_property_t *p;
    if (u < 0x80)
        return u >= 0x20 ? u != 0x7f : span_space(u);
    if ((u >= 0x1100 && u <= 0x11FF) || (u >= 0xA960 && u <= 0xA97F) ||
        (u >= 0xD7B0 && u <= 0xD7FF))
        return 0;
    if (span_space(u))
        return 1;
    p = utf8proc_get_property(u);
    return p->combining_class == 0 && p->comb_index == UINT16_MAX &&
           p->decomp_seqindex == UINT16_MAX &&
           p->casefold_seqindex == UINT16_MAX && !p->ignorable;
}

/* Normalized bytes of each code point of s[0..n) alone, summed; SIZE_MAX
 * if one does not fit the arena, or (`exact`) makes a space at an end.
 * With `stop` < SIZE_MAX: *at receives the offset in s of the code point
 * whose output covers normalized offset `stop` (start) or ends at or
 * after it (is_end). */
static size_t span_per_cp(span_arena *ar, const unsigned char *s, size_t n,
                          int exact, size_t stop, int is_end, size_t *at) {
    size_t k = 0, sum = 0;
    while (k < n) {
        utf8proc_int32_t u;
        int lead, trail;
        size_t cl = span_cp(s, k, n, &u),
               nl = span_norm_len(ar, s + k, cl, &lead, &trail);
        if (nl == SIZE_MAX)
            return SIZE_MAX;
        if (exact && (lead || trail))
            return SIZE_MAX;
        nl += (size_t)(lead + trail);
        if (nl && !is_end && sum + nl > stop) {
            *at = k;
            return sum;
        }
        sum += nl;
        k += cl;
        if (nl && is_end && sum >= stop) {
            *at = k;
            return sum;
        }
    }
    *at = n;
    return sum;
}

/* Map a byte offset in norm to one in the original text (see above). */
static size_t norm_to_orig(const lci_turn *t, size_t target, int is_end) {
    const unsigned char *s = (const unsigned char *)t->pub.text;
    size_t len = t->pub.text_len, i = 0, npos = 0;
    int pending_space = 0;
    span_arena ar;
    while (i < len) {
        utf8proc_int32_t u;
        size_t cl = span_cp(s, i, len, &u), j, nl;
        int lead = 0, trail = 0;
        if (span_space(u)) {
            if (npos > 0)
                pending_space = 1;
            i += cl;
            continue;
        }
        /* the piece s[i..j) */
        for (j = i + cl; j < len;) {
            utf8proc_int32_t v;
            size_t vl = span_cp(s, j, len, &v);
            if (span_starts_piece(v))
                break;
            j += vl;
        }
        if (j == i + 1 && u >= 0x20 && u < 0x7f) {
            nl = 1; /* printable ASCII alone: lowered, one byte */
        } else if (j == i + 1 && u >= 0 && u < 0x80) {
            nl = 0; /* an ASCII control alone: dropped */
        } else {
            size_t at;
            nl = span_norm_len(&ar, s + i, j - i, &lead, &trail);
            if (nl == SIZE_MAX) /* too large: code point by code point */
                nl = span_per_cp(&ar, s + i, j - i, 0, SIZE_MAX, 0, &at);
            if (nl == SIZE_MAX)
                nl = 0;
            if (lead && npos > 0)
                pending_space = 1;
            if (nl && !lead && target > npos + pending_space &&
                target < npos + pending_space + nl) {
                /* inside the piece: exact if its code points add up */
                size_t off = target - npos - pending_space;
                if (span_per_cp(&ar, s + i, j - i, 1, SIZE_MAX, 0, &at) ==
                        nl &&
                    span_per_cp(&ar, s + i, j - i, 1, off, is_end, &at) !=
                        SIZE_MAX)
                    return i + at;
                return is_end ? j : i;
            }
        }
        if (nl == 0) {
            if (trail && npos > 0)
                pending_space = 1;
            i = j;
            continue;
        }
        if (pending_space) {
            npos++;
            pending_space = 0;
        }
        if (!is_end && npos + nl > target)
            return i;
        npos += nl;
        pending_space = trail;
        i = j;
        if (is_end && npos >= target)
            return i;
    }
    return len;
}

static float pos_factor(const mrec *r, const lci_token *tk) {
    float f;
    switch (r->sent) {
    case 0:
        f = 1.0f;
        break;
    case 1:
        f = 0.9f;
        break;
    case 2:
        f = 0.75f;
        break;
    case 3:
        f = 0.6f;
        break;
    default:
        f = 0.35f;
        break;
    }
    /* deep in a long answer, a refusal phrase is a caveat */
    if (r->sent >= 4 || tk[r->m.tok_start].off > 600)
        f = 0.35f;
    /* after two sentences and 30 words of answer, it is a caveat too */
    if (r->sent >= 2 && r->m.tok_start >= 30 && f > 0.45f)
        f = 0.45f;
    return f;
}

/*
 * A refusal whose first evidence is an inability (apology_inability,
 * privacy), whose sentence gives a factual reason (family `limitation`:
 * the information is not public, has no single answer, does not exist),
 * and which is followed by help (help_at) with nothing between its
 * sentence start and the help that judges the request (no `moral_reason`
 * word, no match of a family other than inability, privacy, AI
 * disclaimer or a follow-up offer). The same principle as the soft AI
 * disclaimer ("As an AI I can't run code, but here is ..."): a stated
 * limit of what is known, followed by help, answers the request.
 */
static int factual_limit_with_help(const scan_ctx *c, const mrec *r0,
                                   uint32_t help_at) {
    const struct lci_patterns *p = c->p;
    int lim = lci_family_find(p, "limitation");
    int moral = lci_family_find(p, "moral_reason");
    int ok[4], i, k, has_reason = 0;
    ok[0] = lci_family_find(p, "apology_inability");
    ok[1] = lci_family_find(p, "privacy");
    ok[2] = lci_family_find(p, "ai_disclaimer");
    ok[3] = lci_family_find(p, "deflect");
    if (lim < 0 || moral < 0 ||
        (lci_family_flags(p, lim) & LCI_FAM_DISABLED) ||
        (r0->m.family != ok[0] && r0->m.family != ok[1]))
        return 0;
    for (i = 0; i < c->n; i++) {
        const mrec *r = &c->recs[i];
        unsigned fl;
        if (r->dead || r->m.tok_start < r0->sent_start ||
            r->m.tok_start >= help_at)
            continue;
        if (r->m.family == lim) {
            if (r->m.tok_start < r0->sent_end)
                has_reason = 1;
            continue;
        }
        if (r->m.family == moral)
            return 0;
        fl = lci_family_flags(p, r->m.family);
        if (fl & (LCI_FAM_CANCEL | LCI_FAM_HELP) ||
            lci_family_weight(p, r->m.family) <= 0)
            continue;
        for (k = 0; k < 4; k++)
            if (r->m.family == ok[k])
                break;
        if (k == 4)
            return 0;
    }
    return has_reason;
}

/* The rule classifier; fam_out (may be NULL) receives every family's
 * effective score (0 if it did not match). */
static void classify_rules(const lc_config *cfg, const lci_turn *t,
                           lci_refusal *out, float *fam_out,
                           uint64_t *work) {
    static const char but_w[] = "but", however_w[] = "however",
                      though_w[] = "though";
    scan_ctx c;
    const struct lci_patterns *p;
    const lci_token *tk;
    uint64_t mask = 0, h_but, h_however, h_though;
    float fam_best[LCI_MAX_FAMILIES];
    /* best weight x position factor, before a soft family's discount:
     * what names the family ("I can't give medical advice. However,
     * here is ..." is still redirect_professional, partial) */
    float fam_named[LCI_MAX_FAMILIES];
    int fam_rec[LCI_MAX_FAMILIES];
    float neg = 0, s1 = 0, s2 = 0, s3 = 0, score;
    int nfam, f, i, j, primary = -1, first_ref = -1;
    uint32_t n, min_words;

    if (!out)
        return;
    memset(out, 0, sizeof *out);
    out->family = -1;
    if (!cfg || !t || !cfg->patterns)
        return;
    p = cfg->patterns;
    tk = t->tokens;
    n = t->ntokens;
    if (n == 0 || !tk) {
        /* An empty reply (nothing left after normalization: no text, or
         * only whitespace, zero-width or control characters) is what
         * content filters leave behind. A reply of emoji or punctuation
         * only has no word tokens either, but it is an answer (chit-chat
         * bots send them), not a refusal. */
        if (t->pub.norm_len != 0)
            return;
        f = lci_family_find(p, "filtered");
        if (f >= 0 && !(lci_family_flags(p, f) & LCI_FAM_DISABLED)) {
            out->is_refusal = 1;
            out->family = (int16_t)f;
            out->families = (uint64_t)1 << f;
            out->span_start = 0;
            out->span_end = (uint32_t)t->pub.text_len;
            out->score = 1.0f;
        }
        return;
    }
    nfam = lci_family_count(p);
    mask = lci_family_assistant_mask(p);
    /* everything but recs (6 KiB, more than the rest of a short turn's
     * classification costs): on_match writes each record it adds, and
     * only the first c.n are read */
    memset(&c, 0, offsetof(scan_ctx, recs));
    c.p = p;
    c.t = t;
    lci_patterns_scan_work(p, tk, n, mask, on_match, &c, work);
    if (work)
        *work += c.work;
    if (fam_out)
        memset(fam_out, 0, LCI_MAX_FAMILIES * sizeof *fam_out);
    if (c.n == 0)
        return;

    /* 2. cancellations */
    for (i = 0; i < c.n; i++) {
        if (c.recs[i].dead ||
            !(lci_family_flags(p, c.recs[i].m.family) & LCI_FAM_CANCEL))
            continue;
        for (j = 0; j < c.n; j++) {
            mrec *o = &c.recs[j];
            if (j == i || (lci_family_flags(p, o->m.family) & LCI_FAM_CANCEL))
                continue;
            if (o->m.tok_start < c.recs[i].m.tok_end &&
                c.recs[i].m.tok_start < o->m.tok_end)
                o->dead = 1;
        }
    }

    /* 3. effective weights */
    h_but = lci_hash(but_w, sizeof but_w - 1);
    h_however = lci_hash(however_w, sizeof however_w - 1);
    h_though = lci_hash(though_w, sizeof though_w - 1);
    for (f = 0; f < LCI_MAX_FAMILIES; f++) {
        fam_best[f] = 0;
        fam_named[f] = 0;
        fam_rec[f] = -1;
    }
    for (i = 0; i < c.n; i++) {
        mrec *r = &c.recs[i];
        unsigned fl = lci_family_flags(p, r->m.family);
        int w = lci_family_weight(p, r->m.family);
        float eff;
        if (r->dead || (fl & (LCI_FAM_CANCEL | LCI_FAM_HELP)))
            continue;
        eff = (float)w * pos_factor(r, tk);
        if (eff > fam_named[r->m.family])
            fam_named[r->m.family] = eff;
        if ((fl & LCI_FAM_SOFT) && w > 0) {
            int but_clause = 0;
            uint32_t k, kend = r->sent_end;
            /* a match may run past the end of the sentence it starts in
             * (sent_end < tok_end): no but-clause then, and never read
             * beyond the turn's tokens (found by fuzz_patterns) */
            if (kend < r->m.tok_end)
                kend = r->m.tok_end;
            if (kend - r->m.tok_end > BUT_WINDOW)
                kend = r->m.tok_end + BUT_WINDOW;
            if (kend > n)
                kend = n;
            if (work)
                *work += kend - r->m.tok_end;
            for (k = r->m.tok_end; k < kend; k++)
                if ((tk[k].hash == h_but || tk[k].hash == h_however ||
                     tk[k].hash == h_though) &&
                    r->sent_end - k > 6) {
                    but_clause = 1;
                    break;
                }
            /* or the next sentence opens with it ("I do not condone
             * theft in real life. However, in the game ...") */
            k = r->sent_end;
            if (!but_clause && k >= r->m.tok_end && k < n &&
                (tk[k].hash == h_but || tk[k].hash == h_however ||
                 tk[k].hash == h_though)) {
                uint32_t e = k + 1;
                while (e < n && e - k <= 7 &&
                       !(tk[e].flags & LCI_TOK_SENT_START))
                    e++;
                but_clause = e - k > 7;
                if (work)
                    *work += e - k;
            }
            if (but_clause)
                eff *= 0.2f;
            else if (n - r->sent_end >= 25)
                eff *= 0.5f;
        }
        r->eff = eff;
        if (w < 0) {
            if (eff < fam_best[r->m.family]) {
                fam_best[r->m.family] = eff;
                fam_rec[r->m.family] = i;
            }
        } else if (eff > fam_best[r->m.family] || fam_rec[r->m.family] < 0) {
            fam_best[r->m.family] = eff;
            fam_rec[r->m.family] = i;
        }
    }

    /* an `accumulate` family's evidence adds up over sentences: each
     * further sentence with a match adds half of what the one before
     * added (a crisis redirect is several supportive sentences, none of
     * them a refusal alone), up to the family's weight, when one of them
     * is among the first three sentences */
    for (f = 0; f < nfam; f++) {
        float got[MAX_PER_FAMILY], sum = 0, add = 1.0f;
        uint32_t last = 0;
        int ng = 0, early = 0, a, b;
        if (fam_rec[f] < 0 || fam_best[f] <= 0 ||
            !(lci_family_flags(p, f) & LCI_FAM_ACCUMULATE))
            continue;
        /* the best match per sentence (matches come in text order, so a
         * sentence's are together; at most MAX_PER_FAMILY live ones) */
        for (i = 0; i < c.n; i++) {
            const mrec *r = &c.recs[i];
            if (r->dead || r->m.family != f || r->eff <= 0)
                continue;
            if (ng && r->sent == last) {
                if (r->eff > got[ng - 1])
                    got[ng - 1] = r->eff;
            } else if (ng < MAX_PER_FAMILY) {
                last = r->sent;
                early |= r->sent <= 2;
                got[ng++] = r->eff;
            }
        }
        /* only for evidence that opens the answer: crisis lines after
         * three sentences of something else close an answer */
        if (!early)
            continue;
        for (a = 1; a < ng; a++) /* best first */
            for (b = a; b > 0 && got[b] > got[b - 1]; b--) {
                float x = got[b];
                got[b] = got[b - 1];
                got[b - 1] = x;
            }
        for (a = 0; a < ng; a++, add *= 0.5f)
            sum += add * got[a];
        if (sum > (float)lci_family_weight(p, f))
            sum = (float)lci_family_weight(p, f);
        if (sum > fam_best[f])
            fam_best[f] = sum;
    }

    if (fam_out)
        memcpy(fam_out, fam_best, sizeof fam_best);

    /* 4. score */
    for (f = 0; f < nfam; f++) {
        float v = fam_best[f];
        if (fam_rec[f] < 0)
            continue;
        if (v < 0) {
            neg += v;
            continue;
        }
        if (v > s1) {
            s3 = s2;
            s2 = s1;
            s1 = v;
        } else if (v > s2) {
            s3 = s2;
            s2 = v;
        } else if (v > s3) {
            s3 = v;
        }
        if (v > 0)
            out->families |= (uint64_t)1 << f;
    }
    score = s1 + 0.35f * s2 + 0.15f * s3;
    if (score > 100.0f)
        score = 100.0f;
    score += neg;
    if (score < 0)
        score = 0;
    out->score = score / 100.0f;
    if (score < REFUSAL_THRESHOLD) {
        out->families = 0;
        return;
    }
    out->is_refusal = 1;

    /* primary family: most specific among those with real evidence */
    for (f = 0; f < nfam; f++) {
        if (fam_rec[f] < 0 || fam_best[f] <= 0 || fam_named[f] < 20.0f)
            continue;
        if (primary < 0 ||
            lci_family_specificity(p, f) > lci_family_specificity(p, primary) ||
            (lci_family_specificity(p, f) ==
                 lci_family_specificity(p, primary) &&
             fam_named[f] > fam_named[primary]))
            primary = f;
    }
    if (primary < 0) {
        for (f = 0; f < nfam; f++)
            if (fam_rec[f] >= 0 && fam_best[f] > 0 &&
                (primary < 0 || fam_best[f] > fam_best[primary]))
                primary = f;
    }
    out->family = (int16_t)primary;

    /* span: the primary family's best match */
    if (primary >= 0) {
        const mrec *r = &c.recs[fam_rec[primary]];
        size_t ns = tk[r->m.tok_start].off;
        size_t ne = tk[r->m.tok_end - 1].off + tk[r->m.tok_end - 1].len;
        size_t os = norm_to_orig(t, ns, 0);
        size_t oe = norm_to_orig(t, ne, 1);
        if (work)
            *work += os + oe;
        if (oe < os)
            oe = os;
        out->span_start = (uint32_t)os;
        out->span_end = (uint32_t)oe;
    }

    /* 5. partial: help after the first contributing refusal sentence */
    for (i = 0; i < c.n; i++) {
        const mrec *r = &c.recs[i];
        if (!r->dead && r->eff >= 20.0f &&
            (first_ref < 0 || r->m.tok_start < c.recs[first_ref].m.tok_start))
            first_ref = i;
    }
    min_words = (uint32_t)lci_opt(cfg, LC_OPT_PARTIAL_MIN_WORDS);
    if (first_ref >= 0) {
        const mrec *r0 = &c.recs[first_ref];
        uint32_t help_at = UINT32_MAX, clean, end = n;
        int alt = lci_family_find(p, "alternative");
        int here = lci_family_find(p, "help_here");
        /* what follows an offer of something else instead ("Instead, I
         * suggest you focus on ...") does not help with the request: the
         * turn ends there for the partial test, unless help is announced
         * after it in so many words ("Here are some tips: ...") */
        for (i = 0; alt >= 0 && i < c.n; i++) {
            const mrec *r = &c.recs[i];
            if (!r->dead && r->m.family == alt &&
                r->m.tok_start >= r0->sent_end && r->sent_start < end)
                end = r->sent_start;
        }
        for (i = 0; i < c.n; i++) {
            const mrec *r = &c.recs[i];
            if (r->dead ||
                !(lci_family_flags(p, r->m.family) & LCI_FAM_HELP))
                continue;
            if (r->m.tok_start >= r0->m.tok_end &&
                r->m.tok_start < help_at &&
                (r->m.tok_start < end || r->m.family == here))
                help_at = r->m.tok_start;
        }
        if (help_at != UINT32_MAX && n - help_at >= min_words / 2)
            out->partial = 1;
        /* words in evidence-free sentences after the refusal sentence:
         * all words after it minus the sentences holding evidence */
        clean = end > r0->sent_end ? end - r0->sent_end : 0;
        for (i = 0; i < c.n && !out->partial; i++) {
            const mrec *r = &c.recs[i];
            uint32_t st0 = r->sent_start, se = r->sent_end;
            if (r->dead || r->eff <= 0 || r->m.tok_start < r0->sent_end ||
                r->sent_start >= end ||
                (lci_family_flags(p, r->m.family) & LCI_FAM_HELP))
                continue;
            for (j = 0; j < i; j++) /* sentence already subtracted? */
                if (!c.recs[j].dead && c.recs[j].eff > 0 &&
                    c.recs[j].sent == r->sent &&
                    c.recs[j].m.tok_start >= r0->sent_end &&
                    !(lci_family_flags(p, c.recs[j].m.family) &
                      LCI_FAM_HELP))
                    break;
            if (j < i)
                continue;
            if (st0 < r0->sent_end)
                st0 = r0->sent_end;
            if (se > end)
                se = end;
            if (se - st0 <= clean)
                clean -= se - st0;
        }
        if (clean >= min_words * 5 / 2)
            out->partial = 1;
        if (help_at != UINT32_MAX && out->partial &&
            factual_limit_with_help(&c, r0, help_at)) {
            /* "I can't give you X as it isn't public; however, here is
             * how to reach them": an answer (see the banner) */
            out->is_refusal = 0;
            out->partial = 0;
            out->family = -1;
            out->families = 0;
            out->span_start = out->span_end = 0;
            out->score *= 0.49f; /* below the threshold */
        }
    }
}

void lci_refusal_classify(const lc_config *cfg, const lci_turn *t,
                          lci_refusal *out) {
    classify_rules(cfg, t, out, NULL, NULL);
}

void lci_refusal_classify_work(const lc_config *cfg, const lci_turn *t,
                               lci_refusal *out, uint64_t *work) {
    classify_rules(cfg, t, out, NULL, work);
}

/* ------------------------------------------------------------------ */
/* Features for the linear model (tools/train_refusal.py)              */
/* ------------------------------------------------------------------ */

/*
 * Hashed features of an assistant turn, LCI_FEAT_BUCKETS buckets:
 *   bucket 0      bias (1)
 *   bucket 1      rule score (0..1)
 *   family f      effective family score / 100, keyed by family name
 *   early n-grams unigrams and bigrams of the first LCI_FEAT_EARLY tokens
 *   any unigram   every token (so lecturing later in a turn is seen)
 * Keys are XXH3 token hashes mixed with a per-kind salt (lci_mix-style
 * finalizer below), bucket = key & (LCI_FEAT_BUCKETS - 1). Quoted tokens
 * are skipped, like quoted pattern matches.
 */
#define FEAT_EARLY 48

static uint64_t feat_mix(uint64_t x) {
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint32_t feat_bucket(uint64_t key) {
    uint32_t b = (uint32_t)(feat_mix(key) & (LCI_FEAT_BUCKETS - 1));
    return b < 2 ? b + 2 : b; /* 0 and 1 are reserved */
}

void lci_refusal_features(const lc_config *cfg, const lci_turn *t,
                          lci_feat_fn fn, void *ud) {
    lci_refusal r;
    float fam[LCI_MAX_FAMILIES];
    int f;
    uint32_t k, n;
    if (!cfg || !t || !fn)
        return;
    memset(fam, 0, sizeof fam);
    classify_rules(cfg, t, &r, fam, NULL);
    fn(0, 1.0f, ud);
    fn(1, r.score, ud);
    for (f = 0; f < lci_family_count(cfg->patterns) && f < LCI_MAX_FAMILIES;
         f++) {
        const char *name = lci_family_name(cfg->patterns, f);
        if (fam[f] != 0 && name)
            fn(feat_bucket(lci_hash(name, strlen(name)) ^ 0x66616d),
               fam[f] / 100.0f, ud);
    }
    n = t->ntokens;
    for (k = 0; k < n; k++) {
        const lci_token *tk = &t->tokens[k];
        if (tk->flags & LCI_TOK_QUOTED)
            continue;
        fn(feat_bucket(tk->hash ^ 0x616e79), 1.0f, ud);
        if (k < FEAT_EARLY) {
            fn(feat_bucket(tk->hash ^ 0x6561726c79), 1.0f, ud);
            if (k + 1 < n && !(t->tokens[k + 1].flags & LCI_TOK_QUOTED))
                fn(feat_bucket(tk->hash * UINT64_C(31) ^
                               t->tokens[k + 1].hash ^ 0x626967),
                   1.0f, ud);
        }
    }
}
