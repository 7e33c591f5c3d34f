"""test_binding.py - loading, version, options, errors, data classes."""

import ctypes
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
import unittest

import _util  # noqa: F401  (sets sys.path)
import loopcheck


class TestLoading(unittest.TestCase):
    def test_version(self):
        self.assertRegex(loopcheck.version(), r"^0\.\d+\.\d+$")
        self.assertEqual(loopcheck.__version__, loopcheck.version())

    def test_env_library_missing_is_clear_import_error(self):
        env = dict(os.environ, LOOPCHECK_LIBRARY="/nonexistent/libx.so",
                   PYTHONPATH=os.path.join(_util.ROOT, "python"))
        p = subprocess.run(
            [sys.executable, "-c", "import loopcheck"], env=env,
            cwd=_util.HERE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            check=False)
        self.assertNotEqual(p.returncode, 0)
        err = p.stderr.decode()
        self.assertIn("ImportError", err)
        self.assertIn("LOOPCHECK_LIBRARY='/nonexistent/libx.so'", err)

    def test_installed_config_path_is_used(self):
        # What meson install does: a copy of the package whose _config.py
        # names the library; no LOOPCHECK_LIBRARY, no loader path.
        lib = loopcheck._lib.PATH
        with tempfile.TemporaryDirectory() as d:
            pkg = os.path.join(d, "loopcheck")
            shutil.copytree(os.path.dirname(loopcheck.__file__), pkg,
                            ignore=shutil.ignore_patterns("__pycache__",
                                                          "*.in"))
            with open(os.path.join(pkg, "_config.py"), "w") as fh:
                fh.write("LIBRARY = %r\n" % os.path.abspath(lib))
            env = {k: v for k, v in os.environ.items()
                   if k not in ("LOOPCHECK_LIBRARY", "LD_LIBRARY_PATH")}
            env["PYTHONPATH"] = d
            p = subprocess.run(
                [sys.executable, "-c",
                 "import loopcheck; print(loopcheck._lib.PATH)"],
                env=env, cwd=d, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, check=False)
            self.assertEqual(p.returncode, 0, p.stderr.decode())
            self.assertEqual(p.stdout.decode().strip(),
                             os.path.abspath(lib))

    def test_env_library_is_used(self):
        self.assertEqual(loopcheck._lib.PATH,
                         os.environ.get("LOOPCHECK_LIBRARY",
                                        loopcheck._lib.PATH))


class TestLayout(unittest.TestCase):
    """ctypes structs == the C header (sizeof and every offsetof)."""

    @unittest.skipUnless(os.environ.get("LOOPCHECK_LAYOUT"),
                         "layout helper not built")
    def test_struct_layout(self):
        out = subprocess.run([os.environ["LOOPCHECK_LAYOUT"]],
                             stdout=subprocess.PIPE, check=True).stdout
        c = json.loads(out)
        lib = loopcheck._lib
        for cname, py in (("lc_error", lib.LcError),
                          ("lc_finding", lib.LcFinding),
                          ("lc_pattern_info", lib.LcPatternInfo),
                          ("lc_turn", lib.LcTurn),
                          ("lc_diff_stats", lib.LcDiffStats)):
            with self.subTest(struct=cname):
                want = c[cname]
                self.assertEqual(ctypes.sizeof(py), want.pop("sizeof"))
                got = {n: getattr(py, n).offset for n, _t in py._fields_}
                self.assertEqual(got, want)


class TestOptions(unittest.TestCase):
    def test_known_option_is_applied(self):
        cfg = loopcheck._Config({"min_repeats": 5, "max-period": 4})
        try:
            self.assertEqual(cfg.get("min_repeats"), 5)
            self.assertEqual(cfg.get("max_period"), 4)
        finally:
            cfg.close()

    def test_default_option(self):
        cfg = loopcheck._Config({})
        try:
            self.assertEqual(cfg.get("min_repeats"), 3)
        finally:
            cfg.close()

    def test_unknown_option(self):
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck.check([{"role": "user", "content": "hi"}],
                            no_such_option=1)
        self.assertEqual(cm.exception.status, 12)
        self.assertEqual(cm.exception.code, "LC-E012")
        self.assertIn("no_such_option", cm.exception.message)

    def test_out_of_bounds(self):
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck.check([{"role": "user", "content": "hi"}],
                            min_repeats=-7)
        self.assertEqual(cm.exception.status, 13)
        self.assertEqual(cm.exception.code, "LC-E013")

    def test_non_integer_value(self):
        # 0.5 used to become 0 (the default) and 2.9 become 2, silently
        for bad in (0.5, 2.9, "3", True, None):
            with self.assertRaises(loopcheck.Error) as cm:
                loopcheck.check([{"role": "user", "content": "hi"}],
                                min_repeats=bad)
            self.assertEqual(cm.exception.status, 10)
            self.assertIn("expected an integer", cm.exception.message)

    def test_kinds_by_name(self):
        cfg = loopcheck._Config({"kinds": ["exact_loop", "refusal"]})
        try:
            self.assertEqual(cfg.get("kinds"), (1 << 1) | (1 << 20))
        finally:
            cfg.close()

    def test_unknown_kind(self):
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck._Config({"kinds": ["loopy"]})
        self.assertEqual(cm.exception.status, 10)

    def test_format_by_name(self):
        cfg = loopcheck._Config({"format": "transcript"})
        try:
            self.assertEqual(cfg.get("format"), 1)
        finally:
            cfg.close()


class TestError(unittest.TestCase):
    def test_fields_and_str(self):
        e = loopcheck.Error(30, "LC-E030", "unexpected '}'", "run.jsonl",
                            4, 17, 120)
        self.assertEqual((e.status, e.code, e.message, e.source, e.line,
                          e.column, e.offset),
                         (30, "LC-E030", "unexpected '}'", "run.jsonl", 4,
                          17, 120))
        self.assertEqual(str(e),
                         "run.jsonl:4:17: error: unexpected '}' [LC-E030]")

    def test_defaults_from_library(self):
        e = loopcheck.Error(20)
        self.assertEqual(e.code, "LC-E020")
        self.assertEqual(e.message, "invalid UTF-8")

    def test_pickle(self):
        e = loopcheck.Error(31, "LC-E031", "no messages", "a.jsonl", 2, 1, 9)
        f = pickle.loads(pickle.dumps(e))
        self.assertEqual(str(f), str(e))
        self.assertEqual(f.offset, 9)


class TestFinding(unittest.TestCase):
    def test_dict_round_trip(self):
        d = {"kind": "exact_loop", "first_turn": 3, "last_turn": 8,
             "lines": [3, 8], "turns": [3, 4, 5, 6, 7, 8],
             "role": "assistant", "score": 1.0, "excerpt": "I see.",
             "evidence": "00112233445566ff", "period": 2, "repeats": 3}
        f = loopcheck.Finding.from_dict(dict(d, unknown_key=1))
        self.assertEqual(f.to_dict(), d)
        self.assertEqual(loopcheck.Finding.from_dict(f.to_dict()), f)

    def test_field_names_match_cli_json(self):
        names = [f.name for f in loopcheck.dataclasses.fields(
            loopcheck.Finding) if f.compare]
        self.assertEqual(names, [
            "kind", "first_turn", "last_turn", "lines", "turns", "role",
            "speaker", "score", "excerpt", "evidence", "period", "repeats",
            "count", "words", "share", "family", "families", "partial",
            "span", "pushback", "helpful"])


class TestMcNemar(unittest.TestCase):
    def test_known_tails(self):
        # P(X >= k), X ~ Bin(n, 1/2), by hand.
        self.assertAlmostEqual(loopcheck.mcnemar_exact(3, 3), 1 / 8)
        self.assertAlmostEqual(loopcheck.mcnemar_exact(2, 3), 4 / 8)
        self.assertAlmostEqual(loopcheck.mcnemar_exact(0, 5), 1.0)
        self.assertAlmostEqual(loopcheck.mcnemar_exact(9, 10), 11 / 1024)


if __name__ == "__main__":
    unittest.main()
