"""Peak-RSS check: cloudtwin memory must not grow with the number of requests.

Runs ``cloudtwin run SPEC --requests N`` for each N (default 1M and 10M). Each run
goes through a fresh intermediate ``python -c`` wrapper that starts cloudtwin and
reports its own ``getrusage(RUSAGE_CHILDREN).ru_maxrss``, so the peak is per run
(the wrapper has exactly one child). Prints a table and the ratio largest/smallest;
exits 1 if that ratio exceeds ``--max-ratio`` (default 1.2), 2 if a run failed.

    python benchmarks/memory.py
    python benchmarks/memory.py --requests 1000000 10000000 --spec benchmarks/specs/mm4.yaml
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
DEFAULT_SPEC = HERE / "specs" / "mm4.yaml"

# Runs in the intermediate process: argv[1:] is the command to measure.
WRAPPER = r"""
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
p = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
wall = time.perf_counter() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
scale = 1 if sys.platform == "darwin" else 1024  # ru_maxrss: bytes on macOS, KiB elsewhere
print(json.dumps({
    "returncode": p.returncode,
    "maxrss_bytes": ru.ru_maxrss * scale,
    "wall_s": wall,
    "stderr_tail": p.stderr.decode(errors="replace").strip().splitlines()[-5:],
}))
"""


def measure(cmd: list[str], timeout: float | None) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, "-c", WRAPPER, *cmd], capture_output=True, text=True, timeout=timeout
    )
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["?"])[-1]
        raise RuntimeError(f"could not run {cmd[0]!r}: {last}")
    return dict(json.loads(proc.stdout.strip().splitlines()[-1]))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--requests",
        type=int,
        nargs="+",
        default=[1_000_000, 10_000_000],
        help="request counts to run (default: 1000000 10000000)",
    )
    p.add_argument("--spec", default=str(DEFAULT_SPEC))
    p.add_argument("--seed", type=int, default=1)
    p.add_argument(
        "--cloudtwin",
        default=str(Path(sys.executable).with_name("cloudtwin")),
        help="path to the cloudtwin executable (default: next to sys.executable)",
    )
    p.add_argument("--max-ratio", type=float, default=1.2)
    p.add_argument("--timeout", type=float, default=None, help="per-run timeout, s")
    p.add_argument(
        "--extra",
        nargs=argparse.REMAINDER,
        default=[],
        help="extra arguments appended to every cloudtwin command (must come last)",
    )
    args = p.parse_args(argv)
    if len(args.requests) < 2 or min(args.requests) < 1:
        p.error("--requests needs at least two positive counts")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    rows = []
    for n in sorted(args.requests):
        cmd = [args.cloudtwin, "run", args.spec, "--requests", str(n), "--seed", str(args.seed)]
        cmd += args.extra
        print("  $ " + " ".join(cmd), file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            res = measure(cmd, args.timeout)
        except (OSError, RuntimeError, subprocess.TimeoutExpired) as exc:
            res = {"returncode": -1, "stderr_tail": [f"{type(exc).__name__}: {exc}"]}
        res["requests"] = n
        res.setdefault("wall_s", time.perf_counter() - t0)
        rows.append(res)

    print("| requests | peak RSS MiB | wall s | status |")
    print("|---:|---:|---:|---|")
    for r in rows:
        ok = r["returncode"] == 0
        rss = f"{r['maxrss_bytes'] / 2**20:.1f}" if ok else "n/a"
        status = "ok" if ok else f"FAILED ({r['returncode']}): " + " | ".join(r["stderr_tail"])
        print(f"| {r['requests']:,} | {rss} | {r['wall_s']:.1f} | {status} |")
    if any(r["returncode"] != 0 for r in rows):
        return 2
    lo, hi = rows[0], rows[-1]
    ratio = hi["maxrss_bytes"] / lo["maxrss_bytes"]
    verdict = "OK" if ratio <= args.max_ratio else "FAIL"
    print(
        f"\npeak RSS ratio {hi['requests']:,}/{lo['requests']:,} = {ratio:.3f} "
        f"(limit {args.max_ratio:g}): {verdict}"
    )
    return 0 if ratio <= args.max_ratio else 1


if __name__ == "__main__":
    sys.exit(main())
