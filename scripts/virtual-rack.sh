#!/usr/bin/env bash
# A virtual rack: QEMU machines that PXE-boot from swarmbootd on an isolated bridge inside network namespaces.
# It is the demo (README's first command) and, with --non-interactive, the end-to-end test's driver.
#
#   fabric namespace: bridge br0, one tap per machine (QEMU runs here, TCG)
#   server namespace: eth0 10.99.0.1/16 into br0; swarmbootd with dnsmasq (full DHCP) on it
#
# Everything it makes (namespaces, processes, the work folder unless --keep) is removed on exit, Ctrl-C included.
set -euo pipefail
orig_args=("$@")

root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMBOOT_BUILD_DIR:-$root/build}
hosts=3
image=sample
mode=diskless
uefi=""
interactive=1
timeout_s=600
rate_mbit=0
api_port=8080
memory_mib=1024
keep=0
work=""
piece_size=65536
reimage=0
power_cut_at=""
small_disk=0

usage() {
  cat <<EOF
usage: $0 [options]
  --hosts N              machines in the rack (default 3)
  --image sample|debian|FILE
                         what they boot (default sample: a busybox image built on the spot)
  --mode diskless|install|hypervisor
                         boot mode (default diskless). install: each machine gets a blank virtual disk,
                         writes the image to it, reboots and must come up from that disk (the server's
                         script answers `exit`); the disks are then compared with the image
  --uefi K               how many of the machines use UEFI firmware (OVMF); the rest BIOS (default 1;
                         0 in install mode, whose sample disk boots with BIOS)
  --rate-mbit R          shape every link to R Mbit/s (default: unshaped)
  --piece-size BYTES     torrent piece size (default 65536: a boot reads ~10% of an image at random, and
                         small pieces fetch least; see DESIGN.md)
  --timeout S            give up after S seconds (default 600)
  --api-port P           forward the server's API/dashboard to 127.0.0.1:P (default 8080)
  --non-interactive      no live view; exit 0 when every host reached its goal state, else non-zero
  --work-dir DIR         keep logs and state there (default: a temporary folder, removed on exit)
  --keep                 keep the work folder
 install-mode checks (the end-to-end test uses them):
  --reimage              after every host came up from its disk, `swarmboot reimage --label rack=demo`,
                         power-cycle the rack and require a second install round
  --power-cut-at PCT     switch machine 1 off once it has PCT% of the image, switch it on again: the install
                         must resume from what its disk holds and complete
  --small-disk           one extra machine whose disk is smaller than the image: it must fail with a clear
                         reason and nothing written
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --hosts) hosts=$2; shift 2 ;;
    --image) image=$2; shift 2 ;;
    --mode) mode=$2; shift 2 ;;
    --uefi) uefi=$2; shift 2 ;;
    --rate-mbit) rate_mbit=$2; shift 2 ;;
    --timeout) timeout_s=$2; shift 2 ;;
    --api-port) api_port=$2; shift 2 ;;
    --memory-mib) memory_mib=$2; shift 2 ;;
    --piece-size) piece_size=$2; shift 2 ;;
    --non-interactive) interactive=0; shift ;;
    --work-dir) work=$2; shift 2 ;;
    --keep) keep=1; shift ;;
    --reimage) reimage=1; shift ;;
    --power-cut-at) power_cut_at=$2; shift 2 ;;
    --small-disk) small_disk=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "virtual-rack: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
done

die() { echo "virtual-rack: $*" >&2; exit 1; }
log() { echo "virtual-rack: $*" >&2; }

[[ "$hosts" =~ ^[0-9]+$ ]] && [ "$hosts" -ge 1 ] && [ "$hosts" -le 64 ] || die "--hosts must be 1..64"
case "$mode" in diskless|install|hypervisor) ;; *) die "--mode must be diskless, install or hypervisor" ;; esac
if [ -z "$uefi" ]; then uefi=1; [ "$mode" = install ] && uefi=0; fi
[[ "$uefi" =~ ^[0-9]+$ ]] || die "--uefi must be a number"
[ "$mode" = hypervisor ] && exec "$root/scripts/hypervisor-rack.sh" "${orig_args[@]}"
if [ "$mode" != install ] && { [ "$reimage" = 1 ] || [ -n "$power_cut_at" ] || [ "$small_disk" = 1 ]; }; then
  die "--reimage, --power-cut-at and --small-disk need --mode install"
fi
[ -z "$power_cut_at" ] || [[ "$power_cut_at" =~ ^[1-9][0-9]?$ ]] || die "--power-cut-at must be 1..99 (percent)"
[ "$(id -u)" -eq 0 ] || die "needs root (network namespaces, taps)"
[ -c /dev/net/tun ] || die "needs /dev/net/tun"
command -v qemu-system-x86_64 >/dev/null || die "needs qemu-system-x86_64 (run scripts/deps.sh)"

swarmbootd=$build/server/swarmbootd
cli=$build/server/swarmboot
kernel=$build/initramfs/vmlinuz
initrd=$build/initramfs/initramfs.img
for f in "$swarmbootd" "$cli" "$kernel" "$initrd"; do
  [ -e "$f" ] || die "missing $f: build first (scripts/build.sh)"
done

if [ -z "$work" ]; then
  work=$(mktemp -d /tmp/swarmboot-rack.XXXXXX)
  # dnsmasq drops to user nobody and must reach DATA_DIR/tftp: mktemp's 0700 would hide it.
  chmod 0755 "$work"
else
  mkdir -p "$work"
  keep=1
fi
data=$work/data
mkdir -p "$data/boot" "$work/logs" "$work/vm"

tag="sbrk$$"
fabric="$tag-fabric"
server_ns="$tag-server"
server_ip=10.99.0.1
server_url="http://$server_ip:8080"
token=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
export SWARMBOOT_API_TOKEN=$token
pids=()

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.5
  for ns in "$fabric" "$server_ns"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null || true
  done
  for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
  ip netns del "$server_ns" 2>/dev/null || true
  ip netns del "$fabric" 2>/dev/null || true
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
    if [ "$mode" = install ]; then
      # Installed machines boot their own disk, so the image must be a bootable disk, not a squashfs.
      image_file=$images_cache/sample-disk.img
      [ -f "$image_file" ] || "$cli" image build --sample --disk --out "$image_file" >&2
    else
      image_file=$images_cache/sample.img
      [ -f "$image_file" ] || "$cli" image build --sample --out "$image_file" >&2
    fi
    image_name=sample ;;
  debian)
    [ "$mode" = install ] && die "--mode install needs a bootable disk image: the debian image is a squashfs for diskless boots (use --image sample, or a disk image FILE)"
    image_file=$images_cache/debian-bookworm.img
    [ -f "$image_file" ] || "$cli" image build --debian bookworm --out "$image_file" >&2
    image_name=debian ;;
  *)
    [ -f "$image" ] || die "no image file '$image'"
    image_file=$(readlink -f "$image")
    image_name=$(basename "$image_file" | tr 'A-Z' 'a-z' | sed 's/\.[^.]*$//; s/[^a-z0-9._-]/-/g') ;;
esac
"$cli" image add "$image_file" --name "$image_name" --registry "$data/images" --piece-size "$piece_size" >&2
cp "$kernel" "$data/boot/vmlinuz"
cp "$initrd" "$data/boot/initramfs.img"

# --- the network -------------------------------------------------------------------------------------------
ip netns add "$fabric"
ip netns add "$server_ns"
ip -n "$fabric" link set lo up
ip -n "$fabric" link add br0 type bridge stp_state 0 forward_delay 0
ip -n "$fabric" link set br0 up
ip -n "$server_ns" link set lo up
ip -n "$server_ns" link add eth0 type veth peer name vserver netns "$fabric"
ip -n "$server_ns" addr add "$server_ip/16" dev eth0
ip -n "$server_ns" link set eth0 up
ip -n "$fabric" link set vserver master br0
ip -n "$fabric" link set vserver up
shape() {  # namespace device
  [ "$rate_mbit" = 0 ] && return 0
  ip netns exec "$1" tc qdisc replace dev "$2" root tbf rate "${rate_mbit}mbit" burst 64kb latency 200ms
}
shape "$server_ns" eth0
shape "$fabric" vserver

# --- the appliance -----------------------------------------------------------------------------------------
in_server "$swarmbootd" --data-dir "$data" --listen "$server_ip:8080" --interface eth0 --dhcp-mode full \
  --dhcp-range 10.99.1.10,10.99.1.250 --default-image "$image_name" --default-mode "$mode" \
  --kernel-args "console=tty0 console=ttyS0,115200" --install-seed-seconds 20 \
  >"$work/logs/swarmbootd.log" 2>&1 &
pids+=($!)
api() { in_server curl -fsS --max-time 5 -H "Authorization: Bearer $token" "$@"; }
for _ in $(seq 1 100); do
  api "$server_url/api/v1/hosts" >/dev/null 2>&1 && break
  kill -0 "${pids[0]}" 2>/dev/null || { tail -20 "$work/logs/swarmbootd.log" >&2; die "swarmbootd exited"; }
  sleep 0.2
done
api "$server_url/api/v1/hosts" >/dev/null || die "swarmbootd did not answer on $server_url"

macs=()
for i in $(seq 1 "$hosts"); do
  mac=$(printf '52:54:00:99:%02x:%02x' $((i / 256)) $((i % 256)))
  macs+=("$mac")
  SWARMBOOT_SERVER=$server_url in_server "$cli" host set "$mac" --image "$image_name" --mode "$mode" \
    --hostname "rack-$i" --label rack=demo >/dev/null
done

# API and dashboard on the machine's loopback: socat carries it through a unix socket across the namespace.
if [ "$interactive" -eq 1 ] && command -v socat >/dev/null; then
  in_server socat "UNIX-LISTEN:$work/api.sock,fork" "TCP:$server_ip:8080" 2>/dev/null &
  pids+=($!)
  socat "TCP-LISTEN:$api_port,bind=127.0.0.1,reuseaddr,fork" "UNIX-CONNECT:$work/api.sock" 2>/dev/null &
  pids+=($!)
fi

# --- the machines ------------------------------------------------------------------------------------------
declare -A vm_pid
start_vm() {  # index mac firmware [disk-bytes]: powers machine i on (again: same disk, same console log)
  local i=$1 mac=$2 fw=$3 disk_bytes=${4:-4G} tap="tap$1"
  if ! ip -n "$fabric" link show "$tap" >/dev/null 2>&1; then
    ip -n "$fabric" tuntap add dev "$tap" mode tap
    ip -n "$fabric" link set "$tap" master br0
    ip -n "$fabric" link set "$tap" up
    shape "$fabric" "$tap"
  fi
  # The console log is appended to, so it keeps every boot of the machine; the monitor socket is the rack's
  # power button (system_reset, quit).
  local args=(-accel tcg -m "$memory_mib" -smp 1 -display none
              -chardev "file,id=console,path=$work/logs/vm$i.console,append=on" -serial chardev:console
              -monitor "unix:$work/vm/monitor$i.sock,server,nowait"
              -netdev "tap,id=n0,ifname=$tap,script=no,downscript=no"
              -device "virtio-net-pci,netdev=n0,mac=$mac,bootindex=1")
  # A diskless machine that reboots would PXE again: stop it instead, so a crash is visible. An installing one
  # must reboot: that is how it gets to its disk.
  [ "$mode" = install ] || args+=(-no-reboot)
  # SeaBIOS's own log (boot order, "Booting from Hard Disk…"): where a BIOS machine went after iPXE.
  [ "$fw" = bios ] && args+=(-chardev "file,id=firmware,path=$work/logs/vm$i.firmware,append=on"
                             -device "isa-debugcon,iobase=0x402,chardev=firmware")
  if [ "$fw" = uefi ]; then
    [ -f "$work/vm/vars$i.fd" ] || cp /usr/share/OVMF/OVMF_VARS_4M.fd "$work/vm/vars$i.fd"
    args+=(-drive "if=pflash,format=raw,unit=0,readonly=on,file=/usr/share/OVMF/OVMF_CODE_4M.fd"
           -drive "if=pflash,format=raw,unit=1,file=$work/vm/vars$i.fd")
  fi
  if [ "$mode" = install ]; then
    # A blank disk, second in the boot order: after iPXE's `exit` the firmware tries it.
    [ -f "$work/vm/disk$i.qcow2" ] || qemu-img create -q -f qcow2 "$work/vm/disk$i.qcow2" "$disk_bytes"
    args+=(-drive "file=$work/vm/disk$i.qcow2,if=none,id=disk0,format=qcow2"
           -device "virtio-blk-pci,drive=disk0,bootindex=2")
  fi
  ip netns exec "$fabric" qemu-system-x86_64 "${args[@]}" >>"$work/logs/vm$i.qemu" 2>&1 &
  vm_pid[$i]=$!
  pids+=($!)
}
monitor() {  # index command: a line to machine i's QEMU monitor
  printf '%s\n' "$2" | timeout 5 socat - "UNIX-CONNECT:$work/vm/monitor$1.sock" >/dev/null 2>&1 || true
}
power_off() {  # index: pull the plug
  monitor "$1" quit
  for _ in $(seq 1 50); do kill -0 "${vm_pid[$1]}" 2>/dev/null || break; sleep 0.1; done
  kill -9 "${vm_pid[$1]}" 2>/dev/null || true
}
start=$(date +%s)
for i in $(seq 1 "$hosts"); do
  fw=bios
  [ "$i" -le "$uefi" ] && fw=uefi
  start_vm "$i" "${macs[$((i - 1))]}" "$fw"
  firmware[$i]=$fw
done
small_mac=""
if [ "$small_disk" = 1 ]; then
  # One more machine, outside the goal count, whose disk is 1 MiB smaller than the image.
  small=$((hosts + 1))
  small_mac=$(printf '52:54:00:99:%02x:%02x' $((small / 256)) $((small % 256)))
  SWARMBOOT_SERVER=$server_url in_server "$cli" host set "$small_mac" --image "$image_name" --mode install \
    --hostname "rack-small" --label rack=small >/dev/null
  small_bytes=$(( ($(stat -c %s "$image_file") - 1048576) / 512 * 512 ))
  [ "$small_bytes" -ge 1048576 ] || die "--small-disk: the image is too small to make a smaller disk for it"
  start_vm "$small" "$small_mac" bios "$small_bytes"
  firmware[$small]=bios
fi

goal=running
[ "$mode" = install ] && goal=installed

# --- watching ----------------------------------------------------------------------------------------------
render() {  # hosts-json
  jq -r --arg goal "$goal" '
    ["MAC", "HOSTNAME", "STATE", "IMAGE %", "AT SWITCH_ROOT %", "MESSAGE"],
    (.[] | [.mac, (.hostname // "-"), .state,
      ((.progress // 0) * 100 | floor | tostring),
      (if .progress_at_switch_root then (.progress_at_switch_root * 100 | floor | tostring) else "-" end),
      ((.reason // .message // "") | .[0:40])])
    | @tsv' <<<"$1" | column -t -s $'\t'
}
deadline=$((start + timeout_s))
declare -A reached_at
round=1
power_cut_done=0
local_marker="swarmboot sample image: up from local disk"
# Install mode: a host has reached its goal in round R when it is installed, the server has answered its PXE
# boot with `exit` R times (a local_disk boot event) and, for the sample image, its console shows the sample
# OS up from the disk R times.
local_boots() {  # mac
  api "$server_url/api/v1/events?mac=$1&limit=1000" 2>/dev/null |
    jq '[.[] | select(.kind == "boot" and .stage == "local_disk")] | length' 2>/dev/null || echo 0
}
console_boots() {  # index
  grep -c "$local_marker" "$work/logs/vm$1.console" 2>/dev/null || true
}
install_goal_count() {  # hosts-json: how many hosts reached this round's goal
  local n=0 i m
  for i in $(seq 1 "$hosts"); do
    m=${macs[$((i - 1))]}
    [ "$(jq -r --arg m "$m" '.[] | select(.mac == $m) | .state' <<<"$1")" = installed ] || continue
    [ "$(local_boots "$m")" -ge "$round" ] || continue
    if [ "$image" = sample ]; then [ "$(console_boots "$i")" -ge "$round" ] || continue; fi
    n=$((n + 1))
  done
  echo "$n"
}
while :; do
  now=$(date +%s)
  hosts_json=$(api "$server_url/api/v1/hosts" 2>/dev/null || echo '[]')
  # The machine outside the count (--small-disk) is shown but judged apart.
  small_json=$(jq --arg s "$small_mac" '[.[] | select(.mac == $s)]' <<<"$hosts_json")
  hosts_json=$(jq --arg s "$small_mac" '[.[] | select(.mac != $s)]' <<<"$hosts_json")
  if [ "$interactive" -eq 1 ]; then
    printf '\033[H\033[2J'
    echo "swarmboot virtual rack — $hosts machines, image $image_name, mode $mode, $((now - start)) s"
    echo "API and dashboard: http://127.0.0.1:$api_port/   (token: $token)   Ctrl-C tears everything down"
    echo
    render "$(jq -s 'add' <<<"$hosts_json $small_json")"
    [ "$mode" = install ] && echo && echo "install round $round: a host counts once it is installed and came up from its own disk"
  fi
  if [ "$mode" = install ]; then
    reached=$(install_goal_count "$hosts_json")
  else
    reached=$(jq --arg goal "$goal" '[.[] | select(.state == $goal)] | length' <<<"$hosts_json")
  fi
  for m in $(jq -r --arg goal "$goal" '.[] | select(.state == $goal) | .mac' <<<"$hosts_json"); do
    [ -n "${reached_at[$m]:-}" ] || reached_at[$m]=$((now - start))
  done
  failed=$(jq '[.[] | select(.state == "failed")] | length' <<<"$hosts_json")
  if [ -n "$power_cut_at" ] && [ "$power_cut_done" = 0 ]; then
    pct=$(jq -r --arg m "${macs[0]}" '.[] | select(.mac == $m and .state == "installing") | (.progress * 100 | floor)' <<<"$hosts_json")
    if [ -n "$pct" ] && [ "$pct" -ge "$power_cut_at" ]; then
      log "power cut: switching machine 1 off at $pct% of the image, on again in 2 s"
      power_off 1
      sleep 2
      start_vm 1 "${macs[0]}" "${firmware[1]}"
      power_cut_done=1
    fi
  fi
  small_done=1
  [ -n "$small_mac" ] && [ "$(jq -r '.[0].state // ""' <<<"$small_json")" != failed ] && small_done=0
  if [ "$reached" -ge "$hosts" ] && [ "$mode" = install ] && [ "$reimage" = 1 ] && [ "$round" = 1 ]; then
    log "round 1 done: reimaging the rack (swarmboot reimage --label rack=demo) and power-cycling it"
    SWARMBOOT_SERVER=$server_url in_server "$cli" reimage --label rack=demo >&2
    for i in $(seq 1 "$hosts"); do monitor "$i" system_reset; done
    round=2
    reached_at=()
    continue
  fi
  if [ "$reached" -ge "$hosts" ] && [ "$small_done" = 1 ]; then
    [ "$interactive" -eq 0 ] && break
    echo; echo "all $hosts hosts reached '$goal' — the rack stays up for you to look at; Ctrl-C tears it down"
    sleep 2
    continue
  fi
  if [ "$failed" -gt 0 ] && [ "$interactive" -eq 0 ]; then break; fi
  if [ "$now" -ge "$deadline" ] && [ "$reached" -lt "$hosts" ]; then break; fi
  sleep 1
done

# --- summary -----------------------------------------------------------------------------------------------
hosts_json=$(api "$server_url/api/v1/hosts" | jq --arg s "$small_mac" '[.[] | select(.mac != $s)]')
metrics=$(in_server curl -fsS --max-time 5 "$server_url/metrics" || true)
image_bytes=$(stat -c %s "$image_file")
echo
echo "summary: $reached/$hosts hosts reached '$goal' in $(( $(date +%s) - start )) s"
for m in "${macs[@]}"; do
  jq -r --arg mac "$m" --arg secs "${reached_at[$m]:--}" '.[] | select(.mac == $mac) |
    def pct: if . == null then "-" else ((. * 100 | floor | tostring) + "%") end;
    "host \(.mac) \(.hostname // "-"): state=\(.state) seconds_to_goal=\($secs) fetched_at_switch_root=\(.progress_at_switch_root | pct) fetched_at_booted=\(.progress_at_booted | pct) fetched_now=\(.progress | pct)\(if (.reason // "") != "" then " reason=" + .reason else "" end)"' <<<"$hosts_json"
done
checks_ok=1
if [ "$mode" = install ]; then
  # The machines are switched off first, so nothing writes while the disks are compared with the image:
  # `qemu-img compare` wants the image's bytes at the start of the disk and zeros after them.
  for i in $(seq 1 $((hosts + small_disk))); do power_off "$i"; done
  for i in $(seq 1 "$hosts"); do
    m=${macs[$((i - 1))]}
    if qemu-img compare -q -f raw -F qcow2 "$image_file" "$work/vm/disk$i.qcow2" >/dev/null 2>&1; then disk=identical; else disk=DIFFERENT; checks_ok=0; fi
    installs=$(api "$server_url/api/v1/events?mac=$m&limit=1000" |
      jq '[.[] | select(.kind == "report") | .state] as $s | [range(1; $s | length) | select($s[.] == "installed" and $s[. - 1] != "installed")] | length')
    # "resumed: K of N pieces already on the target", once per install attempt: the first attempt finds only
    # the pieces that are all zeros on a blank disk; an attempt after a power cut must find more (a reimage
    # of a complete disk, K = N, does not count).
    resumed=$(api "$server_url/api/v1/events?mac=$m&limit=1000" |
      jq '[.[] | .message | capture("^resumed: (?<k>[0-9]+) of (?<n>[0-9]+)") | select(.k != .n) | .k | tonumber] | unique | if length > 1 then (last - first) else 0 end')
    echo "install $m: disk=$disk local_disk_boots=$(local_boots "$m") console_local_boots=$(console_boots "$i") installed_reports=$installs pieces_kept_after_power_cut=$resumed"
    # Each round must show in the history; the machine whose power was cut must have resumed, not restarted.
    [ "$installs" -ge "$round" ] || { echo "  expected $round install rounds in the history of $m"; checks_ok=0; }
    if [ "$i" = 1 ] && [ "$power_cut_done" = 1 ] && [ "$resumed" -lt 1 ]; then
      echo "  machine 1 lost power mid-install but did not resume with more pieces than a blank disk holds"; checks_ok=0
    fi
  done
  if [ -n "$small_mac" ]; then
    qemu-img create -q -f qcow2 "$work/vm/blank.qcow2" "$small_bytes"
    if qemu-img compare -q "$work/vm/blank.qcow2" "$work/vm/disk$((hosts + 1)).qcow2" >/dev/null 2>&1; then untouched=yes; else untouched=NO; checks_ok=0; fi
    small_state=$(api "$server_url/api/v1/hosts/$small_mac" | jq -r '"state=\(.state) reason=\(.reason)"')
    echo "small-disk $small_mac: $small_state disk_untouched=$untouched"
    grep -q '^state=failed ' <<<"$small_state" || checks_ok=0
  fi
  if [ -n "$power_cut_at" ] && [ "$power_cut_done" = 0 ]; then
    echo "machine 1 finished before it reached $power_cut_at%: the power cut never happened (slow the links with --rate-mbit)"
    checks_ok=0
  fi
fi
sent=$(awk '/^swarmboot_image_bytes_sent_total/ {s += $NF} END {printf "%d", s}' <<<"$metrics")
echo "server sent $sent image bytes (web seed + BitTorrent) for $hosts hosts; the image is $image_bytes bytes"
grep '^swarmboot_image_bytes_sent_total' <<<"$metrics" | sed 's/^/  /' || true
echo "server_image_bytes_sent=$sent image_bytes=$image_bytes hosts=$hosts"
if [ "$reached" -lt "$hosts" ] || [ "$checks_ok" = 0 ]; then
  [ "$checks_ok" = 0 ] && echo "install checks failed (see the install lines above)"
  for i in $(seq 1 $((hosts + small_disk))); do
    echo "--- vm$i (${firmware[$i]}) console, last lines:"
    tail -n 15 "$work/logs/vm$i.console" 2>/dev/null | tr -d '\r' || true
  done
  echo "--- swarmbootd log, last lines:"
  tail -n 30 "$work/logs/swarmbootd.log"
  exit 1
fi
exit 0
