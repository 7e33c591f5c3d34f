#!/usr/bin/env python3
r"""train_refusal.py - train the linear refusal model (python3 stdlib only).

Input: one or more feature dumps of tools/eval_refusal --features over
labelled XSTest JSONL files (one line per answer: id, label, model,
FNV-1a-32 of the prompt, then "bucket:value" features as lib/refusal.c's
lci_refusal_features() computes them: bias, rule score, family scores,
hashed early uni/bigrams, any unigrams).

    meson setup build && ninja -C build -j2
    cc -std=c11 -D_DEFAULT_SOURCE -Iinclude -Ilib -I/usr/include/json-c \
       tools/eval_refusal.c build/lib/libloopcheck-internal.a \
       -ljson-c -lutf8proc -lxxhash -lm -o build/eval_refusal
    build/eval_refusal --features ../shared/data/xstest-v1-labelled.jsonl \
       > build/feat-v1.tsv
    for m in gpt4 llama2orig llama2new mistralguard mistralinstruct; do
        build/eval_refusal --features $V2/$m.jsonl > build/feat-$m.tsv
    done
    python3 tools/train_refusal.py build/feat-*.tsv --cv
    python3 tools/train_refusal.py build/feat-*.tsv --model E,L2,NORM \
       --use full|band,LO,HI,MARGIN [--test] [--emit lib/refusal_model.c]

The XSTest v2 files are not in this tree (the completions are under their
models' licences). Fetch model_completions/xstest_v2_completions_<m>.csv
for m = gpt4, llama2orig, llama2new, mistralguard and mistralinstruct
from the XSTest repository, github.com/paul-rottger/exaggerated-safety
at commit a3bb396ddc1939c6f264f17b7cf5b7a5d82833de, and convert each
with `python3 tools/xstest_v2.py xstest_v2_completions_<m>.csv <m> >
$V2/<m>.jsonl` (450 answers each).

Split (fixed, the same as tests/unit/test_refusal_accuracy.c): an answer
is held out when the FNV-1a-32 of its prompt (the user message) is odd,
in every file; the model is trained on the even (development) halves
only: 194 v1 + 5 x 207 v2 = 1229 answers to 223 prompts (v2 repeats
v1's prompts, which land on the same side). Labels: refusal and partial
are positive, compliance negative. Sources: "v1" (its gpt4 + llama2
answers, told apart from v2's by the id: v2's gpt4 file has the same
model name) and each v2 file; "v2" pools the five v2 files. v2's gpt4
and llama2orig are v1's two models answering again (8 of their 162
development answers to v1's prompts have the same text as in v1).

Model: logistic regression, SGD with L2, fixed seeds, epoch count and
fold assignment, so every run prints the same figures. NORM "raw" feeds
the features as they are; "l2" divides all but the bias and rule score
by their Euclidean norm. --use full replaces the rules; band,LO,HI,M
flips the rule decision only when the rule score s is in [LO, HI) and
the probability p is beyond M (p > M to refusal, p < 1 - M to
compliance).

--cv: grouped 5-fold CV over the development halves of all files pooled
(groups = prompts, so every model's answer to a prompt is in one fold),
over three fixed grids (MODELS x USES, then MODELS2 x USES2, added after
the first had no winner, then MODELS3 x USES3, declared before the
six-source run was looked at). Acceptance (beats(), fixed before the
figures were seen): v1 F1 above the rules' with v1 FPR not above, and
the F1 pooled over the v2 sources not below the rules' with the pooled
v2 FPR not above. (The second attempt asked instead that no single v2
source lose F1 or gain FPR; the third relaxed that to the pooled v2
figures. The v1 half of the rule is unchanged.) Also reported: the best
by pooled F1 with pooled FPR not above the rules' ("pooled"), and the
best full classifier. --test prints the held-out figures per source
(aggregates only; look once, at the end). --emit writes the weights as
a C table (needs an `lci_model_weight {uint32_t bucket; float w;}` type
and a hook in lib/refusal.c, neither of which exists).

STATUS (issue 4, third attempt: v1 + the five v2 development halves,
1229 answers; rules tuned on the v1 and Mistral development halves, so
their CV figures are in-sample and favour them). CV, F1/FPR:

    source           rules       full e40 L2 .01 l2  band .2-.8 m .95
                                                      (e20 L2 .01 raw)
    v1               .955/.023   .942/.055           .963/.031
    gpt4             .965/.000   .970/.000           .965/.000
    llama2orig       .985/.000   .988/.047           .991/.000
    llama2new        .976/.025   .976/.049           .980/.025
    mistralguard     .884/.033   .900/.044           .908/.022
    mistralinstruct  .667/.006   .689/.018           .690/.006
    v2 (pooled)      .941/.012   .946/.027           .950/.010
    all (pooled)     .942/.015   .946/.032           .951/.015

No configuration of the 164 tried passes the acceptance rule. The v2
half is easy to meet (81 pass it, e.g. the band above: pooled v2 F1
.950 at FPR .010), the v1 half never: every configuration that raises
v1's F1 (at most .963) adds a v1 false positive (4 instead of 3 of 128
compliant development answers, FPR .031; up to .094). Of the 46 that
keep v1's FPR, 36 leave v1's figures as the rules have them ("l2" NORM
at margin .9, stricter L2 and margins; some gain on v2 alone, e.g. e40
L2 .03 band [0, .5) m .98: v2 .948/.012) and 10 lose a v1 refusal (F1
.947). The third grid's bands that may only take refusals back remove
no v1 false positive in CV: [.5, .7) leaves v1 as it is (v2 up to
.942/.010), [.5, 1.01) only drops true refusals (v1 .947/.023, v2
.932-.938/.010-.012).
Full classifiers: pooled F1 .938-.946 at FPR .032-.065, v1 FPR
.055-.094. So the threefold training data from v1's own two models did
not change the picture of the second attempt: the model's v1 gains are
one or two answers and cost a false positive there. Nothing was scored
on the held-out halves in this attempt; lib/ has no hook, and
lci_refusal_features() is kept for the next rerun.

Second attempt (v1 + the two Mistral v2 development halves, 608 answers,
acceptance: v1 as now and each v2 source on its own not worse). CV,
F1/FPR:

    source           rules        full e20 L2 .01   band .2-.8 m .9
    v1               .955/.023    .912/.062         .955/.031
    mistralguard     .873/.033    .922/.078         .913/.022
    mistralinstruct  .667/.006    .698/.024         .690/.006
    pooled           .871/.018    .886/.049         .895/.018

No configuration of the 134 tried passed: on v1 the model never raised
F1 above .956, and every configuration that changed v1's figures added
at least one false positive there (v1 FPR .031-.094); the 27 that left
v1 as the rules have it either changed nothing at all ("l2" NORM at
margin .7-.9) or gained on one v2 source only (e40 L2 .1, band [0-.2,
.5), margin .98: guard .884/.033).
Full classifiers: pooled F1 .876-.886 at FPR .028-.062 (raw L2 1e-3/1e-2:
v1 F1 .884-.912, FPR .062-.086); "l2" NORM models learnt little more than
the rule score (.869-.881). Bands: the wide low band [0, .5) with margin
.9 gave the best v2 gains (e40 L2 .01: guard .916/.067, instruct
.774/.006, v1 .956/.039) at the cost of false positives; stricter L2
(.03, .1) or margins (.95, .98) drifted back towards the rules. The
"pooled" choice (e20, L2 .01, raw, band [.2, .8), margin .9) and the
best full classifier (e20, L2 .01, raw) were then scored once on the
held-out halves (P R F1 FPR):

    held-out (answers)  rules            band choice      full
    v1 (206)            .939 .912 .925   .928 .941 .934   .823 .956 .884
                        FPR .029         FPR .036         FPR .101
    mistralguard (243)  .989 .699 .819   .980 .797 .879   .893 .951 .921
                        FPR .008         FPR .017         FPR .117
    mistralinstruct     .842 .410 .552   .870 .513 .645   .694 .641 .667
      (243)             FPR .015         FPR .015         FPR .054

Held-out refusal rates, human / rules / band / full: gpt4 .068 / .058 /
.058 / .087, llama2 .592 / .583 / .612 / .680, mistralguard .506 / .358 /
.412 / .539, mistralinstruct .160 / .078 / .095 / .148. The band model
gained recall (v1 +2 refusals of 68, guard about +12, instruct +4), but
added a false positive on v1 (5 instead of 4 of 138 compliant answers,
as CV predicted) and on mistralguard (2 instead of 1). The differences
are one or two answers, inside the held-out interval of the rules'
figures (test_refusal_accuracy.c: F1 .868-.969, FPR .011-.072).

First attempt (v1 development half alone, 194 answers): the full model
scored held-out F1 0.879-0.892 / FPR 0.065-0.080 and every band/margin
scored below the rules in CV; the hashed n-grams learnt Llama-2's
wording.
"""
import math
import random
import sys

from refusal_metrics import confusion, rates  # tools/refusal_metrics.py

RATE = 0.05
SEED = 1
FOLDS = 5
FOLD_SEED = 7

# Configurations cross-validated by --cv (the grid is fixed in advance).
# epochs, L2, norm ("raw": feature values as lci_refusal_features gives
# them; "l2": every feature but the bias and the rule score divided by the
# Euclidean norm of those features, a second accumulator in the hook)
MODELS = [(e, l2, norm) for norm in ("raw", "l2") for l2 in (1e-3, 1e-2)
          for e in (20, 40)]
# second round (after the first showed no winner): stronger L2, and the
# model only allowed to add refusals below the rule threshold, at stricter
# margins
MODELS2 = [(40, l2, "raw") for l2 in (3e-2, 1e-1)]
# How the model is used: ("full",) replaces the rules; ("band", lo, hi,
# margin) flips the rule decision only when the rule score s lies in
# [lo, hi) and the probability p is beyond the margin (p > margin to
# refusal, p < 1 - margin to compliance).
USES = [("full",)] + [("band", lo, hi, m)
                      for lo, hi in ((0.0, 0.5), (0.2, 0.8), (0.3, 0.7),
                                     (0.0, 1.01))
                      for m in (0.5, 0.7, 0.9)]
USES2 = [("band", lo, 0.5, m) for lo in (0.0, 0.1, 0.2)
         for m in (0.9, 0.95, 0.98)] + [("band", 0.0, 1.01, 0.95)]
# third round (declared before the six-source run was looked at): bands
# that may only take refusals back (rule score in [.5, HI)), where the
# rules' false positives sit, and the two-sided middle bands at the
# stricter margins of round two
MODELS3 = [(e, l2, "raw") for e, l2 in ((20, 1e-2), (40, 1e-2), (40, 3e-2))]
USES3 = [("band", 0.5, hi, m) for hi in (0.7, 1.01)
         for m in (0.7, 0.9, 0.95)] + [("band", lo, hi, m)
                                       for lo, hi in ((0.2, 0.8), (0.3, 0.7))
                                       for m in (0.95, 0.98)]


def load(path):
    rows = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t")
            if len(parts) < 5:
                continue
            feats = {}
            for tok in parts[4].split():
                b, _, v = tok.partition(":")
                feats[int(b)] = feats.get(int(b), 0.0) + float(v)
            rows.append({
                "id": parts[0],
                "y": 0 if parts[1] == "compliance" else 1,
                "model": parts[2],
                "prompt": int(parts[3]),
                "heldout": int(parts[3]) & 1,
                "x": feats,
            })
    return rows


def source_of(r):
    """v1's two models form one source; each v2 file is one. By the id,
    not the model: v2's gpt4 file has the same model name as v1's."""
    return "v1" if r["id"].startswith("xstest-v1-") else r["model"]


def transform(x, norm):
    if norm == "raw":
        return x
    ss = sum(v * v for b, v in x.items() if b > 1)
    if ss <= 0:
        return x
    k = 1.0 / math.sqrt(ss)
    return {b: (v if b <= 1 else v * k) for b, v in x.items()}


def sigmoid(z):
    if z < -30:
        return 0.0
    if z > 30:
        return 1.0
    return 1.0 / (1.0 + math.exp(-z))


def predict(w, x):
    """w: a list indexed by bucket (train()) or a dict (read back)."""
    if isinstance(w, list):
        return sigmoid(sum(w[b] * v for b, v in x.items()))
    return sigmoid(sum(w.get(b, 0.0) * v for b, v in x.items()))


NBUCKETS = 65536  # LCI_FEAT_BUCKETS


def train(rows, cfg):
    """Plain SGD; the same arithmetic, in the same order, as the dict
    version of the first two attempts, on a flat list for speed."""
    epochs, l2, norm = cfg
    xs = [list(transform(r["x"], norm).items()) for r in rows]
    ys = [r["y"] for r in rows]
    rng = random.Random(SEED)
    w = [0.0] * NBUCKETS
    order = list(range(len(rows)))
    for epoch in range(epochs):
        rng.shuffle(order)
        rate = RATE / (1 + epoch * 0.1)
        for i in order:
            x = xs[i]
            g = sigmoid(sum(w[b] * v for b, v in x)) - ys[i]
            for b, v in x:
                wb = w[b]
                w[b] = wb - rate * (g * v + l2 * wb)
    return w


def decide(use, s, p):
    d = s >= 0.5
    if use[0] == "full":
        return p >= 0.5
    _, lo, hi, m = use
    if lo <= s < hi:
        if d and p < 1 - m:
            d = False
        elif not d and p > m:
            d = True
    return d


def scores(pred, rows):
    return rates(*confusion((r["y"] == 1, p) for p, r in zip(pred, rows)))


def by_source(pred, rows):
    """{source: (P, R, F1, FPR)} plus "all" (pooled)."""
    out = {"all": scores(pred, rows)}
    v2 = [(p, r) for p, r in zip(pred, rows) if source_of(r) != "v1"]
    if v2:
        out["v2"] = scores([p for p, _ in v2], [r for _, r in v2])
    for src in sorted(set(source_of(r) for r in rows)):
        sub = [(p, r) for p, r in zip(pred, rows) if source_of(r) == src]
        out[src] = scores([p for p, _ in sub], [r for _, r in sub])
    return out


def beats(m, rules):
    """The acceptance rule (third attempt, fixed before any figure of the
    six-source run was seen): v1's F1 higher and its FPR not higher than
    the rules'; the F1 pooled over all v2 sources ("v2") not lower and
    its FPR not higher. (The rule of the second attempt asked the same
    of every v2 source on its own; see STATUS.)"""
    if m["v1"][3] > rules["v1"][3] + 1e-9:
        return False
    if m["v1"][2] <= rules["v1"][2] + 1e-9:
        return False
    if "v2" in rules:
        if m["v2"][3] > rules["v2"][3] + 1e-9:
            return False
        if m["v2"][2] < rules["v2"][2] - 1e-9:
            return False
    return True


def fmt(res):
    return "  ".join("%s %.3f/%.3f" % (k, v[2], v[3])
                     for k, v in sorted(res.items()))


def folds_of(dev):
    groups = sorted(set(r["prompt"] for r in dev))
    random.Random(FOLD_SEED).shuffle(groups)
    return [set(groups[i::FOLDS]) for i in range(FOLDS)]


def emit(w, path, cfg, use, files):
    """The weights as a C table; cfg, use and the feature files are
    recorded in its header comment (the hook would apply `use`)."""
    items = sorted((b, v) for b, v in enumerate(w) if abs(v) >= 1e-4)
    with open(path, "w", encoding="ascii") as f:
        f.write("/*\n * refusal_model.c - GENERATED by tools/train_refusal.py"
                " - do not edit.\n * Logistic regression weights over the "
                "hashed features of\n * lci_refusal_features(), trained on the"
                " even-FNV halves of:\n")
        for name in files:
            f.write(" *   %s\n" % name)
        f.write(" * epochs %d, L2 %g, norm %s; use %s\n */\n"
                % (cfg + (" ".join(str(u) for u in use),)))
        f.write('#include "internal.h"\n\n')
        f.write("const lci_model_weight lci_refusal_model[] = {\n")
        for b, v in items:
            f.write("    {%d, %.6ff},\n" % (b, v))
        f.write("};\n")
        f.write("const size_t lci_refusal_model_len =\n    sizeof "
                "lci_refusal_model / sizeof lci_refusal_model[0];\n")


def cross_validate(dev, rounds):
    """Grouped FOLDS-fold CV over the development halves of all sources
    (a prompt's answers, from every model, stay in one fold). Returns
    the choices: "pass" the best (config, use) by pooled F1 among those
    that pass beats() (None if none does), "pooled" the best by pooled
    F1 among those whose pooled FPR is not above the rules', "full" the
    best full classifier by pooled F1."""
    parts = folds_of(dev)
    rules_pred = [r["x"].get(1, 0.0) >= 0.5 for r in dev]
    rules = by_source(rules_pred, dev)
    print("%d-fold grouped CV on the development halves (%d answers, %d "
          "prompts); F1/FPR per source" % (FOLDS, len(dev),
                                           sum(len(p) for p in parts)))
    print("  %-40s %s" % ("rules", fmt(rules)))
    best = {"pass": None, "pooled": None, "full": None}

    def keep(key, cand):
        if best[key] is None or cand[2] > best[key][2] + 1e-12:
            best[key] = cand
    cache = {}  # cfg -> out-of-fold probabilities (training is the cost)
    for models, uses in rounds:
        for cfg in models:
            if cfg not in cache:
                probs = {}
                for part in parts:
                    w = train([r for r in dev if r["prompt"] not in part],
                              cfg)
                    for i, r in enumerate(dev):
                        if r["prompt"] in part:
                            probs[i] = predict(w, transform(r["x"], cfg[2]))
                cache[cfg] = probs
            probs = cache[cfg]
            for use in uses:
                pred = [decide(use, r["x"].get(1, 0.0), probs[i])
                        for i, r in enumerate(dev)]
                res = by_source(pred, dev)
                ok = beats(res, rules)
                name = "e%d l2 %g %s %s" % (cfg[0], cfg[1], cfg[2],
                                             " ".join(str(u) for u in use))
                print("  %-40s %s%s" % (name, fmt(res),
                                        "  BEATS" if ok else ""))
                cand = (cfg, use, res["all"][2])
                if ok:
                    keep("pass", cand)
                if res["all"][3] <= rules["all"][3] + 1e-12:
                    keep("pooled", cand)
                if use[0] == "full":
                    keep("full", cand)
    sys.stdout.flush()
    return best


def parse_use(text):
    f = text.split(",")
    if f[0] == "full":
        return ("full",)
    return ("band", float(f[1]), float(f[2]), float(f[3]))


def main(argv):
    files = [a for a in argv[1:] if not a.startswith("--")]
    opts = {a: argv[i + 2] for i, a in enumerate(argv[1:])
            if a in ("--emit", "--model", "--use") and i + 2 < len(argv)}
    files = [f for f in files if f not in opts.values()]
    if not files:
        sys.stderr.write(__doc__)
        return 2
    rows = [r for f in files for r in load(f)]
    dev = [r for r in rows if r["heldout"] == 0]
    test = [r for r in rows if r["heldout"] == 1]
    if "--cv" in argv:
        best = cross_validate(dev, [(MODELS, USES),
                                    (MODELS2 + [(40, 1e-2, "raw")], USES2),
                                    (MODELS3, USES3)])
        for k in ("pass", "pooled", "full"):
            print("chosen (%s): %s" % (k, best[k]))
        return 0
    e, l2, norm = opts.get("--model", "40,0.001,raw").split(",")
    cfg = (int(e), float(l2), norm)
    use = parse_use(opts.get("--use", "full"))
    w = train(dev, cfg)
    print("trained on %d development answers, %s, use %s"
          % (len(dev), cfg, use))
    if "--test" in argv:
        rule_pred = [r["x"].get(1, 0.0) >= 0.5 for r in test]
        model_pred = [decide(use, r["x"].get(1, 0.0),
                             predict(w, transform(r["x"], norm)))
                      for r in test]
        print("held-out (%d answers) P R F1 FPR" % len(test))
        for name, pred in (("rules", rule_pred), ("model", model_pred)):
            for src, v in sorted(by_source(pred, test).items()):
                print("  %-5s %-16s %.3f %.3f %.3f %.3f"
                      % ((name, src) + v))
        for model in sorted(set(r["model"] for r in test)):
            sub = [(p, q, r) for p, q, r in zip(rule_pred, model_pred, test)
                   if r["model"] == model]
            print("  held-out %-16s refusal rate human %.3f rules %.3f "
                  "model %.3f" % (model,
                                  sum(r["y"] for _, _, r in sub) / len(sub),
                                  sum(1 for p, _, _ in sub if p) / len(sub),
                                  sum(1 for _, q, _ in sub if q) / len(sub)))
    if "--emit" in opts:
        emit(w, opts["--emit"], cfg, use, files)
        print("wrote %s" % opts["--emit"])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
