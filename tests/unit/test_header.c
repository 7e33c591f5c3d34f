/*
 * test_header.c - the public header compiles on its own, first, with no
 * other include before it, as strict ISO C (built twice by meson: -std=c99
 * -pedantic-errors and -std=c11 -pedantic-errors), and every public type,
 * enumerator and macro is usable from plain C. Linked to the shared
 * library, it also checks that the version macros match the runtime.
 * Plain program (exit 0 = pass, 1 = fail), no cmocka: it must not pull in
 * any header that could hide a missing include in loopcheck.h.
 */
#include "loopcheck.h"

#include <stdio.h>
#include <string.h>

static void *t_malloc(void *ctx, size_t n) {
    (void)ctx;
    (void)n;
    return NULL;
}
static void *t_realloc(void *ctx, void *p, size_t o, size_t n) {
    (void)ctx;
    (void)p;
    (void)o;
    (void)n;
    return NULL;
}
static void t_free(void *ctx, void *p) {
    (void)ctx;
    (void)p;
}
static int t_write(const char *d, size_t n, void *ud) {
    (void)d;
    (void)n;
    (void)ud;
    return 0;
}
static int t_report(const lc_report *r, void *ud) {
    (void)r;
    (void)ud;
    return 0;
}

int main(void) {
    int fails = 0;
    lc_allocator a;
    lc_error e;
    lc_turn t;
    lc_finding f;
    lc_pattern_info pi;
    lc_diff_stats ds;
    lc_write_fn wf = t_write;
    lc_report_fn rf = t_report;
    lc_config *cfg = NULL;
    lc_reader *rd = NULL;
    lc_conversation *cv = NULL;
    lc_session *s = NULL;
    lc_report *rep = NULL;
    lc_summary *sum = NULL;
    lc_diff *df = NULL;
    lc_status st = LC_OK;
    lc_severity sev = LC_SEVERITY_WARNING;
    lc_role role = LC_ROLE_TOOL;
    lc_format fmt = LC_FORMAT_JSON;
    lc_kind kind = LC_KIND_REFUSAL_ONSET;
    lc_opt opt = LC_OPT_KINDS;
    lc_event ev = LC_EVENT_EXTENDED;
    lc_output out = LC_OUTPUT_GITHUB;
    lc_verdict v = LC_VERDICT_IMPROVEMENT;
    unsigned flags = LC_WRITE_COLOR | LC_TURN_TRUNCATED;
    uint32_t bit = LC_KIND_BIT(LC_KIND_REFUSAL);

    memset(&e, 0, sizeof e);
    memset(&t, 0, sizeof t);
    memset(&f, 0, sizeof f);
    memset(&pi, 0, sizeof pi);
    memset(&ds, 0, sizeof ds);
    a.malloc = t_malloc;
    a.realloc = t_realloc;
    a.free = t_free;
    a.ctx = NULL;
    (void)wf;
    (void)rf;
    (void)cfg;
    (void)rd;
    (void)cv;
    (void)s;
    (void)rep;
    (void)sum;
    (void)df;
    (void)st;
    (void)sev;
    (void)role;
    (void)fmt;
    (void)kind;
    (void)opt;
    (void)ev;
    (void)out;
    (void)v;
    (void)flags;
    (void)a;

    if (bit != 1u << 20) {
        fprintf(stderr, "LC_KIND_BIT(LC_KIND_REFUSAL) = %lu\n",
                (unsigned long)bit);
        fails++;
    }
    if (LC_VERSION_NUMBER != LC_VERSION_MAJOR * 10000 +
                                 LC_VERSION_MINOR * 100 + LC_VERSION_PATCH) {
        fprintf(stderr, "LC_VERSION_NUMBER inconsistent\n");
        fails++;
    }
    if (lc_version_number() != LC_VERSION_NUMBER) {
        fprintf(stderr, "runtime version %u != header %d\n",
                lc_version_number(), LC_VERSION_NUMBER);
        fails++;
    }
    if (strcmp(lc_version_string(), LC_VERSION_STRING) != 0) {
        fprintf(stderr, "runtime version %s != header %s\n",
                lc_version_string(), LC_VERSION_STRING);
        fails++;
    }
    if (strcmp(lc_status_code(LC_ERR_LIMIT), "LC-E040") != 0) {
        fprintf(stderr, "lc_status_code(LC_ERR_LIMIT) wrong\n");
        fails++;
    }
    printf("%s: %s\n", fails ? "FAIL" : "ok",
#if defined(__STDC_VERSION__)
           __STDC_VERSION__ >= 201112L ? "C11" : "C99"
#else
           "C89"
#endif
    );
    return fails ? 1 : 0;
}
