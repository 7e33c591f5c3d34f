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
 * U+FFFD and the output always parses. Text and GitHub output never
 * pass a control character to the terminal or log viewer: C0 controls,
 * DEL and C1 controls (U+0080-U+009F) are written as \u001b-style
 * escapes (lci_buf_excerpt, lci_buf_term_str, lci_buf_gh_str), except
 * where the format has its own escape (GitHub's %0D %0A) or the excerpt
 * shows whitespace as a space.
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
/* UTF-8 and control characters                                         */
/* ------------------------------------------------------------------ */

static const char fffd[3] = {'\xEF', '\xBF', '\xBD'};


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
        if ((n = lci_utf8_next(s + i, len - i, &bad)) == 0)
            return i;
        i += n;
    }
    return len;
}

/* A control character to escape: C0, DEL, or C1 (c1 = its second byte
 * after 0xC2); the code point is returned, -1 if it is none. */
static int control_cp(const unsigned char *s, size_t n) {
    if (s[0] < 0x20 || s[0] == 0x7F)
        return s[0];
    if (n == 2 && s[0] == 0xC2 && s[1] < 0xA0)
        return s[1];
    return -1;
}

static lc_status put_cp_escape(lci_buf *b, int cp) {
    return lci_buf_printf(b, "\\u%04x", (unsigned)cp);
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

lc_status lci_buf_term_str(lci_buf *b, const char *str, size_t len) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    lc_status st;
    while (i < len) {
        size_t n, bad;
        int cp;
        if (s[i] >= 0x20 && s[i] < 0x7F) {
            i++;
            continue;
        }
        n = lci_utf8_next(s + i, len - i, &bad);
        cp = n ? control_cp(s + i, n) : -1;
        if (n && cp < 0) {
            i += n;
            continue;
        }
        if ((st = lci_buf_append(b, str + run, i - run)) != LC_OK)
            return st;
        st = n ? put_cp_escape(b, cp) : lci_buf_append(b, fffd, 3);
        if (st != LC_OK)
            return st;
        i += n ? n : bad;
        run = i;
    }
    return lci_buf_append(b, str + run, len - run);
}

lc_status lci_buf_gh_str(lci_buf *b, const char *str, size_t len,
                         int property) {
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, run = 0;
    lc_status st;
    while (i < len) {
        const char *esc;
        size_t n = 1, bad = 1;
        int cp = -1;
        switch (s[i]) {
        case '%': esc = "%25"; break;
        case '\r': esc = "%0D"; break;
        case '\n': esc = "%0A"; break;
        case ':': esc = property ? "%3A" : NULL; break;
        case ',': esc = property ? "%2C" : NULL; break;
        default:
            esc = NULL;
            if (s[i] >= 0x20 && s[i] < 0x7F)
                break;
            n = lci_utf8_next(s + i, len - i, &bad);
            cp = n ? control_cp(s + i, n) : -1;
            if (!n)
                esc = fffd; /* invalid UTF-8 */
            else if (cp >= 0)
                esc = ""; /* a control: \u00XX below */
            break;
        }
        if (!esc) {
            i += n;
            continue;
        }
        if ((st = lci_buf_append(b, str + run, i - run)) != LC_OK)
            return st;
        if (cp >= 0)
            st = put_cp_escape(b, cp);
        else
            st = lci_buf_append(b, esc, 3);
        if (st != LC_OK)
            return st;
        i += n ? n : bad;
        run = i;
    }
    return lci_buf_append(b, str + run, len - run);
}

lc_status lci_buf_json_num(lci_buf *b, double v) {
    if (!isfinite(v))
        v = 0.0;
    /* integers print without a fraction; '.' whatever the host's
     * LC_NUMERIC (lci_buf_num) */
    return lci_buf_num(b, "%.6g", v);
}

lc_status lci_buf_excerpt(lci_buf *b, const char *s, size_t len,
                          size_t max) {
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, cps = 0, start = 0;
    lc_status st;
    int last_space = 1; /* drop leading blanks */
    if (!s)
        return LC_OK;
    while (i < len && cps < max) {
        unsigned char c = u[i];
        size_t n = 1, bad = 1;
        int cp = -1;
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
        cps++;
        if (c > 0x20 && c < 0x7F) {
            i++;
            continue;
        }
        n = lci_utf8_next(u + i, len - i, &bad);
        if (n && (cp = control_cp(u + i, n)) < 0) {
            i += n;
            continue;
        }
        /* a control (escaped) or invalid UTF-8 (U+FFFD) */
        if ((st = lci_buf_append(b, s + start, i - start)) != LC_OK)
            return st;
        st = n ? put_cp_escape(b, cp) : lci_buf_append(b, fffd, 3);
        if (st != LC_OK)
            return st;
        i += n ? n : bad;
        start = i;
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
        st = lci_buf_printf(out, ", %u words (", (unsigned)f->words);
        if (st == LC_OK)
            st = lci_buf_num(out, "%.0f", f->share * 100.0);
        if (st == LC_OK)
            st = lci_buf_printf(out, "%% of turn %u)",
                                (unsigned)f->last_turn);
        break;
    case LC_KIND_DEGENERATE_REPETITION:
    case LC_KIND_STALLED_CONVERSATION:
        st = LCI_LIT(out, ", score ");
        if (st == LC_OK)
            st = lci_buf_num(out, "%.2f", f->score);
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

/* Does s need lci_buf_term_str (a control character or invalid UTF-8)? */
static int needs_term_escape(const char *s) {
    size_t len, i = 0, n, bad;
    if (!s)
        return 0;
    len = strlen(s);
    while (i < len) {
        const unsigned char *u = (const unsigned char *)s + i;
        if (*u >= 0x20 && *u < 0x7F) {
            i++;
            continue;
        }
        n = lci_utf8_next(u, len - i, &bad);
        if (!n || control_cp(u, n) >= 0)
            return 1;
        i += n;
    }
    return 0;
}

/* The text emitter writes the report's source and error message as they
 * are (its other strings go through lci_buf_excerpt): when either holds
 * a control character or invalid UTF-8 it is given a view of the report
 * with escaped copies of them (lci_buf_term_str). */
static lc_status text_report(const lc_report *r, unsigned flags,
                             uint32_t fail_kinds, lci_buf *out) {
    lc_report view;
    lci_buf src, msg;
    lc_status st;
    int esc_src = needs_term_escape(r->source);
    int esc_msg = r->status != LC_OK && needs_term_escape(r->err.pub.message);
    if (!esc_src && !esc_msg)
        return lci_emit_report_text_gated(r, flags, fail_kinds, out);
    view = *r;
    lci_buf_init(&src, r->alloc);
    lci_buf_init(&msg, r->alloc);
    st = LC_OK;
    if (esc_src) {
        st = lci_buf_term_str(&src, r->source, strlen(r->source));
        if (st == LC_OK && (st = lci_buf_terminate(&src)) == LC_OK)
            view.source = src.data;
    }
    if (st == LC_OK && esc_msg) {
        st = lci_buf_term_str(&msg, r->err.pub.message,
                              strlen(r->err.pub.message));
        if (st == LC_OK && (st = lci_buf_terminate(&msg)) == LC_OK)
            view.err.pub.message = msg.data;
    }
    if (st == LC_OK)
        st = lci_emit_report_text_gated(&view, flags, fail_kinds, out);
    lci_buf_free(&src);
    lci_buf_free(&msg);
    return st;
}

/* Strings reach the XML from several places (source, id, error message,
 * finding lines): one pass over the rendered test case repairs any
 * invalid UTF-8 among them. */
static lc_status junit_report(const lc_report *r, uint32_t fail_kinds,
                              lci_buf *out) {
    size_t start = out->len;
    LCI_TRY(lci_emit_report_junit_gated(r, fail_kinds, out));
    return lci_buf_utf8_guard(out, start);
}

/* The plain entry points are the gated ones with every kind failing. */
lc_status lci_emit_report_text(const lc_report *r, unsigned flags,
                               lci_buf *out) {
    return text_report(r, flags, LCI_KINDS_ALL, out);
}

lc_status lci_emit_report_junit(const lc_report *r, lci_buf *out) {
    return junit_report(r, LCI_KINDS_ALL, out);
}

lc_status lci_emit_report_github(const lc_report *r, lci_buf *out) {
    return lci_emit_report_github_gated(r, LCI_KINDS_ALL, out);
}

/* first room for a rendered report: 1 KiB with lci_buf's NUL */
#define EMIT_FIRST ((size_t)1023)

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
        st = text_report(report, flags, fail_kinds, &out);
        break;
    case LC_OUTPUT_JSON:
        /* JSON and JUnit always write something, mostly well under
         * 1 KiB (JSON: 155 bytes median on the bench corpus): room for
         * it at once, not a doubling series from 8 bytes (4 allocations
         * per report) */
        if ((st = lci_buf_reserve(&out, EMIT_FIRST)) == LC_OK)
            st = lci_emit_report_json(report, &out);
        break;
    case LC_OUTPUT_JUNIT:
        if ((st = lci_buf_reserve(&out, EMIT_FIRST)) == LC_OK)
            st = junit_report(report, fail_kinds, &out);
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
