"""The systems under test, each driven through its own command line.

Every system indexes the same library folder and answers the same query files. Each returns, per
query file, the library file name it names (None for "no match"), where it has one the top
candidate whether or not it cleared the system's threshold, and measured costs: index wall time,
peak memory (GNU time), index bytes, batch and one-shot query wall times.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import statistics
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

BATCH = 400  # query files per invocation (argv stays short)
HERE = Path(__file__).resolve().parent


@dataclass
class Run:
    name: str
    answers: dict[str, str | None] = field(default_factory=dict)  # query file -> library file name
    offsets: dict[str, float | None] = field(default_factory=dict)
    # The best candidate whether or not it was named; empty for a system that has none (audfprint
    # reports nothing below its own match threshold).
    top: dict[str, str | None] = field(default_factory=dict)
    # The top candidate's numeric fields (latentid: confidence, agreement, evidence, ...).
    top_stats: dict[str, dict[str, float]] = field(default_factory=dict)
    index_seconds: float = 0.0
    train_seconds: float = 0.0
    # Training stops at a wall-clock budget (150 s by default): on a loaded machine it runs fewer
    # epochs, and the encoder is weaker. The count says whether that happened.
    train_epochs: int | None = None
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


def numeric_fields(candidate: dict) -> dict[str, float]:
    """A candidate's numeric fields (bool is not a number here)."""
    return {k: float(v) for k, v in candidate.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}


def latentid(binary: Path, library: Path, index: Path, queries: list[str], one_shot_files: list[str],
             encoder: str, extra: list[str], query_extra: list[str], raw_out: Path, reuse: bool = False) -> Run:
    """Indexes (unless reusing) and queries; every raw `query --json` line goes to raw_out (JSONL)."""
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
    run.train_epochs = (report.get("trained") or {}).get("epochs")
    run.index_peak_mb = peak
    if report["failed"]:
        run.notes.append(f"{len(report['failed'])} library files failed: {report['failed']}")
    stats = json.loads(subprocess.run([str(binary), "stats", "--index", str(index), "--json"],
                                      capture_output=True, text=True, check=True).stdout)
    run.index_bytes = int(stats["bytes"])
    run.notes.append(f"calibration: {json.dumps(report.get('calibration'))}")
    top = [] if "--top" in query_extra else ["--top", "3"]
    t0 = time.perf_counter()
    with raw_out.open("w") as raw:
        for i in range(0, len(queries), BATCH):
            chunk = queries[i: i + BATCH]
            p = subprocess.run([str(binary), "query", *chunk, "--index", str(index), "--json", *top, *query_extra],
                               capture_output=True, text=True)
            if p.returncode not in (0, 1):
                raise RuntimeError(f"latentid query failed ({p.returncode}):\n{p.stderr[-3000:]}")
            raw.write(p.stdout)
            for line in p.stdout.splitlines():
                r = json.loads(line)
                m = r.get("match")
                run.answers[r["query"]] = Path(m["path"]).name if m else None
                run.offsets[r["query"]] = m.get("offset_s") if m else None
                best = (r.get("candidates") or [None])[0]
                run.top[r["query"]] = Path(best["path"]).name if best else None
                if best:
                    run.top_stats[r["query"]] = numeric_fields(best)
                if "error" in r:
                    run.notes.append(f"query error: {r['query']}: {r['error']}")
    run.query_seconds_total = time.perf_counter() - t0
    run.one_shot_ms = one_shot(
        lambda f: [str(binary), "query", f, "--index", str(index), *query_extra], one_shot_files)
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


def pca_vote(python: Path, eval_dir: Path, truth: list[tuple[str, str, str, bool]], dims: int,
             reuse: bool = False) -> Run:
    """The numpy linear baseline (pca_vote.py): PCA of log-mel patches, exact kNN, offset vote.

    It has no real "no match" rule, so only its top candidate is scored. eval_dir must hold
    library/ and queries/; truth rows are (query file, library track or "", condition, in library).
    It builds its index in memory on every run: index_seconds is the whole run (features of the
    library and the queries, PCA, search), query_seconds_total 0.
    """
    run = Run("pca_vote")
    with (eval_dir / "truth.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["query", "track", "condition", "in_library"])
        for q, track, cond, inlib in truth:
            w.writerow([Path(q).name, track, cond, int(inlib)])
    out = eval_dir / "pca_vote.csv"
    key = {"dims": dims, "truth": (eval_dir / "truth.csv").read_text()}

    def build() -> dict:
        p, wall, peak = timed([str(python), str(HERE / "pca_vote.py"), str(eval_dir), "--dims", str(dims),
                               "--predictions", str(out)])
        if p.returncode != 0:
            raise RuntimeError(f"pca_vote failed:\n{p.stderr[-3000:]}")
        return {"wall": wall, "peak": peak, "key": key}

    sidecar = eval_dir / "pca_vote.run.json"
    stale = sidecar.exists() and json.loads(sidecar.read_text()).get("key") != key
    rec = cached_index(sidecar, reuse and out.exists() and not stale, build)
    run.index_seconds, run.index_peak_mb = rec["wall"], rec["peak"]
    by_name = {Path(q).name: q for q, *_ in truth}
    with out.open() as f:
        for row in csv.DictReader(f):
            q = by_name[row["query"]]
            run.top[q] = row["pred"] or None
            run.top_stats[q] = {"vote_share": float(row["score"])}
    run.notes.append(f"PCA of size {dims}; index build = the whole run (features, PCA, exact search); "
                     "no no-match rule, so every clip gets its top-1 (scored as the top candidate)")
    return run


def median(xs: list[float]) -> float:
    return statistics.median(xs) if xs else float("nan")
