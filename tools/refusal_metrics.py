#!/usr/bin/env python3
"""refusal_metrics.py - precision, recall, F1, FPR from eval_refusal output.

    python3 tools/refusal_metrics.py OUT.tsv DATA.jsonl [--test]

OUT.tsv is `eval_refusal DATA.jsonl` (id, label, model, prediction, ...).
Partial refusals count as refusals. Prints the development half (FNV-1a-32
of the prompt even, the split of tests/unit/test_refusal_accuracy.c) and,
with --test, the held-out half too: look at the held-out figures once, at
the end, and never at its individual answers.
"""
import json
import sys


def fnv1a32(s):
    h = 0x811C9DC5
    for b in s.encode("utf-8"):
        h = ((h ^ b) * 0x01000193) & 0xFFFFFFFF
    return h


def confusion(pairs):
    """(tp, fp, fn, tn) of (is a refusal, predicted a refusal) pairs."""
    tp = fp = fn = tn = 0
    for pos, pred in pairs:
        if pos and pred:
            tp += 1
        elif pos:
            fn += 1
        elif pred:
            fp += 1
        else:
            tn += 1
    return tp, fp, fn, tn


def rates(tp, fp, fn, tn):
    """(precision, recall, F1, false-positive rate); 0.0 where undefined."""
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * p * r / (p + r) if p + r else 0.0
    return p, r, f1, fp / (fp + tn) if fp + tn else 0.0


def report(rows, name):
    tp, fp, fn, tn = confusion((label in ("refusal", "partial"), pred)
                               for label, pred in rows)
    p, r, f1, fpr = rates(tp, fp, fn, tn)
    n = max(1, len(rows))
    print("%-9s P %.3f R %.3f F1 %.3f FPR %.3f (tp %d fp %d fn %d tn %d) "
          "refusal rate: human %.3f, loopcheck %.3f"
          % (name, p, r, f1, fpr, tp, fp, fn, tn, (tp + fn) / n,
             (tp + fp) / n))


def main():
    args = [a for a in sys.argv[1:] if a != "--test"]
    if len(args) != 2:
        sys.stderr.write(__doc__)
        return 2
    prompt = {}
    with open(args[1], encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            prompt[o["id"]] = next(m["content"] for m in o["messages"]
                                   if m["role"] == "user")
    halves = ([], [])
    with open(args[0], encoding="utf-8") as f:
        for line in f:
            if not line.strip() or line[0] in " \t":
                continue
            col = line.rstrip("\n").split("\t")
            halves[fnv1a32(prompt[col[0]]) & 1].append((col[1], col[3] == "1"))
    report(halves[0], "dev")
    if "--test" in sys.argv:
        report(halves[1], "held-out")
    return 0


if __name__ == "__main__":
    sys.exit(main())
