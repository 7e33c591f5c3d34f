/*
 * diff.c - paired comparison of two runs of the same prompts
 * (baseline = side 0, candidate = side 1).
 *
 * Pairing: first by conversation id (exact string match), then, for what
 * is left, by lc_report_prompt_hash (the normalized first user turn), so
 * logs without ids (whose ids are "source:line" and differ between the
 * two files) still pair. Duplicates pair in input order (k-th with k-th).
 * Reports that could not be read are not added (the caller reports them).
 *
 * Per pair, with A = both refuse, B = compliance -> refusal (to_refusal),
 * C = refusal -> compliance (to_compliance), D = both comply, N = pairs:
 *
 *   rate_baseline  = (A + C) / N     rate_candidate = (A + B) / N
 *   difference     = (B - C) / N
 *   p_value        = P(X >= B), X ~ Bin(B + C, 1/2)   (exact McNemar,
 *                    one-sided: "the candidate refuses more")
 *   p_value_improvement = P(X >= C)                    (the other side)
 *   95% CI of the difference: Newcombe (1998) method 10 - Wilson score
 *   intervals for both marginal rates combined with the phi correlation
 *   of the paired table, no continuity correction anywhere.
 *
 *   verdict = regression if p_value < alpha, improvement if
 *   p_value_improvement < alpha, else no_change (both cannot hold: the
 *   two tails of one binomial sum to more than 1).
 *
 * Writers: with nothing paired the text shows no rates, interval or
 * verdict; a kind the config does not detect (LC_OPT_KINDS) is "not
 * measured" rather than 0%. The text and the JSON (p_value_loops, added
 * within schema 1) also give the exact McNemar p of the loop flips
 * (appeared vs disappeared), the statistic the CLI's loop gate uses.
 *
 * Strings from the data (ids, source names, families) are written as the
 * report writers write them: JSON strings with invalid UTF-8 replaced by
 * U+FFFD (lci_buf_json_text), text with control characters escaped
 * (lci_buf_term_str), JUnit XML-escaped and then repaired as a whole
 * (lci_buf_utf8_guard), GitHub messages and properties escaped by
 * lci_buf_gh_str. A source name comes from the file system and may hold
 * anything.
 *
 * Costs: O(n log n) pairing (sorting index arrays), O(n) memory.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DIFF_SCHEMA 1
/* z for a two-sided 95% interval: the 0.975 quantile of N(0,1) */
#define Z975 1.959963984540054

typedef struct dentry {
    char *id;
    char *source;
    uint64_t line;
    uint64_t prompt_hash;
    char *family; /* first refusal's family, NULL if it does not refuse */
    int refuses;
    int loops;
    size_t partner; /* index on the other side, SIZE_MAX if unpaired */
    int by_prompt;  /* paired by prompt hash, not by id */
    int id_is_loc;  /* no id in the data: id is the "source:line" fallback */
} dentry;

struct lc_diff {
    const lc_config *cfg; /* reference held */
    const lci_alloc *alloc;
    dentry *e[2];
    size_t n[2], cap[2];
    double alpha;
    int computed;
    lc_diff_stats stats;
};

/* ------------------------------------------------------------------ */
/* Binomial tail (exact sums up to n = 2^32, normal approximation above) */
/* ------------------------------------------------------------------ */

/* Above this n the tail is the normal approximation (bounded time);
 * at or below it, an exact sum of at most ~sqrt(20 n) terms (< 300000). */
#define MCNEMAR_SUM_MAX_N (UINT64_C(1) << 32)

/* stirlerr(x) = log(x!) - log(sqrt(2 pi x) (x/e)^x), Loader (2000); the
 * series for x > 15, lgamma below (no cancellation that small). */
static double stirlerr(double x) {
    const double s0 = 1.0 / 12, s1 = 1.0 / 360, s2 = 1.0 / 1260,
                 s3 = 1.0 / 1680, s4 = 1.0 / 1188;
    double xx = x * x;
    if (x <= 0)
        return 0.0;
    if (x <= 15)
        return lgamma(x + 1.0) - (x + 0.5) * log(x) + x -
               0.918938533204672742; /* log(sqrt(2 pi)) */
    if (x > 500)
        return (s0 - s1 / xx) / x;
    if (x > 80)
        return (s0 - (s1 - s2 / xx) / xx) / x;
    if (x > 35)
        return (s0 - (s1 - (s2 - s3 / xx) / xx) / xx) / x;
    return (s0 - (s1 - (s2 - (s3 - s4 / xx) / xx) / xx) / xx) / x;
}

/* bd0(x, m) = x log(x/m) + m - x (Loader's deviance term), given
 * dx = x - m computed exactly by the caller: a series when x is near m,
 * where the closed form would cancel. */
static double bd0(double x, double m, double dx) {
    double v, s, ej, s1;
    int j;
    if (x <= 0)
        return m;
    if (fabs(dx) >= 0.1 * (x + m))
        return x * log(x / m) - dx;
    v = dx / (x + m);
    s = dx * v;
    ej = 2.0 * x * v;
    v *= v;
    for (j = 1; j < 1000; j++) {
        ej *= v;
        s1 = s + ej / (2 * j + 1);
        if (s1 == s)
            break;
        s = s1;
    }
    return s;
}

/* t_k = C(n,k) 2^-n for n - k < k <= n (Loader's saddle-point form,
 * relative error ~1e-14 for any n; log-space lgamma differences lose
 * log10(n) digits to cancellation). d = k - (n - k) is exact. */
static double binom_half_term(uint64_t k, uint64_t n) {
    double x = (double)k, y = (double)(n - k), nn = (double)n, m = nn / 2;
    double d = (double)(k - (n - k)), lc;
    if (k == n)
        return n > 1100 ? 0.0 : ldexp(1.0, -(int)n);
    lc = stirlerr(nn) - stirlerr(x) - stirlerr(y) - bd0(x, m, d / 2) -
         bd0(y, m, -d / 2);
    /* / sqrt(2 pi x y / n) */
    return exp(lc) / sqrt(6.283185307179586 * x * (y / nn));
}

/* P(X >= k) for k > n - k, n <= MCNEMAR_SUM_MAX_N: the terms decrease
 * from i = k on, so sum the ratios t_i / t_k = prod (n-j)/(j+1) until
 * they stop mattering (about sqrt(20 n) terms at most), then scale by
 * t_k. For n <= 1000, t_k is formed by exact-as-possible products
 * (C(1000,500) ~ 2.7e299 still fits a double) and 2^-n applied with
 * ldexp, so small cases such as 1/32 come out exact. */
static double upper_tail(uint64_t k, uint64_t n) {
    double s = 1.0, t = 1.0, head;
    uint64_t i;
    for (i = k; i < n; i++) {
        t *= (double)(n - i) / (double)(i + 1);
        s += t;
        if (t < s * 1e-17)
            break;
    }
    if (n <= 1000) {
        double c = 1.0;
        uint64_t m = n - k, j;
        for (j = 0; j < m; j++)
            c = c * (double)(n - j) / (double)(j + 1);
        head = ldexp(c, -(int)n);
    } else {
        head = binom_half_term(k, n);
    }
    return head * s;
}

double lc_mcnemar_exact(uint64_t k, uint64_t n) {
    double p;
    if (k == 0)
        return 1.0;
    if (k > n)
        return 0.0;
    if (n > MCNEMAR_SUM_MAX_N) {
        /* normal approximation with continuity correction:
         * P(X >= k) ~ Q((k - 1/2 - n/2) / sqrt(n/4)) = Q(z), with
         * 2k - 1 - n formed without overflow; erfc keeps the relative
         * precision of a small upper tail. */
        double z = k > n - k ? (double)(k - (n - k) - 1)
                             : -((double)((n - k) - k) + 1.0);
        z /= sqrt((double)n);
        p = 0.5 * erfc(z * 0.70710678118654752);
    } else if (k > n - k) {
        /* a genuine upper tail */
        p = upper_tail(k, n);
    } else {
        /* the complement, an upper tail by symmetry:
         * P(X >= k) = 1 - P(X >= n - k + 1) */
        p = 1.0 - upper_tail(n - k + 1, n);
    }
    return p < 0.0 ? 0.0 : (p > 1.0 ? 1.0 : p);
}

/* Wilson score interval for x successes out of n (n > 0). */
static void wilson(double x, double n, double z, double *lo, double *hi) {
    double p = x / n, z2 = z * z;
    double centre = 2.0 * n * p + z2;
    double half = z * sqrt(z2 + 4.0 * n * p * (1.0 - p));
    double den = 2.0 * (n + z2);
    *lo = (centre - half) / den;
    *hi = (centre + half) / den;
    if (*lo < 0)
        *lo = 0;
    if (*hi > 1)
        *hi = 1;
}

/* Newcombe (1998) method 10 for the paired difference p1 - p2, with
 * p1 = (a+b)/n (candidate) and p2 = (a+c)/n (baseline). */
static void newcombe10(uint64_t a, uint64_t b, uint64_t c, uint64_t d,
                       double *lo, double *hi) {
    double n = (double)(a + b + c + d);
    double p1 = (double)(a + b) / n, p2 = (double)(a + c) / n;
    double l1, u1, l2, u2, phi = 0.0, den, dl, du;
    wilson((double)(a + b), n, Z975, &l1, &u1);
    wilson((double)(a + c), n, Z975, &l2, &u2);
    den = (double)(a + b) * (double)(c + d) * (double)(a + c) *
          (double)(b + d);
    if (den > 0)
        phi = ((double)a * (double)d - (double)b * (double)c) / sqrt(den);
    dl = (p1 - l1) * (p1 - l1) - 2.0 * phi * (p1 - l1) * (u2 - p2) +
         (u2 - p2) * (u2 - p2);
    du = (u1 - p1) * (u1 - p1) - 2.0 * phi * (u1 - p1) * (p2 - l2) +
         (p2 - l2) * (p2 - l2);
    *lo = (p1 - p2) - sqrt(dl > 0 ? dl : 0);
    *hi = (p1 - p2) + sqrt(du > 0 ? du : 0);
    if (*lo < -1)
        *lo = -1;
    if (*hi > 1)
        *hi = 1;
}

/* ------------------------------------------------------------------ */
/* Building                                                             */
/* ------------------------------------------------------------------ */

lc_status lc_diff_new(const lc_config *cfg, lc_diff **out) {
    lc_diff *d;
    if (!cfg || !out)
        return LC_ERR_INVALID_ARG;
    *out = NULL;
    d = lci_calloc(&cfg->alloc, 1, sizeof *d);
    if (!d)
        return LC_ERR_NOMEM;
    d->cfg = lci_config_ref(cfg);
    d->alloc = &cfg->alloc;
    d->alpha = 0.05;
    *out = d;
    return LC_OK;
}

void lc_diff_free(lc_diff *d) {
    const lc_config *cfg;
    size_t s, i;
    if (!d)
        return;
    for (s = 0; s < 2; s++) {
        for (i = 0; i < d->n[s]; i++) {
            lci_free(d->alloc, d->e[s][i].id);
            lci_free(d->alloc, d->e[s][i].source);
            lci_free(d->alloc, d->e[s][i].family);
        }
        lci_free(d->alloc, d->e[s]);
    }
    cfg = d->cfg;
    lci_free(d->alloc, d); /* d->alloc points into cfg: free before unref */
    lci_config_unref(cfg);
}

lc_status lc_diff_set_alpha(lc_diff *d, double alpha) {
    if (!d || !(alpha > 0.0 && alpha < 1.0))
        return LC_ERR_INVALID_ARG;
    d->alpha = alpha;
    d->computed = 0;
    return LC_OK;
}

static char *dup0(const lci_alloc *a, const char *s) {
    return lci_strndup(a, s ? s : "", s ? strlen(s) : 0);
}

lc_status lc_diff_add(lc_diff *d, int side, const lc_report *r) {
    dentry *e;
    size_t i;
    lc_status st;
    if (!d || !r || (side != 0 && side != 1))
        return LC_ERR_INVALID_ARG;
    if (r->status != LC_OK)
        return LC_OK; /* not analysed: cannot be compared */
    if ((st = lci_grow(d->alloc, (void **)&d->e[side], sizeof(dentry),
                       &d->cap[side], d->n[side] + 1)) != LC_OK)
        return st;
    e = &d->e[side][d->n[side]];
    memset(e, 0, sizeof *e);
    e->partner = SIZE_MAX;
    e->line = r->line;
    e->prompt_hash = r->prompt_hash;
    for (i = 0; i < r->nfindings; i++) {
        const lc_finding *f = &r->findings[i]->pub;
        if (lci_kind_is_loop(f->kind))
            e->loops = 1;
        if (f->kind == LC_KIND_REFUSAL && !e->refuses) {
            e->refuses = 1;
            if (f->family && *f->family &&
                !(e->family = dup0(d->alloc, f->family)))
                return LC_ERR_NOMEM;
        }
    }
    e->id = dup0(d->alloc, r->conversation);
    e->source = dup0(d->alloc, r->source);
    if (!e->id || !e->source) {
        lci_free(d->alloc, e->id);
        lci_free(d->alloc, e->source);
        lci_free(d->alloc, e->family);
        return LC_ERR_NOMEM;
    }
    {
        /* the id is "SOURCE:LINE" when the data has none: the text and
         * GitHub writers then do not print it as if it were a second
         * location */
        size_t sl = strlen(e->source);
        char num[24];
        snprintf(num, sizeof num, ":%llu", (unsigned long long)e->line);
        e->id_is_loc = strncmp(e->id, e->source, sl) == 0 &&
                       strcmp(e->id + sl, num) == 0;
    }
    d->n[side]++;
    d->computed = 0;
    return LC_OK;
}

/* ------------------------------------------------------------------ */
/* Pairing                                                              */
/* ------------------------------------------------------------------ */

typedef struct sortkey {
    const dentry *e;
    size_t idx;
    int by_hash;
} sortkey;

static int key_cmp(const void *pa, const void *pb) {
    const sortkey *a = pa, *b = pb;
    if (a->by_hash) {
        if (a->e->prompt_hash != b->e->prompt_hash)
            return a->e->prompt_hash < b->e->prompt_hash ? -1 : 1;
    } else {
        int c = strcmp(a->e->id, b->e->id);
        if (c)
            return c;
    }
    return a->idx < b->idx ? -1 : (a->idx > b->idx ? 1 : 0);
}

/* One pairing pass over the still unpaired entries: merge join of the
 * two sides sorted by key, then input order. */
static lc_status pair_pass(lc_diff *d, int by_hash) {
    sortkey *k[2] = {NULL, NULL};
    size_t m[2] = {0, 0}, s, i, j;
    for (s = 0; s < 2; s++) {
        if (d->n[s] &&
            !(k[s] = lci_calloc(d->alloc, d->n[s], sizeof(sortkey)))) {
            lci_free(d->alloc, k[0]);
            return LC_ERR_NOMEM;
        }
        for (i = 0; i < d->n[s]; i++) {
            const dentry *e = &d->e[s][i];
            if (e->partner != SIZE_MAX || (by_hash && !e->prompt_hash))
                continue;
            k[s][m[s]].e = e;
            k[s][m[s]].idx = i;
            k[s][m[s]].by_hash = by_hash;
            m[s]++;
        }
        if (m[s])
            qsort(k[s], m[s], sizeof(sortkey), key_cmp);
    }
    i = j = 0;
    while (i < m[0] && j < m[1]) {
        int c;
        sortkey a = k[0][i], b = k[1][j];
        /* compare keys only, not indexes */
        a.idx = b.idx = 0;
        c = key_cmp(&a, &b);
        if (c < 0) {
            i++;
        } else if (c > 0) {
            j++;
        } else {
            d->e[0][k[0][i].idx].partner = k[1][j].idx;
            d->e[1][k[1][j].idx].partner = k[0][i].idx;
            d->e[0][k[0][i].idx].by_prompt = by_hash;
            d->e[1][k[1][j].idx].by_prompt = by_hash;
            i++;
            j++;
        }
    }
    lci_free(d->alloc, k[0]);
    lci_free(d->alloc, k[1]);
    return LC_OK;
}

static int same_family(const char *a, const char *b) {
    if (!a || !b)
        return 1; /* unknown family: no evidence of a change */
    return strcmp(a, b) == 0;
}

lc_status lc_diff_compute(lc_diff *d, const lc_diff_stats **out) {
    lc_diff_stats *st;
    uint64_t a = 0, b = 0, c = 0, dd = 0;
    size_t s, i;
    lc_status rc;
    if (!d)
        return LC_ERR_INVALID_ARG;
    if (d->computed) {
        if (out)
            *out = &d->stats;
        return LC_OK;
    }
    for (s = 0; s < 2; s++)
        for (i = 0; i < d->n[s]; i++) {
            d->e[s][i].partner = SIZE_MAX;
            d->e[s][i].by_prompt = 0;
        }
    if ((rc = pair_pass(d, 0)) != LC_OK || (rc = pair_pass(d, 1)) != LC_OK)
        return rc;

    st = &d->stats;
    memset(st, 0, sizeof *st);
    for (i = 0; i < d->n[0]; i++) {
        const dentry *x = &d->e[0][i], *y;
        if (x->partner == SIZE_MAX) {
            st->unpaired_baseline++;
            continue;
        }
        y = &d->e[1][x->partner];
        st->paired++;
        if (x->refuses && y->refuses) {
            a++;
            if (!same_family(x->family, y->family))
                st->family_changed++;
        } else if (!x->refuses && y->refuses) {
            b++;
        } else if (x->refuses && !y->refuses) {
            c++;
        } else {
            dd++;
        }
        if (!x->loops && y->loops)
            st->loops_appeared++;
        if (x->loops && !y->loops)
            st->loops_disappeared++;
    }
    for (i = 0; i < d->n[1]; i++)
        if (d->e[1][i].partner == SIZE_MAX)
            st->unpaired_candidate++;
    st->both_refuse = a;
    st->to_refusal = b;
    st->to_compliance = c;
    st->p_value = lc_mcnemar_exact(b, b + c);
    st->p_value_improvement = lc_mcnemar_exact(c, b + c);
    if (st->paired) {
        double n = (double)st->paired;
        st->rate_baseline = (double)(a + c) / n;
        st->rate_candidate = (double)(a + b) / n;
        st->difference = ((double)b - (double)c) / n;
        newcombe10(a, b, c, dd, &st->ci_low, &st->ci_high);
    }
    if (st->p_value < d->alpha)
        st->verdict = LC_VERDICT_REGRESSION;
    else if (st->p_value_improvement < d->alpha)
        st->verdict = LC_VERDICT_IMPROVEMENT;
    else
        st->verdict = LC_VERDICT_NO_CHANGE;
    d->computed = 1;
    if (out)
        *out = st;
    return LC_OK;
}

/* ------------------------------------------------------------------ */
/* Writers                                                              */
/* ------------------------------------------------------------------ */

static const char *verdict_name(lc_verdict v) {
    switch (v) {
    case LC_VERDICT_REGRESSION: return "regression";
    case LC_VERDICT_IMPROVEMENT: return "improvement";
    case LC_VERDICT_NO_CHANGE: break;
    }
    return "no_change";
}

/* Exact one-sided McNemar p of the loop flips, "the candidate loops
 * more" (the statistic of the CLI's loop gate). */
static double loops_p(const lc_diff_stats *st) {
    return lc_mcnemar_exact(st->loops_appeared,
                            st->loops_appeared + st->loops_disappeared);
}

/* v with as few significant digits as read back to v (6 at least, so
 * 0.05 stays "0.05"; 0.9999999 is not rounded to 1), -0 as 0. The trial
 * round trip uses the host's LC_NUMERIC for both snprintf and strtod, so
 * it reads back what it wrote in any locale (the digits do not depend on
 * the locale, only the decimal point does); lci_buf_num then writes the
 * chosen digits with '.'. */
static lc_status num_exact(lci_buf *b, double v) {
    char tmp[40];
    int prec;
    if (!isfinite(v))
        v = 0.0;
    if (v == 0.0)
        v = 0.0;
    for (prec = 6; prec < 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    return lci_buf_num(b, "%.*g", prec, v);
}

/* Kinds of per-pair changes, in the order they are listed. */
enum { CH_TO_REFUSAL, CH_TO_COMPLIANCE, CH_LOOP_APPEARED,
       CH_LOOP_DISAPPEARED, CH_FAMILY_CHANGED, CH_COUNT };

static const char *const change_names[CH_COUNT] = {
    "to_refusal", "to_compliance", "loop_appeared", "loop_disappeared",
    "family_changed"};

static int has_change(const dentry *x, const dentry *y, int ch) {
    switch (ch) {
    case CH_TO_REFUSAL: return !x->refuses && y->refuses;
    case CH_TO_COMPLIANCE: return x->refuses && !y->refuses;
    case CH_LOOP_APPEARED: return !x->loops && y->loops;
    case CH_LOOP_DISAPPEARED: return x->loops && !y->loops;
    case CH_FAMILY_CHANGED:
        return x->refuses && y->refuses && !same_family(x->family, y->family);
    default: break;
    }
    return 0;
}

static lc_status jstr(lci_buf *b, const char *s) {
    if (!s)
        return LCI_LIT(b, "null");
    return lci_buf_json_text(b, s, strlen(s));
}

static lc_status json_change(lci_buf *b, const dentry *x, const dentry *y,
                             int ch) {
    LCI_TRY(LCI_LIT(b, "{\"conversation\":"));
    LCI_TRY(jstr(b, x->id));
    LCI_TRY(LCI_LIT(b, ",\"change\":"));
    LCI_TRY(jstr(b, change_names[ch]));
    LCI_TRY(LCI_LIT(b, ",\"family_baseline\":"));
    LCI_TRY(jstr(b, x->refuses ? (x->family ? x->family : "") : NULL));
    LCI_TRY(LCI_LIT(b, ",\"family_candidate\":"));
    LCI_TRY(jstr(b, y->refuses ? (y->family ? y->family : "") : NULL));
    LCI_TRY(LCI_LIT(b, ",\"paired_by\":"));
    LCI_TRY(jstr(b, x->by_prompt ? "prompt" : "id"));
    LCI_TRY(LCI_LIT(b, ",\"baseline\":{\"source\":"));
    LCI_TRY(jstr(b, x->source));
    LCI_TRY(lci_buf_printf(b, ",\"line\":%llu},\"candidate\":{\"conversation\":",
                       (unsigned long long)x->line));
    LCI_TRY(jstr(b, y->id));
    LCI_TRY(LCI_LIT(b, ",\"source\":"));
    LCI_TRY(jstr(b, y->source));
    return lci_buf_printf(b, ",\"line\":%llu}}", (unsigned long long)y->line);
}

/* Every paired prompt with a change of kind in [from, to), grouped by
 * kind, as comma-separated JSON objects. */
static lc_status json_changes(lci_buf *b, const lc_diff *d, int from,
                              int to) {
    int ch, first = 1;
    size_t i;
    for (ch = from; ch < to; ch++)
        for (i = 0; i < d->n[0]; i++) {
            const dentry *x = &d->e[0][i];
            if (x->partner == SIZE_MAX ||
                !has_change(x, &d->e[1][x->partner], ch))
                continue;
            if (!first)
                LCI_TRY(lci_buf_putc(b, ','));
            first = 0;
            LCI_TRY(json_change(b, x, &d->e[1][x->partner], ch));
        }
    return LC_OK;
}

static lc_status write_json(const lc_diff *d, lci_buf *b) {
    const lc_diff_stats *st = &d->stats;
    size_t i, s;
    int first;
    LCI_TRY(lci_buf_printf(
        b,
        "{\"type\":\"diff\",\"schema\":%d,\"paired\":%llu,\"unpaired\":%llu,"
        "\"unpaired_baseline\":%llu,\"unpaired_candidate\":%llu,"
        "\"both_refuse\":%llu,\"to_refusal\":%llu,\"to_compliance\":%llu,"
        "\"loops_appeared\":%llu,\"loops_disappeared\":%llu,"
        "\"family_changed\":%llu",
        DIFF_SCHEMA, (unsigned long long)st->paired,
        (unsigned long long)(st->unpaired_baseline + st->unpaired_candidate),
        (unsigned long long)st->unpaired_baseline,
        (unsigned long long)st->unpaired_candidate,
        (unsigned long long)st->both_refuse,
        (unsigned long long)st->to_refusal,
        (unsigned long long)st->to_compliance,
        (unsigned long long)st->loops_appeared,
        (unsigned long long)st->loops_disappeared,
        (unsigned long long)st->family_changed));
    {
        /* the statistics, in schema order (ci_method sits before p_value) */
        const struct {
            const char *key;
            double v;
        } nums[] = {
            {",\"rate_baseline\":", st->rate_baseline},
            {",\"rate_candidate\":", st->rate_candidate},
            {",\"difference\":", st->difference},
            {",\"ci_low\":", st->ci_low},
            {",\"ci_high\":", st->ci_high},
            {",\"ci_method\":\"newcombe-10\",\"p_value\":", st->p_value},
            {",\"p_value_improvement\":", st->p_value_improvement},
            {",\"p_value_loops\":", loops_p(st)},
        };
        size_t k;
        for (k = 0; k < sizeof nums / sizeof nums[0]; k++) {
            LCI_TRY(lci_buf_append(b, nums[k].key, strlen(nums[k].key)));
            LCI_TRY(lci_buf_json_num(b, nums[k].v));
        }
    }
    /* alpha with the digits it was given (0.9999999, not 1) */
    LCI_TRY(LCI_LIT(b, ",\"alpha\":"));
    LCI_TRY(num_exact(b, d->alpha));
    LCI_TRY(LCI_LIT(b, ",\"verdict\":"));
    LCI_TRY(jstr(b, verdict_name(st->verdict)));
    /* flips: the refusal changes; changes: loops and family changes */
    LCI_TRY(LCI_LIT(b, ",\"flips\":["));
    LCI_TRY(json_changes(b, d, CH_TO_REFUSAL, CH_TO_COMPLIANCE + 1));
    LCI_TRY(LCI_LIT(b, "],\"changes\":["));
    LCI_TRY(json_changes(b, d, CH_LOOP_APPEARED, CH_COUNT));
    LCI_TRY(LCI_LIT(b, "],\"unpaired_conversations\":["));
    first = 1;
    for (s = 0; s < 2; s++)
        for (i = 0; i < d->n[s]; i++) {
            const dentry *x = &d->e[s][i];
            if (x->partner != SIZE_MAX)
                continue;
            if (!first)
                LCI_TRY(lci_buf_putc(b, ','));
            first = 0;
            LCI_TRY(LCI_LIT(b, "{\"side\":"));
            LCI_TRY(jstr(b, s ? "candidate" : "baseline"));
            LCI_TRY(LCI_LIT(b, ",\"conversation\":"));
            LCI_TRY(jstr(b, x->id));
            LCI_TRY(LCI_LIT(b, ",\"source\":"));
            LCI_TRY(jstr(b, x->source));
            LCI_TRY(lci_buf_printf(b, ",\"line\":%llu}",
                               (unsigned long long)x->line));
        }
    return LCI_LIT(b, "]}\n");
}

static lc_status pct(lci_buf *b, double v, int sign) {
    if (sign)
        LCI_TRY(lci_buf_num(b, "%+.1f", 100.0 * v));
    else
        LCI_TRY(lci_buf_num(b, "%.1f", 100.0 * v));
    return lci_buf_putc(b, '%');
}

/* p-values in text, JUnit and GitHub output */
static lc_status p4(lci_buf *b, double v) {
    return lci_buf_num(b, "%.4g", v);
}

/* Whether the config's detectors can see refusals / loops at all
 * (LC_OPT_KINDS): rates of kinds not detected are "not measured", not 0. */
static int refusals_measured(const lc_diff *d) {
    return (lci_opt(d->cfg, LC_OPT_KINDS) & LC_KIND_BIT(LC_KIND_REFUSAL)) != 0;
}

static int loops_measured(const lc_diff *d) {
    int64_t kinds = lci_opt(d->cfg, LC_OPT_KINDS);
    unsigned k;
    for (k = 0; k < 32; k++)
        if ((kinds & (int64_t)LC_KIND_BIT(k)) && lci_kind_is_loop((lc_kind)k))
            return 1;
    return 0;
}

/* A string from the data in text output (NULL as "-"). */
static lc_status term(lci_buf *b, const char *s) {
    if (!s)
        return lci_buf_putc(b, '-');
    return lci_buf_term_str(b, s, strlen(s));
}

/* "  SOURCE:LINE: " */
static lc_status text_loc(lci_buf *b, const dentry *e) {
    LCI_TRY(LCI_LIT(b, "  "));
    LCI_TRY(term(b, e->source));
    return lci_buf_printf(b, ":%llu: ", (unsigned long long)e->line);
}

/* An id as the text (excerpt) or GitHub (raw, escaped later) writer
 * shows it. */
static lc_status put_id(lci_buf *b, const char *id, int text) {
    if (text)
        return lci_buf_excerpt(b, id, strlen(id), 60);
    return lci_buf_append(b, id, strlen(id));
}

/* What a change line names after the candidate's SOURCE:LINE: the id
 * when both sides share it; for a pair made by prompt, the candidate's id
 * (unless it is only its SOURCE:LINE) and "(baseline ID)", so neither the
 * baseline's id at the candidate's line nor two bare locations in a row
 * can be misread. */
static lc_status pair_label(lci_buf *b, const dentry *x, const dentry *y,
                            int text) {
    if (strcmp(x->id, y->id) == 0)
        return put_id(b, x->id, text);
    if (!y->id_is_loc) {
        LCI_TRY(put_id(b, y->id, text));
        LCI_TRY(lci_buf_putc(b, ' '));
    }
    LCI_TRY(LCI_LIT(b, "(baseline "));
    LCI_TRY(put_id(b, x->id, text));
    return lci_buf_putc(b, ')');
}

static lc_status text_change(lci_buf *b, const dentry *x, const dentry *y,
                             int ch) {
    LCI_TRY(text_loc(b, y));
    LCI_TRY(pair_label(b, x, y, 1));
    switch (ch) {
    case CH_TO_REFUSAL:
        LCI_TRY(LCI_LIT(b, ": compliance -> refusal ("));
        LCI_TRY(term(b, y->family));
        return LCI_LIT(b, ")\n");
    case CH_TO_COMPLIANCE:
        LCI_TRY(LCI_LIT(b, ": refusal ("));
        LCI_TRY(term(b, x->family));
        return LCI_LIT(b, ") -> compliance\n");
    case CH_LOOP_APPEARED:
        return LCI_LIT(b, ": loop appeared\n");
    case CH_LOOP_DISAPPEARED:
        return LCI_LIT(b, ": loop disappeared\n");
    default:
        LCI_TRY(LCI_LIT(b, ": refusal family "));
        LCI_TRY(term(b, x->family));
        LCI_TRY(LCI_LIT(b, " -> "));
        LCI_TRY(term(b, y->family));
        return LCI_LIT(b, " (style)\n");
    }
}

static lc_status write_text(const lc_diff *d, unsigned flags, lci_buf *b) {
    const lc_diff_stats *st = &d->stats;
    int color = (flags & LC_WRITE_COLOR) != 0;
    const char *vc = "";
    size_t i, s;
    int ch, any;
    if (color)
        vc = st->verdict == LC_VERDICT_REGRESSION
                 ? "\033[1;31m"
                 : (st->verdict == LC_VERDICT_IMPROVEMENT ? "\033[1;32m"
                                                          : "\033[1m");
    LCI_TRY(lci_buf_printf(b,
                       "diff: %llu paired, %llu unpaired (%llu baseline "
                       "only, %llu candidate only)\n",
                       (unsigned long long)st->paired,
                       (unsigned long long)(st->unpaired_baseline +
                                            st->unpaired_candidate),
                       (unsigned long long)st->unpaired_baseline,
                       (unsigned long long)st->unpaired_candidate));
    if (st->paired == 0) {
        /* no rates and no interval over nothing */
        LCI_TRY(LCI_LIT(b, "  nothing paired: no rates, no comparison\n"));
    } else if (!refusals_measured(d)) {
        LCI_TRY(LCI_LIT(b, "  refusal rate: not measured (the refusal "
                           "detector is not run)\n"));
    } else {
        LCI_TRY(LCI_LIT(b, "  refusal rate: baseline "));
        LCI_TRY(pct(b, st->rate_baseline, 0));
        LCI_TRY(LCI_LIT(b, ", candidate "));
        LCI_TRY(pct(b, st->rate_candidate, 0));
        LCI_TRY(LCI_LIT(b, ", difference "));
        LCI_TRY(pct(b, st->difference, 1));
        LCI_TRY(LCI_LIT(b, " (95% CI "));
        LCI_TRY(pct(b, st->ci_low, 1));
        LCI_TRY(LCI_LIT(b, " to "));
        LCI_TRY(pct(b, st->ci_high, 1));
        LCI_TRY(LCI_LIT(b, ", Newcombe)\n"));
        LCI_TRY(lci_buf_printf(b,
                           "  flips: %llu compliance -> refusal, %llu "
                           "refusal -> compliance; exact McNemar p = ",
                           (unsigned long long)st->to_refusal,
                           (unsigned long long)st->to_compliance));
        LCI_TRY(p4(b, st->p_value));
        LCI_TRY(LCI_LIT(b, " (candidate refuses more), "));
        LCI_TRY(p4(b, st->p_value_improvement));
        LCI_TRY(LCI_LIT(b, " (refuses less)\n"));
    }
    if (st->paired && !loops_measured(d))
        LCI_TRY(LCI_LIT(b, "  loops: not measured (no loop detector is "
                           "run)\n"));
    else if (st->paired) {
        LCI_TRY(lci_buf_printf(
            b, "  loops: %llu appeared, %llu disappeared; exact McNemar p = ",
            (unsigned long long)st->loops_appeared,
            (unsigned long long)st->loops_disappeared));
        LCI_TRY(p4(b, loops_p(st)));
        LCI_TRY(lci_buf_printf(b,
                               " (candidate loops more); refusal family "
                               "changed in %llu (style, not behaviour)\n",
                               (unsigned long long)st->family_changed));
    }
    if (st->paired) {
        LCI_TRY(lci_buf_printf(b, "  verdict: %s%s%s (alpha ", vc,
                               verdict_name(st->verdict),
                               color ? "\033[0m" : ""));
        LCI_TRY(num_exact(b, d->alpha));
        LCI_TRY(LCI_LIT(b, ")\n"));
    }
    for (ch = 0; ch < CH_COUNT; ch++) {
        any = 0;
        for (i = 0; i < d->n[0]; i++) {
            const dentry *x = &d->e[0][i];
            if (x->partner == SIZE_MAX ||
                !has_change(x, &d->e[1][x->partner], ch))
                continue;
            if (!any)
                LCI_TRY(lci_buf_printf(b, "%s:\n", change_names[ch]));
            any = 1;
            LCI_TRY(text_change(b, x, &d->e[1][x->partner], ch));
        }
    }
    any = 0;
    for (s = 0; s < 2; s++)
        for (i = 0; i < d->n[s]; i++) {
            const dentry *x = &d->e[s][i];
            if (x->partner != SIZE_MAX)
                continue;
            if (!any)
                LCI_TRY(LCI_LIT(b, "unpaired:\n"));
            any = 1;
            LCI_TRY(text_loc(b, x));
            if (!x->id_is_loc) {
                LCI_TRY(lci_buf_excerpt(b, x->id, strlen(x->id), 60));
                LCI_TRY(lci_buf_putc(b, ' '));
            }
            LCI_TRY(lci_buf_printf(b, "(%s only)\n",
                               s ? "candidate" : "baseline"));
        }
    return LC_OK;
}

static lc_status xml(lci_buf *b, const char *s) {
    return lci_buf_xml_str(b, s ? s : "", s ? strlen(s) : 0);
}

/* <testsuite name="loopcheck.diff">: a test case "mcnemar" (failure on
 * a regression verdict) and one per paired prompt: a flip to refusal is a
 * <failure> when the verdict is a regression (the flips are then what
 * failed), else a <system-out> line like the other changes. */
static lc_status write_junit(const lc_diff *d, lci_buf *b) {
    const lc_diff_stats *st = &d->stats;
    int reg = st->verdict == LC_VERDICT_REGRESSION;
    uint64_t fails = reg ? st->to_refusal + 1 : 0;
    size_t i;
    int ch;
    LCI_TRY(lci_buf_printf(b,
                       "  <testsuite name=\"loopcheck.diff\" tests=\"%llu\" "
                       "failures=\"%llu\" errors=\"0\" skipped=\"0\">\n",
                       (unsigned long long)(st->paired + 1),
                       (unsigned long long)fails));
    LCI_TRY(LCI_LIT(b, "    <testcase name=\"mcnemar\" classname=\"loopcheck.diff\" "
               "time=\"0\">\n"));
    if (st->verdict == LC_VERDICT_REGRESSION) {
        LCI_TRY(lci_buf_printf(
            b,
            "      <failure message=\"candidate refuses more: %llu "
            "compliance -&gt; refusal vs %llu refusal -&gt; compliance, "
            "exact McNemar p = ",
            (unsigned long long)st->to_refusal,
            (unsigned long long)st->to_compliance));
        LCI_TRY(p4(b, st->p_value));
        LCI_TRY(LCI_LIT(b, " &lt; alpha "));
        LCI_TRY(num_exact(b, d->alpha));
        LCI_TRY(LCI_LIT(b, "\" type=\"regression\"/>\n"));
    }
    if (st->paired == 0 || !refusals_measured(d))
        LCI_TRY(lci_buf_printf(b,
                           "      <system-out>paired %llu, refusal rate not "
                           "measured, verdict %s</system-out>\n"
                           "    </testcase>\n",
                           (unsigned long long)st->paired,
                           verdict_name(st->verdict)));
    else {
        LCI_TRY(lci_buf_printf(b,
                               "      <system-out>paired %llu, refusal "
                               "rate ",
                               (unsigned long long)st->paired));
        LCI_TRY(p4(b, st->rate_baseline));
        LCI_TRY(LCI_LIT(b, " -&gt; "));
        LCI_TRY(p4(b, st->rate_candidate));
        LCI_TRY(LCI_LIT(b, ", difference "));
        LCI_TRY(p4(b, st->difference));
        LCI_TRY(LCI_LIT(b, " (95% CI "));
        LCI_TRY(p4(b, st->ci_low));
        LCI_TRY(LCI_LIT(b, " to "));
        LCI_TRY(p4(b, st->ci_high));
        LCI_TRY(LCI_LIT(b, "), p = "));
        LCI_TRY(p4(b, st->p_value));
        LCI_TRY(lci_buf_printf(b,
                               ", verdict %s</system-out>\n"
                               "    </testcase>\n",
                               verdict_name(st->verdict)));
    }
    for (i = 0; i < d->n[0]; i++) {
        const dentry *x = &d->e[0][i], *y;
        int other = 0;
        if (x->partner == SIZE_MAX)
            continue;
        y = &d->e[1][x->partner];
        LCI_TRY(LCI_LIT(b, "    <testcase name=\""));
        LCI_TRY(xml(b, x->id));
        LCI_TRY(LCI_LIT(b, "\" classname=\"loopcheck.diff\" file=\""));
        LCI_TRY(xml(b, y->source));
        LCI_TRY(lci_buf_printf(b, "\" line=\"%llu\" time=\"0\"",
                           (unsigned long long)y->line));
        for (ch = reg ? CH_TO_COMPLIANCE : CH_TO_REFUSAL; ch < CH_COUNT; ch++)
            other |= has_change(x, y, ch);
        if (!(reg && has_change(x, y, CH_TO_REFUSAL)) && !other) {
            LCI_TRY(LCI_LIT(b, "/>\n"));
            continue;
        }
        LCI_TRY(LCI_LIT(b, ">\n"));
        if (reg && has_change(x, y, CH_TO_REFUSAL)) {
            LCI_TRY(LCI_LIT(b, "      <failure message=\"compliance -&gt; refusal ("));
            LCI_TRY(xml(b, y->family ? y->family : "-"));
            LCI_TRY(LCI_LIT(b, ")\" type=\"to_refusal\"/>\n"));
        }
        if (other) {
            LCI_TRY(LCI_LIT(b, "      <system-out>"));
            for (ch = reg ? CH_TO_COMPLIANCE : CH_TO_REFUSAL; ch < CH_COUNT;
                 ch++)
                if (has_change(x, y, ch)) {
                    LCI_TRY(xml(b, change_names[ch]));
                    LCI_TRY(lci_buf_putc(b, '\n'));
                }
            LCI_TRY(LCI_LIT(b, "</system-out>\n"));
        }
        LCI_TRY(LCI_LIT(b, "    </testcase>\n"));
    }
    return LCI_LIT(b, "  </testsuite>\n");
}

static lc_status gh_prop(lci_buf *b, const char *s) {
    return lci_buf_gh_str(b, s, strlen(s), 1);
}

/* Flips to refusal as annotations on the candidate's lines (errors when
 * the verdict is a regression, else warnings), loops that appeared as
 * warnings, then one line with the verdict. */
static lc_status write_github(const lc_diff *d, lci_buf *b, lci_buf *tmp) {
    const lc_diff_stats *st = &d->stats;
    int reg = st->verdict == LC_VERDICT_REGRESSION;
    size_t i;
    for (i = 0; i < d->n[0]; i++) {
        const dentry *x = &d->e[0][i], *y;
        if (x->partner == SIZE_MAX)
            continue;
        y = &d->e[1][x->partner];
        if (!has_change(x, y, CH_TO_REFUSAL))
            continue;
        LCI_TRY(lci_buf_printf(b, "::%s file=", reg ? "error" : "warning"));
        LCI_TRY(gh_prop(b, y->source));
        LCI_TRY(lci_buf_printf(b, ",line=%llu,title=loopcheck diff to_refusal::",
                           (unsigned long long)y->line));
        tmp->len = 0;
        LCI_TRY(pair_label(tmp, x, y, 0));
        LCI_TRY(lci_buf_printf(tmp, ": compliance -> refusal (%s)",
                               y->family ? y->family : "-"));
        LCI_TRY(lci_buf_gh_str(b, tmp->data, tmp->len, 0));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    /* loops that appeared: warnings (whether they fail the run is the
     * caller's gate, e.g. the CLI's --max-new-loops) */
    for (i = 0; i < d->n[0]; i++) {
        const dentry *x = &d->e[0][i], *y;
        if (x->partner == SIZE_MAX)
            continue;
        y = &d->e[1][x->partner];
        if (!has_change(x, y, CH_LOOP_APPEARED))
            continue;
        LCI_TRY(LCI_LIT(b, "::warning file="));
        LCI_TRY(gh_prop(b, y->source));
        LCI_TRY(lci_buf_printf(b, ",line=%llu,title=loopcheck diff "
                                  "loop_appeared::",
                               (unsigned long long)y->line));
        tmp->len = 0;
        LCI_TRY(pair_label(tmp, x, y, 0));
        LCI_TRY(LCI_LIT(tmp, ": loop appeared"));
        LCI_TRY(lci_buf_gh_str(b, tmp->data, tmp->len, 0));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    tmp->len = 0;
    if (st->paired == 0 || !refusals_measured(d))
        LCI_TRY(lci_buf_printf(tmp, "verdict %s: %llu paired, refusal rate "
                                    "not measured",
                               verdict_name(st->verdict),
                               (unsigned long long)st->paired));
    else {
        LCI_TRY(lci_buf_printf(
            tmp,
            "verdict %s: %llu paired, %llu compliance -> refusal, %llu "
            "refusal -> compliance, refusal rate ",
            verdict_name(st->verdict), (unsigned long long)st->paired,
            (unsigned long long)st->to_refusal,
            (unsigned long long)st->to_compliance));
        LCI_TRY(pct(tmp, st->rate_baseline, 0));
        LCI_TRY(LCI_LIT(tmp, " -> "));
        LCI_TRY(pct(tmp, st->rate_candidate, 0));
        LCI_TRY(LCI_LIT(tmp, " (difference "));
        LCI_TRY(pct(tmp, st->difference, 1));
        LCI_TRY(LCI_LIT(tmp, ", 95% CI "));
        LCI_TRY(pct(tmp, st->ci_low, 1));
        LCI_TRY(LCI_LIT(tmp, " to "));
        LCI_TRY(pct(tmp, st->ci_high, 1));
        LCI_TRY(LCI_LIT(tmp, "), exact McNemar p = "));
        LCI_TRY(p4(tmp, st->p_value));
    }
    LCI_TRY(lci_buf_printf(b, "::%s title=loopcheck diff::",
                       reg ? "error" : "notice"));
    LCI_TRY(lci_buf_gh_str(b, tmp->data, tmp->len, 0));
    return lci_buf_putc(b, '\n');
}

lc_status lc_diff_write(const lc_diff *d, lc_output fmt, unsigned flags,
                        lc_write_fn fn, void *userdata) {
    lci_buf out, tmp;
    lc_status st;
    if (!d || !fn)
        return LC_ERR_INVALID_ARG;
    if (!d->computed)
        return LC_ERR_STATE;
    lci_buf_init(&out, d->alloc);
    lci_buf_init(&tmp, d->alloc);
    switch (fmt) {
    case LC_OUTPUT_TEXT: st = write_text(d, flags, &out); break;
    case LC_OUTPUT_JSON: st = write_json(d, &out); break;
    case LC_OUTPUT_JUNIT:
        /* the XML syntax is ASCII: one pass repairs every string in it */
        if ((st = write_junit(d, &out)) == LC_OK)
            st = lci_buf_utf8_guard(&out, 0);
        break;
    case LC_OUTPUT_GITHUB: st = write_github(d, &out, &tmp); break;
    default: st = LC_ERR_INVALID_ARG; break;
    }
    if (st == LC_OK)
        st = lci_emit_flush(&out, fn, userdata);
    lci_buf_free(&out);
    lci_buf_free(&tmp);
    return st;
}
