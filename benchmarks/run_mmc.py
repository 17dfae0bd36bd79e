"""Side-by-side M/M/c benchmark: cloudtwin vs SimPy vs Ciw vs a bare heapq loop.

Every engine runs as its own subprocess and is timed whole-process (wall clock of
the entire ``python ...`` / ``cloudtwin ...`` process, imports included) with
``time.perf_counter`` around ``subprocess.run``. ``--repeat k`` keeps the best of k.

    python benchmarks/run_mmc.py --customers 1000000 --repeat 3 --min-ratio 8
    python benchmarks/run_mmc.py --customers 200000 --skip-cloudtwin

Two cloudtwin rows: ``cloudtwin`` as a user runs it (this spec takes the one-station fast
path, :mod:`cloudtwin.fastpath`) and ``cloudtwin-event``, the same command with
``CLOUDTWIN_FAST=0``: the general event engine. ``--min-ratio R`` exits 1 when cloudtwin's
speed over SimPy's (customers/s over customers/s, whole process, this run) is below R.

cloudtwin is invoked as ``cloudtwin run <spec.yaml> --requests N --seed S --json <tmp>``;
its mean latency is read from the results at ``workloads.<name>.latency_ms.mean`` (ms).
For the default parameters (c=4, rho=0.9, s=10 ms) the spec is ``specs/mm4.yaml``;
for other parameters an equivalent spec is generated into a temp directory.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cloudtwin.theory import mmc_mean_response

HERE = Path(__file__).resolve().parent

BASELINES = ("simpy", "ciw", "heapq")
CLOUDTWINS = ("cloudtwin", "cloudtwin-event")  # the second with CLOUDTWIN_FAST=0: the event engine
DEFAULT_SPEC = HERE / "specs" / "mm4.yaml"
DEFAULTS = {"servers": 4, "rho": 0.9, "service": 0.01}

SPEC_TEMPLATE = """\
name: mm{servers}
components:
  app:
    type: ec2
    instance_type: m5.xlarge
    workers: {servers}
    handler:
      - cpu: exp({service_ms:g}ms)
workloads:
  users:
    entry: app
    rate: {rate:g}/s
simulate:
  requests: {requests}
  seed: {seed}
"""

def default_cloudtwin() -> str:
    return str(Path(sys.executable).with_name("cloudtwin"))


def machine_description() -> str:
    cpu = platform.processor()
    if not cpu or cpu in ("x86_64", "aarch64", "arm", "i386"):
        try:
            for line in Path("/proc/cpuinfo").read_text().splitlines():
                if line.lower().startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
        except OSError:
            pass
    return (
        f"{cpu or platform.machine()} | {os.cpu_count()} CPUs | {platform.platform()} | "
        f"Python {platform.python_version()} ({platform.python_implementation()})"
    )


def _dig(doc: Any, path: str) -> Any:
    for key in path.split("."):
        if not isinstance(doc, dict) or key not in doc:
            return None
        doc = doc[key]
    return doc


def _number(x: Any) -> float | None:
    if isinstance(x, bool) or not isinstance(x, int | float):
        return None
    return float(x)


def cloudtwin_mean_latency(doc: Any, key: str | None, workload: str | None = None) -> float | None:
    """Mean latency in seconds from cloudtwin's results JSON.

    The contract puts it at ``workloads.<name>.latency_ms.mean`` (milliseconds); ``workload``
    picks the name (default: the only workload). ``key`` (``dotted.path[:ms|:s]``) overrides.
    """
    if key:
        path, _, unit = key.partition(":")
        v = _number(_dig(doc, path))
        return None if v is None else v * (1e-3 if unit == "ms" else 1.0)
    workloads = doc.get("workloads") if isinstance(doc, dict) else None
    if not isinstance(workloads, dict) or not workloads:
        return None
    if workload is None:
        if len(workloads) != 1:
            raise ValueError(f"several workloads {sorted(workloads)}: pick one with --workload")
        workload = next(iter(workloads))
    v = _number(_dig(workloads, f"{workload}.latency_ms.mean"))
    return None if v is None else v * 1e-3


def last_json_line(stdout: str) -> dict[str, Any]:
    for line in reversed(stdout.strip().splitlines()):
        line = line.strip()
        if line.startswith("{"):
            return json.loads(line)
    raise ValueError("no JSON line on stdout")


def timed(cmd: list[str], timeout: float | None,
          env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    return time.perf_counter() - t0, proc


def spec_for(args: argparse.Namespace, tmpdir: Path) -> Path:
    if args.spec:
        return Path(args.spec)
    if all(math.isclose(getattr(args, k), v) for k, v in DEFAULTS.items()):
        return DEFAULT_SPEC
    lam = args.rho * args.servers / args.service
    path = tmpdir / f"mm{args.servers}.yaml"
    path.write_text(
        SPEC_TEMPLATE.format(
            servers=args.servers,
            service_ms=args.service * 1e3,
            rate=lam,
            requests=args.customers,
            seed=args.seed,
        )
    )
    return path


def run_engine(engine: str, args: argparse.Namespace, tmpdir: Path) -> dict[str, Any]:
    """Best-of-``repeat`` whole-process run of one engine. Returns a result row."""
    json_out = tmpdir / f"{engine}.json"
    env = None
    if engine in CLOUDTWINS:
        env = {**os.environ, "CLOUDTWIN_FAST": "0" if engine == "cloudtwin-event" else "1"}
        cmd = [
            args.cloudtwin,
            "run",
            str(spec_for(args, tmpdir)),
            "--requests",
            str(args.customers),
            "--seed",
            str(args.seed),
            "--json",
            str(json_out),
        ]
    else:
        cmd = [
            sys.executable,
            str(HERE / "baselines" / f"mmc_{engine}.py"),
            "--servers",
            str(args.servers),
            "--rho",
            repr(args.rho),
            "--service",
            repr(args.service),
            "--customers",
            str(args.customers),
            "--seed",
            str(args.seed),
        ]
    row: dict[str, Any] = {"engine": engine, "cmd": cmd, "error": None}
    best = math.inf
    for _ in range(args.repeat):
        json_out.unlink(missing_ok=True)
        try:
            wall, proc = timed(cmd, args.timeout, env)
        except (OSError, subprocess.TimeoutExpired) as exc:
            row["error"] = f"{type(exc).__name__}: {exc}"
            return row
        if proc.returncode != 0:
            tail = (proc.stderr or proc.stdout).strip().splitlines()[-5:]
            row["error"] = f"exit {proc.returncode}: " + " | ".join(tail)
            return row
        try:
            if engine in CLOUDTWINS:
                doc = json.loads(json_out.read_text())
                customers = args.customers
                mean = cloudtwin_mean_latency(doc, args.latency_key, args.workload)
                if mean is None:
                    raise ValueError("no mean latency at workloads.<name>.latency_ms.mean in the results")
                inproc = None
            else:
                doc = last_json_line(proc.stdout)
                customers = int(doc["customers"])
                mean = float(doc["mean_latency_s"])
                inproc = float(doc["wall_s"])
        except (OSError, ValueError, KeyError) as exc:
            row["error"] = f"bad output: {type(exc).__name__}: {exc}"
            return row
        if wall < best:
            best = wall
            row.update(customers=customers, wall_s=wall, inproc_wall_s=inproc, mean_latency_s=mean)
        print(f"  {engine:<15} {wall:8.2f} s", file=sys.stderr, flush=True)
    return row


def fmt(x: float | None, spec: str) -> str:
    return "n/a" if x is None else format(x, spec)


def render(rows: list[dict[str, Any]], expected_s: float) -> str:
    ct = next((r for r in rows if r["engine"] == "cloudtwin" and not r["error"]), None)
    ct_rate = ct["customers"] / ct["wall_s"] if ct else None
    lines = [
        "| engine | customers | whole-process wall s | customers/s | ratio vs cloudtwin "
        "| mean latency ms | Erlang C mean ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        if r["error"]:
            lines.append(f"| {r['engine']} | FAILED: {r['error']} | | | | | |")
            continue
        rate = r["customers"] / r["wall_s"]
        ratio = ct_rate / rate if ct_rate else None
        mean = r["mean_latency_s"]
        lines.append(
            f"| {r['engine']} | {r['customers']:,} | {r['wall_s']:.2f} | {rate:,.0f} "
            f"| {fmt(ratio, '.2f')} | {fmt(None if mean is None else mean * 1e3, '.3f')} "
            f"| {expected_s * 1e3:.3f} |"
        )
    return "\n".join(lines)


def speed_ratios(rows: list[dict[str, Any]]) -> dict[str, float]:
    """Each cloudtwin row's speed over SimPy's: customers/s over customers/s, from this run."""
    ok = {r["engine"]: r["customers"] / r["wall_s"] for r in rows if not r["error"]}
    simpy = ok.get("simpy")
    if not simpy:
        return {}
    return {e: ok[e] / simpy for e in CLOUDTWINS if e in ok}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--customers", type=int, default=1_000_000)
    p.add_argument("--servers", type=int, default=DEFAULTS["servers"])
    p.add_argument("--rho", type=float, default=DEFAULTS["rho"])
    p.add_argument(
        "--service",
        type=float,
        default=DEFAULTS["service"],
        help="mean service time in seconds (default 0.01)",
    )
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--repeat", type=int, default=1, help="best of k runs per engine")
    p.add_argument(
        "--engines",
        default=",".join(BASELINES),
        help=f"comma-separated subset of {','.join(BASELINES)}",
    )
    p.add_argument("--skip-cloudtwin", action="store_true")
    p.add_argument("--skip-event", action="store_true", help="no cloudtwin-event row (CLOUDTWIN_FAST=0)")
    p.add_argument(
        "--min-ratio",
        type=float,
        default=None,
        help="exit 1 when cloudtwin's speed over SimPy's (whole process, this run) is below this",
    )
    p.add_argument(
        "--cloudtwin",
        default=default_cloudtwin(),
        help="path to the cloudtwin executable (default: next to sys.executable)",
    )
    p.add_argument("--spec", help="override the cloudtwin spec YAML")
    p.add_argument(
        "--latency-key",
        help="dotted path of the mean latency in cloudtwin's JSON, optional ':ms' suffix "
        "(default: workloads.<workload>.latency_ms.mean, in ms)",
    )
    p.add_argument("--workload", help="workload whose latency to read (default: the only one)")
    p.add_argument("--timeout", type=float, default=None, help="per-process timeout, s")
    p.add_argument("--json-out", help="also write the results as JSON here")
    args = p.parse_args(argv)
    if not 0 < args.rho < 1 or args.servers < 1 or args.service <= 0 or args.customers < 1:
        p.error("need servers >= 1, 0 < rho < 1, service > 0, customers >= 1")
    if args.min_ratio is not None and (args.skip_cloudtwin or "simpy" not in args.engines.split(",")):
        p.error("--min-ratio needs the cloudtwin and simpy rows")
    if args.repeat < 1:
        p.error("--repeat must be >= 1")
    unknown = set(args.engines.split(",")) - set(BASELINES) - {""}
    if unknown:
        p.error(f"unknown engines: {sorted(unknown)}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lam = args.rho * args.servers / args.service
    expected = mmc_mean_response(lam, args.service, args.servers)
    engines = [] if args.skip_cloudtwin else [e for e in CLOUDTWINS if e != "cloudtwin-event" or not args.skip_event]
    engines += [e for e in BASELINES if e in args.engines.split(",")]

    print(f"machine: {machine_description()}")
    print(
        f"M/M/{args.servers}: rho={args.rho:g} lam={lam:g}/s s={args.service * 1e3:g}ms "
        f"customers={args.customers:,} seed={args.seed} best of {args.repeat}\n"
    )
    with tempfile.TemporaryDirectory(prefix="cloudtwin-bench-") as tmp:
        rows = [run_engine(e, args, Path(tmp)) for e in engines]

    print(render(rows, expected))
    print(
        "\nratio vs cloudtwin = cloudtwin customers/s / engine customers/s (>1: cloudtwin "
        "faster). Wall times include interpreter start-up and imports."
    )
    ratios = speed_ratios(rows)
    for name, ratio in ratios.items():
        print(f"{name} vs SimPy (whole process, this run): {ratio:.2f}x")
    failed = False
    if args.min_ratio is not None:
        got = ratios.get("cloudtwin")
        if got is None:
            print(f"FAIL: no cloudtwin/SimPy ratio to check against --min-ratio {args.min_ratio:g}")
            failed = True
        elif got < args.min_ratio:
            print(f"FAIL: cloudtwin is {got:.2f}x SimPy, below --min-ratio {args.min_ratio:g}")
            failed = True
        else:
            print(f"ok: cloudtwin is {got:.2f}x SimPy (--min-ratio {args.min_ratio:g})")
    devs = []
    for r in rows:
        if not r["error"] and r.get("mean_latency_s") is not None:
            devs.append(f"{r['engine']} {100 * (r['mean_latency_s'] / expected - 1):+.2f}%")
    if devs:
        print("mean latency vs Erlang C: " + ", ".join(devs))
    if args.json_out:
        out = {
            "machine": machine_description(),
            "params": {
                k: getattr(args, k)
                for k in ("servers", "rho", "service", "customers", "seed", "repeat")
            },
            "erlang_c_mean_latency_s": expected,
            "results": rows,
            "speed_vs_simpy": ratios,
        }
        Path(args.json_out).write_text(json.dumps(out, indent=2))
    return 1 if failed or any(r["error"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
