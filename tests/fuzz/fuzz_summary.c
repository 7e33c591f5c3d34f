/*
 * fuzz_summary.c - lc_summary_merge_json (the summary JSON that shards
 * exchange, i.e. input from files) on arbitrary bytes.
 *
 * Oracles: the call returns LC_OK or a documented error (syntax, schema,
 * limit) and never changes the summary on error; after a successful
 * merge the summary still reconciles (read = analysed + failed), and
 * what lc_summary_write writes for it merges back into an empty summary
 * to the same counts (the writer's output is always readable).
 */
#include <string.h>

#include "fuzz.h"
#include "loopcheck.h"

typedef struct wbuf {
    char *data;
    size_t len, cap;
} wbuf;

static int wb_write(const char *d, size_t n, void *ud) {
    wbuf *b = ud;
    if (b->len + n + 1 > b->cap) {
        size_t nc = (b->len + n + 1) * 2;
        char *p = realloc(b->data, nc);
        FUZZ_CHECK(p != NULL);
        b->data = p;
        b->cap = nc;
    }
    memcpy(b->data + b->len, d, n);
    b->len += n;
    return 0;
}

static const lc_config *shared_config(void) {
    static lc_config *cfg;
    if (!cfg)
        FUZZ_CHECK(lc_config_new(NULL, &cfg) == LC_OK);
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const lc_config *cfg = shared_config();
    lc_summary *s = NULL, *back = NULL;
    lc_status st;
    wbuf w = {NULL, 0, 0};
    lc_kind k;

    FUZZ_CHECK(lc_summary_new(cfg, &s) == LC_OK);
    st = lc_summary_merge_json(s, (const char *)data, size);
    FUZZ_CHECK(st == LC_OK || st == LC_ERR_SYNTAX || st == LC_ERR_SCHEMA ||
               st == LC_ERR_LIMIT);
    if (st != LC_OK) {
        FUZZ_CHECK(lc_summary_read(s) == 0 && lc_summary_analysed(s) == 0 &&
                   lc_summary_failed(s) == 0);
    }
    FUZZ_CHECK(lc_summary_read(s) ==
               lc_summary_analysed(s) + lc_summary_failed(s));
    FUZZ_CHECK(lc_summary_write(s, LC_OUTPUT_JSON, 0, wb_write, &w) ==
               LC_OK);
    {
        wbuf t = {NULL, 0, 0};
        lc_output o;
        for (o = LC_OUTPUT_TEXT; o <= LC_OUTPUT_GITHUB; o++)
            FUZZ_CHECK(lc_summary_write(s, o, 0, wb_write, &t) == LC_OK);
        free(t.data);
    }
    FUZZ_CHECK(lc_summary_new(cfg, &back) == LC_OK);
    st = lc_summary_merge_json(back, w.data, w.len);
    if (st != LC_OK) {
        fprintf(stderr, "summary written by lc_summary_write does not merge "
                        "back (%s): %.*s\n",
                lc_status_code(st), (int)(w.len > 400 ? 400 : w.len),
                w.data);
        abort();
    }
    FUZZ_CHECK(lc_summary_read(back) == lc_summary_read(s));
    FUZZ_CHECK(lc_summary_analysed(back) == lc_summary_analysed(s));
    FUZZ_CHECK(lc_summary_failed(back) == lc_summary_failed(s));
    for (k = LC_KIND_EXACT_LOOP; k <= LC_KIND_REFUSAL_ONSET; k++)
        FUZZ_CHECK(lc_summary_kind_count(back, k) ==
                   lc_summary_kind_count(s, k));
    lc_summary_free(back);
    lc_summary_free(s);
    free(w.data);
    return 0;
}
