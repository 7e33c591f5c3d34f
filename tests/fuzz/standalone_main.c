/*
 * standalone_main.c - corpus replay without libFuzzer.
 *
 * Linked with one fuzz_<target>.c, it calls LLVMFuzzerTestOneInput once
 * for every file named on the command line or found (recursively, in
 * sorted order, dot files skipped) under a directory argument. This is
 * how seed corpora and minimized crashers in fixtures/fuzz/<target>/ run
 * as regression tests in `meson test --suite fuzz`, under plain gcc,
 * ASan/UBSan and valgrind alike. Exit 0 if every input ran (a failing
 * oracle aborts), 1 on an unreadable path.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static unsigned long replayed;

static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    unsigned char *buf = NULL;
    size_t len = 0, cap = 0, n;
    if (!f) {
        perror(path);
        return 1;
    }
    for (;;) {
        if (cap - len < 65536) {
            unsigned char *nb;
            cap = cap ? cap * 2 : 65536;
            nb = realloc(buf, cap);
            if (!nb) {
                fclose(f);
                free(buf);
                fprintf(stderr, "%s: out of memory\n", path);
                return 1;
            }
            buf = nb;
        }
        n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        perror(path);
        fclose(f);
        free(buf);
        return 1;
    }
    fclose(f);
    /* Copy into an exact-size block so ASan/valgrind catch reads past
     * the end of the input, as libFuzzer does. */
    {
        unsigned char *exact = malloc(len ? len : 1);
        if (!exact) {
            free(buf);
            return 1;
        }
        if (len)
            memcpy(exact, buf, len);
        free(buf);
        fprintf(stderr, "replay %s (%zu bytes)\n", path, len);
        LLVMFuzzerTestOneInput(exact, len);
        free(exact);
    }
    replayed++;
    return 0;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int run_path(const char *path) {
    struct stat sb;
    DIR *d;
    struct dirent *de;
    char **names = NULL;
    size_t n = 0, cap = 0, i;
    int rc = 0;
    if (stat(path, &sb) != 0) {
        perror(path);
        return 1;
    }
    if (!S_ISDIR(sb.st_mode))
        return run_file(path);
    d = opendir(path);
    if (!d) {
        perror(path);
        return 1;
    }
    while ((de = readdir(d)) != NULL) {
        char *full;
        size_t need;
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **nn;
            cap = cap ? cap * 2 : 64;
            nn = realloc(names, cap * sizeof *names);
            if (!nn) {
                rc = 1;
                break;
            }
            names = nn;
        }
        need = strlen(path) + strlen(de->d_name) + 2;
        full = malloc(need);
        if (!full) {
            rc = 1;
            break;
        }
        snprintf(full, need, "%s/%s", path, de->d_name);
        names[n++] = full;
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, cmp_str);
    for (i = 0; i < n; i++) {
        rc |= run_path(names[i]);
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv) {
    int i, rc = 0;
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    for (i = 1; i < argc; i++) {
        /* libFuzzer-style flags (-runs=, ...) are ignored */
        if (argv[i][0] == '-')
            continue;
        rc |= run_path(argv[i]);
    }
    printf("replayed %lu inputs%s\n", replayed, rc ? " (with errors)" : "");
    return rc;
}
