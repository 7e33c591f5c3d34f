/*
 * detect_degenerate.c - degenerate_repetition: one turn repeating itself
 * ("jobs jobs jobs ...", a 150 KB reply cycling the same sentence).
 *
 * Measure: the word 3-gram repeat ratio 1 - distinct / total over the
 * turn's prose words. It fires when the turn has at least
 * LC_OPT_DEGENERATE_MIN_WORDS prose words and the ratio is at least
 * LC_OPT_DEGENERATE_PERCENT. Ordinary prose repeats well under 10% of its
 * 3-grams; a cycle of any length c repeated m times repeats about
 * 1 - 1/m of them, so "half repeated" means the turn is mostly a copy of
 * itself.
 *
 * Prose only: the original text (t->pub.text) is read line by line and
 * lines that repeat legitimately are skipped - fenced code blocks (``` or
 * ~~~ up to the closing fence), indented code (4 spaces or a tab), list
 * items ("- ", "* ", "+ ", "1. ", "1) "), table rows (starting with '|'
 * or holding two or more '|'), and divider lines (only - = * _ ~ # and
 * blanks). The words are the turn's own tokens (tokens.c) when no line is
 * skipped - the common case, no extra pass over the bytes - and otherwise
 * the words of the kept lines, re-tokenized here the same way closely
 * enough (runs of ASCII letters/digits and non-ASCII bytes, inner
 * apostrophes kept, ASCII-lowercased).
 *
 * Symbol spam: a turn with fewer than LC_OPT_DEGENERATE_MIN_WORDS words
 * is measured over words AND runs of punctuation/symbols, so a reply of
 * fifty ". " repeats like "jobs jobs jobs" ("words" below counts both).
 *
 * Tool observations and tool calls are not checked (logs and file dumps
 * repeat lines without any model degenerating).
 *
 * Finding: first_turn = last_turn = the turn, score = share = the repeat
 * ratio, words = prose words considered, excerpt = start of the turn. The
 * turn is marked looped. Linear time: a memchr pass over the lines (a
 * second, tokenizing pass only when lines are skipped or for symbol
 * spam) and one hash-set insert per 3-gram; scratch memory proportional
 * to the turn (released when it grows beyond 1 MiB).
 */
#include "internal.h"

#include <string.h>

#define SCRATCH_KEEP (1u << 17) /* entries kept between turns (1 MiB) */

typedef struct degen_state {
    const lci_alloc *a;
    uint32_t min_words, pct;
    uint64_t *words;
    size_t capwords;
    uint64_t *set;    /* all zero between turns (see ins) */
    size_t capset;
    uint32_t *ins;    /* slots filled in set by this turn, cleared after */
    size_t capins;
} degen_state;

static lc_status degen_create(lc_session *s, void **out) {
    const lc_config *cfg = lci_session_config(s);
    degen_state *d = lci_calloc(lci_session_alloc(s), 1, sizeof *d);
    if (!d)
        return LC_ERR_NOMEM;
    d->a = lci_session_alloc(s);
    d->min_words = (uint32_t)lci_opt(cfg, LC_OPT_DEGENERATE_MIN_WORDS);
    d->pct = (uint32_t)lci_opt(cfg, LC_OPT_DEGENERATE_PERCENT);
    *out = d;
    return LC_OK;
}

static void degen_destroy(void *st, const lci_alloc *a) {
    degen_state *d = st;
    if (!d)
        return;
    lci_free(a, d->words);
    lci_free(a, d->set);
    lci_free(a, d->ins);
    lci_free(a, d);
}

static lc_status degen_reset(void *st, lc_session *s) {
    (void)st; /* scratch only; a huge turn's is released at once */
    (void)s;
    return LC_OK;
}

/* Byte classes: blank, word (ASCII letters/digits, any non-ASCII byte),
 * apostrophe, other (punctuation/symbols). */
enum { C_BLANK = 0, C_WORD = 1, C_APOS = 2, C_OTHER = 3 };
#define CL(c)                                                               \
    (((c) == ' ' || ((c) >= 9 && (c) <= 13))                   ? C_BLANK    \
     : (((c) >= 'a' && (c) <= 'z') || ((c) >= 'A' && (c) <= 'Z') ||        \
        ((c) >= '0' && (c) <= '9') || (c) >= 128)               ? C_WORD     \
     : (c) == '\''                                              ? C_APOS     \
                                                                : C_OTHER)
#define CL4(b) CL(b), CL(b + 1), CL(b + 2), CL(b + 3)
#define CL16(b) CL4(b), CL4(b + 4), CL4(b + 8), CL4(b + 12)
#define CL64(b) CL16(b), CL16(b + 16), CL16(b + 32), CL16(b + 48)
static const unsigned char byte_class[256] = {CL64(0), CL64(64), CL64(128),
                                              CL64(192)};
#undef CL
#undef CL4
#undef CL16
#undef CL64

static bool is_mark(char c) {
    return c == '-' || c == '=' || c == '*' || c == '_' || c == '~' ||
           c == '#';
}

/* Classify one line (without its newline). O(1) for prose lines apart
 * from two memchr() calls. */
static bool skip_line(const char *p, size_t n, bool *in_fence) {
    size_t i = 0, j, marks = 0;
    const char *bar;
    while (i < n && p[i] == ' ')
        i++;
    if (i + 3 <= n && (memcmp(p + i, "```", 3) == 0 ||
                       memcmp(p + i, "~~~", 3) == 0)) {
        *in_fence = !*in_fence;
        return true;
    }
    if (*in_fence)
        return true;
    if (i >= 4 || (n && p[0] == '\t'))
        return true; /* indented code */
    if (i >= n)
        return false;
    if (i + 1 < n && (p[i] == '-' || p[i] == '*' || p[i] == '+') &&
        p[i + 1] == ' ')
        return true; /* bullet */
    for (j = i; j < n && p[j] >= '0' && p[j] <= '9'; j++)
        ;
    if (j > i && j + 1 < n && (p[j] == '.' || p[j] == ')') &&
        p[j + 1] == ' ')
        return true; /* numbered item */
    if (p[i] == '|')
        return true; /* table row */
    bar = memchr(p + i, '|', n - i);
    if (bar && memchr(bar + 1, '|', (size_t)(p + n - bar - 1)))
        return true; /* table row without a leading bar */
    if (!is_mark(p[i]))
        return false;
    for (j = i; j < n; j++) { /* divider: marks and blanks only */
        if (is_mark(p[j]))
            marks++;
        else if (p[j] != ' ' && p[j] != '\t' && p[j] != '\r')
            return false;
    }
    return marks >= 3;
}

/* ---- words eight bytes at a time ----
 * A word's hash comes from its lower-cased bytes taken as 64-bit pieces
 * (little-endian byte order whatever the machine's, so the hash is the
 * same everywhere): classification, lower-casing and the search for the
 * word's end work on eight bytes at once, with one branch per piece
 * instead of one per byte. Word bytes are never 0, so a piece (zero
 * beyond the word) determines its length. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

/* Bytes p[0..8) as a little-endian number; bytes at or past `avail`
 * (the end of the readable text) read as 0. */
static uint64_t load8(const unsigned char *p, size_t avail) {
    static const union {
        uint16_t u;
        unsigned char c[2];
    } order = {1};
    uint64_t x = 0;
    size_t k;
    if (avail >= 8 && order.c[0] == 1) {
        memcpy(&x, p, 8);
        return x;
    }
    for (k = 0; k < 8 && k < avail; k++)
        x |= (uint64_t)p[k] << (8 * k);
    return x;
}

/* High bit of each byte of x that is a word byte (ASCII letter or
 * digit, or any byte >= 0x80), and in *lower x with its ASCII capitals
 * lower-cased (the capitals are the letters with bit 0x20 clear: that
 * bit, shifted up to the high bit, picks them from the letter mask); no
 * carry crosses a byte. */
static uint64_t word_bytes(uint64_t x, uint64_t *lower) {
    uint64_t t = x & ~HIGHS, l = t | (0x20 * ONES);
    uint64_t digit = (t + 0x50 * ONES) & ~(t + 0x46 * ONES);  /* 0x30..0x39 */
    uint64_t alpha =                                          /* a..z, A..Z */
        (l + 0x1f * ONES) & ~(l + 0x05 * ONES) & HIGHS;
    *lower = x | ((alpha & ~(x | (x << 2))) >> 2);
    return (x | digit | alpha) & HIGHS;
}

/* Index of the lowest byte whose high bit is set in m (m != 0, only
 * high bits set). */
static unsigned first_byte(uint64_t m) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(m) >> 3;
#else
    uint64_t y = (m & (~m + 1)) >> 7; /* 1 << 8p */
    return (unsigned)((y * UINT64_C(0x0001020304050607)) >> 56);
#endif
}

/* The word starting at u[i] (a word byte; the text is readable up to
 * u[avail - 1], a NUL): its hash, and the index just past it in *end.
 * An apostrophe between word bytes stays inside (as in line_words). */
static uint64_t word_hash(const unsigned char *u, size_t i, size_t avail,
                          size_t *end) {
    uint64_t h = UINT64_C(0xcbf29ce484222325), x, lx, stop;
    size_t len = 0;
    unsigned k;
    for (;;) {
        x = load8(u + i, avail - i);
        stop = ~word_bytes(x, &lx) & HIGHS;
        if (!stop) { /* all eight are word bytes */
            h = (h ^ lx) * UINT64_C(0x9e3779b97f4a7c15);
            i += 8;
            len += 8;
            continue;
        }
        k = first_byte(stop);
        if (u[i + k] == '\'' && byte_class[u[i + k + 1]] == C_WORD) {
            /* an inner apostrophe: the piece ends with it (u[i + k + 1]
             * is readable: u[i + k] is not the final NUL) */
            k++;
            h = (h ^ (lx & (~(uint64_t)0 >> (64 - 8 * k)))) *
                UINT64_C(0x9e3779b97f4a7c15);
            i += k;
            len += k;
            continue;
        }
        if (k)
            h = (h ^ (lx & (~(uint64_t)0 >> (64 - 8 * k)))) *
                UINT64_C(0x9e3779b97f4a7c15);
        *end = i + k;
        return lci_mix64(h + len + k);
    }
}

/* Append the tokens of p[0..n) to d->words: words, and runs of
 * punctuation/symbols too if `punct` (see the banner). The text is
 * readable up to p[avail - 1] (its NUL); p[n] ends every word. */
#if defined(__GNUC__)
__attribute__((noinline)) /* its own registers (see count_grams) */
#endif
static lc_status line_words(degen_state *d, const char *p, size_t n,
                            size_t avail, bool punct, size_t *nw) {
    const unsigned char *u = (const unsigned char *)p;
    size_t i = 0;
    while (i < n) {
        uint64_t h;
        unsigned k;
        while (i < n && byte_class[u[i]] == C_BLANK)
            i++;
        if (i >= n)
            break;
        k = byte_class[u[i]];
        if (k == C_WORD) {
            h = word_hash(u, i, avail, &i);
        } else {
            /* a run of punctuation/symbols is one token: ". . . ." spam
             * repeats as much as "jobs jobs jobs" */
            h = UINT64_C(0x70756e6374); /* "punct" */
            while (i < n && (byte_class[u[i]] == C_OTHER ||
                             byte_class[u[i]] == C_APOS)) {
                h = (h ^ u[i]) * UINT64_C(0x100000001b3);
                i++;
            }
            if (!punct)
                continue;
        }
        if (*nw == d->capwords) {
            size_t cap = d->capwords;
            lc_status rc = lci_grow(d->a, (void **)&d->words,
                                    sizeof *d->words, &cap, *nw + 1);
            if (rc != LC_OK)
                return rc;
            d->capwords = cap;
        }
        d->words[(*nw)++] = h;
    }
    return LC_OK;
}

/* Distinct 3-grams of the ngr + 2 (>= 3) word hashes of an array of
 * elements of `stride` bytes, each at byte `off` of its element (token
 * hashes in place, or d->words), at most most + 1: counting stops there
 * (the ratio cannot reach pct any more). The set has 2^(64 - shift)
 * slots, all zero; the slots filled are listed in ins. Word hashes are
 * random already: a multiply-add combination is enough, and the slot
 * comes from its high (well-mixed) bits, so the home slot needs no mask.
 * The walk is by elements, so it ends one past the array's end (a walk
 * over the hash members ended a member past it: outside the array).
 * Made once per array (count_grams_tokens, count_grams_words: `off` and
 * `stride` constants), each a function of its own, so that the loop has
 * the registers to itself. */
static inline size_t count_grams(uint64_t *set, uint32_t *ins,
                                 unsigned shift, size_t mask,
                                 const unsigned char *a, size_t stride,
                                 size_t off, size_t ngr, size_t most) {
    const unsigned char *p, *end = a + (ngr + 2) * stride;
    uint64_t w0, w1;
    size_t distinct = 0;
    memcpy(&w0, a + off, sizeof w0);
    memcpy(&w1, a + stride + off, sizeof w1);
    for (p = a + 2 * stride; p < end; p += stride) {
        uint64_t w2;
        uint64_t g;
        size_t j;
        memcpy(&w2, p + off, sizeof w2);
        g = w0 * UINT64_C(0x9e3779b97f4a7c15) +
            w1 * UINT64_C(0xbf58476d1ce4e5b9) + w2;
        w0 = w1;
        w1 = w2;
        if (!g)
            g = 1;
        for (j = (size_t)(g >> shift); set[j] && set[j] != g;
             j = (j + 1) & mask)
            ;
        if (!set[j]) {
            set[j] = g;
            ins[distinct] = (uint32_t)j;
            if (++distinct > most)
                break; /* cannot reach pct any more */
        }
    }
    return distinct;
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static size_t count_grams_tokens(uint64_t *set, uint32_t *ins,
                                 unsigned shift, size_t mask,
                                 const lci_token *t, size_t ngr,
                                 size_t most) {
    return count_grams(set, ins, shift, mask, (const unsigned char *)t,
                       sizeof *t, offsetof(lci_token, hash), ngr, most);
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static size_t count_grams_words(uint64_t *set, uint32_t *ins,
                                unsigned shift, size_t mask,
                                const uint64_t *w, size_t ngr, size_t most) {
    return count_grams(set, ins, shift, mask, (const unsigned char *)w,
                       sizeof *w, 0, ngr, most);
}

static lc_status degen_on_turn(void *st, lc_session *s, const lci_turn *t) {
    degen_state *d = st;
    const char *p = t->pub.text, *end = p + t->pub.text_len;
    bool fence = false;
    size_t nw = 0, ngr, cap, i, distinct = 0, mask, most;
    unsigned shift;
    double ratio;
    lci_finding *f;
    lc_status rc;
    bool symbols = t->ntokens < d->min_words, skipped = false, fast = false;
    if (t->pub.role == LC_ROLE_TOOL || lci_turn_is_call(t) ||
        t->pub.text_len < d->min_words) /* a token takes >= 1 byte */
        return LC_OK;
    if (!symbols) {
        /* fast path: no line to skip -> the turn's own word tokens */
        for (; p < end; p++) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            if (skip_line(p, (size_t)(le - p), &fence)) {
                skipped = true;
                break;
            }
            if (!nl)
                break;
            p = nl;
        }
        p = t->pub.text;
        fence = false;
    }
    if (!symbols && !skipped) {
        nw = t->ntokens; /* the 3-grams read the tokens themselves */
        fast = true;
    } else {
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            const char *le = nl ? nl : end;
            if (!skip_line(p, (size_t)(le - p), &fence) &&
                (rc = line_words(d, p, (size_t)(le - p),
                                 (size_t)(end - p) + 1, symbols, &nw)) !=
                    LC_OK)
                return rc;
            p = nl ? nl + 1 : end;
        }
    }
    if (nw < d->min_words || nw < 3)
        return LC_OK;
    ngr = nw - 2;
    /* The finding needs ratio * 100 >= pct, i.e. at most `most` distinct
     * 3-grams (the same expression as below, so the cut is exact):
     * counting stops as soon as there are more, and the set only needs
     * room for most + 1 entries. */
    most = (size_t)((double)ngr * (1.0 - d->pct / 100.0));
    if (most > ngr)
        most = ngr;
    while (most < ngr &&
           (1.0 - (double)(most + 1) / (double)ngr) * 100.0 >= d->pct)
        most++;
    while (most > 0 && (1.0 - (double)most / (double)ngr) * 100.0 < d->pct)
        most--;
    if ((1.0 - (double)most / (double)ngr) * 100.0 < d->pct)
        return LC_OK; /* even one distinct 3-gram is too many */
    /* the set: at most a quarter full, so a probe seldom meets an
     * occupied slot (which way that goes is unpredictable); it is not
     * cleared whole per turn but slot by slot after use (ins) */
    for (cap = 64, shift = 58; cap < 4 * (most + 1); cap *= 2)
        shift--;
    if (cap > d->capset) {
        lci_free(d->a, d->set);
        d->set = lci_calloc(d->a, cap, sizeof *d->set);
        if (!d->set) {
            d->capset = 0;
            return LC_ERR_NOMEM;
        }
        d->capset = cap;
    }
    if (most + 1 > d->capins) {
        size_t c = d->capins;
        if ((rc = lci_grow(d->a, (void **)&d->ins, sizeof *d->ins, &c,
                           most + 1)) != LC_OK)
            return rc;
        d->capins = c;
    }
    mask = cap - 1;
    if (fast)
        distinct = count_grams_tokens(d->set, d->ins, shift, mask,
                                      t->tokens, ngr, most);
    else
        distinct = count_grams_words(d->set, d->ins, shift, mask, d->words,
                                     ngr, most);
    for (i = 0; i < distinct; i++)
        d->set[d->ins[i]] = 0;
    ratio = 1.0 - (double)distinct / (double)ngr;
    if (d->capset > SCRATCH_KEEP) { /* do not pin a huge turn's memory */
        lci_free(d->a, d->set);
        d->set = NULL;
        d->capset = 0;
        lci_free(d->a, d->words);
        d->words = NULL;
        d->capwords = 0;
        lci_free(d->a, d->ins);
        d->ins = NULL;
        d->capins = 0;
    }
    if (ratio * 100.0 < d->pct)
        return LC_OK;
    if ((rc = lci_session_new_finding(s, LC_KIND_DEGENERATE_REPETITION,
                                      &f)) != LC_OK)
        return rc;
    if ((rc = lci_finding_add_turn(s, f, t->pub.index)) != LC_OK ||
        (rc = lci_detect_set_speaker(s, f, t)) != LC_OK ||
        (rc = lci_detect_excerpt(s, f, t, 0)) != LC_OK)
        return rc;
    f->pub.score = ratio;
    f->pub.share = ratio;
    f->pub.words = (uint32_t)nw;
    f->pub.evidence = t->pub.hash;
    lci_finding_set_span(s, f, t->pub.index, t->pub.index);
    lci_session_mark_looped(s, t->pub.index);
    lci_session_touch(s, f);
    return LC_OK;
}

const lci_detector_vt lci_detect_degenerate = {
    "degenerate_repetition", LC_KIND_DEGENERATE_REPETITION, degen_create,
    degen_on_turn,           NULL,                          degen_destroy,
    degen_reset,
};
