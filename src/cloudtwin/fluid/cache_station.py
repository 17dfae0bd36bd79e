"""ElastiCache in the fluid engine: latency, shard failover (see :mod:`cloudtwin.fluid.stations`);
its hit ratios: :mod:`cloudtwin.fluid.cache_flow`."""

from __future__ import annotations

from typing import Any

from cloudtwin.fluid.fleet import dist_mean
from cloudtwin.fluid.queueing import NO_WAIT
from cloudtwin.fluid.stations import INF, LatencyStation, Outcome


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
            self.recovers(t + self.fo, f"{self.name} shard {i}: replica in {live[0]} promoted to primary")
            return (f"{self.name} shard {i}: primary lost ({why}); promoting the replica in {live[0]} "
                    f"in {self.fo:.1f}s (mean failover_time)")
        self.down[i] = (t, t + self.fo if reboot else INF)
        if reboot:
            self.recovers(t + self.fo, f"{self.name} shard {i}: node replaced in {self.shard_zones[i]}")
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
