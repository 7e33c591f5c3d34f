/*
 * status.c - the one table of statuses (description + stable code), the
 * name tables of roles, formats, kinds and outputs, and error records.
 * A unit test checks that every enum value has an entry and that codes
 * are unique.
 */
#include "internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const struct {
    lc_status st;
    const char *code;
    const char *str;
} status_table[] = {
    {LC_OK, "LC-E000", "success"},
    {LC_NEED_INPUT, "LC-E001", "more input needed"},
    {LC_END, "LC-E002", "end of items"},
    {LC_ERR_INVALID_ARG, "LC-E010", "invalid argument"},
    {LC_ERR_STATE, "LC-E011", "call not allowed in this state"},
    {LC_ERR_UNKNOWN_OPTION, "LC-E012", "unknown option"},
    {LC_ERR_OUT_OF_BOUNDS, "LC-E013", "option value out of bounds"},
    {LC_ERR_UTF8, "LC-E020", "invalid UTF-8"},
    {LC_ERR_SYNTAX, "LC-E030", "JSON syntax error"},
    {LC_ERR_SCHEMA, "LC-E031", "not a conversation"},
    {LC_ERR_FORMAT, "LC-E032", "input format not recognised"},
    {LC_ERR_PATTERN, "LC-E033", "bad refusal pattern"},
    {LC_ERR_EMPTY, "LC-E034", "conversation has no turns"},
    {LC_ERR_CONFIG_FILE, "LC-E035", "bad configuration file"},
    {LC_ERR_LIMIT, "LC-E040", "limit exceeded"},
    {LC_ERR_CALLBACK, "LC-E050", "write callback aborted"},
    {LC_ERR_IO, "LC-E051", "input/output error"},
    {LC_ERR_NOMEM, "LC-E090", "out of memory"},
    {LC_ERR_INTERNAL, "LC-E091", "internal error"},
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

const char *lc_status_str(lc_status status) {
    size_t i;
    for (i = 0; i < COUNT(status_table); i++)
        if (status_table[i].st == status)
            return status_table[i].str;
    return "unknown status";
}

const char *lc_status_code(lc_status status) {
    size_t i;
    for (i = 0; i < COUNT(status_table); i++)
        if (status_table[i].st == status)
            return status_table[i].code;
    return "LC-E999";
}

const char *lc_role_name(lc_role role) {
    switch (role) {
    case LC_ROLE_USER: return "user";
    case LC_ROLE_ASSISTANT: return "assistant";
    case LC_ROLE_SYSTEM: return "system";
    case LC_ROLE_TOOL: return "tool";
    case LC_ROLE_OTHER: break;
    }
    return "other";
}

static const char *const format_names[] = {"auto", "transcript", "jsonl",
                                           "jsonl-turns", "json"};

const char *lc_format_name(lc_format format) {
    if ((unsigned)format < COUNT(format_names))
        return format_names[format];
    return "unknown";
}

static bool name_eq(const char *a, size_t alen, const char *b) {
    return strlen(b) == alen && memcmp(a, b, alen) == 0;
}

lc_status lc_format_from_name(const char *name, size_t len, lc_format *out) {
    size_t i;
    if (!name || !out)
        return LC_ERR_INVALID_ARG;
    for (i = 0; i < COUNT(format_names); i++)
        if (name_eq(name, len, format_names[i])) {
            *out = (lc_format)i;
            return LC_OK;
        }
    return LC_ERR_INVALID_ARG;
}

static const struct {
    lc_kind kind;
    const char *name;
} kind_table[] = {
    {LC_KIND_EXACT_LOOP, "exact_loop"},
    {LC_KIND_RECURRING_TURN, "recurring_turn"},
    {LC_KIND_RECYCLED_PASSAGE, "recycled_passage"},
    {LC_KIND_NEAR_DUPLICATE_LOOP, "near_duplicate_loop"},
    {LC_KIND_DEGENERATE_REPETITION, "degenerate_repetition"},
    {LC_KIND_STALLED_CONVERSATION, "stalled_conversation"},
    {LC_KIND_REFUSAL, "refusal"},
    {LC_KIND_REFUSAL_LOOP, "refusal_loop"},
    {LC_KIND_REFUSAL_ONSET, "refusal_onset"},
};

const char *lc_kind_name(lc_kind kind) {
    size_t i;
    for (i = 0; i < COUNT(kind_table); i++)
        if (kind_table[i].kind == kind)
            return kind_table[i].name;
    return NULL;
}

lc_status lc_kind_from_name(const char *name, size_t len, lc_kind *out) {
    size_t i;
    if (!name || !out)
        return LC_ERR_INVALID_ARG;
    for (i = 0; i < COUNT(kind_table); i++)
        if (name_eq(name, len, kind_table[i].name)) {
            *out = kind_table[i].kind;
            return LC_OK;
        }
    return LC_ERR_INVALID_ARG;
}

lc_status lc_output_from_name(const char *name, size_t len, lc_output *out) {
    static const char *const names[] = {"text", "json", "junit", "github"};
    size_t i;
    if (!name || !out)
        return LC_ERR_INVALID_ARG;
    for (i = 0; i < COUNT(names); i++)
        if (name_eq(name, len, names[i])) {
            *out = (lc_output)i;
            return LC_OK;
        }
    return LC_ERR_INVALID_ARG;
}

void lci_err_clear(lci_err *e, const lci_alloc *a) {
    lci_free(a, e->source);
    memset(e, 0, sizeof *e);
}

lc_status lci_err_set(lci_err *e, const lci_alloc *a, lc_status st,
                 lc_severity sev, const char *source, uint64_t line,
                 uint64_t col, uint64_t off, int64_t turn, const char *fmt,
                 ...) {
    va_list ap;
    lci_free(a, e->source);
    e->source = source ? lci_strndup(a, source, strlen(source)) : NULL;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    e->pub.status = st;
    e->pub.severity = sev;
    e->pub.code = lc_status_code(st);
    e->pub.message = e->msg;
    e->pub.source = e->source ? e->source : "";
    e->pub.line = line;
    e->pub.column = col;
    e->pub.offset = off;
    e->pub.turn = turn;
    return (source && !e->source) ? LC_ERR_NOMEM : LC_OK;
}

lc_status lci_err_copy(lci_err *dst, const lci_err *src, const lci_alloc *a) {
    *dst = *src;
    dst->source = NULL;
    if (src->source) {
        dst->source = lci_strndup(a, src->source, strlen(src->source));
        if (!dst->source)
            return LC_ERR_NOMEM;
    }
    dst->pub.message = dst->msg;
    dst->pub.source = dst->source ? dst->source : "";
    return LC_OK;
}

void lci_locate(const char *text, size_t len, size_t off, uint64_t *line,
                uint64_t *col) {
    uint64_t l = 1, c = 1;
    size_t i;
    if (off > len)
        off = len;
    for (i = 0; i < off; i++) {
        unsigned char ch = (unsigned char)text[i];
        if (ch == '\n') {
            l++;
            c = 1;
        } else if ((ch & 0xC0) != 0x80) {
            c++; /* count code points, not continuation bytes */
        }
    }
    *line = l;
    *col = c;
}
