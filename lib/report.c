/*
 * report.c - the batch result for one conversation: its findings (moved
 * out of a finished session), its error if it could not be read, its
 * warnings, and the few facts that summaries and diffs need (does it
 * refuse, does it loop, the hash of its first user turn).
 */
#include "internal.h"

#include <string.h>

/* Copy s[0..n) and a NUL to p; returns the byte after them. */
static char *put_str0(char *p, const char *s, size_t n) {
    memcpy(p, s, n);
    p[n] = '\0';
    return p + n + 1;
}

lc_status lci_report_alloc(const lc_config *cfg, const char *id,
                           const char *src, const char *note,
                           lc_report **out) {
    const lci_alloc *a = &cfg->alloc;
    size_t il, sl, nl, total;
    lc_report *r;
    char *p;
    *out = NULL;
    id = id ? id : "";
    src = src ? src : "";
    note = note ? note : "";
    il = strlen(id);
    sl = strlen(src);
    nl = strlen(note);
    total = sizeof *r;
    if (il > SIZE_MAX - total - 3 || sl > SIZE_MAX - total - il - 3 ||
        nl > SIZE_MAX - total - il - sl - 3)
        return LC_ERR_NOMEM;
    total += il + sl + nl + 3;
    r = lci_malloc(a, total);
    if (!r)
        return LC_ERR_NOMEM;
    memset(r, 0, sizeof *r);
    r->cfg = lci_config_ref(cfg);
    r->alloc = a;
    p = (char *)(r + 1);
    r->conversation = p;
    p = put_str0(p, id, il);
    r->source = p;
    p = put_str0(p, src, sl);
    r->speaker_note = p;
    put_str0(p, note, nl);
    r->status = LC_OK;
    *out = r;
    return LC_OK;
}

static lc_status report_new(const lc_config *cfg, const lc_conversation *c,
                            lc_report **out) {
    lc_status st = lci_report_alloc(cfg, lc_conversation_id(c),
                                    lc_conversation_source(c),
                                    lc_conversation_speaker_note(c), out);
    if (st != LC_OK)
        return st;
    (*out)->line = lc_conversation_line(c);
    (*out)->nturns = lc_conversation_turn_count(c);
    return LC_OK;
}

static lc_status report_diags(lc_report *r, const lc_conversation *c) {
    size_t i, n = lc_conversation_diag_count(c), nw = 0;
    lc_status st;
    for (i = 0; i < n; i++) {
        const lci_err *d = &c->diags[i];
        if (d->pub.severity == LC_SEVERITY_ERROR) {
            if (r->status == LC_OK) {
                r->status = d->pub.status;
                if ((st = lci_err_copy(&r->err, d, r->alloc)) != LC_OK)
                    return st;
            }
            continue;
        }
        nw++;
    }
    if (!nw)
        return LC_OK;
    r->warnings = lci_calloc(r->alloc, nw, sizeof *r->warnings);
    if (!r->warnings)
        return LC_ERR_NOMEM;
    for (i = 0; i < n; i++) {
        const lci_err *d = &c->diags[i];
        if (d->pub.severity != LC_SEVERITY_WARNING)
            continue;
        if ((st = lci_err_copy(&r->warnings[r->nwarnings], d, r->alloc)) !=
            LC_OK)
            return st;
        r->nwarnings++;
    }
    return LC_OK;
}

/* Analyse c with session s (reset first) or, if s is NULL, with a fresh
 * session made only when the conversation was read. The conversation
 * outlives the session's use here, so its turns are pushed borrowed. */
static lc_status check_with(const lc_config *cfg, lc_session *s,
                            const lc_conversation *c, lc_report **out) {
    lc_report *r = NULL;
    lc_session *own = NULL;
    size_t i, n;
    lc_status st;
    *out = NULL;
    if (c->unparsed)
        return LC_ERR_STATE;
    if (s && (st = lci_session_reset(s)) != LC_OK)
        return st;
    if ((st = report_new(cfg, c, &r)) != LC_OK)
        goto fail;
    if ((st = report_diags(r, c)) != LC_OK)
        goto fail;
    if (lc_conversation_status(c) != LC_OK) {
        if (r->status == LC_OK) { /* status without a diagnostic */
            r->status = lc_conversation_status(c);
            st = lci_err_set(&r->err, r->alloc, r->status,
                             LC_SEVERITY_ERROR, r->source, r->line, 0, 0, -1,
                             "%s", lc_status_str(r->status));
            if (st != LC_OK)
                goto fail;
        }
        *out = r;
        return LC_OK;
    }
    n = c->nturns;
    for (i = 0; i < n; i++) {
        const lc_turn *t = &c->turns[i].pub;
        if (t->role == LC_ROLE_USER && !r->prompt_hash) {
            r->prompt_hash = t->hash;
            if (r->prompt_hash)
                break; /* the first user turn (with a hash) decides */
        }
    }
    if (!s) {
        if ((st = lc_session_new(cfg, &own)) != LC_OK)
            goto fail;
        s = own;
    }
    for (i = 0; i < n; i++) {
        st = lci_session_push_borrowed(s, &c->turns[i]);
        if (st != LC_OK)
            break;
    }
    if (st == LC_OK)
        st = lc_session_finish(s);
    if (st != LC_OK) {
        const lc_error *e = lc_session_error(s);
        if (st == LC_ERR_NOMEM)
            goto fail;
        r->status = st;
        st = lci_err_set(&r->err, r->alloc, st, LC_SEVERITY_ERROR, r->source,
                         r->line, 0, 0, e ? e->turn : -1, "%s",
                         e ? e->message : lc_status_str(st));
        if (st != LC_OK)
            goto fail;
    }
    if ((st = lci_session_take_findings(s, &r->findings, &r->nfindings)) !=
        LC_OK)
        goto fail;
    for (i = 0; i < r->nfindings; i++) {
        const lc_finding *f = &r->findings[i]->pub;
        if (f->kind == LC_KIND_REFUSAL && !r->refuses) {
            r->refuses = 1;
            r->refusal_family = f->family;
        }
        if (lci_kind_is_loop(f->kind))
            r->loops = 1;
    }
    lc_session_free(own);
    *out = r;
    return LC_OK;
fail:
    lc_session_free(own);
    lc_report_free(r);
    return st;
}

lc_status lc_conversation_check(const lc_config *cfg,
                                const lc_conversation *c, lc_report **out) {
    if (!cfg || !c || !out)
        return LC_ERR_INVALID_ARG;
    return check_with(cfg, NULL, c, out);
}

lc_status lc_session_check(lc_session *s, const lc_conversation *c,
                           lc_report **out) {
    if (!s || !c || !out)
        return LC_ERR_INVALID_ARG;
    return check_with(lci_session_config(s), s, c, out);
}

void lc_report_free(lc_report *r) {
    const lci_alloc *a;
    const lc_config *cfg;
    size_t i;
    if (!r)
        return;
    a = r->alloc;
    for (i = 0; i < r->nfindings; i++)
        lci_finding_free(r->findings[i], a);
    lci_free(a, r->findings);
    for (i = 0; i < r->nwarnings; i++)
        lci_err_clear(&r->warnings[i], a);
    lci_free(a, r->warnings);
    lci_err_clear(&r->err, a);
    cfg = r->cfg;
    lci_free(a, r); /* a points into cfg: free before the unref */
    lci_config_unref(cfg);
}

const char *lc_report_conversation(const lc_report *r) {
    return r ? r->conversation : NULL;
}
const char *lc_report_source(const lc_report *r) {
    return r ? r->source : NULL;
}
uint64_t lc_report_line(const lc_report *r) { return r ? r->line : 0; }
size_t lc_report_turn_count(const lc_report *r) { return r ? r->nturns : 0; }
lc_status lc_report_status(const lc_report *r) {
    return r ? r->status : LC_ERR_INVALID_ARG;
}
const lc_error *lc_report_error(const lc_report *r) {
    return (r && r->status != LC_OK) ? &r->err.pub : NULL;
}
size_t lc_report_finding_count(const lc_report *r) {
    return r ? r->nfindings : 0;
}
const lc_finding *lc_report_finding(const lc_report *r, size_t i) {
    return (r && i < r->nfindings) ? &r->findings[i]->pub : NULL;
}
int lc_report_refuses(const lc_report *r) { return r ? r->refuses : 0; }
uint64_t lc_report_prompt_hash(const lc_report *r) {
    return r ? r->prompt_hash : 0;
}
