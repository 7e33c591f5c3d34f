#!/usr/bin/env python3
"""lcnumeric.py - the CLI's output and option parsing do not change with
the locale in the environment.

Scripts parse what loopcheck prints (JSON above all), and options such
as --max-rate refusal=0.25 or --alpha 0.05 are written with '.'. The CLI
does not call setlocale, so it runs in the C locale whatever LC_ALL
says, and the library writes its numbers with '.' under any LC_NUMERIC
(tests/unit/test_locale.c); this keeps it so: each case runs with
LC_ALL=C and with LC_ALL set to every installed locale of LOCALES whose
decimal point is not '.', and stdout, stderr and the exit status must be
the same. Without such a locale the whole script is skipped (TAP
"1..0 # SKIP"); tests/run-all.sh generates de_DE.UTF-8 and ps_AF.UTF-8.

Usage: lcnumeric.py --loopcheck PATH --source DIR   (TAP output)
"""

import argparse
import json
import os
import subprocess
import sys

import tap  # tests/cli/tap.py

# (comma decimal point, U+066B decimal point): the first installed of each
LOCALES = [["de_DE.UTF-8", "de_DE.utf8", "fr_FR.UTF-8", "fr_FR.utf8"],
           ["ps_AF.UTF-8", "ps_AF.utf8", "fa_IR.UTF-8", "fa_IR.utf8"]]

RUNS = ["fixtures/runs/baseline.jsonl", "fixtures/runs/candidate.jsonl"]
CASES = [
    ["check", "-f", "json", "--max-rate",
     "refusal=0.25,apology_inability=0.5", RUNS[1]],
    ["check", "-f", "text", "--max-rate", "refusal=0.25", RUNS[1]],
    ["check", "-f", "junit", "--max-rate", "refusal=0.5", RUNS[1]],
    ["check", "-f", "github", "--max-rate", "refusal=0.25", RUNS[1]],
    ["check", "-f", "json", "fixtures/refusal/onset-after-help.jsonl",
     "fixtures/loops/degenerate-jobs.jsonl",
     "fixtures/loops/recycled-passage.jsonl"],
    ["check", "-f", "text", "fixtures/loops/degenerate-jobs.jsonl",
     "fixtures/loops/recycled-passage.jsonl"],
    ["check", "-c", "fixtures/cli/check-config/loopcheck.toml", RUNS[1]],
    ["diff", "-f", "json", "--alpha", "0.0999999"] + RUNS,
    ["diff", "-f", "text", "--alpha", "0.0999999",
     "--max-rate-increase", "0.05"] + RUNS,
    ["diff", "-f", "junit", "--max-rate-increase", "0.5"] + RUNS,
    ["diff", "-f", "github", "--alpha", "0.01"] + RUNS,
    ["diff", "-c", "fixtures/cli/diff-config/loopcheck.toml"] + RUNS,
]


def run(exe, args, cwd, loc):
    env = dict(os.environ)
    for k in list(env):
        if k.startswith("LC_") or k in ("LANG", "LANGUAGE"):
            del env[k]
    env["LC_ALL"] = loc
    p = subprocess.run([exe] + args, cwd=cwd, env=env,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr


def comma_locale(names):
    """The first of names that is installed and whose decimal point is
    not '.' (asked of a child python3, to leave this process's locale
    alone), else None."""
    for name in names:
        probe = subprocess.run(
            [sys.executable, "-c",
             "import locale; locale.setlocale(locale.LC_ALL, %r); "
             "print(locale.localeconv()['decimal_point'])" % name],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, cwd="/")
        if probe.returncode == 0 and probe.stdout.strip() not in (b".", b""):
            return name
    return None


def first_diff(a, b):
    al, bl = a.split(b"\n"), b.split(b"\n")
    for i, (x, y) in enumerate(zip(al, bl)):
        if x != y:
            return "line %d:\n  %r\nin C:\n  %r" % (i + 1, x, y)
    return "%d lines, %d in C" % (len(al), len(bl))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    o = ap.parse_args()
    exe = os.path.abspath(o.loopcheck)
    locs = [l for l in (comma_locale(n) for n in LOCALES) if l]
    if not locs:
        print("1..0 # SKIP no locale with a decimal point other than '.' "
              "installed (localedef -i de_DE -f UTF-8 de_DE.UTF-8)")
        return 0
    cases = []
    for args in CASES:
        want = run(exe, args, o.source, "C")
        for loc in locs:
            got = run(exe, args, o.source, loc)
            probs = []
            if got[0] != want[0]:
                probs.append("exit status %d, %d in C" % (got[0], want[0]))
            for i, what in ((1, "stdout"), (2, "stderr")):
                if got[i] != want[i]:
                    probs.append("%s differs: %s"
                                 % (what, first_diff(got[i], want[i])))
            if "json" in args and not probs:
                for line in got[1].decode("utf-8").splitlines():
                    try:
                        json.loads(line)
                    except ValueError as e:
                        probs.append("not JSON (%s): %s" % (e, line))
            cases.append(("LC_ALL=%s %s" % (loc, " ".join(args)), probs))
    return tap.report(len(cases), cases)


if __name__ == "__main__":
    sys.exit(main())
