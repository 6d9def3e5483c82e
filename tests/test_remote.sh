#!/bin/sh
# tests/test_remote.sh - churn.h's remote guard, proven inside a network namespace that
# has only loopback: churn_run refuses 10.0.0.1 / 192.0.2.1 / ::ffff:192.0.2.1 /
# 2001:db8::1 with CHURN_E_REMOTE and the namespace's packet counters (/proc/net/snmp,
# /proc/net/snmp6) do not move, although those prefixes are routed to lo so that a real
# connect() would emit a SYN (the allow_remote control shows that it does); 127.0.0.1
# and ::1 servers still work in the namespace.
# Runs build/tests/test_loop --remote-guard under `unshare -n` (or `unshare -rn`).
# Last line: "N passed, N failed" or "N passed, N failed, N skipped".
set -u
cd "$(dirname "$0")/.." || exit 2

BIN_DIR=${CHURN_TEST_BIN_DIR:-build/tests}
BIN=$BIN_DIR/test_loop
CC=${CC:-gcc}
CFLAGS="-std=c99 -Wall -Wextra -Wpedantic -Werror -D_GNU_SOURCE -pthread"

skip() {
    echo "skip remote_guard: $1"
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
}

# The default build directory is (re)built here when stale; another CHURN_TEST_BIN_DIR
# (sanitizer builds, ...) is used as it is.
if [ "$BIN_DIR" = build/tests ]; then
    mkdir -p build/tests
    if [ ! -f build/churn_impl.o ] || [ churn.h -nt build/churn_impl.o ]; then
        $CC $CFLAGS -c tests/churn_impl.c -o build/churn_impl.o ||
            { echo "FAIL build churn_impl.o"; echo "0 passed, 1 failed"; exit 1; }
    fi
    if [ ! -x "$BIN" ] || [ tests/test_loop.c -nt "$BIN" ] || [ build/churn_impl.o -nt "$BIN" ]; then
        $CC $CFLAGS -Itests -I. tests/test_loop.c build/churn_impl.o -o "$BIN" -lm ||
            { echo "FAIL build test_loop"; echo "0 passed, 1 failed"; exit 1; }
    fi
fi
[ -x "$BIN" ] || { echo "FAIL remote_guard: $BIN missing"; echo "0 passed, 1 failed"; exit 1; }

command -v unshare >/dev/null 2>&1 || skip "unshare not installed"
command -v ip >/dev/null 2>&1 || skip "ip (iproute2) not installed: cannot bring lo up in the namespace"
UNSHARE=
if unshare -n true 2>/dev/null; then UNSHARE="unshare -n"
elif unshare -rn true 2>/dev/null; then UNSHARE="unshare -rn"
else skip "unshare -n not permitted here (needs root or unprivileged user namespaces)"
fi

# Inside: lo up; route the remote test prefixes to lo so a connect would really send.
out=$($UNSHARE sh -c '
    ip link set lo up || exit 97
    routes=1
    ip route add 10.0.0.0/8 dev lo 2>/dev/null || routes=0
    ip route add 192.0.2.0/24 dev lo 2>/dev/null || routes=0
    ip -6 route add 2001:db8::/32 dev lo 2>/dev/null || true
    CHURN_NS_ROUTES=$routes exec "$0" --remote-guard
' "$BIN" 2>&1)
rc=$?
if [ $rc -eq 97 ]; then skip "could not bring lo up inside the namespace"; fi
printf '%s\n' "$out"
last=$(printf '%s\n' "$out" | tail -n 1)
case "$last" in
    *" passed, "*" failed"*) ;;
    *) echo "FAIL remote_guard: test_loop --remote-guard exited with $rc and no summary"
       echo "0 passed, 1 failed"
       exit 1 ;;
esac
[ $rc -eq 0 ] || exit 1
exit 0
