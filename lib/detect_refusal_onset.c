/*
 * detect_refusal_onset.c - refusal_onset: the assistant refuses after
 * helping on the same topic.
 *
 * A streak is the run of helpful (non-refusing) assistant turns since the
 * start of the conversation or since the last refusal. The topic of the
 * streak is the set U of content words of its user requests and helpful
 * answers. When an assistant turn refuses after a streak of at least
 * LC_OPT_ONSET_MIN_HELPFUL (default 2) helpful turns, the refused request
 * R (content words of the latest user turn) is compared with U:
 *
 *     overlap = |R intersect U| / |R|  >=  ONSET_OVERLAP (0.25)
 *
 * means "same topic", and a finding is made. A request with fewer than
 * ONSET_MIN_WORDS (3) content words ("ok, go on", "yes please") is a
 * continuation of the topic by definition. Partial refusals count as
 * refusals. Each refusal ends the streak, so one finding per streak.
 *
 * Content words: tokens that are not numbers, not in the English
 * stopword list below, and at least 3 bytes long (CJK characters always
 * count); a plural "-s" is dropped from ASCII words longer than 4 bytes
 * ("letters" = "letter").
 *
 * Finding: first_turn = last_turn = the refusing turn, helpful = length
 * of the streak, family/families/partial/span of the refusal, score =
 * overlap (1 for a continuation), excerpt from the refusal span.
 *
 * Memory: U is a hash set of at most ONSET_MAX_TOPIC (16384) word hashes
 * (later words are ignored once full); R at most 512. Cost per turn
 * O(words) expected (a stopword check and a topic check are one hash
 * probe each; the stopword set is built once per config, stopwords.c).
 *
 * Lazy: U and R only matter when a refusal follows a long enough streak,
 * so they are built only then. The turns that join U are queued (their
 * indices, in order) and R's turn is remembered; both are materialised
 * when a refusal needs them, or earlier when the oldest queued turn is
 * about to leave the history window. Adding the same turns in the same
 * order gives the same U (including the ONSET_MAX_TOPIC cut-off), so the
 * findings are those of the eager computation.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ONSET_OVERLAP 0.25
#define ONSET_MIN_WORDS 3
#define ONSET_MAX_TOPIC 16384
#define ONSET_MAX_REQUEST 512


typedef struct onset_state {
    double overlap_min;
    uint32_t min_helpful;
    uint32_t helpful;       /* current streak */
    lci_u64map topic;       /* content-word hashes of the topic (U) */
    uint64_t *req;          /* latest user request (R), unsorted unique */
    size_t nreq, capreq;
    uint32_t req_turn;      /* its index, 0 if none */
    int req_lazy;           /* R of req_turn not computed yet */
    uint32_t window;        /* LC_OPT_HISTORY_TURNS */
    uint32_t *pend;         /* turns to add to U, in order (lazy) */
    size_t npend, cappend;
} onset_state;


static lc_status onset_create(lc_session *s, void **state) {
    const lci_alloc *a = lci_session_alloc(s);
    onset_state *o = lci_calloc(a, 1, sizeof *o);
    if (!o)
        return LC_ERR_NOMEM;
    o->min_helpful =
        (uint32_t)lci_opt(lci_session_config(s), LC_OPT_ONSET_MIN_HELPFUL);
    o->overlap_min = ONSET_OVERLAP;
    o->window =
        (uint32_t)lci_opt(lci_session_config(s), LC_OPT_HISTORY_TURNS);
    *state = o;
    return LC_OK;
}

static void onset_destroy(void *state, const lci_alloc *a) {
    onset_state *o = state;
    if (!o)
        return;
    lci_u64map_free(&o->topic, a);
    lci_free(a, o->req);
    lci_free(a, o->pend);
    lci_free(a, o);
}

static lc_status onset_reset(void *state, lc_session *s) {
    onset_state *o = state;
    lci_u64map_clear(&o->topic, lci_session_alloc(s), (size_t)1 << 15);
    o->helpful = 0;
    o->nreq = 0;
    o->req_turn = 0;
    o->req_lazy = 0;
    o->npend = 0;
    return LC_OK;
}

/* Content-word hash of token k, 0 if it is not a content word. */
static uint64_t content_word(const lc_session *s, const lci_turn *t,
                             uint32_t k) {
    const lci_token *tk = &t->tokens[k];
    const char *w = t->pub.norm + tk->off;
    size_t len = tk->len;
    if (tk->flags & LCI_TOK_NUMBER)
        return 0;
    if (!(tk->flags & LCI_TOK_CJK)) {
        if (len < 3 || lci_stopword(lci_session_config(s), tk->hash))
            return 0;
        if (len > 4 && w[len - 1] == 's' && w[len - 2] != 's' &&
            (unsigned char)w[len - 2] < 0x80) {
            uint64_t h = lci_hash(w, len - 1);
            return h ? h : 1; /* 0 marks an empty map slot */
        }
    }
    return tk->hash ? tk->hash : 1;
}

/* Add the content words of t to the topic set. */
static lc_status topic_add_turn(onset_state *o, const lc_session *s,
                                const lci_alloc *a, const lci_turn *t) {
    uint32_t k;
    lc_status st;
    for (k = 0; k < t->ntokens && o->topic.n < ONSET_MAX_TOPIC; k++) {
        uint64_t h = content_word(s, t, k), *val;
        bool created;
        if (!h)
            continue;
        if ((st = lci_u64map_slot(&o->topic, a, h, &val, &created)) != LC_OK)
            return st;
        *val = 1;
    }
    return LC_OK;
}

static lc_status request_set(onset_state *o, const lc_session *s,
                             const lci_alloc *a, const lci_turn *t) {
    uint32_t k;
    size_t i;
    lc_status st;
    o->nreq = 0;
    o->req_turn = t->pub.index;
    for (k = 0; k < t->ntokens && o->nreq < ONSET_MAX_REQUEST; k++) {
        uint64_t h = content_word(s, t, k);
        if (!h)
            continue;
        for (i = 0; i < o->nreq && o->req[i] != h; i++)
            ;
        if (i < o->nreq)
            continue;
        st = lci_grow(a, (void **)&o->req, sizeof *o->req, &o->capreq,
                      o->nreq + 1);
        if (st != LC_OK)
            return st;
        o->req[o->nreq++] = h;
    }
    return LC_OK;
}

/* Add the queued turns to U (they are all inside the window). */
static lc_status topic_flush(onset_state *o, const lc_session *s,
                             const lci_alloc *a) {
    size_t i;
    lc_status st;
    for (i = 0; i < o->npend; i++) {
        const lci_turn *t = lci_session_turn(s, o->pend[i]);
        if (t && (st = topic_add_turn(o, s, a, t)) != LC_OK)
            return st;
    }
    o->npend = 0;
    return LC_OK;
}

static lc_status topic_queue(onset_state *o, const lci_alloc *a,
                             uint32_t idx) {
    lc_status st;
    if (o->topic.n >= ONSET_MAX_TOPIC)
        return LC_OK; /* full: nothing joins any more */
    st = lci_grow(a, (void **)&o->pend, sizeof *o->pend, &o->cappend,
                  o->npend + 1);
    if (st != LC_OK)
        return st;
    o->pend[o->npend++] = idx;
    return LC_OK;
}

/* Compute R of the pending request turn (still inside the window). */
static lc_status request_now(onset_state *o, const lc_session *s,
                             const lci_alloc *a) {
    const lci_turn *t = lci_session_turn(s, o->req_turn);
    o->req_lazy = 0;
    if (!t) { /* cannot happen: computed before it leaves the window */
        o->nreq = 0;
        return LC_OK;
    }
    return request_set(o, s, a, t);
}

static lc_status report_onset(onset_state *o, lc_session *s,
                              const lci_turn *t, double score) {
    const lc_config *cfg = lci_session_config(s);
    const lci_refusal *r = &t->refusal;
    lci_finding *f;
    lc_status st;
    uint32_t at = r->span_start;
    if ((st = lci_session_new_finding(s, LC_KIND_REFUSAL_ONSET, &f)) != LC_OK)
        return st;
    if ((st = lci_finding_set_span(s, f, t->pub.index, t->pub.index)) !=
        LC_OK)
        return st;
    if ((st = lci_finding_add_turn(s, f, t->pub.index)) != LC_OK)
        return st;
    f->pub.helpful = o->helpful;
    f->pub.family = lci_family_name(cfg->patterns, r->family);
    if ((st = lci_finding_set_families(s, f, r->families)) != LC_OK)
        return st;
    f->pub.partial = r->partial;
    f->pub.span_start = r->span_start;
    f->pub.span_end = r->span_end;
    f->pub.score = score;
    f->pub.evidence = t->pub.hash;
    if (at > t->pub.text_len)
        at = 0;
    st = lci_finding_set_excerpt(s, f, t->pub.text + at,
                                 t->pub.text_len - at);
    if (st != LC_OK)
        return st;
    lci_session_touch(s, f);
    return LC_OK;
}

static lc_status onset_on_turn(void *state, lc_session *s,
                               const lci_turn *t) {
    onset_state *o = state;
    const lci_alloc *a = lci_session_alloc(s);
    uint32_t n = t->pub.index;
    lc_status st;
    /* materialise what would otherwise leave the window before use */
    if (o->npend && n + 1 - o->pend[0] >= o->window &&
        (st = topic_flush(o, s, a)) != LC_OK)
        return st;
    if (o->req_lazy && n + 1 - o->req_turn >= o->window &&
        (st = request_now(o, s, a)) != LC_OK)
        return st;
    if (t->pub.role == LC_ROLE_USER) {
        o->req_turn = n;
        o->req_lazy = 1;
        o->nreq = 0;
        return LC_OK;
    }
    if (t->pub.role != LC_ROLE_ASSISTANT)
        return LC_OK;
    if (!t->refusal.is_refusal) {
        /* helpful: the request and the answer join the topic */
        if (o->req_turn && lci_session_turn(s, o->req_turn) &&
            (st = topic_queue(o, a, o->req_turn)) != LC_OK)
            return st;
        if ((st = topic_queue(o, a, n)) != LC_OK)
            return st;
        o->helpful++;
        o->req_turn = 0;
        o->req_lazy = 0;
        o->nreq = 0;
        return LC_OK;
    }
    if (o->helpful >= o->min_helpful) {
        double score = 1.0;
        int same = 1;
        if (o->req_turn && o->req_lazy &&
            (st = request_now(o, s, a)) != LC_OK)
            return st;
        if (o->req_turn && o->nreq >= ONSET_MIN_WORDS) {
            size_t i, hit = 0;
            if ((st = topic_flush(o, s, a)) != LC_OK)
                return st;
            for (i = 0; i < o->nreq; i++)
                if (lci_u64map_get(&o->topic, o->req[i]))
                    hit++;
            score = (double)hit / (double)o->nreq;
            same = score >= o->overlap_min;
        }
        if (same && (st = report_onset(o, s, t, score)) != LC_OK)
            return st;
    }
    o->helpful = 0;
    o->req_turn = 0;
    o->req_lazy = 0;
    o->nreq = 0;
    return LC_OK;
}

const lci_detector_vt lci_detect_refusal_onset = {
    "refusal_onset", LC_KIND_REFUSAL_ONSET, onset_create, onset_on_turn,
    NULL, onset_destroy, onset_reset,
};
