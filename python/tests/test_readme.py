"""test_readme.py - the Monitor snippet in doc/python.md runs and stops a
looping chat early."""

import os
import random
import re
import unittest

import _util


def snippet():
    with open(os.path.join(_util.ROOT, "doc", "python.md"),
              encoding="utf-8") as fh:
        text = fh.read()
    section = text.split("## Stop a chat loop early", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


class TestReadme(unittest.TestCase):
    def test_monitor_snippet_stops_loop(self):
        code = snippet()
        self.assertLessEqual(len(code.strip().splitlines()), 12)
        ns = {
            "first_prompt": "Can you book me a table?",
            "generate": lambda h: "I can help with that. What city?",
            "simulated_user": lambda h: "Can you book me a table?",
        }
        exec(compile(code, "doc/python.md", "exec"), ns)  # noqa: S102
        self.assertEqual(len(ns["history"]), 6)

    def test_snippet_runs_to_the_end_without_a_loop(self):
        rng = random.Random(8)
        words = ["bee", "hive", "honey", "flower", "queen", "drone", "wax",
                 "pollen", "dance", "summer", "nectar", "garden", "swarm",
                 "colony", "forage", "meadow", "clover", "lavender",
                 "worker", "comb", "sun", "river", "stone", "wind"]

        def say(_history):
            return " ".join(rng.sample(words, 8)).capitalize() + "."

        ns = {"first_prompt": "Tell me about bees.", "generate": say,
              "simulated_user": say}
        exec(compile(snippet(), "doc/python.md", "exec"), ns)  # noqa: S102
        self.assertEqual(len(ns["history"]), 41)   # ran to the end


if __name__ == "__main__":
    unittest.main()
