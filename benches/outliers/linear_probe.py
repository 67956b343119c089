"""Whole-picture linear models as outlier scores, beside the picture autoencoder's
reconstruction error (benches/RESULTS.md, "Outliers", the 2026-12-07 re-run).

Every picture of a folder becomes a vector (luminance standardised per picture, the log of its
gradient magnitude, or RGB standardised; at 16 x 16 or 32 x 32); a PCA of K components is fitted
on the library (on the other half of it, "held", or on all of it, "own") and a picture's error is
the share of its variance not rebuilt. Prints, per setting, where the planted files (names
starting "planted_") rank, and how many are in the top 10.

  benches/work/images/venv/bin/python benches/outliers/linear_probe.py FOLDER [FOLDER...]

(FOLDER: e.g. benches/work/outliers/photos after benches/outliers/run.sh.)
"""
import os
import sys

import numpy as np
from PIL import Image


def vector(path, res, mode):
    im = Image.open(path).convert("RGB")
    if mode == "luma":
        a = np.asarray(im.convert("L").resize((res, res), Image.BILINEAR), np.float32).ravel()
    elif mode == "gradient":
        g = np.asarray(im.convert("L").resize((2 * res, 2 * res), Image.BILINEAR), np.float32)
        gx = np.abs(np.diff(g, axis=1))[:-1]
        gy = np.abs(np.diff(g, axis=0))[:, :-1]
        m = Image.fromarray(np.sqrt(gx**2 + gy**2)).resize((res, res), Image.BOX)
        a = np.log1p(np.asarray(m)).ravel()
    else:
        a = np.asarray(im.resize((res, res), Image.BILINEAR), np.float32).ravel()
    return (a - a.mean()) / (a.std() + 1e-3)


def errors(x, k, held):
    """Share of each row's variance a K-component PCA does not rebuild; `held`: the PCA of
    the other half (rows split by index parity) measures each half."""
    out = np.zeros(len(x))
    halves = [np.arange(len(x)) % 2 == f for f in (0, 1)] if held else [np.ones(len(x), bool)]
    for part in halves:
        fit = ~part if held else part
        mu = x[fit].mean(0)
        v = np.linalg.svd(x[fit] - mu, full_matrices=False)[2][:k]
        r = (x[part] - mu) @ v.T @ v + mu
        out[part] = ((x[part] - r) ** 2).mean(1) / (x[part].var(1) + 1e-6)
    return out


def main():
    for folder in sys.argv[1:]:
        names = sorted(os.listdir(folder))
        planted = [i for i, n in enumerate(names) if n.startswith("planted_")]
        for mode in ["luma", "gradient", "rgb"]:
            for res in [16, 32]:
                x = np.stack([vector(os.path.join(folder, n), res, mode) for n in names])
                for k in [8, 16, 32]:
                    for held in [True, False]:
                        e = errors(x, k, held)
                        rank = np.empty(len(e), int)
                        rank[np.argsort(-e)] = np.arange(1, len(e) + 1)
                        r = [int(rank[i]) for i in planted]
                        print(os.path.basename(folder.rstrip("/")), mode, res, k,
                              "held" if held else "own", dict(zip([names[i] for i in planted], r)),
                              f"{sum(x <= 10 for x in r)} in the top 10", flush=True)


if __name__ == "__main__":
    main()
