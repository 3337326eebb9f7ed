#!/usr/bin/env bash
# Installs every Debian package swarmboot needs to build, test, benchmark and run its demo.
# Idempotent: it asks dpkg first and only calls apt-get when something is missing, so a second run is fast.
set -euo pipefail

packages=(
  # build
  cmake ninja-build g++ clang pkg-config
  libtorrent-rasterbar-dev libfuse3-dev libboost-dev libboost-program-options-dev libboost-system-dev
  libsqlite3-dev libssl-dev nlohmann-json3-dev libfmt-dev libgtest-dev libgmock-dev
  # run: FUSE, PXE, images, initramfs
  fuse3 dnsmasq-base ipxe busybox-static squashfs-tools e2fsprogs debootstrap cpio zstd kmod
  linux-image-amd64 util-linux iproute2 curl ca-certificates
  # bootable disk images (install mode, hypervisor guests): syslinux MBR + FAT boot partition, built rootless
  syslinux syslinux-common mtools dosfstools fdisk
  # test bed: virtual machines, DHCP client
  qemu-system-x86 qemu-utils ovmf udhcpc procps psmisc
  # benchmarks: the peers we compare against, and the plot
  aria2 opentracker btfs gnuplot-nox
  # demo: live view and the API forwarded to 127.0.0.1
  jq socat
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "deps: all ${#packages[@]} packages present"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing packages (${missing[*]}); run this as root to install them" >&2
  exit 1
fi

echo "deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}" </dev/null
