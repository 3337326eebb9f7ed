#!/usr/bin/env bash
# One benchmark host running swarmboot-agent. The agent's FUSE mount exists only in the mount namespace that
# `ip netns exec` made for this process tree, so everything that reads the mount happens here, in the same
# invocation: the driver (swarmboot-bench) only sees the files this script writes.
#
# bench/agent-host.sh AGENT REPLAY SCENARIO HOSTDIR TORRENT SERVER_URL NAME TRACE REFERENCE DONE_FILE [PROFILE]
#   PROFILE          a boot profile the agent fetches first (--boot-profile); empty or absent: none.
#   full, churn      DONE_FILE gets the UNIX time at which the agent's status first showed every piece; once
#                    the driver ended the timed part (HOSTDIR/../verify-now exists), HOSTDIR/mount.sha256 gets
#                    the SHA-256 of the image read back through the mount.
#   lazy             the boot trace is replayed through the mount as soon as it appears (the agent fetches
#                    what the reads need first); the replay writes DONE_FILE ("time ok|mismatch").
#   full-then-read   waits until every piece is present, then replays the trace through the mount.
#   record           as lazy, with the agent recording its reads as a boot profile to HOSTDIR/boot.profile.
# The agent keeps seeding until the driver kills this process group.
set -uo pipefail
agent="$1" replay="$2" scenario="$3" dir="$4" torrent="$5" server="$6" name="$7" trace="$8" ref="$9" done="${10}"
profile="${11:-}"
mkdir -p "$dir/cache" "$dir/mnt"
status="$dir/status.json"
rm -f "$status"
extra=()
[ -n "$profile" ] && extra+=(--boot-profile "$profile")
[ "$scenario" = record ] && extra+=(--record-reads "$dir/boot.profile")

"$agent" mount --torrent "$torrent" --cache "$dir/cache" --mountpoint "$dir/mnt" \
  --tracker "$server/announce" --webseed "$server/images/$name" --status-file "$status" --foreground \
  "${extra[@]}" ${BENCH_AGENT_ARGS:-} &
agent_pid=$!
trap 'kill $agent_pid 2>/dev/null; fusermount3 -u "$dir/mnt" 2>/dev/null; exit 0' TERM INT

mark() {  # writes the done file atomically: "UNIX_TIME[ verdict]"
  echo "$(date +%s.%N)${1:+ $1}" > "$done.tmp" && mv "$done.tmp" "$done"
}
# The status file is rewritten about once a second; poll it often, without forking (N hosts poll at once and
# the CPU belongs to the swarm): bash's `read` reads it, a regex picks the counters, and `read -t` on a pipe
# that never delivers is the sleep. Half a second: the recorded time comes from the agent's log, not from this
# poll, and polling every 0.1 s cost 8% of both cores at N = 32 (perf, 2026-11-27).
exec {nap}<> <(:)
wait_complete() {
  local s
  while kill -0 "$agent_pid" 2>/dev/null; do
    s=""
    [ -s "$status" ] && IFS= read -r s < "$status"
    if [[ $s =~ \"pieces_have\":([0-9]+) ]]; then
      local have=${BASH_REMATCH[1]}
      if [[ $s =~ \"pieces_total\":([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -gt 0 ] && [ "$have" -eq "${BASH_REMATCH[1]}" ]; then
        return 0
      fi
    fi
    read -r -t 0.5 -u "$nap" _ || true
  done
  return 1
}

case "$scenario" in
  full|churn)
    if wait_complete; then
      mark
      # Hashing 32 hosts' copies through their mounts while the last hosts still download would slow them
      # down: wait until the driver stopped the clock (the other systems are hashed after the run too).
      until [ -e "$dir/../verify-now" ] || ! kill -0 "$agent_pid" 2>/dev/null; do read -r -t 0.5 -u "$nap" _ || true; done
      sha256sum "$dir/mnt/$name" | cut -c1-64 > "$dir/mount.sha256.tmp" && mv "$dir/mount.sha256.tmp" "$dir/mount.sha256"
    fi
    ;;
  lazy|record)
    "$replay" --trace "$trace" --file "$dir/mnt/$name" --reference "$ref" --done-file "$done" --timeout 600
    ;;
  full-then-read)
    if wait_complete; then
      # The driver subtracts the status file's delay (this time minus the agent's "image complete" log time).
      echo "$EPOCHREALTIME" > "$dir/complete-seen"
      "$replay" --trace "$trace" --file "$dir/mnt/$name" --reference "$ref" --done-file "$done" --timeout 600
    fi
    ;;
esac
wait "$agent_pid"
