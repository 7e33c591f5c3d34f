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

/* ---- refusal (patterns.c, refusal.c) ---- */

/* ---- output (emit_*.c, summary.c, diff.c) ---- */

