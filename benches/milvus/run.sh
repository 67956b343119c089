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
#    its own encoder). With LOCAL_INDEX=DIR, a local index of this corpus made earlier is
#    copied instead and step 1 is skipped.
# 2. The local index copied and opened with the Milvus backend: its first open uploads every
#    signature into a new collection (timed). The same catalog and model on both backends, so
#    what differs below is the search alone.
# 3. Every clip of queries.json through one `latentid query --json` per backend (timed);
#    score.py scores both (top-1 named and top candidate, false matches, agreement).
#    CLIP_EVERY=N takes every Nth clip only (milvus-lite answers a clip in seconds).
# 4. recall@10 against exact search: `cargo bench -p latentid-store --bench milvus_recall`
#    (profile $CARGO_BENCH_PROFILE, default bench; RECALL_QUERIES query vectors, default 2000;
#    MILVUS_EF sets the Milvus search ef).
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
if [ -n "${LOCAL_INDEX:-}" ]; then
    # Step 1 skipped: a local index of this corpus made earlier, copied (never written).
    cp -r "$LOCAL_INDEX" "$WORK/idx-local"
    rm -f "$WORK/idx-local/milvus.json"
    echo "index-local: copied from $LOCAL_INDEX (step 1 skipped)"
else
    timed index-local "$BIN" index "$CORPUS/library" --index "$WORK/idx-local" --backend local --json
    timed index-milvus "$BIN" index "$CORPUS/library" --index "$WORK/idx-milvus" --backend "$M" --json
fi

cp -r "$WORK/idx-local" "$WORK/idx-same"
timed upload-milvus "$BIN" stats --index "$WORK/idx-same" --backend "$M" --json
cat "$WORK/upload-milvus.json"

# CLIP_EVERY=N: every Nth clip of queries.json only (the same ones on both backends; the list is
# ordered by condition and length, so this keeps each in proportion).
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); d["queries"]=d["queries"][::int(sys.argv[2])]; json.dump(d,open(sys.argv[3],"w"))' \
    "$CORPUS/queries/queries.json" "${CLIP_EVERY:-1}" "$WORK/queries.json"
mapfile -t CLIPS < <(python3 -c 'import json,sys; [print(q["file"]) for q in json.load(open(sys.argv[1]))["queries"]]' "$WORK/queries.json")
echo "${#CLIPS[@]} clips"
timed query-local "$BIN" query --json --index "$WORK/idx-local" --backend local "${CLIPS[@]}"
timed query-milvus "$BIN" query --json --index "$WORK/idx-same" --backend "$M" "${CLIPS[@]}"
python3 benches/milvus/score.py "$WORK/queries.json" "$WORK/query-local.json" "$WORK/query-milvus.json" | tee "$WORK/scores.json"

# recall@10 (its own copies of the local index; the milvus.json of idx-same is not copied)
cargo bench --profile "${CARGO_BENCH_PROFILE:-bench}" -p latentid-store --bench milvus_recall -- --index "$WORK/idx-local" --backend "$M" \
    --queries "${RECALL_QUERIES:-2000}" ${MILVUS_EF:+--ef "$MILVUS_EF"} | tail -1 | tee "$WORK/recall.json"
