#!/usr/bin/env bash
# Fuzzes the decoders (issue 18): audio bytes -> features and image bytes -> tensors, with
# cargo-fuzz on nightly, for a bounded time per target. The corpus is kept between runs in
# fuzz/corpus/<target> (git-ignored), seeded from the fixtures; inputs that crash, abort,
# hang (-timeout) or allocate past the limits land in fuzz/artifacts/<target>. Once fixed,
# check them in under fixtures/fuzz/<target>/crashers: crates/media/tests/fuzz_replay.rs
# replays them, and the corpus sample in fixtures/fuzz/<target>/corpus, on stable in CI.
#
# Usage: benches/fuzz/run.sh [SECONDS_PER_TARGET (default 600)] [TARGET ...]
#   SAMPLE=N  also refresh the checked-in corpus sample with N small corpus files per target
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(audio_decode image_load)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
rustup toolchain list | grep -q nightly || { echo "needs the nightly toolchain" >&2; exit 2; }

seed() { # target dir: copies the seeds in (audio heads cut to 64 KB: quicker executions)
    local t=$1 dir=$2
    case $t in
    audio_decode)
        for f in fixtures/audio/* fixtures/audio-heldout/* fixtures/queries/* \
                 fixtures/broken/*.mp3 fixtures/broken/*.ogg fixtures/broken/*.wav; do
            [ -s "$f" ] && head -c 65536 "$f" > "$dir/seed-$(basename "$f")"
        done ;;
    image_load)
        for f in fixtures/images/* fixtures/images-dup/* fixtures/broken/*.png; do
            cp "$f" "$dir/seed-$(basename "$f")"
        done ;;
    esac
    for f in fixtures/fuzz/$t/crashers/* fixtures/fuzz/$t/corpus/*; do
        [ -f "$f" ] && cp "$f" "$dir/"
    done
    true
}

mkdir -p fuzz/logs
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
for t in "${targets[@]}"; do
    corpus=fuzz/corpus/$t
    mkdir -p "$corpus" "fuzz/artifacts/$t"
    seed "$t" "$corpus"
    case $t in audio_decode) max_len=131072 ;; *) max_len=262144 ;; esac
    log=fuzz/logs/$t.log
    echo "== $t: $secs s, corpus $(ls "$corpus" | wc -l) files"
    set +e
    (cd fuzz && nice cargo +nightly fuzz run "$t" "corpus/$t" -- \
        -max_total_time="$secs" -max_len="$max_len" -timeout=20 \
        -rss_limit_mb=2048 -malloc_limit_mb=1536 -print_final_stats=1) > "$log" 2>&1
    code=$?
    set -e
    execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' | tail -1)
    crashes=$(ls "fuzz/artifacts/$t" | wc -l)
    echo "$t: exit $code, ${execs:-?} executions in $secs s, corpus $(ls "$corpus" | wc -l) files, artifacts: $crashes (fuzz/artifacts/$t)"
    grep -E '^==[0-9]+== ERROR|deadly signal|SUMMARY|panicked|out-of-memory|timeout' "$log" | head -5 || true
    if [ -n "${SAMPLE:-}" ]; then
        mkdir -p "fixtures/fuzz/$t/corpus"
        find "$corpus" -type f -size -16k ! -name 'seed-*' | shuf -n "$SAMPLE" --random-source=<(yes) |
            while read -r f; do cp "$f" "fixtures/fuzz/$t/corpus/"; done
    fi
done
