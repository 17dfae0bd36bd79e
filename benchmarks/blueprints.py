"""Every blueprint's engine speed and peak memory, beside M/M/4's, in one run (issue 17).

Each blueprint (and ``benchmarks/specs/mm4.yaml`` at 1M requests) runs in its own process,
which reports its events, the simulation loop's wall time (``wall_s``: imports and spec
loading excluded) and its own peak RSS. The table gives events/s and its ratio to M/M/4's;
``--min-ratio R`` exits 1 when a blueprint of at least 100,000 events (shorter runs are
too short to time) runs below R x M/M/4's events/s, so a regression shows in ``make bench``.
It measures the general event engine: every run has ``CLOUDTWIN_FAST=0``, so M/M/4 does not
take the one-station fast path (:mod:`cloudtwin.fastpath`, timed by ``run_mmc.py``).

The M/M/4 reference is the general event engine, ``Simulation(arch, requests=...)`` as every
blueprint runs: should a single-station fast path be dispatched for that shape, the reference
must be measured with it disabled, or the ratios would compare two different engines.

    python benchmarks/blueprints.py
    python benchmarks/blueprints.py --min-ratio 0.5 --only serverless-rest simple-web-app
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
MIN_TIMED_EVENTS = 100_000  # a shorter run's loop time is mostly noise

CHILD = """
import json, resource, sys
from cloudtwin import Simulation, load_spec
arch = load_spec(sys.argv[1])
sim = Simulation(arch) if len(sys.argv) < 3 else Simulation(arch, requests=int(sys.argv[2]))
res = sim.run()
rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
print(json.dumps({"events": res["events"], "wall_s": res["wall_s"], "rss_mib": rss}))
"""


def measure(spec: str, requests: int | None = None) -> dict[str, Any]:
    cmd = [sys.executable, "-c", CHILD, spec] + ([str(requests)] if requests else [])
    env = {**os.environ, "CLOUDTWIN_FAST": "0"}  # the event engine, M/M/4 included
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=1800, env=env)
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    data["events_per_s"] = data["events"] / max(data["wall_s"], 1e-9)
    return data


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these blueprints only")
    ap.add_argument("--min-ratio", type=float, default=0.0, help="exit 1 below this x M/M/4's events/s")
    ap.add_argument("--mm4-requests", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    from cloudtwin.blueprints import names

    base = measure(str(HERE / "specs" / "mm4.yaml"), args.mm4_requests)
    print(f"{'spec':28} {'events':>12} {'loop s':>8} {'events/s':>10} {'x M/M/4':>8} {'peak MiB':>9}")
    print(f"{'M/M/4 (' + format(args.mm4_requests, ',') + ' requests)':28} {base['events']:>12,} "
          f"{base['wall_s']:>8.2f} {base['events_per_s']:>10,.0f} {1.0:>8.2f} {base['rss_mib']:>9.0f}")
    slow = []
    for name in args.only or names():
        r = measure(name)
        ratio = r["events_per_s"] / base["events_per_s"]
        print(f"{name:28} {r['events']:>12,} {r['wall_s']:>8.2f} {r['events_per_s']:>10,.0f} {ratio:>8.2f} "
              f"{r['rss_mib']:>9.0f}")
        if ratio < args.min_ratio and r["events"] >= MIN_TIMED_EVENTS:
            slow.append(name)
    if slow:
        print(f"below {args.min_ratio:g} x M/M/4's events/s: {', '.join(slow)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
