/*
 * loopcheck.h - find conversational loops and canned-refusal regressions
 * in chatbot and agent logs.
 *
 * This is the only public header of libloopcheck.
 *
 * OVERVIEW
 *
 *   lc_config        all tunables + the allocator; every handle created
 *                    from it holds a reference and freezes it, so the
 *                    caller may free it at any time but never change it
 *                    again (lc_config_set etc.: LC_ERR_STATE), even
 *                    after those handles are freed.
 *   lc_reader        streaming decoder: feed bytes in any chunking, get
 *                    whole conversations (lc_conversation) out.
 *   lc_conversation  one conversation's turns (original text, normalized
 *                    text, XXH3-64 hash, source position). Owned by the
 *                    caller once returned; may be moved to another thread.
 *   lc_session       one conversation's live detector state: push turns one
 *                    at a time, pull findings as soon as they are certain.
 *   lc_report        the findings of one conversation (batch result).
 *   lc_summary       mergeable counts over many reports.
 *   lc_diff          paired comparison of two runs (baseline, candidate).
 *
 * THREADS
 *
 *   Handles are not thread-safe; distinct handles may be used concurrently
 *   from different threads. Calls that take a const handle only read it:
 *   several threads may make them on one handle at once while no thread
 *   makes another call on it. A config is immutable once it has been used to
 *   create any handle (reader, session, conversation, summary, diff, or a
 *   batch call) and may then be shared read-only. Nothing in
 *   the library uses process-global mutable state.
 *
 * STABILITY
 *
 *   Numeric values of lc_status, lc_opt, lc_kind, lc_role and lc_format
 *   below 1000 are stable: they are never renumbered or reused. Structs
 *   returned as `const T *` are library-owned views; fields may be appended
 *   in later versions, so callers never allocate or copy them by size.
 *
 * STREAMING USE (live monitoring of a generation loop)
 *
 *     lc_config *cfg; lc_session *s; const lc_finding *f;
 *     lc_config_new(NULL, &cfg);
 *     lc_session_new(cfg, &s);
 *     for (each generated turn) {
 *         lc_session_push(s, LC_ROLE_ASSISTANT, NULL, 0, text, len);
 *         while (lc_session_next_finding(s, &f) == LC_OK)
 *             if (f->kind == LC_KIND_EXACT_LOOP) stop_generation();
 *     }
 *     lc_session_finish(s);
 *     lc_session_free(s); lc_config_free(cfg);
 *
 * BATCH USE (a whole log file)
 *
 *     lc_reader *r; lc_conversation *c; lc_report *rep;
 *     lc_status st;
 *     lc_reader_new(cfg, &r);
 *     lc_reader_set_source(r, "run.jsonl", 9);
 *     lc_reader_feed(r, buf, len);          (repeat for every chunk)
 *     lc_reader_finish(r);
 *     while ((st = lc_reader_next(r, &c)) == LC_OK) {
 *         if (lc_conversation_check(cfg, c, &rep) == LC_OK) {
 *             lc_report_write(rep, LC_OUTPUT_JSON, 0, my_write, my_ctx);
 *             lc_report_free(rep);
 *         }
 *         lc_conversation_free(c);
 *     }
 *     (st is LC_END, or LC_ERR_NOMEM: lc_reader_error(r) says where)
 *
 *   lc_reader_next returns LC_NEED_INPUT when it needs more bytes and
 *   LC_END once lc_reader_finish was called and everything was returned.
 *   A conversation that could not be read is still returned, with
 *   lc_conversation_status() != LC_OK and its error attached, so counts
 *   always reconcile: read = analysed + failed.
 */
#ifndef LOOPCHECK_H
#define LOOPCHECK_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(_WIN32) && defined(LC_BUILDING_DLL)
#define LC_API __declspec(dllexport)
#elif defined(__GNUC__) || defined(__clang__)
#define LC_API __attribute__((visibility("default")))
#else
#define LC_API
#endif

/** Opaque handles (see OVERVIEW). @since 0.1 */
typedef struct lc_config lc_config;
typedef struct lc_reader lc_reader;
typedef struct lc_conversation lc_conversation;
typedef struct lc_session lc_session;
typedef struct lc_report lc_report;
typedef struct lc_summary lc_summary;
typedef struct lc_diff lc_diff;

/* ------------------------------------------------------------------ */
/* Version                                                              */
/* ------------------------------------------------------------------ */

#define LC_VERSION_MAJOR 0
#define LC_VERSION_MINOR 1
#define LC_VERSION_PATCH 0
#define LC_VERSION_NUMBER \
    (LC_VERSION_MAJOR * 10000 + LC_VERSION_MINOR * 100 + LC_VERSION_PATCH)
#define LC_VERSION_STRING "0.1.0"

/** Runtime version number (major*10000 + minor*100 + patch). @since 0.1 */
LC_API unsigned lc_version_number(void);
/** Runtime version string, static. @since 0.1 */
LC_API const char *lc_version_string(void);

/* ------------------------------------------------------------------ */
/* Status codes                                                         */
/* ------------------------------------------------------------------ */

/**
 * Result of every fallible call. Progress values are small; errors are
 * grouped by tens. Values below 1000 are stable and never reused.
 * Each value has a stable short code "LC-Ennn" (nnn = the value) used in
 * CLI messages and documentation. @since 0.1
 */
typedef enum lc_status {
    LC_OK = 0,
    LC_NEED_INPUT = 1,         /**< reader: feed more bytes or finish */
    LC_END = 2,                /**< no more items */

    LC_ERR_INVALID_ARG = 10,   /**< NULL or out-of-range argument */
    LC_ERR_STATE = 11,         /**< call not allowed in this state */
    LC_ERR_UNKNOWN_OPTION = 12,/**< option key not known */
    LC_ERR_OUT_OF_BOUNDS = 13, /**< option value outside its bounds */

    LC_ERR_UTF8 = 20,          /**< invalid UTF-8 (replaced by U+FFFD) */

    LC_ERR_SYNTAX = 30,        /**< malformed JSON */
    LC_ERR_SCHEMA = 31,        /**< valid JSON, not a conversation */
    LC_ERR_FORMAT = 32,        /**< input format not recognised */
    LC_ERR_PATTERN = 33,       /**< bad refusal pattern / pattern file */
    LC_ERR_EMPTY = 34,         /**< conversation has no turns */
    LC_ERR_CONFIG_FILE = 35,   /**< bad gate config file */

    LC_ERR_LIMIT = 40,         /**< a documented limit was exceeded */

    LC_ERR_CALLBACK = 50,      /**< write callback returned non-zero */
    LC_ERR_IO = 51,            /**< input could not be read (CLI use) */

    LC_ERR_NOMEM = 90,         /**< allocation failed */
    LC_ERR_INTERNAL = 91       /**< bug: please report */
} lc_status;

/** Static description of a status ("invalid UTF-8"). Never NULL. @since 0.1 */
LC_API const char *lc_status_str(lc_status status);
/** Static stable code of a status ("LC-E020"). Never NULL. @since 0.1 */
LC_API const char *lc_status_code(lc_status status);

/** Severity of a diagnostic. @since 0.1 */
typedef enum lc_severity {
    LC_SEVERITY_ERROR = 0,   /**< the conversation could not be analysed */
    LC_SEVERITY_WARNING = 1  /**< data was repaired; analysis went on */
} lc_severity;

/**
 * Error or warning detail: a library-owned view, valid until the next
 * call on the handle that returned it (or until that handle is freed).
 * @since 0.1
 */
typedef struct lc_error {
    lc_status status;     /**< what went wrong */
    lc_severity severity; /**< error or warning */
    const char *code;     /**< "LC-Ennn", static */
    const char *message;  /**< human readable, NUL-terminated */
    const char *source;   /**< source name set on the reader, or "" */
    uint64_t line;        /**< 1-based line, 0 if unknown */
    uint64_t column;      /**< 1-based column in code points, 0 if unknown */
    uint64_t offset;      /**< 0-based byte offset in the whole stream */
    int64_t turn;         /**< 1-based turn index, or -1 */
} lc_error;

/* ------------------------------------------------------------------ */
/* Allocator                                                            */
/* ------------------------------------------------------------------ */

/**
 * Caller-supplied allocator. Every allocation libloopcheck makes goes
 * through it (json-c's short-lived parse trees excepted, see README).
 * `realloc` receives the old size. Pass NULL to lc_config_new for the C
 * library's malloc/realloc/free. The struct is copied. @since 0.1
 */
typedef struct lc_allocator {
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t old_size, size_t new_size);
    void (*free)(void *ctx, void *ptr);
    void *ctx;
} lc_allocator;

/* ------------------------------------------------------------------ */
/* Enumerations                                                         */
/* ------------------------------------------------------------------ */

/** Speaker role. @since 0.1 */
typedef enum lc_role {
    LC_ROLE_OTHER = 0,
    LC_ROLE_USER = 1,
    LC_ROLE_ASSISTANT = 2,
    LC_ROLE_SYSTEM = 3,
    LC_ROLE_TOOL = 4
} lc_role;

/** Static name of a role ("assistant"). @since 0.1 */
LC_API const char *lc_role_name(lc_role role);

/** Input format; LC_FORMAT_AUTO sniffs the content. @since 0.1 */
typedef enum lc_format {
    LC_FORMAT_AUTO = 0,
    LC_FORMAT_TRANSCRIPT = 1,   /**< "Speaker: text" plain text */
    LC_FORMAT_JSONL_CONV = 2,   /**< one conversation object per line */
    LC_FORMAT_JSONL_TURN = 3,   /**< one turn per line + conversation key */
    LC_FORMAT_JSON = 4          /**< one JSON document: array or object */
} lc_format;

/** Static name of a format ("jsonl"). @since 0.1 */
LC_API const char *lc_format_name(lc_format format);
/** Parse a format name; LC_ERR_INVALID_ARG if unknown. @since 0.1 */
LC_API lc_status lc_format_from_name(const char *name, size_t len,
                                     lc_format *out);

/** Finding kinds (stable names via lc_kind_name). @since 0.1 */
typedef enum lc_kind {
    LC_KIND_EXACT_LOOP = 1,
    LC_KIND_RECURRING_TURN = 2,
    LC_KIND_RECYCLED_PASSAGE = 3,
    LC_KIND_NEAR_DUPLICATE_LOOP = 4,
    LC_KIND_DEGENERATE_REPETITION = 5,
    LC_KIND_STALLED_CONVERSATION = 6,
    LC_KIND_REFUSAL = 20,
    LC_KIND_REFUSAL_LOOP = 21,
    LC_KIND_REFUSAL_ONSET = 22
} lc_kind;

#define LC_KIND_COUNT_MAX 32

/** Static stable name of a kind ("exact_loop"), or NULL. @since 0.1 */
LC_API const char *lc_kind_name(lc_kind kind);
/** Parse a kind name; LC_ERR_INVALID_ARG if unknown. @since 0.1 */
LC_API lc_status lc_kind_from_name(const char *name, size_t len,
                                   lc_kind *out);

/* ------------------------------------------------------------------ */
/* Configuration                                                        */
/* ------------------------------------------------------------------ */

/**
 * Option keys for lc_config_set. Value 0 always means "default".
 * lc_opt_bounds gives min, max and default for each. @since 0.1
 */
typedef enum lc_opt {
    /* input */
    LC_OPT_FORMAT = 1,               /**< lc_format, default AUTO */
    LC_OPT_MAX_LINE_BYTES = 2,       /**< default 256 MiB */
    LC_OPT_MAX_TURNS = 3,            /**< per conversation, default 1,000,000 */
    LC_OPT_MAX_DEPTH = 4,            /**< JSON nesting, default 64 */
    LC_OPT_MAX_TURN_BYTES = 5,       /**< text per turn, default 16 MiB */
    LC_OPT_MAX_PATTERNS = 6,         /**< user patterns, default 100,000 */
    LC_OPT_NORMALIZE_FAST = 7,       /**< 1 = ASCII fast path (default), 2 = utf8proc only */
    /** 2 = lc_reader_next only frames records (JSONL lines) and the
     *  caller parses each with lc_conversation_parse, e.g. on worker
     *  threads; 1 = parse in lc_reader_next (default). */
    LC_OPT_DEFER_PARSE = 8,

    /* loop detectors. Rules in brief (details in lib/detect_*.c):
     * - exact_loop: a block of p <= max_period turns (same normalized
     *   hash and role) repeated >= min_repeats times in a row; reported
     *   at the min_repeats-th repetition, extended per whole block;
     *   smallest period, one finding per run.
     * - near_duplicate_loop: the same with near-duplicates: free text
     *   with word-2-shingle Jaccard >= near_dup_percent; tool calls must
     *   be identical and tool observations identical or errors of the
     *   same kind (first error line, digits dropped), so polling or
     *   re-running tests with changing output is no loop. One loop, one
     *   finding: whichever of exact/near is certain first.
     * - recurring_turn: the same words from the same speaker coming back
     *   non-consecutively recur_min times (recur_short_min times for
     *   turns under recur_short_words words, e.g. "ok", "why?";
     *   recur_long_min times for turns of >= passage_words words: a
     *   whole paragraph said again word for word is at least a recycled
     *   passage, which recycled_passage leaves to this rule);
     *   occurrences that only continue a cycle (the turns since the last
     *   occurrence repeat, identically or near-identically) are the loop
     *   detectors' and not counted; tool calls count with their
     *   observation; tool observations are ignored.
     * - recycled_passage: a passage of >= passage_words words that the
     *   same speaker said in an earlier turn (winnowed k-word shingle
     *   fingerprints, k = passage_words - winnow_window + 1), counted if
     *   it holds a whole sentence of the later turn or is twice as long;
     *   linked to the most recent earlier turn; identical turns excluded
     *   (recurring_turn reports them, from recur_long_min occurrences).
     * - degenerate_repetition: one turn whose word 3-grams repeat
     *   >= degenerate_percent, with >= degenerate_min_words words, code,
     *   lists, tables and dividers skipped.
     * - stalled_conversation: >= stall_percent of the last stall_window
     *   turns belong to loops or recycled passages.
     * Turns in memory per conversation are bounded by history_turns;
     * findings are kept until lc_session_reset (README, "Limits"). */
    LC_OPT_MIN_REPEATS = 20,         /**< exact/near loops: repeats, default 3 */
    LC_OPT_MAX_PERIOD = 21,          /**< exact/near loops: period, default 8 */
    LC_OPT_RECUR_MIN = 22,           /**< recurring_turn count, default 3 */
    LC_OPT_RECUR_SHORT_WORDS = 23,   /**< turns with fewer words are "short", default 4 */
    LC_OPT_RECUR_SHORT_MIN = 24,     /**< count needed for short turns, default 5 */
    LC_OPT_PASSAGE_WORDS = 25,       /**< recycled_passage minimum words, default 12 */
    LC_OPT_WINNOW_WINDOW = 26,       /**< winnowing window (shingles), default 4 */
    LC_OPT_NEAR_DUP_PERCENT = 27,    /**< near-dup Jaccard threshold %, default 60 */
    LC_OPT_DEGENERATE_PERCENT = 28,  /**< n-gram repeat ratio %, default 50 */
    LC_OPT_DEGENERATE_MIN_WORDS = 29,/**< minimum words, default 30 */
    LC_OPT_STALL_WINDOW = 30,        /**< last K turns, default 10 */
    LC_OPT_STALL_PERCENT = 31,       /**< share looping, default 60 */
    LC_OPT_HISTORY_TURNS = 32,       /**< window of turns kept, default 512 */
    LC_OPT_RECUR_LONG_MIN = 33,      /**< count needed for turns of >= passage_words words, default 2 */

    /* refusal detectors */
    LC_OPT_REFUSAL_LOOP_MIN = 40,    /**< consecutive refusals, default 3 */
    LC_OPT_ONSET_MIN_HELPFUL = 41,   /**< helpful turns before onset, default 2 */
    LC_OPT_PARTIAL_MIN_WORDS = 42,   /**< words of help making a refusal partial, default 40 */

    /* detectors enabled: bit (1 << lc_kind); default all. With none of
     * the three refusal kinds enabled, assistant turns are not classified
     * at all (the loop detectors do not need it) */
    LC_OPT_KINDS = 60
} lc_opt;

/** Create a config. `alloc` may be NULL (libc). [out] cfg. @since 0.1 */
LC_API lc_status lc_config_new(const lc_allocator *alloc, lc_config **cfg);
/** Free a config. NULL is a no-op. @since 0.1 */
LC_API void lc_config_free(lc_config *cfg);
/**
 * Set an option. 0 restores the default. Returns LC_ERR_UNKNOWN_OPTION,
 * LC_ERR_OUT_OF_BOUNDS or LC_ERR_STATE (config already in use).
 * @since 0.1
 */
LC_API lc_status lc_config_set(lc_config *cfg, lc_opt key, int64_t value);
/** Current effective value of an option (default resolved). @since 0.1 */
LC_API lc_status lc_config_get(const lc_config *cfg, lc_opt key,
                               int64_t *value);
/** Bounds and default of an option. Any out pointer may be NULL. @since 0.1 */
LC_API lc_status lc_opt_bounds(lc_opt key, int64_t *min, int64_t *max,
                               int64_t *def);
/** Option name ("min_repeats") or NULL. @since 0.1 */
LC_API const char *lc_opt_name(lc_opt key);
/**
 * Parse an option name: LC_ERR_UNKNOWN_OPTION if no option has it,
 * LC_ERR_INVALID_ARG for a NULL argument. @since 0.1
 */
LC_API lc_status lc_opt_from_name(const char *name, size_t len, lc_opt *out);

/**
 * Map a transcript speaker name to a role (e.g. "Therapist" -> assistant).
 * Names compare case-insensitively. Overrides the built-in names and the
 * heuristic. @since 0.1
 */
LC_API lc_status lc_config_map_speaker(lc_config *cfg, const char *name,
                                       size_t len, lc_role role);

/**
 * Load refusal patterns in the pattern-file format (doc/patterns.md and
 * loopcheck(1)); a leading UTF-8 BOM is skipped. `source` names the file
 * for error messages and is the `origin` of its patterns and families
 * (NULL: ""). On a syntax error - including a pattern that could
 * never match or reads two ways ('^' after a word, '^' or '<' with no
 * word after it, '*' without a number) - returns LC_ERR_PATTERN and
 * lc_config_error() gives file:line:col of the offending character.
 * @since 0.1
 */
LC_API lc_status lc_config_add_patterns(lc_config *cfg, const char *source,
                                        const char *text, size_t len);
/** Last error on the config (NULL if none). @since 0.1 */
LC_API const lc_error *lc_config_error(const lc_config *cfg);

/** One active refusal pattern, for listing. @since 0.1 */
typedef struct lc_pattern_info {
    const char *family;   /**< family name */
    const char *text;     /**< pattern as written */
    const char *origin;   /**< "builtin" or the source name */
    int enabled;          /**< 0 if the family is disabled */
} lc_pattern_info;

/** Number of patterns (built-in + user). @since 0.1 */
LC_API size_t lc_config_pattern_count(const lc_config *cfg);
/** Pattern i, valid while cfg lives. NULL if out of range. @since 0.1 */
LC_API const lc_pattern_info *lc_config_pattern(const lc_config *cfg,
                                                size_t i);

/**
 * One refusal-pattern family and the settings that decide how its
 * matches score (doc/patterns.md, "Lines" and "Scoring"), for listing:
 * what a built-in family is set to, and whether a pattern file changed it
 * as intended. A library-owned view; fields may be appended in later
 * versions, so never allocate, copy by size or embed one.
 * @since 0.1
 */
typedef struct lc_family_info {
    const char *name;     /**< family name (`[family NAME]`) */
    const char *role;     /**< "assistant", "user" or "help" (`role`) */
    int specificity;      /**< 0..100 (`specificity`, default 50) */
    int weight;           /**< -100..100 (`weight`, default 100) */
    int enabled;          /**< 0 if disabled (`disable` / `enable`) */
    int soft;             /**< 1 if `soft`: a caveat */
    int cancel;           /**< 1 if `cancel`: removes overlapping matches */
    int accumulate;       /**< 1 if `accumulate`: sentences add up */
    size_t patterns;      /**< number of its patterns, built-in + user */
    /** where the family was defined: "builtin" or the source name given
     * to the lc_config_add_patterns() call that added it */
    const char *origin;
    /** where its settings came from: `origin`, or the source name of the
     * last lc_config_add_patterns() call that changed any of them
     * (specificity, weight, role, enabled, soft, cancel, accumulate);
     * a file that re-states a setting's current value changes nothing */
    const char *settings_origin;
} lc_family_info;

/**
 * Number of refusal-pattern families (built-in + added by pattern files,
 * enabled or not); 0 if cfg is NULL. @since 0.1
 */
LC_API size_t lc_config_family_count(const lc_config *cfg);
/**
 * Family i (0 <= i < lc_config_family_count(cfg)), in definition order:
 * the built-in families first, then those the pattern files added.
 * NULL if cfg is NULL or i is out of range. The view and its strings are
 * owned by cfg and valid while cfg lives and until the next
 * lc_config_add_patterns() on it.
 * @since 0.1
 */
LC_API const lc_family_info *lc_config_family(const lc_config *cfg,
                                              size_t i);

/* ------------------------------------------------------------------ */
/* Conversations and turns                                              */
/* ------------------------------------------------------------------ */

/** Turn flags. @since 0.1 */
typedef enum lc_turn_flags {
    LC_TURN_NONE = 0,
    LC_TURN_TOOL_CALL = 1 << 0,   /**< text is a canonical tool call */
    LC_TURN_REPAIRED = 1 << 1,    /**< invalid UTF-8 replaced */
    LC_TURN_EMPTY = 1 << 2,       /**< content null or empty */
    LC_TURN_TRUNCATED = 1 << 3    /**< cut at max_turn_bytes */
} lc_turn_flags;

/**
 * One turn: a library-owned view valid while its conversation (or, from a
 * session, until the next push) lives. @since 0.1
 */
typedef struct lc_turn {
    uint32_t index;          /**< 1-based turn number */
    lc_role role;
    const char *speaker;     /**< speaker label as written, NUL-terminated */
    const char *text;        /**< original text (valid UTF-8), NUL-terminated */
    size_t text_len;
    const char *norm;        /**< normalized text, NUL-terminated */
    size_t norm_len;
    uint64_t hash;           /**< XXH3-64 of norm */
    uint64_t line;           /**< 1-based source line where the turn starts */
    uint64_t column;         /**< 1-based column */
    uint64_t offset;         /**< byte offset in the stream */
    unsigned flags;          /**< lc_turn_flags */
    uint32_t words;          /**< number of word tokens in norm */
} lc_turn;

/** Create an empty conversation to fill with lc_conversation_add. @since 0.1 */
LC_API lc_status lc_conversation_new(const lc_config *cfg,
                                     lc_conversation **conv);
/**
 * Append a turn (text is copied, normalized and hashed). Invalid UTF-8 is
 * replaced by U+FFFD and a warning recorded. speaker may be NULL.
 * LC_ERR_STATE for a conversation a reader returned unparsed (parse it
 * first) or one whose status is not LC_OK (a failed record is never
 * analysed, so turns added to it would be lost silently).
 * @since 0.1
 */
LC_API lc_status lc_conversation_add(lc_conversation *conv, lc_role role,
                                     const char *speaker, size_t speaker_len,
                                     const char *text, size_t len);
/** Free. NULL is a no-op. @since 0.1 */
LC_API void lc_conversation_free(lc_conversation *conv);
/**
 * Parse a conversation returned unparsed by a reader with
 * LC_OPT_DEFER_PARSE = 2 (JSON parsing, normalization and hashing happen
 * here, so it can run on any thread). Idempotent: LC_OK at once if already
 * parsed. A read error is recorded in the conversation (see
 * lc_conversation_status) and LC_OK returned; only LC_ERR_NOMEM and
 * LC_ERR_INVALID_ARG are returned as errors. lc_conversation_check on an
 * unparsed conversation returns LC_ERR_STATE. @since 0.1
 */
LC_API lc_status lc_conversation_parse(lc_conversation *conv);
/** Conversation id (from the data, else "source:line"). @since 0.1 */
LC_API const char *lc_conversation_id(const lc_conversation *conv);
/** Source name given to the reader ("" if none). @since 0.1 */
LC_API const char *lc_conversation_source(const lc_conversation *conv);
/** 1-based line where the conversation starts. @since 0.1 */
LC_API uint64_t lc_conversation_line(const lc_conversation *conv);
/** Format it was read as. @since 0.1 */
LC_API lc_format lc_conversation_format(const lc_conversation *conv);
/** Number of turns. @since 0.1 */
LC_API size_t lc_conversation_turn_count(const lc_conversation *conv);
/** Turn i (0-based), NULL if out of range. @since 0.1 */
LC_API const lc_turn *lc_conversation_turn(const lc_conversation *conv,
                                           size_t i);
/**
 * LC_OK if the conversation was read, else the error status; its
 * diagnostic is lc_conversation_diag(conv, 0). @since 0.1
 */
LC_API lc_status lc_conversation_status(const lc_conversation *conv);
/** Number of diagnostics (errors first, then warnings). @since 0.1 */
LC_API size_t lc_conversation_diag_count(const lc_conversation *conv);
/** Diagnostic i, NULL if out of range. @since 0.1 */
LC_API const lc_error *lc_conversation_diag(const lc_conversation *conv,
                                            size_t i);
/**
 * How transcript speakers were mapped, for reporting: e.g.
 * "Therapist=assistant Patient=user (heuristic: ...)". "" when not a
 * transcript. @since 0.1
 */
LC_API const char *lc_conversation_speaker_note(const lc_conversation *conv);

/* ------------------------------------------------------------------ */
/* Reader                                                               */
/* ------------------------------------------------------------------ */

/** Create a reader (references and freezes cfg). @since 0.1 */
LC_API lc_status lc_reader_new(const lc_config *cfg, lc_reader **reader);
/** Free. NULL is a no-op. @since 0.1 */
LC_API void lc_reader_free(lc_reader *reader);
/** Name used in ids and diagnostics (copied as given: unlike ids, speakers
 * and text it is not repaired if it is not UTF-8, so that it still names
 * the file; lc_conversation_source, lc_report_source and lc_error.source
 * return it as given, and the report writers escape or repair it in their
 * output). Call before feeding. @since 0.1 */
LC_API lc_status lc_reader_set_source(lc_reader *reader, const char *name,
                                      size_t len);
/**
 * Read this reader's input as `format` whatever LC_OPT_FORMAT says
 * (LC_FORMAT_AUTO: sniff it). Call before feeding. LC_ERR_INVALID_ARG
 * for an unknown format, LC_ERR_STATE once fed. Whatever the format,
 * input that starts with the magic bytes of compressed data, an archive
 * or UTF-16 is one failed conversation, LC_ERR_FORMAT at column 1 of its
 * first non-blank line, whose message names it ("gzip-compressed data,
 * not text: decompress it first"), and the rest of it is not read (a
 * reader started past offset 0 by lc_reader_set_start() reads its lines
 * as records). @since 0.1
 */
LC_API lc_status lc_reader_set_format(lc_reader *reader, lc_format format);
/**
 * The bytes fed next are a part of the source that starts at 1-based line
 * `line` and byte offset `offset` (a line start: the byte after a line
 * feed), so ids, lc_conversation_line() and diagnostics give positions in
 * the whole source. With several readers over consecutive parts of one
 * JSONL file (lc_reader_set_format(r, LC_FORMAT_JSONL_CONV), `line` = 1 +
 * the line ends before the part: LF, CRLF or a lone CR each end a line),
 * the conversations are exactly those of one reader over the whole file.
 * A UTF-8 BOM at the part's start is skipped only as one at any line
 * start is. Call before feeding. LC_ERR_INVALID_ARG for line 0,
 * LC_ERR_STATE once fed. @since 0.1
 */
LC_API lc_status lc_reader_set_start(lc_reader *reader, uint64_t line,
                                     uint64_t offset);
/**
 * Feed bytes in any chunking. Bytes are copied as needed; the caller's
 * buffer is not retained. @since 0.1
 */
LC_API lc_status lc_reader_feed(lc_reader *reader, const void *data,
                                size_t len);
/**
 * Mark end of input (flushes a last line without newline). A second call
 * returns LC_ERR_STATE, as does lc_reader_feed after it. @since 0.1
 */
LC_API lc_status lc_reader_finish(lc_reader *reader);
/**
 * Next conversation. LC_OK: *conv is the caller's (free it); check its
 * status. LC_NEED_INPUT: feed more. LC_END: done. LC_ERR_NOMEM: fatal.
 * @since 0.1
 */
LC_API lc_status lc_reader_next(lc_reader *reader, lc_conversation **conv);
/** Format in use (after sniffing), AUTO if not yet known. @since 0.1 */
LC_API lc_format lc_reader_format(const lc_reader *reader);
/** Last fatal error of the reader, or NULL. @since 0.1 */
LC_API const lc_error *lc_reader_error(const lc_reader *reader);

/* ------------------------------------------------------------------ */
/* Findings and the live session                                        */
/* ------------------------------------------------------------------ */

/** Finding event for live use. @since 0.1 */
typedef enum lc_event {
    LC_EVENT_NEW = 0,       /**< first time this finding is certain */
    LC_EVENT_EXTENDED = 1   /**< an earlier finding (same id) grew */
} lc_event;

/**
 * One finding, a library-owned view (see the owning handle for lifetime).
 * Unused kind-specific fields are 0 / NULL. @since 0.1
 */
typedef struct lc_finding {
    uint32_t id;             /**< unique within the conversation */
    lc_event event;          /**< live only */
    lc_kind kind;
    const char *kind_name;   /**< "exact_loop" ... */
    uint32_t first_turn;     /**< 1-based */
    uint32_t last_turn;      /**< 1-based */
    uint64_t first_line;     /**< source line of first_turn (0 if none) */
    uint64_t last_line;
    lc_role role;            /**< role of the repeating speaker */
    const char *speaker;
    double score;            /**< 0..1, strength of evidence */
    const uint32_t *turns;   /**< the turns involved, ascending */
    size_t turn_count;
    const char *excerpt;     /**< short excerpt of the repeated text */
    uint64_t evidence;       /**< XXH3 of the repeated unit */
    /* exact_loop, near_duplicate_loop */
    uint32_t period;
    uint32_t repeats;
    /* recurring_turn: occurrences; refusal_loop: refusals */
    uint32_t count;
    /* recycled_passage */
    uint32_t words;
    double share;
    /* refusal, refusal_loop, refusal_onset */
    const char *family;      /**< most specific family */
    const char *families;    /**< all matched, comma-separated */
    int partial;             /**< refusal followed by substantial help */
    uint32_t span_start;     /**< byte range of evidence in the turn text */
    uint32_t span_end;
    uint32_t pushback;       /**< refusal_loop: contesting user turns */
    uint32_t helpful;        /**< refusal_onset: helpful turns before */
} lc_finding;

/** Create a session (references and freezes cfg). @since 0.1 */
LC_API lc_status lc_session_new(const lc_config *cfg, lc_session **session);
/** Free. NULL is a no-op. @since 0.1 */
LC_API void lc_session_free(lc_session *session);
/**
 * Push one turn (text copied, normalized). LC_ERR_STATE after finish;
 * LC_ERR_LIMIT beyond max_turns. Invalid UTF-8 in text or speaker is
 * replaced by U+FFFD and text beyond max_turn_bytes is cut at a UTF-8
 * boundary, as lc_conversation_add does, but silently: a session records
 * no warnings (lc_session_error stays NULL). @since 0.1
 */
LC_API lc_status lc_session_push(lc_session *session, lc_role role,
                                 const char *speaker, size_t speaker_len,
                                 const char *text, size_t len);
/** Push a turn from a conversation (no re-normalization). @since 0.1 */
LC_API lc_status lc_session_push_turn(lc_session *session,
                                      const lc_turn *turn);
/**
 * Next new or extended finding since the last call: LC_OK or LC_END.
 * The view is valid until the next push/finish/free. @since 0.1
 */
LC_API lc_status lc_session_next_finding(lc_session *session,
                                         const lc_finding **finding);
/** End of conversation: flushes end-only detectors. @since 0.1 */
LC_API lc_status lc_session_finish(lc_session *session);
/** Current findings: in the order found until lc_session_finish, which
 * puts them in report order (first turn, kind, last turn) and makes them
 * final. Both calls only read the session. @since 0.1 */
LC_API size_t lc_session_finding_count(const lc_session *session);
LC_API const lc_finding *lc_session_finding(const lc_session *session,
                                            size_t i);
/** Last error of the session or NULL. @since 0.1 */
LC_API const lc_error *lc_session_error(const lc_session *session);
/**
 * Back to the state of a new session on the same config: no turns, no
 * findings, no error, not finished. Keeps the session's memory, so one
 * session can analyse many conversations in turn without the cost of
 * lc_session_new for each. @since 0.1
 */
LC_API lc_status lc_session_reset(lc_session *session);

/* ------------------------------------------------------------------ */
/* Reports (batch)                                                      */
/* ------------------------------------------------------------------ */

/**
 * Analyse one conversation: a session fed every turn, then finished.
 * If the conversation failed to read, the report carries its error and
 * no findings. Returns LC_OK, LC_ERR_NOMEM, LC_ERR_INVALID_ARG or
 * LC_ERR_STATE for a conversation a reader returned unparsed
 * (LC_OPT_DEFER_PARSE = 2: lc_conversation_parse it first); then *report
 * is NULL. @since 0.1
 */
LC_API lc_status lc_conversation_check(const lc_config *cfg,
                                       const lc_conversation *conv,
                                       lc_report **report);
/**
 * As lc_conversation_check with the session's config, reusing `session`:
 * it is reset first (lc_session_reset), and its findings move to the
 * report, so it holds none afterwards. The same report as
 * lc_conversation_check; the cheaper way to analyse many conversations
 * on one thread (one session per thread). @since 0.1
 */
LC_API lc_status lc_session_check(lc_session *session,
                                  const lc_conversation *conv,
                                  lc_report **report);
/**
 * As lc_conversation_parse, with a JSON parser that the session keeps
 * and reuses (lc_conversation_parse sets one up and frees it on every
 * call, several thousand instructions and a few allocations per
 * conversation). Same results and return values; the conversation may
 * come from a reader with another config. Like every session call, not
 * for two threads at once: one session per worker thread.
 * @since 0.1
 */
LC_API lc_status lc_session_parse(lc_session *session, lc_conversation *conv);
/**
 * Batch: read a whole buffer and analyse every conversation. Invokes
 * `cb` per report (report freed after the call); cb returning non-zero
 * stops with LC_ERR_CALLBACK. @since 0.1
 */
typedef int (*lc_report_fn)(const lc_report *report, void *userdata);
LC_API lc_status lc_check_buffer(const lc_config *cfg, const char *source,
                                 const void *buf, size_t len,
                                 lc_report_fn cb, void *userdata);
/** Free. NULL is a no-op. @since 0.1 */
LC_API void lc_report_free(lc_report *report);
LC_API const char *lc_report_conversation(const lc_report *report);
LC_API const char *lc_report_source(const lc_report *report);
LC_API uint64_t lc_report_line(const lc_report *report);
LC_API size_t lc_report_turn_count(const lc_report *report);
/** LC_OK if analysed; else why not (see lc_report_error). @since 0.1 */
LC_API lc_status lc_report_status(const lc_report *report);
LC_API const lc_error *lc_report_error(const lc_report *report);
LC_API size_t lc_report_finding_count(const lc_report *report);
LC_API const lc_finding *lc_report_finding(const lc_report *report,
                                           size_t i);
/** 1 if any assistant turn refuses (fully or partially). @since 0.1 */
LC_API int lc_report_refuses(const lc_report *report);
/** Hash of the first user turn's normalized text (0 if none). @since 0.1 */
LC_API uint64_t lc_report_prompt_hash(const lc_report *report);

/** Output formats for writers. @since 0.1 */
typedef enum lc_output {
    LC_OUTPUT_TEXT = 0,
    LC_OUTPUT_JSON = 1,
    LC_OUTPUT_JUNIT = 2,
    LC_OUTPUT_GITHUB = 3
} lc_output;

/** Parse an output name ("json"). @since 0.1 */
LC_API lc_status lc_output_from_name(const char *name, size_t len,
                                     lc_output *out);

/** Output callback: return non-zero to abort (-> LC_ERR_CALLBACK). */
typedef int (*lc_write_fn)(const char *data, size_t len, void *userdata);

/** Output flags. @since 0.1 */
typedef enum lc_write_flags {
    LC_WRITE_NONE = 0,
    LC_WRITE_COLOR = 1 << 0   /**< ANSI colour in text output */
} lc_write_flags;

/**
 * Write one report. JSON: one line, schema in doc/formats.md. @since 0.1
 */
LC_API lc_status lc_report_write(const lc_report *report, lc_output fmt,
                                 unsigned flags, lc_write_fn fn,
                                 void *userdata);

/** Bit of a kind in a kind set: LC_KIND_BIT(LC_KIND_EXACT_LOOP). @since 0.1 */
#define LC_KIND_BIT(kind) (UINT32_C(1) << (unsigned)(kind))

/**
 * Like lc_report_write, but only findings whose kind is in `fail_kinds`
 * (a set of LC_KIND_BIT values) "trip the gate": they become JUnit
 * <failure> elements, GitHub `::error` commands and "error" entries in
 * text; the other findings are written as JUnit <system-out> lines,
 * GitHub `::warning` commands and "note" entries. JSON output is the
 * same as lc_report_write. lc_report_write(...) equals
 * lc_report_write_gated(..., 0xFFFFFFFF, ...).
 * Returns LC_OK, LC_ERR_INVALID_ARG (NULL report/fn, unknown fmt),
 * LC_ERR_NOMEM or LC_ERR_CALLBACK. @since 0.1
 */
LC_API lc_status lc_report_write_gated(const lc_report *report,
                                       lc_output fmt, unsigned flags,
                                       uint32_t fail_kinds, lc_write_fn fn,
                                       void *userdata);

/* ------------------------------------------------------------------ */
/* Summary (mergeable counts)                                           */
/* ------------------------------------------------------------------ */

/*
 * A summary holds COUNTS only (rates are computed when written), so
 * shards of a run merge exactly: counts add, rates are recomputed, the
 * worst-case lists (top 5 conversations by finding count) are merged by
 * count, then source, line and id. The order is total: merging is
 * associative and commutative. Schema: doc/formats.md.
 */

/** New empty summary (holds a reference to cfg). [out] sum. @since 0.1 */
LC_API lc_status lc_summary_new(const lc_config *cfg, lc_summary **sum);
/** Free. NULL is a no-op. @since 0.1 */
LC_API void lc_summary_free(lc_summary *sum);
/**
 * Count one report: read++, then analysed++ or failed++ by its status;
 * per kind and per refusal family, the conversation counts once.
 * @since 0.1
 */
LC_API lc_status lc_summary_add(lc_summary *sum, const lc_report *report);
/**
 * Add all counts of `other` into `sum` (merging shards). All or nothing:
 * on LC_ERR_NOMEM `sum` is unchanged, so the merge can be retried.
 * `other` must be another summary: merging a summary into itself returns
 * LC_ERR_INVALID_ARG.
 * @since 0.1
 */
LC_API lc_status lc_summary_merge(lc_summary *sum, const lc_summary *other);
/**
 * Merge a summary object written as JSON by lc_summary_write (one line;
 * trailing whitespace allowed). LC_ERR_SYNTAX for malformed JSON,
 * LC_ERR_SCHEMA (sum unchanged) if "type" is not "summary", "schema" is
 * not 1, a count is missing or negative, or read != analysed + failed.
 * Kinds unknown to this version are skipped. @since 0.1
 */
LC_API lc_status lc_summary_merge_json(lc_summary *sum, const char *json,
                                       size_t len);
LC_API uint64_t lc_summary_read(const lc_summary *sum);
LC_API uint64_t lc_summary_analysed(const lc_summary *sum);
LC_API uint64_t lc_summary_failed(const lc_summary *sum);
/** Conversations with at least one finding of `kind`. @since 0.1 */
LC_API uint64_t lc_summary_kind_count(const lc_summary *sum, lc_kind kind);
/** Conversations with a refusal of `family` (by name). @since 0.1 */
LC_API uint64_t lc_summary_family_count(const lc_summary *sum,
                                        const char *family);
/**
 * Write the summary: JSON (one "type":"summary" object line), text (a
 * table), JUnit (a <testsuite name="loopcheck.summary"> with the counts
 * as properties) or GitHub (one ::notice). LC_ERR_CALLBACK if fn aborts.
 * @since 0.1
 */
LC_API lc_status lc_summary_write(const lc_summary *sum, lc_output fmt,
                                  unsigned flags, lc_write_fn fn,
                                  void *userdata);

/* ------------------------------------------------------------------ */
/* Diff between two runs                                                */
/* ------------------------------------------------------------------ */

/** Verdict of a diff. @since 0.1 */
typedef enum lc_verdict {
    LC_VERDICT_NO_CHANGE = 0,
    LC_VERDICT_REGRESSION = 1,
    LC_VERDICT_IMPROVEMENT = 2
} lc_verdict;

/** Diff statistics, a view valid while the diff lives. @since 0.1 */
typedef struct lc_diff_stats {
    uint64_t paired;
    uint64_t unpaired_baseline;
    uint64_t unpaired_candidate;
    uint64_t to_refusal;       /**< compliance -> refusal */
    uint64_t to_compliance;    /**< refusal -> compliance */
    uint64_t both_refuse;
    uint64_t loops_appeared;
    uint64_t loops_disappeared;
    uint64_t family_changed;   /**< refused in both, family differs */
    double rate_baseline;      /**< refusal rate over paired */
    double rate_candidate;
    double difference;         /**< candidate - baseline */
    double ci_low;             /**< 95% CI of the paired difference */
    double ci_high;
    double p_value;            /**< exact one-sided McNemar: candidate refuses more */
    double p_value_improvement;/**< exact one-sided: candidate refuses less */
    lc_verdict verdict;
} lc_diff_stats;

/** New empty diff, alpha 0.05 (holds a reference to cfg). @since 0.1 */
LC_API lc_status lc_diff_new(const lc_config *cfg, lc_diff **diff);
/** Free. NULL is a no-op. @since 0.1 */
LC_API void lc_diff_free(lc_diff *diff);
/**
 * Add a report of the baseline (side 0) or candidate (side 1); the
 * facts needed are copied. Reports whose status is not LC_OK are
 * ignored (LC_OK returned): they cannot be compared. @since 0.1
 */
LC_API lc_status lc_diff_add(lc_diff *diff, int side, const lc_report *report);
/** Significance level for the verdict, in (0, 1); default 0.05. @since 0.1 */
LC_API lc_status lc_diff_set_alpha(lc_diff *diff, double alpha);
/**
 * Pair and compute. Pairs by conversation id, then the rest by
 * lc_report_prompt_hash (duplicates pair in input order). With b =
 * to_refusal and c = to_compliance: p_value = lc_mcnemar_exact(b, b+c)
 * (one-sided, "candidate refuses more"), p_value_improvement =
 * lc_mcnemar_exact(c, b+c); difference = (b - c) / paired with a 95% CI
 * by Newcombe (1998) method 10 (Wilson score intervals + phi correlation,
 * no continuity correction); verdict = REGRESSION if p_value < alpha,
 * IMPROVEMENT if p_value_improvement < alpha, else NO_CHANGE. *stats
 * (may be NULL) is valid until the next add/set_alpha/free. @since 0.1
 */
LC_API lc_status lc_diff_compute(lc_diff *diff, const lc_diff_stats **stats);
/**
 * Write the computed diff (LC_ERR_STATE before lc_diff_compute): JSON one
 * "type":"diff" object (schema in doc/formats.md), text, JUnit (a
 * <testsuite name="loopcheck.diff">) or GitHub commands. @since 0.1
 */
LC_API lc_status lc_diff_write(const lc_diff *diff, lc_output fmt,
                               unsigned flags, lc_write_fn fn,
                               void *userdata);

/**
 * Binomial tail P(X >= k), X ~ Bin(n, 1/2): 1 for k = 0, 0 for k > n,
 * always in [0, 1], in bounded time for any n (at most ~300000 terms).
 * Precision: n <= 1000, exact sums (exact where a double can hold the
 * result, e.g. 1/32); 1000 < n <= 2^32, an exact sum with the leading
 * term in Loader's (2000) saddle-point form, relative error below 1e-10;
 * n > 2^32, the normal approximation with continuity correction,
 * absolute error below 1e-11 and relative error about z^4 / (12 n)
 * (z = (2k - 1 - n) / sqrt(n); below 4e-5 wherever the result is a
 * normal double), both shrinking as n grows. The smaller tail is
 * computed directly, so results near 0 keep their relative precision.
 * @since 0.1
 */
LC_API double lc_mcnemar_exact(uint64_t k, uint64_t n);

#ifdef __cplusplus
}
#endif
#endif /* LOOPCHECK_H */
