/*
 * tokens.c - word tokens over normalized text (output of lci_normalize).
 *
 * A token is
 *  - a maximal run of letters and digits (general categories L*, N*) with
 *    the marks (M*) that follow them; an apostrophe between two letters
 *    stays inside ("i'm", "don't", "rock'n'roll"; not "90's", "'tis");
 *  - or one CJK ideograph, kana or Hangul syllable (plus following marks),
 *    flagged LCI_TOK_CJK: those scripts are written without spaces.
 * Everything else (spaces, punctuation, symbols, emoji) separates tokens.
 *
 * Flags:
 *  - LCI_TOK_TURN_START: the first token.
 *  - LCI_TOK_SENT_START: the first token, and the first token after a
 *    sentence terminator: '!' '?' and non-ASCII terminators (U+3002,
 *    U+061F, U+06D4, U+0964/0965, U+1362, U+203C ...) always; '.' only if
 *    the next character does not continue a word, so "3.14" and
 *    "example.com" do not break a sentence (but "e.g. x" does).
 *  - LCI_TOK_NUMBER: every code point is a decimal digit (Nd).
 *  - LCI_TOK_QUOTED: between an ASCII '"' and the next one (normalization
 *    folded curly quotes to '"'). Tokens are marked only once the closing
 *    quote is seen, and a span that grows beyond LCI_QUOTE_MAX_TOKENS
 *    tokens is abandoned (its opening quote treated as a stray one), so an
 *    unmatched quote never marks the rest of a long turn; the next '"'
 *    then opens a new span.
 *
 * Cost: one pass; ASCII is classified by table, other BMP code points
 * (fast path) by lci_utf8_decode() and a memo of their class that
 * utf8proc_category() fills once per code point and process; one XXH3
 * per token.
 */
#include "internal.h"

#include <string.h>
#include <utf8proc.h>

/* Token hashes are lci_hash() values (XXH3-64; the unit test checks
 * equality). The hash of a short token costs about as much as the call
 * into libxxhash, so tokens use xxHash's documented header-only mode
 * (static, inlined copy of the same function from the system header). */
#define XXH_INLINE_ALL
#include <xxhash.h>

/* Without the per-length functions (meson checks for them, see the top
 * meson.build), every class takes XXH3_64bits: the same hashes. */
#if !defined(LCI_XXH3_LEN_FNS)
#define XXH3_len_1to3_64b(p, n, secret, seed) XXH3_64bits((p), (n))
#define XXH3_len_4to8_64b(p, n, secret, seed) XXH3_64bits((p), (n))
#define XXH3_len_9to16_64b(p, n, secret, seed) XXH3_64bits((p), (n))
#endif

/*
 * The fast path hashes a turn's tokens after it has found them all
 * (hash_batch), by length class. XXH3 of 1-16 bytes takes one of three
 * code paths (1-3, 4-8, 9-16 bytes), and which one a word takes goes
 * either way at random: hashed in text order, the length tests were
 * mispredicted about 0.6 times per token (callgrind --branch-sim), the
 * tokenizer's largest single cost. So the tokens of a chunk are listed
 * by class first (no branch that goes either way), then each class is
 * hashed by a loop of its own with the same code path every time: 4.9
 * instead of 8.3 ns per token on the bench corpus's words (standalone
 * loop). It takes about 20 more instructions per token (the listing),
 * yet corpus-s1-100mb runs 4% faster (-j 1, fastest of 25 runs each:
 * 594 against 619 ms). The per-class
 * functions are xxHash's own, from the header (XXH3_len_1to3_64b &
 * co., what XXH3_64bits calls for those lengths); the plain path hashes
 * each token by XXH3_64bits and stays the reference (test_tokens).
 */
#define HASH_CHUNK 256

/* The class of a token of n bytes (hash_len_class[n < 64 ? n : 64]): 0
 * for 1-3 bytes, 1 for 4-8, 2 for 9-16, 3 for the rest. The scan writes
 * it in the token's hash field, where hash_batch reads it (and then
 * writes the hash): a load and a store where the scan has the length at
 * hand, instead of a mask, a compare and a shift in hash_batch's
 * listing loop (0.7% fewer instructions in all on corpus-s1-2mb). */
#define HC4(k) k, k, k, k
#define HC16(k) HC4(k), HC4(k), HC4(k), HC4(k)
static const unsigned char hash_len_class[65] = {
    3, 0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 2, 2, HC16(3), HC16(3),
    HC16(3)};
#undef HC4
#undef HC16

static inline uint64_t len_class(size_t n) {
    return hash_len_class[n < 64 ? n : 64];
}

#if defined(__GNUC__)
__attribute__((noinline)) /* tokenize's registers stay its own */
#endif
static void hash_batch(const char *norm, lci_token *t, uint32_t n) {
    const unsigned char *s = (const unsigned char *)norm;
    uint32_t idx[4][HASH_CHUNK];
    uint32_t base, i, j;
    for (base = 0; base < n; base += HASH_CHUNK) {
        uint32_t end = n - base < HASH_CHUNK ? n : base + HASH_CHUNK;
        uint32_t c[4] = {0, 0, 0, 0};
        for (i = base; i < end; i++) {
            unsigned k = (unsigned)t[i].hash & 3; /* len_class */
            idx[k][c[k]++] = i;
        }
        for (j = 0; j < c[0]; j++) {
            lci_token *x = &t[idx[0][j]];
            x->hash = XXH3_len_1to3_64b(s + x->off, x->len, XXH3_kSecret, 0);
        }
        for (j = 0; j < c[1]; j++) {
            lci_token *x = &t[idx[1][j]];
            x->hash = XXH3_len_4to8_64b(s + x->off, x->len, XXH3_kSecret, 0);
        }
        for (j = 0; j < c[2]; j++) {
            lci_token *x = &t[idx[2][j]];
            x->hash =
                XXH3_len_9to16_64b(s + x->off, x->len, XXH3_kSecret, 0);
        }
        for (j = 0; j < c[3]; j++) {
            lci_token *x = &t[idx[3][j]];
            x->hash = (uint64_t)XXH3_64bits(s + x->off, x->len);
        }
    }
}

/* Is the text mostly ASCII, judged by 64 bytes taken from its first
 * HASH_SAMPLE (at most one in 16 of them >= 0x80; a scan of 256 bytes
 * cost 0.8% of all instructions, of 64 bytes 0.4%, these loads 0.3%)?
 * Such a turn's tokens are hashed by hash_batch. Other scripts' words come through the byte-wise code: CJK
 * tokens all take the same XXH3 path (one ideograph, 3 bytes), and
 * hashed in a batch lang-zh took 3% longer; Cyrillic gained nothing. A
 * wrong guess costs time only: the hashes are the same either way. */
#define HASH_SAMPLE 64

#if LCI_SSE2
/* The high bits of the 16 bytes at p, summed per 8 bytes (times 0x80). */
static inline __m128i high_bits16(const unsigned char *p) {
    return _mm_sad_epu8(
        _mm_and_si128(_mm_loadu_si128((const __m128i *)(const void *)p),
                      _mm_set1_epi8((char)0x80)),
        _mm_setzero_si128());
}
#endif

static bool mostly_ascii(const unsigned char *s, size_t len) {
    const uint64_t highs = UINT64_C(0x8080808080808080);
    size_t n = len < HASH_SAMPLE ? len : HASH_SAMPLE, i, high = 0;
    uint64_t w0, w1;
#if LCI_SSE2
    if (n >= 16) {
        /* four loads of 16 bytes spread over the sample (overlapping
         * when it is shorter than 64 bytes): no loop, whose exit went
         * either way with the text's length (9,300 mispredictions on
         * corpus-s1-2mb by callgrind's model) */
        size_t m = n - 16;
        __m128i acc = _mm_add_epi64(
            _mm_add_epi64(high_bits16(s), high_bits16(s + m / 3)),
            _mm_add_epi64(high_bits16(s + 2 * m / 3), high_bits16(s + m)));
        high = ((size_t)_mm_cvtsi128_si32(acc) +
                (size_t)_mm_cvtsi128_si32(_mm_srli_si128(acc, 8))) >>
               7;
        return high * 16 <= 64;
    }
#endif
    if (n >= 8) { /* the first and the last eight bytes */
        memcpy(&w0, s, 8);
        memcpy(&w1, s + n - 8, 8);
        w0 = ((w0 & highs) >> 7) + ((w1 & highs) >> 7);
        high = (size_t)((w0 * UINT64_C(0x0101010101010101)) >> 56);
        return high * 16 <= 16;
    }
    for (i = 0; i < n; i++)
        high += s[i] >> 7;
    return high * 16 <= n;
}

/* XXH3 of a token that emit() hashes at once: one copy of XXH3's length
 * tests for all of emit()'s call sites (as the compiler chose before
 * tokenize had constant flags). Inlined at each, lang-zh's mispredicted
 * branches rose from 585,000 to 648,000 by callgrind's model, lang-de's
 * from 990,000 to 1,067,000; through this call (and tokenize_other)
 * 588,000 and 995,000. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static uint64_t tok_hash(const char *p, size_t n) {
    return (uint64_t)XXH3_64bits(p, n);
}

/* Longest quoted span, in tokens, that is still marked LCI_TOK_QUOTED.
 * Quoted refusals and quoted user messages are short; 200 tokens is a
 * long paragraph. */
#define LCI_QUOTE_MAX_TOKENS 200u

enum {
    K_OTHER = 0,
    K_LETTER, /* L* */
    K_DIGIT,  /* Nd */
    K_NUM,    /* Nl, No */
    K_MARK,   /* M* */
    K_CJK,
    K_APOS,  /* ' */
    K_QUOTE, /* " */
    K_DOT,   /* . */
    K_TERM   /* ! ? and non-ASCII sentence terminators */
};

#define A4(b) acls_c(b), acls_c(b + 1), acls_c(b + 2), acls_c(b + 3)
#define acls_c(b)                                                          \
    (((b) >= 'a' && (b) <= 'z') || ((b) >= 'A' && (b) <= 'Z') ? K_LETTER  \
     : ((b) >= '0' && (b) <= '9')                          ? K_DIGIT       \
     : (b) == '\''                                         ? K_APOS        \
     : (b) == '"'                                          ? K_QUOTE       \
     : (b) == '.'                                          ? K_DOT         \
     : ((b) == '!' || (b) == '?')                          ? K_TERM        \
                                                           : K_OTHER)
#define A16(b) A4(b), A4(b + 4), A4(b + 8), A4(b + 12)
static const unsigned char acls[128] = {A16(0),  A16(16), A16(32),
                                        A16(48), A16(64), A16(80),
                                        A16(96), A16(112)};
#undef A4
#undef A16
#undef acls_c

#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)
#define LOWS UINT64_C(0x7F7F7F7F7F7F7F7F)

/* High bit set in every byte of w (8 bytes as loaded) that is 'a'..'z'. */
static inline uint64_t swar_az(uint64_t w) {
    uint64_t x = w & LOWS; /* no carries between bytes below */
    return (x + ONES * (0x80 - 'a')) & ~(x + ONES * (0x80 - 'z' - 1)) &
           ~w & HIGHS;
}

/* Index (by address) of the first byte whose high bit is set in m != 0. */
static inline size_t swar_first_byte(uint64_t m) {
#if defined(__GNUC__) && defined(__BYTE_ORDER__) &&                        \
    __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
    return (size_t)__builtin_ctzll(m) / 8;
#else
    unsigned char b[8];
    size_t k = 0;
    memcpy(b, &m, 8);
    while (!(b[k] & 0x80))
        k++;
    return k;
#endif
}

/* ------------------------------------------------------------------ */
/* Plain-ASCII regions, 16 or 64 bytes at a time                        */
/* ------------------------------------------------------------------ */

/*
 * The fast path (lci_tokenize) takes the text in windows of 16 or 64
 * bytes and describes each by two bit masks, bit k for byte k: w, ASCII
 * letters and digits (word bytes), and sp, the bytes that are neither a
 * word byte nor a space. Up to the first byte the byte-wise state
 * machine must see, tokens are the runs of word bits, found with two
 * count-trailing-zeros each instead of a class lookup and a branch per
 * byte. The sp bytes (a few per window) are first decided the way that
 * code decides them, where their neighbours allow: other ASCII
 * punctuation and controls separate words; an apostrophe between two
 * ASCII letters is a word byte, next to anything else ASCII a separator;
 * a dot followed by a word byte is a separator, followed by other ASCII
 * or the end of the text a sentence end, as are ! and ?. What is left -
 * non-ASCII, '"', and a dot or an apostrophe whose neighbour is
 * non-ASCII or outside the window - ends the window: the byte-wise code
 * (the plain path, lci_tokenize_plain) handles that one code point with
 * the same state (open word, digits only, last was a letter), then the
 * next window starts. The plain path is the reference;
 * the unit test and fuzz_normalize check both give the same tokens.
 */
#define TOK_SSE2 LCI_SSE2

/* len and flags of a token (bit-fields after `off`) written as one
 * 32-bit word, len in its low 24 bits: the x86-64 psABI lays bit-fields
 * out from the least significant bit (test_tokens checks the layout
 * and the fast path against the plain one, which writes the members).
 * -Dsimd=false builds the member stores. */
#if defined(__GNUC__) && defined(__x86_64__) && !defined(LCI_NO_SIMD) &&  \
    defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define TOK_LENFLAGS_WORD 1
#else
#define TOK_LENFLAGS_WORD 0
#endif

#if TOK_SSE2
/* lci_sse2_ascii_alnum() with one signed compare per range instead of
 * two: adding 0x1F maps 'a'..'z' (after OR 0x20: also 'A'..'Z'), and no
 * other byte, onto -128..-103; adding 0x50 maps '0'..'9', and no other
 * byte, onto -128..-119 (test_tokens checks all 256 bytes). */
static inline __m128i alnum16(__m128i v) {
    const __m128i lc = _mm_or_si128(v, _mm_set1_epi8(0x20));
    const __m128i let = _mm_cmpgt_epi8(_mm_set1_epi8(-102),
                                       _mm_add_epi8(lc, _mm_set1_epi8(0x1F)));
    const __m128i dig = _mm_cmpgt_epi8(_mm_set1_epi8(-118),
                                       _mm_add_epi8(v, _mm_set1_epi8(0x50)));
    return _mm_or_si128(let, dig);
}

/* Adds to *w the word bytes of the 16 at p, and to *ns the word bytes
 * and spaces (the complement of sp), at bit sh up. */
static inline void scan16(const unsigned char *p, unsigned sh, uint64_t *w,
                          uint64_t *ns) {
    const __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
    const __m128i a = alnum16(v);
    const unsigned mw = (unsigned)_mm_movemask_epi8(a);
    const unsigned mn = (unsigned)_mm_movemask_epi8(
        _mm_or_si128(a, _mm_cmpeq_epi8(v, _mm_set1_epi8(' '))));
    *w |= (uint64_t)mw << sh;
    *ns |= (uint64_t)mn << sh;
}
#endif

/* ASCII c (< 0x80) is a letter / a letter or digit (acls's classes). */
static inline int is_alpha(unsigned c) {
    return acls[c] == K_LETTER;
}

static inline int is_word(unsigned c) {
    return acls[c] == K_LETTER || acls[c] == K_DIGIT;
}

/* w and sp of the nb <= win bytes at p (win 16 or 64; bits >= nb are
 * 0). */
static inline void scan(const unsigned char *p, size_t nb, unsigned win,
                        uint64_t *w, uint64_t *sp) {
    uint64_t mw = 0, ms = 0;
#if TOK_SSE2
    unsigned char pad[64];
    if (nb < win) {
        memset(pad, 0, sizeof pad); /* constant size: a few stores */
        memcpy(pad, p, nb);
        p = pad;
    }
    /* win is 16 or 64: written out, with constant shifts and no loop */
    scan16(p, 0, &mw, &ms);
    if (win == 64) {
        scan16(p + 16, 16, &mw, &ms);
        scan16(p + 32, 32, &mw, &ms);
        scan16(p + 48, 48, &mw, &ms);
    }
    ms = ~ms; /* the bytes that are neither */
    if (nb < 64)
        ms &= (UINT64_C(1) << nb) - 1; /* not the padding */
#else
    size_t k;
    (void)win; /* only nb bytes are classified */
    for (k = 0; k < nb; k++) {
        uint64_t word = (uint64_t)(p[k] < 0x80 && is_word(p[k]));
        mw |= word << k;
        ms |= (uint64_t)(!word && p[k] != ' ') << k;
    }
#endif
    *w = mw;
    *sp = ms;
}

/* Index of the highest bit set in m != 0. */
static inline unsigned top_bit(uint64_t m) {
#if defined(__GNUC__)
    return 63u ^ (unsigned)__builtin_clzll(m); /* = 63 - clz: one bsr */
#else
    unsigned k = 63;
    while (!(m >> k))
        k--;
    return k;
#endif
}

/* 1 if the n bytes at p are all ASCII digits. */
static inline int all_digits(const unsigned char *p, size_t n) {
    size_t k;
    for (k = 0; k < n; k++)
        if ((unsigned)(p[k] - '0') >= 10u)
            return 0;
    return 1;
}

/*
 * Decide the sp bytes of the window of nb bytes at p (see above; `end`:
 * the text ends with the window), in order, up to the first one left to
 * the byte-wise code. Adds inner apostrophes to *w, sets *sm to the
 * sentence ends before it; returns the window's length in bytes up to
 * that point (nb if none).
 */
static inline unsigned resolve(const unsigned char *p, size_t nb, int end,
                               uint64_t sp, uint64_t *w, uint64_t *sm) {
    *sm = 0;
    while (sp) {
        unsigned k = lci_ctz64(sp);
        uint64_t bit = UINT64_C(1) << k;
        unsigned c = p[k];
        if (c == '.') {
            if (k + 1 < nb) {
                if (p[k + 1] >= 0x80)
                    return k;
                if (!is_word(p[k + 1]))
                    *sm |= bit;
            } else if (end) {
                *sm |= bit;
            } else {
                return k;
            }
        } else if (c == '\'') {
            if (k == 0 || (k + 1 == nb && !end))
                return k;
            if (k + 1 < nb) {
                if (p[k - 1] >= 0x80 || p[k + 1] >= 0x80)
                    return k;
                if (is_alpha(p[k - 1]) && is_alpha(p[k + 1]))
                    *w |= bit;
            }
        } else if (c == '!' || c == '?') {
            *sm |= bit;
        } else if (c >= 0x80 || c == '"') {
            return k;
        } /* else other ASCII: a separator */
        sp &= sp - 1;
    }
    return (unsigned)nb;
}

static int is_cjk(int32_t u) {
    if (u < 0x3005)
        return 0;
    return (u >= 0x4E00 && u <= 0x9FFF) ||   /* CJK unified ideographs */
           (u >= 0xAC00 && u <= 0xD7A3) ||   /* Hangul syllables */
           (u >= 0x3041 && u <= 0x3096) ||   /* Hiragana */
           (u >= 0x309D && u <= 0x309F) ||   /* Hiragana iteration marks */
           (u >= 0x30A1 && u <= 0x30FA) ||   /* Katakana */
           (u >= 0x30FC && u <= 0x30FF) ||   /* prolonged sound, iteration */
           (u >= 0x3400 && u <= 0x4DBF) ||   /* extension A */
           (u >= 0x3005 && u <= 0x3007) ||   /* iteration mark, ideo. zero */
           (u >= 0x3021 && u <= 0x3029) ||   /* Hangzhou numerals */
           (u >= 0x3038 && u <= 0x303B) ||
           (u >= 0x31F0 && u <= 0x31FF) ||   /* Katakana phonetic ext. */
           (u >= 0xF900 && u <= 0xFAFF) ||   /* compatibility ideographs */
           (u >= 0xFF66 && u <= 0xFF9D) ||   /* half-width Katakana */
           (u >= 0x1B000 && u <= 0x1B16F) || /* Kana supplement/ext. */
           (u >= 0x20000 && u <= 0x323AF);   /* extensions B-H */
}

static int classify(int32_t u) {
    if (u < 0)
        return K_OTHER; /* not UTF-8: the text was not normalized */
    if (u < 0x80)
        return acls[u];
    if (is_cjk(u))
        return K_CJK;
    switch (u) {
    case 0x037E: case 0x061F: case 0x06D4: case 0x0964: case 0x0965:
    case 0x1362: case 0x1367: case 0x1368: case 0x203C: case 0x203D:
    case 0x2047: case 0x2048: case 0x2049: case 0x3002: case 0xFE52:
    case 0xFE56: case 0xFE57: case 0xFF01: case 0xFF0E: case 0xFF1F:
    case 0xFF61:
        return K_TERM;
    default:
        break;
    }
    switch (utf8proc_category(u)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
        return K_LETTER;
    case UTF8PROC_CATEGORY_ND:
        return K_DIGIT;
    case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return K_NUM;
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return K_MARK;
    default:
        return K_OTHER;
    }
}

/*
 * classify() of the BMP code points met so far, plus 1 (0: not known
 * yet), shared by all threads: classify() is a pure function of the
 * code point, so racing threads store the same value (relaxed atomics,
 * which compile to plain byte loads and stores). The fast path's
 * replacement for a utf8proc_iterate() and a utf8proc_category() call
 * per non-ASCII code point; test_tokens compares it with the plain path
 * on every code point.
 */
static atomic_uchar class_memo[0x10000];

/* classify() of u < 0x10000 when class_memo does not know it yet:
 * computed and stored. */
#if defined(__GNUC__)
__attribute__((noinline))
#endif
static int class_memo_fill(int32_t u) {
    int k = classify(u);
    atomic_store_explicit(&class_memo[u], (unsigned char)(k + 1),
                          memory_order_relaxed);
    return k;
}

static inline int classify_memo(int32_t u) {
    unsigned m;
    if (u >= 0x10000)
        return classify(u);
    m = atomic_load_explicit(&class_memo[u], memory_order_relaxed);
    return m ? (int)m - 1 : class_memo_fill(u);
}

/* Class of the code point at s[i] (K_OTHER at the end); *clen its size.
 * fast: lci_utf8_decode() and class_memo; else the reference,
 * utf8proc_iterate() and classify(). */
static inline int class_at(const unsigned char *s, size_t len, size_t i,
                           size_t *clen, int fast) {
    utf8proc_int32_t u;
    utf8proc_ssize_t r;
    if (i >= len) {
        *clen = 0;
        return K_OTHER;
    }
    if (s[i] < 0x80) {
        *clen = 1;
        return acls[s[i]];
    }
    if (fast) {
        int32_t v;
        size_t n = lci_utf8_decode(s + i, len - i, &v);
        if (!n) {
            *clen = 1;
            return K_OTHER;
        }
        *clen = n;
        return classify_memo(v);
    }
    r = utf8proc_iterate(s + i, (utf8proc_ssize_t)(len - i), &u);
    if (r <= 0) {
        *clen = 1;
        return K_OTHER;
    }
    *clen = (size_t)r;
    return classify(u);
}

/* Tokens are collected in a local array first (12 KiB of stack): turns
 * up to about 3 KB of text fit, and then the result costs one allocation
 * of exactly the right size. With 64 slots, a quarter of the bench
 * corpus's turns went through the growth path (copy, realloc). */
#define LOCAL_TOKENS 512

typedef struct tok_state {
    const lci_alloc *a;
    const char *norm;
    lci_token *t;   /* local, or heap once more tokens are needed */
    size_t cap;
    uint32_t n;
    int sent;      /* next token starts a sentence */
    int qopen;     /* inside a (so far unclosed) quoted span */
    uint32_t qfirst; /* first token of that span */
    lci_token local[LOCAL_TOKENS];
} tok_state;

/* emit() runs once per token: keep it inlined, and its rare growth path
 * out of line. */
#if defined(__GNUC__)
#define TOK_HOT static inline __attribute__((always_inline))
#define TOK_COLD static __attribute__((noinline, cold))
#else
#define TOK_HOT static inline
#define TOK_COLD static
#endif

/* Room for `need` tokens in all (need > st->cap). */
TOK_COLD lc_status grow(tok_state *st, size_t need) {
    lc_status rc;
    if (need > UINT32_MAX)
        return LC_ERR_LIMIT;
    if (st->t == st->local) {
        lci_token *p = NULL;
        size_t cap = 0;
        rc = lci_grow(st->a, (void **)&p, sizeof *p, &cap,
                      need > 2 * st->cap ? need : 2 * st->cap);
        if (rc != LC_OK)
            return rc;
        memcpy(p, st->local, st->n * sizeof *p);
        st->t = p;
        st->cap = cap;
        return LC_OK;
    }
    return lci_grow(st->a, (void **)&st->t, sizeof *st->t, &st->cap, need);
}

TOK_COLD lc_status emit_long(tok_state *st, size_t start, size_t end,
                            uint32_t flags, int hash);

/* hash: hash the token now (the plain path, and CJK tokens: see
 * hash_batch), else leave it to hash_batch */
TOK_HOT lc_status emit(tok_state *st, size_t start, size_t end,
                      uint32_t flags, int hash) {
    lci_token *t;
    if (end - start > LCI_TOK_LEN_MAX)
        return emit_long(st, start, end, flags, hash);
    if (st->n >= st->cap) {
        lc_status rc = grow(st, (size_t)st->n + 1);
        if (rc != LC_OK)
            return rc;
    }
    t = &st->t[st->n];
    t->off = (uint32_t)start;
    t->len = (uint32_t)(end - start);
    t->hash = hash ? tok_hash(st->norm + start, end - start)
                   : len_class(end - start);
    if (st->sent)
        flags |= LCI_TOK_SENT_START;
    st->sent = 0;
    t->flags = flags;
    st->n++;
    if (st->qopen && st->n - st->qfirst > LCI_QUOTE_MAX_TOKENS)
        st->qopen = 0; /* stray quote: give the span up */
    return LC_OK;
}

/* A token longer than LCI_TOK_LEN_MAX: pieces of at most that many
 * bytes, each cut before a code point (norm is UTF-8), with the same
 * flags (a sentence start only on the first). */
TOK_COLD lc_status emit_long(tok_state *st, size_t start, size_t end,
                            uint32_t flags, int hash) {
    const unsigned char *s = (const unsigned char *)st->norm;
    while (end - start > LCI_TOK_LEN_MAX) {
        size_t cut = start + LCI_TOK_LEN_MAX;
        lc_status rc;
        while (cut > start + 1 && (s[cut] & 0xC0) == 0x80)
            cut--;
        if ((rc = emit(st, start, cut, flags, hash)) != LC_OK)
            return rc;
        start = cut;
    }
    return emit(st, start, end, flags, hash);
}

enum { T_NONE, T_WORD, T_CJK };

/*
 * Array ownership: on entry *toks is NULL or an array from a previous
 * call holding exactly *n elements (it is reused and resized, and *n is
 * passed to the allocator as its old size). On success it holds exactly
 * *n elements, or is NULL when *n == 0. On failure (LC_ERR_NOMEM,
 * LC_ERR_LIMIT for text over 4 GiB or 2^32-1 tokens) it has been freed
 * and *toks = NULL, *n = 0. LC_ERR_INVALID_ARG (NULL a, toks or n, or
 * NULL norm with len > 0) touches nothing.
 */

/* fast: the fast path; defer: its hashes left to hash_batch. defer is
 * a constant in both instances below (as a runtime flag it cost the
 * byte-wise loop registers: lang-zh took 2% more instructions), fast in
 * tokenize_ascii only. tokenize_other, for every other turn and the
 * plain path, is the code as it was before hash_batch: with fast a
 * constant too it took 1-2% fewer instructions on lang-ru and lang-zh,
 * but mispredicted more branches, and lang-zh was not faster (timings
 * within the noise of this machine either way). */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline lc_status tokenize(const lci_alloc *a, const char *norm,
                                 size_t len, lci_token **toks, uint32_t *n,
                                 int fast, int defer) {
    const unsigned char *s = (const unsigned char *)norm;
    tok_state st;
    size_t i = 0, start = 0, clen;
    int kind = T_NONE, digits = 0, letter = 0, k;
    unsigned win;
    lc_status rc = LC_OK;

    if (!a || !toks || !n || (!norm && len))
        return LC_ERR_INVALID_ARG;
    if (len > UINT32_MAX) {
        lci_free(a, *toks);
        *toks = NULL;
        *n = 0;
        return LC_ERR_LIMIT;
    }
    st.a = a;
    st.norm = norm;
    st.t = st.local;
    st.cap = LOCAL_TOKENS;
    st.n = 0;
    st.sent = 0;
    st.qopen = 0;
    st.qfirst = 0;

/* Close the open token, if any, at byte `e`. The fast path leaves its
 * hash to hash_batch, but for a CJK token's (3-4 bytes: its length class
 * is always the same, and hash_batch would only add its own cost). */
#define END_TOKEN(e)                                                       \
    do {                                                                   \
        if (kind != T_NONE) {                                              \
            rc = emit(&st, start, (e),                                     \
                      kind == T_CJK ? (uint32_t)LCI_TOK_CJK                \
                      : digits      ? (uint32_t)LCI_TOK_NUMBER             \
                                    : 0u,                                  \
                      !defer);                                             \
            if (rc != LC_OK)                                               \
                goto fail;                                                 \
            kind = T_NONE;                                                 \
        }                                                                  \
    } while (0)

    while (i < len) {
        /* Plain ASCII up to the next byte the code below must see. The
         * first window after the byte-wise code is 16 bytes: in text
         * with accents or quotes the next stop is seldom far, and a
         * 64-byte scan for a few bytes cost non-English text up to 0.6x
         * of the byte-wise speed. Non-ASCII (CJK...) goes there at once. */
        if (fast && s[i] < 0x80) {
            /* st.n and st.sent stay in registers across the windows (tp:
             * the next token; sent: LCI_TOK_SENT_START in the flags'
             * place, bits 24..31 of the len/flags word, if the next token
             * starts a sentence, else 0) from the first window with
             * tokens on (tp != NULL), written back around the rare calls
             * that use st and after the last window. A window without
             * tokens (a space before a non-ASCII word...) touches
             * neither. */
            lci_token *tp = NULL;
            uint32_t sent = 0;
#define TOK_SYNC_OUT()                                                     \
    do {                                                                   \
        st.n = (uint32_t)(tp - st.t);                                      \
        st.sent = sent != 0;                                               \
    } while (0)
#define TOK_SYNC_IN()                                                      \
    do {                                                                   \
        tp = st.t + st.n;                                                  \
        sent = st.sent ? (uint32_t)LCI_TOK_SENT_START << 24 : 0u;          \
    } while (0)
            win = 16;
            do {
                uint64_t w, sp, sm = 0, m;
                size_t nb = len - i < win ? len - i : win;
                const unsigned char *p = s + i;
                unsigned stop, adv, pos = 0;
                int end = nb == len - i;
                scan(p, nb, win, &w, &sp);
                stop = sp ? resolve(p, nb, end, sp, &w, &sm) : (unsigned)nb;
                if (stop == 0)
                    break;
                adv = stop;
                if (stop < 64) { /* the window ends there */
                    w &= (UINT64_C(1) << stop) - 1;
                    sm &= (UINT64_C(1) << stop) - 1;
                }
                if (kind != T_NONE) {
                    /* the first window after the byte-wise code, or a
                     * word over 64 bytes */
                    if (tp)
                        TOK_SYNC_OUT();
                    tp = NULL;
                    if (kind == T_CJK)
                        END_TOKEN(i);
                    if (kind == T_WORD) { /* the open word goes on */
                        unsigned run = ~w ? lci_ctz64(~w) : 64;
                        if (run) {
                            digits = digits && all_digits(p, run);
                            letter = is_alpha(p[run - 1]);
                        }
                        if (run < stop) {
                            END_TOKEN(i + run);
                            pos = run;
                        }
                    }
                }
                m = kind == T_WORD ? 0 : w & (~UINT64_C(0) << pos);
                if (m) {
                    if (!tp)
                        TOK_SYNC_IN();
                    /* a 64-byte window holds at most 32 tokens */
                    if (st.cap - (size_t)(tp - st.t) < 32) {
                        TOK_SYNC_OUT();
                        if ((rc = grow(&st, (size_t)st.n + 32)) != LC_OK)
                            goto fail;
                        TOK_SYNC_IN();
                    }
                    /* The runs of m are taken by their first and last
                     * bits, two masks read in step; the sentence ends by
                     * the position of the first one left (a token
                     * starting after it starts a sentence). */
                    uint64_t firsts = m & ~(m << 1), lasts = m & ~(m >> 1);
                    unsigned nsm = sm ? lci_ctz64(sm) : 64, ob = 64;
                    if ((m >> (stop - 1)) & 1) {
                        /* the last run reaches the window's end: it stays
                         * open (below), the loop takes the others */
                        ob = top_bit(firsts);
                        firsts ^= UINT64_C(1) << ob; /* both bits are set */
                        lasts ^= UINT64_C(1) << (stop - 1);
                    }
                    while (firsts) {
                        unsigned b = lci_ctz64(firsts);
                        unsigned e = lci_ctz64(lasts) + 1;
                        lci_token *t;
                        int dig;
                        firsts &= firsts - 1;
                        lasts &= lasts - 1;
                        if (nsm < b) { /* a sentence ended before it */
                            sent = (uint32_t)LCI_TOK_SENT_START << 24;
                            sm &= ~UINT64_C(0) << b;
                            nsm = sm ? lci_ctz64(sm) : 64;
                        }
                        /* p[b] is an ASCII letter or digit (an inner
                         * apostrophe never starts a run), so a digit iff
                         * <= '9'; most words start with a letter: no
                         * loop */
                        dig = p[b] <= '9' && all_digits(p + b, e - b);
                        t = tp++;
                        t->off = (uint32_t)(i + b);
#if TOK_LENFLAGS_WORD
                        {
                            uint32_t lf =
                                (e - b) |
                                (dig ? (uint32_t)LCI_TOK_NUMBER << 24 : 0u) |
                                sent;
                            memcpy((unsigned char *)t + 4, &lf, 4);
                        }
#else
                        t->len = e - b;
                        t->flags = (dig ? (uint32_t)LCI_TOK_NUMBER : 0u) |
                                   (sent >> 24);
#endif
                        t->hash = defer ? hash_len_class[e - b]
                                        : (uint64_t)XXH3_64bits(p + b, e - b);
                        sent = 0;
                    }
                    if (ob < 64 && ob > 0 && stop == nb && !end) {
                        /* the next window starts with the open word, a
                         * whole token there (a sentence end before it is
                         * still in sm: see below) */
                        adv = ob;
                    } else if (ob < 64) { /* the open word */
                        if (nsm < ob) {
                            sent = (uint32_t)LCI_TOK_SENT_START << 24;
                            sm &= ~UINT64_C(0) << ob;
                        }
                        kind = T_WORD;
                        start = i + ob;
                        digits = p[ob] <= '9' && all_digits(p + ob, stop - ob);
                        letter = is_alpha(p[stop - 1]);
                    }
                }
                if (sm && kind != T_WORD) { /* ends after the last token */
                    if (tp)
                        sent = (uint32_t)LCI_TOK_SENT_START << 24;
                    else
                        st.sent = 1;
                }
                if (tp && st.qopen &&
                    (uint32_t)(tp - st.t) - st.qfirst > LCI_QUOTE_MAX_TOKENS)
                    st.qopen = 0; /* what emit() does, once per window */
                i += adv;
                if (stop < nb || end)
                    break;
                win = 64;
            } while (s[i] < 0x80);
            if (tp)
                TOK_SYNC_OUT();
#undef TOK_SYNC_OUT
#undef TOK_SYNC_IN
            if (i >= len)
                break;
        }
        if (s[i] < 0x80) {
            k = acls[s[i]];
            clen = 1;
        } else {
            k = class_at(s, len, i, &clen, fast);
        }
        switch (k) {
        case K_LETTER:
        case K_DIGIT:
        case K_NUM:
        word:
            if (kind == T_CJK)
                END_TOKEN(i);
            if (kind == T_NONE) {
                kind = T_WORD;
                start = i;
                digits = 1;
            }
            digits &= k == K_DIGIT;
            letter = k == K_LETTER;
            i += clen;
            /* ASCII run inside the word: a-z 8 bytes at a time, then one
             * byte of anything else that continues the word; on the fast
             * path also non-ASCII letters, digits, numbers and marks
             * (what the dispatch above does with them, without going
             * through it) */
            for (;;) {
                if (fast && i < len && s[i] >= 0x80) {
                    int32_t v;
                    size_t cn = lci_utf8_decode(s + i, len - i, &v);
                    int c;
                    if (!cn)
                        break;
                    c = classify_memo(v);
                    if (c == K_LETTER || c == K_DIGIT || c == K_NUM) {
                        digits &= c == K_DIGIT;
                        letter = c == K_LETTER;
                    } else if (c == K_MARK) {
                        digits = 0;
                    } else {
                        break;
                    }
                    i += cn;
                    continue;
                }
                while (len - i >= 8) {
                    uint64_t w, nl;
                    size_t p;
                    memcpy(&w, s + i, 8);
                    nl = ~swar_az(w) & HIGHS;
                    p = nl ? swar_first_byte(nl) : 8;
                    if (p) {
                        digits = 0;
                        letter = 1;
                        i += p;
                    }
                    if (p < 8)
                        break;
                }
                if (i < len && s[i] < 0x80) {
                    int c = acls[s[i]];
                    if (c == K_LETTER || c == K_DIGIT) {
                        digits &= c == K_DIGIT;
                        letter = c == K_LETTER;
                        i++;
                        continue;
                    }
                } else if (fast && i < len) {
                    continue; /* non-ASCII: the top of the loop */
                }
                break;
            }
            /* The usual next step: one space, then an ASCII letter or
             * digit that starts the next word. Take it here rather than
             * going through the dispatch above twice. */
            if (len - i >= 2 && s[i] == ' ') {
                if (s[i + 1] < 0x80) {
                    if (acls[s[i + 1]] == K_LETTER ||
                        acls[s[i + 1]] == K_DIGIT) {
                        END_TOKEN(i);
                        i++;
                        k = acls[s[i]];
                        clen = 1;
                        goto word;
                    }
                } else if (fast) { /* the same for a non-ASCII start */
                    k = class_at(s, len, i + 1, &clen, 1);
                    if (k == K_LETTER || k == K_DIGIT || k == K_NUM) {
                        END_TOKEN(i);
                        i++;
                        goto word;
                    }
                }
            }
            continue;
        case K_CJK:
            END_TOKEN(i);
            kind = T_CJK;
            start = i;
            i += clen;
            continue;
        case K_MARK: /* attaches to the open token; else ignored */
            digits = 0;
            i += clen;
            continue;
        case K_APOS: {
            size_t nlen;
            if (kind == T_WORD && letter &&
                class_at(s, len, i + 1, &nlen, fast) == K_LETTER) {
                digits = 0;
                i++;
                continue;
            }
            END_TOKEN(i);
            break;
        }
        case K_DOT: {
            size_t nlen;
            int next = class_at(s, len, i + 1, &nlen, fast);
            END_TOKEN(i);
            if (next != K_LETTER && next != K_DIGIT && next != K_NUM &&
                next != K_CJK && next != K_MARK)
                st.sent = 1;
            break;
        }
        case K_TERM:
            END_TOKEN(i);
            st.sent = 1;
            break;
        case K_QUOTE:
            END_TOKEN(i);
            if (!st.qopen) {
                st.qopen = 1;
                st.qfirst = st.n;
            } else {
                uint32_t j;
                for (j = st.qfirst; j < st.n; j++)
                    st.t[j].flags |= LCI_TOK_QUOTED;
                st.qopen = 0;
            }
            break;
        default:
            END_TOKEN(i);
            break;
        }
        i += clen;
    }
    END_TOKEN(len);
#undef END_TOKEN
    if (st.n)
        st.t[0].flags |= LCI_TOK_TURN_START | LCI_TOK_SENT_START;
    if (defer)
        hash_batch(norm, st.t, st.n);

    /* Hand over exactly st.n elements (a later call may pass the array
     * back with *n as its size). */
    if (st.t == st.local) {
        lci_token *p = *toks;
        size_t want = (size_t)st.n * sizeof *p;
        if (st.n == 0) {
            lci_free(a, p);
            p = NULL;
        } else if (!p || *n != st.n) {
            p = p ? lci_realloc(a, p, (size_t)*n * sizeof *p, want)
                  : lci_malloc(a, want);
            if (!p) {
                rc = LC_ERR_NOMEM;
                goto fail;
            }
        }
        if (st.n)
            memcpy(p, st.local, want);
        *toks = p;
    } else {
        if (st.n < st.cap) {
            lci_token *p = lci_realloc(a, st.t, st.cap * sizeof *st.t,
                                       (size_t)st.n * sizeof *st.t);
            if (!p) {
                rc = LC_ERR_NOMEM;
                goto fail;
            }
            st.t = p;
        }
        lci_free(a, *toks);
        *toks = st.t;
    }
    *n = st.n;
    return LC_OK;

fail:
    if (st.t != st.local)
        lci_free(a, st.t);
    lci_free(a, *toks);
    *toks = NULL;
    *n = 0;
    return rc;
}

#if defined(__GNUC__)
#define TOK_NOINLINE __attribute__((noinline))
#else
#define TOK_NOINLINE
#endif

TOK_NOINLINE static lc_status tokenize_ascii(const lci_alloc *a,
                                             const char *norm, size_t len,
                                             lci_token **toks, uint32_t *n) {
    return tokenize(a, norm, len, toks, n, 1, 1);
}

TOK_NOINLINE static lc_status tokenize_other(const lci_alloc *a,
                                             const char *norm, size_t len,
                                             lci_token **toks, uint32_t *n,
                                             int fast) {
    return tokenize(a, norm, len, toks, n, fast, 0);
}

lc_status lci_tokenize(const lci_alloc *a, const char *norm, size_t len,
                       lci_token **toks, uint32_t *n) {
    if (norm && mostly_ascii((const unsigned char *)norm, len))
        return tokenize_ascii(a, norm, len, toks, n);
    return tokenize_other(a, norm, len, toks, n, 1);
}

lc_status lci_tokenize_plain(const lci_alloc *a, const char *norm,
                             size_t len, lci_token **toks, uint32_t *n) {
    return tokenize_other(a, norm, len, toks, n, 0);
}
