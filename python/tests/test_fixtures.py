"""test_fixtures.py - the C tests' fixtures give, through the binding, the
same results as the C tests expect and as the CLI's JSON:

- reader fixtures (jsonl/, jsonl-turns/, json/, transcript/): ids, lines,
  statuses, turn counts and every diagnostic with its position, as in the
  `<case>.expected` dumps of tests/unit/test_reader.c;
- loop fixtures (loops/): the loop findings of `<case>.expected.json`
  (tests/unit/test_loops.c), both through scan() and through check() on
  the messages parsed here;
- refusal fixtures and the seed transcript: the assertions of
  tests/unit/test_refusal.c and test_loops.c (seed), restated;
- every fixture: each report == the CLI's JSON line, and the summary of
  all of them == the CLI's summary object.
"""

import json
import os
import re
import unittest

import _util
import loopcheck

READER_DIRS = ("jsonl", "jsonl-turns", "json", "transcript")
LOOP_KINDS = {"exact_loop", "recurring_turn", "recycled_passage",
              "near_duplicate_loop", "degenerate_repetition",
              "stalled_conversation"}

CONV_RE = re.compile(r"^conv (\d+) id=(.*) format=(\S+) line=(\d+) "
                     r"status=(LC-E\d+) turns=(\d+)(?: note=.*)?$")
DIAG_RE = re.compile(r"^diag (\d+)\.(\d+) (error|warning) (LC-E\d+) "
                     r"(\d+):(\d+) off=(\d+) turn=(-?\d+) (.*)$")
TOTAL_RE = re.compile(r"^total (\d+) good (\d+) failed (\d+)$")


def fx(*parts):
    return os.path.join(_util.FIXTURES, *parts)


def parse_dump(text):
    """tests/unit/test_reader.c dump -> (conversations, total)."""
    convs, total = [], None
    for line in text.splitlines():
        m = CONV_RE.match(line)
        if m:
            convs.append({"id": m.group(2), "line": int(m.group(4)),
                          "status": m.group(5), "turns": int(m.group(6)),
                          "diags": []})
            continue
        m = DIAG_RE.match(line)
        if m:
            convs[int(m.group(1)) - 1]["diags"].append(
                (m.group(3), m.group(4), int(m.group(5)), int(m.group(6)),
                 int(m.group(7)), int(m.group(8)), m.group(9)))
            continue
        m = TOTAL_RE.match(line)
        if m:
            total = tuple(int(g) for g in m.groups())
    return convs, total


def report_view(rep):
    return {"id": rep.conversation, "line": rep.line,
            "status": loopcheck.Error(rep.status).code if rep.status
            else "LC-E000", "turns": rep.turn_count,
            "diags": [(d.severity, d.code, d.line, d.column, d.offset,
                       d.turn, d.message) for d in rep.diagnostics]}


def messages_of(obj):
    """Messages of a fixture line (OpenAI or ShareGPT shape)."""
    return obj.get("messages") or obj.get("conversations") or []


def compare_loop_findings(test, where, findings, want):
    got = [f for f in findings if f.kind in LOOP_KINDS]
    test.assertEqual(len(got), len(want), "%s: %s" % (where, got))
    for f, w in zip(got, want):
        for key, val in w.items():
            if key.startswith("_"):
                continue
            # as compare_finding() in test_loops.c: struct values (some
            # are not in the JSON for every kind), share within 0.006
            g = f.native[key] if key in f.native else getattr(f, key)
            if key == "share":
                test.assertLessEqual(abs(g - val), 0.006, where)
            else:
                test.assertEqual(g, val, "%s: %s" % (where, key))


class TestReaderFixtures(unittest.TestCase):
    """scan() reports == the reader dumps test_reader.c compares."""

    def run_dir(self, sub, **options):
        d = fx(sub)
        if not os.path.isdir(d):
            self.skipTest("no fixtures/%s" % sub)
        n = 0
        for name in sorted(os.listdir(d)):
            if name.startswith(".") or name.endswith((".expected", ".md")):
                continue
            exp = os.path.join(d, os.path.splitext(name)[0] + ".expected")
            with open(exp, encoding="utf-8", errors="replace") as fh:
                want, total = parse_dump(fh.read())
            with open(os.path.join(d, name), "rb") as fh:
                data = fh.read()
            with self.subTest(fixture="%s/%s" % (sub, name)):
                reps = loopcheck.scan_bytes(data, name, **options)
                self.assertEqual([report_view(r) for r in reps], want)
                good = sum(1 for r in reps if r.ok)
                self.assertEqual((len(reps), good, len(reps) - good), total)
                for r in reps:      # a failed report carries its error
                    if not r.ok:
                        self.assertEqual(
                            (r.error.code, r.error.line, r.error.column),
                            want[reps.index(r)]["diags"][0][1:4])
            n += 1
        self.assertGreater(n, 0)

    def test_jsonl(self):
        self.run_dir("jsonl")

    def test_jsonl_turns(self):
        self.run_dir("jsonl-turns")

    def test_json(self):
        self.run_dir("json")

    def test_transcript(self):
        self.run_dir("transcript")

    def test_deferred_parsing_gives_the_same(self):
        self.run_dir("jsonl", defer_parse=2)


class TestPathologicalFixtures(unittest.TestCase):
    """scan() renders fixtures/pathological/ cases exactly as
    tests/unit/test_pathological.c's outcome() does."""

    @staticmethod
    def render(name, data, options, render_turns):
        out = []
        if name.endswith(".lcp"):
            try:
                loopcheck.patterns(patterns={name: data}, **options)
                return "patterns LC-E000\n"
            except loopcheck.Error as e:
                return "patterns %s %s:%d:%d: %s\n" % (
                    e.code, e.source, e.line, e.column, e.message)
        s = loopcheck.Summary(**options)
        reps = loopcheck.scan_bytes(data, name, turns=True, **options)
        for n, r in enumerate(reps, 1):
            s.add(r)
            out.append("conv %d %s line %d %s %s turns %d" % (
                n, r.conversation, r.line, r.format,
                r.error.code if r.error else "LC-E000", r.turn_count))
            for d in r.diagnostics:
                out.append("  %s:%d:%d: %s: %s [%s] @%d turn %d" % (
                    d.source, d.line, d.column, d.severity, d.message,
                    d.code, d.offset, d.turn))
            if render_turns:
                for t in r.turns:
                    out.append("  turn %d %s %016x %dB at %d:%d" % (
                        t.index, t.role, t.hash, t.text_bytes, t.line,
                        t.column))
        out.append("summary read %d analysed %d failed %d"
                   % (s.read, s.analysed, s.failed))
        return "\n".join(out) + "\n"

    def test_cases(self):
        d = fx("pathological")
        if not os.path.isdir(d):
            self.skipTest("no fixtures/pathological")
        n = 0
        for name in sorted(os.listdir(d)):
            if name.startswith(".") or name.endswith((".expected", ".md")):
                continue
            exp = os.path.join(d, os.path.splitext(name)[0] + ".expected")
            if not os.path.exists(exp):
                continue
            with open(exp, "rb") as fh:
                want = fh.read().decode("utf-8", "replace")
            options, head = {}, ""
            if want.startswith("options "):
                head, want_body = want.split("\n", 1)
                for kv in head.split()[1:]:
                    k, v = kv.split("=", 1)
                    options[k] = v if k == "format" else int(v)
                want = want_body
            with open(os.path.join(d, name), "rb") as fh:
                data = fh.read()
            with self.subTest(fixture=name):
                # older expectations had no per-turn lines
                render_turns = "\n  turn " in want
                self.assertEqual(self.render(name, data, options,
                                             render_turns), want)
            n += 1
        self.assertGreater(n, 10)


class TestLoopFixtures(unittest.TestCase):
    """Loop findings == fixtures/loops/*.expected.json (test_loops.c)."""

    def cases(self):
        d = fx("loops")
        if not os.path.isdir(d):
            self.skipTest("no fixtures/loops")
        for name in sorted(os.listdir(d)):
            if name.endswith(".jsonl"):
                base = name[:-len(".jsonl")]
                with open(os.path.join(d, base + ".expected.json"),
                          encoding="utf-8") as fh:
                    yield base, os.path.join(d, name), json.load(fh)

    def test_scan(self):
        n = 0
        for base, path, expected in self.cases():
            with self.subTest(fixture=base):
                reps = list(loopcheck.scan(path))
                self.assertEqual(len(reps), len(expected))
                for i, (rep, exp) in enumerate(zip(reps, expected)):
                    self.assertEqual(rep.conversation, exp["id"])
                    compare_loop_findings(self, "%s #%d" % (base, i + 1),
                                          rep.findings, exp["findings"])
            n += 1
        self.assertGreater(n, 10)

    def test_check_messages(self):
        for base, path, expected in self.cases():
            with self.subTest(fixture=base):
                with open(path, encoding="utf-8") as fh:
                    lines = [json.loads(l) for l in fh if l.strip()]
                self.assertEqual(len(lines), len(expected))
                for i, (obj, exp) in enumerate(zip(lines, expected)):
                    compare_loop_findings(
                        self, "%s #%d" % (base, i + 1),
                        loopcheck.check(messages_of(obj)), exp["findings"])

    def test_monitor_live_equals_batch(self):
        for base, path, _expected in self.cases():
            with open(path, encoding="utf-8") as fh:
                lines = [json.loads(l) for l in fh if l.strip()]
            for obj in lines:
                msgs = messages_of(obj)
                if loopcheck._needs_reader(msgs):
                    continue        # tool calls: text made by the reader
                with self.subTest(fixture=base, id=obj.get("id")):
                    with loopcheck.Monitor() as mon:
                        events = {}
                        for m in msgs:
                            for f in mon.push(m.get("role", ""),
                                              m.get("content") or ""):
                                events[f.id] = f
                        for f in mon.finish():
                            events[f.id] = f
                        final = mon.findings
                        # every finding was announced, in its final state
                        self.assertEqual(sorted(events), sorted(
                            f.id for f in final))
                        for f in final:
                            self.assertEqual(events[f.id], f)
                    self.assertEqual(final, loopcheck.check(msgs))


class TestCheckEqualsReader(unittest.TestCase):
    """check(messages) on every JSONL fixture line == the reader's
    findings for that line (but for source lines): roles, speakers,
    content parts, tool calls, ShareGPT keys are read the same way."""

    def test_every_jsonl_line(self):
        n = 0
        for path in _util.fixture_files((".jsonl",)):
            reps = {r.line: r for r in loopcheck.scan(path)}
            with open(path, "rb") as fh:
                lines = fh.read().split(b"\n")
            for no, raw in enumerate(lines, 1):
                try:
                    obj = json.loads(raw)
                except ValueError:
                    continue
                rep = reps.get(no)
                if not isinstance(obj, dict) or rep is None or not rep.ok:
                    continue
                msgs = obj.get("messages", obj.get("conversations"))
                if not isinstance(msgs, list):
                    continue        # e.g. one turn per line
                with self.subTest(fixture=os.path.relpath(
                        path, _util.FIXTURES), line=no):
                    got = loopcheck.check_report(msgs)
                    self.assertEqual(got.turn_count, rep.turn_count)
                    self.assertEqual(
                        [dict(f.to_dict(), lines=None)
                         for f in got.findings],
                        [dict(f.to_dict(), lines=None)
                         for f in rep.findings])
                n += 1
        self.assertGreater(n, 50)

    def test_non_message_raises_schema_error(self):
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck.check([{"role": "user", "content": "hi"}, "oops"])
        self.assertEqual((cm.exception.code, cm.exception.turn),
                         ("LC-E031", 2))


def seed_turns():
    """The seed transcript split as test_loops.c's load_seed() does."""
    with open(fx("transcript", "seed-therapy.txt"), encoding="utf-8") as fh:
        lines = fh.read().split("\n")
    turns, cur = [], None
    for line in lines + [None]:
        th = line is not None and line.startswith("Therapist: ")
        pa = line is not None and line.startswith("Patient: ")
        if line is None or th or pa:
            if cur is not None:
                turns.append((cur[0], "\n".join(cur[2]).rstrip("\n"),
                              cur[1]))
            if line is None:
                break
            cur = ("assistant", "Therapist", [line[11:]]) if th else \
                ("user", "Patient", [line[9:]])
        elif cur is not None:
            cur[2].append(line)
    return turns


class TestRefusalFixtures(unittest.TestCase):
    """The assertions of tests/unit/test_refusal.c, through scan()."""

    def reports(self, rel):
        path = fx(*rel.split("/"))
        if not os.path.exists(path):
            self.skipTest("no %s" % rel)
        return list(loopcheck.scan(path))

    @staticmethod
    def of(rep, kind):
        return [f for f in rep.findings if f.kind == kind]

    def test_seed_transcript(self):
        (rep,) = self.reports("transcript/seed-therapy.txt")
        refusals = self.of(rep, "refusal")
        self.assertEqual(len(refusals), 8)
        self.assertEqual((refusals[0].first_turn, refusals[0].family,
                          refusals[0].partial), (19, "crisis_redirect",
                                                 False))
        self.assertEqual((refusals[7].first_turn, refusals[7].family,
                          refusals[7].partial), (33, "apology_inability",
                                                 False))
        (loop,) = self.of(rep, "refusal_loop")
        self.assertEqual((loop.first_turn, loop.last_turn, loop.count,
                          loop.pushback, loop.family),
                         (19, 33, 8, 7, "crisis_redirect"))
        (onset,) = self.of(rep, "refusal_onset")
        self.assertEqual((onset.first_turn, onset.helpful), (19, 9))

    def test_loop_with_pushback(self):
        rep = self.reports("refusal/loop-with-pushback.jsonl")[0]
        f = self.of(rep, "refusal_loop")[0]
        self.assertEqual((f.first_turn, f.last_turn, f.count, f.pushback,
                          f.family), (2, 8, 4, 3, "policy"))
        self.assertEqual(self.of(rep, "refusal_onset"), [])

    def test_onset(self):
        rep = self.reports("refusal/onset-after-help.jsonl")[0]
        f = self.of(rep, "refusal_onset")[0]
        self.assertEqual((f.first_turn, f.helpful), (8, 3))
        self.assertGreaterEqual(f.score, 0.25)
        self.assertEqual(self.of(rep, "refusal_loop"), [])

    def test_partial(self):
        reps = self.reports("refusal/partial.jsonl")
        self.assertEqual(len(reps), 2)
        self.assertTrue(self.of(reps[0], "refusal")[0].partial)
        self.assertFalse(self.of(reps[1], "refusal")[0].partial)

    def test_non_english(self):
        reps = self.reports("refusal/non-english.jsonl")
        self.assertEqual([self.of(r, "refusal")[0].family for r in reps],
                         ["refusal_es", "refusal_fr", "refusal_de",
                          "refusal_pt", "refusal_it", "refusal_zh",
                          "refusal_ja"])

    def test_quoted_story(self):
        rep = self.reports("refusal/quoted-story.jsonl")[0]
        self.assertEqual(self.of(rep, "refusal"), [])


class TestSeed(unittest.TestCase):
    """test_loops.c's seed cases (t_seed, t_seed_live_timing,
    t_seed_options) through check() and Monitor."""

    def setUp(self):
        if not os.path.exists(fx("transcript", "seed-therapy.txt")):
            self.skipTest("no seed transcript fixture")
        self.turns = seed_turns()

    def test_loops(self):
        self.assertEqual(len(self.turns), 34)
        fs = [f for f in loopcheck.check(self.turns)
              if f.kind in LOOP_KINDS]
        for f in fs:
            self.assertGreaterEqual(min(f.turns), 7)
        (exact,) = [f for f in fs if f.kind == "exact_loop"]
        self.assertEqual((exact.first_turn, exact.last_turn, exact.period,
                          exact.repeats, exact.role, exact.speaker),
                         (19, 32, 2, 7, "assistant", "Therapist"))
        self.assertIn("I cannot provide therapy", exact.excerpt)
        rec = sorted((f.first_turn, f.last_turn) for f in fs
                     if f.kind == "recycled_passage")
        self.assertEqual(rec, [(7, 11), (8, 10), (9, 11), (10, 12),
                               (12, 14), (13, 15)])
        for f in fs:
            if f.kind == "recycled_passage":
                self.assertGreaterEqual(f.words, 12)
                self.assertTrue(0 < f.share <= 1)
        (stall,) = [f for f in fs if f.kind == "stalled_conversation"]
        self.assertEqual(stall.last_turn, 34)
        self.assertTrue(15 <= stall.first_turn <= 19)
        self.assertEqual(len(fs), 8)

    def test_live_timing(self):
        new_at, extended = None, []
        with loopcheck.Monitor() as mon:
            for i, (role, text, speaker) in enumerate(self.turns, 1):
                for f in mon.push(role, text, speaker):
                    if f.kind != "exact_loop":
                        continue
                    if f.event == "new":
                        new_at = i
                        self.assertEqual((f.repeats, f.last_turn), (3, 24))
                    else:
                        self.assertEqual(f.last_turn, i)
                        extended.append(i)
        self.assertEqual(new_at, 24)
        self.assertEqual(extended, [26, 28, 30, 32])

    def test_options_reach_detectors(self):
        kinds = {f.kind for f in loopcheck.check(self.turns, min_repeats=8)}
        self.assertNotIn("exact_loop", kinds)


@unittest.skipUnless(_util.CLI, "CLI not built")
class TestSameAsCli(unittest.TestCase):
    def setUp(self):
        self.files = _util.fixture_files()
        if not self.files:
            self.skipTest("no fixtures under %s" % _util.FIXTURES)

    def test_reports(self):
        for path in self.files:
            with self.subTest(fixture=os.path.relpath(path,
                                                      _util.FIXTURES)):
                cli_reports, _summary, _code = _util.cli_json([path])
                got = [r.to_dict() for r in loopcheck.scan(path)]
                self.assertEqual(got, cli_reports)
                # findings built from the C structs == the JSON writer's
                for rep, c in zip(loopcheck.scan(path), cli_reports):
                    self.assertEqual([f.to_dict() for f in rep.findings],
                                     c["findings"])

    def test_summary(self):
        _reports, cli_summary, _code = _util.cli_json(self.files)
        s = loopcheck.Summary()
        for r in loopcheck.scan(self.files, summary=s):
            r.close()
        self.assertIsNotNone(cli_summary)
        self.assertEqual(s.to_dict(), cli_summary)
        self.assertEqual(s.read, len(_reports))


if __name__ == "__main__":
    unittest.main()
