/*
 * emit_github.c - one report as GitHub Actions workflow commands, so
 * findings show up as annotations on the log file's lines:
 *
 *   ::error file=PATH,line=N,title=loopcheck exact_loop::turns 19-32 ...
 *
 * Findings that trip the gate are ::error, the others ::warning; a
 * conversation that could not be read is an ::error with its column.
 * Escaping follows the workflow-command rules: in the message % CR LF
 * become %25 %0D %0A; in properties also ':' -> %3A and ',' -> %2C.
 */
#include "internal.h"

#include <string.h>

static lc_status prop(lci_buf *b, const char *s) {
    return lci_buf_gh_str(b, s ? s : "", s ? strlen(s) : 0, 1);
}

static lc_status github(const lc_report *r, uint32_t fail_kinds, lci_buf *b,
                        lci_buf *tmp) {
    size_t i;
    const char *src = r->source && *r->source ? r->source : "<input>";

    if (r->status != LC_OK) {
        const lc_error *e = &r->err.pub;
        LCI_TRY(lci_buf_append(b, "::error file=", 13));
        LCI_TRY(prop(b, src));
        LCI_TRY(lci_buf_printf(b, ",line=%llu",
                           (unsigned long long)(e->line ? e->line : r->line)));
        if (e->column)
            LCI_TRY(lci_buf_printf(b, ",col=%llu",
                               (unsigned long long)e->column));
        LCI_TRY(lci_buf_append(b, ",title=", 7));
        LCI_TRY(prop(b, lc_status_code(r->status)));
        LCI_TRY(lci_buf_append(b, "::", 2));
        tmp->len = 0;
        LCI_TRY(lci_buf_printf(tmp, "%s (conversation %s)",
                           e->message ? e->message : "", r->conversation));
        LCI_TRY(lci_buf_gh_str(b, tmp->data, tmp->len, 0));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    for (i = 0; i < r->nfindings; i++) {
        const lc_finding *f = &r->findings[i]->pub;
        const char *kn = f->kind_name ? f->kind_name : lc_kind_name(f->kind);
        int trips = ((unsigned)f->kind < 32) &&
                    (fail_kinds & (UINT32_C(1) << (unsigned)f->kind));
        LCI_TRY(lci_buf_append(b, trips ? "::error file=" : "::warning file=",
                           trips ? 13 : 15));
        LCI_TRY(prop(b, src));
        LCI_TRY(lci_buf_printf(b, ",line=%llu",
                           (unsigned long long)(f->first_line ? f->first_line
                                                              : r->line)));
        if (f->last_line > f->first_line)
            LCI_TRY(lci_buf_printf(b, ",endLine=%llu",
                               (unsigned long long)f->last_line));
        LCI_TRY(lci_buf_append(b, ",title=loopcheck ", 17));
        LCI_TRY(prop(b, kn ? kn : "unknown"));
        LCI_TRY(lci_buf_append(b, "::", 2));
        tmp->len = 0;
        LCI_TRY(lci_emit_finding_detail(f, tmp));
        LCI_TRY(lci_buf_printf(tmp, " (conversation %s)", r->conversation));
        LCI_TRY(lci_buf_gh_str(b, tmp->data, tmp->len, 0));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    return LC_OK;
}

lc_status lci_emit_report_github_gated(const lc_report *r,
                                       uint32_t fail_kinds, lci_buf *b) {
    lci_buf tmp;
    lc_status st;
    lci_buf_init(&tmp, r->alloc);
    st = github(r, fail_kinds, b, &tmp);
    lci_buf_free(&tmp);
    return st;
}
