#!/usr/bin/env python3
"""Golden tests for the loopcheck command line (python3 stdlib only).

Each case is a directory fixtures/cli/<case>/ with:

  args             the arguments, one shell-quoted line (shlex), relative
                   paths resolved from the source root (or from the case's
                   scratch directory when there is a `setup` file)
  stdin            optional: fed to standard input (else /dev/null)
  setup            optional: sh script run in a fresh scratch directory
                   ($SRC = source root) that becomes the working directory
  stdout-to        optional: a device to use as standard output instead
                   of a pipe (e.g. /dev/full, to test write errors)
  expected.stdout  exact expected standard output
  expected.stderr  exact expected standard error
  expected.exit    expected exit status

Checks, per case:
  * stdout, stderr and the exit status match exactly;
  * for verbs that read input, the output is identical with -j 1 and -j 3
    (order and content must not depend on threads);
  * JUnit output (--format junit / -f junit) is structurally valid for the
    common Jenkins/Ant JUnit schema as CI systems read it.

Usage: run.py --loopcheck BIN --source DIR [--cases DIR] [--update] [CASE...]
--update rewrites the expected.* files from the actual results; review
the diff (git diff fixtures/cli) before committing. Output is TAP.
"""

import argparse
import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET

import tap  # tests/cli/tap.py

READ_VERBS = ("check", "turns", "diff")


def validate_junit(text):
    """Return a list of problems with a JUnit XML document ([] if valid).

    Rules (Jenkins junit plugin / Ant JUnit schema as GitLab, Jenkins,
    Azure and the GitHub test-reporter actions read it):
      - root is <testsuites> or <testsuite>;
      - every <testsuite> has name and integer tests/failures/errors
        attributes, and tests/failures/errors equal the counts of its
        <testcase> children / those with <failure> / those with <error>;
      - <testsuites> totals (when given) equal the sums over its suites;
      - every <testcase> has name and classname; only <failure>, <error>,
        <skipped>, <system-out>, <system-err> inside it;
      - every <failure> and <error> has message and type attributes.
    """
    problems = []
    try:
        root = ET.fromstring(text)
    except ET.ParseError as e:
        return ["not well-formed XML: %s" % e]
    if root.tag not in ("testsuites", "testsuite"):
        return ["root element is <%s>, expected <testsuites> or <testsuite>"
                % root.tag]
    suites = [root] if root.tag == "testsuite" else list(root)
    totals = {"tests": 0, "failures": 0, "errors": 0}
    for s in suites:
        if s.tag != "testsuite":
            problems.append("<%s> inside <testsuites>" % s.tag)
            continue
        name = s.get("name")
        if not name:
            problems.append("<testsuite> without name")
        counts = {}
        for attr in ("tests", "failures", "errors"):
            v = s.get(attr)
            if v is None or not v.isdigit():
                problems.append("testsuite %r: %s=%r is not a count"
                                % (name, attr, v))
                counts[attr] = None
            else:
                counts[attr] = int(v)
        cases = [c for c in s if c.tag == "testcase"]
        for c in s:
            if c.tag not in ("testcase", "properties", "system-out",
                             "system-err"):
                problems.append("testsuite %r: unexpected <%s>"
                                % (name, c.tag))
        n_fail = n_err = 0
        for c in cases:
            if not c.get("name") or c.get("classname") is None:
                problems.append("testsuite %r: <testcase> without name or "
                                "classname" % name)
            kids = [k.tag for k in c]
            for k in c:
                if k.tag not in ("failure", "error", "skipped", "system-out",
                                 "system-err"):
                    problems.append("testcase %r: unexpected <%s>"
                                    % (c.get("name"), k.tag))
                if k.tag in ("failure", "error"):
                    for attr in ("message", "type"):
                        if k.get(attr) is None:
                            problems.append("testcase %r: <%s> without %s"
                                            % (c.get("name"), k.tag, attr))
            n_fail += "failure" in kids
            n_err += "error" in kids
        for attr, actual in (("tests", len(cases)), ("failures", n_fail),
                             ("errors", n_err)):
            if counts[attr] is not None and counts[attr] != actual:
                problems.append("testsuite %r: %s=%d but %d found"
                                % (name, attr, counts[attr], actual))
            totals[attr] += actual
    if root.tag == "testsuites":
        for attr in ("tests", "failures", "errors"):
            v = root.get(attr)
            if v is not None and (not v.isdigit() or int(v) != totals[attr]):
                problems.append("testsuites: %s=%r but suites sum to %d"
                                % (attr, v, totals[attr]))
    return problems


def is_junit(argv):
    for i, a in enumerate(argv):
        if a in ("-f", "--format") and i + 1 < len(argv) and \
                argv[i + 1] == "junit":
            return True
        if a in ("--format=junit", "-fjunit"):
            return True
    return False


def with_jobs(argv, n):
    """argv with -j n inserted after the verb (None if not applicable)."""
    if any(a in ("-h", "--help", "--version") or a.startswith("-j") or
           a == "--jobs" or a.startswith("--jobs=") for a in argv):
        return None
    if argv and argv[0] in READ_VERBS:
        return [argv[0], "-j", str(n)] + argv[1:]
    if argv and argv[0] == "patterns":
        return None
    return ["-j", str(n)] + argv


def run(binary, argv, cwd, stdin_data, stdout_to):
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    env["LC_ALL"] = "C"
    out_f = open(stdout_to, "wb") if stdout_to else None
    try:
        p = subprocess.run([binary] + argv, cwd=cwd,
                           input=stdin_data if stdin_data is not None
                           else b"",
                           stdout=out_f if out_f else subprocess.PIPE,
                           stderr=subprocess.PIPE, env=env, timeout=120)
    finally:
        if out_f:
            out_f.close()
    return (p.stdout or b""), p.stderr, p.returncode


def read(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def diff_text(name, expected, actual):
    import difflib
    e = expected.decode("utf-8", "replace").splitlines(keepends=True)
    a = actual.decode("utf-8", "replace").splitlines(keepends=True)
    return "".join(difflib.unified_diff(e, a, "expected." + name,
                                        "actual." + name))


def run_case(args, case_dir):
    argv = shlex.split(read(os.path.join(case_dir, "args"), "r"))
    stdin_path = os.path.join(case_dir, "stdin")
    stdin_data = read(stdin_path) if os.path.exists(stdin_path) else None
    stdout_to = None
    if os.path.exists(os.path.join(case_dir, "stdout-to")):
        stdout_to = read(os.path.join(case_dir, "stdout-to"), "r").strip()
    scratch = None
    cwd = args.source
    setup = os.path.join(case_dir, "setup")
    if os.path.exists(setup):
        scratch = tempfile.mkdtemp(prefix="lc-cli-")
        env = dict(os.environ)
        env["SRC"] = args.source
        subprocess.run(["sh", setup], cwd=scratch, env=env, check=True)
        cwd = scratch
    problems = []
    try:
        out, err, code = run(args.loopcheck, argv, cwd, stdin_data,
                             stdout_to)
        if is_junit(argv) and code != 2 and not stdout_to:
            problems += ["junit: " + p
                         for p in validate_junit(out.decode("utf-8"))]
        for n in (1, 3):
            jargv = with_jobs(argv, n)
            if jargv is None or stdout_to or code == 2 or not argv:
                continue
            o2, e2, c2 = run(args.loopcheck, jargv, cwd, stdin_data, None)
            if (o2, e2, c2) != (out, err, code):
                problems.append("output differs with -j %d:\n%s%s" %
                                (n, diff_text("stdout", out, o2),
                                 diff_text("stderr", err, e2)))
    finally:
        if scratch:
            shutil.rmtree(scratch, ignore_errors=True)

    exp = {k: os.path.join(case_dir, "expected." + k)
           for k in ("stdout", "stderr", "exit")}
    if args.update:
        with open(exp["stdout"], "wb") as f:
            f.write(out)
        with open(exp["stderr"], "wb") as f:
            f.write(err)
        with open(exp["exit"], "w") as f:
            f.write("%d\n" % code)
        return problems
    for k in ("stdout", "stderr", "exit"):
        if not os.path.exists(exp[k]):
            problems.append("missing %s (run with --update)" % exp[k])
            return problems
    if out != read(exp["stdout"]):
        problems.append(diff_text("stdout", read(exp["stdout"]), out))
    if err != read(exp["stderr"]):
        problems.append(diff_text("stderr", read(exp["stderr"]), err))
    want = int(read(exp["exit"], "r").strip())
    if code != want:
        problems.append("exit status %d, expected %d" % (code, want))
    return problems


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    ap.add_argument("--cases")
    ap.add_argument("--update", action="store_true")
    ap.add_argument("case", nargs="*")
    args = ap.parse_args()
    args.loopcheck = os.path.abspath(args.loopcheck)
    args.source = os.path.abspath(args.source)
    cases_dir = args.cases or os.path.join(args.source, "fixtures", "cli")
    names = args.case or sorted(
        d for d in os.listdir(cases_dir)
        if os.path.exists(os.path.join(cases_dir, d, "args")))
    def results():
        for name in names:
            problems = run_case(args, os.path.join(cases_dir, name))
            yield (name + (" (updated)" if args.update and not problems
                           else ""), problems)
    return tap.report(len(names), results())


if __name__ == "__main__":
    sys.exit(main())
