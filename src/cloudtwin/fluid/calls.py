"""A fleet handler's ``call`` steps in the fluid engine: paths, their shares, waits and errors.

In the exact engine (:mod:`cloudtwin.handler`) a ``call`` does not hold the caller's worker:
only ``cpu`` steps take a slot, so a call is a delay of the request (the hop's round trip
plus the callee's response), like a ``sleep`` whose length depends on the callee's load.
The fleet's queue is therefore unchanged by its calls; the request's response time grows
by each callee's sojourn (its wait and own delay).

A handler is expanded into *paths*: a cache ``get`` forks into a hit (the handler goes on)
and a miss (its ``on_miss`` steps run first). A path's share at each step is the product
of its gets' hit or miss ratios (:mod:`cloudtwin.fluid.cache_flow`). Each path has its own
response-time points (the fleet's own delays, the ``sleep`` steps of its ``on_miss``
branches, and every call's hop and callee delay, drawn once) and, each step, one wait:
the fleet's wait plus every callee's, their exact sum (:mod:`cloudtwin.fluid.sumwait`), and
error shares: a call that fails ends the request with that error (no ``retries`` here), so later calls are offered only
the survivors.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.cache_flow import CacheFlow, key_probabilities
from cloudtwin.fluid.fleet import POINTS, _seed
from cloudtwin.fluid.queueing import Wait, invert_cdf
from cloudtwin.fluid.stations import Station
from cloudtwin.fluid.sumwait import SumMix, SumWait, sum_exceeds, sum_of
from cloudtwin.spec.steps import CallStep, SleepStep

MAX_PATHS = 16


class Call:
    """One call step: its station, op, client timeout and retries, and its own delays' points."""

    def __init__(self, station: Station, op: str, timeout: float | None = None, retries: int = 0,
                 backoff: float = 0.1) -> None:
        self.station, self.op = station, op
        self.timeout, self.retries, self.backoff = timeout, retries, backoff
        self.points: np.ndarray | None = None  # hop + the callee's own delays (for the timeout)
        self.cuts: dict[Any, float] = {}

    def attempt(self, t: float | None = None) -> tuple[Any, dict[str, float]]:
        """(wait, error shares) of one attempt: the callee's, plus the share past the timeout."""
        w, e = self.station.outcome(self.op)
        if self.timeout is None or self.points is None:
            return w, e
        sw = sum_of([w])
        cut = self.cuts.get(sw)
        if cut is None:
            cut = self.cuts[sw] = sum_exceeds(self.points, sw, self.timeout)
        if cut <= 0.0:
            return w, e
        ok = 1.0 - sum(e.values())
        return w, {**e, "timeout": e.get("timeout", 0.0) + ok * cut}

    def final(self, errs: dict[str, float]) -> tuple[dict[str, float], float]:
        """(error shares after the retries, attempts per call): every attempt fails alike, each
        retryable error is retried (timeout, throttled, unavailable, server_error)."""
        f = min(sum(errs.values()), 1.0)
        if self.retries <= 0 or f <= 0.0:
            return errs, 1.0
        fail = f ** (self.retries + 1)
        tries = sum(f**k for k in range(self.retries + 1))
        return {k: v / f * fail for k, v in errs.items()}, tries

    def retry_delay(self, errs: dict[str, float]) -> list[Wait]:
        """The delays a success spends on failed tries before it, one wait per retry ``i``: with per-try
        failure ``f`` a success follows k failures with probability proportional to ``f^k``
        (k <= retries), so retry i happened with probability ``sum_{k >= i} f^k / sum_k f^k``; it
        costs its backoff, uniform in (0, backoff x 2^i) as the exact engine's full jitter (mean half
        that), plus the failed try's own time (the timeout for a timed-out try, else nothing: an
        error answers at once). Each retry's delay is taken as exponential with that mean, and the
        retries as independent (they are nested: retry 2 only after retry 1); stated in validity."""
        f = min(sum(errs.values()), 1.0)
        if self.retries <= 0 or f <= 0.0 or f >= 1.0:
            return []
        each = (errs.get("timeout", 0.0) / f) * (self.timeout or 0.0)
        weights = [f**k for k in range(self.retries + 1)]
        total = sum(weights)
        out = []
        for i in range(1, self.retries + 1):
            p = sum(weights[i:]) / total
            mean = self.backoff * 2**i / 2.0 + each
            if p >= 0.0005 and mean > 0:
                out.append(Wait(p, 1.0 / mean))
        return out


class Path:
    def __init__(self, decisions: list[tuple[int, bool]], calls: list[Call], sleeps: list[Any]) -> None:
        self.decisions, self.calls, self.sleeps = decisions, calls, sleeps


def comonotone(waits: list[Any]) -> Any:
    """The waits of one request's calls to the same station: they meet the same queue moments apart,
    so they are taken as fully dependent (one wait of the largest probability and the summed mean)
    rather than independent."""
    if len(waits) == 1:
        return waits[0]
    if not all(isinstance(w, Wait) for w in waits):
        return sum_of(waits)  # several calls to one fleet: its parts, as independent
    shift = sum(w.shift for w in waits)
    p = max(w.p for w in waits)
    mean = sum(w.p / w.rate for w in waits if w.p > 0)
    return Wait(p, p / mean, shift) if p > 0 and mean > 0 else Wait(0.0, 1.0, shift)


class PathMix:
    """Response times over several paths, each a :class:`SumMix` on its own points."""

    def __init__(self, mixes: list[SumMix]) -> None:
        self.mixes = mixes

    @property
    def weight(self) -> float:
        return sum(m.weight for m in self.mixes)

    @property
    def points(self) -> np.ndarray:
        return np.sort(np.concatenate([m.points for m in self.mixes]))

    def empty(self) -> PathMix:
        return PathMix([m.empty() for m in self.mixes])

    def add_path(self, i: int, w: SumWait, weight: float) -> None:
        self.mixes[i].add(w, weight)

    def add(self, w: Any, weight: float) -> None:
        """Add a :meth:`summary` (a list of (path, wait, share)) with total ``weight``."""
        for i, wi, share in w:
            self.mixes[i].add(wi, weight * share)

    def summary(self) -> list[tuple[int, Wait, float]]:
        tot = self.weight
        return [(i, m.summary(), m.weight / tot) for i, m in enumerate(self.mixes) if m.weight > 0]

    def cdf(self, t: np.ndarray) -> np.ndarray:
        tot = self.weight
        out = np.zeros(np.shape(t))
        for m in self.mixes:
            if m.weight > 0:
                out += m.weight * m.cdf(t)
        return out / tot if tot > 0 else out + 1.0

    def quantiles(self, qs: tuple[float, ...]) -> list[float]:
        live = [m for m in self.mixes if m.weight > 0]
        if not live:
            return [0.0 for _ in qs]
        top = max(m.top() for m in live)
        lo = max(min(float(m.points[0]) for m in live) * 0.5, top * 1e-6, 1e-7)
        grid = np.concatenate(([0.0], np.geomspace(lo, top * 1.01, 300)))
        f = np.maximum.accumulate(self.cdf(grid))
        return invert_cdf(grid, f, qs)

    def mean(self) -> float:
        tot = self.weight
        return sum(m.weight * m.mean() for m in self.mixes) / tot if tot > 0 else 0.0


class CallFlow:
    """The calls of one fleet's handler: its paths, its cache gets, and what they meet each step."""

    def __init__(self, fleet: Any, stations: dict[str, Station], arch: Any, seed: int,
                 session_store: Station | None = None) -> None:
        self.fleet = fleet
        self.stations = stations
        self.gets: list[tuple[Any, CallStep]] = []  # (cache station, get step)
        self.paths = self._expand(list(fleet.spec.handler), top=True)
        if session_store is not None:  # the instance runs the session lookup first (services/fleet.py)
            for p in self.paths:
                p.calls.insert(0, Call(session_store, "session"))
        self.flows: list[CacheFlow] = []
        offered = None
        for cache, st in self.gets:
            ttl = next((float(s.ttl) for s in (st.on_miss or []) if isinstance(s, CallStep)
                        and s.target == cache.name and s.op == "set" and s.ttl), None)
            _, pmf = key_probabilities(st.key, seed, f"{fleet.name}.{cache.name}")
            warm = None
            if cache.spec.warm:
                from cloudtwin.runsize import offered_rates

                offered = offered if offered is not None else offered_rates(arch)
                warm = offered.get(fleet.name, 0.0)
            flow = CacheFlow(pmf, ttl, warm_rate=warm)
            self.flows.append(flow)
            cache.flows.append(flow)
        zones = fleet.zones
        rng = np.random.default_rng(_seed(f"{seed}:{fleet.name}:calls"))
        same = make_sampler(arch.network.same_az, rng)
        cross = make_sampler(arch.network.cross_az, rng)
        self.points: list[np.ndarray] = []
        for path in self.paths:
            pts = fleet.own.copy()
            for d in path.sleeps:
                draw = make_sampler(d, rng)
                pts += np.array([draw() for _ in range(POINTS)])
            for c in path.calls:
                ez = c.station.endpoint_zone()
                share = sum(1 for z in zones if ez and z != ez) / len(zones)  # callers in other zones
                u = rng.random(POINTS)
                hop = np.array([cross() if x < share else same() for x in u])
                own = hop + c.station.own(c.op, rng, POINTS)
                if c.timeout is not None and c.points is None:
                    c.points = own[:: max(1, POINTS // 2000)].copy()
                pts += own
            self.points.append(pts)
        self.hit = [0.0] * len(self.flows)
        self.share = [0.0] * len(self.paths)
        self.outs: list[tuple[SumWait, dict[str, float]]] = []
        self.worst = 0.0  # the largest share of a path's requests that failed downstream in one step

    def _expand(self, steps: list[Any], *, top: bool) -> list[Path]:
        paths = [Path([], [], [])]
        for st in steps:
            if isinstance(st, SleepStep):
                if not top:
                    for p in paths:
                        p.sleeps.append(st.sleep)
                continue
            if not isinstance(st, CallStep):
                continue  # cpu steps are the fleet's service (support refuses them in on_miss)
            station = self.stations[st.target]
            call = Call(station, st.op, float(st.timeout) if st.timeout is not None else None, st.retries,
                        float(st.backoff))
            if station.kind == "elasticache" and st.op in ("get", ""):
                gi = len(self.gets)
                self.gets.append((station, st))
                sub = self._expand(list(st.on_miss or []), top=False)
                new: list[Path] = []
                for p in paths:
                    new.append(Path([*p.decisions, (gi, True)], [*p.calls, call], list(p.sleeps)))
                    for q in sub:
                        new.append(Path([*p.decisions, (gi, False), *q.decisions], [*p.calls, call, *q.calls],
                                        [*p.sleeps, *q.sleeps]))
                paths = new
            else:
                for p in paths:
                    p.calls.append(call)
        return paths[:MAX_PATHS]

    # ---- each step -------------------------------------------------------------------------------
    def offer(self, t: float, dt: float, served: float) -> None:
        """Advance the cache flows and offer this step's calls (``served`` requests/s start the handler)."""
        for gi, flow in enumerate(self.flows):
            cache = self.stations[self.gets[gi][0].name]
            ok_get = 1.0 - cache.fail_share("get", t)
            set_share = self._set_share(gi, t)
            self.hit[gi] = flow.step(served * ok_get, dt, set_share)
        for i, path in enumerate(self.paths):
            share = 1.0
            for gi, hit in path.decisions:
                share *= self.hit[gi] if hit else 1.0 - self.hit[gi]
            self.share[i] = share
            alive = served * share
            for c in path.calls:
                if alive <= 0.0:
                    break
                f = c.station.fail_share(c.op, t)
                fails, tries = c.final({"e": f})
                c.station.offer(c.op, alive * tries)
                alive *= 1.0 - fails.get("e", 0.0)

    def _set_share(self, gi: int, t: float) -> float:
        """The share of gi's misses that reach its ``set`` (the calls before it in ``on_miss`` succeed)."""
        _, st = self.gets[gi]
        ok = 1.0
        for s in st.on_miss or []:
            if isinstance(s, CallStep):
                station = self.stations[s.target]
                if station is self.gets[gi][0] and s.op == "set":
                    return ok
                ok *= 1.0 - station.fail_share(s.op, t)
        return 0.0

    def resolve(self, fleet_wait: Wait) -> None:
        """Each path's wait and error shares, after the stations resolved this step."""
        self.outs = []
        for path in self.paths:
            at: dict[str, list[Wait]] = {}
            errs: dict[str, float] = {}
            alive = 1.0
            delays = []
            for c in path.calls:
                w, e = c.attempt()
                delays.extend(c.retry_delay(e))
                e, _ = c.final(e)
                at.setdefault(c.station.name, []).append(w)
                for k, v in e.items():
                    errs[k] = errs.get(k, 0.0) + alive * v
                alive *= 1.0 - sum(e.values())
            self.worst = max(self.worst, sum(errs.values()))
            waits = [fleet_wait, *(comonotone(ws) for ws in at.values()), *delays]
            self.outs.append((sum_of(waits), errs))

    def account(self, ld: Any, ok_in: float, fleet_mix: PathMix) -> tuple[float, float, dict[str, float]]:
        """Split ``ok_in`` requests of workload ``ld`` over the paths: (good, timed out, errors by kind)."""
        good = to = 0.0
        errors: dict[str, float] = {}
        for i, (w, errs) in enumerate(self.outs):
            n = ok_in * self.share[i]
            if n <= 0.0:
                continue
            bad = 0.0
            for k, v in errs.items():
                errors[k] = errors.get(k, 0.0) + n * v
                bad += n * v
            rest = max(n - bad, 0.0)
            cut = rest * self._timed_out(ld, i, w)
            g = rest - cut
            good += g
            to += cut
            ld.total.add_path(i, w, g)
            ld.minute.add_path(i, w, g)
            fleet_mix.add_path(i, w, g)
        return good, to, errors

    def _timed_out(self, ld: Any, i: int, w: SumWait) -> float:
        if ld.spec.timeout is None:
            return 0.0
        key = (i, w)
        got = ld.path_cuts.get(key)
        if got is None:
            got = ld.path_cuts[key] = sum_exceeds(ld.path_points[i], w, float(ld.spec.timeout))
        return float(got)

    # ---- the mixtures ---------------------------------------------------------------------------
    def attach(self, ld: Any, lb_points: np.ndarray | None) -> None:
        """Give workload ``ld`` per-path mixtures (its points: each path's plus the balancer's)."""
        pts = [p + lb_points if lb_points is not None else p for p in self.points]
        ld.path_points = pts
        ld.path_cuts = {}
        cap = float(ld.spec.timeout) if ld.spec.timeout is not None else None
        ld.total = PathMix([SumMix(p, cap=cap) for p in pts])
        ld.sub = PathMix([SumMix(p, 250, cap=cap) for p in pts])
        ld.minute = ld.sub.empty()

    def fleet_mix(self) -> PathMix:
        return PathMix([SumMix(p) for p in self.points])
