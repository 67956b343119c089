"""The image evaluation: latentid against perceptual hashes (PyPI imagehash: pHash, dHash).

Steps (each cached under benches/work/images/, keyed by its inputs; run.sh calls them in order):
  prepare   real pictures from raw/ (see fetch.sh) -> library/ (indexed) and heldout/ (never
            indexed: the "not in the library" side), near-identical pictures dropped
  transform every picture under each alteration at two strengths -> queries/<alteration>-<strength>/
  run       latentid (release binary: index, then one `query --json` over every query file) and
            pHash / dHash (Hamming nearest neighbour over the library's originals) on the same files
  report    the table, written into benches/RESULTS.md between <!-- images:begin/end --> only

Everything random comes from --seed.
"""
import argparse
import datetime
import json
import os
import platform
import random
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

ROOT = Path(__file__).resolve().parents[2]
Image.MAX_IMAGE_PIXELS = 200_000_000

# (name, strength label, parameter). Strengths: "weak" is an everyday copy, "strong" a hard one.
ALTERATIONS = [
    ("crop", "weak", 0.90),  # keep 90 % of each side, random position
    ("crop", "strong", 0.70),
    ("rescale", "weak", 0.50),  # both sides times this
    ("rescale", "strong", 0.20),
    ("jpeg", "weak", 50),  # re-compressed at this quality
    ("jpeg", "strong", 10),
    ("color", "weak", (0.10, 1.20)),  # brightness shift, contrast factor (0..1 units)
    ("color", "strong", (-0.25, 0.60)),
    ("noise", "weak", 0.03),  # Gaussian noise, standard deviation (0..1 units)
    ("noise", "strong", 0.10),
]
MAX_SIDE = 1024
SAVE_QUALITY = 95


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------- prepare ----------

def candidates(raw: Path, rng: random.Random, nebulae: int):
    """(source, path) of every usable picture in the fetched packages."""
    pkg = raw / "pkg"
    out = []
    exts = {".jpg", ".jpeg", ".png"}

    def files(d, pattern="*"):
        return sorted(p for p in (pkg / d).rglob(pattern) if p.suffix.lower() in exts)

    for p in files("scikit-image/skimage/data"):
        out.append(("scikit-image", p))
    for p in files("scikit-learn/sklearn/datasets/images"):
        out.append(("scikit-learn", p))
    # Plasma ships each wallpaper at several sizes: one file per wallpaper (the largest).
    for d in sorted((pkg / "plasma-workspace-wallpapers/usr/share/wallpapers").glob("*/contents/images")):
        sizes = sorted(d.iterdir(), key=lambda p: p.stat().st_size)
        if sizes:
            out.append(("plasma-workspace-wallpapers", sizes[-1]))
    for src in ["mate-backgrounds", "gnome-backgrounds", "lomiri-wallpapers-16.04",
                "lomiri-wallpapers-20.04", "ukui-wallpapers", "sway-backgrounds", "mypaint-data-extras"]:
        for p in files(src + "/usr/share"):
            if not re.search(r"thumb|screenshot|preview", str(p), re.I):
                out.append((src, p))
    for p in files("opencv-doc/usr/share/doc/opencv-doc/examples/data"):
        out.append(("opencv-doc", p))
    # Nebula photos look alike (dark sky, a bright blob): hard negatives, a sample of them.
    neb = files("stellarium-data/usr/share/stellarium/nebulae/default")
    rng.shuffle(neb)
    out.extend(("stellarium-data", p) for p in sorted(neb[:nebulae]))
    return out


def thumb(img: Image.Image) -> np.ndarray:
    t = np.asarray(img.convert("L").resize((32, 32), Image.BILINEAR), dtype=np.float32).ravel()
    t -= t.mean()
    n = np.linalg.norm(t)
    return t / n if n > 0 else t


def prepare(args):
    work = Path(args.work)
    lib, held = work / "library", work / "heldout"
    marker = work / "prepared.json"
    key = {"seed": args.seed, "heldout": args.heldout, "nebulae": args.nebulae, "max_side": MAX_SIDE, "v": 2}
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        log("prepare: cached")
        return
    for d in (lib, held):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    rng = random.Random(args.seed)
    kept, thumbs, dropped = [], [], {"small": 0, "unreadable": 0, "near-identical": 0}
    for src, path in candidates(work / "raw", rng, args.nebulae):
        try:
            img = ImageOps.exif_transpose(Image.open(path))
            img = img.convert("RGB")
        except Exception:
            dropped["unreadable"] += 1
            continue
        if min(img.size) < 128:
            dropped["small"] += 1
            continue
        t = thumb(img)
        # The same picture twice (another resolution, a dark variant) would make top-1 ambiguous.
        if thumbs and float(np.max(np.stack(thumbs) @ t)) >= 0.95:
            dropped["near-identical"] += 1
            continue
        thumbs.append(t)
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
        # Unique: Plasma's files are all called <size>.png, in a folder named after the picture.
        tail = "__".join(path.with_suffix("").parts[-4:])
        name = f"{len(kept):03d}__{src}__{re.sub(r'[^A-Za-z0-9_.-]', '_', tail)}.jpg"
        kept.append({"source": src, "from": str(path.relative_to(work / "raw")), "name": name, "size": img.size})
        img.save(lib / name, quality=SAVE_QUALITY)
    rng.shuffle(kept)
    n_held = int(len(kept) * args.heldout)
    for k in kept[:n_held]:
        shutil.move(lib / k["name"], held / k["name"])
        k["heldout"] = True
    marker.write_text(json.dumps({"key": key, "images": kept, "dropped": dropped}, indent=1))
    log(f"prepare: {len(kept) - n_held} in the library, {n_held} held out, dropped {dropped}")


# ---------- transform ----------

def alter(img: Image.Image, name: str, p, rng: np.random.Generator) -> Image.Image:
    if name == "crop":
        w, h = img.size
        cw, ch = int(w * p), int(h * p)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return img.crop((x, y, x + cw, y + ch))
    if name == "rescale":
        w, h = img.size
        return img.resize((max(1, round(w * p)), max(1, round(h * p))), Image.LANCZOS)
    a = np.asarray(img, dtype=np.float32) / 255.0
    if name == "color":
        b, c = p
        a = (a - 0.5) * c + 0.5 + b
    elif name == "noise":
        a = a + rng.normal(0.0, p, a.shape).astype(np.float32)
    else:
        raise ValueError(name)
    return Image.fromarray((np.clip(a, 0, 1) * 255).round().astype(np.uint8))


def transform(args):
    work = Path(args.work)
    q = work / "queries"
    marker = work / "transformed.json"
    key = {"seed": args.seed, "alterations": [list(map(str, a)) for a in ALTERATIONS],
           "prepared": (work / "prepared.json").stat().st_mtime}
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        log("transform: cached")
        return
    shutil.rmtree(q, ignore_errors=True)
    originals = sorted((work / "library").glob("*.jpg")) + sorted((work / "heldout").glob("*.jpg"))
    count = 0
    for i, path in enumerate(originals):
        img = Image.open(path).convert("RGB")
        for j, (name, strength, p) in enumerate(ALTERATIONS):
            rng = np.random.default_rng([args.seed, i, j])
            d = q / f"{name}-{strength}"
            d.mkdir(parents=True, exist_ok=True)
            out = d / path.name
            if name == "jpeg":
                img.save(out, quality=p)
            else:
                # Saved near-losslessly (JPEG q95 is far below every alteration's own change).
                alter(img, name, p, rng).save(out, quality=SAVE_QUALITY)
            count += 1
        if i % 50 == 0:
            log(f"transform: {i}/{len(originals)}")
    marker.write_text(json.dumps({"key": key, "files": count}))


# ---------- run ----------

def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, capture_output=True, text=True, **kw)


def run_latentid(args):
    work = Path(args.work)
    binary = ROOT / "target/release/latentid"
    index = work / "index"
    shutil.rmtree(index, ignore_errors=True)
    env = dict(os.environ, LATENTID_LOG="error")
    env.pop("LATENTID_INDEX", None)
    lib = sorted((work / "library").glob("*.jpg"))
    extra = ["--seed", str(args.seed)]
    t0 = time.perf_counter()
    r = sh([str(binary), "index", str(work / "library"), "--index", str(index), "--json", *extra], env=env)
    index_wall = time.perf_counter() - t0
    report = json.loads(r.stdout.strip().splitlines()[-1])
    queries = sorted((work / "queries").rglob("*.jpg")) + sorted((work / "heldout").glob("*.jpg"))
    t0 = time.perf_counter()
    r = subprocess.run([str(binary), "query", *map(str, queries), "--index", str(index), "--json",
                        "--top", "5"], capture_output=True, text=True, env=env)
    query_wall = time.perf_counter() - t0
    if r.returncode not in (0, 1):
        raise SystemExit(f"latentid query failed ({r.returncode}): {r.stderr[-2000:]}")
    results = {}
    for line in r.stdout.splitlines():
        v = json.loads(line)
        qpath = str(v["query"])
        if "error" in v:
            results[qpath] = {"error": v["error"]}
            continue
        top = v["candidates"][0] if v["candidates"] else None
        results[qpath] = {
            "top": Path(top["path"]).name if top else None,
            "distance": top["distance"] if top else None,
            "match": Path(v["match"]["path"]).name if v["match"] else None,
            "seconds": v["seconds"],
        }
    stats = json.loads(sh([str(binary), "stats", "--index", str(index), "--json"], env=env).stdout)
    return {
        "images": len(lib), "queries": len(queries), "index_wall_s": index_wall,
        "encode_s": report.get("encode_seconds"), "trained": report.get("trained"),
        "calibration": report.get("calibration"), "query_wall_s": query_wall,
        "stats": stats, "results": results,
    }


def run_hashes(args):
    import imagehash

    work = Path(args.work)
    lib = sorted((work / "library").glob("*.jpg"))
    queries = sorted((work / "queries").rglob("*.jpg")) + sorted((work / "heldout").glob("*.jpg"))
    out = {}
    for name, fn in [("phash", imagehash.phash), ("dhash", imagehash.dhash)]:
        t0 = time.perf_counter()
        L = np.stack([fn(Image.open(p)).hash.ravel() for p in lib])
        t_lib = time.perf_counter() - t0
        t0 = time.perf_counter()
        Q = np.stack([fn(Image.open(p)).hash.ravel() for p in queries])
        t_q = time.perf_counter() - t0
        res = {}
        for qp, h in zip(queries, Q):
            d = np.count_nonzero(L != h, axis=1)
            best = d.min()
            ties = [lib[i].name for i in np.flatnonzero(d == best)]
            res[str(qp)] = {"ties": ties, "distance": int(best)}
        out[name] = {"hash_s_per_image": (t_lib + t_q) / (len(lib) + len(queries)), "results": res}
    return out


def run(args):
    work = Path(args.work)
    log("run: latentid")
    lat = run_latentid(args)
    log("run: imagehash")
    hashes = run_hashes(args)
    (work / "results.json").write_text(json.dumps({"latentid": lat, "hashes": hashes}))


# ---------- report ----------

def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem = next(int(l.split()[1]) for l in open("/proc/meminfo") if l.startswith("MemTotal"))
        return f"{cpu}, {os.cpu_count()} cores, {mem / 2**20:.0f} GiB, {platform.system()}"
    except Exception:
        return cpu


def hash_version():
    from importlib.metadata import version

    return version("ImageHash")


def describe(name, p):
    if name == "crop":
        return f"keep {p:.0%} per side"
    if name == "rescale":
        return f"x{p}"
    if name == "jpeg":
        return f"quality {p}"
    if name == "color":
        return f"brightness {p[0]:+}, contrast x{p[1]}"
    return f"sigma {p}"


def report(args):
    work = Path(args.work)
    data = json.loads((work / "results.json").read_text())
    prepared = json.loads((work / "prepared.json").read_text())
    lat, hashes = data["latentid"], data["hashes"]
    lib_names = {p.name for p in (work / "library").glob("*.jpg")}

    def cell_of(qpath):
        p = Path(qpath)
        return "held-out original" if p.parent.name == "heldout" else p.parent.name

    rows = {}
    for qpath, r in lat["results"].items():
        name = Path(qpath).name
        if name not in lib_names:
            continue
        c = rows.setdefault(cell_of(qpath), {"n": 0, "lat": 0.0, "named": 0.0, "phash": 0.0, "dhash": 0.0})
        c["n"] += 1
        c["lat"] += float(r.get("top") == name)
        c["named"] += float(r.get("match") == name)
        for h in ("phash", "dhash"):
            ties = hashes[h]["results"][qpath]["ties"]
            # Ties broken at random: expected credit 1/len(ties) when the original is among them.
            c[h] += (name in ties) / len(ties)
    order = [f"{n}-{s}" for n, s, _ in ALTERATIONS]
    pct = lambda x, n: f"{100 * x / max(n, 1):.1f}"
    lines = []
    sources = {}
    for k in prepared["images"]:
        sources[k["source"]] = sources.get(k["source"], 0) + 1
    versions = {}
    tsv = work / "raw" / "sources.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                versions[parts[0]] = parts[1]
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT).stdout.strip()
    n_lib, n_held = lat["images"], sum(1 for k in prepared["images"] if k.get("heldout"))
    lines.append(f"Measured {datetime.date.today().isoformat()} at commit {commit}"
                 f"{' (with uncommitted changes)' if dirty else ''} on {machine()}, with "
                 f"`benches/images/run.sh` (seed {args.seed}).")
    lines.append("")
    lines.append(f"Library: {n_lib} real pictures, {n_held} more held out (never indexed), from "
                 + ", ".join(f"{s} {versions.get(s, '')} ({n})" for s, n in sorted(sources.items()))
                 + f"; near-identical pictures dropped ({prepared['dropped']['near-identical']}), "
                 f"each scaled to at most {MAX_SIDE} px and stored as JPEG q{SAVE_QUALITY}. "
                 "Every picture is altered once per row; altered copies are saved as JPEG q95 "
                 "(the jpeg rows at their own quality).")
    lines.append("")
    lines.append("Top-1 accuracy (%) on altered copies of pictures in the library: the nearest "
                 "item is the original. latentid *named*: the nearest is the original and within "
                 "the calibrated \"no match\" distance. pHash / dHash: 64-bit imagehash, Hamming "
                 "nearest neighbour over the originals, ties broken at random (expected value); "
                 f"imagehash {hash_version()}, Pillow {Image.__version__}, numpy {np.__version__}.")
    lines.append("")
    lines.append("| alteration | strength | parameter | copies | latentid top-1 | latentid named | pHash | dHash |")
    lines.append("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: |")
    tot = {"n": 0, "lat": 0.0, "named": 0.0, "phash": 0.0, "dhash": 0.0}
    for (name, strength, p), key in zip(ALTERATIONS, order):
        c = rows.get(key)
        if not c:
            continue
        for k in tot:
            tot[k] += c[k]
        best = max(c["phash"], c["dhash"])
        mark = "" if c["lat"] >= best else " ▼"
        param = describe(name, p)
        lines.append(f"| {name} | {strength} | {param} | {c['n']} | {pct(c['lat'], c['n'])}{mark} | "
                     f"{pct(c['named'], c['n'])} | {pct(c['phash'], c['n'])} | {pct(c['dhash'], c['n'])} |")
    lines.append(f"| **overall** | | | {tot['n']} | **{pct(tot['lat'], tot['n'])}** | "
                 f"{pct(tot['named'], tot['n'])} | {pct(tot['phash'], tot['n'])} | {pct(tot['dhash'], tot['n'])} |")
    lines.append("")
    lines.append("▼: latentid below the better hash on that row.")
    lines.append("")
    # The other side: pictures that are not in the library must get "no match".
    held = [(q, r) for q, r in lat["results"].items() if Path(q).name not in lib_names]
    named = sum(1 for _, r in held if r.get("match"))
    held_orig = [(q, r) for q, r in held if Path(q).parent.name == "heldout"]
    named_orig = sum(1 for _, r in held_orig if r.get("match"))
    cal = lat.get("calibration") or {}
    lines.append(f"Not in the library: {len(held)} queries ({len(held_orig)} held-out originals and "
                 f"their altered copies): latentid named a library picture for {named} "
                 f"({pct(named, len(held))} %; {named_orig} of the originals). Calibrated \"no match\" "
                 f"distance {cal.get('distance') or float('nan'):.3f}.")
    lines.append("")
    errors = sum(1 for r in lat["results"].values() if "error" in r)
    med = float(np.median([r["seconds"] for r in lat["results"].values() if "seconds" in r]))
    tr = lat.get("trained") or {}
    lines.append(f"Speed (latentid, release build, {lat['images']} pictures): `index` "
                 f"{lat['index_wall_s']:.1f} s wall in all = {lat['index_wall_s'] / lat['images']:.3f} s "
                 f"per picture, of which training {tr.get('seconds', float('nan')):.1f} s "
                 f"({tr.get('epochs')} epochs, {tr.get('parameters')} parameters) and decode + encode + "
                 f"store {lat['encode_s']:.1f} s = {1000 * lat['encode_s'] / lat['images']:.1f} ms per picture; "
                 f"`query` over {lat['queries']} files in one invocation {lat['query_wall_s']:.1f} s wall = "
                 f"{1000 * lat['query_wall_s'] / lat['queries']:.1f} ms per picture (median {1000 * med:.1f} ms "
                 f"per picture inside the process){f', {errors} errors' if errors else ''}. "
                 f"imagehash (Python): pHash {1000 * hashes['phash']['hash_s_per_image']:.1f} ms, "
                 f"dHash {1000 * hashes['dhash']['hash_s_per_image']:.1f} ms per picture "
                 "(decode + hash). The machine was shared with other jobs during the run.")
    notes = Path(__file__).with_name("experiments.md")
    if notes.exists():
        lines.append("")
        lines.append(notes.read_text().strip())
    text = "\n".join(lines)
    print(text)
    if args.no_write:
        return
    res = ROOT / "benches" / "RESULTS.md"
    body = res.read_text()
    begin, end = "<!-- images:begin -->", "<!-- images:end -->"
    a, b = body.index(begin) + len(begin), body.index(end)
    res.write_text(body[:a] + "\n" + text + "\n" + body[b:])
    log("report: written to benches/RESULTS.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("steps", nargs="*", default=["prepare", "transform", "run", "report"])
    ap.add_argument("--work", default=str(ROOT / "benches/work/images"))
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--heldout", type=float, default=0.15, help="share of pictures never indexed")
    ap.add_argument("--nebulae", type=int, default=120, help="stellarium nebula photos to include")
    ap.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = ap.parse_args()
    for step in args.steps:
        {"prepare": prepare, "transform": transform, "run": run, "report": report}[step](args)


if __name__ == "__main__":
    main()
