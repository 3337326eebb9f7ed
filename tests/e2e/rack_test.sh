#!/usr/bin/env bash
# End-to-end: a virtual rack (scripts/virtual-rack.sh) PXE-boots through the real swarmbootd, dnsmasq, iPXE,
# initramfs and agent, and every host must reach its goal state. Then the server's own metrics must show it
# sent well under one image per host: the swarm, not the server, carried the image.
# usage: rack_test.sh BUILD_DIR [virtual-rack options…]
set -euo pipefail
build=$1
shift
root=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "SKIP: needs root (network namespaces, taps)"; exit 77; }
[ -c /dev/net/tun ] || { echo "SKIP: needs /dev/net/tun"; exit 77; }
[ -c /dev/fuse ] || { echo "SKIP: needs /dev/fuse"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || { echo "SKIP: needs qemu-system-x86_64"; exit 77; }

out=$(mktemp)
trap 'rm -f "$out"' EXIT
set +e
SWARMBOOT_BUILD_DIR=$build "$root/scripts/virtual-rack.sh" --non-interactive "$@" 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" -eq 0 ] || { echo "FAIL: the rack did not come up (exit $rc)"; exit 1; }

line=$(grep '^server_image_bytes_sent=' "$out") || { echo "FAIL: no byte summary"; exit 1; }
eval "$line"  # server_image_bytes_sent image_bytes hosts
# "Well under N images": at most 70% of what a central HTTP server would send (N × image). The target for
# real racks is ≤ 1.5 images whatever N (bench/ measures it); a 1 MB sample booted by 3 hosts in a minute
# leaves the swarm little room, so this checks only that the swarm, not the server, carried a real share.
limit=$(( image_bytes * hosts * 7 / 10 ))
echo "server sent $server_image_bytes_sent image bytes for $hosts hosts (limit $limit, image $image_bytes)"
[ "$server_image_bytes_sent" -le "$limit" ] || { echo "FAIL: the server sent too much"; exit 1; }
grep -c '^host .* state=' "$out" | grep -qx "$hosts" || { echo "FAIL: expected $hosts host summary lines"; exit 1; }
# Hypervisor mode (scripts/hypervisor-rack.sh): every guest must have come up before half of its image arrived.
if [[ " $* " == *" --mode hypervisor "* ]]; then
  for f in $(grep -o 'present_at_guest_up=[0-9-]*' "$out" | cut -d= -f2); do
    [[ "$f" =~ ^[0-9]+$ ]] && [ "$f" -lt 50 ] || { echo "FAIL: a guest came up with present_at_guest_up=$f% (want < 50%)"; exit 1; }
  done
fi
echo "PASS"
