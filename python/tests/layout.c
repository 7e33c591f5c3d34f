/*
 * layout.c - prints sizeof/offsetof of the public structs the Python
 * binding mirrors with ctypes, as JSON; test_binding.py compares them.
 */
#include <stddef.h>
#include <stdio.h>

#include "loopcheck.h"

#define FIELD(T, f) printf(",\"%s\":%zu", #f, offsetof(T, f))

int main(void) {
    printf("{");
    printf("\"lc_error\":{\"sizeof\":%zu", sizeof(lc_error));
    FIELD(lc_error, status);
    FIELD(lc_error, severity);
    FIELD(lc_error, code);
    FIELD(lc_error, message);
    FIELD(lc_error, source);
    FIELD(lc_error, line);
    FIELD(lc_error, column);
    FIELD(lc_error, offset);
    FIELD(lc_error, turn);
    printf("}");
    printf(",\"lc_finding\":{\"sizeof\":%zu", sizeof(lc_finding));
    FIELD(lc_finding, id);
    FIELD(lc_finding, event);
    FIELD(lc_finding, kind);
    FIELD(lc_finding, kind_name);
    FIELD(lc_finding, first_turn);
    FIELD(lc_finding, last_turn);
    FIELD(lc_finding, first_line);
    FIELD(lc_finding, last_line);
    FIELD(lc_finding, role);
    FIELD(lc_finding, speaker);
    FIELD(lc_finding, score);
    FIELD(lc_finding, turns);
    FIELD(lc_finding, turn_count);
    FIELD(lc_finding, excerpt);
    FIELD(lc_finding, evidence);
    FIELD(lc_finding, period);
    FIELD(lc_finding, repeats);
    FIELD(lc_finding, count);
    FIELD(lc_finding, words);
    FIELD(lc_finding, share);
    FIELD(lc_finding, family);
    FIELD(lc_finding, families);
    FIELD(lc_finding, partial);
    FIELD(lc_finding, span_start);
    FIELD(lc_finding, span_end);
    FIELD(lc_finding, pushback);
    FIELD(lc_finding, helpful);
    printf("}");
    printf(",\"lc_pattern_info\":{\"sizeof\":%zu", sizeof(lc_pattern_info));
    FIELD(lc_pattern_info, family);
    FIELD(lc_pattern_info, text);
    FIELD(lc_pattern_info, origin);
    FIELD(lc_pattern_info, enabled);
    printf("}");
    printf(",\"lc_diff_stats\":{\"sizeof\":%zu", sizeof(lc_diff_stats));
    FIELD(lc_diff_stats, paired);
    FIELD(lc_diff_stats, unpaired_baseline);
    FIELD(lc_diff_stats, unpaired_candidate);
    FIELD(lc_diff_stats, to_refusal);
    FIELD(lc_diff_stats, to_compliance);
    FIELD(lc_diff_stats, both_refuse);
    FIELD(lc_diff_stats, loops_appeared);
    FIELD(lc_diff_stats, loops_disappeared);
    FIELD(lc_diff_stats, family_changed);
    FIELD(lc_diff_stats, rate_baseline);
    FIELD(lc_diff_stats, rate_candidate);
    FIELD(lc_diff_stats, difference);
    FIELD(lc_diff_stats, ci_low);
    FIELD(lc_diff_stats, ci_high);
    FIELD(lc_diff_stats, p_value);
    FIELD(lc_diff_stats, p_value_improvement);
    FIELD(lc_diff_stats, verdict);
    printf("}");
    printf(",\"lc_turn\":{\"sizeof\":%zu", sizeof(lc_turn));
    FIELD(lc_turn, index);
    FIELD(lc_turn, role);
    FIELD(lc_turn, speaker);
    FIELD(lc_turn, text);
    FIELD(lc_turn, text_len);
    FIELD(lc_turn, norm);
    FIELD(lc_turn, norm_len);
    FIELD(lc_turn, hash);
    FIELD(lc_turn, line);
    FIELD(lc_turn, column);
    FIELD(lc_turn, offset);
    FIELD(lc_turn, flags);
    FIELD(lc_turn, words);
    printf("}");
    printf("}\n");
    return 0;
}
