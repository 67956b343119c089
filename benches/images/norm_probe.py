"""A plain pixel baseline on the picture bench's files: how much of each alteration row the
pixels alone identify, under three ways of standardising them.

Each picture's luminance at 64 x 64 (PIL, bilinear) is standardised by mean and deviation (as
latentid's `planes` does), by median and MAD, or by rank, then averaged in 4 x 4 blocks (the
16 x 16 the picture model rebuilds); a copy is identified as the nearest original by Euclidean
distance. "either" keeps the mean/deviation and the median/MAD signatures side by side and takes
the nearer of the two. Printed per row: right answers of the in-library copies, and of the
stellarium-data ones (dark sky photographs) apart. Used in benches/RESULTS.md, "Where the main
set's misses are" and "A finer input, and a second standardisation beside the first".

Run from the repository root after benches/images/run.sh, with the bench's virtualenv:
  benches/work/images/venv/bin/python benches/images/norm_probe.py
"""
import os

import numpy as np
from PIL import Image

LIBRARY = "benches/work/images/library"
QUERIES = "benches/work/images/queries"
ROWS = ["text-caption", "color-strong", "jpeg-q10", "rotate-5_", "crop-85_", "blur-sigma_3",
        "noise-sigma_0.1"]


def luminance(path):
    img = Image.open(path).convert("L").resize((64, 64), Image.BILINEAR)
    return np.asarray(img, dtype=np.float32) / 255


def by_mean_and_deviation(x):
    return (x - x.mean()) / max(x.std(), 1e-3)


def by_median_and_mad(x):
    m = np.median(x)
    s = np.median(np.abs(x - m)) * 1.4826
    return np.clip((x - m) / max(s, 1e-3), -4, 4)


def by_rank(x):
    r = x.ravel().argsort().argsort().reshape(x.shape).astype(np.float32)
    return (r / r.size - 0.5) * 3.46  # about unit deviation, as the others


STANDARDISE = {"std": by_mean_and_deviation, "robust": by_median_and_mad, "rank": by_rank}


def signature(path, standardise):
    return standardise(luminance(path)).reshape(16, 4, 16, 4).mean(axis=(1, 3)).ravel()


def main():
    originals = sorted(os.listdir(LIBRARY))
    stored = {
        name: np.stack([signature(os.path.join(LIBRARY, p), f) for p in originals])
        for name, f in STANDARDISE.items()
    }
    for row in ROWS:
        copies = [p for p in originals if os.path.exists(os.path.join(QUERIES, row, p))]
        right = {name: 0 for name in [*STANDARDISE, "either"]}
        right_sky = dict(right)
        sky = 0
        for p in copies:
            d = {
                name: ((stored[name] - signature(os.path.join(QUERIES, row, p), f)) ** 2).sum(axis=1)
                for name, f in STANDARDISE.items()
            }
            # Both standardisations side by side: the nearer of the two, each distance taken
            # over its median across the library (as if one signature per standardisation
            # were stored and the nearest of either counted).
            d["either"] = np.minimum(
                d["std"] / np.median(d["std"]), d["robust"] / np.median(d["robust"])
            )
            sky += "stellarium" in p
            for name, dist in d.items():
                hit = originals[int(dist.argmin())] == p
                right[name] += hit
                right_sky[name] += hit and "stellarium" in p
        print(row, {n: f"{right[n]}/{len(copies)} (stellarium {right_sky[n]}/{sky})" for n in right})


if __name__ == "__main__":
    main()
