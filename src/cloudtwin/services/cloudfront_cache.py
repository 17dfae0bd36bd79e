"""CloudFront's edge cache: the TTL rule, the cache key, a bounded cache, object sizes, updates.

What is modelled
----------------
* The TTL an answer is stored for [aws-facts §13 TTLs; CloudFront developer guide
  "Manage how long content stays in the cache (expiration)"], ``edge_ttl``
  (:func:`cloudtwin.spec.cloudfront_behavior.edge_ttl`, so the review reads it too):
  no ``Cache-Control`` from the origin: the behavior's Default TTL (``ttl``);
  ``max-age`` or ``s-maxage`` (``s-maxage`` wins for CloudFront): that age, raised to
  the Minimum TTL and cut to the Maximum TTL; ``no-cache``/``no-store``/``private``:
  not stored when the Minimum TTL is 0, else stored for the Minimum TTL.
* The cache key: the URL times the distinct values of the forwarded query strings,
  headers and cookies (:func:`variant_key`); each request carries one of them drawn
  uniformly (assumption), so forwarding a header with 10 values cuts each object's
  requests per key tenfold and the hit ratio with it.
* :class:`EdgeCache`: one edge's (or the Origin Shield's) store, key -> (expires at,
  bytes, fetched at). Unbounded by default (an object stays until its TTL ends);
  with a capacity in bytes, the least recently used objects are evicted to make room,
  as the guide says CloudFront "might evict" rarely requested files. So the hit ratio
  emerges from popularity (the key distribution), TTL and cache size.
* Object sizes (:func:`object_size`): log-uniform between ``min`` and ``max``, fixed per
  object by a hash of its key (assumption), so large-object egress is counted per object.
* Updates at the origin (:func:`version`): each object changes every ``update_every``
  seconds, its phase spread by its key (a stated model, not a measurement); a hit on a
  copy fetched before the object's last change is a stale read, its age the time since
  the first change after the fetch (:func:`changed_after`). So stale reads per hit are at
  most ``TTL / update_every``, and each age is below the TTL.

* Range GETs (:func:`range_key`): a request for one part of a large object is cached as
  its own key; its bytes are the part's.

Left out: revalidation with 304 Not Modified (an expired object is fetched whole again),
CloudFront fetching a larger range than asked, origins that do not support ranges (an
object is fetched and served whole).
"""

from __future__ import annotations

import math
from collections import OrderedDict
from typing import Any, Final

from cloudtwin.spec.cloudfront_behavior import edge_ttl as edge_ttl  # the TTL rule lives with the spec

GOLDEN: Final = 0.6180339887498949  # spreads per-key phases and sizes evenly over [0, 1)


def variant_key(key: int, variants: int, draw: float) -> int:
    """The cache key of URL ``key`` with one of ``variants`` forwarded-value combinations."""
    if variants == 1:
        return key
    return key * variants + min(int(draw * variants), variants - 1)


def _unit(key: int, salt: float) -> float:
    return math.fmod(key * GOLDEN + salt, 1.0)


def object_size(key: int, sizes: Any | None, fixed: float | None) -> float | None:
    """Bytes of object ``key``: log-uniform in ``sizes`` by its key, else the fixed size."""
    if sizes is None:
        return fixed
    lo, hi = math.log(sizes.min), math.log(sizes.max)
    return math.exp(lo + (hi - lo) * _unit(key, 0.5))


MAX_PARTS: Final = 1 << 20  # parts of one object a range key can name (a 1 GB object in 1 KB ranges)


def range_key(ck: int, size: float | None, range_size: float, draw: float) -> int:
    """The cache key of one Range GET: a part of the object drawn uniformly (assumption), so each
    part is fetched from the origin and cached on its own (CloudFront guide, "How CloudFront
    processes partial requests for an object (range GETs)": an origin that supports ranges,
    as S3 and most HTTP servers do, returns the part, and CloudFront caches it)."""
    parts = max(1, min(MAX_PARTS, math.ceil((size or 0.0) / range_size)))
    return ck * MAX_PARTS + min(int(draw * parts), parts - 1)


def part_size(size: float | None, range_size: float, rk: int) -> float | None:
    """Bytes of the part that range key ``rk`` names (the last part may be shorter)."""
    if size is None:
        return None
    return max(0.0, min(range_size, size - (rk % MAX_PARTS) * range_size))


def answer_size(key: int, ck: int, sizes: Any | None, fixed: float | None, range_size: float | None) -> float | None:
    """Bytes answered for cache key ``ck`` of object ``key``: the object, or the part a range key names."""
    size = object_size(key, sizes, fixed)
    return size if range_size is None else part_size(size, range_size, ck)


def version(key: int, t: float, every: float | None) -> int:
    """How many times object ``key`` has changed at the origin by time ``t``."""
    if every is None:
        return 0
    return math.floor(t / every + _unit(key, 0.0))


def changed_after(key: int, t: float, every: float) -> float:
    """When object ``key`` first changes at the origin after time ``t`` (its next version)."""
    return (version(key, t, every) + 1 - _unit(key, 0.0)) * every


def stale_age(key: int, fetched: float, now: float, every: float | None) -> float | None:
    """How long a copy of ``key`` fetched at ``fetched`` has been out of date at ``now``; None if
    the object has not changed since (or has no update process)."""
    if every is None:
        return None
    # version() and changed_after() with the key's phase computed once (the same arithmetic)
    u = math.fmod(key * GOLDEN + 0.0, 1.0)  # _unit(key, 0.0)
    was = math.floor(fetched / every + u)
    if math.floor(now / every + u) <= was:
        return None
    return now - (was + 1 - u) * every


class EdgeCache:
    """One cache: key -> [expires at, bytes, fetched at]; LRU-bounded by bytes when ``capacity`` is set."""

    __slots__ = ("capacity", "entries", "used", "evictions")

    def __init__(self, capacity: float | None = None) -> None:
        self.capacity = capacity
        self.entries: OrderedDict[int, tuple[float, float, float]] = OrderedDict()
        self.used = 0.0
        self.evictions = 0

    def __len__(self) -> int:
        return len(self.entries)

    def get(self, key: int, now: float) -> tuple[float, float, float] | None:
        """The live entry for ``key`` (and it becomes the most recently used), else None."""
        e = self.entries.get(key)
        if e is None or e[0] <= now:
            return None
        if self.capacity is not None:
            self.entries.move_to_end(key)
        return e

    def put(self, key: int, expires: float, size: float | None, fetched: float) -> None:
        nbytes = size or 0.0
        cap = self.capacity
        if cap is not None and nbytes > cap:
            return  # larger than the whole cache: served, not stored
        old = self.entries.pop(key, None)
        if old is not None:
            self.used -= old[1]
        self.entries[key] = (expires, nbytes, fetched)
        self.used += nbytes
        if cap is not None:
            while self.used > cap:
                _, ev = self.entries.popitem(last=False)
                self.used -= ev[1]
                self.evictions += 1

    def drop_all(self) -> int:
        """Remove every object (an invalidation); how many there were."""
        n = len(self.entries)
        self.entries.clear()
        self.used = 0.0
        return n
