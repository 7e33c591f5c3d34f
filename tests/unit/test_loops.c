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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_seed),
        cmocka_unit_test(t_seed_live_timing),
        cmocka_unit_test(t_seed_options),
        cmocka_unit_test(t_exact_monologue),
        cmocka_unit_test(t_exact_agent),
        cmocka_unit_test(t_exact_periods),
        cmocka_unit_test(t_agent_stuck_error),
        cmocka_unit_test(t_recurring_bot),
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
    };
    return cmocka_run_group_tests_name("loops", tests, NULL, NULL);
}
