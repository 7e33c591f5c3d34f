#!/usr/bin/env bash
# run-fuzzers.sh SECONDS [TARGET...] - run each libFuzzer target for a
# bounded time (CI leg 4, see tests/run-all.sh).
#
# Configures a clang -Dfuzzing=true build dir ($LC_FUZZ_BUILD, default
# build-fuzz), builds only the fuzz_<target> binaries, and runs each for
# SECONDS over a temporary copy of its seed corpus fixtures/fuzz/<target>/
# (so CI never writes into the tree) with -rss_limit_mb=2048 -timeout=10.
# Prints the executions per target from libFuzzer's final stats. On a
# crash, leak, timeout or OOM it stops with exit 1 and leaves the crasher in
# $LC_FUZZ_BUILD/crashers/<target>/ - minimize it with
#   build-fuzz/tests/fuzz/fuzz_<t> -minimize_crash=1 -runs=10000 CRASHER
# and add it to fixtures/fuzz/<target>/ as a regression test.
set -euo pipefail
cd "$(dirname "$0")/../.."

secs="${1:-60}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    # default: every target listed in tests/fuzz/meson.build
    read -r -a targets <<<"$(sed -n "s/^fuzz_targets = \[\(.*\)\]/\1/p" \
        tests/fuzz/meson.build | tr -d "',")"
fi
build="${LC_FUZZ_BUILD:-build-fuzz}"

if ! command -v clang >/dev/null; then
    echo "run-fuzzers: clang not found" >&2
    exit 1
fi
setup_log="$(mktemp)"
if [ -f "$build/build.ninja" ]; then
    meson configure "$build" -Dfuzzing=true >"$setup_log" 2>&1 ||
        { cat "$setup_log"; exit 1; }
else
    CC=clang meson setup "$build" -Dfuzzing=true -Dcli=false \
        -Dbuildtype=debugoptimized >"$setup_log" 2>&1 ||
        { cat "$setup_log"; exit 1; }
fi
rm -f "$setup_log"
ninja -C "$build" -j2 $(printf 'tests/fuzz/fuzz_%s ' "${targets[@]}") \
    >"$build/fuzz-build.log" 2>&1 || { cat "$build/fuzz-build.log"; exit 1; }

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
status=0
printf '%-10s %12s %10s %8s  %s\n' target executions exec/s corpus result
for t in "${targets[@]}"; do
    corpus="$work/corpus-$t"
    crashdir="$build/crashers/$t"
    mkdir -p "$corpus" "$crashdir"
    cp -R "fixtures/fuzz/$t/." "$corpus/" 2>/dev/null || true
    log="$build/fuzz-$t.log"
    dict=()
    [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
    rc=0
    ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}" \
    UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}" \
        "$build/tests/fuzz/fuzz_$t" -max_total_time="$secs" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        -artifact_prefix="$crashdir/" "${dict[@]}" "$corpus" >"$log" 2>&1 ||
        rc=$?
    execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
    speed="$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)"
    [ -n "$execs" ] || execs="$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)"
    ncorp="$(find "$corpus" -type f | wc -l)"
    if [ "$rc" -eq 0 ]; then
        result=ok
    else
        result="FAILED (exit $rc, log $log)"
        status=1
    fi
    printf '%-10s %12s %10s %8s  %s\n' "$t" "${execs:-?}" "${speed:-?}" \
        "$ncorp" "$result"
    if [ "$rc" -ne 0 ]; then
        grep -E 'ERROR: |SUMMARY: |fuzz oracle failed|Test unit written' \
            "$log" | head -20 >&2 || true
        ls -1 "$crashdir" >&2 || true
    fi
done
exit $status
