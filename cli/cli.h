/*
 * cli.h - declarations shared by the loopcheck command's source files.
 *
 * The CLI is a plain user of the public library API (<loopcheck.h>
 * only): it owns arguments, file walking, chunked reading, threads,
 * exit codes and message formatting; all detection, parsing and report
 * rendering happen in libloopcheck.
 */
#ifndef LOOPCHECK_CLI_H
#define LOOPCHECK_CLI_H

#include <loopcheck.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Exit codes (documented in --help and loopcheck(1)). */
enum {
    EXIT_PASS = 0,
    EXIT_GATE = 1,
    EXIT_USAGE = 2,
    EXIT_INPUT = 3,
    EXIT_INTERNAL = 4
};

/* ---- growable string (sbuf.c) ---- */
typedef struct sbuf {
    char *data;
    size_t len, cap;
} sbuf;

void sb_free(sbuf *b);
void sb_add(sbuf *b, const char *s, size_t n);
void sb_puts(sbuf *b, const char *s);
void sb_printf(sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* JSON string literal with quotes (RFC 8259 escapes); invalid UTF-8 is
 * replaced by U+FFFD, so the output always parses. */
void sb_json(sbuf *b, const char *s, size_t n);
/* s for a terminal: C0 controls (tab and newline too), DEL and C1
 * controls as \u001b-style escapes, invalid UTF-8 as U+FFFD, the rest as
 * is (the library's rule for text output). sb_term_str: NUL-terminated,
 * NULL adds nothing. */
void sb_term(sbuf *b, const char *s, size_t n);
void sb_term_str(sbuf *b, const char *s);
/* One code point of s[0..n) (n > 0) as sb_term writes it; returns the
 * bytes consumed. */
size_t sb_term_step(sbuf *b, const char *s, size_t n);
/* Print "PATH: " and then fmt to stderr, PATH as sb_term writes it (a
 * file name can hold any byte but '/' and NUL, ESC included). */
void eprint_path(const char *path, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* lc_write_fn adapter appending to an sbuf (userdata = sbuf *). */
int sb_write_fn(const char *data, size_t len, void *userdata);
/* "path:line:col: error: message [LC-Ennn]" (col/line omitted when 0). */
void sb_diag(sbuf *b, const char *fallback_source, const lc_error *e);
/* Abort on allocation failure: the CLI has nothing sensible to do. */
void *xmalloc(size_t n);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);

/* ---- messages (main.c) ---- */
extern const char *prog;
void msg_error(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- gate and config file (gate.c) ---- */
#define MAX_RATE_RULES 64

typedef struct rate_rule {
    char *name;     /* kind or refusal family */
    double max;
    int is_kind;
    lc_kind kind;
    char *where;    /* "FILE:LINE" of a config file rule; NULL: --max-rate */
} rate_rule;

typedef struct settings {
    /* gate */
    int fail_on_set;      /* fail_on given (else: every kind fails) */
    uint32_t fail_kinds;  /* LC_KIND_BIT set */
    int kinds_set;        /* --kinds given */
    uint32_t kinds;       /* detectors to run (LC_OPT_KINDS), LC_KIND_BIT set */
    rate_rule rates[MAX_RATE_RULES];
    size_t nrates;
    /* diff */
    double alpha;                /* 0 = default 0.05 */
    int64_t max_new_refusals;    /* -1 = no limit */
    int max_rate_increase_set;   /* max_rate_increase given (may be < 0) */
    double max_rate_increase;    /* -1..1 */
    int64_t max_new_loops;       /* default 0: any loop that appears */
    /* input */
    char *input_format;          /* NULL = auto */
    char **assistants, **users;  /* speaker names */
    size_t nassistants, nusers;
    char **pattern_files;
    size_t npattern_files;
    /* library options, "name=value" (--set, [options]) */
    char **opts;
    size_t nopts;
} settings;

void settings_init(settings *s);
void settings_free(settings *s);
/* Parse "exact_loop,refusal" or "none" into s (replaces the set).
 * Returns 0, or -1 after printing a usage error. */
int gate_parse_fail_on(settings *s, const char *arg, const char *where);
/* --kinds: which detectors run (kind names, 'all'); at least one. */
int gate_parse_kinds(settings *s, const char *arg, const char *where);
/* Parse "refusal=0.05,apology=0" (adds rules; a command-line rule
 * replaces the config file's rule of the same name, a name given twice
 * on the command line is an error). */
int gate_parse_max_rate(settings *s, const char *arg, const char *where);
/* Resolve rule names against kinds and the config's families. Errors
 * of config file rules name FILE:LINE with LC-E035. */
int gate_resolve(settings *s, const lc_config *cfg);
/* Warn on stderr about check gate rules that can never trip because
 * their detector is not run (--kinds / --set kinds=). */
void gate_warn_unmeasured(const settings *s, const lc_config *cfg);
/* 1 if the detectors of cfg can report kind k / a refusal family. */
int gate_kind_measured(const lc_config *cfg, lc_kind k);
/* Read a loopcheck.toml-style file into s. Errors are printed as
 * FILE:LINE: error: ... [LC-E035]; returns 0 or -1. */
int config_file_load(settings *s, const char *path);

/* Result of evaluating the gate on a finished run. */
typedef struct gate_result {
    int failed;
    sbuf lines;   /* one human line per rule: "fail_on exact_loop: ..." */
    size_t nrules, nfailed;
    char **rule_names;  /* "fail_on KINDS", "max_rate NAME" */
    char **rule_msgs;
    int *rule_failed;
    const char **rule_keys; /* "fail_on", "max_rate" (static strings) */
    char **rule_args;       /* KINDS ("any" or a,b), NAME */
    double *rule_values;    /* conversations tripping, or the rate */
    double *rule_limits;    /* 0, or the max rate */
} gate_result;

/* Rules whose detector cfg does not run are shown as not measured. */
void gate_eval(const settings *s, const lc_summary *sum,
               uint64_t conversations_tripping, const lc_config *cfg,
               gate_result *out);
void gate_result_free(gate_result *g);
/* 1 if report r has a finding of a kind in the fail set. */
int gate_report_trips(const settings *s, const lc_report *r);
uint32_t gate_fail_kinds(const settings *s);

/* ---- input: file lists and the reading pipeline (input.c) ---- */
typedef struct input_file {
    char *path;       /* as given / as walked; "-" is stdin */
    uint64_t size;    /* 0 if unknown */
} input_file;

typedef struct input_list {
    input_file *files;
    size_t n, cap;
    char *const *include, *const *exclude;
    size_t ninclude, nexclude;
    int had_error; /* some path could not be read or walked */
} input_list;

/* Add a command-line path (file, directory walked recursively, "-").
 * Errors are printed as "path: error: ... [LC-E051]". */
void input_add_path(input_list *l, const char *path);
void input_list_free(input_list *l);
/* Every path that could not be opened, read or walked so far (LC-E051),
 * as its stderr line "PATH: error: WHY [LC-E051]" without the newline,
 * PATH as sb_term writes it; for the JUnit and GitHub outputs, which have
 * no conversation to show it on. Returns the count; *v stays valid until
 * input_path_errors_free. */
size_t input_path_errors(const char *const **v);
void input_path_errors_free(void);

/* One conversation travelling through the pipeline. */
typedef struct job {
    int side;             /* diff: 0 baseline, 1 candidate */
    lc_conversation *conv;
    lc_report *report;    /* check/diff */
    lc_status status;     /* fatal library status (NOMEM...) or LC_OK */
    int reader_error;     /* a reader-level failure, counted as failed */
    sbuf out;             /* rendered stdout */
    sbuf err;             /* rendered stderr diagnostics */
} job;

typedef struct pipeline pipeline;
/* work(): runs on a worker thread (or inline with 1 job): parse, check,
 * render into job->out / job->err. consume(): runs on the main thread,
 * strictly in input order. */
typedef void (*job_fn)(job *j, void *ctx);

typedef struct run_opts {
    int jobs;        /* worker threads; 1 = inline */
    int progress;    /* draw a progress bar on stderr */
    job_fn work;
    job_fn consume;
    void *ctx;
} run_opts;

/* Read every file of l through a reader made from cfg, feeding jobs to
 * workers; `side` is stored in each job. Returns 0, or -1 on a fatal
 * library error (already reported). Counts go through consume(). */
int run_inputs(const lc_config *cfg, const input_list *l, int side,
               const run_opts *o);

#endif /* LOOPCHECK_CLI_H */
