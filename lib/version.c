/* version.c - runtime version of the library. */
#include "internal.h"

unsigned lc_version_number(void) { return LC_VERSION_NUMBER; }

const char *lc_version_string(void) { return LC_VERSION_STRING; }
