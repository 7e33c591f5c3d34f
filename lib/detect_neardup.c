/*
 * detect_neardup.c - near_duplicate_loop: a block of p consecutive turns
 * (p = 1..LC_OPT_MAX_PERIOD) repeated r >= LC_OPT_MIN_REPEATS times in a
 * row where the turns are near-duplicates of the turn p before them
 * rather than identical: the reworded "let me think" step between the
 * same failing tool call, the bot that varies one word of its answer.
 *
 * Similarity of turn x to turn y (same role required):
 *  - identical (same hash): similar;
 *  - tool observations: similar only if both look like errors of the same
 *    kind (lci_error_signature: first error-looking line, digits dropped).
 *    A changing observation - polling progress, a file re-read after an
 *    edit, test output after a fix - is never "similar": the agent rule
 *    (a repeated action counts toward a loop only when its observation
 *    repeats too) holds because every position of the block must match;
 *  - tool calls: similar only if the action is identical - the canonical
 *    calls, whatever thought is written around them (a call with other
 *    arguments is another action; a reworded "let me retry" next to the
 *    same call is the same action);
 *  - free text: Jaccard similarity of the sets of word 2-shingles (a lone
 *    word is its own shingle) >= LC_OPT_NEAR_DUP_PERCENT. Sets are
 *    summarised by one-permutation-hashing sketches of 64 bins
 *    (lci_sketch_turn): exact while no two shingles share a bin (short
 *    turns), an estimate beyond.
 *
 * Runs are tracked per period like exact_loop (smallest period first,
 * EXTENDED per completed block, no overlap with our previous finding).
 * One loop, one finding - whichever kind is certain first:
 *  - a run opens only if it holds a pair that is similar but not
 *    identical (an all-identical run is exact_loop's), and it may not
 *    overlap an exact_loop finding (exact_loop runs first; the run is
 *    clipped after the exact loop's last turn and must still hold r
 *    blocks);
 *  - once open, the finding is extended by every completed similar block,
 *    identical ones included, and exact_loop does not open a finding that
 *    overlaps it (detect_exact.c). So "really" / "really?" answered three
 *    times by the same line is one near_duplicate_loop, also when the
 *    conversation goes on repeating itself verbatim afterwards.
 *
 * Finding: period, repeats, turns, score = mean similarity of the run's
 * pairs, role/speaker/excerpt of the block's first assistant turn; all
 * turns marked looped. Cost per turn O(words) for the sketch plus
 * O(max_period * K); memory O(max_period * K).
 */
#include "internal.h"

#include <string.h>

#define RING 33 /* max_period (<= 32) + 1 */

typedef struct nd_state {
    const lci_alloc *a;
    uint32_t maxp, minr, pct;
    uint32_t m[RING];        /* run length per period (pairs) */
    uint32_t lastdiff[RING]; /* latest turn whose pair was not identical */
    double simsum[RING];     /* similarity sum over the run's pairs */
    lci_sketch ring[RING];
    lci_finding *cur;
    uint32_t cur_p;
    lc_role cur_role;
    uint32_t last_end;
    lci_kind_watch exact; /* exact_loop's latest finding */
} nd_state;

static lc_status nd_reset(void *st, lc_session *s);

static lc_status nd_create(lc_session *s, void **out) {
    const lc_config *cfg = lci_session_config(s);
    /* not calloc: the ring's sketches (16 KiB) are written before they
     * are read (a slot is used only when its index matches); nd_reset
     * sets every other field */
    nd_state *d = lci_malloc(lci_session_alloc(s), sizeof *d);
    if (!d)
        return LC_ERR_NOMEM;
    (void)nd_reset(d, s);
    d->a = lci_session_alloc(s);
    d->maxp = (uint32_t)lci_opt(cfg, LC_OPT_MAX_PERIOD);
    if (d->maxp > RING - 1)
        d->maxp = RING - 1;
    d->minr = (uint32_t)lci_opt(cfg, LC_OPT_MIN_REPEATS);
    d->pct = (uint32_t)lci_opt(cfg, LC_OPT_NEAR_DUP_PERCENT);
    *out = d;
    return LC_OK;
}

static void nd_destroy(void *st, const lci_alloc *a) {
    nd_state *d = st;
    if (!d)
        return;
    lci_free(a, d);
}

static lc_status nd_reset(void *st, lc_session *s) {
    nd_state *d = st;
    uint32_t i;
    (void)s;
    memset(d->m, 0, sizeof d->m);
    memset(d->lastdiff, 0, sizeof d->lastdiff);
    memset(d->simsum, 0, sizeof d->simsum);
    for (i = 0; i < RING; i++)
        d->ring[i].index = 0;
    d->cur = NULL;
    d->cur_p = 0;
    d->cur_role = LC_ROLE_OTHER;
    d->last_end = 0;
    memset(&d->exact, 0, sizeof d->exact);
    return LC_OK;
}

static lc_status cover(lc_session *s, lci_finding *f, uint32_t first,
                       uint32_t last) {
    uint32_t i;
    lc_status st;
    for (i = first; i <= last; i++) {
        if ((st = lci_finding_add_turn(s, f, i)) != LC_OK)
            return st;
        lci_session_mark_looped(s, i);
    }
    return LC_OK;
}

static lc_status open_finding(nd_state *d, lc_session *s, uint32_t p,
                              uint32_t first, uint32_t n) {
    lci_finding *f;
    const lci_turn *rep = NULL;
    uint32_t i;
    lc_status st = lci_session_new_finding(s, LC_KIND_NEAR_DUPLICATE_LOOP, &f);
    if (st != LC_OK)
        return st;
    for (i = first; i < first + p; i++) {
        const lci_turn *t = lci_session_turn(s, i);
        if (t && (!rep || (rep->pub.role != LC_ROLE_ASSISTANT &&
                           t->pub.role == LC_ROLE_ASSISTANT)))
            rep = t;
    }
    f->pub.period = p;
    f->pub.repeats = (n - first + 1) / p;
    f->pub.score = d->m[p] ? d->simsum[p] / d->m[p] : 0.0;
    if (rep)
        f->pub.evidence = rep->pub.hash;
    if ((st = cover(s, f, first, n)) != LC_OK)
        return st;
    if (rep && ((st = lci_detect_set_speaker(s, f, rep)) != LC_OK ||
                (st = lci_detect_excerpt(s, f, rep, 0)) != LC_OK))
        return st;
    lci_finding_set_span(s, f, first, n);
    if (rep)
        f->pub.role = rep->pub.role;
    d->cur = f;
    d->cur_p = p;
    d->cur_role = f->pub.role;
    d->last_end = n;
    lci_session_touch(s, f);
    return LC_OK;
}

static lc_status nd_on_turn(void *st, lc_session *s, const lci_turn *t) {
    nd_state *d = st;
    uint32_t n = t->pub.index, p;
    lci_sketch *cur = &d->ring[n % RING];
    lc_status rc;
    lci_sketch_turn_sig(t, lci_session_errsig(s, t), cur);
    for (p = 1; p <= d->maxp; p++) {
        const lci_turn *prev = p < n ? lci_session_turn(s, n - p) : NULL;
        const lci_sketch *ps = &d->ring[(n - p) % RING];
        /* (another role is never similar: no call for it) */
        double sim = !prev || prev->pub.role != t->pub.role
                         ? -1.0
                         : lci_turn_similarity(
                               t, cur, prev,
                               ps->index == prev->pub.index ? ps : NULL,
                               d->pct);
        if (sim < 0) {
            d->m[p] = 0;
            d->simsum[p] = 0;
            continue;
        }
        d->m[p]++;
        d->simsum[p] += sim;
        if (prev->pub.hash != t->pub.hash)
            d->lastdiff[p] = n;
    }
    if (d->cur) {
        lci_finding *f = d->cur;
        p = d->cur_p;
        if (d->m[p] > 0) {
            /* extend per completed block, identical blocks included:
             * exact_loop does not open over an open near-dup finding */
            if ((n - f->pub.first_turn + 1) % p == 0) {
                if ((rc = cover(s, f, f->pub.last_turn + 1, n)) != LC_OK)
                    return rc;
                f->pub.repeats = (n - f->pub.first_turn + 1) / p;
                f->pub.score = d->simsum[p] / d->m[p];
                lci_finding_set_span(s, f, f->pub.first_turn, n);
                f->pub.role = d->cur_role;
                d->last_end = n;
                lci_session_touch(s, f);
            }
            return LC_OK;
        }
        d->cur = NULL;
    }
    for (p = 1; p <= d->maxp; p++) {
        uint32_t len = d->m[p] + p, start, reps, floor_end;
        if (d->m[p] == 0 || len < d->minr * p)
            continue;
        start = n - len + 1;
        floor_end = lci_latest_end(s, &d->exact, LC_KIND_EXACT_LOOP);
        if (floor_end < d->last_end)
            floor_end = d->last_end;
        if (start <= floor_end) {
            if (floor_end >= n)
                continue;
            start = floor_end + 1;
            len = n - start + 1;
        }
        reps = len / p;
        if (reps < d->minr)
            continue;
        /* at least one near (not identical) pair inside the run: an
         * all-identical run is exact_loop's */
        if (d->lastdiff[p] < n - reps * p + 1 + p)
            continue;
        return open_finding(d, s, p, n - reps * p + 1, n);
    }
    return LC_OK;
}

const lci_detector_vt lci_detect_neardup = {
    "near_duplicate_loop", LC_KIND_NEAR_DUPLICATE_LOOP, nd_create, nd_on_turn,
    NULL,                  nd_destroy,          nd_reset,
};
