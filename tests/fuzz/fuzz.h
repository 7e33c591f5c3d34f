/*
 * fuzz.h - shared helpers of the fuzz targets (tests/fuzz/fuzz_*.c).
 *
 * Each target defines LLVMFuzzerTestOneInput. Built with libFuzzer
 * (-Dfuzzing=true, clang) it is a real fuzzer; linked with
 * standalone_main.c it replays a corpus (meson test --suite fuzz).
 * Oracles call FUZZ_CHECK, which prints the failed condition and aborts:
 * abort() is how a fuzz target reports a bug (the library itself never
 * aborts on input).
 */
#ifndef LC_FUZZ_H
#define LC_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond)                                                     \
    do {                                                                     \
        if (!(cond)) {                                                       \
            fprintf(stderr, "%s:%d: fuzz oracle failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                        \
            abort();                                                         \
        }                                                                    \
    } while (0)

/* Strict UTF-8 check (no overlongs, surrogates or > U+10FFFF). */
static inline int fuzz_utf8_ok(const unsigned char *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        unsigned c = s[i];
        size_t k;
        unsigned cp, min;
        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xC2 && c <= 0xDF) {
            k = 1;
            cp = c & 0x1F;
            min = 0x80;
        } else if (c >= 0xE0 && c <= 0xEF) {
            k = 2;
            cp = c & 0x0F;
            min = 0x800;
        } else if (c >= 0xF0 && c <= 0xF4) {
            k = 3;
            cp = c & 0x07;
            min = 0x10000;
        } else {
            return 0;
        }
        if (n - i <= k)
            return 0;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += k + 1;
    }
    return 1;
}

/* FNV-1a, to digest results for comparisons between two runs. */
static inline uint64_t fuzz_mix(uint64_t h, const void *p, size_t n) {
    const unsigned char *b = (const unsigned char *)p;
    size_t i;
    for (i = 0; i < n; i++) {
        h ^= b[i];
        h *= UINT64_C(1099511628211);
    }
    return h;
}
static inline uint64_t fuzz_mix_u64(uint64_t h, uint64_t v) {
    return fuzz_mix(h, &v, sizeof v);
}
#define FUZZ_SEED UINT64_C(14695981039346656037)

/* Output sink for report writers: counts bytes, never fails. */
static inline int fuzz_sink(const char *data, size_t len, void *ud) {
    (void)data;
    *(size_t *)ud += len;
    return 0;
}

#endif /* LC_FUZZ_H */
