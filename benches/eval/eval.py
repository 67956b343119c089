"""latentid against audfprint and two PCA baselines on real music under real distortions.

Two corpora from disjoint Debian packages (corpus.py), each with its own library/held-out split,
its own indexes and its own table. Run through benches/eval/run.sh (it makes the virtualenv and
builds the release binary):

    benches/eval/run.sh                          # both corpora, tables into benches/RESULTS.md
    benches/eval/run.sh --corpus b --per-cell 10 # one corpus, a quicker, noisier run
    benches/eval/run.sh --reuse --systems latentid --query-args '--min-confidence 0.4' --no-write

Everything it fetches or makes lives in benches/work/eval/ (git-ignored); each corpus's raw
`latentid query --json` answers are kept there as answers-<system>.jsonl.
"""

from __future__ import annotations

import argparse
import datetime
import json
import math
import os
import platform
import shlex
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

import corpus
import queries as Q
import systems

ROOT = Path(__file__).resolve().parents[2]
SYSTEMS = ["latentid", "pca", "audfprint", "pca_vote"]
QUANTILES = [0.01, 0.05, 0.25, 0.50, 0.75, 0.95, 0.99]
# Numeric candidate fields that are not decision statistics (left out of the default --stat-fields).
NOT_STATS = {"id", "offset_s"}
NAN = float("nan")


def L(length: float) -> str:
    return f"{length:g}"


def rate(xs: list[int]) -> float:
    return sum(xs) / len(xs) if xs else NAN


def score(run: systems.Run, qs: list[Q.Query]) -> dict:
    """Top-1 rates per condition and length, named and top candidate, and the false-match rates.

    A system without a "no match" answer of its own (pca_vote) has no named figures; one that
    reports no candidate below its threshold (audfprint) has no top-candidate figures.
    """
    has_named, has_top = bool(run.answers), bool(run.top)
    named, top = defaultdict(lambda: defaultdict(list)), defaultdict(lambda: defaultdict(list))
    false = defaultdict(lambda: defaultdict(list))
    offset_ok, offset_ok_speed, wrong = [], [], []
    for q in qs:
        ans, best = run.answers.get(q.file), run.top.get(q.file)
        if q.track is None:
            hit = int(ans is not None)
            for c in (q.condition, "all"):
                for ln in (L(q.length), "all"):
                    false[c][ln].append(hit)
            continue
        for c in (q.condition, "all"):
            for ln in (L(q.length), "all"):
                named[c][ln].append(int(ans == q.track))
                top[c][ln].append(int(best == q.track))
        wrong.append(int(ans is not None and ans != q.track))
        off = run.offsets.get(q.file)
        if ans == q.track and off is not None:
            ok = int(abs(off - q.offset) <= 0.5)
            offset_ok.append(ok)
            if q.condition == "speed+2":
                offset_ok_speed.append(ok)

    def rates(d: dict) -> dict:
        return {c: {ln: rate(v) for ln, v in lens.items()} for c, lens in d.items()}

    return {
        "named": rates(named) if has_named else None,
        "top": rates(top) if has_top else None,
        "false_match": rates(false) if has_named else None,
        "n_in_cell": {c: {ln: len(v) for ln, v in lens.items()} for c, lens in named.items()},
        "n_out": {c: {ln: len(v) for ln, v in lens.items()} for c, lens in false.items()},
        "wrong_named_in_library": rate(wrong) if has_named else NAN,
        "offset_within_0.5s": rate(offset_ok),
        "offset_within_0.5s_speed": rate(offset_ok_speed),
    }


def stat_fields(run: systems.Run, wanted: list[str]) -> list[str]:
    """--stat-fields, or every numeric field of the first top candidate but ids and offsets."""
    if wanted:
        return wanted
    first = next(iter(run.top_stats.values()), {})
    return [k for k in first if k not in NOT_STATS]


def distributions(run: systems.Run, qs: list[Q.Query], fields: list[str]) -> dict:
    """Quantiles of each decision statistic of the top candidate, per clip length, for
    "right" (in-library clips whose top candidate is the right track, all conditions) and
    "out" (out-of-library clips)."""
    values = defaultdict(lambda: defaultdict(lambda: defaultdict(list)))
    for q in qs:
        st = run.top_stats.get(q.file)
        if st is None:
            continue
        if q.track is None:
            group = "out"
        elif run.top.get(q.file) == q.track:
            group = "right"
        else:
            continue
        for f in fields:
            if f in st:
                values[L(q.length)][group][f].append(st[f])
    out = {}
    for ln, groups in values.items():
        for group, by_field in groups.items():
            for f, xs in by_field.items():
                a = np.asarray(xs)
                out.setdefault(ln, {}).setdefault(group, {})[f] = {
                    "n": len(xs), **{f"{100 * p:g}%": float(np.quantile(a, p)) for p in QUANTILES},
                    "max": float(a.max())}
    return out


def pct(x: float | None) -> str:
    return "—" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{100 * x:.1f}"


def num(x: float) -> str:
    return f"{x:.3g}"


def distribution_table(dist: dict, fields: list[str]) -> list[str]:
    qs = [f"{100 * p:g}%" for p in QUANTILES]
    lines = ["| length | clips | statistic | n | " + " | ".join(qs) + " | max |",
             "|---|---|---|---:|" + "---:|" * (len(qs) + 1)]
    for length in Q.LENGTHS:
        for f in fields:
            for group, label in (("right", "in library, top = right track"), ("out", "out of library")):
                d = dist.get(L(length), {}).get(group, {}).get(f)
                if d is None:
                    continue
                lines.append(f"| {L(length)} s | {label} | {f} | {d['n']} | "
                             + " | ".join(num(d[k]) for k in qs) + f" | {num(d['max'])} |")
    return lines


def markdown(results: dict) -> str:
    meta, runs = results["meta"], results["systems"]
    c = meta["corpus"]
    names = list(runs)
    lines = [
        f"### Corpus {c['name'].upper()}: {', '.join(c['versions'])}",
        "",
        f"Run {meta['date']} at commit `{meta['commit']}` on {meta['machine']}. "
        f"Command: `{meta['command']}` ({meta['minutes']:.0f} min for this corpus; 5-minute load average "
        f"{meta['load'][0]:.1f} at the start, {meta['load'][1]:.1f} at the end).",
        "",
        f"Corpus: {c['library_tracks']} library tracks ({c['library_hours']:.2f} h) and {c['heldout_tracks']} "
        f"held-out tracks ({c['heldout_hours']:.2f} h): every OGG of at least {corpus.MIN_SECONDS:g} s in "
        + ", ".join(f"{p} {v} ({c['licences'][p]})" for p, v in c["versions"].items())
        + " (Debian version, then the licences of the chosen tracks from the package's copyright file, "
        "with track counts). Identical files dropped"
        + "".join(f"; {n}" for n in c["notes"])
        + f". Seeded split ({int(corpus.HELDOUT_SHARE * 100)}% held out, seed {meta['seed']})"
        + ("" if any("capped" in n for n in c["notes"]) else
           f"; no cap needed (libraries over {corpus.MAX_LIBRARY_HOURS:g} h are cut to a seeded choice)")
        + ".",
        "",
        f"Queries: {meta['per_cell']} random excerpts per condition and length ("
        + ", ".join(f"{L(x)} s" for x in Q.LENGTHS) + ") from library tracks; "
        f"{meta['out_per_cell']} per condition and length from held-out tracks ({', '.join(Q.OUT_CONDITIONS)}) "
        "for the false-match rate. Conditions: "
        + "; ".join(f"{k}: {Q.DESCRIPTIONS[k]}" for k in Q.CONDITIONS)
        + ". Offsets are where the clip starts in the track (for speed+2 too: see queries.py).",
        "",
        "Top-1 (%). *named*: the answer is the right track (\"no match\" and a wrong track are misses). "
        "*top*: the best candidate is the right track, named or not. audfprint reports nothing below "
        "its own threshold (named only); pca_vote has no no-match rule (top only).",
        "",
    ]
    cols = []  # (header, system, "named" | "top")
    for n in names:
        sc = runs[n]["score"]
        if sc["named"] is not None:
            cols.append((f"{n} named", n, "named"))
        if sc["top"] is not None:
            cols.append((f"{n} top", n, "top"))
    lines += ["| condition | length | " + " | ".join(h for h, _, _ in cols) + " |",
              "|---|---|" + "---:|" * len(cols)]
    for cond in [*Q.CONDITIONS, "all"]:
        for ln in [*(L(x) for x in Q.LENGTHS), *(["all"] if cond == "all" else [])]:
            row = ["**all in library**" if cond == "all" else cond, f"{ln} s" if ln != "all" else "all"]
            row += [pct(runs[n]["score"][kind].get(cond, {}).get(ln)) for _, n, kind in cols]
            lines.append("| " + " | ".join(row) + " |")
    fm_names = [n for n in names if runs[n]["score"]["false_match"] is not None]
    lens = [*(L(x) for x in Q.LENGTHS), "all"]
    lines += [
        "",
        f"False matches (% of out-of-library clips named; {meta['out_per_cell']} clips per condition and length):",
        "",
        "| out-of-library clips | " + " | ".join(f"{n} {ln}{' s' if ln != 'all' else ''}" for n in fm_names for ln in lens) + " |",
        "|---|" + "---:|" * (len(fm_names) * len(lens)),
    ]
    for cond in [*Q.OUT_CONDITIONS, "all"]:
        row = ["**all**" if cond == "all" else cond]
        row += [pct(runs[n]["score"]["false_match"].get(cond, {}).get(ln)) for n in fm_names for ln in lens]
        lines.append("| " + " | ".join(row) + " |")
    lines += [
        "",
        "| system | wrong track named (in library) | offset within 0.5 s (of right named) | same, speed+2 only "
        "| index speed (x real time, incl. training) | training s (epochs) | index peak memory (MB) | index MB per audio hour "
        "| query, batch (ms per clip) | query, one-shot 5 s clip (median ms) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for n in names:
        s, sc = runs[n], runs[n]["score"]
        if n == "pca_vote":
            continue  # no index of its own, no named answers: its costs are in its note
        lines.append(
            f"| {n} | {pct(sc['wrong_named_in_library'])}% | {pct(sc['offset_within_0.5s'])}% "
            f"| {pct(sc['offset_within_0.5s_speed'])}% "
            f"| {c['library_hours'] * 3600 / s['index_seconds']:.0f} "
            f"| {s['train_seconds']:.0f}{f' ({e})' if (e := s.get('train_epochs')) else ''} | {s['index_peak_mb']:.0f} "
            f"| {s['index_bytes'] / 1e6 / c['library_hours']:.1f} "
            f"| {1000 * s['query_seconds_total'] / meta['n_queries']:.0f} | {systems.median(s['one_shot_ms']):.0f} |")
    if "latentid" in runs:
        d = runs["latentid"]
        lines += [
            "",
            "Decision statistics of latentid's top candidate (default encoder), per clip length: in-library "
            "clips (all conditions) whose top candidate is the right track, against out-of-library clips' "
            "top candidate. Quantiles over the clips; every raw answer is in "
            f"`benches/work/eval/{c['name']}/answers-latentid.jsonl`.",
            "",
            *distribution_table(d["distributions"], d["stat_fields"]),
        ]
    for n in names:
        for note in runs[n]["notes"]:
            lines.append(f"\n{n}: {note}")
    return "\n".join(lines)


def scores_md(results: dict) -> str:
    """The score distributions of every latentid system (RESULTS.md shows the default one)."""
    out = []
    for n, s in results["systems"].items():
        if s.get("distributions"):
            out += [f"## {n}", "", *distribution_table(s["distributions"], s["stat_fields"]), ""]
    return "\n".join(out)


def write_results_md(name: str, text: str) -> None:
    """Replaces the corpus's marked block, creating it at the end of the audio section if absent."""
    path = ROOT / "benches" / "RESULTS.md"
    md = path.read_text()
    begin, end = f"<!-- eval-{name}:begin -->", f"<!-- eval-{name}:end -->"
    if begin not in md:
        later = [f"<!-- eval-{n}:begin -->" for n in corpus.CORPORA if n > name]
        at = next((md.index(m) for m in later if m in md), None)
        if at is None:
            section = md.index("## Audio evaluation")
            nxt = md.find("\n## ", section + 1)
            at = len(md) if nxt < 0 else nxt + 1
        md = f"{md[:at]}{begin}\n{end}\n\n{md[at:]}"
    head, rest = md.split(begin, 1)
    _, tail = rest.split(end, 1)
    path.write_text(f"{head}{begin}\n{text}\n{end}{tail}")


def run_corpus(name: str, args: argparse.Namespace, meta: dict) -> dict:
    started = datetime.datetime.now()
    # Other jobs may share the machine: the load average says how far to trust the timings.
    load = [os.getloadavg()[1]]
    c = corpus.build(args.work, name, args.seed)
    print(f"corpus {name}: {len(c.library)} library tracks ({c.hours('library'):.2f} h), "
          f"{len(c.heldout)} held out", flush=True)
    qs = Q.make(c.work, c.library, c.heldout, args.per_cell, args.out_per_cell, args.seed)
    files = [q.file for q in qs]
    one_shot = [q.file for q in qs if q.condition == "clean" and q.length == 5.0]
    print(f"queries: {len(qs)}", flush=True)

    extra, qextra = shlex.split(args.latentid_args), shlex.split(args.query_args)
    fields = [f for f in args.stat_fields.split(",") if f]
    results = {"systems": {}}
    for sys_name in args.systems.split(","):
        print(f"[{name}] running {sys_name} ...", flush=True)
        if sys_name in ("latentid", "pca"):
            enc = "ae" if sys_name == "latentid" else "pca"
            raw = c.work / f"answers-{'latentid' if enc == 'ae' else 'latentid-pca'}.jsonl"
            run = systems.latentid(args.binary, c.work / "library", c.work / f"idx-{enc}", files, one_shot,
                                   enc, extra, qextra, raw, args.reuse)
        elif sys_name == "audfprint":
            run = systems.audfprint(ROOT / "benches" / "work" / "venv", c.work / "library",
                                    c.work / "afp" / "db.pklz", files, one_shot, args.reuse)
        elif sys_name == "pca_vote":
            # PCA of the latent size latentid uses (its --latent-dim, default 32).
            dims = int(extra[extra.index("--latent-dim") + 1]) if "--latent-dim" in extra else 32
            truth = [(q.file, q.track or "", q.condition, q.track is not None) for q in qs]
            run = systems.pca_vote(Path(sys.executable), c.work, truth, dims, args.reuse)
            run.notes.append(f"whole run {run.index_seconds / 60:.1f} min, peak memory {run.index_peak_mb:.0f} MB")
        else:
            raise SystemExit(f"unknown system {sys_name} (known: {', '.join(SYSTEMS)})")
        sc = score(run, qs)
        entry = {**run.__dict__, "score": sc}
        if sys_name in ("latentid", "pca"):
            entry["stat_fields"] = stat_fields(run, fields)
            entry["distributions"] = distributions(run, qs, entry["stat_fields"])
        results["systems"][run.name] = entry
        print(json.dumps({"system": run.name, "named_all": (sc["named"] or {}).get("all"),
                          "top_all": (sc["top"] or {}).get("all"),
                          "false_match_all": (sc["false_match"] or {}).get("all")}), flush=True)

    load.append(os.getloadavg()[1])
    results["meta"] = {
        **meta,
        "minutes": (datetime.datetime.now() - started).total_seconds() / 60,
        "load": load,
        "seed": args.seed,
        "per_cell": args.per_cell,
        "out_per_cell": args.out_per_cell,
        "n_queries": len(qs),
        "corpus": {
            "name": name, "versions": c.versions, "licences": c.licences, "notes": c.notes,
            "library_tracks": len(c.library), "library_hours": c.hours("library"),
            "heldout_tracks": len(c.heldout), "heldout_hours": c.hours("heldout"),
        },
    }
    (c.work / "results.json").write_text(json.dumps(results, indent=1, default=str))
    (c.work / "scores.md").write_text(scores_md(results))
    text = markdown(results)
    print(text, flush=True)
    if not args.no_write:
        write_results_md(name, text)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus", choices=[*corpus.CORPORA, "all"], default="all",
                    help="which corpus (default: all, one after the other)")
    ap.add_argument("--work", type=Path, default=ROOT / "benches" / "work" / "eval")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--per-cell", type=int, default=40, help="library queries per condition and length")
    ap.add_argument("--out-per-cell", type=int, default=40, help="held-out queries per condition and length")
    ap.add_argument("--systems", default=",".join(SYSTEMS), help=f"comma-separated, of {','.join(SYSTEMS)}")
    ap.add_argument("--latentid-args", default="", help="extra flags for `latentid index` (both encoders)")
    ap.add_argument("--query-args", default="", help="extra flags for `latentid query` (both encoders)")
    ap.add_argument("--stat-fields", default="",
                    help="candidate fields whose distributions to report (comma-separated; "
                         "default: every numeric field of the top candidate but id and offset_s)")
    ap.add_argument("--binary", type=Path, default=ROOT / "target" / "release" / "latentid",
                    help="the latentid binary to measure (run.sh builds target/release/latentid)")
    ap.add_argument("--reuse", action="store_true",
                    help="reuse the indexes (and pca_vote's answers) of a previous run: iterate on querying only")
    ap.add_argument("--no-write", action="store_true", help="print the tables, leave benches/RESULTS.md alone")
    ap.add_argument("--render-only", action="store_true",
                    help="run nothing: rebuild the tables from each corpus's results.json of the last run")
    args = ap.parse_args()
    args.work = args.work.resolve()
    args.binary = args.binary.resolve()
    args.work.mkdir(parents=True, exist_ok=True)

    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True).stdout.strip()
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                           capture_output=True, text=True).stdout
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")),
               platform.machine())
    entry = "benches/eval/run.sh" if os.environ.get("LATENTID_EVAL_VIA_RUN_SH") else "python benches/eval/eval.py"
    meta = {
        "date": datetime.date.today().isoformat(),
        "commit": commit + (" with local changes" if dirty else ""),
        "machine": f"{cpu}, {os.cpu_count()} cores",
        "command": " ".join([entry, *map(shlex.quote, sys.argv[1:])]),
    }
    for name in (corpus.CORPORA if args.corpus == "all" else [args.corpus]):
        if args.render_only:
            text = markdown(json.loads((args.work / name / "results.json").read_text()))
            print(text)
            if not args.no_write:
                write_results_md(name, text)
        else:
            run_corpus(name, args, meta)


if __name__ == "__main__":
    main()
