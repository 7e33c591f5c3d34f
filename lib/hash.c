/*
 * hash.c - XXH3-64 over normalized text and tokens, and its canonical
 * hex form (big-endian, 16 lowercase digits, as xxhsum prints it).
 */
#include "internal.h"

#include <xxhash.h>

uint64_t lci_hash(const void *data, size_t len) {
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
