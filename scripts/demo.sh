#!/usr/bin/env bash
# The appliance's main job on an embedded default: installs what it needs, builds everything, then boots a
# virtual rack — swarmbootd with dnsmasq on an isolated bridge inside network namespaces, the sample image
# registered, 3 QEMU machines (one UEFI) PXE-booting diskless from the swarm — with a live view.
# Options go to scripts/virtual-rack.sh: --hosts N, --image sample|debian|FILE, --mode …, --non-interactive.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
exec "$root/scripts/virtual-rack.sh" "$@"
