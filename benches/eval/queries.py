"""Query clips: seeded excerpts of library and held-out tracks under real-world distortions.

Every clip is written as a file all systems read (16-bit WAV at 22.05 kHz mono, or MP3 for the
telephone condition), with its ground truth in queries.json.

`offset` is where in the track the clip's first sample comes from. For "speed+2" the clip covers
1.02 x its length of the track from there (played 2% fast, pitch and tempo both up), so a system's
offset for the clip start is still `offset`; an offset voted over the whole clip drifts by at most
2% of the clip length (0.2 s for 10 s), inside the 0.5 s tolerance.
"""

from __future__ import annotations

import json
import random
import subprocess
from dataclasses import dataclass, asdict
from pathlib import Path

import numpy as np
from scipy.io import wavfile
from scipy.signal import fftconvolve, resample_poly

from corpus import Track

RATE = 22050
LENGTHS = [3.0, 5.0, 10.0]
CONDITIONS = ["clean", "pink10", "pink0", "reverb_noise", "phone_mp3", "music5", "music0", "gain-20", "speed+2"]
DESCRIPTIONS = {
    "clean": "clean excerpt",
    "pink10": "pink noise at 10 dB SNR",
    "pink0": "pink noise at 0 dB SNR",
    "reverb_noise": "reverb (synthetic room, RT60 0.5 s) plus pink noise at 10 dB",
    "phone_mp3": "telephone band 300-3400 Hz re-encoded as 8 kHz 16 kbit/s MP3",
    "music5": "other music (a held-out track) mixed at 5 dB",
    "music0": "other music (a held-out track) mixed at 0 dB",
    "gain-20": "-20 dB gain",
    "speed+2": "2% faster (resampled: pitch and tempo both +2%)",
}
SPEED = 51 / 50  # "speed+2": this many seconds of the track per second of clip
# Out-of-library clips: the conditions a false match is most likely under.
OUT_CONDITIONS = ["clean", "pink10", "phone_mp3"]


@dataclass
class Query:
    file: str
    condition: str
    length: float
    track: str | None  # library file name, None for out-of-library
    offset: float  # seconds into the source track of the clip's first sample
    source: str  # the file name of the track the clip comes from (library or held-out)


def read_excerpt(path: Path, start: float, length: float) -> np.ndarray:
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-ss", f"{start:.3f}", "-t", f"{length:.3f}", "-i", str(path),
         "-ac", "1", "-ar", str(RATE), "-f", "f32le", "-"],
        check=True, capture_output=True,
    ).stdout
    return np.frombuffer(raw, dtype=np.float32).astype(np.float64)


def power(x: np.ndarray) -> float:
    return float(np.mean(x * x)) + 1e-12


def pink(n: int, rng: np.random.Generator) -> np.ndarray:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.arange(len(spec), dtype=np.float64)
    f[0] = 1.0
    return np.fft.irfft(spec / np.sqrt(f), n)


def at_snr(signal: np.ndarray, noise: np.ndarray, snr_db: float) -> np.ndarray:
    scale = np.sqrt(power(signal) / (power(noise) * 10 ** (snr_db / 10)))
    return signal + scale * noise


def room(rng: np.random.Generator, rt60: float = 0.5) -> np.ndarray:
    """A synthetic room impulse response: direct path plus exponentially decaying noise."""
    n = int(rt60 * RATE)
    t = np.arange(n) / RATE
    tail = rng.standard_normal(n) * np.exp(-6.9 * t / rt60) * 0.3
    tail[0] = 1.0
    return tail


def write_wav(path: Path, x: np.ndarray) -> None:
    peak = float(np.max(np.abs(x))) if len(x) else 0.0
    if peak > 0.99:
        x = x * (0.99 / peak)
    wavfile.write(path, RATE, (x * 32767).astype(np.int16))


def phone_mp3(wav: Path, mp3: Path) -> None:
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", str(wav), "-af", "highpass=f=300,lowpass=f=3400",
         "-ar", "8000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "16k", str(mp3)],
        check=True,
    )
    wav.unlink()


def distort(x: np.ndarray, condition: str, rng: np.random.Generator, others: list[Path]) -> np.ndarray:
    if condition in ("clean", "phone_mp3"):
        return x
    if condition == "pink10":
        return at_snr(x, pink(len(x), rng), 10.0)
    if condition == "pink0":
        return at_snr(x, pink(len(x), rng), 0.0)
    if condition == "gain-20":
        return x * 0.1
    if condition.startswith("music"):
        other = others[rng.integers(len(others))]
        secs = len(x) / RATE
        dur = float(subprocess.run(
            ["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(other)],
            check=True, capture_output=True, text=True).stdout)
        y = read_excerpt(other, rng.uniform(0, max(0.0, dur - secs)), secs)
        y = np.pad(y, (0, max(0, len(x) - len(y))))[: len(x)]
        return at_snr(x, y, float(condition.removeprefix("music")))
    if condition == "reverb_noise":
        wet = fftconvolve(x, room(rng))[: len(x)]
        return at_snr(wet, pink(len(x), rng), 10.0)
    if condition == "speed+2":
        # x holds SPEED x the clip length; played SPEED times faster = resampled by 1 / SPEED.
        return resample_poly(x, 50, 51)
    raise ValueError(condition)


def make(work: Path, library: list[Track], heldout: list[Track], per_cell: int, out_per_cell: int, seed: int) -> list[Query]:
    qdir = work / "queries"
    manifest = qdir / "queries.json"
    key = {"version": 3, "lengths": LENGTHS, "conditions": CONDITIONS, "out_conditions": OUT_CONDITIONS,
           "seed": seed, "per_cell": per_cell, "out_per_cell": out_per_cell,
           "library": [t.name for t in library], "heldout": [t.name for t in heldout]}
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m["key"] == key:
            return [Query(**q) for q in m["queries"]]
    qdir.mkdir(parents=True, exist_ok=True)
    for f in qdir.iterdir():
        f.unlink()
    rng = random.Random(seed)
    nrng = np.random.default_rng(seed)
    # "Other music" mixed into a clip comes from held-out tracks, never from its own.
    held_paths = [work / "heldout" / t.name for t in heldout]
    jobs = []
    for cond in CONDITIONS:
        for length in LENGTHS:
            for i in range(per_cell):
                t = rng.choice(library)
                jobs.append((cond, length, t, "library", i))
    for cond in OUT_CONDITIONS:
        for length in LENGTHS:
            for i in range(out_per_cell):
                t = rng.choice(heldout)
                jobs.append((cond, length, t, "heldout", i))
    queries = []
    for n, (cond, length, t, where, i) in enumerate(jobs):
        # Nobody asks "what song is this?" of silence: re-draw excerpts quieter than -45 dBFS
        # (some tracks end in long silences).
        span = length * (SPEED if cond == "speed+2" else 1.0)
        for _ in range(50):
            offset = round(rng.uniform(0.0, t.seconds - span - 0.5), 2)
            x = read_excerpt(work / where / t.name, offset, span)
            if len(x) and 10 * np.log10(power(x)) > -45.0:
                break
        others = [p for p in held_paths if p.name != t.name]
        y = distort(x, cond, nrng, others)
        stem = f"{'in' if where == 'library' else 'out'}-{cond}-{length:g}s-{i:03d}"
        wav = qdir / f"{stem}.wav"
        write_wav(wav, y)
        file = wav
        if cond == "phone_mp3":
            file = qdir / f"{stem}.mp3"
            phone_mp3(wav, file)
        queries.append(Query(str(file), cond, length, t.name if where == "library" else None, offset, t.name))
        if n % 200 == 0:
            print(f"  queries {n}/{len(jobs)}", flush=True)
    manifest.write_text(json.dumps({"key": key, "queries": [asdict(q) for q in queries]}, indent=1))
    return queries
