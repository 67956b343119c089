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

# The evaluation's queries (in the library, all conditions) on both.
python3 - "$bin" "$eval_a" "$work" <<'PY'
import csv, json, subprocess, sys, time
from pathlib import Path
bin, eval_a, work = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
truth = {r["query"]: r for r in csv.DictReader(open(eval_a / "truth.csv"))}
queries = sorted(q for q, r in truth.items() if r["in_library"] == "1")
out = {}
for name in ["small", "big"]:
    top = named = 0
    t0 = time.perf_counter()
    with open(work / f"{name}.answers.jsonl", "w") as raw:
        for i in range(0, len(queries), 200):
            chunk = [str(eval_a / "queries" / q) for q in queries[i:i + 200]]
            p = subprocess.run([bin, "query", *chunk, "--index", str(work / name), "--json", "--top", "3"],
                               capture_output=True, text=True)
            raw.write(p.stdout)
            for line in p.stdout.splitlines():
                r = json.loads(line)
                want = truth[Path(r["query"]).name]["track"]
                c = (r.get("candidates") or [None])[0]
                top += bool(c) and Path(c["path"]).name == want
                named += bool(r.get("match")) and Path(r["match"]["path"]).name == want
    out[name] = {"queries": len(queries), "top1": 100 * top / len(queries),
                 "named": 100 * named / len(queries), "seconds": time.perf_counter() - t0}
    print(name, out[name], flush=True)
json.dump(out, open(work / "accuracy.json", "w"), indent=1)
PY

# Recall@10 against exact search, speed, load time and memory with the index loaded.
cargo bench -p latentid-store --bench store -- --real "$root/$work/big"
