"""CloudFront, minimal: cache behaviors in front of S3, API Gateway, load balancers or instances.

Only what the serverless-global and update-offload claims need ("static content from S3,
the dynamic API cached where allowed"; "cuts origin requests by the hit ratio"); the
edge issue will replace this with a full model.

What is modelled
----------------
* Behaviors: each viewer request picks a behavior with probability ``share`` (the shares
  sum to 1), then a key (the URL) from the behavior's ``key`` distribution.
* Edge locations: ``edges`` caches (default 1). A request with a client goes to edge
  ``client uid mod edges`` (a client keeps its edge); one without, to an edge drawn
  uniformly. Each edge has its own cache, so more edges mean more misses for the same
  traffic.
* The cache: a key answered within ``ttl`` of the answer that filled it is a hit,
  served at the edge after a draw of ``latency``. The default TTL is 24 h and the most
  is one year [aws-facts §13 TTLs]. ``ttl: 0`` or ``cache: false``: every request
  goes to the origin. Only successful answers are stored (origin errors are not cached).
* A miss forwards the request to the origin (an ``s3`` origin gets a ``get`` with the
  key, ``apigateway`` the key as its own cache key, load balancers and instances a plain
  request), plus a draw of ``origin_latency`` for the edge-to-Region round trip. The
  origin sees ``req.src_ip`` = a CloudFront origin-facing address (``cloudfront-<edge>``)
  [aws-facts §13 Source IP seen at the origin].
* Timeouts [aws-facts §13 Origin connection, Origin response]: an origin that does not
  answer within ``response_timeout`` (30 s) gives the viewer ``timeout`` (504) and its
  late answer is dropped. An ``ec2``/``asg`` origin that cannot take the request
  (``unavailable``: instance down, accept queue full) is taken as a connection that does
  not answer: CloudFront tries again when ``connection_timeout`` (10 s) has passed since
  the attempt began, ``connection_attempts`` (3) times in all, then gives the viewer
  ``timeout``. Other origins (S3, API Gateway, load balancers) always accept the
  connection: their errors pass straight to the viewer.
* Billing: data transfer out at ``response_size`` per successful answer (errors carry no
  body, assumption) and every viewer request as an HTTPS request. Origin fetches from AWS
  origins are free (CloudFront pricing page). The 1 TB/month and 10 M requests/month
  free tier is not applied.

Left out: edge cache eviction (an edge keeps every object until its TTL ends), request
collapsing and Origin Shield (concurrent misses for one key each go to the origin),
Cache-Control headers from the origin (the behavior's TTL always applies), invalidations,
origin groups and failover, price classes and regional edge caches, viewer latency by
geography, Lambda@Edge and CloudFront Functions, and WAF.
"""

from __future__ import annotations

from bisect import bisect_right
from typing import TYPE_CHECKING, Any

from cloudtwin.component import Component
from cloudtwin.engine import make_sampler, stream
from cloudtwin.engine.sampling import uniform_sampler
from cloudtwin.request import REJECTED, TIMEOUT, UNAVAILABLE, Done, Request

if TYPE_CHECKING:
    from cloudtwin.context import Context

GIB = 1024.0**3
ORIGIN_FACING = "cloudfront"  # prefix of the source address origins see [aws-facts §13 Source IP seen at the origin]
CONNECTING = ("ec2", "asg")  # origins whose `unavailable` is a connection that does not answer
ORIGIN_OP = {"s3": "get"}  # every other origin type takes the default op ""
KEYED = ("s3", "apigateway")  # origins that get the key as their call argument


class _Behavior:
    """One behavior's live state and counters."""

    __slots__ = ("spec", "origin", "op", "keyed", "connecting", "ttl", "key", "size", "requests", "hits",
                 "misses", "forwarded", "origin_errors", "timeouts", "retries", "bytes_out", "unsized")

    def __init__(self, spec: Any, seed: int, name: str) -> None:
        self.spec = spec
        self.origin: Any = None
        self.op = ""
        self.keyed = self.connecting = False
        self.ttl: float = spec.ttl if spec.cache else 0.0
        self.key = make_sampler(spec.key, stream(seed, name))
        self.size: float | None = spec.response_size
        self.requests = self.hits = self.misses = self.forwarded = 0
        self.origin_errors = self.timeouts = self.retries = self.unsized = 0
        self.bytes_out = 0.0

    def stats(self) -> dict[str, Any]:
        return {
            "path": self.spec.path, "origin": self.spec.origin, "cached": self.ttl > 0.0, "ttl": self.ttl,
            "requests": self.requests, "hits": self.hits, "misses": self.misses,
            "hit_ratio": round(self.hits / (self.hits + self.misses), 6) if self.hits + self.misses else 0.0,
            "origin_requests": self.misses + self.forwarded, "origin_retries": self.retries,
            "origin_errors": self.origin_errors, "timeouts": self.timeouts, "bytes_out": self.bytes_out,
        }


class _Fetch:
    """A request on its way to the origin: attempts, timers, and the answer to the viewer."""

    __slots__ = ("cf", "b", "req", "done", "t_in", "edge", "key", "cache", "attempt", "t_attempt", "live", "prev")

    def __init__(self, cf: CloudFront, b: _Behavior, req: Request, done: Done, t_in: float, edge: int,
                 key: int, cache: dict[int, float] | None) -> None:
        self.cf, self.b, self.req, self.done, self.t_in = cf, b, req, done, t_in
        self.edge, self.key, self.cache = edge, key, cache
        self.attempt = 0
        self.t_attempt = t_in
        self.live = False
        self.prev: Any = None

    def go(self, _: object = None) -> None:
        """One attempt: forward to the origin, with the response timeout running."""
        b, req = self.b, self.req
        self.attempt += 1
        self.live = True
        eng = self.cf.engine
        self.t_attempt = eng.now
        eng.timer(self.cf.spec.response_timeout).start(self.expire, self.attempt)
        self.prev = req.via
        req.via = f"{ORIGIN_FACING}-{self.edge}"
        b.origin.handle(req, b.op, self.reply, self.key if b.keyed else None)

    def reply(self, req: Request, err: str | None) -> None:
        if not self.live:
            return  # the answer came after the response timeout: dropped
        self.live = False
        req.via = self.prev
        cf, b = self.cf, self.b
        if err == UNAVAILABLE and b.connecting:
            # a connection that does not answer: known only when the connection timeout ends
            wait = max(0.0, self.t_attempt + cf.spec.connection_timeout - cf.engine.now)
            if self.attempt < cf.spec.connection_attempts:
                b.retries += 1
                cf.engine.after(wait, self.go)
            else:
                b.timeouts += 1  # no connection after every attempt: 504
                cf.engine.after(wait, self.give_up)
            return
        if err is not None:
            b.origin_errors += 1
        elif self.cache is not None:
            self.cache[self.key] = cf.engine.now + b.ttl
        cf.answer(b, req, self.done, self.t_in, err, cf.o_lat())

    def give_up(self, _: object = None) -> None:
        self.cf.answer(self.b, self.req, self.done, self.t_in, TIMEOUT, 0.0)

    def expire(self, attempt: int) -> None:
        if self.live and attempt == self.attempt:
            self.live = False
            self.req.via = self.prev
            self.b.timeouts += 1
            self.cf.answer(self.b, self.req, self.done, self.t_in, TIMEOUT, 0.0)


class _Answer:
    __slots__ = ("req", "done", "err")

    def __init__(self, req: Request, done: Done, err: str | None) -> None:
        self.req, self.done, self.err = req, done, err

    def go(self, _: object = None) -> None:
        self.done(self.req, self.err)


class CloudFront(Component):
    """One distribution: behaviors, edge caches, origins."""

    kind = "cloudfront"
    bills_egress = True  # its transfer out is its own line; the workload is not billed internet egress again

    def __init__(self, name: str, spec: Any, ctx: Context) -> None:
        super().__init__(name, spec, ctx)
        seed = ctx.seed
        self.behaviors = [_Behavior(b, seed, f"{name}.behaviors[{i}].key") for i, b in enumerate(spec.behaviors)]
        acc, cum = 0.0, []
        for b in spec.behaviors:
            acc += b.share
            cum.append(acc)
        self.cum = cum
        self.pick = uniform_sampler(stream(seed, f"{name}.behavior"))
        self.edge_pick = uniform_sampler(stream(seed, f"{name}.edge"))
        self.n_edges: int = spec.edges
        # caches[edge][behavior]: key -> expires at
        self.caches: list[list[dict[int, float]]] = [[{} for _ in spec.behaviors] for _ in range(spec.edges)]
        self.lat = make_sampler(spec.latency, stream(seed, f"{name}.latency"))
        self.o_lat = make_sampler(spec.origin_latency, stream(seed, f"{name}.origin_latency"))
        self._minute_mark = (0, 0)
        self.hit_series: list[float] = []
        g = spec.geo_restriction
        self.geo = (g.type == "allowlist", frozenset(g.countries)) if g is not None else None
        self.geo_refused = {"attack": 0, "legitimate": 0}

    def build(self) -> None:
        kinds = {n: c.type for n, c in self.ctx.arch.components.items()}
        for b in self.behaviors:
            origin = b.spec.origin
            b.origin = self.ctx.components[origin]
            b.op = ORIGIN_OP.get(kinds[origin], "")
            b.keyed = kinds[origin] in KEYED
            b.connecting = kinds[origin] in CONNECTING
        proxied = any(b.origin.needs_client for b in self.behaviors)
        self.needs_client = proxied or self.n_edges > 1 or self.geo is not None

    def _geo_refused(self, req: Request, done: Done) -> bool:
        """Geo restriction: refuse (403) a viewer whose country the list excludes; a viewer whose
        country is unknown is served (assumption). Source: CloudFront Developer Guide,
        georestrictions.html (not in aws-facts)."""
        c = getattr(req, "client", None)  # a bare request (a start time) has none
        if c is None or not c.country:
            return False
        allowlist, codes = self.geo  # type: ignore[misc]
        if (c.country in codes) == allowlist:
            return False
        t = c.tally
        self.geo_refused["attack" if t is not None and t.attacker else "legitimate"] += 1
        if t is not None:
            t.block(f"{self.name}.geo_restriction")
        self.errors += 1
        done(req, REJECTED)
        return True

    def serve(self, req: Request, op: str, done: Done, arg: Any = None) -> None:
        if op not in ("get", ""):
            raise ValueError(f"cloudfront has no operation {op!r}")
        self.requests += 1
        if self.geo is not None and self._geo_refused(req, done):
            return
        now = self.engine.now
        bs = self.behaviors
        i = min(bisect_right(self.cum, self.pick() * self.cum[-1]), len(bs) - 1) if len(bs) > 1 else 0
        b = bs[i]
        b.requests += 1
        edge = self._edge(req)
        key = int(b.key())
        if b.ttl > 0.0:
            cache = self.caches[edge][i]
            exp = cache.get(key)
            if exp is not None and exp > now:
                b.hits += 1
                self.answer(b, req, done, now, None, 0.0)
                return
            b.misses += 1
        else:
            cache = None
            b.forwarded += 1
        _Fetch(self, b, req, done, now, edge, key, cache).go()

    def _edge(self, req: Request) -> int:
        n = self.n_edges
        if n == 1:
            return 0
        c = req.client
        if c is not None and c.uid >= 0:
            return c.uid % n
        return min(int(self.edge_pick() * n), n - 1)

    def answer(self, b: _Behavior, req: Request, done: Done, t_in: float, err: str | None, extra: float) -> None:
        """Reply to the viewer after the edge's own time (and ``extra``: the origin hop)."""
        delay = self.lat() + extra
        if err is None:
            if b.size is None:
                b.unsized += 1
            else:
                b.bytes_out += b.size
            self.latency.record(self.engine.now - t_in + delay)
        else:
            self.errors += 1
        self.engine.after(delay, _Answer(req, done, err).go)

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
        out = {"US-DataTransfer-Out-Bytes": sum(b.bytes_out for b in self.behaviors) / GIB,
               "US-Requests-Tier2-HTTPS": float(self.requests)}
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
            "origin_requests": sum(b.misses + b.forwarded for b in bs),
            "origin_retries": sum(b.retries for b in bs),
            "timeouts": sum(b.timeouts for b in bs),
            "bytes_out": sum(b.bytes_out for b in bs),
            "unsized_replies": sum(b.unsized for b in bs),
            "cached_objects": sum(len(c) for edge in self.caches for c in edge),
            "behaviors": [b.stats() for b in bs],
        })
        if self.geo is not None:
            out["geo_refused"] = dict(self.geo_refused)
        return out
