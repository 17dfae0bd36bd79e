"""The compiled service layer (``make fast``), measured beside the interpreted one (issue 17).

    python benchmarks/compiled_layer.py                          # every blueprint
    python benchmarks/compiled_layer.py --only fan-out web-app-cache
    python benchmarks/compiled_layer.py --repeat 3                # 3 rounds; the fastest run of each counts
    python benchmarks/compiled_layer.py --min-events 1000000      # each blueprint run to >= 1M events, as M/M/4

It builds the layer (``tools/build_fast.py --layer``) unless it is built and current, then
runs M/M/4 (1M requests) and each blueprint twice from the same source tree, each run in its
own process on the general event engine (``CLOUDTWIN_FAST=0``): interpreted
(``CLOUDTWIN_COMPILED=0``) and compiled, ``--repeat`` times in rounds over every spec (the
machine's speed drifts for minutes at a time; a slow spell then costs one run of each spec,
not all of one) and the fastest run of each counts, M/M/4's too. A row
gives events/s each way, each one's ratio to its own M/M/4, the speed-up, and whether the two
results are identical (a digest of the whole results but ``wall_s``). The last two lines list
the blueprints under half of M/M/4's events/s.

``--min-events N`` stretches each blueprint's run by a whole factor (its duration, or its
request count) to at least N events, after a pilot run at its own length. M/M/4's 1M requests
are 2M events; a blueprint's default run is often 50k events in 0.1 s, where the start of a
run and the VM's noise weigh more than the engine. Faults stay at their times.

It exits 1 if a blueprint gave different results compiled: compiling must not move a number.
A blueprint that fails compiled is listed with its error.

Not in ``make bench``: the build takes about 5 minutes on 2 cores. Needs the dev extras
(mypyc) and a C compiler.
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
ROOT = HERE.parent

CHILD = """
import hashlib, json, math, sys
from cloudtwin import Simulation, load_spec
arch = load_spec(sys.argv[1])
requests, min_events = int(sys.argv[2]), int(sys.argv[3])
sim = Simulation(arch, requests=requests) if requests else Simulation(arch)
if min_events:
    # a pilot run at the spec's own length (it also warms the process up), then one stretched
    # by a whole factor to at least min_events: the same stop rule, duration or requests, longer
    events = sim.run().data["events"]
    k = max(1, math.ceil(min_events / max(events, 1)))
    if sim.horizon is not None:
        sim = Simulation(arch, duration=sim.horizon * k, max_events=10**10)
    else:
        sim = Simulation(arch, requests=(requests or arch.simulate.requests) * k, max_events=10**10)
res = json.loads(sim.run().to_json())
wall = res.pop("wall_s")
digest = hashlib.sha256(json.dumps(res, sort_keys=True).encode()).hexdigest()[:16]
print(json.dumps({"events": res["events"], "wall_s": wall, "digest": digest}))
"""


def ensure_layer() -> None:
    """Build the layer unless it is built and current (a child process: this one has not
    imported cloudtwin, and the state is decided once per process)."""
    check = "import cloudtwin.compiled as c; print(c.state())"
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    env.pop("CLOUDTWIN_COMPILED", None)
    state = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, env=env).stdout.strip()
    if state != "active":
        print(f"compiled layer: {state}; building it", flush=True)
        subprocess.run([sys.executable, str(ROOT / "tools" / "build_fast.py"), "--layer"], check=True)


def measure(layer: bool, spec: str, requests: int | None = None, min_events: int = 0) -> dict[str, Any]:
    """One run of ``spec``, compiled or not: events, wall_s, digest; or error. With
    ``min_events``, the run measured is the spec stretched to at least that many events."""
    cmd = [sys.executable, "-c", CHILD, spec, str(requests or 0), str(min_events)]
    env = {**os.environ, "CLOUDTWIN_FAST": "0", "PYTHONPATH": str(ROOT / "src"),
           "CLOUDTWIN_COMPILED": "1" if layer else "0"}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env, cwd=ROOT)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["exit status " + str(out.returncode)])[-1]
        return {"error": last}
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    data["events_per_s"] = data["events"] / max(data["wall_s"], 1e-9)
    return data


def pick(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The fastest of a spec's runs (the machine's noise only slows a run down); an error, or
    results that differ between the runs, end it."""
    for data in runs:
        if "error" in data:
            return data
    if len({r["digest"] for r in runs}) > 1:
        return {"error": "results differ between repeated runs"}
    return max(runs, key=lambda r: float(r["events_per_s"]))


def row(name: str, a: dict[str, Any], b: dict[str, Any], base_a: float, base_b: float) -> str:
    """A table row: interpreted (a) and compiled (b) events/s, ratios to M/M/4, speed-up, same?"""
    if "error" in a:
        return f"{name:26} interpreted run failed: {a['error']}"
    head = f"{name:26} {a['events']:>10,} {a['events_per_s']:>10,.0f} {a['events_per_s'] / base_a:>6.2f}"
    if "error" in b:
        return f"{head}   compiled run failed: {b['error']}"
    same = "yes" if a["digest"] == b["digest"] else "NO"
    return (f"{head} {b['events_per_s']:>10,.0f} {b['events_per_s'] / base_b:>6.2f} "
            f"{b['events_per_s'] / a['events_per_s']:>7.2f} {same:>5}")


def below_half(runs: list[tuple[str, dict[str, Any], dict[str, Any]]], compiled: bool, base: float) -> list[str]:
    """``name ratio`` for each run (interpreted or compiled) under half of ``base`` events/s."""
    out = []
    for name, a, b in runs:
        r = b if compiled else a
        if "events_per_s" in r and r["events_per_s"] < 0.5 * base:
            out.append(f"{name} {r['events_per_s'] / base:.2f}")
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these blueprints only")
    ap.add_argument("--mm4-requests", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=1, help="rounds of runs, the fastest of each counts (default 1)")
    ap.add_argument("--min-events", type=int, default=0,
                    help="stretch each blueprint's run (its duration or request count, by a whole factor) "
                         "to at least this many events; 0 (default): as the spec says")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from cloudtwin.blueprints import names

    ensure_layer()
    mm4 = str(HERE / "specs" / "mm4.yaml")
    specs = [("M/M/4", mm4, args.mm4_requests)] + [(n, n, None) for n in args.only or names()]
    # --repeat rounds over every spec, not repeats in a row: this VM's speed drifts (+-15 %, for
    # minutes at a time), and a slow spell then costs one run of each spec rather than all of one
    got: dict[tuple[str, bool], list[dict[str, Any]]] = {}
    for rnd in range(args.repeat):
        for name, spec, requests in specs:
            for layer in (False, True):
                stretch = 0 if name == "M/M/4" else args.min_events
                got.setdefault((name, layer), []).append(measure(layer, spec, requests, stretch))
        print(f"round {rnd + 1} of {args.repeat} done", file=sys.stderr, flush=True)
    ba, bb = pick(got["M/M/4", False]), pick(got["M/M/4", True])
    runs = [(name, pick(got[name, False]), pick(got[name, True])) for name, _, _ in specs[1:]]
    print(f"{'':26} {'':>10} {'interpreted':>17} {'compiled':>17}")
    print(f"{'spec':26} {'events':>10} {'events/s':>10} {'xM/M/4':>6} {'events/s':>10} {'xM/M/4':>6} "
          f"{'speedup':>7} {'same':>5}")
    print(row("M/M/4", ba, bb, ba["events_per_s"], bb["events_per_s"]))
    differ = [] if ba.get("digest") == bb.get("digest") else ["M/M/4"]
    for name, a, b in runs:
        print(row(name, a, b, ba["events_per_s"], bb["events_per_s"]))
        if "digest" in a and "digest" in b and a["digest"] != b["digest"]:
            differ.append(name)
    for label, compiled, base in (("interpreted", False, ba), ("compiled", True, bb)):
        low = below_half(runs, compiled, float(base["events_per_s"]))
        print(f"{label}: {len(runs) - len(low)} of {len(runs)} at 0.5x M/M/4 or above; below: "
              + (", ".join(low) or "none"))
    if differ:
        print("results differ between the trees: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
