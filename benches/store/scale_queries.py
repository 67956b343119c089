#!/usr/bin/env python3
"""Corpus A's in-library evaluation clips through `latentid query` on one index: top-1 of the
match (`named`) and of the first candidate (`top1`), as JSON on stdout; the raw answers go to
ANSWERS (JSON Lines).

  scale_queries.py BIN EVAL_A INDEX ANSWERS [--nprobe N] [--every K]

--nprobe passes the search effort on (cells scored per query frame; 0 = exact search);
--every K keeps every K-th clip (sorted by name), for runs at a high effort."""
import argparse, json, subprocess, time
from pathlib import Path

ap = argparse.ArgumentParser()
ap.add_argument("bin")
ap.add_argument("eval_a", type=Path)
ap.add_argument("index", type=Path)
ap.add_argument("answers", type=Path)
ap.add_argument("--nprobe", type=int)
ap.add_argument("--every", type=int, default=1)
a = ap.parse_args()

# The ground truth the evaluation wrote beside its queries (track None: not in the library).
truth = {Path(q["file"]).name: q for q in json.loads((a.eval_a / "queries" / "queries.json").read_text())["queries"]}
queries = sorted(q for q, r in truth.items() if r["track"])[:: a.every]
extra = [] if a.nprobe is None else ["--nprobe", str(a.nprobe)]
top = named = 0
t0 = time.perf_counter()
with open(a.answers, "w") as raw:
    for i in range(0, len(queries), 200):
        chunk = [str(a.eval_a / "queries" / q) for q in queries[i:i + 200]]
        p = subprocess.run([a.bin, "query", *chunk, "--index", str(a.index), "--json", "--top", "3", *extra],
                           capture_output=True, text=True)
        raw.write(p.stdout)
        for line in p.stdout.splitlines():
            r = json.loads(line)
            want = truth[Path(r["query"]).name]["track"]
            c = (r.get("candidates") or [None])[0]
            top += bool(c) and Path(c["path"]).name == want
            named += bool(r.get("match")) and Path(r["match"]["path"]).name == want
print(json.dumps({"index": str(a.index), "nprobe": a.nprobe, "queries": len(queries),
                  "top1": 100 * top / len(queries), "named": 100 * named / len(queries),
                  "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
