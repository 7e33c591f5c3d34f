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
 * Memory: U is a sorted array of at most ONSET_MAX_TOPIC (16384) word
 * hashes (later words are ignored once full); R at most 512. Cost per turn
 * O(words * log |U|).
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#define ONSET_OVERLAP 0.25
#define ONSET_MIN_WORDS 3
#define ONSET_MAX_TOPIC 16384
#define ONSET_MAX_REQUEST 512

static const char *const stopwords[] = {
    "the", "and", "for", "are", "but", "not", "you", "your", "yours", "all",
    "any", "can", "had", "her", "was", "one", "our", "out", "has", "him",
    "his", "how", "its", "may", "new", "now", "old", "see", "two", "way",
    "who", "did", "get", "got", "let", "put", "say", "she", "too", "use",
    "that", "this", "with", "have", "from", "they", "will", "would",
    "there", "their", "what", "about", "which", "when", "make", "like",
    "just", "know", "take", "into", "year", "some", "could", "them",
    "than", "then", "also", "back", "after", "first", "well", "even",
    "want", "because", "these", "those", "give", "most", "very", "been",
    "being", "were", "does", "doing", "done", "should", "shall", "might",
    "must", "here", "where", "while", "such", "each", "other", "more",
    "much", "many", "only", "over", "same", "both", "through", "under",
    "again", "further", "once", "during", "before", "above", "below",
    "between", "off", "own", "why", "yes", "yeah", "okay", "sure",
    "please", "thanks", "thank", "really", "think", "need", "help",
    "helpful", "something", "anything", "everything", "nothing", "thing",
    "things", "going", "able", "i'm", "i've", "i'd", "i'll", "you're",
    "you've", "you'd", "you'll", "it's", "that's", "there's", "don't",
    "doesn't", "didn't", "can't", "won't", "isn't", "aren't", "wasn't",
    "let's", "what's", "myself", "yourself", "itself", "ourselves",
    "himself", "herself", "themselves", "mine", "ours", "theirs", "hers",
    "still", "though", "however", "maybe", "perhaps", "might", "lot",
    "lots", "good", "great", "right", "sounds", "sound", "start", "started",
    "way", "ways", "today", "now", "feel", "feeling", "try", "trying",
    "tell", "said", "says", "ask", "asked", "provide", "information",
};

typedef struct onset_state {
    double overlap_min;
    uint32_t min_helpful;
    uint32_t helpful;       /* current streak */
    uint64_t *stop;         /* sorted stopword hashes */
    size_t nstop;
    uint64_t *topic;        /* sorted unique content-word hashes (U) */
    size_t ntopic, captopic;
    uint64_t *req;          /* latest user request (R), unsorted unique */
    size_t nreq, capreq;
    uint32_t req_turn;      /* its index, 0 if none */
} onset_state;

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static bool in_sorted(const uint64_t *a, size_t n, uint64_t h) {
    return n && bsearch(&h, a, n, sizeof *a, cmp_u64) != NULL;
}

static lc_status onset_create(lc_session *s, void **state) {
    const lci_alloc *a = lci_session_alloc(s);
    onset_state *o = lci_calloc(a, 1, sizeof *o);
    size_t i, n = sizeof stopwords / sizeof stopwords[0];
    if (!o)
        return LC_ERR_NOMEM;
    o->min_helpful =
        (uint32_t)lci_opt(lci_session_config(s), LC_OPT_ONSET_MIN_HELPFUL);
    o->overlap_min = ONSET_OVERLAP;
    o->stop = lci_malloc(a, n * sizeof *o->stop);
    if (!o->stop) {
        lci_free(a, o);
        return LC_ERR_NOMEM;
    }
    for (i = 0; i < n; i++)
        o->stop[i] = lci_hash(stopwords[i], strlen(stopwords[i]));
    qsort(o->stop, n, sizeof *o->stop, cmp_u64);
    o->nstop = n;
    *state = o;
    return LC_OK;
}

static void onset_destroy(void *state, const lci_alloc *a) {
    onset_state *o = state;
    if (!o)
        return;
    lci_free(a, o->stop);
    lci_free(a, o->topic);
    lci_free(a, o->req);
    lci_free(a, o);
}

/* Content-word hash of token k, 0 if it is not a content word. */
static uint64_t content_word(const onset_state *o, const lci_turn *t,
                             uint32_t k) {
    const lci_token *tk = &t->tokens[k];
    const char *w = t->pub.norm + tk->off;
    size_t len = tk->len;
    if (tk->flags & LCI_TOK_NUMBER)
        return 0;
    if (!(tk->flags & LCI_TOK_CJK)) {
        if (len < 3 || in_sorted(o->stop, o->nstop, tk->hash))
            return 0;
        if (len > 4 && w[len - 1] == 's' && w[len - 2] != 's' &&
            (unsigned char)w[len - 2] < 0x80)
            return lci_hash(w, len - 1);
    }
    return tk->hash ? tk->hash : 1;
}

/* Merge the content words of t into the sorted topic set. */
static lc_status topic_add_turn(onset_state *o, const lci_alloc *a,
                                const lci_turn *t) {
    uint32_t k;
    size_t before = o->ntopic, i, j;
    lc_status st;
    for (k = 0; k < t->ntokens && o->ntopic < ONSET_MAX_TOPIC; k++) {
        uint64_t h = content_word(o, t, k);
        if (!h || in_sorted(o->topic, before, h))
            continue;
        st = lci_grow(a, (void **)&o->topic, sizeof *o->topic, &o->captopic,
                      o->ntopic + 1);
        if (st != LC_OK)
            return st;
        o->topic[o->ntopic++] = h;
    }
    if (o->ntopic == before)
        return LC_OK;
    qsort(o->topic, o->ntopic, sizeof *o->topic, cmp_u64);
    for (i = j = 0; i < o->ntopic; i++)
        if (j == 0 || o->topic[j - 1] != o->topic[i])
            o->topic[j++] = o->topic[i];
    o->ntopic = j;
    return LC_OK;
}

static lc_status request_set(onset_state *o, const lci_alloc *a,
                             const lci_turn *t) {
    uint32_t k;
    size_t i;
    lc_status st;
    o->nreq = 0;
    o->req_turn = t->pub.index;
    for (k = 0; k < t->ntokens && o->nreq < ONSET_MAX_REQUEST; k++) {
        uint64_t h = content_word(o, t, k);
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
    lc_status st;
    if (t->pub.role == LC_ROLE_USER)
        return request_set(o, a, t);
    if (t->pub.role != LC_ROLE_ASSISTANT)
        return LC_OK;
    if (!t->refusal.is_refusal) {
        /* helpful: the request and the answer join the topic */
        const lci_turn *req =
            o->req_turn ? lci_session_turn(s, o->req_turn) : NULL;
        if (req && (st = topic_add_turn(o, a, req)) != LC_OK)
            return st;
        if ((st = topic_add_turn(o, a, t)) != LC_OK)
            return st;
        o->helpful++;
        o->req_turn = 0;
        o->nreq = 0;
        return LC_OK;
    }
    if (o->helpful >= o->min_helpful) {
        double score = 1.0;
        int same = 1;
        if (o->req_turn && o->nreq >= ONSET_MIN_WORDS) {
            size_t i, hit = 0;
            for (i = 0; i < o->nreq; i++)
                if (in_sorted(o->topic, o->ntopic, o->req[i]))
                    hit++;
            score = (double)hit / (double)o->nreq;
            same = score >= o->overlap_min;
        }
        if (same && (st = report_onset(o, s, t, score)) != LC_OK)
            return st;
    }
    o->helpful = 0;
    o->req_turn = 0;
    o->nreq = 0;
    return LC_OK;
}

const lci_detector_vt lci_detect_refusal_onset = {
    "refusal_onset", LC_KIND_REFUSAL_ONSET, onset_create, onset_on_turn,
    NULL, onset_destroy,
};
