/*
 * test_reader.c - the reader over every fixture of every input format.
 *
 * For each fixtures/<format>/<case>.<ext> the reader runs with several
 * chunkings (whole buffer, 1 byte, 7 bytes, 4096 bytes); each run is
 * dumped to text (one line per conversation, turn and diagnostic; see
 * dump()) and must equal <case>.expected byte for byte, so chunking can
 * never change the result. Regenerate the expectations with
 *     LC_FIXTURES_UPDATE=1 meson test -C build reader
 * and REVIEW the diff by eye before committing.
 *
 * Also: the seed transcript's required shape, CRLF/BOM/LF equivalence,
 * the line limit, the turn limit, format override and sniffing, deferred
 * parsing, and reader API misuse.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                              */
/* ------------------------------------------------------------------ */

static void put_escaped(lci_buf *o, const char *s, size_t n, size_t max) {
    size_t i;
    if (n > max) { /* cut on a code point boundary */
        n = max;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    for (i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n')
            lci_buf_append(o, "\\n", 2);
        else if (c == '\t')
            lci_buf_append(o, "\\t", 2);
        else if (c == '\\')
            lci_buf_append(o, "\\\\", 2);
        else if (c < 0x20 || c == 0x7F)
            lci_buf_printf(o, "\\x%02X", c);
        else
            lci_buf_putc(o, (char)c);
    }
    if (n < max || i < n)
        return;
}

static void dump_flags(lci_buf *o, unsigned f) {
    static const char *const names[] = {"tool_call", "repaired", "empty",
                                        "truncated"};
    size_t i;
    int any = 0;
    for (i = 0; i < 4; i++)
        if (f & (1u << i)) {
            lci_buf_printf(o, "%s%s", any ? "," : "", names[i]);
            any = 1;
        }
    if (!any)
        lci_buf_append(o, "-", 1);
}

/*
 * The dump, one line per item:
 *   conv N id=... format=... line=L status=LC-Ennn turns=T note=...
 *   turn N.I ROLE speaker=S line=L col=C off=O flags=F words=W hash=H text=...
 *   diag N.I error|warning LC-Ennn L:C off=O turn=T message
 * Text excerpts are cut at 72 bytes with \n, \t, \\ and controls escaped.
 */
static void dump_conv(lci_buf *o, size_t n, const lc_conversation *c) {
    size_t i;
    lci_buf_printf(o, "conv %zu id=%s format=%s line=%llu status=%s turns=%zu",
                   n, lc_conversation_id(c),
                   lc_format_name(lc_conversation_format(c)),
                   (unsigned long long)lc_conversation_line(c),
                   lc_status_code(lc_conversation_status(c)),
                   lc_conversation_turn_count(c));
    if (*lc_conversation_speaker_note(c))
        lci_buf_printf(o, " note=%s", lc_conversation_speaker_note(c));
    lci_buf_putc(o, '\n');
    for (i = 0; i < lc_conversation_turn_count(c); i++) {
        const lc_turn *t = lc_conversation_turn(c, i);
        char hex[17];
        lci_hash_hex(t->hash, hex);
        lci_buf_printf(o, "turn %zu.%u %s speaker=%s line=%llu col=%llu "
                          "off=%llu flags=",
                       n, t->index, lc_role_name(t->role), t->speaker,
                       (unsigned long long)t->line,
                       (unsigned long long)t->column,
                       (unsigned long long)t->offset);
        dump_flags(o, t->flags);
        lci_buf_printf(o, " words=%u hash=%s text=", t->words, hex);
        put_escaped(o, t->text, t->text_len, 72);
        lci_buf_putc(o, '\n');
    }
    for (i = 0; i < lc_conversation_diag_count(c); i++) {
        const lc_error *e = lc_conversation_diag(c, i);
        lci_buf_printf(o, "diag %zu.%zu %s %s %llu:%llu off=%llu turn=%lld %s\n",
                       n, i + 1,
                       e->severity == LC_SEVERITY_ERROR ? "error" : "warning",
                       e->code, (unsigned long long)e->line,
                       (unsigned long long)e->column,
                       (unsigned long long)e->offset, (long long)e->turn,
                       e->message);
    }
}

/* Dump conversation c (the n-th read) into o, count it as good or
 * failed, and free it. */
static void take_conv(lci_buf *o, size_t n, lc_conversation *c, size_t *good,
                      size_t *failed) {
    dump_conv(o, n, c);
    if (lc_conversation_status(c) == LC_OK)
        (*good)++;
    else
        (*failed)++;
    lc_conversation_free(c);
}

/* Run a reader over buf in chunks of `chunk` bytes (0 = whole) and
 * return the dump (malloc'd). Checks the streaming contract on the way:
 * NEED_INPUT before finish, END after, counts reconcile. Deferred
 * records are parsed with lc_session_parse(s) if s, else with
 * lc_conversation_parse. */
static char *run_reader_s(const lc_config *cfg, const char *source,
                          const char *buf, size_t len, size_t chunk,
                          lc_session *s) {
    lc_reader *r;
    lc_conversation *c;
    lci_buf out;
    size_t n = 0, good = 0, failed = 0, pos = 0;
    lc_status st;

    lci_buf_init(&out, &lci_default_alloc);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_set_source(r, source, strlen(source)), LC_OK);
    if (chunk == 0)
        chunk = len ? len : 1;
    while (pos < len) {
        size_t k = len - pos < chunk ? len - pos : chunk;
        assert_int_equal(lc_reader_feed(r, buf + pos, k), LC_OK);
        pos += k;
        while ((st = lc_reader_next(r, &c)) == LC_OK) {
            assert_int_equal(s ? lc_session_parse(s, c)
                               : lc_conversation_parse(c),
                             LC_OK);
            take_conv(&out, ++n, c, &good, &failed);
        }
        assert_int_equal(st, LC_NEED_INPUT);
    }
    assert_int_equal(lc_reader_finish(r), LC_OK);
    while ((st = lc_reader_next(r, &c)) == LC_OK) {
        assert_int_equal(s ? lc_session_parse(s, c) : lc_conversation_parse(c),
                         LC_OK);
        assert_int_equal(lc_conversation_parse(c), LC_OK); /* idempotent */
        take_conv(&out, ++n, c, &good, &failed);
    }
    assert_int_equal(st, LC_END);
    assert_int_equal(good + failed, n);
    assert_null(lc_reader_error(r));
    lc_reader_free(r);
    lci_buf_printf(&out, "total %zu good %zu failed %zu\n", n, good, failed);
    return lci_buf_take(&out);
}

static char *run_reader(const lc_config *cfg, const char *source,
                        const char *buf, size_t len, size_t chunk) {
    return run_reader_s(cfg, source, buf, len, chunk, NULL);
}

/* Line ends in buf[0..n) by the reader's rules: LF, CRLF, a lone CR. */
static uint64_t line_ends(const char *buf, size_t n) {
    uint64_t k = 0;
    size_t i;
    for (i = 0; i < n; i++)
        if (buf[i] == '\n' || (buf[i] == '\r' && (i + 1 >= n ||
                                                   buf[i + 1] != '\n')))
            k++;
    return k;
}

/* The dump of run_reader(cfg, source, buf, len, 0) computed by two
 * readers, one over buf[0..split) and one over buf[split..len) started
 * with lc_reader_set_start at the split's line and offset, both with the
 * format forced (split is 0 or follows a '\n'). */
static char *run_split(const lc_config *cfg, const char *source,
                       const char *buf, size_t len, size_t split,
                       lc_format format) {
    lci_buf out;
    size_t n = 0, good = 0, failed = 0, part;
    lci_buf_init(&out, &lci_default_alloc);
    for (part = 0; part < 2; part++) {
        size_t a = part ? split : 0, b = part ? len : split;
        lc_reader *r;
        lc_conversation *c;
        lc_status st;
        assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
        assert_int_equal(lc_reader_set_source(r, source, strlen(source)),
                         LC_OK);
        assert_int_equal(lc_reader_set_format(r, format), LC_OK);
        if (part)
            assert_int_equal(
                lc_reader_set_start(r, 1 + line_ends(buf, split), split),
                LC_OK);
        assert_int_equal(lc_reader_feed(r, buf + a, b - a), LC_OK);
        assert_int_equal(lc_reader_finish(r), LC_OK);
        while ((st = lc_reader_next(r, &c)) == LC_OK) {
            assert_int_equal(lc_conversation_parse(c), LC_OK);
            take_conv(&out, ++n, c, &good, &failed);
        }
        assert_int_equal(st, LC_END);
        lc_reader_free(r);
    }
    lci_buf_printf(&out, "total %zu good %zu failed %zu\n", n, good, failed);
    return lci_buf_take(&out);
}

static int has_suffix(const char *s, const char *suf) {
    size_t a = strlen(s), b = strlen(suf);
    return a >= b && strcmp(s + a - b, suf) == 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Run every case of one fixture directory. */
static void run_dir(const char *sub, lc_format want) {
    char dir[1024], path[2048], exp_path[2048];
    DIR *d;
    struct dirent *de;
    char *names[512];
    size_t nnames = 0, i, k;
    static const size_t chunks[] = {0, 1, 7, 4096};
    const char *update = getenv("LC_FIXTURES_UPDATE");
    lc_config *cfg, *defer;
    lc_session *s; /* one parser for every file: reuse after errors */

    snprintf(dir, sizeof dir, "%s/%s", tu_fixtures_dir(), sub);
    d = opendir(dir);
    assert_non_null(d);
    while ((de = readdir(d)) && nnames < 512) {
        if (de->d_name[0] == '.' || has_suffix(de->d_name, ".expected") ||
            has_suffix(de->d_name, ".md"))
            continue;
        names[nnames++] = strdup(de->d_name);
    }
    closedir(d);
    qsort(names, nnames, sizeof names[0], cmp_str);
    assert_true(nnames > 0);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_new(NULL, &defer), LC_OK);
    assert_int_equal(lc_config_set(defer, LC_OPT_DEFER_PARSE, 2), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < nnames; i++) {
        size_t len, elen;
        char *buf, *exp, *first = NULL;
        char *dot = strrchr(names[i], '.');
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        snprintf(exp_path, sizeof exp_path, "%s/%.*s.expected", dir,
                 (int)(dot ? dot - names[i] : (long)strlen(names[i])),
                 names[i]);
        buf = tu_slurp(path, &len);
        assert_non_null(buf);
        for (k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
            char *got = run_reader(cfg, names[i], buf, len, chunks[k]);
            if (!first) {
                first = got;
                continue;
            }
            if (strcmp(first, got) != 0)
                fail_msg("%s: chunking %zu differs from whole-buffer "
                         "run:\n--- whole\n%s--- chunked\n%s",
                         names[i], chunks[k], first, got);
            free(got);
        }
        { /* deferred parsing gives the same result */
            char *got = run_reader(defer, names[i], buf, len, 0);
            if (strcmp(first, got) != 0)
                fail_msg("%s: deferred parse differs:\n--- direct\n%s"
                         "--- deferred\n%s", names[i], first, got);
            free(got);
            /* and so does a session's reused parser */
            got = run_reader_s(defer, names[i], buf, len, 0, s);
            if (strcmp(first, got) != 0)
                fail_msg("%s: lc_session_parse differs:\n--- direct\n%s"
                         "--- session\n%s", names[i], first, got);
            free(got);
        }
        if (want == LC_FORMAT_JSONL_CONV) {
            /* readers over two parts, split after every line feed, give
             * the whole file's conversations (positions included) */
            size_t sp;
            for (sp = 0; sp <= len; sp++) {
                char *got;
                if (sp && buf[sp - 1] != '\n')
                    continue;
                got = run_split(cfg, names[i], buf, len, sp, want);
                if (strcmp(first, got) != 0)
                    fail_msg("%s: split at %zu differs:\n--- whole\n%s"
                             "--- split\n%s", names[i], sp, first, got);
                free(got);
            }
        }
        if (update && *update == '1') {
            FILE *f = fopen(exp_path, "wb");
            assert_non_null(f);
            fputs(first, f);
            fclose(f);
        }
        exp = tu_slurp(exp_path, &elen);
        if (!exp)
            fail_msg("%s: missing %s", names[i], exp_path);
        if (strcmp(first, exp) != 0)
            fail_msg("%s: dump differs from %s\n--- expected\n%s--- got\n%s",
                     names[i], exp_path, exp, first);
        /* the dump names the format of every conversation */
        {
            char tag[64];
            snprintf(tag, sizeof tag, "format=%s ", lc_format_name(want));
            if (strstr(first, "conv 1 ") && !strstr(first, tag))
                fail_msg("%s: not read as %s", names[i], lc_format_name(want));
        }
        free(exp);
        free(first);
        free(buf);
        free(names[i]);
    }
    lc_session_free(s);
    lc_config_free(cfg);
    lc_config_free(defer);
}

#define FIXTURE_DIR_TEST(fn, sub, format)                                     \
    static void fn(void **state) {                                            \
        (void)state;                                                          \
        run_dir(sub, format);                                                 \
    }

FIXTURE_DIR_TEST(test_fixtures_jsonl, "jsonl", LC_FORMAT_JSONL_CONV)
FIXTURE_DIR_TEST(test_fixtures_turns, "jsonl-turns", LC_FORMAT_JSONL_TURN)
FIXTURE_DIR_TEST(test_fixtures_json, "json", LC_FORMAT_JSON)
FIXTURE_DIR_TEST(test_fixtures_transcript, "transcript", LC_FORMAT_TRANSCRIPT)

/* ------------------------------------------------------------------ */
/* Targeted tests                                                       */
/* ------------------------------------------------------------------ */

/* Read a whole buffer into conversations (array filled, count returned). */
static size_t read_all(const lc_config *cfg, const char *buf, size_t len,
                       lc_conversation **out, size_t max) {
    lc_reader *r;
    lc_conversation *c;
    size_t n = 0;
    r = tu_reader_over(cfg, NULL, buf, len);
    while (lc_reader_next(r, &c) == LC_OK) {
        if (n < max)
            out[n++] = c;
        else
            lc_conversation_free(c);
    }
    lc_reader_free(r);
    return n;
}

static void test_seed_transcript(void **state) {
    char path[1024];
    size_t len, n, i;
    char *buf;
    lc_config *cfg;
    lc_conversation *c[2];
    unsigned per[5] = {0};
    (void)state;
    snprintf(path, sizeof path, "%s/transcript/seed-therapy.txt",
             tu_fixtures_dir());
    buf = tu_slurp(path, &len);
    assert_non_null(buf);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    n = read_all(cfg, buf, len, c, 2);
    assert_int_equal(n, 1);
    assert_int_equal(lc_conversation_status(c[0]), LC_OK);
    assert_int_equal(lc_conversation_format(c[0]), LC_FORMAT_TRANSCRIPT);
    assert_int_equal(lc_conversation_turn_count(c[0]), 34);
    for (i = 0; i < 34; i++) {
        const lc_turn *t = lc_conversation_turn(c[0], i);
        per[t->role]++;
        /* alternating, therapist first */
        assert_string_equal(t->speaker, i % 2 == 0 ? "Therapist" : "Patient");
        assert_int_equal(t->role, i % 2 == 0 ? LC_ROLE_ASSISTANT
                                             : LC_ROLE_USER);
        assert_int_equal(t->index, i + 1);
        assert_null(strstr(t->text, "Therapist:"));
        assert_null(strstr(t->text, "Homework assigned"));
    }
    assert_int_equal(per[LC_ROLE_ASSISTANT], 17);
    assert_int_equal(per[LC_ROLE_USER], 17);
    assert_int_equal(lc_conversation_turn(c[0], 0)->line, 34);
    assert_int_equal(lc_conversation_turn(c[0], 18)->line, 210);
    assert_int_equal(lc_conversation_line(c[0]), 34);
    assert_string_equal(lc_conversation_speaker_note(c[0]),
                        "Therapist=assistant Patient=user "
                        "(heuristic: longer average turns)");
    /* paragraphs joined with a blank line */
    assert_non_null(strstr(lc_conversation_turn(c[0], 0)->text,
                           "healthy boundaries.\n\nBefore we dive"));
    lc_conversation_free(c[0]);

    /* the option overrides the heuristic */
    lc_config_free(cfg);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_map_speaker(cfg, "patient", 7,
                                           LC_ROLE_ASSISTANT),
                     LC_OK);
    n = read_all(cfg, buf, len, c, 2);
    assert_int_equal(n, 1);
    assert_int_equal(lc_conversation_turn(c[0], 0)->role, LC_ROLE_USER);
    assert_int_equal(lc_conversation_turn(c[0], 1)->role,
                     LC_ROLE_ASSISTANT);
    assert_string_equal(lc_conversation_speaker_note(c[0]),
                        "Therapist=user Patient=assistant (option; "
                        "heuristic: first remaining speaker is the user)");
    lc_conversation_free(c[0]);
    lc_config_free(cfg);
    free(buf);
}

/* The same transcript with LF, CRLF, lone CR and a BOM gives the same
 * turns (texts and hashes); only byte offsets differ. */
static void test_line_endings(void **state) {
    static const char lf[] = "Intro line\n\nA: hello there\nsecond line\n\n"
                             "para two  \nB:\tanswer\nA: again\nB: bye";
    char crlf[256], cr[256], bom[256];
    size_t i, j, k;
    lc_config *cfg;
    lc_conversation *c[4];
    const char *bufs[4];
    size_t lens[4];
    (void)state;
    for (i = j = k = 0; lf[i]; i++) {
        if (lf[i] == '\n') {
            crlf[j++] = '\r';
            crlf[j++] = '\n';
            cr[k++] = '\r';
        } else {
            crlf[j++] = lf[i];
            cr[k++] = lf[i];
        }
    }
    memcpy(bom, "\xEF\xBB\xBF", 3);
    memcpy(bom + 3, lf, sizeof lf - 1);
    bufs[0] = lf; lens[0] = sizeof lf - 1;
    bufs[1] = crlf; lens[1] = j;
    bufs[2] = cr; lens[2] = k;
    bufs[3] = bom; lens[3] = sizeof lf - 1 + 3;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (i = 0; i < 4; i++) {
        assert_int_equal(read_all(cfg, bufs[i], lens[i], &c[i], 1), 1);
        assert_int_equal(lc_conversation_turn_count(c[i]), 4);
    }
    assert_string_equal(lc_conversation_turn(c[0], 0)->text,
                        "hello there\nsecond line\n\npara two");
    assert_string_equal(lc_conversation_turn(c[0], 1)->text, "answer");
    for (i = 1; i < 4; i++)
        for (j = 0; j < 4; j++) {
            const lc_turn *a = lc_conversation_turn(c[0], j);
            const lc_turn *b = lc_conversation_turn(c[i], j);
            assert_string_equal(a->text, b->text);
            assert_int_equal(a->hash, b->hash);
            assert_int_equal(a->line, b->line);
        }
    /* offsets: CRLF adds one byte per earlier line, BOM adds three */
    assert_int_equal(lc_conversation_turn(c[0], 1)->offset, 51);
    assert_int_equal(lc_conversation_turn(c[1], 1)->offset, 51 + 6);
    assert_int_equal(lc_conversation_turn(c[3], 1)->offset, 51 + 3);
    for (i = 0; i < 4; i++)
        lc_conversation_free(c[i]);
    lc_config_free(cfg);
}

/* A line over max_line_bytes is reported at its line and skipped; the
 * lines around it are read; nothing is buffered beyond the limit. */
static void test_line_limit(void **state) {
    lc_config *cfg;
    lc_conversation *c[4];
    char buf[1400];
    size_t n, len = 0, first;
    (void)state;
    len += (size_t)sprintf(buf + len, "{\"messages\":[{\"role\":\"user\","
                                      "\"content\":\"hi\"}]}\n");
    first = len;
    len += (size_t)sprintf(buf + len, "{\"messages\":[{\"role\":\"user\","
                                      "\"content\":\"%01100d\"}]}\n", 7);
    len += (size_t)sprintf(buf + len, "{\"messages\":[]}");
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_LINE_BYTES, 1024), LC_OK);
    n = read_all(cfg, buf, len, c, 4);
    assert_int_equal(n, 3);
    assert_int_equal(lc_conversation_status(c[0]), LC_OK);
    assert_int_equal(lc_conversation_status(c[1]), LC_ERR_LIMIT);
    assert_int_equal(lc_conversation_diag(c[1], 0)->line, 2);
    assert_int_equal(lc_conversation_diag(c[1], 0)->offset, first);
    assert_int_equal(lc_conversation_status(c[2]), LC_ERR_EMPTY);
    assert_int_equal(lc_conversation_line(c[2]), 3);
    for (n = 0; n < 3; n++)
        lc_conversation_free(c[n]);
    lc_config_free(cfg);
}

/* head, then `body` bytes of `fill` (a long JSON string's content), then
 * rest, in a new buffer of *len bytes (the caller frees it). */
static char *long_input(const char *head, size_t body, char fill,
                        const char *rest, size_t *len) {
    size_t nh = strlen(head), nr = strlen(rest);
    char *in = malloc(nh + body + nr);
    assert_non_null(in);
    memcpy(in, head, nh);
    memset(in + nh, fill, body);
    memcpy(in + nh + body, rest, nr);
    *len = nh + body + nr;
    return in;
}

/* An allocator that knows how many bytes are live (a size header per
 * block), to see what a reader keeps between lines. */
typedef struct sized_heap {
    size_t live;
} sized_heap;

static void *sized_malloc(void *ctx, size_t n) {
    sized_heap *h = ctx;
    size_t *p = malloc(sizeof(size_t) + (n ? n : 1));
    if (!p)
        return NULL;
    *p = n;
    h->live += n;
    return p + 1;
}

static void *sized_realloc(void *ctx, void *ptr, size_t old, size_t n) {
    sized_heap *h = ctx;
    size_t *p = ptr ? (size_t *)ptr - 1 : NULL;
    assert_true(!p || *p == old); /* the library passes the real size */
    p = realloc(p, sizeof(size_t) + (n ? n : 1));
    if (!p)
        return NULL;
    h->live = h->live - (ptr ? old : 0) + n;
    *p = n;
    return p + 1;
}

static void sized_free(void *ctx, void *ptr) {
    sized_heap *h = ctx;
    if (ptr) {
        size_t *p = (size_t *)ptr - 1;
        h->live -= *p;
        free(p);
    }
}

/* A long line split across chunks is assembled in a buffer; once the
 * line is handled a buffer over 1 MiB is released, so one 4 MB record
 * does not pin 4 MB for the rest of a long file. */
static void test_long_line_buffer_released(void **state) {
    static const char head[] = "{\"messages\":[{\"role\":\"user\","
                               "\"content\":\"";
    static const char tail[] = "\"}]}\n";
    sized_heap h = {0};
    lc_allocator al = {sized_malloc, sized_realloc, sized_free, &h};
    size_t body = 4u << 20, len;
    char *line = long_input(head, body, 'a', tail, &len);
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    size_t before;
    (void)state;
    assert_int_equal(lc_config_new(&al, &cfg), LC_OK);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    before = h.live;
    /* two pieces: the line is assembled, not passed in place */
    assert_int_equal(lc_reader_feed(r, line, len / 2), LC_OK);
    assert_int_equal(lc_reader_feed(r, line + len / 2, len - len / 2),
                     LC_OK);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_status(c), LC_OK);
    assert_int_equal(lc_conversation_turn(c, 0)->text_len, body);
    lc_conversation_free(c);
    assert_true(h.live - before < (1u << 20));
    assert_int_equal(lc_reader_finish(r), LC_OK);
    lc_reader_free(r);
    lc_config_free(cfg);
    assert_int_equal(h.live, 0);
    free(line);
}

/* After a record over 1 MiB the JSON tokener is replaced (json-c keeps
 * its longest string's buffer): the records after it, broken or not,
 * still parse and report as before. */
static void test_after_long_record(void **state) {
    static const char head[] = "{\"messages\":[{\"role\":\"user\","
                               "\"content\":\"";
    static const char rest[] =
        "\"}]}\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},]}\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n";
    size_t body = (1u << 20) + 10, len;
    char *in = long_input(head, body, 'b', rest, &len);
    lc_config *cfg;
    lc_conversation *c[4];
    const lc_error *d;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(read_all(cfg, in, len, c, 4), 3);
    assert_int_equal(lc_conversation_status(c[0]), LC_OK);
    assert_int_equal(lc_conversation_turn(c[0], 0)->text_len, body);
    assert_int_equal(lc_conversation_status(c[1]), LC_ERR_SYNTAX);
    d = lc_conversation_diag(c[1], 0);
    assert_int_equal(d->line, 2);
    assert_int_equal(d->column, 44); /* the ] after the comma */
    assert_int_equal(lc_conversation_status(c[2]), LC_OK);
    assert_string_equal(lc_conversation_turn(c[2], 0)->text, "hi");
    lc_conversation_free(c[0]);
    lc_conversation_free(c[1]);
    lc_conversation_free(c[2]);
    lc_config_free(cfg);
    free(in);
}

/* The same in a JSON document: after an element over 1 MiB the
 * incremental tokener is replaced, and the elements after it still parse
 * and report at their positions. */
static void test_after_long_element(void **state) {
    static const char head[] = "[{\"messages\":[{\"role\":\"user\","
                               "\"content\":\"";
    static const char rest[] =
        "\"}]},\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]},\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"x\"},]}]\n";
    size_t body = (1u << 20) + 10, len;
    char *in = long_input(head, body, 'b', rest, &len);
    lc_config *cfg;
    lc_conversation *c[4];
    const lc_error *d;
    size_t i, n;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    n = read_all(cfg, in, len, c, 4);
    assert_int_equal(n, 3);
    assert_int_equal(lc_conversation_status(c[0]), LC_OK);
    assert_int_equal(lc_conversation_turn(c[0], 0)->text_len, body);
    assert_int_equal(lc_conversation_status(c[1]), LC_OK);
    assert_string_equal(lc_conversation_turn(c[1], 0)->text, "hi");
    assert_int_equal(lc_conversation_line(c[1]), 2);
    assert_int_equal(lc_conversation_status(c[2]), LC_ERR_SYNTAX);
    d = lc_conversation_diag(c[2], 0);
    assert_int_equal(d->line, 3);
    assert_int_equal(d->column, 44); /* the ] after the comma */
    for (i = 0; i < n; i++)
        lc_conversation_free(c[i]);
    lc_config_free(cfg);
    free(in);
}

static void test_turn_limits(void **state) {
    static const char in[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},"
        "{\"role\":\"assistant\",\"content\":\"b\"},"
        "{\"role\":\"user\",\"content\":\"c\"}]}\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\""
        "abcdefghijabcdefghijabcdefghijabcdefghijabcdefghijabcdefghij"
        "abcdefghij\"}]}\n";
    lc_config *cfg;
    lc_conversation *c[2];
    const lc_turn *t;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURNS, 2), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURN_BYTES, 64), LC_OK);
    assert_int_equal(read_all(cfg, in, sizeof in - 1, c, 2), 2);
    assert_int_equal(lc_conversation_status(c[0]), LC_ERR_LIMIT);
    assert_int_equal(lc_conversation_status(c[1]), LC_OK);
    t = lc_conversation_turn(c[1], 0);
    assert_int_equal(t->text_len, 64);
    assert_memory_equal(t->text, "abcdefghijabcd", 14);
    assert_true(t->flags & LC_TURN_TRUNCATED);
    assert_int_equal(lc_conversation_diag(c[1], 0)->severity,
                     LC_SEVERITY_WARNING);
    assert_int_equal(lc_conversation_diag(c[1], 0)->status, LC_ERR_LIMIT);
    lc_conversation_free(c[0]);
    lc_conversation_free(c[1]);
    lc_config_free(cfg);

    /* transcript: the turn after max_turns fails the conversation */
    {
        char tr[400];
        size_t n = 0, i;
        for (i = 0; i < 20; i++)
            n += (size_t)sprintf(tr + n, "%s: turn %zu\r\n",
                                 i % 2 ? "B" : "A", i);
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURNS, 5), LC_OK);
        assert_int_equal(read_all(cfg, tr, n, c, 2), 1);
        assert_int_equal(lc_conversation_status(c[0]), LC_ERR_LIMIT);
        assert_int_equal(lc_conversation_turn_count(c[0]), 5);
        assert_int_equal(lc_conversation_diag(c[0], 0)->line, 6);
        assert_int_equal(lc_conversation_diag(c[0], 0)->offset, 5 * 11);
        lc_conversation_free(c[0]);
        lc_config_free(cfg);
    }
}

static void test_empty_and_blank(void **state) {
    static const char *const inputs[] = {"", "\n\n", "  \t\r\n \r\n",
                                         "\xEF\xBB\xBF", "\xEF\xBB\xBF\n"};
    lc_config *cfg;
    lc_conversation *c[1];
    size_t i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        assert_int_equal(read_all(cfg, inputs[i], strlen(inputs[i]), c, 1),
                         0);
    /* garbage: one failed conversation, no speaker labels */
    assert_int_equal(read_all(cfg, "\x01\x02 binary\xff\n", 11, c, 1), 1);
    assert_int_equal(lc_conversation_status(c[0]), LC_ERR_FORMAT);
    assert_int_equal(lc_conversation_diag(c[0], 0)->line, 1);
    lc_conversation_free(c[0]);
    /* a partial BOM is data */
    assert_int_equal(read_all(cfg, "\xEF\xBB", 2, c, 1), 1);
    assert_int_equal(lc_conversation_status(c[0]), LC_ERR_FORMAT);
    lc_conversation_free(c[0]);
    lc_config_free(cfg);
}

/* Input that is not text is named by its first bytes (one failed
 * conversation, LC_ERR_FORMAT at 1:1), whatever follows and whatever
 * the format (auto-detected or forced: a forced JSON format used to give
 * a syntax error per "line" of a gzipped file); text that only looks
 * like a magic number stays text. */
static void test_not_text(void **state) {
    static const struct {
        const char *head;
        size_t n;
        const char *msg; /* prefix */
    } cases[] = {
        {"\x1f\x8b\x08\x00", 4, "gzip-compressed"},
        {"\x28\xb5\x2f\xfd\x20", 5, "zstd-compressed"},
        {"\xfd" "7zXZ\0\0", 7, "xz-compressed"},
        {"BZh91AY&SY\x01", 11, "bzip2-compressed"},
        {"PK\x03\x04\x14", 5, "a zip archive"},
        {"\x04\x22\x4d\x18\x64", 5, "lz4-compressed"},
        {"7z\xbc\xaf\x27\x1c\0", 7, "a 7z archive"},
        {"\xff\xfeU\0:\0", 6, "UTF-16 text (byte order mark FF FE)"},
        {"\xfe\xff\0U\0:", 6, "UTF-16 text (byte order mark FE FF)"},
    };
    static const char tail[] = "\nUser: hi\nBot: hello\nUser: ok\n";
    static const char word[] = "BZh is what the file starts with.\n"
                               "User: hi\nBot: hello\nUser: ok\nBot: bye\n";
    static const lc_format fmts[] = {LC_FORMAT_AUTO, LC_FORMAT_TRANSCRIPT,
                                     LC_FORMAT_JSONL_CONV,
                                     LC_FORMAT_JSONL_TURN, LC_FORMAT_JSON};
    lc_config *cfg;
    lc_conversation *c[4];
    char buf[128];
    size_t i, f;
    (void)state;
    for (f = 0; f < sizeof fmts / sizeof fmts[0]; f++) {
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        assert_int_equal(lc_config_set(cfg, LC_OPT_FORMAT, fmts[f]), LC_OK);
        for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            const lc_error *e;
            memcpy(buf, cases[i].head, cases[i].n);
            memcpy(buf + cases[i].n, tail, sizeof tail - 1);
            assert_int_equal(
                read_all(cfg, buf, cases[i].n + sizeof tail - 1, c, 4), 1);
            assert_int_equal(lc_conversation_status(c[0]), LC_ERR_FORMAT);
            assert_int_equal(lc_conversation_turn_count(c[0]), 0);
            e = lc_conversation_diag(c[0], 0);
            assert_non_null(e);
            assert_int_equal(e->line, 1);
            assert_int_equal(e->column, 1);
            if (strncmp(e->message, cases[i].msg, strlen(cases[i].msg)))
                fail_msg("case %zu: %s", i, e->message);
            lc_conversation_free(c[0]);
        }
        if (fmts[f] == LC_FORMAT_AUTO || fmts[f] == LC_FORMAT_TRANSCRIPT) {
            assert_int_equal(read_all(cfg, word, sizeof word - 1, c, 4), 1);
            assert_int_equal(lc_conversation_status(c[0]), LC_OK);
            assert_int_equal(lc_conversation_turn_count(c[0]), 4);
            lc_conversation_free(c[0]);
        }
        lc_config_free(cfg);
    }
}

/* The same for a first line longer than max_line_bytes; and a reader
 * that starts in the middle of a file (a part of it, read on its own)
 * has no magic bytes to go by: its lines are records as usual. */
static void test_not_text_forced_edges(void **state) {
    static const char rec[] =
        "\n{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}\n";
    char gz[1100 + sizeof rec];
    lc_config *cfg;
    lc_conversation *c[4];
    lc_reader *r;
    const lc_error *e;
    size_t n = 0;
    (void)state;
    /* a first "line" of 1,100 bytes: longer than max_line_bytes = 1024 */
    memset(gz, 'x', 1100);
    memcpy(gz, "\x1f\x8b\x08\x00", 4);
    memcpy(gz + 1100, rec, sizeof rec);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_FORMAT, LC_FORMAT_JSONL_CONV),
                     LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_LINE_BYTES, 1024), LC_OK);
    assert_int_equal(read_all(cfg, gz, sizeof gz - 1, c, 4), 1);
    assert_int_equal(lc_conversation_status(c[0]), LC_ERR_FORMAT);
    e = lc_conversation_diag(c[0], 0);
    assert_non_null(e);
    assert_int_equal(e->line, 1);
    assert_string_equal(e->message,
                        "gzip-compressed data, not text: decompress it first");
    lc_conversation_free(c[0]);
    lc_config_free(cfg);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_FORMAT, LC_FORMAT_JSONL_CONV),
                     LC_OK);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_set_start(r, 7, 100), LC_OK);
    assert_int_equal(lc_reader_feed(r, gz, sizeof gz - 1), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    while (n < 4 && lc_reader_next(r, &c[n]) == LC_OK)
        n++;
    assert_int_equal(n, 2); /* a broken record, then a good one */
    assert_int_equal(lc_conversation_status(c[0]), LC_ERR_SYNTAX);
    assert_int_equal(lc_conversation_line(c[0]), 7);
    assert_int_equal(lc_conversation_status(c[1]), LC_OK);
    assert_int_equal(lc_conversation_line(c[1]), 8);
    lc_conversation_free(c[0]);
    lc_conversation_free(c[1]);
    lc_reader_free(r);
    lc_config_free(cfg);
}

static void test_format_override(void **state) {
    static const char in[] = "{\"conversation_id\":\"x\",\"role\":\"user\","
                             "\"content\":\"hi\"}\n";
    lc_config *cfg;
    lc_conversation *c[2];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(read_all(cfg, in, sizeof in - 1, c, 2), 1);
    assert_int_equal(lc_conversation_format(c[0]), LC_FORMAT_JSONL_TURN);
    assert_int_equal(lc_conversation_status(c[0]), LC_OK);
    assert_string_equal(lc_conversation_id(c[0]), "x");
    lc_conversation_free(c[0]);
    lc_config_free(cfg);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_FORMAT, LC_FORMAT_JSONL_CONV),
                     LC_OK);
    assert_int_equal(read_all(cfg, in, sizeof in - 1, c, 2), 1);
    assert_int_equal(lc_conversation_format(c[0]), LC_FORMAT_JSONL_CONV);
    assert_int_equal(lc_conversation_status(c[0]), LC_ERR_SCHEMA);
    lc_conversation_free(c[0]);
    lc_config_free(cfg);
}

static void test_reader_misuse(void **state) {
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    (void)state;
    assert_int_equal(lc_reader_new(NULL, &r), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_reader_new(cfg, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_format(r), LC_FORMAT_AUTO);
    assert_int_equal(lc_reader_next(r, &c), LC_NEED_INPUT);
    assert_int_equal(lc_reader_feed(r, NULL, 3), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_set_format(NULL, LC_FORMAT_JSON),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_set_format(r, (lc_format)99),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_set_start(NULL, 1, 0), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_set_start(r, 0, 0), LC_ERR_INVALID_ARG);
    /* a JSON format forced, then AUTO again: the transcript below is
     * sniffed as before */
    assert_int_equal(lc_reader_set_format(r, LC_FORMAT_JSON), LC_OK);
    assert_int_equal(lc_reader_set_format(r, LC_FORMAT_AUTO), LC_OK);
    assert_int_equal(lc_reader_set_start(r, 7, 100), LC_OK);
    assert_int_equal(lc_reader_feed(r, "x", 1), LC_OK);
    assert_int_equal(lc_reader_set_source(r, "late", 4), LC_ERR_STATE);
    assert_int_equal(lc_reader_set_format(r, LC_FORMAT_JSON), LC_ERR_STATE);
    assert_int_equal(lc_reader_set_start(r, 1, 0), LC_ERR_STATE);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_ERR_STATE);
    assert_int_equal(lc_reader_feed(r, "x", 1), LC_ERR_STATE);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_reader_format(r), LC_FORMAT_TRANSCRIPT);
    assert_int_equal(lc_conversation_line(c), 7); /* set_start's line */
    lc_conversation_free(c);
    assert_int_equal(lc_reader_next(r, &c), LC_END);
    assert_int_equal(lc_reader_next(r, NULL), LC_ERR_INVALID_ARG);
    lc_reader_free(r);
    lc_reader_free(NULL);
    lc_config_free(cfg);
}

/* Mutated fixtures (deterministic PRNG): byte flips, inserted line
 * breaks / quotes / braces / invalid bytes, truncation. Whatever the
 * input, feeding it whole or in random chunks must give the same dump,
 * and every conversation must be returned (checked in run_reader). */
static uint64_t rng_state = 0x9E3779B97F4A7C15u;
static uint64_t rnd(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static char *run_random_chunks(const lc_config *cfg, const char *buf,
                               size_t len) {
    lc_reader *r;
    lc_conversation *c;
    lci_buf out;
    size_t n = 0, pos = 0;
    lci_buf_init(&out, &lci_default_alloc);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_set_source(r, "m", 1), LC_OK);
    while (pos < len) {
        size_t k = 1 + (size_t)(rnd() % 64);
        if (k > len - pos)
            k = len - pos;
        assert_int_equal(lc_reader_feed(r, buf + pos, k), LC_OK);
        pos += k;
        while (lc_reader_next(r, &c) == LC_OK) {
            assert_int_equal(lc_conversation_parse(c), LC_OK);
            dump_conv(&out, ++n, c);
            lc_conversation_free(c);
        }
    }
    assert_int_equal(lc_reader_finish(r), LC_OK);
    while (lc_reader_next(r, &c) == LC_OK) {
        dump_conv(&out, ++n, c);
        lc_conversation_free(c);
    }
    lc_reader_free(r);
    lci_buf_printf(&out, "total %zu\n", n);
    return lci_buf_take(&out);
}

/* Length of a dump without its final "total ..." line. */
static size_t body_len(const char *d) {
    size_t n = strlen(d);
    if (n && d[n - 1] == '\n')
        n--;
    while (n > 0 && d[n - 1] != '\n')
        n--;
    return n;
}

static void test_mutations(void **state) {
    static const char *const files[] = {
        "jsonl/tool-calls.jsonl", "jsonl/malformed-middle.jsonl",
        "jsonl/crlf-bom.jsonl", "jsonl-turns/keys-and-ids.jsonl",
        "json/array-pretty.json", "json/bare-messages.json",
        "transcript/crlf-bom-tabs.txt", "transcript/embedded-labels.txt",
        "transcript/timestamps.txt", "transcript/markdown-bold.txt",
    };
    static const char inserts[] = "\n\r{}[]\",:\\\xff\xc3 \t";
    lc_config *cfg;
    size_t f, round;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (f = 0; f < sizeof files / sizeof files[0]; f++) {
        char path[1024];
        size_t len;
        char *orig;
        snprintf(path, sizeof path, "%s/%s", tu_fixtures_dir(), files[f]);
        orig = tu_slurp(path, &len);
        assert_non_null(orig);
        for (round = 0; round < 40; round++) {
            char *buf = malloc(len + 16), *a, *b;
            size_t n = len, k, edits = 1 + (size_t)(rnd() % 4);
            memcpy(buf, orig, len);
            for (k = 0; k < edits && n > 0; k++) {
                size_t at = (size_t)(rnd() % n);
                switch (rnd() % 4) {
                case 0: /* flip */
                    buf[at] = (char)(buf[at] ^ (1 << (rnd() % 8)));
                    break;
                case 1: /* insert */
                    memmove(buf + at + 1, buf + at, n - at);
                    buf[at] = inserts[rnd() % (sizeof inserts - 1)];
                    n++;
                    break;
                case 2: /* delete */
                    memmove(buf + at, buf + at + 1, n - at - 1);
                    n--;
                    break;
                default: /* truncate */
                    n = at;
                    break;
                }
            }
            a = run_reader(cfg, "m", buf, n, 0);
            b = run_random_chunks(cfg, buf, n);
            /* run_reader adds good/failed counts: compare the items */
            if (strncmp(a, b, body_len(b)) != 0 || body_len(a) != body_len(b))
                fail_msg("%s round %zu: chunking changed the result:\n%s\n"
                         "---\n%s", files[f], round, a, b);
            free(a);
            free(b);
            free(buf);
        }
        free(orig);
    }
    lc_config_free(cfg);
}

/* A consumer that lags behind (one next() per feed) still gets every
 * conversation, in order. */
static void test_lagging_consumer(void **state) {
    lc_config *cfg;
    lc_reader *r;
    lc_conversation *c;
    char line[128], want[32];
    size_t i, got = 0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    for (i = 0; i < 100; i++) {
        int n = snprintf(line, sizeof line,
                         "{\"id\":\"c%zu\",\"messages\":[{\"role\":\"user\","
                         "\"content\":\"x\"}]}\n{\"id\":\"d%zu\",\"messages\":[]}\n",
                         i, i);
        assert_int_equal(lc_reader_feed(r, line, (size_t)n), LC_OK);
        assert_int_equal(lc_reader_next(r, &c), LC_OK);
        snprintf(want, sizeof want, "%c%zu", got % 2 ? 'd' : 'c', got / 2);
        assert_string_equal(lc_conversation_id(c), want);
        got++;
        lc_conversation_free(c);
    }
    assert_int_equal(lc_reader_finish(r), LC_OK);
    while (lc_reader_next(r, &c) == LC_OK) {
        snprintf(want, sizeof want, "%c%zu", got % 2 ? 'd' : 'c', got / 2);
        assert_string_equal(lc_conversation_id(c), want);
        got++;
        lc_conversation_free(c);
    }
    assert_int_equal(got, 200);
    lc_reader_free(r);
    lc_config_free(cfg);
}

/* Sniffing a first line that starts with '[': a JSON array only when
 * what follows the bracket can start one; a bracketed timestamp
 * ("[10:32] alice: hi", documented as a transcript label) or a
 * bracketed note ("[Music]") is a transcript. Also through an overlong
 * first line, judged by its first bytes. */
static void test_sniff_bracket(void **state) {
    static const struct {
        const char *in;
        lc_format want;
    } cases[] = {
        {"[10:32] alice: hi there\n[10:33] bob: hello\n"
         "[10:34] alice: again\n[10:35] bob: hello\n",
         LC_FORMAT_TRANSCRIPT},
        {"[10:32:05] alice: hi\n[10:32:41] bob: hello\n",
         LC_FORMAT_TRANSCRIPT},
        {"[2024-05-01 10:33:05] alice: hi\n[2024-05-01 10:34] bob: yo\n",
         LC_FORMAT_TRANSCRIPT},
        {"[10:32]  **Alice:** hi\n[10:33] **Bob:** hello\n",
         LC_FORMAT_TRANSCRIPT},
        {"  [10:32] alice: hi\nalice: x\nbob: y\n", LC_FORMAT_TRANSCRIPT},
        {"[Music]\nHost: hi\nGuest: hello\n", LC_FORMAT_TRANSCRIPT},
        {"[INFO] started\nHost: hi\nGuest: hello\n", LC_FORMAT_TRANSCRIPT},
        {"[10:32]\nalice: hi\nbob: hello\n", LC_FORMAT_TRANSCRIPT},
        {"[x] done\n", LC_FORMAT_TRANSCRIPT},
        {"[truer] words\n", LC_FORMAT_TRANSCRIPT},
        /* JSON arrays */
        {"[\n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}\n]\n",
         LC_FORMAT_JSON},
        {"[  \n{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}]\n",
         LC_FORMAT_JSON},
        {"[{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}]\n",
         LC_FORMAT_JSON},
        {"[ {\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}]\n",
         LC_FORMAT_JSON},
        {"[\t{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}]\n",
         LC_FORMAT_JSON},
        {"[[{\"role\":\"user\",\"content\":\"a\"}]]\n", LC_FORMAT_JSON},
        {"[\"a\"]\n", LC_FORMAT_JSON},
        {"[]\n", LC_FORMAT_JSON},
        {"[ ]\n", LC_FORMAT_JSON},
        {"[1, 2]\n", LC_FORMAT_JSON},
        {"[-1.5e3]\n", LC_FORMAT_JSON},
        {"[1\n,2]\n", LC_FORMAT_JSON},
        {"[true, null]\n", LC_FORMAT_JSON},
        {"[null]\n", LC_FORMAT_JSON},
        {"[1] [2]\n", LC_FORMAT_JSON},
        {"\xEF\xBB\xBF[{\"messages\":[{\"role\":\"user\",\"content\":\"a\"}]}]"
         "\n",
         LC_FORMAT_JSON},
        {"\xEF\xBB\xBF[10:32] alice: hi\n[10:33] bob: yo\n",
         LC_FORMAT_TRANSCRIPT},
    };
    lc_config *cfg;
    lc_conversation *c[4];
    size_t i, n, k;
    char *big;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lc_reader *r = tu_reader_over(cfg, NULL, cases[i].in,
                                      strlen(cases[i].in));
        lc_format f = lc_reader_format(r);
        lc_conversation *conv;
        if (f != cases[i].want)
            fail_msg("case %zu (%s): read as %s", i, cases[i].in,
                     lc_format_name(f));
        while (lc_reader_next(r, &conv) == LC_OK) {
            if (lc_conversation_format(conv) != cases[i].want)
                fail_msg("case %zu: conversation format %s", i,
                         lc_format_name(lc_conversation_format(conv)));
            lc_conversation_free(conv);
        }
        lc_reader_free(r);
    }
    /* the reported case reads as the transcript it is */
    n = read_all(cfg, cases[0].in, strlen(cases[0].in), c, 4);
    assert_int_equal(n, 1);
    assert_int_equal(lc_conversation_status(c[0]), LC_OK);
    assert_int_equal(lc_conversation_turn_count(c[0]), 4);
    assert_string_equal(lc_conversation_turn(c[0], 0)->speaker, "alice");
    lc_conversation_free(c[0]);
    /* an overlong first line is judged by its first bytes */
    lc_config_free(cfg);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_LINE_BYTES, 1024), LC_OK);
    big = malloc(4096);
    assert_non_null(big);
    for (k = 0; k < 2; k++) {
        size_t len = (size_t)sprintf(
            big, "%s", k ? "[10:32] alice: " : "[{\"messages\":\"");
        memset(big + len, 'x', 2000);
        len += 2000;
        len += (size_t)sprintf(big + len, "\n");
        n = read_all(cfg, big, len, c, 4);
        assert_true(n >= 1);
        assert_int_equal(lc_conversation_format(c[0]),
                         k ? LC_FORMAT_TRANSCRIPT : LC_FORMAT_JSON);
        for (i = 0; i < n; i++)
            lc_conversation_free(c[i]);
    }
    free(big);
    lc_config_free(cfg);
}

/* ------------------------------------------------------------------ */
/* Element positions of JSON diagnostics                                */
/* ------------------------------------------------------------------ */

/* Diagnostic i of c is (line, col, off, turn) with msg in its message. */
static void diag_at(const lc_conversation *c, size_t i, uint64_t line,
                    uint64_t col, uint64_t off, int64_t turn,
                    const char *msg) {
    const lc_error *e = lc_conversation_diag(c, i);
    assert_non_null(e);
    if (!strstr(e->message, msg))
        fail_msg("diag %zu: \"%s\" lacks \"%s\"", i, e->message, msg);
    if (e->line != line || e->column != col || e->offset != off ||
        e->turn != turn)
        fail_msg("diag %zu (%s): at %llu:%llu off %llu turn %lld, want "
                 "%llu:%llu off %llu turn %lld",
                 i, e->message, (unsigned long long)e->line,
                 (unsigned long long)e->column,
                 (unsigned long long)e->offset, (long long)e->turn,
                 (unsigned long long)line, (unsigned long long)col,
                 (unsigned long long)off, (long long)turn);
}

/* Schema warnings and errors point at the offending element (the role
 * or content value, the message, the messages array), not at column 1;
 * max_turns at the first message past the limit; invalid UTF-8 gives
 * one warning per affected turn, at that turn's first bad byte (as
 * transcripts do), not at a bad byte of another field. Deferred parsing
 * gives the same. */
static void test_json_element_positions(void **state) {
    /* line 2 (after GOOD, 46 bytes): the columns below are of line 2 */
    static const char jl[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"ok\"}]}\n"
        "{\"id\":\"i\xff\",\"messages\":[{\"role\":\"user\",\"content\":"
        "\"h\xffi\"},{\"role\":\"wiz\",\"content\":\"x\xfey\"},{\"content\":"
        "7},{\"role\":\"assistant\",\"content\":[{\"type\":\"text\",\"text\":"
        "\"\xc3\xa9\xfe\"}]}]}\n"
        "{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":"
        "\"user\",\"content\":\"b\"},  {\"role\":\"user\",\"content\":\"c\"}]}"
        "\n";
    static const char tr[] = "User: h\xffi\nBot: x\xfey\nUser: b\nBot: c\n";
    static const char jl4[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"h\xffi\"},{\"role\":"
        "\"assistant\",\"content\":\"x\xfey\"},{\"role\":\"user\",\"content\":"
        "\"b\"},{\"role\":\"assistant\",\"content\":\"c\"}]}\n";
    static const char turns[] =
        "{\"conversation_id\":\"c\xff\",\"role\":\"user\",\"content\":"
        "\"a\xfe\"}\n";
    static const char doc[] =
        "[{\"messages\":[{\"role\":\"user\",\"content\":\"a\"},{\"role\":"
        "\"wiz\",\"content\":\"b\xff\"}]},\n"
        " {\"messages\":[{\"role\":\"user\",\"content\":\"a\"},\n"
        "   {\"role\":\"wiz\",\"content\":\"b\xff\"}]}]\n";
    lc_conversation *c[4];
    lc_config *cfg;
    size_t n, i, k;
    int defer;
    (void)state;
    for (defer = 1; defer <= 2; defer++) {
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        assert_int_equal(lc_config_set(cfg, LC_OPT_DEFER_PARSE, defer), LC_OK);
        assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURNS, 2), LC_OK);
        n = read_all(cfg, jl, sizeof jl - 1, c, 4);
        assert_int_equal(n, 3);
        for (i = 0; i < n; i++)
            assert_int_equal(lc_conversation_parse(c[i]), LC_OK);
        /* max_turns 2: the error is at message 3 (after two blanks),
         * and the record with 4 messages fails at its third */
        assert_int_equal(lc_conversation_status(c[2]), LC_ERR_LIMIT);
        diag_at(c[2], 0, 3, 76, 285, -1, "message 3: more than 2 turns");
        assert_int_equal(lc_conversation_status(c[1]), LC_ERR_LIMIT);
        diag_at(c[1], 0, 2, 87, 132, -1, "message 3: more than 2 turns");
        diag_at(c[1], 1, 2, 7, 52, -1, "invalid UTF-8 in \"id\"");
        diag_at(c[1], 2, 2, 64, 109, 2, "message 2: unknown role \"wiz\"");
        diag_at(c[1], 3, 2, 87, 132, 3, "message 3: missing role");
        diag_at(c[1], 4, 2, 98, 143, 3, "message 3: content is a number");
        /* one per turn, at its own bad byte (not the id's) */
        diag_at(c[1], 5, 2, 51, 96, 1, "(byte 0xFF)");
        diag_at(c[1], 6, 2, 82, 127, 2, "(byte 0xFE)");
        assert_int_equal(lc_conversation_diag_count(c[1]), 7);
        for (i = 0; i < n; i++)
            lc_conversation_free(c[i]);
        lc_config_free(cfg);
    }

    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    n = read_all(cfg, jl, sizeof jl - 1, c, 4);
    assert_int_equal(n, 3);
    /* message 3 has no role (at the message) and content 7; the 4th
     * turn's bad byte follows a 2-byte e-acute (column = byte - 1) */
    diag_at(c[1], 2, 2, 87, 132, 3, "message 3: missing role");
    diag_at(c[1], 3, 2, 98, 143, 3, "message 3: content is a number");
    diag_at(c[1], 4, 2, 51, 96, 1, "(byte 0xFF)");
    diag_at(c[1], 5, 2, 82, 127, 2, "(byte 0xFE)");
    diag_at(c[1], 6, 2, 156, 202, 4, "(byte 0xFE)");
    assert_int_equal(lc_conversation_diag_count(c[1]), 7);
    for (i = 0; i < n; i++)
        lc_conversation_free(c[i]);

    /* transcript and JSONL: the same warnings per turn */
    {
        lc_conversation *t[1], *j[1];
        assert_int_equal(read_all(cfg, tr, sizeof tr - 1, t, 1), 1);
        assert_int_equal(read_all(cfg, jl4, sizeof jl4 - 1, j, 1), 1);
        assert_int_equal(lc_conversation_diag_count(t[0]), 2);
        assert_int_equal(lc_conversation_diag_count(j[0]), 2);
        for (k = 0; k < 2; k++) {
            assert_int_equal(lc_conversation_diag(t[0], k)->turn, k + 1);
            assert_int_equal(lc_conversation_diag(j[0], k)->turn, k + 1);
            assert_int_equal(lc_conversation_diag(j[0], k)->status,
                             LC_ERR_UTF8);
        }
        diag_at(j[0], 0, 1, 41, 40, 1, "(byte 0xFF)");
        diag_at(j[0], 1, 1, 78, 77, 2, "(byte 0xFE)");
        lc_conversation_free(t[0]);
        lc_conversation_free(j[0]);
    }

    /* jsonl-turns: the turn's warning is at its content, not the key
     * (the key's own warning is at the record: format_turns.c passes no
     * raw text to lci_json_message yet) */
    assert_int_equal(read_all(cfg, turns, sizeof turns - 1, c, 4), 1);
    diag_at(c[0], 0, 1, 1, 0, -1, "invalid UTF-8 in \"conversation_id\"");
    diag_at(c[0], 1, 1, 51, 50, 1, "(byte 0xFE)");
    lc_conversation_free(c[0]);

    /* JSON document: an element on one line is located like a JSONL
     * record; one spanning lines is not kept as text, so its diagnostics
     * are at its start and name the message */
    n = read_all(cfg, doc, sizeof doc - 1, c, 4);
    assert_int_equal(n, 2);
    assert_int_equal(lc_conversation_format(c[0]), LC_FORMAT_JSON);
    diag_at(c[0], 0, 1, 53, 52, 2, "message 2: unknown role \"wiz\"");
    diag_at(c[0], 1, 1, 71, 70, 2, "(byte 0xFF)");
    diag_at(c[1], 0, 2, 2, 78, 2, "message 2: unknown role \"wiz\"");
    diag_at(c[1], 1, 2, 2, 78, 2,
            "message 2: invalid UTF-8 replaced by U+FFFD");
    for (i = 0; i < n; i++)
        lc_conversation_free(c[i]);
    lc_config_free(cfg);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lagging_consumer),
        cmocka_unit_test(test_fixtures_jsonl),
        cmocka_unit_test(test_fixtures_turns),
        cmocka_unit_test(test_fixtures_json),
        cmocka_unit_test(test_fixtures_transcript),
        cmocka_unit_test(test_seed_transcript),
        cmocka_unit_test(test_line_endings),
        cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_long_line_buffer_released),
        cmocka_unit_test(test_after_long_record),
        cmocka_unit_test(test_after_long_element),
        cmocka_unit_test(test_turn_limits),
        cmocka_unit_test(test_empty_and_blank),
        cmocka_unit_test(test_not_text),
        cmocka_unit_test(test_not_text_forced_edges),
        cmocka_unit_test(test_format_override),
        cmocka_unit_test(test_reader_misuse),
        cmocka_unit_test(test_mutations),
        cmocka_unit_test(test_sniff_bracket),
        cmocka_unit_test(test_json_element_positions),
    };
    return cmocka_run_group_tests_name("reader", tests, NULL, NULL);
}
