#!/usr/bin/env python3
"""parts.py - worker threads reading parts of a file give the sequential output.

With -j 2 a regular JSONL file is cut into parts that the workers read and
frame themselves (cli/input.c); every other input goes through the main
thread. Whatever the cut, the output must be byte for byte that of -j 1:
stdout, stderr and the exit status. Every input fixture (all formats, the
malformed and pathological ones and the fuzz seeds included) is checked
with parts of 1, 3, 64 and 4096 bytes (LOOPCHECK_CHUNK_BYTES), so part
boundaries fall inside lines, on CRLF pairs, BOMs and blank lines, and on
every line of small files; the JSONL fixtures also as one run over several
files and through `turns`. Parts of 1 byte make most parts empty: those
must not lose or repeat a line either. Generated files add lines longer
than a part's buffer (4 MiB: read twice in 64 KiB pieces, line ends
counted across pieces: a CRLF split between two pieces, a lone CR), with
max_line_bytes below and above their length, in parts of 64 KiB, 1 MiB
and the default size. A gzipped JSONL file read with --input-format jsonl
(forced: no detection) must give one error, "gzip-compressed data, not
text", whatever the parts, not a syntax error per "line" of each part.

Usage: parts.py --loopcheck PATH --source DIR   (TAP output)
"""

import argparse
import gzip
import json
import os
import shutil
import subprocess
import sys
import tempfile

import tap  # tests/cli/tap.py

SIZES = ["1", "3", "64", "4096"]
BIG_SIZES = ["65536", "1048576", None]  # None: the default part size
DIRS = ["jsonl", "json", "jsonl-turns", "transcript", "loops", "refusal",
        "runs", "pathological", os.path.join("fuzz", "reader")]


def run(loopcheck, args, jobs, size):
    env = dict(os.environ)
    env.pop("LOOPCHECK_CHUNK_BYTES", None)
    if size:
        env["LOOPCHECK_CHUNK_BYTES"] = size
    env["NO_COLOR"] = "1"
    p = subprocess.run([loopcheck] + args + ["-j", str(jobs)],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       env=env, timeout=120)
    return p.returncode, p.stdout, p.stderr


def first_difference(a, b):
    for i, (x, y) in enumerate(zip(a.splitlines(), b.splitlines())):
        if x != y:
            return "line %d: %r != %r" % (i + 1, x[:120], y[:120])
    return "lengths %d != %d" % (len(a), len(b))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--loopcheck", required=True)
    ap.add_argument("--source", required=True)
    o = ap.parse_args()
    fx = os.path.join(o.source, "fixtures")
    cases = []
    jsonl = []
    for d in DIRS:
        full = os.path.join(fx, d)
        for name in sorted(os.listdir(full)):
            path = os.path.join(full, name)
            if (not os.path.isfile(path) or name.endswith(".expected")
                    or name.endswith(".md")):
                continue
            cases.append((path, ["check", "--format", "json",
                                 "--fail-on", "none", path], SIZES, None))
            if name.endswith(".jsonl") and d != "jsonl-turns":
                jsonl.append(path)
    tmp = tempfile.mkdtemp(prefix="lc-parts-")
    rec = lambda i, text: json.dumps(
        {"id": "g%d" % i, "messages": [
            {"role": "user", "content": text},
            {"role": "assistant", "content": "I can't help with that."}]})
    for name, eol in (("long-lf.jsonl", "\n"), ("long-crlf.jsonl", "\r\n")):
        path = os.path.join(tmp, name)
        # record 1 is 65,535 bytes: with parts of 1 MiB its CRLF straddles
        # the first 64 KiB piece of a part read twice (record 2 is long)
        first = rec(1, "")
        first = rec(1, "p" * (65535 - len(first)))
        assert len(first) == 65535
        with open(path, "w", newline="") as f:
            f.write(first + eol)
            f.write(rec(2, "word " * (5 << 18)) + eol)   # 6.5 MB
            f.write(rec(3, "after the long one") + "\r")  # a lone CR
            f.write(rec(4, "x" * 100) + eol + eol)
            f.write(rec(5, "last, no final newline"))
        for opts in ([], ["--set", "max_line_bytes=1048576"]):
            cases.append(("generated " + name + " " + " ".join(opts),
                          ["check", "--format", "json", "--fail-on", "none"]
                          + opts + [path], BIG_SIZES, None))
    cases.append(("all jsonl files, one run",
                  ["check", "--format", "text", "--fail-on", "any"] + jsonl,
                  SIZES, None))
    cases.append(("turns over the jsonl files",
                  ["turns", "--format", "json"] + jsonl, SIZES, None))
    gz = os.path.join(tmp, "all.jsonl.gz")
    with open(gz, "wb") as out:
        with gzip.GzipFile(fileobj=out, mode="wb", mtime=0) as z:
            for path in jsonl:
                with open(path, "rb") as f:
                    z.write(f.read())

    def one_gzip_error(stdout):
        lines = [json.loads(x) for x in stdout.splitlines() if x.strip()]
        convs = [x for x in lines if x.get("type") == "conversation"]
        summ = [x for x in lines if x.get("type") == "summary"]
        if (len(convs) != 1 or not summ or summ[0].get("read") != 1 or
                not convs[0].get("error", {}).get("message", "")
                .startswith("gzip-compressed data, not text")):
            return ("want one conversation, the error 'gzip-compressed "
                    "data, not text'; got %d conversations, first %r"
                    % (len(convs), convs[:1]))
        return None
    cases.append(("gzipped jsonl, --input-format jsonl",
                  ["check", "--format", "json", "--fail-on", "none",
                   "--input-format", "jsonl", gz], SIZES + [None],
                  one_gzip_error))

    def results():
        for label, args, sizes, check in cases:
            want = run(o.loopcheck, args, 1, None)
            problems = []
            if check:
                why = check(want[1].decode("utf-8", "replace"))
                if why:
                    problems.append("-j 1: " + why)
            for size in sizes:
                got = run(o.loopcheck, args, 2, size)
                for what, a, b in (("exit status", want[0], got[0]),
                                   ("stdout", want[1], got[1]),
                                   ("stderr", want[2], got[2])):
                    if a != b:
                        detail = (first_difference(a, b) if isinstance(a, bytes)
                                  else "%r != %r" % (a, b))
                        problems.append("parts of %s bytes: %s differs from "
                                        "-j 1 (%s)" % (size or "default", what,
                                                       detail))
            rel = os.path.relpath(label, o.source) if os.path.exists(label) \
                else label
            yield rel, problems
    status = tap.report(len(cases), results())
    shutil.rmtree(tmp, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
