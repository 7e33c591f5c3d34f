/*
 * emit_junit.c - one report as one JUnit <testcase> element (the common
 * Ant/Jenkins schema that CI systems read): name = conversation id,
 * classname = source, one <failure message type> per finding that trips
 * the gate, <error> when the conversation could not be read, the other
 * findings as lines of <system-out>. The caller wraps test cases in
 * <testsuite>/<testsuites> with the counts (lc_summary_write does not
 * know them: they depend on the gate), as the loopcheck CLI does.
 */
#include "internal.h"

#include <string.h>

static lc_status xml(lci_buf *b, const char *s) {
    return lci_buf_xml_str(b, s ? s : "", s ? strlen(s) : 0);
}

/* "path:line: kind: detail" into tmp (emptied first). */
static lc_status finding_line(const lc_report *r, const lc_finding *f,
                              lci_buf *tmp) {
    const char *kn = f->kind_name ? f->kind_name : lc_kind_name(f->kind);
    tmp->len = 0;
    LCI_TRY(lci_buf_printf(tmp, "%s:%llu: %s: ",
                       r->source && *r->source ? r->source : "<input>",
                       (unsigned long long)(f->first_line ? f->first_line
                                                          : r->line),
                       kn ? kn : "unknown"));
    LCI_TRY(lci_emit_finding_detail(f, tmp));
    return lci_buf_terminate(tmp);
}

static lc_status junit(const lc_report *r, uint32_t fail_kinds, lci_buf *b,
                       lci_buf *tmp) {
    size_t i, notes = 0;

    LCI_TRY(lci_buf_append(b, "    <testcase name=\"", 20));
    LCI_TRY(xml(b, r->conversation));
    LCI_TRY(lci_buf_append(b, "\" classname=\"", 13));
    LCI_TRY(xml(b, r->source && *r->source ? r->source : "loopcheck"));
    LCI_TRY(lci_buf_append(b, "\" file=\"", 8));
    LCI_TRY(xml(b, r->source));
    LCI_TRY(lci_buf_printf(b, "\" line=\"%llu\" time=\"0\"",
                       (unsigned long long)r->line));
    if (r->status == LC_OK && r->nfindings == 0)
        return lci_buf_append(b, "/>\n", 3);
    LCI_TRY(lci_buf_append(b, ">\n", 2));

    if (r->status != LC_OK) {
        const lc_error *e = &r->err.pub;
        LCI_TRY(lci_buf_append(b, "      <error message=\"", 22));
        LCI_TRY(xml(b, e->message));
        LCI_TRY(lci_buf_printf(b, " [%s]\" type=\"%s\">",
                           lc_status_code(r->status),
                           lc_status_code(r->status)));
        tmp->len = 0;
        LCI_TRY(lci_buf_printf(tmp, "%s:%llu:%llu: error: %s [%s]",
                           r->source && *r->source ? r->source : "<input>",
                           (unsigned long long)(e->line ? e->line : r->line),
                           (unsigned long long)e->column,
                           e->message ? e->message : "",
                           lc_status_code(r->status)));
        LCI_TRY(lci_buf_xml_str(b, tmp->data, tmp->len));
        LCI_TRY(lci_buf_append(b, "</error>\n", 9));
    }

    for (i = 0; i < r->nfindings; i++) {
        const lc_finding *f = &r->findings[i]->pub;
        const char *kn = f->kind_name ? f->kind_name : lc_kind_name(f->kind);
        int trips = ((unsigned)f->kind < 32) &&
                    (fail_kinds & (UINT32_C(1) << (unsigned)f->kind));
        if (!trips) {
            notes++;
            continue;
        }
        /* message: kind + detail; body: the same with its location */
        LCI_TRY(lci_buf_append(b, "      <failure message=\"", 24));
        LCI_TRY(xml(b, kn ? kn : "unknown"));
        LCI_TRY(lci_buf_append(b, ": ", 2));
        tmp->len = 0;
        LCI_TRY(lci_emit_finding_detail(f, tmp));
        LCI_TRY(lci_buf_xml_str(b, tmp->data, tmp->len));
        LCI_TRY(lci_buf_append(b, "\" type=\"", 8));
        LCI_TRY(xml(b, kn ? kn : "unknown"));
        LCI_TRY(lci_buf_append(b, "\">", 2));
        LCI_TRY(finding_line(r, f, tmp));
        LCI_TRY(lci_buf_xml_str(b, tmp->data, tmp->len));
        LCI_TRY(lci_buf_append(b, "</failure>\n", 11));
    }

    if (notes) {
        LCI_TRY(lci_buf_append(b, "      <system-out>", 18));
        for (i = 0; i < r->nfindings; i++) {
            const lc_finding *f = &r->findings[i]->pub;
            int trips = ((unsigned)f->kind < 32) &&
                        (fail_kinds & (UINT32_C(1) << (unsigned)f->kind));
            if (trips)
                continue;
            LCI_TRY(finding_line(r, f, tmp));
            LCI_TRY(lci_buf_xml_str(b, tmp->data, tmp->len));
            LCI_TRY(lci_buf_putc(b, '\n'));
        }
        LCI_TRY(lci_buf_append(b, "</system-out>\n", 14));
    }
    return lci_buf_append(b, "    </testcase>\n", 16);
}

lc_status lci_emit_report_junit_gated(const lc_report *r, uint32_t fail_kinds,
                                      lci_buf *b) {
    lci_buf tmp;
    lc_status st;
    lci_buf_init(&tmp, r->alloc);
    st = junit(r, fail_kinds, b, &tmp);
    lci_buf_free(&tmp);
    return st;
}
