"""Downstream components in the fluid engine: what a handler's ``call`` step meets there.

Each station answers, per step and per operation, with the wait before service (a
:class:`~cloudtwin.fluid.queueing.Wait`) and the shares of calls that fail, by error kind.
Its own delays (service, the store's latency draw) are drawn once into the caller's
response-time points (:mod:`cloudtwin.fluid.calls`). As the exact engine models them:

* ``rds`` (:mod:`cloudtwin.services.rds`): each DB instance is a G/G/c station with ``c``
  the class's vCPUs; ``write`` runs on the primary, ``query``/``read`` on the read replicas
  (round robin) when there are any, else on the primary. Service times are draws of
  ``query``/``write``; the mixture's mean and SCV give Allen–Cunneen's wait. At or above
  saturation the backlog is a fluid; connections past ``max_connections`` fail
  ``server_error``. A Multi-AZ write waits for the standby: one cross-AZ round trip plus
  0.5 ms (the exact engine's assumption) [aws-facts §11 "extra commit latency"]. The primary is
  ``unavailable`` for the mean of ``failover_time`` after a ``db_failover`` fault or its
  zone going down (60-120 s by default [aws-facts §11]); a single-AZ primary stays down
  while its zone is.
* ``elasticache`` (:mod:`cloudtwin.services.elasticache`): no queue; each reply after a
  ``latency`` draw. A shard whose primary is lost is ``unavailable`` for the mean
  ``failover_time`` with a replica (3-10 s [aws-facts §11]), else until its zone returns
  (and comes back empty). Hit ratios: :mod:`cloudtwin.fluid.cache_flow`.
* ``dynamodb`` (:mod:`cloudtwin.services.dynamodb`): a ``latency`` draw; capacity units as
  the exact engine counts them, a provisioned table's bucket with 300 s of burst
  [aws-facts §11 DynamoDB burst capacity] and each partition's 3,000 RCU / 1,000 WCU
  [aws-facts §11 DynamoDB partition limit]: what does not fit is ``throttled`` (an error
  flow). An on-demand table is held to its new-table allowance (12,000 RRU/s, 4,000 WRU/s).
* ``s3`` (:mod:`cloudtwin.services.s3`): a ``latency`` draw; each partitioned prefix takes
  3,500 writes and 5,500 reads a second [aws-facts §12 Request rate], the rest ``throttled``.

Injected ``latency`` and ``errors`` faults on a station add their mean delay to every
call's wait, or fail that share of calls ``server_error``, for their duration.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.queueing import NO_WAIT, Wait

STATIONS = ("rds", "elasticache", "dynamodb", "s3")
INF = math.inf
Outcome = tuple[Wait, dict[str, float]]


class Station:
    """What every station has: offered rates per op this step, fault windows, counts."""

    kind = ""

    def __init__(self, name: str, spec: Any, arch: Any, seed: int) -> None:
        self.name, self.spec, self.arch, self.seed = name, spec, arch, seed
        self.rates: dict[str, float] = {}
        self.out: dict[str, Outcome] = {}
        self.requests = self.errors = 0.0
        self.errors_by: dict[str, float] = {}
        self.delays: list[tuple[float, float, float]] = []  # (from, until, seconds) injected latency
        self.failing: list[tuple[float, float, float]] = []  # (from, until, share) injected errors
        self.minute_util: list[float] = []
        self.events: list[dict[str, Any]] = []  # recoveries, for the timeline
        self.busy = 0.0

    def endpoint_zone(self) -> str:
        return ""

    def own(self, op: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws of a call's own delay here (service or latency), without any wait.
        Abstract: every kind of station (rds, fleet, latency stations) defines it."""
        raise NotImplementedError(f"{type(self).__name__} must define own")

    def offer(self, op: str, rate: float) -> None:
        self.rates[op] = self.rates.get(op, 0.0) + rate

    def outcome(self, op: str) -> Outcome:
        return self.out.get(op, (NO_WAIT, {}))

    def fail_share(self, op: str, t: float) -> float:
        """The share of calls ``op`` that fail at ``t``, before this step is resolved: the injected
        errors and outages now, and last step's throttling."""
        inj = 1.0 - math.prod(1.0 - r for a, b, r in self.failing if a <= t < b)
        thr = self.outcome(op)[1].get("throttled", 0.0)
        return 1.0 - (1.0 - inj) * (1.0 - self._down(op, t)) * (1.0 - thr)

    def _down(self, op: str, t: float) -> float:
        return 0.0

    def resolve(self, t: float, dt: float) -> None:
        """Waits and error shares of this step's offered rates; counts them; clears the rates."""
        shift = sum(s for a, b, s in self.delays if a <= t < b)
        fail = 1.0 - math.prod(1.0 - r for a, b, r in self.failing if a <= t < b)
        self.out = {}
        for op, rate in self.rates.items():
            w, errs = self._serve(op, rate, t, dt)
            if fail > 0.0:  # an injected-errors fault runs before the store (Component.handle)
                errs = {k: v * (1.0 - fail) for k, v in errs.items()}
                errs["server_error"] = errs.get("server_error", 0.0) + fail
            if shift > 0.0:
                w = Wait(w.p, w.rate, w.shift + shift)
            self.out[op] = (w, errs)
            n = rate * dt
            self.requests += n
            for k, v in errs.items():
                self.errors += n * v
                self.errors_by[k] = self.errors_by.get(k, 0.0) + n * v
        self._after(t, dt)
        self.rates = {}

    def _serve(self, op: str, rate: float, t: float, dt: float) -> Outcome:
        return NO_WAIT, {}

    def _after(self, t: float, dt: float) -> None:
        """Per-step bookkeeping after the ops are served (queues, buckets)."""

    def recovers(self, t: float, detail: str) -> None:
        self.events.append({"t": t, "kind": "recovery", "detail": detail})

    def minute(self) -> None:
        """Close one minute of the station's series."""

    # faults
    def zone_outage(self, t: float, zone: str, down: bool) -> str | None:
        return None

    def failover(self, t: float) -> str:
        raise ValueError(f"{self.kind} {self.name} has no failover")

    def stats(self) -> dict[str, Any]:
        return {}

class LatencyStation(Station):
    """A store that answers after a ``latency`` draw, with no queue: elasticache, dynamodb, s3."""

    def own(self, op: str, rng: np.random.Generator, n: int) -> np.ndarray:
        draw = make_sampler(self.spec.latency, rng)
        return np.array([draw() for _ in range(n)])

def make(name: str, spec: Any, arch: Any, seed: int) -> Station:
    from cloudtwin.fluid.cache_station import CacheStation
    from cloudtwin.fluid.dynamodb_station import TableStation
    from cloudtwin.fluid.rds_station import RdsStation
    from cloudtwin.fluid.s3_station import BucketStation

    cls = {"rds": RdsStation, "elasticache": CacheStation, "dynamodb": TableStation, "s3": BucketStation}[spec.type]
    return cls(name, spec, arch, seed)
