"""tap.py - TAP output for the CLI test scripts (run.py, parts.py,
streaming.py, docs.py, inputerrors.py): a plan, then one line per case,
"ok N - NAME" or "not ok N - NAME" followed by its problems as "# ..."
lines (each line of a multi-line problem prefixed), as meson's TAP
protocol reads them.
"""

import sys


def report(n, results):
    """Print the plan for n cases and one result per (name, problems)
    pair of the iterable results (problems: a list of strings, empty when
    the case passed), as each arrives. Returns the exit status: 1 if any
    case failed, else 0."""
    print("1..%d" % n)
    sys.stdout.flush()
    failed = 0
    for i, (name, problems) in enumerate(results, 1):
        if problems:
            failed += 1
            print("not ok %d - %s" % (i, name))
            for p in problems:
                for line in str(p).rstrip("\n").split("\n"):
                    print("# " + line)
        else:
            print("ok %d - %s" % (i, name))
        sys.stdout.flush()
    return 1 if failed else 0
