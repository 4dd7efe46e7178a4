#!/usr/bin/env bash
# The appendix's verification of one edge site, the way an operator does it today: the stock CLIs
# (openstack, glance, rbd) and 2-second polling loops. Usage: manual-baseline.sh <edge> <raw image file>
# Needs OS_* in the environment (the lab's openrc). Prints "CHECK ok|FAIL <what>" per check and exits 1
# if one failed. Cleans up what it created.
set -u
EDGE=${1:?edge site}
RAW=${2:?raw image file}
TAG="manual-$$"
CHECKS=0
FAILED=0
check() { CHECKS=$((CHECKS + 1)); if eval "$2"; then echo "CHECK ok $1"; else echo "CHECK FAIL $1"; FAILED=$((FAILED + 1)); fi; }
# watch-style loop: every 2 s until the command's output matches, at most $3 seconds
until_match() { local end=$((SECONDS + $3)); while [ $SECONDS -lt $end ]; do if eval "$1" 2>/dev/null | grep -q -- "$2"; then return 0; fi; sleep 2; done; return 1; }

IMG= VOL= SRV= SNAP= SIMG=
cleanup() {
  [ -n "$SRV" ] && openstack server delete --wait "$SRV" >/dev/null 2>&1
  [ -n "$SIMG" ] && openstack image delete "$SIMG" >/dev/null 2>&1
  for s in $(openstack volume snapshot list -f value -c ID -c Name | awk -v t="$TAG" '$0 ~ t || /snapshot for/ {print $1}'); do openstack volume snapshot delete "$s" >/dev/null 2>&1; done
  until_match "openstack volume snapshot list -f value -c Name | wc -l" "^0$" 60 >/dev/null || true
  [ -n "$VOL" ] && openstack volume delete "$VOL" >/dev/null 2>&1 && until_match "openstack volume show $VOL -f value -c status 2>&1" "No volume" 60
  [ -n "$IMG" ] && openstack image delete "$IMG" >/dev/null 2>&1
}
trap cleanup EXIT

# A.1 prerequisites: the stores
check "stores-info lists central and $EDGE" "glance stores-info | grep -q central && glance stores-info | grep -q '$EDGE'"
# A.1.1 import the raw image to central
IMG=$(glance image-create --disk-format raw --container-format bare --name "$TAG-cirros" --file "$RAW" --store central 2>/dev/null | awk '$2 == "id" {print $4}')
check "image active in central" "until_match 'openstack image show $IMG -f value -c status' active 120"
# A.1.3 copy it to the edge
glance image-import "$IMG" --stores "$EDGE" --import-method copy-image >/dev/null 2>&1
check "stores has $EDGE" "until_match 'openstack image show $IMG -f value -c properties' \"stores.*$EDGE\" 180"
check "location on an rbd url" "openstack image show $IMG -f value -c properties | grep -q rbd://"
# A.1.4 boot from volume at the edge
VOL=$(openstack volume create --size 1 --availability-zone "$EDGE" --type "$EDGE" --image "$IMG" "$TAG-volume" -f value -c id)
check "volume available" "until_match 'openstack volume show $VOL -f value -c status' available 120"
SRV=$(openstack --os-compute-api-version 2.37 server create --flavor dcnv.tiny --availability-zone "$EDGE" --volume "$VOL" --nic none "$TAG-server" -f value -c id)
check "server ACTIVE" "until_match 'openstack server show $SRV -f value -c status' ACTIVE 120"
check "volume is a clone of images/$IMG@snap" "rbd --cluster $EDGE -p volumes ls -l | grep volume-$VOL | grep -q 'images/$IMG@snap'"
# snapshot of the stopped server's root volume
openstack server stop "$SRV"
check "server SHUTOFF" "until_match 'openstack server show $SRV -f value -c status' SHUTOFF 90"
SNAP=$(openstack volume snapshot create "$TAG-snap" --volume "$VOL" --force -f value -c id)
check "snapshot available" "until_match 'openstack volume snapshot show $SNAP -f value -c status' available 120"
openstack server start "$SRV"
check "server ACTIVE again" "until_match 'openstack server show $SRV -f value -c status' ACTIVE 120"
check "snapshot listed with the same parent" "rbd --cluster $EDGE -p volumes ls -l | grep 'volume-$VOL@snapshot-$SNAP' | grep -q 'images/$IMG@snap'"
# A.1.5 an image of the edge server, copied back to central
openstack server stop "$SRV"
until_match "openstack server show $SRV -f value -c status" SHUTOFF 90
SIMG=$(openstack server image create --name "$TAG-snapshot" "$SRV" -f value -c id)
check "server image active" "until_match 'openstack image show $SIMG -f value -c status' active 120"
openstack server start "$SRV"
check "copy-image of the server image to central accepted" "glance image-import $SIMG --stores central --import-method copy-image >/dev/null 2>&1"
echo "CHECKS $CHECKS FAILED $FAILED"
[ $FAILED -eq 0 ]
