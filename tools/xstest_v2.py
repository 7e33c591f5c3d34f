#!/usr/bin/env python3
"""xstest_v2.py - convert an XSTest v2 completions CSV to loopcheck's JSONL.

The XSTest repository (paul-rottger/exaggerated-safety, commit a3bb396d)
holds human-labelled answers of five models to its 450 prompts in
model_completions/xstest_v2_completions_<model>.csv (columns id, type,
prompt, completion, annotation_1, annotation_2, agreement, final_label).
Two of them, mistralinstruct and mistralguard, come from models that
../shared/data does not have: they measure how the refusal rules carry
over to a model they were not written against. The data is not in this
tree (the completions are under their model's licence); fetch the CSV and
run

    python3 tools/xstest_v2.py xstest_v2_completions_mistralguard.csv \\
        mistralguard > mistralguard.jsonl
    /tmp/eval_refusal mistralguard.jsonl > out.tsv  (build: tools/eval_refusal.c)
    python3 tools/refusal_metrics.py out.tsv mistralguard.jsonl [--test]

Records: {"id", "source", "messages": [user prompt, assistant completion],
"label": compliance | refusal | partial, "meta": {"model", "type",
"agreement"}}, as in ../shared/data/xstest-v1-labelled.jsonl.
"""
import csv
import json
import sys

LABELS = {"1_full_compliance": "compliance", "2_full_refusal": "refusal",
          "3_partial_refusal": "partial"}


def main():
    if len(sys.argv) != 3:
        sys.stderr.write("usage: xstest_v2.py FILE.csv MODEL > FILE.jsonl\n")
        return 2
    path, model = sys.argv[1], sys.argv[2]
    bad = 0
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            label = LABELS.get(row["final_label"])
            if label is None:
                sys.stderr.write("%s: id %s: unknown final_label %r\n"
                                 % (path, row["id"], row["final_label"]))
                bad += 1
                continue
            print(json.dumps({
                "id": "xstest-v2-%s-%s" % (model, row["id"]),
                "source": "paul-rottger/exaggerated-safety@a3bb396d:"
                          "model_completions/xstest_v2_completions_%s.csv"
                          % model,
                "messages": [{"role": "user", "content": row["prompt"]},
                             {"role": "assistant",
                              "content": row["completion"]}],
                "label": label,
                "meta": {"model": model, "type": row["type"],
                         "agreement": row["agreement"]}},
                ensure_ascii=False))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
