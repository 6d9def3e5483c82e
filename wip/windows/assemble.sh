#!/usr/bin/env bash
# assemble.sh IN OUT - OUT is IN with the three Windows marker lines replaced by the files
# next to this script (exact whole-line match, marker indentation ignored):
#   /* CHURN-WINDOWS-INCLUDES */     <- includes.inc
#   /* CHURN-WINDOWS-SECTION */      <- section.inc
#   /* CHURN-WINDOWS-SOCKET-SHIM */  <- socket_shim.inc
# Then applies PORTABLE_EDITS below (changes the portable code needs for Windows; each is
# documented in NOTES.md and is for the lead to make in churn.h; an edit whose "before"
# text is gone (already applied upstream) is skipped).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
in=${1:?usage: assemble.sh IN OUT}
out=${2:?usage: assemble.sh IN OUT}
mkdir -p "$(dirname "$out")"
python3 - "$in" "$out" "$here" <<'PY'
import sys, os
src, dst, here = sys.argv[1:4]
markers = {
    "/* CHURN-WINDOWS-INCLUDES */": "includes.inc",
    "/* CHURN-WINDOWS-SECTION */": "section.inc",
    "/* CHURN-WINDOWS-SOCKET-SHIM */": "socket_shim.inc",
}
with open(src, encoding="utf-8", newline="") as f:
    lines = f.read().split("\n")
seen = {m: 0 for m in markers}
out = []
for line in lines:
    key = line.strip()
    if key in markers:
        seen[key] += 1
        with open(os.path.join(here, markers[key]), encoding="utf-8") as f:
            body = f.read()
        if body.endswith("\n"):
            body = body[:-1]
        out.append(body)
    else:
        out.append(line)
for m, n in seen.items():
    if n != 1:
        sys.exit("assemble.sh: marker %s found %d times in %s (want 1)" % (m, n, src))
text = "\n".join(out)
# PORTABLE_EDITS: (before, after) exact substrings; see NOTES.md "Changes needed in portable code".
edits = []
for before, after in edits:
    if before in text:
        text = text.replace(before, after)
tmp = dst + ".tmp"
with open(tmp, "w", encoding="utf-8", newline="") as f:
    f.write(text)
os.replace(tmp, dst)
PY
