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
 * Small blocks are carved from the newest chunk of `head` (chained
 * newest first; a block that does not fit starts a new chunk and the old
 * one's tail stays unused). Chunk payloads start at 4 KiB and double up
 * to 64 KiB, so n bytes of small blocks take O(log n) chunks at first
 * and one per 64 KiB after that, with at most about half of it unused. A
 * caller that knows how much it will need says so (lci_arena_hint) and
 * usually gets one chunk.
 *
 * A large block (ARENA_BIG and up: a long turn's text or tokens) gets a
 * chunk of its own in the `big` list, which the backing allocator grows
 * and shrinks as it would the block itself (glibc extends or mremaps
 * large blocks in place): carving it would copy it each time it outgrew
 * a chunk, and leave its room unused when it shrank. The work done on
 * such a block dwarfs the cost of its allocation.
 *
 * Realloc and free act in place on the most recent block (`last`) only:
 * growing it while its chunk has room, shrinking it, giving it back.
 */
#define ARENA_FIRST ((size_t)4096)
#define ARENA_MAX ((size_t)65536)
#define ARENA_BIG ((size_t)16384)
#define ARENA_BIG_ROOM ((size_t)256 << 10) /* most room to grow, see
                                               big_room */
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

/* Payload for a large block of `size` bytes with room to grow: arrays
 * built by doubling (tokens) then mostly grow in place; the room is
 * given back when the block shrinks to its final size. 0 if too large. */
static size_t big_room(size_t size) {
    size_t extra = size < ARENA_BIG_ROOM ? size : ARENA_BIG_ROOM;
    if (size > SIZE_MAX - ARENA_HDR - ARENA_ALIGN - extra)
        return 0;
    return arena_round(size + extra);
}

/* A chunk of its own for a large block, at the front of `big`. */
static void *big_alloc(lci_arena *ar, size_t size) {
    lci_arena_chunk *c;
    size_t payload = big_room(size);
    if (!payload)
        return NULL;
    c = lci_malloc(ar->base, ARENA_HDR + payload);
    if (!c)
        return NULL;
    c->prev = ar->big;
    c->size = payload;
    c->used = arena_round(size);
    ar->big = c;
    ar->last = chunk_data(c);
    ar->last_big = 1;
    return ar->last;
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
    if (p && p == ar->last && ar->last_big) {
        /* the newest large block, alone in the newest big chunk: grows
         * into its room, or the chunk is resized (to the exact size when
         * it shrinks, which is when it is done) */
        lci_arena_chunk *c = ar->big;
        size_t payload;
        if (size > SIZE_MAX - ARENA_HDR - ARENA_ALIGN)
            return NULL;
        if (size >= old_size && size <= c->size) {
            c->used = arena_round(size);
            return p;
        }
        payload = size < old_size ? arena_round(size) : big_room(size);
        if (!payload)
            return NULL;
        c = lci_realloc(ar->base, c, ARENA_HDR + c->size, ARENA_HDR + payload);
        if (!c && size < old_size) { /* a shrink cannot fail: keep the room */
            ar->big->used = arena_round(size);
            return p;
        }
        if (!c)
            return NULL;
        c->size = payload;
        c->used = arena_round(size);
        ar->big = c;
        ar->last = chunk_data(c);
        return ar->last;
    }
    if (p && p == ar->last) { /* the newest small block, in head */
        lci_arena_chunk *c = ar->head;
        size_t off = (size_t)((unsigned char *)p - chunk_data(c));
        if (size <= c->size - off) {
            c->used = arena_round(off + size);
            return p;
        }
        q = lci_arena_alloc(ar, size);
        if (!q)
            return NULL;
        memcpy(q, p, old_size);
        if (c != ar->head || ar->last_big) /* p's room is free again */
            c->used = off;
        return q;
    }
    if (size <= old_size)
        return p;
    q = lci_arena_alloc(ar, size);
    if (!q)
        return NULL;
    memcpy(q, p, old_size);
    return q;
}

static void arena_free(void *ctx, void *p) {
    lci_arena *ar = ctx;
    if (!p || p != ar->last)
        return;
    if (ar->last_big) {
        lci_arena_chunk *c = ar->big;
        ar->big = c->prev;
        lci_free(ar->base, c);
    } else {
        ar->head->used = (size_t)((unsigned char *)p - chunk_data(ar->head));
    }
    ar->last = NULL;
}

void lci_arena_init(lci_arena *ar, const lci_alloc *base) {
    ar->as.malloc = arena_malloc;
    ar->as.realloc = arena_realloc;
    ar->as.free = arena_free;
    ar->as.ctx = ar;
    ar->base = base;
    ar->head = NULL;
    ar->big = NULL;
    ar->last = NULL;
    ar->last_big = 0;
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
    if (size >= ARENA_BIG)
        return big_alloc(ar, size);
    if (!c || size > c->size - c->used) {
        /* a chunk of the next size, or of the block's own when that is
         * larger: a block under ARENA_BIG may not fit the first chunks
         * (4 KiB, 8 KiB; a 3 KB turn's normalized text did not) */
        size_t pay = arena_round(size) > ar->next ? arena_round(size)
                                                  : ar->next;
        c = lci_malloc(ar->base, ARENA_HDR + pay);
        if (!c)
            return NULL;
        c->prev = ar->head;
        c->size = pay;
        c->used = 0;
        ar->head = c;
        if (ar->next < ARENA_MAX)
            ar->next *= 2;
    }
    p = chunk_data(c) + c->used;
    c->used += arena_round(size); /* fits: c->size is a multiple too */
    ar->last = p;
    ar->last_big = 0;
    return p;
}

void lci_arena_mark_get(const lci_arena *ar, lci_arena_mark *m) {
    m->head = ar->head;
    m->used = ar->head ? ar->head->used : 0;
    m->big = ar->big;
}

static void free_chunks(const lci_alloc *a, lci_arena_chunk **list,
                        const lci_arena_chunk *to) {
    while (*list != to) {
        lci_arena_chunk *c = *list;
        *list = c->prev;
        lci_free(a, c);
    }
}

void lci_arena_reset(lci_arena *ar, const lci_arena_mark *m) {
    free_chunks(ar->base, &ar->head, m->head);
    free_chunks(ar->base, &ar->big, m->big);
    if (ar->head)
        ar->head->used = m->used;
    ar->last = NULL;
}

void lci_arena_free(lci_arena *ar) {
    free_chunks(ar->base, &ar->head, NULL);
    free_chunks(ar->base, &ar->big, NULL);
    ar->last = NULL;
    ar->next = ARENA_FIRST;
}
