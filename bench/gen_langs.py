#!/usr/bin/env python3
"""gen_langs.py - seeded single-language JSONL corpora for measuring
loopcheck on text that is not English ASCII: the main bench corpus has
non-ASCII in only ~5% of its turns, so a slow path for accented, Cyrillic
or CJK text would not show there.

Writes, into the output directory, lang-fr.jsonl (French: accented Latin,
apostrophes), lang-de.jsonl (German: umlauts, capitalized nouns, sharp s),
lang-ru.jsonl (Russian: Cyrillic, capitalized sentence starts) and
lang-zh.jsonl (random CJK ideographs with CJK punctuation), each 60
conversations of 6 turns of ~500 words (~1-2 MB). The words are a small
fixed list per language drawn at random: enough for normalization and
tokenization, not meant as language. Python 3 standard library only.

Usage: gen_langs.py [--seed 1] [-o bench/out]
   then e.g.
   valgrind --tool=callgrind build-bench/cli/loopcheck check -q \\
       --format json --fail-on none bench/out/lang-fr.jsonl
"""

import argparse
import json
import os
import random

WORDS = {
    "fr": ["été", "déjà", "le", "à", "garçon", "où", "très", "fenêtre",
           "naïve", "la", "de", "et", "l'hôpital", "c'était", "Élodie",
           "français", "reçu", "œuvre"],
    "de": ["über", "Straße", "Mädchen", "für", "größer", "schön", "heißt",
           "Ärger", "Öl", "und", "Übung", "die", "der", "Grüße", "möchte"],
    "ru": ["Привет", "мир", "это", "который", "человек", "время", "год",
           "работа", "жизнь", "день", "Россия", "ещё", "знаешь", "й"],
}


def words_text(rng, words, n):
    out = []
    for i in range(n):
        out.append(rng.choice(words))
        if rng.random() < 0.08:
            out[-1] += "."
    return " ".join(out) + "."


def cjk_text(rng, n):
    out = []
    for _ in range(n):
        out.append(chr(rng.randint(0x4E00, 0x9FFF)))
        r = rng.random()
        if r < 0.08:
            out.append("，")
        elif r < 0.12:
            out.append("。")
    return "".join(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("-o", "--out", default="bench/out")
    a = ap.parse_args()
    os.makedirs(a.out, exist_ok=True)
    for lang in ["fr", "de", "ru", "zh"]:
        rng = random.Random(f"{a.seed}-{lang}")
        path = os.path.join(a.out, f"lang-{lang}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for _ in range(60):
                msgs = []
                for j in range(6):
                    text = (cjk_text(rng, 1500) if lang == "zh"
                            else words_text(rng, WORDS[lang], 500))
                    msgs.append({"role": "user" if j % 2 == 0
                                 else "assistant", "content": text})
                f.write(json.dumps({"messages": msgs},
                                   ensure_ascii=False) + "\n")
        print(path)


if __name__ == "__main__":
    main()
