/*
 * check.c - the batch API: a reader over one buffer, every conversation
 * checked and handed to a callback. A thin composition of the streaming
 * pieces, like ZSTD_compress2 over the streaming compressor.
 *
 * The buffer is fed in slices and the reader drained after each one, so
 * memory holds one slice's conversations at a time, not the whole input's.
 */
#include "internal.h"

#include <string.h>

/* 1 MiB: large enough that per-feed overhead vanishes, small enough that
 * few conversations are pending at once. */
#define CHECK_SLICE ((size_t)1 << 20)

/* Check and report every conversation the reader has ready. Returns LC_OK
 * once the reader needs input (or, after finish, has ended). */
static lc_status drain(const lc_config *cfg, lc_reader *rd, lc_report_fn cb,
                       void *userdata) {
    lc_conversation *c;
    lc_report *rep;
    lc_status st;
    for (;;) {
        st = lc_reader_next(rd, &c);
        if (st == LC_END || st == LC_NEED_INPUT)
            return LC_OK;
        if (st != LC_OK)
            return st;
        /* a config with LC_OPT_DEFER_PARSE = 2 makes the reader return
         * unparsed records; parsing is idempotent otherwise */
        rep = NULL;
        st = lc_conversation_parse(c);
        if (st == LC_OK)
            st = lc_conversation_check(cfg, c, &rep);
        lc_conversation_free(c);
        if (st == LC_OK && cb(rep, userdata))
            st = LC_ERR_CALLBACK;
        lc_report_free(rep);
        if (st != LC_OK)
            return st;
    }
}

lc_status lc_check_buffer(const lc_config *cfg, const char *source,
                          const void *buf, size_t len, lc_report_fn cb,
                          void *userdata) {
    const char *p = buf;
    lc_reader *rd = NULL;
    size_t off = 0;
    lc_status st;
    if (!cfg || (!buf && len) || !cb)
        return LC_ERR_INVALID_ARG;
    if ((st = lc_reader_new(cfg, &rd)) != LC_OK)
        return st;
    if (source && (st = lc_reader_set_source(rd, source, strlen(source))) !=
                      LC_OK)
        goto done;
    while (off < len) {
        size_t n = len - off < CHECK_SLICE ? len - off : CHECK_SLICE;
        if ((st = lc_reader_feed(rd, p + off, n)) != LC_OK)
            goto done;
        off += n;
        if ((st = drain(cfg, rd, cb, userdata)) != LC_OK)
            goto done;
    }
    if ((st = lc_reader_finish(rd)) != LC_OK)
        goto done;
    st = drain(cfg, rd, cb, userdata);
done:
    lc_reader_free(rd);
    return st;
}
