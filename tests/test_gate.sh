#!/usr/bin/env bash
# test_gate.sh - churn-gate, the demo server and the example programs, end to end.
#
# Run by `make test` (tests/run.sh). Builds nothing: it expects `make` to have built
# build/demo_server, build/churn-gate, build/spawn_churn and build/in_test; a missing
# binary is a FAIL line. Prints "ok NAME" / "FAIL NAME: why" per test and ends with
# "N passed, N failed"; exits non-zero when anything failed. Every server is killed by a
# trap, every wait is bounded.
set -u

cd "$(dirname "$0")/.." || exit 2
B=${BUILD_DIR:-build}
SERVER=$B/demo_server
GATE=$B/churn-gate
TMP=$(mktemp -d "${TMPDIR:-/tmp}/churn-test-gate.XXXXXX") || exit 2
if [ -x /usr/bin/python3 ]; then PY=/usr/bin/python3; else PY=python3; fi

PASSED=0
FAILED=0
SKIPPED=0
ok()   { echo "ok $1"; PASSED=$((PASSED + 1)); }
skip() { echo "skip $1: $2"; SKIPPED=$((SKIPPED + 1)); }
fail() { echo "FAIL $1${2:+: $2}"; FAILED=$((FAILED + 1)); }
# show the tail of a log under a FAIL line
show() { [ -f "$1" ] && tail -n "${2:-15}" "$1" | sed 's/^/    | /'; }

SERVER_PIDS=()
cleanup() {
    local p
    for p in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do
        for _ in $(seq 1 20); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

have() {   # have NAME BINARY: FAIL line when the binary is missing
    if [ -x "$2" ]; then return 0; fi
    fail "$1" "$2 is missing (run make first)"
    return 1
}

# start_server NAME [options]: sets SPORT, SPID. Returns non-zero when it did not start.
start_server() {
    local name=$1 line=""
    shift
    [ -x "$SERVER" ] || return 1
    "$SERVER" --port 0 "$@" >"$TMP/$name.server.log" 2>&1 &
    SPID=$!
    SERVER_PIDS+=("$SPID")
    for _ in $(seq 1 50); do
        line=$(head -n 1 "$TMP/$name.server.log" 2>/dev/null)
        if [[ $line =~ ^port\ ([0-9]+)\ pid\ ([0-9]+) ]]; then
            SPORT=${BASH_REMATCH[1]}
            [ "${BASH_REMATCH[2]}" = "$SPID" ] || return 1
            return 0
        fi
        kill -0 "$SPID" 2>/dev/null || return 1
        sleep 0.1
    done
    return 1
}

stop_server() {   # stop_server PID: SIGTERM, bounded wait; 0 when it exited with status 0
    local p=$1 rc
    kill -TERM "$p" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$p" 2>/dev/null; then kill -KILL "$p" 2>/dev/null; wait "$p" 2>/dev/null; return 1; fi
    wait "$p" 2>/dev/null
    rc=$?
    return $rc
}

# json FILE EXPR: EXPR (Python, the report bound to r) is true. The file must parse as JSON.
json() {
    "$PY" -c 'import json, sys
r = json.load(open(sys.argv[1]))
sys.exit(0 if eval(sys.argv[2]) else 1)' "$@" 2>>"$TMP/json.err"
}
json_valid() { "$PY" -m json.tool "$1" >/dev/null 2>>"$TMP/json.err"; }

GATE_COMMON=(--budget smoke --warmup 20 --limits strict --timeout-ms 1000 --quiet)
PROFILES=reset,close,partial_headers,request,ws_upgrade_reset

# run_gate NAME [gate args...]: runs churn-gate (bounded), sets RC; stdout/stderr in $TMP/NAME.*
run_gate() {
    local name=$1
    shift
    timeout 60 "$GATE" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    RC=$?
}
# run_gate_live NAME [gate args...]: as run_gate against a server that is up; when the
# pre-flight connection fails (exit 2, "cannot connect": seen on a machine short of
# ephemeral ports), retry once and say so.
run_gate_live() {
    run_gate "$@"
    if [ $RC -eq 2 ] && grep -q "cannot connect" "$TMP/$1.err"; then
        echo "# $1: the pre-flight connection failed ($(grep -m1 'cannot connect' "$TMP/$1.err")); retrying once"
        sleep 0.5
        run_gate "$@"
    fi
}

# ---- binaries ----------------------------------------------------------------------------
HAVE_SERVER=0; HAVE_GATE=0
have demo_server_built "$SERVER" && HAVE_SERVER=1 && ok demo_server_built
have churn_gate_built "$GATE" && HAVE_GATE=1 && ok churn_gate_built
if [ $HAVE_SERVER = 1 ] && [ $HAVE_GATE = 1 ]; then

# ---- clean server: pass, JSON report with "ok": true ---------------------------------------
if start_server clean; then
    run_gate_live gate_clean --target "127.0.0.1:$SPORT" --pid "$SPID" --profiles "$PROFILES" \
        "${GATE_COMMON[@]}" --report "$TMP/clean.json" --label clean-test
    if [ $RC -ne 0 ]; then fail gate_clean_passes "exit $RC, expected 0"; show "$TMP/gate_clean.err"; show "$TMP/clean.json" 40
    else ok gate_clean_passes; fi
    if ! json_valid "$TMP/clean.json"; then fail gate_clean_report_json "not valid JSON"; show "$TMP/json.err"
    elif ! json "$TMP/clean.json" 'r["ok"] is True and r["pid"] == int(sys.argv[3]) and r["label"] == "clean-test" and r["cycles"] == 100' "$SPID"; then
        fail gate_clean_report_json "expected ok true, pid $SPID, label, 100 cycles"
    else ok gate_clean_report_json; fi
    # At most one "leaked" handle: churn_run takes the baseline right after the warmup, so on
    # a loaded machine the server may still hold the last warmup connection then, and the
    # identity diff lists the last measured one in its place (the counts, judged above, agree).
    if json "$TMP/clean.json" 'r["outcomes"]["attempted"] == 100 and r["outcomes"]["connected"] == 100 and len(r["leaked"]["handles"]) <= 1'; then
        ok gate_clean_outcomes
    else
        fail gate_clean_outcomes "expected 100 attempted and connected, nothing leaked"
        "$PY" -c 'import json, sys; r = json.load(open(sys.argv[1])); print("    | outcomes", r["outcomes"]); print("    | leaked", r["leaked"])' "$TMP/clean.json"
    fi

    # --pid auto-discovery: the owner of the listening socket is the server
    run_gate_live gate_autopid --target "127.0.0.1:$SPORT" --budget smoke --cycles 20 --profiles reset \
        --limits release --report "$TMP/autopid.json"
    if [ $RC -eq 0 ] && json "$TMP/autopid.json" 'r["pid"] == int(sys.argv[3])' "$SPID" &&
       grep -q "watching pid $SPID" "$TMP/gate_autopid.err"; then
        ok gate_pid_autodiscovery
    else fail gate_pid_autodiscovery "exit $RC; expected pid $SPID found from port $SPORT"; show "$TMP/gate_autopid.err"; fi

    # the summary goes to stdout unless --quiet
    run_gate_live gate_summary --target "127.0.0.1:$SPORT" --pid "$SPID" --cycles 10 --profiles reset
    if [ $RC -eq 0 ] && [ -s "$TMP/gate_summary.out" ]; then ok gate_prints_summary
    else fail gate_prints_summary "exit $RC, stdout $(wc -c <"$TMP/gate_summary.out") bytes"; fi

    if stop_server "$SPID"; then ok demo_server_sigterm_clean_exit
    else fail demo_server_sigterm_clean_exit "did not exit 0 on SIGTERM"; fi
else
    fail gate_clean_passes "demo_server did not start"; show "$TMP/clean.server.log"
fi

# ---- IPv6 target ---------------------------------------------------------------------------
if start_server v6 --host ::1; then
    run_gate_live gate_ipv6 --target "[::1]:$SPORT" --budget smoke --cycles 30 --profiles reset,request \
        "${GATE_COMMON[@]}" --report "$TMP/v6.json"
    if [ $RC -eq 0 ] && json "$TMP/v6.json" 'r["ok"] is True and r["pid"] == int(sys.argv[3])' "$SPID"; then
        ok gate_ipv6_autopid
    else fail gate_ipv6_autopid "exit $RC"; show "$TMP/gate_ipv6.err"; fi
    stop_server "$SPID"
else
    skip gate_ipv6_autopid "demo_server could not listen on ::1 (no IPv6 loopback?)"
fi

# ---- --leak-fd 10: fail, leaked sockets in the report -------------------------------------
if start_server leakfd --leak-fd 10; then
    run_gate_live gate_leak_fd --target "127.0.0.1:$SPORT" --pid "$SPID" --profiles "$PROFILES" \
        "${GATE_COMMON[@]}" --drain-ms 1000 --report "$TMP/leakfd.json"
    if [ $RC -eq 1 ]; then ok gate_leak_fd_fails
    else fail gate_leak_fd_fails "exit $RC, expected 1"; show "$TMP/gate_leak_fd.err"; fi
    if json "$TMP/leakfd.json" 'r["ok"] is False and len([h for h in r["leaked"]["handles"] if h["kind"] == "socket"]) >= 5'; then
        ok gate_leak_fd_report_names_sockets
    else fail gate_leak_fd_report_names_sockets "expected >= 5 leaked socket handles in the report"; fi
    if json "$TMP/leakfd.json" 'any(v["metric"] == "handles" and v["phase"] == "post_drain" for v in r["violations"])'; then
        ok gate_leak_fd_violation_handles
    else fail gate_leak_fd_violation_handles "no handles/post_drain violation"; fi
    stop_server "$SPID"
else
    fail gate_leak_fd_fails "demo_server did not start"
fi

# ---- threads: clean passes, --leak-thread 5 fails naming leaky-conn -----------------------
if start_server threads --threads; then
    run_gate_live gate_threads_clean --target "127.0.0.1:$SPORT" --pid "$SPID" --profiles "$PROFILES" \
        "${GATE_COMMON[@]}" --report "$TMP/threads.json"
    if [ $RC -eq 0 ]; then ok gate_threads_clean_passes
    else fail gate_threads_clean_passes "exit $RC, expected 0"; show "$TMP/gate_threads_clean.err"; fi
    stop_server "$SPID"
else
    fail gate_threads_clean_passes "demo_server --threads did not start"
fi
if start_server leakthr --threads --leak-thread 5; then
    run_gate_live gate_leak_thread --target "127.0.0.1:$SPORT" --pid "$SPID" --profiles "$PROFILES" \
        --budget smoke --warmup 20 --limits strict --timeout-ms 1000 --drain-ms 1000 \
        --report "$TMP/leakthr.json"
    if [ $RC -eq 1 ]; then ok gate_leak_thread_fails
    else fail gate_leak_thread_fails "exit $RC, expected 1"; show "$TMP/gate_leak_thread.err"; fi
    if json "$TMP/leakthr.json" 'len([t for t in r["leaked"]["threads"] if t["name"] == "leaky-conn"]) >= 5 and all(t["name"] == "leaky-conn" for t in r["leaked"]["threads"])'; then
        ok gate_leak_thread_report_names_leaky_conn
    else fail gate_leak_thread_report_names_leaky_conn "expected >= 5 leaked threads, all named leaky-conn"; fi
    if grep -q leaky-conn "$TMP/gate_leak_thread.out"; then ok gate_leak_thread_summary_names_leaky_conn
    else fail gate_leak_thread_summary_names_leaky_conn "summary does not name leaky-conn"; show "$TMP/gate_leak_thread.out"; fi
    if stop_server "$SPID"; then ok demo_server_releases_blocked_threads
    else fail demo_server_releases_blocked_threads "did not exit 0 on SIGTERM"; fi
else
    fail gate_leak_thread_fails "demo_server --threads did not start"
fi

# ---- bad arguments: exit 2 with a message --------------------------------------------------
bad_arg() {   # bad_arg NAME EXPECTED_MESSAGE_SUBSTRING ARGS...
    local name=$1 msg=$2
    shift 2
    run_gate "$name" "$@"
    if [ $RC -eq 2 ] && grep -qF -- "$msg" "$TMP/$name.err"; then ok "$name"
    else fail "$name" "exit $RC, expected 2 and '$msg'"; show "$TMP/$name.err" 5; fi
}
bad_arg bad_cycles "churn-gate: --cycles: expected a positive integer, got 'abc'" --target 127.0.0.1:80 --cycles abc
bad_arg bad_cycles_zero "--cycles: expected a positive integer, got '0'" --target 127.0.0.1:80 --cycles 0
bad_arg bad_no_target "--target" --cycles 5
bad_arg bad_target_port "--target: port must be 1..65535" --target 127.0.0.1:70000
bad_arg bad_target_v6 "brackets" --target ::1:8080
bad_arg bad_profile "--profiles: unknown profile 'bogus'" --target 127.0.0.1:80 --profiles reset,bogus
bad_arg bad_budget "--budget: expected smoke or soak" --target 127.0.0.1:80 --budget huge
bad_arg bad_limits "--limits: expected release, strict or none" --target 127.0.0.1:80 --limits lax
bad_arg bad_option "unknown option '--frobnicate'" --target 127.0.0.1:80 --frobnicate
bad_arg bad_missing_value "--pid: missing value" --target 127.0.0.1:80 --pid
bad_arg bad_pid "no such process" --target 127.0.0.1:80 --pid 999999999

run_gate gate_help --help
if [ $RC -eq 0 ] && grep -q -- "--target" "$TMP/gate_help.out"; then ok gate_help; else fail gate_help "exit $RC"; fi
run_gate gate_version --version
if [ $RC -eq 0 ] && grep -q "churn.h" "$TMP/gate_version.out"; then ok gate_version; else fail gate_version "exit $RC"; fi

# ---- nothing listening: exit 2 -------------------------------------------------------------
# a port that was just free: start a server, note its port, stop it
if start_server gone; then
    GONE_PORT=$SPORT
    stop_server "$SPID"
    run_gate gate_nothing_listening_pid --target "127.0.0.1:$GONE_PORT" --pid $$ --cycles 5
    if [ $RC -eq 2 ] && [ -s "$TMP/gate_nothing_listening_pid.err" ]; then ok gate_nothing_listening_pid
    else fail gate_nothing_listening_pid "exit $RC, expected 2"; show "$TMP/gate_nothing_listening_pid.err" 5; fi
    run_gate gate_nothing_listening --target "127.0.0.1:$GONE_PORT" --cycles 5
    if [ $RC -eq 2 ] && grep -q "no local socket is listening" "$TMP/gate_nothing_listening.err"; then
        ok gate_nothing_listening_autopid
    else fail gate_nothing_listening_autopid "exit $RC, expected 2"; show "$TMP/gate_nothing_listening.err" 5; fi
else
    fail gate_nothing_listening_pid "demo_server did not start"
fi

fi   # HAVE_SERVER && HAVE_GATE

# ---- spawn_churn and in_test ---------------------------------------------------------------
run_example() {   # run_example NAME EXPECTED_EXIT BINARY [ARGS...]
    local name=$1 expected=$2 bin=$3
    shift 3
    have "$name" "$bin" || return 1
    timeout 60 "$bin" "$@" >"$TMP/$name.out" 2>"$TMP/$name.err"
    RC=$?
    if [ $RC -eq "$expected" ]; then ok "$name"; return 0; fi
    fail "$name" "exit $RC, expected $expected"
    show "$TMP/$name.out"; show "$TMP/$name.err"
    return 1
}
run_example spawn_churn_passes 0 "$B/spawn_churn"
if run_example spawn_churn_leak_fails 1 "$B/spawn_churn" --leak; then
    if grep -q zombies "$TMP/spawn_churn_leak_fails.out" "$TMP/spawn_churn_leak_fails.err"; then
        ok spawn_churn_leak_names_zombies
    else fail spawn_churn_leak_names_zombies "no mention of zombies"; show "$TMP/spawn_churn_leak_fails.out"; fi
fi
run_example in_test_passes 0 "$B/in_test"
if run_example in_test_leak_fails 1 "$B/in_test" --leak; then
    if grep -q "assertion failed" "$TMP/in_test_leak_fails.err" && grep -q socket "$TMP/in_test_leak_fails.err"; then
        ok in_test_leak_message_names_sockets
    else fail in_test_leak_message_names_sockets "message does not name the leaked sockets"; show "$TMP/in_test_leak_fails.err"; fi
fi

if [ "$SKIPPED" -gt 0 ]; then echo "$PASSED passed, $FAILED failed, $SKIPPED skipped"
else echo "$PASSED passed, $FAILED failed"; fi
[ "$FAILED" -eq 0 ]
