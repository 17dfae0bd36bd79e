"""Where an event's time goes beyond its bytecodes: machine instructions, cache misses and
branch mispredictions per event, from valgrind's cachegrind (issue 17).

``opcodes.py`` counts bytecodes; this counts what the processor does for them. cachegrind
simulates the first-level instruction and data caches, the last-level cache and the branch
predictors while it runs the interpreter, so each figure is the same on every run of the same
binary (to within a fraction of a percent) and does not depend on the machine's load. Like
``opcodes.py``, each spec runs for ``--seconds`` and a quarter of that of simulated time and
the difference is divided by the difference in events: the marginal cost of an event, without
the fixed costs of a run. The columns:

- ``Ir``: machine instructions per event, and M/M/4's over this one's (``x M/M/4``);
- ``I1 miss``, ``D1 miss``: first-level instruction and data cache misses per event (data:
  reads and writes); each costs a trip to the second-level cache;
- ``LL miss``: last-level misses per event (a trip to memory);
- ``br miss``: mispredicted branches per event (conditional and indirect).

cachegrind runs the interpreter about 50 times slower than the processor: the default window
(every blueprint) takes about 40 minutes, so ``make bench`` does not run it. Without valgrind
it says so and exits 0.

    python benchmarks/cachegrind.py --only caching-layers simple-web-app --seconds 60
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = """
import sys
from cloudtwin import Simulation, load_spec
spec = load_spec(sys.argv[1])
sim_spec = spec.simulate.model_copy(update={"duration": float(sys.argv[2]), "requests": None})
res = Simulation(spec.model_copy(update={"simulate": sim_spec})).run()
print(res["events"])
"""

# cachegrind's event names, and the columns made of them
COLUMNS = {"Ir": ("Ir",), "I1 miss": ("I1mr",), "D1 miss": ("D1mr", "D1mw"), "LL miss": ("ILmr", "DLmr", "DLmw"),
           "br miss": ("Bcm", "Bim")}


def count(spec_ref: str, seconds: float) -> tuple[int, dict[str, int]]:
    """(events, cachegrind's totals) of a run of ``spec_ref`` for ``seconds`` of simulated time,
    in a process of its own under cachegrind."""
    # the event engine (as blueprints.py); one BLAS thread, so that no idle worker's spin is counted
    env = {**os.environ, "CLOUDTWIN_FAST": "0", "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    with tempfile.TemporaryDirectory(prefix="cloudtwin-cg-") as tmp:
        out_file = Path(tmp) / "cg.out"
        out = subprocess.run(["valgrind", "--tool=cachegrind", "--cache-sim=yes", "--branch-sim=yes",
                              f"--cachegrind-out-file={out_file}", sys.executable, "-c", CHILD, spec_ref,
                              repr(seconds)], capture_output=True, text=True, check=True, timeout=7200, env=env)
        totals = read_totals(out_file.read_text())
    return int(out.stdout.split()[-1]), totals


def read_totals(text: str) -> dict[str, int]:
    """A cachegrind output file's totals by event name (its ``events:`` and ``summary:`` lines)."""
    names: list[str] = []
    totals: list[int] = []
    for line in text.splitlines():
        if line.startswith("events:"):
            names = line.split()[1:]
        elif line.startswith("summary:"):
            totals = [int(x) for x in line.split()[1:]]
    if not names or len(names) != len(totals):
        raise ValueError("not a cachegrind output file (no events: and summary: lines of the same length)")
    return dict(zip(names, totals, strict=True))


def marginal(spec_ref: str, seconds: float) -> tuple[int, dict[str, float]]:
    """Events between the two windows, and each column per event over them."""
    ev, tot = count(spec_ref, seconds)
    ev_q, tot_q = count(spec_ref, seconds / 4)
    n = max(ev - ev_q, 1)
    return ev - ev_q, {col: sum(tot[k] - tot_q[k] for k in keys) / n for col, keys in COLUMNS.items()}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these blueprints only (default: every blueprint)")
    ap.add_argument("--seconds", type=float, default=60.0, help="simulated seconds of the longer run")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if shutil.which("valgrind") is None:
        print("cachegrind.py: valgrind is not installed (Debian: apt-get install valgrind); nothing measured")
        return 0
    from cloudtwin.blueprints import names

    print(f"marginal cost of an event between {args.seconds / 4:g} s and {args.seconds:g} s of simulated time")
    head = "".join(f"{c:>10}" for c in COLUMNS)
    print(f"{'spec':28} {'events':>9}{head} {'x M/M/4':>8}")
    _, base = marginal(str(HERE / "specs" / "mm4.yaml"), args.seconds)
    rows = [("M/M/4", None)] + [(name, name) for name in (args.only or names())]
    for label, ref in rows:
        ev, per = (0, base) if ref is None else marginal(ref, args.seconds)
        cells = "".join(f"{per[c]:>10.1f}" for c in COLUMNS)
        events = f"{ev:>9,}" if ref is not None else f"{'':>9}"
        print(f"{label:28} {events}{cells} {base['Ir'] / max(per['Ir'], 1.0):>8.2f}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
