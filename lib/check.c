/*
 * check.c - the batch API: a reader over one buffer, every conversation
 * checked and handed to a callback. A thin composition of the streaming
 * pieces, like ZSTD_compress2 over the streaming compressor.
 */
#include "internal.h"

#include <string.h>

lc_status lc_check_buffer(const lc_config *cfg, const char *source,
                          const void *buf, size_t len, lc_report_fn cb,
                          void *userdata) {
    lc_reader *rd = NULL;
    lc_conversation *c = NULL;
    lc_report *rep = NULL;
    lc_status st;
    if (!cfg || (!buf && len) || !cb)
        return LC_ERR_INVALID_ARG;
    if ((st = lc_reader_new(cfg, &rd)) != LC_OK)
        return st;
    if (source && (st = lc_reader_set_source(rd, source, strlen(source))) !=
                      LC_OK)
        goto done;
    if ((st = lc_reader_feed(rd, buf, len)) != LC_OK)
        goto done;
    if ((st = lc_reader_finish(rd)) != LC_OK)
        goto done;
    for (;;) {
        st = lc_reader_next(rd, &c);
        if (st == LC_END) {
            st = LC_OK;
            break;
        }
        if (st != LC_OK)
            break;
        /* a config with LC_OPT_DEFER_PARSE = 2 makes the reader return
         * unparsed records; parsing is idempotent otherwise */
        st = lc_conversation_parse(c);
        if (st == LC_OK)
            st = lc_conversation_check(cfg, c, &rep);
        lc_conversation_free(c);
        c = NULL;
        if (st != LC_OK)
            break;
        if (cb(rep, userdata)) {
            st = LC_ERR_CALLBACK;
            break;
        }
        lc_report_free(rep);
        rep = NULL;
    }
done:
    lc_report_free(rep);
    lc_reader_free(rd);
    return st;
}
