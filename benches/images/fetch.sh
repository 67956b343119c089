#!/usr/bin/env bash
# Fetches the image evaluation's raw material into benches/work/images/raw (idempotent):
# the sample photos inside the scikit-image and scikit-learn wheels (PyPI) and Debian's
# wallpaper and background packages (apt-get download + dpkg -x, nothing installed) for the
# main set; the landscape photos of endless-sky-data and Wesnoth's story paintings for the
# second, disjoint set (eval.py --set second).
# Writes raw/sources.tsv: source, version, licence line from its copyright file.
set -euo pipefail
cd "$(dirname "$0")/../.."
raw=benches/work/images/raw
mkdir -p "$raw/dl" "$raw/pkg"
py=${PYTHON:-python3}

WHEELS=(scikit-image==0.26.0 scikit-learn==1.7.2)
DEBS=(plasma-workspace-wallpapers mate-backgrounds gnome-backgrounds lomiri-wallpapers-16.04
      lomiri-wallpapers-20.04 ukui-wallpapers sway-backgrounds mypaint-data-extras
      stellarium-data opencv-doc endless-sky-data wesnoth-1.16-data)

: > "$raw/sources.tsv.tmp"
for w in "${WHEELS[@]}"; do
    name=${w%%==*}; ver=${w##*==}
    dest="$raw/pkg/$name"
    if [ ! -d "$dest" ]; then
        "$py" -m pip download -q --no-deps --only-binary=:all: -d "$raw/dl" "$w"
        whl=$(ls "$raw/dl"/"${name//-/_}"-"$ver"-*.whl | head -1)
        mkdir -p "$dest"
        "$py" - "$whl" "$dest" <<'PY'
import sys, zipfile
whl, dest = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    for n in z.namelist():
        if "/data/" in n or "/datasets/images/" in n or n.endswith("LICENSE.txt") or "dist-info/licenses" in n:
            z.extract(n, dest)
PY
    fi
    printf '%s\tPyPI %s\t%s\n' "$name" "$ver" "BSD-3-Clause; sample images public domain / CC0 / CC-BY per the package's data README" >> "$raw/sources.tsv.tmp"
done

if ! command -v dpkg >/dev/null; then echo "dpkg is needed" >&2; exit 1; fi
missing=()
for p in "${DEBS[@]}"; do [ -d "$raw/pkg/$p" ] || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
    (cd "$raw/dl" && apt-get download "${missing[@]}")
    for p in "${missing[@]}"; do
        deb=$(ls "$raw/dl/${p}_"*.deb | head -1)
        dpkg -x "$deb" "$raw/pkg/$p"
    done
fi
for p in "${DEBS[@]}"; do
    deb=$(ls "$raw/dl/${p}_"*.deb | head -1)
    ver=$(dpkg-deb -f "$deb" Version)
    lic=$(grep -m3 -h '^License:' "$raw/pkg/$p/usr/share/doc/$p/copyright" 2>/dev/null | sed 's/License: //' | sort -u | paste -sd, - || true)
    printf '%s\tDebian %s\t%s\n' "$p" "$ver" "${lic:-see usr/share/doc/$p/copyright}" >> "$raw/sources.tsv.tmp"
done
mv "$raw/sources.tsv.tmp" "$raw/sources.tsv"
