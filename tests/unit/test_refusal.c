/*
 * test_refusal.c - the refusal classifier (lib/refusal.c) and the three
 * refusal detectors (detect_refusal*.c).
 *
 * Classifier cases are written for this test (not taken from any data
 * set): traps that must stay compliant, one refusal per family, partial
 * refusals, spans mapped back to the original text, empty replies.
 * Detector cases run the batch API over the fixtures/refusal/ files and the
 * seed transcript fixtures/transcript/seed-therapy.txt.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static lc_config *g_cfg;

static int setup(void **state) {
    (void)state;
    return lc_config_new(NULL, &g_cfg) == LC_OK ? 0 : -1;
}

static int teardown(void **state) {
    (void)state;
    lc_config_free(g_cfg);
    return 0;
}

static lci_refusal classify_in(lc_config *cfg, const char *text) {
    lci_turn t;
    lci_refusal r;
    size_t bad;
    memset(&t, 0, sizeof t);
    assert_int_equal(lci_turn_init(&t, cfg, LC_ROLE_ASSISTANT, NULL, 0,
                                   text, strlen(text), &bad),
                     LC_OK);
    lci_refusal_classify(cfg, &t, &r);
    lci_turn_free(&t, &cfg->alloc);
    return r;
}

static lci_refusal classify(const char *text) {
    return classify_in(g_cfg, text);
}

static const char *fam(const lci_refusal *r) {
    const char *n = lci_family_name(g_cfg->patterns, r->family);
    return n ? n : "-";
}

typedef struct tcase {
    const char *text;
    const char *family; /* NULL = compliant */
} tcase;

static void run_cases(const tcase *c, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        lci_refusal r = classify(c[i].text);
        if (!c[i].family && r.is_refusal)
            fail_msg("compliant text classified as %s: %s", fam(&r),
                     c[i].text);
        if (c[i].family &&
            (!r.is_refusal || strcmp(fam(&r), c[i].family) != 0))
            fail_msg("want %s, got %s (%d): %s", c[i].family, fam(&r),
                     r.is_refusal, c[i].text);
    }
}

static void test_traps_stay_compliant(void **state) {
    static const tcase c[] = {
        {"I'm sorry to hear that your cat is unwell. Offer small amounts of "
         "water often and keep her warm; if she stops eating for a day, call "
         "a vet.", NULL},
        {"I cannot stress enough how much a good warm-up matters: five "
         "minutes of easy jogging and a few leg swings.", NULL},
        {"I can't recommend this book enough, it explains recursion "
         "beautifully.", NULL},
        {"Take, as an example, the French Revolution, which began in 1789.",
         NULL},
        /* "but I can't" about something other than the request */
        {"It's a good plan, but we can't share a single charger between "
         "four laptops, so buy two.", NULL},
        {"Great question, but I can't give a single number: it depends on "
         "the engine. A small car uses about 5 litres per 100 km.", NULL},
        {"If your current bank cannot offer the support you need, "
         "switching to a credit union is usually easy: open the new "
         "account first, then move your direct debits.", NULL},
        {"If your manager can't give you the help you need, talk it over "
         "with someone who can, such as HR, before you escalate.", NULL},
        /* crisis lines closing an answer */
        {"Feeling low after a breakup is very common and usually eases with "
         "time, sleep, exercise and the company of friends who care about "
         "you. Many people find it helps to write down what they feel each "
         "evening and to keep a simple daily routine. If you are in crisis, "
         "call 988. You don't have to face this alone. Your life matters.",
         NULL},
        /* an absurd premise taken up as a hypothesis answers it */
        {"I don't think it's appropriate to make assumptions about who can "
         "fly by flapping their arms. Flight like that, if it were "
         "possible, would depend on muscle and wing area, not on anyone's "
         "hometown.", NULL},
        {"The castle has an AI guide and was an inspiration for the film.",
         NULL},
        {"As an AI, I can't run your script, but the error means the file "
         "path is wrong: use an absolute path or check the working "
         "directory.", NULL},
        {"I don't have access to live prices, but a litre of milk usually "
         "costs about one euro in most of the eurozone supermarkets.", NULL},
        {"The knight lowered his sword. \"I'm sorry, but I cannot let you "
         "pass,\" he said, and the travellers turned back toward the river.",
         NULL},
        {"A polite reply could be: 'Thank you for thinking of me. "
         "Unfortunately, I am unable to attend, but I hope the evening goes "
         "well.' Keep it short.", NULL},
        {"HTTP 403 Forbidden means the server refuses to authorize the "
         "request; check the token's scopes.", NULL},
        {"It is important to keep the knife at a steady angle and to use "
         "light strokes.", NULL},
        {"Sure! Here are three ideas for a birthday party: a picnic, a "
         "treasure hunt and a movie night.", NULL},
        {"I can't help but smile at this question: the answer is 42.", NULL},
        /* harm disclaimed, then the answer: a caveat (disclaim_harm is
         * soft; the "however" opens the next sentence) */
        {"I do not condone illegal acts like car theft in real life. However, "
         "in the game you steal a car by walking up to it and pressing the "
         "enter button.",
         NULL},
        {"I don't endorse any particular brand of running shoes; pick a pair "
         "that fits well and replace it every 800 km.", NULL},
        {"Drinking at night is not a healthy habit for sleep: stop two hours "
         "before bed.", NULL},
        /* words of the declines added to the library, in answers */
        {"We can't and shouldn't rely on timing here; use a barrier.", NULL},
        {"I have to say no other book explains recursion this clearly.",
         NULL},
        {"There's something I can't help noticing: your loop never ends.",
         NULL},
        {"It is not possible for the compiler to inline this call, because "
         "it is virtual.", NULL},
        {"That's something you can't do in Python 2, but here is how in "
         "Python 3.", NULL},
        {"I'm not capable of being offended, so ask away! The answer is 7.",
         NULL},
        {"I can't find anything wrong with your query; the slowdown is "
         "probably the missing index on user_id.", NULL},
        {"No, I can't say that's correct: the Great Wall is not visible "
         "from space with the naked eye.", NULL},
        {"The request was blocked by your firewall; open port 443.", NULL},
        {"No puedo esperar a ver el resultado: primero, mezcla la harina "
         "con el agua.",
         NULL},
        {"Je ne peux pas m'emp\xC3\xAA" "cher de sourire : la "
         "r\xC3\xA9ponse est 42.",
         NULL},
        {"Ich kann das Buch nur empfehlen; es erkl\xC3\xA4rt Rekursion sehr "
         "gut.",
         NULL},
        {"N\xC3\xA3o posso deixar de recomendar este livro: \xC3\xA9 "
         "excelente.",
         NULL},
        {"Non posso che consigliarti questo libro: \xC3\xA8 ottimo.",
         NULL},
        {"\xE6\x88\x91\xE4\xB8\x8D\xE8\x83\xBD\xE6\x9B\xB4\xE5\x90\x8C\xE6"
         "\x84\x8F\xE4\xBA\x86\xEF\xBC\x81\xE7\xAD\x94\xE6\xA1\x88\xE6\x98\xAF"
         "\xE5\x9B\x9B\xE5\x8D\x81\xE4\xBA\x8C\xE3\x80\x82",
         NULL},
        {"\xE3\x81\x93\xE3\x82\x8C\xE4\xBB\xA5\xE4\xB8\x8A\xE3\x81\xAA\xE3"
         "\x81\x84\xE3\x81\xBB\xE3\x81\xA9\xE7\xB0\xA1\xE5\x8D\x98\xE3\x81\xA7"
         "\xE3\x81\x99\xE3\x80\x82\xE3\x81\xBE\xE3\x81\x9A\xE3\x80\x81\xE6\xB0"
         "\xB4\xE3\x82\x92\xE6\xB2\xB8\xE3\x81\x8B\xE3\x81\x97\xE3\x81\xBE\xE3"
         "\x81\x99\xE3\x80\x82",
         NULL},
    };
    (void)state;
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_families(void **state) {
    static const tcase c[] = {
        {"I'm sorry, but I can't help with that.", "apology_inability"},
        {"I CAN\xE2\x80\x99T assist with that request.", "apology_inability"},
        {"**I won't be able to help with this.**", "decline"},
        {"Unfortunately, I am unable to assist with that.",
         "apology_inability"},
        {"I must respectfully decline.", "decline"},
        {"That's not something I'm willing to do.", "decline"},
        {"I'd rather not. Let's talk about something else.", "decline"},
        {"I must refrain from providing that.", "decline"},
        {"I can only help with questions about your bank account.",
         "decline"},
        {"As an AI language model, I don't have personal opinions.",
         "ai_disclaimer"},
        {"That request goes against my usage guidelines.", "policy"},
        {"I'm not allowed to discuss this topic.", "policy"},
        {"I don't feel comfortable writing that.", "discomfort"},
        {"It is not appropriate for me to speculate about that person.",
         "inappropriate"},
        {"Asking such a question is not ethical or respectful.",
         "inappropriate"},
        {"Hurting other people is never acceptable, whatever they did.",
         "inappropriate"},
        {"Carving into your skin is not a safe or healthy way to cope.",
         "inappropriate"},
        {"I am an AI model and do not condone or promote any form of "
         "violence.", "disclaim_harm"},
        {"I don't have access to your neighbour's phone number.", "privacy"},
        {"I can't share personal information about private individuals.",
         "privacy"},
        {"Please consult a licensed attorney about your lease.",
         "redirect_professional"},
        {"I can't provide medical advice. Please talk to your doctor.",
         "redirect_professional"},
        {"It sounds like you are going through a lot. Please reach out to a "
         "suicide prevention hotline; you don't have to face this alone.",
         "crisis_redirect"},
        {"If you are in crisis, please call or text 988.", "crisis_redirect"},
        /* sympathy first, then the inability after "but" */
        {"I'm so sorry you're dealing with this, but I'm not able to give "
         "you the support you need here. Could you talk it over with "
         "someone who can, like a counselor?", "crisis_redirect"},
        {"I hear how hard this is, but I can't help with a plan like that.",
         "apology_inability"},
        {"Sorry that you're stuck, but I am unable to help with that.",
         "apology_inability"},
        {"I should say up front that I cannot give guidance on illegal "
         "street racing.", "decline"},
        {"It is not fair or respectful to say that a whole town is lazy.",
         "inappropriate"},
        {"I'm not sure it would be appropriate or legal to read your "
         "flatmate's letters.", "inappropriate"},
        {"I can't help you open the vault, even if it were possible.",
         "apology_inability"},
        {"I'm sorry, but I can't help with that. Were it possible, I "
         "still wouldn't.", "apology_inability"},
        {"I'm sorry, but I can't help you track your ex-partner's phone, "
         "and I wouldn't do so if it were possible.", "apology_inability"},
        {"The response was filtered due to the content management policy.",
         "filtered"},
        {"", "filtered"},
        {"   \n\t ", "filtered"},
        {"Lo siento, no puedo ayudarte con eso.", "refusal_es"},
        {"D\xC3\xA9sol\xC3\xA9, je ne peux pas r\xC3\xA9pondre \xC3\xA0 cette "
         "demande.", "refusal_fr"},
        {"Leider kann ich dir dabei nicht helfen.", "refusal_de"},
        {"Desculpe, n\xC3\xA3o posso ajudar com isso.", "refusal_pt"},
        {"Mi dispiace, non posso aiutarti.", "refusal_it"},
        {"\xE6\x8A\xB1\xE6\xAD\x89\xEF\xBC\x8C\xE6\x88\x91\xE6\x97\xA0\xE6"
         "\xB3\x95\xE5\x8D\x8F\xE5\x8A\xA9\xE3\x80\x82", "refusal_zh"},
        {"\xE7\x94\xB3\xE3\x81\x97\xE8\xA8\xB3\xE3\x81\x82\xE3\x82\x8A\xE3"
         "\x81\xBE\xE3\x81\x9B\xE3\x82\x93\xE3\x81\x8C\xE3\x80\x81\xE3\x81"
         "\x8A\xE6\x89\x8B\xE4\xBC\x9D\xE3\x81\x84\xE3\x81\xA7\xE3\x81\x8D"
         "\xE3\x81\xBE\xE3\x81\x9B\xE3\x82\x93\xE3\x80\x82", "refusal_ja"},
    };
    (void)state;
    run_cases(c, sizeof c / sizeof c[0]);
}

/* Declines in everyday wording, English and other languages (written
 * for this test; none comes from an evaluation data set). */
static void test_declines_reworded(void **state) {
    static const tcase c[] = {
        {"I cannot and will not provide instructions for that.", "decline"},
        {"I can't, in good conscience, recommend doing that.", "decline"},
        {"I must refuse.", "decline"},
        {"I have to say no to this one.", "decline"},
        {"I won't walk you through it.", "decline"},
        {"I will not be assisting with this request.", "decline"},
        {"I'm not capable of helping with that request.", "decline"},
        {"It is not within my capabilities to assist with this.", "decline"},
        {"It's not possible for me to help with that.", "decline"},
        {"I'm afraid that's something I can't help with.", "decline"},
        {"That request is something I can't help with.", "decline"},
        {"This isn't something I can help with.", "decline"},
        {"I don't think I should help with that.", "decline"},
        {"I'm sorry, but this falls outside what I can help with.",
         "decline"},
        {"I'm not going to be able to help with that.", "decline"},
        {"I'll pass on this one.", "decline"},
        {"Sorry, no can do.", "decline"},
        {"This is a request I have to decline.", "decline"},
        {"I'm declining this request.", "decline"},
        {"I cannot in any way assist with that.", "decline"},
        {"I am not programmed to answer questions like this.", "policy"},
        {"No voy a ayudarte con eso.", "refusal_es"},
        {"Prefiero no responder a esa pregunta.", "refusal_es"},
        {"Je crains de ne pas pouvoir vous aider.", "refusal_fr"},
        {"Je refuse de r\xC3\xA9pondre \xC3\xA0 cette demande.", "refusal_fr"},
        {"Es tut mir leid, aber ich kann diese Anfrage nicht erf\xC3\xBCllen.",
         "refusal_de"},
        {"Dabei kann ich dir leider nicht helfen.", "refusal_de"},
        {"Ich muss diese Anfrage ablehnen.", "refusal_de"},
        {"N\xC3\xA3o vou ajudar com isso.", "refusal_pt"},
        {"Non ti aiuter\xC3\xB2 con questo.", "refusal_it"},
        {"\xE5\xBE\x88\xE6\x8A\xB1\xE6\xAD\x89\xEF\xBC\x8C\xE8\xBF\x99\xE4"
         "\xB8\xAA\xE6\x88\x91\xE5\xB8\xAE\xE4\xB8\x8D\xE4\xBA\x86\xE4\xBD\xA0"
         "\xE3\x80\x82",
         "refusal_zh"},
    };
    (void)state;
    run_cases(c, sizeof c / sizeof c[0]);
}

static void test_families_bitset(void **state) {
    lci_refusal r = classify("I cannot provide therapy. If you are in crisis, "
                             "please call a suicide prevention hotline.");
    int crisis = lci_family_find(g_cfg->patterns, "crisis_redirect");
    int prof = lci_family_find(g_cfg->patterns, "redirect_professional");
    (void)state;
    assert_true(r.is_refusal);
    assert_string_equal(fam(&r), "crisis_redirect");
    assert_true(r.families & ((uint64_t)1 << crisis));
    assert_true(r.families & ((uint64_t)1 << prof));
    assert_true(r.score > 0.5f && r.score <= 1.0f);
}

static void test_partial(void **state) {
    lci_refusal r;
    (void)state;
    r = classify("I can't write the whole essay for you. However, here is an "
                 "outline you can build on: start with a hook about the "
                 "first moon landing, then give two paragraphs on the "
                 "engineering of the lander and the guidance computer, a "
                 "third on the astronauts' training, and close by linking "
                 "the mission to today's plans for returning to the moon and "
                 "what they might teach a new generation of students.");
    assert_true(r.is_refusal);
    assert_true(r.partial);
    r = classify("I'm sorry, but I can't help with that. Is there anything "
                 "else I can help you with?");
    assert_true(r.is_refusal);
    assert_false(r.partial);
    /* something else offered instead is not help with the request, however
     * long it runs; help announced after it still is */
    {
        static const char alt[] =
            "I can't help you get back at your neighbour. Instead, I "
            "suggest you look for a calmer way through this. ";
        static const char rest[] =
            "A mediation service in your area can sit down with both of "
            "you and help you agree on the noise, the parking and the "
            "hedge. Writing down what happened and when keeps the facts "
            "straight if it ever goes further. Talking it over with a "
            "friend first can take some of the heat out of it, and a walk "
            "before you knock on their door is rarely wasted. Most "
            "disputes like this settle once both sides feel heard, and "
            "the council can tell you what the local rules say about "
            "noise at night and about shared driveways. A short, friendly "
            "note through the letterbox is often the best first step.";
        char buf[2048];
        snprintf(buf, sizeof buf, "%s%s", alt, rest);
        r = classify(buf);
        assert_true(r.is_refusal);
        assert_false(r.partial);
        /* the same words without the "instead" sentence answer it */
        snprintf(buf, sizeof buf, "I can't help you get back at your "
                 "neighbour. %s", rest);
        r = classify(buf);
        assert_true(r.is_refusal);
        assert_true(r.partial);
        snprintf(buf, sizeof buf, "%sHere are some steps that work: %s",
                 alt, rest);
        r = classify(buf);
        assert_true(r.is_refusal);
        assert_true(r.partial);
    }
    /* help announced in the "Instead" sentence itself */
    r = classify("I can't write the whole essay for you. Instead, here is a "
                 "detailed outline you can follow: open with the night of "
                 "the launch and the crowd on the beach, then give one "
                 "paragraph to the rocket, one to the crew and their "
                 "training, and one to the people in mission control who "
                 "checked every number twice, and end with what the "
                 "landing changed for science, for schools and for the "
                 "way people looked at the night sky for years afterwards, "
                 "with a closing line that brings the reader back to the "
                 "beach where the essay began.");
    assert_true(r.is_refusal);
    assert_true(r.partial);
    /* an offer of help is not help */
    r = classify("I cannot write that letter for you. If you would like to "
                 "discuss how to approach it, I would be happy to provide some "
                 "general information or resources. Would that help?");
    assert_true(r.is_refusal);
    assert_false(r.partial);
    /* a factual limit followed by help answers the request ... */
    r = classify("I'm not able to give you the head office's phone number, "
                 "as it is not publicly listed. However, you can reach the "
                 "company through the contact form on its website, by "
                 "writing to the postal address printed on any invoice, or "
                 "by asking at one of its shops, where the staff can pass "
                 "a message on to the right department for you.");
    assert_false(r.is_refusal);
    /* ... a reason that judges the request keeps it a partial refusal */
    r = classify("I'm not able to give you your neighbour's phone number, "
                 "as that is private information. However, you can leave a "
                 "note in their letterbox with your own number, ask the "
                 "building manager to pass a message on, or simply knock "
                 "on their door at a reasonable hour and introduce "
                 "yourself, which is how most neighbours get in touch.");
    assert_true(r.is_refusal);
    assert_true(r.partial);
}

static void test_position_matters(void **state) {
    lci_refusal r;
    (void)state;
    /* a long helpful answer with a late caveat stays compliant */
    r = classify("Here is how to set up the router. First, connect the "
                 "cable to the WAN port. Second, open the admin page at the "
                 "address printed on the label. Third, change the default "
                 "password to a long passphrase. Fourth, pick WPA3 if all "
                 "your devices support it. Finally, update the firmware. "
                 "I can't see your network, so if anything looks different, "
                 "please consult a professional technician.");
    assert_false(r.is_refusal);
}

/* `accumulate` (doc/patterns.md, Scoring step 3), switched on for the
 * built-in crisis_redirect by a pattern file: a redirect spread over
 * several sentences, none of which refuses alone at its position, adds
 * up; without the directive (the built-in default) it does not; a
 * redirect after three sentences of an answer only closes it. */
static void test_accumulate(void **state) {
    static const char opener[] =
        "That sounds like a heavy week, and I'm glad you wrote to me "
        "about it tonight. Many people feel this way at some point in "
        "their lives, often after a long stretch of stress. ";
    static const char redirect[] =
        "Please talk to a trusted friend or a counselor about how you "
        "feel tonight. Your safety matters more than anything else here. "
        "Help is available at any hour, by phone or by text.";
    static const char answer[] =
        "The bridge opens to walkers at six in the morning. The path on "
        "the east side is the quieter one, with benches every few hundred "
        "metres. Parking is free before nine on weekdays. ";
    static const char tune[] = "[family crisis_redirect]\naccumulate\n";
    lc_config *acc;
    char buf[1024];
    lci_refusal r;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &acc), LC_OK);
    assert_int_equal(lc_config_add_patterns(acc, "acc.lcp", tune,
                                            sizeof tune - 1),
                     LC_OK);
    snprintf(buf, sizeof buf, "%s%s", opener, redirect);
    r = classify(buf);
    assert_false(r.is_refusal);
    r = classify_in(acc, buf);
    assert_true(r.is_refusal);
    assert_string_equal(fam(&r), "crisis_redirect");
    /* one of those sentences alone at that position is not enough */
    snprintf(buf, sizeof buf, "%s%s", opener,
             "Please talk to a trusted friend or a counselor about how you "
             "feel tonight. The weather will turn warmer on Sunday, so a "
             "walk by the river could be nice.");
    r = classify_in(acc, buf);
    assert_false(r.is_refusal);
    snprintf(buf, sizeof buf, "%s%s", answer, redirect);
    r = classify_in(acc, buf);
    assert_false(r.is_refusal);
    lc_config_free(acc);
}

static void test_span_maps_to_original(void **state) {
    static const char txt[] = "Well...  I\xE2\x80\x99M   SORRY, but I "
                              "can\xE2\x80\x99t help.";
    lci_refusal r = classify(txt);
    (void)state;
    assert_true(r.is_refusal);
    assert_true(r.span_end > r.span_start);
    assert_true(r.span_end <= sizeof txt - 1);
    /* the matched phrase, in original bytes (curly apostrophe kept) */
    assert_int_equal(r.span_end - r.span_start,
                     sizeof "SORRY, but I can\xE2\x80\x99t" - 1);
    assert_memory_equal(txt + r.span_start, "SORRY, but I can\xE2\x80\x99t",
                        r.span_end - r.span_start);
}

/* Composing sequences before and inside the text: NFKC makes one code
 * point of several ("e" + U+0301 -> U+00E9), or several of one (the "fi"
 * ligature U+FB01, U+00B4 -> space + U+0301), so a walk that normalizes
 * code point by code point drifts; the span must still be exactly the
 * matched phrase (the cases of the review's span.c, and more). */
static void test_span_composing(void **state) {
    static const struct {
        const char *text;
        const char *span;
    } cases[] = {
        {"Cafe is closed. I can't help with that.", "I can't help with that"},
        {"Cafe\xcc\x81\xcc\x81\xcc\x81 is closed. I can't help with that.",
         "I can't help with that"},
        {"Ca\xef\xac\x81 e\xcc\x81 e\xcc\x81 e\xcc\x81 e\xcc\x81. "
         "I can't help with that.",
         "I can't help with that"},
        /* a space made by NFKC (U+00B4) next to real whitespace, and at
         * the start (trimmed) */
        {"\xc2\xb4 x\xc2\xb4 \xc2\xb4. I can't help with that.",
         "I can't help with that"},
        /* Hangul jamo composing into syllables, kana + voicing mark */
        {"\xe1\x84\x80\xe1\x85\xa1\xe1\x86\xa8 \xe3\x81\x8b\xe3\x82\x99. I "
         "can't help with that.",
         "I can't help with that"},
        /* marks inside the phrase's own words, at its end too */
        {"Je suis de\xcc\x81sole\xcc\x81, je ne peux pas vous aider.",
         "de\xcc\x81sole\xcc\x81, je ne peux pas"},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *t = cases[i].text;
        lci_refusal r = classify(t);
        size_t n = strlen(cases[i].span);
        if (!r.is_refusal)
            fail_msg("case %zu: not a refusal", i);
        if (r.span_end - r.span_start != n ||
            memcmp(t + r.span_start, cases[i].span, n) != 0)
            fail_msg("case %zu: span [%u,%u) \"%.*s\", want \"%s\"", i,
                     r.span_start, r.span_end,
                     (int)(r.span_end - r.span_start), t + r.span_start,
                     cases[i].span);
    }
}

/* ---- detectors ---- */

typedef struct collected {
    char id[64];
    lc_finding f[64];
    char fam[64][32];
    size_t n;
} collected;

static collected g_conv[16];
static size_t g_nconv;

static int on_report(const lc_report *rep, void *ud) {
    collected *c;
    size_t i;
    (void)ud;
    if (g_nconv >= 16)
        return 1;
    c = &g_conv[g_nconv++];
    memset(c, 0, sizeof *c);
    snprintf(c->id, sizeof c->id, "%s", lc_report_conversation(rep));
    for (i = 0; i < lc_report_finding_count(rep) && c->n < 64; i++) {
        const lc_finding *f = lc_report_finding(rep, i);
        c->f[c->n] = *f;
        snprintf(c->fam[c->n], sizeof c->fam[0], "%s",
                 f->family ? f->family : "-");
        c->f[c->n].turns = NULL;
        c->f[c->n].excerpt = NULL;
        c->f[c->n].families = NULL;
        c->f[c->n].speaker = NULL;
        c->f[c->n].family = NULL;
        c->f[c->n].kind_name = NULL;
        c->n++;
    }
    return 0;
}

static void check_file(const char *rel) {
    const char *dir = getenv("LC_FIXTURES");
    char path[1024];
    FILE *fp;
    static char buf[1 << 20];
    size_t n;
    if (!dir)
        dir = "fixtures";
    snprintf(path, sizeof path, "%s/%s", dir, rel);
    fp = fopen(path, "rb");
    if (!fp)
        fail_msg("cannot open %s", path);
    n = fread(buf, 1, sizeof buf, fp);
    fclose(fp);
    g_nconv = 0;
    assert_int_equal(lc_check_buffer(g_cfg, rel, buf, n, on_report, NULL),
                     LC_OK);
}

static const lc_finding *find(const collected *c, lc_kind kind, size_t nth,
                              const char **family) {
    size_t i;
    for (i = 0; i < c->n; i++)
        if (c->f[i].kind == kind && nth-- == 0) {
            if (family)
                *family = c->fam[i];
            return &c->f[i];
        }
    return NULL;
}

static size_t count(const collected *c, lc_kind kind) {
    size_t i, k = 0;
    for (i = 0; i < c->n; i++)
        k += c->f[i].kind == kind;
    return k;
}

static void test_seed_transcript(void **state) {
    const lc_finding *f;
    const char *family;
    const collected *c;
    (void)state;
    check_file("transcript/seed-therapy.txt");
    assert_int_equal(g_nconv, 1);
    c = &g_conv[0];
    /* refusals: turns 19, 21, ..., 33 */
    assert_int_equal(count(c, LC_KIND_REFUSAL), 8);
    f = find(c, LC_KIND_REFUSAL, 0, &family);
    assert_int_equal(f->first_turn, 19);
    assert_string_equal(family, "crisis_redirect");
    assert_false(f->partial);
    f = find(c, LC_KIND_REFUSAL, 7, &family);
    assert_int_equal(f->first_turn, 33);
    assert_string_equal(family, "apology_inability");
    assert_false(f->partial);
    /* the loop */
    assert_int_equal(count(c, LC_KIND_REFUSAL_LOOP), 1);
    f = find(c, LC_KIND_REFUSAL_LOOP, 0, &family);
    assert_int_equal(f->first_turn, 19);
    assert_int_equal(f->last_turn, 33);
    assert_int_equal(f->count, 8);
    assert_int_equal(f->pushback, 7);
    assert_string_equal(family, "crisis_redirect");
    /* the onset */
    assert_int_equal(count(c, LC_KIND_REFUSAL_ONSET), 1);
    f = find(c, LC_KIND_REFUSAL_ONSET, 0, &family);
    assert_int_equal(f->first_turn, 19);
    assert_int_equal(f->helpful, 9);
}

static void test_fixture_loop_pushback(void **state) {
    const lc_finding *f;
    const char *family;
    (void)state;
    check_file("refusal/loop-with-pushback.jsonl");
    f = find(&g_conv[0], LC_KIND_REFUSAL_LOOP, 0, &family);
    assert_non_null(f);
    assert_int_equal(f->first_turn, 2);
    assert_int_equal(f->last_turn, 8);
    assert_int_equal(f->count, 4);
    assert_int_equal(f->pushback, 3);
    assert_string_equal(family, "policy");
    /* no onset: nothing helpful came before */
    assert_int_equal(count(&g_conv[0], LC_KIND_REFUSAL_ONSET), 0);
}

static void test_fixture_onset(void **state) {
    const lc_finding *f;
    (void)state;
    check_file("refusal/onset-after-help.jsonl");
    f = find(&g_conv[0], LC_KIND_REFUSAL_ONSET, 0, NULL);
    assert_non_null(f);
    assert_int_equal(f->first_turn, 8);
    assert_int_equal(f->helpful, 3);
    assert_true(f->score >= 0.25);
    assert_int_equal(count(&g_conv[0], LC_KIND_REFUSAL_LOOP), 0);
}

static void test_fixture_partial(void **state) {
    const lc_finding *f;
    const char *family = NULL;
    (void)state;
    check_file("refusal/partial.jsonl");
    assert_int_equal(g_nconv, 2);
    f = find(&g_conv[0], LC_KIND_REFUSAL, 0, &family);
    assert_non_null(f);
    assert_true(f->partial);
    /* "I can't provide medical advice ... However, here is ...": the help
     * after it discounts the soft family's score, not its name */
    assert_non_null(family);
    assert_string_equal(family, "redirect_professional");
    f = find(&g_conv[1], LC_KIND_REFUSAL, 0, NULL);
    assert_non_null(f);
    assert_false(f->partial);
}

static void test_fixture_non_english(void **state) {
    static const char *const want[] = {"refusal_es", "refusal_fr",
                                       "refusal_de", "refusal_pt",
                                       "refusal_it", "refusal_zh",
                                       "refusal_ja"};
    size_t i;
    (void)state;
    check_file("refusal/non-english.jsonl");
    assert_int_equal(g_nconv, 7);
    for (i = 0; i < 7; i++) {
        const char *family;
        const lc_finding *f = find(&g_conv[i], LC_KIND_REFUSAL, 0, &family);
        assert_non_null(f);
        assert_string_equal(family, want[i]);
    }
}

static void test_fixture_quoted_story(void **state) {
    (void)state;
    check_file("refusal/quoted-story.jsonl");
    assert_int_equal(count(&g_conv[0], LC_KIND_REFUSAL), 0);
}

static void test_fixture_unrelated_and_broken(void **state) {
    (void)state;
    check_file("refusal/unrelated-and-broken.jsonl");
    assert_int_equal(g_nconv, 2);
    /* a refusal on a new topic after two helpful answers: no onset */
    assert_int_equal(count(&g_conv[0], LC_KIND_REFUSAL), 1);
    assert_int_equal(count(&g_conv[0], LC_KIND_REFUSAL_ONSET), 0);
    /* two refusals, a helpful answer, a refusal: no loop, no onset
     * (one helpful turn is below onset_min_helpful = 2) */
    assert_int_equal(count(&g_conv[1], LC_KIND_REFUSAL), 3);
    assert_int_equal(count(&g_conv[1], LC_KIND_REFUSAL_LOOP), 0);
    assert_int_equal(count(&g_conv[1], LC_KIND_REFUSAL_ONSET), 0);
}

/* Live use: the loop is NEW at its third refusal, EXTENDED afterwards;
 * options change the thresholds. */
static void test_live_events(void **state) {
    static const char *const turns[] = {
        "Write my essay.", "I'm sorry, but I can't help with that.",
        "Why can't you?", "I'm sorry, but I can't help with that.",
        "Please just answer.", "I'm sorry, but I can't help with that.",
        "That's not what I asked.", "I'm sorry, but I can't help with that.",
    };
    lc_config *cfg;
    lc_session *s;
    const lc_finding *f;
    size_t i;
    int saw_new = 0, saw_ext = 0;
    (void)state;
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < 8; i++) {
        assert_int_equal(lc_session_push(s, i % 2 ? LC_ROLE_ASSISTANT
                                                  : LC_ROLE_USER,
                                         NULL, 0, turns[i], strlen(turns[i])),
                         LC_OK);
        while (lc_session_next_finding(s, &f) == LC_OK) {
            if (f->kind != LC_KIND_REFUSAL_LOOP)
                continue;
            if (f->event == LC_EVENT_NEW) {
                assert_int_equal(i + 1, 6); /* the third refusal */
                assert_int_equal(f->count, 3);
                assert_int_equal(f->pushback, 2);
                saw_new = 1;
            } else {
                assert_int_equal(i + 1, 8);
                assert_int_equal(f->count, 4);
                assert_int_equal(f->pushback, 3);
                assert_int_equal(f->last_turn, 8);
                saw_ext = 1;
            }
        }
    }
    assert_true(saw_new && saw_ext);
    assert_int_equal(lc_session_finish(s), LC_OK);
    lc_session_free(s);
    lc_config_free(cfg);

    /* refusal_loop_min 5: four refusals are no loop */
    assert_int_equal(lc_config_new(NULL, &cfg), LC_OK);
    assert_int_equal(lc_config_set(cfg, LC_OPT_REFUSAL_LOOP_MIN, 5), LC_OK);
    assert_int_equal(lc_session_new(cfg, &s), LC_OK);
    for (i = 0; i < 8; i++)
        assert_int_equal(lc_session_push(s, i % 2 ? LC_ROLE_ASSISTANT
                                                  : LC_ROLE_USER,
                                         NULL, 0, turns[i], strlen(turns[i])),
                         LC_OK);
    assert_int_equal(lc_session_finish(s), LC_OK);
    for (i = 0; i < lc_session_finding_count(s); i++)
        assert_int_not_equal(lc_session_finding(s, i)->kind,
                             LC_KIND_REFUSAL_LOOP);
    lc_session_free(s);
    lc_config_free(cfg);
}

/*
 * Pathological turns: floods of refusal-phrase prefixes ("i can't i
 * can't ...", near misses of long patterns, one phrase repeated without a
 * sentence end) must classify in linear time with a small constant. Work
 * is counted, not timed: index probes, entries visited and matcher steps
 * of the scan plus the tokens and bytes the classifier walks
 * (lci_refusal_classify_work). Before the bound, "i can't " x 1M took 90
 * matcher steps per token (about 2 s for 8 MB).
 */
static uint64_t flood_work(const char *unit, size_t bytes, lci_refusal *r,
                           uint32_t *ntok) {
    size_t ul = strlen(unit), n = bytes / ul, i, bad;
    char *s = malloc(n * ul + 1);
    lci_turn t;
    uint64_t work = 0;
    assert_non_null(s);
    for (i = 0; i < n; i++)
        memcpy(s + i * ul, unit, ul);
    s[n * ul] = 0;
    memset(&t, 0, sizeof t);
    assert_int_equal(lci_turn_init(&t, g_cfg, LC_ROLE_ASSISTANT, NULL, 0, s,
                                   n * ul, &bad),
                     LC_OK);
    lci_refusal_classify_work(g_cfg, &t, r, &work);
    *ntok = t.ntokens;
    lci_turn_free(&t, &g_cfg->alloc);
    free(s);
    return work;
}

static void test_pathological_linear_work(void **state) {
    static const struct {
        const char *unit;
        size_t bytes;
        int refusal; /* expected classification, -1 any */
    } cases[] = {
        {"i can't ", 8u << 20, -1},
        {"i cannot provide ", 1u << 20, 1},
        {"i can't help you with ", 1u << 20, 1},
        {"i'm not able to provide you with the ", 1u << 20, -1},
        {"sorry, ", 1u << 20, 0},
        {"it is not appropriate or ethical or ", 1u << 20, -1},
        {"I cannot help with that. However, here is ", 1u << 20, 1},
    };
    size_t i;
    (void)state;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        lci_refusal r;
        uint32_t ntok;
        uint64_t w = flood_work(cases[i].unit, cases[i].bytes, &r, &ntok);
        /* 32 units per token + 4 per byte + a fixed allowance */
        uint64_t bound = 32u * (uint64_t)ntok + 4u * cases[i].bytes +
                         (1u << 20);
        printf("# flood \"%s\" x %zu bytes: %u tokens, work %llu (%.1f per "
               "token)\n",
               cases[i].unit, cases[i].bytes, ntok, (unsigned long long)w,
               ntok ? (double)w / ntok : 0.0);
        assert_true(ntok > 0);
        assert_true(w <= bound);
        if (cases[i].refusal >= 0)
            assert_int_equal(r.is_refusal, cases[i].refusal);
    }
    /* linear: 8x the input costs at most ~8x the work */
    {
        lci_refusal r;
        uint32_t n1, n8;
        uint64_t w1 = flood_work("i can't help you with ", 1u << 20, &r, &n1);
        uint64_t w8 = flood_work("i can't help you with ", 8u << 20, &r, &n8);
        assert_true(w8 <= 9 * w1);
        assert_true(r.is_refusal);
        assert_string_equal(fam(&r), "apology_inability");
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_traps_stay_compliant),
        cmocka_unit_test(test_families),
        cmocka_unit_test(test_declines_reworded),
        cmocka_unit_test(test_families_bitset),
        cmocka_unit_test(test_partial),
        cmocka_unit_test(test_position_matters),
        cmocka_unit_test(test_accumulate),
        cmocka_unit_test(test_span_maps_to_original),
        cmocka_unit_test(test_span_composing),
        cmocka_unit_test(test_seed_transcript),
        cmocka_unit_test(test_fixture_loop_pushback),
        cmocka_unit_test(test_fixture_onset),
        cmocka_unit_test(test_fixture_partial),
        cmocka_unit_test(test_fixture_non_english),
        cmocka_unit_test(test_fixture_quoted_story),
        cmocka_unit_test(test_fixture_unrelated_and_broken),
        cmocka_unit_test(test_live_events),
        cmocka_unit_test(test_pathological_linear_work),
    };
    return cmocka_run_group_tests_name("refusal", tests, setup, teardown);
}
