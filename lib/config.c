/*
 * config.c - keyed options with bounds and defaults, speaker mapping, and
 * the compiled refusal patterns. A config is reference-counted: handles
 * created from it take a reference and freeze it, so it can be shared
 * read-only across threads and freed by the caller at any time.
 */
#include "internal.h"

#include <string.h>

/* One row per option. Defaults are justified in the comments. */
static const struct {
    lc_opt key;
    const char *name;
    int64_t min, max, def;
} opt_table[] = {
    {LC_OPT_FORMAT, "format", 0, 4, 0},
    /* 256 MiB: larger than any sane JSONL line, small enough that one bad
     * line cannot exhaust memory. */
    {LC_OPT_MAX_LINE_BYTES, "max_line_bytes", 1024, INT64_C(1) << 40,
     INT64_C(256) << 20},
    /* a million turns is far beyond any real chat; memory is bounded by
     * the history window, not by this. */
    {LC_OPT_MAX_TURNS, "max_turns", 1, INT64_C(1) << 32, 1000000},
    /* chat logs nest 4-6 deep; 64 leaves room for tool arguments. */
    {LC_OPT_MAX_DEPTH, "max_depth", 4, 10000, 64},
    /* 16 MiB per turn; longer text is truncated with a warning. */
    {LC_OPT_MAX_TURN_BYTES, "max_turn_bytes", 64, INT64_C(1) << 32,
     INT64_C(16) << 20},
    {LC_OPT_MAX_PATTERNS, "max_patterns", 1, 10000000, 100000},
    {LC_OPT_NORMALIZE_FAST, "normalize_fast", 1, 2, 1},
    {LC_OPT_DEFER_PARSE, "defer_parse", 1, 2, 1},
    {LC_OPT_MIN_REPEATS, "min_repeats", 2, 1000, 3},
    {LC_OPT_MAX_PERIOD, "max_period", 1, 32, 8},
    {LC_OPT_RECUR_MIN, "recur_min", 2, 1000, 3},
    {LC_OPT_RECUR_SHORT_WORDS, "recur_short_words", 1, 100, 4},
    {LC_OPT_RECUR_SHORT_MIN, "recur_short_min", 2, 1000, 5},
    /* a whole turn of passage_words or more said again word for word:
     * recycled_passage excludes identical turns, so this rule must see
     * the second time (ConvAI2 bots repeating a 14-word line) */
    {LC_OPT_RECUR_LONG_MIN, "recur_long_min", 2, 1000, 2},
    {LC_OPT_PASSAGE_WORDS, "passage_words", 4, 1000, 12},
    {LC_OPT_WINNOW_WINDOW, "winnow_window", 1, 64, 4},
    {LC_OPT_NEAR_DUP_PERCENT, "near_dup_percent", 10, 100, 60},
    {LC_OPT_DEGENERATE_PERCENT, "degenerate_percent", 10, 100, 50},
    {LC_OPT_DEGENERATE_MIN_WORDS, "degenerate_min_words", 4, 1000000, 30},
    {LC_OPT_STALL_WINDOW, "stall_window", 2, 1000, 10},
    {LC_OPT_STALL_PERCENT, "stall_percent", 10, 100, 60},
    /* 512 turns of history: covers every real conversation we have seen
     * while bounding per-session memory. */
    {LC_OPT_HISTORY_TURNS, "history_turns", 16, 1000000, 512},
    {LC_OPT_REFUSAL_LOOP_MIN, "refusal_loop_min", 2, 1000, 3},
    {LC_OPT_ONSET_MIN_HELPFUL, "onset_min_helpful", 1, 1000, 2},
    {LC_OPT_PARTIAL_MIN_WORDS, "partial_min_words", 1, 100000, 40},
    {LC_OPT_KINDS, "kinds", 1, (INT64_C(1) << LC_KIND_COUNT_MAX) - 1,
     (INT64_C(1) << LC_KIND_COUNT_MAX) - 1},
};

#define NOPTS (sizeof opt_table / sizeof opt_table[0])

static int opt_index(lc_opt key) {
    size_t i;
    for (i = 0; i < NOPTS; i++)
        if (opt_table[i].key == key)
            return (int)i;
    return -1;
}

lc_status lc_opt_bounds(lc_opt key, int64_t *min, int64_t *max, int64_t *def) {
    int i = opt_index(key);
    if (i < 0)
        return LC_ERR_UNKNOWN_OPTION;
    if (min)
        *min = opt_table[i].min;
    if (max)
        *max = opt_table[i].max;
    if (def)
        *def = opt_table[i].def;
    return LC_OK;
}

const char *lc_opt_name(lc_opt key) {
    int i = opt_index(key);
    return i < 0 ? NULL : opt_table[i].name;
}

lc_status lc_opt_from_name(const char *name, size_t len, lc_opt *out) {
    size_t i;
    if (!name || !out)
        return LC_ERR_INVALID_ARG;
    for (i = 0; i < NOPTS; i++)
        if (strlen(opt_table[i].name) == len &&
            memcmp(opt_table[i].name, name, len) == 0) {
            *out = opt_table[i].key;
            return LC_OK;
        }
    return LC_ERR_UNKNOWN_OPTION;
}

/* ------------------------------------------------------------------ */
/* Family views (lc_config_family)                                      */
/* ------------------------------------------------------------------ */

static const char *family_role(unsigned flags) {
    /* the parser keeps one of the two (the last `role` line wins) */
    if (flags & LCI_FAM_USER_ROLE)
        return "user";
    return (flags & LCI_FAM_HELP) ? "help" : "assistant";
}

static int same_settings(const lc_family_info *x, const lc_family_info *y) {
    return x->specificity == y->specificity && x->weight == y->weight &&
           x->enabled == y->enabled && x->soft == y->soft &&
           x->cancel == y->cancel && x->accumulate == y->accumulate &&
           strcmp(x->role, y->role) == 0;
}

/*
 * Bring the family views up to date after the patterns changed: source
 * NULL for the built-ins, else the source name (owned by the patterns) of
 * the file just loaded. Families past the views seen so far were added by
 * it; a known family whose settings now differ from its view was changed
 * by it. The family table only grows and a failed load restores it, so
 * family i is the same family across calls and its name pointer stays
 * valid. O(families + patterns): once per pattern file.
 */
static void families_refresh(lc_config *c, const char *source) {
    const struct lci_patterns *p = c->patterns;
    const char *from = source ? source : "builtin";
    size_t i, n = (size_t)lci_family_count(p),
              np = lci_patterns_count(p);
    if (n > LCI_MAX_FAMILIES) /* the parser's limit: cannot happen */
        n = LCI_MAX_FAMILIES;
    for (i = 0; i < n; i++) {
        lc_family_info *v = &c->families[i];
        lc_family_info now;
        unsigned fl = lci_family_flags(p, (int)i);
        memset(&now, 0, sizeof now);
        now.name = lci_family_name(p, (int)i);
        now.role = family_role(fl);
        now.specificity = lci_family_specificity(p, (int)i);
        now.weight = lci_family_weight(p, (int)i);
        now.enabled = !(fl & LCI_FAM_DISABLED);
        now.soft = (fl & LCI_FAM_SOFT) != 0;
        now.cancel = (fl & LCI_FAM_CANCEL) != 0;
        now.accumulate = (fl & LCI_FAM_ACCUMULATE) != 0;
        if (i >= c->nfamilies) {
            now.origin = now.settings_origin = from;
        } else {
            now.origin = v->origin;
            now.settings_origin =
                same_settings(v, &now) ? v->settings_origin : from;
        }
        *v = now;
    }
    c->nfamilies = n;
    for (i = 0; i < np; i++) {
        int f = lci_pattern_family(p, i);
        if (f >= 0 && (size_t)f < n)
            c->families[f].patterns++;
    }
}

lc_status lc_config_new(const lc_allocator *alloc, lc_config **out) {
    const lci_alloc *a = alloc ? alloc : &lci_default_alloc;
    lc_config *c;
    size_t i;
    lc_status st;
    if (!out)
        return LC_ERR_INVALID_ARG;
    *out = NULL;
    if (alloc && (!alloc->malloc || !alloc->realloc || !alloc->free))
        return LC_ERR_INVALID_ARG;
    c = lci_calloc(a, 1, sizeof *c);
    if (!c)
        return LC_ERR_NOMEM;
    c->alloc = *a;
    atomic_init(&c->refs, 1);
    atomic_init(&c->frozen, 0);
    for (i = 0; i < NOPTS; i++)
        c->val[opt_table[i].key] = opt_table[i].def;
    lci_stopwords_build(c->stopset);
    st = lci_patterns_new(&c->alloc, &c->patterns);
    if (st != LC_OK) {
        lci_free(a, c);
        return st;
    }
    c->families = lci_calloc(a, LCI_MAX_FAMILIES, sizeof *c->families);
    if (!c->families) {
        lci_patterns_free(c->patterns, a);
        lci_free(a, c);
        return LC_ERR_NOMEM;
    }
    families_refresh(c, NULL);
    *out = c;
    return LC_OK;
}

static void config_destroy(lc_config *c) {
    lci_alloc a = c->alloc;
    size_t i;
    for (i = 0; i < c->nspeakers; i++)
        lci_free(&a, c->speakers[i].name);
    lci_free(&a, c->speakers);
    lci_patterns_free(c->patterns, &a);
    lci_free(&a, c->families);
    lci_err_clear(&c->err, &a);
    lci_free(&a, c);
}

void lci_config_unref(const lc_config *cc) {
    lc_config *c = (lc_config *)(uintptr_t)cc; /* refs are mutable */
    if (c && atomic_fetch_sub(&c->refs, 1) == 1)
        config_destroy(c);
}

const lc_config *lci_config_ref(const lc_config *cc) {
    lc_config *c = (lc_config *)(uintptr_t)cc;
    atomic_fetch_add(&c->refs, 1);
    atomic_store(&c->frozen, 1);
    return c;
}

void lc_config_free(lc_config *c) { lci_config_unref(c); }

lc_status lc_config_set(lc_config *c, lc_opt key, int64_t value) {
    int i;
    if (!c)
        return LC_ERR_INVALID_ARG;
    i = opt_index(key);
    if (i < 0)
        return LC_ERR_UNKNOWN_OPTION;
    if (atomic_load(&c->frozen))
        return LC_ERR_STATE;
    if (value == 0)
        value = opt_table[i].def;
    if (value < opt_table[i].min || value > opt_table[i].max)
        return LC_ERR_OUT_OF_BOUNDS;
    c->raw[key] = value;
    c->val[key] = value;
    return LC_OK;
}

lc_status lc_config_get(const lc_config *c, lc_opt key, int64_t *value) {
    if (!c || !value)
        return LC_ERR_INVALID_ARG;
    if (opt_index(key) < 0)
        return LC_ERR_UNKNOWN_OPTION;
    *value = c->val[key];
    return LC_OK;
}

static char ascii_lower(char ch) {
    return (ch >= 'A' && ch <= 'Z') ? (char)(ch - 'A' + 'a') : ch;
}

lc_status lc_config_map_speaker(lc_config *c, const char *name, size_t len,
                                lc_role role) {
    lci_speaker_map *m;
    size_t i;
    lc_status st;
    if (!c || !name || len == 0 || (unsigned)role > LC_ROLE_TOOL)
        return LC_ERR_INVALID_ARG;
    if (atomic_load(&c->frozen))
        return LC_ERR_STATE;
    st = lci_grow(&c->alloc, (void **)&c->speakers, sizeof *c->speakers,
                  &c->capspeakers, c->nspeakers + 1);
    if (st != LC_OK)
        return st;
    m = &c->speakers[c->nspeakers];
    m->name = lci_strndup(&c->alloc, name, len);
    if (!m->name)
        return LC_ERR_NOMEM;
    for (i = 0; i < len; i++)
        m->name[i] = ascii_lower(m->name[i]);
    m->len = len;
    m->role = role;
    c->nspeakers++;
    return LC_OK;
}

bool lci_config_speaker_role(const lc_config *c, const char *name,
                             size_t len, lc_role *role) {
    size_t i, j;
    for (i = c->nspeakers; i-- > 0;) { /* later mappings win */
        const lci_speaker_map *m = &c->speakers[i];
        if (m->len != len)
            continue;
        for (j = 0; j < len; j++)
            if (ascii_lower(name[j]) != m->name[j])
                break;
        if (j == len) {
            *role = m->role;
            return true;
        }
    }
    return false;
}

lc_status lc_config_add_patterns(lc_config *c, const char *source,
                                 const char *text, size_t len) {
    lc_status st;
    if (!c || (!text && len))
        return LC_ERR_INVALID_ARG;
    if (atomic_load(&c->frozen))
        return LC_ERR_STATE;
    c->has_err = 0;
    st = lci_patterns_load(c->patterns, &c->alloc, source ? source : "",
                           text ? text : "", len,
                           lci_opt(c, LC_OPT_MAX_PATTERNS), &c->err);
    if (st != LC_OK)
        c->has_err = 1;
    else /* a failed load left the patterns, so the views, as they were */
        families_refresh(c, lci_patterns_last_origin(c->patterns));
    return st;
}

const lc_error *lc_config_error(const lc_config *c) {
    return (c && c->has_err) ? &c->err.pub : NULL;
}

size_t lc_config_pattern_count(const lc_config *c) {
    return c ? lci_patterns_count(c->patterns) : 0;
}

const lc_pattern_info *lc_config_pattern(const lc_config *c, size_t i) {
    return c ? lci_patterns_info(c->patterns, i) : NULL;
}

size_t lc_config_family_count(const lc_config *c) {
    return c ? c->nfamilies : 0;
}

const lc_family_info *lc_config_family(const lc_config *c, size_t i) {
    return (c && i < c->nfamilies) ? &c->families[i] : NULL;
}
