"""CloudFront: cache behaviors in front of S3, API Gateway, load balancers or instances.

The cache itself (the TTL rule with the origin's Cache-Control, the cache key, LRU
eviction, object sizes, updates at the origin) is :mod:`cloudtwin.services.cloudfront_cache`;
a request on its way to the origin (attempts, the response timer, origin-group failover,
the viewers waiting at the shield) is :mod:`cloudtwin.services.cloudfront_fetch`.

What is modelled
----------------
* Behaviors: a request picks one by ``share``, then a key (URL) from its ``key``.
* Edge locations: ``edges`` caches (default 1), each its own cache. A request with a
  client goes to edge ``client uid mod edges``; one without, to one drawn uniformly.
* The cache: a key answered within the stored TTL of the answer that filled it is a
  hit, served at the edge after a draw of ``latency``. The stored TTL follows the
  behavior's ``min_ttl``/``ttl``/``max_ttl`` and the origin's ``cache_control``
  (:func:`~cloudtwin.services.cloudfront_cache.edge_ttl`); without a header it is
  ``ttl``, the Default TTL, 24 h by default, one year at most [aws-facts §13 TTLs].
  A TTL of 0 or ``cache: false``: every request goes to the origin. Only successful
  answers are stored (origin errors are not cached). With ``cache_size`` each edge
  evicts its least recently used objects. A hit on a copy fetched before the object
  last changed at the origin (``update_every``) is counted a stale read.
* Origin Shield [aws-facts §13 Origin Shield]: one more cache, shared by every edge,
  between the edges and the origin. An edge miss that the shield holds is served from
  it (one ``origin_latency`` draw for the hop) and fills the edge; a shield miss goes
  to the origin and fills both; a shield miss for an object already on its way from
  the origin waits for that fetch (``collapsed``). So the origin sees one fetch per
  object per TTL whatever the number of edges.
* Invalidations: at each ``invalidations[].at`` every cached object of the behaviors
  whose ``path`` a listed path matches (shell-style, ``/*`` all) is removed from every
  edge and the shield; the paths are counted (the first 1,000 a month are free).
* A miss forwards the request to the origin (``s3``: a ``get`` of the key; ``apigateway``:
  the key as its cache key; others: a plain request), plus an ``origin_latency`` draw,
  from a CloudFront origin-facing address [aws-facts §13 Source IP seen at the origin].
* Range GETs (``range_size``): each request asks for one part of its object, cached as
  its own key (CloudFront guide, "How CloudFront processes partial requests").
* Timeouts [aws-facts §13 Origin connection, Origin response]: no answer within
  ``response_timeout`` (30 s): the viewer gets ``timeout`` (504). An ``ec2``/``asg`` origin that cannot take the request
  (``unavailable``: instance down, accept queue full) is taken as a connection that does
  not answer: CloudFront tries again when ``connection_timeout`` (10 s) has passed since
  the attempt began, ``connection_attempts`` (3) times in all, then gives the viewer
  ``timeout``. Other origins (S3, API Gateway, load balancers) always accept the
  connection: their errors pass straight to the viewer, unless the behavior has an
  origin group (``failover``, :mod:`cloudtwin.services.cloudfront_failover`): then an
  error or timeout whose status is one of its codes sends the request to the secondary.
* Billing: data transfer out per successful answer (errors carry no body, assumption)
  and every viewer request as an HTTPS request, per serving edge group
  (:mod:`cloudtwin.services.cloudfront_edges`: ``viewers``, ``price_class``), and
  invalidation paths beyond 1,000. Origin fetches from AWS origins are free. The free
  tier is not applied.

Left out: request collapsing at the edges without a shield, revalidation (304), regional
edge caches, Origin Shield's request charge, Lambda@Edge, CloudFront Functions, WAF.
"""

from __future__ import annotations

from bisect import bisect_right
from heapq import heappush
from math import floor, fmod
from typing import TYPE_CHECKING, Any, Final

from cloudtwin.component import Component, deliver
from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.metrics import BATCH
from cloudtwin.request import Done, Request
from cloudtwin.services.cache_stale import Staleness
from cloudtwin.services.cloudfront_cache import (
    GOLDEN,
    EdgeCache,
    answer_size,
    edge_ttl,
    range_key,
    stale_age,
    variant_key,
)
from cloudtwin.services.cloudfront_controls import geo_refused, geo_setup, invalidate
from cloudtwin.services.cloudfront_edges import EdgeMap
from cloudtwin.services.cloudfront_fetch import Fetch

if TYPE_CHECKING:
    from cloudtwin.context import Context

GIB: Final = 1024.0**3
FREE_INVALIDATION_PATHS: Final = 1000  # a month [aws-facts §13; prices.csv Invalidations] (a window within one month)
ORIGIN_FACING: Final = "cloudfront"  # the address prefix origins see [aws-facts §13 Source IP seen at the origin]
CONNECTING = ("ec2", "asg")  # origins whose `unavailable` is a connection that does not answer
ORIGIN_OP = {"s3": "get"}  # every other origin type takes the default op ""
KEYED = ("s3", "apigateway")  # origins that get the key as their call argument
PHASE_TABLE_MAX: Final = 1 << 20  # zipf ranks up to which a behavior keeps its keys' update phases in a list
_new: Final = Fetch.__new__  # object.__new__ interpreted; compiled, the class's own (no __init__ to run)


class _Behavior:
    """One behavior's live state and counters."""

    __slots__ = ("spec", "origin", "ttl", "key", "size", "requests", "hits",
                 "misses", "forwarded", "origin_errors", "timeouts", "retries", "bytes_out", "unsized",
                 "variants", "vdraw", "every", "stale", "shield_hits", "shield_misses", "origin_bytes",
                 "hit_time", "miss_time", "served_misses", "collapsed", "index", "targets",
                 "failovers", "rdraw", "plain", "range_size", "int_keys", "phase", "keyless",
                 "rank_key")

    def __init__(self, spec: Any, seed: int, name: str) -> None:
        self.spec, self.index = spec, 0  # index: its place in the distribution's behaviors
        self.origin: Any = None
        self.ttl: float = edge_ttl(spec.min_ttl, spec.ttl, spec.max_ttl, spec.cache_control) if spec.cache else 0.0
        self.key: Any = make_sampler(spec.key, stream(seed, name))  # a zipf's draws are ints (int_keys)
        self.variants: int = spec.cache_key.variants
        self.vdraw = uniform_sampler(stream(seed, f"{name}.variant"))
        self.rdraw = uniform_sampler(stream(seed, f"{name}.range"))  # which part a Range GET asks for
        self.every: float | None = spec.update_every
        self.stale, self.shield_hits = Staleness(), 0  # stale: hits on a copy older than the object's last change
        self.shield_misses = self.served_misses = self.failovers = self.unsized = 0
        self.collapsed = 0  # shield misses that joined a fetch already on its way to the origin
        self.targets: list[tuple[Any, str, bool, bool, str]] = []  # (origin, op, keyed, connecting, type)
        self.origin_bytes = self.hit_time = self.miss_time = self.bytes_out = 0.0
        self.size: float | None = spec.response_size
        self.plain = spec.object_sizes is None and spec.range_size is None  # every answer is `size` bytes
        self.range_size: float | None = spec.range_size
        self.int_keys = spec.key.kind == "zipf"  # its draws are ints already (ranks): no int() per request
        # phase[k]: stale_age's per-key phase fmod(k * GOLDEN + 0.0, 1.0) for each zipf rank k, computed
        # once with the same expression (so the same floats), read by the hit path instead of fmod
        n = int(spec.key.params[1]) if self.int_keys else 0
        self.phase: list[float] | None = ([fmod(k * GOLDEN + 0.0, 1.0) for k in range(n + 1)]
                                          if self.every is not None and 0 < n <= PHASE_TABLE_MAX else None)
        self.requests = self.hits = self.misses = self.forwarded = self.origin_errors = self.timeouts = self.retries = 0
        self.keyless = False  # no use for a key: decided at build (CloudFront.build)
        self.rank_key = False  # the key is a zipf rank and the cache key itself: decided at build

    def size_of(self, key: int, ck: int) -> float | None:
        """Bytes of the answer for cache key ``ck`` of object ``key``: the object, or its part."""
        if self.plain:
            return self.size
        return answer_size(key, ck, self.spec.object_sizes, self.size, self.spec.range_size)

    def check_stale(self, key: int, fetched: float, now: float) -> None:
        """Count a hit on a copy fetched at ``fetched`` as stale if the object changed since."""
        if self.every is not None and (age := stale_age(key, fetched, now, self.every)) is not None:
            self.stale.count(age)

    def latency_saved(self) -> float:
        """Seconds the edge hits saved: hits x (mean time of a miss - mean time of a hit)."""
        if not self.hits or not self.served_misses:  # each edge hit is answered in handle: hits are served hits
            return 0.0
        return self.hits * (self.miss_time / self.served_misses - self.hit_time / self.hits)

    def stats(self) -> dict[str, Any]:
        return {
            "path": self.spec.path, "origin": self.spec.origin, "cached": self.ttl > 0.0, "ttl": self.ttl,
            "requests": self.requests, "hits": self.hits, "misses": self.misses,
            "hit_ratio": round(self.hits / (self.hits + self.misses), 6) if self.hits + self.misses else 0.0,
            "origin_requests": self.origin_requests(), "origin_retries": self.retries,
            "origin_errors": self.origin_errors, "timeouts": self.timeouts, "bytes_out": self.bytes_out,
            "cache_key_variants": self.variants, "shield_hits": self.shield_hits,
            "origin_bytes": self.origin_bytes, "latency_saved_s": round(self.latency_saved(), 6),
            "collapsed": self.collapsed, "failovers": self.failovers,
            **self.stale.stats(self.hits + self.shield_hits),
        }

    def origin_requests(self) -> int:
        return self.misses + self.forwarded - self.shield_hits - self.collapsed


class CloudFront(Component):
    """One distribution: behaviors, edge caches, origins."""
    # what an instance sets, as slots: past 29 attributes in its __dict__ every access slows
    # (tests/test_attribute_layout.py); the base's __dict__ takes the rest
    __slots__ = ('name', 'spec', 'ctx', 'engine', 'requests', 'errors', 'latency', 'injected', 'behaviors',
                 'cum', 'cum_total', 'n_behaviors', 'cum0', 'pick', 'edge_pick', 'n_edges', 'edgemap',
                 'viewer_pick', 'g_requests', 'regional', 'view0', 'g_bytes', 'caches', 'via_names', 'hot',
                 'lat_buf', 'response_timer', 'shields', 'pending', 'invalidated_objects', 'invalidation_paths',
                 'lat', 'o_lat', '_minute_mark', 'hit_series', 'geo', 'geo_refused', 'geo_tally')

    kind = "cloudfront"
    bills_egress = True  # its transfer out is its own line; the workload is not billed internet egress again

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        seed = ctx.seed
        self.behaviors = [_Behavior(b, seed, f"{name}.behaviors[{i}].key") for i, b in enumerate(spec.behaviors)]
        for i, beh in enumerate(self.behaviors):
            beh.index = i
        acc, cum = 0.0, []
        for b in spec.behaviors:
            acc += b.share
            cum.append(acc)
        self.cum = cum
        self.cum_total, self.n_behaviors = (cum[-1] if cum else 1.0), len(cum)
        self.cum0 = cum[0] if cum else 1.0
        self.pick = uniform_sampler(stream(seed, f"{name}.behavior"))
        self.edge_pick = uniform_sampler(stream(seed, f"{name}.edge"))
        self.n_edges: int = spec.edges
        # caches[edge][behavior]; shields[behavior] when Origin Shield is on
        size = spec.cache_size
        self.edgemap = em = EdgeMap(spec.viewers, spec.price_class, ctx.arch.region)
        self.viewer_pick = uniform_sampler(stream(seed, f"{name}.viewer"))
        self.g_requests = [0] * len(em.groups)
        self.regional = em.regional  # only then are requests and bytes counted per viewer group (usage, stats)
        self.view0 = (em.group_of[0], em.viewer_rtt[0], em.origin_rtt[0]) if len(em.cum) == 1 else None
        self.g_bytes = [0.0] * len(em.groups)
        # edge g * edges + e is edge e of the serving group g
        self.caches: list[list[EdgeCache]] = [[EdgeCache(size) for _ in spec.behaviors]
                                              for _ in range(spec.edges * len(em.groups))]
        self.via_names = [f"{ORIGIN_FACING}-{e}" for e in range(len(self.caches))]  # the address origins see
        self.hot = ctx.engine.hot()
        self.lat_buf = self.latency.buffer  # latency.record(x), inlined on the hit path
        self.response_timer = ctx.engine.timer(spec.response_timeout)
        self.shields: list[EdgeCache] | None = [EdgeCache() for _ in spec.behaviors] if spec.origin_shield else None
        self.pending: list[dict[int, Fetch]] = [{} for _ in spec.behaviors]  # shield fetches on their way
        self.invalidated_objects = self.invalidation_paths = 0
        self.lat = make_sampler(spec.latency, stream(seed, f"{name}.latency"))
        self.o_lat = make_sampler(spec.origin_latency, stream(seed, f"{name}.origin_latency"))
        self._minute_mark = (0, 0)
        self.hit_series: list[float] = []
        self.geo, self.geo_refused = geo_setup(spec.geo_restriction)
        self.geo_tally = f"{name}.geo_restriction"  # the name a geo refusal counts under on the client's tally

    def build(self) -> None:
        kinds = {n: c.type for n, c in self.ctx.arch.components.items()}
        for b in self.behaviors:
            origin = b.spec.origin
            b.origin = self.ctx.components[origin]
            names = [origin] + ([b.spec.failover.origin] if b.spec.failover is not None else [])
            b.targets = [(self.ctx.components[o], ORIGIN_OP.get(kinds[o], ""), kinds[o] in KEYED,
                          kinds[o] in CONNECTING, kinds[o]) for o in names]
            # a behavior that caches nothing, answers `size` bytes and sends no origin the key never
            # reads its key: no draw is made (the key stream is the behavior's own, read by nothing else)
            b.keyless = b.ttl <= 0.0 and b.plain and b.variants == 1 and not any(t[2] for t in b.targets)
            # a zipf rank, one variant, whole objects: handle's key steps reduce to key = ck = b.key()
            b.rank_key = not b.keyless and b.int_keys and b.variants == 1 and b.range_size is None
        proxied = any(t[0].needs_client for b in self.behaviors for t in b.targets)
        self.needs_client = proxied or self.n_edges > 1 or self.geo is not None
        for inv in self.spec.invalidations:
            self.engine.at(inv.at, self._invalidate, tuple(inv.paths))

    def _invalidate(self, paths: tuple[str, ...]) -> None:
        invalidate(self, paths)

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        """Serve a request whose injected faults (if any) have passed: :meth:`handle` without them."""
        self.handle(req, op, done, arg, False)

    def handle(self, req: Request, op: str, done: Done, arg: Any = None, faults: bool = True) -> None:
        """The entry every caller uses, :meth:`Component.handle` with the serve body inline (one
        frame fewer per viewer request): filters in front and injected faults first (``faults``; :meth:`serve` passes
        False once they have passed), then the behavior, the edge, the key and the cache.

        Two steps are inline on this hot path: a hit is answered as :meth:`answer` answers it
        (the same draw of ``latency``, counters and heap push; its time taken is the delay, as
        the request came in now), and a miss's first attempt is :meth:`Fetch.go`'s, its
        :class:`Fetch` made without an ``__init__`` frame (every slot stored here, as
        ``__init__`` stores it). A hit's staleness phase is read from the behavior's table
        (``phase``: the same ``fmod`` value per zipf rank, computed at build)."""
        if faults and self.injected:
            Component.handle(self, req, op, done, arg)
            return
        if op not in ("get", ""):
            raise ValueError(f"cloudfront has no operation {op!r}")
        self.requests += 1
        geo = self.geo
        if geo is not None:  # geo_refused's pass test inline: only a restricted country calls it
            c = getattr(req, "client", None)
            if c is not None and c.country and (c.country in geo[1]) != geo[0] and geo_refused(self, req, done):
                return
        now = self.engine.now
        bs = self.behaviors
        nb = self.n_behaviors
        if nb == 2:  # the same for two behaviors: bisect_right is 0 exactly when the draw is below cum[0]
            i = 0 if self.pick() * self.cum_total < self.cum0 else 1
        elif nb > 1:  # min(bisect_right(...), nb - 1), with an if for the min call
            i = bisect_right(self.cum, self.pick() * self.cum_total)
            if i >= nb:
                i = nb - 1
        else:
            i = 0
        b = bs[i]
        b.requests += 1
        if self.view0 is not None:  # one viewer group: no draw
            g, vrtt, ortt = self.view0
        else:
            em = self.edgemap  # min(bisect_right(cum, u * cum[-1]), len(cum) - 1), its (g, rtts) looked up once
            vi = bisect_right(em.cum, self.viewer_pick() * em.total)
            if vi > em.last:
                vi = em.last
            g, vrtt, ortt = em.view[vi]
        if self.regional:
            self.g_requests[g] += 1
        n = self.n_edges
        edge = g * n
        if n > 1:  # the client's edge, else one drawn
            c = req.client
            edge += c.uid % n if c is not None and c.uid >= 0 else min(int(self.edge_pick() * n), n - 1)
        if b.rank_key:  # the general steps below with an int key, one variant and no range
            key = ck = b.key()
        elif b.keyless:  # nothing reads the key (see build)
            key = ck = 0
        else:
            key = b.key() if b.int_keys else int(b.key())
            ck = variant_key(key, b.variants, b.vdraw()) if b.variants > 1 else key
            if b.range_size is not None:  # one Range GET: a part of the object, cached on its own
                ck = range_key(ck, answer_size(key, 0, b.spec.object_sizes, b.size, None), b.range_size, b.rdraw())
        shield = None
        if b.ttl > 0.0:
            cache: EdgeCache | None = self.caches[edge][i]
            assert cache is not None
            e = cache.entries.get(ck)  # cache.get(ck, now), inline: a live entry is a hit
            if e is not None and e[0] > now:
                if cache.capacity is not None:
                    cache.entries.move_to_end(ck)  # the most recently used
                b.hits += 1
                every = b.every
                if every is not None:  # b.check_stale (stale_age's arithmetic), inline
                    ph = b.phase
                    u = ph[key] if ph is not None else fmod(key * GOLDEN + 0.0, 1.0)
                    was = floor(e[2] / every + u)
                    if floor(now / every + u) > was:  # changed at the origin since the copy was fetched
                        b.stale.count(now - (was + 1 - u) * every)
                size = e[1] or b.size_of(key, ck)
                took = self.lat() + vrtt  # answer's steps for an edge hit, inline
                if size is None:
                    b.unsized += 1
                else:
                    b.bytes_out += size
                    if self.regional:
                        self.g_bytes[g] += size
                buf = self.lat_buf
                buf.append(took)
                if len(buf) >= BATCH:
                    self.latency.flush()
                b.hit_time += took
                heap, seq = self.hot
                heappush(heap, (now + took, next(seq), deliver, (req, done, None)))
                return
            b.misses += 1
            if self.shields is not None:
                shield = self.shields[i]
                s = shield.get(ck, now)
                if s is not None:
                    b.shield_hits += 1
                    b.check_stale(key, s[2], now)
                    cache.put(ck, s[0], s[1], s[2])
                    extra = self.o_lat() + ortt + vrtt
                    self.answer(b, req, done, now, None, extra, s[1] or b.size_of(key, ck), g)
                    return
                b.shield_misses += 1
                f = self.pending[i].get(ck)
                if f is not None and f.waiters is not None:
                    b.collapsed += 1  # one origin fetch per object at the shield [aws-facts §13 Origin Shield]
                    f.waiters.append((req, done, now, cache, g, vrtt + ortt))
                    return
        else:
            cache = None
            b.forwarded += 1
        f = _new(Fetch)  # every field set here
        f.cf, f.b, f.req, f.done, f.t_in = self, b, req, done, now
        f.edge, f.key, f.ck, f.cache, f.shield = edge, key, ck, cache, shield
        f.g, f.extra, f.o, f.t_attempt = g, vrtt + ortt, 0, now
        if shield is not None:
            f.waiters = []
            self.pending[i][ck] = f
        else:
            f.waiters = None
        f.attempt = 1  # f.go(), inline: the first attempt, its response timer and the forward
        f.live = True
        f.th = self.response_timer.start(f.expire, 1)
        f.prev = req.via
        req.via = self.via_names[edge]
        origin, op, keyed, _, _ = b.targets[0]
        origin.handle(req, op, f.reply, key if keyed else None)

    def answer(self, b: _Behavior, req: Request, done: Done, t_in: float, err: str | None, extra: float,
               size: float | None, g: int = 0) -> None:
        """Reply to the viewer after the edge's own time (and ``extra``: the shield or origin hop): a
        shield hit, an origin's answer or an error (an edge hit is answered in :meth:`handle`)."""
        delay = self.lat() + extra
        if err is None:
            if size is None:
                b.unsized += 1
            else:
                b.bytes_out += size
                if self.regional:
                    self.g_bytes[g] += size
            took = self.engine.now - t_in + delay
            self.latency.record(took)
            b.served_misses += 1
            b.miss_time += took
        else:
            self.errors += 1
        heap, seq = self.hot  # engine.after(delay, ...) with the answer as a tuple, not an object
        heappush(heap, (self.engine.now + delay, next(seq), deliver, (req, done, err)))

    # ---- metrics ------------------------------------------------------------
    def on_minute(self, now: float) -> None:
        h = sum(b.hits for b in self.behaviors)
        r = sum(b.hits + b.misses for b in self.behaviors)  # cacheable requests (CloudWatch's CacheHitRate)
        h0, r0 = self._minute_mark
        self.hit_series.append(round((h - h0) / (r - r0), 4) if r > r0 else 0.0)
        self._minute_mark = (h, r)

    def series(self) -> dict[str, list[float]]:
        return {"hit_ratio": list(self.hit_series)}

    def usage(self) -> dict[str, float]:
        em = self.edgemap
        if em.regional:  # billed by the edge group that served (prices.csv: per group)
            out = {}
            for g, name in enumerate(em.groups):
                out[f"{name}-DataTransfer-Out-Bytes"] = self.g_bytes[g] / GIB
                out[f"{name}-Requests-Tier2-HTTPS"] = float(self.g_requests[g])
        else:
            out = {"US-DataTransfer-Out-Bytes": sum(b.bytes_out for b in self.behaviors) / GIB,
                   "US-Requests-Tier2-HTTPS": float(self.requests)}
        out["Invalidations"] = float(max(0, self.invalidation_paths - FREE_INVALIDATION_PATHS))
        return {k: v for k, v in out.items() if v}

    def stats(self) -> dict[str, Any]:
        out = super().stats()
        bs = self.behaviors
        hits, misses = sum(b.hits for b in bs), sum(b.misses for b in bs)
        out.update({
            "edges": self.n_edges,
            "hits": hits,
            "misses": misses,
            # over cacheable requests, as CloudWatch's CacheHitRate; uncached behaviors are `forwarded`
            "hit_ratio": round(hits / (hits + misses), 6) if hits + misses else 0.0,
            "origin_requests": sum(b.origin_requests() for b in bs),
            "collapsed": sum(b.collapsed for b in bs),
            "failovers": sum(b.failovers for b in bs),
            "origin_retries": sum(b.retries for b in bs),
            "timeouts": sum(b.timeouts for b in bs),
            "bytes_out": sum(b.bytes_out for b in bs),
            "unsized_replies": sum(b.unsized for b in bs),
            "cached_objects": sum(len(c) for edge in self.caches for c in edge),
            "evictions": sum(c.evictions for edge in self.caches for c in edge),
            "stale_reads": sum(b.stale.reads for b in bs),
            "max_stale_age_s": round(max((b.stale.max_age for b in bs), default=0.0), 6),
            "shield_hits": sum(b.shield_hits for b in bs),
            "shield_misses": sum(b.shield_misses for b in bs),
            "origin_bytes": sum(b.origin_bytes for b in bs),
            "latency_saved_s": round(sum(b.latency_saved() for b in bs), 6),
            "invalidation_paths": self.invalidation_paths,
            "invalidated_objects": self.invalidated_objects,
            **({"viewer_regions": {name: {"requests": self.g_requests[g], "bytes_out": self.g_bytes[g]}
                                   for g, name in enumerate(self.edgemap.groups)}} if self.edgemap.regional else {}),
            "behaviors": [b.stats() for b in bs],
        })
        if self.geo is not None:
            out["geo_refused"] = dict(self.geo_refused)
        return out
