/*
 * gate.c - what makes a run fail (exit 1), and the config file.
 *
 * Gate rules:
 *   fail_on KINDS   a conversation with a finding of one of KINDS fails
 *                   the run. Default when no rule at all is given: every
 *                   kind (any finding fails), like a linter. "none" = no
 *                   kind.
 *   max_rate NAME=X the share of analysed conversations with a finding of
 *                   kind NAME (or a refusal of family NAME) must not be
 *                   above X (0..1). A rule whose detector is not run
 *                   (--kinds) is reported as not measured, with a warning.
 *
 * Config file (loopcheck.toml; a tiny TOML subset, one setting a line):
 *
 *   # comment
 *   [gate]
 *   fail_on = ["exact_loop", "refusal_loop"]
 *   max_rate.refusal = 0.05
 *   [diff]
 *   alpha = 0.05
 *   max_new_refusals = 2
 *   max_rate_increase = 0.05       # may be < 0: the rate must drop
 *   max_new_loops = 0              # the default
 *   [input]
 *   format = "jsonl"
 *   assistant = ["Therapist"]
 *   user = ["Patient"]
 *   patterns = ["refusals.txt"]    # relative to the config file
 *   [options]
 *   min_repeats = 4                # any lc_opt name (loopcheck(1))
 *
 * Values: "strings" (\" and \\ escapes), numbers, and one-line arrays of
 * strings. Errors print as FILE:LINE: error: MESSAGE [LC-E035].
 */
#include "cli.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

void settings_init(settings *s) {
    memset(s, 0, sizeof *s);
    s->max_new_refusals = -1;
}

static void free_list(char **v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void settings_free(settings *s) {
    size_t i;
    for (i = 0; i < s->nrates; i++) {
        free(s->rates[i].name);
        free(s->rates[i].where);
    }
    free(s->input_format);
    free_list(s->assistants, s->nassistants);
    free_list(s->users, s->nusers);
    free_list(s->pattern_files, s->npattern_files);
    free_list(s->opts, s->nopts);
    memset(s, 0, sizeof *s);
}

static void push(char ***v, size_t *n, const char *s, size_t len) {
    char *d = xmalloc(len + 1);
    memcpy(d, s, len);
    d[len] = '\0';
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = d;
}

/* Add one kind name ("all", "none" or a finding kind) to *mask; an
 * unknown name is reported as WHERE: error: ... [code]. */
static int add_kind(uint32_t *mask, const char *name, size_t len,
                    const char *where, lc_status code) {
    lc_kind k;
    if (len == 4 && memcmp(name, "none", 4) == 0)
        return 0;
    if (len == 3 && memcmp(name, "all", 3) == 0) {
        *mask = 0xFFFFFFFFu;
        return 0;
    }
    if (lc_kind_from_name(name, len, &k) != LC_OK) {
        fprintf(stderr, "%s: error: unknown finding kind '%.*s' [%s]\n",
                where, (int)len, name, lc_status_code(code));
        return -1;
    }
    *mask |= LC_KIND_BIT(k);
    return 0;
}

/* A comma-separated list of kind names into *mask (cleared first). An
 * empty list ("" or ",") is an error: "none" says "no kind" explicitly. */
static int parse_kind_list(uint32_t *mask, const char *arg,
                           const char *where) {
    const char *p = arg;
    int items = 0;
    *mask = 0;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        if (n && add_kind(mask, p, n, where, LC_ERR_INVALID_ARG) != 0)
            return -1;
        items += n > 0;
        p += n + (e ? 1 : 0);
    }
    if (!items) {
        fprintf(stderr, "%s: error: no finding kind given (kind names, "
                        "'all' or 'none') [%s]\n",
                where, lc_status_code(LC_ERR_INVALID_ARG));
        return -1;
    }
    return 0;
}

int gate_parse_fail_on(settings *s, const char *arg, const char *where) {
    s->fail_on_set = 1;
    return parse_kind_list(&s->fail_kinds, arg, where);
}

int gate_parse_kinds(settings *s, const char *arg, const char *where) {
    uint32_t m;
    if (parse_kind_list(&m, arg, where) != 0)
        return -1;
    if (!m) {
        fprintf(stderr, "%s: error: no finding kind selected [%s]\n", where,
                lc_status_code(LC_ERR_INVALID_ARG));
        return -1;
    }
    s->kinds = m;
    s->kinds_set = 1;
    return 0;
}

static int parse_rate(const char *v, size_t n, double *out) {
    char tmp[64], *end;
    double x;
    if (n == 0 || n >= sizeof tmp)
        return -1;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    errno = 0;
    x = strtod(tmp, &end);
    if (errno || *end || !(x >= 0.0 && x <= 1.0))
        return -1;
    *out = x;
    return 0;
}

/* Add the rule NAME <= x. `file_where` is "FILE:LINE" for a config
 * file rule, NULL for --max-rate (`where` names the source in errors).
 * The command line replaces a config file's rule of the same name; the
 * same name twice from one source is an error, not "the last one wins". */
static int set_rate(settings *s, const char *name, size_t nlen, double x,
                    const char *where, const char *file_where) {
    size_t i;
    for (i = 0; i < s->nrates; i++) {
        rate_rule *r = &s->rates[i];
        if (strlen(r->name) != nlen || memcmp(r->name, name, nlen) != 0)
            continue;
        if ((r->where != NULL) == (file_where != NULL)) {
            if (file_where)
                fprintf(stderr, "%s: error: max_rate.%s set twice (first "
                                "at %s) [%s]\n",
                        where, r->name, r->where,
                        lc_status_code(LC_ERR_CONFIG_FILE));
            else
                fprintf(stderr, "%s: error: rate rule '%s' given twice (%g, "
                                "then %g) [%s]\n",
                        where, r->name, r->max, x,
                        lc_status_code(LC_ERR_INVALID_ARG));
            return -1;
        }
        r->max = x;
        free(r->where);
        r->where = file_where ? xstrdup(file_where) : NULL;
        return 0;
    }
    if (s->nrates == MAX_RATE_RULES) {
        fprintf(stderr, "%s: error: too many rate rules (at most %d) [%s]\n",
                where, MAX_RATE_RULES,
                lc_status_code(file_where ? LC_ERR_CONFIG_FILE
                                          : LC_ERR_LIMIT));
        return -1;
    }
    s->rates[s->nrates].name = xmalloc(nlen + 1);
    memcpy(s->rates[s->nrates].name, name, nlen);
    s->rates[s->nrates].name[nlen] = '\0';
    s->rates[s->nrates].max = x;
    s->rates[s->nrates].where = file_where ? xstrdup(file_where) : NULL;
    s->nrates++;
    return 0;
}

int gate_parse_max_rate(settings *s, const char *arg, const char *where) {
    const char *p = arg;
    if (!*arg) {
        fprintf(stderr, "%s: error: no rate rule given (expected "
                        "NAME=RATE[,...]) [%s]\n",
                where, lc_status_code(LC_ERR_INVALID_ARG));
        return -1;
    }
    while (*p) {
        const char *e = strchr(p, ',');
        size_t n = e ? (size_t)(e - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        double x;
        if (n) {
            if (!eq || eq == p ||
                parse_rate(eq + 1, n - (size_t)(eq + 1 - p), &x) != 0) {
                fprintf(stderr,
                        "%s: error: bad rate rule '%.*s' (expected "
                        "NAME=RATE with RATE between 0 and 1) [%s]\n",
                        where, (int)n, p, lc_status_code(LC_ERR_INVALID_ARG));
                return -1;
            }
            if (set_rate(s, p, (size_t)(eq - p), x, where, NULL) != 0)
                return -1;
        }
        p += n + (e ? 1 : 0);
    }
    return 0;
}

int gate_resolve(settings *s, const lc_config *cfg) {
    size_t i, j, np = lc_config_pattern_count(cfg);
    for (i = 0; i < s->nrates; i++) {
        rate_rule *r = &s->rates[i];
        int found = 0;
        if (lc_kind_from_name(r->name, strlen(r->name), &r->kind) == LC_OK) {
            r->is_kind = 1;
            continue;
        }
        for (j = 0; j < np && !found; j++) {
            const lc_pattern_info *pi = lc_config_pattern(cfg, j);
            if (pi && pi->family && strcmp(pi->family, r->name) == 0)
                found = 1;
        }
        if (!found && r->where) {
            fprintf(stderr,
                    "%s: error: max_rate.%s: '%s' is neither a finding kind "
                    "nor a refusal family (see 'loopcheck patterns') [%s]\n",
                    r->where, r->name, r->name,
                    lc_status_code(LC_ERR_CONFIG_FILE));
            return -1;
        }
        if (!found) {
            fprintf(stderr,
                    "%s: error: --max-rate: '%s' is neither a finding kind "
                    "nor a refusal family (see 'loopcheck patterns') [%s]\n",
                    prog, r->name, lc_status_code(LC_ERR_INVALID_ARG));
            return -1;
        }
    }
    return 0;
}

int gate_kind_measured(const lc_config *cfg, lc_kind k) {
    int64_t kinds = 0;
    if (lc_config_get(cfg, LC_OPT_KINDS, &kinds) != LC_OK)
        return 1;
    return (unsigned)k < 32 && (kinds & (int64_t)LC_KIND_BIT(k)) != 0;
}

/* A rule's detector: its kind, or refusal for a family. */
static int rule_measured(const rate_rule *r, const lc_config *cfg) {
    return gate_kind_measured(cfg, r->is_kind ? r->kind : LC_KIND_REFUSAL);
}

void gate_warn_unmeasured(const settings *s, const lc_config *cfg) {
    size_t i;
    unsigned k;
    if (s->fail_on_set && s->fail_kinds != 0xFFFFFFFFu)
        for (k = 0; k < 32; k++)
            if ((s->fail_kinds & LC_KIND_BIT(k)) && lc_kind_name((lc_kind)k) &&
                !gate_kind_measured(cfg, (lc_kind)k))
                fprintf(stderr,
                        "%s: warning: fail_on %s can never fail: the %s "
                        "detector is not run (--kinds) [%s]\n",
                        prog, lc_kind_name((lc_kind)k),
                        lc_kind_name((lc_kind)k),
                        lc_status_code(LC_ERR_INVALID_ARG));
    for (i = 0; i < s->nrates; i++)
        if (!rule_measured(&s->rates[i], cfg))
            fprintf(stderr,
                    "%s: warning: max_rate %s can never fail: the %s "
                    "detector is not run (--kinds) [%s]\n",
                    prog, s->rates[i].name,
                    s->rates[i].is_kind ? s->rates[i].name : "refusal",
                    lc_status_code(LC_ERR_INVALID_ARG));
}

uint32_t gate_fail_kinds(const settings *s) {
    if (!s->fail_on_set && s->nrates == 0)
        return 0xFFFFFFFFu; /* default: any finding fails */
    return s->fail_on_set ? s->fail_kinds : 0;
}

int gate_report_trips(const settings *s, const lc_report *r) {
    uint32_t set = gate_fail_kinds(s);
    size_t i, n = lc_report_finding_count(r);
    for (i = 0; i < n; i++) {
        const lc_finding *f = lc_report_finding(r, i);
        if ((unsigned)f->kind < 32 && (set & LC_KIND_BIT(f->kind)))
            return 1;
    }
    return 0;
}

static void add_rule(gate_result *g, const char *key, const char *arg,
                     double value, double limit, int failed,
                     const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 7, 8)))
#endif
    ;

/* One rule of the gate: key ("fail_on", "max_rate") and its argument
 * make its name; value and limit are what was compared. */
static void add_rule(gate_result *g, const char *key, const char *arg,
                     double value, double limit, int failed,
                     const char *fmt, ...) {
    va_list ap;
    sbuf m = {0}, name = {0};
    char tmp[512];
    size_t n = g->nrules + 1;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    sb_puts(&m, tmp);
    sb_printf(&name, "%s %s", key, arg);
    g->rule_names = xrealloc(g->rule_names, n * sizeof(char *));
    g->rule_msgs = xrealloc(g->rule_msgs, n * sizeof(char *));
    g->rule_failed = xrealloc(g->rule_failed, n * sizeof(int));
    g->rule_keys = xrealloc(g->rule_keys, n * sizeof(char *));
    g->rule_args = xrealloc(g->rule_args, n * sizeof(char *));
    g->rule_values = xrealloc(g->rule_values, n * sizeof(double));
    g->rule_limits = xrealloc(g->rule_limits, n * sizeof(double));
    g->rule_names[g->nrules] = name.data;
    g->rule_msgs[g->nrules] = m.data;
    g->rule_failed[g->nrules] = failed;
    g->rule_keys[g->nrules] = key;
    g->rule_args[g->nrules] = xstrdup(arg);
    g->rule_values[g->nrules] = value;
    g->rule_limits[g->nrules] = limit;
    g->nrules++;
    if (failed) {
        g->nfailed++;
        g->failed = 1;
    }
}

void gate_eval(const settings *s, const lc_summary *sum,
               uint64_t tripping, const lc_config *cfg, gate_result *g) {
    uint64_t analysed = lc_summary_analysed(sum);
    uint32_t set = gate_fail_kinds(s);
    size_t i;
    memset(g, 0, sizeof *g);
    if (set) {
        sbuf names = {0}, unmeasured = {0};
        if (set == 0xFFFFFFFFu) {
            sb_puts(&names, "any");
        } else {
            unsigned k;
            for (k = 0; k < 32; k++)
                if ((set & LC_KIND_BIT(k)) && lc_kind_name((lc_kind)k)) {
                    if (names.len)
                        sb_puts(&names, ",");
                    sb_puts(&names, lc_kind_name((lc_kind)k));
                    if (!gate_kind_measured(cfg, (lc_kind)k)) {
                        if (unmeasured.len)
                            sb_puts(&unmeasured, ",");
                        sb_puts(&unmeasured, lc_kind_name((lc_kind)k));
                    }
                }
        }
        {
            add_rule(g, "fail_on", names.data ? names.data : "",
                     (double)tripping, 0, tripping > 0,
                     "%llu conversation%s with findings%s%s%s%s%s",
                     (unsigned long long)tripping, tripping == 1 ? "" : "s",
                     set == 0xFFFFFFFFu ? "" : " of kind ",
                     set == 0xFFFFFFFFu ? "" : names.data,
                     unmeasured.len ? " (not measured: " : "",
                     unmeasured.len ? unmeasured.data : "",
                     unmeasured.len ? ")" : "");
        }
        sb_free(&names);
        sb_free(&unmeasured);
    }
    for (i = 0; i < s->nrates; i++) {
        const rate_rule *r = &s->rates[i];
        uint64_t n = r->is_kind ? lc_summary_kind_count(sum, r->kind)
                                : lc_summary_family_count(sum, r->name);
        double rate = analysed ? (double)n / (double)analysed : 0.0;
        if (!rule_measured(r, cfg)) {
            add_rule(g, "max_rate", r->name, 0, r->max, 0,
                     "%s rate not measured: the %s detector is not run "
                     "(--kinds)",
                     r->name, r->is_kind ? r->name : "refusal");
            continue;
        }
        add_rule(g, "max_rate", r->name, rate, r->max, rate > r->max,
                 "%s rate %.4g (%llu of %llu conversations) %s max %g",
                 r->name, rate, (unsigned long long)n,
                 (unsigned long long)analysed, rate > r->max ? ">" : "<=",
                 r->max);
    }
}

void gate_result_free(gate_result *g) {
    size_t i;
    for (i = 0; i < g->nrules; i++) {
        free(g->rule_names[i]);
        free(g->rule_msgs[i]);
        free(g->rule_args[i]);
    }
    free(g->rule_names);
    free(g->rule_msgs);
    free(g->rule_failed);
    free((void *)g->rule_keys);
    free(g->rule_args);
    free(g->rule_values);
    free(g->rule_limits);
    sb_free(&g->lines);
    memset(g, 0, sizeof *g);
}

/* ------------------------------------------------------------------ */
/* Config file                                                          */
/* ------------------------------------------------------------------ */

typedef struct cfile {
    const char *path;
    unsigned line;
} cfile;

static int cf_error(const cfile *f, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int cf_error(const cfile *f, const char *fmt, ...) {
    va_list ap;
    sbuf t = {0};
    sb_term_str(&t, f->path);
    fprintf(stderr, "%s:%u: error: ", t.data ? t.data : "", f->line);
    sb_free(&t);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, " [%s]\n", lc_status_code(LC_ERR_CONFIG_FILE));
    return -1;
}

static const char *skip_ws(const char *p) {
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* A value: string, number or array of strings. */
typedef struct cvalue {
    int kind; /* 's' string, 'n' number, 'a' array */
    sbuf str;
    double num;
    char **items;
    size_t nitems;
} cvalue;

static void cvalue_free(cvalue *v) {
    sb_free(&v->str);
    free_list(v->items, v->nitems);
}

/* Parse a "string" at *pp; sets *pp past it. */
static int parse_string(const cfile *f, const char **pp, sbuf *out) {
    const char *p = *pp + 1;
    sb_add(out, "", 0);
    while (*p && *p != '"') {
        if (*p == '\\') {
            p++;
            if (*p != '"' && *p != '\\')
                return cf_error(f, "unsupported escape '\\%c' in string",
                                *p ? *p : ' ');
        }
        sb_add(out, p, 1);
        p++;
    }
    if (*p != '"')
        return cf_error(f, "unterminated string");
    *pp = p + 1;
    return 0;
}

static int parse_value(const cfile *f, const char *p, cvalue *v) {
    memset(v, 0, sizeof *v);
    p = skip_ws(p);
    if (*p == '"') {
        v->kind = 's';
        if (parse_string(f, &p, &v->str) != 0)
            return -1;
    } else if (*p == '[') {
        v->kind = 'a';
        p = skip_ws(p + 1);
        while (*p != ']') {
            sbuf item = {0};
            if (*p != '"') {
                sb_free(&item);
                return cf_error(f, "expected a \"string\" in the array");
            }
            if (parse_string(f, &p, &item) != 0) {
                sb_free(&item);
                return -1;
            }
            push(&v->items, &v->nitems, item.data, item.len);
            sb_free(&item);
            p = skip_ws(p);
            if (*p == ',')
                p = skip_ws(p + 1);
            else if (*p != ']')
                return cf_error(f, "expected ',' or ']' in the array");
        }
        p++;
    } else {
        char *end;
        errno = 0;
        v->kind = 'n';
        v->num = strtod(p, &end);
        if (end == p || errno || !isfinite(v->num))
            return cf_error(f, "expected a value: \"string\", number or "
                               "[\"array\"]");
        p = end;
    }
    p = skip_ws(p);
    if (*p && *p != '#')
        return cf_error(f, "unexpected text after the value: '%s'", p);
    return 0;
}

/* Directory part of path, with a trailing '/', or "" */
static void dir_of(const char *path, sbuf *out) {
    const char *sl = strrchr(path, '/');
    if (sl)
        sb_add(out, path, (size_t)(sl - path) + 1);
    else
        sb_add(out, "", 0);
}

static int apply(settings *s, const cfile *f, const char *section,
                 const char *key, cvalue *v) {
    char where[600];
    sbuf t = {0};
    sb_term_str(&t, f->path); /* where goes into messages: escaped */
    snprintf(where, sizeof where, "%s:%u", t.data ? t.data : "", f->line);
    sb_free(&t);
    if (strcmp(section, "gate") == 0) {
        if (strcmp(key, "fail_on") == 0) {
            size_t i;
            if (v->kind != 'a' && v->kind != 's')
                return cf_error(f, "fail_on: expected an array of kinds");
            if (v->kind == 'a' && v->nitems == 0) /* as --fail-on '' */
                return cf_error(f, "fail_on: no finding kind given (kind "
                                   "names, \"all\" or \"none\")");
            s->fail_on_set = 1;
            s->fail_kinds = 0;
            if (v->kind == 's')
                return add_kind(&s->fail_kinds, v->str.data, v->str.len,
                                where, LC_ERR_CONFIG_FILE);
            for (i = 0; i < v->nitems; i++)
                if (add_kind(&s->fail_kinds, v->items[i],
                             strlen(v->items[i]), where,
                             LC_ERR_CONFIG_FILE) != 0)
                    return -1;
            return 0;
        }
        if (strncmp(key, "max_rate.", 9) == 0 && key[9]) {
            if (v->kind != 'n' || !(v->num >= 0 && v->num <= 1))
                return cf_error(f, "%s: expected a number between 0 and 1",
                                key);
            return set_rate(s, key + 9, strlen(key + 9), v->num, where,
                            where);
        }
    } else if (strcmp(section, "diff") == 0) {
        if (strcmp(key, "alpha") == 0) {
            if (v->kind != 'n' || !(v->num > 0 && v->num < 1))
                return cf_error(f, "alpha: expected a number in (0, 1)");
            s->alpha = v->num;
            return 0;
        }
        if (strcmp(key, "max_new_refusals") == 0) {
            if (v->kind != 'n' || v->num < 0 || v->num != floor(v->num) ||
                v->num > 1e15)
                return cf_error(f, "max_new_refusals: expected a whole "
                                   "number >= 0");
            s->max_new_refusals = (int64_t)v->num;
            return 0;
        }
        if (strcmp(key, "max_rate_increase") == 0) {
            if (v->kind != 'n' || !(v->num >= -1 && v->num <= 1))
                return cf_error(f, "max_rate_increase: expected a number "
                                   "between -1 and 1");
            s->max_rate_increase = v->num;
            s->max_rate_increase_set = 1;
            return 0;
        }
        if (strcmp(key, "max_new_loops") == 0) {
            if (v->kind != 'n' || v->num < 0 || v->num != floor(v->num) ||
                v->num > 1e15)
                return cf_error(f, "max_new_loops: expected a whole number "
                                   ">= 0");
            s->max_new_loops = (int64_t)v->num;
            return 0;
        }
    } else if (strcmp(section, "input") == 0) {
        char ***list = NULL;
        size_t *nlist = NULL;
        if (strcmp(key, "format") == 0) {
            lc_format fm;
            if (v->kind != 's' ||
                lc_format_from_name(v->str.data, v->str.len, &fm) != LC_OK)
                return cf_error(f, "format: expected one of \"auto\", "
                                   "\"transcript\", \"jsonl\", "
                                   "\"jsonl-turns\", \"json\"");
            free(s->input_format);
            s->input_format = xstrdup(v->str.data);
            return 0;
        }
        if (strcmp(key, "assistant") == 0) {
            list = &s->assistants;
            nlist = &s->nassistants;
        } else if (strcmp(key, "user") == 0) {
            list = &s->users;
            nlist = &s->nusers;
        } else if (strcmp(key, "patterns") == 0) {
            list = &s->pattern_files;
            nlist = &s->npattern_files;
        }
        if (list) {
            size_t i, n = v->kind == 'a' ? v->nitems : 1;
            if (v->kind != 'a' && v->kind != 's')
                return cf_error(f, "%s: expected a string or an array of "
                                   "strings", key);
            for (i = 0; i < n; i++) {
                const char *item = v->kind == 'a' ? v->items[i] : v->str.data;
                sbuf full = {0};
                if (list == &s->pattern_files && item[0] != '/')
                    dir_of(f->path, &full);
                sb_puts(&full, item);
                push(list, nlist, full.data, full.len);
                sb_free(&full);
            }
            return 0;
        }
    } else if (strcmp(section, "options") == 0) {
        lc_opt o;
        char buf[192];
        lc_config *probe = NULL;
        lc_status st;
        int64_t lo = 0, hi = 0, def = 0;
        if (lc_opt_from_name(key, strlen(key), &o) != LC_OK)
            return cf_error(f, "unknown option '%s' (see loopcheck(1), "
                               "LIBRARY OPTIONS)", key);
        lc_opt_bounds(o, &lo, &hi, &def);
        if (v->kind != 'n' || v->num != floor(v->num) || fabs(v->num) > 9e15)
            return cf_error(f, "%s: expected a whole number from %lld to "
                               "%lld (default %lld)",
                            key, (long long)lo, (long long)hi,
                            (long long)def);
        /* check the bounds here, so that the error names this line (the
         * library config is built later, from every source at once) */
        if (lc_config_new(NULL, &probe) != LC_OK) {
            fprintf(stderr, "%s: error: out of memory [%s]\n", prog,
                    lc_status_code(LC_ERR_NOMEM));
            return -1;
        }
        st = lc_config_set(probe, o, (int64_t)v->num);
        lc_config_free(probe);
        if (st != LC_OK)
            return cf_error(f, "%s = %lld: expected a whole number from %lld "
                               "to %lld (default %lld; 0 = default)",
                            key, (long long)v->num, (long long)lo,
                            (long long)hi, (long long)def);
        snprintf(buf, sizeof buf, "%s=%lld", key, (long long)v->num);
        push(&s->opts, &s->nopts, buf, strlen(buf));
        return 0;
    } else {
        return cf_error(f, "unknown section [%s] (expected [gate], [diff], "
                           "[input] or [options])", section);
    }
    return cf_error(f, "unknown setting '%s' in [%s]", key, section);
}

int config_file_load(settings *s, const char *path) {
    FILE *fp = fopen(path, "r");
    char line[4096];
    char section[64] = "";
    cfile f;
    struct stat sb;
    int rc = 0;
    /* settings seen so far, to reject one given twice (the man page:
     * "a setting given twice" is an error) */
    struct {
        char name[200];
        unsigned line;
    } *seen = NULL;
    size_t nseen = 0;
    f.path = path;
    f.line = 0;
    if (!fp) {
        eprint_path(path, "error: %s [%s]\n", strerror(errno),
                    lc_status_code(LC_ERR_IO));
        return -1;
    }
    /* fopen() succeeds on a directory (reads then fail with EISDIR) */
    if (fstat(fileno(fp), &sb) == 0 && S_ISDIR(sb.st_mode)) {
        eprint_path(path, "error: %s [%s]\n", strerror(EISDIR),
                    lc_status_code(LC_ERR_IO));
        fclose(fp);
        return -1;
    }
    while (rc == 0 && fgets(line, sizeof line, fp)) {
        size_t n = strlen(line);
        const char *p;
        char key[128];
        size_t kl = 0;
        cvalue v;
        f.line++;
        /* a UTF-8 byte order mark, as editors on Windows write it */
        if (f.line == 1 && n >= 3 &&
            memcmp(line, "\xEF\xBB\xBF", 3) == 0) {
            memmove(line, line + 3, n - 2);
            n -= 3;
        }
        if (n && line[n - 1] != '\n' && !feof(fp)) {
            rc = cf_error(&f, "line too long (at most %d bytes)",
                          (int)sizeof line - 2);
            break;
        }
        while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
                     line[n - 1] == ' ' || line[n - 1] == '\t'))
            line[--n] = '\0';
        p = skip_ws(line);
        if (*p == '\0' || *p == '#')
            continue;
        if (*p == '[') {
            const char *e = strchr(p, ']');
            size_t sl;
            if (!e || *skip_ws(e + 1) != '\0' || e == p + 1) {
                rc = cf_error(&f, "bad section header (expected [name])");
                break;
            }
            sl = (size_t)(e - p - 1);
            if (sl >= sizeof section) {
                rc = cf_error(&f, "section name too long");
                break;
            }
            memcpy(section, p + 1, sl);
            section[sl] = '\0';
            if (strcmp(section, "gate") && strcmp(section, "diff") &&
                strcmp(section, "input") && strcmp(section, "options")) {
                rc = cf_error(&f, "unknown section [%s] (expected [gate], "
                                  "[diff], [input] or [options])", section);
                break;
            }
            continue;
        }
        while (*p && *p != '=' && *p != ' ' && *p != '\t' &&
               kl + 1 < sizeof key)
            key[kl++] = *p++;
        key[kl] = '\0';
        p = skip_ws(p);
        if (kl == 0 || *p != '=') {
            rc = cf_error(&f, "expected 'key = value'");
            break;
        }
        if (!section[0]) {
            rc = cf_error(&f, "setting '%s' outside a section (start with "
                              "[gate], [diff], [input] or [options])", key);
            break;
        }
        if (strncmp(key, "max_rate.", 9) != 0) { /* set_rate says so */
            char full[200];
            size_t i;
            snprintf(full, sizeof full, "%s.%s", section, key);
            for (i = 0; i < nseen && strcmp(seen[i].name, full); i++)
                ;
            if (i < nseen) {
                rc = cf_error(&f, "'%s' in [%s] set twice (first at line "
                                  "%u)", key, section, seen[i].line);
                break;
            }
            seen = xrealloc(seen, (nseen + 1) * sizeof *seen);
            snprintf(seen[nseen].name, sizeof seen[nseen].name, "%s", full);
            seen[nseen++].line = f.line;
        }
        if (parse_value(&f, p + 1, &v) != 0) {
            cvalue_free(&v);
            rc = -1;
            break;
        }
        rc = apply(s, &f, section, key, &v);
        cvalue_free(&v);
    }
    if (rc == 0 && ferror(fp)) {
        eprint_path(path, "error: %s [%s]\n", strerror(errno ? errno : EIO),
                    lc_status_code(LC_ERR_IO));
        rc = -1;
    }
    free(seen);
    fclose(fp);
    return rc;
}
