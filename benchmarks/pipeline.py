"""Pipeline throughput: records per second through ``big-data-pipeline`` and its peak RSS.

Each run is ``cloudtwin run big-data-pipeline --json FILE --quiet`` in a subprocess,
through the wrapper of ``memory.py`` (peak RSS of that run alone); best of ``--repeat``
by loop wall time. Records are the results' ``messages.published``: one per record the
Kinesis stream accepted (its only consumer is the Firehose delivery stream), each
followed through the Lambda transform and the buffers into an S3 object. Records/s is
that over ``wall_s`` (the simulation loop, without start-up). ``--scale k`` also runs the
blueprint for k x its duration to show that memory stays flat as records grow.
Exits 2 if a run failed, 1 if a record was lost or memory grew more than 1.2x.

    python benchmarks/pipeline.py
    python benchmarks/pipeline.py --repeat 1 --scale 3
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from memory import measure
from throughput import default_cloudtwin, machine

SPEC = "big-data-pipeline"
MAX_RSS_RATIO = 1.2  # memory must stay flat as records grow


def one(args: argparse.Namespace, out: Path, scale: int) -> dict[str, Any]:
    cmd = [args.cloudtwin, "run", SPEC, "--json", str(out), "--quiet"]
    if scale > 1:
        import cloudtwin

        base = cloudtwin.load_spec(SPEC).simulate.duration or 600.0
        cmd += ["--duration", f"{base * scale:g}s"]
    res = measure(cmd, args.timeout)
    if res["returncode"] != 0:
        raise RuntimeError(" | ".join(res["stderr_tail"]))
    doc = json.loads(out.read_text())
    m, wall = doc["messages"], float(doc["wall_s"])
    return {"scale": scale, "simulated_s": doc["simulated_s"], "records": m["published"],
            "delivered": m["delivered"], "lost": m["lost"], "events": doc["events"], "wall_s": wall,
            "process_s": res["wall_s"], "rss": res["maxrss_bytes"], "per_s": m["published"] / wall}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--repeat", type=int, default=2, help="best of k runs (default 2)")
    p.add_argument("--scale", type=int, default=0, help="also run k x the duration (default: no)")
    p.add_argument("--cloudtwin", default=default_cloudtwin(), help="the cloudtwin executable")
    p.add_argument("--timeout", type=float, default=None, help="per-run timeout, s")
    args = p.parse_args(argv)
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="cloudtwin-pipeline-") as name:
        out = Path(name) / "r.json"
        try:
            best = None
            for _ in range(args.repeat):
                r = one(args, out, 1)
                print(f"  {SPEC}: {r['wall_s']:.2f} s, {r['per_s']:,.0f} records/s", file=sys.stderr, flush=True)
                if best is None or r["wall_s"] < best["wall_s"]:
                    best = r
            assert best is not None
            rows.append(best)
            if args.scale > 1:
                rows.append(one(args, out, args.scale))
        except (OSError, RuntimeError, ValueError, KeyError) as exc:
            print(f"run failed: {exc}", file=sys.stderr)
            return 2
    print(f"machine: {machine()}\n")
    print(f"Pipeline throughput (best of {args.repeat}; records = accepted by Kinesis and followed to S3):\n")
    print("| blueprint | run | simulated min | records | delivered | lost | events | wall s (loop) "
          "| wall s (process) | records/s | peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(f"| `{SPEC}` | {r['scale']}x | {r['simulated_s'] / 60:.0f} | {r['records']:,} | {r['delivered']:,} "
              f"| {r['lost']} | {r['events']:,} | {r['wall_s']:.2f} | {r['process_s']:.2f} | {r['per_s']:,.0f} "
              f"| {r['rss'] / 2**20:.1f} |")
    grew = False
    if len(rows) == 2:
        ratio = rows[1]["rss"] / rows[0]["rss"]
        grew = ratio > MAX_RSS_RATIO
        print(f"\npeak RSS ratio {args.scale}x/1x = {ratio:.3f}" + (" (NOT flat)" if grew else ""))
    return 1 if grew or any(r["lost"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
