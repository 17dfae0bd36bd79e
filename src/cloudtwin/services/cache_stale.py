"""Stale reads of a cache: hits on a copy whose source changed after the copy was filled.

A cache layer counts a stale read when it answers a hit from an entry filled at ``f`` and
its source changed at some ``u`` with ``f < u <= now``. The read's staleness age is
``now - u`` for the first such change: how long the copy had already been out of date.
The source's changes are those the spec declares, never assumed by the cache:

* keyed writes to the store behind the cache (:class:`SourceWrites`), counted from their
  acknowledgement: DynamoDB writes seen by DAX (through it or not), and the keyed writes of
  the store an ElastiCache cluster falls back to on a miss (cache-aside: a DynamoDB table,
  an RDS or Aurora database, told by :class:`Acked`);
* a declared update process (:func:`cloudtwin.services.cloudfront_cache.version`): each
  object changes every ``update_every`` seconds, its phase spread by its key (CloudFront's
  behaviors, and an API Gateway stage cache behind them or with its own ``update_every``).

A copy lives at most its TTL, so each staleness age is below the TTL that served it: the
results' ``max_stale_age_s`` against ``ttl_s`` checks it. Only counters are kept (a count,
the largest and the summed age), never a record per read.
"""

from __future__ import annotations

from typing import Any

from cloudtwin.request import Done, Request


class Staleness:
    """One cache's stale reads: how many, and their ages."""

    __slots__ = ("reads", "max_age", "age_sum")

    def __init__(self) -> None:
        self.reads = 0
        self.max_age = self.age_sum = 0.0

    def count(self, age: float) -> None:
        self.reads += 1
        self.age_sum += age
        if age > self.max_age:
            self.max_age = age

    def stats(self, hits: int) -> dict[str, Any]:
        n = self.reads
        return {"stale_reads": n, "stale_share": round(n / hits, 6) if hits else 0.0,
                "max_stale_age_s": round(self.max_age, 6), "mean_stale_age_s": round(self.age_sum / n, 6) if n else 0.0}


class SourceWrites:
    """A cache's view of its source's keyed writes: per key the last write acknowledged, and
    the first one acknowledged after the cached copy was filled (for the staleness age)."""

    __slots__ = ("last", "first")

    def __init__(self) -> None:
        self.last: dict[int, float] = {}
        self.first: dict[int, float] = {}

    def wrote(self, key: int, at: float, filled: float | None) -> None:
        """The source wrote ``key``, acknowledged ``at``; ``filled``: when the copy now cached was
        filled (None: not cached)."""
        self.last[key] = at
        if filled is not None and at > filled:
            f = self.first.get(key)
            if f is None or f <= filled or at < f:
                self.first[key] = at

    def refilled(self, key: int) -> None:
        """A new copy of ``key`` was cached: earlier writes are in it."""
        self.first.pop(key, None)

    def stale_since(self, key: int, filled: float, now: float) -> float | None:
        """When the copy filled at ``filled`` went out of date, if it had by ``now``; else None."""
        w = self.last.get(key)
        if w is None or not filled < w <= now:
            return None
        f = self.first.get(key)
        # a write announced before the copy was filled but acknowledged after: the last is the bound
        return f if f is not None and filled < f <= w else w


def saved(hits: int, hit_time: float, misses: int, miss_time: float) -> float:
    """Seconds a cache's hits saved, measured: hits x (mean time of a miss - mean time of a hit),
    both as the cache answered them in the run (0 without both)."""
    if not hits or not misses:
        return 0.0
    return hits * (miss_time / misses - hit_time / hits)


class Acked:
    """Wraps a keyed write's reply: on success, each watching cache hears of the write at the
    moment it is acknowledged (``watchers[i].on_write(key, now)``)."""

    __slots__ = ("engine", "watchers", "key", "done")

    def __init__(self, engine: Any, watchers: list[Any], key: int, done: Done) -> None:
        self.engine, self.watchers, self.key, self.done = engine, watchers, key, done

    def reply(self, req: Request, err: str | None) -> None:
        if err is None:
            now = self.engine.now
            for w in self.watchers:
                w.on_write(self.key, now)
        self.done(req, err)
