#!/usr/bin/env bash
# The audio evaluation: latentid vs audfprint vs two PCA baselines on two corpora of real music
# (see eval.py). Fresh machine: installs ffmpeg and GNU time (apt), makes a virtualenv with
# audfprint2, numpy and scipy under benches/work/, builds the release binary, then runs the
# evaluation.
#   benches/eval/run.sh [--corpus a|b] [--per-cell N] [--systems latentid,pca,audfprint,pca_vote]
#                       [--latentid-args '...'] [--query-args '...'] [--reuse] [--no-write]
set -euo pipefail
cd "$(dirname "$0")/../.."

need=()
command -v ffmpeg >/dev/null || need+=(ffmpeg)
[ -x /usr/bin/time ] || need+=(time)
if [ ${#need[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need[@]}"
fi

venv=benches/work/venv
if [ ! -x "$venv/bin/audfprint" ]; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q audfprint2==0.1.2 numpy scipy
fi

cargo build --release --quiet
LATENTID_EVAL_VIA_RUN_SH=1 exec "$venv/bin/python" benches/eval/eval.py "$@"
