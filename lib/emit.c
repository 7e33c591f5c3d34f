/*
 * emit.c - report writers' front door (lc_report_write) and the helpers
 * the emitters share: callback flushing, GitHub and excerpt escaping,
 * number formatting and the one-line finding description used by the
 * text, JUnit and GitHub outputs.
 *
 * Every emitter renders into an lci_buf first and hands the result to
 * the caller's callback in one call per report, so a callback that
 * aborts never sees half a line.
 *
 * Hostile strings: ids, speakers and turn text are valid UTF-8 once read
 * (the conversation repairs them), but source names come from the file
 * system and reports can be built from anything, so the writers make no
 * assumption. JSON strings go through lci_buf_json_text and a rendered
 * JUnit test case through lci_buf_utf8_guard: invalid UTF-8 becomes
 * U+FFFD and the output always parses.
 */
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

bool lci_kind_is_loop(lc_kind k) {
    switch (k) {
    case LC_KIND_EXACT_LOOP:
    case LC_KIND_RECURRING_TURN:
    case LC_KIND_RECYCLED_PASSAGE:
    case LC_KIND_NEAR_DUPLICATE_LOOP:
    case LC_KIND_DEGENERATE_REPETITION:
    case LC_KIND_STALLED_CONVERSATION:
    case LC_KIND_REFUSAL_LOOP:
        return true;
    case LC_KIND_REFUSAL:
    case LC_KIND_REFUSAL_ONSET:
        break;
    }
    return false;
}

bool lci_kind_is_refusal(lc_kind k) {
    return k == LC_KIND_REFUSAL || k == LC_KIND_REFUSAL_LOOP ||
           k == LC_KIND_REFUSAL_ONSET;
}

lc_status lci_emit_flush(lci_buf *out, lc_write_fn fn, void *userdata) {
    int rc;
    if (out->len == 0)
        return LC_OK;
    rc = fn(out->data, out->len, userdata);
    out->len = 0;
    return rc ? LC_ERR_CALLBACK : LC_OK;
}

/* ------------------------------------------------------------------ */
/* UTF-8                                                                */
/* ------------------------------------------------------------------ */

/*
 * The code point at s[0..n), n > 0. Returns its length in bytes if it is
 * well-formed UTF-8, else 0 with *bad = the length of its maximal
 * ill-formed subpart (>= 1; one U+FFFD each, as lci_utf8_repair does).
 */
static size_t utf8_next(const unsigned char *s, size_t n, size_t *bad) {
    unsigned char c = s[0], lo = 0x80, hi = 0xBF;
    size_t need, k;
    *bad = 1;
    if (c < 0x80)
        return 1;
    if (c >= 0xC2 && c <= 0xDF)
        need = 1;
    else if (c >= 0xE0 && c <= 0xEF) {
        need = 2;
        if (c == 0xE0)
            lo = 0xA0; /* overlong */
        else if (c == 0xED)
            hi = 0x9F; /* surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        need = 3;
        if (c == 0xF0)
            lo = 0x90; /* overlong */
        else if (c == 0xF4)
            hi = 0x8F; /* > U+10FFFF */
    } else
        return 0;
    for (k = 1; k <= need; k++) {
        if (k >= n || s[k] < lo || s[k] > hi) {
            *bad = k;
            return 0;
        }
        lo = 0x80;
        hi = 0xBF;
    }
    return need + 1;
}

/* Length of the well-formed UTF-8 prefix of s[0..len). */
static size_t utf8_valid(const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, bad;
    while (i < len) {
        size_t n;
        if (s[i] < 0x80) {
            i++;
            continue;
        }
        if ((n = utf8_next(s + i, len - i, &bad)) == 0)
            return i;
        i += n;
    }
    return len;
}

lc_status lci_buf_json_text(lci_buf *b, const char *s, size_t len) {
    lci_buf tmp;
    lc_status st;
    if (!s)
        len = 0;
    if (utf8_valid(s, len) == len)
        return lci_buf_json_str(b, len ? s : "", len);
    lci_buf_init(&tmp, b->alloc);
    st = lci_utf8_repair(s, len, &tmp, NULL, NULL);
    if (st == LC_OK)
        st = lci_buf_json_str(b, tmp.data ? tmp.data : "", tmp.len);
    lci_buf_free(&tmp);
    return st;
}

lc_status lci_buf_utf8_guard(lci_buf *b, size_t from) {
    size_t ok;
    lci_buf tmp;
    lc_status st;
    if (from >= b->len)
        return LC_OK;
    ok = from + utf8_valid(b->data + from, b->len - from);
    if (ok == b->len)
        return LC_OK;
    lci_buf_init(&tmp, b->alloc);
    st = lci_utf8_repair(b->data + ok, b->len - ok, &tmp, NULL, NULL);
    if (st == LC_OK) {
        b->len = ok;
        st = lci_buf_append(b, tmp.data, tmp.len);
    }
    lci_buf_free(&tmp);
    return st;
}

lc_status lci_buf_gh_str(lci_buf *b, const char *s, size_t len,
                         int property) {
    size_t i, run = 0;
    lc_status st;
    for (i = 0; i < len; i++) {
        const char *esc;
        switch (s[i]) {
        case '%': esc = "%25"; break;
        case '\r': esc = "%0D"; break;
        case '\n': esc = "%0A"; break;
        case ':': esc = property ? "%3A" : NULL; break;
        case ',': esc = property ? "%2C" : NULL; break;
        default: esc = NULL; break;
        }
        if (!esc)
            continue;
        if ((st = lci_buf_append(b, s + run, i - run)) != LC_OK)
            return st;
        if ((st = lci_buf_append(b, esc, 3)) != LC_OK)
            return st;
        run = i + 1;
    }
    return lci_buf_append(b, s + run, len - run);
}

lc_status lci_buf_json_num(lci_buf *b, double v) {
    if (!isfinite(v))
        v = 0.0;
    /* %.6g never prints locale separators in the C locale, which the
     * library never changes; integers print without a fraction. */
    return lci_buf_printf(b, "%.6g", v);
}

lc_status lci_buf_excerpt(lci_buf *b, const char *s, size_t len,
                          size_t max) {
    size_t i = 0, cps = 0, start = 0;
    lc_status st;
    int last_space = 1; /* drop leading blanks */
    if (!s)
        return LC_OK;
    while (i < len && cps < max) {
        unsigned char c = (unsigned char)s[i];
        size_t n = 1;
        if (c >= 0xF0)
            n = 4;
        else if (c >= 0xE0)
            n = 3;
        else if (c >= 0xC0)
            n = 2;
        if (i + n > len)
            break; /* truncated sequence: stop before it */
        if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
            if ((st = lci_buf_append(b, s + start, i - start)) != LC_OK)
                return st;
            if (!last_space && (st = lci_buf_putc(b, ' ')) != LC_OK)
                return st;
            last_space = 1;
            i += 1;
            start = i;
            cps++;
            continue;
        }
        last_space = 0;
        i += n;
        cps++;
    }
    if ((st = lci_buf_append(b, s + start, i - start)) != LC_OK)
        return st;
    if (i < len)
        return lci_buf_append(b, "...", 3);
    return LC_OK;
}

lc_status lci_emit_finding_detail(const lc_finding *f, lci_buf *out) {
    lc_status st;
    const char *fam = f->family && *f->family ? f->family : NULL;

    if (f->first_turn == f->last_turn)
        st = lci_buf_printf(out, "turn %u", (unsigned)f->first_turn);
    else
        st = lci_buf_printf(out, "turns %u-%u", (unsigned)f->first_turn,
                            (unsigned)f->last_turn);
    if (st != LC_OK)
        return st;

    switch (f->kind) {
    case LC_KIND_EXACT_LOOP:
    case LC_KIND_NEAR_DUPLICATE_LOOP:
        st = lci_buf_printf(out, ", period %u x %u repeats",
                            (unsigned)f->period, (unsigned)f->repeats);
        break;
    case LC_KIND_RECURRING_TURN:
        st = lci_buf_printf(out, ", %u times", (unsigned)f->count);
        break;
    case LC_KIND_RECYCLED_PASSAGE:
        st = lci_buf_printf(out, ", %u words (%.0f%% of turn %u)",
                            (unsigned)f->words, f->share * 100.0,
                            (unsigned)f->last_turn);
        break;
    case LC_KIND_DEGENERATE_REPETITION:
    case LC_KIND_STALLED_CONVERSATION:
        st = lci_buf_printf(out, ", score %.2f", f->score);
        break;
    case LC_KIND_REFUSAL:
        st = lci_buf_printf(out, ", family %s%s", fam ? fam : "-",
                            f->partial ? " (partial)" : "");
        break;
    case LC_KIND_REFUSAL_LOOP:
        st = lci_buf_printf(out, ", %u refusals, %u pushbacks, family %s",
                            (unsigned)f->count, (unsigned)f->pushback,
                            fam ? fam : "-");
        break;
    case LC_KIND_REFUSAL_ONSET:
        st = lci_buf_printf(out, ", after %u helpful turns, family %s",
                            (unsigned)f->helpful, fam ? fam : "-");
        break;
    }
    if (st != LC_OK)
        return st;
    if ((st = lci_buf_printf(out, ", %s", lc_role_name(f->role))) != LC_OK)
        return st;
    if (f->speaker && *f->speaker &&
        strcmp(f->speaker, lc_role_name(f->role)) != 0) {
        if ((st = lci_buf_printf(out, " (")) != LC_OK ||
            (st = lci_buf_excerpt(out, f->speaker, strlen(f->speaker), 40)) !=
                LC_OK ||
            (st = lci_buf_putc(out, ')')) != LC_OK)
            return st;
    }
    if (f->excerpt && *f->excerpt) {
        if ((st = lci_buf_append(out, ": \"", 3)) != LC_OK ||
            (st = lci_buf_excerpt(out, f->excerpt, strlen(f->excerpt), 72)) !=
                LC_OK ||
            (st = lci_buf_putc(out, '"')) != LC_OK)
            return st;
    }
    return LC_OK;
}

/* The plain entry points are the gated ones with every kind failing. */
lc_status lci_emit_report_text(const lc_report *r, unsigned flags,
                               lci_buf *out) {
    return lci_emit_report_text_gated(r, flags, LCI_KINDS_ALL, out);
}

lc_status lci_emit_report_junit(const lc_report *r, lci_buf *out) {
    return lci_emit_report_junit_gated(r, LCI_KINDS_ALL, out);
}

lc_status lci_emit_report_github(const lc_report *r, lci_buf *out) {
    return lci_emit_report_github_gated(r, LCI_KINDS_ALL, out);
}

lc_status lc_report_write_gated(const lc_report *report, lc_output fmt,
                                unsigned flags, uint32_t fail_kinds,
                                lc_write_fn fn, void *userdata) {
    lci_buf out;
    lc_status st;
    if (!report || !fn)
        return LC_ERR_INVALID_ARG;
    lci_buf_init(&out, report->alloc);
    switch (fmt) {
    case LC_OUTPUT_TEXT:
        st = lci_emit_report_text_gated(report, flags, fail_kinds, &out);
        break;
    case LC_OUTPUT_JSON:
        st = lci_emit_report_json(report, &out);
        break;
    case LC_OUTPUT_JUNIT:
        /* strings reach the XML from several places (source, id, error
         * message, finding lines): one pass over the test case repairs
         * any invalid UTF-8 among them */
        st = lci_emit_report_junit_gated(report, fail_kinds, &out);
        if (st == LC_OK)
            st = lci_buf_utf8_guard(&out, 0);
        break;
    case LC_OUTPUT_GITHUB:
        st = lci_emit_report_github_gated(report, fail_kinds, &out);
        break;
    default:
        st = LC_ERR_INVALID_ARG;
        break;
    }
    if (st == LC_OK)
        st = lci_emit_flush(&out, fn, userdata);
    lci_buf_free(&out);
    return st;
}

lc_status lc_report_write(const lc_report *report, lc_output fmt,
                          unsigned flags, lc_write_fn fn, void *userdata) {
    return lc_report_write_gated(report, fmt, flags, LCI_KINDS_ALL, fn,
                                 userdata);
}
