#!/usr/bin/env bash
# Load benchmark of `latentid serve` (see load.rs): on a private copy of an index of a real
# library, with 5 s clips cut (ffmpeg) from its tracks with pink noise at 10 dB SNR.
# Loopback only, bounded in requests and time (a few minutes).
#   benches/serve/load.sh [INDEX_DIR LIBRARY_DIR]
# Defaults: the audio evaluation's library A, as benches/eval/run.sh builds it.
set -euo pipefail
cd "$(dirname "$0")/../.."
index=${1:-benches/work/eval/a/idx-ae}
library=${2:-benches/work/eval/a/library}
[ -d "$index" ] && [ -d "$library" ] || {
    echo "no index at $index or library at $library: run benches/eval/run.sh first, or name them" >&2
    exit 2
}
command -v ffmpeg >/dev/null || { echo "needs ffmpeg (apt-get install ffmpeg)" >&2; exit 2; }
work=benches/work/serve
rm -rf "$work" && mkdir -p "$work/clips"
cp -a "$index" "$work/index"
rm -f "$work/index/serve.json"
# One clip per track (at most 60), 5 s from 20 s in (or from the start of a short track).
n=0
for f in "$library"/*; do
    [ $n -ge 60 ] && break
    n=$((n + 1))
    ffmpeg -hide_banner -loglevel error -y -ss 20 -t 5 -i "$f" \
        -f lavfi -i "anoisesrc=color=pink:amplitude=0.05:seed=$n" \
        -filter_complex "[0:a]aformat=channel_layouts=mono[a];[a][1:a]amix=inputs=2:duration=first:normalize=0" \
        -ar 22050 "$work/clips/clip$(printf %03d $n).wav"
done
echo "commit $(git rev-parse --short HEAD), $(date -u +%F), $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared with other agents)"
LATENTID_BENCH_INDEX="$work/index" LATENTID_BENCH_CLIPS="$work/clips" \
    cargo bench --quiet --bench serve_load
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
