#!/usr/bin/env python3
"""families.py - `loopcheck patterns --families` lists the families' settings.

Text: a header line, then one line per family in aligned columns (FAMILY,
SPEC, WEIGHT, ROLE, FLAGS, PATTERNS, ORIGIN, SETTINGS). JSON (-f json):
one object per family and line. Checked:

1. Built in: every family of doc/patterns.md's "Built-in families" table
   is listed once with the settings that table gives, origin and settings
   "builtin", and text and JSON say the same.
2. A pattern file (-p, and the same file through -c's [input] patterns)
   that re-opens families and changes their weight, specificity and flags,
   disables one and adds one: each change shows, with the file as the
   settings' origin; untouched families stay "builtin".
3. Every family's pattern count equals its lines in `loopcheck patterns
   -f json`.
4. --family NAMES lists only those families, in both formats; an unknown
   name is a usage error (exit 2, LC-E010), a family without patterns is
   not unknown.

Usage: families.py --loopcheck PATH --source DIR   (TAP output)
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile

import tap  # tests/cli/tap.py

# name: (specificity, weight, role, flags) as doc/patterns.md gives them
BUILTIN = {
    "filtered": (95, 100, "assistant", ""),
    "crisis_redirect": (90, 100, "assistant", ""),
    "policy": (80, 100, "assistant", ""),
    "discomfort": (75, 100, "assistant", ""),
    "redirect_professional": (70, 80, "assistant", "soft"),
    "inappropriate": (65, 85, "assistant", ""),
    "decline": (60, 100, "assistant", ""),
    "privacy": (60, 85, "assistant", ""),
    "disclaim_harm": (55, 100, "assistant", "soft"),
    "refusal_es": (55, 100, "assistant", ""),
    "refusal_fr": (55, 100, "assistant", ""),
    "refusal_de": (55, 100, "assistant", ""),
    "refusal_pt": (55, 100, "assistant", ""),
    "refusal_it": (55, 100, "assistant", ""),
    "refusal_zh": (55, 100, "assistant", ""),
    "refusal_ja": (55, 100, "assistant", ""),
    "apology_inability": (50, 100, "assistant", ""),
    "ai_disclaimer": (40, 55, "assistant", "soft"),
    "objection": (25, 70, "assistant", ""),
    "lecture": (20, 45, "assistant", "soft"),
    "deflect": (10, 30, "assistant", "soft"),
    "premise": (0, -60, "assistant", ""),
    "not_refusal": (0, 0, "assistant", "cancel"),
    "limitation": (0, 0, "assistant", ""),
    "moral_reason": (0, 0, "assistant", ""),
    "alternative": (0, 0, "assistant", ""),
    "help_here": (0, 0, "help", ""),
    "help_offer": (0, 0, "help", ""),
    "pushback": (0, 0, "user", ""),
}

TUNE = """\
[family lecture]
weight 60
specificity 30
accumulate

[family deflect]
disable

[family objection]
role help
cancel

[family pirate]
specificity 90
weight -20
soft
< arr (no|nay) [matey] (can|will) (do|help)
i be not helpin

[family quiet]
specificity 5
"""

# what TUNE makes of the families it names: (spec, weight, role, flags)
TUNED = {
    "lecture": (30, 60, "assistant", "soft,accumulate"),
    "deflect": (10, 30, "assistant", "disabled,soft"),
    "objection": (25, 70, "help", "cancel"),
    "pirate": (90, -20, "assistant", "soft"),
    "quiet": (5, 100, "assistant", ""),
}
NEW = ["pirate", "quiet"]

COLUMNS = ["FAMILY", "SPEC", "WEIGHT", "ROLE", "FLAGS", "PATTERNS",
           "ORIGIN", "SETTINGS"]


def run(exe, args, cwd):
    p = subprocess.run([exe] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def parse_text(out):
    """(rows as dicts, problems). Columns must line up under the header:
    left-aligned ones start, right-aligned ones end where it says."""
    probs = []
    lines = out.splitlines()
    if not lines or lines[0].split() != COLUMNS:
        return [], ["header is not %s: %r" % (" ".join(COLUMNS),
                                              lines[:1])]
    head = lines[0]
    start = {c: head.index(c) for c in COLUMNS}
    rows = []
    for l in lines[1:]:
        f = l.split()
        if len(f) != len(COLUMNS):
            probs.append("not %d columns: %r" % (len(COLUMNS), l))
            continue
        row = dict(zip(COLUMNS, f))
        for c in ["FAMILY", "ROLE", "FLAGS", "ORIGIN", "SETTINGS"]:
            if not l[start[c]:].startswith(row[c]) or \
                    (start[c] and l[start[c] - 1] != " "):
                probs.append("%s not under its header in %r" % (c, l))
        for c in ["SPEC", "WEIGHT", "PATTERNS"]:
            end = start[c] + len(c)
            if l[:end].split()[-1:] != [row[c]] or l[end:end + 1] != " ":
                probs.append("%s not right-aligned under its header in %r"
                             % (c, l))
        rows.append(row)
    return rows, probs


def parse_json(out):
    rows, probs = [], []
    for l in out.splitlines():
        try:
            o = json.loads(l)
        except ValueError as e:
            probs.append("not JSON (%s): %r" % (e, l))
            continue
        if not isinstance(o, dict):
            probs.append("not an object: %r" % l)
            continue
        rows.append(o)
    return rows, probs


def json_flags(o):
    """The text listing's FLAGS for a JSON object."""
    f = [n for n, on in [("disabled", not o.get("enabled")),
                         ("soft", o.get("soft")),
                         ("cancel", o.get("cancel")),
                         ("accumulate", o.get("accumulate"))] if on]
    return ",".join(f) or "-"


def expect(rows_t, rows_j, want, origins):
    """want: name -> (spec, weight, role, flags); origins: name ->
    (origin, settings origin). Checks both listings have exactly these
    families with these values, and agree with each other."""
    probs = []
    names_t = [r["FAMILY"] for r in rows_t]
    names_j = [o.get("family") for o in rows_j]
    if names_t != names_j:
        probs.append("text and JSON list other families or another order:"
                     " %s / %s" % (names_t, names_j))
    if sorted(names_t) != sorted(want):
        probs.append("families %s, want %s" % (sorted(names_t),
                                              sorted(want)))
    for r in rows_t:
        n = r["FAMILY"]
        if n not in want:
            continue
        spec, weight, role, flags = want[n]
        got = (int(r["SPEC"]), int(r["WEIGHT"]), r["ROLE"], r["FLAGS"],
               r["ORIGIN"], r["SETTINGS"])
        exp = (spec, weight, role, flags or "-") + origins[n]
        if got != exp:
            probs.append("text %s: %s, want %s" % (n, got, exp))
    for o in rows_j:
        n = o.get("family")
        if n not in want:
            continue
        spec, weight, role, flags = want[n]
        got = (o.get("specificity"), o.get("weight"), o.get("role"),
               json_flags(o), o.get("origin"), o.get("settings_origin"))
        exp = (spec, weight, role, flags or "-") + origins[n]
        if got != exp:
            probs.append("JSON %s: %s, want %s" % (n, got, exp))
        keys = ["family", "specificity", "weight", "role", "enabled", "soft",
                "cancel", "accumulate", "patterns", "origin",
                "settings_origin"]
        if list(o) != keys:
            probs.append("JSON %s keys %s, want %s" % (n, list(o), keys))
        for k in ["enabled", "soft", "cancel", "accumulate"]:
            if not isinstance(o.get(k), bool):
                probs.append("JSON %s: %s is not a boolean" % (n, k))
    return probs


def counts_problems(exe, args, cwd, rows_j, rows_t):
    probs = []
    rc, out, err = run(exe, ["patterns", "-f", "json"] + args, cwd)
    if rc != 0:
        return ["patterns -f json exit %d: %s" % (rc, err)]
    per = {}
    for l in out.splitlines():
        fam = json.loads(l)["family"]
        per[fam] = per.get(fam, 0) + 1
    text = {r["FAMILY"]: int(r["PATTERNS"]) for r in rows_t}
    for o in rows_j:
        n = o["family"]
        if o["patterns"] != per.get(n, 0) or text.get(n) != per.get(n, 0):
            probs.append("%s: %s patterns (JSON), %s (text), %d listed"
                         % (n, o["patterns"], text.get(n), per.get(n, 0)))
    return probs


def listing(exe, args, cwd):
    """(text rows, JSON rows, problems) of patterns --families ARGS."""
    probs = []
    rc, out, err = run(exe, ["patterns", "--families"] + args, cwd)
    if rc != 0 or err:
        probs.append("text: exit %d, stderr %r" % (rc, err))
    rows_t, p = parse_text(out)
    probs += p
    rc, out, err = run(exe, ["patterns", "--families", "-f", "json"] + args,
                       cwd)
    if rc != 0 or err:
        probs.append("json: exit %d, stderr %r" % (rc, err))
    rows_j, p = parse_json(out)
    probs += p
    return rows_t, rows_j, probs


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    o = ap.parse_args()
    exe = os.path.abspath(o.loopcheck)
    cases = []
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "tune.lcp"), "w") as f:
            f.write(TUNE)
        with open(os.path.join(d, "lc.toml"), "w") as f:
            f.write('[input]\npatterns = ["tune.lcp"]\n')

        rows_t, rows_j, probs = listing(exe, [], d)
        probs += expect(rows_t, rows_j, BUILTIN,
                        {n: ("builtin", "builtin") for n in BUILTIN})
        cases.append(("built-in families and their settings", probs))
        cases.append(("built-in pattern counts",
                      counts_problems(exe, [], d, rows_j, rows_t)))

        want = dict(BUILTIN)
        want.update(TUNED)
        origins = {n: ("builtin", "builtin") for n in BUILTIN}
        for n in TUNED:
            origins[n] = ("tune.lcp" if n in NEW else "builtin", "tune.lcp")
        for how, args in [("-p", ["-p", "tune.lcp"]),
                          ("-c", ["-c", "lc.toml"])]:
            rows_t, rows_j, probs = listing(exe, args, d)
            if how == "-p":
                names = [r["FAMILY"] for r in rows_t]
                if names[-len(NEW):] != NEW:
                    probs.append("new families not listed last in file "
                                 "order: %s" % names[-len(NEW):])
            probs += expect(rows_t, rows_j, want, origins)
            cases.append(("%s tune.lcp changes show" % how, probs))
            cases.append(("%s tune.lcp pattern counts" % how,
                          counts_problems(exe, args, d, rows_j, rows_t)))

        sel = ["deflect", "quiet", "crisis_redirect"]
        rows_t, rows_j, probs = listing(
            exe, ["-p", "tune.lcp", "--family", ",".join(sel)], d)
        probs += expect(rows_t, rows_j, {n: want[n] for n in sel},
                        {n: ("tune.lcp" if n in NEW else "builtin",
                             "tune.lcp" if n in TUNED else "builtin")
                         for n in sel})
        cases.append(("--family selects families (one without patterns)",
                      probs))

        rc, out, err = run(exe, ["patterns", "--families", "--family",
                                 "pirate,nosuch"], d)
        probs = []
        if rc != 2 or out or "'pirate'" not in err or "LC-E010" not in err:
            probs.append("exit %d, stdout %r, stderr %r: want exit 2, no "
                         "output, 'pirate' unknown [LC-E010]"
                         % (rc, out, err))
        cases.append(("--family with an unknown family is a usage error",
                      probs))
    return tap.report(len(cases), cases)


if __name__ == "__main__":
    sys.exit(main())
