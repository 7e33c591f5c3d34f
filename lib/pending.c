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

/* PENDING lci_turn_init */
lc_status lci_turn_init(lci_turn *t, const lc_config *cfg, lc_role role, const char *speaker, size_t speaker_len, const char *text, size_t len, size_t *bad_off) { return LC_ERR_INTERNAL; }

/* PENDING lci_turn_copy */
lc_status lci_turn_copy(lci_turn *dst, const lci_turn *src, const lci_alloc *a) { return LC_ERR_INTERNAL; }

/* PENDING lci_turn_free */
void lci_turn_free(lci_turn *t, const lci_alloc *a) {  }

/* PENDING lci_conv_diag */
lc_status lci_conv_diag(lc_conversation *c, lc_status st, lc_severity sev, uint64_t line, uint64_t col, uint64_t off, int64_t turn, const char *fmt, ...) { return LC_ERR_INTERNAL; }

/* PENDING lci_conv_set_id */
lc_status lci_conv_set_id(lc_conversation *c, const char *id, size_t len) { return LC_ERR_INTERNAL; }

/* PENDING lci_conv_set_source */
lc_status lci_conv_set_source(lc_conversation *c, const char *s, size_t len) { return LC_ERR_INTERNAL; }

/* PENDING lci_conv_add */
lc_status lci_conv_add(lc_conversation *c, lc_role role, const char *speaker, size_t speaker_len, const char *text, size_t len, uint64_t line, uint64_t col, uint64_t off, unsigned flags, lci_turn **out) { return LC_ERR_INTERNAL; }

/* PENDING lci_role_from_name */
bool lci_role_from_name(const char *name, size_t len, lc_role *role) { return false; }

/* PENDING lc_conversation_new */
lc_status lc_conversation_new(const lc_config *cfg, lc_conversation **conv) { return LC_ERR_INTERNAL; }

/* PENDING lc_conversation_add */
lc_status lc_conversation_add(lc_conversation *conv, lc_role role, const char *speaker, size_t speaker_len, const char *text, size_t len) { return LC_ERR_INTERNAL; }

/* PENDING lc_conversation_free */
void lc_conversation_free(lc_conversation *conv) {  }

/* PENDING lc_conversation_id */
const char * lc_conversation_id(const lc_conversation *conv) { return NULL; }

/* PENDING lc_conversation_source */
const char * lc_conversation_source(const lc_conversation *conv) { return NULL; }

/* PENDING lc_conversation_line */
uint64_t lc_conversation_line(const lc_conversation *conv) { return 0; }

/* PENDING lc_conversation_format */
lc_format lc_conversation_format(const lc_conversation *conv) { return LC_FORMAT_AUTO; }

/* PENDING lc_conversation_turn_count */
size_t lc_conversation_turn_count(const lc_conversation *conv) { return 0; }

/* PENDING lc_conversation_turn */
const lc_turn * lc_conversation_turn(const lc_conversation *conv, size_t i) { return NULL; }

/* PENDING lc_conversation_status */
lc_status lc_conversation_status(const lc_conversation *conv) { return LC_ERR_INTERNAL; }

/* PENDING lc_conversation_diag_count */
size_t lc_conversation_diag_count(const lc_conversation *conv) { return 0; }

/* PENDING lc_conversation_diag */
const lc_error * lc_conversation_diag(const lc_conversation *conv, size_t i) { return NULL; }

/* PENDING lc_conversation_speaker_note */
const char * lc_conversation_speaker_note(const lc_conversation *conv) { return NULL; }

/* PENDING lc_conversation_parse -- input engineer: LC_OPT_DEFER_PARSE = 2
 * means lc_reader_next returns JSONL-conversation records unparsed (raw
 * line bytes + position kept in the conversation) and this function does
 * the json-c parse + lci_turn_init later, on a worker thread. Needed for
 * the -j 2 >= 1.8x target (issue 6). See the header doc. */
lc_status lc_conversation_parse(lc_conversation *conv) { (void)conv; return LC_OK; }

/* PENDING lc_reader_new */
lc_status lc_reader_new(const lc_config *cfg, lc_reader **reader) { return LC_ERR_INTERNAL; }

/* PENDING lc_reader_free */
void lc_reader_free(lc_reader *reader) {  }

/* PENDING lc_reader_set_source */
lc_status lc_reader_set_source(lc_reader *reader, const char *name, size_t len) { return LC_ERR_INTERNAL; }

/* PENDING lc_reader_feed */
lc_status lc_reader_feed(lc_reader *reader, const void *data, size_t len) { return LC_ERR_INTERNAL; }

/* PENDING lc_reader_finish */
lc_status lc_reader_finish(lc_reader *reader) { return LC_ERR_INTERNAL; }

/* PENDING lc_reader_next */
lc_status lc_reader_next(lc_reader *reader, lc_conversation **conv) { return LC_ERR_INTERNAL; }

/* PENDING lc_reader_format */
lc_format lc_reader_format(const lc_reader *reader) { return LC_FORMAT_AUTO; }

/* PENDING lc_reader_error */
const lc_error * lc_reader_error(const lc_reader *reader) { return NULL; }

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

