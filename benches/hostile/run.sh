#!/usr/bin/env bash
# Hostile input and faults at bench scale (issue 18); CI runs the same tests smaller.
#   1. the bad-input corpus: LATENTID_BAD_PER_SOURCE mutants per fixture (CI: 200 audio, 130 images)
#   2. kills: until LATENTID_KILLS SIGKILLs per writer have landed (CI: 2)
#   3. long input: peak RSS of `latentid index` on a 3-hour recording against a 5-minute one
# Usage: benches/hostile/run.sh [corpus|kills|long ...]   (default: all three)
# Figures go to benches/RESULTS.md by hand (section "Hostile input and faults").
set -euo pipefail
cd "$(dirname "$0")/../.."
parts=("$@")
[ ${#parts[@]} -gt 0 ] || parts=(corpus kills long)
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg); commit $(git rev-parse --short HEAD)"

for part in "${parts[@]}"; do
case $part in
corpus)
    echo "== bad-input corpus, ${LATENTID_BAD_PER_SOURCE:=1000} mutants per fixture"
    LATENTID_BAD_PER_SOURCE=$LATENTID_BAD_PER_SOURCE /usr/bin/time -f '%e s, peak RSS of the test process %M KB' \
        nice cargo test --test cli hostile::bad_corpus -- --nocapture --test-threads 1 2>&1 |
        grep -E 'damaged|contained panic|test result|panicked|s, peak' ;;
kills)
    echo "== kills, ${LATENTID_KILLS:=20} per writer"
    LATENTID_KILLS=$LATENTID_KILLS /usr/bin/time -f '%e s' \
        nice cargo test --test cli hostile::faults::killing -- --nocapture --test-threads 1 2>&1 |
        grep -E 'kills landed|test result|panicked|lost|^test |[0-9.]+ s$' ;;
long)
    echo "== long input: peak RSS of indexing a 5-minute and a 3-hour recording"
    nice cargo build --bin latentid 2>&1 | tail -1
    bin=target/debug/latentid
    work=$(mktemp -d /tmp/latentid-long.XXXXXX)
    trap 'rm -rf "$work"' EXIT
    # An index with a model: the fixtures, tiny training.
    LATENTID_LOG=error $bin index fixtures/audio --index "$work/base" --epochs 12 --train-examples 1500 --seed 1 --json >/dev/null
    # 44.1 kHz stereo MP3s made by looping the fixture songs: the common case of a DJ set.
    # The fixtures are of several codecs, which ffmpeg's concat demuxer cannot join: each is
    # made a WAV first, and their concatenation is looped.
    i=0
    for f in fixtures/audio/*; do
        ffmpeg -loglevel error -i "$f" -ac 2 -ar 44100 -c:a pcm_s16le "$work/part$i.wav"
        echo "file '$work/part$i.wav'" >> "$work/list.txt"
        i=$((i + 1))
    done
    ffmpeg -loglevel error -f concat -safe 0 -i "$work/list.txt" -c copy "$work/loop.wav"
    for spec in "5min 300" "3h 10800"; do
        set -- $spec
        ffmpeg -loglevel error -stream_loop -1 -i "$work/loop.wav" -t "$2" \
            -c:a libmp3lame -b:a 128k "$work/$1.mp3"
        rm -rf "$work/idx-$1"; cp -r "$work/base" "$work/idx-$1"
        /usr/bin/time -f "$1 ($(du -h "$work/$1.mp3" | cut -f1)): %e s, peak RSS %M KB" \
            env LATENTID_LOG=error $bin index "$work/$1.mp3" --index "$work/idx-$1" --json 2>&1 >/dev/null | tail -1
        rm -f "$work/$1.mp3"
    done ;;
*) echo "unknown part $part" >&2; exit 2 ;;
esac
done
