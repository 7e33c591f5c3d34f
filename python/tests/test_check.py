"""test_check.py - check() and Monitor on constructed conversations."""

import unittest

import _util  # noqa: F401
import loopcheck

# A user and a bot stuck in the same two-turn exchange, five times.
LOOP = []
for _ in range(5):
    LOOP.append({"role": "user", "content": "Can you book me a table?"})
    LOOP.append({"role": "assistant",
                 "content": "I can help with that. What city are you in?"})

BENIGN = [
    {"role": "user", "content": "What is the boiling point of water?"},
    {"role": "assistant", "content": "At sea level water boils at 100 "
     "degrees Celsius, or 212 degrees Fahrenheit."},
    {"role": "user", "content": "And on top of Mount Everest?"},
    {"role": "assistant", "content": "Roughly 70 degrees Celsius, because "
     "the air pressure there is about a third of that at sea level."},
]

REFUSAL = [
    {"role": "user", "content": "How do I kill a Python process?"},
    {"role": "assistant", "content": "I'm sorry, but I can't help with "
     "that request."},
]


def without_lines(findings):
    """Findings minus source lines (a file has them, a list has not)."""
    return [dict(f.to_dict(), lines=None) for f in findings]


def kinds(findings):
    return sorted({f.kind for f in findings})


class TestCheck(unittest.TestCase):
    def test_exact_loop(self):
        fs = loopcheck.check(LOOP)
        loops = [f for f in fs if f.kind == "exact_loop"]
        self.assertEqual(len(loops), 1, fs)
        f = loops[0]
        self.assertEqual(f.period, 2)
        self.assertEqual(f.repeats, 5)
        self.assertEqual((f.first_turn, f.last_turn), (1, 10))
        self.assertEqual(f.turns, list(range(1, 11)))
        self.assertRegex(f.evidence, r"^[0-9a-f]{16}$")

    def test_benign_has_no_findings(self):
        self.assertEqual(loopcheck.check(BENIGN), [])

    def test_refusal(self):
        fs = loopcheck.check(REFUSAL)
        self.assertEqual(kinds(fs), ["refusal"])
        f = fs[0]
        self.assertEqual((f.first_turn, f.last_turn, f.role), (2, 2,
                                                               "assistant"))
        self.assertTrue(f.family)
        self.assertIn(f.family, f.families.split(","))
        self.assertFalse(f.partial)
        text = REFUSAL[1]["content"].encode()
        self.assertIsNotNone(f.span)
        self.assertLess(f.span[0], f.span[1])
        self.assertLessEqual(f.span[1], len(text))

    def test_tuples_equal_dicts(self):
        pairs = [(m["role"], m["content"]) for m in LOOP]
        self.assertEqual(loopcheck.check(pairs), loopcheck.check(LOOP))

    def test_struct_findings_equal_json_writer(self):
        # Findings built from lc_finding structs == the C JSON emitter's.
        for conv in (LOOP, REFUSAL, BENIGN):
            rep = loopcheck.check_report(conv)
            try:
                js = rep.to_dict()
                self.assertEqual(
                    [loopcheck.Finding.from_dict(d)
                     for d in js["findings"]], rep.findings)
                self.assertEqual([f.to_dict() for f in rep.findings],
                                 js["findings"])
            finally:
                rep.close()

    def test_options_change_result(self):
        fs = loopcheck.check(LOOP, min_repeats=6)
        self.assertNotIn("exact_loop", kinds(fs))
        fs = loopcheck.check(LOOP, kinds=["refusal"])
        self.assertEqual(fs, [])

    def test_empty_conversation(self):
        # The library analyses an empty conversation (no findings); only
        # the reader reports "no turns" for data it could not use.
        rep = loopcheck.check_report([])
        self.assertEqual((rep.status, rep.turn_count, rep.findings),
                         (0, 0, []))
        self.assertEqual(loopcheck.check([]), [])

    def test_bad_role_number_raises(self):
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck.check([(9, "hello")])
        self.assertEqual(cm.exception.status, 10)

    def test_invalid_utf8_is_repaired_with_warning(self):
        conv = [{"role": "user", "content": b"caf\xe9 ok?"},
                {"role": "assistant", "content": "Yes."}]
        rep = loopcheck.check_report(conv)
        try:
            self.assertTrue(rep.ok)
            self.assertIn(20, [d.status for d in rep.diagnostics])
            self.assertEqual(rep.diagnostics[0].severity, "warning")
        finally:
            rep.close()


class TestMonitor(unittest.TestCase):
    def test_stops_loop_early_and_matches_batch(self):
        mon = loopcheck.Monitor()
        seen_at = None
        for i, m in enumerate(LOOP, 1):
            for f in mon.push(m["role"], m["content"]):
                if f.kind == "exact_loop" and seen_at is None:
                    seen_at = i
                    self.assertEqual(f.event, "new")
        # Certain after min_repeats (3) periods of 2 turns: turn 6.
        self.assertEqual(seen_at, 6)
        mon.finish()
        self.assertEqual(mon.findings, loopcheck.check(LOOP))
        mon.close()

    def test_push_after_finish_is_state_error(self):
        with loopcheck.Monitor() as mon:
            mon.push("user", "hello")
            mon.finish()
            with self.assertRaises(loopcheck.Error) as cm:
                mon.push("assistant", "hi")
            self.assertEqual(cm.exception.status, 11)

    def test_limit_is_an_error_with_status(self):
        with loopcheck.Monitor(max_turns=3) as mon:
            for _ in range(3):
                mon.push("user", "hello")
            with self.assertRaises(loopcheck.Error) as cm:
                mon.push("user", "hello")
            self.assertEqual((cm.exception.status, cm.exception.code),
                             (40, "LC-E040"))

    def test_reset_starts_over(self):
        with loopcheck.Monitor() as mon:
            for m in LOOP:
                mon.push(m["role"], m["content"])
            mon.finish()
            first = mon.findings
            mon.reset()
            self.assertEqual(mon.findings, [])
            for m in LOOP:
                mon.push(m["role"], m["content"])
            mon.finish()
            self.assertEqual(mon.findings, first)

    def test_closed_monitor(self):
        mon = loopcheck.Monitor()
        mon.close()
        with self.assertRaises(loopcheck.Error):
            mon.push("user", "x")


if __name__ == "__main__":
    unittest.main()
