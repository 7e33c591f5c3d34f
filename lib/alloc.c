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

/* ------------------------------------------------------------------ */
/* Arena                                                                */
/* ------------------------------------------------------------------ */

/*
 * Chunks are chained newest first; blocks are carved from the newest
 * only (a block that does not fit starts a new chunk and the old one's
 * tail stays unused). Chunk payloads start at 4 KiB and double up to
 * 64 KiB, so a conversation of n bytes takes O(log n) chunks at first and
 * one per 64 KiB after that, with at most about half of it unused; a
 * block larger than the next chunk gets a chunk of its own size. A
 * caller that knows how much it will need says so (lci_arena_hint) and
 * usually gets one chunk.
 */
#define ARENA_FIRST ((size_t)4096)
#define ARENA_MAX ((size_t)65536)
/* largest first chunk lci_arena_hint asks for: beyond that, chunks of
 * this size cost one allocation per MiB, which no longer shows */
#define ARENA_HINT_MAX ((size_t)1 << 20)
#define ARENA_ALIGN (_Alignof(max_align_t))

struct lci_arena_chunk {
    lci_arena_chunk *prev;
    size_t size; /* payload bytes, a multiple of ARENA_ALIGN */
    size_t used; /* payload bytes handed out, a multiple of ARENA_ALIGN */
};

/* the payload starts at the first aligned offset after the header */
#define ARENA_HDR                                                          \
    ((sizeof(lci_arena_chunk) + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN)

static unsigned char *chunk_data(lci_arena_chunk *c) {
    return (unsigned char *)c + ARENA_HDR;
}

/* n rounded up to ARENA_ALIGN; n <= SIZE_MAX - ARENA_ALIGN */
static size_t arena_round(size_t n) {
    return (n + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
}

static void *arena_malloc(void *ctx, size_t size) {
    return lci_arena_alloc(ctx, size);
}

static void *arena_realloc(void *ctx, void *p, size_t old_size,
                           size_t size) {
    lci_arena *ar = ctx;
    unsigned char *q;
    if (!size)
        size = 1;
    if (p && p == ar->last) { /* the newest block, in the newest chunk */
        lci_arena_chunk *c = ar->head;
        size_t off = (size_t)((unsigned char *)p - chunk_data(c));
        if (size <= c->size - off) {
            c->used = arena_round(off + size);
            return p;
        }
    } else if (size <= old_size) {
        return p;
    }
    q = lci_arena_alloc(ar, size);
    if (!q)
        return NULL;
    memcpy(q, p, old_size < size ? old_size : size);
    return q;
}

static void arena_free(void *ctx, void *p) {
    lci_arena *ar = ctx;
    if (p && p == ar->last) {
        ar->head->used = (size_t)((unsigned char *)p - chunk_data(ar->head));
        ar->last = NULL;
    }
}

void lci_arena_init(lci_arena *ar, const lci_alloc *base) {
    ar->as.malloc = arena_malloc;
    ar->as.realloc = arena_realloc;
    ar->as.free = arena_free;
    ar->as.ctx = ar;
    ar->base = base;
    ar->head = NULL;
    ar->last = NULL;
    ar->next = ARENA_FIRST;
}

void lci_arena_hint(lci_arena *ar, size_t bytes) {
    if (ar->head)
        return;
    if (bytes > ARENA_HINT_MAX)
        bytes = ARENA_HINT_MAX;
    if (bytes > ARENA_FIRST)
        ar->next = arena_round(bytes);
}

void *lci_arena_alloc(lci_arena *ar, size_t size) {
    lci_arena_chunk *c = ar->head;
    unsigned char *p;
    if (!size)
        size = 1; /* distinct blocks have distinct addresses */
    if (!c || size > c->size - c->used) {
        size_t payload = ar->next;
        if (size > payload) {
            if (size > SIZE_MAX - ARENA_HDR - ARENA_ALIGN)
                return NULL;
            payload = arena_round(size);
        }
        c = lci_malloc(ar->base, ARENA_HDR + payload);
        if (!c)
            return NULL;
        c->prev = ar->head;
        c->size = payload;
        c->used = 0;
        ar->head = c;
        if (ar->next < ARENA_MAX)
            ar->next *= 2;
    }
    p = chunk_data(c) + c->used;
    c->used += arena_round(size); /* fits: c->size is a multiple too */
    ar->last = p;
    return p;
}

void lci_arena_mark_get(const lci_arena *ar, lci_arena_mark *m) {
    m->head = ar->head;
    m->used = ar->head ? ar->head->used : 0;
}

void lci_arena_reset(lci_arena *ar, const lci_arena_mark *m) {
    while (ar->head != m->head) {
        lci_arena_chunk *c = ar->head;
        ar->head = c->prev;
        lci_free(ar->base, c);
    }
    if (ar->head)
        ar->head->used = m->used;
    ar->last = NULL;
}

void lci_arena_free(lci_arena *ar) {
    while (ar->head) {
        lci_arena_chunk *c = ar->head;
        ar->head = c->prev;
        lci_free(ar->base, c);
    }
    ar->last = NULL;
    ar->next = ARENA_FIRST;
}
