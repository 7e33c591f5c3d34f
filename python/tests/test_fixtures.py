"""test_fixtures.py - the C tests' fixtures give the same findings through
the binding as through the C test expectations and the CLI's JSON."""

import json
import os
import unittest

import _util
import loopcheck


def load_expected(path):
    """*.expected.json: one report object per line, or a JSON array."""
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    try:
        doc = json.loads(text)
        return doc if isinstance(doc, list) else [doc]
    except ValueError:
        return [json.loads(l) for l in text.splitlines() if l.strip()]


def expected_for(path):
    stem = path
    for ext in (".jsonl", ".json", ".txt"):
        if stem.endswith(ext):
            stem = stem[:-len(ext)]
            break
    p = stem + ".expected.json"
    return p if os.path.exists(p) else None


class TestFixtures(unittest.TestCase):
    def setUp(self):
        self.files = _util.fixture_files()
        if not self.files:
            self.skipTest("no fixtures under %s" % _util.FIXTURES)

    def test_expected_json(self):
        n = 0
        for path in self.files:
            exp = expected_for(path)
            if not exp:
                continue
            with self.subTest(fixture=os.path.relpath(path,
                                                      _util.FIXTURES)):
                want = [o for o in load_expected(exp)
                        if not _util.is_summary(o)]
                got = list(loopcheck.scan(path))
                self.assertEqual(len(got), len(want))
                for rep, w in zip(got, want):
                    self.assertEqual(
                        [f.to_dict() for f in rep.findings],
                        w.get("findings", []), rep.conversation)
                    # ...and the C emitter through the binding agrees.
                    self.assertEqual(rep.to_dict(), w)
            n += 1
        if not n:
            self.skipTest("no *.expected.json fixtures yet")

    @unittest.skipUnless(_util.CLI, "CLI not built")
    def test_same_as_cli_json(self):
        for path in self.files:
            with self.subTest(fixture=os.path.relpath(path,
                                                      _util.FIXTURES)):
                cli_reports, _summary, _code = _util.cli_json([path])
                got = list(loopcheck.scan(path))
                self.assertEqual(len(got), len(cli_reports))
                for rep, c in zip(got, cli_reports):
                    self.assertEqual([f.to_dict() for f in rep.findings],
                                     c.get("findings", []))
                    self.assertEqual(rep.to_dict(), c)

    @unittest.skipUnless(_util.CLI, "CLI not built")
    def test_summary_same_as_cli(self):
        _reports, cli_summary, _code = _util.cli_json(self.files)
        s = loopcheck.Summary()
        for _ in loopcheck.scan(self.files, summary=s):
            pass
        self.assertIsNotNone(cli_summary)
        self.assertEqual(s.to_dict(), cli_summary)


if __name__ == "__main__":
    unittest.main()
