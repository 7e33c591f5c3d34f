/*
 * emit_text.c - one report as short, human-readable text.
 *
 * A conversation without findings prints nothing (the summary counts
 * it). Otherwise a header line, then one line per finding in the form
 * `path:line: kind: detail`, which editors and terminals turn into links.
 * ANSI colour only with LC_WRITE_COLOR: kinds that trip the gate in red,
 * other kinds in yellow, the header in bold.
 */
#include "internal.h"

#include <string.h>

#define C_BOLD "\033[1m"
#define C_RED "\033[1;31m"
#define C_YELLOW "\033[33m"
#define C_RESET "\033[0m"

static lc_status loc(lci_buf *b, const lc_report *r, uint64_t line) {
    const char *src = r->source && *r->source ? r->source : "<input>";
    LCI_TRY(lci_buf_append(b, src, strlen(src)));
    return lci_buf_printf(b, ":%llu: ",
                          (unsigned long long)(line ? line : r->line));
}

lc_status lci_emit_report_text_gated(const lc_report *r, unsigned flags,
                                     uint32_t fail_kinds, lci_buf *b) {
    int color = (flags & LC_WRITE_COLOR) != 0;
    size_t i;

    if (r->status != LC_OK) {
        LCI_TRY(lci_buf_printf(b, "%s== ", color ? C_BOLD : ""));
        LCI_TRY(lci_buf_excerpt(b, r->conversation, strlen(r->conversation),
                            120));
        LCI_TRY(lci_buf_printf(b, ": not analysed: %s [%s]%s\n",
                           r->err.pub.message ? r->err.pub.message : "",
                           lc_status_code(r->status), color ? C_RESET : ""));
        return LC_OK;
    }
    if (r->nfindings == 0)
        return LC_OK;

    LCI_TRY(lci_buf_printf(b, "%s== ", color ? C_BOLD : ""));
    LCI_TRY(lci_buf_excerpt(b, r->conversation, strlen(r->conversation), 120));
    LCI_TRY(lci_buf_printf(b, " (%llu turns, %llu finding%s)%s\n",
                       (unsigned long long)r->nturns,
                       (unsigned long long)r->nfindings,
                       r->nfindings == 1 ? "" : "s", color ? C_RESET : ""));
    if (r->speaker_note && *r->speaker_note) {
        LCI_TRY(lci_buf_append(b, "   speakers: ", 13));
        LCI_TRY(lci_buf_excerpt(b, r->speaker_note, strlen(r->speaker_note),
                            200));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    for (i = 0; i < r->nfindings; i++) {
        const lc_finding *f = &r->findings[i]->pub;
        const char *kn = f->kind_name ? f->kind_name : lc_kind_name(f->kind);
        int trips = ((unsigned)f->kind < 32) &&
                    (fail_kinds & (UINT32_C(1) << (unsigned)f->kind));
        LCI_TRY(loc(b, r, f->first_line));
        if (color)
            LCI_TRY(lci_buf_append(b, trips ? C_RED : C_YELLOW,
                               strlen(trips ? C_RED : C_YELLOW)));
        LCI_TRY(lci_buf_printf(b, "%s", kn ? kn : "unknown"));
        if (color)
            LCI_TRY(lci_buf_append(b, C_RESET, strlen(C_RESET)));
        LCI_TRY(lci_buf_append(b, ": ", 2));
        LCI_TRY(lci_emit_finding_detail(f, b));
        LCI_TRY(lci_buf_putc(b, '\n'));
    }
    return LC_OK;
}
