#!/usr/bin/env python3
# Copied from the project's shared baselines (../shared/baselines/pca_vote.py, with its README) so
# CI and other machines, which do not have ../shared, can run it. One change: `--predictions FILE`
# writes every query's top-1 and vote share (CSV) for benches/eval to score per condition and
# length; the method is untouched.
"""Feasibility baseline (numpy only): log-mel 1 s patches -> PCA(d) signatures -> exact kNN ->
offset-consistent vote. This is what a *linear* autoencoder reaches; latentid's learned encoder
must beat it. Usage: pca_vote.py EVAL_DIR [--dims 2,4,8,16,32] [--limit N]"""
import argparse, csv, os, subprocess, sys, time, collections
import numpy as np

SR, NFFT, HOP, NMEL, PATCH, IDX_HOP = 8000, 1024, 256, 64, 32, 16  # 32 frames = 1.02 s; index every 0.5 s

def decode(p):
    out = subprocess.run(["ffmpeg", "-v", "quiet", "-i", p, "-ac", "1", "-ar", str(SR), "-f", "f32le", "-"],
                         capture_output=True).stdout
    return np.frombuffer(out, dtype=np.float32)

def melfb():
    def hz2mel(f): return 2595 * np.log10(1 + f / 700)
    def mel2hz(m): return 700 * (10 ** (m / 2595) - 1)
    pts = mel2hz(np.linspace(hz2mel(100), hz2mel(3800), NMEL + 2))
    bins = np.floor((NFFT + 1) * pts / SR).astype(int)
    fb = np.zeros((NMEL, NFFT // 2 + 1))
    for i in range(NMEL):
        a, b, c = bins[i], bins[i + 1], bins[i + 2]
        for k in range(a, b): fb[i, k] = (k - a) / max(b - a, 1)
        for k in range(b, c): fb[i, k] = (c - k) / max(c - b, 1)
    return fb
FB = melfb(); WIN = np.hanning(NFFT)

def logmel(x):
    if len(x) < NFFT: return np.zeros((0, NMEL))
    n = 1 + (len(x) - NFFT) // HOP
    idx = np.arange(NFFT)[None, :] + HOP * np.arange(n)[:, None]
    S = np.abs(np.fft.rfft(x[idx] * WIN, axis=1)) ** 2
    return np.log(S @ FB.T + 1e-6)

def patches(M, hop):
    if len(M) < PATCH: return np.zeros((0, NMEL * PATCH)), np.zeros(0, int)
    starts = np.arange(0, len(M) - PATCH + 1, hop)
    P = np.stack([M[s:s + PATCH].T.ravel() for s in starts])
    P = (P - P.mean(1, keepdims=True)) / (P.std(1, keepdims=True) + 1e-6)
    return P.astype(np.float32), starts

def main():
    ap = argparse.ArgumentParser(); ap.add_argument("eval"); ap.add_argument("--dims", default="4,8,16,32")
    ap.add_argument("--limit", type=int, default=0); ap.add_argument("--qhop", type=int, default=1)
    ap.add_argument("--predictions", help="CSV file for every query's top-1: dims,query,pred,score"); a = ap.parse_args()
    pred_rows = []
    E = a.eval
    lib = sorted(os.listdir(f"{E}/library"))
    t0 = time.time()
    P_all, owner, start = [], [], []
    for i, f in enumerate(lib):
        P, s = patches(logmel(decode(f"{E}/library/{f}")), IDX_HOP)
        P_all.append(P); owner += [i] * len(P); start += list(s)
    X = np.concatenate(P_all); owner = np.array(owner); start = np.array(start)
    t1 = time.time()
    print(f"library {len(lib)} tracks, {len(X)} patches, features {t1-t0:.0f}s", flush=True)
    rng = np.random.default_rng(0)
    samp = X[rng.choice(len(X), min(20000, len(X)), replace=False)]
    mu = samp.mean(0); U, S, Vt = np.linalg.svd(samp - mu, full_matrices=False)
    truth = list(csv.DictReader(open(f"{E}/truth.csv")))
    if a.limit: truth = truth[:: max(1, len(truth) // a.limit)]
    qfeat = {}
    for r in truth:
        qfeat[r["query"]] = patches(logmel(decode(f"{E}/queries/{r['query']}")), a.qhop)
    for d in map(int, a.dims.split(",")):
        W = Vt[:d].T
        Z = (X - mu) @ W; zn = (Z ** 2).sum(1)
        ok = collections.Counter(); n = collections.Counter(); scores = []; preds = []
        for r in truth:
            Q, qs = qfeat[r["query"]]
            if len(Q) == 0: pred, score = "", 0
            else:
                Zq = (Q - mu) @ W
                D = zn[None, :] - 2 * Zq @ Z.T
                nn = np.argpartition(D, 5, axis=1)[:, :5]
                votes = collections.Counter()
                for qi, row in enumerate(nn):
                    for j in row:
                        votes[(owner[j], (start[j] - qs[qi]) // 8)] += 1
                (tr, _), score = votes.most_common(1)[0]
                pred = lib[tr]
            scores.append((score / max(len(Q), 1), r)); preds.append(pred)
            pred_rows.append((d, r["query"], pred, score / max(len(Q), 1)))
            c = r["condition"] if r["in_library"] == "1" else "NEG_" + r["condition"]
            n[c] += 1; ok[c] += int(pred == r["track"]) if r["in_library"] == "1" else 0
        # named accuracy with the threshold just above the strongest clean negative (0 false matches)
        cneg = [sc for sc, r in scores if r["in_library"] == "0" and r["condition"].startswith("clean")]
        th0 = max(cneg) if cneg else 0
        named = collections.Counter()
        for (sc, r), p in zip(scores, preds):
            if r["in_library"] == "1" and sc > th0 and p == r["track"]: named[r["condition"]] += 1
        print(f"\n## PCA d={d} named with threshold above every clean negative (score > {th0:.3f}, 0/{len(cneg)} false)")
        for c in sorted(k for k in n if not k.startswith("NEG_")):
            print(f"{c:22s} {100*named[c]/n[c]:6.1f}%")
        print(f"{'IN-LIBRARY named':22s} {100*sum(named.values())/sum(n[c] for c in n if not c.startswith('NEG_')):6.1f}%", flush=True)
        # pick the vote-fraction threshold that rejects 95% of negatives
        neg = sorted(s for s, r in scores if r["in_library"] == "0")
        th = neg[int(0.95 * (len(neg) - 1))] if neg else 0
        acc_th = collections.Counter()
        for s, r in scores:
            c = r["condition"]
            if r["in_library"] == "1" and s > th: acc_th[c] += 1
        print(f"\n## PCA d={d} (nearest-vote top-1 | with threshold rejecting 95% of negatives: th={th:.3f})")
        for c in sorted(k for k in n if not k.startswith("NEG_")):
            print(f"{c:22s} {100*ok[c]/n[c]:6.1f}%")
        tot = sum(ok[c] for c in n if not c.startswith("NEG_")); N = sum(n[c] for c in n if not c.startswith("NEG_"))
        print(f"{'IN-LIBRARY':22s} {100*tot/N:6.1f}%", flush=True)
    if a.predictions:
        with open(a.predictions, "w", newline="") as f:
            w = csv.writer(f); w.writerow(["dims", "query", "pred", "score"]); w.writerows(pred_rows)

if __name__ == "__main__":
    main()
