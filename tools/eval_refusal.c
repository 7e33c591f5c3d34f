/*
 * eval_refusal.c - development tool: classify the last assistant message
 * of every JSONL record ({"id","messages":[...],"label","meta":{"model"}})
 * and print one tab-separated line per record:
 *   id  label  model  pred(0/1)  partial  family  score  span-text
 * Usage: eval_refusal [--features] FILE.jsonl [PATTERNS.lcp]
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
    int features = 0;
    if (argc > 1 && strcmp(argv[1], "--features") == 0) {
        features = 1;
        argv++;
        argc--;
    }
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE.jsonl [PATTERNS.lcp]\n", argv[0]);
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
            lci_turn_free(&t, &cfg->alloc);
        }
        json_object_put(o);
    }
    free(line);
    fclose(fp);
    lc_config_free(cfg);
    return 0;
}
