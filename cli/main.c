/*
 * main.c - the loopcheck command: verbs, options, output assembly and
 * exit codes. See loopcheck(1).
 *
 *   loopcheck [check] [OPTIONS] PATH...     findings per conversation
 *   loopcheck turns [OPTIONS] PATH...       the parsed turns
 *   loopcheck patterns [OPTIONS]            the active refusal patterns
 *   loopcheck diff [OPTIONS] BASELINE CANDIDATE
 *
 * Exit codes: 0 pass, 1 gate failed, 2 usage error, 3 some input could
 * not be read (takes precedence over 1), 4 internal error.
 */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef LC_CLI_VERSION
#define LC_CLI_VERSION "0.1.0"
#endif

const char *prog = "loopcheck";

void msg_error(const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

enum verb { V_CHECK = 1, V_TURNS = 2, V_PATTERNS = 4, V_DIFF = 8 };
#define V_READ (V_CHECK | V_TURNS | V_DIFF)
#define V_ALL (V_READ | V_PATTERNS)

static const char *verb_name(int v) {
    switch (v) {
    case V_TURNS: return "turns";
    case V_PATTERNS: return "patterns";
    case V_DIFF: return "diff";
    default: return "check";
    }
}

/* ------------------------------------------------------------------ */
/* Help                                                                 */
/* ------------------------------------------------------------------ */

static const char exit_help[] =
    "Exit status:\n"
    "  0  pass (no gate tripped)\n"
    "  1  the gate failed (findings / rates / diff regression, loops, "
    "limits,\n"
    "     or nothing paired)\n"
    "  2  usage error (bad option, bad config or pattern file)\n"
    "  3  some input could not be read (the rest was processed)\n"
    "  4  internal error (out of memory, output could not be written)\n";

static const char input_help[] =
    "Input options:\n"
    "      --input-format F   auto|transcript|jsonl|jsonl-turns|json "
    "(default auto)\n"
    "      --assistant NAME   transcript speaker NAME is the assistant "
    "(repeatable)\n"
    "      --user NAME        transcript speaker NAME is the user "
    "(repeatable)\n"
    "      --include GLOB     in directories, read only matching files "
    "(repeatable;\n"
    "                         default *.jsonl,*.ndjson,*.json,*.txt,*.log)\n"
    "      --exclude GLOB     in directories, skip matching files and "
    "directories\n"
    "      --set NAME=VALUE   set a library option (loopcheck(1), LIBRARY "
    "OPTIONS)\n"
    "  -j, --jobs N           worker threads (default: online CPUs)\n"
    "  -q, --quiet            no progress bar and no final count line\n"
    "PATH may be a file, a directory (read recursively) or - for stdin.\n";

static void usage(int verb, FILE *out) {
    if (verb == 0) {
        fprintf(out,
                "Usage: loopcheck [check] [OPTIONS] PATH...\n"
                "       loopcheck turns [OPTIONS] PATH...\n"
                "       loopcheck patterns [OPTIONS]\n"
                "       loopcheck diff [OPTIONS] BASELINE CANDIDATE\n"
                "       loopcheck --version | --help\n\n"
                "Find conversational loops and canned refusals in chat "
                "logs.\n\n"
                "Verbs:\n"
                "  check     report findings per conversation and gate on "
                "them (default)\n"
                "  turns     print the parsed turns\n"
                "  patterns  list the active refusal patterns\n"
                "  diff      compare two runs of the same prompts (exact "
                "McNemar)\n\n"
                "The verb comes first; options and PATHs follow it.\n"
                "Run 'loopcheck VERB --help' for the options of a verb.\n\n"
                "%s",
                exit_help);
        return;
    }
    switch (verb) {
    case V_CHECK:
        fprintf(out,
                "Usage: loopcheck [check] [OPTIONS] PATH...\n\n"
                "Analyse every conversation and report loops and refusals.\n"
                "Without any gate option, any finding fails the run.\n\n"
                "Options:\n"
                "  -f, --format F         text|json|junit|github (default "
                "text)\n"
                "      --fail-on KINDS    fail if a conversation has one of "
                "KINDS (comma-\n"
                "                         separated kind names, 'all' or "
                "'none')\n"
                "                         (a rule on a kind --kinds leaves "
                "out is warned\n"
                "                         about and shown as not measured)\n"
                "      --kinds KINDS      run only the detectors of KINDS "
                "(kind names or\n"
                "                         'all', the default)\n"
                "      --max-rate R       NAME=RATE[,...]: fail if the share "
                "of conversations\n"
                "                         with kind/family NAME exceeds RATE "
                "(0..1); a NAME\n"
                "                         may be given once (it replaces "
                "the config file's)\n"
                "  -c, --config FILE      read [gate] and [input] from FILE "
                "(loopcheck.toml)\n"
                "  -p, --patterns FILE    add refusal patterns from FILE "
                "(repeatable)\n"
                "      --color WHEN       auto|always|never (default auto; "
                "NO_COLOR is honoured)\n"
                "  -h, --help             this help\n"
                "%s\n%s",
                input_help, exit_help);
        break;
    case V_TURNS:
        fprintf(out,
                "Usage: loopcheck turns [OPTIONS] PATH...\n\n"
                "Print the turns the reader found: text, or JSON lines with\n"
                "conversation, turn, role, speaker, line, hash and text.\n\n"
                "Options:\n"
                "  -f, --format F         text|json (default text)\n"
                "  -c, --config FILE      read [input] from FILE\n"
                "  -h, --help             this help\n"
                "%s\n%s",
                input_help, exit_help);
        break;
    case V_PATTERNS:
        fprintf(out,
                "Usage: loopcheck patterns [OPTIONS]\n\n"
                "List the active refusal patterns (family, origin, text), "
                "or the families\n"
                "and their settings (--families).\n\n"
                "Options:\n"
                "  -f, --format F         text|json (default text)\n"
                "      --families         one line per family: specificity, "
                "weight, role,\n"
                "                         flags, number of patterns, where "
                "it and its\n"
                "                         settings came from\n"
                "      --family NAMES     only these families "
                "(comma-separated; an\n"
                "                         unknown family is an error)\n"
                "  -p, --patterns FILE    add refusal patterns from FILE\n"
                "  -c, --config FILE      read [input] patterns from FILE\n"
                "  -h, --help             this help\n\n%s",
                exit_help);
        break;
    case V_DIFF:
        fprintf(out,
                "Usage: loopcheck diff [OPTIONS] BASELINE CANDIDATE\n\n"
                "Pair the conversations of two runs (by id, else by the "
                "first user turn),\n"
                "count refusal flips and test 'the candidate refuses more' "
                "with the exact\n"
                "McNemar test; the 95%% CI of the paired difference uses "
                "Newcombe's method 10.\n"
                "Loop flips get the same exact test ('the candidate loops "
                "more').\n"
                "Exit 1 when the verdict is 'regression', when the "
                "candidate loops\n"
                "significantly more, when more than --max-new-loops prompts "
                "(default 0)\n"
                "start looping, when a limit below is exceeded, or when no "
                "conversation\n"
                "pairs at all.\n\n"
                "Options:\n"
                "  -f, --format F           text|json|junit|github (default "
                "text)\n"
                "      --alpha A            significance level (default "
                "0.05)\n"
                "      --max-new-refusals N fail if more than N prompts flip "
                "to refusal\n"
                "      --max-rate-increase X fail if the refusal rate grows "
                "by more than X\n"
                "                           (-1..1; below 0: it must drop "
                "by at least -X)\n"
                "      --max-new-loops N    fail if more than N prompts loop "
                "in the candidate\n"
                "                           only (default 0)\n"
                "  -c, --config FILE        read [diff] and [input] from "
                "FILE\n"
                "  -p, --patterns FILE      add refusal patterns from FILE\n"
                "      --kinds KINDS        run only the detectors of KINDS "
                "(default all)\n"
                "      --color WHEN         auto|always|never\n"
                "  -h, --help               this help\n"
                "%s\n%s",
                input_help, exit_help);
        break;
    }
}

static int usage_error(int verb, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

static int usage_error(int verb, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "%s: error: ", prog);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nTry 'loopcheck %s --help'.\n", verb_name(verb));
    return EXIT_USAGE;
}

/* ------------------------------------------------------------------ */
/* Options                                                              */
/* ------------------------------------------------------------------ */

enum {
    O_FAIL_ON = 256, O_MAX_RATE, O_ASSISTANT, O_USER, O_INPUT_FORMAT,
    O_INCLUDE, O_EXCLUDE, O_ALPHA, O_MAX_NEW, O_MAX_INC, O_COLOR, O_VERSION,
    O_SET, O_FAMILY, O_KINDS, O_MAX_LOOPS, O_FAMILIES
};

static const struct option long_opts[] = {
    {"format", required_argument, NULL, 'f'},
    {"fail-on", required_argument, NULL, O_FAIL_ON},
    {"kinds", required_argument, NULL, O_KINDS},
    {"max-rate", required_argument, NULL, O_MAX_RATE},
    {"config", required_argument, NULL, 'c'},
    {"patterns", required_argument, NULL, 'p'},
    {"assistant", required_argument, NULL, O_ASSISTANT},
    {"user", required_argument, NULL, O_USER},
    {"input-format", required_argument, NULL, O_INPUT_FORMAT},
    {"include", required_argument, NULL, O_INCLUDE},
    {"exclude", required_argument, NULL, O_EXCLUDE},
    {"jobs", required_argument, NULL, 'j'},
    {"quiet", no_argument, NULL, 'q'},
    {"alpha", required_argument, NULL, O_ALPHA},
    {"max-new-refusals", required_argument, NULL, O_MAX_NEW},
    {"max-rate-increase", required_argument, NULL, O_MAX_INC},
    {"max-new-loops", required_argument, NULL, O_MAX_LOOPS},
    {"color", required_argument, NULL, O_COLOR},
    {"set", required_argument, NULL, O_SET},
    {"family", required_argument, NULL, O_FAMILY},
    {"families", no_argument, NULL, O_FAMILIES},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, O_VERSION},
    {NULL, 0, NULL, 0},
};

/* Which verbs accept which option. */
static int opt_verbs(int c) {
    switch (c) {
    case O_FAIL_ON:
    case O_MAX_RATE:
        return V_CHECK;
    case O_ALPHA:
    case O_MAX_NEW:
    case O_MAX_INC:
    case O_MAX_LOOPS:
        return V_DIFF;
    case O_FAMILY:
    case O_FAMILIES:
        return V_PATTERNS;
    case 'p':
        return V_CHECK | V_PATTERNS | V_DIFF;
    case O_COLOR:
    case O_KINDS:
        return V_CHECK | V_DIFF;
    case O_ASSISTANT:
    case O_USER:
    case O_INPUT_FORMAT:
    case O_INCLUDE:
    case O_EXCLUDE:
    case O_SET:
    case 'j':
    case 'q':
        return V_READ;
    default:
        return V_ALL;
    }
}

typedef struct cli {
    int verb;
    lc_output format;
    int color; /* -1 auto, 0 never, 1 always */
    int jobs;
    int quiet;
    settings set;
    char *config_path;
    char **include, **exclude; /* --include / --exclude globs */
    size_t ninclude, nexclude;
    char **families; /* patterns --family */
    size_t nfamilies;
    int list_families; /* patterns --families */
    char **paths;
    size_t npaths;
} cli;

static int parse_double(const char *s, double *out) {
    char *end;
    errno = 0;
    *out = strtod(s, &end);
    return (end == s || *end || errno || !isfinite(*out)) ? -1 : 0;
}

static void add_glob(char ***v, size_t *n, const char *arg) {
    const char *p = arg;
    while (*p) {
        const char *e = strchr(p, ',');
        size_t len = e ? (size_t)(e - p) : strlen(p);
        if (len) {
            char *d = xmalloc(len + 1);
            memcpy(d, p, len);
            d[len] = '\0';
            *v = xrealloc(*v, (*n + 1) * sizeof **v);
            (*v)[(*n)++] = d;
        }
        p += len + (e ? 1 : 0);
    }
}

static void push_str(char ***v, size_t *n, const char *s) {
    *v = xrealloc(*v, (*n + 1) * sizeof **v);
    (*v)[(*n)++] = xstrdup(s);
}

/* Returns -1 to go on, else an exit code. Command-line gate options are
 * applied after the config file (they win), so they are collected in
 * `late` first. */
static int parse_args(cli *c, int argc, char **argv) {
    settings late;
    int opt, fail_on_given = 0, rc = -1;
    char *fail_on_arg = NULL, *kinds_arg = NULL;
    char **rate_args = NULL;
    size_t nrate_args = 0, i;
    double alpha = 0, max_inc = 0;
    int64_t max_new = -1, max_loops = 0;
    int have_alpha = 0, have_new = 0, have_inc = 0, have_loops = 0;
    char *format_arg = NULL;

    settings_init(&late);
    optind = 0; /* GNU: reinitialise (verb_not_first scanned first) */
    opterr = 0;
    for (;;) {
        int li = -1;
        char oname[64];
        opt = getopt_long(argc, argv, ":f:c:p:j:qh", long_opts, &li);
        if (opt == -1)
            break;
        if (li >= 0)
            snprintf(oname, sizeof oname, "--%s", long_opts[li].name);
        else if ((opt == '?' || opt == ':') &&
                 (!optopt || strncmp(argv[optind - 1], "--", 2) == 0))
            snprintf(oname, sizeof oname, "%.60s", argv[optind - 1]);
        else if (opt == '?' || opt == ':')
            snprintf(oname, sizeof oname, "-%c", optopt);
        else
            snprintf(oname, sizeof oname, "-%c", opt);
        if (opt == '?') {
            rc = usage_error(c->verb, "unknown option '%s'", oname);
            goto done;
        }
        if (opt == ':') {
            rc = usage_error(c->verb, "option '%s' needs a value", oname);
            goto done;
        }
        if (!(opt_verbs(opt) & c->verb)) {
            rc = usage_error(c->verb, "option '%s' is not valid for '%s'",
                             oname, verb_name(c->verb));
            goto done;
        }
        switch (opt) {
        case 'h':
            usage(c->verb, stdout);
            rc = EXIT_PASS;
            goto done;
        case O_VERSION:
            printf("loopcheck %s (libloopcheck %s)\n", LC_CLI_VERSION,
                   lc_version_string());
            rc = EXIT_PASS;
            goto done;
        case 'f':
            format_arg = optarg;
            break;
        case O_FAIL_ON:
            fail_on_given = 1;
            fail_on_arg = optarg;
            break;
        case O_KINDS:
            kinds_arg = optarg;
            break;
        case O_MAX_RATE:
            push_str(&rate_args, &nrate_args, optarg);
            break;
        case 'c':
            free(c->config_path);
            c->config_path = xstrdup(optarg);
            break;
        case 'p':
            push_str(&late.pattern_files, &late.npattern_files, optarg);
            break;
        case O_ASSISTANT:
            push_str(&late.assistants, &late.nassistants, optarg);
            break;
        case O_USER:
            push_str(&late.users, &late.nusers, optarg);
            break;
        case O_INPUT_FORMAT: {
            lc_format fm;
            if (lc_format_from_name(optarg, strlen(optarg), &fm) != LC_OK) {
                rc = usage_error(c->verb,
                                 "unknown input format '%s' (expected auto, "
                                 "transcript, jsonl, jsonl-turns or json)",
                                 optarg);
                goto done;
            }
            free(late.input_format);
            late.input_format = xstrdup(optarg);
            break;
        }
        case O_INCLUDE:
            add_glob(&c->include, &c->ninclude, optarg);
            break;
        case O_SET:
            push_str(&late.opts, &late.nopts, optarg);
            break;
        case O_FAMILIES:
            c->list_families = 1;
            break;
        case O_FAMILY: {
            size_t before = c->nfamilies;
            add_glob(&c->families, &c->nfamilies, optarg);
            if (c->nfamilies == before) {
                rc = usage_error(c->verb, "--family: expected one or more "
                                          "family names, got '%s'",
                                 optarg);
                goto done;
            }
            break;
        }
        case O_EXCLUDE:
            add_glob(&c->exclude, &c->nexclude, optarg);
            break;
        case 'j': {
            char *end;
            long n;
            errno = 0;
            n = strtol(optarg, &end, 10);
            if (*end || end == optarg || errno || n < 1 || n > 1024) {
                rc = usage_error(c->verb, "--jobs: expected a number from 1 "
                                          "to 1024, got '%s'", optarg);
                goto done;
            }
            c->jobs = (int)n;
            break;
        }
        case 'q':
            c->quiet = 1;
            break;
        case O_ALPHA:
            if (parse_double(optarg, &alpha) || !(alpha > 0 && alpha < 1)) {
                rc = usage_error(c->verb, "--alpha: expected a number "
                                          "between 0 and 1, got '%s'",
                                 optarg);
                goto done;
            }
            have_alpha = 1;
            break;
        case O_MAX_NEW:
        case O_MAX_LOOPS: {
            char *end;
            long long n;
            errno = 0;
            n = strtoll(optarg, &end, 10);
            if (*end || end == optarg || errno || n < 0) {
                rc = usage_error(c->verb, "%s: expected a whole number >= 0, "
                                          "got '%s'",
                                 oname, optarg);
                goto done;
            }
            if (opt == O_MAX_NEW) {
                max_new = n;
                have_new = 1;
            } else {
                max_loops = n;
                have_loops = 1;
            }
            break;
        }
        case O_MAX_INC:
            if (parse_double(optarg, &max_inc) ||
                !(max_inc >= -1 && max_inc <= 1)) {
                rc = usage_error(c->verb, "--max-rate-increase: expected a "
                                          "number between -1 and 1, got "
                                          "'%s'",
                                 optarg);
                goto done;
            }
            have_inc = 1;
            break;
        case O_COLOR:
            if (strcmp(optarg, "auto") == 0)
                c->color = -1;
            else if (strcmp(optarg, "always") == 0)
                c->color = 1;
            else if (strcmp(optarg, "never") == 0)
                c->color = 0;
            else {
                rc = usage_error(c->verb, "--color: expected auto, always or "
                                          "never, got '%s'",
                                 optarg);
                goto done;
            }
            break;
        default:
            rc = usage_error(c->verb, "unexpected option");
            goto done;
        }
    }

    if (format_arg) {
        if (lc_output_from_name(format_arg, strlen(format_arg), &c->format) !=
                LC_OK ||
            ((c->verb & (V_TURNS | V_PATTERNS)) &&
             c->format != LC_OUTPUT_TEXT && c->format != LC_OUTPUT_JSON)) {
            rc = usage_error(c->verb, "unknown output format '%s' (expected "
                                      "%s)",
                             format_arg,
                             (c->verb & (V_TURNS | V_PATTERNS))
                                 ? "text or json"
                                 : "text, json, junit or github");
            goto done;
        }
    }

    /* config file first, command line on top */
    if (c->config_path && config_file_load(&c->set, c->config_path) != 0) {
        rc = EXIT_USAGE;
        goto done;
    }
    if (fail_on_given &&
        gate_parse_fail_on(&c->set, fail_on_arg, "--fail-on") != 0) {
        rc = usage_error(c->verb, "bad --fail-on");
        goto done;
    }
    if (kinds_arg && gate_parse_kinds(&c->set, kinds_arg, "--kinds") != 0) {
        rc = usage_error(c->verb, "bad --kinds");
        goto done;
    }
    for (i = 0; i < nrate_args; i++)
        if (gate_parse_max_rate(&c->set, rate_args[i], "--max-rate") != 0) {
            rc = usage_error(c->verb, "bad --max-rate");
            goto done;
        }
    if (have_alpha)
        c->set.alpha = alpha;
    if (have_new)
        c->set.max_new_refusals = max_new;
    if (have_inc) {
        c->set.max_rate_increase = max_inc;
        c->set.max_rate_increase_set = 1;
    }
    if (have_loops)
        c->set.max_new_loops = max_loops;
    if (late.input_format) {
        free(c->set.input_format);
        c->set.input_format = late.input_format;
        late.input_format = NULL;
    }
    for (i = 0; i < late.nassistants; i++)
        push_str(&c->set.assistants, &c->set.nassistants, late.assistants[i]);
    for (i = 0; i < late.nusers; i++)
        push_str(&c->set.users, &c->set.nusers, late.users[i]);
    for (i = 0; i < late.npattern_files; i++)
        push_str(&c->set.pattern_files, &c->set.npattern_files,
                 late.pattern_files[i]);
    for (i = 0; i < late.nopts; i++)
        push_str(&c->set.opts, &c->set.nopts, late.opts[i]);

    c->paths = argv + optind;
    c->npaths = (size_t)(argc - optind);
    if (c->verb == V_PATTERNS && c->npaths) {
        rc = usage_error(c->verb, "'patterns' takes no PATH");
        goto done;
    }
    if (c->verb == V_DIFF && c->npaths != 2) {
        rc = usage_error(c->verb, "diff needs exactly two paths: BASELINE "
                                  "CANDIDATE");
        goto done;
    }
    if ((c->verb & (V_CHECK | V_TURNS)) && c->npaths == 0) {
        rc = usage_error(c->verb, "no input: give one or more PATHs (- for "
                                  "stdin)");
        goto done;
    }
done:
    for (i = 0; i < nrate_args; i++)
        free(rate_args[i]);
    free(rate_args);
    settings_free(&late);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Library config from the settings                                     */
/* ------------------------------------------------------------------ */

/* "PATH: error: MESSAGE [LC-E051]" on stderr, the path escaped for the
 * terminal (sb_term). */
static void path_error(const char *path, const char *msg, lc_status st) {
    sbuf m = {0};
    sb_term_str(&m, path);
    sb_printf(&m, ": error: %s [%s]\n", msg, lc_status_code(st));
    fputs(m.data, stderr);
    sb_free(&m);
}

static int read_file(const char *path, sbuf *out) {
    FILE *fp = fopen(path, "rb");
    char buf[65536];
    size_t n;
    if (!fp) {
        path_error(path, strerror(errno), LC_ERR_IO);
        return -1;
    }
    sb_add(out, "", 0);
    while ((n = fread(buf, 1, sizeof buf, fp)) > 0)
        sb_add(out, buf, n);
    if (ferror(fp)) {
        path_error(path, strerror(errno), LC_ERR_IO);
        fclose(fp);
        return -1;
    }
    fclose(fp);
    return 0;
}

/* diff: refusal limits given while the refusal detector is not run. */
static void diff_warn_unmeasured(const cli *c, const lc_config *cfg) {
    if (gate_kind_measured(cfg, LC_KIND_REFUSAL))
        return;
    if (c->set.max_new_refusals >= 0)
        fprintf(stderr, "%s: warning: max_new_refusals can never fail: the "
                        "refusal detector is not run (--kinds) [%s]\n",
                prog, lc_status_code(LC_ERR_INVALID_ARG));
    if (c->set.max_rate_increase_set)
        fprintf(stderr, "%s: warning: max_rate_increase can never fail: the "
                        "refusal detector is not run (--kinds) [%s]\n",
                prog, lc_status_code(LC_ERR_INVALID_ARG));
}

/* Returns -1 to go on, else an exit code. */
static int make_config(cli *c, lc_config **out) {
    lc_config *cfg = NULL;
    lc_status st;
    size_t i;
    *out = NULL;
    if ((st = lc_config_new(NULL, &cfg)) != LC_OK) {
        msg_error("cannot create a configuration: %s [%s]",
                  lc_status_str(st), lc_status_code(st));
        return EXIT_INTERNAL;
    }
    if (c->set.input_format) {
        lc_format fm = LC_FORMAT_AUTO;
        lc_format_from_name(c->set.input_format, strlen(c->set.input_format),
                            &fm);
        if (fm != LC_FORMAT_AUTO)
            lc_config_set(cfg, LC_OPT_FORMAT, (int64_t)fm);
    }
    if (c->jobs > 1)
        lc_config_set(cfg, LC_OPT_DEFER_PARSE, 2);
    if (c->set.kinds_set) /* before --set, so that --set kinds= wins */
        lc_config_set(cfg, LC_OPT_KINDS, (int64_t)c->set.kinds);
    for (i = 0; i < c->set.nopts; i++) {
        const char *kv = c->set.opts[i], *eq = strchr(kv, '=');
        lc_opt o;
        long long v = 0;
        char *end = NULL;
        int64_t lo = 0, hi = 0, def = 0;
        if (eq) {
            errno = 0;
            v = strtoll(eq + 1, &end, 0);
        }
        if (!eq || lc_opt_from_name(kv, (size_t)(eq - kv), &o) != LC_OK) {
            lc_config_free(cfg);
            return usage_error(c->verb, "--set %s: unknown option (see "
                                        "loopcheck(1), LIBRARY OPTIONS)",
                               kv);
        }
        lc_opt_bounds(o, &lo, &hi, &def);
        if (!end || *end || end == eq + 1 || errno ||
            (st = lc_config_set(cfg, o, (int64_t)v)) != LC_OK) {
            lc_config_free(cfg);
            return usage_error(c->verb, "--set %s: expected a whole number "
                                        "from %lld to %lld (default %lld)",
                               kv, (long long)lo, (long long)hi,
                               (long long)def);
        }
    }
    for (i = 0; i < c->set.nassistants; i++)
        lc_config_map_speaker(cfg, c->set.assistants[i],
                              strlen(c->set.assistants[i]),
                              LC_ROLE_ASSISTANT);
    for (i = 0; i < c->set.nusers; i++)
        lc_config_map_speaker(cfg, c->set.users[i], strlen(c->set.users[i]),
                              LC_ROLE_USER);
    for (i = 0; i < c->set.npattern_files; i++) {
        sbuf text = {0};
        const char *pf = c->set.pattern_files[i];
        if (read_file(pf, &text) != 0) {
            sb_free(&text);
            lc_config_free(cfg);
            return EXIT_USAGE;
        }
        st = lc_config_add_patterns(cfg, pf, text.data, text.len);
        sb_free(&text);
        if (st != LC_OK) {
            const lc_error *e = lc_config_error(cfg);
            if (e) {
                sbuf m = {0};
                sb_diag(&m, pf, e);
                fputs(m.data, stderr);
                sb_free(&m);
            } else {
                path_error(pf, lc_status_str(st), st);
            }
            lc_config_free(cfg);
            return st == LC_ERR_NOMEM ? EXIT_INTERNAL : EXIT_USAGE;
        }
    }
    if (c->verb == V_CHECK && gate_resolve(&c->set, cfg) != 0) {
        lc_config_free(cfg);
        return EXIT_USAGE;
    }
    if (c->verb == V_CHECK)
        gate_warn_unmeasured(&c->set, cfg);
    if (c->verb == V_DIFF)
        diff_warn_unmeasured(c, cfg);
    if (c->verb == V_PATTERNS) {
        /* listing patterns, a family is known by its patterns; listing
         * families, every family is (one may have none) */
        size_t k, np = c->list_families ? lc_config_family_count(cfg)
                                        : lc_config_pattern_count(cfg);
        for (k = 0; k < c->nfamilies; k++) {
            int found = 0;
            for (i = 0; i < np && !found; i++) {
                const char *name;
                if (c->list_families) {
                    const lc_family_info *fi = lc_config_family(cfg, i);
                    name = fi ? fi->name : NULL;
                } else {
                    const lc_pattern_info *pi = lc_config_pattern(cfg, i);
                    name = pi ? pi->family : NULL;
                }
                found = name && strcmp(name, c->families[k]) == 0;
            }
            if (!found) {
                lc_config_free(cfg);
                return usage_error(c->verb, "--family: unknown refusal "
                                            "family '%s' (run 'loopcheck "
                                            "patterns' for the list) [%s]",
                                   c->families[k],
                                   lc_status_code(LC_ERR_INVALID_ARG));
            }
        }
    }
    *out = cfg;
    return -1;
}

/* ------------------------------------------------------------------ */
/* Run state and the per-verb work/consume functions                    */
/* ------------------------------------------------------------------ */

typedef struct run {
    cli *c;
    const lc_config *cfg;
    unsigned wflags;
    uint32_t fail_kinds;
    lc_summary *sum;
    lc_diff *diff;
    uint64_t read, analysed, failed;
    uint64_t tripping;     /* conversations that trip fail_on */
    uint64_t junit_tests, junit_failures, junit_errors;
    sbuf junit;            /* buffered <testcase> elements */
    /* diff: every analysed conversation's id, per side (duplicates) */
    struct seen_id {
        char *id, *source;
        uint64_t line;
        size_t order;
    } *seen[2];
    size_t nseen[2], capseen[2];
    int fatal;             /* a library call failed (NOMEM...) */
    /* sessions reused across conversations (lc_session_check): every
     * session made for this run, freed once its threads are joined */
    pthread_mutex_t pool_mu;
    lc_session *pool[64];
    int npool;
    unsigned gen; /* this run's number (see session_for_thread) */
} run;

/* Each thread keeps one session for the whole run. A session carries
 * per-conversation tables that stay warm in the cache of the core that
 * uses them; a shared pool handed sessions from one worker to the other,
 * and -j 2 spent about a quarter more CPU than -j 1. `gen` tells this
 * run's session from one a thread kept from an earlier run (the other
 * side of a diff; with -j 1 the main thread runs both). */
static _Thread_local lc_session *tls_session;
static _Thread_local unsigned tls_gen;
static unsigned run_gen; /* main thread only */

/* The calling thread's session (NULL if none could be made: the caller
 * falls back to lc_conversation_check). *keep = 0 when the run's list
 * is full and the caller must free it after use. */
static lc_session *session_for_thread(run *r, int *keep) {
    lc_session *s = NULL;
    *keep = 1;
    if (tls_session && tls_gen == r->gen)
        return tls_session;
    if (lc_session_new(r->cfg, &s) != LC_OK)
        return NULL;
    pthread_mutex_lock(&r->pool_mu);
    if (r->npool < (int)(sizeof r->pool / sizeof r->pool[0])) {
        r->pool[r->npool++] = s;
        tls_session = s;
        tls_gen = r->gen;
    } else {
        *keep = 0;
    }
    pthread_mutex_unlock(&r->pool_mu);
    return s;
}

static void put_out(const char *d, size_t n) {
    if (n)
        fwrite(d, 1, n, stdout);
}

/* Shared by all verbs: parse (deferred parsing on worker threads; with
 * the thread's session, if any, whose parser is set up once) and render
 * the conversation's diagnostics. */
static void work_parse(job *j, lc_session *s) {
    size_t i, n;
    if (!j->conv)
        return;
    if ((j->status = s ? lc_session_parse(s, j->conv)
                       : lc_conversation_parse(j->conv)) != LC_OK)
        return;
    n = lc_conversation_diag_count(j->conv);
    for (i = 0; i < n; i++) {
        const lc_error *e = lc_conversation_diag(j->conv, i);
        if (e)
            sb_diag(&j->err, lc_conversation_source(j->conv), e);
    }
}

static void work_check(job *j, void *ctx) {
    run *r = ctx;
    lc_session *s;
    lc_status st;
    int keep;
    if (!j->conv)
        return;
    s = session_for_thread(r, &keep);
    work_parse(j, s);
    st = j->status;
    if (st == LC_OK)
        st = s ? lc_session_check(s, j->conv, &j->report)
               : lc_conversation_check(r->cfg, j->conv, &j->report);
    if (!keep)
        lc_session_free(s);
    if (st != LC_OK) {
        j->status = st;
        return;
    }
    lc_conversation_free(j->conv);
    j->conv = NULL;
    /* diff: a conversation that could not be read is shown in the JUnit
     * and GitHub reports as check shows it (<error>, ::error) */
    if (r->c->verb == V_DIFF && lc_report_status(j->report) != LC_OK &&
        (r->c->format == LC_OUTPUT_JUNIT ||
         r->c->format == LC_OUTPUT_GITHUB) &&
        (st = lc_report_write_gated(j->report, r->c->format, 0, 0,
                                    sb_write_fn, &j->out)) != LC_OK)
        j->status = st;
    if (r->c->verb == V_CHECK &&
        (st = lc_report_write_gated(j->report, r->c->format, r->wflags,
                                    r->fail_kinds, sb_write_fn, &j->out)) !=
            LC_OK)
        j->status = st;
}

/* Count a job; returns 1 if it is an analysed report to use. */
static int count_job(run *r, job *j) {
    if (j->err.len)
        fwrite(j->err.data, 1, j->err.len, stderr);
    if (j->status != LC_OK) {
        fprintf(stderr, "%s: error: %s [%s]\n", prog,
                lc_status_str(j->status), lc_status_code(j->status));
        r->fatal = 1;
    }
    r->read++;
    if (j->reader_error || !j->report ||
        lc_report_status(j->report) != LC_OK) {
        r->failed++;
        return 0;
    }
    r->analysed++;
    return 1;
}

static void consume_check(job *j, void *ctx) {
    run *r = ctx;
    int ok = count_job(r, j);
    if (j->report) {
        if (lc_summary_add(r->sum, j->report) != LC_OK)
            r->fatal = 1;
        if (r->c->format == LC_OUTPUT_JUNIT) {
            sb_add(&r->junit, j->out.data, j->out.len);
            r->junit_tests++;
            if (lc_report_status(j->report) != LC_OK)
                r->junit_errors++;
            else if (gate_report_trips(&r->c->set, j->report))
                r->junit_failures++;
        } else {
            put_out(j->out.data, j->out.len);
        }
    }
    if (ok && gate_report_trips(&r->c->set, j->report))
        r->tripping++;
    if (!j->report && j->reader_error) {
        r->junit_tests += r->c->format == LC_OUTPUT_JUNIT;
        r->junit_errors += r->c->format == LC_OUTPUT_JUNIT;
    }
    lc_report_free(j->report);
    lc_conversation_free(j->conv);
}

/* The first line of a reader failure's diagnostic, without "\n". */
static size_t first_line(const sbuf *b) {
    const char *nl = b->data ? memchr(b->data, '\n', b->len) : NULL;
    return nl ? (size_t)(nl - b->data) : b->len;
}

/* diff -f github: escape a workflow-command message (% CR LF). */
static void sb_gh(sbuf *b, const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        switch (s[i]) {
        case '%': sb_puts(b, "%25"); break;
        case '\r': sb_puts(b, "%0D"); break;
        case '\n': sb_puts(b, "%0A"); break;
        default: sb_add(b, s + i, 1); break;
        }
}

static void sb_xml_n(sbuf *b, const char *s, size_t n);

static void consume_diff(job *j, void *ctx) {
    run *r = ctx;
    int side = j->side ? 1 : 0;
    if (count_job(r, j)) {
        struct seen_id *e;
        if (lc_diff_add(r->diff, j->side, j->report) != LC_OK)
            r->fatal = 1;
        if (r->nseen[side] == r->capseen[side]) {
            r->capseen[side] = r->capseen[side] ? 2 * r->capseen[side] : 64;
            r->seen[side] = xrealloc(r->seen[side],
                                     r->capseen[side] * sizeof *e);
        }
        e = &r->seen[side][r->nseen[side]];
        e->id = xstrdup(lc_report_conversation(j->report));
        e->source = xstrdup(lc_report_source(j->report));
        e->line = lc_report_line(j->report);
        e->order = r->nseen[side]++;
    } else if (r->c->format == LC_OUTPUT_JUNIT ||
               r->c->format == LC_OUTPUT_GITHUB) {
        /* rendered on the worker when there is a report; a reader-level
         * failure has only its diagnostic */
        if (j->out.len) {
            sb_add(&r->junit, j->out.data, j->out.len);
        } else if (j->err.len && r->c->format == LC_OUTPUT_JUNIT) {
            size_t n = first_line(&j->err);
            sb_puts(&r->junit, "    <testcase name=\"input\" "
                               "classname=\"loopcheck.input\" time=\"0\">\n"
                               "      <error message=\"");
            sb_xml_n(&r->junit, j->err.data, n);
            sb_puts(&r->junit, "\" type=\"input\">");
            sb_xml_n(&r->junit, j->err.data, n);
            sb_puts(&r->junit, "</error>\n    </testcase>\n");
        } else if (j->err.len) {
            sb_puts(&r->junit, "::error title=loopcheck input::");
            sb_gh(&r->junit, j->err.data, first_line(&j->err));
            sb_puts(&r->junit, "\n");
        }
        r->junit_errors++;
    }
    lc_report_free(j->report);
    lc_conversation_free(j->conv);
}

static int seen_cmp(const void *pa, const void *pb) {
    const struct seen_id *a = pa, *b = pb;
    int c = strcmp(a->id, b->id);
    if (c)
        return c;
    return a->order < b->order ? -1 : (a->order > b->order ? 1 : 0);
}

/* diff: warn about conversation ids given more than once on a side
 * (they pair in input order, k-th with k-th, which may not be what the
 * logs meant); frees the lists. The code is LC-E010 for want of a
 * fitting one (as for the unpaired warning in cmd_diff): no status says
 * "the runs do not pair cleanly", and adding one is an ABI addition. */
static void warn_duplicate_ids(run *r) {
    int side;
    size_t i;
    sbuf m = {0};
    for (side = 0; side < 2; side++) {
        struct seen_id *v = r->seen[side];
        size_t n = r->nseen[side], first = 0;
        if (n > 1)
            qsort(v, n, sizeof *v, seen_cmp);
        for (i = 0; i < n; i++) {
            if (i == 0 || strcmp(v[i].id, v[first].id) != 0) {
                first = i;
                continue;
            }
            sb_term_str(&m, v[i].source);
            sb_printf(&m, ":%llu: warning: conversation id '",
                      (unsigned long long)v[i].line);
            sb_term_str(&m, v[i].id);
            sb_printf(&m, "' already seen in the %s at ",
                      side ? "candidate" : "baseline");
            sb_term_str(&m, v[first].source);
            sb_printf(&m, ":%llu; duplicates pair in input order [%s]\n",
                      (unsigned long long)v[first].line,
                      lc_status_code(LC_ERR_INVALID_ARG));
            fputs(m.data, stderr);
            m.len = 0;
        }
        for (i = 0; i < n; i++) {
            free(v[i].id);
            free(v[i].source);
        }
        free(v);
        r->seen[side] = NULL;
        r->nseen[side] = r->capseen[side] = 0;
    }
    sb_free(&m);
}

/* turns: render every turn on the worker */

/* At most max code points of s, blanks (newline, tab...) as one space;
 * other control characters escaped and invalid UTF-8 replaced as by
 * sb_term, each counting as one code point. */
static void cut_text(sbuf *b, const char *s, size_t len, size_t max) {
    size_t i = 0, cps = 0, start = 0;
    int sp = 1;
    while (i < len && cps < max) {
        unsigned char ch = (unsigned char)s[i];
        if (ch == '\n' || ch == '\r' || ch == '\t' || ch == ' ') {
            sb_add(b, s + start, i - start);
            if (!sp)
                sb_add(b, " ", 1);
            sp = 1;
            start = ++i;
            cps++;
            continue;
        }
        sp = 0;
        cps++;
        if (ch > 0x20 && ch < 0x7F) {
            i++;
            continue;
        }
        sb_add(b, s + start, i - start);
        i += sb_term_step(b, s + i, len - i);
        start = i;
    }
    sb_add(b, s + start, i - start);
    if (i < len)
        sb_add(b, "...", 3);
}

static void work_turns(job *j, void *ctx) {
    run *r = ctx;
    size_t i, n;
    const char *id, *src;
    work_parse(j, NULL);
    if (!j->conv || j->status != LC_OK ||
        lc_conversation_status(j->conv) != LC_OK)
        return;
    id = lc_conversation_id(j->conv);
    src = lc_conversation_source(j->conv);
    n = lc_conversation_turn_count(j->conv);
    if (r->c->format == LC_OUTPUT_TEXT) {
        const char *note = lc_conversation_speaker_note(j->conv);
        sb_puts(&j->out, "== ");
        sb_term_str(&j->out, id);
        sb_printf(&j->out, " (%s, %zu turns)\n",
                  lc_format_name(lc_conversation_format(j->conv)), n);
        if (note && *note) {
            sb_puts(&j->out, "   speakers: ");
            sb_term_str(&j->out, note);
            sb_puts(&j->out, "\n");
        }
    }
    for (i = 0; i < n; i++) {
        const lc_turn *t = lc_conversation_turn(j->conv, i);
        if (!t)
            continue;
        if (r->c->format == LC_OUTPUT_JSON) {
            sb_puts(&j->out, "{\"conversation\":");
            sb_json(&j->out, id, strlen(id));
            sb_puts(&j->out, ",\"source\":");
            sb_json(&j->out, src, strlen(src));
            sb_printf(&j->out, ",\"turn\":%u,\"role\":\"%s\",\"speaker\":",
                      (unsigned)t->index, lc_role_name(t->role));
            sb_json(&j->out, t->speaker ? t->speaker : "",
                    t->speaker ? strlen(t->speaker) : 0);
            sb_printf(&j->out, ",\"line\":%llu,\"hash\":\"%016llx\",\"text\":",
                      (unsigned long long)t->line,
                      (unsigned long long)t->hash);
            sb_json(&j->out, t->text ? t->text : "", t->text_len);
            sb_puts(&j->out, "}\n");
        } else {
            sb_term_str(&j->out, src);
            sb_printf(&j->out, ":%llu: %u %s", (unsigned long long)t->line,
                      (unsigned)t->index, lc_role_name(t->role));
            if (t->speaker && *t->speaker &&
                strcmp(t->speaker, lc_role_name(t->role)) != 0) {
                sb_puts(&j->out, " (");
                sb_term_str(&j->out, t->speaker);
                sb_puts(&j->out, ")");
            }
            sb_puts(&j->out, ": ");
            cut_text(&j->out, t->text ? t->text : "", t->text_len, 100);
            sb_puts(&j->out, "\n");
        }
    }
}

static void consume_turns(job *j, void *ctx) {
    run *r = ctx;
    if (j->err.len)
        fwrite(j->err.data, 1, j->err.len, stderr);
    if (j->status != LC_OK) {
        fprintf(stderr, "%s: error: %s [%s]\n", prog,
                lc_status_str(j->status), lc_status_code(j->status));
        r->fatal = 1;
    }
    r->read++;
    if (j->reader_error || !j->conv ||
        lc_conversation_status(j->conv) != LC_OK)
        r->failed++;
    else
        r->analysed++;
    put_out(j->out.data, j->out.len);
    lc_conversation_free(j->conv);
}

/* ------------------------------------------------------------------ */
/* Verbs                                                                */
/* ------------------------------------------------------------------ */

static int default_jobs(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (n > 64 ? 64 : (int)n);
}

static unsigned color_flags(const cli *c) {
    const char *nc = getenv("NO_COLOR");
    if (c->color == 1)
        return LC_WRITE_COLOR;
    if (c->color == 0)
        return 0;
    if (nc && *nc)
        return 0;
    return isatty(STDOUT_FILENO) ? LC_WRITE_COLOR : 0;
}

static void final_line(const cli *c, const run *r) {
    if (!c->quiet)
        fprintf(stderr,
                "%s: %llu conversation%s read, %llu analysed, %llu failed\n",
                prog, (unsigned long long)r->read, r->read == 1 ? "" : "s",
                (unsigned long long)r->analysed,
                (unsigned long long)r->failed);
}

static int read_all(cli *c, run *r, const lc_config *cfg, char **paths,
                    size_t npaths, int side, job_fn work, job_fn consume) {
    run_opts o;
    input_list l;
    size_t i;
    int rc;
    /* without --include, directory walks read the usual log names */
    static char g1[] = "*.jsonl", g2[] = "*.ndjson", g3[] = "*.json",
                g4[] = "*.txt", g5[] = "*.log";
    static char *const default_include[] = {g1, g2, g3, g4, g5};
    memset(&l, 0, sizeof l);
    l.include = c->ninclude ? c->include : default_include;
    l.ninclude = c->ninclude ? c->ninclude
                             : sizeof default_include / sizeof default_include[0];
    l.exclude = c->exclude;
    l.nexclude = c->nexclude;
    for (i = 0; i < npaths; i++)
        input_add_path(&l, paths[i]);
    o.jobs = c->jobs;
    o.progress = !c->quiet && isatty(STDERR_FILENO);
    o.work = work;
    o.consume = consume;
    o.ctx = r;
    pthread_mutex_init(&r->pool_mu, NULL);
    r->npool = 0;
    r->gen = ++run_gen;
    rc = run_inputs(cfg, &l, side, &o);
    while (r->npool)
        lc_session_free(r->pool[--r->npool]);
    pthread_mutex_destroy(&r->pool_mu);
    if (l.had_error && rc == 0)
        rc = 1;
    input_list_free(&l);
    return rc;
}

/* XML attribute text: the gate's rule names and messages are ASCII built
 * from kind/family names and numbers, but escape the specials anyway.
 * Control characters other than tab are not allowed in XML 1.0: '?'. */
static void sb_xml_n(sbuf *b, const char *s, size_t n) {
    size_t i;
    for (i = 0; i < n; i++) {
        switch (s[i]) {
        case '<': sb_puts(b, "&lt;"); break;
        case '>': sb_puts(b, "&gt;"); break;
        case '&': sb_puts(b, "&amp;"); break;
        case '"': sb_puts(b, "&quot;"); break;
        default:
            if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
                sb_puts(b, "?");
            else
                sb_add(b, s + i, 1);
            break;
        }
    }
}

static void sb_xml(sbuf *b, const char *s) {
    sb_xml_n(b, s, strlen(s));
}

/* A path that could not be opened, read or walked has no conversation,
 * so no test case or annotation of its own: give each one an <error>
 * test case (JUnit) or an ::error command (GitHub) in r->junit, so the
 * CI report shows why the exit status is 3. */
static void add_path_errors(run *r) {
    const char *const *v;
    size_t i, n = input_path_errors(&v);
    for (i = 0; i < n; i++) {
        if (r->c->format == LC_OUTPUT_JUNIT) {
            sb_puts(&r->junit, "    <testcase name=\"input\" "
                               "classname=\"loopcheck.input\" time=\"0\">\n"
                               "      <error message=\"");
            sb_xml(&r->junit, v[i]);
            sb_printf(&r->junit, "\" type=\"%s\">",
                      lc_status_code(LC_ERR_IO));
            sb_xml(&r->junit, v[i]);
            sb_puts(&r->junit, "</error>\n    </testcase>\n");
            r->junit_tests++;
            r->junit_errors++;
        } else if (r->c->format == LC_OUTPUT_GITHUB) {
            sb_puts(&r->junit, "::error title=loopcheck input::");
            sb_gh(&r->junit, v[i], strlen(v[i]));
            sb_puts(&r->junit, "\n");
        }
    }
    input_path_errors_free();
}

/* The <testsuite> with one test case per gate rule. */
static void junit_gate_suite(const gate_result *g, sbuf *b) {
    size_t i;
    sb_printf(b,
              "  <testsuite name=\"loopcheck.gate\" tests=\"%zu\" "
              "failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
              g->nrules, g->nfailed);
    for (i = 0; i < g->nrules; i++) {
        sb_puts(b, "    <testcase name=\"");
        sb_xml(b, g->rule_names[i]);
        sb_puts(b, "\" classname=\"loopcheck.gate\" time=\"0\"");
        if (!g->rule_failed[i]) {
            sb_puts(b, "/>\n");
            continue;
        }
        sb_puts(b, ">\n      <failure message=\"");
        sb_xml(b, g->rule_msgs[i]);
        sb_puts(b, "\" type=\"gate\"/>\n    </testcase>\n");
    }
    sb_puts(b, "  </testsuite>\n");
}

static void write_gate(const cli *c, const gate_result *g) {
    size_t i;
    switch (c->format) {
    case LC_OUTPUT_TEXT:
        for (i = 0; i < g->nrules; i++)
            printf("gate: %s: %s: %s\n", g->rule_failed[i] ? "FAIL" : "pass",
                   g->rule_names[i], g->rule_msgs[i]);
        break;
    case LC_OUTPUT_JSON:
        /* JSON output holds only the library's objects (conversations,
         * then one summary last); the gate is in the exit status and on
         * stderr */
        break;
    case LC_OUTPUT_GITHUB:
        for (i = 0; i < g->nrules; i++)
            if (g->rule_failed[i])
                printf("::error title=loopcheck gate::%s: %s\n",
                       g->rule_names[i], g->rule_msgs[i]);
        break;
    case LC_OUTPUT_JUNIT:
        break;
    }
    for (i = 0; i < g->nrules; i++)
        if (g->rule_failed[i])
            fprintf(stderr, "%s: gate failed: %s: %s\n", prog,
                    g->rule_names[i], g->rule_msgs[i]);
}

static const char *num_g(char buf[40], double v);

/* The check gate's outcome as the last member of the summary object of
 * the JSON output (see doc/formats.md, "Summary object"): passed, and
 * one reason per failed rule - {"rule":"fail_on","kinds",...} or
 * {"rule":"max_rate","name",...} with value, limit and message. */
static void json_check_gate(sbuf *out, const gate_result *g) {
    size_t i, k = 0;
    char nb[40];
    if (out->len < 2 || out->data[out->len - 2] != '}' ||
        out->data[out->len - 1] != '\n')
        return;
    out->len -= 2;
    sb_printf(out, ",\"gate\":{\"passed\":%s,\"reasons\":[",
              g->failed ? "false" : "true");
    for (i = 0; i < g->nrules; i++) {
        if (!g->rule_failed[i])
            continue;
        if (k++)
            sb_puts(out, ",");
        sb_printf(out, "{\"rule\":\"%s\",\"%s\":", g->rule_keys[i],
                  strcmp(g->rule_keys[i], "fail_on") == 0 ? "kinds"
                                                           : "name");
        sb_json(out, g->rule_args[i], strlen(g->rule_args[i]));
        sb_printf(out, ",\"value\":%s", num_g(nb, g->rule_values[i]));
        sb_printf(out, ",\"limit\":%s,\"message\":",
                  num_g(nb, g->rule_limits[i]));
        sb_json(out, g->rule_msgs[i], strlen(g->rule_msgs[i]));
        sb_puts(out, "}");
    }
    sb_puts(out, "]}}\n");
}

static int cmd_check(cli *c, const lc_config *cfg) {
    run r;
    gate_result g;
    int rc, code;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.cfg = cfg;
    r.wflags = color_flags(c);
    r.fail_kinds = gate_fail_kinds(&c->set);
    if (lc_summary_new(cfg, &r.sum) != LC_OK) {
        msg_error("out of memory [LC-E090]");
        return EXIT_INTERNAL;
    }
    rc = read_all(c, &r, cfg, c->paths, c->npaths, 0, work_check,
                  consume_check);
    add_path_errors(&r);
    gate_eval(&c->set, r.sum, r.tripping, cfg, &g);

    if (c->format == LC_OUTPUT_JUNIT) {
        sbuf doc = {0}, sumx = {0}, gatex = {0};
        uint64_t tests = r.junit_tests + g.nrules;
        uint64_t fails = r.junit_failures + g.nfailed;
        lc_summary_write(r.sum, LC_OUTPUT_JUNIT, 0, sb_write_fn, &sumx);
        junit_gate_suite(&g, &gatex);
        sb_printf(&doc,
                  "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                  "<testsuites name=\"loopcheck\" tests=\"%llu\" "
                  "failures=\"%llu\" errors=\"%llu\">\n"
                  "  <testsuite name=\"loopcheck\" tests=\"%llu\" "
                  "failures=\"%llu\" errors=\"%llu\" skipped=\"0\">\n",
                  (unsigned long long)tests, (unsigned long long)fails,
                  (unsigned long long)r.junit_errors,
                  (unsigned long long)r.junit_tests,
                  (unsigned long long)r.junit_failures,
                  (unsigned long long)r.junit_errors);
        put_out(doc.data, doc.len);
        put_out(r.junit.data, r.junit.len);
        fputs("  </testsuite>\n", stdout);
        put_out(gatex.data, gatex.len);
        put_out(sumx.data, sumx.len);
        fputs("</testsuites>\n", stdout);
        sb_free(&doc);
        sb_free(&sumx);
        sb_free(&gatex);
        write_gate(c, &g);
    } else {
        if (lc_summary_write(r.sum, c->format, r.wflags, sb_write_fn,
                             &r.junit) != LC_OK)
            r.fatal = 1;
        else if (c->format == LC_OUTPUT_JSON)
            json_check_gate(&r.junit, &g);
        put_out(r.junit.data, r.junit.len);
        write_gate(c, &g);
    }
    fflush(stdout);
    final_line(c, &r);
    code = r.fatal ? EXIT_INTERNAL
           : (rc != 0 || r.failed) ? EXIT_INPUT
           : g.failed ? EXIT_GATE
                      : EXIT_PASS;
    if (rc < 0)
        code = EXIT_INTERNAL;
    gate_result_free(&g);
    sb_free(&r.junit);
    lc_summary_free(r.sum);
    return code;
}

static int cmd_turns(cli *c, const lc_config *cfg) {
    run r;
    int rc;
    memset(&r, 0, sizeof r);
    r.c = c;
    r.cfg = cfg;
    rc = read_all(c, &r, cfg, c->paths, c->npaths, 0, work_turns,
                  consume_turns);
    input_path_errors_free(); /* on stderr already; no CI output here */
    fflush(stdout);
    final_line(c, &r);
    if (r.fatal || rc < 0)
        return EXIT_INTERNAL;
    return (rc != 0 || r.failed) ? EXIT_INPUT : EXIT_PASS;
}

/* Is family name one that --family selected (all without --family)? */
static int family_selected(const cli *c, const char *name) {
    size_t k;
    if (c->nfamilies == 0)
        return 1;
    for (k = 0; k < c->nfamilies; k++)
        if (strcmp(c->families[k], name) == 0)
            return 1;
    return 0;
}

/* A family's flags for the text listing: "disabled,soft,cancel,accumulate"
 * or the ones set, "-" if none (into buf[n], n >= 33). */
static const char *family_flags(const lc_family_info *f, char *buf,
                                size_t n) {
    snprintf(buf, n, "%s%s%s%s", f->enabled ? "" : ",disabled",
             f->soft ? ",soft" : "", f->cancel ? ",cancel" : "",
             f->accumulate ? ",accumulate" : "");
    return buf[0] ? buf + 1 : "-";
}

/* patterns --families: one line per family. Text has a header line and
 * columns as wide as their longest value; JSON one object per line. */
static int cmd_families(cli *c, const lc_config *cfg) {
    size_t i, n = lc_config_family_count(cfg);
    int wname = (int)strlen("FAMILY"), wflags = (int)strlen("FLAGS"),
        worigin = (int)strlen("ORIGIN");
    char fl[48];
    sbuf b = {0};
    for (i = 0; i < n && c->format != LC_OUTPUT_JSON; i++) {
        const lc_family_info *f = lc_config_family(cfg, i);
        sbuf o = {0};
        int wf;
        if (!f || !family_selected(c, f->name))
            continue;
        sb_term_str(&o, f->origin);
        if ((int)strlen(f->name) > wname)
            wname = (int)strlen(f->name);
        wf = (int)strlen(family_flags(f, fl, sizeof fl));
        if (wf > wflags)
            wflags = wf;
        if (o.data && (int)o.len > worigin)
            worigin = (int)o.len;
        sb_free(&o);
    }
    if (c->format != LC_OUTPUT_JSON)
        sb_printf(&b, "%-*s %4s %6s %-9s %-*s %8s %-*s %s\n", wname,
                  "FAMILY", "SPEC", "WEIGHT", "ROLE", wflags, "FLAGS",
                  "PATTERNS", worigin, "ORIGIN", "SETTINGS");
    for (i = 0; i < n; i++) {
        const lc_family_info *f = lc_config_family(cfg, i);
        if (!f || !family_selected(c, f->name))
            continue;
        if (c->format == LC_OUTPUT_JSON) {
            sb_puts(&b, "{\"family\":");
            sb_json(&b, f->name, strlen(f->name));
            sb_printf(&b,
                      ",\"specificity\":%d,\"weight\":%d,\"role\":\"%s\","
                      "\"enabled\":%s,\"soft\":%s,\"cancel\":%s,"
                      "\"accumulate\":%s,\"patterns\":%zu,\"origin\":",
                      f->specificity, f->weight, f->role,
                      f->enabled ? "true" : "false",
                      f->soft ? "true" : "false",
                      f->cancel ? "true" : "false",
                      f->accumulate ? "true" : "false", f->patterns);
            sb_json(&b, f->origin, strlen(f->origin));
            sb_puts(&b, ",\"settings_origin\":");
            sb_json(&b, f->settings_origin, strlen(f->settings_origin));
            sb_puts(&b, "}\n");
        } else {
            /* origins are pattern files' paths: escaped, as the rest */
            sbuf nm = {0}, o = {0}, so = {0};
            sb_term_str(&nm, f->name);
            sb_term_str(&o, f->origin);
            sb_term_str(&so, f->settings_origin);
            sb_printf(&b, "%-*s %4d %6d %-9s %-*s %8zu %-*s %s\n", wname,
                      nm.data ? nm.data : "", f->specificity, f->weight,
                      f->role, wflags, family_flags(f, fl, sizeof fl),
                      f->patterns, worigin, o.data ? o.data : "",
                      so.data ? so.data : "");
            sb_free(&nm);
            sb_free(&o);
            sb_free(&so);
        }
    }
    put_out(b.data, b.len);
    sb_free(&b);
    return EXIT_PASS;
}

static int cmd_patterns(cli *c, const lc_config *cfg) {
    size_t i, n = lc_config_pattern_count(cfg);
    sbuf b = {0};
    if (c->list_families)
        return cmd_families(c, cfg);
    for (i = 0; i < n; i++) {
        const lc_pattern_info *p = lc_config_pattern(cfg, i);
        if (!p || !family_selected(c, p->family))
            continue;
        if (c->format == LC_OUTPUT_JSON) {
            sb_puts(&b, "{\"family\":");
            sb_json(&b, p->family, strlen(p->family));
            sb_puts(&b, ",\"origin\":");
            sb_json(&b, p->origin, strlen(p->origin));
            sb_puts(&b, ",\"text\":");
            sb_json(&b, p->text, strlen(p->text));
            sb_printf(&b, ",\"enabled\":%s}\n", p->enabled ? "true" : "false");
        } else {
            /* the origin is a pattern file's path: escaped, as the rest */
            sbuf f = {0}, o = {0}, t = {0};
            sb_term_str(&f, p->family);
            sb_term_str(&o, p->origin);
            sb_term_str(&t, p->text);
            sb_printf(&b, "%-20s %-12s %s%s\n", f.data ? f.data : "",
                      o.data ? o.data : "", t.data ? t.data : "",
                      p->enabled ? "" : "  (disabled)");
            sb_free(&f);
            sb_free(&o);
            sb_free(&t);
        }
    }
    put_out(b.data, b.len);
    sb_free(&b);
    return EXIT_PASS;
}

/* The diff's gate rules besides the library's McNemar verdict on
 * refusals: each is a test case of the JUnit suite loopcheck.gate. */
enum { DR_PAIRED, DR_LOOPS, DR_LIMITS, DR_COUNT };
static const char *const diff_rule_names[DR_COUNT] = {
    "diff paired", "diff loops", "diff limits"};

/* v with as few significant digits as read back to v (at least 6, so
 * 0.05 stays "0.05" but 0.9999999 does not become 1), -0 as 0. */
static const char *num_g(char buf[40], double v) {
    int prec;
    if (v == 0.0)
        v = 0.0; /* -0 -> 0 */
    for (prec = 6; prec < 17; prec++) {
        snprintf(buf, 40, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            return buf;
    }
    snprintf(buf, 40, "%.17g", v);
    return buf;
}

/* The reasons the diff gate failed: each is appended to a human line
 * ("; "-separated: the verdict's, or one per rule of diff_rule_names)
 * and, for the JSON output, to `json` as {"rule", "value", "limit",
 * "message"} (see doc/formats.md, "gate"). */
static void add_reason(sbuf *line, sbuf *json, const char *rule,
                       double value, double limit, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 6, 7)))
#endif
    ;

static void add_reason(sbuf *line, sbuf *json, const char *rule,
                       double value, double limit, const char *fmt, ...) {
    va_list ap;
    char tmp[512], nb[40];
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    if (line->len)
        sb_puts(line, "; ");
    sb_puts(line, tmp);
    if (json->len)
        sb_puts(json, ",");
    sb_printf(json, "{\"rule\":\"%s\",\"value\":%s", rule, num_g(nb, value));
    sb_printf(json, ",\"limit\":%s,\"message\":", num_g(nb, limit));
    sb_json(json, tmp, strlen(tmp));
    sb_puts(json, "}");
}

static int cmd_diff(cli *c, const lc_config *cfg) {
    run r;
    const lc_diff_stats *st = NULL;
    int rc0, rc1, code, failed_gate = 0, k;
    unsigned wflags = color_flags(c);
    double alpha = c->set.alpha > 0 ? c->set.alpha : 0.05;
    char ab[40], lb[40];
    sbuf out = {0}, why = {0}, jreasons = {0}, rule[DR_COUNT];
    memset(&r, 0, sizeof r);
    memset(rule, 0, sizeof rule);
    r.c = c;
    r.cfg = cfg;
    if (lc_diff_new(cfg, &r.diff) != LC_OK ||
        (c->set.alpha > 0 &&
         lc_diff_set_alpha(r.diff, c->set.alpha) != LC_OK)) {
        msg_error("cannot create the diff [LC-E090]");
        lc_diff_free(r.diff);
        return EXIT_INTERNAL;
    }
    rc0 = read_all(c, &r, cfg, &c->paths[0], 1, 0, work_check, consume_diff);
    rc1 = read_all(c, &r, cfg, &c->paths[1], 1, 1, work_check, consume_diff);
    add_path_errors(&r);
    warn_duplicate_ids(&r);
    if (lc_diff_compute(r.diff, &st) != LC_OK) {
        msg_error("out of memory [LC-E090]");
        lc_diff_free(r.diff);
        sb_free(&r.junit);
        return EXIT_INTERNAL;
    }
    num_g(ab, alpha);

    if (st->paired == 0) {
        /* nothing was compared: that is not a pass */
        add_reason(&rule[DR_PAIRED], &jreasons, "paired", 0, 1,
                   "nothing to compare: no conversation of the baseline "
                   "(%llu) pairs with one of the candidate (%llu)",
                   (unsigned long long)st->unpaired_baseline,
                   (unsigned long long)st->unpaired_candidate);
    } else {
        uint64_t nb = st->paired + st->unpaired_baseline,
                 nc = st->paired + st->unpaired_candidate;
        double p_loops = lc_mcnemar_exact(
            st->loops_appeared, st->loops_appeared + st->loops_disappeared);
        /* LC-E010 for want of a better code: no status says "the input
         * does not pair", and a new one would be an ABI addition */
        if (st->unpaired_baseline * 10 > nb || st->unpaired_candidate * 10 > nc)
            fprintf(stderr,
                    "%s: warning: %llu of %llu baseline and %llu of %llu "
                    "candidate conversations are unpaired; the statistics "
                    "cover the %llu paired prompts only [%s]\n",
                    prog, (unsigned long long)st->unpaired_baseline,
                    (unsigned long long)nb,
                    (unsigned long long)st->unpaired_candidate,
                    (unsigned long long)nc, (unsigned long long)st->paired,
                    lc_status_code(LC_ERR_INVALID_ARG));
        if (st->verdict == LC_VERDICT_REGRESSION)
            add_reason(&why, &jreasons, "verdict", st->p_value, alpha,
                       "verdict regression: exact McNemar p = %.4g < "
                       "alpha %s",
                       st->p_value, ab);
        /* loops: the same exact one-sided McNemar test on the loop flips,
         * plus a count limit (default 0: any loop that appears fails) */
        if (st->loops_appeared > (uint64_t)c->set.max_new_loops)
            add_reason(&rule[DR_LOOPS], &jreasons, "max_new_loops",
                       (double)st->loops_appeared,
                       (double)c->set.max_new_loops,
                       "%llu prompt%s started looping > max_new_loops %lld",
                       (unsigned long long)st->loops_appeared,
                       st->loops_appeared == 1 ? "" : "s",
                       (long long)c->set.max_new_loops);
        if (p_loops < alpha)
            add_reason(&rule[DR_LOOPS], &jreasons, "loops_mcnemar", p_loops,
                       alpha,
                       "candidate loops more: %llu appeared vs %llu "
                       "disappeared, exact McNemar p = %.4g < alpha %s",
                       (unsigned long long)st->loops_appeared,
                       (unsigned long long)st->loops_disappeared, p_loops,
                       ab);
        if (c->set.max_new_refusals >= 0 &&
            st->to_refusal > (uint64_t)c->set.max_new_refusals)
            add_reason(&rule[DR_LIMITS], &jreasons, "max_new_refusals",
                       (double)st->to_refusal,
                       (double)c->set.max_new_refusals,
                       "%llu prompt%s flipped to refusal > max_new_refusals "
                       "%lld",
                       (unsigned long long)st->to_refusal,
                       st->to_refusal == 1 ? "" : "s",
                       (long long)c->set.max_new_refusals);
        if (c->set.max_rate_increase_set &&
            st->difference > c->set.max_rate_increase)
            add_reason(&rule[DR_LIMITS], &jreasons, "max_rate_increase",
                       st->difference, c->set.max_rate_increase,
                       "refusal rate increase %.4g > max_rate_increase %s",
                       st->difference, num_g(lb, c->set.max_rate_increase));
    }
    for (k = 0; k < DR_COUNT; k++)
        if (rule[k].len) {
            if (why.len)
                sb_puts(&why, "; ");
            sb_puts(&why, rule[k].data);
        }
    failed_gate = why.len > 0;

    if (lc_diff_write(r.diff, c->format, wflags, sb_write_fn, &out) != LC_OK)
        r.fatal = 1;
    if (c->format == LC_OUTPUT_JSON && out.len >= 2 &&
        out.data[out.len - 2] == '}' && out.data[out.len - 1] == '\n') {
        /* the gate's outcome as a last member of the library's diff
         * object (added within schema 1) */
        out.len -= 2;
        sb_printf(&out, ",\"gate\":{\"passed\":%s,\"reasons\":[",
                  failed_gate ? "false" : "true");
        if (jreasons.len)
            sb_add(&out, jreasons.data, jreasons.len);
        sb_puts(&out, "]}}\n");
    }
    if (c->format == LC_OUTPUT_JUNIT) {
        /* the diff suite: "mcnemar" + one case per pair; flips are
         * failures only with a regression verdict (see lc_diff_write) */
        uint64_t dt = st->paired + 1,
                 df = st->verdict == LC_VERDICT_REGRESSION
                          ? st->to_refusal + 1
                          : 0,
                 gf = 0, ne = r.junit_errors;
        for (k = 0; k < DR_COUNT; k++)
            gf += rule[k].len > 0;
        printf("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
               "<testsuites name=\"loopcheck\" tests=\"%llu\" "
               "failures=\"%llu\" errors=\"%llu\">\n",
               (unsigned long long)(dt + DR_COUNT + ne),
               (unsigned long long)(df + gf), (unsigned long long)ne);
        if (ne) {
            printf("  <testsuite name=\"loopcheck.input\" tests=\"%llu\" "
                   "failures=\"0\" errors=\"%llu\" skipped=\"0\">\n",
                   (unsigned long long)ne, (unsigned long long)ne);
            put_out(r.junit.data, r.junit.len);
            printf("  </testsuite>\n");
        }
        put_out(out.data, out.len);
        printf("  <testsuite name=\"loopcheck.gate\" tests=\"%d\" "
               "failures=\"%llu\" errors=\"0\" skipped=\"0\">\n",
               DR_COUNT, (unsigned long long)gf);
        for (k = 0; k < DR_COUNT; k++) {
            printf("    <testcase name=\"%s\" classname=\"loopcheck.gate\" "
                   "time=\"0\"",
                   diff_rule_names[k]);
            if (rule[k].len) {
                sbuf m = {0};
                sb_xml(&m, rule[k].data);
                printf(">\n      <failure message=\"%s\" type=\"gate\"/>\n"
                       "    </testcase>\n",
                       m.data);
                sb_free(&m);
            } else {
                printf("/>\n");
            }
        }
        printf("  </testsuite>\n</testsuites>\n");
    } else {
        if (c->format == LC_OUTPUT_GITHUB)
            put_out(r.junit.data, r.junit.len);
        put_out(out.data, out.len);
        if (c->format == LC_OUTPUT_TEXT)
            printf("gate: %s%s\n", failed_gate ? "FAIL: " : "pass",
                   failed_gate ? why.data : "");
        else if (c->format == LC_OUTPUT_GITHUB)
            for (k = 0; k < DR_COUNT; k++)
                if (rule[k].len)
                    printf("::error title=loopcheck gate::%s: %s\n",
                           diff_rule_names[k], rule[k].data);
    }
    if (failed_gate)
        fprintf(stderr, "%s: gate failed: %s\n", prog, why.data);
    fflush(stdout);
    final_line(c, &r);
    code = r.fatal ? EXIT_INTERNAL
           : (rc0 || rc1 || r.failed) ? EXIT_INPUT
           : failed_gate ? EXIT_GATE
                         : EXIT_PASS;
    if (rc0 < 0 || rc1 < 0)
        code = EXIT_INTERNAL;
    for (k = 0; k < DR_COUNT; k++)
        sb_free(&rule[k]);
    sb_free(&out);
    sb_free(&why);
    sb_free(&jreasons);
    sb_free(&r.junit);
    lc_diff_free(r.diff);
    return code;
}

/* ------------------------------------------------------------------ */

/* The verb is only recognised as the first argument: "loopcheck -q turns
 * x.txt" would check the files "turns" and "x.txt". When no verb came
 * first and the first operand is a verb's name, say so (usage error)
 * rather than guess: ./turns checks a file named turns. Returns an exit
 * code, or -1 when there is no such operand. */
static int verb_not_first(int argc, char **argv) {
    static const char *const verbs[] = {"check", "turns", "patterns",
                                        "diff", "help"};
    int opt, rc = -1;
    size_t i;
    optind = 0; /* GNU getopt: start over */
    opterr = 0;
    /* "-" first: operands come back in order as option 1 */
    while ((opt = getopt_long(argc, argv, "-:f:c:p:j:qh", long_opts,
                              NULL)) != -1) {
        if (opt != 1)
            continue;
        for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++)
            if (strcmp(optarg, verbs[i]) == 0)
                rc = usage_error(V_CHECK,
                                 "the verb must come first: 'loopcheck %s "
                                 "[OPTIONS] ...' (to read a file named "
                                 "'%s', write ./%s)",
                                 verbs[i], verbs[i], verbs[i]);
        break;
    }
    optind = 0;
    return rc;
}

static void free_globs(char **v, size_t n) {
    size_t i;
    for (i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

/* No setlocale() here, on purpose: the CLI stays in the C locale
 * whatever LC_ALL/LANG say, so strtod reads --max-rate 0.25, --alpha
 * and the config file's numbers with '.', and its own printf of rates
 * and p-values writes '.' (the library does so under any locale).
 * tests/cli/lcnumeric.py fails if that changes. */
int main(int argc, char **argv) {
    cli c;
    lc_config *cfg = NULL;
    int rc, shift = 0;

    memset(&c, 0, sizeof c);
    settings_init(&c.set);
    c.verb = V_CHECK;
    c.format = LC_OUTPUT_TEXT;
    c.color = -1;
    c.jobs = default_jobs();

    if (argc >= 2) {
        if (strcmp(argv[1], "check") == 0)
            c.verb = V_CHECK, shift = 1;
        else if (strcmp(argv[1], "turns") == 0)
            c.verb = V_TURNS, shift = 1;
        else if (strcmp(argv[1], "patterns") == 0)
            c.verb = V_PATTERNS, shift = 1;
        else if (strcmp(argv[1], "diff") == 0)
            c.verb = V_DIFF, shift = 1;
        else if (strcmp(argv[1], "--help") == 0 ||
                 strcmp(argv[1], "-h") == 0 ||
                 strcmp(argv[1], "help") == 0) {
            usage(0, stdout);
            rc = EXIT_PASS;
            goto out;
        }
    } else {
        usage(0, stderr);
        return EXIT_USAGE;
    }
    if (!shift && (rc = verb_not_first(argc, argv)) >= 0)
        goto out;
    rc = parse_args(&c, argc - shift, argv + shift);
    if (rc < 0)
        rc = make_config(&c, &cfg);
    if (rc < 0) {
        switch (c.verb) {
        case V_TURNS: rc = cmd_turns(&c, cfg); break;
        case V_PATTERNS: rc = cmd_patterns(&c, cfg); break;
        case V_DIFF: rc = cmd_diff(&c, cfg); break;
        default: rc = cmd_check(&c, cfg); break;
        }
    }
out:
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc != EXIT_USAGE) {
        fprintf(stderr, "%s: error: cannot write the output: %s [%s]\n",
                prog, strerror(errno ? errno : EIO),
                lc_status_code(LC_ERR_IO));
        rc = EXIT_INTERNAL;
    }
    lc_config_free(cfg);
    settings_free(&c.set);
    free(c.config_path);
    free_globs(c.include, c.ninclude);
    free_globs(c.exclude, c.nexclude);
    free_globs(c.families, c.nfamilies);
    return rc;
}
