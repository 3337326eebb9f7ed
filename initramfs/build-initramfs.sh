#!/usr/bin/env bash
# Builds initramfs.img (called by initramfs/CMakeLists.txt). Reproducible: every file gets mtime 0, the cpio
# lists files in sorted order with `--reproducible`, owner root, and the compressor runs single-threaded
# (level 9: seconds to build; -19 saves about 10% in a minute, not worth it on every agent rebuild).
#
# Layout of the image:
#   /init                      swarmboot's init (initramfs/init)
#   /bin/busybox + applet links
#   /agent/bin/swarmboot-agent, /agent/lib/*   the agent (stripped) and every library ldd names, plus the
#                              dynamic loader; /init copies /agent to a tmpfs of its own at /run/swarmboot/agent
#                              so it outlives switch_root. /lib64/ld-linux-x86-64.so.2 points there.
#   /lib/modules/load-order    the kernel modules to insmod, dependencies first (from modprobe --show-depends)
#   /lib/modules/KVER/…        those modules
#
# usage: build-initramfs.sh OUT KVER BUSYBOX INIT UDHCPC_SCRIPT [AGENT]
set -euo pipefail
out=$1 kver=$2 busybox=$3 init=$4 udhcpc_script=$5 agent=${6:-}
modules=(virtio_pci virtio_net e1000 virtio_blk virtio_scsi sd_mod ahci nvme fuse loop squashfs overlay ext4)

staging=$(mktemp -d "${out}.staging-XXXXXX")
trap 'rm -rf "$staging" "$out.tmp"' EXIT

mkdir -p "$staging"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,newroot,lib64,lib/modules,etc,agent/bin,agent/lib}
install -m 0755 "$init" "$staging/init"
install -m 0755 "$busybox" "$staging/bin/busybox"
install -m 0755 "$udhcpc_script" "$staging/agent/udhcpc.script"
for applet in $("$busybox" --list-full); do
  [ -e "$staging/$applet" ] || [ -L "$staging/$applet" ] || ln -s /bin/busybox "$staging/$applet"
done

if [ -n "$agent" ]; then
  strip --strip-unneeded -o "$staging/agent/bin/swarmboot-agent" "$agent"
  # Every shared library the agent needs, by the name the loader looks for; the loader itself by its
  # PT_INTERP name. glibc's NSS modules come along for name lookups done after switch_root.
  ldd "$agent" | awk '/=> \//{print $3} /^\t\/lib/{print $1}' | while read -r lib; do
    cp -L "$lib" "$staging/agent/lib/$(basename "$lib")"
  done
  for nss in /lib/x86_64-linux-gnu/libnss_files.so.2 /lib/x86_64-linux-gnu/libnss_dns.so.2; do
    [ -e "$nss" ] && cp -L "$nss" "$staging/agent/lib/"
  done
  interp=$(ldd "$agent" | awk '/^\t\/lib/{print $1}')
  ln -s "/run/swarmboot/agent/lib/$(basename "$interp")" "$staging$interp"
  chmod 0755 "$staging"/agent/lib/*
fi

# Kernel modules, dependencies first; modules built into the kernel print "builtin" and are skipped.
: > "$staging/lib/modules/load-order"
modprobe -S "$kver" --show-depends -a "${modules[@]}" | awk '$1 == "insmod" {print $2}' | while read -r ko; do
  grep -qxF "$ko" "$staging/lib/modules/load-order" && continue
  mkdir -p "$staging$(dirname "$ko")"
  case "$ko" in
    *.ko.xz) xz -dc "$ko" > "$staging${ko%.xz}"; ko=${ko%.xz} ;;
    *.ko.zst) zstd -qdc "$ko" > "$staging${ko%.zst}"; ko=${ko%.zst} ;;
    *) cp "$ko" "$staging$ko" ;;
  esac
  echo "$ko" >> "$staging/lib/modules/load-order"
done

find "$staging" -exec touch -h -d @0 {} +
(cd "$staging" && find . -mindepth 1 | LC_ALL=C sort | cpio --quiet --reproducible -o -H newc -R 0:0) \
  | zstd -q -9 -T1 > "$out.tmp"
mv "$out.tmp" "$out"
