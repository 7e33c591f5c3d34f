/*
 * formats.c - the table of input formats and content sniffing.
 *
 * Auto-detection looks only at the first non-blank line:
 *   '[' then (after blanks) the end of the line, '{', '[', '"' or ']'
 *                                -> json (one document, array)
 *   '[' opening a bracketed timestamp: it closes within 40 bytes, holds
 *       a digit and is followed by a blank and then a letter (or '**',
 *       or a non-ASCII byte), as the transcript labels "[10:32] alice:"
 *       and "[2024-05-01 10:33:05] bob:" are    -> transcript
 *   '[' then a number, true, false or null followed by ',' or ']' or
 *       the end of the line                      -> json (the document
 *                                                      then says why it
 *                                                      is not one)
 *   '[' then anything else ("[INFO] ...", "[Music]", "[10:32]"): cannot
 *       start a JSON text                        -> transcript
 *   '{' and the line is a complete JSON object:
 *       has "messages" / "conversations"            -> jsonl
 *       has "role"/"from" and a conversation key
 *       (conversation_id, session_id, thread_id)    -> jsonl-turns
 *       anything else                               -> jsonl (each line
 *                                                      then reports why)
 *   '{' and the object continues on later lines:
 *       decided by the next non-blank line: if it is itself a complete
 *       conversation record (as above) the first line was a broken
 *       JSONL record -> jsonl / jsonl-turns; otherwise   -> json
 *       (a lone incomplete line at end of input         -> jsonl)
 *   '{' and a syntax error inside the line           -> jsonl (the error
 *                                                      is reported for
 *                                                      that line, the
 *                                                      rest goes on)
 *   anything else                                    -> transcript
 * An overlong first line (beyond max_line_bytes) is judged by its first
 * bytes only: '[' as above, '{' -> jsonl, else transcript.
 */
#include "input.h"

#include <json-c/json.h>
#include <string.h>

static const lci_format_vt *const table[] = {
    &lci_format_transcript,
    &lci_format_jsonl,
    &lci_format_turns,
    &lci_format_json,
};

const lci_format_vt *lci_format_get(lc_format id) {
    size_t i;
    for (i = 0; i < sizeof table / sizeof table[0]; i++)
        if (table[i]->id == id)
            return table[i];
    return NULL;
}

static bool has(struct json_object *o, const char *key) {
    return json_object_object_get_ex(o, key, NULL) != 0;
}

static int is_blank_ch(char c) { return c == ' ' || c == '\t'; }

static int is_letter(unsigned char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* The line p[0..len) starts with the bracketed timestamp of a transcript
 * label: the same test as format_transcript.c's find_label() (closing
 * ']' within 40 bytes, a digit inside, then a blank), plus what a label
 * starts with after the blanks: '**' (bold) or a letter or a non-ASCII
 * lead byte. "[10:32] alice: hi" is one; "[1, 2]" and "[1] [2]" are
 * not. */
static int timestamp_label(const char *p, size_t len) {
    size_t j, i;
    int digit = 0;
    for (j = 1; j < len && j <= 40 && p[j] != ']'; j++)
        digit |= p[j] >= '0' && p[j] <= '9';
    if (j >= len || p[j] != ']' || !digit || j + 1 >= len ||
        !is_blank_ch(p[j + 1]))
        return 0;
    for (i = j + 1; i < len && is_blank_ch(p[i]); i++)
        ;
    if (i >= len)
        return 0;
    return (len - i >= 2 && p[i] == '*' && p[i + 1] == '*') ||
           is_letter((unsigned char)p[i]) || (unsigned char)p[i] >= 0xC2;
}

/* A line starting with '[' (p[0]): json or transcript, by the rules in
 * the banner. */
static lc_format sniff_bracket(const char *p, size_t len) {
    static const char *const lit[] = {"true", "false", "null"};
    size_t i = 1, k;
    char c;
    while (i < len && is_blank_ch(p[i]))
        i++;
    if (i == len)
        return LC_FORMAT_JSON; /* "[" alone: a pretty-printed array */
    c = p[i];
    if (c == '{' || c == '[' || c == '"' || c == ']')
        return LC_FORMAT_JSON;
    if (timestamp_label(p, len))
        return LC_FORMAT_TRANSCRIPT;
    /* a first element that is a scalar: it must be followed by ',' or
     * ']' or the end of the line ("[10:32]" and "[2024-05-01 x]" are
     * not JSON) */
    k = i;
    if (c == '-' || (c >= '0' && c <= '9')) {
        while (k < len && ((p[k] >= '0' && p[k] <= '9') || p[k] == '.' ||
                           p[k] == 'e' || p[k] == 'E' || p[k] == '+' ||
                           p[k] == '-'))
            k++;
    } else {
        size_t m;
        for (m = 0; m < sizeof lit / sizeof lit[0]; m++) {
            size_t n = strlen(lit[m]);
            if (len - i >= n && memcmp(p + i, lit[m], n) == 0) {
                k = i + n;
                break;
            }
        }
        if (k == i)
            return LC_FORMAT_TRANSCRIPT; /* cannot start a JSON text */
    }
    while (k < len && is_blank_ch(p[k]))
        k++;
    return k == len || p[k] == ',' || p[k] == ']' ? LC_FORMAT_JSON
                                                   : LC_FORMAT_TRANSCRIPT;
}

const char *lci_not_text(const char *p, size_t len) {
    static const struct {
        const char *magic;
        size_t n;
        const char *msg;
    } kinds[] = {
        {"\x1f\x8b", 2, "gzip-compressed data, not text: decompress it first"},
        {"\x28\xb5\x2f\xfd", 4,
         "zstd-compressed data, not text: decompress it first"},
        {"\xfd" "7zXZ\0", 6, "xz-compressed data, not text: decompress it first"},
        {"BZh", 3, "bzip2-compressed data, not text: decompress it first"},
        {"PK\x03\x04", 4, "a zip archive, not text: extract it first"},
        {"\x04\x22\x4d\x18", 4,
         "lz4-compressed data, not text: decompress it first"},
        {"7z\xbc\xaf\x27\x1c", 6, "a 7z archive, not text: extract it first"},
        {"\xff\xfe", 2,
         "UTF-16 text (byte order mark FF FE): convert it to UTF-8 first"},
        {"\xfe\xff", 2,
         "UTF-16 text (byte order mark FE FF): convert it to UTF-8 first"},
    };
    size_t i;
    for (i = 0; i < sizeof kinds / sizeof kinds[0]; i++)
        if (len >= kinds[i].n && memcmp(p, kinds[i].magic, kinds[i].n) == 0 &&
            /* "BZh" is also a word: bzip2 goes on with the block size
             * and the block magic "1AY&SY" */
            (kinds[i].magic[0] != 'B' ||
             (len >= 10 && p[3] >= '1' && p[3] <= '9' &&
              memcmp(p + 4, "1AY&SY", 6) == 0)))
            return kinds[i].msg;
    /* A NUL byte alone does not decide: a transcript with a stray NUL
     * in its text is still read (fixtures/pathological/nul-in-text). */
    return NULL;
}

lc_format lci_format_sniff(lci_json *j, const char *p, size_t len,
                           int complete) {
    size_t i = 0;
    struct json_object *o;
    lci_json_err err;
    lc_format f;

    while (i < len && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if (i == len)
        return LC_FORMAT_TRANSCRIPT;
    if (p[i] == '[')
        return sniff_bracket(p + i, len - i);
    if (p[i] != '{')
        return LC_FORMAT_TRANSCRIPT;
    if (!complete)
        return LC_FORMAT_JSONL_CONV;
    /* a record the fast path takes has "messages" or "conversations":
     * no need for json-c's tree of it (for a first record of a million
     * short messages, 0.66 GB of the run's 1.04 GB peak) */
    if (lci_json_fast_is_record(j, p, len))
        return LC_FORMAT_JSONL_CONV;
    o = lci_json_parse(j, p, len, &err);
    if (!o) /* AUTO: undecided, ask lci_format_sniff_next() */
        return err.incomplete ? LC_FORMAT_AUTO : LC_FORMAT_JSONL_CONV;
    f = LC_FORMAT_JSONL_CONV;
    if (json_object_get_type(o) == json_type_object &&
        !has(o, "messages") && !has(o, "conversations") &&
        (has(o, "role") || has(o, "from")) && lci_json_turn_key(o, NULL))
        f = LC_FORMAT_JSONL_TURN;
    json_object_put(o);
    return f;
}

lc_format lci_format_sniff_next(lci_json *j, const char *p, size_t len) {
    struct json_object *o;
    lci_json_err err;
    lc_format f = LC_FORMAT_JSON;
    o = lci_json_parse(j, p, len, &err);
    if (!o)
        return f;
    if (json_object_get_type(o) == json_type_object) {
        if (has(o, "messages") || has(o, "conversations"))
            f = LC_FORMAT_JSONL_CONV;
        else if ((has(o, "role") || has(o, "from")) &&
                 lci_json_turn_key(o, NULL))
            f = LC_FORMAT_JSONL_TURN;
    }
    json_object_put(o);
    return f;
}
