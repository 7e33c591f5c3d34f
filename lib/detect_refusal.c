/*
 * detect_refusal.c - refusal: one finding per refusing assistant turn.
 *
 * The session classifies every assistant turn before the detectors run
 * (lci_refusal_classify -> lci_turn.refusal); this detector only turns a
 * positive classification into a finding: first_turn = last_turn = the
 * turn, family (most specific), families (all matched), partial, the
 * evidence span in the turn's original text, score, an excerpt starting
 * at the span, and evidence = the turn's hash. Findings are final at once
 * (NEW, never EXTENDED). Cost O(1) per turn, no state.
 */
#include "internal.h"

static lc_status refusal_create(lc_session *s, void **state) {
    (void)s;
    *state = NULL;
    return LC_OK;
}

static lc_status refusal_on_turn(void *state, lc_session *s,
                                 const lci_turn *t) {
    const lc_config *cfg = lci_session_config(s);
    uint32_t idx = t->pub.index;
    const lci_refusal *r = &t->refusal;
    lci_finding *f;
    lc_status st;
    (void)state;
    if (t->pub.role != LC_ROLE_ASSISTANT || !r->is_refusal)
        return LC_OK;
    if ((st = lci_session_new_finding(s, LC_KIND_REFUSAL, &f)) != LC_OK)
        return st;
    if ((st = lci_finding_set_span(s, f, idx, idx)) != LC_OK)
        return st;
    if ((st = lci_finding_add_turn(s, f, idx)) != LC_OK)
        return st;
    f->pub.family = lci_family_name(cfg->patterns, r->family);
    if ((st = lci_finding_set_families(s, f, r->families)) != LC_OK)
        return st;
    f->pub.partial = r->partial;
    f->pub.span_start = r->span_start;
    f->pub.span_end = r->span_end;
    f->pub.score = r->score;
    f->pub.count = 1;
    f->pub.evidence = t->pub.hash;
    if (r->span_start <= t->pub.text_len)
        st = lci_finding_set_excerpt(s, f, t->pub.text + r->span_start,
                                     t->pub.text_len - r->span_start);
    if (st != LC_OK)
        return st;
    lci_session_touch(s, f);
    return LC_OK;
}

static void refusal_destroy(void *state, const lci_alloc *a) {
    (void)state;
    (void)a;
}

static lc_status refusal_reset(void *state, lc_session *s) {
    (void)state;
    (void)s;
    return LC_OK;
}

const lci_detector_vt lci_detect_refusal = {
    "refusal", LC_KIND_REFUSAL, refusal_create, refusal_on_turn, NULL,
    refusal_destroy, refusal_reset,
};
