#!/usr/bin/env python3
"""inputerrors.py - a path that cannot be read shows in JUnit and GitHub.

A log path that cannot be opened (a typo in a CI job, a missing artifact)
or a directory that cannot be walked makes the exit status 3 and prints
"PATH: error: ... [LC-E051]" on stderr. The CI outputs must show it too:
the JUnit report as an <error> test case (counted in the errors
attributes), GitHub output as an ::error command; otherwise the test tab
of the CI system is all green next to a red job, and nothing says why.
Checked for check and diff, with a plain missing file and one whose name
holds an escape character and invalid UTF-8 (the XML must still parse).
Also: an empty directory is no error (and no undefined behaviour).

Usage: inputerrors.py --loopcheck PATH --source DIR   (TAP output)
"""

import argparse
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import tap  # tests/cli/tap.py

GOOD = ('{"id":"a","messages":[{"role":"user","content":"hi"},'
        '{"role":"assistant","content":"Hello! How can I help?"}]}\n')


def run(exe, args, cwd):
    p = subprocess.run([exe] + args, cwd=cwd, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    return p.returncode, p.stdout, p.stderr


def junit_problems(out, missing):
    probs = []
    try:
        root = ET.fromstring(out)
    except ET.ParseError as e:
        return ["JUnit does not parse: %s" % e]
    errors = [e for e in root.iter("error")]
    hits = [e for e in errors if "LC-E051" in (e.get("message") or "")
            and missing in e.get("message")]
    if not hits:
        probs.append("no <error> test case names %r with LC-E051" % missing)
    if int(root.get("errors", "0")) != len(errors):
        probs.append("testsuites errors=%s, %d <error> elements"
                     % (root.get("errors"), len(errors)))
    for s in root.iter("testsuite"):
        n = sum(1 for c in s.iter("testcase") for x in c if x.tag == "error")
        if int(s.get("errors", "0")) != n:
            probs.append("suite %s errors=%s, %d <error> elements"
                         % (s.get("name"), s.get("errors"), n))
        t = len(list(s.iter("testcase")))
        if int(s.get("tests", "0")) != t:
            probs.append("suite %s tests=%s, %d test cases"
                         % (s.get("name"), s.get("tests"), t))
    return probs


def github_problems(out, missing):
    lines = [l for l in out.decode("utf-8").splitlines()
             if l.startswith("::error") and "LC-E051" in l and missing in l]
    return [] if lines else ["no ::error command names %r" % missing]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    o = ap.parse_args()
    exe = os.path.abspath(o.loopcheck)
    cases = []
    with tempfile.TemporaryDirectory() as d:
        with open(os.path.join(d, "good.jsonl"), "w") as f:
            f.write(GOOD)
        for missing, shown in [("missing.jsonl", "missing.jsonl"),
                               (b"odd\x1b[2J\xff.jsonl",
                                "odd\\u001b[2J\ufffd.jsonl")]:
            name = missing if isinstance(missing, str) else \
                os.fsdecode(missing)
            for verb, args in [("check", ["check", "--fail-on", "none",
                                          "good.jsonl", name]),
                               ("diff", ["diff", "good.jsonl", name])]:
                for fmt, probe in [("junit", junit_problems),
                                   ("github", github_problems)]:
                    rc, out, err = run(exe, args[:1] + ["-f", fmt]
                                       + args[1:], d)
                    probs = probe(out, shown)
                    if rc != 3:
                        probs.append("exit status %d, want 3" % rc)
                    cases.append(("%s -f %s, unreadable %r"
                                  % (verb, fmt, shown), probs))
        # an empty directory (only hidden entries): nothing to read, no
        # error; walking it once called qsort(NULL, 0, ...), undefined
        # behaviour that the ASan+UBSan leg of tests/run-all.sh (halt on
        # error) stops on
        os.mkdir(os.path.join(d, "empty"))
        with open(os.path.join(d, "empty", ".hidden.jsonl"), "w") as f:
            f.write(GOOD)
        rc, out, err = run(exe, ["check", "-q", "empty"], d)
        probs = [] if rc == 0 else ["exit status %d, want 0" % rc]
        if b"runtime error" in err or b"Sanitizer" in err:
            probs.append(err.decode("utf-8", "replace").strip())
        cases.append(("check an empty directory", probs))
    return tap.report(len(cases), cases)


if __name__ == "__main__":
    sys.exit(main())
