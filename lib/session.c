/*
 * session.c - one conversation's live detector state.
 *
 * Turns are pushed one at a time. Each turn is copied into a ring of the
 * last LC_OPT_HISTORY_TURNS turns (so memory per conversation is bounded
 * by the window, not the conversation), classified for refusal if it is an
 * assistant turn, and handed to every enabled detector in registry order.
 * Detectors create findings through lci_session_new_finding and signal
 * growth with lci_session_touch; both queue an event that the caller
 * drains with lc_session_next_finding. Batch analysis is exactly this
 * loop run to the end, so live and batch findings agree by construction.
 *
 * Invariants: findings are individually allocated (pointers stay valid
 * while the session lives); queue holds each finding at most once
 * (lci_finding.queued) and has room for all (capqueue >= nfind, so an
 * event is never lost to a failed allocation); ring slot of turn i
 * (1-based) is (i-1) % window and is valid iff i > nturns - window.
 */
#include "input.h" /* lci_json for lc_session_parse */

#include <stdlib.h>
#include <string.h>

enum { SLOT_OWNED = 0, SLOT_FOREIGN = 1 };

typedef struct det_slot {
    const lci_detector_vt *vt;
    void *state;
} det_slot;

/* Keys of one ring turn (lci_session_words_key & co), computed on
 * first use. */
enum { KEY_WORDS = 1, KEY_ERRSIG = 2, KEY_SPEAKER = 4 };
typedef struct turn_keys {
    uint64_t words, errsig, speaker;
    unsigned have; /* KEY_* */
} turn_keys;

struct lc_session {
    lci_ring r;       /* first: lci_session_turn (internal.h) reads it */
    const lc_config *cfg;
    const lci_alloc *alloc;
    uint32_t cap;     /* ring slots allocated: grows to window on demand, so
                         a short conversation does not pay for 512 slots.
                         Before the ring wraps every position is < n <= cap,
                         so growing never moves a turn. */
    uint8_t *looped;  /* ring of flags, same indexing */
    uint8_t *foreign; /* ring of flags: SLOT_OWNED (0: the slot owns
                         what it points to, if anything) or SLOT_FOREIGN
                         (nothing to free: a shallow copy of a turn that a
                         conversation owns, lci_session_push_borrowed, or
                         a slot emptied by a reset) */
    turn_keys *keys;  /* ring of per-turn keys, same indexing */
    lci_finding **findings;
    size_t nfind, capfind;
    lci_finding **queue;
    size_t qhead, qlen, capqueue;
    uint8_t *reported; /* per finding id: 1 once a NEW event was returned */
    size_t capreported;
    det_slot *dets;
    size_t ndets;
    int classify; /* a refusal kind is enabled: classify assistant turns */
    int finished;
    int has_err;
    lci_err err;
    lci_json *json; /* lc_session_parse's parser, made on first use */
};

static inline uint32_t ring_pos(const lc_session *s, uint32_t i) {
    return lci_ring_pos(&s->r, i);
}

/* Record an error: message is `what` followed by `name`. */
static void session_error(lc_session *s, lc_status st, const char *what,
                          const char *name) {
    /* no source name: nothing to copy, so this cannot fail */
    (void)lci_err_set(&s->err, s->alloc, st, LC_SEVERITY_ERROR, NULL, 0, 0,
                      0, (int64_t)s->r.n, "%s%s", what, name);
    s->has_err = 1;
}

lc_status lc_session_new(const lc_config *cfg, lc_session **out) {
    lc_session *s;
    const lci_alloc *a;
    size_t i, nreg = 0;
    int64_t kinds;
    lc_status st;
    if (!cfg || !out)
        return LC_ERR_INVALID_ARG;
    *out = NULL;
    a = &cfg->alloc;
    s = lci_calloc(a, 1, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    s->cfg = lci_config_ref(cfg);
    s->alloc = a;
    s->r.window = (uint32_t)lci_opt(cfg, LC_OPT_HISTORY_TURNS);
    s->r.wmask =
        (s->r.window & (s->r.window - 1)) == 0 ? s->r.window - 1 : 0;
    s->cap = s->r.window < 16 ? s->r.window : 16;
    s->r.turns = lci_calloc(a, s->cap, sizeof *s->r.turns);
    s->looped = lci_calloc(a, s->cap, 1);
    s->foreign = lci_calloc(a, s->cap, 1);
    s->keys = lci_calloc(a, s->cap, sizeof *s->keys);
    while (lci_detectors[nreg])
        nreg++;
    s->dets = lci_calloc(a, nreg ? nreg : 1, sizeof *s->dets);
    if (!s->r.turns || !s->looped || !s->foreign || !s->keys || !s->dets) {
        lc_session_free(s);
        return LC_ERR_NOMEM;
    }
    kinds = lci_opt(cfg, LC_OPT_KINDS);
    s->classify = (kinds & ((INT64_C(1) << LC_KIND_REFUSAL) |
                            (INT64_C(1) << LC_KIND_REFUSAL_LOOP) |
                            (INT64_C(1) << LC_KIND_REFUSAL_ONSET))) != 0;
    for (i = 0; i < nreg; i++) {
        const lci_detector_vt *vt = lci_detectors[i];
        if (!(kinds & (INT64_C(1) << vt->kind)))
            continue;
        s->dets[s->ndets].vt = vt;
        st = vt->create ? vt->create(s, &s->dets[s->ndets].state) : LC_OK;
        if (st != LC_OK) {
            lc_session_free(s);
            return st;
        }
        s->ndets++;
    }
    *out = s;
    return LC_OK;
}

void lci_finding_free(lci_finding *f, const lci_alloc *a) {
    if (!f)
        return;
    lci_free(a, f->turns);
    lci_free(a, f->excerpt);
    lci_free(a, f->families);
    lci_free(a, f->speaker);
    lci_free(a, f);
}

lc_status lc_session_parse(lc_session *s, lc_conversation *c) {
    if (!s || !c)
        return LC_ERR_INVALID_ARG;
    return lci_conv_parse(c, &s->json, s->alloc);
}

void lc_session_free(lc_session *s) {
    const lci_alloc *a;
    const lc_config *cfg;
    size_t i;
    if (!s)
        return;
    a = s->alloc;
    for (i = 0; i < s->ndets; i++)
        if (s->dets[i].vt->destroy)
            s->dets[i].vt->destroy(s->dets[i].state, a);
    lci_free(a, s->dets);
    if (s->r.turns && s->foreign)
        for (i = 0; i < s->cap; i++)
            if (s->foreign[i] == SLOT_OWNED)
                lci_turn_free(&s->r.turns[i], a);
    lci_free(a, s->r.turns);
    lci_free(a, s->looped);
    lci_free(a, s->foreign);
    lci_free(a, s->keys);
    for (i = 0; i < s->nfind; i++)
        lci_finding_free(s->findings[i], a);
    lci_free(a, s->findings);
    lci_free(a, s->queue);
    lci_free(a, s->reported);
    lci_err_clear(&s->err, a);
    lci_json_free(s->json);
    cfg = s->cfg;
    lci_free(a, s); /* a points into cfg: free before the unref */
    lci_config_unref(cfg);
}

/* Append the turn already placed in its ring slot: classify, run detectors. */
static lc_status session_run(lc_session *s, lci_turn *t) {
    size_t i;
    lc_status st;
    memset(&t->refusal, 0, sizeof t->refusal);
    t->refusal.family = -1;
    if (t->pub.role == LC_ROLE_ASSISTANT && s->classify)
        lci_refusal_classify(s->cfg, t, &t->refusal);
    s->looped[ring_pos(s, t->pub.index - 1)] = 0;
    s->keys[ring_pos(s, t->pub.index - 1)].have = 0;
    for (i = 0; i < s->ndets; i++) {
        if (!s->dets[i].vt->on_turn)
            continue;
        st = s->dets[i].vt->on_turn(s->dets[i].state, s, t);
        if (st != LC_OK) {
            session_error(s, st, "detector failed: ", s->dets[i].vt->name);
            return st;
        }
    }
    return LC_OK;
}

/* Grow the ring (turns, looped and foreign flags, keys) to hold one
 * more turn; new slots are zero. All or nothing: the four arrays share
 * s->cap, so the new ones are all made before any old one is given up
 * (growing them one by one left the grown ones with a wrong old size
 * after a later one failed). Runs at most log2(window / 16) times per
 * session. */
static lc_status ring_grow(lc_session *s) {
    uint32_t ncap = s->cap * 2 > s->r.window ? s->r.window : s->cap * 2;
    lci_turn *r = lci_calloc(s->alloc, ncap, sizeof *r);
    uint8_t *l = lci_calloc(s->alloc, ncap, 1);
    uint8_t *b = lci_calloc(s->alloc, ncap, 1);
    turn_keys *k = lci_calloc(s->alloc, ncap, sizeof *k);
    if (!r || !l || !b || !k) {
        lci_free(s->alloc, r);
        lci_free(s->alloc, l);
        lci_free(s->alloc, b);
        lci_free(s->alloc, k);
        return LC_ERR_NOMEM;
    }
    memcpy(r, s->r.turns, s->cap * sizeof *r);
    memcpy(l, s->looped, s->cap);
    memcpy(b, s->foreign, s->cap);
    memcpy(k, s->keys, s->cap * sizeof *k);
    lci_free(s->alloc, s->r.turns);
    lci_free(s->alloc, s->looped);
    lci_free(s->alloc, s->foreign);
    lci_free(s->alloc, s->keys);
    s->r.turns = r;
    s->looped = l;
    s->foreign = b;
    s->keys = k;
    s->cap = ncap;
    return LC_OK;
}

/* The checks before a push, and room in the ring: *pos receives the
 * slot of the next turn. Once the ring has wrapped, that slot holds the
 * oldest turn of the window, which leaves it only when the new turn is
 * in: it stays (r.n unchanged) until slot_run, so a push that fails
 * making its turn leaves the window whole. */
static lc_status session_slot(lc_session *s, uint32_t *pos) {
    lc_status st;
    if (!s)
        return LC_ERR_INVALID_ARG;
    if (s->finished) {
        session_error(s, LC_ERR_STATE, "push after finish", "");
        return LC_ERR_STATE;
    }
    if ((int64_t)s->r.n >= lci_opt(s->cfg, LC_OPT_MAX_TURNS)) {
        session_error(s, LC_ERR_LIMIT,
                      "more turns than max_turns in one conversation", "");
        return LC_ERR_LIMIT;
    }
    if (s->r.n >= s->cap && s->cap < s->r.window &&
        (st = ring_grow(s)) != LC_OK)
        return st;
    *pos = ring_pos(s, s->r.n);
    return LC_OK;
}

/* Empty slot pos (session_slot) for the new turn t, ready, move t in and
 * run the detectors on it. */
static lc_status slot_run(lc_session *s, uint32_t pos, const lci_turn *t,
                          uint8_t owner) {
    lci_turn *slot = &s->r.turns[pos];
    if (s->foreign[pos] == SLOT_OWNED)
        lci_turn_free(slot, s->alloc);
    s->foreign[pos] = owner;
    *slot = *t;
    slot->pub.index = ++s->r.n;
    return session_run(s, slot);
}

lc_status lc_session_push(lc_session *s, lc_role role, const char *speaker,
                          size_t speaker_len, const char *text, size_t len) {
    lci_turn t;
    size_t bad;
    uint32_t pos;
    lc_status st;
    if (!s || (!text && len) || (!speaker && speaker_len) ||
        (unsigned)role > LC_ROLE_TOOL)
        return LC_ERR_INVALID_ARG;
    if ((st = session_slot(s, &pos)) != LC_OK)
        return st;
    st = lci_turn_init(&t, s->cfg, role, speaker, speaker_len,
                       text ? text : "", len, &bad);
    if (st != LC_OK) {
        lci_turn_free(&t, s->alloc);
        return st;
    }
    return slot_run(s, pos, &t, SLOT_OWNED);
}

lc_status lc_session_push_turn(lc_session *s, const lc_turn *turn) {
    lci_turn t;
    uint32_t pos;
    lc_status st;
    if (!s || !turn)
        return LC_ERR_INVALID_ARG;
    if ((st = session_slot(s, &pos)) != LC_OK)
        return st;
    st = lci_turn_copy(&t, lci_turn_of(turn), s->alloc);
    if (st != LC_OK)
        return st; /* lci_turn_copy freed what it made */
    return slot_run(s, pos, &t, SLOT_OWNED);
}

lc_status lci_session_push_borrowed(lc_session *s, const lci_turn *turn) {
    uint32_t pos;
    lc_status st;
    if (!s || !turn)
        return LC_ERR_INVALID_ARG;
    if ((st = session_slot(s, &pos)) != LC_OK)
        return st;
    /* shallow: strings and tokens stay the caller's */
    return slot_run(s, pos, turn, SLOT_FOREIGN);
}

lc_status lci_session_reset(lc_session *s) {
    const lci_alloc *a;
    size_t i;
    uint32_t used;
    lc_status st, rc = LC_OK;
    if (!s)
        return LC_ERR_INVALID_ARG;
    a = s->alloc;
    /* only the slots that were used hold anything */
    used = s->r.n < s->r.window ? s->r.n : s->r.window;
    for (i = 0; i < used; i++) {
        if (s->foreign[i] == SLOT_OWNED)
            lci_turn_free(&s->r.turns[i], a);
        s->foreign[i] = SLOT_FOREIGN; /* nothing to free, not read again
                                        before it is written */
        s->looped[i] = 0;
    }
    for (i = 0; i < s->nfind; i++)
        lci_finding_free(s->findings[i], a);
    s->nfind = 0;
    s->qhead = s->qlen = 0;
    s->r.n = 0;
    s->finished = 0;
    if (s->has_err) {
        lci_err_clear(&s->err, a);
        s->has_err = 0;
    }
    for (i = 0; i < s->ndets; i++) {
        const lci_detector_vt *vt = s->dets[i].vt;
        if (vt->reset && (s->dets[i].state || !vt->create)) {
            st = vt->reset(s->dets[i].state, s);
        } else { /* no hook, or a failed re-create left no state */
            if (vt->destroy)
                vt->destroy(s->dets[i].state, a);
            s->dets[i].state = NULL;
            st = vt->create ? vt->create(s, &s->dets[i].state) : LC_OK;
        }
        if (st != LC_OK && rc == LC_OK)
            rc = st;
    }
    if (rc != LC_OK) {
        /* a detector without state cannot run: refuse pushes (LC_ERR_STATE)
         * until a reset succeeds */
        session_error(s, rc, "detector reset failed", "");
        s->finished = 1;
    }
    return rc;
}

lc_status lc_session_reset(lc_session *s) { return lci_session_reset(s); }

lc_status lc_session_next_finding(lc_session *s, const lc_finding **out) {
    lci_finding *f;
    if (!s || !out)
        return LC_ERR_INVALID_ARG;
    if (s->qhead == s->qlen) {
        s->qhead = s->qlen = 0;
        *out = NULL;
        return LC_END;
    }
    f = s->queue[s->qhead++];
    f->queued = 0;
    f->pub.event = s->reported[f->pub.id - 1] ? LC_EVENT_EXTENDED
                                              : LC_EVENT_NEW;
    s->reported[f->pub.id - 1] = 1;
    *out = &f->pub;
    return LC_OK;
}

static int finding_cmp(const void *pa, const void *pb) {
    const lc_finding *a = &(*(lci_finding *const *)pa)->pub;
    const lc_finding *b = &(*(lci_finding *const *)pb)->pub;
    if (a->first_turn != b->first_turn)
        return a->first_turn < b->first_turn ? -1 : 1;
    if (a->kind != b->kind)
        return a->kind < b->kind ? -1 : 1;
    if (a->last_turn != b->last_turn)
        return a->last_turn < b->last_turn ? -1 : 1;
    return a->id < b->id ? -1 : (a->id > b->id);
}

static void session_sort(lc_session *s) {
    if (s->nfind > 1)
        qsort(s->findings, s->nfind, sizeof *s->findings, finding_cmp);
}

/* The findings are put in report order here, once no detector can add
 * any, so that lc_session_finding only reads (it takes a const session,
 * which two threads may read at once). The queue of lc_session_next_finding
 * holds pointers: sorting the array does not disturb it. */
lc_status lc_session_finish(lc_session *s) {
    size_t i;
    lc_status st = LC_OK;
    if (!s)
        return LC_ERR_INVALID_ARG;
    if (s->finished)
        return LC_ERR_STATE;
    s->finished = 1;
    for (i = 0; i < s->ndets; i++) {
        if (!s->dets[i].vt->finish)
            continue;
        st = s->dets[i].vt->finish(s->dets[i].state, s);
        if (st != LC_OK) {
            session_error(s, st, "detector failed: ", s->dets[i].vt->name);
            break;
        }
    }
    session_sort(s);
    return st;
}

size_t lc_session_finding_count(const lc_session *s) {
    return s ? s->nfind : 0;
}

const lc_finding *lc_session_finding(const lc_session *s, size_t i) {
    if (!s || i >= s->nfind)
        return NULL;
    return &s->findings[i]->pub;
}

const lc_error *lc_session_error(const lc_session *s) {
    return (s && s->has_err) ? &s->err.pub : NULL;
}

lc_status lci_session_take_findings(lc_session *s, lci_finding ***out,
                                    size_t *n) {
    session_sort(s);
    *out = s->findings;
    *n = s->nfind;
    s->findings = NULL;
    s->nfind = s->capfind = 0;
    s->qhead = s->qlen = 0;
    return LC_OK;
}

/* ---- services for detectors ---- */

const lc_config *lci_session_config(const lc_session *s) { return s->cfg; }

const lci_alloc *lci_session_alloc(const lc_session *s) { return s->alloc; }

uint32_t lci_session_nturns(const lc_session *s) { return s->r.n; }

lc_status lci_session_new_finding(lc_session *s, lc_kind kind,
                                  lci_finding **out) {
    lci_finding *f;
    lc_status st;
    *out = NULL;
    st = lci_grow(s->alloc, (void **)&s->findings, sizeof *s->findings,
                  &s->capfind, s->nfind + 1);
    if (st != LC_OK)
        return st;
    st = lci_grow(s->alloc, (void **)&s->reported, 1, &s->capreported,
                  s->nfind + 1);
    if (st != LC_OK)
        return st;
    /* room to queue every finding at once: lci_session_touch then
     * never loses an event */
    st = lci_grow(s->alloc, (void **)&s->queue, sizeof *s->queue,
                  &s->capqueue, s->nfind + 1);
    if (st != LC_OK)
        return st;
    f = lci_calloc(s->alloc, 1, sizeof *f);
    if (!f)
        return LC_ERR_NOMEM;
    f->pub.id = (uint32_t)s->nfind + 1;
    f->pub.kind = kind;
    f->pub.kind_name = lc_kind_name(kind);
    f->pub.speaker = "";
    f->pub.excerpt = "";
    f->pub.family = NULL;
    f->pub.families = NULL;
    s->reported[s->nfind] = 0;
    s->findings[s->nfind++] = f;
    *out = f;
    return LC_OK;
}

void lci_session_touch(lc_session *s, lci_finding *f) {
    if (f->queued)
        return;
    if (s->qlen == s->capqueue &&
        lci_grow(s->alloc, (void **)&s->queue, sizeof *s->queue,
                 &s->capqueue, s->qlen + 1) != LC_OK) {
        /* no room to be had: the events already returned (before
         * qhead) make room, and there are some, as
         * lci_session_new_finding keeps capqueue >= nfind and f is not
         * pending */
        memmove(s->queue, s->queue + s->qhead,
                (s->qlen - s->qhead) * sizeof *s->queue);
        s->qlen -= s->qhead;
        s->qhead = 0;
        if (s->qlen == s->capqueue)
            return; /* not a finding of this session's: never */
    }
    s->queue[s->qlen++] = f;
    f->queued = 1;
}

size_t lci_session_nfindings(const lc_session *s) { return s->nfind; }

lci_finding *lci_session_finding_at(lc_session *s, size_t i) {
    return i < s->nfind ? s->findings[i] : NULL;
}

void lci_session_mark_looped(lc_session *s, uint32_t idx) {
    if (lci_session_turn(s, idx))
        s->looped[ring_pos(s, idx - 1)] = 1;
}

bool lci_session_is_looped(const lc_session *s, uint32_t idx) {
    return lci_session_turn(s, idx) && s->looped[ring_pos(s, idx - 1)];
}

uint32_t lci_session_count_looped(const lc_session *s, uint32_t lo,
                                  uint32_t hi, uint32_t *first) {
    uint32_t i, count = 0, oldest;
    *first = 0;
    if (!s->r.n)
        return 0;
    oldest = s->r.n >= s->r.window ? s->r.n - s->r.window + 1 : 1;
    if (lo < oldest)
        lo = oldest;
    if (hi > s->r.n)
        hi = s->r.n;
    for (i = lo; i <= hi; i++) {
        uint32_t l = s->looped[ring_pos(s, i - 1)];
        if (l && !*first)
            *first = i;
        count += l;
    }
    return count;
}

/* The ring's keys of t, NULL if t is not the session's ring turn. */
static turn_keys *keys_of(lc_session *s, const lci_turn *t) {
    const lci_turn *r = lci_session_turn(s, t->pub.index);
    return r == t ? &s->keys[ring_pos(s, t->pub.index - 1)] : NULL;
}

/* fn(t), computed once per ring turn: k's `bit` says whether *slot holds
 * it (no keys: a turn outside the ring, computed every time). */
static uint64_t memo_key(turn_keys *k, unsigned bit, uint64_t *slot,
                         uint64_t (*fn)(const lci_turn *),
                         const lci_turn *t) {
    if (!k)
        return fn(t);
    if (!(k->have & bit)) {
        *slot = fn(t);
        k->have |= bit;
    }
    return *slot;
}

uint64_t lci_session_words_key(lc_session *s, const lci_turn *t) {
    turn_keys *k = keys_of(s, t);
    return memo_key(k, KEY_WORDS, k ? &k->words : NULL, lci_turn_words_key,
                    t);
}

uint64_t lci_session_errsig(lc_session *s, const lci_turn *t) {
    turn_keys *k;
    if (t->pub.role != LC_ROLE_TOOL)
        return 0;
    k = keys_of(s, t);
    return memo_key(k, KEY_ERRSIG, k ? &k->errsig : NULL,
                    lci_error_signature, t);
}

uint64_t lci_session_speaker_key(lc_session *s, const lci_turn *t) {
    turn_keys *k = keys_of(s, t);
    return memo_key(k, KEY_SPEAKER, k ? &k->speaker : NULL, lci_speaker_key,
                    t);
}

/* ---- finding storage helpers ---- */

lc_status lci_finding_add_turn(lc_session *s, lci_finding *f, uint32_t t) {
    size_t n = f->pub.turn_count, i, lo = 0, hi = n;
    lc_status st;
    /* keep ascending and unique; findings append in order almost always.
     * Detectors re-add recent turns on every turn (stalled_conversation
     * re-adds its whole window), so the duplicate test must not scan the
     * list: binary search (a linear scan made long stalls quadratic). */
    if (n && f->turns[n - 1] >= t) {
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (f->turns[mid] < t)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (f->turns[lo] == t)
            return LC_OK;
    }
    st = lci_grow(s->alloc, (void **)&f->turns, sizeof *f->turns,
                  &f->capturns, n + 1);
    if (st != LC_OK)
        return st;
    i = n;
    while (i > lo && f->turns[i - 1] > t) {
        f->turns[i] = f->turns[i - 1];
        i--;
    }
    f->turns[i] = t;
    f->pub.turns = f->turns;
    f->pub.turn_count = n + 1;
    return LC_OK;
}

lc_status lci_finding_set_excerpt(lc_session *s, lci_finding *f,
                                  const char *text, size_t len) {
    size_t cut = len, i, j = 0;
    char *p;
    if (cut > 120) {
        cut = 120;
        while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
            cut--; /* never split a UTF-8 sequence */
    }
    p = lci_malloc(s->alloc, cut + 4);
    if (!p)
        return LC_ERR_NOMEM;
    for (i = 0; i < cut; i++) {
        char c = text[i];
        if (c == '\n' || c == '\r' || c == '\t')
            c = ' ';
        if (c == ' ' && j > 0 && p[j - 1] == ' ')
            continue;
        p[j++] = c;
    }
    if (cut < len) {
        memcpy(p + j, "...", 3);
        j += 3;
    }
    p[j] = '\0';
    lci_free(s->alloc, f->excerpt);
    f->excerpt = p;
    f->pub.excerpt = p;
    return LC_OK;
}

lc_status lci_finding_set_families(lc_session *s, lci_finding *f,
                                   uint64_t set) {
    lci_buf b;
    lc_status st;
    lci_buf_init(&b, s->alloc);
    st = lci_family_list(s->cfg->patterns, set, &b);
    if (st == LC_OK && (st = lci_buf_terminate(&b)) == LC_OK) {
        lci_free(s->alloc, f->families);
        f->families = lci_buf_take(&b);
        f->pub.families = f->families;
    }
    lci_buf_free(&b);
    return st;
}

lc_status lci_finding_set_span(lc_session *s, lci_finding *f,
                               uint32_t first, uint32_t last) {
    const lci_turn *a = lci_session_turn(s, first);
    const lci_turn *b = lci_session_turn(s, last);
    f->pub.first_turn = first;
    f->pub.last_turn = last;
    if (a)
        f->pub.first_line = a->pub.line;
    if (b) {
        f->pub.last_line = b->pub.line;
        f->pub.role = b->pub.role;
        if (!f->speaker && b->pub.speaker) {
            f->speaker = lci_strndup(s->alloc, b->pub.speaker,
                                     strlen(b->pub.speaker));
            if (!f->speaker)
                return LC_ERR_NOMEM;
            f->pub.speaker = f->speaker;
        }
    }
    return LC_OK;
}
