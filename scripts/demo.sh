#!/usr/bin/env bash
# The appliance's main job on an embedded default: a virtual rack PXE-booting from swarmbootd.
# Until end-to-end boot lands this builds everything and runs the unit tests that exist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
echo "demo: the virtual rack arrives with end-to-end boot (issue 6); built binaries are in ${SWARMBOOT_BUILD_DIR:-$root/build}"
