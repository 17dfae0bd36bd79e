"""The downstream side of a fluid run: its stations (:mod:`cloudtwin.fluid.stations`), each
fleet's calls (:mod:`cloudtwin.fluid.calls`), and what they add to the results."""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudtwin.fluid.cache_station import CacheStation
from cloudtwin.fluid.calls import CallFlow, PathMix
from cloudtwin.fluid.chain import FleetStation
from cloudtwin.fluid.fleet import _seed
from cloudtwin.fluid.queueing import Wait, WaitMix
from cloudtwin.fluid.rds_station import RdsStation
from cloudtwin.fluid.stations import STATIONS, Station, make
from cloudtwin.fluid.sumwait import SumMix


class Downstream:
    def __init__(self, arch: Any, fleets: dict[str, Any], seed: int, loads: dict[str, Any]) -> None:
        self.stations: dict[str, Station] = {n: make(n, c, arch, seed) for n, c in arch.components.items()
                                             if c.type in STATIONS}
        self.fleet_stations: dict[str, FleetStation] = {}  # by the callee fleet's name
        for n, c in arch.components.items():
            if c.type in BALANCERS and _called(n, arch):  # a fleet other fleets call through it
                fs = FleetStation(n, c, fleets[c.target_names[0]], arch, seed)
                self.stations[n] = self.fleet_stations[c.target_names[0]] = fs
        self.order = _callers_first(fleets, arch)
        self.calls: dict[str, CallFlow] = {}
        for n in reversed(self.order):  # callees first: a caller's points draw from its callees'
            f = fleets[n]
            stores = {ld.spec.sessions.store for ld in loads.values() if ld.fleet is f and ld.spec.sessions is not None
                      and ld.spec.sessions.state == "elasticache"}
            store = self.stations[stores.pop()] if stores else None  # one store a fleet (call_support)
            if store is not None or any(getattr(st, "call", None) for st in f.spec.handler):
                self.calls[n] = CallFlow(f, self.stations, arch, seed, store)
                if n in self.fleet_stations:
                    self.fleet_stations[n].flow = self.calls[n]
        self.mixes: dict[str, dict[str, SumMix]] = {n: {} for n in self.stations}
        for cf in self.calls.values():
            for path in cf.paths:
                for c in path.calls:
                    m = self.mixes[c.station.name]
                    if c.op not in m:  # the station's own latency, for its component entry
                        rng = np.random.default_rng(_seed(f"{seed}:{c.station.name}:{c.op}"))
                        m[c.op] = SumMix(c.station.own(c.op, rng, 4000))
        self.served: dict[str, float] = {}

    @property
    def active(self) -> bool:
        return bool(self.calls)

    def fleet_mix(self, name: str, default: WaitMix) -> Any:
        cf = self.calls.get(name)
        return cf.fleet_mix() if cf is not None else default

    def attach(self, loads: dict[str, Any]) -> None:
        for ld in loads.values():
            cf = self.calls.get(ld.fleet.name)
            if cf is not None:
                lb = ld.points - ld.fleet.own if ld.lb is not None else None
                cf.attach(ld, lb)

    # ---- each step ---------------------------------------------------------------------------
    def inbound(self, fleet: str, t: float) -> float:
        """Calls/s other fleets send ``fleet`` this step (they ran their step before it)."""
        fs = self.fleet_stations.get(fleet)
        return fs.arriving(t) if fs is not None else 0.0

    def started(self, fleet: str, t: float, dt: float, served: float, outcome: tuple[Any, ...]) -> None:
        """``fleet`` ran its step (``served`` requests/s start its handler): offer its calls."""
        fs = self.fleet_stations.get(fleet)
        if fs is not None:
            share_dead, refused, lost, lam, wait = outcome
            fs.fleet_done(share_dead, refused, lost, lam, dt, wait)
        cf = self.calls.get(fleet)
        if cf is not None:
            cf.offer(t, dt, served)

    def step(self, t: float, dt: float, waits: dict[str, Wait]) -> None:
        """After every fleet's step: the stations' answers, then each fleet's paths (callees first)."""
        for st in self.stations.values():
            if isinstance(st, FleetStation):
                continue
            rates = dict(st.rates)
            st.resolve(t, dt)
            for op, r in rates.items():
                w, errs = st.outcome(op)
                ok = r * dt * (1.0 - sum(errs.values()))
                mix = self.mixes[st.name].get(op)
                if mix is not None:
                    mix.add(w, ok)
        for n in reversed(self.order):
            cf = self.calls.get(n)
            if cf is not None:
                cf.resolve(waits.get(n, Wait(0.0, 1.0)))
            fs = self.fleet_stations.get(n)
            if fs is not None:
                rates = dict(fs.rates)
                fs.wait = waits.get(n, Wait(0.0, 1.0))
                fs.resolve(t, dt)
                w, errs = fs.outcome("")
                mix = self.mixes[fs.name].get(next(iter(rates), ""))
                if mix is not None:
                    mix.add(w, sum(rates.values()) * dt * (1.0 - sum(errs.values())))

    def sessions(self, loads: dict[str, Any]) -> dict[str, int]:
        out = {"started": 0, "completed": 0, "lost": 0, "active": 0}
        for ld in loads.values():
            if ld.sessions is not None:
                for k, v in ld.sessions.counts().items():
                    out[k] += v
        return out

    def zone_outage(self, t: float, zone: str, down: bool) -> list[str]:
        notes = [st.zone_outage(t, zone, down) for st in self.stations.values()]
        return [n for n in notes if n]

    def minute(self) -> None:
        for st in self.stations.values():
            st.minute()
        for cf in self.calls.values():
            for fl in cf.flows:
                fl.minute()

    # ---- results -----------------------------------------------------------------------------
    def component(self, name: str, latency: Any) -> dict[str, Any]:
        st = self.stations[name]
        mixes = [m for m in self.mixes[name].values() if m.weight > 0]
        lat = latency(PathMix(mixes)) if mixes else {}
        out: dict[str, Any] = {"type": st.kind, "requests": round(st.requests), "errors": round(st.errors),
                               "latency_ms": lat}
        out.update(st.stats())
        if isinstance(st, CacheStation):
            series = [fl.series for fl in st.flows]
            if series:
                out["hit_ratio_series"] = series[0]
        if isinstance(st, RdsStation):
            out["utilization_series"] = list(st.util_series)
        return out

    def validity(self) -> list[str]:
        notes = []
        for n, cf in self.calls.items():
            if any(len(p.calls) > 1 for p in cf.paths):
                notes.append(f"{n}: a request's waits at different stations are taken as independent (their "
                             "sum is exact) and at one station as fully dependent; the truth lies between")
            f = cf.fleet
            if f.lb is not None and getattr(f.spec, "health_handler", None) is None and cf.worst > 0.0:
                notes.append(f"{n}: its health check runs the handler (no health_handler), whose calls failed "
                             f"(up to {cf.worst:.0%} of a path's requests in a step): the exact engine fails those "
                             "checks and takes targets out; the fluid engine keeps them in (outside its validity "
                             "while that lasts)")
            calls = {id(c): c for p in cf.paths for c in p.calls}.values()
            if any(c.retries for c in calls):
                notes.append(f"{n}: a call's retries multiply its callee's load and fail only when every try "
                             "fails; a success after retries waits their backoffs and timeouts, taken as one "
                             "exponential wait with their probability and mean")
            if any(c.timeout is not None for c in calls):
                notes.append(f"{n}: a call's timeout fails the share of its callee's responses past it; the "
                             "latency of the rest is not truncated")
            if cf.flows:
                notes.append(f"{n}: cache hit ratios are a mean field over key-popularity bins (Poisson "
                             "lookups, instant sets); the exact engine's lookups are one sample of them")
        for st in self.stations.values():
            if st.kind == "dynamodb":
                notes.append(f"{st.name}: throttling as a fluid against the table's bucket and each "
                             "partition's limit; on-demand peak doubling is not modelled")
        return notes


BALANCERS = ("alb", "nlb")


def _targets(steps: list[Any]) -> list[str]:
    out = []
    for st in steps:
        call = getattr(st, "call", None)
        if isinstance(call, str):
            out.append(st.target)
            out.extend(_targets(list(st.on_miss or [])))
    return out


def _called(lb: str, arch: Any) -> bool:
    return any(lb in _targets(list(getattr(c, "handler", None) or [])) for c in arch.components.values())


def _callers_first(fleets: dict[str, Any], arch: Any) -> list[str]:
    """The fleets in an order where every caller comes before the fleets it calls (through a balancer);
    the spec has no cycle (fluid/call_support.py refuses one)."""
    calls = {n: [arch.components[t].target_names[0] for t in _targets(list(f.spec.handler))
                 if arch.components[t].type in BALANCERS] for n, f in fleets.items()}
    order: list[str] = []
    seen: set[str] = set()

    def visit(n: str) -> None:
        if n in seen:
            return
        seen.add(n)
        for m in calls.get(n, []):
            visit(m)
        order.append(n)  # after everything it calls

    for n in fleets:
        visit(n)
    return order[::-1]

