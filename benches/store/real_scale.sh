#!/usr/bin/env bash
# Real signatures at ~10^6: the evaluation library (80 tracks, 4.40 h) plus 16 speed-changed
# copies of every track (2^(k/12) for k = -8..8, k != 0: 0.63x to 1.59x, pitch and tempo together,
# like a record played at another speed), added to a copy of the evaluation index so they are
# encoded by the model trained on the original library. Then the store benchmark measures that
# index (extra arguments go to it: --rebuild also rebuilds its graph from the catalog, timed).
# Speed-changed music is still music: its signatures have the distribution of real ones, which
# uniform random vectors do not.
#   benches/store/real_scale.sh [--rebuild] (after benches/eval/run.sh has made the eval index)
set -euo pipefail
cd "$(dirname "$0")/../.."

root=$PWD
lib=benches/work/eval/library
src_index=benches/work/eval/idx-ae
work=benches/work/store-scale
[ -d "$lib" ] && [ -d "$src_index" ] || { echo "run benches/eval/run.sh first (needs $lib and $src_index)" >&2; exit 1; }
command -v ffmpeg >/dev/null || { SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo; $SUDO apt-get update -qq && $SUDO apt-get install -y -qq ffmpeg; }

mkdir -p "$work/mono" "$work/variants"
# One 16 kHz mono decode per track, then each speed from it (cheap at that rate).
# (Names are reduced to [A-Za-z0-9_-]: the library has names with spaces.)
for f in "$lib"/*; do
    b=$(basename "${f%.*}" | tr -c 'A-Za-z0-9_\n-' '_')
    [ -s "$work/mono/$b.wav" ] || ffmpeg -nostdin -v error -y -i "$f" -ac 1 -ar 16000 "$work/mono/$b.wav"
done
for k in -8 -7 -6 -5 -4 -3 -2 -1 1 2 3 4 5 6 7 8; do
    r=$(python3 -c "print(f'{2**($k/12):.6f}')")
    for w in "$work"/mono/*.wav; do
        b=$(basename "${w%.wav}")
        out="$work/variants/${b}__speed${k}.flac"
        [ -s "$out" ] || echo "ffmpeg -nostdin -v error -y -i '$w' -af 'asetrate=16000*$r,aresample=8000' -ac 1 '$out'"
    done
done | xargs -P "$(nproc)" -I{} sh -c '{}'

cargo build --release --quiet
rm -rf "$work/index"
cp -r "$src_index" "$work/index"
/usr/bin/time -v target/release/latentid index --index "$work/index" "$work/variants" \
    2> "$work/index.time" | tail -3
grep -E "Elapsed|Maximum resident" "$work/index.time"
target/release/latentid stats --index "$work/index"
cargo bench -p latentid-store --bench store -- --real "$root/$work/index" "$@"
