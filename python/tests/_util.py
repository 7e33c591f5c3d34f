"""_util.py - shared helpers for the binding's tests (paths, CLI runs)."""

import json
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
FIXTURES = os.environ.get("LC_FIXTURES", os.path.join(ROOT, "fixtures"))
EXAMPLES = os.environ.get("LC_EXAMPLES", os.path.join(ROOT, "examples"))
CLI = os.environ.get("LOOPCHECK_CLI")

sys.path.insert(0, os.path.join(ROOT, "python"))


def cli_run(args, stdin=None):
    """Run the CLI; returns (exit code, stdout, stderr)."""
    p = subprocess.run([CLI] + list(args), input=stdin,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       check=False)
    return p.returncode, p.stdout.decode("utf-8"), p.stderr.decode("utf-8")


def is_summary(obj):
    """The CLI's JSON output ends with one summary object."""
    return obj.get("type") == "summary"


def without_gate(obj):
    """The CLI's summary object without its last member, "gate" (the
    command's pass/fail decision: the library and this binding have no
    gate), so that it compares with Summary.to_dict()."""
    if is_summary(obj) and "gate" in obj:
        obj = dict(obj)
        del obj["gate"]
    return obj


def cli_json(paths, *extra):
    """`loopcheck check --format json` -> (reports, summary, exit code);
    the summary without the CLI's "gate" member (see without_gate)."""
    code, out, err = cli_run(["check", "--format", "json"] + list(extra)
                             + list(paths))
    if code not in (0, 1, 3):
        raise AssertionError("CLI failed (%d): %s" % (code, err))
    objs = [json.loads(l) for l in out.splitlines() if l.strip()]
    reports = [o for o in objs if not is_summary(o)]
    summaries = [without_gate(o) for o in objs if is_summary(o)]
    return reports, (summaries[-1] if summaries else None), code


def fixture_files(ext=(".jsonl", ".json", ".txt")):
    """Input fixtures (not expectations), sorted."""
    out = []
    if not os.path.isdir(FIXTURES):
        return out
    for root, dirs, files in os.walk(FIXTURES):
        dirs[:] = sorted(d for d in dirs if d not in ("cli", "fuzz"))
        for f in sorted(files):
            if f.endswith(".expected.json") or not f.endswith(ext):
                continue
            if f.startswith(".") or f == "README.md":
                continue
            out.append(os.path.join(root, f))
    return sorted(out)
