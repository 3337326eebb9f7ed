#!/usr/bin/env bash
# The virtual rack in boot mode hypervisor (scripts/virtual-rack.sh --mode hypervisor execs this).
# Nesting QEMU inside virtual-rack's TCG machines would take minutes per guest, so here each machine of the rack
# is a hypervisor HOST modelled as a network namespace on the same fabric bridge: it runs `swarmboot-agent vm`
# against the real swarmbootd (tracker, origin seeder, web seed, events API), and the guest QEMU (TCG) boots the
# sample disk image from the FUSE-backed file through a local qcow2 overlay before the image has arrived.
#
#   fabric namespace: bridge br0, one shaped veth per host namespace and one for the server
#   server namespace: eth0 10.99.0.1/16; swarmbootd with --dhcp-mode off (nothing PXE-boots)
#   host namespaces:  eth0 10.99.2.N/16; swarmboot-agent vm (and its QEMU child)
#
# Everything it makes (namespaces, agents, QEMUs, FUSE mounts, the work folder unless --keep) is removed on
# exit, Ctrl-C included.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMBOOT_BUILD_DIR:-$root/build}
hosts=3
image=sample
interactive=1
timeout_s=600
rate_mbit=0
api_port=8080
memory_mib=512
keep=0
work=""
piece_size=65536

usage() {
  cat <<EOF
usage: $0 [options]      (virtual-rack.sh --mode hypervisor runs this)
  --hosts N              hypervisor hosts in the rack (default 3), each a network namespace running
                         'swarmboot-agent vm': its guest boots from the image while it streams in
  --image sample|FILE    the guest's disk (default sample: the busybox disk image with 64 MiB of disk,
                         built on the spot); FILE must be a bootable raw disk image
  --rate-mbit R          shape every link to R Mbit/s (default: unshaped)
  --piece-size BYTES     torrent piece size (default 65536)
  --timeout S            give up after S seconds (default 600)
  --api-port P           forward the server's API/dashboard to 127.0.0.1:P (default 8080)
  --memory-mib M         guest memory (default 512)
  --non-interactive      no live view; exit 0 when every host reached its goal, else non-zero
  --work-dir DIR         keep logs and state there (default: a temporary folder, removed on exit)
  --keep                 keep the work folder
A host reaches its goal when the server shows it 'running' and its guest's console shows
"swarmboot sample image: up from local disk"; the summary gives the share of the image the host had then.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --mode) [ "$2" = hypervisor ] || { echo "hypervisor-rack: --mode must be hypervisor (other modes: virtual-rack.sh)" >&2; exit 2; }; shift 2 ;;
    --uefi) shift 2 ;;  # virtual-rack's option; the guests here boot with QEMU's default BIOS
    --rate-mbit) rate_mbit=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --api-port) api_port=$2; shift 2 ;;
    --memory-mib) memory_mib=$2; shift 2 ;;
    --piece-size) piece_size=$2; shift 2 ;;
    --non-interactive) interactive=0; shift ;;
    --work-dir) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "hypervisor-rack: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "hypervisor-rack: $*" >&2; exit 1; }
log() { echo "hypervisor-rack: $*" >&2; }

[[ "$hosts" =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le 64 ] || die "--hosts must be 1..64"
[[ "$timeout_s" =~ ^[0-9]+$ ]] || die "--timeout must be a number of seconds"
[ "$image" = debian ] && die "--mode hypervisor needs a bootable disk image: the debian image is a squashfs for diskless boots, not a disk (use --image sample, or a raw disk image FILE)"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, FUSE mounts)"
[ -c /dev/fuse ] || die "needs /dev/fuse"
command -v qemu-system-x86_64 >/dev/null || die "needs qemu-system-x86_64 (run scripts/deps.sh)"
command -v qemu-img >/dev/null || die "needs qemu-img (run scripts/deps.sh)"
command -v nsenter >/dev/null || die "needs nsenter (util-linux)"

swarmbootd=$build/server/swarmbootd
cli=$build/server/swarmboot
agent=$build/fuse-agent/swarmboot-agent
for f in "$swarmbootd" "$cli" "$agent"; do
  [ -e "$f" ] || die "missing $f: build first (scripts/build.sh)"
done

if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/swarmboot-hvrack.XXXXXX)
else
  mkdir -p "$work"
  keep=1
fi
data=$work/data
mkdir -p "$data" "$work/logs"

tag="sbhv$$"
fabric="$tag-fabric"
server_ns="$tag-server"
server_ip=10.99.0.1
server_url="http://$server_ip:8080"
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SWARMBOOT_API_TOKEN=$token
pids=()
declare -A agent_pid
host_ns=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  # Agents first, with SIGTERM: each forwards it to its QEMU, then unmounts and saves resume data.
  for i in "${!agent_pid[@]}"; do kill -TERM "${agent_pid[$i]}" 2>/dev/null || true; done
  for _ in $(seq 1 70); do  # at most 35 s (the agent SIGKILLs its QEMU 30 s after SIGTERM)
    local alive=0
    for i in "${!agent_pid[@]}"; do kill -0 "${agent_pid[$i]}" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.5
  done
  for i in "${!agent_pid[@]}"; do
    pkill -KILL -P "${agent_pid[$i]}" 2>/dev/null || true  # its QEMU, if the agent did not get to it
    kill -KILL "${agent_pid[$i]}" 2>/dev/null || true
    wait "${agent_pid[$i]}" 2>/dev/null || true
    # An agent that was killed leaves its mount behind: lazy-unmount it.
    mountpoint -q "$work/host$i/mnt" 2>/dev/null && { fusermount3 -uz "$work/host$i/mnt" 2>/dev/null || umount -l "$work/host$i/mnt" 2>/dev/null || true; }
  done
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for ns in "${host_ns[@]}" "$fabric" "$server_ns"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  for ns in "${host_ns[@]}" "$server_ns" "$fabric"; do ip netns del "$ns" 2>/dev/null || true; done
  if [ "$keep" -eq 1 ]; then
    log "logs and state kept in $work"
  else
    rm -rf "$work"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

in_server() { ip netns exec "$server_ns" "$@"; }

# --- the image ---------------------------------------------------------------------------------------------
images_cache=$build/demo-images
mkdir -p "$images_cache"
case "$image" in
  sample)
    # A VM disk with free space: the guest boots reading a small share of it.
    image_file=$images_cache/sample-vmdisk.img
    [ -f "$image_file" ] || "$cli" image build --sample --disk --disk-size 64M --out "$image_file" >&2
    image_name=sample-vmdisk ;;
  *)
    [ -f "$image" ] || die "no image file '$image'"
    image_file=$(readlink -f "$image")
    # A raw bootable disk ends its first sector with the 55 AA boot signature; a squashfs or qcow2 does not.
    [ "$(od -An -tx1 -j510 -N2 "$image_file" | tr -d ' \n')" = 55aa ] ||
      die "'$image' is not a bootable raw disk image (no boot signature in its first sector); --mode hypervisor boots the image as the guest's disk"
    image_name=$(basename "$image_file" | tr 'A-Z' 'a-z' | sed 's/\.[^.]*$//; s/[^a-z0-9._-]/-/g') ;;
esac
"$cli" image add "$image_file" --name "$image_name" --registry "$data/images" --piece-size "$piece_size" >&2

# --- the network -------------------------------------------------------------------------------------------
ip netns add "$fabric"
ip netns add "$server_ns"
ip -n "$fabric" link set lo up
ip -n "$fabric" link add br0 type bridge stp_state 0 forward_delay 0
ip -n "$fabric" link set br0 up
shape() {  # namespace device
  [ "$rate_mbit" = 0 ] && return 0
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "${rate_mbit}mbit" burst 64kb latency 200ms
}
attach() {  # namespace fabric-side-name address: a shaped veth from the namespace into br0
  ip -n "$1" link set lo up
  ip -n "$1" link add eth0 type veth peer name "$2" netns "$fabric"
  ip -n "$1" addr add "$3/16" dev eth0
  ip -n "$1" link set eth0 up
  ip -n "$fabric" link set "$2" master br0
  ip -n "$fabric" link set "$2" up
  shape "$1" eth0
  shape "$fabric" "$2"
}
attach "$server_ns" vserver "$server_ip"

# --- the appliance -----------------------------------------------------------------------------------------
in_server "$swarmbootd" --data-dir "$data" --listen "$server_ip:8080" --dhcp-mode off \
  --default-image "$image_name" --default-mode hypervisor >"$work/logs/swarmbootd.log" 2>&1 &
pids+=($!)
server_pid=$!
api() { in_server curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$@"; }
for _ in $(seq 1 100); do
  api "$server_url/api/v1/hosts" >/dev/null 2>&1 && break
  kill -0 "$server_pid" 2>/dev/null || { tail -20 "$work/logs/swarmbootd.log" >&2; die "swarmbootd exited"; }
  sleep 0.2
done
api "$server_url/api/v1/hosts" >/dev/null || die "swarmbootd did not answer on $server_url"

macs=()
for i in $(seq 1 "$hosts"); do
  mac=$(printf '52:54:00:99:%02x:%02x' $((i / 256)) $((i % 256)))
  macs+=("$mac")
  SWARMBOOT_SERVER=$server_url in_server "$cli" host set "$mac" --image "$image_name" --mode hypervisor \
    --hostname "rack-$i" --label rack=demo >/dev/null
done

if [ "$interactive" -eq 1 ] && command -v socat >/dev/null; then
  in_server socat "UNIX-LISTEN:$work/api.sock,fork" "TCP:$server_ip:8080" 2>/dev/null &
  pids+=($!)
  socat "TCP-LISTEN:$api_port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$work/api.sock" 2>/dev/null &
  pids+=($!)
fi

# --- the hypervisor hosts ----------------------------------------------------------------------------------
printf '%s\n' "$token" >"$work/token"
chmod 0600 "$work/token"
start=$(date +%s)
for i in $(seq 1 "$hosts"); do
  ns="$tag-h$i"
  ip netns add "$ns"
  host_ns+=("$ns")
  attach "$ns" "vhost$i" "10.99.2.$i"
  h=$work/host$i
  mkdir -p "$h/cache" "$h/mnt"
  in_server curl -fsS --max-time 10 -o "$h/image.torrent" "$server_url/torrents/$image_name.torrent" ||
    die "could not fetch $server_url/torrents/$image_name.torrent"
  # `ip netns exec` would give the agent a private mount namespace, so its FUSE mount would be invisible
  # here (and to QEMU's overlay creation it does not matter, but to cleanup it does): nsenter joins only the
  # host's network namespace and keeps ours.
  nsenter --net="/var/run/netns/$ns" -- "$agent" vm --torrent "$h/image.torrent" --cache "$h/cache" \
    --mountpoint "$h/mnt" --tracker "$server_url/announce" --webseed "$server_url/images/$image_name" \
    --report "$server_url/api/v1/hosts/${macs[$((i - 1))]}/events" --token-file "$work/token" \
    --status-file "$h/status.json" --overlay "$h/guest.qcow2" --serial "$work/logs/host$i.serial" \
    --memory "$memory_mib" --qemu-arg -accel --qemu-arg tcg --qemu-arg -nographic \
    >"$work/logs/host$i.agent" 2>&1 &
  agent_pid[$i]=$!
done

goal=running
local_marker="swarmboot sample image: up from local disk"

# --- watching ----------------------------------------------------------------------------------------------
declare -A reached_at present_at_up up_at
status_progress() {  # index: the agent's progress (0..1) from its status file, "" if none yet
  jq -r '.progress // empty' "$work/host$1/status.json" 2>/dev/null || true
}
pct() { [ -n "$1" ] && awk -v p="$1" 'BEGIN { printf "%d%%", p * 100 }' || echo -; }
render() {  # hosts-json
  {
    printf 'MAC\tHOSTNAME\tSTATE\tIMAGE %%\tAT GUEST UP %%\tMESSAGE\n'
    for i in $(seq 1 "$hosts"); do
      m=${macs[$((i - 1))]}
      jq -r --arg m "$m" --arg now "$(pct "$(status_progress "$i")")" --arg up "$(pct "${present_at_up[$m]:-}")" '
        .[] | select(.mac == $m) | [.mac, (.hostname // "-"), .state, $now, $up,
          ((.reason // .message // "") | .[0:40])] | @tsv' <<<"$1"
    done
  } | column -t -s $'\t'
}
deadline=$((start + timeout_s))
reached=0
while :; do
  now=$(date +%s)
  hosts_json=$(api "$server_url/api/v1/hosts" 2>/dev/null || echo '[]')
  for i in $(seq 1 "$hosts"); do
    m=${macs[$((i - 1))]}
    # The progress is read the moment the line is first seen, as tests/agent/agent_vm_test.cpp does.
    if [ -z "${up_at[$m]:-}" ] && grep -q "$local_marker" "$work/logs/host$i.serial" 2>/dev/null; then
      present_at_up[$m]=$(status_progress "$i")
      up_at[$m]=$((now - start))
    fi
  done
  if [ "$interactive" -eq 1 ]; then
    printf '\033[H\033[2J'
    echo "swarmboot hypervisor rack — $hosts hosts, image $image_name, mode hypervisor, $((now - start)) s"
    echo "API and dashboard: http://127.0.0.1:$api_port/   (token: $token)   Ctrl-C tears everything down"
    echo
    render "$hosts_json"
    echo
    echo "a host counts once the server shows it '$goal' and its guest's console says \"$local_marker\""
  fi
  reached=0
  for i in $(seq 1 "$hosts"); do
    m=${macs[$((i - 1))]}
    state=$(jq -r --arg m "$m" '.[] | select(.mac == $m) | .state' <<<"$hosts_json")
    if [ "$state" = "$goal" ] && [ -n "${up_at[$m]:-}" ]; then
      reached=$((reached + 1))
      [ -n "${reached_at[$m]:-}" ] || reached_at[$m]=$((now - start))
    fi
  done
  failed=$(jq '[.[] | select(.state == "failed")] | length' <<<"$hosts_json")
  dead=0
  for i in $(seq 1 "$hosts"); do kill -0 "${agent_pid[$i]}" 2>/dev/null || dead=$((dead + 1)); done
  if [ "$reached" -ge "$hosts" ]; then
    [ "$interactive" -eq 0 ] && break
    echo; echo "all $hosts hosts reached '$goal' with their guests up — the rack stays up for you to look at; Ctrl-C tears it down"
    sleep 2
    continue
  fi
  if { [ "$failed" -gt 0 ] || [ "$dead" -gt 0 ]; } && [ "$interactive" -eq 0 ]; then break; fi
  if [ "$now" -ge "$deadline" ]; then break; fi
  sleep 1
done

# --- summary -----------------------------------------------------------------------------------------------
hosts_json=$(api "$server_url/api/v1/hosts" || echo '[]')
metrics=$(in_server curl -fsS --max-time 5 "$server_url/metrics" || true)
image_bytes=$(stat -c %s "$image_file")
echo
echo "summary: $reached/$hosts hosts reached '$goal' with the guest up in $(( $(date +%s) - start )) s"
reasons=()
for i in $(seq 1 "$hosts"); do
  m=${macs[$((i - 1))]}
  jq -r --arg mac "$m" --arg secs "${reached_at[$m]:--}" --arg up "$(pct "${present_at_up[$m]:-}")" \
    --arg now "$(pct "$(status_progress "$i")")" '.[] | select(.mac == $mac) |
    "host \(.mac) \(.hostname // "-"): state=\(.state) seconds_to_goal=\($secs) present_at_guest_up=\($up) present_now=\($now)\(if (.reason // "") != "" then " reason=" + .reason else "" end)"' <<<"$hosts_json"
  if [ -z "${reached_at[$m]:-}" ]; then
    state=$(jq -r --arg m "$m" '.[] | select(.mac == $m) | .state' <<<"$hosts_json")
    if ! kill -0 "${agent_pid[$i]}" 2>/dev/null; then reasons+=("host $i ($m): its agent exited (see host$i.agent below)")
    elif [ "$state" != "$goal" ]; then reasons+=("host $i ($m): state $state on the server, not $goal")
    else reasons+=("host $i ($m): no \"$local_marker\" on its guest's console"); fi
  fi
done
sent=$(awk '/^swarmboot_image_bytes_sent_total/ {s += $NF} END {printf "%d", s}' <<<"$metrics")
echo "server sent $sent image bytes (web seed + BitTorrent) for $hosts hosts; the image is $image_bytes bytes"
grep '^swarmboot_image_bytes_sent_total' <<<"$metrics" | sed 's/^/  /' || true
echo "server_image_bytes_sent=$sent image_bytes=$image_bytes hosts=$hosts"
if [ "$reached" -lt "$hosts" ]; then
  [ "$(date +%s)" -ge "$deadline" ] && echo "gave up after the --timeout of $timeout_s s"
  for r in "${reasons[@]}"; do echo "not at goal: $r"; done
  for i in $(seq 1 "$hosts"); do
    echo "--- host$i agent, last lines:"
    tail -n 15 "$work/logs/host$i.agent" 2>/dev/null || true
    echo "--- host$i guest console, last lines:"
    tail -n 10 "$work/logs/host$i.serial" 2>/dev/null | tr -d '\r' || true
  done
  echo "--- swarmbootd log, last lines:"
  tail -n 30 "$work/logs/swarmbootd.log"
  exit 1
fi
exit 0
