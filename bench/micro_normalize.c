/*
 * micro_normalize.c - throughput of the text layer alone: lci_normalize
 * with the ASCII fast path vs the plain utf8proc path, and lci_tokenize,
 * over the message texts of a JSONL corpus ({"messages":[{"content"}]}).
 *
 * Not part of the build; compile the text layer directly, optimized:
 *
 *   cc -O2 -DNDEBUG -std=c11 -D_POSIX_C_SOURCE=200809L -Iinclude -Ilib \
 *      -I/usr/include/json-c bench/micro_normalize.c lib/normalize.c \
 *      lib/tokens.c lib/hash.c lib/buf.c lib/alloc.c \
 *      -lutf8proc -lxxhash -ljson-c -o /tmp/micro_normalize
 *   /tmp/micro_normalize ../shared/data/xstest-v1-labelled.jsonl [reps]
 *
 * Texts are repaired (lci_utf8_repair) once up front; every pass
 * normalizes every text into one reused buffer; the best of `reps` passes
 * is reported, in MB/s of input text (1 MB = 1e6 bytes).
 */
#include "internal.h"

#include <json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct text {
    char *s;
    size_t len;
} text;

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int add_text(text **v, size_t *n, size_t *cap, const char *s,
                    size_t len) {
    lci_buf b;
    size_t bad, first;
    if (*n == *cap) {
        size_t nc = *cap ? *cap * 2 : 1024;
        text *p = realloc(*v, nc * sizeof *p);
        if (!p)
            return -1;
        *v = p;
        *cap = nc;
    }
    lci_buf_init(&b, &lci_default_alloc);
    if (lci_utf8_repair(s, len, &b, &bad, &first) != LC_OK)
        return -1;
    (*v)[*n].len = b.len;
    (*v)[*n].s = lci_buf_take(&b);
    (*n)++;
    return 0;
}

int main(int argc, char **argv) {
    FILE *f;
    char *line = NULL;
    size_t lcap = 0, n = 0, cap = 0, total = 0, i, ntok = 0;
    ssize_t got;
    text *v = NULL;
    int reps = argc > 2 ? atoi(argv[2]) : 20, r, fast;
    double best[3] = {1e30, 1e30, 1e30};
    lci_buf out;
    lci_token *toks = NULL;
    uint32_t nt = 0;

    if (argc < 2 || !(f = fopen(argv[1], "rb"))) {
        fprintf(stderr, "usage: micro_normalize CORPUS.jsonl [reps]\n");
        return 2;
    }
    while ((got = getline(&line, &lcap, f)) > 0) {
        json_object *root = json_tokener_parse(line), *msgs, *m, *c;
        size_t k;
        if (!root)
            continue;
        if (json_object_object_get_ex(root, "messages", &msgs) &&
            json_object_is_type(msgs, json_type_array)) {
            for (k = 0; k < json_object_array_length(msgs); k++) {
                m = json_object_array_get_idx(msgs, k);
                if (json_object_object_get_ex(m, "content", &c) &&
                    json_object_is_type(c, json_type_string) &&
                    add_text(&v, &n, &cap, json_object_get_string(c),
                             (size_t)json_object_get_string_len(c)) != 0)
                    return 1;
            }
        }
        json_object_put(root);
    }
    free(line);
    fclose(f);
    for (i = 0; i < n; i++)
        total += v[i].len;

    lci_buf_init(&out, &lci_default_alloc);
    for (r = 0; r < reps; r++) {
        for (fast = 0; fast <= 1; fast++) {
            double t0 = now(), dt;
            for (i = 0; i < n; i++) {
                out.len = 0;
                if (lci_normalize(v[i].s, v[i].len, fast, &out) != LC_OK)
                    return 1;
            }
            dt = now() - t0;
            if (dt < best[fast])
                best[fast] = dt;
        }
    }
    /* tokenize over pre-normalized texts */
    {
        lci_buf *nv = calloc(n, sizeof *nv);
        if (!nv)
            return 1;
        for (i = 0; i < n; i++) {
            lci_buf_init(&nv[i], &lci_default_alloc);
            if (lci_normalize(v[i].s, v[i].len, 1, &nv[i]) != LC_OK)
                return 1;
        }
        for (r = 0; r < reps; r++) {
            double t0 = now(), dt;
            ntok = 0;
            for (i = 0; i < n; i++) {
                if (lci_tokenize(&lci_default_alloc, nv[i].data, nv[i].len,
                                 &toks, &nt) != LC_OK)
                    return 1;
                ntok += nt;
            }
            dt = now() - t0;
            if (dt < best[2])
                best[2] = dt;
        }
        for (i = 0; i < n; i++)
            lci_buf_free(&nv[i]);
        free(nv);
    }
    printf("%zu texts, %zu bytes, %zu tokens, best of %d\n", n, total, ntok,
           reps);
    printf("normalize plain : %8.1f MB/s\n", (double)total / best[0] / 1e6);
    printf("normalize fast  : %8.1f MB/s\n", (double)total / best[1] / 1e6);
    printf("tokenize        : %8.1f MB/s\n", (double)total / best[2] / 1e6);
    lci_free(&lci_default_alloc, toks);
    lci_buf_free(&out);
    for (i = 0; i < n; i++)
        lci_free(&lci_default_alloc, v[i].s);
    free(v);
    return 0;
}
