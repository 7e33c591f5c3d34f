/*
 * test_header.cpp - the public header compiles as C++ (-std=c++11
 * -pedantic-errors, warnings as errors under CI): extern "C" linkage, the
 * enums, the callback typedefs and the macros are usable from C++ and the
 * functions link against the shared library.
 */
#include "loopcheck.h"

#include <cstdio>
#include <cstring>

namespace {

extern "C" int write_sink(const char *data, size_t len, void *ud) {
    (void)data;
    (void)ud;
    return len > 0 ? 0 : 0;
}

struct Guard {
    lc_config *cfg;
    Guard() : cfg(nullptr) {}
    ~Guard() { lc_config_free(cfg); }
};

} // namespace

int main() {
    int fails = 0;
    lc_write_fn fn = write_sink;
    (void)fn;
    lc_status st = LC_ERR_NOMEM;
    lc_kind k = LC_KIND_EXACT_LOOP;
    lc_role r = LC_ROLE_ASSISTANT;
    uint32_t bit = LC_KIND_BIT(k);
    if (bit != 2u) {
        std::fprintf(stderr, "LC_KIND_BIT wrong\n");
        fails++;
    }
    if (std::strcmp(lc_status_code(st), "LC-E090") != 0) {
        std::fprintf(stderr, "status code wrong\n");
        fails++;
    }
    if (std::strcmp(lc_role_name(r), "assistant") != 0) {
        std::fprintf(stderr, "role name wrong\n");
        fails++;
    }
    if (lc_version_number() != LC_VERSION_NUMBER ||
        std::strcmp(lc_version_string(), LC_VERSION_STRING) != 0) {
        std::fprintf(stderr, "version mismatch\n");
        fails++;
    }
    {
        Guard g; /* NULL-safe free from C++ */
        lc_config_free(nullptr);
    }
    const lc_error *e = nullptr;
    (void)e;
    std::printf("%s: C++ %ld\n", fails ? "FAIL" : "ok",
                static_cast<long>(__cplusplus));
    return fails ? 1 : 0;
}
