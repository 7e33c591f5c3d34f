/*
 * fuzz_normalize.c - UTF-8 repair, normalization and tokenization on
 * arbitrary bytes.
 *
 * Oracles (abort on failure):
 *  - lci_utf8_repair yields valid UTF-8, reports a first bad offset
 *    inside the input iff it replaced something;
 *  - lci_normalize fast path == plain utf8proc path, byte for byte;
 *  - normalization is idempotent: normalize(normalize(x)) == normalize(x),
 *    for both paths;
 *  - the output is valid UTF-8 without leading/trailing/double spaces;
 *  - tokens lie inside the normalized text, in order, non-empty, and
 *    hash to lci_hash of their bytes;
 *  - the tokenizer's fast path (plain-ASCII runs by bit masks) gives
 *    exactly the tokens of the byte-wise reference, lci_tokenize_plain.
 */
#include <string.h>

#include "fuzz.h"
#include "internal.h"

static void check_tokens(const char *norm, size_t len) {
    lci_token *toks = NULL, *ref = NULL;
    uint32_t n = 0, nref = 0, i;
    uint64_t prev_end = 0;
    lc_status st = lci_tokenize(&lci_default_alloc, norm, len, &toks, &n);
    FUZZ_CHECK(st == LC_OK);
    FUZZ_CHECK(lci_tokenize_plain(&lci_default_alloc, norm, len, &ref,
                                  &nref) == LC_OK);
    FUZZ_CHECK(n == nref);
    for (i = 0; i < n; i++)
        FUZZ_CHECK(toks[i].off == ref[i].off && toks[i].len == ref[i].len &&
                   toks[i].hash == ref[i].hash &&
                   toks[i].flags == ref[i].flags);
    lci_free(&lci_default_alloc, ref);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(toks[i].len > 0);
        FUZZ_CHECK((uint64_t)toks[i].off >= prev_end);
        FUZZ_CHECK((uint64_t)toks[i].off + toks[i].len <= len);
        FUZZ_CHECK(toks[i].hash == lci_hash(norm + toks[i].off, toks[i].len));
        prev_end = (uint64_t)toks[i].off + toks[i].len;
    }
    lci_free(&lci_default_alloc, toks);
}

/* in normalized by the fast or the plain path into out, which must work. */
static void normalize(const lci_buf *in, int fast, lci_buf *out) {
    FUZZ_CHECK(lci_normalize(in->data ? in->data : "", in->len, fast, out) ==
               LC_OK);
}

/* Abort, saying what, unless got holds exactly the bytes of want. */
static void check_same(const lci_buf *want, const lci_buf *got,
                       const char *what) {
    if (got->len != want->len ||
        (want->len && memcmp(got->data, want->data, want->len) != 0)) {
        fprintf(stderr, "%s: %zu -> %zu bytes\n", what, want->len, got->len);
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    lci_buf valid, fast, plain, again_fast, again_plain;
    size_t bad = 0, first_bad = 0, i;
    const char *in = (const char *)data;

    lci_buf_init(&valid, &lci_default_alloc);
    lci_buf_init(&fast, &lci_default_alloc);
    lci_buf_init(&plain, &lci_default_alloc);
    lci_buf_init(&again_fast, &lci_default_alloc);
    lci_buf_init(&again_plain, &lci_default_alloc);

    FUZZ_CHECK(lci_utf8_repair(in, size, &valid, &bad, &first_bad) == LC_OK);
    FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)valid.data, valid.len));
    if (fuzz_utf8_ok(data, size)) {
        FUZZ_CHECK(bad == 0);
        FUZZ_CHECK(valid.len == size);
        FUZZ_CHECK(size == 0 || memcmp(valid.data, data, size) == 0);
    } else {
        FUZZ_CHECK(bad > 0);
        FUZZ_CHECK(first_bad < size);
        /* everything before the first bad byte is kept as is */
        FUZZ_CHECK(first_bad == 0 || memcmp(valid.data, data, first_bad) == 0);
    }

    normalize(&valid, 1, &fast);
    normalize(&valid, 0, &plain);
    check_same(&plain, &fast, "fast path != plain path");
    FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)fast.data, fast.len));
    if (fast.len) {
        FUZZ_CHECK(fast.data[0] != ' ');
        FUZZ_CHECK(fast.data[fast.len - 1] != ' ');
        for (i = 1; i < fast.len; i++)
            FUZZ_CHECK(!(fast.data[i] == ' ' && fast.data[i - 1] == ' '));
    }

    normalize(&fast, 1, &again_fast);
    normalize(&plain, 0, &again_plain);
    check_same(&fast, &again_fast, "not idempotent (fast path)");
    check_same(&plain, &again_plain, "not idempotent (plain path)");

    check_tokens(fast.data ? fast.data : "", fast.len);

    lci_buf_free(&valid);
    lci_buf_free(&fast);
    lci_buf_free(&plain);
    lci_buf_free(&again_fast);
    lci_buf_free(&again_plain);
    return 0;
}
