/*
 * conversation.c - turns and conversations.
 *
 * A turn (lci_turn) owns copies of its speaker and its original text
 * (both valid UTF-8: invalid sequences are replaced by U+FFFD) and its
 * normalized text, plus the word tokens of the normalized text and the
 * XXH3-64 hash of it. A conversation owns its turns (their strings and
 * tokens in one arena, freed with it) and diagnostics (errors first,
 * then warnings) and holds a reference on its config.
 *
 * Invariants: every string in a turn and the conversation id are valid
 * UTF-8 (JSON and JUnit writers rely on it; the source name is the
 * caller's and is repaired where it is written); every string in a turn
 * is NUL-terminated; text_len bytes
 * of text never exceed max_turn_bytes (longer input is cut at a code
 * point boundary and flagged LC_TURN_TRUNCATED); a conversation has
 * status != LC_OK iff it has at least one error diagnostic.
 */
#include "input.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* UTF-8 validation                                                     */
/* ------------------------------------------------------------------ */

size_t lci_utf8_valid_prefix(const char *str, size_t n) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        if (c < 0x80) {
            /* ASCII fast path. Turn text is mostly ASCII: with SSE2,
             * 64 bytes per test (their OR has no high bit), then 16;
             * then 8 bytes at a time. Each stops before a block with a
             * byte >= 0x80, which the byte-wise code below decides. */
#if LCI_SSE2
            while (n - i >= 64) {
                const __m128i *q = (const __m128i *)(const void *)(s + i);
                const __m128i v = _mm_or_si128(
                    _mm_or_si128(_mm_loadu_si128(q), _mm_loadu_si128(q + 1)),
                    _mm_or_si128(_mm_loadu_si128(q + 2),
                                 _mm_loadu_si128(q + 3)));
                if (_mm_movemask_epi8(v))
                    break;
                i += 64;
            }
            while (n - i >= 16 &&
                   !_mm_movemask_epi8(
                       _mm_loadu_si128((const __m128i *)(const void *)(s + i))))
                i += 16;
#endif
            while (i + 8 <= n) {
                uint64_t w;
                memcpy(&w, s + i, 8);
                if (w & UINT64_C(0x8080808080808080))
                    break;
                i += 8;
            }
            while (i < n && s[i] < 0x80)
                i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            if (i + 1 >= n || (s[i + 1] & 0xC0) != 0x80)
                return i;
            i += 2;
        } else if (c >= 0xE0 && c <= 0xEF) {
            unsigned c1;
            if (i + 2 >= n)
                return i;
            c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80)
                return i;
            if (c == 0xE0 && c1 < 0xA0) /* overlong */
                return i;
            if (c == 0xED && c1 >= 0xA0) /* surrogate */
                return i;
            i += 3;
        } else if (c >= 0xF0 && c <= 0xF4) {
            unsigned c1;
            if (i + 3 >= n)
                return i;
            c1 = s[i + 1];
            if ((c1 & 0xC0) != 0x80 || (s[i + 2] & 0xC0) != 0x80 ||
                (s[i + 3] & 0xC0) != 0x80)
                return i;
            if (c == 0xF0 && c1 < 0x90) /* overlong */
                return i;
            if (c == 0xF4 && c1 >= 0x90) /* > U+10FFFF */
                return i;
            i += 4;
        } else {
            return i;
        }
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Turns                                                                */
/* ------------------------------------------------------------------ */

/*
 * Storage: speaker, text and norm live in ONE block owned through
 * pub.speaker (the block starts with the speaker):
 *     [speaker NUL][text NUL][norm NUL]
 * A turn made by lci_turn_init owns its block and tokens (two
 * allocations, lci_turn_free gives them back); a conversation's turn
 * (lci_conv_add) has both in the conversation's arena, given back with
 * the conversation, and is never passed to lci_turn_free.
 */
void lci_turn_free(lci_turn *t, const lci_alloc *a) {
    if (!t)
        return;
    lci_free(a, (void *)(uintptr_t)t->pub.speaker);
    lci_free(a, t->tokens);
    memset(t, 0, sizeof *t);
}

/* Length of s cut to at most max bytes (s has more than max) without
 * splitting a code point: backs over at most 3 continuation bytes. */
static size_t cut_cp(const char *s, size_t max) {
    size_t cut = max, k = 0;
    while (cut > 0 && k < 3 && ((unsigned char)s[cut] & 0xC0) == 0x80) {
        cut--;
        k++;
    }
    return cut;
}

/* Append s[0..n) and a NUL to b, whose room the caller has reserved. */
static void put_z(lci_buf *b, const char *s, size_t n) {
    if (n)
        memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len++] = '\0';
}

/*
 * lci_turn_init's work. With ar == NULL the block and the tokens come
 * from the config's allocator; otherwise both are carved from ar: the
 * block is built as a buffer in ar (growing in place while it is ar's
 * newest block) and cut to its length when done, so a turn costs no
 * allocation of its own. On failure the turn is zero and owns nothing
 * (in ar mode, what it took stays in ar until ar is freed or reset).
 */
static lc_status turn_make(lci_turn *t, const lc_config *cfg, lc_role role,
                           const char *speaker, size_t speaker_len,
                           const char *text, size_t len, size_t *bad_off,
                           lci_arena *ar) {
    const lci_alloc *a = &cfg->alloc;
    lci_buf blk;
    size_t max = (size_t)lci_opt(cfg, LC_OPT_MAX_TURN_BYTES);
    int fast = lci_opt(cfg, LC_OPT_NORMALIZE_FAST) == 1;
    size_t text_off, norm_off;
    const char *src; /* the text to normalize (never inside blk) */
    lci_buf tmp;
    lc_status st;
    char *block;

    memset(t, 0, sizeof *t);
    if (bad_off)
        *bad_off = SIZE_MAX;
    if (!text)
        len = 0;
    if (!speaker)
        speaker_len = 0;
    if (len > max) {
        /* Cut on a code point boundary (at most 3 continuation bytes).
         * This bounds the work; the stored text is cut again below if
         * U+FFFD replacements made it longer than max. */
        len = cut_cp(text, max);
        t->pub.flags |= LC_TURN_TRUNCATED;
    }
    t->pub.role = role;
    lci_buf_init(&blk, ar ? &ar->as : a);
    lci_buf_init(&tmp, a);

    if (speaker_len &&
        lci_utf8_valid_prefix(speaker, speaker_len) != speaker_len) {
        /* tmp holds the repaired speaker, then (below) the text */
        if ((st = lci_utf8_repair(speaker, speaker_len, &tmp, NULL, NULL)) !=
                LC_OK ||
            (st = lci_buf_append(&blk, tmp.data, tmp.len)) != LC_OK)
            goto fail;
        tmp.len = 0;
        speaker_len = 0; /* copied already */
    }
    src = len ? text : "";

    /* usual case: one allocation (normalized ~ text length). The
     * speaker and the text with their NULs fit in the room reserved, so
     * they are copied in directly (this runs once per turn). */
    if ((st = lci_buf_reserve(&blk, speaker_len + 2 * len + 24)) != LC_OK)
        goto fail;
    put_z(&blk, speaker, speaker_len);
    text_off = blk.len;
    put_z(&blk, src, len);
    norm_off = blk.len;
    /* The text is normalized as it came, without a validation pass of
     * its own: lci_normalize_ex decodes every byte >= 0x80 (utf8proc's
     * decoder, as strict as lci_utf8_valid_prefix: test_normalize checks
     * both agree) and fails with LC_ERR_UTF8, leaving blk as it was,
     * exactly when the text is not valid UTF-8. Then the text is
     * repaired and both copies are made again. */
    st = lci_normalize_ex(src, len, fast, &blk, a);
    if (st == LC_ERR_UTF8) {
        size_t nbad = 0, first = SIZE_MAX;
        size_t valid = lci_utf8_valid_prefix(text, len);
        if ((st = lci_utf8_repair(text, len, &tmp, &nbad, &first)) != LC_OK)
            goto fail;
        src = tmp.data ? tmp.data : "";
        len = tmp.len;
        t->pub.flags |= LC_TURN_REPAIRED;
        if (len > max) {
            /* each bad byte became 3: the limit is on the stored text
             * (valid UTF-8 now, so the cut is on a code point) */
            len = cut_cp(src, max);
            t->pub.flags |= LC_TURN_TRUNCATED;
        }
        if (bad_off)
            *bad_off = first != SIZE_MAX ? first : valid;
        blk.len = text_off;
        if ((st = lci_buf_reserve(&blk, 2 * len + 24)) != LC_OK)
            goto fail;
        put_z(&blk, src, len);
        norm_off = blk.len;
        st = lci_normalize_ex(src, len, fast, &blk, a);
    }
    if (st == LC_OK)
        st = lci_buf_terminate(&blk); /* NUL-terminates norm */
    if (st != LC_OK)
        goto fail;
    t->pub.text_len = len;
    t->pub.norm_len = blk.len - norm_off;
    if (!ar) {
        block = lci_buf_take(&blk); /* terminated: cannot fail */
    } else {
        /* give the unused room back to ar: ar's newest block shrinks in
         * place (and a shrink never fails) */
        block = lci_realloc(&ar->as, blk.data, blk.cap, blk.len + 1);
    }
    lci_buf_free(&tmp);
    t->pub.speaker = block;
    t->pub.text = block + text_off;
    t->pub.norm = block + norm_off;

    st = lci_tokenize(ar ? &ar->as : a, t->pub.norm, t->pub.norm_len,
                      &t->tokens, &t->ntokens);
    if (st != LC_OK) {
        if (!ar)
            lci_turn_free(t, a);
        memset(t, 0, sizeof *t);
        return st;
    }
    t->pub.words = t->ntokens;
    t->pub.hash = lci_hash(t->pub.norm, t->pub.norm_len);
    if (t->pub.text_len == 0)
        t->pub.flags |= LC_TURN_EMPTY;
    return LC_OK;
fail:
    lci_buf_free(&blk);
    lci_buf_free(&tmp);
    memset(t, 0, sizeof *t);
    return st;
}

lc_status lci_turn_init(lci_turn *t, const lc_config *cfg, lc_role role,
                        const char *speaker, size_t speaker_len,
                        const char *text, size_t len, size_t *bad_off) {
    return turn_make(t, cfg, role, speaker, speaker_len, text, len, bad_off,
                     NULL);
}

lc_status lci_turn_copy(lci_turn *dst, const lci_turn *src,
                        const lci_alloc *a) {
    size_t sl = src->pub.speaker ? strlen(src->pub.speaker) : 0;
    size_t tl = src->pub.text ? src->pub.text_len : 0;
    size_t nl = src->pub.norm ? src->pub.norm_len : 0;
    size_t total = sl + tl + nl + 3;
    char *block;
    *dst = *src;
    dst->pub.speaker = dst->pub.text = dst->pub.norm = NULL;
    dst->tokens = NULL;
    if (total < sl || (block = lci_malloc(a, total)) == NULL)
        return LC_ERR_NOMEM;
    if (sl)
        memcpy(block, src->pub.speaker, sl);
    block[sl] = '\0';
    if (tl)
        memcpy(block + sl + 1, src->pub.text, tl);
    block[sl + 1 + tl] = '\0';
    if (nl)
        memcpy(block + sl + tl + 2, src->pub.norm, nl);
    block[sl + tl + 2 + nl] = '\0';
    dst->pub.speaker = block;
    dst->pub.text = block + sl + 1;
    dst->pub.norm = block + sl + tl + 2;
    if (src->ntokens) {
        size_t bytes;
        if (!lci_mul_ok(src->ntokens, sizeof *src->tokens, &bytes))
            goto nomem;
        dst->tokens = lci_malloc(a, bytes);
        if (!dst->tokens)
            goto nomem;
        memcpy(dst->tokens, src->tokens, bytes);
    }
    return LC_OK;
nomem:
    lci_turn_free(dst, a);
    return LC_ERR_NOMEM;
}

/* ------------------------------------------------------------------ */
/* Roles                                                                */
/* ------------------------------------------------------------------ */

/* Generic role names only: transcript-specific names ("Therapist",
 * "Patient") are mapped by option or by the transcript heuristic. The
 * length is kept with each name: this runs once per turn, and a strlen
 * per candidate was most of its cost. */
#define ROLE_NAME(s, r) {s, sizeof s - 1, r}
static const struct {
    const char *name;
    size_t len;
    lc_role role;
} role_names[] = {
    ROLE_NAME("user", LC_ROLE_USER),
    ROLE_NAME("human", LC_ROLE_USER),
    ROLE_NAME("customer", LC_ROLE_USER),
    ROLE_NAME("prompter", LC_ROLE_USER),
    ROLE_NAME("assistant", LC_ROLE_ASSISTANT),
    ROLE_NAME("gpt", LC_ROLE_ASSISTANT),
    ROLE_NAME("bot", LC_ROLE_ASSISTANT),
    ROLE_NAME("model", LC_ROLE_ASSISTANT),
    ROLE_NAME("ai", LC_ROLE_ASSISTANT),
    ROLE_NAME("chatbot", LC_ROLE_ASSISTANT),
    ROLE_NAME("system", LC_ROLE_SYSTEM),
    ROLE_NAME("developer", LC_ROLE_SYSTEM),
    ROLE_NAME("tool", LC_ROLE_TOOL),
    ROLE_NAME("function", LC_ROLE_TOOL),
    ROLE_NAME("ipython", LC_ROLE_TOOL),
    ROLE_NAME("observation", LC_ROLE_TOOL),
};
#undef ROLE_NAME

bool lci_role_from_name(const char *name, size_t len, lc_role *role) {
    size_t i, j;
    if (!name)
        return false;
    for (i = 0; i < sizeof role_names / sizeof role_names[0]; i++) {
        const char *n = role_names[i].name;
        if (role_names[i].len != len)
            continue;
        for (j = 0; j < len; j++) {
            char ch = name[j];
            if (ch >= 'A' && ch <= 'Z')
                ch = (char)(ch - 'A' + 'a');
            if (ch != n[j])
                break;
        }
        if (j == len) {
            if (role)
                *role = role_names[i].role;
            return true;
        }
    }
    return false;
}

/* ------------------------------------------------------------------ */
/* Conversations (internal)                                             */
/* ------------------------------------------------------------------ */

lc_status lci_conv_diag(lc_conversation *c, lc_status st, lc_severity sev,
                        uint64_t line, uint64_t col, uint64_t off,
                        int64_t turn, const char *fmt, ...) {
    char msg[256];
    va_list ap;
    size_t pos, k;
    lc_status gs;
    const lci_err *old = c->diags;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (sev == LC_SEVERITY_ERROR && c->status == LC_OK)
        c->status = st;
    gs = lci_grow(c->alloc, (void **)&c->diags, sizeof *c->diags,
                  &c->capdiags, c->ndiags + 1);
    if (gs != LC_OK)
        return gs;
    if (c->diags != old) /* moved: views point into the entries */
        for (k = 0; k < c->ndiags; k++)
            c->diags[k].pub.message = c->diags[k].msg;
    pos = c->ndiags;
    if (sev == LC_SEVERITY_ERROR) { /* errors before warnings */
        pos = 0;
        while (pos < c->ndiags &&
               c->diags[pos].pub.severity == LC_SEVERITY_ERROR)
            pos++;
        memmove(&c->diags[pos + 1], &c->diags[pos],
                (c->ndiags - pos) * sizeof *c->diags);
        for (k = pos + 1; k <= c->ndiags; k++)
            c->diags[k].pub.message = c->diags[k].msg;
    }
    memset(&c->diags[pos], 0, sizeof c->diags[pos]);
    lci_err_set(&c->diags[pos], c->alloc, st, sev, c->source, line, col, off,
                turn, "%s", msg);
    c->ndiags++;
    if (c->source && !c->diags[pos].source) /* its copy failed */
        return LC_ERR_NOMEM;
    return LC_OK;
}

/* Append s[0..len) to b as valid UTF-8 (invalid sequences -> U+FFFD). */
static lc_status put_utf8(lci_buf *b, const char *s, size_t len) {
    if (lci_utf8_valid_prefix(s, len) == len)
        return lci_buf_append(b, s, len);
    return lci_utf8_repair(s, len, b, NULL, NULL);
}

lc_status lci_conv_set_origin(lc_conversation *c, const char *src,
                              size_t len, uint64_t line) {
    char num[24];
    const char *name = len ? src : "input";
    size_t nlen = len ? len : 5, k, id_off;
    char *block = NULL;
    lci_buf b;
    lc_status st;
    int n = snprintf(num, sizeof num, ":%llu", (unsigned long long)line);
    k = n > 0 ? (size_t)n : 0;
    /* [source NUL][id NUL]: one allocation unless the id needs repair */
    lci_buf_init(&b, c->alloc);
    if (len > SIZE_MAX / 2 - k - 2)
        return LC_ERR_NOMEM;
    st = lci_buf_reserve(&b, len + 1 + nlen + k);
    if (st == LC_OK)
        st = lci_buf_append(&b, src, len);
    if (st == LC_OK)
        st = lci_buf_putc(&b, '\0');
    id_off = b.len;
    if (st == LC_OK)
        st = put_utf8(&b, name, nlen);
    if (st == LC_OK)
        st = lci_buf_append(&b, num, k);
    if (st == LC_OK && !(block = lci_buf_take(&b)))
        st = LC_ERR_NOMEM;
    if (st != LC_OK) {
        lci_buf_free(&b);
        return st;
    }
    lci_free(c->alloc, c->names); /* only ever set once */
    c->names = c->source = block;
    c->id = block + id_off;
    return LC_OK;
}

/* Repairs silently: the id may be the source:line fallback, whose bytes
 * come from the source name, not from the data; the formats that take
 * an id from the data report its repair (lci_conv_warn_utf8). The copy
 * goes to the arena: an id it replaces stays where it is (in names or
 * the arena) until the conversation is freed, and a rollback to a mark
 * taken before the call takes the copy back with the turns. */
lc_status lci_conv_set_id(lc_conversation *c, const char *id, size_t len) {
    lci_buf b;
    char *s;
    lci_buf_init(&b, &c->arena.as);
    if (put_utf8(&b, id ? id : "", id ? len : 0) != LC_OK ||
        lci_buf_terminate(&b) != LC_OK) {
        lci_buf_free(&b);
        return LC_ERR_NOMEM;
    }
    /* the newest block in the arena: cut to size in place */
    s = lci_realloc(&c->arena.as, b.data, b.cap, b.len + 1);
    if (c->in_mark && !c->id_saved) { /* kept for a rollback */
        c->id_prev = c->id;
        c->id_saved = 1;
    }
    c->id = s;
    return LC_OK;
}

static size_t count_errors(const lc_conversation *c) {
    size_t n = 0;
    while (n < c->ndiags && c->diags[n].pub.severity == LC_SEVERITY_ERROR)
        n++;
    return n;
}

void lci_conv_begin(lc_conversation *c, lci_conv_mark *m) {
    m->nturns = c->nturns;
    m->ndiags = c->ndiags;
    m->nerrors = count_errors(c);
    m->status = c->status;
    m->utf8_warned = c->utf8_warned;
    m->speaker_note = c->speaker_note;
    lci_arena_mark_get(&c->arena, &m->arena);
    c->in_mark = 1;
    c->id_saved = 0;
    c->id_prev = NULL;
}

void lci_conv_commit(lc_conversation *c) {
    c->id_prev = NULL;
    c->in_mark = c->id_saved = 0;
}

/* Diagnostics added since the mark: errors were inserted after the old
 * errors, warnings appended after the old warnings:
 *   [old errors][new errors][old warnings][new warnings] */
void lci_conv_rollback(lc_conversation *c, const lci_conv_mark *m) {
    size_t i, new_err = count_errors(c) - m->nerrors;
    size_t old_warn = m->ndiags - m->nerrors;
    /* the turns since the mark are all in the arena after its mark */
    lci_arena_reset(&c->arena, &m->arena);
    if (c->nturns > m->nturns)
        memset(&c->turns[m->nturns], 0,
               (c->nturns - m->nturns) * sizeof *c->turns);
    c->nturns = m->nturns;
    for (i = m->nerrors; i < m->nerrors + new_err; i++)
        lci_err_clear(&c->diags[i], c->alloc);
    for (i = m->ndiags + new_err; i < c->ndiags; i++)
        lci_err_clear(&c->diags[i], c->alloc);
    if (new_err)
        memmove(&c->diags[m->nerrors], &c->diags[m->nerrors + new_err],
                old_warn * sizeof *c->diags);
    c->ndiags = m->ndiags;
    for (i = 0; i < c->ndiags; i++) /* views point into the entries */
        c->diags[i].pub.message = c->diags[i].msg;
    c->status = m->status;
    c->utf8_warned = m->utf8_warned;
    if (c->speaker_note != m->speaker_note) { /* parses do not set it */
        lci_free(c->alloc, c->speaker_note);
        c->speaker_note = m->speaker_note;
    }
    if (c->id_saved) /* the replacing id went with the arena reset */
        c->id = c->id_prev;
    c->id_prev = NULL;
    c->in_mark = c->id_saved = 0;
}

lc_status lci_conv_warn_utf8(lc_conversation *c, unsigned field,
                             const char *what, uint64_t line, uint64_t col,
                             uint64_t off, int64_t turn) {
    if (c->utf8_warned & field)
        return LC_OK;
    c->utf8_warned |= field;
    return lci_conv_diag(c, LC_ERR_UTF8, LC_SEVERITY_WARNING, line, col, off,
                         turn, "invalid UTF-8 in %s replaced by U+FFFD",
                         what);
}

/* A record's turns take about 5x its bytes in the arena (text as is and
 * normalized, and a 24-byte token per ~6 bytes of text: 5.1x median,
 * 5.5x max on the JSONL bench corpus); 6x makes one chunk of most. */
void lci_conv_expect(lc_conversation *c, size_t bytes) {
    lci_arena_hint(&c->arena, bytes > SIZE_MAX / 6 ? SIZE_MAX : bytes * 6);
}

lc_status lci_conv_add(lc_conversation *c, lc_role role, const char *speaker,
                       size_t speaker_len, const char *text, size_t len,
                       uint64_t line, uint64_t col, uint64_t off,
                       unsigned flags, lci_turn **out) {
    lci_turn *t;
    lc_status st;
    bool bad_speaker;
    if (out)
        *out = NULL;
    if ((int64_t)c->nturns >= lci_opt(c->cfg, LC_OPT_MAX_TURNS))
        return LC_ERR_LIMIT;
    st = lci_grow(c->alloc, (void **)&c->turns, sizeof *c->turns,
                  &c->capturns, c->nturns + 1);
    if (st != LC_OK)
        return st;
    t = &c->turns[c->nturns];
    bad_speaker = speaker && speaker_len &&
                  lci_utf8_valid_prefix(speaker, speaker_len) != speaker_len;
    st = turn_make(t, c->cfg, role, speaker, speaker_len, text, len, NULL,
                   &c->arena);
    if (st != LC_OK)
        return st;
    c->nturns++;
    t->pub.index = (uint32_t)c->nturns;
    t->pub.line = line;
    t->pub.column = col;
    t->pub.offset = off;
    t->pub.flags |= flags;
    if (bad_speaker) {
        st = lci_conv_warn_utf8(c, LCI_UTF8_SPEAKER, "the speaker name",
                                line, col, off, (int64_t)t->pub.index);
        if (st != LC_OK)
            return st;
    }
    if (t->pub.flags & LC_TURN_TRUNCATED) {
        st = lci_conv_diag(c, LC_ERR_LIMIT, LC_SEVERITY_WARNING, line, col,
                           off, (int64_t)t->pub.index,
                           "turn text cut to %zu bytes (max_turn_bytes "
                           "%" PRId64 ")",
                           t->pub.text_len,
                           lci_opt(c->cfg, LC_OPT_MAX_TURN_BYTES));
        if (st != LC_OK)
            return st;
    }
    if (out)
        *out = t;
    return LC_OK;
}

lc_status lci_input_utf8_warn(lc_conversation *c, const char *p, size_t len,
                              uint64_t line, uint64_t off, int64_t turn) {
    size_t bad = lci_json_text_bad(p, len);
    uint64_t l, col;
    if (bad == SIZE_MAX) /* not in the text fields: the line's first */
        bad = lci_utf8_valid_prefix(p, len);
    if (bad == len)
        return LC_OK;
    lci_locate(p, len, bad, &l, &col);
    return lci_conv_diag(c, LC_ERR_UTF8, LC_SEVERITY_WARNING, line + l - 1,
                         col, off + bad, turn,
                         "invalid UTF-8 (byte 0x%02X) replaced by U+FFFD",
                         (unsigned)(unsigned char)p[bad]);
}

/* ------------------------------------------------------------------ */
/* Public API                                                           */
/* ------------------------------------------------------------------ */

lc_status lc_conversation_new(const lc_config *cfg, lc_conversation **conv) {
    lc_conversation *c;
    if (!conv)
        return LC_ERR_INVALID_ARG;
    *conv = NULL;
    if (!cfg)
        return LC_ERR_INVALID_ARG;
    c = lci_calloc(&cfg->alloc, 1, sizeof *c);
    if (!c)
        return LC_ERR_NOMEM;
    c->cfg = lci_config_ref(cfg);
    c->alloc = &c->cfg->alloc;
    c->status = LC_OK;
    c->format = LC_FORMAT_AUTO;
    lci_arena_init(&c->arena, c->alloc);
    *conv = c;
    return LC_OK;
}

lc_status lc_conversation_add(lc_conversation *conv, lc_role role,
                              const char *speaker, size_t speaker_len,
                              const char *text, size_t len) {
    lci_turn *t;
    lc_status st;
    if (!conv || (!text && len) || (!speaker && speaker_len) ||
        (unsigned)role > LC_ROLE_TOOL)
        return LC_ERR_INVALID_ARG;
    /* a record not parsed yet would get the turn ahead of its own; a
     * failed conversation is never analysed */
    if (conv->unparsed || lc_conversation_status(conv) != LC_OK)
        return LC_ERR_STATE;
    st = lci_conv_add(conv, role, speaker, speaker_len, text, len, 0, 0, 0,
                      LC_TURN_NONE, &t);
    if (st != LC_OK)
        return st;
    if (t->pub.flags & LC_TURN_REPAIRED) {
        size_t bad = lci_utf8_valid_prefix(text, len);
        st = lci_conv_diag(conv, LC_ERR_UTF8, LC_SEVERITY_WARNING, 0, 0, bad,
                           (int64_t)t->pub.index,
                           "invalid UTF-8 at byte %zu of turn %u replaced "
                           "by U+FFFD",
                           bad, (unsigned)t->pub.index);
    }
    return st;
}

void lc_conversation_free(lc_conversation *c) {
    const lc_config *cfg;
    const lci_alloc *a;
    size_t i;
    if (!c)
        return;
    cfg = c->cfg;
    a = c->alloc;
    lci_arena_free(&c->arena); /* the turns' strings and tokens */
    lci_free(a, c->turns);
    for (i = 0; i < c->ndiags; i++)
        lci_err_clear(&c->diags[i], a);
    lci_free(a, c->diags);
    lci_free(a, c->names); /* source and the first id */
    lci_free(a, c->speaker_note);
    lci_free(a, c->raw);
    lci_free(a, c);
    lci_config_unref(cfg);
}

/* String getters: NULL for a NULL handle, "" when the value is unset. */
const char *lc_conversation_id(const lc_conversation *c) {
    if (!c)
        return NULL;
    return c->id ? c->id : "";
}

const char *lc_conversation_source(const lc_conversation *c) {
    if (!c)
        return NULL;
    return c->source ? c->source : "";
}

uint64_t lc_conversation_line(const lc_conversation *c) {
    return c ? c->line : 0;
}

lc_format lc_conversation_format(const lc_conversation *c) {
    return c ? c->format : LC_FORMAT_AUTO;
}

size_t lc_conversation_turn_count(const lc_conversation *c) {
    return c ? c->nturns : 0;
}

const lc_turn *lc_conversation_turn(const lc_conversation *c, size_t i) {
    if (!c || i >= c->nturns)
        return NULL;
    return &c->turns[i].pub;
}

lc_status lc_conversation_status(const lc_conversation *c) {
    return c ? c->status : LC_ERR_INVALID_ARG;
}

size_t lc_conversation_diag_count(const lc_conversation *c) {
    return c ? c->ndiags : 0;
}

const lc_error *lc_conversation_diag(const lc_conversation *c, size_t i) {
    if (!c || i >= c->ndiags)
        return NULL;
    return &c->diags[i].pub;
}

const char *lc_conversation_speaker_note(const lc_conversation *c) {
    if (!c)
        return NULL;
    return c->speaker_note ? c->speaker_note : "";
}

int64_t lci_conv_first_repaired(const lc_conversation *c) {
    size_t i;
    for (i = 0; i < c->nturns; i++)
        if (c->turns[i].pub.flags & LC_TURN_REPAIRED)
            return (int64_t)i + 1;
    return -1;
}
