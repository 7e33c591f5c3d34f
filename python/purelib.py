"""purelib.py PREFIX - print where `meson install` puts the loopcheck
package so that this python3 finds it: Debian's dist-packages for the
prefixes /usr/local and /usr (meson's python module would choose
lib/python3/dist-packages, which Debian's python3 does not search), else
PREFIX/lib/python3.X/site-packages (then add it to PYTHONPATH)."""
import sys
import sysconfig

prefix, names = sys.argv[1], sysconfig.get_scheme_names()
if prefix == "/usr/local" and "posix_local" in names:
    print(sysconfig.get_path("purelib", "posix_local"))
elif prefix == "/usr" and "deb_system" in names:
    print(sysconfig.get_path("purelib", "deb_system"))
else:
    print(sysconfig.get_path("purelib", "posix_prefix",
                             vars={"base": prefix, "platbase": prefix}))
