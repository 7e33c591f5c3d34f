/*
 * patterns.c - the refusal pattern language: parser, compiler, token-hash
 * index and matcher, plus the built-in library (lib/patterns/builtin.lcp,
 * embedded at build time by lib/patterns/embed.py).
 *
 * Language (full reference: doc/patterns.md):
 *   [family NAME]          starts a section; later lines belong to NAME
 *   specificity N | weight N | soft | cancel | accumulate | disable | enable |
 *   role assistant|user|help
 *                          directives for the current family
 *   words                  normalized and tokenized exactly like turns
 *   (a|b c|d)  [opt]       alternatives / optional part (may nest)
 *   ...  *N                gap of up to 5 / up to N (1..32) tokens
 *   ^  <                   next token starts the turn / a sentence ('^'
 *                          only before the first word; both need a word
 *                          or group right after them, else an error)
 *   # comment              to end of line (at line start or after a blank)
 *
 * Compilation: every pattern becomes a small program for a backtracking
 * token VM (TOK, SPLIT, JMP, GAP, SET guard, anchors, MATCH). The words a
 * pattern can start with, and for each the words that can follow it, are
 * computed from the program; every (first word, 12 bits of the second
 * word's hash, pattern) triple goes into one hash table ("any second
 * word" when a gap or the end follows), as runs of entries per key. A
 * scan is a single pass over the turn's tokens with two table probes per
 * token, whatever the number of patterns, and a pattern is only run
 * where its first two words can match; an 8 KiB bit filter of the first
 * words lets most tokens skip both probes, and a 16 KiB one of the
 * (first word, 12 bits of the second word) keys most of the remaining
 * probes. Groups of LCI_SET_MIN or more
 * alternatives start with a SET guard (binary search over their first
 * words). Matching from one
 * start position is bounded by LCI_STEP_BUDGET VM steps; a 64-bit filter
 * of possible third words skips most near misses before the VM runs, and
 * a whole scan by LCI_SCAN_WORK_PER_TOKEN per token (+ a base), so even a
 * flood of pattern prefixes is classified in linear time.
 *
 * Invariants: program indices are absolute into p->insns; a failed load
 * leaves the pattern set exactly as it was before the call.
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "builtin_lcp.h" /* generated: lci_builtin_lcp[], lci_pushback_lcp[] */

#define LCI_GAP_DEFAULT 5
#define LCI_GAP_MAX 32
#define LCI_STEP_BUDGET 4096 /* VM steps per (pattern, start position) */
/* Work budget of one scan: index probes + entries visited + VM steps,
 * at most this many per token plus a base allowance (so short turns are
 * never cut). Ordinary text needs a few per token (measured with the
 * chained index, which also counted entries of other keys in a slot's
 * chain: 2-4 on the XSTest answers, at most ~30 in a short
 * refusal-dense turn; the keyed runs visit fewer); only
 * adversarial repetition of pattern prefixes exhausts it, and then the
 * rest of the turn is not scanned: classification stays linear-time. */
#define LCI_SCAN_WORK_PER_TOKEN 24
#define LCI_SCAN_WORK_BASE (1u << 18)
#define LCI_MAX_DEPTH 16     /* group nesting in one pattern */
/* First-word filter of the index: 2^LCI_FW_BITS bits (8 KiB), and the
 * (first word, second-word key) filter: 2^LCI_PAIR_BITS bits (16 KiB).
 * Twice the size they had: a token that gets through a filter wrongly
 * costs a branch that goes the unexpected way, and with 4 and 8 KiB
 * (0.7% of the other tokens, 2.5% with 1,000 user patterns; 3.8% and
 * 4.6% of the probes) that cost more than the misses of larger filters.
 * Classifying the 10 MB corpus 10 times (callgrind --branch-sim):
 * mispredicted branches 1.12M -> 0.88M (1.28M -> 0.99M with the user
 * patterns), L1 data misses 3.11M -> 3.62M (L2 hits), time 3.82 -> 3.42
 * ms a pass (bench/stages, best of 8 runs). */
#define LCI_FW_BITS 16
#define LCI_FW_SHIFT (64 - LCI_FW_BITS)
#define LCI_PAIR_BITS 17
/* Tokens a scan filters at once (candidate positions on the stack). */
#define LCI_SCAN_CHUNK 256

enum {
    OP_TOK, OP_SPLIT, OP_JMP, OP_GAP, OP_SENT, OP_TURN, OP_MATCH, OP_FAIL,
    OP_SET /* guard: next token's hash in sets[x .. x+y), not consumed */
};

/* Groups with at least this many alternatives get an OP_SET guard: the
 * alternatives' possible first words as a sorted array, so a group of
 * 100 verbs costs one binary search when none of them is there. */
#define LCI_SET_MIN 4

typedef struct insn {
    uint8_t op;
    uint8_t n;      /* OP_GAP: max tokens skipped */
    uint32_t x, y;  /* OP_SPLIT: x then y; OP_JMP: x */
    uint64_t hash;  /* OP_TOK */
} insn;

typedef struct pat {
    uint32_t prog; /* first instruction */
    int family;
    char *text;    /* as written (owned) */
    lc_pattern_info info;
} pat;

typedef struct fam_t {
    char *name;
    int specificity; /* 0..100, higher wins as "the" family */
    int weight;      /* -100..100, evidence of refusal */
    unsigned flags;  /* LCI_FAM_* */
} fam_t;

/* Second-word key of the index: the low LCI_KEY_BITS bits of the
 * second word's hash, or LCI_KEY_ANY (followed by anything, or by
 * nothing: a gap or the end follows the first word). */
#define LCI_KEY_BITS 12
#define LCI_KEY_ANY (1u << LCI_KEY_BITS)

/*
 * The index maps (first word's hash, second-word key) to a run of
 * entries, one per pattern whose first two words can be these, in
 * descending pattern order: the order the matcher tries them in (that of
 * the chained table this replaces, where an entry went to the head of
 * its slot's chain). A scan probes it twice per candidate token, with
 * the next token's key and with LCI_KEY_ANY.
 *
 * Why this layout (cachegrind, 10 MB corpus, built-ins + 1,000 user
 * patterns): the chained table (a 4-byte slot array, then 48-byte
 * entries keyed by the first word and six bits of the second) visited
 * 113K entries for 74K whose key matched, of which 31K passed the test
 * of bits 6..11 of the second word; with 3,864 entries (185 KB) the
 * visits missed L1 127K times. Keying by twelve bits, a pattern gets an
 * entry per distinct (first word, twelve bits of a second word) it can
 * start with (not per six-bit value), a probe reads 16-byte key slots
 * (open addressing, linear probing: no chains), and only the entries of
 * its own key are visited, 32 bytes each, two to a cache line.
 */
typedef struct islot {
    uint64_t hash; /* first word */
    uint32_t key;  /* second-word key + 1; 0: empty slot */
    uint32_t run;  /* index of the key's first entry in ents */
} islot;

typedef struct ient {
    uint64_t mask3; /* bit (h & 63) per possible third word; ~0 any */
    /* the same for bits 6..11 of the hash (h >> 6 & 63): with only the
     * low six bits, one of 64 words after a common first word ("the")
     * passed for a pattern with one possible second word */
    uint64_t mask3b;
    /* bits 6..11 of the possible second words, tested in LCI_KEY_ANY
     * runs only (the other runs' key holds them): ~0 where a gap or the
     * end follows the first word, a filter where the second words are
     * known but take all 64 values of their low six bits */
    uint64_t mask2b;
    uint32_t pat;
    uint8_t family; /* pats[pat].family: no read of pats before the VM */
    uint8_t last;   /* 1 on the last entry of a run */
    uint16_t unused;
} ient;

/* An entry as index_pattern makes them, before they are grouped. */
typedef struct raw_ent {
    uint64_t hash, mask3, mask3b, mask2b;
    uint32_t pat, key;
} raw_ent;

typedef struct first_word_t {
    uint64_t hash;
    uint64_t mask;  /* bit (h & 63) per possible second word; ~0 any */
    uint64_t mask3; /* bit (h & 63) per possible third word; ~0 any */
    uint64_t mask2b, mask3b; /* the same with bits 6..11 (ient) */
    /* bit (h & 4095) per possible second word (when mask is not ~0) */
    uint64_t keys2[LCI_KEY_ANY / 64];
} first_word_t;

struct lci_patterns {
    fam_t fam[LCI_MAX_FAMILIES];
    int nfam;
    pat *pats;
    size_t npats, cappats;
    insn *insns;
    size_t ninsns, capinsns;
    uint64_t *sets; /* OP_SET hash arrays, each sorted */
    size_t nsets, capsets;
    ient *ents;      /* runs of entries (64-byte aligned in ents_mem) */
    void *ents_mem;
    size_t nents;
    islot *slots;    /* size nslots, a power of two, at most half full */
    size_t nslots;
    first_word_t *fw; /* scratch for index_pattern */
    size_t nfw, capfw;
    raw_ent *raw;     /* scratch for rebuild_index */
    size_t nraw, capraw;
    /* bit (hash >> LCI_FW_SHIFT) set for every indexed first word (a
     * superset while an index is being rebuilt): most tokens start no
     * pattern, and one L1-resident bit test skips both of their probes */
    uint64_t fwbits[(1u << LCI_FW_BITS) / 64];
    /* likewise one bit per pair_key() of every index key (its low
     * bits: independent of the first-word filter's) */
    uint64_t pairbits[(1u << LCI_PAIR_BITS) / 64];
    char **origins; /* owned source names */
    size_t norigins, caporigins;
    size_t nuser; /* patterns loaded from user files */
    /* lci_family_assistant_mask (refresh_info) */
    uint64_t assistant_fams;
};

/* ------------------------------------------------------------------ */
/* Families                                                             */
/* ------------------------------------------------------------------ */

int lci_family_count(const struct lci_patterns *p) { return p ? p->nfam : 0; }

int lci_family_find(const struct lci_patterns *p, const char *name) {
    int i;
    if (!p || !name)
        return -1;
    for (i = 0; i < p->nfam; i++)
        if (strcmp(p->fam[i].name, name) == 0)
            return i;
    return -1;
}

static int family_find_n(const struct lci_patterns *p, const char *s,
                         size_t n) {
    int i;
    for (i = 0; i < p->nfam; i++)
        if (strlen(p->fam[i].name) == n && memcmp(p->fam[i].name, s, n) == 0)
            return i;
    return -1;
}

const char *lci_family_name(const struct lci_patterns *p, int family) {
    if (!p || family < 0 || family >= p->nfam)
        return NULL;
    return p->fam[family].name;
}

int lci_family_specificity(const struct lci_patterns *p, int family) {
    return (p && family >= 0 && family < p->nfam) ? p->fam[family].specificity
                                                   : 0;
}

int lci_family_weight(const struct lci_patterns *p, int family) {
    return (p && family >= 0 && family < p->nfam) ? p->fam[family].weight : 0;
}

unsigned lci_family_flags(const struct lci_patterns *p, int family) {
    return (p && family >= 0 && family < p->nfam) ? p->fam[family].flags
                                                   : LCI_FAM_DISABLED;
}

uint64_t lci_family_assistant_mask(const struct lci_patterns *p) {
    return p ? p->assistant_fams : 0;
}

lc_status lci_family_list(const struct lci_patterns *p, uint64_t set,
                          lci_buf *buf) {
    int i, first = 1;
    lc_status st;
    if (!p || !buf)
        return LC_ERR_INVALID_ARG;
    for (i = 0; i < p->nfam && i < 64; i++) {
        if (!(set & ((uint64_t)1 << i)))
            continue;
        if (!first && (st = lci_buf_putc(buf, ',')) != LC_OK)
            return st;
        st = lci_buf_append(buf, p->fam[i].name, strlen(p->fam[i].name));
        if (st != LC_OK)
            return st;
        first = 0;
    }
    return lci_buf_terminate(buf);
}

/* ------------------------------------------------------------------ */
/* Listing                                                              */
/* ------------------------------------------------------------------ */

size_t lci_patterns_count(const struct lci_patterns *p) {
    return p ? p->npats : 0;
}

const lc_pattern_info *lci_patterns_info(const struct lci_patterns *p,
                                         size_t i) {
    if (!p || i >= p->npats)
        return NULL;
    return &p->pats[i].info;
}

int lci_pattern_family(const struct lci_patterns *p, size_t i) {
    return (p && i < p->npats) ? p->pats[i].family : -1;
}

const char *lci_patterns_last_origin(const struct lci_patterns *p) {
    return (p && p->norigins) ? p->origins[p->norigins - 1] : NULL;
}

/* What follows from the families and patterns once they are final (after
 * every compile and load, failed ones included). */
static void refresh_info(struct lci_patterns *p) {
    size_t i;
    int f;
    for (i = 0; i < p->npats; i++) {
        pat *q = &p->pats[i];
        q->info.family = p->fam[q->family].name;
        q->info.text = q->text;
        q->info.enabled = !(p->fam[q->family].flags & LCI_FAM_DISABLED);
    }
    p->assistant_fams = 0;
    for (f = 0; f < p->nfam; f++)
        if (!(p->fam[f].flags & (LCI_FAM_DISABLED | LCI_FAM_USER_ROLE)))
            p->assistant_fams |= (uint64_t)1 << f;
}

/* ------------------------------------------------------------------ */
/* Index                                                                */
/* ------------------------------------------------------------------ */

/* Key of the pair filter: probe 1 (LCI_KEY_ANY) is keyed by the first
 * word alone; probe 0 by the first word and twelve bits of the second
 * one, so a common first word ("the") gets past it only before the
 * second words its patterns can have. */
static uint32_t pair_key(uint32_t key) {
    return key == LCI_KEY_ANY ? 64 : 65 + key;
}

static uint32_t pair_of(uint64_t h, uint32_t bit) {
    return (uint32_t)((h + UINT64_C(0x9E3779B97F4A7C15) * (bit + 1)) &
                      ((1u << LCI_PAIR_BITS) - 1));
}

static size_t slot_of(uint64_t h, uint32_t key, size_t nslots) {
    h ^= UINT64_C(0x9E3779B97F4A7C15) * (key + 1);
    h ^= h >> 29;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    return (size_t)((h ^ (h >> 32)) & (nslots - 1));
}

/* A word mask twice: bit (hash & 63) in lo, bit (hash >> 6 & 63) in hi.
 * The walks below do not depend on which bits are taken, so both masks
 * come from one walk (the index keeps both; two walks per mask made
 * compiling the built-in library twice as slow). */
typedef struct mask2 {
    uint64_t lo, hi;
} mask2;

static const mask2 mask2_any = {~(uint64_t)0, ~(uint64_t)0};

/*
 * Every word that can follow the instruction before pc, reachable
 * without consuming a token, handed to tok(ctx, hash). Returns 1 when
 * anything can follow (a gap, a match, or deeper than 64 splits): the
 * words handed over so far are then no filter.
 */
static int walk_next(const struct lci_patterns *p, uint32_t pc, int depth,
                     void (*tok)(void *ctx, uint64_t hash), void *ctx) {
    for (;;) {
        const insn *in = &p->insns[pc];
        if (depth > 64)
            return 1;
        switch (in->op) {
        case OP_TOK:
            tok(ctx, in->hash);
            return 0;
        case OP_SPLIT:
            if (walk_next(p, in->x, depth + 1, tok, ctx))
                return 1;
            pc = in->y;
            break;
        case OP_JMP:
            pc = in->x;
            break;
        case OP_SENT:
        case OP_TURN:
        case OP_SET:
            pc++;
            break;
        case OP_FAIL:
            return 0;
        default: /* OP_GAP, OP_MATCH */
            return 1;
        }
    }
}

static void add_to_mask2(void *ctx, uint64_t hash) {
    mask2 *m = ctx;
    m->lo |= (uint64_t)1 << (hash & 63);
    m->hi |= (uint64_t)1 << (hash >> 6 & 63);
}

/* Mask of the words that can follow the instruction before pc; ~0 (no
 * filter) where anything can. */
static mask2 next_mask(const struct lci_patterns *p, uint32_t pc,
                       int depth) {
    mask2 m = {0, 0};
    return walk_next(p, pc, depth, add_to_mask2, &m) ? mask2_any : m;
}

typedef struct word_set {
    uint64_t *set, *used;
} word_set;

static void add_to_set(void *ctx, uint64_t hash) {
    word_set *w = ctx;
    uint32_t k = (uint32_t)(hash >> 6 & 63);
    if (!(*w->used >> k & 1)) {
        w->set[k] = 0;
        *w->used |= (uint64_t)1 << k;
    }
    w->set[k] |= (uint64_t)1 << (hash & 63);
}

/*
 * The words that can follow the instruction before pc, as next_mask
 * walks them, into set: bit (hash & 4095) per word (the index's
 * second-word keys). Only the words of set whose bit is in *used are
 * valid (a word is cleared when first used): *used is next_mask's hi
 * mask, and the 512-byte set is neither cleared nor walked whole per
 * first word (that doubled the cost of indexing the built-in library).
 * Returns 1, leaving set partial, where next_mask gives ~0 (a gap, a
 * match, too deep).
 */
static int next_words(const struct lci_patterns *p, uint32_t pc, int depth,
                      uint64_t *set, uint64_t *used) {
    word_set w;
    w.set = set;
    w.used = used;
    return walk_next(p, pc, depth, add_to_set, &w);
}

/*
 * Mask of the words that can come two tokens after the instruction
 * before pc: for every word reachable from pc (the second word of a
 * pattern when pc follows its first word), the words that can follow
 * it. Gaps, matches and anything unexpected give ~0.
 */
static mask2 next2_mask(const struct lci_patterns *p, uint32_t pc,
                        int depth) {
    mask2 m = {0, 0}, r;
    for (;;) {
        const insn *in = &p->insns[pc];
        if (depth > 64)
            return mask2_any;
        switch (in->op) {
        case OP_TOK:
            r = next_mask(p, pc + 1, 0);
            m.lo |= r.lo;
            m.hi |= r.hi;
            return m;
        case OP_SPLIT:
            r = next2_mask(p, in->x, depth + 1);
            m.lo |= r.lo;
            m.hi |= r.hi;
            pc = in->y;
            break;
        case OP_JMP:
            pc = in->x;
            break;
        case OP_SENT:
        case OP_TURN:
        case OP_SET:
            pc++;
            break;
        case OP_FAIL:
            return m;
        default: /* OP_GAP, OP_MATCH */
            return mask2_any;
        }
    }
}

/* Add the entry of pattern pi for first word fw and second-word key
 * `key` (in pattern order; rebuild_index groups them), and its bits in
 * the filters. */
static lc_status add_raw(struct lci_patterns *p, const lci_alloc *a,
                         const first_word_t *fw, uint32_t key, uint32_t pi) {
    uint64_t h = fw->hash;
    uint32_t k2 = pair_of(h, pair_key(key));
    raw_ent *r;
    lc_status st;
    /* entries are numbered in 32 bits (islot.run) */
    if (p->nraw >= UINT32_MAX)
        return LC_ERR_NOMEM;
    st = lci_grow(a, (void **)&p->raw, sizeof *p->raw, &p->capraw,
                  p->nraw + 1);
    if (st != LC_OK)
        return st;
    p->fwbits[(h >> LCI_FW_SHIFT) / 64] |= (uint64_t)1
                                           << ((h >> LCI_FW_SHIFT) % 64);
    p->pairbits[k2 / 64] |= (uint64_t)1 << (k2 % 64);
    r = &p->raw[p->nraw++];
    r->hash = h;
    r->key = key;
    r->pat = pi;
    /* supersets of the possible second and third words (LCI_KEY_ANY
     * too: its masks are ~0 unless all 64 low bits occur) */
    r->mask3 = fw->mask3;
    r->mask2b = fw->mask2b;
    r->mask3b = fw->mask3b;
    return LC_OK;
}

/* Record a possible first word (merging masks per word). */
static lc_status add_first(struct lci_patterns *p, const lci_alloc *a,
                           const first_word_t *w) {
    size_t i;
    uint64_t m;
    first_word_t *f;
    lc_status st;
    for (i = 0; i < p->nfw; i++)
        if (p->fw[i].hash == w->hash) {
            f = &p->fw[i];
            /* keys2 is valid where mask2b has a bit, and needed only
             * while mask is not ~0 (next_words) */
            if (f->mask != ~(uint64_t)0 && w->mask != ~(uint64_t)0)
                for (m = w->mask2b; m; m &= m - 1) {
                    unsigned k = lci_ctz64(m);
                    if (f->mask2b >> k & 1)
                        f->keys2[k] |= w->keys2[k];
                    else
                        f->keys2[k] = w->keys2[k];
                }
            f->mask |= w->mask;
            f->mask3 |= w->mask3;
            f->mask2b |= w->mask2b;
            f->mask3b |= w->mask3b;
            return LC_OK;
        }
    st = lci_grow(a, (void **)&p->fw, sizeof *p->fw, &p->capfw, p->nfw + 1);
    if (st != LC_OK)
        return st;
    f = &p->fw[p->nfw++];
    f->hash = w->hash;
    f->mask = w->mask;
    f->mask3 = w->mask3;
    f->mask2b = w->mask2b;
    f->mask3b = w->mask3b;
    if (w->mask != ~(uint64_t)0)
        for (m = w->mask2b; m; m &= m - 1)
            f->keys2[lci_ctz64(m)] = w->keys2[lci_ctz64(m)];
    return LC_OK;
}

/*
 * Collect the words pattern `pi` can start with: explore the epsilon
 * closure of its program from the first instruction. Reaching a GAP or
 * MATCH first means the pattern could match starting anywhere; the
 * parser rejects such patterns, so here it only guards.
 */
static lc_status index_pattern(struct lci_patterns *p, const lci_alloc *a,
                               uint32_t pi, uint32_t pc, int depth) {
    lc_status st;
    for (;;) {
        const insn *in = &p->insns[pc];
        if (depth > 64)
            return LC_ERR_INTERNAL;
        switch (in->op) {
        case OP_TOK: {
            first_word_t w;
            mask2 m3 = next2_mask(p, pc + 1, 0);
            uint64_t m;
            (void)pi;
            w.hash = in->hash;
            w.mask = w.mask2b = 0;
            /* next_mask's two masks, from the set of keys */
            if (next_words(p, pc + 1, 0, w.keys2, &w.mask2b)) {
                w.mask = w.mask2b = ~(uint64_t)0;
            } else {
                for (m = w.mask2b; m; m &= m - 1)
                    w.mask |= w.keys2[lci_ctz64(m)];
            }
            w.mask3 = m3.lo;
            w.mask3b = m3.hi;
            return add_first(p, a, &w);
        }
        case OP_SPLIT:
            st = index_pattern(p, a, pi, in->x, depth + 1);
            if (st != LC_OK)
                return st;
            pc = in->y;
            break;
        case OP_JMP:
            pc = in->x;
            break;
        case OP_SENT:
        case OP_TURN:
            pc++;
            break;
        case OP_FAIL:
            return LC_OK;
        case OP_SET:
            pc++;
            break;
        default:
            return LC_ERR_INTERNAL;
        }
    }
}

/* Slot of key (hash, key) in slots[0..n): its own, or the empty one
 * where it would go (n is a power of two, the table never full). */
static islot *find_slot(islot *slots, size_t n, uint64_t hash,
                        uint32_t key) {
    size_t k = slot_of(hash, key, n);
    while (slots[k].key && (slots[k].hash != hash || slots[k].key != key + 1))
        k = (k + 1) & (n - 1);
    return &slots[k];
}

static size_t table_size(size_t nkeys) {
    size_t n = 16;
    while (n < nkeys * 2) /* load factor <= 1/2 */
        n *= 2;
    return n;
}

/*
 * Build the index from scratch: every pattern's entries in pattern order
 * (index_pattern), then grouped by key into runs that hold them in
 * reverse (the matcher's order), with a key table sized from the number
 * of distinct keys. The filters are rebuilt in place; the tables are
 * replaced only when the new ones are complete.
 */
static lc_status rebuild_index(struct lci_patterns *p, const lci_alloc *a) {
    size_t i, j, k, nkeys = 0, ntmp, nslots, ents_bytes;
    uint64_t m2;
    islot *keys = NULL, *slots = NULL;
    uint32_t *tmp = NULL, *kid = NULL, *pos = NULL;
    void *mem = NULL;
    ient *ents;
    lc_status st = LC_OK;
    p->nraw = 0;
    memset(p->fwbits, 0, sizeof p->fwbits);
    memset(p->pairbits, 0, sizeof p->pairbits);
    for (i = 0; i < p->npats && st == LC_OK; i++) {
        p->nfw = 0;
        st = index_pattern(p, a, (uint32_t)i, p->pats[i].prog, 0);
        for (j = 0; j < p->nfw && st == LC_OK; j++) {
            const first_word_t *w = &p->fw[j];
            if (w->mask == ~(uint64_t)0) {
                st = add_raw(p, a, w, LCI_KEY_ANY, (uint32_t)i);
                continue;
            }
            for (m2 = w->mask2b; m2 && st == LC_OK; m2 &= m2 - 1) {
                uint64_t m;
                k = lci_ctz64(m2);
                for (m = w->keys2[k]; m && st == LC_OK; m &= m - 1)
                    st = add_raw(p, a, w,
                                 (uint32_t)(k * 64 + lci_ctz64(m)),
                                 (uint32_t)i);
            }
        }
    }
    if (st != LC_OK)
        goto out;
    /* the entries with room to align them: the largest block below */
    if (!lci_mul_ok(p->nraw + 2, sizeof *ents, &ents_bytes)) {
        st = LC_ERR_NOMEM;
        goto out;
    }
    /* number the keys in order of appearance: keys[id], tmp a table of
     * id + 1 sized as if every entry's key were new */
    ntmp = table_size(p->nraw);
    tmp = lci_calloc(a, ntmp, sizeof *tmp);
    keys = lci_malloc(a, (p->nraw ? p->nraw : 1) * sizeof *keys);
    kid = lci_malloc(a, (p->nraw ? p->nraw : 1) * sizeof *kid);
    pos = lci_calloc(a, p->nraw ? p->nraw : 1, sizeof *pos);
    if (!tmp || !keys || !kid || !pos) {
        st = LC_ERR_NOMEM;
        goto out;
    }
    for (i = 0; i < p->nraw; i++) {
        const raw_ent *r = &p->raw[i];
        k = slot_of(r->hash, r->key, ntmp);
        while (tmp[k] && (keys[tmp[k] - 1].hash != r->hash ||
                          keys[tmp[k] - 1].key != r->key + 1))
            k = (k + 1) & (ntmp - 1);
        if (!tmp[k]) {
            keys[nkeys].hash = r->hash;
            keys[nkeys].key = r->key + 1;
            tmp[k] = (uint32_t)++nkeys;
        }
        kid[i] = tmp[k] - 1;
        pos[tmp[k] - 1]++; /* count */
    }
    nslots = table_size(nkeys);
    slots = lci_calloc(a, nslots, sizeof *slots);
    /* 32-byte entries, 64-byte aligned: none straddles two lines */
    mem = lci_malloc(a, ents_bytes);
    if (!slots || !mem) {
        st = LC_ERR_NOMEM;
        goto out;
    }
    ents = (ient *)(void *)(((uintptr_t)mem + 63) & ~(uintptr_t)63);
    for (i = 0, j = 0; i < nkeys; i++) { /* counts to run starts */
        islot *s = find_slot(slots, nslots, keys[i].hash, keys[i].key - 1);
        size_t c = pos[i];
        s->hash = keys[i].hash;
        s->key = keys[i].key;
        s->run = (uint32_t)j;
        pos[i] = (uint32_t)j;
        j += c;
    }
    for (i = p->nraw; i-- > 0;) { /* each run in reverse pattern order */
        const raw_ent *r = &p->raw[i];
        ient *e = &ents[pos[kid[i]]++];
        e->mask3 = r->mask3;
        e->mask3b = r->mask3b;
        e->mask2b = r->mask2b;
        e->pat = r->pat;
        e->family = (uint8_t)p->pats[r->pat].family;
        e->last = 0;
        e->unused = 0;
    }
    for (i = 0; i < nkeys; i++) /* pos[i]: the end of run i now */
        ents[pos[i] - 1].last = 1;
    lci_free(a, p->slots);
    lci_free(a, p->ents_mem);
    p->slots = slots;
    p->nslots = nslots;
    p->ents_mem = mem;
    p->ents = ents;
    p->nents = p->nraw;
    slots = NULL;
    mem = NULL;
out:
    lci_free(a, tmp);
    lci_free(a, keys);
    lci_free(a, kid);
    lci_free(a, pos);
    lci_free(a, slots);
    lci_free(a, mem);
    /* scratch: not kept between loads */
    lci_free(a, p->raw);
    p->raw = NULL;
    p->nraw = p->capraw = 0;
    return st;
}

/* ------------------------------------------------------------------ */
/* Matching                                                             */
/* ------------------------------------------------------------------ */

/* Backtracking VM. Returns the end token (exclusive) or -1. */
static int64_t vm_run(const insn *prog, const uint64_t *sets, uint32_t pc,
                      const lci_token *t, uint32_t n, uint32_t pos,
                      int *budget) {
    for (;;) {
        const insn *in = &prog[pc];
        if (--*budget < 0)
            return -1;
        switch (in->op) {
        case OP_TOK:
            if (pos >= n || t[pos].hash != in->hash)
                return -1;
            pos++;
            pc++;
            break;
        case OP_SPLIT: {
            int64_t r = vm_run(prog, sets, in->x, t, n, pos, budget);
            if (r >= 0)
                return r;
            pc = in->y;
            break;
        }
        case OP_JMP:
            pc = in->x;
            break;
        case OP_GAP: {
            /* shortest first; a gap never crosses a sentence start */
            uint32_t k;
            for (k = 0; k < in->n && pos + k <= n; k++) {
                int64_t r;
                if (k > 0 && ((t[pos + k - 1].flags & LCI_TOK_SENT_START) ||
                              (pos + k < n &&
                               (t[pos + k].flags & LCI_TOK_SENT_START))))
                    break;
                r = vm_run(prog, sets, pc + 1, t, n, pos + k, budget);
                if (r >= 0)
                    return r;
            }
            return -1;
        }
        case OP_SENT:
            if (pos >= n ||
                !(pos == 0 || (t[pos].flags & (LCI_TOK_SENT_START |
                                               LCI_TOK_TURN_START))))
                return -1;
            pc++;
            break;
        case OP_TURN:
            if (pos != 0 && !(pos < n && (t[pos].flags & LCI_TOK_TURN_START)))
                return -1;
            pc++;
            break;
        case OP_MATCH:
            return pos;
        case OP_SET: {
            size_t lo = in->x, hi = (size_t)in->x + in->y;
            uint64_t h;
            if (pos >= n)
                return -1;
            h = t[pos].hash;
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (sets[mid] < h)
                    lo = mid + 1;
                else
                    hi = mid;
            }
            if (lo >= (size_t)in->x + in->y || sets[lo] != h)
                return -1;
            pc++;
            break;
        }
        default: /* OP_FAIL */
            return -1;
        }
    }
}

void lci_patterns_scan(const struct lci_patterns *p, const lci_token *toks,
                       uint32_t n, uint64_t families, lci_pmatch_fn fn,
                       void *ud) {
    lci_patterns_scan_work(p, toks, n, families, fn, ud, NULL);
}

void lci_patterns_scan_work(const struct lci_patterns *p,
                            const lci_token *toks, uint32_t n,
                            uint64_t families, lci_pmatch_fn fn, void *ud,
                            uint64_t *work) {
    uint64_t left = LCI_SCAN_WORK_BASE, used = 0;
    uint32_t i, base, next = 0; /* tokens before `next` are in `used` */
    uint32_t cand[LCI_SCAN_CHUNK];
    if (!p || !toks || !fn || !p->nslots)
        return;
    left += (uint64_t)LCI_SCAN_WORK_PER_TOKEN * n;
    for (base = 0; base < n; base += LCI_SCAN_CHUNK) {
        uint32_t lim = n - base < LCI_SCAN_CHUNK ? n : base + LCI_SCAN_CHUNK;
        uint32_t nc = 0, c;
        /* the positions whose word may start a pattern, without a branch
         * per token (which way it goes is unpredictable) */
        for (i = base; i < lim; i++) {
            uint64_t h = toks[i].hash;
            cand[nc] = i;
            nc += (uint32_t)(p->fwbits[(h >> LCI_FW_SHIFT) / 64] >>
                             ((h >> LCI_FW_SHIFT) % 64)) & 1u;
        }
        for (c = 0; c < nc; c++) {
            uint64_t h;
            uint32_t probe;
            i = cand[c];
            /* the tokens skipped since `next` start no pattern: both of
             * their probes would find nothing (counted as the probes
             * they stand for; none of them is the last token) */
            used += 2 * (uint64_t)(i - next);
            next = i + 1;
            h = toks[i].hash;
            for (probe = 0; probe < 2; probe++) {
                /* probe 0: patterns whose second word can be the next
                 * token; probe 1: patterns that need no particular
                 * second word */
                uint64_t h2 = toks[i + 1 < n ? i + 1 : i].hash;
                uint32_t key = probe ? LCI_KEY_ANY
                                     : (uint32_t)(h2 & (LCI_KEY_ANY - 1)),
                         pk, more;
                const islot *sl;
                const ient *e;
                if (!probe && i + 1 >= n)
                    continue;
                used++;
                pk = pair_of(h, pair_key(key));
                if (!((p->pairbits[pk / 64] >> (pk % 64)) & 1u))
                    continue; /* no key (h, key) */
                sl = find_slot(p->slots, p->nslots, h, key);
                if (!sl->key)
                    continue;
                for (e = &p->ents[sl->run], more = 1; more; e++) {
                    const pat *q;
                    int budget;
                    int64_t end;
                    lci_pmatch m;
                    more = !e->last;
                    used++;
                    /* second- and third-word filters (cheap; the VM would
                     * fail anyway; ~0 where the first word's patterns put
                     * no condition on that word) */
                    if (probe && i + 1 < n &&
                        !((e->mask2b >> (toks[i + 1].hash >> 6 & 63)) & 1u))
                        continue;
                    if (i + 2 < n &&
                        !((e->mask3 >> (toks[i + 2].hash & 63) &
                           e->mask3b >> (toks[i + 2].hash >> 6 & 63)) &
                          1u))
                        continue;
                    if (!(families & ((uint64_t)1 << e->family)) ||
                        (p->fam[e->family].flags & LCI_FAM_DISABLED))
                        continue;
                    q = &p->pats[e->pat];
                    if (used >= left)
                        goto out;
                    budget = left - used < LCI_STEP_BUDGET
                                 ? (int)(left - used)
                                 : LCI_STEP_BUDGET;
                    {
                        int b0 = budget;
                        end = vm_run(p->insns, p->sets, q->prog, toks, n, i,
                                     &budget);
                        used += (uint64_t)(b0 - (budget < 0 ? 0 : budget));
                    }
                    if (end < 0)
                        continue;
                    m.pattern = e->pat;
                    m.family = q->family;
                    m.tok_start = i;
                    m.tok_end = (uint32_t)end;
                    if (fn(&m, ud))
                        goto out;
                }
            }
        }
    }
    if (next < n) /* skipped tokens at the end; the last has one probe */
        used += 2 * (uint64_t)(n - next) - 1;
out:
    if (work)
        *work += used;
}

/* ------------------------------------------------------------------ */
/* Parser                                                               */
/* ------------------------------------------------------------------ */

typedef struct parser {
    struct lci_patterns *p;
    const lci_alloc *a;
    const char *src;  /* whole file, for error positions */
    size_t srclen;
    size_t bom; /* bytes of a leading UTF-8 BOM in src (0 or 3) */
    const char *source;
    lci_err *err;
    const char *s; /* current line */
    size_t len, i;
    size_t line_off; /* offset of the line in src */
    int depth;
    int words; /* TOK instructions emitted in this pattern */
    int consumed; /* some path to this point may have matched a word */
    lci_buf norm;
    lci_token *toks;
    uint32_t ntoks; /* elements allocated in toks (lci_tokenize contract) */
    /* where toks lives: its only block, so resizing it to each word
     * sequence's count is in place, not a realloc per sequence */
    lci_arena toks_arena;
} parser;

/* Bytes of a UTF-8 byte order mark at the start of text[0..len): 3 or
 * 0. Some editors write one; it is skipped and is not a column. */
static size_t bom_len(const char *text, size_t len) {
    return len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0 ? 3 : 0;
}

static lc_status perr(parser *ps, lc_status st, size_t at, const char *msg,
                      const char *detail) {
    uint64_t line, col;
    size_t off = ps->line_off + at;
    /* a leading BOM is not a column: locate from after it (positions
     * never fall inside it), but the byte offset counts it */
    lci_locate(ps->src + ps->bom, ps->srclen - ps->bom, off - ps->bom, &line,
               &col);
    /* the position lives in the error's fields, not in its message */
    if (ps->err &&
        lci_err_set(ps->err, ps->a, st, LC_SEVERITY_ERROR, ps->source, line,
                    col, off, -1, "%s%s%s", msg, detail ? ": " : "",
                    detail ? detail : "") != LC_OK)
        return LC_ERR_NOMEM;
    return st;
}

static lc_status emit(parser *ps, uint8_t op, uint32_t *at) {
    lc_status st = lci_grow(ps->a, (void **)&ps->p->insns, sizeof(insn),
                            &ps->p->capinsns, ps->p->ninsns + 1);
    if (st != LC_OK)
        return st;
    memset(&ps->p->insns[ps->p->ninsns], 0, sizeof(insn));
    ps->p->insns[ps->p->ninsns].op = op;
    if (at)
        *at = (uint32_t)ps->p->ninsns;
    ps->p->ninsns++;
    return LC_OK;
}

static int is_syntax(const parser *ps, size_t i) {
    char c = ps->s[i];
    if (c == '(' || c == ')' || c == '|' || c == '[' || c == ']' ||
        c == '^' || c == '<')
        return 1;
    if (c == '.' && i + 2 < ps->len && ps->s[i + 1] == '.' &&
        ps->s[i + 2] == '.')
        return 1;
    if (c == '*' && i + 1 < ps->len && ps->s[i + 1] >= '0' &&
        ps->s[i + 1] <= '9')
        return 1;
    return 0;
}

/* Words between syntax characters: normalize + tokenize like turns. */
static lc_status parse_words(parser *ps) {
    size_t start = ps->i;
    uint32_t k;
    lc_status st;
    while (ps->i < ps->len && !is_syntax(ps, ps->i)) {
        /* punctuation would be dropped silently by the tokenizer; '?'
         * is the one people reach for by regex habit, so reject it */
        if (ps->s[ps->i] == '?')
            return perr(ps, LC_ERR_PATTERN, ps->i,
                        "'?' is not pattern syntax",
                        "write optional words as [words]");
        /* likewise '*' that is not a gap *N: as punctuation it would
         * vanish ("*abc" = "abc"), it is no wildcard either (patterns
         * match whole tokens), and "*abc" next to "*3" is ambiguous */
        if (ps->s[ps->i] == '*')
            return perr(ps, LC_ERR_PATTERN, ps->i,
                        "'*' must be followed by a number",
                        "a gap is *N with 1 <= N <= 32; there is no "
                        "wildcard, patterns match whole words");
        ps->i++;
    }
    if (ps->i == start)
        return LC_OK;
    ps->norm.len = 0;
    st = lci_normalize(ps->s + start, ps->i - start, 1, &ps->norm);
    if (st == LC_ERR_UTF8)
        return perr(ps, LC_ERR_PATTERN, start, "invalid UTF-8 in pattern",
                    NULL);
    if (st != LC_OK)
        return st;
    if (ps->norm.len == 0)
        return LC_OK;
    st = lci_tokenize(&ps->toks_arena.as, ps->norm.data, ps->norm.len,
                      &ps->toks, &ps->ntoks);
    if (st != LC_OK) {
        ps->ntoks = 0;
        return st;
    }
    for (k = 0; k < ps->ntoks; k++) {
        uint32_t at;
        if ((st = emit(ps, OP_TOK, &at)) != LC_OK)
            return st;
        ps->p->insns[at].hash = ps->toks[k].hash;
        ps->words++;
        ps->consumed = 1;
    }
    return LC_OK;
}

static void skip_blanks(parser *ps) {
    while (ps->i < ps->len && (ps->s[ps->i] == ' ' || ps->s[ps->i] == '\t'))
        ps->i++;
}

static lc_status parse_seq(parser *ps);

static int cmp_hash(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* Collect the first words reachable from pc inside a group ending at
 * `end`; returns 0 if a path reaches a gap or the end without a word
 * (then no guard is possible). */
static int first_words(parser *ps, uint32_t pc, uint32_t end, int depth) {
    struct lci_patterns *p = ps->p;
    for (;;) {
        const insn *in = &p->insns[pc];
        if (depth > 64 || pc >= end)
            return 0;
        switch (in->op) {
        case OP_TOK:
            if (lci_grow(ps->a, (void **)&p->sets, sizeof *p->sets,
                         &p->capsets, p->nsets + 1) != LC_OK)
                return 0;
            p->sets[p->nsets++] = in->hash;
            return 1;
        case OP_SPLIT:
            if (!first_words(ps, in->x, end, depth + 1))
                return 0;
            pc = in->y;
            break;
        case OP_JMP:
            if (in->x == pc + 1 || in->x < end) {
                pc = in->x;
                break;
            }
            return 0;
        case OP_SENT:
        case OP_TURN:
        case OP_SET:
            pc++;
            break;
        case OP_FAIL:
            return 1;
        default:
            return 0;
        }
    }
}

/* Turn the placeholder at `guard` into an OP_SET over the group's first
 * words, if every path through the group starts with a word. */
static lc_status make_guard(parser *ps, uint32_t guard, uint32_t end) {
    struct lci_patterns *p = ps->p;
    size_t start = p->nsets, i, j;
    if (!first_words(ps, guard + 1, end, 0)) {
        p->nsets = start;
        return LC_OK;
    }
    qsort(p->sets + start, p->nsets - start, sizeof *p->sets, cmp_hash);
    for (i = j = start; i < p->nsets; i++)
        if (j == start || p->sets[j - 1] != p->sets[i])
            p->sets[j++] = p->sets[i];
    p->nsets = j;
    if (p->nsets - start > UINT32_MAX)
        return LC_ERR_LIMIT;
    p->insns[guard].op = OP_SET;
    p->insns[guard].x = (uint32_t)start;
    p->insns[guard].y = (uint32_t)(p->nsets - start);
    return LC_OK;
}

/* '(' or '[' already consumed; parses alternatives up to `close`. */
static lc_status parse_group(parser *ps, char close, size_t open_at) {
    uint32_t jumps[256];
    int njumps = 0, i;
    uint32_t split = 0, first_split = 0, guard = 0;
    lc_status st;
    int optional = close == ']';
    int consumed0 = ps->consumed; /* every alternative starts from here */
    if (++ps->depth > LCI_MAX_DEPTH)
        return perr(ps, LC_ERR_PATTERN, open_at, "groups nested too deeply",
                    NULL);
    if (optional) {
        if ((st = emit(ps, OP_SPLIT, &first_split)) != LC_OK)
            return st;
        ps->p->insns[first_split].x = first_split + 1;
    }
    /* placeholder for the OP_SET guard: a no-op jump unless filled */
    if ((st = emit(ps, OP_JMP, &guard)) != LC_OK)
        return st;
    ps->p->insns[guard].x = guard + 1;
    for (;;) {
        size_t alt_at = ps->i;
        int words_before = ps->words;
        uint32_t body;
        if ((st = emit(ps, OP_SPLIT, &split)) != LC_OK)
            return st;
        body = split + 1;
        ps->p->insns[split].x = body;
        ps->consumed = consumed0;
        if ((st = parse_seq(ps)) != LC_OK)
            return st;
        if (ps->words == words_before)
            return perr(ps, LC_ERR_PATTERN, alt_at,
                        "empty alternative (use [..] for optional words)",
                        NULL);
        if (ps->i >= ps->len)
            return perr(ps, LC_ERR_PATTERN, open_at,
                        close == ')' ? "unclosed '('" : "unclosed '['", NULL);
        if (njumps >= 256)
            return perr(ps, LC_ERR_PATTERN, ps->i, "too many alternatives",
                        NULL);
        if ((st = emit(ps, OP_JMP, &jumps[njumps])) != LC_OK)
            return st;
        njumps++;
        /* the alternative's split falls through to the next one */
        ps->p->insns[split].y = (uint32_t)ps->p->ninsns;
        if (ps->s[ps->i] == '|') {
            ps->i++;
            continue;
        }
        if (ps->s[ps->i] == close) {
            ps->i++;
            break;
        }
        return perr(ps, LC_ERR_PATTERN, ps->i, "mismatched bracket", NULL);
    }
    /* the last alternative's "else" is a dead end */
    {
        uint32_t fail;
        if ((st = emit(ps, OP_FAIL, &fail)) != LC_OK)
            return st;
        ps->p->insns[split].y = fail;
    }
    for (i = 0; i < njumps; i++)
        ps->p->insns[jumps[i]].x = (uint32_t)ps->p->ninsns;
    if (optional)
        ps->p->insns[first_split].y = (uint32_t)ps->p->ninsns;
    ps->depth--;
    ps->consumed = 1; /* every alternative has a word (checked above) */
    if (njumps >= LCI_SET_MIN)
        return make_guard(ps, guard, (uint32_t)ps->p->ninsns);
    return LC_OK;
}

/* Sequence up to ')' ']' '|' or end of line. */
static lc_status parse_seq(parser *ps) {
    lc_status st;
    for (;;) {
        char c;
        skip_blanks(ps);
        if (ps->i >= ps->len)
            return LC_OK;
        c = ps->s[ps->i];
        if (c == ')' || c == ']' || c == '|')
            return LC_OK;
        if (c == '(' || c == '[') {
            size_t at = ps->i++;
            st = parse_group(ps, c == '(' ? ')' : ']', at);
        } else if (c == '^' || c == '<') {
            size_t at0 = ps->i;
            /* '^' after a word can never match (the matched word was the
             * turn's first); an anchor applies to the word right after
             * it, so it needs one: at the end of a pattern or an
             * alternative, or before a gap, it is meaningless */
            if (c == '^' && ps->consumed)
                return perr(ps, LC_ERR_PATTERN, at0,
                            "'^' after a word can never match",
                            "'^' can only come before the first word");
            ps->i++;
            skip_blanks(ps);
            if (ps->i >= ps->len || ps->s[ps->i] == ')' ||
                ps->s[ps->i] == ']' || ps->s[ps->i] == '|' ||
                (is_syntax(ps, ps->i) &&
                 (ps->s[ps->i] == '.' || ps->s[ps->i] == '*')))
                return perr(ps, LC_ERR_PATTERN, at0,
                            c == '^' ? "'^' must be followed by a word"
                                     : "'<' must be followed by a word",
                            "it anchors the word written right after it");
            st = emit(ps, c == '^' ? OP_TURN : OP_SENT, NULL);
        } else if (c == '.' && is_syntax(ps, ps->i)) {
            uint32_t at;
            if (ps->words == 0)
                return perr(ps, LC_ERR_PATTERN, ps->i,
                            "a pattern cannot start with a gap", NULL);
            ps->i += 3;
            if ((st = emit(ps, OP_GAP, &at)) == LC_OK)
                ps->p->insns[at].n = LCI_GAP_DEFAULT + 1;
        } else if (c == '*' && is_syntax(ps, ps->i)) {
            size_t at0 = ps->i;
            unsigned v = 0;
            uint32_t at;
            ps->i++;
            while (ps->i < ps->len && ps->s[ps->i] >= '0' &&
                   ps->s[ps->i] <= '9' && v <= 1000)
                v = v * 10 + (unsigned)(ps->s[ps->i++] - '0');
            if (v < 1 || v > LCI_GAP_MAX)
                return perr(ps, LC_ERR_PATTERN, at0,
                            "gap *N needs 1 <= N <= 32", NULL);
            if (ps->words == 0)
                return perr(ps, LC_ERR_PATTERN, at0,
                            "a pattern cannot start with a gap", NULL);
            if ((st = emit(ps, OP_GAP, &at)) == LC_OK)
                ps->p->insns[at].n = (uint8_t)(v + 1);
        } else {
            st = parse_words(ps);
        }
        if (st != LC_OK)
            return st;
    }
}

/* A gap must not be the last element either (it would only widen the
 * span); we allow it but the matcher takes the shortest, so it is a
 * no-op. Checked: the program must reach a word before any gap/MATCH. */
static int starts_with_word(const insn *prog, uint32_t pc, int depth) {
    for (;;) {
        const insn *in = &prog[pc];
        if (depth > 64)
            return 0;
        switch (in->op) {
        case OP_TOK:
            return 1;
        case OP_SPLIT:
            if (!starts_with_word(prog, in->x, depth + 1))
                return 0;
            pc = in->y;
            break;
        case OP_JMP:
            pc = in->x;
            break;
        case OP_SENT:
        case OP_TURN:
            pc++;
            break;
        case OP_FAIL:
            return 1; /* dead path: nothing to index */
        case OP_SET:
            pc++;
            break;
        default:
            return 0;
        }
    }
}

static lc_status add_pattern(parser *ps, int fam, const char *origin) {
    struct lci_patterns *p = ps->p;
    size_t start_insn = p->ninsns;
    uint32_t at;
    lc_status st;
    pat *q;
    size_t raw_len;
    ps->words = 0;
    ps->consumed = 0;
    ps->depth = 0;
    ps->i = 0;
    st = parse_seq(ps);
    if (st != LC_OK)
        return st;
    if (ps->i < ps->len) {
        return perr(ps, LC_ERR_PATTERN, ps->i,
                    ps->s[ps->i] == '|' ? "'|' outside a group"
                                        : "unbalanced closing bracket",
                    NULL);
    }
    if (ps->words == 0)
        return perr(ps, LC_ERR_PATTERN, 0, "pattern has no words", NULL);
    if ((st = emit(ps, OP_MATCH, &at)) != LC_OK)
        return st;
    if (!starts_with_word(p->insns, (uint32_t)start_insn, 0))
        return perr(ps, LC_ERR_PATTERN, 0,
                    "a pattern must start with a word (not a gap or an "
                    "optional group alone)",
                    NULL);
    st = lci_grow(ps->a, (void **)&p->pats, sizeof(pat), &p->cappats,
                  p->npats + 1);
    if (st != LC_OK)
        return st;
    raw_len = ps->len; /* without the blanks before a comment */
    while (raw_len && (ps->s[raw_len - 1] == ' ' || ps->s[raw_len - 1] == '\t'))
        raw_len--;
    q = &p->pats[p->npats];
    memset(q, 0, sizeof *q);
    q->prog = (uint32_t)start_insn;
    q->family = fam;
    q->text = lci_strndup(ps->a, ps->s, raw_len);
    if (!q->text)
        return LC_ERR_NOMEM;
    q->info.origin = origin;
    p->npats++;
    return LC_OK;
}

static int word_eq(const char *s, size_t n, const char *w) {
    return strlen(w) == n && memcmp(s, w, n) == 0;
}

static int valid_name(const char *s, size_t n) {
    size_t i;
    if (n == 0 || n > 48)
        return 0;
    for (i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '-'))
            return 0;
    }
    return 1;
}

static lc_status new_family(parser *ps, const char *name, size_t n,
                            int *out) {
    struct lci_patterns *p = ps->p;
    fam_t *f;
    if (p->nfam >= LCI_MAX_FAMILIES)
        return perr(ps, LC_ERR_PATTERN, 0, "too many families (max 64)",
                    NULL);
    f = &p->fam[p->nfam];
    memset(f, 0, sizeof *f);
    f->name = lci_strndup(ps->a, name, n);
    if (!f->name)
        return LC_ERR_NOMEM;
    f->specificity = 50;
    f->weight = 100;
    *out = p->nfam++;
    return LC_OK;
}

/* Parse an integer directive argument in [lo, hi]. */
static int parse_int(const char *s, size_t n, int lo, int hi, int *out) {
    size_t i = 0;
    int neg = 0;
    long v = 0;
    if (n && s[0] == '-') {
        neg = 1;
        i = 1;
    }
    if (i >= n)
        return 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > 100000)
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return 0;
    *out = (int)v;
    return 1;
}

/* Split line into first word and rest (trimmed). */
static void first_word(const char *s, size_t n, size_t *wlen,
                       const char **rest, size_t *rlen) {
    size_t i = 0, j;
    while (i < n && s[i] != ' ' && s[i] != '\t')
        i++;
    *wlen = i;
    j = i;
    while (j < n && (s[j] == ' ' || s[j] == '\t'))
        j++;
    *rest = s + j;
    *rlen = n - j;
    while (*rlen && ((*rest)[*rlen - 1] == ' ' || (*rest)[*rlen - 1] == '\t'))
        (*rlen)--;
}

/* A '#' after a blank starts a comment (doc/patterns.md): the line of a
 * directive or pattern ends there (the blanks before it stay, so error
 * columns point where they did). */
static void cut_comment(parser *ps) {
    size_t i;
    for (i = 1; i < ps->len; i++)
        if (ps->s[i] == '#' && (ps->s[i - 1] == ' ' || ps->s[i - 1] == '\t')) {
            ps->len = i;
            return;
        }
}

/* Returns 1 if the line was a directive (handled or error in *st). */
static int directive(parser *ps, int fam, lc_status *st) {
    size_t wl, rl;
    const char *rest;
    fam_t *f;
    first_word(ps->s, ps->len, &wl, &rest, &rl);
    *st = LC_OK;
    if (!(word_eq(ps->s, wl, "specificity") || word_eq(ps->s, wl, "weight") ||
          word_eq(ps->s, wl, "soft") || word_eq(ps->s, wl, "disable") ||
          word_eq(ps->s, wl, "enable") || word_eq(ps->s, wl, "role") ||
          word_eq(ps->s, wl, "cancel") || word_eq(ps->s, wl, "accumulate")))
        return 0;
    /* a directive keyword followed by more words that are not a valid
     * argument is an error, not a pattern: write such a pattern as
     * "(disable) ..." */
    if (fam < 0) {
        *st = perr(ps, LC_ERR_PATTERN, 0, "directive outside a section",
                   "start one with [family NAME]");
        return 1;
    }
    f = &ps->p->fam[fam];
    if (word_eq(ps->s, wl, "specificity") || word_eq(ps->s, wl, "weight")) {
        int v;
        int is_spec = ps->s[0] == 's';
        if (!parse_int(rest, rl, is_spec ? 0 : -100, 100, &v)) {
            *st = perr(ps, LC_ERR_PATTERN, (size_t)(rest - ps->s),
                       is_spec ? "specificity needs an integer 0..100"
                               : "weight needs an integer -100..100",
                       NULL);
            return 1;
        }
        if (is_spec)
            f->specificity = v;
        else
            f->weight = v;
        return 1;
    }
    if (word_eq(ps->s, wl, "role")) {
        /* the last `role` line wins */
        if (word_eq(rest, rl, "user")) {
            f->flags = (f->flags & ~(unsigned)LCI_FAM_HELP) | LCI_FAM_USER_ROLE;
        } else if (word_eq(rest, rl, "help")) {
            f->flags = (f->flags & ~(unsigned)LCI_FAM_USER_ROLE) | LCI_FAM_HELP;
        } else if (word_eq(rest, rl, "assistant")) {
            f->flags &= ~(unsigned)(LCI_FAM_USER_ROLE | LCI_FAM_HELP);
        } else {
            *st = perr(ps, LC_ERR_PATTERN, (size_t)(rest - ps->s),
                       "role must be assistant, user or help", NULL);
        }
        return 1;
    }
    if (rl != 0) {
        *st = perr(ps, LC_ERR_PATTERN, (size_t)(rest - ps->s),
                   "directive takes no argument",
                   "write a pattern starting with this word as (word) ...");
        return 1;
    }
    if (word_eq(ps->s, wl, "soft"))
        f->flags |= LCI_FAM_SOFT;
    else if (word_eq(ps->s, wl, "cancel"))
        f->flags |= LCI_FAM_CANCEL;
    else if (word_eq(ps->s, wl, "accumulate"))
        f->flags |= LCI_FAM_ACCUMULATE;
    else if (word_eq(ps->s, wl, "disable"))
        f->flags |= LCI_FAM_DISABLED;
    else
        f->flags &= ~(unsigned)LCI_FAM_DISABLED;
    return 1;
}

static lc_status parse_file(struct lci_patterns *p, const lci_alloc *a,
                            const char *source, const char *origin,
                            const char *text, size_t len, int64_t max_user,
                            int user, lci_err *err) {
    parser ps;
    size_t off = 0;
    int fam = -1;
    lc_status st = LC_OK;
    memset(&ps, 0, sizeof ps);
    ps.p = p;
    ps.a = a;
    ps.src = text;
    ps.srclen = len;
    ps.source = source;
    ps.err = err;
    off = ps.bom = bom_len(text, len);
    lci_buf_init(&ps.norm, a);
    lci_arena_init(&ps.toks_arena, a);
    while (off < len && st == LC_OK) {
        size_t e = off, n, lead = 0;
        while (e < len && text[e] != '\n')
            e++;
        n = e - off;
        if (n && text[off + n - 1] == '\r')
            n--;
        while (lead < n && (text[off + lead] == ' ' || text[off + lead] == '\t'))
            lead++;
        ps.s = text + off + lead;
        ps.len = n - lead;
        ps.line_off = off + lead;
        while (ps.len && (ps.s[ps.len - 1] == ' ' || ps.s[ps.len - 1] == '\t'))
            ps.len--;
        if (ps.len == 0 || ps.s[0] == '#') {
            /* blank or comment */
        } else if (ps.len >= 8 && memcmp(ps.s, "[family ", 8) == 0) {
            size_t k = 8, nm0, nl;
            while (k < ps.len && ps.s[k] == ' ')
                k++;
            nm0 = k;
            while (k < ps.len && ps.s[k] != ']' && ps.s[k] != ' ')
                k++;
            nl = k - nm0;
            while (k < ps.len && ps.s[k] == ' ')
                k++;
            if (k >= ps.len || ps.s[k] != ']')
                st = perr(&ps, LC_ERR_PATTERN, k,
                          "section header must be [family NAME]", NULL);
            else if (k + 1 < ps.len && ps.s[k + 1] != ' ' &&
                     ps.s[k + 1] != '#')
                st = perr(&ps, LC_ERR_PATTERN, k + 1,
                          "unexpected text after section header", NULL);
            else if (!valid_name(ps.s + nm0, nl))
                st = perr(&ps, LC_ERR_PATTERN, nm0,
                          "family name must be 1-48 of [a-z0-9_-]", NULL);
            {
            const char *nm = ps.s + nm0;
            if (st == LC_OK) {
                fam = family_find_n(p, nm, nl);
                if (fam < 0)
                    st = new_family(&ps, nm, nl, &fam);
            }
            }
        } else {
            cut_comment(&ps);
            if (directive(&ps, fam, &st)) {
                /* handled */
            } else if (fam < 0) {
                st = perr(&ps, LC_ERR_PATTERN, 0,
                          "pattern outside a section",
                          "start one with [family NAME]");
            } else {
                if (user && (int64_t)p->nuser >= max_user)
                    st = perr(&ps, LC_ERR_LIMIT, 0, "too many patterns",
                              "raise max_patterns");
                else
                    st = add_pattern(&ps, fam, origin);
                if (st == LC_OK && user)
                    p->nuser++;
            }
        }
        off = e + 1;
    }
    lci_buf_free(&ps.norm);
    lci_arena_free(&ps.toks_arena); /* ps.toks */
    return st;
}

/* ------------------------------------------------------------------ */
/* Life cycle                                                           */
/* ------------------------------------------------------------------ */

void lci_patterns_free(struct lci_patterns *p, const lci_alloc *a) {
    size_t i;
    int f;
    if (!p)
        return;
    for (i = 0; i < p->npats; i++)
        lci_free(a, p->pats[i].text);
    for (f = 0; f < p->nfam; f++)
        lci_free(a, p->fam[f].name);
    for (i = 0; i < p->norigins; i++)
        lci_free(a, p->origins[i]);
    lci_free(a, p->origins);
    lci_free(a, p->pats);
    lci_free(a, p->insns);
    lci_free(a, p->sets);
    lci_free(a, p->ents_mem);
    lci_free(a, p->fw);
    lci_free(a, p->raw);
    lci_free(a, p->slots);
    lci_free(a, p);
}

static lc_status compile_text(const lci_alloc *a, const char *text,
                              size_t len, const char *text2, size_t len2,
                              lci_err *err, struct lci_patterns **out) {
    struct lci_patterns *p;
    lc_status st;
    *out = NULL;
    p = lci_calloc(a, 1, sizeof *p);
    if (!p)
        return LC_ERR_NOMEM;
    st = parse_file(p, a, "builtin", "builtin", text, len, 0, 0, err);
    if (st == LC_OK && text2)
        st = parse_file(p, a, "builtin-pushback", "builtin", text2, len2, 0,
                        0, err);
    if (st == LC_OK)
        st = rebuild_index(p, a);
    if (st != LC_OK) {
        /* a syntax error in the built-in library is a bug */
        lci_patterns_free(p, a);
        return st == LC_ERR_PATTERN ? LC_ERR_INTERNAL : st;
    }
    refresh_info(p);
    *out = p;
    return LC_OK;
}

lc_status lci_patterns_new(const lci_alloc *a, struct lci_patterns **out) {
    if (!a || !out)
        return LC_ERR_INVALID_ARG;
    return compile_text(a, lci_builtin_lcp, sizeof lci_builtin_lcp,
                        lci_pushback_lcp, sizeof lci_pushback_lcp, NULL, out);
}

lc_status lci_patterns_selftest(const lci_alloc *a, lci_err *err) {
    struct lci_patterns *p = NULL;
    lc_status st = compile_text(a, lci_builtin_lcp, sizeof lci_builtin_lcp,
                                lci_pushback_lcp, sizeof lci_pushback_lcp,
                                err, &p);
    lci_patterns_free(p, a);
    return st;
}

lc_status lci_patterns_load(struct lci_patterns *p, const lci_alloc *a,
                            const char *source, const char *text, size_t len,
                            int64_t max_patterns, lci_err *err) {
    fam_t saved[LCI_MAX_FAMILIES];
    int nfam0;
    size_t npats0, ninsns0, nuser0, nsets0, i;
    char *origin;
    lc_status st;
    if (!p || !a || (!text && len))
        return LC_ERR_INVALID_ARG;
    if (!source)
        source = "";
    {
        /* reject invalid UTF-8 up front, pointing at the first bad byte */
        lci_buf tmp;
        size_t nbad = 0, first = 0;
        lci_buf_init(&tmp, a);
        st = lci_utf8_repair(text ? text : "", len, &tmp, &nbad, &first);
        lci_buf_free(&tmp);
        if (st != LC_OK)
            return st;
        if (nbad) {
            uint64_t line, col;
            size_t b = bom_len(text, len); /* columns start after it */
            lci_locate(text + b, len - b, first - b, &line, &col);
            if (err &&
                lci_err_set(err, a, LC_ERR_PATTERN, LC_SEVERITY_ERROR, source,
                            line, col, first, -1, "%s",
                            "invalid UTF-8 in pattern file") != LC_OK)
                return LC_ERR_NOMEM;
            return LC_ERR_PATTERN;
        }
    }
    memcpy(saved, p->fam, sizeof saved);
    nfam0 = p->nfam;
    npats0 = p->npats;
    ninsns0 = p->ninsns;
    nsets0 = p->nsets;
    nuser0 = p->nuser;
    st = lci_grow(a, (void **)&p->origins, sizeof(char *), &p->caporigins,
                  p->norigins + 1);
    if (st != LC_OK)
        return st;
    origin = lci_strndup(a, source, strlen(source));
    if (!origin)
        return LC_ERR_NOMEM;
    p->origins[p->norigins++] = origin;
    st = parse_file(p, a, source, origin, text ? text : "", len,
                    max_patterns, 1, err);
    if (st == LC_OK)
        st = rebuild_index(p, a);
    if (st != LC_OK) {
        /* roll back to the state before the call */
        for (i = npats0; i < p->npats; i++)
            lci_free(a, p->pats[i].text);
        for (i = (size_t)nfam0; i < (size_t)p->nfam; i++)
            lci_free(a, p->fam[i].name);
        memcpy(p->fam, saved, sizeof saved);
        p->nfam = nfam0;
        p->npats = npats0;
        p->ninsns = ninsns0;
        p->nsets = nsets0;
        p->nuser = nuser0;
        lci_free(a, origin);
        p->norigins--;
        if (rebuild_index(p, a) != LC_OK)
            p->nslots = 0; /* scan becomes a no-op rather than unsafe */
        refresh_info(p);
        return st;
    }
    refresh_info(p);
    return LC_OK;
}

/* ------------------------------------------------------------------ */
/* Pushback (user turns)                                                */
/* ------------------------------------------------------------------ */

typedef struct pb_ud {
    int hit;
    const lci_token *toks;
} pb_ud;

static int pb_cb(const lci_pmatch *m, void *ud) {
    pb_ud *u = ud;
    if (u->toks[m->tok_start].flags & LCI_TOK_QUOTED)
        return 0;
    u->hit = 1;
    return 1;
}

static bool pushback_scan(const struct lci_patterns *p, const lci_turn *t) {
    uint64_t mask = 0;
    int f;
    pb_ud u;
    for (f = 0; f < p->nfam; f++)
        if (p->fam[f].flags & LCI_FAM_USER_ROLE)
            mask |= (uint64_t)1 << f;
    if (!mask)
        return false;
    u.hit = 0;
    u.toks = t->tokens;
    lci_patterns_scan(p, t->tokens, t->ntokens, mask, pb_cb, &u);
    return u.hit != 0;
}

bool lci_pushback_match(const lc_config *cfg, const lci_turn *t) {
    /* The config's compiled patterns only: nothing here allocates, so
     * there is no path around the config's allocator. */
    if (!cfg || !t || !t->tokens || !cfg->patterns)
        return false;
    return pushback_scan(cfg->patterns, t);
}
