"""A sweep's summary: each configuration's metrics as means over seeds with 95 % intervals,
and, per metric, which configurations are within noise of the best one."""

from __future__ import annotations

from typing import Any

from cloudtwin.sweep.stats import Estimate, estimate, within_noise

__all__ = ["BETTER", "summarize"]

# which way is better for each headline metric: +1 higher, -1 lower
BETTER = {"availability": 1, "p50_ms": -1, "p99_ms": -1, "failed": -1, "messages_lost": -1, "monthly_usd": -1}


def summarize(rows: list[dict[str, Any]], axes: list[str]) -> dict[str, Any]:
    """``{"configurations": [...], "best": {...}}``: each configuration's axis values, runs,
    failed runs and per-metric estimate; per metric, the best configuration and those whose
    difference from it is within noise (Welch, 5 %; None with fewer than two seeds)."""
    by: dict[int, list[dict[str, Any]]] = {}
    for r in rows:
        by.setdefault(int(r["config"]), []).append(r)
    configs: list[dict[str, Any]] = []
    ests: dict[int, dict[str, Estimate | None]] = {}
    for ci in sorted(by):
        runs = by[ci]
        ok = [r for r in runs if r.get("status") == "ok"]
        ests[ci] = {m: estimate([r[m] for r in ok if r.get(m) is not None]) for m in BETTER}
        configs.append({
            "config": ci, "set": {a: runs[0].get(f"set.{a}") for a in axes}, "runs": len(runs),
            "not_ok": len(runs) - len(ok),
            "metrics": {m: None if e is None else {"mean": e.mean, "ci95": e.half_width, "n": e.n}
                        for m, e in ests[ci].items()},
        })
    best: dict[str, Any] = {}
    for m, sign in BETTER.items():
        have: dict[int, Estimate] = {}
        for ci, e in ests.items():
            got = e[m]
            if got is not None:
                have[ci] = got
        if not have:
            continue
        top = max(have, key=lambda ci: sign * have[ci].mean)
        best[m] = {"config": top, "within_noise": [ci for ci, e in have.items()
                                                   if ci != top and within_noise(have[top], e)],
                   "decided": all(within_noise(have[top], e) is not None for ci, e in have.items() if ci != top)}
    return {"configurations": configs, "best": best}
