#!/usr/bin/env bash
# One benchmark host running btfs (libtorrent + FUSE, the generic lazy-mount peer) for the lazy scenario: mount
# the torrent, replay the boot trace through the mount at once, keep seeding until the driver kills us.
# btfs leaves readers hanging forever when no peer delivers (DESIGN.md); so on exit this aborts the FUSE
# connection through fusectl, which frees any stuck reader, before killing btfs.
#
# bench/btfs-host.sh REPLAY HOSTDIR TORRENT NAME TRACE REFERENCE DONE_FILE
#   TORRENT must name its tracker (btfs has no --tracker flag); the driver writes such a copy.
set -uo pipefail
replay="$1" dir="$2" torrent="$3" name="$4" trace="$5" ref="$6" done="$7"
mkdir -p "$dir/mnt" "$dir/data"
# `ip netns exec` gave us a fresh /sys without fusectl; mount it here (private mount namespace).
mountpoint -q /sys/fs/fuse/connections || mount -t fusectl none /sys/fs/fuse/connections 2>/dev/null
btfs -f --data-directory="$dir/data" "$torrent" "$dir/mnt" &
btfs_pid=$!
cleanup() {
  local conn
  if mountpoint -q "$dir/mnt"; then
    conn="$(stat -c %d "$dir/mnt" 2>/dev/null)"
    [ -n "$conn" ] && [ -e "/sys/fs/fuse/connections/$conn/abort" ] && echo 1 > "/sys/fs/fuse/connections/$conn/abort"
    fusermount -u -z "$dir/mnt" 2>/dev/null || umount -l "$dir/mnt" 2>/dev/null
  fi
  kill "$btfs_pid" 2>/dev/null
  exit 0
}
trap cleanup TERM INT
# btfs shows the torrent's file at the mount's top level once the mount is up.
for _ in $(seq 1 300); do mountpoint -q "$dir/mnt" && break; sleep 0.05; done
"$replay" --trace "$trace" --file "$dir/mnt/$name" --reference "$ref" --done-file "$done" --timeout 300 &
wait $!
wait "$btfs_pid"
