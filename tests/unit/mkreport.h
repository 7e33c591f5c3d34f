/*
 * mkreport.h - build lc_report objects by hand for the emitter, summary
 * and diff tests, independent of the reader and the detectors. Uses the
 * internal structs (these tests link the internal library). Also the
 * collecting write callback and the shared config of those tests.
 */
#ifndef LC_TEST_MKREPORT_H
#define LC_TEST_MKREPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h> /* after the headers it needs */

#include <string.h>

#include "internal.h"

/* An analysed report without findings (its id and source strings are
 * in the report's own allocation: set them here, not afterwards). */
static inline lc_report *mk_report(lc_config *cfg, const char *id,
                                   const char *source, uint64_t line,
                                   size_t nturns) {
    lc_report *r = NULL;
    if (lci_report_alloc(cfg, id, source, "", &r) != LC_OK)
        return NULL;
    r->line = line;
    r->nturns = nturns;
    return r;
}

/* Turn r into a report of a conversation that could not be read. */
static inline void mk_fail(lc_report *r, lc_status st, uint64_t line,
                           uint64_t col, const char *msg) {
    r->status = st;
    lci_err_set(&r->err, r->alloc, st, LC_SEVERITY_ERROR, r->source, line,
                col, 0, -1, "%s", msg);
}

/* Append a finding; strings are copied (family is expected static). */
static inline lci_finding *mk_finding(lc_report *r, lc_kind kind,
                                      uint32_t first, uint32_t last,
                                      uint64_t first_line, uint64_t last_line,
                                      const char *excerpt) {
    lci_finding *f = lci_calloc(r->alloc, 1, sizeof *f);
    lci_finding **arr;
    uint32_t t;
    size_t n = 0;
    if (!f)
        return NULL;
    arr = lci_realloc(r->alloc, r->findings,
                      r->nfindings * sizeof *r->findings,
                      (r->nfindings + 1) * sizeof *r->findings);
    if (!arr) {
        lci_free(r->alloc, f);
        return NULL;
    }
    r->findings = arr;
    r->findings[r->nfindings++] = f;
    f->pub.id = (uint32_t)r->nfindings;
    f->pub.kind = kind;
    f->pub.kind_name = lc_kind_name(kind);
    f->pub.first_turn = first;
    f->pub.last_turn = last;
    f->pub.first_line = first_line;
    f->pub.last_line = last_line;
    f->pub.role = LC_ROLE_ASSISTANT;
    f->speaker = lci_strndup(r->alloc, "assistant", 9);
    f->pub.speaker = f->speaker;
    f->excerpt = lci_strndup(r->alloc, excerpt ? excerpt : "",
                             excerpt ? strlen(excerpt) : 0);
    f->pub.excerpt = f->excerpt;
    f->turns = lci_calloc(r->alloc, (size_t)(last - first + 1),
                          sizeof *f->turns);
    for (t = first; t <= last && f->turns; t++)
        f->turns[n++] = t;
    f->capturns = n;
    f->pub.turns = f->turns;
    f->pub.turn_count = n;
    if (lci_kind_is_loop(kind))
        r->loops = 1;
    return f;
}

/* A refusal finding of `family` at turn t (marks the report refusing). */
static inline lci_finding *mk_refusal(lc_report *r, uint32_t t,
                                      const char *family) {
    lci_finding *f =
        mk_finding(r, LC_KIND_REFUSAL, t, t, t * 2, t * 2, "I can't help");
    if (!f)
        return NULL;
    f->pub.family = family;
    f->families = lci_strndup(r->alloc, family, strlen(family));
    f->pub.families = f->families;
    f->pub.score = 0.9;
    r->refuses = 1;
    if (!r->refusal_family)
        r->refusal_family = family;
    return f;
}

/* Collecting write callback. */
typedef struct mk_out {
    char data[16384];
    size_t len;
    int calls;
    int fail_after; /* abort on call number fail_after (0 = never) */
} mk_out;

static inline int mk_write(const char *d, size_t n, void *ud) {
    mk_out *o = ud;
    o->calls++;
    if (o->fail_after && o->calls >= o->fail_after)
        return 7;
    if (o->len + n >= sizeof o->data)
        return 1;
    memcpy(o->data + o->len, d, n);
    o->len += n;
    o->data[o->len] = '\0';
    return 0;
}

/* MK_WRITTEN(write, h, fmt, flags): the output of write(h, fmt, flags,
 * mk_write, ...) -- lc_report_write, lc_summary_write, lc_diff_write --
 * into a cleared mk_out; the write must return LC_OK (checked at the
 * caller's line). Valid until the next MK_WRITTEN. */
static mk_out mk_written_out;

static inline mk_out *mk_written_clear(void) {
    memset(&mk_written_out, 0, sizeof mk_written_out);
    return &mk_written_out;
}

static inline const mk_out *mk_written_check(lc_status st, const char *file,
                                             int line) {
    _assert_int_equal(cast_to_largest_integral_type(st),
                      cast_to_largest_integral_type(LC_OK), file, line);
    return &mk_written_out;
}

#define MK_WRITTEN(write, h, fmt, flags)                                      \
    mk_written_check(                                                         \
        (write)((h), (fmt), (flags), mk_write, mk_written_clear()), __FILE__, \
        __LINE__)

/* The default config every report of a test program is built from:
 * pass mk_setup and mk_teardown to cmocka_run_group_tests. */
static lc_config *cfg;

static inline int mk_setup(void **state) {
    (void)state;
    cfg = NULL;
    return lc_config_new(NULL, &cfg) == LC_OK ? 0 : -1;
}

static inline int mk_teardown(void **state) {
    (void)state;
    lc_config_free(cfg);
    cfg = NULL;
    return 0;
}

#endif /* LC_TEST_MKREPORT_H */
