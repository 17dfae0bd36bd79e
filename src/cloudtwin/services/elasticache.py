"""ElastiCache (Redis or Memcached): a key-value cache with TTLs, LRU eviction,
shards spread over AZs, and Multi-AZ replica failover.

What is modelled
----------------
* ``get`` / ``set`` / ``delete`` on integer keys (the handler's drawn key ranks).
  A hit replies ``None``, a miss replies :data:`cloudtwin.handler.MISS` so the
  handler runs its ``on_miss`` steps. Every reply comes after a draw of
  ``latency``.
* ``set`` carries the call step's ``ttl`` (the handler passes ``(key, ttl)``);
  expiry is lazy, on read: an expired item is a miss. No ``ttl`` means no expiry.
* Memory: each shard holds ``memory / item_size`` items, where ``memory`` is the
  node type's memory minus 25 % reserved memory for Redis (an assumption, from
  Redis' default ``reserved-memory-percent``; not in aws-facts) unless
  ``memory:`` is given (then it is the usable memory). A full shard evicts its
  least recently used item (an expired one counts as an expiration).
* Keys are spread over ``nodes`` shards (Memcached nodes) by key modulo ``nodes``.
  Shard *i*'s primary lives in zone ``zones[i mod n]``; its replicas (at most 5
  [aws-facts §11]) in the following zones.
* Failover: when a primary's zone goes down, or on a ``db_failover`` fault, a
  shard with a replica in a live zone is ``unavailable`` for ``failover_time``
  ("typically just a few seconds" [aws-facts §11]) and then the replica is
  primary. Replication is asynchronous [aws-facts §11], so items set within
  ``replica_lag`` of the failure are lost. A shard with no live replica loses
  all its items: it is unavailable until its zone returns (or, for a
  ``db_failover`` fault, for ``failover_time`` while the node is replaced) and
  comes back empty.
* Server-side sessions (op ``session``, prepended by the instance when the
  workload keeps ``sessions: {state: elasticache}``): the first request of a
  session stores it; later requests find it, or get ``session_lost`` when it was
  evicted or lost with a node. Instances can come and go: the state is here.

* Cold or warm start. By default the cache starts empty (cold): the hot keys
  all miss and are set in the run's first seconds, so they expire together and
  the misses (and the database load behind them) come in a wave at every
  multiple of the TTL, damped only slowly. A fault's effect then depends on
  where it lands on a wave. ``warm: true`` starts it in steady state instead
  (:mod:`cloudtwin.services.elasticache_warm`):
  for each ``set`` with a ``ttl`` in the handlers (key distribution K, TTL T)
  and the rate of ``get`` calls its handler is offered (the workloads' base
  rates carried down the links, :func:`cloudtwin.runsize.offered_rates`), key
  k of K, looked up at rate lambda_k, is present with probability
  lambda_k T / (1 + lambda_k T) (the share of time a cache-aside key with
  Poisson lookups is held: T held, then a mean 1/lambda_k absent) and expires
  at a uniform time in (0, T) (the residual life of a held key in steady
  state). Assumptions: Poisson lookups at the base rate, every lookup of an
  absent key sets it, one shard's capacity keeps the latest-expiring keys.

* Stale reads: the cache listens to the keyed writes of its sources (the stores its
  handlers read on a miss, cache-aside: a DynamoDB table, an RDS or Aurora database;
  :func:`cloudtwin.spec.elasticache.miss_targets`). A hit on an item set before a write
  to its key was acknowledged is a ``stale_read``, its age the time since the first such
  write (:mod:`cloudtwin.services.cache_stale`). So staleness is measured from the writes
  the spec makes, and bounded by the item's TTL; a ``delete`` after the write (explicit
  invalidation) or a ``set`` of the new value (write-through) ends it.

Left out: the data itself (only presence and expiry), item sizes per key,
Redis' active expiry sampling (expired items linger until read or evicted),
``volatile-lru`` (ElastiCache's default policy; every item is evictable here),
reads from replicas, CPU saturation and connection limits of a node, resharding,
and Global Datastore. Calls do not know their key when the hop latency is drawn,
so with several shards a call's hop goes to the shards' zones in rotation.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from heapq import heappush
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler
from cloudtwin.errors import Issue, SpecError
from cloudtwin.handler import MISS
from cloudtwin.metrics import BATCH
from cloudtwin.request import SESSION_LOST, UNAVAILABLE, Done, Request
from cloudtwin.services.cache_stale import SourceWrites, Staleness
from cloudtwin.services.elasticache_warm import key_pmf as key_pmf  # the fluid engine reads it from here
from cloudtwin.services.elasticache_warm import warm
from cloudtwin.sizes import data_keys, data_row
from cloudtwin.spec.elasticache import ElastiCache as ElastiCacheSpec
from cloudtwin.spec.elasticache import miss_targets
from cloudtwin.units import GIB

if TYPE_CHECKING:
    from cloudtwin.context import Context

RESERVED: Final = 0.25  # assumption: Redis reserved-memory-percent default (general knowledge, not in aws-facts)
UP: Final = "up"
FAILING: Final = "failing_over"
DOWN: Final = "down"
NEVER: Final = math.inf


class Shard:
    """One shard (Redis node group, or Memcached node): its items and where it lives."""

    __slots__ = ("idx", "zone", "replica_zones", "items", "cap", "state", "epoch")

    def __init__(self, idx: int, zone: str, replica_zones: list[str], cap: int) -> None:
        self.idx = idx
        self.zone = zone  # the primary's zone
        self.replica_zones = replica_zones
        self.items: OrderedDict[int, tuple[float, float]] = OrderedDict()  # key -> (expires_at, set_at)
        self.cap = cap
        self.state = UP
        self.epoch = 0  # bumped on every failure, so a stale promotion timer does nothing


class ElastiCache(Component):
    """A cache cluster: shards with LRU, TTLs and replica failover."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'capacity',
                 'shards', 'n_shards', 'shard0', 'lat', 'fo_time', 'rr', 'hits', 'misses', 'sets', 'deletes',
                 'evictions', 'expirations', 'lost_items', 'failovers', 'sessions_created', 'sessions_found',
                 'sessions_lost', '_minute_mark', 'hit_series', 'warm_items', 'source_writes', 'staleness',
                 'sources', 'hot', 'lat_buf')

    kind = "elasticache"

    def __init__(self, name: str, spec: ElastiCacheSpec, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        zones = list(spec.zones or ctx.arch.zones)
        if spec.memory is not None:
            memory = spec.memory
        else:
            row = data_row("cache_node_types.csv", spec.node_type)
            if row is None:
                known = ", ".join(data_keys("cache_node_types.csv"))
                raise SpecError([Issue(f"components.{name}.node_type",
                                       f"unknown node type {spec.node_type!r}; known: {known} "
                                       f"(or give `memory:`)")])
            reserved = RESERVED if spec.engine == "redis" else 0.0
            memory = float(row["memory_gib"]) * GIB * (1.0 - reserved)
        self.capacity = max(1, int(memory // spec.item_size))  # items per shard
        n = len(zones)
        self.shards = [
            Shard(i, zones[i % n], [zones[(i + j) % n] for j in range(1, spec.replicas + 1)], self.capacity)
            for i in range(spec.nodes)
        ]
        self.n_shards, self.shard0 = len(self.shards), self.shards[0]
        self.lat = make_sampler(spec.latency, ctx.stream(f"{name}.latency"))
        self.fo_time = make_sampler(spec.failover_time, ctx.stream(f"{name}.failover"))
        self.rr = 0
        self.hits = self.misses = self.sets = self.deletes = 0
        self.evictions = self.expirations = self.lost_items = self.failovers = 0
        self.sessions_created = self.sessions_found = self.sessions_lost = 0
        self._minute_mark = (0, 0)
        self.hit_series: list[float] = []
        self.warm_items = warm(self.shards, name, ctx) if spec.warm else 0
        self.source_writes, self.staleness = SourceWrites(), Staleness()
        self.sources: list[str] = []  # the stores whose writes it hears of
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer  # latency.record(x), inlined in handle

    def build(self) -> None:
        for src in miss_targets(self.ctx.arch, self.name):
            store = self.ctx.components.get(src)
            if store is not None and hasattr(store, "watchers"):
                store.watchers.append(self)
                self.sources.append(src)

    def on_write(self, key: int, at: float) -> None:
        """A source wrote ``key``, acknowledged ``at``."""
        shards = self.shards
        it = (shards[key % len(shards)] if len(shards) > 1 else shards[0]).items.get(key)
        self.source_writes.wrote(key, at, it[1] if it is not None else None)

    # ---- serving ------------------------------------------------------------
    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """Serve a call whose injected faults (if any) have passed: :meth:`handle` without them."""
        self.handle(req, op, done, arg, False)

    def handle(self, req: Request, op: str, done: Done, arg: Any = None, faults: bool = True) -> None:
        """The entry every caller uses, :meth:`Component.handle` with the serve body inline (one
        frame fewer per cache call): injected faults first (``faults``; :meth:`serve` passes
        False once they have passed), then the operation. The latency record is inline too
        (``latency.record``'s append and flush).

        The two commonest calls, a ``get`` of an int key and a ``session`` lookup, take their
        own branch here: the shard, its state, the lookup and the reply, the steps
        :meth:`_general` takes for them, without its op tests. Everything else (``set``,
        ``delete``, a key that is not an int, a call without a session) goes to
        :meth:`_general`."""
        if faults and self.injected:
            Component.handle(self, req, op, done, arg)
            return
        if (op == "get" or op == "") and arg.__class__ is int:
            key: int = arg
            s = None
        elif op == "session" and (s := req.session) is not None:  # a sid is an int (a counter)
            key = -s.sid  # negative: apart from data keys
        else:
            self._general(req, op, done, arg)
            return
        self.requests += 1
        n = self.n_shards
        shard = self.shards[key % n] if n > 1 else self.shard0
        if shard.state != UP:
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        now = self.engine.now
        items = shard.items
        err: str | None = None
        if s is None:  # the get
            it = items.get(key)
            if it is None:
                self.misses += 1
                err = MISS
            elif it[0] <= now:
                del items[key]
                self.expirations += 1
                self.misses += 1
                err = MISS
            else:
                items.move_to_end(key)
                self.hits += 1
                sw = self.source_writes
                # a source write acknowledged after the item was set (none without writes to the key)
                if key in sw.last and (since := sw.stale_since(key, it[1], now)) is not None:
                    self.staleness.count(now - since)
        elif s.has_state and key in items:  # self._session's commonest case, inline
            items.move_to_end(key)
            self.sessions_found += 1
        else:
            err = self._session(req, shard, key, now)
        delay = self.lat()
        buf = self.lat_buf  # self.latency.record(delay), inline
        buf.append(delay)
        if len(buf) >= BATCH:
            self.latency.flush()
        heap, seq = self.hot  # engine.after(delay, deliver, ...), one call less
        heappush(heap, (now + delay, next(seq), deliver, (req, done, err)))

    def _general(self, req: Request, op: str, done: Done, arg: Any) -> None:
        """Any operation, its faults passed: the key, the shard and its state, the operation, and
        the reply after a draw of ``latency``. A ``get`` of a key that is not an int is
        :meth:`handle`'s get branch once the key is one."""
        ttl = None
        if op == "set" and isinstance(arg, tuple):
            key, ttl = arg
        elif op == "session":
            key = -req.session.sid if req.session is not None else 0  # negative: apart from data keys
        else:
            key = arg
        if key is not None and not isinstance(key, int):
            key = int(key)
        if (op == "get" or op == "") and key is not None:
            self.handle(req, op, done, int(key), False)  # int(): a bool key is its int here
            return
        self.requests += 1
        shards = self.shards
        shard = shards[key % len(shards)] if len(shards) > 1 and key is not None else shards[0]
        if shard.state != UP:
            self.errors += 1
            done(req, UNAVAILABLE)
            return
        now = self.engine.now
        items = shard.items
        err: str | None = None
        if op == "get" or op == "":  # a get without a key: a miss
            self.misses += 1
            err = MISS
        elif op == "set":
            self.sets += 1
            self._put(shard, key, ttl, now)
        elif op == "delete":
            self.deletes += 1
            items.pop(key, None)
        elif op == "session":
            err = self._session(req, shard, key, now)
        else:
            raise ValueError(f"elasticache has no operation {op!r}")
        self.latency.record(delay := self.lat())
        self.engine.after(delay, deliver, (req, done, err))

    def _put(self, shard: Shard, key: int, ttl: float | None, now: float) -> None:
        items = shard.items
        items[key] = (now + ttl if ttl else NEVER, now)
        items.move_to_end(key)
        self.source_writes.refilled(key)
        if len(items) > shard.cap:
            _, (expires, _) = items.popitem(last=False)
            if expires <= now:
                self.expirations += 1
            else:
                self.evictions += 1

    def _session(self, req: Request, shard: Shard, key: int, now: float) -> str | None:
        s = req.session
        if s is None:
            return None
        if not s.has_state:
            self.sessions_created += 1
            self._put(shard, key, None, now)
            return None
        if key in shard.items:
            shard.items.move_to_end(key)
            self.sessions_found += 1
            return None
        self.sessions_lost += 1
        self.errors += 1
        return SESSION_LOST

    def endpoint_zone(self, caller_zone: str) -> str:
        if self.n_shards == 1:
            return self.shard0.zone
        shards = self.shards
        self.rr = (self.rr + 1) % len(shards)  # the key is not known here: shards in rotation
        return shards[self.rr].zone

    def zones(self) -> list[str]:
        return sorted({z for s in self.shards for z in (s.zone, *s.replica_zones)})

    # ---- faults -------------------------------------------------------------
    def zone_outage(self, zone: str, down: bool) -> None:
        for shard in self.shards:
            if down and shard.zone == zone and shard.state == UP:
                self._primary_lost(shard, f"zone {zone} down")
            elif not down and shard.zone == zone and shard.state == DOWN:
                shard.state = UP
                self.ctx.event("recovery", f"{self.name} shard {shard.idx}: node back in {zone}, empty")

    def failover(self) -> list[str]:
        return [self._primary_lost(s, "failover fault", reboot=True) for s in self.shards if s.state == UP]

    def primary_failure(self, idx: int) -> str:
        """Shard ``idx``'s primary fails (a random failure): a replica is promoted, or the node is
        replaced, empty."""
        return self._primary_lost(self.shards[idx], "instance failure", reboot=True)

    def _primary_lost(self, shard: Shard, why: str, *, reboot: bool = False) -> str:
        shard.epoch += 1
        live = [z for z in shard.replica_zones if self.ctx.zone_up(z)]
        items = shard.items
        if live:
            cutoff = self.engine.now - self.spec.replica_lag
            recent = [k for k, (_, set_at) in items.items() if set_at > cutoff]
            for k in recent:
                del items[k]
            lost = len(recent)
            t = self.fo_time()
            note = (f"{self.name} shard {shard.idx}: primary in {shard.zone} lost ({why}); "
                    f"promoting the replica in {live[0]} in {t:.1f}s; {lost} writes newer than "
                    f"{self.spec.replica_lag:g}s lost")
        else:
            lost = len(items)
            items.clear()
            t = self.fo_time() if reboot else NEVER
            when = f"node replaced in {t:.1f}s" if reboot else f"unavailable until zone {shard.zone} returns"
            note = (f"{self.name} shard {shard.idx}: node in {shard.zone} lost ({why}), no replica: "
                    f"{lost} items lost; {when}")
        self.lost_items += lost
        if t == NEVER:
            shard.state = DOWN
        else:
            shard.state = FAILING
            self.engine.after(t, self._promote, (shard, shard.epoch))
        self.ctx.event("failover", note)
        return note

    def _promote(self, job: tuple[Shard, int]) -> None:
        shard, epoch = job
        if shard.epoch != epoch or shard.state != FAILING:
            return
        live = [z for z in shard.replica_zones if self.ctx.zone_up(z)]
        if live:
            i = shard.replica_zones.index(live[0])
            shard.replica_zones[i], shard.zone = shard.zone, live[0]  # the old primary returns as a replica
            self.failovers += 1
            detail = f"{self.name} shard {shard.idx}: replica in {shard.zone} promoted to primary"
        elif self.ctx.zone_up(shard.zone):
            detail = f"{self.name} shard {shard.idx}: node replaced in {shard.zone}"
        else:
            shard.items.clear()
            shard.state = DOWN
            self.ctx.event("failover", f"{self.name} shard {shard.idx}: no live replica left; down")
            return
        shard.state = UP
        self.ctx.event("recovery", detail)

    # ---- metrics ------------------------------------------------------------
    def on_minute(self, now: float) -> None:
        h0, m0 = self._minute_mark
        h, m = self.hits - h0, self.misses - m0
        self.hit_series.append(round(h / (h + m), 4) if h + m else 0.0)
        self._minute_mark = (self.hits, self.misses)

    def series(self) -> dict[str, list[float]]:
        return {"hit_ratio": list(self.hit_series)}

    @property
    def hit_ratio(self) -> float:
        looked = self.hits + self.misses
        return self.hits / looked if looked else 0.0

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        spec = self.spec
        now = self.engine.now
        out.update({
            "engine": spec.engine,
            "node_type": spec.node_type,
            "nodes": len(self.shards) * (1 + spec.replicas),
            "capacity_items": self.capacity * len(self.shards),
            "items": sum(1 for s in self.shards for exp, _ in s.items.values() if exp > now),
            "hits": self.hits,
            "misses": self.misses,
            "hit_ratio": round(self.hit_ratio, 6),
            **self.staleness.stats(self.hits),
            "sources": list(self.sources),
            "sets": self.sets,
            "deletes": self.deletes,
            "evictions": self.evictions,
            "expirations": self.expirations,
            "failovers": self.failovers,
            "lost_items": self.lost_items,
            "sessions": {"created": self.sessions_created, "found": self.sessions_found,
                         "lost": self.sessions_lost},
        })
        return out

