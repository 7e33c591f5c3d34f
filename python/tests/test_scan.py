"""test_scan.py - scan() over files, report errors, mergeable Summary."""

import json
import os
import pickle
import tempfile
import unittest

import _util  # noqa: F401
import loopcheck
from test_check import BENIGN, LOOP, REFUSAL, without_lines


def conv_line(cid, messages):
    return json.dumps({"id": cid, "messages": messages}) + "\n"


class TestScan(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        d = self.tmp.name
        self.a = os.path.join(d, "a.jsonl")
        with open(self.a, "w") as fh:
            fh.write(conv_line("loop-1", LOOP))
            fh.write(conv_line("benign-1", BENIGN))
            # line 3: malformed JSON (missing closing brace), column 31
            fh.write('{"id": "bad", "messages": [}\n')
            fh.write(conv_line("refusal-1", REFUSAL))
        os.makedirs(os.path.join(d, "sub"))
        self.b = os.path.join(d, "sub", "b.jsonl")
        with open(self.b, "w") as fh:
            fh.write(conv_line("refusal-2", REFUSAL))
            fh.write(conv_line("loop-2", LOOP))

    def tearDown(self):
        self.tmp.cleanup()

    def test_reports_in_order_with_errors(self):
        reps = list(loopcheck.scan([self.a]))
        self.assertEqual([r.line for r in reps], [1, 2, 3, 4])
        self.assertEqual([r.source for r in reps], [self.a] * 4)
        self.assertEqual([r.ok for r in reps], [True, True, False, True])
        bad = reps[2]
        self.assertIsInstance(bad.error, loopcheck.Error)
        self.assertEqual(bad.error.status, 30)
        self.assertEqual(bad.error.code, "LC-E030")
        self.assertEqual((bad.error.source, bad.error.line),
                         (self.a, 3))
        self.assertGreater(bad.error.column, 0)
        self.assertEqual(bad.findings, [])
        self.assertEqual(reps[0].conversation, "loop-1")
        self.assertEqual(without_lines(reps[0].findings),
                         without_lines(loopcheck.check(LOOP)))
        self.assertEqual([f.lines for f in reps[0].findings],
                         [[1, 1]] * len(reps[0].findings))
        self.assertEqual(reps[1].findings, [])
        self.assertTrue(reps[3].refuses)

    def test_directory_is_recursive_and_sorted(self):
        reps = list(loopcheck.scan(self.tmp.name))
        self.assertEqual([r.conversation for r in reps],
                         ["loop-1", "benign-1", reps[2].conversation,
                          "refusal-1", "refusal-2", "loop-2"])

    @unittest.skipUnless(_util.CLI, "CLI not built")
    def test_walk_order_and_globs_as_cli(self):
        d = self.tmp.name
        for rel in ("b.jsonl", "b/x.jsonl", "a.txt", "c.ndjson",
                    ".hidden.jsonl", "skip.csv", "b/.hid/y.jsonl",
                    "B.json", "z/deep/w.log"):
            path = os.path.join(d, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as fh:
                fh.write(conv_line(rel, BENIGN))
        reps, _summary, _code = _util.cli_json([d])
        want = [r["source"] for r in reps]
        self.assertEqual([r.source for r in loopcheck.scan(d)], want)
        self.assertEqual(loopcheck.list_files(d), sorted(set(want),
                                                         key=want.index))
        self.assertNotIn(os.path.join(d, "skip.csv"), want)
        # include / exclude, as --include / --exclude
        reps, _s, _c = _util.cli_json([d], "--include", "*.jsonl",
                                      "--exclude", "b")
        self.assertEqual([r.source for r in loopcheck.scan(
            d, include=["*.jsonl"], exclude=["b"])],
            [r["source"] for r in reps])

    def test_missing_file_raises_io_error(self):
        with self.assertRaises(loopcheck.Error) as cm:
            list(loopcheck.scan([os.path.join(self.tmp.name, "nope")]))
        self.assertEqual(cm.exception.status, 51)

    def test_summary_counts(self):
        s = loopcheck.Summary()
        for _ in loopcheck.scan(self.tmp.name, summary=s):
            pass
        self.assertEqual((s.read, s.analysed, s.failed), (6, 5, 1))
        self.assertEqual(s.kind_count("exact_loop"), 2)
        self.assertEqual(s.kind_count("refusal"), 2)

    def test_shard_summaries_merge_to_whole(self):
        whole = loopcheck.Summary()
        list(loopcheck.scan(self.tmp.name, summary=whole))
        sa, sb = loopcheck.Summary(), loopcheck.Summary()
        list(loopcheck.scan(self.a, summary=sa))
        list(loopcheck.scan(self.b, summary=sb))
        # via lc_summary_merge
        self.assertEqual((sa + sb).to_dict(), whole.to_dict())
        # via JSON (lc_summary_merge_json), as shards ship them
        m = loopcheck.Summary.from_json(sa.to_json()).merge(sb.to_json())
        self.assertEqual(m.to_dict(), whole.to_dict())
        # via pickle (what Dask does)
        m2 = pickle.loads(pickle.dumps(sa)).merge(pickle.loads(
            pickle.dumps(sb)))
        self.assertEqual(m2.to_dict(), whole.to_dict())

    def test_threads_share_a_config(self):
        # ctypes drops the GIL in library calls; handles are per thread,
        # the cached config is shared read-only.
        from concurrent.futures import ThreadPoolExecutor
        whole = loopcheck.Summary()
        list(loopcheck.scan([self.a, self.b] * 10, summary=whole))

        def shard(paths):
            s = loopcheck.Summary()
            for r in loopcheck.scan(paths, summary=s):
                r.close()
            return s

        with ThreadPoolExecutor(4) as ex:
            parts = list(ex.map(shard, [[self.a, self.b]] * 10))
        total = loopcheck.Summary()
        for p in parts:
            total.merge(p)
        self.assertEqual(total.to_dict(), whole.to_dict())
        self.assertEqual(total.read, 60)

    def test_report_pickles_detached(self):
        rep = list(loopcheck.scan(self.a))[0]
        copy = pickle.loads(pickle.dumps(rep))
        self.assertEqual(copy.findings, rep.findings)
        self.assertEqual(copy.to_dict(), rep.to_dict())
        self.assertEqual((copy.conversation, copy.line), ("loop-1", 1))
        with self.assertRaises(loopcheck.Error) as cm:
            loopcheck.Summary().add(copy)
        self.assertEqual(cm.exception.status, 11)

    def test_turns_on_request(self):
        self.assertIsNone(list(loopcheck.scan(self.b))[0].turns)
        rep = list(loopcheck.scan(self.b, turns=True))[0]
        self.assertEqual(len(rep.turns), rep.turn_count)
        t = rep.turns[1]
        self.assertEqual((t.index, t.role, t.speaker, t.line, t.flags),
                         (2, "assistant", "assistant", 1, []))
        self.assertEqual(t.text, REFUSAL[1]["content"])
        self.assertEqual(t.norm, t.norm.lower())
        self.assertEqual(t.text_bytes, len(t.text.encode()))
        mine = loopcheck.check_report(REFUSAL, turns=True).turns
        self.assertEqual([(u.hash, u.norm, u.words) for u in mine],
                         [(u.hash, u.norm, u.words) for u in rep.turns])

    def test_scan_bytes(self):
        reps = loopcheck.scan_bytes(conv_line("x", LOOP).encode(), "mem")
        self.assertEqual(len(reps), 1)
        self.assertEqual(reps[0].source, "mem")
        self.assertEqual(without_lines(reps[0].findings),
                         without_lines(loopcheck.check(LOOP)))


if __name__ == "__main__":
    unittest.main()
