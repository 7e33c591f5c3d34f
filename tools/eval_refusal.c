/*
 * eval_refusal.c - development tool: classify the last assistant message
 * of every JSONL record ({"id","messages":[...],"label","meta":{"model"}})
 * and print one tab-separated line per record:
 *   id  label  model  pred(0/1)  partial  family  score  span-text
 * Usage: eval_refusal [--dev] [--matches|--features] FILE.jsonl
 *                     [PATTERNS.lcp]
 * --dev keeps only the development half (FNV-1a-32 of the first user
 * message even, the split of tests/unit/test_refusal_accuracy.c), so that
 * looking at individual decisions never shows a held-out answer.
 * --matches prints, under each record's line, every pattern match
 * (family, tokens, weight, matched normalized text) before scoring.
 * --features prints instead, per record, "id<TAB>label<TAB>model<TAB>
 * prompt-fnv1a<TAB>bucket:value ..." for tools/train_refusal.py.
 * The figures that gate CI are computed by tests/unit/test_refusal_accuracy.c;
 * this tool is for looking at individual decisions.
 */
#include "internal.h"

#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct match_ctx {
    const lc_config *cfg;
    const lci_turn *t;
} match_ctx;

static int print_match(const lci_pmatch *m, void *ud) {
    const match_ctx *c = ud;
    const lci_token *a = &c->t->tokens[m->tok_start];
    const lci_token *z = &c->t->tokens[m->tok_end - 1];
    printf("\t%-20s tokens %u-%u weight %d: %.*s\n",
           lci_family_name(c->cfg->patterns, m->family), m->tok_start,
           m->tok_end, lci_family_weight(c->cfg->patterns, m->family),
           (int)(z->off + z->len - a->off), c->t->pub.norm + a->off);
    return 0;
}

static void print_feat(uint32_t bucket, float value, void *ud) {
    (void)ud;
    printf(" %u:%g", bucket, (double)value);
}

static uint32_t fnv1a(const char *s) {
    uint32_t h = 0x811c9dc5u;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 0x01000193u;
    return h;
}

static const char *str_of(json_object *o, const char *k) {
    json_object *v;
    if (!o || !json_object_object_get_ex(o, k, &v))
        return "";
    return json_object_get_string(v);
}

int main(int argc, char **argv) {
    lc_config *cfg;
    FILE *fp;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    int features = 0, matches = 0, dev_only = 0;
    while (argc > 1 && strncmp(argv[1], "--", 2) == 0) {
        if (strcmp(argv[1], "--features") == 0)
            features = 1;
        else if (strcmp(argv[1], "--matches") == 0)
            matches = 1;
        else if (strcmp(argv[1], "--dev") == 0)
            dev_only = 1;
        else
            break;
        argv++;
        argc--;
    }
    if (argc < 2 || strncmp(argv[1], "--", 2) == 0) {
        fprintf(stderr,
                "usage: %s [--dev] [--matches|--features] FILE.jsonl "
                "[PATTERNS.lcp]\n",
                argv[0]);
        return 2;
    }
    if (lc_config_new(NULL, &cfg) != LC_OK)
        return 1;
    if (argc > 2) {
        FILE *pf = fopen(argv[2], "rb");
        static char buf[1 << 20];
        size_t len;
        if (!pf)
            return 1;
        len = fread(buf, 1, sizeof buf, pf);
        fclose(pf);
        if (lc_config_add_patterns(cfg, argv[2], buf, len) != LC_OK) {
            fprintf(stderr, "%s\n", lc_config_error(cfg)->message);
            return 1;
        }
    }
    fp = fopen(argv[1], "rb");
    if (!fp)
        return 1;
    while ((n = getline(&line, &cap, fp)) > 0) {
        json_object *o = json_tokener_parse(line), *msgs, *meta = NULL;
        const char *text = NULL, *prompt = NULL;
        size_t i, len;
        lci_turn t;
        size_t bad;
        lci_buf fams;
        if (!o)
            continue;
        json_object_object_get_ex(o, "meta", &meta);
        if (!json_object_object_get_ex(o, "messages", &msgs))
            continue;
        len = json_object_array_length(msgs);
        for (i = 0; i < len; i++) {
            json_object *m = json_object_array_get_idx(msgs, i);
            if (strcmp(str_of(m, "role"), "assistant") == 0)
                text = str_of(m, "content");
            if (!prompt && strcmp(str_of(m, "role"), "user") == 0)
                prompt = str_of(m, "content");
        }
        if (!text)
            text = "";
        if (dev_only && (fnv1a(prompt ? prompt : "") & 1u)) {
            json_object_put(o);
            continue;
        }
        memset(&t, 0, sizeof t);
        if (lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0, text,
                          strlen(text), &bad) != LC_OK) {
            json_object_put(o);
            continue;
        }
        if (features) {
            printf("%s\t%s\t%s\t%u\t", str_of(o, "id"), str_of(o, "label"),
                   str_of(meta, "model"), fnv1a(prompt ? prompt : ""));
            lci_refusal_features(cfg, &t, print_feat, NULL);
            printf("\n");
            lci_turn_free(&t, &cfg->alloc);
        } else {
            lci_refusal r;
            lci_refusal_classify(cfg, &t, &r);
            lci_buf_init(&fams, &cfg->alloc);
            lci_family_list(cfg->patterns, r.families, &fams);
            printf("%s\t%s\t%s\t%d\t%d\t%s\t%.2f\t%s\t%.*s\n", str_of(o, "id"),
                   str_of(o, "label"), str_of(meta, "model"), r.is_refusal,
                   r.partial,
                   r.family >= 0 ? lci_family_name(cfg->patterns, r.family)
                                 : "-",
                   r.score, fams.data ? fams.data : "",
                   (int)(r.span_end - r.span_start), text + r.span_start);
            lci_buf_free(&fams);
            if (matches) {
                match_ctx mc;
                mc.cfg = cfg;
                mc.t = &t;
                lci_patterns_scan(cfg->patterns, t.tokens, t.ntokens,
                                  ~(uint64_t)0, print_match, &mc);
            }
            lci_turn_free(&t, &cfg->alloc);
        }
        json_object_put(o);
    }
    free(line);
    fclose(fp);
    lc_config_free(cfg);
    return 0;
}
