#!/usr/bin/env bash
# The work of `dcn-verify run --suites procedure --tier disruptive`, done the way an operator does it by hand: the stock
# CLIs (openstack, glance, cinder, rbd, ceph), curl and jq for Glance's JSON, and 2-second polling loops. Steps 1 and 2
# at central, then steps 3 to 7 at each edge in turn, each edge's resources deleted (and waited for until gone) after
# its steps, central's image last; the same image (the raw file given: the harness's generated 64 MiB), the same
# 1 GiB volumes, and the same data read back from Ceph as the harness reads.
#
# Usage: manual-baseline.sh <edge>[,<edge>...] <raw image file>
# Needs OS_* in the environment (the lab's openrc). A site's name is its AZ, Glance store, volume type and Ceph cluster
# (rbd --cluster <site>), as in the lab; FLAVOR (dcnv.tiny), IMAGES_POOL (images), VOLUMES_POOL (volumes) and
# VOLUME_GIB (1) may be set. Prints "CHECK ok|FAIL [<site>] <what>" per check, "OUTCOME [<site>] ..." where the harness
# records an outcome, "TIME <part> <seconds>" per part (central, edge <name>, cleanup central) and "CHECKS n FAILED m";
# exits 1 if a check failed. An action or a wait that fails ends the script at once with "FATAL", non-zero.
set -uo pipefail
EDGES=${1:?edge site(s), comma-separated}
RAW=${2:?raw image file}
FLAVOR=${FLAVOR:-dcnv.tiny}
IMAGES_POOL=${IMAGES_POOL:-images}
VOLUMES_POOL=${VOLUMES_POOL:-volumes}
VOLUME_GIB=${VOLUME_GIB:-1}
CENTRAL=central
TAG="manual-$$"
POLL=2
CHECKS=0
FAILED=0
AT=$CENTRAL

die() {
  echo "FATAL [$AT] $*" >&2
  exit 3
}
check() {
  CHECKS=$((CHECKS + 1))
  if eval "$2"; then echo "CHECK ok [$AT] $1"; else
    echo "CHECK FAIL [$AT] $1"
    FAILED=$((FAILED + 1))
  fi
}
# wait_for <what> <command> <wanted: grep -E> <timeout s> [<state that ends the wait: grep -E>]
wait_for() {
  local end=$((SECONDS + $4)) out=""
  while [ $SECONDS -lt $end ]; do
    out=$(eval "$2" 2>&1)
    if grep -qE -- "$3" <<<"$out"; then return 0; fi
    if [ -n "${5:-}" ] && grep -qE -- "$5" <<<"$out"; then die "$1: $out"; fi
    sleep $POLL
  done
  die "$1: not reached in $4 s (last: $out)"
}

TOKEN=$(openstack token issue -f value -c id) || die "openstack token issue failed"
GLANCE=$(openstack endpoint list --service image --interface public -f value -c URL | head -1)
[ -n "$GLANCE" ] || die "no public image endpoint in the catalog"
image_json() { curl -sf -H "X-Auth-Token: $TOKEN" "$GLANCE/v2/images/$1"; }
img() { image_json "$1" | jq -r "$2"; }
image_gone() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "X-Auth-Token: $TOKEN" "$GLANCE/v2/images/$1")" = 404 ]; }
LOCAL_SHA=$(sha512sum "$RAW" | cut -d' ' -f1)
HEAD_BYTES=$(stat -c %s "$RAW")
VOLUME_BYTES=$((VOLUME_GIB * 1024 * 1024 * 1024))

# The image: created raw and uploaded to central's store only, active.
import_image() {
  # NOTE: the image carries a property of its own, as the harness's do (dcn_verify_run): the lab's Cinder, uploading a
  # volume whose image had none, sends Glance 'properties': {} and Glance refuses it (HTTP 400).
  IMG=$(glance image-create --disk-format raw --container-format bare --visibility private --property "dcn_bench=$TAG" --name "$1" --file "$RAW" --store "$CENTRAL" | awk '$2 == "id" {print $4}')
  [ -n "$IMG" ] || die "glance image-create $1 failed"
  wait_for "image $IMG active" "img $IMG .status" '^active$' 120 '^(killed|deleted)$'
}
# copy-image to a store, all stores must succeed; waited for until nothing is left importing and the store holds it.
copy_image() {
  glance image-import "$1" --stores "$2" --import-method copy-image --allow-failure False >/dev/null || die "copy-image of $1 to $2 refused"
  wait_for "copy of $1 to $2" "img $1 '[(.os_glance_importing_to_stores // \"\"), (.stores // \"\"), (.os_glance_failed_import // \"\")] | join(\"|\")'" \
    "^\|([^|]*,)?$2(,[^|]*)?\|" 180 "\|([^|]*,)?$2(,[^|]*)?$"
}
fsid() { ceph --cluster "$1" fsid --format json | jq -r .fsid; }
# The image's location in the site's store names the site's cluster.
location_on() {
  local url
  url=$(img "$1" ".locations[] | select(.metadata.store == \"$2\") | .url")
  [[ "$url" == rbd://$(fsid "$2")/* ]]
}
snap_protected() {
  rbd --cluster "$1" -p "$IMAGES_POOL" ls -l >/dev/null &&
    rbd --cluster "$1" snap ls --format json "$IMAGES_POOL/$2" | jq -e '.[] | select(.name == "snap" and ((.protected | tostring) == "true"))' >/dev/null
}
# The first HEAD_BYTES of an rbd image hash as the file does; whole: the rest read too.
head_is_ours() {
  local sum
  if [ "${3:-}" = whole ]; then sum=$(rbd --cluster "$1" export --no-progress "$2" - | sha512sum | cut -d' ' -f1)
  else sum=$({ rbd --cluster "$1" export --no-progress "$2" - 2>/dev/null || true; } | head -c "$HEAD_BYTES" | sha512sum | cut -d' ' -f1); fi
  [ "$sum" = "$LOCAL_SHA" ]
}
# VOLUME_BYTES long, the file's bytes then zeros: read whole unless rbd shows no parent and no data after the head.
volume_data_is_ours() {
  local info after
  info=$(rbd --cluster "$1" info --format json "$2") || return 1
  [ "$(jq -r .size <<<"$info")" = "$VOLUME_BYTES" ] || return 1
  after=$(rbd --cluster "$1" diff --format json "$2" | jq "[.[] | select((.exists | tostring) == \"true\" and .offset + .length > $HEAD_BYTES)] | length")
  if [ "$(jq -r '.parent // empty' <<<"$info")" = "" ] && [ "$after" = 0 ]; then head_is_ours "$1" "$2"
  else cmp -s -n "$VOLUME_BYTES" <(rbd --cluster "$1" export --no-progress "$2" -) <(cat "$RAW" /dev/zero); fi
}
rbd_entry() { rbd --cluster "$1" -p "$VOLUMES_POOL" ls -l >/dev/null && rbd --cluster "$1" -p "$VOLUMES_POOL" ls -l --format json | jq -r "$2"; }
volume_status() { openstack volume show "$1" -f value -c status 2>&1; }
snapshot_status() { openstack volume snapshot show "$1" -f value -c status 2>&1; }
server_status() { openstack server show "$1" -f value -c status 2>&1; }

# What is left to delete, newest last: "<kind> <id>".
LIVE=()
keep() { LIVE+=("$1 $2"); }
delete_one() {
  case $1 in
    server) openstack server delete --wait "$2" ;;
    image) glance image-delete "$2" && wait_for "image $2 deleted" "image_gone $2 && echo gone" '^gone$' 120 ;;
    snapshot)
      openstack volume snapshot delete "$2" &&
        wait_for "snapshot $2 deleted" "snapshot_status $2" 'No snapshot|could not be found' 120 'error_deleting'
      ;;
    volume)
      wait_for "volume $2 detached" "volume_status $2" '^(available|error)$|No volume|could not be found' 120 &&
        openstack volume delete "$2" &&
        wait_for "volume $2 deleted" "volume_status $2" 'No volume|could not be found' 120 'error_deleting'
      ;;
  esac
}
# Deletes what was kept from the given index on, newest first.
cleanup() {
  local i from=${1:-0}
  for ((i = ${#LIVE[@]} - 1; i >= from; i--)); do
    # shellcheck disable=SC2086
    set -- ${LIVE[i]}
    (delete_one "$1" "$2") >/dev/null || check "$1 $2 deleted" false
    unset 'LIVE[i]'
  done
}
trap 'cleanup 0' EXIT

T0=$SECONDS
# 1. the stores
STORES=$(curl -sf -H "X-Auth-Token: $TOKEN" "$GLANCE/v2/info/stores") || die "GET /v2/info/stores failed"
default_store() { jq -e ".stores[] | select(.id == \"$1\" and ((.default | tostring) == \"true\"))" <<<"$STORES" >/dev/null; }
listed_store() { jq -e ".stores[] | select(.id == \"$1\")" <<<"$STORES" >/dev/null; }
check "$CENTRAL is the default store" "default_store $CENTRAL"
for e in ${EDGES//,/ }; do check "store $e is listed" "listed_store $e"; done
# 2. a raw image to central only, its hash, location, snapshot and data
import_image "$TAG-central-image"
keep image "$IMG"
check "the image is raw and in $CENTRAL only" "[ \"\$(img $IMG '.disk_format + \" \" + (.stores // \"\")')\" = 'raw $CENTRAL' ]"
check "os_hash_value is the local sha512" "[ \"\$(img $IMG .os_hash_value)\" = $LOCAL_SHA ]"
check "the $CENTRAL location is on $CENTRAL's cluster" "location_on $IMG $CENTRAL"
check "$IMAGES_POOL/$IMG@snap on $CENTRAL is protected" "snap_protected $CENTRAL $IMG"
check "$IMAGES_POOL/$IMG@snap on $CENTRAL holds the image's bytes" "head_is_ours $CENTRAL $IMAGES_POOL/$IMG@snap whole"
echo "TIME central $((SECONDS - T0))"

for EDGE in ${EDGES//,/ }; do
  T0=$SECONDS
  AT=$EDGE
  # 3. the edge's own image, copied to its store
  import_image "$TAG-$EDGE-image"
  keep image "$IMG"
  copy_image "$IMG" "$EDGE"
  check "the $EDGE location is on $EDGE's cluster" "location_on $IMG $EDGE"
  check "$IMAGES_POOL/$IMG@snap on $EDGE is protected" "snap_protected $EDGE $IMG"
  check "$IMAGES_POOL/$IMG@snap on $EDGE holds the image's bytes" "head_is_ours $EDGE $IMAGES_POOL/$IMG@snap whole"
  # 4. a volume from it in the edge's AZ, a server booted from the volume
  VOL=$(openstack volume create --size "$VOLUME_GIB" --availability-zone "$EDGE" --type "$EDGE" --image "$IMG" "$TAG-$EDGE-volume" -f value -c id) ||
    die "volume create failed"
  keep volume "$VOL"
  wait_for "volume $VOL available" "volume_status $VOL" '^available$' 120 '^error'
  check "the volume is in AZ $EDGE" "[ \"\$(openstack volume show $VOL -f value -c availability_zone)\" = $EDGE ]"
  SRV=$(openstack --os-compute-api-version 2.37 server create --flavor "$FLAVOR" --availability-zone "$EDGE" --volume "$VOL" --nic none "$TAG-$EDGE-server" -f value -c id) ||
    die "server create failed"
  keep server "$SRV"
  wait_for "server $SRV ACTIVE" "server_status $SRV" '^ACTIVE$' 120 '^ERROR$'
  read -r SRV_AZ SRV_HOST < <(openstack server show "$SRV" -f json | jq -r '[."OS-EXT-AZ:availability_zone", ."OS-EXT-SRV-ATTR:host"] | join(" ")')
  check "the server runs in AZ $EDGE, on a host of that AZ" \
    "[ '$SRV_AZ' = $EDGE ] && openstack availability zone list --compute --long -f value -c 'Zone Name' -c 'Host Name' | grep -x '$EDGE $SRV_HOST' >/dev/null"
  # 5. the volume is a clone of the image's snapshot, with the image's bytes
  check "volume-$VOL has parent $IMAGES_POOL/$IMG@snap" \
    "[ \"\$(rbd_entry $EDGE '.[] | select(.image == \"volume-$VOL\" and (.snapshot // \"\") == \"\") | \"\(.parent.pool)/\(.parent.image)@\(.parent.snapshot)\"')\" = $IMAGES_POOL/$IMG@snap ]"
  check "the root volume holds the image's bytes" "head_is_ours $EDGE $VOLUMES_POOL/volume-$VOL"
  # 6. a forced snapshot of the root volume, the server stopped, then started
  openstack server stop "$SRV" >/dev/null || die "server stop failed"
  wait_for "server $SRV SHUTOFF" "server_status $SRV" '^SHUTOFF$' 90 '^ERROR$'
  SNAP=$(openstack volume snapshot create --volume "$VOL" --force "$TAG-$EDGE-snapshot" -f value -c id) || die "snapshot create failed"
  keep snapshot "$SNAP"
  wait_for "snapshot $SNAP available" "snapshot_status $SNAP" '^available$' 120 '^error'
  openstack server start "$SRV" >/dev/null || die "server start failed"
  wait_for "server $SRV ACTIVE" "server_status $SRV" '^ACTIVE$' 120 '^ERROR$'
  check "volume-$VOL@snapshot-$SNAP has the same parent and is protected" \
    "[ \"\$(rbd_entry $EDGE '.[] | select(.image == \"volume-$VOL\" and .snapshot == \"snapshot-$SNAP\") | \"\(.parent.pool)/\(.parent.image)@\(.parent.snapshot) \(.protected)\"')\" = '$IMAGES_POOL/$IMG@snap true' ]"
  # 7. an image of the server; the snapshot's data uploaded to an image at the edge and copied back to central
  SIMG=$(openstack server image create --name "$TAG-$EDGE-server-snapshot" "$SRV" -f value -c id) || die "server image create failed"
  keep image "$SIMG"
  wait_for "server image $SIMG active" "img $SIMG .status" '^active$' 120 '^(killed|deleted)$'
  for s in $(img "$SIMG" '.block_device_mapping // "[]" | fromjson | .[].snapshot_id // empty'); do keep snapshot "$s"; done
  if [ "$(img "$SIMG" '((.size // 0) > 0 and ((.stores // "") != ""))')" = true ]; then
    copy_image "$SIMG" "$CENTRAL"
  elif OUT=$(glance image-import "$SIMG" --stores "$CENTRAL" --import-method copy-image --allow-failure False 2>&1); then
    echo "OUTCOME [$AT] the server image carries no data; Glance accepted copy-image of it to $CENTRAL"
  else
    echo "OUTCOME [$AT] the server image carries no data; Glance refused copy-image of it: $(tail -1 <<<"$OUT")"
  fi
  VOL2=$(openstack volume create --size "$VOLUME_GIB" --availability-zone "$EDGE" --type "$EDGE" --snapshot "$SNAP" "$TAG-$EDGE-upload-source" -f value -c id) ||
    die "volume create from the snapshot failed"
  keep volume "$VOL2"
  wait_for "volume $VOL2 available" "volume_status $VOL2" '^available$' 120 '^error'
  check "the volume from the snapshot holds the image's bytes" "head_is_ours $EDGE $VOLUMES_POOL/volume-$VOL2"
  UP=$(openstack image create --volume "$VOL2" --disk-format raw --container-format bare "$TAG-$EDGE-volume-upload" -f value -c image_id) ||
    die "openstack image create --volume (Cinder's upload-to-image) failed"
  [ -n "$UP" ] || die "Cinder's upload-to-image returned no image id"
  keep image "$UP"
  wait_for "uploaded image $UP active" "img $UP .status" '^active$' 300 '^(killed|deleted)$'
  wait_for "volume $VOL2 available" "volume_status $VOL2" '^available$' 300 '^error'
  check "the uploaded image is in store $EDGE only" "[ \"\$(img $UP '.stores // \"\"')\" = $EDGE ]"
  check "the uploaded image holds the image's bytes at $EDGE" "head_is_ours $EDGE $IMAGES_POOL/$UP@snap"
  copy_image "$UP" "$CENTRAL"
  check "the $CENTRAL location of the uploaded image is on $CENTRAL's cluster" "location_on $UP $CENTRAL"
  check "the $CENTRAL copy holds the image's bytes, then zeros to $VOLUME_GIB GiB" "volume_data_is_ours $CENTRAL $IMAGES_POOL/$UP@snap"
  cleanup 1
  echo "TIME edge $EDGE $((SECONDS - T0))"
done

T0=$SECONDS
AT=$CENTRAL
cleanup 0
echo "TIME cleanup $CENTRAL $((SECONDS - T0))"
echo "CHECKS $CHECKS FAILED $FAILED"
[ $FAILED -eq 0 ]
