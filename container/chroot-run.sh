#!/usr/bin/env bash
# Runs an image's own filesystem as a container runtime would, on a machine where none runs (podman: no
# CAP_SYS_RESOURCE for setrlimit, cgroups in hybrid mode). Used by the lab test of the image (tests/e2e/container.lab).
#   container/chroot-run.sh IMAGE UID:GID [--mount SRC:DST[:ro]]... [--env K=V]... [--entrypoint CMD] -- [ARGS...]
# As a runtime does: the image's Entrypoint, Env and WorkingDir; the given UID and GID, with no passwd entry; a
# read-only root; a fresh tmpfs at /tmp; the mounts given. Unlike one: no PID, network, IPC or user namespace (the
# host's loopback is the lab's), no cgroup limits, no seccomp profile, no dropped capabilities beyond the UID's.
set -euo pipefail
image=$1 user=$2
shift 2
mounts=() envs=() override=
while [ $# -gt 0 ] && [ "$1" != "--" ]; do
  case $1 in
    --mount) mounts+=("$2"); shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --entrypoint) override=$2; shift 2 ;;
    *) echo "chroot-run: unknown option $1" >&2; exit 2 ;;
  esac
done
if [ $# -gt 0 ]; then shift; fi
ctr=$(buildah from --pull-never --quiet "$image")
trap 'buildah umount "$ctr" >/dev/null 2>&1; buildah rm "$ctr" >/dev/null 2>&1' EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
root=$(buildah mount "$ctr")
config=$(buildah inspect --type image "$image")
field() { node -e 'const c = JSON.parse(process.argv[1]).OCIv1.config; const v = c[process.argv[2]]; if (Array.isArray(v)) for (const x of v) console.log(x); else if (v) console.log(v);' "$config" "$1"; }
mapfile -t entrypoint < <(field Entrypoint)
if [ -n "$override" ]; then read -r -a entrypoint <<<"$override"; fi
mapfile -t image_env < <(field Env)
workdir=$(field WorkingDir)
if [ $# -eq 0 ]; then mapfile -t cmd < <(field Cmd); set -- "${cmd[@]}"; fi
# The mount points, made in the container's own layer as a runtime makes them.
for m in "${mounts[@]}"; do
  IFS=: read -r src dst _ <<<"$m"
  if [ -d "$src" ]; then mkdir -p "$root$dst"; else mkdir -p "$(dirname "$root$dst")"; touch "$root$dst"; fi
done
export root user workdir
# NOTE: not exec'd: the container and its mount are removed when it ends (the EXIT trap).
# shellcheck disable=SC2016
set +e
unshare --mount --propagation private -- bash -euo pipefail -c '
  mount --bind "$root" "$root"
  mount -t tmpfs -o mode=1777,size=2g tmpfs "$root/tmp"
  mount --rbind /dev "$root/dev"
  mount -t proc proc "$root/proc"
  n=$1; shift
  for m in "${@:1:$n}"; do
    IFS=: read -r src dst ro <<<"$m"
    mount --bind "$src" "$root$dst"
    if [ "$ro" = ro ]; then mount -o remount,bind,ro "$root$dst"; fi
  done
  shift "$n"
  mount -o remount,bind,ro "$root"
  exec chroot --userspec="$user" "$root" "$@"
' _ "${#mounts[@]}" "${mounts[@]}" \
  env -i "${image_env[@]}" "${envs[@]}" sh -c 'cd "$0" && exec "$@"' "${workdir:-/}" "${entrypoint[@]}" "$@"
exit $?
