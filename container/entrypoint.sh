#!/bin/sh
# The image's entry point: gives the UID a passwd entry when it has none (OpenShift's arbitrary UIDs), trusts the CA
# bundle where test-operator mounts it, and runs dcn-verify with the arguments given. Exit codes are dcn-verify's.
set -eu
if ! getent passwd "$(id -u)" >/dev/null 2>&1; then
  wrap=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
  [ -e "$wrap" ] || wrap=$(find /usr/lib -name libnss_wrapper.so 2>/dev/null | head -n 1)
  if [ -n "$wrap" ] && [ -e "$wrap" ]; then
    passwd=$(mktemp /tmp/passwd.XXXXXX)
    cat /etc/passwd >"$passwd"
    echo "dcn-verify:x:$(id -u):$(id -g):dcn-verify:${HOME:-/tmp}:/bin/sh" >>"$passwd"
    export LD_PRELOAD="$wrap" NSS_WRAPPER_PASSWD="$passwd" NSS_WRAPPER_GROUP=/etc/group
  fi
fi
ca=/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem
if [ -z "${NODE_EXTRA_CA_CERTS:-}" ] && [ -r "$ca" ]; then export NODE_EXTRA_CA_CERTS="$ca"; fi
if [ -z "${DCN_VERIFY_CONFIG:-}" ] && [ -r /etc/dcn-verify/config.yaml ]; then export DCN_VERIFY_CONFIG=/etc/dcn-verify/config.yaml; fi
exec node /opt/dcn-verify/bin/dcn-verify.mjs "$@"
