/*
 * input.c - which files to read, and reading them.
 *
 * Walking: a directory argument is walked recursively in byte order of
 * the names (so output order does not depend on the file system), hidden
 * entries (".name") skipped, symlinks followed, and a directory reached
 * twice (a symlink loop, or two links to one place) read only once, with
 * a warning. --include/--exclude globs (fnmatch) apply to what the walk
 * finds, matched against the base name and against the whole path;
 * --exclude also prunes directories. Paths named on the command line are
 * always read. A path that cannot be read prints
 * "path: error: <reason> [LC-E051]" and the run goes on (exit 3 at the
 * end).
 *
 * Reading: each file gets its own lc_reader and is fed in fixed 64 KiB
 * chunks; whole conversations come out and travel as jobs. With one job
 * everything runs inline on the main thread. With N > 1 the main thread
 * is the reader thread: it frames records (LC_OPT_DEFER_PARSE = 2 is set
 * by the caller), N worker threads parse and check them, and the main
 * thread consumes finished jobs strictly in input order through a
 * bounded window (so memory stays bounded and output is deterministic).
 * Jobs travel in batches (see BATCH_JOBS below).
 *
 * A regular file read as JSONL (one conversation per line) with N > 1 is
 * read by the workers themselves instead: the main thread only cuts it
 * into parts of about CHUNK_MAX bytes, and each worker reads its part
 * with pread(), frames and checks its conversations with a reader of its
 * own (lc_reader_set_start gives it the part's line and offset), and the
 * main thread consumes the parts in order as above. That keeps the bytes
 * on the core that analyses them (the main thread reading and copying
 * every record for the workers cost the workers 10-15% more CPU than
 * the same work in separate processes). A part owns the lines that start
 * in its nominal range [k S, (k + 1) S): it starts after the first line
 * feed at or after k S - 1 (0 for the first part) and ends where the next
 * one starts. Line numbers chain: each worker counts the line ends of its
 * part first, then waits for the part before it to publish its first
 * line. Output is byte-identical to the sequential path (tests/cli:
 * every fixture with tiny parts).
 */
#include "cli.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

/* ------------------------------------------------------------------ */
/* Walking                                                              */
/* ------------------------------------------------------------------ */

typedef struct dir_id {
    dev_t dev;
    ino_t ino;
} dir_id;

typedef struct walk {
    input_list *l;
    dir_id *seen;
    size_t nseen, capseen;
} walk;

/* Paths that could not be opened, read or walked (input_path_errors):
 * noted by the main thread and by part readers on the workers. */
static pthread_mutex_t path_errors_mu = PTHREAD_MUTEX_INITIALIZER;
static char **path_errors;
static size_t npath_errors, cappath_errors;

static void note_path_error(const char *path, const char *why) {
    sbuf b = {0};
    sb_term_str(&b, path);
    sb_printf(&b, ": error: %s [%s]", why, lc_status_code(LC_ERR_IO));
    pthread_mutex_lock(&path_errors_mu);
    if (npath_errors == cappath_errors) {
        cappath_errors = cappath_errors ? 2 * cappath_errors : 8;
        path_errors = xrealloc(path_errors,
                               cappath_errors * sizeof *path_errors);
    }
    path_errors[npath_errors++] = b.data;
    pthread_mutex_unlock(&path_errors_mu);
}

size_t input_path_errors(const char *const **v) {
    size_t n;
    pthread_mutex_lock(&path_errors_mu);
    *v = (const char *const *)path_errors;
    n = npath_errors;
    pthread_mutex_unlock(&path_errors_mu);
    return n;
}

void input_path_errors_free(void) {
    size_t i;
    pthread_mutex_lock(&path_errors_mu);
    for (i = 0; i < npath_errors; i++)
        free(path_errors[i]);
    free(path_errors);
    path_errors = NULL;
    npath_errors = cappath_errors = 0;
    pthread_mutex_unlock(&path_errors_mu);
}

static void io_error(input_list *l, const char *path, const char *why) {
    eprint_path(path, "error: %s [%s]\n", why, lc_status_code(LC_ERR_IO));
    note_path_error(path, why);
    l->had_error = 1;
}

static void add_file(input_list *l, const char *path, uint64_t size) {
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->files = xrealloc(l->files, l->cap * sizeof *l->files);
    }
    l->files[l->n].path = xstrdup(path);
    l->files[l->n].size = size;
    l->n++;
}

static int glob_match(char *const *pats, size_t n, const char *path) {
    const char *base = strrchr(path, '/');
    size_t i;
    base = base ? base + 1 : path;
    for (i = 0; i < n; i++)
        if (fnmatch(pats[i], base, 0) == 0 || fnmatch(pats[i], path, 0) == 0)
            return 1;
    return 0;
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int seen_dir(walk *w, const struct stat *st) {
    size_t i;
    for (i = 0; i < w->nseen; i++)
        if (w->seen[i].dev == st->st_dev && w->seen[i].ino == st->st_ino)
            return 1;
    if (w->nseen == w->capseen) {
        w->capseen = w->capseen ? w->capseen * 2 : 16;
        w->seen = xrealloc(w->seen, w->capseen * sizeof *w->seen);
    }
    w->seen[w->nseen].dev = st->st_dev;
    w->seen[w->nseen].ino = st->st_ino;
    w->nseen++;
    return 0;
}

static void walk_dir(walk *w, const char *dir, const struct stat *dst) {
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;

    if (seen_dir(w, dst)) {
        eprint_path(dir,
                    "warning: directory already visited (symlink loop?), "
                    "skipped [%s]\n",
                    lc_status_code(LC_ERR_IO));
        return;
    }
    if (!(d = opendir(dir))) {
        io_error(w->l, dir, strerror(errno));
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue; /* ".", "..", hidden files */
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            names = xrealloc(names, cap * sizeof *names);
        }
        names[n++] = xstrdup(de->d_name);
    }
    closedir(d);
    if (n) /* names is NULL for an empty directory: qsort wants non-NULL */
        qsort(names, n, sizeof *names, cmp_names);
    for (i = 0; i < n; i++) {
        sbuf p = {0};
        struct stat st;
        size_t dl = strlen(dir);
        sb_add(&p, dir, dl);
        if (dl && dir[dl - 1] != '/')
            sb_add(&p, "/", 1);
        sb_puts(&p, names[i]);
        if (stat(p.data, &st) != 0) {
            io_error(w->l, p.data, strerror(errno));
        } else if (S_ISDIR(st.st_mode)) {
            if (!glob_match(w->l->exclude, w->l->nexclude, p.data))
                walk_dir(w, p.data, &st);
        } else if (S_ISREG(st.st_mode)) {
            if (!glob_match(w->l->exclude, w->l->nexclude, p.data) &&
                (w->l->ninclude == 0 ||
                 glob_match(w->l->include, w->l->ninclude, p.data)))
                add_file(w->l, p.data, (uint64_t)st.st_size);
        }
        sb_free(&p);
        free(names[i]);
    }
    free(names);
}

void input_add_path(input_list *l, const char *path) {
    struct stat st;
    if (strcmp(path, "-") == 0) {
        add_file(l, "-", 0);
        return;
    }
    if (stat(path, &st) != 0) {
        io_error(l, path, strerror(errno));
        return;
    }
    if (S_ISDIR(st.st_mode)) {
        walk w = {l, NULL, 0, 0};
        walk_dir(&w, path, &st);
        free(w.seen);
        return;
    }
    add_file(l, path, S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0);
}

void input_list_free(input_list *l) {
    size_t i;
    for (i = 0; i < l->n; i++)
        free(l->files[i].path);
    free(l->files);
    l->files = NULL;
    l->n = l->cap = 0;
}

/* ------------------------------------------------------------------ */
/* Progress                                                             */
/* ------------------------------------------------------------------ */

typedef struct progress {
    int on;
    uint64_t total;  /* bytes, 0 if unknown */
    uint64_t done;   /* bytes fed */
    uint64_t convs;
    double start, last;
} progress;

static double now_sec(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void progress_draw(progress *p, int force) {
    double t, el, rate;
    if (!p->on)
        return;
    t = now_sec();
    if (!force && t - p->last < 0.1)
        return;
    p->last = t;
    el = t - p->start;
    rate = el > 0 ? (double)p->done / el : 0;
    fprintf(stderr, "\r\033[K%s: %llu conversations, %.1f MB", prog,
            (unsigned long long)p->convs, (double)p->done / 1e6);
    if (p->total)
        fprintf(stderr, " of %.1f MB", (double)p->total / 1e6);
    fprintf(stderr, ", %.1f MB/s", rate / 1e6);
    if (p->total && rate > 0 && p->done <= p->total) {
        double eta = (double)(p->total - p->done) / rate;
        fprintf(stderr, ", ETA %d:%02d", (int)(eta / 60), (int)eta % 60);
    }
    fflush(stderr);
}

static void progress_clear(progress *p) {
    if (p->on) {
        fprintf(stderr, "\r\033[K");
        fflush(stderr);
    }
}

/* ------------------------------------------------------------------ */
/* Worker pool with in-order delivery                                   */
/* ------------------------------------------------------------------ */

/* Jobs travel in batches: one conversation is a few KB, and handing
 * each one to a worker separately cost a lock round trip and usually a
 * thread wake-up per conversation (about 20,000 context switches per
 * 100 MB at -j 2). A batch closes at BATCH_JOBS conversations or once
 * BATCH_BYTES of input were read since it opened, whichever comes first;
 * the window holds WINDOW_PER_THREAD batches per worker, so at most
 * about jobs * WINDOW_PER_THREAD * BATCH_BYTES of input is in flight. */
#define BATCH_JOBS 64
#define BATCH_BYTES (256 * 1024)
#define WINDOW_PER_THREAD 4

/* A part of a regular JSONL file, read by the worker that takes it. */
typedef struct part {
    int fd;              /* shared by the file's parts (pread) */
    const char *name;    /* the file's path, as given */
    const lc_config *cfg;
    int side;
    lc_format format;
    uint64_t size;       /* file size when reading started */
    uint64_t lo, hi;     /* nominal range [lo, hi) */
    uint64_t seq;        /* position in the line-number chain */
    int first, last;     /* first / last part of its file */
} part;

typedef struct batch {
    job **items;
    size_t n, cap;
    int done;
    part *pt;            /* NULL: items were framed by the main thread */
    sbuf io_err;         /* the part could not be read: the message */
} batch;

struct pipeline {
    const run_opts *o;
    pthread_mutex_t mu;
    pthread_cond_t cv_work; /* a batch was submitted, or stop */
    pthread_cond_t cv_done; /* a batch finished */
    batch **ring;           /* window of in-flight batches, by seq % window */
    size_t window;
    size_t next_submit, next_take, next_out;
    int stop;
    pthread_t *threads;
    int nthreads;
    progress *prog;
    batch *cur;             /* being filled by the reader thread */
    uint64_t cur_start;     /* p->fed when cur was opened */
    uint64_t fed;           /* bytes read so far (all files) */
    /* parts' line-number chain: part `chain_next` may take its first line
     * (chain_line + 1) next */
    pthread_cond_t cv_chain;
    uint64_t chain_next, chain_line, nparts;
    int chain_failed;       /* a part of the current file could not be read */
    int io_failed;          /* a part could not be read (exit status 3) */
    int fatal;              /* a part's reader could not be made (exit 4) */
};

static void run_part(pipeline *p, batch *b);

static void *worker_main(void *arg) {
    pipeline *p = arg;
    for (;;) {
        batch *b;
        size_t i;
        pthread_mutex_lock(&p->mu);
        while (p->next_take == p->next_submit && !p->stop)
            pthread_cond_wait(&p->cv_work, &p->mu);
        if (p->next_take == p->next_submit) {
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        b = p->ring[p->next_take % p->window];
        p->next_take++;
        pthread_mutex_unlock(&p->mu);
        if (b->pt) /* frames and works its conversations itself */
            run_part(p, b);
        else
            for (i = 0; i < b->n; i++)
                if (!b->items[i]->reader_error)
                    p->o->work(b->items[i], p->o->ctx);
        pthread_mutex_lock(&p->mu);
        b->done = 1;
        pthread_cond_broadcast(&p->cv_done);
        pthread_mutex_unlock(&p->mu);
    }
}

static void progress_clear(progress *p);

static void consume_one(pipeline *p, job *j) {
    /* keep diagnostics and output off the progress line */
    if (p->prog && p->prog->on && (j->err.len || j->out.len))
        progress_clear(p->prog);
    p->o->consume(j, p->o->ctx);
    if (p->prog)
        p->prog->convs++;
    sb_free(&j->out);
    sb_free(&j->err);
    free(j);
}

/* Consume finished batches in order; with `block`, wait for at least the
 * next one when it is not finished yet. */
static void drain(pipeline *p, int block) {
    for (;;) {
        batch *b;
        size_t i;
        pthread_mutex_lock(&p->mu);
        if (p->next_out == p->next_submit) {
            pthread_mutex_unlock(&p->mu);
            return;
        }
        b = p->ring[p->next_out % p->window];
        while (!b->done && block)
            pthread_cond_wait(&p->cv_done, &p->mu);
        if (!b->done) {
            pthread_mutex_unlock(&p->mu);
            return;
        }
        p->ring[p->next_out % p->window] = NULL;
        p->next_out++;
        pthread_mutex_unlock(&p->mu);
        for (i = 0; i < b->n; i++)
            consume_one(p, b->items[i]);
        if (b->io_err.len) {
            if (p->prog && p->prog->on)
                progress_clear(p->prog);
            fwrite(b->io_err.data, 1, b->io_err.len, stderr);
            sb_free(&b->io_err);
            p->io_failed = 1;
        }
        if (b->pt) {
            if (p->prog) {
                p->prog->done += b->pt->hi - b->pt->lo;
                progress_draw(p->prog, 0);
            }
            if (b->pt->last) /* every part of the file is done */
                close(b->pt->fd);
            free(b->pt);
        }
        free(b->items);
        free(b);
        block = 0;
    }
}

/* Put batch b into the window (waiting for room) for the workers. */
static void submit_batch(pipeline *p, batch *b) {
    /* make room in the window */
    for (;;) {
        pthread_mutex_lock(&p->mu);
        if (p->next_submit - p->next_out < p->window)
            break;
        pthread_mutex_unlock(&p->mu);
        drain(p, 1);
    }
    p->ring[p->next_submit % p->window] = b;
    p->next_submit++;
    pthread_cond_signal(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    drain(p, 0);
}

/* Hand the open batch to the workers. */
static void flush_batch(pipeline *p) {
    batch *b = p->cur;
    if (!b)
        return;
    p->cur = NULL;
    submit_batch(p, b);
}

/* Hand over the open batch, wait until every batch in flight has been
 * consumed, and push the output out (the reader is about to wait for
 * input: a live pipe should see the findings of what it already sent). */
static void pipeline_sync(pipeline *p) {
    if (p->nthreads) {
        flush_batch(p);
        while (p->next_out != p->next_submit)
            drain(p, 1);
    }
    fflush(stdout);
}

static void submit(pipeline *p, job *j) {
    batch *b;
    if (p->nthreads == 0) {
        if (!j->reader_error)
            p->o->work(j, p->o->ctx);
        consume_one(p, j);
        return;
    }
    if (!p->cur) {
        p->cur = xmalloc(sizeof *p->cur);
        memset(p->cur, 0, sizeof *p->cur);
        p->cur_start = p->fed;
    }
    b = p->cur;
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->items = xrealloc(b->items, b->cap * sizeof *b->items);
    }
    b->items[b->n++] = j;
    if (b->n >= BATCH_JOBS || p->fed - p->cur_start >= BATCH_BYTES)
        flush_batch(p);
}

static int pipeline_start(pipeline *p, const run_opts *o, progress *pr) {
    int i;
    memset(p, 0, sizeof *p);
    p->o = o;
    p->prog = pr;
    if (o->jobs <= 1)
        return 0;
    p->window = (size_t)o->jobs * WINDOW_PER_THREAD;
    p->ring = xmalloc(p->window * sizeof *p->ring);
    memset(p->ring, 0, p->window * sizeof *p->ring);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv_work, NULL);
    pthread_cond_init(&p->cv_done, NULL);
    pthread_cond_init(&p->cv_chain, NULL);
    p->threads = xmalloc((size_t)o->jobs * sizeof *p->threads);
    for (i = 0; i < o->jobs; i++) {
        if (pthread_create(&p->threads[i], NULL, worker_main, p) != 0)
            break;
        p->nthreads++;
    }
    if (p->nthreads == 0) { /* no threads available: run inline */
        free(p->threads);
        free(p->ring);
        p->threads = NULL;
        p->ring = NULL;
    }
    return 0;
}

static void pipeline_finish(pipeline *p) {
    int i;
    if (p->nthreads == 0)
        return;
    flush_batch(p);
    while (p->next_out != p->next_submit)
        drain(p, 1);
    pthread_mutex_lock(&p->mu);
    p->stop = 1;
    pthread_cond_broadcast(&p->cv_work);
    pthread_mutex_unlock(&p->mu);
    for (i = 0; i < p->nthreads; i++)
        pthread_join(p->threads[i], NULL);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv_work);
    pthread_cond_destroy(&p->cv_done);
    pthread_cond_destroy(&p->cv_chain);
    free(p->threads);
    free(p->ring);
}

/* ------------------------------------------------------------------ */
/* Reading                                                              */
/* ------------------------------------------------------------------ */

/* "PATH: error: WHY [CODE]\n" into b, PATH escaped for a terminal. */
static void sb_error(sbuf *b, const char *path, const char *why,
                     lc_status code) {
    sb_term_str(b, path);
    sb_printf(b, ": error: %s [%s]\n", why, lc_status_code(code));
}

static job *new_job(int side) {
    job *j = xmalloc(sizeof *j);
    memset(j, 0, sizeof *j);
    j->side = side;
    j->status = LC_OK;
    return j;
}

/* A reader-level failure becomes a finished job counted as one failed
 * conversation, so that read = analysed + failed still holds. */
static job *failure_job(int side, const char *path, const lc_error *e,
                        lc_status st) {
    job *j = new_job(side);
    j->reader_error = 1;
    if (e)
        sb_diag(&j->err, path, e);
    else
        sb_error(&j->err, path, lc_status_str(st), st);
    return j;
}

static void reader_failure(pipeline *p, int side, const char *path,
                           const lc_error *e, lc_status st) {
    /* no work to do; it still goes through a worker so that the window
     * bookkeeping stays simple (a job is consumed only once taken) */
    submit(p, failure_job(side, path, e, st));
}

/* Pull every ready conversation. Returns LC_NEED_INPUT, LC_END, or a
 * fatal status (after reporting it as a failed job). */
static lc_status pull(pipeline *p, lc_reader *r, int side, const char *path) {
    for (;;) {
        lc_conversation *c = NULL;
        lc_status st = lc_reader_next(r, &c);
        if (st == LC_OK) {
            job *j = new_job(side);
            j->conv = c;
            submit(p, j);
            continue;
        }
        if (st == LC_NEED_INPUT || st == LC_END)
            return st;
        reader_failure(p, side, path, lc_reader_error(r), st);
        return st;
    }
}

/* ------------------------------------------------------------------ */
/* Parts of a regular JSONL file, read by the workers                   */
/* ------------------------------------------------------------------ */

/* Nominal part size: CHUNK_MAX, less for small files so that every
 * worker gets parts (about 16 per worker); LOOPCHECK_CHUNK_BYTES
 * overrides it (tests cut the fixtures into parts of a few bytes). */
#define CHUNK_MAX (1024 * 1024)
#define CHUNK_MIN (64 * 1024)

static uint64_t part_size(uint64_t size, int workers) {
    const char *env = getenv("LOOPCHECK_CHUNK_BYTES");
    uint64_t s;
    if (env && *env) {
        char *end = NULL;
        unsigned long long v = strtoull(env, &end, 10);
        if (end && !*end && v > 0)
            return (uint64_t)v;
    }
    s = size / ((uint64_t)workers * 16);
    return s < CHUNK_MIN ? CHUNK_MIN : s > CHUNK_MAX ? CHUNK_MAX : s;
}

/* pread() all of [off, off + n) (less at the end of the file); returns
 * the bytes read, or -1 with errno. */
static ssize_t pread_full(int fd, char *buf, size_t n, uint64_t off) {
    size_t got = 0;
    while (got < n) {
        ssize_t k = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (k < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        if (k == 0)
            break;
        got += (size_t)k;
    }
    return (ssize_t)got;
}

/* The first line start in [pos, limit): pos itself if it is 0 or follows
 * a line feed, else the byte after the next line feed before limit - 1;
 * `limit` if there is none (no line starts in the range). A line start
 * after a lone CR or a CRLF split differently is never chosen: every part
 * starts after a line feed, where the sequential reader starts a line
 * too. A part looks for its own start only up to its nominal end, so the
 * parts inside one long line do not each scan to its end. */
static int line_start(int fd, uint64_t pos, uint64_t limit, uint64_t *out) {
    char buf[CHUNK];
    uint64_t at;
    if (pos == 0 || pos >= limit) {
        *out = pos >= limit ? limit : 0;
        return 0;
    }
    for (at = pos - 1; at < limit - 1;) {
        size_t want = limit - 1 - at < sizeof buf ? (size_t)(limit - 1 - at)
                                                  : sizeof buf;
        ssize_t n = pread_full(fd, buf, want, at);
        const char *nl;
        if (n < 0)
            return -1;
        if (n == 0)
            break; /* the file shrank */
        if ((nl = memchr(buf, '\n', (size_t)n)) != NULL) {
            *out = at + (uint64_t)(nl - buf) + 1;
            return 0;
        }
        at += (uint64_t)n;
    }
    *out = limit;
    return 0;
}

/* Line-end counter by the reader's rules: LF, CRLF, a lone CR, over
 * pieces of a part (a CR at the end of a piece waits for the next one;
 * the part ends after a LF or at the end of the file, so a CR still
 * waiting at its end is a lone one). */
typedef struct line_count {
    uint64_t n;
    int cr; /* the last piece ended with a CR */
} line_count;

static void count_piece(line_count *lc, const char *p, size_t n) {
    const char *q = p, *end = p + n;
    size_t i;
    if (!n)
        return;
    if (lc->cr && p[0] != '\n')
        lc->n++; /* the CR before this piece was a lone one */
    lc->cr = 0;
    while ((q = memchr(q, '\n', (size_t)(end - q))) != NULL) {
        lc->n++;
        q++;
    }
    if (!memchr(p, '\r', n))
        return;
    for (i = 0; i + 1 < n; i++) /* lone CRs: rare, counted byte by byte */
        if (p[i] == '\r' && p[i + 1] != '\n')
            lc->n++;
    lc->cr = p[n - 1] == '\r';
}

static uint64_t count_end(const line_count *lc) {
    return lc->n + (uint64_t)lc->cr;
}

static void add_item(batch *b, job *j) {
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 16;
        b->items = xrealloc(b->items, b->cap * sizeof *b->items);
    }
    b->items[b->n++] = j;
}

/* Take the conversations framed so far from r into b->items, running
 * work() on each at once (its raw record is freed then, so a part's
 * records are not all held at the same time). */
static void take_framed(pipeline *p, batch *b, lc_reader *r, int side) {
    lc_conversation *c;
    while (lc_reader_next(r, &c) == LC_OK) {
        job *j = new_job(side);
        j->conv = c;
        add_item(b, j);
        p->o->work(j, p->o->ctx);
    }
}

/* A part's bytes are read into one buffer up to this size; a longer
 * range (a long last line) is read twice in CHUNK pieces instead - once
 * to count its line ends, once to feed the reader, which buffers no more
 * of a line than max_line_bytes - so memory stays bounded. */
#define PART_BUF_MAX (4u * CHUNK_MAX)

/* Runs on a worker: count part b->pt's line ends, publish the count and
 * wait for its first line number (the line-number chain), then frame its
 * conversations into b->items and work them. After a part that could not
 * be read, the file's later parts do nothing (the sequential path stops
 * reading the file at its first error). */
static void run_part(pipeline *p, batch *b) {
    const part *pt = b->pt;
    uint64_t start = 0, end = 0, base, at;
    line_count lc = {0, 0};
    char *buf = NULL;
    size_t len = 0;
    int err = 0, skip, fatal = 0;
    lc_reader *r = NULL;
    lc_status st = LC_OK;

    if (line_start(pt->fd, pt->lo, pt->hi, &start) != 0 ||
        (start < pt->hi &&
         line_start(pt->fd, pt->hi, pt->size, &end) != 0)) {
        err = errno;
    } else if (start < pt->hi && end > start) {
        uint64_t want = end - start;
        buf = xmalloc(want < PART_BUF_MAX ? (size_t)want : CHUNK);
        for (at = start; at < end && !err;) {
            size_t piece = want < PART_BUF_MAX ? (size_t)want
                           : end - at < CHUNK  ? (size_t)(end - at)
                                               : CHUNK;
            ssize_t n = pread_full(pt->fd, buf, piece, at);
            if (n < 0) {
                err = errno;
            } else {
                count_piece(&lc, buf, (size_t)n);
                len += (size_t)n;
                if ((size_t)n < piece) /* the file shrank */
                    break;
                at += (uint64_t)n;
            }
        }
    }
    /* the chain goes on even when this part failed */
    pthread_mutex_lock(&p->mu);
    while (p->chain_next != pt->seq)
        pthread_cond_wait(&p->cv_chain, &p->mu);
    if (pt->first)
        p->chain_failed = 0;
    skip = p->chain_failed;
    base = pt->first ? 0 : p->chain_line;
    p->chain_line = base + count_end(&lc);
    if (err)
        p->chain_failed = 1;
    p->chain_next++;
    pthread_cond_broadcast(&p->cv_chain);
    pthread_mutex_unlock(&p->mu);

    if (skip || err) {
        if (err && !skip) {
            sb_error(&b->io_err, pt->name, strerror(err), LC_ERR_IO);
            note_path_error(pt->name, strerror(err));
        }
        free(buf);
        return;
    }
    if (len == 0) {
        free(buf);
        return;
    }
    if ((st = lc_reader_new(pt->cfg, &r)) != LC_OK ||
        (st = lc_reader_set_source(r, pt->name, strlen(pt->name))) != LC_OK ||
        (st = lc_reader_set_format(r, pt->format)) != LC_OK ||
        (st = lc_reader_set_start(r, base + 1, start)) != LC_OK) {
        fatal = 1; /* as read_one: no reader, the run stops (exit 4) */
    } else if (end - start < PART_BUF_MAX) {
        for (at = 0; at < len && st == LC_OK; at += CHUNK) {
            st = lc_reader_feed(r, buf + at,
                                len - at < CHUNK ? len - at : CHUNK);
            take_framed(p, b, r, pt->side);
        }
    } else {
        /* read again, piece by piece (len bytes were there) */
        for (at = 0; at < len && st == LC_OK;) {
            size_t piece = len - at < CHUNK ? (size_t)(len - at) : CHUNK;
            ssize_t n = pread_full(pt->fd, buf, piece, start + at);
            if (n <= 0) {
                err = n < 0 ? errno : EIO; /* shrank between the reads */
                break;
            }
            st = lc_reader_feed(r, buf, (size_t)n);
            take_framed(p, b, r, pt->side);
            at += (uint64_t)n;
        }
    }
    free(buf);
    if (err) {
        sb_error(&b->io_err, pt->name, strerror(err), LC_ERR_IO);
        note_path_error(pt->name, strerror(err));
    }
    if (!fatal && st == LC_OK && !err)
        st = lc_reader_finish(r);
    if (r) /* everything framed before a failure, then the failure */
        take_framed(p, b, r, pt->side);
    if (fatal) {
        sb_error(&b->io_err, pt->name, lc_status_str(st), st);
        pthread_mutex_lock(&p->mu);
        p->fatal = 1;
        pthread_mutex_unlock(&p->mu);
    } else if (st != LC_OK) {
        add_item(b, failure_job(pt->side, pt->name, lc_reader_error(r), st));
    }
    lc_reader_free(r);
}

/* The format of the regular file open as fd: the configured one, else
 * what a reader sniffs from its first lines (LC_FORMAT_AUTO if the first
 * CHUNK_MAX bytes do not decide). */
static lc_format file_format(const lc_config *cfg, int fd, uint64_t size) {
    int64_t forced = 0;
    lc_reader *r = NULL;
    lc_format f = LC_FORMAT_AUTO;
    uint64_t at = 0;
    char *buf;
    if (lc_config_get(cfg, LC_OPT_FORMAT, &forced) == LC_OK &&
        forced != LC_FORMAT_AUTO) {
        /* Parts are for records: a file that does not start with one
         * (after blanks and a BOM) is read in one piece, so that the
         * library sees its start (a gzipped file is one error "not
         * text", not a syntax error for each "line" of every part). */
        unsigned char head[256];
        ssize_t n = pread_full(fd, (char *)head, sizeof head, 0), i = 0;
        if (n >= 3 && head[0] == 0xEF && head[1] == 0xBB && head[2] == 0xBF)
            i = 3;
        while (i < n && (head[i] == ' ' || head[i] == '\t' ||
                         head[i] == '\n' || head[i] == '\r'))
            i++;
        if (i < n && head[i] != '{')
            return LC_FORMAT_AUTO;
        return (lc_format)forced;
    }
    if (lc_reader_new(cfg, &r) != LC_OK)
        return LC_FORMAT_AUTO;
    buf = xmalloc(CHUNK);
    while (f == LC_FORMAT_AUTO && at < size && at < CHUNK_MAX) {
        ssize_t n = pread_full(fd, buf, CHUNK, at);
        if (n <= 0 || lc_reader_feed(r, buf, (size_t)n) != LC_OK)
            break;
        at += (uint64_t)n;
        f = lc_reader_format(r);
    }
    free(buf);
    lc_reader_free(r);
    return f;
}

/* Hand the regular file open as fd (size bytes, read as `format`) to the
 * workers in parts; the last part's consumer closes fd. */
static void submit_parts(pipeline *p, const lc_config *cfg, int fd,
                         const char *name, int side, lc_format format,
                         uint64_t size) {
    uint64_t step = part_size(size, p->nthreads), lo;
    flush_batch(p); /* what came before goes first */
    for (lo = 0; lo < size; lo += step) {
        batch *b = xmalloc(sizeof *b);
        part *pt = xmalloc(sizeof *pt);
        memset(b, 0, sizeof *b);
        pt->fd = fd;
        pt->name = name;
        pt->cfg = cfg;
        pt->side = side;
        pt->format = format;
        pt->size = size;
        pt->lo = lo;
        pt->hi = size - lo > step ? lo + step : size;
        pt->seq = p->nparts++;
        pt->first = lo == 0;
        pt->last = pt->hi == size;
        b->pt = pt;
        submit_batch(p, b);
    }
}

static int read_one(pipeline *p, const lc_config *cfg, const input_file *f,
                    int side, progress *pr) {
    int fd, is_stdin = strcmp(f->path, "-") == 0;
    const char *name = is_stdin ? "<stdin>" : f->path;
    lc_reader *r = NULL;
    lc_status st;
    char *buf;
    int rc = 0;

    if (is_stdin) {
        fd = STDIN_FILENO;
    } else if ((fd = open(f->path, O_RDONLY)) < 0) {
        int err = errno;
        eprint_path(f->path, "error: %s [%s]\n", strerror(err),
                    lc_status_code(LC_ERR_IO));
        note_path_error(f->path, strerror(err));
        return 1;
    }
    if (p->nthreads > 0 && !is_stdin) {
        struct stat sb;
        if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_size > 0 &&
            file_format(cfg, fd, (uint64_t)sb.st_size) ==
                LC_FORMAT_JSONL_CONV) {
            submit_parts(p, cfg, fd, name, side, LC_FORMAT_JSONL_CONV,
                         (uint64_t)sb.st_size);
            return 0; /* fd is closed once its last part is consumed */
        }
    }
    if ((st = lc_reader_new(cfg, &r)) != LC_OK ||
        (st = lc_reader_set_source(r, name, strlen(name))) != LC_OK) {
        eprint_path(name, "error: %s [%s]\n", lc_status_str(st),
                    lc_status_code(st));
        lc_reader_free(r);
        if (!is_stdin)
            close(fd);
        return -1;
    }
    buf = xmalloc(CHUNK);
    for (;;) {
        ssize_t n = read(fd, buf, CHUNK);
        int err = errno;
        if (n < 0) {
            if (err == EINTR)
                continue;
            eprint_path(name, "error: %s [%s]\n", strerror(err),
                        lc_status_code(LC_ERR_IO));
            note_path_error(name, strerror(err));
            rc = 1;
            break;
        }
        if (n == 0)
            break;
        p->fed += (uint64_t)n;
        if (pr) {
            pr->done += (uint64_t)n;
            progress_draw(pr, 0);
        }
        if ((st = lc_reader_feed(r, buf, (size_t)n)) != LC_OK) {
            reader_failure(p, side, name, lc_reader_error(r), st);
            goto out;
        }
        st = pull(p, r, side, name);
        if (st != LC_NEED_INPUT && st != LC_END)
            goto out;
        /* a short read with nothing more waiting: the pipe or terminal
         * is idle for now, so finish and print what is complete before
         * blocking in read() (a writer's small pieces alone do not stop
         * reading from overlapping the analysis) */
        if ((size_t)n < CHUNK &&
            poll(&(struct pollfd){fd, POLLIN, 0}, 1, 0) == 0)
            pipeline_sync(p);
    }
    if ((st = lc_reader_finish(r)) != LC_OK) {
        reader_failure(p, side, name, lc_reader_error(r), st);
        goto out;
    }
    pull(p, r, side, name);
out:
    free(buf);
    lc_reader_free(r);
    if (!is_stdin)
        close(fd);
    return rc;
}

int run_inputs(const lc_config *cfg, const input_list *l, int side,
               const run_opts *o) {
    pipeline p;
    progress pr;
    size_t i;
    int rc = 0;
    memset(&pr, 0, sizeof pr);
    pr.on = o->progress;
    pr.start = pr.last = now_sec();
    for (i = 0; i < l->n; i++)
        pr.total += l->files[i].size;
    pipeline_start(&p, o, &pr);
    for (i = 0; i < l->n; i++) {
        int r = read_one(&p, cfg, &l->files[i], side, pr.on ? &pr : NULL);
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r > 0)
            rc = rc ? rc : 1;
    }
    pipeline_finish(&p);
    if (p.fatal)
        rc = -1;
    else if (p.io_failed && rc == 0)
        rc = 1;
    progress_draw(&pr, 1);
    progress_clear(&pr);
    return rc;
}
