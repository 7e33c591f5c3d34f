/*
 * hash.c - XXH3-64 over normalized text and tokens, and its canonical
 * hex form (big-endian, 16 lowercase digits, as xxhsum prints it).
 */
#include "internal.h"

#include <xxhash.h>
#if defined(LCI_HAVE_XXH3_DISPATCH)
/* xxHash's runtime dispatch (meson.build checks that the installed
 * library exports it): the same XXH3 values, computed with AVX2 when the
 * CPU has it, for long inputs; short ones never reach the vector loop
 * and keep the direct call (through the dispatcher they cost more). */
#define XXH_DISPATCH_DISABLE_REPLACE
#include <xxh_x86dispatch.h>
#endif

/* Inputs up to this length take XXH3's scalar paths, whatever the
 * vector unit (XXH3_MIDSIZE_MAX in xxhash.h). */
#define LCI_HASH_SHORT 240u

uint64_t lci_hash(const void *data, size_t len) {
#if defined(LCI_HAVE_XXH3_DISPATCH)
    if (len > LCI_HASH_SHORT)
        return (uint64_t)XXH3_64bits_dispatch(data, len);
#endif
    return (uint64_t)XXH3_64bits(data, len);
}

void lci_hash_hex(uint64_t h, char out[17]) {
    static const char hex[] = "0123456789abcdef";
    int i;
    for (i = 15; i >= 0; i--) {
        out[i] = hex[h & 15];
        h >>= 4;
    }
    out[16] = '\0';
}
