#!/usr/bin/env bash
# `latentid outliers` on real libraries with planted out-of-domain files (issue 20): a music
# library from the evaluation corpus (benches/eval) with 5 planted files (speech, sound
# effects, noise, a damaged rip, a different genre), and a photo library from the image bench
# (benches/images) with 5 planted non-photos. Prints where each planted file ranks.
#
#   benches/outliers/run.sh [MUSIC_LIBRARY [EVAL_ROOT [IMAGES_LIBRARY]]]
#
# Defaults: benches/work/eval/b/library (corpus B), benches/work/eval/root (the unpacked
# Debian packages) and benches/work/images/library (run benches/eval/run.sh --corpus b and
# benches/images/run.sh first, or pass other folders). Copies what it uses into
# benches/work/outliers; never modifies the sources. Installs ffmpeg and espeak-ng (apt) when
# missing and makes a virtualenv with numpy under benches/work/outliers-venv.
# LATENTID_BIN picks the binary (default target/release/latentid).
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
command -v espeak-ng >/dev/null || need+=(espeak-ng)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}"
fi
venv=benches/work/outliers-venv
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import numpy" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q numpy
fi
py="$venv/bin/python"
music_src=${1:-benches/work/eval/b/library}
root=${2:-benches/work/eval/root}
images_src=${3:-benches/work/images/library}
bin=${LATENTID_BIN:-target/release/latentid}
work=benches/work/outliers
here=benches/outliers
rm -rf "$work"; mkdir -p "$work/music" "$work/photos" "$work/planted"

# Music: 40 of corpus B's 100 tracks (the 1st and 3rd of every 5, in name order).
ls "$music_src" | sort | awk 'NR%5==1 || NR%5==3' | while read -r f; do
    cp "$music_src/$f" "$work/music/"; done
# Planted: speech (espeak-ng), game sound effects (naev), white noise, a damaged rip of a
# corpus track left out of the library, and a different genre (OpenArena's rock).
espeak-ng -s 150 -w "$work/music/planted_speech.wav" "$(cat "$here/speech.txt")"
mapfile -t sfx < <(ls "$root"/naev-data/usr/share/naev/dat/snd/sounds/*.{wav,ogg} | sort | head -20)
other=$(ls "$music_src" | sort | awk 'NR%5==2' | head -1)
"$py" "$here/planted_audio.py" "$work/planted" "$music_src/$other" "${sfx[@]}"
for f in sound_effects noise damaged_rip; do cp "$work/planted/$f.wav" "$work/music/planted_$f.wav"; done
cp "$root/openarena-088-data/pk3/pak6-patch088/music/OA06.ogg" "$work/music/planted_other_genre.ogg"

# Photos: the photographs of the image bench's library (astronomical photos, wallpaper
# photos, scikit-image's photos); planted: a chart, a screenshot (both generated), and
# scikit-image's scanned page, text and logo.
ls "$images_src" | grep -E '__(stellarium-data|plasma-workspace-wallpapers|mate-backgrounds|lomiri-wallpapers-[0-9.]+|ukui-wallpapers)__' \
    | while read -r f; do cp "$images_src/$f" "$work/photos/"; done
for n in astronaut brick camera chelsea coffee coins grass gravel moon motorcycle_left motorcycle_right rocket; do
    for f in "$images_src"/*__scikit-image__*__"$n".jpg; do [ -e "$f" ] && cp "$f" "$work/photos/"; done; done
"$py" "$here/nonphotos.py" diagram "$work/photos/planted_chart.png" 640 480 1
"$py" "$here/nonphotos.py" screenshot "$work/photos/planted_screenshot.png" 1024 640 2
for n in page text logo; do cp "$images_src"/*__scikit-image__*__"$n".jpg "$work/photos/planted_$n.jpg"; done

for lib in music photos; do
    case $lib in
        music) train=(--epochs 10 --train-examples 5000 --seed 1) ;;
        photos) train=(--epochs 10 --train-examples 3000 --seed 1) ;;
    esac
    /usr/bin/time -f "$lib: indexed in %e s" "$bin" index "$work/$lib" --index "$work/idx-$lib" "${train[@]}" > "$work/index-$lib.log"
    # The held-out models are trained as the index's model was; the second call reuses them.
    /usr/bin/time -f "$lib: outliers (two held-out models) in %e s" \
        "$bin" outliers --index "$work/idx-$lib" --top 10000 --json "${train[@]}" > "$work/outliers-$lib.jsonl"
    "$bin" outliers --index "$work/idx-$lib" --top 10 > "$work/top10-$lib.txt"
    "$py" - "$work/outliers-$lib.jsonl" "$lib" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
# By file name: a planted file with tags is listed under its tagged name.
planted = [r for r in rows if r["path"].rsplit("/", 1)[-1].startswith("planted_")]
top = sum(r["rank"] <= 10 for r in planted)
print(f"{sys.argv[2]}: {len(rows)} items, {len(planted)} planted, {top} of them in the top 10")
for r in planted:
    at = f", worst at {r['worst_at_s']:.0f} s" if "worst_at_s" in r else ""
    held = r.get("held_out_score")
    held = f"{held:5.1f}" if held is not None else "    -"
    print(f"  rank {r['rank']:>3}  score {r['score']:5.1f} (index model {r['reconstruction_score']:5.1f}, held out {held})  {r['path'].rsplit('/', 1)[-1]}{at}")
PY
done
