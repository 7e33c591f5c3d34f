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
 *    hash to lci_hash of their bytes.
 */
#include <string.h>

#include "fuzz.h"
#include "internal.h"

static void check_tokens(const char *norm, size_t len) {
    lci_token *toks = NULL;
    uint32_t n = 0, i;
    uint64_t prev_end = 0;
    lc_status st = lci_tokenize(&lci_default_alloc, norm, len, &toks, &n);
    FUZZ_CHECK(st == LC_OK);
    for (i = 0; i < n; i++) {
        FUZZ_CHECK(toks[i].len > 0);
        FUZZ_CHECK((uint64_t)toks[i].off >= prev_end);
        FUZZ_CHECK((uint64_t)toks[i].off + toks[i].len <= len);
        FUZZ_CHECK(toks[i].hash == lci_hash(norm + toks[i].off, toks[i].len));
        prev_end = (uint64_t)toks[i].off + toks[i].len;
    }
    lci_free(&lci_default_alloc, toks);
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

    FUZZ_CHECK(lci_normalize(valid.data ? valid.data : "", valid.len, 1,
                             &fast) == LC_OK);
    FUZZ_CHECK(lci_normalize(valid.data ? valid.data : "", valid.len, 0,
                             &plain) == LC_OK);
    if (fast.len != plain.len ||
        (fast.len && memcmp(fast.data, plain.data, fast.len) != 0)) {
        fprintf(stderr, "fast (%zu bytes) != plain (%zu bytes)\n", fast.len,
                plain.len);
        abort();
    }
    FUZZ_CHECK(fuzz_utf8_ok((const unsigned char *)fast.data, fast.len));
    if (fast.len) {
        FUZZ_CHECK(fast.data[0] != ' ');
        FUZZ_CHECK(fast.data[fast.len - 1] != ' ');
        for (i = 1; i < fast.len; i++)
            FUZZ_CHECK(!(fast.data[i] == ' ' && fast.data[i - 1] == ' '));
    }

    FUZZ_CHECK(lci_normalize(fast.data ? fast.data : "", fast.len, 1,
                             &again_fast) == LC_OK);
    FUZZ_CHECK(lci_normalize(plain.data ? plain.data : "", plain.len, 0,
                             &again_plain) == LC_OK);
    if (again_fast.len != fast.len ||
        (fast.len && memcmp(again_fast.data, fast.data, fast.len) != 0)) {
        fprintf(stderr, "not idempotent (fast path): %zu -> %zu bytes\n",
                fast.len, again_fast.len);
        abort();
    }
    if (again_plain.len != plain.len ||
        (plain.len && memcmp(again_plain.data, plain.data, plain.len) != 0)) {
        fprintf(stderr, "not idempotent (plain path): %zu -> %zu bytes\n",
                plain.len, again_plain.len);
        abort();
    }

    check_tokens(fast.data ? fast.data : "", fast.len);

    lci_buf_free(&valid);
    lci_buf_free(&fast);
    lci_buf_free(&plain);
    lci_buf_free(&again_fast);
    lci_buf_free(&again_plain);
    return 0;
}
