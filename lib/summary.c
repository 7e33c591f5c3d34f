/*
 * summary.c - mergeable counts over many reports (lc_summary_*).
 *
 * A summary holds only COUNTS, never rates: conversations read, analysed
 * and failed; per kind, the conversations with at least one finding of
 * that kind; per refusal family, the conversations with a refusal of
 * that family; and the few worst conversations (most findings). Rates
 * are computed when written. Merging two summaries (in memory, or from
 * the JSON that lc_summary_write produced) is therefore exact:
 *
 *   counts add; rates are recomputed from the summed counts; the worst
 *   lists are concatenated, ordered by finding count (descending), then
 *   source, line and id (ascending), and cut to LCI_WORST_MAX.
 *
 * The order is total, so merging is associative and commutative: shards
 * can be combined in any order (the Python/Dask binding relies on this).
 */
#include "internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <string.h>

#define LCI_WORST_MAX 5
#define SUMMARY_SCHEMA 1

typedef struct worst {
    char *id;
    char *source;
    uint64_t line;
    uint64_t findings;
} worst;

typedef struct family_count {
    char *name;
    uint64_t n;
} family_count;

struct lc_summary {
    const lc_config *cfg; /* reference held */
    const lci_alloc *alloc;
    uint64_t read, analysed, failed;
    uint64_t with_findings; /* conversations with >= 1 finding */
    uint64_t findings;      /* total findings */
    uint64_t kinds[LC_KIND_COUNT_MAX];
    family_count *fam; /* sorted by name */
    size_t nfam, capfam;
    worst worst[LCI_WORST_MAX];
    size_t nworst;
};

lc_status lc_summary_new(const lc_config *cfg, lc_summary **out) {
    lc_summary *s;
    if (!cfg || !out)
        return LC_ERR_INVALID_ARG;
    *out = NULL;
    s = lci_calloc(&cfg->alloc, 1, sizeof *s);
    if (!s)
        return LC_ERR_NOMEM;
    s->cfg = lci_config_ref(cfg);
    s->alloc = &cfg->alloc;
    *out = s;
    return LC_OK;
}

static void worst_clear(const lci_alloc *a, worst *w) {
    lci_free(a, w->id);
    lci_free(a, w->source);
    memset(w, 0, sizeof *w);
}

void lc_summary_free(lc_summary *s) {
    const lci_alloc *a;
    const lc_config *cfg;
    size_t i;
    if (!s)
        return;
    a = s->alloc;
    for (i = 0; i < s->nfam; i++)
        lci_free(a, s->fam[i].name);
    lci_free(a, s->fam);
    for (i = 0; i < s->nworst; i++)
        worst_clear(a, &s->worst[i]);
    cfg = s->cfg;
    lci_free(a, s); /* a points into cfg: free before the unref */
    lci_config_unref(cfg);
}

/* Find or insert a family by name; keeps the array sorted. */
static lc_status family_add(lc_summary *s, const char *name, size_t len,
                            uint64_t n) {
    size_t lo = 0, hi = s->nfam;
    lc_status st;
    char *copy;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const char *m = s->fam[mid].name;
        size_t ml = strlen(m);
        int c = memcmp(m, name, ml < len ? ml : len);
        if (c == 0)
            c = ml < len ? -1 : (ml > len ? 1 : 0);
        if (c == 0) {
            s->fam[mid].n += n;
            return LC_OK;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if ((st = lci_grow(s->alloc, (void **)&s->fam, sizeof *s->fam,
                       &s->capfam, s->nfam + 1)) != LC_OK)
        return st;
    if (!(copy = lci_strndup(s->alloc, name, len)))
        return LC_ERR_NOMEM;
    memmove(&s->fam[lo + 1], &s->fam[lo], (s->nfam - lo) * sizeof *s->fam);
    s->fam[lo].name = copy;
    s->fam[lo].n = n;
    s->nfam++;
    return LC_OK;
}

static int strcmp0(const char *a, const char *b) {
    return strcmp(a ? a : "", b ? b : "");
}

/* Total order of worst cases: more findings first, then by location. */
static int worst_cmp(uint64_t findings, const char *source, uint64_t line,
                     const char *id, const worst *b) {
    int c;
    if (findings != b->findings)
        return findings > b->findings ? -1 : 1;
    if ((c = strcmp0(source, b->source)) != 0)
        return c;
    if (line != b->line)
        return line < b->line ? -1 : 1;
    return strcmp0(id, b->id);
}

/* Insert a candidate worst case (copies strings) if it makes the cut. */
static lc_status worst_offer(lc_summary *s, const char *id,
                             const char *source, uint64_t line,
                             uint64_t findings) {
    worst w;
    size_t pos;
    if (findings == 0)
        return LC_OK;
    for (pos = 0; pos < s->nworst; pos++)
        if (worst_cmp(findings, source, line, id, &s->worst[pos]) < 0)
            break;
    w.line = line;
    w.findings = findings;
    if (pos >= LCI_WORST_MAX)
        return LC_OK;
    w.id = lci_strndup(s->alloc, id ? id : "", id ? strlen(id) : 0);
    w.source =
        lci_strndup(s->alloc, source ? source : "", source ? strlen(source) : 0);
    if (!w.id || !w.source) {
        worst_clear(s->alloc, &w);
        return LC_ERR_NOMEM;
    }
    if (s->nworst == LCI_WORST_MAX)
        worst_clear(s->alloc, &s->worst[--s->nworst]);
    memmove(&s->worst[pos + 1], &s->worst[pos],
            (s->nworst - pos) * sizeof s->worst[0]);
    s->worst[pos] = w;
    s->nworst++;
    return LC_OK;
}

/* Add every name of a comma-separated list to *seen (deduplicated per
 * conversation), then count them. */
static lc_status count_families(lc_summary *s, const lc_report *r) {
    /* Collect distinct names of this report in a small buffer of
     * NUL-separated names; reports have few families. */
    lci_buf seen;
    size_t i;
    lc_status st = LC_OK;
    lci_buf_init(&seen, s->alloc);
    for (i = 0; i < r->nfindings && st == LC_OK; i++) {
        const lc_finding *f = &r->findings[i]->pub;
        const char *lists[2];
        int k;
        if (!lci_kind_is_refusal(f->kind))
            continue;
        lists[0] = f->family;
        lists[1] = f->families;
        for (k = 0; k < 2 && st == LC_OK; k++) {
            const char *p = lists[k];
            while (p && *p && st == LC_OK) {
                const char *e = strchr(p, ',');
                size_t n = e ? (size_t)(e - p) : strlen(p);
                size_t off = 0;
                int dup = 0;
                while (off < seen.len) {
                    size_t l = strlen(seen.data + off);
                    if (l == n && memcmp(seen.data + off, p, n) == 0) {
                        dup = 1;
                        break;
                    }
                    off += l + 1;
                }
                if (!dup && n > 0) {
                    st = lci_buf_append(&seen, p, n);
                    if (st == LC_OK)
                        st = lci_buf_putc(&seen, '\0');
                }
                p = e ? e + 1 : NULL;
            }
        }
    }
    if (st == LC_OK) {
        size_t off = 0;
        while (off < seen.len && st == LC_OK) {
            size_t l = strlen(seen.data + off);
            st = family_add(s, seen.data + off, l, 1);
            off += l + 1;
        }
    }
    lci_buf_free(&seen);
    return st;
}

lc_status lc_summary_add(lc_summary *s, const lc_report *r) {
    uint32_t seen = 0;
    size_t i;
    if (!s || !r)
        return LC_ERR_INVALID_ARG;
    s->read++;
    if (r->status != LC_OK) {
        s->failed++;
        return LC_OK;
    }
    s->analysed++;
    if (r->nfindings == 0)
        return LC_OK;
    s->with_findings++;
    s->findings += r->nfindings;
    for (i = 0; i < r->nfindings; i++) {
        unsigned k = (unsigned)r->findings[i]->pub.kind;
        if (k < LC_KIND_COUNT_MAX && !(seen & (UINT32_C(1) << k))) {
            seen |= UINT32_C(1) << k;
            s->kinds[k]++;
        }
    }
    LCI_TRY(count_families(s, r));
    return worst_offer(s, r->conversation, r->source, r->line,
                       r->nfindings);
}

/* Free the names in fam[0..nf) that the merge copied from the other
 * summary (those not taken over from s: s's names appear in fam in
 * their order). */
static void merge_undo_names(lc_summary *s, family_count *fam, size_t nf) {
    size_t i = 0, k;
    for (k = 0; k < nf; k++) {
        if (i < s->nfam && fam[k].name == s->fam[i].name)
            i++;
        else
            lci_free(s->alloc, fam[k].name);
    }
}

/* All or nothing: the merged family and worst lists are made aside (the
 * other summary's strings copied) and only then replace s's, with the
 * counts; on LC_ERR_NOMEM s is unchanged. The result is what adding the
 * other's families and worst cases one by one gives: both lists are
 * sorted (families by name, worst cases by worst_cmp, s's first on a
 * tie) and are merged in that order. */
lc_status lc_summary_merge(lc_summary *s, const lc_summary *o) {
    const lci_alloc *a;
    family_count *fam = NULL;
    worst w[LCI_WORST_MAX];
    size_t i, j, nf = 0, nw = 0, ncap = 0, taken;
    if (!s || !o)
        return LC_ERR_INVALID_ARG;
    if (s == o)
        return LC_ERR_INVALID_ARG;
    a = s->alloc;
    if (o->nfam) {
        ncap = s->nfam + o->nfam;
        if (ncap > SIZE_MAX / sizeof *fam ||
            !(fam = lci_malloc(a, ncap * sizeof *fam)))
            return LC_ERR_NOMEM;
        for (i = j = 0; i < s->nfam || j < o->nfam;) {
            int c = i == s->nfam   ? 1
                    : j == o->nfam ? -1
                                   : strcmp(s->fam[i].name, o->fam[j].name);
            if (c <= 0) {
                fam[nf] = s->fam[i++];
                if (c == 0)
                    fam[nf].n += o->fam[j++].n;
            } else {
                fam[nf].n = o->fam[j].n;
                fam[nf].name = lci_strndup(a, o->fam[j].name,
                                           strlen(o->fam[j].name));
                j++;
                if (!fam[nf].name) {
                    merge_undo_names(s, fam, nf);
                    lci_free(a, fam);
                    return LC_ERR_NOMEM;
                }
            }
            nf++;
        }
    }
    for (i = j = 0; nw < LCI_WORST_MAX && (i < s->nworst || j < o->nworst);
         nw++) {
        const worst *b = &o->worst[j];
        if (j == o->nworst ||
            (i < s->nworst && worst_cmp(b->findings, b->source, b->line,
                                        b->id, &s->worst[i]) >= 0)) {
            w[nw] = s->worst[i++];
            continue;
        }
        w[nw] = *b;
        w[nw].id = lci_strndup(a, b->id, strlen(b->id));
        w[nw].source = lci_strndup(a, b->source, strlen(b->source));
        j++;
        if (!w[nw].id || !w[nw].source) {
            size_t k;
            lci_free(a, w[nw].id);
            lci_free(a, w[nw].source);
            for (i = 0, k = 0; k < nw; k++) /* drop the copies made */
                if (i < s->nworst && w[k].id == s->worst[i].id)
                    i++;
                else
                    worst_clear(a, &w[k]);
            if (fam) {
                merge_undo_names(s, fam, nf);
                lci_free(a, fam);
            }
            return LC_ERR_NOMEM;
        }
    }
    /* commit: nothing fails from here on */
    taken = i; /* s's worst cases kept */
    s->read += o->read;
    s->analysed += o->analysed;
    s->failed += o->failed;
    s->with_findings += o->with_findings;
    s->findings += o->findings;
    for (i = 0; i < LC_KIND_COUNT_MAX; i++)
        s->kinds[i] += o->kinds[i];
    if (fam) {
        lci_free(a, s->fam);
        s->fam = fam;
        s->nfam = nf;
        s->capfam = ncap;
    }
    for (i = taken; i < s->nworst; i++) /* fell off the cut */
        worst_clear(a, &s->worst[i]);
    memcpy(s->worst, w, nw * sizeof *w);
    s->nworst = nw;
    return LC_OK;
}

uint64_t lc_summary_read(const lc_summary *s) { return s ? s->read : 0; }
uint64_t lc_summary_analysed(const lc_summary *s) {
    return s ? s->analysed : 0;
}
uint64_t lc_summary_failed(const lc_summary *s) { return s ? s->failed : 0; }

uint64_t lc_summary_kind_count(const lc_summary *s, lc_kind kind) {
    if (!s || (unsigned)kind >= LC_KIND_COUNT_MAX)
        return 0;
    return s->kinds[kind];
}

uint64_t lc_summary_family_count(const lc_summary *s, const char *family) {
    size_t i;
    if (!s || !family)
        return 0;
    for (i = 0; i < s->nfam; i++)
        if (strcmp(s->fam[i].name, family) == 0)
            return s->fam[i].n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Merging from JSON                                                    */
/* ------------------------------------------------------------------ */

static bool get_count(json_object *o, const char *k, uint64_t *out) {
    json_object *v;
    int64_t x;
    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_int))
        return false;
    x = json_object_get_int64(v);
    if (x < 0)
        return false;
    *out = (uint64_t)x;
    return true;
}

static const char *get_str(json_object *o, const char *k) {
    json_object *v;
    if (!json_object_object_get_ex(o, k, &v) ||
        !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Validate and merge a parsed summary object into s. The merge is done
 * into a scratch summary first so that a schema error leaves s intact. */
static lc_status merge_obj(lc_summary *s, json_object *root) {
    lc_summary *t = NULL;
    json_object *v;
    const char *type;
    uint64_t schema;
    lc_status st = LC_ERR_SCHEMA;

    if (!json_object_is_type(root, json_type_object))
        return LC_ERR_SCHEMA;
    type = get_str(root, "type");
    if (!type || strcmp(type, "summary") != 0)
        return LC_ERR_SCHEMA;
    if (!get_count(root, "schema", &schema) || schema != SUMMARY_SCHEMA)
        return LC_ERR_SCHEMA;
    if ((st = lc_summary_new(s->cfg, &t)) != LC_OK)
        return st;
    st = LC_ERR_SCHEMA;
    if (!get_count(root, "read", &t->read) ||
        !get_count(root, "analysed", &t->analysed) ||
        !get_count(root, "failed", &t->failed) ||
        t->read != t->analysed + t->failed)
        goto done;
    if (!get_count(root, "with_findings", &t->with_findings) ||
        !get_count(root, "findings", &t->findings))
        goto done;
    if (json_object_object_get_ex(root, "kinds", &v)) {
        if (!json_object_is_type(v, json_type_object))
            goto done;
        json_object_object_foreach(v, kname, kval) {
            lc_kind kind;
            uint64_t n;
            if (!json_object_is_type(kval, json_type_object) ||
                !get_count(kval, "conversations", &n))
                goto done;
            /* kinds unknown to this version are skipped, so newer
             * writers stay mergeable */
            if (lc_kind_from_name(kname, strlen(kname), &kind) == LC_OK &&
                (unsigned)kind < LC_KIND_COUNT_MAX)
                t->kinds[kind] = n;
        }
    }
    if (json_object_object_get_ex(root, "families", &v)) {
        if (!json_object_is_type(v, json_type_object))
            goto done;
        json_object_object_foreach(v, fname, fval) {
            uint64_t n;
            if (!json_object_is_type(fval, json_type_object) ||
                !get_count(fval, "conversations", &n))
                goto done;
            if ((st = family_add(t, fname, strlen(fname), n)) != LC_OK)
                goto done;
            st = LC_ERR_SCHEMA;
        }
    }
    if (json_object_object_get_ex(root, "worst", &v)) {
        size_t i, n;
        if (!json_object_is_type(v, json_type_array))
            goto done;
        n = json_object_array_length(v);
        for (i = 0; i < n; i++) {
            json_object *w = json_object_array_get_idx(v, i);
            const char *id = get_str(w, "conversation");
            const char *src = get_str(w, "source");
            uint64_t line, nf;
            if (!id || !src || !get_count(w, "line", &line) ||
                !get_count(w, "findings", &nf))
                goto done;
            if ((st = worst_offer(t, id, src, line, nf)) != LC_OK)
                goto done;
            st = LC_ERR_SCHEMA;
        }
    }
    st = lc_summary_merge(s, t);
done:
    lc_summary_free(t);
    return st;
}

lc_status lc_summary_merge_json(lc_summary *s, const char *json,
                                size_t len) {
    json_tokener *tok;
    json_object *root;
    lc_status st;
    if (!s || (!json && len))
        return LC_ERR_INVALID_ARG;
    if (len > (size_t)INT32_MAX)
        return LC_ERR_LIMIT;
    /* trailing whitespace (the newline the writer adds) is fine */
    while (len && (json[len - 1] == '\n' || json[len - 1] == '\r' ||
                   json[len - 1] == ' ' || json[len - 1] == '\t'))
        len--;
    if (!(tok = json_tokener_new_ex(16)))
        return LC_ERR_NOMEM;
    root = json_tokener_parse_ex(tok, json, (int)len);
    if (!root || json_tokener_get_error(tok) != json_tokener_success ||
        json_tokener_get_parse_end(tok) != len)
        st = LC_ERR_SYNTAX;
    else
        st = merge_obj(s, root);
    json_object_put(root);
    json_tokener_free(tok);
    return st;
}

/* ------------------------------------------------------------------ */
/* Writers                                                              */
/* ------------------------------------------------------------------ */

static double rate(uint64_t n, uint64_t d) {
    return d ? (double)n / (double)d : 0.0;
}

/* Kinds in enum order, as written everywhere. */
static const lc_kind all_kinds[] = {
    LC_KIND_EXACT_LOOP,          LC_KIND_RECURRING_TURN,
    LC_KIND_RECYCLED_PASSAGE,    LC_KIND_NEAR_DUPLICATE_LOOP,
    LC_KIND_DEGENERATE_REPETITION, LC_KIND_STALLED_CONVERSATION,
    LC_KIND_REFUSAL,             LC_KIND_REFUSAL_LOOP,
    LC_KIND_REFUSAL_ONSET,
};
#define NKINDS (sizeof all_kinds / sizeof all_kinds[0])

static lc_status write_json(const lc_summary *s, lci_buf *b) {
    size_t i;
    LCI_TRY(lci_buf_printf(b,
                       "{\"type\":\"summary\",\"schema\":%d,\"read\":%llu,"
                       "\"analysed\":%llu,\"failed\":%llu,"
                       "\"with_findings\":%llu,\"findings\":%llu,"
                       "\"rate\":",
                       SUMMARY_SCHEMA, (unsigned long long)s->read,
                       (unsigned long long)s->analysed,
                       (unsigned long long)s->failed,
                       (unsigned long long)s->with_findings,
                       (unsigned long long)s->findings));
    LCI_TRY(lci_buf_json_num(b, rate(s->with_findings, s->analysed)));
    LCI_TRY(lci_buf_append(b, ",\"kinds\":{", 10));
    for (i = 0; i < NKINDS; i++) {
        const char *n = lc_kind_name(all_kinds[i]);
        LCI_TRY(lci_buf_printf(b, "%s\"%s\":{\"conversations\":%llu,\"rate\":",
                           i ? "," : "", n,
                           (unsigned long long)s->kinds[all_kinds[i]]));
        LCI_TRY(lci_buf_json_num(b, rate(s->kinds[all_kinds[i]], s->analysed)));
        LCI_TRY(lci_buf_putc(b, '}'));
    }
    LCI_TRY(lci_buf_append(b, "},\"families\":{", 14));
    for (i = 0; i < s->nfam; i++) {
        if (i)
            LCI_TRY(lci_buf_putc(b, ','));
        LCI_TRY(lci_buf_json_text(b, s->fam[i].name, strlen(s->fam[i].name)));
        LCI_TRY(lci_buf_printf(b, ":{\"conversations\":%llu,\"rate\":",
                           (unsigned long long)s->fam[i].n));
        LCI_TRY(lci_buf_json_num(b, rate(s->fam[i].n, s->analysed)));
        LCI_TRY(lci_buf_putc(b, '}'));
    }
    LCI_TRY(lci_buf_append(b, "},\"worst\":[", 11));
    for (i = 0; i < s->nworst; i++) {
        const worst *w = &s->worst[i];
        LCI_TRY(lci_buf_append(b, i ? ",{\"conversation\":" : "{\"conversation\":",
                           i ? 17 : 16));
        LCI_TRY(lci_buf_json_text(b, w->id, strlen(w->id)));
        LCI_TRY(lci_buf_append(b, ",\"source\":", 10));
        LCI_TRY(lci_buf_json_text(b, w->source, strlen(w->source)));
        LCI_TRY(lci_buf_printf(b, ",\"line\":%llu,\"findings\":%llu}",
                           (unsigned long long)w->line,
                           (unsigned long long)w->findings));
    }
    return lci_buf_append(b, "]}\n", 3);
}

static lc_status pct(lci_buf *b, uint64_t n, uint64_t d) {
    LCI_TRY(lci_buf_num(b, "%5.1f", 100.0 * rate(n, d)));
    return lci_buf_putc(b, '%');
}

static lc_status write_text(const lc_summary *s, unsigned flags,
                            lci_buf *b) {
    const char *bold = (flags & LC_WRITE_COLOR) ? "\033[1m" : "";
    const char *reset = (flags & LC_WRITE_COLOR) ? "\033[0m" : "";
    size_t i;
    LCI_TRY(lci_buf_printf(b,
                       "%ssummary: %llu conversation%s read, %llu analysed, "
                       "%llu failed; %llu with findings%s\n",
                       bold, (unsigned long long)s->read,
                       s->read == 1 ? "" : "s",
                       (unsigned long long)s->analysed,
                       (unsigned long long)s->failed,
                       (unsigned long long)s->with_findings, reset));
    LCI_TRY(lci_buf_printf(b, "  %-24s %13s %6s\n", "kind", "conversations",
                       "rate"));
    for (i = 0; i < NKINDS; i++) {
        uint64_t n = s->kinds[all_kinds[i]];
        if (!(lci_opt(s->cfg, LC_OPT_KINDS) & LC_KIND_BIT(all_kinds[i]))) {
            /* its detector did not run (LC_OPT_KINDS): 0 would read as
             * "measured, none found" */
            LCI_TRY(lci_buf_printf(b, "  %-24s %13s\n",
                                   lc_kind_name(all_kinds[i]),
                                   "not measured"));
            continue;
        }
        LCI_TRY(lci_buf_printf(b, "  %-24s %13llu ", lc_kind_name(all_kinds[i]),
                           (unsigned long long)n));
        LCI_TRY(pct(b, n, s->analysed));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    if (s->nfam) {
        LCI_TRY(lci_buf_printf(b, "  %-24s %13s %6s\n", "refusal family",
                           "conversations", "rate"));
        for (i = 0; i < s->nfam; i++) {
            LCI_TRY(lci_buf_append(b, "  ", 2));
            LCI_TRY(lci_buf_printf(b, "%-24s %13llu ", s->fam[i].name,
                               (unsigned long long)s->fam[i].n));
            LCI_TRY(pct(b, s->fam[i].n, s->analysed));
            LCI_TRY(lci_buf_putc(b, '\n'));
        }
    }
    if (s->nworst) {
        LCI_TRY(lci_buf_append(b, "  worst conversations:\n", 23));
        for (i = 0; i < s->nworst; i++) {
            const worst *w = &s->worst[i];
            char loc[64];
            int n = snprintf(loc, sizeof loc, ":%llu",
                             (unsigned long long)w->line);
            size_t sl = strlen(w->source), il = strlen(w->id);
            /* the source is a file name: no control reaches the
             * terminal (lci_buf_term_str), like the id's excerpt */
            LCI_TRY(lci_buf_append(b, "  ", 2));
            LCI_TRY(lci_buf_term_str(b, w->source, sl));
            LCI_TRY(lci_buf_append(b, loc, strlen(loc)));
            /* an id that is only "source:line" (no id in the data) is
             * not printed twice */
            if (!(n > 0 && il == sl + (size_t)n &&
                  memcmp(w->id, w->source, sl) == 0 &&
                  memcmp(w->id + sl, loc, (size_t)n) == 0)) {
                LCI_TRY(lci_buf_append(b, ": ", 2));
                LCI_TRY(lci_buf_excerpt(b, w->id, il, 80));
            }
            LCI_TRY(lci_buf_printf(b, " (%llu finding%s)\n",
                               (unsigned long long)w->findings,
                               w->findings == 1 ? "" : "s"));
        }
    }
    return LC_OK;
}

static lc_status prop_xml(lci_buf *b, const char *name, const char *value) {
    LCI_TRY(lci_buf_append(b, "      <property name=\"", 22));
    LCI_TRY(lci_buf_xml_str(b, name, strlen(name)));
    LCI_TRY(lci_buf_append(b, "\" value=\"", 9));
    LCI_TRY(lci_buf_xml_str(b, value, strlen(value)));
    return lci_buf_append(b, "\"/>\n", 4);
}

static lc_status write_junit(const lc_summary *s, lci_buf *b) {
    char num[64], name[160];
    size_t i;
    /* A test suite without test cases whose <properties> carry the
     * counts: it adds nothing to the pass/fail totals CI shows. */
    LCI_TRY(LCI_LIT(b, "  <testsuite name=\"loopcheck.summary\" tests=\"0\" "
               "failures=\"0\" errors=\"0\" skipped=\"0\">\n"
               "    <properties>\n"));
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->read);
    LCI_TRY(prop_xml(b, "read", num));
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->analysed);
    LCI_TRY(prop_xml(b, "analysed", num));
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->failed);
    LCI_TRY(prop_xml(b, "failed", num));
    snprintf(num, sizeof num, "%llu", (unsigned long long)s->with_findings);
    LCI_TRY(prop_xml(b, "with_findings", num));
    for (i = 0; i < NKINDS; i++) {
        snprintf(name, sizeof name, "kind.%s", lc_kind_name(all_kinds[i]));
        snprintf(num, sizeof num, "%llu",
                 (unsigned long long)s->kinds[all_kinds[i]]);
        LCI_TRY(prop_xml(b, name, num));
    }
    for (i = 0; i < s->nfam; i++) {
        snprintf(name, sizeof name, "family.%.140s", s->fam[i].name);
        snprintf(num, sizeof num, "%llu", (unsigned long long)s->fam[i].n);
        LCI_TRY(prop_xml(b, name, num));
    }
    return LCI_LIT(b, "    </properties>\n  </testsuite>\n");
}

static lc_status write_github(const lc_summary *s, lci_buf *b) {
    lci_buf msg;
    lc_status st = LC_OK;
    size_t i;
    lci_buf_init(&msg, s->alloc);
    st = lci_buf_printf(&msg,
                        "%llu conversation%s read, %llu analysed, %llu "
                        "failed; %llu with findings",
                        (unsigned long long)s->read, s->read == 1 ? "" : "s",
                        (unsigned long long)s->analysed,
                        (unsigned long long)s->failed,
                        (unsigned long long)s->with_findings);
    for (i = 0; i < NKINDS && st == LC_OK; i++)
        if (s->kinds[all_kinds[i]])
            if ((st = lci_buf_printf(
                     &msg, "; %s %llu (", lc_kind_name(all_kinds[i]),
                     (unsigned long long)s->kinds[all_kinds[i]])) == LC_OK &&
                (st = lci_buf_num(&msg, "%.1f",
                                  100.0 * rate(s->kinds[all_kinds[i]],
                                               s->analysed))) == LC_OK)
                st = LCI_LIT(&msg, "%)");
    if (st == LC_OK)
        st = LCI_LIT(b, "::notice title=loopcheck summary::");
    if (st == LC_OK)
        st = lci_buf_gh_str(b, msg.data, msg.len, 0);
    if (st == LC_OK)
        st = lci_buf_putc(b, '\n');
    lci_buf_free(&msg);
    return st;
}

lc_status lc_summary_write(const lc_summary *s, lc_output fmt,
                           unsigned flags, lc_write_fn fn, void *userdata) {
    lci_buf out;
    lc_status st;
    if (!s || !fn)
        return LC_ERR_INVALID_ARG;
    lci_buf_init(&out, s->alloc);
    switch (fmt) {
    case LC_OUTPUT_TEXT: st = write_text(s, flags, &out); break;
    case LC_OUTPUT_JSON: st = write_json(s, &out); break;
    case LC_OUTPUT_JUNIT:
        st = write_junit(s, &out);
        if (st == LC_OK) /* family names from pattern files */
            st = lci_buf_utf8_guard(&out, 0);
        break;
    case LC_OUTPUT_GITHUB: st = write_github(s, &out); break;
    default: st = LC_ERR_INVALID_ARG; break;
    }
    if (st == LC_OK)
        st = lci_emit_flush(&out, fn, userdata);
    lci_buf_free(&out);
    return st;
}
