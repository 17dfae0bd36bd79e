"""Engine throughput on a whole architecture: events and requests per wall-clock second.

Runs ``cloudtwin run SPEC --json FILE -q`` as a subprocess (default: the
``simple-web-app`` blueprint, Route 53 -> ALB -> multi-AZ ASG, with its AZ
outage) and reads ``events``, ``wall_s`` (the simulation loop, imports and spec
loading excluded) and the workloads' request counts from the results JSON. The
whole-process wall time is reported too. ``--repeat k`` keeps the fastest run.

    python benchmarks/throughput.py
    python benchmarks/throughput.py --spec benchmarks/specs/mm4.yaml --requests 1000000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from run_mmc import default_cloudtwin  # noqa: E402  (benchmarks/ is on sys.path when run as a script)
from run_mmc import machine_description as machine  # noqa: E402


def run_once(args: argparse.Namespace, out: Path) -> dict[str, Any]:
    cmd = [args.cloudtwin, "run", args.spec, "--json", str(out), "--quiet"]
    for flag in ("duration", "requests", "seed", "max_events"):
        value = getattr(args, flag)
        if value is not None:
            cmd += [f"--{flag.replace('_', '-')}", str(value)]
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"exit {proc.returncode}: {' | '.join(tail)}\n  $ {' '.join(cmd)}")
    doc = json.loads(out.read_text())
    requests = sum(int(w["requests"]) for w in doc["workloads"].values())
    wall = float(doc["wall_s"])
    return {
        "spec": doc["spec"], "seed": doc["seed"], "simulated_s": doc["simulated_s"],
        "events": int(doc["events"]), "requests": requests, "wall_s": wall, "process_s": process_s,
        "events_per_s": doc["events"] / wall if wall > 0 else math.inf,
        "requests_per_s": requests / wall if wall > 0 else math.inf,
        "faults": [e["detail"] for e in doc.get("timeline", []) if e.get("kind") == "fault"],
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--spec", default="simple-web-app", help="spec file or blueprint name (default: simple-web-app)")
    p.add_argument("--duration", help="override the spec's simulated duration, e.g. 10m")
    p.add_argument("--requests", type=int, help="stop after N completed requests instead")
    p.add_argument("--seed", type=int)
    p.add_argument("--max-events", dest="max_events", type=int)
    p.add_argument("--repeat", type=int, default=1, help="best of k runs (default 1)")
    p.add_argument("--cloudtwin", default=default_cloudtwin(), help="the cloudtwin executable")
    p.add_argument("--timeout", type=float, default=None, help="per-run timeout, s")
    p.add_argument("--json-out", help="also write the best run as JSON here")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    best: dict[str, Any] | None = None
    with tempfile.TemporaryDirectory(prefix="cloudtwin-throughput-") as tmp:
        for k in range(args.repeat):
            try:
                row = run_once(args, Path(tmp) / "results.json")
            except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
                print(f"run failed: {exc}", file=sys.stderr)
                return 2
            print(f"  run {k + 1}: {row['wall_s']:.2f} s, {row['events_per_s']:,.0f} events/s", file=sys.stderr)
            if best is None or row["wall_s"] < best["wall_s"]:
                best = row
    assert best is not None
    print(f"machine: {machine()}")
    print(f"spec: {best['spec']} seed {best['seed']}, {best['simulated_s']:,.0f} simulated s, "
          f"best of {args.repeat}; faults: {'; '.join(best['faults']) or 'none'}\n")
    print("| events | requests | wall s (loop) | wall s (process) | events/s | requests/s |")
    print("|---:|---:|---:|---:|---:|---:|")
    print(f"| {best['events']:,} | {best['requests']:,} | {best['wall_s']:.2f} | {best['process_s']:.2f} "
          f"| {best['events_per_s']:,.0f} | {best['requests_per_s']:,.0f} |")
    print("\nwall s (loop) is the results' wall_s: the simulation run, without interpreter start-up, "
          "imports and spec loading; events/s and requests/s use it.")
    if args.json_out:
        Path(args.json_out).write_text(json.dumps({"machine": machine(), "repeat": args.repeat, **best}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
