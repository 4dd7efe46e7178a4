#!/usr/bin/env bash
# npm test: the static checks while the Debian packages are installed; then the unit tests while the lab comes up and
# the container image is built; then the lab tests (those that run the image wait for its build); then each
# distribution profile's.
set -euo pipefail
cd "$(dirname "$0")/.."
t0=$SECONDS
stamp() { echo "npm test: $1 at +$((SECONDS - t0)) s"; }
# The static checks need no Debian package: they run while apt installs them (on a bare machine, minutes of dpkg).
static_log=$(mktemp)
{ nice -n 10 tsc --noEmit -p . && nice -n 10 prettier --check . && nice -n 10 eslint .; } >"$static_log" 2>&1 &
static=$!
node bin/dcn-verify.mjs lab packages
stamp "the lab's packages are in"
lab_log=$(mktemp)
node bin/dcn-verify.mjs lab up >"$lab_log" 2>&1 &
lab=$!
# What only the tests need (Chromium, OpenSSH, buildah, Prometheus...) is installed beside lab up; then the container
# image (container/build.sh) is built at the lowest priority, beside the unit tests and the lab tests. The lab tests
# that run the image (tests/e2e/image.ts) wait for the build's exit code in DCN_VERIFY_TEST_IMAGE_RC.
node bin/dcn-verify.mjs lab packages --tests
stamp "the tests' packages are in"
image_log=$(mktemp)
image_rc_file=$(mktemp -u)
{
  rc=0
  nice -n 19 container/build.sh localhost/dcn-verify:lab-test >"$image_log" 2>&1 || rc=$?
  echo "$rc" >"$image_rc_file.tmp" && mv "$image_rc_file.tmp" "$image_rc_file"
} &
image=$!
trap 'kill $image 2>/dev/null || true' EXIT
early=0
wait "$static" || early=$?
cat "$static_log"
rm -f "$static_log"
stamp "static checks done"
# NOTE: niced, so that lab up (the longer, and the one e2e waits on) gets the cores when both want them.
if [ "$early" -eq 0 ]; then nice -n 10 vitest run --project unit || early=$?; fi
stamp "unit tests done"
lab_rc=0
wait "$lab" || lab_rc=$?
cat "$lab_log"
rm -f "$lab_log"
stamp "lab up done"
if [ "$early" -ne 0 ]; then echo "npm test: the static checks or the unit tests failed (exit $early)" >&2; exit "$early"; fi
if [ "$lab_rc" -ne 0 ]; then echo "npm test: lab up failed (exit $lab_rc)" >&2; exit "$lab_rc"; fi
e2e=0
DCN_VERIFY_TEST_IMAGE=localhost/dcn-verify:lab-test DCN_VERIFY_TEST_IMAGE_RC="$image_rc_file" DCN_VERIFY_TEST_IMAGE_LOG="$image_log" \
  vitest run --project e2e || e2e=$?
stamp "lab tests done"
image_rc=0
wait "$image" || image_rc=$?
[ -f "$image_rc_file" ] && image_rc=$(cat "$image_rc_file")
if [ "$image_rc" -ne 0 ]; then cat "$image_log"; echo "npm test: the container image did not build (exit $image_rc)" >&2; exit "$image_rc"; fi
rm -f "$image_log" "$image_rc_file"
if [ "$e2e" -ne 0 ]; then exit "$e2e"; fi
# The distribution profiles (docs/lab.md, Lab profiles): the lab is reshaped into each in turn, not rebuilt (its databases,
# Keystone, Placement, Neutron and Nova stay), with one edge as each example has, and each profile's file runs its
# example config as shipped.
profiles=0
for file in tests/profiles/*.lab.test.ts; do
  p=$(basename "$file" .lab.test.ts)
  if ! node bin/dcn-verify.mjs lab up --profile "$p" --edges 1; then profiles=1; break; fi
  stamp "lab reshaped to $p"
  vitest run --project profiles "$file" || profiles=1
  stamp "profile $p done"
done
node bin/dcn-verify.mjs lab down
exit "$profiles"
