#!/usr/bin/env python3
"""reference.py - the NAIVE BASELINE for the loopcheck benchmark.

This is deliberately the script a user would write instead of using
loopcheck: json.loads per line, unicodedata NFKC + str.casefold, a few
re.sub calls, word shingles as Python sets compared pairwise over the turns
of a conversation, and a list of refusal substrings searched with `in`.
It is not tuned and not a specification of loopcheck's detectors (its
findings are rougher); bench/run runs it on the same corpus as loopcheck
only to print the speed ratio side by side. Python 3 standard library only.

Usage: reference.py [--max-bytes N] FILE...   (JSONL, OpenAI chat format)
Prints one summary line per run on stdout:
  conversations=N turns=N bytes=N findings=N <kind>=N ...
and the elapsed time on stderr.
"""

import argparse
import json
import re
import sys
import time
import unicodedata

SHINGLE = 12          # recycled passage: words
NEAR_SHINGLE = 5      # near-duplicate: words per shingle
NEAR_JACCARD = 0.6
MAX_PERIOD = 8
MIN_REPEATS = 3
RECUR_MIN = 3
DEGEN_MIN_WORDS = 30
DEGEN_RATIO = 0.5

REFUSALS = [
    "i'm sorry, but i can't", "i'm sorry, but i cannot", "sorry, i can't",
    "i apologize, but i'm unable", "i can't help with", "i cannot assist",
    "i cannot help", "i'm unable to help", "i must decline", "i won't be able",
    "i will not", "as an ai language model", "as an ai,", "as an ai developed",
    "against my guidelines", "violates the usage policy",
    "i don't feel comfortable", "it is not appropriate",
    "i don't have access to personal information",
    "consult a licensed professional", "not a substitute for professional",
    "if you are in crisis", "988", "1-800-273-talk", "crisis line",
    "crisis hotline", "you don't have to face this alone",
    "lo siento, pero no puedo", "je ne peux pas", "kann ich nicht helfen",
    "nao posso ajudar", "não posso ajudar", "non posso aiutarti",
    "我无法", "お応えできません",
]

QUOTES = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"'}
QUOTE_RE = re.compile("[\u2018\u2019\u201c\u201d]")
ZW_RE = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")
WS_RE = re.compile(r"\s+")
WORD_RE = re.compile(r"\w+(?:'\w+)*")


def normalize(text):
    t = unicodedata.normalize("NFKC", text).casefold()
    t = QUOTE_RE.sub(lambda m: QUOTES[m.group(0)], t)
    t = ZW_RE.sub("", t)
    return WS_RE.sub(" ", t).strip()


def turn_text(msg):
    c = msg.get("content")
    if isinstance(c, list):
        c = " ".join(p.get("text", "") for p in c if isinstance(p, dict))
    c = c or ""
    calls = msg.get("tool_calls")
    if calls:
        canon = []
        for call in calls:
            fn = call.get("function", {})
            try:
                args = json.loads(fn.get("arguments") or "{}")
            except ValueError:
                args = fn.get("arguments")
            canon.append(fn.get("name", "") + " " +
                         json.dumps(args, sort_keys=True))
        c = (c + "\n" + "\n".join(canon)).strip()
    return c


def shingles(words, k):
    return {" ".join(words[i:i + k]) for i in range(len(words) - k + 1)}


def analyse(turns):
    """turns: list of (role, norm, words). Returns list of finding kinds."""
    found = []
    n = len(turns)
    keys = [(r, t) for r, t, _ in turns]
    # exact loops: block of p turns repeated >= MIN_REPEATS times
    i = 0
    while i < n:
        hit = False
        for p in range(1, MAX_PERIOD + 1):
            r = 1
            while i + (r + 1) * p <= n and \
                    keys[i + r * p:i + (r + 1) * p] == keys[i:i + p]:
                r += 1
            if r >= MIN_REPEATS:
                found.append("exact_loop")
                i += r * p
                hit = True
                break
        if not hit:
            i += 1
    # recurring turns (non-consecutive)
    seen = {}
    for idx, k in enumerate(keys):
        seen.setdefault(k, []).append(idx)
    for k, idxs in seen.items():
        if len(idxs) >= RECUR_MIN and k[1] and \
                any(b - a > 1 for a, b in zip(idxs, idxs[1:])):
            found.append("recurring_turn")
    # recycled passages and near duplicates: pairwise over turns
    sh = [shingles(w, SHINGLE) for _, _, w in turns]
    near = [shingles(w, NEAR_SHINGLE) for _, _, w in turns]
    for j in range(n):
        for i in range(j):
            if turns[i][0] != turns[j][0]:
                continue
            if turns[i][1] == turns[j][1]:
                continue
            if sh[i] & sh[j]:
                found.append("recycled_passage")
                break
            a, b = near[i], near[j]
            if a and b and j - i <= MAX_PERIOD:
                jac = len(a & b) / len(a | b)
                if jac >= NEAR_JACCARD:
                    found.append("near_duplicate_loop")
                    break
    # degenerate repetition inside one turn
    for _, _, w in turns:
        if len(w) >= DEGEN_MIN_WORDS:
            grams = [tuple(w[i:i + 3]) for i in range(len(w) - 2)]
            if 1 - len(set(grams)) / len(grams) >= DEGEN_RATIO:
                found.append("degenerate_repetition")
    # refusals, refusal loops, onset
    run = 0
    helpful = 0
    for role, t, _ in turns:
        if role != "assistant":
            continue
        if any(s in t for s in REFUSALS) or not t:
            found.append("refusal")
            run += 1
            if run == MIN_REPEATS:
                found.append("refusal_loop")
            if helpful >= 2 and run == 1:
                found.append("refusal_onset")
        else:
            run = 0
            helpful += 1
    return found


def main():
    ap = argparse.ArgumentParser(description="naive Python baseline")
    ap.add_argument("--max-bytes", type=int, default=0,
                    help="stop after this many bytes (at a line end)")
    ap.add_argument("files", nargs="+")
    args = ap.parse_args()
    t0 = time.perf_counter()
    nconv = nturns = nbytes = 0
    counts = {}
    for path in args.files:
        with open(path, "rb") as f:
            for line in f:
                if args.max_bytes and nbytes >= args.max_bytes:
                    break
                nbytes += len(line)
                if not line.strip():
                    continue
                try:
                    conv = json.loads(line)
                except ValueError:
                    counts["failed"] = counts.get("failed", 0) + 1
                    continue
                nconv += 1
                turns = []
                for m in conv.get("messages", []):
                    text = normalize(turn_text(m))
                    turns.append((m.get("role", ""), text,
                                  WORD_RE.findall(text)))
                nturns += len(turns)
                for k in analyse(turns):
                    counts[k] = counts.get(k, 0) + 1
    dt = time.perf_counter() - t0
    total = sum(v for k, v in counts.items() if k != "failed")
    print("conversations=%d turns=%d bytes=%d findings=%d %s" % (
        nconv, nturns, nbytes, total,
        " ".join("%s=%d" % kv for kv in sorted(counts.items()))))
    sys.stderr.write("reference.py: %.3f s, %.2f MB/s\n" %
                     (dt, nbytes / 1e6 / dt if dt else 0.0))


if __name__ == "__main__":
    main()
