/*
 * emit_json.c - one report as one line of JSON (schema 1, see
 * doc/formats.md). Field order is fixed so that outputs diff cleanly;
 * kind-specific finding fields appear only for the kinds they belong to,
 * so a consumer can rely on "present" meaning "meaningful".
 */
#include "internal.h"

#include <string.h>

static lc_status key(lci_buf *b, const char *k) {
    LCI_TRY(lci_buf_putc(b, ','));
    LCI_TRY(lci_buf_json_str(b, k, strlen(k)));
    return lci_buf_putc(b, ':');
}

/* Every string value goes through lci_buf_json_text: source names (and
 * anything a caller put into a report) may be invalid UTF-8. */
static lc_status str_field(lci_buf *b, const char *k, const char *v) {
    LCI_TRY(key(b, k));
    if (!v)
        v = "";
    return lci_buf_json_text(b, v, strlen(v));
}

static lc_status u64_field(lci_buf *b, const char *k, uint64_t v) {
    LCI_TRY(key(b, k));
    return lci_buf_printf(b, "%llu", (unsigned long long)v);
}

static lc_status num_field(lci_buf *b, const char *k, double v) {
    LCI_TRY(key(b, k));
    return lci_buf_json_num(b, v);
}

/* Which kind-specific fields belong to which kind. */
enum {
    F_PERIOD = 1 << 0,   /* period + repeats */
    F_COUNT = 1 << 1,
    F_WORDS = 1 << 2,    /* words + share */
    F_FAMILY = 1 << 3,   /* family + families */
    F_PARTIAL = 1 << 4,
    F_SPAN = 1 << 5,
    F_PUSHBACK = 1 << 6,
    F_HELPFUL = 1 << 7
};

static unsigned kind_fields(lc_kind k) {
    switch (k) {
    case LC_KIND_EXACT_LOOP:
    case LC_KIND_NEAR_DUPLICATE_LOOP:
        return F_PERIOD;
    case LC_KIND_RECURRING_TURN:
        return F_COUNT;
    case LC_KIND_RECYCLED_PASSAGE:
        return F_WORDS;
    case LC_KIND_DEGENERATE_REPETITION:
    case LC_KIND_STALLED_CONVERSATION:
        return 0;
    case LC_KIND_REFUSAL:
        return F_FAMILY | F_PARTIAL | F_SPAN;
    case LC_KIND_REFUSAL_LOOP:
        return F_COUNT | F_FAMILY | F_PUSHBACK;
    case LC_KIND_REFUSAL_ONSET:
        return F_FAMILY | F_HELPFUL | F_SPAN;
    }
    return 0;
}

lc_status lci_emit_finding_json(const lc_finding *f, lci_buf *b) {
    const char *kn = f->kind_name ? f->kind_name : lc_kind_name(f->kind);
    char hex[17];
    unsigned fields = kind_fields(f->kind);
    size_t i;

    LCI_TRY(lci_buf_append(b, "{\"kind\":", 8));
    LCI_TRY(lci_buf_json_text(b, kn ? kn : "unknown",
                              strlen(kn ? kn : "unknown")));
    LCI_TRY(u64_field(b, "first_turn", f->first_turn));
    LCI_TRY(u64_field(b, "last_turn", f->last_turn));
    LCI_TRY(key(b, "lines"));
    LCI_TRY(lci_buf_printf(b, "[%llu,%llu]", (unsigned long long)f->first_line,
                       (unsigned long long)f->last_line));
    LCI_TRY(key(b, "turns"));
    LCI_TRY(lci_buf_putc(b, '['));
    for (i = 0; i < f->turn_count; i++)
        LCI_TRY(lci_buf_printf(b, i ? ",%u" : "%u", (unsigned)f->turns[i]));
    LCI_TRY(lci_buf_putc(b, ']'));
    LCI_TRY(str_field(b, "role", lc_role_name(f->role)));
    LCI_TRY(str_field(b, "speaker", f->speaker));
    LCI_TRY(num_field(b, "score", f->score));
    LCI_TRY(str_field(b, "excerpt", f->excerpt));
    lci_hash_hex(f->evidence, hex);
    LCI_TRY(str_field(b, "evidence", hex));
    if (fields & F_PERIOD) {
        LCI_TRY(u64_field(b, "period", f->period));
        LCI_TRY(u64_field(b, "repeats", f->repeats));
    }
    if (fields & F_COUNT)
        LCI_TRY(u64_field(b, "count", f->count));
    if (fields & F_WORDS) {
        LCI_TRY(u64_field(b, "words", f->words));
        LCI_TRY(num_field(b, "share", f->share));
    }
    if (fields & F_FAMILY) {
        LCI_TRY(str_field(b, "family", f->family));
        LCI_TRY(str_field(b, "families", f->families));
    }
    if (fields & F_PARTIAL) {
        LCI_TRY(key(b, "partial"));
        LCI_TRY(lci_buf_printf(b, "%s", f->partial ? "true" : "false"));
    }
    if ((fields & F_SPAN) && f->span_end > f->span_start) {
        LCI_TRY(key(b, "span"));
        LCI_TRY(lci_buf_printf(b, "[%u,%u]", (unsigned)f->span_start,
                           (unsigned)f->span_end));
    }
    if (fields & F_PUSHBACK)
        LCI_TRY(u64_field(b, "pushback", f->pushback));
    if (fields & F_HELPFUL)
        LCI_TRY(u64_field(b, "helpful", f->helpful));
    return lci_buf_putc(b, '}');
}

static lc_status error_json(lci_buf *b, const lc_error *e) {
    LCI_TRY(lci_buf_append(b, "{\"code\":", 8));
    LCI_TRY(lci_buf_json_text(b, e->code, strlen(e->code)));
    LCI_TRY(str_field(b, "message", e->message));
    LCI_TRY(u64_field(b, "line", e->line));
    LCI_TRY(u64_field(b, "column", e->column));
    LCI_TRY(u64_field(b, "offset", e->offset));
    if (e->turn >= 0)
        LCI_TRY(u64_field(b, "turn", (uint64_t)e->turn));
    return lci_buf_putc(b, '}');
}

lc_status lci_emit_report_json(const lc_report *r, lci_buf *b) {
    size_t i;
    LCI_TRY(lci_buf_append(b, "{\"type\":\"conversation\"", 22));
    LCI_TRY(str_field(b, "conversation", r->conversation));
    LCI_TRY(str_field(b, "source", r->source));
    LCI_TRY(u64_field(b, "line", r->line));
    LCI_TRY(u64_field(b, "turns", r->nturns));
    LCI_TRY(str_field(b, "status",
                  r->status == LC_OK ? "ok" : lc_status_code(r->status)));
    if (r->status != LC_OK) {
        LCI_TRY(key(b, "error"));
        LCI_TRY(error_json(b, &r->err.pub));
    }
    if (r->nwarnings) {
        LCI_TRY(key(b, "warnings"));
        LCI_TRY(lci_buf_putc(b, '['));
        for (i = 0; i < r->nwarnings; i++) {
            if (i)
                LCI_TRY(lci_buf_putc(b, ','));
            LCI_TRY(error_json(b, &r->warnings[i].pub));
        }
        LCI_TRY(lci_buf_putc(b, ']'));
    }
    if (r->speaker_note && *r->speaker_note)
        LCI_TRY(str_field(b, "speakers", r->speaker_note));
    LCI_TRY(key(b, "findings"));
    LCI_TRY(lci_buf_putc(b, '['));
    for (i = 0; i < r->nfindings; i++) {
        if (i)
            LCI_TRY(lci_buf_putc(b, ','));
        LCI_TRY(lci_emit_finding_json(&r->findings[i]->pub, b));
    }
    return lci_buf_append(b, "]}\n", 3);
}
