#!/usr/bin/env bash
# One command for the benchmarks (docs/benchmarks.md): installs what it needs (scripts/deps.sh), builds the
# harness (and swarmbootd/swarmboot-agent if their targets exist), runs the driver on the netns test bed, and
# writes bench/results/<UTC time>/ (JSON, table, plot data, PNG). Without --quick it also rewrites the generated
# section of docs/benchmarks.md and, if the PNG is small, docs/benchmarks.png.
#
#   bench/run.sh [--quick] [--systems http,aria2,lt-default,swarmboot,btfs] [--scenarios full,churn,…]
#                [--n 1,8,32] [--http-n 1,4] [--size-mib 32] [--piece-kib 64] [--rate-mbit 8] [--mtu 9000]
#
# Needs root (network namespaces). Environment: BUILD_DIR (default build-bench).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${BUILD_DIR:-$root/build-bench}"
quick=0
for a in "$@"; do [ "$a" = "--quick" ] && quick=1; done

"$root/scripts/deps.sh"
cmake -S "$root" -B "$build" -G Ninja >/dev/null
targets=(swarmboot-bench swarmboot-bench-peer swarmboot-bench-replay)
for t in swarmbootd swarmboot swarmboot-agent; do
  if ninja -C "$build" -t targets all 2>/dev/null | grep -q "^$t:"; then targets+=("$t"); fi
done
cmake --build "$build" --target "${targets[@]}" -j2

suffix=""
[ $quick = 1 ] && suffix="-quick"
out="$root/bench/results/$(date -u +%Y%m%dT%H%M%SZ)$suffix"
mkdir -p "$out"
doc_args=()
[ $quick = 0 ] && doc_args=(--doc "$root/docs/benchmarks.md")
set +e
"$build/bench/swarmboot-bench" --out "$out" "${doc_args[@]}" "$@" 2>&1 | tee "$out/driver.log"
rc=${PIPESTATUS[0]}
set -e

if [ -s "$out/plot.dat" ] && command -v gnuplot >/dev/null; then
  subtitle="$(jq -r '.runs[0] | "\(.size_bytes/1048576) MiB, \(.rate_mbit) Mbit/s every link"' "$out/results.json")"
  gnuplot -e "datafile='$out/plot.dat'; outfile='$out/plot.png'; subtitle='$subtitle'" "$root/bench/plot.gp" ||
    echo "run.sh: gnuplot failed; the data is in $out/plot.dat" >&2
  if [ $quick = 0 ] && [ -s "$out/plot.png" ] && [ "$(stat -c %s "$out/plot.png")" -lt 150000 ]; then
    cp "$out/plot.png" "$root/docs/benchmarks.png"
  fi
fi
echo "run.sh: results in $out"
exit "$rc"
