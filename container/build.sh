#!/usr/bin/env bash
# Builds dcn-verify's image from this checkout with buildah, on a base bootstrapped from Debian's packages
# (container/base.sh), where no registry of images is reachable. Elsewhere: buildah bud -f container/Containerfile .
#   container/build.sh [TAG]        (default localhost/dcn-verify:<package version>)
set -euo pipefail
cd "$(dirname "$0")/.."
tag=${1:-localhost/dcn-verify:$(node -p 'require("./package.json").version')}
base=$(container/base.sh | tail -n 1)
# NOTE: the CAs npm trusts in the build: the base's, which hold this machine's (a TLS proxy's, where there is one).
buildah bud --quiet --isolation chroot --layers=false -f container/Containerfile \
  --build-arg "BASE=$base" --build-arg NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt -t "$tag" . >&2
echo "$tag"
