#!/usr/bin/env bash
# tests/test_cmake.sh - churn.h as a CMake dependency: configure, build and run
# tests/cmake_consumer (add_subdirectory of this repository) in build/cmake_consumer.
# Prints one line per step and "N passed, N failed" (", 1 skipped" without cmake outside CI).
set -u
cd "$(dirname "$0")/.." || exit 2

passed=0 failed=0
out=build/cmake_consumer
log=build/cmake_consumer.log

step() {  # step NAME CMD...: run CMD, output to the log, count it
    local name=$1; shift
    if "$@" >>"$log" 2>&1; then
        echo "ok $name"; passed=$((passed + 1)); return 0
    fi
    echo "FAIL $name"; sed 's/^/    /' "$log" | tail -n 30; failed=$((failed + 1)); return 1
}

if ! command -v cmake >/dev/null 2>&1; then
    if [ -n "${CI:-}" ]; then echo "FAIL cmake_present: cmake is required when CI is set"; echo "0 passed, 1 failed"; exit 1; fi
    echo "skip cmake_consumer: cmake is not installed"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi

mkdir -p build
: >"$log"
step cmake_configure cmake -S tests/cmake_consumer -B "$out" -DCHURN_CONSUMER_MODE=subdir &&
step cmake_build cmake --build "$out" &&
step cmake_run "$out/churn_consumer" &&
{ grep -h '^churn_consumer' "$log" | sed 's/^/    /'; true; }

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
