"""Writes the planted out-of-domain audio files: sound effects (a montage of game sound
effects), noise, and a damaged rip of a track (skips, repeats, dropouts and clipping), each a
22.05 kHz mono 16-bit WAV. Usage: planted_audio.py OUT_DIR TRACK SFX_FILE...
(needs ffmpeg and numpy)."""
import subprocess, sys, wave
import numpy as np

RATE = 22050

def decode(path):
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", path, "-ac", "1", "-ar", str(RATE),
                          "-f", "f32le", "-"], check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype=np.float32).copy()

def save(path, x):
    x = np.clip(x, -1, 1)
    with wave.open(path, "wb") as w:
        w.setnchannels(1); w.setsampwidth(2); w.setframerate(RATE)
        w.writeframes((x * 32767).astype("<i2").tobytes())

out, track, sfx = sys.argv[1], sys.argv[2], sys.argv[3:]
rng = np.random.default_rng(20)
# Sound effects: one after another with short gaps, 60 s.
parts, total = [], 0
while total < 60 * RATE:
    for f in sfx:
        s = decode(f)[: 4 * RATE]
        s = s / max(1e-3, np.abs(s).max()) * 0.8
        parts += [s, np.zeros(int(RATE * rng.uniform(0.05, 0.4)), np.float32)]
        total += len(parts[-1]) + len(s)
save(f"{out}/sound_effects.wav", np.concatenate(parts)[: 60 * RATE])
# White noise, 60 s.
save(f"{out}/noise.wav", rng.normal(0, 0.15, 60 * RATE).astype(np.float32))
# A damaged rip: every 0.25-1.5 s the reader skips, repeats a 40-120 ms block (a stuck
# laser), drops out or glitches to full-scale junk; the rest is clipped hard.
x = decode(track)[: 120 * RATE]
y, i = [], 0
while i < len(x):
    n = int(RATE * rng.uniform(0.25, 1.5)); y.append(x[i:i + n]); i += n
    b = int(RATE * rng.uniform(0.04, 0.12)); kind = rng.integers(4)
    if kind == 0: y += [x[i:i + b]] * int(rng.integers(3, 8))
    elif kind == 1: y.append(np.zeros(b, np.float32))
    elif kind == 2: y.append(rng.uniform(-1, 1, b).astype(np.float32))
    i += b if kind != 3 else int(RATE * rng.uniform(0.2, 1.0))
save(f"{out}/damaged_rip.wav", np.clip(np.concatenate(y) * 4.0, -0.9, 0.9))
