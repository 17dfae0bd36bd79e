"""DynamoDB in the fluid engine: latency and throttling (see :mod:`cloudtwin.fluid.stations`)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cloudtwin.fluid.queueing import NO_WAIT
from cloudtwin.fluid.stations import LatencyStation, Outcome
from cloudtwin.services.dynamodb import (
    BURST_SECONDS,
    PARTITION_RCU,
    PARTITION_WCU,
    READ_UNIT,
    READS,
    WRITE_UNIT,
    key_hash,
)


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
