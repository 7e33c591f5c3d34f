/*
 * fuzz_session.c - the live session and the detectors on arbitrary turn
 * sequences.
 *
 * Input layout: byte 0 picks the config (bit 0: history window 16 instead
 * of 512; bit 1: max_turns 24; bit 2: min_repeats 2; bit 3: fast
 * normalization off; bit 4: every detector threshold at its most
 * sensitive bound). Then records: a header byte h (role = (h & 7) % 5,
 * h & 0x80 = word mode) and a length byte L; in word mode the next
 * L & 63 bytes each pick a word from a small dictionary (so loops,
 * recurring turns and refusals actually happen), otherwise the next L raw
 * bytes are the text.
 *
 * Oracles: findings are well-formed (kind names, 1-based turn ranges
 * inside the conversation, ascending turn lists, scores in [0,1]); every
 * EXTENDED event follows a NEW event of the same id; the number of NEW
 * events (live) equals the final finding count; batch analysis of the
 * same turns (lc_conversation_add + lc_conversation_check) gives the same
 * findings in the same order.
 */
#include <string.h>

#include "fuzz.h"
#include "loopcheck.h"

static const char *const words[] = {
    "I'm", "sorry", "but", "I", "can't", "help", "with", "that",
    "as", "an", "AI", "language", "model", "cannot", "assist", "please",
    "here", "is", "the", "answer", "you", "asked", "not", "what",
    "again", "crisis", "hotline", "988", "sure", "step", "1.", "\xe2\x80\x99",
    "\xc3\xa9t\xc3\xa9", "\xe6\x97\xa5\xe6\x9c\xac", "\n\n", "\"quoted\"", "ok", "thanks", "?", ".",
};
#define NWORDS (sizeof words / sizeof words[0])

#define MAX_TURNS_FUZZ 4096
#define MAX_IDS 65536

typedef struct turn_rec {
    lc_role role;
    size_t off, len; /* into text arena */
} turn_rec;

static void check_finding(const lc_finding *f, uint32_t nturns) {
    size_t i;
    FUZZ_CHECK(f != NULL);
    FUZZ_CHECK(f->id >= 1);
    FUZZ_CHECK(f->kind_name != NULL);
    FUZZ_CHECK(lc_kind_name(f->kind) != NULL);
    FUZZ_CHECK(strcmp(f->kind_name, lc_kind_name(f->kind)) == 0);
    FUZZ_CHECK(f->first_turn >= 1);
    FUZZ_CHECK(f->first_turn <= f->last_turn);
    FUZZ_CHECK(f->last_turn <= nturns);
    FUZZ_CHECK(f->score >= 0.0 && f->score <= 1.0);
    FUZZ_CHECK(f->excerpt != NULL);
    FUZZ_CHECK(f->speaker != NULL);
    for (i = 0; i < f->turn_count; i++) {
        FUZZ_CHECK(f->turns[i] >= 1 && f->turns[i] <= nturns);
        FUZZ_CHECK(i == 0 || f->turns[i] > f->turns[i - 1]);
    }
}

static uint8_t seen_new[MAX_IDS + 1];

static void drain(lc_session *s, uint32_t nturns, size_t *news) {
    const lc_finding *f;
    while (lc_session_next_finding(s, &f) == LC_OK) {
        check_finding(f, nturns);
        FUZZ_CHECK(f->id <= MAX_IDS);
        if (f->event == LC_EVENT_NEW) {
            FUZZ_CHECK(!seen_new[f->id]);
            seen_new[f->id] = 1;
            (*news)++;
        } else {
            FUZZ_CHECK(f->event == LC_EVENT_EXTENDED);
            FUZZ_CHECK(seen_new[f->id]);
        }
    }
}

/* One shared config per setting of byte 0's low bits: configs are
 * immutable once used, and creating one compiles the built-in patterns
 * (milliseconds), which would dominate every execution. */
static const lc_config *config_for(uint8_t b) {
    static lc_config *cache[32];
    lc_config *cfg = cache[b & 31];
    if (cfg)
        return cfg;
    FUZZ_CHECK(lc_config_new(NULL, &cfg) == LC_OK);
    if (b & 1)
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_HISTORY_TURNS, 16) == LC_OK);
    if (b & 2)
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MAX_TURNS, 24) == LC_OK);
    if (b & 4)
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_MIN_REPEATS, 2) == LC_OK);
    if (b & 8)
        FUZZ_CHECK(lc_config_set(cfg, LC_OPT_NORMALIZE_FAST, 2) == LC_OK);
    if (b & 16) {
        /* every detector at its most sensitive bound */
        static const struct {
            lc_opt key;
            int64_t v;
        } lo[] = {
            {LC_OPT_MIN_REPEATS, 2},         {LC_OPT_MAX_PERIOD, 32},
            {LC_OPT_RECUR_MIN, 2},           {LC_OPT_RECUR_SHORT_WORDS, 1},
            {LC_OPT_RECUR_SHORT_MIN, 2},     {LC_OPT_PASSAGE_WORDS, 4},
            {LC_OPT_RECUR_LONG_MIN, 2},
            {LC_OPT_WINNOW_WINDOW, 1},       {LC_OPT_NEAR_DUP_PERCENT, 10},
            {LC_OPT_DEGENERATE_PERCENT, 10}, {LC_OPT_DEGENERATE_MIN_WORDS, 4},
            {LC_OPT_STALL_WINDOW, 2},        {LC_OPT_STALL_PERCENT, 10},
            {LC_OPT_REFUSAL_LOOP_MIN, 2},    {LC_OPT_ONSET_MIN_HELPFUL, 1},
            {LC_OPT_PARTIAL_MIN_WORDS, 1},
        };
        size_t i;
        for (i = 0; i < sizeof lo / sizeof lo[0]; i++)
            FUZZ_CHECK(lc_config_set(cfg, lo[i].key, lo[i].v) == LC_OK);
    }
    cache[b & 31] = cfg;
    return cfg;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static turn_rec turns[MAX_TURNS_FUZZ];
    char *arena;
    size_t alen = 0, nt = 0, i = 1, news = 0, nfind, k;
    const lc_config *cfg;
    lc_session *s = NULL;
    lc_conversation *conv = NULL;
    lc_report *rep = NULL;
    lc_status st;
    int limited = 0;
    uint32_t pushed = 0;
    size_t sink = 0;

    if (size < 1)
        return 0;
    /* worst case: every byte a word of up to 8 bytes plus a space */
    arena = malloc(size * 10 + 1);
    FUZZ_CHECK(arena != NULL);
    while (i < size && nt < MAX_TURNS_FUZZ) {
        uint8_t h = data[i++], L;
        turn_rec *t = &turns[nt++];
        t->role = (lc_role)((h & 7) % 5);
        t->off = alen;
        L = i < size ? data[i++] : 0;
        if (h & 0x80) {
            for (k = 0; k < (size_t)(L & 63) && i < size; k++, i++) {
                const char *w = words[data[i] % NWORDS];
                size_t wl = strlen(w);
                if (k)
                    arena[alen++] = ' ';
                memcpy(arena + alen, w, wl);
                alen += wl;
            }
        } else {
            for (k = 0; k < L && i < size; k++, i++)
                arena[alen++] = (char)data[i];
        }
        t->len = alen - t->off;
    }

    cfg = config_for(data[0]);

    /* live */
    memset(seen_new, 0, sizeof seen_new);
    FUZZ_CHECK(lc_session_new(cfg, &s) == LC_OK);
    for (k = 0; k < nt; k++) {
        const char *speaker = lc_role_name(turns[k].role);
        st = lc_session_push(s, turns[k].role, speaker, strlen(speaker),
                             arena + turns[k].off, turns[k].len);
        if (st == LC_ERR_LIMIT) {
            FUZZ_CHECK(data[0] & 2);
            FUZZ_CHECK(lc_session_error(s) != NULL);
            limited = 1;
            break;
        }
        FUZZ_CHECK(st == LC_OK);
        pushed++;
        drain(s, pushed, &news);
    }
    FUZZ_CHECK(lc_session_finish(s) == LC_OK);
    drain(s, pushed, &news);
    FUZZ_CHECK(lc_session_push(s, LC_ROLE_USER, NULL, 0, "x", 1) ==
               LC_ERR_STATE);
    FUZZ_CHECK(lc_session_finish(s) == LC_ERR_STATE);
    nfind = lc_session_finding_count(s);
    if (news != nfind) {
        fprintf(stderr, "live NEW events %zu != findings %zu\n", news, nfind);
        abort();
    }
    for (k = 0; k < nfind; k++)
        check_finding(lc_session_finding(s, k), pushed);

    /* batch over the same turns */
    if (!limited) {
        FUZZ_CHECK(lc_conversation_new(cfg, &conv) == LC_OK);
        for (k = 0; k < nt; k++) {
            const char *speaker = lc_role_name(turns[k].role);
            FUZZ_CHECK(lc_conversation_add(conv, turns[k].role, speaker,
                                           strlen(speaker),
                                           arena + turns[k].off,
                                           turns[k].len) == LC_OK);
        }
        FUZZ_CHECK(lc_conversation_turn_count(conv) == nt);
        FUZZ_CHECK(lc_conversation_check(cfg, conv, &rep) == LC_OK);
        if (nt > 0) {
            FUZZ_CHECK(lc_report_status(rep) == LC_OK);
            if (lc_report_finding_count(rep) != nfind) {
                fprintf(stderr, "batch findings %zu != live %zu\n",
                        lc_report_finding_count(rep), nfind);
                abort();
            }
            for (k = 0; k < nfind; k++) {
                const lc_finding *a = lc_session_finding(s, k);
                const lc_finding *b = lc_report_finding(rep, k);
                FUZZ_CHECK(a->kind == b->kind);
                FUZZ_CHECK(a->first_turn == b->first_turn);
                FUZZ_CHECK(a->last_turn == b->last_turn);
                FUZZ_CHECK(a->turn_count == b->turn_count);
            }
        }
        FUZZ_CHECK(lc_report_write(rep, LC_OUTPUT_JSON, 0, fuzz_sink,
                                   &sink) == LC_OK);
        FUZZ_CHECK(lc_report_write(rep, LC_OUTPUT_TEXT, 0, fuzz_sink,
                                   &sink) == LC_OK);
        lc_report_free(rep);
        lc_conversation_free(conv);
    }
    lc_session_free(s);
    free(arena);
    return 0;
}
