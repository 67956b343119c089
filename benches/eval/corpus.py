"""The evaluation corpus: real game music from Debian packages, fetched and split reproducibly.

`apt-get download` + `dpkg -x` (no install, no root needed for the extraction), every OGG of at
least MIN_SECONDS (shorter files are sound effects), deduplicated by content, then split by a
seeded shuffle into library tracks and held-out tracks (the "no match" queries come from those).
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import subprocess
import zipfile
from dataclasses import dataclass, asdict
from pathlib import Path

# openarena-data (named in the issue) holds only sound effects; its music is in openarena-088-data.
PACKAGES = [
    "wesnoth-1.16-music",
    "hyperrogue-music",
    "frozen-bubble-data",
    "openarena-088-data",
    "nexuiz-music",
    "singularity-music",
]
MIN_SECONDS = 30.0
HELDOUT_SHARE = 0.15


@dataclass
class Track:
    name: str  # unique file name inside library/ or heldout/
    package: str
    source: str  # path inside the package
    seconds: float
    sha1: str


def _run(cmd: list[str], cwd: Path | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, check=True, capture_output=True, text=True).stdout


def duration(path: Path) -> float:
    """Seconds of audio, 0.0 for a file ffprobe cannot read (one hyperrogue track is broken)."""
    try:
        out = _run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)])
        return float(out.strip())
    except (subprocess.CalledProcessError, ValueError):
        return 0.0


def fetch(work: Path) -> dict[str, str]:
    """Download and unpack the packages; returns {package: version}."""
    debs = work / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    versions = {}
    for pkg in PACKAGES:
        found = sorted(debs.glob(f"{pkg}_*.deb"))
        if not found:
            print(f"fetching {pkg} ...", flush=True)
            _run(["apt-get", "download", pkg], cwd=debs)
            found = sorted(debs.glob(f"{pkg}_*.deb"))
        deb = found[-1]
        versions[pkg] = _run(["dpkg-deb", "-f", str(deb), "Version"]).strip()
        root = work / "root" / pkg
        if not root.exists():
            tmp = root.with_suffix(".tmp")
            tmp.mkdir(parents=True, exist_ok=True)
            _run(["dpkg-deb", "-x", str(deb), str(tmp)])
            # OpenArena keeps its music inside .pk3 (zip) archives.
            for pk3 in tmp.rglob("*.pk3"):
                with zipfile.ZipFile(pk3) as z:
                    for n in z.namelist():
                        if n.lower().endswith(".ogg"):
                            z.extract(n, tmp / "pk3" / pk3.stem)
                pk3.unlink()
            tmp.rename(root)
    return versions


def build(work: Path, seed: int) -> tuple[list[Track], list[Track], dict[str, str]]:
    """Fetch, collect, dedupe and split. Library files are hard links under work/library."""
    versions = fetch(work)
    manifest = work / "corpus.json"
    if manifest.exists():
        m = json.loads(manifest.read_text())
        if m["versions"] == versions and m["seed"] == seed:
            lib = [Track(**t) for t in m["library"]]
            held = [Track(**t) for t in m["heldout"]]
            return lib, held, versions
    seen: dict[str, Track] = {}
    for pkg in PACKAGES:
        root = work / "root" / pkg
        for f in sorted(root.rglob("*.ogg")):
            secs = duration(f)
            if secs < MIN_SECONDS:
                continue
            sha1 = hashlib.sha1(f.read_bytes()).hexdigest()
            if sha1 in seen:
                continue
            name = f"{pkg.split('-')[0]}__{f.stem}.ogg"
            seen[sha1] = Track(name, pkg, str(f.relative_to(root)), secs, sha1)
    tracks = sorted(seen.values(), key=lambda t: t.name)
    rng = random.Random(seed)
    rng.shuffle(tracks)
    n_held = max(2, round(HELDOUT_SHARE * len(tracks)))
    held, lib = sorted(tracks[:n_held], key=lambda t: t.name), sorted(tracks[n_held:], key=lambda t: t.name)
    for sub, group in (("library", lib), ("heldout", held)):
        d = work / sub
        d.mkdir(exist_ok=True)
        for t in group:
            dst = d / t.name
            if not dst.exists():
                os.link(work / "root" / t.package / t.source, dst)
    manifest.write_text(
        json.dumps(
            {"versions": versions, "seed": seed, "library": [asdict(t) for t in lib], "heldout": [asdict(t) for t in held]},
            indent=1,
        )
    )
    return lib, held, versions
