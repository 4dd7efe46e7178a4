#!/usr/bin/env bash
# npm test. The Debian packages first. Then two labs come up while the static checks and the unit tests run: lane a's
# here, lane b's in a network namespace of its own (the same loopback ports, another lab directory, its own /etc/ceph).
# The lab tests then run in both lanes at once, one file at a time on each lane's lab; lane b then rebuilds its lab
# with the field profile and runs the field tests. Where no network namespace can be made, one lane runs it all.
set -euo pipefail
cd "$(dirname "$0")/.."
node bin/dcn-verify.mjs lab packages --profile field --tests

# Lane b's lab test files: with the field stage, about half of the lab tests' time (README, Tests).
LANE_B=(ops multistore transport interrupt lab credentials package preflight)
NS=dcnv-lane-b
LAB_B="$PWD/.lab/lane-b"
logs=$(mktemp -d)
in_b() { ip netns exec "$NS" env DCN_LAB_DIR="$LAB_B" "$@"; }

lanes=1
if ip netns list 2>/dev/null | awk '{print $1}' | grep -qx "$NS" || ip netns add "$NS" 2>"$logs/netns"; then
  mkdir -p /etc/ceph "/etc/netns/$NS/ceph"
  # NOTE: 'ip netns exec' bind-mounts /etc/netns/<ns>/ceph over /etc/ceph: lane b's clusters keep their own keyrings.
  if in_b ip link set lo up; then lanes=2; fi
fi
if [ "$lanes" = 1 ]; then echo "npm test: no network namespace ($(cat "$logs/netns" 2>/dev/null)); the lab tests run in one lane" >&2; fi

finish() {
  if [ "$lanes" = 2 ]; then
    in_b node bin/dcn-verify.mjs lab down >/dev/null 2>&1 || true
    ip netns del "$NS" 2>/dev/null || true
  fi
  rm -rf "$logs"
}
trap finish EXIT

node bin/dcn-verify.mjs lab up >"$logs/up-a" 2>&1 &
up_a=$!
if [ "$lanes" = 2 ]; then
  in_b node bin/dcn-verify.mjs lab up >"$logs/up-b" 2>&1 &
  up_b=$!
fi
early=0
{ tsc --noEmit -p . && prettier --check . && eslint . && vitest run --project unit; } || early=$?
rc_a=0
wait "$up_a" || rc_a=$?
cat "$logs/up-a"
rc_b=0
if [ "$lanes" = 2 ]; then
  wait "$up_b" || rc_b=$?
  sed 's/^/[lane b] /' "$logs/up-b"
fi
if [ "$early" -ne 0 ]; then echo "npm test: the static checks or the unit tests failed (exit $early)" >&2; exit "$early"; fi
if [ "$rc_a" -ne 0 ] || [ "$rc_b" -ne 0 ]; then echo "npm test: lab up failed (lane a exit $rc_a, lane b exit $rc_b)" >&2; exit 1; fi

# The field profile: a lab shaped like the clouds operators run (README, Lab profiles). Two edges: with one, ms-11
# (copy-image to all stores) has nothing to copy and stays not verified, so a --tier run cannot pass.
field_stage() {
  local run=("$@") rc=0
  "${run[@]}" node bin/dcn-verify.mjs lab down
  "${run[@]}" node bin/dcn-verify.mjs lab up --profile field --edges 2 || return 1
  "${run[@]}" vitest run --project field || rc=$?
  "${run[@]}" node bin/dcn-verify.mjs lab down
  return "$rc"
}

failed=0
if [ "$lanes" = 2 ]; then
  b_files=() a_files=()
  for f in tests/e2e/*.lab.test.ts; do
    name=$(basename "$f" .lab.test.ts)
    if printf '%s\n' "${LANE_B[@]}" | grep -qx "$name"; then b_files+=("$f"); else a_files+=("$f"); fi
  done
  (
    rc=0
    in_b vitest run --project e2e "${b_files[@]}" || rc=$?
    field_stage in_b || rc=$?
    exit "$rc"
  ) >"$logs/lane-b" 2>&1 &
  lane_b=$!
  vitest run --project e2e "${a_files[@]}" || failed=1
  node bin/dcn-verify.mjs lab down >/dev/null
  wait "$lane_b" || failed=1
  sed 's/^/[lane b] /' "$logs/lane-b"
else
  vitest run --project e2e || failed=1
  field_stage || failed=1
fi
exit "$failed"
