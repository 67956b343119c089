"""Audio decision statistics studied offline, from an index's signatures and the evaluation clips' codes.

    cargo build --release --example dump_codes
    target/release/examples/dump_codes benches/work/eval/a/idx-ae /tmp/dump-a benches/work/eval/a/queries
    benches/work/venv/bin/python benches/eval/decide.py /tmp/dump-a benches/work/eval/a/queries/queries.json

Exact search (numpy) for every query patch's neighbours, then latentid's offset vote (as
crates/query/src/vote.rs) under several ways of weighing a neighbour's vote, and, for the top
voted candidates, the mean similarity along the aligned offset (sequence matching) as a
z-score against the patch's similarities to the whole library. Negatives: every in-library clip
again with its own track left out (as calibration does) and the out-of-library clips. For each
statistic and clip length, the threshold is the 0.995 quantile of the negatives; the table says
how many in-library clips are then named (right track on top and above the threshold).
No variant-pair handling and no 1.2 margin: the figures compare statistics, not the product.
"""
import argparse
import collections
import json
import math
import os
import re

import numpy as np

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("dump", help="dump_codes output directory")
ap.add_argument("queries", help="queries.json of the evaluation corpus")
ap.add_argument("--k", type=int, default=10, help="neighbours per query patch (latentid's default)")
ap.add_argument("--hop", type=int, default=8, help="the index hop in frames (dump_codes prints it)")
ap.add_argument("--tolerance", type=int, default=None,
                help="votes agree within +-this many frames (default: a quarter of the hop, as latentid)")
ap.add_argument("--quantile", type=float, default=0.995)
ap.add_argument("--latentid-weight-only", action="store_true",
                help="only latentid's rank weight (and the statistics drawn from its tallies)")
ap.add_argument("--records", help="also write every clip's statistics here (JSON lines), for further study")
args = ap.parse_args()
K = args.k
TOL = args.tolerance if args.tolerance is not None else max(args.hop // 4, 1)  # the vote window, either way
HALF_HOP = max(args.hop // 2, 1)  # no query patch is further than this from a stored one

stored_meta = np.loadtxt(f"{args.dump}/stored.csv", delimiter=",", skiprows=1, dtype=np.int64).reshape(-1, 2)
s_item, s_off = stored_meta[:, 0], stored_meta[:, 1]
S = np.fromfile(f"{args.dump}/stored.f32", dtype="<f4").reshape(len(s_item), -1)
item_of = {}
for line in open(f"{args.dump}/items.csv").read().splitlines()[1:]:
    i, name = line.split(",", 1)
    item_of[name] = int(i)
qrows = [line.rsplit(",", 1) for line in open(f"{args.dump}/queries.csv").read().splitlines()[1:]]
Q = np.fromfile(f"{args.dump}/queries.f32", dtype="<f4").reshape(len(qrows), -1)
rows_of = collections.defaultdict(list)
for i, (name, frame) in enumerate(qrows):
    rows_of[name].append((i, int(frame)))
by_item = {}
order = np.lexsort((s_off, s_item))
for it in np.unique(s_item):
    rows = order[s_item[order] == it]
    by_item[int(it)] = (s_off[rows], rows)


def tallies(items, offs, frames, weights):
    """Per item, the best window of 2*TOL frames of clip starts: (score, item, its votes), best first."""
    votes = collections.defaultdict(list)
    for j in range(items.shape[0]):
        for r in range(items.shape[1]):
            if items[j, r] >= 0:
                votes[int(items[j, r])].append((int(offs[j, r]) - int(frames[j]), j, float(weights[j, r])))
    out = []
    for it, vs in votes.items():
        vs.sort()
        best, window, hi = 0.0, vs[:1], 0
        for lo in range(len(vs)):
            while hi < len(vs) and vs[hi][0] - vs[lo][0] <= 2 * TOL:
                hi += 1
            per = {}
            for _, j, w in vs[lo:hi]:
                per[j] = max(per.get(j, 0.0), w)
            if sum(per.values()) > best:
                best, window = sum(per.values()), vs[lo:hi]
        out.append((best, it, window))
    out.sort(key=lambda t: (-t[0], t[1]))
    return out


def aligned_z(qc, frames, item, window, mu, sd):
    """Mean over patches of the best similarity to the item within the voted alignment, as a z-score."""
    delta = sorted(v[0] for v in window)[len(window) // 2]
    offs, rows = by_item[item]
    z = []
    for j, f in enumerate(frames):
        lo = np.searchsorted(offs, f + delta - HALF_HOP)
        hi = np.searchsorted(offs, f + delta + HALF_HOP, side="right")
        if hi > lo:
            z.append(((S[rows[lo:hi]] @ qc[j]).max() - mu[j]) / sd[j])
    return float(np.mean(z)) if z else 0.0


def other_item_rank(items):
    """Per neighbour: 1/(1 + neighbours of other items ranked before it); repeats of one track don't push each other down."""
    w = np.zeros(items.shape)
    for j in range(items.shape[0]):
        for r in range(items.shape[1]):
            w[j, r] = 1.0 / (1.0 + np.sum(items[j, :r] != items[j, r]))
    return w


def distinct_item_rank(items):
    """Per neighbour: 1/(1 + distinct other items ranked before it)."""
    w = np.zeros(items.shape)
    for j in range(items.shape[0]):
        for r in range(items.shape[1]):
            w[j, r] = 1.0 / (1.0 + len(set(items[j, :r].tolist()) - {items[j, r]}))
    return w


# How a neighbour's vote is weighed, from the patches' neighbour similarities and items (rows: patches).
WEIGHTS = {
    "rank 1/(1+r) (latentid)": lambda sims, items: np.broadcast_to(1.0 / (1.0 + np.arange(sims.shape[1])), sims.shape),
    "flat": lambda sims, items: np.ones_like(sims),
    "rank among other tracks' neighbours": lambda sims, items: other_item_rank(items),
    "rank among other tracks": lambda sims, items: distinct_item_rank(items),
    "exp((s-s0)/0.02)": lambda sims, items: np.exp((sims - sims[:, :1]) / 0.02),
    "exp((s-s0)/0.05)": lambda sims, items: np.exp((sims - sims[:, :1]) / 0.05),
    "exp((s-s0)/0.1)": lambda sims, items: np.exp((sims - sims[:, :1]) / 0.1),
}
if args.latentid_weight_only:
    WEIGHTS = dict(list(WEIGHTS.items())[:1])
queries = json.load(open(args.queries))["queries"]
records = []
for q in queries:
    name = os.path.basename(q["file"])
    if name not in rows_of:
        continue
    rows = np.array([r for r, _ in rows_of[name]])
    frames = np.array([f for _, f in rows_of[name]])
    qc = Q[rows]
    sims = qc @ S.T
    kk = min(3 * K, S.shape[0] - 1)
    part = np.argpartition(-sims, kk, axis=1)[:, :kk]
    order_ = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
    nb = np.take_along_axis(part, order_, axis=1)
    mu, sd = sims.mean(axis=1), sims.std(axis=1) + 1e-6
    truth = item_of.get(q["track"]) if q["track"] else None
    for kind in (["pos", "left out"] if truth is not None else ["out of library"]):
        if kind == "left out":
            lists = [row[s_item[row] != truth][:K] for row in nb]
        else:
            lists = [row[:K] for row in nb]
        idx = np.full((len(lists), K), -1)
        for j, row in enumerate(lists):
            idx[j, : len(row)] = row
        items = np.where(idx >= 0, s_item[idx], -1)
        offs = np.where(idx >= 0, s_off[idx], 0)
        nsims = np.where(idx >= 0, np.take_along_axis(sims, np.maximum(idx, 0), axis=1), -9.0)
        n = len(frames)
        rec = {"kind": kind, "cond": q["condition"], "length": f"{q['length']:g} s"}
        if kind == "pos":
            # How many of the clip's patches find their own track at all: first, or in the k.
            rec["own first"] = float(np.mean(s_item[nb[:, 0]] == truth))
            rec["own in k"] = float(np.mean((s_item[nb[:, :K]] == truth).any(axis=1)))
        for wname, wfun in WEIGHTS.items():
            T = tallies(items, offs, frames, wfun(nsims, items))
            if not T:
                continue
            a2 = T[1][0] if len(T) > 1 else 0.0
            rec[wname] = ((T[0][0] - a2) / math.sqrt(n), T[0][1] == truth and kind == "pos")
            if wname.endswith("(latentid)"):
                # Other ways to judge the same tallies' lead: against the rival's own level
                # (chance votes pile up where a clip sprays many), the next tracks' spread,
                # or as a share of the top.
                top_right = T[0][1] == truth and kind == "pos"
                lead = T[0][0] - a2
                share = 1.0 - a2 / max(T[0][0], 1e-9)
                for c in (0.5, 1.0, 2.0, 4.0):
                    rec[f"lead / sqrt(rival + {c:g})"] = (lead / math.sqrt(a2 + c), top_right)
                nxt = [t[0] for t in T[1:21]] + [0.0] * max(0, 21 - len(T))
                rec["lead / sqrt(mean of the next 5 + 1)"] = (lead / math.sqrt(np.mean(nxt[:5]) + 1.0), top_right)
                rec["z of the top over the next 20"] = ((T[0][0] - np.mean(nxt)) / (np.std(nxt) + 0.05), top_right)
                rec["1 - rival / top"] = (share, top_right)
                rec["lead / sqrt(n) x (1 - rival / top)"] = (lead / math.sqrt(n) * share, top_right)
                # The five best voted tracks: (vote, track, aligned z, right track in library).
                rec["top5"] = [(t[0], t[1], aligned_z(qc, frames, t[1], t[2], mu, sd), t[1] == truth and kind == "pos")
                               for t in T[:5]]
                best_z = max(rec["top5"], key=lambda t: t[2])
                rec["aligned similarity z (sequence)"] = (best_z[2], best_z[3])
                rec["n"] = n
        records.append(rec)

if args.records:
    with open(args.records, "w") as f:
        for r in records:
            f.write(json.dumps(r) + "\n")
print(f"{args.dump}: {sum(r['kind'] == 'pos' for r in records)} in-library clips, "
      f"{sum(r['kind'] != 'pos' for r in records)} negatives; k={K}, votes agree within +-{TOL} frames, "
      f"threshold = {args.quantile} quantile of negatives\n")
print("| statistic | length | threshold | named | top candidate right | out-of-library named |")
print("|---|---|---:|---:|---:|---:|")
# Every statistic a record carries, latentid's weights first.
EXTRA = sorted({k for r in records for k in r} - set(WEIGHTS) - {"kind", "cond", "length", "own first", "own in k", "top5", "n"})
for stat in [*WEIGHTS, *EXTRA]:
    tot_named = tot = 0
    for length in sorted({r["length"] for r in records}, key=lambda s: float(s.split()[0])):
        mine = [r for r in records if r["length"] == length and stat in r]
        neg = np.array([r[stat][0] for r in mine if r["kind"] != "pos"])
        thr = float(np.quantile(neg, args.quantile))
        pos = [r for r in mine if r["kind"] == "pos"]
        named = sum(r[stat][1] and r[stat][0] > thr for r in pos)
        ood = [r[stat][0] > thr for r in mine if r["kind"] == "out of library"]
        print(f"| {stat} | {length} | {thr:.3g} | {100 * named / len(pos):.1f}% | "
              f"{100 * sum(r[stat][1] for r in pos) / len(pos):.1f}% | {100 * np.mean(ood):.1f}% |")
        tot_named += named
        tot += len(pos)
    print(f"| {stat} | all | | **{100 * tot_named / tot:.1f}%** | | |")

print("\nPer condition, in-library clips: share of query patches whose nearest signature is of their own track "
      "(mean over clips), whose k neighbours include it, and named under the latentid statistic above.\n")
print("| condition | length | own track first | own track in the k | top candidate right | named |")
print("|---|---|---:|---:|---:|---:|")
stat = next(iter(WEIGHTS))
thr = {}
for length in {r["length"] for r in records}:
    neg = [r[stat][0] for r in records if r["length"] == length and r["kind"] != "pos" and stat in r]
    thr[length] = float(np.quantile(neg, args.quantile))
cells = collections.defaultdict(list)
for r in records:
    if r["kind"] == "pos" and stat in r:
        cells[(r["cond"], r["length"])].append(r)
for (cond, length), rs in sorted(cells.items(), key=lambda kv: (kv[0][0], float(kv[0][1].split()[0]))):
    print(f"| {cond} | {length} | {100 * np.mean([r['own first'] for r in rs]):.0f}% | "
          f"{100 * np.mean([r['own in k'] for r in rs]):.0f}% | {100 * np.mean([r[stat][1] for r in rs]):.1f}% | "
          f"{100 * np.mean([r[stat][1] and r[stat][0] > thr[length] for r in rs]):.1f}% |")
