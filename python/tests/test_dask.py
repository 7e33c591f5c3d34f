"""test_dask.py - examples/dask_scan.py on a 2-process LocalCluster merges
per-shard summaries into exactly the CLI's summary of the same files."""

import importlib.util
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unittest

import _util
import loopcheck

HAVE_DASK = all(importlib.util.find_spec(m) is not None
                for m in ("dask", "distributed"))

QUESTIONS = [
    "What is the capital of Australia?", "How do I reverse a string?",
    "Can you recommend a book about bees?", "Why is the sky blue?",
    "How long should I boil an egg?", "What does HTTP 418 mean?",
    "How do I kill a Python process?", "Write a haiku about rain.",
]
ANSWERS = [
    "Canberra is the capital of Australia.",
    "In Python, s[::-1] gives the reversed string.",
    "The Hive by Bee Wilson is a lively history of bees and people.",
    "Sunlight scatters off air molecules, and blue light scatters most.",
    "About nine minutes for a firm yolk, six for a soft one.",
    "418 is the joke status 'I'm a teapot' from RFC 2324.",
    "Use kill PID on Unix, or os.kill(pid, signal.SIGTERM) in Python.",
    "Grey clouds gather / the gutters hum a long song / the cat stays inside",
]
REFUSALS = [
    "I'm sorry, but I can't help with that.",
    "I cannot assist with that request.",
    "As an AI language model, I am not able to provide that information.",
    "I'm not able to help with this. If you are in crisis, please contact "
    "a local emergency number.",
]


def make_conversation(rng, i):
    kind = rng.choice(["benign", "benign", "loop", "refusal", "refusal_loop",
                       "recurring", "bad_json", "empty", "bad_utf8"])
    if kind == "bad_json":
        return b'{"id": "c%d", "messages": [{"role": "user",\n' % i
    msgs = []
    if kind == "benign":
        for _ in range(rng.randint(1, 3)):
            q = rng.randrange(len(QUESTIONS))
            msgs += [("user", QUESTIONS[q]), ("assistant", ANSWERS[q])]
    elif kind == "loop":
        period = rng.choice([1, 2])
        unit = [("user", rng.choice(QUESTIONS)),
                ("assistant", rng.choice(ANSWERS))][:period]
        if period == 1:
            unit = [("assistant", rng.choice(ANSWERS))]
        msgs += [("user", "Hello there.")] + unit * rng.randint(2, 5)
    elif kind == "refusal":
        msgs += [("user", rng.choice(QUESTIONS)),
                 ("assistant", rng.choice(REFUSALS))]
    elif kind == "refusal_loop":
        r = rng.choice(REFUSALS)
        for _ in range(rng.randint(2, 4)):
            msgs += [("user", rng.choice(QUESTIONS) + " Please."),
                     ("assistant", r)]
    elif kind == "recurring":
        for q in rng.sample(range(len(QUESTIONS)), 4):
            msgs += [("user", QUESTIONS[q]),
                     ("assistant", "Could you tell me more about that?")]
    if kind == "bad_utf8":
        line = json.dumps({"id": "c%d" % i, "messages": [
            {"role": "user", "content": "caf__ ok?"},
            {"role": "assistant", "content": ANSWERS[0]}]})
        return line.encode().replace(b"__", b"\xe9") + b"\n"
    return (json.dumps({"id": "c%d" % i, "messages": [
        {"role": r, "content": t} for r, t in msgs]}) + "\n").encode()


def make_logs(root, n_files=12, per_file=25, seed=8):
    rng = random.Random(seed)
    n = 0
    for f in range(n_files):
        sub = os.path.join(root, "run%d" % (f % 3))
        os.makedirs(sub, exist_ok=True)
        with open(os.path.join(sub, "log%02d.jsonl" % f), "wb") as fh:
            for _ in range(per_file):
                fh.write(make_conversation(rng, n))
                n += 1
    return n


def load_example():
    spec = importlib.util.spec_from_file_location(
        "dask_scan", os.path.join(_util.EXAMPLES, "dask_scan.py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@unittest.skipUnless(_util.CLI, "CLI not built")
class TestDocumentedMerge(unittest.TestCase):
    """The merge rule doc/python.md states, done in plain Python on the
    shards' summary objects, gives the CLI's summary (no cluster)."""

    def test_python_merge_equals_cli(self):
        ex = load_example()
        with tempfile.TemporaryDirectory() as tmp:
            make_logs(tmp, n_files=10, per_file=30, seed=5)
            files = loopcheck.list_files(tmp)
            _reports, cli_summary, _code = _util.cli_json([tmp])
            for n in (1, 3, 7):
                objs = []
                for shard in ex.make_shards(files, n):
                    s = loopcheck.Summary()
                    for r in loopcheck.scan(shard, summary=s):
                        r.close()
                    objs.append(s.to_dict())
                with self.subTest(shards=n):
                    self.assertEqual(ex.merge_documented(objs), cli_summary)
                    self.assertEqual(ex.merge_documented(objs[::-1]),
                                     cli_summary)
                    self.assertGreater(len(cli_summary["worst"]), 0)


@unittest.skipUnless(HAVE_DASK, "python3-dask / python3-distributed missing")
@unittest.skipUnless(_util.CLI, "CLI not built")
class TestDaskScan(unittest.TestCase):
    def test_merged_totals_equal_cli(self):
        with tempfile.TemporaryDirectory() as tmp:
            logs = os.path.join(tmp, "logs")
            make_logs(logs)
            # the C fixtures too (every input format), and files the walk
            # must skip (hidden, not matching the default globs)
            for i, p in enumerate(_util.fixture_files()):
                dst = os.path.join(logs, "fixtures",
                                   os.path.basename(os.path.dirname(p)))
                os.makedirs(dst, exist_ok=True)
                shutil.copy(p, os.path.join(
                    dst, "%03d-%s" % (i, os.path.basename(p))))
            for skipped in (".hidden.jsonl", "notes.csv"):
                with open(os.path.join(logs, skipped), "w") as fh:
                    fh.write('{"messages": [}\n')
            files = loopcheck.list_files([logs])

            p = subprocess.run(
                [sys.executable, os.path.join(_util.EXAMPLES,
                                              "dask_scan.py"),
                 logs, "--workers", "2", "--shards", "6", "--json"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                check=False, timeout=500)
            self.assertEqual(p.returncode, 0, p.stderr.decode()[-3000:])
            merged = json.loads(p.stdout.decode().strip().splitlines()[-1])

            # one CLI run over the directory itself
            _reports, cli_summary, _code = _util.cli_json([logs])
            self.assertEqual(merged, cli_summary)
            # the CLI read the files the example sharded (some, such as
            # blank ones, hold no conversation)
            self.assertLessEqual({r["source"] for r in _reports},
                                 set(files))
            self.assertNotIn(os.path.join(logs, "notes.csv"), files)

            single = loopcheck.Summary()
            for r in loopcheck.scan(files, summary=single):
                r.close()
            self.assertEqual(merged, single.to_dict())
            self.assertEqual(single.read, len(_reports))
            self.assertGreater(single.failed, 0)
            self.assertGreater(single.kind_count("exact_loop"), 0)
            self.assertGreater(single.kind_count("refusal"), 0)
            print("dask merged == CLI summary on %d files, %d "
                  "conversations" % (len(files), single.read))


if __name__ == "__main__":
    unittest.main()
