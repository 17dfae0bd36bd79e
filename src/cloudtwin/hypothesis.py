"""The steady-state hypothesis, checked against a run's results.

:func:`verdict` turns the spec's ``hypothesis`` (:mod:`cloudtwin.spec.hypothesis`) and the
results JSON into the ``hypothesis`` key of the results: ``held`` (every check held) and one
entry per check with what was expected and what was measured. Availability and latency are
checked per workload; a workload that completed no request has no latency to check, which
counts as not held (nothing shows the tolerance was met).
"""

from __future__ import annotations

from typing import Any

from cloudtwin.spec.hypothesis import Hypothesis

LATENCIES = ("p50", "p90", "p99", "p999")


def _pct(x: float) -> str:
    return f"{x * 100:.6g}%"


def verdict(h: Hypothesis, data: dict[str, Any], stopped_at: float | None = None) -> dict[str, Any]:
    """The ``hypothesis`` entry of the results for results ``data``; ``stopped_at``: when a stop
    condition stopped the experiment (None: it was not stopped)."""
    checks: list[dict[str, Any]] = []
    names = h.workloads or list(data["workloads"])
    for name in names:
        w = data["workloads"][name]
        if h.availability is not None:
            got = float(w["availability"])
            checks.append({"check": "availability", "workload": name, "expected": f">= {_pct(h.availability)}",
                           "measured": got, "held": got >= h.availability})
        for key in LATENCIES:
            bound = getattr(h, key)
            if bound is None:
                continue
            got_ms = (w.get("latency_ms") or {}).get(key)
            held = got_ms is not None and got_ms <= bound * 1000.0
            checks.append({"check": key, "workload": name, "expected": f"<= {bound * 1000.0:g} ms",
                           "measured": got_ms, "held": held})
    for key, where in (("messages_lost", ("messages", "lost")), ("sessions_lost", ("sessions", "lost"))):
        bound = getattr(h, key)
        if bound is not None:
            got = int(data[where[0]][where[1]])
            checks.append({"check": key, "workload": None, "expected": f"<= {bound}", "measured": got,
                           "held": got <= bound})
    # a stop condition that fired means the steady state broke during the run, whatever the totals say
    held = all(c["held"] for c in checks) and stopped_at is None
    return {"held": held, "checks": checks, "stopped_at": stopped_at}
