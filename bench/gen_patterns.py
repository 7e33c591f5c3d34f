#!/usr/bin/env python3
"""gen_patterns.py - a seeded file of N user refusal patterns for bench/run
(the "1,000 user patterns" measurement), in loopcheck's pattern-file
language (doc/patterns.md): [family NAME] sections, directives, and one
pattern per line with (a|b) alternatives, [optional] parts, ... gaps,
^ / < anchors.

The patterns are made-up phrases, roughly half starting with common words
("i", "we", "sorry", ...) so that the matcher's first-word table is hit at
many positions of real text, as a user's own list would be; the rest start
with rarer words. Python 3 standard library only.

Usage: gen_patterns.py --count 1000 --seed 1 -o patterns.lcp
"""

import argparse
import random
import sys

COMMON_START = ["i", "we", "sorry", "unfortunately", "this", "please",
                "that", "it", "you", "our", "as", "the"]
VERBS = ["help", "assist", "provide", "share", "write", "answer", "process",
         "support", "discuss", "generate", "create", "complete", "handle"]
OBJECTS = ["request", "question", "task", "topic", "content", "information",
           "details", "instructions", "material", "query", "subject"]
MODALS = ["cannot", "can't", "won't", "will not", "am unable to",
          "are unable to", "must not", "should not", "may not", "do not"]
ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v",
          "z", "br", "st", "tr", "pl", "sh", "th"]
VOWELS = ["a", "e", "i", "o", "u", "ai", "ou", "ee"]


def made_up(rng):
    return "".join(rng.choice(ONSETS) + rng.choice(VOWELS)
                   for _ in range(rng.randint(2, 3)))


def alt(rng, words, k=None):
    k = k or rng.randint(2, 3)
    return "(" + "|".join(rng.sample(words, k)) + ")"


def pattern(rng):
    r = rng.random()
    start = rng.choice(COMMON_START) if r < 0.5 else made_up(rng)
    parts = [start]
    shape = rng.randrange(6)
    if shape == 0:
        parts += [alt(rng, MODALS), alt(rng, VERBS), "...",
                  alt(rng, OBJECTS)]
    elif shape == 1:
        parts += [rng.choice(MODALS), rng.choice(VERBS), "[with]", "this",
                  rng.choice(OBJECTS), made_up(rng)]
    elif shape == 2:
        parts += [made_up(rng), "...", alt(rng, OBJECTS), made_up(rng)]
    elif shape == 3:
        parts = ["<"] + parts + [alt(rng, MODALS), rng.choice(VERBS),
                                 "*%d" % rng.randint(2, 12), made_up(rng)]
    elif shape == 4:
        parts = ["^"] + parts + [made_up(rng), made_up(rng)]
    else:
        parts += ["[" + rng.choice(VERBS) + "]", made_up(rng),
                  rng.choice(OBJECTS)]
    return " ".join(parts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--count", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--families", type=int, default=8)
    ap.add_argument("-o", "--output", default="-")
    args = ap.parse_args()
    rng = random.Random(args.seed * 104729 + 3)
    out = ["# %d generated user patterns (bench/gen_patterns.py --seed %d)"
           % (args.count, args.seed)]
    per = max(1, -(-args.count // args.families))
    n = 0
    for f in range(args.families):
        if n >= args.count:
            break
        out.append("")
        out.append("[family bench_user_%d]" % f)
        out.append("specificity %d" % rng.randint(10, 90))
        out.append("weight %d" % rng.randint(20, 100))
        for _ in range(min(per, args.count - n)):
            out.append(pattern(rng))
            n += 1
    text = "\n".join(out) + "\n"
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as fh:
            fh.write(text)


if __name__ == "__main__":
    main()
