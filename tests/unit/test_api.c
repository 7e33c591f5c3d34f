/*
 * test_api.c - the public API contract, seen from outside: this program
 * is linked to the SHARED library and includes only loopcheck.h, so it
 * also proves that everything used here is exported.
 *
 *  - every function taking a pointer rejects NULL with LC_ERR_INVALID_ARG
 *    (getters return NULL / 0 / a neutral value and do not crash);
 *  - out-of-range enums and option values are rejected;
 *  - misuse order: push after finish, feed after finish, set on a config
 *    already in use, check on an unparsed conversation -> LC_ERR_STATE;
 *  - every _free(NULL) is a no-op;
 *  - the version macros equal the runtime version.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "loopcheck.h"

#define S(x) x, (sizeof(x) - 1)

static const char jsonl[] =
    "{\"id\":\"a\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"},"
    "{\"role\":\"assistant\",\"content\":\"I can't help with that.\"}]}\n"
    "{\"id\":\"b\",\"messages\":[{\"role\":\"user\",\"content\":\"yo\"},"
    "{\"role\":\"assistant\",\"content\":\"Sure, here you go.\"}]}\n";

static int sink(const char *d, size_t n, void *ud) {
    (void)d;
    *(size_t *)ud += n;
    return 0;
}

static int keep_first(const lc_report *r, void *ud) {
    size_t *n = ud;
    (void)r;
    (*n)++;
    return 0;
}

/* A config, a conversation read from jsonl and its report. */
typedef struct fx {
    lc_config *cfg;
    lc_conversation *conv;
    lc_report *rep;
} fx;

static int setup(void **state) {
    static fx f;
    lc_reader *r = NULL;
    memset(&f, 0, sizeof f);
    if (lc_config_new(NULL, &f.cfg) != LC_OK)
        return -1;
    if (lc_reader_new(f.cfg, &r) != LC_OK)
        return -1;
    if (lc_reader_feed(r, jsonl, sizeof jsonl - 1) != LC_OK ||
        lc_reader_finish(r) != LC_OK || lc_reader_next(r, &f.conv) != LC_OK)
        return -1;
    lc_reader_free(r);
    if (lc_conversation_check(f.cfg, f.conv, &f.rep) != LC_OK)
        return -1;
    *state = &f;
    return 0;
}

static int teardown(void **state) {
    fx *f = *state;
    if (!f)
        return 0;
    lc_report_free(f->rep);
    lc_conversation_free(f->conv);
    lc_config_free(f->cfg);
    return 0;
}

static void test_version(void **state) {
    (void)state;
    assert_int_equal(lc_version_number(), LC_VERSION_NUMBER);
    assert_string_equal(lc_version_string(), LC_VERSION_STRING);
    assert_int_equal(LC_VERSION_NUMBER, LC_VERSION_MAJOR * 10000 +
                                            LC_VERSION_MINOR * 100 +
                                            LC_VERSION_PATCH);
}

static void test_free_null(void **state) {
    (void)state;
    lc_config_free(NULL);
    lc_reader_free(NULL);
    lc_conversation_free(NULL);
    lc_session_free(NULL);
    lc_report_free(NULL);
    lc_summary_free(NULL);
    lc_diff_free(NULL);
}

static void test_names_null(void **state) {
    lc_format fmt;
    lc_kind kind;
    lc_output out;
    lc_opt opt;
    (void)state;
    assert_int_equal(lc_format_from_name(NULL, 4, &fmt), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_format_from_name(S("json"), NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_format_from_name(S("jsonx"), &fmt),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_kind_from_name(NULL, 4, &kind), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_kind_from_name(S("refusal"), NULL),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_output_from_name(NULL, 4, &out), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_output_from_name(S("json"), NULL),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_opt_from_name(NULL, 4, &opt), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_opt_from_name(S("max_turns"), NULL),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_opt_from_name(S("max_turns"), &opt), LC_OK);
    assert_int_equal(opt, LC_OPT_MAX_TURNS);
    /* statics never NULL for any value */
    assert_non_null(lc_status_str((lc_status)12345));
    assert_non_null(lc_status_code((lc_status)-1));
    assert_non_null(lc_role_name((lc_role)99));
    assert_non_null(lc_format_name((lc_format)99));
    assert_null(lc_kind_name((lc_kind)0));
    assert_null(lc_opt_name((lc_opt)999));
}

static void test_config_null_and_bounds(void **state) {
    lc_config *cfg = NULL;
    lc_allocator bad = {NULL, NULL, NULL, NULL};
    int64_t v, mn, mx, def;
    (void)state;
    assert_int_equal(lc_config_new(NULL, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_new(&bad, &cfg), LC_ERR_INVALID_ARG);
    assert_null(cfg);
    assert_int_equal(lc_config_set(NULL, LC_OPT_MAX_TURNS, 5),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_get(NULL, LC_OPT_MAX_TURNS, &v),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_map_speaker(NULL, S("Bob"), LC_ROLE_USER),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_add_patterns(NULL, "x", S("a")),
                     LC_ERR_INVALID_ARG);
    assert_null(lc_config_error(NULL));
    assert_int_equal(lc_config_pattern_count(NULL), 0);
    assert_null(lc_config_pattern(NULL, 0));
    assert_int_equal(lc_opt_bounds((lc_opt)999, &mn, &mx, &def),
                     LC_ERR_UNKNOWN_OPTION);
    assert_int_equal(lc_opt_bounds(LC_OPT_MAX_TURNS, NULL, NULL, NULL),
                     LC_OK);

    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_get(cfg, LC_OPT_MAX_TURNS, NULL),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_get(cfg, (lc_opt)999, &v),
                     LC_ERR_UNKNOWN_OPTION);
    assert_int_equal(lc_config_set(cfg, (lc_opt)999, 1),
                     LC_ERR_UNKNOWN_OPTION);
    assert_int_equal(lc_opt_bounds(LC_OPT_MAX_DEPTH, &mn, &mx, &def), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_DEPTH, mx + 1),
                     LC_ERR_OUT_OF_BOUNDS);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_DEPTH, mn - 1 ? mn - 1
                                                                 : -1),
                     LC_ERR_OUT_OF_BOUNDS);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_DEPTH, mx), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_DEPTH, 0), LC_OK);
    assert_int_equal(lc_config_get(cfg, LC_OPT_MAX_DEPTH, &v), LC_OK);
    assert_int_equal(v, def);
    assert_int_equal(lc_config_map_speaker(cfg, NULL, 3, LC_ROLE_USER),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_map_speaker(cfg, S("Bob"), (lc_role)17),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_config_add_patterns(cfg, "x", NULL, 5),
                     LC_ERR_INVALID_ARG);
    assert_null(lc_config_pattern(cfg, lc_config_pattern_count(cfg)));
    lc_config_free(cfg);
}

/* The built-in families' settings, as doc/patterns.md's table "Built-in
 * families" gives them (update both together). */
typedef struct fam_want {
    const char *name;
    int specificity, weight;
    const char *role;
    int soft, cancel, accumulate;
} fam_want;

static const fam_want builtin_fams[] = {
    {"filtered", 95, 100, "assistant", 0, 0, 0},
    {"crisis_redirect", 90, 100, "assistant", 0, 0, 0},
    {"policy", 80, 100, "assistant", 0, 0, 0},
    {"discomfort", 75, 100, "assistant", 0, 0, 0},
    {"redirect_professional", 70, 80, "assistant", 1, 0, 0},
    {"inappropriate", 65, 85, "assistant", 0, 0, 0},
    {"decline", 60, 100, "assistant", 0, 0, 0},
    {"privacy", 60, 85, "assistant", 0, 0, 0},
    {"disclaim_harm", 55, 100, "assistant", 1, 0, 0},
    {"refusal_es", 55, 100, "assistant", 0, 0, 0},
    {"refusal_fr", 55, 100, "assistant", 0, 0, 0},
    {"refusal_de", 55, 100, "assistant", 0, 0, 0},
    {"refusal_pt", 55, 100, "assistant", 0, 0, 0},
    {"refusal_it", 55, 100, "assistant", 0, 0, 0},
    {"refusal_zh", 55, 100, "assistant", 0, 0, 0},
    {"refusal_ja", 55, 100, "assistant", 0, 0, 0},
    {"apology_inability", 50, 100, "assistant", 0, 0, 0},
    {"ai_disclaimer", 40, 55, "assistant", 1, 0, 0},
    {"objection", 25, 70, "assistant", 0, 0, 0},
    {"lecture", 20, 45, "assistant", 1, 0, 0},
    {"deflect", 10, 30, "assistant", 1, 0, 0},
    {"premise", 0, -60, "assistant", 0, 0, 0},
    {"not_refusal", 0, 0, "assistant", 0, 1, 0},
    {"limitation", 0, 0, "assistant", 0, 0, 0},
    {"moral_reason", 0, 0, "assistant", 0, 0, 0},
    {"alternative", 0, 0, "assistant", 0, 0, 0},
    {"help_here", 0, 0, "help", 0, 0, 0},
    {"help_offer", 0, 0, "help", 0, 0, 0},
    {"pushback", 0, 0, "user", 0, 0, 0},
};
#define NBUILTIN_FAMS (sizeof builtin_fams / sizeof builtin_fams[0])

static const lc_family_info *family_named(const lc_config *cfg,
                                          const char *name) {
    size_t i;
    for (i = 0; i < lc_config_family_count(cfg); i++) {
        const lc_family_info *f = lc_config_family(cfg, i);
        assert_non_null(f);
        if (strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

/* Every family's pattern count is the number of lc_config_pattern
 * entries naming it, and together they are all the patterns. */
static void check_pattern_counts(const lc_config *cfg) {
    size_t i, j, total = 0;
    for (i = 0; i < lc_config_family_count(cfg); i++) {
        const lc_family_info *f = lc_config_family(cfg, i);
        size_t n = 0;
        for (j = 0; j < lc_config_pattern_count(cfg); j++)
            n += strcmp(lc_config_pattern(cfg, j)->family, f->name) == 0;
        assert_int_equal(f->patterns, n);
        total += n;
    }
    assert_int_equal(total, lc_config_pattern_count(cfg));
}

static void check_family(const lc_family_info *f, const fam_want *w,
                         int enabled, const char *origin,
                         const char *settings_origin) {
    assert_non_null(f);
    assert_string_equal(f->name, w->name);
    assert_int_equal(f->specificity, w->specificity);
    assert_int_equal(f->weight, w->weight);
    assert_string_equal(f->role, w->role);
    assert_int_equal(f->soft, w->soft);
    assert_int_equal(f->cancel, w->cancel);
    assert_int_equal(f->accumulate, w->accumulate);
    assert_int_equal(f->enabled, enabled);
    assert_string_equal(f->origin, origin);
    assert_string_equal(f->settings_origin, settings_origin);
}

/* A user file re-opens built-in families and changes their settings,
 * disables one, re-states a setting (no change) and adds a family; a
 * second file changes some of that again; a failed third load changes
 * nothing. The listing follows every step. */
static const char tune_lcp[] =
    "[family lecture]\n"
    "weight 60\n"
    "specificity 30\n"
    "accumulate\n"
    "\n"
    "[family deflect]\n"
    "disable\n"
    "\n"
    "[family objection]\n"
    "role help\n"
    "\n"
    "[family policy]\n"
    "weight 100\n" /* as built in: not a change */
    "that is against the rules of this ship\n"
    "\n"
    "[family pirate]\n"
    "specificity 90\n"
    "weight -20\n"
    "soft\n"
    "cancel\n"
    "< arr (no|nay) [matey] (can|will) (do|help)\n"
    "i be not helpin\n";

static const char again_lcp[] =
    "[family deflect]\n"
    "enable\n"
    "[family pirate]\n"
    "weight 10\n"
    "[family filtered]\n"
    "role user\n"
    "[family crisis_redirect]\n"
    "weight 100\n"; /* already: not a change */

static const char broken_lcp[] =
    "[family brandnew]\n"
    "weight 5\n"
    "[family lecture]\n"
    "weight 7\n"
    "foo (bar\n";

static void test_family_listing(void **state) {
    lc_config *cfg = NULL;
    const lc_family_info *f;
    fam_want w;
    size_t i, n;
    (void)state;
    assert_int_equal(lc_config_family_count(NULL), 0);
    assert_null(lc_config_family(NULL, 0));

    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_family_count(cfg), NBUILTIN_FAMS);
    assert_null(lc_config_family(cfg, NBUILTIN_FAMS));
    assert_null(lc_config_family(cfg, (size_t)-1));
    for (i = 0; i < NBUILTIN_FAMS; i++) {
        f = family_named(cfg, builtin_fams[i].name);
        check_family(f, &builtin_fams[i], 1, "builtin", "builtin");
        assert_true(f->patterns > 0);
    }
    check_pattern_counts(cfg);

    assert_int_equal(lc_config_add_patterns(cfg, "tune.lcp", S(tune_lcp)),
                     LC_OK);
    n = lc_config_family_count(cfg);
    assert_int_equal(n, NBUILTIN_FAMS + 1);
    /* the new family comes last, with its file as both origins */
    f = lc_config_family(cfg, n - 1);
    w = (fam_want){"pirate", 90, -20, "assistant", 1, 1, 0};
    check_family(f, &w, 1, "tune.lcp", "tune.lcp");
    assert_int_equal(f->patterns, 2);
    w = (fam_want){"lecture", 30, 60, "assistant", 1, 0, 1};
    check_family(family_named(cfg, "lecture"), &w, 1, "builtin", "tune.lcp");
    w = (fam_want){"deflect", 10, 30, "assistant", 1, 0, 0};
    check_family(family_named(cfg, "deflect"), &w, 0, "builtin", "tune.lcp");
    w = (fam_want){"objection", 25, 70, "help", 0, 0, 0};
    check_family(family_named(cfg, "objection"), &w, 1, "builtin",
                 "tune.lcp");
    /* a pattern added, the weight re-stated: settings still built in */
    w = (fam_want){"policy", 80, 100, "assistant", 0, 0, 0};
    check_family(family_named(cfg, "policy"), &w, 1, "builtin", "builtin");
    /* the families the file did not name are as built in */
    for (i = 0; i < NBUILTIN_FAMS; i++) {
        const char *nm = builtin_fams[i].name;
        if (strcmp(nm, "lecture") && strcmp(nm, "deflect") &&
            strcmp(nm, "objection"))
            check_family(family_named(cfg, nm), &builtin_fams[i], 1,
                         "builtin", "builtin");
    }
    check_pattern_counts(cfg);

    assert_int_equal(lc_config_add_patterns(cfg, "again.lcp", S(again_lcp)),
                     LC_OK);
    assert_int_equal(lc_config_family_count(cfg), NBUILTIN_FAMS + 1);
    w = (fam_want){"deflect", 10, 30, "assistant", 1, 0, 0};
    check_family(family_named(cfg, "deflect"), &w, 1, "builtin",
                 "again.lcp");
    w = (fam_want){"pirate", 90, 10, "assistant", 1, 1, 0};
    check_family(family_named(cfg, "pirate"), &w, 1, "tune.lcp",
                 "again.lcp");
    w = (fam_want){"filtered", 95, 100, "user", 0, 0, 0};
    check_family(family_named(cfg, "filtered"), &w, 1, "builtin",
                 "again.lcp");
    check_family(family_named(cfg, "crisis_redirect"), &builtin_fams[1], 1,
                 "builtin", "builtin");
    w = (fam_want){"lecture", 30, 60, "assistant", 1, 0, 1};
    check_family(family_named(cfg, "lecture"), &w, 1, "builtin", "tune.lcp");

    /* a failed load leaves the families as they were */
    assert_int_equal(lc_config_add_patterns(cfg, "broken.lcp",
                                            S(broken_lcp)),
                     LC_ERR_PATTERN);
    assert_int_equal(lc_config_family_count(cfg), NBUILTIN_FAMS + 1);
    assert_null(family_named(cfg, "brandnew"));
    check_family(family_named(cfg, "lecture"), &w, 1, "builtin", "tune.lcp");
    check_pattern_counts(cfg);
    lc_config_free(cfg);
}

static void test_config_frozen(void **state) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    int64_t v;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MIN_REPEATS, 4), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MIN_REPEATS, 5), LC_ERR_STATE);
    assert_int_equal(lc_config_map_speaker(cfg, S("Bob"), LC_ROLE_USER),
                     LC_ERR_STATE);
    assert_int_equal(lc_config_add_patterns(cfg, "x", S("[family f]\na b\n")),
                     LC_ERR_STATE);
    assert_int_equal(lc_config_get(cfg, LC_OPT_MIN_REPEATS, &v), LC_OK);
    assert_int_equal(v, 4);
    /* the session holds a reference: freeing the config first is fine */
    lc_config_free(cfg);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, S("hi")),
                     LC_OK);
    lc_session_free(s);
}

static void test_conversation_null(void **state) {
    fx *f = *state;
    lc_conversation *c = NULL;
    (void)state;
    assert_int_equal(lc_conversation_new(NULL, &c), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_new(f->cfg, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_add(NULL, LC_ROLE_USER, NULL, 0, S("x")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_parse(NULL), LC_ERR_INVALID_ARG);
    assert_null(lc_conversation_id(NULL));
    assert_null(lc_conversation_source(NULL));
    assert_int_equal(lc_conversation_line(NULL), 0);
    assert_int_equal(lc_conversation_turn_count(NULL), 0);
    assert_null(lc_conversation_turn(NULL, 0));
    assert_int_equal(lc_conversation_status(NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_diag_count(NULL), 0);
    assert_null(lc_conversation_diag(NULL, 0));
    assert_null(lc_conversation_speaker_note(NULL));

    assert_int_equal(lc_conversation_new(f->cfg, &c), LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 3, S("x")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, NULL, 3),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_add(c, (lc_role)9, NULL, 0, S("x")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_turn_count(c), 0);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, NULL, 0),
                     LC_OK);
    assert_int_equal(lc_conversation_turn_count(c), 1);
    assert_non_null(lc_conversation_turn(c, 0));
    assert_null(lc_conversation_turn(c, 1));
    assert_null(lc_conversation_diag(c, lc_conversation_diag_count(c)));
    assert_int_equal(lc_conversation_parse(c), LC_OK); /* already parsed */
    lc_conversation_free(c);

    assert_string_equal(lc_conversation_id(f->conv), "a");
    assert_int_equal(lc_conversation_turn_count(f->conv), 2);
}

static void test_reader_null_and_order(void **state) {
    fx *f = *state;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    (void)state;
    assert_int_equal(lc_reader_new(NULL, &r), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_new(f->cfg, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_set_source(NULL, S("x")), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_feed(NULL, S("x")), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_finish(NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_next(NULL, &c), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_format(NULL), LC_FORMAT_AUTO);
    assert_null(lc_reader_error(NULL));

    assert_int_equal(lc_reader_new(f->cfg, &r), LC_OK);
    assert_int_equal(lc_reader_set_source(r, NULL, 3), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_feed(r, NULL, 3), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_next(r, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_reader_set_source(r, S("api.jsonl")), LC_OK);
    assert_int_equal(lc_reader_next(r, &c), LC_NEED_INPUT);
    assert_int_equal(lc_reader_feed(r, NULL, 0), LC_OK);
    assert_int_equal(lc_reader_feed(r, jsonl, 10), LC_OK);
    assert_int_equal(lc_reader_feed(r, jsonl + 10, sizeof jsonl - 11),
                     LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    assert_int_equal(lc_reader_feed(r, S("x")), LC_ERR_STATE);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_string_equal(lc_conversation_source(c), "api.jsonl");
    assert_int_equal(lc_conversation_format(c), LC_FORMAT_JSONL_CONV);
    lc_conversation_free(c);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    lc_conversation_free(c);
    assert_int_equal(lc_reader_next(r, &c), LC_END);
    assert_int_equal(lc_reader_next(r, &c), LC_END);
    assert_int_equal(lc_reader_format(r), LC_FORMAT_JSONL_CONV);
    lc_reader_free(r);
}

static void test_deferred_check_state(void **state) {
    lc_config *cfg = NULL;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    lc_report *rep = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_DEFER_PARSE, 2), LC_OK);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_feed(r, jsonl, sizeof jsonl - 1), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_ERR_STATE);
    assert_null(rep);
    /* a turn added before the parse would come ahead of the record's */
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, "x", 1),
                     LC_ERR_STATE);
    assert_int_equal(lc_conversation_parse(c), LC_OK);
    assert_int_equal(lc_conversation_parse(c), LC_OK);
    assert_int_equal(lc_conversation_turn_count(c), 2);
    assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_OK);
    lc_report_free(rep);
    lc_conversation_free(c);
    lc_reader_free(r);
    /* the batch call parses what a deferring reader frames */
    assert_int_equal(lc_check_buffer(cfg, "d.jsonl", jsonl, sizeof jsonl - 1,
                                     keep_first, &n),
                     LC_OK);
    assert_int_equal(n, 2);
    lc_config_free(cfg);
    /* a failed record takes no turns: it is never analysed */
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_feed(r, "{\"messages\":[}\n", 15), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    assert_int_equal(lc_conversation_status(c), LC_ERR_SYNTAX);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, "x", 1),
                     LC_ERR_STATE);
    assert_int_equal(lc_conversation_turn_count(c), 0);
    lc_conversation_free(c);
    lc_reader_free(r);
    lc_config_free(cfg);
}

/* lc_session_parse: same as lc_conversation_parse, one parser reused
 * across conversations, configs with another depth limit, and errors. */
static void test_session_parse(void **state) {
    static const char deep[] =
        "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\","
        "\"x\":[[[[1]]]]}]}\n";
    lc_config *cfg = NULL, *shallow = NULL;
    lc_session *s = NULL;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    int round;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_DEFER_PARSE, 2), LC_OK);
    assert_int_equal(lc_config_new(NULL, &shallow), LC_OK);
    assert_int_equal(lc_config_set(shallow, LC_OPT_DEFER_PARSE, 2), LC_OK);
    assert_int_equal(lc_config_set(shallow, LC_OPT_MAX_DEPTH, 4), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    assert_int_equal(lc_session_parse(s, NULL), LC_ERR_INVALID_ARG);
    /* default depth, then 4 (fails), then default again, twice over */
    for (round = 0; round < 4; round++) {
        const lc_config *use = round % 2 ? shallow : cfg;
        assert_int_equal(lc_reader_new(use, &r), LC_OK);
        assert_int_equal(lc_reader_feed(r, deep, sizeof deep - 1), LC_OK);
        assert_int_equal(lc_reader_finish(r), LC_OK);
        assert_int_equal(lc_reader_next(r, &c), LC_OK);
        /* no session: an error, and c stays unparsed */
        assert_int_equal(lc_session_parse(NULL, c), LC_ERR_INVALID_ARG);
        assert_int_equal(lc_session_parse(s, c), LC_OK);
        assert_int_equal(lc_session_parse(s, c), LC_OK); /* idempotent */
        if (round % 2) {
            assert_int_equal(lc_conversation_status(c), LC_ERR_LIMIT);
        } else {
            assert_int_equal(lc_conversation_status(c), LC_OK);
            assert_int_equal(lc_conversation_turn_count(c), 1);
        }
        lc_conversation_free(c);
        lc_reader_free(r);
    }
    lc_session_free(s);
    lc_config_free(shallow);
    lc_config_free(cfg);
}

static void test_session_null_and_order(void **state) {
    fx *f = *state;
    lc_session *s = NULL;
    const lc_finding *fd = NULL;
    (void)state;
    assert_int_equal(lc_session_new(NULL, &s), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_new(f->cfg, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_push(NULL, LC_ROLE_USER, NULL, 0, S("x")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_push_turn(NULL,
                                          lc_conversation_turn(f->conv, 0)),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_next_finding(NULL, &fd), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_finish(NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_finding_count(NULL), 0);
    assert_null(lc_session_finding(NULL, 0));
    assert_null(lc_session_error(NULL));

    assert_int_equal(lc_session_new(f->cfg, &s), LC_OK);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, NULL, 2),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 2, S("x")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_push(s, (lc_role)5, NULL, 0, S("x")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_push_turn(s, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_next_finding(s, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, S("me"), S("hi")),
                     LC_OK);
    assert_int_equal(lc_session_push_turn(s, lc_conversation_turn(f->conv,
                                                                  1)),
                     LC_OK);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, NULL, 0),
                     LC_OK);
    assert_int_equal(lc_session_finish(s), LC_OK);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, S("x")),
                     LC_ERR_STATE);
    assert_non_null(lc_session_error(s));
    assert_int_equal(lc_session_error(s)->status, LC_ERR_STATE);
    assert_int_equal(lc_session_push_turn(s, lc_conversation_turn(f->conv,
                                                                  0)),
                     LC_ERR_STATE);
    assert_int_equal(lc_session_finish(s), LC_ERR_STATE);
    while (lc_session_next_finding(s, &fd) == LC_OK)
        assert_non_null(fd);
    assert_null(lc_session_finding(s, lc_session_finding_count(s)));
    lc_session_free(s);
}

static void test_session_max_turns(void **state) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    int i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURNS, 3), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < 3; i++)
        assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, S("x")),
                         LC_OK);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, S("x")),
                     LC_ERR_LIMIT);
    assert_non_null(lc_session_error(s));
    assert_string_equal(lc_session_error(s)->code, "LC-E040");
    assert_int_equal(lc_session_finish(s), LC_OK);
    lc_session_free(s);
    lc_config_free(cfg);
}

static void test_report_null(void **state) {
    fx *f = *state;
    lc_report *rep = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(lc_conversation_check(NULL, f->conv, &rep),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_check(f->cfg, NULL, &rep),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_conversation_check(f->cfg, f->conv, NULL),
                     LC_ERR_INVALID_ARG);
    assert_null(rep);
    assert_int_equal(lc_check_buffer(NULL, "x", S("{}"), keep_first, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_check_buffer(f->cfg, "x", NULL, 5, keep_first, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_check_buffer(f->cfg, "x", S("{}"), NULL, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(lc_check_buffer(f->cfg, NULL, jsonl, sizeof jsonl - 1,
                                     keep_first, &n),
                     LC_OK);
    assert_int_equal(n, 2);

    assert_null(lc_report_conversation(NULL));
    assert_null(lc_report_source(NULL));
    assert_int_equal(lc_report_line(NULL), 0);
    assert_int_equal(lc_report_turn_count(NULL), 0);
    assert_int_equal(lc_report_status(NULL), LC_ERR_INVALID_ARG);
    assert_null(lc_report_error(NULL));
    assert_int_equal(lc_report_finding_count(NULL), 0);
    assert_null(lc_report_finding(NULL, 0));
    assert_int_equal(lc_report_refuses(NULL), 0);
    assert_int_equal(lc_report_prompt_hash(NULL), 0);
    assert_null(lc_report_finding(f->rep,
                                  lc_report_finding_count(f->rep)));

    n = 0;
    assert_int_equal(lc_report_write(NULL, LC_OUTPUT_JSON, 0, sink, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_report_write(f->rep, LC_OUTPUT_JSON, 0, NULL, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_report_write(f->rep, (lc_output)42, 0, sink, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_report_write_gated(NULL, LC_OUTPUT_JUNIT, 0, 0,
                                           sink, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_report_write_gated(f->rep, LC_OUTPUT_JUNIT, 0, 0,
                                           NULL, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(n, 0);
    assert_int_equal(lc_report_write(f->rep, LC_OUTPUT_JSON, 0, sink, &n),
                     LC_OK);
    assert_true(n > 0);
}

static int refuse_write(const char *d, size_t n, void *ud) {
    (void)d;
    (void)n;
    (void)ud;
    return 1;
}

static void test_write_callback_abort(void **state) {
    fx *f = *state;
    lc_output o;
    (void)state;
    for (o = LC_OUTPUT_TEXT; o <= LC_OUTPUT_GITHUB; o++)
        assert_int_equal(lc_report_write(f->rep, o, 0, refuse_write, NULL),
                         LC_ERR_CALLBACK);
}

static int stop_cb(const lc_report *r, void *ud) {
    (void)r;
    (void)ud;
    return 1;
}

static void test_check_buffer_callback_stop(void **state) {
    fx *f = *state;
    (void)state;
    assert_int_equal(lc_check_buffer(f->cfg, "x", jsonl, sizeof jsonl - 1,
                                     stop_cb, NULL),
                     LC_ERR_CALLBACK);
}

static void test_summary_null(void **state) {
    fx *f = *state;
    lc_summary *s = NULL, *o = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(lc_summary_new(NULL, &s), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_new(f->cfg, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_add(NULL, f->rep), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_merge(NULL, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_merge_json(NULL, S("{}")),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_read(NULL), 0);
    assert_int_equal(lc_summary_analysed(NULL), 0);
    assert_int_equal(lc_summary_failed(NULL), 0);
    assert_int_equal(lc_summary_kind_count(NULL, LC_KIND_REFUSAL), 0);
    assert_int_equal(lc_summary_family_count(NULL, "x"), 0);
    assert_int_equal(lc_summary_write(NULL, LC_OUTPUT_JSON, 0, sink, &n),
                     LC_ERR_INVALID_ARG);

    assert_int_equal(lc_summary_new(f->cfg, &s), LC_OK);
    assert_int_equal(lc_summary_new(f->cfg, &o), LC_OK);
    assert_int_equal(lc_summary_add(s, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_merge(s, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_merge_json(s, NULL, 5), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_family_count(s, NULL), 0);
    assert_int_equal(lc_summary_write(s, LC_OUTPUT_JSON, 0, NULL, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_summary_add(s, f->rep), LC_OK);
    assert_int_equal(lc_summary_add(o, f->rep), LC_OK);
    assert_int_equal(lc_summary_merge(s, o), LC_OK);
    assert_int_equal(lc_summary_read(s), 2);
    assert_int_equal(lc_summary_read(s),
                     lc_summary_analysed(s) + lc_summary_failed(s));
    assert_int_equal(lc_summary_write(s, LC_OUTPUT_JSON, 0, sink, &n), LC_OK);
    assert_true(n > 0);
    lc_summary_free(o);
    lc_summary_free(s);
}

/* What the header's comments say about calls an integrator gets wrong:
 * a second lc_reader_finish, an unknown option name, a summary merged
 * into itself, and lc_session_push repairing and cutting text without a
 * warning (the same text through lc_conversation_add carries both). */
static void test_documented_misuse(void **state) {
    static const char bad[] = "ok \xff\xfe then \xc0\xaf more";
    lc_config *cfg = NULL;
    lc_reader *r = NULL;
    lc_summary *s = NULL;
    lc_session *ss = NULL;
    lc_conversation *c = NULL;
    const lc_turn *t;
    lc_opt o;
    char *big;
    size_t i, nbig = 200;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_TURN_BYTES, 64), LC_OK);

    assert_int_equal(lc_opt_from_name(S("no_such_option"), &o),
                     LC_ERR_UNKNOWN_OPTION);
    assert_int_equal(lc_opt_from_name(S("min_repeats\0"), &o),
                     LC_ERR_UNKNOWN_OPTION);
    assert_int_equal(lc_opt_from_name(NULL, 3, &o), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_opt_from_name(S("min_repeats"), NULL),
                     LC_ERR_INVALID_ARG);

    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_ERR_STATE);
    assert_int_equal(lc_reader_feed(r, S("x")), LC_ERR_STATE);
    lc_reader_free(r);

    assert_int_equal(lc_summary_new(cfg, &s), LC_OK);
    assert_int_equal(lc_summary_merge(s, s), LC_ERR_INVALID_ARG);
    lc_summary_free(s);

    big = malloc(nbig);
    assert_non_null(big);
    for (i = 0; i < nbig; i++)
        big[i] = "word "[i % 5];
    assert_int_equal(lc_session_new(cfg, &ss), LC_OK);
    assert_int_equal(lc_session_push(ss, LC_ROLE_USER, S("\xff" "me"),
                                     S(bad)),
                     LC_OK);
    assert_int_equal(lc_session_push(ss, LC_ROLE_ASSISTANT, NULL, 0, big,
                                     nbig),
                     LC_OK);
    assert_null(lc_session_error(ss));
    lc_session_free(ss);

    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, S(bad)),
                     LC_OK);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_ASSISTANT, NULL, 0, big,
                                         nbig),
                     LC_OK);
    assert_non_null(t = lc_conversation_turn(c, 0));
    assert_true(t->flags & LC_TURN_REPAIRED);
    assert_non_null(t = lc_conversation_turn(c, 1));
    assert_true(t->flags & LC_TURN_TRUNCATED);
    assert_true(t->text_len <= 64);
    assert_true(lc_conversation_diag_count(c) >= 2);
    lc_conversation_free(c);
    free(big);
    lc_config_free(cfg);

    /* a config stays frozen after the handles made from it are gone, and
     * a batch call freezes it too */
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_session_new(cfg, &ss), LC_OK);
    lc_session_free(ss);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MIN_REPEATS, 4), LC_ERR_STATE);
    lc_config_free(cfg);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_check_buffer(cfg, "x", jsonl, sizeof jsonl - 1,
                                     keep_first, &i),
                     LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MIN_REPEATS, 4), LC_ERR_STATE);
    lc_config_free(cfg);
}

static void test_diff_null(void **state) {
    fx *f = *state;
    lc_diff *d = NULL;
    const lc_diff_stats *st = NULL;
    size_t n = 0;
    (void)state;
    assert_int_equal(lc_diff_new(NULL, &d), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_new(f->cfg, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_add(NULL, 0, f->rep), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_set_alpha(NULL, 0.05), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_compute(NULL, &st), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_write(NULL, LC_OUTPUT_JSON, 0, sink, &n),
                     LC_ERR_INVALID_ARG);

    assert_int_equal(lc_diff_new(f->cfg, &d), LC_OK);
    assert_int_equal(lc_diff_add(d, 0, NULL), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_add(d, 2, f->rep), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_add(d, -1, f->rep), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_set_alpha(d, NAN), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_set_alpha(d, -0.5), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_set_alpha(d, 1.5), LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_set_alpha(d, 0.01), LC_OK);
    assert_int_equal(lc_diff_add(d, 0, f->rep), LC_OK);
    assert_int_equal(lc_diff_add(d, 1, f->rep), LC_OK);
    assert_int_equal(lc_diff_compute(d, NULL), LC_OK); /* stats optional */
    assert_int_equal(lc_diff_write(d, LC_OUTPUT_JSON, 0, NULL, &n),
                     LC_ERR_INVALID_ARG);
    assert_int_equal(lc_diff_compute(d, &st), LC_OK);
    assert_non_null(st);
    assert_int_equal(st->paired, 1);
    assert_int_equal(st->verdict, LC_VERDICT_NO_CHANGE);
    assert_int_equal(lc_diff_write(d, LC_OUTPUT_JSON, 0, sink, &n), LC_OK);
    assert_true(n > 0);
    lc_diff_free(d);
    assert_true(lc_mcnemar_exact(0, 0) >= 0.0 &&
                lc_mcnemar_exact(0, 0) <= 1.0);
    assert_true(lc_mcnemar_exact(5, 3) >= 0.0);
}

/* Every handle keeps its config alive: the caller may free the config
 * first (config.c: "freed by the caller at any time"). Each handle below
 * is the LAST reference to its own config, so a _free that touches the
 * config's allocator after dropping its reference reads freed memory
 * (a crash, or an ASan/valgrind error). */
static lc_config *cfg_only(void) {
    lc_config *cfg = NULL;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    return cfg;
}

static void test_handles_outlive_config(void **state) {
    fx *f = *state;
    lc_config *cfg;
    lc_reader *r = NULL;
    lc_conversation *c = NULL;
    lc_session *s = NULL;
    lc_report *rep = NULL;
    lc_summary *sum = NULL;
    lc_diff *d = NULL;
    const lc_diff_stats *ds = NULL;

    cfg = cfg_only();
    assert_int_equal(lc_reader_new(cfg, &r), LC_OK);
    lc_config_free(cfg);
    assert_int_equal(lc_reader_feed(r, jsonl, sizeof jsonl - 1), LC_OK);
    assert_int_equal(lc_reader_finish(r), LC_OK);
    assert_int_equal(lc_reader_next(r, &c), LC_OK);
    lc_reader_free(r); /* c is now the last reference */
    assert_int_equal(lc_conversation_turn_count(c), 2);
    lc_conversation_free(c);

    cfg = cfg_only();
    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    lc_config_free(cfg);
    assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0, S("x")),
                     LC_OK);
    lc_conversation_free(c);

    cfg = cfg_only();
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    lc_config_free(cfg);
    assert_int_equal(lc_session_push(s, LC_ROLE_USER, NULL, 0, S("hi")),
                     LC_OK);
    assert_int_equal(lc_session_finish(s), LC_OK);
    lc_session_free(s);

    cfg = cfg_only();
    assert_int_equal(lc_conversation_check(cfg, f->conv, &rep), LC_OK);
    lc_config_free(cfg);
    assert_int_equal(lc_report_turn_count(rep), 2);
    lc_report_free(rep);

    cfg = cfg_only();
    assert_int_equal(lc_summary_new(cfg, &sum), LC_OK);
    lc_config_free(cfg);
    assert_int_equal(lc_summary_add(sum, f->rep), LC_OK);
    lc_summary_free(sum);

    cfg = cfg_only();
    assert_int_equal(lc_diff_new(cfg, &d), LC_OK);
    lc_config_free(cfg);
    assert_int_equal(lc_diff_add(d, 0, f->rep), LC_OK);
    assert_int_equal(lc_diff_add(d, 1, f->rep), LC_OK);
    assert_int_equal(lc_diff_compute(d, &ds), LC_OK);
    lc_diff_free(d);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_free_null),
        cmocka_unit_test(test_names_null),
        cmocka_unit_test(test_config_null_and_bounds),
        cmocka_unit_test(test_family_listing),
        cmocka_unit_test(test_config_frozen),
        cmocka_unit_test(test_conversation_null),
        cmocka_unit_test(test_reader_null_and_order),
        cmocka_unit_test(test_deferred_check_state),
        cmocka_unit_test(test_session_parse),
        cmocka_unit_test(test_session_null_and_order),
        cmocka_unit_test(test_session_max_turns),
        cmocka_unit_test(test_report_null),
        cmocka_unit_test(test_write_callback_abort),
        cmocka_unit_test(test_check_buffer_callback_stop),
        cmocka_unit_test(test_summary_null),
        cmocka_unit_test(test_diff_null),
        cmocka_unit_test(test_handles_outlive_config),
        cmocka_unit_test(test_documented_misuse),
    };
    return cmocka_run_group_tests_name("api", tests, setup, teardown);
}
