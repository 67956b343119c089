#!/usr/bin/env python3
"""Offline probe for issue 20 (photos): does a reconstruction of *detail* separate non-photos
from photos, where the product's 16 x 16 view does not? PCA of 8 x 8 luminance patches of 256 px
views (what a linear autoencoder learns), fitted on 200 patches of every picture (planted ones
included, as the index's model is); a picture's error is the median and the 0.9 quantile, over
its textured patches, of the share of the patch's variance not rebuilt. Prints where the
planted_* files rank (1 = most unlike the rest) and the top 10.

    python benches/outliers/detail_probe.py benches/work/outliers/photos [COMPONENTS]

Needs numpy and Pillow (the image bench's venv has both). Measured result in benches/RESULTS.md
(outliers): not a lead.
"""
import sys, glob, numpy as np
from PIL import Image
files = sorted(glob.glob(sys.argv[1] + "/*"))
S, P, K = 256, 8, int(sys.argv[2]) if len(sys.argv) > 2 else 8
rng = np.random.default_rng(1)
def patches(f):
    im = Image.open(f).convert("L"); im.thumbnail((S, S))
    a = np.asarray(im, dtype=np.float32) / 255.0
    h, w = a.shape[0] // P * P, a.shape[1] // P * P
    x = a[:h, :w].reshape(h // P, P, w // P, P).transpose(0, 2, 1, 3).reshape(-1, P * P)
    return x
X = [patches(f) for f in files]
train = np.concatenate([x[rng.choice(len(x), min(200, len(x)), replace=False)] for x in X])
c = train - train.mean(1, keepdims=True)  # each patch without its mean (brightness)
U, s, Vt = np.linalg.svd(c - c.mean(0), full_matrices=False); V = Vt[:K]
out = []
for f, x in zip(files, X):
    c = x - x.mean(1, keepdims=True)
    var = (c ** 2).sum(1)
    keep = var > 1e-5 * P * P  # textured patches only (flat ones rebuild trivially)
    if keep.sum() < 10: out.append((f, 0.0, 0.0, keep.mean())); continue
    r = c[keep] - c[keep] @ V.T @ V
    e = (r ** 2).sum(1) / var[keep]
    out.append((f, np.quantile(e, 0.5), np.quantile(e, 0.9), keep.mean()))
for col, name in [(1, "median"), (2, "q90")]:
    v = np.log(np.array([o[col] + 1e-6 for o in out])); med = np.median(v); mad = np.median(abs(v - med))
    order = np.argsort(-v)
    ranks = {files[i].rsplit("/", 1)[-1]: r + 1 for r, i in enumerate(order)}
    print(name, "K", K, {k: v for k, v in ranks.items() if k.startswith("planted")}, "top10:", [files[i].rsplit("__", 1)[-1] for i in order[:10]])
