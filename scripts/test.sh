#!/usr/bin/env bash
# npm test: the static checks while the Debian packages are installed; then the unit tests while the lab comes up and
# the container image is built; then the lab tests; then each distribution profile's.
set -euo pipefail
cd "$(dirname "$0")/.."
# The static checks need no Debian package: they run while apt installs them (on a bare machine, minutes of dpkg).
static_log=$(mktemp)
{ nice -n 10 tsc --noEmit -p . && nice -n 10 prettier --check . && nice -n 10 eslint .; } >"$static_log" 2>&1 &
static=$!
node bin/dcn-verify.mjs lab packages --tests
lab_log=$(mktemp)
node bin/dcn-verify.mjs lab up >"$lab_log" 2>&1 &
lab=$!
# The container image (container/build.sh) is built beside lab up: mostly downloads and unpacking, at the lowest
# priority. The lab test of the image (tests/e2e/container.lab) runs the image it names.
image_log=$(mktemp)
nice -n 19 container/build.sh localhost/dcn-verify:lab-test >"$image_log" 2>&1 &
image=$!
early=0
wait "$static" || early=$?
cat "$static_log"
rm -f "$static_log"
# NOTE: niced, so that lab up (the longer, and the one e2e waits on) gets the cores when both want them.
if [ "$early" -eq 0 ]; then nice -n 10 vitest run --project unit || early=$?; fi
lab_rc=0
wait "$lab" || lab_rc=$?
cat "$lab_log"
rm -f "$lab_log"
if [ "$early" -ne 0 ]; then echo "npm test: the static checks or the unit tests failed (exit $early)" >&2; exit "$early"; fi
if [ "$lab_rc" -ne 0 ]; then echo "npm test: lab up failed (exit $lab_rc)" >&2; exit "$lab_rc"; fi
image_rc=0
wait "$image" || image_rc=$?
if [ "$image_rc" -ne 0 ]; then cat "$image_log"; echo "npm test: the container image did not build (exit $image_rc)" >&2; exit "$image_rc"; fi
rm -f "$image_log"
DCN_VERIFY_TEST_IMAGE=localhost/dcn-verify:lab-test vitest run --project e2e
# The distribution profiles (docs/lab.md, Lab profiles): the lab is reshaped into each in turn, not rebuilt (its databases,
# Keystone, Placement, Neutron and Nova stay), with one edge as each example has, and each profile's file runs its
# example config as shipped.
profiles=0
for file in tests/profiles/*.lab.test.ts; do
  p=$(basename "$file" .lab.test.ts)
  if ! node bin/dcn-verify.mjs lab up --profile "$p" --edges 1; then profiles=1; break; fi
  vitest run --project profiles "$file" || profiles=1
done
node bin/dcn-verify.mjs lab down
exit "$profiles"
