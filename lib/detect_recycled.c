/*
 * detect_recycled.c - recycled_passage: a passage of at least
 * N = LC_OPT_PASSAGE_WORDS words that the same speaker already said in an
 * earlier turn, wherever it sits inside either turn.
 *
 * Fingerprints (Schleimer, Wilkerson & Aiken 2003, "Winnowing"):
 *  - shingles of k consecutive word tokens, hashed by a rolling polynomial
 *    over the token hashes (O(1) per shingle) and then mixed;
 *  - winnowing with window w = LC_OPT_WINNOW_WINDOW selects the minimum
 *    hash of every w consecutive shingles (rightmost on ties). Any common
 *    run of at least w + k - 1 tokens then shares a fingerprint, so we
 *    take k = N - w + 1 (w capped at N / 2): every passage of N words is
 *    guaranteed to be found, and k stays as long as possible (k = 9 for
 *    the defaults N = 12, w = 4), so stock 3-5 word phrases never collide.
 *  - index: fingerprint + speaker -> (turn, token position) of its MOST
 *    RECENT occurrence, within the history window.
 *
 * Matching a new turn (user, assistant, system; not tool observations and
 * not tool calls, whose repetition is the agent rule's business): each
 * fingerprint found in the index points at an earlier turn of the same
 * speaker; the hit is verified and extended token by token (token hashes)
 * backwards and forwards into a maximal common passage. Positions already
 * covered for that earlier turn are skipped, so extension is linear.
 *
 * A passage counts when it has >= N words AND either contains a complete
 * sentence of the later turn (tokens.c sentence starts) or has >= 2N
 * words. Whole recycled sentences and paragraphs are recycling; a clause
 * of 12-20 words that only recurs inside different sentences ("you'll be
 * more likely to approach challenges with a sense of purpose and
 * direction") is a stock phrase, not a recycled passage. The price: a
 * sentence of fewer than 2N words re-used inside a longer sentence ("As I
 * said before: <sentence>") is not counted either.
 *
 * Canonical pairs: a later turn is linked to the MOST RECENT earlier turn
 * holding each passage, so a sentence repeated in turns 8, 10, 12, 14 gives
 * 8->10, 10->12 and 12->14, never 8->12. One finding per (earlier, later)
 * pair: first_turn = the source, last_turn = the recycling turn, words =
 * recycled words of the later turn taken from that source (sum of its
 * disjoint passages; a passage the later turn holds twice counts once,
 * at its first place: each fingerprint is looked up once per turn, and
 * repetition inside one turn is degenerate_repetition's business),
 * share = words / words of the later turn, score =
 * longest passage / 2N capped at 1, excerpt = the longest passage in the
 * later turn's original text (from its first sentence start, if any).
 * The later turn is marked looped.
 *
 * Identical turns (same hash, or the same words up to punctuation and
 * emoji: lci_turn_words_hash) never form a pair: repetition of a whole
 * turn is exact_loop's (consecutive) or recurring_turn's
 * (non-consecutive) finding - the latter from the second time for a turn
 * of passage_words words or more (LC_OPT_RECUR_LONG_MIN), so a whole
 * paragraph said again is never less than a recycled passage - and the
 * seed's refusal loop gives none here.
 *
 * Cost per turn O(words) plus the extensions (each later-turn token is
 * extended over at most once per source turn); memory: the index holds
 * about 2 / (w + 1) entries per word of the turns in the history window,
 * swept every LC_OPT_HISTORY_TURNS turns.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ROLL_BASE UINT64_C(0x100000001b3)
/* Winnowing windows up to this size are scanned whole per shingle. */
#define RECYC_SCAN_W 8
/* Stands for the index key 0 (which marks an empty slot). */
#define RECYC_ZERO_KEY UINT64_C(0x9e3779b97f4a7c15)

typedef struct src_rec {
    uint32_t turn;
    uint32_t cover_end; /* later-turn tokens before this are examined */
    uint32_t words;
    uint32_t longest;
    uint32_t longest_at;
    uint64_t evidence;
} src_rec;

/* Index slot: fingerprint ^ speaker key (0 = empty) -> turn and token
 * position of its latest occurrence. Key and value side by side, so a
 * probe touches one cache line. */
typedef struct idx_slot {
    uint64_t key;
    uint32_t turn;
    uint32_t pos;
} idx_slot;

/* A fingerprint of the new turn found in the index: its index in the
 * turn's list and the earlier occurrence. */
typedef struct recyc_hit {
    uint32_t f, turn, pos;
} recyc_hit;

typedef struct recyc_state {
    const lci_alloc *a;
    /* The index holds this conversation's fingerprints only: `used`
     * lists the slots filled since the last reset (in insertion order),
     * so a reset clears exactly those, and the table stays as small as
     * one conversation needs (cache-resident) however many it served. */
    idx_slot *idx;
    size_t cap, n;
    uint32_t *used;
    size_t capused;
    size_t peak;      /* most entries of a conversation since `resets` = 0 */
    uint32_t resets;  /* conversations since the last size check */
    uint32_t n_words, k, w, window, next_sweep;
    uint64_t base_k1; /* ROLL_BASE^(k-1) */
    uint64_t *sh;
    size_t capsh;
    /* fingerprints: hashes and token positions in two arrays (the
     * winnowing loop addresses both by a scaled index), each with its
     * own capacity: a failed grow of one leaves the other grown */
    uint64_t *fph;
    uint32_t *fpp;
    size_t capfph, capfpp;
    src_rec *srcs;
    size_t capsrcs;
    recyc_hit *hits;
    size_t caphits;
} recyc_state;

static lc_status recyc_create(lc_session *s, void **out) {
    const lc_config *cfg = lci_session_config(s);
    recyc_state *r = lci_calloc(lci_session_alloc(s), 1, sizeof *r);
    uint32_t i;
    if (!r)
        return LC_ERR_NOMEM;
    r->a = lci_session_alloc(s);
    r->n_words = (uint32_t)lci_opt(cfg, LC_OPT_PASSAGE_WORDS);
    r->w = (uint32_t)lci_opt(cfg, LC_OPT_WINNOW_WINDOW);
    if (r->w > r->n_words / 2)
        r->w = r->n_words / 2;
    if (r->w < 1)
        r->w = 1;
    r->k = r->n_words - r->w + 1;
    r->window = (uint32_t)lci_opt(cfg, LC_OPT_HISTORY_TURNS);
    r->next_sweep = r->window;
    r->base_k1 = 1;
    for (i = 1; i < r->k; i++)
        r->base_k1 *= ROLL_BASE;
    *out = r;
    return LC_OK;
}

static void recyc_destroy(void *st, const lci_alloc *a) {
    recyc_state *r = st;
    if (!r)
        return;
    lci_free(a, r->idx);
    lci_free(a, r->used);
    lci_free(a, r->sh);
    lci_free(a, r->fph);
    lci_free(a, r->fpp);
    lci_free(a, r->srcs);
    lci_free(a, r->hits);
    lci_free(a, r);
}

/* Scratch entries kept between conversations (larger is freed). */
#define RECYC_KEEP ((size_t)1 << 16)
/* Index slots kept between conversations (a huge conversation's larger
 * table is freed), and the first table's size (8 KiB). */
#define RECYC_IDX_KEEP ((size_t)1 << 15)
#define RECYC_IDX_MIN ((size_t)1 << 9)
/* Conversations between two checks of the table's size. */
#define RECYC_IDX_CHECK 16

static void idx_clear(recyc_state *r) {
    size_t i;
    for (i = 0; i < r->n; i++)
        r->idx[r->used[i]].key = 0;
    r->n = 0;
}

static lc_status recyc_reset(void *st, lc_session *s) {
    recyc_state *r = st;
    (void)s;
    /* every RECYC_IDX_CHECK conversations: a table more than four times
     * what the busiest of them needed is given up (the next reserve
     * makes one to measure), so one long conversation does not spread
     * all later short ones over a table that no cache holds */
    if (r->n > r->peak)
        r->peak = r->n;
    if (++r->resets >= RECYC_IDX_CHECK) {
        size_t want = RECYC_IDX_MIN;
        while (want < 2 * r->peak)
            want *= 2;
        if (r->cap > 4 * want && r->cap > RECYC_IDX_MIN)
            r->cap = RECYC_IDX_KEEP + 1; /* freed just below */
        r->resets = 0;
        r->peak = 0;
    }
    if (r->cap > RECYC_IDX_KEEP) { /* a huge conversation's table */
        lci_free(r->a, r->idx);
        lci_free(r->a, r->used);
        r->idx = NULL;
        r->used = NULL;
        r->cap = r->n = r->capused = 0;
    } else if (r->idx) {
        idx_clear(r);
    }
    r->next_sweep = r->window;
    if (r->capsh > RECYC_KEEP || r->capfph > RECYC_KEEP ||
        r->capfpp > RECYC_KEEP || r->caphits > RECYC_KEEP) {
        lci_free(r->a, r->sh);
        lci_free(r->a, r->fph);
        lci_free(r->a, r->fpp);
        lci_free(r->a, r->hits);
        r->sh = NULL;
        r->fph = NULL;
        r->fpp = NULL;
        r->hits = NULL;
        r->capsh = r->capfph = r->capfpp = r->caphits = 0;
    }
    return LC_OK;
}

static size_t idx_home(uint64_t key, size_t cap) {
    /* keys are mixed hashes already (see the probe loop) */
    return (size_t)(key ^ (key >> 32)) & (cap - 1);
}

/* Rebuild the index with `cap` slots, keeping the entries whose turn is
 * at least `lo` (in their insertion order, so `used` stays in it). */
static lc_status idx_rebuild(recyc_state *r, size_t cap, uint32_t lo) {
    idx_slot *t = lci_calloc(r->a, cap, sizeof *t);
    uint32_t *u = lci_malloc(r->a, (cap / 2) * sizeof *u);
    size_t i, n = 0;
    if (!t || !u) {
        lci_free(r->a, t);
        lci_free(r->a, u);
        return LC_ERR_NOMEM;
    }
    for (i = 0; i < r->n; i++) {
        const idx_slot *e = &r->idx[r->used[i]];
        size_t j;
        if (e->turn < lo)
            continue;
        for (j = idx_home(e->key, cap); t[j].key; j = (j + 1) & (cap - 1))
            ;
        t[j] = *e;
        u[n++] = (uint32_t)j;
    }
    lci_free(r->a, r->idx);
    lci_free(r->a, r->used);
    r->idx = t;
    r->used = u;
    r->cap = cap;
    r->capused = cap / 2;
    r->n = n;
    return LC_OK;
}

/* Room for `need` entries in all (load factor <= 1/2). */
static lc_status idx_reserve(recyc_state *r, size_t need) {
    size_t cap = r->cap ? r->cap : RECYC_IDX_MIN;
    if (2 * need <= r->cap)
        return LC_OK;
    while (cap < 2 * need)
        cap *= 2;
    return idx_rebuild(r, cap, 0);
}

/* Drop entries that left the history window, shrinking the table to
 * what is left (but not below the first size). */
static lc_status idx_sweep(recyc_state *r, uint32_t lo) {
    size_t i, live = 0, cap = RECYC_IDX_MIN;
    if (!r->cap)
        return LC_OK;
    for (i = 0; i < r->n; i++)
        live += r->idx[r->used[i]].turn >= lo;
    while (cap < 2 * live + 2)
        cap *= 2;
    return idx_rebuild(r, cap, lo);
}

/* Winnowed fingerprints of t into r->fph / r->fpp; returns their
 * number. */
static lc_status fingerprints(recyc_state *r, const lci_turn *t,
                              size_t *nfp) {
    const lci_token *tk = t->tokens;
    uint32_t ntok = t->ntokens, k = r->k, w = r->w, nsh = ntok - k + 1;
    uint32_t i, j, best, last, lim;
    uint64_t h = 0, x, bestv, *sh;
    const uint64_t b = r->base_k1;
    size_t cap = r->capsh, nf;
    uint64_t *fph;
    uint32_t *fpp;
    lc_status st;
    if (nsh > cap) {
        st = lci_grow(r->a, (void **)&r->sh, sizeof *r->sh, &cap, nsh);
        if (st != LC_OK)
            return st;
        r->capsh = cap;
    }
    /* at most one fingerprint per window position (+1: the branch-free
     * winnowing writes one past the last kept one) */
    if (nsh + 1 > r->capfph || nsh + 1 > r->capfpp) {
        st = lci_grow(r->a, (void **)&r->fph, sizeof *r->fph, &r->capfph,
                      (size_t)nsh + 1);
        if (st != LC_OK)
            return st;
        st = lci_grow(r->a, (void **)&r->fpp, sizeof *r->fpp, &r->capfpp,
                      (size_t)nsh + 1);
        if (st != LC_OK)
            return st;
    }
    sh = r->sh;
    fph = r->fph;
    fpp = r->fpp;
    /* Two tight passes (one loop doing both ran out of registers): the
     * shingle hashes, rolling, then winnowing: for every window of w
     * shingles ending at i select the rightmost minimum. A turn with
     * fewer than w shingles is one window. */
    for (i = 0; i < k; i++)
        h = h * ROLL_BASE + tk[i].hash;
    sh[0] = lci_mix64(h);
    {
        /* two shingles per round (half the loop overhead); the token
         * entering is k after the one leaving */
        const lci_token *out = tk, *end = tk + (nsh - 1);
        uint64_t *o = sh + 1;
        for (; end - out >= 2; out += 2, o += 2) {
            h = (h - out[0].hash * b) * ROLL_BASE + out[k].hash;
            o[0] = lci_mix64(h);
            h = (h - out[1].hash * b) * ROLL_BASE + out[k + 1].hash;
            o[1] = lci_mix64(h);
        }
        if (out < end) {
            h = (h - out->hash * b) * ROLL_BASE + out[k].hash;
            *o = lci_mix64(h);
        }
    }
    bestv = sh[0];
    best = 0;
    lim = nsh < w ? nsh : w;
    for (i = 1; i < lim; i++)
        if (sh[i] <= bestv) {
            best = i;
            bestv = sh[i];
        }
    fph[0] = bestv;
    fpp[0] = best;
    nf = 1;
    last = best;
    if (w == 4 && nsh > 4) {
        /* the default window, branch-free: the rightmost minimum of the
         * pair (i-1, i) is P(i), and of the window i-3..i it is P(i) if
         * P(i) <= P(i-2), else P(i-2) (ties go right) */
        uint64_t v1, v2, v3, v4, pv, hv;
        uint32_t q1, q2, q3, q4, pq;
        v2 = sh[2] <= sh[1] ? sh[2] : sh[1]; /* P(2) */
        q2 = sh[2] <= sh[1] ? 2 : 1;
        v1 = sh[3] <= sh[2] ? sh[3] : sh[2]; /* P(3) */
        q1 = sh[3] <= sh[2] ? 3 : 2;
        x = sh[3];
/* (hv, best) = pv <= ov ? (pv, pq) : (ov, oq). Both by conditional
 * moves: written as C, gcc turned the second of each round's position
 * selections into a branch, which goes either way at random (or, as
 * masks, cost four more instructions per shingle). */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(LCI_NO_SIMD)
#define RECYC_PICK(pv, pq, ov, oq, hv, best)                                 \
    do {                                                                     \
        hv = ov;                                                             \
        best = oq;                                                           \
        __asm__("cmpq %[o], %[p]\n\t"                                        \
                "cmovbeq %[p], %[h]\n\t"                                     \
                "cmovbel %[pi], %[b]"                                        \
                : [h] "+&r"(hv), [b] "+&r"(best)                             \
                : [p] "r"(pv), [o] "r"(ov), [pi] "r"(pq)                     \
                : "cc");                                                     \
    } while (0)
#else
#define RECYC_PICK(pv, pq, ov, oq, hv, best)                                 \
    do {                                                                     \
        uint32_t m_ = (uint32_t)0 - (uint32_t)(pv <= ov);                    \
        hv = pv <= ov ? pv : ov;                                             \
        best = oq + ((pq - oq) & m_);                                        \
    } while (0)
#endif
#define RECYC_W4_STEP(pv, pq, ov, oq, i)                                     \
    do {                                                                     \
        uint64_t y = sh[i];                                                  \
        bool c = y <= x;                                                     \
        pv = c ? y : x; /* P(i) */                                           \
        pq = (i) - 1 + c;                                                    \
        x = y;                                                               \
        RECYC_PICK(pv, pq, ov, oq, hv, best);                                \
        fph[nf] = hv; /* written always, kept if new */                      \
        fpp[nf] = best;                                                      \
        nf += last < best; /* best never decreases: a carry, no setne */     \
        last = best;                                                         \
    } while (0)
        /* v2 = P(i-2), v1 = P(i-1); four shingles per round, after
         * which the same names hold the same roles again */
        for (i = 4; i + 3 < nsh; i += 4) {
            RECYC_W4_STEP(v3, q3, v2, q2, i);
            RECYC_W4_STEP(v4, q4, v1, q1, i + 1);
            RECYC_W4_STEP(v2, q2, v3, q3, i + 2);
            RECYC_W4_STEP(v1, q1, v4, q4, i + 3);
        }
        for (; i < nsh; i++) {
            RECYC_W4_STEP(pv, pq, v2, q2, i);
            v2 = v1;
            q2 = q1;
            v1 = pv;
            q1 = pq;
        }
#undef RECYC_W4_STEP
#undef RECYC_PICK
    } else if (w <= RECYC_SCAN_W) {
        /* small windows: the minimum of each window is found again from
         * scratch, by masks (which way a branch goes is random) */
        for (i = w; i < nsh; i++) {
            best = i + 1 - w;
            bestv = sh[best];
            for (j = best + 1; j <= i; j++) {
                uint64_t m = (uint64_t)0 - (uint64_t)(sh[j] <= bestv);
                best ^= (best ^ j) & (uint32_t)m;
                bestv ^= (bestv ^ sh[j]) & m;
            }
            fph[nf] = bestv; /* written always, kept if new */
            fpp[nf] = best;
            nf += last < best; /* best never decreases */
            last = best;
        }
    } else {
        /* large windows: the minimum is only searched again when it has
         * left the window, O(1) amortized per shingle */
        for (i = w; i < nsh; i++) {
            x = sh[i];
            if (best + w <= i) { /* the minimum left the window */
                best = i + 1 - w;
                bestv = sh[best];
                for (j = best + 1; j <= i; j++)
                    if (sh[j] <= bestv) {
                        best = j;
                        bestv = sh[j];
                    }
            } else if (x <= bestv) {
                best = i;
                bestv = x;
            }
            if (best != last) {
                fph[nf] = bestv;
                fpp[nf] = best;
                nf++;
                last = best;
            }
        }
    }
    *nfp = nf;
    return LC_OK;
}

static src_rec *src_for(recyc_state *r, size_t *nsrc, uint32_t turn) {
    size_t i, cap = r->capsrcs;
    for (i = 0; i < *nsrc; i++)
        if (r->srcs[i].turn == turn)
            return &r->srcs[i];
    if (lci_grow(r->a, (void **)&r->srcs, sizeof *r->srcs, &cap,
                 *nsrc + 1) != LC_OK)
        return NULL;
    r->capsrcs = cap;
    memset(&r->srcs[*nsrc], 0, sizeof r->srcs[*nsrc]);
    r->srcs[*nsrc].turn = turn;
    return &r->srcs[(*nsrc)++];
}

/* Does [a0, a1) of t hold a complete sentence (from a sentence start up
 * to the next one, or to the end of the turn)? O(a1 - a0). */
static bool has_sentence(const lci_turn *t, uint32_t a0, uint32_t a1) {
    uint32_t i = a0, j;
    while (i < a1 && !(t->tokens[i].flags & LCI_TOK_SENT_START))
        i++;
    if (i >= a1)
        return false;
    for (j = i + 1; j < a1 && !(t->tokens[j].flags & LCI_TOK_SENT_START); j++)
        ;
    if (j < a1)
        return true; /* [i, j) is a whole sentence */
    /* the sentence starting at i is complete iff it ends exactly at a1 */
    return a1 == t->ntokens || (t->tokens[a1].flags & LCI_TOK_SENT_START);
}

static int src_cmp(const void *pa, const void *pb) {
    const src_rec *a = pa, *b = pb;
    return a->turn < b->turn ? -1 : a->turn > b->turn;
}

static lc_status report(recyc_state *r, lc_session *s, const lci_turn *t,
                        const src_rec *src) {
    lci_finding *f;
    uint32_t n = t->pub.index, at = src->longest_at, i;
    lc_status st = lci_session_new_finding(s, LC_KIND_RECYCLED_PASSAGE, &f);
    if (st != LC_OK)
        return st;
    /* excerpt from the first sentence start inside the longest passage */
    for (i = at; i < src->longest_at + src->longest; i++)
        if (t->tokens[i].flags & LCI_TOK_SENT_START) {
            at = i;
            break;
        }
    if ((st = lci_finding_add_turn(s, f, src->turn)) != LC_OK ||
        (st = lci_finding_add_turn(s, f, n)) != LC_OK ||
        (st = lci_detect_set_speaker(s, f, t)) != LC_OK ||
        (st = lci_detect_excerpt(s, f, t, at)) != LC_OK)
        return st;
    f->pub.words = src->words;
    f->pub.share = t->ntokens ? (double)src->words / t->ntokens : 0.0;
    f->pub.score = src->longest >= 2 * r->n_words
                       ? 1.0
                       : (double)src->longest / (2.0 * r->n_words);
    f->pub.evidence = src->evidence;
    lci_finding_set_span(s, f, src->turn, n);
    lci_session_mark_looped(s, n);
    lci_session_touch(s, f);
    return LC_OK;
}

/* One probe per fingerprint of turn n (r->fph / r->fpp, nfp of them;
 * room for nfp hits in r->hits): record the turn's occurrence (the
 * first position within a turn is kept), and list the fingerprints
 * that an earlier turn had, with that occurrence. Returns their number.
 * A function of its own with the table in locals (its stores could
 * alias r's fields), so that the loop keeps everything in registers. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static size_t probe_index(recyc_state *r, size_t nfp, uint64_t spk,
                          uint32_t n) {
    idx_slot *idx = r->idx;
    uint32_t *used = r->used;
    const uint64_t *fph = r->fph;
    const uint32_t *fpp = r->fpp;
    recyc_hit *hits = r->hits;
    size_t mask = r->cap - 1, nused = r->n, nhits = 0, f;
    for (f = 0; f < nfp; f++) {
        idx_slot *e;
        uint32_t j;
        /* fingerprints are mixed already, and XOR with the speaker key
         * is a bijection: no further mixing needed for the key (0 marks
         * an empty slot, so a real 0 is stored as another constant) */
        uint64_t key = fph[f] ^ spk;
        if (!key)
            key = RECYC_ZERO_KEY;
        for (j = (uint32_t)idx_home(key, mask + 1);
             idx[j].key && idx[j].key != key; j = (j + 1) & mask)
            ;
        e = &idx[j];
        if (!e->key) { /* first occurrence in this conversation */
            e->key = key;
            e->turn = n;
            e->pos = fpp[f];
            used[nused++] = j;
            continue;
        }
        if (e->turn == n)
            continue; /* seen earlier in this turn */
        hits[nhits].f = (uint32_t)f;
        hits[nhits].turn = e->turn;
        hits[nhits].pos = e->pos;
        nhits++;
        e->turn = n;
        e->pos = fpp[f];
    }
    r->n = nused;
    return nhits;
}

static lc_status recyc_on_turn(void *st, lc_session *s, const lci_turn *t) {
    recyc_state *r = st;
    uint32_t n = t->pub.index, ntok = t->ntokens;
    uint32_t lo = n >= r->window ? n - r->window + 1 : 1;
    uint64_t spk, words = 0;
    size_t nfp = 0, nsrc = 0, f, nhits, hi;
    const recyc_hit *hits;
    const uint64_t *fph;
    const uint32_t *fpp;
    const lci_turn *from;
    lc_status rc;
    if (n >= r->next_sweep) {
        r->next_sweep = n + r->window;
        if ((rc = idx_sweep(r, lo)) != LC_OK)
            return rc;
    }
    if (t->pub.role == LC_ROLE_TOOL || lci_turn_is_call(t) ||
        ntok < r->n_words)
        return LC_OK;
    spk = lci_session_speaker_key(s, t);
    if ((rc = fingerprints(r, t, &nfp)) != LC_OK)
        return rc;
    /* room in the index and in hits for every fingerprint */
    if ((rc = idx_reserve(r, r->n + nfp)) != LC_OK)
        return rc;
    if (nfp > r->caphits) {
        size_t c = r->caphits;
        if ((rc = lci_grow(r->a, (void **)&r->hits, sizeof *r->hits, &c,
                           nfp)) != LC_OK)
            return rc;
        r->caphits = c;
    }
    /* first the index alone, then the fingerprints it had seen in an
     * earlier turn, in the same order */
    nhits = probe_index(r, nfp, spk, n);
    fph = r->fph;
    fpp = r->fpp;
    hits = r->hits;
    for (hi = 0; hi < nhits; hi++) {
        const lci_turn *src;
        src_rec *rec;
        uint32_t ti = hits[hi].turn, pi = hits[hi].pos, a, b, back, fwd, j;
        f = hits[hi].f;
        if (ti < lo)
            continue; /* out of the window */
        if (!(src = lci_session_turn(s, ti)))
            continue;
        if (src->pub.hash == t->pub.hash || pi + r->k > src->ntokens)
            continue;
        if (!(rec = src_for(r, &nsrc, ti)))
            return LC_ERR_NOMEM;
        a = fpp[f];
        b = pi;
        if (a < rec->cover_end)
            continue;
        for (j = 0; j < r->k; j++) /* verify: no hash collision */
            if (t->tokens[a + j].hash != src->tokens[b + j].hash)
                break;
        if (j < r->k)
            continue;
        back = 0;
        while (a - back > rec->cover_end && b - back > 0 &&
               t->tokens[a - back - 1].hash == src->tokens[b - back - 1].hash)
            back++;
        fwd = r->k;
        while (a + fwd < ntok && b + fwd < src->ntokens &&
               t->tokens[a + fwd].hash == src->tokens[b + fwd].hash)
            fwd++;
        rec->cover_end = a + fwd;
        if (back + fwd >= r->n_words &&
            (back + fwd >= 2 * r->n_words ||
             has_sentence(t, a - back, a + fwd))) {
            rec->words += back + fwd;
            if (back + fwd > rec->longest) {
                rec->longest = back + fwd;
                rec->longest_at = a - back;
                rec->evidence = fph[f];
            }
        }
    }

    if (nsrc > 1)
        qsort(r->srcs, nsrc, sizeof *r->srcs, src_cmp);
    for (f = 0; f < nsrc; f++) {
        if (!r->srcs[f].words ||
            !(from = lci_session_turn(s, r->srcs[f].turn)))
            continue;
        /* the same words (up to punctuation/emoji): recurring_turn's */
        if (!words)
            words = lci_session_words_key(s, t);
        if (lci_session_words_key(s, from) == words)
            continue;
        if ((rc = report(r, s, t, &r->srcs[f])) != LC_OK)
            return rc;
    }
    return LC_OK;
}

const lci_detector_vt lci_detect_recycled = {
    "recycled_passage", LC_KIND_RECYCLED_PASSAGE, recyc_create, recyc_on_turn,
    NULL,               recyc_destroy,    recyc_reset,
};
