/*
 * alloc.c - allocator plumbing. Every allocation of libloopcheck goes
 * through an lc_allocator; the default one wraps libc. Size arithmetic
 * that can overflow is checked here.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

static void *libc_malloc(void *ctx, size_t size) {
    (void)ctx;
    return malloc(size ? size : 1);
}

static void *libc_realloc(void *ctx, void *p, size_t old_size, size_t size) {
    (void)ctx;
    (void)old_size;
    return realloc(p, size ? size : 1);
}

static void libc_free(void *ctx, void *p) {
    (void)ctx;
    free(p);
}

const lci_alloc lci_default_alloc = {libc_malloc, libc_realloc, libc_free,
                                     NULL};

void *lci_malloc(const lci_alloc *a, size_t size) {
    return a->malloc(a->ctx, size);
}

void *lci_calloc(const lci_alloc *a, size_t n, size_t size) {
    size_t total;
    void *p;
    if (!lci_mul_ok(n, size, &total))
        return NULL;
    p = a->malloc(a->ctx, total);
    if (p)
        memset(p, 0, total);
    return p;
}

void *lci_realloc(const lci_alloc *a, void *p, size_t old_size,
                  size_t new_size) {
    if (!p)
        return a->malloc(a->ctx, new_size);
    return a->realloc(a->ctx, p, old_size, new_size);
}

void lci_free(const lci_alloc *a, void *p) {
    if (p)
        a->free(a->ctx, p);
}

char *lci_strndup(const lci_alloc *a, const char *s, size_t len) {
    char *p;
    if (len == SIZE_MAX)
        return NULL;
    p = a->malloc(a->ctx, len + 1);
    if (!p)
        return NULL;
    if (len)
        memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

bool lci_mul_ok(size_t a, size_t b, size_t *out) {
    if (b && a > SIZE_MAX / b)
        return false;
    *out = a * b;
    return true;
}

lc_status lci_grow(const lci_alloc *a, void **arr, size_t elem, size_t *cap,
                   size_t need) {
    size_t ncap, old_bytes, new_bytes;
    void *p;
    if (need <= *cap)
        return LC_OK;
    ncap = *cap ? *cap : 8;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return LC_ERR_NOMEM;
        ncap *= 2;
    }
    if (!lci_mul_ok(ncap, elem, &new_bytes))
        return LC_ERR_NOMEM;
    old_bytes = *cap * elem;
    p = lci_realloc(a, *arr, old_bytes, new_bytes);
    if (!p)
        return LC_ERR_NOMEM;
    *arr = p;
    *cap = ncap;
    return LC_OK;
}
