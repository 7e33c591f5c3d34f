/*
 * test_loops.c - the loop detectors (exact_loop, recurring_turn,
 * recycled_passage, near_duplicate_loop, degenerate_repetition,
 * stalled_conversation) on fixtures/loops/ and on the seed transcript.
 *
 * Fixtures: fixtures/loops/<case>.jsonl, one conversation per line in the
 * OpenAI messages format, and <case>.expected.json: an array with one
 * {"id", "findings": [...]} per line, each finding an object whose fields
 * (kind, first_turn, last_turn, period, repeats, count, words, share,
 * turns) must match; loop kinds only (refusal findings belong to other
 * tests). Fields starting with '_' are for the reviewer and not compared.
 * The fixture JSON is parsed here with json-c, independently of the
 * reader: content strings (or the text parts of a content array), and
 * tool calls appended as "tool_call <name> <arguments>" lines (the
 * reader's canonical form) with LC_TURN_TOOL_CALL.
 *
 * LC_UPDATE_EXPECTED=1 rewrites the expected files from the current
 * output (then review the diff; never accept it blindly).
 *
 * Live == batch: on every fixture, the events drained after each push
 * reproduce the final findings exactly (every change was announced), a
 * finding never changes its kind or first turn after NEW, and the final
 * live findings equal lc_conversation_check() (the batch path) field by
 * field; the state after every prefix equals a fresh session fed that
 * prefix.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "testutil.h"

/* ------------------------------------------------------------------ */
/* helpers                                                              */
/* ------------------------------------------------------------------ */

static bool is_loop_kind(lc_kind k) {
    return k >= LC_KIND_EXACT_LOOP && k <= LC_KIND_STALLED_CONVERSATION;
}

static lc_role role_of(const char *r) {
    if (!strcmp(r, "user"))
        return LC_ROLE_USER;
    if (!strcmp(r, "assistant"))
        return LC_ROLE_ASSISTANT;
    if (!strcmp(r, "system") || !strcmp(r, "developer"))
        return LC_ROLE_SYSTEM;
    if (!strcmp(r, "tool") || !strcmp(r, "function"))
        return LC_ROLE_TOOL;
    return LC_ROLE_OTHER;
}

/* One fixture conversation -> lc_conversation (tool calls flagged). */
static lc_conversation *conv_from_json(const lc_config *cfg,
                                       json_object *obj, uint64_t line) {
    lc_conversation *c = NULL;
    json_object *msgs, *id;
    size_t i, n;
    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    if (json_object_object_get_ex(obj, "id", &id))
        assert_int_equal(lci_conv_set_id(c, json_object_get_string(id),
                                         strlen(json_object_get_string(id))),
                         LC_OK);
    assert_true(json_object_object_get_ex(obj, "messages", &msgs));
    n = json_object_array_length(msgs);
    for (i = 0; i < n; i++) {
        json_object *m = json_object_array_get_idx(msgs, i), *r, *ct, *calls;
        lci_buf text;
        unsigned flags = 0;
        lci_turn *out;
        lci_buf_init(&text, &lci_default_alloc);
        assert_true(json_object_object_get_ex(m, "role", &r));
        if (json_object_object_get_ex(m, "content", &ct) && ct) {
            if (json_object_is_type(ct, json_type_string)) {
                lci_buf_append(&text, json_object_get_string(ct),
                               (size_t)json_object_get_string_len(ct));
            } else if (json_object_is_type(ct, json_type_array)) {
                size_t j;
                for (j = 0; j < json_object_array_length(ct); j++) {
                    json_object *part = json_object_array_get_idx(ct, j), *t;
                    if (json_object_object_get_ex(part, "text", &t)) {
                        if (text.len)
                            lci_buf_putc(&text, ' ');
                        lci_buf_append(&text, json_object_get_string(t),
                                       (size_t)json_object_get_string_len(t));
                    }
                }
            }
        }
        if (json_object_object_get_ex(m, "tool_calls", &calls) &&
            json_object_is_type(calls, json_type_array)) {
            size_t j;
            for (j = 0; j < json_object_array_length(calls); j++) {
                json_object *call = json_object_array_get_idx(calls, j);
                json_object *fn, *name, *args;
                if (!json_object_object_get_ex(call, "function", &fn))
                    continue;
                /* the reader's canonical form: "tool_call NAME ARGS" on
                 * its own line after the text (json.c) */
                if (text.len)
                    lci_buf_putc(&text, '\n');
                lci_buf_printf(&text, "tool_call ");
                if (json_object_object_get_ex(fn, "name", &name))
                    lci_buf_printf(&text, "%s ",
                                   json_object_get_string(name));
                if (json_object_object_get_ex(fn, "arguments", &args))
                    lci_buf_printf(&text, "%s",
                                   json_object_get_string(args));
                flags |= LC_TURN_TOOL_CALL;
            }
        }
        assert_int_equal(lci_conv_add(c, role_of(json_object_get_string(r)),
                                      NULL, 0, text.data ? text.data : "",
                                      text.len, line, 1, 0, flags, &out),
                         LC_OK);
        lci_buf_free(&text);
    }
    return c;
}

/* ------------------------------------------------------------------ */
/* running a conversation live and batch                                */
/* ------------------------------------------------------------------ */

typedef struct snap {
    uint32_t id;
    lc_kind kind;
    uint32_t first, last, period, repeats, count, words;
    double share, score;
    size_t nturns;
    uint64_t turns_sum;
    lc_role role;
} snap;

static snap snap_of(const lc_finding *f) {
    snap s;
    size_t i;
    memset(&s, 0, sizeof s);
    s.id = f->id;
    s.kind = f->kind;
    s.first = f->first_turn;
    s.last = f->last_turn;
    s.period = f->period;
    s.repeats = f->repeats;
    s.count = f->count;
    s.words = f->words;
    s.share = f->share;
    s.score = f->score;
    s.nturns = f->turn_count;
    s.role = f->role;
    for (i = 0; i < f->turn_count; i++)
        s.turns_sum = s.turns_sum * 1000003u + f->turns[i];
    return s;
}

static void assert_snap_equal(const snap *a, const snap *b) {
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->first, b->first);
    assert_int_equal(a->last, b->last);
    assert_int_equal(a->period, b->period);
    assert_int_equal(a->repeats, b->repeats);
    assert_int_equal(a->count, b->count);
    assert_int_equal(a->words, b->words);
    assert_true(fabs(a->share - b->share) < 1e-9);
    assert_true(fabs(a->score - b->score) < 1e-9);
    assert_int_equal(a->nturns, b->nturns);
    assert_true(a->turns_sum == b->turns_sum);
    assert_int_equal(a->role, b->role);
}

/* Run conv through a session; events checked as described in the
 * banner. Returns the finished session (caller frees). */
static lc_session *run_live(const lc_config *cfg, const lc_conversation *c,
                            bool check_prefixes) {
    lc_session *s = NULL;
    snap *seen = NULL;
    size_t nseen = 0, i, nt = lc_conversation_turn_count(c);
    const lc_finding *f;
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i <= nt; i++) {
        if (i < nt)
            assert_int_equal(lc_session_push_turn(s, lc_conversation_turn(c, i)),
                             LC_OK);
        else
            assert_int_equal(lc_session_finish(s), LC_OK);
        while (lc_session_next_finding(s, &f) == LC_OK) {
            snap sn = snap_of(f);
            if (sn.id > nseen) {
                seen = realloc(seen, sn.id * sizeof *seen);
                memset(seen + nseen, 0, (sn.id - nseen) * sizeof *seen);
                nseen = sn.id;
            }
            if (f->event == LC_EVENT_NEW) {
                assert_int_equal(seen[sn.id - 1].id, 0);
            } else {
                assert_int_equal(f->event, LC_EVENT_EXTENDED);
                assert_int_equal(seen[sn.id - 1].id, sn.id);
                assert_int_equal(seen[sn.id - 1].kind, sn.kind);
                assert_int_equal(seen[sn.id - 1].first, sn.first);
                assert_true(seen[sn.id - 1].last <= sn.last);
            }
            /* a live finding never reaches beyond the turns pushed */
            assert_true(sn.last <= (uint32_t)(i < nt ? i + 1 : nt));
            seen[sn.id - 1] = sn;
        }
        if (check_prefixes && i < nt) {
            /* the live state equals a fresh session fed this prefix */
            lc_session *p = NULL;
            size_t j;
            assert_int_equal(lc_session_new(cfg, &p), LC_OK);
            for (j = 0; j <= i; j++)
                assert_int_equal(
                    lc_session_push_turn(p, lc_conversation_turn(c, j)),
                    LC_OK);
            assert_int_equal(lc_session_finding_count(p),
                             lc_session_finding_count(s));
            for (j = 0; j < lc_session_finding_count(s); j++) {
                snap x = snap_of(lc_session_finding(s, j));
                snap y = snap_of(lc_session_finding(p, j));
                assert_snap_equal(&x, &y);
            }
            lc_session_free(p);
        }
    }
    /* every final finding was announced in its final state */
    assert_int_equal(lc_session_finding_count(s), nseen);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        snap fin = snap_of(lc_session_finding(s, i));
        assert_true(fin.id >= 1 && fin.id <= nseen);
        assert_snap_equal(&seen[fin.id - 1], &fin);
    }
    free(seen);
    return s;
}

/* Final live findings == batch report, in report order. */
static void assert_live_equals_batch(const lc_config *cfg,
                                     const lc_conversation *c,
                                     lc_session *s) {
    lc_report *rep = NULL;
    size_t i;
    assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_OK);
    assert_int_equal(lc_report_finding_count(rep),
                     lc_session_finding_count(s));
    for (i = 0; i < lc_report_finding_count(rep); i++) {
        snap a = snap_of(lc_session_finding(s, i));
        snap b = snap_of(lc_report_finding(rep, i));
        assert_snap_equal(&a, &b);
    }
    lc_report_free(rep);
}

/* ------------------------------------------------------------------ */
/* fixtures                                                             */
/* ------------------------------------------------------------------ */

static json_object *finding_json(const lc_finding *f) {
    json_object *o = json_object_new_object(), *turns;
    size_t i;
    json_object_object_add(o, "kind", json_object_new_string(f->kind_name));
    json_object_object_add(o, "first_turn",
                           json_object_new_int64(f->first_turn));
    json_object_object_add(o, "last_turn",
                           json_object_new_int64(f->last_turn));
    json_object_object_add(o, "_role",
                           json_object_new_string(lc_role_name(f->role)));
    if (f->kind == LC_KIND_EXACT_LOOP ||
        f->kind == LC_KIND_NEAR_DUPLICATE_LOOP) {
        json_object_object_add(o, "period", json_object_new_int64(f->period));
        json_object_object_add(o, "repeats",
                               json_object_new_int64(f->repeats));
    }
    if (f->kind == LC_KIND_RECURRING_TURN ||
        f->kind == LC_KIND_STALLED_CONVERSATION)
        json_object_object_add(o, "count", json_object_new_int64(f->count));
    if (f->kind == LC_KIND_RECYCLED_PASSAGE ||
        f->kind == LC_KIND_DEGENERATE_REPETITION) {
        json_object_object_add(o, "words", json_object_new_int64(f->words));
        char num[32];
        snprintf(num, sizeof num, "%.2f", f->share);
        json_object_object_add(o, "share",
                               json_object_new_double_s(f->share, num));
    }
    turns = json_object_new_array();
    for (i = 0; i < f->turn_count; i++)
        json_object_array_add(turns, json_object_new_int64(f->turns[i]));
    json_object_object_add(o, "turns", turns);
    json_object_object_add(o, "_excerpt",
                           json_object_new_string(f->excerpt ? f->excerpt
                                                             : ""));
    return o;
}

static void compare_finding(const char *where, json_object *want,
                            const lc_finding *f) {
    json_object_object_foreach(want, key, val) {
        if (key[0] == '_')
            continue;
        if (!strcmp(key, "kind")) {
            if (strcmp(json_object_get_string(val), f->kind_name))
                fail_msg("%s: kind %s, want %s", where, f->kind_name,
                         json_object_get_string(val));
        } else if (!strcmp(key, "share")) {
            if (fabs(json_object_get_double(val) - f->share) > 0.006)
                fail_msg("%s: share %.3f, want %.3f", where, f->share,
                         json_object_get_double(val));
        } else if (!strcmp(key, "turns")) {
            size_t i, n = json_object_array_length(val);
            if (n != f->turn_count)
                fail_msg("%s: %zu turns, want %zu", where, f->turn_count, n);
            for (i = 0; i < n; i++)
                if ((uint32_t)json_object_get_int64(
                        json_object_array_get_idx(val, i)) != f->turns[i])
                    fail_msg("%s: turns[%zu] = %u", where, i,
                             (unsigned)f->turns[i]);
        } else {
            int64_t got;
            if (!strcmp(key, "first_turn"))
                got = f->first_turn;
            else if (!strcmp(key, "last_turn"))
                got = f->last_turn;
            else if (!strcmp(key, "period"))
                got = f->period;
            else if (!strcmp(key, "repeats"))
                got = f->repeats;
            else if (!strcmp(key, "count"))
                got = f->count;
            else if (!strcmp(key, "words"))
                got = f->words;
            else {
                fail_msg("%s: unknown field %s in expectation", where, key);
                return;
            }
            if (got != json_object_get_int64(val))
                fail_msg("%s: %s = %lld, want %lld", where, key,
                         (long long)got,
                         (long long)json_object_get_int64(val));
        }
    }
}

/* Run one fixture file; returns the number of conversations. */
static size_t run_fixture(const char *name, bool check_prefixes) {
    char path[4096], exp_path[4096];
    size_t len, nconv = 0;
    char *data, *p, *line;
    json_object *expected = NULL, *out = json_object_new_array();
    bool update = getenv("LC_UPDATE_EXPECTED") != NULL;
    lc_config *cfg = NULL;
    snprintf(path, sizeof path, "%s/loops/%s.jsonl", tu_fixtures_dir(), name);
    snprintf(exp_path, sizeof exp_path, "%s/loops/%s.expected.json",
             tu_fixtures_dir(), name);
    data = tu_slurp(path, &len);
    if (!data)
        fail_msg("cannot read %s", path);
    if (!update) {
        expected = json_object_from_file(exp_path);
        if (!expected)
            fail_msg("cannot read %s", exp_path);
    }
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (p = data; (line = strsep(&p, "\n")) != NULL;) {
        json_object *obj, *fs, *want = NULL;
        lc_conversation *c;
        lc_session *s;
        lc_report *rep = NULL;
        size_t i, k = 0;
        char where[256];
        if (!*line)
            continue;
        obj = json_tokener_parse(line);
        assert_non_null(obj);
        nconv++;
        c = conv_from_json(cfg, obj, nconv);
        s = run_live(cfg, c, check_prefixes);
        assert_live_equals_batch(cfg, c, s);
        assert_int_equal(lc_conversation_check(cfg, c, &rep), LC_OK);
        if (expected) {
            json_object *e = json_object_array_get_idx(expected, nconv - 1);
            assert_non_null(e);
            assert_true(json_object_object_get_ex(e, "findings", &want));
        }
        fs = json_object_new_array();
        for (i = 0; i < lc_report_finding_count(rep); i++) {
            const lc_finding *f = lc_report_finding(rep, i);
            if (!is_loop_kind(f->kind))
                continue;
            json_object_array_add(fs, finding_json(f));
            if (want) {
                snprintf(where, sizeof where, "%s #%zu finding %zu (%s)",
                         name, nconv, k, f->kind_name);
                if (k >= json_object_array_length(want))
                    fail_msg("%s: unexpected finding %s %u-%u", where,
                             f->kind_name, (unsigned)f->first_turn,
                             (unsigned)f->last_turn);
                compare_finding(where, json_object_array_get_idx(want, k),
                                f);
            }
            k++;
        }
        if (want && k != json_object_array_length(want))
            fail_msg("%s #%zu: %zu loop findings, want %zu", name, nconv, k,
                     json_object_array_length(want));
        {
            json_object *e = json_object_new_object();
            json_object *id = NULL;
            json_object_object_get_ex(obj, "id", &id);
            json_object_object_add(
                e, "id",
                json_object_new_string(id ? json_object_get_string(id) : ""));
            json_object_object_add(e, "findings", fs);
            json_object_array_add(out, e);
        }
        lc_report_free(rep);
        lc_session_free(s);
        lc_conversation_free(c);
        json_object_put(obj);
    }
    if (update)
        json_object_to_file_ext(exp_path, out,
                                JSON_C_TO_STRING_PRETTY |
                                    JSON_C_TO_STRING_SPACED);
    json_object_put(out);
    json_object_put(expected);
    lc_config_free(cfg);
    free(data);
    return nconv;
}

#define FIXTURE_TEST(fn, name)                                               \
    static void fn(void **state) {                                           \
        (void)state;                                                         \
        assert_true(run_fixture(name, true) > 0);                            \
    }

/* firing */
FIXTURE_TEST(t_exact_monologue, "exact-monologue")
FIXTURE_TEST(t_exact_agent, "exact-agent-same-result")
FIXTURE_TEST(t_exact_periods, "exact-periods")
FIXTURE_TEST(t_agent_stuck_error, "agent-stuck-error-thinking")
FIXTURE_TEST(t_recurring_bot, "recurring-bot-reasks")
FIXTURE_TEST(t_recycled, "recycled-passage")
FIXTURE_TEST(t_neardup_bot, "neardup-bot")
FIXTURE_TEST(t_degenerate_jobs, "degenerate-jobs")
FIXTURE_TEST(t_stalled, "stalled-loop-tail")
/* quiet */
FIXTURE_TEST(t_agent_polling, "agent-polling-legit")
FIXTURE_TEST(t_agent_reread, "agent-reread-file-legit")
FIXTURE_TEST(t_agent_edit_rerun, "agent-edit-rerun-legit")
FIXTURE_TEST(t_neardup_quiet, "neardup-quiet")
FIXTURE_TEST(t_recurring_quiet, "recurring-quiet")
FIXTURE_TEST(t_recycled_quiet, "recycled-quiet")
FIXTURE_TEST(t_markdown, "degenerate-markdown-legit")

/* the 150 KB cycling reply: no prefix re-runs (one turn anyway) */
static void t_degenerate_long(void **state) {
    (void)state;
    assert_true(run_fixture("degenerate-long-cycle", false) > 0);
}

/* ------------------------------------------------------------------ */
/* the seed transcript                                                  */
/* ------------------------------------------------------------------ */

static lc_conversation *load_seed(const lc_config *cfg) {
    char path[4096];
    char *data, *p, *line;
    lc_conversation *c = NULL;
    lci_buf cur;
    lc_role role = LC_ROLE_OTHER;
    const char *speaker = NULL;
    bool have = false;
    snprintf(path, sizeof path, "%s/transcript/seed-therapy.txt",
             tu_fixtures_dir());
    data = tu_slurp(path, NULL);
    if (!data)
        fail_msg("cannot read %s", path);
    assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
    lci_buf_init(&cur, &lci_default_alloc);
    for (p = data;;) {
        line = strsep(&p, "\n");
        bool th = line && !strncmp(line, "Therapist: ", 11);
        bool pa = line && !strncmp(line, "Patient: ", 9);
        if (!line || th || pa) {
            if (have) {
                while (cur.len && (cur.data[cur.len - 1] == '\n'))
                    cur.len--;
                assert_int_equal(lc_conversation_add(c, role, speaker,
                                                     strlen(speaker),
                                                     cur.data, cur.len),
                                 LC_OK);
            }
            if (!line)
                break;
            cur.len = 0;
            have = true;
            role = th ? LC_ROLE_ASSISTANT : LC_ROLE_USER;
            speaker = th ? "Therapist" : "Patient";
            line += th ? 11 : 9;
        } else if (!have) {
            continue; /* the summary before the first turn */
        } else {
            lci_buf_putc(&cur, '\n');
        }
        lci_buf_append(&cur, line, strlen(line));
    }
    lci_buf_free(&cur);
    free(data);
    return c;
}

static void t_seed(void **state) {
    lc_config *cfg = NULL;
    lc_conversation *c;
    lc_session *s;
    size_t i, nexact = 0, nrec = 0, nstall = 0;
    /* assistant 7->11, 9->11, 13->15; user 8->10, 10->12, 12->14 */
    static const uint32_t want_rec[][2] = {{7, 11}, {8, 10},  {9, 11},
                                           {10, 12}, {12, 14}, {13, 15}};
    bool got_rec[6] = {false};
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    c = load_seed(cfg);
    assert_int_equal(lc_conversation_turn_count(c), 34);
    s = run_live(cfg, c, true);
    assert_live_equals_batch(cfg, c, s);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        const lc_finding *f = lc_session_finding(s, i);
        size_t j;
        if (!is_loop_kind(f->kind))
            continue;
        /* the helpful opening (turns 1-6) is never involved */
        for (j = 0; j < f->turn_count; j++)
            assert_true(f->turns[j] >= 7);
        switch (f->kind) {
        case LC_KIND_EXACT_LOOP:
            nexact++;
            assert_int_equal(f->first_turn, 19);
            assert_int_equal(f->last_turn, 32);
            assert_int_equal(f->period, 2);
            assert_int_equal(f->repeats, 7);
            assert_int_equal(f->role, LC_ROLE_ASSISTANT);
            assert_string_equal(f->speaker, "Therapist");
            assert_non_null(strstr(f->excerpt, "I cannot provide therapy"));
            break;
        case LC_KIND_RECYCLED_PASSAGE:
            for (j = 0; j < 6; j++)
                if (f->first_turn == want_rec[j][0] &&
                    f->last_turn == want_rec[j][1])
                    break;
            if (j == 6)
                fail_msg("unexpected recycled_passage %u->%u",
                         (unsigned)f->first_turn, (unsigned)f->last_turn);
            assert_false(got_rec[j]);
            got_rec[j] = true;
            nrec++;
            assert_true(f->words >= 12);
            assert_true(f->share > 0.0 && f->share <= 1.0);
            /* speaker: odd turns are the therapist's */
            assert_int_equal(f->role, (f->last_turn & 1) ? LC_ROLE_ASSISTANT
                                                         : LC_ROLE_USER);
            break;
        case LC_KIND_STALLED_CONVERSATION:
            /* the refusal loop fills the last 10 turns: documented */
            nstall++;
            assert_int_equal(f->last_turn, 34);
            assert_true(f->first_turn >= 15 && f->first_turn <= 19);
            break;
        default:
            fail_msg("unexpected %s %u-%u on the seed", f->kind_name,
                     (unsigned)f->first_turn, (unsigned)f->last_turn);
        }
    }
    assert_int_equal(nexact, 1);
    assert_int_equal(nrec, 6);
    assert_int_equal(nstall, 1);
    lc_session_free(s);
    lc_conversation_free(c);
    lc_config_free(cfg);
}

/* A 15-word answer said at turns 2 and 6 (recurring-bot-reasks #3):
 * recurring_turn with 2 occurrences (recur_long_min), decided d = 4
 * turns after the repeat, i.e. announced when turn 10 arrives, and at
 * finish when the conversation stops before that turn. With d greater
 * than max_period no loop can follow, so it is announced at turn 6;
 * with recur_long_min = 3 there is no finding. Returns the turn at which
 * the finding was announced (0: none; turn count + 1: at finish). */
static uint32_t long_repeat_announced(int64_t long_min, int64_t max_period,
                                      size_t nturns) {
    lc_config *cfg = NULL;
    lc_conversation *c;
    lc_session *s = NULL;
    const lc_finding *f;
    json_object *obj;
    char path[4096], *data, *p, *line;
    uint32_t at = 0, k = 0;
    size_t i;
    snprintf(path, sizeof path, "%s/loops/recurring-bot-reasks.jsonl",
             tu_fixtures_dir());
    data = tu_slurp(path, NULL);
    assert_non_null(data);
    for (p = data; (line = strsep(&p, "\n")) != NULL && ++k < 3;)
        ;
    assert_non_null(line);
    obj = json_tokener_parse(line);
    assert_non_null(obj);
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_RECUR_LONG_MIN, long_min),
                     LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MAX_PERIOD, max_period),
                     LC_OK);
    c = conv_from_json(cfg, obj, 3);
    assert_true(lc_conversation_turn_count(c) >= nturns);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i <= nturns; i++) {
        if (i < nturns)
            assert_int_equal(
                lc_session_push_turn(s, lc_conversation_turn(c, i)), LC_OK);
        else
            assert_int_equal(lc_session_finish(s), LC_OK);
        while (lc_session_next_finding(s, &f) == LC_OK) {
            assert_int_equal(f->kind, LC_KIND_RECURRING_TURN);
            assert_int_equal(f->event, LC_EVENT_NEW);
            assert_int_equal(at, 0);
            assert_int_equal(f->first_turn, 2);
            assert_int_equal(f->last_turn, 6);
            assert_int_equal(f->count, 2);
            assert_int_equal(f->role, LC_ROLE_ASSISTANT);
            at = (uint32_t)i + 1;
        }
    }
    lc_session_free(s);
    lc_conversation_free(c);
    lc_config_free(cfg);
    json_object_put(obj);
    free(data);
    return at;
}

static void t_recurring_long_timing(void **state) {
    (void)state;
    assert_int_equal(long_repeat_announced(2, 8, 10), 10);
    assert_int_equal(long_repeat_announced(2, 8, 8), 9); /* at finish */
    assert_int_equal(long_repeat_announced(2, 3, 10), 6);
    assert_int_equal(long_repeat_announced(3, 8, 10), 0);
}

/* Live: the seed's loop is reported at its 3rd repetition (turn 24) and
 * then extended block by block. */
static void t_seed_live_timing(void **state) {
    lc_config *cfg = NULL;
    lc_conversation *c;
    lc_session *s = NULL;
    size_t i;
    uint32_t new_at = 0, ext = 0;
    const lc_finding *f;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    c = load_seed(cfg);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < lc_conversation_turn_count(c); i++) {
        assert_int_equal(lc_session_push_turn(s, lc_conversation_turn(c, i)),
                         LC_OK);
        while (lc_session_next_finding(s, &f) == LC_OK) {
            if (f->kind != LC_KIND_EXACT_LOOP)
                continue;
            if (f->event == LC_EVENT_NEW) {
                new_at = (uint32_t)i + 1;
                assert_int_equal(f->repeats, 3);
                assert_int_equal(f->last_turn, 24);
            } else {
                ext++;
                assert_int_equal(f->last_turn, (uint32_t)i + 1);
            }
        }
    }
    assert_int_equal(new_at, 24);
    assert_int_equal(ext, 4); /* turns 26, 28, 30, 32 */
    lc_session_free(s);
    lc_conversation_free(c);
    lc_config_free(cfg);
}

/* Options reach the detectors: with min_repeats = 8 the seed's 7
 * repetitions are no loop. */
static void t_seed_options(void **state) {
    lc_config *cfg = NULL;
    lc_conversation *c;
    lc_session *s;
    size_t i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_MIN_REPEATS, 8), LC_OK);
    c = load_seed(cfg);
    s = run_live(cfg, c, false);
    for (i = 0; i < lc_session_finding_count(s); i++)
        assert_int_not_equal(lc_session_finding(s, i)->kind,
                             LC_KIND_EXACT_LOOP);
    lc_session_free(s);
    lc_conversation_free(c);
    lc_config_free(cfg);
}

/* Push one turn (NUL-terminated text) to s; it must be accepted. */
static void push(lc_session *s, lc_role role, const char *text) {
    assert_int_equal(lc_session_push(s, role, NULL, 0, text, strlen(text)),
                     LC_OK);
}

/* A short turn under recur_short_min = 2 (below recur_min) is the short
 * rule's, not the long rule's: reported at its 2nd occurrence, and not
 * lost when recur_long_min is larger (the deferral of the long rule used
 * to take it and then drop it for holding fewer than recur_long_min). */
static uint32_t short_repeat_announced(int64_t long_min) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    const lc_finding *f;
    static const char *const user[] = {"hello there", "what is the plan",
                                       "tell me more about it",
                                       "and then what happens next",
                                       "fine thanks a lot", "bye now"};
    uint32_t at = 0, n = 0;
    size_t i;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_RECUR_SHORT_MIN, 2), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_RECUR_LONG_MIN, long_min),
                     LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i <= 6; i++) {
        if (i < 6) {
            push(s, LC_ROLE_USER, user[i]);
            n++;
            push(s, LC_ROLE_ASSISTANT,
                 i == 0 || i == 2 ? "ok sure"
                 : i == 1         ? "the plan has three steps in it"
                 : i == 3         ? "it ends well for everyone involved"
                 : i == 4         ? "you are welcome any time"
                                  : "goodbye and take care");
            n++;
        } else {
            assert_int_equal(lc_session_finish(s), LC_OK);
            n++;
        }
        while (lc_session_next_finding(s, &f) == LC_OK) {
            if (f->kind != LC_KIND_RECURRING_TURN)
                continue;
            assert_int_equal(at, 0);
            assert_int_equal(f->first_turn, 2);
            assert_int_equal(f->last_turn, 6);
            assert_int_equal(f->count, 2);
            at = n;
        }
    }
    lc_session_free(s);
    lc_config_free(cfg);
    return at;
}

static void t_recurring_short_not_deferred(void **state) {
    (void)state;
    assert_int_equal(short_repeat_announced(4), 6);
    assert_int_equal(short_repeat_announced(2), 6);
}

/* A long answer said three times in 2.5 periods (U A U' A U' A): the
 * cycle goes on at the decision, but no exact_loop follows (3 repeats
 * need turns 2-7), so the repeat is still recurring_turn's; saying it a
 * third time must not lose the finding that twice (U A U' A) gets. With
 * one more U' A the exact_loop reports and recurring_turn stays quiet. */
static void t_recurring_long_short_cycle(void **state) {
    static const char para[] =
        "The quick brown fox jumps over the lazy dog near the river bank "
        "while the sun goes down";
    size_t n, i;
    (void)state;
    for (n = 4; n <= 7; n++) {
        lc_config *cfg = NULL;
        lc_conversation *c = NULL;
        lc_session *s;
        size_t nrec = 0, nexact = 0;
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        assert_int_equal(lc_conversation_new(cfg, &c), LC_OK);
        assert_int_equal(lc_conversation_add(c, LC_ROLE_USER, NULL, 0,
                                             "hello, describe the scene",
                                             25),
                         LC_OK);
        for (i = 0; i < n; i++)
            assert_int_equal(
                i % 2 ? lc_conversation_add(c, LC_ROLE_USER, NULL, 0,
                                            "and then?", 9)
                      : lc_conversation_add(c, LC_ROLE_ASSISTANT, NULL, 0,
                                            para, strlen(para)),
                LC_OK);
        s = run_live(cfg, c, true);
        assert_live_equals_batch(cfg, c, s);
        for (i = 0; i < lc_session_finding_count(s); i++) {
            const lc_finding *f = lc_session_finding(s, i);
            if (f->kind == LC_KIND_RECURRING_TURN) {
                nrec++;
                assert_int_equal(f->first_turn, 2);
                assert_int_equal(f->last_turn, 4);
            }
            nexact += f->kind == LC_KIND_EXACT_LOOP;
        }
        assert_int_equal(nrec, n < 6 ? 1 : 0);
        assert_int_equal(nexact, n < 6 ? 0 : 1);
        lc_session_free(s);
        lc_conversation_free(c);
        lc_config_free(cfg);
    }
}

/* The exact_loop finding of s; there must be exactly one. */
static const lc_finding *the_exact_loop(const lc_session *s) {
    const lc_finding *loop = NULL;
    size_t i, n = 0;
    for (i = 0; i < lc_session_finding_count(s); i++) {
        const lc_finding *f = lc_session_finding(s, i);
        if (f->kind == LC_KIND_EXACT_LOOP) {
            loop = f;
            n++;
        }
    }
    assert_int_equal(n, 1);
    return loop;
}

/* Bounded work: 20,000 turns of a period-3 loop after a long history give
 * one finding and finish quickly (no pairwise comparison). */
static void t_long_loop(void **state) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    const lc_finding *loop;
    char text[128];
    uint32_t i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < 1000; i++) {
        snprintf(text, sizeof text,
                 "message number %u about topic %u and more", i,
                 i * 7919u % 1000u);
        push(s, i & 1 ? LC_ROLE_USER : LC_ROLE_ASSISTANT, text);
    }
    for (i = 0; i < 20000; i++) {
        static const char *const cyc[] = {"run the build", "build failed",
                                          "try again"};
        push(s, i % 3 == 1 ? LC_ROLE_USER : LC_ROLE_ASSISTANT, cyc[i % 3]);
    }
    assert_int_equal(lc_session_finish(s), LC_OK);
    loop = the_exact_loop(s);
    assert_int_equal(loop->period, 3);
    assert_int_equal(loop->first_turn, 1001);
    lc_session_free(s);
    lc_config_free(cfg);
}

/* A long refusal loop: every assistant turn is also a refusal finding of
 * another detector, so anything that scanned all findings per turn would
 * be quadratic here. One exact loop, extended to the end. */
static void t_long_refusal_loop(void **state) {
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    const lc_finding *loop;
    uint32_t i;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < 20000; i++)
        push(s, i & 1 ? LC_ROLE_USER : LC_ROLE_ASSISTANT,
             i & 1 ? "Please, I really need help with my essay."
                   : "I'm sorry, but I can't help with that.");
    assert_int_equal(lc_session_finish(s), LC_OK);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        const lc_finding *f = lc_session_finding(s, (size_t)i);
        assert_int_not_equal(f->kind, LC_KIND_NEAR_DUPLICATE_LOOP);
        assert_int_not_equal(f->kind, LC_KIND_RECURRING_TURN);
    }
    loop = the_exact_loop(s);
    assert_int_equal(loop->first_turn, 1);
    assert_int_equal(loop->last_turn, 20000);
    assert_int_equal(loop->repeats, 10000);
    lc_session_free(s);
    lc_config_free(cfg);
}

/* The history window bounds what can be matched: a passage recycled 30
 * turns later is found with the default window and not with a window
 * of 16 turns. */
static size_t recycled_after_gap(int64_t window) {
    static const char *const para =
        "The quarterly numbers show that the new onboarding flow reduced "
        "support tickets by a third while keeping conversion steady.";
    lc_config *cfg = NULL;
    lc_session *s = NULL;
    char filler[96];
    size_t i, n = 0;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    if (window)
        assert_int_equal(lc_config_set(cfg, LC_OPT_HISTORY_TURNS, window),
                         LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    push(s, LC_ROLE_ASSISTANT, para);
    for (i = 0; i < 29; i++) {
        snprintf(filler, sizeof filler,
                 "Filler message %zu with its own words %zu.", i, i * 31);
        push(s, i & 1 ? LC_ROLE_ASSISTANT : LC_ROLE_USER, filler);
    }
    push(s, LC_ROLE_ASSISTANT,
         "As I said before. The quarterly numbers show that the new "
         "onboarding flow reduced support tickets by a third while keeping "
         "conversion steady.");
    assert_int_equal(lc_session_finish(s), LC_OK);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        const lc_finding *f = lc_session_finding(s, i);
        if (f->kind == LC_KIND_RECYCLED_PASSAGE) {
            assert_int_equal(f->first_turn, 1);
            assert_int_equal(f->last_turn, 31);
            n++;
        }
    }
    lc_session_free(s);
    lc_config_free(cfg);
    return n;
}

static void t_history_window(void **state) {
    (void)state;
    assert_int_equal(recycled_after_gap(0), 1);
    assert_int_equal(recycled_after_gap(16), 0);
}

/* ------------------------------------------------------------------ */
/* fast paths against their references: the sketch masks and the        */
/* near-dup similarity (SSE2), the words key, recycled_passage's        */
/* winnowing (conditional moves / inline asm and the portable code)     */
/* ------------------------------------------------------------------ */

/* Fixed-seed generator (splitmix64), so every run tests the same cases. */
static uint64_t rng_next(uint64_t *s) {
    uint64_t z = (*s += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

static uint32_t rng_below(uint64_t *s, uint32_t n) {
    return (uint32_t)(rng_next(s) % n);
}

/* Word number i in letters only (four consonant-vowel syllables):
 * distinct numbers give distinct tokens. */
static void word_of(uint32_t i, char out[9]) {
    static const char cons[] = "bcdfghjklmnprstvwz";
    static const char vow[] = "aeiou";
    int k;
    for (k = 0; k < 4; k++) {
        uint32_t syl = i % 90;
        i /= 90;
        out[2 * k] = cons[syl / 5];
        out[2 * k + 1] = vow[syl % 5];
    }
    out[8] = '\0';
}

static uint64_t ref_nonempty(const uint64_t *h) {
    uint64_t ne = 0;
    uint32_t i;
    for (i = 0; i < LCI_SKETCH_K; i++)
        if (h[i] != UINT64_MAX)
            ne |= UINT64_C(1) << i;
    return ne;
}

/* The documented near-dup rule for two free-text turns of one role with
 * different hashes: not similar without words, else lci_sketch_jaccard
 * if it is at least pct percent, exactly (bins counted here, compared in
 * integers: 29 of 50 bins is 58%, which 0.58 * 100.0 in doubles is not,
 * and the code once rounded that way). */
static double ref_similarity(const lci_sketch *x, const lci_sketch *y,
                             uint32_t pct) {
    uint32_t i, either = 0, both = 0;
    if (!x->n || !y->n)
        return -1.0;
    for (i = 0; i < LCI_SKETCH_K; i++) {
        if (x->h[i] == UINT64_MAX && y->h[i] == UINT64_MAX)
            continue;
        either++;
        both += x->h[i] == y->h[i];
    }
    if (!either || (uint64_t)both * 100 < (uint64_t)pct * either)
        return -1.0;
    assert_true(lci_sketch_jaccard(x, y) == (double)both / either);
    return (double)both / either;
}

static void check_similarity(const lci_sketch *x, const lci_sketch *y,
                             uint32_t pct, const char *what) {
    lci_turn a, b;
    double want = ref_similarity(x, y, pct), got, rev;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    a.pub.role = b.pub.role = LC_ROLE_ASSISTANT;
    a.pub.hash = 1;
    b.pub.hash = 2;
    got = lci_turn_similarity(&a, x, &b, y, pct);
    rev = lci_turn_similarity(&b, y, &a, x, pct);
    if (memcmp(&got, &want, sizeof got) || memcmp(&rev, &want, sizeof rev))
        fail_msg("%s: pct %u: similarity %.17g (reversed %.17g), reference "
                 "%.17g (ne %016llx %016llx)",
                 what, (unsigned)pct, got, rev, want,
                 (unsigned long long)x->ne, (unsigned long long)y->ne);
}

/* ---- sketches with chosen bins ---- */

/* Inverse of x ^= x >> s. */
static uint64_t unshift_xor(uint64_t y, unsigned s) {
    uint64_t x = y;
    unsigned i;
    for (i = 0; i <= 64 / s; i++)
        x = y ^ (x >> s);
    return x;
}

/* Inverse of an odd constant modulo 2^64 (Newton). */
static uint64_t mul_inverse(uint64_t c) {
    uint64_t x = c;
    int i;
    for (i = 0; i < 6; i++)
        x *= 2 - c * x;
    return x;
}

/* Inverse of lci_mix64 (each of its steps is a bijection). */
static uint64_t unmix64(uint64_t x) {
    x = unshift_xor(x, 31);
    x *= mul_inverse(UINT64_C(0x94d049bb133111eb));
    x = unshift_xor(x, 27);
    x *= mul_inverse(UINT64_C(0xbf58476d1ce4e5b9));
    return unshift_xor(x, 30);
}

/* A free-text assistant turn (hash `hash`) whose sketch sees exactly the
 * shingle hashes v[0..m), m >= 1: m + 1 tokens (tok has room), solved
 * backwards from the sketch's shingle hash lci_mix64(tok[i] ^ tok[i + 1]
 * * K) (detect_util.c). The test checks the bins it gets, so a change of
 * that hash shows up as such, not as a mask error. */
static void crafted_turn(lci_turn *t, lci_token *tok, const uint64_t *v,
                         uint32_t m, uint64_t last, uint64_t hash) {
    const uint64_t k = UINT64_C(0x9e3779b97f4a7c15);
    uint32_t i;
    memset(t, 0, sizeof *t);
    memset(tok, 0, (m + 1) * sizeof *tok);
    tok[m].hash = last;
    for (i = m; i-- > 0;)
        tok[i].hash = unmix64(v[i]) ^ (tok[i + 1].hash * k);
    t->pub.role = LC_ROLE_ASSISTANT;
    t->pub.hash = hash;
    t->tokens = tok;
    t->ntokens = m + 1;
}

/* A value for bin b (top 6 bits), often with a 32-bit half all ones (the
 * SSE2 code compares halves: a bin is empty iff both are), never the
 * empty marker. */
static uint64_t bin_value(uint64_t *rs, uint32_t b) {
    const uint64_t low58 = (UINT64_C(1) << 58) - 1;
    uint64_t lo = rng_next(rs) & low58, v;
    switch (rng_below(rs, 6)) {
    case 0: /* low half all ones */
        lo |= UINT64_C(0xffffffff);
        break;
    case 1: /* high half all ones too in bin 63 */
        lo |= low58 & ~UINT64_C(0xffffffff);
        break;
    case 2: /* all ones but one bit */
        lo = low58 ^ (UINT64_C(1) << rng_below(rs, 58));
        break;
    case 3:
        lo = rng_below(rs, 2) ? 0 : low58;
        break;
    default:
        break;
    }
    v = ((uint64_t)b << 58) | lo;
    return v == UINT64_MAX ? v - 1 : v;
}

/* Sketch the crafted turn of shingles v[0..m) (m = 0: no words) and
 * check its bins and its non-empty mask against the per-bin minima. */
static void sketch_crafted(const uint64_t *v, uint32_t m, uint64_t *rs,
                           uint64_t hash, lci_sketch *out) {
    static lci_token tok[1024];
    uint64_t want[LCI_SKETCH_K];
    lci_turn t;
    uint32_t i;
    assert_true(m < 1024);
    for (i = 0; i < LCI_SKETCH_K; i++)
        want[i] = UINT64_MAX;
    for (i = 0; i < m; i++)
        if (v[i] < want[v[i] >> 58])
            want[v[i] >> 58] = v[i];
    if (m) {
        crafted_turn(&t, tok, v, m, rng_next(rs), hash);
    } else {
        memset(&t, 0, sizeof t);
        t.pub.role = LC_ROLE_ASSISTANT;
        t.pub.hash = hash;
    }
    lci_sketch_turn_sig(&t, 0, out);
    assert_int_equal(out->n, m);
    assert_memory_equal(out->h, want, sizeof want);
    if (out->ne != ref_nonempty(want))
        fail_msg("non-empty mask %016llx, bins say %016llx",
                 (unsigned long long)out->ne,
                 (unsigned long long)ref_nonempty(want));
}

/* Shingles for the bins in `bins`: one value each (from val[b] if val
 * is not NULL), plus `extra` larger ones in the same bins (each bin
 * keeps its minimum), shuffled. Returns their number. */
static uint32_t shingles_for(uint64_t bins, const uint64_t *val,
                             uint32_t extra, uint64_t *rs, uint64_t *v) {
    uint32_t m = 0, b, i;
    for (b = 0; b < LCI_SKETCH_K; b++)
        if (bins >> b & 1)
            v[m++] = val ? val[b] : bin_value(rs, b);
    for (i = 0; m && i < extra; i++) {
        uint64_t base = v[rng_below(rs, m)];
        /* up to the bin's last value (bin 63: the shift wraps to 0) */
        uint64_t room = (((base >> 58) + 1) << 58) - 1 - base, e;
        if (room < 2)
            continue;
        e = base + 1 + rng_next(rs) % (room - 1);
        if (e != UINT64_MAX)
            v[m++] = e;
    }
    for (i = m; i > 1; i--) {
        uint32_t j = rng_below(rs, i);
        uint64_t tmp = v[i - 1];
        v[i - 1] = v[j];
        v[j] = tmp;
    }
    return m;
}

static uint64_t random_bins(uint64_t *rs, uint32_t density) {
    uint64_t bins = 0;
    uint32_t b;
    for (b = 0; b < LCI_SKETCH_K; b++)
        if (rng_below(rs, 100) < density)
            bins |= UINT64_C(1) << b;
    return bins;
}

/* The non-empty bin mask of sketches (SSE2: eight bins per round, a bin
 * empty iff both 32-bit halves are all ones) equals the bins: every bin
 * alone, random and full sets, values with one half all ones, and real
 * turns of 0..100 words. */
static void t_sketch_nonempty(void **state) {
    uint64_t rs = UINT64_C(0x5eed5ce7c4), v[1024] = {0}, x;
    lci_sketch sk;
    lc_config *cfg = NULL;
    uint32_t it, b, n;
    (void)state;
    for (it = 0; it < 100; it++) {
        x = rng_next(&rs);
        assert_true(unmix64(lci_mix64(x)) == x);
    }
    /* no words: all bins empty */
    sketch_crafted(v, 0, &rs, 1, &sk);
    assert_true(sk.ne == 0);
    for (b = 0; b < LCI_SKETCH_K; b++) {
        /* bin b alone, one shingle and one token (a lone word) */
        lci_token tok;
        lci_turn t;
        for (it = 0; it < 8; it++) {
            uint32_t m = shingles_for(UINT64_C(1) << b, NULL, it, &rs, v);
            sketch_crafted(v, m, &rs, 1, &sk);
            assert_true(sk.ne == UINT64_C(1) << b);
        }
        memset(&t, 0, sizeof t);
        memset(&tok, 0, sizeof tok);
        tok.hash = unmix64(bin_value(&rs, b));
        t.pub.role = LC_ROLE_USER;
        t.tokens = &tok;
        t.ntokens = 1;
        lci_sketch_turn_sig(&t, 0, &sk);
        assert_int_equal(sk.n, 1);
        assert_true(sk.h[b] == lci_mix64(tok.hash));
        assert_true(sk.ne == UINT64_C(1) << b);
        /* every bin but b */
        n = shingles_for(~(UINT64_C(1) << b), NULL, 3, &rs, v);
        sketch_crafted(v, n, &rs, 1, &sk);
        assert_true(sk.ne == ~(UINT64_C(1) << b));
    }
    for (it = 0; it < 3000; it++) {
        uint64_t bins = it % 5 == 4 ? ~UINT64_C(0)
                                    : random_bins(&rs, 1 + it % 97);
        n = shingles_for(bins, NULL, rng_below(&rs, 64), &rs, v);
        sketch_crafted(v, n, &rs, 1, &sk);
    }
    /* the sketches of real turns */
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    for (n = 0; n <= 100; n++) {
        tu_buf b2 = {NULL, 0, 0};
        char w[9];
        lci_turn t;
        size_t bad;
        uint32_t i;
        for (i = 0; i < n; i++) {
            word_of(rng_below(&rs, 40), w);
            tu_buf_printf(&b2, "%s%s", i ? " " : "", w);
        }
        assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0,
                                       b2.data ? b2.data : "", b2.len,
                                       &bad),
                         LC_OK);
        assert_int_equal(t.ntokens, n);
        lci_sketch_turn(&t, &sk);
        assert_true(sk.ne == ref_nonempty(sk.h));
        assert_int_equal(sk.ne != 0, n != 0);
        lci_turn_free(&t, &lci_default_alloc);
        free(b2.data);
    }
    lc_config_free(cfg);
}

/* What bin i holds in the two sketches of a pair. */
enum { PB_NONE, PB_X, PB_Y, PB_EQ, PB_DLO, PB_DHI, PB_DBOTH, PB_KINDS };

/* Any value but the empty marker, often with a half all ones or one bit
 * off all ones. */
static uint64_t any_value(uint64_t *rs) {
    uint64_t v = rng_next(rs);
    switch (rng_below(rs, 6)) {
    case 0:
        v |= UINT64_C(0xffffffff00000000);
        break;
    case 1:
        v |= UINT64_C(0xffffffff);
        break;
    case 2:
        v = UINT64_MAX ^ (UINT64_C(1) << rng_below(rs, 64));
        break;
    case 3:
        v = 0;
        break;
    default:
        break;
    }
    return v == UINT64_MAX ? v - 1 : v;
}

/* A non-zero difference in the bits `mask`: one bit or random ones. */
static uint64_t diff_in(uint64_t *rs, uint64_t mask) {
    uint64_t d;
    do {
        d = rng_below(rs, 2) ? UINT64_C(1) << rng_below(rs, 64)
                             : rng_next(rs);
        d &= mask;
    } while (!d);
    return d;
}

/* Bin i of x and y as kind c; the counts of the reference (bins
 * non-empty in either, equal in both) are updated. Values may sit in any
 * bin: the comparison does not look at which. */
static void pair_bin(uint64_t *rs, lci_sketch *x, lci_sketch *y, uint32_t i,
                     int c, uint32_t *either, uint32_t *both) {
    uint64_t a = any_value(rs), d = a;
    x->h[i] = y->h[i] = UINT64_MAX;
    if (c == PB_NONE)
        return;
    ++*either;
    if (c == PB_X) {
        x->h[i] = a;
        return;
    }
    if (c == PB_Y) {
        y->h[i] = a;
        return;
    }
    if (c == PB_EQ)
        ++*both;
    while (c != PB_EQ && (d == a || d == UINT64_MAX)) {
        d = a;
        if (c != PB_DHI)
            d ^= diff_in(rs, UINT64_C(0xffffffff));
        if (c != PB_DLO)
            d ^= diff_in(rs, UINT64_C(0xffffffff00000000));
    }
    x->h[i] = a;
    y->h[i] = d;
}

static void pair_finish(lci_sketch *x, lci_sketch *y, uint32_t either,
                        uint32_t both) {
    x->ne = ref_nonempty(x->h);
    y->ne = ref_nonempty(y->h);
    x->n = x->ne ? 1 + (uint32_t)(x->ne & 7) : 0;
    y->n = y->ne ? 1 + (uint32_t)(y->ne & 7) : 0;
    /* the reference itself */
    assert_true(lci_sketch_jaccard(x, y) ==
                (either ? (double)both / either : 0.0));
}

/* lci_turn_similarity (masks of equal and non-empty bins, SSE2, early
 * give-up) equals the reference on sketches built bin by bin: every bin
 * position alone, half-equal values, identical, disjoint, empty and
 * all-empty sketches, random mixtures, and pairs just at, above and
 * below the threshold. */
static void t_similarity_masks(void **state) {
    static const uint32_t pcts[] = {10, 11, 25, 33, 34, 50, 58, 59,
                                    60, 61, 66, 67, 75, 90, 99, 100};
    /* the kinds of a bin that is not equal in both; [0] empty in both */
    static const int unequal[] = {PB_NONE, PB_X,   PB_Y,
                                  PB_DLO,  PB_DHI, PB_DBOTH};
    uint64_t rs = UINT64_C(0x5eed0051), v[1024], w[1024];
    lci_sketch x, y;
    uint32_t it, i, b, p, either, both;
    char what[96];
    (void)state;
    memset(&x, 0, sizeof x);
    memset(&y, 0, sizeof y);
    /* one bin position at a time: alone, and as the one odd bin of 64 */
    for (b = 0; b < LCI_SKETCH_K; b++) {
        int c;
        for (c = PB_X; c < PB_KINDS; c++) {
            for (it = 0; it < 4; it++) {
                either = both = 0;
                for (i = 0; i < LCI_SKETCH_K; i++)
                    pair_bin(&rs, &x, &y, i, i == b ? c : PB_NONE, &either,
                             &both);
                pair_finish(&x, &y, either, both);
                snprintf(what, sizeof what, "bin %u alone, kind %d", b, c);
                check_similarity(&x, &y, 100, what);
                check_similarity(&x, &y, 10, what);
                either = both = 0;
                for (i = 0; i < LCI_SKETCH_K; i++)
                    pair_bin(&rs, &x, &y, i, i == b ? c : PB_EQ, &either,
                             &both);
                pair_finish(&x, &y, either, both);
                snprintf(what, sizeof what, "bin %u odd one, kind %d", b, c);
                for (p = 0; p < sizeof pcts / sizeof *pcts; p++)
                    check_similarity(&x, &y, pcts[p], what);
                check_similarity(&x, &y, 98, what);
            }
        }
    }
    for (it = 0; it < 20000; it++) {
        uint32_t kind = it % 6, pct = 10 + rng_below(&rs, 91);
        uint32_t wt[PB_KINDS], sum = 0;
        either = both = 0;
        for (i = 0; i < PB_KINDS; i++)
            sum += wt[i] = rng_below(&rs, 4) ? rng_below(&rs, 10) : 0;
        if (!sum)
            sum = wt[PB_EQ] = 1;
        if (kind == 0) { /* random mixture */
            for (i = 0; i < LCI_SKETCH_K; i++) {
                uint32_t r = rng_below(&rs, sum);
                int c = 0;
                while (r >= wt[c])
                    r -= wt[c++];
                pair_bin(&rs, &x, &y, i, c, &either, &both);
            }
        } else if (kind == 1) { /* identical, some bins empty */
            uint32_t dens = rng_below(&rs, 101);
            for (i = 0; i < LCI_SKETCH_K; i++)
                pair_bin(&rs, &x, &y, i,
                         rng_below(&rs, 100) < dens ? PB_EQ : PB_NONE,
                         &either, &both);
        } else if (kind == 2) { /* disjoint */
            for (i = 0; i < LCI_SKETCH_K; i++)
                pair_bin(&rs, &x, &y, i, unequal[rng_below(&rs, 6)], &either,
                         &both);
        } else if (kind == 3) { /* equal in one half only */
            uint32_t half = rng_below(&rs, 2);
            for (i = 0; i < LCI_SKETCH_K; i++)
                pair_bin(&rs, &x, &y, i,
                         (i >= 32) == half ? PB_EQ
                                           : unequal[rng_below(&rs, 6)],
                         &either, &both);
        } else { /* near the threshold: both at, one below or one above */
            uint32_t e = 1 + rng_below(&rs, LCI_SKETCH_K), need, k, perm[64];
            need = (pct * e + 99) / 100;
            k = need + rng_below(&rs, 3);
            k = k ? k - 1 : 0;
            if (k > e)
                k = e;
            for (i = 0; i < LCI_SKETCH_K; i++)
                perm[i] = i;
            for (i = LCI_SKETCH_K; i > 1; i--) {
                uint32_t j = rng_below(&rs, i), tmp = perm[i - 1];
                perm[i - 1] = perm[j];
                perm[j] = tmp;
            }
            for (i = 0; i < LCI_SKETCH_K; i++)
                pair_bin(&rs, &x, &y, perm[i],
                         i < k   ? PB_EQ
                         : i < e ? unequal[1 + rng_below(&rs, 5)]
                                 : PB_NONE,
                         &either, &both);
            pair_finish(&x, &y, either, both);
            snprintf(what, sizeof what, "near threshold %u of %u, pct %u",
                     k, e, pct);
            check_similarity(&x, &y, pct, what);
            if (pct > 10)
                check_similarity(&x, &y, pct - 1, what);
            if (pct < 100)
                check_similarity(&x, &y, pct + 1, what);
            continue;
        }
        pair_finish(&x, &y, either, both);
        snprintf(what, sizeof what, "random pair %u (kind %u)", it, kind);
        check_similarity(&x, &y, pct, what);
        for (p = 0; p < sizeof pcts / sizeof *pcts; p++)
            check_similarity(&x, &y, pcts[p], what);
    }
    /* all-empty sketches (no words) */
    memset(&x, 0, sizeof x);
    for (i = 0; i < LCI_SKETCH_K; i++)
        x.h[i] = UINT64_MAX;
    y = x;
    check_similarity(&x, &y, 10, "all empty");
    x.n = y.n = 1;
    check_similarity(&x, &y, 10, "all empty, n set");
    /* sketches of crafted turns (library masks), bins by pair kind */
    for (it = 0; it < 3000; it++) {
        uint64_t bx = random_bins(&rs, rng_below(&rs, 101)), by, val[64];
        uint64_t valy[64];
        uint32_t mx, my, same = rng_below(&rs, 101);
        by = it % 7 == 0 ? bx : (bx & random_bins(&rs, 90)) |
                                    random_bins(&rs, rng_below(&rs, 30));
        for (b = 0; b < LCI_SKETCH_K; b++) {
            val[b] = valy[b] = bin_value(&rs, b);
            if (rng_below(&rs, 100) >= same) {
                /* differ in the low half, the bin's high bits or both */
                uint32_t c = rng_below(&rs, 3);
                do {
                    valy[b] = val[b];
                    if (c != 1)
                        valy[b] ^= diff_in(&rs, UINT64_C(0xffffffff));
                    if (c != 0)
                        valy[b] ^= diff_in(&rs, UINT64_C(0x03ffffff00000000));
                } while (valy[b] == UINT64_MAX);
            }
        }
        mx = shingles_for(bx, val, rng_below(&rs, 8), &rs, v);
        my = shingles_for(by, valy, rng_below(&rs, 8), &rs, w);
        sketch_crafted(v, mx, &rs, 1, &x);
        sketch_crafted(w, my, &rs, 2, &y);
        snprintf(what, sizeof what, "crafted turns %u", it);
        check_similarity(&x, &y, 10 + rng_below(&rs, 91), what);
        for (p = 0; p < sizeof pcts / sizeof *pcts; p++)
            check_similarity(&x, &y, pcts[p], what);
    }
    /* real turns: a text and a rewording of some of its words */
    {
        lc_config *cfg = NULL;
        assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
        for (it = 0; it < 400; it++) {
            tu_buf ta = {NULL, 0, 0}, tb = {NULL, 0, 0};
            uint32_t n = rng_below(&rs, 60), change = rng_below(&rs, 101);
            lci_turn a, bt;
            size_t bad;
            char wd[9];
            for (i = 0; i < n; i++) {
                uint32_t id = rng_below(&rs, 30);
                word_of(id, wd);
                tu_buf_printf(&ta, "%s%s", i ? " " : "", wd);
                if (rng_below(&rs, 100) < change)
                    word_of(id + 30 + rng_below(&rs, 30), wd);
                tu_buf_printf(&tb, "%s%s", i ? " " : "", wd);
            }
            tu_buf_printf(&tb, " ok");
            assert_int_equal(lci_turn_init(&a, cfg, LC_ROLE_ASSISTANT, NULL,
                                           0, ta.data ? ta.data : "",
                                           ta.len, &bad),
                             LC_OK);
            assert_int_equal(lci_turn_init(&bt, cfg, LC_ROLE_ASSISTANT, NULL,
                                           0, tb.data, tb.len, &bad),
                             LC_OK);
            lci_sketch_turn(&a, &x);
            lci_sketch_turn(&bt, &y);
            assert_true(x.ne == ref_nonempty(x.h));
            assert_true(y.ne == ref_nonempty(y.h));
            snprintf(what, sizeof what, "text pair %u", it);
            check_similarity(&x, &y, 10 + rng_below(&rs, 91), what);
            for (p = 0; p < sizeof pcts / sizeof *pcts; p++)
                check_similarity(&x, &y, pcts[p], what);
            lci_turn_free(&a, &lci_default_alloc);
            lci_turn_free(&bt, &lci_default_alloc);
            free(ta.data);
            free(tb.data);
        }
        lc_config_free(cfg);
    }
}

/* lci_turn_words_key of tokens[0..n) given as an array of hashes. */
static uint64_t key_of(const lci_token *tok, uint32_t n) {
    lci_turn t;
    memset(&t, 0, sizeof t);
    t.tokens = (lci_token *)(uintptr_t)tok;
    t.ntokens = n;
    return lci_turn_words_key(&t);
}

static uint64_t words_hash_of(const lci_token *tok, uint32_t n) {
    lci_turn t;
    memset(&t, 0, sizeof t);
    t.tokens = (lci_token *)(uintptr_t)tok;
    t.ntokens = n;
    return lci_turn_words_hash(&t);
}

/* Key and words hash of a mutated sequence: both differ from the
 * original's (different word sequences; internal.h: the same equality as
 * lci_turn_words_hash). */
static void assert_key_differs(const lci_token *tok, uint32_t n,
                               uint64_t key, uint64_t wh, const char *what,
                               uint32_t len, uint32_t i) {
    if (key_of(tok, n) == key || words_hash_of(tok, n) == wh)
        fail_msg("%u words, %s at %u: words key %s, words hash %s",
                 (unsigned)len, what, (unsigned)i,
                 key_of(tok, n) == key ? "equal" : "differs",
                 words_hash_of(tok, n) == wh ? "equal" : "differs");
}

/* The words key (four lanes walked by pointer): equal for texts of
 * 0..100 words that differ only in punctuation, emoji, case and spacing,
 * different for any other word sequence (one word changed, two swapped,
 * one dropped or added, at every position), and it reads exactly the n
 * tokens (what lies around them in memory does not matter; valgrind and
 * ASan see an exact-size copy). */
static void t_words_key(void **state) {
    static const char *const seps[] = {
        " ",    ", ",  "; ",   ". ", "! ",           "? ",
        " - ",  " :) ", "  ",  "... ", " \xf0\x9f\x99\x82 ", " \xe2\x9c\x85 ",
        " (",   ") ",  " *",   "* ",  "\n",          " / "};
    lc_config *cfg = NULL;
    uint64_t rs = UINT64_C(0x5eedc0de), keys[101];
    lci_turn vocab;
    size_t bad;
    uint32_t n, i, j, k;
    tu_buf vb = {NULL, 0, 0};
    char w[9];
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    /* a vocabulary of 40 words (repeats within a text are likely) */
    for (i = 0; i < 40; i++) {
        word_of(i * 7919u, w);
        tu_buf_printf(&vb, "%s ", w);
    }
    assert_int_equal(lci_turn_init(&vocab, cfg, LC_ROLE_USER, NULL, 0,
                                   vb.data, vb.len, &bad),
                     LC_OK);
    assert_int_equal(vocab.ntokens, 40);
    for (n = 0; n <= 100; n++) {
        tu_buf plain = {NULL, 0, 0}, deco = {NULL, 0, 0};
        uint32_t ids[100];
        lci_turn tp, td;
        lci_token *tok, *around;
        uint64_t key, wh;
        for (i = 0; i < n; i++)
            ids[i] = rng_below(&rs, 40);
        if (rng_below(&rs, 2))
            tu_buf_printf(&deco, "\xf0\x9f\x91\x8b ");
        for (i = 0; i < n; i++) {
            word_of(ids[i] * 7919u, w);
            tu_buf_printf(&plain, "%s%s", i ? " " : "", w);
            /* capitalized or all capitals */
            for (j = 0, k = rng_below(&rs, 5); j < 8 && k < 2; j++)
                if (j == 0 || k == 0)
                    w[j] = (char)(w[j] - 'a' + 'A');
            tu_buf_printf(&deco, "%s%s", w, seps[rng_below(&rs, 18)]);
        }
        tu_buf_printf(&deco, "!! \xf0\x9f\x98\x80");
        assert_int_equal(lci_turn_init(&tp, cfg, LC_ROLE_USER, NULL, 0,
                                       plain.data ? plain.data : "",
                                       plain.len, &bad),
                         LC_OK);
        assert_int_equal(lci_turn_init(&td, cfg, LC_ROLE_USER, NULL, 0,
                                       deco.data, deco.len, &bad),
                         LC_OK);
        assert_int_equal(tp.ntokens, n);
        assert_int_equal(td.ntokens, n);
        key = lci_turn_words_key(&tp);
        wh = lci_turn_words_hash(&tp);
        if (lci_turn_words_key(&td) != key)
            fail_msg("%u words: key differs with punctuation/emoji: \"%s\" "
                     "vs \"%s\"",
                     (unsigned)n, plain.data ? plain.data : "", deco.data);
        assert_true(lci_turn_words_hash(&td) == wh);
        keys[n] = key;
        /* the same hashes in an exact-size array, and inside others with
         * different neighbours */
        tok = malloc((n ? n : 1) * sizeof *tok);
        around = malloc((n + 10) * sizeof *around);
        assert_non_null(tok);
        assert_non_null(around);
        for (i = 0; i < n; i++) {
            memset(&tok[i], 0, sizeof tok[i]);
            tok[i].hash = tp.tokens[i].hash;
        }
        assert_true(key_of(tok, n) == key);
        for (j = 0; j < 3; j++) {
            for (i = 0; i < n + 10; i++) {
                memset(&around[i], 0, sizeof around[i]);
                around[i].hash = rng_next(&rs);
            }
            for (i = 0; i < n; i++)
                around[5 + i].hash = tok[i].hash;
            assert_true(key_of(around + 5, n) == key);
        }
        for (i = 0; i < n; i++) {
            uint64_t keep = tok[i].hash;
            /* another word at i */
            tok[i].hash =
                vocab.tokens[(ids[i] + 1 + rng_below(&rs, 39)) % 40].hash;
            assert_key_differs(tok, n, key, wh, "word changed", n, i);
            tok[i].hash = keep;
            /* swapped with each of the next 8 (same and other lanes) */
            for (j = i + 1; j < n && j <= i + 8; j++) {
                if (tok[j].hash == keep)
                    continue;
                tok[i].hash = tok[j].hash;
                tok[j].hash = keep;
                assert_key_differs(tok, n, key, wh, "words swapped", n, i);
                tok[j].hash = tok[i].hash;
                tok[i].hash = keep;
            }
            /* dropped: the words after it move up one place */
            memcpy(around, tok, i * sizeof *tok);
            memcpy(around + i, tok + i + 1, (n - i - 1) * sizeof *tok);
            assert_key_differs(around, n - 1, key, wh, "word dropped", n, i);
            /* one inserted before it */
            memcpy(around, tok, i * sizeof *tok);
            around[i] = tok[i];
            around[i].hash = vocab.tokens[rng_below(&rs, 40)].hash;
            memcpy(around + i + 1, tok + i, (n - i) * sizeof *tok);
            assert_key_differs(around, n + 1, key, wh, "word inserted", n,
                               i);
        }
        assert_true(key_of(tok, n) == key); /* restored */
        free(tok);
        free(around);
        lci_turn_free(&tp, &lci_default_alloc);
        lci_turn_free(&td, &lci_default_alloc);
        free(plain.data);
        free(deco.data);
    }
    /* texts of different lengths are different texts */
    for (n = 0; n <= 100; n++)
        for (i = 0; i < n; i++)
            if (keys[i] == keys[n])
                fail_msg("words key of %u and %u words equal", (unsigned)i,
                         (unsigned)n);
    lci_turn_free(&vocab, &lci_default_alloc);
    free(vb.data);
    lc_config_free(cfg);
}

/* ---- recycled_passage on conversations built here ---- */

/* A turn being written: its text, its words, which of them start a
 * sentence as written here (the first, and the first after a '.'), and
 * where the passage P lies. */
typedef struct rp_text {
    tu_buf b;
    uint32_t nw;
    uint32_t p0, p1; /* P's words [p0, p1) */
    int stop;        /* a '.' was written since the last word */
    unsigned char sent[1024];
} rp_text;

/* Word ids: P's words, Q's words and the fillers (fresh each time) are
 * distinct, so two turns share only their passages. */
#define RP_P 1000000u
#define RP_Q 2000000u
#define RP_FILL 3000000u

static void rp_word(rp_text *t, uint32_t id) {
    char w[9];
    word_of(id, w);
    assert_true(t->nw < sizeof t->sent);
    t->sent[t->nw] = t->nw == 0 || t->stop;
    tu_buf_printf(&t->b, "%s%s", t->nw ? " " : "", w);
    t->stop = 0;
    t->nw++;
}

static void rp_stop(rp_text *t) {
    if (t->nw && !t->stop) {
        tu_buf_add(&t->b, ".", 1);
        t->stop = 1;
    }
}

/* A turn from a spec: "fK" K fresh filler words, "P" / "Q" the passages
 * (lp and lq words), "P<" / "P>" P's first lp / 2 words / the rest, "."
 * a sentence end. */
static void rp_build(rp_text *t, const char *spec, uint32_t lp, uint32_t lq,
                     uint32_t *filler) {
    const char *s = spec;
    memset(t, 0, sizeof *t);
    while (*s) {
        if (*s == ' ') {
            s++;
        } else if (*s == '.') {
            rp_stop(t);
            s++;
        } else if (*s == 'f') {
            char *end;
            unsigned long k = strtoul(s + 1, &end, 10), i;
            for (i = 0; i < k; i++)
                rp_word(t, (*filler)++);
            s = end;
        } else {
            bool p = *s == 'P';
            uint32_t len = p ? lp : lq, a = 0, b = len, i;
            assert_true(*s == 'P' || *s == 'Q');
            if (s[1] == '<')
                b = len / 2;
            else if (s[1] == '>')
                a = len / 2;
            s += (s[1] == '<' || s[1] == '>') ? 2 : 1;
            if (p && a == 0)
                t->p0 = t->nw;
            for (i = a; i < b; i++)
                rp_word(t, (p ? RP_P : RP_Q) + i);
            if (p && b == len)
                t->p1 = t->nw;
        }
    }
    rp_stop(t);
}

/* An expected recycled_passage finding: source turn, recycling turn,
 * words; `of` = the recycling turn's words (share = words / of). */
typedef struct rp_want {
    uint32_t first, last, words, of;
} rp_want;

/* Push the turns (roles[i], texts[i]) into a session of cfg and compare
 * its recycled_passage findings, in order, with want[0..nwant). */
static void rp_check(const lc_config *cfg, const lc_role *roles,
                     const rp_text *turns, size_t nturns,
                     const rp_want *want, size_t nwant, const char *label) {
    lc_session *s = NULL;
    size_t i, k = 0;
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < nturns; i++)
        assert_int_equal(lc_session_push(s, roles[i], NULL, 0,
                                         turns[i].b.data, turns[i].b.len),
                         LC_OK);
    assert_int_equal(lc_session_finish(s), LC_OK);
    for (i = 0; i < lc_session_finding_count(s); i++) {
        const lc_finding *f = lc_session_finding(s, i);
        if (f->kind != LC_KIND_RECYCLED_PASSAGE)
            continue;
        if (k >= nwant)
            fail_msg("%s: unexpected recycled_passage %u->%u, %u words\n"
                     "later turn: %s",
                     label, (unsigned)f->first_turn, (unsigned)f->last_turn,
                     (unsigned)f->words, turns[f->last_turn - 1].b.data);
        if (f->first_turn != want[k].first || f->last_turn != want[k].last ||
            f->words != want[k].words ||
            fabs(f->share - (double)want[k].words / want[k].of) > 1e-12)
            fail_msg("%s: recycled_passage %u->%u, %u words, share %g; "
                     "want %u->%u, %u words, share %g",
                     label, (unsigned)f->first_turn, (unsigned)f->last_turn,
                     (unsigned)f->words, f->share, (unsigned)want[k].first,
                     (unsigned)want[k].last, (unsigned)want[k].words,
                     (double)want[k].words / want[k].of);
        k++;
    }
    if (k != nwant)
        fail_msg("%s: %zu recycled_passage findings, want %zu (missing "
                 "%u->%u, %u words)\nsource: %s\nlater: %s",
                 label, k, nwant, (unsigned)want[k].first,
                 (unsigned)want[k].last, (unsigned)want[k].words,
                 turns[0].b.data, turns[nturns - 1].b.data);
    lc_session_free(s);
}

static void rp_free(rp_text *t, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        free(t[i].b.data);
}

/* Non-default passage_words N and winnow_window w (capped at N / 2):
 * the window-4 path (conditional moves, inline asm on x86-64) with other
 * N, the small-window mask path, w = 1, and the large-window path. */
static const struct {
    int64_t n, w;
} rp_cfgs[] = {{10, 4}, {9, 7}, {16, 4}, {8, 9}, {10, 3}, {13, 2},
               {16, 1}, {20, 10}, {30, 12}, {7, 5}, {14, 6}};

static lc_config *rp_config(int64_t n, int64_t w) {
    lc_config *cfg = NULL;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_PASSAGE_WORDS, n), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_WINNOW_WINDOW, w), LC_OK);
    return cfg;
}

/* The rules of detect_recycled.c's banner on passages of N - 1, N and 2N
 * (2N - 1) words at the start, in the middle and at the end of the later
 * turn, inside a sentence and across sentence ends: a passage counts iff
 * it has >= N words and holds a whole sentence of the later turn (from a
 * sentence start to the next one or to the end of the turn), or has >= 2N
 * words; one finding per (source, later) pair with the words of its
 * passages; the most recent source; the same speaker; never between
 * turns with the same words. */
static void t_recycled_rules(void **state) {
    /* later turn, passage words as a multiple of N plus d, words found */
    static const struct {
        const char *later;
        uint32_t mul;
        int d;
        uint32_t found; /* findings expected: 0 or 1 (of len words) */
    } cases[] = {
        {"P . f3", 1, 0, 1},        /* whole sentence: start of the turn */
        {"f3 . P . f2", 1, 0, 1},   /* middle */
        {"f4 . P", 1, 0, 1},        /* end */
        {"P", 1, 0, 1},             /* the whole later turn */
        {"P . f3", 1, -1, 0},       /* N - 1 words: never */
        {"f3 . P . f2", 1, -1, 0},
        {"f4 . P", 1, -1, 0},
        {"P", 1, -1, 0},
        {"f3 P f2", 1, 0, 0},       /* inside a longer sentence */
        {"f3 P f2", 1, 5, 0},
        {"f3 P f2", 2, -1, 0},
        {"f3 P f2", 2, 0, 1},       /* 2N words: counted anyway */
        {"f3 P f2", 3, 0, 1},
        {"P f2", 2, -1, 0},         /* sentence goes on after it */
        {"P f2", 2, 0, 1},
        {"f2 P", 2, -1, 0},         /* sentence began before it */
        {"f2 P", 2, 0, 1},
        {"f3 P< . P> f2", 1, 0, 0}, /* across a sentence end, no whole one */
        {"f3 P< . P> f2", 2, -1, 0},
        {"f3 P< . P> f2", 2, 0, 1},
        {"f3 P< . P>", 1, 0, 1},    /* ... the second part ends the turn */
        {"f3 P< . P>", 1, -1, 0},
        {"P< . P> f2", 1, 0, 1},    /* ... the first part starts it */
        {"P< . P> f2", 1, -1, 0},
        {"f1 . P< . P> . f1", 1, 0, 1},
    };
    static const char *const sources[] = {"f2 P f3", "P f4", "f4 P",
                                          "f3 . P< . P> . f1", "f1 P . f1"};
    static const lc_role roles[] = {LC_ROLE_ASSISTANT, LC_ROLE_USER,
                                    LC_ROLE_ASSISTANT, LC_ROLE_USER,
                                    LC_ROLE_ASSISTANT};
    size_t c, i, j;
    char label[160];
    (void)state;
    for (c = 0; c < sizeof rp_cfgs / sizeof *rp_cfgs; c++) {
        uint32_t n = (uint32_t)rp_cfgs[c].n, fill = RP_FILL;
        lc_config *cfg = rp_config(rp_cfgs[c].n, rp_cfgs[c].w);
        rp_text t[5];
        rp_want want[2];
        for (i = 0; i < sizeof cases / sizeof *cases; i++)
            for (j = 0; j < sizeof sources / sizeof *sources; j++) {
                uint32_t len = (uint32_t)((int)(cases[i].mul * n) +
                                          cases[i].d);
                rp_build(&t[0], sources[j], len, 0, &fill);
                rp_build(&t[1], "f4", 0, 0, &fill);
                rp_build(&t[2], cases[i].later, len, 0, &fill);
                want[0] = (rp_want){1, 3, len, t[2].nw};
                snprintf(label, sizeof label,
                         "N %u w %u: %u words, source \"%s\", later \"%s\"",
                         n, (unsigned)rp_cfgs[c].w, len, sources[j],
                         cases[i].later);
                rp_check(cfg, roles, t, 3, want, cases[i].found, label);
                rp_free(t, 3);
            }
        /* two passages from one source: one finding, their words summed */
        rp_build(&t[0], "f2 Q f1 . P f2", n, n + 2, &fill);
        rp_build(&t[1], "f4", 0, 0, &fill);
        rp_build(&t[2], "f1 . P . f2 . Q . f1", n, n + 2, &fill);
        want[0] = (rp_want){1, 3, 2 * n + 2, t[2].nw};
        rp_check(cfg, roles, t, 3, want, 1, "two passages, one source");
        rp_free(t, 3);
        /* the most recent source: 1 -> 3 and 3 -> 5, never 1 -> 5 */
        rp_build(&t[0], "f2 P f2", n, 0, &fill);
        rp_build(&t[1], "f3", 0, 0, &fill);
        rp_build(&t[2], "f1 . P . f1", n, 0, &fill);
        rp_build(&t[3], "f3", 0, 0, &fill);
        rp_build(&t[4], "P . f2", n, 0, &fill);
        want[0] = (rp_want){1, 3, n, t[2].nw};
        want[1] = (rp_want){3, 5, n, t[4].nw};
        rp_check(cfg, roles, t, 5, want, 2, "most recent source");
        rp_free(t, 5);
        /* two sources in one later turn: a finding each, by source */
        rp_build(&t[0], "f2 Q f2", n, n + 3, &fill);
        rp_build(&t[1], "f3", 0, 0, &fill);
        rp_build(&t[2], "f2 P f2", n, n + 3, &fill);
        rp_build(&t[3], "f3", 0, 0, &fill);
        rp_build(&t[4], "P . f1 . Q", n, n + 3, &fill);
        want[0] = (rp_want){1, 5, n + 3, t[4].nw};
        want[1] = (rp_want){3, 5, n, t[4].nw};
        rp_check(cfg, roles, t, 5, want, 2, "two sources");
        rp_free(t, 5);
        /* the same speaker only: the assistant's turn 2 does not recycle
         * the user's turn 1; the user's turn 3 does */
        {
            static const lc_role ua[] = {LC_ROLE_USER, LC_ROLE_ASSISTANT,
                                         LC_ROLE_USER};
            rp_build(&t[0], "f2 P f2", n, 0, &fill);
            rp_build(&t[1], "f1 . P . f1", n, 0, &fill);
            rp_build(&t[2], "f3 . P", n, 0, &fill);
            want[0] = (rp_want){1, 3, n, t[2].nw};
            rp_check(cfg, ua, t, 3, want, 1, "other speaker");
            rp_free(t, 3);
        }
        /* the same words with other punctuation: no pair */
        rp_build(&t[0], "P", 2 * n, 0, &fill);
        rp_build(&t[1], "f4", 0, 0, &fill);
        rp_build(&t[2], "P< . P>", 2 * n, 0, &fill);
        rp_check(cfg, roles, t, 3, want, 0, "same words");
        rp_free(t, 3);
        lc_config_free(cfg);
    }
}

/* Does the passage [p0, p1) of t hold a whole sentence of it? */
static bool rp_whole_sentence(const rp_text *t) {
    uint32_t s, e;
    for (s = t->p0; s < t->p1; s++) {
        if (!t->sent[s])
            continue;
        for (e = s + 1; e < t->nw && !t->sent[e]; e++)
            ;
        if (e <= t->p1)
            return true;
    }
    return false;
}

/* Filler words, P's words [a, b) and filler again, a sentence end after
 * a word with probability 1 / every (0: none). */
static void rp_random(rp_text *t, uint32_t pre, uint32_t a, uint32_t b,
                      uint32_t post, uint32_t every, uint32_t len,
                      uint32_t *fill, uint64_t *rs) {
    uint32_t i;
    memset(t, 0, sizeof *t);
    for (i = 0; i < pre + (b - a) + post; i++) {
        if (i == pre && a == 0)
            t->p0 = t->nw;
        rp_word(t, i < pre ? (*fill)++
                   : i < pre + (b - a) ? RP_P + a + (i - pre)
                                       : (*fill)++);
        if (i + 1 == pre + (b - a) && b == len)
            t->p1 = t->nw;
        if (every && rng_below(rs, every) == 0)
            rp_stop(t);
    }
    rp_stop(t);
}

/* Winnowing finds every passage of N words wherever it sits: passages of
 * N words as a sentence at every offset 0..2w+3 in both turns, and
 * random passages of N - 1 .. 3N words at random offsets with random
 * sentence ends, each checked against the rules (as t_recycled_rules). */
static void t_recycled_offsets(void **state) {
    static const lc_role roles[] = {LC_ROLE_ASSISTANT, LC_ROLE_USER,
                                    LC_ROLE_ASSISTANT};
    uint64_t rs = UINT64_C(0x5eedf1a9);
    size_t c;
    char label[160];
    (void)state;
    for (c = 0; c < sizeof rp_cfgs / sizeof *rp_cfgs; c++) {
        uint32_t n = (uint32_t)rp_cfgs[c].n, fill = RP_FILL;
        uint32_t w = (uint32_t)rp_cfgs[c].w, pre, spre, it;
        lc_config *cfg = rp_config(rp_cfgs[c].n, rp_cfgs[c].w);
        rp_text t[3];
        rp_want want;
        if (w > n / 2)
            w = n / 2;
        for (pre = 0; pre <= 2 * w + 3; pre++)
            for (spre = 0; spre <= 2 * w + 3; spre++) {
                uint32_t post = rng_below(&rs, 4), spost = rng_below(&rs, 4);
                rp_random(&t[0], spre, 0, n, spost, rng_below(&rs, 2) * 4, n,
                          &fill, &rs);
                rp_build(&t[1], "f4", 0, 0, &fill);
                /* P as a sentence of the later turn */
                memset(&t[2], 0, sizeof t[2]);
                rp_random(&t[2], pre, 0, 0, 0, 0, n, &fill, &rs);
                t[2].p0 = t[2].nw;
                {
                    uint32_t i;
                    for (i = 0; i < n; i++)
                        rp_word(&t[2], RP_P + i);
                }
                t[2].p1 = t[2].nw;
                rp_stop(&t[2]);
                {
                    uint32_t i;
                    for (i = 0; i < post; i++)
                        rp_word(&t[2], fill++);
                }
                rp_stop(&t[2]);
                want = (rp_want){1, 3, n, t[2].nw};
                snprintf(label, sizeof label,
                         "N %u w %u: sentence at %u, source offset %u", n,
                         (unsigned)rp_cfgs[c].w, pre, spre);
                rp_check(cfg, roles, t, 3, &want,
                         t[0].nw == n && t[2].nw == n ? 0 : 1, label);
                rp_free(t, 3);
            }
        for (it = 0; it < 400; it++) {
            static const int muls[][2] = {{1, -1}, {1, 0}, {1, 1}, {2, -1},
                                          {2, 0},  {2, 1}, {3, 0}};
            uint32_t m = rng_below(&rs, 7);
            uint32_t len = (uint32_t)((int)(muls[m][0] * n) + muls[m][1]);
            uint32_t span = 2 * w + 4;
            bool counts;
            rp_random(&t[0], rng_below(&rs, span), 0, len,
                      rng_below(&rs, span), rng_below(&rs, 3) * 3, len,
                      &fill, &rs);
            rp_build(&t[1], "f4", 0, 0, &fill);
            rp_random(&t[2], rng_below(&rs, span), 0, len,
                      rng_below(&rs, span), 2 + rng_below(&rs, 8), len,
                      &fill, &rs);
            counts = len >= n && (len >= 2 * n || rp_whole_sentence(&t[2])) &&
                     !(t[0].nw == len && t[2].nw == len);
            want = (rp_want){1, 3, len, t[2].nw};
            snprintf(label, sizeof label,
                     "N %u w %u: random case %u, %u words, whole sentence %d",
                     n, (unsigned)rp_cfgs[c].w, it, len,
                     (int)rp_whole_sentence(&t[2]));
            rp_check(cfg, roles, t, 3, &want, counts, label);
            rp_free(t, 3);
        }
        lc_config_free(cfg);
    }
}

/* lci_error_signature of a tool observation's text. */
static uint64_t errsig_of(const char *text) {
    lci_turn t;
    memset(&t, 0, sizeof t);
    t.pub.text = text;
    t.pub.text_len = strlen(text);
    return lci_error_signature(&t);
}

/* The agent rule's error lines (internal.h): every error word that
 * detect_util.c's header lists makes its line the signature, in any case
 * and anywhere in the line (this is what the per-letter-pair prefilter
 * must let through); the signature ignores case, digits and blank runs;
 * a strong word's line wins over an earlier "failed" line, which counts
 * only when no line has a strong word; words that share an error word's
 * first two letters are not errors; only the first 64 lines are read. */
static void t_error_signature(void **state) {
    static const char *const strong[] = {
        "error",  "exception", "traceback", "fatal",     "panic",
        "denied", "not found", "no such",   "timed out", "timeout",
        "errno",  "refused",   "invalid"};
    static const char *const near[] = {
        "erase",   "example", "fast",    "install", "nothing", "normal",
        "pancake", "return",  "tried",   "time",    "deep",    "faith",
        "panel",   "nothing found", "no-such"};
    char text[256], other[256], up[64];
    uint64_t sig;
    size_t i, k;
    tu_buf long_text = {NULL, 0, 0};
    (void)state;
    for (i = 0; i < sizeof strong / sizeof *strong; i++) {
        /* lower case, capitalized, all capitals */
        for (k = 0; k < 3; k++) {
            size_t j;
            snprintf(up, sizeof up, "%s", strong[i]);
            for (j = 0; up[j]; j++)
                if (k == 2 || (k == 1 && j == 0))
                    up[j] = (char)(up[j] >= 'a' && up[j] <= 'z'
                                       ? up[j] - 'a' + 'A'
                                       : up[j]);
            snprintf(text, sizeof text,
                     "running step 1\nall good\nx.py line 12: %s at 0x1f\n",
                     up);
            snprintf(other, sizeof other,
                     "x.py LINE 345:   %s at 0x7f\n", strong[i]);
            sig = errsig_of(text);
            if (sig == 0 || sig != errsig_of(other))
                fail_msg("error word \"%s\": signature %s", up,
                         sig ? "differs from the same line's" : "0");
        }
        /* the word at the very start and at the very end of the text */
        assert_int_not_equal(errsig_of(strong[i]), 0);
        snprintf(text, sizeof text, "ok\n%s", strong[i]);
        assert_int_not_equal(errsig_of(text), 0);
    }
    for (i = 0; i < sizeof near / sizeof *near; i++) {
        snprintf(text, sizeof text, "step 1: %s\nstep 2: %s done\n",
                 near[i], near[i]);
        if (errsig_of(text) != 0)
            fail_msg("\"%s\" taken for an error word", near[i]);
    }
    /* different error lines, different signatures */
    assert_int_not_equal(errsig_of("KeyError: 'a'"),
                         errsig_of("KeyError: 'b'"));
    /* strong beats an earlier weak line; weak alone counts */
    assert_int_equal(errsig_of("57 passed, 3 failed\nTypeError: x is None\n"),
                     errsig_of("TypeError: x is None"));
    assert_int_equal(errsig_of("== 57 passed, 3 failed ==\nbye\n"),
                     errsig_of("== 1 passed, 9 failed =="));
    assert_int_not_equal(errsig_of("57 passed, 3 failed"), 0);
    assert_int_equal(errsig_of("all 57 passed\n"), 0);
    assert_int_equal(errsig_of(""), 0);
    /* line 64 is read, line 65 is not */
    for (i = 0; i < 63; i++)
        tu_buf_printf(&long_text, "line %zu ok\n", i);
    tu_buf_printf(&long_text, "fatal: bad object\n");
    assert_int_not_equal(errsig_of(long_text.data), 0);
    long_text.len = 0;
    for (i = 0; i < 64; i++)
        tu_buf_printf(&long_text, "line %zu ok\n", i);
    tu_buf_printf(&long_text, "fatal: bad object\n");
    assert_int_equal(errsig_of(long_text.data), 0);
    free(long_text.data);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_seed),
        cmocka_unit_test(t_seed_live_timing),
        cmocka_unit_test(t_seed_options),
        cmocka_unit_test(t_exact_monologue),
        cmocka_unit_test(t_exact_agent),
        cmocka_unit_test(t_exact_periods),
        cmocka_unit_test(t_agent_stuck_error),
        cmocka_unit_test(t_error_signature),
        cmocka_unit_test(t_recurring_bot),
        cmocka_unit_test(t_recurring_long_timing),
        cmocka_unit_test(t_recurring_short_not_deferred),
        cmocka_unit_test(t_recurring_long_short_cycle),
        cmocka_unit_test(t_recycled),
        cmocka_unit_test(t_neardup_bot),
        cmocka_unit_test(t_degenerate_jobs),
        cmocka_unit_test(t_degenerate_long),
        cmocka_unit_test(t_stalled),
        cmocka_unit_test(t_agent_polling),
        cmocka_unit_test(t_agent_reread),
        cmocka_unit_test(t_agent_edit_rerun),
        cmocka_unit_test(t_neardup_quiet),
        cmocka_unit_test(t_recurring_quiet),
        cmocka_unit_test(t_recycled_quiet),
        cmocka_unit_test(t_markdown),
        cmocka_unit_test(t_long_loop),
        cmocka_unit_test(t_long_refusal_loop),
        cmocka_unit_test(t_history_window),
        cmocka_unit_test(t_sketch_nonempty),
        cmocka_unit_test(t_similarity_masks),
        cmocka_unit_test(t_words_key),
        cmocka_unit_test(t_recycled_rules),
        cmocka_unit_test(t_recycled_offsets),
    };
    return cmocka_run_group_tests_name("loops", tests, NULL, NULL);
}
