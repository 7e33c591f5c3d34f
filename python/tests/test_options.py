"""test_options.py - speaker mapping and refusal patterns reach the
library (as the CLI's -p and --assistant/--user), with positioned errors."""

import json
import os
import tempfile
import unittest

import _util
import loopcheck

TRANSCRIPT = """Coach: Welcome back. What would you like to work on today?
Client: I want to talk about my sleep, it has been bad for weeks now.
Coach: I'm sorry, but I can't help with that.
Client: Why not? It is just about sleep.
"""

PAY_GRADE = """# a house-style refusal
[family pay_grade]
that's above my pay grade
"""


class TestPatterns(unittest.TestCase):
    def test_user_family_is_found(self):
        msgs = [{"role": "user", "content": "Can you approve my refund?"},
                {"role": "assistant",
                 "content": "Sorry, that's above my pay grade."}]
        self.assertEqual(loopcheck.check(msgs), [])
        (f,) = loopcheck.check(msgs, patterns=PAY_GRADE)
        self.assertEqual((f.kind, f.family, f.span), ("refusal", "pay_grade",
                                                      [7, 32]))
        fams = {p["family"] for p in loopcheck.patterns(patterns=PAY_GRADE)}
        self.assertIn("pay_grade", fams)
        self.assertIn("apology_inability", fams)

    def test_pattern_file_as_cli_golden(self):
        case = os.path.join(_util.FIXTURES, "cli", "check-patterns-file")
        if not os.path.isdir(case):
            self.skipTest("no CLI golden case check-patterns-file")
        with open(os.path.join(case, "stdin"), "rb") as fh:
            data = fh.read()
        with open(os.path.join(case, "expected.stdout")) as fh:
            want = [_util.without_gate(json.loads(l))
                    for l in fh if l.strip()]
        s = loopcheck.Summary()
        reps = loopcheck.scan_bytes(data, "<stdin>", pattern_files=[
            os.path.join(case, "extra.lcp")])
        for r in reps:
            s.add(r)
        self.assertEqual([r.to_dict() for r in reps] + [s.to_dict()], want)

    def test_syntax_error_has_position(self):
        bad = "[family mine]\nweight 40\ni (cannot|will not help\n"
        with tempfile.NamedTemporaryFile("w", suffix=".lcp",
                                         delete=False) as fh:
            fh.write(bad)
        try:
            for opts, src in (({"patterns": bad}, "<patterns>"),
                              ({"pattern_files": [fh.name]}, fh.name)):
                with self.assertRaises(loopcheck.Error) as cm:
                    loopcheck.check([("user", "hi")], **opts)
                e = cm.exception
                self.assertEqual((e.status, e.code, e.source, e.line,
                                  e.column), (33, "LC-E033", src, 3, 3))
        finally:
            os.unlink(fh.name)


class TestSpeakers(unittest.TestCase):
    def test_mapping_changes_roles(self):
        data = TRANSCRIPT.encode()
        (rep,) = loopcheck.scan_bytes(data, "coach.txt", format="transcript")
        (mapped,) = loopcheck.scan_bytes(
            data, "coach.txt", format="transcript",
            speakers={"Coach": "assistant", "Client": "user"})
        self.assertIn("Coach=assistant", mapped.to_dict()["speakers"])
        (f,) = [f for f in mapped.findings if f.kind == "refusal"]
        self.assertEqual((f.first_turn, f.role, f.speaker),
                         (3, "assistant", "Coach"))
        # reversed: the coach is the user, so nothing of theirs refuses
        (rev,) = loopcheck.scan_bytes(
            data, "coach.txt", format="transcript",
            speakers={"Coach": "user", "Client": "assistant"})
        self.assertIn("Coach=user", rev.to_dict()["speakers"])
        self.assertEqual([f for f in rev.findings if f.kind == "refusal"],
                         [])
        self.assertTrue(rep.ok)

    def test_bad_role_name(self):
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck.scan_bytes(TRANSCRIPT.encode(), "x.txt",
                                 speakers={"Coach": "wizard"})
        self.assertEqual(cm.exception.status, 10)
        self.assertIn("wizard", cm.exception.message)


if __name__ == "__main__":
    unittest.main()
