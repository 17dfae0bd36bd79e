"""CPU time of a blueprint's run in two source trees, side by side (issue 17).

Each run is a fresh process that builds the simulation and times ``sim.run()`` with
``time.process_time()`` (the general event engine: ``CLOUDTWIN_FAST=0``). The two trees
alternate, and each column is the minimum of ``--runs`` runs: on a shared VM the minimum
moves less than the wall clock. A tree is a folder holding the ``cloudtwin`` package, for
example an older commit's ``src`` (``git archive REV src | tar -x -C /tmp/before``).

    python benchmarks/cpu_ab.py /tmp/before/src src --runs 3 simple-web-app serverless-rest
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

CHILD = """
import sys, time
from cloudtwin import Simulation, load_spec
sim = Simulation(load_spec(sys.argv[1]))
t = time.process_time()
sim.run()
print(time.process_time() - t)
"""


def cpu_seconds(tree: str, spec: str) -> float:
    env = {**os.environ, "PYTHONPATH": tree, "CLOUDTWIN_FAST": "0"}
    out = subprocess.run([sys.executable, "-c", CHILD, spec], capture_output=True, text=True, check=True,
                         timeout=1800, env=env)
    return float(out.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("before", help="the first tree (a folder with the cloudtwin package)")
    ap.add_argument("after", help="the second tree")
    ap.add_argument("specs", nargs="+", help="blueprint names or spec files")
    ap.add_argument("--runs", type=int, default=3, help="runs of each tree, alternating (the minimum is shown)")
    args = ap.parse_args(argv)
    print(f"{'spec':28s} {'before s':>9s} {'after s':>8s} {'after/before':>13s}")
    for spec in args.specs:
        times: dict[str, list[float]] = {args.before: [], args.after: []}
        for _ in range(args.runs):
            for tree in (args.before, args.after):
                times[tree].append(cpu_seconds(tree, spec))
        a, b = min(times[args.before]), min(times[args.after])
        print(f"{spec:28s} {a:9.3f} {b:8.3f} {b / a:13.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
