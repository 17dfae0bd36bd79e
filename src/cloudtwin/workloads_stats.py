"""A workload's entry in the results (:meth:`cloudtwin.workloads.WorkloadRun.stats`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cloudtwin.workloads import WorkloadRun


def workload_stats(wl: WorkloadRun) -> dict[str, Any]:
    """Requests, successes, failures by kind, latency and what the spec adds (identity,
    origins, attack, retries)."""
    done = wl.succeeded + wl.failed
    out = {
        "requests": wl.requests,
        "succeeded": wl.succeeded,
        "failed": wl.failed,
        "in_flight": wl.in_flight,
        "availability": round(wl.succeeded / done, 6) if done else 1.0,
        "errors": dict(wl.errors),
        "latency_ms": wl.total.summary_ms(),
    }
    if wl.spec.auth is not None:
        out["foreign_requests"] = wl.foreign  # sent for another user's data (auth.foreign)
    if wl.population is not None or wl.attack is not None:
        pop = wl.population
        # legitimate requests a blocking component refused (collateral), by component
        out["refused"] = dict(sorted(pop.tally.blocked.items())) if pop is not None else {}
    if wl.attack is not None:
        out["attack"] = wl.attack.stats()
    if wl.spec.retries:
        out["retries"] = wl.retries  # resends after a retryable failure (not extra requests)
    return out
