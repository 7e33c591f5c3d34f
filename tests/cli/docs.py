#!/usr/bin/env python3
"""docs.py - the man page and --help tell the same story.

1. Every long option that `loopcheck --help` or `loopcheck VERB --help`
   prints is documented in cli/loopcheck.1, and every option the man page
   documents is one that some --help prints (so neither lists an option
   that does not exist).
2. The PATTERN FILES section of cli/loopcheck.1 is doc/patterns.mdoc
   verbatim (its comment lines aside): the pattern syntax is written once
   for the man page and once, longer, in doc/patterns.md.

Usage: docs.py --loopcheck PATH --source DIR   (TAP output)
"""

import argparse
import os
import re
import subprocess
import sys

import tap  # tests/cli/tap.py

VERBS = ["check", "turns", "patterns", "diff"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    o = ap.parse_args()
    man = open(os.path.join(o.source, "cli", "loopcheck.1"),
               encoding="utf-8").read()
    helps = ""
    for argv in [["--help"]] + [[v, "--help"] for v in VERBS]:
        helps += subprocess.run([o.loopcheck] + argv, stdout=subprocess.PIPE,
                                check=True).stdout.decode()
    in_help = set(re.findall(r"--[a-z][a-z-]*", helps))
    in_man = set("--" + m for m in re.findall(r"Fl -([a-z][a-z-]*)", man))
    checks = []
    checks.append(("every --help option is in loopcheck.1",
                   sorted(in_help - in_man)))
    checks.append(("every option in loopcheck.1 is in some --help",
                   sorted(in_man - in_help)))
    mdoc = open(os.path.join(o.source, "doc", "patterns.mdoc"),
                encoding="utf-8").read()
    want = "\n".join(l for l in mdoc.split("\n")
                     if not l.startswith('.\\"')).strip("\n")
    m = re.search(r"^\.Sh PATTERN FILES\n.*?(?=^\.Sh )", man, re.S | re.M)
    got = m.group(0).strip("\n") if m else ""
    checks.append(("PATTERN FILES in loopcheck.1 is doc/patterns.mdoc",
                   [] if got == want else
                   ["the section differs from doc/patterns.mdoc (or is "
                    "missing): paste the file again"]))
    return tap.report(len(checks), checks)


if __name__ == "__main__":
    sys.exit(main())
