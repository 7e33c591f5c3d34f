#!/usr/bin/env bash
# Run the whole loopcheck test suite the way CI does, from a clean checkout,
# on Debian 12 as root (or with sudo available). Legs:
#   1. gcc, -Dwerror=true, every suite (unit, cli, python, fuzz replay);
#      then the unit suite again with -Dsimd=false (the portable code the
#      SSE2/x86-64 fast paths replace on this machine)
#   2. clang, -Dwerror=true, ASan+UBSan, every suite but python
#   3. valgrind memcheck over the unit and fuzz-replay suites (gcc build)
#   4. each libFuzzer target for a bounded time (LC_FUZZ_SECONDS, default 60)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="meson ninja-build pkg-config groff-base gcc clang libclang-rt-14-dev valgrind \
libutf8proc-dev libxxhash-dev libjson-c-dev libcmocka-dev python3 \
python3-dask python3-distributed locales"
if [ "${LC_SKIP_INSTALL:-0}" != 1 ]; then
    SUDO=""; [ "$(id -u)" = 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq || true
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $PKGS >/dev/null
    # test_locale checks output under a comma-decimal and a U+066B
    # decimal-point locale; it skips (and so proves nothing) without them
    $SUDO localedef -i de_DE -f UTF-8 de_DE.UTF-8
    $SUDO localedef -i ps_AF -f UTF-8 ps_AF.UTF-8
fi
export PATH="/usr/bin:$PATH"   # Debian's python3 (with dask), not a pyenv shim

echo "== leg 1: gcc -Dwerror=true"
rm -rf build-ci-gcc build-ci-asan build-ci-nosimd
CC=gcc meson setup build-ci-gcc -Dwerror=true >/dev/null
meson compile -C build-ci-gcc
meson test -C build-ci-gcc --print-errorlogs --num-processes 2
echo "== leg 1b: gcc -Dsimd=false (portable code paths), unit suite"
CC=gcc meson setup build-ci-nosimd -Dwerror=true -Dsimd=false >/dev/null
meson compile -C build-ci-nosimd
meson test -C build-ci-nosimd --print-errorlogs --num-processes 2 \
    --suite unit

echo "== leg 2: clang ASan+UBSan"
CC=clang meson setup build-ci-asan -Dwerror=true \
    -Db_sanitize=address,undefined -Db_lundef=false >/dev/null
meson compile -C build-ci-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    meson test -C build-ci-asan --print-errorlogs --num-processes 2 \
    --no-suite python --no-suite slow

echo "== leg 3: valgrind memcheck"
meson test -C build-ci-gcc --setup valgrind --print-errorlogs \
    --num-processes 2 --no-suite cli --no-suite python --no-suite slow

if [ -x tests/fuzz/run-fuzzers.sh ]; then
    echo "== leg 4: libFuzzer, ${LC_FUZZ_SECONDS:-60}s per target"
    tests/fuzz/run-fuzzers.sh "${LC_FUZZ_SECONDS:-60}"
fi
echo "== all legs passed"
