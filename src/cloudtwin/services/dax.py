"""DynamoDB Accelerator (DAX): a write-through cache cluster in front of one table.

What is modelled (AWS DynamoDB guide: "DAX cluster components", "Configuring your DAX
cluster"; TTL defaults from the DAX default parameter group, aws-cli ``dax
describe-default-parameters``)
---------------------------------------------------------------------------------------
* Two caches: the item cache (``get``) and the query cache (``query``), keyed by the
  item key and the query's partition key. An entry lives ``item_ttl`` / ``query_ttl``
  (5 min each by default; 0 means no expiry, as the parameter's description says).
  A hit replies after a draw of ``latency`` (sub-millisecond: assumption) and costs the
  table nothing. A miss reads the table, eventually consistent, and fills the cache with
  what it read; the caller waits for the table plus DAX's own latency.
* Strongly consistent reads (a table with ``consistent: true``) pass through to the table
  and are not cached.
* Writes go through to the table; a successful put or update then refreshes the item
  cache (a delete removes the item), but the query cache is not invalidated, so a
  query answered from the cache after a write to its key is counted as a ``stale_read``
  (so is an item hit after a write that bypassed DAX), with its age: the time since the
  first write acknowledged after the copy was read
  (:mod:`cloudtwin.services.cache_stale`).
* Latency saved (results' ``cache_layers``): hits x (the mean time of a miss - the mean
  time of a hit), both measured at DAX in the run.
* Nodes (1-11) are spread over ``zones`` round robin. A zone outage takes its nodes down;
  requests go to the live nodes; with every node down the cluster is ``unavailable``
  and comes back with an empty cache.
* Billing: node-hours by node type.

Left out: cache memory and LRU eviction, node CPU limits (a node serves any rate),
the primary's role in writes and its failover time, negative caching, scans,
BatchGetItem and transactions, and the client's connection handling.
"""

from __future__ import annotations

from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.metrics import BATCH
from cloudtwin.request import UNAVAILABLE, Done, Request
from cloudtwin.services.cache_stale import SourceWrites, Staleness, saved
from cloudtwin.services.dynamodb import READS

if TYPE_CHECKING:
    from cloudtwin.context import Context
    from cloudtwin.services.dynamodb import DynamoDB

NEVER: Final = float("inf")


class _Pending:
    """A request DAX forwarded to the table; ``fin`` is the table's reply."""

    __slots__ = ("dax", "req", "done", "t_in", "cache", "key", "op")

    def __init__(self, dax: DAX, req: Request, done: Done, cache: dict[int, tuple[float, float]] | None,
                 key: int, op: str) -> None:
        self.dax, self.req, self.done, self.cache, self.key, self.op = dax, req, done, cache, key, op
        self.t_in = dax.engine.now

    def fin(self, req: Request, err: str | None) -> None:
        d = self.dax
        if err is None:
            now = d.engine.now
            if self.cache is not None:  # a miss: cache what the table read when it was asked
                ttl = d.query_ttl if self.cache is d.query_cache else d.item_ttl
                self.cache[self.key] = (now + ttl if ttl else NEVER, self.t_in)
                (d.query_writes if self.cache is d.query_cache else d.item_writes).refilled(self.key)
            elif self.op == "delete":
                d.item_cache.pop(self.key, None)
            elif self.op in ("put", "update"):  # write-through: the item cache has the new item
                d.item_cache[self.key] = (now + d.item_ttl if d.item_ttl else NEVER, now)
                d.item_writes.refilled(self.key)
            lat = d.lat()
            d.latency.record(now + lat - self.t_in)
            if self.cache is not None:
                d.miss_time += now + lat - self.t_in
                d.served_misses += 1
            d.engine.after(lat, deliver, (req, self.done, None))
            return
        d.errors += 1
        self.done(req, err)


class DAX(Component):
    """One DAX cluster."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'node_zones',
                 'item_ttl', 'query_ttl', 'lat', 'lat_buf', 'hot', 'item_cache', 'query_cache', 'item_writes',
                 'query_writes', 'staleness', 'hit_time', 'miss_time', 'served_misses', 'table', 'live', 'rr',
                 'item_hits', 'item_misses', 'query_hits', 'query_misses', 'passed', 'writes', 'unavailable',
                 'flushes', '_mark', 'hit_series', 'zone_state')

    kind = "dax"

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        zones = list(spec.zones or ctx.arch.zones)
        self.node_zones = [zones[i % len(zones)] for i in range(spec.nodes)]
        self.item_ttl: float = spec.item_ttl
        self.query_ttl: float = spec.query_ttl
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.lat_buf = self.latency.buffer
        self.hot = ctx.engine.hot()
        self.item_cache: dict[int, tuple[float, float]] = {}  # key -> (expires at, data as of)
        self.query_cache: dict[int, tuple[float, float]] = {}
        self.item_writes, self.query_writes = SourceWrites(), SourceWrites()  # the table's writes, per cache
        self.staleness = Staleness()
        self.hit_time = self.miss_time = 0.0  # summed over served hits and misses, for the latency saved
        self.served_misses = 0
        self.table: DynamoDB | None = None
        self.live = len(self.node_zones)
        self.rr = 0
        self.item_hits = self.item_misses = self.query_hits = self.query_misses = 0
        self.passed = self.writes = self.unavailable = self.flushes = 0
        self._mark = (0, 0)
        self.hit_series: list[float] = []
        self.zone_state = ctx.zone_state  # read inline by endpoint_zone (ctx.zone_up)

    def build(self) -> None:
        self.table = self.ctx.components[self.spec.table]  # type: ignore[assignment]
        self.table.watchers.append(self)  # type: ignore[union-attr]

    def on_write(self, key: int, at: float) -> None:
        """The table wrote ``key`` (through DAX or not); the write is acknowledged ``at``."""
        for cache, writes in ((self.item_cache, self.item_writes), (self.query_cache, self.query_writes)):
            it = cache.get(key)
            writes.wrote(key, at, it[1] if it is not None else None)

    # ---- requests -----------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        self.requests += 1
        table = self.table
        assert table is not None
        if not self.live:
            self.errors += 1
            self.unavailable += 1
            done(req, UNAVAILABLE)
            return
        key = int(arg) if isinstance(arg, (int, float)) and not isinstance(arg, bool) else int(table.key())
        if op not in READS:
            self.writes += 1
            table.access(req, op, _Pending(self, req, done, None, key, op).fin, key, False)
            return
        if table.consistent:  # strongly consistent reads are not cached
            self.passed += 1
            table.access(req, op, _Pending(self, req, done, None, key, op).fin, key, True)
            return
        query = op == "query"
        cache = self.query_cache if query else self.item_cache
        now = self.engine.now
        it = cache.get(key)
        if it is None or it[0] <= now:
            if query:
                self.query_misses += 1
            else:
                self.item_misses += 1
            table.access(req, op, _Pending(self, req, done, cache, key, op).fin, key, False)
            return
        if query:
            self.query_hits += 1
        else:
            self.item_hits += 1
        writes = self.query_writes if query else self.item_writes
        if writes.last:  # with no write to the table yet nothing cached is stale (stale_since's first test)
            since = writes.stale_since(key, it[1], now)
            if since is not None:  # a write acknowledged after the data was read
                self.staleness.count(now - since)
        lat = self.lat()
        b = self.lat_buf  # self.latency.record(lat), inlined
        b.append(lat)
        if len(b) >= BATCH:
            self.latency.flush()
        self.hit_time += lat
        heap, seq = self.hot  # engine.after(lat, deliver, job), which calls done(req, None)
        heappush(heap, (now + lat, next(seq), deliver, (req, done, None)))

    def endpoint_zone(self, caller_zone: str) -> str:
        if caller_zone in self.node_zones and self.zone_state.get(caller_zone, True):  # ctx.zone_up, inline
            return caller_zone  # the same answer as below, without building the list (issue 17)
        live: list[str] = [z for z in self.node_zones if self.ctx.zone_up(z)]
        if not live:
            return ""
        if caller_zone in live:  # assumption: the client prefers a node in its own zone
            return caller_zone
        self.rr = (self.rr + 1) % len(live)
        return live[self.rr]

    def zones(self) -> list[str]:
        return sorted(set(self.node_zones))

    # ---- faults -------------------------------------------------------------
    def zone_outage(self, zone: str, down: bool) -> None:
        was = self.live
        self.live = sum(1 for z in self.node_zones if self.ctx.zone_up(z))
        if was and not self.live:
            self.item_cache.clear()
            self.query_cache.clear()
            self.flushes += 1
            self.ctx.event("failover", f"{self.name}: every node is down; the cluster is unavailable")
        elif self.live and not was:
            self.ctx.event("recovery", f"{self.name}: {self.live} node(s) back, cache empty")

    # ---- metrics ------------------------------------------------------------
    @property
    def hits(self) -> int:
        return self.item_hits + self.query_hits

    @property
    def misses(self) -> int:
        return self.item_misses + self.query_misses

    def on_minute(self, now: float) -> None:
        h0, m0 = self._mark
        h, m = self.hits - h0, self.misses - m0
        self.hit_series.append(round(h / (h + m), 4) if h + m else 0.0)
        self._mark = (self.hits, self.misses)

    def series(self) -> dict[str, list[float]]:
        return {"hit_ratio": self.hit_series}

    def usage(self) -> dict[str, float]:
        return {f"NodeUsage:{self.spec.node_type}": len(self.node_zones) * self.engine.now / 3600.0}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        looked = self.hits + self.misses
        out.update({
            "table": self.spec.table, "nodes": len(self.node_zones), "live_nodes": self.live,
            "node_type": self.spec.node_type, "hits": self.hits, "misses": self.misses,
            "hit_ratio": round(self.hits / looked, 6) if looked else 0.0,
            "item_hits": self.item_hits, "item_misses": self.item_misses,
            "query_hits": self.query_hits, "query_misses": self.query_misses,
            **self.staleness.stats(self.hits), "pass_through": self.passed, "writes": self.writes,
            "unavailable": self.unavailable, "cache_flushes": self.flushes,
            "latency_saved_s": round(saved(self.hits, self.hit_time, self.served_misses, self.miss_time), 6),
        })
        return out
