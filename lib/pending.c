/*
 * pending.c - TEMPORARY placeholders so the tree links while modules are
 * written in parallel. Whoever implements a function deletes its
 * placeholder here; the file is removed before the first release.
 */
#include "internal.h"

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wunused-parameter"
#endif

/* ---- text (normalize.c, tokens.c) ---- */

/* ---- input (conversation.c, reader.c, json.c, format_*.c) ---- */

/* PENDING lc_conversation_parse -- input engineer: LC_OPT_DEFER_PARSE = 2
 * means lc_reader_next returns JSONL-conversation records unparsed (raw
 * line bytes + position kept in the conversation) and this function does
 * the json-c parse + lci_turn_init later, on a worker thread. Needed for
 * the -j 2 >= 1.8x target (issue 6). See the header doc. */
lc_status lc_conversation_parse(lc_conversation *conv) { (void)conv; return LC_OK; }

/* ---- refusal (patterns.c, refusal.c) ---- */

/* PENDING lci_patterns_new */
lc_status lci_patterns_new(const lci_alloc *a, struct lci_patterns **out) { return LC_ERR_INTERNAL; }

/* PENDING lci_patterns_free */
void lci_patterns_free(struct lci_patterns *p, const lci_alloc *a) {  }

/* PENDING lci_patterns_load */
lc_status lci_patterns_load(struct lci_patterns *p, const lci_alloc *a, const char *source, const char *text, size_t len, int64_t max_patterns, lci_err *err) { return LC_ERR_INTERNAL; }

/* PENDING lci_patterns_count */
size_t lci_patterns_count(const struct lci_patterns *p) { return 0; }

/* PENDING lci_patterns_info */
const lc_pattern_info * lci_patterns_info(const struct lci_patterns *p, size_t i) { return NULL; }

/* PENDING lci_family_name */
const char * lci_family_name(const struct lci_patterns *p, int family) { return NULL; }

/* PENDING lci_family_list */
lc_status lci_family_list(const struct lci_patterns *p, uint64_t set, lci_buf *buf) { return LC_ERR_INTERNAL; }

/* PENDING lci_refusal_classify */
void lci_refusal_classify(const lc_config *cfg, const lci_turn *t, lci_refusal *out) {  }

/* PENDING lci_is_pushback */
bool lci_is_pushback(const lci_turn *t) { return false; }

/* ---- output (emit_*.c, summary.c, diff.c) ---- */

