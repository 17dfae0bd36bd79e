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
from cloudtwin.fluid.fleet import _seed, dist_mean, dist_var
from cloudtwin.fluid.queueing import NO_WAIT, Wait, allen_cunneen
from cloudtwin.services.dynamodb import (
    BURST_SECONDS,
    PARTITION_RCU,
    PARTITION_WCU,
    READ_UNIT,
    READS,
    WRITE_UNIT,
    key_hash,
)
from cloudtwin.services.rds import STANDBY_FLUSH
from cloudtwin.services.rds_nodes import default_max_connections
from cloudtwin.services.s3 import RATE as S3_RATE
from cloudtwin.sizes import data_row

STATIONS = ("rds", "elasticache", "dynamodb", "s3")
INF = math.inf
CLOSED = ("const", "exp", "lognormal", "uniform")  # dist_var has their variance in closed form
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
        self.busy = 0.0

    def endpoint_zone(self) -> str:
        return ""

    def own(self, op: str, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` draws of a call's own delay here (service or latency), without any wait."""
        raise NotImplementedError

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

    def minute(self) -> None:
        """Close one minute of the station's series."""

    # faults
    def zone_outage(self, t: float, zone: str, down: bool) -> str | None:
        return None

    def failover(self, t: float) -> str:
        raise ValueError(f"{self.kind} {self.name} has no failover")

    def stats(self) -> dict[str, Any]:
        return {}


class _Queue:
    """One DB instance as a G/G/c station with a fluid backlog when saturated."""

    def __init__(self, zone: str, c: int, cap: int) -> None:
        self.zone, self.c, self.cap = zone, c, cap
        self.q = 0.0
        self.down_until = -INF
        self.down_from = INF

    def up(self, t: float) -> bool:
        return not self.down_from <= t < self.down_until

    def step(self, lam: float, s: float, cs2: float, ca2: float, dt: float) -> tuple[Wait, float, float]:
        """(wait, share refused, busy servers) for arrivals ``lam``/s of mean service ``s``."""
        if lam <= 0.0 or s <= 0.0:
            self.q = max(self.q - self.c / s * dt, 0.0) if s > 0 else 0.0
            return NO_WAIT, 0.0, 0.0
        mu = self.c / s
        a = lam * s
        if self.q > 0.0 or a >= self.c:
            q0 = self.q
            q1 = max(q0 + (lam - mu) * dt, 0.0)
            room = max(self.cap - self.c, 0)
            refused = 0.0
            if q1 > room:
                refused, q1 = q1 - room, float(room)
            self.q = q1
            return Wait(0.0, 1.0, (q0 + q1) / 2.0 / mu), refused / (lam * dt), float(self.c)
        return allen_cunneen(float(f"{lam:.4g}"), s, self.c, ca2, cs2), 0.0, a


class RdsStation(Station):
    kind = "rds"

    def __init__(self, name: str, spec: Any, arch: Any, seed: int) -> None:
        super().__init__(name, spec, arch, seed)
        row = data_row("db_instance_classes.csv", spec.instance_class)
        assert row is not None  # checked with the spec
        self.vcpus = int(row["vcpus"])
        cap = spec.max_connections or default_max_connections(spec.engine, float(row["memory_gib"]))
        zones = list(arch.zones)
        pz = spec.zone or zones[0]
        others = [z for z in zones[zones.index(pz) + 1:] + zones[:zones.index(pz)]] or [pz]
        self.multi_az = spec.topology == "multi_az_instance"
        self.standby = others[0] if self.multi_az else ""
        self.primary = _Queue(pz, self.vcpus, cap)
        self.readers = [_Queue(others[j % len(others)], self.vcpus, cap) for j in range(spec.read_replicas)]
        fo = spec.failover_time
        self.fo = dist_mean(fo, f"{seed}:{name}:failover") if fo is not None else 90.0  # 60-120 s [aws-facts §11]
        self.moments: dict[str, tuple[float, float]] = {}
        for op, d in (("query", spec.query), ("write", spec.write)):
            draw = make_sampler(d, np.random.default_rng(_seed(f"{seed}:{name}:{op}")))
            draws = np.array([draw() for _ in range(2000)]) if d.kind not in CLOSED else np.zeros(1)
            self.moments[op] = (d.mean, dist_var(d, draws))
        self.reads = self.writes = 0.0
        self.util_acc = 0.0
        self.util_series: list[float] = []
        self.failovers = 0

    def endpoint_zone(self) -> str:
        return self.primary.zone

    def _is_write(self, op: str) -> bool:
        return op == "write"

    def _down(self, op: str, t: float) -> float:
        if self._is_write(op) or not any(r.up(t) for r in self.readers):
            return 0.0 if self.primary.up(t) else 1.0
        return 0.0

    def own(self, op: str, rng: np.random.Generator, n: int) -> np.ndarray:
        d = self.spec.write if self._is_write(op) else self.spec.query
        draw = make_sampler(d, rng)
        out = np.array([draw() for _ in range(n)])
        if self._is_write(op) and self.multi_az:
            cross = make_sampler(self.arch.network.cross_az, rng)
            out += np.array([cross() for _ in range(n)]) + STANDBY_FLUSH
        return out

    def resolve(self, t: float, dt: float) -> None:
        p, rs = self.primary, [r for r in self.readers if r.up(t)]
        reads = sum(v for k, v in self.rates.items() if not self._is_write(k))
        writes = sum(v for k, v in self.rates.items() if self._is_write(k))
        self.reads += reads * dt
        self.writes += writes * dt
        self._node_out: dict[str, Outcome] = {}
        # the primary: writes, and reads when no replica is up
        lam_p = writes + (reads if not rs else 0.0)
        if not p.up(t):
            w_p: Outcome = (NO_WAIT, {"unavailable": 1.0})
            p.q = 0.0
        else:
            mix = [("write", writes)] + ([("query", reads)] if not rs else [])
            w_p = self._node(p, mix, lam_p, 1.0, dt, t)
        self._node_out["write"] = w_p
        if rs:
            per = reads / len(rs)
            w_r = self._node(rs[0], [("query", per)], per, 1.0 / len(rs), dt, t)
            for r in rs[1:]:
                r.q = rs[0].q
        else:
            w_r = w_p
        self._node_out["read"] = w_r
        super().resolve(t, dt)

    def _node(self, node: _Queue, mix: list[tuple[str, float]], lam: float, ca2: float, dt: float,
              t: float) -> Outcome:
        if lam <= 0.0:
            node.step(0.0, self.moments["query"][0], 1.0, 1.0, dt)
            return NO_WAIT, {}
        m1 = sum(r * self.moments[o][0] for o, r in mix) / lam
        m2 = sum(r * (self.moments[o][1] + self.moments[o][0] ** 2) for o, r in mix) / lam
        cs2 = max(m2 / (m1 * m1) - 1.0, 0.0)
        w, refused, busy = node.step(lam, m1, cs2, ca2, dt)
        if node is self.primary:
            self.util_acc += busy / node.c * dt
        return w, ({"server_error": refused} if refused > 0 else {})

    def _serve(self, op: str, rate: float, t: float, dt: float) -> Outcome:
        return self._node_out["write" if self._is_write(op) else "read"]

    def minute(self) -> None:
        self.util_series.append(round(self.util_acc / 60.0, 4))
        self.util_acc = 0.0

    def zone_outage(self, t: float, zone: str, down: bool) -> str | None:
        p = self.primary
        for r in self.readers:
            if r.zone == zone:
                r.down_from, r.down_until = (t, INF) if down else (r.down_from, t)
        if down and p.zone == zone and p.up(t):
            if self.multi_az and self.standby != zone:
                p.down_from, p.down_until = t, t + self.fo
                p.zone, self.standby = self.standby, zone
                self.failovers += 1
                return (f"{self.name}: primary in {zone} lost (zone {zone} down); failing over to the standby "
                        f"in {p.zone}, back in {self.fo:.0f}s (mean failover_time)")
            p.down_from, p.down_until = t, INF
            return f"{self.name}: primary in {zone} unavailable (zone {zone} down); no standby to fail over to"
        if not down and p.zone == zone and p.down_until == INF:
            p.down_until = t
            return f"{self.name}: primary available in {zone}"
        return None

    def failover(self, t: float) -> str:
        p = self.primary
        p.down_from, p.down_until = t, t + self.fo
        p.q = 0.0
        if self.multi_az:
            p.zone, self.standby = self.standby, p.zone
            self.failovers += 1
            how = f"failing over to the standby in {p.zone}"
        else:
            how = f"rebooting in {p.zone}"
        return f"{self.name}: primary lost (failover fault); {how}, back in {self.fo:.0f}s (mean failover_time)"

    def stats(self) -> dict[str, Any]:
        u = self.util_series
        return {"reads": round(self.reads), "writes": round(self.writes), "failovers": self.failovers,
                "utilization": round(sum(u) / len(u), 6) if u else 0.0, "primary_zone": self.primary.zone}


class LatencyStation(Station):
    """A store that answers after a ``latency`` draw, with no queue: elasticache, dynamodb, s3."""

    def own(self, op: str, rng: np.random.Generator, n: int) -> np.ndarray:
        draw = make_sampler(self.spec.latency, rng)
        return np.array([draw() for _ in range(n)])


class CacheStation(LatencyStation):
    kind = "elasticache"

    def __init__(self, name: str, spec: Any, arch: Any, seed: int) -> None:
        super().__init__(name, spec, arch, seed)
        zones = list(spec.zones or arch.zones)
        self.shard_zones = [zones[i % len(zones)] for i in range(spec.nodes)]
        self.replica_zones = [[zones[(i + j) % len(zones)] for j in range(1, spec.replicas + 1)]
                              for i in range(spec.nodes)]
        self.down: list[tuple[float, float]] = [(INF, INF)] * spec.nodes
        self.fo = dist_mean(spec.failover_time, f"{seed}:{name}:failover")
        self.flows: list[Any] = []  # cache_flow.CacheFlow of each get step on this cache
        self.zones_down: set[str] = set()
        self.failovers = 0

    def endpoint_zone(self) -> str:
        return self.shard_zones[0] if len(self.shard_zones) == 1 else ""

    def down_share(self, t: float) -> float:
        return sum(1 for a, b in self.down if a <= t < b) / len(self.down)

    def _down(self, op: str, t: float) -> float:
        return self.down_share(t)

    def _serve(self, op: str, rate: float, t: float, dt: float) -> Outcome:
        d = self.down_share(t)
        return NO_WAIT, ({"unavailable": d} if d > 0 else {})

    def _lose(self, i: int, t: float, why: str, *, reboot: bool) -> str:
        live = [z for z in self.replica_zones[i] if z not in self.zones_down]
        if live:
            self.down[i] = (t, t + self.fo)
            self.shard_zones[i], self.replica_zones[i][self.replica_zones[i].index(live[0])] = \
                live[0], self.shard_zones[i]
            self.failovers += 1
            return (f"{self.name} shard {i}: primary lost ({why}); promoting the replica in {live[0]} "
                    f"in {self.fo:.1f}s (mean failover_time)")
        self.down[i] = (t, t + self.fo if reboot else INF)
        for f in self.flows:
            f.lose(1.0 / len(self.down))
        return f"{self.name} shard {i}: node lost ({why}), no replica: its items lost"

    def zone_outage(self, t: float, zone: str, down: bool) -> str | None:
        notes = []
        if down:
            self.zones_down.add(zone)
            for i, z in enumerate(self.shard_zones):
                if z == zone and not self.down[i][0] <= t < self.down[i][1]:
                    notes.append(self._lose(i, t, f"zone {zone} down", reboot=False))
        else:
            self.zones_down.discard(zone)
            for i, z in enumerate(self.shard_zones):
                if z == zone and self.down[i][1] == INF:
                    self.down[i] = (self.down[i][0], t)
                    notes.append(f"{self.name} shard {i}: node back in {zone}, empty")
        return "; ".join(notes) or None

    def failover(self, t: float) -> str:
        return "; ".join(self._lose(i, t, "failover fault", reboot=True) for i in range(len(self.down)))

    def stats(self) -> dict[str, Any]:
        hits = sum(f.hits for f in self.flows)
        misses = sum(f.misses for f in self.flows)
        return {"hits": round(hits), "misses": round(misses),
                "hit_ratio": round(hits / (hits + misses), 6) if hits + misses else 0.0,
                "failovers": self.failovers}


class TableStation(LatencyStation):
    kind = "dynamodb"

    def __init__(self, name: str, spec: Any, arch: Any, seed: int) -> None:
        super().__init__(name, spec, arch, seed)
        half = 1.0 if spec.consistent else 0.5
        self.units = {"get": math.ceil(spec.item_size / READ_UNIT) * half,
                      "query": math.ceil(spec.item_size * spec.query_items / READ_UNIT) * half,
                      "write": float(math.ceil(spec.item_size / WRITE_UNIT))}
        if spec.capacity == "provisioned":
            self.cap = (float(spec.rcu), float(spec.wcu))
            self.burst = BURST_SECONDS
            derived = math.ceil(spec.rcu / PARTITION_RCU + spec.wcu / PARTITION_WCU)
        else:
            od = spec.on_demand
            self.cap = (od.initial_read, od.initial_write)
            self.burst = 1.0
            derived = max(1, math.ceil(max(od.initial_read / PARTITION_RCU, od.initial_write / PARTITION_WCU)))
        self.n_parts = spec.partitions or max(1, derived)
        self.level = [c * min(1.0, self.burst) for c in self.cap]  # a new table has banked 1 s
        self.shares: dict[int, np.ndarray] = {}
        self.consumed = [0.0, 0.0]

    def partition_shares(self, keys: np.ndarray, pmf: np.ndarray) -> np.ndarray:
        """The share of calls each partition gets when keys ``keys`` are drawn with ``pmf``."""
        k = keys.astype(np.uint64)
        with np.errstate(over="ignore"):
            h = (k * np.uint64(0x9E3779B97F4A7C15)) ^ (k >> np.uint64(7))
        assert int(h[0]) == key_hash(int(keys[0]))
        idx = np.minimum((h.astype(np.float64) / 2.0**64 * self.n_parts).astype(np.int64), self.n_parts - 1)
        return np.bincount(idx, weights=pmf, minlength=self.n_parts)

    def resolve(self, t: float, dt: float) -> None:
        share = self.shares.get(0)
        if share is None:
            from cloudtwin.fluid.cache_flow import key_probabilities

            keys, pmf = key_probabilities(self.spec.key, self.seed, self.name)
            share = self.shares[0] = self.partition_shares(keys, pmf)
        self._ok: list[float] = []
        for w, (limit_p, ops) in enumerate(((PARTITION_RCU, [o for o in self.rates if o in READS]),
                                            (PARTITION_WCU, [o for o in self.rates if o not in READS]))):
            demand = sum(self.rates[o] * self.units[o if o != "" else "get"] if w == 0 else
                         self.rates[o] * self.units["write"] for o in ops)
            if demand <= 0.0:
                self._ok.append(1.0)
                self.level[w] = min(self.level[w] + self.cap[w] * dt, self.cap[w] * self.burst)
                continue
            fit_parts = float(np.minimum(share * demand, limit_p).sum()) / demand  # each partition's cap
            want = demand * fit_parts * dt
            room = self.level[w] + self.cap[w] * dt
            got = min(want, room)
            self.level[w] = min(room - got, self.cap[w] * self.burst)
            self.consumed[w] += got
            self._ok.append(fit_parts * (got / want if want > 0 else 1.0))
        super().resolve(t, dt)

    def _serve(self, op: str, rate: float, t: float, dt: float) -> Outcome:
        ok = self._ok[0 if op in READS else 1]
        return NO_WAIT, ({"throttled": 1.0 - ok} if ok < 1.0 - 1e-12 else {})

    def stats(self) -> dict[str, Any]:
        return {"rcu": round(self.consumed[0], 1), "wcu": round(self.consumed[1], 1),
                "throttled": round(self.errors_by.get("throttled", 0.0))}


class BucketStation(LatencyStation):
    kind = "s3"

    def _serve(self, op: str, rate: float, t: float, dt: float) -> Outcome:
        reads = op in ("get", "list")
        demand = sum(v for o, v in self.rates.items() if (o in ("get", "list")) == reads)
        limit = S3_RATE[1 if reads else 0] * self.spec.prefixes  # calls spread evenly over the prefixes
        over = max(0.0, 1.0 - limit / demand) if demand > 0 else 0.0
        return NO_WAIT, ({"throttled": over} if over > 0 else {})


def make(name: str, spec: Any, arch: Any, seed: int) -> Station:
    cls = {"rds": RdsStation, "elasticache": CacheStation, "dynamodb": TableStation, "s3": BucketStation}[spec.type]
    return cls(name, spec, arch, seed)
