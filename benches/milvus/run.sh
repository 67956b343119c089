#!/usr/bin/env bash
# The Milvus backend beside the local store on an evaluation corpus, from one run.
#
#   benches/milvus/run.sh CORPUS_DIR WORK_DIR [BACKEND_ADDR]
#
# CORPUS_DIR is a corpus of benches/eval (library/ and queries/queries.json), e.g.
# benches/work/eval/b. Everything this writes goes under WORK_DIR. A milvus-lite server is
# started on a free port unless BACKEND_ADDR (host:port) names a running one
# ($LATENTID_MILVUS_LITE, else milvus-lite on the PATH). The binary is $LATENTID_BIN (default
# target/release/latentid).
#
# 1. `latentid index CORPUS/library` from scratch with each backend (ingest speed; each trains
#    its own encoder).
# 2. The local index copied and opened with the Milvus backend: its first open uploads every
#    signature into a new collection (timed). The same catalog and model on both backends, so
#    what differs below is the search alone.
# 3. Every clip of queries.json through one `latentid query --json` per backend (timed);
#    score.py scores both (top-1 named and top candidate, false matches, agreement).
# 4. recall@10 against exact search: `cargo bench -p latentid-store --bench milvus_recall`
#    (profile $CARGO_BENCH_PROFILE, default bench).
set -euo pipefail
cd "$(dirname "$0")/../.."
CORPUS=$(realpath "$1")
WORK=$(realpath -m "$2")
BIN=$(realpath "${LATENTID_BIN:-target/release/latentid}")
mkdir -p "$WORK"
export LATENTID_LOG=${LATENTID_LOG:-warn}
unset LATENTID_INDEX LATENTID_BACKEND

if [ $# -ge 3 ]; then
    ADDR=$3
else
    LITE=${LATENTID_MILVUS_LITE:-$(command -v milvus-lite)}
    PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    rm -rf "$WORK/milvus-data"
    "$LITE" server --data-dir "$WORK/milvus-data" --host 127.0.0.1 --port "$PORT" >"$WORK/milvus.log" 2>&1 &
    LITE_PID=$!
    trap 'kill $LITE_PID 2>/dev/null || true' EXIT
    for _ in $(seq 1 300); do
        (echo >/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null && break
        sleep 0.2
    done
    ADDR=127.0.0.1:$PORT
fi
M=milvus://$ADDR
echo "Milvus at $ADDR; binary $BIN; $(nproc) cores; $(date -u +%FT%TZ)"

timed() { # timed NAME CMD...: wall seconds into $WORK/NAME.time, stdout into $WORK/NAME.json
    local name=$1; shift
    local t0 t1
    t0=$(date +%s.%N)
    "$@" >"$WORK/$name.json"
    t1=$(date +%s.%N)
    python3 -c "print(round($t1 - $t0, 2))" >"$WORK/$name.time"
    echo "$name: $(cat "$WORK/$name.time") s"
}

rm -rf "$WORK/idx-local" "$WORK/idx-milvus" "$WORK/idx-same"
timed index-local "$BIN" index "$CORPUS/library" --index "$WORK/idx-local" --backend local --json
timed index-milvus "$BIN" index "$CORPUS/library" --index "$WORK/idx-milvus" --backend "$M" --json

cp -r "$WORK/idx-local" "$WORK/idx-same"
timed upload-milvus "$BIN" stats --index "$WORK/idx-same" --backend "$M" --json
cat "$WORK/upload-milvus.json"

mapfile -t CLIPS < <(python3 -c 'import json,sys; [print(q["file"]) for q in json.load(open(sys.argv[1]))["queries"]]' "$CORPUS/queries/queries.json")
timed query-local "$BIN" query --json --index "$WORK/idx-local" --backend local "${CLIPS[@]}"
timed query-milvus "$BIN" query --json --index "$WORK/idx-same" --backend "$M" "${CLIPS[@]}"
python3 benches/milvus/score.py "$CORPUS/queries/queries.json" "$WORK/query-local.json" "$WORK/query-milvus.json" | tee "$WORK/scores.json"

# recall@10 (its own copies of the local index; the milvus.json of idx-same is not copied)
cargo bench --profile "${CARGO_BENCH_PROFILE:-bench}" -p latentid-store --bench milvus_recall -- --index "$WORK/idx-local" --backend "$M" \
    --queries 2000 | tail -1 | tee "$WORK/recall.json"
