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
 * apostrophes kept, ASCII-lowercased). Those are found 64 bytes at a
 * time (scan_run: token starts as bit masks, counted by popcount) and
 * hashed only as far as the 3-gram count reads them (hash_tokens); the
 * original per-line tokenizer, line_words, stays as the reference the
 * unit test (test_degenerate.c) compares them with.
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
 * turn is marked looped. Linear time: one memchr pass over the lines
 * (which also takes the token masks of kept lines once a line is skipped
 * or for symbol spam), one hash per word read and one hash-set insert
 * per 3-gram; scratch memory proportional to the turn (released when the
 * set grows beyond SCRATCH_KEEP slots).
 */
#include "internal.h"

#include <string.h>

/* set slots kept between turns (1.5 MiB with their stamps) */
#define SCRATCH_KEEP (1u << 17)

/* 64 bytes of kept lines that hold token starts (see scan_run): bit j
 * of each mask is about the byte at off + j. */
typedef struct degen_block {
    uint64_t off;
    uint64_t starts;  /* first bytes of tokens */
    uint64_t nonword; /* bytes that are not word bytes (and past the end) */
    uint64_t apos;    /* apostrophes */
} degen_block;

typedef struct degen_state {
    const lci_alloc *a;
    uint32_t min_words, pct;
    uint64_t *words;  /* word hashes */
    size_t capwords;
    degen_block *blocks; /* the turn's blocks with tokens, in order */
    size_t nblocks, capblocks;
    uint64_t *set;    /* 3-gram hashes; slot j is in use iff */
    uint32_t *stamp;  /* stamp[j] == epoch (so nothing is cleared) */
    size_t capset;
    uint32_t epoch;   /* of the current count, >= 1 */
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
    lci_free(a, d->blocks);
    lci_free(a, d->set);
    lci_free(a, d->stamp);
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
#if defined(__GNUC__)
__attribute__((always_inline)) /* its constants stay out of the loops */
#endif
static inline uint64_t word_hash(const unsigned char *u, size_t i,
                                 size_t avail, size_t *end) {
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

/* ---- the tokens of kept lines, found 64 bytes at a time ----
 * Where a token starts depends on at most two bytes before it: a word
 * byte starts a word unless the byte before is a word byte or an
 * apostrophe that follows a word byte (an inner one: word_hash takes an
 * apostrophe into the word when a word byte follows). A byte of
 * punctuation/symbols or an apostrophe starts a run unless the byte
 * before is one too, or it is an inner apostrophe (one after a word byte
 * with a word byte next: checked on the byte itself, rarely). So three
 * bit masks per 64-byte block (word bytes, apostrophes, blanks) and the
 * previous block's give all token starts with a few shifts, and the
 * detector stores only the starts: counting the tokens is enough to know
 * how many 3-grams there are, and only the words that count_grams reads
 * before it stops are hashed. line_words is the reference (the unit test
 * compares the two on generated text; a block's bytes past the range are
 * masked off, and words never cross a newline). */
#define DEGEN_SSE2 LCI_SSE2

/* Masks of the 64 bytes at p (all readable): word bytes in *w,
 * apostrophes in *ap, blanks in *bl (only if want_blank), bit k for
 * p[k]. */
static inline void block_masks(const unsigned char *p, bool want_blank,
                               uint64_t *w, uint64_t *ap, uint64_t *bl) {
#if DEGEN_SSE2
    uint64_t mw = 0, ma = 0, mb = 0;
    unsigned k;
    for (k = 0; k < 64; k += 16) {
        const __m128i v =
            _mm_loadu_si128((const __m128i *)(const void *)(p + k));
        /* a byte >= 0x80 is a word byte: its high bit is the movemask
         * bit */
        mw |= (uint64_t)(unsigned)_mm_movemask_epi8(
                  _mm_or_si128(v, lci_sse2_ascii_alnum(v)))
              << k;
        ma |= (uint64_t)(unsigned)_mm_movemask_epi8(
                  _mm_cmpeq_epi8(v, _mm_set1_epi8('\'')))
              << k;
        if (want_blank) /* ' ' and 9..13 */
            mb |= (uint64_t)(unsigned)_mm_movemask_epi8(_mm_or_si128(
                      _mm_cmpeq_epi8(v, _mm_set1_epi8(' ')),
                      _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8(8)),
                                    _mm_cmpgt_epi8(_mm_set1_epi8(14), v))))
                  << k;
    }
    *w = mw;
    *ap = ma;
    *bl = mb;
#else
    uint64_t mw = 0, ma = 0, mb = 0;
    unsigned k;
    (void)want_blank;
    for (k = 0; k < 64; k++) {
        unsigned c = byte_class[p[k]];
        mw |= (uint64_t)(c == C_WORD) << k;
        ma |= (uint64_t)(c == C_APOS) << k;
        mb |= (uint64_t)(c == C_BLANK) << k;
    }
    *w = mw;
    *ap = ma;
    *bl = mb;
#endif
}

/* Bits set in m, by halves (__builtin_popcountll is a libgcc call unless
 * the target has a popcount instruction, as baseline x86-64 has not). */
static inline unsigned popcount64(uint64_t m) {
    m -= (m >> 1) & UINT64_C(0x5555555555555555);
    m = (m & UINT64_C(0x3333333333333333)) +
        ((m >> 2) & UINT64_C(0x3333333333333333));
    m = (m + (m >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (unsigned)((m * ONES) >> 56);
}

/* Append to d->blocks the 64-byte blocks of u[a..b) (a whole number of
 * lines: b is the end of the text or a line start; the text readable up
 * to u[len], its NUL) with their token starts: words, and runs of
 * punctuation/symbols too if `punct` - the tokens of line_words on each
 * line, *nw counts them. */
static lc_status scan_run(degen_state *d, const unsigned char *u, size_t a,
                          size_t b, size_t len, bool punct, size_t *nw) {
    uint64_t pw = 0, pa = 0, pq = 0; /* the previous block's masks */
    unsigned char pad[64];
    size_t o, n = *nw, nb = d->nblocks;
    lc_status rc;
    if ((rc = lci_grow(d->a, (void **)&d->blocks, sizeof *d->blocks,
                       &d->capblocks, nb + (b - a + 63) / 64)) != LC_OK)
        return rc;
    for (o = a; o < b; o += 64) {
        size_t in = b - o < 64 ? b - o : 64;
        uint64_t valid = in == 64 ? ~(uint64_t)0 : (UINT64_C(1) << in) - 1;
        uint64_t w, ap, bl, st;
        const unsigned char *q = u + o;
        degen_block *k;
        if (len + 1 - o < 64) { /* the text's last bytes */
            memcpy(pad, q, len + 1 - o);
            memset(pad + (len + 1 - o), 0, 64 - (len + 1 - o));
            q = pad;
        }
        block_masks(q, punct, &w, &ap, &bl);
        w &= valid;
        ap &= valid;
        /* a word byte after neither a word byte nor an inner apostrophe */
        st = w & ~((w << 1) | (pw >> 63)) &
             ~(((ap << 1) | (pa >> 63)) & ((w << 2) | (pw >> 62)));
        if (punct) {
            uint64_t pq_now = ~(w | bl) & valid;
            uint64_t qs = pq_now & ~((pq_now << 1) | (pq >> 63));
            /* an apostrophe after a word byte is inner if a word byte
             * follows (u[o + j + 1] is readable: o + j < b <= len) */
            uint64_t m = qs & ap & ((w << 1) | (pw >> 63));
            while (m) {
                unsigned j = lci_ctz64(m);
                if (byte_class[u[o + j + 1]] == C_WORD)
                    qs &= ~(UINT64_C(1) << j);
                m &= m - 1;
            }
            st |= qs;
            pq = pq_now;
        }
        pw = w;
        pa = ap;
        if (!st)
            continue;
        k = &d->blocks[nb++];
        k->off = o;
        k->starts = st;
        k->nonword = ~w; /* so past the range too: no word goes there */
        k->apos = ap;
        n += popcount64(st);
    }
    d->nblocks = nb;
    *nw = n;
    return LC_OK;
}

/* word_hash of the word of wl (>= 1) bytes at p, without an inner
 * apostrophe, readable up to p[15] and p[8 * ceil(wl / 8) - 1]: its
 * pieces are eight bytes each and a last one of wl % 8, lower-cased as
 * word bytes (ASCII ones get bit 0x20: digits have it, capitals become
 * letters; bytes >= 0x80 stay). A word of up to 16 bytes (almost all)
 * is hashed from two pieces and picked by length without a branch: the
 * loop's exit went either way with the word's length (hash_tokens'
 * mispredicted branches on corpus-s1-2mb, callgrind's model: 19,200
 * before, 13,800 now, for 2% more instructions). */
static inline uint64_t known_word_hash(const unsigned char *p, unsigned wl) {
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint64_t h = UINT64_C(0xcbf29ce484222325), x;
    unsigned r = wl;
    if (wl <= 16) {
        uint64_t x0 = load8(p, 8), x1 = load8(p + 8, 8), h1, h2;
        unsigned r0 = wl < 8 ? wl : 8, r1 = wl > 8 ? wl - 8 : 8;
        h1 = (h ^ ((x0 | ((~x0 & HIGHS) >> 2)) &
                   (~(uint64_t)0 >> (64 - 8 * r0)))) *
             k;
        h2 = (h1 ^ ((x1 | ((~x1 & HIGHS) >> 2)) &
                    (~(uint64_t)0 >> (64 - 8 * r1)))) *
             k;
        return lci_mix64((wl > 8 ? h2 : h1) + wl);
    }
    for (; r >= 8; r -= 8, p += 8) {
        x = load8(p, 8);
        h = (h ^ (x | ((~x & HIGHS) >> 2))) * k;
    }
    if (r) {
        x = load8(p, 8);
        h = (h ^ ((x | ((~x & HIGHS) >> 2)) &
                  (~(uint64_t)0 >> (64 - 8 * r)))) *
            k;
    }
    return lci_mix64(h + wl);
}

/* Where hashing has got to in d->blocks: block `at`, the starts in it
 * not hashed yet. */
typedef struct degen_cursor {
    size_t at;
    uint64_t left;
} degen_cursor;

/* The hashes (those of line_words) of the next to - from tokens into
 * d->words[from..to). A word that ends inside its block, not at an
 * apostrophe (an inner one would continue it), in a block that is
 * readable 16 bytes past its end, is hashed by length (the end is the
 * block's next non-word byte); any other by word_hash. */
static void hash_tokens(degen_state *d, degen_cursor *c, size_t from,
                        size_t to, const unsigned char *u, size_t len) {
    const degen_block *k = &d->blocks[c->at];
    uint64_t left = c->left;
    size_t j;
    for (j = from; j < to; j++) {
        uint64_t bit, m;
        size_t i;
        while (!left)
            left = (++k)->starts;
        bit = left & (~left + 1);
        left ^= bit;
        i = (size_t)k->off + lci_ctz64(bit);
        if (k->nonword & bit) { /* a run of punctuation/symbols */
            uint64_t h = UINT64_C(0x70756e6374); /* "punct" */
            while (i < len && (byte_class[u[i]] == C_OTHER ||
                               byte_class[u[i]] == C_APOS)) {
                h = (h ^ u[i]) * UINT64_C(0x100000001b3);
                i++;
            }
            d->words[j] = h;
            continue;
        }
        m = k->nonword & ~(bit - 1); /* the word's end and beyond */
        if (m && !(k->apos & m & (~m + 1)) && k->off + 80 <= len)
            d->words[j] =
                known_word_hash(u + i, lci_ctz64(m) - lci_ctz64(bit));
        else
            d->words[j] = word_hash(u, i, len + 1, &i);
    }
    c->at = (size_t)(k - d->blocks);
    c->left = left;
}

/* Distinct 3-grams among grams [from, to) of an array of word hashes
 * (gram j: words j, j + 1, j + 2), elements of `stride` bytes, each hash
 * at byte `off` of its element (token hashes in place, or d->words),
 * added to `distinct` found before, at most most + 1: counting stops
 * there (the ratio cannot reach pct any more). The set has
 * 2^(64 - shift) slots, those with stamp `ep` hold the grams counted
 * before (a new count takes a new stamp instead of clearing the slots
 * it filled: no pass over them). Word hashes are random already: a
 * multiply-add combination is enough, and the slot comes from its high
 * (well-mixed) bits, so the home slot needs no mask. The walk is by
 * elements, so it ends one past the array's end (a walk over the hash
 * members ended a member past it: outside the array). Made once per
 * array (count_grams_tokens, count_grams_words: `off` and `stride`
 * constants), each a function of its own, so that the loop has the
 * registers to itself. */
static inline size_t count_grams(uint64_t *set, uint32_t *stamp,
                                 uint32_t ep, unsigned shift, size_t mask,
                                 const unsigned char *a, size_t stride,
                                 size_t off, size_t from, size_t to,
                                 size_t distinct, size_t most) {
    const unsigned char *p, *end = a + (to + 2) * stride;
    uint64_t w0, w1;
    memcpy(&w0, a + from * stride + off, sizeof w0);
    memcpy(&w1, a + (from + 1) * stride + off, sizeof w1);
    for (p = a + (from + 2) * stride; p < end; p += stride) {
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
        for (j = (size_t)(g >> shift);; j = (j + 1) & mask) {
            if (stamp[j] != ep) { /* a free slot: a new 3-gram */
                stamp[j] = ep;
                set[j] = g;
                if (++distinct > most)
                    return distinct; /* cannot reach pct any more */
                break;
            }
            if (set[j] == g)
                break;
        }
    }
    return distinct;
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static size_t count_grams_tokens(uint64_t *set, uint32_t *stamp,
                                 uint32_t ep, unsigned shift, size_t mask,
                                 const lci_token *t, size_t ngr,
                                 size_t most) {
    return count_grams(set, stamp, ep, shift, mask, (const unsigned char *)t,
                       sizeof *t, offsetof(lci_token, hash), 0, ngr, 0,
                       most);
}

#if defined(__GNUC__)
__attribute__((noinline))
#endif
static size_t count_grams_words(uint64_t *set, uint32_t *stamp,
                                uint32_t ep, unsigned shift, size_t mask,
                                const uint64_t *w, size_t from, size_t to,
                                size_t distinct, size_t most) {
    return count_grams(set, stamp, ep, shift, mask, (const unsigned char *)w,
                       sizeof *w, 0, from, to, distinct, most);
}

/* The words of the turn's kept lines: *fast (no line skipped, not
 * symbol spam: the turn's own tokens are the words, nothing is stored)
 * or *nw tokens, their starts in d->blocks (hashed later by
 * hash_tokens, as many as needed). One pass over the lines: the kept
 * lines before the first skipped one are only looked at again once a
 * line is skipped, as one range. */
static lc_status kept_words(degen_state *d, const char *text, size_t len,
                            bool symbols, size_t *nw, bool *fast) {
    const unsigned char *u = (const unsigned char *)text;
    const char *p = text, *run = text, *end = text + len;
    bool fence = false, collect = symbols;
    lc_status rc;
    *nw = 0;
    d->nblocks = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (skip_line(p, (size_t)(le - p), &fence)) {
            if (run < p &&
                (rc = scan_run(d, u, (size_t)(run - text),
                               (size_t)(p - text), len, symbols, nw)) !=
                    LC_OK)
                return rc;
            collect = true;
            run = nl ? nl + 1 : end;
        }
        p = nl ? nl + 1 : end;
    }
    *fast = !collect;
    if (collect && run < end)
        return scan_run(d, u, (size_t)(run - text), len, len, symbols, nw);
    return LC_OK;
}

/* The same from the original two passes (reference for the unit test):
 * the hashes of the words in d->words[0..*nw). */
static lc_status kept_words_ref(degen_state *d, const char *text,
                                size_t len, bool symbols, size_t *nw,
                                bool *fast) {
    const char *p = text, *end = p + len;
    bool fence = false, skipped = false;
    lc_status rc;
    *nw = 0;
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
        p = text;
        fence = false;
    }
    *fast = !symbols && !skipped;
    if (*fast)
        return LC_OK;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (!skip_line(p, (size_t)(le - p), &fence) &&
            (rc = line_words(d, p, (size_t)(le - p), (size_t)(end - p) + 1,
                             symbols, nw)) != LC_OK)
            return rc;
        p = nl ? nl + 1 : end;
    }
    return LC_OK;
}

/* Measure one turn's text (NUL at text[len]; `ntok` tokens, their hashes
 * read on the fast path): *nw words considered; *fires if the finding is
 * due, then with *ratio. `reference`: all words hashed by the original
 * two passes and counted in one go (for the unit test). */
static lc_status measure(degen_state *d, const char *text, size_t len,
                         const lci_token *tokens, uint32_t ntok,
                         bool reference, size_t *nw_out, double *ratio,
                         bool *fires) {
    size_t nw = 0, ngr, cap, distinct = 0, mask, most;
    unsigned shift;
    lc_status rc;
    bool symbols = ntok < d->min_words, fast;
    *fires = false;
    *nw_out = 0;
    if (len < d->min_words) /* a token takes >= 1 byte */
        return LC_OK;
    rc = reference ? kept_words_ref(d, text, len, symbols, &nw, &fast)
                   : kept_words(d, text, len, symbols, &nw, &fast);
    if (rc != LC_OK)
        return rc;
    if (fast)
        nw = ntok; /* the 3-grams read the tokens themselves */
    *nw_out = nw;
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
     * occupied slot (which way that goes is unpredictable); it is never
     * cleared but for the stamps when the epoch wraps (a slot of a
     * stamp array just allocated, zero, is free for any epoch) */
    for (cap = 64, shift = 58; cap < 4 * (most + 1); cap *= 2)
        shift--;
    if (cap > d->capset) {
        lci_free(d->a, d->set);
        lci_free(d->a, d->stamp);
        d->set = lci_malloc(d->a, cap * sizeof *d->set);
        d->stamp = lci_calloc(d->a, cap, sizeof *d->stamp);
        if (!d->set || !d->stamp) {
            lci_free(d->a, d->set);
            lci_free(d->a, d->stamp);
            d->set = NULL;
            d->stamp = NULL;
            d->capset = 0;
            return LC_ERR_NOMEM;
        }
        d->capset = cap;
    }
    if (++d->epoch == 0) {
        memset(d->stamp, 0, d->capset * sizeof *d->stamp);
        d->epoch = 1;
    }
    mask = cap - 1;
    if (fast) {
        distinct = count_grams_tokens(d->set, d->stamp, d->epoch, shift,
                                      mask, tokens, ngr, most);
    } else if (reference) {
        distinct = count_grams_words(d->set, d->stamp, d->epoch, shift,
                                     mask, d->words, 0, ngr, 0, most);
    } else {
        /* Hash the words as the count needs them: it cannot stop before
         * most + 1 - distinct more 3-grams, so that many (and at least
         * as many as so far: few rounds for a real loop) are hashed
         * next. Prose stops after about (1 - pct/100) of its words. */
        const unsigned char *u = (const unsigned char *)text;
        degen_cursor c = {0, d->blocks[0].starts};
        size_t g = 0, step, to;
        while (g < ngr && distinct <= most) {
            step = most + 1 - distinct;
            if (step < g)
                step = g;
            to = step >= ngr - g ? ngr : g + step;
            if ((rc = lci_grow(d->a, (void **)&d->words, sizeof *d->words,
                               &d->capwords, to + 2)) != LC_OK)
                return rc;
            hash_tokens(d, &c, g ? g + 2 : 0, to + 2, u, len);
            distinct = count_grams_words(d->set, d->stamp, d->epoch, shift,
                                         mask, d->words, g, to, distinct,
                                         most);
            g = to;
        }
    }
    *ratio = 1.0 - (double)distinct / (double)ngr;
    if (d->capset > SCRATCH_KEEP) { /* do not pin a huge turn's memory */
        lci_free(d->a, d->set);
        d->set = NULL;
        lci_free(d->a, d->stamp);
        d->stamp = NULL;
        d->capset = 0;
        lci_free(d->a, d->words);
        d->words = NULL;
        d->capwords = 0;
        lci_free(d->a, d->blocks);
        d->blocks = NULL;
        d->capblocks = 0;
    }
    *fires = *ratio * 100.0 >= d->pct;
    return LC_OK;
}

static lc_status degen_on_turn(void *st, lc_session *s, const lci_turn *t) {
    degen_state *d = st;
    size_t nw;
    double ratio;
    bool fires;
    lci_finding *f;
    lc_status rc;
    if (t->pub.role == LC_ROLE_TOOL || lci_turn_is_call(t))
        return LC_OK;
    if ((rc = measure(d, t->pub.text, t->pub.text_len, t->tokens,
                      t->ntokens, false, &nw, &ratio, &fires)) != LC_OK ||
        !fires)
        return rc;
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

/* ---- test hooks (declared in internal.h) ---- */

/* The words of `text` (NUL at text[len]) as the detector takes them:
 * *fast as in kept_words, else *n hashes, copied to *out (allocated
 * with a; NULL if none): by the new path, or by the original one if
 * `reference`. */
lc_status lci_degen_test_words(const lci_alloc *a, const char *text,
                               size_t len, bool symbols, bool reference,
                               uint64_t **out, size_t *n, bool *fast) {
    degen_state d;
    lc_status rc;
    memset(&d, 0, sizeof d);
    d.a = a;
    *out = NULL;
    rc = reference ? kept_words_ref(&d, text, len, symbols, n, fast)
                   : kept_words(&d, text, len, symbols, n, fast);
    if (rc == LC_OK && !reference && *n &&
        (rc = lci_grow(a, (void **)&d.words, sizeof *d.words, &d.capwords,
                       *n)) == LC_OK) {
        degen_cursor c = {0, d.blocks[0].starts};
        hash_tokens(&d, &c, 0, *n, (const unsigned char *)text, len);
    }
    if (rc == LC_OK && *n) {
        *out = lci_malloc(a, *n * sizeof **out);
        if (!*out)
            rc = LC_ERR_NOMEM;
        else
            memcpy(*out, d.words, *n * sizeof **out);
    }
    lci_free(a, d.words);
    lci_free(a, d.blocks);
    return rc;
}

/* The detector's measure of one turn's text with these settings (see
 * measure). */
lc_status lci_degen_test_measure(const lci_alloc *a, uint32_t min_words,
                                 uint32_t pct, const char *text, size_t len,
                                 const lci_token *tokens, uint32_t ntok,
                                 bool reference, size_t *nw, double *ratio,
                                 bool *fires) {
    degen_state d;
    lc_status rc;
    memset(&d, 0, sizeof d);
    d.a = a;
    d.min_words = min_words;
    d.pct = pct;
    *ratio = 0;
    rc = measure(&d, text, len, tokens, ntok, reference, nw, ratio, fires);
    lci_free(a, d.words);
    lci_free(a, d.blocks);
    lci_free(a, d.set);
    lci_free(a, d.stamp);
    return rc;
}

const lci_detector_vt lci_detect_degenerate = {
    "degenerate_repetition", LC_KIND_DEGENERATE_REPETITION, degen_create,
    degen_on_turn,           NULL,                          degen_destroy,
    degen_reset,
};
