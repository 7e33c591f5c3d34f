/*
 * detect_stalled.c - stalled_conversation: a summary finding when most of
 * the last K = LC_OPT_STALL_WINDOW turns are loops or recycled text.
 *
 * Rule: after every turn n >= K (this detector runs last, so the marks
 * the other detectors set for turn n - including retroactive marks such as
 * exact_loop marking a whole run at its r-th repetition - are in place),
 * count the turns of n-K+1..n marked looped (lci_session_count_looped). If
 * count * 100 >= LC_OPT_STALL_PERCENT * K the conversation is stalled at
 * n. The first stalled turn opens a finding (first_turn = first looped
 * turn of that window, turns = the looped turns); every following
 * stalled turn EXTENDS it to last_turn = n, adding newly looped turns;
 * the first turn that is not stalled closes it, and a later stall opens a
 * new finding. At finish the last window is evaluated once more (a
 * detector's finish may still mark turns). Conversations shorter than K
 * turns are never stalled: a summary needs a full window of evidence.
 *
 * The seed: its refusal loop (turns 19-32, marked by exact_loop) makes 80%
 * of the last 10 turns looping, so the seed IS a stalled conversation;
 * the finding starts at turn 15 (a recycled turn inside the first stalled
 * window, marked by recycled_passage) and runs to the last turn, 34.
 *
 * Finding: count = looped turns in the finding, score = looped share of
 * the latest stalled window, role/speaker/excerpt and evidence (its hash,
 * so equal stalls dedup and the key never changes as the finding grows)
 * from its first looped assistant turn (else its first looped turn).
 * `turns` lists the looped turns only; last_turn ends the latest stalled
 * window and need not be looped itself (doc/formats.md). Cost per turn
 * O(K); memory O(1).
 */
#include "internal.h"

typedef struct stall_state {
    uint32_t k, pct;
    lci_finding *cur;
    uint32_t rep; /* turn giving the open finding's speaker, 0 if none */
    lc_role role;
} stall_state;

static lc_status stall_create(lc_session *s, void **out) {
    const lc_config *cfg = lci_session_config(s);
    stall_state *z = lci_calloc(lci_session_alloc(s), 1, sizeof *z);
    if (!z)
        return LC_ERR_NOMEM;
    z->k = (uint32_t)lci_opt(cfg, LC_OPT_STALL_WINDOW);
    z->pct = (uint32_t)lci_opt(cfg, LC_OPT_STALL_PERCENT);
    *out = z;
    return LC_OK;
}

static void stall_destroy(void *st, const lci_alloc *a) { lci_free(a, st); }

static lc_status stall_reset(void *st, lc_session *s) {
    stall_state *z = st;
    (void)s;
    z->cur = NULL;
    z->rep = 0;
    z->role = LC_ROLE_OTHER;
    return LC_OK;
}

static lc_status evaluate(stall_state *z, lc_session *s, uint32_t n) {
    uint32_t i, count, first;
    lci_finding *f;
    lc_status rc;
    bool grew = false;
    if (n < z->k)
        return LC_OK;
    count = lci_session_count_looped(s, n - z->k + 1, n, &first);
    if ((uint64_t)count * 100 < (uint64_t)z->pct * z->k) {
        z->cur = NULL;
        return LC_OK;
    }
    f = z->cur;
    if (!f) {
        if ((rc = lci_session_new_finding(s, LC_KIND_STALLED_CONVERSATION,
                                          &f)) != LC_OK)
            return rc;
        z->cur = f;
        z->rep = 0;
        f->pub.first_turn = first;
        grew = true;
    }
    for (i = n - z->k + 1; i <= n; i++) {
        size_t before = f->pub.turn_count;
        if (!lci_session_is_looped(s, i))
            continue;
        if ((rc = lci_finding_add_turn(s, f, i)) != LC_OK)
            return rc;
        grew |= f->pub.turn_count != before;
    }
    if (f->pub.last_turn != n)
        grew = true;
    if (!grew)
        return LC_OK;
    f->pub.count = (uint32_t)f->pub.turn_count;
    f->pub.score = (double)count / z->k;
    if (!z->rep) {
        /* speaker/excerpt: the first looped assistant turn, else the
         * first looped turn */
        size_t j;
        const lci_turn *t = NULL;
        for (j = 0; j < f->pub.turn_count && !t; j++) {
            const lci_turn *c = lci_session_turn(s, f->turns[j]);
            if (c && c->pub.role == LC_ROLE_ASSISTANT)
                t = c;
        }
        if (!t)
            t = lci_session_turn(s, f->turns[0]);
        if (t && ((rc = lci_detect_set_speaker(s, f, t)) != LC_OK ||
                  (rc = lci_detect_excerpt(s, f, t, 0)) != LC_OK))
            return rc;
        if (t) {
            z->rep = t->pub.index;
            f->pub.evidence = t->pub.hash;
        }
        z->role = f->pub.role;
    }
    lci_finding_set_span(s, f, f->turns[0], n);
    f->pub.role = z->role;
    lci_session_touch(s, f);
    return LC_OK;
}

static lc_status stall_on_turn(void *st, lc_session *s, const lci_turn *t) {
    return evaluate(st, s, t->pub.index);
}

static lc_status stall_finish(void *st, lc_session *s) {
    return evaluate(st, s, lci_session_nturns(s));
}

const lci_detector_vt lci_detect_stalled = {
    "stalled_conversation", LC_KIND_STALLED_CONVERSATION, stall_create,
    stall_on_turn,          stall_finish,                 stall_destroy,
    stall_reset,
};
