"""test_diff.py - diff() on two constructed runs with a known p-value."""

import json
import os
import tempfile
import unittest

import _util
import loopcheck
from test_check import REFUSAL


def comply(prompt):
    return [{"role": "user", "content": prompt},
            {"role": "assistant", "content": "Sure. Here is a short, "
             "direct answer to: " + prompt}]


def refuse(prompt):
    return [{"role": "user", "content": prompt},
            {"role": "assistant", "content": REFUSAL[1]["content"]}]


PROMPTS = ["How do I sort a list in Python %d?" % i for i in range(10)]


class TestDiff(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.base = os.path.join(self.tmp.name, "base.jsonl")
        self.cand = os.path.join(self.tmp.name, "cand.jsonl")
        # baseline refuses prompt 0; candidate refuses 0..4 (4 new
        # refusals, no flips back): discordant 4 -> 0.
        with open(self.base, "w") as fh:
            for i, p in enumerate(PROMPTS):
                msgs = refuse(p) if i == 0 else comply(p)
                fh.write(json.dumps({"id": "p%d" % i, "messages": msgs})
                         + "\n")
        with open(self.cand, "w") as fh:
            for i, p in enumerate(PROMPTS):
                msgs = refuse(p) if i < 5 else comply(p)
                fh.write(json.dumps({"id": "p%d" % i, "messages": msgs})
                         + "\n")

    def tearDown(self):
        self.tmp.cleanup()

    def test_known_counts_and_p_value(self):
        r = loopcheck.diff(self.base, self.cand)
        self.assertEqual(r.paired, 10)
        self.assertEqual((r.unpaired_baseline, r.unpaired_candidate),
                         (0, 0))
        self.assertEqual((r.to_refusal, r.to_compliance, r.both_refuse),
                         (4, 0, 1))
        self.assertAlmostEqual(r.rate_baseline, 0.1)
        self.assertAlmostEqual(r.rate_candidate, 0.5)
        self.assertAlmostEqual(r.difference, 0.4)
        # exact one-sided McNemar: P(X >= 4), X ~ Bin(4, 1/2) = 1/16
        self.assertAlmostEqual(r.p_value, 1 / 16)
        self.assertAlmostEqual(r.p_value_improvement, 1.0)
        self.assertLess(r.ci_low, 0.4)
        self.assertGreater(r.ci_high, 0.4)
        # 1/16 > 0.05: not significant at the default alpha
        self.assertEqual(r.verdict, "no_change")
        self.assertEqual(loopcheck.diff(self.base, self.cand,
                                        alpha=0.1).verdict, "regression")
        self.assertEqual(loopcheck.diff(self.cand, self.base,
                                        alpha=0.1).verdict, "improvement")
        for key in ("paired", "to_refusal", "to_compliance", "p_value",
                    "verdict"):
            self.assertIn(key, r.details)
        self.assertEqual(r.details["to_refusal"], 4)
        # no loops on either side: P(X >= 0) = 1, also in the JSON
        self.assertEqual((r.loops_appeared, r.loops_disappeared), (0, 0))
        self.assertEqual(r.p_value_loops, 1.0)
        self.assertEqual(r.details["p_value_loops"], 1)

    def test_reports_as_input(self):
        a = list(loopcheck.scan(self.base))
        b = list(loopcheck.scan(self.cand))
        r = loopcheck.diff(a, b)
        self.assertEqual(r.to_refusal, 4)
        self.assertAlmostEqual(r.p_value, 1 / 16)


@unittest.skipUnless(_util.CLI, "CLI not built")
class TestDiffAsCli(unittest.TestCase):
    """diff() on the release-gate runs == `loopcheck diff --format json`."""

    def test_runs_fixture(self):
        base = os.path.join(_util.FIXTURES, "runs", "baseline.jsonl")
        cand = os.path.join(_util.FIXTURES, "runs", "candidate.jsonl")
        if not os.path.exists(base):
            self.skipTest("no fixtures/runs")
        for alpha in (None, 0.01):
            extra = [] if alpha is None else ["--alpha", str(alpha)]
            _code, out, _err = _util.cli_run(
                ["diff", "--format", "json"] + extra + [base, cand])
            objs = [json.loads(l) for l in out.splitlines() if l.strip()]
            want = [o for o in objs if o.get("type") == "diff"][-1]
            r = loopcheck.diff(base, cand, alpha=alpha)
            # the gate is the CLI's (the library has none): the only
            # member the library's object lacks
            gate = want.pop("gate")
            self.assertEqual(r.details, want)
            self.assertIs(gate["passed"], False)
            self.assertEqual([g["rule"] for g in gate["reasons"]],
                             (["verdict"] if alpha is None else [])
                             + ["max_new_loops"])
            self.assertEqual(r.p_value_loops, want["p_value_loops"])
            self.assertEqual(r.p_value_loops, 0.5)  # 1 appeared, 0 gone
            for key in ("paired", "to_refusal", "to_compliance",
                        "both_refuse", "loops_appeared", "family_changed",
                        "verdict"):
                self.assertEqual(getattr(r, key), want[key], key)
            for key in ("p_value", "rate_baseline", "rate_candidate",
                        "ci_low", "ci_high"):
                self.assertAlmostEqual(getattr(r, key), want[key], 5)


if __name__ == "__main__":
    unittest.main()
