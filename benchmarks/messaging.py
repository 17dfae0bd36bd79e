"""Messaging throughput and memory: messages per second through ``fan-out`` and
``event-processing``, and peak RSS at 1x and 10x the message count.

Throughput: ``cloudtwin run BLUEPRINT --json FILE -q`` as a subprocess, best of
``--repeat``; messages/s is the results' ``messages.published`` (every copy: a fan-out
publish to 3 queues is 3 copies) over ``wall_s`` (the simulation loop, without start-up).

Memory: each spec runs for its own duration (1x) and for 10x that duration (10x the
messages), each through the intermediate wrapper of ``memory.py`` so the peak RSS is
per run. Three specs: ``event-processing``; ``fan-out`` as shipped, whose analytics
consumer cannot keep up, so its backlog (messages held in the queue) grows with the run
and memory with it; and ``fan-out`` with a consumer that keeps up (analytics as fast as
billing, no concurrency cap), where nothing accumulates. Exits 1 if a spec whose
consumers keep up grows by more than ``--max-ratio`` (default 1.2), 2 if a run failed.

    python benchmarks/messaging.py
    python benchmarks/messaging.py --repeat 1 --scale 5
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from cloudtwin.blueprints import blueprint_path
from memory import measure
from throughput import default_cloudtwin, machine

THROUGHPUT = ("fan-out", "event-processing")


def keeping_up(tmp: Path) -> Path:
    """fan-out with an analytics consumer as fast as billing and no concurrency cap."""
    path = blueprint_path("fan-out")
    assert path is not None
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    comps = doc["components"]
    comps["analyse"]["handler"] = comps["bill"]["handler"]
    comps["analyse"]["event_sources"] = [{"queue": "analytics"}]
    doc["name"] = "fan-out-keeping-up"
    doc.pop("blueprint", None)
    out = tmp / "fan-out-keeping-up.yaml"
    out.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return out


def duration_s(spec: str) -> float:
    import cloudtwin

    d = cloudtwin.load_spec(spec).simulate.duration
    assert d is not None, f"{spec} has no duration"
    return float(d)


def run_json(cmd: list[str], out: Path, timeout: float | None) -> tuple[dict[str, Any], float]:
    out.unlink(missing_ok=True)
    t0 = time.perf_counter()
    proc = subprocess.run([*cmd, "--json", str(out), "--quiet"], capture_output=True, text=True, timeout=timeout)
    process_s = time.perf_counter() - t0
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
        raise RuntimeError(f"exit {proc.returncode}: {' | '.join(tail)}\n  $ {' '.join(cmd)}")
    return json.loads(out.read_text()), process_s


def held(doc: dict[str, Any]) -> int:
    """Messages held at the end: in flight (queued, waiting, running) and in dead-letter queues."""
    m = doc["messages"]
    return int(m["in_flight"]) + int(m["dead_lettered"])


def throughput(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    rows = []
    for bp in THROUGHPUT:
        best: dict[str, Any] | None = None
        for _ in range(args.repeat):
            doc, process_s = run_json([args.cloudtwin, "run", bp], tmp / "t.json", args.timeout)
            m, wall = doc["messages"], float(doc["wall_s"])
            row = {"spec": bp, "simulated_s": doc["simulated_s"], "published": m["published"],
                   "delivered": m["delivered"], "events": doc["events"], "wall_s": wall, "process_s": process_s,
                   "msg_per_s": m["published"] / wall, "delivered_per_s": m["delivered"] / wall,
                   "lost": m["lost"]}
            print(f"  {bp}: {wall:.2f} s, {row['msg_per_s']:,.0f} messages/s", file=sys.stderr, flush=True)
            if best is None or wall < best["wall_s"]:
                best = row
        assert best is not None
        rows.append(best)
    return rows


def memory(args: argparse.Namespace, tmp: Path) -> list[dict[str, Any]]:
    specs = [("event-processing", "event-processing", True), ("fan-out", "fan-out (slow analytics)", False),
             (str(keeping_up(tmp)), "fan-out (consumers keep up)", True)]
    rows = []
    for spec, label, flat in specs:
        base = duration_s(spec)
        row: dict[str, Any] = {"spec": label, "flat_expected": flat, "runs": []}
        for k in (1, args.scale):
            out = tmp / f"m{k}.json"
            cmd = [args.cloudtwin, "run", spec, "--duration", f"{base * k:g}s", "--json", str(out), "--quiet"]
            print("  $ " + " ".join(cmd), file=sys.stderr, flush=True)
            res = measure(cmd, args.timeout)
            if res["returncode"] != 0:
                raise RuntimeError(f"{label} x{k}: " + " | ".join(res["stderr_tail"]))
            doc = json.loads(out.read_text())
            row["runs"].append({"scale": k, "minutes": base * k / 60, "published": doc["messages"]["published"],
                                "held": held(doc), "rss": res["maxrss_bytes"], "wall_s": res["wall_s"]})
        lo, hi = row["runs"]
        row["ratio"] = hi["rss"] / lo["rss"]
        extra_held = hi["held"] - lo["held"]
        row["bytes_per_held"] = (hi["rss"] - lo["rss"]) / extra_held if extra_held > 1000 else None
        rows.append(row)
    return rows


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=3, help="throughput: best of k runs (default 3)")
    p.add_argument("--scale", type=int, default=10, help="memory: the long run's duration factor (default 10)")
    p.add_argument("--max-ratio", type=float, default=1.2, help="memory limit for specs whose consumers keep up")
    p.add_argument("--cloudtwin", default=default_cloudtwin(), help="the cloudtwin executable")
    p.add_argument("--timeout", type=float, default=None, help="per-run timeout, s")
    args = p.parse_args(argv)
    if args.repeat < 1 or args.scale < 2:
        p.error("--repeat must be >= 1 and --scale >= 2")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cloudtwin-messaging-") as name:
        tmp = Path(name)
        try:
            tput = throughput(args, tmp)
            mem = memory(args, tmp)
        except (OSError, RuntimeError, subprocess.TimeoutExpired, ValueError, KeyError) as exc:
            print(f"run failed: {exc}", file=sys.stderr)
            return 2
    print(f"machine: {machine()}\n")
    print(f"Throughput (best of {args.repeat}; messages = published copies, wall = the simulation loop):\n")
    print("| blueprint | simulated min | messages | delivered | lost | wall s (loop) | wall s (process) "
          "| messages/s | delivered/s |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in tput:
        print(f"| `{r['spec']}` | {r['simulated_s'] / 60:.0f} | {r['published']:,} | {r['delivered']:,} | {r['lost']} "
              f"| {r['wall_s']:.2f} | {r['process_s']:.2f} | {r['msg_per_s']:,.0f} | {r['delivered_per_s']:,.0f} |")
    print(f"\nPeak RSS at 1x and {args.scale}x the messages ({args.scale}x the duration):\n")
    print("| spec | run | simulated min | messages | held at the end | peak RSS MiB | wall s |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    failed = False
    for r in mem:
        for run in r["runs"]:
            print(f"| {r['spec']} | {run['scale']}x | {run['minutes']:.0f} | {run['published']:,} | {run['held']:,} "
                  f"| {run['rss'] / 2**20:.1f} | {run['wall_s']:.1f} |")
    print()
    for r in mem:
        note = ""
        if r["flat_expected"]:
            ok = r["ratio"] <= args.max_ratio
            failed |= not ok
            note = f"(limit {args.max_ratio:g}): {'OK' if ok else 'FAIL'}"
        elif r["bytes_per_held"] is not None:
            note = f"(grows with the held backlog: about {r['bytes_per_held']:,.0f} bytes per held message)"
        print(f"{r['spec']}: peak RSS ratio {args.scale}x/1x = {r['ratio']:.3f} {note}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
