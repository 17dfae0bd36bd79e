"""The fluid engine at scale: one simulated day of ``simple-web-app`` at 1k, 10k and 100k requests/s.

The blueprint's rate (200/s) and its group's capacity (min 2, desired 4, max 12) are
scaled by ``rate / 200`` so utilisation stays where the blueprint has it; the load
follows a diurnal profile (0.25 to 1 times the rate, peak at 14:00), so every step is
1 s and target tracking works all day; the AZ outage stays (minute 10, 15 minutes).
Each rate runs in its own process (``cloudtwin run --engine fluid``) and reports
wall time and peak RSS; the script exits 1 if the 100k/s day takes longer than
``--max-wall`` (60 s) or peak RSS grows more than ``--max-ratio`` (1.2) from the
smallest to the largest rate.

    python benchmarks/fluid.py
    python benchmarks/fluid.py --rates 1000 100000 --max-wall 60
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
BLUEPRINT = HERE.parent / "src" / "cloudtwin" / "blueprints" / "simple-web-app.yaml"

WRAPPER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
scale = 1 if sys.platform == "darwin" else 1024
print(json.dumps({"returncode": p.returncode, "maxrss_bytes": ru.ru_maxrss * scale, "wall_s": wall,
                  "stdout": p.stdout.decode(), "stderr": p.stderr.decode(errors="replace")[-400:]}))
"""


def day_spec(rate: int) -> dict[str, object]:
    spec = yaml.safe_load(BLUEPRINT.read_text())
    k = rate / 200.0
    spec["name"] = f"simple-web-app-{rate}"
    cap = spec["components"]["web"]["capacity"]
    spec["components"]["web"]["capacity"] = {key: max(1, round(v * k)) for key, v in cap.items()}
    spec["components"]["web"]["purchase"] = {"on_demand": None, "reserved": round(2 * k), "spot": 0}
    spec["workloads"]["users"]["rate"] = f"{rate}/s"
    spec["workloads"]["users"]["profile"] = {"type": "diurnal", "low": 0.25, "high": 1.0}
    spec["simulate"] = {"duration": "1d", "seed": 1}
    return spec


def measure(rate: int, tmp: Path) -> dict[str, object]:
    path = tmp / f"day-{rate}.yaml"
    path.write_text(yaml.safe_dump(day_spec(rate)))
    cmd = [sys.executable, "-m", "cloudtwin", "run", str(path), "--engine", "fluid", "--format", "json"]
    out = subprocess.run([sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    if r["returncode"] != 0:
        raise SystemExit(f"rate {rate}: exit {r['returncode']}: {r['stderr']}")
    res = json.loads(r["stdout"])
    w = res["workloads"]["users"]
    return {"rate": rate, "wall_s": r["wall_s"], "engine_s": res["wall_s"], "steps": res["steps"],
            "rss_mb": r["maxrss_bytes"] / 2**20, "requests": w["requests"], "availability": w["availability"],
            "p50_ms": w["latency_ms"]["p50"], "p99_ms": w["latency_ms"]["p99"],
            "instances_max": res["components"]["web"]["instances"]["max"]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rates", type=int, nargs="+", default=[1000, 10_000, 100_000])
    ap.add_argument("--max-wall", type=float, default=60.0)
    ap.add_argument("--max-ratio", type=float, default=1.2)
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as d:
        for rate in args.rates:
            rows.append(measure(rate, Path(d)))
    print(f"{'rate/s':>8} {'wall s':>7} {'engine s':>8} {'steps':>6} {'RSS MB':>7} {'requests':>14} "
          f"{'avail':>8} {'p50 ms':>7} {'p99 ms':>7} {'inst max':>8}")
    for r in rows:
        print(f"{r['rate']:>8} {r['wall_s']:>7.1f} {r['engine_s']:>8.1f} {r['steps']:>6} {r['rss_mb']:>7.0f} "
              f"{r['requests']:>14,} {r['availability']:>8.5f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} "
              f"{r['instances_max']:>8}")
    ratio = max(float(r["rss_mb"]) for r in rows) / min(float(r["rss_mb"]) for r in rows)
    top = max(rows, key=lambda r: int(r["rate"]))
    print(f"peak RSS ratio largest/smallest: {ratio:.2f} (max {args.max_ratio}); "
          f"{top['rate']}/s day: {top['wall_s']:.1f} s wall (max {args.max_wall:g})")
    return 1 if ratio > args.max_ratio or float(top["wall_s"]) > args.max_wall else 0


if __name__ == "__main__":
    sys.exit(main())
