"""Python bytecodes executed per event: a measure of a blueprint's per-event cost that does not
depend on the machine or its load (issue 17).

Wall-clock ratios (``blueprints.py``) swing by +-0.2 on a shared 2-core machine, and CPU-time
A/B runs cannot resolve a change of 1-3 %. This counts the bytecodes the interpreter runs
(``sys.settrace`` with ``f_trace_opcodes``) in runs of ``--seconds`` and a quarter of that of
each blueprint, and of M/M/4, and divides the difference by the difference in events: the
marginal cost of an event, without the fixed costs of a run (building it, the bill, the
results). The same spec and seed give the same count on any machine, so two trees can be
compared exactly. A C call (a heap push, a builtin) counts as
one bytecode whatever it costs, so this is a proxy, not a timing: confirm a change with
``blueprints.py`` on an idle machine. Tracing calls back into Python at every bytecode, hence
the short window (`--seconds 60`: every blueprint, both windows, in about 4 minutes).

    python benchmarks/opcodes.py --only fan-out serverless-rest --seconds 60
    PYTHONPATH=/tmp/before/src python benchmarks/opcodes.py --only fan-out   # another tree
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


CHILD = """
import sys
from cloudtwin import Simulation, load_spec
spec = load_spec(sys.argv[1])
sim_spec = spec.simulate.model_copy(update={"duration": float(sys.argv[2]), "requests": None})
sim = Simulation(spec.model_copy(update={"simulate": sim_spec}))
n = 0
def trace(frame, event, arg):
    global n
    if event == "opcode":
        n += 1
    elif event == "call":
        frame.f_trace_opcodes = True
        frame.f_trace_lines = False
    return trace
sys.settrace(trace)
res = sim.run()
sys.settrace(None)
print(res["events"], n)
"""


def count(spec_ref: str, seconds: float) -> tuple[int, int]:
    """(events, bytecodes) of a run of ``spec_ref`` for ``seconds`` of simulated time, in a
    process of its own (so that imports and caches a first run fills are in every count)."""
    env = {**os.environ, "CLOUDTWIN_FAST": "0"}  # the event engine, M/M/4 included (as blueprints.py)
    out = subprocess.run([sys.executable, "-c", CHILD, spec_ref, repr(seconds)], capture_output=True,
                         text=True, check=True, timeout=1800, env=env)
    events, ops = out.stdout.split()[-2:]
    return int(events), int(ops)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", nargs="*", help="these blueprints only (default: every blueprint)")
    ap.add_argument("--seconds", type=float, default=60.0, help="simulated seconds of each run")
    return ap.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    from cloudtwin.blueprints import names

    def marginal(ref: str) -> tuple[int, int]:
        ev, op = count(ref, args.seconds)
        ev_q, op_q = count(ref, args.seconds / 4)
        return ev - ev_q, op - op_q

    ev0, op0 = marginal(str(HERE / "specs" / "mm4.yaml"))
    base = op0 / max(ev0, 1)
    print(f"marginal cost of an event between {args.seconds / 4:g} s and {args.seconds:g} s of simulated time")
    print(f"{'spec':28} {'events':>10} {'bytecodes':>13} {'per event':>10} {'x M/M/4':>8}")
    print(f"{'M/M/4':28} {ev0:>10,} {op0:>13,} {base:>10.1f} {1.0:>8.2f}")
    for name in args.only or names():
        ev, op = marginal(name)
        per = op / max(ev, 1)
        # "x M/M/4" as blueprints.py reads it: M/M/4's cost per event over this one's
        print(f"{name:28} {ev:>10,} {op:>13,} {per:>10.1f} {base / per:>8.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
