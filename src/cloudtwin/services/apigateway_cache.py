"""API Gateway's REST stage cache: TTL, size, the largest cacheable answer, per-key invalidation
and stale reads.

What is modelled [aws-facts §10 REST cache]
-------------------------------------------
* One entry per cache key, held ``ttl`` (default 300 s, at most 3,600 s; 0 disables caching).
  Only successful answers are stored.
* Size: the cache holds ``size_gb`` (0.5 ... 237 GB, taken as GiB: assumption). With a
  ``response_size`` each entry weighs that many bytes and a full cache evicts its least
  recently used entry (assumption: AWS does not document the policy; LRU, as CloudFront's
  edges here). Without one, entries weigh nothing and nothing is evicted.
* The largest cacheable answer is 1,048,576 bytes: a larger one is served, not stored
  (``too_large``).
* Per-key invalidation: a request with op ``invalidate`` is a client's
  ``Cache-Control: max-age=0`` (the client is taken as authorized to invalidate:
  assumption; AWS lets a stage require the ``execute-api:InvalidateCache`` permission). It
  skips the cache, calls the integration, and its answer replaces the key's entry
  (API Gateway developer guide, "Invalidate an API Gateway cache entry").
* Stale reads: a hit on an entry filled before its key's answer last changed
  (:mod:`cloudtwin.services.cache_stale`). The answers change as the spec declares: every
  ``update_every`` per key, its phase spread by the key (the model of CloudFront's
  behaviors): the cache's own ``update_every``, else that of the CloudFront behaviors whose
  origin this API is (they forward the same URLs, so the same objects change at the same
  times), else never.
* Latency saved: hits x (mean time of a miss - mean time of a hit), both measured at the API.

Left out: FlushStageCache (the whole cache at once), per-method cache settings and
encryption of the cache.
"""

from __future__ import annotations

from typing import Any, Final

from cloudtwin.services.cache_stale import Staleness, saved
from cloudtwin.services.cloudfront_cache import EdgeCache, stale_age
from cloudtwin.spec.apigateway import update_every
from cloudtwin.units import GIB

MAX_CACHEABLE: Final = 1_048_576  # bytes [aws-facts §10 REST cache: maximum cacheable response]


class Refresh:
    """The argument of an ``invalidate`` request on its way through authorization: its key."""

    __slots__ = ("key",)

    def __init__(self, key: Any) -> None:
        self.key = key


class StageCache:
    """One stage's response cache and its counters."""

    __slots__ = ("ttl", "store", "size", "every", "stale", "hits", "misses", "invalidations", "too_large",
                 "hit_time", "miss_time", "served_misses")

    def __init__(self, spec: Any, arch: Any, api: str) -> None:
        self.ttl: float = spec.ttl
        self.size: float | None = spec.response_size
        self.store = EdgeCache(spec.size_gb * GIB)
        self.every = update_every(arch, api)
        self.stale = Staleness()
        self.hits = self.misses = self.invalidations = self.too_large = self.served_misses = 0
        self.hit_time = self.miss_time = 0.0

    def lookup(self, key: int, now: float) -> bool:
        """A hit (counted, and checked for staleness) or a miss."""
        e = self.store.get(key, now)
        if e is None:
            self.misses += 1
            return False
        self.hits += 1
        age = stale_age(key, e[2], now, self.every)
        if age is not None:
            self.stale.count(age)
        return True

    def fill(self, key: int, now: float) -> None:
        if self.size is not None and self.size > MAX_CACHEABLE:
            self.too_large += 1
            return
        self.store.put(key, now + self.ttl, self.size, now)

    def stats(self) -> dict[str, Any]:
        h, m = self.hits, self.misses
        return {"hits": h, "misses": m, "hit_ratio": round(h / (h + m), 4) if h + m else 0.0,
                "ttl_s": self.ttl, "entries": len(self.store), "evictions": self.store.evictions,
                "too_large": self.too_large, "invalidations": self.invalidations, "update_every_s": self.every,
                **self.stale.stats(h),
                "latency_saved_s": round(saved(h, self.hit_time, self.served_misses, self.miss_time), 6)}
