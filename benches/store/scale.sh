#!/usr/bin/env bash
# A 300-hour index of real signatures on one machine: disk per audio hour, peak memory while
# indexing and with the search index loaded, load time, recall@10 against exact search, and the
# evaluation's top-1 on the big index against the small one.
#
# The library: corpus A's evaluation library (benches/eval, 80 tracks, 4.40 h; its index and
# model as the evaluation built them) plus 34 altered copies of every track of corpora A and B
# (benches/store/scale_audio.sh: speed and pitch changes, 8 kHz MP3), encoded by A's model.
# Copies of real music are real encoder inputs, but related to their originals: the evaluation
# queries of corpus A meet 34 near-relatives of their own track in the big index (labelled).
#   benches/store/scale.sh [WORK_DIR]     (after benches/eval/run.sh --corpus a and b)
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
work=${1:-benches/work/store-scale300}
eval_a=benches/work/eval/a
[ -d "$eval_a/idx-ae" ] || { echo "run benches/eval/run.sh --corpus a first" >&2; exit 1; }
mkdir -p "$work"
work_abs=$(cd "$work" && pwd)
benches/store/scale_audio.sh "$work/audio"
cargo build --release --quiet
cargo build --release --quiet -p latentid-store --bench store
bin=$root/target/release/latentid

# The small index: the evaluation's, in this build's format.
rm -rf "$work/small" "$work/big"
cp -r "$eval_a/idx-ae" "$work/small"
"$bin" stats --index "$work/small" --json > "$work/small.stats.json"
# The big one: the small one plus the copies.
cp -r "$work/small" "$work/big"
/usr/bin/time -v "$bin" index --index "$work/big" "$work/audio/variants" --json \
    > "$work/big.index.json" 2> "$work/big.index.time" || true
grep -E "Elapsed|Maximum resident" "$work/big.index.time"
"$bin" stats --index "$work/big" --json > "$work/big.stats.json"
cat "$work/big.stats.json"

# The evaluation's queries (in the library, all conditions) on both; the big one again at a
# higher search effort, to tell what the search misses from what the larger library costs.
for name in small big; do
    benches/store/scale_queries.py "$bin" "$eval_a" "$work/$name" "$work/$name.answers.jsonl"
done | tee "$work/accuracy.jsonl"
for nprobe in 128 512; do
    benches/store/scale_queries.py "$bin" "$eval_a" "$work/big" "$work/big-nprobe$nprobe.answers.jsonl" \
        --nprobe $nprobe --every 3
done | tee -a "$work/accuracy.jsonl"

# Recall@10 against exact search, speed, load time and memory with the index loaded.
cargo bench -p latentid-store --bench store -- --real "$work_abs/big"
