/*
 * json_scan.c - the common JSONL record, recognized without json-c.
 *
 * Most records of a chat log have one shape: an object with a string
 * "id", a "messages" array of {"role": "...", "content": "..." | null}
 * objects (some with OpenAI "tool_calls"), and members loopcheck does
 * not read ("source", "meta", ...). json-c builds a tree of such a
 * record (a hash table per object, a malloc per value, a locale switch
 * per parse) only for json.c to copy a few strings out of it: about a
 * third of all instructions on the bench corpus. lci_json_scan_record
 * checks a record in one pass over its bytes and notes where the
 * strings json.c needs are; json.c builds the turns from them
 * (lci_json_fast_conversation) exactly as it would from the tree.
 *
 * It takes only records it can vouch for, those that json-c parses and
 * from whose tree json.c would write no diagnostic:
 *  - standard JSON (RFC 8259) only: no NaN, no single quotes, no
 *    control bytes in strings, no "\u0000", no lone surrogate escape,
 *    integers of at most 18 digits and exponents of at most 3 (json-c
 *    accepts more, with its own rules: those go to json-c);
 *  - nesting at most min(max_depth - 1, 64) levels, counting every
 *    value as json-c's depth limit does (the top object is level 1);
 *  - "id" a string without escapes holding valid UTF-8, an integer
 *    (not -0), null, or absent; one of "messages" / "conversations", a
 *    non-empty array of objects;
 *  - each message: "role" or "from" (one of them, once) a string
 *    without escapes, valid UTF-8, a role name loopcheck knows;
 *    "content" or "value" (at most one) a string, null, or a list of
 *    text parts (strings, or objects with a "text" string and a "type",
 *    if any, a string holding "text", written without escapes); optional
 *    "tool_calls", an array of {"function": {"name": string,
 *    "arguments": string}} objects (other members of the call are
 *    skipped; no "input");
 *  - no key the builder reads appears twice in its object (json-c keeps
 *    the last one), and no key holds an escape.
 * Anything else returns 0 and json-c parses the record: the fast path
 * never decides what is an error, and its coverage is a matter of
 * speed only. Bytes >= 0x80 in strings are taken as they are, valid or
 * not, as json-c does (it does not check UTF-8 in strict mode): the
 * turns repair them later, the same way on both paths.
 *
 * lci_json_scan_turn takes a jsonl-turns line the same way: one message
 * whose conversation key (conversation_id, session_id, thread_id) is a
 * string without escapes or an integer. format_json.c scans a
 * document's element from its start to the end of its line, and takes
 * it when the record ends there (rec_end: what follows is its own).
 *
 * test_json_fast compares the turns and diagnostics both paths give on
 * generated records, lines and documents, near misses included, and
 * fuzz_reader does so on every input it runs.
 */
#include "input.h"

#include <string.h>

#define NOPE SIZE_MAX

/* Deepest level the scanner takes whatever max_depth says: it recurses
 * once per level. */
#define SCAN_MAX_LEVEL 64

static size_t ws(const char *p, size_t n, size_t i) {
    while (i < n &&
           (p[i] == ' ' || p[i] == '\t' || p[i] == '\n' || p[i] == '\r'))
        i++;
    return i;
}

static int hexval(int ch) {
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The four hex digits at p[i..i+4) as a number, or -1. */
static long hex4(const char *p, size_t n, size_t i) {
    long v = 0;
    size_t k;
    if (i > n || n - i < 4)
        return -1;
    for (k = 0; k < 4; k++) {
        int h = hexval((unsigned char)p[i + k]);
        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* p[i] == '\\': index past the escape, or NOPE if the fast path does not
 * take it (unknown letter, bad hex, \u0000, lone surrogate). *cp gets
 * the code point it stands for. */
static size_t escape(const char *p, size_t n, size_t i, unsigned long *cp) {
    long u, lo;
    if (i + 1 >= n)
        return NOPE;
    switch (p[i + 1]) {
    case '"': *cp = '"'; return i + 2;
    case '\\': *cp = '\\'; return i + 2;
    case '/': *cp = '/'; return i + 2;
    case 'b': *cp = '\b'; return i + 2;
    case 'f': *cp = '\f'; return i + 2;
    case 'n': *cp = '\n'; return i + 2;
    case 'r': *cp = '\r'; return i + 2;
    case 't': *cp = '\t'; return i + 2;
    case 'u': break;
    default: return NOPE;
    }
    u = hex4(p, n, i + 2);
    if (u <= 0 || (u >= 0xDC00 && u <= 0xDFFF))
        return NOPE; /* bad hex, NUL, lone low surrogate */
    if (u < 0xD800 || u > 0xDBFF) {
        *cp = (unsigned long)u;
        return i + 6;
    }
    /* a high surrogate: the low one must follow */
    if (n - i < 12 || p[i + 6] != '\\' || p[i + 7] != 'u')
        return NOPE;
    lo = hex4(p, n, i + 8);
    if (lo < 0xDC00 || lo > 0xDFFF)
        return NOPE;
    *cp = 0x10000ul + (((unsigned long)u - 0xD800ul) << 10) +
          ((unsigned long)lo - 0xDC00ul);
    return i + 12;
}

/* p[i] is the byte after an opening quote: index of the closing quote,
 * or NOPE. *esc is set if the body holds an escape. */
static size_t str_end(const char *p, size_t n, size_t i, int *esc) {
    unsigned long cp;
    *esc = 0;
    for (;;) {
#if LCI_SSE2
        while (n - i >= 16) {
            const __m128i v =
                _mm_loadu_si128((const __m128i *)(const void *)(p + i));
            const __m128i stop = _mm_or_si128(
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))),
                /* bytes 0x00..0x1F: nothing left after subtracting 0x1F */
                _mm_cmpeq_epi8(_mm_subs_epu8(v, _mm_set1_epi8(0x1F)),
                               _mm_setzero_si128()));
            const unsigned m = (unsigned)_mm_movemask_epi8(stop);
            if (m) {
                i += lci_ctz64(m);
                break;
            }
            i += 16;
        }
#endif
        while (i < n && (unsigned char)p[i] >= 0x20 && p[i] != '"' &&
               p[i] != '\\')
            i++;
        if (i >= n || (unsigned char)p[i] < 0x20)
            return NOPE;
        if (p[i] == '"')
            return i;
        *esc = 1;
        if ((i = escape(p, n, i, &cp)) == NOPE)
            return NOPE;
    }
}

/* A number at p[i]: index past it, or NOPE. Standard grammar; at most 18
 * integer digits and 3 exponent digits. */
static size_t number(const char *p, size_t n, size_t i) {
    size_t d;
    if (i < n && p[i] == '-')
        i++;
    d = i;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    if (i == d || i - d > 18 || (p[d] == '0' && i - d > 1))
        return NOPE;
    if (i < n && p[i] == '.') {
        d = ++i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d)
            return NOPE;
    }
    if (i < n && (p[i] == 'e' || p[i] == 'E')) {
        i++;
        if (i < n && (p[i] == '+' || p[i] == '-'))
            i++;
        d = i;
        while (i < n && p[i] >= '0' && p[i] <= '9')
            i++;
        if (i == d || i - d > 3)
            return NOPE;
    }
    return i;
}

/* After an item (a member's value, an element) at i in a container that
 * `close` ends: the index of the next item (after ',' and whitespace),
 * or *end = 1 and the index past `close`; NOPE if neither follows. */
static size_t next_item(const char *p, size_t n, size_t i, char close,
                        int *end) {
    i = ws(p, n, i);
    *end = 0;
    if (i < n && p[i] == ',')
        return ws(p, n, i + 1);
    if (i < n && p[i] == close) {
        *end = 1;
        return i + 1;
    }
    return NOPE;
}

/* Any value at p[i] (after whitespace) at `level`: index past it, or
 * NOPE. */
static size_t skip(const char *p, size_t n, size_t i, int level, int max) {
    int esc, end = 0;
    if (level > max || i >= n)
        return NOPE;
    switch (p[i]) {
    case '"':
        i = str_end(p, n, i + 1, &esc);
        return i == NOPE ? NOPE : i + 1;
    case '{':
        i = ws(p, n, i + 1);
        if (i < n && p[i] == '}')
            return i + 1;
        while (!end) {
            if (i >= n || p[i] != '"' ||
                (i = str_end(p, n, i + 1, &esc)) == NOPE)
                return NOPE;
            i = ws(p, n, i + 1);
            if (i >= n || p[i] != ':')
                return NOPE;
            i = skip(p, n, ws(p, n, i + 1), level + 1, max);
            if (i == NOPE || (i = next_item(p, n, i, '}', &end)) == NOPE)
                return NOPE;
        }
        return i;
    case '[':
        i = ws(p, n, i + 1);
        if (i < n && p[i] == ']')
            return i + 1;
        while (!end) {
            i = skip(p, n, i, level + 1, max);
            if (i == NOPE || (i = next_item(p, n, i, ']', &end)) == NOPE)
                return NOPE;
        }
        return i;
    case 't':
        return n - i >= 4 && memcmp(p + i, "true", 4) == 0 ? i + 4 : NOPE;
    case 'f':
        return n - i >= 5 && memcmp(p + i, "false", 5) == 0 ? i + 5 : NOPE;
    case 'n':
        return n - i >= 4 && memcmp(p + i, "null", 4) == 0 ? i + 4 : NOPE;
    default:
        return number(p, n, i);
    }
}

/* ------------------------------------------------------------------ */
/* Objects the builder reads                                            */
/* ------------------------------------------------------------------ */

typedef struct scan {
    const char *p;
    size_t n;
    int max; /* deepest level taken */
    lci_jrec *rec;
    lc_status st; /* LC_ERR_NOMEM, or LC_OK */
} scan;

/* A member key at p[i] == '"' without escapes: its body in *k, *klen;
 * returns the index of the value (after ':' and whitespace), or NOPE. */
static size_t key(const scan *s, size_t i, const char **k, size_t *klen) {
    int esc;
    size_t e;
    if (i >= s->n || s->p[i] != '"' ||
        (e = str_end(s->p, s->n, i + 1, &esc)) == NOPE || esc)
        return NOPE;
    *k = s->p + i + 1;
    *klen = e - i - 1;
    i = ws(s->p, s->n, e + 1);
    if (i >= s->n || s->p[i] != ':')
        return NOPE;
    return ws(s->p, s->n, i + 1);
}

static int key_is(const char *k, size_t klen, const char *name) {
    size_t n = strlen(name);
    return klen == n && memcmp(k, name, n) == 0;
}

/* After a member's value at i: next_item in an object. */
static size_t next_member(const scan *s, size_t i, int *end) {
    return next_item(s->p, s->n, i, '}', end);
}

/* An array at i, at a level taken: the index of its first element, or
 * *end = 1 and the index past ']' when it is empty; NOPE if it is not
 * an array. */
static size_t open_array(const scan *s, size_t i, int level, int *end) {
    *end = 0;
    if (level > s->max || i >= s->n || s->p[i] != '[')
        return NOPE;
    i = ws(s->p, s->n, i + 1);
    if (i < s->n && s->p[i] == ']') {
        *end = 1;
        return i + 1;
    }
    return i;
}

/* Room in *arr (*cap elements of `elem` bytes) for element n; 0 with
 * s->st set when it cannot grow. */
static int room(scan *s, void **arr, size_t elem, size_t *cap, size_t n) {
    if (n < *cap)
        return 1;
    s->st = lci_grow(s->rec->a, arr, elem, cap, n + 1);
    return s->st == LC_OK;
}

/* A string value at i: its body in *out; index past it, or NOPE. */
static size_t string(const scan *s, size_t i, lci_jstr *out) {
    int esc;
    size_t e;
    if (i >= s->n || s->p[i] != '"' ||
        (e = str_end(s->p, s->n, i + 1, &esc)) == NOPE)
        return NOPE;
    out->off = i + 1;
    out->len = e - i - 1;
    out->esc = esc;
    return e + 1;
}

/* {"name": string, "arguments": string, ...} at level `level`. */
static size_t function(scan *s, size_t i, int level, lci_jcall *call) {
    int have_name = 0, have_args = 0, end = 0;
    if (level > s->max || i >= s->n || s->p[i] != '{')
        return NOPE;
    i = ws(s->p, s->n, i + 1);
    if (i < s->n && s->p[i] == '}')
        return NOPE; /* no name */
    while (!end) {
        const char *k;
        size_t klen;
        if ((i = key(s, i, &k, &klen)) == NOPE || level + 1 > s->max)
            return NOPE;
        if (key_is(k, klen, "name")) {
            if (have_name++ || (i = string(s, i, &call->name)) == NOPE)
                return NOPE;
        } else if (key_is(k, klen, "arguments")) {
            if (have_args++ || (i = string(s, i, &call->args)) == NOPE)
                return NOPE;
        } else if (key_is(k, klen, "input")) {
            return NOPE;
        } else if ((i = skip(s->p, s->n, i, level + 1, s->max)) == NOPE) {
            return NOPE;
        }
        if ((i = next_member(s, i, &end)) == NOPE)
            return NOPE;
    }
    if (!have_name)
        return NOPE;
    call->has_args = have_args;
    return i;
}

/* One call {"function": {...}, ...} at level `level`. */
static size_t call(scan *s, size_t i, int level, lci_jcall *c) {
    int have_fn = 0, end = 0;
    if (level > s->max || i >= s->n || s->p[i] != '{')
        return NOPE;
    i = ws(s->p, s->n, i + 1);
    if (i < s->n && s->p[i] == '}')
        return NOPE;
    while (!end) {
        const char *k;
        size_t klen;
        if ((i = key(s, i, &k, &klen)) == NOPE)
            return NOPE;
        if (key_is(k, klen, "function")) {
            if (have_fn++ || (i = function(s, i, level + 1, c)) == NOPE)
                return NOPE;
        } else if ((i = skip(s->p, s->n, i, level + 1, s->max)) == NOPE) {
            return NOPE;
        }
        if ((i = next_member(s, i, &end)) == NOPE)
            return NOPE;
    }
    return have_fn ? i : NOPE;
}

/* "tool_calls": [call, ...] at level `level`, appended to rec->calls. */
static size_t calls(scan *s, size_t i, int level, lci_jmsg *m) {
    lci_jrec *r = s->rec;
    int end;
    m->call0 = r->ncalls;
    m->ncalls = 0;
    if ((i = open_array(s, i, level, &end)) == NOPE)
        return NOPE;
    while (!end) {
        lci_jcall c;
        memset(&c, 0, sizeof c);
        if ((i = call(s, i, level + 1, &c)) == NOPE ||
            !room(s, (void **)&r->calls, sizeof *r->calls, &r->capcalls,
                  r->ncalls))
            return NOPE;
        r->calls[r->ncalls++] = c;
        m->ncalls++;
        if ((i = next_item(s->p, s->n, i, ']', &end)) == NOPE)
            return NOPE;
    }
    return i;
}

/* An integer id at p[i]: index past it, or NOPE. json-c keeps it as an
 * int64 and json.c takes its text, the digits as written - except "-0",
 * written "0", and fractions or exponents, written json-c's way. */
static size_t int_id(const char *p, size_t n, size_t i) {
    size_t e = number(p, n, i), k;
    if (e == NOPE || (e - i == 2 && p[i] == '-' && p[i + 1] == '0'))
        return NOPE;
    for (k = i; k < e; k++)
        if (p[k] == '.' || p[k] == 'e' || p[k] == 'E')
            return NOPE;
    return e;
}

/* "content": [part, ...] at level `level`: strings and text parts
 * {"type": "text", "text": "..."}, appended to rec->parts. json.c's
 * content_parts takes a part's "text" when its "type" is absent, null or
 * a string containing "text"; other parts (images, tool use) decline. */
static size_t parts(scan *s, size_t i, int level, lci_jmsg *m) {
    lci_jrec *r = s->rec;
    int end;
    m->part0 = r->nparts;
    m->nparts = 0;
    if ((i = open_array(s, i, level, &end)) == NOPE)
        return NOPE;
    while (!end) {
        lci_jstr t;
        if (level + 1 > s->max || i >= s->n)
            return NOPE;
        if (s->p[i] == '"') {
            if ((i = string(s, i, &t)) == NOPE)
                return NOPE;
        } else if (s->p[i] == '{') {
            int have_type = 0, have_text = 0, oend = 0;
            i = ws(s->p, s->n, i + 1);
            if (i < s->n && s->p[i] == '}')
                return NOPE;
            while (!oend) {
                const char *k;
                size_t klen;
                if ((i = key(s, i, &k, &klen)) == NOPE ||
                    level + 2 > s->max)
                    return NOPE;
                if (key_is(k, klen, "text")) {
                    if (have_text++ || (i = string(s, i, &t)) == NOPE)
                        return NOPE;
                } else if (key_is(k, klen, "type")) {
                    lci_jstr ty;
                    size_t a;
                    int has = 0;
                    if (have_type++)
                        return NOPE;
                    if (i < s->n && s->p[i] == 'n') {
                        if (s->n - i < 4 || memcmp(s->p + i, "null", 4) != 0)
                            return NOPE;
                        i += 4;
                    } else {
                        if ((i = string(s, i, &ty)) == NOPE || ty.esc)
                            return NOPE;
                        for (a = 0; a + 4 <= ty.len && !has; a++)
                            has = memcmp(s->p + ty.off + a, "text", 4) == 0;
                        if (!has)
                            return NOPE;
                    }
                } else if ((i = skip(s->p, s->n, i, level + 2, s->max)) ==
                           NOPE) {
                    return NOPE;
                }
                if ((i = next_member(s, i, &oend)) == NOPE)
                    return NOPE;
            }
            if (!have_text)
                return NOPE;
        } else {
            return NOPE; /* "[number]", "[null]"... */
        }
        if (!room(s, (void **)&r->parts, sizeof *r->parts, &r->capparts,
                  r->nparts))
            return NOPE;
        r->parts[r->nparts++] = t;
        m->nparts++;
        if ((i = next_item(s->p, s->n, i, ']', &end)) == NOPE)
            return NOPE;
    }
    return i;
}

/* The conversation keys of a turn-per-line record, in the order
 * lci_json_turn_key tries them: kind 0 absent or null, 1 a string, 2 an
 * integer. */
#define TURN_KEYS 3
static const char *const turn_key_names[TURN_KEYS] = {
    "conversation_id", "session_id", "thread_id"};

typedef struct turn_keys {
    lci_jstr v[TURN_KEYS];
    int kind[TURN_KEYS], seen[TURN_KEYS];
} turn_keys;

/* Index of key k in turn_key_names, or -1. */
static int turn_key_at(const char *k, size_t klen) {
    int w;
    for (w = 0; w < TURN_KEYS; w++)
        if (key_is(k, klen, turn_key_names[w]))
            return w;
    return -1;
}

/* A turn key's value at i: a string without escapes holding valid UTF-8
 * (json.c checks the one it takes and would warn), an integer, or null;
 * anything else declines. */
static size_t turn_key(const scan *s, size_t i, turn_keys *tk, int w) {
    size_t e;
    if (tk->seen[w]++ || i >= s->n)
        return NOPE;
    if (s->p[i] == '"') {
        if ((i = string(s, i, &tk->v[w])) == NOPE || tk->v[w].esc ||
            lci_utf8_valid_prefix(s->p + tk->v[w].off, tk->v[w].len) !=
                tk->v[w].len)
            return NOPE;
        tk->kind[w] = 1;
        return i;
    }
    if (s->n - i >= 4 && memcmp(s->p + i, "null", 4) == 0)
        return i + 4;
    if ((e = int_id(s->p, s->n, i)) == NOPE)
        return NOPE;
    tk->v[w].off = i;
    tk->v[w].len = e - i;
    tk->v[w].esc = 0;
    tk->kind[w] = 2;
    return e;
}

/* One message object at level `level`; with tk, a turn-per-line record
 * whose conversation keys go there. */
static size_t message(scan *s, size_t i, int level, lci_jmsg *m,
                      turn_keys *tk) {
    int have_role = 0, have_text = 0, end = 0, w;
    if (level > s->max || i >= s->n || s->p[i] != '{')
        return NOPE;
    memset(m, 0, sizeof *m);
    i = ws(s->p, s->n, i + 1);
    if (i < s->n && s->p[i] == '}')
        return NOPE; /* no role */
    while (!end) {
        const char *k;
        size_t klen;
        if ((i = key(s, i, &k, &klen)) == NOPE || level + 1 > s->max)
            return NOPE;
        if (key_is(k, klen, "role") || key_is(k, klen, "from")) {
            const char *name;
            lc_role role;
            if (have_role++ || (i = string(s, i, &m->role)) == NOPE ||
                m->role.esc)
                return NOPE;
            name = s->p + m->role.off;
            if (lci_utf8_valid_prefix(name, m->role.len) != m->role.len ||
                !lci_role_from_name(name, m->role.len, &role))
                return NOPE;
            m->r = role;
        } else if (key_is(k, klen, "content") || key_is(k, klen, "value")) {
            if (have_text++)
                return NOPE;
            if (i < s->n && s->p[i] == 'n') {
                if ((i = skip(s->p, s->n, i, level + 1, s->max)) == NOPE)
                    return NOPE; /* null (or not JSON) */
            } else if (i < s->n && s->p[i] == '[') {
                if ((i = parts(s, i, level + 1, m)) == NOPE)
                    return NOPE;
                m->has_parts = 1;
            } else {
                if ((i = string(s, i, &m->text)) == NOPE)
                    return NOPE;
                m->has_text = 1;
            }
        } else if (key_is(k, klen, "tool_calls")) {
            if (m->has_calls++ || (i = calls(s, i, level + 1, m)) == NOPE)
                return NOPE;
        } else if (key_is(k, klen, "function_call")) {
            return NOPE;
        } else if (tk && (w = turn_key_at(k, klen)) >= 0) {
            if ((i = turn_key(s, i, tk, w)) == NOPE)
                return NOPE;
        } else if ((i = skip(s->p, s->n, i, level + 1, s->max)) == NOPE) {
            return NOPE;
        }
        if ((i = next_member(s, i, &end)) == NOPE)
            return NOPE;
    }
    return have_role ? i : NOPE;
}

/* The messages array at level 2. */
static size_t messages(scan *s, size_t i) {
    lci_jrec *r = s->rec;
    int end;
    if ((i = open_array(s, i, 2, &end)) == NOPE || end)
        return NOPE; /* not an array, or no messages: json.c words it */
    while (!end) {
        if (!room(s, (void **)&r->msgs, sizeof *r->msgs, &r->capmsgs,
                  r->nmsgs) ||
            (i = message(s, i, 3, &r->msgs[r->nmsgs], NULL)) == NOPE)
            return NOPE;
        r->nmsgs++;
        if ((i = next_item(s->p, s->n, i, ']', &end)) == NOPE)
            return NOPE;
    }
    return i;
}

/* A scan of p[0..n) into rec (emptied, its arrays kept), nesting at
 * most min(max_depth - 1, SCAN_MAX_LEVEL) levels; 0 for text over
 * INT32_MAX bytes, which lci_json_parse refuses with its own error. */
static int scan_begin(scan *s, lci_jrec *rec, const char *p, size_t n,
                      int max_depth, lc_status *st) {
    rec->has_id = 0;
    rec->conversations = 0;
    rec->nmsgs = 0;
    rec->ncalls = 0;
    rec->nparts = 0;
    *st = LC_OK;
    s->p = p;
    s->n = n;
    s->max = max_depth - 1 < SCAN_MAX_LEVEL ? max_depth - 1 : SCAN_MAX_LEVEL;
    s->rec = rec;
    s->st = LC_OK;
    return n <= INT32_MAX;
}

int lci_json_scan_record(lci_jrec *rec, const char *p, size_t n,
                         int max_depth, size_t *rec_end, lc_status *st) {
    scan s;
    size_t i, e;
    int have_id = 0, have_msgs = 0, end = 0;
    if (!scan_begin(&s, rec, p, n, max_depth, st))
        return 0;
    i = ws(p, n, 0);
    if (s.max < 1 || i >= n || p[i] != '{')
        return 0;
    i = ws(p, n, i + 1);
    if (i < n && p[i] == '}')
        return 0;
    while (!end) {
        const char *k;
        size_t klen;
        if ((i = key(&s, i, &k, &klen)) == NOPE || s.max < 2)
            return 0;
        if (key_is(k, klen, "id")) {
            if (have_id++)
                return 0;
            if (i < n && p[i] == '"') {
                if ((i = string(&s, i, &rec->id)) == NOPE || rec->id.esc ||
                    lci_utf8_valid_prefix(p + rec->id.off, rec->id.len) !=
                        rec->id.len)
                    return 0;
                rec->has_id = 1;
            } else if (n - i >= 4 && memcmp(p + i, "null", 4) == 0) {
                i += 4;
            } else if ((e = int_id(p, n, i)) != NOPE) {
                rec->id.off = i;
                rec->id.len = e - i;
                rec->id.esc = 0;
                rec->has_id = 1;
                i = e;
            } else {
                return 0; /* a fraction (json-c's text) or a warning */
            }
        } else if (key_is(k, klen, "messages") ||
                   key_is(k, klen, "conversations")) {
            if (have_msgs++)
                return 0;
            rec->conversations = key_is(k, klen, "conversations");
            i = messages(&s, i);
            if (s.st != LC_OK) {
                *st = s.st;
                return 0;
            }
            if (i == NOPE)
                return 0;
        } else if ((i = skip(p, n, i, 2, s.max)) == NOPE) {
            return 0;
        }
        if ((i = next_member(&s, i, &end)) == NOPE)
            return 0;
    }
    if (!have_msgs)
        return 0;
    if (rec_end) { /* whatever follows is the caller's */
        *rec_end = i;
        return 1;
    }
    return ws(p, n, i) == n;
}

lc_status lci_json_unescape(const char *p, size_t n, lci_buf *out) {
    size_t i = 0;
    lc_status st = lci_buf_reserve(out, n);
    while (st == LC_OK && i < n) {
        const char *bs = memchr(p + i, '\\', n - i);
        size_t run = bs ? (size_t)(bs - (p + i)) : n - i;
        unsigned long cp = 0;
        char u[4];
        size_t ulen;
        memcpy(out->data + out->len, p + i, run); /* fits: reserved n */
        out->len += run;
        i += run;
        if (i >= n)
            break;
        i = escape(p, n, i, &cp); /* checked by the scan: never NOPE */
        if (cp < 0x80) {
            u[0] = (char)cp;
            ulen = 1;
        } else if (cp < 0x800) {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            ulen = 2;
        } else if (cp < 0x10000) {
            u[0] = (char)(0xE0 | (cp >> 12));
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            ulen = 3;
        } else {
            u[0] = (char)(0xF0 | (cp >> 18));
            u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
            u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[3] = (char)(0x80 | (cp & 0x3F));
            ulen = 4;
        }
        /* an escape is at least as long as its UTF-8 (\uXXXX: 6 bytes
         * for at most 3, a pair: 12 for 4), so n stays enough */
        memcpy(out->data + out->len, u, ulen);
        out->len += ulen;
    }
    return st;
}

void lci_jrec_free(lci_jrec *rec) {
    lci_free(rec->a, rec->msgs);
    lci_free(rec->a, rec->calls);
    lci_free(rec->a, rec->parts);
    rec->msgs = NULL;
    rec->calls = NULL;
    rec->parts = NULL;
    rec->capmsgs = rec->capcalls = rec->nmsgs = rec->ncalls = 0;
    rec->capparts = rec->nparts = 0;
}

int lci_json_scan_turn(lci_jrec *rec, const char *p, size_t n,
                       int max_depth, lc_status *st) {
    scan s;
    turn_keys tk;
    size_t i;
    int w;
    if (!scan_begin(&s, rec, p, n, max_depth, st))
        return 0;
    if (!room(&s, (void **)&rec->msgs, sizeof *rec->msgs, &rec->capmsgs, 0)) {
        *st = s.st;
        return 0;
    }
    memset(&tk, 0, sizeof tk);
    i = message(&s, ws(p, n, 0), 1, &rec->msgs[0], &tk);
    if (s.st != LC_OK) {
        *st = s.st;
        return 0;
    }
    if (i == NOPE || ws(p, n, i) != n)
        return 0;
    for (w = 0; w < TURN_KEYS && !tk.kind[w]; w++)
        ;
    if (w == TURN_KEYS)
        return 0; /* no key: json.c words the error */
    rec->id = tk.v[w];
    rec->has_id = 1;
    rec->nmsgs = 1;
    return 1;
}

