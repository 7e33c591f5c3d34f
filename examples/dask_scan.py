#!/usr/bin/python3
"""dask_scan.py - run loopcheck over a directory of JSONL logs on a Dask
cluster and merge the per-shard summaries into the totals of one run.

    python3 examples/dask_scan.py LOGDIR [--workers 2] [--shards 8] [--json]

The files under LOGDIR (those `loopcheck check LOGDIR` reads: recursively,
*.jsonl *.ndjson *.json *.txt *.log unless --include is given) are split
into shards; each shard is scanned by a worker process through the Python
binding, which returns its summary as JSON (lc_summary_write). The driver
merges the shard summaries with lc_summary_merge_json. Because a summary
holds counts (not only rates), the merge is exact: the merged object equals
the summary printed by `loopcheck check --format json LOGDIR` (the test
python/tests/test_dask.py checks this; doc/python.md says how counts merge).

With a real cluster, replace LocalCluster by your scheduler's address:
every worker needs libloopcheck.so and the `loopcheck` package.
"""

import argparse
import json
import os
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))


def make_shards(paths, n):
    """Split paths into at most n shards of similar byte size (greedy,
    largest file first). The summary does not depend on the split."""
    shards = [[] for _ in range(max(1, min(n, len(paths))))]
    sizes = [0] * len(shards)
    for p in sorted(paths, key=lambda p: -os.path.getsize(p)):
        i = sizes.index(min(sizes))
        shards[i].append(p)
        sizes[i] += os.path.getsize(p)
    return [sorted(s) for s in shards if s]


def scan_shard(paths, options):
    """Runs on a worker: (worker pid, summary JSON of one shard)."""
    import loopcheck
    summary = loopcheck.Summary(**options)
    for report in loopcheck.scan(paths, summary=summary, **options):
        report.close()
    return os.getpid(), summary.to_json()


def merge_summaries(jsons, options):
    """Driver side: one summary out of the shards' JSON objects."""
    import loopcheck
    total = loopcheck.Summary(**options)
    for js in jsons:
        total.merge(js)              # lc_summary_merge_json
    return total


def merge_documented(objs, worst_max=5):
    """The same merge in plain Python, by the rule doc/python.md states
    for the summary JSON (schema 1): counts add, rates are recomputed
    from the summed counts (printed with 6 significant digits), worst
    lists are concatenated, ordered and cut. Equal to the library's."""
    def rate(n, d):
        return float("%.6g" % (n / d)) if d else 0

    total = {"type": "summary", "schema": 1, "read": 0, "analysed": 0,
             "failed": 0, "with_findings": 0, "findings": 0,
             "kinds": {}, "families": {}, "worst": []}
    for o in objs:
        if o.get("type") != "summary" or o.get("schema") != 1:
            raise ValueError("not a schema-1 summary object")
        for k in ("read", "analysed", "failed", "with_findings",
                  "findings"):
            total[k] += o[k]
        for group in ("kinds", "families"):
            for name, v in o[group].items():
                t = total[group].setdefault(name, {"conversations": 0})
                t["conversations"] += v["conversations"]
        total["worst"] += o["worst"]
    n = total["analysed"]
    total["rate"] = rate(total["with_findings"], n)
    for group in ("kinds", "families"):
        for v in total[group].values():
            v["rate"] = rate(v["conversations"], n)
    total["worst"].sort(key=lambda w: (-w["findings"],
                                       w["source"].encode(), w["line"],
                                       w["conversation"].encode()))
    del total["worst"][worst_max:]
    return total


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("logdir")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--shards", type=int, default=0,
                    help="number of shards (default: 4 per worker)")
    ap.add_argument("--include", action="append",
                    help="glob of files to read (repeatable; default: "
                    "the CLI's *.jsonl *.ndjson *.json *.txt *.log)")
    ap.add_argument("--json", action="store_true",
                    help="print the merged summary JSON object only")
    ap.add_argument("--scheduler", help="address of an existing cluster")
    ap.add_argument("--merge", choices=("library", "python"),
                    default="library",
                    help="merge with lc_summary_merge_json (default) or "
                    "with the documented rule in plain Python")
    args = ap.parse_args(argv)
    if not args.include:
        args.include = ["*.jsonl", "*.ndjson", "*.json", "*.txt", "*.log"]

    # Running from a source checkout: let the driver and the worker
    # processes (which inherit the environment) import the binding.
    pkg = os.path.join(os.path.dirname(HERE), "python")
    if os.path.isdir(os.path.join(pkg, "loopcheck")):
        sys.path.insert(0, pkg)
        os.environ["PYTHONPATH"] = os.pathsep.join(
            [pkg] + [p for p in os.environ.get("PYTHONPATH", "").split(
                os.pathsep) if p])

    from distributed import Client, LocalCluster

    import loopcheck
    # the files `loopcheck check LOGDIR` would read, in its order
    paths = loopcheck.list_files([args.logdir], include=args.include)
    if not paths:
        print("no %s files under %s" % (",".join(args.include),
                                        args.logdir), file=sys.stderr)
        return 2
    shards = make_shards(paths, args.shards or 4 * args.workers)
    options = {}

    with tempfile.TemporaryDirectory(prefix="lc-dask-") as scratch:
        if args.scheduler:
            cluster = None
            client = Client(args.scheduler)
        else:
            cluster = LocalCluster(n_workers=args.workers,
                                   threads_per_worker=1, processes=True,
                                   dashboard_address=None,
                                   local_directory=scratch,
                                   silence_logs=40)
            client = Client(cluster)
        try:
            futures = client.map(scan_shard, shards,
                                 [options] * len(shards), pure=False)
            results = client.gather(futures)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()

    pids = {pid for pid, _js in results}
    if args.merge == "python":
        merged = merge_documented([json.loads(js) for _pid, js in results])
        print(json.dumps(merged, sort_keys=True) if args.json
              else json.dumps(merged, indent=2, sort_keys=True))
        return 0
    total = merge_summaries([js for _pid, js in results], options)
    if args.json:
        print(total.to_json())
    else:
        print("%d files in %d shards on %d worker processes: %d "
              "conversations read, %d analysed, %d failed"
              % (len(paths), len(shards), len(pids), total.read,
                 total.analysed, total.failed))
        print(json.dumps(total.to_dict(), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
