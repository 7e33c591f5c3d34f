/*
 * input.h - private interfaces of the input layer (reader.c, formats.c,
 * json.c, format_*.c, conversation.c). Kept out of internal.h so that
 * json-c types do not leak into the rest of the library.
 *
 * Data flow: reader.c assembles lines (any chunking, CRLF / lone CR,
 * BOM, max_line_bytes) and hands each complete line to the active
 * format's vtable; the format builds lc_conversation objects and queues
 * them on the reader with lci_reader_emit(). Every line or record ends
 * up in exactly one conversation, good or failed, so counts reconcile.
 */
#ifndef LOOPCHECK_INPUT_H
#define LOOPCHECK_INPUT_H

#include "internal.h"

struct json_object;
struct json_tokener;

/* ------------------------------------------------------------------ */
/* UTF-8 helpers (conversation.c)                                       */
/* ------------------------------------------------------------------ */

/* Length of the longest valid UTF-8 prefix of s[0..n): n if all valid,
 * else the byte offset of the first invalid sequence. Rejects overlong
 * forms, surrogates and code points above U+10FFFF. */
size_t lci_utf8_valid_prefix(const char *s, size_t n);

/* ------------------------------------------------------------------ */
/* Reader services for formats (reader.c)                               */
/* ------------------------------------------------------------------ */

/* Config snapshot of the reader. */
const lc_config *lci_reader_config(const lc_reader *r);
/* Source name ("" if none). */
const char *lci_reader_source(const lc_reader *r);
/* The reader's JSON adapter (one tokener, reused). */
struct lci_json *lci_reader_json(lc_reader *r);
/* New conversation for data starting at (line, off): source, format and
 * the default id "source:line" are set. */
lc_status lci_reader_conv_new(lc_reader *r, uint64_t line, uint64_t off,
                              lc_conversation **out);
/* Queue a finished conversation (ownership moves to the reader; on
 * failure the conversation is freed). */
lc_status lci_reader_emit(lc_reader *r, lc_conversation *c);
/* Queue a failed conversation for the record starting at (line, off)
 * with one error diagnostic at (line, col, err_off). */
lc_status lci_reader_emit_error(lc_reader *r, uint64_t line, uint64_t off,
                                lc_status st, uint64_t eline, uint64_t ecol,
                                uint64_t err_off, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 8, 9)))
#endif
    ;

/* ------------------------------------------------------------------ */
/* Formats (formats.c, format_*.c)                                      */
/* ------------------------------------------------------------------ */

/* One format. Lines arrive without their terminator; `off` is the byte
 * offset of the line's first byte in the stream. Callbacks return only
 * fatal statuses (LC_ERR_NOMEM, LC_ERR_INTERNAL); bad data becomes a
 * failed conversation. */
typedef struct lci_format_vt {
    lc_format id;
    const char *name;
    lc_status (*create)(lc_reader *r, void **state);
    lc_status (*line)(void *state, lc_reader *r, const char *p, size_t len,
                      uint64_t line, uint64_t off);
    /* A line longer than max_line_bytes was skipped; `len` is its full
     * length. */
    lc_status (*overlong)(void *state, lc_reader *r, uint64_t line,
                          uint64_t off, uint64_t len);
    lc_status (*finish)(void *state, lc_reader *r);
    void (*destroy)(void *state, const lci_alloc *a);
} lci_format_vt;

extern const lci_format_vt lci_format_transcript;
extern const lci_format_vt lci_format_jsonl;
extern const lci_format_vt lci_format_turns;
extern const lci_format_vt lci_format_json;

/* Vtable of a format id (NULL for AUTO / unknown). */
const lci_format_vt *lci_format_get(lc_format id);
/* Decide the format from the first non-blank line (complete, or the
 * first `len` bytes of an overlong line when `complete` is 0). Returns
 * LC_FORMAT_AUTO when the line is an unfinished JSON object: then the
 * next non-blank line decides, via lci_format_sniff_next(). */
lc_format lci_format_sniff(struct lci_json *j, const char *p, size_t len,
                           int complete);
/* What the first line of an input that is not text is, as an error
 * message ("gzip-compressed data, not text: decompress it first"), from
 * its magic bytes: compressed data, archives, UTF-16; NULL for anything
 * else (text, or binary data without a known magic). Whatever the
 * format, such an input gives this one error and nothing else. */
const char *lci_not_text(const char *p, size_t len);
/* Second line after an unfinished first object: jsonl / jsonl-turns if
 * it is a complete conversation record by itself, else json. */
lc_format lci_format_sniff_next(struct lci_json *j, const char *p,
                                size_t len);

/* ------------------------------------------------------------------ */
/* JSON adapter (json.c) - the only file that talks to json-c besides   */
/* the formats that walk parsed trees through the helpers below.        */
/* ------------------------------------------------------------------ */

typedef struct lci_json lci_json;

/* Result of a failed parse: status (LC_ERR_SYNTAX or LC_ERR_LIMIT), the
 * byte offset of the failure within the parsed text, and a message. */
typedef struct lci_json_err {
    lc_status status;
    size_t off;
    int incomplete; /* the text ended inside the value */
    char msg[128];
} lci_json_err;

lc_status lci_json_new(const lci_alloc *a, int depth, lci_json **out);
void lci_json_free(lci_json *j);
/* Parse an unparsed conversation (format_jsonl.c): with *cache, a parser
 * kept by the caller (made with a on first use), else one for this call. */
lc_status lci_conv_parse(lc_conversation *c, lci_json **cache,
                         const lci_alloc *a);
/* The nesting limit j was made with. */
int lci_json_depth(const lci_json *j);

/* Parse exactly one JSON value filling text[0..len) (surrounding
 * whitespace allowed). Returns the value (caller json_object_put()s it)
 * or NULL with *err filled. NULL with err->status == LC_ERR_NOMEM is
 * fatal. */
struct json_object *lci_json_parse(lci_json *j, const char *text, size_t len,
                                   lci_json_err *err);

/* Incremental parse of a value that may span chunks (JSON documents).
 * lci_json_stream_reset() before each value; lci_json_stream_feed()
 * returns LC_OK with *out set and *used = bytes consumed when the value
 * is complete, LC_NEED_INPUT when all of p[0..len) was consumed, or an
 * error with err filled (err->off relative to p). */
void lci_json_stream_reset(lci_json *j);
lc_status lci_json_stream_feed(lci_json *j, const char *p, size_t len,
                               struct json_object **out, size_t *used,
                               lci_json_err *err);
/* End of input while a value is open: completes a trailing number or
 * reports "unexpected end of data". */
lc_status lci_json_stream_end(lci_json *j, struct json_object **out,
                              lci_json_err *err);

/* Canonical JSON text of a value: objects with keys sorted bytewise, no
 * insignificant whitespace, strings escaped per RFC 8259. Appends. */
lc_status lci_json_canonical(const struct json_object *v, lci_buf *out);

/* Source position of a record (line and column 1-based, off 0-based in
 * the stream). */
typedef struct lci_pos {
    uint64_t line, col, off;
} lci_pos;

/* Where a parsed value came from. json-c keeps no source offsets for
 * the elements of a tree, so positions inside the value are recovered
 * from its raw text (p, one source line: a JSONL line, or a JSON
 * document element that starts and ends on one line) by a small scanner
 * that runs only when a diagnostic is written, never for a clean record.
 * Without raw text (p NULL: an element spanning lines, whose text is not
 * kept) every position is `pos`, the value's start, and the message
 * names the message's index. Cursors make the scans of one value O(len)
 * in total when positions are asked in order. */
typedef struct lci_json_src {
    const char *p; /* raw text of the value, or NULL */
    size_t len;
    lci_pos pos;   /* position of p[0] (of the value) */
    int is_msg;    /* the value is one message, not a conversation */
    /* cursors, private to json.c: zero-initialize */
    const char *akey;        /* key of the messages array taken */
    size_t arr;              /* index of its '[' + 1; 0: not looked up */
    size_t msg_idx, msg_at;  /* last message found: 1-based index, byte */
    size_t col_at, msg_col_at;
    uint64_t col, msg_col;   /* column of p[col_at], p[msg_col_at] */
} lci_json_src;

/* A source for a value with no raw text, at pos. */
lci_json_src lci_json_src_at(lci_pos pos, int is_msg);
/* A source for raw text p[0..len) on one line, p[0] at pos. */
lci_json_src lci_json_src_text(const char *p, size_t len, lci_pos pos,
                               int is_msg);

/* The common JSONL record, recognized without json-c (json_scan.c has
 * the shape it takes). Strings are the bodies between their quotes in
 * the record's text, escapes still in (esc != 0). */
typedef struct lci_jstr {
    size_t off, len;
    int esc;
} lci_jstr;

typedef struct lci_jcall {
    lci_jstr name, args;
    int has_args;
} lci_jcall;

typedef struct lci_jmsg {
    lci_jstr role, text;
    lc_role r;
    int has_text;  /* a string; else null, absent, or parts */
    int has_parts; /* a list of text parts: rec->parts[part0..+nparts) */
    size_t part0, nparts;
    int has_calls; /* a "tool_calls" array, maybe empty */
    size_t call0, ncalls; /* its calls: rec->calls[call0..+ncalls) */
} lci_jmsg;

typedef struct lci_jrec {
    const lci_alloc *a; /* for the arrays, kept from record to record */
    lci_jstr id;
    int has_id;
    int conversations; /* the array's key is "conversations" */
    lci_jmsg *msgs;
    size_t nmsgs, capmsgs;
    lci_jcall *calls;
    size_t ncalls, capcalls;
    lci_jstr *parts;
    size_t nparts, capparts;
} lci_jrec;

/* 1 if p[0..n) is a record of that shape under nesting limit max_depth,
 * described in rec; 0 if not (nothing is said about why: json-c will
 * parse it), with *st LC_ERR_NOMEM if rec could not grow. With rec_end,
 * the record only has to start p[0..n) (after whitespace): *rec_end is
 * the index just past its '}', and what follows is not looked at. */
int lci_json_scan_record(lci_jrec *rec, const char *p, size_t n,
                         int max_depth, size_t *rec_end, lc_status *st);
/* Append the text of a string body the scan took (escapes decoded). */
lc_status lci_json_unescape(const char *p, size_t n, lci_buf *out);
void lci_jrec_free(lci_jrec *rec);

/* Build c from the raw record src->p[0..src->len) without json-c when
 * lci_json_scan_record takes it: returns 1 with *st the status
 * lci_json_conversation would return on json-c's tree (c is then what
 * it would be: lci_conv_expect, id, turns), or 0 with c untouched and
 * *st LC_OK (parse it with json-c) or LC_ERR_NOMEM (fatal). */
int lci_json_fast_conversation(lci_json *j, lc_conversation *c,
                               lci_json_src *src, lc_status *st);
/* The same in two steps, for callers that must know before they make
 * the conversation: lci_json_fast_scan says whether the fast path takes
 * p[0..len) (with rec_end: a record starting there, as
 * lci_json_scan_record) under cfg's limits (0: json-c, *st as above),
 * then lci_json_fast_build fills c from that scan (src->p must be p). */
int lci_json_fast_scan(lci_json *j, const lc_config *cfg, const char *p,
                       size_t len, size_t *rec_end, lc_status *st);
lc_status lci_json_fast_build(lci_json *j, lc_conversation *c,
                              lci_json_src *src);
/* The same for one line of jsonl-turns (a message object with its
 * conversation key): 1 if lci_json_scan_turn takes it, with *key,
 * *keylen the text lci_json_turn_key would give (in p); then
 * lci_json_fast_turn_add appends its turn to c as lci_json_message
 * would, at pos. 0 and *st as above: parse it with json-c. */
int lci_json_scan_turn(lci_jrec *rec, const char *p, size_t n,
                       int max_depth, lc_status *st);
int lci_json_fast_turn_scan(lci_json *j, const char *p, size_t len,
                            const char **key, size_t *keylen,
                            lc_status *st);
lc_status lci_json_fast_turn_add(lci_json *j, lc_conversation *c,
                                 const char *p, lci_pos pos);
/* 1 if lci_json_scan_record takes p[0..len) (so it is a JSONL record with
 * "messages" or "conversations"), for format sniffing; 0 otherwise,
 * out of memory included. */
int lci_json_fast_is_record(lci_json *j, const char *p, size_t len);
/* Tests: turn the fast path off (0) or on (1, the default) for j; count
 * the records it took and declined. */
void lci_json_set_fast(lci_json *j, int on);
void lci_json_fast_counts(const lci_json *j, size_t *taken,
                          size_t *declined);

/* Build conversation turns from a parsed conversation object
 * ({"messages":[...]} or {"conversations":[...]}, optional "id" string
 * or number). Schema problems become diagnostics on c at the offending
 * element (an error makes c failed); returns only fatal statuses. `j`
 * parses tool-call arguments that are JSON inside a string. */
lc_status lci_json_conversation(lci_json *j, lc_conversation *c,
                                struct json_object *obj, lci_json_src *src);

/* One message of src (src->is_msg) as lci_json_message. */
lc_status lci_json_message_src(lci_json *j, lc_conversation *c,
                               struct json_object *msg, lci_json_src *src,
                               size_t idx);

/* One warning LC_ERR_UTF8 per turn of c from `from` (0-based) on that
 * is flagged LC_TURN_REPAIRED, at the first invalid byte of the fields
 * its text came from (content / value, tool_calls, function_call) in
 * src; turn k + 1 is message k + 1 of a conversation, or the message
 * src itself (src->is_msg: `idx` is its index, 0 = none). */
lc_status lci_json_utf8_turns(lc_conversation *c, lci_json_src *src,
                              size_t from, size_t idx);

/* Byte index of the first invalid UTF-8 byte in the turn-text fields
 * of the message object whose raw text starts at p[0] (p[0..len) one
 * line), or SIZE_MAX if none is there. */
size_t lci_json_text_bad(const char *p, size_t len);

/* One message object ({"role","content",...} or {"from","value"}) ->
 * one turn appended to c. `idx` (1-based, 0 = none) names the message
 * in diagnostics ("message 3: ..."). Returns fatal statuses only. */
lc_status lci_json_message(lci_json *j, lc_conversation *c,
                           struct json_object *msg, lci_pos pos, size_t idx);

/* Conversation key of a turn-per-line record (conversation_id,
 * session_id or thread_id; string or number) as text into out (may be
 * NULL: presence test). Returns false if absent or of another type. */
bool lci_json_turn_key(struct json_object *obj, lci_buf *out);

/* Index of the first turn of c flagged LC_TURN_REPAIRED (1-based), or
 * -1. */
int64_t lci_conv_first_repaired(const lc_conversation *c);

/* Record a warning for invalid UTF-8 in raw source bytes
 * line_text[0..len) of source line `line` starting at stream offset
 * `off`, if any; turn is the 1-based turn or -1. The line is one JSON
 * message (jsonl-turns): the warning points at the first invalid byte
 * of its turn-text fields (lci_json_text_bad), else of the line. */
lc_status lci_input_utf8_warn(lc_conversation *c, const char *line_text,
                              size_t len, uint64_t line, uint64_t off,
                              int64_t turn);

#endif /* LOOPCHECK_INPUT_H */
