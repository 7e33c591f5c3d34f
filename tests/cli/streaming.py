#!/usr/bin/env python3
"""streaming.py - loopcheck on a live pipe prints what it has before waiting.

A harness may pipe conversations into `loopcheck --format json -` as they
happen. The report of a complete conversation must come out while loopcheck
waits for more input (not at 4 KiB of buffered output, not at the end),
with one thread and with worker threads alike. The test writes one
conversation, reads its report line back (giving up after 30 s, which only
a hang reaches), then writes a second one and closes the pipe; the order of
events is what is checked, not how long anything took.

Usage: streaming.py --loopcheck PATH --source DIR   (TAP output)
"""

import argparse
import os
import select
import subprocess
import sys

import tap  # tests/cli/tap.py

GIVE_UP = 30.0  # seconds: a hang, not a slow machine


def read_line(proc):
    """One line of proc's stdout, or None if none came within GIVE_UP."""
    ready, _, _ = select.select([proc.stdout], [], [], GIVE_UP)
    if not ready:
        return None
    return proc.stdout.readline()


def one_case(loopcheck, record, jobs):
    proc = subprocess.Popen(
        [loopcheck, "--format", "json", "--fail-on", "none", "-q",
         "-j", str(jobs), "-"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL)
    problems = []
    try:
        proc.stdin.write(record)
        proc.stdin.flush()
        first = read_line(proc)
        if not first:
            problems.append("no report for the first conversation while "
                            "loopcheck waited for more input")
        elif b'"type":"conversation"' not in first:
            problems.append("first line is not a conversation report: %r"
                            % first[:80])
        proc.stdin.write(record)
        proc.stdin.close()
        rest = proc.stdout.read()
        proc.wait(timeout=GIVE_UP)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    kinds = [l for l in rest.splitlines() if b'"type":"conversation"' in l]
    if first and len(kinds) != 1:
        problems.append("expected 1 more conversation report after the "
                        "second write, got %d" % len(kinds))
    if proc.returncode != 0:
        problems.append("exit status %d" % proc.returncode)
    return problems


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    a = ap.parse_args()
    path = os.path.join(a.source, "fixtures", "jsonl",
                        "anthropic-tool-use.jsonl")
    with open(path, "rb") as f:
        record = f.readline()
    cases = [1, 2, 4]
    return tap.report(len(cases),
                      (("live pipe, -j %d" % jobs,
                        one_case(a.loopcheck, record, jobs))
                       for jobs in cases))


if __name__ == "__main__":
    sys.exit(main())
