/*
 * detect_recurring.c - recurring_turn: the same normalized turn from the
 * same speaker (role + speaker label) coming back non-consecutively, as
 * chat bots do when they re-ask "what do you do for a living?".
 *
 * "The same turn" means the same sequence of word tokens of the
 * normalized text (lci_turn_words_hash): punctuation, emoji and spacing
 * are ignored, because chat bots decorate a repeated line with a random
 * emoji ("I like to shop" / "I like to shop :)"). Tool calls are compared
 * on their canonical calls (see Agents).
 *
 * Rule (see also LC_OPT_RECUR_* in loopcheck.h):
 *  - An occurrence is counted unless it merely continues a cycle: with d
 *    the distance to the previous occurrence of the same turn, if d <=
 *    LC_OPT_MAX_PERIOD and each of the d turns ending here is identical
 *    or a near-duplicate (the near_duplicate_loop rule,
 *    lci_turn_similarity) of the turn d before it, the conversation since
 *    the last occurrence repeated itself - that is exact_loop's or
 *    near_duplicate_loop's business (they report it from
 *    LC_OPT_MIN_REPEATS repetitions on) and is not counted here. So in the seed's refusal loop R U R U R U ... only the
 *    first two refusals count, and recurring_turn stays quiet there.
 *    Occurrences back to back (d = 1) are therefore never counted twice.
 *  - The finding is made when LC_OPT_RECUR_MIN occurrences are counted
 *    within the history window; a turn with fewer than
 *    LC_OPT_RECUR_SHORT_WORDS words ("ok", "why?", "what?") is generic and
 *    needs LC_OPT_RECUR_SHORT_MIN occurrences instead, and a turn of at
 *    least LC_OPT_PASSAGE_WORDS words LC_OPT_RECUR_LONG_MIN (default 2):
 *    a paragraph said again word for word is a recycled passage, and
 *    recycled_passage leaves identical turns to this rule, so with 3 a
 *    bot repeating a 14-word line once got no finding at all while the
 *    same line inside a longer turn was one (measured on ConvAI2,
 *    tests/quality). Tool calls keep the other two rules: re-running a
 *    call with the same result twice is common, not a loop. Turns
 *    without any word are ignored. Later occurrences EXTEND the finding
 *    (count grows).
 *  - A finding that only the long rule makes (fewer than LC_OPT_RECUR_MIN
 *    occurrences) is decided d turns after its last occurrence, d being
 *    that occurrence's distance to the one before (at lc_session_finish
 *    if the conversation ends first; at once if d > LC_OPT_MAX_PERIOD,
 *    which no loop can have): if the d turns then ending continue the
 *    cycle, the turn is entering a loop that exact_loop or
 *    near_duplicate_loop reports (the seed's refusal R U R U R ..., a
 *    joke told over and over), and recurring_turn stays quiet as it does
 *    with 3 occurrences once that loop has marked the turn looped; until
 *    then the decision waits d more turns at a time, and a cycle that
 *    stops, or a conversation that ends, before any loop is reported
 *    (A U A U A: 2.5 periods) leaves the finding to this rule;
 *    otherwise it reports. So a repeated paragraph is reported d turns
 *    late (or more) in a live session, and a loop's entry is never
 *    reported twice.
 *  - Agents: tool observations (role tool) are not speaker turns and are
 *    ignored. An assistant tool call is keyed on its action (the
 *    canonical calls, without the thought written around them:
 *    lci_turn_action_hash) AND its observation (the next turn if it is a tool turn: its hash, or its
 *    error signature if it looks like an error; "none" if there is no
 *    observation), so re-reading a file or re-running tests whose output
 *    changed are different occurrences, and the same call failing the same
 *    way is the same one. Calls are therefore decided one turn late (when
 *    the observation arrives, or at finish).
 *
 * Finding: first_turn/last_turn = first/latest counted occurrence, turns =
 * the counted occurrences, count = their number, evidence = words hash,
 * excerpt from the turn, score = count / (2 * needed) capped at 1. The
 * occurrences after the first are marked looped.
 *
 * Memory: a map key -> entry holding the counted occurrences inside the
 * history window; entries whose last occurrence left the window are
 * dropped every LC_OPT_HISTORY_TURNS turns. Cost per turn O(1) amortized
 * plus O(max_period) for the cycle check.
 */
#include "internal.h"

#include <string.h>

/* Occurrences kept in the entry itself (most turns occur once). */
#define RECUR_INL 4

typedef struct recur_entry {
    uint32_t *occ;      /* counted occurrences in the window, ascending:
                           inl while cap == RECUR_INL (occ NULL) */
    uint32_t inl[RECUR_INL];
    uint32_t head, n, cap;
    uint32_t last;      /* latest counted (or seen) occurrence */
    uint32_t seen_last; /* latest occurrence, counted or not */
    uint32_t next_free; /* pool index + 1 of the next free entry */
    lci_finding *f;     /* finding once reported */
} recur_entry;

/* A finding of the long rule waiting for its decision (see banner). */
typedef struct recur_defer {
    uint64_t key; /* its entry's map key (the entry may have been swept) */
    uint32_t at;  /* the occurrence that reached the count */
    uint32_t d;   /* its distance to the occurrence before */
    uint32_t due; /* turn of the decision: at + d, then d more while the
                     cycle goes on without a loop reported over it */
} recur_defer;

typedef struct recur_state {
    const lci_alloc *a;
    lci_u64map map; /* key -> pool index + 1 */
    /* entries in one array (no allocation per distinct turn), emptied at
     * reset; entries dropped by a sweep are reused through a free list */
    recur_entry *pool;
    size_t npool, cappool;
    uint32_t free_head; /* pool index + 1, 0 if none */
    uint32_t window, maxp, need, need_short, short_words, pct;
    uint32_t need_long, long_words;
    recur_defer *defer; /* in no particular order (decide scans all) */
    size_t ndefer, capdefer;
    lci_sketch ska, skb; /* for the cycle check */
    uint32_t pending; /* tool call waiting for its observation, 0 if none */
    uint32_t next_sweep;
} recur_state;

static lc_status recur_create(lc_session *s, void **out) {
    const lc_config *cfg = lci_session_config(s);
    recur_state *r = lci_calloc(lci_session_alloc(s), 1, sizeof *r);
    if (!r)
        return LC_ERR_NOMEM;
    r->a = lci_session_alloc(s);
    r->window = (uint32_t)lci_opt(cfg, LC_OPT_HISTORY_TURNS);
    r->maxp = (uint32_t)lci_opt(cfg, LC_OPT_MAX_PERIOD);
    r->need = (uint32_t)lci_opt(cfg, LC_OPT_RECUR_MIN);
    r->need_short = (uint32_t)lci_opt(cfg, LC_OPT_RECUR_SHORT_MIN);
    r->short_words = (uint32_t)lci_opt(cfg, LC_OPT_RECUR_SHORT_WORDS);
    r->need_long = (uint32_t)lci_opt(cfg, LC_OPT_RECUR_LONG_MIN);
    r->long_words = (uint32_t)lci_opt(cfg, LC_OPT_PASSAGE_WORDS);
    r->pct = (uint32_t)lci_opt(cfg, LC_OPT_NEAR_DUP_PERCENT);
    r->next_sweep = r->window;
    *out = r;
    return LC_OK;
}

static recur_entry *entry_at(recur_state *r, uint64_t v) {
    return v ? &r->pool[v - 1] : NULL;
}

static uint32_t *occ_of(recur_entry *e) { return e->occ ? e->occ : e->inl; }

/* Room for one more entry, so that entry_new cannot fail: taken before
 * a key goes into the map (a key inserted whose entry then could not be
 * made would stay in the map without one). */
static lc_status pool_reserve(recur_state *r) {
    size_t cap = r->cappool;
    lc_status st;
    if (r->free_head || r->npool < r->cappool)
        return LC_OK;
    st = lci_grow(r->a, (void **)&r->pool, sizeof *r->pool, &cap,
                  r->npool + 1);
    if (st != LC_OK)
        return st;
    r->cappool = cap;
    return LC_OK;
}

/* A zeroed entry (after pool_reserve); returns its map value. */
static uint64_t entry_new(recur_state *r) {
    size_t i;
    if (r->free_head) {
        i = r->free_head - 1;
        r->free_head = r->pool[i].next_free;
    } else {
        i = r->npool++;
    }
    memset(&r->pool[i], 0, sizeof r->pool[i]);
    r->pool[i].cap = RECUR_INL;
    return (uint64_t)i + 1;
}

/* Give entry v back to the pool. */
static void entry_release(recur_state *r, uint64_t v) {
    recur_entry *e = entry_at(r, v);
    if (!e)
        return;
    lci_free(r->a, e->occ);
    e->occ = NULL;
    e->next_free = r->free_head;
    r->free_head = (uint32_t)v;
}

/* Free every entry's occurrence list and empty the pool. */
static void pool_clear(recur_state *r) {
    size_t i;
    for (i = 0; i < r->npool; i++) {
        lci_free(r->a, r->pool[i].occ);
        r->pool[i].occ = NULL;
    }
    r->npool = 0;
    r->free_head = 0;
}

static void recur_destroy(void *st, const lci_alloc *a) {
    recur_state *r = st;
    if (!r)
        return;
    pool_clear(r);
    lci_free(a, r->pool);
    lci_free(a, r->defer);
    lci_u64map_free(&r->map, a);
    lci_free(a, r);
}

/* Entries kept in the pool between conversations (larger is freed). */
#define RECUR_POOL_KEEP ((size_t)1 << 12)

static lc_status recur_reset(void *st, lc_session *s) {
    recur_state *r = st;
    (void)s;
    pool_clear(r);
    if (r->cappool > RECUR_POOL_KEEP) {
        lci_free(r->a, r->pool);
        r->pool = NULL;
        r->cappool = 0;
    }
    lci_u64map_clear(&r->map, r->a, (size_t)1 << 12);
    r->ndefer = 0;
    r->pending = 0;
    r->next_sweep = r->window;
    return LC_OK;
}

typedef struct sweep_ctx {
    recur_state *r;
    uint32_t lo; /* first turn inside the window */
} sweep_ctx;

static bool keep_recent(uint64_t key, uint64_t val, void *ctx) {
    sweep_ctx *c = ctx;
    recur_entry *e = entry_at(c->r, val);
    (void)key;
    if (e && e->seen_last >= c->lo)
        return true;
    entry_release(c->r, val);
    return false;
}

/* Does turn n only continue a cycle of period d (see banner)? The d
 * turns ending at n must each be identical or near-identical
 * (lci_turn_similarity, the near_duplicate_loop rule) to the turn d
 * before them. O(d) turns, each sketched once: only when d <= maxp. */
static bool continues_cycle(recur_state *r, lc_session *s, uint32_t n,
                            uint32_t d) {
    uint32_t i;
    if (d > r->maxp || d >= n)
        return false;
    for (i = 0; i < d; i++) {
        const lci_turn *a = lci_session_turn(s, n - i);
        const lci_turn *b = lci_session_turn(s, n - d - i);
        if (!a || !b || a->pub.role != b->pub.role)
            return false;
        if (a->pub.hash == b->pub.hash)
            continue;
        lci_sketch_turn_sig(a, lci_session_errsig(s, a), &r->ska);
        lci_sketch_turn_sig(b, lci_session_errsig(s, b), &r->skb);
        if (lci_turn_similarity(a, &r->ska, b, &r->skb, r->pct) < 0)
            return false;
    }
    return true;
}

/* Is turn t under the long rule (see banner)? */
static bool long_rule(const recur_state *r, const lci_turn *t) {
    return t->ntokens >= r->short_words && t->ntokens >= r->long_words &&
           !lci_turn_is_call(t);
}

/* Occurrences turn t needs (see banner). */
static uint32_t need_of(const recur_state *r, const lci_turn *t) {
    if (t->ntokens < r->short_words)
        return r->need_short;
    if (long_rule(r, t))
        return r->need_long;
    return r->need;
}

/* Count turn `idx` (a candidate occurrence) under `key`. */
static lc_status make_finding(lc_session *s, recur_entry *e,
                              const lci_turn *t, uint32_t idx,
                              uint32_t need);

static lc_status occurrence(recur_state *r, lc_session *s, uint32_t idx,
                            uint64_t key) {
    const lci_turn *t = lci_session_turn(s, idx);
    uint32_t lo = idx >= r->window ? idx - r->window + 1 : 1, need, prev;
    uint32_t *occ;
    uint64_t *slot;
    bool created;
    recur_entry *e;
    lc_status st;
    if (!t)
        return LC_OK;
    if ((st = pool_reserve(r)) != LC_OK ||
        (st = lci_u64map_slot(&r->map, r->a, key, &slot, &created)) != LC_OK)
        return st;
    if (created)
        *slot = entry_new(r);
    e = entry_at(r, *slot);
    prev = e->seen_last;
    if (prev && continues_cycle(r, s, idx, idx - prev)) {
        e->seen_last = idx;
        return LC_OK;
    }
    e->seen_last = idx;
    /* drop occurrences that left the window */
    occ = occ_of(e);
    while (e->n && occ[e->head] < lo) {
        e->head++;
        e->n--;
    }
    if (e->head && e->head + e->n == e->cap) {
        memmove(occ, occ + e->head, e->n * sizeof *occ);
        e->head = 0;
    }
    if (e->head + e->n == e->cap) {
        size_t cap = e->cap;
        if (!e->occ) { /* leave the inline array */
            uint32_t *heap = lci_malloc(r->a, 2 * RECUR_INL * sizeof *heap);
            if (!heap)
                return LC_ERR_NOMEM;
            memcpy(heap, e->inl, sizeof e->inl);
            e->occ = heap;
            cap = 2 * RECUR_INL;
        } else {
            st = lci_grow(r->a, (void **)&e->occ, sizeof *e->occ, &cap,
                          e->head + e->n + 1);
            if (st != LC_OK)
                return st;
        }
        e->cap = (uint32_t)cap;
        occ = e->occ;
    }
    occ[e->head + e->n++] = idx;
    e->last = idx;
    if (e->f) {
        lci_finding *f = e->f;
        if ((st = lci_finding_add_turn(s, f, idx)) != LC_OK)
            return st;
        f->pub.count++;
        lci_finding_set_span(s, f, f->pub.first_turn, idx);
        need = need_of(r, t);
        f->pub.score = f->pub.count >= 2 * need
                           ? 1.0
                           : (double)f->pub.count / (2.0 * need);
        lci_session_mark_looped(s, idx);
        lci_session_touch(s, f);
        return LC_OK;
    }
    need = need_of(r, t);
    if (e->n < need)
        return LC_OK;
    if (e->n < r->need && long_rule(r, t) && prev && idx - prev <= r->maxp) {
        /* the long rule alone: decide once the cycle could go on */
        size_t cap = r->capdefer;
        if ((st = lci_grow(r->a, (void **)&r->defer, sizeof *r->defer, &cap,
                           r->ndefer + 1)) != LC_OK)
            return st;
        r->capdefer = cap;
        r->defer[r->ndefer].key = key;
        r->defer[r->ndefer].at = idx;
        r->defer[r->ndefer].d = idx - prev;
        r->defer[r->ndefer].due = idx + (idx - prev);
        r->ndefer++;
        return LC_OK;
    }
    return make_finding(s, e, t, idx, need);
}

/* Report entry e's counted occurrences (the latest is turn t = idx) as a
 * new finding. */
static lc_status make_finding(lc_session *s, recur_entry *e,
                              const lci_turn *t, uint32_t idx,
                              uint32_t need) {
    const uint32_t *occ = occ_of(e);
    uint32_t i;
    lc_status st;
    st = lci_session_new_finding(s, LC_KIND_RECURRING_TURN, &e->f);
    if (st != LC_OK)
        return st;
    for (i = 0; i < e->n; i++) {
        uint32_t o = occ[e->head + i];
        if ((st = lci_finding_add_turn(s, e->f, o)) != LC_OK)
            return st;
        if (i)
            lci_session_mark_looped(s, o);
    }
    e->f->pub.count = e->n;
    e->f->pub.evidence = lci_turn_words_hash(t);
    e->f->pub.score =
        e->n >= 2 * need ? 1.0 : (double)e->n / (2.0 * need);
    if ((st = lci_detect_set_speaker(s, e->f, t)) != LC_OK ||
        (st = lci_detect_excerpt(s, e->f, t, 0)) != LC_OK)
        return st;
    lci_finding_set_span(s, e->f, occ[e->head], idx);
    lci_session_touch(s, e->f);
    return LC_OK;
}

/* Key of a tool call decided with its observation `obs` (may be NULL). */
static uint64_t call_key(lc_session *s, const lci_turn *call,
                         const lci_turn *obs) {
    uint64_t o = 0x6f6273; /* "no observation" */
    if (obs) {
        uint64_t sig = lci_session_errsig(s, obs);
        o = sig ? sig ^ UINT64_C(0x6572726f72) : obs->pub.hash;
    }
    return lci_mix64(lci_turn_action_hash(call) ^
                     lci_session_speaker_key(s, call)) ^
           lci_mix64(o + 1);
}

static lc_status flush_pending(recur_state *r, lc_session *s,
                               const lci_turn *obs) {
    const lci_turn *call;
    uint32_t idx = r->pending;
    r->pending = 0;
    if (!idx || !(call = lci_session_turn(s, idx)))
        return LC_OK;
    return occurrence(r, s, idx, call_key(s, call, obs));
}

static lc_status sweep(recur_state *r, uint32_t n) {
    sweep_ctx c;
    r->next_sweep = n + r->window;
    c.r = r;
    c.lo = n >= r->window ? n - r->window + 1 : 1;
    return lci_u64map_retain(&r->map, r->a, keep_recent, &c);
}

/* Decide the waiting findings whose turn has come: turn n has just been
 * seen (all of them at the end of the conversation, `end`). */
static lc_status decide(recur_state *r, lc_session *s, uint32_t n, int end) {
    size_t i, kept = 0;
    lc_status st = LC_OK;
    for (i = 0; i < r->ndefer; i++) {
        recur_defer q = r->defer[i];
        const uint64_t *v;
        recur_entry *e;
        const lci_turn *t;
        if (st != LC_OK || (!end && q.due > n)) {
            r->defer[kept++] = q;
            continue;
        }
        v = lci_u64map_get(&r->map, q.key);
        e = v ? entry_at(r, *v) : NULL;
        /* gone from the window, reported by now (a third occurrence),
         * or no longer holding the count: nothing */
        if (!e || e->f || e->n < r->need_long ||
            occ_of(e)[e->head + e->n - 1] != q.at ||
            !(t = lci_session_turn(s, q.at)))
            continue;
        /* entering a loop: the loop's finding covers the turn once
         * exact_loop or near_duplicate_loop reports it (marking it
         * looped); until then, and if the cycle stops or the
         * conversation ends before any loop is reported, the turn is
         * still this rule's (A U A U A: the paragraph said three times
         * in 2.5 periods is no exact_loop) */
        if (q.due != q.at + q.d && lci_session_is_looped(s, q.at))
            continue;
        if (!end && continues_cycle(r, s, n, q.d)) {
            if (lci_session_is_looped(s, q.at))
                continue;
            q.due = n + q.d;
            r->defer[kept++] = q;
            continue;
        }
        st = make_finding(s, e, t, q.at, need_of(r, t));
    }
    r->ndefer = kept;
    return st;
}

static lc_status recur_on_turn(void *st, lc_session *s, const lci_turn *t) {
    recur_state *r = st;
    uint32_t n = t->pub.index;
    lc_status rc;
    if (r->pending) {
        rc = flush_pending(r, s, t->pub.role == LC_ROLE_TOOL ? t : NULL);
        if (rc != LC_OK)
            return rc;
    }
    if (n >= r->next_sweep && (rc = sweep(r, n)) != LC_OK)
        return rc;
    if (t->pub.role != LC_ROLE_TOOL && t->ntokens != 0) {
        if (lci_turn_is_call(t))
            r->pending = n;
        else if ((rc = occurrence(
                      r, s, n,
                      lci_mix64(lci_session_words_key(s, t) ^
                                lci_session_speaker_key(s, t)))) != LC_OK)
            return rc;
    }
    return r->ndefer ? decide(r, s, n, 0) : LC_OK;
}

static lc_status recur_finish(void *st, lc_session *s) {
    recur_state *r = st;
    lc_status rc = flush_pending(r, s, NULL);
    if (rc != LC_OK)
        return rc;
    return r->ndefer ? decide(r, s, 0, 1) : LC_OK;
}

const lci_detector_vt lci_detect_recurring = {
    "recurring_turn", LC_KIND_RECURRING_TURN, recur_create, recur_on_turn,
    recur_finish,     recur_destroy,  recur_reset,
};
