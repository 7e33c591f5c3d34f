/*
 * detect_degenerate.c - degenerate_repetition: one turn repeating itself
 * ("jobs jobs jobs ...", a 150 KB reply cycling the same sentence).
 *
 * Measure: the word 3-gram repeat ratio 1 - distinct / total over the
 * turn's prose words. It fires when the turn has at least
 * LC_OPT_DEGENERATE_MIN_WORDS prose words and the ratio is at least
 * LC_OPT_DEGENERATE_PERCENT. Ordinary prose repeats well under 10% of its
 * 3-grams; a cycle of any length c repeated m times repeats about
 * 1 - 1/m of them, so "half repeated" means the turn is mostly a copy of
 * itself.
 *
 * Prose only: the original text (t->pub.text) is read line by line and
 * lines that repeat legitimately are skipped - fenced code blocks (``` or
 * ~~~ up to the closing fence), indented code (4 spaces or a tab), list
 * items ("- ", "* ", "+ ", "1. ", "1) "), table rows (starting with '|'
 * or holding two or more '|'), and divider lines (only - = * _ ~ # and
 * blanks). Tokens are words - runs of ASCII letters/digits and
 * non-ASCII bytes (inner apostrophes kept), ASCII-lowercased - and runs
 * of other non-blank characters (punctuation, symbols), so a reply of
 * fifty ". " repeats like "jobs jobs jobs"; "words" below counts both.
 *
 * Tool observations and tool calls are not checked (logs and file dumps
 * repeat lines without any model degenerating).
 *
 * Finding: first_turn = last_turn = the turn, score = share = the repeat
 * ratio, words = prose words considered, excerpt = start of the turn. The
 * turn is marked looped. Linear time: one pass over the bytes and one
 * hash-set insert per 3-gram; scratch memory proportional to the turn
 * (released when it grows beyond 1 MiB).
 */
#include "internal.h"

#include <string.h>

#define SCRATCH_KEEP (1u << 17) /* entries kept between turns (1 MiB) */

typedef struct degen_state {
    const lci_alloc *a;
    uint32_t min_words, pct;
    uint64_t *words;
    size_t capwords;
    uint64_t *set;
    size_t capset;
} degen_state;

static lc_status degen_create(lc_session *s, void **out) {
    const lc_config *cfg = lci_session_config(s);
    degen_state *d = lci_calloc(lci_session_alloc(s), 1, sizeof *d);
    if (!d)
        return LC_ERR_NOMEM;
    d->a = lci_session_alloc(s);
    d->min_words = (uint32_t)lci_opt(cfg, LC_OPT_DEGENERATE_MIN_WORDS);
    d->pct = (uint32_t)lci_opt(cfg, LC_OPT_DEGENERATE_PERCENT);
    *out = d;
    return LC_OK;
}

static void degen_destroy(void *st, const lci_alloc *a) {
    degen_state *d = st;
    if (!d)
        return;
    lci_free(a, d->words);
    lci_free(a, d->set);
    lci_free(a, d);
}

static bool is_blank(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
           c == '\v';
}

static bool is_word_byte(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c >= 0x80;
}

/* Classify one line (without its newline). */
static bool skip_line(const char *p, size_t n, bool *in_fence) {
    size_t i = 0, bars = 0, marks = 0, other = 0, j;
    while (i < n && p[i] == ' ')
        i++;
    if (i + 3 <= n && (memcmp(p + i, "```", 3) == 0 ||
                       memcmp(p + i, "~~~", 3) == 0)) {
        *in_fence = !*in_fence;
        return true;
    }
    if (*in_fence)
        return true;
    if (i >= 4 || (n && p[0] == '\t'))
        return true; /* indented code */
    if (i + 1 < n && (p[i] == '-' || p[i] == '*' || p[i] == '+') &&
        p[i + 1] == ' ')
        return true; /* bullet */
    for (j = i; j < n && p[j] >= '0' && p[j] <= '9'; j++)
        ;
    if (j > i && j + 1 < n && (p[j] == '.' || p[j] == ')') &&
        p[j + 1] == ' ')
        return true; /* numbered item */
    for (j = i; j < n; j++) {
        char c = p[j];
        if (c == '|')
            bars++;
        else if (c == '-' || c == '=' || c == '*' || c == '_' || c == '~' ||
                 c == '#')
            marks++;
        else if (c != ' ' && c != '\t' && c != '\r')
            other++;
    }
    if ((i < n && p[i] == '|') || bars >= 2)
        return true; /* table row */
    if (!other && !bars && marks >= 3)
        return true; /* divider */
    return false;
}

/* Append the words of p[0..n) to d->words. */
static lc_status line_words(degen_state *d, const char *p, size_t n,
                            size_t *nw) {
    size_t i = 0;
    while (i < n) {
        size_t st, cap;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        while (i < n && is_blank((unsigned char)p[i]))
            i++;
        if (i >= n)
            break;
        st = i;
        if (is_word_byte((unsigned char)p[i])) {
            while (i < n && (is_word_byte((unsigned char)p[i]) ||
                             (p[i] == '\'' && i > st && i + 1 < n &&
                              is_word_byte((unsigned char)p[i + 1])))) {
                unsigned char c = (unsigned char)p[i];
                if (c >= 'A' && c <= 'Z')
                    c = (unsigned char)(c + 32);
                /* FNV-1a over the lowercased word */
                h = (h ^ c) * UINT64_C(0x100000001b3);
                i++;
            }
        } else {
            /* a run of punctuation/symbols is one token: ". . . ." spam
             * repeats as much as "jobs jobs jobs" */
            h ^= 0x70756e63; /* "punc" */
            while (i < n && !is_blank((unsigned char)p[i]) &&
                   !is_word_byte((unsigned char)p[i])) {
                h = (h ^ (unsigned char)p[i]) * UINT64_C(0x100000001b3);
                i++;
            }
        }
        cap = d->capwords;
        if (*nw + 1 > cap) {
            lc_status rc = lci_grow(d->a, (void **)&d->words,
                                    sizeof *d->words, &cap, *nw + 1);
            if (rc != LC_OK)
                return rc;
            d->capwords = cap;
        }
        d->words[(*nw)++] = lci_mix64(h);
    }
    return LC_OK;
}

static lc_status degen_on_turn(void *st, lc_session *s, const lci_turn *t) {
    degen_state *d = st;
    const char *p = t->pub.text, *end = p + t->pub.text_len;
    bool fence = false;
    size_t nw = 0, ngr, cap, i, distinct = 0, mask;
    double ratio;
    lci_finding *f;
    lc_status rc;
    if (t->pub.role == LC_ROLE_TOOL || lci_turn_is_call(t) ||
        t->pub.text_len < d->min_words) /* a token takes >= 1 byte */
        return LC_OK;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *le = nl ? nl : end;
        if (!skip_line(p, (size_t)(le - p), &fence) &&
            (rc = line_words(d, p, (size_t)(le - p), &nw)) != LC_OK)
            return rc;
        p = nl ? nl + 1 : end;
    }
    if (nw < d->min_words || nw < 3)
        return LC_OK;
    ngr = nw - 2;
    for (cap = 64; cap < 2 * ngr; cap *= 2)
        ;
    if (cap > d->capset) {
        lci_free(d->a, d->set);
        d->set = lci_malloc(d->a, cap * sizeof *d->set);
        if (!d->set) {
            d->capset = 0;
            return LC_ERR_NOMEM;
        }
        d->capset = cap;
    }
    memset(d->set, 0, cap * sizeof *d->set);
    mask = cap - 1;
    for (i = 0; i < ngr; i++) {
        uint64_t g = lci_mix64(d->words[i] * 3 + lci_mix64(d->words[i + 1]) * 5 +
                               lci_mix64(d->words[i + 2] ^ 0x7a));
        size_t j;
        if (!g)
            g = 1;
        for (j = (size_t)g & mask; d->set[j] && d->set[j] != g;
             j = (j + 1) & mask)
            ;
        if (!d->set[j]) {
            d->set[j] = g;
            distinct++;
        }
    }
    ratio = 1.0 - (double)distinct / (double)ngr;
    if (d->capset > SCRATCH_KEEP) { /* do not pin a huge turn's memory */
        lci_free(d->a, d->set);
        d->set = NULL;
        d->capset = 0;
        lci_free(d->a, d->words);
        d->words = NULL;
        d->capwords = 0;
    }
    if (ratio * 100.0 < d->pct)
        return LC_OK;
    if ((rc = lci_session_new_finding(s, LC_KIND_DEGENERATE_REPETITION,
                                      &f)) != LC_OK)
        return rc;
    if ((rc = lci_finding_add_turn(s, f, t->pub.index)) != LC_OK ||
        (rc = lci_detect_set_speaker(s, f, t)) != LC_OK ||
        (rc = lci_detect_excerpt(s, f, t, 0)) != LC_OK)
        return rc;
    f->pub.score = ratio;
    f->pub.share = ratio;
    f->pub.words = (uint32_t)nw;
    f->pub.evidence = t->pub.hash;
    lci_finding_set_span(s, f, t->pub.index, t->pub.index);
    lci_session_mark_looped(s, t->pub.index);
    lci_session_touch(s, f);
    return LC_OK;
}

const lci_detector_vt lci_detect_degenerate = {
    "degenerate_repetition", LC_KIND_DEGENERATE_REPETITION, degen_create,
    degen_on_turn,           NULL,                          degen_destroy,
};
