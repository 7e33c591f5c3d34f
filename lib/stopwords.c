/*
 * stopwords.c - English function words that carry no topic, as a hash
 * set of their token hashes built once per config (lc_config_new), so a
 * detector checks a token with one probe and no per-session setup.
 * Used by refusal_onset to compare topics by content words.
 *
 * Invariant: the table is a power-of-two open-addressing set with fewer
 * than half its slots used; 0 marks an empty slot (a word whose hash is 0
 * would be stored as 1, and no token hash is looked up as 0).
 */
#include "internal.h"

#include <string.h>

static const char *const stopwords[] = {
    "able", "about", "above", "after", "again", "all", "also", "and", "any",
    "anything", "are", "aren't", "ask", "asked", "back", "because", "been",
    "before", "being", "below", "between", "both", "but", "can", "can't",
    "could", "did", "didn't", "does", "doesn't", "doing", "don't", "done",
    "during", "each", "even", "everything", "feel", "feeling", "first", "for",
    "from", "further", "get", "give", "going", "good", "got", "great", "had",
    "has", "have", "help", "helpful", "her", "here", "hers", "herself", "him",
    "himself", "his", "how", "however", "i'd", "i'll", "i'm", "i've",
    "information", "into", "isn't", "it's", "its", "itself", "just", "know",
    "let", "let's", "like", "lot", "lots", "make", "many", "may", "maybe",
    "might", "mine", "more", "most", "much", "must", "myself", "need", "new",
    "not", "nothing", "now", "off", "okay", "old", "once", "one", "only",
    "other", "our", "ours", "ourselves", "out", "over", "own", "perhaps",
    "please", "provide", "put", "really", "right", "said", "same", "say",
    "says", "see", "shall", "she", "should", "some", "something", "sound",
    "sounds", "start", "started", "still", "such", "sure", "take", "tell",
    "than", "thank", "thanks", "that", "that's", "the", "their", "theirs",
    "them", "themselves", "then", "there", "there's", "these", "they",
    "thing", "things", "think", "this", "those", "though", "through", "today",
    "too", "try", "trying", "two", "under", "use", "very", "want", "was",
    "wasn't", "way", "ways", "well", "were", "what", "what's", "when",
    "where", "which", "while", "who", "why", "will", "with", "won't", "would",
    "yeah", "year", "yes", "you", "you'd", "you'll", "you're", "you've",
    "your", "yours", "yourself",
};

void lci_stopwords_build(uint64_t table[LCI_STOPSET_SLOTS]) {
    size_t i;
    memset(table, 0, LCI_STOPSET_SLOTS * sizeof table[0]);
    for (i = 0; i < sizeof stopwords / sizeof stopwords[0]; i++) {
        uint64_t h = lci_hash(stopwords[i], strlen(stopwords[i]));
        size_t j = (size_t)(h & (LCI_STOPSET_SLOTS - 1));
        if (!h)
            h = 1;
        while (table[j] && table[j] != h)
            j = (j + 1) & (LCI_STOPSET_SLOTS - 1);
        table[j] = h;
    }
}

bool lci_stopword(const lc_config *c, uint64_t h) {
    size_t j = (size_t)(h & (LCI_STOPSET_SLOTS - 1));
    while (c->stopset[j]) {
        if (c->stopset[j] == h)
            return true;
        j = (j + 1) & (LCI_STOPSET_SLOTS - 1);
    }
    return false;
}
