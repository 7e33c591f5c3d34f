/*
 * stages.c - per-stage cost of the loopcheck pipeline, for bench/run.
 *
 * Not part of the default build: bench/run compiles it against the
 * internal static library of a release build (build-bench/lib/
 * libloopcheck-internal.a), so it may call lci_* functions.
 *
 * The corpus (JSONL, one conversation per line) is read once; then each
 * stage runs over the whole corpus in memory, cumulatively, so the
 * difference between two consecutive stages is the cost of what the later
 * one adds:
 *
 *   read     read(2) the file in 1 MiB chunks + split lines (memchr)
 *   json     + JSON as the reader does it: lci_json_scan_record, and
 *            json-c's parse for the records it declines; walk messages
 *            (decode escapes), free
 *   norm     + lci_utf8_repair + lci_normalize (fast path) of every text
 *   tokens   + lci_tokenize + lci_hash of every normalized text
 *   reader   the library's own reader (lc_reader_feed/next): read, JSON,
 *            normalize, tokenize and hash as the CLI does them
 *   loops    + lc_session_check with only the loop kinds enabled
 *            (LC_OPT_KINDS): the six loop detectors, no refusal
 *            classification
 *   detect   + lc_session_check with every kind (loop detectors, refusal
 *            classification and the refusal detectors)
 *   output   + lc_report_write (JSON) into a discarding sink
 *   json-c   (reference, not cumulative) read + json-c parse and walk of
 *            every record, as the reader did before json_scan.c
 *
 * "loops" and "detect" are both measured against "reader" (their added_s
 * is what they add to it). Like the CLI, they reuse one lc_session for
 * every conversation (lc_session_check resets it).
 *
 * "json".."tokens" are this program's approximation of the reader (it takes
 * "content" strings and tool-call "arguments"); "reader" is the real one.
 * Each stage is run --reps times (default 3) and the fastest is kept.
 *
 * Usage: stages [--reps N] [--patterns FILE] CORPUS.jsonl
 * With --patterns, also times lci_refusal_classify on every assistant turn
 * with the built-in patterns and with the built-ins plus FILE (in turns,
 * at least 5 times each, 10 passes a time; the best of each is kept).
 */
#include "input.h"

#include <errno.h>
#include <fcntl.h>
#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what) {
    fprintf(stderr, "stages: %s\n", what);
    exit(1);
}

typedef struct corpus {
    char *data;
    size_t len;
} corpus;

/* Stage "read": read(2) in chunks, count lines. Also loads the corpus. */
static size_t stage_read(const char *path, corpus *keep) {
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die(strerror(errno));
    enum { CHUNK = 1 << 20 };
    char *buf = malloc(CHUNK);
    if (!buf)
        die("out of memory");
    size_t lines = 0, total = 0, cap = 0;
    ssize_t n;
    while ((n = read(fd, buf, CHUNK)) > 0) {
        const char *p = buf, *end = buf + n;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            lines++;
            p++;
        }
        if (keep) {
            if (total + (size_t)n > cap) {
                cap = (total + (size_t)n) * 2;
                keep->data = realloc(keep->data, cap);
                if (!keep->data)
                    die("out of memory");
            }
            memcpy(keep->data + total, buf, (size_t)n);
        }
        total += (size_t)n;
    }
    if (n < 0)
        die(strerror(errno));
    close(fd);
    free(buf);
    if (keep)
        keep->len = total;
    return lines;
}

/* Work done per text for the approximate stages. */
enum { DO_JSON = 0, DO_NORM = 1, DO_TOKENS = 2 };

typedef struct walk {
    int level;
    lci_buf repaired, norm;
    lci_token *toks;
    uint32_t ntoks;
    uint64_t sink;
    size_t texts;
} walk;

static void do_text(walk *w, const char *s, size_t len) {
    w->texts++;
    if (w->level < DO_NORM) {
        w->sink += len;
        return;
    }
    size_t bad = 0, first = 0;
    w->repaired.len = 0;
    w->norm.len = 0;
    if (lci_utf8_repair(s, len, &w->repaired, &bad, &first) != LC_OK)
        die("lci_utf8_repair failed");
    if (lci_normalize(w->repaired.data ? w->repaired.data : "",
                      w->repaired.len, 1, &w->norm) != LC_OK)
        die("lci_normalize failed");
    if (lci_buf_terminate(&w->norm) != LC_OK)
        die("out of memory");
    if (w->level < DO_TOKENS) {
        w->sink += w->norm.len;
        return;
    }
    if (lci_tokenize(&lci_default_alloc, w->norm.data, w->norm.len, &w->toks,
                     &w->ntoks) != LC_OK)
        die("lci_tokenize failed");
    w->sink += lci_hash(w->norm.data, w->norm.len) + w->ntoks;
}

static void walk_message(walk *w, json_object *m) {
    json_object *c, *calls;
    if (json_object_object_get_ex(m, "content", &c)) {
        if (json_object_is_type(c, json_type_string))
            do_text(w, json_object_get_string(c),
                    (size_t)json_object_get_string_len(c));
        else if (json_object_is_type(c, json_type_array)) {
            size_t n = json_object_array_length(c);
            for (size_t i = 0; i < n; i++) {
                json_object *part = json_object_array_get_idx(c, i), *t;
                if (json_object_object_get_ex(part, "text", &t))
                    do_text(w, json_object_get_string(t),
                            (size_t)json_object_get_string_len(t));
            }
        }
    }
    if (json_object_object_get_ex(m, "tool_calls", &calls) &&
        json_object_is_type(calls, json_type_array)) {
        size_t n = json_object_array_length(calls);
        for (size_t i = 0; i < n; i++) {
            json_object *call = json_object_array_get_idx(calls, i), *fn, *a;
            if (json_object_object_get_ex(call, "function", &fn) &&
                json_object_object_get_ex(fn, "arguments", &a))
                do_text(w, json_object_get_string(a),
                        (size_t)json_object_get_string_len(a));
        }
    }
}

/* A string the scan found, escapes decoded when it has any. */
static void scanned_text(walk *w, lci_buf *tmp, const char *line,
                         const lci_jstr *s) {
    if (!s->esc) {
        do_text(w, line + s->off, s->len);
        return;
    }
    tmp->len = 0;
    if (lci_json_unescape(line + s->off, s->len, tmp) != LC_OK)
        die("out of memory");
    do_text(w, tmp->data ? tmp->data : "", tmp->len);
}

/* json-c only (fast 0), or as the reader does it (fast 1): the records
 * lci_json_scan_record takes without json-c, the others with it. */
static size_t stage_json(const corpus *c, int level, size_t *texts,
                         int fast) {
    walk w;
    memset(&w, 0, sizeof w);
    w.level = level;
    lci_buf_init(&w.repaired, &lci_default_alloc);
    lci_buf_init(&w.norm, &lci_default_alloc);
    lci_jrec rec;
    lci_buf tmp;
    memset(&rec, 0, sizeof rec);
    rec.a = &lci_default_alloc;
    lci_buf_init(&tmp, &lci_default_alloc);
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        die("out of memory");
    size_t convs = 0;
    const char *p = c->data, *end = c->data + c->len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lc_status st;
        if (fast && lci_json_scan_record(&rec, p, len, 64, NULL, &st)) {
            convs++;
            for (size_t i = 0; i < rec.nmsgs; i++) {
                const lci_jmsg *m = &rec.msgs[i];
                if (m->has_text)
                    scanned_text(&w, &tmp, p, &m->text);
                for (size_t k = 0; k < m->ncalls; k++)
                    if (rec.calls[m->call0 + k].has_args)
                        scanned_text(&w, &tmp, p,
                                     &rec.calls[m->call0 + k].args);
            }
            p += len + 1;
            continue;
        }
        json_tokener_reset(tok);
        json_object *o = json_tokener_parse_ex(tok, p, (int)len);
        if (o) {
            json_object *msgs;
            convs++;
            if (json_object_object_get_ex(o, "messages", &msgs) &&
                json_object_is_type(msgs, json_type_array)) {
                size_t n = json_object_array_length(msgs);
                for (size_t i = 0; i < n; i++)
                    walk_message(&w, json_object_array_get_idx(msgs, i));
            }
            json_object_put(o);
        }
        p += len + 1;
    }
    json_tokener_free(tok);
    lci_jrec_free(&rec);
    lci_buf_free(&tmp);
    lci_buf_free(&w.repaired);
    lci_buf_free(&w.norm);
    lci_free(&lci_default_alloc, w.toks);
    if (texts)
        *texts = w.texts;
    if (w.sink == 42) /* keep the work observable */
        fputc(' ', stderr);
    return convs;
}

static int null_write(const char *data, size_t len, void *ud) {
    (void)data;
    *(size_t *)ud += len;
    return 0;
}

enum { UPTO_READER = 0, UPTO_DETECT = 1, UPTO_OUTPUT = 2 };

typedef struct reader_counts {
    size_t convs, turns, failed, findings, out_bytes, assistant;
} reader_counts;

/* The library's own reader, then optionally detectors and output. */
static void stage_reader(const lc_config *cfg, const corpus *c, int upto,
                         reader_counts *rc) {
    lc_reader *r;
    lc_session *sess = NULL;
    memset(rc, 0, sizeof *rc);
    if (lc_reader_new(cfg, &r) != LC_OK)
        die("lc_reader_new failed");
    lc_reader_set_source(r, "corpus", 6);
    size_t off = 0;
    const size_t chunk = 1 << 20;
    int finished = 0;
    for (;;) {
        lc_conversation *conv = NULL;
        lc_status st = lc_reader_next(r, &conv);
        if (st == LC_END)
            break;
        if (st == LC_NEED_INPUT) {
            if (off < c->len) {
                size_t n = c->len - off < chunk ? c->len - off : chunk;
                if (lc_reader_feed(r, c->data + off, n) != LC_OK)
                    die("lc_reader_feed failed");
                off += n;
            } else if (!finished) {
                lc_reader_finish(r);
                finished = 1;
            } else {
                die("reader wants input after finish");
            }
            continue;
        }
        if (st != LC_OK)
            die("lc_reader_next failed");
        rc->convs++;
        rc->turns += lc_conversation_turn_count(conv);
        if (lc_conversation_status(conv) != LC_OK)
            rc->failed++;
        if (upto >= UPTO_DETECT) {
            lc_report *rep = NULL;
            if (!sess && lc_session_new(cfg, &sess) != LC_OK)
                die("lc_session_new failed");
            if (lc_session_check(sess, conv, &rep) != LC_OK)
                die("lc_session_check failed");
            rc->findings += lc_report_finding_count(rep);
            if (upto >= UPTO_OUTPUT &&
                lc_report_write(rep, LC_OUTPUT_JSON, 0, null_write,
                                &rc->out_bytes) != LC_OK)
                die("lc_report_write failed");
            lc_report_free(rep);
        }
        lc_conversation_free(conv);
    }
    lc_session_free(sess);
    lc_reader_free(r);
}

#define REFUSAL_PASSES 10

/* The corpus read once into conversations, for timing classification. */
typedef struct conv_list {
    lc_conversation **v;
    size_t n;
} conv_list;

static conv_list read_convs(const lc_config *cfg, const corpus *c) {
    conv_list l = {NULL, 0};
    size_t cap = 0;
    lc_reader *r;
    lc_conversation *conv;
    if (lc_reader_new(cfg, &r) != LC_OK)
        die("lc_reader_new failed");
    lc_reader_feed(r, c->data, c->len);
    lc_reader_finish(r);
    while (lc_reader_next(r, &conv) == LC_OK) {
        if (l.n == cap) {
            cap = cap ? cap * 2 : 1024;
            l.v = realloc(l.v, cap * sizeof *l.v);
            if (!l.v)
                die("out of memory");
        }
        l.v[l.n++] = conv;
    }
    lc_reader_free(r);
    return l;
}

/* Refusal classification alone with cfg's patterns, over every assistant
 * turn of l: seconds per pass. One pass over 10 MB takes about 10 ms, so
 * REFUSAL_PASSES of them are timed together (a timer tick or a
 * preemption is not the result). */
static double time_refusal(const lc_config *cfg, const conv_list *l,
                           size_t *nturns, size_t *nref) {
    size_t turns = 0, refusals = 0;
    double t0 = now();
    for (int pass = 0; pass < REFUSAL_PASSES; pass++) {
        turns = refusals = 0;
        for (size_t i = 0; i < l->n; i++) {
            for (size_t j = 0; j < l->v[i]->nturns; j++) {
                const lci_turn *t = &l->v[i]->turns[j];
                if (t->pub.role != LC_ROLE_ASSISTANT)
                    continue;
                lci_refusal out;
                memset(&out, 0, sizeof out);
                lci_refusal_classify(cfg, t, &out);
                turns++;
                refusals += out.is_refusal;
            }
        }
    }
    *nturns = turns;
    *nref = refusals;
    return (now() - t0) / REFUSAL_PASSES;
}

static char *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        die(strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0, got;
    do {
        if (n + 65536 > cap) {
            cap = (n + 65536) * 2;
            buf = realloc(buf, cap);
            if (!buf)
                die("out of memory");
        }
        got = fread(buf + n, 1, cap - n, f);
        n += got;
    } while (got > 0);
    fclose(f);
    *len = n;
    return buf;
}

static void row(const char *name, double t, double prev, size_t bytes,
                size_t convs, const char *what) {
    double mb = (double)bytes / 1e6;
    printf("%-8s %9.3f %10.1f %11.0f %9.3f %7.1f%%  %s\n", name, t, mb / t,
           (double)convs / t, prev >= 0 ? t - prev : t,
           prev >= 0 && t > 0 ? 100.0 * (t - prev) / t : 100.0, what);
}

int main(int argc, char **argv) {
    int reps = 3;
    const char *path = NULL, *patterns = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--reps") && i + 1 < argc)
            reps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--patterns") && i + 1 < argc)
            patterns = argv[++i];
        else if (argv[i][0] == '-' && argv[i][1]) {
            fprintf(stderr, "usage: stages [--reps N] [--patterns FILE] "
                            "CORPUS.jsonl\n");
            return 2;
        } else
            path = argv[i];
    }
    if (!path || reps < 1) {
        fprintf(stderr, "usage: stages [--reps N] [--patterns FILE] "
                        "CORPUS.jsonl\n");
        return 2;
    }

    corpus c = {NULL, 0};
    stage_read(path, &c); /* load (and warm the page cache) */
    lc_config *cfg, *cfg_loops;
    if (lc_config_new(NULL, &cfg) != LC_OK ||
        lc_config_new(NULL, &cfg_loops) != LC_OK)
        die("lc_config_new failed");
    if (lc_config_set(cfg_loops, LC_OPT_KINDS,
                      LC_KIND_BIT(LC_KIND_EXACT_LOOP) |
                          LC_KIND_BIT(LC_KIND_RECURRING_TURN) |
                          LC_KIND_BIT(LC_KIND_RECYCLED_PASSAGE) |
                          LC_KIND_BIT(LC_KIND_NEAR_DUPLICATE_LOOP) |
                          LC_KIND_BIT(LC_KIND_DEGENERATE_REPETITION) |
                          LC_KIND_BIT(LC_KIND_STALLED_CONVERSATION)) != LC_OK)
        die("lc_config_set(LC_OPT_KINDS) failed");

    double best[9];
    reader_counts rc_loops;
    size_t convs = 0, texts = 0;
    reader_counts rc;
    memset(&rc, 0, sizeof rc);
    for (int s = 0; s < 9; s++) {
        best[s] = 1e30;
        for (int k = 0; k < reps; k++) {
            double t0 = now();
            switch (s) {
            case 0: stage_read(path, NULL); break;
            case 1: convs = stage_json(&c, DO_JSON, &texts, 1); break;
            case 2: stage_json(&c, DO_NORM, NULL, 1); break;
            case 3: stage_json(&c, DO_TOKENS, NULL, 1); break;
            case 8: stage_json(&c, DO_JSON, NULL, 0); break;
            case 4: stage_reader(cfg, &c, UPTO_READER, &rc); break;
            case 5: stage_reader(cfg, &c, UPTO_DETECT, &rc); break;
            case 6: stage_reader(cfg, &c, UPTO_OUTPUT, &rc); break;
            default: stage_reader(cfg_loops, &c, UPTO_DETECT, &rc_loops); break;
            }
            double dt = now() - t0;
            if (dt < best[s])
                best[s] = dt;
        }
    }
    printf("corpus: %.1f MB, %zu conversations, %zu texts (json walk), "
           "reader: %zu conversations, %zu turns, %zu failed, %zu findings, "
           "%zu bytes of JSON output; best of %d\n",
           (double)c.len / 1e6, convs, texts, rc.convs, rc.turns, rc.failed,
           rc.findings, rc.out_bytes, reps);
    printf("%-8s %9s %10s %11s %9s %8s  %s\n", "stage", "seconds", "MB/s",
           "conv/s", "added_s", "share", "cumulative work");
    row("read", best[0], -1, c.len, convs, "read(2) + split lines");
    row("json", best[1], best[0], c.len, convs,
        "+ JSON as the reader does it (scan; json-c for the rest), walk");
    row("norm", best[2], best[1], c.len, convs, "+ utf8 repair, normalize");
    row("tokens", best[3], best[2], c.len, convs, "+ tokenize, hash");
    row("reader", best[4], best[0], c.len, convs,
        "library reader (all of the above, for real)");
    row("loops", best[7], best[4], c.len, convs,
        "+ session, loop detectors only");
    row("detect", best[5], best[4], c.len, convs,
        "+ session, all detectors and refusal classification");
    row("output", best[6], best[5], c.len, convs, "+ JSON report output");
    row("json-c", best[8], best[0], c.len, convs,
        "(reference) read + json-c parse and walk of every record");

    if (patterns) {
        size_t plen;
        char *ptext = slurp(patterns, &plen);
        lc_config *cfg2;
        if (lc_config_new(NULL, &cfg2) != LC_OK)
            die("lc_config_new failed");
        if (lc_config_add_patterns(cfg2, patterns, ptext, plen) != LC_OK) {
            const lc_error *e = lc_config_error(cfg2);
            fprintf(stderr, "stages: %s:%llu:%llu: %s\n", patterns,
                    e ? (unsigned long long)e->line : 0ULL,
                    e ? (unsigned long long)e->column : 0ULL,
                    e ? e->message : "pattern file rejected");
            return 1;
        }
        size_t n1 = 0, r1 = 0, n2 = 0, r2 = 0;
        double t1 = 1e30, t2 = 1e30;
        /* the turns' tokens do not depend on the patterns: one reading
         * serves both configurations, which take turns so that both see
         * the same machine (it may be shared) */
        conv_list l = read_convs(cfg, &c);
        for (int k = 0; k < (reps < 5 ? 5 : reps); k++) {
            double a = time_refusal(cfg, &l, &n1, &r1);
            double b = time_refusal(cfg2, &l, &n2, &r2);
            t1 = a < t1 ? a : t1;
            t2 = b < t2 ? b : t2;
        }
        for (size_t i = 0; i < l.n; i++)
            lc_conversation_free(l.v[i]);
        free(l.v);
        printf("refusal classify: %zu assistant turns; built-in %zu "
               "patterns: %.2f ms (%zu refusals); + %s (%zu patterns in "
               "all): %.2f ms (%zu refusals); slowdown %+.1f%%\n",
               n1, lc_config_pattern_count(cfg), 1e3 * t1, r1, patterns,
               lc_config_pattern_count(cfg2), 1e3 * t2, r2,
               100.0 * (t2 - t1) / t1);
        lc_config_free(cfg2);
        free(ptext);
    }
    lc_config_free(cfg);
    lc_config_free(cfg_loops);
    free(c.data);
    return 0;
}
