#!/usr/bin/env python3
"""compare.py - before/after speed of two loopcheck binaries, same runs.

On a shared machine one run of a benchmark can be 30% off; two binaries
timed one after the other then differ by the machine's mood as much as by
their code. This script runs both, at -j 1 and -j 2, in turns (round after
round, every configuration once per round), keeps the best wall time of
each, and prints the ratios from that one run:

  bench/compare.py --old /tmp/old/cli/loopcheck --new build-bench/cli/loopcheck \
                   [--corpus bench/out/corpus-s1-100mb.jsonl] [--rounds 6]

Run it as root with `nice -n -20 bench/compare.py ...` to win the cores
from other work. Output: one line per configuration (seconds, MB/s, CPU
seconds of the best run), then j2/j1 for each binary and new/old for each
-j. Python 3 standard library only.
"""

import argparse
import os
import resource
import subprocess
import sys
import time


def run_once(binary, jobs, corpus):
    """(wall seconds, CPU seconds) of one `loopcheck check` run."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run([binary, "check", "-q", "-j", str(jobs),
                        "--fail-on", "none", "--format", "json", corpus],
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode not in (0, 1):
        sys.exit("compare.py: %s -j %d exited %d: %s"
                 % (binary, jobs, p.returncode, p.stderr.decode()[:200]))
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return wall, cpu


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--old", required=True, help="baseline loopcheck binary")
    ap.add_argument("--new", help="candidate loopcheck binary (without it:"
                    " only --old, for its j2/j1 ratio)")
    ap.add_argument("--corpus", default="bench/out/corpus-s1-100mb.jsonl")
    ap.add_argument("--rounds", type=int, default=6)
    a = ap.parse_args()
    if a.rounds < 1:
        ap.error("--rounds must be at least 1")
    mb = os.path.getsize(a.corpus) / 1e6
    cfgs = [("old", a.old, 1), ("old", a.old, 2)]
    if a.new:
        cfgs += [("new", a.new, 1), ("new", a.new, 2)]
    best = {}
    for _ in range(a.rounds):
        for name, binary, jobs in cfgs:
            wall, cpu = run_once(binary, jobs, a.corpus)
            key = (name, jobs)
            if key not in best or wall < best[key][0]:
                best[key] = (wall, cpu)
    print("corpus %s (%.1f MB), best of %d interleaved rounds, load %.2f"
          % (a.corpus, mb, a.rounds, os.getloadavg()[0]))
    for name, binary, jobs in cfgs:
        wall, cpu = best[(name, jobs)]
        print("%s -j %d: %.3f s  %.1f MB/s  cpu %.2f s  (%s)"
              % (name, jobs, wall, mb / wall, cpu, binary))
    for name in ("old", "new") if a.new else ("old",):
        print("%s j2/j1: %.2fx" % (name, best[(name, 1)][0] / best[(name, 2)][0]))
    for jobs in (1, 2) if a.new else ():
        print("-j %d new/old: %.2fx faster"
              % (jobs, best[("old", jobs)][0] / best[("new", jobs)][0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
