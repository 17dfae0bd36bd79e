"""Results: the JSON contract, built from the live models at the end of a run,
and the end-of-run invariants that make a wrong count fail loudly.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

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
                    pairs = [v[i : i + 2] for i in range(0, len(v), 2)]
                    if k in ("requests", "errors"):
                        fields[k] = [sum(p) for p in pairs]
                    elif k in ("p99_ms", "in_service"):
                        fields[k] = [max(p) for p in pairs]
                    else:
                        fields[k] = [sum(p) / len(p) for p in pairs]
    series["step_s"], series["t"] = step, t
    return series


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
        "timeline": sim.timeline,
        "series": _downsample(series),
    }
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
    if problems:
        raise InvariantViolation("; ".join(problems))
