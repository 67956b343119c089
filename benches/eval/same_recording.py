#!/usr/bin/env python3
"""Is an out-of-library clip that latentid named the same recording as the track it named?

    same_recording.py QUERY_SOURCE T_QUERY NAMED_TRACK T_NAMED [--seconds 10] [--search 4]

Correlates the log power spectrograms (150-3750 Hz, 8 kHz mono, 64 ms frames every 32 ms) of
SECONDS of QUERY_SOURCE from T_QUERY and of NAMED_TRACK from T_NAMED, at the best lag within
+-SEARCH s (in steps of one frame hop), beside two references: the query source against itself
half a hop off (what one recording scores when the lag grid misses it, ~0.9) and against the
named track 30 s later (what unrelated music in the same style scores, ~0.3). A pair near the
first is shared audio (the library holds the clip: not a false match); a pair near the second
is only related music. Each file is decoded once per comparison. Needs ffmpeg and numpy."""
import argparse
import subprocess

import numpy as np

ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
ap.add_argument("query_source")
ap.add_argument("t_query", type=float)
ap.add_argument("named_track")
ap.add_argument("t_named", type=float)
ap.add_argument("--seconds", type=float, default=10.0)
ap.add_argument("--search", type=float, default=4.0)
a = ap.parse_args()
RATE, FRAME, HOP = 8000, 512, 256


def spectrogram(path: str, start: float, seconds: float) -> np.ndarray:
    """Log power frames (rows) of `seconds` of `path` from `start`."""
    raw = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(start), "-t", str(seconds), "-i", path,
                          "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"], capture_output=True, check=True).stdout
    x = np.frombuffer(raw, np.float32)
    w = np.hanning(FRAME)
    frames = np.stack([x[i:i + FRAME] * w for i in range(0, len(x) - FRAME, HOP)])
    return np.log(np.abs(np.fft.rfft(frames))[:, 10:240] ** 2 + 1e-6)


def correlation(p: np.ndarray, q: np.ndarray) -> float:
    n = min(len(p), len(q))
    p, q = p[:n].ravel() - p[:n].mean(), q[:n].ravel() - q[:n].mean()
    return float(p @ q / np.sqrt((p @ p) * (q @ q)))


def best(ref: np.ndarray, path: str, start: float) -> tuple[float, float]:
    """The best correlation of `ref` with `path` from `start` + lag, and that lag (s)."""
    step = HOP / RATE
    first = max(start - a.search, 0.0)
    frames = spectrogram(path, first, a.seconds + (start - first) + a.search)
    lags = np.arange(-a.search, a.search + 1e-9, step)
    return max((correlation(ref, frames[i:i + len(ref)]), float(lag))
               for lag in lags
               for i in [round((start + lag - first) / step)]
               if i >= 0 and i + len(ref) <= len(frames))


ref = spectrogram(a.query_source, a.t_query, a.seconds)
for label, path, start in (("pair", a.named_track, a.t_named),
                           ("reference: the same recording, half a hop off", a.query_source, a.t_query + HOP / RATE / 2),
                           ("reference: the named track 30 s later", a.named_track, a.t_named + 30)):
    c, lag = best(ref, path, start)
    print(f"{label}: correlation {c:.2f} at lag {lag:+.2f} s")
