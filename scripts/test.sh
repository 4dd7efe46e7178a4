#!/usr/bin/env bash
# npm test: the static checks run while the lab comes up; then the unit tests, then the lab tests.
set -euo pipefail
cd "$(dirname "$0")/.."
lab_log=$(mktemp)
node bin/dcn-verify.mjs lab up >"$lab_log" 2>&1 &
lab=$!
static=0
{ tsc --noEmit -p . && prettier --check . && eslint .; } || static=$?
lab_rc=0
wait "$lab" || lab_rc=$?
cat "$lab_log"
rm -f "$lab_log"
if [ "$static" -ne 0 ]; then echo "npm test: the static checks failed (exit $static)" >&2; exit "$static"; fi
if [ "$lab_rc" -ne 0 ]; then echo "npm test: lab up failed (exit $lab_rc)" >&2; exit "$lab_rc"; fi
vitest run --project unit
vitest run --project e2e
# The field profile: a lab shaped like the clouds operators run (two edges: one without backups, one with renamed pools).
node bin/dcn-verify.mjs lab down
node bin/dcn-verify.mjs lab up --profile field --edges 2
field=0
vitest run --project field || field=$?
node bin/dcn-verify.mjs lab down
exit "$field"
