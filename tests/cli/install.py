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

Usage: install.py --build DIR   (TAP output)
"""

import argparse
import json
import os
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
    print("1..1")
    if want == got or (want and want in got.split(":")):
        print("ok 1 - installed loopcheck's RUNPATH is %r" % got)
        return 0
    print("not ok 1 - installed loopcheck's RUNPATH")
    print("# prefix %s, libdir %s: want %r, got %r" % (prefix, libdir,
                                                       want, got))
    return 1


if __name__ == "__main__":
    sys.exit(main())
