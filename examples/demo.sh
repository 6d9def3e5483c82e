#!/usr/bin/env bash
# demo.sh - churn-gate against the demo server, clean and leaky (run by `make demo`).
#
# Expects `make` to have built build/demo_server and build/churn-gate. Writes demo/*.json
# and demo/*.log. Starts each server on an ephemeral port, gates it, and stops it; a trap
# makes sure no server outlives the script. Exit status 0 when the clean server PASSed
# (churn-gate exit 0) and the leaky one FAILed (exit 1); non-zero otherwise.
set -u

cd "$(dirname "$0")/.." || exit 2
BUILD=${BUILD:-build}
SERVER=$BUILD/demo_server
GATE=$BUILD/churn-gate
OUT=demo

# Both runs use the same gate: 100 measured cycles after 20 warmup cycles, five kinds of
# connection, strict limits (nothing may remain after the drain). The clean server closes
# every connection, so it passes; --leak-fd 10 keeps every 10th one open, so it fails.
PROFILES=reset,close,partial_headers,request,ws_upgrade_reset
GATE_ARGS=(--budget smoke --warmup 20 --profiles "$PROFILES" --limits strict --timeout-ms 1000)

for bin in "$SERVER" "$GATE"; do
    if [ ! -x "$bin" ]; then
        echo "demo: $bin is missing; run 'make' first" >&2
        exit 2
    fi
done
mkdir -p "$OUT" || exit 2

SERVER_PIDS=()
cleanup() {
    local p
    for p in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do kill -TERM "$p" 2>/dev/null; done
    for p in "${SERVER_PIDS[@]+"${SERVER_PIDS[@]}"}"; do
        for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    SERVER_PIDS=()
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# start_server NAME [server options...]: sets SERVER_PORT and SERVER_PID.
start_server() {
    local name=$1 line=""
    shift
    "$SERVER" --port 0 "$@" >"$OUT/$name-server.log" 2>&1 &
    SERVER_PID=$!
    SERVER_PIDS+=("$SERVER_PID")
    for _ in $(seq 1 50); do
        line=$(head -n 1 "$OUT/$name-server.log" 2>/dev/null)
        if [[ $line =~ ^port\ ([0-9]+)\ pid\ ([0-9]+) ]]; then
            SERVER_PORT=${BASH_REMATCH[1]}
            return 0
        fi
        kill -0 "$SERVER_PID" 2>/dev/null || break
        sleep 0.1
    done
    echo "demo: the $name server did not start:" >&2
    cat "$OUT/$name-server.log" >&2
    return 1
}

stop_server() {
    kill -TERM "$SERVER_PID" 2>/dev/null
    for _ in $(seq 1 30); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SERVER_PID" 2>/dev/null
    wait "$SERVER_PID" 2>/dev/null
}

banner() {
    printf '\n==============================================================================\n'
    printf '  %s\n' "$1"
    printf '==============================================================================\n'
}

# gate NAME EXPECTED_EXIT [server options...]: sets GATE_RC.
gate() {
    local name=$1 expected=$2 cmd
    shift 2
    start_server "$name" "$@" || { GATE_RC=2; return; }
    cmd=("$GATE" --target "127.0.0.1:$SERVER_PORT" --pid "$SERVER_PID" "${GATE_ARGS[@]}"
         --label "demo-$name" --report "$OUT/$name.json")
    banner "$name server: demo_server $* (pid $SERVER_PID, port $SERVER_PORT)"
    echo "\$ ${cmd[*]}"
    echo
    timeout 60 "${cmd[@]}" 2>"$OUT/$name-gate.log"
    GATE_RC=$?
    if [ "$GATE_RC" -eq 2 ] && grep -q "cannot connect" "$OUT/$name-gate.log"; then
        # churn_run probes the target with one connection; on a machine short of ephemeral
        # ports (tens of thousands of TIME_WAIT from other load) that one attempt can fail.
        echo "(the pre-flight connection failed; retrying once)"
        sleep 0.5
        timeout 60 "${cmd[@]}" 2>"$OUT/$name-gate.log"
        GATE_RC=$?
    fi
    # the gate's own stderr (progress, notes) is in the log; show its last lines
    grep -v ' cycles, ' "$OUT/$name-gate.log" | sed 's/^/  | /'
    echo
    echo "churn-gate exit status: $GATE_RC (expected $expected), report: $OUT/$name.json"
    stop_server
}

START=$SECONDS
gate clean 0
CLEAN_RC=$GATE_RC
gate leaky 1 --leak-fd 10
LEAKY_RC=$GATE_RC

banner "result"
verdict() {
    case $1 in
        0) echo "PASS" ;; 1) echo "FAIL" ;; 2) echo "ERROR" ;; 3) echo "INCONCLUSIVE" ;;
        124) echo "TIMEOUT" ;; *) echo "exit $1" ;;
    esac
}
printf '  clean server:               %-12s (expected PASS)\n' "$(verdict "$CLEAN_RC")"
printf '  leaky server (--leak-fd 10): %-12s (expected FAIL)\n' "$(verdict "$LEAKY_RC")"
printf '  reports: %s/clean.json %s/leaky.json (%d s)\n' "$OUT" "$OUT" $((SECONDS - START))
if [ "$CLEAN_RC" -eq 0 ] && [ "$LEAKY_RC" -eq 1 ]; then
    echo "demo: OK: the gate passed the clean server and caught the leaky one"
    exit 0
fi
echo "demo: UNEXPECTED verdicts" >&2
exit 1
