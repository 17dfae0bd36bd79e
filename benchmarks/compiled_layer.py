"""A compiled service layer, measured beside the interpreted one (issue 17, ninth and tenth sessions).

    python benchmarks/compiled_layer.py                                  # every blueprint
    python benchmarks/compiled_layer.py --only fan-out web-app-cache
    python benchmarks/compiled_layer.py --keep /tmp/ct-compiled          # keep the built tree

It copies ``src/`` to a temporary folder (and applies ``benchmarks/compiled/services.patch``
if there is one: source changes mypyc needs that are not in the source yet; there are none
since the tenth session of issue 17), compiles the modules listed in
``benchmarks/compiled/modules.txt`` with mypyc into that copy, and runs M/M/4 (1M requests)
and each blueprint in both trees, each run in its own process on the general event engine
(``CLOUDTWIN_FAST=0``). A row gives events/s in each tree, each tree's ratio to its own M/M/4,
the speed-up, and whether the two results are identical (a digest of the whole results but
``wall_s``).

It exits 1 if a blueprint that ran in both trees gave different results: compiling must not
move a number. A blueprint that fails in the compiled tree is listed with its error.

Not in ``make bench``: the build takes about 5 minutes on 2 cores. Needs the dev extras
(mypyc) and a C compiler.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
PATCH = HERE / "compiled" / "services.patch"
MODULES = HERE / "compiled" / "modules.txt"

CHILD = """
import hashlib, json, sys
from cloudtwin import Simulation, load_spec
arch = load_spec(sys.argv[1])
sim = Simulation(arch) if len(sys.argv) < 3 else Simulation(arch, requests=int(sys.argv[2]))
res = json.loads(sim.run().to_json())
wall = res.pop("wall_s")
digest = hashlib.sha256(json.dumps(res, sort_keys=True).encode()).hexdigest()[:16]
print(json.dumps({"events": res["events"], "wall_s": wall, "digest": digest}))
"""


def modules() -> list[str]:
    """The compiled modules, as paths under ``src/`` (comments and blank lines skipped)."""
    lines = (ln.split("#", 1)[0].strip() for ln in MODULES.read_text(encoding="utf-8").splitlines())
    return [ln for ln in lines if ln]


def build(tree: Path) -> None:
    """Copy ``src/`` into ``tree``, apply the patch there, and compile :func:`modules` in place."""
    shutil.copytree(ROOT / "src", tree / "src",
                    ignore=shutil.ignore_patterns("__pycache__", "*.so", "*.egg-info", "build"))
    # outside any repository (a parent's would make git apply skip paths outside its cwd)
    env = {**os.environ, "GIT_CEILING_DIRECTORIES": str(tree.parent)}
    if PATCH.exists():  # source changes not made yet (none since the tenth session)
        subprocess.run(["git", "apply", str(PATCH)], cwd=tree, check=True, env=env)
    mypyc = Path(sys.executable).with_name("mypyc")
    subprocess.run([str(mypyc), "--config-file", str(ROOT / "pyproject.toml"), *modules()],
                   cwd=tree / "src", check=True, stdout=subprocess.DEVNULL)


def measure(src: Path, spec: str, requests: int | None = None) -> dict[str, Any]:
    """One run of ``spec`` with ``src`` first on the path: events, wall_s, digest; or error."""
    cmd = [sys.executable, "-c", CHILD, spec] + ([str(requests)] if requests else [])
    env = {**os.environ, "CLOUDTWIN_FAST": "0", "PYTHONPATH": str(src)}
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=1800, env=env, cwd=src.parent)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["exit status " + str(out.returncode)])[-1]
        return {"error": last}
    data: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    data["events_per_s"] = data["events"] / max(data["wall_s"], 1e-9)
    return data


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


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these blueprints only")
    ap.add_argument("--mm4-requests", type=int, default=1_000_000)
    ap.add_argument("--keep", type=Path, help="build the compiled tree here and keep it (reused if built)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))
    from cloudtwin.blueprints import names

    tmp = None
    if args.keep is not None:
        tree = args.keep.resolve()
        if not (tree / "src").exists():
            tree.mkdir(parents=True, exist_ok=True)
            build(tree)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="cloudtwin-compiled-")
        tree = Path(tmp.name)
        build(tree)
    try:
        plain, compiled = ROOT / "src", tree / "src"
        mm4 = str(HERE / "specs" / "mm4.yaml")
        ba, bb = measure(plain, mm4, args.mm4_requests), measure(compiled, mm4, args.mm4_requests)
        print(f"{'':26} {'':>10} {'interpreted':>17} {'compiled':>17}")
        print(f"{'spec':26} {'events':>10} {'events/s':>10} {'xM/M/4':>6} {'events/s':>10} {'xM/M/4':>6} "
              f"{'speedup':>7} {'same':>5}")
        print(row("M/M/4", ba, bb, ba["events_per_s"], bb["events_per_s"]))
        differ = [] if ba.get("digest") == bb.get("digest") else ["M/M/4"]
        for name in args.only or names():
            a, b = measure(plain, name), measure(compiled, name)
            print(row(name, a, b, ba["events_per_s"], bb["events_per_s"]), flush=True)
            if "digest" in a and "digest" in b and a["digest"] != b["digest"]:
                differ.append(name)
    finally:
        if tmp is not None:
            tmp.cleanup()
    if differ:
        print("results differ between the trees: " + ", ".join(differ), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
