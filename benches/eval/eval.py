"""latentid against audfprint and a PCA baseline on real music under real distortions.

Run through benches/eval/run.sh (it makes the virtualenv and builds the release binary):

    benches/eval/run.sh                 # the full table into benches/RESULTS.md
    benches/eval/run.sh --per-cell 10   # a quicker, noisier run

Everything it fetches or makes lives in benches/work/eval/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime
import json
import platform
import subprocess
from collections import defaultdict
from pathlib import Path

import corpus
import queries as Q
import systems

ROOT = Path(__file__).resolve().parents[2]


def score(run: systems.Run, qs: list[Q.Query]) -> dict:
    cells: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    offset_ok, wrong, out = [], [], defaultdict(list)
    for q in qs:
        ans = run.answers.get(q.file)
        if q.track is None:
            out[f"{q.length:g}"].append(int(ans is not None))
            continue
        ok = int(ans == q.track)
        cells[q.condition][f"{q.length:g}"].append(ok)
        wrong.append(int(ans is not None and ans != q.track))
        off = run.offsets.get(q.file)
        if ok and off is not None:
            offset_ok.append(int(abs(off - q.offset) <= 0.5))
    acc = {c: {l: sum(v) / len(v) for l, v in d.items()} for c, d in cells.items()}
    all_out = [x for v in out.values() for x in v]
    return {
        "top1": acc,
        "n_per_cell": {c: {l: len(v) for l, v in d.items()} for c, d in cells.items()},
        "false_match": {l: sum(v) / len(v) for l, v in out.items()},
        "false_match_all": sum(all_out) / len(all_out) if all_out else float("nan"),
        "n_out": len(all_out),
        "wrong_track_in_library": sum(wrong) / len(wrong) if wrong else float("nan"),
        "offset_within_0.5s": sum(offset_ok) / len(offset_ok) if offset_ok else float("nan"),
    }


def pct(x: float) -> str:
    return f"{100 * x:.1f}"


def markdown(results: dict) -> str:
    meta = results["meta"]
    lines = [
        f"Run {meta['date']} at commit `{meta['commit']}` on {meta['machine']}.",
        f"Command: `{meta['command']}` ({meta['minutes']:.0f} min for the whole run).",
        "",
        f"Corpus: {meta['library_tracks']} library tracks ({meta['library_hours']:.2f} h) and "
        f"{meta['heldout_tracks']} held-out tracks ({meta['heldout_hours']:.2f} h) of OGG game music from Debian: "
        + ", ".join(f"{p} {v}" for p, v in meta["packages"].items())
        + f". Seeded split ({int(corpus.HELDOUT_SHARE * 100)}% held out, seed {meta['seed']}). "
        f"Queries: {meta['per_cell']} random excerpts per condition and length from library tracks, "
        f"{meta['out_per_cell']} per condition and length from held-out tracks "
        f"({', '.join(Q.OUT_CONDITIONS)}) for the false-match rate. Conditions: clean; pink noise at 10 "
        "and 0 dB SNR; other music (held-out tracks) mixed at 5 dB; reverb (synthetic room, RT60 0.5 s) "
        "plus pink noise at 10 dB; telephone band 300-3400 Hz re-encoded as 8 kHz 16 kbit/s MP3; -20 dB gain.",
        "",
        "Top-1 accuracy (%) — the right track named; \"no match\" and a wrong track both count as misses:",
        "",
    ]
    names = list(results["systems"])
    header = "| condition | " + " | ".join(f"{n} {l}s" for n in names for l in ("2", "5", "10")) + " |"
    lines += [header, "|---|" + "---:|" * (3 * len(names))]
    for c in Q.CONDITIONS:
        row = [c]
        for n in names:
            t = results["systems"][n]["score"]["top1"].get(c, {})
            row += [pct(t.get(l, float("nan"))) for l in ("2", "5", "10")]
        lines.append("| " + " | ".join(row) + " |")
    row = ["false matches (out of library)"]
    for n in names:
        fm = results["systems"][n]["score"]["false_match"]
        row += [pct(fm.get(l, float("nan"))) for l in ("2", "5", "10")]
    lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "| system | false matches, all lengths | wrong track named (in library) | offset within 0.5 s (of correct) "
        "| index speed (x real time, incl. training) | training (s) | index peak memory (MB) | index MB per audio hour "
        "| query, batch (ms per clip) | query, one-shot 5 s clip (median ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        s = results["systems"][n]
        sc = s["score"]
        lines.append(
            f"| {n} | {pct(sc['false_match_all'])}% of {sc['n_out']} | {pct(sc['wrong_track_in_library'])}% "
            f"| {pct(sc['offset_within_0.5s'])}% | {meta['library_hours'] * 3600 / s['index_seconds']:.0f} "
            f"| {s['train_seconds']:.0f} | {s['index_peak_mb']:.0f} "
            f"| {s['index_bytes'] / 1e6 / meta['library_hours']:.1f} "
            f"| {1000 * s['query_seconds_total'] / meta['n_queries']:.0f} | {systems.median(s['one_shot_ms']):.0f} |"
        )
    for n in names:
        for note in results["systems"][n]["notes"]:
            lines.append(f"\n{n}: {note}")
    return "\n".join(lines)


def write_results_md(text: str) -> None:
    path = ROOT / "benches" / "RESULTS.md"
    md = path.read_text()
    begin, end = "<!-- eval:begin -->", "<!-- eval:end -->"
    head, rest = md.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--work", type=Path, default=ROOT / "benches" / "work" / "eval")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-cell", type=int, default=40, help="library queries per condition and length")
    ap.add_argument("--out-per-cell", type=int, default=40, help="held-out queries per condition and length")
    ap.add_argument("--systems", default="latentid,pca,audfprint")
    ap.add_argument("--latentid-args", default="", help="extra flags for `latentid index` (both encoders)")
    ap.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "latentid",
                    help="the latentid binary to measure (run.sh builds target/release/latentid)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse indexes a previous run built (to iterate on querying only)")
    ap.add_argument("--no-write", action="store_true", help="do not touch benches/RESULTS.md")
    args = ap.parse_args()
    started = datetime.datetime.now()
    work = args.work.resolve()
    work.mkdir(parents=True, exist_ok=True)

    lib, held, versions = corpus.build(work, args.seed)
    print(f"corpus: {len(lib)} library tracks, {len(held)} held out", flush=True)
    qs = Q.make(work, lib, held, args.per_cell, args.out_per_cell, args.seed)
    files = [q.file for q in qs]
    one_shot = [q.file for q in qs if q.condition == "clean" and q.length == 5.0]
    print(f"queries: {len(qs)}", flush=True)

    binary = args.binary.resolve()
    results = {"systems": {}}
    extra = args.latentid_args.split()
    for name in args.systems.split(","):
        print(f"running {name} ...", flush=True)
        if name == "latentid":
            run = systems.latentid(binary, work / "library", work / "idx-ae", files, one_shot, "ae", extra, args.reuse)
        elif name == "pca":
            run = systems.latentid(binary, work / "library", work / "idx-pca", files, one_shot, "pca", extra, args.reuse)
        elif name == "audfprint":
            run = systems.audfprint(ROOT / "benches" / "work" / "venv", work / "library", work / "afp" / "db.pklz",
                                    files, one_shot, args.reuse)
        else:
            raise SystemExit(f"unknown system {name}")
        sc = score(run, qs)
        results["systems"][run.name] = {**run.__dict__, "score": sc}
        print(json.dumps({"system": run.name, **sc}), flush=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT, capture_output=True, text=True).stdout
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), platform.machine())
    import os
    results["meta"] = {
        "date": started.strftime("%Y-%m-%d"),
        "commit": commit + ("+local changes" if dirty else ""),
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "command": "benches/eval/run.sh " + " ".join(
            a for a in (f"--per-cell {args.per_cell}" if args.per_cell != 40 else "",
                        f"--latentid-args '{args.latentid_args}'" if args.latentid_args else "") if a),
        "minutes": (datetime.datetime.now() - started).total_seconds() / 60,
        "packages": versions,
        "seed": args.seed,
        "per_cell": args.per_cell,
        "out_per_cell": args.out_per_cell,
        "library_tracks": len(lib),
        "library_hours": sum(t.seconds for t in lib) / 3600,
        "heldout_tracks": len(held),
        "heldout_hours": sum(t.seconds for t in held) / 3600,
        "n_queries": len(qs),
    }
    (work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    text = markdown(results)
    print(text)
    if not args.no_write:
        write_results_md(text)


if __name__ == "__main__":
    main()
