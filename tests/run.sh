#!/usr/bin/env bash
# tests/run.sh - run churn.h's test binaries and test scripts and add up their counts.
#
#   tests/run.sh [--bin-dir DIR] [--no-scripts] [--wrap "CMD ARGS"] [--fd-check] [NAME...]
#
# Runs DIR/test_X for every tests/test_X.c (DIR defaults to build/tests) and, unless
# --no-scripts, `bash tests/test_Y.sh` for every tests/test_Y.sh; NAMEs (test_X) restrict the
# set. Each runs from the repository root, stdin from /dev/null, no inherited fds above 2,
# under `timeout $CHURN_TEST_TIMEOUT` (default 120 s); its output is streamed. Its last line
# of the form "N passed, N failed" (", N skipped" may follow) gives its counts. A test that
# has no such line (crash, timeout, missing binary) counts as 1 failed; one that exits
# non-zero although its line says 0 failed (a sanitizer or valgrind report after the counts)
# also counts 1 failed.
#   --wrap "CMD ARGS"  run binaries under CMD (e.g. valgrind); not applied to scripts
#   --fd-check         with valgrind --track-fds: fail a binary that leaves non-std fds open
# Environment passed to every test: CHURN_TEST_BIN_DIR (the binaries' directory) and
# whatever the caller set (CHURN_SOAK, CHURN_TEST_TOOL=asan|valgrind|tsan, ...).
# The last line printed is "N passed, N failed"; the exit status is 1 on any failure.

set -u -o pipefail
cd "$(dirname "$0")/.." || exit 2

bin_dir=build/tests
run_scripts=1
wrap=()
fd_check=0
only=()
timeout_s=${CHURN_TEST_TIMEOUT:-120}

while [ $# -gt 0 ]; do
    case $1 in
        --bin-dir) bin_dir=${2%/}; shift 2 ;;
        --no-scripts) run_scripts=0; shift ;;
        --wrap) read -r -a wrap <<<"$2"; shift 2 ;;
        --fd-check) fd_check=1; shift ;;
        -h|--help) sed -n '2,22p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) only+=("${1%.c}"); shift ;;
    esac
done
export CHURN_TEST_BIN_DIR=$bin_dir

selected() {  # selected NAME: is NAME in the NAME... list (or is there no list)?
    [ ${#only[@]} -eq 0 ] && return 0
    local n
    for n in "${only[@]}"; do [ "$n" = "$1" ] && return 0; done
    return 1
}

log_dir=$(mktemp -d "${TMPDIR:-/tmp}/churn-run.XXXXXX") || exit 2
trap 'rm -rf "$log_dir"' EXIT

total_passed=0 total_failed=0 total_skipped=0 ran=0
summary=()

# run_one NAME CMD...: run, stream, parse, add to the totals.
run_one() {
    local name=$1; shift
    local log="$log_dir/$name.log" rc line p f s note="" t0 t1
    printf '\n---- %s\n' "$name"
    t0=$(date +%s%N)
    (
        # no inherited descriptors above 2 (make's jobserver pipes, the caller's files)
        for fdp in /proc/$BASHPID/fd/*; do
            fd=${fdp##*/}
            [ "$fd" -gt 2 ] 2>/dev/null && { eval "exec $fd>&-"; } 2>/dev/null
        done
        exec timeout --kill-after=10 "$timeout_s" "$@" </dev/null 2>&1
    ) | tee "$log"
    rc=${PIPESTATUS[0]}
    t1=$(date +%s%N)
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed(, [0-9]+ skipped)?[[:space:]]*$' "$log" | tail -n 1)
    if [ -n "$line" ]; then
        p=$(sed -E 's/^([0-9]+) passed.*/\1/' <<<"$line")
        f=$(sed -E 's/^[0-9]+ passed, ([0-9]+) failed.*/\1/' <<<"$line")
        s=$(sed -nE 's/.*, ([0-9]+) skipped.*/\1/p' <<<"$line"); s=${s:-0}
    else
        p=0 f=0 s=0
    fi
    if [ "$rc" -eq 124 ]; then
        note="timed out after ${timeout_s}s"
        [ "$f" -eq 0 ] && f=1
    elif [ -z "$line" ]; then
        if [ "$rc" -gt 128 ]; then note="killed by signal $((rc - 128)), no counts line"
        else note="exited with status $rc without a counts line"; fi
        f=1
    elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        note="exited with status $rc after reporting 0 failed"
        f=1
    fi
    if [ "$fd_check" -eq 1 ]; then
        local fds
        fds=$(sed -nE 's/.*FILE DESCRIPTORS: ([0-9]+) open \(([0-9]+) std\) at exit.*/\1 \2/p' "$log" | head -n 1)
        if [ -n "$fds" ] && [ "${fds% *}" -gt "${fds#* }" ]; then
            note="${note:+$note; }left $(( ${fds% *} - ${fds#* } )) non-std fds open at exit"
            f=$((f + 1))
        fi
    fi
    [ -n "$note" ] && echo "run.sh: $name $note"
    total_passed=$((total_passed + p))
    total_failed=$((total_failed + f))
    total_skipped=$((total_skipped + s))
    ran=$((ran + 1))
    summary+=("$(printf '  %-28s %4d passed %3d failed %3d skipped %7.2fs%s' "$name" "$p" "$f" "$s" \
        "$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')" "${note:+  ($note)}")")
}

for src in tests/test_*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    selected "$name" || continue
    bin="$bin_dir/$name"
    if [ ! -x "$bin" ]; then
        printf '\n---- %s\nrun.sh: %s is not built (make tests)\n' "$name" "$bin"
        total_failed=$((total_failed + 1)); ran=$((ran + 1))
        summary+=("$(printf '  %-28s    0 passed   1 failed   0 skipped           (not built)' "$name")")
        continue
    fi
    run_one "$name" "${wrap[@]}" "$bin"
done

if [ "$run_scripts" -eq 1 ]; then
    for sh in tests/test_*.sh; do
        [ -e "$sh" ] || continue
        name=$(basename "$sh")
        selected "${name%.sh}" || selected "$name" || continue
        run_one "$name" bash "$sh"
    done
fi

printf '\n==== summary (%d test programs)\n' "$ran"
[ ${#summary[@]} -gt 0 ] && printf '%s\n' "${summary[@]}"
[ "$total_skipped" -gt 0 ] && echo "($total_skipped skipped)"
echo "$total_passed passed, $total_failed failed"
[ "$total_failed" -eq 0 ]
