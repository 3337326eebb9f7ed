#!/usr/bin/env bash
# Builds the server's libFuzzer targets with clang (into $1, default ./build-fuzz) and runs each briefly
# (FUZZ_RUNS iterations, default 20000) from an empty corpus plus a few seeds. Any crash, leak or sanitizer
# report fails the run. Used by ctest (server_fuzz_smoke); run by hand for longer campaigns, e.g.
#   FUZZ_RUNS=-1 tests/server/fuzz/run_fuzz.sh /tmp/fuzz   (then Ctrl-C)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$PWD/build-fuzz}
runs=${FUZZ_RUNS:-20000}
if ! command -v clang++ >/dev/null; then
  echo "run_fuzz: skipped: clang++ is not installed (scripts/deps.sh installs it)" >&2
  exit 77
fi
CXX=clang++ cmake -S "$here" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" -j"$(nproc)" >/dev/null
seeds="$build/seeds"
mkdir -p "$seeds/fuzz_query" "$seeds/fuzz_api_json" "$seeds/fuzz_validation"
printf '/announce?info_hash=%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11%%11&peer_id=-XX0001-aaaaaaaaaaaa&port=6881&left=5&event=started&numwant=3' \
  >"$seeds/fuzz_query/announce"
printf '/scrape?info_hash=aaaaaaaaaaaaaaaaaaaa&info_hash=bbbbbbbbbbbbbbbbbbbb' >"$seeds/fuzz_query/scrape"
printf '\x00{"hostname":"web01","image":"debian","mode":"install","labels":{"rack":"r1"}}' >"$seeds/fuzz_api_json/assign"
printf '\x01{"state":"booting","stage":"switch_root","progress":0.25,"message":"m","agent":{"peers":1}}' \
  >"$seeds/fuzz_api_json/event"
printf '\x02{"path":"/srv/a.squashfs","name":"a","piece_size":65536}' >"$seeds/fuzz_api_json/image"
printf 'aa:bb:cc:dd:ee:ff' >"$seeds/fuzz_validation/mac"
printf 'bytes=0-99' >"$seeds/fuzz_validation/range"
printf 'web01.rack1debian-12' >"$seeds/fuzz_validation/script"
for target in fuzz_query fuzz_api_json fuzz_validation; do
  corpus="$build/corpus/$target"
  mkdir -p "$corpus"
  echo "run_fuzz: $target ($runs runs)"
  "$build/$target" -runs="$runs" -max_len=4096 -max_total_time=60 -print_final_stats=0 -artifact_prefix="$build/$target-" "$corpus" "$seeds/$target" \
    >"$build/$target.log" 2>&1 || { tail -n 40 "$build/$target.log"; exit 1; }
done
echo "run_fuzz: all targets clean"
