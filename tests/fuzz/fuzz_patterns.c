/*
 * fuzz_patterns.c - the refusal pattern-file parser (lc_config_add_patterns)
 * on arbitrary text, then the compiled patterns matched against text.
 *
 * Oracles: the call returns LC_OK, LC_ERR_PATTERN or LC_ERR_LIMIT; an
 * error comes with lc_config_error() naming the source, a 1-based line
 * no greater than the number of lines in the input and a 1-based column,
 * and the matching code; every listed pattern has a family, text and
 * origin; after a failed load the config still works (a session over the
 * input, pushed as user and assistant turns, runs without error).
 */
#include <string.h>

#include "fuzz.h"
#include "loopcheck.h"

static void push_all(lc_config *cfg, const char *text, size_t len) {
    lc_session *s = NULL;
    const lc_finding *f;
    FUZZ_CHECK(lc_session_new(cfg, &s) == LC_OK);
    FUZZ_CHECK(lc_session_push(s, LC_ROLE_USER, "u", 1, "please help",
                               11) == LC_OK);
    FUZZ_CHECK(lc_session_push(s, LC_ROLE_ASSISTANT, NULL, 0, text, len) ==
               LC_OK);
    FUZZ_CHECK(lc_session_push(s, LC_ROLE_USER, NULL, 0, text, len) ==
               LC_OK);
    FUZZ_CHECK(lc_session_push(s, LC_ROLE_ASSISTANT, NULL, 0, text, len) ==
               LC_OK);
    while (lc_session_next_finding(s, &f) == LC_OK)
        FUZZ_CHECK(f != NULL && f->kind_name != NULL);
    FUZZ_CHECK(lc_session_finish(s) == LC_OK);
    lc_session_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lc_config *cfg = NULL;
    const char *text = (const char *)data;
    size_t i, n, lines = 1;
    lc_status st;

    FUZZ_CHECK(lc_config_new(NULL, &cfg) == LC_OK);
    /* a small cap so the LC_ERR_LIMIT path is reachable */
    FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MAX_PATTERNS, 64) == LC_OK);
    for (i = 0; i < size; i++)
        if (data[i] == '\n')
            lines++;
    st = lc_config_add_patterns(cfg, "fuzz.patterns", text, size);
    FUZZ_CHECK(st == LC_OK || st == LC_ERR_PATTERN || st == LC_ERR_LIMIT);
    if (st != LC_OK) {
        const lc_error *e = lc_config_error(cfg);
        FUZZ_CHECK(e != NULL);
        FUZZ_CHECK(e->status == st);
        FUZZ_CHECK(e->severity == LC_SEVERITY_ERROR);
        FUZZ_CHECK(strcmp(e->code, lc_status_code(st)) == 0);
        FUZZ_CHECK(e->message != NULL && e->message[0] != '\0');
        FUZZ_CHECK(strcmp(e->source, "fuzz.patterns") == 0);
        FUZZ_CHECK(e->line >= 1 && e->line <= lines);
        FUZZ_CHECK(e->column >= 1 && e->column <= size + 1);
        FUZZ_CHECK(e->offset <= size);
    } else {
        FUZZ_CHECK(lc_config_error(cfg) == NULL);
    }
    n = lc_config_pattern_count(cfg);
    for (i = 0; i < n; i++) {
        const lc_pattern_info *p = lc_config_pattern(cfg, i);
        FUZZ_CHECK(p != NULL);
        FUZZ_CHECK(p->family != NULL && p->text != NULL && p->origin != NULL);
    }
    FUZZ_CHECK(lc_config_pattern(cfg, n) == NULL);
    push_all(cfg, text, size);
    lc_config_free(cfg);
    return 0;
}
