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
 * disjoint passages), share = words / words of the later turn, score =
 * longest passage / 2N capped at 1, excerpt = the longest passage in the
 * later turn's original text (from its first sentence start, if any).
 * The later turn is marked looped.
 *
 * Identical turns (same hash, or the same words up to punctuation and
 * emoji: lci_turn_words_hash) never form a pair: repetition of a whole
 * turn is exact_loop's (consecutive) or recurring_turn's
 * (non-consecutive) finding, so the seed's refusal loop gives none here.
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

typedef struct fp_pos {
    uint64_t h;
    uint32_t pos;
} fp_pos;

typedef struct src_rec {
    uint32_t turn;
    uint32_t cover_end; /* later-turn tokens before this are examined */
    uint32_t words;
    uint32_t longest;
    uint32_t longest_at;
    uint64_t evidence;
} src_rec;

typedef struct recyc_state {
    const lci_alloc *a;
    lci_u64map idx;
    uint32_t n_words, k, w, window, next_sweep;
    /* The index outlives conversations: entries store base + turn, and
     * base moves past every conversation at reset, so a stale entry
     * reads as "left the window" and is overwritten like a new one. The
     * table is wiped only when stale entries fill a quarter of it. */
    uint32_t base, last_n;
    uint64_t base_k1; /* ROLL_BASE^(k-1) */
    uint64_t *sh;
    size_t capsh;
    fp_pos *fps;
    size_t capfps;
    src_rec *srcs;
    size_t capsrcs;
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
    lci_u64map_free(&r->idx, a);
    lci_free(a, r->sh);
    lci_free(a, r->fps);
    lci_free(a, r->srcs);
    lci_free(a, r);
}

/* Scratch entries kept between conversations (larger is freed). */
#define RECYC_KEEP ((size_t)1 << 16)

static lc_status recyc_reset(void *st, lc_session *s) {
    recyc_state *r = st;
    (void)s;
    if (r->idx.cap > ((size_t)1 << 15))
        lci_u64map_free(&r->idx, r->a); /* a huge conversation's table */
    if (r->idx.n > r->idx.cap / 4 ||
        r->last_n >= UINT32_MAX / 2 - r->base) {
        if (r->idx.n)
            memset(r->idx.keys, 0, r->idx.cap * sizeof *r->idx.keys);
        r->idx.n = 0;
        r->base = 0;
    } else {
        r->base += r->last_n + 1;
    }
    r->last_n = 0;
    r->next_sweep = r->window;
    if (r->capsh > RECYC_KEEP || r->capfps > RECYC_KEEP) {
        lci_free(r->a, r->sh);
        lci_free(r->a, r->fps);
        r->sh = NULL;
        r->fps = NULL;
        r->capsh = r->capfps = 0;
    }
    return LC_OK;
}

static bool keep_window(uint64_t key, uint64_t val, void *ctx) {
    (void)key;
    return (uint32_t)(val >> 32) >= *(const uint32_t *)ctx;
}

/* Winnowed fingerprints of t into r->fps; returns their number. */
static lc_status fingerprints(recyc_state *r, const lci_turn *t,
                              size_t *nfp) {
    const lci_token *tk = t->tokens;
    uint32_t ntok = t->ntokens, k = r->k, w = r->w, nsh = ntok - k + 1;
    uint32_t i, j, best, last, lim;
    uint64_t h = 0, x, bestv, *sh;
    const uint64_t b = r->base_k1;
    size_t cap = r->capsh, nf;
    fp_pos *fps;
    lc_status st;
    st = lci_grow(r->a, (void **)&r->sh, sizeof *r->sh, &cap, nsh);
    if (st != LC_OK)
        return st;
    r->capsh = cap;
    /* at most one fingerprint per window position */
    cap = r->capfps;
    st = lci_grow(r->a, (void **)&r->fps, sizeof *r->fps, &cap, nsh);
    if (st != LC_OK)
        return st;
    r->capfps = cap;
    sh = r->sh;
    fps = r->fps;
    /* Shingle hashes (rolling) and winnowing in one pass: for every
     * window of w shingles ending at i select the rightmost minimum; the
     * minimum is only searched again when it has left the window, so
     * this is O(1) amortized per shingle. A turn with fewer than w
     * shingles is one window. */
    for (i = 0; i < k; i++)
        h = h * ROLL_BASE + tk[i].hash;
    sh[0] = bestv = lci_mix64(h);
    best = 0;
    lim = nsh < w ? nsh : w;
    for (i = 1; i < lim; i++) {
        h = (h - tk[i - 1].hash * b) * ROLL_BASE + tk[i - 1 + k].hash;
        sh[i] = x = lci_mix64(h);
        if (x <= bestv) {
            best = i;
            bestv = x;
        }
    }
    fps[0].h = bestv;
    fps[0].pos = best;
    nf = 1;
    last = best;
    for (i = w; i < nsh; i++) {
        h = (h - tk[i - 1].hash * b) * ROLL_BASE + tk[i - 1 + k].hash;
        sh[i] = x = lci_mix64(h);
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
            fps[nf].h = bestv;
            fps[nf].pos = best;
            nf++;
            last = best;
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

static lc_status recyc_on_turn(void *st, lc_session *s, const lci_turn *t) {
    recyc_state *r = st;
    uint32_t n = t->pub.index, ntok = t->ntokens;
    uint32_t lo = n >= r->window ? n - r->window + 1 : 1;
    uint32_t glo = r->base + lo, gn = r->base + n;
    uint64_t spk, words = 0;
    size_t nfp = 0, nsrc = 0, f;
    const lci_turn *from;
    lc_status rc;
    if (n >= r->next_sweep) {
        r->next_sweep = n + r->window;
        rc = lci_u64map_retain(&r->idx, r->a, keep_window, &glo);
        if (rc != LC_OK)
            return rc;
    }
    r->last_n = n;
    if (t->pub.role == LC_ROLE_TOOL || lci_turn_is_call(t) ||
        ntok < r->n_words)
        return LC_OK;
    spk = lci_speaker_key(t);
    if ((rc = fingerprints(r, t, &nfp)) != LC_OK)
        return rc;
    /* one probe per fingerprint: read the previous occurrence, then
     * record this turn's (the first position within a turn is kept) */
    if ((rc = lci_u64map_reserve(&r->idx, r->a, r->idx.n + nfp)) != LC_OK)
        return rc;
    for (f = 0; f < nfp; f++) {
        uint64_t *v, old;
        bool created;
        const lci_turn *src;
        src_rec *rec;
        uint32_t ti, pi, a, b, back, fwd, j;
        /* fingerprints are mixed already, and XOR with the speaker key
         * is a bijection: no further mixing needed for the map key */
        rc = lci_u64map_slot(&r->idx, r->a, r->fps[f].h ^ spk, &v,
                             &created);
        if (rc != LC_OK)
            return rc;
        old = *v;
        if (!created && (uint32_t)(old >> 32) == gn)
            continue; /* seen earlier in this turn */
        *v = ((uint64_t)gn << 32) | r->fps[f].pos;
        if (created)
            continue;
        ti = (uint32_t)(old >> 32);
        pi = (uint32_t)old;
        if (ti < glo || ti >= gn)
            continue; /* out of the window, or an earlier conversation's */
        ti -= r->base;
        if (!(src = lci_session_turn(s, ti)))
            continue;
        if (src->pub.hash == t->pub.hash || pi + r->k > src->ntokens)
            continue;
        if (!(rec = src_for(r, &nsrc, ti)))
            return LC_ERR_NOMEM;
        a = r->fps[f].pos;
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
                rec->evidence = r->fps[f].h;
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
            words = lci_turn_words_hash(t);
        if (lci_turn_words_hash(from) == words)
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
