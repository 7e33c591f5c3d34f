/*
 * formats.c - the table of input formats and content sniffing.
 *
 * Auto-detection looks only at the first non-blank line:
 *   '['                          -> json (one document, array)
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
 * byte only: '[' -> json, '{' -> jsonl, else transcript.
 */
#include "input.h"

#include <json-c/json.h>

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
        return LC_FORMAT_JSON;
    if (p[i] != '{')
        return LC_FORMAT_TRANSCRIPT;
    if (!complete)
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
