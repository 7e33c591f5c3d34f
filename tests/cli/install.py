#!/usr/bin/env python3
"""install.py - the installed loopcheck finds the installed library.

`meson install` (meson 1.0.1, Debian 12) neither runs ldconfig nor keeps
the build tree's RPATH, and the loader searches only /lib, /usr/lib and
their multiarch directories by itself; /usr/local/lib/x86_64-linux-gnu
(the default prefix's libdir) is found through ld.so.cache alone, which
only ldconfig refreshes. So unless the executable carries a RUNPATH,
`loopcheck` fails right after `sudo meson install -C build` with
"libloopcheck.so.0: cannot open shared object file", and after any
--prefix install for good.

This installs the build into a temporary DESTDIR and reads the dynamic
section of DESTDIR/PREFIX/bin/loopcheck: with a prefix other than /usr its
RUNPATH must name PREFIX/LIBDIR; with /usr (distribution packages) there
must be none.

It also reads the installed loopcheck.pc: with a shared library only, the
public header needing only standard headers, `pkg-config --cflags --libs
loopcheck` must work with nothing but that .pc on PKG_CONFIG_LIBDIR (no
Requires/Requires.private on the -dev packages of utf8proc, xxhash and
json-c, so no -DUTF8PROC_EXPORTS or -I/usr/include/json-c in the caller's
flags); with a static library the dependencies must be listed.

And it reads the installed documentation: the man pages loopcheck(1) and
loopcheck(3) under MANDIR, identical to cli/loopcheck.1 and
lib/loopcheck.3, and DATADIR/doc/loopcheck holding exactly the Markdown
documents for users (not doc/TEAM.md), among them every *.md file either
man page names with .Pa, so that their references lead somewhere.

Usage: install.py --build DIR   (TAP output)
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile


def runpath(path):
    """The DT_RUNPATH / DT_RPATH of an ELF file ("" if none)."""
    out = subprocess.run(["readelf", "-d", path], stdout=subprocess.PIPE,
                         check=True).stdout.decode()
    for line in out.splitlines():
        if "(RUNPATH)" in line or "(RPATH)" in line:
            return line.split("[", 1)[1].rsplit("]", 1)[0]
    return ""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    o = ap.parse_args()
    if not shutil.which("readelf"):
        print("1..0 # SKIP readelf not found")
        return 0
    opts = json.loads(subprocess.run(
        ["meson", "introspect", "--buildoptions", o.build],
        stdout=subprocess.PIPE, check=True).stdout)
    val = {x["name"]: x["value"] for x in opts}
    prefix, libdir = val["prefix"], val["libdir"]
    if val.get("cli") is False:
        print("1..0 # SKIP built without the command-line tool")
        return 0
    want = "" if prefix == "/usr" else os.path.join(prefix, libdir)
    with tempfile.TemporaryDirectory() as dest:
        subprocess.run(["meson", "install", "-C", o.build, "--no-rebuild",
                        "--destdir", dest], stdout=subprocess.DEVNULL,
                       check=True)
        exe = dest + os.path.join(prefix, "bin", "loopcheck")
        got = runpath(exe)
        pcdir = dest + os.path.join(prefix, libdir, "pkgconfig")
        pc_results = check_pc(pcdir, val.get("default_library", "shared"))
        pc_results += check_docs(dest, os.path.join(prefix, val["mandir"]),
                                 os.path.join(prefix, val["datadir"]))
    print("1..%d" % (1 + len(pc_results)))
    failed = 0
    if want == got or (want and want in got.split(":")):
        print("ok 1 - installed loopcheck's RUNPATH is %r" % got)
    else:
        failed = 1
        print("not ok 1 - installed loopcheck's RUNPATH")
        print("# prefix %s, libdir %s: want %r, got %r" % (prefix, libdir,
                                                           want, got))
    for i, (ok, name, detail) in enumerate(pc_results, 2):
        print("%s %d - %s" % ("ok" if ok else "not ok", i, name))
        if not ok:
            failed = 1
            for line in detail.splitlines():
                print("# " + line)
    return failed


DEPS = ("libutf8proc", "libxxhash", "json-c")


def check_pc(pcdir, default_library):
    """[(ok, name, detail)] for the installed loopcheck.pc."""
    path = os.path.join(pcdir, "loopcheck.pc")
    if not os.path.exists(path):
        return [(False, "loopcheck.pc installed", "no " + path)]
    with open(path) as fh:
        text = fh.read()
    requires = " ".join(line.split(":", 1)[1] for line in text.splitlines()
                        if line.startswith(("Requires:", "Requires.private:")))
    res = []
    if default_library == "shared":
        res.append((not any(d in requires for d in DEPS),
                    "shared only: loopcheck.pc requires no dependency "
                    "(its header needs only standard headers)", text))
        pkgconf = shutil.which("pkg-config") or shutil.which("pkgconf")
        if pkgconf:
            # nothing but our .pc visible: fails if it requires anything
            env = dict(os.environ, PKG_CONFIG_LIBDIR=pcdir)
            env.pop("PKG_CONFIG_PATH", None)
            p = subprocess.run([pkgconf, "--cflags", "--libs", "loopcheck"],
                               stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, env=env,
                               check=False)
            out = p.stdout.decode(errors="replace")
            ok = (p.returncode == 0 and "UTF8PROC" not in out and
                  "json-c" not in out and "-lloopcheck" in out)
            res.append((ok, "pkg-config --cflags --libs loopcheck with only "
                        "loopcheck.pc visible" +
                        (": " + out.strip() if ok else ""), out))
    else:
        res.append((all(d in requires for d in DEPS),
                    "static library: loopcheck.pc lists %s" % ", ".join(DEPS),
                    text))
    return res


SOURCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
USER_DOCS = ["formats.md", "gate-in-ci.md", "input-formats.md", "limits.md",
             "patterns.md", "python.md"]


def check_docs(dest, mandir, datadir):
    """[(ok, name, detail)] for the man pages and documents installed in
    DESTDIR dest (mandir, datadir: absolute, with the prefix)."""
    res = []
    named = set()
    for src, sect in (("cli/loopcheck.1", "man1"), ("lib/loopcheck.3",
                                                    "man3")):
        inst = os.path.join(mandir, sect, os.path.basename(src))
        path = dest + inst
        with open(os.path.join(SOURCE, src), "rb") as fh:
            want = fh.read()
        got = None
        if os.path.exists(path):
            with open(path, "rb") as fh:
                got = fh.read()
        res.append((got == want, "%s installed as %s" % (src, inst),
                    "missing" if got is None else "differs from the source"))
        named |= set(re.findall(r"^\.Pa ([\w.-]+\.md)\b",
                                want.decode("utf-8"), re.M))
    docdir = os.path.join(datadir, "doc", "loopcheck")
    have = (sorted(os.listdir(dest + docdir))
            if os.path.isdir(dest + docdir) else [])
    res.append((have == USER_DOCS, "%s holds %s" % (docdir,
                                                    ", ".join(USER_DOCS)),
                "installed: %s" % (", ".join(have) or "nothing")))
    res.append((bool(named) and named <= set(have),
                "every .Pa *.md of the man pages is installed (%s)" %
                ", ".join(sorted(named)),
                "not installed: %s" % ", ".join(sorted(named - set(have)))))
    return res


if __name__ == "__main__":
    sys.exit(main())
