#!/usr/bin/env python3
"""libdocs.py - the library's manual, lib/loopcheck.3, tells the truth.

1. Every symbol of lib/loopcheck.map has a prototype in the SYNOPSIS
   (.Ft + .Fn, or .Fo/.Fa/.Fc), and that prototype is the one in
   include/loopcheck.h; the SYNOPSIS declares nothing else. The typedefs
   the page shows (.Vt lines, the lc_allocator block) are the header's.
2. Every exported function is also named (.Fn) in the text after the
   SYNOPSIS, so none is listed without a word about it.
3. Every lc_ name the page mentions is an exported function or a type of
   the header, and every LC_ name a constant of the header (no stale or
   invented names); the status table gives each lc_status its code
   LC-Ennn (nnn = its value) and lists them all.
4. groff renders lib/loopcheck.3 and cli/loopcheck.1 without a warning
   (skipped when groff is not installed).
5. The EXAMPLES program: meson builds it from the page (--extract, run
   by a custom target, writes the text between the first ".Bd -literal"
   and ".Ed" of EXAMPLES with the mdoc escapes undone); this checks that
   the built source is the page's current text, runs the program on
   fixtures and requires its output to hold exactly the findings, errors
   and warnings `loopcheck check --format json` reports for each file,
   and the counts of its summary; and the sample output the page shows
   after the program is part of what it prints.

Usage: libdocs.py --loopcheck PATH --source DIR --example EXE
                  --example-source FILE          (TAP output)
       libdocs.py --extract PAGE OUT             (for the build)
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys

import tap  # tests/cli/tap.py

# Fixtures the example runs on: between them findings of every kind,
# failed conversations (syntax and schema errors) and warnings. The first
# is the one the page's sample output shows.
FIXTURES = [
    "fixtures/runs/candidate.jsonl",
    "fixtures/jsonl/malformed-middle.jsonl",
    "fixtures/jsonl/invalid-utf8.jsonl",
    "fixtures/loops/stalled-loop-tail.jsonl",
    "fixtures/loops/neardup-bot.jsonl",
    "fixtures/loops/recycled-passage.jsonl",
    "fixtures/loops/recurring-bot-reasks.jsonl",
    "fixtures/loops/degenerate-jobs.jsonl",
    "fixtures/refusal/onset-after-help.jsonl",
]


def section(page, name):
    """Text of section NAME of an mdoc page ("" if missing)."""
    m = re.search(r"^\.Sh %s\n(.*?)(?=^\.Sh |\Z)" % re.escape(name), page,
                  re.S | re.M)
    return m.group(1) if m else ""


ESCAPES = {"e": "\\", "&": "", "-": "-", "(aq": "'", "(dq": '"'}


def unescape(text):
    """Undo the mdoc escapes a literal C program may hold; any other
    escape is an error (the extracted program would not be the page's)."""
    def sub(m):
        return ESCAPES[m.group(1)]
    out = re.sub(r"\\(e|&|-|\(aq|\(dq)", sub, text)
    # what is left of a backslash after the known escapes is unknown
    rest = re.sub(r"\\(e|&|-|\(aq|\(dq)", "", text)
    if "\\" in rest:
        raise ValueError("unknown mdoc escape in EXAMPLES: %r" %
                         rest[rest.index("\\"):rest.index("\\") + 6])
    return out


def literal_blocks(text):
    """The .Bd -literal ... .Ed blocks of text, in order."""
    return re.findall(r"^\.Bd -literal[^\n]*\n(.*?)^\.Ed$", text,
                      re.S | re.M)


def example_program(page):
    blocks = literal_blocks(section(page, "EXAMPLES"))
    if not blocks:
        raise ValueError("no .Bd -literal block in EXAMPLES")
    return unescape(blocks[0])


def norm_type(t):
    """'const char  *' -> 'const char *' (one space, '*' attached)."""
    t = re.sub(r"\s+", " ", t.strip())
    t = re.sub(r"\s*\*\s*", " *", t)
    return re.sub(r"\* \*", "**", t).strip()


def squash(text):
    """Whitespace-insensitive form of C text: one space between words,
    none around punctuation."""
    text = re.sub(r"\s+", " ", text)
    return re.sub(r" ?([^\w ]) ?", r"\1", text).strip()


def norm_params(params):
    ps = [norm_type(p) for p in params]
    return [] if ps in ([], ["void"]) else ps


def header_prototypes(header):
    """{name: (return type, [params])} of the LC_API functions."""
    text = re.sub(r"/\*.*?\*/", " ", header, flags=re.S)
    protos = {}
    for m in re.finditer(r"LC_API\s+([^;(]*?)\b(lc_\w+)\s*\(([^)]*)\)\s*;",
                         text):
        params = [p for p in m.group(3).split(",")]
        protos[m.group(2)] = (norm_type(m.group(1)), norm_params(params))
    return protos


def header_names(header):
    """(type names lc_*, constant names LC_*, {status name: value})."""
    types = set(re.findall(r"\btypedef\s+(?:struct|enum)\s+(lc_\w+)", header))
    types |= set(re.findall(r"\}\s*(lc_\w+)\s*;", header))
    types |= set(re.findall(r"\(\*(lc_\w+)\)", header))  # function types
    consts = set(re.findall(r"#define\s+(LC_\w+)", header))
    consts |= set(re.findall(r"^\s*(LC_[A-Z0-9_]+)\s*(?:=|,|$)", header,
                             re.M))
    m = re.search(r"typedef enum lc_status \{(.*?)\} lc_status;", header,
                  re.S)
    statuses = {k: int(v) for k, v in
                re.findall(r"(LC_\w+)\s*=\s*(\d+)", m.group(1) if m else "")}
    return types, consts, statuses


def map_symbols(mapfile):
    return sorted(set(re.findall(r"^\s+(lc_\w+);", mapfile, re.M)))


def synopsis_prototypes(synopsis):
    """{name: (return type, [params])} from .Ft/.Fn and .Ft/.Fo..Fc, and
    the names declared more than once."""
    protos, dups = {}, []
    ft = None
    lines = synopsis.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.startswith(".Ft "):
            ft = line[4:]
        elif line.startswith(".Fn ") or line.startswith(".Fo "):
            words = re.findall(r'"[^"]*"|\S+', line[4:])
            name = words[0]
            if line.startswith(".Fn "):
                params = [w.strip('"') for w in words[1:]]
            else:
                params = []
                i += 1
                while i < len(lines) and lines[i] != ".Fc":
                    if lines[i].startswith(".Fa "):
                        params.append(lines[i][4:].strip().strip('"'))
                    i += 1
            if name in protos:
                dups.append(name)
            protos[name] = (norm_type(ft or "?"), norm_params(params))
            ft = None
        i += 1
    return protos, dups


def check_names(page, header, mapfile):
    syms = map_symbols(mapfile)
    hdr = header_prototypes(header)
    syn, dups = synopsis_prototypes(section(page, "SYNOPSIS"))
    types, consts, statuses = header_names(header)
    res = []
    res.append(("lib/loopcheck.map has symbols (%d) and the header their "
                "prototypes" % len(syms),
                ([] if syms else ["no symbol found in lib/loopcheck.map"]) +
                ["%s: in the map, no LC_API prototype in the header" % s
                 for s in syms if s not in hdr]))
    res.append(("every map symbol has a prototype in the SYNOPSIS",
                ["%s: not in the SYNOPSIS" % s for s in syms
                 if s not in syn]))
    bad = []
    for name, proto in sorted(syn.items()):
        if name not in syms:
            bad.append("%s: in the SYNOPSIS but not exported" % name)
        elif name in hdr and proto != hdr[name]:
            bad.append("%s: page has %s %s(%s), header %s %s(%s)" % (
                name, proto[0], name, ", ".join(proto[1]), hdr[name][0],
                name, ", ".join(hdr[name][1])))
    bad += ["%s: declared twice in the SYNOPSIS" % n for n in dups]
    # other declarations shown: .Vt typedef lines, and literal blocks
    # outside EXAMPLES that start with a typedef (the allocator)
    flat = squash(re.sub(r"/\*.*?\*/", " ", header, flags=re.S))
    decls = re.findall(r"^\.Vt (typedef .*;)$", page, re.M)
    decls += [unescape(b) for b in
              literal_blocks(page[:page.find(".Sh EXAMPLES")])
              if b.startswith("typedef ")]
    bad += ["not in the header: %s" % d for d in decls
            if squash(d) not in flat]
    if not decls:
        bad.append("no typedef shown (the lc_report_fn, lc_write_fn and "
                   "lc_allocator declarations are gone?)")
    res.append(("SYNOPSIS prototypes and the typedefs shown are the "
                "header's, of exported functions only", bad))
    body = page[page.find(".Sh DESCRIPTION"):]
    named = set(re.findall(r"^\.Fn (lc_\w+)", body, re.M))
    named |= set(re.findall(r"\bFn (lc_\w+)", body))
    res.append(("every exported function is named (.Fn) after the "
                "SYNOPSIS", ["%s: only in the SYNOPSIS" % s for s in syms
                             if s not in named]))
    known = set(syms) | types
    stale = sorted(set(n for n in re.findall(r"\blc_\w+", page)
                       if n not in known))
    res.append(("every lc_ name in the page is an exported function or a "
                "header type", ["%s: unknown" % n for n in stale]))
    unknown = []
    for n in sorted(set(re.findall(r"\bLC_[A-Z0-9_]*[A-Z0-9]", page))):
        if n not in consts:
            unknown.append("%s: not a constant of the header" % n)
    res.append(("every LC_ name in the page is a constant of the header",
                unknown))
    table = dict(re.findall(r"^\.It Dv (LC_\w+) Ta LC-E(\d{3}) Ta", page,
                            re.M))
    probs = []
    for st, val in sorted(statuses.items(), key=lambda kv: kv[1]):
        if st not in table:
            probs.append("%s: not in the status table" % st)
        elif int(table[st]) != val:
            probs.append("%s = %d but the table says LC-E%s" %
                         (st, val, table[st]))
    if not statuses:
        probs.append("no lc_status values found in the header")
    res.append(("the status table lists every lc_status with code "
                "LC-E<value>", probs))
    return res


def check_groff(source):
    res = []
    groff = shutil.which("groff")
    for rel in ("lib/loopcheck.3", "cli/loopcheck.1"):
        name = "groff -mandoc -ww renders %s without warnings" % rel
        if not groff:
            res.append((name + " # SKIP groff not installed", []))
            continue
        p = subprocess.run([groff, "-mandoc", "-Tutf8", "-ww", "-z",
                            os.path.join(source, rel)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           check=False)
        err = p.stderr.decode(errors="replace").strip()
        res.append((name, ([err] if err else []) +
                    (["groff exit status %d" % p.returncode]
                     if p.returncode else [])))
    return res


def expected_lines(records):
    """What the example must print for the CLI's JSON records: finding
    lines, diagnostic lines, and the count line."""
    findings, diags, count = [], [], None
    for r in records:
        if r.get("type") == "conversation":
            src = r["source"]
            if "error" in r:
                e = r["error"]
                diags.append("%s:%d:%d: error: %s [%s]" % (
                    src, e["line"], e.get("column", 0), e["message"],
                    e["code"]))
            for w in r.get("warnings", []):
                diags.append("%s:%d:%d: warning: %s [%s]" % (
                    src, w["line"], w.get("column", 0), w["message"],
                    w["code"]))
            for f in r["findings"]:
                findings.append("%s:%d: %s: turns %d-%d [%s]" % (
                    src, f["lines"][0], f["kind"], f["first_turn"],
                    f["last_turn"], r["conversation"]))
        elif r.get("type") == "summary":
            count = "%d conversations read, %d analysed, %d failed" % (
                r["read"], r["analysed"], r["failed"])
    return findings, diags, count


def check_example(o, page):
    res = []
    # the programs run in the source tree (fixture paths as the page
    # shows them); meson passes them relative to the build tree
    o.example = os.path.abspath(o.example)
    o.loopcheck = os.path.abspath(o.loopcheck)
    try:
        want_src = example_program(page)
    except ValueError as e:
        return [("the EXAMPLES program can be extracted", [str(e)])]
    with open(o.example_source, encoding="utf-8") as fh:
        built = fh.read()
    res.append(("the built example is the page's EXAMPLES program",
                [] if built == want_src else
                ["%s differs from the page: rebuild" % o.example_source]))
    outputs = {}
    for rel in FIXTURES:
        name = "example on %s prints what loopcheck check reports" % rel
        probs = []
        ex = subprocess.run([o.example, rel], cwd=o.source,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            check=False)
        cli = subprocess.run([o.loopcheck, "check", "-q", "-j", "1",
                              "--format", "json", "--input-format", "jsonl",
                              rel], cwd=o.source, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, check=False)
        got = ex.stdout.decode("utf-8", errors="replace").splitlines()
        outputs[rel] = got
        if ex.returncode != 0:
            probs.append("example exit status %d: %s" % (
                ex.returncode, ex.stderr.decode(errors="replace")))
        if cli.returncode not in (0, 1, 3):
            probs.append("loopcheck exit status %d: %s" % (
                cli.returncode, cli.stderr.decode(errors="replace")))
        records = [json.loads(l) for l in
                   cli.stdout.decode("utf-8").splitlines() if l.strip()]
        findings, diags, count = expected_lines(records)
        got_f = [l for l in got if re.match(r"^.*:\d+: \w+: turns ", l)]
        got_d = [l for l in got if re.match(r"^.*:\d+:\d+: (error|warning): ",
                                            l)]
        if sorted(got_f) != sorted(findings):
            probs.append("findings differ:\n  example: %s\n  loopcheck: %s"
                         % ("\n    ".join(got_f), "\n    ".join(findings)))
        if sorted(got_d) != sorted(diags):
            probs.append("diagnostics differ:\n  example: %s\n  loopcheck: "
                         "%s" % ("\n    ".join(got_d),
                                 "\n    ".join(diags)))
        if count is None or count not in got:
            probs.append("count line %r not printed" % count)
        if len(got) != len(got_f) + len(got_d) + 1:
            probs.append("unexpected lines: %r" % [
                l for l in got if l not in got_f + got_d + [count]])
        if not findings and rel == FIXTURES[0]:
            probs.append("loopcheck reports no finding in %s: the test "
                         "needs some" % rel)
        res.append((name, probs))
    # the sample output shown after the program
    blocks = literal_blocks(section(page, "EXAMPLES"))
    probs = []
    sample = unescape(blocks[1]).splitlines() if len(blocks) > 1 else []
    run = [l for l in sample if l.startswith("$ ./example ")]
    if not run:
        probs.append("no '$ ./example FILE' line in the second block")
    else:
        rel = run[0].split()[2]
        got = outputs.get(rel)
        if got is None:
            probs.append("%s is not among the fixtures the test runs" % rel)
        else:
            for l in sample[sample.index(run[0]) + 1:]:
                if l != "..." and l not in got:
                    probs.append("shown but not printed: %r" % l)
    res.append(("the sample output in EXAMPLES is what the example prints",
                probs))
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--extract", nargs=2, metavar=("PAGE", "OUT"))
    ap.add_argument("--loopcheck")
    ap.add_argument("--source")
    ap.add_argument("--example")
    ap.add_argument("--example-source")
    o = ap.parse_args()
    if o.extract:
        with open(o.extract[0], encoding="utf-8") as fh:
            prog = example_program(fh.read())
        with open(o.extract[1], "w", encoding="utf-8") as fh:
            fh.write(prog)
        return 0
    if not (o.loopcheck and o.source and o.example and o.example_source):
        ap.error("--loopcheck, --source, --example and --example-source "
                 "are required")

    def read(rel):
        with open(os.path.join(o.source, rel), encoding="utf-8") as fh:
            return fh.read()
    page = read("lib/loopcheck.3")
    results = check_names(page, read("include/loopcheck.h"),
                          read("lib/loopcheck.map"))
    results += check_groff(o.source)
    results += check_example(o, page)
    return tap.report(len(results), results)


if __name__ == "__main__":
    sys.exit(main())
