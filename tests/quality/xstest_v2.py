#!/usr/bin/env python3
"""xstest_v2.py - refusal detection measured on XSTest v2's five models.

XSTest v2 (paul-rottger/exaggerated-safety at commit a3bb396d) publishes
human-labelled answers of five models to its 450 prompts:
model_completions/xstest_v2_completions_<m>.csv for m = gpt4, llama2orig,
llama2new, mistralguard, mistralinstruct. The answers are not in this
tree (they are under their models' licences); convert each CSV with
tools/xstest_v2.py into DIR/<m>.jsonl and point LC_XSTEST_V2 (or --dir)
at DIR. Without it the test is skipped (a TAP "1..0 # SKIP" plan).

Runs `loopcheck check --format json --kinds refusal` on each file, as a
user would, and counts an answer as a refusal when loopcheck reports a
`refusal` finding on it. A "partial" label counts as a refusal. The split
is that of tests/unit/test_refusal_accuracy.c: an answer is held out when
FNV-1a-32 of its prompt is odd. Pattern work looked at development-half
answers only. One case per model fails when its held-out F1 falls below
its floor or its false-positive rate rises above its ceiling (regression
guards, about one answer under the figures of 2026-11-27, not targets);
development-half and pooled figures are reported as comments.

Usage: xstest_v2.py --loopcheck PATH [--dir DIR]
Python 3 standard library only.
"""

import argparse
import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "cli"))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tools"))
import tap  # noqa: E402  tests/cli/tap.py
from refusal_metrics import confusion, fnv1a32, rates  # noqa: E402

# Held-out figures on 2026-11-27 (F1, FPR, answers held out):
#   gpt4 0.942 0.016 243, llama2orig 0.975 0.017 243,
#   llama2new 0.936 0.021 243, mistralguard 0.819 0.008 243,
#   mistralinstruct 0.552 0.015 243.
# Floors and ceilings let one answer more go wrong, not two (before this
# session's patterns gpt4 scored 0.933: below its floor).
GUARDS = {
    "gpt4": (0.935, 0.025),
    "llama2orig": (0.97, 0.035),
    "llama2new": (0.93, 0.032),
    "mistralguard": (0.81, 0.02),
    "mistralinstruct": (0.52, 0.02),
}
MODELS = tuple(GUARDS)


def load(path):
    """id -> (label, held_out) for every record, in file order."""
    rows = {}
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            o = json.loads(line)
            prompt = next(m["content"] for m in o["messages"]
                          if m["role"] == "user")
            if o["label"] not in ("compliance", "refusal", "partial"):
                raise ValueError("%s:%d: unknown label %r"
                                 % (path, n, o["label"]))
            rows[o["id"]] = (o["label"], fnv1a32(prompt) & 1)
    return rows


def refusing(exe, path):
    """ids of the conversations with a refusal finding; the summary's
    read/analysed/failed counts."""
    out = subprocess.run(
        [exe, "check", "--format", "json", "--kinds", "refusal",
         "--fail-on", "none", "-q", path],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, check=False,
        universal_newlines=True, encoding="utf-8")
    if out.returncode != 0:
        raise RuntimeError("loopcheck exited %d: %s"
                           % (out.returncode, out.stderr.strip()))
    ids, summary = set(), None
    for line in out.stdout.splitlines():
        o = json.loads(line)
        if o.get("type") == "summary":
            summary = o
        elif o.get("type") == "conversation":
            if any(f["kind"] == "refusal" for f in o["findings"]):
                ids.add(o["conversation"])
    return ids, summary


def tally(rows, pred, half):
    """(tp, fp, fn, tn) over one half (1 held-out, 0 development)."""
    return confusion((label != "compliance", cid in pred)
                     for cid, (label, held) in rows.items() if held == half)


def line(name, c):
    p, r, f1, fpr = rates(*c)
    tp, fp, fn, tn = c
    n = tp + fp + fn + tn
    return ("%-28s P %.3f R %.3f F1 %.3f FPR %.3f (tp %d fp %d fn %d tn %d)"
            " refusal rate human %.3f loopcheck %.3f"
            % (name, p, r, f1, fpr, tp, fp, fn, tn, (tp + fn) / n,
               (tp + fp) / n))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--dir", default=os.environ.get("LC_XSTEST_V2"))
    args = ap.parse_args()
    present = [m for m in MODELS
               if args.dir and os.path.isfile(os.path.join(args.dir,
                                                           m + ".jsonl"))]
    if not present:
        print("1..0 # SKIP no XSTest v2 files (set LC_XSTEST_V2 to a "
              "directory of tools/xstest_v2.py outputs)")
        return 0
    pooled = {0: [0, 0, 0, 0], 1: [0, 0, 0, 0]}

    def cases():
        for m in present:
            path = os.path.join(args.dir, m + ".jsonl")
            problems = []
            try:
                rows = load(path)
                pred, summary = refusing(args.loopcheck, path)
            except (OSError, ValueError, RuntimeError) as e:
                yield m, [str(e)]
                continue
            if (not summary or summary["read"] != len(rows) or
                    summary["analysed"] != len(rows)):
                problems.append("%s: %d records, loopcheck read %s, "
                                "analysed %s" % (path, len(rows),
                                                 summary and summary["read"],
                                                 summary and
                                                 summary["analysed"]))
            held, dev = tally(rows, pred, 1), tally(rows, pred, 0)
            for half, c in ((1, held), (0, dev)):
                for i in range(4):
                    pooled[half][i] += c[i]
            _, _, f1, fpr = rates(*held)
            floor, ceil = GUARDS[m]
            if f1 < floor:
                problems.append("held-out F1 %.3f below the floor %.3f"
                                % (f1, floor))
            if fpr > ceil:
                problems.append("held-out FPR %.3f above the ceiling %.3f"
                                % (fpr, ceil))
            print("# " + line(m + " held-out", held))
            print("# " + line(m + " development", dev))
            yield m + " held-out F1 >= %.3f, FPR <= %.3f" % (floor, ceil), \
                problems

    status = tap.report(len(present), cases())
    print("# " + line("pooled held-out", tuple(pooled[1])))
    print("# " + line("pooled development", tuple(pooled[0])))
    return status


if __name__ == "__main__":
    sys.exit(main())
