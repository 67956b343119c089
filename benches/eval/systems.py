"""The systems under test, each driven through its own command line.

Every system indexes the same library folder and answers the same query files. Each returns, per
query file, the library file name it names (None for "no match"), and measured costs: index wall
time, peak memory (GNU time), index bytes, batch and one-shot query wall times.
"""

from __future__ import annotations

import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BATCH = 400  # query files per invocation (argv stays short)


@dataclass
class Run:
    name: str
    answers: dict[str, str | None] = field(default_factory=dict)  # query file -> library file name
    offsets: dict[str, float | None] = field(default_factory=dict)
    index_seconds: float = 0.0
    train_seconds: float = 0.0
    index_peak_mb: float = 0.0
    index_bytes: int = 0
    query_seconds_total: float = 0.0
    one_shot_ms: list[float] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def timed(cmd: list[str], **kw) -> tuple[subprocess.CompletedProcess, float, float]:
    """Runs cmd under GNU time; returns (process, wall seconds, peak RSS in MB)."""
    t0 = time.perf_counter()
    p = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, **kw)
    wall = time.perf_counter() - t0
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr)
    peak = int(m.group(1)) / 1024 if m else float("nan")
    return p, wall, peak


def dir_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def one_shot(cmd_for: callable, files: list[str], runs: int = 11) -> list[float]:
    out = []
    for f in files[:runs]:
        t0 = time.perf_counter()
        subprocess.run(cmd_for(f), capture_output=True, check=False)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def cached_index(sidecar: Path, reuse: bool, build: callable) -> dict:
    """Runs build() (which indexes and returns its measurements) unless reuse and a record exists."""
    if reuse and sidecar.exists():
        return json.loads(sidecar.read_text())
    rec = build()
    sidecar.write_text(json.dumps(rec))
    return rec


def latentid(binary: Path, library: Path, index: Path, queries: list[str], one_shot_files: list[str],
             encoder: str, extra: list[str], reuse: bool = False) -> Run:
    run = Run(f"latentid ({encoder})" if encoder != "ae" else "latentid")

    def build() -> dict:
        if index.exists():
            shutil.rmtree(index)
        p, wall, peak = timed([str(binary), "index", str(library), "--index", str(index), "--json",
                               "--encoder", encoder, *extra])
        if p.returncode != 0:
            raise RuntimeError(f"latentid index failed ({p.returncode}):\n{p.stderr[-3000:]}")
        return {"report": json.loads(p.stdout.strip().splitlines()[-1]), "wall": wall, "peak": peak}

    rec = cached_index(index.with_suffix(".run.json"), reuse and index.exists(), build)
    report, wall, peak = rec["report"], rec["wall"], rec["peak"]
    run.index_seconds = wall
    run.train_seconds = (report.get("trained") or {}).get("seconds", 0.0)
    run.index_peak_mb = peak
    if report["failed"]:
        run.notes.append(f"{len(report['failed'])} library files failed: {report['failed']}")
    stats = json.loads(subprocess.run([str(binary), "stats", "--index", str(index), "--json"],
                                      capture_output=True, text=True, check=True).stdout)
    run.index_bytes = int(stats["bytes"])
    run.notes.append(f"calibration: {json.dumps(report.get('calibration'))}")
    t0 = time.perf_counter()
    for i in range(0, len(queries), BATCH):
        chunk = queries[i: i + BATCH]
        p = subprocess.run([str(binary), "query", *chunk, "--index", str(index), "--json", "--top", "3"],
                           capture_output=True, text=True)
        if p.returncode not in (0, 1):
            raise RuntimeError(f"latentid query failed ({p.returncode}):\n{p.stderr[-3000:]}")
        for line in p.stdout.splitlines():
            r = json.loads(line)
            m = r.get("match")
            run.answers[r["query"]] = Path(m["path"]).name if m else None
            run.offsets[r["query"]] = m.get("offset_s") if m else None
            if "error" in r:
                run.notes.append(f"query error: {r['query']}: {r['error']}")
    run.query_seconds_total = time.perf_counter() - t0
    run.one_shot_ms = one_shot(
        lambda f: [str(binary), "query", f, "--index", str(index)], one_shot_files)
    return run


AFP_LINE = re.compile(r"^DEBUG:audfprint2:(?:Matched (\S+) .*? as (\S+) at\s+(-?[\d.]+) s|NOMATCH: (\S+))")


def audfprint(venv: Path, library: Path, db: Path, queries: list[str], one_shot_files: list[str],
              reuse: bool = False) -> Run:
    """audfprint2 with its default parameters (density 20, 11 kHz), two processes."""
    run = Run("audfprint")
    exe = str(venv / "bin" / "audfprint")

    def build() -> dict:
        if db.exists():
            db.unlink()
        db.parent.mkdir(parents=True, exist_ok=True)
        files = sorted(str(f) for f in library.iterdir())
        listing = db.with_suffix(".list")
        listing.write_text("\n".join(files) + "\n")
        # Library tracks are longer than audfprint's default 6-minute time range: 16 bits cover 25 min.
        p, wall, peak = timed([exe, "new", str(listing), "--list", "-d", str(db), "-H", "2", "-u", "16"])
        if p.returncode != 0:
            raise RuntimeError(f"audfprint new failed:\n{p.stderr[-3000:]}")
        return {"wall": wall, "peak": peak}

    rec = cached_index(db.with_suffix(".run.json"), reuse and db.exists(), build)
    run.index_seconds, run.index_peak_mb, run.index_bytes = rec["wall"], rec["peak"], dir_bytes(db)
    t0 = time.perf_counter()
    for i in range(0, len(queries), BATCH):
        chunk = queries[i: i + BATCH]
        p = subprocess.run([exe, "match", *chunk, "-d", str(db), "-v"], capture_output=True, text=True)
        if p.returncode != 0:
            raise RuntimeError(f"audfprint match failed:\n{p.stderr[-3000:]}")
        for line in p.stderr.splitlines():
            m = AFP_LINE.match(line)
            if not m:
                continue
            if m.group(4):
                run.answers[m.group(4)] = None
            else:
                run.answers[m.group(1)] = Path(m.group(2)).name
                run.offsets[m.group(1)] = float(m.group(3))
    run.query_seconds_total = time.perf_counter() - t0
    missing = [q for q in queries if q not in run.answers]
    if missing:
        run.notes.append(f"{len(missing)} queries without an audfprint answer line (counted as no match)")
    run.one_shot_ms = one_shot(lambda f: [exe, "match", f, "-d", str(db)], one_shot_files)
    return run


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")
