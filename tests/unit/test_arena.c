/*
 * test_arena.c - lci_arena (alloc.c): blocks carved from chunks, the
 * arena as an lci_alloc (realloc and free in place on the newest block),
 * large blocks in chunks of their own, marks and resets.
 *
 * The backing allocator keeps a header before every chunk, so each test
 * can check that the arena passes realloc the true old size, frees only
 * live chunks and, once freed or reset, holds nothing more.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

typedef union hdr {
    size_t size;
    max_align_t align;
} hdr;

typedef struct base_ctx {
    size_t live, mallocs, reallocs, bad_old;
    int fail; /* fail every allocation */
    /* the newest chunks handed out (start, size), for test_block_inside */
    const unsigned char *at[64];
    size_t len[64];
    size_t nat;
} base_ctx;

static void *b_malloc(void *ctx, size_t size) {
    base_ctx *c = ctx;
    hdr *h;
    if (c->fail || !(h = malloc(sizeof *h + size)))
        return NULL;
    h->size = size;
    c->live++;
    c->mallocs++;
    if (c->nat < 64) {
        c->at[c->nat] = (const unsigned char *)(h + 1);
        c->len[c->nat++] = size;
    }
    return h + 1;
}

/* 1 if p[0..n) lies inside one chunk b_malloc handed out. */
static int inside_chunk(const base_ctx *c, const void *p, size_t n) {
    const unsigned char *q = p;
    size_t i;
    for (i = 0; i < c->nat; i++)
        if (q >= c->at[i] && n <= c->len[i] &&
            (size_t)(q - c->at[i]) <= c->len[i] - n)
            return 1;
    return 0;
}

static void *b_realloc(void *ctx, void *p, size_t old, size_t size) {
    base_ctx *c = ctx;
    hdr *h = (hdr *)p - 1;
    if (h->size != old)
        c->bad_old++;
    if (c->fail || !(h = realloc(h, sizeof *h + size)))
        return NULL;
    h->size = size;
    c->reallocs++;
    return h + 1;
}

static void b_free(void *ctx, void *p) {
    base_ctx *c = ctx;
    if (!p)
        return;
    c->live--;
    free((hdr *)p - 1);
}

static base_ctx bc;
static const lci_alloc base = {b_malloc, b_realloc, b_free, &bc};

static int reset_ctx(void **state) {
    (void)state;
    memset(&bc, 0, sizeof bc);
    return 0;
}

static int aligned(const void *p) {
    return (uintptr_t)p % _Alignof(max_align_t) == 0;
}

/* Small blocks share chunks, are aligned and distinct; the newest grows
 * and shrinks in place; free gives the newest back. */
static void test_small_blocks(void **state) {
    lci_arena ar;
    char *a, *b, *c;
    (void)state;
    lci_arena_init(&ar, &base);
    a = lci_arena_alloc(&ar, 10);
    b = lci_arena_alloc(&ar, 0);
    c = lci_malloc(&ar.as, 100);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_true(aligned(a) && aligned(b) && aligned(c));
    assert_true(a != b && b != c);
    assert_int_equal(bc.mallocs, 1);
    memset(c, 'x', 100);
    /* the newest: in place, both ways */
    assert_ptr_equal(lci_realloc(&ar.as, c, 100, 1000), c);
    assert_ptr_equal(lci_realloc(&ar.as, c, 1000, 50), c);
    /* not the newest: a copy when it grows, in place when it shrinks */
    a = memcpy(a, "abcdefghij", 10);
    b = lci_realloc(&ar.as, a, 10, 200);
    assert_ptr_not_equal(b, a);
    assert_memory_equal(b, "abcdefghij", 10);
    assert_ptr_equal(lci_realloc(&ar.as, c, 50, 20), c);
    /* freeing the newest gives its room back */
    c = lci_malloc(&ar.as, 64);
    lci_free(&ar.as, c);
    assert_ptr_equal(lci_malloc(&ar.as, 64), c);
    assert_int_equal(bc.mallocs, 1);
    lci_arena_free(&ar);
    assert_int_equal(bc.live, 0);
    assert_int_equal(bc.bad_old, 0);
}

/* Blocks that do not fit start chunks; a hint sizes the first. */
static void test_chunks_and_hint(void **state) {
    lci_arena ar;
    size_t i;
    (void)state;
    lci_arena_init(&ar, &base);
    for (i = 0; i < 100; i++)
        assert_non_null(lci_arena_alloc(&ar, 1000));
    assert_true(bc.mallocs > 1 && bc.mallocs < 10);
    lci_arena_free(&ar);
    assert_int_equal(bc.live, 0);

    memset(&bc, 0, sizeof bc);
    lci_arena_hint(&ar, 200000);
    for (i = 0; i < 100; i++)
        assert_non_null(lci_arena_alloc(&ar, 1000));
    assert_int_equal(bc.mallocs, 1);
    lci_arena_hint(&ar, 1); /* too late: nothing changes */
    lci_arena_free(&ar);
    assert_int_equal(bc.live, 0);
}

/* Every small block, whatever its size below the large-block threshold
 * (16 KiB), lies inside the chunk it was carved from: blocks larger than
 * the first chunks (4 and 8 KiB) once ran past their end (a transcript
 * turn of 3 KB wrote 6 KB of normalized text into a 4 KiB chunk). Also
 * through realloc of the newest block, and after other blocks. */
static void test_block_inside(void **state) {
    static const size_t sizes[] = {1,    4095, 4096, 4097,  5000, 8191,
                                   8192, 8193, 9000, 12000, 16383};
    size_t i, k;
    (void)state;
    for (k = 0; k < 3; k++) {
        for (i = 0; i < sizeof sizes / sizeof *sizes; i++) {
            lci_arena ar;
            unsigned char *p;
            memset(&bc, 0, sizeof bc);
            lci_arena_init(&ar, &base);
            if (k == 1) /* a chunk already started */
                assert_non_null(lci_arena_alloc(&ar, 100));
            if (k == 2) { /* the newest block grows to the size */
                p = lci_malloc(&ar.as, 10);
                assert_non_null(p);
                p = lci_realloc(&ar.as, p, 10, sizes[i]);
            } else {
                p = lci_arena_alloc(&ar, sizes[i]);
            }
            assert_non_null(p);
            if (!inside_chunk(&bc, p, sizes[i]))
                fail_msg("a block of %zu bytes (case %zu) runs past its "
                         "chunk",
                         sizes[i], k);
            memset(p, 0xA5, sizes[i]); /* and valgrind / ASan agree */
            lci_arena_free(&ar);
            assert_int_equal(bc.live, 0);
        }
    }
}

/* A large block gets a chunk of its own, grows into its room or by the
 * backing realloc, and gives the room back when it shrinks. */
static void test_large_blocks(void **state) {
    lci_arena ar;
    unsigned char *small, *p, *q;
    size_t i, n = 20000;
    (void)state;
    lci_arena_init(&ar, &base);
    small = lci_malloc(&ar.as, 16);
    p = lci_malloc(&ar.as, n);
    assert_non_null(small);
    assert_non_null(p);
    assert_true(aligned(p));
    assert_int_equal(bc.mallocs, 2);
    for (i = 0; i < n; i++)
        p[i] = (unsigned char)i;
    q = lci_realloc(&ar.as, p, n, 2 * n); /* into its room */
    assert_ptr_equal(q, p);
    assert_int_equal(bc.reallocs, 0);
    q = lci_realloc(&ar.as, q, 2 * n, 100 * n); /* beyond it */
    assert_non_null(q);
    assert_int_equal(bc.reallocs, 1);
    for (i = 0; i < n; i++)
        assert_int_equal(q[i], (unsigned char)i);
    q = lci_realloc(&ar.as, q, 100 * n, n); /* done: exact size */
    assert_int_equal(bc.reallocs, 2);
    /* small blocks still come from the first chunk */
    assert_non_null(lci_malloc(&ar.as, 16));
    assert_int_equal(bc.mallocs, 2);
    /* the newest large block can be given back */
    p = lci_malloc(&ar.as, n);
    assert_int_equal(bc.live, 3);
    lci_free(&ar.as, p);
    assert_int_equal(bc.live, 2);
    lci_arena_free(&ar);
    assert_int_equal(bc.live, 0);
    assert_int_equal(bc.bad_old, 0);
}

/* Reset frees what came after the mark, small and large, and carving
 * goes on from the mark. */
static void test_mark_reset(void **state) {
    lci_arena ar;
    lci_arena_mark m;
    char *a, *b;
    size_t i;
    (void)state;
    lci_arena_init(&ar, &base);
    a = lci_arena_alloc(&ar, 100);
    assert_non_null(a);
    lci_arena_mark_get(&ar, &m);
    b = lci_arena_alloc(&ar, 100);
    for (i = 0; i < 50; i++)
        assert_non_null(lci_arena_alloc(&ar, 3000));
    assert_non_null(lci_arena_alloc(&ar, 50000));
    assert_true(bc.live > 2);
    lci_arena_reset(&ar, &m);
    assert_int_equal(bc.live, 1);
    assert_ptr_equal(lci_arena_alloc(&ar, 100), b);
    /* a mark on an empty arena: reset frees everything */
    lci_arena_free(&ar);
    lci_arena_mark_get(&ar, &m);
    assert_non_null(lci_arena_alloc(&ar, 100));
    assert_non_null(lci_arena_alloc(&ar, 50000));
    lci_arena_reset(&ar, &m);
    assert_int_equal(bc.live, 0);
    lci_arena_free(&ar);
    assert_int_equal(bc.live, 0);
}

/* A failed backing allocation fails the call and changes nothing. */
static void test_failure(void **state) {
    lci_arena ar;
    char *a, *p;
    (void)state;
    lci_arena_init(&ar, &base);
    bc.fail = 1;
    assert_null(lci_arena_alloc(&ar, 10));
    assert_null(lci_malloc(&ar.as, 30000));
    bc.fail = 0;
    a = lci_arena_alloc(&ar, 10);
    p = lci_malloc(&ar.as, 30000);
    assert_non_null(a);
    assert_non_null(p);
    memset(p, 7, 30000);
    bc.fail = 1;
    assert_null(lci_realloc(&ar.as, p, 30000, 10000000));
    /* a shrink cannot fail: the block keeps its room */
    assert_ptr_equal(lci_realloc(&ar.as, p, 30000, 20000), p);
    assert_null(lci_arena_alloc(&ar, 60000));
    bc.fail = 0;
    assert_int_equal(((unsigned char *)p)[19999], 7);
    lci_arena_free(&ar);
    assert_int_equal(bc.live, 0);
    assert_int_equal(bc.bad_old, 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_small_blocks, reset_ctx),
        cmocka_unit_test_setup(test_chunks_and_hint, reset_ctx),
        cmocka_unit_test_setup(test_large_blocks, reset_ctx),
        cmocka_unit_test_setup(test_block_inside, reset_ctx),
        cmocka_unit_test_setup(test_mark_reset, reset_ctx),
        cmocka_unit_test_setup(test_failure, reset_ctx),
    };
    return cmocka_run_group_tests_name("arena", tests, NULL, NULL);
}
