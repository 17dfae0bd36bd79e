"""RDS in the fluid engine: each DB instance a G/G/c station (see :mod:`cloudtwin.fluid.stations`)."""

from __future__ import annotations

from typing import Any

import numpy as np

from cloudtwin.engine import make_sampler
from cloudtwin.fluid.fleet import _seed, dist_mean, dist_var
from cloudtwin.fluid.queueing import NO_WAIT, Wait, allen_cunneen
from cloudtwin.fluid.stations import INF, Outcome, Station
from cloudtwin.services.rds import STANDBY_FLUSH
from cloudtwin.services.rds_nodes import default_max_connections
from cloudtwin.sizes import data_row

CLOSED = ("const", "exp", "lognormal", "uniform")  # dist_var has their variance in closed form


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
        lam_r = float(f"{lam:.4g}")  # the rate the wait is computed at (cached by it)
        a = lam * s
        if self.q > 0.0 or a >= self.c or lam_r * s >= self.c:
            q0 = self.q
            q1 = max(q0 + (lam - mu) * dt, 0.0)
            room = max(self.cap - self.c, 0)
            refused = 0.0
            if q1 > room:
                refused, q1 = q1 - room, float(room)
            self.q = q1
            return Wait(0.0, 1.0, (q0 + q1) / 2.0 / mu), refused / (lam * dt), float(self.c)
        return allen_cunneen(lam_r, s, self.c, ca2, cs2), 0.0, a


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
                self.recovers(t + self.fo, f"{self.name}: primary available in {p.zone}")
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
        self.recovers(t + self.fo, f"{self.name}: primary available in {p.zone}")
        return f"{self.name}: primary lost (failover fault); {how}, back in {self.fo:.0f}s (mean failover_time)"

    def stats(self) -> dict[str, Any]:
        u = self.util_series
        return {"reads": round(self.reads), "writes": round(self.writes), "failovers": self.failovers,
                "utilization": round(sum(u) / len(u), 6) if u else 0.0, "primary_zone": self.primary.zone}
