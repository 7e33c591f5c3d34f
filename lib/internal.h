/*
 * internal.h - private declarations shared by the modules of libloopcheck.
 *
 * Naming: exported API is lc_* / LC_*; everything non-static here is
 * lci_<module>_<verb> so that a static libloopcheck.a exposes nothing that
 * could clash with the public prefix.
 *
 * Invariants:
 *  - every allocation goes through the config's lc_allocator (lci_malloc..)
 *  - lc_turn.text and lc_turn.norm are valid UTF-8 and NUL-terminated
 *  - token offsets index into lc_turn.norm
 */
#ifndef LOOPCHECK_INTERNAL_H
#define LOOPCHECK_INTERNAL_H

#include "loopcheck.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ------------------------------------------------------------------ */
/* Allocation (alloc.c)                                                 */
/* ------------------------------------------------------------------ */

typedef lc_allocator lci_alloc;

void *lci_malloc(const lci_alloc *a, size_t size);
void *lci_calloc(const lci_alloc *a, size_t n, size_t size);
void *lci_realloc(const lci_alloc *a, void *p, size_t old_size,
                  size_t new_size);
void lci_free(const lci_alloc *a, void *p);
char *lci_strndup(const lci_alloc *a, const char *s, size_t len);
/* overflow-checked a*b; returns false on overflow */
bool lci_mul_ok(size_t a, size_t b, size_t *out);
/* Grow *arr (element size `elem`) so that it holds at least `need`
 * elements; *cap is updated. Geometric growth. */
lc_status lci_grow(const lci_alloc *a, void **arr, size_t elem, size_t *cap,
                   size_t need);
/* The default (libc) allocator. */
extern const lci_alloc lci_default_alloc;

/*
 * Arena: blocks carved out of chunks got from a backing allocator and
 * given back all at once (lci_arena_free) or back to a mark
 * (lci_arena_reset). For data that lives and dies together, e.g. the
 * turns of a conversation: one allocation per chunk instead of several
 * per turn (large blocks get a chunk each, see alloc.c). `as` is the
 * arena as an lci_alloc (ctx = the arena, so the arena must not move
 * while it is used) for code that takes one, e.g. lci_tokenize: its
 * malloc carves a block, its realloc and free work in place on the most
 * recent block (grow if there is room, shrink, give back) and otherwise
 * copy or do nothing. Blocks are aligned like malloc's (max_align_t).
 */
typedef struct lci_arena_chunk lci_arena_chunk;
typedef struct lci_arena {
    lci_alloc as;          /* this arena as an allocator */
    const lci_alloc *base; /* where chunks come from */
    lci_arena_chunk *head; /* chunk small blocks come from; each links
                              to the one before */
    lci_arena_chunk *big;  /* chunks of one large block, newest first */
    unsigned char *last;   /* most recent block, NULL if unknown */
    int last_big;          /* last is the block of chunk `big` */
    size_t next;           /* payload size of the next chunk */
} lci_arena;
typedef struct lci_arena_mark {
    lci_arena_chunk *head, *big;
    size_t used;
} lci_arena_mark;
void lci_arena_init(lci_arena *ar, const lci_alloc *base);
/* Expect about `bytes` of blocks: before the first block this sizes the
 * first chunk (within limits); later it does nothing. */
void lci_arena_hint(lci_arena *ar, size_t bytes);
/* NULL if out of memory (the arena is unchanged). */
void *lci_arena_alloc(lci_arena *ar, size_t size);
void lci_arena_mark_get(const lci_arena *ar, lci_arena_mark *m);
/* Give back every block made after the mark was taken. */
void lci_arena_reset(lci_arena *ar, const lci_arena_mark *m);
/* Give back everything; the arena is empty and usable again. */
void lci_arena_free(lci_arena *ar);

/* ------------------------------------------------------------------ */
/* Growable byte buffer (buf.c)                                         */
/* ------------------------------------------------------------------ */

typedef struct lci_buf {
    char *data;
    size_t len;
    size_t cap;
    const lci_alloc *alloc;
} lci_buf;

void lci_buf_init(lci_buf *b, const lci_alloc *a);
void lci_buf_free(lci_buf *b);
lc_status lci_buf_reserve(lci_buf *b, size_t extra);
lc_status lci_buf_append(lci_buf *b, const void *data, size_t len);
lc_status lci_buf_putc(lci_buf *b, char c);
lc_status lci_buf_printf(lci_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* Append one number formatted by fmt, which holds exactly one floating
 * conversion (%f, %e or %g with any flags, width and precision, "*"
 * included) and nothing else, with '.' as the decimal point whatever
 * LC_NUMERIC says. The library never calls setlocale, but a host program
 * may (a harness that calls setlocale(LC_ALL, "") under de_DE gets
 * "0,5" from printf), and output that is parsed - JSON above all - must
 * not depend on it. Every double the library prints goes through here;
 * in the C locale the bytes are printf's own. */
lc_status lci_buf_num(lci_buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* The normalisation of lci_buf_num, exposed for its tests: s[0..len) is
 * the output of one floating conversion in some locale; each run of
 * bytes that are not digits, '+', '-', 'e', 'E' or ' ' (the locale's
 * decimal point, one byte or several, e.g. U+066B) becomes one '.'.
 * Output without a digit (inf, nan) is left alone. Rewrites in place and
 * returns the new length (<= len). */
size_t lci_num_dot(char *s, size_t len);
/* JSON string literal with quotes, escaping per RFC 8259. */
lc_status lci_buf_json_str(lci_buf *b, const char *s, size_t len);
/* XML-escaped text (for JUnit). */
lc_status lci_buf_xml_str(lci_buf *b, const char *s, size_t len);
/* Ensure data is NUL-terminated (not counted in len). */
lc_status lci_buf_terminate(lci_buf *b);
/* Hand the buffer to the caller: returns data, resets b. */
char *lci_buf_take(lci_buf *b);

/* Early return of a failed status (zstd's RETURN_ERROR_IF, in small). */
#define LCI_TRY(x)                                                           \
    do {                                                                     \
        lc_status st_ = (x);                                                 \
        if (st_ != LC_OK)                                                    \
            return st_;                                                      \
    } while (0)
/* Append a string literal to an lci_buf. */
#define LCI_LIT(b, s) lci_buf_append((b), (s), sizeof(s) - 1)

/* ------------------------------------------------------------------ */
/* Errors (status.c)                                                    */
/* ------------------------------------------------------------------ */

/* An lc_error with owned message storage. */
typedef struct lci_err {
    lc_error pub;
    char msg[256];
    char *source; /* owned copy */
} lci_err;

/* Record an error. Returns LC_ERR_NOMEM if the copy of `source` failed
 * (the error is still recorded, with source ""), else LC_OK. */
lc_status lci_err_set(lci_err *e, const lci_alloc *a, lc_status st,
                 lc_severity sev, const char *source, uint64_t line,
                 uint64_t col, uint64_t off, int64_t turn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 10, 11)))
#endif
    ;
void lci_err_clear(lci_err *e, const lci_alloc *a);
lc_status lci_err_copy(lci_err *dst, const lci_err *src, const lci_alloc *a);

/* Compute 1-based line and column (in code points) of byte `off` within
 * text[0..len). Slow path: only used when an error is produced. */
void lci_locate(const char *text, size_t len, size_t off, uint64_t *line,
                uint64_t *col);

/* ------------------------------------------------------------------ */
/* Config (config.c)                                                    */
/* ------------------------------------------------------------------ */

#define LCI_OPT_SLOTS 64
/* stopword hash set (stopwords.c): 1024 slots for ~200 words */
#define LCI_STOPSET_SLOTS 1024

typedef struct lci_speaker_map {
    char *name; /* case-folded ASCII lower */
    size_t len;
    lc_role role;
} lci_speaker_map;

struct lci_patterns; /* refusal.c */

struct lc_config {
    atomic_int refs;      /* handles hold a reference */
    atomic_int frozen;    /* set once a handle was created from it */
    lci_alloc alloc;
    int64_t raw[LCI_OPT_SLOTS];  /* as set; 0 = default */
    int64_t val[LCI_OPT_SLOTS];  /* effective values */
    lci_speaker_map *speakers;
    size_t nspeakers, capspeakers;
    struct lci_patterns *patterns; /* compiled refusal patterns */
    uint64_t stopset[LCI_STOPSET_SLOTS]; /* stopwords.c */
    lci_err err;
    int has_err;
    /* lc_config_family views (config.c), LCI_MAX_FAMILIES of them, the
     * first nfamilies filled; refreshed after every pattern load */
    lc_family_info *families;
    size_t nfamilies;
};

/* Effective value of an option (fast). */
static inline int64_t lci_opt(const lc_config *c, lc_opt k) {
    return c->val[(int)k];
}
/* Stopwords (stopwords.c): build the set; test a token hash. */
void lci_stopwords_build(uint64_t table[LCI_STOPSET_SLOTS]);
bool lci_stopword(const lc_config *c, uint64_t token_hash);
/* Take a reference (freezes the config). */
const lc_config *lci_config_ref(const lc_config *c);
void lci_config_unref(const lc_config *c);
/* Role for a transcript speaker set with lc_config_map_speaker; returns
 * false if not mapped. */
bool lci_config_speaker_role(const lc_config *c, const char *name,
                             size_t len, lc_role *role);

/* ------------------------------------------------------------------ */
/* Text: UTF-8 repair, normalization, tokens, hashing                   */
/* (normalize.c, tokens.c, hash.c)                                      */
/* ------------------------------------------------------------------ */

/* SSE2 fast paths (tokens.c, normalize.c, detect_degenerate.c); the
 * portable code is the reference they are tested against (-Dsimd=false
 * defines LCI_NO_SIMD). */
#if defined(__SSE2__) && !defined(LCI_NO_SIMD)
#include <emmintrin.h>
#define LCI_SSE2 1

/* 0xFF in each byte of v that is an ASCII letter or digit, else 0
 * (bytes >= 0x80 are negative as signed: never inside a range). */
static inline __m128i lci_sse2_ascii_alnum(__m128i v) {
    const __m128i lc = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i let =
        _mm_and_si128(_mm_cmpgt_epi8(lc, _mm_set1_epi8('a' - 1)),
                      _mm_cmpgt_epi8(_mm_set1_epi8('z' + 1), lc));
    const __m128i dig =
        _mm_and_si128(_mm_cmpgt_epi8(v, _mm_set1_epi8('0' - 1)),
                      _mm_cmpgt_epi8(_mm_set1_epi8('9' + 1), v));
    return _mm_or_si128(let, dig);
}
#else
#define LCI_SSE2 0
#endif

/* Index of the lowest set bit of m != 0 (the bit scans of the tokenizer
 * and of degenerate_repetition's word masks). */
static inline unsigned lci_ctz64(uint64_t m) {
#if defined(__GNUC__)
    return (unsigned)__builtin_ctzll(m);
#else
    unsigned k = 0;
    while (!(m & 1)) {
        m >>= 1;
        k++;
    }
    return k;
#endif
}

/* Token flags */
enum {
    LCI_TOK_SENT_START = 1 << 0, /* first token of a sentence or turn */
    LCI_TOK_QUOTED = 1 << 1,     /* inside "..." quotes */
    LCI_TOK_CJK = 1 << 2,        /* single CJK ideograph/kana token */
    LCI_TOK_NUMBER = 1 << 3,     /* all digits */
    LCI_TOK_TURN_START = 1 << 4  /* first token of the turn */
};

/* Longest token, in bytes: a longer run of letters (only possible in a
 * turn longer than 16 MiB, max_turn_bytes raised) is cut into tokens of
 * at most this many bytes, each ending on a code point boundary. The
 * limit keeps a token at 16 bytes: one to four per cache line, and a
 * third less memory than 24 for the token arrays of a huge turn. */
#define LCI_TOK_LEN_MAX ((1u << 24) - 1)

typedef struct lci_token {
    uint32_t off;        /* byte offset in norm */
    unsigned len : 24;   /* bytes, 1 .. LCI_TOK_LEN_MAX */
    unsigned flags : 8;  /* LCI_TOK_* */
    uint64_t hash;       /* XXH3-64 of the token bytes */
} lci_token;

/* The code point at s[0..n), n > 0: its length if it is well-formed
 * UTF-8, else 0 with *bad = the length of its maximal ill-formed subpart
 * (>= 1; each becomes one U+FFFD). The one decoding step of
 * lci_utf8_repair and the output writers' escaping (emit.c). */
size_t lci_utf8_next(const unsigned char *s, size_t n, size_t *bad);

/* The code point at s[0..n), n > 0, s[0] >= 0x80, decoded inline with
 * exactly the rules of utf8proc_iterate() (no overlongs, surrogates or
 * values above U+10FFFF; noncharacters are valid): its length 2..4 and
 * *u, or 0 and *u = -1 where utf8proc_iterate() returns an error. The
 * per-code-point step of the tokenizer's and the normalizer's fast
 * paths; utf8proc_iterate() stays the reference (test_normalize
 * compares both on every sequence of up to 3 bytes and on 4-byte ones
 * with every lead, first and second byte). */
static inline size_t lci_utf8_decode(const unsigned char *s, size_t n,
                                     int32_t *u) {
    uint32_t c = s[0], v;
    if (c - 0xC2u <= 0xDFu - 0xC2u) {
        if (n >= 2 && (s[1] & 0xC0) == 0x80) {
            *u = (int32_t)(((c & 0x1Fu) << 6) | (s[1] & 0x3Fu));
            return 2;
        }
    } else if (c - 0xE0u <= 0x0Fu) {
        if (n >= 3 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80) {
            v = ((c & 0x0Fu) << 12) | ((s[1] & 0x3Fu) << 6) | (s[2] & 0x3Fu);
            if (v >= 0x800 && (v < 0xD800 || v > 0xDFFF)) {
                *u = (int32_t)v;
                return 3;
            }
        }
    } else if (c - 0xF0u <= 0x04u) {
        if (n >= 4 && (s[1] & 0xC0) == 0x80 && (s[2] & 0xC0) == 0x80 &&
            (s[3] & 0xC0) == 0x80) {
            v = ((c & 0x07u) << 18) | ((s[1] & 0x3Fu) << 12) |
                ((s[2] & 0x3Fu) << 6) | (s[3] & 0x3Fu);
            if (v >= 0x10000 && v <= 0x10FFFF) {
                *u = (int32_t)v;
                return 4;
            }
        }
    }
    *u = -1;
    return 0;
}
/*
 * Replace invalid UTF-8 by U+FFFD. Appends valid UTF-8 to out.
 * *bad_count receives the number of replacements and *first_bad the
 * byte offset (in `in`) of the first one.
 */
lc_status lci_utf8_repair(const char *in, size_t len, lci_buf *out,
                          size_t *bad_count, size_t *first_bad);

/*
 * Normalize valid UTF-8 for comparison: NFKC + case fold (utf8proc),
 * curly quotes/apostrophes -> ASCII, zero-width and control characters
 * dropped, whitespace runs -> one ASCII space, trimmed. Appends to out.
 * fast != 0 uses the ASCII fast path (byte-identical output, tested).
 * Idempotent: normalize(normalize(x)) == normalize(x).
 */
lc_status lci_normalize(const char *in, size_t len, int fast, lci_buf *out);
/* The same with the decomposition scratch from `scratch` instead of
 * out's allocator (for an out in an arena, lci_turn_init). */
lc_status lci_normalize_ex(const char *in, size_t len, int fast, lci_buf *out,
                           const lci_alloc *scratch);

/*
 * Tokenize normalized text into word tokens (letters/digits with inner
 * apostrophes; each CJK character alone) with hashes and flags.
 * *toks is (re)allocated with a; *n receives the count.
 */
lc_status lci_tokenize(const lci_alloc *a, const char *norm, size_t len,
                       lci_token **toks, uint32_t *n);
/* The same tokens from the byte-wise state machine alone: the reference
 * the fast path (plain-ASCII runs by bit masks) is tested against. */
lc_status lci_tokenize_plain(const lci_alloc *a, const char *norm,
                             size_t len, lci_token **toks, uint32_t *n);

uint64_t lci_hash(const void *data, size_t len);
/* 16 lowercase hex digits + NUL into out[17]. */
void lci_hash_hex(uint64_t h, char out[17]);

/* ------------------------------------------------------------------ */
/* Turns and conversations (conversation.c)                             */
/* ------------------------------------------------------------------ */

typedef struct lci_refusal {
    uint8_t is_refusal; /* 0 no, 1 yes */
    uint8_t partial;    /* refusal followed by substantial help */
    int16_t family;     /* most specific family id, -1 if none */
    uint64_t families;  /* bit per family id */
    uint32_t span_start, span_end; /* bytes in the turn's original text */
    float score;
} lci_refusal;

typedef struct lci_turn {
    lc_turn pub;       /* strings owned by this struct */
    lci_token *tokens;
    uint32_t ntokens;
    lci_refusal refusal; /* filled by the session for assistant turns */
} lci_turn;

/* Fill t from raw text: repair, normalize, tokenize, hash. Allocates
 * pub.text, pub.norm, pub.speaker (copy; "" if NULL), tokens. On invalid
 * UTF-8 sets LC_TURN_REPAIRED and *bad_off (else SIZE_MAX). */
lc_status lci_turn_init(lci_turn *t, const lc_config *cfg, lc_role role,
                        const char *speaker, size_t speaker_len,
                        const char *text, size_t len, size_t *bad_off);
/* Deep copy (for sessions that outlive conversations). */
lc_status lci_turn_copy(lci_turn *dst, const lci_turn *src,
                        const lci_alloc *a);
void lci_turn_free(lci_turn *t, const lci_alloc *a);
/* The lci_turn that contains a public view (views always come from one). */
static inline const lci_turn *lci_turn_of(const lc_turn *pub) {
    return (const lci_turn *)(const void *)pub;
}

struct lc_conversation {
    const lc_config *cfg;   /* reference held */
    const lci_alloc *alloc; /* &cfg->alloc */
    char *id;     /* in names or in arena: never freed on its own */
    char *source; /* in names */
    char *names;  /* source and first id, one allocation (set_origin) */
    uint64_t line;
    lc_format format;
    lci_turn *turns;
    size_t nturns, capturns;
    lc_status status;
    lci_err *diags; /* errors first, then warnings */
    size_t ndiags, capdiags;
    char *speaker_note;
    /* deferred parse (LC_OPT_DEFER_PARSE = 2): the raw record, parsed by
     * lc_conversation_parse; unparsed != 0 until then */
    char *raw;
    size_t raw_len;
    uint64_t raw_offset;
    int unparsed;
    unsigned utf8_warned; /* LCI_UTF8_* fields already warned about */
    /* between lci_conv_begin and its commit/rollback: the id replaced by
     * lci_conv_set_id, kept for a rollback (id_saved: it was replaced) */
    int in_mark, id_saved;
    char *id_prev;
    /* the turns' strings and tokens (lci_conv_add) and the ids set by
     * lci_conv_set_id, freed as a whole: one allocation per chunk
     * instead of two per turn and one per id */
    lci_arena arena;
};

/* State of a conversation before a parse that may fail (lci_conv_begin):
 * lci_conv_rollback puts turns, diagnostics, status, id and warned
 * flags back exactly as they were, so a retry after LC_ERR_NOMEM gives
 * the same result as a first parse. */
typedef struct lci_conv_mark {
    size_t nturns, nerrors, ndiags;
    lc_status status;
    unsigned utf8_warned;
    char *speaker_note;
    lci_arena_mark arena;
} lci_conv_mark;
void lci_conv_begin(lc_conversation *c, lci_conv_mark *m);
void lci_conv_commit(lc_conversation *c);
void lci_conv_rollback(lc_conversation *c, const lci_conv_mark *m);

/* Record a diagnostic on a conversation (copies strings). */
lc_status lci_conv_diag(lc_conversation *c, lc_status st, lc_severity sev,
                        uint64_t line, uint64_t col, uint64_t off,
                        int64_t turn, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;
/* Invalid UTF-8 in the id becomes U+FFFD, silently (see conversation.c). */
lc_status lci_conv_set_id(lc_conversation *c, const char *id, size_t len);
/* Fields whose invalid UTF-8 is reported once per conversation. */
enum {
    LCI_UTF8_ID = 1 << 0,      /* the id ("id", "conversation_id", ...) */
    LCI_UTF8_ROLE = 1 << 1,    /* "role" / "from" of JSON messages */
    LCI_UTF8_SPEAKER = 1 << 2  /* any other speaker name (transcripts) */
};
/* Warning LC_ERR_UTF8 "invalid UTF-8 in WHAT replaced by U+FFFD", unless
 * one was recorded for `field` (an LCI_UTF8_* bit) on c already. */
lc_status lci_conv_warn_utf8(lc_conversation *c, unsigned field,
                             const char *what, uint64_t line, uint64_t col,
                             uint64_t off, int64_t turn);
/* Once, on a new conversation: the source name s[0..len) (copied as
 * is) and the id "s:line" ("input:line" if len == 0; U+FFFD for invalid
 * UTF-8), until lci_conv_set_id gives another. */
lc_status lci_conv_set_origin(lc_conversation *c, const char *s, size_t len,
                              uint64_t line);
/* The turns to come are read from a record of about `bytes` bytes: lets
 * the conversation size its storage once (before the first turn only). */
void lci_conv_expect(lc_conversation *c, size_t bytes);
/* Append a turn with its source position; returns the new turn. */
lc_status lci_conv_add(lc_conversation *c, lc_role role, const char *speaker,
                       size_t speaker_len, const char *text, size_t len,
                       uint64_t line, uint64_t col, uint64_t off,
                       unsigned flags, lci_turn **out);

/* Why lci_json_turn_key() (input.h) found no conversation key in a
 * turn-per-line record, as a diagnostic into buf[n]: the first key
 * present with an unusable value ("\"conversation_id\" is null, not a
 * string or number"), else that none is present. (json.c) */
struct json_object;
void lci_json_turn_key_why(struct json_object *obj, char *buf, size_t n);

/* Canonical JSON (as lci_json_canonical) of the text p[0..n) if it is a
 * flat object the fast path of json.c takes (strings without escapes,
 * plain integers, true/false/null): appends it to b and returns 1, with
 * *st the status (LC_OK or LC_ERR_NOMEM); else returns 0 and leaves b
 * and *st alone (the caller parses with json-c). */
int lci_json_flat_args(const char *p, size_t n, lci_buf *b, lc_status *st);

/* Map a speaker/role name ("human", "gpt", "Assistant") to a role.
 * Returns false if the name is not a known one. */
bool lci_role_from_name(const char *name, size_t len, lc_role *role);

/* ------------------------------------------------------------------ */
/* Refusal classification (refusal.c, patterns.c)                       */
/* ------------------------------------------------------------------ */

/* Compile the built-in pattern library. */
lc_status lci_patterns_new(const lci_alloc *a, struct lci_patterns **out);
void lci_patterns_free(struct lci_patterns *p, const lci_alloc *a);
/* Parse a user pattern file and add/disable families. On a syntax error
 * returns LC_ERR_PATTERN and fills err with source:line:col. */
lc_status lci_patterns_load(struct lci_patterns *p, const lci_alloc *a,
                            const char *source, const char *text, size_t len,
                            int64_t max_patterns, lci_err *err);
size_t lci_patterns_count(const struct lci_patterns *p);
const lc_pattern_info *lci_patterns_info(const struct lci_patterns *p,
                                         size_t i);
/* Family name by id (NULL if out of range). */
const char *lci_family_name(const struct lci_patterns *p, int family);
/* Comma-separated names of the families in a bit set, into buf. */
lc_status lci_family_list(const struct lci_patterns *p, uint64_t set,
                          lci_buf *buf);

/* Classify one assistant turn. */
void lci_refusal_classify(const lc_config *cfg, const lci_turn *t,
                          lci_refusal *out);

/* ---- Refusal module additions (patterns.c, refusal.c; refusal owner) ---- */

/* Family flags (pattern-file directives). */
enum {
    LCI_FAM_DISABLED = 1 << 0, /* `disable` */
    LCI_FAM_SOFT = 1 << 1,     /* `soft`: a caveat unless nothing follows */
    LCI_FAM_USER_ROLE = 1 << 2,/* `role user`: matched on user turns only */
    LCI_FAM_HELP = 1 << 3,     /* `role help`: marks help after a refusal */
    LCI_FAM_CANCEL = 1 << 4,   /* `cancel`: removes overlapping matches */
    LCI_FAM_ACCUMULATE = 1 << 5 /* `accumulate`: sentences add up */
};
#define LCI_MAX_FAMILIES 64

/* One pattern match, in token coordinates of the scanned turn. */
typedef struct lci_pmatch {
    uint32_t pattern;   /* index as in lci_patterns_info */
    int family;
    uint32_t tok_start; /* first token */
    uint32_t tok_end;   /* one past the last token */
} lci_pmatch;

/* Called per match; return non-zero to stop the scan. */
typedef int (*lci_pmatch_fn)(const lci_pmatch *m, void *ud);

/* One pass over toks[0..n): every enabled pattern whose family bit is in
 * `families` is tried at every position where its first word occurs
 * (hash-table lookup per token). At most one match per pattern and start
 * position (the first the backtracking matcher finds). The work is
 * bounded linearly in n; past the budget the rest is not scanned. */
void lci_patterns_scan(const struct lci_patterns *p, const lci_token *toks,
                       uint32_t n, uint64_t families, lci_pmatch_fn fn,
                       void *ud);
int lci_family_count(const struct lci_patterns *p);
/* Family id by name, -1 if unknown. */
int lci_family_find(const struct lci_patterns *p, const char *name);
int lci_family_specificity(const struct lci_patterns *p, int family);
int lci_family_weight(const struct lci_patterns *p, int family);
unsigned lci_family_flags(const struct lci_patterns *p, int family);
/* Bit f set for every family f scanned on assistant turns (neither
 * disabled nor `role user`), kept with the patterns: refusal.c needs it
 * for every assistant turn. 0 when p is NULL. */
uint64_t lci_family_assistant_mask(const struct lci_patterns *p);
/* Hashed features of an assistant turn for the linear refusal model
 * (refusal.c; trained by tools/train_refusal.py): fn(bucket, value) per
 * feature occurrence, bucket < LCI_FEAT_BUCKETS. */
#define LCI_FEAT_BUCKETS 65536u
typedef void (*lci_feat_fn)(uint32_t bucket, float value, void *ud);
void lci_refusal_features(const lc_config *cfg, const lci_turn *t,
                          lci_feat_fn fn, void *ud);
/* Compile the built-in library alone, reporting a syntax error in it
 * (a bug) with file:line:col in err. For tests. */
lc_status lci_patterns_selftest(const lci_alloc *a, lci_err *err);
/* Does a user turn contest a refusal ("I'm not in crisis", "that's not
 * what I asked")? Uses the config's (possibly user-extended) `pushback`
 * family; false when cfg is NULL. Allocation-free. */
bool lci_pushback_match(const lc_config *cfg, const lci_turn *t);
/* Work accounting (refusal owner): as lci_patterns_scan and
 * lci_refusal_classify, adding the work spent to *work (index probes,
 * entries visited and matcher steps; for classify also the tokens and
 * bytes its own passes walk). A scan spends at most a small constant per
 * token plus a base allowance (patterns.c); tests bound the total. */
void lci_patterns_scan_work(const struct lci_patterns *p,
                            const lci_token *toks, uint32_t n,
                            uint64_t families, lci_pmatch_fn fn, void *ud,
                            uint64_t *work);
void lci_refusal_classify_work(const lc_config *cfg, const lci_turn *t,
                               lci_refusal *out, uint64_t *work);

/* ---- Family listing (patterns.c accessors for config.c's
 * lc_config_family; added for `loopcheck patterns --families`) ---- */

/* Family id of pattern i (as in lci_patterns_info), -1 if out of range. */
int lci_pattern_family(const struct lci_patterns *p, size_t i);
/* Source name of the last successful lci_patterns_load, as the patterns
 * own it (valid while p lives); NULL if no user file was loaded. */
const char *lci_patterns_last_origin(const struct lci_patterns *p);

/* ------------------------------------------------------------------ */
/* Session and detectors (session.c, detectors.c, detect_*.c)           */
/* ------------------------------------------------------------------ */

/* A finding with owned storage behind its public view. */
typedef struct lci_finding {
    lc_finding pub;
    uint32_t *turns;      /* pub.turns points here */
    size_t capturns;
    char *excerpt;        /* pub.excerpt */
    char *families;       /* pub.families */
    char *speaker;        /* pub.speaker */
    int queued;           /* an event for it is pending */
} lci_finding;

typedef struct lci_detector_vt {
    const char *name;
    lc_kind kind; /* main kind; used for enabling via LC_OPT_KINDS */
    lc_status (*create)(lc_session *s, void **state);
    /* Called after the turn was appended (lci_session_turn(s, idx)). */
    lc_status (*on_turn)(void *state, lc_session *s, const lci_turn *t);
    lc_status (*finish)(void *state, lc_session *s);
    void (*destroy)(void *state, const lci_alloc *a);
    /* Optional (performance module, issue 6): back to the state `create`
     * makes, keeping allocations (lci_session_reset). NULL: the session
     * destroys and re-creates the state. On failure the state must still
     * be destroyable. */
    lc_status (*reset)(void *state, lc_session *s);
} lci_detector_vt;

/* Registry, in run order (detectors.c). NULL-terminated. */
extern const lci_detector_vt *const lci_detectors[];

/* Session services for detectors */
const lc_config *lci_session_config(const lc_session *s);
const lci_alloc *lci_session_alloc(const lc_session *s);
/* Number of turns pushed so far (= index of the latest turn). */
uint32_t lci_session_nturns(const lc_session *s);
/* The history ring at the head of every lc_session (session.c), so that
 * lci_session_turn, which detectors call in their inner loops, is
 * inline. Turn i (1-based) is in slot (i - 1) % window, valid iff
 * i > n - window. */
typedef struct lci_ring {
    lci_turn *turns;
    uint32_t n;      /* turns pushed */
    uint32_t window; /* ring size */
    uint32_t wmask;  /* window - 1 if a power of two (the default), else 0 */
} lci_ring;
/* Ring slot of 0-based turn number i (no division in the usual
 * power-of-two case: this is on every detector's path). */
static inline uint32_t lci_ring_pos(const lci_ring *r, uint32_t i) {
    return r->wmask ? i & r->wmask : i % r->window;
}
/* Turn by 1-based index, NULL if evicted from the history window. */
static inline const lci_turn *lci_session_turn(const lc_session *s,
                                               uint32_t idx) {
    const lci_ring *r = (const lci_ring *)(const void *)s;
    if (idx == 0 || idx > r->n || r->n - idx >= r->window)
        return NULL;
    return &r->turns[lci_ring_pos(r, idx - 1)];
}
/* New finding (zeroed, id assigned, queued as NEW when committed). */
lc_status lci_session_new_finding(lc_session *s, lc_kind kind,
                                  lci_finding **out);
/* Queue an event for f (NEW the first time, EXTENDED afterwards). */
void lci_session_touch(lc_session *s, lci_finding *f);
/* Findings so far (for cross-detector use, e.g. stalled_conversation). */
size_t lci_session_nfindings(const lc_session *s);
lci_finding *lci_session_finding_at(lc_session *s, size_t i);
/* Mark turn idx as part of a loop/recycling (for stalled_conversation). */
void lci_session_mark_looped(lc_session *s, uint32_t idx);
bool lci_session_is_looped(const lc_session *s, uint32_t idx);
/* Number of the turns lo..hi marked looped (turns outside the history
 * window count as not looped); *first receives the first of them, 0 if
 * none. One call for a whole window (stalled_conversation). */
uint32_t lci_session_count_looped(const lc_session *s, uint32_t lo,
                                  uint32_t hi, uint32_t *first);
/* Per-turn keys that several detectors need, computed at most once per
 * turn and kept in the history ring: lci_turn_words_key,
 * lci_error_signature (tool turns; 0 for the others) and
 * lci_speaker_key of t, a turn of the session (the one being pushed or
 * one from lci_session_turn; any other turn is keyed without caching). */
uint64_t lci_session_words_key(lc_session *s, const lci_turn *t);
uint64_t lci_session_errsig(lc_session *s, const lci_turn *t);
uint64_t lci_session_speaker_key(lc_session *s, const lci_turn *t);

/* ---- Session reuse (performance module, issue 6) ---- */
/* Back to the state of a new session (no turns, no findings, not
 * finished), keeping the ring, detector states and their maps. */
lc_status lci_session_reset(lc_session *s);
/* Push a turn that outlives the session (a conversation's, batch
 * analysis): the ring holds a shallow copy, nothing is deep-copied. */
lc_status lci_session_push_borrowed(lc_session *s, const lci_turn *turn);

/* Move the findings out of a finished session (report order); the
 * caller owns them afterwards (free with lci_finding_free). */
lc_status lci_session_take_findings(lc_session *s, lci_finding ***out,
                                    size_t *n);
void lci_finding_free(lci_finding *f, const lci_alloc *a);

/* Finding storage helpers */
lc_status lci_finding_add_turn(lc_session *s, lci_finding *f, uint32_t t);
lc_status lci_finding_set_excerpt(lc_session *s, lci_finding *f,
                                  const char *text, size_t len);
lc_status lci_finding_set_families(lc_session *s, lci_finding *f,
                                   uint64_t set);
/* Sets first/last turn and line, and role/speaker (from the last turn)
 * unless a speaker was set already. LC_ERR_NOMEM if copying the speaker
 * failed. */
lc_status lci_finding_set_span(lc_session *s, lci_finding *f, uint32_t first,
                          uint32_t last);

/* ------------------------------------------------------------------ */
/* Loop detectors: shared helpers (detect_util.c)                       */
/* Added by the loop-detector module (issue 3); used by detect_*.c.     */
/* ------------------------------------------------------------------ */

/* 64-bit finalizer (splitmix64): spreads token/shingle hashes. */
static inline uint64_t lci_mix64(uint64_t x) {
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* Open-addressing map uint64 -> uint64, zero-initialize to start. Keys
 * must be well-mixed hashes (slots come straight from their bits). */
typedef struct lci_u64map {
    uint64_t *keys; /* 0 = empty slot */
    uint64_t *vals;
    size_t cap, n;
} lci_u64map;

void lci_u64map_free(lci_u64map *m, const lci_alloc *a);
/* Pointer to the value of key, NULL if absent. Valid until the next
 * slot/retain call. */
uint64_t *lci_u64map_get(const lci_u64map *m, uint64_t key);
/* Make room for `need` entries in total (one rehash at most). */
lc_status lci_u64map_reserve(lci_u64map *m, const lci_alloc *a,
                             size_t need);
/* Find or insert key; *val points to its value (0 when *created). */
lc_status lci_u64map_slot(lci_u64map *m, const lci_alloc *a, uint64_t key,
                          uint64_t **val, bool *created);
/* Empty the map, keeping its table unless it has more than max_cap
 * slots (then it is freed: a huge conversation does not pin memory).
 * (performance module, issue 6) */
void lci_u64map_clear(lci_u64map *m, const lci_alloc *a, size_t max_cap);
/* Keep only entries for which keep() is true (called once per entry;
 * it may release what the value refers to), then shrink. */
lc_status lci_u64map_retain(lci_u64map *m, const lci_alloc *a,
                            bool (*keep)(uint64_t key, uint64_t val,
                                         void *ctx),
                            void *ctx);

/* Hash of the turn's word tokens only (punctuation, emoji and spacing
 * ignored): "I like to shop" == "I like to shop :)". */
uint64_t lci_turn_words_hash(const lci_turn *t);
/* The same equality as lci_turn_words_hash (equal word sequences, and
 * different ones apart from 64-bit collisions) computed several times
 * faster, for keys and comparisons; findings report lci_turn_words_hash. */
uint64_t lci_turn_words_key(const lci_turn *t);
/* Hash of (role, speaker label): "the same speaker". */
uint64_t lci_speaker_key(const lci_turn *t);
/* Assistant turn carrying a canonical tool call (LC_TURN_TOOL_CALL). */
bool lci_turn_is_call(const lci_turn *t);
/* Agent rule: signature of the first error-looking line of a turn
 * (ASCII-lowercased, digits dropped, blanks collapsed; a line naming an
 * error/exception/... wins over a "failed" summary line), 0 if no line in
 * the first 64 looks like an error. */
uint64_t lci_error_signature(const lci_turn *t);
/* Agent rule: hash of a tool call turn's canonical calls only (the lines
 * from the first "tool_call " on), so the same action with a reworded
 * thought around it is the same action; other turns: their hash. */
uint64_t lci_turn_action_hash(const lci_turn *t);
/* Agent rule: two observations repeat if both are absent, or they are
 * the same text, or both are errors with the same signature. */
bool lci_observation_repeats(const lci_turn *a, const lci_turn *b);
/* The latest finding of one kind made by another detector, followed
 * incrementally (findings are never removed while turns are pushed). */
typedef struct lci_kind_watch {
    size_t seen;               /* findings looked at so far */
    const lci_finding *latest; /* latest of the kind, NULL if none */
} lci_kind_watch;
/* Current last turn of the latest finding of `kind` (0 if none).
 * Amortized O(1): only findings made since the previous call are read. */
uint32_t lci_latest_end(lc_session *s, lci_kind_watch *w, lc_kind kind);
/* Excerpt from the original text of t starting at its word `word`
 * (0 = start of the turn); falls back to the normalized text. */
lc_status lci_detect_excerpt(lc_session *s, lci_finding *f,
                             const lci_turn *t, uint32_t word);
/* Set the finding's role and speaker from turn t. */
lc_status lci_detect_set_speaker(lc_session *s, lci_finding *f,
                                 const lci_turn *t);

/* Sketch of a turn's set of word 2-shingles (a lone word is its own
 * shingle) by one-permutation hashing (Li, Owen & Zhang 2012): the
 * shingle hashes are split into LCI_SKETCH_K bins by their top bits and
 * each bin keeps its minimum. O(words) to build, O(K) to compare; the
 * Jaccard estimate is exact unless two shingles of the union share a bin.
 * Tool observations also carry their error signature. */
#define LCI_SKETCH_K 64
typedef struct lci_sketch {
    uint32_t index;  /* turn it describes */
    uint32_t n;      /* shingles seen (0: no words) */
    uint64_t errsig; /* lci_error_signature for tool turns, else 0 */
    uint64_t action; /* lci_turn_action_hash for tool calls, else 0 */
    uint64_t h[LCI_SKETCH_K];
    uint64_t ne;     /* bit i set iff bin i is not empty */
} lci_sketch;
void lci_sketch_turn(const lci_turn *t, lci_sketch *out);
/* The same with the turn's error signature given (lci_session_errsig). */
void lci_sketch_turn_sig(const lci_turn *t, uint64_t errsig, lci_sketch *out);
/* Jaccard estimate: bins equal / bins non-empty in either sketch. */
double lci_sketch_jaccard(const lci_sketch *x, const lci_sketch *y);
/* Near-duplicate rule shared by near_duplicate_loop and recurring_turn:
 * -1 if a is not similar to b, else the similarity in [0,1]. Same role
 * required; identical hash: 1; tool observations: same error signature;
 * tool calls: identical only; free text: Jaccard >= pct percent (needs
 * both sketches, else not similar). */
double lci_turn_similarity(const lci_turn *a, const lci_sketch *sa,
                           const lci_turn *b, const lci_sketch *sb,
                           uint32_t pct);

/* The loop detectors (detect_*.c), registered in detectors.c. */
extern const lci_detector_vt lci_detect_exact;
extern const lci_detector_vt lci_detect_recurring;
extern const lci_detector_vt lci_detect_recycled;
extern const lci_detector_vt lci_detect_neardup;
extern const lci_detector_vt lci_detect_degenerate;
extern const lci_detector_vt lci_detect_stalled;

/* ------------------------------------------------------------------ */
/* Reports and writers (report.c, emit_*.c)                             */
/* ------------------------------------------------------------------ */

struct lc_report {
    const lc_config *cfg; /* reference held */
    const lci_alloc *alloc;
    /* conversation, source and speaker_note are in the report's own
     * allocation, after the struct (report_new) */
    char *conversation;
    char *source;
    uint64_t line;
    size_t nturns;
    lc_status status;
    lci_err err;
    lci_err *warnings;
    size_t nwarnings;
    lci_finding **findings;
    size_t nfindings;
    int refuses;
    int loops;
    uint64_t prompt_hash;
    const char *refusal_family; /* family of the first refusal or NULL
                                   (static or owned by cfg) */
    char *speaker_note;
};

/* A report with no findings, status LC_OK, and copies of id, src and
 * note (NULL: "") in its own allocation; lc_report_free frees it all. */
lc_status lci_report_alloc(const lc_config *cfg, const char *id,
                           const char *src, const char *note,
                           lc_report **out);

lc_status lci_emit_report_text(const lc_report *r, unsigned flags,
                               lci_buf *out);
lc_status lci_emit_report_json(const lc_report *r, lci_buf *out);
lc_status lci_emit_report_junit(const lc_report *r, lci_buf *out);
lc_status lci_emit_report_github(const lc_report *r, lci_buf *out);
/* Write a finding as a JSON object (shared by report and diff). */
lc_status lci_emit_finding_json(const lc_finding *f, lci_buf *out);

/* ------------------------------------------------------------------ */
/* Output helpers (emit.c; used by emit_*.c, summary.c, diff.c).        */
/* Added by the output/CLI module (issue 5).                            */
/* ------------------------------------------------------------------ */

/* Bit set of kinds, bit (1u << kind); the "gate" of the *_gated
 * emitters: findings whose kind is in the set trip the gate (JUnit
 * <failure>, GitHub ::error, text "error"), the others are reported as
 * notes. */
#define LCI_KINDS_ALL 0xFFFFFFFFu

lc_status lci_emit_report_text_gated(const lc_report *r, unsigned flags,
                                     uint32_t fail_kinds, lci_buf *out);
lc_status lci_emit_report_junit_gated(const lc_report *r, uint32_t fail_kinds,
                                      lci_buf *out);
lc_status lci_emit_report_github_gated(const lc_report *r,
                                       uint32_t fail_kinds, lci_buf *out);
/* Send out->data through fn, then empty out. LC_ERR_CALLBACK if fn
 * returned non-zero. */
lc_status lci_emit_flush(lci_buf *out, lc_write_fn fn, void *userdata);
/* GitHub workflow-command escaping: % CR LF always; ':' and ',' too when
 * `property` is non-zero; other C0 controls, DEL and C1 controls as
 * \u001b-style escapes; invalid UTF-8 as U+FFFD. */
lc_status lci_buf_gh_str(lci_buf *b, const char *s, size_t len, int property);
/* lci_buf_json_str of s with invalid UTF-8 replaced by U+FFFD (maximal
 * subparts, as lci_utf8_repair): the string always parses. */
lc_status lci_buf_json_text(lci_buf *b, const char *s, size_t len);
/* Replace invalid UTF-8 in b->data[from..len) by U+FFFD, in place (a
 * rendered JSON or XML text: its syntax is ASCII, so only string
 * contents change). */
lc_status lci_buf_utf8_guard(lci_buf *b, size_t from);
/* s for a terminal or log line: every C0 control (tab and newline
 * included), DEL and C1 control as a \u001b-style escape, invalid UTF-8
 * as U+FFFD, everything else as is. */
lc_status lci_buf_term_str(lci_buf *b, const char *s, size_t len);
/* Finite double as a JSON number ("%.6g" through lci_buf_num, so '.'
 * in any locale; NaN/inf -> 0). */
lc_status lci_buf_json_num(lci_buf *b, double v);
/* At most `max` code points of s (cut at a UTF-8 boundary, newlines and
 * tabs shown as spaces, runs of them as one), with "..." appended when
 * cut; other controls escaped and invalid UTF-8 replaced as by
 * lci_buf_term_str. */
lc_status lci_buf_excerpt(lci_buf *b, const char *s, size_t len, size_t max);
/* One-line human description of a finding: "turns 19-32, period 2 x 7
 * repeats, assistant: \"excerpt\"" (no kind, no location). */
lc_status lci_emit_finding_detail(const lc_finding *f, lci_buf *out);
/* Kind classes: loop kinds (used by diff) and refusal kinds. */
bool lci_kind_is_loop(lc_kind k);
bool lci_kind_is_refusal(lc_kind k);

/* Test hooks of the degenerate_repetition detector
 * (detect_degenerate.c; used by tests/unit/test_degenerate.c): the words
 * of `text` (NUL at text[len]) as the detector takes them, by its
 * current path or by the original two-pass one (`reference`), and its
 * measure of one turn with these settings. */
lc_status lci_degen_test_words(const lci_alloc *a, const char *text,
                               size_t len, bool symbols, bool reference,
                               uint64_t **out, size_t *n, bool *fast);
lc_status lci_degen_test_measure(const lci_alloc *a, uint32_t min_words,
                                 uint32_t pct, const char *text, size_t len,
                                 const lci_token *tokens, uint32_t ntok,
                                 bool reference, size_t *nw, double *ratio,
                                 bool *fires);

#endif /* LOOPCHECK_INTERNAL_H */
