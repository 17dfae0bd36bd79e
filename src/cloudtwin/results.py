"""Results: the JSON contract, built from the live models at the end of a run,
and the end-of-run invariants that make a wrong count fail loudly.
"""

from __future__ import annotations

import bisect
import json
from typing import TYPE_CHECKING, Any

from cloudtwin.cache_layers import cache_layers
from cloudtwin.errors import InvariantViolation

if TYPE_CHECKING:
    import pandas as pd

    from cloudtwin.simulation import Simulation

MAX_POINTS = 1500  # series longer than this are merged pairwise for the report


class Results:
    """What a run measured. ``results.data`` is the JSON contract as a dict."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def workload(self, name: str) -> dict[str, Any]:
        return self.data["workloads"][name]  # type: ignore[no-any-return]

    def component(self, name: str) -> dict[str, Any]:
        return self.data["components"][name]  # type: ignore[no-any-return]

    def frame(self, table: str) -> pd.DataFrame:
        """One of the results tables as a pandas DataFrame: ``"series"``, ``"workloads"``,
        ``"components"``, ``"cost"`` or ``"timeline"`` (see :mod:`cloudtwin.tables`)."""
        from cloudtwin.tables import table as _table

        return _table(self.data, table)

    def _repr_html_(self) -> str:
        """A compact summary for Jupyter: each workload's availability and latency, the cost."""
        from cloudtwin.render.notebook import results_html

        return results_html(self.data)

    def __repr__(self) -> str:
        d = self.data
        return (f"<Results {d.get('spec')!r} seed={d.get('seed')} simulated_s={d.get('simulated_s')} "
                f"workloads={len(d.get('workloads', {}))} components={len(d.get('components', {}))}>")

    def to_json(self, *, indent: int | None = 2) -> str:
        return json.dumps(self.data, indent=indent, sort_keys=False)

    def deterministic_json(self) -> str:
        """The JSON without wall-clock time, for comparing runs."""
        d = dict(self.data)
        d.pop("wall_s", None)
        return json.dumps(d, sort_keys=True)


# How each per-minute series is sampled (docs/report.md). A series' value at index i
# describes the minute [t[i], t[i] + step_s):
#   "level": a state read at the END of that minute (t[i] + step_s), e.g. instances in
#            service, queue depth; it already includes anything that happened at that instant
#   "sum" / "mean" / "max" / "min": an aggregate OVER that minute (a count, an average or a
#            ratio over the minute, its peak, its trough)
#   "p50" / "p90" / "p99": a latency percentile of the requests completed in that minute
SAMPLING: dict[str, str] = {
    "requests": "sum", "errors": "sum", "p50_ms": "p50", "p90_ms": "p90", "p99_ms": "p99",
    "in_service": "level", "desired": "level", "running": "level", "backlog_per_task": "level",
    "visible": "level", "in_flight": "level", "iterator_age_s": "max",
    "utilization": "mean", "hit_ratio": "mean", "consumed_rcu_per_s": "mean", "consumed_wcu_per_s": "mean",
    "concurrency": "max", "healthy_targets": "min",
    "throttles": "sum", "throttled": "sum", "records_in": "sum", "objects": "sum",
    # burstable instances' CPU credits (services/cpu_credits.py), CloudWatch's names
    "CPUCreditBalance": "level", "CPUSurplusCreditBalance": "level", "CPUCreditUsage": "sum",
}
SAMPLING_DEFAULT = "mean"  # a series not listed (a plug-in's): taken as an average over the minute


def sampling_of(metric: str) -> str:
    """How the series ``metric`` is sampled: ``"level"`` or an aggregate (see :data:`SAMPLING`)."""
    return SAMPLING.get(metric, SAMPLING_DEFAULT)


def _merge(kind: str, pair: list[Any]) -> Any:
    """Two consecutive samples as one over twice the step, as their kind says."""
    if kind == "level":
        return pair[-1]  # the level at the end of the longer step
    if kind == "sum":
        return sum(pair)
    if kind in ("max", "p50", "p90", "p99"):
        return max(pair)  # for a percentile: an upper bound of the merged minute's
    if kind == "min":
        return min(pair)
    return sum(pair) / len(pair)


def _downsample(series: dict[str, Any]) -> dict[str, Any]:
    step = series["step_s"]
    t = series["t"]
    groups = [series["workloads"], series["components"]]
    while len(t) > MAX_POINTS:
        step *= 2
        t = t[::2]
        for g in groups:
            for fields in g.values():
                for k, v in fields.items():
                    kind = sampling_of(k)
                    fields[k] = [_merge(kind, v[i : i + 2]) for i in range(0, len(v), 2)]
    series["step_s"], series["t"] = step, t
    return series


def _load_windows(sim: Simulation) -> list[dict[str, Any]]:
    """Timeline entries for the workloads' spikes and ramps (kind ``load``), with the
    windows :func:`cloudtwin.workloads_profiles.profile_factor` applies."""
    out: list[dict[str, Any]] = []
    for n, w in sim.workloads.items():
        p = w.spec.profile
        if p.type == "spike":
            dur = p.duration if p.duration is not None else 300.0
            out.append({"t": p.at, "kind": "load", "detail": f"{n}: spike x{p.factor:g}", "duration_s": dur})
        elif p.type == "ramp":
            dur = p.duration or max((sim.horizon or sim.engine.now) - p.at, 1.0)
            out.append({"t": p.at, "kind": "load",
                        "detail": f"{n}: ramp x{p.start:g} -> x{p.end:g}", "duration_s": dur})
    return [e for e in out if e["t"] < sim.engine.now]


def _with_load(timeline: list[dict[str, Any]], load: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``timeline`` with the load windows inserted in time order (after entries at the same t)."""
    out = list(timeline)
    for e in load:
        i = bisect.bisect_right([float(x.get("t", 0.0)) for x in out], float(e["t"]))
        out.insert(i, e)
    return out


def assemble(sim: Simulation, wall_s: float) -> Results:
    eng = sim.engine
    workloads = {n: w.stats() for n, w in sim.workloads.items()}
    components = {n: c.stats() for n, c in sim.components.items()}
    sessions = {"started": 0, "completed": 0, "lost": 0, "active": 0}
    for w in sim.workloads.values():
        sessions["started"] += w.sessions_started
        sessions["completed"] += w.sessions_completed
        sessions["lost"] += w.sessions_lost
        sessions["active"] += len(w.live_sessions)
    messages: dict[str, Any] = {"published": 0, "delivered": 0, "dead_lettered": 0, "expired": 0,
                                "in_flight": 0, "duplicates": 0, "lost": 0}
    for c in sim.components.values():
        acct = c.message_accounting()
        if acct is not None:
            for k, v in acct.items():
                messages[k] += v
    ledger = sim.ctx.account.ledger  # the message ledger of sqs/sns/lambda... (cloudtwin.messaging)
    for k, v in ledger.totals().items():
        messages[k] += v
    messages["lost_by_cause"] = dict(sorted(ledger.lost_by_cause.items()))
    n_minutes = min((len(w.series_req) for w in sim.workloads.values()), default=0)
    series = {
        "step_s": 60.0,
        "t": [60.0 * i for i in range(n_minutes)],
        "workloads": {
            n: {"requests": w.series_req[:n_minutes], "errors": w.series_err[:n_minutes],
                "p50_ms": w.series_p50[:n_minutes], "p90_ms": w.series_p90[:n_minutes],
                "p99_ms": w.series_p99[:n_minutes]}
            for n, w in sim.workloads.items()
        },
        "components": {n: {k: v[:n_minutes] for k, v in c.series().items()}
                       for n, c in sim.components.items() if c.series()},
    }
    from cloudtwin.metering import bill

    data: dict[str, Any] = {
        "spec": sim.arch.name,
        "seed": sim.seed,
        "simulated_s": round(eng.now, 6),
        "wall_s": round(wall_s, 3),
        "events": eng.events,
        "workloads": workloads,
        "components": components,
        "messages": messages,
        "sessions": sessions,
        "cost": bill(sim),
        "timeline": _with_load(sim.timeline, _load_windows(sim)),
        "series": _downsample(series),
        "latency_histograms": {n: w.total.coarse_ms() for n, w in sim.workloads.items()},
    }
    layers = cache_layers(sim.arch, data)
    if layers["layers"]:  # per-layer cache accounting, only when the spec has a cache
        data["cache_layers"] = layers
    if sim.flow_run is not None:  # network flows: bytes per flow and per link
        data["flows"] = sim.flow_run.flows()
        data["links"] = sim.flow_run.links()
    names = {k for n in ("workloads", "components") for fields in data["series"][n].values() for k in fields}
    data["series"]["sampling"] = {k: sampling_of(k) for k in sorted(names)}
    if sim.arch.failures:
        from cloudtwin.failures import summary

        data["failures"] = summary(sim)
    if sim.arch.hypothesis is not None:
        from cloudtwin.hypothesis import verdict

        data["hypothesis"] = verdict(sim.arch.hypothesis, data, sim.experiment.stopped_at)
    check_invariants(sim, data)
    return Results(data)


def check_invariants(sim: Simulation, data: dict[str, Any]) -> None:
    """Conservation of requests, sessions and messages. A failure is a bug."""
    problems: list[str] = []
    drained = sim.engine.pending == 0
    for n, w in data["workloads"].items():
        if w["requests"] != w["succeeded"] + w["failed"] + w["in_flight"] or w["in_flight"] < 0:
            problems.append(f"workload {n}: requests {w['requests']} != succeeded {w['succeeded']} "
                            f"+ failed {w['failed']} + in flight {w['in_flight']}")
        if sum(w["errors"].values()) != w["failed"]:
            problems.append(f"workload {n}: errors by kind sum to {sum(w['errors'].values())}, "
                            f"failed is {w['failed']}")
        live = sim.workloads[n]
        if live.total.count != w["succeeded"]:
            problems.append(f"workload {n}: {live.total.count} latencies for {w['succeeded']} successes")
        if drained and w["in_flight"]:
            problems.append(f"workload {n}: {w['in_flight']} requests stuck with no event pending")
    s = data["sessions"]
    if s["started"] != s["completed"] + s["lost"] + s["active"]:
        problems.append(f"sessions: started {s['started']} != completed {s['completed']} + lost "
                        f"{s['lost']} + active {s['active']}")
    m = data["messages"]
    if m["published"] != m["delivered"] + m["dead_lettered"] + m["expired"] + m["in_flight"] + m["lost"]:
        problems.append(f"messages: published {m['published']} != delivered + dead_lettered + expired "
                        f"+ in_flight + lost ({m})")
    problems.extend(sim.ctx.account.ledger.check(sim.components.values()))
    if sim.flow_run is not None:  # bytes: sent = delivered + dropped + in flight, per flow
        try:
            sim.flow_run.check()
        except AssertionError as exc:
            problems.append(str(exc))
    if problems:
        raise InvariantViolation("; ".join(problems))
