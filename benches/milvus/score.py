#!/usr/bin/env python3
"""Scores `latentid query --json` answers of two backends on the same clips.

score.py QUERIES_JSON LOCAL_ANSWERS MILVUS_ANSWERS: top-1 ("named": the match is the right
track; "top candidate": the best candidate is, named or not) over the in-library clips, false
matches over the out-of-library ones, and how often the two backends give the same answer.
Prints one JSON object.
"""
import json
import os
import sys


def load(path):
    out = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                a = json.loads(line)
                a.pop("seconds", None)  # timings differ run to run
                out[a["query"]] = a
    return out


def main():
    queries = json.load(open(sys.argv[1]))["queries"]
    answers = {"local": load(sys.argv[2]), "milvus": load(sys.argv[3])}
    res = {}
    for name, ans in answers.items():
        named = top = n_in = false = n_out = missing = 0
        for q in queries:
            a = ans.get(q["file"])
            if a is None:
                missing += 1
                continue
            m = a.get("match") or {}
            c = (a.get("candidates") or [{}])[0]
            if q.get("track"):
                n_in += 1
                named += os.path.basename(m.get("path", "")) == q["track"]
                top += os.path.basename(c.get("path", "")) == q["track"]
            else:
                n_out += 1
                false += bool(m)
        res[name] = {
            "in_library_clips": n_in,
            "named_top1": round(100.0 * named / max(n_in, 1), 2),
            "top_candidate_top1": round(100.0 * top / max(n_in, 1), 2),
            "out_of_library_clips": n_out,
            "false_matches": round(100.0 * false / max(n_out, 1), 2),
            "missing_answers": missing,
        }
    same_match = same_all = 0
    for q in queries:
        a, b = answers["local"].get(q["file"]), answers["milvus"].get(q["file"])
        if a is None or b is None:
            continue
        same_match += (a.get("match") or {}).get("path") == (b.get("match") or {}).get("path")
        same_all += a == b
    res["same_match"] = round(100.0 * same_match / len(queries), 2)
    res["identical_answers"] = round(100.0 * same_all / len(queries), 2)
    print(json.dumps(res, indent=1))


main()
