/*
 * detect_exact.c - exact_loop: a block of p consecutive turns
 * (p = 1..LC_OPT_MAX_PERIOD) repeated r >= LC_OPT_MIN_REPEATS times in a
 * row, turns compared by normalized hash AND role.
 *
 * For every period p we keep m[p], the number of consecutive turns (ending
 * at the latest one) equal to the turn p before them; the turns
 * n - m[p] - p + 1 .. n then form a run of period p. A run becomes a
 * finding the moment it holds r whole blocks (the r-th repetition
 * completes), and the finding is EXTENDED each time one more whole block
 * completes; a partial block at the end of a run is not reported.
 *
 * No duplicates:
 *  - the smallest qualifying period wins (p is tried in ascending order;
 *    a run of period p needs r*p turns, so its multiples 2p, 3p ... can
 *    only qualify later, and they stop together with p: if turn n differs
 *    from turn n-p, it also differs from n-2p, which equals n-p);
 *  - while a finding is open no other run is considered;
 *  - a new finding never starts before the end of the previous one (the
 *    run is clipped and must still hold r whole blocks);
 *  - likewise it never starts before the end of the latest
 *    near_duplicate_loop finding: that loop was certain first, and the
 *    near-dup finding is extended over verbatim repetitions
 *    (detect_neardup.c).
 * So a period-1 run inside a period-2 alternation, or the period-4 view
 * of a period-2 loop, never yields a second finding.
 *
 * A monologue of identical assistant messages is a period-1 loop. Tool
 * calls and observations are compared like any turn: the same call with
 * the same observation r times is a loop (the agent rule is satisfied
 * trivially: the observation repeats verbatim).
 *
 * Finding: period, repeats, turns = every turn of the run, role/speaker
 * and excerpt of the block's first assistant turn (else its first turn),
 * evidence = hash of the block, score 1. Every turn of the run is marked
 * looped. Cost per turn O(max_period); memory O(max_period).
 */
#include "internal.h"

#include <string.h>

typedef struct exact_state {
    uint32_t maxp, minr;
    uint32_t m[33];       /* m[p], p = 1..maxp (maxp <= 32 by bounds) */
    lci_finding *cur;     /* open finding, NULL if none */
    uint32_t cur_p;
    lc_role cur_role;     /* role of the representative turn */
    uint32_t last_end;    /* last turn of the latest finding, 0 if none */
    lci_kind_watch near;  /* near_duplicate_loop's latest finding */
} exact_state;

static lc_status exact_create(lc_session *s, void **out) {
    exact_state *e = lci_calloc(lci_session_alloc(s), 1, sizeof *e);
    const lc_config *cfg = lci_session_config(s);
    if (!e)
        return LC_ERR_NOMEM;
    e->maxp = (uint32_t)lci_opt(cfg, LC_OPT_MAX_PERIOD);
    if (e->maxp > 32)
        e->maxp = 32;
    e->minr = (uint32_t)lci_opt(cfg, LC_OPT_MIN_REPEATS);
    *out = e;
    return LC_OK;
}

static void exact_destroy(void *st, const lci_alloc *a) { lci_free(a, st); }

static lc_status exact_reset(void *st, lc_session *s) {
    exact_state *e = st;
    uint32_t maxp = e->maxp, minr = e->minr;
    (void)s;
    memset(e, 0, sizeof *e);
    e->maxp = maxp;
    e->minr = minr;
    return LC_OK;
}

/* Extend f over turns first..last (adds turns, marks them looped). */
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

static lc_status open_finding(exact_state *e, lc_session *s, uint32_t p,
                              uint32_t first, uint32_t n) {
    lci_finding *f;
    const lci_turn *rep = NULL;
    uint64_t ev = 0;
    uint32_t i;
    lc_status st = lci_session_new_finding(s, LC_KIND_EXACT_LOOP, &f);
    if (st != LC_OK)
        return st;
    for (i = first; i < first + p; i++) {
        const lci_turn *t = lci_session_turn(s, i);
        if (!t)
            continue;
        ev = lci_mix64(ev ^ t->pub.hash) + i - first;
        if (!rep || (rep->pub.role != LC_ROLE_ASSISTANT &&
                     t->pub.role == LC_ROLE_ASSISTANT))
            rep = t;
    }
    f->pub.period = p;
    f->pub.repeats = (n - first + 1) / p;
    f->pub.evidence = ev;
    f->pub.score = 1.0;
    if ((st = cover(s, f, first, n)) != LC_OK)
        return st;
    if (rep) {
        if ((st = lci_detect_set_speaker(s, f, rep)) != LC_OK ||
            (st = lci_detect_excerpt(s, f, rep, 0)) != LC_OK)
            return st;
    }
    lci_finding_set_span(s, f, first, n);
    if (rep)
        f->pub.role = rep->pub.role;
    e->cur_role = f->pub.role;
    e->cur = f;
    e->cur_p = p;
    e->last_end = n;
    lci_session_touch(s, f);
    return LC_OK;
}

static lc_status exact_on_turn(void *st, lc_session *s, const lci_turn *t) {
    exact_state *e = st;
    uint32_t n = t->pub.index, p;
    lc_status rc;
    for (p = 1; p <= e->maxp; p++) {
        const lci_turn *prev = p < n ? lci_session_turn(s, n - p) : NULL;
        /* without a branch on the comparison (it goes either way) */
        uint32_t same = prev ? (uint32_t)(prev->pub.hash == t->pub.hash) &
                                   (uint32_t)(prev->pub.role == t->pub.role)
                             : 0;
        e->m[p] = (e->m[p] + 1) & (0u - same);
    }
    if (e->cur) {
        lci_finding *f = e->cur;
        p = e->cur_p;
        if (e->m[p] > 0) {
            /* still looping: report each completed block */
            if ((n - f->pub.first_turn + 1) % p == 0) {
                if ((rc = cover(s, f, f->pub.last_turn + 1, n)) != LC_OK)
                    return rc;
                f->pub.repeats = (n - f->pub.first_turn + 1) / p;
                lci_finding_set_span(s, f, f->pub.first_turn, n);
                f->pub.role = e->cur_role; /* set_span took the last's */
                e->last_end = n;
                lci_session_touch(s, f);
            }
            return LC_OK;
        }
        e->cur = NULL;
    }
    for (p = 1; p <= e->maxp; p++) {
        uint32_t len = e->m[p] + p, start, reps, lo;
        if (e->m[p] == 0 || len < e->minr * p)
            continue;
        start = n - len + 1;
        /* a near-duplicate loop that went on verbatim is extended by
         * detect_neardup.c: its last turn is a floor like our own */
        lo = lci_latest_end(s, &e->near, LC_KIND_NEAR_DUPLICATE_LOOP);
        if (lo < e->last_end)
            lo = e->last_end;
        if (start <= lo) {
            if (lo >= n)
                continue;
            start = lo + 1;
            len = n - start + 1;
        }
        reps = len / p;
        if (reps < e->minr)
            continue;
        return open_finding(e, s, p, n - reps * p + 1, n);
    }
    return LC_OK;
}

const lci_detector_vt lci_detect_exact = {
    "exact_loop",        LC_KIND_EXACT_LOOP, exact_create, exact_on_turn,
    NULL,                exact_destroy,       exact_reset,
};
