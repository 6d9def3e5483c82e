#!/usr/bin/env bash
# assemble.sh IN OUT - build a macOS test copy of churn.h.
# OUT = IN with the line `/* CHURN-MACOS-INCLUDES */` replaced by wip/macos/includes.inc and
# the line `/* CHURN-MACOS-SECTION */` replaced by wip/macos/section.inc (exact whole-line match,
# leading/trailing blanks allowed). Portable-code edits the port needs are applied here as
# documented sed edits (see wip/macos/NOTES.md, "Portable-code changes"); none are needed today.
set -euo pipefail
if [ "$#" -ne 2 ]; then echo "usage: $0 IN OUT" >&2; exit 2; fi
in=$1 out=$2
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
inc=$here/includes.inc sec=$here/section.inc
for f in "$in" "$inc" "$sec"; do [ -r "$f" ] || { echo "$0: cannot read $f" >&2; exit 1; }; done
for m in 'CHURN-MACOS-INCLUDES' 'CHURN-MACOS-SECTION'; do
    n=$(grep -c "^[[:space:]]*/\* $m \*/[[:space:]]*\$" "$in" || true)
    [ "$n" = 1 ] || { echo "$0: marker /* $m */ found $n times in $in (want 1)" >&2; exit 1; }
done
mkdir -p "$(dirname "$out")"
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
awk -v inc="$inc" -v sec="$sec" '
    function splice(f,   line) { while ((getline line < f) > 0) print line; close(f) }
    /^[ \t]*\/\* CHURN-MACOS-INCLUDES \*\/[ \t]*$/ { splice(inc); next }
    /^[ \t]*\/\* CHURN-MACOS-SECTION \*\/[ \t]*$/  { splice(sec); next }
    { print }
' "$in" > "$tmp"
# ---- portable-code edits (documented in NOTES.md); keep this list in step with it ----
# (none)
mv "$tmp" "$out"
trap - EXIT
