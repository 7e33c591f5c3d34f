/*
 * test_session_reuse.c - one session analysing many conversations
 * (lc_session_check, lc_session_reset; performance module, issue 6) gives
 * exactly what a fresh session per conversation gives.
 *
 * Inputs: every *.jsonl under fixtures/loops, fixtures/refusal and
 * fixtures/jsonl, read with the library's reader, plus the bench-like
 * corpus of fixtures/runs if present. For every conversation the JSON
 * report of lc_session_check on ONE shared session (used for all
 * conversations in order, then again in reverse order, with live pushes
 * in between) must be byte-identical to lc_conversation_check's.
 * Reset after live pushes must also give a session that behaves like a
 * new one (same findings, same events).
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

typedef struct corpus {
    lc_conversation **convs;
    size_t n, cap;
} corpus;

static void add_file(corpus *c, const lc_config *cfg, const char *path) {
    size_t len = 0;
    char *buf = tu_slurp(path, &len);
    lc_reader *rd = NULL;
    lc_conversation *conv;
    assert_non_null(buf);
    rd = tu_reader_over(cfg, path, buf, len);
    while (lc_reader_next(rd, &conv) == LC_OK) {
        if (c->n == c->cap) {
            c->cap = c->cap ? 2 * c->cap : 64;
            c->convs = realloc(c->convs, c->cap * sizeof *c->convs);
            assert_non_null(c->convs);
        }
        assert_int_equal(lc_conversation_parse(conv), LC_OK);
        c->convs[c->n++] = conv;
    }
    lc_reader_free(rd);
    free(buf);
}

static void add_dir(corpus *c, const lc_config *cfg, const char *sub) {
    const char *root = getenv("LC_FIXTURES");
    char dir[2048], path[4096];
    struct dirent *e;
    DIR *d;
    assert_non_null(root);
    snprintf(dir, sizeof dir, "%s/%s", root, sub);
    d = opendir(dir);
    if (!d)
        return;
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l < 6 || strcmp(e->d_name + l - 6, ".jsonl") != 0)
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        add_file(c, cfg, path);
    }
    closedir(d);
}

static void corpus_free(corpus *c) {
    size_t i;
    for (i = 0; i < c->n; i++)
        lc_conversation_free(c->convs[i]);
    free(c->convs);
}

static int buf_write(const char *data, size_t len, void *ud) {
    lci_buf *b = ud;
    return lci_buf_append(b, data, len) != LC_OK;
}

/* JSON of a report, NUL-terminated, malloc'ed by lci_buf. */
static char *report_json(const lc_report *r) {
    lci_buf b;
    lci_buf_init(&b, &lci_default_alloc);
    assert_int_equal(lc_report_write(r, LC_OUTPUT_JSON, 0, buf_write, &b),
                     LC_OK);
    assert_int_equal(lci_buf_terminate(&b), LC_OK);
    return lci_buf_take(&b);
}

static void check_same(lc_session *s, const lc_config *cfg,
                       const lc_conversation *c) {
    lc_report *a = NULL, *b = NULL;
    char *ja, *jb;
    assert_int_equal(lc_conversation_check(cfg, c, &a), LC_OK);
    assert_int_equal(lc_session_check(s, c, &b), LC_OK);
    ja = report_json(a);
    jb = report_json(b);
    assert_string_equal(ja, jb);
    assert_int_equal(lc_report_refuses(a), lc_report_refuses(b));
    assert_true(lc_report_prompt_hash(a) == lc_report_prompt_hash(b));
    /* the findings moved to the report: the session holds none */
    assert_int_equal(lc_session_finding_count(s), 0);
    lci_free(&lci_default_alloc, ja);
    lci_free(&lci_default_alloc, jb);
    lc_report_free(a);
    lc_report_free(b);
}

/* Push every turn of c live (deep copies), draining events; returns the
 * number of events. */
static size_t push_live(lc_session *s, const lc_conversation *c) {
    size_t i, events = 0;
    const lc_finding *f;
    for (i = 0; i < lc_conversation_turn_count(c); i++) {
        assert_int_equal(lc_session_push_turn(s, lc_conversation_turn(c, i)),
                         LC_OK);
        while (lc_session_next_finding(s, &f) == LC_OK)
            events++;
    }
    assert_int_equal(lc_session_finish(s), LC_OK);
    while (lc_session_next_finding(s, &f) == LC_OK)
        events++;
    return events;
}

static void reuse_equals_fresh(int64_t history) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    corpus c = {0};
    size_t i, nfind = 0;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_HISTORY_TURNS, history),
                     LC_OK);
    add_dir(&c, cfg, "loops");
    add_dir(&c, cfg, "refusal");
    add_dir(&c, cfg, "jsonl");
    add_dir(&c, cfg, "runs");
    assert_true(c.n >= 20);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < c.n; i++) {
        lc_report *r = NULL;
        check_same(s, cfg, c.convs[i]);
        assert_int_equal(lc_conversation_check(cfg, c.convs[i], &r), LC_OK);
        nfind += lc_report_finding_count(r);
        lc_report_free(r);
    }
    assert_true(nfind > 20); /* the fixtures do find things */
    for (i = c.n; i-- > 0;) {
        check_same(s, cfg, c.convs[i]);
        if (i % 3 == 0) {
            /* a live conversation in between (owned turns), then batch */
            assert_int_equal(lc_session_reset(s), LC_OK);
            push_live(s, c.convs[(i * 7) % c.n]);
        }
    }
    lc_session_free(s);
    corpus_free(&c);
    lc_config_free(cfg);
}

static void test_reuse_equals_fresh(void **state) {
    (void)state;
    reuse_equals_fresh(0);
}

/* a small history window: the ring wraps inside long conversations */
static void test_reuse_small_window(void **state) {
    (void)state;
    reuse_equals_fresh(16);
}

/* A reset session behaves like a new one in live use too: same events,
 * same final findings. */
static void test_reset_live(void **state) {
    lc_config *cfg = NULL;
    lc_session *fresh = NULL, *reused = NULL;
    corpus c = {0};
    size_t i, k;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    add_dir(&c, cfg, "loops");
    add_dir(&c, cfg, "refusal");
    assert_true(c.n >= 10);
    assert_int_equal(lc_session_new(cfg, &reused), LC_OK);
    for (i = 0; i < c.n; i++) {
        size_t ef, er;
        assert_int_equal(lc_session_new(cfg, &fresh), LC_OK);
        assert_int_equal(lc_session_reset(reused), LC_OK);
        assert_null(lc_session_error(reused));
        ef = push_live(fresh, c.convs[i]);
        er = push_live(reused, c.convs[i]);
        assert_int_equal(ef, er);
        assert_int_equal(lc_session_finding_count(fresh),
                         lc_session_finding_count(reused));
        for (k = 0; k < lc_session_finding_count(fresh); k++) {
            const lc_finding *a = lc_session_finding(fresh, k);
            const lc_finding *b = lc_session_finding(reused, k);
            assert_int_equal(a->kind, b->kind);
            assert_int_equal(a->first_turn, b->first_turn);
            assert_int_equal(a->last_turn, b->last_turn);
            assert_int_equal(a->turn_count, b->turn_count);
            assert_true(a->evidence == b->evidence);
            assert_string_equal(a->excerpt, b->excerpt);
        }
        /* push after finish stays an error until the next reset */
        assert_int_equal(lc_session_push(reused, LC_ROLE_USER, NULL, 0,
                                         "hi", 2),
                         LC_ERR_STATE);
        lc_session_free(fresh);
    }
    assert_int_equal(lc_session_reset(NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_check(NULL, c.convs[0], NULL),
                     LC_ERR_INVALID_ARG);
    lc_session_free(reused);
    corpus_free(&c);
    lc_config_free(cfg);
}

/* refusal_onset builds its topic lazily (only when a refusal needs it):
 * turns queued for the topic must still count after they left a small
 * history window. The refused request shares its words only with the
 * first exchange, which is far outside the 16-turn window at the
 * refusal; eagerly it was part of the topic, so the finding is made. */
static size_t onset_findings(int64_t history, const char *first_answer) {
    static const char *const filler[] = {
        "how do I bake sourdough bread at home",
        "Mix flour, water and starter, let it rise overnight, then bake.",
        "what is a good stretching routine for runners",
        "Try calf raises, hamstring stretches and hip openers daily.",
        "recommend a novel about sailing ships",
        "Consider Master and Commander by Patrick O'Brian.",
    };
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    const lc_finding *f;
    size_t i, found = 0;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_HISTORY_TURNS, history),
                     LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
#define PUSH(role, text)                                                    \
    assert_int_equal(lc_session_push(s, role, NULL, 0, text, strlen(text)), \
                     LC_OK)
    PUSH(LC_ROLE_USER, "explain how volcanoes form magma chambers and lava");
    PUSH(LC_ROLE_ASSISTANT, first_answer);
    for (i = 0; i < 30; i++)
        PUSH(i % 2 ? LC_ROLE_ASSISTANT : LC_ROLE_USER, filler[i % 6]);
    PUSH(LC_ROLE_USER,
         "now describe volcanoes magma chambers lava eruptions in detail");
    PUSH(LC_ROLE_ASSISTANT, "I'm sorry, but I can't help with that.");
#undef PUSH
    assert_int_equal(lc_session_finish(s), LC_OK);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        f = lc_session_finding(s, i);
        if (f->kind == LC_KIND_REFUSAL_ONSET)
            found++;
    }
    lc_session_free(s);
    lc_config_free(cfg);
    return found;
}

static void test_onset_topic_outlives_window(void **state) {
    (void)state;
    /* the first exchange is about volcanoes: same topic, a finding */
    assert_int_equal(onset_findings(16, "Volcanoes form when magma from "
                                        "chambers rises; lava erupts."),
                     1);
    assert_int_equal(onset_findings(512, "Volcanoes form when magma from "
                                         "chambers rises; lava erupts."),
                     1);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse_equals_fresh),
        cmocka_unit_test(test_reuse_small_window),
        cmocka_unit_test(test_reset_live),
        cmocka_unit_test(test_onset_topic_outlives_window),
    };
    return cmocka_run_group_tests_name("session_reuse", tests, NULL, NULL);
}
