#!/usr/bin/env bash
# Sets up everything and runs all tests: unit tests, netns swarm and PXE tests, fuzz smoke runs and the QEMU
# end-to-end boots (ctest label `e2e`). Extra arguments go to ctest, e.g. `-L unit` or `-LE e2e`.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${SWARMBOOT_BUILD_DIR:-$root/build}
"$root/scripts/build.sh"
cd "$build"
ctest --output-on-failure --timeout 1800 "$@"
