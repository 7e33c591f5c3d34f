/*
 * detect_util.c - small helpers shared by the loop detectors
 * (detect_exact.c, detect_recurring.c, detect_recycled.c,
 * detect_neardup.c, detect_degenerate.c, detect_stalled.c).
 *
 *  - lci_u64map: open-addressing hash map uint64 -> uint64 with linear
 *    probing, power-of-two capacity, load factor <= 1/2. Detectors keep
 *    it bounded by the history window with lci_u64map_retain(), which
 *    they call every LC_OPT_HISTORY_TURNS turns (amortized O(1) per
 *    entry inserted).
 *  - the agent rule helpers: what a tool call is, and when two tool
 *    observations "repeat" (same text, or errors of the same kind).
 *  - speaker keys and excerpts mapped back to the original text.
 */
#include "internal.h"

#include <string.h>
#include <utf8proc.h>
#if defined(__SSE2__) && !defined(LCI_NO_SIMD)
#include <emmintrin.h>
#endif

/* Key 0 marks an empty slot; a real key 0 is stored as this constant
 * (a collision with a real hash of that value is negligible). */
#define U64MAP_ZERO UINT64_C(0x9e3779b97f4a7c15)

static uint64_t map_key(uint64_t k) { return k ? k : U64MAP_ZERO; }

/* Keys are well-mixed hashes already (see internal.h): fold, no remix. */
static size_t slot_of(uint64_t k) { return (size_t)(k ^ (k >> 32)); }

void lci_u64map_free(lci_u64map *m, const lci_alloc *a) {
    lci_free(a, m->keys);
    lci_free(a, m->vals);
    memset(m, 0, sizeof *m);
}

void lci_u64map_clear(lci_u64map *m, const lci_alloc *a, size_t max_cap) {
    size_t want = 64;
    /* size for what the last use held (clearing costs O(cap), so a table
     * grown by one big conversation must not be wiped for every small
     * one afterwards) */
    while (want < 4 * m->n)
        want *= 2;
    if (m->cap > max_cap || m->cap > 2 * want) {
        lci_u64map_free(m, a);
        if (want <= max_cap)
            (void)lci_u64map_reserve(m, a, want / 2); /* NOMEM: empty */
        return;
    }
    if (m->n && m->keys)
        memset(m->keys, 0, m->cap * sizeof *m->keys);
    m->n = 0;
}

uint64_t *lci_u64map_get(const lci_u64map *m, uint64_t key) {
    size_t i, mask;
    if (!m->cap)
        return NULL;
    key = map_key(key);
    mask = m->cap - 1;
    for (i = slot_of(key) & mask; m->keys[i]; i = (i + 1) & mask)
        if (m->keys[i] == key)
            return &m->vals[i];
    return NULL;
}

/* Insert without growing (caller guarantees room). */
static uint64_t *map_insert(lci_u64map *m, uint64_t key, bool *created) {
    size_t mask = m->cap - 1, i;
    for (i = slot_of(key) & mask; m->keys[i]; i = (i + 1) & mask)
        if (m->keys[i] == key) {
            *created = false;
            return &m->vals[i];
        }
    m->keys[i] = key;
    m->vals[i] = 0;
    m->n++;
    *created = true;
    return &m->vals[i];
}

static lc_status map_rehash(lci_u64map *m, const lci_alloc *a, size_t cap) {
    lci_u64map nm;
    size_t i;
    bool created;
    memset(&nm, 0, sizeof nm);
    nm.cap = cap;
    nm.keys = lci_calloc(a, cap, sizeof *nm.keys);
    nm.vals = lci_malloc(a, cap * sizeof *nm.vals); /* set on insert */
    if (!nm.keys || !nm.vals) {
        lci_free(a, nm.keys);
        lci_free(a, nm.vals);
        return LC_ERR_NOMEM;
    }
    for (i = 0; i < m->cap; i++) {
        uint64_t k = m->keys[i];
        if (!k)
            continue;
        *map_insert(&nm, k, &created) = m->vals[i];
    }
    lci_free(a, m->keys);
    lci_free(a, m->vals);
    *m = nm;
    return LC_OK;
}

lc_status lci_u64map_reserve(lci_u64map *m, const lci_alloc *a,
                             size_t need) {
    size_t cap = m->cap ? m->cap : 64;
    if (2 * need <= m->cap)
        return LC_OK;
    while (cap < 2 * need)
        cap *= 2;
    return map_rehash(m, a, cap);
}

lc_status lci_u64map_slot(lci_u64map *m, const lci_alloc *a, uint64_t key,
                          uint64_t **val, bool *created) {
    lc_status st;
    if (2 * (m->n + 1) > m->cap) {
        st = map_rehash(m, a, m->cap ? 2 * m->cap : 64);
        if (st != LC_OK)
            return st;
    }
    *val = map_insert(m, map_key(key), created);
    return LC_OK;
}

/* Make every key of m findable again after slots were emptied in place
 * (no allocation): each key is taken out and inserted again, in probe
 * order from `start`, a slot that was empty before any was emptied (so
 * no probe sequence runs across it). A key moves only backwards along
 * its own probe sequence, into a hole, so the keys before it stay
 * findable. */
static void map_fill_holes(lci_u64map *m, size_t start) {
    size_t mask = m->cap - 1, k, i, j;
    for (k = 1; k <= mask; k++) {
        uint64_t key;
        i = (start + k) & mask;
        if (!(key = m->keys[i]))
            continue;
        for (j = slot_of(key) & mask; m->keys[j] && j != i;
             j = (j + 1) & mask)
            ;
        if (j != i) {
            m->keys[j] = key;
            m->vals[j] = m->vals[i];
            m->keys[i] = 0;
        }
    }
}

lc_status lci_u64map_retain(lci_u64map *m, const lci_alloc *a,
                            bool (*keep)(uint64_t key, uint64_t val,
                                         void *ctx),
                            void *ctx) {
    size_t i, cap = 64, empty = 0;
    if (!m->cap)
        return LC_OK;
    while (m->keys[empty]) /* there is one: load factor <= 1/2 */
        empty++;
    /* one call of `keep` per entry (it may release what the value points
     * to); dropped slots are cleared, then everything left is rehashed
     * into a table sized for it, so memory follows the live entries. If
     * that table cannot be had, the entries left are re-placed in the
     * table they are in: the map stays whole and this still succeeds
     * (a cleared slot alone would cut the probe sequences through it). */
    for (i = 0; i < m->cap; i++)
        if (m->keys[i] &&
            !keep(m->keys[i] == U64MAP_ZERO ? 0 : m->keys[i], m->vals[i],
                  ctx)) {
            m->keys[i] = 0;
            m->n--;
        }
    while (cap < 2 * m->n + 2)
        cap *= 2;
    if (map_rehash(m, a, cap) != LC_OK)
        map_fill_holes(m, empty);
    return LC_OK;
}

/* ---- speakers and the agent rule ---- */

uint64_t lci_turn_words_hash(const lci_turn *t) {
    uint64_t h = UINT64_C(0x776f726473); /* "words" */
    uint32_t i;
    for (i = 0; i < t->ntokens; i++)
        h = lci_mix64(h ^ t->tokens[i].hash) + i;
    return h;
}

uint64_t lci_turn_words_key(const lci_turn *t) {
    /* four independent lanes h = (h ^ token) * K (each step a bijection
     * of h, so sequences that differ in one token differ in one lane),
     * then the lanes and the length through lci_mix64 one by one: about
     * one cycle per token instead of a multiply chain of lci_mix64s */
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    const lci_token *p = t->tokens;
    uint64_t a = UINT64_C(0x776f7264), b = UINT64_C(0x6b657973),
             c = UINT64_C(0x6c616e65), d = UINT64_C(0x73657175);
    uint32_t n = p ? t->ntokens : 0;
    /* a pointer, not a 32-bit index: no index arithmetic per token (and
     * no arithmetic on a NULL array: a turn without words has none) */
    const lci_token *end4 = p ? p + (n & ~(uint32_t)3) : p;
    const lci_token *end = p ? p + n : p;
    for (; p < end4; p += 4) {
        a = (a ^ p[0].hash) * k;
        b = (b ^ p[1].hash) * k;
        c = (c ^ p[2].hash) * k;
        d = (d ^ p[3].hash) * k;
    }
    for (; p < end; p++)
        a = (a ^ p->hash) * k;
    a = lci_mix64(a ^ n);
    a = lci_mix64(a ^ b);
    a = lci_mix64(a ^ c);
    return lci_mix64(a ^ d);
}

uint64_t lci_speaker_key(const lci_turn *t) {
    const char *sp = t->pub.speaker ? t->pub.speaker : "";
    return lci_mix64(lci_hash(sp, strlen(sp)) +
                     (uint64_t)t->pub.role * UINT64_C(0x100000001b3));
}

bool lci_turn_is_call(const lci_turn *t) {
    return t->pub.role == LC_ROLE_ASSISTANT &&
           (t->pub.flags & LC_TURN_TOOL_CALL) != 0;
}

static unsigned char ascii_lower(unsigned char c) {
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* The error words (lower case): strong ones name an error; "failed" and
 * "failure" alone often sit in a summary line ("57 passed, 3 failed")
 * and only count when no line has a strong word. */
static const char *const err_strong[] = {
    "error",  "exception", "traceback", "fatal",     "panic",
    "denied", "not found", "no such",   "timed out", "timeout",
    "errno",  "refused",   "invalid"};
static const char *const err_weak[] = {"failed", "failure"};

/* Letter index of a byte, 1..26 for 'a'..'z' in either case, else 0. */
#define EC(c)                                                               \
    ((c) >= 'a' && (c) <= 'z'   ? (c) - 'a' + 1                             \
     : (c) >= 'A' && (c) <= 'Z' ? (c) - 'A' + 1                             \
                                : 0)
#define EC4(b) EC(b), EC(b + 1), EC(b + 2), EC(b + 3)
#define EC16(b) EC4(b), EC4(b + 4), EC4(b + 8), EC4(b + 12)
#define EC64(b) EC16(b), EC16(b + 16), EC16(b + 32), EC16(b + 48)
static const unsigned char err_letter[256] = {EC64(0), EC64(64), EC64(128),
                                              EC64(192)};
#undef EC
#undef EC4
#undef EC16
#undef EC64
/* The error words' first two letters: per first letter, a bit per
 * possible second letter (bit = letter index). Keep in sync with
 * err_strong and err_weak: test_loops.c (t_error_signature) finds every
 * word of both lists through err_words, so a missing bit fails it. */
#define EL(c) ((c) - 'a' + 1)
#define EB(c) (UINT32_C(1) << EL(c))
static const uint32_t err_pair_strong[27] = {
    [EL('d')] = EB('e'),           /* denied */
    [EL('e')] = EB('r') | EB('x'), /* error, errno, exception */
    [EL('f')] = EB('a'),           /* fatal */
    [EL('i')] = EB('n'),           /* invalid */
    [EL('n')] = EB('o'),           /* not found, no such */
    [EL('p')] = EB('a'),           /* panic */
    [EL('r')] = EB('e'),           /* refused */
    [EL('t')] = EB('r') | EB('i'), /* traceback, timed out, timeout */
};
static const uint32_t err_pair_weak[27] = {
    [EL('f')] = EB('a'), /* failed, failure */
};
#undef EL
#undef EB

/* Does s[i..n) start with the lower-case needle nd (ASCII
 * case-insensitively)? */
static bool needle_at(const char *s, size_t n, size_t i, const char *nd) {
    size_t j;
    for (j = 0; nd[j]; j++)
        if (i + j >= n || ascii_lower((unsigned char)s[i + j]) !=
                              (unsigned char)nd[j])
            return false;
    return true;
}

/* Does the line s[0..n) contain a strong error word? *weak is set if it
 * contains a weak one (only looked for until a strong one is found).
 * One pass: the words' first two letters (err_pair_*) pick the few
 * positions where a word is compared at all. */
static bool err_words(const char *s, size_t n, bool *weak) {
    size_t i, k;
    unsigned c0, c1;
    if (n < 2)
        return false;
    c0 = err_letter[(unsigned char)s[0]];
    for (i = 0; i + 1 < n; i++, c0 = c1) {
        c1 = err_letter[(unsigned char)s[i + 1]];
        if (!(((err_pair_strong[c0] | err_pair_weak[c0]) >> c1) & 1))
            continue;
        if ((err_pair_strong[c0] >> c1) & 1)
            for (k = 0; k < sizeof err_strong / sizeof *err_strong; k++)
                if (needle_at(s, n, i, err_strong[k]))
                    return true;
        if (((err_pair_weak[c0] >> c1) & 1) && !*weak)
            for (k = 0; k < sizeof err_weak / sizeof *err_weak; k++)
                if (needle_at(s, n, i, err_weak[k]))
                    *weak = true;
    }
    return false;
}

/* Lines scanned for an error line, and bytes per line: an error message
 * that matters is near the top of an observation. */
#define ERRSIG_MAX_LINES 64
#define ERRSIG_MAX_LINE 512

/* Signature of one line: ASCII-lowercased, digits dropped, blanks
 * collapsed, so "line 12" and "line 14" agree. */
static uint64_t line_signature(const char *p, size_t n) {
    char buf[ERRSIG_MAX_LINE];
    size_t i, j = 0;
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c >= '0' && c <= '9')
            continue;
        if (c == ' ' || c == '\t' || c == '\r') {
            if (j && buf[j - 1] == ' ')
                continue;
            c = ' ';
        }
        buf[j++] = (char)ascii_lower(c);
    }
    return map_key(lci_hash(buf, j));
}

uint64_t lci_error_signature(const lci_turn *t) {
    const char *p = t->pub.text, *end = p + t->pub.text_len;
    uint64_t weak_sig = 0;
    int lines = 0;
    while (p < end && lines < ERRSIG_MAX_LINES) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        size_t n = (size_t)(le - p);
        bool weak = false;
        if (n > ERRSIG_MAX_LINE)
            n = ERRSIG_MAX_LINE;
        if (err_words(p, n, &weak))
            return line_signature(p, n);
        if (!weak_sig && weak)
            weak_sig = line_signature(p, n);
        lines++;
        p = le + 1;
    }
    return weak_sig;
}

uint64_t lci_turn_action_hash(const lci_turn *t) {
    const char *p = t->pub.text, *end = p + t->pub.text_len;
    static const char tag[] = "tool_call ";
    const size_t tl = sizeof tag - 1;
    if (!lci_turn_is_call(t))
        return t->pub.hash;
    /* the canonical calls follow the free text, each on its own line
     * starting with "tool_call " (json.c) */
    while (p + tl <= end) {
        if (memcmp(p, tag, tl) == 0)
            return map_key(lci_hash(p, (size_t)(end - p)));
        p = memchr(p, '\n', (size_t)(end - p));
        if (!p)
            break;
        p++;
    }
    return t->pub.hash;
}

bool lci_observation_repeats(const lci_turn *a, const lci_turn *b) {
    uint64_t sa;
    if (!a || !b)
        return a == b; /* no observation on either side */
    if (a->pub.role != b->pub.role)
        return false;
    if (a->pub.hash == b->pub.hash)
        return true;
    sa = lci_error_signature(a);
    return sa != 0 && sa == lci_error_signature(b);
}

/* ---- other detectors' findings ---- */

uint32_t lci_latest_end(lc_session *s, lci_kind_watch *w, lc_kind kind) {
    size_t n = lci_session_nfindings(s);
    for (; w->seen < n; w->seen++) {
        const lci_finding *f = lci_session_finding_at(s, w->seen);
        if (f && f->pub.kind == kind)
            w->latest = f;
    }
    return w->latest ? w->latest->pub.last_turn : 0;
}

/* ---- excerpts ---- */

/* Is code point u part of a word (letters, digits, marks)? */
static bool word_cp(int32_t u) {
    if (u < 0x80)
        return (u >= 'a' && u <= 'z') || (u >= 'A' && u <= 'Z') ||
               (u >= '0' && u <= '9');
    switch (utf8proc_category(u)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC: case UTF8PROC_CATEGORY_ME:
    case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

/*
 * Byte offset in the original text of word number `word` (0-based),
 * counting words the way tokens.c does closely enough (runs of letters,
 * digits and marks; an apostrophe inside a word). Returns false if the
 * text has fewer words or the word found does not start like the token
 * (then the caller falls back to the normalized text).
 */
static bool original_offset(const lci_turn *t, uint32_t word, size_t *out) {
    const uint8_t *p = (const uint8_t *)t->pub.text;
    size_t len = t->pub.text_len, i = 0;
    uint32_t count = 0;
    bool in = false;
    const lci_token *tk = &t->tokens[word];
    while (i < len) {
        int32_t u;
        utf8proc_ssize_t k = utf8proc_iterate(p + i, (utf8proc_ssize_t)(len - i),
                                              &u);
        if (k <= 0) {
            k = 1;
            u = -1;
        }
        if (u >= 0 && word_cp(u)) {
            if (!in) {
                if (count == word) {
                    /* check the first byte against the token (ASCII) */
                    unsigned char c0 = ascii_lower(p[i]);
                    unsigned char n0 = (unsigned char)t->pub.norm[tk->off];
                    if (c0 < 0x80 && c0 != n0)
                        return false;
                    *out = i;
                    return true;
                }
                count++;
                in = true;
            }
        } else if (!(in && (u == '\'' || u == 0x2019) && i + (size_t)k < len &&
                     p[i + (size_t)k] < 0x80 &&
                     word_cp((int32_t)p[i + (size_t)k]))) {
            in = false;
        }
        i += (size_t)k;
    }
    return false;
}

lc_status lci_detect_excerpt(lc_session *s, lci_finding *f,
                             const lci_turn *t, uint32_t word) {
    size_t off;
    if (!t)
        return LC_OK;
    if (word == 0 || word >= t->ntokens)
        return lci_finding_set_excerpt(s, f, t->pub.text, t->pub.text_len);
    if (original_offset(t, word, &off))
        return lci_finding_set_excerpt(s, f, t->pub.text + off,
                                       t->pub.text_len - off);
    off = t->tokens[word].off;
    return lci_finding_set_excerpt(s, f, t->pub.norm + off,
                                   t->pub.norm_len - off);
}

lc_status lci_detect_set_speaker(lc_session *s, lci_finding *f,
                                 const lci_turn *t) {
    const char *sp = t->pub.speaker ? t->pub.speaker : "";
    char *copy;
    if (f->speaker && strcmp(f->speaker, sp) == 0)
        return LC_OK;
    copy = lci_strndup(lci_session_alloc(s), sp, strlen(sp));
    if (!copy)
        return LC_ERR_NOMEM;
    lci_free(lci_session_alloc(s), f->speaker);
    f->speaker = copy;
    f->pub.speaker = copy;
    f->pub.role = t->pub.role;
    return LC_OK;
}

/* ---- near-duplicate similarity ---- */

/* Bit count (portable; no popcnt instruction assumed). */
static uint32_t popcount64(uint64_t x) {
    x = x - ((x >> 1) & UINT64_C(0x5555555555555555));
    x = (x & UINT64_C(0x3333333333333333)) +
        ((x >> 2) & UINT64_C(0x3333333333333333));
    x = (x + (x >> 4)) & UINT64_C(0x0f0f0f0f0f0f0f0f);
    return (uint32_t)((x * UINT64_C(0x0101010101010101)) >> 56);
}

#if defined(__SSE2__) && !defined(LCI_NO_SIMD)
/* The 64-bit lanes equal in both of their 32-bit halves, given the
 * 32-bit compares of eight consecutive bins (a: bins 0-1, b: 2-3, c: 4-5,
 * d: 6-7): bit j set iff bin j's two halves compared equal. */
static uint32_t bins8_mask(__m128i a, __m128i b, __m128i c, __m128i d) {
    /* 32-bit lanes -> bytes, in order: bytes 2j, 2j+1 are bin j */
    __m128i m8 =
        _mm_packs_epi16(_mm_packs_epi32(a, b), _mm_packs_epi32(c, d));
    uint32_t m = (uint32_t)_mm_movemask_epi8(m8);
    m = m & (m >> 1) & 0x5555u; /* bit 2j: bin j */
    m = (m | (m >> 1)) & 0x3333u;
    m = (m | (m >> 2)) & 0x0f0fu;
    return (m | (m >> 4)) & 0x00ffu;
}
#endif

/* Bit i set iff h[i] != UINT64_MAX (bin i not empty). With SSE2 eight
 * bins per round (a 64-bit bin is empty iff both of its 32-bit halves
 * are all ones), instead of a compare, a shift and an OR per bin: the
 * per-sketch constant was ~500 instructions, as much as sketching a
 * 25-word turn. */
static uint64_t nonempty_bins(const uint64_t *h) {
    uint64_t ne = 0;
    uint32_t i;
#if defined(__SSE2__) && !defined(LCI_NO_SIMD)
    const __m128i ones = _mm_set1_epi32(-1);
    for (i = 0; i < LCI_SKETCH_K; i += 8) {
        const __m128i *v = (const __m128i *)(const void *)(h + i);
        uint32_t m = bins8_mask(_mm_cmpeq_epi32(_mm_loadu_si128(v), ones),
                                _mm_cmpeq_epi32(_mm_loadu_si128(v + 1), ones),
                                _mm_cmpeq_epi32(_mm_loadu_si128(v + 2), ones),
                                _mm_cmpeq_epi32(_mm_loadu_si128(v + 3), ones));
        ne |= (uint64_t)(~m & 0xffu) << i;
    }
#else
    for (i = 0; i < LCI_SKETCH_K; i++)
        ne |= (uint64_t)(h[i] != UINT64_MAX) << i;
#endif
    return ne;
}

/* Bit j set iff x[j] == y[j], for j < 32 (with SSE2 eight bins per
 * round, as nonempty_bins). */
static uint32_t equal_bins32(const uint64_t *x, const uint64_t *y) {
    uint32_t eq = 0, i;
#if defined(__SSE2__) && !defined(LCI_NO_SIMD)
    for (i = 0; i < 32; i += 8) {
        const __m128i *u = (const __m128i *)(const void *)(x + i);
        const __m128i *v = (const __m128i *)(const void *)(y + i);
        eq |= bins8_mask(
                  _mm_cmpeq_epi32(_mm_loadu_si128(u), _mm_loadu_si128(v)),
                  _mm_cmpeq_epi32(_mm_loadu_si128(u + 1),
                                  _mm_loadu_si128(v + 1)),
                  _mm_cmpeq_epi32(_mm_loadu_si128(u + 2),
                                  _mm_loadu_si128(v + 2)),
                  _mm_cmpeq_epi32(_mm_loadu_si128(u + 3),
                                  _mm_loadu_si128(v + 3)))
              << i;
    }
#else
    for (i = 0; i < 32; i++)
        eq |= (uint32_t)(x[i] == y[i]) << i;
#endif
    return eq;
}

/* Keep the smaller of x and its bin's value (64 bins: x's top 6 bits). A
 * conditional move, not a branch: which way it goes is unpredictable. */
static inline void bin_min(uint64_t *h, uint64_t x) {
    uint64_t *b = &h[x >> 58];
    uint64_t v = *b;
    *b = x < v ? x : v;
}

void lci_sketch_turn(const lci_turn *t, lci_sketch *out) {
    lci_sketch_turn_sig(
        t, t->pub.role == LC_ROLE_TOOL ? lci_error_signature(t) : 0, out);
}

void lci_sketch_turn_sig(const lci_turn *t, uint64_t errsig, lci_sketch *out) {
    const lci_token *tk = t->tokens;
    uint32_t n = t->ntokens, i;
    bool call = lci_turn_is_call(t);
    out->index = t->pub.index;
    out->n = n == 1 ? 1 : (n ? n - 1 : 0);
    out->errsig = t->pub.role == LC_ROLE_TOOL ? errsig : 0;
    out->action = call ? lci_turn_action_hash(t) : 0;
    out->ne = 0;
    for (i = 0; i < LCI_SKETCH_K; i++)
        out->h[i] = UINT64_MAX;
    /* tool observations and tool calls are compared on errsig / action
     * only (lci_turn_similarity): their bins are never read */
    if (n == 0 || t->pub.role == LC_ROLE_TOOL || call)
        return;
    if (n == 1) {
        bin_min(out->h, lci_mix64(tk[0].hash));
    } else {
        /* token hashes are XXH3 already: one mix per shingle (tokens
         * p, p + 1); two shingles per round */
        const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
        const lci_token *p = tk, *end = tk + (n - 1);
        uint64_t *h = out->h;
        for (; end - p >= 2; p += 2) {
            uint64_t mid = p[1].hash;
            uint64_t x0 = lci_mix64(p[0].hash ^ (mid * k));
            uint64_t x1 = lci_mix64(mid ^ (p[2].hash * k));
            bin_min(h, x0);
            bin_min(h, x1); /* after x0's store: may be the same bin */
        }
        if (p < end)
            bin_min(h, lci_mix64(p[0].hash ^ (p[1].hash * k)));
    }
    out->ne = nonempty_bins(out->h);
}

double lci_sketch_jaccard(const lci_sketch *x, const lci_sketch *y) {
    uint32_t i, either = 0, both = 0;
    for (i = 0; i < LCI_SKETCH_K; i++) {
        if (x->h[i] == UINT64_MAX && y->h[i] == UINT64_MAX)
            continue;
        either++;
        both += x->h[i] == y->h[i];
    }
    return either ? (double)both / either : 0.0;
}

/* lci_sketch_jaccard(x, y) if it is at least pct % (exactly: compared
 * in integers), else -1. The bins
 * counted ("either": not both empty) are known from the non-empty masks,
 * and only bins non-empty in both can be equal, so it gives up as soon
 * as even all of those still unread being equal could not reach pct
 * (the integer tests are strict: nothing that would pass is cut). The
 * bins are compared without branches (eight per round with SSE2), half
 * of them first. */
static double jaccard_at_least(const lci_sketch *x, const lci_sketch *y,
                               uint32_t pct) {
    uint64_t bothne = x->ne & y->ne;
    uint32_t either = popcount64(x->ne | y->ne), both;
    double j;
    if ((uint64_t)popcount64(bothne) * 100 < (uint64_t)pct * either)
        return -1.0;
    both = popcount64(equal_bins32(x->h, y->h) & (uint32_t)bothne);
    if ((uint64_t)(both + popcount64(bothne >> (LCI_SKETCH_K / 2))) * 100 <
        (uint64_t)pct * either)
        return -1.0;
    both += popcount64(equal_bins32(x->h + 32, y->h + 32) &
                       (uint32_t)(bothne >> 32));
    /* in integers: as a double, 29 of 50 bins (0.58) times 100 is below
     * 58 */
    if (!either || (uint64_t)both * 100 < (uint64_t)pct * either)
        return -1.0;
    j = (double)both / either;
    return j;
}

double lci_turn_similarity(const lci_turn *a, const lci_sketch *sa,
                           const lci_turn *b, const lci_sketch *sb,
                           uint32_t pct) {
    uint64_t sig;
    if (!a || !b || a->pub.role != b->pub.role)
        return -1.0;
    if (a->pub.hash == b->pub.hash)
        return 1.0;
    if (a->pub.role == LC_ROLE_TOOL) {
        sig = sa ? sa->errsig : lci_error_signature(a);
        return sig && sig == (sb ? sb->errsig : lci_error_signature(b))
                   ? 1.0
                   : -1.0;
    }
    if (lci_turn_is_call(a) || lci_turn_is_call(b)) {
        /* the same action, whatever the thought written around it */
        if (!lci_turn_is_call(a) || !lci_turn_is_call(b))
            return -1.0;
        return (sa ? sa->action : lci_turn_action_hash(a)) ==
                       (sb ? sb->action : lci_turn_action_hash(b))
                   ? 1.0
                   : -1.0;
    }
    if (!sa || !sb || !sa->n || !sb->n)
        return -1.0;
    return jaccard_at_least(sa, sb, pct);
}
