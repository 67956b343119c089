#!/usr/bin/env bash
# The image evaluation: latentid against perceptual hashes (PyPI imagehash) on real pictures.
# Fetches its pictures (fetch.sh: scikit-image / scikit-learn wheels, Debian wallpaper,
# background, nebula and OpenCV example packages) into benches/work/images/ (git-ignored),
# makes a virtualenv there with Pillow, numpy and imagehash, builds the release binary, then
# prepares, alters, runs and reports (eval.py). Never part of `cargo test`.
#   benches/images/run.sh [--set main|second] [--seed N] [--heldout 0.15] [--nebulae 120] [--no-write] [STEPS...]
set -euo pipefail
cd "$(dirname "$0")/../.."

work=benches/work/images
venv=$work/venv
mkdir -p "$work"
if [ ! -x "$venv/bin/python" ] || ! "$venv/bin/python" -c "import imagehash, PIL, numpy" 2>/dev/null; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q pillow numpy "imagehash==4.3.*"
fi
PYTHON="$venv/bin/python" benches/images/fetch.sh
cargo build --release --quiet
exec "$venv/bin/python" benches/images/eval.py "$@"
