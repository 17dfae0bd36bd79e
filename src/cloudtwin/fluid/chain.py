"""A fleet called through its load balancer by another fleet's handler (``call: orders-lb``):
the callee as a station of the caller (:mod:`cloudtwin.fluid.calls`).

The callee fleet queues the calls it is sent like requests of a workload (its own
:class:`~cloudtwin.fluid.fleet.FluidFleet` step, in the run's order: callers first), and
answers with its response: the balancer's latency, the fleet's own delays and its calls
(drawn once), and a wait that is the sum of the fleet's and its callees' waits this step.
It fails a call ``unavailable`` when the balancer routes it to a dead target or the fleet
refuses it, and with whatever its own calls failed with. An ``errors`` fault on the
balancer fails that share ``server_error`` before the fleet sees it (as the exact engine's
injected step does); ``latency`` adds its mean. Only callees with one path (no cache
``get``) are modelled: their response is then one distribution.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.fleet import _seed
from cloudtwin.fluid.queueing import NO_WAIT, Wait
from cloudtwin.fluid.stations import Station
from cloudtwin.fluid.sumwait import SumWait, sum_of


class FleetStation(Station):
    kind = "fleet"

    def __init__(self, name: str, lb: Any, fleet: Any, arch: Any, seed: int) -> None:
        super().__init__(name, lb, arch, seed)
        self.fleet = fleet
        self.flow: Any = None  # the callee's CallFlow, if its handler calls on
        self.inbound = 0.0  # calls/s reaching the fleet this step
        self.dead = self.refused = 0.0
        self.wait: Wait = NO_WAIT
        self.answer: tuple[SumWait, dict[str, float]] = (sum_of([]), {})
        self.healthy_min = math.inf
        self.healthy_now = 0
        self.behind = 0.0  # the share of the calls past the balancer that failed last step

    def own(self, op: str, rng: np.random.Generator, n: int) -> np.ndarray:
        pts = self.flow.points[0] if self.flow is not None else self.fleet.own
        draw = make_sampler(self.spec.latency, np.random.default_rng(_seed(f"{self.seed}:{self.name}:lb")))
        out: np.ndarray = rng.choice(pts, n) + np.array([draw() for _ in range(n)])
        return out

    def injected(self, t: float) -> float:
        return 1.0 - math.prod(1.0 - r for a, b, r in self.failing if a <= t < b)

    def arriving(self, t: float) -> float:
        """Calls/s that reach the fleet this step (past the balancer's injected errors)."""
        self.inbound = sum(self.rates.values()) * (1.0 - self.injected(t))
        return self.inbound

    def fleet_done(self, share_dead: float, refused: float, lost: float, lam: float, dt: float,
                   wait: Wait) -> None:
        """The callee fleet's step: shares of its arrivals routed to dead targets, refused or lost."""
        self.dead = share_dead
        self.refused = (refused + lost) / (lam * dt) if lam > 0 and dt > 0 else 0.0
        self.wait = wait

    def fail_share(self, op: str, t: float) -> float:
        """The balancer's injected errors now, and what the fleet failed of the rest last step."""
        return 1.0 - (1.0 - self.injected(t)) * (1.0 - self.behind)

    def resolve(self, t: float, dt: float) -> None:
        """After the callee's own calls resolved: its answer to its callers this step."""
        inj = self.injected(t)
        shift = sum(s for a, b, s in self.delays if a <= t < b)
        if self.flow is not None:
            w, errs = self.flow.outs[0]
        else:
            w, errs = sum_of([self.wait]), {}
        bad = min(self.dead + self.refused, 1.0)
        out = {k: (1.0 - inj) * (1.0 - bad) * v for k, v in errs.items()}
        if bad > 0:
            out["unavailable"] = out.get("unavailable", 0.0) + (1.0 - inj) * bad
        if inj > 0:
            out["server_error"] = out.get("server_error", 0.0) + inj
        if shift > 0:
            w = SumWait(w.parts, w.shift + shift)
        self.answer = (w, out)
        self.behind = bad + (1.0 - bad) * sum(errs.values())
        n = sum(self.rates.values()) * dt
        self.requests += n
        for k, v in out.items():
            self.errors += n * v
            self.errors_by[k] = self.errors_by.get(k, 0.0) + n * v
        self.healthy_now = self.fleet.routed(t)[0]
        self.healthy_min = min(self.healthy_min, self.healthy_now)
        self.rates = {}

    def outcome(self, op: str) -> Any:
        return self.answer

    def stats(self) -> dict[str, Any]:
        f = self.fleet
        lo = int(self.healthy_min) if self.healthy_min < math.inf else 0
        return {"type": self.spec.type, "healthy_targets": {"min": lo, "max": int(max(f.in_service_range[1], 0)),
                                                            "now": self.healthy_now}}
