"""The fluid engine: time-stepped flows through an architecture, latency from queueing theory.

Every step (1 s; up to the next minute or change when the load is constant and no queue
is building) each workload offers ``rate x profile(t) x dt`` requests along its path
(``route53`` alias -> ``alb``/``nlb`` -> fleet, or straight to the fleet). At the fleet:

* requests to targets that are dead but still routed fail ``unavailable`` (the share
  the balancer still sends them);
* below saturation each routed instance is a G/G/c station (:mod:`cloudtwin.fluid.queueing`):
  Erlang C with Allen–Cunneen for the wait;
* at or above saturation the fleet's backlog is a fluid (grows at ``lam - c/s`` per
  instance), newcomers wait ``backlog / service rate``; past ``backlog`` per instance
  the excess is refused (``unavailable``); a dead instance's queue is lost;
* a client ``timeout`` cuts the share of requests whose response time would exceed it
  (``timeout`` errors).

Latency percentiles are those of the mixture of every step's response-time distribution
weighted by its successful requests. Left out (refused in :mod:`cloudtwin.fluid.support`):
everything but the types, keys and faults listed there.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.fleet import POINTS, FluidFleet, _seed
from cloudtwin.fluid.queueing import NO_WAIT, Wait, WaitMix, allen_cunneen, exceeds
from cloudtwin.fluid.support import BALANCERS, FLEETS, check
from cloudtwin.results import Results
from cloudtwin.workloads import profile_factor

MINUTE = 60.0
QS = (0.5, 0.9, 0.99, 0.999)


class _Load:
    """One workload: its path, its counts and its latency mixtures."""

    def __init__(self, name: str, spec: Any, arch: Any, fleets: dict[str, FluidFleet], horizon: float,
                 seed: int) -> None:
        self.name = name
        self.spec = spec
        entry = arch.components[spec.entry]
        lb = None
        if entry.type == "route53":
            recs = [r for r in entry.records if spec.host is None or r.name == spec.host] or entry.records
            entry = arch.components[recs[0].alias]
        if entry.type in BALANCERS:
            lb = entry
            self.fleet = fleets[entry.target_names[0]]
        else:
            self.fleet = fleets[next(n for n, c in arch.components.items() if c is entry)]
        self.lb = lb
        self.poisson = spec.arrivals == "poisson"
        self.factor, _ = profile_factor(spec.profile, horizon, arch.base_dir)
        self.sessions = None
        if spec.sessions is not None:  # users ramp up to rate x requests (fluid/sessions.py)
            from cloudtwin.fluid.sessions import SessionFlow

            self.sessions = SessionFlow(spec)
            self.factor = self.sessions.factor
        own = self.fleet.own
        if lb is not None:
            draw = make_sampler(lb.latency, np.random.default_rng(_seed(f"{seed}:{name}:lb")))
            own = own + np.array([draw() for _ in range(POINTS)])
        self.points = own
        self.total = WaitMix(own)
        self.sub = WaitMix(own, 250)  # the points of the per-minute percentiles
        self.minute = self.sub.empty()
        self.requests = self.ok = 0.0
        self.errors = {"timeout": 0.0, "unavailable": 0.0, "throttled": 0.0, "server_error": 0.0}
        self.series: dict[str, list[float]] = {k: [] for k in ("requests", "errors", "p50_ms", "p90_ms", "p99_ms")}
        self.m_req = self.m_err = 0.0
        self._to_cache: dict[Wait, float] = {}

    def rate(self, t: float) -> float:
        f = self.factor
        return float(self.spec.rate) * (1.0 if f is None else f(t))

    def timed_out(self, w: Wait) -> float:
        """Share of requests cut by the client's timeout under wait ``w``."""
        if self.spec.timeout is None:
            return 0.0
        key = Wait(round(w.p, 3), float(f"{w.rate:.3g}"), float(f"{w.shift:.3g}"))
        got = self._to_cache.get(key)
        if got is None:
            got = self._to_cache[key] = exceeds(self.points, key, float(self.spec.timeout))
        return got

    def close_minute(self) -> None:
        s = self.series
        s["requests"].append(round(self.m_req))
        s["errors"].append(round(self.m_err))
        if self.minute.weight > 0:
            one = self.sub.empty()
            one.add(self.minute.summary(), 1.0)
            p50, p90, p99 = one.quantiles((0.5, 0.9, 0.99))
            for k, v in (("p50_ms", p50), ("p90_ms", p90), ("p99_ms", p99)):
                s[k].append(round(v * 1000.0, 3))
        else:
            for k in ("p50_ms", "p90_ms", "p99_ms"):
                s[k].append(0.0)
        self.minute = self.sub.empty()
        self.m_req = self.m_err = 0.0


class FluidRun:
    """One fluid run of ``arch`` (checked by :func:`cloudtwin.fluid.support.check`)."""

    def __init__(self, arch: Any, *, seed: int | None = None, duration: float | None = None) -> None:
        check(arch)
        self.arch = arch
        self.seed = arch.simulate.seed if seed is None else seed
        horizon = duration if duration is not None else arch.simulate.duration
        if horizon is None:
            from cloudtwin.fluid.support import FluidRefused

            raise FluidRefused("simulate", "needs a `duration` (the fluid engine does not stop on a request count)")
        self.horizon = float(horizon)
        lbs = {c.target_names[0]: c for c in arch.components.values() if c.type in BALANCERS}
        self.fleets = {n: FluidFleet(n, c, lbs.get(n), list(arch.zones), self.seed)
                       for n, c in arch.components.items() if c.type in FLEETS}
        from cloudtwin.fluid.serverless_run import Serverless, owns  # API Gateway / Lambda entries

        self.serverless = Serverless(arch, self.horizon, self.seed)
        self.loads = {n: _Load(n, w, arch, self.fleets, self.horizon, self.seed) for n, w in arch.workloads.items()
                      if not owns(arch, w)}
        from cloudtwin.fluid.downstream import Downstream

        self.flows = Downstream(arch, self.fleets, self.seed, self.loads)  # calls, downstream stations, caches
        self.flows.attach(self.loads)
        self.queue = dict.fromkeys(self.fleets, 0.0)  # fluid backlog per fleet (requests)
        self.prev_live = {n: f.routed(0.0)[0] for n, f in self.fleets.items()}
        self.fleet_mix = {n: self.flows.fleet_mix(n, WaitMix(f.own)) for n, f in self.fleets.items()}
        self.fleet_req = dict.fromkeys(self.fleets, 0.0)
        self.fleet_err = dict.fromkeys(self.fleets, 0.0)
        self.overload_s = dict.fromkeys(self.fleets, 0.0)
        self.faults: list[tuple[float, str, bool]] = []
        self.durations: dict[float, float] = {}
        for f in arch.faults:
            if f.az_outage is None:
                continue  # the other kinds: fluid/faults.py
            at = float(f.at or 0.0)
            self.faults.append((at, f.az_outage, True))
            if f.duration is not None:
                self.durations[at] = float(f.duration)
            if f.duration is not None:
                self.faults.append((at + float(f.duration), f.az_outage, False))
        self.faults.sort(key=lambda x: x[0])
        from cloudtwin.fluid.faults import schedule

        self.others = sorted(schedule(self), key=lambda x: x[0])
        self.timeline: list[dict[str, Any]] = []

    # ---- the loop ---------------------------------------------------------------------------
    def run(self) -> Results:
        start = time.perf_counter()
        t = 0.0
        steps = 0
        fi = 0
        next_minute = MINUTE
        steady = all(ld.factor is None for ld in self.loads.values()) and not self.flows.active
        oi = 0
        while t < self.horizon - 1e-9:
            while oi < len(self.others) and self.others[oi][0] <= t + 1e-9:
                at, detail, act = self.others[oi]
                oi += 1
                note = act(t)
                self.timeline.append({"t": at, "kind": "fault", "detail": detail + (f": {note}" if note else "")})
            while fi < len(self.faults) and self.faults[fi][0] <= t + 1e-9:
                at, zone, down = self.faults[fi]
                fi += 1
                entry: dict[str, Any] = {"t": at, "kind": "fault", "detail": f"az_outage {zone}"
                                         + ("" if down else " ends")}
                if down and at in self.durations:
                    entry["duration_s"] = self.durations[at]
                self.timeline.append(entry)
                for f in self.fleets.values():
                    f.zone_outage(at, zone, down)
                for note in self.flows.zone_outage(at, zone, down):
                    self.timeline.append({"t": at, "kind": "failover", "detail": note})
            for f in self.fleets.values():
                f.act(t)
            end = min(next_minute, self.horizon)
            if steady and not self.serverless and all(q == 0.0 for q in self.queue.values()):
                nxt = [f.next_change(t) for f in self.fleets.values()]
                nxt.append(self.faults[fi][0] if fi < len(self.faults) else math.inf)
                nxt.append(self.others[oi][0] if oi < len(self.others) else math.inf)
                dt = max(min(end, *nxt) - t, 1.0) if min(nxt) > t + 1.0 else 1.0
            else:
                dt = 1.0
            dt = min(dt, end - t)
            self._dt = dt
            self._step(t, dt)
            self.serverless.step(t, dt)
            steps += 1
            t = round(t + dt, 9)
            if t >= next_minute - 1e-9:
                for ld in self.loads.values():
                    ld.close_minute()
                self.serverless.close_minute()
                for f in self.fleets.values():
                    f.minute(t)
                self.flows.minute()
                next_minute += MINUTE
        self.steps = steps
        self.wall = time.perf_counter() - start
        from cloudtwin.fluid.results import assemble

        return assemble(self)

    def _step(self, t: float, dt: float) -> None:
        for ld in self.loads.values():
            if ld.sessions is not None:
                ld.sessions.step(t, dt)
        done = []
        for name in self.flows.order:  # callers before the fleets they call (fluid/downstream.py)
            d = self._fleet_step(name, self.fleets[name], t, dt)
            done.append(d)
            if self.flows.active:  # offer its calls: its callees' steps come after
                self.flows.started(name, t, dt, d[7], (d[3], d[4], d[5], sum(d[2]) + d[8], d[6]))
        if self.flows.active:  # the stations' answers, then each fleet's paths
            self.flows.step(t, dt, {d[0]: d[6] for d in done})
        for d in done:
            self._account(d[0], d[1], d[2], d[3], d[4], d[5], d[6], d[8])

    def _fleet_step(self, name: str, f: FluidFleet, t: float, dt: float) -> tuple[Any, ...]:
        """The fleet's queue over ``[t, t+dt)``: (name, loads, rates, share routed to dead targets,
        refused, lost, wait, requests/s started)."""
        loads = [ld for ld in self.loads.values() if ld.fleet is f]
        rates = [ld.rate(t) for ld in loads]
        inbound = self.flows.inbound(name, t)  # calls from other fleets through a balancer
        lam = sum(rates) + inbound
        live, dead = f.routed(t)
        q = self.queue[name]
        lost = 0.0
        if live < self.prev_live[name] and q > 0:  # a dead instance's queue is refused
            keep = live / self.prev_live[name] if self.prev_live[name] else 0.0
            lost, q = q * (1.0 - keep), q * keep
        self.prev_live[name] = live
        share_dead = dead / (live + dead) if live + dead else 1.0
        lam_ok = lam * (1.0 - share_dead)
        refused = 0.0
        if live == 0:
            wait, busy = NO_WAIT, 0.0
            lost += q
            q = 0.0
        else:
            mu = live * f.c / f.s
            a_i = lam_ok / live * f.s
            lam_i = float(f"{lam_ok / live:.4g}")  # the rate the wait is computed at (cached by it)
            if q > 0.0 or a_i >= f.c or lam_i * f.s >= f.c:
                q_new = max(q + (lam_ok - mu) * dt, 0.0)
                cap = live * float(f.backlog)
                if q_new > cap:
                    refused, q_new = q_new - cap, cap
                wait = Wait(0.0, 1.0, (q + q_new) / 2.0 / mu)
                busy = float(f.c) if q_new > 0 or a_i >= f.c else a_i
                self.overload_s[name] += dt
                q = q_new
            else:
                ca2 = (1.0 / live if self.loads and all(ld.poisson for ld in loads) else 0.0) \
                    if all(ld.lb is None or ld.lb.type != "nlb" for ld in loads) else 1.0
                wait = allen_cunneen(lam_i, f.s, f.c, ca2, f.cs2)
                busy = a_i
        self.queue[name] = q
        f.accumulate(t, dt, busy, live)
        started = max(lam_ok - refused / dt, 0.0) if dt > 0 else 0.0
        return name, loads, rates, share_dead, refused, lost, wait, started, inbound

    def _account(self, name: str, loads: list[_Load], rates: list[float], share_dead: float, refused: float,
                 lost: float, wait: Wait, inbound: float = 0.0) -> None:
        lam = sum(rates) + inbound
        calls = self.flows.calls.get(name)
        for ld, r in zip(loads, rates, strict=True):
            share = r / lam if lam > 0 else 0.0
            n = r * self._dt
            unavailable = n * share_dead + share * (refused + lost)
            ok_in = max(n * (1.0 - share_dead) - share * refused, 0.0)
            if calls is None:
                to = ok_in * ld.timed_out(wait)
                good = ok_in - to
                ld.total.add(wait, good)
                ld.minute.add(wait, good)
                self.fleet_mix[name].add(wait, good)
                failed = 0.0
            else:
                good, to, errs = calls.account(ld, ok_in, self.fleet_mix[name])
                failed = 0.0
                for k, v in errs.items():
                    ld.errors[k] = ld.errors.get(k, 0.0) + v
                    failed += v
            ld.requests += n
            ld.ok += good
            ld.errors["unavailable"] += unavailable
            ld.errors["timeout"] += to
            ld.m_req += n
            ld.m_err += unavailable + to + failed
            self.fleet_req[name] += ok_in + share * (refused + lost)
            self.fleet_err[name] += share * (refused + lost) + failed
        if inbound > 0.0:  # the calls other fleets sent it (their outcome: fluid/chain.py)
            share = inbound / lam
            n = inbound * self._dt
            lost_in = n * share_dead + share * (refused + lost)
            bad = sum(calls.outs[0][1].values()) * (n - lost_in) if calls is not None else 0.0
            good_in = max(n - lost_in - bad, 0.0)
            self.fleet_req[name] += n
            self.fleet_err[name] += lost_in + bad
            if calls is not None:
                calls_mix: Any = self.fleet_mix[name]
                calls_mix.add_path(0, calls.outs[0][0], good_in)
            else:
                self.fleet_mix[name].add(wait, good_in)
