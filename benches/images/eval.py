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

# (name, label, parameter): one row of the table each. Everyday edits and hard ones.
ALTERATIONS = [
    ("crop", "85%", 0.85),  # keep this share of each side, random position
    ("crop", "70%", 0.70),
    ("rescale", "x0.5", 0.50),  # both sides times this
    ("rescale", "x0.2", 0.20),
    ("jpeg", "q50", 50),  # re-compressed at this quality
    ("jpeg", "q10", 10),
    ("color", "weak", (0.10, 1.20)),  # brightness shift, contrast factor (0..1 units)
    ("color", "strong", (-0.25, 0.60)),
    ("greyscale", "", None),
    ("saturation", "x0.5", 0.5),  # halfway to grey
    ("cast", "warm", (1.15, 1.0, 0.8)),  # channel gains, a warm filter
    ("flip", "", None),  # mirrored left to right
    ("rotate", "5°", 5.0),  # either way at random, same canvas, black corners
    ("rotate", "10°", 10.0),
    ("text", "caption", None),  # a line of text over the picture (watermark, caption)
    ("blur", "sigma 3", 3.0),  # Gaussian blur, pixels (pictures are at most 1024 px)
    ("noise", "sigma 0.03", 0.03),  # Gaussian noise, standard deviation (0..1 units)
    ("noise", "sigma 0.1", 0.10),
]
MAX_SIDE = 1024
SAVE_QUALITY = 95


def log(*a):
    print(*a, file=sys.stderr, flush=True)


# ---------- prepare ----------

def candidates(raw: Path, rng: random.Random, nebulae: int, which: str = "main"):
    """(source, path) of every usable picture of one set in the fetched packages."""
    pkg = raw / "pkg"
    out = []
    exts = {".jpg", ".jpeg", ".png"}

    def files(d, pattern="*"):
        return sorted(p for p in (pkg / d).rglob(pattern) if p.suffix.lower() in exts)

    if which == "second":
        # Packages the main set does not use: Endless Sky's landscape photos (real photos by
        # many photographers) and scenes, and Wesnoth's story paintings.
        for d in ["usr/share/games/endless-sky/images/land", "usr/share/games/endless-sky/images/scene"]:
            out.extend(("endless-sky-data", p) for p in files("endless-sky-data/" + d))
        out.extend(("wesnoth-1.16-data", p)
                   for p in files("wesnoth-1.16-data/usr/share/games/wesnoth/1.16/data/core/images/story"))
        return out

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
    return t / n if n > 1e-3 * t.size else np.zeros_like(t)


def prepare(args):
    work = Path(args.work)
    lib, held = work / "library", work / "heldout"
    marker = work / "prepared.json"
    key = {"seed": args.seed, "heldout": args.heldout, "nebulae": args.nebulae, "max_side": MAX_SIDE,
           "set": args.set, "v": 4}
    if marker.exists() and json.loads(marker.read_text()).get("key") == key:
        log("prepare: cached")
        return
    for d in (lib, held):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)
    rng = random.Random(args.seed)
    kept, thumbs, dropped = [], [], {"small": 0, "unreadable": 0, "flat": 0, "near-identical": 0}
    for src, path in candidates(Path(args.raw), rng, args.nebulae, args.set):
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
        # A blank picture (some wallpapers decode to one colour) has no thumb to compare, and
        # every blank picture is every other one: no top-1 can be right.
        if not np.any(t):
            dropped["flat"] += 1
            continue
        # The same picture twice (another resolution, a dark variant) would make top-1 ambiguous.
        if thumbs and float(np.max(np.stack(thumbs) @ t)) >= 0.95:
            dropped["near-identical"] += 1
            continue
        thumbs.append(t)
        img.thumbnail((MAX_SIDE, MAX_SIDE), Image.LANCZOS)
        # Unique: Plasma's files are all called <size>.png, in a folder named after the picture.
        tail = "__".join(path.with_suffix("").parts[-4:])
        name = f"{len(kept):03d}__{src}__{re.sub(r'[^A-Za-z0-9_.-]', '_', tail)}.jpg"
        kept.append({"source": src, "from": str(path.relative_to(args.raw)), "name": name, "size": img.size})
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
    from PIL import ImageDraw, ImageFilter, ImageFont

    if name == "crop":
        w, h = img.size
        cw, ch = int(w * p), int(h * p)
        x, y = int(rng.integers(0, w - cw + 1)), int(rng.integers(0, h - ch + 1))
        return img.crop((x, y, x + cw, y + ch))
    if name == "rescale":
        w, h = img.size
        return img.resize((max(1, round(w * p)), max(1, round(h * p))), Image.LANCZOS)
    if name == "greyscale":
        return img.convert("L").convert("RGB")
    if name == "flip":
        return ImageOps.mirror(img)
    if name == "rotate":
        return img.rotate(p if rng.random() < 0.5 else -p, resample=Image.BICUBIC)
    if name == "blur":
        return img.filter(ImageFilter.GaussianBlur(p))
    if name == "text":
        # A caption in a large font (a tenth of the height), white with a dark outline, at a
        # random height, starting in the left third: what a meme or a watermark adds.
        out = img.copy()
        w, h = out.size
        font = ImageFont.load_default(size=max(10, h // 10))
        draw = ImageDraw.Draw(out)
        x = int(rng.integers(0, max(1, w // 3)))
        y = int(rng.integers(0, max(1, h - h // 8)))
        draw.text((x, y), "Holiday 2026 (c) latentid", font=font, fill=(255, 255, 255),
                  stroke_width=max(1, h // 200), stroke_fill=(0, 0, 0))
        return out
    a = np.asarray(img, dtype=np.float32) / 255.0
    if name == "color":
        b, c = p
        a = (a - 0.5) * c + 0.5 + b
    elif name == "saturation":
        grey = a @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        a = grey[..., None] + (a - grey[..., None]) * p
    elif name == "cast":
        a = a * np.array(p, dtype=np.float32)
    elif name == "noise":
        a = a + rng.normal(0.0, p, a.shape).astype(np.float32)
    else:
        raise ValueError(name)
    return Image.fromarray((np.clip(a, 0, 1) * 255).round().astype(np.uint8))


def row_key(name, label):
    return f"{name}-{label}" if label else name


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
        for j, (name, label, p) in enumerate(ALTERATIONS):
            rng = np.random.default_rng([args.seed, i, j])
            d = q / re.sub(r"[^A-Za-z0-9_.-]", "_", row_key(name, label))
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
    # LATENTID_BIN: another build (e.g. a copy kept while the tree is rebuilt), as the other benches.
    binary = Path(os.environ.get("LATENTID_BIN") or ROOT / "target/release/latentid")
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
            "distance": top.get("distance") if top else None,
            "match": Path(v["match"]["path"]).name if v["match"] else None,
            "seconds": v["seconds"],
            # Every candidate's view-vote score, distance and sketch likeness (when measured),
            # to replay a rule offline.
            "candidates": [[Path(c["path"]).name, c.get("agreement"), c.get("distance"),
                            c.get("likeness")] for c in v["candidates"]],
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


def source_state():
    """The commit the tree is at and whether it has uncommitted changes (tracked files)."""
    commit = sh(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT).stdout.strip()
    dirty = sh(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT).stdout.strip()
    return {"commit": commit, "dirty": bool(dirty)}


def run(args):
    work = Path(args.work)
    log("run: latentid")
    # Taken as the run starts (run.sh has just built the binary from this tree): edits made
    # while it runs are not in the binary, and must not be in the report's commit either.
    source = source_state()
    lat = run_latentid(args)
    lat["source"] = source
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
    return {
        "crop": lambda: f"keep {p:.0%} of each side, random position",
        "rescale": lambda: f"both sides x{p}",
        "jpeg": lambda: f"JPEG quality {p}",
        "color": lambda: f"brightness {p[0]:+}, contrast x{p[1]}",
        "greyscale": lambda: "greyscale",
        "saturation": lambda: f"saturation x{p}",
        "cast": lambda: f"channel gains {p[0]} / {p[1]} / {p[2]}",
        "flip": lambda: "mirrored left to right",
        "rotate": lambda: f"rotated {p:g}° either way, black corners",
        "text": lambda: "a line of text, a tenth of the height tall",
        "blur": lambda: f"Gaussian blur, sigma {p} px",
        "noise": lambda: f"Gaussian noise, sigma {p}",
    }[name]()


def report(args):
    work = Path(args.work)
    data = json.loads((work / "results.json").read_text())
    prepared = json.loads((work / "prepared.json").read_text())
    lat, hashes = data["latentid"], data["hashes"]
    lib_names = {p.name for p in (work / "library").glob("*.jpg")}
    dirs = {re.sub(r"[^A-Za-z0-9_.-]", "_", row_key(n, l)): (n, l, p) for n, l, p in ALTERATIONS}

    rows = {}
    for qpath, r in lat["results"].items():
        name = Path(qpath).name
        if name not in lib_names:
            continue
        c = rows.setdefault(Path(qpath).parent.name,
                            {"n": 0, "top": 0.0, "named": 0.0, "phash": 0.0, "dhash": 0.0})
        c["n"] += 1
        c["top"] += float(r.get("top") == name)
        c["named"] += float(r.get("match") == name)
        for h in ("phash", "dhash"):
            ties = hashes[h]["results"][qpath]["ties"]
            # Ties broken at random: expected credit 1/len(ties) when the original is among them.
            c[h] += (name in ties) / len(ties)
    pct = lambda x, n: f"{100 * x / max(n, 1):.1f}"
    lines = []
    sources = {}
    for k in prepared["images"]:
        sources[k["source"]] = sources.get(k["source"], 0) + 1
    versions = {}
    tsv = Path(args.raw) / "sources.tsv"
    if tsv.exists():
        for line in tsv.read_text().splitlines():
            parts = line.split("\t")
            if len(parts) >= 2:
                versions[parts[0]] = parts[1]
    # The tree the binary was built from (results of older runs: the tree now).
    source = lat.get("source") or source_state()
    commit, dirty = source["commit"], source["dirty"]
    n_lib, n_held = lat["images"], sum(1 for k in prepared["images"] if k.get("heldout"))
    title = {"main": "Main set (defaults chosen on it)",
             "second": "Second set (disjoint packages; nothing was tuned on it)"}[args.set]
    lines.append(f"### {title}")
    lines.append("")
    lines.append(f"Measured {datetime.date.today().isoformat()} at commit {commit}"
                 f"{' (with uncommitted changes)' if dirty else ''} on {machine()} (shared with other "
                 f"jobs), with `benches/images/run.sh --set {args.set}` (seed {args.seed}).")
    lines.append("")
    lines.append(f"Library: {n_lib} real pictures, {n_held} more held out (never indexed), from "
                 + ", ".join(f"{s} {versions.get(s, '')} ({n})" for s, n in sorted(sources.items()))
                 + f"; near-identical pictures dropped ({prepared['dropped']['near-identical']}), "
                 + (f"blank ones too ({prepared['dropped']['flat']}), " if prepared['dropped'].get('flat') else "")
                 + f"each scaled to at most {MAX_SIDE} px and stored as JPEG q{SAVE_QUALITY}. "
                 "Every picture is altered once per row; altered copies are saved as JPEG q95 "
                 "(the jpeg rows at their own quality).")
    lines.append("")
    lines.append("Top-1 accuracy (%) on altered copies of pictures in the library. *named*: latentid's "
                 "answer (`match`) is the original, within the calibrated \"no match\" distance; "
                 "*top candidate*: the first candidate is the original, whatever its distance. "
                 "pHash / dHash: 64-bit imagehash, Hamming nearest neighbour over the originals "
                 "(no threshold, so comparable to the top candidate), ties broken at random "
                 f"(expected value); imagehash {hash_version()}, Pillow {Image.__version__}, "
                 f"numpy {np.__version__}.")
    lines.append("")
    lines.append("| alteration | parameter | copies | named | top candidate | pHash | dHash |")
    lines.append("| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    tot = {"n": 0, "top": 0.0, "named": 0.0, "phash": 0.0, "dhash": 0.0}
    for key, (name, label, p) in dirs.items():
        c = rows.get(key)
        if not c:
            continue
        for k in tot:
            tot[k] += c[k]
        best = max(c["phash"], c["dhash"])
        mark = "" if c["named"] >= best else " ▼"
        lines.append(f"| {name} {label} | {describe(name, p)} | {c['n']} | {pct(c['named'], c['n'])}{mark} | "
                     f"{pct(c['top'], c['n'])} | {pct(c['phash'], c['n'])} | {pct(c['dhash'], c['n'])} |")
    lines.append(f"| **all** | | {tot['n']} | **{pct(tot['named'], tot['n'])}** | "
                 f"{pct(tot['top'], tot['n'])} | {pct(tot['phash'], tot['n'])} | {pct(tot['dhash'], tot['n'])} |")
    # The other side: pictures that are not in the library must get "no match".
    held = [(q, r) for q, r in lat["results"].items() if Path(q).name not in lib_names]
    named = sum(1 for _, r in held if r.get("match"))
    held_orig = [(q, r) for q, r in held if Path(q).parent.name == "heldout"]
    named_orig = sum(1 for _, r in held_orig if r.get("match"))
    lines.append(f"| **unrelated pictures named** (lower is better) | {len(held_orig)} held-out originals "
                 f"and their altered copies | {len(held)} | **{pct(named, len(held))}** | | | |")
    lines.append("")
    lines.append("▼: named below the better hash on that row.")
    lines.append("")
    cal = lat.get("calibration") or {}
    lines.append(f"Not in the library: latentid named a library picture for {named} of {len(held)} "
                 f"unrelated queries ({named_orig} of the {len(held_orig)} originals). Calibrated "
                 f"\"no match\": a match has "
                 + (f"a view-vote score of at least {cal['view_votes']:.3f}"
                    f" ({len(cal.get('variant_pairs') or [])} look-alike pairs set aside), or is "
                    if cal.get("view_votes") else "")
                 + f"within distance {cal.get('distance') or float('nan'):.3f}"
                 + (f" or at most {cal['distance_ratio']:.3f} x the distance of the picture ranked third"
                    if cal.get("distance_ratio") else "")
                 + (f", or, when none of these names one, is the likest of the first 5 candidates with a"
                    f" sketch likeness of at least {cal['likeness']:.3f}" if cal.get("likeness") else "")
                 + f" (on {cal.get('positives')} altered copies and {cal.get('negatives')} stranger probes: "
                 f"{100 * (cal.get('positive_recall') or 0):.1f}% of the copies named, "
                 f"{100 * (cal.get('negative_pass') or 0):.1f}% of the strangers).")
    lines.append("")
    errors = sum(1 for r in lat["results"].values() if "error" in r)
    med = float(np.median([r["seconds"] for r in lat["results"].values() if "seconds" in r]))
    tr = lat.get("trained") or {}
    st = lat.get("stats") or {}
    sigs = st.get("signatures") or 0
    size = st.get("bytes_on_disk") or st.get("bytes") or 0
    lines.append(f"Speed and size (release build, {lat['images']} pictures): `index` "
                 f"{lat['index_wall_s']:.1f} s wall in all, of which training {tr.get('seconds', float('nan')):.1f} s "
                 f"({tr.get('epochs')} epochs, {tr.get('parameters')} parameters) and decode + encode + "
                 f"store {lat['encode_s']:.1f} s = {1000 * lat['encode_s'] / lat['images']:.1f} ms per picture; "
                 f"`query` over {lat['queries']} files in one invocation {lat['query_wall_s']:.1f} s wall = "
                 f"{1000 * lat['query_wall_s'] / lat['queries']:.1f} ms per picture (median {1000 * med:.1f} ms "
                 f"per picture inside the process){f', {errors} errors' if errors else ''}; "
                 f"{sigs / max(lat['images'], 1):.0f} signatures per picture, index directory "
                 f"{size / 2**20:.1f} MiB = {size / max(lat['images'], 1) / 1024:.0f} KiB per picture. "
                 f"imagehash (Python): pHash {1000 * hashes['phash']['hash_s_per_image']:.1f} ms, "
                 f"dHash {1000 * hashes['dhash']['hash_s_per_image']:.1f} ms per picture (decode + hash).")
    text = "\n".join(lines)
    print(text)
    if args.no_write:
        return
    res = ROOT / "benches" / "RESULTS.md"
    body = res.read_text()
    tag = "images" if args.set == "main" else "images-2"
    begin, end = f"<!-- {tag}:begin -->", f"<!-- {tag}:end -->"
    a, b = body.index(begin) + len(begin), body.index(end)
    res.write_text(body[:a] + "\n" + text + "\n" + body[b:])
    log("report: written to benches/RESULTS.md")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("steps", nargs="*", default=["prepare", "transform", "run", "report"])
    ap.add_argument("--set", choices=["main", "second"], default="main",
                    help="main: the pictures defaults are chosen on; second: disjoint packages, the check")
    ap.add_argument("--work", default=None, help="default benches/work/images (main) or images-2 (second)")
    ap.add_argument("--raw", default=str(ROOT / "benches/work/images/raw"), help="fetched packages (fetch.sh)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--heldout", type=float, default=0.15, help="share of pictures never indexed")
    ap.add_argument("--nebulae", type=int, default=120, help="stellarium nebula photos to include")
    ap.add_argument("--no-write", action="store_true", help="print the table, leave RESULTS.md alone")
    args = ap.parse_args()
    if args.work is None:
        args.work = str(ROOT / "benches/work" / ("images" if args.set == "main" else "images-2"))
    args.raw = Path(args.raw)
    for step in args.steps:
        {"prepare": prepare, "transform": transform, "run": run, "report": report}[step](args)


if __name__ == "__main__":
    main()
