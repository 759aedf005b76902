#!/usr/bin/env bash
# Runs every `sh` block of docs/runbook.md, in order, as one script: the runbook's commands are kept true
# by running them (make demo does, against its own database and archive). Exit status: the script's.
set -euo pipefail
cd "$(dirname "$0")/.."
DOC=${1:-docs/runbook.md}
SCRIPT=$(mktemp)
trap 'rm -f "$SCRIPT"' EXIT
{
  echo 'set -euo pipefail'
  awk '/^## /{ printf "echo %c--- runbook: %s%c\n", 39, substr($0, 4), 39 }
       /^```sh$/{ inblock=1; next }
       /^```$/{ inblock=0; next }
       inblock { print }' "$DOC"
} > "$SCRIPT"
bash -x "$SCRIPT" 2> >(grep -v '^++' >&2)
