/*
 * detect_refusal_loop.c - refusal_loop: the same refusal in at least
 * LC_OPT_REFUSAL_LOOP_MIN (default 3) consecutive assistant turns.
 *
 * "The same": a refusal continues the run when it shares a family with
 * the previous refusal of the run (families bit sets intersect) or its
 * normalized text is identical to it. Any assistant turn that does not
 * refuse ends the run; user, system and tool turns do not. A user turn
 * between two refusals of the run that contests the refusal ("I'm not in
 * crisis", "that's not what I asked"; the `pushback` pattern family, see
 * lib/patterns/pushback.lcp) counts as pushback; user turns after the
 * last refusal are counted only once another refusal extends the run.
 *
 * Finding: turns = the refusing turns, first/last_turn, count = refusals,
 * pushback, family = the most frequent primary family of the run (ties:
 * the more specific), families = union, score = share of refusals whose
 * primary family is that family, excerpt/evidence/span (in its text)
 * from the first refusal. NEW when the run reaches the minimum, EXTENDED per further
 * refusal. Turns are not marked looped: identical repeats are already
 * exact_loop's (and so stalled_conversation's) business, and a reworded
 * refusal is not a loop of text.
 *
 * Cost O(1) per turn plus O(families) per refusal; memory O(families).
 */
#include "internal.h"

#include <string.h>

typedef struct rloop_state {
    uint32_t min;
    uint32_t first, last;    /* run of refusals, 0 if none */
    uint32_t count;
    uint32_t pushback;       /* counted between refusals of the run */
    uint32_t pending;        /* contesting user turns since the last one */
    uint64_t last_fams;
    uint64_t last_hash;
    uint64_t fams_union;
    uint32_t fam_count[LCI_MAX_FAMILIES];
    uint32_t *early;         /* the run's refusals before it qualifies */
    size_t capearly;
    lci_finding *cur;
} rloop_state;

static lc_status rloop_create(lc_session *s, void **state) {
    rloop_state *r = lci_calloc(lci_session_alloc(s), 1, sizeof *r);
    if (!r)
        return LC_ERR_NOMEM;
    r->min = (uint32_t)lci_opt(lci_session_config(s), LC_OPT_REFUSAL_LOOP_MIN);
    if (r->min < 2)
        r->min = 2;
    *state = r;
    return LC_OK;
}

static void rloop_destroy(void *state, const lci_alloc *a) {
    rloop_state *r = state;
    if (r)
        lci_free(a, r->early);
    lci_free(a, state);
}

static void run_reset(rloop_state *r) {
    uint32_t min = r->min, *early = r->early;
    size_t cap = r->capearly;
    memset(r, 0, sizeof *r);
    r->min = min;
    r->early = early;
    r->capearly = cap;
}

static lc_status rloop_reset(void *state, lc_session *s) {
    (void)s;
    run_reset(state);
    return LC_OK;
}

/* Most frequent primary family of the run; ties to the more specific. */
static int run_family(const rloop_state *r, const struct lci_patterns *p) {
    int f, best = -1;
    for (f = 0; f < LCI_MAX_FAMILIES; f++) {
        if (!r->fam_count[f])
            continue;
        if (best < 0 || r->fam_count[f] > r->fam_count[best] ||
            (r->fam_count[f] == r->fam_count[best] &&
             lci_family_specificity(p, f) > lci_family_specificity(p, best)))
            best = f;
    }
    return best;
}

static lc_status update_finding(rloop_state *r, lc_session *s,
                                const lci_turn *t) {
    const lc_config *cfg = lci_session_config(s);
    lc_status st;
    int fam = run_family(r, cfg->patterns);
    lci_finding *f = r->cur;
    uint32_t i;
    if (!f) {
        const lci_turn *first;
        if ((st = lci_session_new_finding(s, LC_KIND_REFUSAL_LOOP, &f)) !=
            LC_OK)
            return st;
        r->cur = f;
        for (i = 0; i + 1 < r->count; i++)
            if ((st = lci_finding_add_turn(s, f, r->early[i])) != LC_OK)
                return st;
        first = lci_session_turn(s, r->first);
        if (first) {
            uint32_t at = first->refusal.span_start;
            f->pub.evidence = first->pub.hash;
            f->pub.span_start = first->refusal.span_start;
            f->pub.span_end = first->refusal.span_end;
            if (at > first->pub.text_len)
                at = 0;
            st = lci_finding_set_excerpt(s, f, first->pub.text + at,
                                         first->pub.text_len - at);
            if (st != LC_OK)
                return st;
        }
    }
    if ((st = lci_finding_add_turn(s, f, t->pub.index)) != LC_OK)
        return st;
    if ((st = lci_finding_set_span(s, f, r->first, r->last)) != LC_OK)
        return st;
    f->pub.count = r->count;
    f->pub.pushback = r->pushback;
    f->pub.family = lci_family_name(cfg->patterns, fam);
    f->pub.score = fam >= 0 ? (double)r->fam_count[fam] / r->count : 0.0;
    if ((st = lci_finding_set_families(s, f, r->fams_union)) != LC_OK)
        return st;
    lci_session_touch(s, f);
    return LC_OK;
}

static lc_status rloop_on_turn(void *state, lc_session *s,
                               const lci_turn *t) {
    rloop_state *r = state;
    const lci_refusal *rf = &t->refusal;
    if (t->pub.role == LC_ROLE_USER) {
        if (r->count && lci_pushback_match(lci_session_config(s), t))
            r->pending++;
        return LC_OK;
    }
    if (t->pub.role != LC_ROLE_ASSISTANT)
        return LC_OK;
    if (!rf->is_refusal) {
        run_reset(r);
        return LC_OK;
    }
    if (r->count && ((rf->families & r->last_fams) != 0 ||
                     t->pub.hash == r->last_hash)) {
        r->count++;
        r->pushback += r->pending;
    } else {
        run_reset(r);
        r->first = t->pub.index;
        r->count = 1;
    }
    r->pending = 0;
    r->last = t->pub.index;
    r->last_fams = rf->families;
    r->last_hash = t->pub.hash;
    r->fams_union |= rf->families;
    if (rf->family >= 0 && rf->family < LCI_MAX_FAMILIES)
        r->fam_count[rf->family]++;
    if (r->count < r->min) {
        lc_status st = lci_grow(lci_session_alloc(s), (void **)&r->early,
                                sizeof *r->early, &r->capearly, r->count);
        if (st != LC_OK)
            return st;
        r->early[r->count - 1] = t->pub.index;
        return LC_OK;
    }
    return update_finding(r, s, t);
}

const lci_detector_vt lci_detect_refusal_loop = {
    "refusal_loop", LC_KIND_REFUSAL_LOOP, rloop_create, rloop_on_turn, NULL,
    rloop_destroy, rloop_reset,
};
